// One rank of the distributed rows of `npm run bench` (bench/ranks.ts
// starts one per rank with a launcher's environment). BENCH_DIST_WORKLOAD
// picks what to time, BENCH_REPS how many calls; rank 0 prints
// {"<what>": [ms per call, ...]} as its last line.
//   allreduce: torch.distributed.allReduce (sum) of BENCH_SIZE float32 ones
//   ddp_cnn:   one training step of the seed CNN (bench/models.ts, BATCH
//              images per rank) under DistributedDataParallel
import * as torch from '../lib/index.js';
import { buildModel, buildOptimizer, randomBatch } from './models.js';

const F = torch.nn.functional;
const dist = torch.distributed;
const what = process.env.BENCH_DIST_WORKLOAD ?? 'allreduce';
const reps = Number(process.env.BENCH_REPS ?? 10);
// Ranks share the machine's cores: one kernel thread each, as PyTorch's side.
torch.setNumThreads(1);
dist.initProcessGroup({ backend: 'gloo', timeout: 120_000 });
const times: number[] = [];
const clock = () => Number(process.hrtime.bigint()) / 1e6;

if (what === 'allreduce') {
  const t = torch.ones([Number(process.env.BENCH_SIZE ?? 1_000_000)]);
  for (let i = 0; i < 2; i++) dist.allReduce(t); // warm-up: connections, page faults
  for (let i = 0; i < reps; i++) {
    // Every rank starts the call together: the time is the collective's, not a late peer's.
    dist.barrier();
    const t0 = clock();
    dist.allReduce(t);
    times.push(clock() - t0);
  }
} else if (what === 'ddp_cnn') {
  torch.manualSeed(dist.getRank());
  const model = buildModel('cnn');
  const ddp = new torch.nn.parallel.DistributedDataParallel(model);
  const opt = buildOptimizer('cnn', model);
  const [x, y] = randomBatch();
  const step = () => {
    F.crossEntropy(ddp.call(x), y).backward();
    opt.step();
    opt.zeroGrad();
  };
  for (let i = 0; i < 3; i++) step();
  dist.barrier();
  for (let i = 0; i < reps; i++) {
    // No barrier between steps: DDP's allreduce is the step's own synchronization.
    const t0 = clock();
    step();
    times.push(clock() - t0);
  }
} else {
  throw new Error(`bench/distributed_worker: BENCH_DIST_WORKLOAD must be allreduce or ddp_cnn, got ${what}`);
}
const rank = dist.getRank();
dist.destroyProcessGroup();
if (rank === 0) console.log(JSON.stringify({ [what]: times }));
