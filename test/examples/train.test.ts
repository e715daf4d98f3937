import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../lib/index.js';
import { HELP, parseOptions, UsageError } from '../../examples/train_mnist.js';
import { readEventFile } from '../../lib/utils/tensorboard/reader.js';

/** The scalars (tag -> [step, value][]) of every event file under a TensorBoard run directory. */
function scalars(dir: string): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!entry.split('/').pop()!.startsWith('events.out.tfevents.')) continue;
    // addScalars puts each curve in a sub-directory named main_tag_curve, as PyTorch does.
    const sub = entry.includes('/') ? entry.slice(0, entry.lastIndexOf('/')) : '';
    for (const ev of readEventFile(join(dir, entry)))
      for (const v of ev.summary?.value ?? [])
        if (v.simpleValue !== undefined) {
          const key = sub ? `${sub}:${v.tag}` : v.tag;
          out.set(key, [...(out.get(key) ?? []), [Number(ev.step ?? 0), v.simpleValue]]);
        }
  }
  return out;
}

// The README's main job, run for one epoch of the seed's CNN on the real
// MNIST files through the same script (compiled by `npm install`'s tsc).
describe('examples/train_mnist (the main job)', () => {
  it('trains the seed CNN for an epoch, saves a loadable checkpoint and a loss curve', () => {
    const out = mkdtempSync(join(tmpdir(), 'kindling-train-'));
    const script = new URL('../../dist/examples/train_mnist.js', import.meta.url).pathname;
    const log = execFileSync(process.execPath, [script, '--model', 'cnn', '--epochs', '1', '--out', out], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 600_000,
    });
    const m = log.match(/epoch 1: train loss ([\d.]+) acc ([\d.]+) \| valid loss ([\d.]+) acc ([\d.]+)/);
    expect(m, log).not.toBeNull();
    const [, , , validLoss, validAcc] = m!.map(Number);
    // Seed 002 prints 0.30-0.36 after the first epoch of this model.
    expect(validLoss).toBeLessThan(0.6);
    expect(validAcc).toBeGreaterThan(0.8);
    const sd = torch.load(join(out, 'model.safetensors'));
    expect(Object.keys(sd).sort()).toEqual(['1.bias', '1.weight', '3.bias', '3.weight', '5.bias', '5.weight']);
    expect(sd['1.weight'].shape).toEqual([16, 1, 3, 3]);
    const png = readFileSync(join(out, 'loss.png'));
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { history: { step: number; validLoss: number }[] };
    // TensorBoard's events hold the same epoch numbers as metrics.json.
    const tb = scalars(join(out, 'tensorboard'));
    const [h] = metrics.history;
    expect(tb.get('loss_valid:loss')).toEqual([[h.step, Math.fround(h.validLoss)]]);
    expect(tb.get('loss/train_running')?.length).toBe(Math.floor(h.step / 50));
  });
});

