// How batches cross between a worker thread and the loader: tensors travel
// as their flat typed array (transferred, not copied) plus dtype and shape,
// inside whatever arrays / plain objects hold them. A CUDA tensor travels as
// its host copy (and arrives on the CPU).
import * as K from '../ops/kernels.js';
import { Storage, Tensor } from '../tensor.js';
import { BFloat16Bits } from '../util/half.js';
import { fromTypedArray } from '../ops/creation.js';
import type { DType } from '../dtype.js';
import type { TypedArray } from '../backend/native.js';

export interface WireTensor {
  __kindlingTensor: true;
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

// Transferring a buffer detaches it for every array on it, so only a buffer
// that holds exactly this tensor's elements may move: one fresh from collate
// that owns its whole ArrayBuffer. Small storages share slab buffers
// (Note [Small-tensor slabs]) and dataset tensors are still in use; those
// are copied into an array of their own first.
function ownsBuffer(t: Tensor): boolean {
  if (t.device !== 'cpu') return false;
  const data = t._storage.data as TypedArray;
  return (
    t._offset === 0 &&
    t.isContiguous() &&
    data.length === t.numel() &&
    data.byteOffset === 0 &&
    data.byteLength === data.buffer.byteLength &&
    !(data.buffer instanceof SharedArrayBuffer)
  );
}

function ownCopy(t: Tensor): TypedArray {
  if (t.device !== 'cpu') return K.toDevice(t, 'cpu', 'DataLoader', true)._storage.data as TypedArray;
  const src = t.isContiguous() ? t : t.contiguous();
  const data = src._storage.data as TypedArray;
  // slice() always allocates a new ArrayBuffer of exactly this length.
  return data.slice(src._offset, src._offset + src.numel()) as TypedArray;
}

/** The buffers under every tensor and typed array in value (which must not move). */
export function buffersOf(value: unknown, into: Set<ArrayBufferLike> = new Set()): Set<ArrayBufferLike> {
  if (value instanceof Tensor) {
    if (value.device === 'cpu') into.add((value._storage.data as TypedArray).buffer);
  } else if (ArrayBuffer.isView(value)) into.add(value.buffer);
  else if (Array.isArray(value)) for (const v of value) buffersOf(v, into);
  else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) buffersOf(v, into);
  }
  return into;
}

/**
 * value with its tensors as WireTensors; the buffers to transfer are pushed
 * on `transfer`. With `fresh`, tensors that own their whole buffer send it
 * as is, unless it is in `keep` (buffers still in use, e.g. the items').
 */
export function encode(value: unknown, fresh: boolean, transfer: ArrayBuffer[], keep?: Set<ArrayBufferLike>): unknown {
  if (value instanceof Tensor) {
    const mine = fresh && ownsBuffer(value) && !(keep && keep.has((value._storage.data as TypedArray).buffer));
    const data = mine ? (value._storage.data as TypedArray) : ownCopy(value);
    if (!transfer.includes(data.buffer as ArrayBuffer)) transfer.push(data.buffer as ArrayBuffer);
    const w: WireTensor = { __kindlingTensor: true, dtype: value.dtype, shape: value.shape, data };
    return w;
  }
  if (Array.isArray(value)) return value.map((v) => encode(v, fresh, transfer, keep));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = encode(v, fresh, transfer, keep);
    return out;
  }
  return value;
}

export function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value !== null && typeof value === 'object') {
    const w = value as Partial<WireTensor>;
    if (w.__kindlingTensor === true) {
      // Half bits arrive as a plain Uint16Array (structured clone drops the
      // BFloat16Bits class), which fromTypedArray would read as integers.
      if (w.dtype === 'float16' || w.dtype === 'bfloat16') {
        const bits = w.data as Uint16Array;
        const data = w.dtype === 'bfloat16' ? new BFloat16Bits(bits.buffer as ArrayBuffer, bits.byteOffset, bits.length) : bits;
        return new Tensor(new Storage(data), w.shape!, K.contiguousStrides(w.shape!), 0, w.dtype);
      }
      return fromTypedArray(w.data!, w.shape!);
    }
    if (Object.getPrototypeOf(value) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = decode(v);
      return out;
    }
  }
  return value;
}
