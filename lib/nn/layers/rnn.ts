// Recurrent layers: RNN, LSTM and GRU (stacked, optionally bidirectional,
// over padded or packed batches) and their single-step Cells, as PyTorch's,
// written on the differentiable ops. Parameters carry PyTorch's names
// (weight_ih_l0, bias_hh_l1_reverse, weight_hr_l0, ...) in PyTorch's order,
// so state dicts load both ways.
import { Tensor } from '../../tensor.js';
import { empty, zeros } from '../../ops/creation.js';
import { cat, stack } from '../../ops/join.js';
import { addmm } from '../../ops/matmul.js';
import { gruCell, lstmCell, lstmHiddenGates, lstmHiddenWeights, lstmLayer, HiddenInputs } from '../../ops/rnn.js';
import { isGradEnabled } from '../../autograd/grad_mode.js';
import * as K from '../../ops/kernels.js';
import { Module, pyFloat } from '../module.js';
import { Parameter } from '../parameter.js';
import * as init from '../init.js';
import { dropout as dropoutFn, linear } from '../functional.js';
import { PackedSequence, stepsOf } from '../rnn_utils.js';
import { as, checkSize, dtypeParam, late, paramDType } from './linear.js';
import { bindOptions, fmtValue, isOptions, param, type CallArgs } from '../../util/args.js';

const fmt = K.fmtShape;

// ---- the cell math ---------------------------------------------------------------------------
// Note [Recurrent steps]: one time step of each cell, as PyTorch's CPU cells
// compute it (RNN.cpp: the hidden share first, then the input's added). `xg`
// is the input's share of the gates, x W_ihᵀ + b_ih: the layers compute it
// for every step of a sequence with one matmul and hand each step its rows,
// the Cell modules compute it for their one step. These four functions are
// where the step math lives, except that an LSTM over full batches on the
// CPU runs its whole recurrence as one op (Note [One node per LSTM
// sequence]); LSTM's and GRU's pointwise part is one fused kernel each
// (lib/ops/rnn.ts).

/** @internal What a step needs besides its input: W_hhᵀ (transposed once per sequence), b_hh and LSTM's W_hrᵀ. */
export interface StepWeights {
  wHhT: Tensor;
  bHh: Tensor | null;
  wHrT: Tensor | null;
  /** W_hh itself when the layer takes its gradient for the whole sequence at once (Note [One GEMM for W_hh], lib/ops/rnn.ts). */
  wHh?: Tensor;
}

function hiddenGates(h: Tensor, w: StepWeights): Tensor {
  if (w.wHh) return lstmHiddenGates(h, w.wHh, w.bHh);
  return w.bHh ? addmm(w.bHh, h, w.wHhT) : h.matmul(w.wHhT);
}

/** @internal h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh). */
export function rnnTanhStep(xg: Tensor, h: Tensor, w: StepWeights): Tensor {
  return hiddenGates(h, w).add(xg).tanh();
}

/** @internal h' = relu(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh). */
export function rnnReluStep(xg: Tensor, h: Tensor, w: StepWeights): Tensor {
  return hiddenGates(h, w).add(xg).relu();
}

/**
 * @internal Gates i, f, g, o; c' = σ(f) c + σ(i) tanh(g); h' = σ(o) tanh(c'), projected by W_hr when there is one.
 * The pointwise part is one fused kernel (lib/ops/rnn.ts), its two results unbound from one [2, B, H] tensor.
 */
export function lstmStep(xg: Tensor, h: Tensor, c: Tensor, w: StepWeights): [Tensor, Tensor] {
  const [hy, cy] = lstmCell(xg, hiddenGates(h, w), c).unbind(0);
  return [w.wHrT ? hy.matmul(w.wHrT) : hy, cy];
}

/** @internal Gates r, z, n; n = tanh(x_n + r (h W_hnᵀ + b_hn)); h' = (h - n) z + n, in one fused kernel (lib/ops/rnn.ts). */
export function gruStep(xg: Tensor, h: Tensor, w: StepWeights): Tensor {
  return gruCell(xg, hiddenGates(h, w), h);
}

/** Which cell an RNNBase runs (PyTorch's mode). */
export type RNNMode = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';

/** A step over the state list: [h] or, for LSTM, [h, c]; the step's output is the new state[0]. */
type Step = (xg: Tensor, state: Tensor[], w: StepWeights) => Tensor[];

const STEPS: Record<RNNMode, Step> = {
  RNN_TANH: (xg, [h], w) => [rnnTanhStep(xg, h, w)],
  RNN_RELU: (xg, [h], w) => [rnnReluStep(xg, h, w)],
  LSTM: (xg, [h, c], w) => lstmStep(xg, h, c, w),
  GRU: (xg, [h], w) => [gruStep(xg, h, w)],
};

const GATES: Record<RNNMode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

// ---- running a sequence ---------------------------------------------------------------------------
// A sequence is rows: step t is batchSizes[t] consecutive rows, the
// batch's first batchSizes[t] sequences (a padded batch has every step
// full; a packed one shrinks as sequences end). The input's gates are one
// [rows, gates] tensor, cut into steps by stepRows.