// The command line: node:util's parseArgs in strict mode, checked values,
// exit status 2 and a hint for a mistake. Nothing here trains.
describe('examples/train_mnist: the command line', () => {
  const defaults = { batchSize: 64, seed: 0, limit: 0, device: 'cpu', nproc: 1, export: null, help: false };
  it("keeps every option's default, per model", () => {
    expect(parseOptions([])).toEqual({ ...defaults, model: 'cnn', epochs: 2, lr: 0.1, momentum: 0.9, out: join('runs', 'cnn') });
    expect(parseOptions(['--model', 'logistic'])).toEqual({
      ...defaults,
      model: 'logistic',
      epochs: 2,
      lr: 0.5,
      momentum: 0,
      out: join('runs', 'logistic'),
    });
    expect(parseOptions(['--model', 'mlp'])).toMatchObject({ epochs: 3, lr: 1e-3 });
    expect(parseOptions(['--model', 'lenet'])).toMatchObject({ epochs: 5, lr: 1e-3 });
  });

  it('reads --name value and --name=value alike', () => {
    const argv = ['--model', 'logistic', '--epochs', '3', '--batch-size', '32', '--lr', '0.05', '--momentum', '0.5'];
    const more = ['--seed', '7', '--limit', '100', '--out', 'o', '--device', 'cpu'];
    const want = {
      model: 'logistic',
      epochs: 3,
      batchSize: 32,
      lr: 0.05,
      momentum: 0.5,
      seed: 7,
      limit: 100,
      out: 'o',
      device: 'cpu',
      nproc: 1,
      export: null,
      help: false,
    };
    expect(parseOptions([...argv, ...more])).toEqual(want);
    const joined: string[] = [];
    for (let i = 0; i < argv.length + more.length; i += 2) joined.push(`${[...argv, ...more][i]}=${[...argv, ...more][i + 1]}`);
    expect(parseOptions(joined)).toEqual(want);
    expect(parseOptions(['--lr=1e-3', '--model=mlp']).lr).toBe(1e-3);
    expect(parseOptions(['--device', 'auto']).device).toBe(torch.cuda.isAvailable() ? 'cuda' : 'cpu');
    expect(parseOptions(['--help']).help).toBe(true);
    expect(parseOptions(['--export', 'm.onnx']).export).toBe('m.onnx');
    expect(() => parseOptions(['--export='])).toThrow(/--export must name a file/);
    expect(parseOptions(['-h']).help).toBe(true);
  });

  it.each([
    [['--epoch', '1'], "unknown option '--epoch' (did you mean --epochs?)"],
    [['--batch_size', '8'], "unknown option '--batch_size' (did you mean --batch-size?)"],
    [['--learning-rate', '0.1'], "unknown option '--learning-rate'"],
    [['-e', '1'], "unknown option '-e'"],
    [['--model', 'lenett'], "unknown model 'lenett' (did you mean lenet?); choose cnn, logistic, mlp, lenet"],
    [['--epochs', '0'], "--epochs must be a positive integer, got '0'"],
    [['--epochs', '1.5'], "--epochs must be a positive integer, got '1.5'"],
    [['--epochs', 'two'], "--epochs must be a positive integer, got 'two'"],
    [['--batch-size', '0'], "--batch-size must be a positive integer, got '0'"],
    [['--seed', '-1'], "Option '--seed' argument is ambiguous"],
    [['--seed=-1'], "--seed must be a non-negative integer, got '-1'"],
    [['--limit=1e3'], "--limit must be a non-negative integer, got '1e3'"],
    [['--lr', '0'], "--lr must be a positive number, got '0'"],
    [['--lr=-0.1'], "--lr must be a positive number, got '-0.1'"],
    [['--lr', 'fast'], "--lr must be a positive number, got 'fast'"],
    [['--lr='], "--lr must be a positive number, got ''"],
    [['--momentum', 'NaN'], "--momentum must be a non-negative number, got 'NaN'"],
    [['--model', 'mlp', '--momentum', '0.9'], "--momentum is SGD's, and mlp trains with Adam"],
    [['--device', 'tpu'], "--device must be cpu, cuda, cuda:N or auto, got 'tpu'"],
    [['--out='], "--out must name a directory, got ''"],
    [['--epochs'], "Option '--epochs <value>' argument missing"],
    [['--model', 'cnn', 'extra'], "Unexpected argument 'extra'"],
    [['--help=yes'], "--help' does not take an argument"],
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

  it('refuses --device cuda where there is no CUDA', () => {
    if (torch.cuda.isAvailable()) expect(parseOptions(['--device', 'cuda']).device).toBe('cuda');
    else expect(() => parseOptions(['--device', 'cuda'])).toThrow('--device cuda: CUDA is not available (try --device auto)');
  });

  // The script itself, from its TypeScript source (the test above it runs
  // the compiled one): what a user at the shell sees.
  const run = (...args: string[]) =>
    spawnSync(
      process.execPath,
      [
        '--import',
        new URL('../reliability/helpers/register-ts.mjs', import.meta.url).pathname,
        new URL('../../examples/train_mnist.ts', import.meta.url).pathname,
        ...args,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );

  it('exits with status 2 and a hint on stderr for a mistyped option, before training anything', () => {
    const r = run('--epoch', '1');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("train: unknown option '--epoch' (did you mean --epochs?)\nRun with --help to see the options.\n");
  });

  it('exits with status 2 for a bad value', () => {
    const r = run('--model=logistic', '--lr', 'fast');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("train: --lr must be a positive number, got 'fast'");
  });

  it('--help lists every option and exits 0', () => {
    const r = run('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${HELP}\n`);
    for (const name of ['model', 'epochs', 'batch-size', 'lr', 'momentum', 'seed', 'limit', 'out', 'device', 'nproc', 'help'])
      expect(r.stdout).toMatch(new RegExp(`^  --${name}\\b`, 'm'));
  });
});
