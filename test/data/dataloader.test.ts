// TensorDataset, DataLoader (batching, shuffling, dropLast, collate), and
// the shuffling Generator.
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import { DataLoader, Dataset, TensorDataset, Generator, defaultCollate } from '../../lib/data/index.js';

type Tensor = torch.Tensor;

const rows = (t: Tensor) => t.tolist() as number[];

function numbered(n: number): TensorDataset {
  // x row i is [i, 10 i], y row i is i: any batch tells which rows it holds.
  return new TensorDataset(torch.stack([torch.arange(n), torch.arange(n).mul(10)], 1).float(), torch.arange(n));
}

/** A generic dataset (item by item), with items shaped like the TensorDataset's. */
class Numbers extends Dataset<[Tensor, number]> {
  gets = 0;
  constructor(readonly n: number) {
    super();
  }
  get length() {
    return this.n;
  }
  get(i: number): [Tensor, number] {
    this.gets++;
    return [torch.tensor([i, 10 * i], { dtype: 'float32' }), i];
  }
}

describe('TensorDataset', () => {
  it('gives the i-th row of each tensor, negative indices counting from the end', () => {
    const ds = new TensorDataset(torch.arange(12).reshape([4, 3]), torch.tensor([5, 6, 7, 8]));
    expect(ds.length).toBe(4);
    const [x, y] = ds.get(2);
    expect(x.tolist()).toEqual([6, 7, 8]);
    expect(y.shape).toEqual([]);
    expect(y.item()).toBe(7);
    expect(ds.get(-1)[1].item()).toBe(8);
    expect(ds.tensors.length).toBe(2);
  });

  it('slices whole batches as views (Python ds[a:b]) with Python bounds', () => {
    const x = torch.arange(10).reshape([5, 2]);
    const ds = new TensorDataset(x, torch.arange(5));
    const [xb, yb] = ds.slice(1, 3);
    expect(xb.tolist()).toEqual([
      [2, 3],
      [4, 5],
    ]);
    expect(yb.tolist()).toEqual([1, 2]);
    // A view: writing through it shows in the dataset's tensor.
    xb.fill_(-1);
    expect((x.tolist() as number[][])[1]).toEqual([-1, -1]); // tolist() is unknown: x is 2-d
    expect(ds.slice(3, 100)[1].tolist()).toEqual([3, 4]);
    expect(ds.slice(-2)[1].tolist()).toEqual([3, 4]);
    expect(ds.slice(4, 2)[0].shape).toEqual([0, 2]);
  });

  it('rejects mismatched first dimensions, 0-d tensors, no tensors and non-tensors', () => {
    expect(() => new TensorDataset(torch.zeros([3, 2]), torch.zeros([4]))).toThrow(
      /TensorDataset: size mismatch.*tensor 0 has 3 rows.*tensor 1 has 4.*\[4\]/,
    );
    expect(() => new TensorDataset(torch.zeros([3]), torch.tensor(1))).toThrow(/tensor 1 is 0-dimensional/);
    expect(() => new TensorDataset()).toThrow(/at least one tensor/);
    expect(() => new TensorDataset(torch.zeros([2]), [1, 2] as unknown as Tensor)).toThrow(/argument 1 is not a Tensor/);
  });

  it('rejects out-of-range and non-integer indices', () => {
    const ds = new TensorDataset(torch.zeros([3]));
    expect(() => ds.get(3)).toThrow(/index 3 is out of range for a dataset of length 3/);
    expect(() => ds.get(-4)).toThrow(RangeError);
    expect(() => ds.get(1.5)).toThrow(/index must be an integer/);
  });
});

