// The fused recurrent cells (lib/ops/rnn.ts) and the one-node backward of
// split/unbind (Note [Multi-output nodes]) against PyTorch
// (test/fixtures/nn_rnn_cells.json, made by
// scripts/make_rnn_cell_fixtures.py): forward, the fused first-order
// backward and the declared (createGraph) one, float64 gradcheck and
// gradgradcheck, the errors, and the shape of the graph the layers record.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as torch from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import { gruCell, lstmCell, lstmLayer } from '../../lib/ops/rnn.js';
import { native } from '../../lib/backend/native.js';
import { MultiOutputNode, OutputSlot, type Node } from '../../lib/autograd/node.js';
import { expectTensor, makeTensor, type TensorSpec, type ToleranceTable } from '../helpers/fixtures.js';
import type { Tensor } from '../../lib/tensor.js';

interface CellCase {
  name: string;
  op: 'lstmCell' | 'gruCell';
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  gout: TensorSpec;
  grads: TensorSpec[];
}

interface ViewCase {
  name: string;
  fn: 'unbind' | 'split';
  dim: number;
  sizes?: number | number[];
  input: TensorSpec;
  used: number[];
  gouts: TensorSpec[];
  grad: TensorSpec;
}

const fx = JSON.parse(readFileSync(new URL('../fixtures/nn_rnn_cells.json', import.meta.url), 'utf8')) as {
  tolerance: ToleranceTable;
  cells: CellCase[];
  views: ViewCase[];
};
const tols = [fx.tolerance];
const CELLS = { lstmCell, gruCell };

/** Every node reachable from t's grad_fn (slots included), each once. */
function graphOf(t: Tensor): Node[] {
  const seen = new Set<Node>();
  const stack: Node[] = t.gradFn ? [t.gradFn] : [];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const m of n.next) if (m) stack.push(m);
  }
  return [...seen];
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('fused LSTM and GRU cells match PyTorch', () => {
  for (const c of fx.cells) {
    it(`${c.name}: forward, fused backward and createGraph backward`, () => {
      const ins = c.inputs.map((s) => makeTensor(s, { requiresGrad: true }));
      const f = CELLS[c.op];
      const out = f(ins[0], ins[1], ins[2]);
      expectTensor(out, c.outputs[0], `${c.name} output`, tols);
      expect(out.gradFn?.name).toBe(c.op === 'lstmCell' ? 'ThnnFusedLstmCellBackward0' : 'ThnnFusedGruCellBackward0');
      const gout = makeTensor(c.gout);
      // Without createGraph the fused kernel runs (Note [Fused backward]).
      const fused = torch.autograd.grad(out, ins, { gradOutputs: gout, retainGraph: true });
      fused.forEach((g, k) => expectTensor(g!, c.grads[k], `${c.name} fused grad[${k}]`, tols));
      // With createGraph the gradients are built from ops, differentiable again.
      const declared = torch.autograd.grad(out, ins, { gradOutputs: gout, createGraph: true });
      declared.forEach((g, k) => {
        expect(g!.requiresGrad, `${c.name} declared grad[${k}] is recorded`).toBe(true);
        expectTensor(g!.detach(), c.grads[k], `${c.name} declared grad[${k}]`, tols);
      });
    });
  }

  it('the fused backward leaves out the state gradient nobody needs', () => {
    const c = fx.cells.find((k) => k.op === 'lstmCell')!;
    const ig = makeTensor(c.inputs[0], { requiresGrad: true });
    const hg = makeTensor(c.inputs[1]);
    const cx = makeTensor(c.inputs[2]);
    const out = lstmCell(ig, hg, cx);
    const spy = vi.spyOn(native, 'lstmCellBackward');
    out.backward(makeTensor(c.gout));
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0][6]).toBeNull();
    expectTensor(ig.grad!, c.grads[0], 'input gates grad', tols);
  });

  it('float64 gradcheck and gradgradcheck', () => {
    torch.manualSeed(3);
    const B = 2,
      H = 3;
    const t = (shape: number[]) => torch.randn(shape, { dtype: 'float64' }).mul(1.5).requiresGrad_(true);
    const lstmIns = [t([B, 4 * H]), t([B, 4 * H]), t([B, H])];
    const gruIns = [t([B, 3 * H]), t([B, 3 * H]), t([B, H])];
    expect(torch.autograd.gradcheck((a, b, c) => lstmCell(a, b, c), lstmIns)).toBe(true);
    expect(torch.autograd.gradcheck((a, b, c) => gruCell(a, b, c), gruIns)).toBe(true);
    expect(torch.autograd.gradgradcheck((a, b, c) => lstmCell(a, b, c), lstmIns)).toBe(true);
    expect(torch.autograd.gradgradcheck((a, b, c) => gruCell(a, b, c), gruIns)).toBe(true);
  });

  it('refuses gates or states of the wrong shape, dtype or rank, naming the op', () => {
    const z = (shape: number[], dtype: 'float32' | 'float64' | 'int64' = 'float32') => torch.zeros(shape, { dtype });
    expect(() => lstmCell(z([2, 12]), z([2, 12]), z([2, 4]))).toThrow(/lstmCell: inputGates must have shape \[2, 16\]/);
    expect(() => lstmCell(z([2, 16]), z([3, 16]), z([2, 4]))).toThrow(/lstmCell: hiddenGates must have shape \[2, 16\].*got \[3, 16\]/);
    expect(() => lstmCell(z([2, 16]), z([2, 16]), z([8]))).toThrow(/lstmCell: cx must be 2-D/);
    expect(() => lstmCell(z([2, 16], 'float64'), z([2, 16]), z([2, 4]))).toThrow(
      /lstmCell: inputGates has dtype float64 but cx has float32/,
    );
    expect(() => gruCell(z([2, 6], 'int64'), z([2, 6], 'int64'), z([2, 2], 'int64'))).toThrow(
      /gruCell: expected float32 or float64, got int64/,
    );
    expect(() => gruCell(z([2, 8]), z([2, 6]), z([2, 2]))).toThrow(/gruCell: inputGates must have shape \[2, 6\]/);
  });
});

