// Tensor: a strided view (shape, strides, offset) of a Storage, plus the
// autograd state (requiresGrad, grad, gradFn). Methods delegate to the op
// table in lib/ops; this file holds no math.
import { inspect } from 'node:util';
import { makeRef, type CudaBuffer, type Ref, type StorageData, type TypedArray } from './backend/native.js';
import { device as checkedDevice, freeCuda, type Device } from './backend/cuda.js';
import { isFloating, isDType, type DType } from './dtype.js';
import { AccumulateGrad, type Node } from './autograd/node.js';
import { noGrad } from './autograd/grad_mode.js';
import * as engine from './autograd/engine.js';
import * as K from './ops/kernels.js';
import * as IP from './ops/inplace.js';
import * as Rd from './ops/reduce.js';
import * as S from './ops/shape.js';
import * as M from './ops/matmul.js';
import * as I from './ops/indexing.js';
import { formatTensor } from './format.js';

/**
 * The memory of one or more tensors. On the CPU its data is a typed array
 * that V8 owns, so the garbage collector frees it and CPU tensors never
 * need dispose(); on a CUDA device it is a CudaBuffer (backend/native.ts),
 * freed by the GC too or at once by dispose(). `device` is canonical
 * (Note [Device strings]). `version` counts in-place writes (Note [Version
 * counter]).
 */
export class Storage {
  version = 0;
  constructor(public data: StorageData, readonly device: Device = 'cpu') {}
}

export type Scalar = number;
export type TensorOrScalar = Tensor | number;
export type { Device };

export interface DimOptions {
  keepdim?: boolean;
}

/** Sizes may be given spread (2, 3) or as one array ([2, 3]). */
export function sizeArgs(args: unknown[], op: string): number[] {
  const list = args.length === 1 && Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
  return list.map((s) => {
    if (typeof s !== 'number' || !Number.isInteger(s)) throw new TypeError(`${op}: sizes must be integers, got ${K.fmtValue(s)}`);
    return s;
  });
}

export function normDim(d: unknown, ndim: number, op: string): number {
  if (typeof d !== 'number' || !Number.isInteger(d)) throw new TypeError(`${op}: dim must be an integer, got ${K.fmtValue(d)}`);
  const n = Math.max(ndim, 1);
  if (d < -n || d >= n) throw new RangeError(`${op}: dimension out of range (expected to be in range of [${-n}, ${n - 1}], but got ${d})`);
  return d < 0 ? d + n : d;
}

export class Tensor {
  /** @internal */ _storage: Storage;
  /** @internal */ _shape: number[];
  /** @internal */ _strides: number[];
  /** @internal */ _offset: number;
  readonly dtype: DType;
  /** @internal */ _requiresGrad = false;
  /** @internal */ _gradFn: Node | null = null;
  /** @internal */ _grad: Tensor | null = null;
  /** @internal */ _acc: AccumulateGrad | null = null;
  /** @internal */ _retainsGrad = false;
  /**
   * @internal The tensor this one is a view of (PyTorch's _base): set by the
   * view ops (view, narrow, select, expand, transpose, ...) to the base of
   * their input, so a chain of views points at the tensor that owns the
   * memory (defineOp drops it where a forward returns a view of its own
   * scratch tensor). In-place checks read it (checkInplace in
   * ops/elementwise.ts).
   */
  _base: Tensor | null = null;
  /**
   * @internal For an output of split/chunk/unbind made with grad: "Output i
   * of SplitBackward0", which PyTorch refuses to modify in place.
   */
  _multiOutput: string | null = null;
  private _refCache: Ref | null = null;

  constructor(storage: Storage, shape: number[], strides: number[], offset: number, dtype: DType) {
    this._storage = storage;
    this._shape = shape;
    this._strides = strides;
    this._offset = offset;
    this.dtype = dtype;
  }

  /** @internal The tuple native kernels take (backend/native.ts). */
  _ref(): Ref {
    const r = this._refCache;
    if (r !== null && r[0] === this._storage.data) return r;
    return (this._refCache = makeRef(this._storage.data, this._offset, this._shape, this._strides));
  }

  /** @internal A view of the same memory with other metadata (no autograd). */
  _view(shape: number[], strides?: number[], offset?: number): Tensor {
    return new Tensor(this._storage, shape, strides ?? K.contiguousStrides(shape), offset ?? this._offset, this.dtype);
  }

  /** @internal A new Tensor object over the same memory and metadata. */
  _alias(): Tensor {
    return new Tensor(this._storage, this._shape, this._strides, this._offset, this.dtype);
  }

