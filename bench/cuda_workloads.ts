// CUDA rows of `npm run bench`, run only where torch.cuda.isAvailable():
// the matmul, conv and training-step workloads with every tensor on the
// device, against the same in PyTorch on CUDA (bench/cuda_workloads.py,
// loaded by bench/torch_worker.py). Kernels queue asynchronously on both
// sides, so every timed call ends with a synchronize: the clock stops when
// the device has finished, not when the work was queued.
import * as torch from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { BATCH, buildModel, type ModelName } from './models.js';
import type { Target, TimedWorkload, Workload } from './workloads.js';

const DEVICE = 'cuda';
// Where the GPU is not yet at PyTorch's speed, the table still shows the ratio.
const PYTORCH_SPEED: Target = { maxRatio: 1.0, label: '≤ 1.00' };

const sync = () => torch.cuda.synchronize();

function matmul(n: number): TimedWorkload {
  return {
    kind: 'time',
    name: `cuda_matmul_${n}`,
    flops: 2 * n * n * n,
    target: PYTORCH_SPEED,
    setup: () => {
      const a = torch.randn([n, n], { device: DEVICE });
      const b = torch.randn([n, n], { device: DEVICE });
      return () => {
        a.mm(b);
        sync();
      };
    },
  };
}

// The seed CNN's and the LeNet model's conv layers (as bench/workloads.ts),
// forward and backward.
const CONVS = [
  { name: 'cuda_conv_cnn_1to16_28x28_s2', cin: 1, cout: 16, hw: 28, stride: 2 },
  { name: 'cuda_conv_lenet_1to32_28x28', cin: 1, cout: 32, hw: 28, stride: 1 },
  { name: 'cuda_conv_lenet_32to64_14x14', cin: 32, cout: 64, hw: 14, stride: 1 },
];

function conv(c: (typeof CONVS)[number]): TimedWorkload {
  return {
    kind: 'time',
    name: c.name,
    target: PYTORCH_SPEED,
    setup: () => {
      const opts = { device: DEVICE, requiresGrad: true };
      const x = torch.randn([BATCH, c.cin, c.hw, c.hw], opts);
      const w = torch.randn([c.cout, c.cin, 3, 3], opts);
      const b = torch.randn([c.cout], opts);
      const co = { stride: c.stride, padding: 1 };
      const g = torch.onesLike(torch.nn.functional.conv2d(x, w, b, co).detach());
      return () => {
        torch.nn.functional.conv2d(x, w, b, co).backward(g);
        x.grad = w.grad = b.grad = null;
        sync();
      };
    },
  };
}

// The optimizers of bench/models.ts, built after the model moved, so their
// state lives on the device.
function optimizerFor(name: ModelName, model: torch.nn.Module): torch.optim.Optimizer {
  if (name === 'logistic') return new torch.optim.SGD(model.parameters(), { lr: 0.5 });
  if (name === 'cnn') return new torch.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  return new torch.optim.Adam(model.parameters(), { lr: 1e-3 });
}

function trainStep(name: ModelName): TimedWorkload {
  return {
    kind: 'time',
    name: `cuda_train_${name}`,
    target: PYTORCH_SPEED,
    setup: () => {
      torch.manualSeed(0);
      const model = buildModel(name).to(DEVICE);
      const opt = optimizerFor(name, model);
      const x = torch.rand([BATCH, 784], { device: DEVICE });
      const y = torch.randint(0, 10, [BATCH], { device: DEVICE });
      return () => {
        const loss = torch.nn.functional.crossEntropy(model.forward(x) as Tensor, y);
        loss.backward();
        opt.step();
        opt.zeroGrad();
        sync();
      };
    },
  };
}

/** The CUDA rows; none without a usable GPU. */
export function cudaWorkloads(): Workload[] {
  if (!torch.cuda.isAvailable()) return [];
  return [...[1024, 4096].map(matmul), ...CONVS.map(conv), ...(['cnn', 'mlp', 'lenet'] as const).map(trainStep)];
}
