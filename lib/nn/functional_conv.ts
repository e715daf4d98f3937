// F.conv1d, F.convTranspose1d and F.convTranspose2d (PyTorch 1.13's
// F.conv1d, F.conv_transpose1d, F.conv_transpose2d): the arguments are
// checked here, with PyTorch's rules and messages, then one convolution op
// of lib/ops/nn.ts runs, so the result's grad_fn is ConvolutionBackward0 as
// in PyTorch and the gradients can be differentiated again. A 1-d
// convolution is a 2-d one of height 1 (Note [1-d convolution] in
// lib/ops/nn.ts) and a transposed convolution is the adjoint of a
// convolution, so all of them run on conv2d's native kernels, on the CPU
// and on CUDA. Like functional_attention.ts this file imports only the op
// layer, so that functional.ts can re-export it without an import cycle.
import { Tensor } from '../tensor.js';
import { isFloating } from '../dtype.js';
import * as K from '../ops/kernels.js';
import * as NN from '../ops/nn.js';
import { define, op } from '../ops/op.js';
import { as, param } from '../util/args.js';

const fmt = K.fmtShape;

/** A size per spatial dim: one integer for all of them, or a list of one per dim. */
export type ConvSize = number | readonly number[];

function checkTensor(op: string, what: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
}

function optTensor(op: string, what: string, x: unknown): Tensor | null {
  if (x === undefined || x === null) return null;
  checkTensor(op, what, x);
  return x;
}

/** v as nd integers >= min (PyTorch's _single and _pair). */
function ntuple(op: string, what: string, v: unknown, nd: number, min: number): number[] {
  const arr: unknown[] | null = typeof v === 'number' ? new Array<number>(nd).fill(v) : Array.isArray(v) ? v : null;
  if (!arr || arr.length !== nd || !arr.every((n) => typeof n === 'number' && Number.isInteger(n))) {
    const want = nd === 1 ? 'an integer or a list of one integer' : `an integer or a list of ${nd} integers`;
    throw new TypeError(`${op}: ${what} must be ${want}, got ${K.fmtValue(v)}`);
  }
  const ints = arr as number[];
  if (ints.some((n) => n < min)) {
    throw new RangeError(`${op}: ${what} must be ${min === 0 ? 'non-negative' : `at least ${min}`}, got ${K.fmtValue(v)}`);
  }
  return ints;
}

/** Spatial values as the [h, w] pair the ops take: a 1-d convolution has height 1 (Note [1-d convolution]). */
function asPair(v: readonly number[], heightValue: number): [number, number] {
  return v.length === 1 ? [heightValue, v[0]] : [v[0], v[1]];
}

/** Runs f on a batched input; an unbatched one gets a batch dim of 1 for the call, as in PyTorch. */
function batched(op: string, nd: number, x: Tensor, f: (xb: Tensor) => Tensor): Tensor {
  if (x.ndim === nd + 1) return f(x.unsqueeze(0)).squeeze(0);
  if (x.ndim === nd + 2) return f(x);
  throw new RangeError(`${op}: expected ${nd + 1}-D (unbatched) or ${nd + 2}-D (batched) input, got input of shape ${fmt(x._shape)}`);
}

function checkGroups(op: string, groups: unknown): number {
  if (typeof groups !== 'number' || !Number.isInteger(groups) || groups < 1) {
    throw new RangeError(`${op}: groups must be a positive integer, got ${K.fmtValue(groups)}`);
  }
  return groups;
}

/**
 * The checks a convolution and a transposed one share: dtypes, the weight's rank and
 * kernel, the channels and the bias. Returns the output channels.
 */
