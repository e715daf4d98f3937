// torch.utils.data samplers: the order in which a DataLoader reads a
// map-style dataset. A sampler is any iterable of indices (a Sampler, an
// array, a generator function's result); a batch sampler is any iterable of
// index lists. The loader asks each for one pass at a time, as PyTorch does.
import { Tensor } from '../tensor.js';
import { randint, randperm } from '../ops/creation.js';
import { Generator } from './generator.js';
import { describe } from './dataset.js';

/** Anything with a numeric length (a dataset, an array). */
export interface Sized {
  readonly length: number;
}

/** torch.utils.data.Sampler: iterates over indices (or, for a batch sampler, lists of indices). */
export abstract class Sampler<T = number> implements Iterable<T> {
  abstract [Symbol.iterator](): Iterator<T>;
  /** The number of indices one pass yields; a sampler without one cannot size its DataLoader. */
  get length(): number {
    throw new TypeError(`${this.constructor.name}: this sampler has no length (define a 'length' getter)`);
  }
}

/** A Generator, or { seed } for a private one, as samplers and the DataLoader accept; null when absent. */
export function toGenerator(g: unknown, who: string): Generator | null {
  if (g === undefined || g === null) return null;
  if (g instanceof Generator) return g;
  if (typeof g === 'object' && typeof (g as { seed?: unknown }).seed === 'number') return new Generator((g as { seed: number }).seed);
  throw new TypeError(`${who}: generator must be a torch Generator or { seed: number }, got ${describe(g)}`);
}

/**
 * A Generator for one pass when none was given. PyTorch seeds a fresh
 * generator from the global stream here, so torch.manualSeed reproduces it.
 */
function passGenerator(g: Generator | null): Generator {
  if (g) return g;
  const [hi, lo] = randint(0, 2 ** 26, [2]).tolist() as number[];
  return new Generator(hi * 2 ** 26 + lo);
}

/** A permutation of 0..n-1: from the generator, or from the global stream (native randperm) without one. */
export function permutation(n: number, g: Generator | null): Int32Array {
  if (g) return g.randperm(n);
  return randperm(n).to('int32').toTypedArray() as Int32Array;
}

/** A uniform double in [0, 1) with 53 random bits. */
function uniform(g: Generator): number {
  const a = g.nextUint32() >>> 5;
  const b = g.nextUint32() >>> 6;
  return (a * 67108864 + b) / 9007199254740992;
}

function checkOptions(who: string, opts: unknown, known: string[]): Record<string, unknown> {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError(`${who}: options must be an object, got ${describe(opts)}`);
  for (const key of Object.keys(opts)) {
    if (!known.includes(key)) {
      const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
      const hint = known.includes(camel) ? ` (did you mean '${camel}'?)` : '';
      throw new TypeError(`${who}: unknown option '${key}'${hint}; known options: ${known.join(', ')}`);
    }
  }
  return opts as Record<string, unknown>;
}

function lengthOf(x: unknown, who: string): number {
  const n = (x as Sized | null)?.length;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
    throw new TypeError(`${who}: data_source must have a non-negative integer length, got ${describe(x)}`);
  return n;
}

/** The indices as a plain array of integers (from an array, typed array or 1-d integer tensor). */
export function indexList(indices: unknown, who: string): number[] {
  let list: number[];
  if (indices instanceof Tensor) {
    if (indices.ndim !== 1 || !['int64', 'int32', 'uint8'].includes(indices.dtype))
      throw new TypeError(`${who}: indices must be a 1-d integer tensor, got ${indices.dtype} of shape [${indices.shape.join(', ')}]`);
    list = indices.tolist() as number[];
  } else if (Array.isArray(indices) || (ArrayBuffer.isView(indices) && !(indices instanceof DataView))) {
    list = Array.from(indices as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? Number(v) : v));
  } else if (indices !== null && typeof indices === 'object' && Symbol.iterator in indices) {
    list = Array.from(indices as Iterable<number>);
  } else {
    throw new TypeError(`${who}: indices must be an array of integers, got ${describe(indices)}`);
  }
  const bad = list.findIndex((v) => typeof v !== 'number' || !Number.isInteger(v));
  if (bad >= 0) throw new TypeError(`${who}: indices must be integers, got ${String(list[bad])} at position ${bad}`);
  return list;
}

/** torch.utils.data.SequentialSampler: 0, 1, ..., len(dataSource) - 1. */
export class SequentialSampler extends Sampler<number> {
  constructor(readonly dataSource: Sized) {
    super();
    lengthOf(dataSource, 'SequentialSampler');
  }
  override get length(): number {
    return this.dataSource.length;
  }
  *[Symbol.iterator](): Iterator<number> {
    const n = this.dataSource.length;
    for (let i = 0; i < n; i++) yield i;
  }
}

export interface RandomSamplerOptions {
  /** Draw with replacement (default false). */
  replacement?: boolean;
  /** Indices per pass (default: the data source's length). */
  numSamples?: number;
  /** The random source (default: the global stream, as torch.manualSeed seeds it). */
  generator?: Generator | { seed: number };
}

