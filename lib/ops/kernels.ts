// Tensor-level wrappers of the native kernels, below autograd: they
// allocate outputs, broadcast, promote dtypes and call one native function.
// The op table (elementwise.ts, reduce.ts, ...) builds on these.
import { makeRef, native, type Ref } from '../backend/native.js';
import type { BinaryOp, ReduceOp, UnaryOp } from '../backend/kernel_names.js';
import { allocCuda, type Device } from '../backend/cuda.js';
import { currentAllocOwner, releasedError, Storage, Tensor } from '../tensor.js';
import { allocStorage, isFloating, resultType, scalarDType, type DType, type PromotionOperand } from '../dtype.js';
import { fmtShape, fmtValue } from '../util/args.js';
import { contiguousStrides, numelOf } from '../util/shape.js';
import { roundToHalf } from '../util/half.js';

export { contiguousStrides, numelOf, fmtShape, fmtValue };

export const U = native.unaryOps;
export const B = native.binaryOps;
export const R = native.reduceOps;

// An op's name in messages ('Add' -> 'add'), made once rather than per call.
const lowerNames = new Map<string, string>();
function lower(op: string): string {
  let n = lowerNames.get(op);
  if (n === undefined) lowerNames.set(op, (n = op.toLowerCase()));
  return n;
}

// Above this, an allocation is refused with a RangeError rather than
// letting V8 abort the process.
const MAX_ELEMENTS = 2 ** 32;

/**
 * Throws the RangeError an allocation of `shape` would, before work whose
 * cost scales with it: a stride-0 view can describe 1e12 elements over 8
 * bytes, and an op that reads every one of them (an index bounds check)
 * should refuse at once rather than after the loop. `what` names the
 * tensor in the message ('the result', 'the index').
 */
export function checkAllocSize(shape: readonly number[], op: string, what = 'a tensor'): void {
  const n = numelOf(shape);
  if (!(n <= MAX_ELEMENTS)) {
    throw new RangeError(
      `${op}: cannot allocate ${what} of shape ${fmtShape(shape)} (${n} elements; at most 2^32 = ${MAX_ELEMENTS} are supported)`,
    );
  }
}

/**
 * Why t cannot be read, or null when it can: not a real Tensor (no
 * storage), memory gone (its ArrayBuffer was transferred or detached), or
 * a view reaching outside its storage. For code that must check a tensor
 * before acting (loadStateDict validates every entry before writing any);
 * a few property reads plus a loop over the dims.
 */
export function storageProblem(t: Tensor): string | null {
  const st = (t as { _storage?: unknown })._storage;
  if (!(st instanceof Storage) || !Array.isArray(t._shape) || !Array.isArray(t._strides) || t._shape.length !== t._strides.length) {
    return 'is not a valid Tensor (it has no storage; was it made with Object.create?)';
  }
  const data = st.data as { length: number; byteLength?: number; buffer?: ArrayBuffer & { detached?: boolean } };
  if (st.device !== 'cpu') return null; // the addon checks device memory itself
  if (st._released) return 'was disposed (its memory was released by dispose() or at the end of a memory.scope)';
  let lo = t._offset,
    hi = t._offset;
  for (let d = 0; d < t._shape.length; d++) {
    if (t._shape[d] === 0) return null; // addresses nothing
    const span = (t._shape[d] - 1) * t._strides[d];
    if (span > 0) hi += span;
    else lo += span;
  }
  if (lo >= 0 && hi < data.length) return null;
  const buf = data.buffer;
  if (buf && (buf.detached ?? buf.byteLength === 0)) return 'has lost its memory (its ArrayBuffer was transferred or detached)';
  return `is a view out of bounds of its storage (elements ${lo} to ${hi} of ${data.length})`;
}

/**
 * A zeroed tensor (the name follows the kernels' use: an output to fill).
 * `op` is the caller's op, named when the allocation is refused; `device`
 * is canonical (Note [Device strings]): an op allocates where its inputs
 * live, so callers pass an input's `.device`.
 */
