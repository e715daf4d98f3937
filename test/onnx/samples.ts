// The models the ONNX tests export, each built the same way every time
// (seeded), so its export is the same bytes every time: the bytes that
// scripts/make_onnx_fixtures.py had onnx.checker approve
// (test/fixtures/onnx_checked.json). scripts/write_onnx_samples.ts writes
// them for that script.
import * as torch from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import type { Tensor } from '../../lib/tensor.js';
import { buildModel } from '../../examples/train_mnist.js';
import type { ExportOptions } from '../../lib/onnx/export.js';

/** One sample: a model, its example inputs at a batch size, and the export options. */
export interface Sample {
  name: string;
  model: nn.Module;
  /** Example inputs with batch size n (the same values each call for one n). */
  inputs(n: number): Tensor[];
  options: ExportOptions;
}

const batchAxes = (names: string[]): ExportOptions => ({
  inputNames: names,
  outputNames: ['output'],
  dynamicAxes: Object.fromEntries(names.map((n) => [n, { 0: 'batch' }])),
});

function images(n: number): Tensor[] {
  torch.manualSeed(100 + n);
  return [torch.rand([n, 784])];
}

/** Conv, BatchNorm (eval), pools, activations, Dropout, Flatten, transpose, cat, LayerNorm. */
class LayerZoo extends nn.Module {
  conv = new nn.Conv2d(3, 8, 3, { padding: 'same' });
  bn = new nn.BatchNorm2d(8);
  pool = new nn.AdaptiveAvgPool2d(2);
  drop = new nn.Dropout(0.3);
  flat = new nn.Flatten();
  lin = new nn.Linear(32, 16);
  ln = new nn.LayerNorm(24);
  gelu = new nn.GELU();
  act = new nn.LeakyReLU(0.2);
  head = new nn.Linear(24, 5);
  constructor() {
    super();
    // Running statistics other than 0 and 1, so that eval-mode BatchNorm is tested.
    torch.noGrad(() => {
      this.bn.running_mean!.copy_(torch.randn([8]).mul(0.1));
      this.bn.running_var!.copy_(torch.rand([8]).add(0.5));
    });
  }
  forward(x: Tensor): Tensor {
    let y = this.pool.forward(this.bn.forward(this.conv.forward(x)).relu());
    y = this.flat.forward(this.drop.forward(y)); // [N, 32]
    y = this.lin.forward(y).sigmoid(); // [N, 16]
    const z = torch.cat([y, y.tanh().mul(2).sub(0.5).narrow(1, 0, 8)], 1); // [N, 24]
    const t = this.ln.forward(this.act.forward(z)).unsqueeze(1).transpose(1, 2).squeeze(2); // [N, 24]
    return torch.nn.functional.logSoftmax(this.head.forward(this.gelu.forward(t)), 1);
  }
}

/** Embedding over token ids [N, 6], mean over the sequence, Linear. */
class Embedder extends nn.Module {
  emb = new nn.Embedding(20, 8);
  lin = new nn.Linear(8, 3);
  forward(ids: Tensor): Tensor {
    return torch.nn.functional.softmax(this.lin.forward(this.emb.forward(ids).mean(1)), -1);
  }
}

/** A sequence model: Conv1d over [N, 4, 10], then per-position LayerNorm and Linear. */
class Conv1dSeq extends nn.Module {
  conv = new nn.Conv1d(4, 6, 3, { padding: 1 });
  ln = new nn.LayerNorm(6);
  lin = new nn.Linear(6, 2);
  forward(x: Tensor): Tensor {
    const y = this.conv.forward(x).relu().permute(0, 2, 1); // [N, 10, 6]
    return this.lin.forward(this.ln.forward(y)); // Linear over 3-d input: MatMul and Add
  }
}

/** The samples, built from seed 0 each. */
export function samples(): Sample[] {
  torch.manualSeed(0);
  const cnn = buildModel('cnn');
  torch.manualSeed(0);
  const lenet = buildModel('lenet');
  torch.manualSeed(0);
  const zoo = new LayerZoo();
  torch.manualSeed(0);
  const embedder = new Embedder();
  torch.manualSeed(0);
  const conv1d = new Conv1dSeq();
  return [
    { name: 'mnist_cnn', model: cnn, inputs: images, options: batchAxes(['input']) },
    { name: 'mnist_lenet', model: lenet, inputs: images, options: batchAxes(['input']) },
    {
      name: 'layer_zoo',
      model: zoo,
      inputs: (n) => {
        torch.manualSeed(200 + n);
        return [torch.randn([n, 3, 8, 8])];
      },
      options: batchAxes(['input']),
    },
    {
      name: 'embedding',
      model: embedder,
      inputs: (n) => {
        torch.manualSeed(300 + n);
        return [torch.randint(0, 20, [n, 6])];
      },
      options: batchAxes(['ids']),
    },
    {
      name: 'conv1d_seq',
      model: conv1d,
      inputs: (n) => {
        torch.manualSeed(400 + n);
        return [torch.randn([n, 4, 10])];
      },
      options: batchAxes(['input']),
    },
  ];
}
