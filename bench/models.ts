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

/** The optimizer each model trains with (bench_models.py's build_optimizer). */
export function buildOptimizer(name: ModelName, model: torch.nn.Module): torch.optim.Optimizer {
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

/**
 * Floating-point operations of one training step of `name` on a batch of
 * BATCH, counted from the model: each Conv2d and Linear does out.numel() *
 * (inputs per output) multiply-adds forward, as many for its weight
 * gradient, and as many again for its input gradient unless its input is
 * the data (which needs none); 2 FLOPs per multiply-add. Bias, activation,
 * pooling and loss work is left out (under 1% for these models). For
 * LeNet: 4,241,152 multiply-adds per image forward, 1.600 GFLOP a step.
 */
export function trainStepFlops(name: ModelName): number {
  const model = buildModel(name);
  let macs = 0;
  let first = true;
  const count = (m: torch.nn.Module, perOutput: number) => {
    m.registerForwardHook((_m, _inputs, out) => {
      const fwd = (out as Tensor).numel() * perOutput;
      macs += (first ? 2 : 3) * fwd;
      first = false;
    });
  };
  for (const m of model.modules()) {
    if (m instanceof nn.Conv2d) count(m, (m.inChannels / m.groups) * m.kernelSize[0] * m.kernelSize[1]);
    else if (m instanceof nn.Linear) count(m, m.inFeatures);
  }
  torch.noGrad(() => model.call(torch.zeros(BATCH, 784)));
  return 2 * macs;
}
