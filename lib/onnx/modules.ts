// Module-level ONNX mappings: modules whose forward is no single declared op
// (nn.LSTM, nn.GRU and nn.RNN step through the sequence in JavaScript) are
// recorded whole, as the one ONNX op that computes them, rather than traced
// op by op (a trace would unroll the time loop at the example's length and
// freeze the sequence axis). export.ts installs these hooks on the model's
// instances for the length of the trace only.
import { Tensor } from '../tensor.js';
import { MultiheadAttention } from '../nn/layers/attention.js';
import type { MultiHeadAttentionArgs } from '../nn/functional_attention.js';
import { RNNBase } from '../nn/layers/rnn.js';
import { PackedSequence } from '../nn/rnn_utils.js';
import { cat, stack } from '../ops/join.js';
import type { Ctx } from './graph.js';

/** Runs a hooked module's computation: `run` untraced, then `emit` records it if a traced value went in. */
export type ModuleCall = (op: string, inputs: Tensor[], run: () => unknown, emit: (c: Ctx, result: unknown) => void) => unknown;

/**
 * Installs the module-level mappings for the length of a trace; returns what removes them. They go on the
 * classes, not on the model's instances, so a module the model reaches without registering it is recorded too.
 */
export function installModuleHooks(call: ModuleCall, traced: (t: Tensor) => boolean): () => void {
  const proto = RNNBase.prototype;
  const prev = proto._forward;
  proto._forward = function (this: RNNBase, op: string, input: unknown, hx: Tensor[] | null) {
    if (input instanceof PackedSequence) {
      if (traced(input.data))
        throw new Error(`torch.onnx.export: ${op} cannot be exported: packed sequences (PackedSequence input) have no ONNX form here`);
      return prev.call(this, op, input, hx);
    }
    const x = input as Tensor;
    return call(
      op,
      [x, ...(hx ?? [])],
      () => prev.call(this, op, input, hx),
      (c, r) => emitRnn(c, this, x, hx, r as [Tensor, Tensor[]]),
    ) as [Tensor, Tensor[]];
  };
  return () => {
    proto._forward = prev;
  };
}

// PyTorch stacks the gates as LSTM i f g o, GRU r z n; ONNX as LSTM i o f c,
// GRU z r h: the blocks of PyTorch's rows in ONNX's order.
const GATES = { LSTM: [0, 3, 1, 2], GRU: [1, 0, 2], RNN_TANH: [0], RNN_RELU: [0] } as const;

/**
 * nn.LSTM / nn.GRU / nn.RNN as ONNX's LSTM / GRU / RNN, one op per layer (ONNX's ops are one layer each),
 * both directions in one op ("bidirectional"), W/R/B re-laid out from weight_ih/weight_hh/bias_ih/bias_hh.
 */
