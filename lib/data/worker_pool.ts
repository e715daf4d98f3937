// The loader side of DataLoader({ numWorkers }).
//
// Note [Worker datasets]
// A worker thread has its own module graph and heap, so it cannot share the
// loader's dataset object; it builds its own from a WorkerDatasetSpec
// { module, exportName, args } (given as DataLoader options or by the
// dataset's workerSpec() method). The loader keeps only the length and the
// sampling: it decides every batch's indices, sends them to worker
// (batch % numWorkers), and takes results back in batch order, so the
// sequence of batches is the same as without workers.
//
// Workers answer on a MessagePort and bump a shared counter. The loader
// pulls answers with receiveMessageOnPort and sleeps on the counter with
// Atomics.wait (sync iteration) or Atomics.waitAsync (for await): no event
// loop turn is needed, so a plain synchronous training loop still gets
// batches built in parallel, prefetchFactor * numWorkers batches ahead.
//
// Note [Worker lifetime]
// As in PyTorch, a loader's workers belong to one pass by default
// (persistentWorkers: false): each iterator starts a pool and the pool ends
// when the pass is exhausted, fails, or is left early (the iterator's
// return(), which for...of and for await...of call on break, return and
// throw). With persistentWorkers: true one pool serves every pass until
// close(); a pool whose worker died or could not build the dataset is
// replaced by a fresh one on the next pass. Whatever is never closed ends
// when its owner is collected: a pool is registered with a
// FinalizationRegistry under its loader and under its iterator. The
// registry holds the pool, which holds no reference back to either.
//
// Note [Dead workers]
// A worker can die without an answer: its dataset calls process.exit(),
// or its thread is killed. The Worker's 'exit' event tells the loader, but
// only on the event loop, which a synchronous for...of never runs while it
// sleeps in Atomics.wait. So the loader sleeps in slices of POLL_MS and
// between slices reads two signals a dying worker cannot hold back:
//  - an exit flag in shared memory (liveness.ts), set by a process 'exit'
//    listener that the worker installs before any other code of it runs;
//    process.exit() in a worker runs the 'exit' listeners, so this gives
//    the exit code the moment the worker gives up;
//  - on Linux, the OS thread itself: the worker records its thread id and
//    start time (from /proc/thread-self/stat) and the loader checks that
//    /proc/self/task/<tid> still exists, is not a zombie and has that start
//    time (a reused id has another). A thread cannot be present after it
//    ended, so this also catches workers that removed the listener or were
//    terminated without running JS, once they have started.
// Either fails the pass at once: "DataLoader: worker 1 (thread 7) exited
// unexpectedly (exit code 3)", as PyTorch reports a dead worker process.
// A worker that is alive but never answers is bounded by `timeout`, which
// by default is DEFAULT_TIMEOUT_MS (PyTorch waits for ever by default;
// timeout: 0 still does) and is named in the error.
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { WorkerDatasetSpec } from './dataset.js';
import type { BatchRequest, WorkerInit, WorkerReply } from './worker.js';
import { decode } from './wire.js';
import { LIVENESS_WORDS, osThreadGone } from './liveness.js';
import { moduleHref } from './spec.js';

/** The default wait for one batch (Note [Dead workers]): 10 minutes, room for a slow disk or network. */
export const DEFAULT_TIMEOUT_MS = 600_000;
/** How long a wait sleeps before it looks for dead workers again. */
const POLL_MS = 100;

// Running from the TypeScript sources (vitest, a checkout), the worker
// entry is worker.ts, which Node 20 cannot run by itself: the worker first
// registers these loader hooks, which compile .ts files (with esbuild when
// it is installed, as it is beside vitest, else with the slower
// `typescript` package) and map the sources' './x.js' imports to './x.ts'.
const TS_HOOKS = `
import { createRequire } from 'node:module';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
let compile;
export function initialize({ compiler, path }) {
  const mod = createRequire(path)(path);
  compile = compiler === 'esbuild'
    ? (source, fileName) => mod.transformSync(source, { loader: 'ts', format: 'esm', target: 'es2022', sourcemap: 'inline', sourcefile: fileName }).code
    : (source, fileName) => mod.transpileModule(source, { fileName, compilerOptions: { module: mod.ModuleKind.ESNext, target: mod.ScriptTarget.ES2022, inlineSourceMap: true } }).outputText;
}
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (specifier.endsWith('.js') && context.parentURL && context.parentURL.endsWith('.ts')) {
      const url = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
      if (url.protocol === 'file:' && existsSync(fileURLToPath(url))) return { url: url.href, shortCircuit: true };
    }
    throw e;
  }
}
export async function load(url, context, next) {
  if (url.startsWith('file:') && url.endsWith('.ts')) {
    const fileName = fileURLToPath(url);
    return { format: 'module', source: compile(readFileSync(fileName, 'utf8'), fileName), shortCircuit: true };
  }
  return next(url, context);
}`;

