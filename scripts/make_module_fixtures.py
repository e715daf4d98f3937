#!/usr/bin/env python3
"""Write the PyTorch-oracle fixtures for Kindling's nn layers (test/nn/layers.test.ts).

Run:  /usr/bin/python3 scripts/make_module_fixtures.py [system]

Writes test/fixtures/module_layers.json, and test/fixtures/module_system.json
for test/nn/module_system.test.ts (with `system`, only the latter). Each case builds one layer (or a small
model) in PyTorch and records everything the TypeScript side needs to replay it:

  {
    "name":   "conv2d_stride2_pad1",
    "layer":  "Conv2d",                  # the nn class in Kindling (or a model the test defines)
    "args":   [1, 16, 3],                # Kindling's positional constructor arguments
    "opts":   {"stride": 2, "padding": 1},   # Kindling's trailing options object
    "train":  true,                      # the module's mode during forward
    "repr":   "Conv2d(1, 16, kernel_size=(3, 3), ...)",
    "state_keys":  [...],                # state_dict() keys in PyTorch's order
    "param_names": [...],                # named_parameters() names in order
    "state":  {"weight": T, "bias": T},  # loaded into the Kindling layer with loadStateDict
    "inputs": [T + {"requires_grad"}],   # forward(*inputs)
    "output": T,
    "gout":   T | null,                  # upstream gradient (null: output not differentiable)
    "input_grads": [T | null],           # d(sum(output * gout)) / d(input)
    "param_grads": {"weight": T, ...},   # the same for every parameter that got a grad
    "buffers_after": {"running_mean": T, ...},  # named_buffers() after the forward
    "tol": {"float32": {"rtol", "atol"}} # optional, for long reductions (conv, norms)
  }

T is {"shape", "dtype", "data"} with data flat in row-major order; float32 values
are written as the shortest decimal that reads back as the same float32, so both
sides see bit-identical parameters and inputs.
"""

import json
import math
import os
import sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    sys.exit('make_module_fixtures.py needs PyTorch (1.13 CPU) and numpy')

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_encoding import enc_scalar  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'module_layers.json')

DTYPE_NAMES = {torch.float32: 'float32', torch.float64: 'float64', torch.int64: 'int64', torch.int32: 'int32',
               torch.uint8: 'uint8', torch.bool: 'bool'}

# Long reductions (convolutions, normalisation over a batch) sum in another
# order than PyTorch; these bounds are still ~100x below a real bug.
LOOSE = {'float32': {'rtol': 1e-4, 'atol': 1e-5}}


def enc(t):
    t = t.detach()
    dtype = DTYPE_NAMES[t.dtype]
    return {'shape': list(t.shape), 'dtype': dtype,
            'data': [enc_scalar(v, dtype) for v in t.contiguous().reshape(-1).tolist()]}


def randn(*shape, scale=1.0):
    return torch.randn(shape, dtype=torch.float64).mul(scale).float()


def away(*shape, margin=0.05):
    """Values away from 0, so ReLU-like kinks are never hit."""
    x = torch.randn(shape, dtype=torch.float64)
    return (torch.sign(x) * (x.abs() + margin)).float()


def distinct(*shape):
    """Well separated values in random order: max pooling sees no ties."""
    n = int(np.prod(shape))
    vals = (torch.randperm(n, dtype=torch.float64) - n / 2) * 0.1 + torch.rand(n, dtype=torch.float64) * 0.05
    return vals.reshape(shape).float()


def probs(*shape, lo=0.05, hi=0.95):
    return (torch.rand(shape, dtype=torch.float64) * (hi - lo) + lo).float()


def randomize_norm(m):
    """Non-trivial affine parameters and running stats, so none of them is a no-op."""
    with torch.no_grad():
        if getattr(m, 'weight', None) is not None:
            m.weight.copy_(randn(*m.weight.shape, scale=0.5) + 1)
        if getattr(m, 'bias', None) is not None:
            m.bias.copy_(randn(*m.bias.shape, scale=0.5))
        if getattr(m, 'running_mean', None) is not None:
            m.running_mean.copy_(randn(*m.running_mean.shape, scale=0.3))
            m.running_var.copy_(probs(*m.running_var.shape, lo=0.5, hi=2.0))
            m.num_batches_tracked.fill_(3)


CASES = []


def case(name, layer, args, opts, make, inputs, train=True, grad=None, prepare=None, tol=None):
    """inputs: tensors; grad: which inputs require grad (default: the float ones)."""
    CASES.append(dict(name=name, layer=layer, args=args, opts=opts, make=make, inputs=inputs, train=train,
                      grad=grad, prepare=prepare, tol=tol))


