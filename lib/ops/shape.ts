// Shape ops. Most are views: a new (shape, strides, offset) over the same
// Storage, no copy. Their gradients undo the view: reshape back, transpose
// back, or write the gradient into zeros where the slice came from.
import { Tensor, normDim } from '../tensor.js';
import { defineOp } from '../autograd/function.js';
import * as K from './kernels.js';
import { promoteTypes, type DType } from '../dtype.js';
import type { Device } from '../backend/cuda.js';

/** The metadata of a view. */
export interface Meta {
  shape: number[];
  strides: number[];
  offset: number;
}
/** How a view is made from its base, applicable to any tensor of that shape. */
export type MetaFn = (t: Tensor) => Meta;

function check(x: unknown, op: string): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${x === null ? 'null' : typeof x}`);
}

function viewOf(t: Tensor, m: Meta): Tensor {
  const v = new Tensor(t._storage, m.shape, m.strides, m.offset, t.dtype);
  v._base = t._base ?? t;
  return v;
}

/**
 * Marks the outputs of split/chunk/unbind made with grad, which PyTorch
 * refuses to modify in place ("Output i of SplitBackward0 is a view ...").
 */
function markMultiOutput(outs: Tensor[], name: string): Tensor[] {
  for (let i = 0; i < outs.length; i++) if (outs[i]._gradFn !== null) outs[i]._multiOutput = `Output ${i} of ${name}`;
  return outs;
}

// ---- slices: narrow, select, index with slices ---------------------------------
/** Zeros of `shape` with g written where fn's view lies (a slice's gradient). */
const embedOp = defineOp({
  name: 'SliceBackwardBackward0',
  forward: (ctx, g: Tensor, shape: number[], fn: MetaFn) => {
    ctx.fn = fn;
    const z = K.empty(shape, g.dtype, 'slice', g.device);
    K.native.copy(g._ref(), viewOf(z, fn(z))._ref());
    return z;
  },
  backward: (ctx, gg) => [sliceBy(gg, ctx.fn, 'SliceBackward0')],
});

const sliceOps = new Map<string, (x: Tensor, fn: MetaFn) => Tensor>();
/** A view given by fn, differentiable; name is PyTorch's node name. */
export function sliceBy(x: Tensor, fn: MetaFn, name: string): Tensor {
  let op = sliceOps.get(name);
  if (!op) {
    op = defineOp({
      name,
      forward: (ctx, t: Tensor, f: MetaFn) => {
        ctx.fn = f;
        ctx.shape = t._shape;
        return viewOf(t, f(t));
      },
      backward: (ctx, g) => [embedOp(g, ctx.shape, ctx.fn)],
    });
    sliceOps.set(name, op);
  }
  return op(x, fn);
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  check(x, 'narrow');
  if (x._shape.length === 0) throw new RangeError('narrow: cannot be applied to a 0-dim tensor');
  const d = normDim(dim, x._shape.length, 'narrow');
  if (!Number.isInteger(start) || !Number.isInteger(length)) throw new TypeError('narrow: start and length must be integers');
  const size = x._shape[d];
  if (start < 0) start += size;
  if (start < 0 || length < 0 || start + length > size) {
    throw new RangeError(`narrow: start (${start}) + length (${length}) exceeds dimension size (${size}) of dim ${d}`);
  }
  return sliceBy(x, (t) => {
    const shape = t._shape.slice();
    shape[d] = length;
    return { shape, strides: t._strides.slice(), offset: t._offset + start * t._strides[d] };
  }, 'SliceBackward0');
}

export function select(x: Tensor, dim: number, index: number): Tensor {
  check(x, 'select');
  if (x._shape.length === 0) throw new RangeError('select: cannot be applied to a 0-dim tensor');
  const d = normDim(dim, x._shape.length, 'select');
  if (!Number.isInteger(index)) throw new TypeError(`select: index must be an integer, got ${K.fmtValue(index)}`);
  const size = x._shape[d];
  if (index < -size || index >= size) {
    throw new RangeError(`select: index ${index} out of range for tensor of size ${K.fmtShape(x._shape)} at dimension ${d}`);
  }
  const i = index < 0 ? index + size : index;
  return sliceBy(x, (t) => ({
    shape: t._shape.filter((_, k) => k !== d),
    strides: t._strides.filter((_, k) => k !== d),
    offset: t._offset + i * t._strides[d],
  }), 'SelectBackward0');
}

// ---- reshaping views -----------------------------------------------------------------
/** Fills in one -1 and checks the element count. */
export function inferSize(size: number[], numel: number, op: string): number[] {
  const out = size.slice();
  let infer = -1;
  let known = 1;
  for (let i = 0; i < out.length; i++) {
    if (out[i] === -1) {
      if (infer >= 0) throw new RangeError(`${op}: only one dimension can be inferred`);
      infer = i;
    } else if (out[i] < 0) {
      throw new RangeError(`${op}: invalid shape dimension ${out[i]}`);
    } else known *= out[i];
  }
  if (infer >= 0) {
    if (known === 0 || numel % known !== 0) throw new RangeError(`${op}: shape ${K.fmtShape(size)} is invalid for input of size ${numel}`);
    out[infer] = numel / known;
  } else if (known !== numel) {
    throw new RangeError(`${op}: shape ${K.fmtShape(size)} is invalid for input of size ${numel}`);
  }
  return out;
}

/**
 * Strides that view x's memory with newShape, or null when the layout
 * cannot (PyTorch's computeStride: dims are merged only where contiguous).
 */
function viewStrides(shape: readonly number[], strides: readonly number[], newShape: number[]): number[] | null {
  const n = K.numelOf(shape);
  if (n === 0 || shape.length === 0) return K.contiguousStrides(newShape);
  const out = new Array<number>(newShape.length);
  let viewD = newShape.length - 1;
  let chunkBase = strides[strides.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d];
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = strides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return null;
  return out;
}

const viewOp = defineOp({
  name: 'ViewBackward0',
  forward: (ctx, x: Tensor, shape: number[], strides: number[]) => {
    ctx.shape = x._shape;
    return viewOf(x, { shape, strides, offset: x._offset });
  },
  backward: (ctx, g) => [g.reshape(ctx.shape)],
});

export function view(x: Tensor, size: number[]): Tensor {
  check(x, 'view');
  const shape = inferSize(size, x.numel(), 'view');
  const strides = viewStrides(x._shape, x._strides, shape);
  if (!strides) {
    throw new RangeError(
      `view: size ${K.fmtShape(shape)} is not compatible with input tensor's size ${K.fmtShape(x._shape)} and stride ` +
        `${K.fmtShape(x._strides)} (at least one dimension spans across two contiguous subspaces). Use reshape() instead.`,
    );
  }
  return viewOp(x, shape, strides);
}

