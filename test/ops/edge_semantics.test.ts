// Edge cases the property campaign (test/reliability/properties.test.ts)
// found, each pinned to PyTorch 1.13.1's answer. The expected values were
// printed by torch 1.13.1 (CPU) for the same calls; where PyTorch raises,
// the call must throw an Error that names the op.
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';

const vals = (t: Tensor) => Array.from(t.toTypedArray() as ArrayLike<number | bigint>, Number);

describe('pow follows result_type, scalars included', () => {
  it('bool, int and float operands give PyTorch dtypes', () => {
    const b = torch.tensor([true, false]);
    // torch.tensor([True, False]).pow(2) -> tensor([1, 0]) (int64)
    expect(b.pow(2).dtype).toBe('int64');
    expect(vals(b.pow(2))).toEqual([1, 0]);
    expect(vals(b.pow(0))).toEqual([1, 1]);
    // .pow(2.5) -> tensor([1., 0.])
    expect(b.pow(2.5).dtype).toBe('float32');
    expect(vals(b.pow(2.5))).toEqual([1, 0]);
    // int32.pow(False) -> int32 ones; pow(0-d int32, True) keeps int32
    const i = torch.tensor([2, 3], { dtype: 'int32' });
    expect(i.pow(false as never).dtype).toBe('int32');
    expect(vals(i.pow(false as never))).toEqual([1, 1]);
    expect(torch.tensor(0, { dtype: 'int32' }).pow(true as never).dtype).toBe('int32');
    expect(vals(torch.pow(2, torch.tensor([true, false])))).toEqual([2, 1]);
    expect(torch.pow(2, torch.tensor([true, false])).dtype).toBe('int64');
  });
  it('bool ** bool and ints to negative scalar powers throw, naming pow', () => {
    expect(() => torch.tensor([true]).pow(true as never)).toThrow(/pow/);
    expect(() => torch.pow(torch.tensor([true, false]), torch.tensor([true, false]))).toThrow(/pow/);
    expect(() => torch.pow(true as never, torch.tensor([true]))).toThrow(/pow/);
    expect(() => torch.tensor([true]).pow(-1)).toThrow(RangeError);
    expect(() => torch.tensor([2, 3]).pow(-1)).toThrow(/pow: integers to negative integer powers/);
  });
  it('a number to a tensor power', () => {
    // torch.pow(-2, tensor([0.5, 2., 3., -1.])) -> [nan, 4, -8, -0.5]
    expect(vals(torch.pow(-2, torch.tensor([0.5, 2, 3, -1], { dtype: 'float32' })))).toEqual([NaN, 4, -8, -0.5]);
    // torch.pow(0, tensor([0.5, 0., -1., nan])) -> [0, 1, inf, nan]
    expect(vals(torch.pow(0, torch.tensor([0.5, 0, -1, NaN])))).toEqual([0, 1, Infinity, NaN]);
    // torch.pow(2, tensor([-1, 2, 3])) -> tensor([0, 4, 8])
    expect(vals(torch.pow(2, torch.tensor([-1, 2, 3])))).toEqual([0, 4, 8]);
  });
});

describe('div(number, tensor) divides directly', () => {
  it('values and gradient match PyTorch to the bit', () => {
    const t = torch.tensor([3, 0, -0.7, NaN, 1e-30, Infinity], { dtype: 'float32', requiresGrad: true });
    const y = torch.div(2.5, t);
    expect(vals(y)).toEqual([0.8333333134651184, Infinity, -3.5714285373687744, NaN, 2.4999999620608018e30, 0]);
    y.sum().backward();
    expect(vals(t.grad!)).toEqual([-0.277777761220932, -Infinity, -5.102040767669678, NaN, -Infinity, -0]);
    expect(vals(torch.div(3, torch.tensor([2, 0, -4])))).toEqual([1.5, Infinity, -0.75]);
  });
  it('passes gradcheck', () => {
    const x = torch.tensor([1.5, -2, 3.25], { dtype: 'float64', requiresGrad: true });
    expect(torch.autograd.gradcheck((v: Tensor) => torch.div(1.7, v), [x])).toBe(true);
  });
});

