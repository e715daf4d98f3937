#!/usr/bin/env python3
"""Write the PyTorch-oracle fixtures for Kindling's fused attention kernel and
its batched matmul over two batch strides (test/nn/fused_attention.test.ts).

Run:  /usr/bin/python3 scripts/make_fused_attention_fixtures.py

test/fixtures/nn_fused_attention.json:

  "sdpa": scaled dot product attention at sizes that cross the kernel's
    64-row query blocks, with causal masks (square and rectangular), bool and
    float masks that broadcast, heads taken by a transpose, and float64.
    PyTorch 1.13 has no F.scaled_dot_product_attention, so the reference is
    PyTorch 2.0's math path written in torch ops (as make_attention_fixtures.py).
      {"name", "inputs": [T], "transpose": bool, "kwargs": {...},
       "output": T, "gout": T, "grads": [T | null]}
    With "transpose" each of query, key and value is stored [B, L, H, E] and
    the test passes its transpose(1, 2).
  "matmul": a @ b on [B, H, ...] operands whose heads come from a transpose
    ("a_perm" / "b_perm": the permutation the test applies to the stored
    tensors), with gradients.
      {"name", "a", "b", "a_perm", "b_perm", "output", "gout", "grads": [T, T]}

T is {"shape", "dtype", "data"}, data flat in row-major order.
"""

import json
import math
import os
import sys
import zlib

try:
    import numpy as np  # noqa: F401
    import torch
except ImportError:
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    sys.exit('make_fused_attention_fixtures.py needs PyTorch (1.13 CPU) and numpy')

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_encoding import enc_scalar  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'nn_fused_attention.json')
NAMES = {torch.float32: 'float32', torch.float64: 'float64', torch.bool: 'bool'}


def enc(t):
    t = t.detach()
    dtype = NAMES[t.dtype]
    return {'shape': list(t.shape), 'dtype': dtype,
            'data': [enc_scalar(v, dtype) for v in t.contiguous().reshape(-1).tolist()]}


def randn(*shape, dtype=torch.float32):
    return torch.randn(shape, dtype=torch.float64).to(dtype)


def seed_for(name):
    torch.manual_seed(zlib.crc32(name.encode()) % (2 ** 31))


def reference(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """PyTorch 2.0's F.scaled_dot_product_attention (math path), in torch ops."""
    L, S = q.size(-2), k.size(-2)
    s = 1 / math.sqrt(q.size(-1)) if scale is None else scale
    bias = torch.zeros(L, S, dtype=q.dtype)
    if is_causal:
        bias = bias.masked_fill(torch.ones(L, S, dtype=torch.bool).tril().logical_not(), float('-inf'))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            bias = bias.masked_fill(attn_mask.logical_not(), float('-inf'))
        else:
            bias = bias + attn_mask
    return torch.softmax(q @ k.transpose(-2, -1) * s + bias, dim=-1) @ v


def keep_mask(*shape, p=0.7):
    m = torch.rand(shape) < p
    m[..., 0] = True  # every row keeps a key
    return m


SDPA = []


def sdpa_case(name, make, kwargs=None, transpose=False):
    seed_for(name)
    xs = make()
    qkv = [t.clone().requires_grad_(True) for t in xs[:3]]
    args = [t.transpose(1, 2) for t in qkv] if transpose else list(qkv)
    mask = xs[3] if len(xs) > 3 else None
    kw = kwargs or {}
    out = reference(*args, attn_mask=mask, is_causal=kw.get('isCausal', False), scale=kw.get('scale'))
    gout = randn(*out.shape, dtype=out.dtype)
    out.backward(gout)
    SDPA.append({
        'name': name, 'transpose': transpose, 'kwargs': kw,
        'inputs': [enc(t) for t in xs],
        'output': enc(out), 'gout': enc(gout),
        'grads': [enc(t.grad) for t in qkv] + ([None] if mask is not None else []),
    })


sdpa_case('causal_square_blocks', lambda: [randn(1, 2, 70, 8), randn(1, 2, 70, 8), randn(1, 2, 70, 8)], {'isCausal': True})
sdpa_case('causal_more_keys', lambda: [randn(1, 1, 67, 8), randn(1, 1, 100, 8), randn(1, 1, 100, 5)], {'isCausal': True})
sdpa_case('causal_fewer_keys', lambda: [randn(1, 1, 100, 8), randn(1, 1, 67, 8), randn(1, 1, 67, 8)], {'isCausal': True})
sdpa_case('bool_mask_broadcast_blocks', lambda: [randn(1, 2, 66, 8), randn(1, 2, 70, 8), randn(1, 2, 70, 8), keep_mask(66, 70)])
sdpa_case('float_mask_per_head', lambda: [randn(1, 3, 40, 8), randn(1, 3, 70, 8), randn(1, 3, 70, 8), randn(1, 3, 40, 70)])
sdpa_case('batch_broadcast_value_dim', lambda: [randn(2, 3, 65, 8), randn(3, 20, 8), randn(1, 3, 20, 4)], {'scale': 0.2})
sdpa_case('transposed_heads_causal', lambda: [randn(1, 70, 2, 8), randn(1, 70, 2, 8), randn(1, 70, 2, 8)], {'isCausal': True},
          transpose=True)
sdpa_case('float64_bool_mask', lambda: [randn(1, 2, 66, 8, dtype=torch.float64), randn(1, 2, 30, 8, dtype=torch.float64),
                                        randn(1, 2, 30, 8, dtype=torch.float64), keep_mask(1, 1, 66, 30)])

MATMUL = []


def matmul_case(name, a_shape, a_perm, b_shape, b_perm):
    seed_for(name)
    a0, b0 = randn(*a_shape), randn(*b_shape)
    a, b = a0.clone().requires_grad_(True), b0.clone().requires_grad_(True)
    out = a.permute(*a_perm) @ b.permute(*b_perm)
    gout = randn(*out.shape)
    out.backward(gout)
    MATMUL.append({'name': name, 'a': enc(a0), 'b': enc(b0), 'a_perm': list(a_perm), 'b_perm': list(b_perm),
                   'output': enc(out), 'gout': enc(gout), 'grads': [enc(a.grad), enc(b.grad)]})


# [B, S, H, D] -> [B, H, S, D] @ [B, S, H, D] -> [B, H, D, S]: scores of transposed heads.
matmul_case('heads_q_kt', (2, 9, 3, 5), (0, 2, 1, 3), (2, 7, 3, 5), (0, 2, 3, 1))
# Probabilities [B, H, L, S] (contiguous) @ values [B, S, H, D] transposed.
matmul_case('heads_p_v', (2, 3, 9, 7), (0, 1, 2, 3), (2, 7, 3, 5), (0, 2, 1, 3))
# A transposed-heads operand against one broadcast over the batch.
matmul_case('heads_broadcast_b', (2, 9, 3, 5), (0, 2, 1, 3), (1, 3, 5, 4), (0, 1, 2, 3))

with open(OUT, 'w') as f:
    json.dump({'sdpa': SDPA, 'matmul': MATMUL}, f, separators=(',', ':'))
    f.write('\n')
print(f'wrote {OUT}: {len(SDPA)} sdpa, {len(MATMUL)} matmul cases')
