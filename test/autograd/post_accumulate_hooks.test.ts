// Tensor.registerPostAccumulateGradHook (PyTorch 2.1) and the engine's
// end-of-backward callbacks (autograd.queueCallback, PyTorch's
// Variable._execution_engine.queue_callback): what DistributedDataParallel
// stands on.
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';

const vals = (t: Tensor | null) => (t ? Array.from(t.toTypedArray() as Float32Array) : null);

describe('registerPostAccumulateGradHook', () => {
  it('runs after .grad is accumulated and sees the sum of every path', () => {
    const x = torch.tensor([1, 2], { requiresGrad: true });
    const seen: (number[] | null)[] = [];
    x.registerPostAccumulateGradHook((t) => void seen.push(vals(t.grad)));
    // Two paths into x: the hook runs once, after both were summed.
    x.mul(x).add(x.mul(3)).sum().backward();
    expect(seen).toEqual([[5, 7]]);
    // A second backward accumulates onto .grad, and the hook sees the total.
    x.mul(2).sum().backward();
    expect(seen).toEqual([
      [5, 7],
      [7, 9],
    ]);
  });

  it('receives the tensor itself and may change .grad in place', () => {
    const w = torch.tensor([3], { requiresGrad: true });
    let got: Tensor | null = null;
    w.registerPostAccumulateGradHook((t) => {
      got = t;
      t.grad!.mul_(0.5);
    });
    w.mul(4).sum().backward();
    expect(got).toBe(w);
    expect(vals(w.grad)).toEqual([2]);
  });

  it('runs in the order the engine reaches the leaves: the last-used parameter first', () => {
    const a = torch.tensor([1], { requiresGrad: true });
    const b = torch.tensor([1], { requiresGrad: true });
    const order: string[] = [];
    a.registerPostAccumulateGradHook(() => void order.push('a'));
    b.registerPostAccumulateGradHook(() => void order.push('b'));
    a.mul(2).exp().mul(b).sum().backward();
    expect(order).toEqual(['b', 'a']);
  });

  it('remove() unregisters it, and a second remove() does nothing', () => {
    const x = torch.tensor([1], { requiresGrad: true });
    let calls = 0;
    const h = x.registerPostAccumulateGradHook(() => void calls++);
    const h2 = x.registerPostAccumulateGradHook(() => void (calls += 10));
    x.mul(2).sum().backward();
    expect(calls).toBe(11);
    h.remove();
    h.remove();
    x.mul(2).sum().backward();
    expect(calls).toBe(21);
    h2.remove();
    x.mul(2).sum().backward();
    expect(calls).toBe(21);
  });

  it('does not run for autograd.grad, which accumulates nothing', () => {
    const x = torch.tensor([1, 2], { requiresGrad: true });
    let calls = 0;
    x.registerPostAccumulateGradHook(() => void calls++);
    torch.autograd.grad(x.mul(x).sum(), [x]);
    expect(calls).toBe(0);
    expect(x.grad).toBe(null);
  });

  it('runs after the tensor hooks registered with registerHook changed the gradient', () => {
    const x = torch.tensor([1], { requiresGrad: true });
    x.registerHook((g) => g.mul(10));
    let seen: number[] | null = null;
    x.registerPostAccumulateGradHook((t) => void (seen = vals(t.grad)));
    x.mul(2).sum().backward();
    expect(seen).toEqual([20]);
  });

  it('refuses non-leaf tensors, tensors without grad and non-functions', () => {
    const x = torch.tensor([1], { requiresGrad: true });
    expect(() => x.mul(2).registerPostAccumulateGradHook(() => {})).toThrow(/non-leaf/);
    expect(() => torch.tensor([1]).registerPostAccumulateGradHook(() => {})).toThrow(/doesn't require gradient/);
    expect(() => x.registerPostAccumulateGradHook(3 as never)).toThrow(/expected a function/);
  });
});

describe('autograd.queueCallback', () => {
  it('runs the queued callbacks once, after every leaf is accumulated, before backward returns', () => {
    const a = torch.tensor([1], { requiresGrad: true });
    const b = torch.tensor([2], { requiresGrad: true });
    const events: string[] = [];
    let queued = false;
    b.registerPostAccumulateGradHook(() => {
      events.push('b');
      if (!queued) {
        queued = true;
        torch.autograd.queueCallback(() => {
          events.push(`end a=${vals(a.grad)![0]} b=${vals(b.grad)![0]}`);
          // A callback may queue another; it runs in the same pass.
          torch.autograd.queueCallback(() => void events.push('end2'));
        });
      }
    });
    a.registerPostAccumulateGradHook(() => void events.push('a'));
    a.mul(3).exp().log().mul(b).sum().backward();
    events.push('returned');
    expect(events).toEqual(['b', 'a', 'end a=6 b=3', 'end2', 'returned']);
    // Callbacks belong to one pass: the next backward runs none unless queued again.
    a.mul(b).sum().backward();
    expect(events.slice(5).sort()).toEqual(['a', 'b']);
  });

  it('runs callbacks with grad mode restored', () => {
    const x = torch.tensor([1], { requiresGrad: true });
    let mode: boolean | null = null;
    x.registerHook(() => torch.autograd.queueCallback(() => void (mode = torch.isGradEnabled())));
    x.mul(2).sum().backward();
    expect(mode).toBe(true);
  });

  it('throws outside a backward pass', () => {
    expect(() => torch.autograd.queueCallback(() => {})).toThrow(/only be installed during the backward pass/);
    expect(() => torch.autograd.queueCallback(null as never)).toThrow(/expected a function/);
  });

  it('does not run callbacks of a pass that failed, and the next pass starts clean', () => {
    const x = torch.tensor([1], { requiresGrad: true });
    let ran = 0;
    const h = x.registerHook(() => {
      torch.autograd.queueCallback(() => void ran++);
      throw new Error('hook failed');
    });
    expect(() => x.mul(2).sum().backward()).toThrow(/hook failed/);
    h.remove();
    expect(ran).toBe(0);
    expect(() => torch.autograd.queueCallback(() => {})).toThrow(/during the backward pass/);
  });
});
