#!/usr/bin/env python3
"""Write the PyTorch-oracle fixtures for Kindling's nn.functional (F).

Run:  /usr/bin/python3 scripts/make_nn_fixtures.py

Writes test/fixtures/nn_<family>.json for the families conv, pool, norm,
loss and misc. Each case has the shape test/helpers/fixtures.ts replays
(see scripts/make_fixtures.py for the format): `op` is the Kindling name,
`args` reference the inputs (null for an absent optional tensor), `kwargs`
are Kindling's camelCase options, `outputs` PyTorch's results, `gouts` the
upstream gradient per output and `grads` d(sum_k out_k * gout_k)/d(input).
`gradcheck` marks cases small enough to gradcheck in float64 (PyTorch's
gradcheck passed on them). `error` marks calls PyTorch rejects.

Batch norm cases return [y, running_mean, running_var] after the call, so
the in-place running-statistics update is checked as well.
"""

import json
import warnings
import math
import os
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError:
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    sys.exit('make_nn_fixtures.py needs PyTorch (1.13 CPU) and numpy')

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_encoding import enc_scalar  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, 'test', 'fixtures')

NAMES = {torch.float32: 'float32', torch.float64: 'float64', torch.int64: 'int64', torch.int32: 'int32',
         torch.bool: 'bool', torch.uint8: 'uint8'}
FLOATS = ('float32', 'float64')

# Most cases sum many float32 products in an order PyTorch does not share.
TOLERANCE = {'float32': {'rtol': 1e-4, 'atol': 2e-5}, 'float64': {'rtol': 1e-9, 'atol': 1e-11}}

# gradcheck in Kindling costs two forwards per input element and one
# backward per output element; keep it to small cases.
GRADCHECK_MAX_IN = 400
GRADCHECK_MAX_OUT = 200


def enc(t):
    t = t.detach()
    dtype = NAMES[t.dtype]
    return {'shape': list(t.shape), 'dtype': dtype,
            'data': [enc_scalar(v, dtype) for v in t.contiguous().reshape(-1).tolist()]}


# ---------------------------------------------------------------------------
# PyTorch versions of the test's lambdas: (refs, kwargs) -> output(s)

def pair_or(v):
    return tuple(v) if isinstance(v, list) else v


def t_conv2d(a, kw):
    k = {}
    for name in ('stride', 'padding', 'dilation', 'groups'):
        if name in kw:
            k[name] = pair_or(kw[name])
    return F.conv2d(a[0], a[1], a[2], **k)


def t_max_pool2d(a, kw):
    return F.max_pool2d(a[0], pair_or(kw['kernelSize']), stride=pair_or(kw.get('stride')),
                        padding=pair_or(kw.get('padding', 0)), dilation=pair_or(kw.get('dilation', 1)),
                        ceil_mode=kw.get('ceilMode', False))


def t_max_pool2d_indices(a, kw):
    return F.max_pool2d(a[0], pair_or(kw['kernelSize']), stride=pair_or(kw.get('stride')),
                        padding=pair_or(kw.get('padding', 0)), dilation=pair_or(kw.get('dilation', 1)),
                        ceil_mode=kw.get('ceilMode', False), return_indices=True)


def t_avg_pool2d(a, kw):
    return F.avg_pool2d(a[0], pair_or(kw['kernelSize']), stride=pair_or(kw.get('stride')),
                        padding=pair_or(kw.get('padding', 0)), ceil_mode=kw.get('ceilMode', False),
                        count_include_pad=kw.get('countIncludePad', True),
                        divisor_override=kw.get('divisorOverride'))


def t_adaptive(a, kw):
    o = kw['outputSize']
    return F.adaptive_avg_pool2d(a[0], tuple(o) if isinstance(o, list) else o)


def t_batch_norm(a, kw):
    x, rm, rv, w, b = a
    y = F.batch_norm(x, rm, rv, weight=w, bias=b, training=kw.get('training', False),
                     momentum=kw.get('momentum', 0.1), eps=kw.get('eps', 1e-5))
    outs = [y]
    if rm is not None:
        outs.append(rm.clone())
    if rv is not None:
        outs.append(rv.clone())
    return tuple(outs)


def t_layer_norm(a, kw):
    x, w, b = a
    return F.layer_norm(x, kw['normalizedShape'], weight=w, bias=b, eps=kw.get('eps', 1e-5))


def t_linear(a, kw):
    return F.linear(a[0], a[1], a[2])


def t_cross_entropy(a, kw):
    return F.cross_entropy(a[0], a[1], weight=a[2], ignore_index=kw.get('ignoreIndex', -100),
                           reduction=kw.get('reduction', 'mean'), label_smoothing=kw.get('labelSmoothing', 0.0))


def t_nll(a, kw):
    return F.nll_loss(a[0], a[1], weight=a[2], ignore_index=kw.get('ignoreIndex', -100),
                      reduction=kw.get('reduction', 'mean'))


def t_bce(a, kw):
    return F.binary_cross_entropy(a[0], a[1], weight=a[2], reduction=kw.get('reduction', 'mean'))


