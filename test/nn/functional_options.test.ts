// nn.functional binds its arguments as Python does (lib/util/args.ts, the
// declarations in lib/nn/functional.ts): each F function takes PyTorch's
// signature in camelCase, every parameter positionally in PyTorch's order
// or by name in one trailing options object, and an unknown key is a
// TypeError naming the function, the key and the nearest valid name. A
// parameter after one PyTorch has and Kindling does not (the deprecated
// sizeAverage and reduce of the losses) is keyword-only.
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import * as F from '../../lib/nn/functional.js';
import type { Tensor } from '../../lib/tensor.js';

torch.manualSeed(17);
const x4 = torch.randn([2, 3, 6, 6]);
const w4 = torch.randn([4, 3, 3, 3]);
const b4 = torch.randn([4]);
const logits = torch.randn([5, 4]);
const target = torch.tensor([0, 3, 1, 1, 2]);
const probs = torch.rand([5, 4]).mul(0.8).add(0.1);
const labels = torch.rand([5, 4]);
const idx = torch.tensor([
  [0, 2],
  [1, 0],
]);
const table = torch.randn([3, 4]);

function same(a: Tensor, b: Tensor): void {
  expect(a.shape).toEqual(b.shape);
  expect(a.dtype).toBe(b.dtype);
  expect(a.sub(b).abs().max().item()).toBeLessThanOrEqual(1e-6);
}

/** A call through its options form and through its positional form, seeded alike for dropout. */
function seeded<T>(f: () => T): T {
  torch.manualSeed(5);
  return f();
}

describe('the options forms of the brief', () => {
  it('oneHot(t, { numClasses })', () => {
    const t = torch.tensor([0, 2, 1]);
    same(F.oneHot(t, { numClasses: 3 }), F.oneHot(t, 3));
    expect(F.oneHot(t, { numClasses: 5 }).shape).toEqual([3, 5]);
  });
  it('softmax(x, { dim })', () => {
    same(F.softmax(logits, { dim: 1 }), F.softmax(logits, 1));
    same(F.softmax(logits, { dim: 0 }), logits.softmax(0));
    same(F.logSoftmax(logits, { dim: 1 }), logits.logSoftmax(1));
  });
  it("crossEntropy(x, y, { reduction: 'sum', labelSmoothing })", () => {
    const sum = F.crossEntropy(logits, target, { reduction: 'sum', labelSmoothing: 0.1 });
    const none = F.crossEntropy(logits, target, { reduction: 'none', labelSmoothing: 0.1 });
    expect(sum.item()).toBeCloseTo(none.sum().item(), 5);
    // Smoothing moves the loss off the unsmoothed one.
    expect(Math.abs(sum.item() - F.crossEntropy(logits, target, { reduction: 'sum' }).item())).toBeGreaterThan(1e-3);
  });
  it('conv2d(x, w, { stride, padding }) leaves bias out', () => {
    const y = F.conv2d(x4, w4, { stride: 2, padding: 1 });
    expect(y.shape).toEqual([2, 4, 3, 3]);
    same(y, F.conv2d(x4, w4, null, 2, 1));
    same(F.conv2d(x4, w4, b4, { stride: 2, padding: 1 }), F.conv2d(x4, w4, b4, 2, 1));
  });
  it('maxPool2d(x, { kernelSize })', () => {
    same(F.maxPool2d(x4, { kernelSize: 2 }), F.maxPool2d(x4, 2));
    const r = F.maxPool2d(x4, { kernelSize: 2, returnIndices: true });
    same(r.values, F.maxPool2d(x4, 2));
    expect(r.indices.dtype).toBe('int64');
  });
  it('dropout(x, { p, training })', () => {
    same(
      seeded(() => F.dropout(x4, { p: 0.5, training: true })),
      seeded(() => F.dropout(x4, 0.5, true)),
    );
    expect(F.dropout(x4, { p: 0.5, training: false })).toBe(x4);
  });
  it("gelu(x, { approximate: 'tanh' })", () => {
    same(F.gelu(logits, { approximate: 'tanh' }), F.gelu(logits, 'tanh'));
    expect(F.gelu(logits, { approximate: 'tanh' }).sub(F.gelu(logits)).abs().max().item()).toBeGreaterThan(0);
  });
  it('linear(x, w, b)', () => {
    const w = torch.randn([2, 4]),
      b = torch.randn([2]);
    same(F.linear(logits, w, b), logits.matmul(w.t()).add(b));
    same(F.linear(logits, { weight: w, bias: b }), F.linear(logits, w, b));
  });
});

