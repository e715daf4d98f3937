// Reductions, softmax, max/min and matrix products bind their arguments as
// Python does (lib/util/args.ts): every parameter positionally or by name in
// the trailing options object, an unknown key a TypeError naming the closest
// valid one. Expected values from PyTorch 1.13.
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';

const x = () =>
  torch.tensor(
    [
      [1, 5, 2],
      [7, 0, 3],
    ],
    { dtype: 'float32' },
  );

/** t's values against nested expected values, to float32 precision. */
function close(t: Tensor, want: unknown, shape?: number[]): void {
  if (shape) expect(t.shape).toEqual(shape);
  const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [Number(v)]);
  const got = flat(t.tolist()),
    exp = flat(want);
  expect(got.length).toBe(exp.length);
  got.forEach((g, i) => expect(g).toBeCloseTo(exp[i], 5));
}

describe('reductions take dim and keepdim positionally or by name', () => {
  it('sum: x.sum({ dim, keepdim }), x.sum(dim, { keepdim }), x.sum(dim, keepdim), torch.sum(x, { dim })', () => {
    close(x().sum({ dim: 1, keepdim: true }), [[8], [10]], [2, 1]);
    close(x().sum(1, { keepdim: true }), [[8], [10]], [2, 1]);
    close(x().sum(1, true), [[8], [10]], [2, 1]);
    close(torch.sum(x(), { dim: [0, 1] }), 18, []);
    close(x().sum({ keepdim: true }), [[18]], [1, 1]);
  });
  it('sum, mean and prod take dtype by keyword', () => {
    const i = torch.tensor([1, 2, 3], { dtype: 'int32' });
    const s = i.sum({ dtype: 'float64' });
    expect(s.dtype).toBe('float64');
    expect(s.item()).toBe(6);
    const m = torch.tensor([1, 2, 3]).mean({ dtype: 'float32' });
    expect(m.dtype).toBe('float32');
    expect(m.item()).toBe(2);
    const p = torch.prod(torch.tensor([1, 2, 3]), { dtype: 'float64' });
    expect(p.dtype).toBe('float64');
    expect(p.item()).toBe(6);
    expect(() => torch.tensor([1, 2]).mean({ dtype: 'int64' })).toThrow(/mean: could not infer output dtype/);
  });
  it('mean and prod', () => {
    close(x().mean({ dim: 0 }), [4, 2.5, 2.5], [3]);
    close(torch.mean(x(), 0, true), [[4, 2.5, 2.5]], [1, 3]);
    close(x().prod(1, true), [[10], [0]], [2, 1]);
    close(torch.prod(x(), { dim: 1, keepdim: true }), [[10], [0]], [2, 1]);
  });
  it('var and std: dim positionally or by name, correction, unbiased and keepdim by name', () => {
    close(x().var({ dim: 1, unbiased: false }), [2.8888888, 8.2222222], [2]);
    close(x().var(1, { correction: 0, keepdim: true }), [[2.8888888], [8.2222222]], [2, 1]);
    close(torch.std(x(), { dim: 0, correction: 0 }), [3, 2.5, 0.5], [3]);
    close(torch.variance(x()), 6.8, []);
    close(torch.var(x(), { unbiased: true }), 6.8, []);
  });
  it('amax, amin, argmax, argmin', () => {
    close(x().amax(1, true), [[5], [7]], [2, 1]);
    close(x().amin({ dim: 0 }), [1, 0, 2], [3]);
    close(torch.argmax(x(), { dim: 1 }), [1, 0], [2]);
    close(x().argmin(0, true), [[0, 1, 0]], [1, 3]);
    close(x().argmin({ dim: 0, keepdim: true }), [[0, 1, 0]], [1, 3]);
    close(x().argmax(), 3, []);
  });
  it('logsumexp and norm', () => {
    close(x().logsumexp({ dim: 1, keepdim: true }), [[5.0658841], [7.0190449]], [2, 1]);
    close(x().logsumexp(1, true), [[5.0658841], [7.0190449]], [2, 1]);
    close(x().norm({ p: 1, dim: 1 }), [8, 10], [2]);
    close(x().norm(2, 1, true), [[5.4772258], [7.6157732]], [2, 1]);
    close(torch.norm(x(), { dim: 0 }), [7.0710678, 5, 3.6055512], [3]);
    close(x().norm(0), 5, []);
    close(x().norm(-Infinity), 0, []);
  });
  it('softmax and logSoftmax take dim by name', () => {
    close(
      x().softmax({ dim: 1 }),
      [
        [0.017147826, 0.93623954, 0.04661262],
        [0.98113519, 0.00089467951, 0.017970119],
      ],
      [2, 3],
    );
    close(
      torch.logSoftmax(x(), { dim: 0 }),
      [
        [-6.0024757, -0.0067153489, -1.3132616],
        [-0.0024756519, -5.0067153, -0.31326166],
      ],
      [2, 3],
    );
    expect(torch.softmax(x(), 1, { dtype: 'float64' }).dtype).toBe('float64');
  });
  it('any and all', () => {
    close(x().any({ dim: 1 }), [1, 1], [2]);
    close(x().all(1, true), [[1], [0]], [2, 1]);
    close(torch.all(x().gt(0), { dim: 0 }), [1, 0, 1], [3]);
  });
});

