// Issue 14's indexing, shape and matmul additions beyond what the PyTorch
// fixtures (ops_shape.json, ops_matmul.json) replay: the in-place forms,
// the options forms, node names, devices of results, and the errors.
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';

const f64 = (v: unknown) => torch.tensor(v as number[], { dtype: 'float64' });
const list = (t: Tensor) => t.tolist();

describe('in-place forms write into self and match the out-of-place op', () => {
  const x = () =>
    f64([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  const mask = torch.tensor([true, false, true]);
  const idx = torch.tensor([[0, 1, 0]]);
  const cases: [string, (t: Tensor) => Tensor, (t: Tensor) => Tensor][] = [
    ['maskedFill_', (t) => t.maskedFill_(mask, -1), (t) => t.maskedFill(mask, -1)],
    ['maskedFill_ (0-d value)', (t) => t.maskedFill_(mask, f64(7)), (t) => t.maskedFill(mask, f64(7))],
    ['scatter_', (t) => t.scatter_(0, idx, f64([[9, 8, 7]])), (t) => t.scatter(0, idx, f64([[9, 8, 7]]))],
    ['scatter_ (value)', (t) => t.scatter_(1, idx, { value: 0.5 }), (t) => t.scatter(1, idx, { value: 0.5 })],
    ['scatterAdd_', (t) => t.scatterAdd_(0, idx, f64([[1, 1, 1]])), (t) => t.scatterAdd(0, idx, f64([[1, 1, 1]]))],
    [
      'scatterReduce_',
      (t) => t.scatterReduce_(1, idx, f64([[5, 6, 7]]), 'amax', { includeSelf: false }),
      (t) => t.scatterReduce(1, idx, f64([[5, 6, 7]]), 'amax', { includeSelf: false }),
    ],
    ['indexFill_', (t) => t.indexFill_(1, torch.tensor([0, 2]), 0), (t) => t.indexFill(1, torch.tensor([0, 2]), 0)],
    [
      'indexAdd_',
      (t) => t.indexAdd_(0, torch.tensor([1]), f64([[1, 1, 1]]), { alpha: 2 }),
      (t) => t.indexAdd(0, torch.tensor([1]), f64([[1, 1, 1]]), { alpha: 2 }),
    ],
    ['indexCopy_', (t) => t.indexCopy_(1, torch.tensor([2]), f64([[0], [0]])), (t) => t.indexCopy(1, torch.tensor([2]), f64([[0], [0]]))],
    ['tril_', (t) => t.tril_(), (t) => t.tril()],
    ['triu_', (t) => t.triu_({ diagonal: 1 }), (t) => t.triu(1)],
  ];
  for (const [name, inplace, outOfPlace] of cases) {
    it(name, () => {
      const t = x();
      const r = inplace(t);
      expect(r).toBe(t);
      expect(list(t)).toEqual(list(outOfPlace(x())));
      expect(list(t)).not.toEqual(list(x()));
    });
  }
  it('record autograd on a non-leaf (gradient of maskedFill_ and scatter_)', () => {
    const a = f64([1, 2, 3]).requiresGrad_();
    const b = a.mul(2);
    b.maskedFill_(torch.tensor([false, true, false]), 0);
    b.sum().backward();
    expect(list(a.grad!)).toEqual([2, 0, 2]);
    const c = f64([1, 2, 3]).requiresGrad_();
    const src = f64([5]).requiresGrad_();
    const d = c.mul(1);
    d.scatter_(0, torch.tensor([1]), src);
    d.mul(f64([1, 10, 100]))
      .sum()
      .backward();
    expect(list(c.grad!)).toEqual([1, 0, 100]);
    expect(list(src.grad!)).toEqual([10]);
  });
  it('refuse a leaf that requires grad and a broadcast mask that would grow self', () => {
    expect(() =>
      f64([1, 2])
        .requiresGrad_()
        .maskedFill_(torch.tensor([true, false]), 0),
    ).toThrow(/maskedFill_: a leaf Variable/);
    expect(() => f64([1, 2]).maskedFill_(torch.tensor([[true, false]]), 0)).toThrow(/maskedFill_.*broadcast shape \[1, 2\]/);
  });
});

describe('nonzero, argwhere and where(condition)', () => {
  const x = torch.tensor([
    [0, 3],
    [4, 0],
  ]);
  it('give int64 coordinates, as a matrix or one tensor per dim', () => {
    const m = x.nonzero();
    expect(m.dtype).toBe('int64');
    expect(list(m)).toEqual([
      [0, 1],
      [1, 0],
    ]);
    const [r, c] = x.nonzero({ asTuple: true });
    expect([list(r), list(c)]).toEqual([
      [0, 1],
      [1, 0],
    ]);
    expect(list(torch.argwhere(x))).toEqual(list(m));
    expect(torch.where(x.ne(0)).map(list)).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });
  it('index back into the input: x.index(...nonzero(asTuple)) is maskedSelect', () => {
    const v = torch.randn([3, 4]);
    const m = v.gt(0);
    expect(list(v.index(...torch.nonzero(m, { asTuple: true })))).toEqual(list(v.maskedSelect(m)));
  });
  it('maskedSelect of a transposed input has the right gradient (PyTorch 1.13 gets this one wrong)', () => {
    const x = torch.randn([4, 3], { dtype: 'float64', requiresGrad: true });
    const m = torch.tensor([
      [true, false, true, true],
      [false, true, true, false],
      [true, true, false, false],
    ]);
    expect(torch.autograd.gradcheck((a: Tensor) => a.t().maskedSelect(m), [x])).toBe(true);
    expect(torch.autograd.gradgradcheck((a: Tensor) => a.t().maskedSelect(m).pow(2), [x])).toBe(true);
  });
  it('refuse unknown options and asTuple given positionally (it is keyword-only)', () => {
    expect(() => x.nonzero({ as_tuple: true } as never)).toThrow(/unknown option 'as_tuple' \(did you mean 'asTuple'\?\)/);
    expect(() => (x.nonzero as unknown as (...a: unknown[]) => unknown)(true)).toThrow(TypeError);
  });
  it('where(condition) takes the condition by name, and refuses unknown options', () => {
    expect(torch.where({ condition: x.ne(0) }).map(list)).toEqual([
      [0, 1],
      [1, 0],
    ]);
    expect(torch.where(x.ne(0), {}).length).toBe(2);
    expect(() => torch.where(x.ne(0), { cond: 1 } as never)).toThrow(/where: unknown option 'cond'/);
    expect(() => torch.where(5 as never)).toThrow(/where: argument 'condition' must be a Tensor/);
  });
  it('where(condition, input, other) is unchanged and still refuses a non-bool condition', () => {
    expect(list(torch.where(torch.tensor([true, false]), 1, f64([5, 6])))).toEqual([1, 6]);
    expect(() => torch.where(f64([1, 0]), 1, 2)).toThrow(/where: condition must be a bool tensor/);
  });
});

describe('scatter, scatterReduce, indexFill, indexAdd, indexCopy', () => {
  it('take every parameter by name', () => {
    const idx = torch.tensor([[1, 0]]);
    const a = torch.scatter({ input: torch.zeros([2, 2]), dim: 0, index: idx, src: torch.ones([1, 2]) });
    expect(list(a)).toEqual([
      [0, 1],
      [1, 0],
    ]);
    const r = torch.scatterReduce(torch.ones([2]), 0, torch.tensor([0, 0]), torch.tensor([3, 4]).float(), {
      reduce: 'prod',
      includeSelf: true,
    });
    expect(list(r)).toEqual([12, 1]);
    expect(list(torch.indexAdd(torch.zeros([3]), { dim: 0, index: [2, 2], source: torch.ones([2]), alpha: 3 }))).toEqual([0, 0, 6]);
  });
  it('record PyTorch node names', () => {
    const x = f64([1, 2, 3]).requiresGrad_();
    const i = torch.tensor([0]);
    expect(x.scatter(0, i, f64([4])).gradFn!.name).toBe('ScatterBackward0');
    expect(x.scatter(0, i, 4).gradFn!.name).toBe('ScatterBackward1');
    expect(x.scatterReduce(0, i, f64([4]), 'sum').gradFn!.name).toBe('ScatterReduceBackward0');
    expect(x.indexAdd(0, i, f64([4])).gradFn!.name).toBe('IndexAddBackward0');
    expect(x.indexCopy(0, i, f64([4])).gradFn!.name).toBe('IndexCopyBackward0');
    expect(x.flip(0).gradFn!.name).toBe('FlipBackward0');
    expect(x.roll(1).gradFn!.name).toBe('RollBackward0');
    expect(x.reshape(1, 3).tril().gradFn!.name).toBe('TrilBackward0');
    expect(x.reshape(1, 3).diagonal().gradFn!.name).toBe('DiagonalBackward0');
  });
  it('scatter with reduce has no derivative, as in PyTorch', () => {
    const x = f64([1, 2]).requiresGrad_();
    const y = x.scatter(0, torch.tensor([0]), f64([3]), { reduce: 'multiply' });
    expect(() => y.sum().backward()).toThrow(/scatter: the derivative of scatter with reduce='multiply' is not implemented/);
  });
  it('gives the gradient of a src larger than the index (zeros where it was not read)', () => {
    const src = f64([
      [1, 2, 3],
      [4, 5, 6],
    ]).requiresGrad_();
    torch
      .zeros([2, 2], { dtype: 'float64' })
      .scatter(1, torch.tensor([[1, 0]]), src)
      .sum()
      .backward();
    expect(list(src.grad!)).toEqual([
      [1, 1, 0],
      [0, 0, 0],
    ]);
  });
  it('refuse bad indices, dims, dtypes and sources with errors naming the op', () => {
    const x = torch.zeros([3, 2]);
    expect(() => x.scatter(0, torch.tensor([[3, 0]]), 1)).toThrow(/scatter: index 3 is out of bounds/);
    expect(() => x.scatter(0, torch.tensor([[-1, 0]]), 1)).toThrow(/scatter: index -1 is out of range.*negative/);
    expect(() => x.scatter(2, torch.tensor([[0, 0]]), 1)).toThrow(/scatter: dimension out of range/);
    expect(() => x.scatter(0, torch.tensor([[0.5, 0]]), 1)).toThrow(/scatter: index must be an int64 Tensor/);
    expect(() => x.scatter(0, torch.tensor([0, 0]), 1)).toThrow(/scatter: index \[2\] and input \[3, 2\] must have the same number/);
    expect(() => x.scatter(0, torch.tensor([[0, 0, 0]]), 1)).toThrow(/scatter: index \[1, 3\] is larger than self/);
    expect(() => x.scatter(0, torch.tensor([[0, 0]]))).toThrow(/scatter: give exactly one of src/);
    expect(() => x.scatter(0, torch.tensor([[0, 0]]), 1, { value: 2 })).toThrow(/exactly one of src/);
    expect(() => x.scatter(0, torch.tensor([[0, 0]]), 1, { reduce: 'mean' } as never)).toThrow(/'reduce' must be one of 'add', 'multiply'/);
    expect(() => x.scatterReduce(0, torch.tensor([[0, 0]]), torch.ones([1, 2]), 'max' as never)).toThrow(
      /scatterReduce: argument 'reduce'/,
    );
    expect(() => x.scatterReduce(0, torch.tensor([[0, 0]]), torch.ones([1, 2]), 'sum', { include_self: false } as never)).toThrow(
      /did you mean 'includeSelf'/,
    );
    expect(() =>
      torch.zeros([2], { dtype: 'bool' }).scatterReduce(0, torch.tensor([0]), torch.zeros([1], { dtype: 'bool' }), 'sum'),
    ).toThrow(/scatterReduce: not implemented for bool/);
    expect(() => x.indexFill(0, torch.tensor([[0]]), 1)).toThrow(/indexFill: index must be 0-D or 1-D/);
    expect(() => x.indexFill(0, torch.tensor([-4]), 1)).toThrow(/indexFill: index -4 is out of bounds for dimension 0 with size 3/);
    expect(() => x.indexFill(0, torch.tensor([0]), f64([1, 2]))).toThrow(/maskedFill: only supports a 0-dimensional value tensor/);
    expect(() => x.indexAdd(0, torch.tensor([0]), torch.ones([1, 3]))).toThrow(/indexAdd: source \[1, 3\] must have the shape/);
    expect(() => x.indexAdd(0, torch.tensor([0]), torch.ones([1, 2], { dtype: 'float64' }))).toThrow(
      /indexAdd: self \(float32\) and source \(float64\)/,
    );
    expect(() =>
      torch.zeros([2], { dtype: 'int64' }).indexAdd(0, torch.tensor([0]), torch.ones([1], { dtype: 'int64' }), { alpha: 0.5 }),
    ).toThrow(/indexAdd: alpha must be an integer/);
    expect(() => x.indexCopy(1, torch.tensor([2]), torch.ones([3, 1]))).toThrow(
      /indexCopy: index 2 is out of bounds for dimension 1 with size 2/,
    );
    expect(() => x.maskedSelect(torch.tensor([1, 0]))).toThrow(/maskedSelect: mask must be a bool tensor/);
    expect(() => x.maskedSelect(torch.tensor([true, false, true]))).toThrow(/maskedSelect/);
  });
  it('take 0-d inputs as one-element vectors', () => {
    const s = torch.tensor(2.5);
    expect(list(s.scatter(0, torch.tensor(0), torch.tensor(7.5)))).toBe(7.5);
    expect(list(s.indexFill(0, torch.tensor(0), 1))).toBe(1);
    expect(list(s.maskedSelect(torch.tensor(true)))).toEqual([2.5]);
    // A 0-d index into a 1-d input is one index (1.13's one-hot idiom; ops_shape.json has the rest).
    const oneHot = torch.zeros(4).scatter_({ dim: 0, index: torch.tensor(2), value: 1 });
    expect(list(oneHot)).toEqual([0, 0, 1, 0]);
    expect(list(f64([5, 6, 7]).scatterAdd_(0, torch.tensor(1), f64(0.5)))).toEqual([5, 6.5, 7]);
    expect(() => torch.zeros(2, 3).scatter_(0, torch.tensor(0), 1)).toThrow(
      /scatter: index \[\] and input \[2, 3\] must have the same number of dimensions/,
    );
  });
});

describe('index with string slices', () => {
  it('refuses a string without a colon instead of reading it as an open slice', () => {
    const x = torch.arange(6).reshape(2, 3);
    expect(() => x.index('0')).toThrow(/index: '0' is not a slice .*pass the number 0/);
    expect(() => x.index(':', '1')).toThrow(/'1' is not a slice/);
    expect(x.index('0:1').shape).toEqual([1, 3]);
    expect(x.index(0).tolist()).toEqual([0, 1, 2]);
  });
});

describe('shape additions', () => {
  it('tril/triu, flip, roll and diagonals refuse what PyTorch refuses', () => {
    expect(() => torch.ones([3]).tril()).toThrow(/tril: input tensor must have at least 2 dimensions/);
    expect(() => torch.ones([3, 2]).flip(0, 0)).toThrow(/flip: dim 0 appears multiple times/);
    expect(() => torch.ones([3, 2]).flip(2)).toThrow(/flip: dimension out of range/);
    expect(() => torch.ones([3]).fliplr()).toThrow(/fliplr: input must be >= 2-d/);
    expect(() => torch.ones([3, 2]).roll([1, 2], [0])).toThrow(/roll: shifts and dimensions must align/);
    expect(() => torch.ones([3, 2]).roll([1, 2])).toThrow(/roll: shifts and dims must align/);
    expect(() => torch.ones([3, 2]).diagonal(0, 1, -1)).toThrow(/diagonal: diagonal dimensions cannot be identical/);
    expect(() => torch.ones([2, 2, 2]).diag()).toThrow(/diag: supports 1-D or 2-D tensors, got 3-D/);
    expect(() => torch.ones([3]).trace()).toThrow(/trace: expected a matrix/);
    expect(() => torch.ones([3]).repeatInterleave(-1)).toThrow(/repeatInterleave: repeats can not be negative/);
    expect(() => torch.ones([3]).repeatInterleave(2, { outputSize: 5 })).toThrow(/repeatInterleave: outputSize 5 does not match/);
    expect(() => torch.ones([3]).repeatInterleave(2 ** 40)).toThrow(/repeatInterleave: cannot allocate the index/);
    expect(() => torch.ones([3]).repeatInterleave(torch.tensor([1.5]))).toThrow(/repeatInterleave: repeats must be an integer tensor/);
  });
  it('flip, roll and repeatInterleave take their options forms', () => {
    const x = torch.arange(6).reshape(2, 3);
    expect(list(x.flip([0, 1]))).toEqual(list(x.flip(0, 1)));
    expect(list(torch.flip(x, { dims: [1] }))).toEqual([
      [2, 1, 0],
      [5, 4, 3],
    ]);
    expect(list(torch.roll(x, { shifts: 1, dims: 1 }))).toEqual([
      [2, 0, 1],
      [5, 3, 4],
    ]);
    expect(list(x.repeatInterleave(2, { dim: 0, outputSize: 4 }))).toEqual([
      [0, 1, 2],
      [0, 1, 2],
      [3, 4, 5],
      [3, 4, 5],
    ]);
  });
  it('diagonal is a view: writes through it reach the input', () => {
    const x = torch.zeros([3, 3]);
    x.diagonal().fill_(1);
    expect(list(x)).toEqual(list(torch.eye(3)));
    // diag of a matrix is a copy, as in PyTorch.
    torch.diag(x).fill_(5);
    expect(list(x)).toEqual(list(torch.eye(3)));
  });
});

describe('einsum and the add-products', () => {
  it('einsum takes operands spread or as one array, and refuses bad equations naming einsum', () => {
    const a = torch.randn([2, 3]),
      b = torch.randn([3, 4]);
    expect(list(torch.einsum('ij,jk', a, b))).toEqual(list(torch.einsum('ij,jk', [a, b])));
    expect(() => torch.einsum('ij,jk', a)).toThrow(/einsum: 2 operand subscripts/);
    expect(() => torch.einsum('i1', a)).toThrow(/einsum: invalid subscript '1'/);
    expect(() => torch.einsum('ij->ii', a)).toThrow(/einsum: output subscript i appears more than once/);
    expect(() => torch.einsum('ij', [])).toThrow(/einsum: must provide at least one operand/);
    expect(() => torch.einsum(3 as never, a)).toThrow(/einsum: argument 'equation' must be a string/);
    expect(() => torch.einsum('ij,jk', a, 5 as never)).toThrow(/einsum: operands must be Tensors/);
  });
  it('einsum differentiates twice (batched, with a diagonal and a sum)', () => {
    const a = torch.randn([2, 3, 3], { dtype: 'float64', requiresGrad: true });
    const b = torch.randn([2, 3], { dtype: 'float64', requiresGrad: true });
    const f = (p: Tensor, q: Tensor) => torch.einsum('bii,bj->bj', p, q).mul(q);
    expect(torch.autograd.gradcheck(f, [a, b])).toBe(true);
    expect(torch.autograd.gradgradcheck(f, [a, b])).toBe(true);
  });
  it('addmm with beta 0 ignores the NaNs of input, and beta/alpha are keyword-only', () => {
    const nan = torch.full([2, 2], NaN);
    expect(list(torch.addmm(nan, torch.eye(2), torch.eye(2), { beta: 0 }))).toEqual(list(torch.eye(2)));
    expect(() => (torch.addmm as unknown as (...a: unknown[]) => unknown)(nan, torch.eye(2), torch.eye(2), 0)).toThrow(TypeError);
    expect(() => torch.addmm(torch.ones([3]), torch.eye(2), torch.eye(2))).toThrow(/addmm/);
    expect(() => torch.addmv(torch.ones([2]), torch.eye(2), torch.ones([3]))).toThrow(/mv: shapes \[2, 2\] and \[3\] cannot be multiplied/);
    expect(() => torch.baddbmm(torch.ones([2, 2]), torch.ones([2, 2]), torch.ones([2, 2]))).toThrow(/bmm: expected 3-D tensors/);
  });
});
