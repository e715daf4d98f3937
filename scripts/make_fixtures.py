#!/usr/bin/env python3
"""Write the PyTorch-oracle fixtures that test/ops/*.test.ts check Kindling against.

Run from anywhere:  python3 scripts/make_fixtures.py   (npm run fixtures)

One JSON file per op family lands in test/fixtures/ops_<family>.json. Each case is
a neutral description of one call, so the TypeScript side can replay it:

  {
    "name":    "add_broadcast_3x1_1x4",
    "op":      "add",                       # Kindling's (API.md) name
    "args":    [{"ref": 0}, {"ref": 1}],    # ref = inputs[i] after its view,
                                            # refs = a list of inputs; numbers, strings
                                            # (slices), null and number lists as is
    "kwargs":  {"alpha": 2},                # the trailing options / keyword arguments
    "inputs":  [{"shape", "dtype", "data" (flat, row-major), "requires_grad",
                 "view": [{"view": "transpose", "dims": [0, 1]} |
                          {"view": "permute", "dims": [...]} |
                          {"view": "expand", "size": [...]} |
                          {"view": "index", "index": [":", "::2"]}]}],
    "outputs": [{"shape", "dtype", "data"}],   # always a list (max(dim) -> values, indices)
    "gouts":   [{...} | null],              # upstream gradient per output (null: not float)
    "grads":   [{...} | null],              # d(sum_k out_k * gout_k) / d(input leaf)
    "gradcheck": true,                      # a float64 gradcheck passes in PyTorch
    "gradgradcheck": true,                  # and a float64 gradgradcheck too
    "error":   true                         # (instead of outputs) PyTorch raises
  }

Float data is written as the shortest decimal that round-trips its dtype; NaN and
infinities as the strings "nan", "inf", "-inf"; int64 as plain numbers; bool as
true/false. Inputs are rebuilt from their JSON encoding before PyTorch runs the op,
so PyTorch and Kindling see bit-identical inputs.
"""

import json
import math
import os
import sys
import zlib

try:
    import numpy as np
    import torch
except ImportError:
    # `python3` on PATH may be a venv without PyTorch; the system one has it here.
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    sys.exit('make_fixtures.py needs PyTorch (1.13 CPU) and numpy: pip install torch numpy')

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_encoding import enc_scalar  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, 'test', 'fixtures')

DTYPES = {
    'float32': torch.float32,
    'float64': torch.float64,
    'int32': torch.int32,
    'int64': torch.int64,
    'uint8': torch.uint8,
    'bool': torch.bool,
}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}
FLOAT_NAMES = ('float32', 'float64')


# ---------------------------------------------------------------------------
# encoding

def dec_scalar(v):
    if isinstance(v, str):
        return {'nan': math.nan, 'inf': math.inf, '-inf': -math.inf}[v]
    return v


def enc_tensor(t):
    t = t.detach()
    dtype = DTYPE_NAMES[t.dtype]
    flat = t.contiguous().reshape(-1).tolist()
    return {'shape': list(t.shape), 'dtype': dtype, 'data': [enc_scalar(v, dtype) for v in flat]}


def dec_tensor(spec, dtype=None):
    dt = DTYPES[dtype or spec['dtype']]
    data = [dec_scalar(v) for v in spec['data']]
    src_dt = torch.float64 if spec['dtype'] in FLOAT_NAMES else DTYPES[spec['dtype']]
    return torch.tensor(data, dtype=src_dt).to(dt).reshape(spec['shape'])


# ---------------------------------------------------------------------------
# inputs

def randn(*shape, scale=1.0, dtype=torch.float32):
    return (torch.randn(tuple(shape), dtype=torch.float64) * scale).to(dtype)


def pos(*shape, lo=0.5, hi=2.0, dtype=torch.float32):
    """Strictly positive values, for log / sqrt / pow bases / divisors."""
    return (torch.rand(tuple(shape), dtype=torch.float64) * (hi - lo) + lo).to(dtype)


def away(*shape, margin=0.1, scale=1.0, dtype=torch.float32):
    """Values at least `margin` away from 0 (abs, relu, divisors)."""
    x = torch.randn(tuple(shape), dtype=torch.float64) * scale
    return (torch.sign(x) * (x.abs() + margin)).to(dtype)


def distinct(*shape, dtype=torch.float32):
    """A random permutation of well separated values: no ties for max/min/argmax."""
    n = int(np.prod(shape)) if shape else 1
    vals = (torch.randperm(n, dtype=torch.float64) - n / 2) * 0.25 + torch.rand(n, dtype=torch.float64) * 0.1
    return vals.reshape(shape).to(dtype)


def ints(lo, hi, *shape, dtype=torch.int64):
    return torch.randint(lo, hi, shape, dtype=torch.int64).to(dtype)


def small_ints_f(*shape, dtype=torch.float32):
    """Floats drawn from {-2..2}: comparisons see ties."""
    return torch.randint(-2, 3, shape).to(dtype)


def inp(t, requires_grad=None, view=None):
    """An input: a base tensor, whether it is a leaf requiring grad, and views to apply."""
    return {'t': t, 'requires_grad': requires_grad, 'view': view or []}


def T(dims):
    return {'view': 'transpose', 'dims': list(dims)}


def P(dims):
    return {'view': 'permute', 'dims': list(dims)}


def E(size):
    return {'view': 'expand', 'size': list(size)}


def S(*index):
    return {'view': 'index', 'index': list(index)}


# ---------------------------------------------------------------------------
# replaying a description in PyTorch

def parse_index_item(item, refs):
    if isinstance(item, dict):
        return refs[item['ref']]
    if isinstance(item, str):
        if item == '...':
            return Ellipsis
        parts = item.split(':')
        if len(parts) == 1:
            return int(parts[0])
        vals = [int(p) if p.strip() else None for p in parts]
        while len(vals) < 3:
            vals.append(None)
        return slice(*vals)
    return item  # int, None, list of ints


def apply_view(t, views):
    for v in views:
        kind = v['view']
        if kind == 'transpose':
            t = t.transpose(*v['dims'])
        elif kind == 'permute':
            t = t.permute(*v['dims'])
        elif kind == 'expand':
            t = t.expand(*v['size'])
        elif kind == 'index':
            t = t[tuple(parse_index_item(i, []) for i in v['index'])]
        else:
            raise ValueError(kind)
    return t


def red_kwargs(kw, *names):
    return {k: kw[k] for k in names if k in kw}


def _max_min(fn_name):
    def run(a, kw):
        x = a[0]
        if 'dim' not in kw:
            return getattr(x, fn_name)()
        r = getattr(x, fn_name)(dim=kw['dim'], keepdim=kw.get('keepdim', False))
        return [r.values, r.indices]
    return run


