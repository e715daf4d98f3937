// Child process of `npm run bench` for the memory rows: trains one model of
// bench/models.ts for N steps on fresh random batches, then prints the
// process's peak resident set size as one JSON line. A fresh process so that
// nothing the other workloads allocated counts.
//   node dist/bench/train_memory.js MODEL STEPS
import { readFileSync } from 'node:fs';
import * as torch from '../lib/index.js';
import { MODELS, makeTrainStep, randomBatch, type ModelName } from './models.js';

/** VmHWM (the peak RSS) from /proc, else getrusage's maxrss; in MB. */
export function peakRssMB(): number {
  try {
    const kb = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s*(\d+)\s*kB/m)?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS / 1024;
}

function main(): void {
  const [model, stepsArg] = process.argv.slice(2);
  const steps = Number(stepsArg);
  if (!(MODELS as readonly string[]).includes(model) || !Number.isInteger(steps) || steps < 1) {
    throw new Error(`train_memory: usage: train_memory.js ${MODELS.join('|')} STEPS (got ${model} ${stepsArg})`);
  }
  torch.setNumThreads(Number(process.env.BENCH_THREADS ?? 2));
  torch.manualSeed(0);
  const step = makeTrainStep(model as ModelName);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) {
    const [x, y] = randomBatch();
    step(x, y);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ peakRssMB: peakRssMB(), seconds, steps }));
}

main();