  // ---- properties ----------------------------------------------------------
  /** 'cpu' or 'cuda:N'. */
  get device(): Device {
    return this._storage.device;
  }
  get isCuda(): boolean {
    return this._storage.device !== 'cpu';
  }
  get shape(): number[] {
    return this._shape.slice();
  }
  get ndim(): number {
    return this._shape.length;
  }
  dim(): number {
    return this._shape.length;
  }
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number | number[] {
    if (dim === undefined) return this._shape.slice();
    return this._shape[normDim(dim, this._shape.length, 'size')] ?? 1;
  }
  numel(): number {
    return K.numelOf(this._shape);
  }
  stride(): number[] {
    return this._strides.slice();
  }
  isContiguous(): boolean {
    let expected = 1;
    for (let i = this._shape.length - 1; i >= 0; i--) {
      if (this._shape[i] !== 1 && this._strides[i] !== expected) return false;
      expected *= this._shape[i];
    }
    return true;
  }
  get isLeaf(): boolean {
    return this._gradFn === null;
  }
  get gradFn(): Node | null {
    return this._gradFn;
  }
  get requiresGrad(): boolean {
    return this._requiresGrad || this._gradFn !== null;
  }
  set requiresGrad(flag: boolean) {
    this.requiresGrad_(flag);
  }
  get grad(): Tensor | null {
    return this._grad;
  }
  set grad(g: Tensor | null) {
    if (g !== null && !(g instanceof Tensor)) throw new TypeError('grad: expected a Tensor or null');
    if (g !== null && g._shape.join() !== this._shape.join()) {
      throw new RangeError(`grad: assigned grad has shape ${K.fmtShape(g._shape)} but the tensor has shape ${K.fmtShape(this._shape)}`);
    }
    if (g !== null && g.dtype !== this.dtype) {
      throw new TypeError(`grad: assigned grad has dtype ${g.dtype} but the tensor has dtype ${this.dtype}`);
    }
    if (g !== null && g.device !== this.device) {
      throw new Error(`grad: assigned grad has data located on ${g.device} but the tensor is on ${this.device}`);
    }
    this._grad = g;
  }
  /** A detached alias; assigning swaps this tensor's values for other's. */
  get data(): Tensor {
    return this.detach();
  }
  set data(other: Tensor) {
    if (!(other instanceof Tensor)) throw new TypeError('data: expected a Tensor');
    this._storage = other._storage;
    this._shape = other._shape.slice();
    this._strides = other._strides.slice();
    this._offset = other._offset;
    (this as { dtype: DType }).dtype = other.dtype;
    this._refCache = null;
  }
  get T(): Tensor {
    return this.permute([...this._shape.keys()].reverse());
  }

  requiresGrad_(flag = true): this {
    if (typeof flag !== 'boolean') throw new TypeError('requiresGrad_: flag must be a boolean');
    if (!this.isLeaf) {
      if (!flag) throw new Error('requiresGrad_: you can only change requires_grad flags of leaf variables.');
      return this;
    }
    if (flag && !isFloating(this.dtype)) {
      throw new TypeError(`requiresGrad_: only tensors of floating point dtype can require gradients (got ${this.dtype})`);
    }
    this._requiresGrad = flag;
    return this;
  }

  /** @internal */ _setGradFn(node: Node): void {
    this._gradFn = node;
  }
  /** @internal The AccumulateGrad node of a leaf, one per tensor. */
  _accumulator(): AccumulateGrad {
    if (!this._acc) this._acc = new AccumulateGrad(this);
    return this._acc;
  }
  /** @internal Sums a gradient into .grad (the engine's leaf sink). */
  _accumulateGrad(g: Tensor, createGraph: boolean): void {
    if (this._grad === null) {
      // A gradient may alias another tensor (add's backward hands the same
      // tensor to both inputs), so .grad gets its own memory.
      this._grad = createGraph ? g.clone() : noGrad(() => K.clone(g));
    } else if (createGraph) {
      this._grad = this._grad.add(g);
    } else if (g.dtype === this._grad.dtype && g._shape.length === this._grad._shape.length && this._grad.isContiguous() &&
      g._shape.every((s, i) => s === this._grad!._shape[i])) {
      // Summing into .grad in place, in one kernel call.
      K.native.binary(K.B.Add, this._grad._ref(), g._ref(), this._grad._ref());
      this._grad._bumpVersion();
    } else {
      noGrad(() => this._grad!.add_(g));
    }
  }

