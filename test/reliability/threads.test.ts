// Kindling from several JS threads at once. The native thread pool
// (native/cpu/parallel.cc) is process-wide: worker_threads share it with the
// main thread. Work whose inputs do not come from the generator must give
// bitwise the same results on every thread, however the kernels interleave.
// The default generator is per thread (Note [Per-thread random state] in
// native/cpu/random.cc): each thread's draws are its own stream, whatever
// the others draw or seed.
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { pathToFileURL, fileURLToPath } from 'node:url';
import * as torch from '../../lib/index.js';
import { DEFAULT_SEED } from '../../lib/backend/native.js';
import { doWork, drawUniform, type WorkResult } from './helpers/thread-work.js';

const HOOKS = new URL('./helpers/ts-hooks.mjs', import.meta.url).href;
const ENTRY = pathToFileURL(fileURLToPath(new URL('./helpers/thread-worker.ts', import.meta.url))).href;
// A worker runs the TypeScript sources through the same hooks as the child processes.
const BOOTSTRAP = `
const { register } = require('node:module');
const { workerData } = require('node:worker_threads');
register(workerData.hooks);
import(workerData.entry).catch((e) => { throw e; });
`;

function startWorker(task: string, start: Int32Array, extra: Record<string, unknown> = {}): Promise<unknown> {
  const w = new Worker(BOOTSTRAP, { eval: true, workerData: { hooks: HOOKS, entry: ENTRY, task, start, ...extra } });
  return new Promise((resolve, reject) => {
    w.once('message', (m: { ok: boolean; result?: unknown; error?: string }) => {
      void w.terminate();
      if (m.ok) resolve(m.result);
      else reject(new Error(m.error));
    });
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`worker ${task} exited with code ${code}`)));
  });
}

/** Lets the workers start importing, then releases them and the main thread together. */
async function together<T>(start: Int32Array, mainWork: () => T): Promise<T> {
  await new Promise((r) => setTimeout(r, 1500));
  Atomics.store(start, 0, 1);
  Atomics.notify(start, 0);
  return mainWork();
}

function expectSame(a: WorkResult, b: WorkResult, who: string): void {
  for (const k of ['matmul', 'conv', 'convGrad', 'softmax'] as const) {
    expect(b[k].length, `${who}: ${k} length`).toBe(a[k].length);
    const diff = a[k].findIndex((v, i) => !Object.is(v, b[k][i]));
    expect(diff, `${who}: ${k} differs at ${diff}: ${a[k][diff]} vs ${b[k][diff]}`).toBe(-1);
  }
  expect(b.sums, `${who}: reductions`).toEqual(a.sums);
  expect(b.losses, `${who}: training losses`).toEqual(a.losses);
  expect(b.params, `${who}: trained parameters`).toEqual(a.params);
}

describe('concurrent use from worker threads', () => {
  it('matmul, conv2d (forward and backward), reductions and training steps give identical results on 3 workers and the main thread at once', async () => {
    const alone = doWork(1);
    const start = new Int32Array(new SharedArrayBuffer(4));
    const workers = [0, 1, 2].map(() => startWorker('work', start));
    const main = await together(start, () => doWork());
    const results = (await Promise.all(workers)) as WorkResult[];
    expectSame(alone, main, 'main thread');
    results.forEach((r, i) => expectSame(alone, r, `worker ${i}`));
  }, 120_000);

  it('keeps results identical while another thread keeps changing the pool size', async () => {
    const alone = doWork(1);
    const threads = torch.getNumThreads();
    const start = new Int32Array(new SharedArrayBuffer(4));
    const changer = startWorker('threads', start, { threads: Math.max(threads, 2) });
    const worker = startWorker('work', start);
    const main = await together(start, () => doWork());
    await changer;
    const other = (await worker) as WorkResult;
    torch.setNumThreads(threads);
    expectSame(alone, main, 'main thread');
    expectSame(alone, other, 'worker');
  }, 120_000);

  it('concurrent draws: each thread reads its own default stream, untouched by the others', async () => {
    const n = 1 << 15,
      calls = 40;
    torch.manualSeed(1234);
    const serial = drawUniform(calls, n);
    // A fresh worker starts from the default seed, as a fresh process does.
    const fresh = torch.rand([calls * n], { generator: new torch.Generator().manualSeed(DEFAULT_SEED) }).toTypedArray() as Float32Array;
    torch.manualSeed(1234);
    const start = new Int32Array(new SharedArrayBuffer(4));
    const workers = [0, 1].map(() => startWorker('rand', start));
    const mine = await together(start, () => drawUniform(calls, n));
    const theirs = (await Promise.all(workers)) as Float32Array[];
    expect(Buffer.from(mine.buffer).equals(Buffer.from(serial.buffer))).toBe(true);
    for (const t of theirs) expect(Buffer.from(Float32Array.from(t).buffer).equals(Buffer.from(fresh.buffer))).toBe(true);
  }, 120_000);

  it('a tensor over an array the caller transferred to another thread throws on use instead of touching freed memory', () => {
    // fromTypedArray shares the caller's memory (zero-copy): once the caller
    // transfers that buffer (postMessage with a transfer list), the tensor's
    // storage is detached. Every use must be refused.
    const bigArr = new Float32Array(4096).map((_, i) => i);
    const smallArr = new Float32Array([1, 2, 3]);
    const big = torch.fromTypedArray(bigArr, [64, 64]);
    const small = torch.fromTypedArray(smallArr);
    const view = big.transpose(0, 1).narrow(0, 3, 10);
    const keep = torch.ones(3).add(1);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage([bigArr, smallArr], [bigArr.buffer, smallArr.buffer]);
    port1.close();
    port2.close();
    expect(bigArr.length).toBe(0);
    for (const [name, use] of [
      ['sum', () => big.sum()],
      ['add', () => big.add(1)],
      ['mul_', () => big.mul_(2)],
      ['matmul', () => big.matmul(torch.ones(64, 2))],
      ['view contiguous', () => view.contiguous()],
      ['toTypedArray', () => big.toTypedArray()],
      ['small sum', () => small.sum()],
      ['small add_', () => small.add_(1)],
      ['conv2d', () => torch.nn.functional.conv2d(big.view(1, 1, 64, 64), torch.ones(1, 1, 3, 3))],
    ] as const) {
      expect(use, name).toThrow(Error);
    }
    // Other tensors, old and new, still work.
    expect(keep.sum().item()).toBe(6);
    expect(torch.ones(5).add(1).sum().item()).toBe(10);
  });

  it('reseeding from a worker while the main thread draws seeds the worker only', async () => {
    torch.manualSeed(77);
    const want = drawUniform(51, 4096);
    torch.manualSeed(77);
    const start = new Int32Array(new SharedArrayBuffer(4));
    const seeder = startWorker('seed', start);
    const drawn = await together(start, () => drawUniform(50, 4096));
    await seeder;
    // The worker's 50 manualSeed calls left the main thread's stream alone:
    // its draws, before and after the worker ended, are seed 77's.
    const next = torch.rand([4096]).toTypedArray() as Float32Array;
    expect(Buffer.from(Float32Array.from([...drawn, ...next]).buffer).equals(Buffer.from(want.buffer))).toBe(true);
  }, 120_000);
});
