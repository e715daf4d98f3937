// nn.parallel.DistributedDataParallel, after PyTorch 1.13's Reducer: one
// process per rank, each with a replica of the model and its own share of
// the batch. At construction rank 0's parameters and buffers are broadcast;
// in backward each parameter's gradient, once accumulated, is copied into a
// flat bucket (several parameters per bucket, reverse parameter order: the
// order backward makes them); a bucket whose gradients are all there is
// summed over the ranks at once with an asynchronous allReduce, while
// backward goes on computing the others; at the end of backward (a callback
// the engine runs before backward() returns) every reduction is waited on
// and the averaged gradients are copied back into .grad. Every rank then
// holds the gradient of the whole (global) batch, and the same optimizer
// step keeps the replicas equal.
import { Tensor } from '../../tensor.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';
import { isGradEnabled, noGrad } from '../../autograd/grad_mode.js';
import { queueCallback } from '../../autograd/engine.js';
import { edgeOf } from '../../autograd/function.js';
import { AccumulateGrad, type Node } from '../../autograd/node.js';
import * as dist from '../../distributed/index.js';
import { checkOptions, fmtValue } from '../../util/args.js';
import { zeros } from '../../ops/creation.js';

/** Options of {@link DistributedDataParallel}. */
export interface DistributedDataParallelOptions {
  /** The devices of the single-device module (PyTorch's device_ids); CPU modules leave it out or pass null. */
  deviceIds?: (number | string)[] | null;
  /** Where the output goes (PyTorch's output_device): accepted for compatibility; the module's own output is returned. */
  outputDevice?: number | string | null;
  /** Broadcast rank 0's buffers (BatchNorm's running statistics) before each forward (default true). */
  broadcastBuffers?: boolean;
  /** The process group to reduce over (default: the default group). */
  processGroup?: dist.ProcessGroup;
  /** The size of a gradient bucket in megabytes (MiB, as PyTorch's bucket_cap_mb; default 25). */
  bucketCapMb?: number;
  /**
   * Find the parameters a forward's output does not depend on, and mark them
   * ready at once so that their buckets are still reduced (default false:
   * every parameter must receive a gradient each iteration).
   */
  findUnusedParameters?: boolean;
}

const OPTIONS = ['deviceIds', 'outputDevice', 'broadcastBuffers', 'processGroup', 'bucketCapMb', 'findUnusedParameters'];

// PyTorch's dist._DEFAULT_FIRST_BUCKET_BYTES: the first bucket (the last
// parameters, whose gradients come first) is small, so that communication
// starts early in backward.
const FIRST_BUCKET_BYTES = 1024 * 1024;

interface Bucket {
  /** Indices into the parameter list, in bucket order. */
  params: number[];
  /** Offset of each of those parameters' elements in `flat`. */
  offsets: number[];
  /** The bucket's gradients, flattened and concatenated: what allReduce sums. */
  flat: Tensor;
  /** Parameters not yet ready this iteration. */
  pending: number;
  work: dist.Work | null;
}

interface Reducer {
  group: dist.ProcessGroup | undefined;
  worldSize: number;
  params: Parameter[];
  names: string[];
  buckets: Bucket[];
  /** The bucket of each parameter. */
  bucketOf: number[];
  /** Whether each parameter has been marked ready this iteration. */
  ready: boolean[];
  /** The next bucket to launch: buckets are launched in order, the same on every rank (collectives pair up by order). */
  nextBucket: number;
  /** Set by a forward that will be followed by a synchronized backward. */
  expectHooks: boolean;
  finalizeQueued: boolean;
  /** With findUnusedParameters: the parameters the last forward's output does not reach. */
  unused: number[];
  hooks: { remove(): void }[];
}

/**
 * nn.parallel.DistributedDataParallel(module, { deviceIds, bucketCapMb = 25, findUnusedParameters = false,
 * broadcastBuffers = true, processGroup }): data parallel training over torch.distributed, one process per
 * rank (started by kindling-run). Wrap the model after initProcessGroup and before building the optimizer;
 * call the wrapper (ddp(x) or ddp.forward(x)) and backward() as usual: when backward() returns, every rank's
 * .grad holds the gradient averaged over all ranks (gradients are bucketed and reduced while backward runs).
 * `noSync(fn)` runs iterations that only accumulate locally. The wrapped model is `ddp.module`; the state
 * dict's keys are prefixed 'module.' as in PyTorch.
 */
