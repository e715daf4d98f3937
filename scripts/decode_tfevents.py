#!/usr/bin/env python3
"""Decodes TensorBoard event files with Python's protobuf (no tensorboard package)
and prints what they hold: scalars, histograms, images (decoded by PIL), text and
hparams.

    decode_tfevents.py PATH...     PATH: an event file, or a directory searched for
                                   events.out.tfevents.* files

The records' CRCs are checked and every Event is parsed with the message classes
of scripts/tensorboard_protos.py (built from tensorboard's .proto field numbers).
`decode_file` gives the same content as JSON-able dicts, for the fixture script.
"""

import io
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tensorboard_protos as P  # noqa: E402

from google.protobuf.json_format import MessageToDict  # noqa: E402


def _num(v):
    """A float for JSON: NaN and infinities as strings."""
    if math.isnan(v):
        return 'nan'
    if math.isinf(v):
        return 'inf' if v > 0 else '-inf'
    return v


def _value(v):
    out = {'tag': v.tag}
    kind = v.WhichOneof('value')
    if kind == 'simple_value':
        out['simple_value'] = _num(v.simple_value)
    elif kind == 'histo':
        h = v.histo
        out['histo'] = {
            'min': _num(h.min), 'max': _num(h.max), 'num': h.num, 'sum': _num(h.sum), 'sum_squares': _num(h.sum_squares),
            'bucket_limit': [_num(x) for x in h.bucket_limit], 'bucket': list(h.bucket),
        }
    elif kind == 'image':
        from PIL import Image
        im = Image.open(io.BytesIO(v.image.encoded_image_string))
        im.load()
        out['image'] = {
            'height': v.image.height, 'width': v.image.width, 'colorspace': v.image.colorspace,
            'format': im.format, 'mode': im.mode, 'size': list(im.size),
            'pixels': [c for px in im.getdata() for c in (px if isinstance(px, tuple) else (px,))],
        }
    elif kind == 'tensor':
        t = v.tensor
        out['tensor'] = {
            'dtype': P.cls('tensorboard.TensorProto').DESCRIPTOR.fields_by_name['dtype'].enum_type.values_by_number[t.dtype].name,
            'shape': [d.size for d in t.tensor_shape.dim],
            'float_val': [_num(x) for x in t.float_val], 'double_val': [_num(x) for x in t.double_val],
            'string_val': [s.decode('utf-8') for s in t.string_val],
        }
    if v.HasField('metadata'):
        pd = v.metadata.plugin_data
        meta = {'plugin_name': pd.plugin_name}
        if pd.plugin_name == 'hparams':
            meta['hparams'] = MessageToDict(P.HParamsPluginData.FromString(pd.content), preserving_proto_field_name=True)
        elif pd.plugin_name == 'text':
            meta['text'] = MessageToDict(P.TextPluginData.FromString(pd.content), preserving_proto_field_name=True)
        else:
            meta['content'] = pd.content.hex()
        out['metadata'] = meta
    return out


def decode_file(path):
    """Every Event of the file as a dict: wall_time, step, and file_version,
    summary values or session_log."""
    events = []
    for data in P.read_records(path):
        e = P.Event.FromString(data)
        d = {'wall_time': e.wall_time, 'step': e.step}
        kind = e.WhichOneof('what')
        if kind == 'file_version':
            d['file_version'] = e.file_version
        elif kind == 'summary':
            d['values'] = [_value(v) for v in e.summary.value]
        elif kind == 'session_log':
            d['session_log'] = P.cls('tensorboard.SessionLog').SessionStatus.Name(e.session_log.status)
        events.append(d)
    return events


def _print_value(v):
    tag = v['tag']
    if 'simple_value' in v:
        print(f'    scalar    {tag!r} = {v["simple_value"]!r}')
    elif 'histo' in v:
        h = v['histo']
        print(f'    histogram {tag!r}: min={h["min"]!r} max={h["max"]!r} num={h["num"]!r} sum={h["sum"]!r} '
              f'sum_squares={h["sum_squares"]!r}')
        print(f'              {len(h["bucket"])} buckets: ' + ', '.join(
            f'(..{lim:.6g}]: {int(c)}' for lim, c in zip(h['bucket_limit'], h['bucket']) if c) + ' (non-empty ones)')
    elif 'image' in v:
        im = v['image']
        print(f'    image     {tag!r}: {im["width"]}x{im["height"]}, colorspace {im["colorspace"]}, '
              f'{im["format"]} decoded by PIL as mode {im["mode"]} size {im["size"]}')
        ch = len(im['pixels']) // (im['width'] * im['height'])
        for y in range(im['height']):
            row = im['pixels'][y * im['width'] * ch:(y + 1) * im['width'] * ch]
            print('              ' + ' '.join('(' + ','.join(str(c) for c in row[x:x + ch]) + ')' for x in range(0, len(row), ch)))
    elif 'tensor' in v and v.get('metadata', {}).get('plugin_name') == 'text':
        print(f'    text      {tag!r}: {v["tensor"]["string_val"]!r}')
    elif 'tensor' in v:
        print(f'    tensor    {tag!r}: {v["tensor"]}')
    if 'hparams' in v.get('metadata', {}):
        print(f'    hparams   {tag!r}: {v["metadata"]["hparams"]}')


def main(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in sorted(os.walk(p)):
                files += [os.path.join(root, n) for n in sorted(names) if n.startswith('events.out.tfevents.')]
        else:
            files.append(p)
    for f in files:
        print(f)
        for e in decode_file(f):
            head = f'  wall_time={e["wall_time"]!r} step={e["step"]}'
            if 'file_version' in e:
                print(f'{head} file_version={e["file_version"]!r}')
            elif 'session_log' in e:
                print(f'{head} session_log={e["session_log"]}')
            else:
                print(head)
                for v in e.get('values', []):
                    _print_value(v)


if __name__ == '__main__':
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
