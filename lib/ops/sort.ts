// Sorting and the ops built on it: sort, argsort, msort, topk, kthvalue,
// median, nanmedian, mode, unique, uniqueConsecutive. One native kernel
// sorts along a dim (stable, NaN largest, as PyTorch's CPU sort); the rest
// pick from its result. The picked values get PyTorch's node through
// `picked` (reduce_internal.ts), whose gradient goes back to the picked
// places. The kernel is CPU-only: CUDA tensors are sorted on a CPU copy.
// A method module (Note [Method modules] in tensor_methods.ts): every export
// is a Tensor method and torch.x.
import { Tensor, normDim } from '../tensor.js';
import { define, op, returns, tensorParam as T } from './op.js';
import { checkOptions, fmtValue, isOptions, param as p } from '../util/args.js';
import * as K from './kernels.js';
import { native } from '../backend/native.js';
import { isFloating } from '../dtype.js';
import { keptShape, picked, reducedShape, valuesIndices, type ValuesIndices } from './reduce_internal.js';

// ---- the kernel ---------------------------------------------------------------------------
/** Sorted values and int64 indices of x along normalised dim d, on the CPU, x's shape (no autograd). */
function sortCpu(x: Tensor, d: number, descending: boolean, op: string): [Tensor, Tensor] {
  const cpu = K.toDevice(x, 'cpu', op);
  // The kernel walks a dim: a 0-d tensor runs as shape [1].
  const x1 = cpu._shape.length === 0 ? cpu._view([1], [1]) : cpu;
  const values = K.output(x1._shape, x.dtype, op, 'cpu');
  const indices = K.output(x1._shape, 'int64', op, 'cpu');
  if (x1.numel() > 0) native.sortDim(x1._ref(), d, descending, values._ref(), indices._ref());
  if (cpu._shape.length === 0) return [values._view([]), indices._view([])];
  return [values, indices];
}

/** A CPU result back on the input's device. */
function onDevice(t: Tensor, like: Tensor, op: string): Tensor {
  return K.toDevice(t, like.device, op);
}

/** An int64 CPU tensor of the given shape holding `values` in row-major order. */
function int64Tensor(values: ArrayLike<number>, shape: readonly number[], op: string): Tensor {
  const t = K.output(shape, 'int64', op, 'cpu');
  const data = t._storage.data as BigInt64Array;
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]);
  return t;
}

/** The flat values of a contiguous CPU tensor made by this module (offset 0). */
function flatData(t: Tensor): ArrayLike<number | bigint> {
  return t._storage.data as unknown as ArrayLike<number | bigint>;
}

/** Values and indices picked at int64 positions `pos` (keepdim form) of the sorted (v, i) along d. */
function pickSorted(
  input: Tensor,
  v: Tensor,
  i: Tensor,
  d: number,
  pos: Tensor,
  keepdim: boolean,
  node: string,
  op: string,
): ValuesIndices {
  if (input._shape.length === 0) {
    // One element: it is the pick.
    const idx0 = onDevice(i, input, op);
    return valuesIndices(op, picked(input, onDevice(v, input, op), 0, idx0, true, node), idx0);
  }
  let vals = v.gather(d, pos);
  let idx = i.gather(d, pos);
  const kept = onDevice(idx, input, op);
  if (!keepdim) {
    vals = vals._view(reducedShape(input._shape, [d]));
    idx = idx._view(reducedShape(input._shape, [d]));
  }
  const values = picked(input, onDevice(vals, input, op), d, kept, keepdim, node);
  return valuesIndices(op, values, onDevice(idx, input, op));
}

const stableParam = p.custom(
  'stable',
  'bool?',
  (v, owner): boolean | null => {
    if (v !== null && typeof v !== 'boolean')
      throw new TypeError(`${owner}: argument 'stable' must be a boolean or null, got ${fmtValue(v)}`);
    return v as boolean | null;
  },
  null,
);

/** The size of dim d (1 for a 0-d tensor, as PyTorch reads it). */
function sizeAt(x: Tensor, d: number): number {
  return x._shape.length === 0 ? 1 : x._shape[d];
}

