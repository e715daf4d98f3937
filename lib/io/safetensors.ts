// torch.save / torch.load in the safetensors format
// (https://github.com/huggingface/safetensors), so state dicts move between
// Kindling and PyTorch both ways.
//
// Layout: an 8-byte little-endian u64 N, N bytes of JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}
// padded with spaces to a multiple of 8, then the data section; offsets are
// relative to the data section and tensors are row-major little-endian.
import { checkOptions } from '../util/args.js';
import * as fs from 'node:fs';
import { dirname, basename, join, resolve } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { endianness, hostname } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { Storage, Tensor } from '../tensor.js';
import { allocStorage, type DType } from '../dtype.js';
import { contiguousStrides, toDevice } from '../ops/kernels.js';
import { device as checkedDevice, type Device } from '../backend/cuda.js';
import type { TypedArray } from '../backend/native.js';
import { CheckpointStructure, encodeCheckpoint, STRUCTURE_KEY } from './checkpoint.js';
import { loadDType, toLoadDType } from './load_dtype.js';
import { isShardIndex, loadSharded } from './shards.js';
import { isTorchFile, readTorchFile } from './torch_file.js';

const TO_FILE: Record<DType, string> = {
  float32: 'F32',
  float64: 'F64',
  float16: 'F16',
  bfloat16: 'BF16',
  int32: 'I32',
  int64: 'I64',
  uint8: 'U8',
  bool: 'BOOL',
};
const FROM_FILE: Record<string, DType> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'float16',
  BF16: 'bfloat16',
  I32: 'int32',
  I64: 'int64',
  U8: 'uint8',
  BOOL: 'bool',
};
// Formats the spec has that Kindling has no dtype for (named in errors).
const OTHER_FILE_DTYPES = new Set(['I8', 'I16', 'U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2', 'C64']);
// Position in the reference implementation's Dtype enum (BOOL, U8, I8,
// F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64),
// which orders tensors in a file.
const RANK: Record<DType, number> = { bool: 0, uint8: 1, float16: 7, bfloat16: 8, int32: 9, float32: 11, float64: 12, int64: 13 };
const ITEMSIZE: Record<DType, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int32: 4, int64: 8, uint8: 1, bool: 1 };
// The reference implementation refuses headers above 100 MB; so do we,
// before allocating anything for one.
const MAX_HEADER = 100_000_000;
// serde_json, which the reference implementation parses headers with,
// refuses nesting deeper than 128; a valid header nests 3 deep. Checked
// before JSON.parse, which spends seconds and gigabytes on a 100 MB '[[[[...'.
const MAX_DEPTH = 128;
const BIG_ENDIAN = endianness() === 'BE';

export type StateDict = { [name: string]: Tensor };
/** A state dict, possibly nested: { layer: { weight } } saves as the entry 'layer.weight' and loads back nested. */
export interface NestedState {
  [name: string]: Tensor | NestedState | readonly (Tensor | NestedState)[];
}

export interface SaveOptions {
  /** String key/values stored in the header's __metadata__. */
  metadata?: Record<string, string>;
}

