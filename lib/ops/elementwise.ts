// Elementwise ops and their gradients (PyTorch's derivatives.yaml, one
// entry per op). Forward calls one kernel; backward uses other ops so that
// createGraph can differentiate it again.
import { Tensor, type TensorOrScalar } from '../tensor.js';
import { defineOp } from '../autograd/function.js';
import { isGradEnabled, noGrad } from '../autograd/grad_mode.js';
import * as K from './kernels.js';
import { isFloating, type DType } from '../dtype.js';
import type { Ref } from '../backend/native.js';

function checkOperand(x: unknown, op: string, what: string): void {
  if (!(x instanceof Tensor) && typeof x !== 'number' && typeof x !== 'boolean') {
    throw new TypeError(`${op}: ${what} must be a Tensor or a number, got ${x === null ? 'null' : typeof x}`);
  }
}

// ---- add / sub -----------------------------------------------------------------
const addTT = defineOp({
  name: 'AddBackward0',
  forward: (_ctx, a: Tensor, b: Tensor) => K.binary('Add', a, b),
  backward: (_ctx, g) => [g, g],
});
const addTS = defineOp({
  name: 'AddBackward0',
  forward: (_ctx, a: Tensor, s: number) => K.binary('Add', a, s),
  backward: (_ctx, g) => [g],
});
const subTT = defineOp({
  name: 'SubBackward0',
  forward: (_ctx, a: Tensor, b: Tensor) => K.binary('Sub', a, b),
  backward: (_ctx, g) => [g, g.neg()],
});
const subTS = defineOp({
  name: 'SubBackward0',
  forward: (_ctx, a: Tensor, s: number) => K.binary('Sub', a, s),
  backward: (_ctx, g) => [g],
});
const rsubTS = defineOp({
  name: 'RsubBackward1',
  forward: (_ctx, a: Tensor, s: number) => K.binary('Sub', s, a),
  backward: (_ctx, g) => [g.neg()],
});

export function add(a: TensorOrScalar, b: TensorOrScalar, opts?: { alpha?: number }): Tensor {
  checkOperand(a, 'add', 'input');
  checkOperand(b, 'add', 'other');
  const alpha = opts?.alpha ?? 1;
  if (alpha !== 1) b = typeof b === 'number' ? b * alpha : mul(b, alpha);
  if (a instanceof Tensor) return b instanceof Tensor ? addTT(a, b) : addTS(a, b as number);
  if (b instanceof Tensor) return addTS(b, a as number);
  throw new TypeError('add: at least one operand must be a Tensor');
}

export function sub(a: TensorOrScalar, b: TensorOrScalar, opts?: { alpha?: number }): Tensor {
  checkOperand(a, 'sub', 'input');
  checkOperand(b, 'sub', 'other');
  // PyTorch refuses subtraction where either side is a bool.
  const isBool = (v: unknown) => typeof v === 'boolean' || (v instanceof Tensor && v.dtype === 'bool');
  if (isBool(a) || isBool(b)) {
    throw new TypeError('sub: subtraction with bool operands is not supported; use logicalXor() or logicalNot() instead');
  }
  const alpha = opts?.alpha ?? 1;
  if (alpha !== 1) b = typeof b === 'number' ? b * alpha : mul(b, alpha);
  if (a instanceof Tensor) return b instanceof Tensor ? subTT(a, b) : subTS(a, b as number);
  if (b instanceof Tensor) return rsubTS(b, a as number);
  throw new TypeError('sub: at least one operand must be a Tensor');
}

// ---- mul / div -----------------------------------------------------------------
const mulTT = defineOp({
  name: 'MulBackward0',
  forward: (ctx, a: Tensor, b: Tensor) => {
    ctx.saveForBackward(a, b);
    return K.binary('Mul', a, b);
  },
  backward: (ctx, g) => {
    const [a, b] = ctx.savedTensors;
    return [ctx.needsInputGrad[0] ? g.mul(b) : null, ctx.needsInputGrad[1] ? g.mul(a) : null];
  },
});
const mulTS = defineOp({
  name: 'MulBackward0',
  forward: (ctx, a: Tensor, s: number) => {
    ctx.s = s;
    return K.binary('Mul', a, s);
  },
  backward: (ctx, g) => [g.mul(ctx.s)],
});