describe('reductions', () => {
  it('sum and mean over an empty dim list reduce everything', () => {
    const x = torch.arange(6, { dtype: 'float32' }).reshape(2, 3).requiresGrad_();
    expect(vals(x.sum([]))).toEqual([15]);
    expect(x.sum([], { keepdim: true }).shape).toEqual([1, 1]);
    const m = x.mean([]);
    expect(m.shape).toEqual([]);
    expect(m.item()).toBe(2.5);
    m.backward();
    expect(vals(x.grad!)).toEqual(new Array(6).fill(0.1666666716337204));
    // torch.tensor([[1, 5, 2], [7, 0, 7]]).sum([]) -> 22
    expect(
      torch
        .tensor([
          [1, 5, 2],
          [7, 0, 7],
        ])
        .sum([])
        .item(),
    ).toBe(22);
    expect(vals(x.amax([]))).toEqual([5]);
    expect(() => x.logsumexp([])).toThrow(/logsumexp/);
  });
  it('a dim repeated in the list is an error, on 0-d tensors too', () => {
    expect(() => torch.tensor(0.5).sum([0, 0])).toThrow(/sum: dim 0 appears multiple times/);
    expect(() => torch.tensor(0.5).amax([0, -1])).toThrow(/amax/);
    expect(vals(torch.tensor(0.5).sum([0]))).toEqual([0.5]);
  });
  it('softmax and logSoftmax of a 0-d tensor take dim 0 or -1', () => {
    const x = torch.tensor(2.5, { requiresGrad: true });
    const y = x.logSoftmax(0);
    expect(y.shape).toEqual([]);
    expect(y.item()).toBe(0);
    y.backward();
    expect(x.grad!.item()).toBe(0);
    expect(torch.tensor(2.5).softmax(-1).item()).toBe(1);
    expect(Number.isNaN(torch.tensor(Infinity).logSoftmax(0).item())).toBe(true);
    expect(() => torch.tensor(2.5).softmax(1)).toThrow(/softmax: dimension out of range/);
    expect(() => torch.tensor(2.5).logSoftmax(-2)).toThrow(/logSoftmax: dimension out of range/);
  });
  it('argmin / argmax over a non-empty dim of a zero-size tensor is empty', () => {
    const z = torch.zeros(1, 0);
    expect(z.argmin(0).shape).toEqual([0]);
    expect(z.argmin(0).dtype).toBe('int64');
    expect(z.argmin(0, { keepdim: true }).shape).toEqual([1, 0]);
    expect(torch.zeros(3, 0, 2).argmax(2).shape).toEqual([3, 0]);
    expect(torch.zeros(3, 0, 2).argmax(2, { keepdim: true }).shape).toEqual([3, 0, 1]);
    expect(() => z.argmin(1)).toThrow(/argmin: expected reduction dim 1 to have non-zero size/);
    expect(() => z.argmax()).toThrow(/argmax/);
  });
});

