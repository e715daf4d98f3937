#!/usr/bin/env python3
"""float16 / bfloat16 fixtures for test/tensor/half.test.ts and test/io/half.test.ts.

Run with a Python that has PyTorch (e.g. /usr/bin/python3):  make_half_fixtures.py

Writes into test/fixtures/:
  half_bits.json      the bit conversions, from PyTorch: every one of the 65536 float16
                      patterns widened to float32; a sample of bfloat16 patterns widened;
                      float32 values (ties at every exponent, subnormal and overflow edges,
                      NaNs, infinities, random patterns) rounded to float16 and bfloat16.
  half_ops.json       ops on float16 and bfloat16 tensors and their results, printed reprs,
                      type promotion, a backward. PyTorch 1.13's CPU kernels lack many
                      float16 ops (exp, matmul, softmax, ...): there the expected result is
                      PyTorch's own recipe for half on CPU, the float32 op rounded back
                      (`native: false` says so); elsewhere PyTorch ran the op in half.
  io_half_f16.safetensors, io_half_bf16.safetensors   state dicts of F16 / BF16 tensors
                      (plus an F32 and an I64 entry) written from PyTorch tensors.
  io_half_sharded/    a 2-shard checkpoint in Hugging Face's layout:
                      model.safetensors.index.json + model-0000{1,2}-of-00002.safetensors.
  io_half_expected.safetensors   what Kindling's torch.save must write for the tensors
                      io_half.json lists under "save" (reference order, byte for byte).
  io_half.json        the values of all those files' tensors (bits and float32 values).

Bits travel as base64 of little-endian uint16 / uint32 arrays (zlib-deflated first in
half_bits.json).
"""

import base64
import json
import math
import os
import sys
import zlib

try:
    import torch
except ImportError:
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    sys.exit('make_half_fixtures.py needs PyTorch: pip install torch')

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_io_fixtures as io  # noqa: E402  (the safetensors writer; F16/BF16 added there)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, 'test', 'fixtures')
HALF = {'float16': torch.float16, 'bfloat16': torch.bfloat16}


def b64(t, dtype, deflate=False):
    """base64 of a tensor's bits as little-endian dtype (torch.int16 or torch.int32),
    zlib-compressed first with `deflate`."""
    raw = t.contiguous().view(dtype).numpy().astype('<i2' if dtype == torch.int16 else '<i4').tobytes()
    return base64.b64encode(zlib.compress(raw, 9) if deflate else raw).decode('ascii')


def bits16(t, deflate=False):
    return b64(t.reshape(-1), torch.int16, deflate)


def bits32(t, deflate=False):
    return b64(t.reshape(-1).to(torch.float32), torch.int32, deflate)


def from_u32(values):
    return torch.tensor([v - 2 ** 32 if v >= 2 ** 31 else v for v in values], dtype=torch.int32).view(torch.float32)


# ---- bit conversions -------------------------------------------------------------------
def float32_cases():
    """float32 bit patterns where rounding to 16 bits is delicate."""
    pats = set()
    for e in range(256):
        for m in (0, 1, 0x1000, 0x0fff, 0x1001, 0x2000, 0x3000, 0x7fff, 0x8000, 0x8001, 0x18000, 0x7fe000, 0x7ff000,
                  0x7fefff, 0x7ff001, 0x7fffff, 0x400000, 0x401000, 0x402000, 0x3fffff, 0x7f8000, 0x7fc000):
            for s in (0, 1):
                pats.add((s << 31) | (e << 23) | m)
    # float16's edges: the largest finite, the halfway point to inf, the smallest normal and
    # subnormal, the zero/subnormal tie, around each subnormal step.
    edges = [65504.0, 65519.0, 65519.996, 65520.0, 65520.004, 65536.0, 2 ** -14, 2 ** -24, 2 ** -25, 2 ** -26,
             3 * 2 ** -26, 2 ** -25 * 1.0000001, 2 ** -24 * 1.5, 2 ** -24 * 2.5, 2 ** -14 - 2 ** -25, 1e-8,
             0.1, 1 / 3, 3.14159265, 1e38, 3.4e38, 1.5, 2.5, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8]
    for v in edges:
        for x in (v, -v):
            pats.add(int(torch.tensor([x], dtype=torch.float32).view(torch.int32).item()) & 0xffffffff)
    g = torch.Generator().manual_seed(15)
    for v in torch.randint(0, 2 ** 32, (8000,), generator=g, dtype=torch.int64).tolist():
        pats.add(v)
    # Random values in float16's range, where most rounding happens.
    for v in (torch.randn(8000, generator=g) * torch.exp2(torch.randint(-26, 17, (8000,), generator=g).float())).tolist():
        pats.add(int(torch.tensor([v], dtype=torch.float32).view(torch.int32).item()) & 0xffffffff)
    return sorted(pats)


