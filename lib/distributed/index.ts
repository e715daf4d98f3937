// torch.distributed on Gloo (issue 18): process groups, the collectives and
// the rendezvous, in PyTorch's names (camelCase). The communication runs in
// kindling_dist.node (native/distributed/), loaded on first use: each
// process group has a worker thread that runs its collectives in the order
// they were issued, so `asyncOp: true` returns at once with a Work while JS
// goes on, and the default blocks until the collective is done. Every
// collective works in place on contiguous CPU float32/float64/int64
// tensors' memory.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../tensor.js';
import { checkOptions, fmtValue, isOptions } from '../util/args.js';
import { processGroupInfo } from '../data/distributed_sampler.js';
import { isAvailable as cudaIsAvailable, cuda, deviceIndex, type Device } from '../backend/cuda.js';
import { native, type CudaBuffer } from '../backend/native.js';
import {
  distAddon,
  distAvailable,
  type CommArray,
  type CommBuffer,
  type DeviceBuffer,
  type NativeProcessGroup,
  type NativeWork,
} from './native.js';
import { FileStore, Store, TCPStore } from './store.js';

export { Store, TCPStore, FileStore } from './store.js';
export type { TCPStoreOptions } from './store.js';

/** The communication backends: 'gloo' (CPU tensors) and 'nccl' (NVIDIA GPUs, loaded at run time). */
export type Backend = 'gloo' | 'nccl';

/** torch.distributed.ReduceOp: how allReduce and reduceScatter combine the ranks' values. */
export const ReduceOp = {
  /** The sum over ranks. */
  SUM: 'sum',
  /** The mean over ranks (the sum divided by the group's size; floating dtypes). */
  AVG: 'avg',
  /** The largest value (NaN when any rank has NaN). */
  MAX: 'max',
  /** The smallest value (NaN when any rank has NaN). */
  MIN: 'min',
  /** The product over ranks. */
  PRODUCT: 'product',
} as const;
/** One of ReduceOp's values. */
export type ReduceOpName = (typeof ReduceOp)[keyof typeof ReduceOp];
// The codes of native/distributed/process_group.h's ReduceOp.
const OP_CODES: Record<ReduceOpName, number> = { sum: 0, product: 1, max: 2, min: 3, avg: 4 };

/** PyTorch's default process-group timeout (30 minutes), in milliseconds. */
export const DEFAULT_TIMEOUT = 1_800_000;

/**
 * A collective in flight (asyncOp: true). Wait for it before reading or writing its tensors: wait() blocks the
 * JS thread until it is done, while `await work` (or work.promise()) lets the event loop run meanwhile. Either
 * throws the communication error (a peer that died, a timeout).
 */
export class Work implements PromiseLike<void> {
  private readonly done: Promise<void>;

  /** @internal */
  constructor(
    private readonly native: NativeWork,
    settled: Promise<void>,
    private readonly opName: string,
  ) {
    this.done = settled.then(
      () => undefined,
      (e: unknown) => {
        throw this.error(e);
      },
    );
    // A Work nobody waits for must not end the process with an
    // unhandled rejection: its error is for whoever asks.
    this.done.catch(() => undefined);
  }

  private error(e: unknown): Error {
    return new Error(`torch.distributed.${this.opName}: ${e instanceof Error ? e.message : String(e)}`);
  }

  /** Blocks until the collective is done; returns true, or throws its error. */
  wait(): boolean {
    try {
      this.native.wait();
    } catch (e) {
      throw this.error(e);
    }
    return true;
  }

  /** Whether the collective has finished (successfully or not). */
  isCompleted(): boolean {
    return this.native.isCompleted();
  }

  /** A promise settled when the collective is done (it never blocks the event loop). */
  promise(): Promise<void> {
    return this.done;
  }

  /** Makes a Work awaitable: `await work`. */
  then<R1 = void, R2 = never>(
    onFulfilled?: ((value: void) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.done.then(onFulfilled, onRejected);
  }
}

/**
 * A process group: the default one (initProcessGroup) or one of newGroup's subsets. Collectives take it as
 * `group`; src/dst ranks are always global ranks, as in PyTorch.
 */
export class ProcessGroup {
  /** @internal */ _native: NativeProcessGroup | null;
  /** The global ranks in the group, ascending. */
  readonly ranks: readonly number[];
  /** The group's backend. */
  readonly backend: Backend;

