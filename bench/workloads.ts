// The workloads `npm run bench` times, in Kindling; bench/torch_worker.py
// holds the same workloads in PyTorch under the same names.
import * as torch from '../lib/index.js';

export interface Workload {
  name: string;
  /** What the number means: time per call, or GFLOP/s when flops is set. */
  flops?: number;
  /** Calls per timed repetition (tiny workloads are timed in batches). */
  inner?: number;
  /** Builds the inputs once and returns the function to time. */
  setup: () => () => void;
  /** Runs before setup (e.g. picking the built-in GEMM). */
  before?: () => void;
  after?: () => void;
  /** The PyTorch workload to compare with (defaults to name). */
  torchName?: string;
}

export const workloads: Workload[] = [];

for (const n of [256, 512, 1024, 2048]) {
  const mk = (builtin: boolean): Workload => ({
    name: builtin ? `matmul_${n}_builtin` : `matmul_${n}`,
    torchName: `matmul_${n}`,
    flops: 2 * n * n * n,
    before: () => torch.setUseBlas(!builtin),
    after: () => torch.setUseBlas(true),
    setup: () => {
      const a = torch.randn(n, n);
      const b = torch.randn(n, n);
      return () => void a.mm(b);
    },
  });
  workloads.push(mk(false), mk(true));
}

workloads.push({
  name: 'tiny_graph',
  inner: 100,
  setup: () => {
    const x = torch.randn([16], { requiresGrad: true });
    return () => x.mul(x).add(x).sum().backward();
  },
});

const N = 1 << 20;
for (const op of ['add', 'mul', 'relu', 'exp', 'sum', 'softmax'] as const) {
  workloads.push({
    name: op === 'sum' || op === 'softmax' ? `reduce_${op}` : `elementwise_${op}`,
    inner: 10,
    setup: () => {
      const a = torch.randn(N);
      const b = torch.randn(N);
      const m = a.view(1024, 1024);
      const fns = {
        add: () => void a.add(b),
        mul: () => void a.mul(b),
        relu: () => void a.relu(),
        exp: () => void a.exp(),
        sum: () => void a.sum(),
        softmax: () => void m.softmax(-1),
      };
      return fns[op];
    },
  });
}
