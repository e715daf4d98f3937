// F.embeddingBag: sums, means or maxima of bags of embedding rows, without
// building the [n, dim] tensor of every row first (PyTorch 1.13's
// F.embedding_bag). A composite of existing ops; functional.ts re-exports
// it as F's. Like functional_attention.ts it imports only the op layer, so
// that functional.ts can re-export it without an import cycle.
import { Tensor } from '../tensor.js';
import { isFloating } from '../dtype.js';
import { noGrad } from '../autograd/grad_mode.js';
import * as K from '../ops/kernels.js';
import { where } from '../ops/join.js';
import { tensor as fromValues } from '../ops/creation.js';
import { define, op } from '../ops/op.js';
import { as, param } from '../util/args.js';

const fmt = K.fmtShape;

/** How each bag is reduced. */
export type EmbeddingBagMode = 'sum' | 'mean' | 'max';

function indexValues(t: Tensor): number[] {
  return Array.from(noGrad(() => t.toTypedArray()) as ArrayLike<number | bigint>, Number);
}

// Note [Embedding bags as a padded batch]: the bags are laid out as a
// [B, maxLen] table of weight rows (a slot past a bag's end, or holding
// paddingIdx, is masked out), the rows picked with one indexSelect and the
// table reduced over its second dim. Masked slots go through `where`, not
// a multiplication by 0, so they pass no gradient and an inf or NaN in
// the row they point at (row 0) never leaks into a bag. An empty bag is
// zeros in every mode, as in PyTorch.

/**
 * embedding_bag(input, weight, offsets=None, *, mode='mean',
 * per_sample_weights=None, include_last_offset=False, padding_idx=None):
 * PyTorch's max_norm, norm_type, scale_grad_by_freq and sparse are not
 * implemented, so the options after offsets are keyword-only (Note [F
 * signatures] in functional.ts).
 */
export const embeddingBag = op(
  'embeddingBag',
  [
    param.custom('input', 'Tensor', as<Tensor>),
    param.custom('weight', 'Tensor', as<Tensor>),
    param.custom('offsets', 'Tensor?', as<Tensor | null>, null),
    param.kw(param.custom('mode', "'sum'|'mean'|'max'", as<EmbeddingBagMode>, 'mean')),
    param.kw(param.custom('perSampleWeights', 'Tensor?', as<Tensor | null>, null)),
    param.kw(param.custom('includeLastOffset', 'bool', as<boolean>, false)),
    param.kw(param.custom('paddingIdx', 'int?', as<number | null>, null)),
  ],
  "the sum, mean or max of each bag of rows of weight [num, dim]: bags are the rows of a 2-D input, or cut from a 1-D input at offsets; paddingIdx entries are left out; perSampleWeights scale the rows (mode 'sum')",
);
define(embeddingBag, {
  impl: (a): Tensor => bags('embeddingBag', a),
});

/** The arguments of embeddingBag, by name. */
export interface EmbeddingBagArgs {
  input: Tensor;
  weight: Tensor;
  offsets: Tensor | null;
  mode: EmbeddingBagMode;
  perSampleWeights: Tensor | null;
  includeLastOffset: boolean;
  paddingIdx: number | null;
}

