// The differentiable nn ops: convolution, pooling, batch norm and the fused
// nll / cross-entropy loss over the native kernels (native/cpu/nn.cc), plus
// the losses whose gradients PyTorch defines by formula (BCE, MSE).
// Arguments arrive checked and normalised by lib/nn/functional.ts.
//
// Note [nn backward]: a first-order backward calls the fused native
// backward kernel. Under createGraph (grad mode on inside backward) each op
// instead builds its gradient from differentiable ops, so higher-order
// gradients work: conv, pooling and embedding through pairs of mutually
// adjoint ops (each op's backward is the other op), batch norm and the nll
// family through composites of existing ops.
import { Tensor } from '../tensor.js';
import { defineOp, type Ctx } from '../autograd/function.js';
import { isGradEnabled, noGrad } from '../autograd/grad_mode.js';
import * as K from './kernels.js';
import type { Ref } from '../backend/native.js';
import type { DType } from '../dtype.js';

/** A contiguous tensor's memory seen with another (contiguous) shape. */
function refAs(t: Tensor, shape: readonly number[]): Ref {
  return K.makeRef(t._storage.data, t._offset, shape, K.contiguousStrides(shape));
}

function sameDType(g: Tensor, dtype: DType): Tensor {
  return K.contiguous(g.dtype === dtype ? g : K.cast(g, dtype));
}

// ---- conv2d --------------------------------------------------------------------------
export interface Conv2dParams {
  stride: [number, number];
  /** Top/left padding; bottom/right follow from the output size. */
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

function convArray(p: Conv2dParams): number[] {
  return [p.stride[0], p.stride[1], p.padding[0], p.padding[1], p.dilation[0], p.dilation[1], p.groups];
}

// conv2d and max pooling write every element of their outputs and
// gradients (the native kernels overwrite, never accumulate), so these are
// K.output: zeroing them first cost 5% of a LeNet step.
function convForward(x: Tensor, w: Tensor, b: Tensor | null, p: Conv2dParams, outHW: readonly number[]): Tensor {
  const out = K.output([x._shape[0], w._shape[0], outHW[0], outHW[1]], x.dtype, 'conv2d', x.device);
  K.native.conv2d(K.contiguous(x)._ref(), K.contiguous(w)._ref(), b ? K.contiguous(b)._ref() : null, convArray(p), out._ref());
  return out;
}

// The two halves of conv2d's backward as standalone kernels. The native
// backward reads x only to unfold it for the weight gradient and w only for
// the input gradient, so the tensor being written stands in for the one
// that is not read (it has the right shape and dtype).
function convInputGrad(g: Tensor, w: Tensor, p: Conv2dParams, xShape: readonly number[]): Tensor {
  const gx = K.output(xShape, g.dtype, 'conv2d', g.device);
  const gc = K.contiguous(g);
  K.native.conv2dBackward(gc._ref(), gx._ref(), K.contiguous(w)._ref(), convArray(p), gx._ref(), null, null);
  return gx;
}

function convWeightGrad(x: Tensor, g: Tensor, p: Conv2dParams, wShape: readonly number[]): Tensor {
  const gw = K.output(wShape, g.dtype, 'conv2d', g.device);
  K.native.conv2dBackward(K.contiguous(g)._ref(), K.contiguous(x)._ref(), gw._ref(), convArray(p), null, gw._ref(), null);
  return gw;
}

// conv2d is bilinear in (x, w), so its two partial backwards are bilinear
// too and the three ops close under differentiation (Note [nn backward]).
const convOp: (x: Tensor, w: Tensor, b: Tensor | null, p: Conv2dParams, outHW: readonly number[]) => Tensor = defineOp({
  name: 'ConvolutionBackward0',
  forward: (ctx, x: Tensor, w: Tensor, b: Tensor | null, p: Conv2dParams, outHW: readonly number[]) => {
    const xc = K.contiguous(x), wc = K.contiguous(w);
    ctx.saveForBackward(xc, wc);
    ctx.p = p;
    ctx.hasBias = b !== null;
    return convForward(xc, wc, b, p, outHW);
  },
  backward: (ctx, g) => {
    const [x, w] = ctx.savedTensors;
    const p = ctx.p as Conv2dParams;
    const [needX, needW, needB] = ctx.needsInputGrad;
    let gx: Tensor | null = null, gw: Tensor | null = null, gb: Tensor | null = null;
    if (isGradEnabled()) {
      if (needX) gx = convInputGradOp(g, w, p, x._shape);
      if (needW) gw = convWeightGradOp(x, g, p, w._shape);
      if (ctx.hasBias && needB) gb = g.sum([0, 2, 3]);
    } else {
      const gc = sameDType(g, x.dtype);
      gx = needX ? K.output(x._shape, x.dtype, 'conv2d', x.device) : null;
      gw = needW ? K.output(w._shape, x.dtype, 'conv2d', x.device) : null;
      gb = ctx.hasBias && needB ? K.output([w._shape[0]], x.dtype, 'conv2d', x.device) : null;
      K.native.conv2dBackward(gc._ref(), x._ref(), w._ref(), convArray(p), gx?._ref() ?? null, gw?._ref() ?? null, gb?._ref() ?? null);
    }
    return ctx.hasBias ? [gx, gw, gb] : [gx, gw];
  },
});

const convInputGradOp: (g: Tensor, w: Tensor, p: Conv2dParams, xShape: readonly number[]) => Tensor = defineOp({
  name: 'ConvolutionBackwardBackward0',
  forward: (ctx, g: Tensor, w: Tensor, p: Conv2dParams, xShape: readonly number[]) => {
    ctx.saveForBackward(g, w);
    ctx.p = p;
    return convInputGrad(g, w, p, xShape);
  },
  backward: (ctx, ggx) => {
    const [g, w] = ctx.savedTensors;
    const p = ctx.p as Conv2dParams;
    return [
      ctx.needsInputGrad[0] ? convOp(ggx, w, null, p, g._shape.slice(2)) : null,
      ctx.needsInputGrad[1] ? convWeightGradOp(ggx, g, p, w._shape) : null,
    ];
  },
});

const convWeightGradOp: (x: Tensor, g: Tensor, p: Conv2dParams, wShape: readonly number[]) => Tensor = defineOp({
  name: 'ConvolutionBackwardBackward0',
  forward: (ctx, x: Tensor, g: Tensor, p: Conv2dParams, wShape: readonly number[]) => {
    ctx.saveForBackward(x, g);
    ctx.p = p;
    return convWeightGrad(x, g, p, wShape);
  },
  backward: (ctx, ggw) => {
    const [x, g] = ctx.savedTensors;
    const p = ctx.p as Conv2dParams;
    return [
      ctx.needsInputGrad[0] ? convInputGradOp(g, ggw, p, x._shape) : null,
      ctx.needsInputGrad[1] ? convOp(x, ggw, null, p, g._shape.slice(2)) : null,
    ];
  },
});

/** x [N, C, H, W], w [OC, C/groups, KH, KW], b [OC] or null; out [N, OC, outHW]. */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, p: Conv2dParams, outHW: [number, number]): Tensor {
  return convOp(x, w, b, p, outHW);
}

