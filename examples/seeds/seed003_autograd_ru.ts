// Seed 003 (Russian): backprop in one step and in several, turning
// gradient tracking off. Each block is one notebook cell.
import * as torch from '../../lib/index.js';
import { runIfMain, type Print } from './run.js';

export function main(print: Print): void {
  // In [15]-[16]
  let x = torch.tensor(2.0, { requiresGrad: true });
  print(x);
  // In [17]: y = 2*x**4 + x**3 + 3*x**2 + 5*x + 1
  let y = x.pow(4).mul(2).add(x.pow(3)).add(x.pow(2).mul(3)).add(x.mul(5)).add(1);
  print(y);
  // In [18]-[19]
  y.backward();
  print(x.grad);

  // In [20]
  x = torch.tensor(
    [
      [1.0, 2.0, 3.0],
      [3.0, 2.0, 1.0],
    ],
    { requiresGrad: true },
  );
  print(x);
  // In [21]: y = 3*x + 2
  y = x.mul(3).add(2);
  print(y);
  // In [22]: z = 2*y**2
  const z = y.pow(2).mul(2);
  print(z);
  // In [23]
  const out = z.mean();
  print(out);
  // In [24]
  out.backward();
  print(x.grad);

  // In [25]: tracking off
  x.requiresGrad = false;
  y = x.mul(3).add(2);
  print(y);
}

runIfMain(import.meta.url, main);
