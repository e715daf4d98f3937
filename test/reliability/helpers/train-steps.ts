// A short training run of the seed CNN, for scripts/valgrind.sh: enough to
// go through every kernel of a training step (conv2d and its backward,
// pooling, cross entropy, SGD with momentum, random init and data) and
// through save/load of the trained state.
//
//   node --import ./test/reliability/helpers/register-ts.mjs test/reliability/helpers/train-steps.ts [steps] [batch]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../lib/index.js';
import { cnnTrainer } from './cnn.js';

const steps = Number(process.argv[2] ?? 20);
const batch = Number(process.argv[3] ?? 64);
torch.manualSeed(0);
const trainer = cnnTrainer(batch);
const losses: number[] = [];
for (let s = 0; s < steps; s++) losses.push(trainer.step());
const dir = mkdtempSync(join(tmpdir(), 'kindling-vg-'));
try {
  const path = join(dir, 'cnn.safetensors');
  torch.save(trainer.model.stateDict(), path);
  const back = torch.load(path);
  const same = Object.entries(trainer.model.stateDict()).every(([k, v]) => back[k].equal(v));
  if (!same) throw new Error('the loaded state differs from the saved one');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (!losses.every(Number.isFinite)) throw new Error(`non-finite loss: ${losses}`);
console.log(
  `train-steps: ${steps} steps of batch ${batch}, first loss ${losses[0].toFixed(4)}, last ${losses[steps - 1].toFixed(4)}; state saved and loaded`,
);
