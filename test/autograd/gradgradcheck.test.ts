// torch.autograd.gradgradcheck: the API itself, then one float64 check of
// the second derivatives (createGraph) of every differentiable op, at
// points away from kinks and ties. Inputs are a few elements each: the
// check costs one double backward per input element.
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import * as F from '../../lib/nn/functional.js';
import type { Tensor } from '../../lib/index.js';
import type { GradgradcheckOptions } from '../../lib/autograd/gradcheck.js';
import { gruCell, lstmCell } from '../../lib/ops/rnn.js';

torch.manualSeed(7);
const f64 = (shape: number[]): Tensor => torch.randn(shape, { dtype: 'float64' });
const leaf = (t: Tensor): Tensor => t.requiresGrad_(true);
const lf = (shape: number[]): Tensor => leaf(f64(shape));
const val = (v: unknown): Tensor => leaf(torch.tensor(v as number[], { dtype: 'float64' }));
/** Leaf values in (lo, hi). */
const uni = (shape: number[], lo: number, hi: number): Tensor =>
  leaf(
    torch
      .rand(shape, { dtype: 'float64' })
      .mul(hi - lo)
      .add(lo),
  );
// Values at least 0.2 from 0 and from each other's reach of the kinks below.
const AWAY = [
  [-1.3, 0.4, 2.1],
  [0.7, -0.45, -2.2],
];

function ggc(fn: (...xs: Tensor[]) => Tensor | Tensor[], inputs: Tensor[], opts?: GradgradcheckOptions): void {
  expect(torch.autograd.gradgradcheck(fn, inputs, opts)).toBe(true);
}

describe('gradgradcheck', () => {
  it('is exported as torch.autograd.gradgradcheck and torch.gradgradcheck', () => {
    expect(torch.gradgradcheck).toBe(torch.autograd.gradgradcheck);
    expect(torch.gradgradcheck((x) => x.mul(x).mul(x), [lf([3])])).toBe(true);
  });
  it('takes given gradOutputs, perturbing those that require grad', () => {
    const x = lf([2, 2]);
    expect(torch.gradgradcheck((a) => a.exp(), [x], { gradOutputs: f64([2, 2]) })).toBe(true);
    expect(torch.gradgradcheck((a) => a.exp(), [x], { gradOutputs: [lf([2, 2])] })).toBe(true);
  });
  it('checks several outputs and inputs, an unused input included', () => {
    const a = lf([3]),
      b = lf([3]),
      c = lf([2]);
    expect(torch.gradgradcheck((p, q) => [p.mul(q), p.sin().sum()], [a, b, c])).toBe(true);
  });
  it('refuses unknown options with a TypeError naming the closest one', () => {
    const x = lf([2]);
    expect(() => torch.gradgradcheck((a) => a.exp(), [x], { grad_outputs: null } as never)).toThrow(TypeError);
    expect(() => torch.gradgradcheck((a) => a.exp(), [x], { grad_outputs: null } as never)).toThrow(
      /unknown option 'grad_outputs' \(did you mean 'gradOutputs'\?\)/,
    );
    expect(() => torch.gradgradcheck((a) => a.exp(), [x], { atoll: 1 } as never)).toThrow(/did you mean 'atol'/);
  });
  it('refuses float32 inputs and inputs that do not require grad', () => {
    expect(() => torch.gradgradcheck((a) => a.exp(), [leaf(torch.randn([2]))])).toThrow(/float64/);
    expect(() => torch.gradgradcheck((a) => a.exp(), [f64([2])])).toThrow(/no input requires grad/);
  });
  it('fails where the backward is not differentiable, naming gradgradcheck', () => {
    // A custom Function whose backward detaches its saved input: right first
    // derivatives, wrong (zero) second ones.
    class Cube extends torch.autograd.Function {
      static forward(ctx: torch.Ctx, x: Tensor): Tensor {
        ctx.saveForBackward(x);
        return x.mul(x).mul(x);
      }
      static backward(ctx: torch.Ctx, g: Tensor): Tensor[] {
        const [x] = ctx.savedTensors;
        const xd = x.detach();
        return [g.mul(xd.mul(xd).mul(3))];
      }
    }
    const x = lf([3]);
    expect(torch.autograd.gradcheck((a) => Cube.apply(a) as Tensor, [x])).toBe(true);
    expect(() => torch.gradgradcheck((a) => Cube.apply(a) as Tensor, [x])).toThrow(/^gradgradcheck: Jacobian mismatch/);
  });
});

