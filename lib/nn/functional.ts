// torch.nn.functional (`F`): PyTorch's functions, each declared once
// (lib/ops/op.ts) with PyTorch's signature in camelCase, so every parameter
// comes positionally, in PyTorch's order, or by name in one trailing
// options object, and an unknown key is a TypeError naming the function
// and the nearest valid name (lib/util/args.ts): F.conv2d(x, w, b, 2, 1)
// is F.conv2d(x, w, { bias: b, stride: 2, padding: 1 }).
//
// Note [F signatures]: a parameter PyTorch has and Kindling does not
// implement is left out (passing it is an unknown option), and every
// parameter after it in PyTorch's order is keyword-only, so a positional
// value never lands in the wrong place (the losses' options after the
// deprecated sizeAverage and reduce, softmax's dtype after _stacklevel).
// The binder places values, fills defaults and reports a missing or
// unknown argument; each function body checks the values (param.custom
// with `as`), so their messages are the function's own. New parameters
// (inplace, softmax's dtype, softplus's) are checked by the binder.
//
// These functions are composites: they check and normalise arguments and
// call the differentiable ops of lib/ops/nn.ts and the Tensor ops. F is not
// a method module: none of these becomes a Tensor method.
import { Tensor } from '../tensor.js';
import { DTYPES, isDType, isFloating, type DType } from '../dtype.js';
import { isGradEnabled, noGrad } from '../autograd/grad_mode.js';
import * as K from '../ops/kernels.js';
import { native } from '../backend/native.js';
import * as E from '../ops/elementwise.js';
import { gelu as geluOp } from '../ops/activation.js';
import * as NN from '../ops/nn.js';
import * as MM from '../ops/matmul.js';
import { where } from '../ops/join.js';
import { tensor as fromValues } from '../ops/creation.js';
import { define, op, returns } from '../ops/op.js';
import { as, param, type CallArgs, type OptionsOf } from '../util/args.js';

// Attention and embedding bags are declared in their own files, which import only the op layer.
export { scaledDotProductAttention, multiHeadAttentionForward, type MultiHeadAttentionArgs } from './functional_attention.js';
export { embeddingBag, type EmbeddingBagMode } from './functional_embedding_bag.js';
export { conv1d, convTranspose1d, convTranspose2d, type ConvSize } from './functional_conv.js';

export type Reduction = NN.Reduction;
/** An integer size, or one per spatial dim as [h, w]. */
export type Size2 = number | [number, number] | readonly number[];

const fmt = K.fmtShape;

function checkTensor(x: unknown, op: string, what = 'input'): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
}

function checkFloat(x: Tensor, op: string, what = 'input'): void {
  if (!isFloating(x.dtype)) throw new TypeError(`${op}: ${what} must be a float32 or float64 tensor, got ${x.dtype}`);
}

function optTensor(t: unknown, op: string, what: string): Tensor | null {
  if (t === undefined || t === null) return null;
  checkTensor(t, op, what);
  return t;
}

/** A number or [h, w] as [h, w] of integers >= min. */
function pair(v: unknown, op: string, what: string, min: number): [number, number] {
  const arr = typeof v === 'number' ? [v, v] : Array.isArray(v) ? v : null;
  if (!arr || arr.length !== 2 || !arr.every((n) => typeof n === 'number' && Number.isInteger(n))) {
    throw new TypeError(`${op}: ${what} must be an integer or a pair of integers [h, w], got ${K.fmtValue(v)}`);
  }
  if (arr[0] < min || arr[1] < min) {
    throw new RangeError(`${op}: ${what} must be ${min === 0 ? 'non-negative' : `at least ${min}`}, got ${K.fmtValue(v)}`);
  }
  return [arr[0], arr[1]];
}

function reductionOf(r: unknown, op: string): Reduction {
  if (r === undefined) return 'mean';
  if (r !== 'mean' && r !== 'sum' && r !== 'none') {
    throw new TypeError(`${op}: reduction must be 'mean', 'sum' or 'none', got ${K.fmtValue(r)}`);
  }
  return r;
}

/** Runs f on a 4-d input; an unbatched [C, H, W] input gets a batch dim of 1 for the call. */
function batched(x: Tensor, op: string, f: (x4: Tensor) => Tensor): Tensor {
  if (x.ndim === 3) return f(x.unsqueeze(0)).squeeze(0);
  if (x.ndim === 4) return f(x);
  throw new RangeError(`${op}: expected input of shape [N, C, H, W] (or unbatched [C, H, W]), got ${fmt(x._shape)}`);
}

/**
 * Writes f(input) over input (PyTorch's inplace=True). f saves its input
 * for backward, and overwriting the very memory it saved would fail the
 * version check at backward time, so when a graph is being recorded f
 * reads a copy.
 */
function inPlace(input: Tensor, f: (x: Tensor) => Tensor): Tensor {
  const src = isGradEnabled() && input.requiresGrad ? input.clone() : input;
  const y = f(src);
  return y === input ? input : input.copy_(y);
}

// ---- parameters (Note [F signatures]) -------------------------------------------------------
const tensor = <N extends string>(name: N) => param.custom(name, 'Tensor', as<Tensor>);
const optTensorParam = <N extends string>(name: N) => param.custom(name, 'Tensor?', as<Tensor | null>, null);
const size2 = <N extends string, D extends Size2 | undefined = undefined>(name: N, dflt?: D) =>
  param.custom(name, 'int[2]', as<Size2>, dflt);
const reduction = param.kw(param.custom('reduction', "'none'|'mean'|'sum'", as<Reduction>, 'mean'));
const inplaceParam = param.bool('inplace', false);

// ---- linear and activations --------------------------------------------------------------
/** y = x @ w^T + b, w [out, in], b [out]. */
export const linear = op(
  'linear',
  [tensor('input'), tensor('weight'), optTensorParam('bias')],
  'input @ weight^T + bias; weight [out, in] (or [in]), bias [out]',
);
define(linear, {
  impl: ({ input: x, weight, bias }): Tensor => {
    checkTensor(x, 'linear');
    checkTensor(weight, 'linear', 'weight');
    const b = optTensor(bias, 'linear', 'bias');
    K.sameDevice('linear', x, weight, b);
    if (weight.ndim !== 2 && weight.ndim !== 1) throw new RangeError(`linear: weight must be 1-D or 2-D, got ${fmt(weight._shape)}`);
    if (x.ndim === 0) throw new RangeError('linear: input must have at least one dimension');
    const inF = weight._shape[weight.ndim - 1];
    if (x._shape[x.ndim - 1] !== inF) {
      throw new RangeError(
        `linear: input ${fmt(x._shape)} and weight ${fmt(weight._shape)} do not fit (in_features ${x._shape[x.ndim - 1]} != ${inF})`,
      );
    }
    // As PyTorch 1.13's linear: with a bias and a 2-D weight, 2-D input is one
    // addmm (AddmmBackward0) and contiguous 3-D input one addmm over its rows
    // (ViewBackward0 over it); anything else a matmul, then the bias added.
    if (b && weight.ndim === 2) {
      if (x.ndim === 2) return MM.addmm(b, x, weight.t());
      if (x.ndim === 3 && x.isContiguous()) {
        const [n, m] = x._shape;
        return MM.addmm(b, x.view([-1, inF]), weight.t()).view([n, m, weight._shape[0]]);
      }
    }
    const y = x.matmul(weight.ndim === 2 ? weight.t() : weight);
    return b ? y.add(b) : y;
  },
});

export const relu = op('relu', [tensor('input'), inplaceParam], 'max(input, 0); inplace writes it into input');
define(relu, {
  impl: ({ input, inplace }): Tensor => {
    checkTensor(input, 'relu');
    return inplace ? E.relu_(input) : E.relu(input);
  },
});

export const sigmoid = op('sigmoid', [tensor('input')], '1 / (1 + exp(-input))');
define(sigmoid, {
  impl: ({ input }): Tensor => {
    checkTensor(input, 'sigmoid');
    return E.sigmoid(input);
  },
});

export const tanh = op('tanh', [tensor('input')], 'hyperbolic tangent');
define(tanh, {
  impl: ({ input }): Tensor => {
    checkTensor(input, 'tanh');
    return E.tanh(input);
  },
});

export const leakyRelu = op(
  'leakyRelu',
  [tensor('input'), param.custom('negativeSlope', 'float', as<number>, 0.01), inplaceParam],
  'input where > 0, else negativeSlope * input; inplace writes it into input',
);
define(leakyRelu, {
  impl: ({ input, negativeSlope, inplace }): Tensor => {
    checkTensor(input, 'leakyRelu');
    checkFloat(input, 'leakyRelu');
    if (typeof negativeSlope !== 'number' || !Number.isFinite(negativeSlope)) {
      throw new TypeError(`leakyRelu: negativeSlope must be a finite number, got ${K.fmtValue(negativeSlope)}`);
    }
    return inplace ? inPlace(input, (x) => NN.leakyRelu(x, negativeSlope)) : NN.leakyRelu(input, negativeSlope);
  },
});

export type GeluApproximate = 'none' | 'tanh';

/** GELU; { approximate: 'tanh' } uses PyTorch's tanh approximation. */
export const gelu = op(
  'gelu',
  [tensor('input'), param.custom('approximate', "'none'|'tanh'", as<GeluApproximate>, 'none')],
  "input * Phi(input); approximate 'tanh' uses PyTorch's tanh form",
);
define(gelu, {
  impl: ({ input: x, approximate: a }): Tensor => {
    checkTensor(x, 'gelu');
    const approximate = a ?? 'none';
    if (approximate === 'none') return geluOp(x);
    if (approximate !== 'tanh') throw new TypeError(`gelu: approximate must be 'none' or 'tanh', got ${K.fmtValue(approximate)}`);
    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    const inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
    return x.mul(0.5).mul(inner.tanh().add(1));
  },
});

/**
 * softplus(x) = log(1 + exp(beta x)) / beta, reverting to x where
 * beta x > threshold (PyTorch's numerical cut-off).
 */