describe('creation with integer dtypes', () => {
  it('linspace truncates like PyTorch', () => {
    expect(vals(torch.linspace(0, 1, 5, { dtype: 'int64' }))).toEqual([0, 0, 0, 0, 1]);
    expect(vals(torch.linspace(-1.5, 2.5, 5, { dtype: 'int64' }))).toEqual([-1, 0, 0, 1, 2]);
    expect(vals(torch.linspace(-3, 300, 4, { dtype: 'int32' }))).toEqual([-3, 98, 199, 300]);
    expect(vals(torch.linspace(0, 255, 3, { dtype: 'uint8' }))).toEqual([0, 127, 255]);
    expect(vals(torch.linspace(-3, 200, 2, { dtype: 'uint8' }))).toEqual([253, 200]);
    expect(() => torch.linspace(-3, 300, 4, { dtype: 'uint8' })).toThrow(/linspace: value 300 cannot be converted to type uint8/);
    expect(() => torch.linspace(0, 1, 3, { dtype: 'bool' })).toThrow(/linspace/);
  });
  it('arange counts in int64 from truncated bounds', () => {
    expect(vals(torch.arange(5, { dtype: 'int64' }))).toEqual([0, 1, 2, 3, 4]);
    expect(vals(torch.arange(-0.5, 3, 1, { dtype: 'int64' }))).toEqual([0, 1, 2]);
    expect(vals(torch.arange(-0.5, 3, 1, { dtype: 'int32' }))).toEqual([0, 1, 2, 3]);
    expect(vals(torch.arange(2.5, 0.2, -1, { dtype: 'int32' }))).toEqual([2, 1, 0]);
    expect(vals(torch.arange(-3, 2, { dtype: 'uint8' }))).toEqual([253, 254, 255, 0, 1]);
    expect(vals(torch.arange(0, 2 ** 31 + 2, 2 ** 30, { dtype: 'int32' }))).toEqual([0, 1073741824, -2147483648]);
    expect(() => torch.arange(-2, 3, 0.7, { dtype: 'int64' })).toThrow(/arange: step must be nonzero/);
    expect(() => torch.arange(1e30, { dtype: 'int64' })).toThrow(/arange/);
    expect(() => torch.arange(5, { dtype: 'bool' })).toThrow(/arange/);
  });
  it('tensor and full refuse values their dtype cannot hold', () => {
    expect(vals(torch.tensor([2.5, -1.7, 0.2], { dtype: 'int64' }))).toEqual([2, -1, 0]);
    expect(vals(torch.tensor([-1], { dtype: 'uint8' }))).toEqual([255]);
    expect(vals(torch.tensor([2.5, 0.4, NaN, 0], { dtype: 'bool' }))).toEqual([1, 1, 1, 0]);
    expect(() => torch.tensor([1e30], { dtype: 'int32' })).toThrow(/tensor: value 1e\+30 cannot be converted to type int32/);
    expect(() => torch.tensor([1e30], { dtype: 'int64' })).toThrow(RangeError);
    expect(() => torch.tensor([NaN], { dtype: 'int64' })).toThrow(/tensor/);
    expect(() => torch.tensor([-0.5], { dtype: 'uint8' })).toThrow(/tensor/);
    expect(() => torch.tensor([-256], { dtype: 'uint8' })).toThrow(/tensor/);
    // A JS integer past int64 can only have been a Python float.
    expect(torch.tensor([1e30, 2 ** 63]).dtype).toBe('float32');
    expect(vals(torch.full([2], 2.5, { dtype: 'int32' }))).toEqual([2, 2]);
    expect(vals(torch.full([1], -3, { dtype: 'uint8' }))).toEqual([253]);
    expect(() => torch.full([1], -2.5, { dtype: 'uint8' })).toThrow(/full/);
    expect(() => torch.full([1], -5e-324, { dtype: 'uint8' })).toThrow(/full/);
    expect(() => torch.full([2], 2 ** 31, { dtype: 'int32' })).toThrow(/full/);
    expect(() => torch.zeros(2, { dtype: 'int64' }).fill_(1e30)).toThrow(/fill_/);
    expect(() => torch.fullLike(torch.zeros(2, { dtype: 'uint8' }), 256)).toThrow(/fullLike/);
  });
});

