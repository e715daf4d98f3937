// The differentiable nn ops: convolution, pooling, batch norm and the fused
// nll / cross-entropy loss over the native kernels (native/cpu/nn.cc), plus
// the losses whose gradients PyTorch defines by formula (BCE, MSE), leaky
// relu and embedding. Each is declared once (lib/ops/op.ts), in the shape of
// PyTorch's native function (aten::convolution, native_batch_norm, ...);
// arguments arrive checked and normalised by lib/nn/functional.ts, which is
// what callers use.
//
// Note [nn backward]: a first-order backward calls the fused native
// backward kernel (`fused`, Note [Fused backward]). Under createGraph the
// framework runs `grads` instead, each op's gradient built from
// differentiable ops, so higher-order gradients work: conv, pooling and
// embedding through pairs of mutually adjoint ops (each op's backward is
// the other op), batch norm and the nll family through composites of
// existing ops.
import type { Tensor } from '../tensor.js';
import { isGradEnabled, noGrad } from '../autograd/grad_mode.js';
import { define, isTracing, op, tensorParam as T, type Saving } from './op.js';
import { param as p, as, type ArgsOf } from '../util/args.js';
import * as K from './kernels.js';
import { arange } from './creation.js';
import { native, makeRef } from '../backend/native.js';
import type { Ref } from '../backend/native.js';
import type { DType } from '../dtype.js';

/** A contiguous tensor's memory seen with another (contiguous) shape. */
function refAs(t: Tensor, shape: readonly number[]): Ref {
  return makeRef(t._storage.data, t._offset, shape, K.contiguousStrides(shape));
}

function sameDType(g: Tensor, dtype: DType): Tensor {
  return K.contiguous(g.dtype === dtype ? g : K.cast(g, dtype));
}

// Parameters of these ops hold values nn.functional has already checked.
/** [h, w]. */
const pair = <N extends string>(name: N) => p.custom(name, 'int[2]', as<readonly [number, number]>);
/** A shape or spatial size, read as given. */
const size = <N extends string>(name: N) => p.custom(name, 'int[]', as<readonly number[]>);

export type Reduction = 'none' | 'mean' | 'sum';
const REDUCTION_CODE: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };
const reductionParam = p.oneOf('reduction', ['none', 'mean', 'sum'], 'mean');

// ---- convolution ---------------------------------------------------------------------
// Note [1-d convolution]: these ops take [N, C, H, W] tensors (2-d) or
// [N, C, L] ones (1-d). A 1-d convolution runs as a 2-d one of height 1 over
// the same memory: its tensors are handed to the native kernels as
// [N, C, 1, L] (conv4), and its geometry comes as pairs whose height half is
// the identity (stride [1, s], padding [0, p], dilation [1, d]); output and
// input sizes are the spatial sizes, one or two numbers. So conv1d and the
// transposed convolutions share conv2d's kernels, CPU and CUDA alike.
interface ConvGeometry {
  stride: readonly [number, number];
  /** Top/left padding; bottom/right follow from the output size. */
  padding: readonly [number, number];
  dilation: readonly [number, number];
  groups: number;
}

function convArray(c: ConvGeometry): number[] {
  return [c.stride[0], c.stride[1], c.padding[0], c.padding[1], c.dilation[0], c.dilation[1], c.groups];
}

/** A contiguous conv tensor as the native kernels see it: 4-d (Note [1-d convolution]). */
function conv4(t: Tensor): Ref {
  const s = t._shape;
  return s.length === 3 ? refAs(t, [s[0], s[1], 1, s[2]]) : t._ref();
}

/** The batch and spatial dims of a conv tensor: those a bias gradient sums over. */
function batchAndSpatial(t: Tensor): number[] {
  return t._shape.map((_, i) => i).filter((i) => i !== 1);
}

// Note [Conv-ReLU fusion]: under noGrad, nn.Sequential runs a plain Conv2d
// followed by a plain ReLU as one kernel call: the convolution writes the
// relu of each output block as it copies it out, which saves the ReLU's pass
// over memory, its output buffer and a dispatch (ONNX Runtime fuses the
// pair too). A plain 2x2 MaxPool2d after the ReLU joins in on the CPU: the
// kernel then writes only the pooled maps (native/cpu/nn.cc, Note
// [Conv-ReLU-pool fusion]). The request reaches the next convolution kernel
// through this flag, since the layer's forward goes through F.conv2d and the
// declared op; the kernel says how much of it was taken, and whoever asks
// runs the rest as the layers themselves.
let fuseNextConv: 0 | 1 | 2 = 0;
let tookNextConv: 0 | 1 | 2 = 0;

/**
 * Runs f (a Conv2d's forward) with the layers after it fused into its
 * convolution: 1 the ReLU, 2 the ReLU and a 2x2 max pool. Says how many of
 * them a convolution took (0 when none ran).
 */
export function withConvFused<R>(layers: 1 | 2, f: () => R): [R, 0 | 1 | 2] {
  fuseNextConv = layers;
  tookNextConv = 0;
  try {
    const y = f();
    return [y, tookNextConv];
  } finally {
    fuseNextConv = 0;
  }
}

// conv2d and max pooling write every element of their outputs and
// gradients (the native kernels overwrite, never accumulate), so these are
// K.output: zeroing them first cost 5% of a LeNet step.
function convForward(x: Tensor, w: Tensor, b: Tensor | null, c: ConvGeometry, outSize: readonly number[]): Tensor {
  const fuse = fuseNextConv;
  fuseNextConv = 0;
  // The pool needs a 2-d map of at least 2x2 (else MaxPool2d's own error).
  const pool = fuse === 2 && x.device === 'cpu' && outSize.length === 2 && outSize[0] >= 2 && outSize[1] >= 2;
  tookNextConv = pool ? 2 : fuse === 0 ? 0 : 1;
  const size = pool ? outSize.map((n) => Math.floor(n / 2)) : outSize;
  const out = K.output([x._shape[0], w._shape[0], ...size], x.dtype, 'conv2d', x.device);
  native.conv2d(
    conv4(K.contiguous(x)),
    conv4(K.contiguous(w)),
    b ? K.contiguous(b)._ref() : null,
    convArray(c),
    conv4(out),
    fuse !== 0,
    pool ? outSize : null,
  );
  return out;
}

// The two halves of conv2d's backward as standalone kernels. The native
// backward reads x only to unfold it for the weight gradient and w only for
// the input gradient, so the tensor being written stands in for the one
// that is not read (it has the right shape and dtype).
function convInputGrad(g: Tensor, w: Tensor, c: ConvGeometry, xShape: readonly number[]): Tensor {
  const gx = K.output(xShape, g.dtype, 'conv2d', g.device);
  const gc = K.contiguous(g);
  native.conv2dBackward(conv4(gc), conv4(gx), conv4(K.contiguous(w)), convArray(c), conv4(gx), null, null);
  return gx;
}

function convWeightGrad(x: Tensor, g: Tensor, c: ConvGeometry, wShape: readonly number[]): Tensor {
  const gw = K.output(wShape, g.dtype, 'conv2d', g.device);
  native.conv2dBackward(conv4(K.contiguous(g)), conv4(K.contiguous(x)), conv4(gw), convArray(c), null, conv4(gw), null);
  return gw;
}

