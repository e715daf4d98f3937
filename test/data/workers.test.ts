// DataLoader with numWorkers > 0: batches built on worker threads from a
// dataset the workers construct themselves (test/data/worker_dataset.ts).
import { describe, it, expect, afterAll } from 'vitest';
import * as torch from '../../lib/index.js';
import { DataLoader } from '../../lib/data/index.js';
import { SlowFeatures, Records, ThrowsAt, Cached } from './worker_dataset.js';

type Tensor = torch.Tensor;
const MODULE = new URL('./worker_dataset.ts', import.meta.url);

const loaders: DataLoader<unknown>[] = [];
function track<B>(l: DataLoader<B>): DataLoader<B> {
  loaders.push(l as DataLoader<unknown>);
  return l;
}
afterAll(async () => {
  await Promise.all(loaders.map((l) => l.close()));
});

function plain(batches: unknown[]): unknown {
  return batches.map((b) => (b as Tensor[]).map((t) => ({ dtype: t.dtype, shape: t.shape, data: t.tolist() })));
}

describe('DataLoader with worker threads', () => {
  it('gives the same batches as the sync loader, in order, sync and async, over several epochs', async () => {
    const ds = new SlowFeatures(37, 5, 50);
    const ref = plain([...new DataLoader(ds, { batchSize: 4 })]);
    const loader = track(new DataLoader(ds, { batchSize: 4, numWorkers: 3 }));
    expect(loader.length).toBe(10);
    expect(plain([...loader])).toEqual(ref);
    const viaAwait: unknown[] = [];
    for await (const b of loader) viaAwait.push(b);
    expect(plain(viaAwait)).toEqual(ref);
    expect(plain([...loader])).toEqual(ref);
  });

  it('follows the shuffled order the main thread draws, and the seed reproduces it', () => {
    const ds = new SlowFeatures(25, 3, 10);
    const loader = track(new DataLoader(ds, { batchSize: 6, shuffle: true, numWorkers: 2, dropLast: true }));
    torch.manualSeed(5);
    const viaWorkers = [...loader];
    torch.manualSeed(5);
    const viaMain = [...new DataLoader(ds, { batchSize: 6, shuffle: true, dropLast: true })];
    expect(viaWorkers.length).toBe(4);
    expect(plain(viaWorkers)).toEqual(plain(viaMain));
    const labels = viaWorkers.flatMap(([x]) => (x.tolist() as number[][]).map((r) => r[0]));
    expect(new Set(labels).size).toBe(24);
  });

  it('takes the spec from options: module, export and constructor arguments', () => {
    const loader = track(
      new DataLoader(new Records(7), {
        batchSize: 3,
        numWorkers: 2,
        datasetModule: MODULE.href,
        datasetExport: 'Records',
        datasetArgs: [7],
      }),
    );
    const batches = [...loader] as unknown as { x: Tensor; id: Tensor; tag: string[] }[];
    expect(batches.length).toBe(3);
    expect(batches[1].x.dtype).toBe('float64');
    expect(batches[1].x.tolist()).toEqual([
      [3, 9],
      [4, 16],
      [5, 25],
    ]);
    expect(batches[1].id.dtype).toBe('int64');
    expect(batches[2].id.tolist()).toEqual([6]);
    expect(batches[0].tag).toEqual(['r0', 'r1', 'r2']);
  });

  it('runs a collateFn on the main thread over the items the workers made', () => {
    const loader = track(
      new DataLoader(new Records(5), {
        batchSize: 2,
        numWorkers: 1,
        datasetModule: MODULE,
        datasetExport: 'Records',
        datasetArgs: [5],
        collateFn: (items: { id: number }[]) => items.map((r) => r.id),
      }),
    );
    expect([...loader]).toEqual([[0, 1], [2, 3], [4]]);
  });

  it('never detaches the buffers of tensors the dataset keeps (items are copied, batches moved)', () => {
    const spec = { numWorkers: 1, datasetModule: MODULE.href, datasetExport: 'Cached', datasetArgs: [3] };
    const batched = track(new DataLoader(new Cached(3), { batchSize: 1, ...spec }));
    const raw = track(new DataLoader(new Cached(3), { batchSize: 2, ...spec, collateFn: (items: Tensor[]) => items }));
    for (let epoch = 0; epoch < 2; epoch++) {
      expect(([...batched] as unknown as Tensor[]).map((t) => [t.shape, t.sum().item()])).toEqual([
        [[1, 300], 0],
        [[1, 300], 300],
        [[1, 300], 600],
      ]);
      expect(([...raw] as unknown as Tensor[][]).map((b) => b.map((t) => t.sum().item()))).toEqual([[0, 300], [600]]);
    }
  });

  it('uses an exported dataset object as is', () => {
    const loader = track(
      new DataLoader(
        { length: 10, get: (i: number) => i * 10 },
        {
          batchSize: 4,
          numWorkers: 2,
          datasetModule: MODULE.href,
          datasetExport: 'tenNumbers',
        },
      ),
    );
    expect(([...loader] as unknown as Tensor[]).map((t) => t.tolist())).toEqual([
      [0, 10, 20, 30],
      [40, 50, 60, 70],
      [80, 90],
    ]);
  });

  it('reports an error thrown in a worker with the batch, and the loader works again after', () => {
    const loader = track(
      new DataLoader(new ThrowsAt(12, 5), {
        batchSize: 4,
        numWorkers: 2,
        datasetModule: MODULE.href,
        datasetExport: 'ThrowsAt',
        datasetArgs: [12, 5],
      }),
    );
    expect(() => [...loader]).toThrow(/DataLoader: worker 1 failed while making batch 1: .*ThrowsAt: item 5 is broken/);
    const fine = track(
      new DataLoader(new ThrowsAt(12, 99), {
        batchSize: 4,
        numWorkers: 2,
        datasetModule: MODULE.href,
        datasetExport: 'ThrowsAt',
        datasetArgs: [12, 99],
      }),
    );
    expect([...fine].length).toBe(3);
  });

  it('says when the module, the export or the dataset is wrong', async () => {
    const ds = new Records(4);
    const missingModule = track(new DataLoader(ds, { numWorkers: 1, datasetModule: '/nonexistent/dataset.js' }));
    expect(() => [...missingModule]).toThrow(/could not import the dataset module \/nonexistent\/dataset\.js/);
    const missingExport = track(new DataLoader(ds, { numWorkers: 1, datasetModule: MODULE.href, datasetExport: 'Nope' }));
    expect(() => [...missingExport]).toThrow(/has no export named 'Nope'.*SlowFeatures/);
    const notDataset = track(new DataLoader(ds, { numWorkers: 1, datasetModule: MODULE.href, datasetExport: 'notADataset' }));
    await expect(async () => {
      for await (const _ of notDataset) void _;
    }).rejects.toThrow(/did not give a dataset/);
    const wrongLength = track(
      new DataLoader(ds, { numWorkers: 1, datasetModule: MODULE.href, datasetExport: 'Records', datasetArgs: [9] }),
    );
    expect(() => [...wrongLength]).toThrow(/the dataset built in worker 0 has length 9, but the loader's dataset has length 4/);
  });

  it('fails after timeout ms when a batch takes too long', () => {
    const loader = track(new DataLoader(new SlowFeatures(2, 256, 100_000), { batchSize: 2, numWorkers: 1, timeout: 300 }));
    const t0 = performance.now();
    expect(() => [...loader]).toThrow('DataLoader: timed out after 300 ms waiting for batch 0 from the workers');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it('stops cleanly on break, and a closed loader refuses to iterate', async () => {
    const loader = track(new DataLoader(new SlowFeatures(40, 2, 5), { batchSize: 2, numWorkers: 2 }));
    let seen = 0;
    for (const _ of loader) {
      void _;
      if (++seen === 3) break;
    }
    // The next pass starts from batch 0 again; replies left from the broken pass are dropped.
    const all = [...loader];
    expect(all.length).toBe(20);
    expect(all.map(([x]) => (x.tolist() as number[][]).map((r) => r[0]))[0]).toEqual([0, 1]);
    expect(all.flatMap(([x]) => (x.tolist() as number[][]).map((r) => r[0]))).toEqual([...Array(40).keys()]);
    await loader.close();
    expect(() => [...loader]).toThrow(/this loader was closed/);
  });

  it('builds batches in parallel with the main thread (prefetch)', () => {
    const ds = new SlowFeatures(16, 64, 3000);
    // persistentWorkers: the warm workers serve the next pass (by default each pass starts its own).
    const loader = track(new DataLoader(ds, { batchSize: 4, numWorkers: 2, persistentWorkers: true }));
    void [...loader]; // warm the workers up
    const t0 = performance.now();
    for (const _ of new DataLoader(ds, { batchSize: 4 })) void _;
    const serial = performance.now() - t0;
    // The main thread works as long as three serial passes (slack for a
    // loaded machine) while the workers prefetch from the moment the
    // iterator exists; the batches are then waiting.
    const t1 = performance.now();
    const it = loader[Symbol.iterator]();
    const busyUntil = performance.now() + 3 * serial;
    while (performance.now() < busyUntil) {
      // simulated training step
    }
    let n = 0;
    const t2 = performance.now();
    while (!it.next().done) n++;
    const waited = performance.now() - t2;
    expect(n).toBe(4);
    expect(t1).toBeGreaterThan(0);
    expect(waited).toBeLessThan(serial * 0.5);
  });
});
