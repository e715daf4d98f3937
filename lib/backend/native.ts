// The typed interface of the native addon and its loader. Every native
// function the TypeScript layer calls is declared here, so a missing or
// renamed binding fails `tsc` instead of failing at run time.
import { BINARY_OPS, REDUCE_OPS, UNARY_OPS, type BinaryOp, type ReduceOp, type UnaryOp } from './kernel_names.js';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BFloat16Bits, float32ToHalfChanged, halfToFloat32 } from '../util/half.js';

/** A CPU storage: one typed array class per dtype (a Uint16Array holds float16 or bfloat16 bits: Note [Half storage]). */
export type TypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Uint8ClampedArray | Uint16Array;

/**
 * Device memory from native.cudaAlloc (native/binding/cuda.cc, Note [CUDA
 * storages]): an opaque handle, never indexable from JS. Its block goes
 * back to the caching allocator when the object is collected, or at once
 * with native.cudaFree.
 */
export interface CudaBuffer {
  readonly dtype: string;
  /** Elements (numel), as a typed array's length. */
  readonly length: number;
  /** The CUDA ordinal. */
  readonly device: number;
}

/** What a storage holds: host memory V8 owns, or a CUDA block. */
export type StorageData = TypedArray | CudaBuffer;

// How a tensor crosses into native code (native/binding/binding.h): the
// Ref [data, offset, shape, strides] (offset and strides in elements). The
// typed array's class names the dtype; bool lives in a Uint8ClampedArray.
// A CUDA tensor passes its CudaBuffer as data, with the same metadata;
// every kernel export runs on the device when all its refs are on one
// device. The addon itself never sees the Ref: the wrappers at the end of
// this file hand it the data and copy the metadata into a shared scratch
// (Note [Metadata scratch]), so a Ref is a plain array that is cheap to
// build; shape and strides are the tensor's own (never mutated) arrays.
// Build refs with makeRef.
export type Ref = readonly [StorageData, number, readonly number[], readonly number[]];

export function makeRef(data: StorageData, offset: number, shape: readonly number[], strides: readonly number[]): Ref {
  return [data, offset, shape, strides];
}

export interface NativeConfig {
  blas: string;
  usingBlas: boolean;
  /** OpenBLAS's core name (which OPENBLAS_CORETYPE overrides); "" without OpenBLAS. */
  blasCore: string;
  simd: string;
  threads: number;
  cuda: boolean;
}

