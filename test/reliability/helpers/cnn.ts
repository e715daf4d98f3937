// The seed CNN (examples/train_mnist.ts, model 'cnn': seed 002's network)
// and a training step on random data, shared by the memory soak, the
// valgrind run and the thread tests. Random data is enough: what is under
// test is what a step allocates and frees, not what it learns.
import * as torch from '../../../lib/index.js';
import type { Tensor } from '../../../lib/index.js';

const { nn, optim } = torch;
const F = torch.nn.functional;

export function seedCNN(): torch.nn.Module {
  return new nn.Sequential(
    new nn.Lambda((x: Tensor) => x.view(-1, 1, 28, 28)),
    new nn.Conv2d(1, 16, 3, { stride: 2, padding: 1 }),
    new nn.ReLU(),
    new nn.Conv2d(16, 16, 3, { stride: 2, padding: 1 }),
    new nn.ReLU(),
    new nn.Conv2d(16, 10, 3, { stride: 2, padding: 1 }),
    new nn.ReLU(),
    new nn.AvgPool2d(4),
    new nn.Lambda((x: Tensor) => x.view(x.size(0) as number, -1)),
  );
}

export interface Trainer {
  model: torch.nn.Module;
  /** One SGD step on a fresh random batch; returns the loss. */
  step(): number;
}

/** A model, an optimizer and a step on random [batch, 784] inputs. */
export function cnnTrainer(batch = 64, opts: { lr?: number; momentum?: number } = {}): Trainer {
  const model = seedCNN();
  const opt = new optim.SGD(model.parameters(), { lr: opts.lr ?? 0.05, momentum: opts.momentum ?? 0.9 });
  return {
    model,
    step() {
      const x = torch.rand([batch, 784]);
      const y = torch.randint(0, 10, [batch]);
      opt.zeroGrad();
      const loss = F.crossEntropy(model.forward(x) as Tensor, y);
      loss.backward();
      opt.step();
      return loss.item();
    },
  };
}

/**
 * The same step on inputs that do not come from the global generator, so
 * several threads can train side by side and still get bitwise equal
 * results: the batch is a fixed function of the step number, and the
 * weights are set from a formula instead of the random init.
 */
export function deterministicTrainer(batch = 16): Trainer & { paramsDigest(): number[] } {
  const model = seedCNN();
  torch.noGrad(() => {
    let k = 0;
    for (const p of model.parameters()) {
      const n = p.numel();
      const vals = new Float32Array(n);
      for (let i = 0; i < n; i++) vals[i] = Math.sin(0.37 * (k + i) + 0.1) * 0.3;
      k += n;
      p.copy_(torch.fromTypedArray(vals, p.shape));
    }
  });
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  let t = 0;
  return {
    model,
    step() {
      const xs = new Float32Array(batch * 784);
      for (let i = 0; i < xs.length; i++) xs[i] = ((i * 2654435761 + t * 97) >>> 0) / 2 ** 32;
      const ys = new BigInt64Array(batch);
      for (let i = 0; i < batch; i++) ys[i] = BigInt((i * 7 + t) % 10);
      t++;
      opt.zeroGrad();
      const loss = F.crossEntropy(model.forward(torch.fromTypedArray(xs, [batch, 784])) as Tensor, torch.fromTypedArray(ys));
      loss.backward();
      opt.step();
      return loss.item();
    },
    paramsDigest() {
      return model.parameters().map((p) => p.sum().item());
    },
  };
}