// ---- sort / argsort / msort ------------------------------------------------------------------
export const sort = op(
  'sort',
  [T.tensor('input'), p.int('dim', -1), p.bool('descending', false), p.kw(stableParam)],
  '(values, indices) of input sorted along dim; stable, NaN sorts as the largest value',
  returns<ValuesIndices>(),
);
define(sort, {
  impl: ({ input, dim, descending }): ValuesIndices => {
    const d = normDim(dim, input._shape.length, 'sort');
    const [v, i] = sortCpu(input, d, descending, 'sort');
    const idx = onDevice(i, input, 'sort');
    return valuesIndices('sort', picked(input, onDevice(v, input, 'sort'), d, idx, true, 'SortBackward0'), idx);
  },
});

export const argsort = op(
  'argsort',
  [T.tensor('input'), p.int('dim', -1), p.bool('descending', false), p.kw(stableParam)],
  'the int64 indices that sort input along dim (stable; NaN largest)',
);
define(argsort, {
  impl: ({ input, dim, descending }): Tensor => {
    const d = normDim(dim, input._shape.length, 'argsort');
    return onDevice(sortCpu(input, d, descending, 'argsort')[1], input, 'argsort');
  },
});

export const msort = op('msort', [T.tensor('input')], 'input sorted along dim 0 (the values of sort(input, 0))');
define(msort, { impl: ({ input }): Tensor => sort(input, 0).values });

// ---- topk / kthvalue -------------------------------------------------------------------------
export const topk = op(
  'topk',
  [T.tensor('input'), p.int('k'), p.int('dim', -1), p.bool('largest', true), p.bool('sorted', true)],
  '(values, indices) of the k largest (or smallest) elements along dim, in sorted order',
  returns<ValuesIndices>(),
);
define(topk, {
  impl: ({ input, k, dim, largest }): ValuesIndices => {
    const d = normDim(dim, input._shape.length, 'topk');
    const n = sizeAt(input, d);
    if (k < 0 || k > n) throw new RangeError(`topk: selected index k (${k}) out of range for dim ${d} of size ${n}`);
    const [v, i] = sortCpu(input, d, largest, 'topk');
    if (input._shape.length === 0) {
      const idx = onDevice(i, input, 'topk');
      return valuesIndices('topk', picked(input, onDevice(v, input, 'topk'), d, idx, true, 'TopkBackward0'), idx);
    }
    const vk = K.contiguous(v.narrow(d, 0, k)),
      ik = onDevice(K.contiguous(i.narrow(d, 0, k)), input, 'topk');
    return valuesIndices('topk', picked(input, onDevice(vk, input, 'topk'), d, ik, true, 'TopkBackward0'), ik);
  },
});

export const kthvalue = op(
  'kthvalue',
  [T.tensor('input'), p.int('k'), p.int('dim', -1), p.bool('keepdim', false)],
  '(values, indices) of the k-th smallest element (1-based) along dim',
  returns<ValuesIndices>(),
);
define(kthvalue, {
  impl: ({ input, k, dim, keepdim }): ValuesIndices => {
    const d = normDim(dim, input._shape.length, 'kthvalue');
    const n = sizeAt(input, d);
    if (k < 1 || k > n) throw new RangeError(`kthvalue: selected number k (${k}) out of range for dim ${d} of size ${n}`);
    const [v, i] = sortCpu(input, d, false, 'kthvalue');
    const kshape = keptShape(input._shape, [d]);
    const pos = int64Tensor(new Array<number>(K.numelOf(kshape)).fill(k - 1), kshape, 'kthvalue');
    return pickSorted(input, v, i, d, pos, keepdim, 'KthvalueBackward0', 'kthvalue');
  },
});

// ---- median / nanmedian ----------------------------------------------------------------------
/**
 * Per row of the sorted v (along d): where the median sits. NaNs sort last;
 * median's answer is the first NaN of a row that has one, nanmedian's the
 * lower median of the row's other values (the first NaN when all are NaN).
 */
function medianPositions(v: Tensor, d: number, n: number, skipNaN: boolean, op: string): Tensor {
  const kshape = keptShape(v._shape, [d]);
  const rows = kshape.reduce((a, b) => a * b, 1);
  const nans = isFloating(v.dtype) ? flatData(K.reduce('Sum', K.unary('IsNan', v), [d], true, 'int64')) : null;
  const pos = new Array<number>(rows);
  for (let r = 0; r < rows; r++) {
    const nan = nans === null ? 0 : Number(nans[r]);
    if (nan === 0) pos[r] = (n - 1) >> 1;
    else pos[r] = skipNaN ? Math.max(0, (n - nan - 1) >> 1) : n - nan;
  }
  return int64Tensor(pos, kshape, op);
}