export function mul(a: TensorOrScalar, b: TensorOrScalar): Tensor {
  checkOperand(a, 'mul', 'input');
  checkOperand(b, 'mul', 'other');
  if (a instanceof Tensor) return b instanceof Tensor ? mulTT(a, b) : mulTS(a, b as number);
  if (b instanceof Tensor) return mulTS(b, a as number);
  throw new TypeError('mul: at least one operand must be a Tensor');
}

// True division: integer inputs divide in float32 (PyTorch's div).
function divDType(a: TensorOrScalar, b: TensorOrScalar): DType {
  return K.floatDType(K.binaryDType(a, b));
}
const divTT = defineOp({
  name: 'DivBackward0',
  forward: (ctx, a: Tensor, b: Tensor) => {
    ctx.saveForBackward(a, b);
    return K.binary('Div', a, b, divDType(a, b));
  },
  backward: (ctx, g) => {
    const [a, b] = ctx.savedTensors;
    return [
      ctx.needsInputGrad[0] ? g.div(b) : null,
      ctx.needsInputGrad[1] ? g.neg().mul(a).div(b.mul(b)) : null,
    ];
  },
});
const divTS = defineOp({
  name: 'DivBackward0',
  forward: (ctx, a: Tensor, s: number) => {
    ctx.s = s;
    return K.binary('Div', a, s, divDType(a, s));
  },
  backward: (ctx, g) => [g.div(ctx.s)],
});

// A number over a tensor, divided directly (not s * (1/b), which rounds twice).
const divST = defineOp({
  name: 'DivBackward0',
  forward: (ctx, s: number, b: Tensor) => {
    ctx.saveForBackward(b);
    ctx.s = s;
    return K.binary('Div', s, b, divDType(s, b));
  },
  backward: (ctx, g) => {
    const [b] = ctx.savedTensors;
    // d(s/b)/db = -(s/b)/b, rounded in PyTorch's order.
    return [g.mul(div(ctx.s as number, b).div(b)).neg()];
  },
});

export type RoundingMode = 'trunc' | 'floor' | null;
export interface DivOptions {
  roundingMode?: RoundingMode;
}

export function div(a: TensorOrScalar, b: TensorOrScalar, opts?: DivOptions): Tensor {
  return divide(a, b, opts, 'div');
}

/** div, and div_ under its own name (`op` names the caller in errors). */
export function divide(a: TensorOrScalar, b: TensorOrScalar, opts: DivOptions | undefined, op: string): Tensor {
  checkOperand(a, op, 'input');
  checkOperand(b, op, 'other');
  const mode = opts === undefined ? null : roundingModeOf(opts, op);
  if (mode !== null) return divRounded(a, b, mode, op);
  if (a instanceof Tensor) return b instanceof Tensor ? divTT(a, b) : divTS(a, b as number);
  if (b instanceof Tensor) return divST(a as number, b);
  throw new TypeError(`${op}: at least one operand must be a Tensor`);
}

function roundingModeOf(opts: DivOptions, op: string): RoundingMode {
  if (opts === null) return null;
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError(`${op}: options must be an object like { roundingMode: 'floor' }, got ${K.fmtValue(opts)}`);
  for (const key of Object.keys(opts)) {
    if (key !== 'roundingMode') throw new TypeError(`${op}: unknown option '${key}' (did you mean 'roundingMode'?)`);
  }
  const mode = opts.roundingMode ?? null;
  if (mode !== null && mode !== 'trunc' && mode !== 'floor') {
    throw new RangeError(`${op}: expected rounding_mode to be one of None, 'trunc', or 'floor' but found ${K.fmtValue(mode).replace(/"/g, "'")}`);
  }
  return mode;
}

