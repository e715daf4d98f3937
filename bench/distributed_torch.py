"""One rank of bench/distributed.ts on PyTorch: times dist.all_reduce (sum)
over gloo of float32 tensors of each size, as bench/distributed_worker.ts
does, and prints {"size": [ms per call]} as JSON."""
import json
import os
import time

import torch
import torch.distributed as dist

sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "1000000,10000000").split(",")]
reps = int(os.environ.get("BENCH_REPS", "10"))
torch.set_num_threads(1)
dist.init_process_group("gloo")
times = {}
for n in sizes:
    t = torch.ones(n)
    for _ in range(2):
        dist.all_reduce(t)
    times[str(n)] = []
    for _ in range(reps):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(t)
        times[str(n)].append((time.perf_counter() - t0) * 1e3)
dist.destroy_process_group()
print(json.dumps(times))