/** median(input): the lower median of all elements as a 0-d tensor; NaN if any is NaN. */
function medianAllOp<const N extends 'median' | 'nanmedian'>(name: N) {
  const skipNaN = name === 'nanmedian';
  const f = op(
    name,
    [T.tensor('input')],
    skipNaN ? 'the lower median of the non-NaN elements' : 'the lower median of all elements (NaN if one is NaN)',
  );
  define(f, {
    node: skipNaN ? 'NanmedianBackward0' : 'MedianBackward0',
    forward: ({ input }) => {
      const n = input.numel();
      let out: Tensor;
      if (n === 0) {
        // PyTorch's median of no elements is NaN, which only a floating dtype holds.
        if (!isFloating(input.dtype)) throw new RangeError(`${name}: cannot compute the median of an empty ${input.dtype} tensor`);
        out = K.toDevice(K.binary('Add', K.empty([], input.dtype, name, 'cpu'), NaN, input.dtype), input.device, name);
      } else {
        const flat = K.contiguous(K.toDevice(input, 'cpu', name))._view([n]);
        const [v] = sortCpu(flat, 0, false, name);
        out = onDevice(v.gather(0, medianPositions(v, 0, n, skipNaN, name))._view([]), input, name);
      }
      return { out, save: { x: input, out } };
    },
    grads: {
      // Shared evenly among the elements equal to the median (the NaNs when it is NaN), as PyTorch's evenly_distribute_backward.
      input: (g, { x, out }) => {
        const mask = (Number.isNaN(out.item()) ? x.isnan() : x.eq(out)).to(g.dtype);
        return mask.div(mask.sum()).mul(g);
      },
    },
  });
  return f;
}

function medianDimOp<const N extends 'median' | 'nanmedian'>(name: N) {
  const skipNaN = name === 'nanmedian';
  const f = op(
    name,
    [T.tensor('input'), p.int('dim'), p.bool('keepdim', false)],
    `(values, indices) of the lower median along dim${skipNaN ? ', ignoring NaN' : ' (NaN where the row has one)'}`,
    returns<ValuesIndices>(),
  );
  define(f, {
    impl: ({ input, dim, keepdim }): ValuesIndices => {
      const d = normDim(dim, input._shape.length, name);
      const n = sizeAt(input, d);
      if (n === 0)
        throw new RangeError(`${name}: cannot compute the median over the zero-size dim ${d} of shape ${K.fmtShape(input._shape)}`);
      const [v, i] = sortCpu(input, d, false, name);
      const node = skipNaN ? 'NanmedianBackward1' : 'MedianBackward1';
      const pos = input._shape.length === 0 ? v : medianPositions(v, d, n, skipNaN, name);
      return pickSorted(input, v, i, d, pos, keepdim, node, name);
    },
  });
  return f;
}

const medianOps = { all: medianAllOp('median'), dim: medianDimOp('median') };
const nanmedianOps = { all: medianAllOp('nanmedian'), dim: medianDimOp('nanmedian') };

type MedianDimArgs =
  | [dim: number, keepdim?: boolean, opts?: { keepdim?: boolean }]
  | [dim: number, opts: { keepdim?: boolean }]
  | [opts: { dim: number; keepdim?: boolean }];

type MedianOps = { all: (x: Tensor) => Tensor; dim: unknown };
function pickMedian(ops: MedianOps, name: string, self: Tensor, args: unknown[]): Tensor | ValuesIndices {
  const n = args.length > 0 && isOptions(args[args.length - 1]) ? args.length - 1 : args.length;
  const opts = n < args.length ? (args[n] as Record<string, unknown>) : null;
  checkOptions(name, opts, ['dim', 'keepdim']);
  if ((n === 0 || (n === 1 && args[0] === undefined)) && opts?.dim === undefined) {
    if (opts?.keepdim !== undefined) throw new TypeError(`${name}: keepdim needs a dim: ${name}(input, dim, keepdim=False)`);
    return ops.all(self);
  }
  return (ops.dim as (x: Tensor, ...a: unknown[]) => ValuesIndices)(self, ...args);
}

