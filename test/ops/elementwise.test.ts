// Elementwise unary and binary ops, comparisons, broadcasting and non-contiguous
// operands, against PyTorch (test/fixtures/ops_elementwise.json).
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import {
  loadFixture,
  runCase,
  runGradcheck,
  expectTensor,
  buildInputs,
  resolveArgs,
  declaredOp,
  type OpTable,
} from '../helpers/fixtures.js';

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
  div: ([a, b], kw) => ('rounding_mode' in kw ? a.div(b, { roundingMode: kw.rounding_mode }) : a.div(b)),
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
  div: ([a, b], kw) => ('rounding_mode' in kw ? T.div(a, b, { roundingMode: kw.rounding_mode }) : T.div(a, b)),
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
  it('has a Kindling lambda or a declared op for every op in the fixture', () => {
    const missing = [...new Set(fx.cases.map((c) => c.op))].filter((op) => !(op in methods) && declaredOp(op) === null);
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
    const run = topLevel[c.op] ?? declaredOp(c.op);
    if (c.error || !run) continue;
    it(`torch.${c.op}: ${c.name}`, () => {
      expect.hasAssertions();
      // Fixture ops carry PyTorch's snake_case names (floor_divide); Kindling's are camelCase.
      const name = c.op.replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());
      expect(typeof T[name], `torch.${name} is exported`).toBe('function');
      const { refs } = buildInputs(c);
      const out = run(resolveArgs(c.args, refs), c.kwargs);
      expectTensor(out, c.outputs![0], `torch.${c.op} ${c.name}`, [fx.tolerance, c.tol]);
    });
  }
});

// add_/sub_/mul_/div_ write straight into the tensor where autograd records
// nothing (lib/ops/elementwise.ts, binaryInPlace); every case must give what
// the out-of-place op gives, including inputs that overlap the output.
describe('in-place arithmetic without autograd', () => {
  const ops = ['add', 'sub', 'mul', 'div'] as const;
  const grid = (n: number, dtype: 'float32' | 'float64' = 'float32') => torch.arange(n, { dtype }).mul(0.37).add(1);
  for (const op of ops) {
    it(`${op}_ matches ${op} for broadcasts, scalars, strided and overlapping operands`, () => {
      const cases: Array<[string, () => torch.Tensor, (t: torch.Tensor) => torch.Tensor | number]> = [
        ['same shape', () => grid(12).view(3, 4), () => grid(12).view(3, 4).mul(-0.5)],
        ['row broadcast', () => grid(12).view(3, 4), () => torch.tensor([1.5, -2, 3, 0.25])],
        ['column broadcast, float64', () => grid(12, 'float64').view(3, 4), () => torch.tensor([[2], [-1], [4]], { dtype: 'float64' })],
        ['scalar', () => grid(6), () => -1.75],
        ['transposed output', () => grid(12).view(3, 4).t(), () => grid(12).view(4, 3).mul(2)],
        ['itself', () => grid(6), (t) => t],
        ['its own transpose', () => grid(9).view(3, 3), (t) => t.t()],
      ];
      // A view one element along the same memory: reads overlap writes.
      let base = grid(8);
      cases.push(['a shifted view of itself', () => (base = grid(8)).narrow(0, 1, 6), () => base.narrow(0, 0, 6)]);
      for (const [name, make, other] of cases) {
        const t = make();
        const o = other(t);
        const want = (typeof o === 'number' ? t[op](o) : t[op](o.clone())).clone();
        const v0 = t._storage.version;
        t[`${op}_`](o);
        expect(t._storage.version, name).toBe(v0 + 1);
        expect(t.tolist(), `${op}_ ${name}`).toEqual(want.tolist());
      }
    });
  }

  it('folds alpha, and still refuses what PyTorch refuses', () => {
    const t = torch.ones(3);
    t.add_(2, { alpha: 3 });
    t.sub_(torch.tensor([1, 2, 3]), { alpha: 2 });
    expect(t.tolist()).toEqual([5, 3, 1]);
    expect(() => torch.ones(3).add_(torch.ones(2, 3))).toThrow(/doesn't match the broadcast shape/);
    expect(() => torch.tensor([1, 2]).add_(torch.tensor([0.5, 1.5]))).toThrow(/can't be cast/);
    const w = torch.ones(2, { requiresGrad: true });
    expect(() => w.mul_(2)).toThrow(/leaf Variable that requires grad/);
    torch.noGrad(() => w.mul_(2));
    expect(w.tolist()).toEqual([2, 2]);
    expect(w.requiresGrad).toBe(true);
  });

  it('bumps the version, so backward sees a saved tensor changed under noGrad', () => {
    const x = torch.tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(2);
    const z = y.mul(y).sum(); // saves y
    torch.noGrad(() => y.add_(1));
    expect(() => z.backward()).toThrow(/modified by an inplace operation/);
  });
});