export function empty(shape: readonly number[], dtype: DType, op: string, device: Device): Tensor {
  return alloc(shape, dtype, false, op, device);
}

/** An output every element of which the next kernel writes: not zeroed. */
export function output(shape: readonly number[], dtype: DType, op: string, device: Device): Tensor {
  return alloc(shape, dtype, true, op, device);
}

function alloc(shape: readonly number[], dtype: DType, uninitialized: boolean, op: string, device: Device): Tensor {
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new RangeError(`${op}: invalid size ${fmtValue(s)} in shape ${fmtShape(shape)}`);
  }
  const n = numelOf(shape);
  if (device !== 'cpu') return allocDevice(shape, dtype, uninitialized, op, device, n);
  if (!(n <= MAX_ELEMENTS)) throw new RangeError(`${op}: cannot allocate a tensor of shape ${fmtShape(shape)} (${n} elements)`);
  let data;
  try {
    data = allocStorage(dtype, n, uninitialized);
  } catch (e) {
    throw new RangeError(`${op}: cannot allocate ${n} elements of ${dtype}: ${(e as Error).message}`);
  }
  const st = new Storage(data);
  st._fromAlloc = true;
  // Stamped for the backward run or memory.scope allocating now, which may
  // give the memory back early (Note [Warm block cache]).
  const owner = currentAllocOwner();
  if (owner !== null) {
    st._owner = owner;
    owner.storages?.push(st);
  }
  return new Tensor(st, shape.slice(), contiguousStrides(shape), 0, dtype);
}

