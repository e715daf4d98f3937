// What torch.save stores besides tensors. A checkpoint such as
// { epoch, model: model.stateDict(), optimizer: opt.stateDict(), loss }
// goes into one safetensors file: every tensor as an ordinary entry, named
// by its dotted path ('model.fc.weight', 'optimizer.state.0.expAvg'), so
// PyTorch's safetensors loader reads all of them; the rest of the object
// goes as JSON, one string in the header's __metadata__ under STRUCTURE_KEY,
// with each tensor replaced by a reference to its entry.
//
// The structure string is {"version":1,"root":VALUE}. VALUE is JSON as is
// for strings, booleans, null, finite numbers, arrays and plain objects,
// and a one-key object for what JSON cannot hold:
//   {"$tensor": "model.fc.weight"}              the entry of that name
//   {"$number": "NaN" | "Infinity" | "-Infinity" | "-0"}
//   {"$bigint": "-123"}
//   {"$map": [[KEY, VALUE], ...]}               a Map, in insertion order
//   {"$object": {...}}                          a plain object that has one key,
//                                               and that key is one of these tags
// A flat state dict (an object, or a Map with string keys, of tensors only)
// is written without the structure, byte for byte as before, and loads as
// the same flat dict.
import { Tensor } from '../tensor.js';
import { Generator } from '../ops/generator.js';

/** The __metadata__ key that holds a checkpoint's structure (see lib/io/checkpoint.ts for its format). */
export const STRUCTURE_KEY = 'kindling.structure';

const VERSION = 1;
// How deep a checkpoint may nest (objects in objects). Real ones nest a few
// levels; the bound keeps the recursive walks off the stack's limit.
const MAX_DEPTH = 1000;
// The JSON of a structure nests at most 3 levels per level of the object
// (a Map: its tag, its entry list, an entry) plus the wrapper.
const MAX_JSON_DEPTH = 3 * MAX_DEPTH + 2;
const TAGS = new Set(['$tensor', '$number', '$bigint', '$map', '$object']);
const SPECIAL_NUMBERS: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity, '-0': -0 };
const SAVEABLE = 'torch.save stores tensors, numbers, bigints, strings, booleans, null, arrays, plain objects and Maps';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type MapKey = string | number | bigint | boolean | null;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

