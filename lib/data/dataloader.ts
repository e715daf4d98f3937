// torch.utils.data.DataLoader: batches of a dataset, in order or shuffled,
// iterated with `for (const [xb, yb] of loader)`.
//
// A plain TensorDataset never goes item by item: a batch is one narrow (a
// view, no copy) per tensor in order, or one native indexSelect per tensor
// with the shuffled indices. Other datasets are read item by item and
// collated, optionally on worker threads (worker_pool.ts).
//
// An async dataset (get(i) returns Promises) is read with `for await`: each
// batch's items are awaited together before collating. A synchronous
// for...of cannot wait, so it refuses a Promise item with an error; every
// Promise the loader took gets a rejection handler either way, so a
// refused or abandoned item never ends the process as an unhandled
// rejection. Worker threads await Promise items themselves.
//
// The order comes from a batch sampler, as in PyTorch: the given
// batchSampler, or a BatchSampler over the given sampler (default
// SequentialSampler, or RandomSampler with shuffle). Each pass asks it for
// lists of indices; a TensorDataset (or a Subset of one) gathers each list
// with one indexSelect per tensor, and in order without a sampler it
// narrows instead. An IterableDataset is read from its iterator and
// batched as it comes.
import { Tensor } from '../tensor.js';
import * as I from '../ops/indexing.js';
import { fromTypedArray } from '../ops/creation.js';
import {
  ArrayDataset,
  Dataset,
  IterableDataset,
  TensorDataset,
  isDatasetLike,
  isIterableDataset,
  describe,
  type WorkerDatasetSpec,
} from './dataset.js';
import { Subset } from './combine.js';
import { BatchSampler, RandomSampler, SequentialSampler, samplerLength, toGenerator } from './sampler.js';
import { defaultCollate, type CollateFn } from './collate.js';
import { Generator } from './generator.js';
import { WorkerPool, DEFAULT_TIMEOUT_MS, type PoolOptions, type WorkerRun } from './worker_pool.js';
import { isThenable, settleQuietly } from './promises.js';
import { device as checkedDevice, type Device } from '../backend/cuda.js';
import { toDevice } from '../ops/kernels.js';

export interface DataLoaderOptions<B = Tensor[]> {
  /** Items per batch (default 1). */
  batchSize?: number;
  /** A fresh random order each pass (default false). */
  shuffle?: boolean;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Turns a list of items into a batch (default: defaultCollate). */
  collateFn?: CollateFn<never, B>;
  /** The shuffling source: a Generator, or { seed } for a private one. Default: torch.manualSeed's stream. */
  generator?: Generator | { seed: number };
  /** Worker threads building batches (default 0: on the calling thread). */
  numWorkers?: number;
  /** Batches requested ahead per worker (default 2). */
  prefetchFactor?: number;
  /**
   * Milliseconds to wait for a worker's batch before failing (default
   * 600000, ten minutes; 0: no limit, PyTorch's default). Worker errors and
   * dead workers always surface at once (Note [Dead workers]); this bounds
   * the wait on a worker that is alive but never answers.
   */
  timeout?: number;
  /** Module a worker imports to build the dataset (Note [Worker datasets]); default: dataset.workerSpec(). */
  datasetModule?: string | URL;
  /** Export of datasetModule to use (default 'default'). */
  datasetExport?: string;
  /** Arguments for the dataset's fromWorker(...args) or constructor; structured-cloneable. */
  datasetArgs?: unknown[];
  /**
   * The order of the indices (a Sampler or any iterable of indices);
   * mutually exclusive with shuffle. Default: SequentialSampler, or
   * RandomSampler with shuffle.
   */
  sampler?: Iterable<number>;
  /**
   * Yields each batch's list of indices (a BatchSampler or any iterable of
   * index arrays); mutually exclusive with batchSize, shuffle, sampler and
   * dropLast.
   */
  batchSampler?: Iterable<ArrayLike<number>>;
  /** Accepted for PyTorch parity; pinning has no meaning on the CPU. */
  pinMemory?: boolean;
  /**
   * Keep the worker threads (and their datasets) from pass to pass until
   * close() (default false: as in PyTorch, each pass starts its workers and
   * ends them when it is exhausted, fails or is left with break; Note
   * [Worker lifetime]). Needs numWorkers > 0.
   */
  persistentWorkers?: boolean;
  /**
   * Where batches are delivered: each tensor of a batch (in arrays and plain
   * objects) is moved there, saving the `.to(device)` per batch PyTorch
   * code writes. Default: where the dataset's tensors are.
   */
  device?: string;
}

