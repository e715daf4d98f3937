// F.conv1d, F.convTranspose1d, F.convTranspose2d and nn.Conv1d,
// nn.ConvTranspose1d, nn.ConvTranspose2d against PyTorch
// (test/fixtures/nn_conv_nd.json, made by scripts/make_conv_fixtures.py):
// forward outputs, gradients, grad_fn names, float64 gradcheck and
// gradgradcheck where PyTorch's passed, the calls PyTorch rejects; the
// layers with PyTorch's state dict loaded (keys, shapes, printed form,
// forward with outputSize); the initial bounds; and the error messages.
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import * as F from '../../lib/nn/functional.js';
import {
  expectTensor,
  makeTensor,
  runCase,
  runGradcheck,
  buildInputs,
  resolveArgs,
  type Case,
  type OpTable,
  type TensorSpec,
  type ToleranceTable,
} from '../helpers/fixtures.js';
import type { Tensor } from '../../lib/tensor.js';

interface LayerCase {
  name: string;
  layer: 'Conv1d' | 'ConvTranspose1d' | 'ConvTranspose2d';
  args: unknown[];
  opts: Record<string, unknown>;
  repr: string;
  state_keys: string[];
  param_names: string[];
  state: Record<string, TensorSpec>;
  input: TensorSpec & { requires_grad: boolean };
  forward_opts: Record<string, unknown>;
  output: TensorSpec;
  grad_fn: string;
  gout: TensorSpec;
  input_grad: TensorSpec;
  param_grads: Record<string, TensorSpec>;
}

interface InitCase {
  layer: LayerCase['layer'];
  args: unknown[];
  opts: Record<string, unknown>;
  weight_shape: number[];
  bias_shape: number[];
  weight_bound: number;
  bias_bound: number;
}

const fx = JSON.parse(readFileSync(new URL('../fixtures/nn_conv_nd.json', import.meta.url), 'utf8')) as {
  tolerance: ToleranceTable;
  cases: (Case & { grad_fn?: string | null })[];
  layers: LayerCase[];
  init: InitCase[];
};

const table: OpTable = {
  conv1d: ([x, w, b], kw) => F.conv1d(x, w, b, kw),
  convTranspose1d: ([x, w, b], kw) => F.convTranspose1d(x, w, b, kw),
  convTranspose2d: ([x, w, b], kw) => F.convTranspose2d(x, w, b, kw),
};

const mk = (name: string, args: unknown[], opts: Record<string, unknown>): nn.Module => {
  const C = (nn as unknown as Record<string, new (...a: unknown[]) => nn.Module>)[name];
  return new C(...args, opts);
};

describe('F.conv1d, F.convTranspose1d, F.convTranspose2d match PyTorch', () => {
  it('has cases of every op, errors and gradgradchecks among them', () => {
    expect(new Set(fx.cases.map((c) => c.op))).toEqual(new Set(Object.keys(table)));
    expect(fx.cases.filter((c) => c.error).length).toBeGreaterThan(20);
    expect(fx.cases.filter((c) => c.gradgradcheck).length).toBeGreaterThan(30);
  });
  for (const c of fx.cases) {
    it(c.name, () => {
      expect.hasAssertions();
      runCase(c, table, fx);
    });
    if (c.grad_fn) {
      it(`${c.name}: grad_fn`, () => {
        const { refs } = buildInputs(c);
        const out = table[c.op](resolveArgs(c.args, refs), c.kwargs as Record<string, Tensor>) as Tensor;
        if (c.grad_fn === 'SqueezeBackward1') {
          // Unbatched input: PyTorch squeezes the batch dim back out, and so does Kindling, whose
          // squeeze nodes are all named SqueezeBackward0 (PyTorch names squeeze(dim) SqueezeBackward1).
          expect(out.gradFn?.name).toMatch(/^SqueezeBackward/);
        } else {
          expect(out.gradFn?.name).toBe(c.grad_fn);
        }
      });
    }
    if (c.gradcheck) {
      it(`${c.name}: float64 gradcheck${c.gradgradcheck ? ' and gradgradcheck' : ''}`, () => {
        expect.hasAssertions();
        runGradcheck(c, table);
      });
    }
  }
});

