#!/usr/bin/env python3
"""Write the PyTorch-oracle fixtures for Kindling's F.conv1d, F.convTranspose1d,
F.convTranspose2d and nn.Conv1d, nn.ConvTranspose1d, nn.ConvTranspose2d
(test/nn/conv.test.ts).

Run:  /usr/bin/python3 scripts/make_conv_fixtures.py

Writes test/fixtures/nn_conv_nd.json with

  "cases": F calls in the format of scripts/make_nn_fixtures.py (whose
    make_case builds them: inputs, args, kwargs, outputs, gouts, grads, and
    "gradcheck" / "gradgradcheck" where PyTorch's own passed, "error" for the
    calls PyTorch rejects), plus "grad_fn": the output's grad_fn name.
  "layers": one module each, built by PyTorch with a seed:
      {"name", "layer", "args", "opts",          # Kindling's constructor call
       "repr", "state_keys", "param_names",
       "state": {key: T},                        # PyTorch's state dict, loaded with loadStateDict
       "input": T + requires_grad,
       "forward_opts": {...},                    # forward's options ({"outputSize": [...]})
       "output": T, "grad_fn", "gout": T,
       "input_grad": T, "param_grads": {name: T}}
  "init": per layer, PyTorch's bound of U(-b, b) for weight and bias
    (kaiming_uniform_ with a = sqrt(5): b = 1 / sqrt(fan_in), fan_in from
    the weight's shape) and the shapes, for a large layer:
      {"layer", "args", "weight_shape", "bias_shape", "weight_bound", "bias_bound"}
  "tolerance": per dtype.

T is {"shape", "dtype", "data"}, float32 written as the shortest decimal that
reads back as the same float32 (scripts/fixture_encoding.py).
"""

import json
import math
import os
import sys
import warnings
import zlib

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    sys.exit('make_conv_fixtures.py needs PyTorch (1.13 CPU)')

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_nn_fixtures as nnfx  # noqa: E402  (make_case, inp, randn and the case format)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'nn_conv_nd.json')

enc, inp, randn = nnfx.enc, nnfx.inp, nnfx.randn


def seed_for(name):
    torch.manual_seed(zlib.crc32(name.encode()) % (2 ** 31))


def size(v):
    return tuple(v) if isinstance(v, list) else v


def t_conv1d(a, kw):
    return F.conv1d(a[0], a[1], a[2], stride=size(kw.get('stride', 1)), padding=size(kw.get('padding', 0)),
                    dilation=size(kw.get('dilation', 1)), groups=kw.get('groups', 1))


def t_conv_transpose(fn):
    def run(a, kw):
        return fn(a[0], a[1], a[2], stride=size(kw.get('stride', 1)), padding=size(kw.get('padding', 0)),
                  output_padding=size(kw.get('outputPadding', 0)), groups=kw.get('groups', 1),
                  dilation=size(kw.get('dilation', 1)))
    return run


nnfx.TORCH.update({
    'conv1d': t_conv1d,
    'convTranspose1d': t_conv_transpose(F.conv_transpose1d),
    'convTranspose2d': t_conv_transpose(F.conv_transpose2d),
})

T12 = [{'view': 'transpose', 'dims': [1, 2]}]
T23 = [{'view': 'transpose', 'dims': [2, 3]}]
F64 = torch.float64

