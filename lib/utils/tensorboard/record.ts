// TFRecord framing, the layout of TensorBoard's event files: each record is
//   uint64 length (little-endian) | uint32 masked CRC32C of those 8 bytes |
//   data | uint32 masked CRC32C of the data.
import { maskedCrc32c } from './crc32c.js';

/** One record's bytes around `data`. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + data.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/**
 * The records' data in a TFRecord file's bytes, in order. Throws naming the
 * record and byte offset when a length or CRC does not check or the bytes end
 * inside a record (`what` names the file in the message).
 */
export function readRecords(buf: Uint8Array, what = 'event file'): Uint8Array[] {
  // Plain Uint8Array views even of a Buffer, so decoded bytes compare alike wherever they came from.
  buf = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Uint8Array[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  while (pos < buf.length) {
    const at = `${what}: record ${out.length} at byte ${pos}`;
    if (pos + 12 > buf.length) throw new Error(`${at} is cut short inside its header`);
    const len = view.getBigUint64(pos, true);
    if (view.getUint32(pos + 8, true) !== maskedCrc32c(buf.subarray(pos, pos + 8)))
      throw new Error(`${at}: the length's CRC does not match`);
    if (len > BigInt(buf.length - pos - 16)) throw new Error(`${at} says ${len} bytes of data, more than the file holds`);
    const n = Number(len);
    const data = buf.subarray(pos + 12, pos + 12 + n);
    if (view.getUint32(pos + 12 + n, true) !== maskedCrc32c(data)) throw new Error(`${at}: the data's CRC does not match`);
    out.push(data);
    pos += 16 + n;
  }
  return out;
}
