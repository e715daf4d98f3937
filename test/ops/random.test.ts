// Random sampling: the samplers' distributions, determinism under a seed,
// torch.Generator streams (independent of the default one and of each
// other), RNG state save/restore, per-thread default generators, and the
// samplers' errors. The statistical bounds are loose (many standard errors)
// and the seeds fixed, so they cannot fail by chance.
import { describe, it, expect } from 'vitest';
import { Worker } from 'node:worker_threads';
import { pathToFileURL, fileURLToPath } from 'node:url';
import * as torch from '../../lib/index.js';
import { DEFAULT_SEED } from '../../lib/backend/native.js';

type Tensor = torch.Tensor;
const vals = (t: Tensor) => Array.from(t.toTypedArray() as ArrayLike<number>, Number);
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const variance = (a: number[]) => {
  const m = mean(a);
  return a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length;
};
const f32 = (a: number[] | number[][]) => torch.tensor(a, { dtype: 'float32' });

describe('determinism under torch.manualSeed', () => {
  it('every sampler repeats after reseeding and differs for another seed', () => {
    const draw = () => [
      vals(torch.rand(5)),
      vals(torch.randn(5)),
      vals(torch.randint(0, 100, [5])),
      vals(torch.randperm(8)),
      vals(torch.normal(2, 3, [4])),
      vals(torch.multinomial(f32([1, 2, 3, 4]), 6, true)),
      vals(torch.multinomial(f32([1, 2, 3, 4]), 3)),
      vals(torch.bernoulli(torch.full([8], 0.5))),
      vals(torch.zeros(4).uniform_(-1, 1)),
    ];
    torch.manualSeed(123);
    const a = draw();
    torch.manualSeed(123);
    expect(draw()).toEqual(a);
    torch.manualSeed(124);
    expect(draw()).not.toEqual(a);
  });

  it('initialSeed reports the seed, negative seeds wrapping to 64 bits', () => {
    torch.manualSeed(42);
    expect(torch.initialSeed()).toBe(42);
    torch.manualSeed(-1);
    expect(torch.defaultGenerator.initialSeedBigInt()).toBe(2n ** 64n - 1n);
    torch.manualSeed(0);
  });
});

