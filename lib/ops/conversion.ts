// Conversions and reads: dtype and device moves (to, float, cuda, ...) and
// getting values out (item, tolist, toTypedArray). A method module (Note
// [Method modules] in tensor_methods.ts): every export is a Tensor method.
import { Tensor } from '../tensor.js';
import { isDType, isHalf, type DType } from '../dtype.js';
import { device as checkedDevice, freeCuda, type Device } from '../backend/cuda.js';
import { TorchDevice } from '../backend/device.js';
import type { CudaBuffer, TypedArray } from '../backend/native.js';
import { noGrad } from '../autograd/grad_mode.js';
import { fmtValue } from '../util/args.js';
import * as K from './kernels.js';
import { native } from '../backend/native.js';
import * as S from './shape_internal.js';
import { halfToNumber } from '../util/half.js';

/**
 * To a dtype, a device, or both (`x.to('float64')`, `x.to('cuda:0')`,
 * `x.to({ device: 'cpu', dtype: 'float32' })`), as PyTorch's to(); the
 * tensor itself when it already has them, else a copy.
 */
export function to(self: Tensor, target: DType | Device | string | TorchDevice | { dtype?: DType; device?: string | TorchDevice }): Tensor {
  if (target instanceof TorchDevice) target = target.toString();
  if (typeof target === 'object' && target !== null) {
    let r: Tensor = self;
    if (target.device !== undefined) r = to(r, target.device);
    if (target.dtype !== undefined) r = to(r, target.dtype);
    return r;
  }
  if (isDType(target)) return target === self.dtype ? self : S.toDType(self, target);
  if (target === self._storage.device) return self;
  if (typeof target !== 'string') throw new TypeError(`to: expected a dtype or a device, got ${fmtValue(target)}`);
  let dev: Device;
  try {
    dev = checkedDevice(target, 'to');
  } catch (e) {
    if (e instanceof TypeError) throw new TypeError(`to: expected a dtype or a device, got ${fmtValue(target)}`);
    throw e;
  }
  return dev === self._storage.device ? self : S.toDevice(self, dev);
}
/** To dtype (PyTorch's type(dtype)); the same as to(dtype). */
export function type(self: Tensor, dtype: DType): Tensor {
  return to(self, dtype);
}
/** To float32 (PyTorch's float()); the tensor itself when it is float32 already. */
export function float(self: Tensor): Tensor {
  return to(self, 'float32');
}
/** To float64 (PyTorch's double()); the tensor itself when it is float64 already. */
export function double(self: Tensor): Tensor {
  return to(self, 'float64');
}
/** To float16 (PyTorch's half()): values rounded to nearest even; past 65504 they become inf. */
export function half(self: Tensor): Tensor {
  return to(self, 'float16');
}
/** To bfloat16, rounded to nearest even: float32's range with 8 bits of precision. */
export function bfloat16(self: Tensor): Tensor {
  return to(self, 'bfloat16');
}
/** To int64 (PyTorch's long()); floats are truncated toward zero. */
export function long(self: Tensor): Tensor {
  return to(self, 'int64');
}
/** To int32 (PyTorch's int()); floats are truncated toward zero. */
export function int(self: Tensor): Tensor {
  return to(self, 'int32');
}
/** To bool (PyTorch's bool()): true where the value is nonzero. */
export function bool(self: Tensor): Tensor {
  return to(self, 'bool');
}
/** A copy in CPU memory (PyTorch's cpu()); the tensor itself when it is on the CPU already. */
export function cpu(self: Tensor): Tensor {
  return self._storage.device === 'cpu' ? self : S.toDevice(self, 'cpu');
}
/** To the current CUDA device, or to device N (a number) or 'cuda:N'. */
export function cuda(self: Tensor, device?: number | string | TorchDevice): Tensor {
  if (device === undefined) return to(self, 'cuda');
  if (device instanceof TorchDevice) device = device.toString();
  if (typeof device === 'number') {
    if (!Number.isInteger(device) || device < 0) throw new RangeError(`cuda: invalid device ordinal ${fmtValue(device)}`);
    return to(self, `cuda:${device}`);
  }
  if (typeof device !== 'string' || !device.startsWith('cuda'))
    throw new TypeError(`cuda: expected a CUDA device, got ${fmtValue(device)}`);
  return to(self, device);
}
/**
 * Frees the tensor's memory now, for every tensor sharing it (views
 * included); using any of them afterwards throws "tensor was disposed".
 * The GC frees it anyway once unreachable: dispose() is for giving a big
 * tensor's memory back before the GC runs. On the CPU the buffer goes to
 * the warm block cache, where the next allocation of its size takes it
 * (torch.memory). Never needed for correctness.
 */