// ---- save ------------------------------------------------------------------------
function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return v.constructor && v.constructor !== Object ? `a ${v.constructor.name}` : 'an object';
  return `a ${typeof v}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

/** What a file-system entry is, for errors ('a FIFO', 'a directory', ...). */
function fileKind(st: fs.Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'of an unknown type';
}

/**
 * A short rendering of a header value for an error: at most a few levels
 * and a few dozen characters (JSON.stringify of a value nested a million
 * deep overflows the stack, and one of 100 MB makes a useless message).
 */
function preview(v: unknown, depth = 0): string {
  if (typeof v === 'string') return v.length > 40 ? `${JSON.stringify(v.slice(0, 40))}...` : JSON.stringify(v);
  if (v === null || typeof v !== 'object') return String(v);
  if (depth >= 3) return Array.isArray(v) ? '[...]' : '{...}';
  if (Array.isArray(v)) {
    const items = v.slice(0, 8).map((x) => preview(x, depth + 1));
    return `[${items.join(',')}${v.length > 8 ? ',...' : ''}]`;
  }
  const keys = Object.keys(v);
  const items = keys.slice(0, 4).map((k) => `${preview(k)}:${preview((v as Record<string, unknown>)[k], depth + 1)}`);
  return `{${items.join(',')}${keys.length > 4 ? ',...' : ''}}`;
}

/**
 * Why no Kindling tensor can have this shape (sizes already non-negative
 * safe integers), or null. The product of the nonzero sizes must stay at
 * most 2^53-1 even when a size is 0: a zero-size tensor's other sizes still
 * go into strides, sub-shape products and loops over its outer dimensions,
 * which Kindling computes in doubles, exact only up to 2^53-1. (PyTorch
 * computes them in int64 and refuses products past 2^64 with "Storage size
 * calculation overflowed"; 2^53-1 is the tighter bound, and the one where
 * our arithmetic stays exact. A product past it in doubles rounds to at
 * least 2^53, so the test below never misses one.)
 */
function shapeProblem(shape: readonly number[]): string | null {
  let p = 1;
  for (const s of shape) {
    if (s === 0) continue;
    p *= s;
    if (p > Number.MAX_SAFE_INTEGER) {
      return `has shape [${shape.join(', ')}] whose sizes multiply past 2^53-1 (not counting zeros); Kindling computes sizes exactly only up to 2^53-1`;
    }
  }
  return null;
}

/** The tensor's elements, row-major, as bytes (a view when it already is one). */
function tensorBytes(t: Tensor): Uint8Array {
  let src: Tensor = t;
  // A device tensor is written from its host copy (contiguous already).
  if (t.device !== 'cpu') src = toDevice(t, 'cpu', 'torch.save', true);
  else if (!t.isContiguous()) src = t.contiguous();
  const data = src._storage.data as TypedArray;
  const size = ITEMSIZE[src.dtype];
  const n = src.numel();
  let bytes = new Uint8Array(data.buffer, data.byteOffset + src._offset * size, n * size);
  if (BIG_ENDIAN && size > 1) bytes = swapped(bytes, size);
  return bytes;
}

function swapped(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) for (let k = 0; k < size; k++) out[i + k] = bytes[i + size - 1 - k];
  return out;
}

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  bytes: Uint8Array;
}

/**
 * The header JSON and data layout, in the reference writer's order. Refuses
 * a header over MAX_HEADER before building it: torch.load (like the
 * reference reader) refuses those, so writing one would replace a good
 * checkpoint with one that cannot be loaded.
 */
function layout(
  tensors: Map<string, Tensor>,
  metadata: Record<string, string> | undefined,
  path: string,
): { header: Uint8Array; entries: Entry[] } {
  const tooBig = (size: string, biggest: string) =>
    new Error(
      `torch.save: ${path}: the header would be ${size} bytes (${biggest}), over the ${MAX_HEADER}-byte limit ` +
        'that torch.load enforces (as the safetensors reference does); nothing was written',
    );
  // First a lower bound on the header's size from the strings alone, so a
  // header far too big is refused before it is built (JSON.stringify of a
  // string near V8's length limit fails with a bare 'Invalid string length').
  let atLeast = 2;
  let biggest = { chars: 0, what: '' };
  const count = (chars: number, what: string) => {
    atLeast += chars;
    if (chars > biggest.chars) biggest = { chars, what };
    if (atLeast > MAX_HEADER) throw tooBig(`more than ${MAX_HEADER}`, `${biggest.what} alone takes ${biggest.chars}`);
  };
  if (metadata !== undefined) for (const [k, v] of Object.entries(metadata)) count(k.length + v.length + 6, `metadata '${k.slice(0, 40)}'`);
  for (const [name, t] of tensors) count(name.length + 40 + t.shape.length, `the entry for tensor '${name.slice(0, 40)}'`);

  const entries: Entry[] = [...tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, bytes: tensorBytes(t) }));
  // The reference writer's order: dtypes by descending rank (its enum is in
  // increasing alignment, so every tensor stays aligned to its item size),
  // then by name; the same state dict always gives the same bytes.
  entries.sort((a, b) => RANK[b.dtype] - RANK[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Written by hand: JSON.stringify of an object would move integer-like
  // names ('0', '1') to the front.
  const parts: string[] = [];
  if (metadata !== undefined) {
    const m = Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`"__metadata__":{${m.join(',')}}`);
  }
  let at = 0;
  for (const e of entries) {
    const end = at + e.bytes.length;
    parts.push(`${JSON.stringify(e.name)}:{"dtype":"${TO_FILE[e.dtype]}","shape":[${e.shape.join(',')}],"data_offsets":[${at},${end}]}`);
    at = end;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  // The exact rule: the length torch.load reads must be within its limit.
  if (padded > MAX_HEADER) throw tooBig(String(padded), `${biggest.what} takes at least ${biggest.chars}`);
  const header = Buffer.alloc(8 + padded, 0x20);
  header.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(header, 8);
  return { header, entries };
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}

/**
 * The file a save to `path` replaces: `path` itself, or where its symbolic
 * links lead. PyTorch's torch.save opens the path for writing and so writes
 * through a symlink; we write a temporary file and rename it over the
 * target, and renaming over the symlink would replace the link with a file,
 * so we resolve the links first and replace the file they point to (which
 * we create, as open() would, when a link dangles). Anything else that is
 * not a regular file (a directory, a FIFO, a device such as /dev/null, a
 * socket) is refused and left as it is: a rename would replace it with a
 * regular file (as root, /dev/null itself).
 */
function saveTarget(path: string): string {
  let target = path;
  for (let links = 0; ; links++) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A new file (or a dangling link's target); a missing directory is
      // reported when the temporary file cannot be created there.
      if (code === 'ENOENT' || code === 'ENOTDIR') return target;
      throw new Error(`torch.save: cannot write ${path}: ${(e as Error).message}`);
    }
    if (st.isFile()) return target;
    const what = target === path ? 'it' : `${target}, where it links to,`;
    if (!st.isSymbolicLink()) {
      throw new Error(
        `torch.save: writing ${path} failed: ${what} is ${fileKind(st)}, not a regular file; torch.save replaces only regular files, and left it untouched`,
      );
    }
    if (links >= 40) throw new Error(`torch.save: cannot write ${path}: too many levels of symbolic links`);
    // Relative to the link's real directory (a '..' in the link goes up from there).
    try {
      target = resolve(fs.realpathSync(dirname(target)), fs.readlinkSync(target));
    } catch (e) {
      throw new Error(`torch.save: cannot write ${path}: ${(e as Error).message}`);
    }
  }
}

// ---- temporary files ---------------------------------------------------------------
// A save writes `.<name>.tmp-<host>-<pid>-<tid>-<random>` next to its target
// and renames it over the target. A writer killed in between (SIGKILL, a
// signal during a synchronous save, worker.terminate()) leaves that file
// behind, as big as the checkpoint; the next save to the same target removes
// the ones whose writer is gone. <tid> is the writing OS thread (Linux; 0
// elsewhere), so the temp of a terminated worker thread is recognised while
// its process lives on; <host> tags the machine and pid namespace, so a
// directory shared with other hosts or containers never has a live writer's
// file taken for a dead one's (we cannot tell theirs apart, and leave them).

// Temporary names must fit the file system's 255-byte limit on a name; a
// name longer than this (the suffix takes at most 45 more bytes) is
// shortened to its first bytes and a hash of the whole.
const MAX_TAG_BYTES = 200;

function tempPrefix(target: string): string {
  const base = basename(target);
  if (Buffer.byteLength(base, 'utf8') <= MAX_TAG_BYTES) return `.${base}.tmp-`;
  let head = '';
  let bytes = 0;
  for (const ch of base) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > 100) break;
    head += ch;
    bytes += n;
  }
  return `.${head}~${createHash('sha256').update(base).digest('hex').slice(0, 16)}.tmp-`;
}

interface Me {
  host: string;
  /** This thread's OS thread id, or 0 where /proc does not give it. */
  tid: number;
  /** Whether /proc shows this process's pid namespace (so /proc/<pid>/task/<tid> can be trusted). */
  proc: boolean;
}

// Per thread: each worker thread loads its own copy of this module.
let me: Me | null = null;
function whoAmI(): Me {
  if (me !== null) return me;
  let tid = 0;
  let proc = false;
  let ns = '';
  try {
    // "<pid>/task/<tid>"; from another pid namespace's /proc the pid differs.
    const m = /^(\d+)\/task\/(\d+)$/.exec(fs.readlinkSync('/proc/thread-self'));
    if (m && Number(m[1]) === process.pid) {
      tid = Number(m[2]);
      proc = true;
      ns = fs.readlinkSync('/proc/self/ns/pid');
    }
  } catch {
    // No /proc (macOS, Windows): pids alone.
  }
  const host = createHash('sha256').update(`${hostname()}\0${ns}`).digest('hex').slice(0, 8);
  return (me = { host, tid, proc });
}

/** A fresh temporary name for a save to `target` (exported for tests). */
export function _tempName(target: string): string {
  const { host, tid } = whoAmI();
  return `${tempPrefix(target)}${host}-${process.pid}-${tid}-${randomBytes(4).toString('hex')}`;
}

/** Whether the writer of a temporary file (this host, pid, OS thread id or 0) is certainly gone. */
function writerGone(pid: number, tid: number): boolean {
  const self = whoAmI();
  // This thread is not in the middle of another save (save is synchronous):
  // its own temps are left over from one that was interrupted.
  if (pid === process.pid && tid !== 0 && tid === self.tid) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it lives, as another user.
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
  // The process lives. Without thread ids, nothing tells its writing
  // thread from the others: keep the file.
  if (!self.proc || tid === 0) return false;
  // With hidepid, other users' processes are missing from /proc: keep theirs.
  if (!fs.existsSync(`/proc/${pid}`)) return false;
  return !fs.existsSync(`/proc/${pid}/task/${tid}`);
}

/** Removes the temporary files of saves to `target` whose writers are gone. */
function removeStaleTemps(target: string): void {
  const dir = dirname(target);
  const prefix = tempPrefix(target);
  const { host } = whoAmI();
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return; // Reported, if it matters, when the temporary file is created.
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^([0-9a-f]{8})-(\d{1,9})-(\d{1,9})-[0-9a-f]{8}$/.exec(name.slice(prefix.length));
    if (m === null || m[1] !== host) continue;
    const pid = Number(m[2]);
    if (pid < 1) continue;
    if (!writerGone(pid, Number(m[3]))) continue;
    try {
      fs.unlinkSync(join(dir, name));
    } catch {
      // Removed by another saver meanwhile, or not ours to remove.
    }
  }
}

// ---- signals during a save ---------------------------------------------------------
// SIGINT, SIGTERM or SIGHUP in the middle of a save kills the process
// before it can remove its temporary file. So while a save runs, if the
// process has no listener of its own for such a signal, we listen for it.
// save() is synchronous: a listener only runs once the event loop turns
// after save returns, by when the save has finished (or failed and cleaned
// up); ours then removes itself and raises the signal again, which, with no
// listener left, ends the process as the signal would have (it dies by the
// signal, as Node's default). Two rules keep signals from being lost:
//  - Removing the listener drops a signal that arrived but that the event
//    loop has not dispatched yet, so ours stays until the loop has turned
//    twice after the last save (the second turn polls for signals after
//    anything that ran in the first).
//  - A listener defers the signal to the next loop turn, which in a
//    program that computes and saves in one long synchronous loop may be
//    far away (Ctrl-C would do nothing). So we listen only where the event
//    loop has turned since this module loaded or since the last save: not
//    in a program that has been synchronous since it started. And a save
//    that comes more than a second after the previous one with no turn in
//    between (a synchronous training loop, after some async setup) removes
//    the listener and leaves the signals alone until the loop turns. A
//    signal caught since that previous save, not yet dispatched, is lost
//    then (nothing in JS can tell whether one is pending): the price of not
//    deferring Ctrl-C for a whole synchronous run. Saves back to back (a
//    model, then its optimizer) keep the listener.
// Where we do not listen, a signal kills the save outright, and the next
// save to that path removes the temporary file. Worker threads receive no
// signals, and Windows has none of these semantics: neither listens.
const GUARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const guarding = isMainThread && process.platform !== 'win32';
const ourListeners = new Map<NodeJS.Signals, () => void>();
let loopTurned = false; // since this module loaded, or since the last guarded save ended
let lastSaveEnd = 0;
let generation = 0;
if (guarding) setImmediate(() => (loopTurned = true)).unref();

function stopGuarding(): void {
  for (const [sig, listener] of ourListeners) process.removeListener(sig, listener);
  ourListeners.clear();
}

function guardBegin(): void {
  if (!guarding) return;
  if (!loopTurned) {
    if (ourListeners.size > 0 && Date.now() - lastSaveEnd > 1000) stopGuarding();
    if (ourListeners.size === 0) return;
  }
  for (const sig of GUARDED_SIGNALS) {
    if (ourListeners.has(sig) || process.listenerCount(sig) > 0) continue;
    const listener = () => {
      // Others listening (added since) handle the signal; otherwise it
      // ends the process, as it would have without us.
      const others = process.listenerCount(sig) > 1;
      stopGuarding();
      if (!others) process.kill(process.pid, sig);
    };
    ourListeners.set(sig, listener);
    process.on(sig, listener);
  }
}

function guardEnd(): void {
  if (ourListeners.size === 0) return;
  loopTurned = false;
  lastSaveEnd = Date.now();
  const g = ++generation;
  setImmediate(() => {
    loopTurned = true;
    setImmediate(() => {
      if (g === generation) stopGuarding();
    });
  });
}

/**
 * Writes a state dict or a whole checkpoint as a safetensors file.
 *
 * `obj` is an object, array or Map holding tensors, numbers (NaN, ±Infinity
 * and -0 included), bigints, strings, booleans, null, and arrays, plain
 * objects and Maps of these, nested at will: a state dict, or a checkpoint
 * such as `{ epoch, model: model.stateDict(), optimizer: opt.stateDict(),
 * scheduler: sched.stateDict(), rng: gen.getState(), loss }`. Every tensor
 * is an entry of the file named by its dotted path (`model.fc.weight`,
 * `optimizer.state.0.expAvg`), which PyTorch's safetensors loader reads;
 * the rest is JSON in the header's `__metadata__` under
 * `'kindling.structure'` (format in lib/io/checkpoint.ts), from which
 * {@link load} rebuilds the object. A flat state dict (an object, or a Map
 * with string keys, of tensors only) is written without it, as a plain
 * safetensors file. Functions, modules (save `model.stateDict()`), class
 * instances, `undefined`, cycles and two tensors whose paths give the same
 * name are refused with an error naming the path (`obj.config.fn`). A
 * tensor used twice is written twice and loads as two tensors.
 *
 * The bytes go to a temporary file next to `path` that is flushed and then
 * renamed over it, so a crash or error leaves either the old file or the
 * complete new one. `{ metadata }` adds string entries to `__metadata__`.
 */
export function save(obj: object, path: string, opts: SaveOptions = {}): void {
  if (typeof path !== 'string' || path.length === 0)
    throw new TypeError(`torch.save: path must be a non-empty string, got ${typeName(path)}`);
  if (opts === null || typeof opts !== 'object') throw new TypeError('torch.save: options must be an object like { metadata }');
  checkOptions('torch.save', opts, ['metadata']);
  const { metadata } = opts;
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw new TypeError(`torch.save: metadata must be an object of strings, got ${typeName(metadata)}`);
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string')
        throw new TypeError(`torch.save: metadata '${k}' is ${typeName(v)}; the safetensors format stores only string metadata`);
    }
  }
  if (metadata !== undefined && Object.hasOwn(metadata, STRUCTURE_KEY))
    throw new TypeError(`torch.save: metadata '${STRUCTURE_KEY}' is reserved: torch.save stores the checkpoint's structure there`);
  const { tensors, structure } = encodeCheckpoint(obj);
  const allMetadata = structure === null ? metadata : { ...metadata, [STRUCTURE_KEY]: structure };
  for (const [name, t] of tensors) {
    // Device tensors are written from their host copies (tensorBytes), as PyTorch saves CUDA tensors.
    // What torch.load would refuse is never written.
    const tooBig = shapeProblem(t.shape);
    if (tooBig !== null) throw new Error(`torch.save: tensor '${name}' ${tooBig}, so torch.load could not read it back`);
  }
  const target = saveTarget(path);
  const { header, entries } = layout(tensors, allMetadata, path);
  const dir = dirname(target);
  removeStaleTemps(target);

  const tmp = join(dir, _tempName(target));
  guardBegin();
  try {
    let fd: number;
    try {
      fd = fs.openSync(tmp, 'wx', 0o644);
    } catch (e) {
      throw new Error(`torch.save: cannot create a file next to ${path}: ${(e as Error).message}`);
    }
    try {
      try {
        writeAll(fd, header);
        for (const e of entries) writeAll(fd, e.bytes);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, target);
    } catch (e) {
      try {
        fs.unlinkSync(tmp);
      } catch {
        // Already gone, or the directory vanished: nothing is left to clean.
      }
      throw new Error(`torch.save: writing ${path} failed (any previous file there is unchanged): ${(e as Error).message}`);
    }
  } finally {
    guardEnd();
  }
  syncDirectory(dir);
}