PY_OPS = {
    # elementwise unary
    'neg': lambda a, kw: torch.neg(a[0]),
    'exp': lambda a, kw: torch.exp(a[0]),
    'log': lambda a, kw: torch.log(a[0]),
    'sqrt': lambda a, kw: torch.sqrt(a[0]),
    'abs': lambda a, kw: torch.abs(a[0]),
    'sin': lambda a, kw: torch.sin(a[0]),
    'cos': lambda a, kw: torch.cos(a[0]),
    'relu': lambda a, kw: torch.relu(a[0]),
    'sigmoid': lambda a, kw: torch.sigmoid(a[0]),
    'tanh': lambda a, kw: torch.tanh(a[0]),
    'clamp': lambda a, kw: torch.clamp(a[0], min=kw.get('min'), max=kw.get('max')),
    # elementwise binary
    'add': lambda a, kw: torch.add(a[0], a[1], **kw),
    'sub': lambda a, kw: torch.sub(a[0], a[1], **kw),
    'mul': lambda a, kw: torch.mul(a[0], a[1]),
    'div': lambda a, kw: torch.div(a[0], a[1]),
    'pow': lambda a, kw: torch.pow(a[0], a[1]),
    'maximum': lambda a, kw: torch.maximum(a[0], a[1]),
    'minimum': lambda a, kw: torch.minimum(a[0], a[1]),
    'eq': lambda a, kw: torch.eq(a[0], a[1]),
    'ne': lambda a, kw: torch.ne(a[0], a[1]),
    'gt': lambda a, kw: torch.gt(a[0], a[1]),
    'ge': lambda a, kw: torch.ge(a[0], a[1]),
    'lt': lambda a, kw: torch.lt(a[0], a[1]),
    'le': lambda a, kw: torch.le(a[0], a[1]),
    'where': lambda a, kw: torch.where(a[0], a[1], a[2]),
    # reductions
    'sum': lambda a, kw: a[0].sum(**red_kwargs(kw, 'dim', 'keepdim')),
    'mean': lambda a, kw: a[0].mean(**red_kwargs(kw, 'dim', 'keepdim')),
    'var': lambda a, kw: a[0].var(**red_kwargs(kw, 'dim', 'unbiased', 'keepdim')),
    'std': lambda a, kw: a[0].std(**red_kwargs(kw, 'dim', 'unbiased', 'keepdim')),
    'max': _max_min('max'),
    'min': _max_min('min'),
    'amax': lambda a, kw: torch.amax(a[0], **red_kwargs(kw, 'dim', 'keepdim')),
    'argmax': lambda a, kw: torch.argmax(a[0], **red_kwargs(kw, 'dim', 'keepdim')),
    'argmin': lambda a, kw: torch.argmin(a[0], **red_kwargs(kw, 'dim', 'keepdim')),
    'logsumexp': lambda a, kw: torch.logsumexp(a[0], **red_kwargs(kw, 'dim', 'keepdim')),
    'norm': lambda a, kw: torch.norm(a[0], **red_kwargs(kw, 'p', 'dim', 'keepdim')),
    'softmax': lambda a, kw: torch.softmax(a[0], kw['dim']),
    'logSoftmax': lambda a, kw: torch.log_softmax(a[0], kw['dim']),
    # shape
    'view': lambda a, kw: a[0].view(*a[1:]),
    'reshape': lambda a, kw: a[0].reshape(*a[1:]),
    'transpose': lambda a, kw: a[0].transpose(a[1], a[2]),
    'permute': lambda a, kw: a[0].permute(*a[1:]),
    'expand': lambda a, kw: a[0].expand(*a[1:]),
    'narrow': lambda a, kw: a[0].narrow(a[1], a[2], a[3]),
    'select': lambda a, kw: a[0].select(a[1], a[2]),
    'index': None,  # handled in run_op: needs the refs for tensor indices
    'squeeze': lambda a, kw: a[0].squeeze(*a[1:]),
    'unsqueeze': lambda a, kw: a[0].unsqueeze(a[1]),
    'flatten': lambda a, kw: a[0].flatten(*a[1:]),
    'cat': lambda a, kw: torch.cat(a[0], *a[1:]),
    'stack': lambda a, kw: torch.stack(a[0], *a[1:]),
    'chunk': lambda a, kw: list(a[0].chunk(*a[1:])),
    'split': lambda a, kw: list(a[0].split(*a[1:])),
    'contiguous': lambda a, kw: a[0].contiguous(),
    'indexSelect': lambda a, kw: torch.index_select(a[0], a[1], a[2]),
    'gather': lambda a, kw: torch.gather(a[0], a[1], a[2]),
    't': lambda a, kw: a[0].t(),
    # matmul
    'mm': lambda a, kw: torch.mm(a[0], a[1]),
    'matmul': lambda a, kw: torch.matmul(a[0], a[1]),
    'bmm': lambda a, kw: torch.bmm(a[0], a[1]),
    'dot': lambda a, kw: torch.dot(a[0], a[1]),
    # conversion
    'to': lambda a, kw: a[0].to(DTYPES[a[1]]),
}


def resolve(arg, refs):
    if isinstance(arg, dict):
        if 'ref' in arg:
            return refs[arg['ref']]
        if 'refs' in arg:
            return [refs[i] for i in arg['refs']]
        raise ValueError(arg)
    return arg


def run_op(op, args, kwargs, refs):
    if op == 'index':
        x = resolve(args[0], refs)
        return x[tuple(parse_index_item(i, refs) for i in args[1:])]
    # An op without a PY_OPS entry is called as torch.<op>(*tensors, **kwargs),
    # the way the JS side calls a declared op (test/helpers/fixtures.ts).
    fn = PY_OPS.get(op) or (lambda a, kw: getattr(torch, op)(*a, **kw))
    return fn([resolve(a, refs) for a in args], kwargs)


def as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


# ---------------------------------------------------------------------------
# families

class Family:
    def __init__(self, name, tolerance=None):
        self.name = name
        self.tolerance = tolerance
        self.cases = []
        self.names = set()

    def case(self, name, op, args, inputs, kwargs=None, grad=True, error=False,
             gradcheck=True, noncontiguous=False, tol=None):
        assert name not in self.names, name
        self.names.add(name)
        kwargs = kwargs or {}
        specs = []
        for i in inputs:
            spec = enc_tensor(i['t'])
            is_float = spec['dtype'] in FLOAT_NAMES
            rg = i['requires_grad']
            if rg is None:
                rg = grad and is_float
            spec['requires_grad'] = bool(rg)
            spec['view'] = i['view']
            specs.append(spec)

        def build(dtype_override=None):
            leaves = []
            for s in specs:
                dt = dtype_override if (dtype_override and s['dtype'] in FLOAT_NAMES) else None
                t = dec_tensor(s, dt)
                if s['requires_grad']:
                    t.requires_grad_(True)
                leaves.append(t)
            return leaves, [apply_view(t, s['view']) for t, s in zip(leaves, specs)]

        if all(s['dtype'] not in FLOAT_NAMES for s in specs):
            for a in args:
                # JSON (and JavaScript) cannot tell 2.0 from 2, and the two promote differently
                assert not (isinstance(a, float) and a.is_integer()), f'{name}: integral float scalar {a}'
        c = {'name': name, 'op': op, 'args': args, 'kwargs': kwargs, 'inputs': specs}
        if tol:
            c['tol'] = tol
        leaves, refs = build()
        if noncontiguous:
            assert any(not r.is_contiguous() for r in refs if isinstance(r, torch.Tensor)), name
        if error:
            try:
                run_op(op, args, kwargs, refs)
            except (RuntimeError, TypeError, ValueError, IndexError):
                c['error'] = True
                self.cases.append(c)
                return
            raise AssertionError(f'{name}: expected PyTorch to raise')

        outs = as_list(run_op(op, args, kwargs, refs))
        c['outputs'] = [enc_tensor(o) for o in outs]
        seen = {s['dtype'] for s in specs} | {o['dtype'] for o in c['outputs']}
        if {'float32', 'float64'} <= seen and not tol:
            # float64 results that went through float32 (or the reverse) are only
            # good to float32 precision: e.g. the grad of a float64 0-d operand of a
            # float32 add is a float32 sum of the upstream gradient.
            c['tol'] = {'float64': {'rtol': 1e-5, 'atol': 1e-6}}
        diff = [o.requires_grad for o in outs]
        if any(s['requires_grad'] for s in specs) and not any(diff):
            # Not differentiable (comparisons, argmax, ...): record plain inputs.
            for s in specs:
                s['requires_grad'] = False
            leaves, refs = build()
        if any(diff):
            gouts = [randn(*o.shape, dtype=o.dtype) if d else None for o, d in zip(outs, diff)]
            # round-trip the upstream gradient through JSON as well
            gspecs = [enc_tensor(g) if g is not None else None for g in gouts]
            gouts = [dec_tensor(g) if g is not None else None for g in gspecs]
            torch.autograd.backward([o for o, d in zip(outs, diff) if d],
                                    [g for g in gouts if g is not None])
            c['gouts'] = gspecs
            c['grads'] = [enc_tensor(l.grad) if s['requires_grad'] else None
                          for l, s in zip(leaves, specs)]
            for l, s in zip(leaves, specs):
                if s['requires_grad']:
                    assert l.grad is not None, name
            if gradcheck:
                twice = self._gradcheck(name, op, args, kwargs, build, [s['view'] for s in specs], diff)
                c['gradcheck'] = True
                if twice:
                    c['gradgradcheck'] = True
        self.cases.append(c)

    @staticmethod
    def _gradcheck(name, op, args, kwargs, build, views, diff):
        """PyTorch's own float64 gradcheck must pass: the inputs sit away from kinks.
        Returns whether PyTorch's gradgradcheck passes too (the JS suite then
        runs Kindling's on the same case)."""
        leaves, _ = build('float64')
        grad_leaves = [l for l in leaves if l.requires_grad]
        twice = True
        for k, d in enumerate(diff):
            if not d:
                continue

            def fn(*xs, k=k):
                it = iter(xs)
                full = [next(it) if l.requires_grad else l for l in leaves]
                refs = [apply_view(t, v) for t, v in zip(full, views)]
                return as_list(run_op(op, args, kwargs, refs))[k]

            ok = torch.autograd.gradcheck(fn, tuple(grad_leaves), eps=1e-6, atol=1e-5, rtol=1e-3)
            assert ok, f'{name}: gradcheck failed in PyTorch'
            try:
                twice = twice and torch.autograd.gradgradcheck(fn, tuple(grad_leaves), eps=1e-6, atol=1e-5, rtol=1e-3)
            except RuntimeError:
                twice = False
        return twice

    def write(self):
        os.makedirs(OUT_DIR, exist_ok=True)
        path = os.path.join(OUT_DIR, f'ops_{self.name}.json')
        doc = {
            'family': self.name,
            'generator': 'scripts/make_fixtures.py',
            'torch_version': torch.__version__,
            'tolerance': self.tolerance or {},
            'cases': self.cases,
        }
        with open(path, 'w') as f:
            json.dump(doc, f, separators=(',', ':'), allow_nan=False)
            f.write('\n')
        return path


