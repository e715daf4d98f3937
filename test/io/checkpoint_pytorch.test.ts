// PyTorch reads a full Kindling checkpoint. scripts/write_checkpoint_sample.ts
// wrote test/fixtures/checkpoint/kindling.safetensors with torch.save;
// scripts/make_checkpoint_fixtures.py loaded every tensor of it with torch,
// loaded the model's state dict into the same torch.nn model (strict) and the
// optimizer's into torch.optim.Adam, and wrote what it got. Here that is
// compared with the checkpoint as Kindling holds it.
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import { SAMPLE_PATH, sampleCheckpoint } from '../../scripts/write_checkpoint_sample.js';

interface TorchTensor {
  dtype: string;
  shape: number[];
  values: unknown;
}
const read = JSON.parse(readFileSync(new URL('../fixtures/checkpoint/kindling_read_by_torch.json', import.meta.url), 'utf8')) as {
  tensors: Record<string, TorchTensor>;
  object_keys: string[];
  numbers: Record<string, unknown>;
  config: unknown;
  scheduler: Record<string, unknown>;
  adam_lr: number;
  model_input: TorchTensor;
  model_output_eval: TorchTensor;
};

/** Python's float reprs of what JSON cannot hold. */
const py = (v: unknown): unknown =>
  typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf') : typeof v === 'bigint' ? String(v) : v;

/** Every tensor of a checkpoint object by its entry name (the dotted path torch.save gives it). */
function tensorsOf(v: unknown, prefix: string, out: Map<string, torch.Tensor>): Map<string, torch.Tensor> {
  if (v instanceof torch.Tensor) out.set(prefix, v);
  else if (Array.isArray(v)) v.forEach((x, i) => tensorsOf(x, `${prefix}.${i}`, out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) tensorsOf(x, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

describe('PyTorch reads a Kindling checkpoint', () => {
  const ck = torch.load<Record<string, unknown>>(SAMPLE_PATH);

  it('is what torch.save writes today (the committed sample is current)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-ck-sample-'));
    try {
      const p = join(dir, 'ck.safetensors');
      torch.save(sampleCheckpoint(), p);
      expect(readFileSync(p).equals(readFileSync(SAMPLE_PATH))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('torch loaded every tensor with its dtype, shape and values', () => {
    const mine = tensorsOf(ck, '', new Map());
    expect([...mine.keys()].sort()).toEqual(Object.keys(read.tensors).sort());
    expect(mine.size).toBe(23);
    for (const [name, t] of mine) {
      const theirs = read.tensors[name];
      expect(t.dtype, name).toBe(theirs.dtype);
      expect(t.shape, name).toEqual(theirs.shape);
      // tolist gives bigints for int64; torch's JSON has plain ints.
      const vals = JSON.parse(JSON.stringify(t.tolist(), (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x)));
      expect(vals, name).toEqual(theirs.values);
    }
  });

  it('torch rebuilt the same object around them', () => {
    expect(Object.keys(ck).sort()).toEqual(read.object_keys);
    for (const k of ['epoch', 'loss', 'best', 'seen']) expect(py(ck[k]), k).toEqual(read.numbers[k]);
    expect((ck.history as number[]).map(py)).toEqual(read.numbers.history);
    expect(ck.config).toEqual(read.config);
    expect(ck.scheduler).toEqual(read.scheduler);
  });

  it("torch.nn took the model's state dict and gives the same outputs; torch.optim.Adam took the optimizer's", () => {
    const model = new torch.nn.Sequential(
      new torch.nn.Linear(4, 3),
      new torch.nn.BatchNorm1d(3),
      new torch.nn.ReLU(),
      new torch.nn.Linear(3, 2),
    );
    model.loadStateDict(ck.model as Record<string, torch.Tensor>);
    model.eval();
    const x = torch.tensor(read.model_input.values as number[][], { dtype: 'float32' });
    const out = torch.noGrad(() => model(x) as torch.Tensor);
    const want = read.model_output_eval.values as number[][];
    (out.tolist() as number[][]).forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(want[i][j], 6)));
    const opt = ck.optimizer as { param_groups: { lr: number }[] };
    expect(opt.param_groups[0].lr).toBe(read.adam_lr);
  });
});
