// Activation layers: thin modules over nn.functional.
import type { Tensor } from '../../tensor.js';
import { Module, pyFloat } from '../module.js';
import * as F from '../functional.js';
import { isGradEnabled, noGrad } from '../../autograd/grad_mode.js';
import { late, checkSize, dtypeParam, paramDType } from './linear.js';
import { Parameter } from '../parameter.js';
import { full } from '../../ops/creation.js';
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

/** nn.ReLU(inplace=False): max(x, 0) elementwise; with inplace the input is overwritten and returned. */
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

/** nn.LeakyReLU(negative_slope=0.01, inplace=False): x where x >= 0, else negativeSlope * x. */
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

/** nn.GELU(approximate='none'): x * Φ(x) with Φ the standard normal CDF; approximate: 'tanh' uses the tanh approximation. */
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

/** nn.Sigmoid(): 1 / (1 + exp(-x)) elementwise. */
export class Sigmoid extends Module {
  constructor(...args: CallArgs<typeof NONE>) {
    super();
    bindOptions('Sigmoid', NONE, args);
  }
  forward(input: Tensor): Tensor {
    return F.sigmoid(input);
  }
}

/** nn.Tanh(): tanh(x) elementwise. */
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

/**
 * nn.Softmax(dim=None): exp(x) / sum(exp(x)) along dim. Without a dim it takes PyTorch's legacy
 * implicit choice (dim 0 for 0-, 1- and 3-d input, else 1) without PyTorch's deprecation warning.
 */
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

/** nn.LogSoftmax(dim=None): log(softmax(x)) along dim, computed stably; without a dim, PyTorch's legacy implicit choice as Softmax. */
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

// ---- more activations -------------------------------------------------------------------------
/** Python's repr of a number PyTorch stores as given (an int default prints as an int). */
function pyNum(v: number): string {
  return Number.isInteger(v) ? String(v) : pyFloat(v);
}

