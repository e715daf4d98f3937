// Adagrad, after torch.optim.Adagrad (1.13): each element's step shrinks
// with the square root of its summed squared gradients.
import { Tensor } from '../tensor.js';
import { native } from '../backend/native.js';
import { Optimizer, checkBool, checkNonNegative, late, paramsParam, type ParamGroup, type ParamState } from './optimizer.js';
import { bindOptions, param, type CallArgs, type OptionsOf } from '../util/args.js';

/**
 * Adagrad(params, lr=0.01, lr_decay=0, weight_decay=0,
 * initial_accumulator_value=0, eps=1e-10, *, maximize=False) (Note
 * [Optimizer signatures]).
 */
const ADAGRAD = [
  paramsParam,
  late(param.float('lr', 1e-2)),
  late(param.float('lrDecay', 0)),
  late(param.float('weightDecay', 0)),
  late(param.float('initialAccumulatorValue', 0)),
  late(param.float('eps', 1e-10)),
  param.kw(late(param.bool('maximize', false))),
] as const;

export type AdagradOptions = Omit<OptionsOf<typeof ADAGRAD>, 'params'>;

export interface AdagradParamGroup extends ParamGroup {
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
}

/**
 * optim.Adagrad(params, lr=0.01, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, *, maximize=False):
 * each element's step is lr / (1 + (step - 1) lrDecay) over √(sum of its squared gradients) + eps, as PyTorch 1.13's.
 * foreach is not implemented.
 */
export class Adagrad extends Optimizer<AdagradParamGroup> {
  constructor(...args: CallArgs<typeof ADAGRAD>) {
    const { params, ...defaults } = bindOptions('Adagrad', ADAGRAD, args);
    super('Adagrad', params, defaults);
    // As PyTorch, the state exists from the start (stateDict shows it).
    for (const group of this.paramGroups) for (const p of group.params) this.state.set(p, this.initialState(p, group));
  }

  private initialState(p: Tensor, g: AdagradParamGroup): ParamState {
    const sum = this.zerosLike(p);
    if (g.initialAccumulatorValue !== 0) native.fill(sum._ref(), g.initialAccumulatorValue);
    return { step: 0, sum };
  }

  protected validateGroup(g: AdagradParamGroup): void {
    checkNonNegative('Adagrad', 'lr', 'learning rate', g.lr);
    checkNonNegative('Adagrad', 'lrDecay', 'lrDecay value', g.lrDecay);
    checkNonNegative('Adagrad', 'weightDecay', 'weightDecay value', g.weightDecay);
    checkNonNegative('Adagrad', 'initialAccumulatorValue', 'initialAccumulatorValue value', g.initialAccumulatorValue);
    checkNonNegative('Adagrad', 'eps', 'epsilon value', g.eps);
    checkBool('Adagrad', 'maximize', g.maximize);
  }

  protected updateParam(p: Tensor, grad: Tensor, g: AdagradParamGroup, state: ParamState): void {
    // A parameter added later by addParamGroup gets its state on first use.
    if (!(state.sum instanceof Tensor)) Object.assign(state, this.initialState(p, g));
    const step = (typeof state.step === 'number' ? state.step : 0) + 1;
    const clr = g.lr / (1 + (step - 1) * g.lrDecay);
    const sum = state.sum as Tensor;
    this.applyUpdate(p, grad, (param, gr) => {
      native.adagradStep(param._ref(), gr._ref(), sum._ref(), clr, g.weightDecay, g.eps, g.maximize);
    });
    state.step = step;
  }
}