function checkOperands(op: string, nd: number, transposed: boolean, x: Tensor, w: Tensor, b: Tensor | null, groups: number): number {
  const kdims = nd === 1 ? 'kL' : 'kH, kW';
  if (w.ndim !== nd + 2) {
    const layout = transposed ? `[in_channels, out_channels / groups, ${kdims}]` : `[out_channels, in_channels / groups, ${kdims}]`;
    throw new RangeError(`${op}: expected weight of shape ${layout}, got ${fmt(w._shape)}`);
  }
  if (!isFloating(x.dtype)) throw new TypeError(`${op}: input must be a float32 or float64 tensor, got ${x.dtype}`);
  if (w.dtype !== x.dtype) throw new TypeError(`${op}: input (${x.dtype}) and weight (${w.dtype}) must have the same dtype`);
  if (w._shape.slice(2).some((k) => k < 1)) throw new RangeError(`${op}: weight ${fmt(w._shape)} has an empty kernel`);
  const C = x._shape[1];
  if (w._shape[0] % groups !== 0) {
    throw new RangeError(
      `${op}: given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, but got weight of shape ${fmt(w._shape)}`,
    );
  }
  // A convolution's weight holds C / groups input channels in dim 1, a transposed one all C in dim 0.
  const wantC = transposed ? w._shape[0] : w._shape[1] * groups;
  if (C !== wantC) {
    const given = transposed ? 'transposed=1' : `groups=${groups}`;
    throw new RangeError(
      `${op}: given ${given}, weight of shape ${fmt(w._shape)}, expected input ${fmt(x._shape)} to have ${wantC} channels, but got ${C} channels instead`,
    );
  }
  const outChannels = transposed ? w._shape[1] * groups : w._shape[0];
  if (b) {
    if (b.ndim !== 1 || b._shape[0] !== outChannels) {
      throw new RangeError(`${op}: expected bias of shape [${outChannels}] for weight ${fmt(w._shape)}, got ${fmt(b._shape)}`);
    }
    if (b.dtype !== x.dtype) throw new TypeError(`${op}: input (${x.dtype}) and bias (${b.dtype}) must have the same dtype`);
  }
  return outChannels;
}

// ---- conv1d -------------------------------------------------------------------------------

/**
 * conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1), as PyTorch's:
 * input [N, C, L] (or unbatched [C, L]), weight [OC, C / groups, kL], bias [OC].
 */
export const conv1d = op(
  'conv1d',
  [
    param.custom('input', 'Tensor', as<Tensor>),
    param.custom('weight', 'Tensor', as<Tensor>),
    param.custom('bias', 'Tensor?', as<Tensor | null>, null),
    param.custom('stride', 'int[1]', as<ConvSize>, 1),
    param.custom('padding', "int[1]|'same'|'valid'", as<ConvSize | 'same' | 'valid'>, 0),
    param.custom('dilation', 'int[1]', as<ConvSize>, 1),
    param.custom('groups', 'int', as<number>, 1),
  ],
  "1-d convolution of [N, C, L] (or [C, L]) with weight [OC, C/groups, kL]; padding a size, 'same' or 'valid'",
);
define(conv1d, {
  impl: (o): Tensor => {
    const op = 'conv1d';
    const { input: x, weight: w } = o;
    checkTensor(op, 'input', x);
    checkTensor(op, 'weight', w);
    const b = optTensor(op, 'bias', o.bias);
    K.sameDevice(op, x, w, b);
    const [stride] = ntuple(op, 'stride', o.stride ?? 1, 1, 1);
    const [dilation] = ntuple(op, 'dilation', o.dilation ?? 1, 1, 1);
    const groups = checkGroups(op, o.groups ?? 1);
    return batched(op, 1, x, (xb) => {
      checkOperands(op, 1, false, xb, w, b, groups);
      const L = xb._shape[2],
        k = w._shape[2];
      let before: number, after: number;
      if (o.padding === 'valid') {
        before = after = 0;
      } else if (o.padding === 'same') {
        if (stride !== 1) throw new RangeError(`${op}: padding='same' is not supported for strided convolutions (stride ${stride})`);
        // The odd unit of padding goes after (right), as in PyTorch.
        const total = dilation * (k - 1);
        before = Math.floor(total / 2);
        after = total - before;
      } else {
        if (typeof o.padding === 'string') throw new TypeError(`${op}: padding must be a size, 'same' or 'valid', got '${o.padding}'`);
        [before] = ntuple(op, 'padding', o.padding ?? 0, 1, 0);
        after = before;
      }
      const outL = Math.floor((L + before + after - dilation * (k - 1) - 1) / stride) + 1;
      if (outL < 1) {
        throw new RangeError(
          `${op}: calculated padded input size per channel: (${L + before + after}). Kernel size: (${dilation * (k - 1) + 1}). ` +
            "Kernel size can't be greater than actual input size",
        );
      }
      return NN.convolution(xb, w, b, [1, stride], [0, before], [1, dilation], groups, [outL]);
    });
  },
});

// ---- transposed convolutions -------------------------------------------------------------

