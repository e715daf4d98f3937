// var, std, varMean and stdMean read their arguments as PyTorch 1.13's
// overloads do: var(input, unbiased) takes its flag positionally and nothing
// after it; a boolean dim given by name is refused, not read as the flag.
// The values against PyTorch are fixture cases (ops_sort.json, var_* and std_*).
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import type { Tensor } from '../helpers/fixtures.js';

// Sum of squared deviations 76/3 over 6 elements, mean 10/3.
const x = torch.tensor(
  [
    [1, 5, 2],
    [3, 2, 7],
  ],
  { dtype: 'float64' },
);
const call = (name: string, ...args: unknown[]): Tensor =>
  (torch as unknown as Record<string, (...a: unknown[]) => Tensor>)[name](x, ...args);
const method = (name: string, ...args: unknown[]): Tensor => (x as unknown as Record<string, (...a: unknown[]) => Tensor>)[name](...args);

describe('var(input, unbiased) and var(input, dim, ...)', () => {
  it('a boolean in the dim place is the unbiased flag; an int or a list is the dim', () => {
    expect(method('var', true).item()).toBeCloseTo(76 / 3 / 5, 12);
    expect(call('var', false).item()).toBeCloseTo(76 / 3 / 6, 12);
    expect(method('var', 0).tolist()).toEqual([2, 4.5, 12.5]);
    expect(call('var', [0, 1], true).item()).toBeCloseTo(76 / 3 / 5, 12);
    expect(method('var', [0, 1], false).item()).toBeCloseTo(76 / 3 / 6, 12);
    expect(method('var', 0, false).tolist()).toEqual([1, 2.25, 6.25]);
    expect(method('var', 1, false, true).shape).toEqual([2, 1]);
    expect(method('std', false).item()).toBeCloseTo(Math.sqrt(76 / 3 / 6), 12);
    const [v, m] = call('varMean', false) as unknown as Tensor[];
    expect(v.item()).toBeCloseTo(76 / 3 / 6, 12);
    expect(m.item()).toBeCloseTo(10 / 3, 12);
    expect(method('var', null, false).item()).toBeCloseTo(76 / 3 / 6, 12);
    expect(method('var', { dim: null, unbiased: false, keepdim: true }).shape).toEqual([1, 1]);
  });

  it('refuses a boolean dim given by name, for each of the four', () => {
    for (const name of ['var', 'std', 'varMean', 'stdMean']) {
      for (const flag of [false, true]) {
        expect(() => method(name, { dim: flag })).toThrow(TypeError);
        expect(() => call(name, { dim: flag })).toThrow(
          new RegExp(`^${name}: argument 'dim' must be an integer, an array of integers or null, got ${flag}; the unbiased flag is`),
        );
      }
    }
    expect(() => (torch.var as unknown as (...a: unknown[]) => Tensor)({ input: x, dim: false })).toThrow(
      /var: argument 'dim' must be an integer/,
    );
  });

  it('refuses anything after the positional flag, as PyTorch', () => {
    expect(() => method('var', false, { keepdim: true })).toThrow(
      /^var: var\(input, unbiased\) takes no other argument, got \{ keepdim \} after false; write var\(input, dim, unbiased, keepdim\)/,
    );
    expect(() => method('var', false, true)).toThrow(/var: var\(input, unbiased\) takes no other argument, got \[true\] after false/);
    expect(() => method('std', true, { dim: 0 })).toThrow(/std: std\(input, unbiased\) takes no other argument, got \{ dim \} after true/);
    expect(() => method('var', false, { correction: 0 })).toThrow(/got \{ correction \} after false/);
    expect(() => method('var', false, { out: torch.empty([], { dtype: 'float64' }) })).toThrow(/got \{ out \} after false/);
    expect(() => method('stdMean', true, { keepdim: false })).toThrow(/stdMean: stdMean\(input, unbiased\) takes no other argument/);
    // An unknown key is still named as one.
    expect(() => method('var', false, { keepDim: true })).toThrow(/var: unknown option 'keepDim' \(did you mean 'keepdim'\?\)/);
    // Keys left undefined count as not given.
    expect(method('var', false, { keepdim: undefined }).item()).toBeCloseTo(76 / 3 / 6, 12);
  });

  it('keeps the other checks', () => {
    expect(() => method('var', 0, 1)).toThrow(/var: argument 'unbiased' must be a boolean, got 1/);
    expect(() => method('var', { unbiased: 0 })).toThrow(/var: argument 'unbiased' must be a boolean, got 0/);
    expect(() => method('var', 0, { unbiased: false, correction: 0 })).toThrow(/var: got both correction and unbiased/);
    expect(() => method('var', 0.5)).toThrow(/var: argument 'dim' must be an integer/);
  });
});