def bits_fixture():
    h = torch.arange(65536, dtype=torch.int32).to(torch.int16).view(torch.float16)
    f16_to_f32 = h.float()
    # bfloat16 widening is a shift; a sample (every 7th pattern, NaNs and infinities included) checks it.
    bsample = torch.tensor(sorted(set(range(0, 65536, 7)) | {0x7f80, 0xff80, 0x7f81, 0x7fc0, 0xffff, 0x0001, 0x8001}),
                           dtype=torch.int32).to(torch.int16).view(torch.bfloat16)
    cases = float32_cases()
    f = from_u32(cases)
    to_f16 = f.half()
    # bfloat16: PyTorch's scalar conversion (c10::BFloat16) gives every NaN 0x7fc0; its
    # vectorised cast gives 0xffff. The scalar rule is the one Kindling follows; both agree
    # on every other value (checked here).
    to_bf16 = torch.tensor(f.tolist(), dtype=torch.bfloat16)
    vec = f.bfloat16()
    notnan = ~torch.isnan(f)
    assert torch.equal(to_bf16[notnan].view(torch.int16), vec[notnan].view(torch.int16))
    assert torch.equal(torch.tensor(f[notnan].tolist(), dtype=torch.float16).view(torch.int16), to_f16[notnan].view(torch.int16))
    return {
        'torch_version': torch.__version__,
        'deflated': True,
        'f16_to_f32': bits32(f16_to_f32, True),
        'bf16_sample': bits16(bsample, True),
        'bf16_sample_f32': bits32(bsample.float(), True),
        'f32': b64(f, torch.int32, True),
        'f32_to_f16': bits16(to_f16, True),
        'f32_to_bf16': bits16(to_bf16, True),
    }


# ---- ops ---------------------------------------------------------------------------------
def enc(t):
    """A tensor as {dtype, shape, bits (16-bit dtypes), values (float32-exact numbers or strings)}."""
    t = t.detach()
    name = str(t.dtype).replace('torch.', '')
    out = {'dtype': name, 'shape': list(t.shape)}
    if t.dtype in (torch.float16, torch.bfloat16):
        out['bits'] = bits16(t)
    if t.dtype == torch.bool:
        out['values'] = [bool(v) for v in t.reshape(-1).tolist()]
    elif t.dtype.is_floating_point:
        out['values'] = [('nan' if math.isnan(v) else ('inf' if v > 0 else '-inf')) if not math.isfinite(v) else v
                         for v in t.reshape(-1).double().tolist()]
    else:
        out['values'] = [int(v) for v in t.reshape(-1).tolist()]
    return out


