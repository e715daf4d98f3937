// Where tensor memory comes from. Every storage is a typed array over a
// V8-owned ArrayBuffer, so the garbage collector frees it and CPU tensors
// never need dispose() (DESIGN.md, Memory).
//
// Note [Small-tensor slabs]: V8 keeps typed arrays of 64 bytes or less on
// its heap and must move them off-heap the first time native code asks for
// their data; a fresh ArrayBuffer per small tensor costs a malloc and
// tracking. Both dominate the cost of ops on tiny tensors (a scalar loss,
// a bias). So small storages are carved from shared 16 KiB slabs instead:
// a view on an existing off-heap buffer is cheap to make and to pass to
// native code. A slab is freed when the last tensor on it is collected,
// which bounds what one long-lived small tensor can pin to 16 KiB.
import type { TypedArray } from './native.js';
import type { DType } from '../dtype.js';
import { BFloat16Bits } from '../util/half.js';

const SLAB_BYTES = 16 * 1024;
const SMALL_BYTES = 1024;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** A zeroed, 16-byte aligned piece of a slab. */
function carve(bytes: number): [ArrayBuffer, number] {
  // A bad size must never move the cursor (it would hand out live memory).
  if (!(bytes >= 0)) throw new RangeError(`allocStorage: invalid byte count ${bytes}`);
  const size = (bytes + 15) & ~15;
  // A slab whose buffer was transferred to another thread is detached
  // (byteLength 0): start a new one.
  if (used + size > SLAB_BYTES || slab.byteLength === 0) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const at = used;
  used += size;
  return [slab, at];
}

const ITEM: Record<DType, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int32: 4, int64: 8, uint8: 1, bool: 1 };

/**
 * Storage for n elements of dtype; bool lives in a Uint8ClampedArray,
 * float16 bits in a Uint16Array and bfloat16 bits in a BFloat16Bits (Note
 * [Half storage]).
 * Zeroed, unless `uninitialized` is set by a caller whose kernel writes
 * every element: then a large buffer skips the memset that zeroing costs
 * (Buffer.allocUnsafeSlow gives a fresh, unpooled ArrayBuffer of exactly
 * that size, still owned by V8 and freed by the GC).
 */
export function allocStorage(dtype: DType, n: number, uninitialized = false): TypedArray {
  const bytes = n * ITEM[dtype];
  let buf: ArrayBuffer,
    at = 0;
  if (bytes <= SMALL_BYTES) [buf, at] = carve(bytes);
  else {
    const warm = takeCached(bytes);
    if (warm !== null) {
      buf = warm;
      if (!uninitialized) new Uint8Array(warm).fill(0);
    } else buf = uninitialized ? (Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer) : new ArrayBuffer(bytes);
  }
  return viewOf(dtype, buf, at, n);
}

function viewOf(dtype: DType, buf: ArrayBuffer, at: number, n: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf, at, n);
    case 'float64':
      return new Float64Array(buf, at, n);
    case 'float16':
      return new Uint16Array(buf, at, n);
    case 'bfloat16':
      return new BFloat16Bits(buf, at, n);
    case 'int32':
      return new Int32Array(buf, at, n);
    case 'int64':
      return new BigInt64Array(buf, at, n);
    case 'uint8':
      return new Uint8Array(buf, at, n);
    case 'bool':
      return new Uint8ClampedArray(buf, at, n);
  }
}

// Note [Warm block cache]: every CPU output is a fresh ArrayBuffer that the
// GC frees in batches, long after its last use: the next op of that size
// gets cold memory (malloc, page faults, cache misses) where PyTorch's
// refcounts hand back the block just freed. Where Kindling itself knows a
// buffer is dead (an intermediate gradient in the backward engine, a
// tensor released by memory.scope or dispose()) it gives the buffer back
// here, and the next allocation of exactly that size takes the most
// recently given one (LIFO: the warmest). The cache holds ArrayBuffers, so
// V8 keeps counting them as external memory and the GC still sees the
// true footprint; it is capped in bytes (oldest blocks dropped first, for
// the GC to free), and blocks that sat unused through two garbage
// collections are dropped too, so an idle process does not keep them.
//
// Measured on a 2-core VM (1M-float ops, issue 19): page faults are not
// the steady-state cost (native/cpu/parallel.cc keeps freed heap memory:
// a few faults per call at most once warm). But V8 collects young
// ArrayBuffers only once about 32 MiB of them have accumulated (twice its
// default maximum semi-space), so a loop that drops each 4 MiB result
// cycles through 8 or more blocks before glibc can hand one back: the
// output is written to memory out of cache and out of the TLB, and after
// a few thousand calls a plain add or relu still runs about 1.5 times as
// long as the same op under memory.scope. Nothing that waits for the GC
// (a FinalizationRegistry, or in Node 20 a Node-API finalizer: both run as
// later tasks) can shorten that; only scope, dispose() and the engine's
// release know sooner.

