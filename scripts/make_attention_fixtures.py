#!/usr/bin/env python3
"""Write the PyTorch-oracle fixtures for Kindling's attention, Transformer and
EmbeddingBag layers (test/nn/attention.test.ts, test/nn/transformer.test.ts)
and for the LambdaLR / LinearLR / SequentialLR schedulers
(test/optim/lr_scheduler_extra.test.ts).

Run:  /usr/bin/python3 scripts/make_attention_fixtures.py

test/fixtures/nn_attention.json:

  "sdpa": scaled dot product attention. PyTorch 1.13 has no public
    F.scaled_dot_product_attention (2.0 added it), so the reference is
    PyTorch 2.0's semantics written out in torch ops (sdpa_reference below):
    a bool mask is True where a position takes part, a float mask is added,
    is_causal masks the upper triangle, the scale is 1/sqrt(E).
      {"name", "inputs": [T + requires_grad], "args": [ref...], "kwargs": {...},
       "output": T, "gout": T, "grads": [T | null]}
  "modules": nn.MultiheadAttention, the Transformer layers and nn.EmbeddingBag,
    run by PyTorch 1.13 itself:
      {"name", "layer", "args", "opts",        # Kindling's constructor call; a value
                                               # {"module": name, "args", "opts"} is a module to build
       "train", "repr", "state_keys", "param_names",
       "state": {key: T},                      # loaded with loadStateDict
       "inputs": [T + requires_grad],          # every tensor forward sees (masks included)
       "call": {"args": [...], "opts": {...}}, # forward's arguments; {"ref": i} is inputs[i]
                                               # (the same i twice is the same tensor object)
       "outputs": [T | null], "gouts": [T | null],
       "input_grads": [T | null], "param_grads": {name: T}, "tol"?}
  "square_mask": nn.Transformer.generate_square_subsequent_mask(4).

  Parameters are re-drawn (not PyTorch's init: biases that start at zero would
  test nothing) and dropout is off (eval mode, or p = 0 in training), so the
  outputs are deterministic.

test/fixtures/optim_schedulers_extra.json: the lr of each param group after
construction and after each step, as optim_schedulers.json records it, with
the scheduler described by a spec the test builds ({"type", "options",
"schedulers"?}); a lambda is named ("pow095", "warmup5", "half_every_3").

T is {"shape", "dtype", "data"}, data flat in row-major order; float32 values
are the shortest decimal that reads back as the same float32.
"""

import json
import math
import os
import re
import sys
import zlib

try:
    import numpy as np  # noqa: F401  (fixture_encoding needs it)
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    sys.exit('make_attention_fixtures.py needs PyTorch (1.13 CPU) and numpy')

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_encoding import enc_scalar  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'nn_attention.json')
OUT_SCHED = os.path.join(ROOT, 'test', 'fixtures', 'optim_schedulers_extra.json')

DTYPE_NAMES = {torch.float32: 'float32', torch.float64: 'float64', torch.int64: 'int64', torch.int32: 'int32',
               torch.uint8: 'uint8', torch.bool: 'bool'}

# GEMMs and softmax sum in another order than PyTorch's; chains of them
# (a Transformer) more so. These bounds are still far below a real bug.
TOL = {'float32': {'rtol': 1e-4, 'atol': 2e-5}, 'float64': {'rtol': 1e-9, 'atol': 1e-11}}


def enc(t):
    t = t.detach()
    dtype = DTYPE_NAMES[t.dtype]
    return {'shape': list(t.shape), 'dtype': dtype,
            'data': [enc_scalar(v, dtype) for v in t.contiguous().reshape(-1).tolist()]}


def randn(*shape, scale=1.0, dtype=torch.float32):
    return torch.randn(shape, dtype=torch.float64).mul(scale).to(dtype)


def seed_for(name):
    torch.manual_seed(zlib.crc32(name.encode()) % (2 ** 31))


def snake(s):
    return re.sub(r'([A-Z])', lambda m: '_' + m.group(1).lower(), s)


# ---- scaled dot product attention -----------------------------------------------------------

def sdpa_reference(q, k, v, attn_mask=None, is_causal=False, scale=None):
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
    w = torch.softmax(q @ k.transpose(-2, -1) * s + bias, dim=-1)
    return w @ v


