// Shape ops, each declared once (lib/ops/op.ts). A method module (Note
// [Method modules] in tensor_methods.ts): every export is a Tensor method
// and torch.x; the joining ops (cat, stack) are in join.ts and what other
// files share in shape_internal.ts. Most are views: a new (shape, strides,
// offset) over the same Storage, no copy, whose _base is the input's base.
// Their gradients undo the view: reshape back, transpose back, or write
// the gradient into zeros where the slice came from.
import { Tensor, normDim } from '../tensor.js';
import { define, op, returns, tensorParam as T } from './op.js';
import { param as p, fmtValue } from '../util/args.js';
import * as K from './kernels.js';
import { diagonalEmbed, diagonalMeta, diagonalView, inferSize, multiOutputViews, sliceBy, viewOf, viewStrides } from './shape_internal.js';
import { native } from '../backend/native.js';
import { inplaceOf } from './inplace.js';

/** int[]: a list of integers (never one integer). */
function intList<N extends string>(name: N) {
  return p.custom(name, 'int[]', (v, o): number[] => {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x)))
      throw new TypeError(`${o}: argument '${name}' must be an array of integers, got ${fmtValue(v)}`);
    return v;
  });
}

// ---- reshaping views -----------------------------------------------------------------
export const view = op(
  'view',
  [T.tensor('input'), p.sizes('size')],
  'a view with another shape (one size may be -1); the memory must allow it',
);
define(view, {
  node: 'ViewBackward0',
  forward: ({ input, size }) => {
    const shape = inferSize(size, input.numel(), 'view');
    const strides = viewStrides(input._shape, input._strides, shape);
    if (!strides) {
      throw new RangeError(
        `view: size ${K.fmtShape(shape)} is not compatible with input tensor's size ${K.fmtShape(input._shape)} and stride ` +
          `${K.fmtShape(input._strides)} (at least one dimension spans across two contiguous subspaces). Use reshape() instead.`,
      );
    }
    return { out: viewOf(input, { shape, strides, offset: input._offset }), save: input._shape };
  },
  grads: { input: (g, shape) => reshape(g, shape) },
});

export const viewAs = op('viewAs', [T.tensor('input'), T.tensor('other')], "input viewed with other's shape");
define(viewAs, {
  impl: ({ input, other }): Tensor => view(input, other._shape.slice()),
});

export const reshape = op(
  'reshape',
  [T.tensor('input'), p.sizes('shape')],
  'input with another shape: a view where the memory allows, else a copy',
);
define(reshape, {
  impl: ({ input, shape: size }): Tensor => {
    const shape = inferSize(size, input.numel(), 'reshape');
    if (viewStrides(input._shape, input._strides, shape)) return view(input, shape);
    // A copy, then a view of it: the result owns its memory (not a view).
    const r = view(contiguous(input), shape);
    r._base = null;
    return r;
  },
});

export const flatten = op(
  'flatten',
  [T.tensor('input'), p.int('startDim', 0), p.int('endDim', -1)],
  'dims startDim..endDim merged into one',
);
define(flatten, {
  impl: ({ input, startDim, endDim }): Tensor => {
    const n = input._shape.length;
    if (n === 0) {
      normDim(startDim, 0, 'flatten');
      normDim(endDim, 0, 'flatten');
      return reshape(input, [1]);
    }
    const s = normDim(startDim, n, 'flatten'),
      e = normDim(endDim, n, 'flatten');
    if (s > e) throw new RangeError('flatten: start_dim cannot come after end_dim');
    return reshape(input, [...input._shape.slice(0, s), K.numelOf(input._shape.slice(s, e + 1)), ...input._shape.slice(e + 1)]);
  },
});

export const unflatten = op('unflatten', [T.tensor('input'), p.int('dim'), intList('sizes')], 'dim split into sizes (one may be -1)');
define(unflatten, {
  impl: ({ input, dim, sizes }): Tensor => {
    const d = normDim(dim, input._shape.length, 'unflatten');
    const inner = inferSize(sizes, input._shape[d], 'unflatten');
    return view(input, [...input._shape.slice(0, d), ...inner, ...input._shape.slice(d + 1)]);
  },
});

