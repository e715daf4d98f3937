// Activation ops that live under F (torch.nn.functional), declared as the
// Tensor-level ops are (lib/ops/op.ts).
import { define, op, tensorParam as T } from './op.js';
import * as K from './kernels.js';

/**
 * d gelu / dx, exact form (Phi(x) + x phi(x)), as its own op so that a
 * gradient through gelu is differentiable again: one kernel forward, and
 * its own derivative phi(x) (2 - x^2) written with ops.
 */
const geluGrad = op('geluGrad', [T.tensor('input')], "d gelu(x) / dx (approximate 'none')");
define(geluGrad, {
  node: 'GeluBackwardBackward0',
  forward: ({ input }) => ({ out: K.unary('GeluGrad', input, K.floatDType(input.dtype)), save: input }),
  grads: {
    input: (g, x) =>
      g.mul(
        x
          .mul(x)
          .mul(-0.5)
          .exp()
          .mul(1 / Math.sqrt(2 * Math.PI))
          .mul(x.mul(x).rsub(2)),
      ),
  },
});

/** gelu with approximate 'none' (erf form); F.gelu adds the tanh form. */
export const gelu = op('gelu', [T.tensor('input')], 'input * Phi(input), Phi the normal CDF');
define(gelu, {
  node: 'GeluBackward0',
  forward: ({ input }) => ({ out: K.unary('Gelu', input, K.floatDType(input.dtype)), save: input }),
  grads: { input: (g, x) => g.mul(geluGrad(x)) },
  // One kernel for a first-order backward (Note [Fused backward]).
  fused: (g, x) => ({ input: g.mul(K.unary('GeluGrad', x, K.floatDType(x.dtype))) }),
});