def keep_mask(*shape, p=0.7):
    """A random bool mask (True: take part) with every row keeping its first entry."""
    m = torch.rand(shape) < p
    m[..., 0] = True
    return m


SDPA = []


def sdpa_case(name, make, kwargs=None, grad=None):
    seed_for(name)
    xs = make()
    want = grad or [t.is_floating_point() for t in xs]
    leaves = [t.clone().requires_grad_(bool(g)) for t, g in zip(xs, want)]
    kw = kwargs or {}
    out = sdpa_reference(*leaves, **{snake(k): v for k, v in kw.items()})
    gout = randn(*out.shape, dtype=out.dtype)
    out.backward(gout)
    SDPA.append({
        'name': name,
        'inputs': [dict(enc(t), requires_grad=bool(g)) for t, g in zip(xs, want)],
        'kwargs': kw,
        'output': enc(out), 'gout': enc(gout),
        'grads': [enc(t.grad) if t.grad is not None else None for t in leaves],
    })


def sdpa_cases():
    sdpa_case('sdpa_4d_value_dim_differs', lambda: [randn(2, 3, 5, 4), randn(2, 3, 6, 4), randn(2, 3, 6, 3)])
    sdpa_case('sdpa_bool_mask_broadcast', lambda: [randn(2, 3, 5, 4), randn(2, 3, 6, 4), randn(2, 3, 6, 4), keep_mask(5, 6)])
    sdpa_case('sdpa_bool_mask_per_batch', lambda: [randn(2, 5, 4), randn(2, 6, 4), randn(2, 6, 4), keep_mask(2, 1, 6)])
    sdpa_case('sdpa_float_mask_with_grad', lambda: [randn(2, 3, 5, 4), randn(2, 3, 6, 4), randn(2, 3, 6, 4), randn(2, 1, 5, 6)],
              grad=[True, True, True, True])
    sdpa_case('sdpa_causal_square', lambda: [randn(2, 2, 5, 4), randn(2, 2, 5, 4), randn(2, 2, 5, 4)], {'isCausal': True})
    sdpa_case('sdpa_causal_rectangular', lambda: [randn(3, 4, 8), randn(3, 6, 8), randn(3, 6, 2)], {'isCausal': True})
    sdpa_case('sdpa_scale', lambda: [randn(2, 5, 4), randn(2, 6, 4), randn(2, 6, 4)], {'scale': 0.3})
    sdpa_case('sdpa_batch_broadcast', lambda: [randn(2, 3, 5, 4), randn(3, 6, 4), randn(1, 3, 6, 4)])
    sdpa_case('sdpa_unbatched', lambda: [randn(5, 4), randn(6, 4), randn(6, 3)])
    sdpa_case('sdpa_float64_float_mask', lambda: [randn(2, 4, 3, dtype=torch.float64), randn(2, 5, 3, dtype=torch.float64),
                                                  randn(2, 5, 3, dtype=torch.float64), randn(4, 5, dtype=torch.float64)],
              grad=[True, True, True, True])


# ---- modules ------------------------------------------------------------------------------

MODULES = []


def randomize(m):
    """Every parameter re-drawn: LayerNorm weights near 1, the rest small."""
    with torch.no_grad():
        for name, p in m.named_parameters():
            if re.search(r'norm\d?\.weight$', name) or name == 'weight' and isinstance(m, nn.LayerNorm):
                p.copy_(1 + randn(*p.shape, scale=0.2, dtype=p.dtype))
            else:
                p.copy_(randn(*p.shape, scale=0.35, dtype=p.dtype))


def resolve(v, leaves):
    if isinstance(v, dict) and 'ref' in v:
        return leaves[v['ref']]
    return v


def module_case(name, layer, args, opts, make, inputs, call, train=False, grad=None, prepare=randomize, tol=None):
    """inputs: a function giving the tensors forward sees; call: {"args": [...], "opts": {...}} over refs to them."""
    MODULES.append(dict(name=name, layer=layer, args=args, opts=opts, make=make, inputs=inputs, call=call,
                        train=train, grad=grad, prepare=prepare, tol=tol))