# name, op, [input, weight, bias (None: absent)] as (shape, requires_grad[, view, dtype]), kwargs, error
F_CASES = [
    # ---- conv1d
    ('conv1d_basic', 'conv1d', [(2, 3, 10), (4, 3, 3), (4,)], {}),
    ('conv1d_stride2_pad1', 'conv1d', [(2, 3, 9), (4, 3, 3), (4,)], {'stride': 2, 'padding': 1}),
    ('conv1d_list_options', 'conv1d', [(2, 3, 9), (4, 3, 3), (4,)], {'stride': [2], 'padding': [1], 'dilation': [1]}),
    ('conv1d_dilation2_pad2_no_bias', 'conv1d', [(1, 2, 11), (3, 2, 3), None], {'dilation': 2, 'padding': 2}),
    ('conv1d_stride3_dilation2', 'conv1d', [(2, 2, 13), (3, 2, 2), (3,)], {'stride': 3, 'dilation': 2}),
    ('conv1d_groups2', 'conv1d', [(2, 4, 9), (6, 2, 3), (6,)], {'groups': 2}),
    ('conv1d_depthwise_multiplier', 'conv1d', [(1, 3, 8), (6, 1, 3), (6,)], {'groups': 3, 'padding': 1}),
    ('conv1d_pointwise', 'conv1d', [(2, 5, 6), (3, 5, 1), (3,)], {}),
    ('conv1d_same_even_kernel', 'conv1d', [(1, 2, 9), (3, 2, 4), (3,)], {'padding': 'same'}),
    ('conv1d_same_dilated', 'conv1d', [(1, 2, 8), (2, 2, 3), None], {'padding': 'same', 'dilation': 3}),
    ('conv1d_valid', 'conv1d', [(1, 2, 8), (2, 2, 3), (2,)], {'padding': 'valid'}),
    ('conv1d_kernel_fills_input', 'conv1d', [(2, 2, 5), (3, 2, 5), (3,)], {}),
    ('conv1d_unbatched', 'conv1d', [(3, 8), (2, 3, 3), (2,)], {'padding': 1}),
    ('conv1d_noncontiguous_input', 'conv1d', [((2, 8, 3), True, T12), (2, 3, 3), (2,)], {}),
    ('conv1d_float64', 'conv1d', [((2, 2, 7), True, [], F64), ((3, 2, 3), True, [], F64), ((3,), True, [], F64)],
     {'stride': 2, 'padding': 1}),
    ('conv1d_weight_frozen', 'conv1d', [(2, 3, 7), ((2, 3, 3), False), (2,)], {}),
    ('conv1d_input_frozen', 'conv1d', [((2, 3, 7), False), (2, 3, 3), (2,)], {'stride': 2}),
    ('conv1d_larger', 'conv1d', [(2, 16, 24), (16, 16, 5), (16,)], {'padding': 2}),
    ('conv1d_err_channels', 'conv1d', [(2, 4, 7), (6, 3, 3), None], {}, True),
    ('conv1d_err_groups_channels', 'conv1d', [(1, 5, 7), (4, 2, 3), None], {'groups': 2}, True),
    ('conv1d_err_groups_out', 'conv1d', [(1, 4, 7), (3, 2, 3), None], {'groups': 2}, True),
    ('conv1d_err_kernel_too_big', 'conv1d', [(1, 1, 4), (1, 1, 5), None], {}, True),
    ('conv1d_err_bias_shape', 'conv1d', [(1, 2, 7), (3, 2, 3), (2,)], {}, True),
    ('conv1d_err_4d_input', 'conv1d', [(1, 2, 3, 7), (3, 2, 3), None], {}, True),
    ('conv1d_err_1d_input', 'conv1d', [(7,), (3, 2, 3), None], {}, True),
    ('conv1d_err_4d_weight', 'conv1d', [(1, 2, 7), (3, 2, 3, 3), None], {}, True),
    ('conv1d_err_same_strided', 'conv1d', [(1, 2, 7), (3, 2, 3), None], {'padding': 'same', 'stride': 2}, True),
    ('conv1d_err_dtype_mismatch', 'conv1d', [(1, 2, 7), ((3, 2, 3), False, [], F64), None], {}, True),
    ('conv1d_err_negative_padding', 'conv1d', [(1, 2, 7), (3, 2, 3), None], {'padding': -1}, True),
    ('conv1d_err_zero_stride', 'conv1d', [(1, 2, 7), (3, 2, 3), None], {'stride': 0}, True),
    # ---- convTranspose1d
    ('convTranspose1d_basic', 'convTranspose1d', [(2, 3, 6), (3, 4, 3), (4,)], {}),
    ('convTranspose1d_stride2_pad1_outpad1', 'convTranspose1d', [(2, 3, 5), (3, 2, 3), (2,)],
     {'stride': 2, 'padding': 1, 'outputPadding': 1}),
    ('convTranspose1d_list_options', 'convTranspose1d', [(2, 3, 5), (3, 2, 3), (2,)],
     {'stride': [2], 'padding': [1], 'outputPadding': [1], 'dilation': [1]}),
    ('convTranspose1d_stride3_outpad2', 'convTranspose1d', [(1, 2, 5), (2, 3, 2), (3,)], {'stride': 3, 'outputPadding': 2}),
    ('convTranspose1d_dilation2_pad1_no_bias', 'convTranspose1d', [(2, 2, 6), (2, 3, 3), None], {'dilation': 2, 'padding': 1}),
    # outputPadding at least the stride is allowed while it is below the dilation.
    ('convTranspose1d_outpad_below_dilation', 'convTranspose1d', [(1, 2, 5), (2, 2, 3), (2,)],
     {'dilation': 3, 'outputPadding': 2}),
    ('convTranspose1d_pad_crops', 'convTranspose1d', [(2, 2, 6), (2, 3, 3), (3,)], {'padding': 2}),
    ('convTranspose1d_groups2', 'convTranspose1d', [(2, 4, 5), (4, 3, 3), (6,)], {'groups': 2, 'stride': 2}),
    ('convTranspose1d_depthwise', 'convTranspose1d', [(1, 3, 6), (3, 2, 3), (6,)], {'groups': 3, 'padding': 1}),
    ('convTranspose1d_kernel1', 'convTranspose1d', [(2, 5, 4), (5, 3, 1), (3,)], {}),
    ('convTranspose1d_unbatched', 'convTranspose1d', [(3, 6), (3, 2, 3), (2,)], {'stride': 2}),
    ('convTranspose1d_noncontiguous_input', 'convTranspose1d', [((2, 6, 3), True, T12), (3, 2, 3), (2,)], {}),
    ('convTranspose1d_float64', 'convTranspose1d', [((2, 2, 5), True, [], F64), ((2, 3, 3), True, [], F64), ((3,), True, [], F64)],
     {'stride': 2, 'outputPadding': 1}),
    ('convTranspose1d_weight_frozen', 'convTranspose1d', [(2, 3, 5), ((3, 2, 3), False), (2,)], {'stride': 2}),
    ('convTranspose1d_larger', 'convTranspose1d', [(2, 16, 12), (16, 8, 4), (8,)], {'stride': 2, 'padding': 1}),
    ('convTranspose1d_err_channels', 'convTranspose1d', [(2, 4, 7), (3, 3, 3), None], {}, True),
    ('convTranspose1d_err_groups', 'convTranspose1d', [(2, 4, 7), (4, 3, 3), None], {'groups': 3}, True),
    ('convTranspose1d_err_bias_shape', 'convTranspose1d', [(2, 4, 7), (4, 3, 3), (4,)], {}, True),
    ('convTranspose1d_err_outpad_too_big', 'convTranspose1d', [(2, 4, 7), (4, 3, 3), None], {'stride': 2, 'outputPadding': 2}, True),
    ('convTranspose1d_err_negative_outpad', 'convTranspose1d', [(2, 4, 7), (4, 3, 3), None], {'outputPadding': -1}, True),
    ('convTranspose1d_err_output_too_small', 'convTranspose1d', [(2, 4, 3), (4, 3, 3), None], {'padding': 5}, True),
    ('convTranspose1d_err_padding_string', 'convTranspose1d', [(2, 4, 7), (4, 3, 3), None], {'padding': 'same'}, True),
    ('convTranspose1d_err_4d_weight', 'convTranspose1d', [(2, 4, 7), (4, 3, 3, 3), None], {}, True),
    ('convTranspose1d_err_dtype_mismatch', 'convTranspose1d', [(2, 4, 7), ((4, 3, 3), False, [], F64), None], {}, True),
    # ---- convTranspose2d
    ('convTranspose2d_basic', 'convTranspose2d', [(2, 3, 4, 5), (3, 2, 3, 3), (2,)], {}),
    ('convTranspose2d_stride2_pad1_outpad1', 'convTranspose2d', [(1, 2, 3, 4), (2, 2, 3, 3), (2,)],
     {'stride': 2, 'padding': 1, 'outputPadding': 1}),
    ('convTranspose2d_rect', 'convTranspose2d', [(1, 2, 3, 4), (2, 3, 3, 2), (3,)],
     {'stride': [2, 1], 'padding': [1, 0], 'outputPadding': [1, 0], 'dilation': [1, 2]}),
    ('convTranspose2d_outpad_below_dilation', 'convTranspose2d', [(1, 2, 3, 3), (2, 2, 2, 2), None],
     {'stride': [1, 2], 'dilation': [3, 1], 'outputPadding': [2, 1]}),
    ('convTranspose2d_groups2_no_bias', 'convTranspose2d', [(1, 4, 3, 3), (4, 2, 3, 3), None], {'groups': 2, 'padding': 1}),
    ('convTranspose2d_depthwise', 'convTranspose2d', [(1, 3, 4, 4), (3, 1, 2, 2), (3,)], {'groups': 3, 'stride': 2}),
    ('convTranspose2d_kernel1', 'convTranspose2d', [(2, 4, 3, 3), (4, 2, 1, 1), (2,)], {}),
    ('convTranspose2d_unbatched', 'convTranspose2d', [(3, 4, 4), (3, 2, 3, 3), (2,)], {'padding': 1}),
    ('convTranspose2d_noncontiguous_input', 'convTranspose2d', [((1, 3, 5, 4), True, T23), (3, 2, 3, 3), (2,)], {}),
    ('convTranspose2d_float64', 'convTranspose2d', [((1, 2, 3, 3), True, [], F64), ((2, 2, 3, 3), True, [], F64),
                                                     ((2,), True, [], F64)], {'stride': 2, 'outputPadding': 1}),
    ('convTranspose2d_input_frozen', 'convTranspose2d', [((1, 2, 3, 3), False), (2, 2, 3, 3), (2,)], {'stride': 2}),
    ('convTranspose2d_larger', 'convTranspose2d', [(2, 8, 6, 6), (8, 4, 4, 4), (4,)], {'stride': 2, 'padding': 1}),
    ('convTranspose2d_err_channels', 'convTranspose2d', [(1, 4, 5, 5), (3, 2, 3, 3), None], {}, True),
    ('convTranspose2d_err_groups', 'convTranspose2d', [(1, 4, 5, 5), (4, 2, 3, 3), None], {'groups': 3}, True),
    ('convTranspose2d_err_bias_shape', 'convTranspose2d', [(1, 4, 5, 5), (4, 2, 3, 3), (4,)], {}, True),
    ('convTranspose2d_err_outpad_too_big', 'convTranspose2d', [(1, 4, 5, 5), (4, 2, 3, 3), None],
     {'stride': [2, 1], 'outputPadding': [1, 1]}, True),
    ('convTranspose2d_err_output_too_small', 'convTranspose2d', [(1, 4, 2, 2), (4, 2, 3, 3), None], {'padding': 3}, True),
    ('convTranspose2d_err_3d_weight', 'convTranspose2d', [(1, 4, 5, 5), (4, 2, 3), None], {}, True),
    ('convTranspose2d_err_2d_input', 'convTranspose2d', [(4, 5), (4, 2, 3, 3), None], {}, True),
]