// Every F function: the positional call and the all-keyword call agree.
// [name, positional, keyword]
const forms: [string, () => unknown, () => unknown][] = [
  ['linear', () => F.linear(logits, table, null), () => F.linear({ input: logits, weight: table, bias: null })],
  ['relu', () => F.relu(logits, false), () => F.relu({ input: logits, inplace: false })],
  ['leakyRelu', () => F.leakyRelu(logits, 0.2, false), () => F.leakyRelu(logits, { negativeSlope: 0.2, inplace: false })],
  ['gelu', () => F.gelu(logits, 'none'), () => F.gelu({ input: logits, approximate: 'none' })],
  ['sigmoid', () => F.sigmoid(logits), () => F.sigmoid({ input: logits })],
  ['tanh', () => F.tanh(logits), () => F.tanh({ input: logits })],
  ['softplus', () => F.softplus(logits, 2, 1), () => F.softplus(logits, { beta: 2, threshold: 1 })],
  ['softmax', () => F.softmax(logits, 0), () => F.softmax(logits, { dim: 0, dtype: 'float64' }).float()],
  ['logSoftmax', () => F.logSoftmax(logits, 1), () => F.logSoftmax({ input: logits, dim: 1 })],
  [
    'conv2d',
    () => F.conv2d(x4, w4, b4, 1, 'same', 1, 1),
    () => F.conv2d(x4, w4, { bias: b4, stride: 1, padding: 'same', dilation: 1, groups: 1 }),
  ],
  [
    'maxPool2d',
    () => F.maxPool2d(x4, 3, 2, 1, 1, true),
    () => F.maxPool2d(x4, { kernelSize: 3, stride: 2, padding: 1, dilation: 1, ceilMode: true }),
  ],
  [
    'maxPool2dWithIndices',
    () => F.maxPool2dWithIndices(x4, 2, 1).indices,
    () => F.maxPool2dWithIndices(x4, { kernelSize: 2, stride: 1, returnIndices: true }).indices,
  ],
  [
    'avgPool2d',
    () => F.avgPool2d(x4, 3, 2, 1, true, false, 2),
    () => F.avgPool2d(x4, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false, divisorOverride: 2 }),
  ],
  ['adaptiveAvgPool2d', () => F.adaptiveAvgPool2d(x4, [2, 3]), () => F.adaptiveAvgPool2d(x4, { outputSize: [2, 3] })],
  [
    'dropout',
    () => seeded(() => F.dropout(x4, 0.3, true, false)),
    () => seeded(() => F.dropout(x4, { p: 0.3, training: true, inplace: false })),
  ],
  [
    'batchNorm',
    () => F.batchNorm(x4, torch.zeros([3]), torch.ones([3]), torch.ones([3]), torch.zeros([3]), false, 0.2, 1e-3),
    () =>
      F.batchNorm(x4, {
        runningMean: torch.zeros([3]),
        runningVar: torch.ones([3]),
        weight: torch.ones([3]),
        bias: torch.zeros([3]),
        training: false,
        momentum: 0.2,
        eps: 1e-3,
      }),
  ],
  ['layerNorm', () => F.layerNorm(logits, [4], null, null, 1e-3), () => F.layerNorm(logits, { normalizedShape: [4], eps: 1e-3 })],
  ['embedding', () => F.embedding(idx, table, 0), () => F.embedding(idx, { weight: table, paddingIdx: 0 })],
  ['oneHot', () => F.oneHot(target, 6), () => F.oneHot({ tensor: target, numClasses: 6 })],
  [
    'crossEntropy',
    () => F.crossEntropy(logits, target, torch.ones([4]), { ignoreIndex: 1, reduction: 'sum', labelSmoothing: 0.2 }),
    () => F.crossEntropy({ input: logits, target, weight: torch.ones([4]), ignoreIndex: 1, reduction: 'sum', labelSmoothing: 0.2 }),
  ],
  [
    'nllLoss',
    () => F.nllLoss(logits, target, torch.ones([4]), { ignoreIndex: 1, reduction: 'none' }),
    () => F.nllLoss(logits, { target, weight: torch.ones([4]), ignoreIndex: 1, reduction: 'none' }),
  ],
  ['mseLoss', () => F.mseLoss(logits, labels, { reduction: 'sum' }), () => F.mseLoss({ input: logits, target: labels, reduction: 'sum' })],
  ['l1Loss', () => F.l1Loss(logits, labels, { reduction: 'none' }), () => F.l1Loss(logits, { target: labels, reduction: 'none' })],
  [
    'binaryCrossEntropy',
    () => F.binaryCrossEntropy(probs, labels, torch.ones([4]), { reduction: 'sum' }),
    () => F.binaryCrossEntropy(probs, labels, { weight: torch.ones([4]), reduction: 'sum' }),
  ],
  [
    'binaryCrossEntropyWithLogits',
    () => F.binaryCrossEntropyWithLogits(logits, labels, torch.ones([4]), { reduction: 'none', posWeight: torch.full([4], 2) }),
    () => F.binaryCrossEntropyWithLogits(logits, labels, { weight: torch.ones([4]), reduction: 'none', posWeight: torch.full([4], 2) }),
  ],
];