def t_bce_logits(a, kw):
    return F.binary_cross_entropy_with_logits(a[0], a[1], weight=a[2], pos_weight=a[3],
                                              reduction=kw.get('reduction', 'mean'))


TORCH = {
    'conv2d': t_conv2d,
    'maxPool2d': t_max_pool2d,
    'maxPool2dWithIndices': t_max_pool2d_indices,
    'avgPool2d': t_avg_pool2d,
    'adaptiveAvgPool2d': t_adaptive,
    'batchNorm': t_batch_norm,
    'layerNorm': t_layer_norm,
    'linear': t_linear,
    'relu': lambda a, kw: F.relu(a[0]),
    'leakyRelu': lambda a, kw: F.leaky_relu(a[0], kw.get('negativeSlope', 0.01)),
    'gelu': lambda a, kw: F.gelu(a[0], approximate=kw.get('approximate', 'none')),
    'sigmoid': lambda a, kw: torch.sigmoid(a[0]),
    'tanh': lambda a, kw: torch.tanh(a[0]),
    'softmax': lambda a, kw: F.softmax(a[0], kw['dim']),
    'logSoftmax': lambda a, kw: F.log_softmax(a[0], kw['dim']),
    'embedding': lambda a, kw: F.embedding(a[0], a[1], padding_idx=kw.get('paddingIdx')),
    'oneHot': lambda a, kw: F.one_hot(a[0], kw.get('numClasses', -1)),
    'crossEntropy': t_cross_entropy,
    'nllLoss': t_nll,
    'mseLoss': lambda a, kw: F.mse_loss(a[0], a[1], reduction=kw.get('reduction', 'mean')),
    'l1Loss': lambda a, kw: F.l1_loss(a[0], a[1], reduction=kw.get('reduction', 'mean')),
    'binaryCrossEntropy': t_bce,
    'binaryCrossEntropyWithLogits': t_bce_logits,
    'softplus': lambda a, kw: F.softplus(a[0], beta=kw.get('beta', 1), threshold=kw.get('threshold', 20)),
}


# ---------------------------------------------------------------------------
# building cases

def inp(t, grad=False, view=None):
    return {'t': t, 'grad': grad, 'view': view or []}


def apply_view(t, views):
    for v in views:
        if v['view'] == 'transpose':
            t = t.transpose(*v['dims'])
        elif v['view'] == 'permute':
            t = t.permute(*v['dims'])
        else:
            raise ValueError(v)
    return t


def make_case(name, op, inputs, kwargs=None, gradcheck=True, error=False):
    """inputs: a list of inp(...) or None (an absent optional tensor argument)."""
    kwargs = kwargs or {}
    present = [i for i in inputs if i is not None]
    args, k = [], 0
    for i in inputs:
        if i is None:
            args.append(None)
        else:
            args.append({'ref': k})
            k += 1
    case = {'name': name, 'op': op, 'args': args, 'kwargs': kwargs,
            'inputs': [dict(enc(i['t']), requires_grad=bool(i['grad']), view=i['view']) for i in present]}

    def run(dtype=None):
        leaves = []
        for i in present:
            t = i['t'].detach().clone()
            if dtype is not None and t.is_floating_point():
                t = t.to(dtype)
            if i['grad']:
                t.requires_grad_(True)
            leaves.append(t)
        refs = [apply_view(l, i['view']) for l, i in zip(leaves, present)]
        it = iter(refs)
        a = [None if i is None else next(it) for i in inputs]
        return leaves, TORCH[op](a, kwargs)

    if error:
        try:
            run()
        except Exception:  # noqa: BLE001 - any PyTorch error counts
            case['error'] = True
            return case
        raise AssertionError(f'{name}: expected PyTorch to raise')

    leaves, out = run()
    outs = list(out) if isinstance(out, tuple) else [out]
    case['outputs'] = [enc(o) for o in outs]
    gouts = [torch.randn(o.shape, dtype=o.dtype) if (o.is_floating_point() and o.requires_grad) else None for o in outs]
    case['gouts'] = [enc(g) if g is not None else None for g in gouts]
    if any(g is not None for g in gouts):
        total = sum((o * g).sum() for o, g in zip(outs, gouts) if g is not None)
        total.backward()
        case['grads'] = [enc(l.grad) if i['grad'] else None for l, i in zip(leaves, present)]
    n_in = sum(i['t'].numel() for i in present if i['grad'])
    n_out = sum(o.numel() for o, g in zip(outs, gouts) if g is not None)
    if gradcheck and n_in and n_out and n_in <= GRADCHECK_MAX_IN and n_out <= GRADCHECK_MAX_OUT:
        grad_inputs = [i for i in present if i['grad']]

        def fn(*xs):
            it = iter(xs)
            full = [next(it).clone() if i['grad'] else (i['t'].to(torch.float64) if i['t'].is_floating_point() else i['t']).clone()
                    for i in present]
            refs = [apply_view(t, i['view']) for t, i in zip(full, present)]
            r = iter(refs)
            a = [None if i is None else next(r) for i in inputs]
            o = TORCH[op](a, kwargs)
            os_ = list(o) if isinstance(o, tuple) else [o]
            return tuple(x for x, g in zip(os_, gouts) if g is not None)

        xs = [i['t'].detach().to(torch.float64).requires_grad_(True) for i in grad_inputs]
        if torch.autograd.gradcheck(fn, xs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=False):
            case['gradcheck'] = True
        else:
            print(f'  note: PyTorch gradcheck fails for {name}; not marked', file=sys.stderr)
    return case