/**
 * The convolution's first-order backward in one native call: the gradients
 * `needs` asks for. With pooled, g is the gradient of convolutionReluMaxPool2d's
 * pooled output, and pooled gives the convolution's [OH, OW] and the codes
 * (Note [Conv-ReLU-pool in grad mode]).
 */
function fusedConvBackward(
  g: Tensor,
  x: Tensor,
  w: Tensor,
  c: ConvGeometry,
  hasBias: boolean,
  needs: { input?: boolean; weight?: boolean; bias?: boolean },
  pooled?: { mapSize: readonly number[]; codes: Tensor },
): { input: Tensor | null; weight: Tensor | null; bias: Tensor | null } {
  const gx = needs.input ? K.output(x._shape, x.dtype, 'conv2d', x.device) : null;
  const gw = needs.weight ? K.output(w._shape, x.dtype, 'conv2d', x.device) : null;
  const gb = hasBias && needs.bias ? K.output([w._shape[0]], x.dtype, 'conv2d', x.device) : null;
  native.conv2dBackward(
    conv4(sameDType(g, x.dtype)),
    conv4(K.contiguous(x)),
    conv4(K.contiguous(w)),
    convArray(c),
    gx ? conv4(gx) : null,
    gw ? conv4(gw) : null,
    gb?._ref() ?? null,
    pooled?.mapSize,
    pooled?.codes._ref(),
  );
  return { input: gx, weight: gw, bias: gb };
}

const CONV_GEOMETRY = [pair('stride'), pair('padding'), pair('dilation'), p.int('groups')] as const;

/** x [N, C, H, W] or [N, C, L], w [OC, C/groups, KH, KW] or [OC, C/groups, K], b [OC] or null; out [N, OC, ...outputSize]. */
export const convolution = op(
  'convolution',
  [T.tensor('input'), T.tensor('weight'), T.optTensor('bias'), ...CONV_GEOMETRY, size('outputSize')],
  '2-d (or 1-d) convolution; padding is the top/left padding, outputSize fixes the bottom/right (F.conv2d and F.conv1d check the arguments)',
);

/** d conv / d input: the transposed convolution of gradOutput with weight. */
export const convolutionBackwardInput = op(
  'convolutionBackwardInput',
  [T.tensor('gradOutput'), T.tensor('weight'), ...CONV_GEOMETRY, size('inputSize')],
  "the convolution's input gradient",
);

/** d conv / d weight: the correlation of input with gradOutput. */
export const convolutionBackwardWeight = op(
  'convolutionBackwardWeight',
  [T.tensor('input'), T.tensor('gradOutput'), ...CONV_GEOMETRY, size('weightSize')],
  "the convolution's weight gradient",
);

/**
 * x [N, C, H, W] or [N, C, L], w [C, OC/groups, KH, KW] or [C, OC/groups, K], b [OC] or null;
 * out [N, OC, ...outputSize]. The transposed convolution: the adjoint of the convolution from
 * outputSize to x's size with the same geometry, plus bias.
 */
export const convolutionTranspose = op(
  'convolutionTranspose',
  [T.tensor('input'), T.tensor('weight'), T.optTensor('bias'), ...CONV_GEOMETRY, size('outputSize')],
  '2-d (or 1-d) transposed convolution; padding is the top/left crop, outputSize fixes the bottom/right (F.convTranspose2d checks the arguments)',
);

const geometry = (a: ConvGeometry): ConvGeometry => ({ stride: a.stride, padding: a.padding, dilation: a.dilation, groups: a.groups });

// The convolution is bilinear in (x, w), so its two partial backwards are
// bilinear too and the three ops close under differentiation (Note [nn
// backward]). The transposed convolution is convolutionBackwardInput with a
// bias: its gradients are the same three ops again.
define(convolution, {
  node: 'ConvolutionBackward0',
  // The saved x and w are the inputs themselves, not contiguous copies: a
  // copy has no history, and the gradients computed from it under
  // createGraph would not reach the input (Note [nn backward]).
  forward: (a) => {
    const x = a.input,
      w = a.weight;
    const c = geometry(a);
    return { out: convForward(x, w, a.bias, c, a.outputSize), save: { x, w, c, hasBias: a.bias !== null } };
  },
  grads: {
    input: (g, { w, c, x }) => convolutionBackwardInput(g, w, c.stride, c.padding, c.dilation, c.groups, x._shape),
    weight: (g, { x, c, w }) => convolutionBackwardWeight(x, g, c.stride, c.padding, c.dilation, c.groups, w._shape),
    bias: (g) => g.sum(batchAndSpatial(g)),
  },
  fused: (g, { x, w, c, hasBias }, needs) => fusedConvBackward(g, x, w, c, hasBias, needs),
});

define(convolutionBackwardInput, {
  node: 'ConvolutionBackwardBackward0',
  forward: (a) => {
    const c = geometry(a);
    return { out: convInputGrad(a.gradOutput, a.weight, c, a.inputSize), save: { g: a.gradOutput, w: a.weight, c } };
  },
  grads: {
    gradOutput: (gg, { g, w, c }) => convolution(gg, w, null, c.stride, c.padding, c.dilation, c.groups, g._shape.slice(2)),
    weight: (gg, { g, w, c }) => convolutionBackwardWeight(gg, g, c.stride, c.padding, c.dilation, c.groups, w._shape),
  },
});

define(convolutionBackwardWeight, {
  node: 'ConvolutionBackwardBackward0',
  forward: (a) => {
    const c = geometry(a);
    return { out: convWeightGrad(a.input, a.gradOutput, c, a.weightSize), save: { x: a.input, g: a.gradOutput, c } };
  },
  grads: {
    input: (gg, { x, g, c }) => convolutionBackwardInput(g, gg, c.stride, c.padding, c.dilation, c.groups, x._shape),
    gradOutput: (gg, { x, g, c }) => convolution(x, gg, null, c.stride, c.padding, c.dilation, c.groups, g._shape.slice(2)),
  },
});

define(convolutionTranspose, {
  node: 'ConvolutionBackward0',
  forward: (a) => {
    const x = a.input,
      w = a.weight;
    const c = geometry(a);
    // The input plays the convolution's output gradient, the output its input.
    let out = convInputGrad(x, w, c, [x._shape[0], w._shape[1] * c.groups, ...a.outputSize]);
    if (a.bias) out = K.binary('Add', out, a.bias.reshape([1, -1, ...a.outputSize.map(() => 1)]));
    return { out, save: { x, w, c } };
  },
  grads: {
    input: (g, { w, c, x }) => convolution(g, w, null, c.stride, c.padding, c.dilation, c.groups, x._shape.slice(2)),
    weight: (g, { x, c, w }) => convolutionBackwardWeight(g, x, c.stride, c.padding, c.dilation, c.groups, w._shape),
    bias: (g) => g.sum(batchAndSpatial(g)),
  },
  fused: (g, { x, w, c }, needs) => {
    const gc = sameDType(g, x.dtype);
    return {
      input: needs.input ? convForward(gc, w, null, c, x._shape.slice(2)) : null,
      weight: needs.weight ? convWeightGrad(gc, x, c, w._shape) : null,
      bias: needs.bias ? gc.sum(batchAndSpatial(gc)) : null,
    };
  },
});