export function reshape(x: Tensor, size: number[]): Tensor {
  check(x, 'reshape');
  const shape = inferSize(size, x.numel(), 'reshape');
  const strides = viewStrides(x._shape, x._strides, shape);
  if (strides) return viewOp(x, shape, strides);
  // A copy, then a view of it: the result owns its memory (not a view).
  const r = viewOp(contiguous(x), shape, K.contiguousStrides(shape));
  r._base = null;
  return r;
}

export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  check(x, 'flatten');
  if (x._shape.length === 0) {
    normDim(start, 0, 'flatten');
    normDim(end, 0, 'flatten');
    return reshape(x, [1]);
  }
  const s = normDim(start, x._shape.length, 'flatten'), e = normDim(end, x._shape.length, 'flatten');
  if (s > e) throw new RangeError('flatten: start_dim cannot come after end_dim');
  const shape = [...x._shape.slice(0, s), K.numelOf(x._shape.slice(s, e + 1)), ...x._shape.slice(e + 1)];
  return reshape(x, shape);
}

export function unflatten(x: Tensor, dim: number, sizes: number[]): Tensor {
  check(x, 'unflatten');
  const d = normDim(dim, x._shape.length, 'unflatten');
  const inner = inferSize(sizes, x._shape[d], 'unflatten');
  return view(x, [...x._shape.slice(0, d), ...inner, ...x._shape.slice(d + 1)]);
}

const unsqueezeOp = defineOp({
  name: 'UnsqueezeBackward0',
  forward: (ctx, x: Tensor, d: number) => {
    ctx.d = d;
    const shape = x._shape.slice(), strides = x._strides.slice();
    const st = d < x._shape.length ? x._shape[d] * x._strides[d] : 1;
    shape.splice(d, 0, 1);
    strides.splice(d, 0, st);
    return viewOf(x, { shape, strides, offset: x._offset });
  },
  backward: (ctx, g) => [g.squeeze(ctx.d)],
});

export function unsqueeze(x: Tensor, dim: number): Tensor {
  check(x, 'unsqueeze');
  return unsqueezeOp(x, normDim(dim, x._shape.length + 1, 'unsqueeze'));
}