def ops_fixture():
    g = torch.Generator().manual_seed(3)
    a32 = torch.randn(3, 4, generator=g)
    c32 = torch.randn(3, 4, generator=g)
    b32 = torch.randn(4, 2, generator=g)
    idx = torch.tensor([[0], [3], [1]])
    cases = []
    ops = {
        'add': lambda a, b, c: a + c,
        'sub': lambda a, b, c: a - c,
        'mul': lambda a, b, c: a * c,
        'div': lambda a, b, c: a / c,
        'maximum': lambda a, b, c: torch.maximum(a, c),
        'mulScalar': lambda a, b, c: a * 2.5,
        'addScalar': lambda a, b, c: a + 0.1,
        'subScalar': lambda a, b, c: a - 0.3,
        'rsubScalar': lambda a, b, c: torch.rsub(a, 0.1),
        'divScalar': lambda a, b, c: a / 0.3,
        'powScalar': lambda a, b, c: a.abs() ** 1.1,
        'eqScalar': lambda a, b, c: (a * 0).add(0.1) == 0.1,
        'mean1': lambda a, b, c: a.mean(1),
        'neg': lambda a, b, c: -a,
        'abs': lambda a, b, c: a.abs(),
        'exp': lambda a, b, c: a.exp(),
        'logAbs': lambda a, b, c: a.abs().log(),
        'sqrtAbs': lambda a, b, c: a.abs().sqrt(),
        'sigmoid': lambda a, b, c: a.sigmoid(),
        'tanh': lambda a, b, c: a.tanh(),
        'relu': lambda a, b, c: a.relu(),
        'pow2': lambda a, b, c: a.pow(2),
        'clamp': lambda a, b, c: a.clamp(-0.5, 0.5),
        'gt': lambda a, b, c: a > c,
        'sum': lambda a, b, c: a.sum(),
        'sum1': lambda a, b, c: a.sum(1),
        'mean': lambda a, b, c: a.mean(),
        'mean0': lambda a, b, c: a.mean(0),
        'max1': lambda a, b, c: a.max(1).values,
        'argmax1': lambda a, b, c: a.argmax(1),
        'softmax1': lambda a, b, c: a.softmax(1),
        'cumsum1': lambda a, b, c: a.cumsum(1),
        'matmul': lambda a, b, c: a @ b,
        'transpose': lambda a, b, c: a.t().contiguous(),
        'reshape': lambda a, b, c: a.t().reshape(2, 6),
        'cat': lambda a, b, c: torch.cat([a, c], 1),
        'stack': lambda a, b, c: torch.stack([a, c]),
        'index': lambda a, b, c: a[[0, 2]],
        'narrow': lambda a, b, c: a.narrow(1, 1, 2),
        'gather': lambda a, b, c: a.gather(1, idx),
        'indexSelect': lambda a, b, c: a.index_select(1, torch.tensor([3, 0])),
        'where': lambda a, b, c: torch.where(a > 0, a, c),
        'sort1': lambda a, b, c: a.sort(1).values,
        'flip': lambda a, b, c: a.flip(0),
    }
    for dname, dt in HALF.items():
        a, b, c = a32.to(dt), b32.to(dt), c32.to(dt)
        for name, f in ops.items():
            try:
                out = f(a, b, c)
                native = True
            except RuntimeError:
                # PyTorch's CPU recipe for half: compute in float32, round the result.
                out = f(a.float(), b.float(), c.float())
                out = out.to(dt) if out.dtype == torch.float32 else out
                native = False
            cases.append({'op': name, 'dtype': dname, 'native': native, 'out': enc(out)})
    inputs = {dname: {'a': enc(a32.to(dt)), 'b': enc(b32.to(dt)), 'c': enc(c32.to(dt))} for dname, dt in HALF.items()}

    promotion = []
    for x, y in [('float16', 'bfloat16'), ('float16', 'int64'), ('float16', 'float32'), ('bfloat16', 'uint8'),
                 ('float16', 'bool'), ('bfloat16', 'float64'), ('float16', 'float16'), ('bfloat16', 'int32')]:
        r = torch.promote_types(getattr(torch, x), getattr(torch, y))
        promotion.append([x, y, str(r).replace('torch.', '')])
    mixed = {
        # a 0-d float32 tensor does not lift a float16 tensor with dims; a 0-d float16 lifts an int64 one
        'f16_plus_0d_f32': str((torch.ones(2, dtype=torch.float16) + torch.tensor(1.5)).dtype).replace('torch.', ''),
        'i64_plus_0d_f16': str((torch.ones(2, dtype=torch.int64) + torch.tensor(1.5, dtype=torch.float16)).dtype).replace('torch.', ''),
    }

    reprs = []
    g2 = torch.Generator().manual_seed(5)
    print_cases = [
        ('small', torch.tensor([1.5, 2.25, 3.0])),
        ('ints', torch.tensor([1.0, 2.0, -7.0])),
        ('sci', torch.tensor([1e-7, 65504.0, 1.0])),
        ('mixed2d', torch.tensor([[0.1, 1000.0], [3.0, 4.0]])),
        ('special', torch.tensor([float('nan'), float('inf'), -float('inf'), 1.0, -0.0])),
        ('scalar', torch.tensor(1.5)),
        ('empty', torch.zeros(0)),
        ('empty2d', torch.zeros(2, 0)),
        ('randn', torch.randn(3, 4, generator=g2)),
        ('big', torch.randn(40, 40, generator=g2)),
        ('tiny', torch.tensor([1e-5, 3e-6])),
    ]
    for name, t in print_cases:
        for dname, dt in HALF.items():
            h = t.to(dt)
            reprs.append({'name': name, 'dtype': dname, 'input': enc(h), 'repr': repr(h)})
    for dname, dt in HALF.items():
        x = torch.tensor([0.1, 0.2], dtype=dt, requires_grad=True)
        reprs.append({'name': 'grad_fn', 'dtype': dname, 'input': enc(x), 'repr': repr(x * 2)})
        reprs.append({'name': 'requires_grad', 'dtype': dname, 'input': enc(x), 'repr': repr(x)})

    grads = []
    for dname, dt in HALF.items():
        x = torch.tensor([0.1, 0.2, -3.0, 7.5], dtype=dt, requires_grad=True)
        y = (x * x + x * 2.5).sum()
        y.backward()
        grads.append({'dtype': dname, 'x': enc(x), 'y': enc(y), 'grad': enc(x.grad)})

    creation = []
    for dname, dt in HALF.items():
        creation.append({'dtype': dname, 'what': 'arange', 'out': enc(torch.arange(0, 1, 0.1, dtype=dt))})
        creation.append({'dtype': dname, 'what': 'linspace', 'out': enc(torch.linspace(0, 1, 7, dtype=dt))})
        creation.append({'dtype': dname, 'what': 'linspace13', 'out': enc(torch.linspace(-3.3, 5.1, 13, dtype=dt))})
        vals = [0.1, 1 / 3, 65504.0, 65520.0, 1e-8, 2 ** -25, 1 + 2 ** -11 + 2 ** -40, -2.5, 1e38]
        creation.append({'dtype': dname, 'what': 'tensor', 'in': vals, 'out': enc(torch.tensor(vals, dtype=dt))})
        creation.append({'dtype': dname, 'what': 'full', 'in': [0.1], 'out': enc(torch.full((2,), 0.1, dtype=dt))})
    return {'torch_version': torch.__version__, 'inputs': inputs, 'cases': cases, 'promotion': promotion,
            'mixed': mixed, 'reprs': reprs, 'grads': grads, 'creation': creation}


