// Layer behaviour beyond the PyTorch fixtures: modes (dropout, batch norm
// running statistics), default initialisation, container APIs, printing of
// non-default options, and error messages.
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import type { Tensor } from '../../lib/tensor.js';

function values(t: Tensor): number[] {
  return Array.from(t.toTypedArray() as Float32Array);
}

function meanStd(t: Tensor): { mean: number; std: number; min: number; max: number } {
  const v = values(t);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
  return { mean, std, min: Math.min(...v), max: Math.max(...v) };
}

describe('Dropout', () => {
  it('in training zeroes about p of the elements and scales the rest by 1 / (1 - p)', () => {
    torch.manualSeed(3);
    const d = new nn.Dropout(0.3);
    const x = torch.ones([200, 500], { requiresGrad: true });
    const y = d.forward(x);
    const v = values(y);
    const zeros = v.filter((e) => e === 0).length / v.length;
    expect(Math.abs(zeros - 0.3)).toBeLessThan(0.01);
    for (const e of v) if (e !== 0) expect(e).toBeCloseTo(1 / 0.7, 5);
    // The gradient passes through the same mask with the same scale.
    y.sum().backward();
    expect(values(x.grad!)).toEqual(v);
  });

  it('is the identity in eval mode and with p = 0, and all zeros with p = 1', () => {
    const x = torch.randn(4, 5);
    const d = new nn.Dropout(0.5);
    d.eval();
    expect(d.forward(x).equal(x)).toBe(true);
    expect(new nn.Dropout(0).forward(x).equal(x)).toBe(true);
    expect(new nn.Dropout(1).forward(x).abs().sum().item()).toBe(0);
  });

  it('follows eval() of an enclosing model', () => {
    const m = new nn.Sequential(new nn.Linear(4, 4), new nn.Dropout(0.9));
    const x = torch.randn(3, 4);
    m.eval();
    expect(m.forward(x).equal(m.forward(x))).toBe(true);
  });

  it('inplace writes into its input and still backpropagates through the mask', () => {
    torch.manualSeed(4);
    const a = torch.ones([20, 20], { requiresGrad: true });
    const h = a.mul(1);
    const y = new nn.Dropout(0.5, { inplace: true }).forward(h);
    expect(y).toBe(h);
    y.sum().backward();
    expect(values(a.grad!)).toEqual(values(y));
    expect(String(new nn.Dropout({ p: 0.1, inplace: true }))).toBe('Dropout(p=0.1, inplace=True)');
  });

  it('is reproducible under torch.manualSeed', () => {
    const x = torch.ones(50, 50);
    const d = new nn.Dropout(0.5);
    torch.manualSeed(11);
    const a = d.forward(x);
    torch.manualSeed(11);
    expect(d.forward(x).equal(a)).toBe(true);
  });

  it('rejects p outside [0, 1]', () => {
    expect(() => new nn.Dropout(1.5)).toThrow(/Dropout: dropout probability has to be between 0 and 1, but got 1.5/);
    expect(() => new nn.Dropout(-0.1)).toThrow(RangeError);
  });
});