function emitRnn(c: Ctx, m: RNNBase, x: Tensor, hx: Tensor[] | null, result: [Tensor, Tensor[]]): void {
  if (m.projSize) c.fail(`projSize ${m.projSize} has no form in ONNX's LSTM`);
  if (m.training && m.dropout > 0) c.fail('dropout between layers in training mode');
  if (x.ndim !== 3) c.fail(`only batched input (3 dims) is exported, got ${x.ndim} dims`);
  const opType = m.mode === 'LSTM' ? 'LSTM' : m.mode === 'GRU' ? 'GRU' : 'RNN';
  const order = GATES[m.mode];
  const H = m.hiddenSize;
  const dirs = m.bidirectional ? 2 : 1;
  const nStates = m.mode === 'LSTM' ? 2 : 1;
  const xd = c.dyn(x);
  const [seqDyn, batchDyn] = m.batchFirst ? [xd[1], xd[0]] : [xd[0], xd[1]];
  // batchFirst by a Transpose: ONNX Runtime's CPU LSTM does not take layout 1.
  let y = m.batchFirst ? c.node('Transpose', [c.value(x)], { perm: { ints: [1, 0, 2] } })[0] : c.value(x);
  const reorder = (t: Tensor): Tensor =>
    cat(
      order.map((k) => t.narrow(0, k * H, H)),
      0,
    );
  const finals: string[][] = Array.from({ length: nStates }, () => []);
  for (let layer = 0; layer < m.numLayers; layer++) {
    const ps = Array.from({ length: dirs }, (_, d) => m._layerParams(layer, d));
    const W = stack(ps.map((p) => reorder(p.wIh)));
    const R = stack(ps.map((p) => reorder(p.wHh)));
    const inputs = [y, c.constant(W), c.constant(R)];
    if (m.bias) inputs.push(c.constant(stack(ps.map((p) => cat([reorder(p.bIh as Tensor), reorder(p.bHh as Tensor)], 0)))));
    else inputs.push('');
    inputs.push(''); // sequence_lens: every sequence runs the whole length
    if (hx) {
      const [lo, hi] = [c.ints([layer * dirs]), c.ints([(layer + 1) * dirs])];
      for (const h of hx) inputs.push(c.node('Slice', [c.value(h), lo, hi, c.ints([0])])[0]);
    }
    const attrs: Parameters<Ctx['node']>[2] = { hidden_size: { int: H }, direction: { str: dirs === 2 ? 'bidirectional' : 'forward' } };
    if (m.mode === 'GRU') attrs.linear_before_reset = { int: 1 }; // PyTorch's n = tanh(W x + b + r (U h + b_hn))
    if (m.mode === 'RNN_RELU') attrs.activations = { strs: dirs === 2 ? ['Relu', 'Relu'] : ['Relu'] };
    const outs = c.node(opType, inputs, attrs, 1 + nStates);
    // Y [seq, dirs, batch, H] to [seq, batch, dirs * H], PyTorch's output layout.
    const t = c.node('Transpose', [outs[0]], { perm: { ints: [0, 2, 1, 3] } })[0];
    y = c.node('Reshape', [t, c.ints([0, 0, -1])])[0];
    for (let k = 0; k < nStates; k++) finals[k].push(outs[1 + k]);
  }
  const [out, states] = result;
  if (m.batchFirst) y = c.node('Transpose', [y], { perm: { ints: [1, 0, 2] } })[0];
  c.bind(out, y, m.batchFirst ? [batchDyn, seqDyn, null] : [seqDyn, batchDyn, null]);
  finals.forEach((f, k) => {
    const h = f.length === 1 ? f[0] : c.node('Concat', f, { axis: { int: 0 } })[0];
    c.bind(states[k], h, [null, batchDyn, null]);
  });
}

// ---- attention --------------------------------------------------------------------------------

/**
 * softmax(q kᵀ · scale + bias) v over [..., L, E] values: ONNX MatMul, Add and Softmax (the fused kernel's
 * primitive form). `kT` is the key already transposed to [..., E, S]. Returns the output and the weights.
 */
export function attentionNodes(c: Ctx, q: string, kT: string, v: string, bias: string | null, scale: number): [string, string] {
  let scores = c.node('MatMul', [c.node('Mul', [q, c.scalar(scale, 'float32')])[0], kT])[0];
  if (bias !== null) scores = c.node('Add', [scores, bias])[0];
  const w = c.node('Softmax', [scores], { axis: { int: -1 } })[0];
  return [c.node('MatMul', [w, v])[0], w];
}

/** A mask as an additive float32 bias: a bool mask is -inf where `masked` is its value, 0 elsewhere; a float mask is itself. */
export function maskBias(c: Ctx, m: Tensor, masked: boolean): string {
  if (m.dtype === 'float32') return c.value(m);
  if (m.dtype !== 'bool' && m.dtype !== 'uint8') c.fail(`a ${m.dtype} mask is not exported (bool, uint8 or float32)`);
  const b = c.valueAs(m, 'bool');
  const [inf, zero] = [c.scalar(-Infinity, 'float32'), c.scalar(0, 'float32')];
  return c.node('Where', masked ? [b, inf, zero] : [b, zero, inf])[0];
}

/** Installs the MultiheadAttention hook (recorded whole while tracing); returns what removes it. */
export function installAttentionHook(call: ModuleCall): () => void {
  const proto = MultiheadAttention.prototype;
  const prev = proto._attend;
  proto._attend = function (this: MultiheadAttention, a: MultiHeadAttentionArgs) {
    const ins = [a.query, a.key, a.value, a.keyPaddingMask, a.attnMask].filter((t): t is Tensor => t instanceof Tensor);
    return call(
      'MultiheadAttention',
      ins,
      () => prev.call(this, a),
      (c, r) => emitMha(c, a, r as [Tensor, Tensor | null]),
    ) as [Tensor, Tensor | null];
  };
  return () => {
    proto._attend = prev;
  };
}

