#!/usr/bin/env python3
"""safetensors fixtures for test/io/*.test.ts, and a checker for files Kindling wrote.

The `safetensors` package is not needed: this file carries a minimal reader and
writer of the format (struct + json + torch.frombuffer), following the spec at
https://github.com/huggingface/safetensors:

    u64 little-endian N | N bytes of JSON header, space-padded to a multiple of 8 | data
    header: {name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
             "__metadata__": {str: str}}   (offsets relative to the data section)

Usage (run with a Python that has PyTorch, e.g. /usr/bin/python3):

    make_io_fixtures.py                      write the fixtures into test/fixtures/
    make_io_fixtures.py --check FILE JSON    read FILE (written by Kindling) with this
                                             reader and compare it with the tensors that
                                             JSON describes; exit status 0 when equal

Fixtures written:
  io_torch_state.safetensors / .json   a PyTorch state dict (an nn.Sequential plus
      tensors of every dtype, a 0-d and an empty tensor), written in insertion order
      (so some tensors start at offsets that are not multiples of their item size),
      and the values Kindling must read back.
  io_kindling_expected.json / .safetensors   tensors the Kindling test builds and
      saves; the .safetensors is what this writer makes of them in the reference
      layout (widest dtype first, then by name), which Kindling's writer must
      reproduce byte for byte.

JSON tensor encoding: {"dtype", "shape", "data": flat row-major list}; floats as
the shortest decimal that round-trips (NaN/inf as "nan"/"inf"/"-inf"), int64 as
decimal strings (they may exceed 2^53), bool as true/false.
"""

import json
import math
import os
import struct
import sys

try:
    import torch
except ImportError:
    # `python3` on PATH may be a venv without PyTorch; the system one has it here.
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    sys.exit('make_io_fixtures.py needs PyTorch: pip install torch')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, 'test', 'fixtures')

CODES = {
    torch.float32: 'F32', torch.float64: 'F64', torch.int32: 'I32',
    torch.int64: 'I64', torch.uint8: 'U8', torch.bool: 'BOOL',
    torch.float16: 'F16', torch.bfloat16: 'BF16',
}
FROM_CODE = {v: k for k, v in CODES.items()}
# Position in the safetensors Dtype enum (BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16,
# F16, BF16, I32, U32, F32, F64, I64, U64): the reference writer's order.
RANK = {torch.bool: 0, torch.uint8: 1, torch.float16: 7, torch.bfloat16: 8, torch.int32: 9, torch.float32: 11,
        torch.float64: 12, torch.int64: 13}
NAMES = {
    torch.float32: 'float32', torch.float64: 'float64', torch.int32: 'int32',
    torch.int64: 'int64', torch.uint8: 'uint8', torch.bool: 'bool',
    torch.float16: 'float16', torch.bfloat16: 'bfloat16',
}
FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
FROM_NAME = {v: k for k, v in NAMES.items()}


# ---- the format ---------------------------------------------------------------------
def tensor_bytes(t):
    t = t.detach().contiguous().cpu().reshape(-1)
    if t.numel() == 0:
        return b''
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    data = t.view(torch.uint8).numpy().tobytes()
    if sys.byteorder == 'big' and t.element_size() > 1:
        n = t.element_size()
        data = b''.join(data[i:i + n][::-1] for i in range(0, len(data), n))
    return data


