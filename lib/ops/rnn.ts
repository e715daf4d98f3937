// The fused recurrent cells: the pointwise part of one LSTM or GRU step in
// one native kernel (native/cpu/rnn.cc, native/cuda/rnn.cu), as PyTorch's
// _thnn_fused_lstm_cell and _thnn_fused_gru_cell. The layers (lib/nn/layers/
// rnn.ts) compute the gates' two shares with matrix products, the input's
// for a whole sequence at once and the hidden state's per step, and hand
// both to these.
//
// Note [Fused cells]: the first-order backward is one kernel pass over the
// workspace the forward kept (`fused`, Note [Fused backward]). Under
// createGraph the gradients are rebuilt from the saved inputs with
// differentiable ops, as PyTorch's _thnn_differentiable_*_cell_backward, so
// second derivatives exist. The LSTM cell has two results, h' and c'; an op
// returns one tensor, so it returns them stacked, [2, B, H], and the layer
// unbinds them (one node, Note [Multi-output nodes]).
import type { Tensor } from '../tensor.js';
import { define, op, tensorParam as T } from './op.js';
import * as K from './kernels.js';
import { cat } from './join.js';
import { addmm } from './matmul.js';
import { param as p, as } from '../util/args.js';
import { native, makeRef, type Ref } from '../backend/native.js';

/** Row-major refs of a contiguous tensor's memory, `at` elements in, with `shape`. */
function refAt(t: Tensor, at: number, shape: readonly number[]): Ref {
  return makeRef(t._storage.data, t._offset + at, shape, K.contiguousStrides(shape));
}

/**
 * The declared gradients of one node run one after another with the same
 * incoming gradient; this computes the shared work once per gradient.
 */
function once<S extends object, R>(f: (g: Tensor, s: S) => R): (g: Tensor, s: S) => R {
  const memo = new WeakMap<S, { g: Tensor; r: R }>();
  return (g, s) => {
    const m = memo.get(s);
    if (m && m.g === g) return m.r;
    const r = f(g, s);
    memo.set(s, { g, r });
    return r;
  };
}

/** Checks the gates and state of a cell: state [B, H], both gates [B, gates * H], one float dtype and device. */
function checkCell(op: string, gates: number, ig: Tensor, hg: Tensor, state: Tensor, stateName: string): void {
  if (state.ndim !== 2) throw new RangeError(`${op}: ${stateName} must be 2-D [batch, hidden], got shape ${K.fmtShape(state._shape)}`);
  const [B, H] = state._shape;
  for (const [name, t] of [
    ['inputGates', ig],
    ['hiddenGates', hg],
  ] as const) {
    if (t.ndim !== 2 || t._shape[0] !== B || t._shape[1] !== gates * H) {
      throw new RangeError(
        `${op}: ${name} must have shape [${B}, ${gates * H}] (${gates} gates of ${stateName} ${K.fmtShape(state._shape)}), got ${K.fmtShape(t._shape)}`,
      );
    }
    if (t.dtype !== state.dtype) throw new TypeError(`${op}: ${name} has dtype ${t.dtype} but ${stateName} has ${state.dtype}`);
  }
  if (state.dtype !== 'float32' && state.dtype !== 'float64') throw new TypeError(`${op}: expected float32 or float64, got ${state.dtype}`);
  K.sameDeviceAll(op, [ig, hg, state]);
}

// ---- LSTM --------------------------------------------------------------------------------

interface LstmSaved {
  ig: Tensor;
  hg: Tensor;
  cx: Tensor;
  /** [2, B, H]: h' then c'. */
  out: Tensor;
  /** The activated gates i, f, g, o [B, 4H]. */
  ws: Tensor;
}

/**
 * One LSTM step from its gate pre-activations: inputGates + hiddenGates [B, 4H] (gates i, f, g, o), cx [B, H];
 * returns h' and c' stacked, [2, B, H].
 */