R0, R1, R2, R3 = {'ref': 0}, {'ref': 1}, {'ref': 2}, {'ref': 3}


# ---------------------------------------------------------------------------
# elementwise

def elementwise():
    f = Family('elementwise')
    c = f.case

    # unary
    c('neg', 'neg', [R0], [inp(randn(3, 4))])
    c('exp', 'exp', [R0], [inp(randn(3, 4))])
    c('log', 'log', [R0], [inp(pos(3, 4, lo=0.2, hi=3.0))])
    c('sqrt', 'sqrt', [R0], [inp(pos(3, 4, lo=0.2, hi=3.0))])
    c('abs', 'abs', [R0], [inp(away(3, 4))])
    c('sin', 'sin', [R0], [inp(randn(3, 4, scale=2))])
    c('cos', 'cos', [R0], [inp(randn(3, 4, scale=2))])
    c('relu', 'relu', [R0], [inp(away(3, 4))])
    c('sigmoid', 'sigmoid', [R0], [inp(randn(3, 4, scale=2))])
    c('tanh', 'tanh', [R0], [inp(randn(3, 4, scale=2))])
    c('clamp_min_max', 'clamp', [R0], [inp(away(3, 4) + 0.0)], kwargs={'min': -0.5, 'max': 0.5})
    c('clamp_min_only', 'clamp', [R0], [inp(away(3, 4))], kwargs={'min': 0.25})
    c('clamp_max_only', 'clamp', [R0], [inp(away(3, 4))], kwargs={'max': -0.25})
    c('exp_0d', 'exp', [R0], [inp(torch.tensor(0.75))])
    c('tanh_3d', 'tanh', [R0], [inp(randn(2, 3, 4))])
    c('exp_float64', 'exp', [R0], [inp(randn(3, 4, dtype=torch.float64))])
    c('sin_float64', 'sin', [R0], [inp(randn(2, 5, dtype=torch.float64))])
    c('log_float64', 'log', [R0], [inp(pos(2, 5, dtype=torch.float64))])
    # unary on non-contiguous inputs
    c('exp_transposed', 'exp', [R0], [inp(randn(4, 3), view=[T([0, 1])])], noncontiguous=True)
    c('sqrt_sliced_step', 'sqrt', [R0], [inp(pos(6, 4), view=[S('::2', ':')])], noncontiguous=True)
    c('neg_permuted', 'neg', [R0], [inp(randn(4, 2, 3), view=[P([1, 2, 0])])], noncontiguous=True)
    c('sigmoid_sliced_cols', 'sigmoid', [R0], [inp(randn(3, 8), view=[S(':', '1::3')])], noncontiguous=True)
    c('relu_transposed', 'relu', [R0], [inp(away(4, 3), view=[T([1, 0])])], noncontiguous=True)
    # special values (forward only)
    special = torch.tensor([-math.inf, math.inf, math.nan, 100.0, -100.0, 0.0])
    c('exp_special', 'exp', [R0], [inp(special)], grad=False)
    c('log_special', 'log', [R0], [inp(torch.tensor([0.0, -1.0, math.inf, math.nan, 1.0, 1e-30]))], grad=False)
    c('sqrt_special', 'sqrt', [R0], [inp(torch.tensor([-1.0, 0.0, math.inf, math.nan, 4.0]))], grad=False)
    c('sigmoid_special', 'sigmoid', [R0], [inp(special)], grad=False)
    c('tanh_special', 'tanh', [R0], [inp(special)], grad=False)
    c('div_by_zero', 'div', [R0, R1], [inp(torch.tensor([1.0, -1.0, 0.0, 2.0])),
                                       inp(torch.tensor([0.0, 0.0, 0.0, -0.0]))], grad=False)
    c('maximum_nan', 'maximum', [R0, R1], [inp(torch.tensor([math.nan, 1.0, 2.0, -math.inf])),
                                           inp(torch.tensor([1.0, math.nan, 3.0, 0.0]))], grad=False)
    c('minimum_nan', 'minimum', [R0, R1], [inp(torch.tensor([math.nan, 1.0, 2.0, math.inf])),
                                           inp(torch.tensor([1.0, math.nan, 3.0, 0.0]))], grad=False)
    c('eq_nan', 'eq', [R0, R1], [inp(torch.tensor([math.nan, 1.0, math.inf])),
                                 inp(torch.tensor([math.nan, 1.0, math.inf]))])
    c('ne_nan', 'ne', [R0, R1], [inp(torch.tensor([math.nan, 1.0, math.inf])),
                                 inp(torch.tensor([math.nan, 1.0, math.inf]))])
    c('lt_nan', 'lt', [R0, 0.0], [inp(torch.tensor([math.nan, -1.0, -math.inf]))])

    # binary, same shape
    c('add', 'add', [R0, R1], [inp(randn(3, 4)), inp(randn(3, 4))])
    c('sub', 'sub', [R0, R1], [inp(randn(3, 4)), inp(randn(3, 4))])
    c('mul', 'mul', [R0, R1], [inp(randn(3, 4)), inp(randn(3, 4))])
    c('div', 'div', [R0, R1], [inp(randn(3, 4)), inp(away(3, 4, margin=0.5))])
    c('pow', 'pow', [R0, R1], [inp(pos(3, 4)), inp(randn(3, 4))])
    c('maximum', 'maximum', [R0, R1], [inp(randn(3, 4)), inp(randn(3, 4))])
    c('minimum', 'minimum', [R0, R1], [inp(randn(3, 4)), inp(randn(3, 4))])
    c('add_alpha', 'add', [R0, R1], [inp(randn(3, 4)), inp(randn(3, 4))], kwargs={'alpha': 2})
    c('add_alpha_negative', 'add', [R0, R1], [inp(randn(3, 4)), inp(randn(3, 4))], kwargs={'alpha': -0.5})
    c('sub_alpha', 'sub', [R0, R1], [inp(randn(3, 4)), inp(randn(3, 4))], kwargs={'alpha': 3})
    c('mul_float64', 'mul', [R0, R1], [inp(randn(2, 3, dtype=torch.float64)), inp(randn(2, 3, dtype=torch.float64))])
    c('div_float64', 'div', [R0, R1], [inp(randn(2, 3, dtype=torch.float64)),
                                       inp(away(2, 3, margin=0.5, dtype=torch.float64))])

    # broadcasting [3,1] x [1,4]
    for op in ('add', 'sub', 'mul', 'maximum', 'minimum'):
        c(f'{op}_broadcast_3x1_1x4', op, [R0, R1], [inp(randn(3, 1)), inp(randn(1, 4))])
    c('div_broadcast_3x1_1x4', 'div', [R0, R1], [inp(randn(3, 1)), inp(away(1, 4, margin=0.5))])
    c('pow_broadcast_3x1_1x4', 'pow', [R0, R1], [inp(pos(3, 1)), inp(randn(1, 4))])
    c('add_alpha_broadcast_3x1_1x4', 'add', [R0, R1], [inp(randn(3, 1)), inp(randn(1, 4))], kwargs={'alpha': 2})
    # broadcasting [2,3,4] x [4] and [4] x [2,3,4]
    for op in ('add', 'sub', 'mul'):
        c(f'{op}_broadcast_234_4', op, [R0, R1], [inp(randn(2, 3, 4)), inp(randn(4))])
    c('div_broadcast_234_4', 'div', [R0, R1], [inp(randn(2, 3, 4)), inp(away(4, margin=0.5))])
    c('mul_broadcast_4_234', 'mul', [R0, R1], [inp(randn(4)), inp(randn(2, 3, 4))])
    c('sub_broadcast_4_234', 'sub', [R0, R1], [inp(randn(4)), inp(randn(2, 3, 4))])
    c('add_broadcast_231_14', 'add', [R0, R1], [inp(randn(2, 3, 1)), inp(randn(1, 4))])
    c('maximum_broadcast_31_234', 'maximum', [R0, R1], [inp(randn(3, 1)), inp(randn(2, 3, 4))])
    # scalar operands
    c('add_scalar', 'add', [R0, 2.5], [inp(randn(3, 4))])
    c('add_scalar_alpha', 'add', [R0, 2], [inp(randn(3, 4))], kwargs={'alpha': 3})
    c('sub_scalar', 'sub', [R0, 1.5], [inp(randn(3, 4))])
    c('mul_scalar', 'mul', [R0, -3], [inp(randn(3, 4))])
    c('div_scalar', 'div', [R0, 4], [inp(randn(3, 4))])
    c('pow_scalar_2', 'pow', [R0, 2], [inp(randn(3, 4))])
    c('pow_scalar_half', 'pow', [R0, 0.5], [inp(pos(3, 4))])
    c('pow_scalar_3', 'pow', [R0, 3], [inp(randn(3, 4))])
    c('pow_scalar_neg1', 'pow', [R0, -1], [inp(away(3, 4, margin=0.5))])
    c('mul_0d_tensor', 'mul', [R0, R1], [inp(randn(3, 4)), inp(torch.tensor(1.75))])
    c('add_0d_0d', 'add', [R0, R1], [inp(torch.tensor(0.5)), inp(torch.tensor(-2.25))])
    # non-contiguous operands
    c('add_transposed', 'add', [R0, R1], [inp(randn(4, 3), view=[T([0, 1])]), inp(randn(3, 4))], noncontiguous=True)
    c('mul_sliced_step', 'mul', [R0, R1], [inp(randn(6, 4), view=[S('1::2', ':')]), inp(randn(3, 4))],
      noncontiguous=True)
    c('div_transposed_denominator', 'div', [R0, R1], [inp(randn(3, 4)), inp(away(4, 3, margin=0.5), view=[T([0, 1])])],
      noncontiguous=True)
    c('sub_both_noncontiguous', 'sub', [R0, R1], [inp(randn(4, 3), view=[T([0, 1])]),
                                                  inp(randn(3, 8), view=[S(':', '::2')])], noncontiguous=True)
    c('maximum_transposed', 'maximum', [R0, R1], [inp(randn(4, 3), view=[T([1, 0])]), inp(randn(3, 4))],
      noncontiguous=True)
    c('add_expanded', 'add', [R0, R1], [inp(randn(1, 4), view=[E([3, 4])]), inp(randn(3, 4))], noncontiguous=True)
    c('mul_permuted_broadcast', 'mul', [R0, R1], [inp(randn(4, 2, 3), view=[P([1, 2, 0])]), inp(randn(3, 1))],
      noncontiguous=True)
    c('pow_sliced_base', 'pow', [R0, R1], [inp(pos(3, 8), view=[S(':', '1::2')]), inp(randn(3, 4))],
      noncontiguous=True)

    # comparisons (ties on purpose)
    for op in ('eq', 'ne', 'gt', 'ge', 'lt', 'le'):
        c(op, op, [R0, R1], [inp(small_ints_f(3, 4)), inp(small_ints_f(3, 4))])
    c('gt_broadcast_3x1_1x4', 'gt', [R0, R1], [inp(small_ints_f(3, 1)), inp(small_ints_f(1, 4))])
    c('le_broadcast_234_4', 'le', [R0, R1], [inp(small_ints_f(2, 3, 4)), inp(small_ints_f(4))])
    c('eq_scalar', 'eq', [R0, 1], [inp(small_ints_f(3, 4))])
    c('lt_scalar', 'lt', [R0, 0.5], [inp(small_ints_f(3, 4))])
    c('ge_scalar', 'ge', [R0, 0], [inp(small_ints_f(3, 4))])
    c('ne_transposed', 'ne', [R0, R1], [inp(small_ints_f(4, 3), view=[T([0, 1])]), inp(small_ints_f(3, 4))],
      noncontiguous=True)
    c('eq_int64', 'eq', [R0, R1], [inp(ints(0, 3, 3, 4)), inp(ints(0, 3, 3, 4))])
    c('gt_int64_broadcast', 'gt', [R0, R1], [inp(ints(0, 5, 3, 1)), inp(ints(0, 5, 4))])
    c('log2', 'log2', [R0], [inp(pos(3, 4, lo=0.2, hi=3.0))])
    c('log2_special', 'log2', [R0], [inp(torch.tensor([0.0, -1.0, math.inf, math.nan, 8.0, 1e-30]))], grad=False)
    return f


