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
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { WorkerDatasetSpec } from './dataset.js';
import type { BatchRequest, WorkerInit, WorkerReply } from './worker.js';
import { decode } from './wire.js';

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
  throw new Error('DataLoader: numWorkers > 0 while Kindling runs from its TypeScript sources needs esbuild or typescript to compile the worker (npm install esbuild), or use the built package');
}

export interface PoolOptions {
  spec: WorkerDatasetSpec;
  numWorkers: number;
  collateInWorker: boolean;
  prefetchFactor: number;
  timeout: number;
  expectedLength: number;
}

interface Slot {
  worker: Worker;
  port: MessagePort;
}

function moduleHref(m: string | URL): string {
  if (m instanceof URL) return m.href;
  if (typeof m !== 'string' || m.length === 0) throw new TypeError(`DataLoader: the worker dataset module must be a path or URL string, got ${String(m)}`);
  // A URL (file:, data:) as is; a path made absolute against the cwd.
  if (/^[a-z][a-z0-9+.-]+:/i.test(m) && !/^[a-z]:[\\/]/i.test(m)) return m;
  return isAbsolute(m) ? m : resolvePath(m);
}

const cleanup = new FinalizationRegistry<WorkerPool>((pool) => void pool.close());

export class WorkerPool {
  private slots: Slot[] = [];
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  private failure: Error | null = null;
  private closed = false;
  private epoch = 0;

  constructor(private readonly opts: PoolOptions) {}

  /** Ties the pool's threads to `owner`: they end when it is collected. */
  watch(owner: object): void {
    cleanup.register(owner, this, this);
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
        this.close();
        throw new Error(`DataLoader: could not start worker ${w}: ${(e as Error).message}`);
      }
      worker.unref();
      port1.unref();
      worker.on('error', (e) => this.fail(new Error(`DataLoader: worker ${w} failed: ${e instanceof Error ? e.message : String(e)}`)));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`DataLoader: worker ${w} exited unexpectedly (exit code ${code})`));
      });
      this.slots.push({ worker, port: port1 });
    }
  }

  private fail(e: Error): void {
    if (this.failure === null) this.failure = e;
    Atomics.add(this.signal, 0, 1);
    Atomics.notify(this.signal, 0);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    cleanup.unregister(this);
    const slots = this.slots;
    this.slots = [];
    return Promise.all(slots.map((s) => (s.port.close(), s.worker.terminate()))).then(() => undefined);
  }

  /** One pass over `batches` (the indices of each batch, in order). */
  run(batches: Int32Array[]): WorkerRun {
    if (this.closed) throw new Error('DataLoader: this loader was closed; make a new one to iterate again');
    if (this.failure) throw this.failure;
    this.start();
    return new WorkerRun(this, ++this.epoch, batches);
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
    const waitAsync = (Atomics as unknown as { waitAsync?: (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: Promise<unknown> | string } }).waitAsync;
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
    const slot = this.slots[batch % this.slots.length];
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
            `DataLoader: the dataset built in worker ${batch % this.slots.length} has length ${msg.length}, ` +
              `but the loader's dataset has length ${this.opts.expectedLength}; the worker spec must describe the same dataset`,
          );
        }
        continue;
      }
      if (msg.type === 'error') {
        if (msg.batch >= 0 && msg.epoch !== epoch) continue;
        const where = msg.batch >= 0 ? ` while making batch ${msg.batch}` : '';
        const err = new Error(`DataLoader: worker ${batch % this.slots.length} failed${where}: ${msg.message}`);
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

  constructor(private readonly pool: WorkerPool, private readonly epoch: number, private readonly batches: Int32Array[]) {
    // Prefetching starts with the iterator, as PyTorch's does, so the first
    // batches are ready by the time the training loop asks.
    this.fill();
  }

  private fill(): void {
    const ahead = this.pool.options.prefetchFactor * this.pool.numWorkers;
    while (this.sent < this.batches.length && this.sent < this.next + ahead) {
      const b = this.sent++;
      this.pool.send(b, { type: 'batch', epoch: this.epoch, batch: b, indices: this.batches[b] });
    }
  }

  private timeoutError(): Error {
    return new Error(`DataLoader: timed out after ${this.pool.options.timeout} ms waiting for batch ${this.next} from the workers`);
  }

  /** Abandons the rest of the pass; late replies are dropped. */
  stop(): void {
    this.finished = true;
    this.pool.ref(false);
  }

  nextSync(): IteratorResult<unknown> {
    if (this.finished || this.next >= this.batches.length) return this.done();
    this.fill();
    const timeout = this.pool.options.timeout;
    const t0 = timeout > 0 ? Date.now() : 0;
    for (;;) {
      const seen = this.pool.counter();
      const got = this.guard(() => this.pool.take(this.epoch, this.next));
      if (got) return this.yield(got.value);
      const left = timeout > 0 ? timeout - (Date.now() - t0) : 1000;
      if (left <= 0) throw this.fault(this.timeoutError());
      this.pool.sleep(seen, Math.min(left, 1000));
    }
  }

  async nextAsync(): Promise<IteratorResult<unknown>> {
    if (this.finished || this.next >= this.batches.length) return this.done();
    this.fill();
    const timeout = this.pool.options.timeout;
    const t0 = timeout > 0 ? Date.now() : 0;
    // Referenced workers keep the event loop alive while we await them.
    this.pool.ref(true);
    for (;;) {
      const seen = this.pool.counter();
      const got = this.guard(() => this.pool.take(this.epoch, this.next));
      if (got) return this.yield(got.value);
      const left = timeout > 0 ? timeout - (Date.now() - t0) : 1000;
      if (left <= 0) throw this.fault(this.timeoutError());
      await this.pool.sleepAsync(seen, Math.min(left, 1000));
    }
  }

  private guard<R>(fn: () => R): R {
    try {
      return fn();
    } catch (e) {
      throw this.fault(e as Error);
    }
  }

  private fault(e: Error): Error {
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
