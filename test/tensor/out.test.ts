// PyTorch's out= (Note [out=] in lib/ops/op.ts): honoured by declared ops
// with one Tensor result, refused by name everywhere else.
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as torch from '../../lib/index.js';

const a = () => torch.tensor([1, 2], { dtype: 'float32' });
const b = () => torch.tensor([10, 20], { dtype: 'float32' });
const m = () =>
  torch.tensor(
    [
      [1, 2],
      [3, 4],
    ],
    { dtype: 'float32' },
  );

describe('out=', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes the result into out and returns out: add, matmul, sum, cat', () => {
    const o = torch.empty(2);
    expect(torch.add(a(), b(), { out: o })).toBe(o);
    expect(o.tolist()).toEqual([11, 22]);
    expect(torch.add(a(), b(), { alpha: 2, out: o }).tolist()).toEqual([21, 42]);
    const om = torch.zeros(2, 2);
    expect(torch.matmul(m(), m(), { out: om })).toBe(om);
    expect(om.tolist()).toEqual([
      [7, 10],
      [15, 22],
    ]);
    const os = torch.zeros(2);
    expect(torch.sum(m(), 1, { out: os })).toBe(os);
    expect(os.tolist()).toEqual([3, 7]);
    const oc = torch.zeros(4);
    expect(torch.cat([a(), b()], { out: oc })).toBe(oc);
    expect(oc.tolist()).toEqual([1, 2, 10, 20]);
    // The method form, and out aliasing an input.
    const x = a();
    expect(x.add(b(), { out: x })).toBe(x);
    expect(x.tolist()).toEqual([11, 22]);
  });

  it('writes through a view into its base', () => {
    const base = torch.zeros(2, 2);
    torch.add(a(), b(), { out: base.select(0, 1) });
    expect(base.tolist()).toEqual([
      [0, 0],
      [11, 22],
    ]);
  });

  it('casts where PyTorch can cast, refuses where it cannot', () => {
    const o64 = torch.empty(2, { dtype: 'float64' });
    torch.add(a(), b(), { out: o64 });
    expect(o64.dtype).toBe('float64');
    expect(o64.tolist()).toEqual([11, 22]);
    const of = torch.empty(2);
    torch.add(torch.tensor([1, 2]), 1, { out: of });
    expect(of.tolist()).toEqual([2, 3]);
    expect(() => torch.add(a(), b(), { out: torch.empty(2, { dtype: 'int64' }) })).toThrow(
      "add: result type float32 can't be cast to the desired output type int64",
    );
    expect(() => torch.cat([torch.tensor([1, 2])], { out: torch.empty(2, { dtype: 'bool' }) })).toThrow(
      "cat: result type int64 can't be cast to the desired output type bool",
    );
  });

  it('resizes an out of another shape, warning unless it was empty', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const empty = torch.empty(0);
    torch.matmul(m(), m(), { out: empty });
    expect(empty.shape).toEqual([2, 2]);
    expect(empty.tolist()).toEqual([
      [7, 10],
      [15, 22],
    ]);
    expect(warn).not.toHaveBeenCalled();
    const three = torch.zeros(3);
    torch.add(a(), b(), { out: three });
    expect(three.shape).toEqual([2]);
    expect(three.tolist()).toEqual([11, 22]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/add: An output with one or more elements was resized since it had shape \[3\].*\[2\]/);
  });

  it('refuses autograd as PyTorch, but runs under noGrad', () => {
    const w = torch.tensor([1, 2], { dtype: 'float32', requiresGrad: true });
    expect(() => torch.add(w, b(), { out: torch.empty(2) })).toThrow(
      "add(): functions with out=... arguments don't support automatic differentiation, but one of the arguments requires grad.",
    );
    expect(() => torch.cat([b(), w], { out: torch.empty(4) })).toThrow(/cat\(\): functions with out=/);
    expect(() => torch.add(a(), b(), { out: torch.empty(2).requiresGrad_() })).toThrow(/add\(\): functions with out=/);
    const o = torch.empty(2);
    torch.noGrad(() => torch.add(w, b(), { out: o }));
    expect(o.tolist()).toEqual([11, 22]);
    expect(o.requiresGrad).toBe(false);
  });

  it('refuses what it cannot honour, by name', () => {
    expect(() => torch.add(a(), b(), { out: [1, 2] as never })).toThrow("add: argument 'out' must be a Tensor, got an array");
    expect(() => torch.unbind(m(), 0, { out: torch.empty(2) })).toThrow(
      /unbind: out= is supported only for ops with one Tensor result, and unbind returns an array; assign the result instead/,
    );
    expect(() => torch.max(m(), 1, { out: torch.empty(2) } as never)).toThrow(/max: the 'out' argument is not supported here/);
    expect(() => a().add_(b(), { out: torch.empty(2) } as never)).toThrow(
      /add_: the 'out' argument is not supported here; assign the result instead/,
    );
    expect(() => new torch.nn.Linear(2, 3, { out: torch.empty(2) } as never)).toThrow(/Linear: the 'out' argument is not supported here/);
    // Not a typo: no did-you-mean.
    expect(() => a().add_(b(), { out: 1 } as never)).not.toThrow(/did you mean/);
  });
});