/** Sets an own property, so that a '__proto__' key stays an entry and never sets a prototype. */
function put(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---- paths, for errors: obj.config.lr, obj.model["fc.weight"], obj.hist[3], obj.m.get(2) ----
const IDENT = /^[A-Za-z_$][\w$]*$/;
const keyPath = (path: string, k: string) => (IDENT.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`);
function keyText(k: unknown): string {
  if (typeof k === 'string') return JSON.stringify(k);
  if (typeof k === 'bigint') return `${k}n`;
  return String(k);
}
/** A path, cut short for a message when an object nests very deep. */
function shown(path: string): string {
  return path.length > 200 ? `${path.slice(0, 100)}...${path.slice(-90)}` : path;
}

function numberJson(v: number): Json {
  if (Number.isFinite(v) && !Object.is(v, -0)) return v;
  return { $number: Object.is(v, -0) ? '-0' : String(v) };
}

/** The JSON of a string, boolean, null, number or bigint; undefined for anything else. */
function primitiveJson(v: unknown): Json | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return numberJson(v);
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  return undefined;
}

const article = (word: string) => (/^[AEIOUaeiou]/.test(word) ? 'an' : 'a');

/**
 * Why `v` cannot be saved, as the end of the sentence "torch.save: <path> is ...":
 * the leaves and containers a checkpoint may not hold.
 */
function unsaveable(v: unknown): string {
  if (v === undefined) return 'undefined, which cannot be saved (neither JSON nor PyTorch has it); use null for a missing value';
  if (typeof v === 'symbol') return `a symbol, which cannot be saved; ${SAVEABLE}`;
  const stateDict = typeof (v as { stateDict?: unknown }).stateDict === 'function';
  const name = (v as { constructor?: { name?: string } }).constructor?.name || 'object';
  if (typeof v === 'function') {
    // A Module is callable (typeof 'function'): the one a user most often passes.
    if (stateDict)
      return `a module (${name}), which cannot be saved itself; save its state dict instead: torch.save(model.stateDict(), path), or { model: model.stateDict(), ... }`;
    return `a function, which cannot be saved; ${SAVEABLE}`;
  }
  if (stateDict) return `an instance of ${name}, which cannot be saved itself; save its stateDict() instead`;
  if (v instanceof Generator)
    return 'a torch.Generator, which cannot be saved itself; save its getState() (a tensor) and restore it with setState()';
  if (ArrayBuffer.isView(v)) return `${article(name)} ${name}, which cannot be saved; make it a tensor (torch.fromTypedArray)`;
  if (v instanceof Set) return `a Set, which cannot be saved; save an array of its values`;
  if (v instanceof Date) return 'a Date, which cannot be saved; save date.getTime() or date.toISOString()';
  return `an instance of ${name}, which cannot be saved; ${SAVEABLE}`;
}

/** The tensors of a checkpoint, by entry name, and its structure (null for a flat state dict). */
export interface EncodedCheckpoint {
  tensors: Map<string, Tensor>;
  structure: string | null;
}

/**
 * Splits what torch.save was given into its tensors and the JSON of the
 * rest, refusing (with the path inside the object) anything that cannot be
 * saved and read back as it was.
 */
export function encodeCheckpoint(obj: unknown): EncodedCheckpoint {
  if (obj instanceof Tensor)
    throw new TypeError('torch.save: expected a state dict (an object of named tensors), got a bare Tensor; save { name: tensor } instead');
  if (!Array.isArray(obj) && !isPlainObject(obj) && !(obj instanceof Map)) {
    if (obj !== null && (typeof obj === 'object' || typeof obj === 'function'))
      throw new TypeError(`torch.save: obj is ${unsaveable(obj)}`);
    throw new TypeError(
      `torch.save: obj is ${obj === null ? 'null' : `${article(typeof obj)} ${typeof obj}`}; torch.save saves an object, an array or a Map (a state dict, or { epoch, model, ... })`,
    );
  }
  const tensors = new Map<string, Tensor>();
  const pathOf = new Map<string, string>(); // entry name -> path, for the clash error
  const open = new Map<object, string>(); // the containers being visited -> their paths (cycles)

  const visit = (v: unknown, path: string, name: string, depth: number): Json => {
    const json = primitiveJson(v);
    if (json !== undefined) return json;
    if (v instanceof Tensor) {
      if (name === '__metadata__')
        throw new TypeError(`torch.save: ${shown(path)}: the name '__metadata__' is reserved by the safetensors format`);
      const other = pathOf.get(name);
      if (other !== undefined)
        throw new Error(
          `torch.save: two entries flatten to the same name '${name}' (${shown(other)} and ${shown(path)}); each tensor needs its own entry name, so rename one`,
        );
      pathOf.set(name, path);
      tensors.set(name, v);
      return { $tensor: name };
    }
    const isArray = Array.isArray(v);
    if (!isArray && !isPlainObject(v) && !(v instanceof Map)) throw new TypeError(`torch.save: ${shown(path)} is ${unsaveable(v)}`);
    const container = v as object;
    const outer = open.get(container);
    if (outer !== undefined) throw new TypeError(`torch.save: ${shown(path)} refers back to ${shown(outer)}, which contains it (a cycle)`);
    if (depth >= MAX_DEPTH) throw new RangeError(`torch.save: ${shown(path)} nests more than ${MAX_DEPTH} levels deep`);
    open.set(container, path);
    const child = (key: string) => (name === '' ? key : `${name}.${key}`);
    let out: Json;
    if (isArray) {
      const arr = v as unknown[];
      out = [];
      for (let i = 0; i < arr.length; i++) {
        if (!(i in arr)) throw new TypeError(`torch.save: ${shown(path)}[${i}] is an empty slot of a sparse array, which cannot be saved`);
        // Without building the path and name of each number of a long list.
        out.push(primitiveJson(arr[i]) ?? visit(arr[i], `${path}[${i}]`, child(String(i)), depth + 1));
      }
    } else if (v instanceof Map) {
      const entries: Json[] = [];
      for (const [k, x] of v) {
        const okKey = k === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof k);
        if (!okKey)
          throw new TypeError(
            `torch.save: ${shown(path)} has a key that is ${k === undefined ? 'undefined' : typeof k === 'object' ? 'an object' : `a ${typeof k}`}; a saved Map's keys must be strings, numbers, bigints, booleans or null`,
          );
        const key = k as MapKey;
        const keyJson = typeof key === 'number' ? numberJson(key) : typeof key === 'bigint' ? { $bigint: key.toString() } : key;
        entries.push([keyJson, visit(x, `${path}.get(${keyText(key)})`, child(String(key)), depth + 1)]);
      }
      out = { $map: entries };
    } else {
      const fields: { [key: string]: Json } = {};
      const keys = Object.keys(v as object);
      for (const k of keys) put(fields, k, visit((v as Record<string, unknown>)[k], keyPath(path, k), child(k), depth + 1));
      // A one-key object whose key is a tag would read back as that tag.
      out = keys.length === 1 && TAGS.has(keys[0]) ? { $object: fields } : fields;
    }
    open.delete(container);
    return out;
  };
  const root = visit(obj, 'obj', '', 0);

  const values: unknown[] = obj instanceof Map ? [...obj.values()] : Array.isArray(obj) ? [] : Object.values(obj);
  const flat =
    !Array.isArray(obj) &&
    values.every((x) => x instanceof Tensor) &&
    (!(obj instanceof Map) || [...obj.keys()].every((k) => typeof k === 'string'));
  return { tensors, structure: flat ? null : JSON.stringify({ version: VERSION, root }) };
}

