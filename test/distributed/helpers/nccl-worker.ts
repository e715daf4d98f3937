// One rank of test/cuda/nccl.test.ts: torch.distributed's collectives and
// DistributedDataParallel over NCCL, each rank on its own GPU (cuda:RANK).
// Inputs are functions of the rank, so the test works out what every rank
// must hold from the world size alone. Prints one JSON line.
// KINDLING_CUDA_TESTS_ON_CPU=1 runs it over Gloo on CPU tensors instead, to
// check this file and the test's expectations on a machine without a GPU.
import * as torch from '../../../lib/index.js';

const dist = torch.distributed;
const rank = Number(process.env.RANK);
const world = Number(process.env.WORLD_SIZE);
const out: Record<string, unknown> = { rank };
const list = (t: torch.Tensor): unknown => t.cpu().tolist();

try {
  const onCpu = process.env.KINDLING_CUDA_TESTS_ON_CPU === '1';
  if (!onCpu) torch.cuda.setDevice(rank);
  const dev = onCpu ? 'cpu' : (`cuda:${rank}` as const);
  dist.initProcessGroup({ backend: onCpu ? 'gloo' : 'nccl', timeout: Number(process.env.TEST_TIMEOUT ?? 20_000) });
  out.backend = dist.getBackend();
  for (const dtype of ['float32', 'float64', 'int64'] as const) {
    for (const op of ['sum', 'product', 'max', 'min', 'avg'] as const) {
      if (op === 'avg' && dtype === 'int64') continue;
      const t = torch.tensor([rank + 1, -(rank + 1) * 2, rank % 2 === 0 ? 5 : -5], { dtype, device: dev });
      dist.allReduce(t, { op });
      out[`allReduce_${op}_${dtype}`] = list(t);
    }
  }
  const b = torch.tensor([rank, rank * 10], { dtype: 'float64', device: dev });
  dist.broadcast(b, { src: world - 1 });
  out.broadcast = list(b);
  const gl = Array.from({ length: world }, () => torch.zeros([2], { dtype: 'int64', device: dev }));
  dist.allGather(gl, torch.tensor([rank, rank * rank], { dtype: 'int64', device: dev }));
  out.allGather = gl.map(list);
  const rs = torch.zeros([2], { device: dev });
  const rsIn = Array.from({ length: world }, (_, i) => torch.tensor([rank * 100 + i, i], { dtype: 'float32', device: dev }));
  dist.reduceScatter(rs, rsIn);
  out.reduceScatter = list(rs);
  const gatherList = rank === 0 ? Array.from({ length: world }, () => torch.zeros([3], { device: dev })) : undefined;
  dist.gather(torch.tensor([rank, rank + 0.5, -rank], { device: dev }), { gatherList, dst: 0 });
  if (gatherList) out.gather = gatherList.map(list);
  const sc = torch.zeros([2], { dtype: 'float64', device: dev });
  const scatterList =
    rank === 0 ? Array.from({ length: world }, (_, i) => torch.tensor([i, i * 3], { dtype: 'float64', device: dev })) : undefined;
  dist.scatter(sc, { scatterList, src: 0 });
  out.scatter = list(sc);
  // A view inside a bigger storage: only its elements take part.
  const big = torch.full([6], rank + 1, { device: dev });
  dist.allReduce(big.narrow(0, 2, 2));
  out.viewAllReduce = list(big);
  // Asynchronous: queued behind kernels that write the tensor, awaited.
  const a = torch.ones([100000], { device: dev }).mul(rank + 1);
  await dist.allReduce(a, { asyncOp: true });
  out.awaited = a.sum().item();
  dist.barrier();
  if (!onCpu) {
    try {
      dist.allReduce(torch.ones([2]));
    } catch (e) {
      out.cpuError = (e as Error).message;
    }
  }
  // DDP: every rank's gradient is the mean of what each rank's batch gives.
  torch.manualSeed(0);
  const model = new torch.nn.Linear(4, 3).to(dev);
  const ddp = new torch.nn.parallel.DistributedDataParallel(model);
  const x = torch
    .arange(8 * 4, { dtype: 'float32' })
    .reshape([8, 4])
    .mul(0.01 * (rank + 1))
    .to(dev);
  ddp.forward(x).pow(2).sum().backward();
  out.ddpWeightGrad = list(model.weight.grad!);
  torch.manualSeed(0);
  const ref = new torch.nn.Linear(4, 3);
  let total: torch.Tensor | null = null;
  for (let r = 0; r < world; r++) {
    ref.zeroGrad();
    ref
      .forward(
        torch
          .arange(8 * 4, { dtype: 'float32' })
          .reshape([8, 4])
          .mul(0.01 * (r + 1)),
      )
      .pow(2)
      .sum()
      .backward();
    total = total === null ? ref.weight.grad!.clone() : total.add(ref.weight.grad!);
  }
  out.expectedWeightGrad = list(total!.div(world));
  dist.destroyProcessGroup();
  out.destroyed = !dist.isInitialized();
} catch (e) {
  out.fatal = (e as Error).stack ?? String(e);
}
console.log(JSON.stringify(out));
process.exit(0);
