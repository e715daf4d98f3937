// Property tests over the public ops (helpers/campaign.ts): random shapes
// (empty and zero-size dims included), every dtype, non-contiguous views,
// NaN and infinities, dims and indices out of range, junk arguments, CUDA
// devices and huge allocations. Each call must match the JS reference or
// throw an Error that names the op; the campaign runs in a child process so
// that a crash is caught and reported with its input.
//
// KD_PROP_SEED and KD_PROP_RUNS change the seed and the size of the run
// (runs per property = a small multiple of KD_PROP_RUNS).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crashed, lastJson, runTs } from './helpers/child.js';

const CAMPAIGN = fileURLToPath(new URL('./helpers/campaign.ts', import.meta.url));
const SEED = Number(process.env.KD_PROP_SEED ?? 20240611);
// Sanitized builds run kernels several times slower.
const RUNS = Number(process.env.KD_PROP_RUNS ?? (process.env.KD_SANITIZED ? 150 : 600));

interface Summary {
  seed: number;
  ms: number;
  cases: number;
  calls: number;
  ok: number;
  errorsByKind: Record<string, number>;
  unsure: number;
  failures: { property: string; message: string; counterexample: string; seed: number; path?: string }[];
}

describe('property campaign over the public ops', () => {
  it(`every call matches the reference or throws a named Error, and nothing crashes (seed ${SEED})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kindling-props-'));
    const lastCase = join(dir, 'last-case.txt');
    try {
      const r = await runTs(CAMPAIGN, ['--seed', String(SEED), '--runs', String(RUNS), '--last-case', lastCase], { timeoutMs: 170_000 });
      const summary = lastJson<Summary>(r);
      const crash = crashed(r) || summary === null;
      let lastInput = '';
      try {
        lastInput = readFileSync(lastCase, 'utf8');
      } catch {
        /* the child died before its first case */
      }
      console.log(
        `property campaign: seed ${SEED}, ${summary?.cases ?? '?'} cases, ${summary?.calls ?? '?'} library calls ` +
          `(${summary?.ok ?? '?'} returned, errors by kind ${JSON.stringify(summary?.errorsByKind ?? {})}, ` +
          `${summary?.unsure ?? '?'} where PyTorch's answer is open), crashes: ${crash ? 1 : 0}, ${summary?.ms ?? r.ms} ms`,
      );
      expect(crash, `the campaign process crashed (code ${r.code}, signal ${r.signal}) on ${lastInput}\n${r.stderr.slice(-3000)}`).toBe(
        false,
      );
      const report = summary!.failures
        .map(
          (f) =>
            `[${f.property}] ${f.message}\n    input: ${f.counterexample}\n    replay: --seed ${f.seed}${f.path ? ` (fast-check path ${f.path})` : ''}`,
        )
        .join('\n');
      expect(summary!.failures, `property failures:\n${report}`).toEqual([]);
      expect(summary!.cases).toBeGreaterThan(RUNS * 10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