// Note [Conv-ReLU-pool in grad mode]: with grad mode on, nn.Sequential runs
// a plain Conv2d, ReLU and 2x2 MaxPool2d as this one op on the CPU (the
// ReLU alone stays a layer there: its output is what its backward reads).
// Run as three, the convolution's map (6.4 MB for a LeNet's first layer at
// batch 64) is written, read and written by the ReLU, read by the pool, and
// in the backward written by the pool's scatter and read and written again
// by the ReLU's: about 45 MB of traffic a step for a layer of 29 MFLOP.
// Fused, the forward writes the pooled values and one byte per value saying
// where its gradient goes, and the convolution's backward reads the pooled
// gradient with those bytes, expanding it into the map an image at a time
// in cache (native/cpu/nn.cc, Note [Conv-ReLU-pool backward]): the map is
// never written to memory, forward or backward. The values and gradients are
// the three layers' exactly. Under createGraph the gradients are built from
// the convolution's and max pooling's own differentiable ops, so higher
// derivatives exist as for the three layers.
export const convolutionReluMaxPool2d = op(
  'convolutionReluMaxPool2d',
  [T.tensor('input'), T.tensor('weight'), T.optTensor('bias'), ...CONV_GEOMETRY, size('outputSize')],
  "max_pool2d(relu(convolution), 2) as one op (nn.Sequential's Conv2d, ReLU, MaxPool2d(2) in grad mode, on the CPU); outputSize is the convolution's",
);

interface ConvPoolSaved {
  x: Tensor;
  w: Tensor;
  c: ConvGeometry;
  hasBias: boolean;
  /** uint8 [N, OC, PH, PW]: each maximum's window position (0..3), 4 where no gradient passes. */
  codes: Tensor;
  /** The convolution's output shape [N, OC, OH, OW]. */
  mapShape: readonly number[];
}

/**
 * The map the pooled gradient g stands for (Note [Conv-ReLU-pool backward]
 * in native/cpu/nn.cc), built from differentiable ops for createGraph: g
 * masked where no gradient passes, scattered by max pooling's backward to
 * the flat index (2 ph + code / 2) * OW + 2 pw + code % 2 of each maximum.
 */
function unpoolReluDifferentiable(g: Tensor, s: ConvPoolSaved): Tensor {
  const OW = s.mapShape[3];
  const [PH, PW] = [s.codes._shape[2], s.codes._shape[3]];
  const code = s.codes.to('int64');
  const passes = code.lt(4);
  const at = code.mul(passes);
  const row = arange(PH, { dtype: 'int64', device: g.device })
    .mul(2 * OW)
    .reshape([PH, 1]);
  const col = arange(PW, { dtype: 'int64', device: g.device }).mul(2).reshape([1, PW]);
  const indices = at.div(2, { roundingMode: 'floor' }).mul(OW).add(at.remainder(2)).add(row).add(col);
  return maxPool2dWithIndicesBackward(g.mul(passes.to(g.dtype)), indices, s.mapShape);
}

define(convolutionReluMaxPool2d, {
  node: 'ConvolutionReluMaxPool2DBackward0',
  forward: (a) => {
    const x = a.input,
      w = a.weight;
    const c = geometry(a);
    const [OH, OW] = a.outputSize;
    const mapShape = [x._shape[0], w._shape[0], OH, OW];
    const shape = [x._shape[0], w._shape[0], Math.floor(OH / 2), Math.floor(OW / 2)];
    const out = K.output(shape, x.dtype, 'conv2d', x.device);
    const codes = K.output(shape, 'uint8', 'conv2d', x.device);
    const b = a.bias ? K.contiguous(a.bias)._ref() : null;
    native.conv2d(conv4(K.contiguous(x)), conv4(K.contiguous(w)), b, convArray(c), out._ref(), true, a.outputSize, codes._ref());
    // Only the graph holds the codes: its backward gives them back (Note [Saved until backward]).
    codes._storage._graphOnly = true;
    const save: ConvPoolSaved = { x, w, c, hasBias: a.bias !== null, codes, mapShape };
    return { out, save };
  },
  grads: {
    input: (g, s) =>
      convolutionBackwardInput(unpoolReluDifferentiable(g, s), s.w, s.c.stride, s.c.padding, s.c.dilation, s.c.groups, s.x._shape),
    weight: (g, s) =>
      convolutionBackwardWeight(s.x, unpoolReluDifferentiable(g, s), s.c.stride, s.c.padding, s.c.dilation, s.c.groups, s.w._shape),
    bias: (g, s) => unpoolReluDifferentiable(g, s).sum([0, 2, 3]),
  },
  // The convolution's backward reads the pooled gradient with the codes,
  // expanding it into the map an image at a time (Note [Conv-ReLU-pool
  // backward]).
  fused: (g, s, needs) => fusedConvBackward(g, s.x, s.w, s.c, s.hasBias, needs, { mapSize: s.mapShape.slice(2), codes: s.codes }),
});

/**
 * What F.conv2d runs: the convolution op or, where nn.Sequential asked in
 * grad mode for the ReLU and 2x2 max pool after it (withConvFused, Note
 * [Conv-ReLU-pool in grad mode]) and the map can be pooled on the CPU,
 * convolutionReluMaxPool2d. In grad mode nothing else is fused (the
 * convolution's backward needs the plain output).
 */
export function convolutionOrFused(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  stride: readonly [number, number],
  padding: readonly [number, number],
  dilation: readonly [number, number],
  groups: number,
  outputSize: readonly number[],
): Tensor {
  if (fuseNextConv !== 0 && isGradEnabled()) {
    const pool = fuseNextConv === 2 && x.device === 'cpu' && outputSize.length === 2 && outputSize[0] >= 2 && outputSize[1] >= 2;
    fuseNextConv = 0;
    if (pool) {
      tookNextConv = 2;
      return convolutionReluMaxPool2d(x, w, b, stride, padding, dilation, groups, outputSize);
    }
  }
  return convolution(x, w, b, stride, padding, dilation, groups, outputSize);
}

// ---- pooling ---------------------------------------------------------------------------
interface PoolGeometry {
  kernelSize: readonly [number, number];
  stride: readonly [number, number];
  padding: readonly [number, number];
  dilation: readonly [number, number];
}

function poolArray(g: PoolGeometry): number[] {
  return [g.kernelSize[0], g.kernelSize[1], g.stride[0], g.stride[1], g.padding[0], g.padding[1], g.dilation[0], g.dilation[1]];
}

/** [N, C, H, W] -> the number of planes N * C. */
function planesOf(shape: readonly number[]): number {
  return shape[0] * shape[1];
}

// The indices of the latest maxPool2dWithIndices forward, for
// maxPool2dValuesAndIndices (an op returns one tensor; this hands over the
// second without a rerun).
let lastIndices: Tensor | null = null;

/** Max pooling's values; its forward leaves the indices for maxPool2dValuesAndIndices. */
export const maxPool2dWithIndices = op(
  'maxPool2dWithIndices',
  [T.tensor('input'), pair('kernelSize'), pair('stride'), pair('padding'), pair('dilation'), size('outputSize')],
  '2-d max pooling of [N, C, H, W] (F.maxPool2d checks the arguments and sizes the output)',
);

