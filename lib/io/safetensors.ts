// torch.save / torch.load in the safetensors format
// (https://github.com/huggingface/safetensors), so state dicts move between
// Kindling and PyTorch both ways.
//
// Layout: an 8-byte little-endian u64 N, N bytes of JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {str: str}}
// padded with spaces to a multiple of 8, then the data section; offsets are
// relative to the data section and tensors are row-major little-endian.
import * as fs from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { endianness } from 'node:os';
import { Storage, Tensor } from '../tensor.js';
import { allocStorage, type DType } from '../dtype.js';
import { contiguousStrides, toDevice } from '../ops/kernels.js';
import { device as checkedDevice, type Device } from '../backend/cuda.js';
import type { TypedArray } from '../backend/native.js';

const TO_FILE: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32', int64: 'I64', uint8: 'U8', bool: 'BOOL' };
const FROM_FILE: Record<string, DType> = { F32: 'float32', F64: 'float64', I32: 'int32', I64: 'int64', U8: 'uint8', BOOL: 'bool' };
// Formats the spec has that Kindling has no dtype for (named in errors).
const OTHER_FILE_DTYPES = new Set(['F16', 'BF16', 'I8', 'I16', 'U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2', 'C64']);
// Position in the reference implementation's Dtype enum (BOOL, U8, I8, ...,
// I32, U32, F32, F64, I64, U64), which orders tensors in a file.
const RANK: Record<DType, number> = { bool: 0, uint8: 1, int32: 9, float32: 11, float64: 12, int64: 13 };
const ITEMSIZE: Record<DType, number> = { float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, bool: 1 };
// The reference implementation refuses headers above 100 MB; so do we,
// before allocating anything for one.
const MAX_HEADER = 100_000_000;
const BIG_ENDIAN = endianness() === 'BE';

export type StateDict = { [name: string]: Tensor };
/** A state dict, possibly nested: { layer: { weight } } saves as 'layer.weight'. */
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

/** Flattens nested objects, arrays and Maps to 'a.b.c' names. */
function flatten(obj: unknown): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const visit = (v: unknown, name: string, seen: Set<unknown>) => {
    if (v instanceof Tensor) {
      if (name === '') throw new TypeError('torch.save: expected a state dict (an object of named tensors), got a bare Tensor; save { name: tensor } instead');
      if (name === '__metadata__') throw new TypeError("torch.save: the name '__metadata__' is reserved by the safetensors format");
      if (out.has(name)) throw new Error(`torch.save: two entries flatten to the same name '${name}'`);
      out.set(name, v);
      return;
    }
    if (v !== null && typeof v === 'object' && typeof (v as { stateDict?: unknown }).stateDict === 'function') {
      const where = name === '' ? 'the object to save' : `'${name}'`;
      throw new TypeError(`torch.save: ${where} is a module, not a Tensor; to save a module, save module.stateDict()`);
    }
    const children: [string, unknown][] | null =
      v instanceof Map ? [...v.entries()].map(([k, x]) => [String(k), x]) :
      Array.isArray(v) ? v.map((x, i) => [String(i), x]) :
      isPlainObject(v) ? Object.entries(v) : null;
    if (children === null) {
      const where = name === '' ? 'the object to save' : `'${name}'`;
      throw new TypeError(
        `torch.save: ${where} is ${typeName(v)}, not a Tensor; the safetensors format stores only tensors ` +
          '(wrap numbers with torch.tensor, or put strings in { metadata })',
      );
    }
    if (seen.has(v)) throw new TypeError(`torch.save: '${name}' contains itself (a cycle)`);
    seen.add(v);
    for (const [k, x] of children) visit(x, name === '' ? k : `${name}.${k}`, seen);
    seen.delete(v);
  };
  visit(obj, '', new Set());
  return out;
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