// Makes the rename itself durable. Not every platform can open a directory
// (Windows cannot); the file is complete either way.
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Best effort only.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

// ---- load --------------------------------------------------------------------------
interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

interface Parsed {
  dataStart: number;
  entries: HeaderEntry[];
  metadata: Record<string, string> | null;
}

function readExactly(fd: number, into: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < into.length) {
    const n = fs.readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new Error(`torch.load: ${path}: the file ended early (it changed while being read?)`);
    done += n;
  }
}

function parseHeader(fd: number, size: number, path: string): Parsed {
  const bad = (why: string) => new Error(`torch.load: ${path} is not a valid safetensors file: ${why}`);
  if (size < 8) throw bad(`the file is ${size} bytes long, shorter than the 8-byte header length`);
  const lenBytes = Buffer.alloc(8);
  readExactly(fd, lenBytes, 0, path);
  const n = lenBytes.readBigUInt64LE(0);
  if (n > BigInt(size - 8)) throw bad(`the header length ${n} runs past the end of the file (${size - 8} bytes follow the length)`);
  if (n > BigInt(MAX_HEADER)) throw bad(`the header length ${n} is above the ${MAX_HEADER}-byte limit`);
  const headerLen = Number(n);
  if (headerLen < 2) throw bad(`the header length ${headerLen} is too small to hold a JSON object`);
  const raw = Buffer.alloc(headerLen);
  readExactly(fd, raw, 8, path);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw bad('the header is not valid UTF-8');
  }
  const deep = nestingProblem(raw);
  if (deep !== null) throw bad(deep);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) throw bad(`the header is ${typeName(json)}, not a JSON object`);

  const dataStart = 8 + headerLen;
  const dataLen = size - dataStart;
  let metadata: Record<string, string> | null = null;
  const entries: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(info)) throw bad(`__metadata__ is ${typeName(info)}, not an object of strings`);
      // Copied key by key as own properties: a '__proto__' key stays a
      // plain entry (JSON.parse makes it one; an assignment would not).
      metadata = {};
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') throw bad(`__metadata__ '${k}' is ${typeName(v)}, not a string`);
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    if (!isPlainObject(info)) throw bad(`the entry for tensor '${name}' is ${typeName(info)}, not an object`);
    const { dtype: code, shape, data_offsets: offsets } = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof code !== 'string') throw bad(`tensor '${name}' has no dtype string`);
    const dtype = FROM_FILE[code];
    if (dtype === undefined) {
      const known = Object.keys(FROM_FILE).join(', ');
      throw bad(
        OTHER_FILE_DTYPES.has(code)
          ? `tensor '${name}' has dtype ${code}, which Kindling does not support (supported: ${known})`
          : `tensor '${name}' has unknown dtype '${code}' (supported: ${known})`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
      throw bad(`tensor '${name}' has shape ${preview(shape)}; expected an array of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw bad(`tensor '${name}' has data_offsets ${preview(offsets)}; expected [begin, end] with non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) throw bad(`tensor '${name}' has data_offsets [${begin}, ${end}] with begin after end`);
    if (end > dataLen) throw bad(`tensor '${name}' has data_offsets [${begin}, ${end}] beyond the ${dataLen}-byte data section`);
    let numel = 1;
    for (const s of shape as number[]) numel *= s;
    const want = numel * ITEMSIZE[dtype];
    if (end - begin !== want) {
      throw bad(
        `tensor '${name}' of dtype ${code} and shape [${(shape as number[]).join(', ')}] needs ${want} bytes, but its data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    // A zero-size tensor needs no bytes whatever its other sizes: they must still fit.
    const tooBig = shapeProblem(shape as number[]);
    if (tooBig !== null) throw bad(`tensor '${name}' ${tooBig}`);
    entries.push({ name, dtype, shape: (shape as number[]).slice(), begin, end });
  }
  // The data section must be exactly the tensors, back to back: no byte
  // shared by two tensors and none left over.
  const byStart = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of byStart) {
    if (e.begin < at) throw bad(`tensor '${e.name}' (bytes ${e.begin}..${e.end}) overlaps the tensor before it (which ends at ${at})`);
    if (e.begin > at) throw bad(`bytes ${at}..${e.begin} of the data section belong to no tensor (the offsets must cover it contiguously)`);
    at = e.end;
  }
  if (at !== dataLen) throw bad(`the tensors cover ${at} bytes but the data section holds ${dataLen}`);
  return { dataStart, entries, metadata };
}

/**
 * Where a header nests arrays and objects more than MAX_DEPTH deep, why
 * (naming the entry it happens in); null when it does not. A scan of the
 * raw bytes: every byte of a multi-byte UTF-8 character is >= 0x80, so
 * quotes, backslashes and brackets are always themselves.
 */
function nestingProblem(raw: Uint8Array): string | null {
  let depth = 0;
  let inString = false;
  let stringStart = 0;
  // The last string closed at depth 1, and the key of the entry we are in
  // (that string, once a ':' follows it): as byte ranges, decoded only for the error.
  let lastString: [number, number] | null = null;
  let key: [number, number] | null = null;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (c === 0x22) {
        inString = false;
        if (depth === 1) lastString = [stringStart, i + 1];
      }
      continue;
    }
    if (c === 0x22) {
      inString = true;
      stringStart = i;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_DEPTH) {
        let where = '';
        if (key !== null) {
          let name: string;
          try {
            name = JSON.parse(new TextDecoder().decode(raw.subarray(key[0], Math.min(key[1], key[0] + 200)))) as string;
          } catch {
            name = new TextDecoder().decode(raw.subarray(key[0] + 1, Math.min(key[1] - 1, key[0] + 60))) + '...';
          }
          where = name === '__metadata__' ? ' (in __metadata__)' : ` (in the entry for tensor '${name}')`;
        }
        return `the header is nested more than ${MAX_DEPTH} levels deep${where}`;
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (c === 0x3a && depth === 1) {
      key = lastString;
    }
  }
  return null;
}

function openForRead(path: string): { fd: number; size: number } {
  if (typeof path !== 'string' || path.length === 0)
    throw new TypeError(`torch.load: path must be a non-empty string, got ${typeName(path)}`);
  // Only regular files: opening a FIFO blocks until a writer comes (for
  // ever, in a load), and opening a device can act on it. stat first, so
  // nothing else is opened at all; O_NONBLOCK and the fstat below cover a
  // path that changes in between (on a regular file O_NONBLOCK does nothing).
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (e) {
    throw new Error(`torch.load: cannot open ${path}: ${(e as Error).message}`);
  }
  if (!st.isFile()) throw new Error(`torch.load: ${path} is not a regular file (it is ${fileKind(st)})`);
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOCTTY ?? 0));
  } catch (e) {
    throw new Error(`torch.load: cannot open ${path}: ${(e as Error).message}`);
  }
  try {
    st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`torch.load: ${path} is not a regular file (it is ${fileKind(st)})`);
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

export interface LoadOptions {
  /** Where the tensors go: 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: string;
  /** PyTorch's map_location: the same as device (a device string). */
  mapLocation?: string;
  /**
   * A floating dtype every floating tensor is converted to as it loads
   * (`'float32'` upcasts a float16 or bfloat16 checkpoint); integer and
   * bool tensors keep theirs. Not a PyTorch option: there, `.to(dtype)` after loading.
   */
  dtype?: DType;
}

/**
 * Reads a file {@link save} (or any safetensors writer) wrote. A checkpoint
 * (a file with `'kindling.structure'` in its metadata) comes back as the
 * object that was saved: nested objects, arrays and Maps as they were,
 * numbers as numbers (NaN, ±Infinity, -0 included), bigints as bigints,
 * strings, booleans and null, and each tensor as a fresh one. Any other
 * safetensors file comes back as a flat state dict, entry name to tensor.
 * The type argument is what the caller knows the file holds (it is not
 * checked): `torch.load<{ epoch: number; model: StateDict }>(path)`.
 *
 * Tensors go to the CPU unless { device } (or { mapLocation }) says
 * otherwise. The file holds no device, so tensors saved from CUDA load on
 * the CPU by default. F16 and BF16 entries load as float16 and bfloat16,
 * unless { dtype } converts them (and every other floating tensor).
 *
 * A path ending in `.json` is a sharded checkpoint's index, as Hugging Face
 * writes it (`model.safetensors.index.json`: `{ "metadata": {...},
 * "weight_map": { name: "model-00001-of-00002.safetensors" } }`): every
 * shard it names (relative to the index's folder, which no shard may leave)
 * is loaded with the same options, and the tensors come back as one state
 * dict. A missing shard, or a tensor missing from its shard, is an error.
 *
 * A file PyTorch's own `torch.save` wrote (its zip format) is read too,
 * without running any code from it: see `loadTorchFile`
 * (lib/io/torch_file.ts) for what it gives back and what it refuses.
 */
export function load<T = StateDict>(path: string, opts?: LoadOptions): T {
  let dev: Device = 'cpu';
  let dtype: DType | undefined;
  if (opts !== undefined && opts !== null) {
    if (typeof opts !== 'object')
      throw new TypeError(`torch.load: options must be an object like { device: 'cuda' }, got ${typeName(opts)}`);
    checkOptions('torch.load', opts, ['device', 'mapLocation', 'dtype']);
    const { device, mapLocation } = opts;
    dtype = loadDType(opts.dtype);
    if (device !== undefined && mapLocation !== undefined && device !== mapLocation) {
      throw new TypeError(`torch.load: device ('${device}') and mapLocation ('${mapLocation}') disagree; give one`);
    }
    const want = device ?? mapLocation;
    if (want !== undefined) dev = checkedDevice(want, 'torch.load');
  }
  if (isShardIndex(path)) return loadSharded(path, (shard) => load(shard, opts)) as T;
  const { fd, size } = openForRead(path);
  try {
    // PyTorch's own torch.save formats (lib/io/torch_file.ts) never start like a safetensors header.
    if (isTorchFile(fd, size)) return readTorchFile(fd, size, path, dev, dtype) as T;
    const { dataStart, entries, metadata } = parseHeader(fd, size, path);
    const text = metadata === null ? undefined : metadata[STRUCTURE_KEY];
    // Checked before any tensor is read.
    const structure =
      text === undefined
        ? null
        : new CheckpointStructure(
            text,
            entries.map((e) => e.name),
            (why) => new Error(`torch.load: ${path}: the checkpoint structure (metadata '${STRUCTURE_KEY}') ${why}`),
          );
    const out: StateDict = {};
    for (const e of entries) {
      let numel = 1;
      for (const s of e.shape) numel *= s;
      // A fresh typed array per tensor: aligned for its dtype, owned by V8.
      const data: TypedArray = allocStorage(e.dtype, numel);
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      readExactly(fd, bytes, dataStart + e.begin, path);
      if (BIG_ENDIAN && ITEMSIZE[e.dtype] > 1) bytes.set(swapped(bytes, ITEMSIZE[e.dtype]));
      // Kindling's bools are 0 or 1; a file may hold any nonzero byte.
      if (e.dtype === 'bool') for (let i = 0; i < bytes.length; i++) if (bytes[i] > 1) bytes[i] = 1;
      // defineProperty: a tensor named '__proto__' must stay a plain entry.
      Object.defineProperty(out, e.name, {
        value: toDevice(
          toLoadDType(new Tensor(new Storage(data), e.shape, contiguousStrides(e.shape), 0, e.dtype), dtype),
          dev,
          'torch.load',
        ),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return (structure === null ? out : structure.build(out)) as T;
  } finally {
    fs.closeSync(fd);
  }
}

/** The __metadata__ strings of a safetensors file (null when it has none); a checkpoint's include its structure, under 'kindling.structure'. */
export function loadMetadata(path: string): Record<string, string> | null {
  const { fd, size } = openForRead(path);
  try {
    return parseHeader(fd, size, path).metadata;
  } finally {
    fs.closeSync(fd);
  }
}