  /** @internal */
  constructor(native: NativeProcessGroup | null, ranks: readonly number[], backend: Backend) {
    this._native = native;
    this.ranks = ranks;
    this.backend = backend;
  }
  /** This process's rank in the group, or -1 when it is not a member. */
  rank(): number {
    return this.ranks.indexOf(state === null ? -1 : state.rank);
  }
  /** The number of ranks in the group. */
  size(): number {
    return this.ranks.length;
  }
}

interface State {
  rank: number;
  worldSize: number;
  localRank: number;
  backend: Backend;
  /** The CUDA device of the NCCL communicators (the current device at initProcessGroup); -1 for gloo. */
  device: number;
  timeout: number;
  store: Store;
  hostname: string;
  world: ProcessGroup;
  groups: ProcessGroup[];
  nextGroup: number;
  /** The directory of a file:// rendezvous, whose keys the last rank to leave removes. */
  fileDir: string | null;
}
let state: State | null = null;

// DistributedSampler's defaults come from the default group.
processGroupInfo.current = () => (state === null ? null : { rank: state.rank, worldSize: state.worldSize });

/** Whether torch.distributed can be used here: the dist module is built and loads (Gloo installed). */
export function isAvailable(): boolean {
  return distAvailable();
}

/** Whether the Gloo backend is available (same as isAvailable: the dist module is Gloo's). */
export function isGlooAvailable(): boolean {
  return distAvailable();
}

/** Whether the NCCL backend can load: libnccl.so.2 opens and a CUDA GPU is present. */
export function isNcclAvailable(): boolean {
  if (!distAvailable()) return false;
  try {
    distAddon().ncclVersion();
  } catch {
    return false;
  }
  return cudaIsAvailable();
}

/** Whether initProcessGroup has run (and destroyProcessGroup not since). */
export function isInitialized(): boolean {
  return state !== null;
}

function current(op: string): State {
  if (state === null) throw new Error(`torch.distributed.${op}: the default process group is not initialized; call initProcessGroup first`);
  return state;
}

function envInt(names: readonly string[]): { name: string; value: number } | null {
  for (const name of names) {
    const text = process.env[name];
    if (text === undefined || text === '') continue;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0) {
      throw new Error(
        `torch.distributed.initProcessGroup: environment variable ${name} must be a non-negative integer, got ${JSON.stringify(text)}`,
      );
    }
    return { name, value };
  }
  return null;
}

// Where the launchers put the ranks: torchrun and ours (RANK...), mpirun
// (Open MPI's OMPI_COMM_WORLD_*) and srun (SLURM_*).
const RANK_VARS = ['RANK', 'OMPI_COMM_WORLD_RANK', 'PMI_RANK', 'SLURM_PROCID'];
const SIZE_VARS = ['WORLD_SIZE', 'OMPI_COMM_WORLD_SIZE', 'PMI_SIZE', 'SLURM_NTASKS'];
const LOCAL_RANK_VARS = ['LOCAL_RANK', 'OMPI_COMM_WORLD_LOCAL_RANK', 'MPI_LOCALRANKID', 'SLURM_LOCALID'];

/** Options of {@link initProcessGroup}. */
export interface InitProcessGroupOptions {
  /** 'gloo' (default) or 'nccl'. */
  backend?: Backend;
  /**
   * 'env://' (default: MASTER_ADDR and MASTER_PORT), 'tcp://host:port', or 'file:///path' (a directory every rank
   * can see; emptied when the last rank calls destroyProcessGroup, so the next job may use it again).
   */
  initMethod?: string;
  /** This process's rank; default from RANK, OMPI_COMM_WORLD_RANK or SLURM_PROCID. */
  rank?: number;
  /** The number of processes; default from WORLD_SIZE, OMPI_COMM_WORLD_SIZE or SLURM_NTASKS. */
  worldSize?: number;
  /** Milliseconds to wait for the other ranks and for each collective (default 1800000, PyTorch's 30 minutes). */
  timeout?: number;
  /** A store to rendezvous through instead of initMethod (with rank and worldSize). */
  store?: Store;
}

