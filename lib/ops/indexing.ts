// Indexing: Python's x[...] as x.index(...) and x[...] = v as
// x.indexPut_(...), index_select, gather, the scatter family, index_fill /
// index_add / index_copy, masked_fill / masked_select and nonzero, with
// their gradients. A method module (Note [Method modules] in
// tensor_methods.ts): every export is a Tensor method and torch.x; the
// index plan and the other internals are in index_internal.ts, and
// torch.where in join.ts.
import { Tensor, normDim } from '../tensor.js';
import { define, op, returns, tensorParam as T } from './op.js';
import { param as p, checkOptions, fmtValue, isOptions } from '../util/args.js';
import * as K from './kernels.js';
import { native } from '../backend/native.js';
import { indexPutInto, indexValues, indexWith, nonzeroCoords, nonzeroMatrix, toIndexTensor, type Index } from './index_internal.js';
import { cat, where } from './join.js';
import { inplaceOf } from './inplace.js';
import { reshape } from './shape.js';
import { isFloating, type DType } from '../dtype.js';

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

// Gather and the scatters read a 0-d input, index or src as a one-element
// vector (PyTorch's ensure_nonempty_dim/size): a 0-d index into a 1-d input
// is one index, as in zeros(10).scatter_(0, tensor(3), 1).
const nonemptyDim = (t: Tensor) => Math.max(t._shape.length, 1);
/** t, or a 0-d t as the one-element vector the kernels take. */
const vec = (t: Tensor) => (t._shape.length === 0 ? t._view([1], [1]) : t);

