// Where tensor memory comes from. Every storage is a typed array over a
// V8-owned ArrayBuffer, so the garbage collector frees it and CPU tensors
// never need dispose() (DESIGN.md, Memory).
//
// Note [Small-tensor slabs]: V8 keeps typed arrays of 64 bytes or less on
// its heap and must move them off-heap the first time native code asks for
// their data; a fresh ArrayBuffer per small tensor costs a malloc and
// tracking. Both dominate the cost of ops on tiny tensors (a scalar loss,
// a bias). So small storages are carved from shared 16 KiB slabs instead:
// a view on an existing off-heap buffer is cheap to make and to pass to
// native code. A slab is freed when the last tensor on it is collected,
// which bounds what one long-lived small tensor can pin to 16 KiB.
import type { TypedArray } from './native.js';
import type { DType } from '../dtype.js';
import { BFloat16Bits } from '../util/half.js';

const SLAB_BYTES = 16 * 1024;
const SMALL_BYTES = 1024;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** A zeroed, 16-byte aligned piece of a slab. */
function carve(bytes: number): [ArrayBuffer, number] {
  // A bad size must never move the cursor (it would hand out live memory).
  if (!(bytes >= 0)) throw new RangeError(`allocStorage: invalid byte count ${bytes}`);
  const size = (bytes + 15) & ~15;
  // A slab whose buffer was transferred to another thread is detached
  // (byteLength 0): start a new one.
  if (used + size > SLAB_BYTES || slab.byteLength === 0) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const at = used;
  used += size;
  return [slab, at];
}

const ITEM: Record<DType, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int32: 4, int64: 8, uint8: 1, bool: 1 };

/**
 * Storage for n elements of dtype; bool lives in a Uint8ClampedArray,
 * float16 bits in a Uint16Array and bfloat16 bits in a BFloat16Bits (Note
 * [Half storage]).
 * Zeroed, unless `uninitialized` is set by a caller whose kernel writes
 * every element: then a large buffer skips the memset that zeroing costs
 * (Buffer.allocUnsafeSlow gives a fresh, unpooled ArrayBuffer of exactly
 * that size, still owned by V8 and freed by the GC).
 */
export function allocStorage(dtype: DType, n: number, uninitialized = false): TypedArray {
  const bytes = n * ITEM[dtype];
  let buf: ArrayBuffer,
    at = 0;
  if (bytes <= SMALL_BYTES) [buf, at] = carve(bytes);
  else buf = uninitialized ? (Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer) : new ArrayBuffer(bytes);
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf, at, n);
    case 'float64':
      return new Float64Array(buf, at, n);
    case 'float16':
      return new Uint16Array(buf, at, n);
    case 'bfloat16':
      return new BFloat16Bits(buf, at, n);
    case 'int32':
      return new Int32Array(buf, at, n);
    case 'int64':
      return new BigInt64Array(buf, at, n);
    case 'uint8':
      return new Uint8Array(buf, at, n);
    case 'bool':
      return new Uint8ClampedArray(buf, at, n);
  }
}
