// Reading PyTorch's own torch.save files: the zip format PyTorch writes by
// default since 1.6.
//
// Layout (one top-level folder, the archive name, usually the file's name):
//   <archive>/data.pkl     the saved object, pickled (protocol 2 unless the
//                          caller chose another); each tensor storage in it
//                          is a persistent id ('storage', torch.FloatStorage,
//                          key, location, numel)
//   <archive>/data/<key>   that storage's bytes, little-endian unless
//   <archive>/byteorder    says 'big'
//   <archive>/version      the format version
// PyTorch's writer (miniz) stores entries uncompressed, 64-byte aligned, with
// data descriptors and zip64 end records even for small files; we read the
// central directory and take sizes from it. The pickle is read by the
// restricted unpickler (pickle.ts, Note [Restricted unpickling]), which
// knows only the globals listed here.
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { endianness } from 'node:os';
import { Storage, Tensor } from '../tensor.js';
import { allocStorage, isDType, isFloating, type DType } from '../dtype.js';
import { cast, toDevice } from '../ops/kernels.js';
import { device as checkedDevice, type Device } from '../backend/cuda.js';
import { Parameter } from '../nn/parameter.js';
import { Size } from '../util/size.js';
import { checkOptions } from '../util/args.js';
import { PyGlobal, pythonTypeName, unpickle, type GlobalHandler } from './pickle.js';

const HOST_BIG_ENDIAN = endianness() === 'BE';
// fs.readSync reads at most 2^31 - 1 bytes per call.
const READ_CHUNK = 1 << 30;
// Deflate cannot expand data more than about 1032:1, so a larger declared
// size is a lie (a zip bomb), refused before anything is inflated.
const MAX_DEFLATE_RATIO = 1032;

// ---- zip -----------------------------------------------------------------------------------------

interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

interface Zip {
  fd: number;
  path: string;
  entries: Map<string, ZipEntry>;
  /** Where the central directory starts: every entry's data ends before it. */
  cdOffset: number;
}

function readAt(fd: number, into: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < into.length) {
    const n = fs.readSync(fd, into, done, Math.min(into.length - done, READ_CHUNK), position + done);
    if (n === 0) throw new Error(`torch.load: ${path}: the file ended early (it changed while being read?)`);
    done += n;
  }
}