export const unsqueeze = op('unsqueeze', [T.tensor('input'), p.int('dim')], 'a size-1 dim inserted at dim');
define(unsqueeze, {
  node: 'UnsqueezeBackward0',
  forward: ({ input, dim }) => {
    const d = normDim(dim, input._shape.length + 1, 'unsqueeze');
    const shape = input._shape.slice(),
      strides = input._strides.slice();
    const st = d < input._shape.length ? input._shape[d] * input._strides[d] : 1;
    shape.splice(d, 0, 1);
    strides.splice(d, 0, st);
    return { out: viewOf(input, { shape, strides, offset: input._offset }), save: d };
  },
  grads: { input: (g, d) => squeeze(g, d) },
});

export const squeeze = op('squeeze', [T.tensor('input'), p.dims('dim')], 'size-1 dims removed (all, or those of dim)');
define(squeeze, {
  node: 'SqueezeBackward0',
  forward: ({ input, dim }) => {
    const n = input._shape.length;
    let dims: number[];
    if (dim === null) dims = [...input._shape.keys()].filter((i) => input._shape[i] === 1);
    else {
      const list = Array.isArray(dim) ? dim : [dim];
      if (n === 0) {
        list.forEach((d) => normDim(d, 0, 'squeeze'));
        dims = [];
      } else dims = list.map((d) => normDim(d, n, 'squeeze')).filter((d) => input._shape[d] === 1);
    }
    const out = viewOf(input, {
      shape: input._shape.filter((_, i) => !dims.includes(i)),
      strides: input._strides.filter((_, i) => !dims.includes(i)),
      offset: input._offset,
    });
    return { out, save: input._shape };
  },
  grads: { input: (g, shape) => reshape(g, shape) },
});

export const permute = op('permute', [T.tensor('input'), p.sizes('dims')], 'dims reordered: dim i of the result is dim dims[i] of input');
define(permute, {
  node: 'PermuteBackward0',
  forward: ({ input, dims }) => {
    const n = input._shape.length;
    if (dims.length !== n) throw new RangeError(`permute: number of dims don't match in permute (input has ${n}, got ${dims.length})`);
    const nd = dims.map((d) => normDim(d, n, 'permute'));
    if (new Set(nd).size !== nd.length) throw new RangeError('permute: repeated dim in permute');
    return {
      out: viewOf(input, { shape: nd.map((d) => input._shape[d]), strides: nd.map((d) => input._strides[d]), offset: input._offset }),
      save: nd,
    };
  },
  grads: {
    input: (g, dims) => {
      const inv = new Array<number>(dims.length);
      dims.forEach((d, i) => (inv[d] = i));
      return permute(g, inv);
    },
  },
});

export const transpose = op('transpose', [T.tensor('input'), p.int('dim0'), p.int('dim1')], 'dims dim0 and dim1 swapped');
define(transpose, {
  node: 'TransposeBackward0',
  forward: ({ input, dim0, dim1 }) => {
    const a = normDim(dim0, input._shape.length, 'transpose'),
      b = normDim(dim1, input._shape.length, 'transpose');
    // A 0-d tensor has no dims to swap (normDim accepts 0 and -1 for it).
    const shape = input._shape.slice(),
      strides = input._strides.slice();
    if (shape.length > 0) {
      [shape[a], shape[b]] = [shape[b], shape[a]];
      [strides[a], strides[b]] = [strides[b], strides[a]];
    }
    return { out: viewOf(input, { shape, strides, offset: input._offset }), save: [a, b] as const };
  },
  grads: { input: (g, [a, b]) => transpose(g, a, b) },
});

export const t = op('t', [T.tensor('input')], 'a matrix transposed (0-d and 1-d unchanged)');
// Its own node, as PyTorch's: linear's weight.t() shows as TBackward0.
define(t, {
  node: 'TBackward0',
  forward: ({ input }) => {
    const n = input._shape.length;
    if (n > 2) throw new RangeError(`t: expects a tensor with <= 2 dimensions, but self is ${n}D`);
    return viewOf(input, { shape: input._shape.slice().reverse(), strides: input._strides.slice().reverse(), offset: input._offset });
  },
  grads: { input: (g) => t(g) },
});

