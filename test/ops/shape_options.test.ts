// Shape, joining and indexing ops declared with op() (lib/ops/op.ts): PyTorch's
// signatures, every parameter positional or in the trailing options object,
// Python's *size forms, and an unknown option key a TypeError naming the op
// and the key.
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';

const x = torch.arange(6, { dtype: 'float32' }).reshape(2, 3);
const list = (t: Tensor) => t.tolist();
const lists = (ts: Tensor[]) => ts.map((t) => t.tolist());
const shapes = (ts: Tensor[]) => ts.map((t) => t.shape);

describe('shape ops take their keywords in the options object', () => {
  it('view, viewAs, reshape: *size spread, as one array, or by keyword', () => {
    expect(x.view(3, 2).shape).toEqual([3, 2]);
    expect(x.view([3, 2]).shape).toEqual([3, 2]);
    expect(x.view({ size: [3, 2] }).shape).toEqual([3, 2]);
    expect(x.view(-1).shape).toEqual([6]);
    expect(x.viewAs({ other: torch.zeros(3, 2) }).shape).toEqual([3, 2]);
    expect(x.reshape(6).shape).toEqual([6]);
    expect(x.reshape([1, 6]).shape).toEqual([1, 6]);
    expect(x.reshape({ shape: [3, -1] }).shape).toEqual([3, 2]);
    expect(torch.reshape(x, [6]).shape).toEqual([6]);
    expect(torch.reshape(x, { shape: [6] }).shape).toEqual([6]);
  });
  it('flatten, unflatten', () => {
    const y = torch.zeros(2, 3, 4);
    expect(y.flatten({ startDim: 1 }).shape).toEqual([2, 12]);
    expect(y.flatten(0, { endDim: 1 }).shape).toEqual([6, 4]);
    expect(torch.flatten(y, { startDim: 1, endDim: -1 }).shape).toEqual([2, 12]);
    expect(y.flatten().shape).toEqual([24]);
    expect(x.unflatten(1, [3, 1]).shape).toEqual([2, 3, 1]);
    expect(x.unflatten({ dim: 0, sizes: [1, 2] }).shape).toEqual([1, 2, 3]);
  });
  it('transpose, t, permute', () => {
    expect(list(x.transpose(0, 1))).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    expect(x.transpose({ dim0: 0, dim1: 1 }).shape).toEqual([3, 2]);
    expect(torch.transpose(x, 1, { dim1: 0 }).shape).toEqual([3, 2]);
    expect(x.t().shape).toEqual([3, 2]);
    expect(x.permute(1, 0).shape).toEqual([3, 2]);
    expect(x.permute([1, 0]).shape).toEqual([3, 2]);
    expect(x.permute({ dims: [1, 0] }).shape).toEqual([3, 2]);
    expect(torch.permute(x, [1, 0]).shape).toEqual([3, 2]);
  });
  it('expand, expandAs, squeeze, unsqueeze', () => {
    const r = torch.zeros(1, 3);
    expect(r.expand(2, -1).shape).toEqual([2, 3]);
    expect(r.expand([2, 3]).shape).toEqual([2, 3]);
    expect(r.expand({ size: [4, 2, 3] }).shape).toEqual([4, 2, 3]);
    expect(r.expandAs({ other: x }).shape).toEqual([2, 3]);
    const s = torch.zeros(1, 3, 1);
    expect(s.squeeze().shape).toEqual([3]);
    expect(s.squeeze({ dim: 0 }).shape).toEqual([3, 1]);
    expect(s.squeeze(-1).shape).toEqual([1, 3]);
    expect(torch.squeeze(s, { dim: 2 }).shape).toEqual([1, 3]);
    expect(x.unsqueeze({ dim: 1 }).shape).toEqual([2, 1, 3]);
    expect(torch.unsqueeze(x, -1).shape).toEqual([2, 3, 1]);
  });
  it('narrow, select, chunk, split, unbind, repeat', () => {
    expect(list(x.narrow(1, 1, 2))).toEqual([
      [1, 2],
      [4, 5],
    ]);
    expect(list(x.narrow({ dim: 1, start: 1, length: 2 }))).toEqual([
      [1, 2],
      [4, 5],
    ]);
    expect(list(torch.narrow(x, 0, 1, { length: 1 }))).toEqual([[3, 4, 5]]);
    expect(list(x.select(1, -1))).toEqual([2, 5]);
    expect(list(x.select({ dim: 0, index: 1 }))).toEqual([3, 4, 5]);
    expect(list(torch.select(x, 0, { index: 0 }))).toEqual([0, 1, 2]);
    expect(shapes(x.chunk(2, { dim: 1 }))).toEqual([
      [2, 2],
      [2, 1],
    ]);
    expect(shapes(x.chunk({ chunks: 2 }))).toEqual([
      [1, 3],
      [1, 3],
    ]);
    expect(shapes(torch.chunk(x, 3, 1))).toEqual([
      [2, 1],
      [2, 1],
      [2, 1],
    ]);
    expect(lists(x.split([1, 2], { dim: 1 }))).toEqual([
      [[0], [3]],
      [
        [1, 2],
        [4, 5],
      ],
    ]);
    expect(shapes(x.split({ splitSize: 1 }))).toEqual([
      [1, 3],
      [1, 3],
    ]);
    expect(shapes(torch.split(x, 2, { dim: 1 }))).toEqual([
      [2, 2],
      [2, 1],
    ]);
    expect(lists(x.unbind({ dim: 1 }))).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    expect(lists(x.unbind())).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(x.repeat(2, 1).shape).toEqual([4, 3]);
    expect(x.repeat([1, 2]).shape).toEqual([2, 6]);
    expect(x.repeat({ repeats: [2, 1, 1] }).shape).toEqual([2, 2, 3]);
  });
  it('contiguous and clone', () => {
    const tr = x.t();
    expect(tr.contiguous().isContiguous()).toBe(true);
    expect(x.contiguous()).toBe(x);
    const c = torch.clone(x);
    expect(c).not.toBe(x);
    expect(list(c)).toEqual(list(x));
  });
});