// ---- pooling ---------------------------------------------------------------------------
export interface Pool2dParams {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
}

function poolArray(p: Pool2dParams): number[] {
  return [p.kernel[0], p.kernel[1], p.stride[0], p.stride[1], p.padding[0], p.padding[1], p.dilation[0], p.dilation[1]];
}

/** [N, C, H, W] -> the number of planes N * C. */
function planesOf(shape: readonly number[]): number {
  return shape[0] * shape[1];
}

function maxPoolForward(x: Tensor, p: Pool2dParams, outHW: readonly number[]): { values: Tensor; indices: Tensor } {
  const xc = K.contiguous(x, 'maxPool2d');
  const [N, C, H, W] = xc._shape;
  const [OH, OW] = outHW;
  const values = K.output([N, C, OH, OW], x.dtype, 'maxPool2d', x.device);
  const indices = K.output([N, C, OH, OW], 'int64', 'maxPool2d', x.device);
  const P = N * C;
  K.native.maxPool2d(refAs(xc, [P, H, W]), poolArray(p), refAs(values, [P, OH, OW]), refAs(indices, [P, OH, OW]));
  return { values, indices };
}

// The indices of the latest maxPoolOp forward, for maxPool2dWithIndices
// (an op returns one tensor; this hands over the second without a rerun).
let lastIndices: Tensor | null = null;

const maxPoolOp = defineOp({
  name: 'MaxPool2DWithIndicesBackward0',
  forward: (ctx, x: Tensor, p: Pool2dParams, outHW: readonly number[]) => {
    const { values, indices } = maxPoolForward(x, p, outHW);
    ctx.xShape = x._shape;
    ctx.indices = indices;
    lastIndices = indices;
    return values;
  },
  backward: (ctx, g) => [maxPoolBackwardOp(g, ctx.indices as Tensor, ctx.xShape as number[])],
});

