// Attention in torch.nn.functional: scaledDotProductAttention (PyTorch
// 2.0's F.scaled_dot_product_attention; 1.13 has no public one) and
// multiHeadAttentionForward (PyTorch 1.13's F.multi_head_attention_forward,
// which nn.MultiheadAttention runs). Composites of existing ops, so autograd
// records them as it records any op; functional.ts re-exports them as F's.
// This file imports only the op layer (not functional.ts), so that
// functional.ts can re-export it without an import cycle.
import { Tensor } from '../tensor.js';
import { isFloating } from '../dtype.js';
import { noGrad } from '../autograd/grad_mode.js';
import * as K from '../ops/kernels.js';
import * as NN from '../ops/nn.js';
import { cat } from '../ops/join.js';
import { ones, zeros } from '../ops/creation.js';
import { define, op, returns } from '../ops/op.js';
import { scaledDotProductFusedAttention } from '../ops/attention.js';
import { as, param } from '../util/args.js';

const fmt = K.fmtShape;

function checkTensor(op: string, what: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor, got ${K.fmtValue(x)}`);
}

function checkFloat(op: string, what: string, x: Tensor): void {
  if (!isFloating(x.dtype)) throw new TypeError(`${op}: ${what} must be a floating point tensor, got ${x.dtype}`);
}

function optTensor(op: string, what: string, x: unknown): Tensor | null {
  if (x === null || x === undefined) return null;
  checkTensor(op, what, x);
  return x;
}

function checkBool(op: string, what: string, v: unknown): asserts v is boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${op}: ${what} must be a boolean, got ${K.fmtValue(v)}`);
}

function checkProbability(op: string, p: unknown): asserts p is number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new RangeError(`${op}: dropout probability has to be between 0 and 1, but got ${K.fmtValue(p)}`);
  }
}

/** x @ wᵀ + b over the last dim (F.linear's math; functional.ts is not imported here). */
function project(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const y = x.matmul(w.t());
  return b ? y.add(b) : y;
}

/** An additive float mask from a boolean one: 0 where `keep`, -inf elsewhere. */
function boolToBias(keep: Tensor, dtype: Tensor['dtype']): Tensor {
  return noGrad(() => zeros(keep._shape, { dtype, device: keep.device }).maskedFill(keep.logicalNot(), -Infinity));
}

// Note [Attention core]: softmax(q kᵀ · scale + bias) v is the math both
// scaledDotProductAttention and multiHeadAttentionForward run, written
// once here. It is the place a fused kernel (flash or memory-efficient
// attention) would take over: the same inputs (q [..., L, E], k [..., S, E],
// v [..., S, Ev], an additive float bias broadcastable to [..., L, S] or
// null, the dropout probability and the scale) and the same outputs (the
// result [..., L, Ev] and the attention weights [..., L, S], which a fused
// kernel would compute only when asked: `needWeights`). A fused kernel
// must draw the same dropout mask (from the default generator) for
// seeded runs to stay reproducible. The fused kernel (lib/ops/attention.ts)
// takes over when no weights are wanted and no dropout applies; dropout
// and needWeights keep this composite path.
function attentionCore(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  bias: Tensor | null,
  dropoutP: number,
  scale: number,
  needWeights: boolean,
): { out: Tensor; weights: Tensor | null } {
  if (!needWeights && dropoutP === 0) {
    const out = fusedAttention(q, k, v, bias, false, scale);
    if (out !== null) return { out, weights: null };
  }
  let scores = q.mul(scale).matmul(k.transpose(-2, -1));
  if (bias !== null) scores = scores.add(bias);
  let weights = scores.softmax(-1);
  if (dropoutP > 0) {
    const w = weights;
    weights = w.mul(noGrad(() => NN.dropoutMask(w, dropoutP)));
  }
  return { out: weights.matmul(v), weights: needWeights ? weights : null };
}