/** A little-endian reader over a buffer that refuses to read past its end. */
class Fields {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    private readonly bad: (why: string) => Error,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private check(at: number, n: number): void {
    if (at < 0 || at + n > this.bytes.length) throw this.bad('a record runs past the end of its data');
  }
  u16(at: number): number {
    this.check(at, 2);
    return this.view.getUint16(at, true);
  }
  u32(at: number): number {
    this.check(at, 4);
    return this.view.getUint32(at, true);
  }
  /** A u64 that must be a safe integer (offsets and sizes in a real file are). */
  u64(at: number, what: string): number {
    this.check(at, 8);
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.bad(`the ${what} ${v} is impossibly large`);
    return Number(v);
  }
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;

function readZip(fd: number, size: number, path: string): Zip {
  const bad = (why: string) => new Error(`torch.load: ${path} is not a valid PyTorch zip file: ${why}`);
  // The end record (22 bytes) is last, followed only by a comment of up to 65535 bytes.
  const tailLen = Math.min(size, 22 + 65535);
  const tail = new Uint8Array(tailLen);
  readAt(fd, tail, size - tailLen, path);
  const t = new Fields(tail, bad);
  let end = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (t.u32(i) === SIG_END && i + 22 + t.u16(i + 20) === tailLen) {
      end = i;
      break;
    }
  }
  if (end < 0) throw bad('no end of central directory record (the file is truncated, or not a zip)');
  const endAt = size - tailLen + end;
  let disk = t.u16(end + 4);
  let cdDisk = t.u16(end + 6);
  let countHere = t.u16(end + 8);
  let count = t.u16(end + 10);
  let cdSize = t.u32(end + 12);
  let cdOffset = t.u32(end + 16);
  let cdLimit = endAt;
  // Zip64: a locator just before the end record points at the zip64 end
  // record, whose 64-bit fields replace the saturated 16/32-bit ones.
  if (end >= 20 && t.u32(end - 20) === SIG_LOCATOR64) {
    if (t.u32(end - 20 + 16) !== 1) throw bad('the archive spans several disks');
    const at64 = t.u64(end - 20 + 8, 'zip64 end record offset');
    if (at64 + 56 > endAt - 20) throw bad('the zip64 end record lies outside the file');
    const rec = new Uint8Array(56);
    readAt(fd, rec, at64, path);
    const r = new Fields(rec, bad);
    if (r.u32(0) !== SIG_END64) throw bad('the zip64 locator does not point at a zip64 end record');
    disk = r.u32(16);
    cdDisk = r.u32(20);
    countHere = r.u64(24, 'entry count');
    count = r.u64(32, 'entry count');
    cdSize = r.u64(40, 'central directory size');
    cdOffset = r.u64(48, 'central directory offset');
    cdLimit = at64;
  } else if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw bad('the end record needs zip64 fields but has no zip64 locator');
  }
  if (disk !== 0 || cdDisk !== 0 || countHere !== count) throw bad('the archive spans several disks');
  if (cdOffset + cdSize > cdLimit) throw bad(`the central directory (${cdSize} bytes at ${cdOffset}) runs past its end record`);
  // Each central directory header takes at least 46 bytes.
  if (count * 46 > cdSize) throw bad(`${count} entries cannot fit in a ${cdSize}-byte central directory`);
  const cdBytes = new Uint8Array(cdSize);
  readAt(fd, cdBytes, cdOffset, path);
  const cd = new Fields(cdBytes, bad);
  const entries = new Map<string, ZipEntry>();
  const names = new TextDecoder('utf-8', { fatal: true });
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (cd.u32(at) !== SIG_CENTRAL) throw bad(`central directory entry ${i} has a bad signature`);
    const flags = cd.u16(at + 8);
    const method = cd.u16(at + 10);
    const crc = cd.u32(at + 16);
    let compressedSize = cd.u32(at + 20);
    let sz = cd.u32(at + 24);
    const nameLen = cd.u16(at + 28);
    const extraLen = cd.u16(at + 30);
    const commentLen = cd.u16(at + 32);
    let startDisk = cd.u16(at + 34);
    let localOffset = cd.u32(at + 42);
    if (at + 46 + nameLen + extraLen + commentLen > cdSize) throw bad(`central directory entry ${i} runs past the directory`);
    let name: string;
    try {
      name = names.decode(cdBytes.subarray(at + 46, at + 46 + nameLen));
    } catch {
      throw bad(`the name of entry ${i} is not valid UTF-8`);
    }
    // The zip64 extra field holds, in this order, the fields that are saturated.
    for (let e = at + 46 + nameLen; e + 4 <= at + 46 + nameLen + extraLen;) {
      const id = cd.u16(e);
      const len = cd.u16(e + 2);
      if (e + 4 + len > at + 46 + nameLen + extraLen) throw bad(`entry '${name}' has a malformed extra field`);
      if (id === 0x0001) {
        let f = e + 4;
        const take = (what: string) => {
          if (f + 8 > e + 4 + len) throw bad(`entry '${name}' has a zip64 field too short for its ${what}`);
          const v = cd.u64(f, what);
          f += 8;
          return v;
        };
        if (sz === 0xffffffff) sz = take('size');
        if (compressedSize === 0xffffffff) compressedSize = take('compressed size');
        if (localOffset === 0xffffffff) localOffset = take('offset');
        if (startDisk === 0xffff) startDisk = f + 4 <= e + 4 + len ? cd.u32(f) : startDisk;
      }
      e += 4 + len;
    }
    if (flags & 0x41) throw bad(`entry '${name}' is encrypted`);
    if (startDisk !== 0) throw bad('the archive spans several disks');
    if (method !== 0 && method !== 8)
      throw bad(`entry '${name}' uses compression method ${method} (only stored and deflated entries are read)`);
    if (method === 0 && compressedSize !== sz) throw bad(`stored entry '${name}' has a size of ${sz} but takes ${compressedSize} bytes`);
    if (method === 8 && sz > compressedSize * MAX_DEFLATE_RATIO + 1024) {
      throw bad(`deflated entry '${name}' claims to expand ${compressedSize} bytes to ${sz}, more than deflate can`);
    }
    if (localOffset + 30 + compressedSize > cdOffset) throw bad(`the data of entry '${name}' runs into the central directory`);
    if (entries.has(name)) throw bad(`the entry '${name}' appears twice`);
    entries.set(name, { name, method, crc, compressedSize, size: sz, localOffset });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return { fd, path, entries, cdOffset };
}