describe('split and unbind record one node for all their results', () => {
  for (const c of fx.views) {
    it(`${c.name}: the input gradient with only some results used`, () => {
      const x = makeTensor(c.input, { requiresGrad: true });
      const outs = c.fn === 'unbind' ? x.unbind(c.dim) : x.split(c.sizes!, c.dim);
      const used = c.used.map((i) => outs[i]);
      const [g] = torch.autograd.grad(used, [x], { gradOutputs: c.gouts.map((s) => makeTensor(s)) });
      expectTensor(g!, c.grad, `${c.name} grad`, tols);
    });
  }

  it("unbind's results share one UnbindBackward0 node; split's one SplitBackward0 / SplitWithSizesBackward0", () => {
    const x = torch.randn([4, 3], { requiresGrad: true });
    const ys = x.unbind(0);
    const owners = new Set(ys.map((y) => (y.gradFn as OutputSlot).owner));
    expect(ys.map((y) => y.gradFn?.name)).toEqual(Array(4).fill('UnbindBackward0'));
    expect(owners.size).toBe(1);
    const owner = [...owners][0];
    expect(owner).toBeInstanceOf(MultiOutputNode);
    expect(owner.next).toEqual([x.gradFn ?? (x as unknown as { _acc: Node })._acc]);
    expect(x.split(2, 0)[0].gradFn?.name).toBe('SplitBackward0');
    expect(x.split([1, 3], 0)[1].gradFn?.name).toBe('SplitWithSizesBackward0');
    expect(x.chunk(2, 1)[0].gradFn?.name).toBe('SplitBackward0');
    // As PyTorch's, the results refuse in-place changes.
    expect(() => ys[0].mul_(2)).toThrow(/Output 0 of UnbindBackward0 is a view and is being modified inplace/);
  });

  it('backward through T unbound steps sums no full-size gradients (no O(T²) work)', () => {
    const T = 32;
    const x0 = torch.randn([T, 4, 8]);
    const run = (slice: (x: Tensor) => Tensor[]) => {
      const x = x0.clone().requiresGrad_(true);
      let h = torch.zeros([4, 8]);
      for (const xt of slice(x)) h = h.add(xt).tanh();
      const loss = h.sum();
      const binary = vi.spyOn(native, 'binary');
      const copy = vi.spyOn(native, 'copy');
      loss.backward();
      const counts = { binary: binary.mock.calls.length, copy: copy.mock.calls.length, grad: x.grad! };
      vi.restoreAllMocks();
      return counts;
    };
    const one = run((x) => x.unbind(0));
    // Each step's gradient is written once into one input-sized tensor (T
    // copies), which is then copied into x.grad (one more).
    expect(one.copy).toBe(T + 1);
    // T steps of tanh backward and add are T binary kernels each at most;
    // summing T full-size gradients would add T - 1 more.
    const perStep = run((x) => Array.from({ length: T }, (_, t) => x.select(0, t)));
    expect(perStep.binary - one.binary).toBeGreaterThanOrEqual(T - 1);
    expect(one.grad.sub(perStep.grad).abs().max().item()).toBeLessThan(1e-6);
    // And the graph holds one node for the unbind, not one per step.
    const x = torch.randn([T, 2], { requiresGrad: true });
    const nodes = graphOf(stack(x.unbind(0)));
    expect(nodes.filter((n) => n instanceof MultiOutputNode).length).toBe(1);
    expect(nodes.filter((n) => n.name === 'SelectBackward0').length).toBe(0);
  });

  it('is differentiable twice (gradgradcheck), with results left unused', () => {
    const x = torch.randn([4, 3], { dtype: 'float64' }).requiresGrad_(true);
    expect(torch.autograd.gradgradcheck((a) => stack(a.unbind(0).filter((_, i) => i !== 1)), [x])).toBe(true);
    expect(torch.autograd.gradgradcheck((a) => a.split([1, 2], 1)[1].mul(a.split([1, 2], 1)[0]), [x])).toBe(true);
  });
});

