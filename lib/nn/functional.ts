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
import { define, op, returns } from '../ops/op.js';
import { as, param, type CallArgs, type OptionsOf } from '../util/args.js';

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
    const bx = beta === 1 ? input : input.mul(beta);
    const linearPart = bx.gt(threshold);
    // Each side is zeroed where the other is taken (an infinite input
    // stays out of the side that drops it), and exp runs only where its
    // side is kept: an exp that overflowed where it is dropped would still
    // make that entry's gradient NaN (0 * inf).
    const soft = bx.maskedFill(linearPart, 0).exp().log1p();
    return input.maskedFill(linearPart.logicalNot(), 0).add((beta === 1 ? soft : soft.div(beta)).maskedFill(linearPart, 0));
  },
});

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
      return NN.convolution(x4, weight, b, stride, padBefore, dilation, groups, [OH, OW]);
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
    return NN.maxPool2dWithIndices(x4, g.kernel, g.stride, g.padding, g.dilation, g.outHW);
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