describe('max and min: max(), max(dim, keepdim) -> (values, indices), max(other)', () => {
  it('take { dim, keepdim } in any form and return a named tuple', () => {
    for (const r of [x().max({ dim: 1 }), x().max(1), torch.max(x(), { dim: 1 })]) {
      close(r.values, [5, 7], [2]);
      close(r.indices, [1, 0], [2]);
    }
    const [values, indices] = x().min(1, true);
    close(values, [[1], [0]], [2, 1]);
    close(indices, [[0], [1]], [2, 1]);
    close(x().min(1, { keepdim: true }).values, [[1], [0]], [2, 1]);
    close(x().min({ dim: 1, keepdim: true }).indices, [[0], [1]], [2, 1]);
  });
  it('take other positionally or by name', () => {
    const y = torch.full([2, 3], 2);
    close(
      torch.max(x(), { other: y }),
      [
        [2, 5, 2],
        [7, 2, 3],
      ],
      [2, 3],
    );
    close(
      x().min(y),
      [
        [1, 2, 2],
        [2, 0, 2],
      ],
      [2, 3],
    );
    close(x().max(), 7, []);
    close(x().min({}), 0, []);
  });
  it('refuse unknown keys, and keepdim without a dim', () => {
    expect(() => x().max({ dim: 1, keepDim: true } as never)).toThrow(TypeError);
    expect(() => x().max({ dim: 1, keepDim: true } as never)).toThrow(/^max: unknown option 'keepDim' \(did you mean 'keepdim'\?\)/);
    expect(() => x().min({ dims: 1 } as never)).toThrow(/^min: unknown option 'dims' \(did you mean 'dim'\?\)/);
    expect(() => x().max({ keepdim: true } as never)).toThrow(TypeError);
    expect(() => x().max(1, { dim: 1 } as never)).toThrow(/^max: got multiple values for argument 'dim'/);
  });
});

describe('matrix products take their second operand by its Python name', () => {
  const a = () =>
    torch.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: 'float32' },
    );
  const v = () => torch.tensor([1, -1], { dtype: 'float32' });
  it('matmul(other), mm(mat2), bmm(mat2), dot(tensor), mv(vec)', () => {
    close(
      a().matmul({ other: a() }),
      [
        [7, 10],
        [15, 22],
      ],
      [2, 2],
    );
    close(
      torch.mm(a(), { mat2: a() }),
      [
        [7, 10],
        [15, 22],
      ],
      [2, 2],
    );
    close(
      a()
        .unsqueeze(0)
        .bmm({ mat2: a().unsqueeze(0) }),
      [
        [
          [7, 10],
          [15, 22],
        ],
      ],
      [1, 2, 2],
    );
    close(v().dot({ tensor: v() }), 2, []);
    close(torch.mv(a(), { vec: v() }), [-1, -1], [2]);
  });
  it('refuse unknown keys', () => {
    // As Python, the unknown keyword is named before the operand it leaves missing.
    expect(() => torch.matmul(a(), { mat2: a() } as never)).toThrow(/^matmul: unknown option 'mat2'/);
    expect(() => torch.matmul(a(), {} as never)).toThrow(/^matmul: missing required argument 'other'/);
    expect(() => a().mm({ other: a() } as never)).toThrow(TypeError);
    expect(() => torch.matmul(a(), a(), { mat2: a() } as never)).toThrow(/^matmul: unknown option 'mat2'/);
    expect(() => a().mm(a(), { other: a() } as never)).toThrow(/^mm: unknown option 'other'/);
  });
});