// Scatters g to the argmax positions; linear in g, with gather as its adjoint.
const maxPoolBackwardOp = defineOp({
  name: 'MaxPool2DWithIndicesBackwardBackward0',
  forward: (ctx, g: Tensor, indices: Tensor, xShape: readonly number[]) => {
    const P = planesOf(xShape), H = xShape[2], W = xShape[3];
    const OH = indices._shape[2], OW = indices._shape[3];
    ctx.indices = indices;
    ctx.gShape = g._shape;
    const gx = K.output(xShape, g.dtype, 'maxPool2d', g.device);
    K.native.maxPool2dBackward(refAs(K.contiguous(g), [P, OH, OW]), refAs(indices, [P, OH, OW]), refAs(gx, [P, H, W]));
    return gx;
  },
  backward: (ctx, gg) => {
    const indices = ctx.indices as Tensor;
    const shape = ctx.gShape as number[];
    const P = planesOf(shape), L = shape[2] * shape[3];
    return [gg.reshape([P, -1]).gather(1, indices._view([P, L])).reshape(shape)];
  },
});

export function maxPool2d(x: Tensor, p: Pool2dParams, outHW: [number, number]): Tensor {
  return maxPoolOp(x, p, outHW);
}

/** maxPool2d with PyTorch's return_indices: the flat h * W + w of each maximum in its plane. */
export function maxPool2dWithIndices(x: Tensor, p: Pool2dParams, outHW: [number, number]): { values: Tensor; indices: Tensor } {
  lastIndices = null;
  const values = maxPoolOp(x, p, outHW);
  const indices = lastIndices as Tensor | null;
  lastIndices = null;
  if (indices === null) throw new Error('maxPool2d: internal error: the forward left no indices');
  return { values, indices };
}

export interface AvgPoolOptions {
  countIncludePad: boolean;
  /** 0: none. */
  divisorOverride: number;
}

function avgForward(x: Tensor, p: Pool2dParams, o: AvgPoolOptions, outHW: readonly number[]): Tensor {
  const xc = K.contiguous(x, 'avgPool2d');
  const [N, C, H, W] = xc._shape;
  const out = K.empty([N, C, outHW[0], outHW[1]], x.dtype, 'avgPool2d', x.device);
  K.native.avgPool2d(refAs(xc, [N * C, H, W]), poolArray(p), o.countIncludePad, o.divisorOverride, refAs(out, [N * C, outHW[0], outHW[1]]));
  return out;
}

function avgBackward(g: Tensor, p: Pool2dParams, o: AvgPoolOptions, xShape: readonly number[]): Tensor {
  const gc = K.contiguous(g);
  const [N, C, OH, OW] = gc._shape;
  const gx = K.empty(xShape, g.dtype, 'avgPool2d', g.device);
  K.native.avgPool2dBackward(refAs(gc, [N * C, OH, OW]), poolArray(p), o.countIncludePad, o.divisorOverride, refAs(gx, [N * C, xShape[2], xShape[3]]));
  return gx;
}

// Average pooling is linear, and its backward is its adjoint: each op's
// gradient is the other op (Note [nn backward]).
const avgPoolOp: (x: Tensor, p: Pool2dParams, o: AvgPoolOptions, outHW: readonly number[]) => Tensor = defineOp({
  name: 'AvgPool2DBackward0',
  forward: (ctx, x: Tensor, p: Pool2dParams, o: AvgPoolOptions, outHW: readonly number[]) => {
    ctx.p = p;
    ctx.o = o;
    ctx.xShape = x._shape;
    return avgForward(x, p, o, outHW);
  },
  backward: (ctx, g) => {
    if (isGradEnabled()) return [avgPoolBackwardOp(g, ctx.p, ctx.o, ctx.xShape)];
    return [avgBackward(g, ctx.p, ctx.o, ctx.xShape)];
  },
});

const avgPoolBackwardOp: (g: Tensor, p: Pool2dParams, o: AvgPoolOptions, xShape: readonly number[]) => Tensor = defineOp({
  name: 'AvgPool2DBackwardBackward0',
  forward: (ctx, g: Tensor, p: Pool2dParams, o: AvgPoolOptions, xShape: readonly number[]) => {
    ctx.p = p;
    ctx.o = o;
    ctx.outHW = g._shape.slice(2);
    return avgBackward(g, p, o, xShape);
  },
  backward: (ctx, gg) => [avgPoolOp(gg, ctx.p, ctx.o, ctx.outHW)],
});