  // ---- autograd ------------------------------------------------------------
  backward(gradient?: Tensor | null, opts?: engine.BackwardOptions): void {
    engine.backward(this, gradient, opts);
  }
  retainGrad(): void {
    if (this.isLeaf) return;
    if (this._retainsGrad) return;
    this._retainsGrad = true;
    const n = this._gradFn!;
    (n.retained ??= []).push(this);
  }
  get retainsGrad(): boolean {
    return this._retainsGrad;
  }
  /** fn(grad) runs when this tensor's gradient is computed; a returned Tensor replaces it. */
  registerHook(fn: (grad: Tensor) => Tensor | void): { remove(): void } {
    if (typeof fn !== 'function') throw new TypeError('registerHook: expected a function');
    if (!this.requiresGrad) throw new Error("registerHook: cannot register a hook on a tensor that doesn't require gradient");
    const node = this._gradFn ?? this._accumulator();
    // Copy on write: a backward runs the hooks registered when it reached
    // the node, so a hook that registers a hook (or removes one) changes the
    // next backward, not the list this one is walking.
    node.preHooks = node.preHooks ? [...node.preHooks, fn] : [fn];
    let removed = false;
    return {
      remove: () => {
        if (removed || !node.preHooks) return;
        removed = true;
        const i = node.preHooks.indexOf(fn);
        if (i >= 0) node.preHooks = node.preHooks.filter((_, k) => k !== i);
      },
    };
  }
  detach(): Tensor {
    return this._alias();
  }
  detach_(): this {
    this._gradFn = null;
    this._requiresGrad = false;
    return this;
  }

  // ---- reading ---------------------------------------------------------------
  item(): number {
    if (this.numel() !== 1) throw new RangeError(`item: a Tensor with ${this.numel()} elements cannot be converted to a number`);
    // A CUDA value is read through a one-element copy to the host.
    const t = this._storage.device === 'cpu' ? this : K.toDevice(this, 'cpu', 'item');
    const v = (t._storage.data as TypedArray)[t._offset];
    // Past the end only when the memory is gone (a transferred ArrayBuffer).
    if (v === undefined) throw new Error(`item: the tensor ${K.storageProblem(t) ?? 'reads outside its storage'}`);
    return typeof v === 'bigint' ? Number(v) : v;
  }
  /** A flat copy in row-major order (on the CPU, whatever the tensor's device). */
  toTypedArray(): TypedArray {
    const data = noGrad(() => K.toDevice(this, 'cpu', 'toTypedArray', true))._storage.data as TypedArray;
    // Small storages share a slab (Note [Small-tensor slabs]); the caller
    // gets an array with its own buffer, safe to transfer or keep.
    return data.byteOffset === 0 && data.buffer.byteLength === data.byteLength ? data : data.slice();
  }
  tolist(): unknown {
    // The nested lists have one slot per entry at every level ([N, 0] is N
    // empty lists, as in PyTorch): refuse before building or reading
    // anything when that is past 2^32, which no JS array holds.
    let slots = 0, level = 1;
    for (const n of this._shape) {
      level *= n;
      slots += level;
      if (level === 0) break;
    }
    if (slots > 2 ** 32) {
      throw new RangeError(
        `tolist: a tensor of shape ${K.fmtShape(this._shape)} would become nested lists of ${slots} entries; ` +
          'at most 2^32 can be built (a JS array holds fewer than 2^32 elements)',
      );
    }
    // An empty tensor's lists hold no values: nothing to read.
    const flat = this.numel() === 0 ? new Float32Array(0) : this.toTypedArray();
    const read = (i: number): number | boolean => {
      const v = flat[i];
      if (this.dtype === 'bool') return v !== 0;
      return typeof v === 'bigint' ? Number(v) : v;
    };
    if (this._shape.length === 0) return read(0);
    let pos = 0;
    const build = (d: number): unknown[] => {
      const out: unknown[] = [];
      for (let i = 0; i < this._shape[d]; i++) out.push(d === this._shape.length - 1 ? read(pos++) : build(d + 1));
      return out;
    };
    return build(0);
  }
  toString(): string {
    return formatTensor(this);
  }
  [inspect.custom](): string {
    return this.toString();
  }