const squeezeOp = defineOp({
  name: 'SqueezeBackward0',
  forward: (ctx, x: Tensor, dims: number[]) => {
    ctx.shape = x._shape;
    return viewOf(x, {
      shape: x._shape.filter((_, i) => !dims.includes(i)),
      strides: x._strides.filter((_, i) => !dims.includes(i)),
      offset: x._offset,
    });
  },
  backward: (ctx, g) => [g.reshape(ctx.shape)],
});

export function squeeze(x: Tensor, dim?: number | number[]): Tensor {
  check(x, 'squeeze');
  let dims: number[];
  if (dim === undefined || dim === null) dims = [...x._shape.keys()].filter((i) => x._shape[i] === 1);
  else {
    const list = Array.isArray(dim) ? dim : [dim];
    if (x._shape.length === 0) {
      list.forEach((d) => normDim(d, 0, 'squeeze'));
      return squeezeOp(x, []);
    }
    dims = list.map((d) => normDim(d, x._shape.length, 'squeeze')).filter((d) => x._shape[d] === 1);
  }
  return squeezeOp(x, dims);
}

const permuteOp = defineOp({
  name: 'PermuteBackward0',
  forward: (ctx, x: Tensor, dims: number[]) => {
    ctx.dims = dims;
    return viewOf(x, { shape: dims.map((d) => x._shape[d]), strides: dims.map((d) => x._strides[d]), offset: x._offset });
  },
  backward: (ctx, g) => {
    const inv = new Array<number>(ctx.dims.length);
    (ctx.dims as number[]).forEach((d, i) => (inv[d] = i));
    return [g.permute(inv)];
  },
});

export function permute(x: Tensor, dims: number[]): Tensor {
  check(x, 'permute');
  if (dims.length !== x._shape.length) {
    throw new RangeError(`permute: number of dims don't match in permute (input has ${x._shape.length}, got ${dims.length})`);
  }
  const nd = dims.map((d) => normDim(d, x._shape.length, 'permute'));
  if (new Set(nd).size !== nd.length) throw new RangeError('permute: repeated dim in permute');
  return permuteOp(x, nd);
}

const transposeOp = defineOp({
  name: 'TransposeBackward0',
  forward: (ctx, x: Tensor, a: number, b: number) => {
    ctx.a = a;
    ctx.b = b;
    const shape = x._shape.slice(), strides = x._strides.slice();
    if (shape.length > 0) {
      [shape[a], shape[b]] = [shape[b], shape[a]];
      [strides[a], strides[b]] = [strides[b], strides[a]];
    }
    return viewOf(x, { shape, strides, offset: x._offset });
  },
  backward: (ctx, g) => [g.transpose(ctx.a, ctx.b)],
});

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  check(x, 'transpose');
  const a = normDim(dim0, x._shape.length, 'transpose'), b = normDim(dim1, x._shape.length, 'transpose');
  // A 0-d tensor has no dims to swap (normDim accepts 0 and -1 for it);
  // transposeOp leaves its (empty) shape alone.
  return transposeOp(x, a, b);
}

const expandOp = defineOp({
  name: 'ExpandBackward0',
  forward: (ctx, x: Tensor, shape: number[]) => {
    ctx.shape = x._shape;
    const n = shape.length, k = x._shape.length;
    const strides = shape.map((s, i) => {
      const j = i - (n - k);
      return j < 0 || (x._shape[j] === 1 && s !== 1) ? 0 : x._strides[j];
    });
    return viewOf(x, { shape, strides, offset: x._offset });
  },
  backward: (ctx, g) => [g.sumToShape(ctx.shape)],
});

export function expand(x: Tensor, size: number[]): Tensor {
  check(x, 'expand');
  const n = size.length, k = x._shape.length;
  if (n < k) {
    throw new RangeError(`expand: the number of sizes provided (${n}) must be greater or equal to the number of dimensions in the tensor (${k})`);
  }
  const shape = size.map((s, i) => {
    const j = i - (n - k);
    const cur = j < 0 ? 1 : x._shape[j];
    if (s === -1) {
      if (j < 0) throw new RangeError('expand: -1 is not allowed in a leading, non-existing dimension');
      return cur;
    }
    if (cur !== s && cur !== 1) {
      throw new RangeError(
        `expand: the expanded size of the tensor (${s}) must match the existing size (${cur}) at non-singleton dimension ${i}. ` +
          `Target sizes: ${K.fmtShape(size)}. Tensor sizes: ${K.fmtShape(x._shape)}`,
      );
    }
    return s;
  });
  if (shape.length === k && shape.every((s, i) => s === x._shape[i])) return x;
  return expandOp(x, shape);
}