describe('BatchNorm', () => {
  it('initialises as PyTorch: weight 1, bias 0, running_mean 0, running_var 1, num_batches_tracked 0 (int64)', () => {
    const bn = new nn.BatchNorm2d(3);
    expect(bn.weight!.tolist()).toEqual([1, 1, 1]);
    expect(bn.bias!.tolist()).toEqual([0, 0, 0]);
    expect(bn.runningMean!.tolist()).toEqual([0, 0, 0]);
    expect(bn.runningVar!.tolist()).toEqual([1, 1, 1]);
    expect(bn.numBatchesTracked!.dtype).toBe('int64');
    expect(bn.numBatchesTracked!.item()).toBe(0);
    expect(bn.runningMean).toBe(bn.running_mean);
    expect(bn.namedBuffers().map(([n]) => n)).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
    expect(Object.keys(bn.stateDict())).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  });

  it('updates running stats and the batch counter only in training', () => {
    const bn = new nn.BatchNorm1d(2);
    const x = torch.tensor(
      [
        [1, 10],
        [3, 20],
        [5, 30],
      ],
      { dtype: 'float32' },
    );
    bn.forward(x);
    bn.forward(x);
    expect(bn.numBatchesTracked!.item()).toBe(2);
    // Two updates with momentum 0.1 towards the batch mean [3, 20]: 0.19 of it.
    const running = bn.runningMean!.tolist() as number[];
    expect(running[0]).toBeCloseTo(0.19 * 3, 5);
    expect(running[1]).toBeCloseTo(0.19 * 20, 4);
    bn.eval();
    const before = bn.runningMean!.clone();
    const y = bn.forward(x);
    expect(bn.numBatchesTracked!.item()).toBe(2);
    expect(bn.runningMean!.equal(before)).toBe(true);
    // Eval normalises with the running stats.
    const rm = bn.runningMean!.tolist() as number[];
    const rv = bn.runningVar!.tolist() as number[];
    expect((y.tolist() as number[][])[0][1]).toBeCloseTo((10 - rm[1]) / Math.sqrt(rv[1] + 1e-5), 4);
  });

  it('momentum: null keeps a cumulative average', () => {
    const bn = new nn.BatchNorm1d(1, { momentum: null });
    bn.forward(torch.tensor([[1], [3]], { dtype: 'float32' }));
    bn.forward(torch.tensor([[5], [7]], { dtype: 'float32' }));
    bn.forward(torch.tensor([[0], [0]], { dtype: 'float32' }));
    expect(bn.runningMean!.item()).toBeCloseTo((2 + 6 + 0) / 3, 5);
  });

  it('trackRunningStats: false has no buffers and always uses batch statistics', () => {
    const bn = new nn.BatchNorm2d(2, { trackRunningStats: false, affine: false });
    expect(bn.buffers()).toEqual([]);
    expect(bn.parameters()).toEqual([]);
    expect(Object.keys(bn.stateDict())).toEqual([]);
    bn.eval();
    const y = bn.forward(torch.randn(4, 2, 3, 3));
    expect(Math.abs(y.mean().item())).toBeLessThan(1e-5);
  });

  it('resetRunningStats() restores the initial buffers', () => {
    const bn = new nn.BatchNorm1d(3);
    bn.forward(torch.randn(5, 3));
    bn.resetRunningStats();
    expect(bn.runningMean!.tolist()).toEqual([0, 0, 0]);
    expect(bn.runningVar!.tolist()).toEqual([1, 1, 1]);
    expect(bn.numBatchesTracked!.item()).toBe(0);
  });

  it('converts to float64 with the model, leaving the counter int64', () => {
    const bn = new nn.BatchNorm1d(3).double();
    expect(bn.runningMean!.dtype).toBe('float64');
    expect(bn.numBatchesTracked!.dtype).toBe('int64');
    expect(bn.forward(torch.randn([4, 3], { dtype: 'float64' })).dtype).toBe('float64');
    expect(bn.numBatchesTracked!.item()).toBe(1);
  });

  it('rejects inputs of the wrong rank or channel count', () => {
    expect(() => new nn.BatchNorm2d(3).forward(torch.randn(2, 3, 4))).toThrow(
      /BatchNorm2d: expected 4D input \(got 3D input of shape \[2, 3, 4\]\)/,
    );
    expect(() => new nn.BatchNorm1d(3).forward(torch.randn(2, 3, 4, 5))).toThrow(/BatchNorm1d: expected 2D or 3D input \(got 4D/);
    expect(() => new nn.BatchNorm1d(3).forward(torch.randn(2, 4))).toThrow(
      /BatchNorm1d: expected input with 3 features in dim 1, got shape \[2, 4\]/,
    );
    expect(() => new nn.BatchNorm1d(0)).toThrow(/BatchNorm1d: numFeatures must be >= 1/);
    expect(() => new nn.BatchNorm1d(3, { momentum: 'x' as never })).toThrow(/momentum must be a number or null/);
  });
});

describe('LayerNorm', () => {
  it('initialises weight to ones and bias to zeros over normalizedShape', () => {
    const ln = new nn.LayerNorm([2, 3]);
    expect(ln.weight!.shape).toEqual([2, 3]);
    expect(ln.weight!.tolist()).toEqual([
      [1, 1, 1],
      [1, 1, 1],
    ]);
    expect(ln.bias!.tolist()).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(new nn.LayerNorm(4, { elementwiseAffine: false }).parameters()).toEqual([]);
  });

  it('rejects an input whose trailing shape does not match', () => {
    expect(() => new nn.LayerNorm(5).forward(torch.randn(3, 4))).toThrow(/layerNorm: given normalizedShape=\[5\]/);
  });
});

describe('Linear and Conv2d', () => {
  it('Conv2d initialises weight and bias in U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = inC/groups * kh * kw', () => {
    torch.manualSeed(0);
    const conv = new nn.Conv2d(64, 128, [3, 2], { groups: 2 });
    expect(conv.weight.shape).toEqual([128, 32, 3, 2]);
    const bound = 1 / Math.sqrt(32 * 6);
    const w = meanStd(conv.weight);
    expect(w.min).toBeGreaterThanOrEqual(-bound);
    expect(w.max).toBeLessThanOrEqual(bound);
    expect(w.max).toBeGreaterThan(0.99 * bound);
    expect(w.std / ((2 * bound) / Math.sqrt(12))).toBeCloseTo(1, 1);
    const b = meanStd(conv.bias!);
    expect(b.min).toBeGreaterThanOrEqual(-bound);
    expect(b.max).toBeLessThanOrEqual(bound);
  });

  it('Conv2d validates its arguments', () => {
    expect(() => new nn.Conv2d(3, 4, 3, { groups: 2 })).toThrow(/Conv2d: inChannels \(3\) must be divisible by groups \(2\)/);
    expect(() => new nn.Conv2d(4, 3, 3, { groups: 2 })).toThrow(/outChannels \(3\) must be divisible by groups/);
    expect(() => new nn.Conv2d(1, 1, 3, { padding: 'same', stride: 2 })).toThrow(
      /padding='same' is not supported for strided convolutions/,
    );
    expect(() => new nn.Conv2d(1, 1, [3, 3, 3] as never)).toThrow(/kernelSize must be an integer or a pair/);
    expect(() => new nn.Conv2d(1, 1, 0)).toThrow(/kernelSize\[0\] must be >= 1/);
    expect(() => new nn.Conv2d(1, 1, 3, { paddingMode: 'reflect' as never })).toThrow(/paddingMode 'reflect' is not supported/);
    expect(() => new nn.Conv2d(3, 4, 3).forward(torch.randn(1, 2, 5, 5))).toThrow(/conv2d/);
  });

  it('Linear rejects an input with the wrong number of features', () => {
    expect(() => new nn.Linear(3, 2).forward(torch.randn(4, 5))).toThrow(/linear: input \[4, 5\] and weight \[2, 3\]/);
    expect(() => new nn.Linear(-1, 2)).toThrow(/Linear: inFeatures must be >= 0/);
    expect(() => new nn.Linear(2.5, 2)).toThrow(/Linear: inFeatures must be an integer/);
    expect(() => new nn.Linear(2, 2, { dtype: 'int64' })).toThrow(/floating point dtype/);
  });
});

describe('Embedding', () => {
  it('initialises from N(0, 1)', () => {
    torch.manualSeed(2);
    const s = meanStd(new nn.Embedding(1000, 100).weight);
    expect(Math.abs(s.mean)).toBeLessThan(0.01);
    expect(Math.abs(s.std - 1)).toBeLessThan(0.01);
  });

  it('paddingIdx: a zero row that gets no gradient', () => {
    const e = new nn.Embedding(5, 3, { paddingIdx: 1 });
    expect(e.weight.select(0, 1).tolist()).toEqual([0, 0, 0]);
    e.forward(torch.tensor([1, 2, 1]))
      .sum()
      .backward();
    expect(e.weight.grad!.select(0, 1).tolist()).toEqual([0, 0, 0]);
    expect(e.weight.grad!.select(0, 2).tolist()).toEqual([1, 1, 1]);
    expect(String(new nn.Embedding(10, 3, { paddingIdx: -1 }))).toBe('Embedding(10, 3, padding_idx=9)');
  });

  it('fromPretrained wraps a tensor, frozen by default', () => {
    const w = torch.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: 'float32' },
    );
    const e = nn.Embedding.fromPretrained(w);
    expect(e.weight.requiresGrad).toBe(false);
    expect(e.forward(torch.tensor([1, 0])).tolist()).toEqual([
      [3, 4],
      [1, 2],
    ]);
    expect(nn.Embedding.fromPretrained(w, { freeze: false }).weight.requiresGrad).toBe(true);
  });

  it('rejects out-of-range indices', () => {
    expect(() => new nn.Embedding(4, 2).forward(torch.tensor([0, 4]))).toThrow(/embedding: index 4 is out of range for 4 embeddings/);
    expect(() => new nn.Embedding(4, 2, { paddingIdx: 4 })).toThrow(/paddingIdx must be within numEmbeddings/);
  });
});

