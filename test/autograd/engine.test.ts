import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';

const vals = (t: Tensor | null) => (t ? Array.from(t.toTypedArray() as Float32Array) : null);

describe('backward', () => {
  it('accumulates into .grad of leaves until zeroed', () => {
    const x = torch.tensor([1, 2, 3], { requiresGrad: true });
    x.mul(x).sum().backward();
    x.mul(x).sum().backward();
    expect(vals(x.grad)).toEqual([4, 8, 12]);
    x.grad!.zero_();
    expect(vals(x.grad)).toEqual([0, 0, 0]);
  });

  it('reduces broadcast gradients to the input shape', () => {
    const a = torch.ones([3, 1], { requiresGrad: true });
    const b = torch.ones([4], { requiresGrad: true });
    a.add(b).sum().backward();
    expect(a.grad!.shape).toEqual([3, 1]);
    expect(vals(a.grad)).toEqual([4, 4, 4]);
    expect(vals(b.grad)).toEqual([3, 3, 3, 3]);
  });

  it('throws for a non-scalar output without a gradient and names the shape', () => {
    const x = torch.ones([2, 2], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(/only for scalar outputs.*\[2, 2\]/);
  });

  it('takes an explicit gradient for a non-scalar output', () => {
    const x = torch.tensor([1, 2], { requiresGrad: true });
    x.mul(x).backward(torch.tensor([1, 10], { dtype: 'float32' }));
    expect(vals(x.grad)).toEqual([2, 40]);
  });

  it('retainGraph allows a second backward; without it the second one throws', () => {
    const x = torch.tensor([1, 2], { requiresGrad: true });
    const y = x.mul(x).sum();
    y.backward(null, { retainGraph: true });
    y.backward();
    expect(vals(x.grad)).toEqual([4, 8]);
    expect(() => y.backward()).toThrow(/backward through the graph a second time/);
  });

  it('throws when a tensor without grad_fn is backwarded', () => {
    expect(() => torch.ones([1]).sum().backward()).toThrow(/does not require grad/);
  });

  it('catches an in-place change to a saved tensor (version counter)', () => {
    const x = torch.tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(2);
    const z = y.mul(y).sum(); // saves y
    y.add_(1);
    expect(() => z.backward()).toThrow(/modified by an inplace operation/);
  });

  it('refuses in-place ops on a leaf that requires grad, but allows them under noGrad', () => {
    const w = torch.tensor([1, 2], { requiresGrad: true });
    expect(() => w.add_(1)).toThrow(/leaf Variable that requires grad/);
    torch.noGrad(() => w.sub_(torch.tensor([0.5, 0.5])));
    expect(vals(w)).toEqual([0.5, 1.5]);
  });

  it('runs a deep graph iteratively (no stack overflow)', () => {
    const x = torch.tensor([1], { requiresGrad: true });
    let y = x;
    for (let i = 0; i < 20000; i++) y = y.add(1);
    y.sum().backward();
    expect(vals(x.grad)).toEqual([1]);
  });

  it('orders backward so shared subgraphs run once with summed gradients', () => {
    const x = torch.tensor([3], { requiresGrad: true });
    const a = x.mul(2);
    const b = a.mul(a); // 4x^2
    const c = a.add(b); // 2x + 4x^2
    c.sum().backward();
    expect(vals(x.grad)).toEqual([2 + 8 * 3]);
  });
});

describe('grad mode and detach', () => {
  it('noGrad passes the return value through and records nothing', () => {
    const x = torch.ones([2], { requiresGrad: true });
    const y = torch.noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBe(null);
    expect(torch.isGradEnabled()).toBe(true);
    const z = torch.noGrad(() => torch.enableGrad(() => x.mul(2)));
    expect(z.gradFn?.name).toBe('MulBackward0');
  });

  it('setGradEnabled toggles recording', () => {
    const x = torch.ones([2], { requiresGrad: true });
    torch.setGradEnabled(false);
    try {
      expect(x.mul(2).requiresGrad).toBe(false);
    } finally {
      torch.setGradEnabled(true);
    }
    expect(x.mul(2).requiresGrad).toBe(true);
  });

  it('detach shares memory but not history', () => {
    const x = torch.tensor([1, 2], { requiresGrad: true });
    const d = x.mul(1).detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.isLeaf).toBe(true);
  });

  it('requiresGrad cannot be switched off on a non-leaf and only floats can require grad', () => {
    const x = torch.tensor([1, 2], { requiresGrad: true });
    expect(() => (x.mul(2).requiresGrad = false)).toThrow(/leaf/);
    expect(() => torch.tensor([1, 2]).requiresGrad_()).toThrow(TypeError);
  });

  it('data assignment swaps values without touching the graph', () => {
    const w = torch.tensor([1], { requiresGrad: true });
    w.data = torch.tensor([5], { dtype: 'float32' });
    expect(w.item()).toBe(5);
    expect(w.requiresGrad).toBe(true);
  });
});

