// RMSprop, after torch.optim.RMSprop (1.13): optional momentum and the
// centered variant, which divides by an estimate of the gradient's variance.
import { Tensor } from '../tensor.js';
import { native } from '../backend/native.js';
import { Optimizer, checkBool, checkNonNegative, type ParamGroup, type ParamState, type Params } from './optimizer.js';

export interface RMSpropOptions {
  lr?: number;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  centered?: boolean;
  maximize?: boolean;
}

export interface RMSpropParamGroup extends ParamGroup {
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

export class RMSprop extends Optimizer<RMSpropParamGroup> {
  constructor(params: Params, opts: RMSpropOptions = {}) {
    super('RMSprop', params, {
      lr: opts.lr ?? 1e-2,
      alpha: opts.alpha ?? 0.99,
      eps: opts.eps ?? 1e-8,
      weightDecay: opts.weightDecay ?? 0,
      momentum: opts.momentum ?? 0,
      centered: opts.centered ?? false,
      maximize: opts.maximize ?? false,
    });
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
    const sq = state.squareAvg, buf = state.momentumBuffer, ga = state.gradAvg;
    this.applyUpdate(p, grad, (param, gr) => {
      native.rmspropStep(
        param._ref(), gr._ref(), sq._ref(), g.centered ? (ga as Tensor)._ref() : null,
        useMomentum ? (buf as Tensor)._ref() : null,
        g.lr, g.alpha, g.eps, g.weightDecay, g.momentum, g.maximize,
      );
    });
    state.step = (typeof state.step === 'number' ? state.step : 0) + 1;
  }
}
