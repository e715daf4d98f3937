// Elementwise ops, each declared once (lib/ops/op.ts): PyTorch's signature,
// one kernel in forward, and one gradient per input written with ops, so
// that createGraph can differentiate it again.
import { Tensor } from '../tensor.js';
import { aliasOf, define, op, returns, tensorParam as T, type Saving } from './op.js';
import { inplaceOf } from './inplace.js';
import { param as p, fmtValue } from '../util/args.js';
import * as K from './kernels.js';
import { native } from '../backend/native.js';
import { isFloating, type DType } from '../dtype.js';
import type { BinaryOp, UnaryOp } from '../backend/kernel_names.js';

type Operand = Tensor | number | boolean;

function bothScalars(op: string): TypeError {
  return new TypeError(`${op}: at least one operand must be a Tensor`);
}
const isBool = (v: Operand) => typeof v === 'boolean' || (v instanceof Tensor && v.dtype === 'bool');

// ---- add / sub -------------------------------------------------------------------
export const add = op(
  'add',
  [T.tensorOrScalar('input'), T.tensorOrScalar('other'), p.kw(p.float('alpha', 1))],
  'input + alpha * other, broadcast and promoted',
);
define(add, {
  node: 'AddBackward0',
  forward: ({ input, other, alpha }) => {
    if (!(input instanceof Tensor) && !(other instanceof Tensor)) throw bothScalars('add');
    const b =
      alpha === 1 ? other : typeof other === 'boolean' || typeof other === 'number' ? Number(other) * alpha : K.binary('Mul', other, alpha);
    return { out: K.binary('Add', input, b), save: alpha };
  },
  grads: { input: (g) => g, other: (g, alpha) => (alpha === 1 ? g : g.mul(alpha)) },
});

export const sub = op(
  'sub',
  [T.tensorOrScalar('input'), T.tensorOrScalar('other'), p.kw(p.float('alpha', 1))],
  'input - alpha * other, broadcast and promoted',
);
define(sub, {
  node: 'SubBackward0',
  forward: ({ input, other, alpha }) => {
    if (!(input instanceof Tensor) && !(other instanceof Tensor)) throw bothScalars('sub');
    // PyTorch refuses subtraction where either side is a bool.
    if (isBool(input) || isBool(other))
      throw new TypeError('sub: subtraction with bool operands is not supported; use logicalXor() or logicalNot() instead');
    const b = alpha === 1 ? other : typeof other === 'number' ? other * alpha : K.binary('Mul', other as Tensor, alpha);
    return { out: K.binary('Sub', input, b), save: alpha };
  },
  grads: { input: (g) => g, other: (g, alpha) => g.mul(-alpha) },
});

/** other - input (Tensor.rsub). */
export const rsub = op('rsub', [T.tensor('input'), T.tensorOrScalar('other'), p.kw(p.float('alpha', 1))], 'other - alpha * input');
define(rsub, {
  impl: ({ input, other, alpha }): Tensor => sub(other, input, { alpha }),
});

// ---- mul / div -------------------------------------------------------------------
export const mul = op('mul', [T.tensorOrScalar('input'), T.tensorOrScalar('other')], 'input * other, broadcast and promoted');
define(mul, {
  node: 'MulBackward0',
  forward: ({ input, other }) => {
    if (!(input instanceof Tensor) && !(other instanceof Tensor)) throw bothScalars('mul');
    // A boolean stays one: it is Python's bool scalar for type promotion.
    const a = input,
      b = other;
    // input is needed only for other's gradient (PyTorch saves no more).
    return { out: K.binary('Mul', a, b), save: { a: b instanceof Tensor ? a : 0, b } };
  },
  grads: { input: (g, s) => g.mul(s.b), other: (g, s) => g.mul(s.a) },
});

/** x * x. */
export const square = op('square', [T.tensor('input')], 'input * input');
define(square, {
  impl: ({ input }): Tensor => mul(input, input),
});

export type RoundingMode = 'trunc' | 'floor';
const roundingModeParam = p.custom(
  'roundingMode',
  "'trunc'|'floor'|null",
  (v, owner): RoundingMode | null => {
    if (v !== null && v !== 'trunc' && v !== 'floor') {
      throw new RangeError(
        `${owner}: expected rounding_mode to be one of None, 'trunc', or 'floor' but found ${fmtValue(v).replace(/"/g, "'")}`,
      );
    }
    return v;
  },
  null,
);