describe('unknown option keys are TypeErrors naming the closest valid one', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['sum', () => x().sum({ dims: 1 } as never), /^sum: unknown option 'dims' \(did you mean 'dim'\?\)/],
    ['sum', () => x().sum(1, { keep_dim: true } as never), /^sum: unknown option 'keep_dim'/],
    ['mean', () => torch.mean(x(), { keepdims: true } as never), /^mean: unknown option 'keepdims' \(did you mean 'keepdim'\?\)/],
    ['var', () => x().var({ unbias: false } as never), /^var: unknown option 'unbias' \(did you mean 'unbiased'\?\)/],
    ['std', () => x().std(0, { corection: 0 } as never), /^std: unknown option 'corection' \(did you mean 'correction'\?\)/],
    ['amax', () => x().amax({ axis: 1 } as never), /^amax: unknown option 'axis'/],
    ['argmax', () => torch.argmax(x(), { dims: 1 } as never), /^argmax: unknown option 'dims' \(did you mean 'dim'\?\)/],
    ['logsumexp', () => x().logsumexp(1, { keepDim: true } as never), /^logsumexp: unknown option 'keepDim' \(did you mean 'keepdim'\?\)/],
    ['norm', () => x().norm({ ord: 2 } as never), /^norm: unknown option 'ord'/],
    ['softmax', () => x().softmax({ dim: 1, dtyp: 'float64' } as never), /^softmax: unknown option 'dtyp' \(did you mean 'dtype'\?\)/],
    ['logSoftmax', () => x().logSoftmax(1, { axis: 1 } as never), /^logSoftmax: unknown option 'axis'/],
    ['softmax, dim misspelt', () => x().softmax({ dims: 1 } as never), /^softmax: unknown option 'dims' \(did you mean 'dim'\?\)/],
    ['any', () => x().any({ keep: true } as never), /^any: unknown option 'keep'/],
    ['prod', () => x().prod({ dim: 1, keepdims: true } as never), /^prod: unknown option 'keepdims' \(did you mean 'keepdim'\?\)/],
  ];
  for (const [name, call, msg] of cases) {
    it(name, () => {
      expect(call).toThrow(TypeError);
      expect(call).toThrow(msg);
    });
  }
  it('a value given positionally and by name is a TypeError', () => {
    expect(() => x().sum(1, { dim: 1 } as never)).toThrow(/^sum: got multiple values for argument 'dim'/);
    expect(() => x().softmax(1, { dim: 1 } as never)).toThrow(TypeError);
  });
});

describe('autograd nodes as PyTorch names them', () => {
  it('by overload: sum() and sum(dim), prod() and prod(dim), max() and max(dim)', () => {
    const a = x().requiresGrad_();
    const names: [Tensor, string][] = [
      [a.sum(), 'SumBackward0'],
      [a.sum(1), 'SumBackward1'],
      [a.mean(), 'MeanBackward0'],
      [a.mean({ dim: 0 }), 'MeanBackward1'],
      [a.prod(), 'ProdBackward0'],
      [a.prod(1), 'ProdBackward1'],
      [a.var(1), 'VarBackward0'],
      [a.std(), 'StdBackward0'],
      [a.max(), 'MaxBackward1'],
      [a.max(1).values, 'MaxBackward0'],
      [a.amin(0), 'AminBackward0'],
      [a.logsumexp(1), 'LogsumexpBackward0'],
      [a.norm(), 'NormBackward1'],
      [a.softmax(1), 'SoftmaxBackward0'],
      [a.logSoftmax(1), 'LogSoftmaxBackward0'],
      [a.mm(a.t()), 'MmBackward0'],
      [a.select(0, 0).dot(a.select(0, 1)), 'DotBackward0'],
    ];
    for (const [t, name] of names) expect(t.gradFn?.name).toBe(name);
    expect(a.max(1).indices.requiresGrad).toBe(false);
    expect(a.argmax(1).requiresGrad).toBe(false);
  });
  it("std of a constant has a zero gradient, as PyTorch's", () => {
    const z = torch.zeros(3, { requiresGrad: true });
    z.std().backward();
    expect(z.grad!.tolist()).toEqual([0, 0, 0]);
  });
  it('var and std refuse correction and unbiased together', () => {
    expect(() => x().var({ correction: 0, unbiased: false })).toThrow(/^var: got both correction and unbiased/);
  });
});
