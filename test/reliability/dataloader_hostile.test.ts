// DataLoader under hostile datasets and careless callers (issue 12): async
// datasets, workers that call process.exit, loaders abandoned with break.
// Each case can kill or hang a process when the loader is wrong, so it runs
// in a child process (helpers/dataloader-hostile.ts) with a time limit: a
// regression fails the test instead of taking the runner down.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { crashed, lastJson, runTs, type ChildResult } from './helpers/child.js';
import { DataLoader } from '../../lib/data/index.js';
import { Numbers } from './helpers/hostile-datasets.js';

const CHILD = fileURLToPath(new URL('./helpers/dataloader-hostile.ts', import.meta.url));
const LINUX_PROC = existsSync('/proc/self/task') && existsSync('/proc/thread-self');

async function scenario<T>(name: string, timeoutMs: number, nodeArgs: string[] = []): Promise<T> {
  const r: ChildResult = await runTs(CHILD, [name], { timeoutMs, nodeArgs });
  const why = `child '${name}' ended with code ${r.code} signal ${r.signal} after ${r.ms} ms\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-3000)}`;
  expect(crashed(r), why).toBe(false);
  expect(r.code, why).toBe(0);
  const out = lastJson<T>(r);
  expect(out, why).not.toBeNull();
  return out!;
}

describe('DataLoader: async datasets (get returns Promises)', () => {
  it('a synchronous for...of refuses Promise items with a clear error and leaves no rejection unhandled', async () => {
    const out = await scenario<{ errors: string[] }>('promise-sync', 60_000);
    expect(out.errors).toHaveLength(4);
    for (const e of out.errors) {
      expect(e).toMatch(/^DataLoader: dataset\.get\(\d+\) returned a Promise .*for await/);
    }
    expect(out.errors[0]).toContain('get(0)');
  }, 90_000);

  it('for await with numWorkers 0 awaits the items; a rejected or throwing item fails the pass and nothing is left unhandled', async () => {
    const out = await scenario<{ batches: unknown[]; errors: string[]; broke: number }>('promise-async', 60_000);
    expect(out.batches).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(out.errors[0]).toContain('AsyncNumbers: item 4 rejected');
    expect(out.errors[1]).toContain('AsyncNumbers: get(4) throws');
    expect(out.errors[2]).toContain('AsyncNumbers: get(1) throws');
    expect(out.broke).toBe(1);
  }, 90_000);

  it('worker threads await Promise items; a rejection or a throw beside a pending Promise fails only that batch', async () => {
    const out = await scenario<{ batches: unknown[]; errors: string[] }>('promise-workers', 60_000);
    expect(out.batches).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(out.errors[0]).toMatch(/^DataLoader: worker 0 failed while making batch 1: .*AsyncNumbers: get\(4\) throws/s);
    expect(out.errors[1]).toMatch(/^DataLoader: worker 0 failed while making batch 1: .*AsyncNumbers: item 4 rejected/s);
    expect(out.errors[2]).toMatch(/^DataLoader: worker 0 failed while making batch 1: .*AsyncNumbers: get\(4\) throws/s);
  }, 90_000);
});

describe('DataLoader: a worker that calls process.exit', () => {
  for (const mode of ['sync', 'async'] as const) {
    it(`fails a ${mode} pass quickly with the worker and its exit code instead of hanging`, async () => {
      const out = await scenario<{ error: string; again: string; ms: number; seen: number }>(`exit-${mode}`, 60_000);
      expect(out.error).toMatch(/^DataLoader: worker 0 \(thread \d+\) exited unexpectedly \(exit code 3\)/);
      expect(out.again).toMatch(/^DataLoader: worker 0 \(thread \d+\) exited unexpectedly \(exit code 3\)/);
      expect(out.seen).toBeLessThanOrEqual(2);
      expect(out.ms).toBeLessThan(30_000);
    }, 90_000);
  }

  it.skipIf(!LINUX_PROC)(
    'notices the thread is gone even when the worker removed its exit listeners (sync pass)',
    async () => {
      const out = await scenario<{ error: string; ms: number }>('exit-quiet', 60_000);
      expect(out.error).toMatch(/^DataLoader: worker 0 \(thread \d+\) exited unexpectedly/);
      expect(out.ms).toBeLessThan(30_000);
    },
    90_000,
  );

  it('has a generous default timeout, named in its error, and timeout 0 still means no limit', () => {
    const ds = new Numbers(4);
    expect(new DataLoader(ds, { numWorkers: 1 }).timeout).toBe(600_000);
    expect(new DataLoader(ds, { numWorkers: 1, timeout: 0 }).timeout).toBe(0);
    expect(new DataLoader(ds, { numWorkers: 1, timeout: 250 }).timeout).toBe(250);
  });
});

describe('DataLoader: abandoned loaders release their worker threads', () => {
  it.skipIf(!existsSync('/proc/self/task'))(
    '40 loaders with 2 workers each, broken out of after one batch and never closed, leave the OS thread count where it was',
    async () => {
      const out = await scenario<{
        baseline: number;
        peak: number;
        afterSync: number;
        afterAsync: number;
        afterExhausted: number;
        batches: number;
      }>('abandon', 400_000);
      expect(out.batches).toBe(4);
      expect(out.afterSync, JSON.stringify(out)).toBeLessThanOrEqual(out.baseline + 4);
      expect(out.afterAsync, JSON.stringify(out)).toBeLessThanOrEqual(out.baseline + 4);
      expect(out.afterExhausted, JSON.stringify(out)).toBeLessThanOrEqual(out.baseline + 4);
      // Never more than a few loaders' workers alive at once.
      expect(out.peak, JSON.stringify(out)).toBeLessThan(out.baseline + 20);
    },
    450_000,
  );

  it.skipIf(!existsSync('/proc/self/task'))(
    'persistentWorkers keeps the workers across break and passes until close(); a collected loader or iterator ends its workers',
    async () => {
      const out = await scenario<{
        baseline: number;
        epochs: number[];
        kept: number;
        afterClose: number;
        beforeGc: number;
        afterGc: number;
        iteratorHeld: number;
        iteratorGone: number;
        stillWorks: number;
      }>('persistent', 200_000, ['--expose-gc']);
      expect(out.epochs).toEqual([8, 8]);
      expect(out.kept, JSON.stringify(out)).toBeGreaterThanOrEqual(out.baseline + 2);
      expect(out.afterClose, JSON.stringify(out)).toBeLessThanOrEqual(out.baseline + 1);
      expect(out.beforeGc, JSON.stringify(out)).toBeGreaterThanOrEqual(out.baseline + 10);
      expect(out.afterGc, JSON.stringify(out)).toBeLessThanOrEqual(out.baseline + 1);
      expect(out.iteratorHeld, JSON.stringify(out)).toBeGreaterThanOrEqual(out.baseline + 2);
      expect(out.iteratorGone, JSON.stringify(out)).toBeLessThanOrEqual(out.baseline + 1);
      expect(out.stillWorks).toBe(8);
    },
    250_000,
  );
});