/** Scatters gradOutput to the argmax positions; linear in gradOutput, with gather as its adjoint. */
export const maxPool2dWithIndicesBackward = op(
  'maxPool2dWithIndicesBackward',
  [T.tensor('gradOutput'), T.tensor('indices'), size('inputSize')],
  "max pooling's input gradient: gradOutput scattered to the indices",
);

define(maxPool2dWithIndices, {
  node: 'MaxPool2DWithIndicesBackward0',
  forward: (a) => {
    const xc = K.contiguous(a.input, 'maxPool2d');
    const [N, C, H, W] = xc._shape;
    const [OH, OW] = a.outputSize;
    const values = K.output([N, C, OH, OW], xc.dtype, 'maxPool2d', xc.device);
    const indices = K.output([N, C, OH, OW], 'int64', 'maxPool2d', xc.device);
    const P = N * C;
    native.maxPool2d(refAs(xc, [P, H, W]), poolArray(a), refAs(values, [P, OH, OW]), refAs(indices, [P, OH, OW]));
    lastIndices = indices;
    return { out: values, save: { indices, xShape: xc._shape } };
  },
  grads: { input: (g, { indices, xShape }) => maxPool2dWithIndicesBackward(g, indices, xShape) },
});

define(maxPool2dWithIndicesBackward, {
  node: 'MaxPool2DWithIndicesBackwardBackward0',
  forward: ({ gradOutput: g, indices, inputSize }) => {
    const P = planesOf(inputSize),
      H = inputSize[2],
      W = inputSize[3];
    const OH = indices._shape[2],
      OW = indices._shape[3];
    const gx = K.output(inputSize, g.dtype, 'maxPool2d', g.device);
    native.maxPool2dBackward(refAs(K.contiguous(g), [P, OH, OW]), refAs(indices, [P, OH, OW]), refAs(gx, [P, H, W]));
    return { out: gx, save: { indices, gShape: g._shape } };
  },
  grads: {
    gradOutput: (gg, { indices, gShape }) => {
      const P = planesOf(gShape),
        L = gShape[2] * gShape[3];
      return gg
        .reshape([P, -1])
        .gather(1, indices._view([P, L]))
        .reshape(gShape);
    },
  },
});

/**
 * maxPool2dWithIndices' values, skipping the indices when no graph will be
 * recorded (grad mode off, or an input that needs no gradient) on the CPU:
 * only the backward reads them, and they were two thirds of the bytes the
 * kernel wrote (Note [Max pooling without indices] in native/cpu/nn.cc).
 * While tracing (torch.onnx.export) the declared op runs, as elsewhere.
 */
export function maxPool2dValues(
  x: Tensor,
  kernelSize: readonly [number, number],
  stride: readonly [number, number],
  padding: readonly [number, number],
  dilation: readonly [number, number],
  outputSize: readonly number[],
): Tensor {
  if (isTracing() || x.device !== 'cpu' || (isGradEnabled() && x.requiresGrad)) {
    const values = maxPool2dWithIndices(x, kernelSize, stride, padding, dilation, outputSize);
    // No one but the graph holds these indices: the backward gives them back
    // when it has used them (Note [Saved until backward], lib/ops/op.ts).
    if (lastIndices !== null) lastIndices._storage._graphOnly = true;
    lastIndices = null;
    return values;
  }
  const xc = K.contiguous(x, 'maxPool2d');
  const [N, C, H, W] = xc._shape;
  const [OH, OW] = outputSize;
  const values = K.output([N, C, OH, OW], xc.dtype, 'maxPool2d', xc.device);
  const P = N * C;
  native.maxPool2d(refAs(xc, [P, H, W]), poolArray({ kernelSize, stride, padding, dilation }), refAs(values, [P, OH, OW]), null);
  return values;
}

/** maxPool2dWithIndices with PyTorch's return_indices: the flat h * W + w of each maximum in its plane. */
export function maxPool2dValuesAndIndices(
  x: Tensor,
  kernelSize: readonly [number, number],
  stride: readonly [number, number],
  padding: readonly [number, number],
  dilation: readonly [number, number],
  outputSize: readonly number[],
): { values: Tensor; indices: Tensor } {
  lastIndices = null;
  const values = maxPool2dWithIndices(x, kernelSize, stride, padding, dilation, outputSize);
  const indices = lastIndices as Tensor | null;
  lastIndices = null;
  if (indices === null) throw new Error('maxPool2d: internal error: the forward left no indices');
  return { values, indices };
}

interface AvgPoolSettings {
  geometry: PoolGeometry;
  countIncludePad: boolean;
  /** 0: none. */
  divisorOverride: number;
}

function avgForward(x: Tensor, s: AvgPoolSettings, outHW: readonly number[]): Tensor {
  const xc = K.contiguous(x, 'avgPool2d');
  const [N, C, H, W] = xc._shape;
  const out = K.empty([N, C, outHW[0], outHW[1]], x.dtype, 'avgPool2d', x.device);
  native.avgPool2d(
    refAs(xc, [N * C, H, W]),
    poolArray(s.geometry),
    s.countIncludePad,
    s.divisorOverride,
    refAs(out, [N * C, outHW[0], outHW[1]]),
  );
  return out;
}

function avgBackward(g: Tensor, s: AvgPoolSettings, xShape: readonly number[]): Tensor {
  const gc = K.contiguous(g);
  const [N, C, OH, OW] = gc._shape;
  const gx = K.empty(xShape, g.dtype, 'avgPool2d', g.device);
  native.avgPool2dBackward(
    refAs(gc, [N * C, OH, OW]),
    poolArray(s.geometry),
    s.countIncludePad,
    s.divisorOverride,
    refAs(gx, [N * C, xShape[2], xShape[3]]),
  );
  return gx;
}

const AVG_POOL_SETTINGS = [
  pair('kernelSize'),
  pair('stride'),
  pair('padding'),
  p.bool('countIncludePad'),
  p.int('divisorOverride'),
] as const;

function avgSettings(a: ArgsOf<typeof AVG_POOL_SETTINGS>): AvgPoolSettings {
  return {
    geometry: { kernelSize: a.kernelSize, stride: a.stride, padding: a.padding, dilation: [1, 1] },
    countIncludePad: a.countIncludePad,
    divisorOverride: a.divisorOverride,
  };
}

/** divisorOverride 0 is none. */
export const avgPool2d = op(
  'avgPool2d',
  [T.tensor('input'), ...AVG_POOL_SETTINGS, size('outputSize')],
  '2-d average pooling of [N, C, H, W] (F.avgPool2d checks the arguments and sizes the output)',
);

export const avgPool2dBackward = op(
  'avgPool2dBackward',
  [T.tensor('gradOutput'), ...AVG_POOL_SETTINGS, size('inputSize')],
  "average pooling's input gradient",
);

// Average pooling is linear, and its backward is its adjoint: each op's
// gradient is the other op (Note [nn backward]).
define(avgPool2d, {
  node: 'AvgPool2DBackward0',
  forward: (a) => {
    const s = avgSettings(a);
    return { out: avgForward(a.input, s, a.outputSize), save: { s, xShape: a.input._shape } };
  },
  grads: { input: (g, { s, xShape }) => avgPool2dBackward(g, ...avgArgs(s), xShape) },
  fused: (g, { s, xShape }) => ({ input: avgBackward(g, s, xShape) }),
});

