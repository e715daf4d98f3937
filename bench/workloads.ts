// The workloads `npm run bench` runs, in Kindling; bench/torch_worker.py
// (and bench/bench_models.py for the models) holds the same workloads in
// PyTorch under the same names.
import * as torch from '../lib/index.js';
import { BATCH, buildModel, makeTrainStep, randomBatch, trainStepFlops, type ModelName } from './models.js';
import type { Tensor } from '../lib/tensor.js';

/**
 * A goal for the ratio Kindling / PyTorch (of times, or of megabytes for
 * memory rows): met when the measured ratio is at most maxRatio.
 */
export interface Target {
  maxRatio: number;
  /** How the goal reads in the table, e.g. "≤ 0.70". */
  label: string;
}

interface Common {
  name: string;
  target?: Target;
  /** The PyTorch workload to compare with (defaults to name). */
  torchName?: string;
}

/** Timed in this process, alternating with the PyTorch worker. */
export interface TimedWorkload extends Common {
  kind: 'time';
  /** What the number means: time per call, or GFLOP/s when flops is set. */
  flops?: number;
  /** Calls per timed repetition (tiny workloads are timed in batches). */
  inner?: number;
  /** Builds the inputs once and returns the function to time. */
  setup: () => () => void;
  /**
   * A GFLOP/s row's yardstick: a workload timed right after the row, in
   * the same run, each side's rate read against its own (e.g. the LeNet
   * step's share of the sgemm rate the machine gives right now).
   */
  reference?: Reference;
  /** Runs before setup (e.g. picking the built-in GEMM). */
  before?: () => void;
  after?: () => void;
  /**
   * The side to compare with when it is not PyTorch's worker: an async call
   * timed in this process, alternating with Kindling's (ONNX Runtime rows).
   */
  otherSide?: InProcessSide;
}

/** An in-process other side: its name for the table, and a setup returning the call to time. */
export interface InProcessSide {
  name: string;
  setup: () => Promise<() => Promise<unknown>>;
}

/**
 * Peak resident memory of a whole training run, each side in a fresh child
 * process (bench/train_memory.ts and bench/bench_models.py --memory).
 */
export interface MemoryWorkload extends Common {
  kind: 'memory';
  model: ModelName;
  steps: number;
}

/**
 * A job of `world` processes on this machine (bench/ranks.ts running bench/distributed_worker.ts), rank 0's clock,
 * median milliseconds per call over rounds that alternate the two sides, each side a job of its own per round.
 * `against` names the other side: the same job in PyTorch over gloo (bench/distributed_torch.py), or Kindling's own
 * job on one rank. Skipped, saying why, where the Gloo addon is not built.
 */
export interface RanksWorkload extends Common {
  kind: 'ranks';
  world: number;
  /** What each rank times (BENCH_DIST_WORKLOAD of bench/distributed_worker.ts). */
  job: 'allreduce' | 'ddp_cnn';
  /** Float32 elements per allReduce (job 'allreduce'). */
  size?: number;
  against: 'pytorch' | 'one-rank';
}

export type Workload = TimedWorkload | MemoryWorkload | RanksWorkload;

/** See TimedWorkload.reference. */
export interface Reference {
  /** What the summary line calls it. */
  label: string;
  /** The PyTorch workload of the same computation. */
  torchName: string;
  flops: number;
  setup: () => () => void;
}

/**
 * An n x n x n sgemm through Kindling's matmul (OpenBLAS when linked, as
 * for the matmul_N rows): the rate a GFLOP/s row is read against.
 */
function sgemmReference(n: number): Reference {
  return {
    label: `sgemm ${n}x${n}x${n}`,
    torchName: `matmul_${n}`,
    flops: 2 * n * n * n,
    setup: () => {
      const a = torch.randn(n, n);
      const b = torch.randn(n, n);
      return () => void a.mm(b);
    },
  };
}

const atMost = (r: number): Target => ({ maxRatio: r, label: `≤ ${r.toFixed(2)}` });
// The general goal is PyTorch's speed; the rows below name their own.
const PYTORCH_SPEED = atMost(1.0);

export const workloads: Workload[] = [];