export const softplus = op(
  'softplus',
  [tensor('input'), param.float('beta', 1), param.float('threshold', 20)],
  'log(1 + exp(beta * input)) / beta; input where beta * input > threshold',
);
define(softplus, {
  impl: ({ input, beta, threshold }): Tensor => {
    checkTensor(input, 'softplus');
    checkFloat(input, 'softplus');
    return softplusOf(input, beta, threshold);
  },
});

function softplusOf(input: Tensor, beta: number, threshold: number): Tensor {
  const bx = beta === 1 ? input : input.mul(beta);
  const linearPart = bx.gt(threshold);
  // Each side is zeroed where the other is taken (an infinite input
  // stays out of the side that drops it), and exp runs only where its
  // side is kept: an exp that overflowed where it is dropped would still
  // make that entry's gradient NaN (0 * inf).
  const soft = bx.maskedFill(linearPart, 0).exp().log1p();
  return input.maskedFill(linearPart.logicalNot(), 0).add((beta === 1 ? soft : soft.div(beta)).maskedFill(linearPart, 0));
}

/** PyTorch's legacy choice of dim when softmax is called without one. */
function softmaxDim(x: Tensor, dim: number | undefined | null): number {
  if (dim !== undefined && dim !== null) return dim;
  return x.ndim === 0 || x.ndim === 1 || x.ndim === 3 ? 0 : 1;
}

/** The input in the dtype softmax is asked to compute in (PyTorch casts before the op). */
function softmaxInput(x: Tensor, dtype: DType | null, op: string): Tensor {
  if (dtype === null) return x;
  if (!isFloating(dtype)) throw new TypeError(`${op}: dtype must be a floating point dtype (float32 or float64), got ${dtype}`);
  return x.to(dtype);
}

const SOFTMAX = [
  tensor('input'),
  param.custom('dim', 'int?', as<number | null>, null),
  param.kw(
    param.custom(
      'dtype',
      'dtype?',
      (v, o): DType | null => {
        if (v !== null && !isDType(v)) throw new TypeError(`${o}: dtype must be one of ${DTYPES.join(', ')} or null, got ${K.fmtValue(v)}`);
        return v;
      },
      null,
    ),
  ),
] as const;

export const softmax = op('softmax', SOFTMAX, 'exp(input) / sum(exp(input)) along dim, computed in dtype if given');
define(softmax, {
  impl: ({ input: x, dim, dtype }): Tensor => {
    checkTensor(x, 'softmax');
    return softmaxInput(x, dtype, 'softmax').softmax(softmaxDim(x, dim));
  },
});

export const logSoftmax = op('logSoftmax', SOFTMAX, 'log(softmax(input)) along dim, computed stably, in dtype if given');
define(logSoftmax, {
  impl: ({ input: x, dim, dtype }): Tensor => {
    checkTensor(x, 'logSoftmax');
    return softmaxInput(x, dtype, 'logSoftmax').logSoftmax(softmaxDim(x, dim));
  },
});

export const softmin = op('softmin', SOFTMAX, 'softmax(-input) along dim, computed in dtype if given');
define(softmin, {
  impl: ({ input: x, dim, dtype }): Tensor => {
    checkTensor(x, 'softmin');
    return softmaxInput(x, dtype, 'softmin').neg().softmax(softmaxDim(x, dim));
  },
});

// ---- more activations ------------------------------------------------------------------------
// Composites of Tensor ops (autograd records their nodes). Where PyTorch's
// gradient at a kink differs from what the composite's pieces would give,
// the value comes from where(): the branch a point takes is the one its
// gradient flows through, so the comparisons below fix the gradient at the
// kinks to PyTorch's (hardtanh's 0 at min and max, elu's alpha at 0, ...).

/** An activation's `inplace`: f writes over input (Note [F signatures]). */
function maybeInPlace(input: Tensor, inplace: boolean, f: (x: Tensor) => Tensor): Tensor {
  return inplace ? inPlace(input, f) : f(input);
}

