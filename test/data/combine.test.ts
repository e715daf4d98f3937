// Subset, randomSplit, ConcatDataset, IterableDataset and ChainDataset:
// items and lengths against PyTorch 1.13 (test/fixtures/data.json), the
// DataLoader over each (on this thread and, for map-style ones, on worker
// threads), and the errors.
import { readFileSync } from 'node:fs';
import { describe, it, expect, afterAll } from 'vitest';
import * as torch from '../../lib/index.js';
import {
  DataLoader,
  Dataset,
  TensorDataset,
  Generator,
  Subset,
  ConcatDataset,
  ChainDataset,
  IterableDataset,
  randomSplit,
} from '../../lib/data/index.js';
import { SlowFeatures } from './worker_dataset.js';

type Tensor = torch.Tensor;

interface Fixture {
  concat: { sizes: number[]; cumulativeSizes: number[]; items: Record<string, number> };
  subset: { base: number[]; indices: number[]; items: Record<string, number> };
  randomSplit: { n: number; lengths: number[]; sizes: number[] }[];
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/data.json', import.meta.url), 'utf8')) as Fixture;
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const sorted = (a: number[]) => a.slice().sort((p, q) => p - q);

class Numbers extends Dataset<number> {
  constructor(
    readonly n: number,
    readonly from = 0,
  ) {
    super();
  }
  get length() {
    return this.n;
  }
  get(i: number) {
    if (!Number.isInteger(i) || i < 0 || i >= this.n) throw new RangeError(`Numbers: index ${i} is out of range`);
    return this.from + i;
  }
}

const loaders: DataLoader<unknown>[] = [];
afterAll(async () => {
  await Promise.all(loaders.map((l) => l.close()));
});

describe('Subset', () => {
  it('gives the items at the indices, Python indexing, as PyTorch', () => {
    const s = new Subset(fx.subset.base, fx.subset.indices);
    expect(s.length).toBe(fx.subset.indices.length);
    for (const [i, v] of Object.entries(fx.subset.items)) expect(s.get(Number(i))).toBe(v);
    expect(s.indices).toEqual(fx.subset.indices);
    expect(new Subset(new Numbers(5), torch.tensor([4, 0])).get(0)).toBe(4);
    expect(new Subset(new Numbers(5), Int32Array.of(3)).get(0)).toBe(3);
  });

  it('refuses bad indices and datasets', () => {
    const s = new Subset(new Numbers(5), [1, 2]);
    expect(() => s.get(2)).toThrow('Subset: index 2 is out of range for a subset of length 2');
    expect(() => s.get(-3)).toThrow(RangeError);
    expect(() => s.get(0.5)).toThrow(/index must be an integer/);
    expect(() => new Subset(new Numbers(5), [1, 'a'] as never)).toThrow(/indices must be integers, got a at position 1/);
    expect(() => new Subset({} as never, [0])).toThrow(/Subset: expected a Dataset/);
    // Indices past the dataset fail when read, as in PyTorch.
    expect(() => new Subset(new Numbers(2), [5]).get(0)).toThrow(/Numbers: index 5 is out of range/);
  });

  it('is gathered natively over a TensorDataset, also nested and in order', () => {
    const td = new TensorDataset(torch.arange(10).mul(10), torch.arange(10));
    const inner = new Subset(td, [9, 8, 7, 6, 5, -1]);
    const outer = new Subset(inner, [5, 0, 2, -2]);
    expect(outer.get(0).map((t: Tensor) => t.item())).toEqual([90, 9]);
    const batches = [...new DataLoader(outer, { batchSize: 3 })];
    expect(batches.map(([x]) => x.tolist())).toEqual([[90, 90, 70], [50]]);
    expect(batches.map(([, y]) => y.tolist())).toEqual([[9, 9, 7], [5]]);
    // The same batches as item by item (a collateFn forces that path).
    const slow = [...new DataLoader(outer, { batchSize: 3, collateFn: (items: Tensor[][]) => items.map(([x]) => x.item()) })];
    expect(slow).toEqual([[90, 90, 70], [50]]);
    torch.manualSeed(2);
    const shuffled = [...new DataLoader(outer, { batchSize: 4, shuffle: true })][0][1].tolist() as number[];
    expect(sorted(shuffled)).toEqual([5, 7, 9, 9]);
    // An out-of-range index in a subset of a TensorDataset fails with the dataset's message.
    expect(() => [...new DataLoader(new Subset(td, [10]))]).toThrow(/TensorDataset: index 10 is out of range for a dataset of length 10/);
  });
});

describe('randomSplit', () => {
  it('gives PyTorch 1.13 split sizes for counts and fractions', () => {
    for (const c of fx.randomSplit) {
      const parts = randomSplit(range(c.n), c.lengths, new Generator(0));
      expect(
        parts.map((p) => p.length),
        JSON.stringify(c),
      ).toEqual(c.sizes);
      // Non-overlapping and covering the dataset.
      expect(sorted(parts.flatMap((p) => p.indices))).toEqual(range(c.n));
    }
  });

  it('is deterministic with a generator, follows torch.manualSeed without one', () => {
    const ds = new Numbers(20);
    const a = randomSplit(ds, [0.25, 0.75], { generator: new Generator(7) });
    const b = randomSplit(ds, [5, 15], new Generator(7));
    const c = randomSplit(ds, [5, 15], { generator: { seed: 7 } });
    expect(a[0].indices).toEqual(b[0].indices);
    expect(c[1].indices).toEqual(b[1].indices);
    expect(randomSplit(ds, [5, 15], new Generator(8))[0].indices).not.toEqual(a[0].indices);
    expect(a[0].dataset).toBe(ds);
    expect(a[1].get(0)).toBe(a[1].indices[0]);
    torch.manualSeed(3);
    const d = randomSplit(ds, [10, 10]);
    torch.manualSeed(3);
    expect(randomSplit(ds, [10, 10])[0].indices).toEqual(d[0].indices);
  });

  it('refuses lengths that do not fit, with PyTorch messages', () => {
    const ds = range(10);
    expect(() => randomSplit(ds, [3, 3])).toThrow(/randomSplit: Sum of input lengths does not equal the length of the input dataset!/);
    expect(() => randomSplit(ds, [0.5, 0.6])).toThrow(/Sum of input lengths does not equal/);
    expect(() => randomSplit(ds, [1.5, -0.5])).toThrow('randomSplit: Fraction at index 0 is not between 0 and 1 (got 1.5)');
    // PyTorch 1.13 accepts a negative count when the sum matches; Kindling refuses it.
    expect(() => randomSplit(ds, [-1, 11])).toThrow(/non-negative integers or fractions summing to 1, got -1 at index 0/);
    expect(() => randomSplit(ds, [2.5, 7.5])).toThrow(/got 2.5 at index 0/);
    expect(() => randomSplit(ds, 'ab' as never)).toThrow(/lengths must be an array of numbers/);
    expect(() => randomSplit(ds, [5, 5], { seed: 1 } as never)).toThrow(/unknown option 'seed'; known options: generator/);
    expect(() => randomSplit(ds, [5, 5], 3 as never)).toThrow(/must be a Generator or \{ generator \}/);
  });
});

describe('ConcatDataset', () => {
  it('has PyTorch cumulative sizes and items, negative indices included', () => {
    const c = new ConcatDataset(fx.concat.sizes.map((n, k) => new Numbers(n, 10 * k)));
    expect(c.cumulativeSizes).toEqual(fx.concat.cumulativeSizes);
    expect(c.length).toBe(fx.concat.cumulativeSizes.at(-1));
    for (const [i, v] of Object.entries(fx.concat.items)) expect(c.get(Number(i))).toBe(v);
    // Arrays are datasets too.
    expect(new ConcatDataset([[1, 2], new Numbers(2, 7)]).get(3)).toBe(8);
  });

  it('refuses what PyTorch refuses', () => {
    const c = new ConcatDataset([new Numbers(3), new Numbers(2)]);
    expect(() => c.get(-6)).toThrow('ConcatDataset: absolute value of index should not exceed dataset length (index -6, length 5)');
    expect(() => c.get(5)).toThrow(/index 5 is out of range for a dataset of length 5/);
    expect(() => c.get(1.5)).toThrow(/index must be an integer/);
    expect(() => new ConcatDataset([])).toThrow('ConcatDataset: datasets should not be an empty iterable');
    expect(() => new ConcatDataset([new ChainDataset([])] as never)).toThrow('ConcatDataset does not support IterableDataset');
    expect(() => new ConcatDataset(5 as never)).toThrow(/datasets must be an array of datasets/);
    expect(() => new ConcatDataset([{ a: 1 }] as never)).toThrow(/ConcatDataset: expected a Dataset/);
  });

  it('batches through the DataLoader in order', () => {
    const c = new ConcatDataset([new Numbers(3), new Numbers(4, 100)]);
    const batches = [...(new DataLoader(c, { batchSize: 3 }) as unknown as DataLoader<Tensor>)].map((t) => t.tolist());
    expect(batches).toEqual([[0, 1, 2], [100, 101, 102], [103]]);
  });
});

describe('Subset and ConcatDataset on worker threads', () => {
  it('rebuild their parts from the parts own worker specs', () => {
    const a = new SlowFeatures(10, 2, 3);
    const b = new SlowFeatures(6, 2, 3);
    const firstCol = (batches: Tensor[][]) => batches.map(([x]) => (x.tolist() as number[][]).map((r) => r[0]));
    const sub = new Subset(a, [9, 1, 4, 4]);
    const l1 = new DataLoader(sub, { batchSize: 3, numWorkers: 2 });
    loaders.push(l1 as DataLoader<unknown>);
    expect(firstCol([...l1])).toEqual([[9, 1, 4], [4]]);
    const cat = new ConcatDataset([a, new Subset(b, [5, 0])]);
    const l2 = new DataLoader(cat, { batchSize: 4, numWorkers: 2 });
    loaders.push(l2 as DataLoader<unknown>);
    expect(firstCol([...l2])).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, 5, 0],
    ]);
    // A part without a worker spec leaves the composite without one.
    expect(() => new DataLoader(new ConcatDataset<unknown>([a, new Numbers(2)] as Dataset<unknown>[]), { numWorkers: 2 })).toThrow(
      /needs a dataset the worker threads can build themselves/,
    );
  });
});