export const lstmCell = op(
  'lstmCell',
  [T.tensor('inputGates'), T.tensor('hiddenGates'), T.tensor('cx')],
  "one fused LSTM step from its gates' two shares: [h', c'] stacked, [2, batch, hidden]",
);

/** The gradients of lstmCell's gate inputs and cx, written with ops (differentiable again). */
const lstmCellGrads = once((g: Tensor, s: LstmSaved): { gates: Tensor; cx: Tensor } => {
  const [gh, gc] = g.unbind(0);
  const [gi, gf, gg, go] = s.hg.add(s.ig).chunk(4, 1);
  const i = gi.sigmoid(),
    f = gf.sigmoid(),
    c = gg.tanh(),
    o = go.sigmoid();
  const tcy = f.mul(s.cx).add(i.mul(c)).tanh();
  const dc = gc.add(gh.mul(o).mul(tcy.square().neg().add(1)));
  const dI = dc.mul(c).mul(i.mul(i.neg().add(1)));
  const dF = dc.mul(s.cx).mul(f.mul(f.neg().add(1)));
  const dG = dc.mul(i).mul(c.square().neg().add(1));
  const dO = gh.mul(tcy).mul(o.mul(o.neg().add(1)));
  return { gates: cat([dI, dF, dG, dO], 1), cx: dc.mul(f) };
});

define(lstmCell, {
  node: 'ThnnFusedLstmCellBackward0',
  forward: ({ inputGates, hiddenGates, cx }) => {
    checkCell('lstmCell', 4, inputGates, hiddenGates, cx, 'cx');
    const [B, H] = cx._shape;
    const ig = K.contiguous(inputGates),
      hg = K.contiguous(hiddenGates),
      c0 = K.contiguous(cx);
    const out = K.output([2, B, H], cx.dtype, 'lstmCell', cx.device);
    const ws = K.output([B, 4 * H], cx.dtype, 'lstmCell', cx.device);
    native.lstmCell(ig._ref(), hg._ref(), c0._ref(), refAt(out, 0, [B, H]), refAt(out, B * H, [B, H]), ws._ref());
    return { out, save: { ig: inputGates, hg: hiddenGates, cx, out, ws } satisfies LstmSaved };
  },
  grads: {
    inputGates: (g, s) => lstmCellGrads(g, s).gates,
    hiddenGates: (g, s) => lstmCellGrads(g, s).gates,
    cx: (g, s) => lstmCellGrads(g, s).cx,
  },
  fused: (g, s, needs) => {
    const [, B, H] = s.out._shape;
    const gc = K.contiguous(g);
    const dGates = K.output([B, 4 * H], g.dtype, 'lstmCell', g.device);
    const dCx = needs.cx ? K.output([B, H], g.dtype, 'lstmCell', g.device) : null;
    native.lstmCellBackward(
      refAt(gc, 0, [B, H]),
      refAt(gc, B * H, [B, H]),
      K.contiguous(s.cx)._ref(),
      refAt(s.out, B * H, [B, H]),
      s.ws._ref(),
      dGates._ref(),
      dCx ? dCx._ref() : null,
    );
    return { inputGates: dGates, hiddenGates: dGates, cx: dCx };
  },
});

// ---- GRU ---------------------------------------------------------------------------------

interface GruSaved {
  ig: Tensor;
  hg: Tensor;
  hx: Tensor;
  /** r, z, n and the hidden share of n's pre-activation [B, 4H]. */
  ws: Tensor;
}

/** One GRU step from its gate pre-activations: inputGates, hiddenGates [B, 3H] (gates r, z, n), hx [B, H]; returns h'. */
export const gruCell = op(
  'gruCell',
  [T.tensor('inputGates'), T.tensor('hiddenGates'), T.tensor('hx')],
  "one fused GRU step from its gates' two shares: h' [batch, hidden]",
);