function finite(v: unknown, op: string, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${op}: ${what} must be a finite number, got ${K.fmtValue(v)}`);
  return v;
}

/**
 * exp(x) - 1 without the cancellation near 0 (PyTorch uses expm1):
 * tanh(x/2) (exp(x) + 1) is exact algebra and keeps tanh's precision.
 */
function expm1(x: Tensor): Tensor {
  return x.mul(0.5).tanh().mul(x.exp().add(1));
}

/** x where x > 0, else scale * alpha * (exp(x / alpha') - 1), alpha' = inputScale^-1; exp only sees x <= 0. */
function eluOf(x: Tensor, alpha: number, scale: number, inputScale: number): Tensor {
  const pos = x.gt(0);
  const neg = x.maskedFill(pos, 0);
  const e = expm1(inputScale === 1 ? neg : neg.mul(inputScale)).mul(alpha * scale);
  return where(pos, scale === 1 ? x : x.mul(scale), e);
}

/** x clamped to [lo, hi], with PyTorch's hardtanh gradient: 1 strictly inside, 0 elsewhere. */
function hardtanhOf(x: Tensor, lo: number, hi: number): Tensor {
  const inside = K.binary('LogicalAnd', x.gt(lo), x.lt(hi));
  return where(
    inside,
    x,
    noGrad(() => x.clamp(lo, hi)),
  );
}

/** log(sigmoid(x)), stably: x - log1p(exp(x)) for x < 0, -log1p(exp(-x)) otherwise (exp never overflows). */
function logSigmoidOf(x: Tensor): Tensor {
  const neg = x.lt(0);
  const a = x.maskedFill(neg.logicalNot(), 0);
  const b = x.maskedFill(neg, 0);
  return where(neg, a.sub(a.exp().log1p()), b.neg().exp().log1p().neg());
}

function floatInput(x: unknown, op: string): asserts x is Tensor {
  checkTensor(x, op);
  checkFloat(x, op);
}

export const silu = op('silu', [tensor('input'), inplaceParam], 'input * sigmoid(input) (swish); inplace writes it into input');
define(silu, {
  impl: ({ input, inplace }): Tensor => {
    floatInput(input, 'silu');
    return maybeInPlace(input, inplace, (x) => x.mul(x.sigmoid()));
  },
});

export const mish = op('mish', [tensor('input'), inplaceParam], 'input * tanh(softplus(input)); inplace writes it into input');
define(mish, {
  impl: ({ input, inplace }): Tensor => {
    floatInput(input, 'mish');
    return maybeInPlace(input, inplace, (x) => x.mul(softplusOf(x, 1, 20).tanh()));
  },
});

export const elu = op(
  'elu',
  [tensor('input'), param.float('alpha', 1), inplaceParam],
  'input where > 0, else alpha * (exp(input) - 1); inplace writes it into input',
);
define(elu, {
  impl: ({ input, alpha, inplace }): Tensor => {
    floatInput(input, 'elu');
    const a = finite(alpha, 'elu', 'alpha');
    return maybeInPlace(input, inplace, (x) => eluOf(x, a, 1, 1));
  },
});

// SELU's constants, as PyTorch's (Klambauer et al., 2017).
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

export const selu = op('selu', [tensor('input'), inplaceParam], 'scale * elu(input, alpha), the self-normalising constants');
define(selu, {
  impl: ({ input, inplace }): Tensor => {
    floatInput(input, 'selu');
    return maybeInPlace(input, inplace, (x) => eluOf(x, SELU_ALPHA, SELU_SCALE, 1));
  },
});

export const celu = op(
  'celu',
  [tensor('input'), param.float('alpha', 1), inplaceParam],
  'input where > 0, else alpha * (exp(input / alpha) - 1); inplace writes it into input',
);
define(celu, {
  impl: ({ input, alpha, inplace }): Tensor => {
    floatInput(input, 'celu');
    const a = finite(alpha, 'celu', 'alpha');
    if (a === 0) throw new RangeError('celu: alpha cannot be 0');
    return maybeInPlace(input, inplace, (x) => eluOf(x, a, 1, 1 / a));
  },
});

export const hardtanh = op(
  'hardtanh',
  [tensor('input'), param.float('minVal', -1), param.float('maxVal', 1), inplaceParam],
  'input clamped to [minVal, maxVal]; inplace writes it into input',
);
define(hardtanh, {
  impl: ({ input, minVal, maxVal, inplace }): Tensor => {
    checkTensor(input, 'hardtanh');
    const lo = finite(minVal, 'hardtanh', 'minVal'),
      hi = finite(maxVal, 'hardtanh', 'maxVal');
    return maybeInPlace(input, inplace, (x) => hardtanhOf(x, lo, hi));
  },
});

export const relu6 = op('relu6', [tensor('input'), inplaceParam], 'min(max(input, 0), 6); inplace writes it into input');
define(relu6, {
  impl: ({ input, inplace }): Tensor => {
    checkTensor(input, 'relu6');
    return maybeInPlace(input, inplace, (x) => hardtanhOf(x, 0, 6));
  },
});

const SIXTH_F32 = Math.fround(1 / 6);

export const hardsigmoid = op(
  'hardsigmoid',
  [tensor('input'), inplaceParam],
  'relu6(input + 3) / 6, a piecewise-linear sigmoid; inplace writes it into input',
);
define(hardsigmoid, {
  impl: ({ input, inplace }): Tensor => {
    floatInput(input, 'hardsigmoid');
    // PyTorch's backward multiplies by 1/6 rounded to float32 (in float64
    // too); the value divides by 6 exactly. Both, to the last bit.
    return maybeInPlace(input, inplace, (x) => {
      const h = hardtanhOf(x, -3, 3);
      const slope = h.mul(SIXTH_F32);
      return slope.add(noGrad(() => h.div(6).sub(slope))).add(0.5);
    });
  },
});

export const hardswish = op('hardswish', [tensor('input'), inplaceParam], 'input * relu6(input + 3) / 6; inplace writes it into input');
define(hardswish, {
  impl: ({ input, inplace }): Tensor => {
    floatInput(input, 'hardswish');
    // PyTorch's gradient: 0 below -3, input / 3 + 0.5 on [-3, 3], 1 above.
    return maybeInPlace(input, inplace, (x) => where(x.lt(-3), 0, where(x.le(3), x.mul(x.add(3)).div(6), x)));
  },
});

export const logsigmoid = op('logsigmoid', [tensor('input')], 'log(sigmoid(input)), computed stably');
define(logsigmoid, {
  impl: ({ input }): Tensor => {
    floatInput(input, 'logsigmoid');
    return logSigmoidOf(input);
  },
});

export const softsign = op('softsign', [tensor('input')], 'input / (1 + |input|)');
define(softsign, {
  impl: ({ input }): Tensor => {
    floatInput(input, 'softsign');
    return input.div(input.abs().add(1));
  },
});

export const tanhshrink = op('tanhshrink', [tensor('input')], 'input - tanh(input)');
define(tanhshrink, {
  impl: ({ input }): Tensor => {
    floatInput(input, 'tanhshrink');
    return input.sub(input.tanh());
  },
});

export const hardshrink = op('hardshrink', [tensor('input'), param.float('lambd', 0.5)], 'input where |input| > lambd, else 0');
define(hardshrink, {
  impl: ({ input, lambd }): Tensor => {
    floatInput(input, 'hardshrink');
    const l = finite(lambd, 'hardshrink', 'lambd');
    return input.maskedFill(K.binary('LogicalAnd', input.ge(-l), input.le(l)), 0);
  },
});

export const softshrink = op(
  'softshrink',
  [tensor('input'), param.float('lambd', 0.5)],
  'input - lambd above lambd, input + lambd below -lambd, else 0',
);
define(softshrink, {
  impl: ({ input: x, lambd }): Tensor => {
    floatInput(x, 'softshrink');
    const l = finite(lambd, 'softshrink', 'lambd');
    if (l < 0) throw new RangeError(`softshrink: lambd must be greater or equal to 0, but found to be ${l}`);
    return where(x.gt(l), x.sub(l), where(x.lt(-l), x.add(l), 0));
  },
});

export const threshold = op(
  'threshold',
  [tensor('input'), param.float('threshold'), param.float('value'), inplaceParam],
  'input where > threshold, else value; inplace writes it into input',
);
define(threshold, {
  impl: ({ input, threshold: th, value, inplace }): Tensor => {
    checkTensor(input, 'threshold');
    if (typeof th !== 'number' || Number.isNaN(th)) throw new TypeError(`threshold: threshold must be a number, got ${K.fmtValue(th)}`);
    if (typeof value !== 'number') throw new TypeError(`threshold: value must be a number, got ${K.fmtValue(value)}`);
    return maybeInPlace(input, inplace, (x) => x.maskedFill(x.le(th), value));
  },
});

export const glu = op(
  'glu',
  [tensor('input'), param.int('dim', -1)],
  'a * sigmoid(b), a and b the two halves of input along dim (its size must be even)',
);
define(glu, {
  impl: ({ input: x, dim }): Tensor => {
    floatInput(x, 'glu');
    if (x.ndim === 0) throw new RangeError('glu: does not support 0-d tensors (the halving dim must have an even size)');
    if (!Number.isInteger(dim) || dim < -x.ndim || dim >= x.ndim)
      throw new RangeError(`glu: dim ${K.fmtValue(dim)} is out of range for a ${x.ndim}-d input`);
    const d = dim < 0 ? dim + x.ndim : dim;
    const n = x._shape[d];
    if (n % 2 !== 0) throw new RangeError(`glu: halving dimension must be even, but dimension ${d} is size ${n}`);
    return x.narrow(d, 0, n / 2).mul(x.narrow(d, n / 2, n / 2).sigmoid());
  },
});

/** prelu(input, weight): weight holds one slope, or one per channel (dim 1). */
export const prelu = op(
  'prelu',
  [tensor('input'), tensor('weight')],
  'input where > 0, else weight * input; weight one slope or one per channel (dim 1)',
);
define(prelu, {
  impl: ({ input: x, weight: w }): Tensor => {
    const op = 'prelu';
    floatInput(x, op);
    checkTensor(w, op, 'weight');
    checkFloat(w, op, 'weight');
    K.sameDevice(op, x, w);
    if (w.ndim > 1) throw new RangeError(`${op}: expected weight to be a scalar or 1-D tensor, got ${fmt(w._shape)}`);
    const channels = x.ndim >= 2 ? x._shape[1] : 1;
    const n = w.numel();
    if (n !== 1 && n !== channels) {
      throw new RangeError(
        `${op}: mismatch of parameter numbers and input channel size: found ${n} parameters and channel size ${channels} (input ${fmt(x._shape)})`,
      );
    }
    const slope = n === 1 ? w.reshape([]) : w.reshape(x._shape.map((s, i) => (i === 1 ? s : 1)));
    return where(x.gt(0), x, x.mul(slope));
  },
});

// ---- convolution -------------------------------------------------------------------------
export interface Conv2dOptions {
  stride?: Size2;
  /** A size, or 'valid' (no padding) / 'same' (output as large as the input; stride 1 only). */
  padding?: Size2 | 'same' | 'valid';
  dilation?: Size2;
  groups?: number;
}

function convOutSize(inp: number, k: number, s: number, padBefore: number, padAfter: number, d: number): number {
  return Math.floor((inp + padBefore + padAfter - d * (k - 1) - 1) / s) + 1;
}

export const conv2d = op(
  'conv2d',
  [
    tensor('input'),
    tensor('weight'),
    optTensorParam('bias'),
    size2('stride', 1),
    param.custom('padding', "int[2]|'same'|'valid'", as<Size2 | 'same' | 'valid'>, 0),
    size2('dilation', 1),
    param.custom('groups', 'int', as<number>, 1),
  ],
  "2-d convolution of [N, C, H, W] (or [C, H, W]) with weight [OC, C/groups, kH, kW]; padding a size, 'same' or 'valid'",
);
define(conv2d, {
  impl: (o): Tensor => {
    const op = 'conv2d';
    const { input: x, weight } = o;
    checkTensor(x, op);
    checkTensor(weight, op, 'weight');
    const b = optTensor(o.bias, op, 'bias');
    K.sameDevice(op, x, weight, b);
    const stride = pair(o.stride ?? 1, op, 'stride', 1);
    const dilation = pair(o.dilation ?? 1, op, 'dilation', 1);
    const groups = o.groups ?? 1;
    if (typeof groups !== 'number' || !Number.isInteger(groups) || groups < 1) {
      throw new RangeError(`${op}: groups must be a positive integer, got ${K.fmtValue(groups)}`);
    }
    return batched(x, op, (x4) => {
      if (weight.ndim !== 4)
        throw new RangeError(`${op}: expected weight of shape [out_channels, in_channels / groups, kH, kW], got ${fmt(weight._shape)}`);
      checkFloat(x4, op);
      if (weight.dtype !== x4.dtype)
        throw new TypeError(`${op}: input (${x4.dtype}) and weight (${weight.dtype}) must have the same dtype`);
      const [, C, H, W] = x4._shape;
      const [OC, Cg, KH, KW] = weight._shape;
      if (OC % groups !== 0) {
        throw new RangeError(
          `${op}: given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, but got weight of shape ${fmt(weight._shape)}`,
        );
      }
      if (Cg * groups !== C) {
        throw new RangeError(
          `${op}: given groups=${groups}, weight of shape ${fmt(weight._shape)}, expected input ${fmt(x4._shape)} to have ${Cg * groups} channels, but got ${C} channels instead`,
        );
      }
      if (KH < 1 || KW < 1) throw new RangeError(`${op}: weight ${fmt(weight._shape)} has an empty kernel`);
      if (b) {
        if (b.ndim !== 1 || b._shape[0] !== OC) throw new RangeError(`${op}: expected bias of shape [${OC}], got ${fmt(b._shape)}`);
        if (b.dtype !== x4.dtype) throw new TypeError(`${op}: input (${x4.dtype}) and bias (${b.dtype}) must have the same dtype`);
      }
      let padBefore: [number, number], padAfter: [number, number];
      if (o.padding === 'valid') {
        padBefore = padAfter = [0, 0];
      } else if (o.padding === 'same') {
        if (stride[0] !== 1 || stride[1] !== 1)
          throw new RangeError(`${op}: padding='same' is not supported for strided convolutions (stride ${fmt(stride)})`);
        // The odd unit of padding goes after (bottom/right), as in PyTorch.
        const total = [dilation[0] * (KH - 1), dilation[1] * (KW - 1)];
        padBefore = [Math.floor(total[0] / 2), Math.floor(total[1] / 2)];
        padAfter = [total[0] - padBefore[0], total[1] - padBefore[1]];
      } else {
        if (typeof o.padding === 'string') throw new TypeError(`${op}: padding must be a size, 'same' or 'valid', got '${o.padding}'`);
        padBefore = padAfter = pair(o.padding ?? 0, op, 'padding', 0);
      }
      const OH = convOutSize(H, KH, stride[0], padBefore[0], padAfter[0], dilation[0]);
      const OW = convOutSize(W, KW, stride[1], padBefore[1], padAfter[1], dilation[1]);
      if (OH < 1 || OW < 1) {
        const effH = dilation[0] * (KH - 1) + 1,
          effW = dilation[1] * (KW - 1) + 1;
        throw new RangeError(
          `${op}: calculated padded input size per channel: (${H + padBefore[0] + padAfter[0]} x ${W + padBefore[1] + padAfter[1]}). ` +
            `Kernel size: (${effH} x ${effW}). Kernel size can't be greater than actual input size`,
        );
      }
      return NN.convolutionOrFused(x4, weight, b, stride, padBefore, dilation, groups, [OH, OW]);
    });
  },
});

// ---- pooling ---------------------------------------------------------------------------------
export interface MaxPool2dOptions {
  /** Default: the kernel size. */
  stride?: Size2 | null;
  padding?: Size2;
  dilation?: Size2;
  ceilMode?: boolean;
}

export interface AvgPool2dOptions {
  stride?: Size2 | null;
  padding?: Size2;
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number | null;
}

/** PyTorch's pooling_output_shape. */
function poolOutSize(inp: number, k: number, pad: number, s: number, d: number, ceilMode: boolean): number {
  const span = inp + 2 * pad - d * (k - 1) - 1 + (ceilMode ? s - 1 : 0);
  let out = Math.floor(span / s) + 1;
  // The last window must start inside the input or its left padding.
  if (ceilMode && (out - 1) * s >= inp + pad) out--;
  return out;
}

interface PoolGeometry {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  outHW: [number, number];
}

