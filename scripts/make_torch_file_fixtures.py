#!/usr/bin/env python3
"""Fixtures for test/io/torch_file.test.ts: files PyTorch's torch.save wrote, and
malicious or broken ones built by hand, in test/fixtures/torch_file/.

Run with a Python that has PyTorch (the system one here: /usr/bin/python3):

    scripts/make_torch_file_fixtures.py

For each NAME.pt there is a NAME.json beside it:

  {"value": V}      what torch.load must return, encoded as below
  {"error": RE, "marker": PATH?}
                    torch.load must throw an Error whose message matches the
                    regular expression RE; when PATH is given, the file is a
                    pickle that runs a command creating PATH in Python (this
                    script checks that it does, with Python's own pickle), and
                    Kindling must not create it
  plus, for some files, "extra": data the test needs (model inputs and outputs,
  the next optimizer step).

Value encoding (JSON cannot hold everything a pickle can):
  null, true/false, strings, arrays (list and tuple) as themselves;
  ints within +-(2^53 - 1) and finite floats as numbers;
  {"$dict": [[KEY, V], ...]}   a dict or OrderedDict in Python's order, int keys
                               as strings (what Kindling's plain objects hold)
  {"$int": "DIGITS"}           an int beyond 2^53 - 1 (a bigint in JS)
  {"$float": "nan"|"inf"|"-inf"|"-0"}
  {"$bytes": [..]}, {"$set": [..]}, {"$size": [..]}
  {"$tensor": {dtype, storage_dtype, shape, stride, offset, storage, requires_grad,
               parameter, id, values, bits?}}
      dtype: Kindling's dtype when it has float16/bfloat16 ('float16'), with
      storage_dtype PyTorch's; values the elements in row-major order (int64
      as strings, floats encoded as above, float16/bfloat16 as the exact
      value they hold, plus their raw bits); storage: a name shared by the
      tensors whose storages PyTorch shares (null for an empty storage);
      id: shared by references to one Python tensor object.
"""

import collections
import io
import json
import math
import os
import pickle
import shutil
import struct
import sys
import zipfile
import zlib

try:
    import torch
except ImportError:
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    sys.exit('make_torch_file_fixtures.py needs PyTorch')

# str hashes are salted per run, which orders a frozenset of strings differently each time.
if os.environ.get('PYTHONHASHSEED') != '0':
    os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, PYTHONHASHSEED='0'))

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'torch_file')
MAX_SAFE = 2 ** 53 - 1

DTYPE_NAMES = {
    torch.float32: 'float32', torch.float64: 'float64', torch.float16: 'float16', torch.bfloat16: 'bfloat16',
    torch.int64: 'int64', torch.int32: 'int32', torch.int16: 'int16', torch.int8: 'int8',
    torch.uint8: 'uint8', torch.bool: 'bool',
}
# What Kindling loads each as (float16/bfloat16 as themselves: the test maps
# them to float32 when the Kindling under test lacks them).
KINDLING = {'int16': 'int32', 'int8': 'int32'}


# ---- encoding --------------------------------------------------------------------------
def enc_float(f):
    if math.isnan(f):
        return {'$float': 'nan'}
    if math.isinf(f):
        return {'$float': 'inf' if f > 0 else '-inf'}
    if f == 0 and math.copysign(1, f) < 0:
        return {'$float': '-0'}
    return f


def enc_element(v, dtype):
    if dtype == torch.bool:
        return bool(v)
    if dtype == torch.int64:
        return str(int(v))
    if dtype.is_floating_point:
        return enc_float(float(v))
    return int(v)