describe('activations', () => {
  it('ReLU({ inplace: true }) writes into its input', () => {
    const x = torch.tensor([-1, 2, -3], { dtype: 'float32' });
    const y = new nn.ReLU({ inplace: true }).forward(x);
    expect(y).toBe(x);
    expect(x.tolist()).toEqual([0, 2, 0]);
  });

  it('LeakyReLU inplace gives the same values and gradients as out of place', () => {
    const a = torch.tensor([-1, 2, -3], { dtype: 'float32', requiresGrad: true });
    const y1 = new nn.LeakyReLU(0.1).forward(a);
    const h = a.mul(1);
    const y2 = new nn.LeakyReLU(0.1, { inplace: true }).forward(h);
    expect(y2).toBe(h);
    expect(y2.allclose(y1)).toBe(true);
    y2.sum().backward();
    expect(a.grad!.allclose(torch.tensor([0.1, 1, 0.1], { dtype: 'float32' }))).toBe(true);
  });

  it("Softmax without a dim uses PyTorch's legacy choice", () => {
    const x = torch.randn(3, 4);
    expect(new nn.Softmax().forward(x).sum(1).allclose(torch.ones(3))).toBe(true);
    expect(new nn.LogSoftmax(0).forward(x).exp().sum(0).allclose(torch.ones(4))).toBe(true);
  });

  it('GELU rejects an unknown approximation', () => {
    expect(() => new nn.GELU('fast' as never)).toThrow(/GELU: approximate must be 'none' or 'tanh'/);
    expect(String(new nn.GELU({ approximate: 'tanh' }))).toBe("GELU(approximate='tanh')");
  });
});

