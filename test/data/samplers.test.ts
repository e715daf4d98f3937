// Samplers and the DataLoader's sampler / batchSampler options: exact index
// sequences against PyTorch 1.13 where no random stream is involved
// (test/fixtures/data.json, scripts/make_data_fixtures.py), determinism with
// a Generator and distribution checks for the random samplers, the worker
// path, and PyTorch's errors.
import { readFileSync } from 'node:fs';
import { describe, it, expect, afterAll } from 'vitest';
import * as torch from '../../lib/index.js';
import {
  DataLoader,
  Dataset,
  TensorDataset,
  Generator,
  Sampler,
  SequentialSampler,
  RandomSampler,
  SubsetRandomSampler,
  WeightedRandomSampler,
  BatchSampler,
} from '../../lib/data/index.js';
import { SlowFeatures } from './worker_dataset.js';

type Tensor = torch.Tensor;

interface Fixture {
  batchSampler: { source: number | number[]; batchSize: number; dropLast: boolean; batches: number[][]; length: number }[];
  loader: { options: Record<string, unknown>; length: number; batches: number[][] }[];
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/data.json', import.meta.url), 'utf8')) as Fixture;

const range = (n: number) => [...Array(n).keys()];
const sorted = (a: number[]) => a.slice().sort((p, q) => p - q);

/** An item-by-item dataset whose item i is the number i (batches collate to int64 tensors). */
class Numbers extends Dataset<number> {
  constructor(readonly n: number) {
    super();
  }
  get length() {
    return this.n;
  }
  get(i: number) {
    if (i < 0 || i >= this.n) throw new RangeError(`Numbers: index ${i} is out of range`);
    return i;
  }
}

const loaders: DataLoader<unknown>[] = [];
afterAll(async () => {
  await Promise.all(loaders.map((l) => l.close()));
});

describe('SequentialSampler and BatchSampler (PyTorch index sequences)', () => {
  it('gives the indices and batches PyTorch gives, with its lengths', () => {
    expect([...new SequentialSampler(new Numbers(4))]).toEqual([0, 1, 2, 3]);
    expect(new SequentialSampler([7, 8]).length).toBe(2);
    for (const c of fx.batchSampler) {
      const source = typeof c.source === 'number' ? new SequentialSampler(new Numbers(c.source)) : c.source;
      const bs = new BatchSampler(source, c.batchSize, c.dropLast);
      expect([...bs], JSON.stringify(c)).toEqual(c.batches);
      expect(bs.length).toBe(c.length);
      // The options form.
      expect([...new BatchSampler(source, { batchSize: c.batchSize, dropLast: c.dropLast })]).toEqual(c.batches);
    }
  });

  it('refuses bad batch sizes, dropLast and samplers with PyTorch messages', () => {
    const s = new SequentialSampler(new Numbers(3));
    expect(() => new BatchSampler(s, 0, false)).toThrow(
      'BatchSampler: batch_size should be a positive integer value, but got batch_size=0',
    );
    expect(() => new BatchSampler(s, 2.5, false)).toThrow(/batch_size=2.5/);
    expect(() => new BatchSampler(s, 2, 'no' as never)).toThrow('BatchSampler: drop_last should be a boolean value, but got drop_last=no');
    expect(() => new BatchSampler(5 as never, 2, false)).toThrow(/sampler must be a Sampler or an iterable/);
    expect(() => new BatchSampler(s, { batchSize: 2, drop_last: true } as never)).toThrow(
      /unknown option 'drop_last' \(did you mean 'dropLast'\?\)/,
    );
    // A sampler without a length sizes nothing, as len() raises in Python.
    const noLength = { *[Symbol.iterator]() {} };
    expect(() => new BatchSampler(noLength, 2, false).length).toThrow(/has no length/);
  });
});

describe('RandomSampler', () => {
  it('is a permutation per pass, reproducible with a generator, fresh each pass', () => {
    const ds = new Numbers(20);
    const a = new RandomSampler(ds, { generator: new Generator(5) });
    const b = new RandomSampler(ds, { generator: { seed: 5 } });
    const a1 = [...a];
    const a2 = [...a];
    expect(sorted(a1)).toEqual(range(20));
    expect(a1).not.toEqual(range(20));
    expect(a2).not.toEqual(a1);
    expect([...b]).toEqual(a1);
    expect([...b]).toEqual(a2);
    expect(a.length).toBe(20);
  });

  it('follows torch.manualSeed without a generator', () => {
    const s = new RandomSampler(new Numbers(30));
    torch.manualSeed(11);
    const x = [...s];
    torch.manualSeed(11);
    expect([...s]).toEqual(x);
    expect(sorted(x)).toEqual(range(30));
  });

  it('without replacement and numSamples > n gives whole permutations, then part of one more (PyTorch 1.13)', () => {
    const s = new RandomSampler(new Numbers(5), { numSamples: 12, generator: new Generator(1) });
    const x = [...s];
    expect(x.length).toBe(12);
    expect(s.length).toBe(12);
    expect(sorted(x.slice(0, 5))).toEqual(range(5));
    expect(sorted(x.slice(5, 10))).toEqual(range(5));
    expect(new Set(x.slice(10)).size).toBe(2);
    const short = [...new RandomSampler(new Numbers(5), { numSamples: 3, generator: new Generator(1) })];
    expect(short.length).toBe(3);
    expect(new Set(short).size).toBe(3);
  });

  it('with replacement draws numSamples uniform indices', () => {
    const s = new RandomSampler(new Numbers(4), { replacement: true, numSamples: 8000, generator: new Generator(2) });
    const x = [...s];
    expect(x.length).toBe(8000);
    const counts = [0, 0, 0, 0];
    for (const i of x) counts[i]++;
    // Binomial(8000, 1/4): sd ~ 39; 6 sd.
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(235);
    expect([...new RandomSampler(new Numbers(4), { replacement: true, numSamples: 50, generator: new Generator(2) })]).toEqual(
      x.slice(0, 50),
    );
  });

  it('refuses bad options as PyTorch does', () => {
    expect(() => new RandomSampler(new Numbers(0))).toThrow(
      'RandomSampler: num_samples should be a positive integer value, but got num_samples=0',
    );
    expect(() => new RandomSampler(new Numbers(3), { numSamples: 0 })).toThrow(/num_samples=0/);
    expect(() => new RandomSampler(new Numbers(3), { numSamples: 1.5 })).toThrow(/num_samples=1.5/);
    expect(() => new RandomSampler(new Numbers(3), { replacement: 1 as never })).toThrow(
      'RandomSampler: replacement should be a boolean value, but got replacement=1',
    );
    expect(() => new RandomSampler(new Numbers(3), { num_samples: 2 } as never)).toThrow(
      /unknown option 'num_samples' \(did you mean 'numSamples'\?\)/,
    );
    expect(() => new RandomSampler(new Numbers(3), { generator: 3 as never })).toThrow(/generator must be a torch Generator/);
    expect(() => new RandomSampler({} as never)).toThrow(/must have a non-negative integer length/);
  });
});

describe('SubsetRandomSampler', () => {
  it('gives the given indices in a random order, reproducibly with a generator', () => {
    const idx = [10, 4, 7, 2, 99];
    const s = new SubsetRandomSampler(idx, { generator: new Generator(3) });
    const x = [...s];
    expect(sorted(x)).toEqual(sorted(idx));
    expect([...new SubsetRandomSampler(idx, { generator: new Generator(3) })]).toEqual(x);
    expect(s.length).toBe(5);
    expect(sorted([...new SubsetRandomSampler(torch.tensor([3, 1, 2]))])).toEqual([1, 2, 3]);
    expect(sorted([...new SubsetRandomSampler(Int32Array.of(6, 5))])).toEqual([5, 6]);
    // Each index comes first about equally often.
    const first = new Map<number, number>();
    const g = new Generator(4);
    for (let k = 0; k < 3000; k++) {
      const v = [...new SubsetRandomSampler([0, 1, 2], { generator: g })][0];
      first.set(v, (first.get(v) ?? 0) + 1);
    }
    for (const v of [0, 1, 2]) expect(Math.abs(first.get(v)! - 1000)).toBeLessThan(160);
  });

  it('refuses non-integer indices', () => {
    expect(() => new SubsetRandomSampler([1, 2.5])).toThrow('SubsetRandomSampler: indices must be integers, got 2.5 at position 1');
    expect(() => new SubsetRandomSampler(5 as never)).toThrow(/indices must be an array of integers/);
    expect(() => new SubsetRandomSampler(torch.tensor([1.5]))).toThrow(/1-d integer tensor/);
  });
});

describe('WeightedRandomSampler', () => {
  it('draws in proportion to the weights, never a zero weight, reproducibly', () => {
    const w = [1, 0, 3, 6];
    const s = new WeightedRandomSampler(w, 20000, { generator: new Generator(9) });
    const x = [...s];
    expect(x.length).toBe(20000);
    expect(s.length).toBe(20000);
    const counts = [0, 0, 0, 0];
    for (const i of x) counts[i]++;
    expect(counts[1]).toBe(0);
    // Expected 2000, 0, 6000, 12000; 6 sd of Binomial(20000, p) is under 420.
    expect(Math.abs(counts[0] - 2000)).toBeLessThan(260);
    expect(Math.abs(counts[2] - 6000)).toBeLessThan(400);
    expect(Math.abs(counts[3] - 12000)).toBeLessThan(420);
    expect([...new WeightedRandomSampler(torch.tensor(w), 100, { generator: new Generator(9) })]).toEqual(x.slice(0, 100));
    torch.manualSeed(4);
    const y = [...new WeightedRandomSampler(Float64Array.from(w), 30)];
    torch.manualSeed(4);
    expect([...new WeightedRandomSampler(w, 30)]).toEqual(y);
  });

  it('without replacement never repeats, takes heavy weights first, then zero weights (as torch.multinomial)', () => {
    const g = new Generator(1);
    let heavyFirst = 0;
    for (let k = 0; k < 2000; k++) {
      const x = [...new WeightedRandomSampler([1, 9, 0], 3, { replacement: false, generator: g })];
      expect(sorted(x)).toEqual([0, 1, 2]);
      expect(x[2]).toBe(2); // the zero weight comes last
      if (x[0] === 1) heavyFirst++;
    }
    // P(first = 1) = 0.9: 1800 of 2000, sd ~ 13.
    expect(Math.abs(heavyFirst - 1800)).toBeLessThan(80);
  });

  it('refuses bad weights and counts with torch.multinomial messages', () => {
    expect(() => new WeightedRandomSampler([1, -1], 2)).toThrow(/invalid multinomial distribution \(encountering probability entry < 0\)/);
    expect(() => new WeightedRandomSampler([0, 0], 2)).toThrow(/invalid multinomial distribution \(sum of probabilities <= 0\)/);
    expect(() => new WeightedRandomSampler([1, NaN], 2)).toThrow(/infinity or NaN/);
    expect(() => new WeightedRandomSampler([1, Infinity], 2)).toThrow(/infinity or NaN/);
    expect(() => new WeightedRandomSampler([1, 1], 3, { replacement: false })).toThrow(
      /cannot sample n_sample > prob_dist.size\(-1\) samples without replacement/,
    );
    expect(() => new WeightedRandomSampler([1, 1], 0)).toThrow(
      'WeightedRandomSampler: num_samples should be a positive integer value, but got num_samples=0',
    );
    expect(() => new WeightedRandomSampler([1, 1], 2, { replacement: 'yes' as never })).toThrow(/replacement should be a boolean value/);
    expect(() => new WeightedRandomSampler(torch.ones([2, 2]), 2)).toThrow(
      /weights should be a 1d sequence but given weights have shape \[2, 2\]/,
    );
    expect(() => new WeightedRandomSampler([[1], [2]] as never, 2)).toThrow(/1d sequence/);
    expect(() => new WeightedRandomSampler([1], 1, { generator: new Generator(), num_samples: 3 } as never)).toThrow(
      /unknown option 'num_samples'/,
    );
  });
});

describe('DataLoader with sampler and batchSampler', () => {
  it('batches exactly as PyTorch for a given sampler or batch sampler', () => {
    for (const c of fx.loader) {
      const o = c.options;
      const opts: Record<string, unknown> = {};
      if (o.batch_size !== undefined) opts.batchSize = o.batch_size;
      if (o.drop_last !== undefined) opts.dropLast = o.drop_last;
      if (o.sampler !== undefined) opts.sampler = o.sampler === 'sequential' ? new SequentialSampler(new Numbers(10)) : o.sampler;
      if (o.batch_sampler !== undefined) {
        const b = o.batch_sampler as { sampler: number[]; batchSize: number; dropLast: boolean } | number[][];
        opts.batchSampler = Array.isArray(b) ? b : new BatchSampler(b.sampler, b.batchSize, b.dropLast);
      }
      for (const ds of [new Numbers(10), range(10)]) {
        const loader = new DataLoader(ds, opts) as unknown as DataLoader<Tensor>;
        expect(loader.length, JSON.stringify(o)).toBe(c.length);
        expect(
          [...loader].map((t) => t.tolist()),
          JSON.stringify(o),
        ).toEqual(c.batches);
      }
      // A TensorDataset gathers the same rows natively.
      const td = new TensorDataset(torch.arange(10), torch.arange(10).mul(2));
      const batches = [...new DataLoader(td, opts as never)];
      expect(batches.map(([x]) => x.tolist())).toEqual(c.batches);
      expect(batches.map(([, y]) => y.tolist())).toEqual(c.batches.map((b) => b.map((v) => 2 * v)));
    }
  });

  it('exposes sampler and batchSampler, and batchSize null with a batch sampler, as PyTorch', () => {
    const ds = new Numbers(5);
    const plain = new DataLoader(ds, { batchSize: 2 });
    expect(plain.sampler).toBeInstanceOf(SequentialSampler);
    expect(plain.batchSampler).toBeInstanceOf(BatchSampler);
    expect((plain.batchSampler as BatchSampler).batchSize).toBe(2);
    expect(new DataLoader(ds, { shuffle: true }).sampler).toBeInstanceOf(RandomSampler);
    const custom = new DataLoader(ds, { batchSampler: [[1, 2]] });
    expect(custom.batchSize).toBeNull();
    expect(custom.dropLast).toBe(false);
  });

  it('shuffles with a RandomSampler the same as shuffle: true, and with a WeightedRandomSampler', () => {
    const td = new TensorDataset(torch.arange(12));
    const viaShuffle = [...new DataLoader(td, { batchSize: 5, shuffle: true, generator: new Generator(8) })].map(([x]) => x.tolist());
    const viaSampler = [...new DataLoader(td, { batchSize: 5, sampler: new RandomSampler(td, { generator: new Generator(8) }) })].map(
      ([x]) => x.tolist(),
    );
    expect(viaSampler).toEqual(viaShuffle);
    const weighted = new DataLoader(new Numbers(3), {
      batchSize: 4,
      sampler: new WeightedRandomSampler([0, 0, 1], 10),
    }) as unknown as DataLoader<Tensor>;
    expect(weighted.length).toBe(3);
    expect([...weighted].flatMap((t) => t.tolist() as number[])).toEqual(Array(10).fill(2));
  });

  it('accepts a custom Sampler subclass and a generator function', () => {
    class Evens extends Sampler<number> {
      constructor(readonly n: number) {
        super();
      }
      override get length() {
        return Math.ceil(this.n / 2);
      }
      *[Symbol.iterator]() {
        for (let i = 0; i < this.n; i += 2) yield i;
      }
    }
    const loader = new DataLoader(new Numbers(7), { batchSize: 3, sampler: new Evens(7) }) as unknown as DataLoader<Tensor>;
    expect(loader.length).toBe(2);
    expect([...loader].map((t) => t.tolist())).toEqual([[0, 2, 4], [6]]);
    const gen = {
      *[Symbol.iterator]() {
        yield [4, 1];
        yield [0];
      },
    };
    const viaGen = new DataLoader(new Numbers(7), { batchSampler: gen }) as unknown as DataLoader<Tensor>;
    expect([...viaGen].map((t) => t.tolist())).toEqual([[4, 1], [0]]);
    expect(() => viaGen.length).toThrow(/has no length/);
  });

  it('refuses mutually exclusive options with PyTorch messages, and bad samplers', () => {
    const ds = new Numbers(4);
    expect(() => new DataLoader(ds, { sampler: [0], shuffle: true })).toThrow(
      'DataLoader: sampler option is mutually exclusive with shuffle',
    );
    const msg = 'DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last';
    expect(() => new DataLoader(ds, { batchSampler: [[0]], batchSize: 2 })).toThrow(msg);
    expect(() => new DataLoader(ds, { batchSampler: [[0]], shuffle: true })).toThrow(msg);
    expect(() => new DataLoader(ds, { batchSampler: [[0]], sampler: [0] })).toThrow(msg);
    expect(() => new DataLoader(ds, { batchSampler: [[0]], dropLast: true })).toThrow(msg);
    // batch_size=1 is the default, so PyTorch lets it through.
    expect(() => new DataLoader(ds, { batchSampler: [[0]], batchSize: 1 })).not.toThrow();
    expect(() => new DataLoader(ds, { sampler: 3 as never })).toThrow(/sampler must be a Sampler or an iterable of indices, got number/);
    expect(() => new DataLoader(ds, { batch_sampler: [[0]] } as never)).toThrow(
      /unknown option 'batch_sampler' \(did you mean 'batchSampler'\?\)/,
    );
    expect(() => [...new DataLoader(ds, { batchSampler: [[0, 1.5]] })]).toThrow(
      /batch 0 holds 1.5 at position 1; indices must be integers/,
    );
    expect(() => [...new DataLoader(ds, { batchSampler: [5] as never })]).toThrow(/gave number for batch 0; a batch sampler yields arrays/);
    // Out of range: the dataset's own error, on either path.
    expect(() => [...new DataLoader(ds, { sampler: [9] })]).toThrow(/index 9 is out of range/);
    expect(() => [...new DataLoader(new TensorDataset(torch.zeros([3])), { sampler: [3] })]).toThrow(
      /TensorDataset: index 3 is out of range for a dataset of length 3/,
    );
    // Python indexing on the native path too.
    expect([...new DataLoader(new TensorDataset(torch.arange(3)), { sampler: [-1, 0], batchSize: 2 })][0][0].tolist()).toEqual([2, 0]);
  });

  it('refuses shuffle over an empty dataset, as PyTorch 1.13 (RandomSampler needs a sample)', () => {
    expect(() => new DataLoader(new Numbers(0), { shuffle: true })).toThrow(
      /num_samples should be a positive integer value, but got num_samples=0/,
    );
  });

  it('sends the sampler order to worker threads (numWorkers 2): sampler, batchSampler, shuffle generator', async () => {
    const ds = new SlowFeatures(23, 3, 5);
    const firstCol = (batches: Tensor[][]) => batches.map(([x]) => (x.tolist() as number[][]).map((r) => r[0]));
    const sampler = [22, 0, 5, 5, 17, 3, 9];
    const a = new DataLoader(ds, { batchSize: 3, sampler, numWorkers: 2 });
    loaders.push(a as DataLoader<unknown>);
    expect(a.length).toBe(3);
    expect(firstCol([...a])).toEqual([[22, 0, 5], [5, 17, 3], [9]]);
    const batches = [[4, 2], [1], [20, 21, 22]];
    const b = new DataLoader(ds, { batchSampler: batches, numWorkers: 2 });
    loaders.push(b as DataLoader<unknown>);
    expect(firstCol([...b])).toEqual(batches);
    const viaAwait: Tensor[][] = [];
    for await (const batch of b) viaAwait.push(batch);
    expect(firstCol(viaAwait)).toEqual(batches);
    const c = new DataLoader(ds, {
      batchSize: 4,
      sampler: new WeightedRandomSampler(range(23), 9, { generator: new Generator(6) }),
      numWorkers: 2,
    });
    loaders.push(c as DataLoader<unknown>);
    const expected = [...new BatchSampler(new WeightedRandomSampler(range(23), 9, { generator: new Generator(6) }), 4, false)];
    expect(firstCol([...c])).toEqual(expected);
    const d = new DataLoader(ds, { batchSize: 5, shuffle: true, generator: new Generator(12), numWorkers: 2, dropLast: true });
    loaders.push(d as DataLoader<unknown>);
    const main = [...new DataLoader(ds, { batchSize: 5, shuffle: true, generator: new Generator(12), dropLast: true })];
    expect(firstCol([...d])).toEqual(firstCol(main));
  });
});