const KNOWN = new Set([
  'batchSize',
  'shuffle',
  'sampler',
  'batchSampler',
  'dropLast',
  'collateFn',
  'generator',
  'numWorkers',
  'prefetchFactor',
  'timeout',
  'datasetModule',
  'datasetExport',
  'datasetArgs',
  'pinMemory',
  'persistentWorkers',
  'device',
]);
const PYTHON_NAMES: Record<string, string> = {
  batch_size: 'batchSize',
  drop_last: 'dropLast',
  batch_sampler: 'batchSampler',
  collate_fn: 'collateFn',
  num_workers: 'numWorkers',
  prefetch_factor: 'prefetchFactor',
  pin_memory: 'pinMemory',
  persistent_workers: 'persistentWorkers',
};

function checkOptions(opts: unknown): DataLoaderOptions<unknown> {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object' || Array.isArray(opts))
    throw new TypeError(`DataLoader: options must be an object like { batchSize: 64, shuffle: true }, got ${describe(opts)}`);
  for (const key of Object.keys(opts)) {
    if (KNOWN.has(key)) continue;
    const hint = PYTHON_NAMES[key] ? ` (did you mean '${PYTHON_NAMES[key]}'?)` : '';
    throw new TypeError(`DataLoader: unknown option '${key}'${hint}; known options: ${[...KNOWN].join(', ')}`);
  }
  const o = opts as DataLoaderOptions<unknown>;
  const posInt = (name: string, v: unknown, min: number) => {
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new RangeError(
        `DataLoader: ${name} must be a ${min > 0 ? 'positive' : 'non-negative'} integer, got ${typeof v === 'number' ? v : describe(v)}`,
      );
    }
  };
  posInt('batchSize', o.batchSize, 1);
  posInt('numWorkers', o.numWorkers, 0);
  posInt('prefetchFactor', o.prefetchFactor, 1);
  if (o.timeout !== undefined && (typeof o.timeout !== 'number' || !(o.timeout >= 0) || !Number.isFinite(o.timeout))) {
    throw new RangeError(`DataLoader: timeout must be a non-negative number of milliseconds, got ${String(o.timeout)}`);
  }
  for (const name of ['shuffle', 'dropLast', 'pinMemory', 'persistentWorkers'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'boolean')
      throw new TypeError(`DataLoader: ${name} must be a boolean, got ${describe(o[name])}`);
  }
  if (o.collateFn !== undefined && typeof o.collateFn !== 'function')
    throw new TypeError(`DataLoader: collateFn must be a function, got ${describe(o.collateFn)}`);
  if (o.datasetExport !== undefined && typeof o.datasetExport !== 'string')
    throw new TypeError(`DataLoader: datasetExport must be a string, got ${describe(o.datasetExport)}`);
  if (o.datasetArgs !== undefined && !Array.isArray(o.datasetArgs))
    throw new TypeError(`DataLoader: datasetArgs must be an array, got ${describe(o.datasetArgs)}`);
  for (const name of ['sampler', 'batchSampler'] as const) {
    const v = o[name] as unknown;
    if (v !== undefined && (v === null || typeof v !== 'object' || typeof (v as Iterable<unknown>)[Symbol.iterator] !== 'function'))
      throw new TypeError(
        `DataLoader: ${name} must be a Sampler or an iterable of ${name === 'sampler' ? 'indices' : 'index arrays'}, got ${describe(v)}`,
      );
  }
  if (o.persistentWorkers === true && !(o.numWorkers !== undefined && o.numWorkers > 0)) {
    throw new RangeError(`DataLoader: persistentWorkers: true needs numWorkers > 0, got numWorkers = ${o.numWorkers ?? 0}`);
  }
  return o;
}