# ---------------------------------------------------------------------------
# reductions

def reduce():
    f = Family('reduce', tolerance={'float32': {'rtol': 1e-5, 'atol': 1e-5}})
    c = f.case
    x34 = lambda: distinct(3, 4)
    x234 = lambda: distinct(2, 3, 4)

    for op in ('sum', 'mean'):
        c(f'{op}_all', op, [R0], [inp(randn(3, 4))])
        c(f'{op}_dim0', op, [R0], [inp(randn(3, 4))], kwargs={'dim': 0})
        c(f'{op}_dim1_keepdim', op, [R0], [inp(randn(3, 4))], kwargs={'dim': 1, 'keepdim': True})
        c(f'{op}_dimlist_0_2', op, [R0], [inp(randn(2, 3, 4))], kwargs={'dim': [0, 2]})
        c(f'{op}_dimlist_neg_keepdim', op, [R0], [inp(randn(2, 3, 4))], kwargs={'dim': [-1, -2], 'keepdim': True})
        c(f'{op}_dim_neg1', op, [R0], [inp(randn(2, 3, 4))], kwargs={'dim': -1})
        c(f'{op}_dim_neg3', op, [R0], [inp(randn(2, 3, 4))], kwargs={'dim': -3})
        c(f'{op}_transposed_dim0', op, [R0], [inp(randn(4, 3), view=[T([0, 1])])], kwargs={'dim': 0},
          noncontiguous=True)
        c(f'{op}_sliced_all', op, [R0], [inp(randn(6, 4), view=[S('::2', '1:')])], noncontiguous=True)
    c('sum_0d', 'sum', [R0], [inp(torch.tensor(1.5))])
    c('mean_float64_dim1', 'mean', [R0], [inp(randn(3, 5, dtype=torch.float64))], kwargs={'dim': 1})
    c('sum_large_row', 'sum', [R0], [inp(randn(2, 300))], kwargs={'dim': 1}, gradcheck=False)

    for op in ('var', 'std'):
        c(f'{op}_all', op, [R0], [inp(randn(3, 4))])
        c(f'{op}_all_biased', op, [R0], [inp(randn(3, 4))], kwargs={'unbiased': False})
        c(f'{op}_dim1', op, [R0], [inp(randn(3, 4))], kwargs={'dim': 1})
        c(f'{op}_dim0_biased_keepdim', op, [R0], [inp(randn(3, 4))],
          kwargs={'dim': 0, 'unbiased': False, 'keepdim': True})
        c(f'{op}_dimlist_0_2', op, [R0], [inp(randn(2, 3, 4))], kwargs={'dim': [0, 2]})
        c(f'{op}_dim_neg1_keepdim', op, [R0], [inp(randn(2, 3, 4))], kwargs={'dim': -1, 'keepdim': True})
        c(f'{op}_transposed_dim1', op, [R0], [inp(randn(4, 3), view=[T([0, 1])])], kwargs={'dim': 1},
          noncontiguous=True)

    for op in ('max', 'min'):
        c(f'{op}_all', op, [R0], [inp(x34())])
        c(f'{op}_dim1', op, [R0], [inp(x34())], kwargs={'dim': 1})
        c(f'{op}_dim0_keepdim', op, [R0], [inp(x34())], kwargs={'dim': 0, 'keepdim': True})
        c(f'{op}_dim_neg1_3d', op, [R0], [inp(x234())], kwargs={'dim': -1})
        c(f'{op}_dim_neg2_keepdim_3d', op, [R0], [inp(x234())], kwargs={'dim': -2, 'keepdim': True})
        c(f'{op}_transposed_dim1', op, [R0], [inp(distinct(4, 3), view=[T([0, 1])])], kwargs={'dim': 1},
          noncontiguous=True)
    c('amax_dim1', 'amax', [R0], [inp(x34())], kwargs={'dim': 1})
    c('amax_dim0', 'amax', [R0], [inp(x34())], kwargs={'dim': 0})
    c('amax_dimlist_0_2', 'amax', [R0], [inp(x234())], kwargs={'dim': [0, 2]})
    c('amax_dim_neg1_keepdim', 'amax', [R0], [inp(x234())], kwargs={'dim': -1, 'keepdim': True})
    for op in ('argmax', 'argmin'):
        c(f'{op}_all', op, [R0], [inp(x34())])
        c(f'{op}_dim0', op, [R0], [inp(x34())], kwargs={'dim': 0})
        c(f'{op}_dim1', op, [R0], [inp(x34())], kwargs={'dim': 1})
        c(f'{op}_dim_neg1_keepdim_3d', op, [R0], [inp(x234())], kwargs={'dim': -1, 'keepdim': True})
        c(f'{op}_all_3d', op, [R0], [inp(x234())])
        c(f'{op}_transposed_dim1', op, [R0], [inp(distinct(4, 3), view=[T([0, 1])])], kwargs={'dim': 1},
          noncontiguous=True)

    c('logsumexp_dim1', 'logsumexp', [R0], [inp(randn(3, 4))], kwargs={'dim': 1})
    c('logsumexp_dim0', 'logsumexp', [R0], [inp(randn(3, 4))], kwargs={'dim': 0})
    c('logsumexp_dim_neg1_keepdim', 'logsumexp', [R0], [inp(randn(2, 3, 4))], kwargs={'dim': -1, 'keepdim': True})
    c('logsumexp_dimlist', 'logsumexp', [R0], [inp(randn(2, 3, 4))], kwargs={'dim': [0, 1]})
    c('logsumexp_large_values', 'logsumexp', [R0], [inp(torch.tensor([[1000.0, 1000.5, 999.0],
                                                                       [-1000.0, -999.0, -1001.5]]))],
      kwargs={'dim': 1})
    c('logsumexp_transposed', 'logsumexp', [R0], [inp(randn(4, 3), view=[T([0, 1])])], kwargs={'dim': 1},
      noncontiguous=True)

    c('norm_all', 'norm', [R0], [inp(randn(3, 4))])
    c('norm_p1_all', 'norm', [R0], [inp(away(3, 4))], kwargs={'p': 1})
    c('norm_p2_dim1', 'norm', [R0], [inp(randn(3, 4))], kwargs={'p': 2, 'dim': 1})
    c('norm_p1_dim0', 'norm', [R0], [inp(away(3, 4))], kwargs={'p': 1, 'dim': 0})
    c('norm_p3_dim_neg1', 'norm', [R0], [inp(away(2, 3, 4))], kwargs={'p': 3, 'dim': -1})
    c('norm_p2_dim1_keepdim', 'norm', [R0], [inp(randn(3, 4))], kwargs={'p': 2, 'dim': 1, 'keepdim': True})
    c('norm_sliced', 'norm', [R0], [inp(randn(6, 4), view=[S('::3', ':')])], noncontiguous=True)

    for op in ('softmax', 'logSoftmax'):
        c(f'{op}_dim_neg1', op, [R0], [inp(randn(3, 4, scale=2))], kwargs={'dim': -1})
        c(f'{op}_dim0', op, [R0], [inp(randn(3, 4, scale=2))], kwargs={'dim': 0})
        c(f'{op}_3d_dim1', op, [R0], [inp(randn(2, 3, 4))], kwargs={'dim': 1})
        c(f'{op}_large_values', op, [R0], [inp(torch.tensor([[1000.0, 1001.0, 999.5], [-1000.0, -998.0, -1003.0]]))],
          kwargs={'dim': -1})
        c(f'{op}_transposed_dim_neg1', op, [R0], [inp(randn(4, 3), view=[T([0, 1])])], kwargs={'dim': -1},
          noncontiguous=True)
        c(f'{op}_float64', op, [R0], [inp(randn(2, 5, dtype=torch.float64))], kwargs={'dim': -1})
    return f


