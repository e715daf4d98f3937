// Seed 004 (Turkish): y = 2 x^T x, non-scalar backward, detach, and
// gradients through control flow.
import * as torch from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';
import { runIfMain, type Print } from './run.js';

// def f(a): doubling until the norm reaches 1000, then a sign-dependent scale.
export function f(a: Tensor): Tensor {
  let b = a.mul(2);
  while (b.norm().item() < 1000) b = b.mul(2);
  return b.sum().item() > 0 ? b : b.mul(100);
}

export function main(print: Print, a0?: Tensor): void {
  // JS has one number type: arange(4.0) is spelled with a float dtype.
  const x = torch.arange(4, { dtype: 'float32' });
  print(x);
  x.requiresGrad_(true);
  print(x);
  print(x.grad);
  let y = torch.dot(x, x).mul(2);
  print(y);
  y.backward();
  print(x);
  print(x.grad);
  print(x.grad!.eq(x.mul(4)));
  x.grad!.zero_();
  print(x.grad);

  // Non-scalar y: sum first (the same as y.backward(torch.ones(4))).
  print(x);
  x.grad!.zero_();
  y = x.mul(x);
  print(y);
  y.sum().backward();
  print(x.grad);

  // detach
  x.grad!.zero_();
  y = x.mul(x);
  const u = y.detach();
  print(u);
  const z = u.mul(x);
  print(z);
  z.sum().backward();
  print(x.grad);
  print(x.grad!.eq(u));
  x.grad!.zero_();
  y.sum().backward();
  print(x.grad!.eq(x.mul(2)));

  // Control flow
  const a = a0 ?? torch.randn([], { requiresGrad: true });
  print(a);
  const d = f(a);
  d.backward();
  print(d);
  print(a.grad!.eq(d.div(a)));
}

runIfMain(import.meta.url, (p) => main(p));
