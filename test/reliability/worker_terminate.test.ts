// worker.terminate() while the worker is inside a Kindling call (a
// DataLoader that is broken out of ends its workers this way). The call's
// next Node-API step fails once termination has begun; node-addon-api then
// threw a C++ exception out of its callback wrapper and the whole process
// aborted ("terminate called after throwing an instance of 'Napi::Error'").
// It runs in a child process so such an abort fails this test, not the runner.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { crashed, lastJson, runTs } from './helpers/child.js';

const CHILD = fileURLToPath(new URL('./helpers/terminate-workers.ts', import.meta.url));

describe('terminating worker threads in the middle of Kindling calls', () => {
  it('10 workers, each terminated while an op scans its index and then throws, end without aborting the process', async () => {
    const r = await runTs(CHILD, ['10'], { timeoutMs: 240_000 });
    const why = `child ended with code ${r.code} signal ${r.signal} after ${r.ms} ms\nstderr: ${r.stderr.slice(-2000)}`;
    expect(crashed(r), why).toBe(false);
    expect(r.code, why).toBe(0);
    expect(lastJson<{ terminated: number }>(r), why).toEqual({ terminated: 10 });
  }, 300_000);
});
