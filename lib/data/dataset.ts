// Datasets: the indexable collections a DataLoader batches
// (torch.utils.data.Dataset and TensorDataset).
import { Tensor } from '../tensor.js';
import * as S from '../ops/shape.js';

/**
 * Where a worker thread finds a dataset (Note [Worker datasets]). The module
 * is imported in the worker; its export `exportName` (default 'default') is
 * either a class, built as `Cls.fromWorker(...args)` when it has that static
 * method and `new Cls(...args)` otherwise, or a ready dataset object.
 * `args` must survive structured cloning.
 */
export interface WorkerDatasetSpec {
  module: string | URL;
  exportName?: string;
  args?: unknown[];
}

/** torch.utils.data.Dataset: a length and an item per index. */
export abstract class Dataset<T = unknown> {
  /** The number of items (PyTorch's __len__). */
  abstract get length(): number;
  /** The item at index i (PyTorch's __getitem__); may return a Promise, read with `for await` over a DataLoader. */
  abstract get(i: number): T;
  /**
   * How a worker thread can build this same dataset; override it to make
   * `new DataLoader(ds, { numWorkers: n })` work without more options
   * (undefined: this dataset cannot be rebuilt in a worker).
   */
  workerSpec?(): WorkerDatasetSpec | undefined;
}

/**
 * torch.utils.data.IterableDataset: a stream of items rather than an
 * indexable collection. A subclass defines `[Symbol.iterator]()` or
 * `[Symbol.asyncIterator]()` (read with `for await`), and may define a
 * `length` getter. The DataLoader batches what one pass of the iterator yields;
 * samplers and shuffling do not apply.
 */
export abstract class IterableDataset<T = unknown> {
  [Symbol.iterator]?(): Iterator<T>;
  [Symbol.asyncIterator]?(): AsyncIterator<T>;
}

/**
 * True for an IterableDataset, and for any non-array object with an
 * iterator (sync or async) and no get(i) method.
 */
export function isIterableDataset(x: unknown): x is IterableDataset<unknown> {
  if (x instanceof IterableDataset) return true;
  if (x === null || typeof x !== 'object' || Array.isArray(x) || isDatasetLike(x)) return false;
  const o = x as { [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown };
  return typeof o[Symbol.iterator] === 'function' || typeof o[Symbol.asyncIterator] === 'function';
}

/** True for anything shaped like a Dataset (a length and a get method). */
export function isDatasetLike(x: unknown): x is Dataset<unknown> {
  if (x === null || typeof x !== 'object') return false;
  const d = x as { length?: unknown; get?: unknown };
  return typeof d.get === 'function' && typeof d.length === 'number';
}

/** Rows of equally long tensors: item i is the i-th row of each. */
export class TensorDataset extends Dataset<Tensor[]> {
  readonly tensors: Tensor[];
  private readonly n: number;

  constructor(...tensors: Tensor[]) {
    super();
    if (tensors.length === 0) throw new TypeError('TensorDataset: expected at least one tensor');
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new TypeError(`TensorDataset: argument ${i} is not a Tensor (got ${describe(t)})`);
      if (t.ndim === 0) throw new RangeError(`TensorDataset: tensor ${i} is 0-dimensional; every tensor needs a first dimension to index`);
    });
    const n = tensors[0]._shape[0];
    const bad = tensors.findIndex((t) => t._shape[0] !== n);
    if (bad >= 0) {
      throw new RangeError(
        `TensorDataset: size mismatch between tensors: tensor 0 has ${n} rows (shape [${tensors[0]._shape.join(', ')}]) ` +
          `but tensor ${bad} has ${tensors[bad]._shape[0]} (shape [${tensors[bad]._shape.join(', ')}])`,
      );
    }
    this.tensors = tensors;
    this.n = n;
  }

  get length(): number {
    return this.n;
  }

  get(i: number): Tensor[] {
    if (typeof i !== 'number' || !Number.isInteger(i)) throw new TypeError(`TensorDataset: index must be an integer, got ${String(i)}`);
    if (i < -this.n || i >= this.n) throw new RangeError(`TensorDataset: index ${i} is out of range for a dataset of length ${this.n}`);
    const k = i < 0 ? i + this.n : i;
    return this.tensors.map((t) => S.select(t, 0, k));
  }

  /**
   * @internal Whether item i is exactly row i of each tensor, so a loader
   * may gather batches natively instead of calling get(); false for a
   * subclass that changes get() or slice().
   */
  _itemsAreRows(): boolean {
    return this.get === TensorDataset.prototype.get && this.slice === TensorDataset.prototype.slice;
  }

  /** Rows start..end-1 of every tensor as views (Python's ds[start:end]). */
  slice(start = 0, end = this.n): Tensor[] {
    if (!Number.isInteger(start) || !Number.isInteger(end)) {
      throw new TypeError(`TensorDataset.slice: start and end must be integers, got ${String(start)} and ${String(end)}`);
    }
    // Python slice bounds: negatives count from the end, the rest clamp.
    const clampIdx = (v: number) => Math.min(this.n, Math.max(0, v < 0 ? v + this.n : v));
    const s = clampIdx(start);
    const e = Math.max(s, clampIdx(end));
    return this.tensors.map((t) => S.narrow(t, 0, s, e - s));
  }
}

/** An array used as a dataset, as PyTorch accepts a list. */
export class ArrayDataset<T> extends Dataset<T> {
  constructor(readonly items: readonly T[]) {
    super();
  }
  get length(): number {
    return this.items.length;
  }
  get(i: number): T {
    if (!Number.isInteger(i) || i < -this.items.length || i >= this.items.length)
      throw new RangeError(`dataset: index ${String(i)} is out of range for a list of length ${this.items.length}`);
    return this.items[i < 0 ? i + this.items.length : i];
  }
}

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (ArrayBuffer.isView(x)) return x.constructor.name;
  if (typeof x === 'object') return x.constructor?.name && x.constructor !== Object ? `a ${x.constructor.name}` : 'an object';
  return typeof x;
}
