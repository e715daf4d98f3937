// Tensor: a strided view (shape, strides, offset) of a Storage, plus the
// autograd state (requiresGrad, grad, gradFn). This file holds no math and
// imports nothing above it: every method that computes comes from the op
// declarations, attached in one place (tensor_methods.ts).
import { makeRef, type Ref, type StorageData, type TypedArray } from './backend/native.js';
import { cacheBuffer } from './backend/memory.js';
import type { Device } from './backend/cuda.js';
import { isFloating, type DType } from './dtype.js';
import type { AccumulateGrad, Node } from './autograd/node.js';
import { fmtShape, fmtValue } from './util/args.js';
import { contiguousStrides, numelOf } from './util/shape.js';
import { Size } from './util/size.js';

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
  /**
   * @internal Who may give this memory back early (Note [Warm block
   * cache]): the backward run or memory.scope that was allocating when it
   * was made, null when neither was.
   */
  _owner: AllocOwner | null = null;
  /**
   * @internal Reached from somewhere Kindling does not track (a .grad, a
   * parameter or buffer, optimizer state, a saved tensor, a hook, a typed
   * array handed out): never given back early.
   */
  _pinned = false;
  /**
   * @internal How many live graph nodes saved a tensor over this memory
   * (SavedVersions, lib/ops/op.ts): while any does, it is never given back
   * early. Counted, not pinned, so that the last node to let go can give it
   * back when nothing else holds it (Note [Saved until backward]).
   */
  _savedBy = 0;
  /**
   * @internal Nothing but the graph holds this memory any more (an
   * nn.Sequential intermediate the backward still needs): the node that
   * drops the last save gives it back.
   */
  _graphOnly = false;
  /** @internal Given back by dispose() or a scope: any use throws. */
  _released = false;
  /** @internal Made by the op allocator (kernels.ts), so its buffer is Kindling's to reuse, never a user's array. */
  _fromAlloc = false;
  constructor(
    public data: StorageData,
    readonly device: Device = 'cpu',
  ) {}

  /**
   * @internal Ends this memory's life now: every tensor over it throws on
   * use, and a whole CPU buffer goes to the warm block cache. The caller
   * knows that no live tensor needs it. Returns whether it was released.
   */
  _release(): boolean {
    if (this._released || this.device !== 'cpu') return false;
    const d = this.data as TypedArray;
    this._released = true;
    this.data = new (d.constructor as new (n: number) => TypedArray)(0);
    // A piece of a shared slab or a detached buffer is not whole: only
    // the typed array is dropped.
    if (this._fromAlloc && d.byteOffset === 0 && d.buffer.byteLength === d.byteLength) cacheBuffer(d.buffer as ArrayBuffer);
    return true;
  }
}

/** @internal The stamp on storages made while a backward run or memory.scope allocates. */
export interface AllocOwner {
  /** Every storage stamped (a scope's list), or null where the owner counts them itself (the engine). */
  storages: Storage[] | null;
}

let allocOwner: AllocOwner | null = null;
/** @internal The owner new storages get (kernels.ts alloc reads it). */
export function currentAllocOwner(): AllocOwner | null {
  return allocOwner;
}
/** @internal Sets the owner new storages get; returns the previous one, to restore. */
export function setAllocOwner(o: AllocOwner | null): AllocOwner | null {
  const prev = allocOwner;
  allocOwner = o;
  return prev;
}

/** @internal Marks t's memory as reachable from outside Kindling's bookkeeping, so it is never given back early. */
export function pinStorage(t: Tensor | null | undefined): void {
  if (t) t._storage._pinned = true;
}

/** The error a tensor whose memory was given back throws on use. */
export function releasedError(op?: string): Error {
  return new Error(
    `${op ? op + ': ' : ''}tensor was disposed (its memory was released by dispose() or at the end of a memory.scope it did not escape)`,
  );
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
    if (typeof s !== 'number' || !Number.isInteger(s)) throw new TypeError(`${op}: sizes must be integers, got ${fmtValue(s)}`);
    return s;
  });
}

export function normDim(d: unknown, ndim: number, op: string): number {
  if (typeof d !== 'number' || !Number.isInteger(d)) throw new TypeError(`${op}: dim must be an integer, got ${fmtValue(d)}`);
  const n = Math.max(ndim, 1);
  if (d < -n || d >= n) throw new RangeError(`${op}: dimension out of range (expected to be in range of [${-n}, ${n - 1}], but got ${d})`);
  return d < 0 ? d + n : d;
}

/**
 * torch.Tensor: an n-dimensional array of one dtype on one device ('cpu' or 'cuda:N') with autograd. Made by the
 * factories (torch.tensor, zeros, randn, ...), never with `new`; every op is a method too (x.add(y), x.sum(1)).
 * Differs from PyTorch: no operator overloading (a.add(b), not a + b), indexing with x.index(...)/x.indexPut_(...)
 * rather than x[...], and JavaScript numbers for scalars (int64 values past 2^53 lose precision).
 */
