// Tensor creation: torch.tensor, zeros, ones, full, arange, linspace, eye,
// random tensors, fromTypedArray.
import { Storage, Tensor, sizeArgs } from '../tensor.js';
import * as K from './kernels.js';
import { native } from '../backend/native.js';
import { checkOptions as checkKeys, isOptions } from '../util/args.js';
import { DTYPES, isDType, isFloating, isHalf, storageOfArray, type DType, type InputTypedArray } from '../dtype.js';
import type { TypedArray } from '../backend/native.js';
import { device as checkedDevice, type Device } from '../backend/cuda.js';
import type { TorchDevice } from '../backend/device.js';
import { generatorState, type Generator } from './generator.js';
import { roundToHalf } from '../util/half.js';
import { traceCreated } from './op.js';

export interface TensorOptions {
  /** 'float32', 'float64', 'float16', 'bfloat16', 'int32', 'int64', 'uint8' or 'bool' (float16 and bfloat16: CPU only). */
  dtype?: DType;
  requiresGrad?: boolean;
  /** 'cpu', 'cuda', 'cuda:N' or a torch.device. */
  device?: string | TorchDevice;
}

/** The options of a sampler: TensorOptions and the generator to draw from. */
export interface RandomOptions extends TensorOptions {
  generator?: Generator | null;
}

type Nested = number | boolean | bigint | Nested[] | InputTypedArray;

/** Checked options; `dev` is the canonical device (Note [Device strings]). */
interface Options extends TensorOptions {
  dev: Device;
  /** The generator's state (random ops only); undefined: the thread's default generator. */
  rng?: BigUint64Array;
}

const NO_OPTIONS: Options = { dev: 'cpu' };
const TENSOR_OPTIONS = ['dtype', 'device', 'requiresGrad'];
const RANDOM_OPTIONS = [...TENSOR_OPTIONS, 'generator'];

function checkOptions(opts: RandomOptions | undefined, op: string, random = false): Options {
  if (opts === undefined || opts === null) return NO_OPTIONS;
  if (typeof opts !== 'object') throw new TypeError(`${op}: options must be an object like { dtype: 'float32' }`);
  checkKeys(op, opts, random ? RANDOM_OPTIONS : TENSOR_OPTIONS);
  if (opts.dtype !== undefined && !isDType(opts.dtype)) {
    throw new TypeError(`${op}: unknown dtype ${K.fmtValue(opts.dtype)} (expected one of ${DTYPES.join(', ')})`);
  }
  const dev = opts.device === undefined || opts.device === 'cpu' ? 'cpu' : checkedDevice(opts.device, op);
  const rng = random ? generatorState(opts.generator, op) : undefined;
  return { dtype: opts.dtype, requiresGrad: opts.requiresGrad, device: opts.device, dev, rng };
}

/**
 * Moves a tensor built on the CPU to the requested device and sets
 * requiresGrad. Values computed in JS (tensor, arange, eye) and random
 * draws are made on the CPU and copied, so a seed gives the same numbers
 * on every device.
 */
// float16 and bfloat16 storages hold bits (Note [Half storage]): the
// factories that write values themselves write them as float32, which
// finish() then rounds once into the half dtype, as PyTorch rounds a double
// to float and then to half.
function hostDType(d: DType): DType {
  return isHalf(d) ? 'float32' : d;
}

