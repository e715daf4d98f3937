// Datasets made of other datasets: Subset, randomSplit, ConcatDataset
// (map-style) and ChainDataset (iterable), as torch.utils.data has them.
import { randperm } from '../ops/creation.js';
import { Tensor } from '../tensor.js';
import { ArrayDataset, Dataset, IterableDataset, describe, isDatasetLike, isIterableDataset, type WorkerDatasetSpec } from './dataset.js';
import { Generator } from './generator.js';
import { indexList, toGenerator } from './sampler.js';
import { buildFromSpec, cloneableSpec } from './spec.js';

/** A dataset-like argument as a Dataset (an array is wrapped, as PyTorch takes a list). */
function asDataset(d: unknown, who: string): Dataset<unknown> {
  if (Array.isArray(d)) return new ArrayDataset(d);
  if (isIterableDataset(d)) throw new TypeError(`${who} does not support IterableDataset`);
  if (!isDatasetLike(d)) throw new TypeError(`${who}: expected a Dataset (a numeric length and a get(i) method), got ${describe(d)}`);
  return d;
}

/** The spec a worker uses to build `d`, or undefined when it has none (Note [Worker datasets]). */
function specOf(d: Dataset<unknown>): WorkerDatasetSpec | undefined {
  const spec = typeof d.workerSpec === 'function' ? d.workerSpec() : undefined;
  return spec ? cloneableSpec(spec) : undefined;
}

/** torch.utils.data.Subset: the items of `dataset` at `indices`, in that order. */
export class Subset<T = unknown> extends Dataset<T> {
  readonly dataset: Dataset<T>;
  readonly indices: number[];

  constructor(dataset: Dataset<T> | readonly T[], indices: readonly number[] | ArrayLike<number> | Tensor) {
    super();
    this.dataset = asDataset(dataset, 'Subset') as Dataset<T>;
    this.indices = indexList(indices, 'Subset');
  }

  get length(): number {
    return this.indices.length;
  }

  get(i: number): T {
    const n = this.indices.length;
    if (typeof i !== 'number' || !Number.isInteger(i)) throw new TypeError(`Subset: index must be an integer, got ${String(i)}`);
    // Python list indexing: negatives count from the end.
    if (i < -n || i >= n) throw new RangeError(`Subset: index ${i} is out of range for a subset of length ${n}`);
    return this.dataset.get(this.indices[i < 0 ? i + n : i]);
  }

  /** Workers build the wrapped dataset from its own spec, then the subset over it. */
  workerSpec(): WorkerDatasetSpec | undefined {
    const inner = specOf(this.dataset);
    return inner && { module: import.meta.url, exportName: 'Subset', args: [inner, this.indices] };
  }

  static async fromWorker(inner: WorkerDatasetSpec, indices: number[]): Promise<Subset<unknown>> {
    return new Subset(await buildFromSpec(inner), indices);
  }
}

export interface RandomSplitOptions {
  /** The permutation's source (default: the global stream, as torch.manualSeed seeds it). */
  generator?: Generator | { seed: number };
}

function isClose(a: number, b: number): boolean {
  // Python's math.isclose with its default rel_tol = 1e-9.
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

/**
 * torch.utils.data.random_split: non-overlapping Subsets of the given
 * lengths, drawn by one random permutation. Lengths are counts summing to
 * the dataset's length, or fractions summing to 1 (each floor(frac * len),
 * the remainder handed out one by one from the first split on), as
 * PyTorch 1.13.
 */
export function randomSplit<T>(
  dataset: Dataset<T> | readonly T[],
  lengths: readonly number[],
  generator?: Generator | RandomSplitOptions,
): Subset<T>[] {
  const ds = asDataset(dataset, 'randomSplit') as Dataset<T>;
  let g: Generator | null;
  if (generator instanceof Generator) g = generator;
  else if (generator === undefined || generator === null) g = null;
  else if (typeof generator === 'object' && !Array.isArray(generator)) {
    const bad = Object.keys(generator).find((k) => k !== 'generator');
    if (bad !== undefined) throw new TypeError(`randomSplit: unknown option '${bad}'; known options: generator`);
    g = toGenerator(generator.generator, 'randomSplit');
  } else {
    throw new TypeError(`randomSplit: the third argument must be a Generator or { generator }, got ${describe(generator)}`);
  }
  if (!Array.isArray(lengths) || lengths.some((l) => typeof l !== 'number' || !Number.isFinite(l)))
    throw new TypeError(`randomSplit: lengths must be an array of numbers (counts or fractions), got ${describe(lengths)}`);
  const n = ds.length;
  let counts = lengths.slice();
  const total = counts.reduce((a, b) => a + b, 0);
  if (isClose(total, 1) && total <= 1) {
    counts = lengths.map((frac, i) => {
      if (frac < 0 || frac > 1) throw new RangeError(`randomSplit: Fraction at index ${i} is not between 0 and 1 (got ${frac})`);
      return Math.floor(n * frac);
    });
    const remainder = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; i < remainder; i++) counts[i % counts.length]++;
    counts.forEach((c, i) => {
      if (c === 0) process.emitWarning(`Length of split at index ${i} is 0. This might result in an empty dataset.`);
    });
  }
  const sum = counts.reduce((a, b) => a + b, 0);
  if (sum !== n)
    throw new RangeError(
      `randomSplit: Sum of input lengths does not equal the length of the input dataset! (lengths [${lengths.join(', ')}] sum to ${sum}, the dataset has ${n})`,
    );
  // PyTorch 1.13 lets a negative count through when the sum still matches and then slices nonsense; refuse it.
  const bad = counts.findIndex((c) => !Number.isInteger(c) || c < 0);
  if (bad >= 0)
    throw new RangeError(
      `randomSplit: lengths must be non-negative integers or fractions summing to 1, got ${counts[bad]} at index ${bad}`,
    );
  const perm = g ? Array.from(g.randperm(sum)) : (randperm(sum).tolist() as number[]);
  const out: Subset<T>[] = [];
  let offset = 0;
  for (const c of counts) {
    out.push(new Subset(ds, perm.slice(offset, offset + c)));
    offset += c;
  }
  return out;
}