define(avgPool2dBackward, {
  node: 'AvgPool2DBackwardBackward0',
  forward: (a) => {
    const s = avgSettings(a);
    return { out: avgBackward(a.gradOutput, s, a.inputSize), save: { s, outHW: a.gradOutput._shape.slice(2) } };
  },
  grads: { gradOutput: (gg, { s, outHW }) => avgPool2d(gg, ...avgArgs(s), outHW) },
});

function avgArgs(s: AvgPoolSettings): [readonly [number, number], readonly [number, number], readonly [number, number], boolean, number] {
  return [s.geometry.kernelSize, s.geometry.stride, s.geometry.padding, s.countIncludePad, s.divisorOverride];
}

function adaptiveForward(x: Tensor, outHW: readonly number[]): Tensor {
  const xc = K.contiguous(x, 'adaptiveAvgPool2d');
  const [N, C, H, W] = xc._shape;
  const out = K.empty([N, C, outHW[0], outHW[1]], x.dtype, 'adaptiveAvgPool2d', x.device);
  native.adaptiveAvgPool2d(refAs(xc, [N * C, H, W]), refAs(out, [N * C, outHW[0], outHW[1]]));
  return out;
}

function adaptiveBackward(g: Tensor, xShape: readonly number[]): Tensor {
  const gc = K.contiguous(g);
  const [N, C, OH, OW] = gc._shape;
  const gx = K.empty(xShape, g.dtype, 'adaptiveAvgPool2d', g.device);
  native.adaptiveAvgPool2dBackward(refAs(gc, [N * C, OH, OW]), refAs(gx, [N * C, xShape[2], xShape[3]]));
  return gx;
}

export const adaptiveAvgPool2d = op(
  'adaptiveAvgPool2d',
  [T.tensor('input'), size('outputSize')],
  '2-d adaptive average pooling of [N, C, H, W] to outputSize [h, w]',
);
export const adaptiveAvgPool2dBackward = op(
  'adaptiveAvgPool2dBackward',
  [T.tensor('gradOutput'), size('inputSize')],
  "adaptive average pooling's input gradient",
);

define(adaptiveAvgPool2d, {
  node: 'AdaptiveAvgPool2DBackward0',
  forward: ({ input, outputSize }) => ({ out: adaptiveForward(input, outputSize), save: input._shape }),
  grads: { input: (g, xShape) => adaptiveAvgPool2dBackward(g, xShape) },
  fused: (g, xShape) => ({ input: adaptiveBackward(g, xShape) }),
});

define(adaptiveAvgPool2dBackward, {
  node: 'AdaptiveAvgPool2DBackwardBackward0',
  forward: ({ gradOutput, inputSize }) => ({ out: adaptiveBackward(gradOutput, inputSize), save: gradOutput._shape.slice(2) }),
  grads: { gradOutput: (gg, outHW) => adaptiveAvgPool2d(gg, outHW) },
});

// ---- batch norm ------------------------------------------------------------------------
/**
 * A running-statistics buffer as the kernel can update it in place: the
 * tensor itself when it is contiguous in x's dtype, else a scratch copy
 * that `commit` writes back.
 */
function inPlaceBuffer(t: Tensor | null, dtype: DType): { ref: Ref | null; commit: () => void } {
  if (t === null) return { ref: null, commit: () => {} };
  if (t.isContiguous() && t.dtype === dtype) return { ref: t._ref(), commit: () => t._bumpVersion() };
  const scratch = K.cast(K.contiguous(t), dtype);
  return {
    ref: scratch._ref(),
    commit: () => {
      native.copy(scratch._ref(), t._ref());
      t._bumpVersion();
    },
  };
}

interface BatchNormSaved {
  x: Tensor;
  w: Tensor | null;
  saveMean: Tensor;
  saveInvstd: Tensor;
  training: boolean;
  eps: number;
}

/**
 * x [N, C, ...]; weight/bias [C] or null. Updates the running statistics
 * in place when training; reads only them when not.
 */
export const nativeBatchNorm = op(
  'nativeBatchNorm',
  [
    T.tensor('input'),
    T.optTensor('weight'),
    T.optTensor('bias'),
    T.optTensor('runningMean'),
    T.optTensor('runningVar'),
    p.bool('training'),
    p.float('momentum'),
    p.float('eps'),
  ],
  'batch normalisation over dim 1 (F.batchNorm checks the arguments)',
);

define(nativeBatchNorm, {
  node: 'NativeBatchNormBackward0',
  forward: ({ input: x, weight: w, bias: b, runningMean, runningVar, training, momentum, eps }): Saving<BatchNormSaved> => {
    const xc = K.contiguous(x);
    const C = xc._shape[1],
      N = xc._shape[0];
    const S = xc.numel() / Math.max(1, N * C);
    const shape3 = [N, C, S];
    const dev = x.device;
    const out = K.empty(xc._shape, x.dtype, 'batchNorm', dev);
    const saveMean = K.empty([C], x.dtype, 'batchNorm', dev),
      saveInvstd = K.empty([C], x.dtype, 'batchNorm', dev);
    const rm = inPlaceBuffer(training ? runningMean : null, x.dtype);
    const rv = inPlaceBuffer(training ? runningVar : null, x.dtype);
    // Evaluation reads the running statistics only.
    const rmEval = training || !runningMean ? null : K.cast(K.contiguous(runningMean), x.dtype);
    const rvEval = training || !runningVar ? null : K.cast(K.contiguous(runningVar), x.dtype);
    native.batchNorm(
      refAs(xc, shape3),
      w ? K.cast(K.contiguous(w), x.dtype)._ref() : null,
      b ? K.cast(K.contiguous(b), x.dtype)._ref() : null,
      training ? rm.ref : rmEval!._ref(),
      training ? rv.ref : rvEval!._ref(),
      training,
      momentum,
      eps,
      refAs(out, shape3),
      saveMean._ref(),
      saveInvstd._ref(),
    );
    rm.commit();
    rv.commit();
    return { out, save: { x: xc, w, saveMean, saveInvstd, training, eps } };
  },
  // The backward from differentiable ops, for createGraph (Note [nn backward]).
  grads: {
    input: (g, s) => {
      const { dims, bshape, invstd, xhat } = batchNormTerms(s);
      const scale = s.w ? invstd.mul(s.w.reshape(bshape)) : invstd;
      if (!s.training) return g.mul(scale);
      const meanG = g.mean(dims, { keepdim: true });
      const meanGX = g.mul(xhat).mean(dims, { keepdim: true });
      return g.sub(meanG).sub(xhat.mul(meanGX)).mul(scale);
    },
    weight: (g, s) => {
      const { dims, xhat } = batchNormTerms(s);
      return g.mul(xhat).sum(dims);
    },
    bias: (g, s) => g.sum(batchNormLayout(s.x).dims),
  },
  fused: (g, { x, w, saveMean, saveInvstd, training }, needs) => {
    const N = x._shape[0],
      C = x._shape[1];
    const S = x.numel() / Math.max(1, N * C);
    const shape3 = [N, C, S];
    const gc = sameDType(g, x.dtype);
    const gx = needs.input ? K.empty(x._shape, x.dtype, 'batchNorm', x.device) : null;
    const gw = needs.weight ? K.empty([C], x.dtype, 'batchNorm', x.device) : null;
    const gb = needs.bias ? K.empty([C], x.dtype, 'batchNorm', x.device) : null;
    native.batchNormBackward(
      refAs(gc, shape3),
      refAs(x, shape3),
      w ? K.cast(K.contiguous(w), x.dtype)._ref() : null,
      saveMean._ref(),
      saveInvstd._ref(),
      training,
      gx ? refAs(gx, shape3) : null,
      gw?._ref() ?? null,
      gb?._ref() ?? null,
    );
    return { input: gx, weight: gw, bias: gb };
  },
});

