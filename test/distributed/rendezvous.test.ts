// The rendezvous (env:// with each launcher's variables, file://, the
// stores on their own) and the failures: a rank that never comes, a peer
// that dies or stays silent, bad arguments. Every job uses short timeouts,
// so a hang fails the test instead of stalling it.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runJob, unavailableReason } from './helpers/job.js';

const reason = unavailableReason();
if (reason !== null) console.warn(`test/distributed/rendezvous: skipped: ${reason}`);

function outputs(results: Awaited<ReturnType<typeof runJob>>): Record<string, unknown>[] {
  return results.map(({ child, out }) => {
    expect(out, child.stderr + child.stdout).not.toBeNull();
    expect(out!.fatal, String(out!.fatal)).toBeUndefined();
    return out!;
  });
}

describe.skipIf(reason !== null)('rendezvous', () => {
  it.each(['torchrun', 'mpirun', 'srun'] as const)('takes ranks from %s variables', async (launcher) => {
    const outs = outputs(await runJob('env-ranks', 2, { launcher }));
    expect(outs.map((o) => o.got).sort()).toEqual([
      [0, 2, 0],
      [1, 2, 1],
    ]);
    for (const o of outs) expect(o.max).toBe(2);
  });

  it('rendezvous through a directory with file://', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kindling-dist-'));
    try {
      const outs = outputs(await runJob('file', 4, { env: { TEST_FILE: join(dir, 'store') } }));
      for (const o of outs) expect(o.allReduce).toEqual([10]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('file:// reuses a path after a clean destroyProcessGroup, as PyTorch does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kindling-dist-'));
    const store = join(dir, 'store');
    try {
      for (const world of [2, 3]) {
        const outs = outputs(await runJob('file', world, { env: { TEST_FILE: store } }));
        for (const o of outs) expect(o.allReduce).toEqual([(world * (world + 1)) / 2]);
        // The last rank to leave removed the job's keys.
        expect(readdirSync(store)).toEqual([]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('file:// names the fix when a path still holds the keys of a job that did not finish cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kindling-dist-'));
    const store = join(dir, 'store');
    try {
      outputs(await runJob('file-no-destroy', 2, { env: { TEST_FILE: store } }));
      const results = await runJob('file', 2, { env: { TEST_FILE: store }, timeout: 3000 });
      for (const { out } of results) {
        expect(out!.error).toMatch(
          /initProcessGroup: the file:\/\/ store .*store holds the keys of an earlier job that did not call destroyProcessGroup \(or still runs\); remove .*store or give a new path/,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shares keys through a TCPStore', async () => {
    const outs = outputs(await runJob('store', 3, { timeout: 1000 }));
    for (const o of outs) {
      expect(o.values).toEqual(['value of 0', 'value of 1', 'value of 2']);
      expect(o.missing).toMatch(/timed out after 1000 ms waiting for key 'never-set'/);
    }
    // The counter's values: each rank added rank + 1, in some order.
    const counts = outs.map((o) => o.count as number).sort((a, b) => a - b);
    expect(counts[2]).toBe(6);
  });
});

describe.skipIf(reason !== null)('failures', () => {
  it('names the rank that never joined after the timeout', async () => {
    const t0 = Date.now();
    const [r] = await runJob('wait-forever', 3, { ranks: [0], timeout: 1500 });
    expect(r.out!.error).toMatch(
      /initProcessGroup \(rank 0 of 3\): store: timed out after 1500 ms waiting for key 'join\/1' \(rank 1 has not joined\)/,
    );
    expect(Date.now() - t0).toBeLessThan(15000);
  });

  it('a rank whose master never comes says where it looked', async () => {
    const [r] = await runJob('wait-forever', 2, { ranks: [1], timeout: 1500 });
    expect(r.out!.error).toMatch(/could not connect to the store at 127\.0\.0\.1:\d+ \(MASTER_ADDR:MASTER_PORT\) within 1500 ms/);
  });

  it('a peer that dies makes the collective fail, and the group stay failed', async () => {
    const results = await runJob('peer-dies', 2, { timeout: 10000 });
    const r0 = results[0].out!;
    expect(results[1].child.code).toBe(3);
    expect(r0.error).toMatch(
      /^torch\.distributed\.allReduce: a peer rank exited or lost its connection \(.*(Connection closed by peer|Connection reset|Broken pipe)/,
    );
    expect(r0.elapsed as number).toBeLessThan(10000);
    expect(r0.after).toMatch(/an earlier collective failed, so the process group is unusable/);
  });

  it('a peer that never joins a collective makes it time out', async () => {
    const results = await runJob('peer-silent', 2, { timeout: 1500, killMs: 20000 });
    expect(results[0].out!.error).toMatch(
      /^torch\.distributed\.allReduce: a peer rank did not take part within the process group's timeout \(.*Timed out waiting 1500ms/,
    );
  });

  it('refuses bad arguments by name', async () => {
    const outs = outputs(await runJob('bad-input', 2, { timeout: 5000 }));
    for (const o of outs) {
      const e = o.errors as string[];
      expect(e[0]).toMatch(/allReduce: tensor has dtype int32; Gloo collectives support float32, float64 and int64/);
      expect(e[1]).toMatch(/allReduce: tensor must be contiguous/);
      expect(e[2]).toMatch(/allReduce: op must be a ReduceOp .* got "mean"/);
      expect(e[3]).toMatch(/allReduce: ReduceOp.AVG needs a floating dtype on gloo, got int64/);
      expect(e[4]).toMatch(/allReduce: unknown option 'async_op' \(did you mean 'asyncOp'\?\)/);
      expect(e[5]).toMatch(/broadcast: src 2 is not a rank of the group \[0, 1\]/);
      expect(e[6]).toMatch(/allGather: tensorList must hold one tensor per rank of the group \(2\), got 1/);
      expect(e[7]).toMatch(/initProcessGroup: the default process group is already initialized/);
    }
  });
});
