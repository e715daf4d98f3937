// Worker-thread entry of threads.test.ts: waits for the start signal so all
// threads begin together, runs the requested work, posts the results.
import { parentPort, workerData } from 'node:worker_threads';
import * as torch from '../../../lib/index.js';
import { doWork, drawUniform } from './thread-work.js';

const { task, start, threads, seed } = workerData as { task: string; start: Int32Array; threads?: number; seed?: number };
// Everyone waits on the same shared flag, so the kernels really overlap.
Atomics.wait(start, 0, 0);
try {
  if (task === 'work') parentPort!.postMessage({ ok: true, result: doWork() });
  else if (task === 'rand') parentPort!.postMessage({ ok: true, result: drawUniform(40, 1 << 15) });
  else if (task === 'seeded') {
    // Seeds this thread, then reports its draws and its initial seed.
    if (seed !== undefined) torch.manualSeed(seed);
    parentPort!.postMessage({ ok: true, result: { seed: torch.initialSeed(), values: drawUniform(1, 1000) } });
  } else if (task === 'threads') {
    // Changes the pool size over and over while others compute.
    for (let i = 0; i < 200; i++) torch.setNumThreads(1 + (i % (threads ?? 2)));
    parentPort!.postMessage({ ok: true, result: null });
  } else if (task === 'seed') {
    for (let i = 0; i < 50; i++) {
      torch.manualSeed(i);
      torch.randn([1000]);
    }
    parentPort!.postMessage({ ok: true, result: null });
  } else throw new Error(`unknown task ${task}`);
} catch (e) {
  parentPort!.postMessage({ ok: false, error: (e as Error).stack ?? String(e) });
}
