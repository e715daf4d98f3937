// Child process for test/reliability/dataloader_hostile.test.ts (issue 12):
// `node --import register-ts.mjs dataloader-hostile.ts <scenario>`. Each
// scenario can kill or hang a process when the loader is wrong, so it runs
// here; the last line of stdout is a JSON summary.
import { readdirSync } from 'node:fs';
import { DataLoader } from '../../../lib/data/index.js';
import { AsyncNumbers, ExitsAt, Numbers } from './hostile-datasets.js';

const scenario = process.argv[2];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const threads = () => readdirSync('/proc/self/task').length;
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const values = (b: unknown) => (b as { tolist(): unknown }).tolist();

/** Waits (up to ms) for the OS thread count to fall to `target` or below. */
async function settle(target: number, ms = 15_000): Promise<number> {
  const t0 = Date.now();
  let n = threads();
  while (n > target && Date.now() - t0 < ms) {
    await sleep(50);
    n = threads();
  }
  return n;
}

async function promiseSync() {
  const errors: string[] = [];
  for (const [ds, opts] of [
    [new AsyncNumbers(6, 2), {}],
    [new AsyncNumbers(6, 0), {}],
    [new AsyncNumbers(6), {}],
    [new AsyncNumbers(6, 1), { collateFn: (items: unknown[]) => items }],
  ] as const) {
    try {
      for (const b of new DataLoader(ds, { batchSize: 3, ...opts })) void b;
      errors.push('no error');
    } catch (e) {
      errors.push(message(e));
    }
  }
  await sleep(300); // an unhandled rejection would end the process here
  return { errors };
}

async function promiseAsync() {
  const batches: unknown[] = [];
  for await (const b of new DataLoader(new AsyncNumbers(7), { batchSize: 3 })) batches.push(values(b));
  const errors: string[] = [];
  for (const ds of [new AsyncNumbers(6, 4), new AsyncNumbers(6, 3, 4), new AsyncNumbers(6, 0, 1)]) {
    try {
      for await (const b of new DataLoader(ds, { batchSize: 3 })) void b;
      errors.push('no error');
    } catch (e) {
      errors.push(message(e));
    }
  }
  // break out of a pass whose next batch is pending, items rejected after
  let broke = 0;
  for await (const b of new DataLoader(new AsyncNumbers(9, 5), { batchSize: 3 })) {
    void b;
    broke++;
    break;
  }
  await sleep(300);
  return { batches, errors, broke };
}

async function promiseWorkers() {
  // Workers await Promise items themselves, so even a synchronous for...of works.
  const loader = new DataLoader(new AsyncNumbers(7), { batchSize: 3, numWorkers: 2 });
  const batches = [...loader].map(values);
  const errors: string[] = [];
  const rejectsAndThrows = new DataLoader(new AsyncNumbers(6, 3, 4), { batchSize: 3, numWorkers: 1, persistentWorkers: true });
  const rejects = new DataLoader(new AsyncNumbers(6, 4), { batchSize: 3, numWorkers: 1, persistentWorkers: true });
  // The second pass of the same workers must not meet a stale unhandled rejection of the first.
  for (const l of [rejectsAndThrows, rejects, rejectsAndThrows]) {
    try {
      for (const b of l) void b;
      errors.push('no error');
    } catch (e) {
      errors.push(message(e));
    }
    await sleep(100);
  }
  await Promise.all([rejectsAndThrows.close(), rejects.close()]);
  await sleep(300);
  return { batches, errors };
}

async function workerExit(mode: string) {
  const quiet = mode === 'quiet';
  const loader = new DataLoader(new ExitsAt(20, 5, 3, quiet), { batchSize: 2, numWorkers: 2 });
  const t0 = Date.now();
  let seen = 0;
  let error = 'no error';
  try {
    if (mode === 'async') {
      for await (const _b of loader) seen++;
    } else {
      for (const _b of loader) seen++;
    }
  } catch (e) {
    error = message(e);
  }
  const ms = Date.now() - t0;
  // A fresh pass gets fresh workers and fails the same way, not with a stale error or a hang.
  let again = 'no error';
  try {
    for (const b of loader) void b;
  } catch (e) {
    again = message(e);
  }
  return { error, again, ms, seen };
}

async function abandon() {
  // Warm up: the first loader brings the process's own lazily made threads.
  for (const b of new DataLoader(new Numbers(8), { batchSize: 2, numWorkers: 2 })) void b;
  const baseline = await settle(0, 1000);
  let peak = 0;
  for (let i = 0; i < 40; i++) {
    const loader = new DataLoader(new Numbers(64), { batchSize: 2, numWorkers: 2 });
    for (const b of loader) {
      void b;
      break;
    }
    peak = Math.max(peak, threads());
  }
  const afterSync = await settle(baseline + 4);
  for (let i = 0; i < 10; i++) {
    const loader = new DataLoader(new Numbers(64), { batchSize: 2, numWorkers: 2 });
    for await (const b of loader) {
      void b;
      break;
    }
    peak = Math.max(peak, threads());
  }
  const afterAsync = await settle(baseline + 4);
  // A pass run to its end ends its workers too.
  const exhausted = new DataLoader(new Numbers(8), { batchSize: 2, numWorkers: 2 });
  const n = [...exhausted].length;
  const afterExhausted = await settle(baseline + 4);
  return { baseline, peak, afterSync, afterAsync, afterExhausted, batches: n };
}

async function persistent() {
  const gc = (globalThis as { gc?: () => void }).gc!;
  const baseline = await settle(0, 1000);
  const loader = new DataLoader(new Numbers(16), { batchSize: 2, numWorkers: 2, persistentWorkers: true });
  for (const b of loader) {
    void b;
    break;
  }
  const epochs = [[...loader].length, [...loader].length];
  const kept = threads(); // persistent: the workers outlive break and each pass
  await loader.close();
  const afterClose = await settle(baseline + 1);
  // Loaders dropped without close(): collecting them ends their workers.
  (() => {
    for (let i = 0; i < 5; i++) {
      const l = new DataLoader(new Numbers(16), { batchSize: 2, numWorkers: 2, persistentWorkers: true });
      for (const b of l) void b;
    }
  })();
  const beforeGc = threads();
  let afterGc = threads();
  for (let i = 0; i < 100 && afterGc > baseline + 1; i++) {
    gc();
    await sleep(50);
    afterGc = threads();
  }
  // An iterator dropped half-way (no break, no return()) while its loader lives: collecting it ends its workers.
  const alive = new DataLoader(new Numbers(16), { batchSize: 2, numWorkers: 2 });
  (() => {
    const it = alive[Symbol.iterator]();
    it.next();
  })();
  const iteratorHeld = threads();
  let iteratorGone = threads();
  for (let i = 0; i < 100 && iteratorGone > baseline + 1; i++) {
    gc();
    await sleep(50);
    iteratorGone = threads();
  }
  const stillWorks = [...alive].length;
  return { baseline, epochs, kept, afterClose, beforeGc, afterGc, iteratorHeld, iteratorGone, stillWorks };
}

const run: Record<string, () => Promise<unknown>> = {
  'promise-sync': promiseSync,
  'promise-async': promiseAsync,
  'promise-workers': promiseWorkers,
  'exit-sync': () => workerExit('sync'),
  'exit-async': () => workerExit('async'),
  'exit-quiet': () => workerExit('quiet'),
  abandon,
  persistent,
};
const result = await run[scenario]();
console.log(JSON.stringify(result));
process.exit(0);