# ---------------------------------------------------------------------------
# shape

def shape():
    f = Family('shape')
    c = f.case
    idx = lambda *v: torch.tensor(v, dtype=torch.int64)

    c('view_2x6', 'view', [R0, 2, 6], [inp(randn(3, 4))])
    c('view_flat', 'view', [R0, -1], [inp(randn(3, 4))])
    c('view_infer', 'view', [R0, 4, -1], [inp(randn(2, 3, 2))])
    c('view_3d', 'view', [R0, 3, 1, 4], [inp(randn(3, 4))])
    c('reshape_contiguous', 'reshape', [R0, 2, -1, 2], [inp(randn(3, 4))])
    c('reshape_transposed', 'reshape', [R0, 12], [inp(randn(3, 4), view=[T([0, 1])])], noncontiguous=True)
    c('reshape_sliced', 'reshape', [R0, -1], [inp(randn(6, 4), view=[S('::2', ':')])], noncontiguous=True)
    c('transpose_01', 'transpose', [R0, 0, 1], [inp(randn(3, 4))])
    c('transpose_neg_3d', 'transpose', [R0, -1, 0], [inp(randn(2, 3, 4))])
    c('permute_201', 'permute', [R0, 2, 0, 1], [inp(randn(2, 3, 4))])
    c('permute_102', 'permute', [R0, 1, 0, 2], [inp(randn(2, 3, 4))])
    c('expand_3x1_to_3x4', 'expand', [R0, 3, 4], [inp(randn(3, 1))])
    c('expand_new_leading_dim', 'expand', [R0, 2, 3, 4], [inp(randn(3, 1))])
    c('expand_minus_one', 'expand', [R0, 2, -1, -1], [inp(randn(1, 3, 4))])
    c('narrow_dim0', 'narrow', [R0, 0, 1, 2], [inp(randn(4, 3))])
    c('narrow_dim_neg1', 'narrow', [R0, -1, 1, 2], [inp(randn(2, 3, 4))])
    c('select_dim0', 'select', [R0, 0, 1], [inp(randn(3, 4))])
    c('select_dim1_neg_index', 'select', [R0, 1, -1], [inp(randn(3, 4))])
    c('select_dim_neg1_3d', 'select', [R0, -1, 2], [inp(randn(2, 3, 4))])

    # x.index(...) is Python's x[...]
    c('index_all_step2', 'index', [R0, ':', '1::2'], [inp(randn(3, 6))])
    c('index_int', 'index', [R0, 1], [inp(randn(3, 4))])
    c('index_neg_int', 'index', [R0, -1], [inp(randn(3, 4))])
    c('index_range', 'index', [R0, '1:3'], [inp(randn(4, 3))])
    c('index_two_ranges', 'index', [R0, '0:2', '1:'], [inp(randn(3, 4))])
    c('index_step_both', 'index', [R0, '::2', '::3'], [inp(randn(5, 7))])
    c('index_neg_start', 'index', [R0, '-2:', ':-1'], [inp(randn(4, 4))])
    c('index_element', 'index', [R0, 0, 2], [inp(randn(3, 4))])
    c('index_ellipsis_int', 'index', [R0, '...', 0], [inp(randn(2, 3, 4))])
    c('index_ellipsis_slice', 'index', [R0, '...', '1:'], [inp(randn(2, 3, 4))])
    c('index_newaxis', 'index', [R0, None, ':', 1], [inp(randn(3, 4))])
    c('index_trailing_newaxis', 'index', [R0, ':', None], [inp(randn(3, 4))])
    c('index_int_slice_step_3d', 'index', [R0, 1, ':', '::2'], [inp(randn(2, 3, 4))])
    c('index_list', 'index', [R0, [0, 2]], [inp(randn(3, 4))])
    c('index_slice_list', 'index', [R0, ':', [1, 3]], [inp(randn(3, 4))])
    c('index_tensor_duplicates', 'index', [R0, R1], [inp(randn(3, 4)), inp(idx(0, 2, 0, 0))])
    c('index_arange_target', 'index', [R0, R1, R2], [inp(randn(4, 5)), inp(idx(0, 1, 2, 3)), inp(idx(4, 0, 2, 2))])
    c('index_on_transposed', 'index', [R0, '1:', '::2'], [inp(randn(4, 3), view=[T([0, 1])])], noncontiguous=True)

    c('squeeze_all', 'squeeze', [R0], [inp(randn(3, 1, 4, 1))])
    c('squeeze_dim1', 'squeeze', [R0, 1], [inp(randn(3, 1, 4, 1))])
    c('squeeze_dim_neg1', 'squeeze', [R0, -1], [inp(randn(3, 1, 4, 1))])
    c('squeeze_non_unit_noop', 'squeeze', [R0, 0], [inp(randn(3, 1, 4))])
    c('unsqueeze_0', 'unsqueeze', [R0, 0], [inp(randn(3, 4))])
    c('unsqueeze_1', 'unsqueeze', [R0, 1], [inp(randn(3, 4))])
    c('unsqueeze_neg1', 'unsqueeze', [R0, -1], [inp(randn(3, 4))])
    c('unsqueeze_transposed', 'unsqueeze', [R0, 1], [inp(randn(4, 3), view=[T([0, 1])])], noncontiguous=True)
    c('flatten_all', 'flatten', [R0], [inp(randn(2, 3, 4))])
    c('flatten_from1', 'flatten', [R0, 1], [inp(randn(2, 3, 4))])
    c('flatten_0_1', 'flatten', [R0, 0, 1], [inp(randn(2, 3, 4))])
    c('flatten_transposed', 'flatten', [R0], [inp(randn(4, 3), view=[T([0, 1])])], noncontiguous=True)

    c('cat_dim0', 'cat', [{'refs': [0, 1]}, 0], [inp(randn(2, 3)), inp(randn(1, 3))])
    c('cat_dim1', 'cat', [{'refs': [0, 1]}, 1], [inp(randn(2, 3)), inp(randn(2, 2))])
    c('cat_three_dim_neg1', 'cat', [{'refs': [0, 1, 2]}, -1], [inp(randn(2, 1)), inp(randn(2, 3)), inp(randn(2, 2))])
    c('cat_default_dim', 'cat', [{'refs': [0, 1]}], [inp(randn(1, 4)), inp(randn(2, 4))])
    c('cat_transposed', 'cat', [{'refs': [0, 1]}, 0], [inp(randn(4, 3), view=[T([0, 1])]), inp(randn(2, 4))],
      noncontiguous=True)
    c('stack_dim0', 'stack', [{'refs': [0, 1]}, 0], [inp(randn(2, 3)), inp(randn(2, 3))])
    c('stack_dim1', 'stack', [{'refs': [0, 1, 2]}, 1], [inp(randn(2, 3)), inp(randn(2, 3)), inp(randn(2, 3))])
    c('stack_dim_neg1', 'stack', [{'refs': [0, 1]}, -1], [inp(randn(2, 3)), inp(randn(2, 3))])
    c('stack_default_dim', 'stack', [{'refs': [0, 1]}], [inp(randn(3)), inp(randn(3))])
    c('chunk_even_dim0', 'chunk', [R0, 2, 0], [inp(randn(4, 3))])
    c('chunk_uneven_dim1', 'chunk', [R0, 3, 1], [inp(randn(2, 7))])
    c('chunk_dim_neg1', 'chunk', [R0, 2, -1], [inp(randn(2, 3, 4))])
    c('chunk_default_dim', 'chunk', [R0, 2], [inp(randn(5, 2))])
    c('split_size_dim0', 'split', [R0, 2, 0], [inp(randn(5, 3))])
    c('split_sections_dim1', 'split', [R0, [1, 3], 1], [inp(randn(2, 4))])
    c('split_size_dim_neg1', 'split', [R0, 1, -1], [inp(randn(2, 3))])
    c('split_default_dim', 'split', [R0, 2], [inp(randn(4, 2))])
    c('contiguous_transposed', 'contiguous', [R0], [inp(randn(3, 4), view=[T([0, 1])])], noncontiguous=True)
    c('contiguous_sliced', 'contiguous', [R0], [inp(randn(4, 6), view=[S('1::2', '::3')])], noncontiguous=True)
    c('contiguous_permuted', 'contiguous', [R0], [inp(randn(2, 3, 4), view=[P([2, 0, 1])])], noncontiguous=True)
    c('indexSelect_dim0_dup', 'indexSelect', [R0, 0, R1], [inp(randn(3, 4)), inp(idx(2, 0, 2))])
    c('indexSelect_dim1', 'indexSelect', [R0, 1, R1], [inp(randn(3, 4)), inp(idx(3, 1))])
    c('indexSelect_dim_neg1_3d', 'indexSelect', [R0, -1, R1], [inp(randn(2, 3, 4)), inp(idx(0, 0, 3))])
    c('gather_dim1', 'gather', [R0, 1, R1], [inp(randn(3, 4)), inp(idx(0, 3, 1, 1, 2, 2).reshape(3, 2))])
    c('gather_dim0_dup', 'gather', [R0, 0, R1], [inp(randn(3, 4)), inp(idx(2, 0, 0, 1, 2, 2, 2, 0).reshape(2, 4))])
    c('gather_dim_neg1_3d', 'gather', [R0, -1, R1], [inp(randn(2, 3, 4)), inp(ints(0, 4, 2, 3, 2))])
    c('where_same_shape', 'where', [R0, R1, R2], [inp(torch.rand(3, 4) > 0.5), inp(randn(3, 4)), inp(randn(3, 4))])
    c('where_broadcast', 'where', [R0, R1, R2], [inp(torch.rand(3, 1) > 0.5), inp(randn(1, 4)), inp(randn(3, 4))])
    c('where_scalar_other', 'where', [R0, R1, 0.0], [inp(torch.tensor([[True, False, True], [False, False, True]])),
                                                     inp(randn(2, 3))])
    c('where_transposed', 'where', [R0, R1, R2], [inp(torch.rand(3, 4) > 0.5), inp(randn(4, 3), view=[T([0, 1])]),
                                                  inp(randn(3, 4))], noncontiguous=True)
    c('t_2d', 't', [R0], [inp(randn(3, 4))])
    c('t_1d', 't', [R0], [inp(randn(4))])
    return f


