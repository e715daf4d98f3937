#!/usr/bin/env python3
"""Write the PyTorch-oracle fixtures for Kindling's recurrent layers and
nn.utils.rnn (test/nn/rnn.test.ts).

Run:  /usr/bin/python3 scripts/make_rnn_fixtures.py

Writes test/fixtures/nn_rnn.json with three lists:

  layers: one RNN/LSTM/GRU or Cell each, built in PyTorch with a seed
    {
      "name", "layer": "LSTM", "args": [...], "opts": {...},   # Kindling's constructor call
      "train": false, "repr", "state_keys", "param_names",
      "state": {name: T},                 # PyTorch's state dict, loaded with loadStateDict
      "input": T + {"requires_grad"},     # padded input (or a Cell's input)
      "packed": null | {"lengths", "batch_first", "enforce_sorted"},  # pack the input first
      "hx": null | T | [T, T],            # initial state(s), each requiring grad
      "outputs": [T, ...],                # output (packed: its data), then hN (LSTM: hN, cN); Cells: h' (LSTM: h', c')
      "gouts": [T, ...],                  # the upstream gradient of each output
      "input_grad": T, "hx_grads": [T, ...], "param_grads": {name: T},
      "packed_out": {"batch_sizes", "sorted_indices", "unsorted_indices", "padded"}  # packed cases
    }
  utils: nn.utils.rnn calls: "fn", tensor "inputs" (requiring grad where
    float), "kwargs", "outputs" (tensors, or lists of ints), "gouts" and
    "grads" for the float inputs.
  tolerance: per dtype.

T is {"shape", "dtype", "data"}, float32 written as the shortest decimal that
reads back as the same float32 (scripts/fixture_encoding.py).
"""

import json
import os
import sys
import warnings

try:
    import torch
    import torch.nn as nn
    from torch.nn.utils import rnn as rnn_utils
except ImportError:
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    sys.exit('make_rnn_fixtures.py needs PyTorch (1.13 CPU)')

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_encoding import enc_scalar  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'nn_rnn.json')

NAMES = {torch.float32: 'float32', torch.float64: 'float64', torch.int64: 'int64'}

# A recurrence sums its rounding errors over the steps; these bounds are still
# far below what a wrong gate order or a missed step gives.
TOLERANCE = {'float32': {'rtol': 1e-4, 'atol': 1e-5}, 'float64': {'rtol': 1e-9, 'atol': 1e-11}}


def enc(t):
    t = t.detach()
    dtype = NAMES[t.dtype]
    return {'shape': list(t.shape), 'dtype': dtype,
            'data': [enc_scalar(v, dtype) for v in t.contiguous().reshape(-1).tolist()]}


def randn(*shape, dtype=torch.float32):
    return torch.randn(shape, dtype=torch.float64).to(dtype)


KW = {'numLayers': 'num_layers', 'batchFirst': 'batch_first', 'projSize': 'proj_size'}


def py_kwargs(opts):
    out = {}
    for k, v in opts.items():
        if k == 'dtype':
            out[k] = getattr(torch, v)
        else:
            out[KW.get(k, k)] = v
    return out


LAYERS = []


def layer(name, cls, args, opts=None, seq=5, batch=3, hx=False, packed=None, unbatched=False, train=False):
    """A RNN/LSTM/GRU case; packed = (lengths, enforce_sorted) packs the padded input first."""
    LAYERS.append(dict(name=name, cls=cls, args=args, opts=opts or {}, seq=seq, batch=batch, hx=hx, packed=packed,
                       unbatched=unbatched, train=train, cell=False))


def cell(name, cls, args, opts=None, batch=3, hx=True, unbatched=False):
    LAYERS.append(dict(name=name, cls=cls, args=args, opts=opts or {}, batch=batch, hx=hx, unbatched=unbatched,
                       train=False, cell=True, packed=None))


