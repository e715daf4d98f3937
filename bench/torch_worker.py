"""PyTorch side of `npm run bench`: a long-lived worker that times the same
workloads as bench/workloads.ts, so both run on this machine in one run.

Protocol (one JSON object per line): first a "ready" line on stdout with the
versions, threads and BLAS library; then {"name": str, "reps": int, "inner":
int} on stdin (each rep times `inner` calls) is answered on stdout by
{"times": [seconds per rep]} or {"error": str}. The training-step workloads
come from bench/bench_models.py.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

import bench_models  # bench/bench_models.py: this script's folder is on sys.path

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


CONVS = {
    # name: (in channels, out channels, height = width, stride), as bench/workloads.ts
    "conv_cnn_1to16_28x28_s2": (1, 16, 28, 2),
    "conv_cnn_16to16_14x14_s2": (16, 16, 14, 2),
    "conv_cnn_16to10_7x7_s2": (16, 10, 7, 2),
    "conv_lenet_1to32_28x28": (1, 32, 28, 1),
    "conv_lenet_32to64_14x14": (32, 64, 14, 1),
}


def conv(cin, cout, hw, stride):
    x = torch.randn(64, cin, hw, hw, requires_grad=True)
    w = torch.randn(cout, cin, 3, 3, requires_grad=True)
    b = torch.randn(cout, requires_grad=True)
    g = torch.ones_like(F.conv2d(x, w, b, stride=stride, padding=1))

    def run():
        F.conv2d(x, w, b, stride=stride, padding=1).backward(g)
        # As zero_grad(set_to_none=True) between steps: no accumulation.
        x.grad = w.grad = b.grad = None

    return run


CONVS_ND = {
    # name: (function, input shape, weight shape, keywords), as bench/workloads.ts
    "conv1d_32to64_L256": (F.conv1d, (64, 32, 256), (64, 32, 5), {"padding": 2}),
    "conv_transpose1d_64to32_L128_s2": (F.conv_transpose1d, (64, 64, 128), (64, 32, 4), {"stride": 2, "padding": 1}),
    "conv_transpose2d_32to16_14x14_s2": (F.conv_transpose2d, (64, 32, 14, 14), (32, 16, 4, 4), {"stride": 2, "padding": 1}),
}


def conv_nd(fn, xs, ws, kw):
    x = torch.randn(*xs, requires_grad=True)
    w = torch.randn(*ws, requires_grad=True)
    b_size = ws[0] if fn is F.conv1d else ws[1]
    b = torch.randn(b_size, requires_grad=True)
    g = torch.ones_like(fn(x, w, b, **kw))

    def run():
        fn(x, w, b, **kw).backward(g)
        x.grad = w.grad = b.grad = None

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


def train_lstm():
    """As bench/workloads.ts train_lstm_2x256_seq64_b32: LSTM(256, 256, 2), seq 64, batch 32, SGD."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(256, 256, 2)
    opt = torch.optim.SGD(lstm.parameters(), lr=0.01)
    x = torch.randn(64, 32, 256)

    def run():
        out, _ = lstm(x)
        out.square().mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return run


WORKLOADS = {
    "tiny_graph": tiny_graph,
    "train_lstm_2x256_seq64_b32": train_lstm,
}
for n in (256, 512, 1024, 2048):
    WORKLOADS[f"matmul_{n}"] = (lambda n: lambda: matmul(n))(n)
for name, shape in CONVS.items():
    WORKLOADS[name] = (lambda shape: lambda: conv(*shape))(shape)
for name, spec in CONVS_ND.items():
    WORKLOADS[name] = (lambda spec: lambda: conv_nd(*spec))(spec)
for op in ("add", "mul", "relu", "exp", "sum", "softmax"):
    WORKLOADS[f"elementwise_{op}" if op not in ("sum", "softmax") else f"reduce_{op}"] = (lambda op: lambda: elementwise(op))(op)

WORKLOADS.update(bench_models.WORKLOADS)  # the training steps

import cuda_workloads  # noqa: E402  bench/cuda_workloads.py: CUDA rows, empty without CUDA
WORKLOADS.update(cuda_workloads.WORKLOADS)

_cache = {}


def blas_library():
    """The BLAS library file this process mapped (to show both sides use the same one)."""
    torch.mm(torch.ones(8, 8), torch.ones(8, 8))
    try:
        with open("/proc/self/maps") as f:
            libs = {os.path.basename(line.split()[-1]) for line in f}
        return ", ".join(sorted(lib for lib in libs if "openblas" in lib or "libmkl" in lib)) or "none"
    except OSError:
        return "unknown"


def main():
    info = {
        "ready": True,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas_library(),
        "openblasCoretype": os.environ.get("OPENBLAS_CORETYPE"),
    }
    print(json.dumps(info), flush=True)
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
    main()
