"""TensorBoard's event-file protobufs and record framing, for the fixture and
decoding scripts, without the `tensorboard` package.

The message classes are built at run time from descriptors that state the
field numbers of tensorboard's .proto files (tensorboard/compat/proto/
event.proto, summary.proto, histogram.proto, tensor.proto, tensor_shape.proto,
types.proto; tensorboard/plugins/text/plugin_data.proto; tensorboard/plugins/
hparams/api.proto and plugin_data.proto), only the messages and fields that
torch.utils.tensorboard writes. `install_torch_stubs()` registers them under
the module names torch.utils.tensorboard imports, with a TFRecord writer in
place of tensorboard's EventFileWriter (same file names, same first event), so
that PyTorch's own SummaryWriter runs and writes real event files.
"""

import importlib.abc
import importlib.machinery
import os
import socket
import struct
import sys
import threading
import time
import types

from google.protobuf import descriptor_pb2, descriptor_pool, struct_pb2  # noqa: F401 (struct_pb2 registers struct.proto)
from google.protobuf import message_factory
from google.protobuf.internal import enum_type_wrapper

F = descriptor_pb2.FieldDescriptorProto
OPT, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED
T = {
    'double': F.TYPE_DOUBLE, 'float': F.TYPE_FLOAT, 'int64': F.TYPE_INT64, 'int32': F.TYPE_INT32,
    'bool': F.TYPE_BOOL, 'string': F.TYPE_STRING, 'bytes': F.TYPE_BYTES, 'uint32': F.TYPE_UINT32,
    'uint64': F.TYPE_UINT64,
}


def _message(container, name, fields, oneofs=(), nested=(), enums=(), map_entry=False):
    """Adds a message to `container` (a file or a message). Each field is
    (name, number, type, repeated?, oneof name or None); a type that is not a
    scalar is a fully qualified message or enum name ('.tensorboard.X' or
    'enum:.tensorboard.Y')."""
    m = container.message_type.add() if isinstance(container, descriptor_pb2.FileDescriptorProto) else container.nested_type.add()
    m.name = name
    if map_entry:
        m.options.map_entry = True
    for o in oneofs:
        m.oneof_decl.add().name = o
    for e_name, values in enums:
        e = m.enum_type.add()
        e.name = e_name
        for v_name, v in values:
            e.value.add(name=v_name, number=v)
    for n in nested:
        n(m)
    for f_name, number, typ, repeated, oneof in fields:
        f = m.field.add(name=f_name, number=number, label=REP if repeated else OPT)
        if typ in T:
            f.type = T[typ]
        elif typ.startswith('enum:'):
            f.type = F.TYPE_ENUM
            f.type_name = typ[5:]
        else:
            f.type = F.TYPE_MESSAGE
            f.type_name = typ
        if oneof is not None:
            f.oneof_index = list(oneofs).index(oneof)
    return m


def _enum(file, name, values):
    e = file.enum_type.add()
    e.name = name
    for v_name, v in values:
        e.value.add(name=v_name, number=v)


