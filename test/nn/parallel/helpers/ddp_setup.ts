// The DDP equivalence tests' models, initial weights and data, made from
// integer formulas so that scripts/make_ddp_fixtures.py builds exactly the
// same in PyTorch (neither library's random stream is involved).
import * as torch from '../../../../lib/index.js';
import type { Tensor } from '../../../../lib/index.js';

const { nn } = torch;

export type ModelName = 'cnn' | 'lenet';
export const STEPS = 20;
/** Samples per rank per step; the combined batch is PER_RANK × world. */
export const PER_RANK = 4;

/** The seed's CNN (examples/train_mnist.ts 'cnn') or the LeNet-style CNN ('lenet'), over flat [N, 784] images. */
export function buildModel(name: ModelName): torch.nn.Module {
  const toImage = new nn.Lambda((x: Tensor) => x.view(-1, 1, 28, 28));
  if (name === 'cnn') {
    return new nn.Sequential(
      toImage,
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
  return new nn.Sequential(
    toImage,
    new nn.Conv2d(1, 6, 5, { padding: 2 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(6, 16, 5),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(16 * 5 * 5, 120),
    new nn.ReLU(),
    new nn.Linear(120, 84),
    new nn.ReLU(),
    new nn.Linear(84, 10),
  );
}

/** The optimizer each model trains with: SGD with momentum for the CNN, Adam for LeNet. */
export function buildOptimizer(name: ModelName, model: torch.nn.Module): torch.optim.Optimizer {
  return name === 'cnn'
    ? new torch.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 })
    : new torch.optim.Adam(model.parameters(), { lr: 1e-3 });
}

/**
 * Sets parameter t's element k to (u - 0.5) · 2 / sqrt(fanIn), u = ((k · 2654435761 + t · 40503 + 12345)
 * mod 2^32) / 2^32: exact in doubles, then rounded to float32, the same in Python.
 */
export function initWeights(model: torch.nn.Module, salt = 0): void {
  model.parameters().forEach((p, t) => {
    const n = p.numel();
    const fanIn = p.ndim > 1 ? n / (p.shape[0] as number) : n;
    const bound = 1 / Math.sqrt(fanIn);
    const v = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const u = ((k * 2654435761 + (t + salt) * 40503 + 12345) % 4294967296) / 4294967296;
      v[k] = (u - 0.5) * 2 * bound;
    }
    torch.noGrad(() => p.copy_(torch.tensor(v).view(p.shape)));
  });
}

/** Step s's combined batch of `total` images ([total, 784] in [0, 1]) and labels. */
export function batch(step: number, total: number): [Tensor, Tensor] {
  const x = new Float32Array(total * 784);
  const base = step * total * 784;
  for (let i = 0; i < x.length; i++) x[i] = ((((base + i) * 1103515245 + 12345) % 2147483648) % 256) / 255;
  const y = Array.from({ length: total }, (_, i) => (step * 31 + i * 7 + ((i * i) % 3)) % 10);
  return [torch.tensor(x).view(total, 784), torch.tensor(y, { dtype: 'int64' })];
}

/** The largest absolute difference between two models' parameters. */
export function maxDiff(a: torch.nn.Module, b: torch.nn.Module): number {
  const pb = b.parameters();
  return Math.max(...a.parameters().map((p, i) => p.sub(pb[i]).abs().max().item()));
}
