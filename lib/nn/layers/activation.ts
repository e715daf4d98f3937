// Activation layers: thin modules over nn.functional.
import type { Tensor } from '../../tensor.js';
import { Module, pyFloat } from '../module.js';
import * as F from '../functional.js';
import { isGradEnabled } from '../../autograd/grad_mode.js';
import { late } from './linear.js';
import { bindOptions, param, type CallArgs } from '../../util/args.js';

/**
 * @internal Writes op(input) over input. The ops save their input for
 * backward, and overwriting the very memory they saved would fail the
 * version check at backward time, so when a graph is being recorded the op
 * reads a copy.
 */
export function writeInPlace(input: Tensor, op: (x: Tensor) => Tensor): Tensor {
  const src = isGradEnabled() && input.requiresGrad ? input.clone() : input;
  const y = op(src);
  return y === input ? input : input.copy_(y);
}

function checkInplace(op: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new TypeError(`${op}: inplace must be a boolean, got ${String(v)}`);
  return v;
}

// The signatures (Note [Layer signatures] in linear.ts).
const inplaceParam = late(param.bool('inplace', false));
/** ReLU(inplace=False). */
const RELU = [inplaceParam] as const;
/** LeakyReLU(negative_slope=0.01, inplace=False). */
const LEAKY_RELU = [late(param.float('negativeSlope', 0.01)), inplaceParam] as const;
/** GELU(approximate='none'). */
const GELU_PARAMS = [late(param.oneOf('approximate', ['none', 'tanh'], 'none'))] as const;
/** Softmax(dim=None), LogSoftmax(dim=None). */
const SOFTMAX = [late(param.optInt('dim'))] as const;
/** Sigmoid(), Tanh(). */
const NONE = [] as const;

export class ReLU extends Module {
  readonly inplace: boolean;
  constructor(...args: CallArgs<typeof RELU>) {
    super();
    this.inplace = checkInplace('ReLU', bindOptions('ReLU', RELU, args).inplace);
  }
  forward(input: Tensor): Tensor {
    return this.inplace ? input.relu_() : F.relu(input);
  }
  override extraRepr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  readonly inplace: boolean;
  constructor(...args: CallArgs<typeof LEAKY_RELU>) {
    super();
    const opts = bindOptions('LeakyReLU', LEAKY_RELU, args);
    const negativeSlope = opts.negativeSlope;
    if (typeof negativeSlope !== 'number' || Number.isNaN(negativeSlope)) {
      throw new TypeError(`LeakyReLU: negativeSlope must be a number, got ${String(negativeSlope)}`);
    }
    this.negativeSlope = negativeSlope;
    this.inplace = checkInplace('LeakyReLU', opts.inplace);
  }
  forward(input: Tensor): Tensor {
    if (this.inplace) return writeInPlace(input, (x) => F.leakyRelu(x, this.negativeSlope));
    return F.leakyRelu(input, this.negativeSlope);
  }
  override extraRepr(): string {
    return `negative_slope=${pyFloat(this.negativeSlope)}${this.inplace ? ', inplace=True' : ''}`;
  }
}

export type GeluApproximate = 'none' | 'tanh';

export class GELU extends Module {
  readonly approximate: GeluApproximate;
  constructor(...args: CallArgs<typeof GELU_PARAMS>) {
    super();
    const a = bindOptions('GELU', GELU_PARAMS, args).approximate;
    if (a !== 'none' && a !== 'tanh') throw new RangeError(`GELU: approximate must be 'none' or 'tanh', got ${String(a)}`);
    this.approximate = a;
  }
  forward(input: Tensor): Tensor {
    return F.gelu(input, { approximate: this.approximate });
  }
  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

export class Sigmoid extends Module {
  constructor(...args: CallArgs<typeof NONE>) {
    super();
    bindOptions('Sigmoid', NONE, args);
  }
  forward(input: Tensor): Tensor {
    return F.sigmoid(input);
  }
}

export class Tanh extends Module {
  constructor(...args: CallArgs<typeof NONE>) {
    super();
    bindOptions('Tanh', NONE, args);
  }
  forward(input: Tensor): Tensor {
    return F.tanh(input);
  }
}

function checkDim(op: string, dim: unknown): number | null {
  if (dim === undefined || dim === null) return null;
  if (typeof dim !== 'number' || !Number.isInteger(dim)) throw new TypeError(`${op}: dim must be an integer, got ${String(dim)}`);
  return dim;
}

// PyTorch's legacy rule when Softmax is built without a dim.
function implicitDim(ndim: number): number {
  return ndim === 0 || ndim === 1 || ndim === 3 ? 0 : 1;
}

export class Softmax extends Module {
  readonly dim: number | null;
  constructor(...args: CallArgs<typeof SOFTMAX>) {
    super();
    this.dim = checkDim('Softmax', bindOptions('Softmax', SOFTMAX, args).dim);
  }
  forward(input: Tensor): Tensor {
    return F.softmax(input, this.dim ?? implicitDim(input.ndim));
  }
  override extraRepr(): string {
    return `dim=${this.dim ?? 'None'}`;
  }
}

export class LogSoftmax extends Module {
  readonly dim: number | null;
  constructor(...args: CallArgs<typeof SOFTMAX>) {
    super();
    this.dim = checkDim('LogSoftmax', bindOptions('LogSoftmax', SOFTMAX, args).dim);
  }
  forward(input: Tensor): Tensor {
    return F.logSoftmax(input, this.dim ?? implicitDim(input.ndim));
  }
  override extraRepr(): string {
    return `dim=${this.dim ?? 'None'}`;
  }
}