describe('the recurrent layers run the fused cells', () => {
  it("an LSTM layer's gradients (W_hh's from one product, Note [One GEMM for W_hh]) pass gradcheck and gradgradcheck", () => {
    torch.manualSeed(5);
    const lstm = new nn.LSTM(2, 2, { dtype: 'float64' });
    const x = torch.randn([3, 2, 2], { dtype: 'float64' }).requiresGrad_(true);
    const [wIh, wHh, bIh, bHh] = lstm.allWeights[0];
    // The parameters as inputs: fn swaps them in, so the checks perturb them.
    const run = (xi: Tensor, w: Tensor, b: Tensor) => {
      (lstm as unknown as Record<string, Tensor>).weight_hh_l0 = w;
      (lstm as unknown as Record<string, Tensor>).bias_hh_l0 = b;
      return lstm.forward(xi)[0];
    };
    const w = wHh.detach().clone().requiresGrad_(true);
    const b = bHh.detach().clone().requiresGrad_(true);
    expect(torch.autograd.gradcheck(run, [x, w, b])).toBe(true);
    expect(torch.autograd.gradgradcheck(run, [x, w, b])).toBe(true);
    void wIh;
    void bIh;
  });

  it('a GRU records one split for its steps and one fused cell per step', () => {
    const T = 6;
    const [out] = new nn.GRU(3, 4).forward(torch.randn([T, 2, 3]));
    const nodes = graphOf(out);
    expect(nodes.filter((n) => n.name === 'ThnnFusedGruCellBackward0').length).toBe(T);
    expect(nodes.filter((n) => n instanceof MultiOutputNode && n.name === 'SplitWithSizesBackward0').length).toBe(1);
    expect(nodes.filter((n) => n.name === 'SliceBackward0' || n.name === 'SelectBackward0').length).toBe(0);
  });

  it('an LSTM over full batches records one LstmLayerBackward per layer and direction and no per-step nodes', () => {
    const lstm = new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true });
    const [out] = lstm.forward(torch.randn([6, 2, 3]));
    const nodes = graphOf(out as Tensor);
    expect(nodes.filter((n) => n.name === 'LstmLayerBackward').length).toBe(4);
    expect(nodes.filter((n) => n.name === 'ThnnFusedLstmCellBackward0').length).toBe(0);
  });

  it('an LSTM over an empty batch gives empty results, as PyTorch', () => {
    const [out, [h, c]] = new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true }).forward(torch.randn([5, 0, 3]));
    expect([out.shape, h.shape, c.shape]).toEqual([
      [5, 0, 8],
      [4, 0, 4],
      [4, 0, 4],
    ]);
  });

  it('an LSTM over a packed batch of unequal lengths, or with projSize, still runs one fused cell per step', () => {
    const packed = nn.utils.rnn.packPaddedSequence(torch.randn([5, 3, 2]), [5, 3, 2]);
    const [out] = new nn.LSTM(2, 3).forward(packed);
    expect(graphOf((out as nn.utils.rnn.PackedSequence).data).filter((n) => n.name === 'ThnnFusedLstmCellBackward0').length).toBe(5);
    const [out2] = new nn.LSTM(2, 3, { projSize: 2 }).forward(torch.randn([4, 2, 2]));
    expect(graphOf(out2 as Tensor).filter((n) => n.name === 'ThnnFusedLstmCellBackward0').length).toBe(4);
  });
});

