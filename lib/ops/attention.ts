// Fused scaled dot product attention, declared once (lib/ops/op.ts):
// softmax(query @ keyᵀ · scale + mask) @ value over [B, H, L, E] inputs in
// one native kernel (native/cpu/attention.cc, Note [Fused attention]),
// which never holds the [L, S] weights whole. F.scaledDotProductAttention
// and multi-head attention run it when no weights are asked for and no
// dropout applies (Note [Attention core] in nn/functional_attention.ts).
//
// Forward saves the output and each row's logsumexp (flash attention's
// choice: O(L) per head, where the probabilities would be O(L·S)). The
// `fused` backward hands them to the native backward, which recomputes the
// probabilities block by block; the declared `grads` recompute them with
// ops instead, so that createGraph differentiates them again.
import type { Tensor } from '../tensor.js';
import { noGrad } from '../autograd/grad_mode.js';
import { define, op, tensorParam as T, type Saving } from './op.js';
import { param as p } from '../util/args.js';
import * as K from './kernels.js';
import { native } from '../backend/native.js';

/** What the backward reads. */
interface AttentionSaved {
  q: Tensor;
  k: Tensor;
  v: Tensor;
  mask: Tensor | null;
  causal: boolean;
  scale: number;
  out: Tensor;
  lse: Tensor;
  // The probabilities and their score gradient, recomputed with ops for one
  // incoming gradient and shared by the three declared gradients.
  memo: { g: Tensor; probs: Tensor; dScores: Tensor | null } | null;
}

/**
 * The fused attention op on 4-d inputs: query [B, H, L, E], key
 * [B, H, S, E], value [B, H, S, Ev] (batch dims broadcast; any strides),
 * attnMask broadcastable to [B, H, L, S] (bool: true takes part; float:
 * added) or null, isCausal (query i sees keys 0..i; no mask with it), and
 * the scale of the scores. Returns [B, H, L, Ev].
 */
export const scaledDotProductFusedAttention = op(
  'scaledDotProductFusedAttention',
  [
    T.tensor('query'),
    T.tensor('key'),
    T.tensor('value'),
    T.optTensor('attnMask'),
    p.kw(p.bool('isCausal', false)),
    p.kw(p.float('scale', 1)),
  ],
  'fused softmax(query @ key^T * scale + mask) @ value over 4-d [B, H, L, E] inputs',
);

function check(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null, causal: boolean): number[] {
  const op = 'scaledDotProductFusedAttention';
  K.sameDevice(op, q, k, v, mask);
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) {
    throw new RangeError(
      `${op}: expected 4-d query, key and value, got ${K.fmtShape(q._shape)}, ${K.fmtShape(k._shape)} and ${K.fmtShape(v._shape)}`,
    );
  }
  if (q.dtype !== 'float32' && q.dtype !== 'float64') throw new TypeError(`${op}: expected float32 or float64 tensors, got ${q.dtype}`);
  if (k.dtype !== q.dtype || v.dtype !== q.dtype)
    throw new TypeError(`${op}: query, key and value must share a dtype, got ${q.dtype}, ${k.dtype} and ${v.dtype}`);
  const [L, E] = q._shape.slice(2),
    [S, Ek] = k._shape.slice(2);
  if (Ek !== E || v._shape[2] !== S) {
    throw new RangeError(`${op}: key ${K.fmtShape(k._shape)} and value ${K.fmtShape(v._shape)} do not fit query ${K.fmtShape(q._shape)}`);
  }
  const batch = K.broadcastShapes(K.broadcastShapes(q._shape.slice(0, 2), k._shape.slice(0, 2), op), v._shape.slice(0, 2), op);
  if (mask !== null) {
    if (causal) throw new Error(`${op}: an explicit attnMask must not be given with isCausal: true`);
    if (mask.dtype !== 'bool' && mask.dtype !== q.dtype)
      throw new TypeError(`${op}: attnMask must be bool or have query's dtype ${q.dtype}, got ${mask.dtype}`);
    const target = [...batch, L, S];
    if (mask.ndim > 4 || K.broadcastShapes(mask._shape, target, op).join() !== target.join())
      throw new RangeError(`${op}: attnMask of shape ${K.fmtShape(mask._shape)} does not broadcast to ${K.fmtShape(target)}`);
  }
  return batch;
}

