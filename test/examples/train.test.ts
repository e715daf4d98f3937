import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../lib/index.js';

// The README's main job, run for one epoch of the seed's CNN on the real
// MNIST files through the same script (compiled by `npm install`'s tsc).
describe('examples/train_mnist (the main job)', () => {
  it('trains the seed CNN for an epoch, saves a loadable checkpoint and a loss curve', () => {
    const out = mkdtempSync(join(tmpdir(), 'kindling-train-'));
    const script = new URL('../../dist/examples/train_mnist.js', import.meta.url).pathname;
    const log = execFileSync(process.execPath, [script, '--model', 'cnn', '--epochs', '1', '--out', out], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 600_000,
    });
    const m = log.match(/epoch 1: train loss ([\d.]+) acc ([\d.]+) \| valid loss ([\d.]+) acc ([\d.]+)/);
    expect(m, log).not.toBeNull();
    const [, , , validLoss, validAcc] = m!.map(Number);
    // Seed 002 prints 0.30-0.36 after the first epoch of this model.
    expect(validLoss).toBeLessThan(0.6);
    expect(validAcc).toBeGreaterThan(0.8);
    const sd = torch.load(join(out, 'model.safetensors'));
    expect(Object.keys(sd).sort()).toEqual(['1.bias', '1.weight', '3.bias', '3.weight', '5.bias', '5.weight']);
    expect(sd['1.weight'].shape).toEqual([16, 1, 3, 3]);
    const png = readFileSync(join(out, 'loss.png'));
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect(statSync(join(out, 'metrics.json')).size).toBeGreaterThan(0);
  });
});