/** The header JSON and data layout, in the reference writer's order. */
function layout(tensors: Map<string, Tensor>, metadata?: Record<string, string>): { header: Uint8Array; entries: Entry[] } {
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
 * Writes a state dict as a safetensors file. The bytes go to a temporary
 * file next to `path` that is flushed and then renamed over it, so a crash
 * or error leaves either the old file or the complete new one.
 */
export function save(obj: NestedState | Map<string, Tensor>, path: string, opts: SaveOptions = {}): void {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError(`torch.save: path must be a non-empty string, got ${typeName(path)}`);
  if (opts === null || typeof opts !== 'object') throw new TypeError('torch.save: options must be an object like { metadata }');
  const { metadata } = opts;
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw new TypeError(`torch.save: metadata must be an object of strings, got ${typeName(metadata)}`);
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`torch.save: metadata '${k}' is ${typeName(v)}; the safetensors format stores only string metadata`);
    }
  }
  const tensors = flatten(obj);
  for (const [name, t] of tensors) {
    if (t.device !== 'cpu') throw new Error(`torch.save: tensor '${name}' is on ${t.device}; move it to the CPU first`);
  }
  const { header, entries } = layout(tensors, metadata);

  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
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
    fs.renameSync(tmp, path);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // Already gone, or the directory vanished: nothing is left to clean.
    }
    throw new Error(`torch.save: writing ${path} failed (any previous file there is unchanged): ${(e as Error).message}`);
  }
  syncDirectory(dirname(path));
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
      for (const [k, v] of Object.entries(info)) if (typeof v !== 'string') throw bad(`__metadata__ '${k}' is ${typeName(v)}, not a string`);
      metadata = info as Record<string, string>;
      continue;
    }
    if (!isPlainObject(info)) throw bad(`the entry for tensor '${name}' is ${typeName(info)}, not an object`);
    const { dtype: code, shape, data_offsets: offsets } = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof code !== 'string') throw bad(`tensor '${name}' has no dtype string`);
    const dtype = FROM_FILE[code];
    if (dtype === undefined) {
      const known = Object.keys(FROM_FILE).join(', ');
      throw bad(OTHER_FILE_DTYPES.has(code)
        ? `tensor '${name}' has dtype ${code}, which Kindling does not support (supported: ${known})`
        : `tensor '${name}' has unknown dtype '${code}' (supported: ${known})`);
    }
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
      throw bad(`tensor '${name}' has shape ${JSON.stringify(shape)}; expected an array of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw bad(`tensor '${name}' has data_offsets ${JSON.stringify(offsets)}; expected [begin, end] with non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) throw bad(`tensor '${name}' has data_offsets [${begin}, ${end}] with begin after end`);
    if (end > dataLen) throw bad(`tensor '${name}' has data_offsets [${begin}, ${end}] beyond the ${dataLen}-byte data section`);
    let numel = 1;
    for (const s of shape as number[]) numel *= s;
    const want = numel * ITEMSIZE[dtype];
    if (end - begin !== want) {
      throw bad(`tensor '${name}' of dtype ${code} and shape [${(shape as number[]).join(', ')}] needs ${want} bytes, but its data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
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

function openForRead(path: string): { fd: number; size: number } {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError(`torch.load: path must be a non-empty string, got ${typeName(path)}`);
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw new Error(`torch.load: cannot open ${path}: ${(e as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`torch.load: ${path} is not a regular file`);
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
}

/**
 * Reads a safetensors file into a state dict of fresh tensors, on the CPU
 * unless { device } (or { mapLocation }) says otherwise. The file holds no
 * device, so tensors saved from CUDA load on the CPU by default.
 */
export function load(path: string, opts?: LoadOptions): StateDict {
  let dev: Device = 'cpu';
  if (opts !== undefined && opts !== null) {
    if (typeof opts !== 'object') throw new TypeError(`torch.load: options must be an object like { device: 'cuda' }, got ${typeName(opts)}`);
    const { device, mapLocation } = opts;
    if (device !== undefined && mapLocation !== undefined && device !== mapLocation) {
      throw new TypeError(`torch.load: device ('${device}') and mapLocation ('${mapLocation}') disagree; give one`);
    }
    const want = device ?? mapLocation;
    if (want !== undefined) dev = checkedDevice(want, 'torch.load');
  }
  const { fd, size } = openForRead(path);
  try {
    const { dataStart, entries } = parseHeader(fd, size, path);
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
        value: toDevice(new Tensor(new Storage(data), e.shape, contiguousStrides(e.shape), 0, e.dtype), dev, 'torch.load'),
        enumerable: true, writable: true, configurable: true,
      });
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/** The __metadata__ strings of a safetensors file (null when it has none). */
export function loadMetadata(path: string): Record<string, string> | null {
  const { fd, size } = openForRead(path);
  try {
    return parseHeader(fd, size, path).metadata;
  } finally {
    fs.closeSync(fd);
  }
}