define(scaledDotProductFusedAttention, {
  node: 'ScaledDotProductFlashAttentionBackward0',
  forward: ({ query: q, key: k, value: v, attnMask: mask, isCausal, scale }): Saving<AttentionSaved> => {
    const [B, H] = check(q, k, v, mask, isCausal);
    const L = q._shape[2],
      E = q._shape[3],
      S = k._shape[2],
      Ev = v._shape[3];
    const op = 'scaledDotProductFusedAttention';
    const out = K.output([B, H, L, Ev], q.dtype, op, q.device);
    const lse = K.output([B, H, L], q.dtype, op, q.device);
    native.attention(
      K.broadcastRef(q, [B, H, L, E]),
      K.broadcastRef(k, [B, H, S, E]),
      K.broadcastRef(v, [B, H, S, Ev]),
      mask === null ? null : K.broadcastRef(mask, [B, H, L, S]),
      scale,
      isCausal,
      out._ref(),
      lse._ref(),
    );
    return { out, save: { q, k, v, mask, causal: isCausal, scale, out, lse, memo: null } };
  },
  // softmax's backward with the products around it (derivatives.yaml's
  // _scaled_dot_product_attention_math): dv = Pᵀ g, dS = P * (g vᵀ -
  // rowsum(P * g vᵀ)), dq = dS k · scale, dk = dSᵀ q · scale.
  grads: {
    query: (g, s) => scoreGrad(g, s).matmul(s.k).mul(s.scale),
    key: (g, s) => scoreGrad(g, s).transpose(-2, -1).matmul(s.q).mul(s.scale),
    value: (g, s) => probsFor(g, s).transpose(-2, -1).matmul(g),
  },
  fused: (g, s, needs) => {
    const { q, k, v, out, lse } = s;
    const [B, H, L, Ev] = out._shape;
    const E = q._shape[3],
      S = k._shape[2];
    const op = 'scaledDotProductFusedAttention';
    const gq = needs.query ? K.output([B, H, L, E], q.dtype, op, q.device) : null;
    const gk = needs.key ? K.output([B, H, S, E], q.dtype, op, q.device) : null;
    const gv = needs.value ? K.output([B, H, S, Ev], q.dtype, op, q.device) : null;
    const gc = g.dtype === q.dtype ? g : K.cast(g, q.dtype, op);
    native.attentionBackward(
      K.broadcastRef(gc, [B, H, L, Ev]),
      K.broadcastRef(q, [B, H, L, E]),
      K.broadcastRef(k, [B, H, S, E]),
      K.broadcastRef(v, [B, H, S, Ev]),
      s.mask === null ? null : K.broadcastRef(s.mask, [B, H, L, S]),
      s.scale,
      s.causal,
      out._ref(),
      lse._ref(),
      gq?._ref() ?? null,
      gk?._ref() ?? null,
      gv?._ref() ?? null,
    );
    return { query: gq, key: gk, value: gv };
  },
});

/** The attention weights, recomputed with ops from the saved inputs (so they are differentiable). */
function probsFor(g: Tensor, s: AttentionSaved): Tensor {
  if (s.memo !== null && s.memo.g === g) return s.memo.probs;
  let scores = s.q.matmul(s.k.transpose(-2, -1)).mul(s.scale);
  const bias = biasOf(s, scores);
  if (bias !== null) scores = scores.add(bias);
  const probs = scores.softmax(-1);
  s.memo = { g, probs, dScores: null };
  return probs;
}

/** dS, the gradient of the scaled scores (before the scale), from the incoming gradient. */
function scoreGrad(g: Tensor, s: AttentionSaved): Tensor {
  const probs = probsFor(g, s);
  const memo = s.memo!;
  if (memo.dScores === null) {
    const dp = g.matmul(s.v.transpose(-2, -1));
    memo.dScores = probs.mul(dp.sub(dp.mul(probs).sum(-1, true)));
  }
  return memo.dScores;
}

/** The additive bias the mask (or isCausal) stands for: 0 where a key takes part, -inf elsewhere, or the float mask. */
function biasOf(s: AttentionSaved, scores: Tensor): Tensor | null {
  const [L, S] = scores._shape.slice(-2);
  const keep = s.causal
    ? noGrad(() => K.empty([L, S], 'bool', 'scaledDotProductFusedAttention', scores.device).logicalNot().tril())
    : s.mask;
  if (keep === null) return null;
  if (keep.dtype !== 'bool') return keep;
  return noGrad(() =>
    K.empty(keep._shape, scores.dtype, 'scaledDotProductFusedAttention', scores.device).maskedFill(keep.logicalNot(), -Infinity),
  );
}
