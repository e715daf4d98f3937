"""The models whose training step `npm run bench` times, in PyTorch; the same
models as bench/models.ts under the same names (their initial weights
differ, which does not change the work a step does).

Imported by bench/torch_worker.py for the training-step workloads. Run as a
script, it is the PyTorch child of the memory rows: it trains one model for
N steps on fresh random batches and prints the peak RSS as one JSON line.
    /usr/bin/python3 bench/bench_models.py --memory MODEL STEPS
"""
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn, optim

BATCH = 64
MODELS = ("logistic", "cnn", "mlp", "lenet")


class Lambda(nn.Module):
    """The torch.nn tutorial's Lambda (PyTorch has none built in)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def build_model(name):
    to_image = Lambda(lambda x: x.view(-1, 1, 28, 28))
    if name == "logistic":
        return nn.Sequential(nn.Linear(784, 10))
    if name == "cnn":
        return nn.Sequential(
            to_image,
            nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 10, 3, stride=2, padding=1), nn.ReLU(),
            nn.AvgPool2d(4),
            Lambda(lambda x: x.view(x.size(0), -1)),
        )
    if name == "mlp":
        return nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(),
            nn.Linear(512, 512), nn.ReLU(),
            nn.Linear(512, 10),
        )
    if name == "lenet":
        return nn.Sequential(
            to_image,
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
            nn.Linear(128, 10),
        )
    raise KeyError(f"no model named {name}")


def build_optimizer(name, model):
    if name == "logistic":
        return optim.SGD(model.parameters(), lr=0.5)
    if name == "cnn":
        return optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return optim.Adam(model.parameters(), lr=1e-3)


def random_batch():
    return torch.rand(BATCH, 784), torch.randint(0, 10, (BATCH,))


def make_train_step(name):
    model = build_model(name)
    opt = build_optimizer(name, model)

    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        # Kindling's zeroGrad() sets gradients to None, as PyTorch 2 does by
        # default; PyTorch 1.13 would zero them in place.
        opt.zero_grad(set_to_none=True)

    return step


def _timed(name):
    torch.manual_seed(0)
    step = make_train_step(name)
    x, y = random_batch()
    return lambda: step(x, y)


WORKLOADS = {f"train_{m}": (lambda m: lambda: _timed(m))(m) for m in MODELS}


def transformer_step(dropout):
    """bench/workloads.ts's train_transformer_encoder rows: 4 encoder layers (d_model 256, 4 heads,
    dim_feedforward 1024, batch_first), MSE against a fixed target, Adam."""
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(256, 4, dim_feedforward=1024, dropout=dropout, batch_first=True)
    model = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randn(16, 128, 256)
    target = torch.randn(16, 128, 256)

    def step():
        F.mse_loss(model(x), target).backward()
        opt.step()
        opt.zero_grad()

    return step


WORKLOADS["train_transformer_encoder"] = lambda: transformer_step(0.0)
WORKLOADS["train_transformer_encoder_dropout"] = lambda: transformer_step(0.1)


def peak_rss_mb():
    """VmHWM (the peak RSS) from /proc, else getrusage's maxrss; in MB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_main(model, steps):
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    torch.manual_seed(0)
    step = make_train_step(model)
    t0 = time.perf_counter()
    for _ in range(steps):
        step(*random_batch())
    seconds = time.perf_counter() - t0
    print(json.dumps({"peakRssMB": peak_rss_mb(), "seconds": seconds, "steps": steps}), flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "--memory" or sys.argv[2] not in MODELS:
        sys.exit(f"usage: bench_models.py --memory {'|'.join(MODELS)} STEPS")
    memory_main(sys.argv[2], int(sys.argv[3]))