def make_f_case(spec):
    name, op, ins, kwargs = spec[:4]
    error = len(spec) > 4 and spec[4]
    seed_for(name)
    inputs = []
    for s in ins:
        if s is None:
            inputs.append(None)
            continue
        if isinstance(s[0], tuple):
            shape, grad = s[0], s[1]
            view = s[2] if len(s) > 2 else []
            dtype = s[3] if len(s) > 3 else torch.float32
        else:
            shape, grad, view, dtype = s, True, [], torch.float32
        inputs.append(inp(randn(*shape, dtype=dtype), grad and not error, view))
    c = nnfx.make_case(name, op, inputs, kwargs, error=error, ggc=True)
    if not error:
        # The output's grad_fn, from the same call again.
        leaves = [None if i is None else i['t'].detach().clone().requires_grad_(bool(i['grad'])) for i in inputs]
        refs = [None if i is None else nnfx.apply_view(l, i['view']) for l, i in zip(leaves, inputs)]
        out = nnfx.TORCH[op](refs, kwargs)
        c['grad_fn'] = type(out.grad_fn).__name__ if out.grad_fn is not None else None
    return c


# ---- layers -------------------------------------------------------------------------------
PY_KW = {'outputPadding': 'output_padding', 'paddingMode': 'padding_mode', 'outputSize': 'output_size'}