def randn(*shape, dtype=torch.float32, scale=1.0):
    return (torch.randn(shape, dtype=torch.float64) * scale).to(dtype)


def distinct(*shape, dtype=torch.float32):
    """Well separated values (no ties for max pooling)."""
    n = int(np.prod(shape))
    v = (torch.randperm(n, dtype=torch.float64) - n / 2) * 0.1 + torch.rand(n, dtype=torch.float64) * 0.05
    return v.reshape(shape).to(dtype)


def ints(lo, hi, *shape):
    return torch.randint(lo, hi, shape, dtype=torch.int64)


def probs(*shape, dtype=torch.float32):
    return (torch.rand(shape, dtype=torch.float64) * 0.9 + 0.05).to(dtype)


T01 = [{'view': 'transpose', 'dims': [2, 3]}]
T01_2D = [{'view': 'transpose', 'dims': [0, 1]}]


# ---------------------------------------------------------------------------
# families

def conv_cases():
    c = []
    c.append(make_case('conv2d_3x3_basic', 'conv2d', [inp(randn(2, 3, 6, 6), True), inp(randn(4, 3, 3, 3), True), inp(randn(4), True)]))
    c.append(make_case('conv2d_stride2_pad1', 'conv2d', [inp(randn(2, 3, 7, 7), True), inp(randn(4, 3, 3, 3), True), inp(randn(4), True)],
                       {'stride': 2, 'padding': 1}))
    c.append(make_case('conv2d_rect_kernel_stride_pad', 'conv2d', [inp(randn(2, 2, 7, 6), True), inp(randn(3, 2, 2, 3), True), inp(randn(3), True)],
                       {'stride': [2, 1], 'padding': [1, 0]}))
    c.append(make_case('conv2d_dilation2_pad2', 'conv2d', [inp(randn(1, 2, 8, 8), True), inp(randn(3, 2, 3, 3), True), inp(randn(3), True)],
                       {'dilation': 2, 'padding': 2}))
    c.append(make_case('conv2d_rect_dilation_stride', 'conv2d', [inp(randn(2, 2, 9, 8), True), inp(randn(2, 2, 3, 2), True), None],
                       {'dilation': [2, 3], 'stride': [1, 2], 'padding': [1, 2]}))
    c.append(make_case('conv2d_groups2', 'conv2d', [inp(randn(2, 4, 6, 6), True), inp(randn(6, 2, 3, 3), True), inp(randn(6), True)],
                       {'groups': 2, 'padding': 1}))
    c.append(make_case('conv2d_depthwise', 'conv2d', [inp(randn(2, 3, 5, 5), True), inp(randn(3, 1, 3, 3), True), inp(randn(3), True)],
                       {'groups': 3}))
    c.append(make_case('conv2d_depthwise_multiplier_stride', 'conv2d', [inp(randn(1, 2, 7, 7), True), inp(randn(4, 1, 3, 3), True), None],
                       {'groups': 2, 'stride': 2, 'padding': 1}))
    c.append(make_case('conv2d_pointwise_1x1', 'conv2d', [inp(randn(3, 5, 4, 4), True), inp(randn(3, 5, 1, 1), True), inp(randn(3), True)]))
    c.append(make_case('conv2d_pointwise_no_bias', 'conv2d', [inp(randn(2, 4, 3, 5), True), inp(randn(6, 4, 1, 1), True), None]))
    c.append(make_case('conv2d_1x1_stride2', 'conv2d', [inp(randn(2, 3, 5, 5), True), inp(randn(2, 3, 1, 1), True), inp(randn(2), True)],
                       {'stride': 2}))
    c.append(make_case('conv2d_1x1_padded', 'conv2d', [inp(randn(1, 2, 3, 3), True), inp(randn(2, 2, 1, 1), True), None],
                       {'padding': 1}))
    c.append(make_case('conv2d_no_bias', 'conv2d', [inp(randn(2, 3, 5, 5), True), inp(randn(2, 3, 3, 3), True), None]))
    c.append(make_case('conv2d_weight_frozen', 'conv2d', [inp(randn(2, 3, 5, 5), True), inp(randn(2, 3, 3, 3)), inp(randn(2), True)],
                       {'padding': 1}))
    c.append(make_case('conv2d_input_frozen', 'conv2d', [inp(randn(2, 3, 5, 5)), inp(randn(2, 3, 3, 3), True), inp(randn(2), True)]))
    c.append(make_case('conv2d_same_even_kernel', 'conv2d', [inp(randn(1, 2, 6, 5), True), inp(randn(3, 2, 4, 2), True), inp(randn(3), True)],
                       {'padding': 'same'}))
    c.append(make_case('conv2d_same_dilated', 'conv2d', [inp(randn(1, 2, 6, 6), True), inp(randn(2, 2, 3, 3), True), None],
                       {'padding': 'same', 'dilation': 2}))
    c.append(make_case('conv2d_valid', 'conv2d', [inp(randn(1, 2, 5, 6), True), inp(randn(2, 2, 3, 3), True), None],
                       {'padding': 'valid'}))
    c.append(make_case('conv2d_unbatched', 'conv2d', [inp(randn(3, 6, 6), True), inp(randn(2, 3, 3, 3), True), inp(randn(2), True)],
                       {'padding': 1}))
    c.append(make_case('conv2d_noncontiguous_input', 'conv2d', [inp(randn(2, 3, 6, 5), True, T01), inp(randn(2, 3, 3, 3), True), inp(randn(2), True)]))
    c.append(make_case('conv2d_float64', 'conv2d', [inp(randn(2, 2, 6, 6, dtype=torch.float64), True),
                                                   inp(randn(3, 2, 3, 3, dtype=torch.float64), True), inp(randn(3, dtype=torch.float64), True)],
                       {'stride': 2, 'padding': 1}))
    c.append(make_case('conv2d_larger', 'conv2d', [inp(randn(2, 8, 8, 8), True), inp(randn(8, 8, 3, 3), True), inp(randn(8), True)],
                       {'padding': 1}, gradcheck=False))
    # Errors PyTorch raises.
    c.append(make_case('conv2d_err_channels', 'conv2d', [inp(randn(1, 4, 5, 5)), inp(randn(2, 3, 3, 3)), None], error=True))
    c.append(make_case('conv2d_err_groups_channels', 'conv2d', [inp(randn(1, 5, 5, 5)), inp(randn(4, 2, 3, 3)), None], {'groups': 2}, error=True))
    c.append(make_case('conv2d_err_groups_out', 'conv2d', [inp(randn(1, 4, 5, 5)), inp(randn(3, 2, 3, 3)), None], {'groups': 2}, error=True))
    c.append(make_case('conv2d_err_kernel_too_big', 'conv2d', [inp(randn(1, 1, 2, 2)), inp(randn(1, 1, 3, 3)), None], error=True))
    c.append(make_case('conv2d_err_bias_shape', 'conv2d', [inp(randn(1, 2, 5, 5)), inp(randn(3, 2, 3, 3)), inp(randn(2))], error=True))
    c.append(make_case('conv2d_err_2d_input', 'conv2d', [inp(randn(3, 4)), inp(randn(3, 2, 3, 3)), None], error=True))
    c.append(make_case('conv2d_err_same_strided', 'conv2d', [inp(randn(1, 2, 5, 5)), inp(randn(3, 2, 3, 3)), None],
                       {'padding': 'same', 'stride': 2}, error=True))
    c.append(make_case('conv2d_err_dtype_mismatch', 'conv2d', [inp(randn(1, 2, 5, 5)), inp(randn(3, 2, 3, 3, dtype=torch.float64)), None], error=True))
    return c