const TS_BOOTSTRAP = `
const { register } = require('node:module');
const { workerData } = require('node:worker_threads');
const fail = (e) => {
  workerData.port.postMessage({ type: 'error', epoch: -1, batch: -1, message: 'could not start the worker: ' + (e && e.stack || e) });
  Atomics.add(workerData.signal, 0, 1);
  Atomics.notify(workerData.signal, 0);
};
try {
  register(workerData.tsHooks, { data: workerData.compiler });
  import(workerData.entry).catch(fail);
} catch (e) { fail(e); }
`;

/**
 * @internal The loader hooks that let a fresh thread or process import
 * Kindling's .ts sources: register(url, { data }) before importing them.
 */
export function sourceHooks(): { url: string; data: { compiler: string; path: string } } {
  const require = createRequire(import.meta.url);
  for (const compiler of ['esbuild', 'typescript']) {
    let path: string;
    try {
      path = require.resolve(compiler);
    } catch {
      continue;
    }
    return { url: 'data:text/javascript,' + encodeURIComponent(TS_HOOKS), data: { compiler, path } };
  }
  throw new Error(
    'DataLoader: numWorkers > 0 while Kindling runs from its TypeScript sources needs esbuild or typescript to compile the worker (npm install esbuild), or use the built package',
  );
}

export interface PoolOptions {
  spec: WorkerDatasetSpec;
  numWorkers: number;
  collateInWorker: boolean;
  prefetchFactor: number;
  /** Milliseconds to wait for a batch; 0: no limit. */
  timeout: number;
  /** Whether `timeout` is the default (the error then says how to change it). */
  defaultTimeout: boolean;
  expectedLength: number;
}

interface Slot {
  worker: Worker;
  port: MessagePort;
  /** The Node thread id (worker_threads.threadId inside the worker). */
  threadId: number;
}

// Note [Worker lifetime]: the held value is the pool, never its owner.
const cleanup = new FinalizationRegistry<WorkerPool>((pool) => void pool.close());

export class WorkerPool {
  private slots: Slot[] = [];
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  /** Note [Dead workers]: [exited, exit code, OS thread id] per worker, and the threads' start times. */
  private readonly liveness: Int32Array;
  private readonly starts: Float64Array;
  private failure: Error | null = null;
  private closed = false;
  private closing: Promise<void> = Promise.resolve();
  private epoch = 0;

  /** `onClose` runs once when the pool closes; it must not hold the pool's owner. */
  constructor(
    private readonly opts: PoolOptions,
    private readonly onClose: (() => void) | null = null,
  ) {
    this.liveness = new Int32Array(new SharedArrayBuffer(4 * LIVENESS_WORDS * opts.numWorkers));
    this.starts = new Float64Array(new SharedArrayBuffer(8 * opts.numWorkers));
  }

  /** Ties the pool's threads to `owner`: they end when it is collected. */
  watch(owner: object): void {
    if (!this.closed) cleanup.register(owner, this, this);
  }

  /** Whether a worker died or failed to build the dataset: a new pass needs a new pool. */
  get broken(): boolean {
    if (this.failure === null && this.slots.length) this.failure = this.deadWorker(-1);
    return this.failure !== null;
  }