// CUDA memory comes from the caching allocator unzeroed; zeros are a fill
// kernel on the device. The 2^32 cap is V8's, not the GPU's: the binding
// bounds device requests itself.
function allocDevice(shape: readonly number[], dtype: DType, uninitialized: boolean, op: string, device: Device, n: number): Tensor {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${op}: cannot allocate a tensor of shape ${fmtShape(shape)} (${n} elements)`);
  const t = new Tensor(new Storage(allocCuda(dtype, n, device, op), device), shape.slice(), contiguousStrides(shape), 0, dtype);
  if (!uninitialized && n > 0) native.fill(t._ref(), 0);
  return t;
}

/**
 * x's values on `device` (no autograd): x itself when already there,
 * unless `copy` asks for a fresh contiguous tensor regardless.
 * native.copy moves between host and device, any strides.
 */
export function toDevice(x: Tensor, device: Device, op: string, copy = false): Tensor {
  if (!copy && x._storage.device === device) return x;
  const out = output(x._shape, x.dtype, op, device);
  native.copy(x._ref(), out._ref());
  return out;
}

/** The error for two tensors of one op on different devices (the binding's wording). */
export function deviceMismatch(op: string, a: Device, b: Device): Error {
  return new Error(`${op}: expected all tensors on the same device, got ${a} and ${b}`);
}

/**
 * Throws deviceMismatch unless the given tensors (nulls skipped) share a's
 * device. For ops that do JS work (shape checks, reshapes) before their
 * kernel, so the error names the op rather than the kernel export. Fixed
 * arguments, not a rest array: it runs on every training step.
 */
export function sameDevice(
  op: string,
  a: Tensor,
  b: Tensor | null | undefined,
  c?: Tensor | null,
  d?: Tensor | null,
  e?: Tensor | null,
): void {
  const dev = a._storage.device;
  if (b && b._storage.device !== dev) throw deviceMismatch(op, dev, b._storage.device);
  if (c && c._storage.device !== dev) throw deviceMismatch(op, dev, c._storage.device);
  if (d && d._storage.device !== dev) throw deviceMismatch(op, dev, d._storage.device);
  if (e && e._storage.device !== dev) throw deviceMismatch(op, dev, e._storage.device);
}

/** sameDevice over a list (cat, stack). */
export function sameDeviceAll(op: string, ts: readonly Tensor[]): void {
  for (let i = 1; i < ts.length; i++) sameDevice(op, ts[0], ts[i]);
}

const INT_LIMITS: Partial<Record<DType, [number, number]>> = {
  uint8: [0, 255],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  // 2^63 - 1 is not a double: the largest below 2^63 is the real limit.
  int64: [-(2 ** 63), 2 ** 63 - 1024],
};

/**
 * Throws where PyTorch refuses to convert a scalar to dtype ("value cannot
 * be converted to type ... without overflow"): NaN, infinities and values
 * past the integer type's range. Integral values may wrap into uint8 from
 * as far as -255, as C++'s unsigned conversion of a Python int does.
 */
export function checkScalarFits(v: number, dtype: DType, op: string): void {
  // The half dtypes as PyTorch's overflows<Half>(): infinities and NaN
  // pass, a finite value past the largest finite one is refused (even one
  // that would round down to it).
  const halfMax = dtype === 'float16' ? 65504 : dtype === 'bfloat16' ? 3.3895313892515355e38 : 0;
  if (halfMax !== 0) {
    if (Number.isFinite(v) && Math.abs(v) > halfMax)
      throw new RangeError(`${op}: value ${v} cannot be converted to type ${dtype} without overflow`);
    return;
  }
  const lim = INT_LIMITS[dtype];
  if (!lim) return;
  const lo = dtype === 'uint8' && Number.isInteger(v) ? -255 : lim[0];
  if (!(v >= lo && v <= lim[1])) throw new RangeError(`${op}: value ${v} cannot be converted to type ${dtype} without overflow`);
}

/** v converted to an integer dtype as a C++ cast does (in range: truncation; uint8 wraps). */
export function toIntegral(v: number, dtype: DType): number {
  const t = Math.trunc(v);
  if (dtype === 'uint8') return ((t % 256) + 256) % 256;
  if (dtype === 'int32') return t | 0;
  return t;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function broadcastShapes(a: readonly number[], b: readonly number[], op: string): number[] {
  if (sameShape(a, b)) return a as number[];
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together (dim ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** A ref of t seen with `shape` (stride 0 where broadcast). No copy. */
export function broadcastRef(t: Tensor, shape: readonly number[]): Ref {
  const n = shape.length,
    k = t._shape.length;
  if (n === k) {
    let same = true;
    for (let i = 0; i < n; i++) if (t._shape[i] !== shape[i]) same = false;
    if (same) return t._ref();
  }
  const strides = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const j = i - (n - k);
    strides[i] = j < 0 || t._shape[j] === 1 ? 0 : t._strides[j];
  }
  if (t._storage._released) throw releasedError();
  return makeRef(t._storage.data, t._offset, shape, strides);
}

export function cast(x: Tensor, dtype: DType, op = 'to'): Tensor {
  if (x.dtype === dtype) return x;
  const out = output(x._shape, dtype, op, x._storage.device);
  native.copy(x._ref(), out._ref());
  return out;
}

export function contiguous(x: Tensor, op = 'contiguous'): Tensor {
  if (x.isContiguous()) return x;
  const out = output(x._shape, x.dtype, op, x._storage.device);
  native.copy(x._ref(), out._ref());
  return out;
}

export function clone(x: Tensor, op = 'clone'): Tensor {
  const out = output(x._shape, x.dtype, op, x._storage.device);
  native.copy(x._ref(), out._ref());
  return out;
}

/** Float-only ops on integer inputs compute in the default float dtype. */
export function floatDType(d: DType): DType {
  return isFloating(d) ? d : 'float32';
}

export function unary(op: UnaryOp, x: Tensor, computeDType: DType = x.dtype): Tensor {
  const name = lower(op);
  const xin = cast(x, computeDType, name);
  const boolOut = op === 'IsNan' || op === 'LogicalNot';
  const out = output(x._shape, boolOut ? 'bool' : computeDType, name, x._storage.device);
  native.unary(U[op], xin._ref(), out._ref());
  return out;
}

const COMPARISON = new Set<BinaryOp>(['Eq', 'Ne', 'Gt', 'Ge', 'Lt', 'Le', 'LogicalAnd', 'LogicalOr', 'LogicalXor']);

function operand(x: Tensor | number | boolean): PromotionOperand {
  if (x instanceof Tensor) return { dtype: x.dtype, kind: x._shape.length === 0 ? 'zerodim' : 'dim' };
  return { dtype: scalarDType(x), kind: 'scalar' };
}

/** The dtype a binary op computes in (PyTorch's result_type). */
export function binaryDType(a: Tensor | number | boolean, b: Tensor | number | boolean): DType {
  // The common cases first, without building operand records: two tensors
  // of one dtype, or a float tensor and a number.
  if (a instanceof Tensor) {
    if (b instanceof Tensor ? b.dtype === a.dtype : typeof b === 'number' && isFloating(a.dtype)) return a.dtype;
  } else if (b instanceof Tensor && typeof a === 'number' && isFloating(b.dtype)) {
    return b.dtype;
  }
  return resultType([operand(a), operand(b)]);
}

// A number operand in a half op is first cast to the half dtype, as
// PyTorch casts a wrapped number to the op's dtype (a + 0.1 adds
// half(0.1)); the kernel then computes in float32 (Note [Half kernels]).
function scalarIn(v: number, dt: DType): number {
  return dt === 'float16' || dt === 'bfloat16' ? roundToHalf(v, dt === 'bfloat16') : v;
}

/**
 * out = op(a, b) with broadcasting and type promotion. `computeDType`
 * overrides the promoted dtype (true division of ints computes in float).
 */
export function binary(op: BinaryOp, a: Tensor | number | boolean, b: Tensor | number | boolean, computeDType?: DType): Tensor {
  const name = lower(op);
  const dt = computeDType ?? binaryDType(a, b);
  const outDType = COMPARISON.has(op) ? 'bool' : dt;
  if (!(a instanceof Tensor)) {
    const bt = cast(b as Tensor, dt, name);
    const out = output(bt._shape, outDType, name, bt._storage.device);
    native.binaryScalar(B[op], bt._ref(), scalarIn(Number(a), dt), true, out._ref());
    return out;
  }
  if (!(b instanceof Tensor)) {
    const at = cast(a, dt, name);
    const out = output(at._shape, outDType, name, at._storage.device);
    native.binaryScalar(B[op], at._ref(), scalarIn(Number(b), dt), false, out._ref());
    return out;
  }
  if (a._storage.device !== b._storage.device) [a, b] = onOneDevice(a, b, name);
  const shape = broadcastShapes(a._shape, b._shape, name);
  const at = cast(a, dt, name),
    bt = cast(b, dt, name);
  const out = output(shape, outDType, name, at._storage.device);
  native.binary(B[op], broadcastRef(at, shape), broadcastRef(bt, shape), out._ref());
  return out;
}

/**
 * Two operands on different devices: a 0-d CPU tensor joins the other's
 * device, as PyTorch treats CPU scalars (a CUDA tensor times
 * torch.tensor(2) works); anything else is an error naming the op.
 */
export function onOneDevice(a: Tensor, b: Tensor, op: string): [Tensor, Tensor] {
  const da = a._storage.device,
    db = b._storage.device;
  if (da === 'cpu' && a._shape.length === 0) return [toDevice(a, db, op), b];
  if (db === 'cpu' && b._shape.length === 0) return [a, toDevice(b, da, op)];
  throw deviceMismatch(op, da, db);
}

/** Sums g over broadcast dims so it has `shape` (the reverse of expand). */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  const lead = g._shape.length - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g._shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && g._shape[i] !== 1)) dims.push(i);
  }
  if (dims.length === 0) return g._shape.length === shape.length ? g : g.reshape(shape.slice());
  return g.sum(dims, { keepdim: true }).reshape(shape.slice());
}

export function reduce(op: ReduceOp, x: Tensor, dims: number[], keepdim: boolean, outDType: DType, correction = 1): Tensor {
  const kshape = x._shape.map((s, i) => (dims.includes(i) ? 1 : s));
  const out = empty(kshape, outDType, lower(op), x._storage.device);
  native.reduce(R[op], x._ref(), dims, correction, out._ref());
  if (keepdim) return out;
  return out._view(x._shape.filter((_, i) => !dims.includes(i)));
}