export const expand = op('expand', [T.tensor('input'), p.sizes('size')], 'size-1 dims repeated (stride 0) to size; -1 keeps a dim');
define(expand, {
  node: 'ExpandBackward0',
  forward: ({ input, size }) => {
    const n = size.length,
      k = input._shape.length;
    if (n < k) {
      throw new RangeError(
        `expand: the number of sizes provided (${n}) must be greater or equal to the number of dimensions in the tensor (${k})`,
      );
    }
    const shape = size.map((s, i) => {
      const j = i - (n - k);
      const cur = j < 0 ? 1 : input._shape[j];
      if (s === -1) {
        if (j < 0) throw new RangeError('expand: -1 is not allowed in a leading, non-existing dimension');
        return cur;
      }
      if (cur !== s && cur !== 1) {
        throw new RangeError(
          `expand: the expanded size of the tensor (${s}) must match the existing size (${cur}) at non-singleton dimension ${i}. ` +
            `Target sizes: ${K.fmtShape(size)}. Tensor sizes: ${K.fmtShape(input._shape)}`,
        );
      }
      return s;
    });
    const strides = shape.map((s, i) => {
      const j = i - (n - k);
      return j < 0 || (input._shape[j] === 1 && s !== 1) ? 0 : input._strides[j];
    });
    return { out: viewOf(input, { shape, strides, offset: input._offset }), save: input._shape };
  },
  grads: { input: (g, shape) => K.sumToShape(g, shape) },
});

export const expandAs = op('expandAs', [T.tensor('input'), T.tensor('other')], "input expanded to other's shape");
define(expandAs, {
  impl: ({ input, other }): Tensor => expand(input, other._shape.slice()),
});

// ---- copies ------------------------------------------------------------------------------
export const clone = op('clone', [T.tensor('input')], 'a copy of input in new memory');
define(clone, {
  node: 'CloneBackward0',
  forward: ({ input }) => K.clone(input),
  grads: { input: (g) => g },
});

// A clone too (PyTorch records CloneBackward0), but refused allocations name contiguous.
const contiguousCopy = op('contiguousCopy', [T.tensor('input')], 'a row-major copy of input');
define(contiguousCopy, {
  node: 'CloneBackward0',
  forward: ({ input }) => K.clone(input, 'contiguous'),
  grads: { input: (g) => g },
});

export const contiguous = op('contiguous', [T.tensor('input')], 'input itself if row-major, else a row-major copy');
define(contiguous, {
  impl: ({ input }): Tensor => (input.isContiguous() ? input : contiguousCopy(input)),
});

// ---- slices ------------------------------------------------------------------------------
export const narrow = op(
  'narrow',
  [T.tensor('input'), p.int('dim'), p.int('start'), p.int('length')],
  'the view of length entries of dim from start',
);
define(narrow, {
  impl: ({ input, dim, start, length }): Tensor => {
    if (input._shape.length === 0) throw new RangeError('narrow: cannot be applied to a 0-dim tensor');
    const d = normDim(dim, input._shape.length, 'narrow');
    const size = input._shape[d];
    if (start < 0) start += size;
    if (start < 0 || length < 0 || start + length > size) {
      throw new RangeError(`narrow: start (${start}) + length (${length}) exceeds dimension size (${size}) of dim ${d}`);
    }
    return sliceBy(
      input,
      (x) => {
        const shape = x._shape.slice();
        shape[d] = length;
        return { shape, strides: x._strides.slice(), offset: x._offset + start * x._strides[d] };
      },
      'SliceBackward0',
    );
  },
});

