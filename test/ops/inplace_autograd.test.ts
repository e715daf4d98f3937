// In-place ops on tensors autograd records: the gradient equals the one of
// the same computation out of place (PyTorch's behaviour: the op sees the
// old values, and the write does not invalidate what it saved).
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';

type Case = [string, (y: Tensor, w: Tensor) => Tensor, (y: Tensor, w: Tensor) => Tensor];
const cases: Case[] = [
  ['mul_ by a tensor', (y, w) => y.mul_(w), (y, w) => y.mul(w)],
  ['div_ by a tensor', (y, w) => y.div_(w), (y, w) => y.div(w)],
  ['pow_ by a tensor', (y, w) => y.pow_(w), (y, w) => y.pow(w)],
  ['add_ with alpha', (y, w) => y.add_(w, { alpha: 3 }), (y, w) => y.add(w, { alpha: 3 })],
  ['sub_ with alpha', (y, w) => y.sub_(w, { alpha: 0.5 }), (y, w) => y.sub(w, { alpha: 0.5 })],
  ['exp_ then sqrt_', (y) => y.exp_().sqrt_(), (y) => y.exp().sqrt()],
  ['clamp_', (y) => y.clamp_(2.5, 5), (y) => y.clamp(2.5, 5)],
  ['relu_ then neg_', (y) => y.relu_().neg_(), (y) => y.relu().neg()],
];

describe('in-place ops on non-leaves', () => {
  for (const [name, inPlace, outOfPlace] of cases) {
    it(`${name}: same values and gradients as out of place`, () => {
      const run = (f: (y: Tensor, w: Tensor) => Tensor) => {
        const x = torch.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
        const w = torch.tensor([0.5, 1.5, 2], { dtype: 'float64', requiresGrad: true });
        const out = f(x.mul(2), w);
        out.sum().backward();
        return [out.detach().tolist(), x.grad!.tolist(), w.grad?.tolist() ?? null];
      };
      const [v1, gx1, gw1] = run(inPlace);
      const [v2, gx2, gw2] = run(outOfPlace);
      expect(v1).toEqual(v2);
      expect(gx1).toEqual(gx2);
      expect(gw1).toEqual(gw2);
    });
  }
});