// Note [One node per LSTM sequence]: lstmLayer against the same recurrence
// run step by step with the fused cell (checked against PyTorch above and
// through the layers' fixtures in rnn.test.ts).
describe('lstmLayer: one direction of an LSTM layer in one node', () => {
  /** lstmLayer's result, [h0 or hs..., c_T], built from per-step lstmCell calls. */
  function stepwise(xg: Tensor, hx: Tensor, cx: Tensor, w: Tensor, reverse: boolean): Tensor {
    const B = hx.shape[0];
    const xs = xg.split(B, 0);
    const T = xs.length;
    const hs: Tensor[] = new Array(T);
    let h = hx,
      c = cx;
    for (let k = 0; k < T; k++) {
      const t = reverse ? T - 1 - k : k;
      [h, c] = lstmCell(xs[t], h.matmul(w.t()), c).unbind(0);
      hs[t] = h;
    }
    return torch.stack(reverse ? [...hs, hx, c] : [hx, ...hs, c]);
  }

  for (const reverse of [false, true]) {
    it(`${reverse ? 'reverse' : 'forward'}: result, fused backward and createGraph backward equal the step-by-step cells`, () => {
      torch.manualSeed(11);
      const T = 5,
        B = 3,
        H = 4;
      const ins = [
        [T * B, 4 * H],
        [B, H],
        [B, H],
        [4 * H, H],
      ].map((s) => torch.randn(s, { dtype: 'float64' }).requiresGrad_(true));
      const [xg, hx, cx, w] = ins;
      const want = stepwise(xg, hx, cx, w, reverse);
      const got = lstmLayer(xg, hx, cx, w, reverse);
      expect(got.gradFn?.name).toBe('LstmLayerBackward');
      expect(got.shape).toEqual([T + 2, B, H]);
      expect(got.sub(want).abs().max().item()).toBeLessThan(1e-12);
      const gout = torch.randn([T + 2, B, H], { dtype: 'float64' });
      const wantG = torch.autograd.grad(want, ins, { gradOutputs: gout });
      const fused = torch.autograd.grad(got, ins, { gradOutputs: gout, retainGraph: true });
      const declared = torch.autograd.grad(got, ins, { gradOutputs: gout, createGraph: true });
      ins.forEach((_, k) => {
        expect(fused[k]!.sub(wantG[k]!).abs().max().item(), `fused grad[${k}]`).toBeLessThan(1e-10);
        expect(declared[k]!.requiresGrad, `declared grad[${k}] is recorded`).toBe(true);
        expect(declared[k]!.detach().sub(wantG[k]!).abs().max().item(), `declared grad[${k}]`).toBeLessThan(1e-10);
      });
    });
  }

  it('float32 gives the step-by-step result too, and a second backward with retainGraph the same gradients', () => {
    torch.manualSeed(12);
    const ins = [
      [12, 32],
      [3, 8],
      [3, 8],
      [32, 8],
    ].map((s) => torch.randn(s).requiresGrad_(true));
    const want = stepwise(ins[0], ins[1], ins[2], ins[3], false);
    const got = lstmLayer(ins[0], ins[1], ins[2], ins[3]);
    expect(got.sub(want).abs().max().item()).toBeLessThan(1e-5);
    const gout = torch.randn([6, 3, 8]);
    const wantG = torch.autograd.grad(want, ins, { gradOutputs: gout });
    const g1 = torch.autograd.grad(got, ins, { gradOutputs: gout, retainGraph: true });
    const g2 = torch.autograd.grad(got, ins, { gradOutputs: gout });
    ins.forEach((_, k) => {
      expect(g1[k]!.sub(wantG[k]!).abs().max().item(), `grad[${k}]`).toBeLessThan(1e-4);
      expect(g2[k]!.sub(g1[k]!).abs().max().item(), `second grad[${k}]`).toBe(0);
    });
  });

  it('float64 gradcheck and gradgradcheck, both directions', () => {
    torch.manualSeed(13);
    const ins = [
      [6, 8],
      [2, 2],
      [2, 2],
      [8, 2],
    ].map((s) => torch.randn(s, { dtype: 'float64' }).requiresGrad_(true));
    for (const reverse of [false, true]) {
      const f = (a: Tensor, b: Tensor, c: Tensor, d: Tensor) => lstmLayer(a, b, c, d, reverse);
      expect(torch.autograd.gradcheck(f, ins)).toBe(true);
      expect(torch.autograd.gradgradcheck(f, ins)).toBe(true);
    }
  });

  it('refuses inputs of the wrong shape or dtype, naming the op and the shapes', () => {
    const x = torch.randn([6, 8]),
      h = torch.randn([2, 2]),
      w = torch.randn([8, 2]);
    expect(() => lstmLayer(torch.randn([5, 8]), h, h, w)).toThrow(/lstmLayer: inputGates must have shape \[steps \* 2, 8\].*\[5, 8\]/);
    expect(() => lstmLayer(x, h, torch.randn([2, 3]), w)).toThrow(/lstmLayer: cx must have hx's shape \[2, 2\], got \[2, 3\]/);
    expect(() => lstmLayer(x, h, h, torch.randn([2, 8]))).toThrow(/lstmLayer: weightHh must have shape \[8, 2\].*got \[2, 8\]/);
    expect(() => lstmLayer(x, h, h, w.double())).toThrow(/lstmLayer: weightHh has dtype float64 but hx has float32/);
    expect(() => lstmLayer(x, torch.randn([2]), h, w)).toThrow(/lstmLayer: hx must be 2-D/);
  });
});

function stack(ts: Tensor[]): Tensor {
  return torch.stack(ts);
}