// ---- load ----------------------------------------------------------------------------------
/** Whether JSON text nests arrays and objects deeper than `limit` (checked before JSON.parse and the recursive walks). */
function jsonDepthOver(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * A checkpoint's structure, read from its metadata string and checked
 * against the file's tensor entries (each referenced exactly once) before
 * any tensor is read. `fail(why)` makes the error to throw.
 */
export class CheckpointStructure {
  private readonly root: Json;

  constructor(text: string, entryNames: readonly string[], fail: (why: string) => Error) {
    if (jsonDepthOver(text, MAX_JSON_DEPTH)) throw fail(`nests more than ${MAX_JSON_DEPTH} levels deep`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw fail(`is not valid JSON (${(e as Error).message})`);
    }
    if (!isPlainObject(parsed) || !('version' in parsed) || !('root' in parsed))
      throw fail('is not an object of the form {"version": 1, "root": ...}');
    if (parsed.version !== VERSION)
      throw fail(
        `has format version ${JSON.stringify(parsed.version)}; this Kindling reads version ${VERSION} (a newer Kindling wrote it?)`,
      );
    this.root = parsed.root as Json;
    // A dry run checks every tag and reference.
    const unused = new Set(entryNames);
    decode(
      this.root,
      'obj',
      0,
      (name, path) => {
        if (!unused.has(name)) {
          throw fail(
            entryNames.includes(name)
              ? `refers to tensor '${name}' twice (again at ${shown(path)})`
              : `refers to tensor '${name}' at ${shown(path)}, which the file does not hold`,
          );
        }
        unused.delete(name);
        return null;
      },
      fail,
    );
    if (unused.size > 0) throw fail(`does not refer to tensor '${[...unused][0]}' of the file (${unused.size} tensors unreferenced)`);
  }

  /** The saved object, with the file's tensors in their places. */
  build(tensors: Readonly<Record<string, Tensor>>): unknown {
    return decode(
      this.root,
      'obj',
      0,
      (name) => tensors[name],
      (why) => new Error(why),
    );
  }
}

function decode(
  v: Json,
  path: string,
  depth: number,
  take: (name: string, path: string) => unknown,
  fail: (why: string) => Error,
): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (depth > MAX_DEPTH) throw fail(`nests more than ${MAX_DEPTH} levels deep (at ${shown(path)})`);
  if (Array.isArray(v))
    return v.map((x, i) => (x === null || typeof x !== 'object' ? x : decode(x, `${path}[${i}]`, depth + 1, take, fail)));
  const keys = Object.keys(v);
  const bad = (what: string) => fail(`has ${what} at ${shown(path)}`);
  if (keys.length === 1 && TAGS.has(keys[0])) {
    const tag = keys[0];
    const x = v[tag];
    switch (tag) {
      case '$tensor':
        if (typeof x !== 'string') throw bad(`a $tensor that is not a string`);
        return take(x, path);
      case '$number':
        if (typeof x !== 'string' || !Object.hasOwn(SPECIAL_NUMBERS, x))
          throw bad(`the $number ${JSON.stringify(x)} (expected NaN, Infinity, -Infinity or -0)`);
        return SPECIAL_NUMBERS[x];
      case '$bigint':
        if (typeof x !== 'string' || !/^-?(0|[1-9][0-9]*)$/.test(x))
          throw bad(`the $bigint ${JSON.stringify(x)} (expected decimal digits)`);
        return BigInt(x);
      case '$object':
        if (!isPlainObject(x)) throw bad('an $object that is not an object');
        return decodeFields(x as { [key: string]: Json }, path, depth, take, fail);
      default: {
        if (!Array.isArray(x)) throw bad('a $map that is not an array of [key, value] pairs');
        const m = new Map<unknown, unknown>();
        x.forEach((entry, i) => {
          if (!Array.isArray(entry) || entry.length !== 2) throw bad(`a $map entry ${i} that is not a [key, value] pair`);
          const key = decodeKey(entry[0]);
          if (key === undefined) throw bad(`a $map key that is not a string, number, bigint, boolean or null (entry ${i})`);
          if (m.has(key)) throw bad(`a $map with the key ${keyText(key)} twice`);
          m.set(key, decode(entry[1], `${path}.get(${keyText(key)})`, depth + 1, take, fail));
        });
        return m;
      }
    }
  }
  return decodeFields(v, path, depth, take, fail);
}

function decodeFields(
  v: { [key: string]: Json },
  path: string,
  depth: number,
  take: (name: string, path: string) => unknown,
  fail: (why: string) => Error,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) put(out, k, decode(v[k], keyPath(path, k), depth + 1, take, fail));
  return out;
}

/** A Map key from its JSON, or undefined when it is not one torch.save writes. */
function decodeKey(k: Json): MapKey | undefined {
  if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'boolean') return k;
  if (Array.isArray(k)) return undefined;
  const keys = Object.keys(k);
  if (keys.length !== 1) return undefined;
  const x = k[keys[0]];
  if (keys[0] === '$number' && typeof x === 'string' && Object.hasOwn(SPECIAL_NUMBERS, x)) return SPECIAL_NUMBERS[x];
  if (keys[0] === '$bigint' && typeof x === 'string' && /^-?(0|[1-9][0-9]*)$/.test(x)) return BigInt(x);
  return undefined;
}
