// Datasets for test/reliability/dataloader_hostile.test.ts (issue 12). Worker
// threads build them from this module through each dataset's workerSpec().
import { Dataset } from '../../../lib/data/index.js';

/** Numbers 0..n-1; get(bad) ends the thread it runs on with process.exit(code). */
export class ExitsAt extends Dataset<number> {
  constructor(
    readonly n: number,
    readonly bad: number,
    readonly code = 3,
    readonly quiet = false,
  ) {
    super();
  }
  get length(): number {
    return this.n;
  }
  get(i: number): number {
    if (i === this.bad) {
      // quiet: drop the 'exit' listeners first, as hostile code could, so
      // only the thread's absence can tell the loader it died.
      if (this.quiet) process.removeAllListeners('exit');
      process.exit(this.code);
    }
    return i;
  }
  workerSpec() {
    return { module: import.meta.url, exportName: 'ExitsAt', args: [this.n, this.bad, this.code, this.quiet] };
  }
}

/** Numbers 0..n-1, made on worker threads. */
export class Numbers extends Dataset<number> {
  constructor(readonly n: number) {
    super();
  }
  get length(): number {
    return this.n;
  }
  get(i: number): number {
    return i;
  }
  workerSpec() {
    return { module: import.meta.url, exportName: 'Numbers', args: [this.n] };
  }
}

/** An async dataset: get(i) gives a Promise of i, rejected at `bad`. */
export class AsyncNumbers extends Dataset<Promise<number>> {
  constructor(
    readonly n: number,
    readonly bad = -1,
    readonly throwsAt = -1,
  ) {
    super();
  }
  get length(): number {
    return this.n;
  }
  get(i: number): Promise<number> {
    if (i === this.throwsAt) throw new Error(`AsyncNumbers: get(${i}) throws`);
    if (i === this.bad) return Promise.reject(new Error(`AsyncNumbers: item ${i} rejected`));
    return new Promise((r) => setTimeout(() => r(i), 1));
  }
  workerSpec() {
    return { module: import.meta.url, exportName: 'AsyncNumbers', args: [this.n, this.bad, this.throwsAt] };
  }
}
