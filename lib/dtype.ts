// Dtypes, their storage classes, and PyTorch's type promotion.
import type { TypedArray } from './backend/native.js';
import { BFloat16Bits } from './util/half.js';

/**
 * A dtype name, as PyTorch's without the `torch.` prefix. float16 and
 * bfloat16 are storage formats: their tensors hold 2-byte values, and every
 * kernel computes on them in float32 and rounds the result back to the
 * tensor's dtype (to nearest even), as PyTorch's CPU kernels do (Note [Half
 * storage], lib/util/half.ts). They live on the CPU only.
 */
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int32' | 'int64' | 'uint8' | 'bool';
/** Every dtype Kindling has. */
export const DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'int64', 'uint8', 'bool'];

/** torch.float32, the default floating dtype. */
export const float32: DType = 'float32';
/** torch.float: float32. */
export const float: DType = 'float32';
/** torch.float64. */
export const float64: DType = 'float64';
/** torch.double: float64. */
export const double: DType = 'float64';
/** IEEE half precision (torch.float16): 1 sign, 5 exponent and 10 mantissa bits. */
export const float16: DType = 'float16';
/** torch.half: float16. */
export const half: DType = 'float16';
/** Brain floating point (torch.bfloat16): float32's 8 exponent bits with 7 mantissa bits. */
export const bfloat16: DType = 'bfloat16';
/** torch.int32. */
export const int32: DType = 'int32';
/** torch.int: int32. */
export const int: DType = 'int32';
/** torch.int64, the default integer dtype. */
export const int64: DType = 'int64';
/** torch.long: int64. */
export const long: DType = 'int64';
/** torch.uint8. */
export const uint8: DType = 'uint8';
/** torch.bool. */
export const bool: DType = 'bool';

/** Whether x names one of Kindling's dtypes. */
export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

/** Whether d is a floating dtype (float32, float64, float16, bfloat16): PyTorch's is_floating_point. */
export function isFloating(d: DType): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';
}

/** Whether d is one of the 2-byte floats, stored as bits and computed in float32. */
export function isHalf(d: DType): boolean {
  return d === 'float16' || d === 'bfloat16';
}

/** Bytes per element. */
export const ITEMSIZE: Readonly<Record<DType, number>> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  bool: 1,
};

/** Whether d is an integer dtype (bool too with includeBool), as PyTorch's isIntegralType. */
export function isIntegral(d: DType, includeBool = false): boolean {
  return d === 'int32' || d === 'int64' || d === 'uint8' || (includeBool && d === 'bool');
}

export { allocStorage } from './backend/memory.js';

/** The dtype a Kindling storage of this class holds. */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BFloat16Bits) return 'bfloat16';
  if (a instanceof Uint16Array) return 'float16';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Uint8ClampedArray) return 'bool';
  return 'uint8';
}

/** The typed arrays torch.tensor and fromTypedArray take (storageOfArray says which dtype each becomes). */
export type InputTypedArray = TypedArray | Int8Array | Int16Array | Uint16Array | Uint32Array | BigUint64Array;

/**
 * A user's typed array as a storage Kindling holds, and its dtype: the
 * nearest dtype that holds every value of the array's type. Float32Array,
 * Float64Array, Int32Array, BigInt64Array and Uint8Array are kept as they
 * are (shared, zero-copy). A Uint8ClampedArray is Kindling's bool storage
 * (what toTypedArray gives for a bool tensor, so the two round-trip): it is
 * bool when it holds only 0 and 1, and refused otherwise (pixel data is not
 * a mask) unless the caller names a dtype (`want`), when it is read as uint8
 * (the caller converts). Int8Array, Int16Array and Uint16Array are copied
 * into int32, Uint32Array into int64, BigUint64Array into int64 (values past
 * 2^63 - 1 refused), Float16Array (where the runtime has it) into float32.
 * `copied` says whether the memory is still the caller's. Anything else (a
 * DataView, a plain array) is a TypeError naming `op`.
 */
