// Datasets that worker threads build for test/data/workers.test.ts. This file
// is imported both by the test (main thread) and, through the loader's
// worker spec, by each worker thread.
import * as torch from '../../lib/index.js';
import { Dataset } from '../../lib/data/index.js';

type Tensor = torch.Tensor;

/** A CPU-heavy dataset: each item costs a deterministic inner loop. */
export class SlowFeatures extends Dataset<[Tensor, number]> {
  constructor(
    readonly n: number,
    readonly dim: number,
    readonly work = 200,
  ) {
    super();
  }
  static fromWorker(n: number, dim: number, work: number): SlowFeatures {
    return new SlowFeatures(n, dim, work);
  }
  get length(): number {
    return this.n;
  }
  get(i: number): [Tensor, number] {
    const a = new Float32Array(this.dim);
    for (let k = 0; k < this.dim; k++) {
      let v = i * 0.37 + k;
      for (let r = 0; r < this.work; r++) v = Math.sin(v) * 1.5 + 0.25;
      a[k] = v;
    }
    a[0] = i; // which item this is, readable from any batch
    return [torch.fromTypedArray(a), i % 3];
  }
  workerSpec() {
    return { module: import.meta.url, exportName: 'SlowFeatures', args: [this.n, this.dim, this.work] };
  }
}

/** Items as plain typed arrays and objects (no tensors at all). */
export class Records extends Dataset<{ x: Float64Array; id: number; tag: string }> {
  constructor(readonly n: number) {
    super();
  }
  get length(): number {
    return this.n;
  }
  get(i: number) {
    return { x: Float64Array.of(i, i * i), id: i, tag: `r${i}` };
  }
}

/** Fails on one index, to check that worker errors reach the loader. */
export class ThrowsAt extends Dataset<number> {
  constructor(
    readonly n: number,
    readonly bad: number,
  ) {
    super();
  }
  get length(): number {
    return this.n;
  }
  get(i: number): number {
    if (i === this.bad) throw new Error(`ThrowsAt: item ${i} is broken`);
    return i;
  }
}

/** A ready-made dataset object exported as is. */
export const tenNumbers = { length: 10, get: (i: number) => i * 10 };

export const notADataset = { hello: 'world' };

/** Hands out the same stored tensors every time (they own their buffers). */
export class Cached extends Dataset<Tensor> {
  readonly rows: Tensor[];
  constructor(readonly n: number) {
    super();
    this.rows = Array.from({ length: n }, (_, i) => torch.fromTypedArray(new Float32Array(300).fill(i)));
  }
  get length(): number {
    return this.n;
  }
  get(i: number): Tensor {
    return this.rows[i];
  }
}