let crcTable: Int32Array | null = null;
/**
 * CRC-32 as zip uses it, continued from `prev` (0 to start): zlib's own
 * where Node has it (20.15 and later), a table otherwise.
 */
function crc32(bytes: Uint8Array, prev: number): number {
  const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  if (native !== undefined) return native(bytes, prev) >>> 0;
  if (crcTable === null) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = ~prev;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * Calls `f` on consecutive views of `byteLength` bytes of `buffer` from
 * `byteOffset`, each at most READ_CHUNK long: a typed array cannot be longer
 * than 2^32 - 1 elements, and a storage past 4 GiB is normal. READ_CHUNK is
 * a multiple of every item size, so no element straddles two views.
 */
function chunks(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, f: (view: Uint8Array, at: number) => void): void {
  for (let at = 0; at < byteLength; at += READ_CHUNK) f(new Uint8Array(buffer, byteOffset + at, Math.min(READ_CHUNK, byteLength - at)), at);
}

/** The entry's bytes (exactly entry.size of them), written into `buffer` from `byteOffset`. */
function readEntry(zip: Zip, e: ZipEntry, buffer: ArrayBufferLike, byteOffset = 0): void {
  const bad = (why: string) => new Error(`torch.load: ${zip.path}: entry '${e.name}' ${why}`);
  const head = new Uint8Array(30);
  readAt(zip.fd, head, e.localOffset, zip.path);
  const h = new Fields(head, bad);
  if (h.u32(0) !== SIG_LOCAL) throw bad('has no local header where the central directory says');
  const start = e.localOffset + 30 + h.u16(26) + h.u16(28);
  if (start + e.compressedSize > zip.cdOffset) throw bad('runs into the central directory');
  let crc = 0;
  if (e.method === 0) {
    chunks(buffer, byteOffset, e.size, (view, at) => {
      readAt(zip.fd, view, start + at, zip.path);
      crc = crc32(view, crc);
    });
  } else {
    const packed = new Uint8Array(e.compressedSize);
    readAt(zip.fd, packed, start, zip.path);
    let out: Uint8Array;
    try {
      out = e.size === 0 ? new Uint8Array(0) : zlib.inflateRawSync(packed, { maxOutputLength: e.size });
    } catch (err) {
      throw bad(`cannot be inflated: ${(err as Error).message}`);
    }
    if (out.length !== e.size) throw bad(`inflates to ${out.length} bytes, not the ${e.size} its header says`);
    new Uint8Array(buffer, byteOffset, e.size).set(out);
    crc = crc32(out, 0);
  }
  // PyTorch can be told not to compute CRCs (it then writes 0).
  if (e.crc !== 0 && crc !== e.crc) throw bad('is corrupt (its CRC-32 does not match)');
}

/** A record's bytes, in one array (for data.pkl and the small text records). */
function readRecord(zip: Zip, e: ZipEntry): Uint8Array {
  const b = new Uint8Array(e.size);
  readEntry(zip, e, b.buffer);
  return b;
}

// ---- storages ------------------------------------------------------------------------------------

type FileDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

const STORAGE_TYPES: Record<string, { file: FileDType; itemsize: number }> = {
  'torch.FloatStorage': { file: 'float32', itemsize: 4 },
  'torch.DoubleStorage': { file: 'float64', itemsize: 8 },
  'torch.HalfStorage': { file: 'float16', itemsize: 2 },
  'torch.BFloat16Storage': { file: 'bfloat16', itemsize: 2 },
  'torch.LongStorage': { file: 'int64', itemsize: 8 },
  'torch.IntStorage': { file: 'int32', itemsize: 4 },
  'torch.ShortStorage': { file: 'int16', itemsize: 2 },
  'torch.CharStorage': { file: 'int8', itemsize: 1 },
  'torch.ByteStorage': { file: 'uint8', itemsize: 1 },
  'torch.BoolStorage': { file: 'bool', itemsize: 1 },
};

/**
 * The Kindling dtype a storage of this file dtype loads as. float16 and
 * bfloat16 load as themselves where Kindling has them and as float32
 * otherwise (exact: float32 holds every value of both); int16 and int8 load
 * as int32 (exact), as Kindling has no 1- or 2-byte integers besides uint8.
 */
function kindlingDType(file: FileDType): DType {
  if (file === 'int16' || file === 'int8') return 'int32';
  const name: string = file;
  if (isDType(name)) return name;
  return 'float32';
}

/** @internal float16 bits (IEEE binary16) to the float they stand for, exactly. */
export function halfBitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** @internal bfloat16 bits (the high half of a float32) to the float they stand for, exactly. */
export function bfloat16BitsToFloat(b: number): number {
  const f = new Float32Array(1);
  new Uint32Array(f.buffer)[0] = (b & 0xffff) << 16;
  return f[0];
}

function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const x = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = x;
    }
  }
}