def pool_cases():
    c = []
    for name, shape, kw in [
        ('maxPool2d_k2', (2, 3, 6, 6), {'kernelSize': 2}),
        ('maxPool2d_k3_s2_p1', (2, 2, 7, 7), {'kernelSize': 3, 'stride': 2, 'padding': 1}),
        ('maxPool2d_rect', (1, 2, 7, 6), {'kernelSize': [3, 2], 'stride': [2, 1], 'padding': [1, 0]}),
        ('maxPool2d_dilation2', (1, 2, 8, 8), {'kernelSize': 2, 'stride': 1, 'dilation': 2}),
        ('maxPool2d_ceil_mode', (1, 2, 7, 7), {'kernelSize': 2, 'ceilMode': True}),
        ('maxPool2d_ceil_mode_pad', (1, 1, 6, 6), {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True}),
        ('maxPool2d_overlapping', (2, 2, 5, 5), {'kernelSize': 3, 'stride': 1}),
        ('maxPool2d_unbatched', (3, 6, 6), {'kernelSize': 2}),
    ]:
        c.append(make_case(name, 'maxPool2d', [inp(distinct(*shape), True)], kw))
    c.append(make_case('maxPool2d_float64', 'maxPool2d', [inp(distinct(2, 2, 6, 6, dtype=torch.float64), True)], {'kernelSize': 3, 'stride': 2}))
    c.append(make_case('maxPool2d_noncontiguous', 'maxPool2d', [inp(distinct(1, 2, 6, 5), True, T01)], {'kernelSize': 2}))
    c.append(make_case('maxPool2d_return_indices', 'maxPool2dWithIndices', [inp(distinct(2, 2, 6, 6), True)], {'kernelSize': 3, 'stride': 2, 'padding': 1}))
    # Ties (the first maximum wins), NaN (the last NaN wins) and a window of
    # -inf (its first element's index), which distinct() never draws. The
    # input is fixed and the RNG state is restored, so the cases after these
    # keep their values.
    rng = torch.get_rng_state()
    tie = torch.tensor([0., 1., 1., 2., 2., 0.] * 12, dtype=torch.float32).reshape(2, 1, 6, 6)
    tie[0, 0, 1, 1] = tie[0, 0, 3, 4] = tie[1, 0, 2, 2] = float('nan')
    tie[0, 0, 4:6, 0:2] = float('-inf')
    for name, kw in [('maxPool2d_ties_nan_inf_k2', {'kernelSize': 2}),
                     ('maxPool2d_ties_nan_inf_k3_s2_p1', {'kernelSize': 3, 'stride': 2, 'padding': 1})]:
        c.append(make_case(name, 'maxPool2dWithIndices', [inp(tie, True)], kw, gradcheck=False))
    # The 2x2, stride-2 loop works on rows in steps of 16 outputs: rows of
    # 35 and 18 outputs (an odd width too) cross those steps, with ties and
    # NaN in the later ones.
    wide = distinct(1, 2, 6, 70)
    wide[0, 1, 2, 40:44] = 3.0
    wide[0, 1, 3, 41] = 3.0
    wide[0, 0, 4, 66] = wide[0, 0, 5, 67] = float('nan')
    c.append(make_case('maxPool2d_k2_wide_rows', 'maxPool2dWithIndices', [inp(wide, True)], {'kernelSize': 2}, gradcheck=False))
    c.append(make_case('maxPool2d_k2_odd_width', 'maxPool2dWithIndices', [inp(distinct(2, 1, 5, 37), True)], {'kernelSize': 2}))
    torch.set_rng_state(rng)
    c.append(make_case('maxPool2d_err_pad', 'maxPool2d', [inp(randn(1, 1, 6, 6))], {'kernelSize': 3, 'padding': 2}, error=True))
    c.append(make_case('maxPool2d_err_too_small', 'maxPool2d', [inp(randn(1, 1, 2, 2))], {'kernelSize': 3}, error=True))
    c.append(make_case('maxPool2d_err_2d', 'maxPool2d', [inp(randn(4, 4))], {'kernelSize': 2}, error=True))

    for name, shape, kw in [
        ('avgPool2d_k2', (2, 3, 6, 6), {'kernelSize': 2}),
        ('avgPool2d_k3_s2_p1', (2, 2, 7, 7), {'kernelSize': 3, 'stride': 2, 'padding': 1}),
        ('avgPool2d_exclude_pad', (2, 2, 7, 7), {'kernelSize': 3, 'stride': 2, 'padding': 1, 'countIncludePad': False}),
        ('avgPool2d_ceil_mode', (1, 2, 7, 7), {'kernelSize': 3, 'stride': 2, 'ceilMode': True}),
        ('avgPool2d_ceil_mode_pad', (1, 2, 6, 6), {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True}),
        ('avgPool2d_ceil_exclude_pad', (1, 1, 6, 6), {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True, 'countIncludePad': False}),
        ('avgPool2d_divisor_override', (1, 2, 6, 6), {'kernelSize': 2, 'divisorOverride': 3}),
        ('avgPool2d_rect', (1, 2, 7, 6), {'kernelSize': [3, 2], 'stride': [2, 1], 'padding': [1, 0]}),
        ('avgPool2d_unbatched', (2, 5, 5), {'kernelSize': 2, 'stride': 1}),
    ]:
        c.append(make_case(name, 'avgPool2d', [inp(randn(*shape), True)], kw))
    c.append(make_case('avgPool2d_float64', 'avgPool2d', [inp(randn(2, 2, 6, 6, dtype=torch.float64), True)], {'kernelSize': 3, 'stride': 2, 'padding': 1}))
    c.append(make_case('avgPool2d_err_pad', 'avgPool2d', [inp(randn(1, 1, 6, 6))], {'kernelSize': 2, 'padding': 2}, error=True))

    for name, shape, out in [
        ('adaptiveAvgPool2d_5x7_to_3x4', (2, 2, 5, 7), [3, 4]),
        ('adaptiveAvgPool2d_divisible', (1, 3, 6, 6), 2),
        ('adaptiveAvgPool2d_global', (2, 3, 4, 5), 1),
        ('adaptiveAvgPool2d_keep_h', (1, 2, 4, 6), [None, 3]),
        ('adaptiveAvgPool2d_upsample', (1, 1, 3, 3), 5),
        ('adaptiveAvgPool2d_unbatched', (2, 5, 5), [2, 3]),
    ]:
        c.append(make_case(name, 'adaptiveAvgPool2d', [inp(randn(*shape), True)], {'outputSize': out}))
    c.append(make_case('adaptiveAvgPool2d_float64', 'adaptiveAvgPool2d', [inp(randn(1, 2, 7, 5, dtype=torch.float64), True)], {'outputSize': [3, 2]}))
    return c


