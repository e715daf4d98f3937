// Seed 001 (Uzbek slides): a training loop with w.data updates and
// w.grad.data.zero_(), printing each step's gradient and loss.
import * as torch from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';
import { pyFloat, runIfMain, type Print } from './run.js';

export function main(print: Print): void {
  const xSoat = [1.0, 2.0, 3.0];
  const yBaho = [2.0, 4.0, 6.0];
  const w = torch.tensor([1.0], { requiresGrad: true }); // initial guess

  const forward = (x: number): Tensor => w.mul(x);
  const loss = (yPred: Tensor, yVal: number): Tensor => yPred.sub(yVal).pow(2);

  print("Bashorat (training dan avval) 4 soat o'qilganda:", String(forward(4)));
  const learningRate = 0.01;
  for (let epoch = 0; epoch < 10; epoch++) {
    let l: Tensor | null = null;
    xSoat.forEach((x, i) => {
      const y = yBaho[i];
      const yPred = forward(x);
      l = loss(yPred, y);
      l.backward();
      print('\tgrad: ', pyFloat(x), pyFloat(y), w.grad!.item().toFixed(3));
      w.data = w.data.sub(learningRate * w.grad!.item());
      w.grad!.data.zero_();
    });
    print(`Epoch: ${epoch} | Loss: ${pyFloat(l!.item())}`);
  }
  print("Bashorat (training dan keyin) 4 soat o'qilganda:", String(forward(4)));
}

runIfMain(import.meta.url, main);