/**
 * The rows of each step, as views of x. split records one node for all of
 * them (Note [Multi-output nodes]), so backward writes the steps' gradients
 * into one tensor of x's size once, not once per step.
 */
function stepRows(x: Tensor, sizes: number[]): Tensor[] {
  return sizes.length ? x.split(sizes, 0) : [];
}

/**
 * One direction of one layer: the output rows of every step (same layout as
 * xg) and the final state of each sequence. Going forward, a sequence that
 * ends leaves its final state behind as the batch shrinks; going backward,
 * each sequence starts from its initial state at its own last step.
 */
function runDirection(
  step: Step,
  xg: Tensor,
  batchSizes: number[],
  state0: Tensor[],
  w: StepWeights,
  reverse: boolean,
  seen: Tensor[] | null = null,
): { out: Tensor; state: Tensor[] } {
  const T = batchSizes.length;
  const xs = stepRows(xg, batchSizes);
  const outs = new Array<Tensor>(T);
  let state = state0;
  if (!reverse) {
    const ended: Tensor[][] = [];
    for (let t = 0; t < T; t++) {
      const bs = batchSizes[t];
      const rows = state[0]._shape[0];
      if (bs < rows) {
        ended.push(state.map((s) => s.narrow(0, bs, rows - bs)));
        state = state.map((s) => s.narrow(0, 0, bs));
      }
      if (seen) seen[t] = state[0];
      state = step(xs[t], state, w);
      outs[t] = state[0];
    }
    // The latest to end hold the lowest rows after the ones still running.
    if (ended.length) {
      ended.reverse();
      state = state.map((s, k) => cat([s, ...ended.map((e) => e[k])]));
    }
  } else {
    const last = batchSizes[T - 1];
    if (last < state[0]._shape[0]) state = state.map((s) => s.narrow(0, 0, last));
    for (let t = T - 1; t >= 0; t--) {
      const bs = batchSizes[t];
      const rows = state[0]._shape[0];
      if (bs > rows) state = state.map((s, k) => cat([s, state0[k].narrow(0, rows, bs - rows)]));
      if (seen) seen[t] = state[0];
      state = step(xs[t], state, w);
      outs[t] = state[0];
    }
  }
  return { out: T === 1 ? outs[0] : cat(outs), state };
}

// ---- argument checks ------------------------------------------------------------------------------

function checkBool(op: string, name: string, v: unknown): asserts v is boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${op}: ${name} must be a boolean, got ${fmtValue(v)}`);
}

function checkTensor(op: string, name: string, v: unknown): asserts v is Tensor {
  if (!(v instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a Tensor, got ${fmtValue(v)}`);
}

function checkDTypes(op: string, x: Tensor, weight: Tensor, state: Tensor[]): void {
  if (x.dtype !== weight.dtype) {
    throw new TypeError(
      `${op}: input and parameter tensors are not the same dtype, found input tensor with ${x.dtype} and parameter tensor with ${weight.dtype}`,
    );
  }
  for (const s of state) {
    if (s.dtype !== x.dtype) {
      throw new TypeError(
        `${op}: input and hidden tensors are not the same dtype, found input tensor with ${x.dtype} and hidden tensor with ${s.dtype}`,
      );
    }
  }
}

/** A bare `projSize` given to RNN or GRU: PyTorch's own message rather than an unknown-option one. */
function refuseProjSize(op: string, args: unknown[]): void {
  const last = args[args.length - 1];
  if (isOptions(last) && last.projSize !== undefined) {
    throw new TypeError(`${op}: projSize is only supported for LSTM, not RNN or GRU`);
  }
}

// ---- RNN, LSTM, GRU -----------------------------------------------------------------------------------

const inputSizeP = late(param.int('inputSize'));
const hiddenSizeP = late(param.int('hiddenSize'));
const numLayersP = late(param.int('numLayers', 1));
const biasP = late(param.bool('bias', true));
const batchFirstP = late(param.bool('batchFirst', false));
const dropoutP = late(param.float('dropout', 0));
const bidirectionalP = late(param.bool('bidirectional', false));

/**
 * RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False, dropout=0.0,
 * bidirectional=False, *, dtype=None): PyTorch's documented order (PyTorch 1.13 itself takes nonlinearity by
 * keyword only).
 */
const RNN_ARGS = [
  inputSizeP,
  hiddenSizeP,
  numLayersP,
  late(param.custom('nonlinearity', "'tanh'|'relu'", as<'tanh' | 'relu'>, 'tanh')),
  biasP,
  batchFirstP,
  dropoutP,
  bidirectionalP,
  dtypeParam,
] as const;

/** LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, *, dtype=None). */
const LSTM_ARGS = [
  inputSizeP,
  hiddenSizeP,
  numLayersP,
  biasP,
  batchFirstP,
  dropoutP,
  bidirectionalP,
  late(param.int('projSize', 0)),
  dtypeParam,
] as const;

/** GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False, *, dtype=None). */
const GRU_ARGS = [inputSizeP, hiddenSizeP, numLayersP, biasP, batchFirstP, dropoutP, bidirectionalP, dtypeParam] as const;

/** @internal The bound constructor arguments RNNBase checks. */
export interface RNNConfig {
  inputSize?: unknown;
  hiddenSize?: unknown;
  numLayers?: unknown;
  bias?: unknown;
  batchFirst?: unknown;
  dropout?: unknown;
  bidirectional?: unknown;
  projSize?: unknown;
  dtype?: unknown;
}

/** forward's initial state: given positionally, or by name in an options object (`rnn(x, { hx: h0 })`). */
export type HxArg<H> = H | null | { hx?: H | null };

/** forward(input, hx=None). */
const FORWARD = [
  late(param.custom('input', 'Tensor|PackedSequence', as<unknown>)),
  late(param.custom('hx', 'Tensor?', as<unknown>, null)),
] as const;

/**
 * The base of nn.RNN, nn.LSTM and nn.GRU (PyTorch's RNNBase): the options, the parameters and the stacked,
 * bidirectional, padded or packed run. Construct one of those three.
 */
export abstract class RNNBase extends Module {
  /** 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'. */
  readonly mode: RNNMode;
  /** Features of each input step. */
  readonly inputSize: number;
  /** Features of the hidden state (of the cell state, for an LSTM with projSize). */
  readonly hiddenSize: number;
  /** How many layers are stacked, each reading the previous one's output. */
  readonly numLayers: number;
  /** Whether the layers have the biases b_ih and b_hh. */
  readonly bias: boolean;
  /** Whether input and output are [batch, seq, feature] rather than [seq, batch, feature]. */
  readonly batchFirst: boolean;
  /** The probability of dropout on each layer's output but the last, in training. */
  readonly dropout: number;
  /** Whether each layer also runs the sequence backwards, its output concatenated to the forward one. */
  readonly bidirectional: boolean;
  /** LSTM's projection size (0: none). */
  readonly projSize: number;