/** A pool that removes itself from `live` when it closes; made here so it holds no loader. */
function openPool(opts: PoolOptions, live: Set<WorkerPool>): WorkerPool {
  const pool: WorkerPool = new WorkerPool(opts, () => live.delete(pool));
  live.add(pool);
  return pool;
}

function asyncDatasetError(index: number): TypeError {
  return new TypeError(
    `DataLoader: dataset.get(${index}) returned a Promise (an async dataset), which a synchronous for...of cannot wait for; ` +
      'iterate with `for await (const batch of loader)`, or use numWorkers > 0, or make get() synchronous',
  );
}

/** Rows of a TensorDataset that a dataset's items are (the dataset itself, or Subsets over it). */
interface Rows {
  base: TensorDataset;
  /** Dataset index -> base row; null: the identity. */
  map: Int32Array | null;
}

function plainTensorDataset(d: unknown): d is TensorDataset {
  // Subclasses that change get() or slice() must be read item by item.
  return d instanceof TensorDataset && d._itemsAreRows();
}

/** Where a dataset's items are rows of a TensorDataset, so batches can be gathered natively; else null. */
function rowsOf(d: unknown): Rows | null {
  if (plainTensorDataset(d)) return { base: d, map: null };
  if (d instanceof Subset && d.get === Subset.prototype.get) {
    const inner = rowsOf(d.dataset);
    if (inner === null) return null;
    const n = d.dataset.length;
    const map = new Int32Array(d.indices.length);
    for (let k = 0; k < map.length; k++) {
      let i = d.indices[k];
      // Out-of-range indices fail only when read, as the item path's get() does.
      if (i < -n || i >= n) return null;
      if (i < 0) i += n;
      map[k] = inner.map ? inner.map[i] : i;
    }
    return { base: inner.base, map };
  }
  return null;
}

/** One batch's indices from a batch sampler, checked, as int32. */
function batchIndices(b: unknown, k: number): Int32Array {
  if (b instanceof Int32Array) return b;
  if (b === null || typeof b !== 'object' || (typeof (b as ArrayLike<unknown>).length !== 'number' && !(Symbol.iterator in b)))
    throw new TypeError(`DataLoader: the batch sampler gave ${describe(b)} for batch ${k}; a batch sampler yields arrays of indices`);
  const list = Array.from(b as ArrayLike<unknown>);
  const out = new Int32Array(list.length);
  list.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) > 0x7fffffff)
      throw new TypeError(`DataLoader: batch ${k} holds ${String(v)} at position ${i}; indices must be integers`);
    out[i] = v;
  });
  return out;
}

/**
 * torch.utils.data.DataLoader(dataset, { batchSize=1, shuffle=false, sampler, batchSampler, numWorkers=0,
 * collateFn=defaultCollate, dropLast=false, timeout, generator, prefetchFactor=2, persistentWorkers=false,
 * pinMemory }): batches of a dataset, iterated with `for (const [xb, yb] of loader)` or `for await` (async datasets).
 * Options are one object in camelCase; numWorkers are worker threads (which rebuild the dataset from its workerSpec
 * or the dataset* options), a TensorDataset is batched natively without per-item collation, and `device` (not in
 * PyTorch) moves each batch there.
 */