/** @internal embeddingBag, with its errors naming `op` (the function, or the EmbeddingBag layer). */
export function bags(op: string, a: EmbeddingBagArgs): Tensor {
  const { input, weight, offsets, mode, perSampleWeights, includeLastOffset, paddingIdx } = a;
  if (!(input instanceof Tensor)) throw new TypeError(`${op}: input must be a Tensor, got ${K.fmtValue(input)}`);
  if (!(weight instanceof Tensor)) throw new TypeError(`${op}: weight must be a Tensor, got ${K.fmtValue(weight)}`);
  if (offsets !== null && offsets !== undefined && !(offsets instanceof Tensor)) {
    throw new TypeError(`${op}: offsets must be a Tensor or null, got ${K.fmtValue(offsets)}`);
  }
  const psw = perSampleWeights ?? null;
  if (psw !== null && !(psw instanceof Tensor))
    throw new TypeError(`${op}: perSampleWeights must be a Tensor or null, got ${K.fmtValue(psw)}`);
  if (mode !== 'sum' && mode !== 'mean' && mode !== 'max')
    throw new TypeError(`${op}: mode must be 'sum', 'mean' or 'max', got ${K.fmtValue(mode)}`);
  if (typeof includeLastOffset !== 'boolean')
    throw new TypeError(`${op}: includeLastOffset must be a boolean, got ${K.fmtValue(includeLastOffset)}`);
  K.sameDevice(op, weight, input, offsets ?? null, psw);
  if (weight.ndim !== 2)
    throw new RangeError(`${op}: weight has to be a 2-D tensor [num_embeddings, embedding_dim], got ${fmt(weight._shape)}`);
  if (!isFloating(weight.dtype)) throw new TypeError(`${op}: weight must be a floating point tensor, got ${weight.dtype}`);
  for (const [name, t] of [
    ['input', input],
    ['offsets', offsets ?? null],
  ] as const) {
    if (t !== null && t.dtype !== 'int64' && t.dtype !== 'int32')
      throw new TypeError(`${op}: ${name} must be an int64 or int32 tensor, got ${t.dtype}`);
  }
  const [num, dim] = weight._shape;
  let pad = paddingIdx ?? null;
  if (pad !== null) {
    if (typeof pad !== 'number' || !Number.isInteger(pad) || pad < -num || pad >= num) {
      throw new RangeError(`${op}: paddingIdx must be within num_embeddings (${num}), got ${K.fmtValue(pad)}`);
    }
    if (pad < 0) pad += num;
  }
  if (psw !== null) {
    if (mode !== 'sum') {
      throw new RangeError(`${op}: perSampleWeights is only supported for mode 'sum' (got mode '${mode}')`);
    }
    if (!sameShape(psw._shape, input._shape)) {
      throw new RangeError(`${op}: perSampleWeights ${fmt(psw._shape)} must have the shape of input ${fmt(input._shape)}`);
    }
    if (psw.dtype !== weight.dtype)
      throw new TypeError(`${op}: perSampleWeights must have weight's dtype ${weight.dtype}, got ${psw.dtype}`);
  }

  // The bags: [start, end) in the flattened input.
  const idx = indexValues(input);
  const starts: number[] = [];
  const ends: number[] = [];
  if (input.ndim === 2) {
    if (offsets !== null && offsets !== undefined) {
      throw new RangeError(`${op}: if input is 2-D ${fmt(input._shape)}, offsets has to be null: each row of input is one bag`);
    }
    const [b, n] = input._shape;
    for (let i = 0; i < b; i++) {
      starts.push(i * n);
      ends.push((i + 1) * n);
    }
  } else if (input.ndim === 1) {
    if (offsets === null || offsets === undefined) throw new TypeError(`${op}: offsets has to be a 1-D Tensor when input is 1-D, got null`);
    if (offsets.ndim !== 1) throw new RangeError(`${op}: offsets has to be a 1-D Tensor, got ${fmt(offsets._shape)}`);
    const off = indexValues(offsets);
    if (off.length === 0) throw new RangeError(`${op}: offsets must not be empty`);
    if (off[0] !== 0) throw new RangeError(`${op}: offsets[0] has to be 0 (the first bag starts at position 0), got ${off[0]}`);
    for (let i = 1; i < off.length; i++) {
      if (off[i] < off[i - 1]) throw new RangeError(`${op}: offsets must be non-decreasing, got ${off[i - 1]} then ${off[i]} at ${i}`);
    }
    if (off[off.length - 1] > idx.length) {
      throw new RangeError(`${op}: offsets[-1] (${off[off.length - 1]}) can not be greater than input's length (${idx.length})`);
    }
    const nBags = includeLastOffset ? off.length - 1 : off.length;
    for (let i = 0; i < nBags; i++) {
      starts.push(off[i]);
      ends.push(i + 1 < off.length ? off[i + 1] : idx.length);
    }
  } else {
    throw new RangeError(`${op}: input has to be a 1-D or 2-D Tensor, got ${fmt(input._shape)}`);
  }
  for (const i of idx) {
    if (i < 0 || i >= num) throw new RangeError(`${op}: index ${i} is out of range for ${num} embeddings`);
  }

  // Note [Embedding bags as a padded batch].
  const B = starts.length;
  let maxLen = 0;
  for (let b = 0; b < B; b++) maxLen = Math.max(maxLen, ends[b] - starts[b]);
  maxLen = Math.max(maxLen, 1);
  const rows = new Array<number>(B * maxLen).fill(0);
  const slots = new Array<number>(B * maxLen).fill(0);
  const keep = new Array<boolean>(B * maxLen).fill(false);
  const counts = new Array<number>(B).fill(0);
  for (let b = 0; b < B; b++) {
    let j = 0;
    for (let p = starts[b]; p < ends[b]; p++) {
      if (idx[p] === pad) continue;
      rows[b * maxLen + j] = idx[p];
      slots[b * maxLen + j] = p;
      keep[b * maxLen + j] = true;
      j++;
    }
    counts[b] = j;
  }
  const dev = { device: weight.device };
  const rowIdx = fromValues(rows, { dtype: 'int64', ...dev });
  const keep3 = fromValues(keep, { dtype: 'bool', ...dev }).view([B, maxLen, 1]);
  let table = weight.indexSelect(0, rowIdx).view([B, maxLen, dim]);
  if (psw !== null) {
    const w = psw.reshape([-1]).indexSelect(0, fromValues(slots, { dtype: 'int64', ...dev }));
    table = table.mul(w.view([B, maxLen, 1]));
  }
  if (mode === 'max') {
    const best = where(keep3, table, -Infinity).max(1).values;
    const empty = fromValues(
      counts.map((c) => c === 0),
      { dtype: 'bool', ...dev },
    ).view([B, 1]);
    return where(empty, 0, best);
  }
  const sum = where(keep3, table, 0).sum(1);
  if (mode === 'sum') return sum;
  const n = fromValues(
    counts.map((c) => Math.max(c, 1)),
    { dtype: weight.dtype, ...dev },
  ).view([B, 1]);
  return sum.div(n);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
