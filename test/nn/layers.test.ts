// Every nn layer against PyTorch (test/fixtures/module_layers.json, made by
// scripts/make_module_fixtures.py): the PyTorch state dict is loaded with
// loadStateDict, then the printed form, state-dict keys, parameter names,
// forward output, input and parameter gradients and buffers after the
// forward are compared.
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import { expectTensor, makeTensor, type TensorSpec, type ToleranceTable } from '../helpers/fixtures.js';
import type { Tensor } from '../../lib/tensor.js';

const F = nn.functional;

interface LayerCase {
  name: string;
  layer: string;
  args: unknown[];
  opts: Record<string, unknown>;
  train: boolean;
  repr: string;
  state_keys: string[];
  param_names: string[];
  state: Record<string, TensorSpec>;
  inputs: (TensorSpec & { requires_grad: boolean })[];
  output: TensorSpec;
  gout: TensorSpec | null;
  input_grads: (TensorSpec | null)[];
  param_grads: Record<string, TensorSpec>;
  buffers_after: Record<string, TensorSpec>;
  tol?: ToleranceTable;
}

const fx = JSON.parse(readFileSync(new URL('../fixtures/module_layers.json', import.meta.url), 'utf8')) as {
  tolerance: ToleranceTable;
  cases: LayerCase[];
};

class Block extends nn.Module {
  fc: nn.Linear;
  bn: nn.BatchNorm1d;
  constructor(n: number) {
    super();
    this.fc = new nn.Linear(n, n);
    this.bn = new nn.BatchNorm1d(n);
  }
  forward(x: Tensor): Tensor {
    return F.relu(this.bn.forward(this.fc.forward(x)));
  }
}

/** The same model as Net in scripts/make_module_fixtures.py. */
class Net extends nn.Module {
  stem = new nn.Linear(3, 4);
  blocks = new nn.ModuleList([new Block(4), new Block(4)]);
  head = new nn.Sequential(new nn.Linear(4, 4), new nn.Tanh(), new nn.Dropout(0.0), new nn.Linear(4, 2));
  scale = new nn.Parameter(torch.ones(2));
  declare offset: Tensor;
  constructor() {
    super();
    this.registerBuffer('offset', torch.zeros(2));
  }
  forward(x: Tensor): Tensor {
    let h = this.stem.forward(x);
    for (const b of this.blocks) h = b.forward(h);
    return this.head.forward(h).mul(this.scale).add(this.offset);
  }
}

const models: Record<string, () => nn.Module> = {
  sequential_mlp: () => new nn.Sequential(new nn.Linear(6, 8), new nn.ReLU(), new nn.Linear(8, 3)),
  mnist_cnn: () =>
    new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { stride: 2, padding: 1 }),
      new nn.ReLU(),
      new nn.Conv2d(4, 4, 3, { stride: 2, padding: 1 }),
      new nn.ReLU(),
      new nn.Conv2d(4, 3, 3, { stride: 2, padding: 1 }),
      new nn.ReLU(),
      new nn.AdaptiveAvgPool2d(1),
      new nn.Flatten(),
    ),
  net: () => new Net(),
};

// Fixture options hold tensors as {"tensor": [...]}.
function decodeOpts(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    out[k] =
      v !== null && typeof v === 'object' && !Array.isArray(v) && 'tensor' in v
        ? torch.tensor((v as { tensor: number[] }).tensor, { dtype: 'float32' })
        : v;
  }
  return out;
}

function build(c: LayerCase): nn.Module {
  if (c.layer in models) return models[c.layer]();
  const Ctor = (nn as unknown as Record<string, new (...a: unknown[]) => nn.Module>)[c.layer];
  expect(typeof Ctor, `nn.${c.layer} exists`).toBe('function');
  return Object.keys(c.opts).length ? new Ctor(...c.args, decodeOpts(c.opts)) : new Ctor(...c.args);
}

