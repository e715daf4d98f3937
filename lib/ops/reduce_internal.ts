// Helpers of the reductions (reduce.ts) that other op families may use:
// reduction dims, bringing a reduced gradient back to the input's shape,
// and PyTorch's (values, indices) named tuple. Not a method module: these
// are not Tensor methods.
import { normDim, type Tensor } from '../tensor.js';

/**
 * Normalised, sorted, unique reduction dims; all dims when dim is absent or
 * an empty list (PyTorch 1.13 reads sum(x, []) as a full reduction).
 */
export function reduceDims(x: Tensor, dim: number | number[] | null | undefined, op: string): number[] {
  if (dim === undefined || dim === null || (Array.isArray(dim) && dim.length === 0)) return [...x._shape.keys()];
  const list = Array.isArray(dim) ? dim : [dim];
  const dims = list.map((d) => normDim(d, x._shape.length, op));
  const seen = new Set<number>();
  for (const d of dims) {
    if (seen.has(d)) throw new RangeError(`${op}: dim ${d} appears multiple times in the list of dims`);
    seen.add(d);
  }
  // A 0-d tensor takes dim 0 or -1, but has nothing to reduce.
  if (x._shape.length === 0) return [];
  return dims.sort((a, b) => a - b);
}

/** Shape of the reduction with reduced dims kept as 1. */
export function keptShape(shape: readonly number[], dims: readonly number[]): number[] {
  return shape.map((s, i) => (dims.includes(i) ? 1 : s));
}

/** The shape of the reduction without the reduced dims. */
export function reducedShape(shape: readonly number[], dims: readonly number[]): number[] {
  return shape.filter((_, i) => !dims.includes(i));
}

/** Brings a reduced gradient back to the input's shape (differentiable: reshape and expand). */
export function unreduce(g: Tensor, shape: readonly number[], dims: readonly number[]): Tensor {
  return g.reshape(keptShape(shape, dims)).expand(shape.slice());
}

/**
 * PyTorch's named tuple (values, indices), as API.md has it: an array with
 * named properties, so `const [values, indices] = x.max(1)` and
 * `x.max(1).values` both work.
 */
export type ValuesIndices = [values: Tensor, indices: Tensor] & { values: Tensor; indices: Tensor };

export function valuesIndices(values: Tensor, indices: Tensor): ValuesIndices {
  return Object.assign([values, indices] as [Tensor, Tensor], { values, indices });
}
