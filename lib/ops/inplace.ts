// In-place writes (PyTorch's check_inplace and the in-place kernels): the
// checks before any write, the general path (compute out of place, copy
// in, move the tensor onto the new history) and the direct kernels where
// autograd records nothing. The x.op_() methods (tensor_methods.ts) run
// through here.
import { Tensor } from '../tensor.js';
import { isGradEnabled } from '../autograd/grad_mode.js';
import * as K from './kernels.js';
import { native } from '../backend/native.js';
import { isFloating } from '../dtype.js';
import type { Ref } from '../backend/native.js';
import { define, isTracing, op, tensorParam as T, traceWrite, type OpFn } from './op.js';
import { bindArgs, fmtValue, type Param } from '../util/args.js';

/**
 * The checks every in-place op makes before writing into t (PyTorch's
 * check_inplace, then the kernel's assert_no_internal_overlap):
 * - with grad enabled, t must not be a leaf that requires grad, a view of
 *   one, or an output of split/chunk/unbind that requires grad;
 * - with `overlap` (all but fill_, zero_ and indexPut_, as in PyTorch), no
 *   two elements of t may share memory: a dim of stride 0 and size > 1, as
 *   expand makes, would be written more than once.
 */
export function checkInplace(t: Tensor, op: string, overlap = true): void {
  if (isGradEnabled() && t.requiresGrad) {
    if (t._multiOutput !== null) {
      throw new Error(
        `${op}: ${t._multiOutput} is a view and is being modified inplace. This view is the output of a function that returns ` +
          'multiple views. Such functions do not allow the output views to be modified inplace. You should replace the inplace ' +
          'operation by an out-of-place one.',
      );
    }
    const base = t._base;
    if (base !== null && base.isLeaf && base._requiresGrad) {
      throw new Error(`${op}: a view of a leaf Variable that requires grad is being used in an in-place operation.`);
    }
    if (t.isLeaf) throw new Error(`${op}: a leaf Variable that requires grad is being used in an in-place operation.`);
  }
  if (overlap && hasInternalOverlap(t)) {
    throw new Error(
      `${op}: unsupported operation: more than one element of the written-to tensor refers to a single memory location. ` +
        `Please clone() the tensor before performing the operation. (shape ${K.fmtShape(t._shape)}, strides ${K.fmtShape(t._strides)})`,
    );
  }
}

/** A dim of stride 0 and size > 1 in a non-empty tensor (PyTorch's has_internal_overlap == YES). */
function hasInternalOverlap(t: Tensor): boolean {
  const shape = t._shape,
    strides = t._strides;
  let zero = false;
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 0) return false;
    if (strides[i] === 0 && shape[i] > 1) zero = true;
  }
  return zero;
}

/**
 * Runs an in-place op: computes the result out of place, writes it into
 * t's memory and, if autograd recorded it, moves t onto the new history.
 */
export function inplace<T extends Tensor>(t: T, op: string, compute: () => Tensor): T {
  checkInplace(t, op);
  const r = compute();
  // PyTorch's can_cast: no float into an integer tensor, nothing but bool into a bool one.
  if (r.dtype !== t.dtype && ((isFloating(r.dtype) && !isFloating(t.dtype)) || t.dtype === 'bool')) {
    throw new TypeError(`${op}: result type ${r.dtype} can't be cast to the desired output type ${t.dtype}`);
  }
  if (r._shape.join() !== t._shape.join()) {
    throw new RangeError(`${op}: output with shape ${K.fmtShape(t._shape)} doesn't match the broadcast shape ${K.fmtShape(r._shape)}`);
  }
  native.copy(r._ref(), t._ref());
  t._bumpVersion();
  if (r.gradFn) t._setGradFn(r.gradFn);
  traceWrite(t, r);
  return t;
}

/**
 * x.add_(y), sub_, mul_, div_ where autograd records nothing (inside noGrad,
 * or no operand requires grad), y has x's dtype (or is a number) and
 * broadcasts to x's shape: one kernel writes x directly. The general path
 * computes a new tensor and copies it in, which doubles the memory traffic
 * of a manual SGD step (w.sub_(w.grad.mul(lr))). The kernel reads each
 * element before it writes it and copies aside any other overlap. Returns
 * false where the general path must run (it also raises the errors).
 */
const IN_PLACE_NAMES = { Add: 'add_', Sub: 'sub_', Mul: 'mul_', Div: 'div_' } as const;

export function binaryInPlace(t: Tensor, op: 'Add' | 'Sub' | 'Mul' | 'Div', other: unknown, alpha = 1): boolean {
  if (t._storage.device !== 'cpu' || !isFloating(t.dtype)) return false;
  // requiresGrad, not _requiresGrad: a non-leaf (gradFn set) must be recorded too.
  if (isGradEnabled() && (t.requiresGrad || (other instanceof Tensor && other.requiresGrad))) return false;
  checkInplace(t, IN_PLACE_NAMES[op]);
  if (typeof other === 'number') {
    native.binaryScalar(K.B[op], t._ref(), other * alpha, false, t._ref());
  } else {
    if (!(other instanceof Tensor) || alpha !== 1 || other.dtype !== t.dtype || other._storage.device !== 'cpu') return false;
    const n = t._shape.length,
      k = other._shape.length;
    if (k > n) return false;
    for (let i = 0; i < k; i++) {
      const s = other._shape[i],
        d = t._shape[n - k + i];
      if (s !== d && s !== 1) return false;
    }
    native.binary(K.B[op], t._ref(), K.broadcastRef(other, t._shape), t._ref());
  }
  t._bumpVersion();
  return true;
}