function poolGeometry(
  x4: Tensor,
  op: string,
  kernelSize: unknown,
  o: { stride?: unknown; padding?: unknown; dilation?: unknown; ceilMode?: unknown },
): PoolGeometry {
  const kernel = pair(kernelSize, op, 'kernelSize', 1);
  const stride = o.stride === undefined || o.stride === null ? kernel : pair(o.stride, op, 'stride', 1);
  const padding = pair(o.padding ?? 0, op, 'padding', 0);
  const dilation = pair(o.dilation ?? 1, op, 'dilation', 1);
  const ceilMode = !!o.ceilMode;
  for (let i = 0; i < 2; i++) {
    if (padding[i] * 2 > kernel[i]) {
      throw new RangeError(`${op}: pad should be at most half of kernel size, but got pad=${padding[i]} and kernel_size=${kernel[i]}`);
    }
  }
  const [, C, H, W] = x4._shape;
  const OH = poolOutSize(H, kernel[0], padding[0], stride[0], dilation[0], ceilMode);
  const OW = poolOutSize(W, kernel[1], padding[1], stride[1], dilation[1], ceilMode);
  if (OH < 1 || OW < 1) {
    throw new RangeError(`${op}: given input size (${C}x${H}x${W}), calculated output size (${C}x${OH}x${OW}) is too small`);
  }
  return { kernel, stride, padding, dilation, outHW: [OH, OW] };
}

/** max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False). */
const MAX_POOL2D = [
  tensor('input'),
  size2('kernelSize'),
  param.custom('stride', 'int[2]?', as<Size2 | null>, null),
  size2('padding', 0),
  size2('dilation', 1),
  param.custom('ceilMode', 'bool', as<boolean>, false),
  param.custom('returnIndices', 'bool', as<boolean>, false),
] as const;

type MaxPool2dArgs = { input: Tensor; kernelSize: Size2; stride: Size2 | null; padding: Size2; dilation: Size2; ceilMode: boolean };

/** Values only. */
function maxPoolValues(o: MaxPool2dArgs): Tensor {
  const op = 'maxPool2d';
  checkTensor(o.input, op);
  return batched(o.input, op, (x4) => {
    checkFloat(x4, op);
    const g = poolGeometry(x4, op, o.kernelSize, o);
    return NN.maxPool2dValues(x4, g.kernel, g.stride, g.padding, g.dilation, g.outHW);
  });
}

/** Values and the flat index (h * W + w) of each maximum in its plane. */
function maxPoolWithIndices(o: MaxPool2dArgs): { values: Tensor; indices: Tensor } {
  const op = 'maxPool2d';
  const x = o.input;
  checkTensor(x, op);
  const unbatched = x.ndim === 3;
  let indices: Tensor | null = null;
  const values = batched(x, op, (x4) => {
    checkFloat(x4, op);
    const g = poolGeometry(x4, op, o.kernelSize, o);
    const r = NN.maxPool2dValuesAndIndices(x4, g.kernel, g.stride, g.padding, g.dilation, g.outHW);
    indices = r.indices;
    return r.values;
  });
  const idx = indices as unknown as Tensor;
  return { values, indices: unbatched ? idx.squeeze(0) : idx };
}

/** What maxPool2d returns with returnIndices. */
export interface MaxPool2dWithIndices {
  values: Tensor;
  indices: Tensor;
}
type WithIndicesOptions = OptionsOf<typeof MAX_POOL2D> & { returnIndices: true };

const maxPool2dOp = op(
  'maxPool2d',
  MAX_POOL2D,
  '2-d max pooling of [N, C, H, W] (or [C, H, W]); returnIndices also gives the flat in-plane index of each maximum',
  returns<Tensor | MaxPool2dWithIndices>(),
);
define(maxPool2dOp, {
  impl: (o) => (o.returnIndices ? maxPoolWithIndices(o) : maxPoolValues(o)),
});

/**
 * 2-d max pooling. With { returnIndices: true } (PyTorch's return_indices)
 * it returns { values, indices }, indices being the flat h * W + w of each
 * maximum in its plane.
 */
export const maxPool2d = maxPool2dOp as unknown as {
  (input: Tensor, kernelSize: Size2, opts: WithIndicesOptions): MaxPool2dWithIndices;
  (input: Tensor, opts: WithIndicesOptions & { kernelSize: Size2 }): MaxPool2dWithIndices;
  (...args: CallArgs<typeof MAX_POOL2D>): Tensor;
  readonly spec: (typeof maxPool2dOp)['spec'];
};

/** maxPool2d that also returns the flat index (h * W + w) of each maximum, as PyTorch's return_indices. */
export const maxPool2dWithIndices = op(
  'maxPool2dWithIndices',
  MAX_POOL2D,
  'maxPool2d returning { values, indices } (returnIndices is implied)',
  returns<MaxPool2dWithIndices>(),
);
define(maxPool2dWithIndices, {
  impl: (o): MaxPool2dWithIndices => maxPoolWithIndices(o),
});

/** avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None). */
export const avgPool2d = op(
  'avgPool2d',
  [
    tensor('input'),
    size2('kernelSize'),
    param.custom('stride', 'int[2]?', as<Size2 | null>, null),
    size2('padding', 0),
    param.custom('ceilMode', 'bool', as<boolean>, false),
    param.custom('countIncludePad', 'bool', as<boolean>, true),
    param.custom('divisorOverride', 'int?', as<number | null>, null),
  ],
  '2-d average pooling of [N, C, H, W] (or [C, H, W])',
);
define(avgPool2d, {
  impl: (o): Tensor => {
    const op = 'avgPool2d';
    const x = o.input;
    checkTensor(x, op);
    const div = o.divisorOverride ?? 0;
    if (
      typeof div !== 'number' ||
      !Number.isInteger(div) ||
      div < 0 ||
      (o.divisorOverride !== undefined && o.divisorOverride !== null && div === 0)
    ) {
      throw new RangeError(`${op}: divisorOverride must be a positive integer, got ${K.fmtValue(o.divisorOverride)}`);
    }
    return batched(x, op, (x4) => {
      checkFloat(x4, op);
      const g = poolGeometry(x4, op, o.kernelSize, { ...o, dilation: 1 });
      return NN.avgPool2d(x4, g.kernel, g.stride, g.padding, o.countIncludePad ?? true, div, g.outHW);
    });
  },
});

/** outputSize: a size or [h, w]; null in either place keeps the input's size. */
export const adaptiveAvgPool2d = op(
  'adaptiveAvgPool2d',
  [tensor('input'), param.custom('outputSize', 'int?[2]', as<number | null | readonly (number | null)[]>)],
  '2-d average pooling of [N, C, H, W] (or [C, H, W]) to outputSize [h, w] (null keeps that size)',
);
define(adaptiveAvgPool2d, {
  impl: ({ input: x, outputSize }): Tensor => {
    const op = 'adaptiveAvgPool2d';
    checkTensor(x, op);
    return batched(x, op, (x4) => {
      checkFloat(x4, op);
      const [, , H, W] = x4._shape;
      const raw = Array.isArray(outputSize) ? outputSize : [outputSize, outputSize];
      if (raw.length !== 2) throw new TypeError(`${op}: outputSize must be an integer or [h, w], got ${K.fmtValue(outputSize)}`);
      const out = raw.map((v, i) => (v === null || v === undefined ? (i === 0 ? H : W) : v));
      if (!out.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 1)) {
        throw new RangeError(`${op}: outputSize must hold positive integers, got ${K.fmtValue(outputSize)}`);
      }
      if (H < 1 || W < 1) throw new RangeError(`${op}: expected a non-empty spatial input, got ${fmt(x4._shape)}`);
      // A 1x1 output is the spatial mean; PyTorch takes the same shortcut.
      if (out[0] === 1 && out[1] === 1) return x4.mean([2, 3], { keepdim: true });
      return NN.adaptiveAvgPool2d(x4, [out[0], out[1]]);
    });
  },
});

// ---- dropout and normalisation --------------------------------------------------------------
/** Zeroes elements with probability p and scales the rest by 1/(1-p); the identity when not training. */
export const dropout = op(
  'dropout',
  [tensor('input'), param.custom('p', 'float', as<number>, 0.5), param.custom('training', 'bool', as<boolean>, true), inplaceParam],
  'zeroes elements with probability p and scales the rest by 1/(1-p) when training; inplace writes it into input',
);
define(dropout, {
  impl: ({ input: x, p, training, inplace }): Tensor => {
    checkTensor(x, 'dropout');
    if (typeof p !== 'number' || !(p >= 0 && p <= 1))
      throw new RangeError(`dropout: probability has to be between 0 and 1, but got ${K.fmtValue(p)}`);
    if (!training || p === 0) return x;
    checkFloat(x, 'dropout');
    const mask = noGrad(() => NN.dropoutMask(x, p));
    return inplace ? x.mul_(mask) : x.mul(mask);
  },
});

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/** batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-05). */
export const batchNorm = op(
  'batchNorm',
  [
    tensor('input'),
    param.custom('runningMean', 'Tensor?', as<Tensor | null>),
    param.custom('runningVar', 'Tensor?', as<Tensor | null>),
    optTensorParam('weight'),
    optTensorParam('bias'),
    param.custom('training', 'bool', as<boolean>, false),
    param.custom('momentum', 'float', as<number>, 0.1),
    param.custom('eps', 'float', as<number>, 1e-5),
  ],
  'batch normalisation over dim 1 of [N, C, ...]; updates the running statistics in place when training',
);
define(batchNorm, {
  impl: (o): Tensor => {
    const op = 'batchNorm';
    const x = o.input;
    checkTensor(x, op);
    const rm = optTensor(o.runningMean, op, 'runningMean');
    const rv = optTensor(o.runningVar, op, 'runningVar');
    const w = optTensor(o.weight, op, 'weight');
    const b = optTensor(o.bias, op, 'bias');
    K.sameDevice(op, x, rm, rv, w, b);
    const training = o.training ?? false;
    const momentum = o.momentum ?? 0.1,
      eps = o.eps ?? 1e-5;
    if (typeof momentum !== 'number' || !Number.isFinite(momentum))
      throw new TypeError(`${op}: momentum must be a number, got ${K.fmtValue(momentum)}`);
    if (typeof eps !== 'number' || !(eps >= 0)) throw new TypeError(`${op}: eps must be a non-negative number, got ${K.fmtValue(eps)}`);
    if (x.ndim < 2) throw new RangeError(`${op}: expected input of shape [N, C, ...] with at least 2 dims, got ${fmt(x._shape)}`);
    checkFloat(x, op);
    const C = x._shape[1];
    for (const [t, name] of [
      [rm, 'runningMean'],
      [rv, 'runningVar'],
      [w, 'weight'],
      [b, 'bias'],
    ] as const) {
      if (!t) continue;
      if (t.numel() !== C) throw new RangeError(`${op}: ${name} should contain ${C} elements not ${t.numel()} (input ${fmt(x._shape)})`);
      checkFloat(t, op, name);
    }
    if (!training && (!rm || !rv)) throw new Error(`${op}: runningMean and runningVar must be given in evaluation mode (training: false)`);
    if (training) {
      const perChannel = x.numel() / Math.max(C, 1);
      if (perChannel <= 1)
        throw new RangeError(`${op}: expected more than 1 value per channel when training, got input of shape ${fmt(x._shape)}`);
    }
    const flat = (t: Tensor | null) => (t && t.ndim !== 1 ? t.reshape([C]) : t);
    return NN.nativeBatchNorm(x, flat(w), flat(b), rm, rv, !!training, momentum, eps);
  },
});

/** layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05). */
export const layerNorm = op(
  'layerNorm',
  [
    tensor('input'),
    param.custom('normalizedShape', 'int[]', as<number | number[]>),
    optTensorParam('weight'),
    optTensorParam('bias'),
    param.custom('eps', 'float', as<number>, 1e-5),
  ],
  'normalisation over the trailing normalizedShape dims, then weight and bias',
);
define(layerNorm, {
  impl: (o): Tensor => {
    const op = 'layerNorm';
    const { input: x, normalizedShape } = o;
    checkTensor(x, op);
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    if (!Array.isArray(shape) || shape.length === 0 || !shape.every((s) => Number.isInteger(s) && s >= 1)) {
      throw new TypeError(
        `${op}: normalizedShape must be a positive integer or a non-empty list of them, got ${K.fmtValue(normalizedShape)}`,
      );
    }
    const k = shape.length;
    const tail = x._shape.slice(x.ndim - k);
    if (x.ndim < k || tail.join() !== shape.join()) {
      throw new RangeError(
        `${op}: given normalizedShape=${fmt(shape)}, expected input with shape [*, ${shape.join(', ')}], but got input of shape ${fmt(x._shape)}`,
      );
    }
    checkFloat(x, op);
    const w = optTensor(o.weight, op, 'weight');
    const b = optTensor(o.bias, op, 'bias');
    K.sameDevice(op, x, w, b);
    for (const [t, name] of [
      [w, 'weight'],
      [b, 'bias'],
    ] as const) {
      if (t && t._shape.join() !== shape.join()) throw new RangeError(`${op}: ${name} must have shape ${fmt(shape)}, got ${fmt(t._shape)}`);
    }
    const eps = o.eps ?? 1e-5;
    // The fused kernel where it exists (CPU, float32/float64, parameters of
    // x's dtype); the composite of ops elsewhere.
    const fusable = (t: Tensor | null) => t === null || t.dtype === x.dtype;
    if (x.device === 'cpu' && (x.dtype === 'float32' || x.dtype === 'float64') && fusable(w) && fusable(b)) {
      return NN.nativeLayerNorm(x, w, b, k, eps);
    }
    const dims = Array.from({ length: k }, (_, i) => x.ndim - k + i);
    const mean = x.mean(dims, { keepdim: true });
    const xc = x.sub(mean);
    const variance = xc.mul(xc).mean(dims, { keepdim: true });
    let y = xc.mul(variance.add(eps).rsqrt());
    if (w) y = y.mul(w);
    if (b) y = y.add(b);
    return y;
  },
});

// ---- embedding and one-hot --------------------------------------------------------------------
function indexTensor(t: unknown, op: string, what: string): Tensor {
  checkTensor(t, op, what);
  if (t.dtype === 'int64') return t;
  if (t.dtype === 'int32' || t.dtype === 'uint8') return t.to('int64');
  throw new TypeError(`${op}: ${what} must be an integer tensor (int64), got ${t.dtype}`);
}

/**
 * Rows of weight [num, dim] picked by input: out [...input.shape, dim].
 * paddingIdx's row gets no gradient. (PyTorch's maxNorm, normType,
 * scaleGradByFreq and sparse are not implemented: Note [F signatures].)
 */
export const embedding = op(
  'embedding',
  [tensor('input'), tensor('weight'), param.custom('paddingIdx', 'int?', as<number | null>, null)],
  'rows of weight [num, dim] at the indices in input; the paddingIdx row gets no gradient',
);
define(embedding, {
  impl: ({ input: idx, weight, paddingIdx }): Tensor => {
    const op = 'embedding';
    const ind = indexTensor(idx, op, 'indices');
    checkTensor(weight, op, 'weight');
    K.sameDevice(op, weight, ind);
    if (weight.ndim !== 2) throw new RangeError(`${op}: weight must be 2-D [num_embeddings, embedding_dim], got ${fmt(weight._shape)}`);
    const num = weight._shape[0];
    let pad = paddingIdx ?? null;
    if (pad !== null) {
      if (!Number.isInteger(pad) || pad < -num || pad >= num)
        throw new RangeError(`${op}: paddingIdx must be within num_embeddings (${num}), got ${K.fmtValue(pad)}`);
      if (pad < 0) pad += num;
    }
    // Sizes before the bounds check reads every index (a stride-0 index can
    // name 1e12 entries over 8 bytes).
    K.checkAllocSize(ind._shape, op, 'the index');
    K.checkAllocSize([...ind._shape, weight._shape[1]], op, 'the result');
    if (ind.numel() > 0) {
      const [lo, hi] = noGrad(() => [ind.amin().item(), ind.amax().item()]);
      if (lo < 0 || hi >= num) throw new RangeError(`${op}: index ${lo < 0 ? lo : hi} is out of range for ${num} embeddings`);
    }
    return NN.embedding(weight, ind, pad);
  },
});

/** int64 [...t.shape, n] with a 1 at each class; n = -1 takes max(t) + 1. */
export const oneHot = op(
  'oneHot',
  [tensor('tensor'), param.custom('numClasses', 'int', as<number>, -1)],
  'int64 [...tensor.shape, numClasses] with a 1 at each class (numClasses -1: max + 1)',
);
define(oneHot, {
  impl: ({ tensor: t, numClasses }): Tensor => {
    const op = 'oneHot';
    checkTensor(t, op);
    if (t.dtype !== 'int64') throw new TypeError(`${op}: one_hot is only applicable to index tensors (int64), got ${t.dtype}`);
    if (!Number.isInteger(numClasses) || numClasses < -1)
      throw new RangeError(`${op}: numClasses must be -1 or a non-negative integer, got ${numClasses}`);
    let n = numClasses;
    // Sizes before the min/max pass over every entry (a stride-0 index can
    // name 1e12 entries over 8 bytes).
    K.checkAllocSize(t._shape, op, 'the index');
    if (n !== -1) K.checkAllocSize([...t._shape, n], op, 'the result');
    if (t.numel() === 0) {
      if (n === -1) throw new RangeError(`${op}: can not infer total number of classes from an empty tensor`);
      return K.empty([...t._shape, n], 'int64', op, t.device);
    }
    const [lo, hi] = noGrad(() => [t.amin().item(), t.amax().item()]);
    if (lo < 0) throw new RangeError(`${op}: class values must be non-negative, got ${lo}`);
    if (n === -1) n = hi + 1;
    else if (hi >= n) throw new RangeError(`${op}: class values must be smaller than numClasses (${n}), got ${hi}`);
    const out = K.empty([...t._shape, n], 'int64', op, t.device);
    const idx = K.contiguous(t)._view([...t._shape, 1]);
    const ones = K.empty([...t._shape, 1], 'int64', op, t.device);
    native.fill(ones._ref(), 1);
    native.scatter(out._ref(), t.ndim, idx._ref(), ones._ref());
    return out;
  },
});

// ---- losses ---------------------------------------------------------------------------------
export interface CrossEntropyOptions {
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
  weight?: Tensor | null;
}

/** Checks a class-index target against input [N, C, ...] (or [C]) and returns it as int64 [N, ...]. */
function classTarget(x: Tensor, target: Tensor, op: string): Tensor {
  const t = indexTensor(target, op, 'target');
  const expected = x.ndim === 1 ? [] : x._shape.filter((_, i) => i !== 1);
  if (t._shape.join() !== expected.join() || t.ndim !== expected.length) {
    throw new RangeError(`${op}: expected target of shape ${fmt(expected)} for input of shape ${fmt(x._shape)}, got ${fmt(t._shape)}`);
  }
  return t;
}

function classWeight(w: unknown, x: Tensor, op: string): Tensor | null {
  const wt = optTensor(w, op, 'weight');
  if (!wt) return null;
  const C = x.ndim === 1 ? x._shape[0] : x._shape[1];
  if (wt.ndim !== 1 || wt._shape[0] !== C)
    throw new RangeError(`${op}: expected weight to be a 1-D tensor of size ${C} (one per class), got ${fmt(wt._shape)}`);
  checkFloat(wt, op, 'weight');
  return wt;
}