/**
 * PyTorch 1.13's multi_head_attention_forward on sequence-first [L, N, E] inputs as primitive ops: the
 * in-projection sliced from in_proj_weight (its state-dict name kept), heads by Reshape [0, 0, H, d] (the
 * sequence and batch sizes copied from the input, so both may be dynamic) and Transpose, the masks as one
 * additive bias, the out-projection.
 */
function emitMha(c: Ctx, a: MultiHeadAttentionArgs, result: [Tensor, Tensor | null]): void {
  const { query, key, value } = a;
  if (query.ndim !== 3) c.fail(`only batched (3-d) query is exported, got ${query.ndim} dims`);
  if (a.biasK !== null || a.biasV !== null) c.fail('addBiasKV (bias_k, bias_v) is not exported');
  if (a.addZeroAttn) c.fail('addZeroAttn is not exported');
  if (a.staticK !== null || a.staticV !== null) c.fail('staticK and staticV are not exported');
  if (a.training && a.dropoutP > 0) c.fail('attention dropout in training mode');
  const E = a.embedDimToCheck,
    H = a.numHeads,
    d = E / H;
  const proj = (x: Tensor, k: number): string => {
    let w: string;
    if (a.useSeparateProjWeight) w = c.value([a.qProjWeight, a.kProjWeight, a.vProjWeight][k] as Tensor);
    else w = c.node('Slice', [c.value(a.inProjWeight as Tensor), c.ints([k * E]), c.ints([(k + 1) * E]), c.ints([0])])[0];
    let y = c.node('MatMul', [c.value(x), c.node('Transpose', [w], { perm: { ints: [1, 0] } })[0]])[0];
    if (a.inProjBias !== null) {
      const b = c.node('Slice', [c.value(a.inProjBias), c.ints([k * E]), c.ints([(k + 1) * E]), c.ints([0])])[0];
      y = c.node('Add', [y, b])[0];
    }
    // [L, N, E] -> [L, N, H, d]
    return c.node('Reshape', [y, c.ints([0, 0, H, d])])[0];
  };
  const q = c.node('Transpose', [proj(query, 0)], { perm: { ints: [1, 2, 0, 3] } })[0]; // [N, H, L, d]
  const kT = c.node('Transpose', [proj(key, 1)], { perm: { ints: [1, 2, 3, 0] } })[0]; // [N, H, d, S]
  const v = c.node('Transpose', [proj(value, 2)], { perm: { ints: [1, 2, 0, 3] } })[0]; // [N, H, S, d]

  const qd = c.dyn(query),
    kd = c.dyn(key);
  let bias: string | null = null;
  const mask = a.attnMask;
  if (mask !== null) {
    let m = maskBias(c, mask, true);
    if (mask.ndim === 3) {
      // [N * H, L, S] -> [N, H, L, S]
      const md = c.dyn(mask);
      if (md[1] !== null || md[2] !== null) c.fail('a 3-d attnMask with dynamic L or S');
      m = c.node('Reshape', [m, c.ints([-1, H, mask.shape[1], mask.shape[2]])])[0];
    }
    bias = m;
  }
  if (a.keyPaddingMask !== null) {
    const kpm = c.node('Unsqueeze', [maskBias(c, a.keyPaddingMask, true), c.ints([1, 2])])[0]; // [N, 1, 1, S]
    bias = bias === null ? kpm : c.node('Add', [bias, kpm])[0];
  }
  const [o, w] = attentionNodes(c, q, kT, v, bias, 1 / Math.sqrt(d));
  // [N, H, L, d] -> [L, N, H, d] -> [L, N, E], then the out-projection.
  const merged = c.node('Reshape', [c.node('Transpose', [o], { perm: { ints: [2, 0, 1, 3] } })[0], c.ints([0, 0, E])])[0];
  let y = c.node('MatMul', [merged, c.node('Transpose', [c.value(a.outProjWeight)], { perm: { ints: [1, 0] } })[0]])[0];
  if (a.outProjBias !== null) y = c.node('Add', [y, c.value(a.outProjBias)])[0];
  const [out, weights] = result;
  c.bind(out, y, [qd[0], qd[1], null]);
  if (weights !== null) {
    const avg = a.averageAttnWeights;
    const wr = avg ? c.node('ReduceMean', [w], { axes: { ints: [1] }, keepdims: { int: 0 } })[0] : w;
    c.bind(weights, wr, avg ? [qd[1], qd[0], kd[0]] : [qd[1], null, qd[0], kd[0]]);
  }
}