export class DataLoader<B = Tensor[]> implements Iterable<B>, AsyncIterable<B> {
  readonly dataset: Dataset<unknown> | IterableDataset<unknown>;
  /** Items per batch; null when a batchSampler decides the batches (as PyTorch's None). */
  readonly batchSize: number | null;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly numWorkers: number;
  readonly generator: Generator | null;
  /** The order of indices (null for an IterableDataset). */
  readonly sampler: Iterable<number> | null;
  /** The lists of indices each pass batches (null for an IterableDataset). */
  readonly batchSampler: Iterable<ArrayLike<number>> | null;
  /** Milliseconds a pass waits for one batch from the workers (0: no limit). */
  readonly timeout: number;
  /** Whether the worker threads live from pass to pass (Note [Worker lifetime]). */
  readonly persistentWorkers: boolean;
  private readonly collateFn: CollateFn<unknown, unknown> | null;
  /** Native gathering for TensorDataset rows (no collateFn); null: item by item. */
  private readonly rows: Rows | null;
  /** In order with the default samplers: batches are narrowed views. */
  private readonly sequential: boolean;
  private readonly iterable: boolean;
  /** How to start workers; null: batches are made on this thread. */
  private readonly poolOptions: PoolOptions | null = null;
  /** The pool that persistentWorkers keeps between passes. */
  private persistent: WorkerPool | null = null;
  /** Every pool not yet closed (of running passes, and the persistent one). */
  private readonly live = new Set<WorkerPool>();
  private closed = false;
  /** Where batches go; null: left where they are made. */
  readonly device: Device | null;

  constructor(dataset: Dataset<unknown> | IterableDataset<unknown> | readonly unknown[], opts?: DataLoaderOptions<B>) {
    if (Array.isArray(dataset)) dataset = new ArrayDataset(dataset);
    const iterable = isIterableDataset(dataset);
    if (!iterable && !isDatasetLike(dataset)) {
      throw new TypeError(
        `DataLoader: expected a Dataset (an object with a numeric length and a get(i) method) or an IterableDataset, got ${describe(dataset)}`,
      );
    }
    const o = checkOptions(opts);
    this.dataset = dataset as Dataset<unknown> | IterableDataset<unknown>;
    this.iterable = iterable;
    this.shuffle = o.shuffle ?? false;
    this.dropLast = o.dropLast ?? false;
    this.numWorkers = o.numWorkers ?? 0;
    this.generator = toGenerator(o.generator, 'DataLoader');
    this.timeout = o.timeout ?? DEFAULT_TIMEOUT_MS;
    this.persistentWorkers = o.persistentWorkers ?? false;
    this.collateFn = (o.collateFn as CollateFn<unknown, unknown> | undefined) ?? null;
    this.device = o.device === undefined ? null : checkedDevice(o.device, 'DataLoader');
    if (iterable) {
      // PyTorch's messages; an iterable dataset decides its own order.
      for (const name of ['shuffle', 'sampler', 'batchSampler'] as const) {
        const v = o[name];
        if (v !== undefined && v !== false)
          throw new RangeError(
            `DataLoader with IterableDataset: expected unspecified ${name} option, but got ${name}=${typeof v === 'object' ? describe(v) : String(v)}`,
          );
      }
      if (this.numWorkers > 0)
        throw new RangeError(
          `DataLoader: numWorkers = ${this.numWorkers} is not supported for an IterableDataset: worker threads read a dataset by index. ` +
            'Read it on the calling thread (numWorkers: 0), or make it a map-style Dataset (length and get(i))',
        );
      this.batchSize = o.batchSize ?? 1;
      this.sampler = null;
      this.batchSampler = null;
      this.rows = null;
      this.sequential = false;
      return;
    }
    const ds = dataset as Dataset<unknown>;
    this.checkLength();
    // PyTorch's mutual exclusions and messages.
    if (o.sampler !== undefined && this.shuffle) throw new RangeError('DataLoader: sampler option is mutually exclusive with shuffle');
    if (o.batchSampler !== undefined) {
      if ((o.batchSize !== undefined && o.batchSize !== 1) || this.shuffle || o.sampler !== undefined || this.dropLast)
        throw new RangeError('DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last');
    }
    const ownSampler = o.sampler === undefined;
    this.sampler =
      o.sampler ?? (this.shuffle ? new RandomSampler(ds, { generator: this.generator ?? undefined }) : new SequentialSampler(ds));
    if (o.batchSampler !== undefined) {
      this.batchSize = null;
      this.batchSampler = o.batchSampler;
    } else {
      this.batchSize = o.batchSize ?? 1;
      this.batchSampler = new BatchSampler(this.sampler, this.batchSize, this.dropLast);
    }
    this.rows = this.collateFn === null ? rowsOf(ds) : null;
    this.sequential = ownSampler && !this.shuffle && o.batchSampler === undefined;
    // TensorDataset rows are gathered natively; threads add nothing.
    if (this.numWorkers > 0 && this.rows === null) {
      this.poolOptions = {
        spec: this.workerSpec(o),
        numWorkers: this.numWorkers,
        collateInWorker: this.collateFn === null,
        prefetchFactor: o.prefetchFactor ?? 2,
        timeout: this.timeout,
        defaultTimeout: o.timeout === undefined,
        expectedLength: ds.length,
      };
    }
  }