describe('arguments', () => {
  it('explicit trailing undefineds are omitted arguments', () => {
    expect(torch.zeros(2, undefined).shape).toEqual([2]);
    expect(torch.zeros([2, 3], undefined).shape).toEqual([2, 3]);
    expect(torch.randn(2, undefined).shape).toEqual([2]);
    expect(vals(torch.arange(3, undefined))).toEqual([0, 1, 2]);
    expect(vals(torch.arange(1, 4, undefined))).toEqual([1, 2, 3]);
    expect(torch.eye(2, undefined).shape).toEqual([2, 2]);
    expect(torch.eye(2, undefined, { dtype: 'float64' }).dtype).toBe('float64');
    expect(() => torch.eye(0, undefined, { device: 'mps' })).toThrow(/eye/);
    expect(() => torch.arange(0, [2] as never)).toThrow(/arange/);
    expect(() => torch.eye(2, [2] as never)).toThrow(/eye/);
  });
  it('Symbols, BigInts and odd objects in any slot give errors that name the op', () => {
    const junk: unknown[] = [Symbol('s'), 2n, { toString: 0 }, Object.create(null)];
    const calls: [RegExp, (j: never) => unknown][] = [
      [/chunk/, (j) => torch.ones(4).chunk(j)],
      [/split/, (j) => torch.ones(4).split(j)],
      [/split/, (j) => torch.ones(4).split([j, 2] as never)],
      [/linspace/, (j) => torch.linspace(0, 1, j)],
      [/randperm/, (j) => torch.randperm(j)],
      [/arange/, (j) => torch.arange(j)],
      [/zeros/, (j) => torch.zeros([2, j])],
      [/index/, (j) => torch.ones(3).index(j)],
      [/select/, (j) => torch.ones(3).select(0, j)],
      [/setNumThreads/, (j) => torch.setNumThreads(j)],
    ];
    for (const j of junk) {
      for (const [name, f] of calls) {
        let err: unknown = null;
        try {
          f(j as never);
        } catch (e) {
          err = e;
        }
        expect(err, `${name} with ${String(typeof j)}`).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(name);
      }
    }
  });
  it('refused allocations name the op the caller used', () => {
    expect(() => torch.zeros([1e10])).toThrow(/^zeros: cannot allocate/);
    expect(() => torch.arange(1e12)).toThrow(/^arange: cannot allocate/);
    expect(() => torch.linspace(0, 1, 1e12)).toThrow(/^linspace: cannot allocate/);
    expect(() => torch.eye(1e6)).toThrow(/^eye: cannot allocate/);
    const big = torch.ones(1).expand(1e10);
    expect(() => big.contiguous()).toThrow(/^contiguous: cannot allocate/);
    expect(() => big.add(1)).toThrow(/^add: cannot allocate/);
    expect(() => big.exp()).toThrow(/^exp: cannot allocate/);
    expect(() => big.softmax(0)).toThrow(/^softmax: cannot allocate/);
    expect(() => torch.cat([big, big])).toThrow(/^cat: cannot allocate/);
    expect(() => torch.ones(1, 1).expand(1e5, 1).matmul(torch.ones(1, 1).expand(1, 1e5))).toThrow(/^matmul: cannot allocate/);
  });
  it('a zero-size tensor with huge other dims is usable', () => {
    const z = torch.zeros([0, 2 ** 40, 1e10]);
    expect(z.numel()).toBe(0);
    expect(vals(z)).toEqual([]);
    expect(z.sum().item()).toBe(0);
    // PyTorch 1.13 on torch.zeros(0, 2**40, 10**10): these shapes, and
    // sum(0) / mean(0) refuse the [2**40, 10**10] result. The native
    // layouts multiply these sizes; they must not overflow (UBSan).
    expect(z.sum(1).shape).toEqual([0, 1e10]);
    expect(z.sum([1, 2]).shape).toEqual([0]);
    expect(z.amax(1).shape).toEqual([0, 1e10]);
    expect(z.var(1).shape).toEqual([0, 1e10]);
    expect(z.argmax(1).shape).toEqual([0, 1e10]);
    expect(z.logsumexp(1).shape).toEqual([0, 1e10]);
    expect(z.softmax(2).shape).toEqual([0, 2 ** 40, 1e10]);
    expect(z.add(1).shape).toEqual([0, 2 ** 40, 1e10]);
    expect(() => z.sum(0)).toThrow(/^sum: cannot allocate/);
    expect(() => z.mean(0)).toThrow(/^mean: cannot allocate/);
  });
  it('setNumThreads accepts any positive count, clamped to a sane pool', () => {
    const before = torch.getNumThreads();
    try {
      torch.setNumThreads(2 ** 40);
      const n = torch.getNumThreads();
      expect(n).toBeGreaterThanOrEqual(64);
      expect(n).toBeLessThan(2 ** 20);
    } finally {
      torch.setNumThreads(before);
    }
    expect(() => torch.setNumThreads(0)).toThrow(RangeError);
    expect(() => torch.setNumThreads(1.5)).toThrow(/setNumThreads/);
  });
});

