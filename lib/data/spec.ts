// Building a dataset from a WorkerDatasetSpec (Note [Worker datasets] in
// worker_pool.ts): what a worker thread does first, and what a composite
// dataset (Subset, ConcatDataset) does for the datasets it wraps.
import { pathToFileURL } from 'node:url';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { isDatasetLike, type Dataset, type WorkerDatasetSpec } from './dataset.js';

/** A module given as a URL or path, as an absolute href or path string (cloneable, resolvable in any thread). */
export function moduleHref(m: string | URL): string {
  if (m instanceof URL) return m.href;
  if (typeof m !== 'string' || m.length === 0)
    throw new TypeError(`DataLoader: the worker dataset module must be a path or URL string, got ${String(m)}`);
  // A URL (file:, data:) as is; a path made absolute against the cwd.
  if (/^[a-z][a-z0-9+.-]+:/i.test(m) && !/^[a-z]:[\\/]/i.test(m)) return m;
  return isAbsolute(m) ? m : resolvePath(m);
}

/** The spec with its module as a string, so it survives structured cloning. */
export function cloneableSpec(spec: WorkerDatasetSpec): WorkerDatasetSpec {
  return { module: moduleHref(spec.module), exportName: spec.exportName ?? 'default', args: spec.args ?? [] };
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.stack && e.stack.includes(e.message) ? e.stack : `${e.message}\n${e.stack ?? ''}`;
  return String(e);
}

/**
 * Imports the spec's module and builds the dataset: `Cls.fromWorker(...args)`
 * (awaited) when the export has that static method, `new Cls(...args)` for
 * another class, or the export itself.
 */
export async function buildFromSpec(spec: WorkerDatasetSpec): Promise<Dataset<unknown>> {
  const module = moduleHref(spec.module);
  const exportName = spec.exportName ?? 'default';
  const args = spec.args ?? [];
  const url = /^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module) ? module : pathToFileURL(module).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`could not import the dataset module ${module}: ${errorText(e)}`);
  }
  if (!(exportName in mod)) {
    throw new Error(
      `the dataset module ${module} has no export named '${exportName}' (it exports: ${Object.keys(mod).join(', ') || 'nothing'})`,
    );
  }
  const exp = mod[exportName] as unknown;
  let ds: unknown;
  if (
    exp !== null &&
    (typeof exp === 'function' || typeof exp === 'object') &&
    typeof (exp as { fromWorker?: unknown }).fromWorker === 'function'
  ) {
    ds = await (exp as { fromWorker: (...a: unknown[]) => unknown }).fromWorker(...args);
  } else if (typeof exp === 'function') {
    ds = new (exp as new (...a: unknown[]) => unknown)(...args);
  } else {
    ds = exp;
  }
  if (!isDatasetLike(ds)) {
    throw new Error(`export '${exportName}' of ${module} did not give a dataset (an object with a numeric length and a get(i) method)`);
  }
  return ds;
}