export const select = op('select', [T.tensor('input'), p.int('dim'), p.int('index')], 'the view at index of dim, dim removed');
define(select, {
  impl: ({ input, dim, index }): Tensor => {
    if (input._shape.length === 0) throw new RangeError('select: cannot be applied to a 0-dim tensor');
    const d = normDim(dim, input._shape.length, 'select');
    const size = input._shape[d];
    if (index < -size || index >= size) {
      throw new RangeError(`select: index ${index} out of range for tensor of size ${K.fmtShape(input._shape)} at dimension ${d}`);
    }
    const i = index < 0 ? index + size : index;
    return sliceBy(
      input,
      (x) => ({
        shape: x._shape.filter((_, k) => k !== d),
        strides: x._strides.filter((_, k) => k !== d),
        offset: x._offset + i * x._strides[d],
      }),
      'SelectBackward0',
    );
  },
});

// ---- splitting ---------------------------------------------------------------------------
const splitSizeParam = p.custom('splitSize', 'int|int[]', (v, o): number | number[] => {
  if (typeof v === 'number' || Array.isArray(v)) return v as number | number[];
  throw new TypeError(`${o}: argument 'splitSize' must be an integer or an array of integers, got ${fmtValue(v)}`);
});

export const split = op(
  'split',
  [T.tensor('input'), splitSizeParam, p.int('dim', 0)],
  'views of splitSize entries of dim each (the last may be shorter), or of the given sizes',
  returns<Tensor[]>(),
);
define(split, {
  impl: ({ input, splitSize, dim }): Tensor[] => {
    const d = normDim(dim, input._shape.length, 'split');
    const size = input._shape[d];
    let sizes: number[];
    if (Array.isArray(splitSize)) {
      for (const s of splitSize as unknown[]) {
        if (typeof s !== 'number' || !Number.isInteger(s))
          throw new TypeError(`split: split sizes must be integers, got ${K.fmtShape(splitSize)}`);
        if (s < 0) throw new RangeError(`split: split sizes must be non-negative, got ${K.fmtShape(splitSize)}`);
      }
      if (splitSize.reduce((a, b) => a + b, 0) !== size) {
        throw new RangeError(`split: split sizes ${K.fmtShape(splitSize)} do not sum to the size ${size} of dim ${d}`);
      }
      sizes = splitSize;
    } else {
      if (!Number.isInteger(splitSize) || splitSize <= 0)
        throw new RangeError(`split: split size must be a positive integer, got ${K.fmtValue(splitSize)}`);
      sizes = [];
      for (let at = 0; at < size; at += splitSize) sizes.push(Math.min(splitSize, size - at));
      if (sizes.length === 0) sizes.push(0);
    }
    let at = 0;
    const fns = sizes.map((len) => {
      const start = at;
      at += len;
      return (x: Tensor) => {
        const shape = x._shape.slice();
        shape[d] = len;
        return { shape, strides: x._strides.slice(), offset: x._offset + start * x._strides[d] };
      };
    });
    const name = Array.isArray(splitSize) ? 'SplitWithSizesBackward0' : 'SplitBackward0';
    return multiOutputViews(input, fns, name, 'CatBackward0');
  },
});

export const chunk = op(
  'chunk',
  [T.tensor('input'), p.int('chunks'), p.int('dim', 0)],
  'at most chunks views of equal size along dim (the last may be shorter)',
  returns<Tensor[]>(),
);
define(chunk, {
  impl: ({ input, chunks, dim }): Tensor[] => {
    if (chunks <= 0) throw new RangeError(`chunk: chunks must be a positive integer, got ${K.fmtValue(chunks)}`);
    const d = normDim(dim, input._shape.length, 'chunk');
    return split(input, Math.max(1, Math.ceil(input._shape[d] / chunks)), d);
  },
});

export const unbind = op(
  'unbind',
  [T.tensor('input'), p.int('dim', 0)],
  'the views at each index of dim, dim removed',
  returns<Tensor[]>(),
);
define(unbind, {
  impl: ({ input, dim }): Tensor[] => {
    const d = normDim(dim, input._shape.length, 'unbind');
    const fns = Array.from({ length: input._shape[d] }, (_, i) => (x: Tensor) => ({
      shape: x._shape.filter((_, k) => k !== d),
      strides: x._strides.filter((_, k) => k !== d),
      offset: x._offset + i * x._strides[d],
    }));
    return multiOutputViews(input, fns, 'UnbindBackward0', 'StackBackward0');
  },
});