# ---- safetensors -------------------------------------------------------------------------
def io_fixtures():
    g = torch.Generator().manual_seed(7)
    files = {}
    for dname, dt in HALF.items():
        w = torch.randn(5, 3, generator=g)
        tensors = [
            ('layer.weight', w.to(dt)),
            ('layer.bias', torch.randn(5, generator=g).to(dt)),
            ('special', torch.tensor([float('nan'), float('inf'), -float('inf'), -0.0, 65504.0, 6e-8, 1e-3]).to(dt)),
            ('scalar', torch.tensor(0.333).to(dt)),
            ('empty', torch.zeros(0, 2, dtype=dt)),
            ('f32', torch.randn(2, 2, generator=g)),
            ('steps', torch.tensor([1, 2, 3], dtype=torch.int64)),
        ]
        name = 'io_half_%s.safetensors' % ('f16' if dt == torch.float16 else 'bf16')
        path = os.path.join(OUT_DIR, name)
        # Insertion order: the F16 entries then start at offsets not multiple of 4.
        io.write_safetensors(path, tensors, {'format': 'pt'}, reference_order=False)
        back, _ = io.read_safetensors(path)
        for n, t in tensors:
            assert io.same(back[n], t), n
        files[name] = {n: enc(t) for n, t in tensors}

    # A 2-shard checkpoint: a float16 model split over two files, plus an int64 buffer.
    shard_dir = os.path.join(OUT_DIR, 'io_half_sharded')
    os.makedirs(shard_dir, exist_ok=True)
    s1 = [('embed.weight', torch.randn(6, 4, generator=g).half()), ('layers.0.weight', torch.randn(4, 4, generator=g).half())]
    s2 = [('layers.0.bias', torch.randn(4, generator=g).half()), ('head.weight', torch.randn(3, 4, generator=g).to(torch.bfloat16)),
          ('position_ids', torch.arange(6, dtype=torch.int64))]
    names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']
    for shard, fname in zip((s1, s2), names):
        io.write_safetensors(os.path.join(shard_dir, fname), shard, {'format': 'pt'})
    total = sum(t.numel() * t.element_size() for _, t in s1 + s2)
    index = {'metadata': {'total_size': total}, 'weight_map': {}}
    for shard, fname in zip((s1, s2), names):
        for n, _ in shard:
            index['weight_map'][n] = fname
    with open(os.path.join(shard_dir, 'model.safetensors.index.json'), 'w') as f:
        json.dump(index, f, indent=2)
        f.write('\n')
    files['io_half_sharded'] = {n: enc(t) for n, t in s1 + s2}

    # What Kindling's save must write, byte for byte (reference order).
    save = [
        ('w16', torch.tensor([[0.1, -2.5], [65504.0, 6e-8]]).half()),
        ('wb16', torch.tensor([0.1, -2.5, 1e38, 3.0]).to(torch.bfloat16)),
        ('a32', torch.tensor([1.0, 2.0])),
        ('n', torch.tensor([4], dtype=torch.int64)),
        ('nanb', torch.tensor([float('nan')]).to(torch.bfloat16)),
    ]
    io.write_safetensors(os.path.join(OUT_DIR, 'io_half_expected.safetensors'), save, {'format': 'pt'})
    files['save'] = {n: enc(t) for n, t in save}
    return files


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, 'half_bits.json'), 'w') as f:
        json.dump(bits_fixture(), f)
        f.write('\n')
    with open(os.path.join(OUT_DIR, 'half_ops.json'), 'w') as f:
        json.dump(ops_fixture(), f, indent=1)
        f.write('\n')
    files = io_fixtures()
    with open(os.path.join(OUT_DIR, 'io_half.json'), 'w') as f:
        json.dump({'torch_version': torch.__version__, 'files': files}, f, indent=1)
        f.write('\n')
    print('wrote half_bits.json, half_ops.json, io_half*.safetensors, io_half_sharded/, io_half.json to', OUT_DIR)


if __name__ == '__main__':
    main()
