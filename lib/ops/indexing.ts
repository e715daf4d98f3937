// Indexing: Python's x[...] as x.index(...) and x[...] = v as
// x.indexPut_(...), index_select, gather, scatter_add and masked_fill, with
// their gradients. A method module (Note [Method modules] in
// tensor_methods.ts): every export is a Tensor method and torch.x; the
// index plan and the other internals are in index_internal.ts, and
// torch.where in join.ts.
import { Tensor, normDim } from '../tensor.js';
import { define, op, tensorParam as T } from './op.js';
import { param as p, checkOptions, fmtValue, isOptions } from '../util/args.js';
import * as K from './kernels.js';
import { native } from '../backend/native.js';
import { indexPutInto, indexWith, toIndexTensor, type Index } from './index_internal.js';
import { where } from './join.js';

/**
 * Python's x[i0, i1, ...]: numbers, 'start:stop:step' slices, null (a new
 * dim), '...', and index tensors, arrays or bool masks. Not declared with
 * op(): every argument is an index (x.index([0, 2]) is x[[0, 2]], where
 * Python's *size would read x[0, 2]); it takes no options, and a key in a
 * trailing options object is refused with the binder's error.
 */
export function index(self: Tensor, ...indices: Index[]): Tensor {
  if (!(self instanceof Tensor)) throw new TypeError(`index: expected a Tensor, got ${fmtValue(self)}`);
  // A key in a trailing options object is the binder's unknown-option
  // error; an empty one is no index either (the plan refuses it).
  const last = indices[indices.length - 1];
  if (indices.length > 0 && isOptions(last)) checkOptions('index', last, []);
  return indexWith(self, indices);
}

/** The indices of x[indices]: an array of Index entries (Python's tuple), or one entry that is not an array. */
const indicesParam = p.custom('indices', 'Index[]', (v): Index[] => (Array.isArray(v) ? (v as Index[]) : [v as Index]));

export const indexPut_ = op(
  'indexPut_',
  [T.tensor('input'), indicesParam, T.tensorOrScalar('values'), p.bool('accumulate', false)],
  "Python's input[indices] = values (accumulate: +=, duplicates summed), in place; records no gradient",
);
define(indexPut_, {
  impl: ({ input, indices, values, accumulate }): Tensor => {
    indexPutInto(input, indices, values, accumulate);
    return input;
  },
});

// ---- index_select / gather / scatter_add -------------------------------------------
// Note [Index sizes]: an index tensor can be a stride-0 view naming 1e12
// entries over 8 bytes of memory. Every entry point checks that the index
// and its result could be allocated before any pass over the entries (the
// bounds check's min/max reductions, the kernels' per-entry checks), so
// such an index fails at once with a RangeError naming the op and the size
// instead of after a pass over 1e12 entries.

/**
 * index_select and gather take no negative indices in PyTorch ("index out
 * of range in self"), unlike x[idx]; the kernels wrap them for x.index, so
 * the public entries refuse them here (one min reduction over the index).
 */
function checkNoNegative(index: Tensor, op: string, dim: number, size: number): void {
  if (index.numel() === 0) return;
  const lo = K.reduce('Amin', index, [...index._shape.keys()], false, 'int64');
  const v = lo.item();
  if (v < 0)
    throw new RangeError(`${op}: index ${v} is out of range for dimension ${dim} with size ${size} (negative indices are not allowed)`);
}

function checkGatherIndex(x: Tensor, index: Tensor, op: string): void {
  if (index.dtype !== 'int64') throw new TypeError(`${op}: index must be an int64 Tensor`);
  if (index.device !== x.device) throw K.deviceMismatch(op, x.device, index.device);
  if (index._shape.length !== x._shape.length) {
    throw new RangeError(
      `${op}: index ${K.fmtShape(index._shape)} and input ${K.fmtShape(x._shape)} must have the same number of dimensions`,
    );
  }
}

/** A 0-d or 1-d index as the 1-d Ref the kernels take. */
const flatIndexRef = (index: Tensor) => index._view([index.numel()], [index._shape.length ? index._strides[0] : 0])._ref();

const indexArg = p.custom('index', 'Tensor|int[]', (v, o): Tensor | number[] => {
  if (v instanceof Tensor || Array.isArray(v)) return v as Tensor | number[];
  throw new TypeError(`${o}: index must be an integer Tensor or an array of integers, got ${v === null ? 'null' : typeof v}`);
});

export const indexSelect = op(
  'indexSelect',
  [T.tensor('input'), p.int('dim'), indexArg],
  'the entries of dim at index (a 0-d or 1-d integer tensor or array)',
);
define(indexSelect, {
  node: 'IndexSelectBackward0',
  forward: ({ input: x, dim, index }) => {
    const idx = toIndexTensor(index, 'indexSelect', x.device, true);
    if (idx.dtype !== 'int64') throw new TypeError(`indexSelect: index must be an integer tensor, got ${idx.dtype}`);
    if (idx._shape.length > 1) throw new RangeError(`indexSelect: index must be 0-D or 1-D, got shape ${K.fmtShape(idx._shape)}`);
    const d = normDim(dim, x._shape.length, 'indexSelect');
    // Sizes first (Note [Index sizes]).
    K.checkAllocSize(idx._shape, 'indexSelect', 'the index');
    if (x._shape.length)
      K.checkAllocSize(
        x._shape.map((s, i) => (i === d ? idx.numel() : s)),
        'indexSelect',
        'the result',
      );
    checkNoNegative(idx, 'indexSelect', d, x._shape.length ? x._shape[d] : 1);
    const shape = x._shape.slice();
    if (shape.length) shape[d] = idx.numel();
    const out = K.empty(shape, x.dtype, 'indexSelect', x.device);
    if (x._shape.length === 0) native.copy(x._ref(), out._ref());
    else native.indexSelect(x._ref(), d, flatIndexRef(idx), out._ref());
    return { out, save: { shape: x._shape, dim: d, index: idx } };
  },
  grads: { input: (g, s) => indexSelectBackward(g, s.shape, s.dim, s.index) },
});

