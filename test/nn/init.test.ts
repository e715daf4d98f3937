// nn.init: bounds and moments of each initialiser on large tensors, fan
// computation, gains against PyTorch's values, seeding, and errors.
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import type { Tensor } from '../../lib/tensor.js';

const { init } = nn;

function stats(t: Tensor): { min: number; max: number; mean: number; std: number } {
  const v = Array.from(t.toTypedArray() as Float32Array);
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const x of v) {
    s += x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const mean = s / v.length;
  let ss = 0;
  for (const x of v) ss += (x - mean) ** 2;
  return { min, max, mean, std: Math.sqrt(ss / (v.length - 1)) };
}

// For n = 131072 samples the standard error of the mean is std / 362 and of
// the std about std / 512; 5% (std) and 0.02 std (mean) are > 7 standard errors.
function expectUniform(t: Tensor, lo: number, hi: number): void {
  const s = stats(t);
  const w = hi - lo;
  expect(s.min).toBeGreaterThanOrEqual(lo);
  expect(s.max).toBeLessThanOrEqual(hi);
  expect(s.min).toBeLessThan(lo + 0.001 * w);
  expect(s.max).toBeGreaterThan(hi - 0.001 * w);
  expect(Math.abs(s.mean - (lo + hi) / 2)).toBeLessThan(0.02 * w);
  expect(s.std / (w / Math.sqrt(12))).toBeCloseTo(1, 1);
}

function expectNormal(t: Tensor, mean: number, std: number): void {
  const s = stats(t);
  expect(Math.abs(s.mean - mean)).toBeLessThan(0.02 * std);
  expect(Math.abs(s.std / std - 1)).toBeLessThan(0.05);
}

