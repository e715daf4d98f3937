// What named tuples print (torch.return_types.max(...), and the plain tuples
// of varMean / stdMean) against PyTorch 1.13's text
// (test/fixtures/printing.json's return_types, scripts/make_print_fixtures.py),
// and that printing leaves them plain arrays.
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import { decodeValue, type JsonValue } from '../helpers/fixtures.js';

interface ReturnTypeCase {
  name: string;
  dtype: torch.DType;
  shape: number[];
  data: JsonValue[];
  grad: boolean;
  op: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  str: string;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/printing.json', import.meta.url), 'utf8')) as {
  return_types: ReturnTypeCase[];
};

function build(c: ReturnTypeCase): torch.Tensor {
  if (c.shape.includes(0)) return torch.zeros(c.shape, { dtype: c.dtype });
  const flat = c.data.map(decodeValue);
  const t =
    c.shape.length === 0
      ? torch.tensor(flat[0] as never, { dtype: c.dtype })
      : torch.tensor(flat as never, { dtype: c.dtype }).reshape(c.shape);
  return c.grad ? t.requiresGrad_(true) : t;
}

function call(c: ReturnTypeCase): unknown {
  const x = build(c) as unknown as Record<string, (...a: unknown[]) => unknown>;
  const kw = Object.keys(c.kwargs).length > 0 ? [c.kwargs] : [];
  return x[c.op](...c.args, ...kw);
}

describe('named tuples print as PyTorch 1.13 (fixture)', () => {
  it('has cases', () => expect(fixture.return_types.length).toBeGreaterThan(10));
  it.each(fixture.return_types.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const r = call(c);
    expect(String(r)).toBe(c.str);
    expect((r as object).toString()).toBe(c.str);
    expect(`${r as string}`).toBe(c.str);
    expect(inspect(r)).toBe(c.str);
  });
});

describe('named tuples stay arrays', () => {
  const m = torch.tensor([
    [1, 5],
    [3, 2],
  ]);

  it('destructure, read by name and by index, and map to plain arrays', () => {
    const r = m.max(1);
    const [values, indices] = r;
    expect(Array.isArray(r)).toBe(true);
    expect(r.length).toBe(2);
    expect(values).toBe(r.values);
    expect(indices).toBe(r[1]);
    expect(r.values.tolist()).toEqual([5, 3]);
    expect(r.indices.tolist()).toEqual([1, 0]);
    const mapped = r.map((t) => t.sum().item());
    expect(mapped).toEqual([8, 1]);
    expect(String(mapped)).toBe('8,1');
    expect([...r]).toEqual([values, indices]);
  });

  it('keep the names enumerable and the printing out of keys and JSON', () => {
    const r = torch.aminmax(torch.tensor([4, -2, 7]));
    expect(Object.keys(r)).toEqual(['0', '1', 'min', 'max']);
    expect(JSON.parse(JSON.stringify(r.map((t) => t.item())))).toEqual([-2, 7]);
  });

  it('print inside other values as Node indents nested text', () => {
    const r = m.sort();
    expect(inspect({ r })).toBe(`{\n  r: ${String(r).replace(/\n/g, '\n  ')}\n}`);
    expect(inspect([torch.tensor([1, 2]).max(0)])).toBe('[\n  torch.return_types.max(\n  values=tensor(2),\n  indices=tensor(1))\n]');
  });
});