def build_layers():
    layer('rnn_tanh', 'RNN', [4, 5])
    layer('rnn_relu_2_layers_h0', 'RNN', [4, 5, 2, 'relu'], hx=True)
    layer('rnn_bidirectional_batch_first', 'RNN', [4, 5], {'batchFirst': True, 'bidirectional': True}, hx=True)
    layer('rnn_no_bias_unbatched_h0', 'RNN', [4, 5], {'bias': False}, hx=True, unbatched=True)
    layer('rnn_packed_unsorted_bidirectional', 'RNN', [3, 4, 2], {'bidirectional': True}, batch=4, hx=True,
          packed=([2, 5, 3, 5], False))
    layer('lstm', 'LSTM', [4, 5])
    layer('lstm_2_layers_bidirectional_h0c0', 'LSTM', [4, 5, 2], {'bidirectional': True}, hx=True)
    layer('lstm_proj_2_layers_h0c0', 'LSTM', [4, 6, 2], {'projSize': 3}, hx=True)
    layer('lstm_proj_bidirectional_batch_first', 'LSTM', [4, 5], {'projSize': 2, 'bidirectional': True, 'batchFirst': True})
    layer('lstm_no_bias', 'LSTM', [3, 4], {'bias': False}, hx=True)
    layer('lstm_unbatched_h0c0', 'LSTM', [4, 5, 2], hx=True, unbatched=True)
    layer('lstm_float64', 'LSTM', [3, 4], {'dtype': 'float64', 'bidirectional': True}, hx=True)
    layer('lstm_eval_dropout', 'LSTM', [3, 4, 2], {'dropout': 0.5})
    layer('lstm_packed_unsorted_2_layers_bidirectional', 'LSTM', [3, 4, 2], {'bidirectional': True}, batch=4, hx=True,
          packed=([3, 6, 1, 4], False), seq=6)
    layer('lstm_packed_sorted_batch_first_proj', 'LSTM', [3, 5], {'batchFirst': True, 'projSize': 2}, batch=3, hx=True,
          packed=([5, 3, 3], True))
    layer('gru', 'GRU', [4, 5])
    layer('gru_2_layers_bidirectional_batch_first_h0', 'GRU', [4, 5, 2], {'bidirectional': True, 'batchFirst': True},
          hx=True)
    layer('gru_unbatched_batch_first', 'GRU', [4, 3], {'batchFirst': True}, unbatched=True)
    layer('gru_packed_unsorted', 'GRU', [3, 4], batch=5, hx=True, packed=([4, 1, 5, 4, 2], False))
    cell('rnn_cell', 'RNNCell', [4, 5])
    cell('rnn_cell_relu_no_bias', 'RNNCell', [4, 5, False, 'relu'])
    cell('rnn_cell_no_hx', 'RNNCell', [4, 5], hx=False)
    cell('lstm_cell', 'LSTMCell', [4, 5])
    cell('lstm_cell_unbatched', 'LSTMCell', [4, 5], unbatched=True)
    cell('lstm_cell_no_hx', 'LSTMCell', [3, 4], {'bias': False}, hx=False)
    cell('gru_cell', 'GRUCell', [4, 5])
    cell('gru_cell_unbatched_no_hx', 'GRUCell', [4, 5], unbatched=True, hx=False)


def py_layer(c):
    cls = getattr(nn, c['cls'])
    args = list(c['args'])
    kw = py_kwargs(c['opts'])
    if c['cls'] == 'RNN' and len(args) > 3:
        # PyTorch 1.13 takes nonlinearity by keyword only; Kindling positionally in the documented order.
        kw['nonlinearity'] = args.pop(3)
    if c['cls'] == 'RNNCell' and len(args) > 3:
        kw['nonlinearity'] = args.pop(3)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return cls(*args, **kw)


