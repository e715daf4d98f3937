// Adam and AdamW, after torch.optim.Adam / AdamW (1.13). Adam adds the
// weight decay to the gradient (L2); AdamW shrinks the parameter by
// lr * weightDecay before the step (decoupled decay).
import { Tensor } from '../tensor.js';
import { native } from '../backend/native.js';
import {
  Optimizer,
  as,
  checkBool,
  checkNonNegative,
  checkNumber,
  late,
  paramsParam,
  type ParamGroup,
  type ParamState,
  type Params,
} from './optimizer.js';
import { bindOptions, param, type CallArgs, type OptionsOf } from '../util/args.js';

/**
 * Adam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0,
 * amsgrad=False, *, maximize=False), and AdamW the same with
 * weight_decay=0.01 (Note [Optimizer signatures]).
 */
function adamParams(weightDecay: number) {
  return [
    paramsParam,
    late(param.float('lr', 1e-3)),
    late(param.custom('betas', 'float[2]', as<[number, number]>, [0.9, 0.999] as [number, number])),
    late(param.float('eps', 1e-8)),
    late(param.float('weightDecay', weightDecay)),
    late(param.bool('amsgrad', false)),
    param.kw(late(param.bool('maximize', false))),
  ] as const;
}
const ADAM = adamParams(0);
const ADAMW = adamParams(1e-2);

export type AdamOptions = Omit<OptionsOf<typeof ADAM>, 'params'>;

export interface AdamParamGroup extends ParamGroup {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

abstract class AdamBase extends Optimizer<AdamParamGroup> {
  private readonly decoupled: boolean;

  constructor(name: string, decoupled: boolean, bound: { params: Params } & Omit<AdamParamGroup, 'params' | 'lr'> & { lr: number }) {
    const { params, ...defaults } = bound;
    // Each optimizer gets its own betas array (the declared default is shared).
    if (Array.isArray(defaults.betas)) defaults.betas = [...defaults.betas] as [number, number];
    super(name, params, defaults);
    this.decoupled = decoupled;
  }

  protected validateGroup(g: AdamParamGroup): void {
    const name = this.optName;
    checkNonNegative(name, 'lr', 'learning rate', g.lr);
    checkNonNegative(name, 'eps', 'epsilon value', g.eps);
    const betas = g.betas as unknown;
    if (!Array.isArray(betas) || betas.length !== 2) {
      throw new TypeError(`${name}: betas must be an array of two numbers, got ${JSON.stringify(betas)}`);
    }
    betas.forEach((b, i) => {
      checkNumber(name, `betas[${i}]`, b);
      if (!(b >= 0 && b < 1)) throw new RangeError(`${name}: invalid beta parameter at index ${i}: ${b}`);
    });
    checkNonNegative(name, 'weightDecay', 'weightDecay value', g.weightDecay);
    checkBool(name, 'amsgrad', g.amsgrad);
    checkBool(name, 'maximize', g.maximize);
  }

  protected updateParam(p: Tensor, grad: Tensor, g: AdamParamGroup, state: ParamState): void {
    if (!(state.expAvg instanceof Tensor)) {
      state.step = 0;
      state.expAvg = this.zerosLike(p);
      state.expAvgSq = this.zerosLike(p);
      if (g.amsgrad) state.maxExpAvgSq = this.zerosLike(p);
    }
    if (!(state.expAvgSq instanceof Tensor)) state.expAvgSq = this.zerosLike(p);
    // amsgrad switched on after the first step: the running max starts at zero.
    if (g.amsgrad && !(state.maxExpAvgSq instanceof Tensor)) state.maxExpAvgSq = this.zerosLike(p);
    const step = (typeof state.step === 'number' ? state.step : 0) + 1;
    const m = state.expAvg,
      v = state.expAvgSq as Tensor,
      vmax = state.maxExpAvgSq;
    this.applyUpdate(p, grad, (param, gr) => {
      native.adamStep(
        param._ref(),
        gr._ref(),
        m._ref(),
        v._ref(),
        g.amsgrad ? (vmax as Tensor)._ref() : null,
        g.lr,
        g.betas[0],
        g.betas[1],
        g.eps,
        g.weightDecay,
        step,
        g.amsgrad,
        g.maximize,
        this.decoupled,
      );
    });
    state.step = step;
  }
}

/**
 * optim.Adam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, amsgrad=False, *, maximize=False):
 * Adam with bias correction, weight decay added to the gradient (L2), as PyTorch 1.13's. foreach, capturable,
 * differentiable and fused are not implemented.
 */
export class Adam extends AdamBase {
  constructor(...args: CallArgs<typeof ADAM>) {
    super('Adam', false, bindOptions('Adam', ADAM, args));
  }
}

/**
 * optim.AdamW(params, lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, amsgrad=False, *, maximize=False):
 * Adam with decoupled weight decay (the parameter shrinks by lr * weightDecay before the step), as PyTorch 1.13's.
 */
export class AdamW extends AdamBase {
  constructor(...args: CallArgs<typeof ADAMW>) {
    super('AdamW', true, bindOptions('AdamW', ADAMW, args));
  }
}
