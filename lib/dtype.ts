// Dtypes, their storage classes, and PyTorch's type promotion.
import type { TypedArray } from './backend/native.js';

export type DType = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'bool';
export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'int64', 'uint8', 'bool'];

export const float32: DType = 'float32';
export const float: DType = 'float32';
export const float64: DType = 'float64';
export const double: DType = 'float64';
export const int32: DType = 'int32';
export const int: DType = 'int32';
export const int64: DType = 'int64';
export const long: DType = 'int64';
export const uint8: DType = 'uint8';
export const bool: DType = 'bool';

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

export function isFloating(d: DType): boolean {
  return d === 'float32' || d === 'float64';
}

export function isIntegral(d: DType, includeBool = false): boolean {
  return d === 'int32' || d === 'int64' || d === 'uint8' || (includeBool && d === 'bool');
}

export { allocStorage } from './backend/memory.js';

export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Uint8ClampedArray) return 'bool';
  return 'uint8';
}

// Order within which promotion takes the larger (our six dtypes form a
// chain, so PyTorch's promote_types table reduces to a max).
const RANK: Record<DType, number> = { bool: 0, uint8: 1, int32: 2, int64: 3, float32: 4, float64: 5 };

export function promoteTypes(a: DType, b: DType): DType {
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

// PyTorch's result_type: tensors with dims decide, unless a 0-d tensor or a
// scalar is of a higher category (bool < integer < float); then the 0-d
// tensor's dtype, or the default dtype of the scalar's category, wins.
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

export function scalarDType(x: number | boolean): DType {
  if (typeof x === 'boolean') return 'bool';
  return Number.isInteger(x) ? 'int64' : 'float64';
}