  // ---- reductions ------------------------------------------------------------
  sum(dim?: number | number[] | null, opts?: DimOptions): Tensor { return Rd.sum(this, dim, opts); }
  mean(dim?: number | number[] | null, opts?: DimOptions): Tensor { return Rd.mean(this, dim, opts); }
  prod(dim?: number | null, opts?: DimOptions): Tensor { return Rd.prod(this, dim, opts); }
  var(dim?: number | number[] | null, opts?: { unbiased?: boolean; correction?: number; keepdim?: boolean }): Tensor { return Rd.variance(this, dim, opts); }
  std(dim?: number | number[] | null, opts?: { unbiased?: boolean; correction?: number; keepdim?: boolean }): Tensor { return Rd.std(this, dim, opts); }
  max(): Tensor;
  max(dim: number, opts?: DimOptions): { values: Tensor; indices: Tensor };
  max(other: Tensor): Tensor;
  max(dim?: number | Tensor, opts?: DimOptions): Tensor | { values: Tensor; indices: Tensor } { return Rd.max(this, dim, opts); }
  min(): Tensor;
  min(dim: number, opts?: DimOptions): { values: Tensor; indices: Tensor };
  min(other: Tensor): Tensor;
  min(dim?: number | Tensor, opts?: DimOptions): Tensor | { values: Tensor; indices: Tensor } { return Rd.min(this, dim, opts); }
  amax(dim?: number | number[] | null, opts?: DimOptions): Tensor { return Rd.amax(this, dim, opts); }
  amin(dim?: number | number[] | null, opts?: DimOptions): Tensor { return Rd.amin(this, dim, opts); }
  argmax(dim?: number | null, opts?: DimOptions): Tensor { return Rd.argmax(this, dim, opts); }
  argmin(dim?: number | null, opts?: DimOptions): Tensor { return Rd.argmin(this, dim, opts); }
  logsumexp(dim: number | number[], opts?: DimOptions): Tensor { return Rd.logsumexp(this, dim, opts); }
  norm(p?: number | 'fro', dim?: number | number[] | null, opts?: DimOptions): Tensor { return Rd.norm(this, p, dim, opts); }
  softmax(dim: number): Tensor { return Rd.softmax(this, dim); }
  logSoftmax(dim: number): Tensor { return Rd.logSoftmax(this, dim); }
  any(dim?: number, opts?: DimOptions): Tensor { return Rd.any(this, dim, opts); }
  all(dim?: number, opts?: DimOptions): Tensor { return Rd.all(this, dim, opts); }
  /** @internal Sums broadcast dims away (the engine's gradient reduction). */
  sumToShape(shape: readonly number[]): Tensor { return K.sumToShape(this, shape); }

