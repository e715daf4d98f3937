"""PyTorch side of the CUDA rows of `npm run bench` (bench/cuda_workloads.ts):
the same workloads with every tensor on the GPU. Each timed call ends with
torch.cuda.synchronize(), so the clock stops when the device has finished.
WORKLOADS is empty when torch.cuda.is_available() is false."""
import torch
import torch.nn.functional as F

import bench_models

BATCH = 64
DEVICE = "cuda"


def _sync():
    torch.cuda.synchronize()


def matmul(n):
    a = torch.randn(n, n, device=DEVICE)
    b = torch.randn(n, n, device=DEVICE)

    def run():
        torch.mm(a, b)
        _sync()

    return run


CONVS = {
    "cuda_conv_cnn_1to16_28x28_s2": (1, 16, 28, 2),
    "cuda_conv_lenet_1to32_28x28": (1, 32, 28, 1),
    "cuda_conv_lenet_32to64_14x14": (32, 64, 14, 1),
}


def conv(cin, cout, hw, stride):
    x = torch.randn(BATCH, cin, hw, hw, device=DEVICE, requires_grad=True)
    w = torch.randn(cout, cin, 3, 3, device=DEVICE, requires_grad=True)
    b = torch.randn(cout, device=DEVICE, requires_grad=True)
    g = torch.ones_like(F.conv2d(x, w, b, stride=stride, padding=1))

    def run():
        F.conv2d(x, w, b, stride=stride, padding=1).backward(g)
        x.grad = w.grad = b.grad = None
        _sync()

    return run


def train(name):
    torch.manual_seed(0)
    model = bench_models.build_model(name).to(DEVICE)
    opt = bench_models.build_optimizer(name, model)
    x = torch.rand(BATCH, 784, device=DEVICE)
    y = torch.randint(0, 10, (BATCH,), device=DEVICE)

    def run():
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        _sync()

    return run


WORKLOADS = {}
if torch.cuda.is_available():
    for n in (1024, 4096):
        WORKLOADS[f"cuda_matmul_{n}"] = (lambda n: lambda: matmul(n))(n)
    for name, shape in CONVS.items():
        WORKLOADS[name] = (lambda shape: lambda: conv(*shape))(shape)
    for m in ("cnn", "mlp", "lenet"):
        WORKLOADS[f"cuda_train_{m}"] = (lambda m: lambda: train(m))(m)