def _tensorboard_file():
    fd = descriptor_pb2.FileDescriptorProto(name='kindling_fixture/tensorboard.proto', package='tensorboard', syntax='proto3')
    _enum(fd, 'DataType', [('DT_INVALID', 0), ('DT_FLOAT', 1), ('DT_DOUBLE', 2), ('DT_INT32', 3), ('DT_UINT8', 4),
                           ('DT_INT16', 5), ('DT_INT8', 6), ('DT_STRING', 7), ('DT_COMPLEX64', 8), ('DT_INT64', 9),
                           ('DT_BOOL', 10)])
    _enum(fd, 'DataClass', [('DATA_CLASS_UNKNOWN', 0), ('DATA_CLASS_SCALAR', 1), ('DATA_CLASS_TENSOR', 2),
                            ('DATA_CLASS_BLOB_SEQUENCE', 3)])
    _message(fd, 'TensorShapeProto', [('dim', 2, '.tensorboard.TensorShapeProto.Dim', True, None),
                                      ('unknown_rank', 3, 'bool', False, None)],
             nested=[lambda m: _message(m, 'Dim', [('size', 1, 'int64', False, None), ('name', 2, 'string', False, None)])])
    _message(fd, 'TensorProto', [
        ('dtype', 1, 'enum:.tensorboard.DataType', False, None),
        ('tensor_shape', 2, '.tensorboard.TensorShapeProto', False, None),
        ('version_number', 3, 'int32', False, None),
        ('tensor_content', 4, 'bytes', False, None),
        ('float_val', 5, 'float', True, None),
        ('double_val', 6, 'double', True, None),
        ('int_val', 7, 'int32', True, None),
        ('string_val', 8, 'bytes', True, None),
        ('int64_val', 10, 'int64', True, None),
        ('bool_val', 11, 'bool', True, None),
    ])
    _message(fd, 'HistogramProto', [
        ('min', 1, 'double', False, None), ('max', 2, 'double', False, None), ('num', 3, 'double', False, None),
        ('sum', 4, 'double', False, None), ('sum_squares', 5, 'double', False, None),
        ('bucket_limit', 6, 'double', True, None), ('bucket', 7, 'double', True, None),
    ])
    _message(fd, 'SummaryMetadata', [
        ('plugin_data', 1, '.tensorboard.SummaryMetadata.PluginData', False, None),
        ('display_name', 2, 'string', False, None),
        ('summary_description', 3, 'string', False, None),
        ('data_class', 4, 'enum:.tensorboard.DataClass', False, None),
    ], nested=[lambda m: _message(m, 'PluginData', [('plugin_name', 1, 'string', False, None),
                                                    ('content', 2, 'bytes', False, None)])])

    def image(m):
        _message(m, 'Image', [('height', 1, 'int32', False, None), ('width', 2, 'int32', False, None),
                              ('colorspace', 3, 'int32', False, None), ('encoded_image_string', 4, 'bytes', False, None)])

    def audio(m):
        _message(m, 'Audio', [('sample_rate', 1, 'float', False, None), ('num_channels', 2, 'int64', False, None),
                              ('length_frames', 3, 'int64', False, None), ('encoded_audio_string', 4, 'bytes', False, None),
                              ('content_type', 5, 'string', False, None)])

    def value(m):
        _message(m, 'Value', [
            ('node_name', 7, 'string', False, None),
            ('tag', 1, 'string', False, None),
            ('metadata', 9, '.tensorboard.SummaryMetadata', False, None),
            ('simple_value', 2, 'float', False, 'value'),
            ('obsolete_old_style_histogram', 3, 'bytes', False, 'value'),
            ('image', 4, '.tensorboard.Summary.Image', False, 'value'),
            ('histo', 5, '.tensorboard.HistogramProto', False, 'value'),
            ('audio', 6, '.tensorboard.Summary.Audio', False, 'value'),
            ('tensor', 8, '.tensorboard.TensorProto', False, 'value'),
        ], oneofs=['value'])

    _message(fd, 'Summary', [('value', 1, '.tensorboard.Summary.Value', True, None)], nested=[image, audio, value])
    _message(fd, 'SessionLog', [
        ('status', 1, 'enum:.tensorboard.SessionLog.SessionStatus', False, None),
        ('checkpoint_path', 2, 'string', False, None), ('msg', 3, 'string', False, None),
    ], enums=[('SessionStatus', [('STATUS_UNSPECIFIED', 0), ('START', 1), ('STOP', 2), ('CHECKPOINT', 3)])])
    _message(fd, 'TaggedRunMetadata', [('tag', 1, 'string', False, None), ('run_metadata', 2, 'bytes', False, None)])
    _message(fd, 'SourceMetadata', [('writer', 1, 'string', False, None)])
    _message(fd, 'Event', [
        ('wall_time', 1, 'double', False, None),
        ('step', 2, 'int64', False, None),
        ('file_version', 3, 'string', False, 'what'),
        ('graph_def', 4, 'bytes', False, 'what'),
        ('summary', 5, '.tensorboard.Summary', False, 'what'),
        ('session_log', 7, '.tensorboard.SessionLog', False, 'what'),
        ('tagged_run_metadata', 8, '.tensorboard.TaggedRunMetadata', False, 'what'),
        ('meta_graph_def', 9, 'bytes', False, 'what'),
        ('source_metadata', 10, '.tensorboard.SourceMetadata', False, None),
    ], oneofs=['what'])
    _message(fd, 'TextPluginData', [('version', 1, 'int32', False, None)])
    return fd


