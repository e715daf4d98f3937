// Memory soak: trains the seed CNN for many steps without a single
// dispose() and checks that the process's memory stays within a fixed
// bound. CPU tensors live in V8-owned ArrayBuffers (lib/backend/memory.ts),
// so the garbage collector alone must keep up with a synchronous loop that
// never yields to the event loop.
//
//   npm run soak                          # 20,000 steps, batch 64
//   npm run soak -- --steps 1500 --json   # what the CI test runs
//
// Options: --steps N, --batch B, --every K (report period), --warmup W
// (steps before the baseline is taken), --bound-mb M (allowed RSS growth
// after warm-up), --json (one JSON line at the end instead of the table).
// Exits 1 when RSS grows by more than the bound after warm-up.
import { cnnTrainer } from '../test/reliability/helpers/cnn.js';
import * as torch from '../lib/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`soak: --${name} expects a non-negative number`);
  return v;
}

const steps = arg('steps', 20_000);
const batch = arg('batch', 64);
const every = arg('every', 1000);
const warmup = arg('warmup', Math.min(2000, Math.floor(steps / 3)));
const boundMB = arg('bound-mb', 64);
const json = process.argv.includes('--json');

const MB = 1024 * 1024;
interface Sample {
  step: number;
  rssMB: number;
  heapUsedMB: number;
  arrayBuffersMB: number;
  loss: number;
  msPerStep: number;
}

torch.manualSeed(0);
const trainer = cnnTrainer(batch);
const samples: Sample[] = [];
let baseline = 0;
let peakAfterWarmup = 0;
let last = performance.now();
const sample = (step: number, loss: number, msPerStep: number) => {
  const m = process.memoryUsage();
  const s = { step, rssMB: m.rss / MB, heapUsedMB: m.heapUsed / MB, arrayBuffersMB: m.arrayBuffers / MB, loss, msPerStep };
  samples.push(s);
  if (!json) {
    console.log(
      `${String(step).padStart(7)}  rss ${s.rssMB.toFixed(1).padStart(7)} MB  heap ${s.heapUsedMB.toFixed(1).padStart(6)} MB` +
        `  arrayBuffers ${s.arrayBuffersMB.toFixed(1).padStart(6)} MB  loss ${loss.toFixed(4)}  ${msPerStep.toFixed(2)} ms/step`,
    );
  }
};

if (!json) console.log(`soak: ${steps} steps of the seed CNN, batch ${batch}, no dispose(); RSS bound ${boundMB} MB after step ${warmup}`);
sample(0, NaN, 0);
let loss = NaN;
for (let step = 1; step <= steps; step++) {
  loss = trainer.step();
  if (step === warmup) baseline = process.memoryUsage().rss;
  if (step > warmup) peakAfterWarmup = Math.max(peakAfterWarmup, process.memoryUsage.rss());
  if (step % every === 0 || step === steps) {
    const now = performance.now();
    sample(step, loss, (now - last) / (step % every || every));
    last = now;
  }
}

const growthMB = baseline ? (peakAfterWarmup - baseline) / MB : 0;
const ok = Number.isFinite(loss) && growthMB <= boundMB;
const summary = {
  steps,
  batch,
  warmup,
  baselineMB: baseline / MB,
  peakAfterWarmupMB: peakAfterWarmup / MB,
  growthMB,
  boundMB,
  ok,
  samples,
};
if (json) console.log(JSON.stringify(summary));
else {
  console.log(
    `soak: RSS at step ${warmup} ${(baseline / MB).toFixed(1)} MB, peak after it ${(peakAfterWarmup / MB).toFixed(1)} MB ` +
      `(growth ${growthMB.toFixed(1)} MB, bound ${boundMB} MB): ${ok ? 'OK' : 'FAILED'}`,
  );
}
process.exitCode = ok ? 0 : 1;