// True division: integer inputs divide in float32 (PyTorch's div).
export const div = op(
  'div',
  [T.tensorOrScalar('input'), T.tensorOrScalar('other'), p.kw(roundingModeParam)],
  "input / other; roundingMode 'trunc' or 'floor' rounds (no gradient)",
);
define(div, {
  node: ({ roundingMode }) => (roundingMode === null ? 'DivBackward0' : 'DivBackward2'),
  forward: ({ input, other, roundingMode }) => {
    if (!(input instanceof Tensor) && !(other instanceof Tensor)) throw bothScalars('div');
    const a = input,
      b = other;
    if (roundingMode !== null) return { out: roundedDiv(a, b, roundingMode, 'div'), save: null };
    return { out: K.binary('Div', a, b, K.floatDType(K.binaryDType(a, b))), save: { a: b instanceof Tensor ? a : 0, b } };
  },
  grads: {
    // A rounded quotient is piecewise constant: zero gradient, as PyTorch's.
    input: (g, s) => (s === null ? g.mul(0) : g.div(s.b)),
    // d(a/b)/db = -(a/b)/b, rounded in PyTorch's order.
    other: (g, s) => (s === null ? g.mul(0) : g.mul(div(s.a, s.b).div(s.b)).neg()),
  },
});

// div with a rounding mode: the promoted dtype (ints stay ints). A boolean
// promotes as Python's bool, then divides as 0 or 1.
const asNumber = (v: Operand): Tensor | number => (typeof v === 'boolean' ? Number(v) : v);

function roundedDiv(x: Operand, y: Operand, mode: RoundingMode, op: string): Tensor {
  const dt = K.binaryDType(x, y);
  if (dt === 'bool') throw new TypeError(`${op}: "div_${mode}" is not implemented for bool (rounding_mode='${mode}')`);
  const a = asNumber(x),
    b = asNumber(y);
  if (isFloating(dt)) {
    if (mode === 'floor') return K.binary('FloorDivide', a, b, dt);
    // trunc(q): ceil below zero, floor above (NaN and infinities pass through).
    const q = K.binary('Div', a, b, dt);
    const out = K.output(q._shape, dt, op, q._storage.device);
    native.where(K.binary('Lt', q, 0)._ref(), K.unary('Ceil', q)._ref(), K.unary('Floor', q)._ref(), out._ref());
    return out;
  }
  checkIntDivisor(a, b, op, `with rounding_mode='${mode}'`);
  // The integer kernels truncate (Div) or floor (FloorDivide), never trap.
  return K.binary(mode === 'trunc' ? 'Div' : 'FloorDivide', a, b, dt);
}

/**
 * Integer division, remainder and fmod by zero are an error in PyTorch
 * ("ZeroDivisionError"), checked before the kernel, which would give 0.
 * Called only where the promoted dtype is an integer one.
 */
function checkIntDivisor(a: Tensor | number, b: Tensor | number, op: string, what: string): void {
  const outShape =
    a instanceof Tensor ? (b instanceof Tensor ? K.broadcastShapes(a._shape, b._shape, op) : a._shape) : (b as Tensor)._shape;
  if (K.numelOf(outShape) === 0) return;
  const zero = b instanceof Tensor ? b.numel() > 0 && !K.reduce('All', b, [...b._shape.keys()], false, 'bool').item() : b === 0;
  if (zero) {
    throw new RangeError(
      `${op}: ZeroDivisionError: integer division by zero${what ? ` ${what}` : ''} ` +
        `(input ${a instanceof Tensor ? `${a.dtype} ${K.fmtShape(a._shape)}` : fmtValue(a)}, ` +
        `other ${b instanceof Tensor ? `${b.dtype} ${K.fmtShape(b._shape)}` : fmtValue(b)})`,
    );
  }
}

// ---- remainder, fmod, floorDivide ------------------------------------------------------
/** The promoted dtype of a modulo (no bool), numbers for booleans, and the divisor check. */
function modOperands(input: Operand, other: Operand, op: string, kernel: string): [Tensor | number, Tensor | number, DType] {
  if (!(input instanceof Tensor) && !(other instanceof Tensor)) throw bothScalars(op);
  const dt = K.binaryDType(input, other);
  if (dt === 'bool') throw new TypeError(`${op}: "${kernel}" is not implemented for bool (both operands are bool)`);
  const a = asNumber(input),
    b = asNumber(other);
  if (!isFloating(dt)) checkIntDivisor(a, b, op, '');
  return [a, b, dt];
}

function notDifferentiable(what: string): Error {
  return new Error(`derivative for ${what} is not implemented (as in PyTorch 1.13)`);
}

type ModSaved = { a: Tensor | number; b: Tensor } | null;