def run_layer(c, seed):
    torch.manual_seed(seed)
    m = py_layer(c)
    m.train(c['train'])
    dtype = next(m.parameters()).dtype
    state = {k: enc(v) for k, v in m.state_dict().items()}
    H = m.hidden_size
    rec = {'name': c['name'], 'layer': c['cls'], 'args': c['args'], 'opts': c['opts'], 'train': c['train'],
           'repr': repr(m), 'state_keys': list(m.state_dict().keys()),
           'param_names': [n for n, _ in m.named_parameters()], 'state': state, 'packed': None}
    lstm = c['cls'].startswith('LSTM')
    if c['cell']:
        shape = [m.input_size] if c['unbatched'] else [c['batch'], m.input_size]
        x = randn(*shape, dtype=dtype).requires_grad_()
        hshape = [H] if c['unbatched'] else [c['batch'], H]
        hx = None
        if c['hx']:
            hx = [randn(*hshape, dtype=dtype).requires_grad_() for _ in range(2 if lstm else 1)]
        out = m(x, (tuple(hx) if lstm else hx[0]) if hx else None)
        outs = list(out) if lstm else [out]
    else:
        D = 2 if m.bidirectional else 1
        L = m.num_layers
        T, B = c['seq'], c['batch']
        shape = [T, m.input_size] if c['unbatched'] else ([B, T, m.input_size] if m.batch_first else [T, B, m.input_size])
        x = randn(*shape, dtype=dtype).requires_grad_()
        hx = None
        if c['hx']:
            hout = m.proj_size or H
            sizes = [hout, H] if lstm else [hout]
            hx = [randn(*([L * D, s] if c['unbatched'] else [L * D, B, s]), dtype=dtype).requires_grad_() for s in sizes]
        hx_arg = (tuple(hx) if lstm else hx[0]) if hx else None
        if c['packed']:
            lengths, enforce_sorted = c['packed']
            rec['packed'] = {'lengths': lengths, 'batch_first': m.batch_first, 'enforce_sorted': enforce_sorted}
            inp = rnn_utils.pack_padded_sequence(x, lengths, batch_first=m.batch_first, enforce_sorted=enforce_sorted)
            out, h = m(inp, hx_arg)
            padded, plen = rnn_utils.pad_packed_sequence(out, batch_first=m.batch_first)
            rec['packed_out'] = {
                'batch_sizes': out.batch_sizes.tolist(),
                'sorted_indices': None if out.sorted_indices is None else out.sorted_indices.tolist(),
                'unsorted_indices': None if out.unsorted_indices is None else out.unsorted_indices.tolist(),
                'padded': enc(padded), 'lengths': plen.tolist(),
            }
            outs = [out.data] + (list(h) if lstm else [h])
        else:
            out, h = m(x, hx_arg)
            outs = [out] + (list(h) if lstm else [h])
    gouts = [randn(*o.shape, dtype=dtype) for o in outs]
    torch.autograd.backward(outs, gouts)
    rec.update({
        'input': dict(enc(x), requires_grad=True),
        'hx': None if hx is None else [enc(h) for h in hx],
        'outputs': [enc(o) for o in outs],
        'gouts': [enc(g) for g in gouts],
        'input_grad': enc(x.grad),
        'hx_grads': [] if hx is None else [enc(h.grad) for h in hx],
        'param_grads': {n: enc(p.grad) for n, p in m.named_parameters()},
    })
    return rec


# ---- nn.utils.rnn -------------------------------------------------------------------------------

UTILS = []


def util(name, fn, make_inputs, kwargs=None):
    UTILS.append(dict(name=name, fn=fn, make=make_inputs, kwargs=kwargs or {}))


def build_utils():
    seqs = lambda *lens, tail=(): [randn(n, *tail) for n in lens]
    util('pad_sequence', 'padSequence', lambda: seqs(3, 5, 1))
    util('pad_sequence_batch_first_value', 'padSequence', lambda: seqs(2, 4, 4, tail=(2, 3)),
         {'batchFirst': True, 'paddingValue': -1.5})
    util('pad_sequence_1d', 'padSequence', lambda: seqs(1, 3))
    util('pack_padded_sorted', 'packPaddedSequence', lambda: [randn(4, 3, 2)], {'lengths': [4, 2, 1]})
    util('pack_padded_unsorted_ties', 'packPaddedSequence', lambda: [randn(3, 6, 2)],
         {'lengths': [2, 3, 3, 1, 3, 2], 'enforceSorted': False})
    util('pack_padded_batch_first_unsorted', 'packPaddedSequence', lambda: [randn(4, 5, 3)],
         {'lengths': [2, 5, 1, 4], 'batchFirst': True, 'enforceSorted': False})
    util('pad_packed_roundtrip', 'padPackedSequence', lambda: [randn(5, 4, 2)],
         {'lengths': [3, 5, 2, 5], 'enforceSorted': False})
    util('pad_packed_batch_first_total_length', 'padPackedSequence', lambda: [randn(3, 4, 2)],
         {'lengths': [4, 3, 1], 'batchFirst': True, 'paddingValue': 9.0, 'totalLength': 6})
    util('pack_sequence_unsorted', 'packSequence', lambda: seqs(2, 4, 3, tail=(2,)), {'enforceSorted': False})
    util('unpack_sequence', 'unpackSequence', lambda: seqs(2, 4, 1, tail=(2,)))
    util('unpad_sequence_batch_first', 'unpadSequence', lambda: [randn(3, 4, 2)], {'lengths': [4, 1, 3], 'batchFirst': True})


