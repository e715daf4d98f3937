// Tensor creation: torch.tensor, zeros, ones, full, arange, linspace, eye,
// random tensors, fromTypedArray.
import { Storage, Tensor, sizeArgs } from '../tensor.js';
import * as K from './kernels.js';
import { dtypeOfArray, isDType, isFloating, type DType } from '../dtype.js';
import type { TypedArray } from '../backend/native.js';

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  device?: string;
}

type Nested = number | boolean | bigint | Nested[] | TypedArray;

function checkOptions(opts: TensorOptions | undefined, op: string): TensorOptions {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object') throw new TypeError(`${op}: options must be an object like { dtype: 'float32' }`);
  if (opts.dtype !== undefined && !isDType(opts.dtype)) {
    throw new TypeError(`${op}: unknown dtype ${String(opts.dtype)} (expected one of float32, float64, int32, int64, uint8, bool)`);
  }
  if (opts.device !== undefined && opts.device !== 'cpu') {
    if (typeof opts.device === 'string' && /^cuda(:\d+)?$/.test(opts.device)) {
      throw new Error(`${op}: device '${opts.device}' is not available: this build of kindling has no CUDA support`);
    }
    throw new TypeError(`${op}: unknown device ${String(opts.device)}`);
  }
  return opts;
}

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** Splits trailing options off spread sizes: zeros(2, 3, { dtype }). */
function sizesAndOptions(args: unknown[], op: string): [number[], TensorOptions] {
  let opts: TensorOptions = {};
  const last = args[args.length - 1];
  if (args.length && typeof last === 'object' && last !== null && !Array.isArray(last)) {
    opts = checkOptions(last as TensorOptions, op);
    args = args.slice(0, -1);
  }
  const size = sizeArgs(args, op);
  for (const s of size) if (s < 0) throw new RangeError(`${op}: negative dimension ${s}`);
  return [size, opts];
}

export function tensor(data: Nested | Tensor, opts?: TensorOptions): Tensor {
  const o = checkOptions(opts, 'tensor');
  if (data instanceof Tensor) {
    const t = K.cast(K.clone(data), o.dtype ?? data.dtype);
    return finish(t, o);
  }
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    const src = new Tensor(new Storage(arr), [arr.length], [1], 0, dtypeOfArray(arr));
    return finish(K.cast(K.clone(src), o.dtype ?? src.dtype), o);
  }
  // Walk the nesting to find the shape and check it is not ragged.
  const shape: number[] = [];
  let probe: unknown = data;
  while (Array.isArray(probe) || ArrayBuffer.isView(probe)) {
    const a = probe as ArrayLike<unknown>;
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
    if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw new RangeError(`tensor: expected a sequence of length ${shape[d]} at dim ${d}, got a scalar`);
    const a = v as ArrayLike<unknown>;
    if (a.length !== shape[d]) throw new RangeError(`tensor: expected sequence of length ${shape[d]} at dim ${d} (got ${a.length})`);
    for (let i = 0; i < a.length; i++) walk(a[i], d + 1);
  };
  walk(data, 0);
  let dtype = o.dtype;
  if (!dtype) {
    if (flat.length && flat.every((v) => typeof v === 'boolean')) dtype = 'bool';
    else if (flat.some((v) => typeof v === 'bigint')) dtype = 'int64';
    else if (flat.every((v) => typeof v !== 'number' || Number.isInteger(v)) && flat.length > 0) {
      // JS has one number type, so integers stand for PyTorch's ints, except
      // where gradients are asked for (only floats can require grad).
      dtype = o.requiresGrad ? 'float32' : 'int64';
    } else dtype = 'float32';
  }
  const t = K.empty(shape, dtype);
  const out = t._storage.data;
  if (dtype === 'int64') {
    const d = out as BigInt64Array;
    flat.forEach((v, i) => (d[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)))));
  } else {
    flat.forEach((v, i) => ((out as Float64Array)[i] = Number(v)));
  }
  return finish(t, o);
}

export function zeros(...args: unknown[]): Tensor {
  const [size, opts] = sizesAndOptions(args, 'zeros');
  return finish(K.empty(size, opts.dtype ?? 'float32'), opts);
}

export function empty(...args: unknown[]): Tensor {
  return zeros(...args);
}

export function ones(...args: unknown[]): Tensor {
  const [size, opts] = sizesAndOptions(args, 'ones');
  const t = K.empty(size, opts.dtype ?? 'float32');
  K.native.fill(t._ref(), 1);
  return finish(t, opts);
}

export function full(size: number[], value: number | boolean, opts?: TensorOptions): Tensor {
  const o = checkOptions(opts, 'full');
  if (typeof value !== 'number' && typeof value !== 'boolean') throw new TypeError('full: value must be a number or boolean');
  const dtype = o.dtype ?? (typeof value === 'boolean' ? 'bool' : Number.isInteger(value) ? 'int64' : 'float32');
  const t = K.empty(sizeArgs([size], 'full'), dtype);
  K.native.fill(t._ref(), Number(value));
  return finish(t, o);
}

