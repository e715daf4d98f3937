// DistributedSampler against PyTorch 1.13's (test/fixtures/distributed_sampler.json,
// scripts/make_distributed_fixtures.py): each rank's indices, every epoch,
// shuffled or not, padded or cut, and the seeded randperm beneath it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import { torchRandperm } from '../../lib/data/distributed_sampler.js';

const { DistributedSampler, DataLoader, TensorDataset } = torch.utils.data;

interface PermCase {
  n: number;
  seed: number;
  perm?: number[];
  head?: number[];
  weighted?: number;
}
interface SamplerCase {
  n: number;
  numReplicas: number;
  shuffle: boolean;
  seed: number;
  dropLast: boolean;
  ranks: { rank: number; length: number; epochs: { epoch: number; indices: number[]; sum: number; count: number }[] }[];
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/distributed_sampler.json', import.meta.url), 'utf8')) as {
  randperm: PermCase[];
  sampler: SamplerCase[];
};

const range = (n: number) => ({ length: n });

describe("PyTorch's seeded randperm", () => {
  it.each(fx.randperm.map((c) => [c.n, c.seed, c] as const))('randperm(%i) with seed %s', (n, seed, c) => {
    const p = Array.from(torchRandperm(n, seed));
    if (c.perm) {
      expect(p).toEqual(c.perm);
    } else {
      expect(p.slice(0, 100)).toEqual(c.head);
      let w = 0;
      for (let i = 0; i < p.length; i++) w = (w + ((i * p[i]) % 1000000007)) % 1000000007;
      expect(w).toBe(c.weighted);
    }
  });
});

describe('DistributedSampler', () => {
  for (const c of fx.sampler) {
    const name = `n=${c.n} numReplicas=${c.numReplicas} shuffle=${c.shuffle} seed=${c.seed} dropLast=${c.dropLast}`;
    it(name, () => {
      for (const r of c.ranks) {
        const s = new DistributedSampler(range(c.n), {
          numReplicas: c.numReplicas,
          rank: r.rank,
          shuffle: c.shuffle,
          seed: c.seed,
          dropLast: c.dropLast,
        });
        expect(s.length).toBe(r.length);
        for (const e of r.epochs) {
          s.setEpoch(e.epoch);
          const idx = [...s];
          expect(idx.length).toBe(e.count);
          expect(idx.slice(0, e.indices.length)).toEqual(e.indices);
          expect(idx.reduce((a, b) => a + b, 0)).toBe(e.sum);
        }
      }
    });
  }

  it('gives the ranks disjoint shares that cover the dataset when it divides evenly', () => {
    const seen: number[] = [];
    for (let rank = 0; rank < 4; rank++) seen.push(...new DistributedSampler(range(20), { numReplicas: 4, rank, seed: 3 }));
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("feeds a DataLoader through its sampler option: each rank's batches hold its indices", () => {
    const x = torch.arange(10).float();
    const ds = new TensorDataset(x);
    const s = new DistributedSampler(ds, { numReplicas: 2, rank: 1, seed: 0 });
    s.setEpoch(1);
    const want = [...s];
    const dl = new DataLoader(ds, { batchSize: 2, sampler: s });
    expect(dl.length).toBe(3);
    const got = [...(dl as Iterable<[torch.Tensor]>)].flatMap(([b]) => b.tolist() as number[]);
    expect(got).toEqual(want);
  });

  it('refuses bad options, naming them', () => {
    expect(() => new DistributedSampler(range(4), { numReplicas: 2, rank: 2 })).toThrow(/invalid rank 2.*\[0, 1\]/);
    expect(() => new DistributedSampler(range(4), { numReplicas: 2, rank: -1 })).toThrow(/invalid rank -1/);
    expect(() => new DistributedSampler(range(4), { numReplicas: 0, rank: 0 })).toThrow(/numReplicas must be a positive integer/);
    expect(() => new DistributedSampler(range(4), { numReplicas: 2, rank: 0, drop_last: true } as never)).toThrow(
      /unknown option 'drop_last' \(did you mean 'dropLast'\?\)/,
    );
    expect(() => new DistributedSampler(range(4), { numReplicas: 2, rank: 0, shuffle: 1 as never })).toThrow(/shuffle must be a boolean/);
    expect(() => new DistributedSampler(range(4), { numReplicas: 2, rank: 0, seed: 0.5 })).toThrow(/seed must be an integer/);
    expect(() => new DistributedSampler({} as never, { numReplicas: 2, rank: 0 })).toThrow(/non-negative integer length/);
    expect(() => new DistributedSampler(range(4), { numReplicas: 2, rank: 0 }).setEpoch('1' as never)).toThrow(/epoch must be an integer/);
  });

  it('without numReplicas and rank needs an initialized process group', () => {
    expect(() => new DistributedSampler(range(4))).toThrow(/process group is not initialized/);
  });
});
