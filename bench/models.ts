// The models whose training step `npm run bench` times, in Kindling;
// bench/bench_models.py holds the same models in PyTorch under the same
// names. The initial weights differ between the two (each library draws its
// own), which does not change the work a step does.
import * as torch from '../lib/index.js';
import type { Tensor } from '../lib/index.js';

const { nn, optim } = torch;
const F = torch.nn.functional;

export const MODELS = ['logistic', 'cnn', 'mlp', 'lenet'] as const;
export type ModelName = (typeof MODELS)[number];
export const BATCH = 64;

/** The models take flat MNIST batches [N, 784], as the seed's do. */
export function buildModel(name: ModelName): torch.nn.Module {
  const toImage = new nn.Lambda((x: Tensor) => x.view(-1, 1, 28, 28));
  switch (name) {
    case 'logistic':
      return new nn.Sequential(new nn.Linear(784, 10));
    case 'cnn': // the seed's CNN (the torch.nn tutorial's)
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
    case 'mlp':
      return new nn.Sequential(new nn.Linear(784, 512), new nn.ReLU(), new nn.Linear(512, 512), new nn.ReLU(), new nn.Linear(512, 10));
    case 'lenet':
      return new nn.Sequential(
        toImage,
        new nn.Conv2d(1, 32, 3, { padding: 1 }),
        new nn.ReLU(),
        new nn.MaxPool2d(2),
        new nn.Conv2d(32, 64, 3, { padding: 1 }),
        new nn.ReLU(),
        new nn.MaxPool2d(2),
        new nn.Flatten(),
        new nn.Linear(64 * 7 * 7, 128),
        new nn.ReLU(),
        new nn.Linear(128, 10),
      );
  }
}

function buildOptimizer(name: ModelName, model: torch.nn.Module): torch.optim.Optimizer {
  switch (name) {
    case 'logistic':
      return new optim.SGD(model.parameters(), { lr: 0.5 });
    case 'cnn':
      return new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    case 'mlp':
    case 'lenet':
      return new optim.Adam(model.parameters(), { lr: 1e-3 });
  }
}

/** A random MNIST-shaped batch: images [BATCH, 784] in [0, 1), labels in 0..9. */
export function randomBatch(): [Tensor, Tensor] {
  return [torch.rand(BATCH, 784), torch.randint(0, 10, [BATCH])];
}

/** One training step: forward, cross-entropy, backward, step, zeroGrad. */
export function makeTrainStep(name: ModelName): (x: Tensor, y: Tensor) => void {
  const model = buildModel(name);
  const opt = buildOptimizer(name, model);
  return (x, y) => {
    const loss = F.crossEntropy(model.forward(x) as Tensor, y);
    loss.backward();
    opt.step();
    opt.zeroGrad();
  };
}
