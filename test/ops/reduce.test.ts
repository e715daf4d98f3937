// Reductions (sum, mean, var, std, max/min, amax, argmax/argmin, logsumexp, norm)
// and softmax / logSoftmax, against PyTorch (test/fixtures/ops_reduce.json).
import { describe, it, expect } from 'vitest';
import { loadFixture, runCase, runGradcheck, pick, withOpts, type OpTable, type Tensor } from '../helpers/fixtures.js';

const fx = loadFixture('reduce');

// a.sum() / a.sum(dim) / a.sum(dim, { keepdim }) as the case's kwargs say.
const dimReduce =
  (name: string, ...optKeys: string[]) =>
  ([a]: Tensor[], kw: Record<string, Tensor>) => {
    const f = a[name].bind(a);
    const opts = pick(kw, ...optKeys);
    if ('dim' in kw) return withOpts(f, [kw.dim], opts);
    return opts ? f(undefined, opts) : f();
  };

// a.max() is a tensor; a.max(dim) is { values, indices }.
const maxMin =
  (name: 'max' | 'min') =>
  ([a]: Tensor[], kw: Record<string, Tensor>) => {
    if (!('dim' in kw)) return a[name]();
    const r = withOpts<{ values: Tensor; indices: Tensor }>(a[name].bind(a), [kw.dim], pick(kw, 'keepdim'));
    return [r.values, r.indices];
  };

const ops: OpTable = {
  sum: dimReduce('sum', 'keepdim'),
  mean: dimReduce('mean', 'keepdim'),
  var: dimReduce('var', 'unbiased', 'keepdim'),
  std: dimReduce('std', 'unbiased', 'keepdim'),
  max: maxMin('max'),
  min: maxMin('min'),
  amax: dimReduce('amax', 'keepdim'),
  argmax: dimReduce('argmax', 'keepdim'),
  argmin: dimReduce('argmin', 'keepdim'),
  logsumexp: dimReduce('logsumexp', 'keepdim'),
  norm: ([a], kw) => {
    if (!('p' in kw)) return a.norm();
    if (!('dim' in kw)) return a.norm(kw.p);
    return withOpts(a.norm.bind(a), [kw.p, kw.dim], pick(kw, 'keepdim'));
  },
  softmax: ([a], kw) => a.softmax(kw.dim),
  logSoftmax: ([a], kw) => a.logSoftmax(kw.dim),
};

describe('reductions match PyTorch', () => {
  it('has a Kindling lambda for every op in the fixture', () => {
    const missing = [...new Set(fx.cases.map((c) => c.op))].filter((op) => !(op in ops));
    expect(missing).toEqual([]);
  });

  for (const c of fx.cases) {
    it(c.name, () => {
      expect.hasAssertions();
      runCase(c, ops, fx);
    });
    if (c.gradcheck) {
      it(`${c.name}: float64 gradcheck`, () => {
        expect.hasAssertions();
        runGradcheck(c, ops);
      });
    }
  }
});