describe('printing non-default options (strings from PyTorch 1.13)', () => {
  const cases: [nn.Module, string][] = [
    [new nn.ReLU({ inplace: true }), 'ReLU(inplace=True)'],
    [new nn.LeakyReLU(), 'LeakyReLU(negative_slope=0.01)'],
    [new nn.LeakyReLU(0.2, { inplace: true }), 'LeakyReLU(negative_slope=0.2, inplace=True)'],
    [new nn.Softmax(), 'Softmax(dim=None)'],
    [new nn.Dropout(), 'Dropout(p=0.5, inplace=False)'],
    [new nn.Dropout(0.25), 'Dropout(p=0.25, inplace=False)'],
    [
      new nn.BatchNorm1d(3, { eps: 1e-3, momentum: 0.01 }),
      'BatchNorm1d(3, eps=0.001, momentum=0.01, affine=True, track_running_stats=True)',
    ],
    [
      new nn.BatchNorm2d(16, { momentum: null, affine: false, trackRunningStats: false }),
      'BatchNorm2d(16, eps=1e-05, momentum=None, affine=False, track_running_stats=False)',
    ],
    [new nn.LayerNorm([2, 3], { eps: 1e-6, elementwiseAffine: false }), 'LayerNorm((2, 3), eps=1e-06, elementwise_affine=False)'],
    [
      new nn.Conv2d(2, 4, [3, 5], { groups: 2, bias: false, dilation: 2 }),
      'Conv2d(2, 4, kernel_size=(3, 5), stride=(1, 1), dilation=(2, 2), groups=2, bias=False)',
    ],
    [new nn.MaxPool2d(3, { stride: 1, padding: 1 }), 'MaxPool2d(kernel_size=3, stride=1, padding=1, dilation=1, ceil_mode=False)'],
    [new nn.MaxPool2d([2, 3]), 'MaxPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0, dilation=1, ceil_mode=False)'],
    [new nn.AdaptiveAvgPool2d([2, 3]), 'AdaptiveAvgPool2d(output_size=(2, 3))'],
    [new nn.MSELoss({ reduction: 'sum' }), 'MSELoss()'],
    [new nn.Unflatten(1, [2, 5]), 'Unflatten(dim=1, unflattened_size=(2, 5))'],
    [new nn.Lambda((x: Tensor) => x), 'Lambda()'],
    [
      new nn.ModuleList([new nn.Linear(2, 2), new nn.ReLU()]),
      'ModuleList(\n  (0): Linear(in_features=2, out_features=2, bias=True)\n  (1): ReLU()\n)',
    ],
  ];
  for (const [m, s] of cases) {
    it(s.split('\n')[0], () => {
      expect(String(m)).toBe(s);
    });
  }
});