describe('DataLoader over a TensorDataset', () => {
  it('counts batches with and without dropLast and yields the last partial batch', () => {
    const ds = numbered(10);
    const keep = new DataLoader(ds, { batchSize: 4 });
    const drop = new DataLoader(ds, { batchSize: 4, dropLast: true });
    expect(keep.length).toBe(3);
    expect(drop.length).toBe(2);
    const kept = [...keep];
    expect(kept.length).toBe(3);
    expect(kept.map(([, y]) => rows(y))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(kept[2][0].shape).toEqual([2, 2]);
    expect([...drop].map(([, y]) => rows(y))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(new DataLoader(ds, { batchSize: 5, dropLast: true }).length).toBe(2);
    expect(new DataLoader(ds, { batchSize: 11, dropLast: true }).length).toBe(0);
    expect([...new DataLoader(ds, { batchSize: 11, dropLast: true })]).toEqual([]);
    expect(new DataLoader(ds).length).toBe(10);
  });

  it('gives views of the dataset in order (no copy) and gathers rows when shuffled', () => {
    const x = torch.arange(8).reshape([4, 2]).float();
    const ds = new TensorDataset(x, torch.arange(4));
    const [first] = new DataLoader(ds, { batchSize: 2 });
    first[0].fill_(7);
    expect((x.tolist() as number[][])[0]).toEqual([7, 7]); // tolist() is unknown: x is 2-d

    torch.manualSeed(3);
    const ds2 = numbered(9);
    for (const [xb, yb] of new DataLoader(ds2, { batchSize: 4, shuffle: true })) {
      // Rows stay together: x row is [i, 10 i] for label i.
      const ys = rows(yb);
      expect(xb.tolist()).toEqual(ys.map((i) => [i, 10 * i]));
    }
  });

  it('shuffles into a permutation, reproducibly with torch.manualSeed, differently each epoch', () => {
    const ds = numbered(50);
    const loader = new DataLoader(ds, { batchSize: 8, shuffle: true });
    const epoch = () => [...loader].flatMap(([, y]) => rows(y));
    torch.manualSeed(123);
    const a1 = epoch();
    const a2 = epoch();
    torch.manualSeed(123);
    const b1 = epoch();
    expect(a1.slice().sort((p, q) => p - q)).toEqual([...Array(50).keys()]);
    expect(a1).toEqual(b1);
    expect(a1).not.toEqual([...Array(50).keys()]);
    expect(a2).not.toEqual(a1);
    expect(a2.slice().sort((p, q) => p - q)).toEqual([...Array(50).keys()]);
  });

  it('with a generator, shuffles the same whatever else draws from the global stream', () => {
    const ds = numbered(30);
    const order = (g: Generator | { seed: number }) => {
      const loader = new DataLoader(ds, { batchSize: 7, shuffle: true, generator: g });
      torch.randn([5]); // draws from torch.manualSeed's stream must not matter
      return [...loader].flatMap(([, y]) => rows(y));
    };
    torch.manualSeed(1);
    const a = order(new Generator().manualSeed(42));
    torch.manualSeed(2);
    const b = order(new Generator().manualSeed(42));
    const c = order({ seed: 42 });
    const d = order(new Generator().manualSeed(43));
    expect(a).toEqual(b);
    expect(c).toEqual(a);
    expect(d).not.toEqual(a);
    expect(a.slice().sort((p, q) => p - q)).toEqual([...Array(30).keys()]);
  });

  it('drops only the short last batch when shuffled with dropLast', () => {
    torch.manualSeed(0);
    const batches = [...new DataLoader(numbered(10), { batchSize: 3, shuffle: true, dropLast: true })];
    expect(batches.map(([, y]) => y.shape[0])).toEqual([3, 3, 3]);
    expect(new Set(batches.flatMap(([, y]) => rows(y))).size).toBe(9);
  });

  it('handles an empty dataset and is also async iterable', async () => {
    const empty = new TensorDataset(torch.zeros([0, 3]));
    expect(new DataLoader(empty, { batchSize: 2 }).length).toBe(0);
    expect([...new DataLoader(empty, { batchSize: 2 })]).toEqual([]);
    const got: number[][] = [];
    for await (const [, y] of new DataLoader(numbered(5), { batchSize: 2 })) got.push(rows(y));
    expect(got).toEqual([[0, 1], [2, 3], [4]]);
  });

  it('matches the item-by-item loader batch for batch', () => {
    torch.manualSeed(9);
    const fast = [...new DataLoader(numbered(13), { batchSize: 4, shuffle: true })];
    torch.manualSeed(9);
    const slow = [...new DataLoader(new Numbers(13), { batchSize: 4, shuffle: true })];
    expect(slow.length).toBe(fast.length);
    for (let k = 0; k < fast.length; k++) {
      expect(slow[k][0].tolist()).toEqual(fast[k][0].tolist());
      expect(slow[k][1].tolist()).toEqual(fast[k][1].tolist());
      expect(slow[k][1].dtype).toBe('int64');
    }
  });
});

describe('DataLoader over a generic dataset', () => {
  it('stacks tensor items and turns numbers into int64 tensors', () => {
    const ds = new Numbers(5);
    const batches = [...new DataLoader(ds, { batchSize: 2 })];
    expect(batches.length).toBe(3);
    expect(batches[0][0].shape).toEqual([2, 2]);
    expect(batches[0][0].dtype).toBe('float32');
    expect(batches[0][1].dtype).toBe('int64');
    expect(batches[2][1].tolist()).toEqual([4]);
    expect(ds.gets).toBe(5);
  });

  it('accepts an array as the dataset, as PyTorch accepts a list', () => {
    const batches = [...new DataLoader([1.5, 2.5, 3.5], { batchSize: 2 })] as unknown as Tensor[];
    expect(batches[0].dtype).toBe('float64');
    expect(batches[0].tolist()).toEqual([1.5, 2.5]);
    expect(batches[1].tolist()).toEqual([3.5]);
  });

  it('uses a collateFn when given, with the list of items', () => {
    const loader = new DataLoader(new Numbers(5), {
      batchSize: 2,
      collateFn: (items: [Tensor, number][]) => items.map(([, y]) => y).join(','),
    });
    expect([...loader]).toEqual(['0,1', '2,3', '4']);
  });
});

describe('defaultCollate', () => {
  it('collates nested arrays and objects position by position', () => {
    const items = [0, 1, 2].map((i) => ({
      image: torch.full([2, 2], i),
      meta: [i, i + 0.5, `name${i}`, i % 2 === 0],
      pair: [torch.tensor([i]), { id: BigInt(i) }],
      feats: Float32Array.of(i, -i),
    }));
    const b = defaultCollate(items) as {
      image: Tensor;
      meta: [Tensor, Tensor, string[], Tensor];
      pair: [Tensor, { id: Tensor }];
      feats: Tensor;
    };
    expect(b.image.shape).toEqual([3, 2, 2]);
    expect((b.image.tolist() as number[][][])[2]).toEqual([
      [2, 2],
      [2, 2],
    ]); // tolist() is unknown: image is 3-d
    expect(b.meta[0].dtype).toBe('int64');
    expect(b.meta[0].tolist()).toEqual([0, 1, 2]);
    expect(b.meta[1].dtype).toBe('float64');
    expect(b.meta[1].tolist()).toEqual([0.5, 1.5, 2.5]);
    expect(b.meta[2]).toEqual(['name0', 'name1', 'name2']);
    expect(b.meta[3].dtype).toBe('bool');
    expect(b.meta[3].tolist()).toEqual([true, false, true]);
    expect(b.pair[0].shape).toEqual([3, 1]);
    expect(b.pair[1].id.dtype).toBe('int64');
    expect(b.pair[1].id.tolist()).toEqual([0, 1, 2]);
    expect(b.feats.dtype).toBe('float32');
    expect(b.feats.tolist()).toEqual([
      [0, -0],
      [1, -1],
      [2, -2],
    ]);
  });

  it('explains what it cannot batch', () => {
    expect(() => defaultCollate([[1, 2], [3]])).toThrow(/equal size.*batch\[0\] has 2 fields, batch\[1\] has 1/);
    expect(() => defaultCollate([torch.zeros([2]), torch.zeros([3])])).toThrow(/stack: expects each tensor to be equal size/);
    expect(() => defaultCollate([torch.zeros([2]), 5])).toThrow(/batch\[0\] is a Tensor but batch\[1\] is number/);
    expect(() => defaultCollate([null, null])).toThrow(/cannot batch null/);
    expect(() => defaultCollate([new Date(), new Date()])).toThrow(/cannot batch a Date.*collateFn/);
    expect(() => defaultCollate([{ a: 1 }, { b: 2 }])).toThrow(/batch\[1\] has no key 'a'/);
    expect(() => defaultCollate([torch.zeros([2]), torch.zeros([2], { dtype: 'int64' })])).toThrow(/dtype float32.*dtype int64/);
    expect(() => defaultCollate([Float32Array.of(1), Float32Array.of(1, 2)])).toThrow(/length 1.*length 2/);
  });
});

describe('DataLoader options', () => {
  const ds = numbered(4);
  it('throws clear errors for bad options', () => {
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow('DataLoader: batchSize must be a positive integer, got 0');
    expect(() => new DataLoader(ds, { batchSize: 2.5 })).toThrow(/batchSize must be a positive integer, got 2.5/);
    expect(() => new DataLoader(ds, { numWorkers: -1 })).toThrow(/numWorkers must be a non-negative integer, got -1/);
    expect(() => new DataLoader(ds, { shuffle: 'yes' as unknown as boolean })).toThrow(/shuffle must be a boolean/);
    expect(() => new DataLoader(ds, { batch_size: 4 } as never)).toThrow(/unknown option 'batch_size' \(did you mean 'batchSize'\?\)/);
    expect(() => new DataLoader(ds, { multiprocessingContext: 'spawn' } as never)).toThrow(/unknown option 'multiprocessingContext'/);
    expect(() => new DataLoader(ds, { collateFn: 3 } as never)).toThrow(/collateFn must be a function/);
    expect(() => new DataLoader(ds, { generator: 5 } as never)).toThrow(/generator must be a torch Generator or \{ seed: number \}/);
    expect(() => new DataLoader(ds, { timeout: -1 })).toThrow(/timeout must be a non-negative number/);
    expect(() => new DataLoader({} as never)).toThrow(/expected a Dataset/);
    expect(() => new DataLoader(ds, 4 as never)).toThrow(/options must be an object/);
  });

  it('asks for a worker spec when numWorkers > 0 and the dataset cannot be rebuilt in a worker', () => {
    expect(() => new DataLoader(new Numbers(4), { numWorkers: 2 })).toThrow(
      /numWorkers = 2 needs a dataset the worker threads can build.*datasetModule.*workerSpec/,
    );
    // A TensorDataset batches natively on the calling thread; workers are not needed.
    const loader = new DataLoader(ds, { numWorkers: 2, batchSize: 3 });
    expect([...loader].map(([, y]) => rows(y))).toEqual([[0, 1, 2], [3]]);
  });

  it('rejects a dataset with a bad length', () => {
    const bad = { length: -1, get: () => 0 };
    expect(() => new DataLoader(bad as never)).toThrow(/length must be a non-negative integer, got -1/);
  });
});

describe('Generator', () => {
  it('is deterministic per seed and gives unbiased permutations', () => {
    const g = new Generator(7);
    expect(g.initialSeed()).toBe(7);
    const p1 = g.randperm(100);
    g.manualSeed(7);
    expect(g.randperm(100)).toEqual(p1);
    expect([...p1].sort((a, b) => a - b)).toEqual([...Array(100).keys()]);
    // Large seeds use both halves: these must differ.
    expect(new Generator(2 ** 40).randperm(20)).not.toEqual(new Generator(2 ** 40 + 2 ** 32).randperm(20));
    // Each position takes each value about equally often over many draws.
    const counts = new Array(4).fill(0);
    const h = new Generator(1);
    for (let i = 0; i < 4000; i++) counts[h.randperm(4)[0]]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
    expect(() => g.manualSeed(1.5)).toThrow(/seed must be a safe integer/);
    expect(g.randperm(0).length).toBe(0);
  });
});