/** Where a load puts its tensors: a device, and the dtype floating tensors become (none: kept). */
interface Placement {
  device: Device;
  dtype: DType | undefined;
}

/** A storage the pickle referred to, read from the archive once per key. */
class StorageRef {
  private placed: { storage: Storage; dtype: DType } | null = null;
  constructor(
    readonly key: string,
    readonly type: string,
    readonly numel: number,
    readonly dtype: DType,
    readonly storage: Storage,
  ) {}
  /**
   * The storage converted and moved as the load asks, once, so that the
   * views of it still share it (the element layout is unchanged).
   */
  place(p: Placement): { storage: Storage; dtype: DType } {
    if (this.placed === null) {
      let whole = new Tensor(this.storage, [this.numel], [1], 0, this.dtype);
      if (p.dtype !== undefined && isFloating(this.dtype)) whole = cast(whole, p.dtype, 'torch.load');
      whole = toDevice(whole, p.device, 'torch.load');
      this.placed = { storage: whole._storage, dtype: whole.dtype };
    }
    return this.placed;
  }
}

/** Reads data/<key> as `type` holding `numel` elements. */
function readStorage(zip: Zip, prefix: string, key: string, type: string, numel: number, bigEndianFile: boolean): StorageRef {
  const { file, itemsize } = STORAGE_TYPES[type];
  const name = `${prefix}data/${key}`;
  const e = zip.entries.get(name);
  if (e === undefined) throw new Error(`storage '${key}' is missing from the archive (no entry '${name}')`);
  const bytes = numel * itemsize;
  if (e.size !== bytes) {
    throw new Error(
      `storage '${key}' declares ${numel} elements of ${type} (${bytes} bytes) but the entry '${name}' holds ${e.size} bytes`,
    );
  }
  const dtype = kindlingDType(file);
  const swap = bigEndianFile !== HOST_BIG_ENDIAN;
  const alloc = (d: DType) => {
    try {
      return allocStorage(d, numel);
    } catch (err) {
      throw new Error(`storage '${key}' (${numel} elements of ${type}) cannot be allocated: ${(err as Error).message}`);
    }
  };
  const data = alloc(dtype);
  if (dtype === file) {
    readEntry(zip, e, data.buffer, data.byteOffset);
    chunks(data.buffer, data.byteOffset, bytes, (view) => {
      if (swap) swapBytes(view, itemsize);
      // Kindling's bools are 0 or 1; a file may hold any nonzero byte.
      if (dtype === 'bool') for (let i = 0; i < view.length; i++) if (view[i] > 1) view[i] = 1;
    });
  } else {
    const raw = new ArrayBuffer(bytes);
    readEntry(zip, e, raw);
    const out = data as Int32Array | Float32Array;
    chunks(raw, 0, bytes, (view, at) => {
      if (swap) swapBytes(view, itemsize);
      const first = at / itemsize;
      const n = view.length / itemsize;
      if (file === 'int8') out.set(new Int8Array(raw, at, n), first);
      else if (file === 'int16') out.set(new Int16Array(raw, at, n), first);
      else {
        const bits = new Uint16Array(raw, at, n);
        const conv = file === 'float16' ? halfBitsToFloat : bfloat16BitsToFloat;
        for (let i = 0; i < n; i++) out[first + i] = conv(bits[i]);
      }
    });
  }
  return new StorageRef(key, type, numel, dtype, new Storage(data));
}