export function zerosLike(t: Tensor, opts?: TensorOptions): Tensor {
  const o = checkOptions(opts, 'zerosLike');
  return finish(K.empty(t._shape, o.dtype ?? t.dtype), o);
}

export function onesLike(t: Tensor, opts?: TensorOptions): Tensor {
  const o = checkOptions(opts, 'onesLike');
  const r = K.empty(t._shape, o.dtype ?? t.dtype);
  K.native.fill(r._ref(), 1);
  return finish(r, o);
}

export function fullLike(t: Tensor, value: number, opts?: TensorOptions): Tensor {
  const o = checkOptions(opts, 'fullLike');
  const r = K.empty(t._shape, o.dtype ?? t.dtype);
  K.native.fill(r._ref(), value);
  return finish(r, o);
}

export function randn(...args: unknown[]): Tensor {
  const [size, opts] = sizesAndOptions(args, 'randn');
  const dtype = opts.dtype ?? 'float32';
  if (!isFloating(dtype)) throw new TypeError(`randn: expected a floating dtype, got ${dtype}`);
  const t = K.empty(size, dtype);
  K.native.normal(t._ref(), 0, 1);
  return finish(t, opts);
}

export function rand(...args: unknown[]): Tensor {
  const [size, opts] = sizesAndOptions(args, 'rand');
  const dtype = opts.dtype ?? 'float32';
  if (!isFloating(dtype)) throw new TypeError(`rand: expected a floating dtype, got ${dtype}`);
  const t = K.empty(size, dtype);
  K.native.uniform(t._ref(), 0, 1);
  return finish(t, opts);
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
  const t = K.empty(sizeArgs([size], 'randint'), o.dtype ?? 'int64');
  K.native.randint(t._ref(), low, high as number);
  return finish(t, o);
}

export function randperm(n: number, opts?: TensorOptions): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`randperm: n must be a non-negative integer, got ${n}`);
  const o = checkOptions(opts, 'randperm');
  const t = K.empty([n], 'int64');
  K.native.randperm(t._ref());
  return finish(K.cast(t, o.dtype ?? 'int64'), o);
}

export function arange(a: number, b?: number | TensorOptions, c?: number | TensorOptions, d?: TensorOptions): Tensor {
  let start = 0, end: number, step = 1, opts: TensorOptions | undefined;
  if (typeof b !== 'number') {
    end = a;
    opts = b;
  } else if (typeof c !== 'number') {
    start = a;
    end = b;
    opts = c;
  } else {
    start = a;
    end = b;
    step = c;
    opts = d;
  }
  const o = checkOptions(opts, 'arange');
  for (const v of [start, end, step]) if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError('arange: start, end and step must be finite numbers');
  if (step === 0) throw new RangeError('arange: step must be nonzero');
  if ((end - start) / step < 0) throw new RangeError(`arange: upper bound and larger bound inconsistent with step sign`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const allInt = [start, end, step].every((v) => Number.isInteger(v));
  const dtype = o.dtype ?? (allInt && !o.requiresGrad ? 'int64' : 'float32');
  const t = K.empty([n], dtype);
  const data = t._storage.data;
  if (dtype === 'int64') for (let i = 0; i < n; i++) (data as BigInt64Array)[i] = BigInt(start + i * step);
  else for (let i = 0; i < n; i++) (data as Float64Array)[i] = start + i * step;
  return finish(t, o);
}

export function linspace(start: number, end: number, steps: number, opts?: TensorOptions): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`linspace: number of steps must be non-negative, got ${steps}`);
  const o = checkOptions(opts, 'linspace');
  const t = K.empty([steps], o.dtype ?? 'float32');
  const data = t._storage.data as Float64Array;
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Both halves count from their end, as PyTorch does, so the last value is exact.
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) data[i] = i < half ? start + step * i : end - step * (steps - 1 - i);
  return finish(t, o);
}

export function eye(n: number, m?: number | TensorOptions, opts?: TensorOptions): Tensor {
  if (typeof m !== 'number') {
    opts = m;
    m = n;
  }
  const o = checkOptions(opts, 'eye');
  const t = K.empty(sizeArgs([n, m], 'eye'), o.dtype ?? 'float32');
  for (let i = 0; i < Math.min(n, m); i++) {
    if (t.dtype === 'int64') (t._storage.data as BigInt64Array)[i * m + i] = 1n;
    else (t._storage.data as Float64Array)[i * m + i] = 1;
  }
  return finish(t, o);
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
  return finish(o.dtype && o.dtype !== dtype ? K.cast(t, o.dtype) : t, o);
}