function finish(t: Tensor, opts: Options, op: string, dtype: DType = t.dtype): Tensor {
  if (t.dtype !== dtype) t = K.cast(t, dtype, op);
  if (t.device !== opts.dev) t = K.toDevice(t, opts.dev, op);
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** finish() for a tensor made from numbers alone, which torch.onnx.export may then use as a constant. */
function finishConstant(t: Tensor, opts: Options, op: string, dtype: DType = t.dtype): Tensor {
  return traceCreated(finish(t, opts, op, dtype), op);
}

/** Splits trailing options off spread sizes: zeros(2, 3, { dtype }). */
function sizesAndOptions(args: unknown[], op: string, random = false): [number[], Options] {
  let opts: Options = NO_OPTIONS;
  // An explicit undefined options (zeros([2], undefined), as a wrapper
  // passing its own optional argument on writes it) means no options.
  while (args.length > 1 && args[args.length - 1] === undefined) args = args.slice(0, -1);
  const last = args[args.length - 1];
  if (args.length && typeof last === 'object' && last !== null && !Array.isArray(last)) {
    opts = checkOptions(last as RandomOptions, op, random);
    args = args.slice(0, -1);
  }
  const size = sizeArgs(args, op);
  for (const s of size) if (s < 0) throw new RangeError(`${op}: negative dimension ${s}`);
  return [size, opts];
}

/** The most dims torch.tensor builds from nested arrays. */
export const MAX_NESTING = 64;

// How deep `data` nests, counted along first elements without recursion
// and stopping past the limit (a cyclic array nests forever).
function nestingError(data: unknown): RangeError {
  let depth = 0;
  let probe: unknown = data;
  const seen = new Set<unknown>();
  while ((Array.isArray(probe) || ArrayBuffer.isView(probe)) && (probe as ArrayLike<unknown>).length > 0) {
    if (seen.has(probe) || depth >= 1_000_000) {
      return new RangeError(
        `tensor: nested sequence is more than ${MAX_NESTING} levels deep (it contains itself); at most ${MAX_NESTING} dims are supported`,
      );
    }
    seen.add(probe);
    depth++;
    probe = (probe as ArrayLike<unknown>)[0];
  }
  if (Array.isArray(probe) || ArrayBuffer.isView(probe)) depth++;
  return new RangeError(`tensor: nested sequence is ${depth} levels deep; at most ${MAX_NESTING} dims are supported`);
}

/**
 * torch.tensor: a new tensor holding a copy of `data` (a number, a boolean, nested arrays of them,
 * a typed array or a Tensor). Its dtype is inferred as PyTorch does (numbers with no fraction are
 * int64, others float32, booleans bool) unless { dtype } says otherwise; { device, requiresGrad }.
 */
export function tensor(data: Nested | Tensor, opts?: TensorOptions): Tensor {
  const o = checkOptions(opts, 'tensor');
  if (data instanceof Tensor) {
    // A copy, on the data's device unless another is asked for (PyTorch).
    const t = K.cast(K.toDevice(data, likeDevice(data, opts, o), 'tensor', true), o.dtype ?? data.dtype, 'tensor');
    if (o.requiresGrad) t.requiresGrad_(true);
    return t;
  }
  if (ArrayBuffer.isView(data)) {
    const { data: arr, dtype: arrDtype } = storageOfArray(data, 'tensor', o.dtype);
    const src = new Tensor(new Storage(arr), [arr.length], [1], 0, arrDtype);
    return finishConstant(K.cast(K.clone(src, 'tensor'), o.dtype ?? src.dtype, 'tensor'), o, 'tensor');
  }
  // Walk the nesting to find the shape and check it is not ragged. The
  // depth is capped (PyTorch caps it too, at 128 in torch.tensor), so a
  // deeply nested or cyclic array is an error, not a stack overflow or an
  // endless loop; the recursive walk below goes no deeper than the shape.
  const shape: number[] = [];
  let probe: unknown = data;
  while (Array.isArray(probe) || ArrayBuffer.isView(probe)) {
    const a = probe as ArrayLike<unknown>;
    if (shape.length === MAX_NESTING) throw nestingError(data);
    shape.push(a.length);
    if (a.length === 0) break;
    probe = a[0];
  }
  const flat: (number | boolean | bigint)[] = [];
  const walk = (v: unknown, d: number) => {
    if (d === shape.length) {
      if (typeof v !== 'number' && typeof v !== 'boolean' && typeof v !== 'bigint') {
        throw new TypeError(`tensor: expected numbers or booleans, got ${v === null ? 'null' : typeof v}`);
      }
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) && !ArrayBuffer.isView(v))
      throw new RangeError(`tensor: expected a sequence of length ${shape[d]} at dim ${d}, got a scalar`);
    const a = v as ArrayLike<unknown>;
    if (a.length !== shape[d]) throw new RangeError(`tensor: expected sequence of length ${shape[d]} at dim ${d} (got ${a.length})`);
    for (let i = 0; i < a.length; i++) walk(a[i], d + 1);
  };
  walk(data, 0);
  let dtype = o.dtype;
  if (!dtype) {
    if (flat.length && flat.every((v) => typeof v === 'boolean')) dtype = 'bool';
    else if (flat.some((v) => typeof v === 'bigint')) dtype = 'int64';
    else if (flat.length > 0 && flat.every((v) => typeof v !== 'number' || (Number.isInteger(v) && Math.abs(v) < 2 ** 63))) {
      // JS has one number type, so integers stand for PyTorch's ints, except
      // where gradients are asked for (only floats can require grad) and
      // past int64's range, where only a Python float could have been meant.
      dtype = o.requiresGrad ? 'float32' : 'int64';
    } else dtype = 'float32';
  }
  const t = K.empty(shape, hostDType(dtype), 'tensor', 'cpu');
  const out = t._storage.data as TypedArray;
  if (dtype === 'int64') {
    const d = out as BigInt64Array;
    flat.forEach((v, i) => {
      if (typeof v === 'bigint') {
        if (BigInt.asIntN(64, v) !== v) throw new RangeError(`tensor: value ${v} cannot be converted to type int64 without overflow`);
        d[i] = v;
      } else {
        K.checkScalarFits(Number(v), 'int64', 'tensor');
        d[i] = BigInt(Math.trunc(Number(v)));
      }
    });
  } else if (dtype === 'bool') {
    // Any nonzero value (NaN included) is true; the clamped storage would round 0.4 to false.
    flat.forEach((v, i) => ((out as Uint8ClampedArray)[i] = typeof v === 'bigint' ? Number(v !== 0n) : Number(v) !== 0 ? 1 : 0));
  } else if (isFloating(dtype)) {
    flat.forEach((v, i) => ((out as Float64Array)[i] = Number(v)));
  } else {
    flat.forEach((v, i) => {
      const x = Number(v);
      K.checkScalarFits(x, dtype, 'tensor');
      (out as Int32Array)[i] = K.toIntegral(x, dtype);
    });
  }
  return finishConstant(t, o, 'tensor', dtype);
}

