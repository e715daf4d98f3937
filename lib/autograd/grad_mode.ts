// Whether operations record the graph (torch.no_grad / enable_grad /
// set_grad_enabled).
//
// Note [Grad mode across awaits]: PyTorch's grad mode is thread-local; in
// Node the nearest thing is the async context. A block given an async
// function (noGrad(async () => { ... await ... })) keeps its mode across
// its awaits, in everything it awaits (a DataLoader's `for await` with
// workers included), and code running concurrently outside it keeps its
// own mode. Such a block runs in an AsyncLocalStorage scope holding a
// mutable Mode; setGradEnabled inside it writes that Mode.
//
// The cost: isGradEnabled() is read by every op. While no async scope is
// in flight (`scopes === 0`, the usual case, and always for sync code) it
// is two plain variable reads; only while one is in flight does it ask the
// AsyncLocalStorage. The storage is created on the first async scope and
// disabled when the last one settles, so Node's promise hooks, which slow
// every promise while it is enabled, are off whenever no scope is in
// flight. Consequence: work a scope leaves running after its promise
// settles (a timer it did not await) sees the mode of the code around it.
import { AsyncLocalStorage } from 'node:async_hooks';

interface Mode {
  enabled: boolean;
}

/** The mode of code outside any async scope. */
let enabled = true;
/** Async scopes started and not yet settled. */
let scopes = 0;
let storage: AsyncLocalStorage<Mode> | null = null;

/** Whether operations record the graph here (torch.is_grad_enabled). */
export function isGradEnabled(): boolean {
  if (scopes === 0) return enabled;
  const m = storage!.getStore();
  return m === undefined ? enabled : m.enabled;
}

/**
 * Turns graph recording on or off (torch.set_grad_enabled). With a function,
 * runs it in that mode and restores the previous one, as PyTorch's
 * `with torch.set_grad_enabled(flag):`, and passes its return value through;
 * an async function keeps the mode across its awaits.
 */
export function setGradEnabled(flag: boolean): void;
export function setGradEnabled<T>(flag: boolean, fn: () => T): T;
export function setGradEnabled<T>(flag: boolean, fn?: () => T): T | void {
  if (typeof flag !== 'boolean') throw new TypeError(`setGradEnabled: flag must be a boolean, got ${typeof flag}`);
  if (fn !== undefined) return withMode('setGradEnabled', flag, fn);
  if (scopes !== 0) {
    const m = storage!.getStore();
    if (m !== undefined) {
      m.enabled = flag;
      return;
    }
  }
  enabled = flag;
}

const AsyncFunctionProto = Object.getPrototypeOf(async function () {}) as object;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

function withMode<T>(owner: string, flag: boolean, fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`${owner}: expected a function`);
  if (scopes !== 0 || Object.getPrototypeOf(fn) === AsyncFunctionProto) return scoped(flag, fn);
  // Sync code outside any async scope: the plain variable.
  const prev = enabled;
  enabled = flag;
  let r: T;
  try {
    r = fn();
  } finally {
    enabled = prev;
  }
  if (isThenable(r)) {
    // Its awaits were set up outside a scope and will run in whatever mode
    // is current then; refuse rather than let the mode silently not hold.
    // The promise is marked handled so that this error is the one seen.
    r.then(undefined, () => {});
    throw new TypeError(
      `${owner}: the function returned a Promise but is not an async function, so the grad mode cannot follow its awaits; ` +
        `pass an async function instead: ${owner}(async () => { ... })`,
    );
  }
  return r;
}

// Runs fn in its own Mode; the scope ends when fn returns or, for a
// promise, when that settles.
function scoped<T>(flag: boolean, fn: () => T): T {
  if (storage === null) storage = new AsyncLocalStorage<Mode>();
  const s = storage;
  scopes++;
  let r: T;
  try {
    r = s.run({ enabled: flag }, fn);
  } catch (e) {
    endScope();
    throw e;
  }
  if (!isThenable(r)) {
    endScope();
    return r;
  }
  return r.then(
    (v) => {
      endScope();
      return v;
    },
    (e: unknown) => {
      endScope();
      throw e;
    },
  ) as T;
}

function endScope(): void {
  if (--scopes === 0) storage!.disable();
}

/**
 * Runs fn without recording the graph (torch.no_grad) and passes its return
 * value through. An async fn keeps the mode across its awaits (Note [Grad
 * mode across awaits]); a plain function returning a Promise is refused.
 */
export function noGrad<T>(fn: () => T): T {
  return withMode('noGrad', false, fn);
}

/** Runs fn with graph recording on (inside a noGrad block, say), as noGrad does. */
export function enableGrad<T>(fn: () => T): T {
  return withMode('enableGrad', true, fn);
}