def norm_cases():
    c = []

    def bn(name, shape, training, with_stats=True, affine=True, dtype=torch.float32, **kw):
        C = shape[1]
        x = randn(*shape, dtype=dtype, scale=2.0) + 0.5
        rm = inp(randn(C, dtype=dtype)) if with_stats else None
        rv = inp((torch.rand(C, dtype=torch.float64) + 0.5).to(dtype)) if with_stats else None
        w = inp(randn(C, dtype=dtype), True) if affine else None
        b = inp(randn(C, dtype=dtype), True) if affine else None
        kwargs = dict(kw, training=training)
        c.append(make_case(name, 'batchNorm', [inp(x, True), rm, rv, w, b], kwargs))

    bn('batchNorm_train_2d', (6, 4), True)
    bn('batchNorm_train_4d', (3, 2, 4, 4), True, momentum=0.3, eps=1e-3)
    bn('batchNorm_train_3d', (4, 3, 5), True)
    bn('batchNorm_train_no_stats', (4, 3, 2, 2), True, with_stats=False)
    bn('batchNorm_train_no_affine', (5, 3), True, affine=False)
    bn('batchNorm_train_float64', (3, 2, 3, 3), True, dtype=torch.float64, momentum=0.5)
    bn('batchNorm_eval_4d', (2, 3, 3, 3), False)
    bn('batchNorm_eval_2d_no_affine', (4, 3), False, affine=False)
    x = randn(4, 8, 5, 5)
    c.append(make_case('batchNorm_train_larger', 'batchNorm',
                       [inp(x, True), inp(torch.zeros(8)), inp(torch.ones(8)), inp(randn(8), True), inp(randn(8), True)],
                       {'training': True}, gradcheck=False))
    c.append(make_case('batchNorm_err_one_value', 'batchNorm', [inp(randn(1, 3)), inp(torch.zeros(3)), inp(torch.ones(3)), None, None],
                       {'training': True}, error=True))
    c.append(make_case('batchNorm_err_stats_size', 'batchNorm', [inp(randn(4, 3)), inp(torch.zeros(4)), inp(torch.ones(4)), None, None],
                       {'training': False}, error=True))

    c.append(make_case('layerNorm_last_dim', 'layerNorm', [inp(randn(2, 3, 4), True), inp(randn(4), True), inp(randn(4), True)],
                       {'normalizedShape': [4]}))
    c.append(make_case('layerNorm_two_dims_no_affine', 'layerNorm', [inp(randn(2, 3, 4), True), None, None],
                       {'normalizedShape': [3, 4], 'eps': 1e-3}))
    c.append(make_case('layerNorm_err_shape', 'layerNorm', [inp(randn(2, 3)), None, None], {'normalizedShape': [4]}, error=True))
    return c