/** The dims batch norm reduces over (all but the channels) and the shape [1, C, 1, ...] of a per-channel value. */
function batchNormLayout(x: Tensor): { dims: number[]; bshape: number[] } {
  const C = x._shape[1];
  return { dims: [...x._shape.keys()].filter((d) => d !== 1), bshape: x._shape.map((n, d) => (d === 1 ? C : 1)) };
}

/**
 * The normalised input and the inverse standard deviation, from
 * differentiable ops: in training the statistics depend on x, so they are
 * rebuilt from it.
 */
function batchNormTerms(s: BatchNormSaved): { dims: number[]; bshape: number[]; invstd: Tensor; xhat: Tensor } {
  const x = s.x;
  const { dims, bshape } = batchNormLayout(x);
  let mean: Tensor, invstd: Tensor;
  if (s.training) {
    mean = x.mean(dims, { keepdim: true });
    const xc = x.sub(mean);
    invstd = xc.mul(xc).mean(dims, { keepdim: true }).add(s.eps).rsqrt();
  } else {
    mean = s.saveMean.reshape(bshape);
    invstd = s.saveInvstd.reshape(bshape);
  }
  return { dims, bshape, invstd, xhat: x.sub(mean).mul(invstd) };
}

// ---- layer norm --------------------------------------------------------------------------
interface LayerNormSaved {
  x: Tensor;
  w: Tensor | null;
  mean: Tensor;
  rstd: Tensor;
  /** How many trailing dims are normalised. */
  k: number;
  eps: number;
}

/**
 * x [..., *normalizedShape] on the CPU, float32 or float64, with
 * `normDims` trailing dims normalised; weight/bias of normalizedShape, of
 * x's dtype, or null. PyTorch's native_layer_norm: one pass per row
 * forward and one backward, where the composite of ops (mean, sub, mul,
 * mean, rsqrt, mul, mul, add and their backwards) makes a full-size
 * temporary for each step.
 */
export const nativeLayerNorm = op(
  'nativeLayerNorm',
  [T.tensor('input'), T.optTensor('weight'), T.optTensor('bias'), p.int('normDims'), p.float('eps')],
  'layer normalisation over the trailing normDims dims (F.layerNorm checks the arguments)',
);

/** Rows and row length of layer norm over x's last k dims. */
function layerNormRows(x: Tensor, k: number): [number, number] {
  let N = 1;
  for (let d = x.ndim - k; d < x.ndim; d++) N *= x._shape[d];
  return [N === 0 ? 0 : x.numel() / N, N];
}

define(nativeLayerNorm, {
  node: 'NativeLayerNormBackward0',
  forward: ({ input, weight: w, bias: b, normDims: k, eps }): Saving<LayerNormSaved> => {
    const x = K.contiguous(input);
    const [M, N] = layerNormRows(x, k);
    const out = K.output(x._shape, x.dtype, 'layerNorm', x.device);
    const mean = K.output([M], x.dtype, 'layerNorm', x.device);
    const rstd = K.output([M], x.dtype, 'layerNorm', x.device);
    const flat = (t: Tensor | null) => (t ? refAs(K.contiguous(t), [N]) : null);
    native.layerNorm(refAs(x, [M, N]), flat(w), flat(b), eps, refAs(out, [M, N]), mean._ref(), rstd._ref());
    return { out, save: { x, w, mean, rstd, k, eps } };
  },
  // The backward from differentiable ops, for createGraph (Note [nn backward]):
  // the statistics depend on x, so they are rebuilt from it.
  grads: {
    input: (g, s) => {
      const { dims, rstd, xhat } = layerNormTerms(s);
      const d = s.w ? g.mul(s.w) : g;
      const meanD = d.mean(dims, { keepdim: true });
      const meanDX = d.mul(xhat).mean(dims, { keepdim: true });
      return d.sub(meanD).sub(xhat.mul(meanDX)).mul(rstd);
    },
    weight: (g, s) => sumLeading(g.mul(layerNormTerms(s).xhat), s.k),
    bias: (g, s) => sumLeading(g, s.k),
  },
  fused: (g, { x, w, mean, rstd, k }, needs) => {
    const [M, N] = layerNormRows(x, k);
    const gc = sameDType(g, x.dtype);
    const gx = needs.input ? K.output(x._shape, x.dtype, 'layerNorm', x.device) : null;
    const wShape = x._shape.slice(x.ndim - k);
    const gw = needs.weight ? K.output(wShape, x.dtype, 'layerNorm', x.device) : null;
    const gb = needs.bias ? K.output(wShape, x.dtype, 'layerNorm', x.device) : null;
    native.layerNormBackward(
      refAs(gc, [M, N]),
      refAs(x, [M, N]),
      w ? refAs(K.contiguous(w), [N]) : null,
      mean._ref(),
      rstd._ref(),
      gx ? refAs(gx, [M, N]) : null,
      gw ? refAs(gw, [N]) : null,
      gb ? refAs(gb, [N]) : null,
    );
    return { input: gx, weight: gw, bias: gb };
  },
});

/** t summed over all but its last k dims (t itself when it has no others). */
function sumLeading(t: Tensor, k: number): Tensor {
  const lead = Array.from({ length: t.ndim - k }, (_, i) => i);
  return lead.length ? t.sum(lead) : t;
}

/** The normalised dims, 1/sqrt(var + eps) and the normalised input, from differentiable ops. */
function layerNormTerms(s: LayerNormSaved): { dims: number[]; rstd: Tensor; xhat: Tensor } {
  const x = s.x;
  const dims = Array.from({ length: s.k }, (_, i) => x.ndim - s.k + i);
  const xc = x.sub(x.mean(dims, { keepdim: true }));
  const rstd = xc.mul(xc).mean(dims, { keepdim: true }).add(s.eps).rsqrt();
  return { dims, rstd, xhat: xc.mul(rstd) };
}

// ---- nll / cross entropy -----------------------------------------------------------------
interface NllSaved {
  x: Tensor;
  /** int64, [N, D] viewable: the input's shape without the class dim. */
  target: Tensor;
  weight: Tensor | null;
  ignoreIndex: number;
  labelSmoothing: number;
  reduction: Reduction;
  /** true: input is logits (cross entropy); false: log-probabilities (nll_loss). */
  logits: boolean;
  lse: Tensor | null;
  /** The sum of the weights of the non-ignored targets, as the forward left it on the device. */
  totalWeightTensor: Tensor;
  totalWeight?: number;
}

/** [N, C, ...] -> [N, C, D]. */
function nllShape(shape: readonly number[]): [number, number, number] {
  const N = shape[0],
    C = shape[1];
  let D = 1;
  for (let i = 2; i < shape.length; i++) D *= shape[i];
  return [N, C, D];
}

const NLL_PARAMS = [
  T.tensor('input'),
  T.tensor('target'),
  T.optTensor('weight'),
  reductionParam,
  p.int('ignoreIndex'),
  p.float('labelSmoothing'),
  p.bool('logits'),
] as const;

