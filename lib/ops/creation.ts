// Tensor creation: torch.tensor, zeros, ones, full, arange, linspace, eye,
// random tensors, fromTypedArray.
import { Storage, Tensor, sizeArgs } from '../tensor.js';
import * as K from './kernels.js';
import { native } from '../backend/native.js';
import { checkOptions as checkKeys } from '../util/args.js';
import { dtypeOfArray, isDType, isFloating, type DType } from '../dtype.js';
import type { TypedArray } from '../backend/native.js';
import { device as checkedDevice, type Device } from '../backend/cuda.js';

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  device?: string;
}

type Nested = number | boolean | bigint | Nested[] | TypedArray;

/** Checked options; `dev` is the canonical device (Note [Device strings]). */
interface Options extends TensorOptions {
  dev: Device;
}

const NO_OPTIONS: Options = { dev: 'cpu' };
const TENSOR_OPTIONS = ['dtype', 'device', 'requiresGrad'];

function checkOptions(opts: TensorOptions | undefined, op: string): Options {
  if (opts === undefined || opts === null) return NO_OPTIONS;
  if (typeof opts !== 'object') throw new TypeError(`${op}: options must be an object like { dtype: 'float32' }`);
  checkKeys(op, opts, TENSOR_OPTIONS);
  if (opts.dtype !== undefined && !isDType(opts.dtype)) {
    throw new TypeError(`${op}: unknown dtype ${K.fmtValue(opts.dtype)} (expected one of float32, float64, int32, int64, uint8, bool)`);
  }
  const dev = opts.device === undefined || opts.device === 'cpu' ? 'cpu' : checkedDevice(opts.device, op);
  return { dtype: opts.dtype, requiresGrad: opts.requiresGrad, device: opts.device, dev };
}

/**
 * Moves a tensor built on the CPU to the requested device and sets
 * requiresGrad. Values computed in JS (tensor, arange, eye) and random
 * draws are made on the CPU and copied, so a seed gives the same numbers
 * on every device.
 */
function finish(t: Tensor, opts: Options, op: string): Tensor {
  if (t.device !== opts.dev) t = K.toDevice(t, opts.dev, op);
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** Splits trailing options off spread sizes: zeros(2, 3, { dtype }). */
function sizesAndOptions(args: unknown[], op: string): [number[], Options] {
  let opts: Options = NO_OPTIONS;
  // An explicit undefined options (zeros([2], undefined), as a wrapper
  // passing its own optional argument on writes it) means no options.
  while (args.length > 1 && args[args.length - 1] === undefined) args = args.slice(0, -1);
  const last = args[args.length - 1];
  if (args.length && typeof last === 'object' && last !== null && !Array.isArray(last)) {
    opts = checkOptions(last as TensorOptions, op);
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

export function tensor(data: Nested | Tensor, opts?: TensorOptions): Tensor {
  const o = checkOptions(opts, 'tensor');
  if (data instanceof Tensor) {
    // A copy, on the data's device unless another is asked for (PyTorch).
    const t = K.cast(K.toDevice(data, likeDevice(data, opts, o), 'tensor', true), o.dtype ?? data.dtype, 'tensor');
    if (o.requiresGrad) t.requiresGrad_(true);
    return t;
  }
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    const src = new Tensor(new Storage(arr), [arr.length], [1], 0, dtypeOfArray(arr));
    return finish(K.cast(K.clone(src, 'tensor'), o.dtype ?? src.dtype, 'tensor'), o, 'tensor');
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
  const t = K.empty(shape, dtype, 'tensor', 'cpu');
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
  return finish(t, o, 'tensor');
}

export function zeros(...args: unknown[]): Tensor {
  const [size, opts] = sizesAndOptions(args, 'zeros');
  return finish(K.empty(size, opts.dtype ?? 'float32', 'zeros', opts.dev), opts, 'zeros');
}

export function empty(...args: unknown[]): Tensor {
  return zeros(...args);
}

export function ones(...args: unknown[]): Tensor {
  const [size, opts] = sizesAndOptions(args, 'ones');
  const t = K.output(size, opts.dtype ?? 'float32', 'ones', opts.dev);
  native.fill(t._ref(), 1);
  return finish(t, opts, 'ones');
}

export function full(size: number[], value: number | boolean, opts?: TensorOptions): Tensor {
  const o = checkOptions(opts, 'full');
  if (typeof value !== 'number' && typeof value !== 'boolean') throw new TypeError('full: value must be a number or boolean');
  const dtype = o.dtype ?? (typeof value === 'boolean' ? 'bool' : Number.isInteger(value) ? 'int64' : 'float32');
  K.checkScalarFits(Number(value), dtype, 'full');
  const t = K.output(sizeArgs([size], 'full'), dtype, 'full', o.dev);
  native.fill(t._ref(), Number(value));
  return finish(t, o, 'full');
}

/** The *Like ops create on the model tensor's device unless told otherwise (PyTorch). */
function likeDevice(t: Tensor, opts: TensorOptions | undefined, o: Options): Device {
  return opts && opts.device !== undefined ? o.dev : t.device;
}

export function zerosLike(t: Tensor, opts?: TensorOptions): Tensor {
  const o = checkOptions(opts, 'zerosLike');
  if (!(t instanceof Tensor)) throw new TypeError(`zerosLike: expected a Tensor, got ${K.fmtValue(t)}`);
  return finish(K.empty(t._shape, o.dtype ?? t.dtype, 'zerosLike', likeDevice(t, opts, o)), o, 'zerosLike');
}

export function onesLike(t: Tensor, opts?: TensorOptions): Tensor {
  const o = checkOptions(opts, 'onesLike');
  if (!(t instanceof Tensor)) throw new TypeError(`onesLike: expected a Tensor, got ${K.fmtValue(t)}`);
  const r = K.output(t._shape, o.dtype ?? t.dtype, 'onesLike', likeDevice(t, opts, o));
  native.fill(r._ref(), 1);
  return finish(r, o, 'onesLike');
}

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

export function randn(...args: unknown[]): Tensor {
  const [size, opts] = sizesAndOptions(args, 'randn');
  const dtype = opts.dtype ?? 'float32';
  if (!isFloating(dtype)) throw new TypeError(`randn: expected a floating dtype, got ${dtype}`);
  const t = K.output(size, dtype, 'randn', 'cpu');
  native.normal(t._ref(), 0, 1);
  return finish(t, opts, 'randn');
}

export function rand(...args: unknown[]): Tensor {
  const [size, opts] = sizesAndOptions(args, 'rand');
  const dtype = opts.dtype ?? 'float32';
  if (!isFloating(dtype)) throw new TypeError(`rand: expected a floating dtype, got ${dtype}`);
  const t = K.output(size, dtype, 'rand', 'cpu');
  native.uniform(t._ref(), 0, 1);
  return finish(t, opts, 'rand');
}

export function randint(low: number, high?: number | number[], size?: number[] | TensorOptions, opts?: TensorOptions): Tensor {
  // randint(high, size) or randint(low, high, size)
  if (Array.isArray(high)) {
    opts = size as TensorOptions | undefined;
    size = high;
    high = low;
    low = 0;
  }
  if (!Number.isInteger(low) || !Number.isInteger(high)) throw new TypeError('randint: low and high must be integers');
  if ((high as number) <= low) throw new RangeError(`randint: expected low < high, got low=${low}, high=${high}`);
  if (!Array.isArray(size)) throw new TypeError('randint: size must be an array of integers');
  const o = checkOptions(opts, 'randint');
  const t = K.empty(sizeArgs([size], 'randint'), o.dtype ?? 'int64', 'randint', 'cpu');
  native.randint(t._ref(), low, high as number);
  return finish(t, o, 'randint');
}

export function randperm(n: number, opts?: TensorOptions): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`randperm: n must be a non-negative integer, got ${K.fmtValue(n)}`);
  const o = checkOptions(opts, 'randperm');
  const t = K.empty([n], 'int64', 'randperm', 'cpu');
  native.randperm(t._ref());
  return finish(K.cast(t, o.dtype ?? 'int64', 'randperm'), o, 'randperm');
}

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
    const t = K.empty([n], dtype, 'arange', 'cpu');
    const data = t._storage.data as Float64Array;
    for (let i = 0; i < n; i++) data[i] = start + i * step;
    return finish(t, o, 'arange');
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
  return finish(t, o, 'arange');
}

