// How declared ops map to ONNX (opset 17): one entry per op, keyed by the
// op's declaration. The tracer (export.ts, Note [Op tracer] in
// lib/ops/op.ts) looks an op up here when it is called on a traced value:
// - an entry: the op is recorded whole, as the nodes its entry adds;
// - no entry, a composite op (define({ impl })): the tracer follows into
//   it, and its parts are looked up in turn (F.relu is E.relu, F.gelu's
//   tanh form is mul, add and tanh);
// - no entry, a primitive: the export fails with the op's name.
// An entry refuses (ctx.fail) the calls it cannot write exactly (dropout
// when training, a pool's ceilMode) rather than write something close.
//
// Dynamic axes (Dyn): each entry says which dims of its result are
// dynamic; shapes written into the graph (Reshape's) use ONNX's 0 (keep
// the input's size) and -1 (infer) for those dims, never the example's size.
import type { Tensor } from '../tensor.js';
import type { DType } from '../dtype.js';
import type { OpSpec } from '../ops/op.js';
import type { Param } from '../util/args.js';
import * as E from '../ops/elementwise.js';
import * as S from '../ops/shape.js';
import * as R from '../ops/reduce.js';
import * as MM from '../ops/matmul.js';
import * as J from '../ops/join.js';
import { gelu as geluOp } from '../ops/activation.js';
import * as Fn from '../nn/functional.js';
import { conv1d } from '../nn/functional_conv.js';
import { scaledDotProductAttention } from '../nn/functional_attention.js';
import { scaledDotProductFusedAttention } from '../ops/attention.js';
import type { Ctx, Dyn } from './graph.js';
import { attentionNodes, maskBias } from './modules.js';

/** An op's ONNX mapping: adds the nodes computing `result` from the bound arguments `a`, and binds it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Mapping = (c: Ctx, a: Record<string, any>, result: any) => void;

const table = new Map<object, Mapping>();

function map(f: { readonly spec: object }, m: Mapping): void {
  table.set(f.spec, m);
}

/** The ONNX mapping of a declared op, if it has one. */
export function mappingOf(spec: OpSpec<readonly Param[], unknown>): Mapping | undefined {
  return table.get(spec);
}

/** The names of the ops that have an ONNX mapping (for docs and tests). */
export function mappedOps(): string[] {
  return [...table.keys()].map((s) => (s as { name: string }).name);
}

// ---- helpers ----------------------------------------------------------------------------------
const norm = (d: number, n: number): number => (d < 0 ? d + n : d);

/** Dyn of a broadcast result: each dim dynamic where an operand's aligned dim is. */
function broadcastDyn(c: Ctx, out: Tensor, operands: unknown[]): Dyn {
  const n = out.ndim;
  const dyn: Dyn = new Array(n).fill(null);
  for (const o of operands) {
    if (typeof o !== 'object' || o === null) continue;
    const t = o as Tensor;
    const d = c.dyn(t);
    for (let i = 0; i < t.ndim; i++) {
      const j = n - t.ndim + i;
      if (d[i] !== null && t.shape[i] === out.shape[j]) dyn[j] ??= d[i];
    }
  }
  return dyn;
}

function unary(opType: string): Mapping {
  return (c, a, r) => c.bind(r, c.node(opType, [c.value(a.input)])[0], c.dyn(a.input));
}

function operand(c: Ctx, v: Tensor | number | boolean, dtype: DType): string {
  return typeof v === 'object' ? c.valueAs(v, dtype) : c.scalar(Number(v), dtype);
}

function binary(opType: string): Mapping {
  return (c, a, r: Tensor) => {
    const x = operand(c, a.input, r.dtype);
    let y = operand(c, a.other, r.dtype);
    if (a.alpha !== undefined && a.alpha !== 1) y = c.node('Mul', [y, c.scalar(a.alpha, r.dtype)])[0];
    c.bind(r, c.node(opType, [x, y])[0], broadcastDyn(c, r, [a.input, a.other]));
  };
}

/**
 * Reshape of x to result's shape, dynamic axes kept: a leading dim that keeps
 * its size is written 0 (ONNX: the input's size), and one dynamic dim merged
 * into another is written -1; more than one dynamic dim moved is refused.
 */
