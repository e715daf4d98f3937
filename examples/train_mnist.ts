// The main job: train a model on the real MNIST files.
//   npm run train -- [--model cnn|logistic|mlp|lenet] [--epochs N] [--batch-size N]
//                    [--lr X] [--momentum X] [--seed N] [--out DIR] [--limit N]
//                    [--device cpu|cuda|cuda:N|auto]
// Prints a progress bar per epoch, train and validation loss and accuracy
// after each, the test accuracy at the end; saves the model as safetensors
// and the loss curves as a PNG.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { ProgressBar } from '../lib/utils/progress.js';
import { savePlot } from '../lib/utils/plot.js';

const { nn, optim } = torch;
const F = torch.nn.functional;
const { DataLoader, TensorDataset } = torch.utils.data;

type ModelName = 'cnn' | 'logistic' | 'mlp' | 'lenet';

interface Options {
  model: ModelName;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  seed: number;
  out: string;
  limit: number;
  device: string;
}

const DEFAULTS: Record<ModelName, { lr: number; epochs: number; optimizer: 'sgd' | 'adam'; momentum: number }> = {
  // The seed's CNN and its logistic regression, with the seed's settings.
  cnn: { lr: 0.1, epochs: 2, optimizer: 'sgd', momentum: 0.9 },
  logistic: { lr: 0.5, epochs: 2, optimizer: 'sgd', momentum: 0 },
  mlp: { lr: 1e-3, epochs: 3, optimizer: 'adam', momentum: 0 },
  lenet: { lr: 1e-3, epochs: 5, optimizer: 'adam', momentum: 0 },
};

const HELP = `Train a model on MNIST.
  --model NAME       cnn (the torch.nn tutorial's CNN, default), logistic, mlp (784-512-512-10), lenet
  --epochs N         default: 2 (cnn, logistic), 3 (mlp), 5 (lenet)
  --batch-size N     default: 64
  --lr X             default: 0.1 (cnn), 0.5 (logistic), 0.001 (mlp, lenet with Adam)
  --momentum X       SGD momentum, default 0.9 for cnn
  --seed N           default: 0
  --limit N          use only the first N training images (quick runs)
  --out DIR          where the model, the curve and the metrics go (default: runs/<model>)
  --device D         cpu (default), cuda, cuda:N, or auto (cuda when torch.cuda.isAvailable())`;

function parseArgs(argv: string[]): Options {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`train: --${name} needs a value`);
    return v;
  };
  const num = (name: string, dflt: number, int = false): number => {
    const v = get(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || (int && !Number.isInteger(n)) || n < 0)
      throw new Error(`train: --${name} must be a ${int ? 'non-negative integer' : 'number'}, got ${v}`);
    return n;
  };
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP);
    process.exit(0);
  }
  const model = (get('model') ?? 'cnn') as ModelName;
  if (!(model in DEFAULTS)) throw new Error(`train: unknown model '${model}' (choose cnn, logistic, mlp or lenet)`);
  const d = DEFAULTS[model];
  return {
    model,
    epochs: num('epochs', d.epochs, true),
    batchSize: Math.max(1, num('batch-size', 64, true)),
    lr: num('lr', d.lr),
    momentum: num('momentum', d.momentum),
    seed: num('seed', 0, true),
    out: get('out') ?? join('runs', model),
    limit: num('limit', 0, true),
    device: pickDevice(get('device') ?? 'cpu'),
  };
}

function pickDevice(d: string): string {
  if (d === 'auto') return torch.cuda.isAvailable() ? 'cuda' : 'cpu';
  if (d !== 'cpu' && !/^cuda(:\d+)?$/.test(d)) throw new Error(`train: --device must be cpu, cuda, cuda:N or auto, got ${d}`);
  if (d !== 'cpu' && !torch.cuda.isAvailable()) throw new Error(`train: --device ${d}: CUDA is not available (try --device auto)`);
  return d;
}

