// The main job: train a model on the real MNIST files.
//   npm run train -- [--model cnn|logistic|mlp|lenet] [--epochs N] [--batch-size N]
//                    [--lr X] [--momentum X] [--seed N] [--out DIR] [--limit N]
//                    [--device cpu|cuda|cuda:N|auto] [--nproc N] [--export FILE] [--help]
// With --nproc N it starts itself N times through kindling-run's launcher
// (lib/launcher): each process trains a DistributedDataParallel replica on
// its DistributedSampler share of every epoch, and rank 0 alone logs and saves.
// Prints a progress bar per epoch, train and validation loss and accuracy
// after each, the test accuracy at the end; saves the model as safetensors,
// the loss curves as a PNG, TensorBoard events and the numbers as metrics.json;
// with --export FILE also the trained model as ONNX (torch.onnx.export).
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { didYouMean } from '../lib/util/args.js';
import { helpText, int, num, parseFlags, UsageError } from './cli.js';
import { freePort, launch } from '../lib/launcher/run.js';

const { nn, optim } = torch;
const F = torch.nn.functional;
const { DataLoader, TensorDataset } = torch.utils.data;
const { ProgressBar, plot } = torch.utils;

export type ModelName = 'cnn' | 'logistic' | 'mlp' | 'lenet';
const MODELS: readonly ModelName[] = ['cnn', 'logistic', 'mlp', 'lenet'];

export interface Options {
  model: ModelName;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  seed: number;
  out: string;
  limit: number;
  device: string;
  /** Processes to train on (DistributedDataParallel); 1 trains in this process alone. */
  nproc: number;
  /** --export FILE: also write the trained model as ONNX there (batch axis dynamic); null: none. */
  export: string | null;
  /** --help: print the options and train nothing. */
  help: boolean;
}

const DEFAULTS: Record<ModelName, { lr: number; epochs: number; optimizer: 'sgd' | 'adam'; momentum: number }> = {
  // The seed's CNN and its logistic regression, with the seed's settings.
  cnn: { lr: 0.1, epochs: 2, optimizer: 'sgd', momentum: 0.9 },
  logistic: { lr: 0.5, epochs: 2, optimizer: 'sgd', momentum: 0 },
  mlp: { lr: 1e-3, epochs: 3, optimizer: 'adam', momentum: 0 },
  lenet: { lr: 1e-3, epochs: 5, optimizer: 'adam', momentum: 0 },
};

// The command line, one entry an option: what node:util's parseArgs reads
// and what --help prints come from here.
const FLAGS = {
  model: { type: 'string', arg: 'NAME', help: "cnn (the torch.nn tutorial's CNN, default), logistic, mlp (784-512-512-10), lenet" },
  epochs: { type: 'string', arg: 'N', help: 'default: 2 (cnn, logistic), 3 (mlp), 5 (lenet)' },
  'batch-size': { type: 'string', arg: 'N', help: 'default: 64' },
  lr: { type: 'string', arg: 'X', help: 'default: 0.1 (cnn), 0.5 (logistic), 0.001 (mlp, lenet with Adam)' },
  momentum: { type: 'string', arg: 'X', help: 'SGD momentum (cnn, logistic), default 0.9 for cnn and 0 for logistic' },
  seed: { type: 'string', arg: 'N', help: 'default: 0' },
  limit: { type: 'string', arg: 'N', help: 'use only the first N training images (quick runs; default 0: all 50,000)' },
  out: { type: 'string', arg: 'DIR', help: 'where the model, the curve and the metrics go (default: runs/<model>)' },
  device: { type: 'string', arg: 'D', help: 'cpu (default), cuda, cuda:N, or auto (cuda when torch.cuda.isAvailable())' },
  nproc: {
    type: 'string',
    arg: 'N',
    help: 'train on N processes (DistributedDataParallel over gloo, CPU; --batch-size is per process); default 1',
  },
  export: { type: 'string', arg: 'FILE', help: 'also write the trained model as ONNX to FILE (input [batch, 784] -> logits)' },
  help: { type: 'boolean', arg: '', help: 'print this and exit', short: 'h' },
} as const;