// div with a rounding mode: the promoted dtype (ints stay ints), and no
// gradient (PyTorch's derivative is zero). Integer division by zero is an
// error in PyTorch ("ZeroDivisionError"); the kernels would return 0.
function roundedKernel(a: Tensor | number, b: Tensor | number, mode: Mode, op: string): Tensor {
  const dt = K.binaryDType(a, b);
  if (dt === 'bool') throw new TypeError(`${op}: "div_${mode}" is not implemented for bool (rounding_mode='${mode}')`);
  if (isFloating(dt)) {
    if (mode === 'floor') return K.binary('FloorDivide', a, b, dt);
    // trunc(q): ceil below zero, floor above (NaN and infinities pass through).
    const q = K.binary('Div', a, b, dt);
    const out = K.output(q._shape, dt, op, q._storage.device);
    K.native.where(K.binary('Lt', q, 0)._ref(), K.unary('Ceil', q)._ref(), K.unary('Floor', q)._ref(), out._ref());
    return out;
  }
  const outShape = a instanceof Tensor ? (b instanceof Tensor ? K.broadcastShapes(a._shape, b._shape, op) : a._shape) : (b as Tensor)._shape;
  if (K.numelOf(outShape) > 0) {
    const zero = b instanceof Tensor ? b.numel() > 0 && !K.reduce('All', b, [...b._shape.keys()], false, 'bool').item() : b === 0;
    if (zero) {
      throw new RangeError(
        `${op}: ZeroDivisionError: integer division by zero with rounding_mode='${mode}' ` +
          `(input ${a instanceof Tensor ? `${a.dtype} ${K.fmtShape(a._shape)}` : K.fmtValue(a)}, ` +
          `other ${b instanceof Tensor ? `${b.dtype} ${K.fmtShape(b._shape)}` : K.fmtValue(b)})`,
      );
    }
  }
  // The integer kernels truncate (Div) or floor (FloorDivide), never trap.
  return K.binary(mode === 'trunc' ? 'Div' : 'FloorDivide', a, b, dt);
}

type Mode = 'trunc' | 'floor';
const divRoundedTT = defineOp({
  name: 'DivBackward2',
  forward: (_ctx, a: Tensor, b: Tensor, mode: Mode, op: string) => roundedKernel(a, b, mode, op),
  backward: (ctx, g) => [ctx.needsInputGrad[0] ? g.mul(0) : null, ctx.needsInputGrad[1] ? g.mul(0) : null],
});
const divRoundedTS = defineOp({
  name: 'DivBackward2',
  forward: (_ctx, a: Tensor, s: number, mode: Mode, op: string) => roundedKernel(a, s, mode, op),
  backward: (_ctx, g) => [g.mul(0)],
});
const divRoundedST = defineOp({
  name: 'DivBackward2',
  forward: (_ctx, s: number, b: Tensor, mode: Mode, op: string) => roundedKernel(s, b, mode, op),
  backward: (_ctx, g) => [g.mul(0)],
});

function divRounded(a: TensorOrScalar, b: TensorOrScalar, mode: Mode, op: string): Tensor {
  // A boolean operand stands for a Python bool (0 or 1).
  const x = typeof a === 'boolean' ? Number(a) : a, y = typeof b === 'boolean' ? Number(b) : b;
  if (x instanceof Tensor) return y instanceof Tensor ? divRoundedTT(x, y, mode, op) : divRoundedTS(x, y, mode, op);
  if (y instanceof Tensor) return divRoundedST(x, y, mode, op);
  throw new TypeError(`${op}: at least one operand must be a Tensor`);
}

// ---- pow -----------------------------------------------------------------------
const powTS = defineOp({
  name: 'PowBackward0',
  forward: (ctx, a: Tensor, e: number) => {
    ctx.saveForBackward(a);
    ctx.e = e;
    if (e === 2) return K.binary('Mul', a, a);
    return K.binary('Pow', a, e);
  },
  backward: (ctx, g) => {
    const [a] = ctx.savedTensors;
    const e = ctx.e as number;
    if (e === 0) return [g.mul(0)];
    return [g.mul(e).mul(e === 2 ? a : a.pow(e - 1))];
  },
});
const powTT = defineOp({
  name: 'PowBackward1',
  forward: (ctx, a: Tensor, b: Tensor) => {
    const out = K.binary('Pow', a, b);
    ctx.saveForBackward(a, b, out);
    return out;
  },
  backward: (ctx, g) => {
    const [a, b, out] = ctx.savedTensors;
    return [
      ctx.needsInputGrad[0] ? g.mul(b).mul(a.pow(b.sub(1))) : null,
      ctx.needsInputGrad[1] ? g.mul(out).mul(where0(a.gt(0), a.log())) : null,
    ];
  },
});
// A number to a tensor power: d(s^e)/de = s^e ln(s).
const powST = defineOp({
  name: 'PowBackward2',
  forward: (ctx, s: number, e: Tensor) => {
    const out = K.binary('Pow', s, e);
    ctx.saveForBackward(out);
    ctx.logS = Math.log(Number(s));
    return out;
  },
  backward: (ctx, g) => {
    const [out] = ctx.savedTensors;
    return [g.mul(out).mul(Number.isFinite(ctx.logS) ? ctx.logS : 0)];
  },
});