/** median(input) -> the lower median of all elements; median(input, dim, keepdim=False) -> (values, indices). NaN propagates. */
export function median(self: Tensor, opts?: Record<string, never>): Tensor;
export function median(self: Tensor, ...args: MedianDimArgs): ValuesIndices;
export function median(self: Tensor, ...args: unknown[]): Tensor | ValuesIndices {
  return pickMedian(medianOps, 'median', self, args);
}
/** nanmedian(input) and nanmedian(input, dim, keepdim=False): median ignoring NaN values. */
export function nanmedian(self: Tensor, opts?: Record<string, never>): Tensor;
export function nanmedian(self: Tensor, ...args: MedianDimArgs): ValuesIndices;
export function nanmedian(self: Tensor, ...args: unknown[]): Tensor | ValuesIndices {
  return pickMedian(nanmedianOps, 'nanmedian', self, args);
}

// ---- mode ----------------------------------------------------------------------------------
export const mode = op(
  'mode',
  [T.tensor('input'), p.int('dim', -1), p.bool('keepdim', false)],
  '(values, indices) of the most frequent value along dim (the smallest on ties; the index of its last occurrence)',
  returns<ValuesIndices>(),
);
define(mode, {
  impl: ({ input, dim, keepdim }): ValuesIndices => {
    const nd = input._shape.length;
    const d = normDim(dim, nd, 'mode');
    const n = sizeAt(input, d);
    if (n === 0) throw new RangeError(`mode: cannot compute the mode over the zero-size dim ${d} of shape ${K.fmtShape(input._shape)}`);
    // Rows along the last dim, so each row is contiguous in the sorted result.
    const last = Math.max(nd - 1, 0);
    const xt = nd === 0 ? input.detach()._view([1]) : input.detach().transpose(d, last);
    const [v, i] = sortCpu(K.contiguous(xt), last, false, 'mode');
    const vd = flatData(v),
      id = flatData(i);
    const rows = v.numel() / n;
    const pos = new Array<number>(rows),
      at = new Array<number>(rows);
    for (let r = 0; r < rows; r++) {
      const base = r * n;
      let best = 0,
        bestLen = 0,
        bestAt = 0;
      for (let s = 0; s < n;) {
        let e = s + 1;
        let hi = Number(id[base + s]);
        // NaN equals nothing: each NaN is a run of its own, as in PyTorch.
        while (e < n && vd[base + e] === vd[base + s]) hi = Math.max(hi, Number(id[base + e++]));
        if (e - s > bestLen) {
          bestLen = e - s;
          best = s;
          bestAt = hi;
        }
        s = e;
      }
      pos[r] = best;
      at[r] = bestAt;
    }
    const tshape = v._shape.slice(0, -1).concat([1]);
    let vals = v.gather(last, int64Tensor(pos, tshape, 'mode'));
    let idx = int64Tensor(at, tshape, 'mode');
    if (nd === 0) {
      vals = vals._view([]);
      idx = idx._view([]);
      return valuesIndices(
        'mode',
        picked(input, onDevice(vals, input, 'mode'), 0, onDevice(idx, input, 'mode'), true, 'ModeBackward0'),
        idx,
      );
    }
    vals = K.contiguous(vals.transpose(d, last));
    idx = K.contiguous(idx.transpose(d, last));
    const kept = onDevice(idx, input, 'mode');
    if (!keepdim) {
      vals = vals._view(reducedShape(input._shape, [d]));
      idx = idx._view(reducedShape(input._shape, [d]));
    }
    return valuesIndices(
      'mode',
      picked(input, onDevice(vals, input, 'mode'), d, kept, keepdim, 'ModeBackward0'),
      onDevice(idx, input, 'mode'),
    );
  },
});

// ---- unique / uniqueConsecutive ----------------------------------------------------------------
/** What unique returns: the values alone, or with the inverse and/or the counts, as PyTorch's flags ask. */
export type UniqueResult = Tensor | [Tensor, Tensor] | [Tensor, Tensor, Tensor];

/**
 * The values of a contiguous CPU tensor (maybe a view at an offset), to
 * compare in JavaScript: float16 and bfloat16 storages hold bits (Note
 * [Half storage], lib/util/half.ts), which order and equal as the values
 * only through a float32 copy.
 */
function comparable(t: Tensor, op: string): ArrayLike<number | bigint> {
  const c = t._storage.data instanceof Uint16Array ? K.cast(t, 'float32', op) : t;
  const data = c._storage.data as unknown as { subarray(a: number, b: number): ArrayLike<number | bigint> };
  return data.subarray(c._offset, c._offset + c.numel());
}