export function avgPool2d(x: Tensor, p: Pool2dParams, o: AvgPoolOptions, outHW: [number, number]): Tensor {
  return avgPoolOp(x, p, o, outHW);
}

function adaptiveForward(x: Tensor, outHW: readonly number[]): Tensor {
  const xc = K.contiguous(x, 'adaptiveAvgPool2d');
  const [N, C, H, W] = xc._shape;
  const out = K.empty([N, C, outHW[0], outHW[1]], x.dtype, 'adaptiveAvgPool2d', x.device);
  K.native.adaptiveAvgPool2d(refAs(xc, [N * C, H, W]), refAs(out, [N * C, outHW[0], outHW[1]]));
  return out;
}

function adaptiveBackward(g: Tensor, xShape: readonly number[]): Tensor {
  const gc = K.contiguous(g);
  const [N, C, OH, OW] = gc._shape;
  const gx = K.empty(xShape, g.dtype, 'adaptiveAvgPool2d', g.device);
  K.native.adaptiveAvgPool2dBackward(refAs(gc, [N * C, OH, OW]), refAs(gx, [N * C, xShape[2], xShape[3]]));
  return gx;
}

const adaptiveAvgPoolOp: (x: Tensor, outHW: readonly number[]) => Tensor = defineOp({
  name: 'AdaptiveAvgPool2DBackward0',
  forward: (ctx, x: Tensor, outHW: readonly number[]) => {
    ctx.xShape = x._shape;
    return adaptiveForward(x, outHW);
  },
  backward: (ctx, g) => [isGradEnabled() ? adaptiveAvgPoolBackwardOp(g, ctx.xShape) : adaptiveBackward(g, ctx.xShape)],
});

const adaptiveAvgPoolBackwardOp: (g: Tensor, xShape: readonly number[]) => Tensor = defineOp({
  name: 'AdaptiveAvgPool2DBackwardBackward0',
  forward: (ctx, g: Tensor, xShape: readonly number[]) => {
    ctx.outHW = g._shape.slice(2);
    return adaptiveBackward(g, xShape);
  },
  backward: (ctx, gg) => [adaptiveAvgPoolOp(gg, ctx.outHW)],
});

export function adaptiveAvgPool2d(x: Tensor, outHW: [number, number]): Tensor {
  return adaptiveAvgPoolOp(x, outHW);
}

// ---- batch norm ------------------------------------------------------------------------
export interface BatchNormState {
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  training: boolean;
  momentum: number;
  eps: number;
}

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
      K.native.copy(scratch._ref(), t._ref());
      t._bumpVersion();
    },
  };
}

