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