describe('torch.Generator', () => {
  it('starts from PyTorch default seed and takes a device or a seed', () => {
    expect(new torch.Generator().initialSeed()).toBe(67280421310721);
    expect(new torch.Generator({ device: 'cpu' }).device.type).toBe('cpu');
    expect(new torch.Generator('cpu').device.toString()).toBe('cpu');
    expect(new torch.Generator(7).initialSeed()).toBe(7);
    expect(new torch.Generator().manualSeed(-1).initialSeedBigInt()).toBe(2n ** 64n - 1n);
    expect(() => new torch.Generator({ seed: 3 } as never)).toThrow(/Generator: unknown option 'seed'/);
    expect(() => new torch.Generator('tpu')).toThrow(/unknown device "tpu"/);
    expect(() => new torch.Generator().manualSeed(1.5)).toThrow(/seed must be a safe integer or a bigint/);
  });

  it('manualSeed then a draw twice gives the same values, for every sampler', () => {
    const g = new torch.Generator();
    const draw = () => [
      vals(torch.rand(3, { generator: g })),
      vals(torch.rand([2, 2], { generator: g, dtype: 'float64' })),
      vals(torch.randn(3, { generator: g })),
      vals(torch.randint(5, [4], { generator: g })),
      vals(torch.randint(-3, 3, [4], { generator: g })),
      vals(torch.randperm(6, { generator: g })),
      vals(torch.normal(0, 1, [3], { generator: g })),
      vals(torch.normal(torch.zeros(3), 2, { generator: g })),
      vals(torch.multinomial(f32([1, 1, 1]), 4, { replacement: true, generator: g })),
      vals(torch.multinomial(f32([[1, 1, 1]]), 2, false, { generator: g })),
      vals(torch.bernoulli(torch.full([6], 0.5), { generator: g })),
      vals(torch.bernoulli(torch.zeros(6), 0.5, { generator: g })),
      vals(torch.zeros(3).uniform_(0, 1, { generator: g })),
      vals(torch.zeros(3).normal_({ generator: g })),
      vals(torch.zeros(3).bernoulli_(0.5, { generator: g })),
      vals(torch.zeros(3).bernoulli_(torch.full([3], 0.5), { generator: g })),
    ];
    g.manualSeed(99);
    const a = draw();
    g.manualSeed(99);
    expect(draw()).toEqual(a);
    // The draws advanced the stream: without reseeding, the next ones differ.
    expect(draw()).not.toEqual(a);
  });

  it('its stream is independent of the default generator, in both directions', () => {
    const g = new torch.Generator();
    torch.manualSeed(5);
    g.manualSeed(8);
    const a = vals(torch.rand(6, { generator: g }));
    const globalA = vals(torch.rand(6));
    torch.manualSeed(5);
    g.manualSeed(8);
    torch.randn(100); // the default stream moves; the generator's does not
    expect(vals(torch.rand(6, { generator: g }))).toEqual(a);
    torch.manualSeed(5);
    torch.rand(50, { generator: g }); // the generator moves; the default stream does not
    expect(vals(torch.rand(6))).toEqual(globalA);
    // Two generators with one seed give one stream; another seed another.
    expect(vals(torch.randn(5, { generator: new torch.Generator(3) }))).toEqual(
      vals(torch.randn(5, { generator: new torch.Generator(3) })),
    );
    expect(vals(torch.randn(5, { generator: new torch.Generator(3) }))).not.toEqual(
      vals(torch.randn(5, { generator: new torch.Generator(4) })),
    );
  });

  it('its JS draws are the same words of the same stream as the native samplers', () => {
    const g = new torch.Generator(11);
    const u = vals(torch.rand(16, { generator: g }));
    g.manualSeed(11);
    // float32 rand keeps a word's top 24 bits.
    expect(Array.from({ length: 16 }, () => (g.nextUint32() >>> 8) * 2 ** -24)).toEqual(u);
    // Native and JS draws interleave along one stream.
    g.manualSeed(11);
    g.nextUint32();
    expect(vals(torch.rand(15, { generator: g }))).toEqual(u.slice(1));
    g.manualSeed(2);
    const p = Array.from(g.randperm(20));
    g.manualSeed(2);
    expect(vals(torch.randperm(20, { generator: g }))).toEqual(p);
    expect([...p].sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    // below(n) covers [0, n) evenly.
    const counts = [0, 0, 0];
    for (let i = 0; i < 30000; i++) counts[g.below(3)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(600);
    expect(() => g.below(-1)).toThrow(/n must be an integer in \[0, 2\^32\]/);
  });

  it('getState / setState and torch.getRngState / setRngState restore a stream', () => {
    const g = new torch.Generator(21);
    torch.rand(7, { generator: g });
    const st = g.getState();
    expect(st.dtype).toBe('uint8');
    expect(st.shape).toEqual([16]);
    const a = vals(torch.randn(9, { generator: g }));
    g.setState(st);
    expect(vals(torch.randn(9, { generator: g }))).toEqual(a);
    // A state moves between generators.
    expect(vals(torch.randn(9, { generator: new torch.Generator().setState(st) }))).toEqual(a);

    torch.manualSeed(4);
    torch.rand(3);
    const gs = torch.getRngState();
    const b = vals(torch.rand(5));
    torch.setRngState(gs);
    expect(vals(torch.rand(5))).toEqual(b);
    expect(() => g.setState(torch.zeros(3))).toThrow(/Generator.setState: expected a 16-byte uint8 CPU tensor/);
  });

  it('is refused where it is not a Generator, and the *Like samplers take none (as PyTorch)', () => {
    expect(() => torch.rand(3, { generator: 5 } as never)).toThrow(/rand: generator must be a torch.Generator, got 5/);
    expect(() => torch.multinomial(f32([1, 1]), 1, { generator: {} } as never)).toThrow(
      /multinomial: argument 'generator' must be a torch.Generator/,
    );
    expect(() => torch.zeros(2).uniform_(0, 1, { generator: 'g' } as never)).toThrow(/uniform_: generator must be a torch.Generator/);
    expect(() => torch.randLike(torch.zeros(2), { generator: new torch.Generator() } as never)).toThrow(/unknown option 'generator'/);
    expect(() => torch.zeros(2).uniform_(0, 1, { gen: 1 } as never)).toThrow(/uniform_: unknown option 'gen'/);
  });

  it('shuffles a DataLoader like torch.randperm with the same generator', () => {
    const ds = new torch.utils.data.TensorDataset(torch.arange(10));
    const g = new torch.Generator(6);
    const order = [...new torch.utils.data.DataLoader(ds, { batchSize: 10, shuffle: true, generator: g })][0][0];
    expect(vals(order)).toEqual(vals(torch.randperm(10, { generator: new torch.Generator(6) })));
  });
});

describe('distributions', () => {
  it('rand is uniform in [0, 1), randn standard normal, normal(mean, std)', () => {
    torch.manualSeed(2024);
    const u = vals(torch.rand(100000));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(Math.abs(mean(u) - 0.5)).toBeLessThan(0.01);
    expect(Math.abs(variance(u) - 1 / 12)).toBeLessThan(0.005);
    const z = vals(torch.randn(100000, { dtype: 'float64' }));
    expect(Math.abs(mean(z))).toBeLessThan(0.02);
    expect(Math.abs(variance(z) - 1)).toBeLessThan(0.03);
    const n = vals(torch.normal(3, 2, [100000]));
    expect(Math.abs(mean(n) - 3)).toBeLessThan(0.04);
    expect(Math.abs(variance(n) - 4)).toBeLessThan(0.12);
  });

  it('normal with tensor mean and std: broadcast shapes, per-element parameters, gradients', () => {
    torch.manualSeed(1);
    const m = torch.tensor([[0], [100]], { dtype: 'float32' });
    const s = torch.full([1, 20000], 0.5);
    const out = torch.normal(m, s);
    expect(out.shape).toEqual([2, 20000]);
    const rows = out.tolist() as number[][];
    expect(Math.abs(mean(rows[0]))).toBeLessThan(0.03);
    expect(Math.abs(mean(rows[1]) - 100)).toBeLessThan(0.03);
    expect(Math.abs(variance(rows[1]) - 0.25)).toBeLessThan(0.02);
    expect(torch.normal(0, torch.ones(4)).shape).toEqual([4]);
    expect(torch.normal(torch.zeros(3), 2).shape).toEqual([3]);
    expect(torch.normal(torch.zeros(3, { dtype: 'float64' })).dtype).toBe('float64');
    // d out / d mean = 1, d out / d std = (out - mean) / std, as PyTorch's NormalBackward.
    const mu = torch.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const sd = torch.tensor([0.5, 1, 2], { dtype: 'float64', requiresGrad: true });
    const y = torch.normal(mu, sd);
    y.sum().backward();
    expect(vals(mu.grad!)).toEqual([1, 1, 1]);
    const want = vals(y.detach().sub(mu.detach()).div(sd.detach()));
    vals(sd.grad!).forEach((v, i) => expect(v).toBeCloseTo(want[i], 12));
  });

  it('randint covers [low, high) evenly; randperm is a permutation', () => {
    torch.manualSeed(7);
    const r = vals(torch.randint(-2, 3, [50000]));
    const counts = new Map<number, number>();
    for (const v of r) counts.set(v, (counts.get(v) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-2, -1, 0, 1, 2]);
    for (const c of counts.values()) expect(Math.abs(c - 10000)).toBeLessThan(500);
    expect(vals(torch.randperm(50)).sort((a, b) => a - b)).toEqual([...Array(50).keys()]);
  });

  it('bernoulli: each element 1 with its probability, or with p', () => {
    torch.manualSeed(3);
    const probs = torch.tensor([0, 0.2, 0.9, 1], { dtype: 'float64' }).unsqueeze(1).expand(4, 20000);
    const b = torch.bernoulli(probs);
    expect(b.dtype).toBe('float64');
    const rows = (b.tolist() as number[][]).map(mean);
    expect(rows[0]).toBe(0);
    expect(Math.abs(rows[1] - 0.2)).toBeLessThan(0.015);
    expect(Math.abs(rows[2] - 0.9)).toBeLessThan(0.015);
    expect(rows[3]).toBe(1);
    const c = torch.bernoulli(torch.zeros(20000), 0.3);
    expect(Math.abs(mean(vals(c)) - 0.3)).toBeLessThan(0.015);
    expect(torch.zeros(2, 3).bernoulli(0.5).shape).toEqual([2, 3]);
    const d = vals(torch.zeros(20000).bernoulli_(torch.tensor([0.1, 0.7], { dtype: 'float32' }).repeat(10000)));
    expect(Math.abs(mean(d.filter((_, i) => i % 2 === 0)) - 0.1)).toBeLessThan(0.015);
    expect(Math.abs(mean(d.filter((_, i) => i % 2 === 1)) - 0.7)).toBeLessThan(0.015);
  });

  it('bernoulli records BernoulliBackward0 with a zero gradient (PyTorch)', () => {
    const p = torch.full([3], 0.5).requiresGrad_();
    const y = torch.bernoulli(p);
    expect(y.gradFn!.name).toBe('BernoulliBackward0');
    y.sum().backward();
    expect(vals(p.grad!)).toEqual([0, 0, 0]);
  });

  it('multinomial with replacement draws categories in proportion to unnormalised weights', () => {
    torch.manualSeed(11);
    const s = vals(torch.multinomial(f32([1, 2, 3, 4, 0]), 40000, true));
    const freq = [0, 1, 2, 3, 4].map((k) => s.filter((v) => v === k).length / s.length);
    [0.1, 0.2, 0.3, 0.4].forEach((p, k) => expect(Math.abs(freq[k] - p)).toBeLessThan(0.015));
    expect(freq[4]).toBe(0);
    const two = torch.multinomial(
      f32([
        [0, 0, 1],
        [1, 0, 0],
      ]),
      5,
      { replacement: true },
    );
    expect(two.dtype).toBe('int64');
    expect(two.tolist()).toEqual([
      [2, 2, 2, 2, 2],
      [0, 0, 0, 0, 0],
    ]);
  });

  it('multinomial without replacement: distinct categories, first draw in proportion, zero weights last', () => {
    torch.manualSeed(12);
    const x = f32([1, 2, 3, 4]).unsqueeze(0).expand(20000, 4).contiguous();
    const s = torch.multinomial(x, 4).tolist() as number[][];
    for (const row of s.slice(0, 200)) expect([...row].sort()).toEqual([0, 1, 2, 3]);
    const first = [0, 1, 2, 3].map((k) => s.filter((r) => r[0] === k).length / s.length);
    [0.1, 0.2, 0.3, 0.4].forEach((p, k) => expect(Math.abs(first[k] - p)).toBeLessThan(0.015));
    // Once the weighted categories run out, the zero-weight ones follow (PyTorch gives [0, 1] too).
    expect(torch.multinomial(f32([1, 0, 0]), 2).tolist()).toEqual([0, 1]);
    expect((torch.multinomial(f32([0, 5, 0, 1]), 2).tolist() as number[]).sort()).toEqual([1, 3]);
    expect(f32([1, 1]).multinomial(1).shape).toEqual([1]);
  });

  it('multinomial errors name the op and the problem (PyTorch checks)', () => {
    expect(() => torch.multinomial(f32([1, 2]), 3)).toThrow(
      /multinomial: cannot sample numSamples > prob_dist.size\(-1\) samples without replacement \(3 > 2\)/,
    );
    expect(() => torch.multinomial(f32([1, -1]), 1)).toThrow(/multinomial: probability tensor contains either inf, nan or element < 0/);
    expect(() => torch.multinomial(f32([1, Infinity]), 1)).toThrow(/inf, nan or element < 0/);
    expect(() => torch.multinomial(f32([1, NaN]), 1)).toThrow(/inf, nan or element < 0/);
    expect(() => torch.multinomial(f32([0, 0]), 1)).toThrow(/invalid multinomial distribution \(sum of probabilities <= 0\) in row 0/);
    expect(() => torch.multinomial(f32([1, 1, 0, 0]).view(2, 2), 1)).toThrow(/sum of probabilities <= 0\) in row 1/);
    expect(() => torch.multinomial(torch.tensor([1, 2]), 1)).toThrow(
      /multinomial: only floating-point dtypes are supported for input, got int64/,
    );
    expect(() => torch.multinomial(torch.ones(2, 2, 2), 1)).toThrow(/multinomial: prob_dist must be 1 or 2 dim, got 3 dims/);
    expect(() => torch.multinomial(torch.tensor(1.5), 1)).toThrow(/prob_dist must be 1 or 2 dim/);
    expect(() => torch.multinomial(f32([1, 1]), 0)).toThrow(/multinomial: cannot sample numSamples <= 0 samples/);
    expect(() => torch.multinomial(f32([1, 1]), 1, { replace: true } as never)).toThrow(/unknown option 'replace'/);
  });

  it('bernoulli and normal errors', () => {
    expect(() => torch.bernoulli(f32([0.5, 2]))).toThrow(/bernoulli: expects all probabilities in \[0, 1\], got 2/);
    expect(() => torch.bernoulli(torch.tensor([1, 0]))).toThrow(/bernoulli: expected floating-point probabilities, got int64/);
    expect(() => torch.bernoulli(f32([1, 0]), 1.5)).toThrow(/bernoulli: expects p to be in \[0, 1\], but got p=1.5/);
    expect(() => torch.zeros(2).bernoulli_(-0.1)).toThrow(/bernoulli_: expects p to be in \[0, 1\]/);
    expect(() => torch.normal(torch.zeros(3), -1)).toThrow(/normal: expects std >= 0.0, but found std -1/);
    expect(() => torch.normal(torch.zeros(2), f32([1, -1]))).toThrow(/normal: expects all elements of std >= 0.0/);
    expect(() => torch.normal(torch.zeros(2), torch.ones(3))).toThrow(/normal/);
    expect(() => torch.normal(0, 1)).toThrow(/normal: with a number mean and std, size is required/);
    expect(() => torch.normal(0, 1, [2], { dtype: 'int64' })).toThrow(/normal: expected a floating dtype, got int64/);
    expect(() => torch.normal(torch.zeros(2), 1, { dtype: 'float64' } as never)).toThrow(/unknown option 'dtype'/);
  });
});

// A worker runs the TypeScript sources through the hooks test/reliability uses.
const HOOKS = new URL('../reliability/helpers/ts-hooks.mjs', import.meta.url).href;
const ENTRY = pathToFileURL(fileURLToPath(new URL('../reliability/helpers/thread-worker.ts', import.meta.url))).href;
const BOOTSTRAP = `
const { register } = require('node:module');
const { workerData } = require('node:worker_threads');
register(workerData.hooks);
import(workerData.entry).catch((e) => { throw e; });
`;
function seededWorker(seed?: number): Promise<{ seed: number; values: Float32Array }> {
  const start = new Int32Array(new SharedArrayBuffer(4));
  Atomics.store(start, 0, 1); // no need to wait for the others
  const w = new Worker(BOOTSTRAP, { eval: true, workerData: { hooks: HOOKS, entry: ENTRY, task: 'seeded', start, seed } });
  return new Promise((resolve, reject) => {
    w.once('message', (m: { ok: boolean; result?: { seed: number; values: Float32Array }; error?: string }) => {
      void w.terminate();
      if (m.ok) resolve(m.result!);
      else reject(new Error(m.error));
    });
    w.once('error', reject);
  });
}

describe('per-thread default generator', () => {
  it('torch.manualSeed in a worker seeds that worker only', async () => {
    torch.manualSeed(5);
    const serial = vals(torch.rand(2000));
    torch.manualSeed(5);
    const before = vals(torch.rand(1000));
    const [seeded, fresh] = await Promise.all([seededWorker(99), seededWorker()]);
    // The main thread's stream went on where it was.
    expect([...before, ...vals(torch.rand(1000))]).toEqual(serial);
    expect(torch.initialSeed()).toBe(5);
    // The worker drew seed 99's stream, as this thread does after manualSeed(99).
    expect(seeded.seed).toBe(99);
    torch.manualSeed(99);
    expect(Array.from(seeded.values)).toEqual(vals(torch.rand(1000)));
    // An unseeded worker starts from the default seed, as a fresh process does.
    expect(BigInt(fresh.seed)).toBe(BigInt(Number(DEFAULT_SEED)));
    expect(Array.from(fresh.values)).toEqual(vals(torch.rand(1000, { generator: new torch.Generator().manualSeed(DEFAULT_SEED) })));
  }, 60_000);
});
