// Writes a full training checkpoint with Kindling's torch.save, for PyTorch's
// side to read: `node --import ./test/reliability/helpers/register-ts.mjs
// scripts/write_checkpoint_sample.ts` writes test/fixtures/checkpoint/
// kindling.safetensors, then scripts/make_checkpoint_fixtures.py loads every
// tensor of it with torch (through scripts/check_checkpoint.py) and writes what
// PyTorch read into kindling_read_by_torch.json, which
// test/io/checkpoint_pytorch.test.ts compares with the checkpoint. The test
// also builds the checkpoint again and checks the committed file is what
// torch.save writes now.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../lib/index.js';

const { nn, optim } = torch;

/** The checkpoint: a model with a BatchNorm buffer, Adam after two steps, a scheduler, numbers and a config. */
export function sampleCheckpoint(): Record<string, unknown> {
  torch.manualSeed(7);
  const model = new nn.Sequential(new nn.Linear(4, 3), new nn.BatchNorm1d(3), new nn.ReLU(), new nn.Linear(3, 2));
  const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
  const sched = new optim.lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 });
  const x = torch.randn(5, 4);
  const y = torch.tensor([0, 1, 1, 0, 1]);
  let loss = 0;
  for (let i = 0; i < 2; i++) {
    const l = torch.nn.functional.crossEntropy(model(x) as torch.Tensor, y);
    opt.zeroGrad();
    l.backward();
    opt.step();
    sched.step();
    loss = l.item();
  }
  return {
    epoch: 2,
    model: model.stateDict(),
    optimizer: opt.stateDict(),
    scheduler: sched.stateDict(),
    loss,
    best: Infinity,
    history: [1.5, NaN, loss],
    config: { name: 'sample', layers: [4, 3, 2], dropout: null, amp: false },
    seen: 12345678901234567890n,
    extra: { mask: torch.tensor([true, false, true]), table: torch.arange(6, { dtype: 'float64' }).reshape(2, 3) },
  };
}

export const SAMPLE_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'checkpoint', 'kindling.safetensors');

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(dirname(SAMPLE_PATH), { recursive: true });
  torch.save(sampleCheckpoint(), SAMPLE_PATH);
  console.log(`wrote ${SAMPLE_PATH}`);
}