  /** @internal */
  protected constructor(op: string, mode: RNNMode, a: RNNConfig) {
    super();
    checkSize(op, 'inputSize', a.inputSize);
    checkSize(op, 'hiddenSize', a.hiddenSize, 1);
    checkSize(op, 'numLayers', a.numLayers, 1);
    checkSize(op, 'projSize', a.projSize);
    checkBool(op, 'bias', a.bias);
    checkBool(op, 'batchFirst', a.batchFirst);
    checkBool(op, 'bidirectional', a.bidirectional);
    const p = a.dropout;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new RangeError(
        `${op}: dropout should be a number in range [0, 1] representing the probability of an element being zeroed, got ${fmtValue(p)}`,
      );
    }
    if (a.projSize >= a.hiddenSize) {
      throw new RangeError(`${op}: projSize has to be smaller than hiddenSize, got projSize ${a.projSize} and hiddenSize ${a.hiddenSize}`);
    }
    if (p > 0 && a.numLayers === 1) {
      process.emitWarning(
        `${op}: dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects ` +
          `numLayers greater than 1, but got dropout=${p} and numLayers=${a.numLayers}`,
      );
    }
    const dtype = paramDType(op, a.dtype as never);
    this.mode = mode;
    this.inputSize = a.inputSize;
    this.hiddenSize = a.hiddenSize;
    this.numLayers = a.numLayers;
    this.bias = a.bias;
    this.batchFirst = a.batchFirst;
    this.dropout = p;
    this.bidirectional = a.bidirectional;
    this.projSize = a.projSize;
    const gates = GATES[mode] * this.hiddenSize;
    const out = this.projSize || this.hiddenSize;
    const dirs = this.bidirectional ? 2 : 1;
    for (let layer = 0; layer < this.numLayers; layer++) {
      for (let dir = 0; dir < dirs; dir++) {
        const sfx = `_l${layer}${dir ? '_reverse' : ''}`;
        const inF = layer === 0 ? this.inputSize : out * dirs;
        // PyTorch's order: weight_ih, weight_hh, bias_ih, bias_hh, weight_hr.
        this.registerParameter(`weight_ih${sfx}`, new Parameter(empty([gates, inF], { dtype })));
        this.registerParameter(`weight_hh${sfx}`, new Parameter(empty([gates, out], { dtype })));
        if (this.bias) {
          this.registerParameter(`bias_ih${sfx}`, new Parameter(empty([gates], { dtype })));
          this.registerParameter(`bias_hh${sfx}`, new Parameter(empty([gates], { dtype })));
        }
        if (this.projSize) this.registerParameter(`weight_hr${sfx}`, new Parameter(empty([this.projSize, this.hiddenSize], { dtype })));
      }
    }
    this.resetParameters();
  }

  /** Refills every parameter from U(-1/√hiddenSize, 1/√hiddenSize), as PyTorch's reset_parameters. */
  resetParameters(): void {
    const bound = 1 / Math.sqrt(this.hiddenSize);
    for (const w of this.parameters()) init.uniform_(w, -bound, bound);
  }

  /** The parameters of each layer and direction, in PyTorch's order (all_weights). */
  get allWeights(): Parameter[][] {
    const out: Parameter[][] = [];
    for (let layer = 0; layer < this.numLayers; layer++) {
      for (let dir = 0; dir < (this.bidirectional ? 2 : 1); dir++) {
        const p = this._layerParams(layer, dir);
        out.push([p.wIh, p.wHh, p.bIh, p.bHh, p.wHr].filter((t): t is Parameter => t !== null));
      }
    }
    return out;
  }

  /** Does nothing: PyTorch's flatten_parameters packs weights for cuDNN, which Kindling does not use. Kept so ported code runs. */
  flattenParameters(): void {}

  /** @internal The parameters of one layer and direction, read by name (a reassigned parameter is used). */
  _layerParams(layer: number, dir: number) {
    const self = this as unknown as Record<string, Parameter | null | undefined>;
    const sfx = `_l${layer}${dir ? '_reverse' : ''}`;
    return {
      wIh: self[`weight_ih${sfx}`] as Parameter,
      wHh: self[`weight_hh${sfx}`] as Parameter,
      bIh: this.bias ? (self[`bias_ih${sfx}`] ?? null) : null,
      bHh: this.bias ? (self[`bias_hh${sfx}`] ?? null) : null,
      wHr: this.projSize ? (self[`weight_hr${sfx}`] ?? null) : null,
    };
  }

  /**
   * @internal PyTorch's RNNBase forward for every mode: `hx` is null or the initial states ([h0] or [h0, c0]).
   * Returns the output (a PackedSequence for packed input) and the final states in the same layout as hx.
   */
  _forward(op: string, input: unknown, hx: Tensor[] | null): [Tensor | PackedSequence, Tensor[]] {
    const dirs = this.bidirectional ? 2 : 1;
    const out = this.projSize || this.hiddenSize;
    // The state sizes: h is [layers * dirs, batch, out]; an LSTM's c has hiddenSize features.
    const features = this.mode === 'LSTM' ? [out, this.hiddenSize] : [out];
    const names = this.mode === 'LSTM' ? ['hidden[0]', 'hidden[1]'] : ['hidden'];
    let rows: Tensor;
    let batchSizes: number[];
    let packed: PackedSequence | null = null;
    let batched = true;
    let T = 0,
      B: number;
    if (input instanceof PackedSequence) {
      packed = input;
      rows = input.data;
      if (rows.ndim !== 2) throw new RangeError(`${op}: packed input data must have 2 dimensions, got size ${fmt(rows._shape)}`);
      if (hx && hx.some((h) => h.ndim !== 3)) {
        throw new RangeError(`${op}: for packed input, hx must be 3-D, got size ${hx.map((h) => fmt(h._shape)).join(' and ')}`);
      }
      batchSizes = stepsOf(input).batchSizes;
      if (batchSizes.length === 0) throw new RangeError(`${op}: Expected sequence length to be larger than 0 in RNN, got no steps`);
      B = batchSizes[0];
      if (hx && input.sortedIndices) hx = hx.map((h) => h.indexSelect(1, input.sortedIndices as Tensor));
    } else {
      checkTensor(op, 'input', input);
      if (input.ndim !== 2 && input.ndim !== 3) {
        throw new RangeError(
          `${op}: input must have 3 dimensions ([seq, batch, feature]${this.batchFirst ? ' with batchFirst: [batch, seq, feature]' : ''}) ` +
            `or 2 for unbatched input, got size ${fmt(input._shape)}`,
        );
      }
      batched = input.ndim === 3;
      const want = batched ? 3 : 2;
      if (hx && hx.some((h) => h.ndim !== want)) {
        const what = hx.length === 1 ? 'hx' : 'hx and cx';
        const dims = hx.map((h) => `${h.ndim}-D`).join(', ');
        throw new RangeError(
          `${op}: For ${batched ? 'batched 3-D' : 'unbatched 2-D'} input, ${what} should also be ${want}-D but got ` +
            `${hx.length === 1 ? dims : `(${dims})`} tensor${hx.length === 1 ? '' : 's'} (${hx.map((h) => fmt(h._shape)).join(', ')})`,
        );
      }
      let x = input;
      if (!batched) {
        x = x.unsqueeze(this.batchFirst ? 0 : 1);
        if (hx) hx = hx.map((h) => h.unsqueeze(1));
      }
      if (this.batchFirst) x = x.transpose(0, 1);
      [T, B] = x._shape;
      if (T === 0)
        throw new RangeError(`${op}: Expected sequence length to be larger than 0 in RNN, got input of size ${fmt(input._shape)}`);
      rows = x.reshape([T * B, x._shape[2]]);
      batchSizes = new Array<number>(T).fill(B);
    }
    const inputShape = packed ? rows._shape : (input as Tensor)._shape;
    if (rows._shape[rows.ndim - 1] !== this.inputSize) {
      throw new RangeError(
        `${op}: input.size(-1) must be equal to input_size. Expected ${this.inputSize}, got ${rows._shape[rows.ndim - 1]} ` +
          `(input of size ${fmt(inputShape)})`,
      );
    }
    const n = this.numLayers * dirs;
    let state: Tensor[];
    if (hx) {
      hx.forEach((h, k) => {
        const want = [n, B, features[k]];
        if (h._shape.join() !== want.join()) {
          throw new RangeError(`${op}: Expected ${names[k]} size ${fmt(want)}, got ${fmt(h._shape)} (input of size ${fmt(inputShape)})`);
        }
      });
      state = hx;
    } else {
      state = features.map((f) => zeros([n, B, f], { dtype: rows.dtype, device: rows.device }));
    }
    checkDTypes(op, rows, this._layerParams(0, 0).wIh, state);

    const step = STEPS[this.mode];
    const finals: Tensor[][] = features.map(() => []);
    let x = rows;
    for (let layer = 0; layer < this.numLayers; layer++) {
      if (layer > 0 && this.dropout > 0 && this.training) x = dropoutFn(x, this.dropout, true);
      const outs: Tensor[] = [];
      for (let dir = 0; dir < dirs; dir++) {
        const p = this._layerParams(layer, dir);
        const k = layer * dirs + dir;
        // Note [One node per LSTM sequence] (lib/ops/rnn.ts): an LSTM
        // without projection over full batches on the CPU runs each
        // direction's recurrence as one op (an empty batch keeps the steps).
        if (this.mode === 'LSTM' && !p.wHr && x.device === 'cpu' && B > 0 && batchSizes.every((b) => b === B)) {
          const steps = batchSizes.length;
          const bias = p.bIh && p.bHh ? p.bIh.add(p.bHh) : (p.bIh ?? p.bHh);
          const y = lstmLayer(linear(x, p.wIh, bias), state[0].select(0, k), state[1].select(0, k), p.wHh, dir === 1);
          outs.push(y.narrow(0, dir === 1 ? 0 : 1, steps).view([steps * B, this.hiddenSize]));
          finals[0].push(y.select(0, dir === 1 ? 0 : steps));
          finals[1].push(y.select(0, steps + 1));
          continue;
        }
        const wHrT = p.wHr ? p.wHr.t() : null;
        let xg = linear(x, p.wIh, p.bIh);
        let w: StepWeights = { wHhT: p.wHh.t(), bHh: p.bHh, wHrT };
        // Note [One GEMM for W_hh] (lib/ops/rnn.ts): an LSTM takes W_hh's
        // and b_hh's gradients from the gates' gradient of the whole
        // sequence at once, not step by step.
        let seen: HiddenInputs | null = null;
        if (this.mode === 'LSTM' && isGradEnabled() && (p.wHh.requiresGrad || (p.bHh?.requiresGrad ?? false))) {
          seen = new HiddenInputs();
          xg = lstmHiddenWeights(xg, p.wHh, p.bHh, seen);
          w = { ...w, wHh: p.wHh };
        }
        const states = seen ? new Array<Tensor>(batchSizes.length) : null;
        const r = runDirection(
          step,
          xg,
          batchSizes,
          state.map((s) => s.select(0, k)),
          w,
          dir === 1,
          states,
        );
        if (seen) seen.states = states;
        outs.push(r.out);
        r.state.forEach((s, j) => finals[j].push(s));
      }
      x = dirs === 1 ? outs[0] : cat(outs, 1);
    }
    let hN = finals.map((f) => stack(f));
    if (packed) {
      const unsorted = packed.unsortedIndices;
      if (unsorted) hN = hN.map((h) => h.indexSelect(1, unsorted));
      return [new PackedSequence(x, packed.batchSizes, packed.sortedIndices, packed.unsortedIndices), hN];
    }
    let output = x.view([T, B, dirs * out]);
    if (this.batchFirst) output = output.transpose(0, 1);
    if (!batched) {
      output = output.squeeze(this.batchFirst ? 0 : 1);
      hN = hN.map((h) => h.squeeze(1));
    }
    return [output, hN];
  }

  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (this.projSize !== 0) s += `, proj_size=${this.projSize}`;
    if (this.numLayers !== 1) s += `, num_layers=${this.numLayers}`;
    if (!this.bias) s += ', bias=False';
    if (this.batchFirst) s += ', batch_first=True';
    if (this.dropout !== 0) s += `, dropout=${pyFloat(this.dropout)}`;
    if (this.bidirectional) s += ', bidirectional=True';
    return s;
  }
}