function parseInitMethod(method: string, rank: number, timeout: number): { store: Store; hostname: string; fileDir: string | null } {
  const owner = 'torch.distributed.initProcessGroup';
  if (method.startsWith('file://')) {
    const path = decodeURIComponent(method.slice('file://'.length));
    if (path === '') throw new Error(`${owner}: initMethod ${JSON.stringify(method)} names no path`);
    const store = new FileStore(path, { timeout });
    // This rank's join key is written only by this rank, during the
    // rendezvous: found before it, it is an earlier job's, and that job's
    // addresses would be dialed (a connect timeout naming no cause).
    if (store.check([`${DEFAULT_PG_PREFIX}join/${rank}`])) {
      store.close();
      throw new Error(
        `${owner}: the file:// store ${path} holds the keys of an earlier job that did not call destroyProcessGroup ` +
          `(or still runs); remove ${path} or give a new path`,
      );
    }
    return { store, hostname: '127.0.0.1', fileDir: path };
  }
  let host: string;
  let portText: string;
  if (method === 'env://') {
    const addr = process.env.MASTER_ADDR;
    const port = process.env.MASTER_PORT;
    if (!addr || !port) {
      throw new Error(
        `${owner}: initMethod 'env://' needs MASTER_ADDR and MASTER_PORT (the address and a free port of rank 0), ` +
          `got MASTER_ADDR=${addr ?? '(unset)'} MASTER_PORT=${port ?? '(unset)'}`,
      );
    }
    host = addr;
    portText = port;
  } else if (method.startsWith('tcp://')) {
    const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(method);
    if (m === null) throw new Error(`${owner}: initMethod must look like 'tcp://host:port', got ${JSON.stringify(method)}`);
    host = m[1].replace(/^\[|\]$/g, '');
    portText = m[2];
  } else {
    throw new Error(`${owner}: initMethod must be 'env://', 'tcp://host:port' or 'file:///path', got ${JSON.stringify(method)}`);
  }
  const port = Number(portText);
  // Port 0 lets the master pick a free port: only a one-rank job can use it,
  // since the others could not know which.
  if (!Number.isInteger(port) || port < 0 || port > 65535 || (port === 0 && rank !== 0)) {
    throw new Error(`${owner}: bad port ${JSON.stringify(portText)} in ${method}`);
  }
  const store = new TCPStore(host, port, { isMaster: rank === 0, timeout });
  return { store, hostname: distAddon().localAddressToward(host), fileDir: null };
}

const DEFAULT_PG_PREFIX = 'default_pg/';
/** The file:// store's key counting the ranks that have left (destroyProcessGroup). */
const LEFT_KEY = 'kindling/left';

/**
 * Empties a file:// rendezvous directory once every rank has left, so the path can be given to the next job (as
 * PyTorch's FileStore deletes its file when its last user goes). Each rank counts itself out; the last one removes
 * the store's entries (key files, their temporaries, the lock), nothing else.
 */
function leaveFileStore(s: State): void {
  if (s.fileDir === null) return;
  try {
    if (s.store.add(LEFT_KEY, 1) < s.worldSize) return;
    for (const name of readdirSync(s.fileDir)) {
      if (/^k[0-9a-f]*(\.tmp.*)?$/.test(name) || name === 'lock') rmSync(join(s.fileDir, name), { force: true });
    }
  } catch {
    // The directory went away or cannot be written: leaving the group still
    // succeeds, and a next job on the path is refused naming the fix.
  }
}

/** A Gloo group, or an NCCL communicator on CUDA device `device` (>= 0). */
function makeGroup(
  store: Store,
  prefix: string,
  rank: number,
  size: number,
  timeout: number,
  hostname: string,
  device: number,
): NativeProcessGroup {
  const prefixed = store._open('initProcessGroup').prefixed(prefix);
  const pg =
    device >= 0
      ? new (distAddon().NativeNcclGroup)(prefixed, rank, size, timeout, device)
      : new (distAddon().NativeProcessGroup)(prefixed, rank, size, timeout, hostname, process.env.GLOO_SOCKET_IFNAME);
  // After this barrier no rank reads the group's rendezvous keys again, so
  // rank 0 may close the store (destroyProcessGroup) without cutting off a
  // rank still connecting.
  pg.barrier()[1].wait();
  return pg;
}

/**
 * torch.distributed.init_process_group: joins this process to the default process group and returns when every
 * rank has joined. Rank 0 hosts the rendezvous store (env:// and tcp://) at MASTER_ADDR:MASTER_PORT; the others
 * connect to it. Throws after `timeout` ms naming the rank that never came, and saying what to install when
 * Gloo (libgloo-dev) or, for 'nccl', NCCL and CUDA are missing. With 'nccl' the communicator lives on the
 * current CUDA device: call torch.cuda.setDevice(localRank) first, as in PyTorch.
 */