// ---- rebuilding tensors --------------------------------------------------------------------------

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

function intList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) {
    throw new Error(`${what} must be a tuple of non-negative integers, got ${pythonTypeName(v)}`);
  }
  return (v as number[]).slice();
}

function noHooks(v: unknown): void {
  if (!isPlainObject(v) || Object.keys(v).length !== 0) {
    throw new Error(`backward_hooks must be an empty OrderedDict (hooks are not saved), got ${pythonTypeName(v)}`);
  }
}

function rebuildTensor(args: unknown[], where: Placement): Tensor {
  if (args.length !== 6 && args.length !== 7) throw new Error(`expects 6 or 7 arguments, got ${args.length}`);
  const [ref, offset, sizeArg, strideArg, requiresGrad, hooks, metadata] = args;
  if (!(ref instanceof StorageRef)) throw new Error(`expects a storage first, got ${pythonTypeName(ref)}`);
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) throw new Error(`storage_offset must be a non-negative integer`);
  const size = intList(sizeArg, 'size');
  const stride = intList(strideArg, 'stride');
  if (size.length !== stride.length) throw new Error(`size has ${size.length} dims but stride has ${stride.length}`);
  if (typeof requiresGrad !== 'boolean') throw new Error(`requires_grad must be a bool, got ${pythonTypeName(requiresGrad)}`);
  noHooks(hooks);
  if (metadata !== undefined && metadata !== null && !(isPlainObject(metadata) && Object.keys(metadata).length === 0)) {
    throw new Error('tensor metadata (set by torch._utils.set_tensor_metadata) is not supported');
  }
  let numel = 1;
  let last = offset as number;
  for (let d = 0; d < size.length; d++) {
    numel *= size[d];
    last += (size[d] - 1) * stride[d];
  }
  if (numel > Number.MAX_SAFE_INTEGER) throw new Error(`size [${size.join(', ')}] has more than 2^53 - 1 elements`);
  if (numel > 0 && last >= ref.numel) {
    throw new Error(
      `a tensor of size [${size.join(', ')}], stride [${stride.join(', ')}] and offset ${offset} reaches element ${last} ` +
        `of storage '${ref.key}', which holds ${ref.numel}`,
    );
  }
  const { storage, dtype } = ref.place(where);
  const t = new Tensor(storage, size, stride, offset as number, dtype);
  if (requiresGrad) {
    if (!isFloating(dtype)) throw new Error(`a tensor of dtype ${dtype} cannot require grad`);
    t.requiresGrad_(true);
  }
  return t;
}