# ---------------------------------------------------------------------------
# matmul

def matmul():
    f = Family('matmul', tolerance={'float32': {'rtol': 1e-5, 'atol': 1e-5}})
    c = f.case
    c('mm', 'mm', [R0, R1], [inp(randn(3, 4)), inp(randn(4, 5))])
    c('mm_transposed_lhs', 'mm', [R0, R1], [inp(randn(4, 3), view=[T([0, 1])]), inp(randn(4, 5))], noncontiguous=True)
    c('mm_transposed_rhs', 'mm', [R0, R1], [inp(randn(3, 4)), inp(randn(5, 4), view=[T([0, 1])])], noncontiguous=True)
    c('mm_sliced', 'mm', [R0, R1], [inp(randn(6, 4), view=[S('::2', ':')]), inp(randn(4, 10), view=[S(':', '1::2')])],
      noncontiguous=True)
    c('mm_float64', 'mm', [R0, R1], [inp(randn(3, 4, dtype=torch.float64)), inp(randn(4, 2, dtype=torch.float64))])
    c('mm_larger', 'mm', [R0, R1], [inp(randn(17, 33)), inp(randn(33, 9))], gradcheck=False)
    c('matmul_1d_1d', 'matmul', [R0, R1], [inp(randn(5)), inp(randn(5))])
    c('matmul_1d_2d', 'matmul', [R0, R1], [inp(randn(4)), inp(randn(4, 5))])
    c('matmul_2d_1d', 'matmul', [R0, R1], [inp(randn(3, 4)), inp(randn(4))])
    c('matmul_2d_2d', 'matmul', [R0, R1], [inp(randn(3, 4)), inp(randn(4, 2))])
    c('matmul_3d_3d', 'matmul', [R0, R1], [inp(randn(2, 3, 4)), inp(randn(2, 4, 5))])
    c('matmul_broadcast_batch', 'matmul', [R0, R1], [inp(randn(2, 1, 3, 4)), inp(randn(3, 4, 2))])
    c('matmul_3d_2d', 'matmul', [R0, R1], [inp(randn(2, 3, 4)), inp(randn(4, 5))])
    c('matmul_2d_3d', 'matmul', [R0, R1], [inp(randn(3, 4)), inp(randn(2, 4, 5))])
    c('matmul_1d_3d', 'matmul', [R0, R1], [inp(randn(4)), inp(randn(2, 4, 5))])
    c('matmul_3d_1d', 'matmul', [R0, R1], [inp(randn(2, 3, 4)), inp(randn(4))])
    c('matmul_transposed_rhs', 'matmul', [R0, R1], [inp(randn(2, 3, 4)), inp(randn(2, 5, 4), view=[T([1, 2])])],
      noncontiguous=True)
    c('bmm', 'bmm', [R0, R1], [inp(randn(2, 3, 4)), inp(randn(2, 4, 5))])
    c('bmm_transposed', 'bmm', [R0, R1], [inp(randn(2, 4, 3), view=[T([1, 2])]), inp(randn(4, 2, 5), view=[T([0, 1])])],
      noncontiguous=True)
    c('dot', 'dot', [R0, R1], [inp(randn(5)), inp(randn(5))])
    c('dot_strided', 'dot', [R0, R1], [inp(randn(10), view=[S('::2')]), inp(randn(5))], noncontiguous=True)
    c('dot_float64', 'dot', [R0, R1], [inp(randn(6, dtype=torch.float64)), inp(randn(6, dtype=torch.float64))])
    c('t_then_mm', 'mm', [R0, R1], [inp(randn(3, 4)), inp(randn(3, 4), view=[T([0, 1])])], noncontiguous=True)
    c('t', 't', [R0], [inp(randn(2, 5))])
    return f