describe('nn layers match PyTorch', () => {
  it('the fixture covers every layer API.md lists', () => {
    const layers = new Set(fx.cases.map((c) => c.layer));
    for (const name of [
      'Linear',
      'Conv2d',
      'MaxPool2d',
      'AvgPool2d',
      'AdaptiveAvgPool2d',
      'ReLU',
      'LeakyReLU',
      'GELU',
      'Sigmoid',
      'Tanh',
      'Softmax',
      'LogSoftmax',
      'Dropout',
      'BatchNorm1d',
      'BatchNorm2d',
      'LayerNorm',
      'Embedding',
      'Flatten',
      'Identity',
      'CrossEntropyLoss',
      'NLLLoss',
      'MSELoss',
      'L1Loss',
      'BCELoss',
      'BCEWithLogitsLoss',
      'PReLU',
      'SiLU',
      'Mish',
      'ELU',
      'SELU',
      'CELU',
      'Softplus',
      'Hardtanh',
      'ReLU6',
      'Hardswish',
      'Hardsigmoid',
      'GLU',
      'Softmin',
      'LogSigmoid',
      'Softsign',
      'Tanhshrink',
      'Hardshrink',
      'Softshrink',
      'Threshold',
      'SmoothL1Loss',
      'HuberLoss',
      'KLDivLoss',
      'CosineEmbeddingLoss',
      'MarginRankingLoss',
      'HingeEmbeddingLoss',
      'TripletMarginLoss',
      'PoissonNLLLoss',
      'GaussianNLLLoss',
      'MultiLabelSoftMarginLoss',
      'SoftMarginLoss',
      'MultiMarginLoss',
      'MultiLabelMarginLoss',
      'CosineSimilarity',
      'PairwiseDistance',
    ]) {
      expect(layers.has(name), name).toBe(true);
    }
  });

  for (const c of fx.cases) {
    it(c.name, () => {
      const tols = [fx.tolerance, c.tol ?? {}];
      const m = build(c);
      expect(String(m), `${c.name}: repr`).toBe(c.repr);
      expect(Object.keys(m.stateDict()), `${c.name}: state dict keys`).toEqual(c.state_keys);
      expect(
        m.namedParameters().map(([n]) => n),
        `${c.name}: parameter names`,
      ).toEqual(c.param_names);

      const state: Record<string, Tensor> = {};
      for (const [k, spec] of Object.entries(c.state)) state[k] = makeTensor(spec);
      expect(m.loadStateDict(state)).toEqual({ missingKeys: [], unexpectedKeys: [] });
      for (const [k, spec] of Object.entries(c.state)) expectTensor(m.stateDict()[k], spec, `${c.name}: loaded ${k}`);

      m.train(c.train);
      const inputs = c.inputs.map((s) => makeTensor(s, { requiresGrad: s.requires_grad }));
      const out = m.forward(...inputs) as Tensor;
      expectTensor(out, c.output, `${c.name}: output`, tols);

      for (const [k, spec] of Object.entries(c.buffers_after)) {
        expectTensor(m.getBuffer(k), spec, `${c.name}: buffer ${k} after forward`, tols);
      }

      if (c.gout === null) {
        expect(out.requiresGrad, `${c.name}: output should not require grad`).toBe(false);
        return;
      }
      out.backward(makeTensor(c.gout));
      c.input_grads.forEach((g, i) => {
        if (g === null) {
          expect(inputs[i].grad, `${c.name}: input[${i}].grad`).toBeNull();
          return;
        }
        expect(inputs[i].grad, `${c.name}: input[${i}].grad`).not.toBeNull();
        expectTensor(inputs[i].grad, g, `${c.name}: input[${i}].grad`, tols);
      });
      for (const [n, p] of m.namedParameters()) {
        const g = c.param_grads[n];
        if (!g) {
          expect(p.grad, `${c.name}: ${n}.grad`).toBeNull();
          continue;
        }
        expect(p.grad, `${c.name}: ${n}.grad`).not.toBeNull();
        expectTensor(p.grad, g, `${c.name}: ${n}.grad`, tols);
      }
    });
  }
});