interface Block {
  /** Null once taken or dropped: the fifo must not keep the buffer alive. */
  buf: ArrayBuffer | null;
  bytes: number;
  epoch: number;
  taken: boolean;
}

const buckets = new Map<number, Block[]>();
/** Every cached block, oldest first (taken ones are skipped lazily). */
let fifo: Block[] = [];
let fifoHead = 0;
let cachedBytes = 0;
let cacheLimit = defaultLimit();
let gcEpoch = 0;
const counters = { hits: 0, misses: 0, released: 0 };

function defaultLimit(): number {
  const env = typeof process !== 'undefined' ? process.env.KINDLING_CACHE_BYTES : undefined;
  const v = env === undefined ? NaN : Number(env);
  return Number.isFinite(v) && v >= 0 ? v : 256 * 1024 * 1024;
}

function liveBlocks(): number {
  let n = 0;
  for (const list of buckets.values()) n += list.length;
  return n;
}

function takeCached(bytes: number): ArrayBuffer | null {
  const list = buckets.get(bytes);
  while (list !== undefined && list.length > 0) {
    const b = list.pop()!;
    const buf = b.buf!;
    b.taken = true;
    b.buf = null;
    cachedBytes -= b.bytes;
    // A block transferred to another thread since would be detached.
    if (buf.byteLength === bytes) {
      counters.hits++;
      return buf;
    }
  }
  if (bytes > SMALL_BYTES) counters.misses++;
  return null;
}

/**
 * Gives a dead buffer to the cache. Only whole buffers above the slab size
 * (a slab is shared). The caller guarantees that nothing can reach `buf`
 * any more (Note [Warm block cache]).
 */
export function cacheBuffer(buf: ArrayBuffer): void {
  const bytes = buf.byteLength;
  if (bytes <= SMALL_BYTES || bytes > cacheLimit) return;
  counters.released++;
  while (cachedBytes + bytes > cacheLimit && fifoHead < fifo.length) dropOldest();
  const b: Block = { buf, bytes, epoch: gcEpoch, taken: false };
  let list = buckets.get(bytes);
  if (list === undefined) buckets.set(bytes, (list = []));
  list.push(b);
  fifo.push(b);
  cachedBytes += bytes;
  // Taken blocks stay in the fifo until dropOldest passes them: compact
  // now and then so a loop that always reuses does not grow it.
  if (fifo.length - fifoHead > 2 * liveBlocks() + 4096) {
    fifo = fifo.slice(fifoHead).filter((x) => !x.taken);
    fifoHead = 0;
  }
  watchGc();
}

function dropOldest(): void {
  const b = fifo[fifoHead++];
  if (fifoHead > 1024 && fifoHead * 2 > fifo.length) {
    fifo = fifo.slice(fifoHead);
    fifoHead = 0;
  }
  if (b.taken) return;
  b.taken = true;
  b.buf = null;
  cachedBytes -= b.bytes;
  const list = buckets.get(b.bytes)!;
  list.splice(list.indexOf(b), 1);
}

// A garbage collection is the memory pressure a JS program can see: a
// FinalizationRegistry entry for a throwaway object fires after one. Each
// firing ages the cache; blocks not reused for two collections go.
let watching = false;
const gcWatch =
  typeof FinalizationRegistry === 'function'
    ? new FinalizationRegistry<null>(() => {
        watching = false;
        gcEpoch++;
        while (fifoHead < fifo.length && (fifo[fifoHead].taken || fifo[fifoHead].epoch < gcEpoch - 1)) dropOldest();
        if (cachedBytes > 0) watchGc();
      })
    : null;
function watchGc(): void {
  if (watching || gcWatch === null) return;
  watching = true;
  gcWatch.register({}, null);
}

/** Drops every cached block (the GC then frees them). */
export function emptyCache(): void {
  while (fifoHead < fifo.length) dropOldest();
  fifo = [];
  fifoHead = 0;
}

/** Sets the cache's cap in bytes (0 turns the cache off); drops blocks above it. */
export function setCacheLimit(bytes: number): void {
  if (typeof bytes !== 'number' || !(bytes >= 0)) throw new RangeError(`memory.setCacheLimit: expected a byte count >= 0, got ${bytes}`);
  cacheLimit = bytes;
  while (cachedBytes > cacheLimit && fifoHead < fifo.length) dropOldest();
}

/** What the cache holds and how it was used (counts since the process started). */
export function cacheStats(): { cachedBytes: number; limitBytes: number; hits: number; misses: number; released: number } {
  return { cachedBytes, limitBytes: cacheLimit, ...counters };
}