export function initProcessGroup(opts?: InitProcessGroupOptions): void {
  const owner = 'torch.distributed.initProcessGroup';
  checkOptions(owner, opts, ['backend', 'initMethod', 'rank', 'worldSize', 'timeout', 'store']);
  if (state !== null) throw new Error(`${owner}: the default process group is already initialized (call destroyProcessGroup first)`);
  const backend = opts?.backend ?? 'gloo';
  if (backend !== 'gloo' && backend !== 'nccl') throw new Error(`${owner}: backend must be 'gloo' or 'nccl', got ${fmtValue(backend)}`);
  const timeout = opts?.timeout ?? DEFAULT_TIMEOUT;
  if (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout)) {
    throw new RangeError(`${owner}: timeout must be a positive number of milliseconds, got ${fmtValue(timeout)}`);
  }
  const rankFrom = opts?.rank !== undefined ? { name: 'rank', value: opts.rank } : envInt(RANK_VARS);
  const sizeFrom = opts?.worldSize !== undefined ? { name: 'worldSize', value: opts.worldSize } : envInt(SIZE_VARS);
  if (rankFrom === null || sizeFrom === null) {
    throw new Error(
      `${owner}: rank and worldSize must be given, or set in the environment (RANK and WORLD_SIZE, as torchrun, mpirun or srun do)`,
    );
  }
  const rank = rankFrom.value;
  const worldSize = sizeFrom.value;
  if (!Number.isInteger(worldSize) || worldSize < 1)
    throw new RangeError(`${owner}: worldSize must be a positive integer, got ${fmtValue(worldSize)}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
    throw new RangeError(
      `${owner}: rank must be an integer in [0, ${worldSize - 1}] (worldSize ${worldSize}), got ${fmtValue(rank)} (from ${rankFrom.name})`,
    );
  }
  const localRank = envInt(LOCAL_RANK_VARS)?.value ?? rank;
  distAddon(); // says what to install before anything else happens
  let device = -1;
  if (backend === 'nccl') {
    // Throws saying what to install when libnccl.so.2 is missing.
    distAddon().ncclVersion();
    if (!cudaIsAvailable())
      throw new Error(`${owner}: backend 'nccl' needs a CUDA GPU, and torch.cuda.isAvailable() is false here; use backend 'gloo'`);
    // PyTorch's rule: each rank works on the current device, which the
    // script sets (torch.cuda.setDevice(localRank)) before this call.
    device = cuda.currentDevice();
  }
  let store: Store;
  let hostname: string;
  let fileDir: string | null = null;
  if (opts?.store !== undefined) {
    if (!(opts.store instanceof Store)) throw new TypeError(`${owner}: store must be a TCPStore or FileStore, got ${fmtValue(opts.store)}`);
    if (opts.initMethod !== undefined) throw new Error(`${owner}: give initMethod or store, not both`);
    store = opts.store;
    hostname = '127.0.0.1';
  } else {
    const initMethod = opts?.initMethod ?? 'env://';
    if (typeof initMethod !== 'string') throw new TypeError(`${owner}: initMethod must be a string, got ${fmtValue(initMethod)}`);
    ({ store, hostname, fileDir } = parseInitMethod(initMethod, rank, timeout));
  }
  let native: NativeProcessGroup;
  try {
    native = makeGroup(store, DEFAULT_PG_PREFIX, rank, worldSize, timeout, hostname, device);
  } catch (e) {
    if (opts?.store === undefined) store.close();
    throw new Error(`${owner} (rank ${rank} of ${worldSize}): ${e instanceof Error ? e.message : String(e)}`);
  }
  const ranks = Array.from({ length: worldSize }, (_, i) => i);
  const world = new ProcessGroup(native, ranks, backend);
  state = { rank, worldSize, localRank, backend, device, timeout, store, hostname, world, groups: [world], nextGroup: 0, fileDir };
}

/**
 * torch.distributed.destroy_process_group: with no group, destroys every group and leaves the default one
 * (isInitialized() is false after it); otherwise destroys `group`. Queued collectives finish first. After a file://
 * rendezvous, the last rank to leave empties the directory of the job's keys.
 */
export function destroyProcessGroup(group?: ProcessGroup): void {
  const s = current('destroyProcessGroup');
  if (group !== undefined && group !== s.world) {
    if (!(group instanceof ProcessGroup))
      throw new TypeError(`torch.distributed.destroyProcessGroup: group must be a ProcessGroup, got ${fmtValue(group)}`);
    group._native?.destroy();
    group._native = null;
    s.groups = s.groups.filter((g) => g !== group);
    return;
  }
  for (const g of s.groups) {
    g._native?.destroy();
    g._native = null;
  }
  leaveFileStore(s);
  s.store.close();
  state = null;
}

function groupOf(op: string, group: unknown): ProcessGroup {
  const s = current(op);
  if (group === undefined || group === null) return s.world;
  if (!(group instanceof ProcessGroup))
    throw new TypeError(`torch.distributed.${op}: group must be a ProcessGroup, got ${fmtValue(group)}`);
  return group;
}

/** This process's rank in `group` (default: the default group), or -1 when it is not a member. */
export function getRank(group?: ProcessGroup): number {
  const g = groupOf('getRank', group);
  return g.rank();
}

/** The number of ranks in `group` (default: the default group). */
export function getWorldSize(group?: ProcessGroup): number {
  return groupOf('getWorldSize', group).size();
}

/** The rank of this process on its machine (LOCAL_RANK, OMPI_COMM_WORLD_LOCAL_RANK or SLURM_LOCALID; else the rank). */
export function getLocalRank(): number {
  return current('getLocalRank').localRank;
}

/** The backend of `group` (default: the default group). */
export function getBackend(group?: ProcessGroup): Backend {
  return groupOf('getBackend', group).backend;
}

/**
 * torch.distributed.new_group: a process group of some of the ranks (default: all). Every rank of the default group
 * must call it, with the same ranks, in the same order as its other newGroup calls (as in PyTorch); a rank outside
 * `ranks` gets a group it cannot use (getRank gives -1).
 */
export function newGroup(ranks?: number[], opts?: { timeout?: number; backend?: Backend }): ProcessGroup {
  const owner = 'torch.distributed.newGroup';
  checkOptions(owner, opts, ['timeout', 'backend']);
  const s = current('newGroup');
  const backend = opts?.backend ?? s.backend;
  if (backend !== s.backend) throw new Error(`${owner}: backend must be the default group's ('${s.backend}'), got ${fmtValue(backend)}`);
  const timeout = opts?.timeout ?? s.timeout;
  let list: number[];
  if (ranks === undefined || ranks === null) list = Array.from({ length: s.worldSize }, (_, i) => i);
  else {
    if (!Array.isArray(ranks)) throw new TypeError(`${owner}: ranks must be an array of ranks, got ${fmtValue(ranks)}`);
    for (const r of ranks) {
      if (!Number.isInteger(r) || r < 0 || r >= s.worldSize)
        throw new RangeError(`${owner}: rank ${fmtValue(r)} is not in [0, ${s.worldSize - 1}]`);
    }
    list = [...new Set(ranks)].sort((a, b) => a - b);
    if (list.length !== ranks.length) throw new Error(`${owner}: ranks ${fmtValue(ranks)} repeat a rank`);
    if (list.length === 0) throw new Error(`${owner}: ranks is empty`);
  }
  const id = ++s.nextGroup;
  const mine = list.indexOf(s.rank);
  let native: NativeProcessGroup | null = null;
  if (mine >= 0) {
    try {
      native = makeGroup(s.store, `group_${id}/`, mine, list.length, timeout, s.hostname, s.device);
    } catch (e) {
      throw new Error(`${owner} (ranks ${fmtValue(list)}): ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const g = new ProcessGroup(native, list, backend);
  s.groups.push(g);
  return g;
}

// ---- collectives ----------------------------------------------------------------

const OPTS_ALLREDUCE = ['op', 'group', 'asyncOp'];

/**
 * The tensor's memory as the group's native side reads and writes it: the typed array of a CPU tensor's elements
 * (gloo), or the device address of a CUDA tensor's (nccl).
 */
function commArray(op: string, t: unknown, what: string, group: ProcessGroup): CommBuffer {
  const tensor = t as Tensor;
  if (typeof t !== 'object' || t === null || !('_storage' in t))
    throw new TypeError(`torch.distributed.${op}: ${what} must be a Tensor, got ${fmtValue(t)}`);
  const engine = group.backend === 'nccl' ? 'NCCL' : 'Gloo';
  if (tensor.dtype !== 'float32' && tensor.dtype !== 'float64' && tensor.dtype !== 'int64') {
    throw new TypeError(
      `torch.distributed.${op}: ${what} has dtype ${tensor.dtype}; ${engine} collectives support float32, float64 and int64`,
    );
  }
  if (!tensor.isContiguous())
    throw new TypeError(`torch.distributed.${op}: ${what} must be contiguous (call .contiguous() on a copy and copy back)`);
  const n = tensor.numel();
  if (group.backend === 'nccl') {
    const device = state?.device ?? 0;
    if (tensor.device === 'cpu' || deviceIndex(tensor.device as Device) !== device)
      throw new TypeError(
        `torch.distributed.${op}: ${what} is on ${tensor.device}; backend 'nccl' takes tensors on this rank's device, cuda:${device}`,
      );
    const storage = tensor._storage.data as CudaBuffer;
    const buffer: DeviceBuffer = { ptr: native.cudaDataPointer(storage, tensor._offset), count: n, dtype: tensor.dtype, storage };
    return buffer;
  }
  if (tensor.device !== 'cpu')
    throw new TypeError(`torch.distributed.${op}: ${what} is on ${tensor.device}; backend 'gloo' takes CPU tensors`);
  const data = tensor._storage.data as CommArray;
  return data.subarray(tensor._offset, tensor._offset + n) as CommArray;
}

function listArrays(op: string, list: unknown, what: string, like: Tensor, group: ProcessGroup): CommBuffer[] {
  const size = group.size();
  if (!Array.isArray(list)) throw new TypeError(`torch.distributed.${op}: ${what} must be an array of tensors, got ${fmtValue(list)}`);
  if (list.length !== size)
    throw new Error(`torch.distributed.${op}: ${what} must hold one tensor per rank of the group (${size}), got ${list.length}`);
  return list.map((t: unknown, i) => {
    const a = commArray(op, t, `${what}[${i}]`, group);
    const tt = t as Tensor;
    if (tt.dtype !== like.dtype || tt.numel() !== like.numel()) {
      throw new Error(
        `torch.distributed.${op}: ${what}[${i}] is ${tt.dtype} with ${tt.numel()} elements; expected ${like.dtype} with ${like.numel()}`,
      );
    }
    return a;
  });
}

function member(op: string, group: ProcessGroup): NativeProcessGroup {
  if (group._native === null) {
    if (group.rank() < 0)
      throw new Error(`torch.distributed.${op}: this rank (${state?.rank}) is not in the group ${fmtValue(group.ranks)}`);
    throw new Error(`torch.distributed.${op}: the process group has been destroyed`);
  }
  return group._native;
}

function groupRankOf(op: string, group: ProcessGroup, global: unknown, what: string): number {
  if (!Number.isInteger(global)) throw new TypeError(`torch.distributed.${op}: ${what} must be an integer rank, got ${fmtValue(global)}`);
  const r = group.ranks.indexOf(global as number);
  if (r < 0)
    throw new RangeError(`torch.distributed.${op}: ${what} ${global as number} is not a rank of the group ${fmtValue(group.ranks)}`);
  return r;
}

function reduceOpOf(op: string, v: unknown, dtype: string): number {
  const name = v ?? 'sum';
  if (typeof name !== 'string' || !(name in OP_CODES)) {
    throw new TypeError(`torch.distributed.${op}: op must be a ReduceOp (SUM, AVG, MAX, MIN, PRODUCT), got ${fmtValue(v)}`);
  }
  if (name === 'avg' && dtype === 'int64')
    throw new TypeError(`torch.distributed.${op}: ReduceOp.AVG needs a floating dtype on gloo, got int64`);
  return OP_CODES[name as ReduceOpName];
}

// Runs a launched collective: a Work for asyncOp, else waits here.
function finish(op: string, launched: [Promise<void>, NativeWork], asyncOp: unknown, written: readonly Tensor[]): Work | undefined {
  // In-place writes, as autograd's version counter should see them.
  for (const t of written) t._bumpVersion();
  const work = new Work(launched[1], launched[0], op);
  if (asyncOp === true) return work;
  if (asyncOp !== undefined && asyncOp !== false)
    throw new TypeError(`torch.distributed.${op}: asyncOp must be a boolean, got ${fmtValue(asyncOp)}`);
  work.wait();
  return undefined;
}

// PyTorch's second parameter (all_reduce's op, broadcast's src) may come
// positionally before the options object, as in Kindling's other calls;
// given both ways it is a TypeError, as in Python.
function positional(op: string, rest: unknown[], name: string, valid: readonly string[]): Record<string, unknown> | undefined {
  const owner = `torch.distributed.${op}`;
  if (rest.length > 2) throw new TypeError(`${owner}: too many arguments (${rest.length + 1})`);
  if (rest.length === 0 || (rest.length === 1 && (rest[0] === undefined || isOptions(rest[0])))) {
    checkOptions(owner, rest[0], valid);
    return rest[0] as Record<string, unknown> | undefined;
  }
  const opts = rest[1];
  checkOptions(
    owner,
    opts,
    valid.filter((k) => k !== name),
  );
  return { ...(opts as Record<string, unknown> | undefined), [name]: rest[0] };
}

/** Options every collective takes. */
export interface CollectiveOptions {
  /** The group (default: the default group). */
  group?: ProcessGroup;
  /** Return a Work at once instead of waiting (default false). */
  asyncOp?: boolean;
}

/** Options of allReduce and reduceScatter. */
export interface ReduceOptions extends CollectiveOptions {
  /** How to combine: ReduceOp.SUM (default), AVG, MAX, MIN or PRODUCT. */
  op?: ReduceOpName;
}

/** torch.distributed.all_reduce: every rank's `tensor` becomes the reduction of all ranks' tensors, in place. */
export function allReduce(tensor: Tensor, opts: ReduceOptions & { asyncOp: true }): Work;
export function allReduce(tensor: Tensor, opts?: ReduceOptions): Work | undefined;
export function allReduce(tensor: Tensor, op: ReduceOpName, opts: CollectiveOptions & { asyncOp: true }): Work;
export function allReduce(tensor: Tensor, op: ReduceOpName, opts?: CollectiveOptions): Work | undefined;
export function allReduce(tensor: Tensor, ...rest: unknown[]): Work | undefined {
  const op = 'allReduce';
  const opts = positional(op, rest, 'op', OPTS_ALLREDUCE) as ReduceOptions | undefined;
  const group = groupOf(op, opts?.group);
  const a = commArray(op, tensor, 'tensor', group);
  const code = reduceOpOf(op, opts?.op, tensor.dtype);
  return finish(op, member(op, group).allreduce(a, code), opts?.asyncOp, [tensor]);
}

/**
 * torch.distributed.broadcast: every rank's `tensor` becomes rank `src`'s (a global rank; default 0), in place.
 * `src` may come positionally, as in PyTorch's broadcast(tensor, src).
 */
export function broadcast(tensor: Tensor, opts: CollectiveOptions & { src?: number; asyncOp: true }): Work;
export function broadcast(tensor: Tensor, opts?: CollectiveOptions & { src?: number }): Work | undefined;
export function broadcast(tensor: Tensor, src: number, opts: CollectiveOptions & { asyncOp: true }): Work;
export function broadcast(tensor: Tensor, src: number, opts?: CollectiveOptions): Work | undefined;
export function broadcast(tensor: Tensor, ...rest: unknown[]): Work | undefined {
  const op = 'broadcast';
  const opts = positional(op, rest, 'src', ['src', 'group', 'asyncOp']) as (CollectiveOptions & { src?: number }) | undefined;
  const group = groupOf(op, opts?.group);
  const a = commArray(op, tensor, 'tensor', group);
  const root = groupRankOf(op, group, opts?.src ?? 0, 'src');
  return finish(op, member(op, group).broadcast(a, root), opts?.asyncOp, [tensor]);
}

/** torch.distributed.all_gather: tensorList[r] gets rank r's `tensor`, on every rank. */
export function allGather(tensorList: Tensor[], tensor: Tensor, opts: CollectiveOptions & { asyncOp: true }): Work;
export function allGather(tensorList: Tensor[], tensor: Tensor, opts?: CollectiveOptions): Work | undefined;
export function allGather(tensorList: Tensor[], tensor: Tensor, opts?: CollectiveOptions): Work | undefined {
  const op = 'allGather';
  checkOptions(`torch.distributed.${op}`, opts, ['group', 'asyncOp']);
  const group = groupOf(op, opts?.group);
  const a = commArray(op, tensor, 'tensor', group);
  const outs = listArrays(op, tensorList, 'tensorList', tensor, group);
  return finish(op, member(op, group).allgather(a, outs), opts?.asyncOp, tensorList);
}

/** torch.distributed.reduce_scatter: `output` gets the reduction over ranks of their inputList[rank]. */
export function reduceScatter(output: Tensor, inputList: Tensor[], opts: ReduceOptions & { asyncOp: true }): Work;
export function reduceScatter(output: Tensor, inputList: Tensor[], opts?: ReduceOptions): Work | undefined;
export function reduceScatter(output: Tensor, inputList: Tensor[], opts?: ReduceOptions): Work | undefined {
  const op = 'reduceScatter';
  checkOptions(`torch.distributed.${op}`, opts, OPTS_ALLREDUCE);
  const group = groupOf(op, opts?.group);
  const out = commArray(op, output, 'output', group);
  const ins = listArrays(op, inputList, 'inputList', output, group);
  const code = reduceOpOf(op, opts?.op, output.dtype);
  return finish(op, member(op, group).reduceScatter(ins, out, code), opts?.asyncOp, [output]);
}

/** torch.distributed.gather: on rank `dst` (global; default 0), gatherList[r] gets rank r's `tensor`. */
export function gather(tensor: Tensor, opts: CollectiveOptions & { gatherList?: Tensor[]; dst?: number; asyncOp: true }): Work;
export function gather(tensor: Tensor, opts?: CollectiveOptions & { gatherList?: Tensor[]; dst?: number }): Work | undefined;
export function gather(tensor: Tensor, opts?: CollectiveOptions & { gatherList?: Tensor[]; dst?: number }): Work | undefined {
  const op = 'gather';
  checkOptions(`torch.distributed.${op}`, opts, ['gatherList', 'dst', 'group', 'asyncOp']);
  const group = groupOf(op, opts?.group);
  const a = commArray(op, tensor, 'tensor', group);
  const root = groupRankOf(op, group, opts?.dst ?? 0, 'dst');
  const list = opts?.gatherList;
  let outs: CommBuffer[] | null = null;
  if (group.rank() === root) outs = listArrays(op, list ?? null, 'gatherList', tensor, group);
  else if (list !== undefined && list !== null && list.length > 0) {
    throw new Error(`torch.distributed.${op}: gatherList must not be given on a rank other than dst (${opts?.dst ?? 0})`);
  }
  return finish(op, member(op, group).gather(a, outs, root), opts?.asyncOp, list ?? []);
}

/** torch.distributed.scatter: every rank r's `tensor` gets scatterList[r] of rank `src` (global; default 0). */
export function scatter(tensor: Tensor, opts: CollectiveOptions & { scatterList?: Tensor[]; src?: number; asyncOp: true }): Work;
export function scatter(tensor: Tensor, opts?: CollectiveOptions & { scatterList?: Tensor[]; src?: number }): Work | undefined;
export function scatter(tensor: Tensor, opts?: CollectiveOptions & { scatterList?: Tensor[]; src?: number }): Work | undefined {
  const op = 'scatter';
  checkOptions(`torch.distributed.${op}`, opts, ['scatterList', 'src', 'group', 'asyncOp']);
  const group = groupOf(op, opts?.group);
  const out = commArray(op, tensor, 'tensor', group);
  const root = groupRankOf(op, group, opts?.src ?? 0, 'src');
  const list = opts?.scatterList;
  let ins: CommBuffer[] | null = null;
  if (group.rank() === root) ins = listArrays(op, list ?? null, 'scatterList', tensor, group);
  else if (list !== undefined && list !== null && list.length > 0) {
    throw new Error(`torch.distributed.${op}: scatterList must not be given on a rank other than src (${opts?.src ?? 0})`);
  }
  return finish(op, member(op, group).scatter(ins, out, root), opts?.asyncOp, [tensor]);
}

/** torch.distributed.barrier: returns when every rank of the group has reached it. */
export function barrier(opts: CollectiveOptions & { asyncOp: true }): Work;
export function barrier(opts?: CollectiveOptions): Work | undefined;
export function barrier(opts?: CollectiveOptions): Work | undefined {
  const op = 'barrier';
  checkOptions(`torch.distributed.${op}`, opts, ['group', 'asyncOp']);
  const group = groupOf(op, opts?.group);
  return finish(op, member(op, group).barrier(), opts?.asyncOp, []);
}