describe('nn.Conv1d, nn.ConvTranspose1d, nn.ConvTranspose2d match PyTorch', () => {
  for (const c of fx.layers) {
    it(c.name, () => {
      const tols = [fx.tolerance];
      const m = mk(c.layer, c.args, c.opts);
      expect(String(m), 'repr').toBe(c.repr);
      expect(Object.keys(m.stateDict()), 'state dict keys').toEqual(c.state_keys);
      expect(
        m.namedParameters().map(([n]) => n),
        'parameter names',
      ).toEqual(c.param_names);
      // Kindling's own parameters have PyTorch's shapes before the load.
      for (const [k, spec] of Object.entries(c.state)) expect(m.stateDict()[k].shape, `${k} shape`).toEqual(spec.shape);
      const state: Record<string, Tensor> = {};
      for (const [k, spec] of Object.entries(c.state)) state[k] = makeTensor(spec);
      expect(m.loadStateDict(state)).toEqual({ missingKeys: [], unexpectedKeys: [] });

      const x = makeTensor(c.input, { requiresGrad: true });
      const out = (Object.keys(c.forward_opts).length ? m.forward(x, c.forward_opts) : m.forward(x)) as Tensor;
      expectTensor(out, c.output, 'output', tols);
      if (c.grad_fn === 'SqueezeBackward1') expect(out.gradFn?.name).toMatch(/^SqueezeBackward/);
      else expect(out.gradFn?.name).toBe(c.grad_fn);
      out.backward(makeTensor(c.gout));
      expectTensor(x.grad, c.input_grad, 'input grad', tols);
      for (const [n, p] of m.namedParameters()) expectTensor(p.grad, c.param_grads[n], `${n} grad`, tols);
    });
  }

  it('forward takes outputSize positionally or by name', () => {
    const m = new nn.ConvTranspose1d(2, 3, 3, { stride: 3 });
    const x = torch.randn([1, 2, 4]);
    // Lengths 12 to 14 are reachable: (4 - 1) * 3 + (3 - 1) + 1 plus an output padding below the stride.
    const a = m.forward(x, [14]);
    const b = m.forward(x, { outputSize: [1, 3, 14] });
    expect(a.shape).toEqual([1, 3, 14]);
    expect(a.sub(b).abs().max().item()).toBe(0);
    expect(m.forward(x).shape).toEqual([1, 3, 12]);
    expect(m.forward(x, null).shape).toEqual([1, 3, 12]);
    // The extra output position is reached by no input: it holds the bias alone.
    expect(a.index(':', ':', 13).sub(m.bias!.unsqueeze(0)).abs().max().item()).toBe(0);
  });
});

describe('initialisation as PyTorch: kaiming_uniform_(a = √5), bias U(-1/√fanIn, 1/√fanIn)', () => {
  for (const c of fx.init) {
    it(`${c.layer}(${c.args.join(', ')}${Object.keys(c.opts).length ? `, ${JSON.stringify(c.opts)}` : ''})`, () => {
      torch.manualSeed(3);
      const m = mk(c.layer, c.args, c.opts) as nn.Module & { weight: Tensor; bias: Tensor };
      expect(m.weight.shape).toEqual(c.weight_shape);
      expect(m.bias.shape).toEqual(c.bias_shape);
      for (const [t, bound] of [
        [m.weight, c.weight_bound],
        [m.bias, c.bias_bound],
      ] as const) {
        const v = Array.from(t.detach().toTypedArray() as Float32Array);
        const max = Math.max(...v.map(Math.abs));
        expect(max).toBeLessThanOrEqual(bound * (1 + 1e-6));
        // Enough draws that one lands near the bound: not a narrower distribution.
        expect(max).toBeGreaterThan(bound * (v.length >= 100 ? 0.9 : 0.5));
      }
      const w = Array.from(m.weight.detach().toTypedArray() as Float32Array);
      const mean = w.reduce((s, a) => s + a, 0) / w.length;
      const variance = w.reduce((s, a) => s + (a - mean) ** 2, 0) / w.length;
      // U(-b, b) has variance b² / 3.
      expect(variance).toBeGreaterThan((c.weight_bound ** 2 / 3) * 0.8);
      expect(variance).toBeLessThan((c.weight_bound ** 2 / 3) * 1.2);
    });
  }
});

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
  throw new Error('expected a throw');
}