/**
 * torch.utils.data.RandomSampler: a random permutation per pass (several
 * back to back when numSamples exceeds the length), or numSamples draws
 * with replacement.
 */
export class RandomSampler extends Sampler<number> {
  readonly replacement: boolean;
  readonly generator: Generator | null;
  private readonly numSamples_: number | undefined;

  constructor(
    readonly dataSource: Sized,
    opts?: RandomSamplerOptions,
  ) {
    super();
    const o = checkOptions('RandomSampler', opts, ['replacement', 'numSamples', 'generator']);
    lengthOf(dataSource, 'RandomSampler');
    this.replacement = (o.replacement as boolean | undefined) ?? false;
    if (typeof this.replacement !== 'boolean')
      throw new TypeError(`RandomSampler: replacement should be a boolean value, but got replacement=${String(this.replacement)}`);
    const ns = o.numSamples;
    if (ns !== undefined && ns !== null && (typeof ns !== 'number' || !Number.isInteger(ns)))
      throw new RangeError(`RandomSampler: num_samples should be a positive integer value, but got num_samples=${String(ns)}`);
    this.numSamples_ = (ns ?? undefined) as number | undefined;
    const n = this.numSamples;
    if (!(n > 0)) throw new RangeError(`RandomSampler: num_samples should be a positive integer value, but got num_samples=${n}`);
    this.generator = toGenerator(o.generator, 'RandomSampler');
  }

  /** How many indices a pass yields: numSamples if given, else the dataset's length (PyTorch's num_samples). */
  get numSamples(): number {
    return this.numSamples_ ?? this.dataSource.length;
  }
  override get length(): number {
    return this.numSamples;
  }

  *[Symbol.iterator](): Iterator<number> {
    const n = this.dataSource.length;
    const total = this.numSamples;
    if (this.replacement) {
      const g = passGenerator(this.generator);
      for (let k = 0; k < total; k++) yield g.below(n);
      return;
    }
    // Whole permutations, then a prefix of one more, as PyTorch 1.13.
    for (let done = 0; done < total;) {
      const perm = permutation(n, this.generator);
      const take = Math.min(n, total - done);
      for (let i = 0; i < take; i++) yield perm[i];
      done += take;
    }
  }
}

/** torch.utils.data.SubsetRandomSampler: the given indices in a random order, without replacement. */
export class SubsetRandomSampler extends Sampler<number> {
  readonly indices: number[];
  readonly generator: Generator | null;
  constructor(indices: readonly number[] | ArrayLike<number> | Tensor, opts?: { generator?: Generator | { seed: number } }) {
    super();
    const o = checkOptions('SubsetRandomSampler', opts, ['generator']);
    this.indices = indexList(indices, 'SubsetRandomSampler');
    this.generator = toGenerator(o.generator, 'SubsetRandomSampler');
  }
  override get length(): number {
    return this.indices.length;
  }
  *[Symbol.iterator](): Iterator<number> {
    const perm = permutation(this.indices.length, this.generator);
    for (let i = 0; i < perm.length; i++) yield this.indices[perm[i]];
  }
}

export interface WeightedRandomSamplerOptions {
  /** Draw with replacement (default true). */
  replacement?: boolean;
  generator?: Generator | { seed: number };
}

/**
 * torch.utils.data.WeightedRandomSampler: numSamples indices of
 * 0..len(weights)-1, index i drawn with probability proportional to
 * weights[i] (as torch.multinomial draws).
 */
export class WeightedRandomSampler extends Sampler<number> {
  readonly weights: Float64Array;
  readonly numSamples: number;
  readonly replacement: boolean;
  readonly generator: Generator | null;

  constructor(weights: readonly number[] | ArrayLike<number> | Tensor, numSamples: number, opts?: WeightedRandomSamplerOptions) {
    super();
    const o = checkOptions('WeightedRandomSampler', opts, ['replacement', 'generator']);
    if (typeof numSamples !== 'number' || !Number.isInteger(numSamples) || numSamples <= 0)
      throw new RangeError(
        `WeightedRandomSampler: num_samples should be a positive integer value, but got num_samples=${String(numSamples)}`,
      );
    const replacement = (o.replacement as boolean | undefined) ?? true;
    if (typeof replacement !== 'boolean')
      throw new TypeError(`WeightedRandomSampler: replacement should be a boolean value, but got replacement=${String(replacement)}`);
    let w: number[];
    if (weights instanceof Tensor) {
      if (weights.ndim !== 1)
        throw new RangeError(
          `WeightedRandomSampler: weights should be a 1d sequence but given weights have shape [${weights.shape.join(', ')}]`,
        );
      w = (weights.to('float64').tolist() as number[]).map(Number);
    } else if (Array.isArray(weights) || (ArrayBuffer.isView(weights) && !(weights instanceof DataView))) {
      w = Array.from(weights as ArrayLike<unknown>, (v) => {
        if (Array.isArray(v)) throw new RangeError('WeightedRandomSampler: weights should be a 1d sequence, got a nested array');
        return Number(v);
      });
    } else {
      throw new TypeError(`WeightedRandomSampler: weights must be an array, typed array or 1-d tensor, got ${describe(weights)}`);
    }
    // torch.multinomial's checks and messages, made here rather than on the first pass.
    w.forEach((v, i) => {
      if (!Number.isFinite(v))
        throw new RangeError(
          `WeightedRandomSampler: invalid multinomial distribution (encountering probability entry = infinity or NaN): weights[${i}] = ${v}`,
        );
      if (v < 0)
        throw new RangeError(
          `WeightedRandomSampler: invalid multinomial distribution (encountering probability entry < 0): weights[${i}] = ${v}`,
        );
    });
    if (!w.some((v) => v > 0)) throw new RangeError('WeightedRandomSampler: invalid multinomial distribution (sum of probabilities <= 0)');
    if (!replacement && numSamples > w.length) {
      throw new RangeError(
        `WeightedRandomSampler: cannot sample n_sample > prob_dist.size(-1) samples without replacement (numSamples ${numSamples} > ${w.length} weights)`,
      );
    }
    this.weights = Float64Array.from(w);
    this.numSamples = numSamples;
    this.replacement = replacement;
    this.generator = toGenerator(o.generator, 'WeightedRandomSampler');
  }

