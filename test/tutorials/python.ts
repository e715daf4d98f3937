// What a ported tutorial needs to print as its Python original does:
// print() captured per step, Python's str() and format() of the values the
// tutorials print, NumPy's array printing, and the fixed values that stand
// in for random ones (scripts/make_tutorial_fixtures.py computes the same).
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import * as torch from '../../lib/index.js';

export interface TutorialFixture {
  torch: string;
  steps: Record<string, Record<string, string>>;
}

export function loadFixture(): TutorialFixture {
  return JSON.parse(readFileSync(new URL('../fixtures/tutorial_basics.json', import.meta.url), 'utf8')) as TutorialFixture;
}

// ---- print ----------------------------------------------------------------------------------

let captured: string[] | null = null;

/** Python's print(*args): str() of each, joined by spaces, then a newline; collected by capture(). */
export function print(...args: unknown[]): void {
  if (captured === null) throw new Error('print() outside capture()');
  captured.push(args.map(str).join(' ') + '\n');
}

/** Runs one tutorial step and returns what it printed (redirect_stdout on the Python side). */
export function capture(fn: () => void): string {
  const outer = captured;
  captured = [];
  try {
    fn();
    return captured.join('');
  } finally {
    captured = outer;
  }
}

/** A number that Python holds as a float (item() of a float tensor): prints as repr(float), 12.0 not 12. */
export class PyFloat {
  constructor(readonly value: number) {}
  toString(): string {
    return reprFloat(this.value);
  }
}
export const float = (v: number): PyFloat => new PyFloat(v);

/** Python's str() of what the tutorials print. A plain number is a Python int; wrap floats in float(). */
export function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new TypeError(`str: ${v} is not an int; wrap a float in float()`);
    return String(v);
  }
  return String(v);
}

