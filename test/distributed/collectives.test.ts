// Every collective and reduction of torch.distributed over Gloo, in real
// multi-process jobs of 2 and 4 ranks on this machine. Each rank's inputs
// are functions of its rank (helpers/worker.ts 'collectives'), so the
// expected results below are worked out here from the world size.
import { describe, expect, it } from 'vitest';
import { runJob, unavailableReason } from './helpers/job.js';

const reason = unavailableReason();
if (reason !== null) console.warn(`test/distributed/collectives: skipped: ${reason}`);

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

// Rank r's allReduce input: [r + 1, -2(r + 1), r even ? 5 : -5].
function inputs(world: number): number[][] {
  return range(world).map((r) => [r + 1, -(r + 1) * 2, r % 2 === 0 ? 5 : -5]);
}
function reduce(world: number, f: (a: number, b: number) => number): number[] {
  const xs = inputs(world);
  return xs[0].map((_, i) => xs.map((x) => x[i]).reduce(f));
}

describe.skipIf(reason !== null).each([2, 4])('collectives on %i ranks', (world) => {
  it('give the reductions, gathers and scatters every rank expects', async () => {
    const results = await runJob('collectives', world);
    for (const { child, out } of results) {
      expect(out, child.stderr + child.stdout).not.toBeNull();
      expect(out!.fatal, String(out!.fatal)).toBeUndefined();
      expect(child.code).toBe(0);
    }
    const sum = reduce(world, (a, b) => a + b);
    const expected: Record<string, number[]> = {
      sum,
      product: reduce(world, (a, b) => a * b),
      max: reduce(world, (a, b) => Math.max(a, b)),
      min: reduce(world, (a, b) => Math.min(a, b)),
      avg: sum.map((v) => v / world),
    };
    const evens = range(world).filter((r) => r % 2 === 0);
    for (const { out } of results) {
      const rank = out!.rank as number;
      expect(out!.world).toBe(world);
      expect(out!.initialized).toBe(true);
      for (const dtype of ['float32', 'float64', 'int64']) {
        for (const op of ['sum', 'product', 'max', 'min', 'avg']) {
          if (op === 'avg' && dtype === 'int64') continue;
          expect(out![`allReduce_${op}_${dtype}`], `${op} ${dtype} on rank ${rank}`).toEqual(expected[op]);
        }
      }
      expect(out!.broadcast).toEqual([world - 1, (world - 1) * 10]);
      expect(out!.allGather).toEqual(range(world).map((r) => [r, r * r]));
      // Rank r's input i is [100 r + i, i]; it keeps the sum over ranks of input `rank`.
      const rs = range(world).reduce((acc, r) => [acc[0] + 100 * r + rank, acc[1] + rank], [0, 0]);
      expect(out!.reduceScatter).toEqual(rs);
      // JSON has no -0.
      if (rank === 1) expect(out!.gather).toEqual(range(world).map((r) => [r, r + 0.5, -r || 0]));
      else expect(out!.gather).toBeUndefined();
      expect(out!.scatter).toEqual([rank, rank * 3]);
      // Only the narrowed elements [2, 4) were reduced.
      const full = (world * (world + 1)) / 2;
      expect(out!.viewAllReduce).toEqual([rank + 1, rank + 1, full, full, rank + 1, rank + 1]);
      expect(out!.workIsWork).toBe(true);
      expect(out!.workCompleted).toBe(true);
      expect(out!.awaited).toBe(100000 * full);
      expect(out!.barrier).toBe(true);
      if (evens.includes(rank)) {
        expect(out!.groupRank).toBe(evens.indexOf(rank));
        expect(out!.groupAllReduce).toEqual([evens.reduce((a, r) => a + r + 1, 0)]);
        expect(out!.groupBroadcast).toEqual([evens[evens.length - 1]]);
      } else {
        expect(out!.groupRank).toBe(-1);
        expect(out!.nonMemberError).toMatch(/allReduce: this rank \(\d+\) is not in the group/);
      }
      expect(out!.initializedAfter).toBe(false);
    }
  });
});
