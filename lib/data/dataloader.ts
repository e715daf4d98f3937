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
import { Tensor } from '../tensor.js';
import * as I from '../ops/indexing.js';
import * as S from '../ops/shape.js';
import { randperm, fromTypedArray } from '../ops/creation.js';
import { Dataset, TensorDataset, isDatasetLike, describe, type WorkerDatasetSpec } from './dataset.js';
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

function toGenerator(g: unknown): Generator | null {
  if (g === undefined || g === null) return null;
  if (g instanceof Generator) return g;
  if (typeof g === 'object' && typeof (g as { seed?: unknown }).seed === 'number') return new Generator((g as { seed: number }).seed);
  throw new TypeError(`DataLoader: generator must be a torch Generator or { seed: number }, got ${describe(g)}`);
}

/** An array used as a dataset, as PyTorch accepts a list. */
class ArrayDataset<T> extends Dataset<T> {
  constructor(private readonly items: readonly T[]) {
    super();
  }
  get length(): number {
    return this.items.length;
  }
  get(i: number): T {
    return this.items[i];
  }
}

export class DataLoader<B = Tensor[]> implements Iterable<B>, AsyncIterable<B> {
  readonly dataset: Dataset<unknown>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly numWorkers: number;
  readonly generator: Generator | null;
  /** Milliseconds a pass waits for one batch from the workers (0: no limit). */
  readonly timeout: number;
  /** Whether the worker threads live from pass to pass (Note [Worker lifetime]). */
  readonly persistentWorkers: boolean;
  private readonly collateFn: CollateFn<unknown, unknown> | null;
  private readonly fast: TensorDataset | null;
  /** How to start workers; null: batches are made on this thread. */
  private readonly poolOptions: PoolOptions | null = null;
  /** The pool that persistentWorkers keeps between passes. */
  private persistent: WorkerPool | null = null;
  /** Every pool not yet closed (of running passes, and the persistent one). */
  private readonly live = new Set<WorkerPool>();
  private closed = false;
  /** Where batches go; null: left where they are made. */
  readonly device: Device | null;

  constructor(dataset: Dataset<unknown> | readonly unknown[], opts?: DataLoaderOptions<B>) {
    if (Array.isArray(dataset)) dataset = new ArrayDataset(dataset);
    if (!isDatasetLike(dataset)) {
      throw new TypeError(`DataLoader: expected a Dataset (an object with a numeric length and a get(i) method), got ${describe(dataset)}`);
    }
    const o = checkOptions(opts);
    this.dataset = dataset as Dataset<unknown>;
    this.batchSize = o.batchSize ?? 1;
    this.shuffle = o.shuffle ?? false;
    this.dropLast = o.dropLast ?? false;
    this.numWorkers = o.numWorkers ?? 0;
    this.generator = toGenerator(o.generator);
    this.timeout = o.timeout ?? DEFAULT_TIMEOUT_MS;
    this.persistentWorkers = o.persistentWorkers ?? false;
    this.collateFn = (o.collateFn as CollateFn<unknown, unknown> | undefined) ?? null;
    this.device = o.device === undefined ? null : checkedDevice(o.device, 'DataLoader');
    this.checkLength();
    // Subclasses that change get() or slice() must be read item by item.
    const ds = dataset as TensorDataset;
    this.fast =
      dataset instanceof TensorDataset &&
      this.collateFn === null &&
      ds.get === TensorDataset.prototype.get &&
      ds.slice === TensorDataset.prototype.slice
        ? dataset
        : null;
    // A TensorDataset's batches are a native gather each; threads add nothing.
    if (this.numWorkers > 0 && this.fast === null) {
      this.poolOptions = {
        spec: this.workerSpec(o),
        numWorkers: this.numWorkers,
        collateInWorker: this.collateFn === null,
        prefetchFactor: o.prefetchFactor ?? 2,
        timeout: this.timeout,
        defaultTimeout: o.timeout === undefined,
        expectedLength: this.dataset.length,
      };
    }
  }

  private workerSpec(o: DataLoaderOptions<unknown>): WorkerDatasetSpec {
    if (o.datasetModule !== undefined) {
      return { module: o.datasetModule, exportName: o.datasetExport ?? 'default', args: o.datasetArgs ?? [] };
    }
    const fromDataset = typeof this.dataset.workerSpec === 'function' ? this.dataset.workerSpec() : undefined;
    if (fromDataset && (typeof fromDataset.module === 'string' || fromDataset.module instanceof URL)) return fromDataset;
    throw new TypeError(
      `DataLoader: numWorkers = ${this.numWorkers} needs a dataset the worker threads can build themselves: pass ` +
        "{ datasetModule: new URL('./my_dataset.js', import.meta.url), datasetExport: 'MyDataset', datasetArgs: [...] }, " +
        'or give the dataset a workerSpec() method returning { module, exportName, args }',
    );
  }

