#!/usr/bin/env python3
"""TensorBoard fixtures for test/utils/tensorboard.test.ts.

1. scenario.json: PyTorch 1.13's own torch.utils.tensorboard.SummaryWriter runs a
   list of calls (add_scalar, add_scalars, add_histogram, add_image, add_text,
   add_hparams, close and reopen, purge_step) with time.time() fixed, into a
   temporary directory. The tensorboard package is absent, so
   scripts/tensorboard_protos.py stands in for it: protobuf classes built from
   tensorboard's .proto field numbers, and an EventFileWriter with tensorboard's
   file names and first event. Written: the calls (in Kindling's spelling, which
   the test replays), and every event file PyTorch wrote (its directory, its
   name with host, pid and writer number abstracted, its records' bytes as hex),
   with each image as PIL decodes it. (The session_start_info record of a run
   with several hparams changes from run to run: protobuf's C++ writes a map in
   hash order; the test compares that map's entries, not their order.)

2. kindling_decoded.json: the event file Kindling wrote
   (test/fixtures/tensorboard/kindling.tfevents, made by
   scripts/write_tensorboard_sample.ts) as Python's protobuf and PIL decode it
   (scripts/decode_tfevents.py).

Run with /usr/bin/python3 (torch, numpy, PIL and python3-protobuf).
"""

import json
import math
import os
import re
import shutil
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tensorboard_protos as P  # noqa: E402
import decode_tfevents  # noqa: E402

ROOT = os.path.dirname(HERE)
OUT_DIR = os.path.join(ROOT, 'test', 'fixtures', 'tensorboard')
WALLTIME = 1700000000.5  # what time.time() says during the scenario: exact in binary, so JS and Python agree

import torch  # noqa: E402

torch.manual_seed(0)



def tensor_arg(t):
    """A tensor in the calls' JSON; float32 values as the shortest decimal that reads back the same."""
    flat = t.reshape(-1)
    data = [float(repr(x)) for x in flat.numpy()] if t.dtype == torch.float32 else flat.tolist()
    return {'tensor': {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'data': data}}


def special(x):
    return {'float': 'nan' if math.isnan(x) else ('inf' if x > 0 else '-inf')}