function hxTensor(op: string, hx: unknown): Tensor[] | null {
  if (hx === null || hx === undefined) return null;
  checkTensor(op, 'hx', hx);
  return [hx];
}

// model(x) with forward's overloads: Module's call signature, typed from
// forward through Parameters/ReturnType, would see only the last one.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface RNN {
  (input: Tensor, hx?: HxArg<Tensor>): [Tensor, Tensor];
  (input: PackedSequence, hx?: HxArg<Tensor>): [PackedSequence, Tensor];
}

/**
 * nn.RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False, dropout=0.0,
 * bidirectional=False, *, dtype=None): an Elman RNN, h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh) (relu
 * with nonlinearity 'relu'), stacked numLayers deep. forward(input, hx = null) takes input [seq, batch,
 * inputSize] ([batch, seq, inputSize] with batchFirst), unbatched [seq, inputSize], or a PackedSequence, and hx
 * [numLayers * dirs, batch, hiddenSize] (zeros when null); it returns [output, hN], output holding the last
 * layer's h_t of every step ([seq, batch, dirs * hiddenSize], or packed as the input was). Parameters are named
 * and initialised as PyTorch's (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._reverse). RNN, LSTM and
 * GRU also have PyTorch's resetParameters(), allWeights and flattenParameters() (which does nothing here).
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class RNN extends RNNBase {
  /** 'tanh' or 'relu'. */
  readonly nonlinearity: 'tanh' | 'relu';

  constructor(...args: CallArgs<typeof RNN_ARGS>) {
    refuseProjSize('RNN', args);
    const a = bindOptions('RNN', RNN_ARGS, args);
    const nl = a.nonlinearity;
    if (nl !== 'tanh' && nl !== 'relu') throw new RangeError(`RNN: Unknown nonlinearity ${fmtValue(nl)} (expected 'tanh' or 'relu')`);
    super('RNN', nl === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', { ...a, projSize: 0 });
    this.nonlinearity = nl;
  }

  /** Runs the sequence: [output, hN] (output a PackedSequence when input is one). */
  forward(input: Tensor, hx?: HxArg<Tensor>): [Tensor, Tensor];
  forward(input: PackedSequence, hx?: HxArg<Tensor>): [PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, hx?: HxArg<Tensor>): [Tensor | PackedSequence, Tensor];
  forward(...args: unknown[]): [Tensor | PackedSequence, Tensor] {
    const a = bindOptions('RNN', FORWARD, args);
    const [out, [h]] = this._forward('RNN', a.input, hxTensor('RNN', a.hx));
    return [out, h];
  }
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface LSTM {
  (input: Tensor, hx?: HxArg<[Tensor, Tensor]>): [Tensor, [Tensor, Tensor]];
  (input: PackedSequence, hx?: HxArg<[Tensor, Tensor]>): [PackedSequence, [Tensor, Tensor]];
}

/**
 * nn.LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False,
 * proj_size=0, *, dtype=None): a long short-term memory RNN, as PyTorch's (gates i, f, g, o; c' = f c + i g;
 * h' = o tanh(c'), projected by weight_hr when projSize > 0). forward(input, hx = null) takes input as nn.RNN
 * does and hx as an array [h0, c0] (PyTorch's tuple): h0 [numLayers * dirs, batch, projSize || hiddenSize], c0
 * [numLayers * dirs, batch, hiddenSize]; it returns [output, [hN, cN]].
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class LSTM extends RNNBase {
  constructor(...args: CallArgs<typeof LSTM_ARGS>) {
    super('LSTM', 'LSTM', bindOptions('LSTM', LSTM_ARGS, args));
  }

  /** Runs the sequence: [output, [hN, cN]] (output a PackedSequence when input is one). */
  forward(input: Tensor, hx?: HxArg<[Tensor, Tensor]>): [Tensor, [Tensor, Tensor]];
  forward(input: PackedSequence, hx?: HxArg<[Tensor, Tensor]>): [PackedSequence, [Tensor, Tensor]];
  forward(input: Tensor | PackedSequence, hx?: HxArg<[Tensor, Tensor]>): [Tensor | PackedSequence, [Tensor, Tensor]];
  forward(...args: unknown[]): [Tensor | PackedSequence, [Tensor, Tensor]] {
    const a = bindOptions('LSTM', FORWARD, args);
    let hx: Tensor[] | null = null;
    if (a.hx !== null && a.hx !== undefined) {
      const v = a.hx;
      if (!Array.isArray(v) || v.length !== 2 || !(v[0] instanceof Tensor) || !(v[1] instanceof Tensor)) {
        throw new TypeError(`LSTM: hx must be an array [h0, c0] of two Tensors, got ${fmtValue(v)}`);
      }
      hx = [v[0], v[1]];
    }
    const [out, [h, c]] = this._forward('LSTM', a.input, hx);
    return [out, [h, c]];
  }
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface GRU {
  (input: Tensor, hx?: HxArg<Tensor>): [Tensor, Tensor];
  (input: PackedSequence, hx?: HxArg<Tensor>): [PackedSequence, Tensor];
}

/**
 * nn.GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False,
 * *, dtype=None): a gated recurrent unit RNN, as PyTorch's (gates r, z, n; n = tanh(x W_inᵀ + b_in + r (h W_hnᵀ +
 * b_hn)); h' = (1 - z) n + z h). forward(input, hx = null) takes and returns what nn.RNN's does.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class GRU extends RNNBase {
  constructor(...args: CallArgs<typeof GRU_ARGS>) {
    refuseProjSize('GRU', args);
    super('GRU', 'GRU', { ...bindOptions('GRU', GRU_ARGS, args), projSize: 0 });
  }

  /** Runs the sequence: [output, hN] (output a PackedSequence when input is one). */
  forward(input: Tensor, hx?: HxArg<Tensor>): [Tensor, Tensor];
  forward(input: PackedSequence, hx?: HxArg<Tensor>): [PackedSequence, Tensor];
  forward(input: Tensor | PackedSequence, hx?: HxArg<Tensor>): [Tensor | PackedSequence, Tensor];
  forward(...args: unknown[]): [Tensor | PackedSequence, Tensor] {
    const a = bindOptions('GRU', FORWARD, args);
    const [out, [h]] = this._forward('GRU', a.input, hxTensor('GRU', a.hx));
    return [out, h];
  }
}

