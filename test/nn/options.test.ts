// Module constructors bind their arguments as Python does (lib/util/args.ts):
// every parameter positionally, in PyTorch's order, or by its camelCase name
// in one trailing options object; an unknown key is a TypeError naming the
// class, the key and the nearest valid name (Note [Did you mean]); a value
// given twice, or too many positional values, is a TypeError too. Every
// module class nn exports is listed below, so a new one must say how it
// binds.
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import type { Tensor } from '../../lib/tensor.js';

const mk = (C: unknown, ...args: unknown[]): nn.Module => new (C as new (...a: unknown[]) => nn.Module)(...args);

// ---- unknown keys --------------------------------------------------------------------------
// [class, a call with an unknown key, the key, the suggestion (null: none near enough)]
const unknownCases: [string, () => unknown, string, string | null][] = [
  ['Linear', () => mk(nn.Linear, 3, 2, { bais: false }), 'bais', 'bias'],
  ['Conv2d', () => mk(nn.Conv2d, 1, 16, 3, { strde: 2 }), 'strde', 'stride'],
  ['Conv1d', () => mk(nn.Conv1d, 1, 16, 3, { padding_mode: 'zeros' }), 'padding_mode', 'paddingMode'],
  ['ConvTranspose1d', () => mk(nn.ConvTranspose1d, 1, 16, 3, { outputpadding: 1 }), 'outputpadding', 'outputPadding'],
  ['ConvTranspose2d', () => mk(nn.ConvTranspose2d, 1, 16, 3, { dilations: 2 }), 'dilations', 'dilation'],
  ['MaxPool2d', () => mk(nn.MaxPool2d, 2, { ceilMod: true }), 'ceilMod', 'ceilMode'],
  ['AvgPool2d', () => mk(nn.AvgPool2d, 2, { divisorOveride: 2 }), 'divisorOveride', 'divisorOverride'],
  ['AdaptiveAvgPool2d', () => mk(nn.AdaptiveAvgPool2d, { output_size: 2 }), 'output_size', 'outputSize'],
  ['ReLU', () => mk(nn.ReLU, { inPlace: true }), 'inPlace', 'inplace'],
  ['LeakyReLU', () => mk(nn.LeakyReLU, { negative_slope: 0.2 }), 'negative_slope', 'negativeSlope'],
  ['GELU', () => mk(nn.GELU, { aproximate: 'tanh' }), 'aproximate', 'approximate'],
  ['Sigmoid', () => mk(nn.Sigmoid, { inplace: true }), 'inplace', null],
  ['Tanh', () => mk(nn.Tanh, { inplace: true }), 'inplace', null],
  ['Softmax', () => mk(nn.Softmax, { dims: 1 }), 'dims', 'dim'],
  ['LogSoftmax', () => mk(nn.LogSoftmax, { axis: 1 }), 'axis', null],
  ['Dropout', () => mk(nn.Dropout, 0.5, { inplce: true }), 'inplce', 'inplace'],
  ['BatchNorm1d', () => mk(nn.BatchNorm1d, 3, { track_running_stats: false }), 'track_running_stats', 'trackRunningStats'],
  ['BatchNorm2d', () => mk(nn.BatchNorm2d, 3, { momentun: 0.2 }), 'momentun', 'momentum'],
  ['LayerNorm', () => mk(nn.LayerNorm, 4, { elementwiseAfine: false }), 'elementwiseAfine', 'elementwiseAffine'],
  ['Embedding', () => mk(nn.Embedding, 10, 3, { padding_idx: 0 }), 'padding_idx', 'paddingIdx'],
  ['Flatten', () => mk(nn.Flatten, { startdim: 0 }), 'startdim', 'startDim'],
  ['Unflatten', () => mk(nn.Unflatten, 1, [2, 3], { dimm: 1 }), 'dimm', 'dim'],
  ['ModuleList', () => mk(nn.ModuleList, { moduls: [] }), 'moduls', 'modules'],
  ['ModuleDict', () => mk(nn.ModuleDict, { moduls: {} }), 'moduls', 'modules'],
  ['ParameterList', () => mk(nn.ParameterList, { value: [] }), 'value', 'values'],
  ['ParameterDict', () => mk(nn.ParameterDict, { parameter: {} }), 'parameter', 'parameters'],
  ['Lambda', () => mk(nn.Lambda, { fnn: (x: unknown) => x }), 'fnn', 'fn'],
  ['CrossEntropyLoss', () => mk(nn.CrossEntropyLoss, { label_smoothing: 0.1 }), 'label_smoothing', 'labelSmoothing'],
  ['NLLLoss', () => mk(nn.NLLLoss, { ignoreIdx: 0 }), 'ignoreIdx', 'ignoreIndex'],
  ['MSELoss', () => mk(nn.MSELoss, { reductions: 'sum' }), 'reductions', 'reduction'],
  // PyTorch's deprecated size_average / reduce are not implemented: unknown.
  ['L1Loss', () => mk(nn.L1Loss, { size_average: true }), 'size_average', null],
  ['BCELoss', () => mk(nn.BCELoss, { wieght: null }), 'wieght', 'weight'],
  ['BCEWithLogitsLoss', () => mk(nn.BCEWithLogitsLoss, { pos_weight: null }), 'pos_weight', 'posWeight'],
  ['SiLU', () => mk(nn.SiLU, { inPlace: true }), 'inPlace', 'inplace'],
  ['Mish', () => mk(nn.Mish, { in_place: true }), 'in_place', 'inplace'],
  ['ELU', () => mk(nn.ELU, { alhpa: 1 }), 'alhpa', 'alpha'],
  ['SELU', () => mk(nn.SELU, { alpha: 1 }), 'alpha', null],
  ['CELU', () => mk(nn.CELU, { alpah: 1 }), 'alpah', 'alpha'],
  ['Softplus', () => mk(nn.Softplus, { betta: 1 }), 'betta', 'beta'],
  ['Hardtanh', () => mk(nn.Hardtanh, { min_val: -2 }), 'min_val', 'minVal'],
  ['ReLU6', () => mk(nn.ReLU6, { inplac: true }), 'inplac', 'inplace'],
  ['Hardswish', () => mk(nn.Hardswish, { inplaced: true }), 'inplaced', 'inplace'],
  ['Hardsigmoid', () => mk(nn.Hardsigmoid, { inPlace: true }), 'inPlace', 'inplace'],
  ['PReLU', () => mk(nn.PReLU, { num_parameters: 3 }), 'num_parameters', 'numParameters'],
  ['GLU', () => mk(nn.GLU, { dims: 1 }), 'dims', 'dim'],
  ['Softmin', () => mk(nn.Softmin, { dimm: 1 }), 'dimm', 'dim'],
  ['LogSigmoid', () => mk(nn.LogSigmoid, { inplace: true }), 'inplace', null],
  ['Softsign', () => mk(nn.Softsign, { dim: 1 }), 'dim', null],
  ['Tanhshrink', () => mk(nn.Tanhshrink, { lambd: 1 }), 'lambd', null],
  ['Hardshrink', () => mk(nn.Hardshrink, { lambda: 1 }), 'lambda', 'lambd'],
  ['Softshrink', () => mk(nn.Softshrink, { lambdd: 1 }), 'lambdd', 'lambd'],
  ['Threshold', () => mk(nn.Threshold, 0.1, { values: 1 }), 'values', 'value'],
  ['SmoothL1Loss', () => mk(nn.SmoothL1Loss, { betas: 1 }), 'betas', 'beta'],
  ['HuberLoss', () => mk(nn.HuberLoss, { delat: 1 }), 'delat', 'delta'],
  ['KLDivLoss', () => mk(nn.KLDivLoss, { log_target: true }), 'log_target', 'logTarget'],
  ['CosineEmbeddingLoss', () => mk(nn.CosineEmbeddingLoss, { margn: 0 }), 'margn', 'margin'],
  ['MarginRankingLoss', () => mk(nn.MarginRankingLoss, { size_average: true }), 'size_average', null],
  ['HingeEmbeddingLoss', () => mk(nn.HingeEmbeddingLoss, { marign: 1 }), 'marign', 'margin'],
  ['TripletMarginLoss', () => mk(nn.TripletMarginLoss, { swapp: true }), 'swapp', 'swap'],
  ['PoissonNLLLoss', () => mk(nn.PoissonNLLLoss, { log_input: false }), 'log_input', 'logInput'],
  ['GaussianNLLLoss', () => mk(nn.GaussianNLLLoss, { ful: true }), 'ful', 'full'],
  ['MultiLabelSoftMarginLoss', () => mk(nn.MultiLabelSoftMarginLoss, { wieght: null }), 'wieght', 'weight'],
  ['SoftMarginLoss', () => mk(nn.SoftMarginLoss, { reduce: 'sum' }), 'reduce', 'reduction'],
  ['MultiMarginLoss', () => mk(nn.MultiMarginLoss, { P: 2 }), 'P', 'p'],
  ['MultiLabelMarginLoss', () => mk(nn.MultiLabelMarginLoss, { margin: 1 }), 'margin', null],
  ['CosineSimilarity', () => mk(nn.CosineSimilarity, { epsilon: 1e-6 }), 'epsilon', null],
  ['PairwiseDistance', () => mk(nn.PairwiseDistance, { keep_dim: true }), 'keep_dim', 'keepdim'],
  ['EmbeddingBag', () => mk(nn.EmbeddingBag, 10, 3, { include_last_offset: true }), 'include_last_offset', 'includeLastOffset'],
  ['MultiheadAttention', () => mk(nn.MultiheadAttention, 8, 2, { add_bias_kv: true }), 'add_bias_kv', 'addBiasKv'],
  ['TransformerEncoderLayer', () => mk(nn.TransformerEncoderLayer, 8, 2, { dim_feedforward: 16 }), 'dim_feedforward', 'dimFeedforward'],
  [
    'TransformerEncoder',
    () => mk(nn.TransformerEncoder, new nn.TransformerEncoderLayer(4, 2, 8), 2, { enable_nested_tensor: false }),
    'enable_nested_tensor',
    'enableNestedTensor',
  ],
  ['TransformerDecoderLayer', () => mk(nn.TransformerDecoderLayer, 8, 2, { normFrist: true }), 'normFrist', 'normFirst'],
  ['TransformerDecoder', () => mk(nn.TransformerDecoder, new nn.TransformerDecoderLayer(4, 2, 8), 2, { nrom: null }), 'nrom', 'norm'],
  ['Transformer', () => mk(nn.Transformer, { d_model: 8 }), 'd_model', 'dModel'],
  ['RNN', () => mk(nn.RNN, 4, 5, { num_layers: 2 }), 'num_layers', 'numLayers'],
  ['LSTM', () => mk(nn.LSTM, 4, 5, { proj_size: 2 }), 'proj_size', 'projSize'],
  ['GRU', () => mk(nn.GRU, 4, 5, { bidirectonal: true }), 'bidirectonal', 'bidirectional'],
  ['RNNCell', () => mk(nn.RNNCell, 4, 5, { nonlinearty: 'relu' }), 'nonlinearty', 'nonlinearity'],
  ['LSTMCell', () => mk(nn.LSTMCell, 4, 5, { batchFirst: true }), 'batchFirst', null],
  ['GRUCell', () => mk(nn.GRUCell, 4, 5, { baias: false }), 'baias', 'bias'],
];