# ---- the scenario, in Kindling's spelling ---------------------------------------------------
def scenario():
    randn = lambda *s: torch.randn(*s)  # noqa: E731
    rand = lambda *s: torch.rand(*s)  # noqa: E731
    w0 = [
        ('addScalar', ['loss', 0.5, 0], {}),
        ('addScalar', ['loss', tensor_arg(torch.tensor(0.25)), 1], {'walltime': 1700000001.25}),
        ('addScalar', ['loss', 0.1, 2], {}),  # rounds to float32
        ('addScalar', ['zero', 0.0, 3], {}),  # a oneof member is written even when 0
        ('addScalar', ['neg', -2.5, -7], {}),  # a negative int64 step: ten bytes
        ('addScalar', ['nan', special(float('nan')), 4], {}),
        ('addScalar', ['minus_inf', special(float('-inf')), 4], {}),
        ('addScalar', ['huge', 1e39, 4], {}),  # past float32: inf
        ('addScalar', ['big_step', 1.0, 2 ** 40], {}),
        ('addScalar', ['int_tensor', tensor_arg(torch.tensor([[7]])), 7], {}),
        ('addScalar', ['new_style', 1.5, 5], {'newStyle': True}),
        ('addScalar', ['double', 0.1, 6], {'newStyle': True, 'doublePrecision': True}),
        ('addScalar', ['kw'], {'scalarValue': 2.0, 'globalStep': 8}),
        ('addScalars', ['train/loss', {'a': 1.0, 'b': tensor_arg(torch.tensor(2.5))}, 10], {}),
        ('addScalars', ['train/loss', {'a': 0.5, 'c': 3}, 11], {'walltime': 1700000002.75}),
        # Across zero: every 'tensorflow' edge between the values is in the record.
        ('addHistogram', ['normal', tensor_arg(randn(40)), 0], {}),
        # 130 values: numpy's pairwise sum splits the array.
        ('addHistogram', ['positive', tensor_arg(randn(130).abs() + 0.5), 0], {}),
        # Sums exact in any order, so sum_squares agrees to the bit too.
        ('addHistogram', ['dyadic', tensor_arg(torch.tensor([-8.0, -3.25, -1.5, -1.0, -1.0, -0.75, -0.25, -0.25])), 1], {}),
        ('addHistogram', ['ints', tensor_arg(torch.tensor([1, 2, 2, 3, 3, 3, 10])), 2], {'bins': 5}),
        ('addHistogram', ['same', tensor_arg(torch.tensor([2.0, 2.0, 2.0])), 3], {'bins': 4}),
        ('addHistogram', ['edges', tensor_arg(torch.tensor([-3.0, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 2.0, 2.0, 5.0], dtype=torch.float64)), 4],
         {'bins': [-1.0, 0.0, 0.5, 2.0]}),
        ('addHistogram', ['max_bins', tensor_arg(randn(40)), 5], {'maxBins': 10}),
        ('addHistogram', ['max_bins_pad', tensor_arg(torch.arange(50, dtype=torch.float32)), 6], {'bins': 30, 'maxBins': 7}),
        ('addImage', ['chw', tensor_arg(rand(3, 4, 5)), 0], {}),
        ('addImage', ['grey', tensor_arg(rand(1, 3, 2)), 1], {}),
        ('addImage', ['hwc_uint8', tensor_arg(torch.randint(0, 256, (2, 3, 3), dtype=torch.uint8)), 2], {'dataformats': 'HWC'}),
        ('addImage', ['hw', tensor_arg(rand(2, 3).double()), 3], {'dataformats': 'HW'}),
        ('addImage', ['wh', tensor_arg(rand(3, 2)), 4], {'dataformats': 'WH'}),
        ('addImage', ['grid', tensor_arg(rand(3, 1, 2, 2)), 5], {'dataformats': 'NCHW'}),
        ('addImage', ['grid9', tensor_arg(rand(9, 3, 1, 1)), 6], {'dataformats': 'NCHW'}),
        ('addImage', ['edge_values', tensor_arg(torch.tensor([[[0.0, 1.0, 0.5], [0.999, 1 / 255, 0.00392]]])), 7], {}),
        ('addText', ['note', 'hello **world** - ünïcødé ✓', 2], {}),
        ('addText', ['empty', '', 3], {}),
        ('addHparams', [{'lr': 0.1}, {'hparam/acc': 0.75}], {'runName': 'single'}),
        ('addHparams', [{'lr': 0.01, 'bs': 32, 'opt': 'adam', 'flag': True, 'skip': None, 't': tensor_arg(torch.tensor([0.5]))},
                        {'hparam/acc': 0.9, 'hparam/loss': tensor_arg(torch.tensor(0.125))}],
         {'hparamDomainDiscrete': {'opt': ['sgd', 'adam'], 'bs': [16, 32]}, 'runName': 'multi'}),
        ('addHparams', [{'x': 1}, {'m': 2.0}], {}),  # run name: str(time.time())
        ('close', [], {}),
        ('addScalar', ['reopened', 2.0, 1], {}),  # after close, a new event file
        ('close', [], {}),
    ]
    w1 = [
        ('addScalar', ['s', 1.0, 6], {}),
        ('close', [], {}),
    ]
    return [
        {'logDir': 'run', 'opts': {}, 'calls': w0},
        {'logDir': 'purged', 'opts': {'purgeStep': 5, 'filenameSuffix': '.v2', 'maxQueue': 2}, 'calls': w1},
    ]


SNAKE = {
    'globalStep': 'global_step', 'scalarValue': 'scalar_value', 'newStyle': 'new_style', 'doublePrecision': 'double_precision',
    'maxBins': 'max_bins', 'hparamDomainDiscrete': 'hparam_domain_discrete', 'runName': 'run_name', 'purgeStep': 'purge_step',
    'maxQueue': 'max_queue', 'flushSecs': 'flush_secs', 'filenameSuffix': 'filename_suffix',
    'walltime': 'walltime', 'bins': 'bins', 'dataformats': 'dataformats',
}
METHODS = {'addScalar': 'add_scalar', 'addScalars': 'add_scalars', 'addHistogram': 'add_histogram', 'addImage': 'add_image',
           'addText': 'add_text', 'addHparams': 'add_hparams', 'close': 'close'}


