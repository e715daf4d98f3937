// Sharded checkpoints, as Hugging Face writes them: the tensors split over
// several safetensors files next to an index, model.safetensors.index.json,
//   {"metadata": {...}, "weight_map": {"<tensor name>": "model-00001-of-00002.safetensors", ...}}
// torch.load(indexPath) reads every shard the index names and gives one
// state dict. The index is data from elsewhere: a shard's name may only
// lead to a file in the index's own folder.
import * as fs from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { Tensor } from '../tensor.js';

// An index lists names and file names only; Hugging Face's largest are a
// few MB. Refused past this before reading it.
const MAX_INDEX_BYTES = 100_000_000;

/** Whether torch.load should read `path` as a shard index (a .json file) rather than a checkpoint. */
export function isShardIndex(path: unknown): path is string {
  return typeof path === 'string' && /\.json$/i.test(path);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * The state dict of the sharded checkpoint whose index is `indexPath`.
 * `loadShard` reads one shard file (torch.load itself, with the caller's
 * options), which must give a flat state dict. Every check that needs no
 * tensor data (the index's form, each shard's path and presence) is made
 * before any shard is read; then each shard must hold exactly the tensors
 * the index maps to it.
 */
export function loadSharded(indexPath: string, loadShard: (path: string) => unknown): Record<string, Tensor> {
  const bad = (why: string) => new Error(`torch.load: ${indexPath}: ${why}`);
  let st: fs.Stats;
  try {
    st = fs.statSync(indexPath);
  } catch (e) {
    throw new Error(`torch.load: cannot open ${indexPath}: ${(e as Error).message}`);
  }
  if (!st.isFile()) throw bad('the shard index is not a regular file');
  if (st.size > MAX_INDEX_BYTES) throw bad(`the shard index is ${st.size} bytes, over the ${MAX_INDEX_BYTES}-byte limit`);
  let index: unknown;
  try {
    index = JSON.parse(fs.readFileSync(indexPath, 'utf8'));
  } catch (e) {
    throw bad(`not a valid shard index: ${(e as Error).message}`);
  }
  if (index === null || typeof index !== 'object' || Array.isArray(index))
    throw bad(`a shard index must be a JSON object with a "weight_map", got ${describe(index)}`);
  const { weight_map: map, metadata } = index as { weight_map?: unknown; metadata?: unknown };
  if (map === null || typeof map !== 'object' || Array.isArray(map))
    throw bad(`a shard index needs "weight_map", an object of tensor name to shard file, got ${describe(map)}`);
  if (metadata !== undefined && (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)))
    throw bad(`the index's "metadata" must be an object, got ${describe(metadata)}`);

  // Each shard once, in the order the index first names it, with the names it must hold.
  const dir = resolve(dirname(indexPath));
  const shards = new Map<string, string[]>();
  for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== 'string' || file.length === 0)
      throw bad(`tensor '${name}' is mapped to ${describe(file)}; expected a shard file name`);
    let names = shards.get(file);
    if (names === undefined) shards.set(file, (names = []));
    names.push(name);
  }
  if (shards.size === 0) throw bad('the shard index maps no tensors ("weight_map" is empty)');
  const paths = new Map<string, string>();
  for (const file of shards.keys()) {
    const full = resolve(dir, file);
    const rel = relative(dir, full);
    if (isAbsolute(file) || rel === '' || rel === '..' || rel.startsWith('..' + sep) || isAbsolute(rel))
      throw bad(`shard '${file}' is not a file inside the index's folder ${dir}; shard names must be relative paths within it`);
    if (/\.json$/i.test(file)) throw bad(`shard '${file}' is itself a .json file; a shard must be a checkpoint file`);
    let real: string;
    try {
      real = fs.realpathSync(full);
    } catch {
      throw bad(`shard '${file}' (holding '${shards.get(file)![0]}' and ${shards.get(file)!.length - 1} more) is missing: no file ${full}`);
    }
    // A symbolic link inside the folder must not lead out of it either.
    const realRel = relative(fs.realpathSync(dir), real);
    if (realRel.startsWith('..' + sep) || realRel === '..' || isAbsolute(realRel))
      throw bad(`shard '${file}' links to ${real}, outside the index's folder`);
    paths.set(file, full);
  }

  const out: Record<string, Tensor> = {};
  const got = new Map<string, Tensor>();
  for (const [file, names] of shards) {
    const sd = loadShard(paths.get(file)!);
    if (sd === null || typeof sd !== 'object' || sd instanceof Map || Array.isArray(sd))
      throw bad(`shard '${file}' did not load as a state dict of tensors`);
    const entries = Object.entries(sd as Record<string, unknown>);
    const wanted = new Set(names);
    for (const [k, v] of entries) {
      if (!(v instanceof Tensor))
        throw bad(`shard '${file}' holds '${k}', which is ${describe(v)}, not a tensor (a shard must be a flat state dict)`);
      if (!wanted.has(k)) {
        const other = (map as Record<string, unknown>)[k];
        throw bad(
          typeof other === 'string' && Object.hasOwn(map, k)
            ? `tensor '${k}' is in shard '${file}' but the index maps it to '${other}'`
            : `shard '${file}' holds tensor '${k}', which the index does not list`,
        );
      }
      got.set(k, v);
    }
    for (const n of names) if (!got.has(n)) throw bad(`tensor '${n}' is mapped to shard '${file}', which does not hold it`);
  }
  // In the index's order; defineProperty keeps a '__proto__' name a plain entry.
  for (const name of Object.keys(map))
    Object.defineProperty(out, name, { value: got.get(name), enumerable: true, writable: true, configurable: true });
  return out;
}
