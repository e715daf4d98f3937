// mm, matmul (1-d, 2-d, batched, broadcast batched), bmm, dot and t(), against
// PyTorch (test/fixtures/ops_matmul.json).
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';
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

describe('addmm: one AddmmBackward0 node', () => {
  const lf = (shape: number[]) => torch.randn(shape, { dtype: 'float64', requiresGrad: true });
  it('records AddmmBackward0 with an edge per input, in order', () => {
    const [i, a, b] = [lf([4]), lf([2, 3]), lf([3, 4])];
    const y = torch.addmm(i, a, b);
    expect(y.gradFn!.name).toBe('AddmmBackward0');
    expect(y.gradFn!.next.map((n) => n?.name ?? null)).toEqual(['AccumulateGrad', 'AccumulateGrad', 'AccumulateGrad']);
    expect(torch.addmm(i.detach(), a.detach(), b).gradFn!.next.map((n) => n?.name ?? null)).toEqual([null, null, 'AccumulateGrad']);
  });
  it('passes float64 gradcheck and gradgradcheck for each operand layout, scale and input shape', () => {
    const cases: [string, Tensor[], { beta?: number; alpha?: number }, boolean?][] = [
      ['plain', [lf([2, 4]), lf([2, 3]), lf([3, 4])], {}],
      ['scaled, broadcast input', [lf([4]), lf([2, 3]), lf([3, 4])], { beta: 0.5, alpha: -2 }],
      ['0-d input', [lf([]), lf([2, 3]), lf([3, 4])], { beta: 3 }],
      ['column input', [lf([2, 1]), lf([2, 3]), lf([3, 4])], { alpha: 1.5 }],
      // Transposed mats take the other branch of mm's backward (as linear's weight.t() does).
      ['transposed mat1 and mat2', [lf([4]), lf([3, 2]), lf([4, 3])], { beta: 2, alpha: 0.5 }, true],
      ['beta 0', [lf([2, 4]), lf([2, 3]), lf([3, 4])], { beta: 0 }],
      ['alpha 0', [lf([2, 4]), lf([2, 3]), lf([3, 4])], { alpha: 0 }],
    ];
    for (const [name, inputs, opts, transposed] of cases) {
      const f = (i: Tensor, a: Tensor, b: Tensor) => (transposed ? torch.addmm(i, a.t(), b.t(), opts) : torch.addmm(i, a, b, opts));
      expect(torch.autograd.gradcheck(f, inputs), `${name}: gradcheck`).toBe(true);
      expect(torch.autograd.gradgradcheck(f, inputs), `${name}: gradgradcheck`).toBe(true);
    }
  });
  it('refuses what PyTorch refuses, naming addmm', () => {
    const [a, b] = [torch.randn([2, 3]), torch.randn([3, 4])];
    expect(() => torch.addmm(torch.randn([4], { dtype: 'float64' }), a, b)).toThrow(
      /addmm: input and mat1 must have the same dtype, but got float64 and float32/,
    );
    expect(() => torch.addmm(torch.randn([3]), a, b)).toThrow(/addmm: shapes \[3\] and \[2, 4\] cannot be broadcast together/);
    expect(() => torch.addmm(torch.randn([1, 2, 4]), a, b)).toThrow(
      /addmm: input \[1, 2, 4\] does not broadcast to the product's shape \[2, 4\]/,
    );
    expect(() => torch.addmm(torch.randn([4]), torch.randn([3]), b)).toThrow(/addmm: expected 2-D tensors/);
    expect(() => torch.addmm(torch.randn([4]), a, torch.randn([2, 4]))).toThrow(/addmm: shapes \[2, 3\] and \[2, 4\] cannot be multiplied/);
  });
});
