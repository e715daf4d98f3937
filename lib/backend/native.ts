// The typed interface of the native addon and its loader. Every native
// function the TypeScript layer calls is declared here, so a missing or
// renamed binding fails `tsc` instead of failing at run time.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint8ClampedArray;

// How a tensor crosses into native code (native/binding/binding.h):
// [data, offset, shape, strides], offset and strides in elements. The typed
// array's class names the dtype; bool lives in a Uint8ClampedArray.
export type Ref = [TypedArray, number, readonly number[], readonly number[]];

export interface NativeConfig {
  blas: string;
  usingBlas: boolean;
  simd: string;
  threads: number;
  cuda: boolean;
}

export interface NativeAddon {
  unaryOps: Record<string, number>;
  binaryOps: Record<string, number>;
  reduceOps: Record<string, number>;
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
  indexSelect(x: Ref, dim: number, index: Ref, out: Ref): void;
  indexCopy(out: Ref, dim: number, index: Ref, src: Ref): void;
  indexAdd(out: Ref, dim: number, index: Ref, src: Ref, alpha: number): void;
  gather(x: Ref, dim: number, index: Ref, out: Ref): void;
  scatterAdd(out: Ref, dim: number, index: Ref, src: Ref): void;
  scatter(out: Ref, dim: number, index: Ref, src: Ref): void;
  matmul(a: Ref, b: Ref, out: Ref): void;
  manualSeed(seed: number): void;
  uniform(out: Ref, low: number, high: number): void;
  normal(out: Ref, mean: number, std: number): void;
  randint(out: Ref, low: number, high: number): void;
  randperm(out: Ref): void;
  bernoulli(out: Ref, p: number): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setUseBlas(on: boolean): void;
  config(): NativeConfig;
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

function load(): NativeAddon {
  const require = createRequire(import.meta.url);
  const root = packageRoot();
  try {
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return nodeGypBuild(root) as NativeAddon;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(
      `kindling: could not load the native addon for ${process.platform}-${process.arch} (node ${process.version}).\n` +
        `  ${why}\n` +
        `There is no prebuilt binary for this platform, or it failed to load. To build from source, install a C++17\n` +
        `compiler and Python 3 (for node-gyp), optionally OpenBLAS (Debian: apt-get install libopenblas-pthread-dev),\n` +
        `then run: npm rebuild kindling`,
    );
  }
}

export const native: NativeAddon = load();