def run_util(c, seed):
    torch.manual_seed(seed)
    xs = [t.requires_grad_() for t in c['make']()]
    kw = c['kwargs']
    fn = c['fn']
    if fn == 'padSequence':
        outs = [rnn_utils.pad_sequence(xs, batch_first=kw.get('batchFirst', False),
                                       padding_value=kw.get('paddingValue', 0.0))]
    elif fn == 'packPaddedSequence':
        p = rnn_utils.pack_padded_sequence(xs[0], kw['lengths'], batch_first=kw.get('batchFirst', False),
                                           enforce_sorted=kw.get('enforceSorted', True))
        outs = [p.data, p.batch_sizes] + [t for t in (p.sorted_indices, p.unsorted_indices) if t is not None]
    elif fn == 'padPackedSequence':
        p = rnn_utils.pack_padded_sequence(xs[0], kw['lengths'], batch_first=kw.get('batchFirst', False),
                                           enforce_sorted=kw.get('enforceSorted', True))
        padded, lengths = rnn_utils.pad_packed_sequence(p, batch_first=kw.get('batchFirst', False),
                                                        padding_value=kw.get('paddingValue', 0.0),
                                                        total_length=kw.get('totalLength'))
        outs = [padded, lengths]
    elif fn == 'packSequence':
        p = rnn_utils.pack_sequence(xs, enforce_sorted=kw.get('enforceSorted', True))
        outs = [p.data, p.batch_sizes] + [t for t in (p.sorted_indices, p.unsorted_indices) if t is not None]
    elif fn == 'unpackSequence':
        outs = rnn_utils.unpack_sequence(rnn_utils.pack_sequence(xs, enforce_sorted=False))
    elif fn == 'unpadSequence':
        outs = rnn_utils.unpad_sequence(xs[0], torch.tensor(kw['lengths']), batch_first=kw.get('batchFirst', False))
    else:
        raise ValueError(fn)
    diff = [o.requires_grad for o in outs]
    gouts = [randn(*o.shape) if d else None for o, d in zip(outs, diff)]
    torch.autograd.backward([o for o, d in zip(outs, diff) if d], [g for g in gouts if g is not None])
    return {'name': c['name'], 'fn': fn, 'kwargs': kw,
            'inputs': [enc(x) for x in xs],
            'outputs': [enc(o) for o in outs],
            'gouts': [enc(g) if g is not None else None for g in gouts],
            'grads': [enc(x.grad) for x in xs]}


def main():
    build_layers()
    build_utils()
    names = [c['name'] for c in LAYERS + UTILS]
    assert len(names) == len(set(names)), 'duplicate case names'
    fx = {
        'family': 'nn_rnn',
        'torch_version': torch.__version__,
        'tolerance': TOLERANCE,
        'layers': [run_layer(c, 2000 + i) for i, c in enumerate(LAYERS)],
        'utils': [run_util(c, 3000 + i) for i, c in enumerate(UTILS)],
    }
    with open(OUT, 'w') as f:
        json.dump(fx, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {len(fx["layers"])} layer and {len(fx["utils"])} utils cases to '
          f'{os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT) // 1024} KiB)')


if __name__ == '__main__':
    main()
