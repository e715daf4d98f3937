// torch.distributed over NCCL (native/distributed/nccl.cc): one rank per GPU
// of this machine (helpers/nccl-worker.ts), every collective and a DDP
// backward, against results worked out here from the world size. Runs only
// where a GPU and libnccl.so.2 are found; elsewhere it says so in one line.
// KINDLING_CUDA_TESTS_ON_CPU=1 runs 2 ranks over Gloo on CPU tensors instead:
// it checks the worker and the expectations here on a machine without a GPU.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import * as torch from '../../lib/index.js';
import { runJob, unavailableReason } from '../distributed/helpers/job.js';

const WORKER = fileURLToPath(new URL('../distributed/helpers/nccl-worker.ts', import.meta.url));

const ON_CPU = process.env.KINDLING_CUDA_TESTS_ON_CPU === '1';

function reason(): string | null {
  const dist = unavailableReason();
  if (dist !== null) return dist;
  if (ON_CPU) return null;
  if (!torch.cuda.isAvailable()) return 'no CUDA device (torch.cuda.isAvailable() is false)';
  if (!torch.distributed.isNcclAvailable()) return 'libnccl.so.2 is not installed';
  return null;
}
const why = reason();
if (why !== null) console.log(`test/cuda/nccl: skipped: ${why}`);
const world = why === null ? (ON_CPU ? 2 : Math.min(torch.cuda.deviceCount(), 4)) : 0;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const inputs = (w: number): number[][] => range(w).map((r) => [r + 1, -(r + 1) * 2, r % 2 === 0 ? 5 : -5]);
const reduce = (w: number, f: (a: number, b: number) => number): number[] => {
  const xs = inputs(w);
  return xs[0].map((_, i) => xs.map((x) => x[i]).reduce(f));
};

describe.skipIf(why !== null)('torch.distributed over NCCL, one rank per GPU', () => {
  it(`gives every collective's result and DDP's averaged gradient on ${world} rank(s)`, async () => {
    const results = await runJob('nccl', world, { worker: WORKER, killMs: 120_000, timeout: 60_000 });
    const sum = reduce(world, (a, b) => a + b);
    const expected: Record<string, number[]> = {
      sum,
      product: reduce(world, (a, b) => a * b),
      max: reduce(world, (a, b) => Math.max(a, b)),
      min: reduce(world, (a, b) => Math.min(a, b)),
      avg: sum.map((v) => v / world),
    };
    for (const { child, out } of results) {
      expect(out, child.stderr + child.stdout).not.toBeNull();
      expect(out!.fatal, String(out!.fatal)).toBeUndefined();
      const rank = out!.rank as number;
      expect(out!.backend).toBe(ON_CPU ? 'gloo' : 'nccl');
      for (const dtype of ['float32', 'float64', 'int64']) {
        for (const op of ['sum', 'product', 'max', 'min', 'avg']) {
          if (op === 'avg' && dtype === 'int64') continue;
          expect(out![`allReduce_${op}_${dtype}`], `${op} ${dtype} on rank ${rank}`).toEqual(expected[op]);
        }
      }
      expect(out!.broadcast).toEqual([world - 1, (world - 1) * 10]);
      expect(out!.allGather).toEqual(range(world).map((r) => [r, r * r]));
      const rsSum = range(world).reduce((acc, r) => acc + r * 100 + rank, 0);
      expect(out!.reduceScatter).toEqual([rsSum, rank * world]);
      if (rank === 0) expect(out!.gather).toEqual(range(world).map((r) => [r, r + 0.5, 0 - r])); // JSON has no -0;
      expect(out!.scatter).toEqual([rank, rank * 3]);
      const s = range(world).reduce((acc, r) => acc + r + 1, 0);
      expect(out!.viewAllReduce).toEqual([rank + 1, rank + 1, s, s, rank + 1, rank + 1]);
      expect(out!.awaited).toBe(100000 * s);
      if (!ON_CPU)
        expect(out!.cpuError).toMatch(/allReduce: tensor is on cpu; backend 'nccl' takes tensors on this rank's device, cuda:\d/);
      const got = (out!.ddpWeightGrad as number[][]).flat();
      const want = (out!.expectedWeightGrad as number[][]).flat();
      expect(Math.max(...got.map((v, i) => Math.abs(v - want[i])))).toBeLessThan(1e-5);
      expect(out!.destroyed).toBe(true);
    }
  }, 180_000);
});