const fnames = (): string[] =>
  Object.entries(F)
    .filter(([, v]) => typeof v === 'function')
    .map(([k]) => k)
    .sort();

describe('every F function takes each parameter positionally or by name', () => {
  it('lists every function F exports', () => {
    expect(forms.map(([n]) => n).sort()).toEqual(fnames());
  });
  for (const [name, positional, keyword] of forms) {
    it(name, () => {
      const a = positional() as Tensor,
        b = keyword() as Tensor;
      same(a, b);
    });
  }
});

describe('F functions are declared ops, not Tensor methods', () => {
  it('each export is its own declaration, named as exported', () => {
    for (const name of fnames()) {
      const spec = (F as unknown as Record<string, { spec?: { name: string; params: { name: string }[] } }>)[name].spec;
      expect(spec?.name, name).toBe(name);
      // camelCase names only: no Python spellings leak through.
      for (const p of spec!.params) expect(p.name, `${name}: ${p.name}`).toMatch(/^[a-z][A-Za-z0-9]*$/);
    }
  });
  it('none of the losses, pools or conv are attached to Tensor', () => {
    const proto = torch.Tensor.prototype as unknown as Record<string, unknown>;
    for (const name of [
      'conv2d',
      'maxPool2d',
      'avgPool2d',
      'crossEntropy',
      'nllLoss',
      'mseLoss',
      'batchNorm',
      'layerNorm',
      'oneHot',
      'dropout',
      'linear',
      'softplus',
    ]) {
      expect(proto[name], name).toBeUndefined();
    }
  });
});