/** torch.zeros: a tensor of zeros (float32 unless { dtype }): zeros(2, 3), zeros([2, 3], { dtype, device, requiresGrad }). */
export function zeros(...size: number[]): Tensor;
export function zeros(...sizeThenOptions: [...size: number[], opts: TensorOptions | undefined]): Tensor;
export function zeros(size: readonly number[], opts?: TensorOptions): Tensor;
export function zeros(...args: unknown[]): Tensor {
  const [size, opts] = sizesAndOptions(args, 'zeros');
  return finishConstant(K.empty(size, opts.dtype ?? 'float32', 'zeros', opts.dev), opts, 'zeros');
}

/**
 * torch.empty: a tensor of the given size whose values are not to be relied on (Kindling fills
 * it with zeros, as fresh memory is zeroed anyway): empty(2, 3), empty([2, 3], { dtype }).
 */
export function empty(...size: number[]): Tensor;
export function empty(...sizeThenOptions: [...size: number[], opts: TensorOptions | undefined]): Tensor;
export function empty(size: readonly number[], opts?: TensorOptions): Tensor;
export function empty(...args: unknown[]): Tensor {
  return (zeros as (...a: unknown[]) => Tensor)(...args);
}

/** torch.ones: a tensor of ones (float32 unless { dtype }): ones(2, 3), ones([2, 3], { dtype, device, requiresGrad }). */
export function ones(...size: number[]): Tensor;
export function ones(...sizeThenOptions: [...size: number[], opts: TensorOptions | undefined]): Tensor;
export function ones(size: readonly number[], opts?: TensorOptions): Tensor;
export function ones(...args: unknown[]): Tensor {
  const [size, opts] = sizesAndOptions(args, 'ones');
  const t = K.output(size, opts.dtype ?? 'float32', 'ones', opts.dev);
  native.fill(t._ref(), 1);
  return finishConstant(t, opts, 'ones');
}

/** torch.full: a tensor of `size` filled with `value`; its dtype follows the value (bool, int64 or float32) unless { dtype }. */
export function full(size: number[], value: number | boolean, opts?: TensorOptions): Tensor {
  const o = checkOptions(opts, 'full');
  if (typeof value !== 'number' && typeof value !== 'boolean') throw new TypeError('full: value must be a number or boolean');
  const dtype = o.dtype ?? (typeof value === 'boolean' ? 'bool' : Number.isInteger(value) ? 'int64' : 'float32');
  K.checkScalarFits(Number(value), dtype, 'full');
  const t = K.output(sizeArgs([size], 'full'), dtype, 'full', o.dev);
  native.fill(t._ref(), Number(value));
  return finishConstant(t, o, 'full');
}

