// The protobuf messages of TensorBoard's event files, as plain objects, and
// their encoders. Field numbers are those of tensorboard's .proto files:
// compat/proto/event.proto (Event, SessionLog), summary.proto (Summary,
// SummaryMetadata), histogram.proto, tensor.proto, tensor_shape.proto and
// types.proto (DataType); plugins/text/plugin_data.proto; plugins/hparams/
// api.proto and plugin_data.proto; google/protobuf/struct.proto (Value).
// Only the fields torch.utils.tensorboard writes are here; reader.ts
// decodes the same shapes.
import { ProtoWriter } from './protobuf.js';

/** tensorboard.DataType values that the writer uses. */
export const DataType = { DT_FLOAT: 1, DT_DOUBLE: 2, DT_STRING: 7 } as const;
/** tensorboard.hparams.DataType. */
export const HParamType = { DATA_TYPE_UNSET: 0, DATA_TYPE_STRING: 1, DATA_TYPE_BOOL: 2, DATA_TYPE_FLOAT64: 3 } as const;
/** tensorboard.hparams.Status. */
export const SessionStatus = { STATUS_UNKNOWN: 0, STATUS_SUCCESS: 1, STATUS_FAILURE: 2, STATUS_RUNNING: 3 } as const;
/** tensorboard.SessionLog.SessionStatus. */
export const SessionLogStatus = { STATUS_UNSPECIFIED: 0, START: 1, STOP: 2, CHECKPOINT: 3 } as const;

/** tensorboard.HistogramProto: bucket i counts the values in (bucketLimit[i-1], bucketLimit[i]]. */
export interface HistogramProto {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  bucketLimit: number[];
  bucket: number[];
}

/** tensorboard.Summary.Image: an encoded (PNG) image. */
export interface ImageProto {
  height: number;
  width: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. */
  colorspace: number;
  encodedImageString: Uint8Array;
}

/** tensorboard.TensorShapeProto. */
export interface TensorShapeProto {
  dim: { size: number; name?: string }[];
}

/** tensorboard.TensorProto (the value lists torch.utils.tensorboard fills). */
export interface TensorProto {
  dtype: number;
  tensorShape?: TensorShapeProto;
  floatVal?: number[];
  doubleVal?: number[];
  stringVal?: Uint8Array[];
}

/** tensorboard.SummaryMetadata. */
export interface SummaryMetadata {
  pluginData?: { pluginName: string; content: Uint8Array };
  displayName?: string;
  summaryDescription?: string;
  dataClass?: number;
}

/** tensorboard.Summary.Value: a tag, at most one value, and metadata. */
export interface SummaryValue {
  tag: string;
  simpleValue?: number;
  image?: ImageProto;
  histo?: HistogramProto;
  tensor?: TensorProto;
  metadata?: SummaryMetadata;
}

/** tensorboard.Summary. */
export interface Summary {
  value: SummaryValue[];
}

/** tensorboard.SessionLog. */
export interface SessionLog {
  status: number;
  checkpointPath?: string;
  msg?: string;
}

/** tensorboard.Event: one record of an event file. */
export interface Event {
  /** Seconds since the epoch. */
  wallTime: number;
  step: number;
  fileVersion?: string;
  summary?: Summary;
  sessionLog?: SessionLog;
}

/** google.protobuf.Value (the kinds hparams use). */
export type StructValue = { numberValue: number } | { stringValue: string } | { boolValue: boolean } | { listValue: StructValue[] };

/** tensorboard.hparams.HParamInfo. */
export interface HParamInfo {
  name: string;
  type: number;
  /** domain_discrete, a google.protobuf.ListValue. */
  domainDiscrete?: StructValue[];
}

/** tensorboard.hparams.MetricInfo (its MetricName). */
export interface MetricInfo {
  name: { group: string; tag: string };
}

/** tensorboard.hparams.Experiment. */
export interface Experiment {
  hparamInfos: HParamInfo[];
  metricInfos: MetricInfo[];
}

/** tensorboard.hparams.HParamsPluginData: a version and one of the three. */
export interface HParamsPluginData {
  version: number;
  experiment?: Experiment;
  /** session_start_info.hparams, a map, as [key, value] entries in the order written. */
  sessionStartInfo?: { hparams: [string, StructValue][] };
  sessionEndInfo?: { status: number };
}

// ---- encoders ----------------------------------------------------------------------------

function encodeHistogram(h: HistogramProto): Uint8Array {
  return new ProtoWriter()
    .double(1, h.min)
    .double(2, h.max)
    .double(3, h.num)
    .double(4, h.sum)
    .double(5, h.sumSquares)
    .packedDoubles(6, h.bucketLimit)
    .packedDoubles(7, h.bucket)
    .finish();
}