// log(a) where a > 0, else 0: PyTorch's convention for d(a^b)/db at a <= 0.
function where0(mask: Tensor, x: Tensor): Tensor {
  return x.mul(mask);
}

export function pow(a: TensorOrScalar, e: TensorOrScalar): Tensor {
  checkOperand(a, 'pow', 'input');
  checkOperand(e, 'pow', 'exponent');
  if (!(a instanceof Tensor) && !(e instanceof Tensor)) throw new TypeError('pow: at least one operand must be a Tensor');
  // PyTorch's result_type decides, scalars included: bool.pow(2) is int64,
  // int32.pow(false) stays int32, int.pow(0.5) is float32; there is no bool pow.
  const dt = K.binaryDType(a as Tensor | number | boolean, e as Tensor | number | boolean);
  if (dt === 'bool') throw new TypeError('pow: "pow" is not implemented for bool (both operands are bool)');
  if (a instanceof Tensor) {
    const base = a.dtype === dt ? a : a.to(dt);
    if (e instanceof Tensor) return powTT(base, e);
    if (!isFloating(dt) && Number(e) < 0) throw new RangeError(`pow: integers to negative integer powers are not allowed (${a.dtype} tensor to the power ${Number(e)})`);
    return powTS(base, Number(e));
  }
  return powST(a as number, e as Tensor);
}

// ---- unary ---------------------------------------------------------------------
type UnaryBackward = (g: Tensor, x: Tensor, y: Tensor) => Tensor;

/** A float unary op: integer inputs compute in float32, as PyTorch's. */
function floatUnary(name: string, kernel: string, backward: UnaryBackward): (x: Tensor) => Tensor {
  const op = defineOp({
    name,
    forward: (ctx, x: Tensor) => {
      const y = K.unary(kernel, x, K.floatDType(x.dtype));
      ctx.saveForBackward(x, y);
      return y;
    },
    backward: (ctx, g) => {
      const [x, y] = ctx.savedTensors;
      return [backward(g, x, y)];
    },
  });
  return (x: Tensor) => {
    if (!(x instanceof Tensor)) throw new TypeError(`${kernel.toLowerCase()}: expected a Tensor, got ${typeof x}`);
    return op(x);
  };
}

export const exp = floatUnary('ExpBackward0', 'Exp', (g, _x, y) => g.mul(y));
export const log = floatUnary('LogBackward0', 'Log', (g, x) => g.div(x));
export const log1p = floatUnary('Log1PBackward0', 'Log1p', (g, x) => g.div(x.add(1)));
export const sqrt = floatUnary('SqrtBackward0', 'Sqrt', (g, _x, y) => g.div(y.mul(2)));
export const rsqrt = floatUnary('RsqrtBackward0', 'Rsqrt', (g, _x, y) => g.mul(y.pow(3)).mul(-0.5));
export const sin = floatUnary('SinBackward0', 'Sin', (g, x) => g.mul(x.cos()));
export const cos = floatUnary('CosBackward0', 'Cos', (g, x) => g.mul(x.sin()).neg());
export const sigmoid = floatUnary('SigmoidBackward0', 'Sigmoid', (g, _x, y) => g.mul(y.mul(y.rsub(1))));
export const tanh = floatUnary('TanhBackward0', 'Tanh', (g, _x, y) => g.mul(y.mul(y).rsub(1)));
export const reciprocal = floatUnary('ReciprocalBackward0', 'Reciprocal', (g, _x, y) => g.mul(y.mul(y)).neg());
export const gelu = floatUnary('GeluBackward0', 'Gelu', (g, x) => g.mul(K.unary('GeluGrad', x.detach())));