def _hparams_file():
    fd = descriptor_pb2.FileDescriptorProto(name='kindling_fixture/hparams.proto', package='tensorboard.hparams',
                                            syntax='proto3', dependency=['google/protobuf/struct.proto'])
    _enum(fd, 'DataType', [('DATA_TYPE_UNSET', 0), ('DATA_TYPE_STRING', 1), ('DATA_TYPE_BOOL', 2), ('DATA_TYPE_FLOAT64', 3)])
    _enum(fd, 'DatasetType', [('DATASET_UNKNOWN', 0), ('DATASET_TRAINING', 1), ('DATASET_VALIDATION', 2)])
    _enum(fd, 'Status', [('STATUS_UNKNOWN', 0), ('STATUS_SUCCESS', 1), ('STATUS_FAILURE', 2), ('STATUS_RUNNING', 3)])
    _message(fd, 'Interval', [('min_value', 1, 'double', False, None), ('max_value', 2, 'double', False, None)])
    _message(fd, 'HParamInfo', [
        ('name', 1, 'string', False, None), ('display_name', 2, 'string', False, None),
        ('description', 3, 'string', False, None), ('type', 4, 'enum:.tensorboard.hparams.DataType', False, None),
        ('domain_discrete', 5, '.google.protobuf.ListValue', False, 'domain'),
        ('domain_interval', 6, '.tensorboard.hparams.Interval', False, 'domain'),
    ], oneofs=['domain'])
    _message(fd, 'MetricName', [('group', 1, 'string', False, None), ('tag', 2, 'string', False, None)])
    _message(fd, 'MetricInfo', [
        ('name', 1, '.tensorboard.hparams.MetricName', False, None), ('display_name', 3, 'string', False, None),
        ('description', 4, 'string', False, None),
        ('dataset_type', 5, 'enum:.tensorboard.hparams.DatasetType', False, None),
    ])
    _message(fd, 'Experiment', [
        ('name', 6, 'string', False, None), ('description', 1, 'string', False, None),
        ('user', 2, 'string', False, None), ('time_created_secs', 3, 'double', False, None),
        ('hparam_infos', 4, '.tensorboard.hparams.HParamInfo', True, None),
        ('metric_infos', 5, '.tensorboard.hparams.MetricInfo', True, None),
    ])
    _message(fd, 'SessionStartInfo', [
        ('hparams', 1, '.tensorboard.hparams.SessionStartInfo.HparamsEntry', True, None),
        ('model_uri', 2, 'string', False, None), ('monitor_url', 3, 'string', False, None),
        ('group_name', 4, 'string', False, None), ('start_time_secs', 5, 'double', False, None),
    ], nested=[lambda m: _message(m, 'HparamsEntry', [('key', 1, 'string', False, None),
                                                      ('value', 2, '.google.protobuf.Value', False, None)],
                                  map_entry=True)])
    _message(fd, 'SessionEndInfo', [('status', 1, 'enum:.tensorboard.hparams.Status', False, None),
                                    ('end_time_secs', 2, 'double', False, None)])
    _message(fd, 'HParamsPluginData', [
        ('version', 1, 'int32', False, None),
        ('experiment', 2, '.tensorboard.hparams.Experiment', False, 'data'),
        ('session_start_info', 3, '.tensorboard.hparams.SessionStartInfo', False, 'data'),
        ('session_end_info', 4, '.tensorboard.hparams.SessionEndInfo', False, 'data'),
    ], oneofs=['data'])
    return fd