/** The *Like ops create on the model tensor's device unless told otherwise (PyTorch). */
function likeDevice(t: Tensor, opts: TensorOptions | undefined, o: Options): Device {
  return opts && opts.device !== undefined ? o.dev : t.device;
}

/** torch.zeros_like: zeros of t's shape, dtype and device unless the options say otherwise. */
export function zerosLike(t: Tensor, opts?: TensorOptions): Tensor {
  const o = checkOptions(opts, 'zerosLike');
  if (!(t instanceof Tensor)) throw new TypeError(`zerosLike: expected a Tensor, got ${K.fmtValue(t)}`);
  return finish(K.empty(t._shape, o.dtype ?? t.dtype, 'zerosLike', likeDevice(t, opts, o)), o, 'zerosLike');
}

/** torch.ones_like: ones of t's shape, dtype and device unless the options say otherwise. */
export function onesLike(t: Tensor, opts?: TensorOptions): Tensor {
  const o = checkOptions(opts, 'onesLike');
  if (!(t instanceof Tensor)) throw new TypeError(`onesLike: expected a Tensor, got ${K.fmtValue(t)}`);
  const r = K.output(t._shape, o.dtype ?? t.dtype, 'onesLike', likeDevice(t, opts, o));
  native.fill(r._ref(), 1);
  return finish(r, o, 'onesLike');
}

/** torch.full_like: `value` in t's shape, dtype and device unless the options say otherwise. */
export function fullLike(t: Tensor, value: number, opts?: TensorOptions): Tensor {
  const o = checkOptions(opts, 'fullLike');
  if (!(t instanceof Tensor)) throw new TypeError(`fullLike: expected a Tensor, got ${K.fmtValue(t)}`);
  if (typeof value !== 'number' && typeof value !== 'boolean')
    throw new TypeError(`fullLike: value must be a number or boolean, got ${K.fmtValue(value)}`);
  K.checkScalarFits(Number(value), o.dtype ?? t.dtype, 'fullLike');
  const r = K.output(t._shape, o.dtype ?? t.dtype, 'fullLike', likeDevice(t, opts, o));
  native.fill(r._ref(), Number(value));
  return finish(r, o, 'fullLike');
}

/** Random normal values, mean 0 and variance 1: randn(2, 3), randn([2, 3], { dtype, generator }). */
export function randn(...args: unknown[]): Tensor {
  const [size, opts] = sizesAndOptions(args, 'randn', true);
  const dtype = opts.dtype ?? 'float32';
  if (!isFloating(dtype)) throw new TypeError(`randn: expected a floating dtype, got ${dtype}`);
  const t = K.output(size, dtype, 'randn', 'cpu');
  native.normal(t._ref(), 0, 1, opts.rng);
  return finish(t, opts, 'randn');
}

/** Random values uniform in [0, 1): rand(2, 3), rand([2, 3], { dtype, generator }). */
export function rand(...args: unknown[]): Tensor {
  const [size, opts] = sizesAndOptions(args, 'rand', true);
  const dtype = opts.dtype ?? 'float32';
  if (!isFloating(dtype)) throw new TypeError(`rand: expected a floating dtype, got ${dtype}`);
  const t = K.output(size, dtype, 'rand', 'cpu');
  native.uniform(t._ref(), 0, 1, opts.rng);
  return finish(t, opts, 'rand');
}

/** Random integers uniform in [low, high): randint(high, size) or randint(low, high, size), options last ({ dtype, generator, ... }). */
export function randint(low: number, high?: number | number[], size?: number[] | RandomOptions, opts?: RandomOptions): Tensor {
  // randint(high, size) or randint(low, high, size)
  if (Array.isArray(high)) {
    opts = size as RandomOptions | undefined;
    size = high;
    high = low;
    low = 0;
  }
  if (!Number.isInteger(low) || !Number.isInteger(high)) throw new TypeError('randint: low and high must be integers');
  if ((high as number) <= low) throw new RangeError(`randint: expected low < high, got low=${low}, high=${high}`);
  if (!Array.isArray(size)) throw new TypeError('randint: size must be an array of integers');
  const o = checkOptions(opts, 'randint', true);
  const t = K.empty(sizeArgs([size], 'randint'), o.dtype ?? 'int64', 'randint', 'cpu');
  native.randint(t._ref(), low, high as number, o.rng);
  return finish(t, o, 'randint');
}

