// Tensor-level wrappers of the native kernels, below autograd: they
// allocate outputs, broadcast, promote dtypes and call one native function.
// The op table (elementwise.ts, reduce.ts, ...) builds on these.
import { makeRef, native, type Ref } from '../backend/native.js';
import { Storage, Tensor } from '../tensor.js';
import { allocStorage, isFloating, resultType, scalarDType, type DType, type PromotionOperand } from '../dtype.js';

export const U = native.unaryOps;
export const B = native.binaryOps;
export const R = native.reduceOps;

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

// Above this, an allocation is refused with a RangeError rather than
// letting V8 abort the process.
const MAX_ELEMENTS = 2 ** 32;

/** A zeroed tensor (the name follows the kernels' use: an output to fill). */
export function empty(shape: readonly number[], dtype: DType): Tensor {
  return alloc(shape, dtype, false);
}

/** An output every element of which the next kernel writes: not zeroed. */
export function output(shape: readonly number[], dtype: DType): Tensor {
  return alloc(shape, dtype, true);
}

function alloc(shape: readonly number[], dtype: DType, uninitialized: boolean): Tensor {
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new RangeError(`empty: invalid size ${s} in shape [${shape.join(', ')}]`);
  }
  const n = numelOf(shape);
  if (!(n <= MAX_ELEMENTS)) throw new RangeError(`empty: cannot allocate a tensor of shape [${shape.join(', ')}] (${n} elements)`);
  let data;
  try {
    data = allocStorage(dtype, n, uninitialized);
  } catch (e) {
    throw new RangeError(`empty: cannot allocate ${n} elements of ${dtype}: ${(e as Error).message}`);
  }
  return new Tensor(new Storage(data), shape.slice(), contiguousStrides(shape), 0, dtype);
}

export function fmtShape(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
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
      throw new RangeError(
        `${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together (dim ${i}: ${da} vs ${db})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** A ref of t seen with `shape` (stride 0 where broadcast). No copy. */
export function broadcastRef(t: Tensor, shape: readonly number[]): Ref {
  const n = shape.length, k = t._shape.length;
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
  return makeRef(t._storage.data, t._offset, shape, strides);
}

export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const out = output(x._shape, dtype);
  native.copy(x._ref(), out._ref());
  return out;
}

export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  const out = output(x._shape, x.dtype);
  native.copy(x._ref(), out._ref());
  return out;
}

export function clone(x: Tensor): Tensor {
  const out = output(x._shape, x.dtype);
  native.copy(x._ref(), out._ref());
  return out;
}

/** Float-only ops on integer inputs compute in the default float dtype. */
export function floatDType(d: DType): DType {
  return isFloating(d) ? d : 'float32';
}

export function unary(op: keyof typeof U | string, x: Tensor, computeDType: DType = x.dtype): Tensor {
  const xin = cast(x, computeDType);
  const boolOut = op === 'IsNan' || op === 'LogicalNot';
  const out = output(x._shape, boolOut ? 'bool' : computeDType);
  native.unary(U[op], xin._ref(), out._ref());
  return out;
}

const COMPARISON = new Set(['Eq', 'Ne', 'Gt', 'Ge', 'Lt', 'Le', 'LogicalAnd', 'LogicalOr', 'LogicalXor']);

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

/**
 * out = op(a, b) with broadcasting and type promotion. `computeDType`
 * overrides the promoted dtype (true division of ints computes in float).
 */
export function binary(op: string, a: Tensor | number, b: Tensor | number, computeDType?: DType): Tensor {
  const name = op.toLowerCase();
  const dt = computeDType ?? binaryDType(a, b);
  const outDType = COMPARISON.has(op) ? 'bool' : dt;
  if (!(a instanceof Tensor)) {
    const bt = cast(b as Tensor, dt);
    const out = output(bt._shape, outDType);
    native.binaryScalar(B[op], bt._ref(), Number(a), true, out._ref());
    return out;
  }
  if (!(b instanceof Tensor)) {
    const at = cast(a, dt);
    const out = output(at._shape, outDType);
    native.binaryScalar(B[op], at._ref(), Number(b), false, out._ref());
    return out;
  }
  const shape = broadcastShapes(a._shape, b._shape, name);
  const at = cast(a, dt), bt = cast(b, dt);
  const out = output(shape, outDType);
  native.binary(B[op], broadcastRef(at, shape), broadcastRef(bt, shape), out._ref());
  return out;
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

export function reduce(op: string, x: Tensor, dims: number[], keepdim: boolean, outDType: DType, correction = 1): Tensor {
  const kshape = x._shape.map((s, i) => (dims.includes(i) ? 1 : s));
  const out = empty(kshape, outDType);
  native.reduce(R[op], x._ref(), dims, correction, out._ref());
  if (keepdim) return out;
  return out._view(x._shape.filter((_, i) => !dims.includes(i)));
}

export { native, makeRef };