// ---- repeat --------------------------------------------------------------------------------
export const repeat = op('repeat', [T.tensor('input'), p.sizes('repeats')], 'input tiled repeats[i] times along dim i (a copy)');
define(repeat, {
  impl: ({ input: x, repeats: reps }): Tensor => {
    if (reps.length < x._shape.length) {
      throw new RangeError(
        'repeat: Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor ' +
          `(got ${reps.length} repeats for a tensor of shape ${K.fmtShape(x._shape)})`,
      );
    }
    // Every check on the result comes before the reshape/expand below, whose
    // own errors would name reshape or contiguous.
    for (const r of reps)
      if (r < 0) throw new RangeError(`repeat: Trying to create tensor with negative dimension ${r}: ${K.fmtShape(reps)}`);
    const shape = [...Array(reps.length - x._shape.length).fill(1), ...x._shape];
    shape.forEach((s, i) => {
      if (s * reps[i] >= 2 ** 63) {
        throw new RangeError(
          `repeat: the size of dim ${i} would be ${s} * ${reps[i]}, which overflows int64 (repeats ${K.fmtShape(reps)}, shape ${K.fmtShape(x._shape)})`,
        );
      }
    });
    const outShape = shape.map((s, i) => s * reps[i]);
    if (K.numelOf(outShape) >= 2 ** 63) {
      throw new RangeError(
        `repeat: the result of shape ${K.fmtShape(outShape)} has more elements than int64 can count (repeats ${K.fmtShape(reps)}, shape ${K.fmtShape(x._shape)})`,
      );
    }
    K.checkAllocSize(outShape, 'repeat', 'the result');
    const inter: number[] = [];
    const big: number[] = [];
    shape.forEach((s, i) => {
      inter.push(1, s);
      big.push(reps[i], s);
    });
    try {
      return reshape(expand(reshape(x, inter), big), outShape);
    } catch (e) {
      // Under 2^32 elements an allocation can still fail (2^32 int64 are
      // 32 GiB): the copy is repeat's, so the error names repeat.
      if (e instanceof RangeError && /^\w+: cannot allocate /.test(e.message))
        throw new RangeError(e.message.replace(/^\w+: /, 'repeat: '));
      throw e;
    }
  },
});

// ---- triangles -------------------------------------------------------------------------------
/** x with the entries outside the triangle zeroed: j - i <= k (lower) or >= k (upper) in the last two dims. */
function triangle(x: Tensor, k: number, lower: boolean, op: string): Tensor {
  const n = x._shape.length;
  if (n < 2) throw new RangeError(`${op}: input tensor must have at least 2 dimensions, got shape ${K.fmtShape(x._shape)}`);
  const R = x._shape[n - 2],
    C = x._shape[n - 1];
  const mask = K.empty([R, C], 'bool', op, 'cpu');
  const m = mask._storage.data as Uint8ClampedArray;
  for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) m[i * C + j] = (lower ? j - i <= k : j - i >= k) ? 1 : 0;
  const out = K.output(x._shape, x.dtype, op, x.device);
  native.where(
    K.broadcastRef(K.toDevice(mask, x.device, op), x._shape),
    x._ref(),
    K.broadcastRef(K.empty([], x.dtype, op, x.device), x._shape),
    out._ref(),
  );
  return out;
}

export const tril = op(
  'tril',
  [T.tensor('input'), p.int('diagonal', 0)],
  'the lower triangle of the last two dims (j - i <= diagonal), the rest zeroed',
);
define(tril, {
  node: 'TrilBackward0',
  forward: ({ input, diagonal }) => ({ out: triangle(input, diagonal, true, 'tril'), save: diagonal }),
  grads: { input: (g, k) => tril(g, k) },
});
export const triu = op(
  'triu',
  [T.tensor('input'), p.int('diagonal', 0)],
  'the upper triangle of the last two dims (j - i >= diagonal), the rest zeroed',
);
define(triu, {
  node: 'TriuBackward0',
  forward: ({ input, diagonal }) => ({ out: triangle(input, diagonal, false, 'triu'), save: diagonal }),
  grads: { input: (g, k) => triu(g, k) },
});
export const tril_ = inplaceOf(tril);
export const triu_ = inplaceOf(triu);