export function fill_<T extends Tensor>(t: T, value: number | Tensor, op = 'fill_'): T {
  // PyTorch lets fill_ and zero_ write an expanded tensor: every element
  // gets the same value, so writing a location twice changes nothing.
  checkInplace(t, op, false);
  const v = value instanceof Tensor ? value.item() : value;
  if (typeof v !== 'number' && typeof v !== 'boolean') throw new TypeError(`fill_: value must be a number, got ${K.fmtValue(v)}`);
  K.checkScalarFits(Number(v), t.dtype, 'fill_');
  native.fill(t._ref(), Number(v));
  t._bumpVersion();
  return t;
}

/**
 * copy_ as autograd records it: src's values in t's shape, dtype and
 * device; the gradient goes to src (the engine sums it over the broadcast
 * and casts it back) and zeros to t's old values, which are overwritten.
 */
const copyOp = op('copyFrom', [T.tensor('self'), T.tensor('src')], "src's values in self's shape, dtype and device (copy_ with autograd)");
define(copyOp, {
  node: 'CopyBackwards',
  forward: ({ self, src }) => {
    const dev = self._storage.device;
    const out = K.output(self._shape, self.dtype, 'copy_', dev);
    native.copy(K.broadcastRef(src._storage.device === dev ? src : K.toDevice(src, dev, 'copy_'), self._shape), out._ref());
    return out;
  },
  grads: { self: (g) => g.zerosLike(), src: (g) => g },
});

export function copy_<T extends Tensor>(t: T, src: Tensor): T {
  if (!(src instanceof Tensor)) throw new TypeError('copy_: src must be a Tensor');
  K.broadcastShapes(t._shape, src._shape, 'copy_');
  // copy_ is how values cross devices in place (PyTorch's too): the source
  // moves first, so a broadcast is always read on t's own device. With
  // grad, t's history is replaced too when only t requires grad, so no
  // gradient reaches the values copy_ overwrote.
  if (isGradEnabled() && (src.requiresGrad || t.requiresGrad)) return inplace(t, 'copy_', () => copyOp(t, src));
  checkInplace(t, 'copy_');
  native.copy(K.broadcastRef(src.device === t.device ? src : K.toDevice(src, t.device, 'copy_'), t._shape), t._ref());
  t._bumpVersion();
  return t;
}

export function random_<T extends Tensor>(t: T, op: string, fill: (r: Ref) => void): T {
  checkInplace(t, op);
  fill(t._ref());
  t._bumpVersion();
  return t;
}

/**
 * The in-place form of a declared op (x.add_(y) from add): the same
 * arguments after self, the result written into self (checkInplace, then
 * inplace, above). `direct` names the kernel
 * binaryInPlace may run when autograd records nothing: 'Add' for add_, with
 * alpha as the op's third parameter; 'Div' for div_, whose third parameter
 * (roundingMode) sends a rounded division down the general path.
 */
export function inplaceOf<Ps extends readonly Param[], R, N extends string>(
  f: OpFn<Ps, R, N>,
  direct?: 'Add' | 'Sub' | 'Mul' | 'Div',
): OpFn<Ps, Tensor, `${N}_`> {
  const name = `${f.spec.name}_`;
  const tail = f.spec.params.slice(1) as readonly Param[];
  const run = (self: unknown, ...args: unknown[]): Tensor => {
    if (!(self instanceof Tensor)) throw new TypeError(`${name}: expected a Tensor to write into, got ${fmtValue(self)}`);
    // While tracing, the general path: its write is reported (traceWrite).
    if (direct !== undefined && !isTracing()) {
      const [other, third] = bindArgs(name, tail, args);
      const alpha = direct === 'Add' || direct === 'Sub' ? (third as number) : 1;
      if ((direct !== 'Div' || third === null) && binaryInPlace(self, direct, other, alpha)) return self;
    }
    // Where autograd records the write, the op runs on a copy of self's old
    // values: the op may save its input for backward, and the write below
    // would overwrite it (PyTorch keeps the original self the same way).
    let recorded = isGradEnabled() && self.requiresGrad;
    if (isGradEnabled()) for (const a of args) if (a instanceof Tensor && a.requiresGrad) recorded = true;
    const input = recorded ? self.clone() : self;
    return inplace(self, name, () => (f as unknown as (...a: unknown[]) => Tensor)(input, ...args));
  };
  Object.defineProperty(run, 'name', { value: name });
  Object.defineProperty(run, 'spec', { value: { ...f.spec, name, doc: `${f.spec.doc}, written into input` } });
  return run as unknown as OpFn<Ps, Tensor, `${N}_`>;
}
