// Seed 000 (Uzbek): autograd on a linear model: requires_grad, backward,
// gradient accumulation and zero_, no-grad parameter updates, a 5000-epoch
// training loop and a plot of the fit.
//
// The seed's x and y come from an earlier lesson the seeds do not include;
// this port uses the thermometer data of the same course (Deep Learning
// with PyTorch, ch. 5), which its code (x * 0.1, lr 1e-2) was written for.
import * as torch from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';
import { savePlot } from '../../lib/utils/plot.js';
import { runIfMain, type Print } from './run.js';

export const X = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4];
export const Y = [0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0];

// In [4]-[5]
const model = (x: Tensor, w: Tensor, b: Tensor): Tensor => w.mul(x).add(b);
const lossFn = (yy: Tensor, y: Tensor): Tensor => yy.sub(y).pow(2).mean();

// In [10]
function trainingLoop(nEpochs: number, learningRate: number, params: Tensor, x: Tensor, y: Tensor, print: Print): Tensor {
  for (let epoch = 1; epoch <= nEpochs; epoch++) {
    if (params.grad !== null) params.grad.zero_();
    const yy = model(x, params.index(0), params.index(1));
    const loss = lossFn(yy, y);
    loss.backward();
    torch.noGrad(() => params.sub_(params.grad!.mul(learningRate)));
    if (epoch % 500 === 0) print(`Epoch ${epoch}, Loss ${loss.item().toFixed(6)}`);
  }
  return params;
}

export function main(print: Print, plotPath: string | null = 'dl_ch1t3_plot01.png'): Tensor {
  let x = torch.tensor(X, { dtype: 'float32' });
  const y = torch.tensor(Y, { dtype: 'float32' });
  // In [6]
  let params = torch.tensor([1.0, 0.0], { requiresGrad: true });
  // In [7]
  print(params.grad === null);
  // In [8]
  const loss = lossFn(model(x, params.index(0), params.index(1)), y);
  loss.backward();
  print(params.grad);
  // In [9]
  if (params.grad !== null) params.grad.zero_();
  // In [11]
  params = trainingLoop(5000, 1e-2, torch.tensor([1.0, 0.0], { requiresGrad: true }), x.mul(0.1), y, print);
  // In [12]
  x = x.mul(0.1);
  const yy = model(x, params.index(0), params.index(1));
  print(yy);
  // In [13]: the plot of the fit, as the seed's matplotlib figure.
  if (plotPath) {
    const xs = x.toTypedArray() as Float32Array;
    const order = [...xs.keys()].sort((a, b) => xs[a] - xs[b]);
    const fit = yy.detach().toTypedArray() as Float32Array;
    savePlot(plotPath, [
      { x: order.map((i) => xs[i]), y: order.map((i) => fit[i]), style: 'line' },
      { x: xs, y: y.toTypedArray() as Float32Array, style: 'points' },
      { x: xs, y: fit, style: 'points' },
    ]);
    print(`saved ${plotPath}`);
  }
  return params;
}

runIfMain(import.meta.url, (p) => main(p));