function encodeImage(im: ImageProto): Uint8Array {
  return new ProtoWriter().int(1, im.height).int(2, im.width).int(3, im.colorspace).bytes(4, im.encodedImageString).finish();
}

function encodeTensor(t: TensorProto): Uint8Array {
  const w = new ProtoWriter().int(1, t.dtype);
  if (t.tensorShape) {
    const shape = new ProtoWriter();
    for (const d of t.tensorShape.dim)
      shape.message(
        2,
        new ProtoWriter()
          .int(1, d.size)
          .string(2, d.name ?? '')
          .finish(),
      );
    w.message(2, shape.finish());
  }
  w.packedFloats(5, t.floatVal ?? []).packedDoubles(6, t.doubleVal ?? []);
  for (const s of t.stringVal ?? []) w.bytes(8, s, true);
  return w.finish();
}

function encodeMetadata(m: SummaryMetadata): Uint8Array {
  const w = new ProtoWriter();
  if (m.pluginData) w.message(1, new ProtoWriter().string(1, m.pluginData.pluginName).bytes(2, m.pluginData.content).finish());
  return w
    .string(2, m.displayName ?? '')
    .string(3, m.summaryDescription ?? '')
    .int(4, m.dataClass ?? 0)
    .finish();
}

function encodeValue(v: SummaryValue): Uint8Array {
  const w = new ProtoWriter().string(1, v.tag);
  // One of the oneof `value`, each written even when it holds its default.
  if (v.simpleValue !== undefined) w.float(2, v.simpleValue, true);
  if (v.image) w.message(4, encodeImage(v.image));
  if (v.histo) w.message(5, encodeHistogram(v.histo));
  if (v.tensor) w.message(8, encodeTensor(v.tensor));
  if (v.metadata) w.message(9, encodeMetadata(v.metadata));
  return w.finish();
}

/** A Summary's bytes. */
export function encodeSummary(s: Summary): Uint8Array {
  const w = new ProtoWriter();
  for (const v of s.value) w.message(1, encodeValue(v));
  return w.finish();
}

/** An Event's bytes, as protobuf's C++ serializer writes them. */
export function encodeEvent(e: Event): Uint8Array {
  const w = new ProtoWriter().double(1, e.wallTime).int(2, e.step);
  if (e.fileVersion !== undefined) w.string(3, e.fileVersion, true);
  if (e.summary) w.message(5, encodeSummary(e.summary));
  if (e.sessionLog) {
    const s = e.sessionLog;
    w.message(
      7,
      new ProtoWriter()
        .int(1, s.status)
        .string(2, s.checkpointPath ?? '')
        .string(3, s.msg ?? '')
        .finish(),
    );
  }
  return w.finish();
}

function encodeStructValue(v: StructValue): Uint8Array {
  const w = new ProtoWriter();
  if ('numberValue' in v) w.double(2, v.numberValue, true);
  else if ('stringValue' in v) w.string(3, v.stringValue, true);
  else if ('boolValue' in v) w.bool(4, v.boolValue, true);
  else w.message(6, encodeListValue(v.listValue));
  return w.finish();
}

function encodeListValue(vs: StructValue[]): Uint8Array {
  const w = new ProtoWriter();
  for (const v of vs) w.message(1, encodeStructValue(v));
  return w.finish();
}

/** An HParamsPluginData's bytes (the hparams plugin's SummaryMetadata content). */
export function encodeHParamsPluginData(d: HParamsPluginData): Uint8Array {
  const w = new ProtoWriter().int(1, d.version);
  if (d.experiment) {
    const e = new ProtoWriter();
    for (const h of d.experiment.hparamInfos) {
      const hw = new ProtoWriter().string(1, h.name).int(4, h.type);
      if (h.domainDiscrete) hw.message(5, encodeListValue(h.domainDiscrete));
      e.message(4, hw.finish());
    }
    for (const m of d.experiment.metricInfos)
      e.message(5, new ProtoWriter().message(1, new ProtoWriter().string(1, m.name.group).string(2, m.name.tag).finish()).finish());
    w.message(2, e.finish());
  }
  if (d.sessionStartInfo) {
    const s = new ProtoWriter();
    // A map entry writes its key and value even when they hold defaults.
    for (const [k, v] of d.sessionStartInfo.hparams)
      s.message(1, new ProtoWriter().string(1, k, true).message(2, encodeStructValue(v)).finish());
    w.message(3, s.finish());
  }
  if (d.sessionEndInfo) w.message(4, new ProtoWriter().int(1, d.sessionEndInfo.status).finish());
  return w.finish();
}