# ---------------------------------------------------------------------------
# dtypes and type promotion

def dtype():
    f = Family('dtype')
    c = f.case
    i32 = lambda *s, lo=-5, hi=6: ints(lo, hi, *s, dtype=torch.int32)
    i64 = lambda *s, lo=-5, hi=6: ints(lo, hi, *s, dtype=torch.int64)
    u8 = lambda *s, lo=0, hi=10: ints(lo, hi, *s, dtype=torch.uint8)
    bl = lambda *s: torch.rand(*s) > 0.5
    f32 = lambda *s: randn(*s)
    f64 = lambda *s: randn(*s, dtype=torch.float64)

    # tensor-tensor promotion
    c('add_int64_float32', 'add', [R0, R1], [inp(i64(2, 3)), inp(f32(2, 3))])
    c('add_float32_int64', 'add', [R0, R1], [inp(f32(2, 3)), inp(i64(2, 3))])
    c('add_int32_int64', 'add', [R0, R1], [inp(i32(2, 3)), inp(i64(2, 3))])
    c('add_bool_bool', 'add', [R0, R1], [inp(bl(2, 3)), inp(bl(2, 3))])
    c('add_uint8_int32', 'add', [R0, R1], [inp(u8(2, 3)), inp(i32(2, 3))])
    c('add_float32_float64', 'add', [R0, R1], [inp(f32(2, 3)), inp(f64(2, 3))])
    c('mul_float64_float32_broadcast', 'mul', [R0, R1], [inp(f64(2, 3)), inp(f32(3))])
    c('add_bool_int64', 'add', [R0, R1], [inp(bl(2, 3)), inp(i64(2, 3))])
    c('mul_bool_float32', 'mul', [R0, R1], [inp(bl(2, 3)), inp(f32(2, 3))])
    c('maximum_int32_float32', 'maximum', [R0, R1], [inp(i32(2, 3)), inp(f32(2, 3))])
    c('sub_uint8_wraparound', 'sub', [R0, R1], [inp(torch.tensor([3, 0, 200], dtype=torch.uint8)),
                                               inp(torch.tensor([5, 1, 100], dtype=torch.uint8))])
    c('add_int64_int64', 'add', [R0, R1], [inp(i64(2, 3)), inp(i64(2, 3))])
    c('mul_int32_int32', 'mul', [R0, R1], [inp(i32(2, 3)), inp(i32(2, 3))])
    c('add_alpha_int64', 'add', [R0, R1], [inp(i64(2, 3)), inp(i64(2, 3))], kwargs={'alpha': 2})
    # tensor-scalar: a Python scalar does not raise the tensor's dtype within its category
    c('mul_int64_pyfloat', 'mul', [R0, 2.5], [inp(i64(2, 3))])
    c('mul_int32_pyint', 'mul', [R0, 3], [inp(i32(2, 3))])
    c('add_uint8_pyint', 'add', [R0, 7], [inp(u8(2, 3))])
    c('add_bool_pyint', 'add', [R0, 1], [inp(bl(2, 3))])
    c('mul_bool_pyfloat', 'mul', [R0, 1.5], [inp(bl(2, 3))])
    c('mul_float32_pyfloat', 'mul', [R0, 0.1], [inp(f32(2, 3))])
    c('add_float64_pyint', 'add', [R0, 1], [inp(f64(2, 3))])
    # zero-dim tensors behave like scalars for promotion within a category
    c('add_float32_0d_float64', 'add', [R0, R1], [inp(f32(2, 3)), inp(torch.tensor(0.5, dtype=torch.float64))])
    c('add_int32_0d_int64', 'add', [R0, R1], [inp(i32(2, 3)), inp(torch.tensor(7, dtype=torch.int64))])
    c('add_int64_0d_float32', 'add', [R0, R1], [inp(i64(2, 3)), inp(torch.tensor(0.25))])
    c('add_0d_float64_0d_float32', 'add', [R0, R1], [inp(torch.tensor(0.5, dtype=torch.float64)),
                                                     inp(torch.tensor(0.25))])
    # division of integers is true division
    c('div_int64_int64', 'div', [R0, R1], [inp(i64(2, 3)), inp(i64(2, 3, lo=1, hi=5))])
    c('div_int32_pyint', 'div', [R0, 2], [inp(i32(2, 3))])
    c('div_int64_pyfloat', 'div', [R0, 0.5], [inp(i64(2, 3))])
    c('div_uint8_uint8', 'div', [R0, R1], [inp(u8(2, 3)), inp(u8(2, 3, lo=1, hi=4))])
    c('pow_int64_pyint', 'pow', [R0, 2], [inp(i64(2, 3))])
    c('pow_int64_pyfloat', 'pow', [R0, 0.5], [inp(i64(2, 3, lo=0, hi=9))])
    # comparisons give bool
    c('eq_int64_float32', 'eq', [R0, R1], [inp(i64(2, 3, lo=0, hi=3)), inp(small_ints_f(2, 3))])
    c('gt_float32_pyfloat', 'gt', [R0, 0.5], [inp(f32(2, 3))])
    c('lt_int32_int64', 'lt', [R0, R1], [inp(i32(2, 3)), inp(i64(2, 3))])
    c('ge_float64_float32', 'ge', [R0, R1], [inp(small_ints_f(2, 3, dtype=torch.float64)), inp(small_ints_f(2, 3))])
    c('ne_bool_bool', 'ne', [R0, R1], [inp(bl(2, 3)), inp(bl(2, 3))])
    c('le_uint8_pyint', 'le', [R0, 4], [inp(u8(2, 3))])
    # unary
    c('sqrt_int64', 'sqrt', [R0], [inp(i64(2, 3, lo=0, hi=9))])
    c('exp_int32', 'exp', [R0], [inp(i32(2, 3))])
    c('sigmoid_int64', 'sigmoid', [R0], [inp(i64(2, 3))])
    c('neg_int64', 'neg', [R0], [inp(i64(2, 3))])
    c('abs_int32', 'abs', [R0], [inp(i32(2, 3))])
    c('relu_int64', 'relu', [R0], [inp(i64(2, 3))])
    c('neg_bool_error', 'neg', [R0], [inp(bl(2, 3))], error=True)
    c('sub_bool_bool_error', 'sub', [R0, R1], [inp(bl(2, 3)), inp(bl(2, 3))], error=True)
    # reductions
    c('sum_int32', 'sum', [R0], [inp(i32(2, 3))])
    c('sum_int32_dim', 'sum', [R0], [inp(i32(2, 3))], kwargs={'dim': 1})
    c('sum_bool', 'sum', [R0], [inp(bl(3, 4))])
    c('sum_uint8', 'sum', [R0], [inp(u8(3, 4, lo=100, hi=250))])
    c('sum_int64_dim_keepdim', 'sum', [R0], [inp(i64(2, 3))], kwargs={'dim': 0, 'keepdim': True})
    c('sum_float64', 'sum', [R0], [inp(f64(2, 3))])
    c('mean_int64_error', 'mean', [R0], [inp(i64(2, 3))], error=True)
    c('mean_int32_error', 'mean', [R0], [inp(i32(2, 3))], error=True)
    c('mean_float64', 'mean', [R0], [inp(f64(2, 3))])
    c('max_int32', 'max', [R0], [inp(torch.randperm(6).to(torch.int32).reshape(2, 3))])
    c('max_int32_dim', 'max', [R0], [inp(torch.randperm(6).to(torch.int32).reshape(2, 3))], kwargs={'dim': 1})
    c('argmax_int64', 'argmax', [R0], [inp(torch.randperm(6).reshape(2, 3))], kwargs={'dim': 0})
    c('amax_uint8', 'amax', [R0], [inp(torch.randperm(6).to(torch.uint8).reshape(2, 3))], kwargs={'dim': 1})
    # where / cat promote
    c('where_int64_float32', 'where', [R0, R1, R2], [inp(bl(2, 3)), inp(i64(2, 3)), inp(f32(2, 3))])
    c('cat_int32_int64', 'cat', [{'refs': [0, 1]}, 0], [inp(i32(1, 3)), inp(i64(2, 3))])
    c('mm_int64', 'mm', [R0, R1], [inp(i64(2, 3)), inp(i64(3, 2))])
    # conversions
    c('to_int64_truncates', 'to', [R0, 'int64'], [inp(torch.tensor([-1.7, -0.5, 0.5, 1.7, 2.0, -3.0]))], grad=False)
    c('to_bool_from_float', 'to', [R0, 'bool'], [inp(torch.tensor([0.0, -0.0, 0.5, -2.0, math.nan]))], grad=False)
    c('to_float32_from_bool', 'to', [R0, 'float32'], [inp(bl(2, 3))])
    c('to_float64_from_int64', 'to', [R0, 'float64'], [inp(i64(2, 3))])
    c('to_float32_from_float64', 'to', [R0, 'float32'], [inp(torch.tensor([0.1, 1 / 3, 1e-50, 1e40],
                                                                           dtype=torch.float64))], grad=False)
    c('to_float64_from_float32_grad', 'to', [R0, 'float64'], [inp(f32(2, 3))])
    c('to_int32_from_int64', 'to', [R0, 'int32'], [inp(i64(2, 3))])
    c('to_uint8_from_int64', 'to', [R0, 'uint8'], [inp(torch.tensor([0, 1, 255]))])
    return f


FAMILIES = (elementwise, reduce, shape, matmul, dtype)


def main(argv):
    """Writes every family, or only those named: `make_fixtures.py reduce`.
    Each family seeds from its own name, so one family's new cases leave the
    others' files unchanged."""
    wanted = set(argv)
    known = {make.__name__ for make in FAMILIES}
    unknown = wanted - known
    if unknown:
        sys.exit(f'unknown family {sorted(unknown)}; families: {sorted(known)}')
    total = 0
    for make in FAMILIES:
        if wanted and make.__name__ not in wanted:
            continue
        torch.manual_seed(zlib.crc32(make.__name__.encode()))
        fam = make()
        path = fam.write()
        size = os.path.getsize(path)
        total += size
        print(f'{os.path.relpath(path, ROOT)}: {len(fam.cases)} cases, {size / 1024:.1f} KiB')
    print(f'total {total / 1024:.1f} KiB')


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