export const remainder = op(
  'remainder',
  [T.tensorOrScalar('input'), T.tensorOrScalar('other')],
  "input modulo other, with other's sign (Python's %), broadcast and promoted",
);
define(remainder, {
  node: ({ other }) => (other instanceof Tensor ? 'RemainderBackward1' : 'RemainderBackward0'),
  forward: ({ input, other }): Saving<ModSaved> => {
    const [a, b, dt] = modOperands(input, other, 'remainder', 'remainder');
    return { out: K.binary('Remainder', a, b, dt), save: b instanceof Tensor ? { a, b } : null };
  },
  grads: {
    input: (g) => g,
    // d(a - b floor(a/b))/db = -floor(a/b); PyTorch has no formula for a number input.
    other: (g, s) => {
      if (s === null || !(s.a instanceof Tensor)) throw notDifferentiable('remainder with a number input');
      return g.mul(div(s.a, s.b, { roundingMode: 'floor' })).neg();
    },
  },
});

export const fmod = op(
  'fmod',
  [T.tensor('input'), T.tensorOrScalar('other')],
  "input modulo other, with input's sign (C's fmod), broadcast and promoted",
);
define(fmod, {
  node: ({ other }) => (other instanceof Tensor ? 'FmodBackward1' : 'FmodBackward0'),
  forward: ({ input, other }): Saving<ModSaved> => {
    const [a, b, dt] = modOperands(input, other, 'fmod', 'fmod');
    return { out: K.binary('Fmod', a, b, dt), save: b instanceof Tensor ? { a, b } : null };
  },
  grads: {
    input: (g) => g,
    other: (g, s) => g.mul(div(s!.a, s!.b, { roundingMode: 'trunc' })).neg(),
  },
});

// PyTorch 1.13 records floor_divide but has no derivative: backward through it fails.
export const floorDivide = op(
  'floorDivide',
  [T.tensorOrScalar('input'), T.tensorOrScalar('other')],
  "input / other rounded down (div with roundingMode 'floor'); not differentiable",
);
define(floorDivide, {
  node: 'NotImplemented',
  forward: ({ input, other }) => {
    if (!(input instanceof Tensor) && !(other instanceof Tensor)) throw bothScalars('floorDivide');
    return roundedDiv(input, other, 'floor', 'floorDivide');
  },
  grads: {
    input: () => {
      throw notDifferentiable('floor_divide');
    },
    other: () => {
      throw notDifferentiable('floor_divide');
    },
  },
});

// ---- pow -------------------------------------------------------------------------
type PowSaved =
  | { kind: 'scalarExp'; a: Tensor; e: number } // tensor ** number
  | { kind: 'tensors'; a: Tensor; b: Tensor; out: Tensor } // tensor ** tensor
  | { kind: 'scalarBase'; out: Tensor; logS: number }; // number ** tensor

export const pow = op('pow', [T.tensorOrScalar('input'), T.tensorOrScalar('exponent')], 'input to the power exponent');
define(pow, {
  node: 'PowBackward0',
  forward: ({ input, exponent }): Saving<PowSaved> => {
    if (!(input instanceof Tensor) && !(exponent instanceof Tensor)) throw bothScalars('pow');
    // PyTorch's result_type decides, scalars included: bool.pow(2) is int64,
    // int32.pow(false) stays int32, int.pow(0.5) is float32; there is no bool pow.
    const dt = K.binaryDType(input, exponent);
    if (dt === 'bool') throw new TypeError('pow: "pow" is not implemented for bool (both operands are bool)');
    if (!(input instanceof Tensor)) {
      // A number to a tensor power: d(s^e)/de = s^e ln(s).
      const out = K.binary('Pow', Number(input), exponent as Tensor);
      return { out, save: { kind: 'scalarBase' as const, out, logS: Math.log(Number(input)) } };
    }
    const base = input.dtype === dt ? input : K.cast(input, dt, 'pow');
    if (exponent instanceof Tensor) {
      const out = K.binary('Pow', base, exponent);
      return { out, save: { kind: 'tensors' as const, a: base, b: exponent, out } };
    }
    const e = Number(exponent);
    if (!isFloating(dt) && e < 0)
      throw new RangeError(`pow: integers to negative integer powers are not allowed (${input.dtype} tensor to the power ${e})`);
    return { out: e === 2 ? K.binary('Mul', base, base) : K.binary('Pow', base, e), save: { kind: 'scalarExp' as const, a: base, e } };
  },
  grads: {
    input: (g, s) => {
      if (s.kind === 'scalarExp') return s.e === 0 ? g.mul(0) : g.mul(s.e).mul(s.e === 2 ? s.a : s.a.pow(s.e - 1));
      if (s.kind === 'tensors') return g.mul(s.b).mul(s.a.pow(s.b.sub(1)));
      return null;
    },
    exponent: (g, s) => {
      if (s.kind === 'tensors') return g.mul(s.out).mul(s.a.log().mul(s.a.gt(0))); // log(a) where a > 0, else 0 (PyTorch's convention)
      if (s.kind === 'scalarBase') return g.mul(s.out).mul(Number.isFinite(s.logS) ? s.logS : 0);
      return null;
    },
  },
});

