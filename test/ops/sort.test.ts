// Sorting, scans and the reductions built on them (sort, argsort, topk,
// kthvalue, median, nanmedian, mode, unique, cumsum, cumprod, logcumsumexp,
// cummax, cummin, varMean, stdMean, aminmax, nansum, nanmean, prod with
// zeros, all/any) against PyTorch (test/fixtures/ops_sort.json).
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import { loadFixture, runCase, runGradcheck, pick, withOpts, type OpTable, type Tensor } from '../helpers/fixtures.js';

const fx = loadFixture('sort');

// median() is a tensor; median(dim) is (values, indices).
const medianLike =
  (name: 'median' | 'nanmedian') =>
  ([a]: Tensor[], kw: Record<string, Tensor>) => {
    if (!('dim' in kw)) return a[name]();
    return withOpts(a[name].bind(a), [kw.dim], pick(kw, 'keepdim'));
  };

const ops: OpTable = {
  median: medianLike('median'),
  nanmedian: medianLike('nanmedian'),
  unique: ([a], kw) => a.unique(pick(kw, 'returnInverse', 'returnCounts', 'sorted', 'dim') ?? {}),
  uniqueConsecutive: ([a], kw) => torch.uniqueConsecutive(a, pick(kw, 'returnInverse', 'returnCounts', 'dim') ?? {}),
};

// The fixture's kwargs are PyTorch's names; the lambdas above pick camelCase keys.
const camelKw = (kw: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(kw).map(([k, v]) => [k.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase()), v]));
const table: OpTable = Object.fromEntries(Object.entries(ops).map(([k, f]) => [k, (args, kw) => f(args, camelKw(kw ?? {}))]));

describe('sorting and scans match PyTorch', () => {
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

describe('named tuples', () => {
  it('destructure and read by name', () => {
    const x = torch.tensor([[3, 1, 2]]);
    const [v, i] = x.sort();
    expect(v.tolist()).toEqual([[1, 2, 3]]);
    expect(x.sort().indices.tolist()).toEqual([[1, 2, 0]]);
    expect(x.sort({ descending: true }).values.tolist()).toEqual([[3, 2, 1]]);
    expect(i.dtype).toBe('int64');
    const r = torch.aminmax(torch.tensor([4, -2, 7]));
    expect([r.min.item(), r.max.item()]).toEqual([-2, 7]);
    const [mn, mx] = r;
    expect([mn.item(), mx.item()]).toEqual([-2, 7]);
    const vm = torch.tensor([1, 2, 3, 4], { dtype: 'float64' }).varMean();
    expect(vm.var.item()).toBeCloseTo(5 / 3, 12);
    expect(vm.mean.item()).toBe(2.5);
    const sm = torch.tensor([1, 2, 3, 4], { dtype: 'float64' }).stdMean({ unbiased: false });
    expect(sm[0].item()).toBeCloseTo(Math.sqrt(1.25), 12);
    expect(torch.tensor([1, 5, 2]).cummax(0).indices.tolist()).toEqual([0, 1, 1]);
    const [vals, idx] = torch.tensor([[1, 3, 2]]).topk(2, { dim: 1 });
    expect(vals.tolist()).toEqual([[3, 2]]);
    expect(idx.tolist()).toEqual([[1, 2]]);
  });

  it('unique returns a tensor or a tuple as the flags ask', () => {
    const x = torch.tensor([3, 1, 3]);
    expect(x.unique().tolist()).toEqual([1, 3]);
    const [u, inv] = x.unique({ returnInverse: true });
    expect([u.tolist(), inv.tolist()]).toEqual([
      [1, 3],
      [1, 0, 1],
    ]);
    const [, counts] = torch.unique(x, { returnCounts: true });
    expect(counts.tolist()).toEqual([1, 2]);
    expect((torch.unique as (...a: unknown[]) => Tensor[])(x, true, true, true).length).toBe(3);
  });

  it('unique along a dim takes dim positionally too, and keeps the device and no grad', () => {
    const x = torch.tensor(
      [
        [2, 1],
        [0, 5],
        [2, 1],
      ],
      { dtype: 'float32', requiresGrad: true },
    );
    const [u, inv, counts] = (torch.unique as (...a: unknown[]) => Tensor[])(x, true, true, true, 0);
    expect(u.tolist()).toEqual([
      [0, 5],
      [2, 1],
    ]);
    expect(inv.tolist()).toEqual([1, 0, 1]);
    expect(counts.tolist()).toEqual([1, 2]);
    expect(u.requiresGrad).toBe(false);
    const [v, runInv] = (torch.uniqueConsecutive as (...a: unknown[]) => Tensor[])(x, true, false, -1);
    expect(v.tolist()).toEqual(x.tolist());
    expect(runInv.tolist()).toEqual([0, 1]);
    // dim=null is the flattened form, as PyTorch's dim=None.
    expect(x.unique({ dim: null }).tolist()).toEqual([0, 1, 2, 5]);
  });

  // What PyTorch 1.13 gives for the same rows in each dtype (its CPU unique_dim refuses float16).
  it.each([...torch.DTYPES])('unique along a dim in %s', (dtype) => {
    const x = torch
      .tensor([
        [1, 0],
        [0, 1],
        [1, 0],
        [0, 0],
      ])
      .to(dtype);
    const [u, inv, counts] = x.unique({ dim: 0, returnInverse: true, returnCounts: true });
    expect(u.dtype).toBe(dtype);
    expect(u.to('float64').tolist()).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
    ]);
    expect(inv.tolist()).toEqual([2, 1, 2, 0]);
    expect(counts.tolist()).toEqual([1, 1, 2]);
    if (!torch.isFloating(dtype)) return;
    // -0 equals 0 (PyTorch compares with ==), and the run keeps its first row.
    const z = torch
      .tensor([
        [-0, 1.5],
        [0, 1.5],
        [-2, 3],
      ])
      .to(dtype);
    const [zu, zinv, zcounts] = z.unique({ dim: 0, returnInverse: true, returnCounts: true });
    expect(zu.to('float64').tolist()).toEqual([
      [-2, 3],
      [-0, 1.5],
    ]);
    expect([zinv.tolist(), zcounts.tolist()]).toEqual([
      [1, 1, 0],
      [1, 2],
    ]);
    const [cu, cinv, ccounts] = torch.uniqueConsecutive(z, { dim: 0, returnInverse: true, returnCounts: true });
    expect(cu.to('float64').tolist()).toEqual([
      [-0, 1.5],
      [-2, 3],
    ]);
    expect([cinv.tolist(), ccounts.tolist()]).toEqual([
      [0, 0, 1],
      [2, 1],
    ]);
  });
});

