// Indexing: Python's x[...] as x.index(...), index_select, gather,
// scatter_add, where and masked_fill, with their gradients.
//
// Note [Index plan]: an index list splits into a basic part (numbers,
// slices, null, '...'), which is a view (no copy), and an advanced part
// (integer tensors, arrays or bool masks on some dims of that view), which
// gathers rows. The advanced dims are moved to the front and flattened to
// one, so a single native indexSelect (or indexCopy / indexAdd for writes
// and gradients) does the work.
import { Tensor, normDim, type TensorOrScalar } from '../tensor.js';
import { defineOp } from '../autograd/function.js';
import { noGrad } from '../autograd/grad_mode.js';
import * as K from './kernels.js';
import { sliceBy, type Meta } from './shape.js';
import { checkInplace } from './inplace.js';
import { binaryDType } from './kernels.js';
import type { Device } from '../backend/cuda.js';

export type Index = number | string | null | Tensor | number[] | boolean[];

function check(x: unknown, op: string): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${x === null ? 'null' : typeof x}`);
}

/**
 * An int64 (or bool mask) index tensor from a Tensor or a JS array, on
 * `device`: arrays are built there, tensors on another device move there
 * (PyTorch lets a CPU index pick from a CUDA tensor) unless `strict`, where
 * the mismatch is an error as in PyTorch's index_select.
 */
function toIndexTensor(v: Tensor | number[] | boolean[], op: string, device: Device, strict = false): Tensor {
  const t = hostIndexTensor(v, op);
  if (t.device === device) return t;
  if (strict && v instanceof Tensor) throw K.deviceMismatch(op, device, t.device);
  return K.toDevice(t, device, op);
}

function hostIndexTensor(v: Tensor | number[] | boolean[], op: string): Tensor {
  if (!(v instanceof Tensor) && !Array.isArray(v)) {
    throw new TypeError(`${op}: index must be an integer Tensor or an array of integers, got ${v === null ? 'null' : typeof v}`);
  }
  if (v instanceof Tensor) {
    if (v.dtype === 'int64' || v.dtype === 'bool' || v.dtype === 'uint8') return v;
    if (v.dtype === 'int32') return K.cast(v, 'int64');
    throw new TypeError(`${op}: tensors used as indices must be long, int, byte or bool tensors, got ${v.dtype}`);
  }
  if (v.length > 0 && typeof v[0] === 'boolean') {
    const t = K.empty([v.length], 'bool', op, 'cpu');
    (v as boolean[]).forEach((b, i) => ((t._storage.data as Uint8ClampedArray)[i] = b ? 1 : 0));
    return t;
  }
  const t = K.empty([v.length], 'int64', op, 'cpu');
  const data = t._storage.data as BigInt64Array;
  (v as number[]).forEach((n, i) => {
    if (!Number.isInteger(n)) throw new TypeError(`${op}: index arrays must hold integers, got ${K.fmtValue(n)}`);
    data[i] = BigInt(n);
  });
  return t;
}

/** The coordinates of the true entries of a mask, one int64 tensor per dim, on the mask's device. */
function nonzero(mask: Tensor, op: string): Tensor[] {
  // The count of hits decides the output's size, so the mask is read on the host.
  const flat = K.toDevice(mask, 'cpu', op, true)._storage.data as Uint8Array;
  const shape = mask._shape;
  const strides = K.contiguousStrides(shape);
  const hits: number[] = [];
  for (let i = 0; i < flat.length; i++) if (flat[i]) hits.push(i);
  return shape.map((_, d) => {
    const t = K.empty([hits.length], 'int64', op, 'cpu');
    const data = t._storage.data as BigInt64Array;
    hits.forEach((h, k) => (data[k] = BigInt(Math.floor(h / strides[d]) % shape[d])));
    return K.toDevice(t, mask.device, op);
  });
}

interface Plan {
  basic: ((t: Tensor) => Meta) | null;
  basicName: string;
  /** Advanced indices on dims of the basic view. */
  adv: { dim: number; index: Tensor }[];
}

function parseSlice(s: string, size: number, op: string): [number, number, number] {
  const parts = s.split(':');
  if (parts.length > 3) throw new TypeError(`${op}: invalid slice '${s}'`);
  const num = (p: string | undefined): number | null => {
    if (p === undefined || p.trim() === '') return null;
    const v = Number(p);
    if (!Number.isInteger(v)) throw new TypeError(`${op}: invalid slice '${s}'`);
    return v;
  };
  const step = num(parts[2]) ?? 1;
  if (step <= 0) throw new RangeError(`${op}: slice step must be positive, got ${step}`);
  const clampIdx = (v: number | null, dflt: number) => {
    if (v === null) return dflt;
    if (v < 0) v += size;
    return Math.min(Math.max(v, 0), size);
  };
  const start = clampIdx(num(parts[0]), 0);
  const stop = Math.max(clampIdx(num(parts[1]), size), start);
  return [start, stop, step];
}

function plan(x: Tensor, idx: Index[], op: string): Plan {
  // Expand '...' and bool masks first so every entry maps to input dims.
  const consumes = (v: Index) =>
    v === null ? 0 : v === '...' ? 0 : v instanceof Tensor && (v.dtype === 'bool' || v.dtype === 'uint8') ? Math.max(v._shape.length, 1) : 1;
  const used = idx.reduce<number>((n, v) => n + consumes(v), 0);
  if (idx.filter((v) => v === '...').length > 1) throw new RangeError(`${op}: an index can only have a single ellipsis ('...')`);
  if (used > x._shape.length) {
    throw new RangeError(`${op}: too many indices for tensor of dimension ${x._shape.length} (got ${used})`);
  }
  const steps: ((m: Meta) => Meta)[] = [];
  const adv: { dim: number; index: Tensor }[] = [];
  let inDim = 0; // dim of x the next entry consumes
  let outDim = 0; // dim of the view it produces
  let onlySelect = true;
  for (const v of idx) {
    if (v === '...') {
      const skip = x._shape.length - used;
      inDim += skip;
      outDim += skip;
      onlySelect = false;
      continue;
    }
    if (v === null) {
      const at = outDim;
      steps.push((m) => ({ shape: [...m.shape.slice(0, at), 1, ...m.shape.slice(at)], strides: [...m.strides.slice(0, at), 0, ...m.strides.slice(at)], offset: m.offset }));
      outDim++;
      onlySelect = false;
      continue;
    }
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) throw new TypeError(`${op}: index ${K.fmtValue(v)} is not an integer`);
      const size = x._shape[inDim];
      if (v < -size || v >= size) throw new RangeError(`${op}: index ${v} is out of bounds for dimension ${inDim} with size ${size}`);
      const i = v < 0 ? v + size : v;
      const at = outDim;
      steps.push((m) => ({
        shape: m.shape.filter((_, k) => k !== at),
        strides: m.strides.filter((_, k) => k !== at),
        offset: m.offset + i * m.strides[at],
      }));
      inDim++;
      continue;
    }
    if (typeof v === 'string') {
      onlySelect = false;
      const [start, stop, step] = parseSlice(v, x._shape[inDim], op);
      const at = outDim;
      const len = Math.ceil((stop - start) / step);
      steps.push((m) => {
        const shape = m.shape.slice(), strides = m.strides.slice();
        shape[at] = len;
        const offset = m.offset + start * strides[at];
        strides[at] *= step;
        return { shape, strides, offset };
      });
      inDim++;
      outDim++;
      continue;
    }
    if (v instanceof Tensor || Array.isArray(v)) {
      onlySelect = false;
      const t = toIndexTensor(v, op, x.device);
      if (t.dtype === 'bool' || t.dtype === 'uint8') {
        const nd = Math.max(t._shape.length, 1);
        const maskShape = t._shape.length === 0 ? [1] : t._shape;
        for (let k = 0; k < nd; k++) {
          if (maskShape[k] !== x._shape[inDim + k]) {
            throw new RangeError(`${op}: the shape of the mask ${K.fmtShape(t._shape)} at index ${k} does not match the shape of the indexed tensor ${K.fmtShape(x._shape)} at index ${inDim + k}`);
          }
        }
        nonzero(t._shape.length === 0 ? t._view([1]) : t, op).forEach((coords, k) => adv.push({ dim: outDim + k, index: coords }));
        inDim += nd;
        outDim += nd;
      } else {
        adv.push({ dim: outDim, index: t });
        inDim++;
        outDim++;
      }
      continue;
    }
    throw new TypeError(`${op}: unsupported index ${K.fmtValue(v)}`);
  }
  const basic = steps.length
    ? (t: Tensor) => steps.reduce((m, f) => f(m), { shape: t._shape.slice(), strides: t._strides.slice(), offset: t._offset } as Meta)
    : null;
  return { basic, basicName: onlySelect ? 'SelectBackward0' : 'SliceBackward0', adv };
}

/** The layout of the advanced step (Note [Index plan]). */
interface AdvLayout {
  perm: number[]; // advanced dims first, then the rest
  advShape: number[]; // sizes of the advanced dims
  rest: number[]; // sizes of the other dims
  linear: Tensor; // int64 linear index into the flattened advanced dims
  indexShape: number[]; // broadcast shape of the index tensors
  place: number; // where the index dims go in the result
}

function advLayout(v: Tensor, adv: { dim: number; index: Tensor }[], op: string): AdvLayout {
  const dims = adv.map((a) => a.dim);
  const perm = [...dims, ...[...v._shape.keys()].filter((d) => !dims.includes(d))];
  const advShape = dims.map((d) => v._shape[d]);
  const rest = perm.slice(dims.length).map((d) => v._shape[d]);
  let indexShape: number[] = [];
  for (const a of adv) indexShape = K.broadcastShapes(indexShape, a.index._shape, op);
  // Sizes first (Note [Index sizes]): the linear index and the result are
  // materialised, and the bounds check below reads every index entry.
  K.checkAllocSize(indexShape, op, 'the index');
  K.checkAllocSize([...indexShape, ...rest], op, 'the result');
  // linear = sum_k idx_k * prod(advShape[k+1:]) with negative indices wrapped
  // and bounds checked here, so the error names the dim and its size.
  let linear: Tensor | null = null;
  let mult = 1;
  for (let k = adv.length - 1; k >= 0; k--) {
    const size = advShape[k];
    let ix = adv[k].index;
    const lo = ix.numel() ? ix.amin().item() : 0, hi = ix.numel() ? ix.amax().item() : 0;
    if (ix.numel() > 0 && (lo < -size || hi >= size)) {
      const bad = lo < -size ? lo : hi;
      throw new RangeError(`${op}: index ${bad} is out of bounds for dimension ${dims[k]} with size ${size}`);
    }
    if (lo < 0) ix = K.binary('Remainder', ix, size);
    const term = mult === 1 ? ix : K.binary('Mul', ix, mult);
    linear = linear ? K.binary('Add', linear, term) : term;
    mult *= size;
  }
  // Adjacent advanced dims keep their place; scattered ones go first (NumPy).
  const adjacent = dims.every((d, i) => i === 0 || d === dims[i - 1] + 1);
  return {
    perm,
    advShape,
    rest,
    linear: K.contiguous(linear!.expand(indexShape))._view([K.numelOf(indexShape)]),
    indexShape,
    place: adjacent ? dims[0] : 0,
  };
}

/** Moves the index dims (first in `t`) to `place`. */
function placeIndexDims(t: Tensor, nIndex: number, place: number): Tensor {
  if (place === 0) return t;
  const nd = t._shape.length;
  const order = [...Array(nd).keys()];
  const idxDims = order.slice(0, nIndex);
  const others = order.slice(nIndex);
  return t.permute([...others.slice(0, place), ...idxDims, ...others.slice(place)]);
}

function gatherAdvanced(v: Tensor, L: AdvLayout): Tensor {
  const flat = K.contiguous(v.permute(L.perm)).reshape([K.numelOf(L.advShape), ...L.rest]);
  const out = K.empty([L.linear._shape[0], ...L.rest], v.dtype, 'index', v.device);
  K.native.indexSelect(flat._ref(), 0, L.linear._ref(), out._ref());
  return placeIndexDims(out._view([...L.indexShape, ...L.rest]), L.indexShape.length, L.place);
}

/** Zeros of v's shape with g summed in at the indexed places. */
function scatterAdvanced(g: Tensor, shape: number[], L: AdvLayout): Tensor {
  const nIdx = L.indexShape.length;
  // Undo placeIndexDims: bring the index dims back to the front.
  let gf = g;
  if (L.place !== 0) {
    const nd = g._shape.length;
    const order = [...Array(nd).keys()];
    gf = g.permute([...order.slice(L.place, L.place + nIdx), ...order.slice(0, L.place), ...order.slice(L.place + nIdx)]);
  }
  const src = K.contiguous(gf).reshape([L.linear._shape[0], ...L.rest]);
  const acc = K.empty([K.numelOf(L.advShape), ...L.rest], g.dtype, 'index', g.device);
  K.native.indexAdd(acc._ref(), 0, L.linear._ref(), K.contiguous(src)._ref(), 1);
  const permuted = acc._view([...L.advShape, ...L.rest]);
  const inv = new Array<number>(L.perm.length);
  L.perm.forEach((d, i) => (inv[d] = i));
  return K.contiguous(permuted.permute(inv));
}

const indexOp: (v: Tensor, L: AdvLayout) => Tensor = defineOp({
  name: 'IndexBackward0',
  forward: (ctx, v: Tensor, L: AdvLayout) => {
    ctx.L = L;
    ctx.shape = v._shape;
    return gatherAdvanced(v, L);
  },
  backward: (ctx, g): Tensor[] => [indexPutBackward(g, ctx.shape, ctx.L)],
});
const indexPutBackward: (g: Tensor, shape: number[], L: AdvLayout) => Tensor = defineOp({
  name: 'IndexPutBackward0',
  forward: (ctx, g: Tensor, shape: number[], L: AdvLayout) => {
    ctx.L = L;
    return scatterAdvanced(g, shape, L);
  },
  backward: (ctx, gg): Tensor[] => [indexOp(gg, ctx.L)],
});

export function index(x: Tensor, idx: Index[]): Tensor {
  check(x, 'index');
  const p = plan(x, idx, 'index');
  let v = p.basic ? sliceBy(x, p.basic, p.basicName) : x;
  if (p.adv.length) v = indexOp(v, advLayout(v, p.adv, 'index'));
  return v;
}

export function indexPut_(x: Tensor, idx: Index[], value: TensorOrScalar): void {
  check(x, 'indexPut_');
  // PyTorch's index_put_ only warns on an expanded tensor: no overlap check.
  checkInplace(x, 'indexPut_', false);
  const p = plan(x, idx, 'indexPut_');
  noGrad(() => {
    const v = p.basic ? new Tensor(x._storage, ...metaArgs(p.basic(x)), x.dtype) : x;
    const dev = x.device;
    // A value on another device moves to x's (PyTorch accepts a CPU scalar tensor).
    const onX = (t: Tensor) => (t.device === dev ? t : K.toDevice(t, dev, 'indexPut_'));
    if (!p.adv.length) {
      const val = value instanceof Tensor ? onX(value) : K.binary('Add', K.empty([], x.dtype, 'indexPut_', dev), value as number, x.dtype);
      K.broadcastShapes(v._shape, val._shape, 'indexPut_');
      K.native.copy(K.broadcastRef(K.cast(val, x.dtype), v._shape), v._ref());
    } else {
      const L = advLayout(v, p.adv, 'indexPut_');
      const resultShape = [...L.indexShape, ...L.rest];
      const val = value instanceof Tensor ? K.cast(onX(value), x.dtype) : K.binary('Add', K.empty([], x.dtype, 'indexPut_', dev), value as number, x.dtype);
      K.broadcastShapes(placeIndexDims(K.empty(resultShape, 'bool', 'indexPut_', 'cpu'), L.indexShape.length, L.place)._shape, val._shape, 'indexPut_');
      // Writes go through a view of v with the advanced dims flattened when
      // the layout allows, else through a copy that is written back.
      const permuted = v.permute(L.perm);
      const src = K.contiguous(
        K.contiguous(placeIndexDims(K.empty(resultShape, x.dtype, 'indexPut_', dev), L.indexShape.length, L.place).add(val)),
      );
      let srcFront = src;
      if (L.place !== 0) {
        const nIdx = L.indexShape.length;
        const order = [...Array(src._shape.length).keys()];
        srcFront = K.contiguous(src.permute([...order.slice(L.place, L.place + nIdx), ...order.slice(0, L.place), ...order.slice(L.place + nIdx)]));
      }
      const flatSrc = srcFront._view([L.linear._shape[0], ...L.rest]);
      let target: Tensor;
      try {
        target = permuted.view([K.numelOf(L.advShape), ...L.rest]);
      } catch {
        target = K.contiguous(permuted)._view([K.numelOf(L.advShape), ...L.rest]);
        K.native.indexCopy(target._ref(), 0, L.linear._ref(), flatSrc._ref());
        K.native.copy(target._view([...L.advShape, ...L.rest])._ref(), permuted._ref());
        x._bumpVersion();
        return;
      }
      K.native.indexCopy(target._ref(), 0, L.linear._ref(), flatSrc._ref());
    }
    x._bumpVersion();
  });
}

function metaArgs(m: Meta): [number[], number[], number] {
  return [m.shape, m.strides, m.offset];
}

// ---- index_select / gather / scatter_add -------------------------------------------
const indexSelectOp = defineOp({
  name: 'IndexSelectBackward0',
  forward: (ctx, x: Tensor, dim: number, index: Tensor) => {
    ctx.shape = x._shape;
    ctx.dim = dim;
    ctx.index = index;
    const shape = x._shape.slice();
    if (shape.length) shape[dim] = index.numel();
    const out = K.empty(shape, x.dtype, 'indexSelect', x.device);
    if (x._shape.length === 0) K.native.copy(x._ref(), out._ref());
    else K.native.indexSelect(x._ref(), dim, index._view([index.numel()], [index._shape.length ? index._strides[0] : 0])._ref(), out._ref());
    return out;
  },
  backward: (ctx, g) => [indexAddInto(g, ctx.shape, ctx.dim, ctx.index)],
});

const indexAddOp = defineOp({
  name: 'IndexAddBackward0',
  forward: (ctx, g: Tensor, shape: number[], dim: number, index: Tensor) => {
    ctx.dim = dim;
    ctx.index = index;
    const out = K.empty(shape, g.dtype, 'indexSelect', g.device);
    K.native.indexAdd(out._ref(), dim, index._view([index.numel()], [index._shape.length ? index._strides[0] : 0])._ref(), K.contiguous(g)._ref(), 1);
    return out;
  },
  backward: (ctx, gg) => [gg.indexSelect(ctx.dim, ctx.index)],
});
function indexAddInto(g: Tensor, shape: number[], dim: number, index: Tensor): Tensor {
  if (shape.length === 0) return g.reshape([]);
  return indexAddOp(g, shape, dim, index);
}

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
  if (v < 0) throw new RangeError(`${op}: index ${v} is out of range for dimension ${dim} with size ${size} (negative indices are not allowed)`);
}

export function indexSelect(x: Tensor, dim: number, index: Tensor | number[]): Tensor {
  check(x, 'indexSelect');
  const idx = toIndexTensor(index, 'indexSelect', x.device, true);
  if (idx.dtype !== 'int64') throw new TypeError(`indexSelect: index must be an integer tensor, got ${idx.dtype}`);
  if (idx._shape.length > 1) throw new RangeError(`indexSelect: index must be 0-D or 1-D, got shape ${K.fmtShape(idx._shape)}`);
  const d = normDim(dim, x._shape.length, 'indexSelect');
  // Sizes first (Note [Index sizes]).
  K.checkAllocSize(idx._shape, 'indexSelect', 'the index');
  if (x._shape.length) K.checkAllocSize(x._shape.map((s, i) => (i === d ? idx.numel() : s)), 'indexSelect', 'the result');
  checkNoNegative(idx, 'indexSelect', d, x._shape.length ? x._shape[d] : 1);
  return indexSelectOp(x, d, idx);
}

const gatherOp = defineOp({
  name: 'GatherBackward0',
  forward: (ctx, x: Tensor, dim: number, index: Tensor) => {
    ctx.shape = x._shape;
    ctx.dim = dim;
    ctx.index = index;
    const out = K.empty(index._shape, x.dtype, 'gather', x.device);
    K.native.gather(x._ref(), dim, index._ref(), out._ref());
    return out;
  },
  backward: (ctx, g) => [scatterAddOp(K.empty(ctx.shape, g.dtype, 'gather', g.device), ctx.dim, ctx.index, g)],
});

const scatterAddOp = defineOp({
  name: 'ScatterAddBackward0',
  forward: (ctx, x: Tensor, dim: number, index: Tensor, src: Tensor) => {
    ctx.dim = dim;
    ctx.index = index;
    const out = K.clone(x);
    K.native.scatterAdd(out._ref(), dim, index._ref(), K.contiguous(src)._ref());
    return out;
  },
  // Tensor inputs are (x, index, src); index gets no gradient.
  backward: (ctx, g) => [g, null, g.gather(ctx.dim, ctx.index)],
});

function checkGatherIndex(x: Tensor, index: Tensor, op: string): void {
  if (!(index instanceof Tensor) || index.dtype !== 'int64') throw new TypeError(`${op}: index must be an int64 Tensor`);
  if (index.device !== x.device) throw K.deviceMismatch(op, x.device, index.device);
  if (index._shape.length !== x._shape.length) {
    throw new RangeError(`${op}: index ${K.fmtShape(index._shape)} and input ${K.fmtShape(x._shape)} must have the same number of dimensions`);
  }
}

export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  check(x, 'gather');
  checkGatherIndex(x, index, 'gather');
  // 0-d input and index behave as one-element vectors, as in PyTorch.
  if (x._shape.length === 0) {
    normDim(dim, 0, 'gather');
    return gather(x.reshape([1]), 0, index.reshape([1])).reshape([]);
  }
  const d = normDim(dim, x._shape.length, 'gather');
  // The result has the index's shape (Note [Index sizes]).
  K.checkAllocSize(index._shape, 'gather', 'the result');
  checkNoNegative(index, 'gather', d, x._shape[d]);
  return gatherOp(x, d, index);
}

export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  check(x, 'scatterAdd');
  check(src, 'scatterAdd');
  checkGatherIndex(x, index, 'scatterAdd');
  if (src.device !== x.device) throw K.deviceMismatch('scatterAdd', x.device, src.device);
  // The kernel visits every index entry (Note [Index sizes]).
  K.checkAllocSize(index._shape, 'scatterAdd', 'the index');
  return scatterAddOp(x, normDim(dim, x._shape.length, 'scatterAdd'), index, src);
}

// ---- where / masked_fill ---------------------------------------------------------------------
const whereOp = defineOp({
  name: 'WhereBackward0',
  forward: (ctx, cond: Tensor, a: Tensor, b: Tensor) => {
    ctx.saveForBackward(cond);
    const shape = K.broadcastShapes(K.broadcastShapes(cond._shape, a._shape, 'where'), b._shape, 'where');
    const dt = binaryDType(a, b);
    const out = K.output(shape, dt, 'where', a.device);
    K.native.where(K.broadcastRef(K.cast(cond, 'bool'), shape), K.broadcastRef(K.cast(a, dt), shape), K.broadcastRef(K.cast(b, dt), shape), out._ref());
    return out;
  },
  backward: (ctx, g) => {
    const [cond] = ctx.savedTensors;
    const zero = K.empty([], g.dtype, 'where', g.device);
    return [null, where(cond, g, zero), where(cond, zero, g)];
  },
});

export function where(cond: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor {
  check(cond, 'where');
  if (cond.dtype !== 'bool' && cond.dtype !== 'uint8') throw new TypeError(`where: condition must be a bool tensor, got ${cond.dtype}`);
  const dt = binaryDType(a, b);
  // Numbers become 0-d tensors on the tensors' device; a 0-d CPU tensor
  // joins a CUDA one, as in binary ops (kernels.ts onOneDevice).
  const dev = a instanceof Tensor ? a.device : b instanceof Tensor ? b.device : cond.device;
  const scalar = (v: TensorOrScalar): Tensor => {
    if (!(v instanceof Tensor)) return K.binary('Add', K.empty([], dt, 'where', dev), v, dt);
    return v.device !== dev && v.device === 'cpu' && v._shape.length === 0 ? K.toDevice(v, dev, 'where') : v;
  };
  const ta = scalar(a), tb = scalar(b);
  K.sameDevice('where', cond, ta, tb);
  return whereOp(cond, ta, tb);
}

export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  check(x, 'maskedFill');
  check(mask, 'maskedFill');
  if (mask.dtype !== 'bool') throw new TypeError(`maskedFill: mask must be a bool tensor, got ${mask.dtype}`);
  if (mask.device !== x.device) throw K.deviceMismatch('maskedFill', x.device, mask.device);
  const v = K.binary('Add', K.empty([], x.dtype, 'maskedFill', x.device), value, x.dtype);
  return where(mask, v, x);
}
