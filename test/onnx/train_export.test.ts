// The MNIST job's --export (examples/train_mnist.ts): a short LeNet run
// writes model.onnx beside model.safetensors, and the README's serving code
// (onnxruntime-node alone) gives the logits of the saved weights' forward in
// Kindling, at two batch sizes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import * as torch from '../../lib/index.js';
import { buildModel } from '../../examples/train_mnist.js';

const HOOKS = new URL('../reliability/helpers/register-ts.mjs', import.meta.url).pathname;
const SCRIPT = new URL('../../examples/train_mnist.ts', import.meta.url).pathname;

describe('examples/train_mnist --export', () => {
  it('writes an ONNX model that ONNX Runtime serves with the trained weights', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kindling-export-'));
    try {
      const file = join(out, 'model.onnx');
      const log = execFileSync(
        process.execPath,
        ['--import', HOOKS, SCRIPT, '--model', 'lenet', '--epochs', '1', '--limit', '128', '--out', out, '--export', file],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 },
      );
      expect(log).toContain(file);
      const net = buildModel('lenet');
      net.loadStateDict(torch.load(join(out, 'model.safetensors')));
      net.eval();
      // The README's serving code.
      const session = await ort.InferenceSession.create(file);
      for (const n of [2, 5]) {
        torch.manualSeed(n);
        const x = torch.rand([n, 784]);
        const images = x.toTypedArray() as Float32Array;
        const { logits } = await session.run({ input: new ort.Tensor('float32', images, [n, 784]) });
        expect(logits.dims).toEqual([n, 10]);
        const want = torch.noGrad(() => net.forward(x)).toTypedArray() as Float32Array;
        const got = logits.data as Float32Array;
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(want[i]));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});