describe('gradients', () => {
  it('sort, topk and cummax name their nodes as PyTorch', () => {
    const x = torch.tensor([2, 1, 3], { requiresGrad: true });
    expect(x.sort().values.gradFn?.name).toBe('SortBackward0');
    expect(x.topk(1).values.gradFn?.name).toBe('TopkBackward0');
    expect(x.kthvalue(1).values.gradFn?.name).toBe('KthvalueBackward0');
    expect(x.median().gradFn?.name).toBe('MedianBackward0');
    expect(x.median(0).values.gradFn?.name).toBe('MedianBackward1');
    expect(x.mode().values.gradFn?.name).toBe('ModeBackward0');
    expect(x.cumsum(0).gradFn?.name).toBe('CumsumBackward0');
    expect(x.cumprod(0).gradFn?.name).toBe('CumprodBackward0');
    expect(x.cummax(0).values.gradFn?.name).toBe('CummaxBackward0');
    expect(x.logcumsumexp(0).gradFn?.name).toBe('LogcumsumexpBackward0');
    expect(x.sort().indices.requiresGrad).toBe(false);
  });

  it('cumprod and prod are differentiable twice through zeros', () => {
    const x = torch.tensor([2, 0, 3, 0.5, 4], { dtype: 'float64', requiresGrad: true });
    expect(torch.autograd.gradgradcheck((t: Tensor) => t.cumprod(0), [x])).toBe(true);
    expect(torch.autograd.gradgradcheck((t: Tensor) => t.prod(), [x])).toBe(true);
    const y = torch.tensor(
      [
        [2, 0, 3],
        [1, 0, 0],
        [1, 2, 3],
      ],
      { dtype: 'float64', requiresGrad: true },
    );
    expect(torch.autograd.gradgradcheck((t: Tensor) => t.prod(1), [y])).toBe(true);
  });

  it('cumsum_ and cumprod_ write in place', () => {
    const x = torch.tensor([1, 2, 3]);
    expect(x.cumsum_(0)).toBe(x);
    expect(x.tolist()).toEqual([1, 3, 6]);
    x.cumprod_(0);
    expect(x.tolist()).toEqual([1, 3, 18]);
    const leaf = torch.tensor([1, 2], { requiresGrad: true });
    const y = leaf.mul(1);
    y.cumsum_(0);
    y.sum().backward();
    expect(leaf.grad?.tolist()).toEqual([2, 1]);
  });
});

describe('errors name the op and the values', () => {
  it('refuses bad arguments', () => {
    const x = torch.tensor([[1, 2, 3]]);
    expect(() => x.topk(4)).toThrow(/topk: selected index k \(4\) out of range for dim 1 of size 3/);
    expect(() => x.kthvalue(0)).toThrow(/kthvalue: selected number k \(0\)/);
    expect(() => x.sort(2)).toThrow(/sort/);
    expect(() => x.sort({ stabel: true } as never)).toThrow(/stabel.*stable/);
    expect(() => x.unique({ dim: 2 })).toThrow(/unique: dimension out of range/);
    expect(() => torch.tensor(3).unique({ dim: 0 })).toThrow(/unique: dimension specified as 0 but tensor has no dimensions/);
    expect(() => torch.zeros([0, 3]).unique({ dim: 1 })).toThrow(/unique: shape \[0, 3\] has zero-sized dims other than dim 1/);
    expect(() => torch.zeros([0, 0]).uniqueConsecutive({ dim: 0 })).toThrow(
      /uniqueConsecutive: shape \[0, 0\] has more than one zero-sized dim/,
    );
    expect(() => x.unique({ dim: 0.5 })).toThrow(/unique/);
    expect(() => x.logcumsumexp(0)).toThrow(/logcumsumexp: expected a floating point tensor, got int64/);
    expect(() => x.median({ keepdim: true } as never)).toThrow(/median: keepdim needs a dim/);
    expect(() => torch.zeros([2, 0]).median(1)).toThrow(/median: cannot compute the median over the zero-size dim 1/);
    expect(() => torch.zeros([2, 3]).var(1, false, { unbiased: true } as never)).toThrow(/var/);
    expect(() => torch.zeros([0]).aminmax()).toThrow(/aminmax: cannot compute on an empty tensor/);
    expect(() => torch.zeros([0], { dtype: 'int64' }).median()).toThrow(/median: cannot compute the median of an empty int64 tensor/);
    expect(Number.isNaN(torch.zeros([0]).median().item())).toBe(true);
  });
});