def run_module(c):
    seed_for(c['name'])
    m = c['make']()
    if c['prepare']:
        c['prepare'](m)
    m.train(c['train'])
    raw = c['inputs']()
    want = c['grad'] or [t.is_floating_point() for t in raw]
    leaves = [t.clone().requires_grad_(bool(g)) for t, g in zip(raw, want)]
    call = c['call']
    args = [resolve(v, leaves) for v in call.get('args', [])]
    kwargs = {snake(k): resolve(v, leaves) for k, v in call.get('opts', {}).items()}
    out = m(*args, **kwargs)
    outs = list(out) if isinstance(out, tuple) else [out]
    gouts = [randn(*o.shape, dtype=o.dtype) if o is not None and o.requires_grad else None for o in outs]
    pairs = [(o, g) for o, g in zip(outs, gouts) if g is not None]
    torch.autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
    rec = {
        'name': c['name'], 'layer': c['layer'], 'args': c['args'], 'opts': c['opts'], 'train': c['train'],
        'repr': repr(m),
        'state_keys': list(m.state_dict().keys()),
        'param_names': [n for n, _ in m.named_parameters()],
        'state': {k: enc(v) for k, v in m.state_dict().items()},
        'inputs': [dict(enc(t), requires_grad=bool(g)) for t, g in zip(raw, want)],
        'call': call,
        'outputs': [enc(o) if o is not None else None for o in outs],
        'gouts': [enc(g) if g is not None else None for g in gouts],
        'input_grads': [enc(x.grad) if x.grad is not None else None for x in leaves],
        'param_grads': {n: enc(p.grad) for n, p in m.named_parameters() if p.grad is not None},
    }
    if c['tol']:
        rec['tol'] = c['tol']
    return rec


def ref(i):
    return {'ref': i}


def self_call(**opts):
    return {'args': [ref(0), ref(0), ref(0)], 'opts': opts}


def pad_mask(n, s, lengths):
    """Key padding (True: left out) for sequences of the given lengths."""
    m = torch.zeros(n, s, dtype=torch.bool)
    for i, l in enumerate(lengths):
        m[i, l:] = True
    return m


def causal_float(n):
    return nn.Transformer.generate_square_subsequent_mask(n)


