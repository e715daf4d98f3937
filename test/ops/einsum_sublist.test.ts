// einsum's sublist form, einsum(op1, [0, 1], op2, [1, 2], [0, 2]), forward,
// backward and gradcheck against PyTorch (test/fixtures/ops_einsum.json),
// and its errors.
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import { loadFixture, runCase, runGradcheck, type OpTable, type Tensor } from '../helpers/fixtures.js';

const fx = loadFixture('einsum');
const einsum = torch.einsum as unknown as (...a: unknown[]) => Tensor;
const table: OpTable = { einsum: (args) => einsum(...args) };

describe('einsum sublist form matches PyTorch', () => {
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

describe('einsum sublist form', () => {
  const a = torch.tensor([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const b = torch.tensor([
    [1, 0],
    [0, 1],
    [2, 2],
  ]);

  it('is the equation it stands for, out= included', () => {
    expect(torch.einsum(a, [0, 1], b, [1, 2], [0, 2]).tolist()).toEqual([
      [7, 8],
      [16, 17],
    ]);
    expect(torch.einsum(a, [0, 1], b, [1, 2], [2, 0]).tolist()).toEqual(torch.einsum('ij,jk->ki', a, b).tolist());
    expect(torch.einsum(a, ['...', 1], [1]).tolist()).toEqual([5, 7, 9]);
    const out = torch.empty([2, 2], { dtype: 'int64' });
    expect(torch.einsum(a, [0, 1], b, [1, 2], [0, 2], { out })).toBe(out);
    expect(out.tolist()).toEqual([
      [7, 8],
      [16, 17],
    ]);
  });

  it('differentiates twice', () => {
    const x = torch.randn([2, 3, 3], { dtype: 'float64', requiresGrad: true });
    const y = torch.randn([2, 3], { dtype: 'float64', requiresGrad: true });
    const f = (p: Tensor, q: Tensor) => einsum(p, [1, 0, 0], q, [1, 2], [1, 2]).mul(q);
    expect(torch.autograd.gradcheck(f, [x, y])).toBe(true);
    expect(torch.autograd.gradgradcheck(f, [x, y])).toBe(true);
  });

  it('refuses malformed sublists, naming einsum and the list', () => {
    expect(() => einsum(a)).toThrow(/einsum: must specify the equation string and at least one operand/);
    expect(() => einsum(a, [0, 52])).toThrow(
      /einsum: subscript 52 in the subscripts list of operand 0 is not within the valid range \[0, 52\)/,
    );
    expect(() => einsum(a, [0, -1])).toThrow(RangeError);
    expect(() => einsum(a, [0, 1.5])).toThrow(/einsum: the subscripts list of operand 0 \[0, 1.5\] holds 1.5/);
    expect(() => einsum(a, [true, 1])).toThrow(TypeError);
    expect(() => einsum(a, ['..', 1])).toThrow(/holds "\.\."/);
    expect(() => einsum(a, 'ij')).toThrow(/einsum: the subscripts list of operand 0 must be an array/);
    expect(() => einsum(a, ['...', '...'])).toThrow(
      /einsum: the subscripts list of operand 0 \["\.\.\.", "\.\.\."\] has '\.\.\.' more than once/,
    );
    expect(() => einsum(a, [0, 1, 2])).toThrow(
      /einsum: the subscripts list of operand 0 \[0, 1, 2\] has 3 subscripts but operand 0 has 2 dimensions and no '\.\.\.'/,
    );
    expect(() => einsum(a, ['...', 0, 1, 2])).toThrow(/has 3 subscripts but operand 0 has 2 dimensions$/);
    expect(() => einsum(a, [0, 1], b)).toThrow(/einsum: operand 1 has no subscripts list/);
    expect(() => einsum(a, [0, 1], [b], [1, 2])).toThrow(/einsum: in the sublist form, argument 2 must be operand 1 \(a Tensor\)/);
    expect(() => einsum(a, [0, 1], [0, 0])).toThrow(/einsum: output subscript 0 appears more than once in the output/);
    expect(() => einsum(a, [0, 1], [7])).toThrow(/einsum: output subscript 7 does not appear in the subscripts list of any operand/);
    expect(() => einsum(a, [0, 1], '01')).toThrow(/einsum: the output subscripts list must be an array/);
    // Checks past the sublists speak in the equation's letters, and say which equation.
    expect(() => einsum(a, [0, 1], b, [0, 2])).toThrow(/subscript A has sizes 2 and 3 \(the sublists read as the equation 'AB,AC'\)/);
    expect(() => einsum(a, [0, 1], torch.ones([3, 2]), [1, 2])).toThrow(/einsum: expected all operands to have the same dtype/);
  });

  it('leaves the string form as it was', () => {
    expect(torch.einsum('ij,jk', a, b).tolist()).toEqual(torch.einsum('ij,jk', [a, b]).tolist());
    expect(() => einsum(3, a)).toThrow(/einsum: argument 'equation' must be a string/);
  });
});
