// Whether operations record the graph (torch.no_grad / enable_grad).
let enabled = true;

export function isGradEnabled(): boolean {
  return enabled;
}

export function setGradEnabled(flag: boolean): void {
  enabled = !!flag;
}

function withMode<T>(flag: boolean, fn: () => T): T {
  const prev = enabled;
  enabled = flag;
  try {
    return fn();
  } finally {
    enabled = prev;
  }
}

/** Runs fn without recording the graph and passes its return value through. */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError('noGrad: expected a function');
  return withMode(false, fn);
}

/** Runs fn with graph recording on (inside a noGrad block, say). */
export function enableGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError('enableGrad: expected a function');
  return withMode(true, fn);
}