def loss_cases():
    c = []
    N, C = 6, 5
    tgt = torch.tensor([0, 4, 2, -100, 1, 4])
    w = (torch.rand(C, dtype=torch.float64) + 0.2).to(torch.float32)
    for red in ('mean', 'sum', 'none'):
        c.append(make_case(f'crossEntropy_{red}', 'crossEntropy', [inp(randn(N, C), True), inp(ints(0, C, N)), None], {'reduction': red}))
        c.append(make_case(f'crossEntropy_ignore_default_{red}', 'crossEntropy', [inp(randn(N, C), True), inp(tgt), None], {'reduction': red}))
        c.append(make_case(f'crossEntropy_weight_{red}', 'crossEntropy', [inp(randn(N, C), True), inp(tgt), inp(w)], {'reduction': red}))
        c.append(make_case(f'crossEntropy_smoothing_{red}', 'crossEntropy', [inp(randn(N, C), True), inp(tgt), None],
                           {'reduction': red, 'labelSmoothing': 0.2}))
        c.append(make_case(f'crossEntropy_smoothing_weight_{red}', 'crossEntropy', [inp(randn(N, C), True), inp(tgt), inp(w)],
                           {'reduction': red, 'labelSmoothing': 0.15}))
        c.append(make_case(f'crossEntropy_spatial_{red}', 'crossEntropy',
                           [inp(randn(2, C, 3, 2), True), inp(torch.tensor([[[0, 1], [4, -100], [2, 2]], [[3, 3], [1, 0], [-100, 4]]])), inp(w)],
                           {'reduction': red, 'labelSmoothing': 0.1}))
    c.append(make_case('crossEntropy_custom_ignore', 'crossEntropy', [inp(randn(N, C), True), inp(torch.tensor([0, 2, 2, 3, 1, 4])), None],
                       {'ignoreIndex': 2}))
    c.append(make_case('crossEntropy_custom_ignore_weight_smoothing', 'crossEntropy',
                       [inp(randn(N, C), True), inp(torch.tensor([0, 2, 2, 3, 1, 4])), inp(w)], {'ignoreIndex': 2, 'labelSmoothing': 0.3}))
    c.append(make_case('crossEntropy_unbatched', 'crossEntropy', [inp(randn(C), True), inp(torch.tensor(3)), None], {}))
    c.append(make_case('crossEntropy_unbatched_none', 'crossEntropy', [inp(randn(C), True), inp(torch.tensor(1)), inp(w)], {'reduction': 'none'}))
    c.append(make_case('crossEntropy_large_logits', 'crossEntropy', [inp(randn(4, 3, scale=50.0), True), inp(ints(0, 3, 4)), None], {}))
    c.append(make_case('crossEntropy_float64', 'crossEntropy', [inp(randn(N, C, dtype=torch.float64), True), inp(tgt), inp(w.double())],
                       {'labelSmoothing': 0.1}))
    c.append(make_case('crossEntropy_noncontiguous', 'crossEntropy',
                       [inp(randn(C, N), True, [{'view': 'transpose', 'dims': [0, 1]}]), inp(ints(0, C, N)), None], {}))
    soft = torch.softmax(randn(4, C), 1)
    c.append(make_case('crossEntropy_probs_mean', 'crossEntropy', [inp(randn(4, C), True), inp(soft, True), None], {}))
    c.append(make_case('crossEntropy_probs_none_weight', 'crossEntropy', [inp(randn(4, C), True), inp(soft), inp(w)], {'reduction': 'none'}))
    c.append(make_case('crossEntropy_probs_smoothing_sum', 'crossEntropy', [inp(randn(4, C), True), inp(soft), inp(w)],
                       {'reduction': 'sum', 'labelSmoothing': 0.2}))
    c.append(make_case('crossEntropy_err_target_shape', 'crossEntropy', [inp(randn(N, C)), inp(ints(0, C, N + 1)), None], {}, error=True))
    c.append(make_case('crossEntropy_err_weight_size', 'crossEntropy', [inp(randn(N, C)), inp(ints(0, C, N)), inp(torch.ones(C + 1))], {}, error=True))

    logp = torch.log_softmax(randn(N, C), 1)
    for red in ('mean', 'sum', 'none'):
        c.append(make_case(f'nllLoss_{red}', 'nllLoss', [inp(logp, True), inp(tgt), None], {'reduction': red}))
        c.append(make_case(f'nllLoss_weight_{red}', 'nllLoss', [inp(logp, True), inp(tgt), inp(w)], {'reduction': red}))
    c.append(make_case('nllLoss_spatial_ignore', 'nllLoss', [inp(torch.log_softmax(randn(2, 3, 4), 1), True),
                                                             inp(torch.tensor([[0, 2, 1, 1], [2, 2, 0, 1]])), None], {'ignoreIndex': 1}))
    c.append(make_case('nllLoss_float64', 'nllLoss', [inp(logp.double(), True), inp(tgt), inp(w.double())], {}))

    for red in ('mean', 'sum', 'none'):
        c.append(make_case(f'mseLoss_{red}', 'mseLoss', [inp(randn(3, 4), True), inp(randn(3, 4), True)], {'reduction': red}))
        c.append(make_case(f'l1Loss_{red}', 'l1Loss', [inp(randn(3, 4), True), inp(randn(3, 4), True)], {'reduction': red}))
        c.append(make_case(f'binaryCrossEntropy_{red}', 'binaryCrossEntropy', [inp(probs(3, 4), True), inp(probs(3, 4), True), None],
                           {'reduction': red}))
        c.append(make_case(f'binaryCrossEntropy_weight_{red}', 'binaryCrossEntropy', [inp(probs(3, 4), True), inp(probs(3, 4)), inp(probs(4))],
                           {'reduction': red}))
        c.append(make_case(f'bceWithLogits_{red}', 'binaryCrossEntropyWithLogits',
                           [inp(randn(3, 4, scale=3.0), True), inp(probs(3, 4), True), None, None], {'reduction': red}))
        c.append(make_case(f'bceWithLogits_weight_posWeight_{red}', 'binaryCrossEntropyWithLogits',
                           [inp(randn(3, 4, scale=3.0), True), inp(probs(3, 4), True), inp(probs(3, 1)), inp(probs(4) * 3)], {'reduction': red}))
    c.append(make_case('mseLoss_float64', 'mseLoss', [inp(randn(5, dtype=torch.float64), True), inp(randn(5, dtype=torch.float64))], {}))
    hard = torch.tensor([[0.0, 1.0, 0.5], [1.0, 0.0, 0.25]])
    c.append(make_case('binaryCrossEntropy_saturated', 'binaryCrossEntropy',
                       [inp(hard, True), inp(torch.tensor([[0.0, 1.0, 1.0], [0.0, 1.0, 0.0]])), None], {}, gradcheck=False))
    c.append(make_case('bceWithLogits_zero_logits', 'binaryCrossEntropyWithLogits',
                       [inp(torch.tensor([0.0, 0.0, 2.0, -100.0, 100.0]), True), inp(torch.tensor([0.0, 1.0, 0.3, 1.0, 0.0])), None, None], {}))
    c.append(make_case('binaryCrossEntropy_err_range', 'binaryCrossEntropy', [inp(torch.tensor([0.5, 1.5])), inp(torch.tensor([0.0, 1.0])), None],
                       {}, error=True))
    c.append(make_case('binaryCrossEntropy_err_shape', 'binaryCrossEntropy', [inp(probs(3, 1)), inp(probs(3)), None], {}, error=True))
    return c