/** torch.utils.data.ConcatDataset: the items of several datasets one after another. */
export class ConcatDataset<T = unknown> extends Dataset<T> {
  readonly datasets: Dataset<T>[];
  /** The running totals of the lengths: cumulativeSizes[k] items are in datasets 0..k. */
  readonly cumulativeSizes: number[];

  constructor(datasets: Iterable<Dataset<T> | readonly T[]>) {
    super();
    if (datasets === null || typeof datasets !== 'object' || typeof (datasets as Iterable<unknown>)[Symbol.iterator] !== 'function')
      throw new TypeError(`ConcatDataset: datasets must be an array of datasets, got ${describe(datasets)}`);
    this.datasets = Array.from(datasets, (d) => asDataset(d, 'ConcatDataset') as Dataset<T>);
    if (this.datasets.length === 0) throw new RangeError('ConcatDataset: datasets should not be an empty iterable');
    let s = 0;
    this.cumulativeSizes = this.datasets.map((d, k) => {
      const l = d.length;
      if (!Number.isInteger(l) || l < 0)
        throw new RangeError(`ConcatDataset: dataset ${k} has length ${String(l)}, not a non-negative integer`);
      return (s += l);
    });
  }

  get length(): number {
    return this.cumulativeSizes[this.cumulativeSizes.length - 1];
  }

  get(idx: number): T {
    if (typeof idx !== 'number' || !Number.isInteger(idx))
      throw new TypeError(`ConcatDataset: index must be an integer, got ${String(idx)}`);
    const n = this.length;
    if (idx < 0) {
      if (-idx > n)
        throw new RangeError(`ConcatDataset: absolute value of index should not exceed dataset length (index ${idx}, length ${n})`);
      idx += n;
    }
    if (idx >= n) throw new RangeError(`ConcatDataset: index ${idx} is out of range for a dataset of length ${n}`);
    // bisect_right: the first dataset whose running total exceeds idx.
    const sizes = this.cumulativeSizes;
    let lo = 0;
    let hi = sizes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sizes[mid] > idx) hi = mid;
      else lo = mid + 1;
    }
    return this.datasets[lo].get(lo === 0 ? idx : idx - sizes[lo - 1]);
  }

  /** Workers build every part from its own spec (all parts need one). */
  workerSpec(): WorkerDatasetSpec | undefined {
    const specs = this.datasets.map(specOf);
    if (specs.some((s) => s === undefined)) return undefined;
    return { module: import.meta.url, exportName: 'ConcatDataset', args: [specs] };
  }

  static async fromWorker(specs: WorkerDatasetSpec[]): Promise<ConcatDataset<unknown>> {
    return new ConcatDataset(await Promise.all(specs.map(buildFromSpec)));
  }
}

/** torch.utils.data.ChainDataset: several IterableDatasets read one after another. */
export class ChainDataset<T = unknown> extends IterableDataset<T> {
  readonly datasets: IterableDataset<T>[];

  constructor(datasets: Iterable<IterableDataset<T>>) {
    super();
    if (datasets === null || typeof datasets !== 'object' || typeof (datasets as Iterable<unknown>)[Symbol.iterator] !== 'function')
      throw new TypeError(`ChainDataset: datasets must be an array of IterableDatasets, got ${describe(datasets)}`);
    this.datasets = Array.from(datasets);
    this.datasets.forEach((d, k) => {
      if (!isIterableDataset(d)) throw new TypeError(`ChainDataset only supports IterableDataset (dataset ${k} is ${describe(d)})`);
    });
  }

  /** The summed lengths of the chained datasets; throws when one has no length. */
  get length(): number {
    let total = 0;
    this.datasets.forEach((d, k) => {
      const l = (d as { length?: unknown }).length;
      if (typeof l !== 'number') throw new TypeError(`ChainDataset: dataset ${k} has no length`);
      total += l;
    });
    return total;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (const [k, d] of this.datasets.entries()) {
      if (typeof d[Symbol.iterator] !== 'function')
        throw new TypeError(`ChainDataset: dataset ${k} is only async iterable; read the chain with for await`);
      yield* { [Symbol.iterator]: () => d[Symbol.iterator]!() };
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (const d of this.datasets) {
      if (typeof d[Symbol.asyncIterator] === 'function') yield* { [Symbol.asyncIterator]: () => d[Symbol.asyncIterator]!() };
      else yield* { [Symbol.iterator]: () => d[Symbol.iterator]!() };
    }
  }
}