/** repr(float): the shortest round-trip digits (as JavaScript's), in Python's layout. */
export function reprFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expStr] = x.toExponential().split('e');
  const exp = Number(expStr);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let body: string;
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    body = `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  } else if (exp < 0) {
    body = `0.${'0'.repeat(-exp - 1)}${digits}`;
  } else if (digits.length <= exp + 1) {
    body = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  } else {
    body = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  }
  return (neg ? '-' : '') + body;
}

/** x rounded to `decimals` places as Python's format(x, '.Nf'): from the exact binary value, ties to even. */
export function fixedPoint(x: number, decimals: number): string {
  if (!Number.isFinite(x)) return reprFloat(x);
  // toFixed(100) spells the double exactly for the magnitudes printed here;
  // the rounding is then done on that decimal string, ties to even as CPython.
  const neg = x < 0 || Object.is(x, -0);
  const exact = Math.abs(x).toFixed(100);
  const [intPart, frac] = exact.split('.');
  const keep = frac.slice(0, decimals);
  const rest = frac.slice(decimals);
  let digits = intPart + keep;
  const half = rest[0] > '5' || (rest[0] === '5' && /[1-9]/.test(rest.slice(1)));
  const tie = rest[0] === '5' && !/[1-9]/.test(rest.slice(1));
  const last = Number(digits[digits.length - 1]);
  if (half || (tie && last % 2 === 1)) {
    const n = (BigInt(digits) + 1n).toString().padStart(digits.length, '0');
    digits = n;
  }
  const ip = digits.slice(0, digits.length - decimals) || '0';
  const fp = digits.slice(digits.length - decimals);
  return (neg ? '-' : '') + ip + (decimals > 0 ? '.' + fp : '');
}

/**
 * format(v, spec) for the f-string fields the tutorials use: [[fill]align][width][.precision][f|d].
 * A 0-d tensor formats its item(), as Tensor.__format__ does; other tensors format as str().
 */
export function fmt(v: unknown, spec = ''): string {
  if (v instanceof torch.Tensor) {
    if (v.dim() !== 0) {
      if (spec !== '') throw new TypeError('unsupported format string passed to Tensor.__format__');
      return String(v);
    }
    const item = v.item();
    const isFloat = String(v.dtype).startsWith('float') || String(v.dtype) === 'bfloat16';
    return fmt(v.dtype === 'bool' ? item !== 0 : isFloat ? float(item) : item, spec);
  }
  const m = /^(?:(.)?([<>^]))?(\d+)?(?:\.(\d+))?([fd]?)$/.exec(spec);
  if (!m) throw new Error(`fmt: unsupported format spec '${spec}'`);
  const [, fill = ' ', align, width, precision, type] = m;
  let s: string;
  if (type === 'f') s = fixedPoint(v instanceof PyFloat ? v.value : (v as number), precision === undefined ? 6 : Number(precision));
  else if (type === 'd') {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`fmt: 'd' needs an int, got ${String(v)}`);
    s = String(v);
  } else s = str(v);
  const w = width === undefined ? 0 : Number(width);
  if (s.length >= w) return s;
  // Python's default alignment: numbers right, everything else left.
  const numeric = typeof v === 'number' || v instanceof PyFloat;
  const a = align ?? (numeric ? '>' : '<');
  const pad = w - s.length;
  if (a === '>') return fill.repeat(pad) + s;
  if (a === '<') return s + fill.repeat(pad);
  return fill.repeat(Math.floor(pad / 2)) + s + fill.repeat(pad - Math.floor(pad / 2));
}

/** NumPy's str() of a 1-d float array of whole numbers, as the tutorial's bridge prints: [1. 1. 1.]. */
export function ndarray(a: ArrayLike<number>): string {
  const parts = Array.from(a, (v) => {
    if (!Number.isInteger(v)) throw new Error(`ndarray: only whole-number arrays are printed here, got ${v}`);
    return `${v}.`;
  });
  return `[${parts.join(' ')}]`;
}

// ---- comparing with PyTorch's text ----------------------------------------------------------

/** Object addresses differ from run to run: `<AddBackward0 object at 0x7f..>` compares as `<AddBackward0>`. */
export function withoutAddresses(text: string): string {
  return text.replace(/<(\w+) object at 0x[0-9a-f]+>/g, '<$1>');
}

// Numbers only, not the digits of names such as AddBackward0.
const NUMBER = /(?<![\w.])-?\d+(?:\.\d+)?(?:e[+-]\d+)?/g;

/**
 * Asserts the printed text equals PyTorch's. With `tol`, every printed number may differ by that much
 * (float32 sums in a different order) while all other text must be identical.
 */
export function expectSamePrint(actual: string, expected: string, opts: { tol?: number } = {}): void {
  const a = withoutAddresses(actual);
  const e = withoutAddresses(expected);
  if (opts.tol === undefined || a === e) {
    expect(a).toBe(e);
    return;
  }
  expect(a.replace(NUMBER, '#')).toBe(e.replace(NUMBER, '#'));
  const an = a.match(NUMBER) ?? [];
  const en = e.match(NUMBER) ?? [];
  expect(an.length).toBe(en.length);
  const off = an.flatMap((s, i) => (Math.abs(Number(s) - Number(en[i])) > opts.tol! ? [`${s} vs PyTorch's ${en[i]}`] : []));
  expect(off, `numbers further than ${opts.tol} from PyTorch's`).toEqual([]);
}

// ---- fixed values in place of random ones --------------------------------------------------

/**
 * `prod(shape)` values from a xorshift32 stream, (u * 2 - 1) * bound (or u * bound unsigned), rounded
 * once to float32: fixed() of make_tutorial_fixtures.py, bit for bit.
 */
export function fixed(shape: number[], seed: number, bound = 1, signed = true): torch.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  let x = (seed * 2654435761 + 1) % 4294967296 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const u = x / 4294967296;
    out[i] = signed ? (u * 2 - 1) * bound : u * bound;
  }
  return torch.fromTypedArray(out, shape);
}

/** Every entry of a model's state dict from fixed(), bounded by 1/sqrt(fan_in) as nn.Linear's init. */
export function fixedStateDict(model: torch.nn.Module, seed: number): Record<string, torch.Tensor> {
  const sd = model.stateDict();
  const out: Record<string, torch.Tensor> = {};
  Object.entries(sd).forEach(([name, p], i) => {
    const weight = p.dim() === 2 ? p : sd[name.replace(/bias$/, 'weight')];
    out[name] = fixed([...p.shape], seed + i, 1 / Math.sqrt(weight.shape[1]));
  });
  return out;
}