def build():
    # ---- linear ---------------------------------------------------------------
    case('linear', 'Linear', [5, 3], {}, lambda: nn.Linear(5, 3), lambda: [randn(4, 5)])
    case('linear_no_bias', 'Linear', [5, 3], {'bias': False}, lambda: nn.Linear(5, 3, bias=False), lambda: [randn(4, 5)])
    case('linear_3d_input', 'Linear', [4, 2], {}, lambda: nn.Linear(4, 2), lambda: [randn(2, 3, 4)])
    case('linear_1d_input', 'Linear', [4, 2], {}, lambda: nn.Linear(4, 2), lambda: [randn(4)])

    # ---- conv -----------------------------------------------------------------
    case('conv2d_basic', 'Conv2d', [3, 4, 3], {}, lambda: nn.Conv2d(3, 4, 3), lambda: [randn(2, 3, 5, 5)], tol=LOOSE)
    case('conv2d_stride2_pad1', 'Conv2d', [1, 6, 3], {'stride': 2, 'padding': 1},
         lambda: nn.Conv2d(1, 6, kernel_size=3, stride=2, padding=1), lambda: [randn(2, 1, 7, 7)], tol=LOOSE)
    case('conv2d_rect_dilation_groups', 'Conv2d', [4, 6, [3, 2]],
         {'stride': [2, 1], 'padding': [1, 0], 'dilation': [1, 2], 'groups': 2, 'bias': False},
         lambda: nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2, bias=False),
         lambda: [randn(1, 4, 7, 6)], tol=LOOSE)
    case('conv2d_padding_same', 'Conv2d', [2, 3, 3], {'padding': 'same'},
         lambda: nn.Conv2d(2, 3, 3, padding='same'), lambda: [randn(1, 2, 5, 6)], tol=LOOSE)
    case('conv2d_padding_valid', 'Conv2d', [2, 3, 3], {'padding': 'valid'},
         lambda: nn.Conv2d(2, 3, 3, padding='valid'), lambda: [randn(1, 2, 5, 6)], tol=LOOSE)

    # ---- pooling ----------------------------------------------------------------
    case('maxpool2d_2', 'MaxPool2d', [2], {}, lambda: nn.MaxPool2d(2), lambda: [distinct(2, 3, 6, 6)])
    case('maxpool2d_3_s2_p1', 'MaxPool2d', [3], {'stride': 2, 'padding': 1},
         lambda: nn.MaxPool2d(3, stride=2, padding=1), lambda: [distinct(1, 2, 7, 7)])
    case('avgpool2d_4', 'AvgPool2d', [4], {}, lambda: nn.AvgPool2d(4), lambda: [randn(1, 2, 8, 8)])
    case('avgpool2d_3_s2_p1', 'AvgPool2d', [3], {'stride': 2, 'padding': 1},
         lambda: nn.AvgPool2d(3, stride=2, padding=1), lambda: [randn(1, 2, 7, 7)])
    case('adaptive_avgpool2d_1', 'AdaptiveAvgPool2d', [1], {}, lambda: nn.AdaptiveAvgPool2d(1), lambda: [randn(2, 3, 5, 5)])
    case('adaptive_avgpool2d_2x3', 'AdaptiveAvgPool2d', [[2, 3]], {}, lambda: nn.AdaptiveAvgPool2d((2, 3)),
         lambda: [randn(1, 2, 5, 7)])

    # ---- activations --------------------------------------------------------------
    case('relu', 'ReLU', [], {}, lambda: nn.ReLU(), lambda: [away(3, 5)])
    case('leaky_relu_default', 'LeakyReLU', [], {}, lambda: nn.LeakyReLU(), lambda: [away(3, 5)])
    case('leaky_relu_0.2', 'LeakyReLU', [0.2], {}, lambda: nn.LeakyReLU(0.2), lambda: [away(3, 5)])
    case('gelu', 'GELU', [], {}, lambda: nn.GELU(), lambda: [randn(3, 5)])
    case('gelu_tanh', 'GELU', [], {'approximate': 'tanh'}, lambda: nn.GELU(approximate='tanh'), lambda: [randn(3, 5)])
    case('sigmoid', 'Sigmoid', [], {}, lambda: nn.Sigmoid(), lambda: [randn(3, 5)])
    case('tanh', 'Tanh', [], {}, lambda: nn.Tanh(), lambda: [randn(3, 5)])
    case('softmax_dim1', 'Softmax', [1], {}, lambda: nn.Softmax(dim=1), lambda: [randn(3, 5)])
    case('log_softmax_last', 'LogSoftmax', [-1], {}, lambda: nn.LogSoftmax(dim=-1), lambda: [randn(2, 3, 4)])

    # ---- dropout (eval: identity) ----------------------------------------------------
    case('dropout_eval', 'Dropout', [0.5], {}, lambda: nn.Dropout(0.5), lambda: [randn(3, 4)], train=False)

    # ---- normalisation ----------------------------------------------------------------
    case('batchnorm1d_train', 'BatchNorm1d', [4], {}, lambda: nn.BatchNorm1d(4), lambda: [randn(6, 4)],
         prepare=randomize_norm, tol=LOOSE)
    case('batchnorm1d_train_3d', 'BatchNorm1d', [3], {}, lambda: nn.BatchNorm1d(3), lambda: [randn(4, 3, 5)],
         prepare=randomize_norm, tol=LOOSE)
    case('batchnorm1d_eval', 'BatchNorm1d', [4], {}, lambda: nn.BatchNorm1d(4), lambda: [randn(6, 4)],
         prepare=randomize_norm, train=False, tol=LOOSE)
    case('batchnorm2d_train', 'BatchNorm2d', [3], {}, lambda: nn.BatchNorm2d(3), lambda: [randn(4, 3, 3, 3)],
         prepare=randomize_norm, tol=LOOSE)
    case('batchnorm2d_eval', 'BatchNorm2d', [3], {}, lambda: nn.BatchNorm2d(3), lambda: [randn(4, 3, 3, 3)],
         prepare=randomize_norm, train=False, tol=LOOSE)
    case('batchnorm2d_momentum_none', 'BatchNorm2d', [3], {'momentum': None, 'eps': 1e-3},
         lambda: nn.BatchNorm2d(3, momentum=None, eps=1e-3), lambda: [randn(4, 3, 2, 3)],
         prepare=randomize_norm, tol=LOOSE)
    case('batchnorm2d_no_affine', 'BatchNorm2d', [3], {'affine': False, 'momentum': 0.3},
         lambda: nn.BatchNorm2d(3, affine=False, momentum=0.3), lambda: [randn(4, 3, 2, 3)],
         prepare=randomize_norm, tol=LOOSE)
    case('batchnorm2d_no_running_stats', 'BatchNorm2d', [3], {'trackRunningStats': False},
         lambda: nn.BatchNorm2d(3, track_running_stats=False), lambda: [randn(4, 3, 2, 3)],
         prepare=randomize_norm, train=False, tol=LOOSE)
    case('layernorm_1d', 'LayerNorm', [5], {}, lambda: nn.LayerNorm(5), lambda: [randn(3, 5)],
         prepare=randomize_norm, tol=LOOSE)
    case('layernorm_2d_shape', 'LayerNorm', [[2, 3]], {'eps': 1e-6}, lambda: nn.LayerNorm([2, 3], eps=1e-6),
         lambda: [randn(4, 2, 3)], prepare=randomize_norm, tol=LOOSE)
    case('layernorm_no_affine', 'LayerNorm', [4], {'elementwiseAffine': False},
         lambda: nn.LayerNorm(4, elementwise_affine=False), lambda: [randn(2, 3, 4)], tol=LOOSE)

    # ---- embedding, reshaping, identity ------------------------------------------------
    case('embedding', 'Embedding', [10, 3], {}, lambda: nn.Embedding(10, 3),
         lambda: [torch.tensor([[1, 2, 4, 5], [4, 3, 2, 9]])])
    case('embedding_repeated_index', 'Embedding', [5, 2], {}, lambda: nn.Embedding(5, 2),
         lambda: [torch.tensor([0, 3, 3, 1, 3])])
    case('flatten', 'Flatten', [], {}, lambda: nn.Flatten(), lambda: [randn(2, 3, 4)])
    case('flatten_0_1', 'Flatten', [0, 1], {}, lambda: nn.Flatten(0, 1), lambda: [randn(2, 3, 4)])
    case('identity', 'Identity', [], {}, lambda: nn.Identity(), lambda: [randn(2, 3)])

    # ---- losses --------------------------------------------------------------------------
    tgt5 = lambda *s: torch.randint(0, 5, s)
    case('cross_entropy', 'CrossEntropyLoss', [], {}, lambda: nn.CrossEntropyLoss(),
         lambda: [randn(4, 5), tgt5(4)])
    case('cross_entropy_sum', 'CrossEntropyLoss', [], {'reduction': 'sum'}, lambda: nn.CrossEntropyLoss(reduction='sum'),
         lambda: [randn(4, 5), tgt5(4)])
    case('cross_entropy_none', 'CrossEntropyLoss', [], {'reduction': 'none'}, lambda: nn.CrossEntropyLoss(reduction='none'),
         lambda: [randn(4, 5), tgt5(4)])
    case('cross_entropy_weight_ignore', 'CrossEntropyLoss', [],
         {'weight': {'tensor': [0.5, 1.0, 2.0, 1.5, 0.25]}, 'ignoreIndex': 2},
         lambda: nn.CrossEntropyLoss(weight=torch.tensor([0.5, 1.0, 2.0, 1.5, 0.25]), ignore_index=2),
         lambda: [randn(6, 5), torch.tensor([0, 2, 1, 4, 2, 3])])
    case('cross_entropy_label_smoothing', 'CrossEntropyLoss', [], {'labelSmoothing': 0.1},
         lambda: nn.CrossEntropyLoss(label_smoothing=0.1), lambda: [randn(4, 5), tgt5(4)])
    case('cross_entropy_4d', 'CrossEntropyLoss', [], {}, lambda: nn.CrossEntropyLoss(),
         lambda: [randn(2, 5, 3, 2), torch.randint(0, 5, (2, 3, 2))])
    case('nll_loss', 'NLLLoss', [], {}, lambda: nn.NLLLoss(), lambda: [F.log_softmax(randn(4, 5), 1), tgt5(4)])
    case('nll_loss_weight_sum', 'NLLLoss', [], {'weight': {'tensor': [1.0, 2.0, 0.5, 1.0, 3.0]}, 'reduction': 'sum'},
         lambda: nn.NLLLoss(weight=torch.tensor([1.0, 2.0, 0.5, 1.0, 3.0]), reduction='sum'),
         lambda: [F.log_softmax(randn(4, 5), 1), tgt5(4)])
    case('mse_loss', 'MSELoss', [], {}, lambda: nn.MSELoss(), lambda: [randn(3, 4), randn(3, 4)], grad=[True, True])
    case('mse_loss_sum', 'MSELoss', [], {'reduction': 'sum'}, lambda: nn.MSELoss(reduction='sum'),
         lambda: [randn(3, 4), randn(3, 4)], grad=[True, False])
    case('mse_loss_none', 'MSELoss', [], {'reduction': 'none'}, lambda: nn.MSELoss(reduction='none'),
         lambda: [randn(3, 4), randn(3, 4)], grad=[True, False])
    case('l1_loss', 'L1Loss', [], {}, lambda: nn.L1Loss(), lambda: [randn(3, 4), randn(3, 4)], grad=[True, True])
    case('l1_loss_none', 'L1Loss', [], {'reduction': 'none'}, lambda: nn.L1Loss(reduction='none'),
         lambda: [randn(3, 4), randn(3, 4)], grad=[True, False])
    case('bce_loss', 'BCELoss', [], {}, lambda: nn.BCELoss(), lambda: [probs(3, 4), probs(3, 4, lo=0, hi=1)],
         grad=[True, False])
    case('bce_loss_weight_sum', 'BCELoss', [], {'weight': {'tensor': [1.0, 0.5, 2.0, 1.5]}, 'reduction': 'sum'},
         lambda: nn.BCELoss(weight=torch.tensor([1.0, 0.5, 2.0, 1.5]), reduction='sum'),
         lambda: [probs(3, 4), torch.randint(0, 2, (3, 4)).float()], grad=[True, False])
    case('bce_with_logits', 'BCEWithLogitsLoss', [], {}, lambda: nn.BCEWithLogitsLoss(),
         lambda: [randn(3, 4, scale=3), probs(3, 4, lo=0, hi=1)], grad=[True, False])
    case('bce_with_logits_pos_weight', 'BCEWithLogitsLoss', [], {'posWeight': {'tensor': [1.0, 2.0, 3.0, 0.5]}},
         lambda: nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0, 2.0, 3.0, 0.5])),
         lambda: [randn(3, 4, scale=3), torch.randint(0, 2, (3, 4)).float()], grad=[True, False])

    # ---- containers and models --------------------------------------------------------------
    case('sequential_mlp', 'sequential_mlp', [], {},
         lambda: nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)), lambda: [randn(5, 6)])
    # The seed tutorial's CNN (narrower, so the fixture stays small).
    case('mnist_cnn', 'mnist_cnn', [], {}, lambda: nn.Sequential(
        nn.Conv2d(1, 4, kernel_size=3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(4, 4, kernel_size=3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(4, 3, kernel_size=3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten()), lambda: [randn(2, 1, 12, 12)], tol=LOOSE)
    case('net_eval', 'net', [], {}, Net, lambda: [randn(5, 3)], prepare=randomize_all_norms, train=False, tol=LOOSE)
    case('net_train', 'net', [], {}, Net, lambda: [randn(5, 3)], prepare=randomize_all_norms, train=True, tol=LOOSE)

    # ---- more activations, losses and distances (appended: earlier cases keep their seeds) ---------
    case('prelu_default', 'PReLU', [], {}, lambda: nn.PReLU(), lambda: [away(3, 5)])
    case('prelu_channels', 'PReLU', [3, 0.1], {}, lambda: nn.PReLU(3, 0.1), lambda: [away(2, 3, 2, 2)],
         prepare=lambda m: m.weight.data.copy_(torch.tensor([0.1, -0.3, 0.6])))
    case('prelu_float64', 'PReLU', [2], {'dtype': 'float64'}, lambda: nn.PReLU(2, dtype=torch.float64),
         lambda: [away(4, 2).double()])
    case('silu', 'SiLU', [], {}, lambda: nn.SiLU(), lambda: [randn(3, 4)])
    case('mish', 'Mish', [], {}, lambda: nn.Mish(), lambda: [randn(3, 4)])
    case('elu_alpha', 'ELU', [0.5], {}, lambda: nn.ELU(0.5), lambda: [away(3, 4)])
    case('selu', 'SELU', [], {}, lambda: nn.SELU(), lambda: [away(3, 4)])
    case('celu_alpha', 'CELU', [], {'alpha': 2.5}, lambda: nn.CELU(alpha=2.5), lambda: [away(3, 4)])
    case('softplus_beta_threshold', 'Softplus', [2, 5], {}, lambda: nn.Softplus(2, 5), lambda: [randn(3, 4, scale=3)])
    case('hardtanh_range', 'Hardtanh', [-2.5, 1.5], {}, lambda: nn.Hardtanh(-2.5, 1.5), lambda: [randn(3, 4, scale=2)])
    case('relu6', 'ReLU6', [], {}, lambda: nn.ReLU6(), lambda: [randn(3, 4, scale=4)])
    case('hardswish', 'Hardswish', [], {}, lambda: nn.Hardswish(), lambda: [randn(3, 4, scale=3)])
    case('hardsigmoid', 'Hardsigmoid', [], {}, lambda: nn.Hardsigmoid(), lambda: [randn(3, 4, scale=3)])
    case('glu_dim1', 'GLU', [1], {}, lambda: nn.GLU(1), lambda: [randn(2, 4, 3)])
    case('softmin_dim1', 'Softmin', [], {'dim': 1}, lambda: nn.Softmin(dim=1), lambda: [randn(3, 4)])
    case('logsigmoid', 'LogSigmoid', [], {}, lambda: nn.LogSigmoid(), lambda: [randn(3, 4, scale=3)])
    case('softsign', 'Softsign', [], {}, lambda: nn.Softsign(), lambda: [randn(3, 4)])
    case('tanhshrink', 'Tanhshrink', [], {}, lambda: nn.Tanhshrink(), lambda: [randn(3, 4)])
    case('hardshrink', 'Hardshrink', [], {}, lambda: nn.Hardshrink(), lambda: [randn(3, 4)])
    case('softshrink_lambd', 'Softshrink', [0.3], {}, lambda: nn.Softshrink(0.3), lambda: [randn(3, 4)])
    case('threshold', 'Threshold', [0.1, 20], {}, lambda: nn.Threshold(0.1, 20), lambda: [randn(3, 4)])
    case('smooth_l1_beta', 'SmoothL1Loss', [], {'beta': 0.5}, lambda: nn.SmoothL1Loss(beta=0.5),
         lambda: [randn(3, 4, scale=2), randn(3, 4)], grad=[True, True])
    case('huber_delta_none', 'HuberLoss', ['none', 0.5], {}, lambda: nn.HuberLoss('none', 0.5),
         lambda: [randn(3, 4, scale=2), randn(3, 4)], grad=[True, False])
    case('kl_div_batchmean_log_target', 'KLDivLoss', [], {'reduction': 'batchmean', 'logTarget': True},
         lambda: nn.KLDivLoss(reduction='batchmean', log_target=True),
         lambda: [F.log_softmax(randn(3, 4), 1), F.log_softmax(randn(3, 4), 1)], grad=[True, False])
    case('cosine_embedding', 'CosineEmbeddingLoss', [0.2], {}, lambda: nn.CosineEmbeddingLoss(0.2),
         lambda: [randn(4, 5), randn(4, 5), torch.tensor([1.0, -1.0, 1.0, -1.0])], grad=[True, True, False])
    case('margin_ranking', 'MarginRankingLoss', [], {'margin': 0.3}, lambda: nn.MarginRankingLoss(margin=0.3),
         lambda: [randn(5), randn(5), torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0])], grad=[True, True, False])
    case('hinge_embedding', 'HingeEmbeddingLoss', [0.5], {}, lambda: nn.HingeEmbeddingLoss(0.5),
         lambda: [randn(3, 4, scale=2), torch.tensor([[1.0, -1.0, 1.0, -1.0]] * 3)], grad=[True, False])
    case('triplet_swap', 'TripletMarginLoss', [], {'margin': 2.0, 'swap': True}, lambda: nn.TripletMarginLoss(margin=2.0, swap=True),
         lambda: [randn(4, 3), randn(4, 3), randn(4, 3)])
    case('poisson_nll_full', 'PoissonNLLLoss', [True, True], {}, lambda: nn.PoissonNLLLoss(True, True),
         lambda: [randn(3, 4), torch.tensor([[0.0, 1.0, 2.0, 5.0]] * 3)], grad=[True, False])
    case('gaussian_nll_full', 'GaussianNLLLoss', [], {'full': True}, lambda: nn.GaussianNLLLoss(full=True),
         lambda: [randn(3, 4), randn(3, 4), probs(3, 4)], grad=[True, False, True])
    case('multilabel_soft_margin_weight', 'MultiLabelSoftMarginLoss', [], {'weight': {'tensor': [1.0, 0.5, 2.0, 1.5]}},
         lambda: nn.MultiLabelSoftMarginLoss(weight=torch.tensor([1.0, 0.5, 2.0, 1.5])),
         lambda: [randn(3, 4, scale=2), torch.randint(0, 2, (3, 4)).float()], grad=[True, False])
    case('soft_margin_sum', 'SoftMarginLoss', [], {'reduction': 'sum'}, lambda: nn.SoftMarginLoss(reduction='sum'),
         lambda: [randn(3, 4, scale=2), torch.tensor([[1.0, -1.0, -1.0, 1.0]] * 3)], grad=[True, False])
    case('multi_margin_p2_weight', 'MultiMarginLoss', [2, 0.5], {'weight': {'tensor': [1.0, 2.0, 0.5, 1.5, 1.0]}},
         lambda: nn.MultiMarginLoss(2, 0.5, weight=torch.tensor([1.0, 2.0, 0.5, 1.5, 1.0])),
         lambda: [randn(4, 5), torch.tensor([0, 3, 4, 1])])
    case('multilabel_margin', 'MultiLabelMarginLoss', [], {}, lambda: nn.MultiLabelMarginLoss(),
         lambda: [randn(3, 4), torch.tensor([[3, 0, -1, 1], [0, 1, 2, 3], [1, -1, 0, 0]])])
    case('cosine_similarity_dim0', 'CosineSimilarity', [0], {}, lambda: nn.CosineSimilarity(0),
         lambda: [randn(3, 4), randn(3, 4)])
    case('pairwise_distance_p1_keepdim', 'PairwiseDistance', [1.0], {'keepdim': True}, lambda: nn.PairwiseDistance(1.0, keepdim=True),
         lambda: [randn(3, 4), randn(3, 4)])


class Block(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.fc = nn.Linear(n, n)
        self.bn = nn.BatchNorm1d(n)

    def forward(self, x):
        return F.relu(self.bn(self.fc(x)))


class Net(nn.Module):
    """Nested ModuleList / Sequential / own parameter / own buffer: the naming test model."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(3, 4)
        self.blocks = nn.ModuleList([Block(4), Block(4)])
        self.head = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Dropout(0.0), nn.Linear(4, 2))
        self.scale = nn.Parameter(torch.ones(2))
        self.register_buffer('offset', torch.zeros(2))

    def forward(self, x):
        h = self.stem(x)
        for b in self.blocks:
            h = b(h)
        return self.head(h) * self.scale + self.offset


def randomize_all_norms(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            randomize_norm(m)
    with torch.no_grad():
        model.scale.copy_(randn(2) + 1)
        model.offset.copy_(randn(2))


def run(c, seed):
    torch.manual_seed(seed)
    m = c['make']()
    if c['prepare']:
        c['prepare'](m)
    m.train(c['train'])
    state = {k: enc(v) for k, v in m.state_dict().items()}
    raw = c['inputs']()
    want = c['grad'] or [t.is_floating_point() for t in raw]
    xs = [t.clone().requires_grad_(bool(g)) for t, g in zip(raw, want)]
    out = m(*xs)
    out_diff = out.requires_grad
    gout = randn(*out.shape) if out_diff else None
    if out_diff:
        out.backward(gout)
    rec = {
        'name': c['name'], 'layer': c['layer'], 'args': c['args'], 'opts': c['opts'], 'train': c['train'],
        'repr': repr(m),
        'state_keys': list(m.state_dict().keys()),
        'param_names': [n for n, _ in m.named_parameters()],
        'state': state,
        'inputs': [dict(enc(t), requires_grad=bool(g)) for t, g in zip(raw, want)],
        'output': enc(out),
        'gout': enc(gout) if gout is not None else None,
        'input_grads': [enc(x.grad) if x.grad is not None else None for x in xs],
        'param_grads': {n: enc(p.grad) for n, p in m.named_parameters() if p.grad is not None},
        'buffers_after': {n: enc(b) for n, b in m.named_buffers()},
    }
    if c['tol']:
        rec['tol'] = c['tol']
    return rec


# ---- module system (test/nn/module_system.test.ts) -------------------------------------------
# Container key lists, nn.utils numbers and what full backward hooks see,
# written to test/fixtures/module_system.json (`make_module_fixtures.py system`
# writes only that file). The TypeScript test builds the same models.
SYSTEM_OUT = os.path.join(ROOT, 'test', 'fixtures', 'module_system.json')


class SysNet(nn.Module):
    def __init__(self):
        super().__init__()
        from collections import OrderedDict
        self.features = nn.Sequential(OrderedDict([('conv', nn.Conv2d(1, 2, 3)), ('bn', nn.BatchNorm2d(2)), ('act', nn.ReLU())]))
        self.heads = nn.ModuleDict({'cls': nn.Linear(4, 3), 'box': nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))})
        self.scales = nn.ParameterList([nn.Parameter(randn(2)), nn.Parameter(randn(3))])
        self.extra = nn.ParameterDict({'beta': nn.Parameter(randn(1)), 'alpha': nn.Parameter(randn(1))})
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4)])
        self.blocks.append(self.heads['cls'])  # the same module under two names
        self.register_buffer('step', torch.zeros(()))


class Mix(nn.Module):
    """forward(a, scale, b) = lin(a) * scale + b: a non-tensor argument between two tensors."""
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, a, scale, b):
        return self.lin(a) * scale + b


class Split(nn.Module):
    """Two outputs: lin(x) and (x * x).sum(1)."""
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        return self.lin(x), (x * x).sum(1)


def names(pairs):
    return [n for n, _ in pairs]


def system_keys():
    torch.manual_seed(7)
    net = SysNet()
    rec = {
        'state': {k: enc(v) for k, v in net.state_dict().items()},
        'state_keys': list(net.state_dict().keys()),
        'named_modules': names(net.named_modules()),
        'named_modules_dup': names(net.named_modules(remove_duplicate=False)),
        'named_modules_prefix': names(net.named_modules(prefix='model')),
        'named_parameters': names(net.named_parameters()),
        'named_parameters_prefix_norecurse': names(net.named_parameters(prefix='m', recurse=False)),
        'named_buffers': names(net.named_buffers()),
        'named_children': names(net.named_children()),
        'features_slice_keys': list(net.features[1:].state_dict().keys()),
        'blocks_slice_keys': list(net.blocks[1:].state_dict().keys()),
        'vector': enc(nn.utils.parameters_to_vector(net.parameters())),
    }
    del net.features[0]
    rec['features_after_del_keys'] = list(net.features.state_dict().keys())
    return rec


def clip_cases():
    torch.manual_seed(11)
    out = []
    shapes = [(3, 4), (4,), (2, 2, 2)]
    for name, norm_type, max_norm, dtype in [
        ('l2_clipped', 2.0, 0.5, torch.float32), ('l2_not_clipped', 2.0, 100.0, torch.float32),
        ('l1', 1.0, 1.0, torch.float32), ('inf', float('inf'), 0.25, torch.float32), ('p3', 3.0, 0.7, torch.float32),
        ('l2_float64', 2.0, 0.5, torch.float64), ('inf_float64', float('inf'), 0.1, torch.float64),
    ]:
        grads = [torch.randn(s, dtype=torch.float64).to(dtype) for s in shapes]
        ps = [torch.zeros(s, dtype=dtype, requires_grad=True) for s in shapes]
        for p, g in zip(ps, grads):
            p.grad = g.clone()
        ps.append(torch.zeros(2, dtype=dtype, requires_grad=True))  # no grad: skipped
        total = nn.utils.clip_grad_norm_(ps, max_norm, norm_type)
        out.append({'name': name, 'norm_type': 'inf' if norm_type == float('inf') else norm_type, 'max_norm': max_norm,
                    'grads': [enc(g) for g in grads], 'total': enc(total), 'clipped': [enc(p.grad) for p in ps[:3]]})
    grads = [torch.randn(s, dtype=torch.float64).float() for s in shapes]
    ps = [torch.zeros(s, requires_grad=True) for s in shapes]
    for p, g in zip(ps, grads):
        p.grad = g.clone()
    nn.utils.clip_grad_value_(ps, 0.5)
    value = {'clip_value': 0.5, 'grads': [enc(g) for g in grads], 'clipped': [enc(p.grad) for p in ps]}
    return out, value


def hook_cases():
    recs = []

    def run(name, make, inputs, replace=None):
        torch.manual_seed(5)
        m = make()
        seen = []

        def hook(mod, gin, gout):
            seen.append({'grad_input': [enc(g) if g is not None else None for g in gin],
                         'grad_output': [enc(g) if g is not None else None for g in gout]})
            if replace is not None:
                return tuple(None if g is None else g * replace for g in gin)

        m.register_full_backward_hook(hook)
        xs = [x.clone().requires_grad_(rg) if isinstance(x, torch.Tensor) else x for x, rg in inputs]
        out = m(*xs)
        outs = out if isinstance(out, tuple) else (out,)
        gouts = [randn(*o.shape) for o in outs]
        torch.autograd.backward(list(outs), gouts)
        recs.append({
            'name': name, 'replace': replace,
            'state': {k: enc(v) for k, v in m.state_dict().items()},
            'inputs': [dict(enc(x), requires_grad=rg) if isinstance(x, torch.Tensor) else x for x, rg in inputs],
            'gouts': [enc(g) for g in gouts],
            'calls': seen,
            'input_grads': [enc(x.grad) if isinstance(x, torch.Tensor) and x.grad is not None else None for x in xs],
            'param_grads': {n: enc(p.grad) for n, p in m.named_parameters() if p.grad is not None},
        })

    torch.manual_seed(3)
    x = randn(4, 3)
    b = randn(4, 2)
    run('linear', lambda: nn.Linear(3, 2), [(x, True)])
    run('linear_replace', lambda: nn.Linear(3, 2), [(x, True)], replace=3.0)
    run('linear_input_no_grad', lambda: nn.Linear(3, 2), [(x, False)])
    run('mix', Mix, [(x, True), (2.5, False), (b, True)])
    run('mix_b_no_grad', Mix, [(x, True), (0.5, False), (b, False)])
    run('mix_replace', Mix, [(x, True), (2.5, False), (b, True)], replace=-1.0)
    run('split', Split, [(x, True)])
    return recs


def system():
    clip, value = clip_cases()
    fx = {
        'family': 'module_system',
        'torch_version': torch.__version__,
        'keys': system_keys(),
        'clip_grad_norm': clip,
        'clip_grad_value': value,
        'hooks': hook_cases(),
    }
    with open(SYSTEM_OUT, 'w') as f:
        json.dump(fx, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {os.path.relpath(SYSTEM_OUT, ROOT)} ({os.path.getsize(SYSTEM_OUT) // 1024} KiB)')


def main():
    if sys.argv[1:] == ['system']:
        system()
        return
    # `layers` writes only module_layers.json.
    if sys.argv[1:] != ['layers']:
        system()
    build()
    names = [c['name'] for c in CASES]
    assert len(names) == len(set(names)), 'duplicate case names'
    cases = [run(c, 1000 + i) for i, c in enumerate(CASES)]
    fx = {
        'family': 'module_layers',
        'torch_version': torch.__version__,
        'tolerance': {'float32': {'rtol': 2e-5, 'atol': 2e-6}},
        'cases': cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(fx, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {len(cases)} cases to {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT) // 1024} KiB)')


if __name__ == '__main__':
    main()