describe('retainGrad and hooks', () => {
  it('retainGrad keeps a non-leaf gradient', () => {
    const x = torch.tensor([1, 2], { requiresGrad: true });
    const y = x.mul(3);
    y.retainGrad();
    y.mul(y).sum().backward();
    expect(vals(y.grad)).toEqual([6, 12]);
    expect(vals(x.grad)).toEqual([18, 36]);
  });

  it('registerHook sees and can replace a gradient', () => {
    const x = torch.tensor([1, 2], { requiresGrad: true });
    const seen: number[][] = [];
    const y = x.mul(2);
    y.registerHook((g) => {
      seen.push(vals(g)!);
      return g.mul(10);
    });
    x.registerHook((g) => void seen.push(vals(g)!));
    y.sum().backward();
    expect(seen).toEqual([
      [1, 1],
      [20, 20],
    ]);
    expect(vals(x.grad)).toEqual([20, 20]);
  });
});

describe('autograd.grad and higher order', () => {
  it('returns gradients without touching .grad', () => {
    const x = torch.tensor([1, 2, 3], { requiresGrad: true });
    const [g] = torch.autograd.grad(x.pow(3).sum(), [x]);
    expect(vals(g)).toEqual([3, 12, 27]);
    expect(x.grad).toBe(null);
  });

  it('createGraph gives second derivatives', () => {
    const x = torch.tensor([1, 2, 3], { requiresGrad: true });
    const [g] = torch.autograd.grad(x.pow(3).sum(), [x], { createGraph: true });
    expect(g!.requiresGrad).toBe(true);
    const [h] = torch.autograd.grad(g!.sum(), [x]);
    expect(vals(h)).toEqual([6, 12, 18]);
  });

  it('backward with createGraph then differentiating x.grad', () => {
    const x = torch.tensor([2], { requiresGrad: true });
    x.pow(4).sum().backward(null, { createGraph: true }); // 4x^3
    const g = x.grad!;
    const [h] = torch.autograd.grad(g.sum(), [x]); // 12x^2
    expect(vals(h)).toEqual([48]);
  });

  it('allowUnused controls unused inputs', () => {
    const x = torch.ones([1], { requiresGrad: true });
    const y = torch.ones([1], { requiresGrad: true });
    expect(() => torch.autograd.grad(x.mul(2).sum(), [x, y], { retainGraph: true })).toThrow(/not used/);
    const r = torch.autograd.grad(x.mul(2).sum(), [x, y], { allowUnused: true });
    expect(r[1]).toBe(null);
  });
});

describe('autograd.Function', () => {
  class Cube extends torch.autograd.Function {
    static forward(ctx: torch.Ctx, x: Tensor): Tensor {
      ctx.saveForBackward(x);
      return x.pow(3);
    }
    static backward(ctx: torch.Ctx, g: Tensor): Tensor {
      const [x] = ctx.savedTensors;
      return g.mul(x.pow(2)).mul(3);
    }
  }

  it('runs a custom forward/backward and names its node', () => {
    const x = torch.tensor([1, 2], { requiresGrad: true });
    const y = Cube.apply(x);
    expect(y.gradFn!.name).toBe('CubeBackward');
    y.sum().backward();
    expect(vals(x.grad)).toEqual([3, 12]);
  });

  it('passes gradcheck', () => {
    const x = torch.tensor([0.5, -1.5, 2], { dtype: 'float64', requiresGrad: true });
    expect(torch.autograd.gradcheck((t) => Cube.apply(t), [x])).toBe(true);
  });

  it('gradcheck catches a wrong backward', () => {
    class Wrong extends torch.autograd.Function {
      static forward(_ctx: torch.Ctx, x: Tensor): Tensor {
        return x.mul(x);
      }
      static backward(_ctx: torch.Ctx, g: Tensor): Tensor {
        return g;
      }
    }
    const x = torch.tensor([0.5, 2], { dtype: 'float64', requiresGrad: true });
    expect(() => torch.autograd.gradcheck((t) => Wrong.apply(t), [x])).toThrow(/Jacobian mismatch/);
  });
});
