// The loader and typed interface of kindling_dist.node, torch.distributed's
// native module (native/distributed/). It is separate from the main addon
// so that Kindling needs no Gloo unless torch.distributed is used: it is
// built only where libgloo-dev is installed (scripts/detect-gloo.cjs) and
// loaded on first use.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The typed arrays the Gloo collectives take: a contiguous CPU tensor's elements. */
export type CommArray = Float32Array | Float64Array | BigInt64Array;

/**
 * What the NCCL collectives take: a contiguous CUDA tensor's device memory (its address from the main addon's
 * cudaDataPointer) and the storage that owns it, which the collective keeps referenced until it is done.
 */
export interface DeviceBuffer {
  ptr: bigint;
  count: number;
  dtype: 'float32' | 'float64' | 'int64';
  storage: object;
}

/** A collective's buffer: host memory for 'gloo', device memory for 'nccl'. */
export type CommBuffer = CommArray | DeviceBuffer;

/** A finished-or-not collective (native/distributed/addon.cc's WorkWrap). */
export interface NativeWork {
  /** Blocks until done; throws the communication error. */
  wait(): void;
  isCompleted(): boolean;
}

/** What every collective returns: settles on the JS thread when done, and the handle to block on. */
export type Launched = [Promise<void>, NativeWork];

export interface NativeStore {
  set(key: string, value: Uint8Array): void;
  get(key: string): Uint8Array;
  add(key: string, delta: number): number;
  check(key: string): boolean;
  wait(keys: string[], timeoutMs?: number): void;
  close(): void;
  prefixed(prefix: string): NativeStore;
  port(): number;
}

/** A Gloo group (NativeProcessGroup, CommArray buffers) or an NCCL group (NativeNcclGroup, DeviceBuffer buffers). */
export interface NativeProcessGroup {
  allreduce(a: CommBuffer, op: number): Launched;
  broadcast(a: CommBuffer, root: number): Launched;
  allgather(a: CommBuffer, outs: CommBuffer[]): Launched;
  reduceScatter(ins: CommBuffer[], out: CommBuffer, op: number): Launched;
  gather(a: CommBuffer, outs: CommBuffer[] | null, root: number): Launched;
  scatter(ins: CommBuffer[] | null, out: CommBuffer, root: number): Launched;
  barrier(): Launched;
  destroy(): void;
}

export interface DistAddon {
  NativeStore: {
    new (kind: 'tcp', host: string, port: number, isMaster: boolean, timeoutMs: number): NativeStore;
    new (kind: 'file', dir: string, timeoutMs: number): NativeStore;
  };
  NativeProcessGroup: new (
    store: NativeStore,
    rank: number,
    size: number,
    timeoutMs: number,
    hostname: string,
    iface: string | undefined,
  ) => NativeProcessGroup;
  /** Joins an NCCL communicator on the CUDA device (native/distributed/nccl.h). */
  NativeNcclGroup: new (store: NativeStore, rank: number, size: number, timeoutMs: number, device: number) => NativeProcessGroup;
  localAddressToward(host: string): string;
  ncclVersion(): number;
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('kindling: cannot find the package root to load kindling_dist.node');
    dir = up;
  }
}

const INSTALL_HINT =
  'torch.distributed needs Gloo: install it (Debian/Ubuntu: apt-get install libgloo-dev, which brings the libgloo0 ' +
  'library), then build the native modules from source (npm rebuild kindling --build-from-source, or npm run ' +
  'build:native in a checkout): prebuilt binaries never include it, since Gloo has no stable ABI';

let cached: DistAddon | null = null;
let loadError: Error | null = null;

/**
 * The dist module, loaded on first use: KINDLING_DIST_ADDON (a path) when
 * set, else build/Release/kindling_dist.node. Throws saying what to install
 * when it was not built (no libgloo-dev at build time) or cannot load
 * (libgloo0 removed since).
 */
export function distAddon(): DistAddon {
  if (cached !== null) return cached;
  if (loadError !== null) throw loadError;
  const require = createRequire(import.meta.url);
  const fromEnv = process.env.KINDLING_DIST_ADDON;
  const path = fromEnv ? resolve(fromEnv) : join(packageRoot(), 'build', 'Release', 'kindling_dist.node');
  if (!existsSync(path)) {
    loadError = new Error(`torch.distributed: the native module ${path} was not built. ${INSTALL_HINT}`);
    throw loadError;
  }
  try {
    cached = require(path) as DistAddon;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    loadError = new Error(
      `torch.distributed: could not load ${path}: ${why}. ${/libgloo/.test(why) ? 'libgloo0 is missing: ' : ''}${INSTALL_HINT}`,
    );
    throw loadError;
  }
  return cached;
}

/** Whether the dist module loads (without throwing). */
export function distAvailable(): boolean {
  try {
    distAddon();
    return true;
  } catch {
    return false;
  }
}
