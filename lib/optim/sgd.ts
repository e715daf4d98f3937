// Stochastic gradient descent with momentum, after torch.optim.SGD (1.13).
import { Tensor } from '../tensor.js';
import { native } from '../backend/native.js';
import { Optimizer, REQUIRED, checkBool, checkNonNegative, checkNumber, type ParamGroup, type ParamState, type Params } from './optimizer.js';

export interface SGDOptions {
  /** Required, here or in every group. */
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}

export interface SGDParamGroup extends ParamGroup {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

export class SGD extends Optimizer<SGDParamGroup> {
  constructor(params: Params, opts: SGDOptions = {}) {
    super('SGD', params, {
      lr: opts.lr ?? REQUIRED,
      momentum: opts.momentum ?? 0,
      dampening: opts.dampening ?? 0,
      weightDecay: opts.weightDecay ?? 0,
      nesterov: opts.nesterov ?? false,
      maximize: opts.maximize ?? false,
    });
  }

  protected validateGroup(g: SGDParamGroup): void {
    checkNonNegative('SGD', 'lr', 'learning rate', g.lr);
    checkNonNegative('SGD', 'momentum', 'momentum value', g.momentum);
    checkNonNegative('SGD', 'weightDecay', 'weightDecay value', g.weightDecay);
    checkNumber('SGD', 'dampening', g.dampening);
    checkBool('SGD', 'nesterov', g.nesterov);
    checkBool('SGD', 'maximize', g.maximize);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new RangeError('SGD: Nesterov momentum requires a momentum and zero dampening');
    }
  }

  protected updateParam(p: Tensor, grad: Tensor, g: SGDParamGroup, state: ParamState): void {
    const useMomentum = g.momentum !== 0;
    let buf = state.momentumBuffer;
    // PyTorch's first step with momentum copies the gradient into a new buffer.
    const initBuffer = useMomentum && !(buf instanceof Tensor);
    if (initBuffer) buf = this.zerosLike(p);
    this.applyUpdate(p, grad, (param, gr) => {
      native.sgdStep(
        param._ref(), gr._ref(), useMomentum ? (buf as Tensor)._ref() : null,
        g.lr, g.momentum, g.dampening, g.weightDecay, g.nesterov, g.maximize, initBuffer,
      );
    });
    // As PyTorch, a step without momentum records an empty buffer.
    state.momentumBuffer = useMomentum ? (buf as Tensor) : (buf ?? null);
  }
}
