// torch.load's { dtype } option, shared by every loader: each floating
// tensor is converted to that dtype as it is read (a float16 checkpoint
// loaded as float32, a float32 one as bfloat16); other tensors are kept.
import { Storage, Tensor } from '../tensor.js';
import { allocStorage, isDType, isFloating, type DType } from '../dtype.js';
import { cast, contiguousStrides } from '../ops/kernels.js';
import { BFloat16Bits, halfToFloat32 } from '../util/half.js';
import { fmtValue } from '../util/args.js';

/** The option's value checked: a floating dtype, or undefined when not given. */
export function loadDType(v: unknown): DType | undefined {
  if (v === undefined) return undefined;
  if (!isDType(v) || !isFloating(v)) {
    throw new TypeError(
      `torch.load: dtype must be a floating dtype ('float32', 'float64', 'float16' or 'bfloat16'), got ${fmtValue(v)}; ` +
        'it converts the floating tensors only, so an integer or bool dtype would change nothing or lose values',
    );
  }
  return v;
}

/** t (a fresh CPU tensor just read) in `dtype` when it is floating; t itself otherwise. */
export function toLoadDType(t: Tensor, dtype: DType | undefined): Tensor {
  if (dtype === undefined || !isFloating(t.dtype) || t.dtype === dtype) return t;
  const src = t._storage.data;
  // The common case, a half checkpoint loaded as float32, widens the bits
  // in one pass (a large model's load is mostly this loop).
  if (dtype === 'float32' && src instanceof Uint16Array && t.isContiguous()) {
    const n = t.numel();
    const out = allocStorage('float32', n, true) as Float32Array;
    halfToFloat32(src, t._offset, out, 0, n, src instanceof BFloat16Bits);
    return new Tensor(new Storage(out), t._shape.slice(), contiguousStrides(t._shape), 0, 'float32');
  }
  return cast(t, dtype, 'torch.load');
}
