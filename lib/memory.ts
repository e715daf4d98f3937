// torch.memory: the warm block cache (Note [Warm block cache] in
// backend/memory.ts) and the two ways a program may give CPU memory back
// before the garbage collector does: scope() around a hot loop body, and
// dispose() on one tensor. Neither is ever needed for correctness; the GC
// stays the owner of everything a program can reach.
import { setAllocOwner, Tensor, type AllocOwner, type Storage } from './tensor.js';
import { cacheStats, emptyCache as emptyBlocks, setCacheLimit as setLimit } from './backend/memory.js';
import { native } from './backend/native.js';

interface ScopeOwner extends AllocOwner {
  storages: Storage[];
}

/**
 * Runs `fn` and then gives back the CPU memory of every tensor made inside
 * it that did not escape, warm for the next op of its size (the next
 * iteration of a loop). A tensor escapes, and survives, when it is
 * reachable from what `fn` returns (a tensor, or arrays, plain objects,
 * Maps and Sets holding tensors), is a view of such a tensor, was saved for
 * backward by an op, became a `.grad`, a parameter, a module buffer or
 * optimizer state, was handed out as a typed array, or was passed to
 * keep(). Anything else made inside is dead when the scope ends: using it
 * afterwards throws "tensor was disposed" (so keep a result by returning
 * it, not by storing it in an outside variable). `fn` must be synchronous;
 * scopes nest (what escapes an inner scope belongs to the outer one).
 *
 * ```ts
 * for (const [x, y] of batches) {
 *   const loss = torch.memory.scope(() => {
 *     opt.zeroGrad();
 *     const l = lossFn(model.forward(x), y);
 *     l.backward();
 *     opt.step();
 *     return l.item();
 *   });
 * }
 * ```
 */
export function scope<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`memory.scope: expected a function, got ${fn === null ? 'null' : typeof fn}`);
  const owner: ScopeOwner = { storages: [] };
  const outer = setAllocOwner(owner);
  let result: T;
  try {
    result = fn();
  } finally {
    setAllocOwner(outer);
  }
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    // The promise's work runs after the scope ended: give nothing back.
    throw new TypeError('memory.scope: fn must be synchronous (it returned a promise)');
  }
  const kept = new Set<Storage>();
  collect(result, kept, 0);
  const parent = outer !== null && outer.storages !== null ? outer.storages : null;
  for (const st of owner.storages) {
    if (st._pinned || st._savedBy > 0 || st._released) continue;
    if (kept.has(st)) parent?.push(st);
    else st._release();
  }
  return result;
}

/** The storages reachable from a scope's result. */
function collect(v: unknown, into: Set<Storage>, depth: number): void {
  if (v === null || typeof v !== 'object' || depth > 32) return;
  if (v instanceof Tensor) {
    into.add(v._storage);
    if (v._grad) into.add(v._grad._storage);
    return;
  }
  if (Array.isArray(v) || v instanceof Set) {
    for (const x of v) collect(x, into, depth + 1);
  } else if (v instanceof Map) {
    for (const [k, x] of v) {
      collect(k, into, depth + 1);
      collect(x, into, depth + 1);
    }
  } else if (Object.getPrototypeOf(v) === Object.prototype) {
    for (const k in v) collect((v as Record<string, unknown>)[k], into, depth + 1);
  }
}

/**
 * Marks tensors to survive the memory.scope they were made in, wherever
 * they are kept; returns its argument.
 */
export function keep<T extends Tensor | Tensor[]>(t: T): T {
  for (const x of Array.isArray(t) ? t : [t]) {
    if (!(x instanceof Tensor)) throw new TypeError('memory.keep: expected a Tensor or an array of Tensors');
    x._storage._pinned = true;
  }
  return t;
}

/**
 * The warm block cache: bytes held, its cap, and since the process
 * started how many allocations it served (hits) or not (misses, above the
 * 1 KiB slab size) and how many buffers were given back to it; and how many
 * elementwise results of 1 MiB or more were written past the CPU cache
 * because their memory was cold (streamed: Note [Streaming stores],
 * native/cpu/cache.cc).
 */
export function stats(): { cachedBytes: number; limitBytes: number; hits: number; misses: number; released: number; streamed: number } {
  return { ...cacheStats(), streamed: native.streamedOutputs() };
}

/** Drops every cached block, for the GC to free (the cache also drops blocks left unused through two collections). */
export function emptyCache(): void {
  emptyBlocks();
}

/**
 * Caps the warm block cache at `bytes` (default 256 MiB, or the
 * KINDLING_CACHE_BYTES environment variable); 0 turns it off.
 */
export function setCacheLimit(bytes: number): void {
  setLimit(bytes);
}