// ---- unary -----------------------------------------------------------------------
/** A unary op's gradient from g and the saved input or result (returns `any`: Note [Declared return types]). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type UnaryGrad = (g: Tensor, saved: Tensor) => any;

/**
 * A float unary op: integer inputs compute in float32, as PyTorch's. Its
 * gradient reads the input or the result (`saves`), which is all that is
 * kept for backward, as in PyTorch (y = x.exp(); x.add_(1) stays legal).
 */
function floatUnary<const N extends string>(
  name: N,
  kernel: UnaryOp,
  node: string,
  doc: string,
  saves: 'input' | 'result',
  grad: UnaryGrad,
) {
  const f = op(name, [T.tensor('input')], doc);
  define(f, {
    node,
    forward: ({ input }) => {
      const y = K.unary(kernel, input, K.floatDType(input.dtype));
      return { out: y, save: saves === 'input' ? input : y };
    },
    grads: { input: (g, saved) => grad(g, saved) },
  });
  return f;
}

export const exp = floatUnary('exp', 'Exp', 'ExpBackward0', 'e to the input', 'result', (g, y) => g.mul(y));
export const log = floatUnary('log', 'Log', 'LogBackward0', 'natural logarithm', 'input', (g, x) => g.div(x));
export const log2 = floatUnary('log2', 'Log2', 'Log2Backward0', 'base-2 logarithm', 'input', (g, x) => g.div(x.mul(Math.LN2)));
export const log10 = floatUnary('log10', 'Log10', 'Log10Backward0', 'base-10 logarithm', 'input', (g, x) => g.div(x.mul(Math.LN10)));
export const expm1 = floatUnary('expm1', 'Expm1', 'Expm1Backward0', 'exp(input) - 1', 'result', (g, y) => g.mul(y.add(1)));
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
export const erf = floatUnary('erf', 'Erf', 'ErfBackward0', 'the error function', 'input', (g, x) =>
  g.mul(x.square().neg().exp().mul(TWO_OVER_SQRT_PI)),
);
export const erfc = floatUnary('erfc', 'Erfc', 'ErfcBackward0', '1 - erf(input), accurate where erf is near 1', 'input', (g, x) =>
  g.mul(x.square().neg().exp().mul(-TWO_OVER_SQRT_PI)),
);
export const erfinv = floatUnary('erfinv', 'Erfinv', 'ErfinvBackward0', 'the inverse of erf on (-1, 1)', 'result', (g, y) =>
  g.mul(
    y
      .square()
      .exp()
      .mul(Math.sqrt(Math.PI) / 2),
  ),
);
export const log1p = floatUnary('log1p', 'Log1p', 'Log1PBackward0', 'log(1 + input)', 'input', (g, x) => g.div(x.add(1)));
export const sqrt = floatUnary('sqrt', 'Sqrt', 'SqrtBackward0', 'square root', 'result', (g, y) => g.div(y.mul(2)));
export const rsqrt = floatUnary('rsqrt', 'Rsqrt', 'RsqrtBackward0', '1 / sqrt(input)', 'result', (g, y) => g.mul(y.pow(3)).mul(-0.5));
export const sin = floatUnary('sin', 'Sin', 'SinBackward0', 'sine', 'input', (g, x) => g.mul(x.cos()));
export const cos = floatUnary('cos', 'Cos', 'CosBackward0', 'cosine', 'input', (g, x) => g.mul(x.sin()).neg());
export const sigmoid = floatUnary('sigmoid', 'Sigmoid', 'SigmoidBackward0', '1 / (1 + exp(-input))', 'result', (g, y) =>
  g.mul(y.mul(y.rsub(1))),
);
export const tanh = floatUnary('tanh', 'Tanh', 'TanhBackward0', 'hyperbolic tangent', 'result', (g, y) => g.mul(y.mul(y).rsub(1)));
export const reciprocal = floatUnary('reciprocal', 'Reciprocal', 'ReciprocalBackward0', '1 / input', 'result', (g, y) =>
  g.mul(y.mul(y)).neg(),
);

