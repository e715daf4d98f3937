// Elementwise unary and binary ops, comparisons, broadcasting and non-contiguous
// operands, against PyTorch (test/fixtures/ops_elementwise.json).
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import { loadFixture, runCase, runGradcheck, expectTensor, buildInputs, resolveArgs, type OpTable } from '../helpers/fixtures.js';

const fx = loadFixture('elementwise');

// The method form, as a PyTorch user writes it: a.add(b, { alpha }).
const methods: OpTable = {
  neg: ([a]) => a.neg(),
  exp: ([a]) => a.exp(),
  log: ([a]) => a.log(),
  sqrt: ([a]) => a.sqrt(),
  abs: ([a]) => a.abs(),
  sin: ([a]) => a.sin(),
  cos: ([a]) => a.cos(),
  relu: ([a]) => a.relu(),
  sigmoid: ([a]) => a.sigmoid(),
  tanh: ([a]) => a.tanh(),
  clamp: ([a], kw) => a.clamp(kw.min ?? undefined, kw.max ?? undefined),
  add: ([a, b], kw) => ('alpha' in kw ? a.add(b, { alpha: kw.alpha }) : a.add(b)),
  sub: ([a, b], kw) => ('alpha' in kw ? a.sub(b, { alpha: kw.alpha }) : a.sub(b)),
  mul: ([a, b]) => a.mul(b),
  div: ([a, b]) => a.div(b),
  pow: ([a, b]) => a.pow(b),
  maximum: ([a, b]) => a.maximum(b),
  minimum: ([a, b]) => a.minimum(b),
  eq: ([a, b]) => a.eq(b),
  ne: ([a, b]) => a.ne(b),
  gt: ([a, b]) => a.gt(b),
  ge: ([a, b]) => a.ge(b),
  lt: ([a, b]) => a.lt(b),
  le: ([a, b]) => a.le(b),
};

// The top-level form: torch.add(a, b, { alpha }).
const T = torch as unknown as Record<string, (...a: unknown[]) => unknown>;
const topLevel: OpTable = {
  neg: ([a]) => T.neg(a),
  exp: ([a]) => T.exp(a),
  log: ([a]) => T.log(a),
  sqrt: ([a]) => T.sqrt(a),
  abs: ([a]) => T.abs(a),
  sin: ([a]) => T.sin(a),
  cos: ([a]) => T.cos(a),
  relu: ([a]) => T.relu(a),
  sigmoid: ([a]) => T.sigmoid(a),
  tanh: ([a]) => T.tanh(a),
  clamp: ([a], kw) => T.clamp(a, kw.min ?? undefined, kw.max ?? undefined),
  add: ([a, b], kw) => ('alpha' in kw ? T.add(a, b, { alpha: kw.alpha }) : T.add(a, b)),
  sub: ([a, b], kw) => ('alpha' in kw ? T.sub(a, b, { alpha: kw.alpha }) : T.sub(a, b)),
  mul: ([a, b]) => T.mul(a, b),
  div: ([a, b]) => T.div(a, b),
  pow: ([a, b]) => T.pow(a, b),
  maximum: ([a, b]) => T.maximum(a, b),
  minimum: ([a, b]) => T.minimum(a, b),
  eq: ([a, b]) => T.eq(a, b),
  ne: ([a, b]) => T.ne(a, b),
  gt: ([a, b]) => T.gt(a, b),
  ge: ([a, b]) => T.ge(a, b),
  lt: ([a, b]) => T.lt(a, b),
  le: ([a, b]) => T.le(a, b),
};

describe('elementwise ops match PyTorch', () => {
  it('has a Kindling lambda for every op in the fixture', () => {
    const missing = [...new Set(fx.cases.map((c) => c.op))].filter((op) => !(op in methods));
    expect(missing).toEqual([]);
  });

  for (const c of fx.cases) {
    it(c.name, () => {
      expect.hasAssertions();
      runCase(c, methods, fx);
    });
    if (c.gradcheck) {
      it(`${c.name}: float64 gradcheck`, () => {
        expect.hasAssertions();
        runGradcheck(c, methods);
      });
    }
  }
});

describe('top-level torch.<op> matches PyTorch', () => {
  for (const c of fx.cases) {
    if (c.error || !(c.op in topLevel)) continue;
    it(`torch.${c.op}: ${c.name}`, () => {
      expect.hasAssertions();
      expect(typeof T[c.op], `torch.${c.op} is exported`).toBe('function');
      const { refs } = buildInputs(c);
      const out = topLevel[c.op](resolveArgs(c.args, refs), c.kwargs);
      expectTensor(out, c.outputs![0], `torch.${c.op} ${c.name}`, [fx.tolerance, c.tol]);
    });
  }
});