export interface NativeAddon {
  // Kernel codes by name; the names are native/common/ops.h's op lists
  // (kernel_names.ts, generated from it), checked against the addon on load.
  unaryOps: Record<UnaryOp, number>;
  binaryOps: Record<BinaryOp, number>;
  reduceOps: Record<ReduceOp, number>;
  unary(op: number, x: Ref, out: Ref): void;
  binary(op: number, a: Ref, b: Ref, out: Ref): void;
  binaryScalar(op: number, a: Ref, scalar: number, scalarFirst: boolean, out: Ref): void;
  where(cond: Ref, a: Ref, b: Ref, out: Ref): void;
  copy(src: Ref, dst: Ref): void;
  fill(dst: Ref, value: number): void;
  clamp(x: Ref, min: number, max: number, out: Ref): void;
  reduce(op: number, x: Ref, dims: number[], correction: number, out: Ref): void;
  argReduce(isMax: boolean, x: Ref, dim: number, values: Ref, indices: Ref): void;
  softmax(x: Ref, dim: number, log: boolean, out: Ref): void;
  softmaxBackward(y: Ref, gy: Ref, dim: number, log: boolean, out: Ref): void;
  /** Stable sort along dim, NaN largest; CPU tensors only. */
  sortDim(x: Ref, dim: number, descending: boolean, values: Ref, indices: Ref): void;
  /** Running reduction along dim; indices only for cummax/cummin; CPU tensors only. */
  scanDim(op: 'cumsum' | 'cumprod' | 'cummax' | 'cummin' | 'logcumsumexp', x: Ref, dim: number, out: Ref, indices?: Ref): void;
  indexSelect(x: Ref, dim: number, index: Ref, out: Ref): void;
  indexCopy(out: Ref, dim: number, index: Ref, src: Ref): void;
  indexAdd(out: Ref, dim: number, index: Ref, src: Ref, alpha: number): void;
  gather(x: Ref, dim: number, index: Ref, out: Ref): void;
  scatterAdd(out: Ref, dim: number, index: Ref, src: Ref): void;
  scatter(out: Ref, dim: number, index: Ref, src: Ref): void;
  /** op: 0 sum, 1 prod, 2 amax, 3 amin (ScatterReduceOp in native/common/ops.h). */
  scatterReduce(out: Ref, dim: number, index: Ref, src: Ref, op: number): void;
  matmul(a: Ref, b: Ref, out: Ref): void;
  // Random samplers (Note [Per-thread random state], native/cpu/random.cc).
  // `state` is a generator's [seed, word], advanced by the call; left out,
  // the calling thread's default generator (defaultRngState) is used.
  // manualSeed reseeds that default generator.
  manualSeed(seed: number): void;
  uniform(out: Ref, low: number, high: number, state?: BigUint64Array): void;
  normal(out: Ref, mean: number, std: number, state?: BigUint64Array): void;
  randint(out: Ref, low: number, high: number, state?: BigUint64Array): void;
  randperm(out: Ref, state?: BigUint64Array): void;
  bernoulli(out: Ref, p: number, state?: BigUint64Array): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setUseBlas(on: boolean): void;
  config(): NativeConfig;
  // outputs written with non-temporal stores (Note [Streaming stores], native/cpu/cache.cc)
  streamedOutputs(): number;
  // optimizer updates (native/binding/optim.cc): one fused pass per parameter,
  // in place on the parameter and its state buffers (contiguous, the
  // parameter's float dtype and size); an optional buffer is null.
  sgdStep(
    param: Ref,
    grad: Ref,
    momentumBuffer: Ref | null,
    lr: number,
    momentum: number,
    dampening: number,
    weightDecay: number,
    nesterov: boolean,
    maximize: boolean,
    initBuffer: boolean,
  ): void;
  adamStep(
    param: Ref,
    grad: Ref,
    expAvg: Ref,
    expAvgSq: Ref,
    maxExpAvgSq: Ref | null,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
    amsgrad: boolean,
    maximize: boolean,
    decoupled: boolean,
  ): void;
  rmspropStep(
    param: Ref,
    grad: Ref,
    squareAvg: Ref,
    gradAvg: Ref | null,
    momentumBuffer: Ref | null,
    lr: number,
    alpha: number,
    eps: number,
    weightDecay: number,
    momentum: number,
    maximize: boolean,
  ): void;
  adagradStep(param: Ref, grad: Ref, sum: Ref, clr: number, weightDecay: number, eps: number, maximize: boolean): void;

  // CUDA (native/binding/cuda.cc). In a CPU build these exist and report no
  // device; cudaAlloc throws "cuda: this build of kindling has no CUDA
  // support". An older addon may lack them: lib/backend/cuda.ts is the one
  // place that checks.
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaDeviceName(device: number): string;
  /** Device memory for numel elements, NOT zeroed. */
  cudaAlloc(dtype: string, numel: number, device?: number): CudaBuffer;
  cudaFree(buffer: CudaBuffer): void;
  cudaSynchronize(device?: number): void;
  /** The device address of element `offset` of a CUDA storage (for the NCCL backend of torch.distributed). */
  cudaDataPointer(buffer: CudaBuffer, offset: number): bigint;
  cudaMemoryAllocated(device?: number): number;
  cudaMemoryReserved(device?: number): number;
  cudaEmptyCache(): void;
  cudaManualSeed(seed: number): void;

