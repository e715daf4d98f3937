// Modulo and rounded division, logical and bitwise ops, the newer unary
// math, nanToNum and isclose: their method and in-place forms, gradients
// PyTorch refuses, and the errors. Values against PyTorch come from the
// fixture (test/ops/elementwise.test.ts replays ops_elementwise.json).
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import { loadFixture, buildInputs, resolveArgs, expectTensor, type Tensor } from '../helpers/fixtures.js';

const fx = loadFixture('elementwise');
const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());
const T = torch as unknown as Record<string, (...a: unknown[]) => Tensor>;

const NEW_OPS = new Set([
  'remainder',
  'fmod',
  'floor_divide',
  'logical_and',
  'logical_or',
  'logical_xor',
  'bitwise_and',
  'bitwise_or',
  'bitwise_xor',
  'bitwise_not',
  'trunc',
  'fix',
  'frac',
  'round',
  'expm1',
  'log10',
  'erf',
  'erfc',
  'erfinv',
  'isinf',
  'isfinite',
  'isposinf',
  'isneginf',
  'nan_to_num',
  'isclose',
]);
const cases = fx.cases.filter((c) => NEW_OPS.has(c.op));

/** The case's keyword arguments as Kindling's options object, or none. */
function options(kw: Record<string, unknown>): Record<string, unknown>[] {
  const keys = Object.keys(kw);
  return keys.length ? [Object.fromEntries(keys.map((k) => [camel(k), kw[k]]))] : [];
}

describe('method forms match PyTorch', () => {
  it('covers every new op', () => {
    expect(new Set(cases.map((c) => c.op))).toEqual(NEW_OPS);
  });
  for (const c of cases) {
    if (c.error || !(typeof c.args[0] === 'object' && c.args[0] !== null && 'ref' in c.args[0])) continue;
    it(`x.${camel(c.op)}(): ${c.name}`, () => {
      const { refs } = buildInputs(c);
      const [self, ...rest] = resolveArgs(c.args, refs);
      const out = self[camel(c.op)](...rest, ...options(c.kwargs));
      expectTensor(out, c.outputs![0], `x.${camel(c.op)} ${c.name}`, [fx.tolerance, c.tol]);
    });
  }
});

