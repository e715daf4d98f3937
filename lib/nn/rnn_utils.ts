// nn.utils.rnn: batches of sequences of different lengths, as PyTorch's
// torch.nn.utils.rnn. A PackedSequence holds the sequences time step by time
// step, longest first: `data` is [sum(lengths), *], the rows of step t being
// the first batchSizes[t] sequences (sorted by decreasing length). The
// recurrent layers (layers/rnn.ts) take one and skip the padding.
//
// Every conversion here is one gather (indexSelect) over the rows with an
// index worked out in JavaScript, so the gradient is one indexAdd however
// many sequences or steps there are.
import { Tensor } from '../tensor.js';
import { isFloating, type DType } from '../dtype.js';
import { cat } from '../ops/join.js';
import { full, tensor } from '../ops/creation.js';
import * as K from '../ops/kernels.js';
import { bindOptions, fmtValue, late, as, param } from '../util/args.js';

const fmt = K.fmtShape;

/** The integer values of a 1-D tensor or array, checked. */
function intList(op: string, name: string, v: unknown): number[] {
  let vals: number[];
  if (v instanceof Tensor) {
    if (v.dtype !== 'int64' && v.dtype !== 'int32' && v.dtype !== 'uint8') {
      throw new TypeError(`${op}: '${name}' must be an integer tensor or an array of integers, got a ${v.dtype} tensor`);
    }
    if (v.ndim !== 1) throw new RangeError(`${op}: '${name}' must be 1-D, got a tensor of size ${fmt(v._shape)}`);
    vals = Array.from(v.toTypedArray() as ArrayLike<number | bigint>, Number);
  } else if (Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x))) {
    vals = v as number[];
  } else {
    throw new TypeError(`${op}: '${name}' must be an integer tensor or an array of integers, got ${fmtValue(v)}`);
  }
  return vals;
}

const int64 = (values: number[]): Tensor => tensor(values, { dtype: 'int64' });

/** The sequences of an iterable (an array, or a Tensor's first dim), read once. */
function tensorList(op: string, v: unknown): Tensor[] {
  if (v === null || v === undefined || typeof (v as Iterable<unknown>)[Symbol.iterator] !== 'function' || typeof v === 'string') {
    throw new TypeError(`${op}: expected an iterable of Tensors for sequences, got ${fmtValue(v)}`);
  }
  const out: Tensor[] = [];
  for (const t of v as Iterable<unknown>) {
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: sequences must hold Tensors, got ${fmtValue(t)} at position ${out.length}`);
    out.push(t);
  }
  return out;
}

function checkBool(op: string, name: string, v: unknown): asserts v is boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${op}: '${name}' must be a boolean, got ${fmtValue(v)}`);
}

function checkNumber(op: string, name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number') throw new TypeError(`${op}: '${name}' must be a number, got ${fmtValue(v)}`);
}

/** The inverse of a permutation (PyTorch's invert_permutation). */
function invertPermutation(perm: Tensor): Tensor {
  const p = intList('PackedSequence', 'sortedIndices', perm);
  const inv = new Array<number>(p.length);
  p.forEach((v, i) => (inv[v] = i));
  return int64(inv).to(perm.device);
}

/** A 1-D integer tensor holding a permutation of 0..n-1, or a RangeError naming it. */
function checkPermutation(op: string, name: string, t: Tensor, n: number): void {
  const p = intList(op, name, t);
  const seen = new Array<boolean>(n).fill(false);
  const ok = p.length === n && p.every((v) => v >= 0 && v < n && !seen[v] && (seen[v] = true));
  if (!ok) throw new RangeError(`${op}: '${name}' must be a permutation of 0..${n - 1}, got ${fmtValue(p)}`);
}

/** PackedSequence(data, batch_sizes=None, sorted_indices=None, unsorted_indices=None). */
const PACKED = [
  late(param.custom('data', 'Tensor', as<Tensor>)),
  late(param.custom('batchSizes', 'Tensor', as<Tensor | null>, null)),
  late(param.custom('sortedIndices', 'Tensor?', as<Tensor | null>, null)),
  late(param.custom('unsortedIndices', 'Tensor?', as<Tensor | null>, null)),
] as const;

/**
 * nn.utils.rnn.PackedSequence(data, batchSizes, sortedIndices = null, unsortedIndices = null): a batch of
 * sequences of different lengths, packed time step by time step, as PyTorch's. `data` is [sum(lengths), *]; the
 * rows of step t are the first batchSizes[t] sequences in order of decreasing length. `sortedIndices[i]` is the
 * batch position of the i-th longest sequence (null when the batch was sorted already) and `unsortedIndices`
 * its inverse (computed when left out). Made by packPaddedSequence and packSequence rather than by hand; it
 * unpacks as PyTorch's named tuple: `const [data, batchSizes] = packed`.
 */