// ---- the Cells ------------------------------------------------------------------------------------------

/** RNNCell(input_size, hidden_size, bias=True, nonlinearity='tanh', *, dtype=None). */
const RNN_CELL_ARGS = [
  inputSizeP,
  hiddenSizeP,
  biasP,
  late(param.custom('nonlinearity', "'tanh'|'relu'", as<'tanh' | 'relu'>, 'tanh')),
  dtypeParam,
] as const;

/** LSTMCell / GRUCell(input_size, hidden_size, bias=True, *, dtype=None). */
const CELL_ARGS = [inputSizeP, hiddenSizeP, biasP, dtypeParam] as const;

/** The base of nn.RNNCell, nn.LSTMCell and nn.GRUCell (PyTorch's RNNCellBase): one step's parameters and checks. */
export abstract class RNNCellBase extends Module {
  /** Features of the input. */
  readonly inputSize: number;
  /** Features of the hidden state. */
  readonly hiddenSize: number;
  /** Whether the cell has the biases b_ih and b_hh. */
  readonly bias: boolean;
  /** [gates * hiddenSize, inputSize]. */
  weight_ih: Parameter;
  /** [gates * hiddenSize, hiddenSize]. */
  weight_hh: Parameter;
  /** [gates * hiddenSize], or null without bias. */
  bias_ih: Parameter | null;
  /** [gates * hiddenSize], or null without bias. */
  bias_hh: Parameter | null;

