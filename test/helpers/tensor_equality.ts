// vitest setup: toEqual/toStrictEqual compare Tensors by what they hold.
// A Tensor is iterable (over its first dim, as PyTorch's), so without this
// vitest's iterable equality would walk it row by row down to 0-d tensors,
// which refuse iteration as PyTorch's do. Equal: the same dtype,
// device, shape and requiresGrad, and the same values (NaN equal to NaN).
import { expect } from 'vitest';

// Recognised by shape, not by importing lib: a setup file's imports load
// before each test file's vi.mock, so importing the library here would load
// lib/io with the real node:fs under tests that mock it (atomic_save).
interface Tensor {
  dtype: string;
  device: string;
  requiresGrad: boolean;
  _shape: number[];
  tolist(): unknown;
}
function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && v.constructor?.name === 'Tensor' && Array.isArray((v as Tensor)._shape);
}

function sameValues(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValues(x, b[i]));
  return Object.is(a, b) || (a === 0 && b === 0) || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));
}

expect.addEqualityTesters([
  function tensorEquality(a: unknown, b: unknown): boolean | undefined {
    const ta = isTensor(a),
      tb = isTensor(b);
    if (!ta && !tb) return undefined;
    if (!ta || !tb) return false;
    const x = a as Tensor,
      y = b as Tensor;
    if (x.dtype !== y.dtype || x.device !== y.device) return false;
    if (x.requiresGrad !== y.requiresGrad || x._shape.join() !== y._shape.join()) return false;
    return sameValues(x.tolist(), y.tolist());
  },
]);