export class PackedSequence {
  /** The packed rows, [sum(lengths), *]. */
  readonly data: Tensor;
  /** int64 on the CPU, one entry per time step: how many sequences are that long. */
  readonly batchSizes: Tensor;
  /** The batch position of the i-th longest sequence, or null when the batch was sorted. */
  readonly sortedIndices: Tensor | null;
  /** The inverse of sortedIndices: where each original sequence sits in the sorted order. */
  readonly unsortedIndices: Tensor | null;

  constructor(data: Tensor, batchSizes: Tensor, sortedIndices?: Tensor | null, unsortedIndices?: Tensor | null);
  constructor(data: Tensor, opts: { batchSizes: Tensor; sortedIndices?: Tensor | null; unsortedIndices?: Tensor | null });
  constructor(opts: { data: Tensor; batchSizes: Tensor; sortedIndices?: Tensor | null; unsortedIndices?: Tensor | null });
  constructor(...args: unknown[]) {
    const op = 'PackedSequence';
    const a = bindOptions(op, PACKED, args);
    if (!(a.data instanceof Tensor)) throw new TypeError(`${op}: data must be a Tensor, got ${fmtValue(a.data)}`);
    if (!(a.batchSizes instanceof Tensor)) throw new TypeError(`${op}: batchSizes must be a Tensor, got ${fmtValue(a.batchSizes)}`);
    const data = a.data;
    const batchSizes = a.batchSizes;
    if (batchSizes.device !== 'cpu') throw new TypeError(`${op}: batchSizes should always be on the CPU, got ${batchSizes.device}`);
    if (batchSizes.dtype !== 'int64') throw new TypeError(`${op}: batchSizes must be an int64 tensor, got ${batchSizes.dtype}`);
    const sizes = intList(op, 'batchSizes', batchSizes);
    if (data.ndim === 0) throw new RangeError(`${op}: data must have at least one dimension, got a 0-d tensor`);
    let total = 0;
    sizes.forEach((b, t) => {
      if (b <= 0 || (t > 0 && b > sizes[t - 1])) {
        throw new RangeError(`${op}: batchSizes must be positive and non-increasing, got ${fmtValue(sizes)}`);
      }
      total += b;
    });
    if (total !== data._shape[0]) {
      throw new RangeError(`${op}: batchSizes sum to ${total} but data has ${data._shape[0]} rows (data of size ${fmt(data._shape)})`);
    }
    const n = sizes.length ? sizes[0] : 0;
    for (const [name, t] of [
      ['sortedIndices', a.sortedIndices],
      ['unsortedIndices', a.unsortedIndices],
    ] as const) {
      if (t === null || t === undefined) continue;
      if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a Tensor or null, got ${fmtValue(t)}`);
      checkPermutation(op, name, t, n);
    }
    this.data = data;
    this.batchSizes = batchSizes;
    this.sortedIndices = a.sortedIndices ?? null;
    this.unsortedIndices = a.unsortedIndices ?? (this.sortedIndices ? invertPermutation(this.sortedIndices) : null);
  }

  /** data, batchSizes, sortedIndices and unsortedIndices in turn, as PyTorch's named tuple unpacks. */
  *[Symbol.iterator](): IterableIterator<Tensor | null> {
    yield this.data;
    yield this.batchSizes;
    yield this.sortedIndices;
    yield this.unsortedIndices;
  }

  /** Whether data is on a CUDA device (PyTorch's is_cuda). */
  get isCuda(): boolean {
    return this.data.isCuda;
  }

  /**
   * The same sequences with data converted by data.to(target): a dtype converts data only, a device moves data
   * and the indices (batchSizes stays on the CPU, as in PyTorch). Returns this when nothing changes.
   */
  to(target: DType | string | { dtype?: DType; device?: string }): PackedSequence {
    const data = this.data.to(target as never);
    if (data === this.data) return this;
    const move = (t: Tensor | null) => (t === null || t.device === data.device ? t : t.to(data.device));
    return new PackedSequence(data, this.batchSizes, move(this.sortedIndices), move(this.unsortedIndices));
  }
  /** to('cpu'). */
  cpu(): PackedSequence {
    return this.to('cpu');
  }
  /** to('cuda') (or 'cuda:N'). */
  cuda(device?: number | string): PackedSequence {
    return this.to(device === undefined ? 'cuda' : typeof device === 'number' ? `cuda:${device}` : device);
  }
  /** data as float32. */
  float(): PackedSequence {
    return this.to('float32');
  }
  /** data as float64. */
  double(): PackedSequence {
    return this.to('float64');
  }

  /** PyTorch's repr of the named tuple. */
  toString(): string {
    const s = (t: Tensor | null) => (t === null ? 'None' : String(t));
    return (
      `PackedSequence(data=${s(this.data)}, batch_sizes=${s(this.batchSizes)}, ` +
      `sorted_indices=${s(this.sortedIndices)}, unsorted_indices=${s(this.unsortedIndices)})`
    );
  }
}

/** @internal The batch sizes as numbers and the first row of each step in data. */
export function stepsOf(packed: PackedSequence): { batchSizes: number[]; offsets: number[] } {
  const batchSizes = intList('PackedSequence', 'batchSizes', packed.batchSizes);
  const offsets = new Array<number>(batchSizes.length);
  let at = 0;
  batchSizes.forEach((b, t) => {
    offsets[t] = at;
    at += b;
  });
  return { batchSizes, offsets };
}

// ---- padSequence -------------------------------------------------------------------------------

/** pad_sequence(sequences, batch_first=False, padding_value=0.0). */
const PAD_SEQUENCE = [
  late(param.custom('sequences', 'Iterable[Tensor]', as<Iterable<Tensor>>)),
  late(param.bool('batchFirst', false)),
  late(param.float('paddingValue', 0)),
] as const;

/** A row of paddingValue to gather padding from: [1, *trailing]. */
function paddingRow(op: string, like: Tensor, trailing: readonly number[], value: number): Tensor {
  if (!isFloating(like.dtype) && !Number.isInteger(value)) {
    throw new TypeError(`${op}: paddingValue ${value} does not fit the ${like.dtype} sequences`);
  }
  return full([1, ...trailing], value, { dtype: like.dtype, device: like.device });
}

/**
 * nn.utils.rnn.padSequence(sequences, batchFirst = false, paddingValue = 0): stacks sequences of sizes [L_i, *]
 * into one tensor [maxL, B, *] ([B, maxL, *] with batchFirst), filling past each sequence's end with
 * paddingValue. The trailing dims and dtype of all sequences must agree.
 */
export function padSequence(sequences: Iterable<Tensor>, batchFirst?: boolean, paddingValue?: number): Tensor;
export function padSequence(sequences: Iterable<Tensor>, opts: { batchFirst?: boolean; paddingValue?: number }): Tensor;
export function padSequence(opts: { sequences: Iterable<Tensor>; batchFirst?: boolean; paddingValue?: number }): Tensor;
export function padSequence(...args: unknown[]): Tensor {
  const op = 'padSequence';
  const a = bindOptions(op, PAD_SEQUENCE, args);
  const seqs = tensorList(op, a.sequences);
  checkBool(op, 'batchFirst', a.batchFirst);
  checkNumber(op, 'paddingValue', a.paddingValue);
  if (seqs.length === 0) throw new RangeError(`${op}: received an empty list of sequences`);
  const first = seqs[0];
  if (first.ndim === 0) throw new RangeError(`${op}: sequences must have at least one dimension, got a 0-d tensor at position 0`);
  const trailing = first._shape.slice(1);
  seqs.forEach((s, i) => {
    if (s.ndim === 0 || s._shape.slice(1).join() !== trailing.join()) {
      throw new RangeError(
        `${op}: every sequence must have the trailing size ${fmt(trailing)} of sequence 0 (size ${fmt(first._shape)}), ` +
          `but sequence ${i} has size ${fmt(s._shape)}`,
      );
    }
    if (s.dtype !== first.dtype) throw new TypeError(`${op}: sequence ${i} is ${s.dtype} but sequence 0 is ${first.dtype}`);
  });
  const lengths = seqs.map((s) => s._shape[0]);
  const B = seqs.length;
  const T = lengths.reduce((m, l) => Math.max(m, l), 0);
  // Rows of cat(sequences) followed by one padding row, gathered into place.
  const starts: number[] = [];
  let total = 0;
  for (const l of lengths) {
    starts.push(total);
    total += l;
  }
  const idx = new Array<number>(T * B);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) idx[a.batchFirst ? b * T + t : t * B + b] = t < lengths[b] ? starts[b] + t : total;
  }
  const source = cat([...seqs, paddingRow(op, first, trailing, a.paddingValue)]);
  return source.indexSelect(0, idx).view(a.batchFirst ? [B, T, ...trailing] : [T, B, ...trailing]);
}

// ---- packPaddedSequence ---------------------------------------------------------------------------

/** pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True). */
const PACK_PADDED = [
  late(param.custom('input', 'Tensor', as<Tensor>)),
  late(param.custom('lengths', 'Tensor|int[]', as<Tensor | number[]>)),
  late(param.bool('batchFirst', false)),
  late(param.bool('enforceSorted', true)),
] as const;

/** Positions 0..n-1 by decreasing length, ties in batch order (PyTorch's stable CPU sort). */
function sortByLengthDesc(lengths: number[]): number[] {
  return lengths.map((_, i) => i).sort((i, j) => lengths[j] - lengths[i] || i - j);
}

/**
 * nn.utils.rnn.packPaddedSequence(input, lengths, batchFirst = false, enforceSorted = true): packs a padded
 * batch [T, B, *] ([B, T, *] with batchFirst) whose sequence b is lengths[b] steps long (an array or a 1-D
 * integer tensor) into a PackedSequence, as PyTorch's. With enforceSorted the lengths must be in decreasing
 * order; with false the batch is sorted here and the order kept in sortedIndices, so that padPackedSequence
 * and the recurrent layers' hidden states come back in the input's order. Differentiable in input.
 */
export function packPaddedSequence(
  input: Tensor,
  lengths: Tensor | number[],
  batchFirst?: boolean,
  enforceSorted?: boolean,
): PackedSequence;
export function packPaddedSequence(
  input: Tensor,
  lengths: Tensor | number[],
  opts: { batchFirst?: boolean; enforceSorted?: boolean },
): PackedSequence;
export function packPaddedSequence(
  input: Tensor,
  opts: { lengths: Tensor | number[]; batchFirst?: boolean; enforceSorted?: boolean },
): PackedSequence;
export function packPaddedSequence(opts: {
  input: Tensor;
  lengths: Tensor | number[];
  batchFirst?: boolean;
  enforceSorted?: boolean;
}): PackedSequence;
export function packPaddedSequence(...args: unknown[]): PackedSequence {
  const op = 'packPaddedSequence';
  const a = bindOptions(op, PACK_PADDED, args);
  if (!(a.input instanceof Tensor)) throw new TypeError(`${op}: input must be a Tensor, got ${fmtValue(a.input)}`);
  checkBool(op, 'batchFirst', a.batchFirst);
  checkBool(op, 'enforceSorted', a.enforceSorted);
  const input = a.input;
  if (a.lengths instanceof Tensor && a.lengths.device !== 'cpu') {
    throw new TypeError(`${op}: 'lengths' argument should be a 1D CPU int64 tensor, but got a tensor on ${a.lengths.device}`);
  }
  const lengths = intList(op, 'lengths', a.lengths);
  if (input.ndim < 2) throw new RangeError(`${op}: input must have at least 2 dimensions, got size ${fmt(input._shape)}`);
  const [T, B] = a.batchFirst ? [input._shape[1], input._shape[0]] : [input._shape[0], input._shape[1]];
  if (lengths.length !== B) {
    throw new RangeError(`${op}: Expected \`len(lengths)\` to be equal to batch_size, but got ${lengths.length} (batch_size=${B})`);
  }
  if (lengths.some((l) => l <= 0)) {
    throw new RangeError(
      `${op}: Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0 (lengths ${fmtValue(lengths)})`,
    );
  }
  if (lengths.some((l) => l > T)) {
    throw new RangeError(`${op}: lengths ${fmtValue(lengths)} exceed the ${T} steps of input (size ${fmt(input._shape)})`);
  }
  let order: number[];
  let sortedIndices: Tensor | null = null;
  if (a.enforceSorted) {
    if (lengths.some((l, i) => i > 0 && l > lengths[i - 1])) {
      throw new RangeError(
        `${op}: \`lengths\` array must be sorted in decreasing order when \`enforceSorted\` is true (got ${fmtValue(lengths)}). ` +
          'You can pass { enforceSorted: false } to packPaddedSequence and/or packSequence to sidestep this requirement ' +
          'if you do not need ONNX exportability.',
      );
    }
    order = lengths.map((_, i) => i);
  } else {
    order = sortByLengthDesc(lengths);
    sortedIndices = int64(order).to(input.device);
  }
  const maxLen = lengths[order[0]];
  const batchSizes: number[] = [];
  const idx: number[] = [];
  for (let t = 0; t < maxLen; t++) {
    let n = 0;
    for (const b of order) {
      if (lengths[b] <= t) break;
      idx.push(a.batchFirst ? b * T + t : t * B + b);
      n++;
    }
    batchSizes.push(n);
  }
  const rows = input.reshape([T * B, ...input._shape.slice(2)]);
  return new PackedSequence(rows.indexSelect(0, idx), int64(batchSizes), sortedIndices, null);
}