/** The gradients of gruCell's inputs, written with ops (differentiable again). */
const gruCellGrads = once((g: Tensor, s: GruSaved): { ig: Tensor; hg: Tensor; hx: Tensor } => {
  const [xr, xz, xn] = s.ig.chunk(3, 1);
  const [hr, hz, hn] = s.hg.chunk(3, 1);
  const r = hr.add(xr).sigmoid();
  const z = hz.add(xz).sigmoid();
  const n = xn.add(hn.mul(r)).tanh();
  const dn = g.mul(z.neg().add(1)).mul(n.square().neg().add(1));
  const dz = g.mul(s.hx.sub(n)).mul(z.mul(z.neg().add(1)));
  const dr = dn.mul(hn).mul(r.mul(r.neg().add(1)));
  return { ig: cat([dr, dz, dn], 1), hg: cat([dr, dz, dn.mul(r)], 1), hx: g.mul(z) };
});

define(gruCell, {
  node: 'ThnnFusedGruCellBackward0',
  forward: ({ inputGates, hiddenGates, hx }) => {
    checkCell('gruCell', 3, inputGates, hiddenGates, hx, 'hx');
    const [B, H] = hx._shape;
    const ig = K.contiguous(inputGates),
      hg = K.contiguous(hiddenGates),
      h0 = K.contiguous(hx);
    const out = K.output([B, H], hx.dtype, 'gruCell', hx.device);
    const ws = K.output([B, 4 * H], hx.dtype, 'gruCell', hx.device);
    native.gruCell(ig._ref(), hg._ref(), h0._ref(), out._ref(), ws._ref());
    return { out, save: { ig: inputGates, hg: hiddenGates, hx, ws } satisfies GruSaved };
  },
  grads: {
    inputGates: (g, s) => gruCellGrads(g, s).ig,
    hiddenGates: (g, s) => gruCellGrads(g, s).hg,
    hx: (g, s) => gruCellGrads(g, s).hx,
  },
  fused: (g, s, needs) => {
    const [B, H] = s.hx._shape;
    const dI = K.output([B, 3 * H], g.dtype, 'gruCell', g.device);
    const dH = K.output([B, 3 * H], g.dtype, 'gruCell', g.device);
    const dHx = needs.hx ? K.output([B, H], g.dtype, 'gruCell', g.device) : null;
    native.gruCellBackward(K.contiguous(g)._ref(), K.contiguous(s.hx)._ref(), s.ws._ref(), dI._ref(), dH._ref(), dHx ? dHx._ref() : null);
    return { inputGates: dI, hiddenGates: dH, hx: dHx };
  },
});

// ---- the hidden weights' gradient of a whole LSTM sequence -------------------------------------

/**
 * @internal The hidden states each step of a sequence read, filled in by the layer once it has run. A class,
 * not a plain object, which the argument binder would read as an options object.
 */
export class HiddenInputs {
  /** Step t's h, [rows of step t, hidden], in step order; null until the sequence has run. */
  states: Tensor[] | null = null;
}

interface HiddenSaved {
  seen: HiddenInputs;
}

/**
 * Note [One GEMM for W_hh]: an LSTM step's gates are x W_ihᵀ + b_ih + h W_hhᵀ
 * + b_hh, and the gradient of its two shares is the same tensor. So the
 * gradient of W_hh over a whole sequence is dGatesᵀ H, where dGates is the
 * gradient of the input's share for every step (the rows of one tensor) and
 * H holds the h each step read: one GEMM after the recurrence, as cuDNN
 * does, where a product per step would cost T small GEMMs and T sums of
 * W_hh-sized gradients. Two ops make it, used together by the LSTM layer:
 * - lstmHiddenGates, each step's h W_hhᵀ + b_hh, whose first-order (fused)
 *   backward gives h's gradient only;
 * - lstmHiddenWeights, the identity on the input's share of the gates for
 *   the whole sequence, whose first-order backward adds W_hh's and b_hh's
 *   gradients from that share's gradient and the states the steps read.
 *   Those states are known only after the loop; the layer fills `seen`
 *   then, before any backward can run.
 * Under createGraph (the declared `grads`) it is the other way round: each
 * step's product gives W_hh's and b_hh's gradients with ops, the
 * sequence's op none, so second derivatives follow the plain composition.
 * Each op alone leaves out gradients the other gives; only the pair is
 * complete, hence @internal.
 */