describe('second derivatives of elementwise ops', () => {
  const x = lf([2, 3]),
    y = lf([2, 3]),
    row = lf([3]);
  const pos = uni([2, 3], 0.5, 2);
  const away = val(AWAY);
  it('add, sub, rsub (tensor, scalar, broadcast, alpha)', () => {
    ggc((a, b) => a.add(b), [x, row]);
    ggc((a, b) => a.add(b, { alpha: 2.5 }), [x, y]);
    ggc((a) => torch.add(a, 1.5), [x]);
    ggc((a, b) => a.sub(b), [x, row]);
    ggc((a, b) => torch.sub(a, b, { alpha: -0.5 }), [x, y]);
    ggc((a) => a.sub(2), [x]);
    ggc((a) => a.rsub(2), [x]);
  });
  it('mul, div (tensor, scalar, scalar over tensor), square, reciprocal', () => {
    ggc((a, b) => a.mul(b), [x, row]);
    ggc((a) => a.mul(a), [x]);
    ggc((a) => a.mul(-3), [x]);
    ggc((a, b) => a.div(b), [x, pos]);
    ggc((a) => a.div(1.7), [x]);
    ggc((b) => torch.div(1.7, b), [pos]);
    ggc((a) => a.square(), [x]);
    ggc((a) => a.reciprocal(), [pos]);
  });
  it('pow (tensor^scalar for several exponents, tensor^tensor, scalar^tensor)', () => {
    for (const e of [0, 1, 2, 3, 0.5, -1.5]) ggc((a) => a.pow(e), [pos]);
    ggc((a, b) => a.pow(b), [pos, y]);
    ggc((b) => torch.pow(2.5, b), [x]);
  });
  it('exp, log, log1p, sqrt, rsqrt, sin, cos', () => {
    ggc((a) => a.exp(), [x]);
    ggc((a) => a.log(), [pos]);
    ggc((a) => a.log1p(), [pos]);
    ggc((a) => a.sqrt(), [pos]);
    ggc((a) => a.rsqrt(), [pos]);
    ggc((a) => a.sin(), [x]);
    ggc((a) => a.cos(), [x]);
  });
  it('neg, abs, sign, floor, ceil, round, div with a rounding mode', () => {
    ggc((a) => a.neg(), [x]);
    ggc((a) => a.abs(), [away]);
    ggc((a) => a.sign(), [away]);
    ggc((a) => a.floor(), [away]);
    ggc((a) => a.ceil(), [away]);
    ggc((a) => a.round(), [away]);
    ggc((a, b) => a.div(b, { roundingMode: 'floor' }), [away, pos]);
    ggc((a) => a.div(0.7, { roundingMode: 'trunc' }), [away]);
  });
  it('relu, sigmoid, tanh (methods and F), leakyRelu', () => {
    ggc((a) => a.relu(), [away]);
    ggc((a) => F.relu(a), [away]);
    ggc((a) => a.sigmoid(), [x]);
    ggc((a) => F.sigmoid(a), [x]);
    ggc((a) => a.tanh(), [x]);
    ggc((a) => F.tanh(a), [x]);
    ggc((a) => F.leakyRelu(a, 0.2), [away]);
  });
  it('gelu (exact and tanh approximation)', () => {
    ggc((a) => F.gelu(a), [x]);
    ggc((a) => F.gelu(a, { approximate: 'tanh' }), [x]);
  });
  it('softplus (default, beta and threshold; points off the threshold)', () => {
    ggc((a) => F.softplus(a), [x]);
    ggc((a) => F.softplus(a, 2, 1), [away]);
    ggc((a) => F.softplus(a, { beta: 0.5, threshold: 0.3 }), [away]);
  });
  it('clamp, clip, maximum, minimum, max(other), min(other)', () => {
    ggc((a) => a.clamp(-1, 1), [away]);
    ggc((a) => a.clamp(0.1, null), [away]);
    ggc((a) => a.clamp(null, 0.1), [away]);
    ggc((a) => torch.clip(a, -0.5, 0.5), [away]);
    const other = val([
      [0.3, 1.1, -0.8],
      [-0.1, 0.25, 0.6],
    ]);
    ggc((a, b) => a.maximum(b), [away, other]);
    ggc((a, b) => torch.minimum(a, b), [away, other]);
    ggc((a, b) => a.max(b), [away, other]);
    ggc((a, b) => a.min(b), [away, other]);
  });
  it('in-place ops on non-leaves: add_, sub_, copy_', () => {
    ggc((a, b) => a.mul(1).add_(b, { alpha: 2 }), [x, y]);
    ggc((a, b) => a.mul(1).sub_(b), [x, y]);
    ggc((a, b) => a.mul(1).copy_(b.sin()), [x, row]);
  });
  // mul_, div_, pow_, clamp_, neg_, relu_, exp_, sqrt_ on a non-leaf fail
  // already at first order here (the out-of-place node saves self, which
  // the write then overwrites: a version-counter error), where PyTorch
  // passes gradgradcheck; their out-of-place forms are checked above.
});

