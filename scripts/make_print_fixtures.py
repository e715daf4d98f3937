"""Writes test/fixtures/printing.json: what PyTorch 1.13 prints (str and
repr) for many tensors, for test/tensor/printing.test.ts.

Each case records how to rebuild the tensor in Kindling (flat data, shape,
dtype, a recipe for its autograd state) and the print options in force.
Run with /usr/bin/python3 (Debian's python3-torch)."""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from fixture_encoding import enc_scalar  # noqa: E402

DT = {
    torch.float32: 'float32',
    torch.float64: 'float64',
    torch.int32: 'int32',
    torch.int64: 'int64',
    torch.uint8: 'uint8',
    torch.bool: 'bool',
}

# Print options: Kindling's camelCase names.
OPT_NAMES = {'precision': 'precision', 'threshold': 'threshold', 'edgeitems': 'edgeitems',
             'linewidth': 'linewidth', 'sci_mode': 'sciMode', 'profile': 'profile'}

cases = []


def gen(shape, dtype=torch.float32, div=1, sub=0, mul=1):
    """A large tensor by recipe, not data: (arange(n) / div - sub) * mul,
    reshaped (IEEE arithmetic gives Kindling the same values)."""
    n = math.prod(shape)
    t = torch.arange(n, dtype=dtype)
    if div != 1:
        t = t / div
    if sub != 0:
        t = t - sub
    if mul != 1:
        t = t * mul
    t = t.reshape(shape)
    t.recipe = {'div': div, 'sub': sub, 'mul': mul}
    return t


def case(name, t, grad=None, opts=None):
    """grad: None, 'leaf' (requires_grad=True), or an op applied to the
    leaf: 'mul1' (x * 1, MulBackward0), 'sum' (SumBackward0)."""
    dtype = DT[t.dtype]
    recipe = getattr(t, 'recipe', None)
    assert recipe is not None or t.numel() <= 400, name
    shown = t
    if grad is not None:
        leaf = t.clone().requires_grad_(True)
        shown = {'leaf': lambda x: x, 'mul1': lambda x: x * 1, 'sum': lambda x: x.sum()}[grad](leaf)
    opts = opts or {}
    torch.set_printoptions(**opts)
    try:
        s = str(shown)
        assert s == repr(shown)
    finally:
        torch.set_printoptions(profile='default')
    flat = t.reshape(-1).tolist()
    cases.append({
        'name': name,
        'dtype': dtype,
        'shape': list(t.shape),
        'data': None if recipe else [enc_scalar(v, dtype) for v in flat],
        'gen': recipe,
        'grad': grad,
        'options': {OPT_NAMES[k]: (None if v is None else ('Infinity' if v == math.inf else v)) for k, v in opts.items()},
        'str': s,
    })


f32, f64 = torch.float32, torch.float64
T = torch.tensor
nan, inf = math.nan, math.inf
torch.manual_seed(0)

# 0-d
case('scalar float', T(63.))
case('scalar negative zero', T(-0.))
case('scalar fraction', T(0.5))
case('scalar int', T(3))
case('scalar bool', T(True))
case('scalar float64', T(2.25, dtype=f64))
case('scalar nan', T(nan))
case('scalar large', T(1e10))
case('scalar small', T(1e-7))
case('scalar int32', T(-7, dtype=torch.int32))

# vectors and dtypes
case('float vector', T([0.5, 1.25]))
case('int vector', T([1, 2, 3]))
case('negative ints', T([-100, 2, 30]))
case('bool vector', T([True, False]))
case('int32 vector', T([1, 2], dtype=torch.int32))
case('uint8 vector', T([0, 7, 255], dtype=torch.uint8))
case('float64 vector', T([1.5], dtype=f64))
case('float64 ints', T([1., 2., 3.], dtype=f64))
case('int64 beyond 2^53', T([2 ** 60, -2 ** 62, 5]))
case('integral floats', T([0., 4., 8., 12.]))
case('negative floats', T([-1.5, 2.25, -0.125]))

