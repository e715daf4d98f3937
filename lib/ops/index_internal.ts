// Indexing internals shared by the indexing ops (indexing.ts) and kept out
// of that method module (Note [Method modules] in tensor_methods.ts): the
// index plan of x.index(...) and x.indexPut_(...), the advanced-index
// gather and scatter with their declared nodes, and the checks
// index_select, gather and scatter_add share.
//
// Note [Index plan]: an index list splits into a basic part (numbers,
// slices, null, '...'), which is a view (no copy), and an advanced part
// (integer tensors, arrays or bool masks on some dims of that view), which
// gathers rows. The advanced dims are moved to the front and flattened to
// one, so a single native indexSelect (or indexCopy / indexAdd for writes
// and gradients) does the work.
import { Tensor, type TensorOrScalar } from '../tensor.js';
import { noGrad } from '../autograd/grad_mode.js';
import { define, op, tensorParam as T } from './op.js';
import { param as p } from '../util/args.js';
import * as K from './kernels.js';
import { native } from '../backend/native.js';
import { sliceBy, type Meta } from './shape_internal.js';
import { checkInplace } from './inplace.js';
import type { Device } from '../backend/cuda.js';

/** One entry of x.index(...): Python's x[...] item (number, 'a:b:c' slice, null, '...', index tensor or array, bool mask). */
export type Index = number | string | null | Tensor | number[] | boolean[];

/**
 * An int64 (or bool mask) index tensor from a Tensor or a JS array, on
 * `device`: arrays are built there, tensors on another device move there
 * (PyTorch lets a CPU index pick from a CUDA tensor) unless `strict`, where
 * the mismatch is an error as in PyTorch's index_select.
 */