export const lstmHiddenGates = op(
  'lstmHiddenGates',
  [T.tensor('hx'), T.tensor('weightHh'), T.optTensor('biasHh')],
  "one LSTM step's hidden share of the gates, h W_hhᵀ + b_hh (Note [One GEMM for W_hh])",
);

interface HiddenGatesSaved {
  hx: Tensor;
  w: Tensor;
}

define(lstmHiddenGates, {
  node: 'LstmHiddenGatesBackward',
  forward: ({ hx, weightHh, biasHh }) => ({
    out: biasHh ? addmm(biasHh, hx, weightHh.t()) : hx.matmul(weightHh.t()),
    save: { hx, w: weightHh } satisfies HiddenGatesSaved,
  }),
  grads: {
    hx: (g, s) => g.matmul(s.w),
    weightHh: (g, s) => g.t().matmul(s.hx),
    biasHh: (g) => g.sum(0),
  },
  // W_hh's and b_hh's gradients come from lstmHiddenWeights, for all steps at once.
  fused: (g, s, needs) => ({ hx: needs.hx ? g.matmul(s.w) : null }),
});

/** The input's share of an LSTM's gates, passed through; see Note [One GEMM for W_hh]. */
export const lstmHiddenWeights = op(
  'lstmHiddenWeights',
  [T.tensor('inputGates'), T.tensor('weightHh'), T.optTensor('biasHh'), p.custom('seen', 'HiddenInputs', as<HiddenInputs>)],
  "the input's share of an LSTM's gates, passed through; backward adds W_hh's and b_hh's gradients for the whole sequence",
);

function seenStates(s: HiddenSaved): Tensor {
  const st = s.seen.states;
  if (st === null) throw new Error('lstmHiddenWeights: internal error: backward ran before the sequence recorded its states');
  return st.length === 1 ? st[0] : cat(st);
}

define(lstmHiddenWeights, {
  node: 'LstmHiddenWeightsBackward',
  forward: ({ inputGates, seen }) => ({ out: inputGates, save: { seen } satisfies HiddenSaved }),
  // Under createGraph each step's lstmHiddenGates gives W_hh's and b_hh's gradients.
  grads: {
    inputGates: (g) => g,
    weightHh: () => null,
    biasHh: () => null,
  },
  fused: (g, s, needs) => ({
    inputGates: g,
    weightHh: needs.weightHh ? g.t().matmul(seenStates(s)) : null,
    biasHh: needs.biasHh ? g.sum(0) : null,
  }),
});

// ---- a whole LSTM sequence in one node -------------------------------------------------------

/**
 * Note [One node per LSTM sequence]: a layer that runs its steps as ops
 * records about ten nodes and allocates a handful of tensors per step
 * (the hidden share of the gates, the cell's workspace and results), forward
 * and backward: for a [64, 32, 256] batch that is about 40 MB of short-lived
 * buffers per layer and step of training that only the GC frees, and the
 * engine's bookkeeping for over a thousand nodes. PyTorch runs the loop in
 * C++. lstmLayer runs the whole recurrence of one direction of a layer as
 * one node: each step is one GEMM (h W_hhᵀ, into one scratch buffer) and the
 * fused cell, writing into blocks made once per sequence ([T + 2, B, H] for
 * the h's, [T + 1, B, H] for the c's, [T, B, 4H] for the workspace). Its
 * first-order backward runs the recurrence back the same way, each step's
 * gate gradient written into its rows of one [T B, 4H] tensor, and W_hh's
 * gradient is one GEMM over the whole sequence (Note [One GEMM for W_hh]).
 * The gates' input share comes in with both biases already added, so b_hh
 * needs no gradient of its own here (the layer adds b_ih + b_hh before the
 * input's product, and autograd gives that sum's gradient to both).
 *
 * The result Y [T + 2, B, H] holds, in time order, the h every step read or
 * wrote, then the final c: going forward Y[0] is hx and Y[t + 1] step t's h;
 * going in reverse Y[t] is step t's h and Y[T] is hx. So the output is T
 * consecutive rows, the final h one of them, and the h's the steps read are
 * the T consecutive rows W_hh's gradient needs. Under createGraph the
 * gradients are built with ops from the saved inputs (recomputing the
 * forward), differentiable again.
 */
