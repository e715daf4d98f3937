// nn.parallel.DistributedDataParallel. Multi-rank jobs (helpers/ddp_worker.ts,
// one node process a rank, a launcher's environment): 20 steps of the seed
// CNN with SGD momentum and of a LeNet-style CNN with Adam on 2 and 4 ranks
// end with every rank's parameters equal to one process trained on the
// combined batch, and to PyTorch's DDP over gloo on as many ranks
// (test/fixtures/ddp_pytorch.json, scripts/make_ddp_fixtures.py: PyTorch with
// its im2col + GEMM convolution, and with its default oneDNN one); a control
// without DDP does not. In-process
// tests on a one-rank group cover the rest: buckets, noSync, unused
// parameters, the state dict, the errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import * as torch from '../../../lib/index.js';
import type { Tensor } from '../../../lib/index.js';
import { runTs } from '../../reliability/helpers/child.js';
import { freePort, unavailableReason } from '../../distributed/helpers/job.js';

const { nn } = torch;
const dist = torch.distributed;
const DDP = nn.parallel.DistributedDataParallel;
const WORKER = fileURLToPath(new URL('./helpers/ddp_worker.ts', import.meta.url));
const skip = unavailableReason();
if (skip) console.log(`ddp.test.ts: skipping the DistributedDataParallel tests: ${skip}`);

interface RankOut {
  rank: number;
  world: number;
  vsSingle: number;
  /** Against PyTorch's DDP with its im2col + GEMM convolution ('native') and with oneDNN's (its default). */
  vsPytorch: { native?: number; onednn?: number };
  referenceVsPytorch: { native?: number; onednn?: number };
  /** PyTorch's two runs' own distance from each other. */
  pytorchConvGap: number | null;
}

async function job(world: number, model: string, mode: string): Promise<RankOut[]> {
  const port = await freePort();
  const results = await Promise.all(
    Array.from({ length: world }, (_, rank) =>
      runTs(WORKER, [model, mode], {
        timeoutMs: 170_000,
        env: {
          MASTER_ADDR: '127.0.0.1',
          MASTER_PORT: String(port),
          RANK: String(rank),
          WORLD_SIZE: String(world),
          LOCAL_RANK: String(rank),
          // Ranks share two cores: one kernel thread each.
          OMP_NUM_THREADS: '1',
        },
      }),
    ),
  );
  return results.map((r, rank) => {
    if (r.code !== 0) throw new Error(`rank ${rank} exited with ${r.code ?? r.signal}:\n${r.stderr.slice(-2000)}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as RankOut;
  });
}

describe.skipIf(skip !== null)('DistributedDataParallel on several ranks', () => {
  for (const world of [2, 4]) {
    for (const model of ['cnn', 'lenet']) {
      it(`${model} (${model === 'cnn' ? 'SGD momentum' : 'Adam'}), ${world} ranks: every rank equals one process on the combined batch and PyTorch's DDP`, async () => {
        const out = await job(world, model, 'ddp');
        expect(out.map((o) => o.rank).sort()).toEqual(Array.from({ length: world }, (_, i) => i));
        for (const o of out) {
          expect(o.vsSingle).toBeLessThanOrEqual(1e-5);
          // PyTorch's DDP over gloo from the same weights and data (the fixture),
          // with its im2col + GEMM convolution and with its default oneDNN one.
          // Adam moves an element whose gradient cancels to about eps by a share
          // of lr that depends on that rounding, so PyTorch's two convolutions
          // end up to 2.3e-5 apart (LeNet, 2 ranks); Kindling's land within
          // 1e-5 of the im2col run on the machines that wrote the fixture and
          // ran CI before, and 2.0e-5 from it on an AMD EPYC VM (where its
          // one-process reference is 1.4e-5 away too). So Kindling must be no
          // further from either PyTorch run than they are from each other,
          // within the tolerance; a wrong average of the gradients is 1e-3 off.
          expect(o.pytorchConvGap).not.toBe(null);
          expect(o.vsPytorch.native).toBeLessThanOrEqual(o.pytorchConvGap! + 1e-5);
          expect(o.vsPytorch.onednn).toBeLessThanOrEqual(o.pytorchConvGap! + 1e-5);
        }
      }, 180_000);
    }
  }

  it('a control that trains each rank on its share without DDP differs from the combined batch', async () => {
    const out = await job(2, 'cnn', 'control');
    for (const o of out) expect(o.vsSingle).toBeGreaterThan(1e-3);
  }, 180_000);

  it('noSync: a half batch accumulated locally, then one reduced, equals the combined batch', async () => {
    const out = await job(2, 'cnn', 'nosync');
    for (const o of out) expect(o.vsSingle).toBeLessThanOrEqual(1e-5);
  }, 180_000);
});

