// Promise items from async datasets (dataset.get(i) returning a Promise).
// Whatever Promise the loader takes from a dataset either gets awaited or
// gets a rejection handler, so that nothing it refuses or abandons can end
// the process as an unhandled rejection.

/** A Promise or anything Promise-like (a then method). */
export function isThenable(x: unknown): x is PromiseLike<unknown> {
  return x !== null && (typeof x === 'object' || typeof x === 'function') && typeof (x as { then?: unknown }).then === 'function';
}

const ignore = (): void => {};

/** Attaches a no-op rejection handler to every thenable among `items`. */
export function settleQuietly(items: readonly unknown[]): void {
  for (const x of items) {
    if (!isThenable(x)) continue;
    try {
      // Promise.resolve(p) is p itself for a native Promise; for another
      // thenable it subscribes through its then().
      Promise.resolve(x).catch(ignore);
    } catch {
      // A hostile then getter; nothing to attach to.
    }
  }
}