// ---- padPackedSequence ----------------------------------------------------------------------------

/** pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None). */
const PAD_PACKED = [
  late(param.custom('sequence', 'PackedSequence', as<PackedSequence>)),
  late(param.bool('batchFirst', false)),
  late(param.float('paddingValue', 0)),
  late(param.optInt('totalLength')),
] as const;

/**
 * nn.utils.rnn.padPackedSequence(sequence, batchFirst = false, paddingValue = 0, totalLength = null): the
 * inverse of packPaddedSequence. Returns [padded, lengths]: padded is [T, B, *] ([B, T, *] with batchFirst) in
 * the batch order the sequences were packed from, T the longest length or totalLength, and lengths an int64
 * tensor of each sequence's length. Differentiable in sequence.data.
 */
export function padPackedSequence(
  sequence: PackedSequence,
  batchFirst?: boolean,
  paddingValue?: number,
  totalLength?: number | null,
): [Tensor, Tensor];
export function padPackedSequence(
  sequence: PackedSequence,
  opts: { batchFirst?: boolean; paddingValue?: number; totalLength?: number | null },
): [Tensor, Tensor];
export function padPackedSequence(opts: {
  sequence: PackedSequence;
  batchFirst?: boolean;
  paddingValue?: number;
  totalLength?: number | null;
}): [Tensor, Tensor];
export function padPackedSequence(...args: unknown[]): [Tensor, Tensor] {
  const op = 'padPackedSequence';
  const a = bindOptions(op, PAD_PACKED, args);
  if (!(a.sequence instanceof PackedSequence)) {
    throw new TypeError(`${op}: sequence must be a PackedSequence, got ${fmtValue(a.sequence)}`);
  }
  checkBool(op, 'batchFirst', a.batchFirst);
  checkNumber(op, 'paddingValue', a.paddingValue);
  const seq = a.sequence;
  const { batchSizes, offsets } = stepsOf(seq);
  let T = batchSizes.length;
  if (a.totalLength !== null && a.totalLength !== undefined) {
    if (typeof a.totalLength !== 'number' || !Number.isInteger(a.totalLength)) {
      throw new TypeError(`${op}: totalLength must be an integer or null, got ${fmtValue(a.totalLength)}`);
    }
    if (a.totalLength < T) {
      throw new RangeError(
        `${op}: Expected totalLength to be at least the length of the longest sequence in input, ` +
          `but got totalLength=${a.totalLength} and max sequence length being ${T}`,
      );
    }
    T = a.totalLength;
  }
  const B = batchSizes.length ? batchSizes[0] : 0;
  const trailing = seq.data._shape.slice(1);
  const total = seq.data._shape[0];
  // Sorted position of each original sequence (identity when packed sorted).
  const pos = seq.unsortedIndices ? intList(op, 'unsortedIndices', seq.unsortedIndices) : Array.from({ length: B }, (_, i) => i);
  const sortedLengths = new Array<number>(B).fill(0);
  for (const bs of batchSizes) for (let s = 0; s < bs; s++) sortedLengths[s]++;
  const idx = new Array<number>(T * B);
  for (let b = 0; b < B; b++) {
    const s = pos[b];
    for (let t = 0; t < T; t++) {
      idx[a.batchFirst ? b * T + t : t * B + b] = t < sortedLengths[s] ? offsets[t] + s : total;
    }
  }
  const source = cat([seq.data, paddingRow(op, seq.data, trailing, a.paddingValue)]);
  const padded = source.indexSelect(0, idx).view(a.batchFirst ? [B, T, ...trailing] : [T, B, ...trailing]);
  return [padded, int64(pos.map((s) => sortedLengths[s]))];
}