class Encoder:
    def __init__(self):
        self.storages = {}
        self.ids = {}

    def tensor(self, t):
        name = DTYPE_NAMES[t.dtype]
        st = t.storage()
        if st.size() == 0:
            storage = None
        else:
            storage = self.storages.setdefault(st.data_ptr(), 's%d' % len(self.storages))
        flat = t.detach().reshape(-1)
        spec = {
            'dtype': KINDLING.get(name, name),
            'storage_dtype': name,
            'shape': list(t.shape),
            'stride': list(t.stride()),
            'offset': t.storage_offset(),
            'storage': storage,
            'requires_grad': t.requires_grad,
            'parameter': isinstance(t, torch.nn.Parameter),
            'id': self.ids.setdefault(id(t), len(self.ids)),
        }
        if t.dtype in (torch.float16, torch.bfloat16):
            spec['values'] = [enc_float(float(v)) for v in flat.float().tolist()]
            spec['bits'] = [b & 0xffff for b in flat.view(torch.int16).tolist()]
        else:
            spec['values'] = [enc_element(v, t.dtype) for v in flat.tolist()]
        return {'$tensor': spec}

    def value(self, v):
        if isinstance(v, torch.Tensor):
            return self.tensor(v)
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            return v if -MAX_SAFE <= v <= MAX_SAFE else {'$int': str(v)}
        if isinstance(v, float):
            return enc_float(v)
        if isinstance(v, torch.Size):
            return {'$size': list(v)}
        if isinstance(v, (list, tuple)):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            return {'$dict': [[str(k), self.value(x)] for k, x in v.items()]}
        if isinstance(v, bytes):
            return {'$bytes': list(v)}
        if isinstance(v, (set, frozenset)):
            return {'$set': [self.value(x) for x in sorted(v, key=repr)]}
        raise TypeError('cannot encode %r' % type(v))


def write_json(name, obj):
    with open(os.path.join(OUT, name + '.json'), 'w') as f:
        json.dump(obj, f, separators=(',', ':'), allow_nan=False)
        f.write('\n')


def save(name, obj, extra=None, **kw):
    """torch.save(obj) as NAME.pt, and what loading it must give as NAME.json."""
    path = os.path.join(OUT, name + '.pt')
    torch.save(obj, path, **kw)
    out = {'value': Encoder().value(obj)}
    if extra is not None:
        out['extra'] = Encoder().value(extra)
    write_json(name, out)
    return path


def expect_error(name, regex, marker=None):
    out = {'error': regex}
    if marker is not None:
        out['marker'] = marker
    write_json(name, out)


# ---- building archives by hand -----------------------------------------------------------
def write_zip(path, records, compression=zipfile.ZIP_STORED):
    """records: list of (name, bytes), in order; a fixed timestamp keeps the bytes the same from run to run."""
    with zipfile.ZipFile(path, 'w', compression=compression) as z:
        for name, data in records:
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, compress_type=compression)


def archive(name, pkl, storages=(), extra_records=()):
    """A torch.save-like archive NAME.pt holding the pickle bytes `pkl` and
    the storages (key, bytes)."""
    records = [(name + '/data.pkl', pkl)]
    records += [(name + '/data/' + k, b) for k, b in storages]
    records += [(name + '/' + k, b) for k, b in extra_records]
    records.append((name + '/version', b'3\n'))
    path = os.path.join(OUT, name + '.pt')
    write_zip(path, records)
    return path


class FakeStorage:
    def __init__(self, type_, key, numel):
        self.type, self.key, self.numel = type_, key, numel


