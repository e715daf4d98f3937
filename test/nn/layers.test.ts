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