  // nn kernels (native/binding/nn.cc). All tensors contiguous, outputs
  // allocated by the caller. conv params: [strideH, strideW, padH, padW,
  // dilationH, dilationW, groups]; pool params: [kH, kW, sH, sW, pH, pW, dH,
  // dW]; pooling works on [planes, H, W] views, batch norm on [N, C, S],
  // nll on input [N, C, D] with int64 target [N, D]; reduction 0 none,
  // 1 mean, 2 sum.
  // Fused attention (native/cpu/attention.cc): q [B, H, L, E], k [B, H, S, E],
  // v [B, H, S, Ev] and mask [B, H, L, S] (bool or q's dtype) with any
  // strides; out [B, H, L, Ev] and lse [B, H, L] contiguous. Backward's
  // gradients are contiguous [B, H, ...], each null when not wanted.
  attention(q: Ref, k: Ref, v: Ref, mask: Ref | null, scale: number, causal: boolean, out: Ref, lse: Ref): void;
  attentionBackward(
    gy: Ref,
    q: Ref,
    k: Ref,
    v: Ref,
    mask: Ref | null,
    scale: number,
    causal: boolean,
    out: Ref,
    lse: Ref,
    gq: Ref | null,
    gk: Ref | null,
    gv: Ref | null,
  ): void;
  // relu: out is the relu of the convolution (nn.Sequential fuses Conv then ReLU under noGrad); pool: the
  // convolution's [OH, OW] when out is the 2x2 max pool of that (Conv, ReLU, MaxPool2d(2); CPU only);
  // codes: uint8 of out's shape, each maximum's window position or 4 where no gradient passes (grad mode)
  conv2d(
    x: Ref,
    w: Ref,
    bias: Ref | null,
    params: number[],
    out: Ref,
    relu?: boolean,
    pool?: readonly number[] | null,
    codes?: Ref | null,
  ): void;
  // pool and codes: gy is the pooled gradient of conv2d's fused forward, pool the convolution's [OH, OW] (CPU only)
  conv2dBackward(
    gy: Ref,
    x: Ref,
    w: Ref,
    params: number[],
    gx: Ref | null,
    gw: Ref | null,
    gb: Ref | null,
    pool?: readonly number[],
    codes?: Ref,
  ): void;
  maxPool2d(x: Ref, params: number[], out: Ref, indices: Ref | null): void;
  maxPool2dBackward(gy: Ref, indices: Ref, gx: Ref): void;
  avgPool2d(x: Ref, params: number[], countIncludePad: boolean, divisorOverride: number, out: Ref): void;
  avgPool2dBackward(gy: Ref, params: number[], countIncludePad: boolean, divisorOverride: number, gx: Ref): void;
  adaptiveAvgPool2d(x: Ref, out: Ref): void;
  adaptiveAvgPool2dBackward(gy: Ref, gx: Ref): void;
  batchNorm(
    x: Ref,
    weight: Ref | null,
    bias: Ref | null,
    runningMean: Ref | null,
    runningVar: Ref | null,
    training: boolean,
    momentum: number,
    eps: number,
    out: Ref,
    saveMean: Ref,
    saveInvstd: Ref,
  ): void;
  batchNormBackward(
    gy: Ref,
    x: Ref,
    weight: Ref | null,
    saveMean: Ref,
    saveInvstd: Ref,
    training: boolean,
    gx: Ref | null,
    gw: Ref | null,
    gb: Ref | null,
  ): void;
  layerNorm(x: Ref, weight: Ref | null, bias: Ref | null, eps: number, out: Ref, mean: Ref, rstd: Ref): void;
  layerNormBackward(gy: Ref, x: Ref, weight: Ref | null, mean: Ref, rstd: Ref, gx: Ref | null, gw: Ref | null, gb: Ref | null): void;
  nllLoss(
    input: Ref,
    target: Ref,
    weight: Ref | null,
    ignoreIndex: number,
    labelSmoothing: number,
    reduction: number,
    logits: boolean,
    out: Ref,
    lse: Ref | null,
    totalWeight: Ref,
  ): void;
  nllLossBackward(
    gy: Ref,
    input: Ref,
    target: Ref,
    weight: Ref | null,
    ignoreIndex: number,
    labelSmoothing: number,
    reduction: number,
    logits: boolean,
    lse: Ref | null,
    totalWeight: number,
    gx: Ref,
  ): void;

  // The fused recurrent cells (native/cpu/rnn.cc): gates [B, 4H] (LSTM) or
  // [B, 3H] (GRU), states [B, H], workspace [B, 4H]; all contiguous, outputs
  // allocated by the caller.
  lstmCell(inputGates: Ref, hiddenGates: Ref, cx: Ref, hy: Ref, cy: Ref, workspace: Ref): void;
  lstmCellBackward(gradHy: Ref, gradCy: Ref, cx: Ref, cy: Ref, workspace: Ref, gradGates: Ref, gradCx: Ref | null): void;
  gruCell(inputGates: Ref, hiddenGates: Ref, hx: Ref, hy: Ref, workspace: Ref): void;
  gruCellBackward(gradHy: Ref, hx: Ref, workspace: Ref, gradInputGates: Ref, gradHiddenGates: Ref, gradHx: Ref | null): void;
}

// The package root is the nearest folder above this file with a
// package.json: lib/backend in a source checkout, dist/lib/backend once built.
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('kindling: cannot find the package root to load the native addon');
    dir = up;
  }
}

