// The graph an export builds while tracing: ONNX nodes over named values,
// and what the mappings (mappings.ts) see of it (Ctx).
import type { Tensor } from '../tensor.js';
import type { DType } from '../dtype.js';
import { ATTR, F, Message, ONNX_DTYPE } from './proto.js';

/** An ONNX attribute value, typed as onnx.proto types it. */
export type Attr =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly str: string }
  | { readonly strs: readonly string[] };

/**
 * Per dim of a traced value: null for a fixed size, a name for a dynamic
 * axis that keeps the size of the input axis of that name ('batch'), or
 * '?' for a size derived from dynamic ones (batch * 4).
 */
export type Dyn = (string | null)[];

/** An ONNX node: op type, input and output value names, attributes. */
export interface GraphNode {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, Attr>>;
}

/**
 * What an op's ONNX mapping is given: the names of its tensor arguments in
 * the graph, a way to add nodes and constants, and where to bind its result.
 */
export interface Ctx {
  /** The op's name (for errors). */
  readonly op: string;
  /** The graph value a tensor argument holds (a traced value, a parameter or a constant). */
  value(t: Tensor): string;
  /** The dynamic axes of a tensor argument (Dyn). */
  dyn(t: Tensor): Dyn;
  /** A tensor argument converted to dtype (a Cast node where it differs). */
  valueAs(t: Tensor, dtype: DType): string;
  /** A constant: a number as a 0-d tensor of dtype, or an int64 vector. */
  scalar(v: number, dtype: DType): string;
  /** A constant int64 vector (shapes, axes). */
  ints(v: readonly number[]): string;
  /** A constant from a tensor's values. */
  constant(t: Tensor): string;
  /** A constant of the given shape filled with v (ones for a missing LayerNorm scale). */
  filled(shape: readonly number[], v: number, dtype: DType): string;
  /** Adds a node; returns its output names (n of them). */
  node(opType: string, inputs: readonly string[], attrs?: Record<string, Attr>, n?: number): string[];
  /** Binds an op's result tensor to a graph value, with its dynamic axes. */
  bind(result: Tensor, name: string, dyn: Dyn): void;
  /** Refuses the export: this call of the op cannot be written in ONNX, and why. */
  fail(why: string): never;
}

/** A tensor's values as ONNX's TensorProto (raw little-endian data). */
export function tensorProto(name: string, t: Tensor): Message {
  const code = ONNX_DTYPE[t.dtype];
  if (code === undefined) throw new TypeError(`torch.onnx.export: ${t.dtype} tensors cannot be written (tensor '${name}')`);
  const data = t.contiguous().toTypedArray();
  const raw =
    t.dtype === 'bool'
      ? Uint8Array.from(data as Uint8Array, (v) => (v ? 1 : 0))
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return new Message()
    .packedInts(F.tensor.dims, t.shape)
    .int(F.tensor.dataType, code)
    .bytes(F.tensor.name, name)
    .bytes(F.tensor.rawData, raw);
}

/** AttributeProto for one attribute. */
export function attributeProto(name: string, a: Attr): Message {
  const m = new Message().bytes(F.attribute.name, name);
  if ('int' in a) return m.int(F.attribute.i, a.int).int(F.attribute.type, ATTR.INT);
  if ('float' in a) return m.float(F.attribute.f, a.float).int(F.attribute.type, ATTR.FLOAT);
  if ('ints' in a) return m.packedInts(F.attribute.ints, a.ints).int(F.attribute.type, ATTR.INTS);
  if ('floats' in a) return m.packedFloats(F.attribute.floats, a.floats).int(F.attribute.type, ATTR.FLOATS);
  if ('strs' in a) {
    for (const v of a.strs) m.bytes(F.attribute.strings, v);
    return m.int(F.attribute.type, ATTR.STRINGS);
  }
  return m.bytes(F.attribute.s, a.str).int(F.attribute.type, ATTR.STRING);
}

/** NodeProto. */
export function nodeProto(n: GraphNode, index: number): Message {
  const m = new Message();
  for (const i of n.inputs) m.bytes(F.node.input, i);
  for (const o of n.outputs) m.bytes(F.node.output, o);
  m.bytes(F.node.name, `${n.opType}_${index}`).bytes(F.node.opType, n.opType);
  for (const k of Object.keys(n.attrs)) m.bytes(F.node.attribute, attributeProto(k, n.attrs[k]));
  return m;
}

/** ValueInfoProto of a graph input or output: dtype and shape, dynamic axes by name ('?': no name). */
export function valueInfoProto(name: string, dtype: DType, shape: readonly number[], dyn: Dyn): Message {
  const shapeMsg = new Message();
  shape.forEach((s, i) => {
    const d = dyn[i];
    const dim = new Message();
    if (d === null) dim.int(F.dim.value, s);
    else if (d !== '?') dim.bytes(F.dim.param, d);
    shapeMsg.bytes(F.shape.dim, dim);
  });
  const tensorType = new Message().int(F.tensorType.elemType, ONNX_DTYPE[dtype]).bytes(F.tensorType.shape, shapeMsg);
  return new Message().bytes(F.valueInfo.name, name).bytes(F.valueInfo.type, new Message().bytes(F.type.tensorType, tensorType));
}
