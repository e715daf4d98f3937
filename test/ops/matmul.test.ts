// mm, matmul (1-d, 2-d, batched, broadcast batched), bmm, dot and t(), against
// PyTorch (test/fixtures/ops_matmul.json).
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import {
  declaredOp,
  loadFixture,
  runCase,
  runGradcheck,
  expectTensor,
  buildInputs,
  resolveArgs,
  type OpTable,
} from '../helpers/fixtures.js';

const fx = loadFixture('matmul');
const T = torch as unknown as Record<string, (...a: unknown[]) => unknown>;

const methods: OpTable = {
  mm: ([a, b]) => a.mm(b),
  matmul: ([a, b]) => a.matmul(b),
  bmm: ([a, b]) => a.bmm(b),
  dot: ([a, b]) => a.dot(b),
  t: ([a]) => a.t(),
};

const topLevel: OpTable = {
  mm: ([a, b]) => T.mm(a, b),
  matmul: ([a, b]) => T.matmul(a, b),
  bmm: ([a, b]) => T.bmm(a, b),
  dot: ([a, b]) => T.dot(a, b),
};

describe('matmul family matches PyTorch', () => {
  it('has a Kindling lambda or a declared op for every op in the fixture', () => {
    const missing = [...new Set(fx.cases.map((c) => c.op))].filter((op) => !(op in methods) && !declaredOp(op));
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