export class Tensor implements Iterable<Tensor> {
  /** @internal */ _storage: Storage;
  /** @internal */ _shape: number[];
  /** @internal */ _strides: number[];
  /** @internal */ _offset: number;
  /** The element type: 'float32', 'float64', 'float16', 'bfloat16', 'int32', 'int64', 'uint8' or 'bool'. */
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
   * memory (the op framework drops it where a forward returns a view of its own
   * scratch tensor). In-place checks read it (checkInplace in
   * ops/inplace.ts).
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
    if (this._storage._released) throw releasedError();
    return (this._refCache = makeRef(this._storage.data, this._offset, this._shape, this._strides));
  }

  /** @internal A view of the same memory with other metadata (no autograd). */
  _view(shape: number[], strides?: number[], offset?: number): Tensor {
    return new Tensor(this._storage, shape, strides ?? contiguousStrides(shape), offset ?? this._offset, this.dtype);
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
  /** Whether the tensor is on a CUDA device (PyTorch's is_cuda). */
  get isCuda(): boolean {
    return this._storage.device !== 'cpu';
  }
  /** The sizes of the dims, as a torch.Size (an array that prints as PyTorch's). */
  get shape(): Size {
    return new Size(this._shape);
  }
  /** The number of dims (PyTorch's ndim); same as dim(). */
  get ndim(): number {
    return this._shape.length;
  }
  /** The number of dims, as PyTorch's dim(). */
  dim(): number {
    return this._shape.length;
  }
  /** size() is the shape as a torch.Size; size(dim) one dim's size (negative dims count from the end). */
  size(): Size;
  size(dim: number): number;
  size(dim?: number): number | Size {
    if (dim === undefined) return new Size(this._shape);
    return this._shape[normDim(dim, this._shape.length, 'size')] ?? 1;
  }
  /** The number of elements (the product of the sizes), as PyTorch's numel(). */
  numel(): number {
    return numelOf(this._shape);
  }
  /** The stride of each dim, in elements, as PyTorch's stride() (a copy). */
  stride(): number[] {
    return this._strides.slice();
  }
  /** Whether the elements lie in row-major order with no gaps, as PyTorch's is_contiguous(). */
  isContiguous(): boolean {
    let expected = 1;
    for (let i = this._shape.length - 1; i >= 0; i--) {
      if (this._shape[i] !== 1 && this._strides[i] !== expected) return false;
      expected *= this._shape[i];
    }
    return true;
  }
  /** Whether the tensor was not made by a recorded op (no gradFn), as PyTorch's is_leaf. */
  get isLeaf(): boolean {
    return this._gradFn === null;
  }
  /** The autograd node that made this tensor (PyTorch's grad_fn), null for a leaf. */
  get gradFn(): Node | null {
    return this._gradFn;
  }
  /** Whether autograd records ops on this tensor (PyTorch's requires_grad); assigning is requiresGrad_(flag). */
  get requiresGrad(): boolean {
    return this._requiresGrad || this._gradFn !== null;
  }
  set requiresGrad(flag: boolean) {
    this.requiresGrad_(flag);
  }
  /** The gradient backward accumulated into this leaf (PyTorch's .grad); assignable: a tensor of this shape, dtype and device, or null. */
  get grad(): Tensor | null {
    return this._grad;
  }
  set grad(g: Tensor | null) {
    if (g !== null && !(g instanceof Tensor)) throw new TypeError('grad: expected a Tensor or null');
    if (g !== null && g._shape.join() !== this._shape.join()) {
      throw new RangeError(`grad: assigned grad has shape ${fmtShape(g._shape)} but the tensor has shape ${fmtShape(this._shape)}`);
    }
    if (g !== null && g.dtype !== this.dtype) {
      throw new TypeError(`grad: assigned grad has dtype ${g.dtype} but the tensor has dtype ${this.dtype}`);
    }
    if (g !== null && g.device !== this.device) {
      throw new Error(`grad: assigned grad has data located on ${g.device} but the tensor is on ${this.device}`);
    }
    pinStorage(g);
    this._grad = g;
  }
  /** A detached alias; assigning swaps this tensor's values for other's. */
  get data(): Tensor {
    return this.detach();
  }
  set data(other: Tensor) {
    if (!(other instanceof Tensor)) throw new TypeError('data: expected a Tensor');
    pinStorage(other);
    this._storage = other._storage;
    this._shape = other._shape.slice();
    this._strides = other._strides.slice();
    this._offset = other._offset;
    (this as { dtype: DType }).dtype = other.dtype;
    this._refCache = null;
  }
  /** The tensor with its dims reversed (PyTorch's .T); a view. */
  get T(): Tensor {
    return this.permute([...this._shape.keys()].reverse());
  }

  /**
   * Iterates over the first dim, as PyTorch: `for (const row of t)`,
   * `const [a, b] = t`. The rows are views (t.unbind(0)); a 0-d tensor
   * throws.
   */
  [Symbol.iterator](): Iterator<Tensor> {
    if (this._shape.length === 0) throw new TypeError('iteration over a 0-d tensor');
    return this.unbind(0)[Symbol.iterator]();
  }

  /** Sets requiresGrad on a leaf in place (floating-point dtypes only), as PyTorch's requires_grad_(); returns this. */
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
  /** Whether retainGrad() was called, so that a non-leaf keeps its .grad (PyTorch's retains_grad). */
  get retainsGrad(): boolean {
    return this._retainsGrad;
  }
  /** A tensor sharing this one's memory, out of the graph (no gradFn, requiresGrad false), as PyTorch's detach(). */
  detach(): Tensor {
    return this._alias();
  }
  /** Detaches this tensor from the graph in place (makes it a leaf that does not require grad); returns this. */
  detach_(): this {
    this._gradFn = null;
    this._requiresGrad = false;
    return this;
  }

  /** @internal Marks an in-place write for autograd's version check. */
  _bumpVersion(): void {
    this._storage.version++;
  }
}