function nllForward(a: ArgsOf<typeof NLL_PARAMS>): Saving<NllSaved> {
  const x = a.input;
  const xc = K.contiguous(x);
  const [N, C, D] = nllShape(xc._shape);
  const target = K.contiguous(a.target);
  const weight = a.weight ? K.cast(K.contiguous(a.weight), x.dtype) : null;
  const rowShape = xc._shape.filter((_, i) => i !== 1);
  const dev = x.device;
  const out = K.empty(a.reduction === 'none' ? rowShape : [], x.dtype, 'nllLoss', dev);
  const lse = a.logits ? K.empty([N, D], x.dtype, 'nllLoss', dev) : null;
  const tw = K.empty([], x.dtype, 'nllLoss', dev);
  native.nllLoss(
    refAs(xc, [N, C, D]),
    refAs(target, [N, D]),
    weight?._ref() ?? null,
    a.ignoreIndex,
    a.labelSmoothing,
    REDUCTION_CODE[a.reduction],
    a.logits,
    a.reduction === 'none' ? refAs(out, [N, D]) : out._ref(),
    lse?._ref() ?? null,
    tw._ref(),
  );
  // The total weight is read when backward runs: on a device, reading it
  // is a wait for the kernel, which a forward (evaluation, say) should not pay.
  const save: NllSaved = {
    x: xc,
    target,
    weight,
    ignoreIndex: a.ignoreIndex,
    labelSmoothing: a.labelSmoothing,
    reduction: a.reduction,
    logits: a.logits,
    lse,
    totalWeightTensor: tw,
  };
  return { out, save };
}

/** The sum of the weights of the non-ignored targets, from the forward. */
function totalWeightOf(s: NllSaved): number {
  if (s.totalWeight === undefined) s.totalWeight = s.totalWeightTensor.item();
  return s.totalWeight;
}

function nllFused(g: Tensor, s: NllSaved): { input: Tensor } {
  const x = s.x;
  const [N, C, D] = nllShape(x._shape);
  const gc = sameDType(g, x.dtype);
  const gx = K.empty(x._shape, x.dtype, 'nllLoss', x.device);
  native.nllLossBackward(
    s.reduction === 'none' ? refAs(gc, [N, D]) : gc._ref(),
    refAs(x, [N, C, D]),
    refAs(s.target, [N, D]),
    s.weight?._ref() ?? null,
    s.ignoreIndex,
    s.labelSmoothing,
    REDUCTION_CODE[s.reduction],
    s.logits,
    s.lse?._ref() ?? null,
    totalWeightOf(s),
    refAs(gx, [N, C, D]),
  );
  return { input: gx };
}

/** The nll / cross-entropy gradient from differentiable ops (Note [nn backward], Note [Label smoothing] in nn.cc). */
function nllGrad(g: Tensor, s: NllSaved): Tensor {
  const x = s.x;
  const totalWeight = totalWeightOf(s);
  const [N, C, D] = nllShape(x._shape);
  const k = noGrad(() => {
    const t = s.target.reshape([N, D]);
    const valid = t.ne(s.ignoreIndex);
    // Ignored rows point at class 0; their gradient is masked out below.
    const safe = K.contiguous(t.mul(valid.to('int64')));
    const dev = x.device;
    const cw = s.weight ? s.weight.to(x.dtype) : K.empty([C], x.dtype, 'nllLoss', dev).add(1);
    const rowWeight = cw.indexSelect(0, safe.reshape([-1])).reshape([N, D]);
    const onehot = K.empty([N, C, D], x.dtype, 'nllLoss', dev);
    native.scatter(onehot._ref(), 1, safe.reshape([N, 1, D])._ref(), K.empty([N, 1, D], x.dtype, 'nllLoss', dev).add(1)._ref());
    return { valid: valid.to(x.dtype), rowWeight, onehot, classWeight: cw.reshape([1, C, 1]), sumW: cw.sum().item() };
  });
  const gScaled = s.reduction === 'none' ? g.reshape([N, D]) : s.reduction === 'mean' ? g.div(totalWeight) : g;
  const gRow = gScaled.mul(k.valid).reshape([N, 1, D]);
  const a = k.rowWeight.mul(1 - s.labelSmoothing).reshape([N, 1, D]);
  const b = s.labelSmoothing / C;
  let grad: Tensor;
  if (s.logits) {
    const prob = x.reshape([N, C, D]).softmax(1);
    grad = prob.sub(k.onehot).mul(a);
    if (b > 0) grad = grad.add(prob.mul(k.sumW).sub(k.classWeight).mul(b));
  } else {
    grad = k.onehot.mul(a).neg();
    if (b > 0) grad = grad.sub(k.classWeight.mul(b));
  }
  return grad.mul(gRow).reshape(x._shape);
}

/**
 * x [N, C, ...] (logits, or log-probabilities with logits false); target
 * int64 with x's shape minus dim 1. One fused kernel for nll_loss and
 * cross_entropy (log-softmax and nll in one pass).
 */
export const nllLossNd = op(
  'nllLossNd',
  NLL_PARAMS,
  'nll loss of log-probabilities, or cross entropy of logits (F.crossEntropy and F.nllLoss check the arguments)',
);
/** nllLossNd with label smoothing: PyTorch's cross_entropy then ends in an add of the two terms (its node). */
export const nllLossNdSmoothed = op('nllLossNdSmoothed', NLL_PARAMS, 'cross entropy of logits with label smoothing');
define(nllLossNd, { node: 'NllLossBackward0', forward: nllForward, grads: { input: nllGrad }, fused: nllFused });
define(nllLossNdSmoothed, { node: 'AddBackward0', forward: nllForward, grads: { input: nllGrad }, fused: nllFused });

// ---- losses with formula gradients ----------------------------------------------------------
function reduce(l: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'mean') return l.mean();
  if (reduction === 'sum') return l.sum();
  return l;
}

/** The upstream gradient of a reduced loss spread over its n elements. */
function spread(g: Tensor, reduction: Reduction, n: number): Tensor {
  return reduction === 'mean' ? g.div(n) : g;
}

export const mseLoss = op(
  'mseLoss',
  [T.tensor('input'), T.tensor('target'), reductionParam],
  '(input - target)^2, reduced (F.mseLoss checks the arguments)',
);
define(mseLoss, {
  node: 'MseLossBackward0',
  forward: ({ input: x, target: y, reduction }) => {
    const d = x.sub(y);
    return { out: reduce(d.mul(d), reduction), save: { x, y, reduction, n: d.numel() } };
  },
  grads: {
    input: (g, s) => mseGrad(g, s),
    target: (g, s) => mseGrad(g, s).neg(),
  },
});

function mseGrad(g: Tensor, s: { x: Tensor; y: Tensor; reduction: Reduction; n: number }): Tensor {
  return s.x.sub(s.y).mul(spread(g, s.reduction, s.n).mul(2));
}

// PyTorch clamps the logs at -100 so a prediction of exactly 0 or 1 gives
// a finite loss, and the gradient's denominator at 1e-12.
const BCE_LOG_MIN = -100;
const BCE_EPS = 1e-12;

interface BceSaved {
  x: Tensor;
  y: Tensor;
  weight: Tensor | null;
  posWeight: Tensor | null;
  reduction: Reduction;
  n: number;
}

