import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';

// API.md "Errors": every misuse throws a JS Error naming the op and the values.
describe('bad input gets a clear error', () => {
  it('matmul names both shapes', () => {
    expect(() => torch.randn(2, 3).matmul(torch.randn(4, 5))).toThrow('matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)');
  });
  it('broadcasting names both shapes', () => {
    expect(() => torch.ones(2, 3).add(torch.ones(4))).toThrow(/add: shapes \[2, 3\] and \[4\] cannot be broadcast/);
  });
  it('view with a wrong size', () => {
    expect(() => torch.ones(2, 3).view(4)).toThrow(/view: shape \[4\] is invalid for input of size 6/);
  });
  it('dims out of range', () => {
    expect(() => torch.ones(2, 3).sum(2)).toThrow(RangeError);
    expect(() => torch.ones(2, 3).sum(2)).toThrow(/sum: dimension out of range/);
    expect(() => torch.ones(2, 3).transpose(0, -3)).toThrow(/transpose: dimension out of range/);
  });
  it('indices out of range', () => {
    expect(() => torch.ones(2, 3).select(0, 5)).toThrow(/select: index 5 out of range/);
    expect(() => torch.ones(2, 3).index(7)).toThrow(/index 7 is out of bounds/);
    expect(() => torch.ones(5).index(torch.tensor([0, 9]))).toThrow(/index 9 is out of bounds for dimension 0 with size 5/);
    expect(() => torch.ones(5).indexSelect(0, torch.tensor([6]))).toThrow(/indexSelect: index 6 is out of bounds/);
    expect(() =>
      torch.ones(2, 2).gather(
        1,
        torch.tensor([
          [0, 3],
          [1, 0],
        ]),
      ),
    ).toThrow(/gather/);
  });
  it('wrong argument types throw TypeErrors, never crash', () => {
    const x = torch.ones(2);
    const bad: unknown[] = [undefined, null, 'a', {}, [1, 'b'], () => 1, Symbol('s')];
    for (const b of bad) {
      expect(() => x.add(b as never)).toThrow(TypeError);
      expect(() => x.mul(b as never)).toThrow(TypeError);
    }
    expect(() => x.view('a' as never)).toThrow(TypeError);
    expect(() => x.sum('a' as never)).toThrow(TypeError);
    expect(() => torch.tensor([1, 'x'] as never)).toThrow(TypeError);
    expect(() => torch.tensor([[1, 2], [3]])).toThrow(/expected sequence of length 2/);
    expect(() => torch.zeros(2, { dtype: 'complex64' as never })).toThrow(/unknown dtype/);
    expect(() => torch.matmul(x, 3 as never)).toThrow(TypeError);
  });
  it('dtype rules', () => {
    expect(() => torch.tensor([1, 2]).mean()).toThrow(/mean: could not infer output dtype/);
    expect(() => torch.ones(2, 2).matmul(torch.ones(2, 2, { dtype: 'float64' }))).toThrow(/same dtype/);
    expect(() => torch.tensor([1, 2]).add_(torch.tensor([0.5, 1.5]))).toThrow(/can't be cast/);
  });
  it('devices', () => {
    // Without a usable GPU (no device, or a build without CUDA) the error says why.
    if (!torch.cuda.isAvailable()) expect(() => torch.ones(2).to('cuda')).toThrow(/^to: CUDA is not available: /);
    expect(() => torch.ones(2).to('cuda:x')).toThrow(/^to: expected a dtype or a device, got "cuda:x"/);
    expect(() => torch.ones(2, { device: 'tpu' as never })).toThrow(/unknown device/);
  });
  it('huge allocations throw a RangeError', () => {
    expect(() => torch.zeros(1e6, 1e6)).toThrow(RangeError);
    expect(() => torch.zeros(-1)).toThrow(RangeError);
  });
  it('a failed op leaves its inputs untouched', () => {
    const x = torch.tensor([1, 2, 3], { dtype: 'float32' });
    const out = torch.zeros(3);
    expect(() => out.indexPut_([torch.tensor([0, 7])], 1)).toThrow(/out of bounds/);
    // toTypedArray() may be a BigInt64Array (int64), hence number | bigint.
    expect(Array.from<number | bigint>(out.toTypedArray())).toEqual([0, 0, 0]);
    expect(Array.from<number | bigint>(x.toTypedArray())).toEqual([1, 2, 3]);
  });
});

describe('allocation', () => {
  it('a negative size throws and never hands out memory that is in use', () => {
    const pad = torch.zeros(60);
    expect(() => torch.full([2, -8], 0)).toThrow(RangeError);
    expect(() => torch.randint(0, 5, [3, -2])).toThrow(RangeError);
    torch.zeros(60).fill_(7);
    expect(pad.sum().item()).toBe(0);
  });
});