export function toIndexTensor(v: Tensor | number[] | boolean[], op: string, device: Device, strict = false): Tensor {
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

/**
 * The coordinates of x's nonzero entries (NaN counts as nonzero), one int64
 * [n] tensor per dim on x's device; a 0-d x counts as a one-element vector.
 */
export function nonzeroCoords(x: Tensor, op: string): Tensor[] {
  const mask = K.cast(x, 'bool', op);
  return nonzero(mask._shape.length === 0 ? mask._view([1], [1]) : mask, op);
}

/** torch.nonzero's [n, x.dim()] int64 tensor of the coordinates of x's nonzero entries. */
export function nonzeroMatrix(x: Tensor, op: string): Tensor {
  const flat = K.toDevice(K.cast(x, 'bool', op), 'cpu', op, true)._storage.data as ArrayLike<number>;
  const shape = x._shape;
  const strides = K.contiguousStrides(shape);
  let n = 0;
  for (let i = 0; i < flat.length; i++) if (flat[i]) n++;
  const out = K.empty([n, shape.length], 'int64', op, 'cpu');
  const data = out._storage.data as BigInt64Array;
  let k = 0;
  for (let i = 0; i < flat.length; i++) {
    if (!flat[i]) continue;
    for (let d = 0; d < shape.length; d++) data[k++] = BigInt(Math.floor(i / strides[d]) % shape[d]);
  }
  return K.toDevice(out, x.device, op);
}

/** The values of an int64 index tensor, read on the host. */
export function indexValues(index: Tensor, op: string): number[] {
  const host = K.toDevice(K.contiguous(index), 'cpu', op, true);
  return Array.from(host._storage.data as BigInt64Array, Number);
}

interface Plan {
  basic: ((t: Tensor) => Meta) | null;
  basicName: 'SelectBackward0' | 'SliceBackward0';
  /** Advanced indices on dims of the basic view. */
  adv: { dim: number; index: Tensor }[];
}

function parseSlice(s: string, size: number, op: string): [number, number, number] {
  const parts = s.split(':');
  if (parts.length > 3) throw new TypeError(`${op}: invalid slice '${s}'`);
  // A string without a colon is not a slice. Read as one, '0' would mean
  // x[0:] and quietly return everything; say what was meant instead.
  if (parts.length === 1) {
    throw new TypeError(`${op}: '${s}' is not a slice (a slice has a colon, as '0:64'); for x[${s.trim()}] pass the number ${s.trim()}`);
  }
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
    v === null
      ? 0
      : v === '...'
        ? 0
        : v instanceof Tensor && (v.dtype === 'bool' || v.dtype === 'uint8')
          ? Math.max(v._shape.length, 1)
          : 1;
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
      steps.push((m) => ({
        shape: [...m.shape.slice(0, at), 1, ...m.shape.slice(at)],
        strides: [...m.strides.slice(0, at), 0, ...m.strides.slice(at)],
        offset: m.offset,
      }));
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
        const shape = m.shape.slice(),
          strides = m.strides.slice();
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
            throw new RangeError(
              `${op}: the shape of the mask ${K.fmtShape(t._shape)} at index ${k} does not match the shape of the indexed tensor ${K.fmtShape(x._shape)} at index ${inDim + k}`,
            );
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
  indexShape: number[]; // broadcast shape of the index tensors
  place: number; // where the index dims go in the result
}

/** The layout, and the int64 linear index into the flattened advanced dims. */
function advLayout(v: Tensor, adv: { dim: number; index: Tensor }[], op: string): { L: AdvLayout; linear: Tensor } {
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
    const lo = ix.numel() ? ix.amin().item() : 0,
      hi = ix.numel() ? ix.amax().item() : 0;
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
    L: { perm, advShape, rest, indexShape, place: adjacent ? dims[0] : 0 },
    linear: K.contiguous(linear!.expand(indexShape))._view([K.numelOf(indexShape)]),
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

function gatherAdvanced(v: Tensor, L: AdvLayout, linear: Tensor): Tensor {
  const flat = K.contiguous(v.permute(L.perm)).reshape([K.numelOf(L.advShape), ...L.rest]);
  const out = K.empty([linear._shape[0], ...L.rest], v.dtype, 'index', v.device);
  native.indexSelect(flat._ref(), 0, linear._ref(), out._ref());
  return placeIndexDims(out._view([...L.indexShape, ...L.rest]), L.indexShape.length, L.place);
}

/** Zeros of v's shape with g summed in at the indexed places. */
function scatterAdvanced(g: Tensor, L: AdvLayout, linear: Tensor): Tensor {
  const nIdx = L.indexShape.length;
  // Undo placeIndexDims: bring the index dims back to the front.
  let gf = g;
  if (L.place !== 0) {
    const nd = g._shape.length;
    const order = [...Array(nd).keys()];
    gf = g.permute([...order.slice(L.place, L.place + nIdx), ...order.slice(0, L.place), ...order.slice(L.place + nIdx)]);
  }
  const src = K.contiguous(gf).reshape([linear._shape[0], ...L.rest]);
  const acc = K.empty([K.numelOf(L.advShape), ...L.rest], g.dtype, 'index', g.device);
  native.indexAdd(acc._ref(), 0, linear._ref(), K.contiguous(src)._ref(), 1);
  const permuted = acc._view([...L.advShape, ...L.rest]);
  const inv = new Array<number>(L.perm.length);
  L.perm.forEach((d, i) => (inv[d] = i));
  return K.contiguous(permuted.permute(inv));
}

// The advanced step as declared ops: the gather's gradient is the scatter
// and the scatter's the gather, so both are differentiable again. They save
// the layout and the linear index (PyTorch saves the indices).
const layoutParam = p.custom('layout', 'AdvLayout', (v) => v as AdvLayout);
const advancedIndex = op(
  'advancedIndex',
  [T.tensor('input'), layoutParam, T.tensor('linear')],
  'the rows of input at an advanced index (Note [Index plan])',
);
const advancedIndexBackward = op(
  'advancedIndexBackward',
  [T.tensor('grad'), layoutParam, T.tensor('linear')],
  'zeros with grad summed in at an advanced index',
);
define(advancedIndex, {
  node: 'IndexBackward0',
  forward: ({ input, layout, linear }) => ({ out: gatherAdvanced(input, layout, linear), save: { layout, linear } }),
  grads: { input: (g, s) => advancedIndexBackward(g, s.layout, s.linear) },
});
define(advancedIndexBackward, {
  node: 'IndexPutBackward0',
  forward: ({ grad, layout, linear }) => ({ out: scatterAdvanced(grad, layout, linear), save: { layout, linear } }),
  grads: { grad: (gg, s) => advancedIndex(gg, s.layout, s.linear) },
});

/** Python's x[idx]: the basic part as a view, then the advanced part gathered (Note [Index plan]). */
export function indexWith(x: Tensor, idx: Index[]): Tensor {
  const pl = plan(x, idx, 'index');
  let v = pl.basic ? sliceBy(x, pl.basic, pl.basicName) : x;
  if (pl.adv.length) {
    const { L, linear } = advLayout(v, pl.adv, 'index');
    v = advancedIndex(v, L, linear);
  }
  return v;
}

/**
 * Python's x[idx] = values (accumulate: x[idx] += values, duplicates
 * summed), written into x outside autograd (it records no node).
 */
export function indexPutInto(x: Tensor, idx: Index[], value: TensorOrScalar | boolean, accumulate: boolean): void {
  // PyTorch's index_put_ only warns on an expanded tensor: no overlap check.
  checkInplace(x, 'indexPut_', false);
  const pl = plan(x, idx, 'indexPut_');
  noGrad(() => {
    const v = pl.basic ? new Tensor(x._storage, ...metaArgs(pl.basic(x)), x.dtype) : x;
    const dev = x.device;
    // A value on another device moves to x's (PyTorch accepts a CPU scalar tensor).
    const onX = (t: Tensor) => (t.device === dev ? t : K.toDevice(t, dev, 'indexPut_'));
    const scalar = () => K.binary('Add', K.empty([], x.dtype, 'indexPut_', dev), Number(value), x.dtype);
    if (!pl.adv.length) {
      const val = value instanceof Tensor ? onX(value) : scalar();
      K.broadcastShapes(v._shape, val._shape, 'indexPut_');
      const src = accumulate ? K.binary('Add', v, K.cast(val, x.dtype), x.dtype) : K.cast(val, x.dtype);
      native.copy(K.broadcastRef(src, v._shape), v._ref());
    } else {
      const { L, linear } = advLayout(v, pl.adv, 'indexPut_');
      const resultShape = [...L.indexShape, ...L.rest];
      const val = value instanceof Tensor ? K.cast(onX(value), x.dtype) : scalar();
      K.broadcastShapes(
        placeIndexDims(K.empty(resultShape, 'bool', 'indexPut_', 'cpu'), L.indexShape.length, L.place)._shape,
        val._shape,
        'indexPut_',
      );
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
        srcFront = K.contiguous(
          src.permute([...order.slice(L.place, L.place + nIdx), ...order.slice(0, L.place), ...order.slice(L.place + nIdx)]),
        );
      }
      const flatSrc = srcFront._view([linear._shape[0], ...L.rest]);
      const write = (target: Tensor) => {
        if (accumulate) native.indexAdd(target._ref(), 0, linear._ref(), flatSrc._ref(), 1);
        else native.indexCopy(target._ref(), 0, linear._ref(), flatSrc._ref());
      };
      let target: Tensor;
      try {
        target = permuted.view([K.numelOf(L.advShape), ...L.rest]);
      } catch {
        target = K.contiguous(permuted)._view([K.numelOf(L.advShape), ...L.rest]);
        write(target);
        native.copy(target._view([...L.advShape, ...L.rest])._ref(), permuted._ref());
        x._bumpVersion();
        return;
      }
      write(target);
    }
    x._bumpVersion();
  });
}

function metaArgs(m: Meta): [number[], number[], number] {
  return [m.shape, m.strides, m.offset];
}