export const lstmLayer = op(
  'lstmLayer',
  [T.tensor('inputGates'), T.tensor('hx'), T.tensor('cx'), T.tensor('weightHh'), p.bool('reverse', false)],
  'one direction of an LSTM layer over a full batch of T steps: [h0 or hs..., c_T] as [T + 2, batch, hidden] (Note [One node per LSTM sequence])',
);

interface LayerSaved {
  xg: Tensor;
  hx: Tensor;
  cx: Tensor;
  w: Tensor;
  /** [T + 2, B, H], the result. */
  y: Tensor;
  /** [T + 1, B, H]: cx and every step's c, in time order as y. */
  c: Tensor;
  /** [T, B, 4H]: each step's activated gates. */
  ws: Tensor;
  reverse: boolean;
}

/** Slots of y (and c) for step t: the state it reads and the one it writes. */
function slots(t: number, T: number, reverse: boolean): { prev: number; cur: number; init: number } {
  return reverse ? { prev: t + 1, cur: t, init: T } : { prev: t, cur: t + 1, init: 0 };
}

function checkLayer(xg: Tensor, hx: Tensor, cx: Tensor, w: Tensor): { T: number; B: number; H: number } {
  const op = 'lstmLayer';
  if (hx.ndim !== 2) throw new RangeError(`${op}: hx must be 2-D [batch, hidden], got shape ${K.fmtShape(hx._shape)}`);
  const [B, H] = hx._shape;
  if (cx._shape.join() !== hx._shape.join())
    throw new RangeError(`${op}: cx must have hx's shape ${K.fmtShape(hx._shape)}, got ${K.fmtShape(cx._shape)}`);
  if (w.ndim !== 2 || w._shape[0] !== 4 * H || w._shape[1] !== H) {
    throw new RangeError(`${op}: weightHh must have shape [${4 * H}, ${H}] (hx ${K.fmtShape(hx._shape)}), got ${K.fmtShape(w._shape)}`);
  }
  if (xg.ndim !== 2 || xg._shape[1] !== 4 * H || B === 0 || xg._shape[0] % B !== 0 || xg._shape[0] === 0) {
    throw new RangeError(
      `${op}: inputGates must have shape [steps * ${B}, ${4 * H}] (hx ${K.fmtShape(hx._shape)}), got ${K.fmtShape(xg._shape)}`,
    );
  }
  for (const [name, t] of [
    ['inputGates', xg],
    ['cx', cx],
    ['weightHh', w],
  ] as const) {
    if (t.dtype !== hx.dtype) throw new TypeError(`${op}: ${name} has dtype ${t.dtype} but hx has ${hx.dtype}`);
  }
  if (hx.dtype !== 'float32' && hx.dtype !== 'float64') throw new TypeError(`${op}: expected float32 or float64, got ${hx.dtype}`);
  K.sameDeviceAll(op, [xg, hx, cx, w]);
  if (hx.device !== 'cpu') throw new TypeError(`${op}: CPU tensors only, got ${hx.device}`);
  return { T: xg._shape[0] / B, B, H };
}

