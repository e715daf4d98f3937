// nn.functional against PyTorch: forward outputs and input/weight/bias
// gradients for each function (test/fixtures/nn_*.json, written by
// scripts/make_nn_fixtures.py), a float64 gradcheck where the case is small,
// and the calls PyTorch rejects.
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import * as F from '../../lib/nn/functional.js';
import { runCase, runGradcheck, type Fixture, type OpTable, type Tensor } from '../helpers/fixtures.js';

function load(family: string): Fixture {
  const url = new URL(`../fixtures/nn_${family}.json`, import.meta.url);
  const fx = JSON.parse(readFileSync(url, 'utf8')) as Fixture;
  if (!Array.isArray(fx.cases) || fx.cases.length === 0) throw new Error(`nn_${family}.json has no cases; run scripts/make_nn_fixtures.py`);
  return fx;
}

/** The kwargs minus the ones passed positionally. */
function rest(kw: Record<string, unknown>, ...drop: string[]): Record<string, Tensor> {
  const o: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(kw)) if (!drop.includes(k)) o[k] = v;
  return o;
}

// Each lambda is the call a PyTorch user would port line by line.
const table: OpTable = {
  conv2d: ([x, w, b], kw) => F.conv2d(x, w, b, kw),
  maxPool2d: ([x], kw) => F.maxPool2d(x, kw.kernelSize, rest(kw, 'kernelSize')),
  maxPool2dWithIndices: ([x], kw) => {
    const r = F.maxPool2d(x, kw.kernelSize, { ...rest(kw, 'kernelSize'), returnIndices: true });
    return [r.values, r.indices];
  },
  avgPool2d: ([x], kw) => F.avgPool2d(x, kw.kernelSize, rest(kw, 'kernelSize')),
  adaptiveAvgPool2d: ([x], kw) => F.adaptiveAvgPool2d(x, kw.outputSize),
  batchNorm: ([x, rm, rv, w, b], kw) => {
    const y = F.batchNorm(x, rm, rv, { weight: w, bias: b, ...kw });
    // The running statistics after the call, as the fixture records them.
    return [y, rm, rv].filter((t) => t !== null);
  },
  layerNorm: ([x, w, b], kw) => F.layerNorm(x, kw.normalizedShape, { weight: w, bias: b, eps: kw.eps }),
  linear: ([x, w, b]) => F.linear(x, w, b),
  relu: ([x]) => F.relu(x),
  leakyRelu: ([x], kw) => ('negativeSlope' in kw ? F.leakyRelu(x, kw.negativeSlope) : F.leakyRelu(x)),
  gelu: ([x], kw) => F.gelu(x, kw),
  sigmoid: ([x]) => F.sigmoid(x),
  tanh: ([x]) => F.tanh(x),
  softmax: ([x], kw) => F.softmax(x, kw.dim),
  logSoftmax: ([x], kw) => F.logSoftmax(x, kw.dim),
  embedding: ([idx, w], kw) => F.embedding(idx, w, kw),
  oneHot: ([t], kw) => F.oneHot(t, kw.numClasses ?? -1),
  crossEntropy: ([x, t, w], kw) => F.crossEntropy(x, t, { ...kw, weight: w }),
  nllLoss: ([x, t, w], kw) => F.nllLoss(x, t, { ...kw, weight: w }),
  mseLoss: ([x, y], kw) => F.mseLoss(x, y, kw),
  l1Loss: ([x, y], kw) => F.l1Loss(x, y, kw),
  binaryCrossEntropy: ([x, y, w], kw) => F.binaryCrossEntropy(x, y, { ...kw, weight: w }),
  binaryCrossEntropyWithLogits: ([x, y, w, pw], kw) => F.binaryCrossEntropyWithLogits(x, y, { ...kw, weight: w, posWeight: pw }),
  softplus: ([x], kw) => F.softplus(x, kw),
  silu: ([x]) => F.silu(x),
  mish: ([x]) => F.mish(x),
  elu: ([x], kw) => F.elu(x, kw),
  selu: ([x]) => F.selu(x),
  celu: ([x], kw) => F.celu(x, kw),
  hardtanh: ([x], kw) => F.hardtanh(x, kw),
  relu6: ([x]) => F.relu6(x),
  hardsigmoid: ([x]) => F.hardsigmoid(x),
  hardswish: ([x]) => F.hardswish(x),
  logsigmoid: ([x]) => F.logsigmoid(x),
  softsign: ([x]) => F.softsign(x),
  tanhshrink: ([x]) => F.tanhshrink(x),
  hardshrink: ([x], kw) => F.hardshrink(x, kw),
  softshrink: ([x], kw) => F.softshrink(x, kw),
  threshold: ([x], kw) => F.threshold(x, kw.threshold, kw.value),
  glu: ([x], kw) => F.glu(x, kw),
  prelu: ([x, w]) => F.prelu(x, w),
  softmin: ([x], kw) => F.softmin(x, kw.dim),
  smoothL1Loss: ([x, y], kw) => F.smoothL1Loss(x, y, kw),
  huberLoss: ([x, y], kw) => F.huberLoss(x, y, kw),
  klDiv: ([x, y], kw) => F.klDiv(x, y, kw),
  cosineSimilarity: ([a, b], kw) => F.cosineSimilarity(a, b, kw),
  // JSON has no Infinity: the fixture writes p = inf as 'inf'.
  pairwiseDistance: ([a, b], kw) => F.pairwiseDistance(a, b, { ...kw, ...((kw.p as unknown) === 'inf' ? { p: Infinity } : {}) }),
  cosineEmbeddingLoss: ([a, b, y], kw) => F.cosineEmbeddingLoss(a, b, y, kw),
  marginRankingLoss: ([a, b, y], kw) => F.marginRankingLoss(a, b, y, kw),
  tripletMarginLoss: ([a, p, n], kw) => F.tripletMarginLoss(a, p, n, kw),
  poissonNllLoss: ([x, y], kw) => F.poissonNllLoss(x, y, kw),
  gaussianNllLoss: ([x, y, v], kw) => F.gaussianNllLoss(x, y, v, kw),
  multilabelSoftMarginLoss: ([x, y, w], kw) => F.multilabelSoftMarginLoss(x, y, { ...kw, weight: w }),
  hingeEmbeddingLoss: ([x, y], kw) => F.hingeEmbeddingLoss(x, y, kw),
  softMarginLoss: ([x, y], kw) => F.softMarginLoss(x, y, kw),
  multiMarginLoss: ([x, y, w], kw) => F.multiMarginLoss(x, y, { ...kw, weight: w }),
  multilabelMarginLoss: ([x, y], kw) => F.multilabelMarginLoss(x, y, kw),
};

for (const family of ['conv', 'pool', 'norm', 'loss', 'misc', 'activation', 'loss_extra']) {
  const fx = load(family);
  describe(`nn.functional ${family} matches PyTorch`, () => {
    it('has a Kindling lambda for every op in the fixture', () => {
      const missing = [...new Set(fx.cases.map((c) => c.op))].filter((op) => !(op in table));
      expect(missing).toEqual([]);
    });
    for (const c of fx.cases) {
      it(c.name, () => {
        expect.hasAssertions();
        runCase(c, table, fx);
      });
      if (c.gradcheck) {
        it(`${c.name}: float64 gradcheck`, () => {
          expect.hasAssertions();
          runGradcheck(c, table);
        });
      }
    }
  });
}
