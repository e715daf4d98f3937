#!/usr/bin/env python3
"""Write the PyTorch-oracle fixtures for the shapes that take the direct
convolution path in native/cpu/nn.cc (Note [Direct convolution]: float32 on
AVX-512, weights of at most 16 x 144; and Note [Output channels in lanes]
for larger ones): test/nn/conv_direct.test.ts.

Run:  /usr/bin/python3 scripts/make_conv_direct_fixtures.py

Writes test/fixtures/conv_direct.json: "cases" in the format of
scripts/make_nn_fixtures.py (make_case: inputs, args, kwargs, outputs,
gouts, grads) and "tolerance" per dtype. Every case is float32, since only
float32 takes the path; float64 gradchecks of convolution live in the
other conv fixtures. The shapes cover each part of the path: output channel
counts below, at and above one 16-channel tile; input channel counts that
split into every register block (16, 8, 4, 2, 1); strides 1-3, padding,
dilation, rectangular kernels, groups, 1-d; pixels no output reads; frozen
input or weight; and batches that split into several chunks of images
(large dilation and padding make big phase planes from tiny images, so the
chunks come from a small file).
"""

import json
import os
import sys
import zlib

try:
    import torch
except ImportError:
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    sys.exit('make_conv_direct_fixtures.py needs PyTorch (1.13 CPU)')

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_conv_fixtures  # noqa: E402,F401  (registers conv1d with make_nn_fixtures)
import make_nn_fixtures as nnfx  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'conv_direct.json')