  private start(): void {
    if (this.slots.length) return;
    const self = import.meta.url;
    const fromSources = self.endsWith('.ts');
    const hooks = fromSources ? sourceHooks() : null;
    const entry = new URL(fromSources ? './worker.ts' : './worker.js', self);
    for (let w = 0; w < this.opts.numWorkers; w++) {
      const { port1, port2 } = new MessageChannel();
      const init: WorkerInit & { entry?: string; tsHooks?: string; compiler?: object } = {
        module: moduleHref(this.opts.spec.module),
        exportName: this.opts.spec.exportName ?? 'default',
        args: this.opts.spec.args ?? [],
        collate: this.opts.collateInWorker,
        port: port2,
        signal: this.signal,
        workerId: w,
        liveness: this.liveness,
        starts: this.starts,
      };
      let worker: Worker;
      try {
        if (fromSources) {
          Object.assign(init, { entry: entry.href, tsHooks: hooks!.url, compiler: hooks!.data });
          worker = new Worker(TS_BOOTSTRAP, { eval: true, workerData: init, transferList: [port2] });
        } else {
          worker = new Worker(entry, { workerData: init, transferList: [port2] });
        }
      } catch (e) {
        void this.close();
        throw new Error(`DataLoader: could not start worker ${w}: ${(e as Error).message}`);
      }
      worker.unref();
      port1.unref();
      const slot: Slot = { worker, port: port1, threadId: worker.threadId };
      worker.on('error', (e) =>
        this.fail(new Error(`DataLoader: worker ${w} (thread ${slot.threadId}) failed: ${e instanceof Error ? e.message : String(e)}`)),
      );
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(this.exitError(w, code, -1));
      });
      this.slots.push(slot);
    }
  }

  private fail(e: Error): void {
    if (this.failure === null) this.failure = e;
    Atomics.add(this.signal, 0, 1);
    Atomics.notify(this.signal, 0);
  }

  private exitError(w: number, code: number | null, batch: number): Error {
    const how = code === null ? 'its thread is gone' : `exit code ${code}`;
    const when = batch >= 0 ? ` while the loader waited for batch ${batch}` : '';
    return new Error(
      `DataLoader: worker ${w} (thread ${this.slots[w]?.threadId ?? '?'}) exited unexpectedly (${how})${when}; ` +
        "the dataset's get() or the module that builds it may have called process.exit(), or the thread was killed",
    );
  }

  /** @internal Note [Dead workers]: the error for the first worker found dead, or null. */
  deadWorker(batch: number): Error | null {
    if (this.closed) return null;
    for (let w = 0; w < this.slots.length; w++) {
      const base = LIVENESS_WORDS * w;
      if (Atomics.load(this.liveness, base) !== 0) return this.exitError(w, Atomics.load(this.liveness, base + 1), batch);
      const tid = Atomics.load(this.liveness, base + 2);
      if (tid > 0 && osThreadGone(tid, this.starts[w])) return this.exitError(w, null, batch);
    }
    return null;
  }

  /** @internal Records a dead worker found by a wait, so a persistent pool is replaced. */
  noteDead(e: Error): Error {
    if (this.failure === null) this.failure = e;
    return e;
  }

  close(): Promise<void> {
    if (this.closed) return this.closing;
    this.closed = true;
    cleanup.unregister(this);
    const slots = this.slots;
    this.slots = [];
    // terminate() stops a thread at once; the Promise is for its exit event.
    this.closing = Promise.all(slots.map((s) => (s.port.close(), s.worker.terminate()))).then(
      () => undefined,
      () => undefined,
    );
    this.onClose?.();
    return this.closing;
  }

  /**
   * One pass over `batches` (the indices of each batch, in order). An
   * `owned` pass closes the pool when it ends (Note [Worker lifetime]).
   */
  run(batches: Int32Array[], owned: boolean): WorkerRun {
    if (this.closed) throw new Error('DataLoader: this loader was closed; make a new one to iterate again');
    if (this.failure) throw this.failure;
    this.start();
    return new WorkerRun(this, ++this.epoch, batches, owned);
  }

  // ---- used by WorkerRun --------------------------------------------------------
  /** @internal */ get numWorkers(): number {
    return this.slots.length;
  }
  /** @internal */ get options(): PoolOptions {
    return this.opts;
  }
  /** @internal */ send(batch: number, req: BatchRequest): void {
    this.slots[batch % this.slots.length].worker.postMessage(req);
  }
  /** @internal */ counter(): number {
    return Atomics.load(this.signal, 0);
  }
  /** @internal */ sleep(seen: number, ms: number): void {
    Atomics.wait(this.signal, 0, seen, ms);
  }
  /** @internal */ async sleepAsync(seen: number, ms: number): Promise<void> {
    const waitAsync = (
      Atomics as unknown as {
        waitAsync?: (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: Promise<unknown> | string };
      }
    ).waitAsync;
    if (waitAsync) {
      const r = waitAsync(this.signal, 0, seen, ms);
      if (r.async) await r.value;
    } else {
      await new Promise((res) => setTimeout(res, 1));
    }
  }
  /** @internal */ ref(on: boolean): void {
    for (const s of this.slots) {
      if (on) s.worker.ref();
      else s.worker.unref();
    }
  }
  /**
   * @internal The reply for (epoch, batch), or undefined if it has not come
   * yet. Replies of abandoned epochs are dropped; errors are thrown.
   */
  take(epoch: number, batch: number): { value: unknown } | undefined {
    if (this.closed) throw new Error('DataLoader: this loader was closed while iterating');
    const w = batch % this.slots.length;
    const slot = this.slots[w];
    for (;;) {
      const got = receiveMessageOnPort(slot.port);
      if (got === undefined) {
        if (this.failure) throw this.failure;
        return undefined;
      }
      const msg = got.message as WorkerReply;
      if (msg.type === 'ready') {
        if (msg.length !== this.opts.expectedLength) {
          throw new Error(
            `DataLoader: the dataset built in worker ${w} has length ${msg.length}, ` +
              `but the loader's dataset has length ${this.opts.expectedLength}; the worker spec must describe the same dataset`,
          );
        }
        continue;
      }
      if (msg.type === 'error') {
        if (msg.batch >= 0 && msg.epoch !== epoch) continue;
        const where = msg.batch >= 0 ? ` while making batch ${msg.batch}` : '';
        const err = new Error(`DataLoader: worker ${w} failed${where}: ${msg.message}`);
        if (msg.batch < 0 && this.failure === null) this.failure = err;
        throw err;
      }
      if (msg.epoch !== epoch) continue;
      if (msg.batch !== batch) throw new Error(`DataLoader: internal error: expected batch ${batch} from worker, got ${msg.batch}`);
      return { value: msg.value };
    }
  }
}

