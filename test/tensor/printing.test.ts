import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';

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
  it('console.log uses the same text', async () => {
    const { inspect } = await import('node:util');
    expect(inspect(torch.tensor([1, 2]))).toBe('tensor([1, 2])');
  });
});
