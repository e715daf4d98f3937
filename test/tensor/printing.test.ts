import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import { decodeValue, type JsonValue } from '../helpers/fixtures.js';

interface PrintCase {
  name: string;
  dtype: torch.DType;
  shape: number[];
  data: JsonValue[] | null;
  gen: { div: number; sub: number; mul: number } | null;
  grad: 'leaf' | 'mul1' | 'sum' | null;
  options: Record<string, unknown>;
  str: string;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/printing.json', import.meta.url), 'utf8')) as { cases: PrintCase[] };

// The tensor a case describes, built as the fixture script built it.
function build(c: PrintCase): torch.Tensor {
  const n = c.shape.reduce((a, b) => a * b, 1);
  let t: torch.Tensor;
  if (c.gen) {
    t = torch.arange(n, { dtype: c.dtype });
    if (c.gen.div !== 1) t = t.div(c.gen.div);
    if (c.gen.sub !== 0) t = t.sub(c.gen.sub);
    if (c.gen.mul !== 1) t = t.mul(c.gen.mul);
    t = t.reshape(c.shape);
  } else if (n === 0) {
    t = torch.zeros(c.shape, { dtype: c.dtype });
  } else {
    const flat = c.data!.map(decodeValue);
    t =
      c.shape.length === 0
        ? torch.tensor(flat[0] as never, { dtype: c.dtype })
        : torch.tensor(flat as never, { dtype: c.dtype }).reshape(c.shape);
  }
  if (c.grad === null) return t;
  const leaf = t.clone().requiresGrad_(true);
  return c.grad === 'leaf' ? leaf : c.grad === 'mul1' ? leaf.mul(1) : leaf.sum();
}

describe('printing as PyTorch 1.13 (fixture)', () => {
  afterEach(() => torch.setPrintoptions({ profile: 'default' }));
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const opts = Object.fromEntries(Object.entries(c.options).map(([k, v]) => [k, v === 'Infinity' ? Infinity : v]));
    const t = build(c);
    torch.setPrintoptions(opts);
    expect(String(t)).toBe(c.str);
    expect(t.toString()).toBe(c.str);
    expect(inspect(t)).toBe(c.str);
    expect(`${t}`).toBe(c.str);
  });
});

// Strings checked against what PyTorch 1.13 prints for the same tensors.
describe('printing as PyTorch', () => {
  it('scalars and vectors', () => {
    expect(String(torch.tensor(63, { dtype: 'float32' }))).toBe('tensor(63.)');
    expect(String(torch.tensor([0.5, 1.25]))).toBe('tensor([0.5000, 1.2500])');
    expect(String(torch.tensor([1, 2, 3]))).toBe('tensor([1, 2, 3])');
    expect(String(torch.tensor([true, false]))).toBe('tensor([ True, False])');
    expect(String(torch.tensor([1, 2], { dtype: 'int32' }))).toBe('tensor([1, 2], dtype=torch.int32)');
    expect(String(torch.tensor([1.5], { dtype: 'float64' }))).toBe('tensor([1.5000], dtype=torch.float64)');
    expect(String(torch.tensor([1e-5, 1]))).toBe('tensor([1.0000e-05, 1.0000e+00])');
    expect(String(torch.zeros(0))).toBe('tensor([])');
  });
  it('grad_fn and requires_grad suffixes', () => {
    const x = torch.tensor(2.0, { requiresGrad: true });
    expect(String(x)).toBe('tensor(2., requires_grad=True)');
    expect(String(x.add(61))).toBe('tensor(63., grad_fn=<AddBackward0>)');
    expect(String(x.mul(x).mean())).toBe('tensor(4., grad_fn=<MeanBackward0>)');
  });
  it('matrices align columns', () => {
    expect(
      String(
        torch.tensor(
          [
            [1, 20],
            [300, 4],
          ],
          { dtype: 'float32' },
        ),
      ),
    ).toBe('tensor([[  1.,  20.],\n        [300.,   4.]])');
  });
  it('large tensors are summarised', () => {
    const s = String(torch.zeros(2000));
    expect(s).toBe('tensor([0., 0., 0.,  ..., 0., 0., 0.])');
  });
  it("console.log uses the same text, a Parameter's too", () => {
    expect(inspect(torch.tensor([1, 2]))).toBe('tensor([1, 2])');
    expect(inspect({ x: torch.tensor([1, 2]) })).toBe('{ x: tensor([1, 2]) }');
    const p = new torch.nn.Parameter(torch.ones(2));
    expect(inspect(p)).toBe('Parameter containing:\ntensor([1., 1.], requires_grad=True)');
    expect(String(p)).toBe('Parameter containing:\ntensor([1., 1.], requires_grad=True)');
  });
  it('setPrintoptions checks its options', () => {
    expect(() => torch.setPrintoptions({ precison: 2 } as never)).toThrow(
      /setPrintoptions: unknown option 'precison' \(did you mean 'precision'\?\)/,
    );
    expect(() => torch.setPrintoptions({ precision: -1 })).toThrow(/setPrintoptions: precision must be an integer >= 0, got -1/);
    expect(() => torch.setPrintoptions({ threshold: 1.5 })).toThrow(/threshold must be an integer >= 0 or Infinity, got 1.5/);
    expect(() => torch.setPrintoptions({ profile: 'long' as never })).toThrow(
      /profile must be one of 'default', 'short', 'full', got "long"/,
    );
    expect(() => torch.setPrintoptions({ sciMode: 1 as never })).toThrow(/sciMode must be a boolean or null, got 1/);
    expect(() => torch.setPrintoptions(3 as never)).toThrow(/setPrintoptions: expected an options object/);
    expect(() => torch.setPrintoptions({ precision: 101 })).toThrow(/setPrintoptions: precision must be at most 100, got 101/);
    // As PyTorch's: sciMode goes back to automatic when not given.
    torch.setPrintoptions({ sciMode: true });
    torch.setPrintoptions({ precision: 4 });
    expect(String(torch.tensor([1.5]))).toBe('tensor([1.5000])');
  });
});