  private workerSpec(o: DataLoaderOptions<unknown>): WorkerDatasetSpec {
    if (o.datasetModule !== undefined) {
      return { module: o.datasetModule, exportName: o.datasetExport ?? 'default', args: o.datasetArgs ?? [] };
    }
    const ds = this.dataset as Dataset<unknown>;
    const fromDataset = typeof ds.workerSpec === 'function' ? ds.workerSpec() : undefined;
    if (fromDataset && (typeof fromDataset.module === 'string' || fromDataset.module instanceof URL)) return fromDataset;
    throw new TypeError(
      `DataLoader: numWorkers = ${this.numWorkers} needs a dataset the worker threads can build themselves: pass ` +
        "{ datasetModule: new URL('./my_dataset.js', import.meta.url), datasetExport: 'MyDataset', datasetArgs: [...] }, " +
        'or give the dataset a workerSpec() method returning { module, exportName, args }',
    );
  }

  private checkLength(): number {
    const n = (this.dataset as Dataset<unknown>).length;
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError(`DataLoader: the dataset's length must be a non-negative integer, got ${String(n)}`);
    return n;
  }

  /** The number of batches in one pass (len(batch_sampler); for an IterableDataset, from its length). */
  get length(): number {
    if (this.iterable) {
      const n = (this.dataset as { length?: unknown }).length;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
        throw new TypeError('DataLoader: this IterableDataset has no length, so neither has the loader (give the dataset a length getter)');
      const bs = this.batchSize!;
      return this.dropLast ? Math.floor(n / bs) : Math.ceil(n / bs);
    }
    if (
      this.batchSampler instanceof BatchSampler &&
      this.batchSampler.sampler === this.sampler &&
      this.sampler instanceof SequentialSampler
    )
      this.checkLength();
    return samplerLength(this.batchSampler, 'DataLoader');
  }

  /** Ends the worker threads (if any); a loader with workers cannot be iterated after. */
  close(): Promise<void> {
    this.closed = true;
    this.persistent = null;
    const pools = [...this.live];
    return Promise.all(pools.map((p) => p.close())).then(() => undefined);
  }

  // ---- one pass -----------------------------------------------------------------
  /** One pass of the batch sampler: each batch's indices as int32. */
  private *indexBatches(): Generator_<Int32Array> {
    let k = 0;
    for (const b of this.batchSampler!) yield batchIndices(b, k++);
  }

  private *tensorBatches(rows: Rows): Generator_<Tensor[]> {
    const ds = rows.base;
    if (this.sequential) {
      const n = this.checkLength();
      const bs = this.batchSize!;
      const count = this.dropLast ? Math.floor(n / bs) : Math.ceil(n / bs);
      for (let k = 0; k < count; k++) {
        const s = k * bs;
        if (rows.map === null) {
          yield ds.slice(s, Math.min(n, s + bs));
          continue;
        }
        yield this.gather(ds, rows.map.subarray(s, Math.min(n, s + bs)));
      }
      return;
    }
    const n = (this.dataset as Dataset<unknown>).length;
    for (const idx of this.indexBatches()) {
      // The checks and Python indexing of TensorDataset.get and Subset.get.
      const mapped = new Int32Array(idx.length);
      for (let i = 0; i < idx.length; i++) {
        let v = idx[i];
        if (v < -n || v >= n) (this.dataset as Dataset<unknown>).get(v); // throws the dataset's own range error
        if (v < 0) v += n;
        mapped[i] = rows.map ? rows.map[v] : v;
      }
      yield this.gather(ds, mapped);
    }
  }