/**
 * Unary ops that keep the input's dtype (defined on ints too). Only abs
 * reads its input in backward; the rest have a constant (or zero) gradient.
 */
function sameDTypeUnary<const N extends string>(name: N, kernel: UnaryOp, node: string, doc: string, grad: UnaryGrad | null) {
  const f = op(name, [T.tensor('input')], doc);
  define(f, {
    node,
    forward: ({ input }) => {
      if (input.dtype === 'bool' && kernel === 'Neg')
        throw new TypeError('neg: negation of a bool tensor is not supported; use logicalNot()');
      if (input.dtype === 'bool' && kernel !== 'Abs' && kernel !== 'Sign')
        throw new TypeError(`${name}: "${name}" is not implemented for bool`);
      return { out: K.unary(kernel, input), save: kernel === 'Abs' ? input : null };
    },
    grads: { input: (g, x) => (grad ? grad(g, x!) : g.mul(0)) },
  });
  return f;
}

export const neg = sameDTypeUnary('neg', 'Neg', 'NegBackward0', '-input', (g) => g.neg());
export const abs = sameDTypeUnary('abs', 'Abs', 'AbsBackward0', '|input|', (g, x) => g.mul(x.sign()));
export const sign = sameDTypeUnary('sign', 'Sign', 'SignBackward0', '-1, 0 or 1', null);
export const floor = sameDTypeUnary('floor', 'Floor', 'FloorBackward0', 'round down', null);
export const ceil = sameDTypeUnary('ceil', 'Ceil', 'CeilBackward0', 'round up', null);
export const trunc = sameDTypeUnary('trunc', 'Trunc', 'TruncBackward0', 'round toward zero', null);
export const fix = aliasOf(trunc, 'fix');

export const round = op(
  'round',
  [T.tensor('input'), p.kw(p.int('decimals', 0))],
  'round half to even; with decimals, to that many decimal places (negative: tens, hundreds, ...)',
);
define(round, {
  node: ({ decimals }) => (decimals === 0 ? 'RoundBackward0' : 'RoundBackward1'),
  forward: ({ input, decimals }) => {
    if (input.dtype === 'bool') throw new TypeError('round: "round" is not implemented for bool');
    if (decimals === 0) return K.unary('Round', input);
    if (!isFloating(input.dtype)) throw new TypeError(`round: "round" with decimals=${decimals} is not implemented for ${input.dtype}`);
    // PyTorch's order, in the input's dtype: scale, round half to even, unscale.
    const scale = 10 ** Math.abs(decimals);
    if (decimals > 0) return K.binary('Div', K.unary('Round', K.binary('Mul', input, scale)), scale);
    return K.binary('Mul', K.unary('Round', K.binary('Div', input, scale)), scale);
  },
  grads: { input: (g) => g.mul(0) },
});

export const frac = op('frac', [T.tensor('input')], 'input - trunc(input), the fractional part with the sign of input');
define(frac, {
  node: 'FracBackward0',
  forward: ({ input }) => {
    if (!isFloating(input.dtype)) throw new TypeError(`frac: "frac" is not implemented for ${input.dtype}`);
    return K.binary('Sub', input, K.unary('Trunc', input));
  },
  grads: { input: (g) => g },
});

// relu's gradient passes where the output is positive: one fused kernel
// for a first-order backward (Note [Fused backward]).
export const relu = op('relu', [T.tensor('input')], 'max(input, 0)');
define(relu, {
  node: 'ReluBackward0',
  forward: ({ input }) => {
    const y = K.unary('Relu', input);
    return { out: y, save: y };
  },
  grads: { input: (g, y) => g.mul(y.gt(0)) },
  fused: (g, y) => ({ input: g.dtype !== y.dtype || !sameShape(g._shape, y._shape) ? g.mul(y.gt(0)) : K.binary('ReluBackward', y, g) }),
});

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

export const logicalNot = op('logicalNot', [T.tensor('input')], 'not input, as bool');
define(logicalNot, {
  impl: ({ input }): Tensor => K.unary('LogicalNot', input),
});
export const isnan = op('isnan', [T.tensor('input')], 'input != input, as bool');
define(isnan, {
  impl: ({ input }): Tensor => K.unary('IsNan', input),
});

