// The worker-thread side of DataLoader({ numWorkers }) (Note [Worker
// datasets] in worker_pool.ts). Each worker builds its own copy of the
// dataset from a module spec, then answers batch requests in the order they
// come: items -> collate -> tensors flattened to transferable typed arrays.
// Every answer, error included, goes out on `port` and bumps `signal`, so
// the loader can block on Atomics.wait without running its event loop.
// liveness.js comes first: it arms the dead-worker signals (Note [Dead
// workers] in worker_pool.ts) before anything else of the worker runs.
import './liveness.js';
// A worker runs datasets and collate without the package entry: Tensor's
// methods come from their one place all the same.
import '../tensor_methods.js';
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { Dataset } from './dataset.js';
import { buildFromSpec, errorText } from './spec.js';
import { defaultCollate } from './collate.js';
import { encode, buffersOf } from './wire.js';
import { isThenable, settleQuietly } from './promises.js';

export interface WorkerInit {
  module: string;
  exportName: string;
  args: unknown[];
  collate: boolean;
  port: MessagePort;
  signal: Int32Array;
  workerId: number;
  /** Note [Dead workers]: [exited, exit code, OS thread id] per worker. */
  liveness: Int32Array;
  /** The OS threads' start times, beside their ids. */
  starts: Float64Array;
}

export interface BatchRequest {
  type: 'batch';
  epoch: number;
  batch: number;
  indices: Int32Array;
}

export type WorkerReply =
  | { type: 'ready'; length: number }
  | { type: 'batch'; epoch: number; batch: number; value: unknown }
  | { type: 'error'; epoch: number; batch: number; message: string };

const init = workerData as WorkerInit;

function post(msg: WorkerReply, transfer: ArrayBuffer[] = []): void {
  init.port.postMessage(msg, transfer);
  Atomics.add(init.signal, 0, 1);
  Atomics.notify(init.signal, 0);
}

async function buildDataset(): Promise<Dataset<unknown>> {
  return buildFromSpec({ module: init.module, exportName: init.exportName, args: init.args });
}

async function answer(ds: Dataset<unknown>, req: BatchRequest): Promise<void> {
  const items = new Array<unknown>(req.indices.length);
  let pending = false;
  for (let i = 0; i < items.length; i++) {
    let item: unknown;
    try {
      item = ds.get(req.indices[i]);
    } catch (e) {
      // The Promises already taken must not reject unhandled.
      settleQuietly(items.slice(0, i));
      throw e;
    }
    if (isThenable(item)) pending = true;
    items[i] = item;
  }
  // Promise.all handles every item's rejection, not only the first.
  const ready = pending ? await Promise.all(items) : items;
  const value = init.collate ? defaultCollate(ready) : ready;
  const transfer: ArrayBuffer[] = [];
  // Collated tensors are fresh, so their buffers can move without a copy;
  // the items' own buffers never move (the dataset may hold on to them).
  const wire = encode(value, init.collate, transfer, init.collate ? buffersOf(ready) : undefined);
  post({ type: 'batch', epoch: req.epoch, batch: req.batch, value: wire }, transfer);
}

let chain: Promise<Dataset<unknown> | null> = buildDataset().then(
  (ds) => {
    post({ type: 'ready', length: ds.length });
    return ds;
  },
  (e) => {
    post({ type: 'error', epoch: -1, batch: -1, message: errorText(e) });
    return null;
  },
);

parentPort!.on('message', (msg: BatchRequest | { type: 'close' }) => {
  if (msg.type === 'close') {
    parentPort!.close();
    return;
  }
  chain = chain.then(async (ds) => {
    if (ds === null) {
      post({
        type: 'error',
        epoch: msg.epoch,
        batch: msg.batch,
        message: 'the dataset could not be built in this worker (see the first error)',
      });
      return null;
    }
    try {
      await answer(ds, msg);
    } catch (e) {
      post({ type: 'error', epoch: msg.epoch, batch: msg.batch, message: errorText(e) });
    }
    return ds;
  });
});

process.on('uncaughtException', (e) => post({ type: 'error', epoch: -1, batch: -1, message: `uncaught exception: ${errorText(e)}` }));
process.on('unhandledRejection', (e) => post({ type: 'error', epoch: -1, batch: -1, message: `unhandled rejection: ${errorText(e)}` }));