  override get length(): number {
    return this.numSamples;
  }

  *[Symbol.iterator](): Iterator<number> {
    const g = passGenerator(this.generator);
    const w = this.weights;
    const n = w.length;
    if (this.replacement) {
      const cdf = new Float64Array(n);
      let s = 0;
      for (let i = 0; i < n; i++) cdf[i] = s += w[i];
      for (let k = 0; k < this.numSamples; k++) {
        const u = uniform(g) * s;
        // The first index whose cumulative weight exceeds u; zero weights are never taken.
        let lo = 0;
        let hi = n - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (cdf[mid] > u) hi = mid;
          else lo = mid + 1;
        }
        yield lo;
      }
      return;
    }
    // Without replacement: each draw is proportional to the weights left;
    // once they are all taken, torch.multinomial goes on with the zero-weight
    // indices in a random order, and so does this.
    const left = Float64Array.from(w);
    let s = left.reduce((a, b) => a + b, 0);
    const zeros: number[] = [];
    for (let i = 0; i < n; i++) if (w[i] === 0) zeros.push(i);
    const positives = n - zeros.length;
    for (let k = 0; k < this.numSamples; k++) {
      if (k >= positives) {
        // A Fisher-Yates step over the zero-weight indices.
        const at = k - positives;
        const j = at + g.below(zeros.length - at);
        [zeros[at], zeros[j]] = [zeros[j], zeros[at]];
        yield zeros[at];
        continue;
      }
      const u = uniform(g) * s;
      let acc = 0;
      let pick = -1;
      for (let i = 0; i < n; i++) {
        if (left[i] === 0) continue;
        pick = i;
        acc += left[i];
        if (acc > u) break;
      }
      s -= left[pick];
      left[pick] = 0;
      yield pick;
    }
  }
}

/** torch.utils.data.BatchSampler: groups another sampler's indices into lists of batchSize. */
export class BatchSampler extends Sampler<number[]> {
  readonly sampler: Iterable<number>;
  readonly batchSize: number;
  readonly dropLast: boolean;

  constructor(sampler: Iterable<number>, batchSize: number | { batchSize?: number; dropLast?: boolean }, dropLast?: boolean) {
    super();
    // Positional (sampler, batchSize, dropLast) or (sampler, { batchSize, dropLast }).
    if (batchSize !== null && typeof batchSize === 'object') {
      const o = checkOptions('BatchSampler', batchSize, ['batchSize', 'dropLast']);
      batchSize = o.batchSize as number;
      dropLast = o.dropLast as boolean;
    }
    if (sampler === null || typeof sampler !== 'object' || typeof (sampler as Iterable<number>)[Symbol.iterator] !== 'function')
      throw new TypeError(`BatchSampler: sampler must be a Sampler or an iterable of indices, got ${describe(sampler)}`);
    if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize <= 0)
      throw new RangeError(`BatchSampler: batch_size should be a positive integer value, but got batch_size=${String(batchSize)}`);
    if (typeof dropLast !== 'boolean')
      throw new TypeError(`BatchSampler: drop_last should be a boolean value, but got drop_last=${String(dropLast)}`);
    this.sampler = sampler;
    this.batchSize = batchSize;
    this.dropLast = dropLast;
  }

  override get length(): number {
    const n = samplerLength(this.sampler, 'BatchSampler');
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<number[]> {
    let batch: number[] = [];
    for (const i of this.sampler) {
      batch.push(i);
      if (batch.length === this.batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0 && !this.dropLast) yield batch;
  }
}

/** The length of a sampler or iterable (TypeError when it has none, as Python's len()). */
export function samplerLength(s: unknown, who: string): number {
  const n = (s as { length?: unknown }).length;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0) return n;
  throw new TypeError(`${who}: the sampler ${describe(s)} has no length`);
}