/** A bool tensor of t's shape, every element v (integer tensors are never inf or NaN). */
function constantMask(t: Tensor, v: boolean, op: string): Tensor {
  const out = K.output(t._shape, 'bool', op, t._storage.device);
  native.fill(out._ref(), Number(v));
  return out;
}
export const isinf = op('isinf', [T.tensor('input')], 'input is +inf or -inf, as bool');
define(isinf, {
  impl: ({ input }): Tensor =>
    isFloating(input.dtype) ? K.binary('Eq', K.unary('Abs', input), Infinity) : constantMask(input, false, 'isinf'),
});
export const isposinf = op('isposinf', [T.tensor('input')], 'input is +inf, as bool');
define(isposinf, {
  impl: ({ input }): Tensor => (isFloating(input.dtype) ? K.binary('Eq', input, Infinity) : constantMask(input, false, 'isposinf')),
});
export const isneginf = op('isneginf', [T.tensor('input')], 'input is -inf, as bool');
define(isneginf, {
  impl: ({ input }): Tensor => (isFloating(input.dtype) ? K.binary('Eq', input, -Infinity) : constantMask(input, false, 'isneginf')),
});
export const isfinite = op('isfinite', [T.tensor('input')], 'input is neither inf nor NaN, as bool');
define(isfinite, {
  // x - x is 0 exactly when x is finite (inf - inf and NaN give NaN).
  impl: ({ input }): Tensor =>
    isFloating(input.dtype) ? K.binary('Eq', K.binary('Sub', input, input), 0) : constantMask(input, true, 'isfinite'),
});

/** x with `value` where mask is true (one where kernel). */
function fillWhere(x: Tensor, mask: Tensor, value: number, op: string): Tensor {
  const dev = x._storage.device;
  const v = K.output([], x.dtype, op, dev);
  native.fill(v._ref(), value);
  const out = K.output(x._shape, x.dtype, op, dev);
  native.where(mask._ref(), K.broadcastRef(v, x._shape), x._ref(), out._ref());
  return out;
}
const FLOAT_MAX: Partial<Record<DType, number>> = {
  float32: 3.4028234663852886e38,
  float64: Number.MAX_VALUE,
  float16: 65504,
  bfloat16: 3.3895313892515355e38,
};

export const nanToNum = op(
  'nanToNum',
  [T.tensor('input'), p.optFloat('nan'), p.optFloat('posinf'), p.optFloat('neginf')],
  "NaN, +inf and -inf replaced by nan (0), posinf and neginf (the dtype's largest finite values by default)",
);
define(nanToNum, {
  node: 'NanToNumBackward0',
  forward: ({ input, nan, posinf, neginf }) => {
    if (!isFloating(input.dtype)) return { out: K.clone(input, 'nan_to_num'), save: input };
    const max = FLOAT_MAX[input.dtype]!;
    let out = fillWhere(input, K.unary('IsNan', input), nan ?? 0, 'nan_to_num');
    out = fillWhere(out, K.binary('Eq', input, Infinity), posinf ?? max, 'nan_to_num');
    out = fillWhere(out, K.binary('Eq', input, -Infinity), neginf ?? -max, 'nan_to_num');
    return { out, save: input };
  },
  grads: { input: (g, x) => g.mul(isfinite(x)) },
});

// ---- logical and bitwise ---------------------------------------------------------------
function logical<const N extends string>(name: N, kernel: BinaryOp, doc: string) {
  const f = op(name, [T.tensor('input'), T.tensor('other')], `input ${doc} other, nonzero as true; as bool`);
  define(f, { impl: ({ input, other }): Tensor => K.binary(kernel, input, other) });
  return f;
}
export const logicalAnd = logical('logicalAnd', 'LogicalAnd', 'and');
export const logicalOr = logical('logicalOr', 'LogicalOr', 'or');
export const logicalXor = logical('logicalXor', 'LogicalXor', 'xor');

function floatBitwise(op: string, dt: DType, what: string): TypeError {
  return new TypeError(`${op}: bitwise ops are not implemented for ${dt} (${what}); they take integer and bool tensors`);
}
const describeOperand = (v: Operand): string => (v instanceof Tensor ? `${v.dtype} tensor` : fmtValue(v));

function bitwise<const N extends string>(name: N, kernel: BinaryOp, doc: string) {
  const f = op(name, [T.tensorOrScalar('input'), T.tensorOrScalar('other')], `bitwise ${doc} of integer or bool operands`);
  define(f, {
    impl: ({ input, other }): Tensor => {
      if (!(input instanceof Tensor) && !(other instanceof Tensor)) throw bothScalars(name);
      const dt = K.binaryDType(input, other);
      if (isFloating(dt)) throw floatBitwise(name, dt, `input ${describeOperand(input)}, other ${describeOperand(other)}`);
      return K.binary(kernel, input, other, dt);
    },
  });
  return f;
}
export const bitwiseAnd = bitwise('bitwiseAnd', 'BitwiseAnd', 'and');
export const bitwiseOr = bitwise('bitwiseOr', 'BitwiseOr', 'or');
export const bitwiseXor = bitwise('bitwiseXor', 'BitwiseXor', 'xor');

