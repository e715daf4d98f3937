// Module-level ONNX mappings: modules whose forward is no single declared op
// (nn.LSTM, nn.GRU and nn.RNN step through the sequence in JavaScript) are
// recorded whole, as the one ONNX op that computes them, rather than traced
// op by op (a trace would unroll the time loop at the example's length and
// freeze the sequence axis). export.ts installs these hooks on the model's
// instances for the length of the trace only.
import type { Tensor } from '../tensor.js';
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
