// Helpers of the reductions (reduce.ts, sort.ts) that other op families may
// use: reduction dims, bringing a reduced gradient back to the input's
// shape, PyTorch's named tuples, and the primitive that gives values picked
// by a kernel (sort, topk, median, cummax) their gradient. Not a method
// module: these are not Tensor methods.
import { normDim, type Tensor } from '../tensor.js';
import { define, op, tensorParam as T } from './op.js';
import { as, param as p } from '../util/args.js';
import * as K from './kernels.js';
import { native } from '../backend/native.js';

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

/** A tuple of tensors, one per name: `NamedTuple<['values', 'indices']>` is `[Tensor, Tensor]`. */
export type TensorTuple<Names extends readonly string[]> = { -readonly [I in keyof Names]: Tensor };

/**
 * PyTorch's named tuples (torch.return_types.sort, ...), as API.md has them:
 * an array with named properties, so `const [values, indices] = x.sort()`
 * and `x.sort().values` both work.
 */
export type NamedTuple<Names extends readonly string[]> = TensorTuple<Names> & { readonly [K in Names[number]]: Tensor };

const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

/**
 * A named tuple of `tensors`, printed (String(), console.log) as PyTorch
 * 1.13 prints the result of the op: `type` is the name after
 * torch.return_types (`torch.return_types.max(\nvalues=tensor(...),\nindices=...)`),
 * or null where PyTorch returns a plain tuple (var_mean, std_mean), which
 * prints as Python's `(tensor(...), tensor(...))`. It stays a plain array
 * (Array.isArray, destructuring, map); the printing is two non-enumerable
 * own properties, so equality and JSON see only the tensors and names.
 */
export function namedTuple<const Names extends readonly string[]>(
  type: string | null,
  names: Names,
  ...tensors: TensorTuple<Names>
): NamedTuple<Names> {
  const out = tensors.slice() as unknown as Tensor[] & Record<string, Tensor>;
  names.forEach((n, i) => {
    out[n] = out[i];
  });
  const text = (): string => {
    const items = Array.from(out, (t) => String(t));
    if (type === null) return `(${items.join(', ')}${items.length === 1 ? ',' : ''})`;
    return `torch.return_types.${type}(\n${items.map((t, i) => `${names[i]}=${t}`).join(',\n')})`;
  };
  Object.defineProperty(out, 'toString', { value: text, writable: true, configurable: true });
  Object.defineProperty(out, inspectCustom, { value: text, writable: true, configurable: true });
  return out as unknown as NamedTuple<Names>;
}

/** The (values, indices) named tuple of max(dim), sort, topk, kthvalue, median, mode, cummax. */
export type ValuesIndices = [values: Tensor, indices: Tensor] & { values: Tensor; indices: Tensor };

/** A (values, indices) named tuple that prints as torch.return_types.<type>. */
export function valuesIndices(type: string, values: Tensor, indices: Tensor): ValuesIndices {
  return namedTuple(type, ['values', 'indices'], values, indices) as unknown as ValuesIndices;
}

// ---- values a kernel picked ------------------------------------------------------------
/**
 * Zeros of `shape` with src added at index along dim: the gradient of the
 * value-picking ops, differentiable again in src. The indices are the
 * kernels' own, so unchecked. Added, not written: cummax picks one place
 * for several outputs.
 */
export const scatterAddIntoZeros = op(
  'scatterAdd',
  [T.tensor('src'), p.custom('shape', 'int[]', as<readonly number[]>), p.int('dim'), T.tensor('index')],
  'src added into zeros of shape at index along dim',
);
define(scatterAddIntoZeros, {
  node: 'ScatterAddBackward0',
  forward: ({ src, shape, dim, index }) => {
    const out = K.empty(shape, src.dtype, 'scatterAdd', src.device);
    if (src.numel() > 0) native.scatterAdd(out._ref(), dim, index._ref(), K.contiguous(src)._ref());
    return { out, save: { dim, index } };
  },
  grads: { src: (g, { dim, index }) => g.gather(dim, index) },
});

/**
 * The values a kernel picked from input at index along dim (sort, topk,
 * kthvalue, median(dim), mode, cummax), given the autograd node PyTorch
 * names: the kernel computes values and indices in one call, and this
 * primitive attaches them to input's history. index is in keepdim form
 * (size 1 along dim where the op reduces); the gradient goes back to the
 * picked places, as PyTorch's value_selecting_reduction_backward.
 */
export const picked = op(
  'picked',
  [
    T.tensor('input'),
    p.custom('values', 'Tensor', as<Tensor>),
    p.int('dim'),
    T.tensor('index'),
    p.bool('keepdim'),
    p.custom('node', 'str', as<string>),
  ],
  "values picked from input at index along dim, with the picking op's gradient",
);
define(picked, {
  node: ({ node }) => node,
  forward: ({ input, values, dim, index, keepdim }) => ({ out: values, save: { shape: input._shape, dim, index, keepdim } }),
  grads: {
    input: (g, { shape, dim, index, keepdim }) => {
      if (shape.length === 0) return g.reshape([]);
      return scatterAddIntoZeros(keepdim ? g : g.unsqueeze(dim), shape, dim, index);
    },
  },
});