describe('second derivatives of reductions', () => {
  const x = lf([2, 3]),
    pos = uni([2, 3], 0.5, 2);
  // Distinct values: max, min and their relatives have no ties.
  const distinct = val([
    [0.3, -1.2, 2.4],
    [1.7, 0.9, -0.6],
  ]);
  it('sum and mean (all, over dims, keepdim)', () => {
    ggc((a) => a.sum(), [x]);
    ggc((a) => a.sum(1), [x]);
    ggc((a) => torch.sum(a, [0, 1], { keepdim: true }), [x]);
    ggc((a) => a.mean(), [x]);
    ggc((a) => torch.mean(a, 0, { keepdim: true }), [x]);
  });
  it('prod (all, over a dim)', () => {
    ggc((a) => a.prod(), [pos]);
    ggc((a) => torch.prod(a, 1, { keepdim: true }), [pos]);
  });
  it('var and std (all, over a dim, correction)', () => {
    ggc((a) => a.var(), [x]);
    ggc((a) => torch.variance(a, 1, { unbiased: false, keepdim: true }), [x]);
    ggc((a) => a.std(), [x]);
    ggc((a) => torch.std(a, 0, { correction: 0 }), [x]);
  });
  it('max and min (all, and over a dim with indices), amax, amin', () => {
    ggc((a) => a.max(), [distinct]);
    ggc((a) => a.min(), [distinct]);
    ggc((a) => a.max(1).values, [distinct]);
    ggc((a) => a.min(0, { keepdim: true }).values, [distinct]);
    ggc((a) => a.amax(1), [distinct]);
    ggc((a) => torch.amin(a, [0, 1]), [distinct]);
  });
  it('logsumexp', () => {
    ggc((a) => a.logsumexp(1), [x]);
    ggc((a) => torch.logsumexp(a, [0, 1], { keepdim: true }), [x]);
  });
  it('norm (2, fro, 1, inf, 3, over a dim)', () => {
    ggc((a) => a.norm(), [x]);
    ggc((a) => torch.norm(a, 'fro', 1), [x]);
    ggc((a) => a.norm(1), [distinct]);
    ggc((a) => a.norm(Infinity, 1), [distinct]);
    ggc((a) => a.norm(3, 0, { keepdim: true }), [distinct]);
  });
  it('softmax and logSoftmax (methods, torch.*, F.*)', () => {
    ggc((a) => a.softmax(1), [x]);
    ggc((a) => torch.softmax(a, 0), [x]);
    ggc((a) => F.softmax(a, -1), [x]);
    ggc((a) => a.logSoftmax(1), [x]);
    ggc((a) => torch.logSoftmax(a, 0), [x]);
    ggc((a) => F.logSoftmax(a, -1), [x]);
  });
});