describe('errors name the op and the values', () => {
  const x3 = torch.randn([2, 4, 7]);
  const x4 = torch.randn([2, 4, 5, 5]);

  it('wrong channel counts', () => {
    expect(message(() => F.conv1d(x3, torch.randn([6, 3, 3])))).toBe(
      'RangeError: conv1d: given groups=1, weight of shape [6, 3, 3], expected input [2, 4, 7] to have 3 channels, but got 4 channels instead',
    );
    expect(message(() => F.convTranspose1d(x3, torch.randn([3, 3, 3])))).toBe(
      'RangeError: convTranspose1d: given transposed=1, weight of shape [3, 3, 3], expected input [2, 4, 7] to have 3 channels, but got 4 channels instead',
    );
    expect(message(() => F.convTranspose2d(x4, torch.randn([3, 2, 3, 3])))).toMatch(
      /^RangeError: convTranspose2d: given transposed=1, weight of shape \[3, 2, 3, 3\], expected input \[2, 4, 5, 5\] to have 3 channels/,
    );
    expect(message(() => new nn.Conv1d(3, 2, 3).forward(x3))).toMatch(/^RangeError: conv1d: given groups=1, weight of shape \[2, 3, 3\]/);
    expect(message(() => new nn.ConvTranspose2d(3, 2, 3).forward(x4))).toMatch(/^RangeError: convTranspose2d: given transposed=1/);
  });

  it('shapes, sizes and dtypes', () => {
    expect(message(() => F.conv1d(torch.randn([2, 4, 7, 1]), torch.randn([6, 4, 3])))).toBe(
      'RangeError: conv1d: expected 2-D (unbatched) or 3-D (batched) input, got input of shape [2, 4, 7, 1]',
    );
    expect(message(() => F.convTranspose1d(x3, torch.randn([4, 3, 3]), torch.randn([4])))).toBe(
      'RangeError: convTranspose1d: expected bias of shape [3] for weight [4, 3, 3], got [4]',
    );
    expect(message(() => F.convTranspose1d(x3, torch.randn([4, 3, 3]), null, { stride: 2, outputPadding: 2 }))).toBe(
      'RangeError: convTranspose1d: output padding must be smaller than either stride or dilation, got outputPadding [2], stride [2] and dilation [1]',
    );
    expect(message(() => F.convTranspose1d(torch.randn([1, 4, 2]), torch.randn([4, 3, 3]), null, { padding: 5 }))).toBe(
      'RangeError: convTranspose1d: given input size per channel [2], the calculated output size per channel [-6] is too small',
    );
    expect(message(() => F.conv1d(x3, torch.randn([6, 4, 3]), null, { padding: 'same', stride: 2 }))).toBe(
      "RangeError: conv1d: padding='same' is not supported for strided convolutions (stride 2)",
    );
    expect(message(() => F.conv1d(x3, torch.randn([6, 4, 3], { dtype: 'float64' })))).toBe(
      'TypeError: conv1d: input (float32) and weight (float64) must have the same dtype',
    );
    expect(message(() => F.conv1d(x3.long(), torch.randn([6, 4, 3])))).toBe(
      'TypeError: conv1d: input must be a float32 or float64 tensor, got int64',
    );
    expect(message(() => F.convTranspose2d(x4, torch.randn([4, 2, 3, 3]), null, { stride: [2, 2, 2] }))).toBe(
      'TypeError: convTranspose2d: stride must be an integer or a list of 2 integers, got [2, 2, 2]',
    );
    expect(message(() => F.convTranspose1d(x3, torch.randn([4, 3, 3]), null, { padding: 'same' as never }))).toBe(
      'TypeError: convTranspose1d: padding must be an integer or a list of one integer, got "same"',
    );
  });

  it('ConvTranspose forward(outputSize) outside the reachable sizes', () => {
    const m = new nn.ConvTranspose1d(4, 6, 3, { stride: 3 });
    expect(message(() => m.forward(x3, [24]))).toBe(
      'RangeError: ConvTranspose1d: requested an output size of [24], but valid sizes range from [21] to [23] (for an input of [7])',
    );
    expect(message(() => m.forward(x3, [2, 21]))).toBe(
      'RangeError: ConvTranspose1d: for 3-D input, outputSize must have 1 or 3 elements, got [2, 21]',
    );
    expect(message(() => m.forward(x3, { output_size: [21] } as never))).toMatch(
      /^TypeError: ConvTranspose1d: unknown option 'output_size' \(did you mean 'outputSize'\?\)/,
    );
    const m2 = new nn.ConvTranspose2d(4, 2, 3, { stride: 2 });
    expect(message(() => m2.forward(x4, [12, 9]))).toBe(
      'RangeError: ConvTranspose2d: requested an output size of [12, 9], but valid sizes range from [11, 11] to [12, 12] (for an input of [5, 5])',
    );
  });

  it('constructor options', () => {
    expect(message(() => new nn.Conv1d(4, 6, 3, { paddingMode: 'reflect' as never }))).toMatch(/^\w*Error: Conv1d: .*paddingMode/);
    expect(message(() => new nn.ConvTranspose1d(4, 6, 3, { paddingMode: 'circular' as never }))).toMatch(
      /^\w*Error: ConvTranspose1d: .*paddingMode/,
    );
    expect(message(() => new nn.ConvTranspose1d(4, 6, 3, { padding: 'same' as never }))).toBe(
      'TypeError: ConvTranspose1d: padding must be an integer or a list of one integer, got "same"',
    );
    expect(message(() => new nn.Conv1d(4, 6, 3, { padding: 'same', stride: 2 }))).toBe(
      "RangeError: Conv1d: padding='same' is not supported for strided convolutions",
    );
    expect(message(() => new nn.ConvTranspose2d(4, 6, 3, { groups: 4 }))).toBe(
      'RangeError: ConvTranspose2d: outChannels (6) must be divisible by groups (4)',
    );
    expect(message(() => new nn.Conv1d(4, 6, [3, 3] as never))).toBe(
      'TypeError: Conv1d: kernelSize must be an integer or a list of one integer, got [3,3]',
    );
    expect(message(() => new nn.ConvTranspose1d(4, 6, 3, { outputPaddin: 1 } as never))).toMatch(
      /^TypeError: ConvTranspose1d: unknown option 'outputPaddin' \(did you mean 'outputPadding'\?\)/,
    );
  });
});