// Note [OpenBLAS core type]: OpenBLAS picks its kernels from the CPU model
// when the library loads. Under virtual machines that hide the model name
// (seen on this project's build machines: "Intel(R) Xeon(R) Processor") it
// falls back to its generic "Prescott" kernels, about 6x slower than its
// AVX-512 ones. Before the addon (and so OpenBLAS) loads, name the core
// type from the CPU's feature flags unless the user already chose one.
// Which engine then runs matmul is decided in native/cpu/gemm.cc
// (blasByDefault): the built-in GEMM wherever its SIMD is at least as wide
// as this core's kernels, which on an AVX-512 CPU it is even against
// SkylakeX; torch.setUseBlas overrides it and torch.config().usingBlas
// reports it.
function chooseOpenblasCore(): void {
  // OpenBLAS's idle threads spin for 2^28 cycles by default, taking the
  // cores from Kindling's own pool in the kernels that follow a matmul;
  // 2^10 lets them sleep almost at once.
  process.env.OPENBLAS_THREAD_TIMEOUT ??= '10';
  if (process.platform !== 'linux' || process.arch !== 'x64' || process.env.OPENBLAS_CORETYPE) return;
  let flags = '';
  try {
    flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '';
  } catch {
    return;
  }
  const has = (f: string) => new RegExp(`\\b${f}\\b`).test(flags);
  if (has('avx512f') && has('avx512bw') && has('avx512vl')) process.env.OPENBLAS_CORETYPE = 'SkylakeX';
  else if (has('avx2') && has('fma')) process.env.OPENBLAS_CORETYPE = 'Haswell';
}

// Which addon loads: KINDLING_ADDON (a path to a .node) when set, else the
// CUDA build (npm run build:cuda) when there is one and it is at least as
// new as the CPU build in build/Release, else the CPU build or prebuilt
// binary that node-gyp-build finds. A CUDA build runs everything a CPU
// build does, so preferring it costs CPU users nothing; comparing times
// keeps a stale CUDA build from shadowing a CPU build made after it.
// KINDLING_PREBUILD, node-gyp-build's own override (a folder of prebuilds,
// as scripts/test-arm64.sh sets for its arm64 binary), goes to
// node-gyp-build: a CUDA build of this checkout, made for the host, would
// shadow it.
function addonPath(root: string): string | null {
  const fromEnv = process.env.KINDLING_ADDON;
  if (fromEnv) return resolve(fromEnv);
  if (process.env.KINDLING_PREBUILD) return null;
  const cudaBuild = join(root, 'build-cuda', 'Release', 'kindling.node');
  if (!existsSync(cudaBuild)) return null;
  const cpuBuild = join(root, 'build', 'Release', 'kindling.node');
  if (existsSync(cpuBuild) && statSync(cpuBuild).mtimeMs > statSync(cudaBuild).mtimeMs) return null;
  return cudaBuild;
}

function load(): NativeAddon {
  chooseOpenblasCore();
  const require = createRequire(import.meta.url);
  const root = packageRoot();
  try {
    const path = addonPath(root);
    if (path !== null) return require(path) as NativeAddon;
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return nodeGypBuild(root) as NativeAddon;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (process.env.KINDLING_ADDON) {
      throw new Error(`kindling: could not load the native addon KINDLING_ADDON=${process.env.KINDLING_ADDON}: ${why}`);
    }
    throw new Error(
      `kindling: could not load the native addon for ${process.platform}-${process.arch} (node ${process.version}).\n` +
        `  ${why}\n` +
        `There is no prebuilt binary for this platform, or it failed to load. To build from source, install a C++17\n` +
        `compiler and Python 3 (for node-gyp), optionally OpenBLAS (Debian: apt-get install libopenblas-pthread-dev),\n` +
        `then run: npm rebuild kindling`,
    );
  }
}

// Note [Metadata scratch] (native/binding/args.cc): reading the [data, meta]
// pair through Node-API was most of a small op's cost, so the addon reads
// only the data argument and finds its metadata in this scratch, which the
// wrappers below fill from each Ref just before the call: slot i (of 33
// doubles, at i * 33) belongs to argument i and holds [length, offset,
// ...shape, ...strides], length counting what follows it. A
// position that holds no Ref gets length 0, so a stray argument is refused
// as malformed instead of being read with an older call's metadata. Native
// calls never run JS, so no other call can overwrite the scratch between
// filling it and the addon reading it.
const SLOT = 33;
const SLOTS = 16;
const scratch = new Float64Array(SLOT * SLOTS);

