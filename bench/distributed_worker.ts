// One rank of bench/distributed.ts: times torch.distributed.allReduce (sum)
// of float32 tensors of each size and prints {"size": [ms per call]} as JSON.
import * as torch from '../lib/index.js';

const sizes = (process.env.BENCH_SIZES ?? '1000000,10000000').split(',').map(Number);
const reps = Number(process.env.BENCH_REPS ?? 10);
const dist = torch.distributed;
dist.initProcessGroup({ backend: 'gloo', timeout: 120_000 });
const times: Record<string, number[]> = {};
for (const n of sizes) {
  const t = torch.ones([n]);
  for (let i = 0; i < 2; i++) dist.allReduce(t); // warm-up: connections, page faults
  times[n] = [];
  for (let i = 0; i < reps; i++) {
    dist.barrier();
    const t0 = process.hrtime.bigint();
    dist.allReduce(t);
    times[n].push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}
dist.destroyProcessGroup();
console.log(JSON.stringify(times));
