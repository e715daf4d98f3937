// Kindling: PyTorch for Node.js. `import * as torch from 'kindling'` or `import torch from 'kindling'`.
import './tensor_methods.js';
import { native } from './backend/native.js';
import { fmtValue } from './ops/kernels.js';
import { availableParallelism } from 'node:os';
import * as engine from './autograd/engine.js';
import { Function, Ctx } from './autograd/function.js';
import { gradcheck, gradgradcheck } from './autograd/gradcheck.js';
import { cuda as cudaApi } from './backend/cuda.js';

export { Tensor, Storage } from './tensor.js';
export type { TensorOrScalar, DimOptions, Device } from './tensor.js';
// dtype.ts's public names; its storage helpers (allocStorage, storageOfArray)
// are internals and stay out of the package's surface.
export {
  DTYPES,
  float32,
  float,
  float64,
  double,
  float16,
  half,
  bfloat16,
  int32,
  int,
  int64,
  long,
  uint8,
  bool,
  isDType,
  isFloating,
  isHalf,
  isIntegral,
  ITEMSIZE,
  dtypeOfArray,
  promoteTypes,
  resultType,
  scalarDType,
} from './dtype.js';
export type { DType, InputTypedArray, PromotionOperand } from './dtype.js';
export {
  tensor,
  zeros,
  ones,
  empty,
  full,
  zerosLike,
  onesLike,
  fullLike,
  emptyLike,
  randLike,
  randnLike,
  randintLike,
  randn,
  rand,
  randint,
  randperm,
  normal,
  arange,
  linspace,
  eye,
  fromTypedArray,
} from './ops/creation.js';
export type { TensorOptions, RandomOptions } from './ops/creation.js';
import { defaultGenerator } from './ops/generator.js';
export { defaultGenerator, getRngState, setRngState } from './ops/generator.js';
export { device, TorchDevice } from './backend/device.js';
export { noGrad, enableGrad, setGradEnabled, isGradEnabled } from './autograd/grad_mode.js';
export { Size } from './util/size.js';
export { setPrintoptions } from './format.js';
export type { PrintOptions } from './format.js';
export type { Index } from './ops/index_internal.js';

// ---- math at top level, as torch.add(a, b) --------------------------------------
// Every op of a method module is torch.x too (Note [Method modules]).
export * from './ops/elementwise.js';
export * from './ops/reduce.js';
export * from './ops/sort.js';
export * from './ops/random.js';
export * from './ops/matmul.js';
export * from './ops/shape.js';
export * from './ops/indexing.js';
export * from './ops/join.js';

export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as distributed from './distributed/index.js';
/** torch.memory: scope() and keep() for hot loops, and the warm block cache (stats, emptyCache, setCacheLimit). */
export * as memory from './memory.js';
import * as D from './data/index.js';
import { ProgressBar } from './utils/progress.js';
import * as plot from './utils/plot.js';
import * as tensorboard from './utils/tensorboard/index.js';
export type { ProgressOptions, ProgressStream, TickOptions } from './utils/progress.js';
export type { Series, PlotOptions, Figure, Rect, RGB, LossCurves } from './utils/plot.js';
export const utils = {
  /** The training loop's progress bar (lib/utils/progress.ts). */
  ProgressBar,
  /** PNG line and scatter plots: savePlot, lossCurve, draw, niceTicks (lib/utils/plot.ts). */
  plot,
  data: {
    Dataset: D.Dataset,
    IterableDataset: D.IterableDataset,
    TensorDataset: D.TensorDataset,
    Subset: D.Subset,
    ConcatDataset: D.ConcatDataset,
    ChainDataset: D.ChainDataset,
    randomSplit: D.randomSplit,
    DataLoader: D.DataLoader,
    defaultCollate: D.defaultCollate,
    Sampler: D.Sampler,
    SequentialSampler: D.SequentialSampler,
    RandomSampler: D.RandomSampler,
    SubsetRandomSampler: D.SubsetRandomSampler,
    WeightedRandomSampler: D.WeightedRandomSampler,
    BatchSampler: D.BatchSampler,
    DistributedSampler: D.DistributedSampler,
  },
  /** TensorBoard event files: SummaryWriter (lib/utils/tensorboard). */
  tensorboard,
};
export const datasets = { MNIST: D.MNIST };
/** torch.onnx: export(model, args, path, options) writes an ONNX model (lib/onnx). */
export * as onnx from './onnx/index.js';
/** torchvision.transforms' counterpart, beside datasets (torchvision.datasets'). */
export const transforms = D.transforms;
export { Generator } from './data/index.js';
export { save, load, loadMetadata } from './io/safetensors.js';
export type { LoadOptions } from './io/safetensors.js';