def mha_cases():
    E, H = 6, 2
    module_case('mha_self', 'MultiheadAttention', [E, H], {}, lambda: nn.MultiheadAttention(E, H),
                lambda: [randn(5, 3, E)], self_call())
    module_case('mha_cross_kv_shared_per_head_weights', 'MultiheadAttention', [E, H], {}, lambda: nn.MultiheadAttention(E, H),
                lambda: [randn(4, 3, E), randn(6, 3, E)],
                {'args': [ref(0), ref(1), ref(1)], 'opts': {'averageAttnWeights': False}})
    module_case('mha_distinct_qkv', 'MultiheadAttention', [E, 3], {}, lambda: nn.MultiheadAttention(E, 3),
                lambda: [randn(4, 2, E), randn(6, 2, E), randn(6, 2, E)], {'args': [ref(0), ref(1), ref(2)], 'opts': {}})
    module_case('mha_batch_first_bool_masks', 'MultiheadAttention', [E, H], {'batchFirst': True},
                lambda: nn.MultiheadAttention(E, H, batch_first=True),
                lambda: [randn(3, 5, E), pad_mask(3, 5, [5, 3, 4]), ~keep_mask(5, 5)],
                self_call(keyPaddingMask=ref(1), attnMask=ref(2)))
    module_case('mha_float_3d_mask_and_bool_padding', 'MultiheadAttention', [E, H], {},
                lambda: nn.MultiheadAttention(E, H),
                lambda: [randn(5, 3, E), randn(6, 3, E), randn(3 * H, 5, 6), pad_mask(3, 6, [6, 4, 2])],
                {'args': [ref(0), ref(1), ref(1)], 'opts': {'attnMask': ref(2), 'keyPaddingMask': ref(3)}},
                grad=[True, True, False, False])
    module_case('mha_float_padding_mask', 'MultiheadAttention', [E, H], {}, lambda: nn.MultiheadAttention(E, H),
                lambda: [randn(4, 2, E), randn(2, 4)], self_call(keyPaddingMask=ref(1)), grad=[True, False])
    module_case('mha_kdim_vdim_batch_first', 'MultiheadAttention', [E, H], {'kdim': 6, 'vdim': 5, 'batchFirst': True},
                lambda: nn.MultiheadAttention(E, H, kdim=6, vdim=5, batch_first=True),
                lambda: [randn(2, 4, E), randn(2, 6, 6), randn(2, 6, 5), pad_mask(2, 6, [6, 5])],
                {'args': [ref(0), ref(1), ref(2)], 'opts': {'keyPaddingMask': ref(3)}})
    module_case('mha_bias_kv_zero_attn_masks', 'MultiheadAttention', [E, H], {'addBiasKv': True, 'addZeroAttn': True},
                lambda: nn.MultiheadAttention(E, H, add_bias_kv=True, add_zero_attn=True),
                lambda: [randn(5, 2, E), pad_mask(2, 5, [5, 3]), ~keep_mask(5, 5)],
                self_call(keyPaddingMask=ref(1), attnMask=ref(2), averageAttnWeights=False))
    module_case('mha_no_bias', 'MultiheadAttention', [E, H], {'bias': False}, lambda: nn.MultiheadAttention(E, H, bias=False),
                lambda: [randn(5, 2, E)], self_call())
    module_case('mha_unbatched_padding', 'MultiheadAttention', [E, H], {}, lambda: nn.MultiheadAttention(E, H),
                lambda: [randn(5, E), torch.tensor([False, False, False, True, True])], self_call(keyPaddingMask=ref(1)))
    module_case('mha_unbatched_3d_mask', 'MultiheadAttention', [E, H], {}, lambda: nn.MultiheadAttention(E, H),
                lambda: [randn(4, E), randn(6, E), ~keep_mask(H, 4, 6)],
                {'args': [ref(0), ref(1), ref(1)], 'opts': {'attnMask': ref(2), 'averageAttnWeights': False}})
    module_case('mha_need_weights_false', 'MultiheadAttention', [E, H], {}, lambda: nn.MultiheadAttention(E, H),
                lambda: [randn(5, 3, E)], self_call(needWeights=False))
    module_case('mha_causal_float_mask_train_p0', 'MultiheadAttention', [E, H], {'dropout': 0.0},
                lambda: nn.MultiheadAttention(E, H, dropout=0.0),
                lambda: [randn(5, 2, E), causal_float(5)], self_call(attnMask=ref(1)), train=True, grad=[True, False])
    module_case('mha_uint8_mask', 'MultiheadAttention', [E, H], {}, lambda: nn.MultiheadAttention(E, H),
                lambda: [randn(4, 2, E), (~keep_mask(4, 4)).to(torch.uint8)], self_call(attnMask=ref(1)))
    module_case('mha_float64', 'MultiheadAttention', [6, 3], {'dtype': 'float64'},
                lambda: nn.MultiheadAttention(6, 3, dtype=torch.float64),
                lambda: [randn(4, 2, 6, dtype=torch.float64), randn(5, 2, 6, dtype=torch.float64)],
                {'args': [ref(0), ref(1), ref(1)], 'opts': {}})


def layer_spec(kind, args, opts=None):
    return {'module': kind, 'args': args, 'opts': opts or {}}