/** A stream of n numbers, sync. */
class Stream extends IterableDataset<number> {
  passes = 0;
  constructor(
    readonly n: number,
    readonly from = 0,
  ) {
    super();
  }
  get length() {
    return this.n;
  }
  *[Symbol.iterator]() {
    this.passes++;
    for (let i = 0; i < this.n; i++) yield this.from + i;
  }
}

/** A stream read only with for await, without a length. */
class AsyncStream extends IterableDataset<Tensor> {
  constructor(readonly n: number) {
    super();
  }
  async *[Symbol.asyncIterator]() {
    for (let i = 0; i < this.n; i++) {
      await new Promise((r) => setTimeout(r, 1));
      yield torch.tensor([i, -i]);
    }
  }
}

describe('IterableDataset and ChainDataset', () => {
  it('batches a stream in the order it comes, with dropLast, each pass anew', () => {
    const ds = new Stream(7);
    const loader = new DataLoader(ds, { batchSize: 3 }) as unknown as DataLoader<Tensor>;
    expect(loader.length).toBe(3);
    expect([...loader].map((t) => t.tolist())).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect([...loader].length).toBe(3);
    expect(ds.passes).toBe(2);
    const drop = new DataLoader(ds, { batchSize: 3, dropLast: true }) as unknown as DataLoader<Tensor>;
    expect(drop.length).toBe(2);
    expect([...drop].map((t) => t.tolist())).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    // A plain object with an iterator is a stream too.
    const plain = {
      *[Symbol.iterator]() {
        yield 1;
        yield 2;
      },
    };
    expect([...(new DataLoader(plain, { batchSize: 2 }) as unknown as DataLoader<Tensor>)].map((t) => t.tolist())).toEqual([[1, 2]]);
  });

  it('reads an async stream with for await, and says to when iterated synchronously', async () => {
    const loader = new DataLoader(new AsyncStream(5), { batchSize: 2 });
    const got: unknown[] = [];
    for await (const b of loader) got.push((b as unknown as Tensor).tolist());
    expect(got).toEqual([
      [
        [0, 0],
        [1, -1],
      ],
      [
        [2, -2],
        [3, -3],
      ],
      [[4, -4]],
    ]);
    expect(() => [...loader]).toThrow(/only async iterable.*for await/);
    expect(() => loader.length).toThrow(/this IterableDataset has no length/);
  });

  it('chains streams, sync and async, with the summed length', async () => {
    const chain = new ChainDataset([new Stream(2), new Stream(3, 10)]);
    expect(chain.length).toBe(5);
    expect([...(chain as Iterable<number>)]).toEqual([0, 1, 10, 11, 12]);
    const loader = new DataLoader(chain, { batchSize: 4 }) as unknown as DataLoader<Tensor>;
    expect([...loader].map((t) => t.tolist())).toEqual([[0, 1, 10, 11], [12]]);
    const mixed = new ChainDataset<unknown>([new Stream(1), new AsyncStream(2)]);
    const items: unknown[] = [];
    for await (const x of mixed as AsyncIterable<unknown>) items.push(x instanceof torch.Tensor ? x.tolist() : x);
    expect(items).toEqual([0, [0, 0], [1, -1]]);
    expect(() => [...(mixed as Iterable<unknown>)]).toThrow(/dataset 1 is only async iterable/);
    expect(() => mixed.length).toThrow(/ChainDataset: dataset 1 has no length/);
    expect(() => new ChainDataset([new Numbers(2)] as never)).toThrow(
      /ChainDataset only supports IterableDataset \(dataset 0 is a Numbers\)/,
    );
  });

  it('refuses shuffle, samplers and workers for a stream', () => {
    const ds = new Stream(4);
    expect(() => new DataLoader(ds, { shuffle: true })).toThrow(
      'DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle=true',
    );
    expect(() => new DataLoader(ds, { sampler: [0] })).toThrow(/expected unspecified sampler option/);
    expect(() => new DataLoader(ds, { batchSampler: [[0]] })).toThrow(/expected unspecified batchSampler option/);
    expect(() => new DataLoader(ds, { numWorkers: 2 })).toThrow(/numWorkers = 2 is not supported for an IterableDataset/);
    expect(() => new DataLoader(ds, { shuffle: false })).not.toThrow();
    const promises = {
      *[Symbol.iterator]() {
        yield Promise.resolve(1);
      },
    };
    expect(() => [...new DataLoader(promises)]).toThrow(/yielded a Promise.*for await/);
  });
});
