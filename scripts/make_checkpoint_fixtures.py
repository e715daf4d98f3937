#!/usr/bin/env python3
"""PyTorch reads a full Kindling checkpoint: test/fixtures/checkpoint/kindling_read_by_torch.json.

Run scripts/write_checkpoint_sample.ts first (it writes
test/fixtures/checkpoint/kindling.safetensors with Kindling's torch.save).
This loads every tensor of it with torch (scripts/check_checkpoint.py's
reader), rebuilds the saved object, loads the model's state dict into the
same torch.nn model and the optimizer's into torch.optim.Adam (Kindling's
camelCase state keys mapped to PyTorch's), and writes what PyTorch got:
each tensor's dtype, shape and values, the rebuilt object with tensors
replaced by their names, and the model's output on a fixed input, so that
test/io/checkpoint_pytorch.test.ts checks all of it against Kindling.
"""

import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_checkpoint import load_checkpoint, read_tensors  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'checkpoint')


def plain(v):
    """JSON for a value: tensors by their values, special floats as strings."""
    if isinstance(v, torch.Tensor):
        return {'dtype': str(v.dtype).replace('torch.', ''), 'shape': list(v.shape), 'values': plain(v.tolist())}
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53:
        return str(v)
    return v


def main():
    path = os.path.join(HERE, 'kindling.safetensors')
    tensors, _ = read_tensors(path)
    obj = load_checkpoint(path)

    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    model.load_state_dict(obj['model'])  # strict: every key PyTorch's, every shape right
    model.eval()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sd = obj['optimizer']
    state = {int(i): {'step': torch.tensor(float(s['step'])), 'exp_avg': s['expAvg'], 'exp_avg_sq': s['expAvgSq']}
             for i, s in sd['state'].items()}
    groups = [{**{k: v for k, v in g.items() if k in ('lr', 'eps', 'weight_decay', 'amsgrad', 'params')},
               'betas': tuple(g['betas'])} for g in sd['param_groups']]
    opt.load_state_dict({'state': state, 'param_groups': groups})
    x = torch.linspace(-1, 1, 8).reshape(2, 4)
    with torch.no_grad():
        out = model(x)

    result = {
        'tensors': {name: plain(t) for name, t in sorted(tensors.items())},
        'object_keys': sorted(obj.keys()),
        'numbers': {k: plain(obj[k]) for k in ('epoch', 'loss', 'best', 'history', 'seen')},
        'config': plain(obj['config']),
        'scheduler': plain(obj['scheduler']),
        'adam_lr': opt.param_groups[0]['lr'],
        'model_input': plain(x),
        'model_output_eval': plain(out),
    }
    with open(os.path.join(HERE, 'kindling_read_by_torch.json'), 'w') as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write('\n')
    print('wrote %s (%d tensors)' % (os.path.join(HERE, 'kindling_read_by_torch.json'), len(tensors)))


if __name__ == '__main__':
    main()