/** The models, as nn.Sequential stacks over flat [N, 784] images. */
function buildModel(name: ModelName): torch.nn.Module {
  const toImage = new nn.Lambda((x: Tensor) => x.view(-1, 1, 28, 28));
  switch (name) {
    case 'cnn': // seed 002's CNN
      return new nn.Sequential(
        toImage,
        new nn.Conv2d(1, 16, 3, { stride: 2, padding: 1 }),
        new nn.ReLU(),
        new nn.Conv2d(16, 16, 3, { stride: 2, padding: 1 }),
        new nn.ReLU(),
        new nn.Conv2d(16, 10, 3, { stride: 2, padding: 1 }),
        new nn.ReLU(),
        new nn.AvgPool2d(4),
        new nn.Lambda((x: Tensor) => x.view(x.size(0), -1)),
      );
    case 'logistic':
      return new nn.Sequential(new nn.Linear(784, 10));
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

interface Eval {
  loss: number;
  acc: number;
}

function evaluate(model: torch.nn.Module, loader: InstanceType<typeof DataLoader>): Eval {
  model.eval();
  let loss = 0,
    correct = 0,
    n = 0;
  torch.noGrad(() => {
    for (const [xb, yb] of loader as Iterable<[Tensor, Tensor]>) {
      const out = model.forward(xb) as Tensor;
      const b = xb.size(0);
      loss += F.crossEntropy(out, yb).item() * b;
      correct += out.argmax(1).eq(yb).sum().item();
      n += b;
    }
  });
  return { loss: loss / n, acc: correct / n };
}

export function main(argv = process.argv.slice(2)): void {
  const o = parseArgs(argv);
  torch.manualSeed(o.seed);
  const cfg = torch.config();
  console.log(
    `kindling: ${o.model} on MNIST, ${o.epochs} epochs, batch ${o.batchSize}, lr ${o.lr}` +
      `${DEFAULTS[o.model].optimizer === 'sgd' ? `, SGD momentum ${o.momentum}` : ', Adam'} (blas=${cfg.blas}, simd=${cfg.simd}, threads=${cfg.threads})` +
      (o.device === 'cpu' ? '' : ` on ${o.device} (${torch.cuda.getDeviceName(o.device)})`),
  );

  // As the torch.nn tutorial: the first 50,000 training images train, the
  // last 10,000 validate; the 10,000 test images give the final accuracy.
  const full = new torch.datasets.MNIST({ train: true });
  const test = new torch.datasets.MNIST({ train: false });
  const nTrain = o.limit > 0 ? Math.min(o.limit, 50000) : 50000;
  const trainDs = new TensorDataset(full.data.narrow(0, 0, nTrain), full.targets.narrow(0, 0, nTrain));
  const validDs = new TensorDataset(full.data.narrow(0, 50000, 10000), full.targets.narrow(0, 50000, 10000));
  // Batches are made on the CPU and moved to the device one at a time (the
  // loader's device option: PyTorch's xb.to(device) per batch).
  const device = o.device;
  const trainDl = new DataLoader(trainDs, { batchSize: o.batchSize, shuffle: true, device });
  const validDl = new DataLoader(validDs, { batchSize: o.batchSize * 2, device });
  const testDl = new DataLoader(new TensorDataset(test.data, test.targets), { batchSize: o.batchSize * 2, device });

  // Moved before the optimizer is built, so its state is made on the device.
  const model = buildModel(o.model).to(device);
  const opt =
    DEFAULTS[o.model].optimizer === 'sgd'
      ? new optim.SGD(model.parameters(), { lr: o.lr, momentum: o.momentum })
      : new optim.Adam(model.parameters(), { lr: o.lr });

  // Adam runs decay the learning rate each epoch (as PyTorch's MNIST
  // example does with StepLR), which settles the LeNet model above 99%.
  const sched = DEFAULTS[o.model].optimizer === 'adam' ? new optim.lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.7 }) : null;
  const curve = { step: [] as number[], train: [] as number[], validStep: [] as number[], valid: [] as number[] };
  const history: { epoch: number; trainLoss: number; trainAcc: number; validLoss: number; validAcc: number; seconds: number }[] = [];
  let step = 0;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    model.train();
    const bar = new ProgressBar(trainDl.length, { label: `epoch ${epoch}/${o.epochs}`, unit: 'samples' });
    const t0 = process.hrtime.bigint();
    let sum = 0,
      correct = 0,
      seen = 0,
      window = 0,
      windowN = 0;
    for (const [xb, yb] of trainDl as Iterable<[Tensor, Tensor]>) {
      const out = model.forward(xb) as Tensor;
      const loss = F.crossEntropy(out, yb);
      loss.backward();
      opt.step();
      opt.zeroGrad();
      const b = xb.size(0);
      const l = loss.item();
      sum += l * b;
      seen += b;
      correct += torch.noGrad(() => out.argmax(1).eq(yb).sum().item());
      window += l;
      windowN++;
      step++;
      if (windowN === 50) {
        curve.step.push(step);
        curve.train.push(window / windowN);
        window = windowN = 0;
      }
      bar.tick(1, b, { loss: sum / seen });
    }
    bar.close();
    sched?.step();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const v = evaluate(model, validDl);
    curve.validStep.push(step);
    curve.valid.push(v.loss);
    history.push({ epoch, trainLoss: sum / seen, trainAcc: correct / seen, validLoss: v.loss, validAcc: v.acc, seconds });
    console.log(
      `epoch ${epoch}: train loss ${(sum / seen).toFixed(4)} acc ${(correct / seen).toFixed(4)} | ` +
        `valid loss ${v.loss.toFixed(4)} acc ${v.acc.toFixed(4)} | ${seconds.toFixed(1)} s, ${(seen / seconds).toFixed(0)} samples/s`,
    );
  }
  const t = evaluate(model, testDl);
  console.log(`test: loss ${t.loss.toFixed(4)} acc ${t.acc.toFixed(4)}`);

  mkdirSync(o.out, { recursive: true });
  const modelPath = join(o.out, 'model.safetensors');
  torch.save(model.stateDict(), modelPath);
  const plotPath = join(o.out, 'loss.png');
  if (curve.step.length > 0) {
    savePlot(plotPath, [
      { x: curve.step, y: curve.train, style: 'line' },
      { x: curve.validStep, y: curve.valid, style: 'points' },
    ]);
  }
  writeFileSync(join(o.out, 'metrics.json'), JSON.stringify({ options: o, history, test: t }, null, 2));
  console.log(
    `saved ${modelPath}, ${curve.step.length > 0 ? `${plotPath} (train loss: line, validation loss: dots), ` : ''}${join(o.out, 'metrics.json')}`,
  );
}

main();
