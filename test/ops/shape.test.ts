// View and shape ops, indexing, cat/stack/chunk/split, indexSelect, gather and
// where, against PyTorch (test/fixtures/ops_shape.json).
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import { declaredOp, loadFixture, runCase, runGradcheck, type OpTable } from '../helpers/fixtures.js';

const fx = loadFixture('shape');
const T = torch as unknown as Record<string, (...a: unknown[]) => unknown>;

const ops: OpTable = {
  view: ([a, ...size]) => a.view(...size),
  reshape: ([a, ...size]) => a.reshape(...size),
  transpose: ([a, d0, d1]) => a.transpose(d0, d1),
  permute: ([a, ...dims]) => a.permute(...dims),
  expand: ([a, ...size]) => a.expand(...size),
  narrow: ([a, dim, start, length]) => a.narrow(dim, start, length),
  select: ([a, dim, i]) => a.select(dim, i),
  // x.index(...idx) is Python's x[...]: slice strings, numbers, null, lists, Tensors.
  index: ([a, ...idx]) => a.index(...idx),
  squeeze: ([a, ...d]) => a.squeeze(...d),
  unsqueeze: ([a, d]) => a.unsqueeze(d),
  flatten: ([a, ...r]) => a.flatten(...r),
  cat: ([ts, ...dim]) => T.cat(ts, ...dim),
  stack: ([ts, ...dim]) => T.stack(ts, ...dim),
  chunk: ([a, n, ...dim]) => a.chunk(n, ...dim),
  split: ([a, s, ...dim]) => a.split(s, ...dim),
  contiguous: ([a]) => a.contiguous(),
  indexSelect: ([a, dim, index]) => a.indexSelect(dim, index),
  gather: ([a, dim, index]) => a.gather(dim, index),
  where: (args) => T.where(...args),
  t: ([a]) => a.t(),
};

describe('shape ops match PyTorch', () => {
  it('has a Kindling lambda or a declared op for every op in the fixture', () => {
    const missing = [...new Set(fx.cases.map((c) => c.op))].filter((op) => !(op in ops) && !declaredOp(op));
    expect(missing).toEqual([]);
  });

  for (const c of fx.cases) {
    it(c.name, () => {
      expect.hasAssertions();
      runCase(c, ops, fx);
    });
    if (c.gradcheck) {
      it(`${c.name}: float64 gradcheck`, () => {
        expect.hasAssertions();
        runGradcheck(c, ops);
      });
    }
  }
});

describe('scatterAdd gradient', () => {
  it('reaches src (the index gets none)', () => {
    const src = torch.randn([3], { requiresGrad: true });
    torch
      .zeros([5])
      .scatterAdd(0, torch.tensor([0, 2, 4]), src)
      .sum()
      .backward();
    // toTypedArray() may be a BigInt64Array (int64), hence number | bigint.
    expect(Array.from<number | bigint>(src.grad!.toTypedArray())).toEqual([1, 1, 1]);
  });
});