# name, op, [input shape, weight shape, bias shape or None], kwargs, (input grad, weight grad)
CASES = [
    ('cnn_first_layer_1to16_s2', 'conv2d', [(2, 1, 11, 11), (16, 1, 3, 3), (16,)], {'stride': 2, 'padding': 1}),
    ('cnn_16to16_s2', 'conv2d', [(1, 16, 7, 7), (16, 16, 3, 3), (16,)], {'stride': 2, 'padding': 1}),
    ('cnn_16to10_s2_4x4_out', 'conv2d', [(1, 16, 7, 7), (10, 16, 3, 3), (10,)], {'stride': 2, 'padding': 1}),
    ('out_channels_40_three_tiles', 'conv2d', [(1, 1, 6, 6), (40, 1, 3, 3), (40,)], {'padding': 1}),
    ('in_channels_13_blocks_8_4_1', 'conv2d', [(1, 13, 6, 6), (7, 13, 3, 3), (7,)], {'padding': 1}),
    ('rect_kernel_stride3x2_pad', 'conv2d', [(2, 3, 13, 11), (6, 3, 5, 4), (6,)], {'stride': [3, 2], 'padding': [2, 1]}),
    ('dilation2x3_pad', 'conv2d', [(2, 2, 11, 12), (5, 2, 3, 3), None], {'dilation': [2, 3], 'padding': [2, 3]}),
    ('groups2_stride2', 'conv2d', [(2, 6, 9, 9), (8, 3, 3, 3), (8,)], {'groups': 2, 'stride': 2, 'padding': 1}),
    ('depthwise_multiplier2', 'conv2d', [(2, 3, 8, 8), (6, 1, 3, 3), (6,)], {'groups': 3, 'padding': 1}),
    ('unpadded_stride2_unread_pixels', 'conv2d', [(2, 2, 8, 8), (4, 2, 3, 3), (4,)], {'stride': 2}),
    ('kernel_1x1_padded', 'conv2d', [(2, 3, 5, 5), (4, 3, 1, 1), (4,)], {'padding': 1}),
    ('input_frozen', 'conv2d', [(3, 4, 6, 6), (5, 4, 3, 3), (5,)], {'padding': 1}, (False, True)),
    ('weight_frozen', 'conv2d', [(3, 4, 6, 6), (5, 4, 3, 3), (5,)], {'stride': 2, 'padding': 1}, (True, False)),
    ('chunks_dilation20_pad20', 'conv2d', [(37, 1, 2, 2), (3, 1, 3, 3), (3,)], {'dilation': 20, 'padding': 20}),
    ('chunks_groups2_dilation25', 'conv2d', [(23, 4, 3, 3), (4, 2, 2, 2), (4,)], {'dilation': 25, 'padding': 12, 'groups': 2}),
    ('conv1d_4to8_k5_pad2', 'conv1d', [(2, 4, 30), (8, 4, 5), (8,)], {'padding': 2}),
    ('conv1d_chunks_stride2_dilation300', 'conv1d', [(30, 2, 5), (4, 2, 3), (4,)],
     {'stride': 2, 'dilation': 300, 'padding': 300}),
    # Larger weights whose groups have whole 16-channel vectors take the
    # forward and weight gradient of Note [Output channels in lanes] and
    # Note [Weight gradient in lanes], and the input gradient of those at
    # stride 1 whose input channels make whole vectors (Note [Input gradient
    # in lanes]): tiles of 4, 3, 2 and 1
    # channel vectors (64, 48, 32 and 16 channels; 80 = 64 + 16, 112 = 64 +
    # 48), pixel counts that leave a partial tile, several chunks, groups.
    ('lanes_5to64', 'conv2d', [(2, 5, 4, 4), (64, 5, 3, 3), (64,)], {'padding': 1}, (False, True)),
    ('lanes_17to16_one_vector', 'conv2d', [(2, 17, 5, 7), (16, 17, 3, 3), (16,)], {'padding': 1}, (False, True)),
    ('lanes_9to32_stride2_no_bias', 'conv2d', [(3, 9, 9, 9), (32, 9, 3, 3), None], {'stride': 2, 'padding': 1},
     (True, True)),
    ('lanes_6to48_dilation2', 'conv2d', [(2, 6, 5, 4), (48, 6, 3, 3), (48,)], {'dilation': 2, 'padding': 2},
     (False, True)),
    ('lanes_2to112_rect_kernel', 'conv2d', [(1, 2, 5, 3), (112, 2, 3, 5), (112,)], {'padding': [1, 2]}, (False, True)),
    ('lanes_groups2_32_per_group', 'conv2d', [(2, 18, 4, 3), (64, 9, 3, 3), (64,)], {'groups': 2, 'padding': 1},
     (False, True)),
    ('lanes_4to80_chunks', 'conv2d', [(5, 4, 3, 3), (80, 4, 3, 3), (80,)], {'padding': 1}, (False, True)),
    # input gradients in lanes: 16 input channels (the forward on the
    # GEMM or lanes path), dilation with less padding than the kernel's
    # reach, an unpadded kernel, groups of 16 input channels, and a 1-d one
    # (24 output channels per group: their weight gradient is the GEMM's,
    # left out to keep the file small)
    ('lanes_grad_input_16to64', 'conv2d', [(2, 16, 5, 4), (64, 16, 3, 3), (64,)], {'padding': 1}, (True, True)),
    ('lanes_grad_input_16to24_dilation2_pad1', 'conv2d', [(2, 16, 7, 6), (24, 16, 3, 3), None],
     {'dilation': 2, 'padding': 1}, (True, False)),
    ('lanes_grad_input_16to24_unpadded', 'conv2d', [(1, 16, 6, 7), (24, 16, 3, 3), (24,)], {}, (True, False)),
    ('lanes_grad_input_groups2', 'conv2d', [(1, 32, 4, 5), (48, 16, 3, 3), (48,)], {'groups': 2, 'padding': 1},
     (True, False)),
    ('lanes_grad_input_conv1d_16to32_k5', 'conv1d', [(2, 16, 11), (32, 16, 5), (32,)], {'padding': 2}, (True, True)),
    ('lanes_conv1d_8to64_k5', 'conv1d', [(2, 8, 13), (64, 8, 5), (64,)], {'padding': 2}, (False, True)),
]


def make(spec):
    name, op, shapes, kwargs = spec[:4]
    grads = spec[4] if len(spec) > 4 else (True, True)
    torch.manual_seed(zlib.crc32(name.encode()) % (2 ** 31))
    x, w, b = (None if s is None else nnfx.randn(*s) for s in shapes)
    inputs = [nnfx.inp(x, grads[0]), nnfx.inp(w, grads[1]), None if b is None else nnfx.inp(b, True)]
    return nnfx.make_case(name, op, inputs, kwargs, gradcheck=False)


def main():
    cases = [make(s) for s in CASES]
    assert len({c['name'] for c in cases}) == len(cases), 'duplicate case names'
    fx = {'family': 'conv_direct', 'torch_version': torch.__version__, 'tolerance': nnfx.TOLERANCE, 'cases': cases}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(fx, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {OUT}: {len(cases)} cases')


if __name__ == '__main__':
    main()
