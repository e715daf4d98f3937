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
};

for (const family of ['conv', 'pool', 'norm', 'loss', 'misc']) {
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