/** index_select's gradient: zeros of the input's shape with g added at index (differentiable: its gradient is index_select). */
const indexSelectBackward = op(
  'indexSelectBackward',
  [T.tensor('grad'), p.custom('inputSizes', 'int[]', (v) => v as number[]), p.int('dim'), T.tensor('index')],
  'zeros with grad added along dim at index',
);
define(indexSelectBackward, {
  node: 'IndexAddBackward0',
  forward: ({ grad, inputSizes, dim, index }) => {
    let out: Tensor;
    if (inputSizes.length === 0) out = K.clone(grad)._view([]);
    else {
      out = K.empty(inputSizes, grad.dtype, 'indexSelect', grad.device);
      native.indexAdd(out._ref(), dim, flatIndexRef(index), K.contiguous(grad)._ref(), 1);
    }
    return { out, save: { dim, index } };
  },
  grads: { grad: (gg, s) => indexSelect(gg, s.dim, s.index) },
});

export const gather = op(
  'gather',
  [T.tensor('input'), p.int('dim'), T.tensor('index'), p.kw(p.bool('sparseGrad', false))],
  'out[i][j] = input[index[i][j]][j] (dim 0), the entries of dim at index',
);
define(gather, {
  node: 'GatherBackward0',
  forward: ({ input: x, dim, index, sparseGrad }) => {
    if (sparseGrad) throw new TypeError('gather: sparseGrad=true is not supported (Kindling has no sparse tensors); leave it false');
    checkGatherIndex(x, index, 'gather');
    // 0-d input and index behave as one-element vectors, as in PyTorch.
    const scalar = x._shape.length === 0;
    const d = normDim(dim, x._shape.length, 'gather');
    const xv = scalar ? x._view([1], [1]) : x,
      iv = scalar ? index._view([1], [1]) : index;
    // The result has the index's shape (Note [Index sizes]).
    K.checkAllocSize(iv._shape, 'gather', 'the result');
    checkNoNegative(iv, 'gather', d, xv._shape[d]);
    const out = K.empty(iv._shape, x.dtype, 'gather', x.device);
    native.gather(xv._ref(), d, iv._ref(), out._ref());
    return { out: scalar ? out._view([]) : out, save: { shape: x._shape, dim: d, index } };
  },
  grads: {
    // Zeros of the input's shape with g added where it was read.
    input: (g, { shape, dim, index }) => {
      if (shape.length === 0)
        return scatterAdd(K.empty([1], g.dtype, 'gather', g.device), 0, index.reshape([1]), g.reshape([1])).reshape([]);
      return scatterAdd(K.empty(shape, g.dtype, 'gather', g.device), dim, index, g);
    },
  },
});

export const scatterAdd = op(
  'scatterAdd',
  [T.tensor('input'), p.int('dim'), T.tensor('index'), T.tensor('src')],
  'a copy of input with src added at index along dim',
);
define(scatterAdd, {
  node: 'ScatterAddBackward0',
  forward: ({ input: x, dim, index, src }) => {
    checkGatherIndex(x, index, 'scatterAdd');
    if (src.device !== x.device) throw K.deviceMismatch('scatterAdd', x.device, src.device);
    // The kernel visits every index entry (Note [Index sizes]).
    K.checkAllocSize(index._shape, 'scatterAdd', 'the index');
    const d = normDim(dim, x._shape.length, 'scatterAdd');
    const out = K.clone(x);
    native.scatterAdd(out._ref(), d, index._ref(), K.contiguous(src)._ref());
    return { out, save: { dim: d, index } };
  },
  grads: {
    input: (g) => g,
    src: (g, { dim, index }) => gather(g, dim, index),
  },
});

// ---- masked_fill ------------------------------------------------------------------------------
export const maskedFill = op(
  'maskedFill',
  [T.tensor('input'), T.tensor('mask'), T.tensorOrScalar('value')],
  'input with value where mask is true (value a number or a 0-d tensor)',
);
define(maskedFill, {
  impl: ({ input: x, mask, value }): Tensor => {
    if (mask.dtype !== 'bool') throw new TypeError(`maskedFill: mask must be a bool tensor, got ${mask.dtype}`);
    if (mask.device !== x.device) throw K.deviceMismatch('maskedFill', x.device, mask.device);
    let v: Tensor;
    if (value instanceof Tensor) {
      if (value._shape.length !== 0)
        throw new RangeError(
          `maskedFill: only supports a 0-dimensional value tensor, but got tensor with ${value._shape.length} dimension(s)`,
        );
      v = value.to(x.dtype);
    } else v = K.binary('Add', K.empty([], x.dtype, 'maskedFill', x.device), Number(value), x.dtype);
    return where(mask, v, x);
  },
});
