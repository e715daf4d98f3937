// examples/train_mnist --nproc N: the job starts itself N times through the
// launcher's logic and trains with DistributedSampler + DistributedDataParallel;
// rank 0 alone logs and saves, the plain model's state dict.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import { runTs } from '../reliability/helpers/child.js';
import { unavailableReason } from '../distributed/helpers/job.js';
import { parseOptions } from '../../examples/train_mnist.js';

const SCRIPT = fileURLToPath(new URL('../../examples/train_mnist.ts', import.meta.url));
const skip = unavailableReason();
if (skip) console.log(`train_distributed.test.ts: skipping the --nproc run: ${skip}`);

describe('examples/train_mnist --nproc', () => {
  it.skipIf(skip !== null)(
    'trains on 2 processes; only rank 0 logs and saves',
    async () => {
      const out = mkdtempSync(join(tmpdir(), 'kindling-nproc-'));
      try {
        const r = await runTs(SCRIPT, ['--nproc', '2', '--limit', '256', '--epochs', '1', '--out', out], { timeoutMs: 170_000 });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/2 processes \(DistributedDataParallel, batch 64 each\)/);
        // One report, from rank 0.
        expect(r.stdout.match(/^epoch 1: train loss/gm)?.length).toBe(1);
        expect(r.stdout.match(/^test: loss/gm)?.length).toBe(1);
        const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { options: { nproc: number }; history: unknown[] };
        expect(metrics.options.nproc).toBe(2);
        expect(metrics.history.length).toBe(1);
        // The plain model's keys, as a single-process run saves them.
        const state = torch.load(join(out, 'model.safetensors')) as Record<string, unknown>;
        expect(Object.keys(state).sort()).toEqual(['1.bias', '1.weight', '3.bias', '3.weight', '5.bias', '5.weight']);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    },
    180_000,
  );

  it('reads --nproc and refuses a non-CPU device with it', () => {
    expect(parseOptions(['--nproc', '3']).nproc).toBe(3);
    expect(() => parseOptions(['--nproc', '0'])).toThrow("--nproc must be a positive integer, got '0'");
    expect(() => parseOptions(['--nproc', '2', '--device', 'cuda'])).toThrow(/--nproc trains on the CPU/);
  });
});
