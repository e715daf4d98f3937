// Work that threads.test.ts runs on the main thread and on worker threads
// at the same time. Inputs are formulas, not draws from the generator, so
// every thread must get bitwise the same results.
import * as torch from '../../../lib/index.js';
import { deterministicTrainer } from './cnn.js';

const F = torch.nn.functional;

function formula(shape: number[], salt: number): torch.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.sin(i * 0.013 + salt) * 0.5 + ((i * 7919) % 13) / 26;
  return torch.fromTypedArray(v, shape);
}

export interface WorkResult {
  matmul: Float32Array;
  conv: Float32Array;
  convGrad: Float32Array;
  softmax: Float32Array;
  sums: number[];
  losses: number[];
  params: number[];
}

export function doWork(rounds = 3): WorkResult {
  let out: WorkResult | null = null;
  for (let r = 0; r < rounds; r++) {
    const a = formula([192, 160], 1),
      b = formula([160, 128], 2);
    const mm = a.matmul(b);
    const x = formula([4, 3, 20, 20], 3).requiresGrad_(),
      w = formula([8, 3, 3, 3], 4).requiresGrad_();
    const y = F.conv2d(x, w, null, { padding: 1, stride: 1 });
    y.square().sum().backward();
    const big = formula([64, 4096], 5);
    const sm = big.softmax(1);
    const sums = [big.sum().item(), big.amax().item(), big.var().item(), sm.sum().item()];
    const trainer = deterministicTrainer(16);
    const losses: number[] = [];
    for (let s = 0; s < 12; s++) losses.push(trainer.step());
    out = {
      matmul: mm.toTypedArray() as Float32Array,
      conv: y.detach().toTypedArray() as Float32Array,
      convGrad: x.grad!.toTypedArray() as Float32Array,
      softmax: sm.toTypedArray() as Float32Array,
      sums,
      losses,
      params: trainer.paramsDigest(),
    };
  }
  return out!;
}

/** Draws from this thread's default generator; returns the values and whether each lay in [0, 1). */
export function drawUniform(calls: number, n: number): Float32Array {
  const out = new Float32Array(calls * n);
  for (let c = 0; c < calls; c++) out.set(torch.rand([n]).toTypedArray() as Float32Array, c * n);
  return out;
}
