// The ONNX file format: a protobuf ModelProto, written by hand.
//
// Why our own writer and not protobufjs: ONNX needs only the writing side
// of protobuf (varints, fixed 32-bit floats and length-delimited fields),
// about a hundred lines, with the field numbers of onnx.proto written once
// below. protobufjs would be a runtime dependency, a .proto file to ship
// and a schema compiler, for the same bytes. The writer is deterministic
// (fields in a fixed order), so one model exports to one byte string: the
// tests compare exported bytes with those onnx.checker approved.

/** A protobuf message being written: fields appended in the order they are called. */
export class Message {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  private key(field: number, wire: number): void {
    this.push(varint(BigInt(field * 8 + wire)));
  }

  /** A varint field (int32, int64, enums); negative values as protobuf's 10-byte two's complement. */
  int(field: number, v: number | bigint): this {
    this.key(field, 0);
    this.push(varint(BigInt.asUintN(64, BigInt(v))));
    return this;
  }

  /** A float field (fixed 32 bits, little-endian). */
  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
    return this;
  }

  /** A length-delimited field: bytes, a string (UTF-8) or an embedded message. */
  bytes(field: number, v: Uint8Array | string | Message): this {
    const b = typeof v === 'string' ? new TextEncoder().encode(v) : v instanceof Message ? v.finish() : v;
    this.key(field, 2);
    this.push(varint(BigInt(b.length)));
    this.push(b);
    return this;
  }

  /** A packed repeated varint field (repeated int64). */
  packedInts(field: number, vs: readonly (number | bigint)[]): this {
    const inner = new Message();
    for (const v of vs) inner.push(varint(BigInt.asUintN(64, BigInt(v))));
    return this.bytes(field, inner);
  }

  /** A packed repeated float field. */
  packedFloats(field: number, vs: readonly number[]): this {
    const b = new Uint8Array(4 * vs.length);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => dv.setFloat32(4 * i, v, true));
    return this.bytes(field, b);
  }

  /** The message's bytes. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

function varint(v: bigint): Uint8Array {
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/** onnx.proto's field numbers, by message. */
export const F = {
  model: { irVersion: 1, producerName: 2, producerVersion: 3, docString: 6, graph: 7, opsetImport: 8 },
  opset: { domain: 1, version: 2 },
  graph: { node: 1, name: 2, initializer: 5, input: 11, output: 12 },
  node: { input: 1, output: 2, name: 3, opType: 4, attribute: 5 },
  attribute: { name: 1, f: 2, i: 3, s: 4, t: 5, floats: 7, ints: 8, strings: 9, type: 20 },
  tensor: { dims: 1, dataType: 2, name: 8, rawData: 9 },
  valueInfo: { name: 1, type: 2 },
  type: { tensorType: 1 },
  tensorType: { elemType: 1, shape: 2 },
  shape: { dim: 1 },
  dim: { value: 1, param: 2 },
} as const;

/** AttributeProto.AttributeType. */
export const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** TensorProto.DataType, for the dtypes an export writes. */
export const ONNX_DTYPE: Record<string, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

/** ONNX's IR version for opset 17 (onnx 1.12). */
export const IR_VERSION = 8;