/**
 * The fused kernel's result (lib/ops/attention.ts) when it applies: float32
 * or float64 inputs with at most two batch dims, and a mask that needs no
 * gradient (the kernel gives none to it). Else null, and the caller takes
 * the composite path. Batch dims are lifted to the kernel's two and the
 * result's dropped again.
 */
function fusedAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, isCausal: boolean, scale: number): Tensor | null {
  if (q.dtype !== 'float32' && q.dtype !== 'float64') return null;
  if (mask !== null && (mask.requiresGrad || (mask.dtype !== 'bool' && mask.dtype !== q.dtype))) return null;
  const nb = Math.max(q.ndim, k.ndim, v.ndim) - 2;
  if (nb > 2 || (mask !== null && mask.ndim > 4)) return null;
  const lift = (t: Tensor): Tensor => {
    while (t.ndim < 4) t = t.unsqueeze(0);
    return t;
  };
  const out = scaledDotProductFusedAttention(lift(q), lift(k), lift(v), mask, { isCausal, scale });
  return nb === 2 ? out : out.view(out._shape.slice(2 - nb));
}

// ---- scaled dot product attention ----------------------------------------------------------

/**
 * scaled_dot_product_attention(query, key, value, attn_mask=None,
 * dropout_p=0.0, is_causal=False, scale=None), as PyTorch 2.x: a boolean
 * mask is true where a position takes part, a float mask is added to the
 * scores, isCausal masks the upper triangle (position i sees keys 0..i),
 * and the scores are scaled by 1/sqrt(E) unless `scale` is given.
 */
export const scaledDotProductAttention = op(
  'scaledDotProductAttention',
  [
    param.custom('query', 'Tensor', as<Tensor>),
    param.custom('key', 'Tensor', as<Tensor>),
    param.custom('value', 'Tensor', as<Tensor>),
    param.custom('attnMask', 'Tensor?', as<Tensor | null>, null),
    param.custom('dropoutP', 'float', as<number>, 0),
    param.custom('isCausal', 'bool', as<boolean>, false),
    param.custom('scale', 'float?', as<number | null>, null),
  ],
  'softmax(query @ key^T * scale + mask) @ value over the last two dims; bool mask true = take part, float mask added; ' +
    'isCausal masks the upper triangle; dropoutP applies dropout to the weights',
);
define(scaledDotProductAttention, {
  impl: ({ query: q, key: k, value: v, attnMask, dropoutP, isCausal, scale }): Tensor => {
    const op = 'scaledDotProductAttention';
    checkTensor(op, 'query', q);
    checkTensor(op, 'key', k);
    checkTensor(op, 'value', v);
    const mask = optTensor(op, 'attnMask', attnMask);
    K.sameDevice(op, q, k, v, mask);
    checkFloat(op, 'query', q);
    if (k.dtype !== q.dtype || v.dtype !== q.dtype) {
      throw new TypeError(
        `${op}: expected query, key and value to have the same dtype, got query ${q.dtype}, key ${k.dtype} and value ${v.dtype}`,
      );
    }
    if (q.ndim < 2 || k.ndim < 2 || v.ndim < 2) {
      throw new RangeError(
        `${op}: query, key and value must have at least 2 dims ([..., L, E], [..., S, E], [..., S, Ev]), got query ${fmt(q._shape)}, key ${fmt(k._shape)} and value ${fmt(v._shape)}`,
      );
    }
    const E = q._shape[q.ndim - 1];
    const L = q._shape[q.ndim - 2];
    const S = k._shape[k.ndim - 2];
    if (k._shape[k.ndim - 1] !== E) {
      throw new RangeError(`${op}: query ${fmt(q._shape)} and key ${fmt(k._shape)} must have the same last dim (embedding size)`);
    }
    if (v._shape[v.ndim - 2] !== S) {
      throw new RangeError(`${op}: key ${fmt(k._shape)} and value ${fmt(v._shape)} must have the same sequence length (dim -2)`);
    }
    // The batch dims broadcast (as matmul's do); checked here so the message names this op.
    const batch = K.broadcastShapes(
      K.broadcastShapes(q._shape.slice(0, -2), k._shape.slice(0, -2), `${op}: query and key batch dims`),
      v._shape.slice(0, -2),
      `${op}: value batch dims`,
    );
    checkProbability(op, dropoutP);
    checkBool(op, 'isCausal', isCausal);
    let s = 1 / Math.sqrt(E);
    if (scale !== null && scale !== undefined) {
      if (typeof scale !== 'number' || !Number.isFinite(scale))
        throw new TypeError(`${op}: scale must be a finite number or null, got ${K.fmtValue(scale)}`);
      s = scale;
    }
    if (isCausal && mask !== null) throw new Error(`${op}: an explicit attnMask must not be given with isCausal: true`);
    if (mask !== null) {
      if (mask.dtype !== 'bool' && mask.dtype !== q.dtype) {
        throw new TypeError(`${op}: attnMask must be a bool tensor or have query's dtype ${q.dtype}, got ${mask.dtype}`);
      }
      const target = [...batch, L, S];
      let ok = mask.ndim <= target.length;
      for (let i = 1; ok && i <= mask.ndim; i++) {
        const m = mask._shape[mask.ndim - i];
        ok = m === 1 || m === target[target.length - i];
      }
      if (!ok) {
        throw new RangeError(
          `${op}: attnMask of shape ${fmt(mask._shape)} does not broadcast to the attention weights' shape ${fmt(target)}`,
        );
      }
    }
    if (dropoutP === 0) {
      const out = fusedAttention(q, k, v, mask, isCausal, s);
      if (out !== null) return out;
    }
    let bias: Tensor | null = null;
    if (isCausal) {
      bias = boolToBias(
        noGrad(() => ones([L, S], { dtype: 'bool', device: q.device }).tril()),
        q.dtype,
      );
    } else if (mask !== null) {
      bias = mask.dtype === 'bool' ? boolToBias(mask, q.dtype) : mask;
    }
    return attentionCore(q, k, v, bias, dropoutP, s, false).out;
  },
});