let usingBlasBefore = true;
for (const n of [256, 512, 1024, 2048]) {
  const mk = (builtin: boolean): TimedWorkload => ({
    kind: 'time',
    name: builtin ? `matmul_${n}_builtin` : `matmul_${n}`,
    torchName: `matmul_${n}`,
    flops: 2 * n * n * n,
    // Both sides call OpenBLAS's sgemm, so BLAS rows should tie; the
    // built-in GEMM should reach 70% of that where sizes are large enough
    // for kernel quality (not call overhead) to decide.
    target: !builtin ? atMost(1.1) : n >= 1024 ? { maxRatio: 1 / 0.7, label: '≥ 70% GFLOP/s' } : undefined,
    // The engine the rows after these run on is the library's own choice
    // (native/cpu/gemm.cc, blasByDefault), so put back what was in force.
    before: () => {
      usingBlasBefore = torch.config().usingBlas;
      torch.setUseBlas(!builtin);
    },
    after: () => torch.setUseBlas(usingBlasBefore),
    setup: () => {
      const a = torch.randn(n, n);
      const b = torch.randn(n, n);
      return () => void a.mm(b);
    },
  });
  workloads.push(mk(false), mk(true));
}

// conv2d forward + backward (input, weight and bias all need gradients) at
// the seed CNN's three layers and the LeNet-style model's two.
const convs = [
  { name: 'conv_cnn_1to16_28x28_s2', cin: 1, cout: 16, hw: 28, stride: 2 },
  { name: 'conv_cnn_16to16_14x14_s2', cin: 16, cout: 16, hw: 14, stride: 2 },
  { name: 'conv_cnn_16to10_7x7_s2', cin: 16, cout: 10, hw: 7, stride: 2 },
  { name: 'conv_lenet_1to32_28x28', cin: 1, cout: 32, hw: 28, stride: 1 },
  { name: 'conv_lenet_32to64_14x14', cin: 32, cout: 64, hw: 14, stride: 1 },
];
for (const c of convs) {
  workloads.push({
    kind: 'time',
    name: c.name,
    target: PYTORCH_SPEED,
    setup: () => {
      const x = torch.randn([BATCH, c.cin, c.hw, c.hw], { requiresGrad: true });
      const w = torch.randn([c.cout, c.cin, 3, 3], { requiresGrad: true });
      const b = torch.randn([c.cout], { requiresGrad: true });
      const opts = { stride: c.stride, padding: 1 };
      const g = torch.ones(torch.nn.functional.conv2d(x, w, b, opts).shape);
      return () => {
        torch.nn.functional.conv2d(x, w, b, opts).backward(g);
        // As zeroGrad({ setToNone: true }) between steps: no accumulation.
        x.grad = w.grad = b.grad = null;
      };
    },
  });
}

// conv1d and the transposed convolutions forward + backward: they run on
// conv2d's kernels (Note [1-d convolution] in lib/ops/nn.ts), so these rows
// show what the height-1 view and the adjoint formulation cost.
const convsNd: { name: string; call: (x: Tensor, w: Tensor, b: Tensor) => Tensor; x: number[]; w: number[]; b: number }[] = [
  {
    name: 'conv1d_32to64_L256',
    call: (x, w, b) => torch.nn.functional.conv1d(x, w, b, { padding: 2 }),
    x: [BATCH, 32, 256],
    w: [64, 32, 5],
    b: 64,
  },
  {
    name: 'conv_transpose1d_64to32_L128_s2',
    call: (x, w, b) => torch.nn.functional.convTranspose1d(x, w, b, { stride: 2, padding: 1 }),
    x: [BATCH, 64, 128],
    w: [64, 32, 4],
    b: 32,
  },
  {
    name: 'conv_transpose2d_32to16_14x14_s2',
    call: (x, w, b) => torch.nn.functional.convTranspose2d(x, w, b, { stride: 2, padding: 1 }),
    x: [BATCH, 32, 14, 14],
    w: [32, 16, 4, 4],
    b: 16,
  },
];
for (const c of convsNd) {
  workloads.push({
    kind: 'time',
    name: c.name,
    target: PYTORCH_SPEED,
    setup: () => {
      const x = torch.randn(c.x, { requiresGrad: true });
      const w = torch.randn(c.w, { requiresGrad: true });
      const b = torch.randn([c.b], { requiresGrad: true });
      const g = torch.ones(c.call(x, w, b).shape);
      return () => {
        c.call(x, w, b).backward(g);
        x.grad = w.grad = b.grad = null;
      };
    },
  });
}