// ---- copies ------------------------------------------------------------------------------
const cloneOp = defineOp({
  name: 'CloneBackward0',
  forward: (_ctx, x: Tensor) => K.clone(x),
  backward: (_ctx, g) => [g],
});

export function clone(x: Tensor): Tensor {
  check(x, 'clone');
  return cloneOp(x);
}

// A clone too (PyTorch records CloneBackward0), but refused allocations name contiguous.
const contiguousOp = defineOp({
  name: 'CloneBackward0',
  forward: (_ctx, x: Tensor) => K.clone(x, 'contiguous'),
  backward: (_ctx, g) => [g],
});

export function contiguous(x: Tensor): Tensor {
  return x.isContiguous() ? x : contiguousOp(x);
}

const toCopyOp = defineOp({
  name: 'ToCopyBackward0',
  forward: (ctx, x: Tensor, dtype: DType) => {
    ctx.dtype = x.dtype;
    return K.cast(x, dtype);
  },
  backward: (ctx, g) => [g.to(ctx.dtype)],
});

export function toDType(x: Tensor, dtype: DType): Tensor {
  return toCopyOp(x, dtype);
}

// A move between devices; its gradient is the move back.
const toDeviceOp = defineOp({
  name: 'ToCopyBackward0',
  forward: (ctx, x: Tensor, device: Device) => {
    ctx.device = x.device;
    return K.toDevice(x, device, 'to');
  },
  backward: (ctx, g) => [g.to(ctx.device)],
});

/** x on another (canonical, checked) device: a copy. */
export function toDevice(x: Tensor, device: Device): Tensor {
  return toDeviceOp(x, device);
}

// ---- joining and splitting --------------------------------------------------------------
const catOp = defineOp({
  name: 'CatBackward0',
  forward: (ctx, tensors: Tensor[], dim: number) => {
    let dtype = tensors[0].dtype;
    for (const t of tensors) dtype = promoteTypes(dtype, t.dtype);
    const parts = tensors.filter((t) => !(t._shape.length === 1 && t._shape[0] === 0));
    const ref = parts[0] ?? tensors[0];
    const shape = ref._shape.slice();
    shape[dim] = parts.reduce((n, t) => n + t._shape[dim], 0);
    const out = K.empty(shape, dtype, 'cat', ref.device);
    let at = 0;
    for (const t of parts) {
      const len = t._shape[dim];
      const s = out._shape.slice();
      s[dim] = len;
      if (len > 0) K.native.copy(t._ref(), K.makeRef(out._storage.data, at * out._strides[dim], s, out._strides));
      at += len;
    }
    ctx.sizes = tensors.map((t) => (t._shape.length === 1 && t._shape[0] === 0 ? 0 : t._shape[dim]));
    ctx.dim = dim;
    return out;
  },
  backward: (ctx, g) => {
    let at = 0;
    return (ctx.sizes as number[]).map((len) => {
      const r = g.narrow(ctx.dim, at, len);
      at += len;
      return r;
    });
  },
});

export function cat(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new TypeError('cat: expected a non-empty array of Tensors');
  tensors.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new TypeError(`cat: element ${i} is not a Tensor`);
  });
  // The copies below would move data across devices without complaint.
  K.sameDeviceAll('cat', tensors);
  const parts = tensors.filter((t) => !(t._shape.length === 1 && t._shape[0] === 0));
  const first = parts[0] ?? tensors[0];
  if (first._shape.length === 0) throw new RangeError('cat: zero-dimensional tensor (at position 0) cannot be concatenated');
  const d = normDim(dim, first._shape.length, 'cat');
  for (const [i, t] of tensors.entries()) {
    if (t._shape.length === 1 && t._shape[0] === 0) continue;
    if (t._shape.length !== first._shape.length || t._shape.some((s, k) => k !== d && s !== first._shape[k])) {
      throw new RangeError(
        `cat: sizes of tensors must match except in dimension ${d}: expected ${K.fmtShape(first._shape)} but got ${K.fmtShape(t._shape)} for tensor ${i}`,
      );
    }
  }
  return catOp(tensors, d);
}

