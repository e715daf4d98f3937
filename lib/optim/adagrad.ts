// Adagrad, after torch.optim.Adagrad (1.13): each element's step shrinks
// with the square root of its summed squared gradients.
import { Tensor } from '../tensor.js';
import { native } from '../backend/native.js';
import { Optimizer, checkBool, checkNonNegative, type ParamGroup, type ParamState, type Params } from './optimizer.js';

export interface AdagradOptions {
  lr?: number;
  lrDecay?: number;
  weightDecay?: number;
  initialAccumulatorValue?: number;
  eps?: number;
  maximize?: boolean;
}

export interface AdagradParamGroup extends ParamGroup {
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
}

export class Adagrad extends Optimizer<AdagradParamGroup> {
  constructor(params: Params, opts: AdagradOptions = {}) {
    super('Adagrad', params, {
      lr: opts.lr ?? 1e-2,
      lrDecay: opts.lrDecay ?? 0,
      weightDecay: opts.weightDecay ?? 0,
      initialAccumulatorValue: opts.initialAccumulatorValue ?? 0,
      eps: opts.eps ?? 1e-10,
      maximize: opts.maximize ?? false,
    });
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