export class WorkerRun {
  private next = 0;
  private sent = 0;
  private finished = false;

  constructor(
    private readonly pool: WorkerPool,
    private readonly epoch: number,
    private readonly batches: Int32Array[],
    private readonly owned: boolean,
  ) {
    // Prefetching starts with the iterator, as PyTorch's does, so the first
    // batches are ready by the time the training loop asks.
    this.fill();
  }

  /** Ties an owned pool to the iterator that drives this pass (Note [Worker lifetime]). */
  watch(iterator: object): void {
    if (this.owned) this.pool.watch(iterator);
  }

  private fill(): void {
    const ahead = this.pool.options.prefetchFactor * this.pool.numWorkers;
    while (this.sent < this.batches.length && this.sent < this.next + ahead) {
      const b = this.sent++;
      this.pool.send(b, { type: 'batch', epoch: this.epoch, batch: b, indices: this.batches[b] });
    }
  }

  private timeoutError(): Error {
    const { timeout, defaultTimeout } = this.pool.options;
    const worker = this.next % this.pool.numWorkers;
    const why = defaultTimeout
      ? `; ${timeout} ms is the default timeout: pass { timeout: ms } to wait longer, or { timeout: 0 } to wait for ever`
      : '';
    return new Error(
      `DataLoader: timed out after ${timeout} ms waiting for batch ${this.next} from the workers (worker ${worker} is alive but has not answered)${why}`,
    );
  }

  /** Abandons the rest of the pass; late replies are dropped. An owned pool ends here. */
  stop(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.owned) void this.pool.close();
    else this.pool.ref(false);
  }

  /**
   * The batch if it has come, else undefined; throws the workers' errors
   * and a dead worker's (Note [Dead workers]). Replies a worker sent before
   * it died are still taken.
   */
  private poll(): { value: unknown } | undefined {
    const got = this.pool.take(this.epoch, this.next);
    if (got) return got;
    const dead = this.pool.deadWorker(this.next);
    if (dead === null) return undefined;
    // What a worker posted before it died is in its port by now.
    const last = this.pool.take(this.epoch, this.next);
    if (last) return last;
    throw this.pool.noteDead(dead);
  }

  nextSync(): IteratorResult<unknown> {
    if (this.finished || this.next >= this.batches.length) return this.done();
    this.fill();
    const timeout = this.pool.options.timeout;
    const t0 = Date.now();
    for (;;) {
      const seen = this.pool.counter();
      const got = this.guard(() => this.poll());
      if (got) return this.yield(got.value);
      const left = timeout > 0 ? timeout - (Date.now() - t0) : POLL_MS;
      if (left <= 0) throw this.fault(this.timeoutError());
      this.pool.sleep(seen, Math.min(left, POLL_MS));
    }
  }

  async nextAsync(): Promise<IteratorResult<unknown>> {
    if (this.finished || this.next >= this.batches.length) return this.done();
    this.fill();
    const timeout = this.pool.options.timeout;
    const t0 = Date.now();
    // Referenced workers keep the event loop alive while we await them.
    this.pool.ref(true);
    for (;;) {
      const seen = this.pool.counter();
      const got = this.guard(() => this.poll());
      if (got) return this.yield(got.value);
      const left = timeout > 0 ? timeout - (Date.now() - t0) : POLL_MS;
      if (left <= 0) throw this.fault(this.timeoutError());
      await this.pool.sleepAsync(seen, Math.min(left, POLL_MS));
      // return() of the iterator while this waited.
      if (this.finished) return this.done();
    }
  }

  private guard<R>(fn: () => R): R {
    try {
      return fn();
    } catch (e) {
      throw this.fault(e as Error);
    }
  }

  /** Ends the pass on an error; the caller throws it. */
  fault(e: Error): Error {
    this.stop();
    return e;
  }

  private yield(value: unknown): IteratorResult<unknown> {
    this.next++;
    if (this.next >= this.batches.length) this.stop();
    return { done: false, value: decode(value) };
  }

  private done(): IteratorResult<unknown> {
    this.stop();
    return { done: true, value: undefined };
  }
}