describe('in-place forms', () => {
  // Each op_ writes what op returns into self (cast to self's dtype) and bumps its version.
  const rows: Array<[string, () => Tensor, unknown[]]> = [
    ['remainder', () => torch.tensor([-7.5, 7.5, 3]), [2]],
    ['remainder', () => torch.tensor([-7, 7, 3]), [torch.tensor([3, -3, 2])]],
    ['fmod', () => torch.tensor([-7.5, 7.5, 3]), [-2]],
    ['floorDivide', () => torch.tensor([-7, 7, 3]), [2]],
    ['trunc', () => torch.tensor([-1.5, 2.7]), []],
    ['fix', () => torch.tensor([-1.5, 2.7]), []],
    ['frac', () => torch.tensor([-1.5, 2.75]), []],
    ['round', () => torch.tensor([1.2345, -2.5]), [{ decimals: 2 }]],
    ['floor', () => torch.tensor([1.5, -2.5]), []],
    ['ceil', () => torch.tensor([1.5, -2.5]), []],
    ['sign', () => torch.tensor([1.5, -2.5, 0]), []],
    ['abs', () => torch.tensor([1.5, -2.5]), []],
    ['expm1', () => torch.tensor([0.5, -1]), []],
    ['log', () => torch.tensor([0.5, 3]), []],
    ['log1p', () => torch.tensor([0.5, 3]), []],
    ['log2', () => torch.tensor([0.5, 3]), []],
    ['log10', () => torch.tensor([0.5, 300]), []],
    ['rsqrt', () => torch.tensor([0.5, 3]), []],
    ['sin', () => torch.tensor([0.5, 3]), []],
    ['cos', () => torch.tensor([0.5, 3]), []],
    ['sigmoid', () => torch.tensor([0.5, -3]), []],
    ['tanh', () => torch.tensor([0.5, -3]), []],
    ['reciprocal', () => torch.tensor([0.5, -3]), []],
    ['erf', () => torch.tensor([0.5, -3]), []],
    ['erfc', () => torch.tensor([0.5, -3]), []],
    ['erfinv', () => torch.tensor([0.5, -0.3]), []],
    ['nanToNum', () => torch.tensor([NaN, Infinity, -Infinity, 1]), [{ nan: 1, posinf: 2, neginf: -2 }]],
    ['logicalNot', () => torch.tensor([0, 3]), []],
    ['logicalAnd', () => torch.tensor([0, 3, 2]), [torch.tensor([1, 1, 0])]],
    ['logicalOr', () => torch.tensor([0, 3, 0], { dtype: 'float32' }), [torch.tensor([1, 0, 0])]],
    ['logicalXor', () => torch.tensor([true, false]), [torch.tensor([true, true])]],
    ['bitwiseAnd', () => torch.tensor([12, -10]), [6]],
    ['bitwiseOr', () => torch.tensor([12, 10], { dtype: 'int32' }), [torch.tensor([1, 2], { dtype: 'uint8' })]],
    ['bitwiseXor', () => torch.tensor([true, false]), [true]],
    ['bitwiseNot', () => torch.tensor([0, 255, 3], { dtype: 'uint8' }), []],
  ];
  for (const [name, make, args] of rows) {
    it(`${name}_`, () => {
      const want = T[name](make(), ...args);
      const t = make();
      const v0 = t._storage.version;
      const r = t[`${name}_`](...args);
      expect(r).toBe(t);
      expect(t._storage.version).toBe(v0 + 1);
      expect(t.dtype).toBe(make().dtype);
      expect(t.tolist()).toEqual(want.to(t.dtype).tolist());
    });
  }

  it('refuses results its dtype cannot hold, as PyTorch', () => {
    expect(() => torch.tensor([true, false]).bitwiseAnd_(torch.tensor([1, 0]))).toThrow(
      /int64 can't be cast to the desired output type bool/,
    );
    expect(() => torch.tensor([1, 2]).remainder_(1.5)).toThrow(/float32 can't be cast/);
    expect(() => torch.tensor([1, 2]).erf_()).toThrow(/float32 can't be cast/);
  });

  it('records autograd through remainder_ and nanToNum_', () => {
    const x = torch.tensor([2.5, -1.5], { requiresGrad: true });
    const y = x.mul(1);
    y.remainder_(2);
    y.nanToNum_();
    y.sum().backward();
    expect(x.grad?.tolist()).toEqual([1, 1]);
  });
});

describe('gradients PyTorch refuses or zeroes', () => {
  it('floorDivide records a node whose backward fails, as in PyTorch 1.13', () => {
    const x = torch.tensor([1.5, -2.5], { requiresGrad: true });
    const y = torch.floorDivide(x, 2);
    expect(y.requiresGrad).toBe(true);
    expect(y.tolist()).toEqual([0, -2]);
    expect(() => y.sum().backward()).toThrow(/derivative for floor_divide is not implemented/);
  });

  it('remainder with a number input has no gradient for other', () => {
    const b = torch.tensor([2.5, -2], { requiresGrad: true });
    const y = torch.remainder(5, b);
    expect(y.tolist()).toEqual([0, -1]);
    expect(() => y.sum().backward()).toThrow(/derivative for remainder with a number input is not implemented/);
  });

  it('rounded division and round give zero gradients, with PyTorch node names', () => {
    const x = torch.tensor([1.5, -2.5], { requiresGrad: true });
    const d = x.div(2, { roundingMode: 'floor' });
    expect(d.gradFn?.name).toBe('DivBackward2');
    expect(x.div(2).gradFn?.name).toBe('DivBackward0');
    expect(x.round().gradFn?.name).toBe('RoundBackward0');
    expect(x.round({ decimals: 1 }).gradFn?.name).toBe('RoundBackward1');
    expect(x.remainder(2).gradFn?.name).toBe('RemainderBackward0');
    expect(x.remainder(torch.tensor(2)).gradFn?.name).toBe('RemainderBackward1');
    expect(x.fmod(torch.tensor(2)).gradFn?.name).toBe('FmodBackward1');
    d.add(x.round({ decimals: 1 }))
      .sum()
      .backward();
    expect(x.grad?.tolist()).toEqual([0, 0]);
  });

  it('gradgradcheck through remainder, fmod, erf, erfinv and nanToNum', () => {
    const a = torch.tensor([2.3, -1.7, 0.4], { dtype: 'float64', requiresGrad: true });
    const b = torch.tensor([1.1, 0.9, -0.7], { dtype: 'float64', requiresGrad: true });
    expect(torch.autograd.gradgradcheck((x: Tensor, y: Tensor) => torch.remainder(x, y), [a, b])).toBe(true);
    expect(torch.autograd.gradgradcheck((x: Tensor, y: Tensor) => torch.fmod(x, y), [a, b])).toBe(true);
    const u = torch.tensor([0.3, -0.6, 0.1], { dtype: 'float64', requiresGrad: true });
    for (const f of ['erf', 'erfc', 'erfinv', 'expm1', 'frac', 'nanToNum'] as const) {
      expect(
        torch.autograd.gradgradcheck((x: Tensor) => T[f](x), [u]),
        f,
      ).toBe(true);
    }
  });
});

describe('values PyTorch does not pin down', () => {
  it('erfinv is exact in the far tails (PyTorch 1.13 loses digits there)', () => {
    // Exact values (mpmath, 40 digits): erfinv(1 - 1e-15) = 5.675915739744713, erfinv(-(1 - 1e-12)) = -5.042031898572696.
    const y = torch
      .tensor([1 - 1e-15, -(1 - 1e-12)], { dtype: 'float64' })
      .erfinv()
      .tolist() as number[];
    expect(Math.abs(y[0] - 5.675915739744713)).toBeLessThan(1e-13);
    expect(Math.abs(y[1] + 5.042031898572696)).toBeLessThan(1e-13);
  });

  it('integer modulo of the smallest integer by -1 wraps instead of trapping (PyTorch crashes)', () => {
    const x = torch.tensor([-(2 ** 31), 5], { dtype: 'int32' });
    const m1 = torch.tensor([-1, -1], { dtype: 'int32' });
    expect(x.fmod(m1).tolist()).toEqual([0, 0]);
    expect(x.remainder(m1).tolist()).toEqual([0, 0]);
  });
});

describe('allclose and equal', () => {
  it('allclose is isclose everywhere', () => {
    expect(torch.allclose(torch.tensor([1, Infinity]), torch.tensor([1, Infinity]))).toBe(true);
    expect(torch.allclose(torch.tensor([1, -Infinity]), torch.tensor([1, Infinity]))).toBe(false);
    expect(torch.allclose(torch.tensor([NaN]), torch.tensor([NaN]))).toBe(false);
    expect(torch.allclose(torch.tensor([NaN]), torch.tensor([NaN]), { equalNan: true })).toBe(true);
    expect(torch.allclose(torch.tensor([1, 2], { dtype: 'float32' }), torch.tensor([1.05, 2]), { atol: 0.1 })).toBe(true);
    expect(torch.allclose(torch.tensor([1]), torch.tensor([1, 1]))).toBe(true);
    expect(torch.allclose(torch.zeros(0), torch.zeros(0))).toBe(true);
    expect(() => torch.allclose(torch.tensor([1, 2]), torch.tensor([1, 2], { dtype: 'float32' }))).toThrow(
      /allclose: float32 did not match int64/,
    );
  });

  it('equal compares shapes and values across dtypes', () => {
    expect(torch.equal(torch.tensor([1, 2]), torch.tensor([1, 2], { dtype: 'float32' }))).toBe(true);
    expect(torch.equal(torch.tensor([1]), torch.tensor([1, 1]))).toBe(false);
    expect(torch.equal(torch.tensor([NaN]), torch.tensor([NaN]))).toBe(false);
  });
});

describe('errors name the op and the values', () => {
  const i = torch.tensor([7, -7]);
  it('integer division by zero is a ZeroDivisionError, not a crash', () => {
    expect(() => torch.remainder(i, 0)).toThrow(/remainder: ZeroDivisionError: integer division by zero \(input int64 \[2\], other 0\)/);
    expect(() => torch.fmod(i, torch.tensor([1, 0]))).toThrow(/fmod: ZeroDivisionError.*other int64 \[2\]/);
    expect(() => torch.floorDivide(i, 0)).toThrow(/floorDivide: ZeroDivisionError/);
    expect(() => i.div(0, { roundingMode: 'trunc' })).toThrow(/div: ZeroDivisionError.*rounding_mode='trunc'/);
    expect(() => i.remainder_(0)).toThrow(/ZeroDivisionError/);
    // Empty results divide nothing; float division by zero is inf or NaN.
    expect(torch.remainder(torch.zeros(0, { dtype: 'int64' }), 0).shape).toEqual([0]);
    expect(torch.remainder(torch.tensor([1.5]), 0).tolist()).toEqual([NaN]);
  });

  it('bool and float operands where PyTorch has no kernel', () => {
    const b = torch.tensor([true, false]);
    expect(() => torch.remainder(b, b)).toThrow(/remainder: "remainder" is not implemented for bool/);
    expect(() => torch.fmod(b, true)).toThrow(/fmod: "fmod" is not implemented for bool/);
    expect(() => torch.floorDivide(b, b)).toThrow(/floorDivide: "div_floor" is not implemented for bool/);
    expect(() => torch.bitwiseAnd(torch.tensor([1.5]), torch.tensor([1]))).toThrow(
      /bitwiseAnd: bitwise ops are not implemented for float32 \(input float32 tensor, other int64 tensor\)/,
    );
    expect(() => torch.bitwiseOr(torch.tensor([1]), 2.5)).toThrow(/bitwiseOr: .*float32.*other 2.5/);
    expect(() => torch.bitwiseNot(torch.tensor([1.5]))).toThrow(/bitwiseNot: bitwise ops are not implemented for float32/);
    expect(() => torch.trunc(b)).toThrow(/trunc: "trunc" is not implemented for bool/);
    expect(() => torch.floor(b)).toThrow(/floor: "floor" is not implemented for bool/);
    expect(() => torch.round(b)).toThrow(/round: "round" is not implemented for bool/);
    expect(() => torch.frac(torch.tensor([1, 2]))).toThrow(/frac: "frac" is not implemented for int64/);
    expect(() => torch.tensor([1, 2]).round({ decimals: 1 })).toThrow(/round: "round" with decimals=1 is not implemented for int64/);
  });

  it('argument checks', () => {
    expect(() => torch.remainder(3, 4)).toThrow(/remainder: at least one operand must be a Tensor/);
    expect(() => torch.bitwiseXor(3, 4)).toThrow(/bitwiseXor: at least one operand must be a Tensor/);
    expect(() => torch.logicalAnd(torch.tensor([1]), 1 as never)).toThrow(/logicalAnd/);
    expect(() => torch.isclose(torch.tensor([1]), 1 as never)).toThrow(/isclose/);
    expect(() => torch.isclose(torch.tensor([1]), torch.tensor([1.5]))).toThrow(/isclose: float32 did not match int64/);
    expect(() => torch.isclose(torch.tensor([1]), torch.tensor([1]), { atol: -1 })).toThrow(/atol must be greater than or equal to zero/);
    expect(() => torch.isclose(torch.tensor([1]), torch.tensor([1]), { equal_nan: true } as never)).toThrow(/equalNan/);
    expect(() => torch.nanToNum(torch.tensor([1]), { posInf: 1 } as never)).toThrow(/posinf/);
    expect(() => torch.round(torch.tensor([1.5]), { decimals: 1.5 })).toThrow(/decimals/);
    expect(() => torch.div(torch.tensor([1.5]), 2, { roundingMode: 'round' as never })).toThrow(
      /expected rounding_mode to be one of None, 'trunc', or 'floor' but found 'round'/,
    );
    expect(() => torch.remainder(torch.ones(2), torch.ones(3))).toThrow(/remainder: shapes \[2\] and \[3\] cannot be broadcast/);
  });
});