_POOL = descriptor_pool.Default()
_files = [_tensorboard_file(), _hparams_file()]
for _fd in _files:
    _POOL.AddSerializedFile(_fd.SerializeToString())
_FACTORY = message_factory.MessageFactory(_POOL)


def _with_nested(desc):
    # Generated _pb2 modules hang nested classes and enum values on the
    # class (Summary.Value, SessionLog.START); the factory does not.
    c = _FACTORY.GetPrototype(desc)
    for n in desc.nested_types:
        setattr(c, n.name, _with_nested(n))
    for e in desc.enum_types:
        setattr(c, e.name, enum_type_wrapper.EnumTypeWrapper(e))
        for v in e.values:
            setattr(c, v.name, v.number)
    return c


def cls(name):
    """The message class of a fully qualified name, e.g. 'tensorboard.Event'."""
    return _with_nested(_POOL.FindMessageTypeByName(name))


Event = cls('tensorboard.Event')
Summary = cls('tensorboard.Summary')
HParamsPluginData = cls('tensorboard.hparams.HParamsPluginData')
TextPluginData = cls('tensorboard.TextPluginData')


def _enum_wrapper(full_name):
    return enum_type_wrapper.EnumTypeWrapper(_POOL.FindEnumTypeByName(full_name))


# ---- CRC32C and TFRecord framing ------------------------------------------------------
def _crc_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC = _crc_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc32c(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data):
    """One TFRecord: length, masked CRC32C of the length, data, masked CRC32C of the data."""
    header = struct.pack('<Q', len(data))
    return header + struct.pack('<I', masked_crc32c(header)) + data + struct.pack('<I', masked_crc32c(data))


def read_records(path):
    """The records' data of a TFRecord file, each CRC checked."""
    with open(path, 'rb') as f:
        buf = f.read()
    out, pos = [], 0
    while pos < len(buf):
        header = buf[pos:pos + 8]
        (n,) = struct.unpack('<Q', header)
        (hcrc,) = struct.unpack('<I', buf[pos + 8:pos + 12])
        if hcrc != masked_crc32c(header):
            raise ValueError(f'{path}: bad length CRC at byte {pos}')
        data = buf[pos + 12:pos + 12 + n]
        (dcrc,) = struct.unpack('<I', buf[pos + 12 + n:pos + 16 + n])
        if len(data) != n or dcrc != masked_crc32c(data):
            raise ValueError(f'{path}: bad data CRC at byte {pos}')
        out.append(data)
        pos += 16 + n
    return out


# ---- stand-ins for the tensorboard package, so torch.utils.tensorboard imports --------
class _Anything(types.ModuleType):
    """A module whose every attribute is a placeholder class (for imports
    torch.utils.tensorboard makes but the fixtures never use: graphs,
    embeddings, pr curves, custom scalars)."""

    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        placeholder = type(name, (), {})
        setattr(self, name, placeholder)
        return placeholder


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname == 'tensorboard' or fullname.startswith('tensorboard.'):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        m = _Anything(spec.name)
        m.__path__ = []
        return m

    def exec_module(self, module):
        pass


class _AtomicCounter:
    def __init__(self):
        self._value = 0
        self._lock = threading.Lock()

    def get(self):
        with self._lock:
            v = self._value
            self._value += 1
            return v


_global_uid = _AtomicCounter()