export class DistributedDataParallel extends Module {
  /** The wrapped model. */
  module: Module;
  /** @internal */ declare readonly _reducer: Reducer;
  /** Whether backward reduces gradients (false inside noSync), as PyTorch's require_backward_grad_sync. */
  declare requireBackwardGradSync: boolean;
  /** Whether forward broadcasts rank 0's buffers first. */
  declare readonly broadcastBuffers: boolean;
  /** Whether forward looks for parameters its output does not use. */
  declare readonly findUnusedParameters: boolean;
  /** The bucket size in bytes. */
  declare readonly bucketBytesCap: number;

  constructor(module: Module, opts: DistributedDataParallelOptions = {}) {
    super();
    const who = 'DistributedDataParallel';
    if (!(module instanceof Module)) throw new TypeError(`${who}: expected a Module to wrap, got ${fmtValue(module)}`);
    if (opts === null || typeof opts !== 'object' || Array.isArray(opts))
      throw new TypeError(`${who}: options must be an object, got ${fmtValue(opts)}`);
    checkOptions(who, opts, OPTIONS);
    const cap = opts.bucketCapMb ?? 25;
    if (typeof cap !== 'number' || !(cap > 0) || !Number.isFinite(cap))
      throw new RangeError(`${who}: bucketCapMb must be a positive number, got ${fmtValue(cap)}`);
    for (const k of ['broadcastBuffers', 'findUnusedParameters'] as const)
      if (opts[k] !== undefined && typeof opts[k] !== 'boolean')
        throw new TypeError(`${who}: ${k} must be a boolean, got ${fmtValue(opts[k])}`);
    if (opts.deviceIds !== undefined && opts.deviceIds !== null && !Array.isArray(opts.deviceIds))
      throw new TypeError(`${who}: deviceIds must be an array or null, got ${fmtValue(opts.deviceIds)}`);
    if (!dist.isInitialized())
      throw new Error(`${who}: the default process group is not initialized; call torch.distributed.initProcessGroup() first`);
    const group = opts.processGroup;
    const worldSize = dist.getWorldSize(group);
    const backend = dist.getBackend(group);

    this.module = module;
    const named = module.namedParameters().filter(([, p]) => p.requiresGrad);
    if (named.length === 0) throw new Error(`${who}: the module has no parameter that requires a gradient`);
    for (const [name, p] of named) {
      const onItsDevice = backend === 'nccl' ? p.device.startsWith('cuda') : p.device === 'cpu';
      if (!onItsDevice)
        throw new Error(
          `${who}: parameter '${name}' is on ${p.device}; backend '${backend}' reduces ${backend === 'nccl' ? 'CUDA' : 'CPU'} tensors`,
        );
      if (p.dtype !== 'float32' && p.dtype !== 'float64')
        throw new TypeError(`${who}: parameter '${name}' is ${p.dtype}; DistributedDataParallel reduces float32 and float64 gradients`);
    }
    const hidden = (k: string, value: unknown, writable = false) =>
      Object.defineProperty(this, k, { value, enumerable: false, writable, configurable: false });
    hidden('requireBackwardGradSync', true, true);
    hidden('broadcastBuffers', opts.broadcastBuffers ?? true);
    hidden('findUnusedParameters', opts.findUnusedParameters ?? false);
    hidden('bucketBytesCap', Math.floor(cap * 1024 * 1024));

    // Every replica starts from rank 0's state (PyTorch's _sync_module_states).
    syncFromRankZero([...module.parameters(), ...module.buffers()], group, worldSize);

    const params = named.map(([, p]) => p);
    // The first bucket never larger than the rest.
    const buckets = assignBuckets(params, [Math.min(FIRST_BUCKET_BYTES, this.bucketBytesCap), this.bucketBytesCap]);
    const bucketOf = new Array<number>(params.length);
    buckets.forEach((b, i) => b.params.forEach((p) => (bucketOf[p] = i)));
    const reducer: Reducer = {
      group,
      worldSize,
      params,
      names: named.map(([n]) => n),
      buckets,
      bucketOf,
      ready: params.map(() => false),
      nextBucket: 0,
      expectHooks: false,
      finalizeQueued: false,
      unused: [],
      hooks: [],
    };
    hidden('_reducer', reducer);
    reducer.hooks = params.map((p, i) => p.registerPostAccumulateGradHook(() => markReady(reducer, i)));
  }