def transformer_cases():
    E, H, FF = 4, 2, 8
    module_case('encoder_layer', 'TransformerEncoderLayer', [E, H, FF], {},
                lambda: nn.TransformerEncoderLayer(E, H, FF), lambda: [randn(5, 3, E)], {'args': [ref(0)]})
    module_case('encoder_layer_batch_first_norm_first_gelu_masks', 'TransformerEncoderLayer', [E, H, FF],
                {'batchFirst': True, 'normFirst': True, 'activation': 'gelu'},
                lambda: nn.TransformerEncoderLayer(E, H, FF, batch_first=True, norm_first=True, activation='gelu'),
                lambda: [randn(3, 5, E), causal_float(5), pad_mask(3, 5, [5, 4, 2])],
                {'args': [ref(0)], 'opts': {'srcMask': ref(1), 'srcKeyPaddingMask': ref(2)}}, grad=[True, False, False])
    module_case('encoder_layer_gelu_module_eps', 'TransformerEncoderLayer', [E, H],
                {'dimFeedforward': FF, 'activation': {'module': 'GELU', 'args': [], 'opts': {}}, 'layerNormEps': 1e-3},
                lambda: nn.TransformerEncoderLayer(E, H, dim_feedforward=FF, activation=nn.GELU(), layer_norm_eps=1e-3),
                lambda: [randn(4, 2, E)], {'args': [ref(0)]})
    module_case('encoder_layer_tanh_function_train_p0', 'TransformerEncoderLayer', [E, H, FF],
                {'dropout': 0.0, 'activation': 'tanh_function'},
                lambda: nn.TransformerEncoderLayer(E, H, FF, dropout=0.0, activation=torch.tanh),
                lambda: [randn(4, 2, E)], {'args': [ref(0)]}, train=True)
    module_case('encoder_layer_unbatched', 'TransformerEncoderLayer', [E, H, FF], {},
                lambda: nn.TransformerEncoderLayer(E, H, FF), lambda: [randn(5, E), torch.tensor([False, False, False, False, True])],
                {'args': [ref(0)], 'opts': {'srcKeyPaddingMask': ref(1)}})
    module_case('encoder_two_layers_norm', 'TransformerEncoder',
                [layer_spec('TransformerEncoderLayer', [E, H, FF]), 2], {'norm': layer_spec('LayerNorm', [E])},
                lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF), 2, norm=nn.LayerNorm(E)),
                lambda: [randn(5, 3, E), pad_mask(3, 5, [5, 2, 4])],
                {'args': [ref(0)], 'opts': {'srcKeyPaddingMask': ref(1)}})
    module_case('encoder_batch_first_mask', 'TransformerEncoder',
                [layer_spec('TransformerEncoderLayer', [E, H, FF], {'batchFirst': True}), 2], {},
                lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF, batch_first=True), 2),
                lambda: [randn(2, 4, E), ~keep_mask(4, 4)], {'args': [ref(0), ref(1)]})
    module_case('decoder_layer_masks', 'TransformerDecoderLayer', [E, H, FF], {},
                lambda: nn.TransformerDecoderLayer(E, H, FF),
                lambda: [randn(4, 3, E), randn(6, 3, E), causal_float(4), pad_mask(3, 6, [6, 3, 5]), pad_mask(3, 4, [4, 4, 3])],
                {'args': [ref(0), ref(1)],
                 'opts': {'tgtMask': ref(2), 'memoryKeyPaddingMask': ref(3), 'tgtKeyPaddingMask': ref(4)}})
    module_case('decoder_layer_norm_first_batch_first_memory_mask', 'TransformerDecoderLayer', [E, H, FF],
                {'normFirst': True, 'batchFirst': True, 'activation': 'gelu'},
                lambda: nn.TransformerDecoderLayer(E, H, FF, norm_first=True, batch_first=True, activation='gelu'),
                lambda: [randn(2, 4, E), randn(2, 5, E), ~keep_mask(4, 5)],
                {'args': [ref(0), ref(1)], 'opts': {'memoryMask': ref(2)}})
    module_case('decoder_two_layers_norm', 'TransformerDecoder',
                [layer_spec('TransformerDecoderLayer', [E, H, FF]), 2], {'norm': layer_spec('LayerNorm', [E])},
                lambda: nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, FF), 2, norm=nn.LayerNorm(E)),
                lambda: [randn(4, 2, E), randn(5, 2, E), causal_float(4)],
                {'args': [ref(0), ref(1)], 'opts': {'tgtMask': ref(2)}})
    module_case('transformer', 'Transformer', [],
                {'dModel': E, 'nhead': H, 'numEncoderLayers': 2, 'numDecoderLayers': 1, 'dimFeedforward': FF},
                lambda: nn.Transformer(d_model=E, nhead=H, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=FF),
                lambda: [randn(5, 2, E), randn(4, 2, E), causal_float(4), pad_mask(2, 5, [5, 3])],
                {'args': [ref(0), ref(1)], 'opts': {'tgtMask': ref(2), 'srcKeyPaddingMask': ref(3), 'memoryKeyPaddingMask': ref(3)}})
    module_case('transformer_batch_first_norm_first', 'Transformer', [E, H, 1, 2, FF],
                {'batchFirst': True, 'normFirst': True, 'activation': 'gelu'},
                lambda: nn.Transformer(E, H, 1, 2, FF, batch_first=True, norm_first=True, activation='gelu'),
                lambda: [randn(2, 5, E), randn(2, 3, E), causal_float(3)],
                {'args': [ref(0), ref(1)], 'opts': {'tgtMask': ref(2)}})
    module_case('encoder_layer_float64', 'TransformerEncoderLayer', [6, 3, 10], {'dtype': 'float64'},
                lambda: nn.TransformerEncoderLayer(6, 3, 10, dtype=torch.float64),
                lambda: [randn(4, 2, 6, dtype=torch.float64)], {'args': [ref(0)]})


