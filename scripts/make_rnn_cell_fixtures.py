#!/usr/bin/env python3
"""Write the PyTorch-oracle fixtures for Kindling's fused recurrent cells
(lib/ops/rnn.ts) and the one-node split/unbind backward
(test/nn/rnn_fused.test.ts).

Run:  /usr/bin/python3 scripts/make_rnn_cell_fixtures.py

Writes test/fixtures/nn_rnn_cells.json:

  cells: {"name", "op": "lstmCell" | "gruCell", "inputs": [T, T, T] (input
    gates, hidden gates, cx or hx), "outputs": [T] (lstmCell: [h', c']
    stacked as [2, B, H], its one result; gruCell: h'), "gout": T,
    "grads": [T, T, T]}. PyTorch 1.13 has no CPU _thnn_fused_*_cell, so the
    oracle is its CPU cells' own arithmetic (RNN.cpp's LSTMCell / GRUCell
    after the two linear maps) run through PyTorch's ops and autograd.
  views: {"name", "fn": "unbind" | "split", "dim", "sizes" (split), "input":
    T, "used": [indices of the results given a gradient], "gouts": [T per
    used result], "grad": T}: the input gradient when only some results
    have one.
  tolerance: per dtype.
"""

import json
import os
import sys

try:
    import torch
except ImportError:
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    sys.exit('make_rnn_cell_fixtures.py needs PyTorch (1.13 CPU)')

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_encoding import enc_scalar  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'nn_rnn_cells.json')
NAMES = {torch.float32: 'float32', torch.float64: 'float64'}
TOLERANCE = {'float32': {'rtol': 1e-5, 'atol': 1e-6}, 'float64': {'rtol': 1e-12, 'atol': 1e-14}}


def enc(t):
    t = t.detach()
    dtype = NAMES[t.dtype]
    return {'shape': list(t.shape), 'dtype': dtype,
            'data': [enc_scalar(v, dtype) for v in t.contiguous().reshape(-1).tolist()]}


def randn(*shape, dtype):
    return torch.randn(shape, dtype=torch.float64).to(dtype).requires_grad_()


def lstm(ig, hg, cx):
    # RNN.cpp's LSTMCell: the hidden share first, then the input's.
    i, f, g, o = (hg + ig).chunk(4, 1)
    cy = f.sigmoid() * cx + i.sigmoid() * g.tanh()
    hy = o.sigmoid() * cy.tanh()
    return torch.stack([hy, cy])


def gru(ig, hg, hx):
    xr, xz, xn = ig.chunk(3, 1)
    hr, hz, hn = hg.chunk(3, 1)
    r = (hr + xr).sigmoid()
    z = (hz + xz).sigmoid()
    n = (xn + hn * r).tanh()
    return (hx - n) * z + n


def cell(name, op, B, H, dtype, seed):
    torch.manual_seed(seed)
    gates = 4 if op == 'lstmCell' else 3
    # Pre-activations of a few units, so the gates cover their whole range.
    ig = (torch.randn(B, gates * H, dtype=torch.float64) * 2).to(dtype).requires_grad_()
    hg = (torch.randn(B, gates * H, dtype=torch.float64) * 2).to(dtype).requires_grad_()
    state = randn(B, H, dtype=dtype)
    out = (lstm if op == 'lstmCell' else gru)(ig, hg, state)
    gout = torch.randn(out.shape, dtype=torch.float64).to(dtype)
    grads = torch.autograd.grad(out, [ig, hg, state], gout)
    return {'name': name, 'op': op, 'inputs': [enc(ig), enc(hg), enc(state)], 'outputs': [enc(out)],
            'gout': enc(gout), 'grads': [enc(g) for g in grads]}


def views(name, fn, shape, dim, used, seed, sizes=None):
    torch.manual_seed(seed)
    x = randn(*shape, dtype=torch.float32)
    outs = x.unbind(dim) if fn == 'unbind' else x.split(sizes, dim)
    gouts = [torch.randn(outs[i].shape) for i in used]
    (grad,) = torch.autograd.grad([outs[i] for i in used], [x], gouts)
    c = {'name': name, 'fn': fn, 'dim': dim, 'input': enc(x), 'used': used, 'gouts': [enc(g) for g in gouts],
         'grad': enc(grad)}
    if sizes is not None:
        c['sizes'] = sizes
    return c


def main():
    cells = [
        cell('lstm_f32', 'lstmCell', 3, 5, torch.float32, 1),
        cell('lstm_f64', 'lstmCell', 4, 3, torch.float64, 2),
        cell('lstm_one_row', 'lstmCell', 1, 7, torch.float32, 3),
        cell('gru_f32', 'gruCell', 3, 5, torch.float32, 4),
        cell('gru_f64', 'gruCell', 4, 3, torch.float64, 5),
    ]
    vs = [
        views('unbind_dim0_some', 'unbind', [5, 2, 3], 0, [0, 3], 10),
        views('unbind_dim1_all', 'unbind', [2, 4, 3], 1, [0, 1, 2, 3], 11),
        views('unbind_last_dim_one', 'unbind', [2, 3, 4], -1, [2], 12),
        views('split_sizes_some', 'split', [7, 3], 0, [1, 2], 13, sizes=[2, 4, 1]),
        views('split_int_dim1', 'split', [2, 5], 1, [0, 2], 14, sizes=2),
    ]
    fx = {'family': 'nn_rnn_cells', 'torch_version': torch.__version__, 'tolerance': TOLERANCE, 'cells': cells,
          'views': vs}
    with open(OUT, 'w') as f:
        json.dump(fx, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {len(cells)} cell and {len(vs)} view cases to {os.path.relpath(OUT, ROOT)}')


if __name__ == '__main__':
    main()