function reshapeTo(c: Ctx, x: Tensor, r: Tensor): void {
  const xs = x.shape,
    os = r.shape,
    xd = c.dyn(x);
  const target = os.slice();
  const dyn: Dyn = os.map(() => null);
  let k = 0;
  while (k < os.length && k < xs.length && os[k] === xs[k]) {
    if (xd[k] !== null) {
      target[k] = 0;
      dyn[k] = xd[k];
    }
    k++;
  }
  const moved: number[] = [];
  for (let i = k; i < xs.length; i++) if (xd[i] !== null) moved.push(i);
  if (moved.length > 1) c.fail(`it reshapes [${xs.join(', ')}] to [${os.join(', ')}], moving more than one dynamic axis`);
  if (moved.length === 1) {
    const size = xs[moved[0]];
    let j = k;
    while (j < os.length && (size === 0 || os[j] % size !== 0)) j++;
    if (j === os.length) c.fail(`it reshapes [${xs.join(', ')}] to [${os.join(', ')}], splitting dynamic axis ${moved[0]}`);
    target[j] = -1;
    dyn[j] = '?';
  }
  c.bind(r, c.node('Reshape', [c.value(x), c.ints(target)])[0], dyn);
}

function transposeTo(c: Ctx, x: Tensor, perm: number[], r: Tensor): void {
  const d = c.dyn(x);
  c.bind(
    r,
    c.node('Transpose', [c.value(x)], { perm: { ints: perm } })[0],
    perm.map((p) => d[p]),
  );
}

function pair(v: number | readonly number[], n: number): number[] {
  return typeof v === 'number' ? new Array(n).fill(v) : v.slice();
}

/** Conv for conv1d and conv2d (batched input; PyTorch's 'same' puts the odd padding after). */
function conv(nd: number): Mapping {
  return (c, a, r: Tensor) => {
    const x = a.input as Tensor,
      w = a.weight as Tensor;
    if (x.ndim !== nd + 2) c.fail(`only batched input ([N, C, ...] with ${nd + 2} dims) is exported, got ${x.ndim} dims`);
    const kernel = w.shape.slice(2);
    const stride = pair(a.stride ?? 1, nd),
      dilation = pair(a.dilation ?? 1, nd);
    let before: number[], after: number[];
    if (a.padding === 'valid') before = after = new Array(nd).fill(0);
    else if (a.padding === 'same') {
      const total = kernel.map((k, i) => dilation[i] * (k - 1));
      before = total.map((t) => Math.floor(t / 2));
      after = total.map((t, i) => t - before[i]);
    } else before = after = pair(a.padding ?? 0, nd);
    const inputs = [c.value(x), c.value(w)];
    if (a.bias) inputs.push(c.value(a.bias));
    const y = c.node('Conv', inputs, {
      kernel_shape: { ints: kernel },
      strides: { ints: stride },
      pads: { ints: [...before, ...after] },
      dilations: { ints: dilation },
      group: { int: a.groups ?? 1 },
    })[0];
    const d = c.dyn(x);
    c.bind(r, y, [d[0], null, ...d.slice(2).map((s) => (s === null ? null : '?'))]);
  };
}

function poolDyn(c: Ctx, x: Tensor): Dyn {
  const d = c.dyn(x);
  return [d[0], d[1], ...d.slice(2).map((s) => (s === null ? null : '?'))];
}

// ---- elementwise and activations ----------------------------------------------------------------
map(E.add, binary('Add'));
map(E.sub, binary('Sub'));
map(E.mul, binary('Mul'));
map(E.div, (c, a, r) => {
  if (a.roundingMode !== null && a.roundingMode !== undefined) c.fail(`roundingMode '${a.roundingMode}' has no ONNX form here`);
  binary('Div')(c, a, r);
});
map(E.relu, unary('Relu'));
map(E.sigmoid, unary('Sigmoid'));
map(E.tanh, unary('Tanh'));
map(E.exp, unary('Exp'));
map(E.sqrt, unary('Sqrt'));
map(E.neg, unary('Neg'));
map(E.rsqrt, (c, a, r) => {
  const s = c.node('Sqrt', [c.value(a.input)])[0];
  c.bind(r, c.node('Reciprocal', [s])[0], c.dyn(a.input));
});
// gelu(x) = x * 0.5 * (1 + erf(x / sqrt 2)); opset 17 has no Gelu.
map(geluOp, (c, a, r: Tensor) => {
  const x = c.value(a.input);
  const e = c.node('Erf', [c.node('Div', [x, c.scalar(Math.SQRT2, r.dtype)])[0]])[0];
  const h = c.node('Mul', [x, c.node('Add', [e, c.scalar(1, r.dtype)])[0]])[0];
  c.bind(r, c.node('Mul', [h, c.scalar(0.5, r.dtype)])[0], c.dyn(a.input));
});
map(Fn.leakyRelu, (c, a, r) => {
  const y = c.node('LeakyRelu', [c.value(a.input)], { alpha: { float: a.negativeSlope ?? 0.01 } })[0];
  c.bind(r, y, c.dyn(a.input));
});
for (const [f, opType] of [
  [R.softmax, 'Softmax'],
  [R.logSoftmax, 'LogSoftmax'],
] as const) {
  map(f, (c, a, r) => {
    if (a.dtype !== null && a.dtype !== undefined) c.fail('the dtype option is not exported');
    const x = a.input as Tensor;
    c.bind(r, c.node(opType, [c.value(x)], { axis: { int: norm(a.dim, x.ndim) } })[0], c.dyn(x));
  });
}