def bag_cases():
    def idx(*v):
        return torch.tensor(v, dtype=torch.int64)

    def bag(name, args, opts, make, inputs, call, grad=None):
        module_case(name, 'EmbeddingBag', args, opts, make, inputs, call, grad=grad)

    bag('bag_mean_offsets_empty_bag', [10, 3], {}, lambda: nn.EmbeddingBag(10, 3),
        lambda: [idx(1, 2, 4, 5, 4, 3, 2, 9), idx(0, 2, 2, 5)], {'args': [ref(0), ref(1)]})
    bag('bag_sum_per_sample_weights', [10, 3], {'mode': 'sum'}, lambda: nn.EmbeddingBag(10, 3, mode='sum'),
        lambda: [idx(1, 2, 4, 5, 4, 3, 2, 9), idx(0, 3, 6), randn(8)],
        {'args': [ref(0), ref(1)], 'opts': {'perSampleWeights': ref(2)}})
    bag('bag_max_duplicates', [10, 4], {'mode': 'max'}, lambda: nn.EmbeddingBag(10, 4, mode='max'),
        lambda: [idx(1, 2, 4, 5, 4, 3, 2, 9, 9), idx(0, 4, 5, 7)], {'args': [ref(0), ref(1)]})
    bag('bag_2d_mean', [7, 3], {}, lambda: nn.EmbeddingBag(7, 3), lambda: [idx(1, 2, 4, 0, 6, 5).view(2, 3)], {'args': [ref(0)]})
    bag('bag_2d_max', [7, 3], {'mode': 'max'}, lambda: nn.EmbeddingBag(7, 3, mode='max'),
        lambda: [idx(1, 2, 4, 0, 6, 5).view(3, 2)], {'args': [ref(0)]})
    # The last offset ends the input: PyTorch 1.13's backward writes uninitialised
    # values into the rows of entries after it (the fixture would change from run to run).
    bag('bag_include_last_offset_sum', [10, 3], {'mode': 'sum', 'includeLastOffset': True},
        lambda: nn.EmbeddingBag(10, 3, mode='sum', include_last_offset=True),
        lambda: [idx(1, 2, 4, 5, 4, 3, 2, 9), idx(0, 2, 5, 8)], {'args': [ref(0), ref(1)]})
    bag('bag_padding_idx_mean', [10, 3], {'paddingIdx': 2}, lambda: nn.EmbeddingBag(10, 3, padding_idx=2),
        lambda: [idx(1, 2, 4, 2, 2, 3, 2, 9), idx(0, 3, 4, 5)], {'args': [ref(0), ref(1)]})
    bag('bag_padding_idx_negative_max', [10, 3], {'mode': 'max', 'paddingIdx': -1},
        lambda: nn.EmbeddingBag(10, 3, mode='max', padding_idx=-1),
        lambda: [idx(9, 1, 9, 3, 2, 9), idx(0, 1, 3, 3)], {'args': [ref(0), ref(1)]})
    bag('bag_padding_idx_sum_weights_2d', [6, 2], {'mode': 'sum', 'paddingIdx': 0},
        lambda: nn.EmbeddingBag(6, 2, mode='sum', padding_idx=0),
        lambda: [idx(1, 0, 3, 5, 0, 0).view(2, 3), randn(2, 3)], {'args': [ref(0)], 'opts': {'perSampleWeights': ref(1)}})
    bag('bag_float64_mean', [5, 3], {'dtype': 'float64'}, lambda: nn.EmbeddingBag(5, 3, dtype=torch.float64),
        lambda: [idx(0, 4, 4, 1, 3), idx(0, 2)], {'args': [ref(0), ref(1)]})