describe('Sequential', () => {
  it('chains forward and is indexable and iterable', () => {
    const a = new nn.Linear(3, 4);
    const r = new nn.ReLU();
    const b = new nn.Linear(4, 2);
    const s = new nn.Sequential(a, r, b);
    expect(s.length).toBe(3);
    expect(s.get(0)).toBe(a);
    expect(s.get(-1)).toBe(b);
    expect([...s]).toEqual([a, r, b]);
    const x = torch.randn(5, 3);
    expect(s.forward(x).equal(b.forward(r.forward(a.forward(x))))).toBe(true);
    expect(s.call(x).equal(s.forward(x))).toBe(true);
    expect(() => s.get(3)).toThrow(/Sequential.get: index 3 is out of range for a container of length 3/);
  });

  it('append, insert, pop and slice keep the numbering contiguous', () => {
    const s = new nn.Sequential(new nn.Linear(2, 2), new nn.Linear(2, 2));
    s.append(new nn.Tanh());
    s.insert(1, new nn.ReLU());
    expect(s.namedChildren().map(([n, m]) => `${n}:${m.constructor.name}`)).toEqual(['0:Linear', '1:ReLU', '2:Linear', '3:Tanh']);
    expect(s.pop(1)).toBeInstanceOf(nn.ReLU);
    expect(Object.keys(s.stateDict())).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    const sub = s.slice(1);
    expect(sub).toBeInstanceOf(nn.Sequential);
    expect(sub.length).toBe(2);
    expect(sub.get(0)).toBe(s.get(1));
  });

  it("takes named modules (PyTorch's OrderedDict form)", () => {
    const s = new nn.Sequential({ fc: new nn.Linear(2, 3), act: new nn.ReLU(), out: new nn.Linear(3, 1) });
    expect(Object.keys(s.stateDict())).toEqual(['fc.weight', 'fc.bias', 'out.weight', 'out.bias']);
    expect(String(s)).toContain('(act): ReLU()');
    expect(() => new nn.Sequential({ 'a.b': new nn.ReLU() })).toThrow(/Sequential: module name can't be empty or contain "\."/);
  });

  it('with a Lambda, as the seed tutorial builds its CNN', () => {
    const model = new nn.Sequential(
      new nn.Lambda((x: Tensor) => x.view(-1, 1, 28, 28)),
      new nn.Conv2d(1, 16, 3, { stride: 2, padding: 1 }),
      new nn.ReLU(),
      new nn.Conv2d(16, 10, 3, { stride: 2, padding: 1 }),
      new nn.ReLU(),
      new nn.AdaptiveAvgPool2d(1),
      new nn.Lambda((x: Tensor) => x.view(x.size(0) as number, -1)),
    );
    expect(model.forward(torch.randn(3, 784)).shape).toEqual([3, 10]);
    expect(model.namedParameters().map(([n]) => n)).toEqual(['1.weight', '1.bias', '3.weight', '3.bias']);
  });

  it('rejects things that are not modules', () => {
    expect(() => new nn.Sequential(new nn.ReLU(), ((x: Tensor) => x) as never)).toThrow(/Sequential: argument 1 is not a Module subclass/);
    expect(() => new nn.Sequential().append(3 as never)).toThrow(/Sequential.append/);
  });
});

describe('ModuleList, Identity, Lambda', () => {
  it('ModuleList holds modules whose parameters the owner lists', () => {
    class M extends nn.Module {
      layers = new nn.ModuleList([new nn.Linear(2, 2)]);
      constructor() {
        super();
        this.layers.push(new nn.Linear(2, 3));
        this.layers.append(new nn.Linear(3, 1));
      }
      forward(x: Tensor): Tensor {
        for (const l of this.layers) x = l.forward(x);
        return x;
      }
    }
    const m = new M();
    expect(m.layers.length).toBe(3);
    expect(m.namedParameters().map(([n]) => n)).toEqual([
      'layers.0.weight',
      'layers.0.bias',
      'layers.1.weight',
      'layers.1.bias',
      'layers.2.weight',
      'layers.2.bias',
    ]);
    expect(m.forward(torch.randn(4, 2)).shape).toEqual([4, 1]);
    m.layers.set(2, new nn.Linear(3, 5));
    expect(m.forward(torch.randn(4, 2)).shape).toEqual([4, 5]);
    expect(() => m.layers.forward()).toThrow(/ModuleList: a ModuleList has no forward/);
    expect(() => new nn.ModuleList([new nn.ReLU(), 'x' as never])).toThrow(/ModuleList: element 1 is not a Module subclass/);
  });

  it('Identity returns its input; Lambda applies its function', () => {
    const x = torch.randn(2);
    expect(new nn.Identity(54, { unused: true }).forward(x)).toBe(x);
    expect(new nn.Lambda((t: Tensor) => t.mul(2)).forward(x).equal(x.mul(2))).toBe(true);
    expect(() => new nn.Lambda(3 as never)).toThrow(/Lambda: expected a function/);
  });

  it('Flatten keeps the batch dim by default', () => {
    expect(new nn.Flatten().forward(torch.randn(2, 3, 4)).shape).toEqual([2, 12]);
    expect(new nn.Unflatten(1, [3, 4]).forward(torch.randn(2, 12)).shape).toEqual([2, 3, 4]);
  });
});

describe('losses', () => {
  it('validate their options', () => {
    expect(() => new nn.MSELoss({ reduction: 'avg' as never })).toThrow(/MSELoss: reduction must be 'mean', 'sum' or 'none', got avg/);
    expect(() => new nn.CrossEntropyLoss({ labelSmoothing: 2 })).toThrow(/labelSmoothing must be between 0.0 and 1.0/);
    expect(() => new nn.NLLLoss({ weight: [1, 2] as never })).toThrow(/NLLLoss: weight must be a Tensor or null/);
  });

  it('keep a class weight as the buffer "weight", as PyTorch does', () => {
    const w = torch.tensor([1, 2, 3], { dtype: 'float32' });
    const l = new nn.CrossEntropyLoss({ weight: w });
    expect(l.buffers()).toEqual([w]);
    expect(Object.keys(l.stateDict())).toEqual(['weight']);
    expect(Object.keys(new nn.CrossEntropyLoss().stateDict())).toEqual([]);
    expect(new nn.BCEWithLogitsLoss({ posWeight: w }).posWeight).toBe(w);
  });

  it('train a small classifier end to end (loss goes down)', () => {
    torch.manualSeed(0);
    const x = torch.randn(64, 2);
    const y = x.index(':', 0).gt(x.index(':', 1)).long();
    const model = new nn.Sequential(new nn.Linear(2, 16), new nn.ReLU(), new nn.Linear(16, 2));
    const lossFn = new nn.CrossEntropyLoss();
    const first = lossFn.forward(model.forward(x), y).item();
    let last = first;
    for (let i = 0; i < 100; i++) {
      model.zeroGrad();
      const loss = lossFn.forward(model.forward(x), y);
      loss.backward();
      torch.noGrad(() => {
        for (const p of model.parameters()) p.sub_(p.grad!.mul(0.5));
      });
      last = loss.item();
    }
    expect(last).toBeLessThan(first / 3);
  });
});

describe('float64 gradcheck through layers (input and every parameter)', () => {
  const f64 = { dtype: 'float64' as const, requiresGrad: true };
  const cases: [string, () => nn.Module, () => Tensor[]][] = [
    ['Linear', () => new nn.Linear(3, 2), () => [torch.randn([4, 3], f64)]],
    ['Conv2d', () => new nn.Conv2d(2, 2, 3, { stride: 2, padding: 1 }), () => [torch.randn([1, 2, 4, 4], f64)]],
    ['Conv2d groups', () => new nn.Conv2d(2, 4, [2, 1], { groups: 2, dilation: [1, 2] }), () => [torch.randn([1, 2, 3, 4], f64)]],
    ['BatchNorm2d (training)', () => new nn.BatchNorm2d(2), () => [torch.randn([3, 2, 2, 2], f64)]],
    ['BatchNorm1d (eval)', () => new nn.BatchNorm1d(3).eval(), () => [torch.randn([4, 3], f64)]],
    ['LayerNorm', () => new nn.LayerNorm([2, 3]), () => [torch.randn([2, 2, 3], f64)]],
    ['GELU tanh', () => new nn.GELU('tanh'), () => [torch.randn([5], f64)]],
    ['AvgPool2d', () => new nn.AvgPool2d(2, { stride: 1, padding: 1 }), () => [torch.randn([1, 1, 3, 3], f64)]],
    [
      'MLP',
      () => new nn.Sequential(new nn.Linear(3, 4), new nn.Tanh(), new nn.Linear(4, 2), new nn.LogSoftmax(1)),
      () => [torch.randn([2, 3], f64)],
    ],
    ['CrossEntropyLoss', () => new nn.CrossEntropyLoss({ labelSmoothing: 0.1 }), () => [torch.randn([3, 4], f64), torch.tensor([0, 3, 1])]],
  ];
  for (const [name, make, inputs] of cases) {
    it(name, () => {
      torch.manualSeed(9);
      const m = make().double();
      const xs = inputs();
      const fn = (...args: Tensor[]) => m.forward(...args.slice(0, xs.length)) as Tensor;
      expect(torch.autograd.gradcheck(fn, [...xs, ...m.parameters()])).toBe(true);
    });
  }

  it('Embedding (weight only)', () => {
    const e = new nn.Embedding(4, 2).double();
    const idx = torch.tensor([
      [0, 2],
      [2, 3],
    ]);
    expect(torch.autograd.gradcheck(() => e.forward(idx), [e.weight])).toBe(true);
  });
});