export function linspace(start: number, end: number, steps: number, opts?: TensorOptions): Tensor {
  if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 0)
    throw new RangeError(`linspace: number of steps must be a non-negative integer, got ${K.fmtValue(steps)}`);
  for (const v of [start, end])
    if (typeof v !== 'number') throw new TypeError(`linspace: start and end must be numbers, got ${K.fmtValue(v)}`);
  const o = checkOptions(opts, 'linspace');
  const dtype = o.dtype ?? 'float32';
  if (dtype === 'bool') throw new TypeError('linspace: not implemented for bool');
  const t = K.empty([steps], dtype, 'linspace', 'cpu');
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
  const step = steps > 1 ? (e - s) / (steps - 1) : 0;
  // Both halves count from their end, as PyTorch does, so the last value is exact.
  const half = Math.floor(steps / 2);
  const value = (i: number) => (i < half ? s + step * i : e - step * (steps - 1 - i));
  const data = t._storage.data as TypedArray;
  if (dtype === 'int64') for (let i = 0; i < steps; i++) (data as BigInt64Array)[i] = BigInt(Math.trunc(value(i)));
  else if (integral) for (let i = 0; i < steps; i++) (data as Int32Array)[i] = K.toIntegral(value(i), dtype);
  else for (let i = 0; i < steps; i++) (data as Float64Array)[i] = value(i);
  return finish(t, o, 'linspace');
}

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
  const t = K.empty(sizeArgs([n, m], 'eye'), o.dtype ?? 'float32', 'eye', 'cpu');
  for (let i = 0; i < Math.min(n, m); i++) {
    if (t.dtype === 'int64') (t._storage.data as BigInt64Array)[i * m + i] = 1n;
    else (t._storage.data as Float64Array)[i * m + i] = 1;
  }
  return finish(t, o, 'eye');
}

/** Wraps a typed array without copying (its memory is shared). */
export function fromTypedArray(array: TypedArray, shape?: number[], opts?: TensorOptions): Tensor {
  if (!ArrayBuffer.isView(array) || array instanceof DataView) throw new TypeError('fromTypedArray: expected a typed array');
  const dtype = dtypeOfArray(array);
  const s = shape ?? [array.length];
  if (K.numelOf(s) !== array.length) {
    throw new RangeError(`fromTypedArray: shape ${K.fmtShape(s)} needs ${K.numelOf(s)} elements but the array has ${array.length}`);
  }
  const o = checkOptions(opts, 'fromTypedArray');
  const t = new Tensor(new Storage(array), s.slice(), K.contiguousStrides(s), 0, dtype);
  return finish(o.dtype && o.dtype !== dtype ? K.cast(t, o.dtype, 'fromTypedArray') : t, o, 'fromTypedArray');
}