function isRef(r: unknown): r is Ref {
  return Array.isArray(r) && r.length === 4 && Array.isArray(r[2]) && Array.isArray(r[3]) && r[2].length === r[3].length;
}

/** Writes r's metadata into slot i and returns what the addon takes in its place. */
function put(i: number, r: Ref | null): unknown {
  const base = i * SLOT;
  if (!isRef(r)) {
    scratch[base] = 0;
    return r;
  }
  const shape = r[2],
    strides = r[3];
  const n = shape.length;
  scratch[base] = 1 + 2 * n;
  // More than 16 dims: the length alone goes in, and the addon refuses it
  // by name.
  if (n > 16) return r[0];
  scratch[base + 1] = r[1];
  for (let k = 0; k < n; k++) {
    scratch[base + 2 + k] = shape[k];
    scratch[base + 2 + n + k] = strides[k];
  }
  return r[0];
}

type Fn = (...args: unknown[]) => unknown;

// Whether a typed array's memory is gone: its ArrayBuffer was transferred
// (postMessage, structuredClone with transfer) or otherwise detached.
// ArrayBuffer.prototype.detached is newer than Node 20; a detached buffer
// also reads byteLength 0.
function isDetached(d: unknown): boolean {
  if (!ArrayBuffer.isView(d)) return false;
  const buf = d.buffer as ArrayBuffer & { detached?: boolean };
  return buf.detached ?? (d.byteLength === 0 && buf.byteLength === 0);
}

/**
 * A native call's error, explained where it can be: the addon sees a
 * detached typed array as a zero-length buffer and says "view out of
 * bounds of its storage"; the cause is the tensor's memory having been
 * transferred away. Runs on the error path only, so calls that succeed pay
 * nothing (a try/catch costs nothing in V8 until it throws).
 */
function explain(err: unknown, args: readonly unknown[]): unknown {
  if (!(err instanceof Error) || !err.message.includes('view out of bounds of its storage')) return err;
  for (const a of args) {
    if (isDetached(isRef(a) ? a[0] : a)) {
      const colon = err.message.indexOf(':');
      const op = colon > 0 ? err.message.slice(0, colon) : 'kindling';
      return new Error(`${op}: a tensor has lost its memory (its ArrayBuffer was transferred or detached)`);
    }
  }
  return err;
}

// Note [Half kernels]: the addon knows no float16 or bfloat16 (Note [Half
// storage]), and refuses a Uint16Array as an unsupported typed array. So
// every export called with a half storage runs here instead, on float32:
// each half storage the call's Refs reach is widened over the span they
// touch (exactly: float32 holds every half value) into one float32 scratch
// shared by all its Refs (so in-place and overlapping calls see the
// aliasing they would have), the kernel runs on those, and each scratch
// element the kernel changed is rounded back to nearest even. Elements
// left as they were keep their bits, so an input is never rewritten. This
// is PyTorch's CPU way with half: compute in float, round the result.

function isHalfRef(r: unknown): boolean {
  return Array.isArray(r) && r[0] instanceof Uint16Array;
}

/**
 * The lowest and highest element of its storage a half Ref touches, or
 * null when it has no elements; throws, naming the export, where the addon
 * would refuse the Ref (the same checks as native/binding/args.cc).
 */
function halfSpan(name: string, r: Ref): [number, number] | null {
  if (!isRef(r)) throw new TypeError(`${name}: malformed tensor metadata`);
  const shape = r[2],
    strides = r[3];
  if (shape.length > 16) throw new RangeError(`${name}: too many dimensions (${shape.length} > 16)`);
  let lo = r[1],
    hi = r[1],
    empty = false;
  if (!Number.isSafeInteger(lo) || lo < 0) throw new RangeError(`${name}: invalid storage offset ${lo} (expected an integer >= 0)`);
  for (let d = 0; d < shape.length; d++) {
    if (!Number.isSafeInteger(shape[d]) || shape[d] < 0 || !Number.isSafeInteger(strides[d]))
      throw new RangeError(`${name}: invalid size ${shape[d]} or stride ${strides[d]} at dim ${d}`);
    if (shape[d] === 0) empty = true;
    const span = (shape[d] - 1) * strides[d];
    if (span > 0) hi += span;
    else lo += span;
  }
  if (empty) return null;
  if (lo < 0 || hi >= (r[0] as Uint16Array).length) throw explain(new RangeError(`${name}: view out of bounds of its storage`), [r]);
  return [lo, hi];
}