def to_python(v):
    if isinstance(v, dict) and 'tensor' in v:
        t = v['tensor']
        return torch.tensor(t['data'], dtype=getattr(torch, t['dtype'])).reshape(t['shape'])
    if isinstance(v, dict) and 'float' in v:
        return float(v['float'])
    if isinstance(v, dict):
        return {k: to_python(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_python(x) for x in v]
    return v


def run_scenario(writers, tmp, tb):
    for spec in writers:
        w = tb.SummaryWriter(os.path.join(tmp, spec['logDir']), **{SNAKE[k]: v for k, v in spec['opts'].items()})
        for method, args, opts in spec['calls']:
            getattr(w, METHODS[method])(*to_python(args), **{SNAKE[k]: to_python(v) for k, v in opts.items()})


def collect(tmp):
    """Every event file under tmp, in the order the writers opened them."""
    files = []
    pattern = re.compile(r'^events\.out\.tfevents\.(\d{10})\.' + re.escape(socket.gethostname()) + r'\.' + str(os.getpid()) + r'\.(\d+)(.*)$')
    for root, _, names in os.walk(tmp):
        for n in names:
            m = pattern.match(n)
            if not m:
                raise SystemExit(f'unexpected file {os.path.join(root, n)}')
            path = os.path.join(root, n)
            records = P.read_records(path)
            images = {}
            for e in decode_tfevents.decode_file(path):
                for v in e.get('values', []):
                    if 'image' in v:
                        images[v['tag']] = v['image']
            files.append({
                'dir': os.path.relpath(root, tmp).replace(os.sep, '/'),
                'seconds': m.group(1), 'writer': int(m.group(2)), 'suffix': m.group(3),
                'records': [r.hex() for r in records],
                'images': images,
            })
    files.sort(key=lambda f: f['writer'])
    return files


def jsonable(v):
    if isinstance(v, tuple):
        return [jsonable(x) for x in v]
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    return v


def make_scenario():
    writers = scenario()
    real_time = time.time
    time.time = lambda: WALLTIME
    tb = P.install_torch_stubs()
    tmp = tempfile.mkdtemp(prefix='kindling-tb-')
    try:
        run_scenario(writers, tmp, tb)
        files = collect(tmp)
    finally:
        time.time = real_time
        shutil.rmtree(tmp)
    out = {
        'walltime': WALLTIME,
        'writers': [{'logDir': w['logDir'], 'opts': w['opts'],
                     'calls': [{'method': m, 'args': jsonable(a), 'opts': o} for m, a, o in w['calls']]} for w in writers],
        'files': files,
        # The first record as tensorboard's RecordWriter frames it (length, masked CRC32C, data, masked CRC32C).
        'framed': P.frame(bytes.fromhex(files[0]['records'][0])).hex(),
    }
    path = os.path.join(OUT_DIR, 'scenario.json')
    with open(path, 'w') as f:
        json.dump(out, f, separators=(',', ':'), ensure_ascii=False)
        f.write('\n')
    print(f'wrote {path}: {len(files)} event files, {sum(len(f["records"]) for f in files)} records')


def decode_kindling_sample():
    src = os.path.join(OUT_DIR, 'kindling.tfevents')
    if not os.path.exists(src):
        raise SystemExit(f'{src} is missing: run node --import ./test/reliability/helpers/register-ts.mjs '
                         'scripts/write_tensorboard_sample.ts first')
    events = decode_tfevents.decode_file(src)
    path = os.path.join(OUT_DIR, 'kindling_decoded.json')
    with open(path, 'w') as f:
        json.dump({'events': events}, f, separators=(',', ':'), ensure_ascii=False)
        f.write('\n')
    print(f'wrote {path}: {len(events)} events decoded by Python from kindling.tfevents')


if __name__ == '__main__':
    os.makedirs(OUT_DIR, exist_ok=True)
    make_scenario()
    decode_kindling_sample()