export const bitwiseNot = op('bitwiseNot', [T.tensor('input')], 'bitwise not of an integer tensor; logical not of a bool one');
define(bitwiseNot, {
  impl: ({ input }): Tensor => {
    if (input.dtype === 'bool') return K.unary('LogicalNot', input);
    if (isFloating(input.dtype)) throw floatBitwise('bitwiseNot', input.dtype, `input ${input.dtype} tensor`);
    // ~x is x ^ (all ones).
    return K.binary('BitwiseXor', input, input.dtype === 'uint8' ? 255 : -1);
  },
});

// ---- clamp, maximum, minimum -------------------------------------------------------
export const clamp = op(
  'clamp',
  [T.tensor('input'), p.optFloat('min'), p.optFloat('max')],
  'input limited to [min, max] (either may be null)',
);
define(clamp, {
  node: 'ClampBackward1',
  forward: ({ input, min, max }) => {
    if (min === null && max === null) throw new TypeError("clamp: at least one of 'min' or 'max' must not be None");
    const lo = min ?? NaN,
      hi = max ?? NaN;
    const out = K.output(input._shape, input.dtype, 'clamp', input.device);
    native.clamp(input._ref(), lo, hi, out._ref());
    return { out, save: { x: input, lo, hi } };
  },
  grads: {
    input: (g, { x, lo, hi }) => {
      let mask = x.ge(lo);
      if (!Number.isNaN(hi)) mask = K.binary('LogicalAnd', Number.isNaN(lo) ? x.le(hi) : mask, x.le(hi));
      else if (Number.isNaN(lo)) mask = x.eq(x);
      return g.mul(mask);
    },
  },
});

function extremum<const N extends 'maximum' | 'minimum'>(name: N, kernel: 'Maximum' | 'Minimum', node: string) {
  const f = op(name, [T.tensor('input'), T.tensor('other')], `elementwise ${name} of two tensors`);
  define(f, {
    node,
    forward: ({ input, other }) => ({ out: K.binary(kernel, input, other), save: { a: input, b: other } }),
    grads: {
      // Ties split the gradient in half, as PyTorch's.
      input: (g, { a, b }) => g.mul(winShare(a, b, kernel, g.dtype)),
      other: (g, { a, b }) => g.mul(winShare(a, b, kernel, g.dtype).rsub(1)),
    },
  });
  return f;
}
function winShare(a: Tensor, b: Tensor, kernel: 'Maximum' | 'Minimum', dtype: DType): Tensor {
  const wins = kernel === 'Maximum' ? a.gt(b) : a.lt(b);
  return wins.to(dtype).add(a.eq(b).to(dtype).mul(0.5));
}
export const maximum = extremum('maximum', 'Maximum', 'MaximumBackward0');
export const minimum = extremum('minimum', 'Minimum', 'MinimumBackward0');

// ---- comparisons -------------------------------------------------------------------
function comparison<const N extends string>(name: N, kernel: BinaryOp, doc: string) {
  const f = op(name, [T.tensor('input'), T.tensorOrScalar('other')], `input ${doc} other, as bool`);
  define(f, { impl: ({ input, other }) => K.binary(kernel, input, other) });
  return f;
}
export const eq = comparison('eq', 'Eq', '==');
export const ne = comparison('ne', 'Ne', '!=');
export const gt = comparison('gt', 'Gt', '>');
export const ge = comparison('ge', 'Ge', '>=');
export const lt = comparison('lt', 'Lt', '<');
export const le = comparison('le', 'Le', '<=');

export const equal = op('equal', [T.tensor('input'), T.tensor('other')], 'true if same shape and same values', returns<boolean>());
define(equal, {
  impl: ({ input, other }): boolean => {
    if (!sameShape(input._shape, other._shape)) return false;
    return K.binary('Eq', input, other).all().item() === 1;
  },
});

const closeParams = [
  T.tensor('input'),
  T.tensor('other'),
  p.float('rtol', 1e-5),
  p.float('atol', 1e-8),
  p.bool('equalNan', false),
] as const;