/** A random permutation of 0..n-1 (int64 unless dtype says otherwise), from the generator when given. */
export function randperm(n: number, opts?: RandomOptions): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`randperm: n must be a non-negative integer, got ${K.fmtValue(n)}`);
  const o = checkOptions(opts, 'randperm', true);
  const t = K.empty([n], 'int64', 'randperm', 'cpu');
  native.randperm(t._ref(), o.rng);
  return finish(K.cast(t, o.dtype ?? 'int64', 'randperm'), o, 'randperm');
}

/**
 * torch.normal: normal(mean, std, size, opts?) with numbers draws a new
 * tensor of `size`; with a tensor mean and/or std (the other a number, std
 * defaulting to 1) each element has its own mean and std, broadcast
 * together, and gradients flow to the tensor arguments (as PyTorch's).
 * Options: { generator } and, for the sized form, dtype, device,
 * requiresGrad.
 */
export function normal(
  mean: number | Tensor,
  std?: number | Tensor | RandomOptions,
  size?: number[] | RandomOptions,
  opts?: RandomOptions,
): Tensor {
  if (typeof std === 'object' && std !== null && !(std instanceof Tensor)) {
    opts = std;
    std = undefined;
  }
  if (typeof size === 'object' && size !== null && !Array.isArray(size)) {
    opts = size;
    size = undefined;
  }
  const isT = (v: unknown) => v instanceof Tensor;
  if (typeof mean !== 'number' && !isT(mean)) throw new TypeError(`normal: mean must be a number or a Tensor, got ${K.fmtValue(mean)}`);
  if (std !== undefined && typeof std !== 'number' && !isT(std))
    throw new TypeError(`normal: std must be a number or a Tensor, got ${K.fmtValue(std)}`);
  if (!isT(mean) && !isT(std)) {
    if (size === undefined) throw new TypeError('normal: with a number mean and std, size is required: normal(mean, std, size)');
    const sd = std === undefined ? 1 : (std as number);
    if (!(sd >= 0)) throw new RangeError(`normal: expects std >= 0.0, but found std ${sd}`);
    const o = checkOptions(opts, 'normal', true);
    const dtype = o.dtype ?? 'float32';
    if (!isFloating(dtype)) throw new TypeError(`normal: expected a floating dtype, got ${dtype}`);
    const t = K.output(sizeArgs([size], 'normal'), dtype, 'normal', 'cpu');
    native.normal(t._ref(), mean as number, sd, o.rng);
    return finish(t, o, 'normal');
  }
  if (size !== undefined) throw new TypeError('normal: size is taken only with a number mean and std (the tensors give the shape)');
  if (opts !== undefined && opts !== null) checkKeys('normal', opts, ['generator']);
  const rng = generatorState(opts?.generator, 'normal');
  const m = mean as Tensor | number,
    s = std === undefined ? 1 : (std as Tensor | number);
  if (typeof s === 'number' && !(s >= 0)) throw new RangeError(`normal: expects std >= 0.0, but found std ${s}`);
  if (s instanceof Tensor) {
    const vals = s.toTypedArray() as Float64Array;
    for (let i = 0; i < vals.length; i++)
      if (!(vals[i] >= 0)) throw new RangeError(`normal: expects all elements of std >= 0.0, found ${vals[i]}`);
  }
  const ref = (m instanceof Tensor ? m : s) as Tensor;
  const other = (m instanceof Tensor ? s : m) as Tensor | number;
  const shape = other instanceof Tensor ? K.broadcastShapes(ref._shape, other._shape, 'normal') : ref.shape;
  const dtype = isFloating(ref.dtype) ? ref.dtype : 'float32';
  if (!isFloating(ref.dtype) || (other instanceof Tensor && !isFloating(other.dtype)))
    throw new TypeError(
      `normal: expected floating-point mean and std, got ${ref.dtype}${other instanceof Tensor ? ` and ${other.dtype}` : ''}`,
    );
  const eps = K.output(shape, dtype, 'normal', 'cpu');
  native.normal(eps._ref(), 0, 1, rng);
  const z = ref.device === 'cpu' ? eps : K.toDevice(eps, ref.device, 'normal');
  // mean + std * eps: the gradients are PyTorch's (1 for mean, eps for std).
  return (z.mul(s) as Tensor).add(m) as Tensor;
}