// ---- multi-head attention ------------------------------------------------------------------

/** The arguments of multiHeadAttentionForward, as PyTorch 1.13's multi_head_attention_forward names them (camelCase). */
export interface MultiHeadAttentionArgs {
  query: Tensor;
  key: Tensor;
  value: Tensor;
  embedDimToCheck: number;
  numHeads: number;
  inProjWeight: Tensor | null;
  inProjBias: Tensor | null;
  biasK: Tensor | null;
  biasV: Tensor | null;
  addZeroAttn: boolean;
  dropoutP: number;
  outProjWeight: Tensor;
  outProjBias: Tensor | null;
  training: boolean;
  keyPaddingMask: Tensor | null;
  needWeights: boolean;
  attnMask: Tensor | null;
  useSeparateProjWeight: boolean;
  qProjWeight: Tensor | null;
  kProjWeight: Tensor | null;
  vProjWeight: Tensor | null;
  staticK: Tensor | null;
  staticV: Tensor | null;
  averageAttnWeights: boolean;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A mask with one more position (a zero, or false) at the end of its last dim: PyTorch's pad(mask, (0, 1)). */
function padLast(m: Tensor): Tensor {
  return cat([m, zeros([...m._shape.slice(0, -1), 1], { dtype: m.dtype, device: m.device })], -1);
}

/** A mask as an additive float bias: bool true (PyTorch's "masked") becomes -inf; a float mask is itself. */
function maskedToBias(m: Tensor, dtype: Tensor['dtype']): Tensor {
  return m.dtype === 'bool' ? boolToBias(m.logicalNot(), dtype) : m;
}

/**
 * @internal PyTorch 1.13's multi_head_attention_forward, with its errors
 * naming `op` (the function, or the MultiheadAttention layer that runs it).
 */
export function multiHeadAttention(op: string, a: MultiHeadAttentionArgs): [Tensor, Tensor | null] {
  let { query, key, value } = a;
  checkTensor(op, 'query', query);
  checkTensor(op, 'key', key);
  checkTensor(op, 'value', value);
  let kpm = optTensor(op, 'keyPaddingMask', a.keyPaddingMask);
  let mask = optTensor(op, 'attnMask', a.attnMask);
  const staticK = optTensor(op, 'staticK', a.staticK);
  const staticV = optTensor(op, 'staticV', a.staticV);
  const H = a.numHeads;
  if (typeof H !== 'number' || !Number.isInteger(H) || H < 1)
    throw new RangeError(`${op}: numHeads must be a positive integer, got ${K.fmtValue(H)}`);
  checkProbability(op, a.dropoutP);
  for (const name of ['addZeroAttn', 'training', 'needWeights', 'useSeparateProjWeight', 'averageAttnWeights'] as const) {
    checkBool(op, name, a[name]);
  }

  // PyTorch's _mha_shape_check: 3-D inputs are batched, 2-D ones unbatched.
  const batched = query.ndim === 3;
  const shapes = `query ${fmt(query._shape)}, key ${fmt(key._shape)} and value ${fmt(value._shape)}`;
  if (query.ndim === 3) {
    if (key.ndim !== 3 || value.ndim !== 3)
      throw new RangeError(`${op}: for batched (3-D) query, expected key and value to be 3-D, got ${shapes}`);
    if (kpm !== null && kpm.ndim !== 2) {
      throw new RangeError(`${op}: for batched (3-D) query, expected keyPaddingMask to be null or 2-D [N, S], got ${fmt(kpm._shape)}`);
    }
    if (mask !== null && mask.ndim !== 2 && mask.ndim !== 3) {
      throw new RangeError(`${op}: for batched (3-D) query, expected attnMask to be null, 2-D or 3-D, got ${fmt(mask._shape)}`);
    }
  } else if (query.ndim === 2) {
    if (key.ndim !== 2 || value.ndim !== 2)
      throw new RangeError(`${op}: for unbatched (2-D) query, expected key and value to be 2-D, got ${shapes}`);
    if (kpm !== null && kpm.ndim !== 1) {
      throw new RangeError(`${op}: for unbatched (2-D) query, expected keyPaddingMask to be null or 1-D [S], got ${fmt(kpm._shape)}`);
    }
    if (mask !== null) {
      if (mask.ndim !== 2 && mask.ndim !== 3) {
        throw new RangeError(`${op}: for unbatched (2-D) query, expected attnMask to be null, 2-D or 3-D, got ${fmt(mask._shape)}`);
      }
      const want = [H, query._shape[0], key._shape[0]];
      if (mask.ndim === 3 && !sameShape(mask._shape, want)) {
        throw new RangeError(`${op}: expected attnMask of shape ${fmt(want)} (numHeads, L, S), got ${fmt(mask._shape)}`);
      }
    }
  } else {
    throw new RangeError(`${op}: query should be unbatched 2-D or batched 3-D, got a ${query.ndim}-D query of shape ${fmt(query._shape)}`);
  }
  if (!batched) {
    // Unbatched inputs get a batch dim of 1 for the computation. One view per
    // distinct tensor: the identities query === key === value tell
    // self-attention (one projection) and encoder-decoder attention apart.
    const lifted = new Map<Tensor, Tensor>();
    const lift = (t: Tensor): Tensor => {
      let u = lifted.get(t);
      if (u === undefined) lifted.set(t, (u = t.unsqueeze(1)));
      return u;
    };
    [query, key, value] = [lift(query), lift(key), lift(value)];
    if (kpm !== null) kpm = kpm.unsqueeze(0);
  }

  const [tgtLen, bsz, embedDim] = query._shape;
  const srcLen0 = key._shape[0];
  for (const [name, t] of [
    ['query', query],
    ['key', key],
    ['value', value],
  ] as const)
    checkFloat(op, name, t);
  if (kpm !== null && kpm.dtype !== 'bool' && !isFloating(kpm.dtype)) {
    throw new TypeError(`${op}: only bool and floating types of keyPaddingMask are supported, got ${kpm.dtype}`);
  }
  if (embedDim !== a.embedDimToCheck) {
    throw new RangeError(
      `${op}: was expecting embedding dimension of ${K.fmtValue(a.embedDimToCheck)}, but got query ${fmt(a.query._shape)}`,
    );
  }
  const headDim = Math.floor(embedDim / H);
  if (headDim * H !== embedDim) throw new RangeError(`${op}: embedDim ${embedDim} is not divisible by numHeads ${H}`);
  if (a.useSeparateProjWeight) {
    if (key._shape[0] !== value._shape[0] || key._shape[1] !== value._shape[1]) {
      throw new RangeError(
        `${op}: key's sequence and batch dims ${fmt(key._shape.slice(0, 2))} do not match value's ${fmt(value._shape.slice(0, 2))} (${shapes})`,
      );
    }
  } else if (!sameShape(key._shape, value._shape)) {
    throw new RangeError(`${op}: key shape ${fmt(a.key._shape)} does not match value shape ${fmt(a.value._shape)}`);
  }
  if (query._shape[1] !== key._shape[1]) throw new RangeError(`${op}: query and key must have the same batch size, got ${shapes}`);

  // In-projection.
  const inB = optTensor(op, 'inProjBias', a.inProjBias);
  if (inB !== null && !sameShape(inB._shape, [3 * embedDim])) {
    throw new RangeError(`${op}: expecting inProjBias of shape [${3 * embedDim}], got ${fmt(inB._shape)}`);
  }
  const [bq, bk, bv] = inB === null ? [null, null, null] : inB.chunk(3);
  let q: Tensor, k: Tensor, v: Tensor;
  if (!a.useSeparateProjWeight) {
    const w = optTensor(op, 'inProjWeight', a.inProjWeight);
    if (w === null) throw new TypeError(`${op}: useSeparateProjWeight is false but inProjWeight is null`);
    if (!sameShape(w._shape, [3 * embedDim, embedDim])) {
      throw new RangeError(`${op}: expecting inProjWeight of shape [${3 * embedDim}, ${embedDim}], got ${fmt(w._shape)}`);
    }
    if (key === value && query === key) {
      [q, k, v] = project(query, w, inB).chunk(3, -1);
    } else if (key === value) {
      const [wq, wkv] = w.split([embedDim, 2 * embedDim]);
      const [bQ, bKV] = inB === null ? [null, null] : inB.split([embedDim, 2 * embedDim]);
      q = project(query, wq, bQ);
      [k, v] = project(key, wkv, bKV).chunk(2, -1);
    } else {
      const [wq, wk, wv] = w.chunk(3);
      [q, k, v] = [project(query, wq, bq), project(key, wk, bk), project(value, wv, bv)];
    }
  } else {
    const ws: Tensor[] = [];
    for (const [name, t, inDim] of [
      ['qProjWeight', a.qProjWeight, query._shape[2]],
      ['kProjWeight', a.kProjWeight, key._shape[2]],
      ['vProjWeight', a.vProjWeight, value._shape[2]],
    ] as const) {
      const w = optTensor(op, name, t);
      if (w === null) throw new TypeError(`${op}: useSeparateProjWeight is true but ${name} is null`);
      if (!sameShape(w._shape, [embedDim, inDim]))
        throw new RangeError(`${op}: expecting ${name} of shape [${embedDim}, ${inDim}], got ${fmt(w._shape)}`);
      ws.push(w);
    }
    [q, k, v] = [project(query, ws[0], bq), project(key, ws[1], bk), project(value, ws[2], bv)];
  }

  // The attention mask, as [1 or N*H, L, S].
  if (mask !== null) {
    if (mask.dtype === 'uint8') mask = mask.to('bool');
    else if (mask.dtype !== 'bool' && !isFloating(mask.dtype)) {
      throw new TypeError(`${op}: only float, byte and bool types are supported for attnMask, got ${mask.dtype}`);
    }
    if (mask.ndim === 2) {
      if (!sameShape(mask._shape, [tgtLen, srcLen0])) {
        throw new RangeError(`${op}: the shape of the 2-D attnMask is ${fmt(mask._shape)}, but should be [${tgtLen}, ${srcLen0}] (L, S)`);
      }
      mask = mask.unsqueeze(0);
    } else if (!sameShape(mask._shape, [bsz * H, tgtLen, srcLen0])) {
      throw new RangeError(
        `${op}: the shape of the 3-D attnMask is ${fmt(mask._shape)}, but should be [${bsz * H}, ${tgtLen}, ${srcLen0}] (N * numHeads, L, S)`,
      );
    }
  }

  // bias_k and bias_v: one more key and value position, learnt.
  const biasK = optTensor(op, 'biasK', a.biasK);
  const biasV = optTensor(op, 'biasV', a.biasV);
  if ((biasK === null) !== (biasV === null)) throw new TypeError(`${op}: biasK and biasV must be given together`);
  if (biasK !== null && biasV !== null) {
    if (staticK !== null || staticV !== null) throw new Error(`${op}: biasK and biasV cannot be added to a static key or value`);
    for (const [name, t] of [
      ['biasK', biasK],
      ['biasV', biasV],
    ] as const) {
      if (!sameShape(t._shape, [1, 1, embedDim]))
        throw new RangeError(`${op}: expecting ${name} of shape [1, 1, ${embedDim}], got ${fmt(t._shape)}`);
    }
    k = cat([k, biasK.repeat(1, bsz, 1)]);
    v = cat([v, biasV.repeat(1, bsz, 1)]);
    if (mask !== null) mask = padLast(mask);
    if (kpm !== null) kpm = padLast(kpm);
  }

  // Heads into the batch: [L, N, E] -> [N*H, L, headDim].
  q = q
    .contiguous()
    .view([tgtLen, bsz * H, headDim])
    .transpose(0, 1);
  for (const [name, s] of [
    ['staticK', staticK],
    ['staticV', staticV],
  ] as const) {
    if (s !== null && (s.ndim !== 3 || s._shape[0] !== bsz * H || s._shape[2] !== headDim)) {
      throw new RangeError(
        `${op}: expecting ${name} of shape [${bsz * H}, S, ${headDim}] (N * numHeads, S, headDim), got ${fmt(s._shape)}`,
      );
    }
  }
  k =
    staticK ??
    k
      .contiguous()
      .view([k._shape[0], bsz * H, headDim])
      .transpose(0, 1);
  v =
    staticV ??
    v
      .contiguous()
      .view([v._shape[0], bsz * H, headDim])
      .transpose(0, 1);
  if (a.addZeroAttn) {
    k = cat([k, zeros([bsz * H, 1, headDim], { dtype: k.dtype, device: k.device })], 1);
    v = cat([v, zeros([bsz * H, 1, headDim], { dtype: v.dtype, device: v.device })], 1);
    if (mask !== null) mask = padLast(mask);
    if (kpm !== null) kpm = padLast(kpm);
  }
  const srcLen = k._shape[1];
  if (v._shape[1] !== srcLen)
    throw new RangeError(`${op}: key and value have different lengths after the static key/value: ${srcLen} and ${v._shape[1]}`);

  // One additive bias from both masks (true in a bool mask: not attended).
  let bias = mask === null ? null : maskedToBias(mask, q.dtype);
  if (kpm !== null) {
    if (!sameShape(kpm._shape, [bsz, srcLen])) {
      throw new RangeError(
        `${op}: expecting keyPaddingMask of shape [${bsz}, ${srcLen}] (N, S)${batched ? '' : ` (unbatched: [${srcLen}])`}, got ${fmt(a.keyPaddingMask!._shape)}`,
      );
    }
    const kb = maskedToBias(kpm, q.dtype)
      .view([bsz, 1, 1, srcLen])
      .expand(-1, H, -1, -1)
      .reshape([bsz * H, 1, srcLen]);
    bias = bias === null ? kb : bias.add(kb);
  }
  K.sameDevice(op, q, k, v, bias);

  const dropoutP = a.training ? a.dropoutP : 0;
  const { out, weights } = attentionCore(q, k, v, bias, dropoutP, 1 / Math.sqrt(headDim), a.needWeights);
  const outW = optTensor(op, 'outProjWeight', a.outProjWeight);
  if (outW === null) throw new TypeError(`${op}: outProjWeight must be a Tensor, got null`);
  const outB = optTensor(op, 'outProjBias', a.outProjBias);
  let y = out
    .transpose(0, 1)
    .contiguous()
    .view([tgtLen * bsz, embedDim]);
  y = project(y, outW, outB).view([tgtLen, bsz, -1]);
  let w: Tensor | null = null;
  if (weights !== null) {
    w = weights.view([bsz, H, tgtLen, srcLen]);
    if (a.averageAttnWeights) w = w.sum(1).div(H);
    if (!batched) w = w.squeeze(0);
  }
  if (!batched) y = y.squeeze(1);
  return [y, w];
}

const optTensorParam = <N extends string>(name: N) => param.custom(name, 'Tensor?', as<Tensor | null>, null);

/**
 * multi_head_attention_forward(query, key, value, embed_dim_to_check,
 * num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
 * dropout_p, out_proj_weight, out_proj_bias, training=True,
 * key_padding_mask=None, need_weights=True, attn_mask=None,
 * use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
 * v_proj_weight=None, static_k=None, static_v=None,
 * average_attn_weights=True), PyTorch 1.13's: returns [attnOutput,
 * attnWeights or null]. Masks use MultiheadAttention's convention: true
 * (or a nonzero byte) is a position not attended; a float mask is added.
 */
export const multiHeadAttentionForward = op(
  'multiHeadAttentionForward',
  [
    param.custom('query', 'Tensor', as<Tensor>),
    param.custom('key', 'Tensor', as<Tensor>),
    param.custom('value', 'Tensor', as<Tensor>),
    param.custom('embedDimToCheck', 'int', as<number>),
    param.custom('numHeads', 'int', as<number>),
    param.custom('inProjWeight', 'Tensor?', as<Tensor | null>),
    param.custom('inProjBias', 'Tensor?', as<Tensor | null>),
    param.custom('biasK', 'Tensor?', as<Tensor | null>),
    param.custom('biasV', 'Tensor?', as<Tensor | null>),
    param.custom('addZeroAttn', 'bool', as<boolean>),
    param.custom('dropoutP', 'float', as<number>),
    param.custom('outProjWeight', 'Tensor', as<Tensor>),
    param.custom('outProjBias', 'Tensor?', as<Tensor | null>),
    param.custom('training', 'bool', as<boolean>, true),
    optTensorParam('keyPaddingMask'),
    param.custom('needWeights', 'bool', as<boolean>, true),
    optTensorParam('attnMask'),
    param.custom('useSeparateProjWeight', 'bool', as<boolean>, false),
    optTensorParam('qProjWeight'),
    optTensorParam('kProjWeight'),
    optTensorParam('vProjWeight'),
    optTensorParam('staticK'),
    optTensorParam('staticV'),
    param.custom('averageAttnWeights', 'bool', as<boolean>, true),
  ],
  'multi-head attention as nn.MultiheadAttention runs it: in-projection, attention per head, out-projection; ' +
    'returns [attnOutput, attnWeights or null]',
  returns<[Tensor, Tensor | null]>(),
);
define(multiHeadAttentionForward, {
  impl: (a): [Tensor, Tensor | null] => multiHeadAttention('multiHeadAttentionForward', a),
});