describe('second derivatives through shape and view ops', () => {
  const x = lf([2, 3]),
    y = lf([2, 3]);
  // A nonlinearity after the view, so the second derivative is not zero.
  const sq = (t: Tensor) => t.mul(t);
  it('view, reshape, viewAs, flatten, unflatten', () => {
    ggc((a) => sq(a.view([3, 2])), [x]);
    ggc((a) => sq(torch.reshape(a, [6])), [x]);
    ggc((a, b) => sq(a.reshape([3, 2]).viewAs(b.t())), [x, y]);
    ggc((a) => sq(torch.flatten(a.unsqueeze(0))), [x]);
    ggc((a) => sq(a.flatten().unflatten(0, [3, 2])), [x]);
  });
  it('unsqueeze, squeeze, transpose, t, permute', () => {
    ggc((a) => sq(torch.unsqueeze(a, 1)), [x]);
    ggc((a) => sq(a.unsqueeze(0).squeeze(0)), [x]);
    ggc((a) => sq(torch.squeeze(a.reshape([2, 1, 3]))), [x]);
    ggc((a) => sq(torch.transpose(a, 0, 1)), [x]);
    ggc((a) => sq(a.t()), [x]);
    ggc((a) => sq(torch.permute(a.unsqueeze(2), [2, 0, 1])), [x]);
  });
  it('expand, expandAs, repeat, contiguous, clone', () => {
    ggc((a) => sq(a.unsqueeze(0).expand([4, 2, 3])), [x]);
    ggc((a, b) => sq(a.expandAs(b)), [lf([1, 3]), x]);
    ggc((a) => sq(a.repeat([2, 1, 2])), [x]);
    ggc((a) => sq(a.t().contiguous()), [x]);
    ggc((a) => sq(torch.clone(a)), [x]);
  });
  it('narrow, select, index with slices, numbers and None', () => {
    ggc((a) => sq(torch.narrow(a, 1, 1, 2)), [x]);
    ggc((a) => sq(a.select(1, 2)), [x]);
    ggc((a) => sq(torch.select(a, 0, -1)), [x]);
    ggc((a) => sq(a.index(':', '1:')), [x]);
    ggc((a) => sq(a.index(1, null, '::2')), [x]);
  });
  it('cat, stack, split, chunk, unbind (several outputs)', () => {
    ggc((a, b) => sq(torch.cat([a, b], 1)), [x, y]);
    ggc((a, b) => sq(torch.stack([a, b], 2)), [x, y]);
    ggc((a) => torch.split(a, [1, 2], 1).map(sq), [x]);
    ggc((a) => a.chunk(2, 0).map(sq), [x]);
    ggc((a) => a.unbind(1).map(sq), [x]);
  });
  // to(dtype): a float32 round trip loses what float64 finite differences need.
});

describe('second derivatives through indexing ops', () => {
  const x = lf([3, 4]);
  const sq = (t: Tensor) => t.mul(t);
  it('index with index tensors and masks', () => {
    ggc((a) => sq(a.index(torch.tensor([2, 0, 2]))), [x]);
    ggc(
      (a) =>
        sq(
          a.index(
            ':',
            torch.tensor([
              [3, 1],
              [0, 3],
            ]),
          ),
        ),
      [x],
    );
    ggc((a) => sq(a.index(torch.tensor([0, 2]), torch.tensor([1, 3]))), [x]);
    ggc((a) => sq(a.index(a.detach().gt(0))), [x]);
  });
  it('indexSelect, gather, scatterAdd', () => {
    ggc((a) => sq(a.indexSelect(1, torch.tensor([3, 0, 3]))), [x]);
    ggc((a) => sq(torch.indexSelect(a, 0, torch.tensor([1]))), [x]);
    const idx = torch.tensor([
      [0, 2, 2],
      [1, 0, 0],
    ]);
    ggc((a) => sq(a.gather(1, idx)), [x]);
    ggc((a) => sq(torch.gather(a, 0, torch.tensor([[2, 0, 1, 1]]))), [x]);
    ggc((a, s) => sq(a.scatterAdd(1, idx, s)), [lf([2, 4]), lf([2, 3])]);
  });
  it('where and maskedFill', () => {
    const cond = torch.tensor([
      [true, false, true, false],
      [false, false, true, true],
      [true, true, false, true],
    ]);
    ggc((a, b) => sq(torch.where(cond, a, b)), [x, lf([4])]);
    ggc((a) => sq(torch.where(cond, a, 0.5)), [x]);
    ggc((b) => sq(torch.where(cond, -1, b)), [x]);
    ggc((a) => sq(a.maskedFill(cond, 2)), [x]);
  });
  it('maskedSelect, scatter, scatterReduce (each reduction), indexFill, indexAdd, indexCopy', () => {
    const cond = torch.tensor([true, false, true, true]);
    ggc((a) => sq(a.maskedSelect(cond)), [x]);
    ggc((a, v) => sq(a.maskedFill(cond, v)), [x, lf([])]);
    const idx = torch.tensor([
      [0, 2, 2],
      [1, 0, 0],
    ]);
    // Distinct places: which of two writes to one place wins is unspecified, as in PyTorch.
    const distinct = torch.tensor([
      [0, 3, 2],
      [1, 0, 2],
    ]);
    ggc((a, s) => sq(a.scatter(1, distinct, s)), [lf([2, 4]), lf([2, 3])]);
    ggc((a) => sq(a.scatter(1, idx, 0.5)), [lf([2, 4])]);
    for (const reduce of ['sum', 'prod', 'mean', 'amax', 'amin'] as const)
      for (const includeSelf of [true, false])
        ggc((a, s) => sq(a.scatterReduce(1, idx, s, reduce, { includeSelf })), [lf([2, 4]), lf([2, 3])]);
    ggc((a) => sq(a.indexFill(1, torch.tensor([0, 3]), -1)), [x]);
    ggc((a, s) => sq(a.indexAdd(0, torch.tensor([2, 0, 2]), s, { alpha: 1.5 })), [x, lf([3, 4])]);
    ggc((a, s) => sq(a.indexCopy(1, torch.tensor([3, 0]), s)), [x, lf([3, 2])]);
  });
  // indexPut_ runs outside autograd (it records no node, even first order).
});