/** PyTorch's isclose: equal, or finite |input - other| <= atol + |rtol * other|; same dtypes only. */
function closeMask(input: Tensor, other: Tensor, rtol: number, atol: number, equalNan: boolean, op: string): Tensor {
  if (input.dtype !== other.dtype) throw new TypeError(`${op}: ${other.dtype} did not match ${input.dtype} (other and input dtypes)`);
  if (!(rtol >= 0)) throw new RangeError(`${op}: rtol must be greater than or equal to zero, but got ${rtol}`);
  if (!(atol >= 0)) throw new RangeError(`${op}: atol must be greater than or equal to zero, but got ${atol}`);
  let close = K.binary('Eq', input, other);
  if (equalNan) close = K.binary('LogicalOr', close, K.binary('LogicalAnd', K.unary('IsNan', input), K.unary('IsNan', other)));
  if (rtol === 0 && atol === 0) return close;
  // Integers and bools compare in the default float dtype, as PyTorch's.
  const dt = K.floatDType(input.dtype);
  const a = K.cast(input, dt, op),
    b = K.cast(other, dt, op);
  const allowed = K.binary('Add', K.unary('Abs', K.binary('Mul', b, rtol)), atol);
  const actual = K.unary('Abs', K.binary('Sub', a, b));
  const finite = K.binary('Eq', K.binary('Sub', actual, actual), 0);
  return K.binary('LogicalOr', close, K.binary('LogicalAnd', finite, K.binary('Le', actual, allowed)));
}

export const isclose = op('isclose', closeParams, 'elementwise: input == other, or |input - other| <= atol + rtol * |other|; as bool');
define(isclose, {
  impl: ({ input, other, rtol, atol, equalNan }): Tensor => closeMask(input, other, rtol, atol, equalNan, 'isclose'),
});

export const allclose = op('allclose', closeParams, 'isclose everywhere', returns<boolean>());
define(allclose, {
  impl: ({ input, other, rtol, atol, equalNan }): boolean => {
    const m = closeMask(input, other, rtol, atol, equalNan, 'allclose');
    return m.numel() === 0 || K.reduce('All', m, [...m._shape.keys()], false, 'bool').item() === 1;
  },
});

// ---- in place: x.add_(y) and torch.add_(x, y) ------------------------------------------
export const add_ = inplaceOf(add, 'Add');
export const sub_ = inplaceOf(sub, 'Sub');
export const mul_ = inplaceOf(mul, 'Mul');
export const div_ = inplaceOf(div, 'Div');
export const pow_ = inplaceOf(pow);
export const exp_ = inplaceOf(exp);
export const sqrt_ = inplaceOf(sqrt);
export const neg_ = inplaceOf(neg);
export const relu_ = inplaceOf(relu);
export const clamp_ = inplaceOf(clamp);
export const abs_ = inplaceOf(abs);
export const log_ = inplaceOf(log);
export const log1p_ = inplaceOf(log1p);
export const log2_ = inplaceOf(log2);
export const log10_ = inplaceOf(log10);
export const expm1_ = inplaceOf(expm1);
export const rsqrt_ = inplaceOf(rsqrt);
export const sin_ = inplaceOf(sin);
export const cos_ = inplaceOf(cos);
export const sigmoid_ = inplaceOf(sigmoid);
export const tanh_ = inplaceOf(tanh);
export const reciprocal_ = inplaceOf(reciprocal);
export const erf_ = inplaceOf(erf);
export const erfc_ = inplaceOf(erfc);
export const erfinv_ = inplaceOf(erfinv);
export const sign_ = inplaceOf(sign);
export const floor_ = inplaceOf(floor);
export const ceil_ = inplaceOf(ceil);
export const round_ = inplaceOf(round);
export const trunc_ = inplaceOf(trunc);
export const fix_ = aliasOf(trunc_, 'fix_');
export const frac_ = inplaceOf(frac);
export const nanToNum_ = inplaceOf(nanToNum);
export const remainder_ = inplaceOf(remainder);
export const fmod_ = inplaceOf(fmod);
export const floorDivide_ = inplaceOf(floorDivide);
export const logicalNot_ = inplaceOf(logicalNot);
export const logicalAnd_ = inplaceOf(logicalAnd);
export const logicalOr_ = inplaceOf(logicalOr);
export const logicalXor_ = inplaceOf(logicalXor);
export const bitwiseAnd_ = inplaceOf(bitwiseAnd);
export const bitwiseOr_ = inplaceOf(bitwiseOr);
export const bitwiseXor_ = inplaceOf(bitwiseXor);
export const bitwiseNot_ = inplaceOf(bitwiseNot);

export const clip = aliasOf(clamp, 'clip');
export const clip_ = aliasOf(clamp_, 'clip_');