// ---- shapes -------------------------------------------------------------------------------------
for (const f of [S.view, S.reshape, S.flatten]) map(f, (c, a, r) => reshapeTo(c, a.input, r));
map(S.transpose, (c, a, r) => {
  const x = a.input as Tensor;
  const perm = x.shape.map((_, i) => i);
  const d0 = norm(a.dim0, x.ndim),
    d1 = norm(a.dim1, x.ndim);
  [perm[d0], perm[d1]] = [perm[d1], perm[d0]];
  transposeTo(c, x, perm, r);
});
map(S.permute, (c, a, r) => {
  const x = a.input as Tensor;
  transposeTo(
    c,
    x,
    (a.dims as number[]).map((d) => norm(d, x.ndim)),
    r,
  );
});
map(S.t, (c, a, r) => {
  const x = a.input as Tensor;
  if (x.ndim < 2) c.bind(r, c.value(x), c.dyn(x));
  else transposeTo(c, x, [1, 0], r);
});
map(S.unsqueeze, (c, a, r: Tensor) => {
  const x = a.input as Tensor;
  const d = norm(a.dim, x.ndim + 1);
  const dyn = c.dyn(x).slice();
  dyn.splice(d, 0, null);
  c.bind(r, c.node('Unsqueeze', [c.value(x), c.ints([d])])[0], dyn);
});
map(S.squeeze, (c, a, r: Tensor) => {
  const x = a.input as Tensor;
  const xd = c.dyn(x);
  const asked: number[] =
    a.dim === null || a.dim === undefined || (Array.isArray(a.dim) && a.dim.length === 0)
      ? x.shape.map((_, i) => i)
      : (Array.isArray(a.dim) ? a.dim : [a.dim]).map((d: number) => norm(d, x.ndim));
  const axes = asked.filter((i) => x.shape[i] === 1);
  if (axes.some((i) => xd[i] !== null)) c.fail('it squeezes a dynamic axis');
  c.bind(
    r,
    c.node('Squeeze', [c.value(x), c.ints(axes)])[0],
    xd.filter((_, i) => !axes.includes(i)),
  );
});
map(S.narrow, (c, a, r: Tensor) => {
  const x = a.input as Tensor;
  const d = norm(a.dim, x.ndim);
  const start = norm(a.start, x.shape[d]);
  if (c.dyn(x)[d] !== null) c.fail('it narrows a dynamic axis');
  const y = c.node('Slice', [c.value(x), c.ints([start]), c.ints([start + a.length]), c.ints([d])])[0];
  c.bind(r, y, c.dyn(x));
});
for (const f of [S.contiguous, S.clone]) map(f, (c, a, r) => c.bind(r, c.value(a.input), c.dyn(a.input)));
map(J.cat, (c, a, r: Tensor) => {
  const ts = a.tensors as Tensor[];
  const axis = norm(a.dim ?? 0, r.ndim);
  const dyn = broadcastDyn(c, r, ts);
  if (ts.some((t) => c.dyn(t)[axis] !== null)) dyn[axis] = '?';
  c.bind(
    r,
    c.node(
      'Concat',
      ts.map((t) => c.valueAs(t, r.dtype)),
      { axis: { int: axis } },
    )[0],
    dyn,
  );
});

