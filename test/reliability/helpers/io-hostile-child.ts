// Child process of io_hostile.test.ts, for the torch.save / torch.load cases
// that can hang or kill a process: a stuck open(), a signal in the middle of
// a save, a worker thread terminated while it saves. Usage:
//   io-hostile-child.ts load PATH        prints {ok, error?, names?}
//   io-hostile-child.ts save-async PATH  saves in a loop that yields to the event loop between saves
//   io-hostile-child.ts save-sync PATH   saves in a loop that never yields
//   io-hostile-child.ts save-mixed PATH  yields once, saves, then computes and saves in a loop that never yields
//   io-hostile-child.ts worker PATH      terminates a worker thread in the middle of its save, then saves
// The last line of stdout is JSON (the convention of the reliability children).
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import * as torch from '../../../lib/index.js';

/** The state dict of version v: big enough (about 8 MB) that saves spend their time writing. */
export function versionState(v: number): Record<string, torch.Tensor> {
  return {
    w: torch.full([1024, 1024], v, { dtype: 'float64' }),
    step: torch.tensor([v], { dtype: 'int64' }),
  };
}

/** The hidden temporary files of saves to `path`. */
function temps(path: string): string[] {
  return readdirSync(dirname(path)).filter((n) => n.startsWith(`.${basename(path)}.tmp-`));
}

async function main(): Promise<void> {
  const [mode, path] = process.argv.slice(2);
  if (!path) throw new Error('usage: io-hostile-child.ts MODE PATH');
  if (mode === 'load') {
    try {
      const sd = torch.load(path);
      console.log(JSON.stringify({ ok: true, names: Object.keys(sd) }));
    } catch (e) {
      console.log(JSON.stringify({ ok: false, error: (e as Error).message }));
    }
    return;
  }
  if (mode === 'save-async' || mode === 'save-sync') {
    const states = [versionState(0), versionState(1)];
    for (let v = 0; ; v++) {
      const sd = states[v % 2];
      sd.step.fill_(v);
      torch.save(sd, path);
      if (v === 0) console.log('saved');
      // An async training loop: the event loop turns between saves.
      if (mode === 'save-async') await new Promise((r) => setImmediate(r));
    }
  }
  if (mode === 'save-mixed') {
    // Async setup (the event loop turns), one save, then a synchronous
    // training loop: a second of computing, then saves back to back.
    await new Promise((r) => setImmediate(r));
    const states = [versionState(0), versionState(1)];
    torch.save(states[0], path);
    const t = Date.now();
    while (Date.now() - t < 1200);
    for (let v = 1; ; v++) {
      const sd = states[v % 2];
      sd.step.fill_(v);
      torch.save(sd, path);
      if (v === 1) console.log('saved');
    }
  }
  if (mode === 'worker') {
    // A worker saves over and over; we terminate it while a save is writing
    // (retrying until a temporary file is caught behind), then save once
    // from this thread, which must remove what the dead worker left.
    const hooks = new URL('./ts-hooks.mjs', import.meta.url).href;
    const bootstrap = `
      const { register } = require('node:module');
      const { workerData } = require('node:worker_threads');
      register(workerData.hooks);
      import(workerData.entry).catch((e) => { throw e; });`;
    let left: string[] = [];
    let tries = 0;
    for (; tries < 20 && left.length === 0; tries++) {
      const w = new Worker(bootstrap, { eval: true, workerData: { hooks, entry: import.meta.url, path } });
      await new Promise<void>((res, rej) => {
        w.once('message', () => res());
        w.once('error', rej);
      });
      // Saves of 8 MB take a few ms each: stop it at a varying point.
      await new Promise((r) => setTimeout(r, 3 + tries * 2));
      await w.terminate();
      left = temps(path);
    }
    const leftSize = left.length ? statSync(`${dirname(path)}/${left[0]}`).size : 0;
    torch.save(versionState(7), path);
    const after = temps(path);
    const step = Number(torch.load(path).step.item());
    console.log(JSON.stringify({ tries, left, leftSize, after, step }));
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}

if (isMainThread) {
  await main();
} else {
  // The worker's loop: save, tell the parent once, keep saving.
  const { path } = workerData as { path: string };
  const states = [versionState(10), versionState(11)];
  for (let v = 0; ; v++) {
    torch.save(states[v % 2], path);
    if (v === 0) parentPort!.postMessage('saved');
  }
}
