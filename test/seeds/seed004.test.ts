import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import { f, main } from '../../examples/seeds/seed004_autograd_tr.js';
import { collect } from './collect.js';

describe('seed 004 (Turkish): automatic differentiation', () => {
  it('prints what each notebook cell prints', () => {
    const { print, lines } = collect();
    // The notebook's random a printed as 0.3407 and gave d = 1395.4294 = a * 2^12.
    const a = torch.tensor(1395.4294 / 4096, { requiresGrad: true });
    main(print, a);
    expect(lines).toEqual([
      'tensor([0., 1., 2., 3.])',
      'tensor([0., 1., 2., 3.], requires_grad=True)',
      'null',
      'tensor(28., grad_fn=<MulBackward0>)',
      'tensor([0., 1., 2., 3.], requires_grad=True)',
      'tensor([ 0.,  4.,  8., 12.])',
      'tensor([True, True, True, True])',
      'tensor([0., 0., 0., 0.])',
      'tensor([0., 1., 2., 3.], requires_grad=True)',
      'tensor([0., 1., 4., 9.], grad_fn=<MulBackward0>)',
      'tensor([0., 2., 4., 6.])',
      'tensor([0., 1., 4., 9.])',
      'tensor([ 0.,  1.,  8., 27.], grad_fn=<MulBackward0>)',
      'tensor([0., 1., 4., 9.])',
      'tensor([True, True, True, True])',
      'tensor([True, True, True, True])',
      'tensor(0.3407, requires_grad=True)',
      'tensor(1395.4294, grad_fn=<MulBackward0>)',
      'tensor(True)',
    ]);
  });

  it('differentiates through control flow for negative inputs too', () => {
    for (const v of [-0.7, 0.001, 3.5]) {
      const a = torch.tensor(v, { requiresGrad: true });
      const d = f(a);
      d.backward();
      // f(a) = k * a, so the gradient is k = d / a.
      expect(a.grad!.item() / (d.item() / a.item())).toBeCloseTo(1, 6);
    }
  });

  it('a random a gives grad == d / a', () => {
    torch.manualSeed(7);
    const a = torch.randn([], { requiresGrad: true });
    const d = f(a);
    d.backward();
    expect(a.grad!.eq(d.div(a)).item()).toBe(1);
  });
});
