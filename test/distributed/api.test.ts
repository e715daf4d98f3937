// torch.distributed in this process: a one-rank group (every collective is
// then the identity, or a copy for the list forms), the argument checks,
// and the messages when the dist module, NCCL or CUDA are missing.
import { afterEach, describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import { runJob, unavailableReason } from './helpers/job.js';

const dist = torch.distributed;
const reason = unavailableReason();
if (reason !== null) console.warn(`test/distributed/api: skipped: ${reason}`);

afterEach(() => {
  if (dist.isInitialized()) dist.destroyProcessGroup();
});

describe.skipIf(reason !== null)('a one-rank process group', () => {
  it('runs every collective on tcp://host:0 (the master picks the port)', async () => {
    expect(dist.isAvailable()).toBe(true);
    expect(dist.isGlooAvailable()).toBe(true);
    expect(dist.isInitialized()).toBe(false);
    dist.initProcessGroup({ initMethod: 'tcp://127.0.0.1:0', rank: 0, worldSize: 1, timeout: 5000 });
    expect(dist.isInitialized()).toBe(true);
    expect([dist.getRank(), dist.getWorldSize(), dist.getBackend()]).toEqual([0, 1, 'gloo']);
    const t = torch.tensor([1.5, -2, 3]);
    dist.allReduce(t, { op: dist.ReduceOp.AVG });
    expect(t.tolist()).toEqual([1.5, -2, 3]);
    // PyTorch's positional forms: all_reduce(t, op), broadcast(t, src).
    dist.allReduce(t, dist.ReduceOp.MAX);
    dist.broadcast(t, 0, { group: undefined });
    await dist.allReduce(t, 'sum', { asyncOp: true });
    expect(t.tolist()).toEqual([1.5, -2, 3]);
    expect(() => dist.allReduce(t, 'sum', { op: 'max' } as never)).toThrow(/allReduce: unknown option 'op'/);
    expect(() => dist.broadcast(t, 1)).toThrow(/broadcast: src 1 is not a rank of the group \[0\]/);
    const list = [torch.zeros([3])];
    dist.allGather(list, t);
    expect(list[0].tolist()).toEqual([1.5, -2, 3]);
    const out = torch.zeros([3]);
    dist.reduceScatter(out, [t], { op: dist.ReduceOp.MAX });
    expect(out.tolist()).toEqual([1.5, -2, 3]);
    const sc = torch.zeros([3]);
    dist.scatter(sc, { scatterList: [torch.tensor([7, 8, 9], { dtype: 'float32' })] });
    expect(sc.tolist()).toEqual([7, 8, 9]);
    const work = dist.barrier({ asyncOp: true });
    await work;
    expect(work.isCompleted()).toBe(true);
    const g = dist.newGroup([0]);
    expect([dist.getRank(g), dist.getWorldSize(g)]).toEqual([0, 1]);
    dist.broadcast(t, { src: 0, group: g });
    dist.destroyProcessGroup(g);
    expect(() => dist.allReduce(t, { group: g })).toThrow(/allReduce: the process group has been destroyed/);
    dist.destroyProcessGroup();
    expect(dist.isInitialized()).toBe(false);
  });

  it('bumps the version of the tensors it writes (autograd sees the in-place change)', () => {
    dist.initProcessGroup({ initMethod: 'tcp://127.0.0.1:0', rank: 0, worldSize: 1, timeout: 5000 });
    const x = torch.ones([2], { requiresGrad: true });
    const y = torch.ones([2]);
    const z = x.mul(y);
    dist.allReduce(y);
    expect(() => z.sum().backward()).toThrow(/modified by an inplace operation/);
  });
});

describe.skipIf(reason !== null)('argument checks', () => {
  it('says the group is not initialized', () => {
    expect(() => dist.getRank()).toThrow(/getRank: the default process group is not initialized; call initProcessGroup first/);
    expect(() => dist.allReduce(torch.ones([1]))).toThrow(/allReduce: the default process group is not initialized/);
  });

  it('refuses bad options before any rendezvous', () => {
    expect(() => dist.initProcessGroup({ backend: 'mpi' as never, rank: 0, worldSize: 1 })).toThrow(
      /backend must be 'gloo' or 'nccl', got "mpi"/,
    );
    expect(() => dist.initProcessGroup({ rank: 2, worldSize: 2 })).toThrow(/rank must be an integer in \[0, 1\] \(worldSize 2\), got 2/);
    expect(() => dist.initProcessGroup({ rank: 0, worldSize: 1, timeout: -1 })).toThrow(
      /timeout must be a positive number of milliseconds/,
    );
    expect(() => dist.initProcessGroup({ rank: 0, worldSize: 1, initMethod: 'udp://x:1' })).toThrow(
      /initMethod must be 'env:\/\/', 'tcp:\/\/host:port' or 'file:\/\/\/path', got "udp:\/\/x:1"/,
    );
    expect(() => dist.initProcessGroup({ rank: 0, worldSize: 1, world_size: 1 } as never)).toThrow(
      /unknown option 'world_size' \(did you mean 'worldSize'\?\)/,
    );
    const saved = [process.env.MASTER_ADDR, process.env.MASTER_PORT];
    delete process.env.MASTER_ADDR;
    delete process.env.MASTER_PORT;
    try {
      expect(() => dist.initProcessGroup({ rank: 0, worldSize: 1 })).toThrow(/'env:\/\/' needs MASTER_ADDR and MASTER_PORT/);
    } finally {
      if (saved[0] !== undefined) process.env.MASTER_ADDR = saved[0];
      if (saved[1] !== undefined) process.env.MASTER_PORT = saved[1];
    }
    expect(dist.isInitialized()).toBe(false);
  });

  it("backend 'nccl' says what is missing (libnccl.so.2 or a CUDA GPU)", () => {
    expect(dist.isNcclAvailable()).toBe(false);
    expect(() => dist.initProcessGroup({ backend: 'nccl', initMethod: 'tcp://127.0.0.1:0', rank: 0, worldSize: 1 })).toThrow(
      /libnccl\.so\.2 could not be loaded .*apt-get install libnccl2|backend 'nccl' needs a CUDA GPU/,
    );
  });
});

describe('without the dist module', () => {
  it('initProcessGroup says what to install', async () => {
    const [r] = await runJob('no-addon', 1, { env: { KINDLING_DIST_ADDON: '/nonexistent/kindling_dist.node' } });
    expect(r.out!.available).toBe(false);
    expect(r.out!.error).toMatch(
      /kindling_dist\.node was not built\. torch\.distributed needs Gloo: .*apt-get install libgloo-dev.*libgloo0/,
    );
  });
});