// ---- unknown keys --------------------------------------------------------------------------
// [function, a call with an unknown key, the key, the suggestion (null: none near enough)]
const unknown: [string, () => unknown, string, string | null][] = [
  ['crossEntropy', () => F.crossEntropy(logits, target, { reduce: 'sum' } as never), 'reduce', 'reduction'],
  ['crossEntropy', () => F.crossEntropy(logits, target, { label_smoothing: 0.1 } as never), 'label_smoothing', 'labelSmoothing'],
  ['crossEntropy', () => F.crossEntropy(logits, target, { size_average: true } as never), 'size_average', null],
  ['nllLoss', () => F.nllLoss(logits, target, { labelSmoothing: 0.1 } as never), 'labelSmoothing', null],
  ['nllLoss', () => F.nllLoss(logits, target, { ignore_index: 1 } as never), 'ignore_index', 'ignoreIndex'],
  ['mseLoss', () => F.mseLoss(logits, labels, { reduce: 'sum' } as never), 'reduce', 'reduction'],
  ['l1Loss', () => F.l1Loss(logits, labels, { reductions: 'sum' } as never), 'reductions', 'reduction'],
  ['binaryCrossEntropy', () => F.binaryCrossEntropy(probs, labels, { wieght: null } as never), 'wieght', 'weight'],
  [
    'binaryCrossEntropyWithLogits',
    () => F.binaryCrossEntropyWithLogits(logits, labels, { pos_weight: null } as never),
    'pos_weight',
    'posWeight',
  ],
  ['oneHot', () => F.oneHot(target, { num_classes: 3 } as never), 'num_classes', 'numClasses'],
  ['softmax', () => F.softmax(logits, { dims: 1 } as never), 'dims', 'dim'],
  ['logSoftmax', () => F.logSoftmax(logits, { axis: 1 } as never), 'axis', null],
  ['conv2d', () => F.conv2d(x4, w4, { strides: 2 } as never), 'strides', 'stride'],
  ['conv2d', () => F.conv2d(x4, w4, null, { padding_mode: 'zeros' } as never), 'padding_mode', null],
  ['maxPool2d', () => F.maxPool2d(x4, { kernel_size: 2 } as never), 'kernel_size', 'kernelSize'],
  ['maxPool2dWithIndices', () => F.maxPool2dWithIndices(x4, 2, { ceil_mode: true } as never), 'ceil_mode', 'ceilMode'],
  ['avgPool2d', () => F.avgPool2d(x4, 2, { count_include_pad: false } as never), 'count_include_pad', 'countIncludePad'],
  ['adaptiveAvgPool2d', () => F.adaptiveAvgPool2d(x4, { output_size: 2 } as never), 'output_size', 'outputSize'],
  ['dropout', () => F.dropout(x4, { traning: true } as never), 'traning', 'training'],
  ['gelu', () => F.gelu(logits, { aproximate: 'tanh' } as never), 'aproximate', 'approximate'],
  ['relu', () => F.relu(logits, { inPlace: true } as never), 'inPlace', 'inplace'],
  ['leakyRelu', () => F.leakyRelu(logits, { negative_slope: 0.2 } as never), 'negative_slope', 'negativeSlope'],
  ['sigmoid', () => F.sigmoid(logits, { inplace: true } as never), 'inplace', null],
  ['tanh', () => F.tanh(logits, { dim: 1 } as never), 'dim', null],
  ['softplus', () => F.softplus(logits, { betta: 2 } as never), 'betta', 'beta'],
  ['linear', () => F.linear(logits, table, { bais: null } as never), 'bais', 'bias'],
  ['batchNorm', () => F.batchNorm(x4, null, null, { momentun: 0.2, training: true } as never), 'momentun', 'momentum'],
  ['layerNorm', () => F.layerNorm(logits, [4], { normalized_shape: [4] } as never), 'normalized_shape', 'normalizedShape'],
  ['embedding', () => F.embedding(idx, table, { padding_idx: 0 } as never), 'padding_idx', 'paddingIdx'],
  ['embedding', () => F.embedding(idx, table, { maxNorm: 1 } as never), 'maxNorm', null],
];

describe('unknown option keys are TypeErrors naming the function, the key and the nearest name', () => {
  it('covers every F function', () => {
    expect([...new Set(unknown.map(([n]) => n))].sort()).toEqual(fnames());
  });
  for (const [name, call, key, hint] of unknown) {
    it(`${name}: '${key}'`, () => {
      let err: unknown = null;
      try {
        call();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TypeError);
      const msg = (err as Error).message;
      expect(msg.startsWith(`${name}: unknown option '${key}'`), msg).toBe(true);
      if (hint === null) expect(msg).not.toMatch(/did you mean/);
      else expect(msg).toContain(`(did you mean '${hint}'?)`);
    });
  }
});

