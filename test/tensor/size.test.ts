// t.shape and t.size() are a torch.Size: an array that prints as PyTorch's.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';

describe('torch.Size', () => {
  it('prints as PyTorch', () => {
    const t = torch.zeros(512, 784);
    expect(String(t.shape)).toBe('torch.Size([512, 784])');
    expect(`${t.size()}`).toBe('torch.Size([512, 784])');
    expect(inspect(t.shape)).toBe('torch.Size([512, 784])');
    expect(inspect({ shape: t.shape })).toBe('{ shape: torch.Size([512, 784]) }');
    expect(String(torch.tensor(1).shape)).toBe('torch.Size([])');
    expect(String(new torch.Size([2, 3]))).toBe('torch.Size([2, 3])');
  });

  it('is an array of numbers in every other way', () => {
    const s = torch.zeros(2, 3, 4).shape;
    expect(s).toBeInstanceOf(torch.Size);
    expect(Array.isArray(s)).toBe(true);
    expect(s).toEqual([2, 3, 4]);
    expect(s.length).toBe(3);
    expect(s[1]).toBe(3);
    expect([...s]).toEqual([2, 3, 4]);
    expect(JSON.stringify(s)).toBe('[2,3,4]');
    expect(s.join('x')).toBe('2x3x4');
    expect(s.numel()).toBe(24);
    expect(torch.zeros(s).shape).toEqual([2, 3, 4]);
    expect(torch.zeros(3).view(...torch.zeros(3, 1).shape).shape).toEqual([3, 1]);
    // What array methods make is a plain array.
    const mapped = s.map((n) => n * 2);
    expect(mapped).not.toBeInstanceOf(torch.Size);
    expect(String(mapped)).toBe('4,6,8');
    expect(String(s.slice(1))).toBe('3,4');
    expect(torch.zeros(2, 3).size(1)).toBe(3);
    expect(torch.zeros(2, 3).size(-1)).toBe(3);
  });

  it('is a copy: changing it leaves the tensor alone', () => {
    const t = torch.zeros(2, 3);
    const s = t.shape;
    s[0] = 7;
    expect(t.shape).toEqual([2, 3]);
  });
});
