"""PyTorch side of `npm run bench`: a long-lived worker that times the same
workloads as bench/workloads.ts, so both run on this machine in one run.

Protocol (one JSON object per line): {"name": str, "reps": int, "inner": int}
on stdin (each rep times `inner` calls),
{"times": [seconds per rep]} or {"error": str} on stdout.
"""
import json
import os
import sys
import time

import torch

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
torch.set_num_threads(THREADS)
torch.manual_seed(0)


def matmul(n):
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    return lambda: torch.mm(a, b)


def tiny_graph():
    x = torch.randn(16, requires_grad=True)

    def run():
        x.mul(x).add(x).sum().backward()

    return run


def elementwise(op):
    a = torch.randn(1 << 20)
    b = torch.randn(1 << 20)
    fns = {
        "add": lambda: a.add(b),
        "mul": lambda: a.mul(b),
        "relu": lambda: a.relu(),
        "exp": lambda: a.exp(),
        "sum": lambda: a.sum(),
        "softmax": lambda: a.view(1024, 1024).softmax(-1),
    }
    return fns[op]


WORKLOADS = {
    "tiny_graph": tiny_graph,
}
for n in (256, 512, 1024, 2048):
    WORKLOADS[f"matmul_{n}"] = (lambda n: lambda: matmul(n))(n)
for op in ("add", "mul", "relu", "exp", "sum", "softmax"):
    WORKLOADS[f"elementwise_{op}" if op not in ("sum", "softmax") else f"reduce_{op}"] = (lambda op: lambda: elementwise(op))(op)

try:
    import bench_models  # optional: training-step workloads (bench/bench_models.py)

    WORKLOADS.update(bench_models.WORKLOADS)
except ImportError:
    pass

_cache = {}


def main():
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        name = req["name"]
        try:
            if name not in _cache:
                if name not in WORKLOADS:
                    raise KeyError(f"no PyTorch workload named {name}")
                _cache[name] = WORKLOADS[name]()
            fn = _cache[name]
            times = []
            inner = req.get("inner", 1)
            for _ in range(req["reps"]):
                t0 = time.perf_counter()
                for _ in range(inner):
                    fn()
                times.append((time.perf_counter() - t0) / inner)
            print(json.dumps({"times": times}), flush=True)
        except Exception as e:  # report, keep serving
            print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
