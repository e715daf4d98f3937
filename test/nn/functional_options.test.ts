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
const x3 = torch.randn([2, 3, 9]);
const w3 = torch.randn([4, 3, 3]);
const b3 = torch.randn([4]);
const logits = torch.randn([5, 4]);
const target = torch.tensor([0, 3, 1, 1, 2]);
const probs = torch.rand([5, 4]).mul(0.8).add(0.1);
const labels = torch.rand([5, 4]);
const idx = torch.tensor([
  [0, 2],
  [1, 0],
]);
const table = torch.randn([3, 4]);
const signs = torch
  .tensor([
    [1, -1, 1, 1],
    [-1, -1, 1, -1],
    [1, 1, -1, 1],
    [-1, 1, 1, -1],
    [1, -1, -1, 1],
  ])
  .float();
const sign5 = torch.tensor([1, -1, -1, 1, 1]).float();
const multiTarget = torch.tensor([
  [0, 2, -1, 1],
  [3, -1, 0, 0],
  [1, 2, 3, 0],
  [-1, 0, 0, 0],
  [2, -1, 1, 1],
]);

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
  ['silu', () => F.silu(logits, false), () => F.silu({ input: logits, inplace: false })],
  ['mish', () => F.mish(logits, false), () => F.mish(logits, { inplace: false })],
  ['elu', () => F.elu(logits, 0.5, false), () => F.elu(logits, { alpha: 0.5, inplace: false })],
  ['selu', () => F.selu(logits, false), () => F.selu({ input: logits, inplace: false })],
  ['celu', () => F.celu(logits, 2, false), () => F.celu(logits, { alpha: 2, inplace: false })],
  ['hardtanh', () => F.hardtanh(logits, -0.5, 0.5, false), () => F.hardtanh(logits, { minVal: -0.5, maxVal: 0.5, inplace: false })],
  ['relu6', () => F.relu6(logits.mul(5), false), () => F.relu6({ input: logits.mul(5), inplace: false })],
  ['hardsigmoid', () => F.hardsigmoid(logits, false), () => F.hardsigmoid(logits, { inplace: false })],
  ['hardswish', () => F.hardswish(logits, false), () => F.hardswish(logits, { inplace: false })],
  ['logsigmoid', () => F.logsigmoid(logits), () => F.logsigmoid({ input: logits })],
  ['softsign', () => F.softsign(logits), () => F.softsign({ input: logits })],
  ['tanhshrink', () => F.tanhshrink(logits), () => F.tanhshrink({ input: logits })],
  ['hardshrink', () => F.hardshrink(logits, 0.3), () => F.hardshrink(logits, { lambd: 0.3 })],
  ['softshrink', () => F.softshrink(logits, 0.3), () => F.softshrink(logits, { lambd: 0.3 })],
  ['threshold', () => F.threshold(logits, 0.1, -1, false), () => F.threshold(logits, { threshold: 0.1, value: -1, inplace: false })],
  ['glu', () => F.glu(logits, 1), () => F.glu(logits, { dim: 1 })],
  ['prelu', () => F.prelu(logits, torch.tensor([0.1])), () => F.prelu({ input: logits, weight: torch.tensor([0.1]) })],
  ['softmin', () => F.softmin(logits, 0), () => F.softmin(logits, { dim: 0, dtype: 'float64' }).float()],
  [
    'smoothL1Loss',
    () => F.smoothL1Loss(logits, labels, { reduction: 'sum', beta: 0.5 }),
    () => F.smoothL1Loss({ input: logits, target: labels, reduction: 'sum', beta: 0.5 }),
  ],
  ['huberLoss', () => F.huberLoss(logits, labels, 'none', 0.5), () => F.huberLoss(logits, labels, { reduction: 'none', delta: 0.5 })],
  [
    'klDiv',
    () => F.klDiv(logits.logSoftmax(1), probs, { reduction: 'batchmean', logTarget: false }),
    () => F.klDiv({ input: logits.logSoftmax(1), target: probs, reduction: 'batchmean' }),
  ],
  ['cosineSimilarity', () => F.cosineSimilarity(logits, labels, 0, 1e-6), () => F.cosineSimilarity(logits, labels, { dim: 0, eps: 1e-6 })],
  [
    'pairwiseDistance',
    () => F.pairwiseDistance(logits, labels, 1, 1e-3, true),
    () => F.pairwiseDistance(logits, labels, { p: 1, eps: 1e-3, keepdim: true }),
  ],
  [
    'cosineEmbeddingLoss',
    () => F.cosineEmbeddingLoss(logits, labels, sign5, 0.2, { reduction: 'none' }),
    () => F.cosineEmbeddingLoss(logits, labels, { target: sign5, margin: 0.2, reduction: 'none' }),
  ],
  [
    'marginRankingLoss',
    () => F.marginRankingLoss(logits, labels, signs, 0.2, { reduction: 'sum' }),
    () => F.marginRankingLoss(logits, labels, signs, { margin: 0.2, reduction: 'sum' }),
  ],
  [
    'tripletMarginLoss',
    () => F.tripletMarginLoss(logits, labels, probs, 2, 1, 1e-3, true, { reduction: 'none' }),
    () => F.tripletMarginLoss(logits, labels, probs, { margin: 2, p: 1, eps: 1e-3, swap: true, reduction: 'none' }),
  ],
  [
    'poissonNllLoss',
    () => F.poissonNllLoss(probs, labels, false, true, { eps: 1e-3, reduction: 'sum' }),
    () => F.poissonNllLoss(probs, labels, { logInput: false, full: true, eps: 1e-3, reduction: 'sum' }),
  ],
  [
    'gaussianNllLoss',
    () => F.gaussianNllLoss(logits, labels, probs, true, 1e-3, 'sum'),
    () => F.gaussianNllLoss(logits, labels, { var: probs, full: true, eps: 1e-3, reduction: 'sum' }),
  ],
  [
    'multilabelSoftMarginLoss',
    () => F.multilabelSoftMarginLoss(logits, labels, torch.ones([4]), { reduction: 'none' }),
    () => F.multilabelSoftMarginLoss(logits, labels, { weight: torch.ones([4]), reduction: 'none' }),
  ],
  [
    'hingeEmbeddingLoss',
    () => F.hingeEmbeddingLoss(logits, signs, 0.5, { reduction: 'sum' }),
    () => F.hingeEmbeddingLoss(logits, { target: signs, margin: 0.5, reduction: 'sum' }),
  ],
  [
    'softMarginLoss',
    () => F.softMarginLoss(logits, signs, { reduction: 'none' }),
    () => F.softMarginLoss({ input: logits, target: signs, reduction: 'none' }),
  ],
  [
    'multiMarginLoss',
    () => F.multiMarginLoss(logits, target, 2, 0.5, torch.ones([4]), { reduction: 'none' }),
    () => F.multiMarginLoss(logits, target, { p: 2, margin: 0.5, weight: torch.ones([4]), reduction: 'none' }),
  ],
  [
    'multilabelMarginLoss',
    () => F.multilabelMarginLoss(logits, multiTarget, { reduction: 'none' }),
    () => F.multilabelMarginLoss({ input: logits, target: multiTarget, reduction: 'none' }),
  ],
  [
    'scaledDotProductAttention',
    () => seeded(() => F.scaledDotProductAttention(logits, labels, probs, null, 0.5, true, 0.4)),
    () =>
      seeded(() => F.scaledDotProductAttention({ query: logits, key: labels, value: probs, dropoutP: 0.5, isCausal: true, scale: 0.4 })),
  ],
  [
    'multiHeadAttentionForward',
    () =>
      F.multiHeadAttentionForward(
        x4.index(0, 0),
        x4.index(0, 0),
        x4.index(0, 0),
        6,
        2,
        torch.ones([18, 6]),
        null,
        null,
        null,
        true,
        0,
        torch.ones([6, 6]),
        null,
      )[0],
    () =>
      F.multiHeadAttentionForward({
        query: x4.index(0, 0),
        key: x4.index(0, 0),
        value: x4.index(0, 0),
        embedDimToCheck: 6,
        numHeads: 2,
        inProjWeight: torch.ones([18, 6]),
        inProjBias: null,
        biasK: null,
        biasV: null,
        addZeroAttn: true,
        dropoutP: 0,
        outProjWeight: torch.ones([6, 6]),
        outProjBias: null,
      })[0],
  ],
  [
    'embeddingBag',
    () => F.embeddingBag(idx.flatten(), table, torch.tensor([0, 2]), { mode: 'max' }),
    () => F.embeddingBag({ input: idx.flatten(), weight: table, offsets: torch.tensor([0, 2]), mode: 'max' }),
  ],
  [
    'conv1d',
    () => F.conv1d(x3, w3, b3, 2, 1, 1, 1),
    () => F.conv1d({ input: x3, weight: w3, bias: b3, stride: 2, padding: 1, dilation: 1, groups: 1 }),
  ],
  [
    'convTranspose1d',
    () => F.convTranspose1d(x3, w3.transpose(0, 1), null, 2, 1, 1, 1, 2),
    () => F.convTranspose1d(x3, w3.transpose(0, 1), { stride: 2, padding: 1, outputPadding: 1, groups: 1, dilation: 2 }),
  ],
  [
    'convTranspose2d',
    () => F.convTranspose2d(x4, w4.transpose(0, 1), b4, [2, 1], 1, [1, 0], 1, 1),
    () => F.convTranspose2d(x4, w4.transpose(0, 1), b4, { stride: [2, 1], padding: 1, outputPadding: [1, 0] }),
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
  ['silu', () => F.silu(logits, { inPlace: true } as never), 'inPlace', 'inplace'],
  ['mish', () => F.mish(logits, { beta: 1 } as never), 'beta', null],
  ['elu', () => F.elu(logits, { alpah: 1 } as never), 'alpah', 'alpha'],
  ['selu', () => F.selu(logits, { alpha: 1 } as never), 'alpha', null],
  ['celu', () => F.celu(logits, { aplha: 1 } as never), 'aplha', 'alpha'],
  ['hardtanh', () => F.hardtanh(logits, { min_val: -2 } as never), 'min_val', 'minVal'],
  ['relu6', () => F.relu6(logits, { inplac: true } as never), 'inplac', 'inplace'],
  ['hardsigmoid', () => F.hardsigmoid(logits, { inplaced: true } as never), 'inplaced', 'inplace'],
  ['hardswish', () => F.hardswish(logits, { in_place: true } as never), 'in_place', 'inplace'],
  ['logsigmoid', () => F.logsigmoid(logits, { inplace: true } as never), 'inplace', null],
  ['softsign', () => F.softsign(logits, { dim: 1 } as never), 'dim', null],
  ['tanhshrink', () => F.tanhshrink(logits, { lambd: 1 } as never), 'lambd', null],
  ['hardshrink', () => F.hardshrink(logits, { lambda: 1 } as never), 'lambda', 'lambd'],
  ['softshrink', () => F.softshrink(logits, { lambdd: 1 } as never), 'lambdd', 'lambd'],
  ['threshold', () => F.threshold(logits, 0.1, { values: 1 } as never), 'values', 'value'],
  ['glu', () => F.glu(logits, { dims: 1 } as never), 'dims', 'dim'],
  ['prelu', () => F.prelu(logits, { weights: null } as never), 'weights', 'weight'],
  ['softmin', () => F.softmin(logits, { dimm: 1 } as never), 'dimm', 'dim'],
  ['smoothL1Loss', () => F.smoothL1Loss(logits, labels, { betas: 1 } as never), 'betas', 'beta'],
  ['huberLoss', () => F.huberLoss(logits, labels, { delat: 1 } as never), 'delat', 'delta'],
  ['klDiv', () => F.klDiv(logits, probs, { log_target: true } as never), 'log_target', 'logTarget'],
  ['cosineSimilarity', () => F.cosineSimilarity(logits, labels, { epsilon: 1 } as never), 'epsilon', null],
  ['pairwiseDistance', () => F.pairwiseDistance(logits, labels, { keep_dim: true } as never), 'keep_dim', 'keepdim'],
  ['cosineEmbeddingLoss', () => F.cosineEmbeddingLoss(logits, labels, sign5, { margn: 1 } as never), 'margn', 'margin'],
  ['marginRankingLoss', () => F.marginRankingLoss(logits, labels, signs, { size_average: true } as never), 'size_average', null],
  ['tripletMarginLoss', () => F.tripletMarginLoss(logits, labels, probs, { swapp: true } as never), 'swapp', 'swap'],
  ['poissonNllLoss', () => F.poissonNllLoss(logits, labels, { log_input: true } as never), 'log_input', 'logInput'],
  ['gaussianNllLoss', () => F.gaussianNllLoss(logits, labels, probs, { ful: true } as never), 'ful', 'full'],
  ['multilabelSoftMarginLoss', () => F.multilabelSoftMarginLoss(logits, labels, { reduce: 'sum' } as never), 'reduce', 'reduction'],
  ['hingeEmbeddingLoss', () => F.hingeEmbeddingLoss(logits, signs, { marign: 1 } as never), 'marign', 'margin'],
  ['softMarginLoss', () => F.softMarginLoss(logits, signs, { reductio: 'sum' } as never), 'reductio', 'reduction'],
  ['multiMarginLoss', () => F.multiMarginLoss(logits, target, { P: 2 } as never), 'P', 'p'],
  ['multilabelMarginLoss', () => F.multilabelMarginLoss(logits, multiTarget, { margin: 1 } as never), 'margin', null],
  [
    'scaledDotProductAttention',
    () => F.scaledDotProductAttention(logits, labels, probs, { is_causal: true } as never),
    'is_causal',
    'isCausal',
  ],
  [
    'multiHeadAttentionForward',
    () =>
      F.multiHeadAttentionForward(logits, logits, logits, 4, 2, null, null, null, null, false, 0, table, null, {
        need_weights: false,
      } as never),
    'need_weights',
    'needWeights',
  ],
  ['embeddingBag', () => F.embeddingBag(target, table, { maxNorm: 1 } as never), 'maxNorm', null],
  ['conv1d', () => F.conv1d(x3, w3, { strides: 2 } as never), 'strides', 'stride'],
  ['conv1d', () => F.conv1d(x3, w3, null, { padding_mode: 'zeros' } as never), 'padding_mode', null],
  ['convTranspose1d', () => F.convTranspose1d(x3, w3, { output_padding: 1 } as never), 'output_padding', 'outputPadding'],
  ['convTranspose2d', () => F.convTranspose2d(x4, w4, null, { outputSize: [7, 7] } as never), 'outputSize', null],
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

describe('inplace forms of the other activations', () => {
  // [name, call with inplace] on a fresh input each time; the result is the input, holding the out-of-place value.
  const calls: [string, (x: Tensor, inplace: boolean) => Tensor][] = [
    ['silu', (x, i) => F.silu(x, i)],
    ['mish', (x, i) => F.mish(x, { inplace: i })],
    ['elu', (x, i) => F.elu(x, 0.7, i)],
    ['selu', (x, i) => F.selu(x, i)],
    ['celu', (x, i) => F.celu(x, { alpha: 1.5, inplace: i })],
    ['hardtanh', (x, i) => F.hardtanh(x, -0.5, 0.5, i)],
    ['relu6', (x, i) => F.relu6(x.mul(4), i)],
    ['hardsigmoid', (x, i) => F.hardsigmoid(x, i)],
    ['hardswish', (x, i) => F.hardswish(x, i)],
    ['threshold', (x, i) => F.threshold(x, 0.2, -3, i)],
  ];
  for (const [name, f] of calls) {
    it(name, () => {
      const want = f(logits.clone(), false);
      const x = name === 'relu6' ? logits.mul(4) : logits.clone();
      const r = name === 'relu6' ? F.relu6(x, true) : f(x, true);
      expect(r).toBe(x);
      same(x, want);
    });
  }
  it('gradients flow through an in-place call on a non-leaf, as out of place', () => {
    const a = logits.clone().requiresGrad_(true);
    F.elu(a.mul(1), 0.7, true).mul(labels).sum().backward();
    const b = logits.clone().requiresGrad_(true);
    F.elu(b, 0.7).mul(labels).sum().backward();
    same(a.grad!, b.grad!);
  });
});

describe('argument errors of the activations and losses', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['celu alpha 0', () => F.celu(logits, 0), /^celu: alpha cannot be 0/],
    ['softshrink negative lambd', () => F.softshrink(logits, -1), /^softshrink: lambd must be greater or equal to 0/],
    ['elu integer input', () => F.elu(target), /^elu: input must be a float32 or float64 tensor, got int64/],
    ['elu non-number alpha', () => F.elu(logits, 'big' as never), /^elu: argument 'alpha' must be a number/],
    ['glu odd size', () => F.glu(logits, 0), /^glu: halving dimension must be even, but dimension 0 is size 5/],
    ['glu dim out of range', () => F.glu(logits, 2), /^glu: dim 2 is out of range for a 2-d input/],
    ['prelu channel count', () => F.prelu(logits, torch.ones([3])), /^prelu: mismatch of parameter numbers and input channel size/],
    ['prelu 2-d weight', () => F.prelu(logits, torch.ones([1, 4])), /^prelu: expected weight to be a scalar or 1-D tensor/],
    ['smoothL1Loss bad reduction', () => F.smoothL1Loss(logits, labels, { reduction: 'avg' as never }), /^smoothL1Loss: reduction must be/],
    ['smoothL1Loss shapes', () => F.smoothL1Loss(logits, torch.ones([3])), /smoothL1Loss/],
    ['smoothL1Loss negative beta', () => F.smoothL1Loss(logits, labels, { beta: -1 }), /^smoothL1Loss: beta must be non-negative/],
    ['huberLoss delta 0', () => F.huberLoss(logits, labels, 'mean', 0), /^huberLoss: delta must be positive/],
    ['klDiv bad reduction', () => F.klDiv(logits, probs, { reduction: 'avg' as never }), /^klDiv: reduction must be 'mean', 'batchmean'/],
    ['cosineSimilarity shapes', () => F.cosineSimilarity(logits, torch.ones([3, 4])), /cosineSimilarity/],
    ['cosineSimilarity dim', () => F.cosineSimilarity(logits, labels, 2), /^cosineSimilarity: dim 2 is out of range/],
    [
      'cosineEmbeddingLoss target',
      () => F.cosineEmbeddingLoss(logits, labels, torch.ones([4])),
      /^cosineEmbeddingLoss: expected target of shape \[5\]/,
    ],
    [
      'cosineEmbeddingLoss 3-d',
      () => F.cosineEmbeddingLoss(x4, x4, torch.ones([2])),
      /^cosineEmbeddingLoss: a 1-D target expects 2-D inputs/,
    ],
    [
      'marginRankingLoss dims',
      () => F.marginRankingLoss(sign5, sign5, signs),
      /^marginRankingLoss: all input tensors should have the same number/,
    ],
    [
      'tripletMarginLoss dims',
      () => F.tripletMarginLoss(logits, labels, sign5),
      /^tripletMarginLoss: anchor, positive and negative must have the same/,
    ],
    [
      'gaussianNllLoss var shape',
      () => F.gaussianNllLoss(logits, labels, torch.ones([5, 2])),
      /^gaussianNllLoss: var of shape \[5, 2\] does not fit/,
    ],
    ['gaussianNllLoss negative var', () => F.gaussianNllLoss(logits, labels, probs.neg()), /^gaussianNllLoss: var has negative entries/],
    ['multiMarginLoss p', () => F.multiMarginLoss(logits, target, 3), /^multiMarginLoss: only p == 1 and p == 2/],
    [
      'multiMarginLoss target range',
      () => F.multiMarginLoss(logits, target.add(1)),
      /^multiMarginLoss: target 4 is out of range for 4 classes/,
    ],
    ['multiMarginLoss float target', () => F.multiMarginLoss(logits, labels), /^multiMarginLoss: target must be an integer tensor/],
    [
      'multilabelMarginLoss shape',
      () => F.multilabelMarginLoss(logits, target),
      /^multilabelMarginLoss: target must have the input's shape/,
    ],
    [
      'multilabelMarginLoss range',
      () => F.multilabelMarginLoss(logits, multiTarget.add(1)),
      /^multilabelMarginLoss: target 4 is out of range/,
    ],
    ['hingeEmbeddingLoss shapes', () => F.hingeEmbeddingLoss(logits, torch.ones([3])), /hingeEmbeddingLoss/],
  ];
  for (const [what, call, msg] of cases) {
    it(what, () => {
      expect(call).toThrow(msg);
      expect(call).toThrow(Error);
    });
  }
});