def misc_cases():
    c = []
    c.append(make_case('linear_bias', 'linear', [inp(randn(4, 3), True), inp(randn(5, 3), True), inp(randn(5), True)]))
    c.append(make_case('linear_no_bias_3d', 'linear', [inp(randn(2, 3, 4), True), inp(randn(2, 4), True), None]))
    c.append(make_case('linear_err_shape', 'linear', [inp(randn(2, 3)), inp(randn(4, 5)), None], error=True))
    xs = torch.tensor([[-2.0, -0.5, 0.0, 0.5, 2.0], [1.5, -1.5, 3.0, -3.0, 0.25]])
    c.append(make_case('relu', 'relu', [inp(randn(3, 4), True)]))
    c.append(make_case('leakyRelu_default', 'leakyRelu', [inp(xs, True)], {}, gradcheck=False))
    c.append(make_case('leakyRelu_slope', 'leakyRelu', [inp(randn(3, 4), True)], {'negativeSlope': 0.2}))
    c.append(make_case('gelu', 'gelu', [inp(randn(3, 4), True)]))
    c.append(make_case('gelu_tanh', 'gelu', [inp(randn(3, 4), True)], {'approximate': 'tanh'}))
    c.append(make_case('sigmoid', 'sigmoid', [inp(randn(3, 4), True)]))
    c.append(make_case('tanh', 'tanh', [inp(randn(3, 4), True)]))
    c.append(make_case('softmax_dim1', 'softmax', [inp(randn(3, 4), True)], {'dim': 1}))
    c.append(make_case('logSoftmax_dim_neg', 'logSoftmax', [inp(randn(2, 3, 4), True)], {'dim': -1}))
    c.append(make_case('embedding', 'embedding', [inp(torch.tensor([[1, 3, 3], [0, 9, 1]])), inp(randn(10, 4), True)]))
    c.append(make_case('embedding_padding_idx', 'embedding', [inp(torch.tensor([[1, 2, 0], [2, 2, 4]])), inp(randn(5, 3), True)],
                       {'paddingIdx': 2}))
    c.append(make_case('embedding_err_range', 'embedding', [inp(torch.tensor([1, 10])), inp(randn(10, 4))], error=True))
    c.append(make_case('oneHot_infer', 'oneHot', [inp(torch.tensor([0, 3, 1]))]))
    c.append(make_case('oneHot_n_2d', 'oneHot', [inp(torch.tensor([[0, 1], [2, 0]]))], {'numClasses': 4}))
    c.append(make_case('oneHot_err_range', 'oneHot', [inp(torch.tensor([0, 4]))], {'numClasses': 3}, error=True))
    c.append(make_case('oneHot_err_negative', 'oneHot', [inp(torch.tensor([0, -1]))], {}, error=True))
    # softplus: both sides of the threshold, inputs whose exp overflows float32 (100),
    # and -30 (exp underflows); the linear side's gradient is exactly 1.
    wide = torch.tensor([[-30.0, -2.0, -0.5, 0.0, 0.5, 2.0], [15.0, 19.5, 20.5, 25.0, 40.0, 100.0]])
    c.append(make_case('softplus_default', 'softplus', [inp(wide, True)]))
    c.append(make_case('softplus_beta_threshold', 'softplus', [inp(randn(3, 4, scale=3.0), True)], {'beta': 2.0, 'threshold': 5.0}))
    c.append(make_case('softplus_beta_small', 'softplus', [inp(randn(2, 5, scale=4.0), True)], {'beta': 0.5, 'threshold': 1.0}))
    c.append(make_case('softplus_float64_transposed', 'softplus', [inp(randn(3, 4, dtype=torch.float64, scale=5.0), True, T01_2D)],
                       {'threshold': 3.0}))
    c.append(make_case('softplus_err_int', 'softplus', [inp(torch.tensor([1, 2]))], {}, error=True))
    return c


def main():
    # padding='same' with an even kernel warns that PyTorch pads a copy; expected here.
    warnings.filterwarnings('ignore', message="Using padding='same'")
    torch.manual_seed(1234)
    os.makedirs(OUT_DIR, exist_ok=True)
    for family, build in [('conv', conv_cases), ('pool', pool_cases), ('norm', norm_cases), ('loss', loss_cases),
                          ('misc', misc_cases)]:
        cases = build()
        names = [k['name'] for k in cases]
        assert len(names) == len(set(names)), f'duplicate case names in {family}'
        fx = {'family': f'nn_{family}', 'torch_version': torch.__version__, 'tolerance': TOLERANCE, 'cases': cases}
        path = os.path.join(OUT_DIR, f'nn_{family}.json')
        with open(path, 'w') as f:
            json.dump(fx, f, separators=(',', ':'))
            f.write('\n')
        print(f'{path}: {len(cases)} cases ({os.path.getsize(path) // 1024} KiB)')


if __name__ == '__main__':
    main()