/** The upstream gradient of each element, weighted. */
function elementGrad(g: Tensor, s: BceSaved): Tensor {
  const gs = spread(g, s.reduction, s.n);
  return s.weight ? gs.mul(s.weight) : gs;
}

export const binaryCrossEntropy = op(
  'binaryCrossEntropy',
  [T.tensor('input'), T.tensor('target'), T.optTensor('weight'), reductionParam],
  '-(target log(input) + (1 - target) log(1 - input)), weighted and reduced (F.binaryCrossEntropy checks the arguments)',
);
define(binaryCrossEntropy, {
  node: 'BinaryCrossEntropyBackward0',
  forward: ({ input: x, target: y, weight, reduction }): Saving<BceSaved> => {
    const logX = x.log().clamp(BCE_LOG_MIN, null);
    const log1mX = x.rsub(1).log().clamp(BCE_LOG_MIN, null);
    let l = y.mul(logX).add(y.rsub(1).mul(log1mX)).neg();
    if (weight) l = l.mul(weight);
    return { out: reduce(l, reduction), save: { x, y, weight, posWeight: null, reduction, n: x.numel() } };
  },
  grads: {
    input: (g, s) => s.x.sub(s.y).div(s.x.rsub(1).mul(s.x).clamp(BCE_EPS, null)).mul(elementGrad(g, s)),
    target: (g, s) => s.x.rsub(1).log().clamp(BCE_LOG_MIN, null).sub(s.x.log().clamp(BCE_LOG_MIN, null)).mul(elementGrad(g, s)),
  },
});

/** log(1 + exp(-x)) computed without overflow: max(-x, 0) + log1p(exp(-|x|)). */
function softplusNeg(x: Tensor): Tensor {
  return x.neg().clamp(0, null).add(x.abs().neg().exp().log1p());
}

export const binaryCrossEntropyWithLogits = op(
  'binaryCrossEntropyWithLogits',
  [T.tensor('input'), T.tensor('target'), T.optTensor('weight'), T.optTensor('posWeight'), reductionParam],
  'binaryCrossEntropy of sigmoid(input), computed stably (F.binaryCrossEntropyWithLogits checks the arguments)',
);
define(binaryCrossEntropyWithLogits, {
  node: 'BinaryCrossEntropyWithLogitsBackward0',
  forward: ({ input: x, target: y, weight, posWeight, reduction }): Saving<BceSaved> => {
    const sp = softplusNeg(x);
    let l: Tensor;
    if (posWeight) {
      const logWeight = posWeight.sub(1).mul(y).add(1);
      l = y.rsub(1).mul(x).add(logWeight.mul(sp));
    } else {
      l = y.rsub(1).mul(x).add(sp);
    }
    if (weight) l = l.mul(weight);
    return { out: reduce(l, reduction), save: { x, y, weight, posWeight, reduction, n: x.numel() } };
  },
  grads: {
    input: (g, s) => {
      const gs = elementGrad(g, s);
      if (!s.posWeight) return s.x.sigmoid().sub(s.y).mul(gs);
      const t = s.posWeight.mul(s.y);
      return t.add(1).sub(s.y).mul(s.x.sigmoid()).sub(t).mul(gs);
    },
    // d/dy [(1 - y) x + ((pw - 1) y + 1) softplus(-x)] = -x + (pw - 1) softplus(-x)
    target: (g, s) => {
      const gs = elementGrad(g, s);
      return s.posWeight ? s.posWeight.sub(1).mul(softplusNeg(s.x)).sub(s.x).mul(gs) : s.x.neg().mul(gs);
    },
  },
});

// ---- activations and dropout ------------------------------------------------------------------
export const leakyRelu = op(
  'leakyRelu',
  [T.tensor('input'), p.float('negativeSlope')],
  'input where > 0, else negativeSlope * input (F.leakyRelu checks the arguments)',
);
define(leakyRelu, {
  node: 'LeakyReluBackward0',
  forward: ({ input: x, negativeSlope: slope }) => {
    const pos = K.binary('Gt', x, 0);
    const out = K.output(x._shape, x.dtype, 'leakyRelu', x.device);
    native.where(pos._ref(), x._ref(), K.binary('Mul', x, slope)._ref(), out._ref());
    return { out, save: { x, slope } };
  },
  grads: {
    // 1 where x > 0, else the slope (PyTorch's gradient at 0 is the slope).
    input: (g, { x, slope }) =>
      g.mul(
        noGrad(() =>
          x
            .gt(0)
            .to(g.dtype)
            .mul(1 - slope)
            .add(slope),
        ),
      ),
  },
});

/** Dropout's scaled keep-mask: 1/(1-p) with probability 1-p, else 0 (torch.manualSeed seeds it). */
export function dropoutMask(x: Tensor, p: number): Tensor {
  const mask = K.empty(x._shape, x.dtype, 'dropout', x.device);
  if (p < 1) {
    native.bernoulli(mask._ref(), 1 - p);
    native.binaryScalar(K.B.Mul, mask._ref(), 1 / (1 - p), false, mask._ref());
  }
  return mask;
}

// ---- embedding ---------------------------------------------------------------------------------
/** Rows of weight [num, D] at the int64 indices (values in range, checked by F.embedding): out [...indices.shape, D]. */
export const embedding = op(
  'embedding',
  [T.tensor('weight'), T.tensor('indices'), p.optInt('paddingIdx')],
  'rows of weight at indices; the paddingIdx row gets no gradient',
);
/** Sums the rows of gradOutput [M, D] into their rows of a [numWeights, D] gradient; indexSelect is its adjoint. */
export const embeddingDenseBackward = op(
  'embeddingDenseBackward',
  [T.tensor('gradOutput'), T.tensor('indices'), p.int('numWeights')],
  "embedding's weight gradient",
);

define(embedding, {
  node: 'EmbeddingBackward0',
  forward: ({ weight, indices, paddingIdx }) => {
    const M = indices.numel(),
      D = weight._shape[1];
    const index = K.contiguous(indices)._view([M]);
    const out = K.empty([...indices._shape, D], weight.dtype, 'embedding', weight.device);
    native.indexSelect(weight._ref(), 0, index._ref(), refAs(out, [M, D]));
    return { out, save: { index, paddingIdx, num: weight._shape[0] } };
  },
  grads: {
    weight: (g, { index, paddingIdx, num }) => {
      const M = index.numel();
      let g2 = g.reshape([M, g._shape[g._shape.length - 1]]);
      // The padding row gets no gradient (PyTorch's padding_idx).
      if (paddingIdx !== null) g2 = g2.mul(noGrad(() => index.ne(paddingIdx).to(g.dtype).reshape([M, 1])));
      return embeddingDenseBackward(g2, index, num);
    },
  },
});

define(embeddingDenseBackward, {
  node: 'EmbeddingBackwardBackward0',
  forward: ({ gradOutput: g2, indices, numWeights }) => {
    const gw = K.empty([numWeights, g2._shape[1]], g2.dtype, 'embedding', g2.device);
    native.indexAdd(gw._ref(), 0, indices._ref(), K.contiguous(g2)._ref(), 1);
    return { out: gw, save: indices };
  },
  grads: { gradOutput: (gg, indices) => gg.indexSelect(0, indices) },
});