describe('the activation, loss and distance modules: options and errors', () => {
  it('constructor checks, as PyTorch', () => {
    expect(() => new nn.Hardtanh(1, -1)).toThrow(/^Hardtanh: maxVal must be greater than minVal/);
    expect(() => new nn.PReLU(0)).toThrow(/^PReLU: numParameters must be >= 1/);
    expect(() => new nn.PReLU(2, { dtype: 'int64' })).toThrow(/^PReLU: parameters must have a floating point dtype/);
    expect(() => new nn.MultiMarginLoss(3)).toThrow(/^MultiMarginLoss: only p == 1 and p == 2/);
    expect(() => new nn.KLDivLoss({ reduction: 'avg' as never })).toThrow(/KLDivLoss/);
    expect(() => new nn.HuberLoss('mean', 0)).toThrow(/^HuberLoss: delta must be positive/);
    expect(() => new nn.SmoothL1Loss({ beta: -1 })).toThrow(/^SmoothL1Loss: beta must be non-negative/);
    expect(() => new nn.Softshrink(-0.5)).toThrow(/^Softshrink: lambd must be greater or equal to 0/);
  });
  it('unknown options and keyword-only options are refused', () => {
    expect(() => new nn.ELU({ alhpa: 1 } as never)).toThrow(/^ELU: unknown option 'alhpa' \(did you mean 'alpha'\?\)/);
    expect(() => new nn.PReLU({ num_parameters: 3 } as never)).toThrow(/did you mean 'numParameters'/);
    expect(() => new nn.KLDivLoss({ log_target: true } as never)).toThrow(/did you mean 'logTarget'/);
    expect(() => new nn.SmoothL1Loss('sum' as never)).toThrow(TypeError);
    expect(() => new nn.GaussianNLLLoss(true as never)).toThrow(TypeError);
    expect(() => new nn.PoissonNLLLoss(true, false, 1e-3 as never)).toThrow(TypeError);
  });
  it('positional and keyword forms agree', () => {
    expect(String(new nn.TripletMarginLoss(2, 1, 1e-3, true))).toBe('TripletMarginLoss()');
    const a = new nn.TripletMarginLoss(2, 1, 1e-3, true),
      b = new nn.TripletMarginLoss({ margin: 2, p: 1, eps: 1e-3, swap: true });
    expect([a.margin, a.p, a.eps, a.swap]).toEqual([b.margin, b.p, b.eps, b.swap]);
    expect(new nn.PoissonNLLLoss(false, true, { eps: 1e-3, reduction: 'sum' }).eps).toBe(1e-3);
    expect(new nn.HuberLoss('sum', 2).reduction).toBe('sum');
    expect(String(new nn.Threshold(0.5, -1, true))).toBe('Threshold(threshold=0.5, value=-1, inplace=True)');
    expect(String(new nn.ELU({ alpha: 0.5, inplace: true }))).toBe('ELU(alpha=0.5, inplace=True)');
    expect(String(new nn.SiLU(true))).toBe('SiLU(inplace=True)');
    expect(String(new nn.Hardswish(true))).toBe('Hardswish()');
    expect(String(new nn.Softmin())).toBe('Softmin(dim=None)');
  });
  it('inplace modules write into their input', () => {
    const x = torch.tensor([-2, -0.5, 0.5, 2]);
    const y = new nn.Hardtanh(-1, 1, true).forward(x);
    expect(y).toBe(x);
    expect(x.tolist()).toEqual([-1, -0.5, 0.5, 1]);
    const z = torch.tensor([-1, 3, 7]);
    expect(new nn.ReLU6(true).forward(z)).toBe(z);
    // Integers too, as PyTorch's hardtanh, relu6 and threshold.
    expect(z.tolist()).toEqual([0, 3, 6]);
    expect(F.hardtanh(torch.tensor([-3, 0, 4]), -2, 2).tolist()).toEqual([-2, 0, 2]);
    expect(F.threshold(torch.tensor([-1, 3, 7]), 1, 5).tolist()).toEqual([5, 3, 7]);
  });
  it("PReLU's weight is a learnable parameter named weight", () => {
    const m = new nn.PReLU(3, 0.1);
    expect(Object.keys(m.stateDict())).toEqual(['weight']);
    expect(m.weight.tolist()).toEqual([0.1, 0.1, 0.1].map(Math.fround));
    const x = torch.tensor([[[-1], [2], [-3]]]).float();
    m.forward(x).sum().backward();
    expect(m.weight.grad!.tolist()).toEqual([-1, 0, -3]);
    m.weight.data.fill_(0.5);
    m.resetParameters();
    expect(m.weight.tolist()).toEqual([0.1, 0.1, 0.1].map(Math.fround));
  });
  it("Softmin without a dim takes PyTorch's legacy dim", () => {
    const x = torch.randn([3, 4]);
    expect(new nn.Softmin().forward(x).sum(1).sub(1).abs().max().item()).toBeLessThan(1e-6);
  });
});