describe('second derivatives of the matmul family', () => {
  it('outer, addmm, baddbmm, addbmm, addmv, addr, einsum', () => {
    ggc((a, b) => torch.outer(a, b), [lf([3]), lf([2])]);
    ggc((i, a, b) => torch.addmm(i, a, b, { beta: 0.5, alpha: 2 }), [lf([2]), lf([2, 3]), lf([3, 2])]);
    ggc((i, a, b) => torch.baddbmm(i, a, b), [lf([2, 2, 2]), lf([2, 2, 3]), lf([2, 3, 2])]);
    ggc((i, a, b) => torch.addbmm(i, a, b), [lf([2, 2]), lf([2, 2, 3]), lf([2, 3, 2])]);
    ggc((i, a, v) => torch.addmv(i, a, v), [lf([2]), lf([2, 3]), lf([3])]);
    ggc((i, a, b) => torch.addr(i, a, b), [lf([2, 3]), lf([2]), lf([3])]);
    ggc((a, b) => torch.einsum('bij,bjk->bik', a, b), [lf([2, 2, 3]), lf([2, 3, 2])]);
    ggc((a, b) => torch.einsum('ii,j->j', a, b).mul(b), [lf([3, 3]), lf([2])]);
  });
  it('tril, triu, flip, roll, repeatInterleave, diag, diagonal, diagEmbed, trace', () => {
    const sq = (t: Tensor) => t.mul(t);
    const x = lf([3, 4]);
    ggc((a) => sq(a.tril(1)), [x]);
    ggc((a) => sq(a.triu(-1)), [x]);
    ggc((a) => sq(a.flip(0, 1)), [x]);
    ggc((a) => sq(a.roll([1, -2], [0, 1])), [x]);
    ggc((a) => sq(a.repeatInterleave(torch.tensor([2, 0, 1]), { dim: 0 })), [x]);
    ggc((a) => sq(a.diag(1)), [x]);
    ggc((v) => sq(v.diag(-1)), [lf([3])]);
    ggc((a) => sq(a.diagonal(0, 1, 0)), [x]);
    ggc((a) => sq(a.diagEmbed(1)), [x]);
    ggc((a) => sq(a.trace()), [x]);
  });
  it('matmul (matrix, vector, batched with broadcast), mm, bmm, dot, mv', () => {
    ggc((a, b) => a.matmul(b), [lf([2, 3]), lf([3, 2])]);
    ggc((a, b) => torch.matmul(a, b), [lf([3]), lf([3])]);
    ggc((a, b) => a.matmul(b), [lf([2, 3]), lf([3])]);
    ggc((a, b) => a.matmul(b), [lf([3]), lf([3, 2])]);
    ggc((a, b) => a.matmul(b), [lf([2, 2, 3]), lf([3, 2])]);
    ggc((a, b) => torch.mm(a, b), [lf([2, 3]), lf([3, 2])]);
    ggc((a, b) => a.bmm(b), [lf([2, 2, 3]), lf([2, 3, 2])]);
    ggc((a, b) => torch.dot(a, b), [lf([3]), lf([3])]);
    ggc((a, b) => torch.mv(a, b), [lf([2, 3]), lf([3])]);
    // A matrix product of a value with itself: non-zero second derivatives.
    ggc((a) => a.matmul(a.t()), [lf([2, 3])]);
  });
  it('F.linear (transposed weight, bias, 1-D weight)', () => {
    ggc((x, w, b) => F.linear(x, w, b), [lf([2, 3]), lf([4, 3]), lf([4])]);
    ggc((x, w) => F.linear(x.tanh(), w), [lf([2, 3]), lf([3])]);
  });
});

