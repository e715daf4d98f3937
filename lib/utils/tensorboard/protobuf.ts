// The protobuf wire format, as much of it as TensorBoard's event files use:
// varints (int32, int64, enums, bools), fixed64 doubles, fixed32 floats and
// length-delimited strings, bytes, sub-messages and packed repeated numbers
// (https://protobuf.dev/programming-guides/encoding/).
//
// Writing follows proto3 as protoc's C++ code does it, so that a message
// comes out byte for byte as Python's protobuf writes it: fields in field
// number order (the caller's job), a singular scalar left out when it holds
// its default (0, '', empty bytes; for floats, when all its bits are 0, so
// -0.0 is written) unless it is a member of a oneof or a map entry, which the
// caller writes with `keep`.

/** The wire types: how a field's value is laid out. */
export const Wire = { Varint: 0, Fixed64: 1, Bytes: 2, Fixed32: 5 } as const;
/** One of {@link Wire}'s values. */
export type Wire = (typeof Wire)[keyof typeof Wire];

const utf8 = new TextEncoder();
const scratch = new DataView(new ArrayBuffer(8));

/** Builds one message's bytes. */
export class ProtoWriter {
  private buf = new Uint8Array(64);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** An unsigned varint; a negative number is its 64-bit two's complement (ten bytes), as int32 and int64 fields write it. */
  private varint(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      this.reserve(8);
      while (v >= 0x80) {
        this.buf[this.len++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
      this.buf[this.len++] = v;
      return;
    }
    let b = BigInt.asUintN(64, BigInt(v));
    this.reserve(10);
    while (b >= 0x80n) {
      this.buf[this.len++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    this.buf[this.len++] = Number(b);
  }

  private tag(field: number, wire: Wire): void {
    this.varint(field * 8 + wire);
  }

  /** int32, int64, uint32, uint64 or enum: an integer (a bigint for int64 values past 2^53). */
  int(field: number, v: number | bigint, keep = false): this {
    if (v === 0 || v === 0n) if (!keep) return this;
    this.tag(field, Wire.Varint);
    this.varint(v);
    return this;
  }

  /** bool. */
  bool(field: number, v: boolean, keep = false): this {
    return this.int(field, v ? 1 : 0, keep);
  }

  /** double (fixed64, little-endian). */
  double(field: number, v: number, keep = false): this {
    if (!keep && Object.is(v, 0)) return this;
    this.tag(field, Wire.Fixed64);
    scratch.setFloat64(0, v, true);
    this.raw(new Uint8Array(scratch.buffer, 0, 8));
    return this;
  }

  /** float (fixed32, little-endian): the value rounded to float32. */
  float(field: number, v: number, keep = false): this {
    if (!keep && Object.is(Math.fround(v), 0)) return this;
    this.tag(field, Wire.Fixed32);
    scratch.setFloat32(0, v, true);
    this.raw(new Uint8Array(scratch.buffer, 0, 4));
    return this;
  }

  /** bytes, or a sub-message's encoded bytes. */
  bytes(field: number, v: Uint8Array, keep = false): this {
    if (!keep && v.length === 0) return this;
    this.tag(field, Wire.Bytes);
    this.varint(v.length);
    this.raw(v);
    return this;
  }

  /** string, as UTF-8. */
  string(field: number, v: string, keep = false): this {
    return this.bytes(field, utf8.encode(v), keep);
  }

  /** A set sub-message (always written, even when empty: a message field has presence). */
  message(field: number, encoded: Uint8Array): this {
    return this.bytes(field, encoded, true);
  }

  /** repeated double, packed; nothing when empty. */
  packedDoubles(field: number, vs: readonly number[]): this {
    if (vs.length === 0) return this;
    const out = new DataView(new ArrayBuffer(vs.length * 8));
    vs.forEach((v, i) => out.setFloat64(i * 8, v, true));
    return this.bytes(field, new Uint8Array(out.buffer));
  }

  /** repeated float, packed; nothing when empty. */
  packedFloats(field: number, vs: readonly number[]): this {
    if (vs.length === 0) return this;
    const out = new DataView(new ArrayBuffer(vs.length * 4));
    vs.forEach((v, i) => out.setFloat32(i * 4, v, true));
    return this.bytes(field, new Uint8Array(out.buffer));
  }

  /** The bytes written so far (a copy). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** One field as read: its number, wire type and raw value. */
export interface ProtoField {
  field: number;
  wire: Wire;
  /** Varint: the value as an unsigned 64-bit bigint. */
  varint?: bigint;
  /** Fixed64 / Fixed32 / Bytes: the field's bytes (8, 4, or the length-delimited payload). */
  bytes?: Uint8Array;
}

/** Splits a message's bytes into its fields, in order; throws on bytes that are not a well-formed message. */
export function readFields(data: Uint8Array, what = 'message'): ProtoField[] {
  const out: ProtoField[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let v = 0n,
      shift = 0n;
    for (;;) {
      if (pos >= data.length) throw new Error(`protobuf: ${what} ends inside a varint`);
      const b = data[pos++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, v);
      shift += 7n;
      if (shift > 63n) throw new Error(`protobuf: ${what} has a varint longer than 10 bytes`);
    }
  };
  const take = (n: number): Uint8Array => {
    if (pos + n > data.length)
      throw new Error(`protobuf: ${what} ends inside a field (${n} bytes wanted at byte ${pos} of ${data.length})`);
    const b = data.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  while (pos < data.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n) as Wire;
    if (field === 0) throw new Error(`protobuf: ${what} has a field number 0`);
    switch (wire) {
      case Wire.Varint:
        out.push({ field, wire, varint: varint() });
        break;
      case Wire.Fixed64:
        out.push({ field, wire, bytes: take(8) });
        break;
      case Wire.Fixed32:
        out.push({ field, wire, bytes: take(4) });
        break;
      case Wire.Bytes:
        out.push({ field, wire, bytes: take(Number(varint())) });
        break;
      default:
        throw new Error(`protobuf: ${what} field ${field} has wire type ${wire as number}, which this reader does not know`);
    }
  }
  return out;
}

/** Reads typed values out of a message's fields. The last occurrence of a singular field wins, as in protobuf. */
export class ProtoMessage {
  readonly fields: ProtoField[];
  constructor(
    data: Uint8Array,
    readonly what = 'message',
  ) {
    this.fields = readFields(data, what);
  }

  private last(field: number): ProtoField | undefined {
    for (let i = this.fields.length - 1; i >= 0; i--) if (this.fields[i].field === field) return this.fields[i];
    return undefined;
  }

  private expect(f: ProtoField, wire: Wire): void {
    if (f.wire !== wire) throw new Error(`protobuf: ${this.what} field ${f.field} has wire type ${f.wire}, expected ${wire}`);
  }

  /** Whether the field occurs. */
  has(field: number): boolean {
    return this.last(field) !== undefined;
  }

  /** A signed 64-bit integer (int64, int32, enum) as a number; exact up to 2^53. */
  int(field: number): number {
    const f = this.last(field);
    if (f === undefined) return 0;
    this.expect(f, Wire.Varint);
    return Number(BigInt.asIntN(64, f.varint!));
  }

  bool(field: number): boolean {
    return this.int(field) !== 0;
  }

  double(field: number): number {
    const f = this.last(field);
    if (f === undefined) return 0;
    this.expect(f, Wire.Fixed64);
    return new DataView(f.bytes!.buffer, f.bytes!.byteOffset, 8).getFloat64(0, true);
  }

  float(field: number): number {
    const f = this.last(field);
    if (f === undefined) return 0;
    this.expect(f, Wire.Fixed32);
    return new DataView(f.bytes!.buffer, f.bytes!.byteOffset, 4).getFloat32(0, true);
  }

  bytes(field: number): Uint8Array {
    const f = this.last(field);
    if (f === undefined) return new Uint8Array(0);
    this.expect(f, Wire.Bytes);
    return f.bytes!;
  }

  string(field: number): string {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes(field));
  }

  /** Every occurrence of a length-delimited field (repeated messages, strings, bytes). */
  repeatedBytes(field: number): Uint8Array[] {
    return this.fields.filter((f) => f.field === field && f.wire === Wire.Bytes).map((f) => f.bytes!);
  }

  /** A repeated double, packed or not. */
  repeatedDoubles(field: number): number[] {
    return this.repeatedFixed(field, 8, (v, o) => v.getFloat64(o, true));
  }

  /** A repeated float, packed or not. */
  repeatedFloats(field: number): number[] {
    return this.repeatedFixed(field, 4, (v, o) => v.getFloat32(o, true));
  }

  private repeatedFixed(field: number, size: number, get: (v: DataView, o: number) => number): number[] {
    const out: number[] = [];
    for (const f of this.fields) {
      if (f.field !== field) continue;
      const b = f.bytes!;
      if (f.wire === Wire.Bytes && b.length % size !== 0)
        throw new Error(`protobuf: ${this.what} field ${field} is a packed run of ${b.length} bytes, not a multiple of ${size}`);
      if (f.wire !== Wire.Bytes && b.length !== size) this.expect(f, size === 8 ? Wire.Fixed64 : Wire.Fixed32);
      const view = new DataView(b.buffer, b.byteOffset, b.length);
      for (let o = 0; o < b.length; o += size) out.push(get(view, o));
    }
    return out;
  }

  /** The number of the last field present among `fields` (a oneof's member), or 0. */
  whichOf(...fields: number[]): number {
    for (let i = this.fields.length - 1; i >= 0; i--) if (fields.includes(this.fields[i].field)) return this.fields[i].field;
    return 0;
  }
}