export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new TypeError('stack: expected a non-empty array of Tensors');
  const first = tensors[0];
  check(first, 'stack');
  tensors.forEach((t, i) => {
    check(t, 'stack');
    if (t._shape.join() !== first._shape.join()) {
      throw new RangeError(`stack: expects each tensor to be equal size, but got ${K.fmtShape(first._shape)} at entry 0 and ${K.fmtShape(t._shape)} at entry ${i}`);
    }
  });
  const d = normDim(dim, first._shape.length + 1, 'stack');
  return cat(tensors.map((t) => unsqueeze(t, d)), d);
}

export function split(x: Tensor, splitSize: number | number[], dim = 0): Tensor[] {
  check(x, 'split');
  const d = normDim(dim, x._shape.length, 'split');
  const size = x._shape[d];
  let sizes: number[];
  if (Array.isArray(splitSize)) {
    for (const s of splitSize as unknown[]) {
      if (typeof s !== 'number' || !Number.isInteger(s)) throw new TypeError(`split: split sizes must be integers, got ${K.fmtShape(splitSize)}`);
      if (s < 0) throw new RangeError(`split: split sizes must be non-negative, got ${K.fmtShape(splitSize)}`);
    }
    if (splitSize.reduce((a, b) => a + b, 0) !== size) {
      throw new RangeError(`split: split sizes ${K.fmtShape(splitSize)} do not sum to the size ${size} of dim ${d}`);
    }
    sizes = splitSize;
  } else {
    if (!Number.isInteger(splitSize) || splitSize <= 0) throw new RangeError(`split: split size must be a positive integer, got ${K.fmtValue(splitSize)}`);
    sizes = [];
    for (let at = 0; at < size; at += splitSize) sizes.push(Math.min(splitSize, size - at));
    if (sizes.length === 0) sizes.push(0);
  }
  let at = 0;
  return markMultiOutput(sizes.map((len) => {
    const r = narrow(x, d, at, len);
    at += len;
    return r;
  }), Array.isArray(splitSize) ? 'SplitWithSizesBackward0' : 'SplitBackward0');
}

export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  check(x, 'chunk');
  if (!Number.isInteger(chunks) || chunks <= 0) throw new RangeError(`chunk: chunks must be a positive integer, got ${K.fmtValue(chunks)}`);
  const d = normDim(dim, x._shape.length, 'chunk');
  return split(x, Math.max(1, Math.ceil(x._shape[d] / chunks)), d);
}

export function unbind(x: Tensor, dim = 0): Tensor[] {
  check(x, 'unbind');
  const d = normDim(dim, x._shape.length, 'unbind');
  return markMultiOutput(Array.from({ length: x._shape[d] }, (_, i) => select(x, d, i)), 'UnbindBackward0');
}

export function repeat(x: Tensor, reps: number[]): Tensor {
  check(x, 'repeat');
  if (!Array.isArray(reps)) throw new TypeError(`repeat: repeats must be an array of integers, got ${K.fmtValue(reps)}`);
  for (const r of reps) {
    if (typeof r !== 'number' || !Number.isInteger(r)) throw new TypeError(`repeat: repeats must be integers, got ${K.fmtValue(r)} in ${K.fmtShape(reps)}`);
  }
  if (reps.length < x._shape.length) {
    throw new RangeError(
      'repeat: Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor ' +
        `(got ${reps.length} repeats for a tensor of shape ${K.fmtShape(x._shape)})`,
    );
  }
  // Every check on the result comes before the reshape/expand below, whose
  // own errors would name reshape or contiguous.
  for (const r of reps) if (r < 0) throw new RangeError(`repeat: Trying to create tensor with negative dimension ${r}: ${K.fmtShape(reps)}`);
  const shape = [...Array(reps.length - x._shape.length).fill(1), ...x._shape];
  shape.forEach((s, i) => {
    if (s * reps[i] >= 2 ** 63) {
      throw new RangeError(`repeat: the size of dim ${i} would be ${s} * ${reps[i]}, which overflows int64 (repeats ${K.fmtShape(reps)}, shape ${K.fmtShape(x._shape)})`);
    }
  });
  const outShape = shape.map((s, i) => s * reps[i]);
  if (K.numelOf(outShape) >= 2 ** 63) {
    throw new RangeError(`repeat: the result of shape ${K.fmtShape(outShape)} has more elements than int64 can count (repeats ${K.fmtShape(reps)}, shape ${K.fmtShape(x._shape)})`);
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
    if (e instanceof RangeError && /^\w+: cannot allocate /.test(e.message)) throw new RangeError(e.message.replace(/^\w+: /, 'repeat: '));
    throw e;
  }
}