// ---- flip / roll ----------------------------------------------------------------------------------
/** The entries of dim d of x at idx, in a new tensor (no autograd). */
function takeAlong(x: Tensor, d: number, idx: number[], op: string): Tensor {
  const it = K.empty([idx.length], 'int64', op, 'cpu');
  const data = it._storage.data as BigInt64Array;
  for (let i = 0; i < idx.length; i++) data[i] = BigInt(idx[i]);
  const shape = x._shape.slice();
  shape[d] = idx.length;
  const out = K.output(shape, x.dtype, op, x.device);
  native.indexSelect(x._ref(), d, K.toDevice(it, x.device, op)._ref(), out._ref());
  return out;
}

/** Distinct normalised dims. */
function distinctDims(dims: readonly number[], n: number, op: string): number[] {
  const out = dims.map((d) => normDim(d, n, op));
  out.forEach((d, i) => {
    if (out.indexOf(d) !== i) throw new RangeError(`${op}: dim ${d} appears multiple times in the list of dims`);
  });
  return out;
}

export const flip = op('flip', [T.tensor('input'), p.sizes('dims')], 'input with the order of entries reversed along dims (a copy)');
define(flip, {
  node: 'FlipBackward0',
  forward: ({ input, dims }) => {
    const n = input._shape.length;
    const ds = distinctDims(dims, n, 'flip');
    let out = input;
    // A 0-d tensor has nothing to reverse (normDim accepts dims 0 and -1 for it).
    if (n > 0)
      for (const d of ds) {
        const size = input._shape[d];
        out = takeAlong(
          out,
          d,
          Array.from({ length: size }, (_, i) => size - 1 - i),
          'flip',
        );
      }
    return { out: out === input ? K.clone(input, 'flip') : out, save: ds };
  },
  grads: { input: (g, ds) => flip(g, ds) },
});

export const fliplr = op('fliplr', [T.tensor('input')], 'input flipped left to right (dim 1); needs 2 dims or more');
define(fliplr, {
  impl: ({ input }): Tensor => {
    if (input._shape.length < 2) throw new RangeError(`fliplr: input must be >= 2-d, got shape ${K.fmtShape(input._shape)}`);
    return flip(input, [1]);
  },
});
export const flipud = op('flipud', [T.tensor('input')], 'input flipped upside down (dim 0); needs 1 dim or more');
define(flipud, {
  impl: ({ input }): Tensor => {
    if (input._shape.length < 1) throw new RangeError(`flipud: input must be >= 1-d, got shape ${K.fmtShape(input._shape)}`);
    return flip(input, [0]);
  },
});

const asList = (v: number | number[]) => (Array.isArray(v) ? v : [v]);

export const roll = op(
  'roll',
  [T.tensor('input'), p.ints('shifts'), p.ints('dims', [])],
  'input with its entries shifted along dims by shifts, wrapping around (flattened when dims is empty)',
);
define(roll, {
  node: 'RollBackward0',
  forward: ({ input, shifts: sh, dims: dm }) => {
    const shifts = asList(sh),
      dims = asList(dm);
    if (dims.length === 0) {
      if (shifts.length !== 1) throw new RangeError(`roll: shifts and dims must align when dims is empty (got ${shifts.length} shifts)`);
    } else if (shifts.length !== dims.length) {
      throw new RangeError(`roll: shifts and dimensions must align. shifts: ${shifts.length}, dims: ${dims.length}`);
    }
    const one = (x: Tensor, d: number, s: number): Tensor => {
      const size = x._shape[d];
      if (size === 0) return x;
      return takeAlong(
        x,
        d,
        Array.from({ length: size }, (_, i) => (((i - s) % size) + size) % size),
        'roll',
      );
    };
    let out: Tensor;
    if (dims.length === 0) out = one(K.contiguous(input)._view([input.numel()]), 0, shifts[0])._view(input._shape.slice());
    else {
      if (input._shape.length === 0) throw new RangeError(`roll: dimension specified as ${dims[0]} but tensor has no dimensions`);
      out = input;
      dims.forEach((d, i) => (out = one(out, normDim(d, input._shape.length, 'roll'), shifts[i])));
    }
    return { out: out === input ? K.clone(input, 'roll') : out, save: { shifts, dims } };
  },
  grads: {
    input: (g, s) =>
      roll(
        g,
        s.shifts.map((v) => -v),
        s.dims,
      ),
  },
});