const batchNormOp = defineOp({
  name: 'NativeBatchNormBackward0',
  forward: (ctx, x: Tensor, w: Tensor | null, b: Tensor | null, s: BatchNormState) => {
    const xc = K.contiguous(x);
    const C = xc._shape[1], N = xc._shape[0];
    const S = xc.numel() / Math.max(1, N * C);
    const shape3 = [N, C, S];
    const dev = x.device;
    const out = K.empty(xc._shape, x.dtype, 'batchNorm', dev);
    const saveMean = K.empty([C], x.dtype, 'batchNorm', dev), saveInvstd = K.empty([C], x.dtype, 'batchNorm', dev);
    const rm = inPlaceBuffer(s.training ? s.runningMean : null, x.dtype);
    const rv = inPlaceBuffer(s.training ? s.runningVar : null, x.dtype);
    // Evaluation reads the running statistics only.
    const rmEval = s.training || !s.runningMean ? null : K.cast(K.contiguous(s.runningMean), x.dtype);
    const rvEval = s.training || !s.runningVar ? null : K.cast(K.contiguous(s.runningVar), x.dtype);
    K.native.batchNorm(
      refAs(xc, shape3),
      w ? K.cast(K.contiguous(w), x.dtype)._ref() : null,
      b ? K.cast(K.contiguous(b), x.dtype)._ref() : null,
      s.training ? rm.ref : rmEval!._ref(),
      s.training ? rv.ref : rvEval!._ref(),
      s.training,
      s.momentum,
      s.eps,
      refAs(out, shape3),
      saveMean._ref(),
      saveInvstd._ref(),
    );
    rm.commit();
    rv.commit();
    ctx.saveForBackward(xc, w);
    ctx.saveMean = saveMean;
    ctx.saveInvstd = saveInvstd;
    ctx.training = s.training;
    ctx.eps = s.eps;
    ctx.hasW = w !== null;
    ctx.hasB = b !== null;
    return out;
  },
  backward: (ctx, g) => {
    const [x, w] = ctx.savedTensors;
    const needs = ctx.needsInputGrad;
    const needX = needs[0], needW = ctx.hasW && needs[1], needB = ctx.hasB && needs[ctx.hasW ? 2 : 1];
    let gx: Tensor | null, gw: Tensor | null, gb: Tensor | null;
    if (isGradEnabled()) {
      [gx, gw, gb] = batchNormBackwardComposite(g, x, w, ctx);
    } else {
      const N = x._shape[0], C = x._shape[1];
      const S = x.numel() / Math.max(1, N * C);
      const shape3 = [N, C, S];
      const gc = sameDType(g, x.dtype);
      gx = needX ? K.empty(x._shape, x.dtype, 'batchNorm', x.device) : null;
      gw = needW ? K.empty([C], x.dtype, 'batchNorm', x.device) : null;
      gb = needB ? K.empty([C], x.dtype, 'batchNorm', x.device) : null;
      K.native.batchNormBackward(
        refAs(gc, shape3), refAs(x, shape3), w ? K.cast(K.contiguous(w), x.dtype)._ref() : null,
        (ctx.saveMean as Tensor)._ref(), (ctx.saveInvstd as Tensor)._ref(), ctx.training,
        gx ? refAs(gx, shape3) : null, gw?._ref() ?? null, gb?._ref() ?? null,
      );
    }
    const out: (Tensor | null)[] = [needX ? gx : null];
    if (ctx.hasW) out.push(needW ? gw : null);
    if (ctx.hasB) out.push(needB ? gb : null);
    return out;
  },
});

/** The batch norm backward from differentiable ops, for createGraph (Note [nn backward]). */
function batchNormBackwardComposite(g: Tensor, x: Tensor, w: Tensor | null, ctx: Ctx): [Tensor, Tensor, Tensor] {
  const C = x._shape[1];
  const dims = [...x._shape.keys()].filter((d) => d !== 1);
  const bshape = x._shape.map((s, d) => (d === 1 ? C : 1));
  let mean: Tensor, invstd: Tensor;
  if (ctx.training) {
    // The statistics depend on x, so they are rebuilt from it differentiably.
    mean = x.mean(dims, { keepdim: true });
    const xc = x.sub(mean);
    invstd = xc.mul(xc).mean(dims, { keepdim: true }).add(ctx.eps).rsqrt();
  } else {
    mean = (ctx.saveMean as Tensor).reshape(bshape);
    invstd = (ctx.saveInvstd as Tensor).reshape(bshape);
  }
  const xhat = x.sub(mean).mul(invstd);
  const gb = g.sum(dims);
  const gw = g.mul(xhat).sum(dims);
  const scale = w ? invstd.mul(w.reshape(bshape)) : invstd;
  let gx: Tensor;
  if (ctx.training) {
    const meanG = g.mean(dims, { keepdim: true });
    const meanGX = g.mul(xhat).mean(dims, { keepdim: true });
    gx = g.sub(meanG).sub(xhat.mul(meanGX)).mul(scale);
  } else {
    gx = g.mul(scale);
  }
  return [gx, gw, gb];
}

/** x [N, C, ...]; weight/bias [C] or null. Updates the running stats in place when training. */
export function batchNorm(x: Tensor, w: Tensor | null, b: Tensor | null, s: BatchNormState): Tensor {
  return batchNormOp(x, w, b, s);
}

// ---- nll / cross entropy -----------------------------------------------------------------
export type Reduction = 'none' | 'mean' | 'sum';
const REDUCTION_CODE: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 };

export interface NllState {
  /** int64, [N, D] viewable: the input's shape without the class dim. */
  target: Tensor;
  weight: Tensor | null;
  ignoreIndex: number;
  labelSmoothing: number;
  reduction: Reduction;
  /** true: input is logits (cross entropy); false: log-probabilities (nll_loss). */
  logits: boolean;
}

/** [N, C, ...] -> [N, C, D]. */
function nllShape(shape: readonly number[]): [number, number, number] {
  const N = shape[0], C = shape[1];
  let D = 1;
  for (let i = 2; i < shape.length; i++) D *= shape[i];
  return [N, C, D];
}