/** The gradients of lstmLayer's inputs, written with ops: the forward recomputed, then back through time (differentiable again). */
const lstmLayerGrads = once((g: Tensor, s: LayerSaved): { xg: Tensor; hx: Tensor; cx: Tensor; w: Tensor } => {
  const B = s.hx._shape[0];
  const T = s.xg._shape[0] / B;
  const xs = s.xg.split(B, 0);
  const order = Array.from({ length: T }, (_, k) => (s.reverse ? T - 1 - k : k));
  const wT = s.w.t();
  const hPrev: Tensor[] = new Array(T),
    cPrev: Tensor[] = new Array(T),
    cs: Tensor[] = new Array(T),
    acts: Tensor[][] = new Array(T);
  let h = s.hx,
    c = s.cx;
  for (const t of order) {
    hPrev[t] = h;
    cPrev[t] = c;
    const [gi, gf, gg, go] = h.matmul(wT).add(xs[t]).chunk(4, 1);
    const i = gi.sigmoid(),
      f = gf.sigmoid(),
      gc = gg.tanh(),
      o = go.sigmoid();
    c = f.mul(c).add(i.mul(gc));
    h = o.mul(c.tanh());
    cs[t] = c;
    acts[t] = [i, f, gc, o];
  }
  const dGates: Tensor[] = new Array(T);
  let dh: Tensor | null = null;
  let dc = g.select(0, T + 1);
  let dW: Tensor | null = null;
  for (let k = T - 1; k >= 0; k--) {
    const t = order[k];
    const [i, f, gc, o] = acts[t];
    const gh = g.select(0, slots(t, T, s.reverse).cur);
    const dhT: Tensor = dh ? gh.add(dh) : gh;
    const tc = cs[t].tanh();
    const dcT = dc.add(dhT.mul(o).mul(tc.square().neg().add(1)));
    const d: Tensor = cat(
      [
        dcT.mul(gc).mul(i.mul(i.neg().add(1))),
        dcT.mul(cPrev[t]).mul(f.mul(f.neg().add(1))),
        dcT.mul(i).mul(gc.square().neg().add(1)),
        dhT.mul(tc).mul(o.mul(o.neg().add(1))),
      ],
      1,
    );
    dGates[t] = d;
    dh = d.matmul(s.w);
    dc = dcT.mul(f);
    const dWt = d.t().matmul(hPrev[t]);
    dW = dW ? dW.add(dWt) : dWt;
  }
  return { xg: cat(dGates), hx: dh!.add(g.select(0, slots(0, T, s.reverse).init)), cx: dc, w: dW! };
});