describe.skipIf(skip !== null)('DistributedDataParallel on one rank', () => {
  beforeAll(() => dist.initProcessGroup({ initMethod: 'tcp://127.0.0.1:0', rank: 0, worldSize: 1, timeout: 5000 }));
  afterAll(() => dist.destroyProcessGroup());

  const mlp = () => {
    torch.manualSeed(0);
    return new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 3));
  };

  it('delegates forward, exposes module, and prefixes the state dict with module.', () => {
    const m = mlp();
    const ddp = new DDP(m);
    expect(ddp.module).toBe(m);
    const x = torch.randn([2, 4]);
    expect(
      (ddp.call(x) as Tensor)
        .sub(m.call(x) as Tensor)
        .abs()
        .max()
        .item(),
    ).toBe(0);
    expect(Object.keys(ddp.stateDict())).toEqual(Object.keys(m.stateDict()).map((k) => `module.${k}`));
    expect(ddp.parameters()).toEqual(m.parameters());
  });

  it('leaves .grad equal to the plain gradient on one rank', () => {
    const a = mlp();
    const b = mlp();
    const ddp = new DDP(a);
    const x = torch.randn([5, 4]);
    (ddp.call(x) as Tensor).pow(2).sum().backward();
    (b.call(x) as Tensor).pow(2).sum().backward();
    a.parameters().forEach((p, i) => expect(p.grad!.sub(b.parameters()[i].grad!).abs().max().item()).toBeLessThan(1e-6));
  });

  it('buckets in reverse parameter order and launches each bucket during backward, not at its end', () => {
    const m = mlp();
    // Tiny buckets: about one parameter each.
    const ddp = new DDP(m, { bucketCapMb: 1e-5 });
    expect(ddp.bucketParameterNames()).toEqual([['2.bias'], ['2.weight'], ['0.bias'], ['0.weight']]);
    const launchedAt: number[] = [];
    const reducer = (ddp as unknown as { _reducer: { nextBucket: number } })._reducer;
    for (const p of m.parameters()) p.registerPostAccumulateGradHook(() => void launchedAt.push(reducer.nextBucket));
    (ddp.call(torch.randn([2, 4])) as Tensor).sum().backward();
    // Each hook sees the buckets launched so far: one more each time.
    expect(launchedAt).toEqual([1, 2, 3, 4]);
  });

  it('the default bucket size keeps the small model in one bucket, with a small first bucket', () => {
    const ddp = new DDP(mlp());
    expect(ddp.bucketParameterNames()).toEqual([['2.bias', '2.weight', '0.bias', '0.weight']]);
  });

  it('noSync accumulates; the next synchronized backward keeps the sum', () => {
    const m = mlp();
    const ddp = new DDP(m);
    const x = torch.randn([3, 4]);
    const r = ddp.noSync(() => {
      (ddp.call(x) as Tensor).sum().backward();
      return 7;
    });
    expect(r).toBe(7);
    expect(ddp.requireBackwardGradSync).toBe(true);
    const once = m.parameters().map((p) => p.grad!.clone());
    (ddp.call(x) as Tensor).sum().backward();
    m.parameters().forEach((p, i) => expect(p.grad!.sub(once[i].mul(2)).abs().max().item()).toBeLessThan(1e-6));
    // The disposable form.
    const handle = ddp.noSync();
    expect(ddp.requireBackwardGradSync).toBe(false);
    handle.close();
    expect(ddp.requireBackwardGradSync).toBe(true);
  });

  class TwoHeads extends nn.Module {
    a = new nn.Linear(4, 2);
    b = new nn.Linear(4, 2);
    forward(x: Tensor): Tensor {
      return this.a.call(x) as Tensor;
    }
  }

  it('a parameter without a gradient is an error naming it, unless findUnusedParameters', () => {
    torch.manualSeed(0);
    const ddp = new DDP(new TwoHeads());
    expect(() => (ddp.call(torch.randn([2, 4])) as Tensor).sum().backward()).toThrow(
      /parameters received no gradient in this backward: b\.weight, b\.bias.*findUnusedParameters: true/,
    );
    torch.manualSeed(0);
    const m = new TwoHeads();
    const ok = new DDP(m, { findUnusedParameters: true, bucketCapMb: 1e-5 });
    (ok.call(torch.randn([2, 4])) as Tensor).sum().backward();
    expect(m.a.weight.grad).not.toBe(null);
    // Unused on every rank: no gradient, as in PyTorch.
    expect(m.b.weight.grad).toBe(null);
  });

  it('DistributedSampler takes numReplicas and rank from the process group', () => {
    const s = new torch.utils.data.DistributedSampler({ length: 5 }, { shuffle: false });
    expect([s.numReplicas, s.rank]).toEqual([1, 0]);
    expect([...s]).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses bad arguments, naming them', () => {
    expect(() => new DDP({} as never)).toThrow(/expected a Module to wrap/);
    expect(() => new DDP(mlp(), { bucketCapMb: 0 })).toThrow(/bucketCapMb must be a positive number, got 0/);
    expect(() => new DDP(mlp(), { bucket_cap_mb: 1 } as never)).toThrow(/bucket_cap_mb/);
    expect(() => new DDP(mlp(), { findUnusedParameters: 1 as never })).toThrow(/findUnusedParameters must be a boolean/);
    expect(() => new DDP(new nn.ReLU())).toThrow(/no parameter that requires a gradient/);
    expect(() => new DDP(mlp()).noSync(3 as never)).toThrow(/noSync: expected a function/);
  });
});

describe('DistributedDataParallel without a process group', () => {
  it('asks for initProcessGroup', () => {
    expect(() => new DDP(new nn.Linear(2, 2))).toThrow(/process group is not initialized.*initProcessGroup/);
  });
});