// Sequential's single object is its OrderedDict form (names to modules),
// never options, and Identity takes and ignores any arguments as PyTorch's
// does; both are covered by their own tests below.
const notBinding = ['Sequential', 'Identity'];

function moduleClasses(): string[] {
  return Object.entries(nn)
    .filter(([k, v]) => typeof v === 'function' && k !== 'Module' && (v as { prototype: unknown }).prototype instanceof nn.Module)
    .map(([k]) => k)
    .sort();
}

describe('module constructors: unknown option keys', () => {
  it('every module class nn exports is covered', () => {
    const covered = [...unknownCases.map(([c]) => c), ...notBinding].sort();
    expect(covered).toEqual(moduleClasses());
  });

  for (const [cls, call, key, hint] of unknownCases) {
    it(`${cls}: '${key}' is a TypeError${hint ? ` suggesting '${hint}'` : ''}`, () => {
      let err: unknown;
      try {
        call();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TypeError);
      const msg = (err as Error).message;
      expect(msg.startsWith(`${cls}: unknown option '${key}'`)).toBe(true);
      if (hint) expect(msg).toContain(`(did you mean '${hint}'?)`);
      else expect(msg).not.toContain('did you mean');
    });
  }

  it('the examples of the contract', () => {
    expect(() => mk(nn.Linear, 3, 2, { bais: false })).toThrow(
      /^Linear: unknown option 'bais' \(did you mean 'bias'\?\); valid options: inFeatures, outFeatures, bias, dtype$/,
    );
    expect(() => mk(nn.Sigmoid, { inplace: true })).toThrow("Sigmoid: unknown option 'inplace'; it takes no options");
  });

  it('Sequential names the entry that is not a Module', () => {
    expect(() => mk(nn.Sequential, { fc: new nn.Linear(2, 2), act: 'relu' })).toThrow(TypeError);
    expect(() => mk(nn.Sequential, { fc: new nn.Linear(2, 2), act: 'relu' })).toThrow(/^Sequential: .*"act"/);
  });

  it('Identity ignores its arguments, as PyTorch', () => {
    const x = torch.zeros([2]);
    expect(mk(nn.Identity, 54, { unused: true }).forward(x)).toBe(x);
  });
});