function checkNumber(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${op}: ${name} must be a number, got ${String(v)}`);
  return v;
}

const withInplace = (s: string, inplace: boolean): string => (inplace ? `${s}, inplace=True` : s);

/** SiLU(inplace=False): x * sigmoid(x). */
export class SiLU extends Module {
  readonly inplace: boolean;
  constructor(...args: CallArgs<typeof RELU>) {
    super();
    this.inplace = checkInplace('SiLU', bindOptions('SiLU', RELU, args).inplace);
  }
  forward(input: Tensor): Tensor {
    return F.silu(input, this.inplace);
  }
  override extraRepr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

/** Mish(inplace=False): x * tanh(softplus(x)). */
export class Mish extends Module {
  readonly inplace: boolean;
  constructor(...args: CallArgs<typeof RELU>) {
    super();
    this.inplace = checkInplace('Mish', bindOptions('Mish', RELU, args).inplace);
  }
  forward(input: Tensor): Tensor {
    return F.mish(input, this.inplace);
  }
  override extraRepr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

/** SELU(inplace=False): scale * elu(x, alpha) with the self-normalising constants. */
export class SELU extends Module {
  readonly inplace: boolean;
  constructor(...args: CallArgs<typeof RELU>) {
    super();
    this.inplace = checkInplace('SELU', bindOptions('SELU', RELU, args).inplace);
  }
  forward(input: Tensor): Tensor {
    return F.selu(input, this.inplace);
  }
  override extraRepr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

/** ReLU6(inplace=False): min(max(x, 0), 6). */
export class ReLU6 extends Module {
  readonly inplace: boolean;
  constructor(...args: CallArgs<typeof RELU>) {
    super();
    this.inplace = checkInplace('ReLU6', bindOptions('ReLU6', RELU, args).inplace);
  }
  forward(input: Tensor): Tensor {
    return F.relu6(input, this.inplace);
  }
  override extraRepr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

/** Hardswish(inplace=False): x * relu6(x + 3) / 6 (PyTorch's repr never shows inplace). */
export class Hardswish extends Module {
  readonly inplace: boolean;
  constructor(...args: CallArgs<typeof RELU>) {
    super();
    this.inplace = checkInplace('Hardswish', bindOptions('Hardswish', RELU, args).inplace);
  }
  forward(input: Tensor): Tensor {
    return F.hardswish(input, this.inplace);
  }
}

/** Hardsigmoid(inplace=False): relu6(x + 3) / 6 (PyTorch's repr never shows inplace). */
export class Hardsigmoid extends Module {
  readonly inplace: boolean;
  constructor(...args: CallArgs<typeof RELU>) {
    super();
    this.inplace = checkInplace('Hardsigmoid', bindOptions('Hardsigmoid', RELU, args).inplace);
  }
  forward(input: Tensor): Tensor {
    return F.hardsigmoid(input, this.inplace);
  }
}

/** LogSigmoid(): log(sigmoid(x)). */
export class LogSigmoid extends Module {
  constructor(...args: CallArgs<typeof NONE>) {
    super();
    bindOptions('LogSigmoid', NONE, args);
  }
  forward(input: Tensor): Tensor {
    return F.logsigmoid(input);
  }
}

/** Softsign(): x / (1 + |x|). */
export class Softsign extends Module {
  constructor(...args: CallArgs<typeof NONE>) {
    super();
    bindOptions('Softsign', NONE, args);
  }
  forward(input: Tensor): Tensor {
    return F.softsign(input);
  }
}

/** Tanhshrink(): x - tanh(x). */
export class Tanhshrink extends Module {
  constructor(...args: CallArgs<typeof NONE>) {
    super();
    bindOptions('Tanhshrink', NONE, args);
  }
  forward(input: Tensor): Tensor {
    return F.tanhshrink(input);
  }
}

/** ELU(alpha=1.0, inplace=False), CELU(alpha=1.0, inplace=False). */
const ALPHA = [late(param.float('alpha', 1)), inplaceParam] as const;

/** ELU(alpha=1.0, inplace=False): x where x > 0, else alpha * (exp(x) - 1). */
export class ELU extends Module {
  readonly alpha: number;
  readonly inplace: boolean;
  constructor(...args: CallArgs<typeof ALPHA>) {
    super();
    const o = bindOptions('ELU', ALPHA, args);
    this.alpha = checkNumber('ELU', 'alpha', o.alpha);
    this.inplace = checkInplace('ELU', o.inplace);
  }
  forward(input: Tensor): Tensor {
    return F.elu(input, this.alpha, this.inplace);
  }
  override extraRepr(): string {
    return withInplace(`alpha=${pyFloat(this.alpha)}`, this.inplace);
  }
}

/** CELU(alpha=1.0, inplace=False): x where x > 0, else alpha * (exp(x / alpha) - 1). */
export class CELU extends Module {
  readonly alpha: number;
  readonly inplace: boolean;
  constructor(...args: CallArgs<typeof ALPHA>) {
    super();
    const o = bindOptions('CELU', ALPHA, args);
    this.alpha = checkNumber('CELU', 'alpha', o.alpha);
    this.inplace = checkInplace('CELU', o.inplace);
  }
  forward(input: Tensor): Tensor {
    return F.celu(input, this.alpha, this.inplace);
  }
  override extraRepr(): string {
    return withInplace(`alpha=${pyFloat(this.alpha)}`, this.inplace);
  }
}

/** Softplus(beta=1, threshold=20). */
const SOFTPLUS = [late(param.float('beta', 1)), late(param.float('threshold', 20))] as const;

/** Softplus(beta=1, threshold=20): log(1 + exp(beta x)) / beta, x where beta x > threshold. */
export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;
  constructor(...args: CallArgs<typeof SOFTPLUS>) {
    super();
    const o = bindOptions('Softplus', SOFTPLUS, args);
    this.beta = checkNumber('Softplus', 'beta', o.beta);
    this.threshold = checkNumber('Softplus', 'threshold', o.threshold);
  }
  forward(input: Tensor): Tensor {
    return F.softplus(input, this.beta, this.threshold);
  }
  override extraRepr(): string {
    return `beta=${pyNum(this.beta)}, threshold=${pyNum(this.threshold)}`;
  }
}

/** Hardtanh(min_val=-1.0, max_val=1.0, inplace=False). */
const HARDTANH = [late(param.float('minVal', -1)), late(param.float('maxVal', 1)), inplaceParam] as const;

/** Hardtanh(min_val=-1.0, max_val=1.0, inplace=False): x clamped to [minVal, maxVal]. */
export class Hardtanh extends Module {
  readonly minVal: number;
  readonly maxVal: number;
  readonly inplace: boolean;
  constructor(...args: CallArgs<typeof HARDTANH>) {
    super();
    const o = bindOptions('Hardtanh', HARDTANH, args);
    this.minVal = checkNumber('Hardtanh', 'minVal', o.minVal);
    this.maxVal = checkNumber('Hardtanh', 'maxVal', o.maxVal);
    if (!(this.maxVal > this.minVal)) {
      throw new RangeError(`Hardtanh: maxVal must be greater than minVal, got minVal=${this.minVal}, maxVal=${this.maxVal}`);
    }
    this.inplace = checkInplace('Hardtanh', o.inplace);
  }
  forward(input: Tensor): Tensor {
    return F.hardtanh(input, this.minVal, this.maxVal, this.inplace);
  }
  override extraRepr(): string {
    return withInplace(`min_val=${pyFloat(this.minVal)}, max_val=${pyFloat(this.maxVal)}`, this.inplace);
  }
}

/** Hardshrink(lambd=0.5), Softshrink(lambd=0.5). */
const LAMBD = [late(param.float('lambd', 0.5))] as const;

/** Hardshrink(lambd=0.5): x where |x| > lambd, else 0. */
export class Hardshrink extends Module {
  readonly lambd: number;
  constructor(...args: CallArgs<typeof LAMBD>) {
    super();
    this.lambd = checkNumber('Hardshrink', 'lambd', bindOptions('Hardshrink', LAMBD, args).lambd);
  }
  forward(input: Tensor): Tensor {
    return F.hardshrink(input, this.lambd);
  }
  override extraRepr(): string {
    return pyNum(this.lambd);
  }
}

/** Softshrink(lambd=0.5): x - lambd above lambd, x + lambd below -lambd, else 0. */
export class Softshrink extends Module {
  readonly lambd: number;
  constructor(...args: CallArgs<typeof LAMBD>) {
    super();
    this.lambd = checkNumber('Softshrink', 'lambd', bindOptions('Softshrink', LAMBD, args).lambd);
    if (this.lambd < 0) throw new RangeError(`Softshrink: lambd must be greater or equal to 0, but found to be ${this.lambd}`);
  }
  forward(input: Tensor): Tensor {
    return F.softshrink(input, this.lambd);
  }
  override extraRepr(): string {
    return pyNum(this.lambd);
  }
}

/** Threshold(threshold, value, inplace=False). */
const THRESHOLD = [late(param.float('threshold')), late(param.float('value')), inplaceParam] as const;

/** Threshold(threshold, value, inplace=False): x where x > threshold, else value. */
export class Threshold extends Module {
  readonly threshold: number;
  readonly value: number;
  readonly inplace: boolean;
  constructor(...args: CallArgs<typeof THRESHOLD>) {
    super();
    const o = bindOptions('Threshold', THRESHOLD, args);
    this.threshold = checkNumber('Threshold', 'threshold', o.threshold);
    this.value = checkNumber('Threshold', 'value', o.value);
    this.inplace = checkInplace('Threshold', o.inplace);
  }
  forward(input: Tensor): Tensor {
    return F.threshold(input, this.threshold, this.value, this.inplace);
  }
  override extraRepr(): string {
    return withInplace(`threshold=${pyNum(this.threshold)}, value=${pyNum(this.value)}`, this.inplace);
  }
}

/** GLU(dim=-1). */
const GLU_PARAMS = [late(param.int('dim', -1))] as const;

/** GLU(dim=-1): a * sigmoid(b), a and b the halves of the input along dim. */
export class GLU extends Module {
  readonly dim: number;
  constructor(...args: CallArgs<typeof GLU_PARAMS>) {
    super();
    const dim = bindOptions('GLU', GLU_PARAMS, args).dim;
    if (!Number.isInteger(dim)) throw new TypeError(`GLU: dim must be an integer, got ${String(dim)}`);
    this.dim = dim;
  }
  forward(input: Tensor): Tensor {
    return F.glu(input, this.dim);
  }
  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/** Softmin(dim=None): softmax(-x) along dim. */
export class Softmin extends Module {
  readonly dim: number | null;
  constructor(...args: CallArgs<typeof SOFTMAX>) {
    super();
    this.dim = checkDim('Softmin', bindOptions('Softmin', SOFTMAX, args).dim);
  }
  forward(input: Tensor): Tensor {
    return F.softmin(input, this.dim ?? implicitDim(input.ndim));
  }
  override extraRepr(): string {
    return `dim=${this.dim ?? 'None'}`;
  }
}

/** PReLU(num_parameters=1, init=0.25, *, dtype=None). */
const PRELU = [late(param.int('numParameters', 1)), late(param.float('init', 0.25)), dtypeParam] as const;

/** PReLU(num_parameters=1, init=0.25, *, dtype=None): x where x > 0, else weight * x; weight learnable, one or one per channel. */
export class PReLU extends Module {
  readonly numParameters: number;
  readonly init: number;
  weight: Parameter;
  constructor(...args: CallArgs<typeof PRELU>) {
    super();
    const o = bindOptions('PReLU', PRELU, args);
    checkSize('PReLU', 'numParameters', o.numParameters, 1);
    this.numParameters = o.numParameters;
    this.init = checkNumber('PReLU', 'init', o.init);
    this.weight = new Parameter(full([this.numParameters], this.init, { dtype: paramDType('PReLU', o.dtype) }));
  }
  /** Refills weight with init, as PyTorch's reset_parameters. */
  resetParameters(): void {
    noGrad(() => this.weight.fill_(this.init));
  }
  forward(input: Tensor): Tensor {
    return F.prelu(input, this.weight);
  }
  override extraRepr(): string {
    return `num_parameters=${this.numParameters}`;
  }
}