function rebuildParameter(args: unknown[], withState: boolean): Parameter {
  const want = withState ? 4 : 3;
  if (args.length !== want) throw new Error(`expects ${want} arguments, got ${args.length}`);
  const [data, requiresGrad, hooks] = args;
  if (!(data instanceof Tensor)) throw new Error(`expects a tensor first, got ${pythonTypeName(data)}`);
  if (typeof requiresGrad !== 'boolean') throw new Error(`requires_grad must be a bool, got ${pythonTypeName(requiresGrad)}`);
  noHooks(hooks);
  if (requiresGrad && !isFloating(data.dtype)) throw new Error(`a Parameter of dtype ${data.dtype} cannot require grad`);
  return new Parameter(data, requiresGrad);
}

// Why globals PyTorch writes for things Kindling cannot hold are refused.
function refusalHint(qual: string): string {
  if (/^torch\.(Complex\w*Storage)$/.test(qual) || qual === 'builtins.complex') return 'Kindling has no complex dtypes';
  if (/^torch\.Q\w+Storage$/.test(qual) || qual === 'torch._utils._rebuild_qtensor') return 'Kindling has no quantized tensors';
  if (qual === 'torch.UntypedStorage' || qual === 'torch._utils._rebuild_tensor_v3') {
    return 'this storage has a dtype without a legacy storage type (uint16, uint32, float8, ...), which Kindling does not have';
  }
  if (/^torch\._utils\._rebuild_sparse/.test(qual)) return 'Kindling has no sparse tensors; save t.to_dense()';
  if (qual.startsWith('torch._utils._rebuild') || qual === 'torch._tensor._rebuild_from_type_v2') {
    return 'Kindling reads plain dense tensors and Parameters only';
  }
  if (qual.startsWith('__main__.') || qual.startsWith('torch.nn.') || qual.startsWith('torch.optim.')) {
    return 'torch.save(model) pickles classes; save model.state_dict() in PyTorch and load that';
  }
  if (qual.startsWith('numpy.')) return 'convert numpy values with .item() or .tolist() before saving';
  return '';
}

// ---- the file ------------------------------------------------------------------------------------

/** What a file's first bytes say it is: PyTorch's zip format, its legacy pickle format, or neither. */
function kindOf(head: Uint8Array): 'zip' | 'legacy' | null {
  // Zip's local header signature. A safetensors file starts with its header
  // length, which could begin with these 4 bytes only if the next 4 were zero
  // (headers are under 100 MB) and its JSON then starts with '{'.
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    const safetensorsLike = head.length >= 9 && head[4] === 0 && head[5] === 0 && head[6] === 0 && head[7] === 0 && head[8] === 0x7b;
    return safetensorsLike ? null : 'zip';
  }
  // The legacy format starts with a pickled magic number: PROTO n, then
  // LONG1 of 10 bytes (after a FRAME for protocol 4 and 5). As a safetensors
  // header length, 0x80 0x0n 0x8a 0x0a would be over 100 MB: never valid.
  if (head.length >= 4 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) {
    const at = head[2] === 0x95 ? 11 : 2;
    if (head.length >= at + 2 && head[at] === 0x8a && head[at + 1] === 0x0a) return 'legacy';
  }
  return null;
}

/**
 * @internal Whether the open file is one of PyTorch's own formats (for
 * torch.load, which reads safetensors otherwise).
 */
export function isTorchFile(fd: number, size: number): boolean {
  const head = new Uint8Array(Math.min(size, 16));
  let done = 0;
  while (done < head.length) {
    const n = fs.readSync(fd, head, done, head.length - done, done);
    if (n === 0) break;
    done += n;
  }
  return kindOf(head.subarray(0, done)) !== null;
}

/**
 * @internal Reads a torch.save file from an open descriptor (torch.load's
 * path), its tensors on `dev`, floating ones converted to `dtype` if given
 * (already checked to be a floating dtype).
 */