/** `call` with every half Ref of args replaced by a float32 one, then the changed values rounded back. */
function viaFloat32(name: string, call: Fn, args: unknown[]): unknown {
  const spans = new Map<Uint16Array, [number, number]>();
  const refs: (Ref | null)[] = args.map((a) => (isHalfRef(a) ? (a as Ref) : null));
  for (const r of refs) {
    if (r === null) continue;
    const span = halfSpan(name, r);
    if (span === null) continue;
    const data = r[0] as Uint16Array;
    const s = spans.get(data);
    spans.set(data, s === undefined ? span : [Math.min(s[0], span[0]), Math.max(s[1], span[1])]);
  }
  const wide = new Map<Uint16Array, Float32Array>();
  for (const [data, [lo, hi]] of spans) {
    const f = new Float32Array(hi - lo + 1);
    halfToFloat32(data, lo, f, 0, f.length, data instanceof BFloat16Bits);
    wide.set(data, f);
  }
  const none = new Float32Array(0);
  const callArgs = args.slice();
  refs.forEach((r, i) => {
    if (r === null) return;
    const f = wide.get(r[0] as Uint16Array);
    // A Ref of no elements reads nothing: any float32 storage will do.
    callArgs[i] = f === undefined ? makeRef(none, 0, r[2], r[3]) : makeRef(f, r[1] - spans.get(r[0] as Uint16Array)![0], r[2], r[3]);
  });
  const result = call(...callArgs);
  for (const [data, f] of wide) float32ToHalfChanged(f, 0, data, spans.get(data)![0], f.length, data instanceof BFloat16Bits);
  return result;
}

/**
 * A copy between two storages of one half dtype moves the 2-byte items
 * themselves (PyTorch's clone keeps a NaN's payload; a trip through float32
 * would not), over any strides of equal shapes. False when it does not
 * apply (other dtypes, shapes or overlapping memory), for viaFloat32.
 */
function copyHalfBits(src: Ref, dst: Ref): boolean {
  if (!isRef(src) || !isRef(dst)) return false;
  const a = src[0],
    b = dst[0],
    shape = src[2];
  if (!(a instanceof Uint16Array) || !(b instanceof Uint16Array) || a.constructor !== b.constructor) return false;
  if (a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength) return false;
  if (shape.length !== dst[2].length || shape.some((n, d) => n !== dst[2][d])) return false;
  if (halfSpan('copy', src) === null || halfSpan('copy', dst) === null) return true;
  const nd = shape.length;
  const inner = nd === 0 ? 1 : shape[nd - 1],
    sa = nd === 0 ? 0 : src[3][nd - 1],
    sb = nd === 0 ? 0 : dst[3][nd - 1];
  const idx = new Array<number>(Math.max(nd - 1, 0)).fill(0);
  let oa = src[1],
    ob = dst[1];
  for (;;) {
    for (let i = 0; i < inner; i++) b[ob + i * sb] = a[oa + i * sa];
    // Odometer over the outer dims.
    let d = nd - 2;
    for (; d >= 0; d--) {
      oa += src[3][d];
      ob += dst[3][d];
      if (++idx[d] < shape[d]) break;
      oa -= shape[d] * src[3][d];
      ob -= shape[d] * dst[3][d];
      idx[d] = 0;
    }
    if (d < 0) return true;
  }
}

/** The seed of a fresh thread's default generator (native/cpu/random.cc's kDefaultSeed). */
export const DEFAULT_SEED = 0x2545f4914f6cdd1dn;

/**
 * This JS thread's default generator state, [seed, word]: what torch.rand
 * and every sampler without a generator draws from. A module-level value,
 * so each worker thread has its own and torch.manualSeed in a worker seeds
 * that worker only (Note [Per-thread random state]).
 */
export const defaultRngState = new BigUint64Array([DEFAULT_SEED, 0n]);

/** A seed as the generator keys it: negative seeds wrap as two's complement (torch.manual_seed). */
export function seedBits(seed: number | bigint, op: string): bigint {
  if (typeof seed === 'bigint') {
    if (seed < -(2n ** 63n) || seed >= 2n ** 64n) throw new RangeError(`${op}: seed ${seed} is out of range [-2^63, 2^64)`);
    return BigInt.asUintN(64, seed);
  }
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new TypeError(`${op}: seed must be a finite number, got ${String(seed)}`);
  if (!(seed >= -9.2e18 && seed <= 1.8e19)) throw new RangeError(`${op}: seed ${seed} is out of range [-2^63, 2^64)`);
  return BigInt.asUintN(64, BigInt(Math.trunc(seed)));
}