describe('joining ops are torch functions, not methods', () => {
  const a = torch.zeros(2, 2),
    b = torch.ones(2, 1);
  it('cat, concat, stack', () => {
    expect(torch.cat([a, b], { dim: 1 }).shape).toEqual([2, 3]);
    expect(torch.cat([a, b], 1).shape).toEqual([2, 3]);
    expect(torch.cat({ tensors: [a, a] }).shape).toEqual([4, 2]);
    expect(torch.concat([a, b], { dim: -1 }).shape).toEqual([2, 3]);
    expect(torch.stack([a, a], { dim: 2 }).shape).toEqual([2, 2, 2]);
    expect(torch.stack([a, a]).shape).toEqual([2, 2, 2]);
  });
  it('where(condition, input, other)', () => {
    const cond = torch.tensor([true, false, true]);
    expect(list(torch.where(cond, torch.ones(3), torch.zeros(3)))).toEqual([1, 0, 1]);
    expect(list(torch.where(cond, 2, torch.zeros(3)))).toEqual([2, 0, 2]);
    expect(list(torch.where(cond, torch.ones(3), { other: -1 }))).toEqual([1, -1, 1]);
    expect(list(torch.where({ condition: cond, input: 5, other: torch.zeros(3) }))).toEqual([5, 0, 5]);
  });
  it('has no Tensor methods cat, concat, stack or where', () => {
    const t = x as unknown as Record<string, unknown>;
    for (const name of ['cat', 'concat', 'stack', 'where']) expect(t[name], name).toBeUndefined();
  });
});

describe('indexing ops take their keywords in the options object', () => {
  it('indexSelect, gather, scatterAdd', () => {
    const idx = torch.tensor([1, 0]);
    expect(list(x.indexSelect(0, idx))).toEqual([
      [3, 4, 5],
      [0, 1, 2],
    ]);
    expect(list(x.indexSelect({ dim: 1, index: [2] }))).toEqual([[2], [5]]);
    expect(list(torch.indexSelect(x, 1, { index: idx }))).toEqual([
      [1, 0],
      [4, 3],
    ]);
    const g = torch.tensor([
      [2, 0],
      [1, 1],
    ]);
    expect(list(x.gather(1, g))).toEqual([
      [2, 0],
      [4, 4],
    ]);
    expect(list(x.gather({ dim: 1, index: g, sparseGrad: false }))).toEqual([
      [2, 0],
      [4, 4],
    ]);
    expect(list(torch.gather(x, 1, g, { sparseGrad: false }))).toEqual([
      [2, 0],
      [4, 4],
    ]);
    expect(() => x.gather(1, g, { sparseGrad: true })).toThrow(/^gather: /);
    const z = torch.zeros(2, 3);
    expect(list(z.scatterAdd(1, g, torch.ones(2, 2)))).toEqual([
      [1, 0, 1],
      [0, 2, 0],
    ]);
    expect(list(z.scatterAdd({ dim: 1, index: g, src: torch.ones(2, 2) }))).toEqual([
      [1, 0, 1],
      [0, 2, 0],
    ]);
  });
  it('maskedFill (a number or a 0-d tensor), index, indexPut_', () => {
    const mask = x.gt(2);
    expect(list(x.maskedFill(mask, 0))).toEqual([
      [0, 1, 2],
      [0, 0, 0],
    ]);
    expect(list(x.maskedFill(mask, { value: -1 }))).toEqual([
      [0, 1, 2],
      [-1, -1, -1],
    ]);
    expect(list(x.maskedFill({ mask, value: torch.tensor(7) }))).toEqual([
      [0, 1, 2],
      [7, 7, 7],
    ]);
    expect(list(x.index(1, '1:'))).toEqual([4, 5]);
    expect(list(x.index([1, 0]))).toEqual([
      [3, 4, 5],
      [0, 1, 2],
    ]);
    const w = torch.zeros(4);
    w.indexPut_([torch.tensor([0, 2])], 3);
    expect(list(w)).toEqual([3, 0, 3, 0]);
    w.indexPut_({ indices: [torch.tensor([0, 0, 1])], values: torch.tensor(1), accumulate: true });
    expect(list(w)).toEqual([5, 1, 3, 0]);
    w.indexPut_(['1:3'], 2, { accumulate: true });
    expect(list(w)).toEqual([5, 3, 5, 0]);
  });
});