export function readTorchFile(fd: number, size: number, path: string, dev: Device, dtype?: DType): unknown {
  const head = new Uint8Array(Math.min(size, 16));
  readAt(fd, head, 0, path);
  const kind = kindOf(head);
  if (kind === 'legacy') {
    throw new Error(
      `torch.load: ${path} is in PyTorch's legacy format (torch.save with _use_new_zipfile_serialization=False, ` +
        'or PyTorch before 1.6), which Kindling does not read; re-save it in the zip format from Python: ' +
        'torch.save(torch.load(path), new_path)',
    );
  }
  if (kind !== 'zip') throw new Error(`torch.load: ${path} is not a PyTorch zip file`);
  const zip = readZip(fd, size, path);
  const bad = (why: string) => new Error(`torch.load: ${path} is not a torch.save file: ${why}`);
  const first = zip.entries.keys().next();
  if (first.done) throw bad('the zip archive is empty');
  const slash = first.value.indexOf('/');
  if (slash <= 0) throw bad(`its first entry '${first.value}' is not inside a folder`);
  const prefix = first.value.slice(0, slash + 1);
  for (const name of zip.entries.keys()) {
    if (!name.startsWith(prefix)) throw bad(`the entry '${name}' is outside the archive folder '${prefix}'`);
  }
  const record = (name: string) => zip.entries.get(prefix + name);
  if (record('constants.pkl') !== undefined || [...zip.entries.keys()].some((n) => n.startsWith(`${prefix}code/`))) {
    throw bad('it is a TorchScript archive (torch.jit.save); Kindling reads torch.save files only');
  }
  const text = (e: ZipEntry, max: number) => {
    if (e.size > max) throw bad(`the record '${e.name}' is ${e.size} bytes long`);
    return new TextDecoder().decode(readRecord(zip, e)).trim();
  };
  const versionEntry = record('version') ?? record('.data/version');
  if (versionEntry === undefined) throw bad(`it has no '${prefix}version' record`);
  const version = text(versionEntry, 64);
  if (!/^[1-9]\d{0,5}$/.test(version)) throw bad(`its version record holds '${version.slice(0, 20)}', not a format version`);
  const orderEntry = record('byteorder');
  const order = orderEntry === undefined ? 'little' : text(orderEntry, 64);
  if (order !== 'little' && order !== 'big') throw bad(`its byteorder record holds '${order.slice(0, 20)}'`);
  const pkl = record('data.pkl');
  if (pkl === undefined) throw bad(`it has no '${prefix}data.pkl'`);
  const pickle = readRecord(zip, pkl);

  const storages = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown): StorageRef => {
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') {
      throw new Error(`expected ('storage', type, key, location, numel), got ${pythonTypeName(pid)}`);
    }
    const [, type, key, location, numel] = pid as unknown[];
    if (!(type instanceof PyGlobal) || STORAGE_TYPES[type.qualname] === undefined) {
      throw new Error(`the storage type is ${pythonTypeName(type)}, not a torch storage type`);
    }
    if (typeof key !== 'string' || key.length === 0) throw new Error(`the storage key is ${pythonTypeName(key)}, not a str`);
    if (typeof location !== 'string') throw new Error(`the storage location is ${pythonTypeName(location)}, not a str`);
    if (!Number.isSafeInteger(numel) || (numel as number) < 0) throw new Error(`storage '${key}' has a bad element count`);
    const seen = storages.get(key);
    if (seen !== undefined) {
      if (seen.type !== type.qualname || seen.numel !== numel) {
        throw new Error(`storage '${key}' is named as ${seen.type} of ${seen.numel} and as ${type.qualname} of ${numel}`);
      }
      return seen;
    }
    const ref = readStorage(zip, prefix, key, type.qualname, numel as number, order === 'big');
    storages.set(key, ref);
    return ref;
  };

  const globals = new Map<string, GlobalHandler>([
    ['torch._utils._rebuild_tensor_v2', { call: (args) => rebuildTensor(args, { device: dev, dtype }) }],
    ['torch._utils._rebuild_parameter', { call: (args) => rebuildParameter(args, false) }],
    // PyTorch 2's form for a Parameter with Python attributes, which a Kindling Parameter cannot hold: they are dropped.
    ['torch._utils._rebuild_parameter_with_state', { call: (args) => rebuildParameter(args, true) }],
    [
      'torch.Size',
      {
        call: (args) => {
          if (args.length !== 1) throw new Error(`expects one tuple of sizes, got ${args.length} arguments`);
          return new Size(intList(args[0], 'torch.Size'));
        },
      },
    ],
  ]);
  // Storage types are only ever arguments of a persistent id.
  for (const type of Object.keys(STORAGE_TYPES)) globals.set(type, {});
  return unpickle(pickle, { where: `torch.load: ${path}: ${prefix}data.pkl`, globals, persistentLoad, refusalHint });
}