  /** Broadcasts rank 0's buffers (when broadcastBuffers), runs the module, and readies the gradient reduction of the coming backward. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  forward(...args: any[]): any {
    const r = this._reducer;
    if (r.expectHooks && r.ready.some((x) => x))
      throw new Error(
        'DistributedDataParallel: the previous iteration did not finish reducing its gradients: some parameters ' +
          'received no gradient. Pass { findUnusedParameters: true } if the forward does not use every parameter',
      );
    if (this.broadcastBuffers && r.worldSize > 1) syncFromRankZero(this.module.buffers(), r.group, r.worldSize);
    const out: unknown = this.module.call(...args);
    resetIteration(r);
    r.expectHooks = isGradEnabled() && this.requireBackwardGradSync;
    if (r.expectHooks && this.findUnusedParameters) r.unused = unusedParameters(r.params, out);
    return out;
  }

  /**
   * PyTorch's no_sync(): gradients of the backward passes inside are only
   * accumulated locally, and the first backward after it reduces the sum.
   * With a function, runs it and returns its result; without one, returns a
   * disposable (`using _ = ddp.noSync()`) whose dispose() (or close()) ends it.
   */
  noSync<T>(fn: () => T): T;
  noSync(): { close(): void; [Symbol.dispose](): void };
  noSync<T>(fn?: () => T): T | { close(): void; [Symbol.dispose](): void } {
    const prev = this.requireBackwardGradSync;
    this.requireBackwardGradSync = false;
    const close = () => void (this.requireBackwardGradSync = prev);
    if (fn === undefined) return { close, [Symbol.dispose]: close };
    if (typeof fn !== 'function') throw new TypeError(`DistributedDataParallel.noSync: expected a function, got ${fmtValue(fn)}`);
    try {
      return fn();
    } finally {
      close();
    }
  }

  /** The buckets' parameter names, first-reduced first (PyTorch's bucket assignment, for inspection). */
  bucketParameterNames(): string[][] {
    const r = this._reducer;
    return r.buckets.map((b) => b.params.map((i) => r.names[i]));
  }

  override extraRepr(): string {
    return '';
  }
}

// Symbol.dispose is in Node 20's runtime but not every supported one.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}
(Symbol as { dispose?: symbol }).dispose ??= Symbol.for('nodejs.dispose');

/** Broadcasts each tensor from rank 0, in place (a contiguous copy for any other layout). */
function syncFromRankZero(tensors: Tensor[], group: dist.ProcessGroup | undefined, worldSize: number): void {
  if (worldSize === 1) return;
  noGrad(() => {
    for (const t of tensors) {
      if (t.isContiguous()) {
        dist.broadcast(t, { src: 0, group });
      } else {
        const c = t.contiguous();
        dist.broadcast(c, { src: 0, group });
        t.copy_(c);
      }
    }
  });
}

/**
 * PyTorch's compute_bucket_assignment_by_size: parameters in reverse order
 * (the order backward produces their gradients), grouped by dtype, a
 * bucket closed once it holds at least its limit in bytes; the first
 * bucket's limit is the small first one, the rest bucketCapMb.
 */
function assignBuckets(params: Parameter[], limits: number[]): Bucket[] {
  const groups = new Map<string, { params: number[]; bytes: number; limit: number }>();
  const done: number[][] = [];
  const size = (p: Parameter) => p.numel() * (p.dtype === 'float64' ? 8 : 4);
  for (let i = params.length - 1; i >= 0; i--) {
    const key = params[i].dtype;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { params: [], bytes: 0, limit: 0 }));
    g.params.push(i);
    g.bytes += size(params[i]);
    if (g.bytes >= limits[Math.min(g.limit, limits.length - 1)]) {
      done.push(g.params);
      groups.set(key, { params: [], bytes: 0, limit: g.limit + 1 });
    }
  }
  for (const g of groups.values()) if (g.params.length) done.push(g.params);
  // In the order their first gradient comes (the lowest position in the
  // reversed order), so the same on every rank.
  const firstAt = (b: number[]) => params.length - 1 - Math.max(...b);
  done.sort((a, b) => firstAt(a) - firstAt(b));
  return done.map((ps) => {
    const offsets: number[] = [];
    let n = 0;
    for (const i of ps) {
      offsets.push(n);
      n += params[i].numel();
    }
    const flat = zeros([n], { dtype: params[ps[0]].dtype, device: params[ps[0]].device });
    return { params: ps, offsets, flat, pending: ps.length, work: null };
  });
}

