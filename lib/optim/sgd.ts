// Stochastic gradient descent with momentum, after torch.optim.SGD (1.13).
import { Tensor } from '../tensor.js';
import { native } from '../backend/native.js';
import {
  Optimizer,
  REQUIRED,
  as,
  checkBool,
  checkNonNegative,
  checkNumber,
  late,
  paramsParam,
  type ParamGroup,
  type ParamState,
} from './optimizer.js';
import { bindOptions, param, type CallArgs, type OptionsOf } from '../util/args.js';

/**
 * SGD(params, lr=required, momentum=0, dampening=0, weight_decay=0,
 * nesterov=False, *, maximize=False) (Note [Optimizer signatures]). lr is
 * required here or in every group.
 */
const SGD_PARAMS = [
  paramsParam,
  late(param.custom('lr', 'float', as<number>, REQUIRED as unknown as number)),
  late(param.float('momentum', 0)),
  late(param.float('dampening', 0)),
  late(param.float('weightDecay', 0)),
  late(param.bool('nesterov', false)),
  param.kw(late(param.bool('maximize', false))),
] as const;

export type SGDOptions = Omit<OptionsOf<typeof SGD_PARAMS>, 'params'>;

export interface SGDParamGroup extends ParamGroup {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

/**
 * optim.SGD(params, lr=required, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False):
 * stochastic gradient descent with optional (Nesterov) momentum, as PyTorch 1.13's. foreach and differentiable are not
 * implemented.
 */
export class SGD extends Optimizer<SGDParamGroup> {
  constructor(...args: CallArgs<typeof SGD_PARAMS>) {
    const { params, ...defaults } = bindOptions('SGD', SGD_PARAMS, args);
    super('SGD', params, defaults);
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
        param._ref(),
        gr._ref(),
        useMomentum ? (buf as Tensor)._ref() : null,
        g.lr,
        g.momentum,
        g.dampening,
        g.weightDecay,
        g.nesterov,
        g.maximize,
        initBuffer,
      );
    });
    // As PyTorch, a step without momentum records an empty buffer.
    state.momentumBuffer = useMomentum ? (buf as Tensor) : (buf ?? null);
  }
}