  // ---- shape -----------------------------------------------------------------
  view(...size: (number | number[])[]): Tensor { return S.view(this, sizeArgs(size, 'view')); }
  reshape(...size: (number | number[])[]): Tensor { return S.reshape(this, sizeArgs(size, 'reshape')); }
  viewAs(other: Tensor): Tensor { return S.view(this, other._shape.slice()); }
  flatten(startDim = 0, endDim = -1): Tensor { return S.flatten(this, startDim, endDim); }
  unflatten(dim: number, sizes: number[]): Tensor { return S.unflatten(this, dim, sizes); }
  unsqueeze(dim: number): Tensor { return S.unsqueeze(this, dim); }
  squeeze(dim?: number | number[]): Tensor { return S.squeeze(this, dim); }
  transpose(dim0: number, dim1: number): Tensor { return S.transpose(this, dim0, dim1); }
  t(): Tensor {
    if (this.ndim > 2) throw new RangeError(`t: expects a tensor with <= 2 dimensions, but self is ${this.ndim}D`);
    return this.ndim < 2 ? S.transpose(this, 0, 0) : S.transpose(this, 0, 1);
  }
  permute(...dims: (number | number[])[]): Tensor { return S.permute(this, sizeArgs(dims, 'permute')); }
  expand(...size: (number | number[])[]): Tensor { return S.expand(this, sizeArgs(size, 'expand')); }
  expandAs(other: Tensor): Tensor { return S.expand(this, other._shape.slice()); }
  contiguous(): Tensor { return this.isContiguous() ? this : S.contiguous(this); }
  narrow(dim: number, start: number, length: number): Tensor { return S.narrow(this, dim, start, length); }
  select(dim: number, index: number): Tensor { return S.select(this, dim, index); }
  chunk(chunks: number, dim = 0): Tensor[] { return S.chunk(this, chunks, dim); }
  split(splitSize: number | number[], dim = 0): Tensor[] { return S.split(this, splitSize, dim); }
  unbind(dim = 0): Tensor[] { return S.unbind(this, dim); }
  repeat(...sizes: (number | number[])[]): Tensor { return S.repeat(this, sizeArgs(sizes, 'repeat')); }
  index(...idx: I.Index[]): Tensor { return I.index(this, idx); }
  /** Python's `x[idx] = value`: idx is the tuple of indices, as in index(). */
  indexPut_(idx: I.Index[], value: TensorOrScalar): this { I.indexPut_(this, Array.isArray(idx) ? idx : [idx], value); return this; }
  indexSelect(dim: number, index: Tensor | number[]): Tensor { return I.indexSelect(this, dim, index); }
  gather(dim: number, index: Tensor): Tensor { return I.gather(this, dim, index); }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return I.scatterAdd(this, dim, index, src); }
  maskedFill(mask: Tensor, value: number): Tensor { return I.maskedFill(this, mask, value); }

  // ---- linear algebra --------------------------------------------------------
  matmul(other: Tensor): Tensor { return M.matmul(this, other); }
  mm(other: Tensor): Tensor { return M.mm(this, other); }
  bmm(other: Tensor): Tensor { return M.bmm(this, other); }
  dot(other: Tensor): Tensor { return M.dot(this, other); }
  mv(other: Tensor): Tensor { return M.mv(this, other); }

  // ---- conversion ------------------------------------------------------------
  to(target: DType | Device | string | { dtype?: DType; device?: string }): Tensor {
    if (typeof target === 'object' && target !== null) {
      let r: Tensor = this;
      if (target.device !== undefined) r = r.to(target.device);
      if (target.dtype !== undefined) r = r.to(target.dtype);
      return r;
    }
    if (isDType(target)) return target === this.dtype ? this : S.toDType(this, target);
    if (target === this._storage.device) return this;
    if (typeof target !== 'string') throw new TypeError(`to: expected a dtype or a device, got ${K.fmtValue(target)}`);
    let dev: Device;
    try {
      dev = checkedDevice(target, 'to');
    } catch (e) {
      if (e instanceof TypeError) throw new TypeError(`to: expected a dtype or a device, got ${K.fmtValue(target)}`);
      throw e;
    }
    return dev === this._storage.device ? this : S.toDevice(this, dev);
  }
  type(dtype: DType): Tensor { return this.to(dtype); }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  long(): Tensor { return this.to('int64'); }
  int(): Tensor { return this.to('int32'); }
  bool(): Tensor { return this.to('bool'); }
  cpu(): Tensor { return this._storage.device === 'cpu' ? this : S.toDevice(this, 'cpu'); }
  /** To the current CUDA device, or to device N (a number) or 'cuda:N'. */
  cuda(device?: number | string): Tensor {
    if (device === undefined) return this.to('cuda');
    if (typeof device === 'number') {
      if (!Number.isInteger(device) || device < 0) throw new RangeError(`cuda: invalid device ordinal ${K.fmtValue(device)}`);
      return this.to(`cuda:${device}`);
    }
    if (typeof device !== 'string' || !device.startsWith('cuda')) throw new TypeError(`cuda: expected a CUDA device, got ${K.fmtValue(device)}`);
    return this.to(device);
  }
  clone(): Tensor { return S.clone(this); }
  numpy(): TypedArray { return this.toTypedArray(); }
  /**
   * Frees a CUDA tensor's device memory now, for every tensor sharing it
   * (views included); using any of them afterwards throws "<op>: tensor was
   * disposed". The GC frees it anyway once unreachable: dispose() is for
   * giving memory back before the GC runs. On the CPU it does nothing (the
   * GC owns CPU memory, and a typed array cannot be freed early).
   */
  dispose(): void {
    if (this._storage.device !== 'cpu') freeCuda(this._storage.data as CudaBuffer);
  }
  zerosLike(): Tensor { return K.empty(this._shape, this.dtype, 'zerosLike', this._storage.device); }
  onesLike(): Tensor { const t = K.empty(this._shape, this.dtype, 'onesLike', this._storage.device); K.native.fill(t._ref(), 1); return t; }

  // ---- in place ----------------------------------------------------------------
  zero_(): this { return IP.fill_(this, 0, 'zero_'); }
  fill_(value: number | Tensor): this { return IP.fill_(this, value); }
  copy_(src: Tensor): this { return IP.copy_(this, src); }
  uniform_(low = 0, high = 1): this { return IP.random_(this, 'uniform_', (r) => K.native.uniform(r, low, high)); }
  normal_(mean = 0, std = 1): this { return IP.random_(this, 'normal_', (r) => K.native.normal(r, mean, std)); }
  bernoulli_(p = 0.5): this { return IP.random_(this, 'bernoulli_', (r) => K.native.bernoulli(r, p)); }

  /** @internal Marks an in-place write for autograd's version check. */
  _bumpVersion(): void {
    this._storage.version++;
  }
}
