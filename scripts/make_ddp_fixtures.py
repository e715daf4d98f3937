"""Writes test/fixtures/ddp_pytorch.json: the parameters PyTorch 1.13's
DistributedDataParallel over gloo ends with, on 2 and on 4 ranks
(torch.multiprocessing), after 20 steps of the seed CNN with SGD (momentum
0.9) and of a LeNet-style CNN with Adam, from the integer-formula weights and
data of test/nn/parallel/helpers/ddp_setup.ts (each rank starts from its own
weights; DDP's broadcast makes them rank 0's). test/nn/parallel/ddp.test.ts
checks Kindling's DDP against them. Parameters are float32 bytes in base64.

Each run is made twice, with PyTorch's two CPU convolutions: 'native' (its
im2col + GEMM path, torch.backends.mkldnn disabled), which sums each output
in the order Kindling's convolution does, and 'onednn' (the default, oneDNN's
JIT kernels, which sum in another order). The two differ only by float32
rounding, but Adam divides each step by the root of the second moment, so an
element whose gradient is about eps (1e-8) -- a sum that cancels to rounding
noise -- moves by a sizeable share of lr on that noise: after 20 LeNet steps
PyTorch's two paths are 2e-5 apart from each other.
Run with /usr/bin/python3 (Debian's python3-torch)."""
import base64
import json
import math
import os
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F

STEPS = 20
PER_RANK = 4


class View(nn.Module):
    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.view(x.size(0) if self.shape[0] is None else self.shape[0], *self.shape[1:])


def build(name):
    if name == 'cnn':
        return nn.Sequential(View(-1, 1, 28, 28), nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
                             nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.ReLU(),
                             nn.Conv2d(16, 10, 3, stride=2, padding=1), nn.ReLU(), nn.AvgPool2d(4), View(None, -1))
    return nn.Sequential(View(-1, 1, 28, 28), nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def optimizer(name, model):
    if name == 'cnn':
        return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return torch.optim.Adam(model.parameters(), lr=1e-3)


def init_weights(model, salt):
    with torch.no_grad():
        for t, p in enumerate(model.parameters()):
            n = p.numel()
            fan_in = n / p.shape[0] if p.dim() > 1 else n
            bound = 1 / math.sqrt(fan_in)
            v = [(((k * 2654435761 + (t + salt) * 40503 + 12345) % 4294967296) / 4294967296 - 0.5) * 2 * bound
                 for k in range(n)]
            p.copy_(torch.tensor(v, dtype=torch.float32).view(p.shape))


def batch(step, total):
    base = step * total * 784
    x = [(((base + i) * 1103515245 + 12345) % 2147483648) % 256 / 255 for i in range(total * 784)]
    y = [(step * 31 + i * 7 + (i * i) % 3) % 10 for i in range(total)]
    return torch.tensor(x, dtype=torch.float32).view(total, 784), torch.tensor(y, dtype=torch.int64)


def run(rank, world, name, conv, port, out):
    torch.set_num_threads(1)
    torch.backends.mkldnn.enabled = conv == 'onednn'
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=world)
    model = build(name)
    init_weights(model, rank)
    ddp = nn.parallel.DistributedDataParallel(model)
    opt = optimizer(name, model)
    total = PER_RANK * world
    for s in range(STEPS):
        x, y = batch(s, total)
        F.cross_entropy(ddp(x[rank * PER_RANK:(rank + 1) * PER_RANK]), y[rank * PER_RANK:(rank + 1) * PER_RANK]).backward()
        opt.step()
        opt.zero_grad()
    if rank == 0:
        params = [base64.b64encode(p.detach().contiguous().numpy().tobytes()).decode() for p in model.parameters()]
        with open(out, 'w') as f:
            json.dump({'model': name, 'world': world, 'conv': conv, 'params': params}, f)
    dist.destroy_process_group()


if __name__ == '__main__':
    runs = []
    tmp = '/tmp' if os.path.isdir('/tmp') else '.'
    i = 0
    for world in [2, 4]:
        for name in ['cnn', 'lenet']:
            for conv in ['native', 'onednn']:
                part = os.path.join(tmp, f'ddp_fixture_{os.getpid()}_{i}.json')
                mp.spawn(run, args=(world, name, conv, 29500 + (os.getpid() + i) % 10000, part), nprocs=world, join=True)
                with open(part) as f:
                    runs.append(json.load(f))
                os.remove(part)
                i += 1
    result = {'steps': STEPS, 'perRank': PER_RANK, 'runs': runs}
    path = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'ddp_pytorch.json')
    with open(path, 'w') as f:
        json.dump(result, f, separators=(',', ':'))
    print('wrote', path, file=sys.stderr)