/** Unary ops that keep the input's dtype (defined on ints too). */
function sameDTypeUnary(name: string, kernel: string, backward: UnaryBackward | null): (x: Tensor) => Tensor {
  const op = defineOp({
    name,
    forward: (ctx, x: Tensor) => {
      const y = K.unary(kernel, x);
      ctx.saveForBackward(x, y);
      return y;
    },
    backward: (ctx, g) => {
      if (!backward) return [g.mul(0)];
      const [x, y] = ctx.savedTensors;
      return [backward(g, x, y)];
    },
  });
  return (x: Tensor) => {
    if (!(x instanceof Tensor)) throw new TypeError(`${kernel.toLowerCase()}: expected a Tensor, got ${typeof x}`);
    if (x.dtype === 'bool' && kernel === 'Neg') throw new TypeError('neg: negation of a bool tensor is not supported; use logicalNot()');
    return op(x);
  };
}

export const neg = sameDTypeUnary('NegBackward0', 'Neg', (g) => g.neg());
export const abs = sameDTypeUnary('AbsBackward0', 'Abs', (g, x) => g.mul(x.sign()));
// relu's gradient passes where the output is positive. One fused kernel
// when no graph of the backward is needed; ops otherwise (createGraph).
export const relu = sameDTypeUnary('ReluBackward0', 'Relu', (g, _x, y) =>
  isGradEnabled() || g.dtype !== y.dtype || g._shape.join() !== y._shape.join() ? g.mul(y.gt(0)) : K.binary('ReluBackward', y, g));
export const sign = sameDTypeUnary('SignBackward0', 'Sign', null);
export const floor = sameDTypeUnary('FloorBackward0', 'Floor', null);
export const ceil = sameDTypeUnary('CeilBackward0', 'Ceil', null);
export const round = sameDTypeUnary('RoundBackward0', 'Round', null);

export function logicalNot(x: Tensor): Tensor {
  return K.unary('LogicalNot', x);
}
export function isnan(x: Tensor): Tensor {
  return K.unary('IsNan', x);
}

// ---- clamp, maximum, minimum ---------------------------------------------------
const clampOp = defineOp({
  name: 'ClampBackward1',
  forward: (ctx, x: Tensor, lo: number, hi: number) => {
    ctx.saveForBackward(x);
    ctx.lo = lo;
    ctx.hi = hi;
    const out = K.output(x._shape, x.dtype, 'clamp', x.device);
    K.native.clamp(x._ref(), lo, hi, out._ref());
    return out;
  },
  backward: (ctx, g) => {
    const [x] = ctx.savedTensors;
    let mask = x.ge(ctx.lo);
    if (!Number.isNaN(ctx.hi)) mask = K.binary('LogicalAnd', Number.isNaN(ctx.lo) ? x.le(ctx.hi) : mask, x.le(ctx.hi));
    else if (Number.isNaN(ctx.lo)) mask = x.eq(x);
    return [g.mul(mask)];
  },
});

export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError('clamp: expected a Tensor');
  if ((min === undefined || min === null) && (max === undefined || max === null)) {
    throw new TypeError("clamp: at least one of 'min' or 'max' must not be None");
  }
  for (const [v, w] of [[min, 'min'], [max, 'max']] as const) {
    if (v !== undefined && v !== null && typeof v !== 'number') throw new TypeError(`clamp: ${w} must be a number`);
  }
  return clampOp(x, min ?? NaN, max ?? NaN);
}

