// RMSprop, after torch.optim.RMSprop (1.13): optional momentum and the
// centered variant, which divides by an estimate of the gradient's variance.
import { Tensor } from '../tensor.js';
import { native } from '../backend/native.js';
import { Optimizer, checkBool, checkNonNegative, late, paramsParam, type ParamGroup, type ParamState } from './optimizer.js';
import { bindOptions, param, type CallArgs, type OptionsOf } from '../util/args.js';

/**
 * RMSprop(params, lr=0.01, alpha=0.99, eps=1e-08, weight_decay=0,
 * momentum=0, centered=False, *, maximize=False): PyTorch's foreach,
 * before maximize, is not implemented, so maximize is keyword-only (Note
 * [Optimizer signatures]).
 */
const RMSPROP = [
  paramsParam,
  late(param.float('lr', 1e-2)),
  late(param.float('alpha', 0.99)),
  late(param.float('eps', 1e-8)),
  late(param.float('weightDecay', 0)),
  late(param.float('momentum', 0)),
  late(param.bool('centered', false)),
  param.kw(late(param.bool('maximize', false))),
] as const;

export type RMSpropOptions = Omit<OptionsOf<typeof RMSPROP>, 'params'>;

export interface RMSpropParamGroup extends ParamGroup {
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

/**
 * optim.RMSprop(params, lr=0.01, alpha=0.99, eps=1e-08, weight_decay=0, momentum=0, centered=False, *, maximize=False):
 * divides the gradient by a running root mean square (centered: of its variance), with optional momentum, as
 * PyTorch 1.13's. foreach, before maximize, is not implemented, so maximize is keyword-only.
 */
export class RMSprop extends Optimizer<RMSpropParamGroup> {
  constructor(...args: CallArgs<typeof RMSPROP>) {
    const { params, ...defaults } = bindOptions('RMSprop', RMSPROP, args);
    super('RMSprop', params, defaults);
  }

  protected validateGroup(g: RMSpropParamGroup): void {
    checkNonNegative('RMSprop', 'lr', 'learning rate', g.lr);
    checkNonNegative('RMSprop', 'eps', 'epsilon value', g.eps);
    checkNonNegative('RMSprop', 'momentum', 'momentum value', g.momentum);
    checkNonNegative('RMSprop', 'weightDecay', 'weightDecay value', g.weightDecay);
    checkNonNegative('RMSprop', 'alpha', 'alpha value', g.alpha);
    checkBool('RMSprop', 'centered', g.centered);
    checkBool('RMSprop', 'maximize', g.maximize);
  }

  protected updateParam(p: Tensor, grad: Tensor, g: RMSpropParamGroup, state: ParamState): void {
    if (!(state.squareAvg instanceof Tensor)) {
      state.step = 0;
      state.squareAvg = this.zerosLike(p);
    }
    // Buffers an option needs but the state lacks (the option was switched
    // on later) start at zero, as they would have on the first step.
    const useMomentum = g.momentum > 0;
    if (useMomentum && !(state.momentumBuffer instanceof Tensor)) state.momentumBuffer = this.zerosLike(p);
    if (g.centered && !(state.gradAvg instanceof Tensor)) state.gradAvg = this.zerosLike(p);
    const sq = state.squareAvg,
      buf = state.momentumBuffer,
      ga = state.gradAvg;
    this.applyUpdate(p, grad, (param, gr) => {
      native.rmspropStep(
        param._ref(),
        gr._ref(),
        sq._ref(),
        g.centered ? (ga as Tensor)._ref() : null,
        useMomentum ? (buf as Tensor)._ref() : null,
        g.lr,
        g.alpha,
        g.eps,
        g.weightDecay,
        g.momentum,
        g.maximize,
      );
    });
    state.step = (typeof state.step === 'number' ? state.step : 0) + 1;
  }
}