function nllForward(ctx: Ctx, x: Tensor, s: NllState): Tensor {
  const xc = K.contiguous(x);
  const [N, C, D] = nllShape(xc._shape);
  const target = K.contiguous(s.target);
  const weight = s.weight ? K.cast(K.contiguous(s.weight), x.dtype) : null;
  const rowShape = xc._shape.filter((_, i) => i !== 1);
  const dev = x.device;
  const out = K.empty(s.reduction === 'none' ? rowShape : [], x.dtype, 'nllLoss', dev);
  const lse = s.logits ? K.empty([N, D], x.dtype, 'nllLoss', dev) : null;
  const tw = K.empty([], x.dtype, 'nllLoss', dev);
  K.native.nllLoss(
    refAs(xc, [N, C, D]), refAs(target, [N, D]), weight?._ref() ?? null,
    s.ignoreIndex, s.labelSmoothing, REDUCTION_CODE[s.reduction], s.logits,
    s.reduction === 'none' ? refAs(out, [N, D]) : out._ref(), lse?._ref() ?? null, tw._ref(),
  );
  ctx.saveForBackward(xc);
  ctx.s = { ...s, target, weight };
  ctx.lse = lse;
  // Read when backward runs: on a device, reading it is a wait for the
  // kernel, which a forward (evaluation, say) should not pay.
  ctx.totalWeightTensor = tw;
  return out;
}

/** The sum of the weights of the non-ignored targets, from the forward. */
function totalWeightOf(ctx: Ctx): number {
  if (ctx.totalWeight === undefined) ctx.totalWeight = (ctx.totalWeightTensor as Tensor).item();
  return ctx.totalWeight as number;
}

function nllBackward(ctx: Ctx, g: Tensor): (Tensor | null)[] {
  const [x] = ctx.savedTensors;
  const s = ctx.s as NllState;
  if (isGradEnabled()) return [nllBackwardComposite(g, x, s, totalWeightOf(ctx))];
  const [N, C, D] = nllShape(x._shape);
  const gc = sameDType(g, x.dtype);
  const gx = K.empty(x._shape, x.dtype, 'nllLoss', x.device);
  K.native.nllLossBackward(
    s.reduction === 'none' ? refAs(gc, [N, D]) : gc._ref(), refAs(x, [N, C, D]), refAs(s.target, [N, D]),
    s.weight?._ref() ?? null, s.ignoreIndex, s.labelSmoothing, REDUCTION_CODE[s.reduction], s.logits,
    (ctx.lse as Tensor | null)?._ref() ?? null, totalWeightOf(ctx), refAs(gx, [N, C, D]),
  );
  return [gx];
}

/** The nll / cross-entropy gradient from differentiable ops (Note [nn backward], Note [Label smoothing] in nn.cc). */
function nllBackwardComposite(g: Tensor, x: Tensor, s: NllState, totalWeight: number): Tensor {
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
    K.native.scatter(onehot._ref(), 1, safe.reshape([N, 1, D])._ref(), K.empty([N, 1, D], x.dtype, 'nllLoss', dev).add(1)._ref());
    return { valid: valid.to(x.dtype), rowWeight, onehot, classWeight: cw.reshape([1, C, 1]), sumW: cw.sum().item() };
  });
  const gScaled = s.reduction === 'none' ? g.reshape([N, D]) : s.reduction === 'mean' ? g.div(totalWeight) : g;
  const gRow = gScaled.mul(k.valid).reshape([N, 1, D]);
  const a = k.rowWeight.mul(1 - s.labelSmoothing).reshape([N, 1, D]);
  const b = s.labelSmoothing / C;
  let grad: Tensor;
  if (s.logits) {
    const p = x.reshape([N, C, D]).softmax(1);
    grad = p.sub(k.onehot).mul(a);
    if (b > 0) grad = grad.add(p.mul(k.sumW).sub(k.classWeight).mul(b));
  } else {
    grad = k.onehot.mul(a).neg();
    if (b > 0) grad = grad.sub(k.classWeight.mul(b));
  }
  return grad.mul(gRow).reshape(x._shape);
}

const nllLossOp = defineOp({ name: 'NllLossBackward0', forward: nllForward, backward: nllBackward });
// With label smoothing PyTorch's cross_entropy ends in an add of the two terms.
const smoothedNllOp = defineOp({ name: 'AddBackward0', forward: nllForward, backward: nllBackward });