/** A tensor shaped like t: its dtype and device unless opts say otherwise. */
function likeOptions(t: unknown, opts: TensorOptions | undefined, op: string): [Tensor, Options, Device] {
  const o = checkOptions(opts, op);
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${K.fmtValue(t)}`);
  return [t, o, likeDevice(t, opts, o)];
}

/** Uninitialised in PyTorch; zeros here (a fresh tensor is zeroed): shaped like t, its dtype and device unless opts say otherwise. */
export function emptyLike(t: Tensor, opts?: TensorOptions): Tensor {
  const [x, o, dev] = likeOptions(t, opts, 'emptyLike');
  return finish(K.empty(x._shape, o.dtype ?? x.dtype, 'emptyLike', dev), o, 'emptyLike');
}

/** rand with t's shape, dtype (floating) and device unless opts say otherwise. */
export function randLike(t: Tensor, opts?: TensorOptions): Tensor {
  const [x, o, dev] = likeOptions(t, opts, 'randLike');
  const dtype = o.dtype ?? x.dtype;
  if (!isFloating(dtype)) throw new TypeError(`randLike: expected a floating dtype, got ${dtype}`);
  const r = K.output(x._shape, dtype, 'randLike', 'cpu');
  native.uniform(r._ref(), 0, 1);
  return finish(r, { ...o, dev }, 'randLike');
}

/** randn with t's shape, dtype (floating) and device unless opts say otherwise. */
export function randnLike(t: Tensor, opts?: TensorOptions): Tensor {
  const [x, o, dev] = likeOptions(t, opts, 'randnLike');
  const dtype = o.dtype ?? x.dtype;
  if (!isFloating(dtype)) throw new TypeError(`randnLike: expected a floating dtype, got ${dtype}`);
  const r = K.output(x._shape, dtype, 'randnLike', 'cpu');
  native.normal(r._ref(), 0, 1);
  return finish(r, { ...o, dev }, 'randnLike');
}

/** randintLike(t, high) or randintLike(t, low, high): integers in [low, high) with t's shape, dtype and device unless opts say otherwise. */
export function randintLike(t: Tensor, low: number, high?: number | TensorOptions, opts?: TensorOptions): Tensor {
  if (typeof high !== 'number') {
    if (high !== undefined && high !== null) {
      if (opts !== undefined) throw new TypeError(`randintLike: high must be an integer, got ${K.fmtValue(high)}`);
      opts = high;
    }
    high = low;
    low = 0;
  }
  const [x, o, dev] = likeOptions(t, opts, 'randintLike');
  if (!Number.isInteger(low) || !Number.isInteger(high))
    throw new TypeError(`randintLike: low and high must be integers, got low=${K.fmtValue(low)}, high=${K.fmtValue(high)}`);
  if (high <= low) throw new RangeError(`randintLike: expected low < high, got low=${low}, high=${high}`);
  const r = K.empty(x._shape, o.dtype ?? x.dtype, 'randintLike', 'cpu');
  native.randint(r._ref(), low, high);
  return finish(r, { ...o, dev }, 'randintLike');
}

/**
 * torch.arange: arange(end), arange(start, end) or arange(start, end, step), options last. The
 * dtype is int64 when every bound is an integer and float32 otherwise, unless { dtype }.
 */
export function arange(a: number, b?: number | TensorOptions, c?: number | TensorOptions, d?: TensorOptions): Tensor {
  // arange(end), arange(start, end) or arange(start, end, step), options
  // last; explicit trailing undefineds stand for omitted arguments.
  const args: unknown[] = [a, b, c, d];
  while (args.length && args[args.length - 1] === undefined) args.pop();
  let opts: TensorOptions | undefined;
  const last = args[args.length - 1];
  if (args.length > 1 && typeof last === 'object' && last !== null && !Array.isArray(last)) {
    opts = last as TensorOptions;
    args.pop();
    while (args.length && args[args.length - 1] === undefined) args.pop();
  }
  if (args.length === 0 || args.length > 3)
    throw new TypeError(`arange: expected 1 to 3 numbers (end, or start, end[, step]) and options, got ${args.length} arguments`);
  for (const v of args)
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new TypeError(`arange: start, end and step must be finite numbers, got ${K.fmtValue(v)}`);
  const nums = args as number[];
  const [start, end, step] = nums.length === 1 ? [0, nums[0], 1] : [nums[0], nums[1], nums[2] ?? 1];
  const o = checkOptions(opts, 'arange');
  const allInt = [start, end, step].every((v) => Number.isInteger(v));
  const dtype = o.dtype ?? (allInt && !o.requiresGrad ? 'int64' : 'float32');
  if (dtype === 'bool') throw new TypeError('arange: not implemented for bool');
  const integral = !isFloating(dtype);
  // Integral dtypes count in int64 from the truncated bounds and step,
  // wrapping into the dtype; int64 also takes its length from them, the
  // others from the exact bounds (PyTorch's arange kernel).
  if (integral) for (const v of [start, end, step]) K.checkScalarFits(v, 'int64', 'arange');
  const xs = integral ? Math.trunc(start) : start,
    xe = integral ? Math.trunc(end) : end,
    xst = integral ? Math.trunc(step) : step;
  if (xst === 0) throw new RangeError(`arange: step must be nonzero${step !== 0 ? ` (step ${step} truncates to 0 for ${dtype})` : ''}`);
  if (!((xst > 0 && xe >= xs) || (xst < 0 && xe <= xs)))
    throw new RangeError(`arange: upper bound and larger bound inconsistent with step sign (start ${start}, end ${end}, step ${step})`);
  const n = Math.max(0, dtype === 'int64' ? Math.ceil((xe - xs) / xst) : Math.ceil((end - start) / step));
  if (!integral) {
    const t = K.empty([n], hostDType(dtype), 'arange', 'cpu');
    const data = t._storage.data as Float64Array;
    for (let i = 0; i < n; i++) data[i] = start + i * step;
    return finishConstant(t, o, 'arange', dtype);
  }
  const istart = xs,
    istep = xst;
  if (Math.abs(istart) + n * Math.abs(istep) > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`arange: values past 2^53 cannot be computed exactly (start ${start}, step ${step}, ${n} values)`);
  }
  const t = K.empty([n], dtype, 'arange', 'cpu');
  if (dtype === 'int64') {
    const data = t._storage.data as BigInt64Array;
    for (let i = 0; i < n; i++) data[i] = BigInt(istart + i * istep);
  } else {
    const data = t._storage.data as Int32Array;
    for (let i = 0; i < n; i++) data[i] = K.toIntegral(istart + i * istep, dtype);
  }
  return finishConstant(t, o, 'arange');
}

/** torch.linspace: `steps` values evenly spaced from start to end inclusive (float32 unless { dtype }). */
export function linspace(start: number, end: number, steps: number, opts?: TensorOptions): Tensor {
  if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 0)
    throw new RangeError(`linspace: number of steps must be a non-negative integer, got ${K.fmtValue(steps)}`);
  for (const v of [start, end])
    if (typeof v !== 'number') throw new TypeError(`linspace: start and end must be numbers, got ${K.fmtValue(v)}`);
  const o = checkOptions(opts, 'linspace');
  const dtype = o.dtype ?? 'float32';
  if (dtype === 'bool') throw new TypeError('linspace: not implemented for bool');
  const t = K.empty([steps], hostDType(dtype), 'linspace', 'cpu');
  // Integral dtypes: the bounds are converted first, the steps computed in
  // double and truncated (PyTorch's linspace kernel).
  const integral = !isFloating(dtype);
  let s = start,
    e = end;
  if (integral) {
    K.checkScalarFits(start, dtype, 'linspace');
    K.checkScalarFits(end, dtype, 'linspace');
    s = K.toIntegral(start, dtype);
    e = K.toIntegral(end, dtype);
  }
  // float16 and bfloat16: PyTorch computes in the half type, rounding every
  // step (its scalar path; a long tensor takes a vectorised one, which may
  // differ in the last bit).
  const r = isHalf(dtype) ? (v: number) => roundToHalf(v, dtype === 'bfloat16') : (v: number) => v;
  s = r(s);
  e = r(e);
  const step = steps > 1 ? r(r(e - s) / r(steps - 1)) : 0;
  // Both halves count from their end, as PyTorch does, so the last value is exact.
  const half = Math.floor(steps / 2);
  const value = (i: number) => (i < half ? r(s + r(step * r(i))) : r(e - r(step * r(steps - 1 - i))));
  const data = t._storage.data as TypedArray;
  if (dtype === 'int64') for (let i = 0; i < steps; i++) (data as BigInt64Array)[i] = BigInt(Math.trunc(value(i)));
  else if (integral) for (let i = 0; i < steps; i++) (data as Int32Array)[i] = K.toIntegral(value(i), dtype);
  else for (let i = 0; i < steps; i++) (data as Float64Array)[i] = value(i);
  return finishConstant(t, o, 'linspace', dtype);
}

/** torch.eye: an n by m (default n) matrix with ones on the diagonal (float32 unless { dtype }). */
export function eye(n: number, m?: number | TensorOptions, opts?: TensorOptions): Tensor {
  if (typeof m !== 'number') {
    // eye(n, opts), or eye(n, undefined / null, opts) with the options in their own slot.
    if (m !== undefined && m !== null) {
      if (typeof m !== 'object' || Array.isArray(m) || opts !== undefined)
        throw new TypeError(`eye: m must be an integer, got ${K.fmtValue(m)}`);
      opts = m;
    }
    m = n;
  }
  const o = checkOptions(opts, 'eye');
  const dtype = o.dtype ?? 'float32';
  const t = K.empty(sizeArgs([n, m], 'eye'), hostDType(dtype), 'eye', 'cpu');
  for (let i = 0; i < Math.min(n, m); i++) {
    if (t.dtype === 'int64') (t._storage.data as BigInt64Array)[i * m + i] = 1n;
    else (t._storage.data as Float64Array)[i * m + i] = 1;
  }
  return finishConstant(t, o, 'eye', dtype);
}

/**
 * Wraps a typed array as a tensor of `shape` (default: 1-d), sharing its
 * memory where Kindling has its element type: Float32Array (float32),
 * Float64Array (float64), Int32Array (int32), BigInt64Array (int64),
 * Uint8Array (uint8) and Uint8ClampedArray (bool: Kindling's bool storage,
 * what `toTypedArray()` gives for a bool tensor; one holding values other
 * than 0 and 1, such as canvas pixels, is refused unless `{ dtype: 'uint8' }`
 * says to read it as bytes, still shared). Other arrays are copied into the
 * nearest dtype that holds all their values: Int8Array, Int16Array and
 * Uint16Array into int32, Uint32Array into int64, BigUint64Array into int64
 * (a value past 2^63 - 1 is a RangeError). A `dtype` option other than the
 * array's converts (a copy). Options may come in the shape's place.
 */
export function fromTypedArray(array: InputTypedArray, shape?: number[] | TensorOptions, opts?: TensorOptions): Tensor {
  if (!ArrayBuffer.isView(array) || array instanceof DataView)
    throw new TypeError(`fromTypedArray: expected a typed array, got ${K.fmtValue(array)}`);
  if (shape !== undefined && !Array.isArray(shape) && typeof shape === 'object' && shape !== null && opts === undefined) {
    opts = shape as TensorOptions;
    shape = undefined;
  }
  const { data, dtype } = storageOfArray(array, 'fromTypedArray', isOptions(opts) ? (opts as TensorOptions).dtype : undefined);
  const s = shape ?? [data.length];
  if (!Array.isArray(s) || !s.every((d) => Number.isInteger(d) && d >= 0))
    throw new TypeError(`fromTypedArray: shape must be an array of non-negative integers, got ${K.fmtValue(s)}`);
  if (K.numelOf(s) !== data.length) {
    throw new RangeError(`fromTypedArray: shape ${K.fmtShape(s)} needs ${K.numelOf(s)} elements but the array has ${data.length}`);
  }
  const o = checkOptions(opts, 'fromTypedArray');
  const t = new Tensor(new Storage(data), s.slice(), K.contiguousStrides(s), 0, dtype);
  return finishConstant(o.dtype && o.dtype !== dtype ? K.cast(t, o.dtype, 'fromTypedArray') : t, o, 'fromTypedArray');
}