class FakeTensor:
    """Pickles as torch.save pickles a tensor, with whatever metadata we like."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class TorchLikePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ('storage', obj.type, obj.key, 'cpu', obj.numel)
        return None


def torch_like_pickle(obj, protocol=2):
    buf = io.BytesIO()
    TorchLikePickler(buf, protocol=protocol).dump(obj)
    return buf.getvalue()


def write_zip64(path, records):
    """A stored zip whose central directory gives every size and offset
    through the zip64 extra field (as PyTorch's writer does for entries past
    4 GB), with zip64 end records, so the small fixture takes the code path
    of a large file."""
    out = bytearray()
    central = bytearray()
    for name, data in records:
        nb = name.encode()
        crc = zlib.crc32(data) & 0xffffffff
        offset = len(out)
        local_extra = struct.pack('<HHQQ', 1, 16, len(data), len(data))
        out += struct.pack('<IHHHHHIIIHH', 0x04034b50, 45, 0, 0, 0, 0, crc, 0xffffffff, 0xffffffff, len(nb), len(local_extra))
        out += nb + local_extra + data
        extra = struct.pack('<HHQQQ', 1, 24, len(data), len(data), offset)
        central += struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 45, 45, 0, 0, 0, 0, crc, 0xffffffff, 0xffffffff,
                               len(nb), len(extra), 0, 0, 0, 0, 0xffffffff)
        central += nb + extra
    cd_offset = len(out)
    out += central
    end64 = len(out)
    n = len(records)
    out += struct.pack('<IQHHIIQQQQ', 0x06064b50, 44, 45, 45, 0, 0, n, n, len(central), cd_offset)
    out += struct.pack('<IIQI', 0x07064b50, 0, end64, 1)
    out += struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 0xffff, 0xffff, 0xffffffff, 0xffffffff, 0)
    with open(path, 'wb') as f:
        f.write(out)


def python_runs_it(pkl, marker):
    """Checks that Python's own unpickler runs the payload (it creates the
    marker), so the fixture is a real attack and not a harmless file."""
    if os.path.exists(marker):
        os.remove(marker)
    try:
        pickle.loads(pkl)
    except Exception:
        pass
    ran = os.path.exists(marker)
    if ran:
        os.remove(marker)
    if not ran:
        raise SystemExit('the payload for %s did not run in Python' % marker)


def evil_reduce(module, name, arg, protocol2_global=True):
    """GLOBAL module.name, (arg,), REDUCE: what pickling os.system(arg) looks like."""
    a = arg.encode()
    body = struct.pack('<BI', 0x58, len(a)) + a + b'\x85R.'  # BINUNICODE, TUPLE1, REDUCE, STOP
    if protocol2_global:
        return b'\x80\x02c' + module.encode() + b'\n' + name.encode() + b'\n' + body
    m, n = module.encode(), name.encode()
    return (b'\x80\x04' + bytes([0x8c, len(m)]) + m + bytes([0x8c, len(n)]) + n + b'\x93' + body)


# ---- the fixtures --------------------------------------------------------------------------
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3)
        self.bn = torch.nn.BatchNorm2d(2)
        self.fc = torch.nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))


def model_fixtures():
    torch.manual_seed(0)
    net = Net()
    net.train()
    for _ in range(2):
        net(torch.randn(4, 1, 4, 4))
    net.eval()
    x = torch.randn(2, 1, 4, 4)
    with torch.no_grad():
        y = net(x)
    save('model_state', net.state_dict(), extra={'input': x, 'output': y})

    # A Parameter on its own, one that does not require grad, and a plain
    # tensor that requires grad.
    p = torch.nn.Parameter(torch.randn(2, 3))
    q = torch.nn.Parameter(torch.arange(4.0), requires_grad=False)
    r = torch.tensor([1.0, 2.0], requires_grad=True)
    save('parameters', {'p': p, 'frozen': q, 'leaf': r})

    # Adam after two steps; the next step's gradients and what PyTorch makes of them.
    torch.manual_seed(1)
    lin = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(lin.parameters(), lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)
    for _ in range(2):
        opt.zero_grad()
        lin(torch.randn(5, 3)).pow(2).sum().backward()
        opt.step()
    before = {k: v.detach().clone() for k, v in lin.state_dict().items()}
    save('adam', opt.state_dict())
    grads = {'weight': torch.randn(2, 3), 'bias': torch.randn(2)}
    lin.weight.grad = grads['weight'].clone()
    lin.bias.grad = grads['bias'].clone()
    opt.step()
    after = {k: v.detach().clone() for k, v in lin.state_dict().items()}
    write_json('adam_step', {'value': Encoder().value({'before': before, 'grads': grads, 'after': after})})

    # The tutorial's general checkpoint; the loss is the tensor of the last step.
    torch.manual_seed(2)
    net2 = Net()
    opt2 = torch.optim.SGD(net2.parameters(), lr=0.1, momentum=0.9)
    loss = net2(torch.randn(3, 1, 4, 4)).pow(2).mean()
    loss.backward()
    opt2.step()
    save('checkpoint', {'epoch': 5, 'model_state_dict': net2.state_dict(), 'optimizer_state_dict': opt2.state_dict(), 'loss': loss})


def data_fixtures():
    nested = {
        'ints': [0, 1, -1, 255, 256, 65535, 65536, -2 ** 31, 2 ** 31 - 1, 2 ** 31, MAX_SAFE, -MAX_SAFE],
        'big': [2 ** 53, -2 ** 53 - 1, 2 ** 63 - 1, -2 ** 63, 2 ** 70, -(2 ** 100) + 7],
        'floats': [0.0, -0.0, 1.5, -2.25e-300, 1e300, float('nan'), float('inf'), float('-inf'), 0.1],
        'strings': ['', 'ascii', 'üñíçødé ✓ 𝔘', 'x' * 300],
        'flags': (True, False, None),
        'tuple': (1, (2, (3, [4, {'five': 5}]))),
        'empty': {'list': [], 'tuple': (), 'dict': {}},
        'int_keys': {0: 'zero', 1: 'one', 10: 'ten', -3: 'minus three'},
        'ordered': collections.OrderedDict([('z', 1), ('a', 2), ('m', [3])]),
        'bytes': b'\x00\x01\xfeK',
        'set': {1, 2, 3},
        'frozenset': frozenset(['a', 'b']),
        'size': torch.Size([2, 3, 4]),
        'shape_of': torch.zeros(5, 6).shape,
    }
    save('nested', nested)
    save('nested_p4', nested, pickle_protocol=4)
    save('ordered_dict', collections.OrderedDict([('b', torch.ones(2)), ('a', {'c': torch.zeros(1, dtype=torch.int64)})]))
    save('bare_tensor', torch.arange(6, dtype=torch.int32).reshape(2, 3))
    save('scalar', 3.5)
    t = torch.arange(3.0)
    save('shared_object', {'first': t, 'again': t, 'list': [t, t]})


def view_fixtures():
    x = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    views = {
        'x': x,
        'rows': x[1:],
        't': x.t(),
        'every_other': x[:, ::2],
        'element': x[2, 3],
        'column': x[:, 5],
        'expanded': x[0, :1].expand(3, 4),
        'other': torch.arange(5, dtype=torch.float32),
        'flat_tail': x.reshape(-1)[20:],
    }
    save('views', views)
    # A tensor saved on its own is a view of a bigger storage: PyTorch writes the whole storage.
    save('slice_of_big', torch.arange(100, dtype=torch.int64)[90:93])


def dtype_fixtures():
    f16 = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6.1035e-05, 5.96e-08, 3.0e-07, float('inf'), float('-inf'), float('nan'), 0.1],
                       dtype=torch.float16)
    bf16 = torch.tensor([0.0, -0.0, 1.0, -2.5, 3.38e38, 1e-38, 9.2e-41, float('inf'), float('-inf'), float('nan'), 0.1],
                        dtype=torch.bfloat16)
    # Every exponent of each, with a few mantissas: the bit conversion over its whole range.
    f16_sweep = torch.tensor([(s << 15) | (e << 10) | m for s in (0, 1) for e in range(32) for m in (0, 1, 0x200, 0x3ff)],
                             dtype=torch.int32).to(torch.int16).view(torch.float16)
    bf16_sweep = torch.tensor([(s << 15) | (e << 7) | m for s in (0, 1) for e in range(0, 256, 5) for m in (0, 1, 0x40, 0x7f)],
                              dtype=torch.int32).to(torch.int16).view(torch.bfloat16)
    tensors = {
        'float32': torch.tensor([1.5, -0.0, float('nan'), float('inf'), 3.4028234663852886e38, 1e-45], dtype=torch.float32),
        'float64': torch.tensor([1.5, -0.0, float('nan'), float('-inf'), 1.7976931348623157e308, 5e-324, 0.1], dtype=torch.float64),
        'float16': f16,
        'bfloat16': bf16,
        'float16_sweep': f16_sweep,
        'bfloat16_sweep': bf16_sweep,
        'int64': torch.tensor([0, -1, 2 ** 62 + 3, -2 ** 63, 2 ** 63 - 1], dtype=torch.int64),
        'int32': torch.tensor([0, -1, -2 ** 31, 2 ** 31 - 1], dtype=torch.int32),
        'int16': torch.tensor([0, -1, -2 ** 15, 2 ** 15 - 1], dtype=torch.int16),
        'int8': torch.tensor([0, -1, -128, 127], dtype=torch.int8),
        'uint8': torch.tensor([0, 1, 128, 255], dtype=torch.uint8),
        'bool': torch.tensor([True, False, True]),
        'scalar': torch.tensor(2.5, dtype=torch.float64),
        'empty': torch.zeros(0, 3),
        'matrix_i16': torch.arange(6, dtype=torch.int16).reshape(2, 3).t(),
    }
    save('dtypes', tensors)


def format_fixtures():
    small = {'w': torch.arange(6, dtype=torch.float32).reshape(2, 3), 'n': torch.tensor([7, 8], dtype=torch.int64)}
    save('legacy', small, _use_new_zipfile_serialization=False)
    write_json('legacy', {'error': "legacy format.*re-save it in the zip format"})

    # The same file, re-zipped with deflate; with byteorder 'big' and swapped
    # storages; and with zip64 fields for every entry.
    src = save('plain', small)
    with zipfile.ZipFile(src) as z:
        records = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    value = json.load(open(os.path.join(OUT, 'plain.json')))

    def renamed(name):
        return [(name + r[r.index('/'):], d) for r, d in records]

    write_zip(os.path.join(OUT, 'deflated.pt'), renamed('deflated'), zipfile.ZIP_DEFLATED)
    write_json('deflated', value)

    big = []
    for r, d in renamed('big_endian'):
        if '/data/' in r:
            key = r.rsplit('/', 1)[1]
            width = 4 if key == '0' else 8  # the float32 storage first, then the int64 one
            d = b''.join(d[i:i + width][::-1] for i in range(0, len(d), width))
        big.append((r, d))
    big.insert(-1, ('big_endian/byteorder', b'big'))
    write_zip(os.path.join(OUT, 'big_endian.pt'), big)
    write_json('big_endian', value)

    write_zip64(os.path.join(OUT, 'zip64.pt'), renamed('zip64'))
    write_json('zip64', value)

    # Broken containers.
    raw = open(src, 'rb').read()
    with open(os.path.join(OUT, 'truncated.pt'), 'wb') as f:
        f.write(raw[:len(raw) // 2])
    expect_error('truncated', 'not a valid PyTorch zip file: no end of central directory record')
    corrupt = bytearray(raw)
    with zipfile.ZipFile(src) as z:
        info = z.getinfo('plain/data/0')
    # The storage's first byte, past the local header (whose extra field pads the data to 64 bytes).
    name_len, extra_len = struct.unpack('<HH', raw[info.header_offset + 26:info.header_offset + 30])
    corrupt[info.header_offset + 30 + name_len + extra_len] ^= 0xff
    with open(os.path.join(OUT, 'corrupt.pt'), 'wb') as f:
        f.write(corrupt)
    expect_error('corrupt', "entry 'plain/data/0' is corrupt \\(its CRC-32 does not match\\)")

    # A TorchScript archive and a whole pickled module.
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), os.path.join(OUT, 'torchscript.pt'))
    expect_error('torchscript', 'TorchScript archive')
    torch.save(torch.nn.Linear(2, 2), os.path.join(OUT, 'whole_module.pt'))
    expect_error('whole_module', "refusing the global 'torch\\.nn\\.modules\\.linear\\.Linear'.*save model\\.state_dict\\(\\)")


def malicious_fixtures():
    marker_dir = '/tmp'
    # os.system through REDUCE, as pickling os.system writes it (posix.system
    # on Linux), in protocol 2 (GLOBAL) and protocol 4 (STACK_GLOBAL) form.
    for name, module, func, p2 in [('evil_os_system', 'os', 'system', True), ('evil_posix_system', 'posix', 'system', False)]:
        marker = '%s/kindling-torch-file-%s' % (marker_dir, name)
        pkl = evil_reduce(module, func, 'touch ' + marker, protocol2_global=p2)
        python_runs_it(pkl, marker)
        archive(name, pkl)
        expect_error(name, "refusing the global '%s\\.%s'" % (module, func), marker)

    marker = '%s/kindling-torch-file-evil_eval' % marker_dir
    pkl = evil_reduce('__builtin__', 'eval', "open(%r, 'w').close()" % marker)
    python_runs_it(pkl, marker)
    archive('evil_eval', pkl)
    expect_error('evil_eval', "refusing the global '__builtin__\\.eval'", marker)

    marker = '%s/kindling-torch-file-evil_subprocess' % marker_dir
    pkl = (b'\x80\x02csubprocess\ncheck_call\n' + b'(X\x05\x00\x00\x00touchX' + struct.pack('<I', len(marker)) +
           marker.encode() + b'l\x85R.')
    python_runs_it(pkl, marker)
    archive('evil_subprocess', pkl)
    expect_error('evil_subprocess', "refusing the global 'subprocess\\.check_call'", marker)

    # The attack hidden after a real tensor: refused all the same.
    marker = '%s/kindling-torch-file-evil_after_tensor' % marker_dir
    ok = torch_like_pickle({'w': FakeTensor(FakeStorage(torch.FloatStorage, '0', 2), 0, [2], [1])})
    pkl = ok[:-1] + b'X\x04\x00\x00\x00evil' + evil_reduce('os', 'system', 'touch ' + marker)[2:-1] + b's.'
    archive('evil_after_tensor', pkl, [('0', struct.pack('<2f', 1, 2))])
    expect_error('evil_after_tensor', "refusing the global 'os\\.system'", marker)

    # A global of another module that only looks harmless, and an allowed global called when it is not a function.
    archive('other_global', b'\x80\x02ccollections\nCounter\n)R.')
    expect_error('other_global', "refusing the global 'collections\\.Counter'")
    archive('call_storage_type', b'\x80\x02ctorch\nFloatStorage\n)R.')
    expect_error('call_storage_type', 'torch\\.FloatStorage cannot be called')

    # Opcodes that build arbitrary objects.
    archive('newobj', b'\x80\x02ccollections\nOrderedDict\n)\x81.')
    expect_error('newobj', 'unsupported opcode NEWOBJ')
    archive('inst', b'(ios\nsystem\nX\x02\x00\x00\x00ls.')
    expect_error('inst', 'unsupported opcode INST')
    archive('unknown_opcode', b'\x80\x02\xff.')
    expect_error('unknown_opcode', 'unknown opcode 0xff')

    # Nesting 5000 lists deep (2 bytes a level), a list that holds itself.
    n = 5000
    archive('deep_nesting', b'\x80\x02' + b']' * n + b'a' * (n - 1) + b'.')
    expect_error('deep_nesting', 'nested more than 1000 levels deep')
    archive('cycle', b'\x80\x02]q\x00h\x00a.')
    expect_error('cycle', 'contains itself')
    archive('cycle_indirect', b'\x80\x02]q\x00]q\x01h\x00aa.')
    expect_error('cycle_indirect', 'changes a list after placing it inside another container')

    # Sizes that lie: a string of 4 GB, a 2^62-byte BINBYTES8, a 2^30-byte integer.
    archive('huge_string', b'\x80\x02X\xf0\xff\xff\xffabc.')
    expect_error('huge_string', 'the string declares 4294967280 bytes but only 4 remain')
    archive('huge_bytes8', b'\x80\x04\x8e' + struct.pack('<Q', 2 ** 62) + b'abc.')
    expect_error('huge_bytes8', 'declares 4611686018427387904 bytes')
    archive('huge_long', b'\x80\x02\x8b' + struct.pack('<i', 2 ** 30) + b'\x01.')
    expect_error('huge_long', 'an integer of 1073741824 bytes')
    # Memo abuse: reading an entry never stored.
    archive('memo_missing', b'\x80\x02h\x07.')
    expect_error('memo_missing', 'memo entry 7 was never stored')
    archive('no_stop', b'\x80\x02K\x01')
    expect_error('no_stop', 'ends without a STOP')

    # Storages that lie: more elements than the data holds, a key with no
    # entry, a view past the end of its storage.
    pkl = torch_like_pickle({'w': FakeTensor(FakeStorage(torch.FloatStorage, '0', 10 ** 12), 0, [10 ** 12], [1])})
    archive('numel_too_big', pkl, [('0', struct.pack('<4f', 1, 2, 3, 4))])
    expect_error('numel_too_big', "storage '0' declares 1000000000000 elements of torch\\.FloatStorage \\(4000000000000 bytes\\) "
                                  "but the entry 'numel_too_big/data/0' holds 16 bytes")
    pkl = torch_like_pickle({'w': FakeTensor(FakeStorage(torch.FloatStorage, '7', 4), 0, [4], [1])})
    archive('missing_storage', pkl, [('0', struct.pack('<4f', 1, 2, 3, 4))])
    expect_error('missing_storage', "storage '7' is missing from the archive \\(no entry 'missing_storage/data/7'\\)")
    pkl = torch_like_pickle({'w': FakeTensor(FakeStorage(torch.FloatStorage, '0', 4), 2, [2, 2], [2, 1])})
    archive('view_out_of_bounds', pkl, [('0', struct.pack('<4f', 1, 2, 3, 4))])
    expect_error('view_out_of_bounds', "reaches element 5 of storage '0', which holds 4")
    pkl = torch_like_pickle({'w': FakeTensor(FakeStorage(torch.ComplexFloatStorage, '0', 1), 0, [1], [1])})
    archive('complex', pkl, [('0', struct.pack('<2f', 1, 2))])
    expect_error('complex', "refusing the global 'torch\\.ComplexFloatStorage'.*no complex dtypes")

    # PyTorch 2's form of a Parameter with attributes (1.13 cannot write it):
    # a _rebuild_parameter pickle with the global renamed (GLOBAL names are
    # text lines, so the rename keeps the pickle valid). Loads; attributes dropped.
    class ParamWithState:
        def __reduce__(self):
            return (torch._utils._rebuild_parameter,
                    (FakeTensor(FakeStorage(torch.FloatStorage, '0', 2), 0, [2], [1]), True, collections.OrderedDict(), {'tag': 1}))
    pkl = torch_like_pickle({'p': ParamWithState()})
    old = b'ctorch._utils\n_rebuild_parameter\n'
    assert pkl.count(old) == 1
    pkl = pkl.replace(old, b'ctorch._utils\n_rebuild_parameter_with_state\n')
    archive('parameter_with_state', pkl, [('0', struct.pack('<2f', 1.5, -2))])
    write_json('parameter_with_state', {'value': {'$dict': [['p', {'$tensor': {
        'dtype': 'float32', 'storage_dtype': 'float32', 'shape': [2], 'stride': [1], 'offset': 0, 'storage': 's0',
        'requires_grad': True, 'parameter': True, 'id': 0, 'values': [1.5, -2.0]}}]]}})


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    model_fixtures()
    data_fixtures()
    view_fixtures()
    dtype_fixtures()
    format_fixtures()
    malicious_fixtures()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print('wrote %d files, %d bytes, into %s' % (len(os.listdir(OUT)), total, OUT))


if __name__ == '__main__':
    main()