# scientific notation
case('sci wide range', T([1e6, 2.]))
case('sci small', T([1e-5, 1.]))
case('sci huge int', T([123456789012., 1.]))
case('sci int ratio', T([1., 10000.]))
case('sci float64', T([1e-8, 3.5], dtype=f64))
case('sci with zero and nan', T([1e-5, 0., nan]))
case('sci negative', T([-2.5e7, 3e-2, 1.]))
case('no sci at ratio 1000', T([1., 1000.]))
case('no sci near 1e8', T([99999999., 1.]))
case('float32 rounding', T([0.1, 0.2, 0.3]))
case('wide fixed', T([12345.678, 0.5]))

# nan, inf, -0
case('nan inf', T([nan, inf, -inf, 1.5]))
case('nan and int', T([nan, 1.]))
case('inf and zero', T([inf, 0.]))
case('all nan', T([nan, nan]))
case('all zero', T([0., 0., 0.]))
case('negative zero in vector', T([-0., 1.]))
case('negative zero with fraction', T([-0., 0.5]))
case('round half to even', T([0.03125, 1.5, 0.09375]))
case('sci round half to even', T([0.000078125, 1.]))

# empty
case('empty 1-d', torch.zeros(0))
case('empty 2-d', torch.zeros(0, 3))
case('empty 3-d', torch.zeros(2, 0, 3))
case('empty int', torch.zeros(0, dtype=torch.int64))
case('empty bool', torch.zeros(0, 2, dtype=torch.bool))
case('empty float64', torch.zeros(0, dtype=f64))
case('empty int32', torch.zeros(0, dtype=torch.int32))

# multi-dim nesting
case('matrix', T([[1., 20.], [300., 4.]]))
case('matrix fractions', torch.randn(3, 4))
case('3-d', torch.arange(8.).reshape(2, 2, 2))
case('3-d singleton', torch.arange(6).reshape(2, 1, 3))
case('4-d', torch.arange(16).reshape(2, 2, 2, 2))
case('1x1x1', T([[[5.]]]))
case('bool matrix', T([[True, False], [False, True]]))
case('int32 matrix', torch.arange(6, dtype=torch.int32).reshape(2, 3))
case('float64 matrix', torch.randn(2, 3, dtype=f64))

# line width
case('wrapped vector', torch.arange(30.) / 3)
case('wrapped ints', torch.arange(40))
case('wrapped matrix', torch.randn(2, 20))
case('wrapped 3-d', torch.randn(2, 2, 15))
case('wrapped sci', torch.randn(25) * 1e5)

# summarised
case('summarised zeros', gen([2000], mul=0))
case('summarised arange', gen([2000]))
case('summarised ints', gen([1001], torch.int64))
case('summarised matrix', gen([50, 50], div=7, sub=150))
case('summarised 3-d', gen([10, 10, 20]))
case('summarised short rows', gen([3, 400], torch.int64))
case('summarised wide range', gen([1001], div=1e-4, sub=3))
case('not summarised at 1000', gen([1000], torch.int64))
case('summarised float64', gen([40, 40], f64, div=3, sub=0.5))
case('summarised int32', gen([1200], torch.int32, sub=600))

# autograd suffixes
case('requires grad leaf', T([1., 2.]), grad='leaf')
case('requires grad scalar', T(2.), grad='leaf')
case('grad_fn scalar', T(63.), grad='mul1')
case('grad_fn sum', T([1., 2., 3.]), grad='sum')
case('grad_fn vector', T([0.5, 1.25]), grad='mul1')
case('grad_fn wraps past 80', torch.randn(9), grad='mul1')
case('grad_fn fits at 80', torch.randn(8), grad='mul1')
case('requires_grad wraps', torch.randn(9), grad='leaf')
case('grad_fn after matrix', torch.randn(3, 8), grad='mul1')
case('grad_fn float64 suffixes', torch.randn(7, dtype=f64), grad='mul1')
case('requires_grad float64', T([1.5, 2.], dtype=f64), grad='leaf')
case('requires_grad empty', torch.zeros(0, 2), grad='leaf')
case('grad_fn summarised', gen([2000]), grad='mul1')