  private checkLength(): number {
    const n = this.dataset.length;
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError(`DataLoader: the dataset's length must be a non-negative integer, got ${String(n)}`);
    return n;
  }

  /** The number of batches in one pass. */
  get length(): number {
    const n = this.checkLength();
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Ends the worker threads (if any); a loader with workers cannot be iterated after. */
  close(): Promise<void> {
    this.closed = true;
    this.persistent = null;
    const pools = [...this.live];
    return Promise.all(pools.map((p) => p.close())).then(() => undefined);
  }

  // ---- one pass -----------------------------------------------------------------
  /** The shuffled order as an int64 tensor (native randperm unless a generator is set). */
  private permutation(n: number): Tensor {
    if (this.generator) return fromTypedArray(this.generator.randperm(n)).to('int64');
    return randperm(n);
  }

  /** The order as int32 for item-by-item reading. */
  private order(n: number): Int32Array {
    if (!this.shuffle) {
      const o = new Int32Array(n);
      for (let i = 0; i < n; i++) o[i] = i;
      return o;
    }
    if (this.generator) return this.generator.randperm(n);
    return randperm(n).to('int32').toTypedArray() as Int32Array;
  }

  private bounds(n: number): { count: number; at: (k: number) => [number, number] } {
    const bs = this.batchSize;
    const count = this.dropLast ? Math.floor(n / bs) : Math.ceil(n / bs);
    return { count, at: (k) => [k * bs, Math.min(n, (k + 1) * bs)] };
  }

  private *tensorBatches(ds: TensorDataset): Generator_<Tensor[]> {
    const n = ds.length;
    const { count, at } = this.bounds(n);
    if (!this.shuffle) {
      for (let k = 0; k < count; k++) {
        const [s, e] = at(k);
        yield ds.slice(s, e);
      }
      return;
    }
    let perm = this.permutation(n);
    // The order is drawn on the CPU; a dataset held on a device gathers with it there.
    const home = ds.tensors.length ? ds.tensors[0].device : 'cpu';
    if (home !== 'cpu') perm = toDevice(perm, home, 'DataLoader');
    for (let k = 0; k < count; k++) {
      const [s, e] = at(k);
      const idx = S.narrow(perm, 0, s, e - s);
      yield ds.tensors.map((t) => I.indexSelect(t, 0, t.device === idx.device ? idx : toDevice(idx, t.device, 'DataLoader')));
    }
  }

  /**
   * The items order[s..e-1]. A Promise item is refused unless `async`;
   * either way no Promise taken is left without a rejection handler.
   */
  private readItems(order: Int32Array, s: number, e: number, async: boolean): { items: unknown[]; pending: boolean } {
    const items = new Array<unknown>(e - s);
    let pending = false;
    for (let i = s; i < e; i++) {
      let item: unknown;
      try {
        item = this.dataset.get(order[i]);
      } catch (err) {
        if (pending) settleQuietly(items.slice(0, i - s));
        throw err;
      }
      if (isThenable(item)) {
        if (!async) {
          settleQuietly([item]);
          throw asyncDatasetError(order[i]);
        }
        pending = true;
      }
      items[i - s] = item;
    }
    return { items, pending };
  }

  private *itemBatches(): Generator_<unknown> {
    const n = this.checkLength();
    const { count, at } = this.bounds(n);
    const order = this.order(n);
    const collate = this.collateFn ?? defaultCollate;
    for (let k = 0; k < count; k++) {
      const [s, e] = at(k);
      yield collate(this.readItems(order, s, e, false).items);
    }
  }

  /** The item-by-item pass of `for await`: Promise items are awaited. */
  private async *asyncItemBatches(): AsyncGenerator<unknown, void, unknown> {
    const n = this.checkLength();
    const { count, at } = this.bounds(n);
    const order = this.order(n);
    const collate = this.collateFn ?? defaultCollate;
    for (let k = 0; k < count; k++) {
      const [s, e] = at(k);
      const { items, pending } = this.readItems(order, s, e, true);
      // Promise.all handles the rejection of every item, not only the first.
      const batch = collate(pending ? await Promise.all(items) : items);
      yield this.device === null ? batch : this.place(batch);
    }
  }

  /** Starts a pass on the workers: a fresh pool, or the persistent one (Note [Worker lifetime]). */
  private workerRun(): WorkerRun {
    if (this.closed) throw new Error('DataLoader: this loader was closed; make a new one to iterate again');
    const n = this.checkLength();
    const { count, at } = this.bounds(n);
    const order = this.order(n);
    const batches = new Array<Int32Array>(count);
    for (let k = 0; k < count; k++) batches[k] = order.slice(...at(k));
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
    if (this.fast) return this.tensorBatches(this.fast) as Iterator<B>;
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
    if (!this.poolOptions) {
      if (!this.fast) return this.asyncItemBatches() as AsyncIterator<B>;
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
