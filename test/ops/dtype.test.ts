// Result dtypes and type promotion (tensor-tensor, tensor-scalar, zero-dim
// tensors, true division, reductions of ints and bools, conversions) and the
// calls PyTorch refuses, against PyTorch (test/fixtures/ops_dtype.json).
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import { loadFixture, runCase, runGradcheck, pick, withOpts, type OpTable } from '../helpers/fixtures.js';

const fx = loadFixture('dtype');
const T = torch as unknown as Record<string, (...a: unknown[]) => unknown>;

const ops: OpTable = {
  add: ([a, b], kw) => ('alpha' in kw ? a.add(b, { alpha: kw.alpha }) : a.add(b)),
  sub: ([a, b], kw) => ('alpha' in kw ? a.sub(b, { alpha: kw.alpha }) : a.sub(b)),
  mul: ([a, b]) => a.mul(b),
  div: ([a, b]) => a.div(b),
  pow: ([a, b]) => a.pow(b),
  maximum: ([a, b]) => a.maximum(b),
  eq: ([a, b]) => a.eq(b),
  ne: ([a, b]) => a.ne(b),
  gt: ([a, b]) => a.gt(b),
  ge: ([a, b]) => a.ge(b),
  lt: ([a, b]) => a.lt(b),
  le: ([a, b]) => a.le(b),
  sqrt: ([a]) => a.sqrt(),
  exp: ([a]) => a.exp(),
  sigmoid: ([a]) => a.sigmoid(),
  neg: ([a]) => a.neg(),
  abs: ([a]) => a.abs(),
  relu: ([a]) => a.relu(),
  sum: ([a], kw) => ('dim' in kw ? withOpts(a.sum.bind(a), [kw.dim], pick(kw, 'keepdim')) : a.sum()),
  mean: ([a], kw) => ('dim' in kw ? withOpts(a.mean.bind(a), [kw.dim], pick(kw, 'keepdim')) : a.mean()),
  max: ([a], kw) => {
    if (!('dim' in kw)) return a.max();
    // a.max(dim) is { values, indices }; withOpts cannot pick that overload itself.
    const r = withOpts<{ values: torch.Tensor; indices: torch.Tensor }>(a.max.bind(a), [kw.dim], pick(kw, 'keepdim'));
    return [r.values, r.indices];
  },
  argmax: ([a], kw) => ('dim' in kw ? withOpts(a.argmax.bind(a), [kw.dim], pick(kw, 'keepdim')) : a.argmax()),
  amax: ([a], kw) => withOpts(a.amax.bind(a), [kw.dim], pick(kw, 'keepdim')),
  where: ([cond, a, b]) => T.where(cond, a, b),
  cat: ([ts, ...dim]) => T.cat(ts, ...dim),
  mm: ([a, b]) => a.mm(b),
  to: ([a, dtype]) => a.to(dtype),
};

describe('dtypes and type promotion match PyTorch', () => {
  it('has a Kindling lambda for every op in the fixture', () => {
    const missing = [...new Set(fx.cases.map((c) => c.op))].filter((op) => !(op in ops));
    expect(missing).toEqual([]);
  });

  for (const c of fx.cases) {
    const label = c.error ? `${c.name} (PyTorch raises)` : `${c.name} -> ${c.outputs!.map((o) => o.dtype).join(', ')}`;
    it(label, () => {
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

  it('exports the dtype names', () => {
    expect(T.float32 as unknown).toBe('float32');
    expect(T.float64 as unknown).toBe('float64');
    expect(T.long as unknown).toBe('int64');
    expect(T.int32 as unknown).toBe('int32');
    expect(T.uint8 as unknown).toBe('uint8');
    expect(T.bool as unknown).toBe('bool');
  });
});