/** x [N, C, ...] (logits or log-probabilities); target int64 with x's shape minus dim 1. */
export function nllLoss(x: Tensor, s: NllState): Tensor {
  return s.labelSmoothing > 0 ? smoothedNllOp(x, s) : nllLossOp(x, s);
}

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

const mseLossOp = defineOp({
  name: 'MseLossBackward0',
  forward: (ctx, x: Tensor, y: Tensor, reduction: Reduction) => {
    ctx.saveForBackward(x, y);
    ctx.reduction = reduction;
    const d = x.sub(y);
    ctx.n = d.numel();
    return reduce(d.mul(d), reduction);
  },
  backward: (ctx, g) => {
    const [x, y] = ctx.savedTensors;
    const gi = x.sub(y).mul(spread(g, ctx.reduction, ctx.n).mul(2));
    return [ctx.needsInputGrad[0] ? gi : null, ctx.needsInputGrad[1] ? gi.neg() : null];
  },
});

export function mseLoss(x: Tensor, y: Tensor, reduction: Reduction): Tensor {
  return mseLossOp(x, y, reduction);
}

// PyTorch clamps the logs at -100 so a prediction of exactly 0 or 1 gives
// a finite loss, and the gradient's denominator at 1e-12.
const BCE_LOG_MIN = -100;
const BCE_EPS = 1e-12;

const bceOp = defineOp({
  name: 'BinaryCrossEntropyBackward0',
  forward: (ctx, x: Tensor, y: Tensor, s: { weight: Tensor | null; reduction: Reduction }) => {
    ctx.saveForBackward(x, y);
    ctx.s = s;
    ctx.n = x.numel();
    const logX = x.log().clamp(BCE_LOG_MIN, null);
    const log1mX = x.rsub(1).log().clamp(BCE_LOG_MIN, null);
    let l = y.mul(logX).add(y.rsub(1).mul(log1mX)).neg();
    if (s.weight) l = l.mul(s.weight);
    return reduce(l, s.reduction);
  },
  backward: (ctx, g) => {
    const [x, y] = ctx.savedTensors;
    const s = ctx.s as { weight: Tensor | null; reduction: Reduction };
    let gs = spread(g, s.reduction, ctx.n);
    if (s.weight) gs = gs.mul(s.weight);
    const gx = ctx.needsInputGrad[0] ? x.sub(y).div(x.rsub(1).mul(x).clamp(BCE_EPS, null)).mul(gs) : null;
    const gy = ctx.needsInputGrad[1]
      ? x.rsub(1).log().clamp(BCE_LOG_MIN, null).sub(x.log().clamp(BCE_LOG_MIN, null)).mul(gs)
      : null;
    return [gx, gy];
  },
});

export function binaryCrossEntropy(x: Tensor, y: Tensor, weight: Tensor | null, reduction: Reduction): Tensor {
  return bceOp(x, y, { weight, reduction });
}

/** log(1 + exp(-x)) computed without overflow: max(-x, 0) + log1p(exp(-|x|)). */
function softplusNeg(x: Tensor): Tensor {
  return x.neg().clamp(0, null).add(x.abs().neg().exp().log1p());
}

const bceLogitsOp = defineOp({
  name: 'BinaryCrossEntropyWithLogitsBackward0',
  forward: (ctx, x: Tensor, y: Tensor, s: { weight: Tensor | null; posWeight: Tensor | null; reduction: Reduction }) => {
    ctx.saveForBackward(x, y);
    ctx.s = s;
    ctx.n = x.numel();
    const sp = softplusNeg(x);
    let l: Tensor;
    if (s.posWeight) {
      const logWeight = s.posWeight.sub(1).mul(y).add(1);
      l = y.rsub(1).mul(x).add(logWeight.mul(sp));
    } else {
      l = y.rsub(1).mul(x).add(sp);
    }
    if (s.weight) l = l.mul(s.weight);
    return reduce(l, s.reduction);
  },
  backward: (ctx, g) => {
    const [x, y] = ctx.savedTensors;
    const s = ctx.s as { weight: Tensor | null; posWeight: Tensor | null; reduction: Reduction };
    let gs = spread(g, s.reduction, ctx.n);
    if (s.weight) gs = gs.mul(s.weight);
    let gx: Tensor | null = null, gy: Tensor | null = null;
    if (ctx.needsInputGrad[0]) {
      if (s.posWeight) {
        const t = s.posWeight.mul(y);
        gx = t.add(1).sub(y).mul(x.sigmoid()).sub(t).mul(gs);
      } else {
        gx = x.sigmoid().sub(y).mul(gs);
      }
    }
    if (ctx.needsInputGrad[1]) {
      // d/dy [(1 - y) x + ((pw - 1) y + 1) softplus(-x)] = -x + (pw - 1) softplus(-x)
      gy = s.posWeight ? s.posWeight.sub(1).mul(softplusNeg(x)).sub(x).mul(gs) : x.neg().mul(gs);
    }
    return [gx, gy];
  },
});