describe('second derivatives of nn ops', () => {
  it('conv2d (bias, stride, padding, dilation, groups, unbatched)', () => {
    ggc((x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1, groups: 2 }), [lf([1, 2, 4, 4]), lf([2, 1, 3, 3]), lf([2])]);
    ggc((x, w) => F.conv2d(x, w, null, { dilation: 2, padding: 'same' }), [lf([1, 1, 4, 4]), lf([1, 1, 2, 2])]);
    ggc((x, w) => F.conv2d(x, w), [lf([2, 3, 3]), lf([2, 2, 2, 2])]);
    // A non-contiguous input: the saved input must be the input itself, not a contiguous copy without history.
    ggc((x, w) => F.conv2d(x.transpose(2, 3), w, null, { padding: 1 }), [lf([1, 2, 4, 3]), lf([2, 2, 2, 2])]);
  });
  it('conv1d, convTranspose1d, convTranspose2d (bias, stride, padding, outputPadding, dilation, groups, unbatched)', () => {
    ggc((x, w, b) => F.conv1d(x, w, b, { stride: 2, padding: 1, groups: 2 }), [lf([1, 2, 6]), lf([2, 1, 3]), lf([2])]);
    ggc((x, w) => F.conv1d(x, w, null, { dilation: 2, padding: 'same' }), [lf([2, 5]), lf([1, 2, 2])]);
    ggc(
      (x, w, b) => F.convTranspose1d(x, w, b, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }),
      [lf([1, 2, 3]), lf([2, 1, 3]), lf([2])],
    );
    ggc((x, w) => F.convTranspose1d(x.transpose(0, 1), w, null, { dilation: 2 }), [lf([4, 2]), lf([2, 1, 2])]);
    ggc(
      (x, w, b) => F.convTranspose2d(x, w, b, { stride: [2, 1], outputPadding: [1, 0], dilation: [1, 2] }),
      [lf([1, 2, 2, 2]), lf([2, 1, 2, 2]), lf([1])],
    );
  });
  it('maxPool2d, avgPool2d, adaptiveAvgPool2d', () => {
    // Distinct values: no ties within a window.
    const x = leaf(torch.arange(36, { dtype: 'float64' }).mul(0.37).sin().reshape([1, 1, 6, 6]));
    ggc((a) => F.maxPool2d(a, 3, { stride: 2, padding: 1 }), [x]);
    ggc((a) => F.maxPool2d(a, 2, { returnIndices: true }).values, [x]);
    ggc((a) => F.avgPool2d(a, 3, { stride: 2, padding: 1, countIncludePad: false, ceilMode: true }), [x]);
    ggc((a) => F.avgPool2d(a, 2, { divisorOverride: 3 }), [x]);
    ggc((a) => F.adaptiveAvgPool2d(a, [4, 3]), [x]);
    ggc((a) => F.adaptiveAvgPool2d(a, 1), [x]);
  });
  it('batchNorm (training and evaluation) and layerNorm', () => {
    const x = lf([3, 2, 2]),
      w = lf([2]),
      b = lf([2]);
    ggc((a, ww, bb) => F.batchNorm(a, null, null, { weight: ww, bias: bb, training: true }), [x, w, b]);
    const rm = f64([2]),
      rv = torch.rand([2], { dtype: 'float64' }).add(0.5);
    ggc((a, ww, bb) => F.batchNorm(a, rm, rv, { weight: ww, bias: bb }), [x, w, b]);
    ggc((a) => F.batchNorm(a, null, null, { training: true }), [lf([2, 2, 3])]);
    ggc((a, ww, bb) => F.layerNorm(a, [3], { weight: ww, bias: bb }), [lf([2, 3]), lf([3]), lf([3])]);
    ggc((a) => F.layerNorm(a, [2, 2]), [lf([2, 2, 2])]);
  });
  it('dropout (evaluation, p = 0, and training with a fixed seed)', () => {
    const x = lf([2, 3]);
    ggc((a) => F.dropout(a.mul(a), 0.5, false), [x]);
    ggc((a) => F.dropout(a.mul(a), 0), [x]);
    ggc(
      (a) => {
        torch.manualSeed(11);
        return F.dropout(a.mul(a), 0.4);
      },
      [x],
    );
  });
  it('embedding (with paddingIdx)', () => {
    const w = lf([5, 2]);
    const idx = torch.tensor([
      [1, 2],
      [2, 4],
    ]);
    ggc((a) => F.embedding(idx, a), [w]);
    ggc((a) => F.embedding(idx, a.mul(a), { paddingIdx: 4 }), [w]);
  });
});