def py_kwargs(opts):
    return {PY_KW.get(k, k): size(v) for k, v in opts.items()}


# name, layer, args, opts, input shape, forward opts
LAYERS = [
    ('Conv1d_basic', 'Conv1d', [3, 4, 3], {}, (2, 3, 10), {}),
    ('Conv1d_stride_pad_groups_no_bias', 'Conv1d', [4, 6, 3], {'stride': 2, 'padding': 1, 'groups': 2, 'bias': False}, (2, 4, 9), {}),
    ('Conv1d_same_dilated', 'Conv1d', [2, 3, 4], {'padding': 'same', 'dilation': 2}, (1, 2, 9), {}),
    ('Conv1d_valid_list_sizes', 'Conv1d', [2, 3, [3]], {'padding': 'valid', 'stride': [2]}, (1, 2, 9), {}),
    ('Conv1d_padding_mode_zeros', 'Conv1d', [2, 2, 3], {'padding': 1, 'paddingMode': 'zeros'}, (2, 2, 6), {}),
    ('Conv1d_unbatched', 'Conv1d', [3, 2, 3], {'padding': 1}, (3, 7), {}),
    ('ConvTranspose1d_basic', 'ConvTranspose1d', [3, 4, 3], {}, (2, 3, 6), {}),
    ('ConvTranspose1d_all_options', 'ConvTranspose1d', [4, 6, 3],
     {'stride': 2, 'padding': 1, 'outputPadding': 1, 'groups': 2, 'bias': False, 'dilation': 2}, (2, 4, 5), {}),
    ('ConvTranspose1d_output_size', 'ConvTranspose1d', [4, 6, 3], {'stride': 3}, (2, 4, 7), {'outputSize': [22]}),
    ('ConvTranspose1d_output_size_with_batch', 'ConvTranspose1d', [4, 6, 3], {'stride': 3, 'padding': 1},
     (2, 4, 7), {'outputSize': [2, 6, 21]}),
    ('ConvTranspose1d_unbatched', 'ConvTranspose1d', [3, 2, 3], {'stride': 2}, (3, 5), {}),
    ('ConvTranspose2d_basic', 'ConvTranspose2d', [3, 2, 3], {'stride': 2, 'padding': 1, 'outputPadding': 1}, (2, 3, 4, 4), {}),
    ('ConvTranspose2d_rect_groups_dilation', 'ConvTranspose2d', [4, 6, [3, 2]],
     {'stride': [2, 1], 'padding': [1, 0], 'outputPadding': [1, 0], 'groups': 2, 'dilation': [1, 2]}, (1, 4, 3, 4), {}),
    ('ConvTranspose2d_output_size', 'ConvTranspose2d', [2, 3, 3], {'stride': 2, 'padding': 1}, (2, 2, 4, 5), {'outputSize': [8, 10]}),
    ('ConvTranspose2d_output_size_unbatched', 'ConvTranspose2d', [2, 3, 3], {'stride': [2, 3]}, (2, 3, 3),
     {'outputSize': [3, 8, 9]}),
]