class EventFileWriter:
    """tensorboard.summary.writer.event_file_writer.EventFileWriter's file
    name and first event, written synchronously (the fixtures need no
    background thread)."""

    def __init__(self, logdir, max_queue_size=10, flush_secs=120, filename_suffix=''):
        self._logdir = logdir
        os.makedirs(logdir, exist_ok=True)
        self._file_name = os.path.join(logdir, 'events.out.tfevents.%010d.%s.%s.%s' % (
            time.time(), socket.gethostname(), os.getpid(), _global_uid.get())) + filename_suffix
        self._f = open(self._file_name, 'wb')
        self.add_event(Event(wall_time=time.time(), file_version='brain.Event:2'))
        self.flush()

    def get_logdir(self):
        return self._logdir

    def add_event(self, event):
        self._f.write(frame(event.SerializeToString()))

    def flush(self):
        self._f.flush()

    def close(self):
        if not self._f.closed:
            self._f.close()


def install_torch_stubs():
    """Makes `import torch.utils.tensorboard` work with these classes."""
    sys.meta_path.insert(0, _StubFinder())
    import tensorboard
    tensorboard.__version__ = '2.11.0'

    def module(name, **attrs):
        __import__(name)
        m = sys.modules[name]
        for k, v in attrs.items():
            setattr(m, k, v)
        return m

    module('tensorboard.compat.proto.event_pb2', Event=Event, SessionLog=cls('tensorboard.SessionLog'),
           TaggedRunMetadata=cls('tensorboard.TaggedRunMetadata'))
    module('tensorboard.compat.proto.summary_pb2', Summary=Summary, HistogramProto=cls('tensorboard.HistogramProto'),
           SummaryMetadata=cls('tensorboard.SummaryMetadata'))
    module('tensorboard.compat.proto.tensor_pb2', TensorProto=cls('tensorboard.TensorProto'))
    module('tensorboard.compat.proto.tensor_shape_pb2', TensorShapeProto=cls('tensorboard.TensorShapeProto'))
    module('tensorboard.plugins.text.plugin_data_pb2', TextPluginData=TextPluginData)
    module('tensorboard.plugins.hparams.api_pb2', Experiment=cls('tensorboard.hparams.Experiment'),
           HParamInfo=cls('tensorboard.hparams.HParamInfo'), MetricInfo=cls('tensorboard.hparams.MetricInfo'),
           MetricName=cls('tensorboard.hparams.MetricName'), Status=_enum_wrapper('tensorboard.hparams.Status'),
           DataType=_enum_wrapper('tensorboard.hparams.DataType'))
    # tensorboard/plugins/hparams/metadata.py
    module('tensorboard.plugins.hparams.metadata', PLUGIN_NAME='hparams', PLUGIN_DATA_VERSION=0,
           EXPERIMENT_TAG='_hparams_/experiment', SESSION_START_INFO_TAG='_hparams_/session_start_info',
           SESSION_END_INFO_TAG='_hparams_/session_end_info')
    module('tensorboard.plugins.hparams.plugin_data_pb2', HParamsPluginData=HParamsPluginData,
           SessionStartInfo=cls('tensorboard.hparams.SessionStartInfo'),
           SessionEndInfo=cls('tensorboard.hparams.SessionEndInfo'))
    module('tensorboard.summary.writer.event_file_writer', EventFileWriter=EventFileWriter)
    import torch.utils.tensorboard as tb
    import torch.utils.tensorboard.summary as summary
    summary.np = _NumpyShim()
    return tb


class _NumpyShim(types.ModuleType):
    """numpy for torch.utils.tensorboard.summary: torch 1.13's make_histogram
    calls np.greater(counts, 0, dtype=np.int32), which numpy 1.24 refuses (no
    such loop); the comparison cast to int32 is what it means (later torch
    writes np.greater(counts, 0))."""

    def __init__(self):
        super().__init__('numpy_shim')
        import numpy
        self._np = numpy

    def __getattr__(self, name):
        return getattr(self._np, name)

    def greater(self, a, b, dtype=None):
        out = self._np.greater(a, b)
        return out if dtype is None else out.astype(dtype)