describe('binding errors', () => {
  it('a value given positionally and by name', () => {
    expect(() => F.softmax(logits, 1, { dim: 0 } as never)).toThrow(/^softmax: got multiple values for argument 'dim'/);
    expect(() => F.conv2d(x4, w4, b4, { bias: b4 } as never)).toThrow(/^conv2d: got multiple values for argument 'bias'/);
  });
  it("the losses' options after PyTorch's deprecated sizeAverage and reduce are keyword-only", () => {
    expect(() => F.mseLoss(logits, labels, 'sum' as never)).toThrow(/^mseLoss: takes at most 2 positional arguments but 3 were given/);
    expect(() => F.crossEntropy(logits, target, null, -100 as never)).toThrow(
      /^crossEntropy: takes at most 3 positional arguments but 4 were given/,
    );
    expect(() => F.binaryCrossEntropyWithLogits(logits, labels, null, 'sum' as never)).toThrow(TypeError);
  });
  it('a missing argument, named after any unknown key (the key is often that argument misspelt)', () => {
    expect(() => F.maxPool2d(x4, {} as never)).toThrow(/^maxPool2d: missing required argument 'kernelSize'/);
    expect(() => F.linear(logits, {} as never)).toThrow(/^linear: missing required argument 'weight'/);
    expect(() => F.maxPool2d(x4, { kernel_size: 2 } as never)).toThrow(
      /^maxPool2d: unknown option 'kernel_size' \(did you mean 'kernelSize'\?\)/,
    );
  });
  it('too many positional values', () => {
    expect(() => F.sigmoid(logits, 1 as never)).toThrow(/^sigmoid: takes 1 positional argument but 2 were given/);
    expect(() => F.relu(logits, false, 1 as never)).toThrow(/^relu: takes 2 positional arguments but 3 were given/);
  });
  it("the function's own checks still run on values given by name", () => {
    expect(() => F.dropout(x4, { p: 1.5 })).toThrow('dropout: probability has to be between 0 and 1, but got 1.5');
    expect(() => F.crossEntropy(logits, target, { reduction: 'avg' as never })).toThrow(
      /^crossEntropy: reduction must be 'mean', 'sum' or 'none', got "avg"/,
    );
    expect(() => F.conv2d(x4, w4, { stride: 0 })).toThrow(RangeError);
    expect(() => F.gelu(logits, { approximate: 'exact' as never })).toThrow(/^gelu: approximate must be 'none' or 'tanh'/);
    expect(() => F.relu({ input: 3 as never })).toThrow(/^relu: input must be a Tensor, got number/);
    expect(() => F.softmax(logits, { dtype: 'int64' })).toThrow(/^softmax: dtype must be a floating point dtype/);
  });
});

describe('inplace', () => {
  it('relu, leakyRelu and dropout write into their input', () => {
    const a = torch.tensor([-1, 2, -3]);
    const r = F.relu(a.float(), { inplace: true });
    expect(r.tolist()).toEqual([0, 2, 0]);
    const b = torch.tensor([-1, 2, -3]).float();
    expect(F.relu(b, true)).toBe(b);
    expect(b.tolist()).toEqual([0, 2, 0]);
    const c = torch.tensor([-1, 2, -4]).float();
    expect(F.leakyRelu(c, 0.5, true)).toBe(c);
    expect(c.tolist()).toEqual([-0.5, 2, -2]);
    const d = torch.ones([100]);
    expect(F.dropout(d, 0.5, true, true)).toBe(d);
    expect(new Set(d.tolist() as number[])).toEqual(new Set([0, 2]));
  });
  it('gradients flow through an in-place call on a non-leaf', () => {
    const x = torch.tensor([-1, 2, -4]).float().requiresGrad_(true);
    const h = x.mul(1);
    F.leakyRelu(h, 0.5, true).sum().backward();
    expect(x.grad!.tolist()).toEqual([0.5, 1, 0.5]);
    const y = torch.tensor([-1, 2]).float().requiresGrad_(true);
    F.relu(y.mul(2), { inplace: true }).sum().backward();
    expect(y.grad!.tolist()).toEqual([0, 2]);
  });
});