export function dispose(self: Tensor): void {
  if (self._storage.device !== 'cpu') freeCuda(self._storage.data as CudaBuffer);
  else self._storage._release();
}

/**
 * The value of a one-element tensor as a JavaScript number (PyTorch's
 * item()); int64 values past 2^53 lose precision. Throws for any other
 * number of elements.
 */
export function item(self: Tensor): number {
  const n = K.numelOf(self._shape);
  if (n !== 1) throw new RangeError(`item: a Tensor with ${n} elements cannot be converted to a number`);
  // A CUDA value is read through a one-element copy to the host.
  const t = self._storage.device === 'cpu' ? self : K.toDevice(self, 'cpu', 'item');
  const data = t._storage.data as TypedArray;
  const v = data[t._offset];
  // Past the end only when the memory is gone (a transferred ArrayBuffer).
  if (v === undefined) throw new Error(`item: the tensor ${K.storageProblem(t) ?? 'reads outside its storage'}`);
  if (data instanceof Uint16Array) return halfToNumber(data, t._offset);
  return typeof v === 'bigint' ? Number(v) : v;
}
/**
 * A flat copy in row-major order (on the CPU, whatever the tensor's
 * device). float16 and bfloat16 give a Float32Array of their values
 * (exact: float32 holds every one), as JavaScript has no 2-byte float array.
 */
export function toTypedArray(self: Tensor): TypedArray {
  const src = isHalf(self.dtype) ? noGrad(() => K.cast(self, 'float32', 'toTypedArray')) : self;
  const copy = noGrad(() => K.toDevice(src, 'cpu', 'toTypedArray', src === self));
  // The caller holds the memory itself now: never given back early.
  copy._storage._pinned = true;
  const data = copy._storage.data as TypedArray;
  // Small storages share a slab (Note [Small-tensor slabs]); the caller
  // gets an array with its own buffer, safe to transfer or keep.
  return data.byteOffset === 0 && data.buffer.byteLength === data.byteLength ? data : data.slice();
}
/** The values as a flat typed array, as toTypedArray() (the name PyTorch users reach for; there is no NumPy). */
export function numpy(self: Tensor): TypedArray {
  return toTypedArray(self);
}
/**
 * The values as nested JavaScript arrays of numbers (booleans for bool),
 * one level per dim, as PyTorch's tolist(); a 0-dim tensor gives its value.
 */
export function tolist(self: Tensor): unknown {
  const shape = self._shape;
  // The nested lists have one slot per entry at every level ([N, 0] is N
  // empty lists, as in PyTorch): refuse before building or reading
  // anything when that is past 2^32, which no JS array holds.
  let slots = 0,
    level = 1;
  for (const n of shape) {
    level *= n;
    slots += level;
    if (level === 0) break;
  }
  if (slots > 2 ** 32) {
    throw new RangeError(
      `tolist: a tensor of shape ${K.fmtShape(shape)} would become nested lists of ${slots} entries; ` +
        'at most 2^32 can be built (a JS array holds fewer than 2^32 elements)',
    );
  }
  // An empty tensor's lists hold no values: nothing to read.
  const flat = K.numelOf(shape) === 0 ? new Float32Array(0) : toTypedArray(self);
  const isBool = self.dtype === 'bool';
  const read = (i: number): number | boolean => {
    const v = flat[i];
    if (isBool) return v !== 0;
    return typeof v === 'bigint' ? Number(v) : v;
  };
  if (shape.length === 0) return read(0);
  let pos = 0;
  const build = (d: number): unknown[] => {
    const out: unknown[] = [];
    for (let i = 0; i < shape[d]; i++) out.push(d === shape.length - 1 ? read(pos++) : build(d + 1));
    return out;
  };
  return build(0);
}
/** A new tensor of zeros with this tensor's shape, dtype and device (torch.zerosLike takes options). */
export function zerosLike(self: Tensor): Tensor {
  return K.empty(self._shape, self.dtype, 'zerosLike', self._storage.device);
}
/** A new tensor of ones with this tensor's shape, dtype and device (torch.onesLike takes options). */
export function onesLike(self: Tensor): Tensor {
  const t = K.empty(self._shape, self.dtype, 'onesLike', self._storage.device);
  native.fill(t._ref(), 1);
  return t;
}