# print options
case('precision 2', torch.randn(5), opts={'precision': 2})
case('precision 8 float64', torch.randn(3, dtype=f64), opts={'precision': 8})
case('precision 0', T([1.5, 2.25, 3.]), opts={'precision': 0})
case('threshold 5', torch.arange(10), opts={'threshold': 5})
case('edgeitems 2', gen([2000]), opts={'edgeitems': 2})
case('linewidth 40', torch.randn(20), opts={'linewidth': 40})
case('linewidth 40 suffix', torch.randn(4), grad='mul1', opts={'linewidth': 40})
case('sci_mode True', T([1.5, 2.]), opts={'sci_mode': True})
case('sci_mode False', T([1e-5, 1e6]), opts={'sci_mode': False})
case('sci_mode False ints', T([1., 1e9]), opts={'sci_mode': False})
case('profile short', gen([2000], div=3), opts={'profile': 'short'})
case('profile full', gen([1200], torch.int64), opts={'profile': 'full'})
case('threshold inf', gen([1001], torch.int64), opts={'threshold': math.inf})

# What named tuples (torch.return_types.max, ...) and the plain tuples of
# var_mean / std_mean print: `op` is called as a method of the input with
# `args` and `kwargs` (Kindling's camelCase names).
return_types = []


def returned(name, t, op, args=(), kwargs=None, grad=False):
    kwargs = kwargs or {}
    x = t.clone().requires_grad_(True) if grad else t
    py = {'varMean': 'var_mean', 'stdMean': 'std_mean'}.get(op, op)
    r = getattr(torch, py)(x, *args, **kwargs)
    s = str(r)
    assert s == repr(r)
    return_types.append({
        'name': name,
        'dtype': DT[t.dtype],
        'shape': list(t.shape),
        'data': [enc_scalar(v, DT[t.dtype]) for v in t.reshape(-1).tolist()],
        'grad': grad,
        'op': op,
        'args': list(args),
        'kwargs': kwargs,
        'str': s,
    })


m = T([[1., 5.], [3., 2.]])
returned('max dim', m, 'max', [1])
returned('min dim keepdim', m, 'min', [0], {'keepdim': True})
returned('max 0-d', T(3.), 'max', [0])
returned('max with grad_fn', m, 'max', [1], grad=True)
returned('max 3-d multi-line', torch.randn(3, 4, 5), 'max', [0])
returned('max float64', torch.randn(2, 3, dtype=f64), 'max', [1])
returned('max int', T([[4, -1, 7], [0, 9, 2]]), 'max', [1])
returned('max empty', torch.zeros(0, 3), 'max', [1])
returned('sort', m, 'sort')
returned('sort descending with grad_fn', torch.randn(2, 3), 'sort', [], {'descending': True}, grad=True)
returned('sort wrapped rows', torch.randn(2, 12) * 1000, 'sort')
returned('topk', T([[1., 3., 2.]]), 'topk', [2])
returned('kthvalue', T([[4., -1., 7.], [0., 9., 2.]]), 'kthvalue', [2])
returned('median dim', T([[4., -1., 7.], [0., 9., 2.]]), 'median', [1])
returned('nanmedian dim', T([[4., nan, 7.], [0., 9., 2.]]), 'nanmedian', [1])
returned('mode', T([1, 2, 2, 3]), 'mode')
returned('cummax', T([1., 5., 2.]), 'cummax', [0])
returned('cummin bool', T([True, False, True]), 'cummin', [0])
returned('aminmax', m, 'aminmax')
returned('aminmax dim int32', T([[4, -1], [0, 9]], dtype=torch.int32), 'aminmax', [], {'dim': 0})
returned('var_mean plain tuple', m, 'varMean')
returned('std_mean dim plain tuple', torch.randn(2, 3, dtype=f64), 'stdMean', [1])

out = {'torch_version': torch.__version__, 'cases': cases, 'return_types': return_types}
path = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'printing.json')
with open(path, 'w') as fh:
    json.dump(out, fh, indent=1)
    fh.write('\n')
print(f'wrote {len(cases)} cases to {os.path.normpath(path)}')