function nllCommon(x: Tensor, target: Tensor, o: CrossEntropyOptions, op: string, logits: boolean): Tensor {
  checkTensor(x, op);
  checkFloat(x, op);
  if (x.ndim === 0) throw new RangeError(`${op}: input must have at least 1 dimension (classes), got a 0-d tensor`);
  const reduction = reductionOf(o.reduction, op);
  const ignoreIndex = o.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex)) throw new TypeError(`${op}: ignoreIndex must be an integer, got ${K.fmtValue(ignoreIndex)}`);
  const labelSmoothing = o.labelSmoothing ?? 0;
  if (typeof labelSmoothing !== 'number' || !(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new RangeError(`${op}: labelSmoothing must be between 0.0 and 1.0, got ${K.fmtValue(labelSmoothing)}`);
  }
  const weight = classWeight(o.weight, x, op);
  const t = classTarget(x, target, op);
  K.sameDevice(op, x, t, weight);
  // An unbatched [C] input is a batch of one.
  const x2 = x.ndim === 1 ? x.unsqueeze(0) : x;
  const t2 = x.ndim === 1 ? t.reshape([1]) : t;
  const loss = labelSmoothing > 0 ? NN.nllLossNdSmoothed : NN.nllLossNd;
  const out = loss(x2, t2, weight, reduction, ignoreIndex, labelSmoothing, logits);
  return x.ndim === 1 && reduction === 'none' ? out.reshape([]) : out;
}

/** cross_entropy(input, target, weight=None, *, ignore_index=-100, reduction='mean', label_smoothing=0.0). */
export const crossEntropy = op(
  'crossEntropy',
  [
    tensor('input'),
    tensor('target'),
    optTensorParam('weight'),
    param.kw(param.custom('ignoreIndex', 'int', as<number>, -100)),
    reduction,
    param.kw(param.custom('labelSmoothing', 'float', as<number>, 0)),
  ],
  'cross entropy of logits [N, C, ...] (or [C]) against class indices or class probabilities',
);
define(crossEntropy, {
  impl: ({ input: x, target, ...o }): Tensor => {
    const op = 'crossEntropy';
    checkTensor(target, op, 'target');
    if (x instanceof Tensor && isFloating(target.dtype)) return crossEntropyProbs(x, target, o);
    return nllCommon(x, target, o, op, true);
  },
});

/** Cross entropy against class probabilities (PyTorch's soft-target form). */
function crossEntropyProbs(x: Tensor, target: Tensor, o: CrossEntropyOptions): Tensor {
  const op = 'crossEntropy';
  checkFloat(x, op);
  if (target._shape.join() !== x._shape.join() || target.ndim !== x.ndim) {
    throw new RangeError(`${op}: a probability target must have the input's shape ${fmt(x._shape)}, got ${fmt(target._shape)}`);
  }
  if (o.ignoreIndex !== undefined && o.ignoreIndex !== -100) {
    throw new RangeError(`${op}: ignoreIndex is only applicable when the target contains class indices`);
  }
  const reduction = reductionOf(o.reduction, op);
  const ls = o.labelSmoothing ?? 0;
  if (typeof ls !== 'number' || !(ls >= 0 && ls <= 1))
    throw new RangeError(`${op}: labelSmoothing must be between 0.0 and 1.0, got ${K.fmtValue(ls)}`);
  const weight = classWeight(o.weight, x, op);
  const classDim = x.ndim === 1 ? 0 : 1;
  const C = x._shape[classDim];
  const t = ls > 0 ? target.mul(1 - ls).add(ls / C) : target;
  let prod = x.logSoftmax(classDim).mul(t);
  if (weight) prod = prod.mul(weight.reshape(x._shape.map((s, i) => (i === classDim ? C : 1))));
  const l = prod.sum(classDim).neg();
  if (reduction === 'sum') return l.sum();
  if (reduction === 'none') return l;
  // PyTorch divides by the number of samples (not the weights) here.
  return x.ndim === 1 ? l : l.sum().div(x.numel() / C);
}

/** nll_loss(input, target, weight=None, *, ignore_index=-100, reduction='mean'). */
export const nllLoss = op(
  'nllLoss',
  [tensor('input'), tensor('target'), optTensorParam('weight'), param.kw(param.custom('ignoreIndex', 'int', as<number>, -100)), reduction],
  'negative log likelihood of log-probabilities [N, C, ...] (or [C]) at class targets',
);
define(nllLoss, {
  impl: ({ input: x, target, ...o }): Tensor => nllCommon(x, target, { ...o, labelSmoothing: 0 }, 'nllLoss', false),
});

function pairwiseLossArgs(x: unknown, y: unknown, op: string): void {
  checkTensor(x, op);
  checkTensor(y, op, 'target');
  K.sameDevice(op, x, y);
  K.broadcastShapes(x._shape, y._shape, op);
}

/** mse_loss(input, target, *, reduction='mean'). */
export const mseLoss = op('mseLoss', [tensor('input'), tensor('target'), reduction], '(input - target)^2, broadcast and reduced');
define(mseLoss, {
  impl: ({ input: x, target, reduction: r }): Tensor => {
    const op = 'mseLoss';
    pairwiseLossArgs(x, target, op);
    checkFloat(x, op);
    return NN.mseLoss(x, target, reductionOf(r, op));
  },
});

/** l1_loss(input, target, *, reduction='mean'). */
export const l1Loss = op('l1Loss', [tensor('input'), tensor('target'), reduction], '|input - target|, broadcast and reduced');
define(l1Loss, {
  impl: ({ input: x, target, reduction: r }): Tensor => {
    const op = 'l1Loss';
    pairwiseLossArgs(x, target, op);
    checkFloat(x, op);
    const red = reductionOf(r, op);
    const l = x.sub(target).abs();
    return red === 'mean' ? l.mean() : red === 'sum' ? l.sum() : l;
  },
});

function sameShapeTarget(x: Tensor, target: Tensor, op: string): void {
  if (x._shape.join() !== target._shape.join() || x.ndim !== target.ndim) {
    throw new RangeError(`${op}: target shape ${fmt(target._shape)} must be the same as the input shape ${fmt(x._shape)}`);
  }
}

/** binary_cross_entropy(input, target, weight=None, *, reduction='mean'). */
export const binaryCrossEntropy = op(
  'binaryCrossEntropy',
  [tensor('input'), tensor('target'), optTensorParam('weight'), reduction],
  'binary cross entropy of probabilities in [0, 1] against targets of the same shape',
);
define(binaryCrossEntropy, {
  impl: ({ input: x, target, weight: w, reduction: r }): Tensor => {
    const op = 'binaryCrossEntropy';
    checkTensor(x, op);
    checkTensor(target, op, 'target');
    checkFloat(x, op);
    checkFloat(target, op, 'target');
    sameShapeTarget(x, target, op);
    const weight = optTensor(w, op, 'weight');
    K.sameDevice(op, x, target, weight);
    if (weight) K.broadcastShapes(x._shape, weight._shape, op);
    if (x.numel() > 0) {
      const [lo, hi] = noGrad(() => [x.amin().item(), x.amax().item()]);
      if (!(lo >= 0 && hi <= 1))
        throw new RangeError(`${op}: all elements of input should be between 0 and 1 (got values in [${lo}, ${hi}])`);
    }
    return NN.binaryCrossEntropy(x, target, weight, reductionOf(r, op));
  },
});

/** binary_cross_entropy_with_logits(input, target, weight=None, *, reduction='mean', pos_weight=None). */
export const binaryCrossEntropyWithLogits = op(
  'binaryCrossEntropyWithLogits',
  [tensor('input'), tensor('target'), optTensorParam('weight'), reduction, param.kw(optTensorParam('posWeight'))],
  'binaryCrossEntropy of sigmoid(input), computed stably; posWeight weighs the positive class',
);
define(binaryCrossEntropyWithLogits, {
  impl: ({ input: x, target, weight: w, reduction: r, posWeight: pw }): Tensor => {
    const op = 'binaryCrossEntropyWithLogits';
    checkTensor(x, op);
    checkTensor(target, op, 'target');
    checkFloat(x, op);
    checkFloat(target, op, 'target');
    sameShapeTarget(x, target, op);
    const weight = optTensor(w, op, 'weight');
    const posWeight = optTensor(pw, op, 'posWeight');
    K.sameDevice(op, x, target, weight, posWeight);
    if (weight) K.broadcastShapes(x._shape, weight._shape, op);
    if (posWeight) K.broadcastShapes(x._shape, posWeight._shape, op);
    return NN.binaryCrossEntropyWithLogits(x, target, weight, posWeight, reductionOf(r, op));
  },
});

// ---- more losses ------------------------------------------------------------------------------
// Composites, as PyTorch's own definitions of them are (their gradients
// come from the ops, kinks included: clamp passes the gradient at its
// bound as PyTorch's clamp_min does, relu does not, as PyTorch's kernels'
// `z > 0` tests do not).

function reduceLoss(l: Tensor, reduction: Reduction): Tensor {
  return reduction === 'mean' ? l.mean() : reduction === 'sum' ? l.sum() : l;
}

/** Two float tensors that broadcast together, on one device. */
function floatPair(x: unknown, y: unknown, op: string, xName = 'input', yName = 'target'): asserts x is Tensor {
  checkTensor(x, op, xName);
  checkTensor(y, op, yName);
  checkFloat(x, op, xName);
  checkFloat(y, op, yName);
  K.sameDevice(op, x, y);
  K.broadcastShapes(x._shape, y._shape, op);
}

const reductionPositional = param.custom('reduction', "'none'|'mean'|'sum'", as<Reduction>, 'mean');

/** smooth_l1_loss(input, target, *, reduction='mean', beta=1.0). */
export const smoothL1Loss = op(
  'smoothL1Loss',
  [tensor('input'), tensor('target'), reduction, param.kw(param.float('beta', 1))],
  '0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target), reduced',
);
define(smoothL1Loss, {
  impl: ({ input: x, target, reduction: r, beta }): Tensor => {
    const op = 'smoothL1Loss';
    floatPair(x, target, op);
    const red = reductionOf(r, op);
    if (!(beta >= 0)) throw new RangeError(`${op}: beta must be non-negative, got ${K.fmtValue(beta)}`);
    const d = x.sub(target);
    const a = d.abs();
    const l = beta === 0 ? a : where(a.lt(beta), d.mul(d).mul(0.5 / beta), a.sub(0.5 * beta));
    return reduceLoss(l, red);
  },
});

/** huber_loss(input, target, reduction='mean', delta=1.0). */
export const huberLoss = op(
  'huberLoss',
  [tensor('input'), tensor('target'), reductionPositional, param.float('delta', 1)],
  '0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target), reduced',
);
define(huberLoss, {
  impl: ({ input: x, target, reduction: r, delta }): Tensor => {
    const op = 'huberLoss';
    floatPair(x, target, op);
    const red = reductionOf(r, op);
    if (!(delta > 0)) throw new RangeError(`${op}: delta must be positive, got ${K.fmtValue(delta)}`);
    const d = x.sub(target);
    const a = d.abs();
    return reduceLoss(where(a.lt(delta), d.mul(d).mul(0.5), a.sub(0.5 * delta).mul(delta)), red);
  },
});

