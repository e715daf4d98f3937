"""Runs seed 000's code in PyTorch and records what it prints, so the
TypeScript port (examples/seeds/seed000_linear_uz.ts) is checked against
PyTorch. Seed 000 uses x and y from an earlier lesson that the seeds do not
include; this uses the thermometer data of the same course ("Deep Learning
with PyTorch", ch. 5), which the seed's code (x * 0.1, 5000 epochs, lr 1e-2)
was written for. Run with /usr/bin/python3 (Debian's python3-torch)."""
import json
import os

import torch

X = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4]
Y = [0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0]


def model(x, w, b):
    return w * x + b


def loss_fn(yy, y):
    return ((yy - y) ** 2).mean()


def main():
    x = torch.tensor(X)
    y = torch.tensor(Y)
    params = torch.tensor([1.0, 0.0], requires_grad=True)
    loss = loss_fn(model(x, *params), y)
    loss.backward()
    first_grad = params.grad.tolist()

    params = torch.tensor([1.0, 0.0], requires_grad=True)
    xs = x * 0.1
    logs = []
    for epoch in range(1, 5001):
        if params.grad is not None:
            params.grad.zero_()
        l = loss_fn(model(xs, *params), y)
        l.backward()
        with torch.no_grad():
            params -= 1e-2 * params.grad
        if epoch % 500 == 0:
            logs.append("Epoch %d, Loss %f" % (epoch, float(l)))
    yy = model(xs, *params)
    out = {
        "x": X,
        "y": Y,
        "first_grad": first_grad,
        "first_grad_str": str(torch.tensor(first_grad)),
        "logs": logs,
        "params": params.tolist(),
        "yy_str": str(yy),
    }
    path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "seed000.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