/** The addon's functions with Refs turned into data plus scratch metadata. */
function wrapAddon(raw: NativeAddon & { setMetaScratch(s: Float64Array): void }): NativeAddon {
  raw.setMetaScratch(scratch);
  const r = raw as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(r)) {
    const f = r[key];
    if (typeof f !== 'function') {
      out[key] = f;
      continue;
    }
    const fn = f as Fn;
    // Cold exports: any argument that is a Ref is replaced. A rest array is
    // fine here; the hot exports below have fixed-arity wrappers.
    const cold = (out[key] = (...args: unknown[]): unknown => {
      if (args.some(isHalfRef)) return viaFloat32(key, cold, args);
      for (let i = 0; i < args.length; i++) args[i] = put(i, args[i] as Ref);
      try {
        return fn(...args);
      } catch (e) {
        throw explain(e, args);
      }
    });
  }
  const w = out as unknown as NativeAddon;
  const f = raw as unknown as Record<keyof NativeAddon, Fn>;
  const unary = f.unary,
    binary = f.binary,
    binaryScalar = f.binaryScalar,
    where = f.where,
    copy = f.copy;
  const fill = f.fill,
    clamp = f.clamp,
    reduce = f.reduce,
    matmul = f.matmul,
    sgdStep = f.sgdStep,
    adamStep = f.adamStep;
  w.unary = (op, x, o) => {
    if (isHalfRef(x) || isHalfRef(o)) return void viaFloat32('unary', w.unary as Fn, [op, x, o]);
    try {
      unary(op, put(1, x), put(2, o));
    } catch (e) {
      throw explain(e, [x, o]);
    }
  };
  w.binary = (op, a, b, o) => {
    if (isHalfRef(a) || isHalfRef(b) || isHalfRef(o)) return void viaFloat32('binary', w.binary as Fn, [op, a, b, o]);
    try {
      binary(op, put(1, a), put(2, b), put(3, o));
    } catch (e) {
      throw explain(e, [a, b, o]);
    }
  };
  w.binaryScalar = (op, a, s, first, o) => {
    if (isHalfRef(a) || isHalfRef(o)) return void viaFloat32('binaryScalar', w.binaryScalar as Fn, [op, a, s, first, o]);
    try {
      binaryScalar(op, put(1, a), s, first, put(4, o));
    } catch (e) {
      throw explain(e, [a, o]);
    }
  };
  w.where = (c, a, b, o) => {
    if (isHalfRef(c) || isHalfRef(a) || isHalfRef(b) || isHalfRef(o)) return void viaFloat32('where', w.where as Fn, [c, a, b, o]);
    try {
      where(put(0, c), put(1, a), put(2, b), put(3, o));
    } catch (e) {
      throw explain(e, [c, a, b, o]);
    }
  };
  w.copy = (src, dst) => {
    if (isHalfRef(src) || isHalfRef(dst)) {
      if (!copyHalfBits(src, dst)) viaFloat32('copy', w.copy as Fn, [src, dst]);
      return;
    }
    try {
      copy(put(0, src), put(1, dst));
    } catch (e) {
      throw explain(e, [src, dst]);
    }
  };
  w.fill = (dst, v) => {
    if (isHalfRef(dst)) return void viaFloat32('fill', w.fill as Fn, [dst, v]);
    try {
      fill(put(0, dst), v);
    } catch (e) {
      throw explain(e, [dst]);
    }
  };
  w.clamp = (x, lo, hi, o) => {
    if (isHalfRef(x) || isHalfRef(o)) return void viaFloat32('clamp', w.clamp as Fn, [x, lo, hi, o]);
    try {
      clamp(put(0, x), lo, hi, put(3, o));
    } catch (e) {
      throw explain(e, [x, o]);
    }
  };
  w.reduce = (op, x, dims, corr, o) => {
    if (isHalfRef(x) || isHalfRef(o)) return void viaFloat32('reduce', w.reduce as Fn, [op, x, dims, corr, o]);
    try {
      reduce(op, put(1, x), dims, corr, put(4, o));
    } catch (e) {
      throw explain(e, [x, o]);
    }
  };
  w.matmul = (a, b, o) => {
    if (isHalfRef(a) || isHalfRef(b) || isHalfRef(o)) return void viaFloat32('matmul', w.matmul as Fn, [a, b, o]);
    try {
      matmul(put(0, a), put(1, b), put(2, o));
    } catch (e) {
      throw explain(e, [a, b, o]);
    }
  };
  w.sgdStep = (p, g, buf, lr, mom, damp, wd, nest, max, init) => {
    try {
      sgdStep(put(0, p), put(1, g), put(2, buf), lr, mom, damp, wd, nest, max, init);
    } catch (e) {
      throw explain(e, [p, g, buf]);
    }
  };
  // The samplers draw from this thread's default generator unless given a state.
  const uniform = f.uniform,
    normal = f.normal,
    randint = f.randint,
    randperm = f.randperm,
    bernoulli = f.bernoulli;
  const rng = (op: Fn, args: unknown[], refs: unknown[]) => {
    try {
      op(...args);
    } catch (e) {
      throw explain(e, refs);
    }
  };
  w.uniform = (o, lo, hi, st) => rng(uniform, [put(0, o), lo, hi, st ?? defaultRngState], [o]);
  w.normal = (o, mean, std, st) => rng(normal, [put(0, o), mean, std, st ?? defaultRngState], [o]);
  w.randint = (o, lo, hi, st) => rng(randint, [put(0, o), lo, hi, st ?? defaultRngState], [o]);
  w.randperm = (o, st) => rng(randperm, [put(0, o), st ?? defaultRngState], [o]);
  w.bernoulli = (o, p, st) => rng(bernoulli, [put(0, o), p, st ?? defaultRngState], [o]);
  w.manualSeed = (seed) => {
    defaultRngState[0] = seedBits(seed, 'manualSeed');
    defaultRngState[1] = 0n;
  };
  w.adamStep = (p, g, m, v, mx, lr, b1, b2, eps, wd, step, ams, max, dec) => {
    try {
      adamStep(put(0, p), put(1, g), put(2, m), put(3, v), put(4, mx), lr, b1, b2, eps, wd, step, ams, max, dec);
    } catch (e) {
      throw explain(e, [p, g, m, v, mx]);
    }
  };
  // The remaining fixed-arity wrappers run per parameter or per sampler
  // call, not per small op: a rest-array check is cheap enough there.
  const guarded = w as unknown as Record<string, Fn>;
  for (const key of ['sgdStep', 'adamStep', 'uniform', 'normal', 'randint', 'randperm', 'bernoulli']) {
    const inner = guarded[key];
    const outer: Fn = (guarded[key] = (...args: unknown[]): unknown =>
      args.some(isHalfRef) ? viaFloat32(key, outer, args) : inner(...args));
  }
  return w;
}