  /** @internal */
  protected constructor(op: string, gates: number, a: { inputSize?: unknown; hiddenSize?: unknown; bias?: unknown; dtype?: unknown }) {
    super();
    checkSize(op, 'inputSize', a.inputSize);
    checkSize(op, 'hiddenSize', a.hiddenSize, 1);
    checkBool(op, 'bias', a.bias);
    const dtype = paramDType(op, a.dtype as never);
    this.inputSize = a.inputSize;
    this.hiddenSize = a.hiddenSize;
    this.bias = a.bias;
    const g = gates * this.hiddenSize;
    this.weight_ih = new Parameter(empty([g, this.inputSize], { dtype }));
    this.weight_hh = new Parameter(empty([g, this.hiddenSize], { dtype }));
    this.bias_ih = a.bias ? new Parameter(empty([g], { dtype })) : null;
    this.bias_hh = a.bias ? new Parameter(empty([g], { dtype })) : null;
    this.resetParameters();
  }

  /** Refills every parameter from U(-1/√hiddenSize, 1/√hiddenSize), as PyTorch's reset_parameters. */
  resetParameters(): void {
    const bound = 1 / Math.sqrt(this.hiddenSize);
    for (const w of this.parameters()) init.uniform_(w, -bound, bound);
  }

  /**
   * @internal Checks input ([batch, inputSize] or unbatched [inputSize]) and the states (`labels` name them as
   * PyTorch does: '' or '[0]', '[1]'), makes zeros for missing ones, and runs `step` on the batched forms.
   */
  _cell(op: string, input: unknown, hx: Tensor[] | null, labels: string[], step: (xg: Tensor, h: Tensor[], w: StepWeights) => Tensor[]) {
    checkTensor(op, 'input', input);
    if (input.ndim !== 1 && input.ndim !== 2) {
      throw new RangeError(`${op}: Expected input to be 1-D or 2-D but received ${input.ndim}-D tensor (size ${fmt(input._shape)})`);
    }
    const batched = input.ndim === 2;
    const x = batched ? input : input.unsqueeze(0);
    if (x._shape[1] !== this.inputSize) {
      throw new RangeError(
        `${op}: input has inconsistent input_size: got ${x._shape[1]} expected ${this.inputSize} (input of size ${fmt(input._shape)})`,
      );
    }
    const B = x._shape[0];
    let state: Tensor[];
    if (hx) {
      state = hx.map((h, k) => {
        if (h.ndim !== input.ndim) {
          throw new RangeError(
            `${op}: for ${batched ? 'batched 2-D' : 'unbatched 1-D'} input, hidden${labels[k]} should also be ${input.ndim}-D ` +
              `but got ${h.ndim}-D tensor (size ${fmt(h._shape)})`,
          );
        }
        const hb = batched ? h : h.unsqueeze(0);
        if (hb._shape[0] !== B) {
          throw new RangeError(`${op}: Input batch size ${B} doesn't match hidden${labels[k]} batch size ${hb._shape[0]}`);
        }
        if (hb._shape[1] !== this.hiddenSize) {
          throw new RangeError(`${op}: hidden${labels[k]} has inconsistent hidden_size: got ${hb._shape[1]}, expected ${this.hiddenSize}`);
        }
        return hb;
      });
    } else {
      const z = zeros([B, this.hiddenSize], { dtype: x.dtype, device: x.device });
      state = labels.map(() => z);
    }
    checkDTypes(op, x, this.weight_ih, state);
    const w: StepWeights = { wHhT: this.weight_hh.t(), bHh: this.bias_hh, wHrT: null };
    const out = step(linear(x, this.weight_ih, this.bias_ih), state, w);
    return batched ? out : out.map((t) => t.squeeze(0));
  }

  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}${this.bias ? '' : ', bias=False'}`;
  }
}

/**
 * nn.RNNCell(input_size, hidden_size, bias=True, nonlinearity='tanh', *, dtype=None): one step of an Elman RNN,
 * h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or relu). forward(input, hx = null): input [batch, inputSize] or
 * unbatched [inputSize], hx the same with hiddenSize (zeros when null); returns h'.
 */
export class RNNCell extends RNNCellBase {
  /** 'tanh' or 'relu'. */
  readonly nonlinearity: 'tanh' | 'relu';

  constructor(...args: CallArgs<typeof RNN_CELL_ARGS>) {
    const a = bindOptions('RNNCell', RNN_CELL_ARGS, args);
    const nl = a.nonlinearity;
    if (nl !== 'tanh' && nl !== 'relu') throw new RangeError(`RNNCell: Unknown nonlinearity ${fmtValue(nl)} (expected 'tanh' or 'relu')`);
    super('RNNCell', 1, a);
    this.nonlinearity = nl;
  }

  /** One step: h'. */
  forward(input: Tensor, hx?: HxArg<Tensor>): Tensor;
  forward(...args: unknown[]): Tensor {
    const a = bindOptions('RNNCell', FORWARD, args);
    const f = this.nonlinearity === 'tanh' ? rnnTanhStep : rnnReluStep;
    return this._cell('RNNCell', a.input, hxTensor('RNNCell', a.hx), [''], (xg, [h], w) => [f(xg, h, w)])[0];
  }

  override extraRepr(): string {
    return super.extraRepr() + (this.nonlinearity === 'tanh' ? '' : `, nonlinearity=${this.nonlinearity}`);
  }
}

/**
 * nn.LSTMCell(input_size, hidden_size, bias=True, *, dtype=None): one LSTM step. forward(input, hx = null): input
 * [batch, inputSize] or unbatched [inputSize], hx an array [h, c] (PyTorch's tuple) of that batch and
 * hiddenSize (zeros when null); returns [h', c'].
 */
export class LSTMCell extends RNNCellBase {
  constructor(...args: CallArgs<typeof CELL_ARGS>) {
    super('LSTMCell', 4, bindOptions('LSTMCell', CELL_ARGS, args));
  }

  /** One step: [h', c']. */
  forward(input: Tensor, hx?: HxArg<[Tensor, Tensor]>): [Tensor, Tensor];
  forward(...args: unknown[]): [Tensor, Tensor] {
    const a = bindOptions('LSTMCell', FORWARD, args);
    let hx: Tensor[] | null = null;
    if (a.hx !== null && a.hx !== undefined) {
      const v = a.hx;
      if (!Array.isArray(v) || v.length !== 2 || !(v[0] instanceof Tensor) || !(v[1] instanceof Tensor)) {
        throw new TypeError(`LSTMCell: hx must be an array [h, c] of two Tensors, got ${fmtValue(v)}`);
      }
      hx = [v[0], v[1]];
    }
    const [h, c] = this._cell('LSTMCell', a.input, hx, ['[0]', '[1]'], (xg, [h0, c0], w) => lstmStep(xg, h0, c0, w));
    return [h, c];
  }
}

/**
 * nn.GRUCell(input_size, hidden_size, bias=True, *, dtype=None): one GRU step. forward(input, hx = null): input
 * [batch, inputSize] or unbatched [inputSize], hx the same with hiddenSize (zeros when null); returns h'.
 */
export class GRUCell extends RNNCellBase {
  constructor(...args: CallArgs<typeof CELL_ARGS>) {
    super('GRUCell', 3, bindOptions('GRUCell', CELL_ARGS, args));
  }

  /** One step: h'. */
  forward(input: Tensor, hx?: HxArg<Tensor>): Tensor;
  forward(...args: unknown[]): Tensor {
    const a = bindOptions('GRUCell', FORWARD, args);
    return this._cell('GRUCell', a.input, hxTensor('GRUCell', a.hx), [''], (xg, [h], w) => [gruStep(xg, h, w)])[0];
  }
}