const N = 1 << 20;
for (const op of ['add', 'mul', 'relu', 'exp', 'sum', 'softmax'] as const) {
  workloads.push({
    kind: 'time',
    name: op === 'sum' || op === 'softmax' ? `reduce_${op}` : `elementwise_${op}`,
    inner: 10,
    target: PYTORCH_SPEED,
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

// The same ops in a loop body wrapped in torch.memory.scope, which gives
// each result's memory back when the body ends (Note [Warm block cache]):
// what a hot loop gains by saying so. Compared with the plain PyTorch op.
for (const op of ['add', 'mul', 'relu'] as const) {
  workloads.push({
    kind: 'time',
    name: `elementwise_${op}_scoped`,
    torchName: `elementwise_${op}`,
    inner: 10,
    setup: () => {
      const a = torch.randn(N);
      const b = torch.randn(N);
      // The result is dropped inside the scope (a returned one would escape).
      const fns = { add: () => void a.add(b), mul: () => void a.mul(b), relu: () => void a.relu() };
      const f = fns[op];
      return () => torch.memory.scope(f);
    },
  });
}

// Per-op overhead: at 16 elements the time is all dispatch and autograd.
workloads.push({
  kind: 'time',
  name: 'tiny_graph',
  inner: 100,
  target: atMost(0.5),
  setup: () => {
    const x = torch.randn([16], { requiresGrad: true });
    return () => x.mul(x).add(x).sum().backward();
  },
});

// One training step on a fixed random batch. The seed's two models are
// small enough that overhead decides, hence the stricter goal.
const stepTargets: Record<ModelName, Target> = {
  logistic: atMost(0.7),
  cnn: atMost(0.7),
  mlp: PYTORCH_SPEED,
  lenet: PYTORCH_SPEED,
};
for (const model of ['logistic', 'cnn', 'mlp', 'lenet'] as const) {
  workloads.push({
    kind: 'time',
    name: `train_${model}`,
    target: stepTargets[model],
    setup: () => {
      torch.manualSeed(0);
      const step = makeTrainStep(model);
      const [x, y] = randomBatch();
      return () => step(x, y);
    },
  });
}

// Training steps wrapped in torch.memory.scope (compared with PyTorch's
// plain step).
for (const model of ['cnn', 'lenet'] as const) {
  workloads.push({
    kind: 'time',
    name: `train_${model}_scoped`,
    torchName: `train_${model}`,
    setup: () => {
      torch.manualSeed(0);
      const step = makeTrainStep(model);
      const [x, y] = randomBatch();
      return () => torch.memory.scope(() => step(x, y));
    },
  });
}

// The LeNet step again, read as the GFLOP/s its convolutions and linear
// layers achieve, as a share of the sgemm rate (1024 cubed, large enough
// that kernel quality and not call overhead decides) timed right after it
// in the same run: each side against its own sgemm, measured, never a
// nominal peak.
workloads.push({
  kind: 'time',
  name: 'train_lenet_gflops',
  torchName: 'train_lenet',
  flops: trainStepFlops('lenet'),
  reference: sgemmReference(1024),
  setup: () => {
    torch.manualSeed(0);
    const step = makeTrainStep('lenet');
    const [x, y] = randomBatch();
    return () => step(x, y);
  },
});

workloads.push({ kind: 'memory', name: 'memory_train_lenet_500', model: 'lenet', steps: 500, target: atMost(1.5) });

// A Transformer training step (issue 17): nn.TransformerEncoder, 4 layers of
// d_model 256, 4 heads, dim_feedforward 1024, batchFirst, on [16, 128, 256]
// inputs; forward, MSE against a fixed target, backward, Adam step. The
// plain row has dropout 0 (so attention runs the fused kernel); the
// _dropout row keeps PyTorch's default 0.1, whose attention dropout takes
// the composite path. bench/bench_models.py builds the same in PyTorch.
for (const dropout of [0, 0.1]) {
  workloads.push({
    kind: 'time',
    name: dropout === 0 ? 'train_transformer_encoder' : 'train_transformer_encoder_dropout',
    target: PYTORCH_SPEED,
    setup: () => {
      torch.manualSeed(0);
      const { nn, optim } = torch;
      const layer = new nn.TransformerEncoderLayer(256, 4, { dimFeedforward: 1024, dropout, batchFirst: true });
      const model = new nn.TransformerEncoder(layer, 4, { enableNestedTensor: false });
      const opt = new optim.Adam(model.parameters(), { lr: 1e-4 });
      const x = torch.randn([16, 128, 256]);
      const target = torch.randn([16, 128, 256]);
      return () => {
        torch.nn.functional.mseLoss(model.forward(x) as torch.Tensor, target).backward();
        opt.step();
        opt.zeroGrad();
      };
    },
  });
}

// An LSTM training step (issue 17): nn.LSTM(256, 256, numLayers 2) over a
// [seq 64, batch 32, 256] input, the mean square of its output as the loss,
// backward and an SGD step. Per step: one GEMM for the hidden state's
// gates and the fused cell (lib/ops/rnn.ts), forward and backward.
workloads.push({
  kind: 'time',
  name: 'train_lstm_2x256_seq64_b32',
  target: PYTORCH_SPEED,
  setup: () => {
    torch.manualSeed(0);
    const lstm = new torch.nn.LSTM(256, 256, 2);
    const opt = new torch.optim.SGD(lstm.parameters(), { lr: 0.01 });
    const x = torch.randn([64, 32, 256]);
    return () => {
      const [out] = lstm.forward(x);
      out.square().mean().backward();
      opt.step();
      opt.zeroGrad();
    };
  },
});

// Distributed rows (issue 18): allReduce (sum) of 1M and 10M float32 on 2
// ranks against PyTorch's dist.all_reduce over gloo, and the seed CNN's DDP
// training step (BATCH images per rank) on 2 ranks against 1 rank, i.e.
// what doubling the data costs in time per step (1.00 would be perfect
// weak scaling; the machine's cores are shared by the ranks).
for (const [name, size] of [
  ['allreduce_1m', 1_000_000],
  ['allreduce_10m', 10_000_000],
] as const) {
  workloads.push({ kind: 'ranks', name, world: 2, job: 'allreduce', size, against: 'pytorch', target: PYTORCH_SPEED });
}
workloads.push({ kind: 'ranks', name: 'ddp_cnn_step_2ranks', world: 2, job: 'ddp_cnn', against: 'one-rank' });

// Inference of the MNIST models at batch 64 (issue 20): Kindling's forward
// under noGrad against ONNX Runtime (onnxruntime-node, in this process, the
// same thread count) running the model torch.onnx.export wrote. The goal:
// within 1.2x of ONNX Runtime.
for (const model of ['cnn', 'lenet'] as const) {
  // Built on first use, shared by the two sides: the same weights and batch.
  let made: { net: torch.nn.Module; x: Tensor } | null = null;
  const make = () => {
    if (made === null) {
      torch.manualSeed(0);
      const net = buildModel(model);
      net.eval();
      made = { net, x: randomBatch()[0] };
    }
    return made;
  };
  workloads.push({
    kind: 'time',
    name: `infer_${model}_b${BATCH}_vs_onnxruntime`,
    target: atMost(1.2),
    setup: () => {
      const { net, x } = make();
      return () => void torch.noGrad(() => net.forward(x));
    },
    otherSide: {
      name: 'ONNX Runtime',
      setup: async () => {
        const ort = await import('onnxruntime-node');
        const { net, x } = make();
        const bytes = torch.onnx.export(net, [x], null, { inputNames: ['input'], dynamicAxes: { input: [0] } });
        const threads = Number(process.env.BENCH_THREADS ?? 2);
        // Without spinning: ORT's pool threads otherwise spin on both cores
        // for a while after each run, and the Kindling side of the next
        // alternating round runs beside them (measured: Kindling's LeNet
        // forward 8.9 ms with ORT spinning, 5.0 ms without; ORT's own time
        // 2.18 vs 2.15 ms, the same).
        const session = await ort.InferenceSession.create(bytes, {
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          extra: { session: { intra_op: { allow_spinning: '0' } } },
        });
        const feeds = { input: new ort.Tensor('float32', x.toTypedArray() as Float32Array, x.shape.slice()) };
        return () => session.run(feeds);
      },
    },
  });
}