export function binaryCrossEntropyWithLogits(
  x: Tensor, y: Tensor, weight: Tensor | null, posWeight: Tensor | null, reduction: Reduction,
): Tensor {
  return bceLogitsOp(x, y, { weight, posWeight, reduction });
}

// ---- activations and dropout ------------------------------------------------------------------
const leakyReluOp = defineOp({
  name: 'LeakyReluBackward0',
  forward: (ctx, x: Tensor, slope: number) => {
    ctx.saveForBackward(x);
    ctx.slope = slope;
    const pos = K.binary('Gt', x, 0);
    const out = K.output(x._shape, x.dtype, 'leakyRelu', x.device);
    K.native.where(pos._ref(), x._ref(), K.binary('Mul', x, slope)._ref(), out._ref());
    return out;
  },
  backward: (ctx, g) => {
    const [x] = ctx.savedTensors;
    const slope = ctx.slope as number;
    // 1 where x > 0, else the slope (PyTorch's gradient at 0 is the slope).
    const factor = noGrad(() => x.gt(0).to(g.dtype).mul(1 - slope).add(slope));
    return [g.mul(factor)];
  },
});

export function leakyRelu(x: Tensor, negativeSlope: number): Tensor {
  return leakyReluOp(x, negativeSlope);
}

/** Dropout's scaled keep-mask: 1/(1-p) with probability 1-p, else 0 (torch.manualSeed seeds it). */
export function dropoutMask(x: Tensor, p: number): Tensor {
  const mask = K.empty(x._shape, x.dtype, 'dropout', x.device);
  if (p < 1) {
    K.native.bernoulli(mask._ref(), 1 - p);
    K.native.binaryScalar(K.B.Mul, mask._ref(), 1 / (1 - p), false, mask._ref());
  }
  return mask;
}

// ---- embedding ---------------------------------------------------------------------------------
const embeddingOp = defineOp({
  name: 'EmbeddingBackward0',
  forward: (ctx, weight: Tensor, s: { index: Tensor; paddingIdx: number | null; outShape: number[] }) => {
    const M = s.index.numel(), D = weight._shape[1];
    const out = K.empty([M, D], weight.dtype, 'embedding', weight.device);
    K.native.indexSelect(weight._ref(), 0, s.index._ref(), out._ref());
    ctx.s = s;
    ctx.num = weight._shape[0];
    return out._view(s.outShape);
  },
  backward: (ctx, g) => {
    const s = ctx.s as { index: Tensor; paddingIdx: number | null; outShape: number[] };
    const M = s.index.numel();
    let g2 = g.reshape([M, g._shape[g._shape.length - 1]]);
    // The padding row gets no gradient (PyTorch's padding_idx).
    if (s.paddingIdx !== null) g2 = g2.mul(noGrad(() => s.index.ne(s.paddingIdx!).to(g.dtype).reshape([M, 1])));
    return [embeddingBackwardOp(g2, s.index, ctx.num as number)];
  },
});

// Sums the rows of g into their embedding rows; indexSelect is its adjoint.
const embeddingBackwardOp = defineOp({
  name: 'EmbeddingBackwardBackward0',
  forward: (ctx, g2: Tensor, index: Tensor, num: number) => {
    ctx.index = index;
    const gw = K.empty([num, g2._shape[1]], g2.dtype, 'embedding', g2.device);
    K.native.indexAdd(gw._ref(), 0, index._ref(), K.contiguous(g2)._ref(), 1);
    return gw;
  },
  backward: (ctx, gg) => [gg.indexSelect(0, ctx.index as Tensor)],
});

/** Rows of weight [num, D] at the flat int64 index (values in range); out [...outShape]. */
export function embedding(weight: Tensor, index: Tensor, paddingIdx: number | null, outShape: number[]): Tensor {
  return embeddingOp(weight, { index: K.contiguous(index), paddingIdx, outShape });
}