// ---- autograd -----------------------------------------------------------------------
export const autograd = {
  grad: engine.grad,
  backward: engine.backwardMany,
  queueCallback: engine.queueCallback,
  Function,
  gradcheck,
  gradgradcheck,
};
export { Function, Ctx, gradcheck, gradgradcheck };

// ---- runtime ----------------------------------------------------------------------------
let seed = 0;
/**
 * Seeds every random source of the calling thread (randn, init, dropout, DataLoader shuffles: the default
 * generator; a worker thread has its own), and the process-wide CUDA generator.
 */
export function manualSeed(n: number): void {
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new TypeError('manualSeed: seed must be a finite number');
  seed = Math.trunc(n);
  native.manualSeed(seed);
  cudaApi.manualSeed(seed);
}
/** The seed of this thread's default generator (rounded past 2^53; defaultGenerator.initialSeedBigInt() is exact). */
export function initialSeed(): number {
  return defaultGenerator.initialSeed();
}
// PyTorch takes any positive count, but every worker here is an OS thread
// that lives until exit (the pool only grows), so a count far past the
// cores would cost memory and scheduling for nothing, and 10^6 would exhaust
// the process. Counts above the cap are clamped to it, as a value PyTorch
// accepts must not throw: 4 threads a core, and never under 64 so that
// oversubscription tests on small machines still get what they ask for.
const MAX_THREADS = Math.max(4 * availableParallelism(), 64);
/**
 * torch.set_num_threads(n): the number of CPU threads the native kernels use. Counts beyond max(4 × cores, 64) are
 * clamped to it, where PyTorch takes any positive count.
 */
export function setNumThreads(n: number): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1)
    throw new RangeError(`setNumThreads: expected a positive integer, got ${fmtValue(n)}`);
  native.setNumThreads(Math.min(n, MAX_THREADS));
}
/** torch.get_num_threads(): the number of CPU threads the native kernels use. */
export function getNumThreads(): number {
  return native.getNumThreads();
}
/** What the native core was built with. */
export function config(): {
  blas: string;
  usingBlas: boolean;
  blasCore: string;
  simd: string;
  threads: number;
  cuda: boolean;
} {
  return native.config();
}
/** Forces the built-in GEMM (false) or BLAS when linked (true); for benchmarks and tests. */
export function setUseBlas(on: boolean): void {
  native.setUseBlas(!!on);
}
/**
 * torch.cuda: isAvailable, deviceCount, synchronize, memoryAllocated,
 * memoryReserved, emptyCache, manualSeed, manualSeedAll, getDeviceName,
 * currentDevice, setDevice.
 */
export const cuda = cudaApi;

// The module's own namespace as its default export, for `import torch from
// 'kindling'` (the form TypeScript users write with esModuleInterop), with its
// types (`torch.Tensor` in a type). A module may re-export itself; in the
// CommonJS build this is the exports object, so the default and
// `require('kindling')` are one object. (An `import * as torch` of itself
// followed by `export default torch` is a circular alias to TypeScript.)
/** The whole `torch` namespace: `import torch from 'kindling'` gives the functions, classes and values `import * as torch` gives. */
export * as default from './index.js';