// ---- products and reductions ------------------------------------------------------------------
map(MM.matmul, (c, a, r: Tensor) => {
  const x = a.input as Tensor,
    y = a.other as Tensor;
  if (x.ndim < 2 || y.ndim < 2) c.fail('1-d operands are not exported (unsqueeze them)');
  const dyn = broadcastDyn(c, r, [x]);
  dyn[r.ndim - 2] = c.dyn(x)[x.ndim - 2];
  dyn[r.ndim - 1] = c.dyn(y)[y.ndim - 1];
  c.bind(r, c.node('MatMul', [c.value(x), c.value(y)])[0], dyn);
});
map(R.mean, (c, a, r: Tensor) => {
  if (a.dtype !== null && a.dtype !== undefined) c.fail('the dtype option is not exported');
  const x = a.input as Tensor;
  const all = a.dim === null || a.dim === undefined || (Array.isArray(a.dim) && a.dim.length === 0);
  const axes: number[] = all ? x.shape.map((_, i) => i) : (Array.isArray(a.dim) ? a.dim : [a.dim]).map((d: number) => norm(d, x.ndim));
  const keep = !!a.keepdim;
  const xd = c.dyn(x);
  const dyn = keep ? xd.map((d, i) => (axes.includes(i) ? null : d)) : xd.filter((_, i) => !axes.includes(i));
  c.bind(r, c.node('ReduceMean', [c.value(x)], { axes: { ints: axes }, keepdims: { int: keep ? 1 : 0 } })[0], dyn);
});

// ---- nn layers ---------------------------------------------------------------------------------
map(Fn.linear, (c, a, r: Tensor) => {
  const x = a.input as Tensor,
    w = a.weight as Tensor,
    b = a.bias as Tensor | null;
  const dyn = c.dyn(x).slice();
  if (w.ndim !== 2) c.fail('a 1-d weight is not exported');
  dyn[dyn.length - 1] = null;
  if (x.ndim === 2) {
    const inputs = [c.value(x), c.value(w)];
    if (b) inputs.push(c.value(b));
    c.bind(r, c.node('Gemm', inputs, { transB: { int: 1 } })[0], dyn);
    return;
  }
  const wt = c.node('Transpose', [c.value(w)], { perm: { ints: [1, 0] } })[0];
  let y = c.node('MatMul', [c.value(x), wt])[0];
  if (b) y = c.node('Add', [y, c.value(b)])[0];
  c.bind(r, y, dyn);
});
map(Fn.conv2d, conv(2));
map(conv1d, conv(1));
map(Fn.maxPool2d, (c, a, r) => {
  const x = a.input as Tensor;
  if (a.returnIndices) c.fail('returnIndices is not exported');
  if (a.ceilMode) c.fail('ceilMode is not exported (PyTorch and ONNX place the last window differently)');
  if (x.ndim !== 4) c.fail(`only batched input ([N, C, H, W]) is exported, got ${x.ndim} dims`);
  const kernel = pair(a.kernelSize, 2);
  const pad = pair(a.padding ?? 0, 2);
  const y = c.node('MaxPool', [c.value(x)], {
    kernel_shape: { ints: kernel },
    strides: { ints: pair(a.stride ?? kernel, 2) },
    pads: { ints: [...pad, ...pad] },
    dilations: { ints: pair(a.dilation ?? 1, 2) },
  })[0];
  c.bind(r, y, poolDyn(c, x));
});
map(Fn.avgPool2d, (c, a, r) => {
  const x = a.input as Tensor;
  if (a.ceilMode) c.fail('ceilMode is not exported (PyTorch and ONNX place the last window differently)');
  if (a.divisorOverride !== null && a.divisorOverride !== undefined) c.fail('divisorOverride has no ONNX form');
  if (x.ndim !== 4) c.fail(`only batched input ([N, C, H, W]) is exported, got ${x.ndim} dims`);
  const kernel = pair(a.kernelSize, 2);
  const pad = pair(a.padding ?? 0, 2);
  const y = c.node('AveragePool', [c.value(x)], {
    kernel_shape: { ints: kernel },
    strides: { ints: pair(a.stride ?? kernel, 2) },
    pads: { ints: [...pad, ...pad] },
    count_include_pad: { int: (a.countIncludePad ?? true) ? 1 : 0 },
  })[0];
  c.bind(r, y, poolDyn(c, x));
});
map(Fn.adaptiveAvgPool2d, (c, a, r: Tensor) => {
  const x = a.input as Tensor;
  if (x.ndim !== 4) c.fail(`only batched input ([N, C, H, W]) is exported, got ${x.ndim} dims`);
  const d = c.dyn(x);
  if (d[2] !== null || d[3] !== null) c.fail('dynamic spatial axes are not exported');
  const [H, W] = x.shape.slice(2);
  const [oh, ow] = r.shape.slice(2);
  let y = '';
  if (oh === 1 && ow === 1) y = c.node('GlobalAveragePool', [c.value(x)])[0];
  else if (H % oh === 0 && W % ow === 0) {
    const k = [H / oh, W / ow];
    y = c.node('AveragePool', [c.value(x)], { kernel_shape: { ints: k }, strides: { ints: k } })[0];
  } else c.fail(`output ${oh}x${ow} does not divide input ${H}x${W} (uneven adaptive windows have no ONNX form)`);
  c.bind(r, y, [d[0], d[1], null, null]);
});
map(Fn.dropout, (c, a, r) => {
  if (a.training !== false && (a.p ?? 0.5) > 0)
    c.fail('dropout in training mode (the export runs the model in eval mode; F.dropout was given training: true)');
  c.bind(r, c.value(a.input), c.dyn(a.input));
});
map(Fn.batchNorm, (c, a, r) => {
  if (a.training) c.fail('batch statistics (training mode) are not exported; the model runs in eval mode');
  const x = a.input as Tensor;
  const C = x.shape[1];
  const vec = (t: Tensor | null, fill: number): string => (t ? c.value(t.ndim === 1 ? t : t.reshape([C])) : c.filled([C], fill, x.dtype));
  const y = c.node('BatchNormalization', [c.value(x), vec(a.weight, 1), vec(a.bias, 0), c.value(a.runningMean), c.value(a.runningVar)], {
    epsilon: { float: a.eps ?? 1e-5 },
  })[0];
  c.bind(r, y, c.dyn(x));
});
map(Fn.layerNorm, (c, a, r) => {
  const x = a.input as Tensor;
  const shape: number[] = typeof a.normalizedShape === 'number' ? [a.normalizedShape] : a.normalizedShape;
  const inputs = [c.value(x), a.weight ? c.value(a.weight) : c.filled(shape, 1, x.dtype)];
  if (a.bias) inputs.push(c.value(a.bias));
  const y = c.node('LayerNormalization', inputs, { axis: { int: -shape.length }, epsilon: { float: a.eps ?? 1e-5 } })[0];
  c.bind(r, y, c.dyn(x));
});
map(Fn.embedding, (c, a, r) => {
  const idx = a.input as Tensor;
  const y = c.node('Gather', [c.value(a.weight), c.valueAs(idx, 'int64')], { axis: { int: 0 } })[0];
  c.bind(r, y, [...c.dyn(idx), null]);
});