describe('module constructors: values given twice or too many', () => {
  it('a value given positionally and by name is a TypeError', () => {
    expect(() => mk(nn.Linear, 3, 2, true, { bias: false })).toThrow(/^Linear: got multiple values for argument 'bias'/);
    expect(() => mk(nn.Conv2d, 1, 16, 3, { kernelSize: 3 })).toThrow(/^Conv2d: got multiple values for argument 'kernelSize'/);
    expect(() => mk(nn.Softmax, 1, { dim: 1 })).toThrow(TypeError);
    expect(() => mk(nn.Dropout, 0.1, { p: 0.2 })).toThrow(/^Dropout: got multiple values for argument 'p'/);
  });

  it('too many positional values is a TypeError', () => {
    expect(() => mk(nn.Sigmoid, 1)).toThrow(/^Sigmoid: takes 0 positional arguments but 1 were given/);
    expect(() => mk(nn.ReLU, true, false)).toThrow(TypeError);
    // dtype is keyword-only (PyTorch's device, before it, is not implemented).
    expect(() => mk(nn.Linear, 3, 2, true, 'float64')).toThrow(/^Linear: takes at most 3 positional arguments but 4 were given/);
    // return_indices comes before ceil_mode in PyTorch and is not implemented.
    expect(() => mk(nn.MaxPool2d, 2, 2, 0, 1, true)).toThrow(/^MaxPool2d: takes at most 4 positional arguments/);
    // size_average and reduce come before reduction and are not implemented.
    expect(() => mk(nn.MSELoss, 'sum')).toThrow(/^MSELoss: takes at most 0 positional arguments but 1 were given/);
  });
});

