#!/usr/bin/env python3
"""Loads every tensor of a file Kindling's torch.save wrote, with PyTorch, and rebuilds the checkpoint.

Usage (a Python with PyTorch, e.g. /usr/bin/python3):

    scripts/check_checkpoint.py FILE.safetensors

Needs no `safetensors` package: the file is read with struct, json and
torch.frombuffer (u64 little-endian header length N, N bytes of JSON header,
then the data; see https://github.com/huggingface/safetensors). Every tensor
entry is loaded and listed; when the header's __metadata__ has
"kindling.structure" (a checkpoint rather than a flat state dict), the saved
object is rebuilt from it, as lib/io/checkpoint.ts documents the format:
{"version": 1, "root": VALUE}, where {"$tensor": name} is an entry of the file,
{"$number": "NaN"|"Infinity"|"-Infinity"|"-0"} a float, {"$bigint": "123"} an
int, {"$map": [[key, value], ...]} a Map (a dict here) and {"$object": {...}}
an object whose one key looks like one of these tags. Prints the object and
"OK: N tensors"; exits with status 1 when the file is malformed.
"""

import json
import math
import struct
import sys

import torch

DTYPES = {'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16,
          'I64': torch.int64, 'I32': torch.int32, 'U8': torch.uint8, 'BOOL': torch.bool}
NUMBERS = {'NaN': math.nan, 'Infinity': math.inf, '-Infinity': -math.inf, '-0': -0.0}
TAGS = {'$tensor', '$number', '$bigint', '$map', '$object'}


def read_tensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    data = raw[8 + n:]
    metadata = header.pop('__metadata__', None) or {}
    tensors, at = {}, 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets']):
        begin, end = info['data_offsets']
        if begin != at:
            raise ValueError('%s starts at %d, not where the previous tensor ends (%d)' % (name, begin, at))
        dtype = DTYPES[info['dtype']]
        chunk = bytearray(data[begin:end])
        if sys.byteorder == 'big':
            raise ValueError('this checker reads little-endian data on little-endian machines only')
        flat = torch.frombuffer(chunk, dtype=torch.uint8 if dtype == torch.bool else dtype) if chunk else torch.empty(0, dtype=dtype)
        tensors[name] = flat.to(dtype).reshape(info['shape'])
        at = end
    if at != len(data):
        raise ValueError('the tensors cover %d bytes of a %d-byte data section' % (at, len(data)))
    return tensors, metadata


def rebuild(value, tensors, unused):
    if isinstance(value, list):
        return [rebuild(v, tensors, unused) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 and next(iter(value)) in TAGS:
        tag, x = next(iter(value.items()))
        if tag == '$tensor':
            unused.remove(x)  # KeyError: a missing or twice-used tensor
            return tensors[x]
        if tag == '$number':
            return NUMBERS[x]
        if tag == '$bigint':
            return int(x)
        if tag == '$map':
            return {rebuild(k, tensors, unused): rebuild(v, tensors, unused) for k, v in x}
        value = x  # $object
    return {k: rebuild(v, tensors, unused) for k, v in value.items()}


def load_checkpoint(path):
    """The saved object (or the flat state dict), with torch tensors in it."""
    tensors, metadata = read_tensors(path)
    if 'kindling.structure' not in metadata:
        return tensors
    structure = json.loads(metadata['kindling.structure'])
    if structure.get('version') != 1:
        raise ValueError('unknown structure version %r' % structure.get('version'))
    unused = set(tensors)
    obj = rebuild(structure['root'], tensors, unused)
    if unused:
        raise ValueError('tensors the structure does not refer to: %s' % sorted(unused))
    return obj


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    try:
        tensors, _ = read_tensors(sys.argv[1])
        obj = load_checkpoint(sys.argv[1])
    except (ValueError, KeyError) as e:
        print('FAIL: %s: %r' % (sys.argv[1], e))
        sys.exit(1)
    for name, t in tensors.items():
        print('%-40s %-14s %s' % (name, str(t.dtype).replace('torch.', ''), list(t.shape)))
    torch.set_printoptions(precision=4, threshold=6, edgeitems=2)
    print(obj)
    print('OK: %d tensors loaded with torch %s' % (len(tensors), torch.__version__))


if __name__ == '__main__':
    main()
