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
  abstract get length(): number;
  abstract get(i: number): T;
  /**
   * How a worker thread can build this same dataset; override it to make
   * `new DataLoader(ds, { numWorkers: n })` work without more options.
   */
  workerSpec?(): WorkerDatasetSpec;
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

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (ArrayBuffer.isView(x)) return x.constructor.name;
  if (typeof x === 'object') return x.constructor?.name && x.constructor !== Object ? `a ${x.constructor.name}` : 'an object';
  return typeof x;
}