  /** The rows `idx` of every tensor: one indexSelect each, where the tensors are. */
  private gather(ds: TensorDataset, idx: Int32Array): Tensor[] {
    const index = fromTypedArray(idx.slice(), [idx.length]);
    const onDevice = new Map<string, Tensor>();
    return ds.tensors.map((t) => {
      if (t.device === 'cpu') return I.indexSelect(t, 0, index);
      let moved = onDevice.get(t.device);
      if (!moved) onDevice.set(t.device, (moved = toDevice(index, t.device, 'DataLoader')));
      return I.indexSelect(t, 0, moved);
    });
  }

  /**
   * The items at `indices`. A Promise item is refused unless `async`;
   * either way no Promise taken is left without a rejection handler.
   */
  private readItems(indices: Int32Array, async: boolean): { items: unknown[]; pending: boolean } {
    const ds = this.dataset as Dataset<unknown>;
    const items = new Array<unknown>(indices.length);
    let pending = false;
    for (let i = 0; i < indices.length; i++) {
      let item: unknown;
      try {
        item = ds.get(indices[i]);
      } catch (err) {
        if (pending) settleQuietly(items.slice(0, i));
        throw err;
      }
      if (isThenable(item)) {
        if (!async) {
          settleQuietly([item]);
          throw asyncDatasetError(indices[i]);
        }
        pending = true;
      }
      items[i] = item;
    }
    return { items, pending };
  }

  private *itemBatches(): Generator_<unknown> {
    const collate = this.collateFn ?? defaultCollate;
    for (const idx of this.indexBatches()) yield collate(this.readItems(idx, false).items);
  }

  /** The item-by-item pass of `for await`: Promise items are awaited. */
  private async *asyncItemBatches(): AsyncGenerator<unknown, void, unknown> {
    const collate = this.collateFn ?? defaultCollate;
    for (const idx of this.indexBatches()) {
      const { items, pending } = this.readItems(idx, true);
      // Promise.all handles the rejection of every item, not only the first.
      const batch = collate(pending ? await Promise.all(items) : items);
      yield this.device === null ? batch : this.place(batch);
    }
  }

  /** An IterableDataset's pass on this thread: items in the order its iterator gives them. */
  private *streamBatches(): Generator_<unknown> {
    const ds = this.dataset as IterableDataset<unknown>;
    if (typeof ds[Symbol.iterator] !== 'function')
      throw new TypeError(
        'DataLoader: this IterableDataset is only async iterable ([Symbol.asyncIterator]); iterate the loader with `for await (const batch of loader)`',
      );
    const collate = this.collateFn ?? defaultCollate;
    const bs = this.batchSize!;
    let batch: unknown[] = [];
    const it = ds[Symbol.iterator]!();
    for (let r = it.next(); !r.done; r = it.next()) {
      if (isThenable(r.value)) {
        settleQuietly([r.value]);
        throw new TypeError(
          'DataLoader: the IterableDataset yielded a Promise, which a synchronous for...of cannot wait for; iterate with `for await (const batch of loader)`',
        );
      }
      batch.push(r.value);
      if (batch.length === bs) {
        yield collate(batch);
        batch = [];
      }
    }
    if (batch.length > 0 && !this.dropLast) yield collate(batch);
  }

  private async *asyncStreamBatches(): AsyncGenerator<unknown, void, unknown> {
    const ds = this.dataset as IterableDataset<unknown>;
    const source: AsyncIterable<unknown> | Iterable<unknown> =
      typeof ds[Symbol.asyncIterator] === 'function'
        ? { [Symbol.asyncIterator]: () => ds[Symbol.asyncIterator]!() }
        : { [Symbol.iterator]: () => ds[Symbol.iterator]!() };
    const collate = this.collateFn ?? defaultCollate;
    const bs = this.batchSize!;
    let batch: unknown[] = [];
    const place = (b: unknown) => (this.device === null ? b : this.place(b));
    for await (const item of source) {
      batch.push(item);
      if (batch.length === bs) {
        yield place(collate(batch));
        batch = [];
      }
    }
    if (batch.length > 0 && !this.dropLast) yield place(collate(batch));
  }

