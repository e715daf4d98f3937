// The helpers that print as Python does, against what CPython 3 prints
// (the expected strings were printed by /usr/bin/python3).
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import { capture, expectSamePrint, fixed, float, fmt, ndarray, print, reprFloat } from './python.js';

describe('Python printing helpers', () => {
  it('repr(float) and format(x, spec) as CPython, ties to even on the exact binary value', () => {
    expect([1e-5, 12, 1e16, 0.1, 123456.789, -2.5e-7].map(reprFloat)).toEqual(['1e-05', '12.0', '1e+16', '0.1', '123456.789', '-2.5e-07']);
    const got = [
      fmt(float(0.0078125), 'f'),
      fmt(float(2.5), '.0f'),
      fmt(float(3.5), '.0f'),
      fmt(float(-0.0000004), 'f'),
      fmt(5, '>5d'),
      fmt(float(2.3036952), '>7f'),
      fmt(float(14.6875), '>0.1f'),
      fmt(float(0.15), '.1f'),
    ];
    expect(got).toEqual(['0.007812', '2', '4', '-0.000000', '    5', '2.303695', '14.7', '0.1']);
  });

  it('print joins str() of its arguments; a 0-d tensor formats as its item in an f-string field', () => {
    const out = capture(() => {
      print(true, null, 3, float(2), 'x');
      print(fmt(torch.tensor(5)), fmt(torch.tensor(1.5)), ndarray([1, 2]));
    });
    expect(out).toBe('True None 3 2.0 x\n5 1.5 [1. 2.]\n');
    expect(() => print('outside')).toThrow(/outside capture/);
    expect(() => capture(() => print(0.5))).toThrow(/wrap a float/);
  });

  it('compares numbers within a tolerance only when asked, and ignores object addresses', () => {
    expectSamePrint('<AddBackward0>', '<AddBackward0 object at 0x7f00ab>');
    expectSamePrint('loss: 2.303696', 'loss: 2.303695', { tol: 2e-6 });
    expect(() => expectSamePrint('loss: 2.303696', 'loss: 2.303695')).toThrow();
    expect(() => expectSamePrint('loss: 2.303795', 'loss: 2.303695', { tol: 2e-6 })).toThrow();
    expect(() => expectSamePrint('<AddBackward0> 1.0', '<AddmmBackward0> 1.0', { tol: 1 })).toThrow();
  });

  it("fixed() gives the fixture script's values bit for bit", () => {
    // make_tutorial_fixtures.fixed([3], 1, signed=False) and fixed([2], 12, 1/28), printed by PyTorch's tolist().
    const a = fixed([3], 1, 1, false);
    expect(a.dtype).toBe('float32');
    expect(a.tolist()).toEqual([0.31691214442253113, 0.7974385619163513, 0.4123323857784271]);
    expect(fixed([2], 12, 1 / 28).tolist()).toEqual([0.026253236457705498, -0.019755147397518158]);
  });
});
