// Child process of worker_terminate.test.ts: starts worker threads that run
// Kindling ops (and ops that throw) in a loop, and terminates each at a
// different moment. A terminated worker can be inside a native call; the
// call's next Node-API step then fails, and the addon must let the worker
// end instead of aborting this process. Prints {"terminated": n} if it lives.
import { Worker } from 'node:worker_threads';

const HOOKS = new URL('./ts-hooks.mjs', import.meta.url).href;
const LIB = new URL('../../../lib/index.ts', import.meta.url).href;
const WORKER = `
const { register } = require('node:module');
const { parentPort, workerData } = require('node:worker_threads');
register(workerData.hooks);
import(workerData.lib).then((torch) => {
  // indexSelect scans its whole index in native code before it finds the bad
  // last entry and throws: a termination that lands in that scan finds the
  // error unthrowable. That used to abort the process.
  const x = torch.randn([10]);
  const index = torch.zeros([20000000], { dtype: torch.int64 });
  index.indexFill_(0, torch.tensor([19999999], { dtype: torch.int64 }), 99);
  parentPort.postMessage('ready');
  for (;;) {
    try { torch.indexSelect(x, 0, index); } catch {}
  }
});
`;

const count = Number(process.argv[2] ?? 10);
// A fixed sequence of delays (100 to 499 ms after the worker is ready), so a
// failure can be rerun as it happened.
let state = 12345;
const nextDelay = () => ((state = (state * 1103515245 + 12345) % 2147483648) % 400) + 100;

let terminated = 0;
for (let i = 0; i < count; i++) {
  const w = new Worker(WORKER, { eval: true, workerData: { hooks: HOOKS, lib: LIB } });
  await new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
  });
  await new Promise((r) => setTimeout(r, nextDelay()));
  await w.terminate();
  terminated++;
}
console.log(JSON.stringify({ terminated }));