/** What --help prints. */
export const HELP = helpText('Train a model on MNIST.', FLAGS, 19);

export { UsageError };

/** Reads the command line (node:util's parseArgs, strict: an unknown option is an error). */
export function parseOptions(argv: string[]): Options {
  const values = parseFlags(argv, FLAGS);
  const str = (name: keyof typeof FLAGS) => values[name] as string | undefined;
  if (values.help === true) return { ...parseOptions([]), help: true };
  const model = (str('model') ?? 'cnn') as ModelName;
  if (!MODELS.includes(model)) {
    const hint = didYouMean(model, MODELS);
    throw new UsageError(`unknown model '${model}'${hint ? ` (did you mean ${hint}?)` : ''}; choose ${MODELS.join(', ')}`);
  }
  const d = DEFAULTS[model];
  const given = (name: keyof typeof FLAGS) => str(name) !== undefined;
  if (given('momentum') && d.optimizer !== 'sgd')
    throw new UsageError(`--momentum is SGD's, and ${model} trains with Adam (momentum applies to cnn and logistic)`);
  const nproc = given('nproc') ? int('nproc', str('nproc')!, 1) : 1;
  if (nproc > 1 && given('device') && str('device') !== 'cpu')
    throw new UsageError(`--nproc trains on the CPU (torch.distributed's gloo), so --device must be cpu, got '${str('device')}'`);
  const out = str('out') ?? join('runs', model);
  if (out === '') throw new UsageError(`--out must name a directory, got ''`);
  if (str('export') === '') throw new UsageError(`--export must name a file, got ''`);
  return {
    model,
    epochs: given('epochs') ? int('epochs', str('epochs')!, 1) : d.epochs,
    batchSize: given('batch-size') ? int('batch-size', str('batch-size')!, 1) : 64,
    lr: given('lr') ? num('lr', str('lr')!, true) : d.lr,
    momentum: given('momentum') ? num('momentum', str('momentum')!, false) : d.momentum,
    seed: given('seed') ? int('seed', str('seed')!, 0) : 0,
    out,
    limit: given('limit') ? int('limit', str('limit')!, 0) : 0,
    device: pickDevice(str('device') ?? 'cpu'),
    nproc,
    export: str('export') ?? null,
    help: false,
  };
}

function pickDevice(d: string): string {
  if (d === 'auto') return torch.cuda.isAvailable() ? 'cuda' : 'cpu';
  if (d !== 'cpu' && !/^cuda(:\d+)?$/.test(d)) throw new UsageError(`--device must be cpu, cuda, cuda:N or auto, got '${d}'`);
  if (d !== 'cpu' && !torch.cuda.isAvailable()) throw new UsageError(`--device ${d}: CUDA is not available (try --device auto)`);
  return d;
}

