"""One rank of the distributed rows of `npm run bench` on PyTorch, as
bench/distributed_worker.ts on Kindling: BENCH_DIST_WORKLOAD picks what to
time (allreduce: dist.all_reduce (sum) over gloo of BENCH_SIZE float32 ones;
ddp_cnn: one training step of the seed CNN of bench/bench_models.py under
DistributedDataParallel), BENCH_REPS how many calls; rank 0 prints
{"<what>": [ms per call, ...]} as its last line."""
import json
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models import build_model, build_optimizer, random_batch  # noqa: E402

what = os.environ.get("BENCH_DIST_WORKLOAD", "allreduce")
reps = int(os.environ.get("BENCH_REPS", "10"))
torch.set_num_threads(1)
dist.init_process_group("gloo")
times = []
if what == "allreduce":
    t = torch.ones(int(os.environ.get("BENCH_SIZE", "1000000")))
    for _ in range(2):
        dist.all_reduce(t)
    for _ in range(reps):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(t)
        times.append((time.perf_counter() - t0) * 1e3)
elif what == "ddp_cnn":
    torch.manual_seed(dist.get_rank())
    model = build_model("cnn")
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    opt = build_optimizer("cnn", model)
    x, y = random_batch()

    def step():
        F.cross_entropy(ddp(x), y).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(3):
        step()
    dist.barrier()
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
else:
    raise SystemExit(f"bench/distributed_torch.py: BENCH_DIST_WORKLOAD must be allreduce or ddp_cnn, got {what}")
rank = dist.get_rank()
dist.destroy_process_group()
if rank == 0:
    print(json.dumps({what: times}))