// ---- attention ----------------------------------------------------------------------------------
// F.scaledDotProductAttention and the fused kernel it hands to: their
// primitive form (MatMul, Softmax, ...). A bool mask is true where a position
// takes part; isCausal is a constant -inf upper triangle (Trilu), so L and S
// must be fixed then.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function sdpa(c: Ctx, a: Record<string, any>, r: Tensor): void {
  const q = a.query as Tensor,
    k = a.key as Tensor,
    v = a.value as Tensor;
  if ((a.dropoutP ?? 0) > 0) c.fail('dropoutP > 0 (dropout on the weights) is not exported');
  const E = q.shape[q.ndim - 1];
  const scale = a.scale ?? 1 / Math.sqrt(E);
  const perm = k.shape.map((_, i) => i);
  [perm[k.ndim - 2], perm[k.ndim - 1]] = [perm[k.ndim - 1], perm[k.ndim - 2]];
  const kT = c.node('Transpose', [c.value(k)], { perm: { ints: perm } })[0];
  let bias: string | null = null;
  if (a.isCausal) {
    const L = q.shape[q.ndim - 2],
      S = k.shape[k.ndim - 2];
    if (c.dyn(q)[q.ndim - 2] !== null || c.dyn(k)[k.ndim - 2] !== null) c.fail('isCausal with a dynamic sequence axis');
    bias = c.node('Trilu', [c.filled([L, S], -Infinity, 'float32'), c.scalar(1, 'int64')], { upper: { int: 1 } })[0];
  } else if (a.attnMask) bias = maskBias(c, a.attnMask, false);
  const [o] = attentionNodes(c, c.value(q), kT, c.value(v), bias, scale);
  const dyn = broadcastDyn(c, r, [q]);
  dyn[r.ndim - 1] = null;
  c.bind(r, o, dyn);
}
map(scaledDotProductAttention, sdpa);
map(scaledDotProductFusedAttention, sdpa);