MAKE = {'Conv1d': nn.Conv1d, 'ConvTranspose1d': nn.ConvTranspose1d, 'ConvTranspose2d': nn.ConvTranspose2d}


def make_layer_case(spec):
    name, layer, args, opts, in_shape, fwd = spec
    seed_for(name)
    m = MAKE[layer](*[size(a) for a in args], **py_kwargs(opts))
    x = randn(*in_shape).requires_grad_(True)
    out = m(x, **py_kwargs(fwd))
    gout = randn(*out.shape)
    out.backward(gout)
    return {
        'name': name, 'layer': layer, 'args': args, 'opts': opts, 'repr': repr(m),
        'state_keys': list(m.state_dict().keys()),
        'param_names': [n for n, _ in m.named_parameters()],
        'state': {k: enc(v) for k, v in m.state_dict().items()},
        'input': dict(enc(x), requires_grad=True),
        'forward_opts': fwd,
        'output': enc(out), 'grad_fn': type(out.grad_fn).__name__, 'gout': enc(gout),
        'input_grad': enc(x.grad),
        'param_grads': {n: enc(p.grad) for n, p in m.named_parameters()},
    }


# Large layers, so that the drawn values come close to the bounds.
INIT = [
    ('Conv1d', [8, 16, 5], {}),
    ('Conv1d', [8, 16, 5], {'groups': 4}),
    ('ConvTranspose1d', [16, 8, 5], {}),
    ('ConvTranspose1d', [16, 8, 5], {'groups': 4}),
    ('ConvTranspose2d', [16, 8, 3], {}),
    ('ConvTranspose2d', [16, 8, [3, 2]], {'groups': 2}),
]