// ---- packSequence, unpackSequence, unpadSequence ------------------------------------------------------

/** pack_sequence(sequences, enforce_sorted=True). */
const PACK_SEQUENCE = [
  late(param.custom('sequences', 'Iterable[Tensor]', as<Iterable<Tensor>>)),
  late(param.bool('enforceSorted', true)),
] as const;

/**
 * nn.utils.rnn.packSequence(sequences, enforceSorted = true): packs sequences of sizes [L_i, *] into a
 * PackedSequence (padSequence then packPaddedSequence). With enforceSorted they must come longest first.
 */
export function packSequence(sequences: Iterable<Tensor>, enforceSorted?: boolean): PackedSequence;
export function packSequence(sequences: Iterable<Tensor>, opts: { enforceSorted?: boolean }): PackedSequence;
export function packSequence(opts: { sequences: Iterable<Tensor>; enforceSorted?: boolean }): PackedSequence;
export function packSequence(...args: unknown[]): PackedSequence {
  const op = 'packSequence';
  const a = bindOptions(op, PACK_SEQUENCE, args);
  const seqs = tensorList(op, a.sequences);
  checkBool(op, 'enforceSorted', a.enforceSorted);
  if (seqs.length === 0) throw new RangeError(`${op}: received an empty list of sequences`);
  const lengths = seqs.map((s) => (s.ndim === 0 ? 0 : s._shape[0]));
  return packPaddedSequence(padSequence(seqs), lengths, { enforceSorted: a.enforceSorted });
}