def write_safetensors(path, tensors, metadata=None, reference_order=True):
    """tensors: list of (name, tensor). reference_order sorts as the safetensors
    library does (its Dtype enum rank descending, then name); otherwise the list
    order is kept."""
    items = list(tensors)
    if reference_order:
        items.sort(key=lambda kv: (-RANK[kv[1].dtype], kv[0]))
    parts = []
    if metadata is not None:
        parts.append('"__metadata__":' + json.dumps(metadata, separators=(',', ':'), ensure_ascii=False))
    blobs = []
    at = 0
    for name, t in items:
        b = tensor_bytes(t)
        parts.append('%s:{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}' % (
            json.dumps(name, ensure_ascii=False), CODES[t.dtype], ','.join(str(s) for s in t.shape), at, at + len(b)))
        blobs.append(b)
        at += len(b)
    header = ('{' + ','.join(parts) + '}').encode('utf-8')
    header += b' ' * ((8 - len(header) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(header)))
        f.write(header)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Returns (dict name -> tensor, metadata or None); raises ValueError when malformed."""
    with open(path, 'rb') as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError('file shorter than 8 bytes')
    (n,) = struct.unpack('<Q', raw[:8])
    if n > len(raw) - 8:
        raise ValueError('header length %d beyond the file' % n)
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    data = raw[8 + n:]
    metadata = header.pop('__metadata__', None)
    out = {}
    spans = []
    for name, info in header.items():
        dtype = FROM_CODE[info['dtype']]
        shape = info['shape']
        begin, end = info['data_offsets']
        numel = 1
        for s in shape:
            numel *= s
        size = torch.empty((), dtype=dtype).element_size()
        if end - begin != numel * size or end > len(data) or begin > end:
            raise ValueError('bad data_offsets for %s' % name)
        spans.append((begin, end, name))
        chunk = data[begin:end]
        if sys.byteorder == 'big' and size > 1:
            chunk = b''.join(chunk[i:i + size][::-1] for i in range(0, len(chunk), size))
        if numel == 0:
            t = torch.empty(shape, dtype=dtype)
        elif dtype == torch.bool:
            t = torch.frombuffer(bytearray(chunk), dtype=torch.uint8).to(torch.bool).reshape(shape)
        else:
            t = torch.frombuffer(bytearray(chunk), dtype=dtype).reshape(shape)
        out[name] = t
    at = 0
    for begin, end, name in sorted(spans):
        if begin != at:
            raise ValueError('data section not covered contiguously at %s' % name)
        at = end
    if at != len(data):
        raise ValueError('data section has %d bytes, tensors cover %d' % (len(data), at))
    return out, metadata


# ---- JSON encoding of tensors ---------------------------------------------------------
def enc_value(v, dtype):
    if dtype == torch.bool:
        return bool(v)
    if dtype == torch.int64:
        return str(int(v))
    if dtype in FLOATS:
        v = float(v)
        if math.isnan(v):
            return 'nan'
        if math.isinf(v):
            return 'inf' if v > 0 else '-inf'
        return v
    return int(v)


def enc_tensor(t):
    flat = t.detach().reshape(-1).tolist()
    return {'dtype': NAMES[t.dtype], 'shape': list(t.shape), 'data': [enc_value(v, t.dtype) for v in flat]}


def dec_value(v, dtype):
    if dtype in FLOATS and isinstance(v, str):
        return float(v)
    if dtype == torch.int64:
        return int(v)
    return v


def dec_tensor(spec):
    dtype = FROM_NAME[spec['dtype']]
    data = [dec_value(v, dtype) for v in spec['data']]
    return torch.tensor(data, dtype=dtype).reshape(spec['shape'])


def same(a, b):
    """Bitwise equality (NaN equals NaN, -0.0 differs from 0.0)."""
    if a.dtype != b.dtype or list(a.shape) != list(b.shape):
        return False
    if a.numel() == 0:
        return True
    if a.dtype in FLOATS:
        ib = {torch.float32: torch.int32, torch.float64: torch.int64}.get(a.dtype, torch.int16)
        return torch.equal(a.contiguous().view(ib), b.contiguous().view(ib))
    return torch.equal(a, b)


# ---- fixtures -------------------------------------------------------------------------
def torch_state():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    tensors = list(model.state_dict().items())
    tensors += [
        ('extra.u8', torch.tensor([[0, 1], [128, 255]], dtype=torch.uint8)),
        ('extra.f64', torch.randn(2, 3, dtype=torch.float64)),
        ('extra.bool', torch.tensor([True, False, False, True, True])),
        ('extra.i32', torch.tensor([-2147483648, -1, 0, 7, 2147483647], dtype=torch.int32)),
        ('extra.i64', torch.tensor([-2 ** 63, -1, 2 ** 53 + 1, 2 ** 62 + 3, 2 ** 63 - 1], dtype=torch.int64)),
        ('extra.scalar', torch.tensor(3.25)),
        ('extra.empty', torch.empty(0, 3)),
        ('extra.special', torch.tensor([float('nan'), float('inf'), float('-inf'), -0.0, 1e-45])),
        ('extra.transposed', torch.arange(6, dtype=torch.float32).reshape(2, 3).t()),
    ]
    return tensors


def kindling_expected():
    g = torch.Generator().manual_seed(1)
    return [
        ('layers.0.weight', torch.randn(3, 4, generator=g)),
        ('layers.0.bias', torch.randn(3, generator=g)),
        ('layers.1.weight', torch.randn(2, 3, generator=g, dtype=torch.float64)),
        ('10', torch.tensor([1, -2, 2 ** 60 + 5], dtype=torch.int64)),
        ('2', torch.tensor([[1, 2], [3, -4]], dtype=torch.int32)),
        ('mask', torch.tensor([[True, False, True]])),
        ('pixels', torch.tensor([0, 7, 255], dtype=torch.uint8)),
        ('step', torch.tensor(12.5, dtype=torch.float64)),
        ('none', torch.empty(2, 0, dtype=torch.int64)),
        ('special', torch.tensor([float('nan'), float('-inf'), -0.0])),
    ]


KINDLING_METADATA = {'format': 'pt', 'written_by': 'kindling'}


def write_fixtures():
    os.makedirs(OUT_DIR, exist_ok=True)

    state = torch_state()
    path = os.path.join(OUT_DIR, 'io_torch_state.safetensors')
    meta = {'format': 'pt', 'source': 'scripts/make_io_fixtures.py'}
    write_safetensors(path, state, meta, reference_order=False)
    back, back_meta = read_safetensors(path)
    assert back_meta == meta
    for name, t in state:
        assert same(back[name], t.contiguous()), name
    with open(os.path.join(OUT_DIR, 'io_torch_state.json'), 'w') as f:
        json.dump({'torch_version': torch.__version__, 'metadata': meta,
                   'tensors': {name: enc_tensor(t) for name, t in state}}, f, indent=1)
        f.write('\n')

    expected = kindling_expected()
    spec = {'metadata': KINDLING_METADATA, 'tensors': {name: enc_tensor(t) for name, t in expected}}
    with open(os.path.join(OUT_DIR, 'io_kindling_expected.json'), 'w') as f:
        json.dump(spec, f, indent=1)
        f.write('\n')
    # Built from the JSON, exactly as the Kindling test builds its tensors.
    rebuilt = [(name, dec_tensor(s)) for name, s in spec['tensors'].items()]
    write_safetensors(os.path.join(OUT_DIR, 'io_kindling_expected.safetensors'), rebuilt, KINDLING_METADATA)
    print('wrote io_torch_state.{safetensors,json} and io_kindling_expected.{safetensors,json} to', OUT_DIR)


def check(path, expected_json):
    with open(expected_json) as f:
        spec = json.load(f)
    try:
        got, meta = read_safetensors(path)
    except (ValueError, KeyError, TypeError, struct.error, UnicodeDecodeError) as e:
        print('FAIL: %s is not a valid safetensors file: %s' % (path, e))
        return 1
    want = spec['tensors']
    problems = []
    if sorted(got) != sorted(want):
        problems.append('names differ: file has %s, expected %s' % (sorted(got), sorted(want)))
    for name, s in want.items():
        if name in got and not same(got[name], dec_tensor(s)):
            problems.append('tensor %s differs: got %s %s %s' % (name, got[name].dtype, list(got[name].shape), got[name].reshape(-1).tolist()))
    if 'metadata' in spec and meta != spec['metadata']:
        problems.append('metadata differs: got %r, expected %r' % (meta, spec['metadata']))
    if problems:
        print('FAIL: ' + '; '.join(problems))
        return 1
    print('OK: %d tensors match (read with PyTorch %s)' % (len(want), torch.__version__))
    return 0


if __name__ == '__main__':
    if len(sys.argv) == 4 and sys.argv[1] == '--check':
        sys.exit(check(sys.argv[2], sys.argv[3]))
    if len(sys.argv) != 1:
        sys.exit(__doc__)
    write_fixtures()