/** The models, as nn.Sequential stacks over flat [N, 784] images. */
export function buildModel(name: ModelName): torch.nn.Module {
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

/** One epoch's results, as each log of the run sees them. */
interface EpochRecord {
  epoch: number;
  /** Optimizer steps taken so far, over all epochs. */
  step: number;
  trainLoss: number;
  trainAcc: number;
  validLoss: number;
  validAcc: number;
  seconds: number;
  samplesPerSecond: number;
}

/**
 * A place the run reports to: the training loss every LOG_EVERY steps, each
 * epoch's results, and the end of the run (which returns the file it wrote,
 * if any). A new output (TensorBoard's event files) is one more of these.
 */
interface RunLog {
  step?(step: number, loss: number): void;
  epoch?(r: EpochRecord): void;
  close?(): string | undefined;
}

const LOG_EVERY = 50;

/** The epoch lines on stdout. */
function printEpochs(): RunLog {
  return {
    epoch: (r) =>
      console.log(
        `epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)} acc ${r.trainAcc.toFixed(4)} | ` +
          `valid loss ${r.validLoss.toFixed(4)} acc ${r.validAcc.toFixed(4)} | ${r.seconds.toFixed(1)} s, ${r.samplesPerSecond.toFixed(0)} samples/s`,
      ),
  };
}

/** loss.png: the training loss (a point every LOG_EVERY steps) and the validation loss after each epoch. */
function lossCurveLog(path: string): RunLog {
  const train = { x: [] as number[], y: [] as number[] },
    valid = { x: [] as number[], y: [] as number[] };
  return {
    step: (step, loss) => (train.x.push(step), train.y.push(loss)),
    epoch: (r) => (valid.x.push(r.step), valid.y.push(r.validLoss)),
    close: () => {
      plot.lossCurve(path, { train, valid }, { title: 'MNIST loss' });
      return path;
    },
  };
}

/**
 * TensorBoard events in DIR/tensorboard (`tensorboard --logdir DIR/tensorboard`): the training loss
 * per LOG_EVERY steps, and each epoch's losses and accuracies against the optimizer step.
 */
function tensorboardLog(dir: string): RunLog {
  const writer = new torch.utils.tensorboard.SummaryWriter(dir);
  return {
    step: (step, loss) => writer.addScalar('loss/train_running', loss, step),
    epoch: (r) => {
      writer.addScalars('loss', { train: r.trainLoss, valid: r.validLoss }, r.step);
      writer.addScalars('accuracy', { train: r.trainAcc, valid: r.validAcc }, r.step);
      writer.addScalar('throughput/samples_per_second', r.samplesPerSecond, r.step);
    },
    close: () => {
      writer.close();
      return dir;
    },
  };
}

function run(o: Options): void {
  // A rank of a job that kindling-run (or --nproc) started: WORLD_SIZE > 1.
  const distributed = Number(process.env.WORLD_SIZE ?? '1') > 1;
  if (distributed) torch.distributed.initProcessGroup();
  const rank = distributed ? torch.distributed.getRank() : 0;
  const world = distributed ? torch.distributed.getWorldSize() : 1;
  // Only rank 0 reports: the others train silently.
  const lead = rank === 0;
  const say = (line: string) => lead && console.log(line);
  torch.manualSeed(o.seed);
  const cfg = torch.config();
  say(
    `kindling: ${o.model} on MNIST, ${o.epochs} epochs, batch ${o.batchSize}, lr ${o.lr}` +
      `${DEFAULTS[o.model].optimizer === 'sgd' ? `, SGD momentum ${o.momentum}` : ', Adam'} (blas=${cfg.blas}, simd=${cfg.simd}, threads=${cfg.threads})` +
      (o.device === 'cpu' ? '' : ` on ${o.device} (${torch.cuda.getDeviceName(o.device)})`) +
      (distributed ? `, ${world} processes (DistributedDataParallel, batch ${o.batchSize} each)` : ''),
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
  // Distributed, each rank reads its share of one order per epoch (the same
  // on every rank: seeded with --seed and the epoch).
  const sampler = distributed ? new torch.utils.data.DistributedSampler(trainDs, { seed: o.seed }) : null;
  const trainDl = sampler
    ? new DataLoader(trainDs, { batchSize: o.batchSize, sampler, device })
    : new DataLoader(trainDs, { batchSize: o.batchSize, shuffle: true, device });
  const validDl = new DataLoader(validDs, { batchSize: o.batchSize * 2, device });
  const testDl = new DataLoader(new TensorDataset(test.data, test.targets), { batchSize: o.batchSize * 2, device });

  // Moved before the optimizer is built, so its state is made on the device.
  const net = buildModel(o.model).to(device);
  // Distributed: a replica that averages gradients over the ranks in backward.
  const model = distributed ? new nn.parallel.DistributedDataParallel(net) : net;
  const opt =
    DEFAULTS[o.model].optimizer === 'sgd'
      ? new optim.SGD(model.parameters(), { lr: o.lr, momentum: o.momentum })
      : new optim.Adam(model.parameters(), { lr: o.lr });

  // Adam runs decay the learning rate each epoch (as PyTorch's MNIST
  // example does with StepLR), which settles the LeNet model above 99%.
  const sched = DEFAULTS[o.model].optimizer === 'adam' ? new optim.lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.7 }) : null;

  // The output directory is made first: logs may write while training runs.
  if (lead) mkdirSync(o.out, { recursive: true });
  const logs: RunLog[] = lead ? [printEpochs(), lossCurveLog(join(o.out, 'loss.png')), tensorboardLog(join(o.out, 'tensorboard'))] : [];
  const history: EpochRecord[] = [];
  let step = 0,
    window = 0,
    windowN = 0;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    model.train();
    sampler?.setEpoch(epoch);
    const bar = lead ? new ProgressBar(trainDl.length, { label: `epoch ${epoch}/${o.epochs}`, unit: 'samples' }) : null;
    const t0 = process.hrtime.bigint();
    let sum = 0,
      correct = 0,
      seen = 0;
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
      if (windowN === LOG_EVERY) {
        for (const log of logs) log.step?.(step, window / windowN);
        window = windowN = 0;
      }
      bar?.tick(1, { units: b, metrics: { loss: sum / seen } });
    }
    bar?.close();
    sched?.step();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    // Rank 0 validates (the replicas are equal); the others wait for it in the next allReduce.
    if (!lead) continue;
    const v = evaluate(net, validDl);
    const record: EpochRecord = {
      epoch,
      step,
      trainLoss: sum / seen,
      trainAcc: correct / seen,
      validLoss: v.loss,
      validAcc: v.acc,
      seconds,
      // Every rank trains as many samples as rank 0 did.
      samplesPerSecond: (seen * world) / seconds,
    };
    history.push(record);
    for (const log of logs) log.epoch?.(record);
  }
  if (!lead) {
    if (distributed) torch.distributed.destroyProcessGroup();
    return;
  }
  const t = evaluate(net, testDl);
  console.log(`test: loss ${t.loss.toFixed(4)} acc ${t.acc.toFixed(4)}`);

  const modelPath = join(o.out, 'model.safetensors');
  // The plain model's keys (DistributedDataParallel's would be prefixed 'module.').
  torch.save(net.stateDict(), modelPath);
  const written = logs.map((log) => log.close?.()).filter((p) => p !== undefined);
  const metricsPath = join(o.out, 'metrics.json');
  const { help: _help, ...options } = o;
  writeFileSync(metricsPath, JSON.stringify({ options, history, test: t }, null, 2));
  if (o.export !== null) {
    // ONNX for serving (README: onnxruntime-node): images [batch, 784] in, logits out, any batch size.
    net.to('cpu');
    torch.onnx.export(net, [torch.zeros([3, 784])], o.export, {
      inputNames: ['input'],
      outputNames: ['logits'],
      dynamicAxes: { input: { 0: 'batch' }, logits: { 0: 'batch' } },
    });
    written.push(o.export);
  }
  console.log(`saved ${[modelPath, ...written, metricsPath].join(', ')}`);
  if (distributed) torch.distributed.destroyProcessGroup();
}

/**
 * Runs the job on a command line; returns the exit status (2: a usage error, reported on stderr), or a promise
 * of it when --nproc starts the job's processes.
 */
export function main(argv = process.argv.slice(2)): number | Promise<number> {
  let o: Options;
  try {
    o = parseOptions(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`train: ${e.message}\nRun with --help to see the options.`);
    return 2;
  }
  if (o.help) {
    console.log(HELP);
    return 0;
  }
  // --nproc N outside a launched job: start N copies of this script, as kindling-run would.
  if (o.nproc > 1 && process.env.WORLD_SIZE === undefined) return relaunch(o.nproc, argv);
  run(o);
  return 0;
}

/** Starts nproc ranks of this script with the same arguments (and node's, such as a TypeScript loader). */
async function relaunch(nproc: number, argv: string[]): Promise<number> {
  const masterPort = Number(process.env.MASTER_PORT) || (await freePort());
  return launch({ nprocPerNode: nproc, masterPort, script: process.argv[1], args: argv, nodeArgs: process.execArgv });
}

// Run when executed (npm run train), not when imported (the tests import parseOptions).
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url))
  void Promise.resolve(main()).then((status) => (process.exitCode = status));