describe('calculateGain', () => {
  it('matches torch.nn.init.calculate_gain', () => {
    expect(init.calculateGain('linear')).toBe(1);
    expect(init.calculateGain('conv2d')).toBe(1);
    expect(init.calculateGain('sigmoid')).toBe(1);
    expect(init.calculateGain('tanh')).toBeCloseTo(1.6666666666666667, 15);
    expect(init.calculateGain('relu')).toBeCloseTo(1.4142135623730951, 15);
    expect(init.calculateGain('leaky_relu')).toBeCloseTo(1.4141428569978354, 15);
    expect(init.calculateGain('leaky_relu', 0.2)).toBeCloseTo(1.3867504905630728, 15);
    expect(init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(0.5773502691896257, 15);
    expect(init.calculateGain('selu')).toBe(0.75);
    expect(() => init.calculateGain('swish' as never)).toThrow(/calculateGain: unsupported nonlinearity swish/);
  });
});

describe('calculateFanInAndFanOut', () => {
  it('uses dims 1 and 0 times the receptive field', () => {
    expect(init.calculateFanInAndFanOut(torch.empty(10, 20))).toEqual({ fanIn: 20, fanOut: 10 });
    expect(init.calculateFanInAndFanOut(torch.empty(16, 8, 3, 5))).toEqual({ fanIn: 120, fanOut: 240 });
    expect(() => init.calculateFanInAndFanOut(torch.empty(5))).toThrow(/fewer than 2 dimensions \(got shape \[5\]\)/);
  });
});

describe('initialisers: distributions', () => {
  it('uniform_ and normal_', () => {
    expectUniform(init.uniform_(torch.empty(512, 256), -2, 3), -2, 3);
    expectUniform(init.uniform_(torch.empty(512, 256)), 0, 1);
    expectNormal(init.normal_(torch.empty(512, 256), 1.5, 0.25), 1.5, 0.25);
    expectNormal(init.normal_(torch.empty(512, 256)), 0, 1);
    expectNormal(init.normal_(torch.empty(512, 256), { std: 0.01 }), 0, 0.01);
  });

  it('constant_, zeros_ and ones_', () => {
    expect(init.constant_(torch.empty(2, 2), 0.5).tolist()).toEqual([
      [0.5, 0.5],
      [0.5, 0.5],
    ]);
    expect(init.ones_(torch.empty(3)).tolist()).toEqual([1, 1, 1]);
    expect(init.zeros_(torch.ones(3)).tolist()).toEqual([0, 0, 0]);
  });

  it('kaimingUniform_: bound = gain * sqrt(3 / fan)', () => {
    const w = torch.empty(256, 512);
    expectUniform(init.kaimingUniform_(w), -Math.sqrt(6 / 512), Math.sqrt(6 / 512));
    expectUniform(init.kaimingUniform_(w, { mode: 'fan_out', nonlinearity: 'relu' }), -Math.sqrt(6 / 256), Math.sqrt(6 / 256));
    // a = sqrt(5) (Linear's default) gives exactly 1 / sqrt(fan_in).
    expectUniform(init.kaimingUniform_(w, { a: Math.sqrt(5) }), -1 / Math.sqrt(512), 1 / Math.sqrt(512));
    const conv = torch.empty(64, 32, 8, 8);
    const b = Math.sqrt(6 / (32 * 64));
    expectUniform(init.kaimingUniform_(conv, { nonlinearity: 'relu' }), -b, b);
  });

  it('kaimingNormal_: std = gain / sqrt(fan)', () => {
    const w = torch.empty(256, 512);
    expectNormal(init.kaimingNormal_(w), 0, Math.sqrt(2 / (1 + 0)) / Math.sqrt(512));
    expectNormal(init.kaimingNormal_(w, { mode: 'fanOut', nonlinearity: 'tanh' }), 0, 5 / 3 / Math.sqrt(256));
  });

  it('xavierUniform_ and xavierNormal_', () => {
    const w = torch.empty(256, 512);
    const a = Math.sqrt(6 / (256 + 512));
    expectUniform(init.xavierUniform_(w), -a, a);
    expectUniform(init.xavierUniform_(w, { gain: 2 }), -2 * a, 2 * a);
    expectNormal(init.xavierNormal_(w), 0, Math.sqrt(2 / (256 + 512)));
    expectNormal(init.xavierNormal_(w, { gain: init.calculateGain('relu') }), 0, Math.SQRT2 * Math.sqrt(2 / 768));
  });

  it('works in float64 too', () => {
    const w = init.kaimingUniform_(torch.empty([256, 512], { dtype: 'float64' }));
    expect(w.dtype).toBe('float64');
    expectUniform(w, -Math.sqrt(6 / 512), Math.sqrt(6 / 512));
  });
});

describe('initialisers: autograd and seeding', () => {
  it('fill a Parameter in place without recording a graph', () => {
    const p = new nn.Parameter(torch.empty(4, 4));
    for (const f of [
      () => init.kaimingUniform_(p),
      () => init.kaimingNormal_(p),
      () => init.xavierUniform_(p),
      () => init.xavierNormal_(p),
      () => init.uniform_(p),
      () => init.normal_(p),
      () => init.constant_(p, 2),
      () => init.zeros_(p),
      () => init.ones_(p),
    ]) {
      expect(f()).toBe(p);
      expect(p.isLeaf).toBe(true);
      expect(p.gradFn).toBeNull();
      expect(p.requiresGrad).toBe(true);
    }
  });

  it('are reproducible under torch.manualSeed', () => {
    torch.manualSeed(1234);
    const a = init.kaimingUniform_(torch.empty(8, 8));
    const an = init.normal_(torch.empty(8));
    torch.manualSeed(1234);
    const b = init.kaimingUniform_(torch.empty(8, 8));
    const bn = init.normal_(torch.empty(8));
    expect(a.equal(b)).toBe(true);
    expect(an.equal(bn)).toBe(true);
    torch.manualSeed(1235);
    expect(init.kaimingUniform_(torch.empty(8, 8)).equal(a)).toBe(false);
  });

  it('layers initialise reproducibly under torch.manualSeed', () => {
    torch.manualSeed(5);
    const a = new nn.Linear(20, 10);
    torch.manualSeed(5);
    const b = new nn.Linear(20, 10);
    expect(a.weight.equal(b.weight)).toBe(true);
    expect(a.bias!.equal(b.bias!)).toBe(true);
  });
});

describe('initialisers: errors', () => {
  it('reject bad arguments with the op name', () => {
    expect(() => init.kaimingUniform_(torch.empty(5))).toThrow(/fewer than 2 dimensions/);
    expect(() => init.xavierNormal_(torch.empty(5))).toThrow(/fewer than 2 dimensions/);
    expect(() => init.kaimingNormal_(torch.empty(3, 3), { mode: 'fan_avg' as never })).toThrow(
      /kaimingNormal_: mode fan_avg not supported/,
    );
    expect(() => init.uniform_(torch.empty(3), 2, 1)).toThrow(/uniform_: expects a <= b/);
    expect(() => init.normal_(torch.empty(3), 0, -1)).toThrow(/normal_: expects std >= 0/);
    expect(() => init.normal_(torch.empty([3], { dtype: 'int64' }))).toThrow(/normal_: expected a floating point tensor, got int64/);
    expect(() => init.zeros_([1, 2] as never)).toThrow(/zeros_: expected a Tensor/);
    expect(() => init.constant_(torch.empty(3), 'x' as never)).toThrow(/constant_: val must be a number/);
  });
});

describe('default initialisation of layers (as PyTorch)', () => {
  it('Linear: weight and bias in U(-1/sqrt(in), 1/sqrt(in))', () => {
    const lin = new nn.Linear(256, 512);
    const b = 1 / Math.sqrt(256);
    expectUniform(lin.weight, -b, b);
    const s = stats(lin.bias!);
    expect(s.min).toBeGreaterThanOrEqual(-b);
    expect(s.max).toBeLessThanOrEqual(b);
    expect(s.std).toBeGreaterThan((0.8 * (2 * b)) / Math.sqrt(12));
    expect(new nn.Linear(3, 2, { dtype: 'float64' }).weight.dtype).toBe('float64');
  });
});