describe('index_select and gather take no negative indices', () => {
  const x = torch.arange(6, { dtype: 'float32' }).reshape(2, 3);
  it('as PyTorch 1.13, which raises', () => {
    expect(() => x.indexSelect(1, [-1])).toThrow(/indexSelect: index -1 is out of range/);
    expect(() => x.indexSelect(1, torch.tensor([0, -2]))).toThrow(RangeError);
    expect(() => torch.tensor(5.5).indexSelect(0, [-1])).toThrow(/indexSelect/);
    expect(() => x.gather(1, torch.tensor([[-1], [0]]))).toThrow(/gather: index -1/);
  });
  it('while x.index still counts from the end', () => {
    expect(vals(x.index(torch.tensor([-1])))).toEqual([3, 4, 5]);
    expect(vals(x.indexSelect(1, [2, 0]))).toEqual([2, 0, 5, 3]);
  });
});

describe('conv2d with a stride past the kernel', () => {
  it('gives the first window only, for strides up to 2^53, with gradients', () => {
    // torch.nn.functional.conv2d(x [1,2,5,5], w [3,2,3,3], stride=10**12)
    // -> shape [1, 3, 1, 1], the stride-1 result's first column. A stride
    // of 2^40 used to overflow the phase-plane size and crash the process.
    torch.manualSeed(3);
    const x = torch.randn([1, 2, 5, 5]);
    const w = torch.randn([3, 2, 3, 3]);
    const first = vals(torch.nn.functional.conv2d(x, w).narrow(2, 0, 1).narrow(3, 0, 1));
    for (const s of [4, 1e12, 2 ** 40, 2 ** 53]) {
      const xs = x.detach().requiresGrad_();
      const y = torch.nn.functional.conv2d(xs, w, null, { stride: s });
      expect(y.shape).toEqual([1, 3, 1, 1]);
      const got = vals(y);
      got.forEach((v, i) => expect(v).toBeCloseTo(first[i], 5));
      y.sum().backward();
      // Only the first 3x3 window reads x, so only it gets a gradient.
      const g = xs.grad!;
      expect(vals(g.narrow(2, 3, 2)).every((v) => v === 0)).toBe(true);
      expect(vals(g.narrow(3, 3, 2)).every((v) => v === 0)).toBe(true);
      expect(vals(g.narrow(2, 0, 3).narrow(3, 0, 3)).some((v) => v !== 0)).toBe(true);
    }
  });
});

describe('var and std of equal values', () => {
  it('are exactly 0', () => {
    // torch.full([3, n], v).var(1) is exactly 0 for these v and n. PyTorch's
    // full reduction (torch.full([7], 0.1).var()) leaves up to 7e-14 from
    // its float32 Welford chunks; Kindling's double first pass gives 0 for
    // both (a float32 first pass used to leave ~1e-17 along a dim too).
    for (const v of [0.1, 1 / 3, 1e7 + 0.3, -2.7]) {
      for (const n of [2, 3, 7, 31, 33, 100]) {
        expect(torch.full([n], v).var().item()).toBe(0);
        expect(torch.full([n], v).std().item()).toBe(0);
        expect(vals(torch.full([3, n], v).var(1))).toEqual([0, 0, 0]);
      }
    }
  });
});
