// Reads event files back: TFRecord framing (record.ts), then the Event,
// Summary and hparams messages of messages.ts, field by field from their
// .proto field numbers. Unknown fields are skipped, as protobuf readers do.
import { readFileSync } from 'node:fs';
import { readRecords } from './record.js';
import { ProtoMessage } from './protobuf.js';
import type {
  Event,
  HistogramProto,
  HParamInfo,
  HParamsPluginData,
  ImageProto,
  StructValue,
  SummaryMetadata,
  SummaryValue,
  TensorProto,
} from './messages.js';

function decodeHistogram(data: Uint8Array): HistogramProto {
  const m = new ProtoMessage(data, 'HistogramProto');
  return {
    min: m.double(1),
    max: m.double(2),
    num: m.double(3),
    sum: m.double(4),
    sumSquares: m.double(5),
    bucketLimit: m.repeatedDoubles(6),
    bucket: m.repeatedDoubles(7),
  };
}

function decodeImage(data: Uint8Array): ImageProto {
  const m = new ProtoMessage(data, 'Summary.Image');
  return { height: m.int(1), width: m.int(2), colorspace: m.int(3), encodedImageString: m.bytes(4) };
}

function decodeTensor(data: Uint8Array): TensorProto {
  const m = new ProtoMessage(data, 'TensorProto');
  const t: TensorProto = { dtype: m.int(1) };
  if (m.has(2))
    t.tensorShape = {
      dim: new ProtoMessage(m.bytes(2), 'TensorShapeProto').repeatedBytes(2).map((d) => {
        const dm = new ProtoMessage(d, 'TensorShapeProto.Dim');
        return dm.has(2) ? { size: dm.int(1), name: dm.string(2) } : { size: dm.int(1) };
      }),
    };
  const floats = m.repeatedFloats(5),
    doubles = m.repeatedDoubles(6),
    strings = m.repeatedBytes(8);
  if (floats.length) t.floatVal = floats;
  if (doubles.length) t.doubleVal = doubles;
  if (strings.length) t.stringVal = strings;
  return t;
}

function decodeMetadata(data: Uint8Array): SummaryMetadata {
  const m = new ProtoMessage(data, 'SummaryMetadata');
  const out: SummaryMetadata = {};
  if (m.has(1)) {
    const p = new ProtoMessage(m.bytes(1), 'SummaryMetadata.PluginData');
    out.pluginData = { pluginName: p.string(1), content: p.bytes(2) };
  }
  if (m.has(2)) out.displayName = m.string(2);
  if (m.has(3)) out.summaryDescription = m.string(3);
  if (m.has(4)) out.dataClass = m.int(4);
  return out;
}

function decodeValue(data: Uint8Array): SummaryValue {
  const m = new ProtoMessage(data, 'Summary.Value');
  const v: SummaryValue = { tag: m.string(1) };
  switch (m.whichOf(2, 4, 5, 8)) {
    case 2:
      v.simpleValue = m.float(2);
      break;
    case 4:
      v.image = decodeImage(m.bytes(4));
      break;
    case 5:
      v.histo = decodeHistogram(m.bytes(5));
      break;
    case 8:
      v.tensor = decodeTensor(m.bytes(8));
      break;
  }
  if (m.has(9)) v.metadata = decodeMetadata(m.bytes(9));
  return v;
}

/** An Event from its bytes. */
export function decodeEvent(data: Uint8Array): Event {
  const m = new ProtoMessage(data, 'Event');
  const e: Event = { wallTime: m.double(1), step: m.int(2) };
  switch (m.whichOf(3, 5, 7)) {
    case 3:
      e.fileVersion = m.string(3);
      break;
    case 5:
      e.summary = { value: new ProtoMessage(m.bytes(5), 'Summary').repeatedBytes(1).map(decodeValue) };
      break;
    case 7: {
      const s = new ProtoMessage(m.bytes(7), 'SessionLog');
      e.sessionLog = { status: s.int(1) };
      if (s.has(2)) e.sessionLog.checkpointPath = s.string(2);
      if (s.has(3)) e.sessionLog.msg = s.string(3);
      break;
    }
  }
  return e;
}

function decodeStructValue(data: Uint8Array): StructValue {
  const m = new ProtoMessage(data, 'google.protobuf.Value');
  switch (m.whichOf(1, 2, 3, 4, 5, 6)) {
    case 2:
      return { numberValue: m.double(2) };
    case 3:
      return { stringValue: m.string(3) };
    case 4:
      return { boolValue: m.bool(4) };
    case 6:
      return { listValue: decodeListValue(m.bytes(6)) };
    default:
      throw new Error('google.protobuf.Value: only number, string, bool and list values are read');
  }
}

function decodeListValue(data: Uint8Array): StructValue[] {
  return new ProtoMessage(data, 'google.protobuf.ListValue').repeatedBytes(1).map(decodeStructValue);
}

/** The hparams plugin's content (SummaryMetadata.plugin_data.content of a '_hparams_/...' tag). */
export function decodeHParamsPluginData(data: Uint8Array): HParamsPluginData {
  const m = new ProtoMessage(data, 'HParamsPluginData');
  const out: HParamsPluginData = { version: m.int(1) };
  switch (m.whichOf(2, 3, 4)) {
    case 2: {
      const e = new ProtoMessage(m.bytes(2), 'Experiment');
      out.experiment = {
        hparamInfos: e.repeatedBytes(4).map((b) => {
          const h = new ProtoMessage(b, 'HParamInfo');
          const info: HParamInfo = { name: h.string(1), type: h.int(4) };
          if (h.has(5)) info.domainDiscrete = decodeListValue(h.bytes(5));
          return info;
        }),
        metricInfos: e.repeatedBytes(5).map((b) => {
          const name = new ProtoMessage(new ProtoMessage(b, 'MetricInfo').bytes(1), 'MetricName');
          return { name: { group: name.string(1), tag: name.string(2) } };
        }),
      };
      break;
    }
    case 3:
      out.sessionStartInfo = {
        hparams: new ProtoMessage(m.bytes(3), 'SessionStartInfo').repeatedBytes(1).map((b) => {
          const entry = new ProtoMessage(b, 'SessionStartInfo.HparamsEntry');
          return [entry.string(1), decodeStructValue(entry.bytes(2))];
        }),
      };
      break;
    case 4:
      out.sessionEndInfo = { status: new ProtoMessage(m.bytes(4), 'SessionEndInfo').int(1) };
      break;
  }
  return out;
}

/** Every Event of an event file, in order (each record's CRCs checked). */
export function readEventFile(path: string): Event[] {
  return readRecords(readFileSync(path), path).map(decodeEvent);
}