# ---- schedulers -----------------------------------------------------------------------------

S = torch.optim.lr_scheduler

LAMBDAS = {
    'pow095': lambda e: 0.95 ** e,
    'warmup5': lambda e: min(1.0, (e + 1) / 5),
    'half_every_3': lambda e: 0.5 ** (e // 3),
}


def build_scheduler(spec, opt):
    kind, o = spec['type'], spec.get('options', {})
    kw = {snake(k): v for k, v in o.items()}
    if kind == 'LambdaLR':
        fn = kw.pop('lr_lambda')
        kw['lr_lambda'] = [LAMBDAS[f] for f in fn] if isinstance(fn, list) else LAMBDAS[fn]
    if kind == 'SequentialLR':
        kw['schedulers'] = [build_scheduler(s, opt) for s in spec['schedulers']]
    if kind == 'CosineAnnealingLR' and 't_max' in kw:
        kw['T_max'] = kw.pop('t_max')
    return getattr(S, kind)(opt, **kw)


def schedule(name, spec, steps=25):
    a = torch.zeros(2, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    opt = torch.optim.SGD([{'params': [a]}, {'params': [b], 'lr': 0.01}], lr=0.1)
    sched = build_scheduler(spec, opt)

    def lrs():
        return [float(g['lr']) for g in opt.param_groups]

    out = [lrs()]
    assert sched.get_last_lr() == out[0]
    for _ in range(steps):
        opt.step()
        sched.step()
        assert sched.get_last_lr() == lrs()
        out.append(lrs())
    return {'name': name, 'spec': spec, 'lrs': out}


def scheduler_cases():
    return [
        schedule('lambda_lr', {'type': 'LambdaLR', 'options': {'lrLambda': 'pow095'}}),
        schedule('lambda_lr_per_group', {'type': 'LambdaLR', 'options': {'lrLambda': ['warmup5', 'half_every_3']}}),
        schedule('linear_lr_default', {'type': 'LinearLR'}),
        schedule('linear_lr_decay', {'type': 'LinearLR', 'options': {'startFactor': 1.0, 'endFactor': 0.1, 'totalIters': 8}}),
        schedule('sequential_warmup_exponential', {
            'type': 'SequentialLR', 'options': {'milestones': [3]},
            'schedulers': [{'type': 'LinearLR', 'options': {'startFactor': 0.1, 'totalIters': 3}},
                           {'type': 'ExponentialLR', 'options': {'gamma': 0.9}}]}),
        schedule('sequential_three', {
            'type': 'SequentialLR', 'options': {'milestones': [4, 10]},
            'schedulers': [{'type': 'LinearLR', 'options': {'startFactor': 0.25, 'totalIters': 4}},
                           {'type': 'StepLR', 'options': {'stepSize': 2, 'gamma': 0.5}},
                           {'type': 'CosineAnnealingLR', 'options': {'tMax': 6, 'etaMin': 0.001}}]}),
        schedule('sequential_lambda_multistep', {
            'type': 'SequentialLR', 'options': {'milestones': [5]},
            'schedulers': [{'type': 'LambdaLR', 'options': {'lrLambda': 'warmup5'}},
                           {'type': 'MultiStepLR', 'options': {'milestones': [0, 3, 6], 'gamma': 0.5}}]}),
    ]


def main():
    sdpa_cases()
    mha_cases()
    transformer_cases()
    bag_cases()
    modules = [run_module(c) for c in MODULES]
    out = {
        'family': 'nn_attention', 'torch_version': torch.__version__, 'tolerance': TOL,
        'sdpa': SDPA, 'modules': modules,
        'square_mask': enc(nn.Transformer.generate_square_subsequent_mask(4)),
    }
    with open(OUT, 'w') as f:
        json.dump(out, f, separators=(',', ':'))
        f.write('\n')
    scheds = {'torch_version': torch.__version__, 'cases': scheduler_cases()}
    with open(OUT_SCHED, 'w') as f:
        json.dump(scheds, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {len(SDPA)} sdpa and {len(modules)} module cases to {OUT}, '
          f'{len(scheds["cases"])} scheduler cases to {OUT_SCHED}')


if __name__ == '__main__':
    main()