export type KlDivReduction = Reduction | 'batchmean';

/** kl_div(input, target, *, reduction='mean', log_target=False); input holds log-probabilities. */
export const klDiv = op(
  'klDiv',
  [
    tensor('input'),
    tensor('target'),
    param.kw(param.custom('reduction', "'none'|'mean'|'sum'|'batchmean'", as<KlDivReduction>, 'mean')),
    param.kw(param.bool('logTarget', false)),
  ],
  "target * (log(target) - input) (logTarget: exp(target) * (target - input)); 'batchmean' divides the sum by the batch size",
);
define(klDiv, {
  impl: ({ input: x, target: t, reduction: r, logTarget }): Tensor => {
    const op = 'klDiv';
    floatPair(x, t, op);
    if (r !== 'mean' && r !== 'sum' && r !== 'none' && r !== 'batchmean') {
      throw new TypeError(`${op}: reduction must be 'mean', 'batchmean', 'sum' or 'none', got ${K.fmtValue(r)}`);
    }
    let l: Tensor;
    if (logTarget) {
      l = t.exp().mul(t.sub(x));
    } else {
      // xlogy(t, t): 0 where the target is 0 (a negative target gives NaN, as in PyTorch).
      const safe = t.maskedFill(t.eq(0), 1);
      l = t.mul(safe.log()).sub(t.mul(x));
    }
    if (r === 'batchmean') return x.ndim === 0 ? l.sum() : l.sum().div(x._shape[0]);
    return reduceLoss(l, r);
  },
});

/** The broadcast shape of two float tensors and a dim of it, or the op's error. */
function broadcastDim(x1: unknown, x2: unknown, dim: number, op: string): { shape: number[]; d: number } {
  floatPair(x1, x2, op, 'x1', 'x2');
  const shape = K.broadcastShapes(x1._shape, (x2 as Tensor)._shape, op);
  if (!Number.isInteger(dim) || dim < -Math.max(shape.length, 1) || dim >= Math.max(shape.length, 1) || shape.length === 0) {
    throw new RangeError(`${op}: dim ${K.fmtValue(dim)} is out of range for inputs of shape ${fmt(shape)}`);
  }
  return { shape, d: dim < 0 ? dim + shape.length : dim };
}

/** cosine_similarity(x1, x2, dim=1, eps=1e-8). */
export const cosineSimilarity = op(
  'cosineSimilarity',
  [tensor('x1'), tensor('x2'), param.int('dim', 1), param.float('eps', 1e-8)],
  'x1 . x2 / (max(||x1||, eps) max(||x2||, eps)) along dim, broadcast',
);
define(cosineSimilarity, {
  impl: ({ x1, x2, dim, eps }): Tensor => {
    const { shape, d } = broadcastDim(x1, x2, dim, 'cosineSimilarity');
    // Each vector is divided by its norm first, as PyTorch does, so the result stays in [-1, 1].
    const unit = (t: Tensor) => {
      const e = t._shape.join() === shape.join() ? t : t.expand(shape);
      return e.div(e.norm(2, d, true).clamp(eps, null));
    };
    return unit(x1).mul(unit(x2)).sum(d);
  },
});

/** pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False). */
export const pairwiseDistance = op(
  'pairwiseDistance',
  [tensor('x1'), tensor('x2'), param.float('p', 2), param.float('eps', 1e-6), param.bool('keepdim', false)],
  '||x1 - x2 + eps||_p over the last dim, broadcast',
);
define(pairwiseDistance, {
  impl: ({ x1, x2, p, eps, keepdim }): Tensor => {
    floatPair(x1, x2, 'pairwiseDistance', 'x1', 'x2');
    return distance(x1, x2 as Tensor, p, eps, keepdim);
  },
});

function distance(x1: Tensor, x2: Tensor, p: number, eps: number, keepdim = false): Tensor {
  const d = x1.sub(x2).add(eps);
  // A 0-d difference is its own vector of one.
  return d.ndim === 0 ? d.reshape([1]).norm(p, 0, false) : d.norm(p, -1, keepdim);
}

/** cosine_embedding_loss(input1, input2, target, margin=0, *, reduction='mean'). */
export const cosineEmbeddingLoss = op(
  'cosineEmbeddingLoss',
  [tensor('input1'), tensor('input2'), tensor('target'), param.float('margin', 0), reduction],
  '1 - cos(input1, input2) where target is 1, max(0, cos - margin) where it is -1; rows [N, D] (or [D]) against target [N] (or [])',
);
define(cosineEmbeddingLoss, {
  impl: ({ input1: a, input2: b, target: y, margin, reduction: r }): Tensor => {
    const op = 'cosineEmbeddingLoss';
    floatPair(a, b, op, 'input1', 'input2');
    checkTensor(y, op, 'target');
    K.sameDevice(op, a, y);
    const red = reductionOf(r, op);
    if (y.ndim === 0 && (a.ndim !== 1 || b.ndim !== 1)) {
      throw new RangeError(`${op}: a 0-d target expects 1-D inputs, got inputs of shape ${fmt(a._shape)} and ${fmt(b._shape)}`);
    }
    if (y.ndim === 1 && (a.ndim !== 2 || b.ndim !== 2)) {
      throw new RangeError(`${op}: a 1-D target expects 2-D inputs, got inputs of shape ${fmt(a._shape)} and ${fmt(b._shape)}`);
    }
    if (y.ndim > 1) throw new RangeError(`${op}: expected a 0-d or 1-D target (multi-target not supported), got ${fmt(y._shape)}`);
    const rows = K.broadcastShapes(a._shape, b._shape, op).slice(0, -1);
    if (y._shape.join() !== rows.join()) throw new RangeError(`${op}: expected target of shape ${fmt(rows)}, got ${fmt(y._shape)}`);
    // PyTorch's formula: the squared norms take an epsilon of 1e-12 each.
    const EPS = 1e-12;
    const last = Math.max(a.ndim, b.ndim) - 1;
    const prod = a.mul(b).sum(last);
    const m1 = a.mul(a).sum(last).add(EPS);
    const m2 = b.mul(b).sum(last).add(EPS);
    const cos = prod.div(m1.mul(m2).sqrt());
    const l = where(y.eq(1), cos.rsub(1), 0).add(where(y.eq(-1), cos.sub(margin).clamp(0, null), 0));
    return reduceLoss(l, red);
  },
});

/** margin_ranking_loss(input1, input2, target, margin=0, *, reduction='mean'). */
export const marginRankingLoss = op(
  'marginRankingLoss',
  [tensor('input1'), tensor('input2'), tensor('target'), param.float('margin', 0), reduction],
  'max(0, -target * (input1 - input2) + margin), broadcast and reduced',
);
define(marginRankingLoss, {
  impl: ({ input1: a, input2: b, target: y, margin, reduction: r }): Tensor => {
    const op = 'marginRankingLoss';
    floatPair(a, b, op, 'input1', 'input2');
    checkTensor(y, op, 'target');
    K.sameDevice(op, a, y);
    const red = reductionOf(r, op);
    if (a.ndim !== b.ndim || b.ndim !== y.ndim) {
      throw new RangeError(
        `${op}: all input tensors should have the same number of dimensions, got input1 ${fmt(a._shape)}, input2 ${fmt(b._shape)}, target ${fmt(y._shape)}`,
      );
    }
    K.broadcastShapes(K.broadcastShapes(a._shape, b._shape, op), y._shape, op);
    return reduceLoss(y.neg().mul(a.sub(b)).add(margin).clamp(0, null), red);
  },
});

/** triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, *, reduction='mean'). */
export const tripletMarginLoss = op(
  'tripletMarginLoss',
  [
    tensor('anchor'),
    tensor('positive'),
    tensor('negative'),
    param.float('margin', 1),
    param.float('p', 2),
    param.float('eps', 1e-6),
    param.bool('swap', false),
    reduction,
  ],
  'max(0, margin + d(anchor, positive) - d(anchor, negative)), d the p-norm pairwise distance; swap also tries d(positive, negative)',
);
define(tripletMarginLoss, {
  impl: ({ anchor: a, positive: pos, negative: neg, margin, p, eps, swap, reduction: r }): Tensor => {
    const op = 'tripletMarginLoss';
    checkTensor(a, op, 'anchor');
    checkTensor(pos, op, 'positive');
    checkTensor(neg, op, 'negative');
    if (a.ndim !== pos.ndim || pos.ndim !== neg.ndim) {
      throw new RangeError(
        `${op}: anchor, positive and negative must have the same number of dimensions, got ${fmt(a._shape)}, ${fmt(pos._shape)} and ${fmt(neg._shape)}`,
      );
    }
    floatPair(a, pos, op, 'anchor', 'positive');
    floatPair(a, neg, op, 'anchor', 'negative');
    const red = reductionOf(r, op);
    K.broadcastShapes(pos._shape, neg._shape, op);
    const dPos = distance(a, pos, p, eps);
    let dNeg = distance(a, neg, p, eps);
    if (swap) dNeg = dNeg.minimum(distance(pos, neg, p, eps));
    return reduceLoss(dPos.sub(dNeg).add(margin).clamp(0, null), red);
  },
});

/** poisson_nll_loss(input, target, log_input=True, full=False, *, eps=1e-8, reduction='mean'). */
export const poissonNllLoss = op(
  'poissonNllLoss',
  [
    tensor('input'),
    tensor('target'),
    param.bool('logInput', true),
    param.bool('full', false),
    param.kw(param.float('eps', 1e-8)),
    reduction,
  ],
  'exp(input) - target * input (logInput), else input - target * log(input + eps); full adds the Stirling term',
);
define(poissonNllLoss, {
  impl: ({ input: x, target: t, logInput, full, eps, reduction: r }): Tensor => {
    const op = 'poissonNllLoss';
    floatPair(x, t, op);
    const red = reductionOf(r, op);
    let l = logInput ? x.exp().sub(t.mul(x)) : x.sub(t.mul(x.add(eps).log()));
    if (full) {
      // target log(target) - target + 0.5 log(2 pi target), only where target > 1.
      const small = t.le(1);
      const ts = t.maskedFill(small, 2);
      const stirling = ts
        .mul(ts.log())
        .sub(ts)
        .add(
          ts
            .mul(2 * Math.PI)
            .log()
            .mul(0.5),
        );
      l = l.add(stirling.maskedFill(small, 0));
    }
    return reduceLoss(l, red);
  },
});

/** gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction='mean'). */
export const gaussianNllLoss = op(
  'gaussianNllLoss',
  [tensor('input'), tensor('target'), tensor('var'), param.bool('full', false), param.float('eps', 1e-6), reductionPositional],
  '0.5 (log(max(var, eps)) + (input - target)^2 / max(var, eps)), + 0.5 log(2 pi) with full; var per element or one per row',
);
define(gaussianNllLoss, {
  impl: ({ input: x, target: t, var: v, full, eps, reduction: r }): Tensor => {
    const op = 'gaussianNllLoss';
    floatPair(x, t, op);
    checkTensor(v, op, 'var');
    checkFloat(v, op, 'var');
    K.sameDevice(op, x, v);
    const red = reductionOf(r, op);
    let variance = v;
    if (v._shape.join() !== x._shape.join() || v.ndim !== x.ndim) {
      const lead = x._shape.slice(0, -1);
      // One variance per row (homoscedastic): [*, ] or [*, 1] against input [*, D].
      if (x.ndim >= 1 && v.ndim === x.ndim - 1 && v._shape.join() === lead.join()) variance = v.unsqueeze(-1);
      else if (x.ndim >= 1 && v.ndim === x.ndim && v._shape.slice(0, -1).join() === lead.join() && v._shape[v.ndim - 1] === 1) variance = v;
      else throw new RangeError(`${op}: var of shape ${fmt(v._shape)} does not fit input ${fmt(x._shape)} (same shape, or one per row)`);
    }
    if (v.numel() > 0 && noGrad(() => v.amin().item()) < 0) throw new RangeError(`${op}: var has negative entries`);
    // PyTorch clamps a copy under no_grad: the value is clamped, the gradient passes as if it were not.
    const clamped = variance.add(noGrad(() => variance.clamp(eps, null).sub(variance)));
    const d = x.sub(t);
    let l = clamped.log().add(d.mul(d).div(clamped)).mul(0.5);
    if (full) l = l.add(0.5 * Math.log(2 * Math.PI));
    return reduceLoss(l, red);
  },
});

/** multilabel_soft_margin_loss(input, target, weight=None, *, reduction='mean'). */
export const multilabelSoftMarginLoss = op(
  'multilabelSoftMarginLoss',
  [tensor('input'), tensor('target'), optTensorParam('weight'), reduction],
  '-(target log sigmoid(input) + (1 - target) log sigmoid(-input)), weighted, averaged over the classes (last dim), reduced',
);
define(multilabelSoftMarginLoss, {
  impl: ({ input: x, target: t, weight: w, reduction: r }): Tensor => {
    const op = 'multilabelSoftMarginLoss';
    floatPair(x, t, op);
    const weight = optTensor(w, op, 'weight');
    K.sameDevice(op, x, weight);
    const red = reductionOf(r, op);
    if (x.ndim === 0) throw new RangeError(`${op}: input must have a class dim, got a 0-d tensor`);
    if (weight) K.broadcastShapes(x._shape, weight._shape, op);
    let l = t
      .mul(logSigmoidOf(x))
      .add(t.rsub(1).mul(logSigmoidOf(x.neg())))
      .neg();
    if (weight) l = l.mul(weight);
    const last = x.ndim - 1;
    return reduceLoss(l.sum(last).div(x._shape[last]), red);
  },
});

/** hinge_embedding_loss(input, target, margin=1.0, *, reduction='mean'). */
export const hingeEmbeddingLoss = op(
  'hingeEmbeddingLoss',
  [tensor('input'), tensor('target'), param.float('margin', 1), reduction],
  'input where target is 1, max(0, margin - input) where it is -1, reduced',
);
define(hingeEmbeddingLoss, {
  impl: ({ input: x, target: y, margin, reduction: r }): Tensor => {
    const op = 'hingeEmbeddingLoss';
    checkTensor(x, op);
    checkFloat(x, op);
    checkTensor(y, op, 'target');
    K.sameDevice(op, x, y);
    K.broadcastShapes(x._shape, y._shape, op);
    const red = reductionOf(r, op);
    const l = where(y.ne(1), x.rsub(margin).clamp(0, null), 0).add(where(y.ne(-1), x, 0));
    return reduceLoss(l, red);
  },
});

/** soft_margin_loss(input, target, *, reduction='mean'). */
export const softMarginLoss = op(
  'softMarginLoss',
  [tensor('input'), tensor('target'), reduction],
  'log(1 + exp(-target * input)), reduced',
);
define(softMarginLoss, {
  impl: ({ input: x, target: y, reduction: r }): Tensor => {
    const op = 'softMarginLoss';
    floatPair(x, y, op);
    return reduceLoss(y.neg().mul(x).exp().log1p(), reductionOf(r, op));
  },
});

/** Input [N, C] or [C] as [N, C], and an integer target of N classes as int64 [N, 1], checked. */
function marginInputs(x: unknown, target: unknown, op: string): { x2: Tensor; t: Tensor; N: number; C: number } {
  checkTensor(x, op);
  checkFloat(x, op);
  if (x.ndim !== 1 && x.ndim !== 2) throw new RangeError(`${op}: expected input of shape [N, C] or [C], got ${fmt(x._shape)}`);
  const t = indexTensor(target, op, 'target');
  K.sameDevice(op, x, t);
  const x2 = x.ndim === 1 ? x.unsqueeze(0) : x;
  const [N, C] = x2._shape;
  return { x2, t, N, C };
}

/** multi_margin_loss(input, target, p=1, margin=1.0, weight=None, *, reduction='mean'). */
export const multiMarginLoss = op(
  'multiMarginLoss',
  [tensor('input'), tensor('target'), param.int('p', 1), param.float('margin', 1), optTensorParam('weight'), reduction],
  'sum over classes j != y of max(0, margin - input[y] + input[j])^p / C, weight[y] per sample; input [N, C] (or [C])',
);
define(multiMarginLoss, {
  impl: ({ input, target, p, margin, weight: w, reduction: r }): Tensor => {
    const op = 'multiMarginLoss';
    const { x2, t, N, C } = marginInputs(input, target, op);
    const red = reductionOf(r, op);
    if (p !== 1 && p !== 2) throw new RangeError(`${op}: only p == 1 and p == 2 are supported, got ${K.fmtValue(p)}`);
    if (t.ndim > 1 || t.numel() !== N) throw new RangeError(`${op}: expected a target of ${N} class indices, got ${fmt(t._shape)}`);
    const weight = optTensor(w, op, 'weight');
    K.sameDevice(op, x2, weight);
    if (weight && (weight.ndim !== 1 || weight._shape[0] !== C)) {
      throw new RangeError(`${op}: expected weight of shape [${C}], got ${fmt(weight._shape)}`);
    }
    if (weight) checkFloat(weight, op, 'weight');
    const idx = t.reshape([N, 1]);
    if (N > 0) {
      const [lo, hi] = noGrad(() => [idx.amin().item(), idx.amax().item()]);
      if (lo < 0 || hi >= C) throw new RangeError(`${op}: target ${lo < 0 ? lo : hi} is out of range for ${C} classes`);
    }
    // relu, not clamp: PyTorch's kernel counts a term only where it is > 0.
    let h = x2.sub(x2.gather(1, idx)).add(margin).relu();
    if (p === 2) h = h.mul(h);
    if (weight) h = h.mul(weight.gather(0, idx.reshape([N])).reshape([N, 1]));
    const others = noGrad(() => oneHot(idx.reshape([N]), C).eq(0));
    let l = h.mul(others).sum(1).div(C);
    if (input.ndim === 1) l = l.reshape([]);
    return reduceLoss(l, red);
  },
});

/** multilabel_margin_loss(input, target, *, reduction='mean'). */
export const multilabelMarginLoss = op(
  'multilabelMarginLoss',
  [tensor('input'), tensor('target'), reduction],
  'sum over target classes j and other classes k of max(0, 1 - (input[j] - input[k])) / C; target lists classes, ended by -1',
);
define(multilabelMarginLoss, {
  impl: ({ input, target, reduction: r }): Tensor => {
    const op = 'multilabelMarginLoss';
    const { x2, t, N, C } = marginInputs(input, target, op);
    const red = reductionOf(r, op);
    if (t._shape.join() !== (input as Tensor)._shape.join() || t.ndim !== (input as Tensor).ndim) {
      throw new RangeError(`${op}: target must have the input's shape ${fmt((input as Tensor)._shape)}, got ${fmt(t._shape)}`);
    }
    // Each row's targets are the entries before its first -1; a class
    // listed twice counts twice, as in PyTorch's kernel.
    const rows = noGrad(() =>
      K.contiguous(t.reshape([N, C]))
        .to('cpu')
        .tolist(),
    ) as number[][];
    const count = new Array<number>(N * C).fill(0);
    for (let i = 0; i < N; i++) {
      for (const c of rows[i]) {
        if (c === -1) break;
        if (c < -1 || c >= C) throw new RangeError(`${op}: target ${c} is out of range for ${C} classes`);
        count[i * C + c] += 1;
      }
    }
    const cnt = fromValues(count, { dtype: x2.dtype, device: x2.device }).reshape([N, C]);
    const isOther = noGrad(() => cnt.eq(0).to(x2.dtype));
    // z[i, j, k] = 1 - input[i, j] + input[i, k]
    const z = x2.unsqueeze(1).sub(x2.unsqueeze(2)).add(1).relu();
    let l = z
      .mul(cnt.unsqueeze(2).mul(isOther.unsqueeze(1)))
      .sum([1, 2])
      .div(C);
    if ((input as Tensor).ndim === 1) l = l.reshape([]);
    return reduceLoss(l, red);
  },
});