function extremum(name: string, kernel: 'Maximum' | 'Minimum'): (a: Tensor, b: Tensor) => Tensor {
  const op = defineOp({
    name,
    forward: (ctx, a: Tensor, b: Tensor) => {
      ctx.saveForBackward(a, b);
      return K.binary(kernel, a, b);
    },
    backward: (ctx, g) => {
      const [a, b] = ctx.savedTensors;
      // Ties split the gradient in half, as PyTorch's.
      const wins = kernel === 'Maximum' ? a.gt(b) : a.lt(b);
      const ties = a.eq(b);
      const wa = wins.to(g.dtype).add(ties.to(g.dtype).mul(0.5));
      return [g.mul(wa), g.mul(wa.rsub(1))];
    },
  });
  return (a, b) => {
    if (!(a instanceof Tensor) || !(b instanceof Tensor)) throw new TypeError(`${kernel.toLowerCase()}: expected two Tensors`);
    return op(a, b);
  };
}
export const maximum = extremum('MaximumBackward0', 'Maximum');
export const minimum = extremum('MinimumBackward0', 'Minimum');

// ---- comparisons -----------------------------------------------------------------
export function compare(op: 'Eq' | 'Ne' | 'Gt' | 'Ge' | 'Lt' | 'Le', a: Tensor, b: TensorOrScalar): Tensor {
  checkOperand(b, op.toLowerCase(), 'other');
  return K.binary(op, a, b as Tensor | number);
}

export function equal(a: Tensor, b: Tensor): boolean {
  if (a._shape.join() !== b._shape.join()) return false;
  return K.binary('Eq', a, b).all().item() === 1;
}

export function allclose(a: Tensor, b: Tensor, opts?: { rtol?: number; atol?: number }): boolean {
  const rtol = opts?.rtol ?? 1e-5, atol = opts?.atol ?? 1e-8;
  return noGrad(() => {
    const diff = a.sub(b).abs();
    const tol = b.abs().mul(rtol).add(atol);
    return diff.le(tol).all().item() === 1;
  });
}

// ---- in place ----------------------------------------------------------------------
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
  const shape = t._shape, strides = t._strides;
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
  if (r.dtype !== t.dtype && isFloating(r.dtype) && !isFloating(t.dtype)) {
    throw new TypeError(`${op}: result type ${r.dtype} can't be cast to the desired output type ${t.dtype}`);
  }
  if (r._shape.join() !== t._shape.join()) {
    throw new RangeError(`${op}: output with shape ${K.fmtShape(t._shape)} doesn't match the broadcast shape ${K.fmtShape(r._shape)}`);
  }
  K.native.copy(r._ref(), t._ref());
  t._bumpVersion();
  if (r.gradFn) t._setGradFn(r.gradFn);
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
    K.native.binaryScalar(K.B[op], t._ref(), other * alpha, false, t._ref());
  } else {
    if (!(other instanceof Tensor) || alpha !== 1 || other.dtype !== t.dtype || other._storage.device !== 'cpu') return false;
    const n = t._shape.length, k = other._shape.length;
    if (k > n) return false;
    for (let i = 0; i < k; i++) {
      const s = other._shape[i], d = t._shape[n - k + i];
      if (s !== d && s !== 1) return false;
    }
    K.native.binary(K.B[op], t._ref(), K.broadcastRef(other, t._shape), t._ref());
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
  K.native.fill(t._ref(), Number(v));
  t._bumpVersion();
  return t;
}

/**
 * copy_ as autograd records it: src's values in t's shape, dtype and
 * device; the gradient goes to src (the engine sums it over the broadcast
 * and casts it back) and zeros to t's old values, which are overwritten.
 */
const copyOp = defineOp({
  name: 'CopyBackwards',
  forward: (_ctx, self: Tensor, src: Tensor) => {
    const dev = self._storage.device;
    const out = K.output(self._shape, self.dtype, 'copy_', dev);
    K.native.copy(K.broadcastRef(src._storage.device === dev ? src : K.toDevice(src, dev, 'copy_'), self._shape), out._ref());
    return out;
  },
  backward: (ctx, g) => [ctx.needsInputGrad[0] ? g.zerosLike() : null, g],
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
  K.native.copy(K.broadcastRef(src.device === t.device ? src : K.toDevice(src, t.device, 'copy_'), t._shape), t._ref());
  t._bumpVersion();
  return t;
}

export function random_<T extends Tensor>(t: T, op: string, fill: (r: Ref) => void): T {
  checkInplace(t, op);
  fill(t._ref());
  t._bumpVersion();
  return t;
}