def make_init(spec):
    layer, args, opts = spec
    m = MAKE[layer](*[size(a) for a in args], **py_kwargs(opts))
    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
    # kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / (1 + 5)), bound gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in).
    gain = math.sqrt(2.0 / (1 + 5))
    wb = gain * math.sqrt(3.0 / fan_in)
    bb = 1 / math.sqrt(fan_in)
    assert m.weight.abs().max().item() <= wb + 1e-7 and m.bias.abs().max().item() <= bb + 1e-7
    return {'layer': layer, 'args': args, 'opts': opts, 'weight_shape': list(m.weight.shape),
            'bias_shape': list(m.bias.shape), 'weight_bound': wb, 'bias_bound': bb}


def main():
    # padding='same' with an even kernel warns that PyTorch pads a copy; expected here.
    warnings.filterwarnings('ignore', message="Using padding='same'")
    cases = [make_f_case(s) for s in F_CASES]
    names = [c['name'] for c in cases] + [s[0] for s in LAYERS]
    assert len(names) == len(set(names)), 'duplicate case names'
    layers = [make_layer_case(s) for s in LAYERS]
    torch.manual_seed(17)
    init = [make_init(s) for s in INIT]
    fx = {'family': 'nn_conv_nd', 'torch_version': torch.__version__, 'tolerance': nnfx.TOLERANCE,
          'cases': cases, 'layers': layers, 'init': init}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(fx, f, separators=(',', ':'))
        f.write('\n')
    n_gc = sum(1 for c in cases if c.get('gradcheck'))
    n_ggc = sum(1 for c in cases if c.get('gradgradcheck'))
    print(f'{os.path.relpath(OUT, ROOT)}: {len(cases)} F cases ({n_gc} gradcheck, {n_ggc} gradgradcheck), '
          f'{len(layers)} layers, {len(init)} init ({os.path.getsize(OUT) // 1024} KiB)')


if __name__ == '__main__':
    main()
