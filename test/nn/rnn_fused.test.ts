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
import { gruCell, lstmCell } from '../../lib/ops/rnn.js';
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

  it('an LSTM records one split for its steps and one fused cell per step; a GRU likewise', () => {
    const T = 6;
    for (const [Layer, cellNode] of [
      [nn.LSTM, 'ThnnFusedLstmCellBackward0'],
      [nn.GRU, 'ThnnFusedGruCellBackward0'],
    ] as const) {
      const layer = new Layer(3, 4) as nn.LSTM | nn.GRU;
      const [out] = (layer as nn.GRU).forward(torch.randn([T, 2, 3]));
      const nodes = graphOf(out as Tensor);
      expect(nodes.filter((n) => n.name === cellNode).length, cellNode).toBe(T);
      expect(nodes.filter((n) => n instanceof MultiOutputNode && n.name === 'SplitWithSizesBackward0').length).toBe(1);
      expect(nodes.filter((n) => n.name === 'SliceBackward0' || n.name === 'SelectBackward0').length).toBe(0);
    }
  });
});

function stack(ts: Tensor[]): Tensor {
  return torch.stack(ts);
}