/** The runs of equal neighbours in a flat CPU tensor: each element's run, the runs' starts and lengths. */
function runsOf(t: Tensor, op: string): { run: number[]; starts: number[]; counts: number[] } {
  const data = comparable(t, op);
  const n = t.numel();
  const run = new Array<number>(n),
    starts: number[] = [],
    counts: number[] = [];
  for (let k = 0; k < n; k++) {
    if (k === 0 || data[k] !== data[k - 1]) {
      starts.push(k);
      counts.push(0);
    }
    run[k] = starts.length - 1;
    counts[counts.length - 1]++;
  }
  return { run, starts, counts };
}

function uniqueResult(
  input: Tensor,
  values: Tensor,
  inverse: number[],
  counts: number[],
  returnInverse: boolean,
  returnCounts: boolean,
  op: string,
  inverseTensor?: Tensor,
): UniqueResult {
  const u = onDevice(values, input, op);
  const out: Tensor[] = [u];
  if (returnInverse) out.push(onDevice(inverseTensor ?? int64Tensor(inverse, input._shape, op), input, op));
  if (returnCounts) out.push(onDevice(int64Tensor(counts, [counts.length], op), input, op));
  return out.length === 1 ? u : (out as [Tensor, Tensor]);
}

/**
 * unique and uniqueConsecutive along a dim, as PyTorch 1.13's
 * _unique_dim_cpu_template: the slices along dim (each read as one row of
 * input.transpose(0, dim), so for dim >= 2 the other dims come in 1.13's
 * order, not moveaxis's) are sorted lexicographically (not for
 * uniqueConsecutive), then runs of equal slices are kept once. The inverse
 * and counts are 1-d over the slices. Slices holding NaN never equal another.
 */
function uniqueDim(
  input: Tensor,
  dim: number,
  consecutive: boolean,
  returnInverse: boolean,
  returnCounts: boolean,
  op: string,
): UniqueResult {
  const shape = input._shape;
  if (shape.length === 0) throw new RangeError(`${op}: dimension specified as ${dim} but tensor has no dimensions`);
  const d = normDim(dim, shape.length, op);
  const zeroDims = shape.filter((s) => s === 0).length;
  if (shape[d] === 0) {
    if (zeroDims > 1)
      throw new RangeError(
        `${op}: shape ${K.fmtShape(shape)} has more than one zero-sized dim, so unique cannot be applied along dim ${d}`,
      );
    const none = int64Tensor([], [0], op);
    return uniqueResult(input, K.output(shape, input.dtype, op, 'cpu'), [], [], returnInverse, returnCounts, op, none);
  }
  if (zeroDims > 0)
    throw new RangeError(`${op}: shape ${K.fmtShape(shape)} has zero-sized dims other than dim ${d}, so unique cannot be applied along it`);
  // The slices as the rows of an [n, m] row-major matrix.
  const rows = K.contiguous(K.toDevice(input.detach(), 'cpu', op).transpose(0, d));
  const n = shape[d],
    m = rows.numel() / n;
  const data = comparable(rows, op);
  const rowOrder = Array.from({ length: n }, (_, k) => k);
  if (!consecutive) {
    rowOrder.sort((a, b) => {
      for (let j = 0; j < m; j++) {
        const x = data[a * m + j],
          y = data[b * m + j];
        if (x < y) return -1;
        if (x > y) return 1;
      }
      return 0;
    });
  }
  const sameRow = (a: number, b: number): boolean => {
    for (let j = 0; j < m; j++) if (data[a * m + j] !== data[b * m + j]) return false;
    return true;
  };
  const inverse = new Array<number>(n),
    kept: number[] = [],
    counts: number[] = [];
  for (let k = 0; k < n; k++) {
    const r = rowOrder[k];
    if (k === 0 || !sameRow(kept[kept.length - 1], r)) {
      kept.push(r);
      counts.push(0);
    }
    inverse[r] = kept.length - 1;
    counts[counts.length - 1]++;
  }
  const values = input.detach().indexSelect(d, onDevice(int64Tensor(kept, [kept.length], op), input, op));
  return uniqueResult(input, values, inverse, counts, returnInverse, returnCounts, op, int64Tensor(inverse, [n], op));
}