function openFile(path: string): { fd: number; size: number } {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (e) {
    throw new Error(`torch.load: cannot open ${path}: ${(e as Error).message}`);
  }
  // Opening a FIFO would block for ever and opening a device can act on it.
  if (!st.isFile()) throw new Error(`torch.load: ${path} is not a regular file`);
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOCTTY ?? 0));
  } catch (e) {
    throw new Error(`torch.load: cannot open ${path}: ${(e as Error).message}`);
  }
  try {
    st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`torch.load: ${path} is not a regular file`);
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Options of {@link loadTorchFile}. */
export interface TorchFileOptions {
  /** Where the tensors go: 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: string;
  /** A floating dtype that every floating tensor is converted to (integer and bool tensors keep theirs). */
  dtype?: DType;
}

/**
 * Reads a file PyTorch's `torch.save` wrote (the zip format, PyTorch's
 * default since 1.6) without running any code from it; `torch.load` calls
 * this for such files. The pickle inside may hold only tensors (as
 * `_rebuild_tensor_v2` writes them), `nn.Parameter`s, `torch.Size`, and
 * plain Python data; any other global it names (a class of the saving
 * program, `os.system`, ...) is refused with an error naming it before
 * anything it asks for is built.
 *
 * What comes back: dicts and OrderedDicts as plain objects (int keys, as in
 * an optimizer's `state`, become string keys, which
 * `optimizer.loadStateDict` reads), lists and tuples as arrays, `torch.Size`
 * as a Size, str, float, bool and None as string, number, boolean and null,
 * ints as numbers within ±(2^53 - 1) and as bigints beyond, bytes as a
 * Uint8Array, set and frozenset as a Set. Attributes pickled on a dict (the
 * `_metadata` of a `state_dict()`) are dropped.
 *
 * Tensors keep their dtype, size, stride and storage offset, and views of
 * one storage in PyTorch share one Kindling storage; a Parameter comes back
 * as an `nn.Parameter`, and `requires_grad` is kept. HalfStorage and
 * BFloat16Storage load as float16 and bfloat16 where Kindling has them
 * (float32, exactly, otherwise); ShortStorage and CharStorage (int16, int8)
 * load as int32. Complex, quantized and sparse tensors are refused.
 * Tensors go to `device` ('cpu' by default), whatever device they were
 * saved from, and floating ones become `dtype` when it is given; a storage
 * is converted and moved once, so views still share it.
 *
 * The legacy format (`_use_new_zipfile_serialization=False`, PyTorch before
 * 1.6) and TorchScript archives are refused with an error that says so.
 */
export function loadTorchFile(path: string, opts: TorchFileOptions = {}): unknown {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError('torch.load: path must be a non-empty string');
  checkOptions('torch.load', opts, ['device', 'dtype']);
  const dev: Device = opts?.device === undefined ? 'cpu' : checkedDevice(opts.device, 'torch.load');
  const dtype = opts?.dtype;
  if (dtype !== undefined && !(isDType(dtype) && isFloating(dtype))) {
    throw new TypeError(`torch.load: dtype must be a floating dtype, got ${String(dtype)}`);
  }
  const { fd, size } = openFile(path);
  try {
    return readTorchFile(fd, size, path, dev, dtype);
  } finally {
    fs.closeSync(fd);
  }
}