describe('dtype', () => {
  it('layers made with dtype float64 take and give float64', () => {
    for (const m of [
      new nn.Conv1d(2, 3, 3, { dtype: 'float64' }),
      new nn.ConvTranspose1d(2, 3, 3, { dtype: 'float64' }),
      new nn.ConvTranspose2d(2, 3, 3, { dtype: 'float64' }),
    ]) {
      expect(m.weight.dtype).toBe('float64');
      const x = torch.randn(m instanceof nn.ConvTranspose2d ? [1, 2, 4, 4] : [1, 2, 4], { dtype: 'float64' });
      expect((m.forward(x) as Tensor).dtype).toBe('float64');
      expect(() => m.forward(x.float())).toThrow(/must have the same dtype/);
    }
  });
});

describe('state dict: transposed weights are [in, out / groups, ...kernel], as PyTorch', () => {
  it('a ConvTranspose2d state dict round-trips through a fresh layer', () => {
    const a = new nn.ConvTranspose2d(4, 6, [3, 2], { groups: 2 });
    expect(a.weight.shape).toEqual([4, 3, 3, 2]);
    const b = new nn.ConvTranspose2d(4, 6, [3, 2], { groups: 2 });
    b.loadStateDict(a.stateDict());
    const x = torch.randn([1, 4, 3, 3]);
    expect(a.forward(x).sub(b.forward(x)).abs().max().item()).toBe(0);
    expect(() => new nn.ConvTranspose2d(4, 6, [2, 3], { groups: 2 }).loadStateDict(a.stateDict())).toThrow(/weight/);
  });
});