describe('second derivatives of losses', () => {
  const x = lf([3, 2]),
    y = lf([3, 2]);
  const logits = lf([4, 3]);
  const t = torch.tensor([0, 2, 1, 2]);
  it('mseLoss (mean, sum, none), with target gradients', () => {
    ggc((a, b) => F.mseLoss(a, b), [x, y]);
    ggc((a, b) => F.mseLoss(a, b, { reduction: 'sum' }), [x, y]);
    ggc((a, b) => F.mseLoss(a, b, { reduction: 'none' }), [x, y]);
  });
  it('l1Loss', () => {
    const target = val([
      [0.3, -1.2],
      [0.9, 2.0],
      [-0.4, 0.1],
    ]);
    ggc(
      (a, b) => F.l1Loss(a, b),
      [
        val([
          [1.1, -0.2],
          [-0.5, 1.1],
          [0.6, -0.9],
        ]),
        target,
      ],
    );
    ggc(
      (a, b) => F.l1Loss(a.mul(a), b, { reduction: 'none' }),
      [
        val([
          [1.1, -0.2],
          [-0.5, 1.1],
          [0.6, -0.9],
        ]),
        target,
      ],
    );
  });
  it('crossEntropy (class indices, weight, ignoreIndex, labelSmoothing, probabilities)', () => {
    ggc((a) => F.crossEntropy(a, t), [logits]);
    const w = torch.rand([3], { dtype: 'float64' }).add(0.5);
    ggc((a) => F.crossEntropy(a, torch.tensor([0, -100, 1, 2]), { weight: w, reduction: 'sum' }), [logits]);
    ggc((a) => F.crossEntropy(a, t, { labelSmoothing: 0.2, weight: w }), [logits]);
    ggc(
      (a) =>
        F.crossEntropy(
          a,
          torch.tensor([
            [0, 2],
            [1, 1],
          ]),
          { reduction: 'none' },
        ),
      [lf([2, 3, 2])],
    );
    ggc((a) => F.crossEntropy(a, torch.tensor(1)), [lf([3])]);
    const probs = leaf(torch.rand([4, 3], { dtype: 'float64' }).softmax(1).detach());
    ggc((a, p) => F.crossEntropy(a, p, { labelSmoothing: 0.1 }), [logits, probs]);
  });
  it('nllLoss (mean, weight, ignoreIndex, none)', () => {
    ggc((a) => F.nllLoss(a.logSoftmax(1), t), [logits]);
    const w = torch.rand([3], { dtype: 'float64' });
    ggc((a) => F.nllLoss(a, t, { weight: w, ignoreIndex: 1 }), [logits]);
    ggc((a) => F.nllLoss(a.mul(a), t, { reduction: 'none' }), [logits]);
  });
  it('binaryCrossEntropy (weight), with target gradients', () => {
    const p = uni([3, 2], 0.1, 0.9),
      q = uni([3, 2], 0, 1);
    ggc((a, b) => F.binaryCrossEntropy(a, b), [p, q]);
    const w = torch.rand([2], { dtype: 'float64' });
    ggc((a, b) => F.binaryCrossEntropy(a, b, { weight: w, reduction: 'sum' }), [p, q]);
  });
  it('binaryCrossEntropyWithLogits (weight, posWeight), with target gradients', () => {
    const q = uni([3, 2], 0, 1);
    ggc((a, b) => F.binaryCrossEntropyWithLogits(a, b), [x, q]);
    const pw = torch.rand([2], { dtype: 'float64' }).add(0.5),
      w = f64([3, 2]).abs();
    ggc((a, b) => F.binaryCrossEntropyWithLogits(a, b, { posWeight: pw, weight: w, reduction: 'sum' }), [x, q]);
  });
  it('the fused recurrent cells lstmCell and gruCell', () => {
    ggc((a, b, c) => lstmCell(a, b, c), [lf([2, 8]), lf([2, 8]), lf([2, 2])]);
    ggc((a, b, c) => gruCell(a, b, c), [lf([2, 6]), lf([2, 6]), lf([2, 2])]);
  });
});