const uniqueOp = op(
  'unique',
  [T.tensor('input'), p.bool('sorted', true), p.bool('returnInverse', false), p.bool('returnCounts', false), p.optInt('dim')],
  'the sorted unique elements of the flattened input (or unique slices along dim), with the inverse indices and the counts when asked',
  returns<UniqueResult>(),
);
define(uniqueOp, {
  impl: ({ input, returnInverse, returnCounts, dim }): UniqueResult => {
    if (dim !== null) return uniqueDim(input, dim, false, returnInverse, returnCounts, 'unique');
    const n = input.numel();
    const flat = K.contiguous(K.toDevice(input.detach(), 'cpu', 'unique'))._view([n]);
    const [v, i] = sortCpu(flat, 0, false, 'unique');
    const { run, starts, counts } = runsOf(v, 'unique');
    const inverse = new Array<number>(n);
    const id = flatData(i);
    for (let k = 0; k < n; k++) inverse[Number(id[k])] = run[k];
    const values = v.gather(0, int64Tensor(starts, [starts.length], 'unique'));
    return uniqueResult(input, values, inverse, counts, returnInverse, returnCounts, 'unique');
  },
});

type UniqueOpts = { sorted?: boolean; dim?: number | null };
/**
 * unique(input, sorted=True, returnInverse=False, returnCounts=False, dim=None):
 * the sorted unique elements of the flattened input (always sorted; PyTorch's
 * unsorted order is unspecified), plus the int64 inverse (input's shape) and
 * counts when asked, as a tuple in that order. With `dim`: the unique slices
 * along dim, sorted lexicographically (always, as PyTorch 1.13's unique_dim),
 * with a 1-d inverse and counts over the slices. The positional form unique(x, sorted, returnInverse, returnCounts) works
 * too; its result is typed by the options form only.
 */
export function unique(self: Tensor, opts: UniqueOpts & { returnInverse: true; returnCounts: true }): [Tensor, Tensor, Tensor];
export function unique(self: Tensor, opts: UniqueOpts & ({ returnInverse: true } | { returnCounts: true })): [Tensor, Tensor];
export function unique(self: Tensor, opts?: UniqueOpts & { returnInverse?: false; returnCounts?: false }): Tensor;
export function unique(self: Tensor, ...args: unknown[]): UniqueResult {
  return (uniqueOp as unknown as (...a: unknown[]) => UniqueResult)(self, ...args);
}

const uniqueConsecutiveOp = op(
  'uniqueConsecutive',
  [T.tensor('input'), p.bool('returnInverse', false), p.bool('returnCounts', false), p.optInt('dim')],
  'the flattened input (or the slices along dim) with runs of equal neighbours kept once, with the inverse indices and the counts when asked',
  returns<UniqueResult>(),
);
define(uniqueConsecutiveOp, {
  impl: ({ input, returnInverse, returnCounts, dim }): UniqueResult => {
    if (dim !== null) return uniqueDim(input, dim, true, returnInverse, returnCounts, 'uniqueConsecutive');
    const n = input.numel();
    const flat = K.contiguous(K.toDevice(input.detach(), 'cpu', 'uniqueConsecutive'))._view([n]);
    const { run, starts, counts } = runsOf(flat, 'uniqueConsecutive');
    const values = flat.gather(0, int64Tensor(starts, [starts.length], 'uniqueConsecutive'));
    return uniqueResult(input, values, run, counts, returnInverse, returnCounts, 'uniqueConsecutive');
  },
});

type UniqueConsecutiveOpts = { dim?: number | null };
/**
 * uniqueConsecutive(input, returnInverse=False, returnCounts=False, dim=None):
 * the flattened input with each run of equal neighbours kept once, plus the
 * inverse and counts when asked. With `dim`: runs of equal slices along dim
 * kept once, with a 1-d inverse and counts over the slices.
 */
export function uniqueConsecutive(
  self: Tensor,
  opts: UniqueConsecutiveOpts & { returnInverse: true; returnCounts: true },
): [Tensor, Tensor, Tensor];
export function uniqueConsecutive(
  self: Tensor,
  opts: UniqueConsecutiveOpts & ({ returnInverse: true } | { returnCounts: true }),
): [Tensor, Tensor];
export function uniqueConsecutive(self: Tensor, opts?: UniqueConsecutiveOpts & { returnInverse?: false; returnCounts?: false }): Tensor;
export function uniqueConsecutive(self: Tensor, ...args: unknown[]): UniqueResult {
  return (uniqueConsecutiveOp as unknown as (...a: unknown[]) => UniqueResult)(self, ...args);
}