// ---- diagonals --------------------------------------------------------------------------------
export const diagonal = op(
  'diagonal',
  [T.tensor('input'), p.int('offset', 0), p.int('dim1', 0), p.int('dim2', 1)],
  'the view of the diagonal of dims dim1 and dim2 (offset above the main one when positive), appended as the last dim',
);
define(diagonal, {
  impl: ({ input, offset, dim1, dim2 }): Tensor => {
    const n = input._shape.length;
    if (n < 2) throw new RangeError(`diagonal: input must have at least 2 dimensions, got shape ${K.fmtShape(input._shape)}`);
    const d1 = normDim(dim1, n, 'diagonal'),
      d2 = normDim(dim2, n, 'diagonal');
    if (d1 === d2) throw new RangeError(`diagonal: diagonal dimensions cannot be identical ${dim1}, ${dim2}`);
    return diagonalView(input, diagonalMeta(offset, d1, d2));
  },
});

export const diagEmbed = op(
  'diagEmbed',
  [T.tensor('input'), p.int('offset', 0), p.int('dim1', -2), p.int('dim2', -1)],
  "zeros with input's last dim written on the diagonal of two new dims dim1 and dim2",
);
define(diagEmbed, {
  impl: ({ input, offset, dim1, dim2 }): Tensor => {
    const n = input._shape.length + 1;
    const d1 = normDim(dim1, n, 'diagEmbed'),
      d2 = normDim(dim2, n, 'diagEmbed');
    if (d1 === d2) throw new RangeError(`diagEmbed: diagonal dimensions cannot be identical ${dim1}, ${dim2}`);
    const x = input._shape.length ? input : reshape(input, [1]);
    const m = x._shape[x._shape.length - 1] + Math.abs(offset);
    const rest = x._shape.slice(0, -1);
    const shape: number[] = [];
    for (let k = 0, r = 0; k < n; k++) shape.push(k === d1 || k === d2 ? m : rest[r++]);
    return diagonalEmbed(x, shape, diagonalMeta(offset, d1, d2));
  },
});

export const diag = op(
  'diag',
  [T.tensor('input'), p.int('diagonal', 0)],
  'a 1-D input as the given diagonal of a square matrix, or the given diagonal of a 2-D input (a copy)',
);
define(diag, {
  impl: ({ input, diagonal: k }): Tensor => {
    const n = input._shape.length;
    if (n === 1) {
      const m = input._shape[0] + Math.abs(k);
      return diagonalEmbed(input, [m, m], diagonalMeta(k, 0, 1));
    }
    if (n === 2) return contiguousCopy(diagonalView(input, diagonalMeta(k, 0, 1)));
    throw new RangeError(`diag: supports 1-D or 2-D tensors, got ${n}-D (shape ${K.fmtShape(input._shape)})`);
  },
});

export const trace = op('trace', [T.tensor('input')], 'the sum of the main diagonal of a 2-D input');
define(trace, {
  impl: ({ input }): Tensor => {
    if (input._shape.length !== 2) throw new RangeError(`trace: expected a matrix, got shape ${K.fmtShape(input._shape)}`);
    return diagonalView(input, diagonalMeta(0, 0, 1)).sum();
  },
});
