// Runs one Kindling workload of bench/workloads.ts in a loop, for a
// profiler to watch where its time goes:
//   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/profile.js NAME [SECONDS]
//   perf record -g node --perf-basic-prof dist/bench/profile.js NAME [SECONDS]
import * as torch from '../lib/index.js';
import { workloads } from './workloads.js';

function main(): void {
  const [name, secondsArg] = process.argv.slice(2);
  const w = workloads.find((x) => x.name === name);
  if (!w || w.kind !== 'time') {
    const names = workloads.filter((x) => x.kind === 'time').map((x) => x.name);
    throw new Error(`profile: no timed workload named ${name}; choose one of ${names.join(', ')}`);
  }
  const seconds = Number(secondsArg ?? 5);
  torch.setNumThreads(Number(process.env.BENCH_THREADS ?? 2));
  torch.manualSeed(0);
  w.before?.();
  const fn = w.setup();
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  let calls = 0;
  while (process.hrtime.bigint() < end) {
    fn();
    calls++;
  }
  w.after?.();
  console.log(`${name}: ${calls} calls in ${seconds} s (${((seconds / calls) * 1e3).toFixed(3)} ms per call)`);
}

main();