// ---- the options form configures what the positional form does ----------------------------
function snapshot(m: nn.Module): unknown {
  const tensors = (entries: [string, Tensor][]): unknown =>
    entries.map(([k, t]) => [k, t.dtype, t.shape, Array.from(t.toTypedArray() as ArrayLike<number | bigint>, Number)]);
  const attrs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) {
    if (k.startsWith('_') || v instanceof nn.Module || (v !== null && typeof v === 'object' && 'dtype' in v)) continue;
    attrs[k] = v;
  }
  return {
    cls: m.constructor.name,
    repr: m.toString(),
    attrs,
    params: tensors(m.namedParameters()),
    buffers: tensors(m.namedBuffers()),
  };
}

/** Builds each form from the same seed and expects the same module. */
function sameModule(...builds: (() => nn.Module)[]): nn.Module {
  const shots = builds.map((b) => {
    torch.manualSeed(7);
    return snapshot(b());
  });
  for (const s of shots.slice(1)) expect(s).toEqual(shots[0]);
  torch.manualSeed(7);
  return builds[0]();
}

describe('module constructors: positional and options forms agree', () => {
  it('Linear', () => {
    const m = sameModule(
      () => mk(nn.Linear, 3, 2, false),
      () => mk(nn.Linear, 3, 2, { bias: false }),
      () => mk(nn.Linear, { inFeatures: 3, outFeatures: 2, bias: false }),
      () => mk(nn.Linear, 3, { outFeatures: 2, bias: false }),
    ) as nn.Linear;
    expect(m.bias).toBe(null);
    expect(m.weight.shape).toEqual([2, 3]);
    sameModule(
      () => mk(nn.Linear, 3, 2),
      () => mk(nn.Linear, 3, 2, true),
      () => mk(nn.Linear, 3, 2, undefined, {}),
    );
    sameModule(
      () => mk(nn.Linear, 3, 2, { dtype: 'float64' }),
      () => mk(nn.Linear, { inFeatures: 3, outFeatures: 2, dtype: 'float64' }),
    );
  });

  it('Conv2d', () => {
    const m = sameModule(
      () => mk(nn.Conv2d, 1, 16, 3, 2),
      () => mk(nn.Conv2d, 1, 16, { kernelSize: 3, stride: 2 }),
      () => mk(nn.Conv2d, { inChannels: 1, outChannels: 16, kernelSize: 3, stride: 2 }),
    ) as nn.Conv2d;
    expect(m.stride).toEqual([2, 2]);
    expect(m.kernelSize).toEqual([3, 3]);
    sameModule(
      () => mk(nn.Conv2d, 2, 4, [3, 5], 2, 1, [1, 2], 2, false, 'zeros'),
      () => mk(nn.Conv2d, 2, 4, [3, 5], { stride: 2, padding: 1, dilation: [1, 2], groups: 2, bias: false, paddingMode: 'zeros' }),
      () => mk(nn.Conv2d, 2, 4, [3, 5], 2, { padding: 1, dilation: [1, 2], groups: 2, bias: false }),
    );
    sameModule(
      () => mk(nn.Conv2d, 1, 2, 3, 1, 'same'),
      () => mk(nn.Conv2d, 1, 2, 3, { padding: 'same' }),
    );
  });

  it('Conv1d, ConvTranspose1d, ConvTranspose2d', () => {
    sameModule(
      () => mk(nn.Conv1d, 2, 4, 3, 2, 1, 2, 2, false, 'zeros'),
      () => mk(nn.Conv1d, 2, 4, [3], { stride: [2], padding: 1, dilation: 2, groups: 2, bias: false, paddingMode: 'zeros' }),
      () => mk(nn.Conv1d, { inChannels: 2, outChannels: 4, kernelSize: 3, stride: 2, padding: [1], dilation: 2, groups: 2, bias: false }),
    );
    // PyTorch's order: outputPadding, groups, bias, then dilation.
    const t = sameModule(
      () => mk(nn.ConvTranspose1d, 2, 4, 3, 2, 1, 1, 2, false, 3, 'zeros'),
      () => mk(nn.ConvTranspose1d, 2, 4, 3, { stride: 2, padding: 1, outputPadding: 1, groups: 2, bias: false, dilation: 3 }),
    ) as nn.ConvTranspose1d;
    expect([t.outputPadding, t.dilation, t.groups, t.bias]).toEqual([[1], [3], 2, null]);
    sameModule(
      () => mk(nn.ConvTranspose2d, 2, 4, [3, 2], [2, 1], 1, [1, 0], 1, true, 1),
      () => mk(nn.ConvTranspose2d, 2, 4, [3, 2], { stride: [2, 1], padding: [1, 1], outputPadding: [1, 0] }),
    );
  });

  it('pooling', () => {
    sameModule(
      () => mk(nn.MaxPool2d, 3, 1, 1, 2),
      () => mk(nn.MaxPool2d, 3, { stride: 1, padding: 1, dilation: 2 }),
      () => mk(nn.MaxPool2d, { kernelSize: 3, stride: 1, padding: 1, dilation: 2 }),
    );
    const mp = sameModule(
      () => mk(nn.MaxPool2d, 2, { ceilMode: true }),
      () => mk(nn.MaxPool2d, { kernelSize: 2, ceilMode: true }),
    ) as nn.MaxPool2d;
    expect([mp.stride, mp.ceilMode]).toEqual([2, true]);
    const ap = sameModule(
      () => mk(nn.AvgPool2d, 3, 1, 1, true, false, 2),
      () => mk(nn.AvgPool2d, 3, { stride: 1, padding: 1, ceilMode: true, countIncludePad: false, divisorOverride: 2 }),
    ) as nn.AvgPool2d;
    expect([ap.stride, ap.padding, ap.ceilMode, ap.countIncludePad, ap.divisorOverride]).toEqual([1, 1, true, false, 2]);
    sameModule(
      () => mk(nn.AvgPool2d, 2),
      () => mk(nn.AvgPool2d, { kernelSize: 2 }),
      () => mk(nn.AvgPool2d, 2, null),
    );
    sameModule(
      () => mk(nn.AdaptiveAvgPool2d, [2, 3]),
      () => mk(nn.AdaptiveAvgPool2d, { outputSize: [2, 3] }),
    );
  });

  it('activations', () => {
    expect(
      (
        sameModule(
          () => mk(nn.ReLU, true),
          () => mk(nn.ReLU, { inplace: true }),
        ) as nn.ReLU
      ).inplace,
    ).toBe(true);
    sameModule(
      () => mk(nn.ReLU),
      () => mk(nn.ReLU, false),
      () => mk(nn.ReLU, {}),
    );
    const lr = sameModule(
      () => mk(nn.LeakyReLU, 0.2, true),
      () => mk(nn.LeakyReLU, { negativeSlope: 0.2, inplace: true }),
      () => mk(nn.LeakyReLU, 0.2, { inplace: true }),
    ) as nn.LeakyReLU;
    expect([lr.negativeSlope, lr.inplace]).toEqual([0.2, true]);
    sameModule(
      () => mk(nn.LeakyReLU),
      () => mk(nn.LeakyReLU, { inplace: false }),
      () => mk(nn.LeakyReLU, 0.01),
    );
    expect(
      (
        sameModule(
          () => mk(nn.GELU, 'tanh'),
          () => mk(nn.GELU, { approximate: 'tanh' }),
        ) as nn.GELU
      ).approximate,
    ).toBe('tanh');
    sameModule(
      () => mk(nn.Sigmoid),
      () => mk(nn.Sigmoid, {}),
    );
    sameModule(
      () => mk(nn.Tanh),
      () => mk(nn.Tanh, {}),
    );
    expect(
      (
        sameModule(
          () => mk(nn.Softmax, 1),
          () => mk(nn.Softmax, { dim: 1 }),
        ) as nn.Softmax
      ).dim,
    ).toBe(1);
    expect(
      (
        sameModule(
          () => mk(nn.Softmax),
          () => mk(nn.Softmax, { dim: null }),
          () => mk(nn.Softmax, null),
        ) as nn.Softmax
      ).dim,
    ).toBe(null);
    expect(
      (
        sameModule(
          () => mk(nn.LogSoftmax, -1),
          () => mk(nn.LogSoftmax, { dim: -1 }),
        ) as nn.LogSoftmax
      ).dim,
    ).toBe(-1);
    const d = sameModule(
      () => mk(nn.Dropout, 0.2, true),
      () => mk(nn.Dropout, { p: 0.2, inplace: true }),
      () => mk(nn.Dropout, 0.2, { inplace: true }),
    ) as nn.Dropout;
    expect([d.p, d.inplace]).toEqual([0.2, true]);
    sameModule(
      () => mk(nn.Dropout),
      () => mk(nn.Dropout, 0.5),
      () => mk(nn.Dropout, { p: 0.5, inplace: false }),
    );
  });

  it('normalization and embedding', () => {
    const bn = sameModule(
      () => mk(nn.BatchNorm1d, 3, 1e-3, 0.2, false, false),
      () => mk(nn.BatchNorm1d, 3, { eps: 1e-3, momentum: 0.2, affine: false, trackRunningStats: false }),
      () => mk(nn.BatchNorm1d, { numFeatures: 3, eps: 1e-3, momentum: 0.2, affine: false, trackRunningStats: false }),
    ) as nn.BatchNorm1d;
    expect([bn.eps, bn.momentum, bn.affine, bn.trackRunningStats, bn.weight]).toEqual([1e-3, 0.2, false, false, null]);
    sameModule(
      () => mk(nn.BatchNorm2d, 4, 1e-5, null),
      () => mk(nn.BatchNorm2d, 4, { momentum: null }),
      () => mk(nn.BatchNorm2d, { numFeatures: 4, momentum: null }),
    );
    sameModule(
      () => mk(nn.BatchNorm2d, 4),
      () => mk(nn.BatchNorm2d, 4, { eps: 1e-5, momentum: 0.1, affine: true, trackRunningStats: true }),
    );
    sameModule(
      () => mk(nn.BatchNorm1d, 2, { dtype: 'float64' }),
      () => mk(nn.BatchNorm1d, { numFeatures: 2, dtype: 'float64' }),
    );
    const ln = sameModule(
      () => mk(nn.LayerNorm, [2, 3], 1e-6, true, false),
      () => mk(nn.LayerNorm, [2, 3], { eps: 1e-6, elementwiseAffine: true, bias: false }),
      () => mk(nn.LayerNorm, { normalizedShape: [2, 3], eps: 1e-6, bias: false }),
    ) as nn.LayerNorm;
    expect([ln.eps, ln.bias, ln.weight?.shape]).toEqual([1e-6, null, [2, 3]]);
    sameModule(
      () => mk(nn.LayerNorm, 4, 1e-5, false),
      () => mk(nn.LayerNorm, 4, { elementwiseAffine: false }),
    );
    const e = sameModule(
      () => mk(nn.Embedding, 10, 3, 1),
      () => mk(nn.Embedding, 10, 3, { paddingIdx: 1 }),
      () => mk(nn.Embedding, { numEmbeddings: 10, embeddingDim: 3, paddingIdx: 1 }),
    ) as nn.Embedding;
    expect([e.paddingIdx, e.weight.shape]).toEqual([1, [10, 3]]);
    const w = torch.ones([4, 2]);
    sameModule(
      () => mk(nn.Embedding, 4, 2, null, { weight: w }),
      () => mk(nn.Embedding, 4, 2, { weight: w }),
    );
    sameModule(
      () => nn.Embedding.fromPretrained(w, false, 1),
      () => nn.Embedding.fromPretrained(w, { freeze: false, paddingIdx: 1 }),
    );
    expect(() => nn.Embedding.fromPretrained(w, { freze: false } as never)).toThrow(
      /^Embedding.fromPretrained: unknown option 'freze' \(did you mean 'freeze'\?\)/,
    );
  });

  it('reshapes and containers', () => {
    sameModule(
      () => mk(nn.Flatten, 0, 2),
      () => mk(nn.Flatten, { startDim: 0, endDim: 2 }),
      () => mk(nn.Flatten, 0, { endDim: 2 }),
    );
    sameModule(
      () => mk(nn.Flatten),
      () => mk(nn.Flatten, 1, -1),
      () => mk(nn.Flatten, {}),
    );
    sameModule(
      () => mk(nn.Unflatten, 1, [2, 3]),
      () => mk(nn.Unflatten, { dim: 1, unflattenedSize: [2, 3] }),
      () => mk(nn.Unflatten, 1, { unflattenedSize: [2, 3] }),
    );
    const a = new nn.ReLU(),
      b = new nn.Tanh();
    const ml = sameModule(
      () => mk(nn.ModuleList, [a, b]),
      () => mk(nn.ModuleList, { modules: [a, b] }),
    ) as nn.ModuleList;
    expect([...ml]).toEqual([a, b]);
    sameModule(
      () => mk(nn.ModuleList),
      () => mk(nn.ModuleList, []),
      () => mk(nn.ModuleList, {}),
    );
    // An iterable written as an object literal is still the modules, not options.
    const iterable = {
      *[Symbol.iterator]() {
        yield a;
      },
    };
    expect([...(mk(nn.ModuleList, iterable) as nn.ModuleList)]).toEqual([a]);
    const f = (x: unknown): unknown => x;
    expect((mk(nn.Lambda, { fn: f }) as nn.Lambda).forward(3)).toBe(3);
    sameModule(
      () => mk(nn.Lambda, f),
      () => mk(nn.Lambda, { fn: f }),
    );
  });

  it('losses', () => {
    const w = torch.tensor([1, 2, 3]);
    const ce = sameModule(
      () => mk(nn.CrossEntropyLoss, w, { ignoreIndex: 1, reduction: 'sum', labelSmoothing: 0.1 }),
      () => mk(nn.CrossEntropyLoss, { weight: w, ignoreIndex: 1, reduction: 'sum', labelSmoothing: 0.1 }),
    ) as nn.CrossEntropyLoss;
    expect([ce.weight, ce.ignoreIndex, ce.reduction, ce.labelSmoothing]).toEqual([w, 1, 'sum', 0.1]);
    sameModule(
      () => mk(nn.CrossEntropyLoss),
      () => mk(nn.CrossEntropyLoss, null),
      () => mk(nn.CrossEntropyLoss, { ignoreIndex: -100, reduction: 'mean', labelSmoothing: 0 }),
    );
    sameModule(
      () => mk(nn.NLLLoss, w, { reduction: 'none' }),
      () => mk(nn.NLLLoss, { weight: w, reduction: 'none' }),
    );
    sameModule(
      () => mk(nn.MSELoss),
      () => mk(nn.MSELoss, { reduction: 'mean' }),
    );
    expect((mk(nn.L1Loss, { reduction: 'sum' }) as nn.L1Loss).reduction).toBe('sum');
    sameModule(
      () => mk(nn.BCELoss, w, { reduction: 'sum' }),
      () => mk(nn.BCELoss, { weight: w, reduction: 'sum' }),
    );
    const bl = sameModule(
      () => mk(nn.BCEWithLogitsLoss, w, { posWeight: w }),
      () => mk(nn.BCEWithLogitsLoss, { weight: w, posWeight: w }),
    ) as nn.BCEWithLogitsLoss;
    expect([bl.weight, bl.posWeight]).toEqual([w, w]);
  });

  it('existing value checks keep their messages in either form', () => {
    expect(() => mk(nn.Linear, { inFeatures: 2.5, outFeatures: 2 })).toThrow(/^Linear: inFeatures must be an integer/);
    expect(() => mk(nn.Conv2d, 3, 4, 3, 1, 0, 1, 2)).toThrow(/^Conv2d: inChannels \(3\) must be divisible by groups \(2\)/);
    expect(() => mk(nn.Dropout, { p: 1.5 })).toThrow(/^Dropout: dropout probability has to be between 0 and 1, but got 1.5/);
    expect(() => mk(nn.BatchNorm1d, 3, 1e-5, 'x')).toThrow(/momentum must be a number or null/);
    expect(() => mk(nn.Embedding, 4, 2, 4)).toThrow(/paddingIdx must be within numEmbeddings/);
    expect(() => mk(nn.GELU, 'fast')).toThrow(/GELU: approximate must be 'none' or 'tanh'/);
    expect(() => mk(nn.CrossEntropyLoss, null, { labelSmoothing: 2 })).toThrow(/labelSmoothing must be between 0.0 and 1.0/);
  });
});

// Compile-time: the forms the contract names type-check (and wrong ones do not).
export function typeForms(): unknown[] {
  return [
    new nn.Conv2d(1, 16, { kernelSize: 3, stride: 2 }),
    new nn.Conv2d(1, 16, 3, 2),
    new nn.Conv2d(1, 16, 3, { stride: 2, padding: 'same' }),
    new nn.Softmax({ dim: 1 }),
    new nn.Softmax(1),
    new nn.Linear(3, 2, { bias: false }),
    new nn.Linear(3, 2, false, { dtype: 'float64' }),
    new nn.MaxPool2d(2, { ceilMode: true }),
    new nn.BatchNorm2d(3, { momentum: null }),
    new nn.Embedding(3, 2, { paddingIdx: 0 }),
    // @ts-expect-error bias is a boolean
    new nn.Linear(3, 2, { bias: 1 }),
    // @ts-expect-error no such option
    new nn.Linear(3, 2, { bais: false }),
  ];
}