  /** Starts a pass on the workers: a fresh pool, or the persistent one (Note [Worker lifetime]). */
  private workerRun(): WorkerRun {
    if (this.closed) throw new Error('DataLoader: this loader was closed; make a new one to iterate again');
    this.checkLength();
    // The pool sends every batch's indices ahead, so one pass of the batch sampler is taken up front.
    const batches = [...this.indexBatches()];
    if (!this.persistentWorkers) {
      const pool = openPool(this.poolOptions!, this.live);
      pool.watch(this);
      try {
        return pool.run(batches, true);
      } catch (e) {
        void pool.close();
        throw e;
      }
    }
    if (this.persistent !== null && this.persistent.broken) {
      void this.persistent.close();
      this.persistent = null;
    }
    if (this.persistent === null) {
      this.persistent = openPool(this.poolOptions!, this.live);
      this.persistent.watch(this);
    }
    return this.persistent.run(batches, false);
  }

  private afterWorkers(value: unknown): unknown {
    return this.collateFn ? this.collateFn(value as unknown[]) : value;
  }

  /** A batch with its tensors on this.device (arrays and plain objects walked). */
  private place(value: unknown): unknown {
    const dev = this.device!;
    if (value instanceof Tensor) return value.device === dev ? value : toDevice(value, dev, 'DataLoader');
    if (Array.isArray(value)) return value.map((v) => this.place(v));
    if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.place(v);
      return out;
    }
    return value;
  }

  [Symbol.iterator](): Iterator<B> {
    const it = this.batches();
    if (this.device === null) return it;
    return {
      next: () => {
        const r = it.next();
        if (r.done) return r;
        try {
          return { done: false, value: this.place(r.value) as B };
        } catch (e) {
          it.return?.(); // ends the pass (and its workers): for...of does not call return() when next() throws
          throw e;
        }
      },
      return: (value?: unknown) => it.return?.(value as B) ?? { done: true, value: value as B },
    };
  }

  private batches(): Iterator<B> {
    if (this.iterable) return this.streamBatches() as Iterator<B>;
    if (this.rows) return this.tensorBatches(this.rows) as Iterator<B>;
    if (!this.poolOptions) return this.itemBatches() as Iterator<B>;
    const run = this.workerRun();
    const it: Iterator<B> = {
      next: () => {
        const r = run.nextSync();
        if (r.done) return r as IteratorResult<B>;
        try {
          return { done: false, value: this.afterWorkers(r.value) as B };
        } catch (e) {
          throw run.fault(e as Error);
        }
      },
      // for...of calls return() on break, return and throw: the pass ends and its workers with it.
      return: (value?: unknown) => {
        run.stop();
        return { done: true, value: value as B };
      },
    };
    run.watch(it);
    return it;
  }

  [Symbol.asyncIterator](): AsyncIterator<B> {
    if (this.iterable) return this.asyncStreamBatches() as AsyncIterator<B>;
    if (!this.poolOptions) {
      if (!this.rows) return this.asyncItemBatches() as AsyncIterator<B>;
      const sync = this[Symbol.iterator]();
      return {
        next: async () => sync.next(),
        return: async (value?: unknown) => sync.return?.(value as B) ?? { done: true, value: value as B },
      };
    }
    const run = this.workerRun();
    const it: AsyncIterator<B> = {
      next: async () => {
        const r = await run.nextAsync();
        if (r.done) return r as IteratorResult<B>;
        try {
          const batch = this.afterWorkers(r.value);
          return { done: false, value: (this.device === null ? batch : this.place(batch)) as B };
        } catch (e) {
          throw run.fault(e as Error);
        }
      },
      return: async (value?: unknown) => {
        run.stop();
        return { done: true, value: value as B };
      },
    };
    run.watch(it);
    return it;
  }
}

// The built-in Generator type, renamed: `Generator` here is the seedable
// random source exported to users.
type Generator_<T> = globalThis.Generator<T, void, unknown>;