describe('views keep their base', () => {
  it('view ops set _base to the base of their input, with and without grad', () => {
    for (const src of [torch.zeros(2, 3), torch.zeros(2, 3, { requiresGrad: true })]) {
      for (const v of [
        src.view(6),
        src.t(),
        src.transpose(0, 1),
        src.permute(1, 0),
        src.unsqueeze(0),
        src.narrow(1, 0, 2),
        src.select(0, 1),
        src.index(0),
        src.expand(4, 2, 3),
        src.view(6).view(3, 2),
        src.split(1)[0],
      ]) {
        expect(v._base).toBe(src);
      }
      expect(src.clone()._base).toBeNull();
      expect(src.t().reshape(6)._base).toBeNull();
    }
  });
});

describe('an unknown option key is a TypeError naming the op and the key', () => {
  const idx = torch.tensor([0]);
  const cases: [string, () => unknown][] = [
    ['view', () => x.view(6, { bogus: 1 } as never)],
    ['viewAs', () => x.viewAs(x, { bogus: 1 } as never)],
    ['reshape', () => x.reshape(6, { bogus: 1 } as never)],
    ['flatten', () => x.flatten({ bogus: 1 } as never)],
    ['unflatten', () => x.unflatten(1, [3, 1], { bogus: 1 } as never)],
    ['unsqueeze', () => x.unsqueeze(0, { bogus: 1 } as never)],
    ['squeeze', () => x.squeeze({ bogus: 1 } as never)],
    ['transpose', () => x.transpose(0, 1, { bogus: 1 } as never)],
    ['t', () => x.t({ bogus: 1 } as never)],
    ['permute', () => x.permute(1, 0, { bogus: 1 } as never)],
    ['expand', () => x.expand(2, 3, { bogus: 1 } as never)],
    ['expandAs', () => x.expandAs(x, { bogus: 1 } as never)],
    ['contiguous', () => x.contiguous({ bogus: 1 } as never)],
    ['clone', () => x.clone({ bogus: 1 } as never)],
    ['narrow', () => x.narrow(0, 0, 1, { bogus: 1 } as never)],
    ['select', () => x.select(0, 0, { bogus: 1 } as never)],
    ['chunk', () => x.chunk(2, { bogus: 1 } as never)],
    ['split', () => x.split(1, { bogus: 1 } as never)],
    ['unbind', () => x.unbind({ bogus: 1 } as never)],
    ['repeat', () => x.repeat(1, 1, { bogus: 1 } as never)],
    ['cat', () => torch.cat([x], { bogus: 1 } as never)],
    ['stack', () => torch.stack([x], { bogus: 1 } as never)],
    ['where', () => torch.where(x.gt(1), x, 0, { bogus: 1 } as never)],
    ['index', () => x.index(0, { bogus: 1 } as never)],
    ['indexPut_', () => x.clone().indexPut_([0], 1, { bogus: 1 } as never)],
    ['indexSelect', () => x.indexSelect(0, idx, { bogus: 1 } as never)],
    ['gather', () => x.gather(0, torch.tensor([[0]]), { bogus: 1 } as never)],
    ['scatterAdd', () => x.scatterAdd(0, torch.tensor([[0]]), x, { bogus: 1 } as never)],
    ['maskedFill', () => x.maskedFill(x.gt(1), 0, { bogus: 1 } as never)],
  ];
  for (const [op, call] of cases) {
    it(op, () => {
      expect(call).toThrow(TypeError);
      expect(call).toThrow(new RegExp(`^${op}: unknown option 'bogus'`));
    });
  }
  it('suggests the camelCase name for a Python keyword', () => {
    expect(() => x.flatten({ start_dim: 1 } as never)).toThrow(/^flatten: unknown option 'start_dim' \(did you mean 'startDim'\?\)/);
    expect(() => x.split(1, { split_size: 1 } as never)).toThrow(/did you mean 'splitSize'/);
    expect(() => x.gather(0, torch.tensor([[0]]), { sparse_grad: false } as never)).toThrow(/did you mean 'sparseGrad'/);
  });
});

describe('torch-level names', () => {
  it('keeps every torch.* name of the shape and indexing ops', () => {
    const t = torch as unknown as Record<string, unknown>;
    for (const name of [
      'cat',
      'concat',
      'stack',
      'chunk',
      'split',
      'flatten',
      'reshape',
      'transpose',
      'permute',
      'squeeze',
      'unsqueeze',
      'narrow',
      'select',
      'indexSelect',
      'gather',
      'clone',
      'where',
    ]) {
      expect(typeof t[name], name).toBe('function');
    }
    expect(torch.concat).toBe(torch.cat);
  });
});