export function storageOfArray(a: unknown, op: string, want?: DType): { data: TypedArray; dtype: DType; copied: boolean } {
  if (a instanceof Float32Array) return { data: a, dtype: 'float32', copied: false };
  if (a instanceof Float64Array) return { data: a, dtype: 'float64', copied: false };
  if (a instanceof Int32Array) return { data: a, dtype: 'int32', copied: false };
  if (a instanceof BigInt64Array) return { data: a, dtype: 'int64', copied: false };
  if (a instanceof Uint8Array) return { data: a, dtype: 'uint8', copied: false };
  if (a instanceof Uint8ClampedArray) {
    if (want !== undefined && want !== 'bool')
      return { data: new Uint8Array(a.buffer, a.byteOffset, a.length), dtype: 'uint8', copied: false };
    const bad = a.findIndex((v) => v > 1);
    if (bad < 0) return { data: a, dtype: 'bool', copied: false };
    if (want === 'bool') return { data: new Uint8Array(a.buffer, a.byteOffset, a.length), dtype: 'uint8', copied: false };
    throw new RangeError(
      `${op}: a Uint8ClampedArray is read as bool (Kindling's bool storage), but it holds ${a[bad]} at index ${bad}; ` +
        `for bytes such as pixels pass { dtype: 'uint8' } or a Uint8Array over the same buffer`,
    );
  }
  if (a instanceof Int8Array || a instanceof Int16Array || a instanceof Uint16Array)
    return { data: Int32Array.from(a), dtype: 'int32', copied: true };
  if (a instanceof Uint32Array) return { data: BigInt64Array.from(a, (v) => BigInt(v)), dtype: 'int64', copied: true };
  if (a instanceof BigUint64Array) {
    const out = new BigInt64Array(a.length);
    for (let i = 0; i < a.length; i++) {
      if (a[i] > 0x7fffffffffffffffn) throw new RangeError(`${op}: BigUint64Array value ${a[i]} at index ${i} does not fit int64`);
      out[i] = a[i];
    }
    return { data: out, dtype: 'int64', copied: true };
  }
  const F16 = (globalThis as { Float16Array?: new (...a: never[]) => ArrayLike<number> }).Float16Array;
  if (F16 !== undefined && a instanceof F16) return { data: Float32Array.from(a as ArrayLike<number>), dtype: 'float32', copied: true };
  const what = a === null ? 'null' : ArrayBuffer.isView(a) ? a.constructor.name : Array.isArray(a) ? 'an array' : typeof a;
  throw new TypeError(
    `${op}: expected a typed array (Float32Array, Float64Array, Int8/16/32Array, Uint8/16/32Array, Uint8ClampedArray, BigInt64Array, BigUint64Array), got ${what}`,
  );
}

// Order within which promotion takes the larger: PyTorch's promote_types
// table is a max over this chain, except that float16 and bfloat16 (same
// rank, neither holding the other's values) meet at float32.
const RANK: Record<DType, number> = { bool: 0, uint8: 1, int32: 2, int64: 3, float16: 4, bfloat16: 4, float32: 5, float64: 6 };

/** The dtype two dtypes promote to, as torch.promote_types. */
export function promoteTypes(a: DType, b: DType): DType {
  if (a !== b && RANK[a] === RANK[b]) return 'float32';
  return RANK[a] >= RANK[b] ? a : b;
}

type Category = 0 | 1 | 2; // bool, integer, floating
function category(d: DType): Category {
  return d === 'bool' ? 0 : isFloating(d) ? 2 : 1;
}

// An operand as type promotion sees it: a tensor with dims, a 0-d tensor,
// or a JS number/boolean (a "wrapped number").
export interface PromotionOperand {
  dtype: DType;
  kind: 'dim' | 'zerodim' | 'scalar';
}

/**
 * PyTorch's result_type: tensors with dims decide, unless a 0-d tensor or a
 * scalar is of a higher category (bool < integer < float); then the 0-d
 * tensor's dtype, or the default dtype of the scalar's category, wins.
 */
export function resultType(ops: PromotionOperand[]): DType {
  const by = { dim: null as DType | null, zerodim: null as DType | null, scalar: null as DType | null };
  for (const o of ops) {
    const cur = by[o.kind];
    by[o.kind] = cur === null ? o.dtype : promoteTypes(cur, o.dtype);
  }
  let result: DType | null = by.dim;
  for (const k of ['zerodim', 'scalar'] as const) {
    const d = by[k];
    if (d === null) continue;
    if (result === null) result = k === 'scalar' ? scalarDefault(d) : d;
    else if (category(d) > category(result)) result = k === 'scalar' ? scalarDefault(d) : d;
  }
  return result ?? 'float32';
}

function scalarDefault(d: DType): DType {
  return isFloating(d) ? 'float32' : d === 'bool' ? 'bool' : 'int64';
}

/** The dtype a JS number or boolean stands for in promotion (an integral number: int64; else float64; a boolean: bool). */
export function scalarDType(x: number | boolean): DType {
  if (typeof x === 'boolean') return 'bool';
  return Number.isInteger(x) ? 'int64' : 'float64';
}