define(lstmLayer, {
  node: 'LstmLayerBackward',
  forward: ({ inputGates, hx, cx, weightHh, reverse }) => {
    const { T, B, H } = checkLayer(inputGates, hx, cx, weightHh);
    const dt = hx.dtype;
    const xg = K.contiguous(inputGates),
      w = K.contiguous(weightHh);
    const y = K.output([T + 2, B, H], dt, 'lstmLayer', 'cpu');
    const c = K.output([T + 1, B, H], dt, 'lstmLayer', 'cpu');
    const ws = K.output([T, B, 4 * H], dt, 'lstmLayer', 'cpu');
    // Each step's hidden share of the gates, overwritten step after step.
    const hg = K.output([1, B, 4 * H], dt, 'lstmLayer', 'cpu');
    const BH = B * H;
    const init = slots(0, T, reverse).init;
    native.copy(hx._ref(), refAt(y, init * BH, [B, H]));
    native.copy(cx._ref(), refAt(c, init * BH, [B, H]));
    // W_hhᵀ read in place: [1, H, 4H] with W's strides swapped.
    const wT = makeRef(w._storage.data, w._offset, [1, H, 4 * H], [4 * H * H, 1, H]);
    const hgRef = hg._ref(),
      hg2 = refAt(hg, 0, [B, 4 * H]);
    for (let k = 0; k < T; k++) {
      const t = reverse ? T - 1 - k : k;
      const { prev, cur } = slots(t, T, reverse);
      native.matmul(refAt(y, prev * BH, [1, B, H]), wT, hgRef);
      native.lstmCell(
        refAt(xg, t * 4 * BH, [B, 4 * H]),
        hg2,
        refAt(c, prev * BH, [B, H]),
        refAt(y, cur * BH, [B, H]),
        refAt(c, cur * BH, [B, H]),
        refAt(ws, t * 4 * BH, [B, 4 * H]),
      );
    }
    native.copy(refAt(c, slots(reverse ? 0 : T - 1, T, reverse).cur * BH, [B, H]), refAt(y, (T + 1) * BH, [B, H]));
    return { out: y, save: { xg: inputGates, hx, cx, w: weightHh, y, c, ws, reverse } satisfies LayerSaved };
  },
  grads: {
    inputGates: (g, s) => lstmLayerGrads(g, s).xg,
    hx: (g, s) => lstmLayerGrads(g, s).hx,
    cx: (g, s) => lstmLayerGrads(g, s).cx,
    weightHh: (g, s) => lstmLayerGrads(g, s).w,
  },
  fused: (g, s, needs) => {
    const [B, H] = s.hx._shape;
    const T = s.xg._shape[0] / B;
    const BH = B * H;
    const dt = g.dtype;
    const gc = K.contiguous(g);
    const w = K.contiguous(s.w);
    const dG = K.output([T * B, 4 * H], dt, 'lstmLayer', 'cpu');
    // dh: what step t's h gets from the later steps (none at first), dc likewise for c.
    const dh = K.output([1, B, H], dt, 'lstmLayer', 'cpu');
    const dhT = K.output([B, H], dt, 'lstmLayer', 'cpu');
    let dc = K.output([B, H], dt, 'lstmLayer', 'cpu'),
      dcNext = K.output([B, H], dt, 'lstmLayer', 'cpu');
    native.copy(refAt(gc, (T + 1) * BH, [B, H]), dc._ref());
    const wRef = makeRef(w._storage.data, w._offset, [1, 4 * H, H], [4 * H * H, H, 1]);
    const dhRef = dh._ref(),
      dh2 = refAt(dh, 0, [B, H]),
      dhTRef = dhT._ref();
    for (let k = T - 1; k >= 0; k--) {
      const t = s.reverse ? T - 1 - k : k;
      const { prev, cur } = slots(t, T, s.reverse);
      const gh = refAt(gc, cur * BH, [B, H]);
      if (k === T - 1) native.copy(gh, dhTRef);
      else native.binary(K.B.Add, gh, dh2, dhTRef);
      native.lstmCellBackward(
        dhTRef,
        dc._ref(),
        refAt(s.c, prev * BH, [B, H]),
        refAt(s.c, cur * BH, [B, H]),
        refAt(s.ws, t * 4 * BH, [B, 4 * H]),
        refAt(dG, t * 4 * BH, [B, 4 * H]),
        dcNext._ref(),
      );
      [dc, dcNext] = [dcNext, dc];
      native.matmul(refAt(dG, t * 4 * BH, [1, B, 4 * H]), wRef, dhRef);
    }
    let dHx: Tensor | null = null;
    if (needs.hx) {
      dHx = K.output([B, H], dt, 'lstmLayer', 'cpu');
      native.binary(K.B.Add, refAt(gc, slots(0, T, s.reverse).init * BH, [B, H]), dh2, dHx._ref());
    }
    let dW: Tensor | null = null;
    if (needs.weightHh) {
      // dGatesᵀ [4H, T B] times the h's the steps read, [T B, H]: T consecutive rows of y.
      dW = K.output([1, 4 * H, H], dt, 'lstmLayer', 'cpu');
      const from = s.reverse ? 1 : 0;
      native.matmul(
        makeRef(dG._storage.data, 0, [1, 4 * H, T * B], [4 * H * T * B, 1, 4 * H]),
        refAt(s.y, from * BH, [1, T * B, H]),
        dW._ref(),
      );
      dW = dW.view([4 * H, H]);
    }
    return { inputGates: dG, hx: dHx, cx: needs.cx ? dc : null, weightHh: dW };
  },
});
