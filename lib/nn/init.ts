// nn.init: PyTorch's weight initialisers. Each fills a tensor in place from
// the seeded native generator (torch.manualSeed) without recording autograd.
import { Tensor } from '../tensor.js';
import { noGrad } from '../autograd/grad_mode.js';
import { isFloating } from '../dtype.js';

export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'conv_transpose1d'
  | 'conv_transpose2d'
  | 'conv_transpose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'leakyRelu'
  | 'selu';

export type FanMode = 'fan_in' | 'fan_out' | 'fanIn' | 'fanOut';

export interface KaimingOptions {
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

const LINEAR_LIKE = new Set([
  'linear',
  'conv1d',
  'conv2d',
  'conv3d',
  'conv_transpose1d',
  'conv_transpose2d',
  'conv_transpose3d',
  'sigmoid',
]);

function checkTensor(op: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${t === null ? 'null' : typeof t}`);
}

function checkFloat(op: string, t: Tensor): void {
  if (!isFloating(t.dtype)) throw new TypeError(`${op}: expected a floating point tensor, got ${t.dtype}`);
}

function checkNumber(op: string, name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${op}: ${name} must be a number, got ${String(v)}`);
}

/** The recommended gain for a nonlinearity (PyTorch's calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity | string, param?: number | null): number {
  if (LINEAR_LIKE.has(nonlinearity)) return 1;
  switch (nonlinearity) {
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu':
    case 'leakyRelu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || Number.isNaN(slope)) {
        throw new TypeError(`calculateGain: negative_slope ${String(slope)} not a valid number`);
      }
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new RangeError(`calculateGain: unsupported nonlinearity ${String(nonlinearity)}`);
  }
}

/** fan_in and fan_out of a weight: dims 1 and 0 times the receptive field (dims 2...). */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  checkTensor('calculateFanInAndFanOut', t);
  const shape = t._shape;
  if (shape.length < 2) {
    throw new RangeError(
      `calculateFanInAndFanOut: fan in and fan out can not be computed for tensor with fewer than 2 dimensions (got shape [${shape.join(', ')}])`,
    );
  }
  let receptive = 1;
  for (let i = 2; i < shape.length; i++) receptive *= shape[i];
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

function fanFor(op: string, t: Tensor, mode: FanMode): number {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  if (mode === 'fan_in' || mode === 'fanIn') return fanIn;
  if (mode === 'fan_out' || mode === 'fanOut') return fanOut;
  throw new RangeError(`${op}: mode ${String(mode)} not supported, please use one of fan_in, fan_out`);
}

/** Fills t with U(a, b). */
export function uniform_(t: Tensor, a: number | { a?: number; b?: number } = 0, b = 1): Tensor {
  checkTensor('uniform_', t);
  if (typeof a === 'object' && a !== null) ({ a = 0, b = 1 } = a);
  checkNumber('uniform_', 'a', a);
  checkNumber('uniform_', 'b', b);
  if (a > b) throw new RangeError(`uniform_: expects a <= b, but found a=${a} and b=${b}`);
  checkFloat('uniform_', t);
  return noGrad(() => t.uniform_(a as number, b));
}

/** Fills t with N(mean, std²). */
export function normal_(t: Tensor, mean: number | { mean?: number; std?: number } = 0, std = 1): Tensor {
  checkTensor('normal_', t);
  if (typeof mean === 'object' && mean !== null) ({ mean = 0, std = 1 } = mean);
  checkNumber('normal_', 'mean', mean);
  checkNumber('normal_', 'std', std);
  if (std < 0) throw new RangeError(`normal_: expects std >= 0.0, but found std ${std}`);
  checkFloat('normal_', t);
  return noGrad(() => t.normal_(mean as number, std));
}

/** nn.init.constant_(tensor, val): fills t with val in place, without recording a gradient; returns t. */
export function constant_(t: Tensor, val: number): Tensor {
  checkTensor('constant_', t);
  checkNumber('constant_', 'val', val);
  return noGrad(() => t.fill_(val));
}

/** nn.init.zeros_(tensor): fills t with zeros in place, without recording a gradient; returns t. */
export function zeros_(t: Tensor): Tensor {
  checkTensor('zeros_', t);
  return noGrad(() => t.zero_());
}

/** nn.init.ones_(tensor): fills t with ones in place, without recording a gradient; returns t. */
export function ones_(t: Tensor): Tensor {
  checkTensor('ones_', t);
  return noGrad(() => t.fill_(1));
}

/** Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, opts: { gain?: number } = {}): Tensor {
  checkTensor('xavierUniform_', t);
  const gain = opts.gain ?? 1;
  checkNumber('xavierUniform_', 'gain', gain);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const a = Math.sqrt(3) * gain * Math.sqrt(2 / (fanIn + fanOut));
  checkFloat('xavierUniform_', t);
  return noGrad(() => t.uniform_(-a, a));
}

/** Glorot normal: N(0, std²) with std = gain * sqrt(2 / (fan_in + fan_out)). */
export function xavierNormal_(t: Tensor, opts: { gain?: number } = {}): Tensor {
  checkTensor('xavierNormal_', t);
  const gain = opts.gain ?? 1;
  checkNumber('xavierNormal_', 'gain', gain);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const std = gain * Math.sqrt(2 / (fanIn + fanOut));
  checkFloat('xavierNormal_', t);
  return noGrad(() => t.normal_(0, std));
}

function kaimingStd(op: string, t: Tensor, opts: KaimingOptions): number {
  const a = opts.a ?? 0;
  checkNumber(op, 'a', a);
  const fan = fanFor(op, t, opts.mode ?? 'fan_in');
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', a);
  return gain / Math.sqrt(fan);
}

/** He uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan). */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  checkTensor('kaimingUniform_', t);
  if (t.numel() === 0) return t;
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform_', t, opts);
  checkFloat('kaimingUniform_', t);
  return noGrad(() => t.uniform_(-bound, bound));
}

/** He normal: N(0, std²) with std = gain / sqrt(fan). */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  checkTensor('kaimingNormal_', t);
  if (t.numel() === 0) return t;
  const std = kaimingStd('kaimingNormal_', t, opts);
  checkFloat('kaimingNormal_', t);
  return noGrad(() => t.normal_(0, std));
}