/** unpack_sequence(packed_sequences). */
const UNPACK_SEQUENCE = [late(param.custom('packedSequences', 'PackedSequence', as<PackedSequence>))] as const;

/** nn.utils.rnn.unpackSequence(packedSequences): the inverse of packSequence, the sequences [L_i, *] in their original order. */
export function unpackSequence(packedSequences: PackedSequence): Tensor[];
export function unpackSequence(opts: { packedSequences: PackedSequence }): Tensor[];
export function unpackSequence(...args: unknown[]): Tensor[] {
  const op = 'unpackSequence';
  const a = bindOptions(op, UNPACK_SEQUENCE, args);
  if (!(a.packedSequences instanceof PackedSequence)) {
    throw new TypeError(`${op}: packedSequences must be a PackedSequence, got ${fmtValue(a.packedSequences)}`);
  }
  const [padded, lengths] = padPackedSequence(a.packedSequences, { batchFirst: true });
  return unpadSequence(padded, lengths, { batchFirst: true });
}

/** unpad_sequence(padded_sequences, lengths, batch_first=False). */
const UNPAD_SEQUENCE = [
  late(param.custom('paddedSequences', 'Tensor', as<Tensor>)),
  late(param.custom('lengths', 'Tensor|int[]', as<Tensor | number[]>)),
  late(param.bool('batchFirst', false)),
] as const;