/**
 * An addon built from another ops.h than these sources (an old build left in
 * build/) would run the wrong kernel for a name: refuse it, saying what to do.
 */
function checkKernelNames(addon: NativeAddon): NativeAddon {
  const tables: [string, Record<string, number>, readonly string[]][] = [
    ['unaryOps', addon.unaryOps, UNARY_OPS],
    ['binaryOps', addon.binaryOps, BINARY_OPS],
    ['reduceOps', addon.reduceOps, REDUCE_OPS],
  ];
  for (const [what, table, names] of tables) {
    const have = Object.keys(table ?? {})
        .sort()
        .join(','),
      want = [...names].sort().join(',');
    if (have !== want) {
      throw new Error(
        `kindling: the native addon's ${what} do not match native/common/ops.h (addon: ${have || 'none'}; sources: ${want}). ` +
          'The addon is out of date: rebuild it with npm run build:native',
      );
    }
  }
  return addon;
}

export const native: NativeAddon = checkKernelNames(wrapAddon(load() as NativeAddon & { setMetaScratch(s: Float64Array): void }));

// Note [Thread count from the environment]: as PyTorch, the kernels' thread
// count starts at OMP_NUM_THREADS when it is set (KINDLING_NUM_THREADS
// first, to set Kindling's alone), else at the machine's cores. kindling-run
// sets OMP_NUM_THREADS to cores / ranks, so that the ranks of one machine
// do not oversubscribe it; a value that is not a positive integer is ignored.
{
  const want = process.env.KINDLING_NUM_THREADS || process.env.OMP_NUM_THREADS;
  if (want && /^\d+$/.test(want) && Number(want) > 0) native.setNumThreads(Math.min(Number(want), 1024));
}