function checkGatherIndex(x: Tensor, index: Tensor, op: string): void {
  if (index.dtype !== 'int64') throw new TypeError(`${op}: index must be an int64 Tensor`);
  if (index.device !== x.device) throw K.deviceMismatch(op, x.device, index.device);
  if (nonemptyDim(index) !== nonemptyDim(x)) {
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
    const d = normDim(dim, x._shape.length, 'gather');
    const xv = vec(x),
      iv = vec(index);
    // The result has the index's shape (Note [Index sizes]).
    K.checkAllocSize(iv._shape, 'gather', 'the result');
    checkNoNegative(iv, 'gather', d, xv._shape[d]);
    const out = K.empty(iv._shape, x.dtype, 'gather', x.device);
    native.gather(xv._ref(), d, iv._ref(), out._ref());
    return { out: index._shape.length ? out : out._view([]), save: { shape: x._shape, dim: d, index } };
  },
  grads: {
    // Zeros of the input's shape with g added where it was read.
    input: (g, { shape, dim, index }) => scatterAdd(K.empty(shape, g.dtype, 'gather', g.device), dim, index, g),
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
    // Sizes, then no negative index (the kernel would wrap it; PyTorch refuses it).
    const d = checkScatter('scatterAdd', x, dim, index, src);
    const out = K.clone(x);
    native.scatterAdd(vec(out)._ref(), d, vec(index)._ref(), vec(src)._ref());
    return { out, save: { dim: d, index, srcShape: src._shape } };
  },
  grads: {
    input: (g) => g,
    src: (g, { dim, index, srcShape }) => padTo(gather(g, dim, index), srcShape),
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

export const maskedFill_ = inplaceOf(maskedFill);

export const maskedSelect = op(
  'maskedSelect',
  [T.tensor('input'), T.tensor('mask')],
  'the entries of input where mask is true (the two broadcast), as a 1-D tensor',
);
define(maskedSelect, {
  impl: ({ input, mask }): Tensor => {
    if (mask.dtype !== 'bool') throw new TypeError(`maskedSelect: mask must be a bool tensor, got ${mask.dtype}`);
    if (mask.device !== input.device) throw K.deviceMismatch('maskedSelect', input.device, mask.device);
    const shape = K.broadcastShapes(input._shape, mask._shape, 'maskedSelect');
    // A 0-d pair selects from a one-element vector (the result is 1-D either way).
    const full = shape.length ? shape : [1];
    const x = input._shape.join() === full.join() ? input : input.expand(full);
    const m = mask._shape.join() === full.join() ? mask : mask.expand(full);
    return indexWith(x, [m]);
  },
});

// ---- nonzero ------------------------------------------------------------------------------
const nonzeroOp = op(
  'nonzero',
  [T.tensor('input'), p.kw(p.bool('asTuple', false))],
  'the coordinates of the nonzero entries: an int64 [n, input.dim()] tensor, or with asTuple one int64 [n] tensor per dim',
  returns<Tensor | Tensor[]>(),
);
define(nonzeroOp, {
  impl: ({ input, asTuple }): Tensor | Tensor[] => (asTuple ? nonzeroCoords(input, 'nonzero') : nonzeroMatrix(input, 'nonzero')),
});

/**
 * torch.nonzero(input, { asTuple }): the coordinates of input's nonzero
 * entries, an int64 [n, input.dim()] tensor, or with `asTuple` one int64
 * [n] tensor per dim (what x.index(...) takes). Not differentiable.
 */
export function nonzero(input: Tensor, opts?: { asTuple?: false }): Tensor;
export function nonzero(input: Tensor, opts: { asTuple: true }): Tensor[];
export function nonzero(input: Tensor, opts: { asTuple?: boolean }): Tensor | Tensor[];
export function nonzero(input: Tensor, ...rest: unknown[]): Tensor | Tensor[] {
  return (nonzeroOp as unknown as (...a: unknown[]) => Tensor | Tensor[])(input, ...rest);
}
Object.defineProperty(nonzero, 'spec', { value: nonzeroOp.spec });

export const argwhere = op('argwhere', [T.tensor('input')], 'the coordinates of the nonzero entries as an int64 [n, input.dim()] tensor');
define(argwhere, { impl: ({ input }): Tensor => nonzeroMatrix(input, 'argwhere') });

// ---- scatter / scatter_reduce -----------------------------------------------------------------
/** The identity of each reduction (the value an excluded self starts from), by dtype. */
function reduceIdentity(reduce: ScatterReduction, dtype: DType): number {
  if (reduce === 'sum' || reduce === 'mean') return 0;
  if (reduce === 'prod') return 1;
  const float = isFloating(dtype);
  const lo = float ? -Infinity : dtype === 'uint8' ? 0 : dtype === 'int32' ? -(2 ** 31) : -(2 ** 63);
  const hi = float ? Infinity : dtype === 'uint8' ? 255 : dtype === 'int32' ? 2 ** 31 - 1 : 2 ** 63;
  return reduce === 'amax' ? lo : hi;
}

type ScatterReduction = 'sum' | 'prod' | 'mean' | 'amax' | 'amin';
const REDUCE_CODE = { sum: 0, prod: 1, mean: 0, amax: 2, amin: 3 } as const;

/** A 0-d tensor of value in dtype, broadcast (stride 0) to shape. */
function filled(value: number | boolean, dtype: DType, shape: readonly number[], op: string, device: Tensor['device']): Tensor {
  const v = K.binary('Add', K.empty([], dtype, op, device), Number(value), dtype);
  return v._view(
    shape.slice(),
    shape.map(() => 0),
  );
}

/**
 * The scatter_reduce kernel into out (in place). Products and extremes
 * have no CUDA kernel: CUDA tensors go through the host one and back.
 */
function scatterReduceInto(out: Tensor, dim: number, index: Tensor, src: Tensor, code: number): void {
  if (out.device === 'cpu') {
    native.scatterReduce(out._ref(), dim, index._ref(), src._ref(), code);
    return;
  }
  const host = K.toDevice(out, 'cpu', 'scatterReduce', true);
  native.scatterReduce(
    host._ref(),
    dim,
    K.toDevice(index, 'cpu', 'scatterReduce')._ref(),
    K.toDevice(src, 'cpu', 'scatterReduce')._ref(),
    code,
  );
  native.copy(host._ref(), out._ref());
}

/** The checks scatter, scatter_reduce and the in-place forms share; returns the normalised dim. */
function checkScatter(op: string, x: Tensor, dim: number, index: Tensor, src: Tensor | null): number {
  checkGatherIndex(x, index, op);
  const d = normDim(dim, x._shape.length, op);
  if (src !== null) {
    if (src.device !== x.device) throw K.deviceMismatch(op, x.device, src.device);
    if (src.dtype !== x.dtype) throw new TypeError(`${op}: expected self.dtype to be equal to src.dtype (got ${x.dtype} and ${src.dtype})`);
    if (nonemptyDim(src) !== nonemptyDim(index))
      throw new RangeError(
        `${op}: index ${K.fmtShape(index._shape)} and src ${K.fmtShape(src._shape)} must have the same number of dimensions`,
      );
  }
  K.checkAllocSize(index._shape, op, 'the index');
  const [xs, is] = [vec(x)._shape, vec(index)._shape];
  const ss = src === null ? null : vec(src)._shape;
  for (let k = 0; k < is.length; k++) {
    if (k !== d && is[k] > xs[k])
      throw new RangeError(
        `${op}: index ${K.fmtShape(index._shape)} is larger than self ${K.fmtShape(x._shape)} apart from dimension ${d}`,
      );
    if (ss !== null && is[k] > ss[k])
      throw new RangeError(`${op}: index ${K.fmtShape(index._shape)} is larger than src ${K.fmtShape(src!._shape)} in dimension ${k}`);
  }
  checkNoNegative(index, op, d, xs[d]);
  return d;
}

/** src's leading part of index's shape (the part the scatter reads). */
function srcPart(src: Tensor, index: Tensor): Tensor {
  if (src._shape.join() === index._shape.join()) return src;
  const sv = vec(src);
  return sv._view(index._shape.slice(), sv._strides.slice(0, index._shape.length));
}

/** g (of a leading part of shape) in zeros of shape: the gradient of srcPart. */
function padTo(g: Tensor, shape: readonly number[]): Tensor {
  // A 0-d index reads a 1-d src, or a 1-d index of at most one entry a 0-d src: g moves to src's rank first.
  if (g._shape.length !== shape.length) {
    if (g.numel() === 0) return K.empty(shape.slice(), g.dtype, 'scatter', g.device);
    g = reshape(g, shape.length ? [1] : []);
  }
  let out = g;
  for (let d = 0; d < shape.length; d++) {
    const extra = shape[d] - out._shape[d];
    if (extra <= 0) continue;
    const zshape = out._shape.slice();
    zshape[d] = extra;
    out = cat([out, K.empty(zshape, g.dtype, 'scatter', g.device)], d);
  }
  return out;
}

const srcParam = p.custom(
  'src',
  'Tensor|Scalar',
  (v, o): Tensor | number | boolean | null => {
    if (v === null || v instanceof Tensor || typeof v === 'number' || typeof v === 'boolean') return v;
    throw new TypeError(`${o}: argument 'src' must be a Tensor or a number, got ${fmtValue(v)}`);
  },
  null,
);
const valueParam = p.kw(
  p.custom(
    'value',
    'Scalar',
    (v, o): number | boolean | null => {
      if (v === null || typeof v === 'number' || typeof v === 'boolean') return v;
      throw new TypeError(`${o}: argument 'value' must be a number, got ${fmtValue(v)}`);
    },
    null,
  ),
);

export const scatter = op(
  'scatter',
  [T.tensor('input'), p.int('dim'), T.tensor('index'), srcParam, valueParam, p.kw(p.oneOf('reduce', ['add', 'multiply'], null))],
  'a copy of input with src (a tensor, or a number: src or value) written at index along dim; reduce adds or multiplies instead',
);
define(scatter, {
  node: ({ src }) => (src instanceof Tensor ? 'ScatterBackward0' : 'ScatterBackward1'),
  forward: ({ input: x, dim, index, src, value, reduce }) => {
    if ((src === null) === (value === null))
      throw new TypeError('scatter: give exactly one of src (a Tensor or a number) and value (a number)');
    const given = src ?? value!;
    const s = given instanceof Tensor ? given : null;
    const d = checkScatter('scatter', x, dim, index, s);
    const out = K.clone(x);
    const iv = vec(index);
    const sv = s !== null ? vec(s) : filled(given as number | boolean, x.dtype, iv._shape, 'scatter', x.device);
    if (s === null) K.checkScalarFits(Number(given), x.dtype, 'scatter');
    if (reduce === null) native.scatter(vec(out)._ref(), d, iv._ref(), sv._ref());
    else scatterReduceInto(vec(out), d, iv, sv, reduce === 'add' ? REDUCE_CODE.sum : REDUCE_CODE.prod);
    return { out, save: { dim: d, index, reduce, srcShape: s?._shape ?? null } };
  },
  grads: {
    input: (g, s) => {
      if (s.reduce !== null)
        throw new Error(
          `scatter: the derivative of scatter with reduce='${s.reduce}' is not implemented (as in PyTorch); use scatterReduce`,
        );
      return scatter(g, s.dim, s.index, 0);
    },
    src: (g, s) => {
      if (s.reduce !== null)
        throw new Error(
          `scatter: the derivative of scatter with reduce='${s.reduce}' is not implemented (as in PyTorch); use scatterReduce`,
        );
      return padTo(gather(g, s.dim, s.index), s.srcShape!);
    },
  },
});
export const scatter_ = inplaceOf(scatter);
export const scatterAdd_ = inplaceOf(scatterAdd);

export const scatterReduce = op(
  'scatterReduce',
  [
    T.tensor('input'),
    p.int('dim'),
    T.tensor('index'),
    T.tensor('src'),
    p.oneOf('reduce', ['sum', 'prod', 'mean', 'amax', 'amin']),
    p.kw(p.bool('includeSelf', true)),
  ],
  "a copy of input with src reduced in at index along dim ('sum', 'prod', 'mean', 'amax', 'amin'); includeSelf=false leaves input's values out where anything lands",
);
define(scatterReduce, {
  node: 'ScatterReduceBackward0',
  forward: ({ input: x, dim, index, src, reduce, includeSelf }) => {
    if (x.dtype === 'bool') throw new TypeError('scatterReduce: not implemented for bool tensors');
    const d = checkScatter('scatterReduce', x, dim, index, src);
    const out = K.clone(x);
    const ov = vec(out),
      iv = vec(index),
      sv = vec(src);
    if (!includeSelf && iv.numel() > 0)
      native.scatter(
        ov._ref(),
        d,
        iv._ref(),
        filled(reduceIdentity(reduce, x.dtype), x.dtype, iv._shape, 'scatterReduce', x.device)._ref(),
      );
    scatterReduceInto(ov, d, iv, sv, REDUCE_CODE[reduce]);
    let result = out;
    if (reduce === 'mean') {
      const count = K.binary('Add', K.empty(x._shape, x.dtype, 'scatterReduce', x.device), includeSelf ? 1 : 0, x.dtype);
      if (iv.numel() > 0)
        native.scatterAdd(vec(count)._ref(), d, iv._ref(), filled(1, x.dtype, iv._shape, 'scatterReduce', x.device)._ref());
      const n = K.binary('Maximum', count, 1, x.dtype);
      result = isFloating(x.dtype) ? K.binary('Div', out, n, x.dtype) : K.binary('FloorDivide', out, n, x.dtype);
    }
    return { out: result, save: { self: x, dim: d, index, src: srcPart(src, index), srcShape: src._shape, result, reduce, includeSelf } };
  },
  grads: {
    input: (g, s) => scatterReduceGrads(g, s).self,
    src: (g, s) => padTo(scatterReduceGrads(g, s).src, s.srcShape),
  },
});
export const scatterReduce_ = inplaceOf(scatterReduce);

interface ScatterReduceSaved {
  self: Tensor;
  dim: number;
  index: Tensor;
  src: Tensor;
  result: Tensor;
  reduce: ScatterReduction;
  includeSelf: boolean;
}

/** scatter_reduce's gradients, written with ops (so differentiable again), as PyTorch 1.13's scatter_reduce_backward. */
function scatterReduceGrads(g: Tensor, s: ScatterReduceSaved): { self: Tensor; src: Tensor } {
  const { self, dim, index, src, result, reduce, includeSelf } = s;
  let gSelf: Tensor, gSrc: Tensor;
  if (reduce === 'sum') {
    gSelf = g;
    gSrc = gather(g, dim, index);
  } else if (reduce === 'mean') {
    let n = scatterAdd(includeSelf ? g.onesLike() : g.zerosLike(), dim, index, src.onesLike());
    n = maskedFill(n, n.eq(0), 1);
    gSelf = g.div(n);
    gSrc = gather(g, dim, index).div(gather(n, dim, index));
  } else if (reduce === 'prod') {
    // Zeros divide out badly: self's zeros and a lone zero of src among the
    // values landing on one place get the product of the others directly.
    const maskedSelf = maskedFill(self, self.eq(0), 1);
    const maskedSelfResult = scatterReduce(maskedSelf, dim, index, src, 'prod', { includeSelf });
    gSelf = g.mul(maskedSelfResult).div(maskedSelf);
    const srcZero = src.eq(0);
    const srcNumZeros = gather(scatterAdd(self.zerosLike(), dim, index, srcZero.to(self.dtype)), dim, index);
    const srcSingleZero = where(srcZero, srcNumZeros.eq(1), false);
    const maskedSrcResult = scatterReduce(self, dim, index, maskedFill(src, srcSingleZero, 1), 'prod', { includeSelf });
    gSrc = where(
      srcSingleZero,
      gather(g.mul(maskedSrcResult), dim, index),
      gather(g.mul(result), dim, index).div(maskedFill(src, srcZero, 1)),
    );
  } else {
    // amax / amin: shared evenly among the values equal to the extreme.
    const value = gather(result, dim, index);
    const selfIs = self.eq(result).to(g.dtype);
    const srcIs = src.eq(value).to(g.dtype);
    const share = g.div(scatterAdd(selfIs, dim, index, srcIs));
    gSelf = selfIs.mul(share);
    gSrc = srcIs.mul(gather(share, dim, index));
  }
  if (!includeSelf) gSelf = scatter(gSelf, dim, index, 0);
  return { self: gSelf, src: gSrc };
}

// ---- index_fill / index_add / index_copy ---------------------------------------------------------------
/** A 0-d or 1-d int64 index along dim d of x, bounds checked (negatives allowed where `negative`). */
function checkedIndex1d(op: string, x: Tensor, d: number, index: Tensor | number[], negative: boolean): Tensor {
  const idx = toIndexTensor(index, op, x.device, true);
  if (idx.dtype !== 'int64') throw new TypeError(`${op}: index must be an integer tensor, got ${idx.dtype}`);
  if (idx._shape.length > 1) throw new RangeError(`${op}: index must be 0-D or 1-D, got shape ${K.fmtShape(idx._shape)}`);
  K.checkAllocSize(idx._shape, op, 'the index');
  const size = x._shape.length ? x._shape[d] : 1;
  if (idx.numel() > 0) {
    const lo = K.reduce('Amin', idx, [...idx._shape.keys()], false, 'int64').item();
    const hi = K.reduce('Amax', idx, [...idx._shape.keys()], false, 'int64').item();
    const bad = hi >= size ? hi : lo < (negative ? -size : 0) ? lo : null;
    if (bad !== null) throw new RangeError(`${op}: index ${bad} is out of bounds for dimension ${d} with size ${size}`);
  }
  return idx;
}

export const indexFill = op(
  'indexFill',
  [T.tensor('input'), p.int('dim'), indexArg, T.tensorOrScalar('value')],
  'a copy of input with value (a number or a 0-d tensor) at index along dim',
);
define(indexFill, {
  impl: ({ input: x, dim, index, value }): Tensor => {
    const d = normDim(dim, x._shape.length, 'indexFill');
    const idx = checkedIndex1d('indexFill', x, d, index, true);
    const size = x._shape.length ? x._shape[d] : 1;
    // One bool per entry of dim, broadcast over the others.
    const hit = K.empty([size], 'bool', 'indexFill', 'cpu');
    for (const v of indexValues(idx, 'indexFill')) (hit._storage.data as Uint8ClampedArray)[v < 0 ? v + size : v] = 1;
    const mshape = x._shape.map((_, k) => (k === d ? size : 1));
    return maskedFill(x, K.toDevice(hit, x.device, 'indexFill')._view(mshape, K.contiguousStrides(mshape)), value);
  },
});
export const indexFill_ = inplaceOf(indexFill);

/** The source of index_add / index_copy: input's shape with index.numel() entries along dim. */
function checkIndexSource(op: string, x: Tensor, d: number, idx: Tensor, source: Tensor): void {
  if (source.device !== x.device) throw K.deviceMismatch(op, x.device, source.device);
  if (source.dtype !== x.dtype) throw new TypeError(`${op}: self (${x.dtype}) and source (${source.dtype}) must have the same dtype`);
  const want = x._shape.length ? x._shape.map((s, k) => (k === d ? idx.numel() : s)) : [];
  const ok =
    source._shape.length === want.length ? source._shape.every((s, k) => s === want[k]) : source.numel() === 1 && want.length === 0;
  if (!ok)
    throw new RangeError(
      `${op}: source ${K.fmtShape(source._shape)} must have the shape of self ${K.fmtShape(x._shape)} with ${idx.numel()} entries in dimension ${d}`,
    );
}

export const indexAdd = op(
  'indexAdd',
  [T.tensor('input'), p.int('dim'), indexArg, T.tensor('source'), p.kw(p.float('alpha', 1))],
  'a copy of input with alpha * source added at index along dim (duplicates summed)',
);
define(indexAdd, {
  node: 'IndexAddBackward0',
  forward: ({ input: x, dim, index, source, alpha }) => {
    const d = normDim(dim, x._shape.length, 'indexAdd');
    const idx = checkedIndex1d('indexAdd', x, d, index, false);
    checkIndexSource('indexAdd', x, d, idx, source);
    if (!isFloating(x.dtype) && !Number.isInteger(alpha))
      throw new TypeError(`indexAdd: alpha must be an integer for ${x.dtype} tensors, got ${alpha}`);
    const out = K.clone(x);
    native.indexAdd(vec(out)._ref(), d, flatIndexRef(idx), vec(source)._ref(), alpha);
    return { out, save: { dim: d, index: idx, alpha, sourceShape: source._shape } };
  },
  grads: {
    input: (g) => g,
    source: (g, s) => {
      const r = indexSelect(g, s.dim, s.index).reshape(s.sourceShape);
      return s.alpha === 1 ? r : r.mul(s.alpha);
    },
  },
});
export const indexAdd_ = inplaceOf(indexAdd);

export const indexCopy = op(
  'indexCopy',
  [T.tensor('input'), p.int('dim'), indexArg, T.tensor('source')],
  'a copy of input with the entries of source written at index along dim',
);
define(indexCopy, {
  node: 'IndexCopyBackward0',
  forward: ({ input: x, dim, index, source }) => {
    const d = normDim(dim, x._shape.length, 'indexCopy');
    const idx = checkedIndex1d('indexCopy', x, d, index, false);
    checkIndexSource('indexCopy', x, d, idx, source);
    const out = K.clone(x);
    native.indexCopy(vec(out)._ref(), d, flatIndexRef(idx), vec(source)._ref());
    return { out, save: { dim: d, index: idx, sourceShape: source._shape } };
  },
  grads: {
    input: (g, s) => indexFill(g, s.dim, s.index, 0),
    source: (g, s) => indexSelect(g, s.dim, s.index).reshape(s.sourceShape),
  },
});
export const indexCopy_ = inplaceOf(indexCopy);

// ---- repeat_interleave ----------------------------------------------------------------------
const repeatsParam = p.custom(
  'repeats',
  'Tensor|int',
  (v, o): Tensor | number | null => {
    if (v === null || v instanceof Tensor || (typeof v === 'number' && Number.isInteger(v))) return v as Tensor | number | null;
    throw new TypeError(`${o}: argument 'repeats' must be an integer or an integer Tensor, got ${fmtValue(v)}`);
  },
  null,
);

export const repeatInterleave = op(
  'repeatInterleave',
  [T.tensor('input'), repeatsParam, p.optInt('dim'), p.kw(p.optInt('outputSize'))],
  'each entry of input along dim (of the flattened input when dim is null) repeated repeats times (a number or one per entry)',
);
define(repeatInterleave, {
  impl: ({ input, repeats, dim, outputSize }): Tensor => {
    // torch.repeat_interleave(repeats): the indices 0, 1, ... each repeated that often.
    if (repeats === null) {
      if (input._shape.length > 1)
        throw new RangeError(`repeatInterleave: repeats must be 0-d or 1-d, got shape ${K.fmtShape(input._shape)}`);
      const counts = readRepeats(input, input.numel(), 'repeatInterleave');
      const idx = repeatIndex(counts, outputSize, []);
      const out = K.empty([idx.length], 'int64', 'repeatInterleave', 'cpu');
      idx.forEach((v, i) => ((out._storage.data as BigInt64Array)[i] = BigInt(v)));
      return K.toDevice(out, input.device, 'repeatInterleave');
    }
    if (dim !== null && input._shape.length === 0)
      throw new RangeError(`repeatInterleave: dimension specified as ${dim} but tensor has no dimensions`);
    const x = dim === null ? reshape(input, [-1]) : input;
    const d = dim === null ? 0 : normDim(dim, x._shape.length, 'repeatInterleave');
    const size = x._shape.length ? x._shape[d] : 1;
    const counts = typeof repeats === 'number' ? new Array<number>(size).fill(repeats) : readRepeats(repeats, size, 'repeatInterleave');
    if (typeof repeats === 'number' && repeats < 0) throw new RangeError(`repeatInterleave: repeats can not be negative, got ${repeats}`);
    const idx = repeatIndex(counts, outputSize, x._shape.length ? x._shape.map((s, k) => (k === d ? -1 : s)) : [-1]);
    return indexSelect(x._shape.length ? x : reshape(x, [1]), d, idx);
  },
});

/**
 * j repeated counts[j] times, for each j. The total is checked first, with
 * the result's shape (`shape` with -1 where the total goes), so huge
 * repeats fail at once instead of after building a huge index.
 */
function repeatIndex(counts: number[], outputSize: number | null, shape: number[]): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  if (outputSize !== null && outputSize !== n)
    throw new RangeError(`repeatInterleave: outputSize ${outputSize} does not match the total of the repeats (${n})`);
  K.checkAllocSize([n], 'repeatInterleave', 'the index');
  K.checkAllocSize(
    shape.map((s) => (s === -1 ? n : s)),
    'repeatInterleave',
    'the result',
  );
  const idx = new Array<number>(n);
  let at = 0;
  counts.forEach((c, j) => {
    for (let r = 0; r < c; r++) idx[at++] = j;
  });
  return idx;
}

/** A repeats tensor's counts, one per entry of a dim of `size` (a single count repeats for all). */
function readRepeats(r: Tensor, size: number, op: string): number[] {
  if (r.dtype !== 'int64' && r.dtype !== 'int32') throw new TypeError(`${op}: repeats must be an integer tensor, got ${r.dtype}`);
  if (r._shape.length > 1) throw new RangeError(`${op}: repeats must be 0-d or 1-d, got shape ${K.fmtShape(r._shape)}`);
  const host = K.toDevice(K.cast(K.contiguous(r), 'int64'), 'cpu', op, true);
  let vals = Array.from(host._storage.data as BigInt64Array, Number);
  if (vals.length === 1 && size !== 1) vals = new Array<number>(size).fill(vals[0]);
  if (vals.length !== size) throw new RangeError(`${op}: repeats must have the same size as input along dim (${vals.length} != ${size})`);
  for (const v of vals) if (v < 0) throw new RangeError(`${op}: repeats can not be negative, got ${v}`);
  return vals;
}