/**
 * nn.utils.rnn.unpadSequence(paddedSequences, lengths, batchFirst = false): the inverse of padSequence, the
 * sequences [lengths[b], *] cut from a padded batch [T, B, *] ([B, T, *] with batchFirst), as views.
 */
export function unpadSequence(paddedSequences: Tensor, lengths: Tensor | number[], batchFirst?: boolean): Tensor[];
export function unpadSequence(paddedSequences: Tensor, lengths: Tensor | number[], opts: { batchFirst?: boolean }): Tensor[];
export function unpadSequence(opts: { paddedSequences: Tensor; lengths: Tensor | number[]; batchFirst?: boolean }): Tensor[];
export function unpadSequence(...args: unknown[]): Tensor[] {
  const op = 'unpadSequence';
  const a = bindOptions(op, UNPAD_SEQUENCE, args);
  if (!(a.paddedSequences instanceof Tensor)) {
    throw new TypeError(`${op}: paddedSequences must be a Tensor, got ${fmtValue(a.paddedSequences)}`);
  }
  checkBool(op, 'batchFirst', a.batchFirst);
  const lengths = intList(op, 'lengths', a.lengths);
  const padded = a.paddedSequences;
  if (padded.ndim < 2) throw new RangeError(`${op}: paddedSequences must have at least 2 dimensions, got size ${fmt(padded._shape)}`);
  const batchMajor = a.batchFirst ? padded : padded.transpose(0, 1);
  const [B, T] = batchMajor._shape;
  if (lengths.length !== B) throw new RangeError(`${op}: got ${lengths.length} lengths for a batch of ${B} sequences`);
  if (lengths.some((l) => l < 0 || l > T)) {
    throw new RangeError(`${op}: lengths ${fmtValue(lengths)} must lie in [0, ${T}] for ${T} steps (size ${fmt(padded._shape)})`);
  }
  return lengths.map((l, b) => batchMajor.select(0, b).narrow(0, 0, l));
}