function resetIteration(r: Reducer): void {
  r.ready.fill(false);
  for (const b of r.buckets) {
    b.pending = b.params.length;
    b.work = null;
  }
  r.nextBucket = 0;
  r.finalizeQueued = false;
  r.unused = [];
}

/** The post-accumulate-grad hook of parameter i: copies its gradient into its bucket and launches full buckets. */
function markReady(r: Reducer, i: number): void {
  if (!r.expectHooks) return;
  if (!r.finalizeQueued) {
    r.finalizeQueued = true;
    queueCallback(() => finalize(r));
    // Unused parameters get no gradient this iteration: they are ready now
    // (PyTorch marks them on the first hook of the backward).
    for (const u of r.unused) setReady(r, u);
  }
  setReady(r, i);
}

function setReady(r: Reducer, i: number): void {
  if (r.ready[i]) {
    throw new Error(
      `DistributedDataParallel: parameter '${r.names[i]}' was marked ready twice in one iteration ` +
        '(a second backward through the same forward is not supported)',
    );
  }
  r.ready[i] = true;
  const b = r.buckets[r.bucketOf[i]];
  const k = b.params.indexOf(i);
  const g = r.params[i].grad;
  noGrad(() => {
    const slot = b.flat.narrow(0, b.offsets[k], r.params[i].numel());
    // Averaging: each rank's share is scaled by 1/world before the sum, as PyTorch's reducer does.
    if (g) slot.copy_(g.reshape([-1]).mul(1 / r.worldSize));
    else slot.zero_();
  });
  b.pending--;
  while (r.nextBucket < r.buckets.length && r.buckets[r.nextBucket].pending === 0) {
    const nb = r.buckets[r.nextBucket++];
    nb.work = dist.allReduce(nb.flat, { op: 'sum', group: r.group, asyncOp: true });
  }
}

/** The end of backward: waits on every bucket's reduction and writes the averaged gradients into .grad. */
function finalize(r: Reducer): void {
  r.expectHooks = false;
  if (r.nextBucket < r.buckets.length) {
    const missing = r.names.filter((_, i) => !r.ready[i]);
    // Wait on what was launched, so no reduction is left writing a bucket.
    for (const b of r.buckets) b.work?.wait();
    r.ready.fill(false);
    throw new Error(
      `DistributedDataParallel: parameters received no gradient in this backward: ${missing.join(', ')}. ` +
        'Pass { findUnusedParameters: true } if the forward does not use every parameter',
    );
  }
  const unused = new Set(r.unused);
  noGrad(() => {
    for (const b of r.buckets) {
      b.work!.wait();
      b.params.forEach((i, k) => {
        const p = r.params[i];
        const reduced = b.flat.narrow(0, b.offsets[k], p.numel()).view(p.shape);
        if (p.grad) p.grad.copy_(reduced);
        // A parameter unused here gets the others' gradient, if any rank used it.
        else if (unused.has(i) && reduced.abs().max().item() !== 0) p.grad = reduced.clone();
      });
    }
  });
  r.ready.fill(false);
}

/** The parameters whose AccumulateGrad the output's graph does not reach (PyTorch's search for unused parameters). */
function unusedParameters(params: Parameter[], out: unknown): number[] {
  const seen = new Set<Node>();
  const stack: Node[] = [];
  const visitOutputs = (v: unknown): void => {
    if (v instanceof Tensor) {
      const e = v.requiresGrad ? edgeOf(v) : null;
      if (e && !seen.has(e)) {
        seen.add(e);
        stack.push(e);
      }
    } else if (Array.isArray(v)) v.forEach(visitOutputs);
    else if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) Object.values(v).forEach(visitOutputs);
  };
  visitOutputs(out);
  const reached = new Set<Tensor>();
  while (stack.length) {
    const n = stack.pop()!;
    if (n instanceof AccumulateGrad) reached.add(n.variable);
    for (const m of n.next) {
      if (m && !seen.has(m)) {
        seen.add(m);
        stack.push(m);
      }
    }
  }
  const unused: number[] = [];
  params.forEach((p, i) => {
    if (!reached.has(p)) unused.push(i);
  });
  return unused;
}