/** The shared body of convTranspose1d and convTranspose2d. */
function convTranspose(
  op: string,
  nd: number,
  o: {
    input: Tensor;
    weight: Tensor;
    bias: Tensor | null;
    stride: unknown;
    padding: unknown;
    outputPadding: unknown;
    groups: unknown;
    dilation: unknown;
  },
): Tensor {
  const { input: x, weight: w } = o;
  checkTensor(op, 'input', x);
  checkTensor(op, 'weight', w);
  const b = optTensor(op, 'bias', o.bias);
  K.sameDevice(op, x, w, b);
  const stride = ntuple(op, 'stride', o.stride ?? 1, nd, 1);
  const padding = ntuple(op, 'padding', o.padding ?? 0, nd, 0);
  const outputPadding = ntuple(op, 'outputPadding', o.outputPadding ?? 0, nd, 0);
  const dilation = ntuple(op, 'dilation', o.dilation ?? 1, nd, 1);
  const groups = checkGroups(op, o.groups ?? 1);
  // Past both, the extra output rows would be ones no input reaches.
  if (outputPadding.some((p, i) => p >= stride[i] && p >= dilation[i])) {
    throw new RangeError(
      `${op}: output padding must be smaller than either stride or dilation, got outputPadding ${fmt(outputPadding)}, ` +
        `stride ${fmt(stride)} and dilation ${fmt(dilation)}`,
    );
  }
  return batched(op, nd, x, (xb) => {
    checkOperands(op, nd, true, xb, w, b, groups);
    const inSize = xb._shape.slice(2);
    const outSize = inSize.map((n, i) => (n - 1) * stride[i] - 2 * padding[i] + dilation[i] * (w._shape[2 + i] - 1) + outputPadding[i] + 1);
    if (outSize.some((n) => n < 1)) {
      throw new RangeError(
        `${op}: given input size per channel ${fmt(inSize)}, the calculated output size per channel ${fmt(outSize)} is too small`,
      );
    }
    return NN.convolutionTranspose(xb, w, b, asPair(stride, 1), asPair(padding, 0), asPair(dilation, 1), groups, outSize);
  });
}

/**
 * conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1), as
 * PyTorch's: input [N, C, L] (or unbatched [C, L]), weight [C, OC / groups, kL], bias [OC].
 */
export const convTranspose1d = op(
  'convTranspose1d',
  [
    param.custom('input', 'Tensor', as<Tensor>),
    param.custom('weight', 'Tensor', as<Tensor>),
    param.custom('bias', 'Tensor?', as<Tensor | null>, null),
    param.custom('stride', 'int[1]', as<ConvSize>, 1),
    param.custom('padding', 'int[1]', as<ConvSize>, 0),
    param.custom('outputPadding', 'int[1]', as<ConvSize>, 0),
    param.custom('groups', 'int', as<number>, 1),
    param.custom('dilation', 'int[1]', as<ConvSize>, 1),
  ],
  '1-d transposed convolution ("deconvolution") of [N, C, L] (or [C, L]) with weight [C, OC/groups, kL]: ' +
    'output length (L - 1) * stride - 2 * padding + dilation * (kL - 1) + outputPadding + 1',
);
define(convTranspose1d, { impl: (o): Tensor => convTranspose('convTranspose1d', 1, o) });

/**
 * conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1), as
 * PyTorch's: input [N, C, H, W] (or unbatched [C, H, W]), weight [C, OC / groups, kH, kW], bias [OC].
 */
export const convTranspose2d = op(
  'convTranspose2d',
  [
    param.custom('input', 'Tensor', as<Tensor>),
    param.custom('weight', 'Tensor', as<Tensor>),
    param.custom('bias', 'Tensor?', as<Tensor | null>, null),
    param.custom('stride', 'int[2]', as<ConvSize>, 1),
    param.custom('padding', 'int[2]', as<ConvSize>, 0),
    param.custom('outputPadding', 'int[2]', as<ConvSize>, 0),
    param.custom('groups', 'int', as<number>, 1),
    param.custom('dilation', 'int[2]', as<ConvSize>, 1),
  ],
  '2-d transposed convolution ("deconvolution") of [N, C, H, W] (or [C, H, W]) with weight [C, OC/groups, kH, kW]: ' +
    'each output size (in - 1) * stride - 2 * padding + dilation * (k - 1) + outputPadding + 1',
);
define(convTranspose2d, { impl: (o): Tensor => convTranspose('convTranspose2d', 2, o) });
