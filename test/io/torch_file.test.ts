// torch.load of PyTorch's own torch.save files (lib/io/torch_file.ts and the
// restricted unpickler, lib/io/pickle.ts), against files PyTorch 1.13 wrote
// and malicious or broken ones built by hand, all made by
// scripts/make_torch_file_fixtures.py with what loading each must give (or
// the error it must raise) in a JSON file beside it.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  copyFileSync,
  openSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import * as torch from '../../lib/index.js';
import { load, save } from '../../lib/io/safetensors.js';
import { loadTorchFile, halfBitsToFloat, bfloat16BitsToFloat } from '../../lib/io/torch_file.js';
import { isDType } from '../../lib/dtype.js';
import { unpickle } from '../../lib/io/pickle.js';
import type { Storage } from '../../lib/tensor.js';

type Tensor = torch.Tensor;
const { nn, optim } = torch;

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'torch_file');
const fixturePath = (name: string) => join(DIR, `${name}.pt`);
const fixtureJson = (name: string) => JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as Record<string, unknown>;

// Whether this Kindling has 2-byte floats; without them the loader gives float32.
const HAS_HALF = isDType('float16' as string);

interface TensorSpec {
  dtype: string;
  storage_dtype: string;
  shape: number[];
  stride: number[];
  offset: number;
  storage: string | null;
  requires_grad: boolean;
  parameter: boolean;
  id: number;
  values: unknown[];
  bits?: number[];
}

/** What the encoding of make_torch_file_fixtures.py stands for, for one float. */
function decodeFloat(v: unknown): number {
  if (typeof v === 'number') return v;
  const tag = (v as { $float: string }).$float;
  return { nan: NaN, inf: Infinity, '-inf': -Infinity, '-0': -0 }[tag] as number;
}

/** JS objects list integer-like keys first, in ascending order, then the rest as inserted. */
function jsKeyOrder(keys: string[]): string[] {
  const isIndex = (k: string) => /^(0|[1-9]\d*)$/.test(k) && Number(k) < 2 ** 32 - 1;
  return [...keys.filter(isIndex).sort((a, b) => Number(a) - Number(b)), ...keys.filter((k) => !isIndex(k))];
}

/** Pairings seen so far in one comparison: storages and tensor objects must be shared exactly as in PyTorch. */
class Identity {
  storageByName = new Map<string, Storage>();
  nameByStorage = new Map<Storage, string>();
  tensorById = new Map<number, Tensor>();
  idByTensor = new Map<Tensor, number>();
}

function expectTensor(actual: unknown, s: TensorSpec, where: string, ids: Identity): void {
  expect(actual, where).toBeInstanceOf(torch.Tensor);
  const t = actual as Tensor;
  const half = s.dtype === 'float16' || s.dtype === 'bfloat16';
  expect(t.dtype, `${where} dtype`).toBe(half && !HAS_HALF ? 'float32' : s.dtype);
  expect([...t.shape], `${where} shape`).toEqual(s.shape);
  expect(t.stride(), `${where} stride`).toEqual(s.stride);
  expect(t._offset, `${where} offset`).toBe(s.offset);
  expect(t.requiresGrad, `${where} requiresGrad`).toBe(s.requires_grad);
  expect(t instanceof nn.Parameter, `${where} is a Parameter`).toBe(s.parameter);

  if (half && HAS_HALF) {
    // The raw bits, straight from the storage (a copy through float32 would canonicalise NaN payloads).
    expect(t.isContiguous(), `${where} contiguous`).toBe(true);
    const data = t._storage.data as Uint16Array;
    expect(Array.from(data.subarray(t._offset, t._offset + t.numel())), `${where} bits`).toEqual(s.bits);
  } else {
    const got = t.toTypedArray() as ArrayLike<number | bigint>;
    expect(got.length, `${where} numel`).toBe(s.values.length);
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i];
      const g = got[i];
      const at = `${where}[${i}]`;
      if (s.dtype === 'int64') expect(g, at).toBe(BigInt(v as string));
      else if (s.dtype === 'bool') expect(g, at).toBe(v ? 1 : 0);
      else if (s.dtype === 'float32' || s.dtype === 'float64' || half)
        expect(Object.is(g, decodeFloat(v)), `${at}: ${g} vs ${JSON.stringify(v)}`).toBe(true);
      else expect(g, at).toBe(v);
    }
  }

  if (s.storage !== null) {
    const st = ids.storageByName.get(s.storage);
    if (st === undefined) ids.storageByName.set(s.storage, t._storage);
    else expect(t._storage === st, `${where} shares storage ${s.storage}`).toBe(true);
    const name = ids.nameByStorage.get(t._storage);
    if (name === undefined) ids.nameByStorage.set(t._storage, s.storage);
    else expect(name, `${where} has its own storage`).toBe(s.storage);
  }
  const same = ids.tensorById.get(s.id);
  if (same === undefined) ids.tensorById.set(s.id, t);
  else expect(t === same, `${where} is the same object as before`).toBe(true);
  const id = ids.idByTensor.get(t);
  if (id === undefined) ids.idByTensor.set(t, s.id);
  else expect(id, `${where} is a distinct object`).toBe(s.id);
}

function expectValue(actual: unknown, expected: unknown, where: string, ids: Identity): void {
  if (expected === null || typeof expected === 'string' || typeof expected === 'boolean' || typeof expected === 'number') {
    expect(Object.is(actual, expected), `${where}: ${String(actual)} vs ${String(expected)}`).toBe(true);
    return;
  }
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), `${where} is an array`).toBe(true);
    const a = actual as unknown[];
    expect(a.length, `${where} length`).toBe(expected.length);
    expected.forEach((e, i) => expectValue(a[i], e, `${where}[${i}]`, ids));
    return;
  }
  const tagged = expected as Record<string, unknown>;
  if ('$dict' in tagged) {
    const entries = tagged.$dict as [string, unknown][];
    expect(Object.getPrototypeOf(actual), `${where} is a plain object`).toBe(Object.prototype);
    const obj = actual as Record<string, unknown>;
    expect(Object.keys(obj), `${where} keys`).toEqual(jsKeyOrder(entries.map(([k]) => k)));
    for (const [k, v] of entries) expectValue(obj[k], v, `${where}.${k}`, ids);
  } else if ('$int' in tagged) {
    expect(actual, where).toBe(BigInt(tagged.$int as string));
  } else if ('$float' in tagged) {
    expect(Object.is(actual, decodeFloat(tagged)), `${where}: ${String(actual)} vs ${String(tagged.$float)}`).toBe(true);
  } else if ('$bytes' in tagged) {
    expect(actual, where).toBeInstanceOf(Uint8Array);
    expect(Array.from(actual as Uint8Array), where).toEqual(tagged.$bytes);
  } else if ('$set' in tagged) {
    expect(actual, where).toBeInstanceOf(Set);
    const items = tagged.$set as unknown[];
    expect((actual as Set<unknown>).size, `${where} size`).toBe(items.length);
    for (const x of items) expect((actual as Set<unknown>).has(x), `${where} has ${String(x)}`).toBe(true);
  } else if ('$size' in tagged) {
    expect(actual, where).toBeInstanceOf(torch.Size);
    expect([...(actual as number[])], where).toEqual(tagged.$size);
  } else if ('$tensor' in tagged) {
    expectTensor(actual, tagged.$tensor as TensorSpec, where, ids);
  } else {
    throw new Error(`${where}: unknown tag in the fixture: ${Object.keys(tagged).join()}`);
  }
}

/** The model of scripts/make_torch_file_fixtures.py, with PyTorch's attribute names. */
class Net extends nn.Module {
  conv = new nn.Conv2d(1, 2, 3);
  bn = new nn.BatchNorm2d(2);
  fc = new nn.Linear(8, 3);
  forward(x: Tensor): Tensor {
    return this.fc.forward(this.bn.forward(this.conv.forward(x)).relu().flatten(1));
  }
}

const fixtureNames = readdirSync(DIR)
  .filter((f) => f.endsWith('.pt'))
  .map((f) => f.slice(0, -3));
const valueFixtures = fixtureNames.filter((n) => 'value' in fixtureJson(n));
const errorFixtures = fixtureNames.filter((n) => 'error' in fixtureJson(n));

describe('torch.load of files PyTorch wrote', () => {
  it('has the fixtures', () => {
    expect(valueFixtures.length).toBeGreaterThanOrEqual(18);
    expect(errorFixtures.length).toBeGreaterThanOrEqual(25);
    expect(valueFixtures.length + errorFixtures.length).toBe(fixtureNames.length);
  });

  it.each(valueFixtures)('%s.pt loads with the values, shapes, strides, offsets, dtypes and sharing PyTorch saved', (name) => {
    const want = fixtureJson(name).value;
    expectValue(loadTorchFile(fixturePath(name)), want, name, new Identity());
    // torch.load finds the format by itself.
    expectValue(torch.load<unknown>(fixturePath(name)), want, name, new Identity());
  });

  it('keeps views of one storage on one Kindling storage: a write through one shows in the others', () => {
    const v = loadTorchFile(fixturePath('views')) as Record<string, Tensor>;
    expect(v.rows._storage).toBe(v.x._storage);
    expect(v.other._storage).not.toBe(v.x._storage);
    v.x.add_(100);
    expect(v.rows.toTypedArray()[0]).toBe(106); // x[1, 0] was 6
    expect(v.t.toTypedArray()[1]).toBe(106); // t[0, 1] = x[1, 0]
    expect(v.element.item()).toBe(115); // x[2, 3]
    expect(Array.from((v.every_other.toTypedArray() as Float32Array).slice(0, 3))).toEqual([100, 102, 104]);
    expect(Array.from(v.other.toTypedArray() as Float32Array)).toEqual([0, 1, 2, 3, 4]);
  });

  it('rebuilds the model of the state dict: the forward pass gives what PyTorch gave', () => {
    const net = new Net();
    const sd = torch.load<Record<string, Tensor>>(fixturePath('model_state'));
    expect(sd['bn.num_batches_tracked'].dtype).toBe('int64');
    expect(sd['bn.num_batches_tracked'].item()).toBe(2);
    expect(net.loadStateDict(sd)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    net.eval();
    const { input, output } = (fixtureJson('model_state').extra as { $dict: [string, { $tensor: TensorSpec }][] }).$dict.reduce(
      (o, [k, v]) => ({ ...o, [k]: v.$tensor }),
      {} as Record<string, TensorSpec>,
    );
    const x = torch.tensor(input.values as number[], { dtype: 'float32' }).reshape(input.shape);
    const y = torch.noGrad(() => net.forward(x));
    const got = y.toTypedArray() as Float32Array;
    expect([...y.shape]).toEqual(output.shape);
    output.values.forEach((v, i) => expect(got[i]).toBeCloseTo(v as number, 5));
  });

  it("loads Adam's state dict into optim.Adam, whose next step matches PyTorch's", () => {
    const step = fixtureJson('adam_step').value as { $dict: [string, { $dict: [string, { $tensor: TensorSpec }][] }][] };
    const part = (name: string) => {
      const entries = step.$dict.find(([k]) => k === name)![1].$dict;
      const out: Record<string, Tensor> = {};
      for (const [k, v] of entries) out[k] = torch.tensor(v.$tensor.values as number[], { dtype: 'float32' }).reshape(v.$tensor.shape);
      return out;
    };
    const before = part('before'),
      grads = part('grads'),
      after = part('after');
    const lin = new nn.Linear(3, 2);
    lin.loadStateDict(before);
    const opt = new optim.Adam(lin.parameters(), { lr: 0.5 });
    const sd = torch.load<{ state: Record<string, Record<string, Tensor>>; param_groups: Record<string, unknown>[] }>(fixturePath('adam'));
    expect(Object.keys(sd.state)).toEqual(['0', '1']);
    expect(sd.param_groups[0].params).toEqual([0, 1]);
    expect(sd.param_groups[0].betas).toEqual([0.8, 0.99]);
    opt.loadStateDict(sd as never);
    expect(opt.paramGroups[0].lr).toBe(0.01);
    lin.weight.grad = grads.weight;
    lin.bias!.grad = grads.bias;
    opt.step();
    for (const k of ['weight', 'bias'] as const) {
      const got = lin[k]!.toTypedArray() as Float32Array;
      const want = after[k].toTypedArray() as Float32Array;
      want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6));
    }
  });

  it("restores the tutorial's general checkpoint into a model and an optimizer", () => {
    const ck = torch.load<{ epoch: number; model_state_dict: Record<string, Tensor>; optimizer_state_dict: never; loss: Tensor }>(
      fixturePath('checkpoint'),
    );
    expect(ck.epoch).toBe(5);
    expect(ck.loss.requiresGrad).toBe(true);
    expect(ck.loss.dim()).toBe(0);
    const model = new Net();
    expect(model.loadStateDict(ck.model_state_dict).missingKeys).toEqual([]);
    const opt = new optim.SGD(model.parameters(), { lr: 1, momentum: 0.5 });
    opt.loadStateDict(ck.optimizer_state_dict);
    expect(opt.paramGroups[0].lr).toBe(0.1);
    expect(opt.paramGroups[0].momentum).toBe(0.9);
    expect(opt.state.size).toBe(6);
  });

  it('moves tensors to the requested device and refuses bad options', () => {
    const sd = loadTorchFile(fixturePath('plain'), { device: 'cpu' }) as Record<string, Tensor>;
    expect(sd.w.device).toBe('cpu');
    expect(() => loadTorchFile(fixturePath('plain'), { device: 'tpu' })).toThrow(/torch.load/);
    expect(() => loadTorchFile(fixturePath('plain'), { map_location: 'cpu' } as never)).toThrow(TypeError);
    expect(() => torch.load(fixturePath('plain'), { device: 'cpu', mapLocation: 'cpu' })).not.toThrow();
  });

  it('converts floating tensors to { dtype }, once per storage, so views still share it', () => {
    for (const read of [
      () => loadTorchFile(fixturePath('views'), { dtype: 'float64' }),
      () => torch.load(fixturePath('views'), { dtype: 'float64' }),
    ]) {
      const v = read() as Record<string, Tensor>;
      expect(v.t.dtype).toBe('float64');
      expect(v.t._storage).toBe(v.x._storage);
      expect(v.t.stride()).toEqual([1, 6]);
      expect(Array.from(v.every_other.toTypedArray() as Float64Array)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22]);
    }
    const d = loadTorchFile(fixturePath('dtypes'), { dtype: 'float32' }) as Record<string, Tensor>;
    expect(d.float64.dtype).toBe('float32');
    expect(d.float16.dtype).toBe('float32');
    expect(Array.from(d.float16.toTypedArray() as Float32Array).slice(2, 5)).toEqual([1, -2.5, 65504]);
    expect(d.int64.dtype).toBe('int64');
    expect(() => loadTorchFile(fixturePath('views'), { dtype: 'int32' })).toThrow(/dtype must be a floating dtype/);
  });

  it('converts float16 and bfloat16 bits exactly (the path taken where Kindling has no 2-byte floats)', () => {
    const d = fixtureJson('dtypes').value as { $dict: [string, { $tensor: TensorSpec }][] };
    const spec = (name: string) => d.$dict.find(([k]) => k === name)![1].$tensor;
    for (const [name, conv] of [
      ['float16_sweep', halfBitsToFloat],
      ['float16', halfBitsToFloat],
      ['bfloat16_sweep', bfloat16BitsToFloat],
      ['bfloat16', bfloat16BitsToFloat],
    ] as const) {
      const s = spec(name);
      expect(s.bits!.length).toBeGreaterThan(10);
      s.bits!.forEach((b, i) => expect(Object.is(conv(b), decodeFloat(s.values[i])), `${name}[${i}] bits ${b.toString(16)}`).toBe(true));
    }
    expect(halfBitsToFloat(0x0001)).toBe(2 ** -24);
    expect(halfBitsToFloat(0x7bff)).toBe(65504);
    expect(bfloat16BitsToFloat(0x3f80)).toBe(1);
  });
});

describe('torch.load refuses malicious and broken files', () => {
  it.each(errorFixtures)('%s.pt is refused with an error that says why, and nothing runs', (name) => {
    const { error, marker } = fixtureJson(name) as { error: string; marker?: string };
    if (marker !== undefined) rmSync(marker, { force: true });
    for (const read of [() => loadTorchFile(fixturePath(name)), () => torch.load(fixturePath(name))]) {
      let err: Error | undefined;
      try {
        read();
      } catch (e) {
        err = e as Error;
      }
      expect(err, 'it throws').toBeInstanceOf(Error);
      expect(err!.message).toMatch(new RegExp(error));
      expect(err!.message.startsWith(`torch.load: ${fixturePath(name)}`), err!.message).toBe(true);
    }
    if (marker !== undefined) expect(existsSync(marker), `${marker} was created`).toBe(false);
  });

  it('names the refused global before building anything after it', () => {
    // The os.system call follows a real tensor: the error is the global's, never a later one.
    expect(() => loadTorchFile(fixturePath('evil_after_tensor'))).toThrow(/refusing the global 'os.system'.*opcode GLOBAL at byte \d+/);
  });

  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'kindling-torch-file-'));
  });
  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses every truncation of a real file without hanging or crashing', () => {
    const raw = readFileSync(fixturePath('plain'));
    const path = join(tmp, 'cut.pt');
    for (let n = 0; n < raw.length; n += 7) {
      writeFileSync(path, raw.subarray(0, n));
      expect(() => torch.load(path), `cut at ${n}`).toThrow(/^torch.load: /);
    }
  });

  // Every single-byte change of a real pickle, with the zip's CRC fixed up so
  // that the unpickler (not the CRC check) meets it: each file loads or is
  // refused with an Error naming the file; none crashes, hangs or leaks
  // another kind of error.
  it.skipIf(typeof (zlib as { crc32?: unknown }).crc32 !== 'function')('survives every byte of a pickle changed', () => {
    const raw = readFileSync(fixturePath('nested'));
    const name = Buffer.from('nested/data.pkl');
    let central = -1;
    for (let i = raw.length - 46; i >= 0 && central < 0; i--) {
      if (raw.readUInt32LE(i) === 0x02014b50 && raw.subarray(i + 46, i + 46 + name.length).equals(name)) central = i;
    }
    const size = raw.readUInt32LE(central + 24);
    const local = raw.readUInt32LE(central + 42);
    const start = local + 30 + raw.readUInt16LE(local + 26) + raw.readUInt16LE(local + 28);
    const path = join(tmp, 'flip.pt');
    writeFileSync(path, raw);
    const crc = (zlib as unknown as { crc32: (d: Uint8Array) => number }).crc32;
    // Rewritten in place, byte and CRC, which is much faster than writing whole files.
    const fd = openSync(path, 'r+');
    const word = Buffer.alloc(4);
    let loaded = 0;
    try {
      for (let i = 0; i < size; i++) {
        for (const x of [0x01, 0xff]) {
          const pickle = Buffer.from(raw.subarray(start, start + size));
          pickle[i] ^= x;
          writeSync(fd, pickle, i, 1, start + i);
          word.writeUInt32LE(crc(pickle) >>> 0);
          writeSync(fd, word, 0, 4, central + 16);
          try {
            torch.load(path);
            loaded++;
          } catch (e) {
            expect(e, `byte ${i} ^ ${x}`).toBeInstanceOf(Error);
            expect((e as Error).message.startsWith(`torch.load: ${path}`), `byte ${i} ^ ${x}: ${(e as Error).message}`).toBe(true);
          }
          writeSync(fd, raw, start + i, 1, start + i);
        }
      }
    } finally {
      closeSync(fd);
    }
    // Some changes only alter a value (a digit of an int, a letter of a string).
    expect(loaded).toBeGreaterThan(0);
  });

  it('reports a missing file, a directory and the legacy format clearly', () => {
    expect(() => loadTorchFile(join(tmp, 'nope.pt'))).toThrow(/torch.load: cannot open .*nope.pt/);
    expect(() => loadTorchFile(tmp)).toThrow(/is not a regular file/);
    expect(() => torch.load(fixturePath('legacy'))).toThrow(/legacy format.*torch.save\(torch.load\(path\), new_path\)/);
  });

  it('still reads safetensors files, and a torch.save file under any name', () => {
    const path = join(tmp, 'st.safetensors');
    save({ a: torch.ones([2]) }, path);
    expect(Array.from((load(path) as Record<string, Tensor>).a.toTypedArray() as Float32Array)).toEqual([1, 1]);
    const copy = join(tmp, 'copy.pt');
    copyFileSync(fixturePath('plain'), copy);
    expect(Object.keys(torch.load(copy) as object)).toEqual(['w', 'n']);
  });
});

// The unpickler on its own, with pickles written out opcode by opcode (the
// opcodes as Python's pickletools names them) where no PyTorch file makes the case.
describe('the restricted unpickler', () => {
  const run = (...parts: (number | string)[]) => {
    const bytes: number[] = [];
    for (const p of parts) {
      if (typeof p === 'number') bytes.push(p);
      else for (const b of Buffer.from(p, 'latin1')) bytes.push(b);
    }
    return unpickle(Uint8Array.from(bytes), { where: 'test', globals: new Map() });
  };
  const str = (s: string) => ['X', s.length, 0, 0, 0, s] as const; // BINUNICODE

  it('builds dicts with str and int keys and refuses keys JS objects cannot hold', () => {
    // PROTO 2, EMPTY_DICT, MARK, 'a' 1, 7 'b', SETITEMS, STOP
    expect(run(0x80, 2, '}(', ...str('a'), 'K', 1, 'K', 7, ...str('b'), 'u.')).toEqual({ a: 1, 7: 'b' });
    // {1: 'x', '1': 'y'}
    expect(() => run(0x80, 2, '}(K', 1, ...str('x'), ...str('1'), ...str('y'), 'u.')).toThrow(
      /both the int key 1 and the str key '1'.*opcode SETITEMS at byte 24/,
    );
    expect(() => run(0x80, 2, '}', 0x88, 'K', 1, 's.')).toThrow(/a dict key is bool/);
    expect(() => run(0x80, 2, '}N', 'K', 1, 's.')).toThrow(/a dict key is None/);
    // A '__proto__' key is an entry, never the prototype.
    const d = run(0x80, 2, '}', ...str('__proto__'), 'K', 1, 's.') as Record<string, unknown>;
    expect(Object.getPrototypeOf(d)).toBe(Object.prototype);
    expect(Object.keys(d)).toEqual(['__proto__']);
  });

  it('reads OrderedDict(pairs), protocol 4 frames and memoization, and keeps shared objects shared', () => {
    // collections.OrderedDict([('k', 2)])
    expect(run(0x80, 2, 'ccollections\nOrderedDict\n]', ...str('k'), 'K', 2, 0x86, 'a', 0x85, 'R.')).toEqual({ k: 2 });
    // PROTO 4, FRAME, EMPTY_LIST, MEMOIZE, a tuple of the memoized list twice
    const t = run(0x80, 4, 0x95, 6, 0, 0, 0, 0, 0, 0, 0, ']', 0x94, 'h', 0, 0x86, '.') as unknown[][];
    expect(t).toEqual([[], []]);
    expect(t[0]).toBe(t[1]);
  });

  it('refuses BUILD on anything but a dict, a REDUCE of a non-global, and a pickle with too much on its stack', () => {
    expect(() => run(0x80, 2, ']}b.')).toThrow(/setting the state of list is not supported.*BUILD/);
    expect(() => run(0x80, 2, 'K', 1, ')R.')).toThrow(/can only call an allowed global, got int/);
    const many = new Uint8Array(1_000_010).fill(0x4e); // NONE, over and over
    many[0] = 0x80;
    many[1] = 2;
    many[many.length - 1] = 0x2e;
    expect(() => unpickle(many, { where: 'test', globals: new Map() })).toThrow(/more than 1000000 values are pushed/);
  });

  it('decodes the integer and float opcodes as Python does', () => {
    // BININT -2, BININT2 65535, LONG1 of 2^63 (9 bytes), LONG1 -1, BINFLOAT -0.5 (big-endian)
    const got = run(
      0x80,
      2,
      '(J',
      0xfe,
      0xff,
      0xff,
      0xff,
      'M',
      0xff,
      0xff,
      0x8a,
      9,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0x80,
      0,
      0x8a,
      1,
      0xff,
      'G',
      0xbf,
      0xe0,
      0,
      0,
      0,
      0,
      0,
      0,
      't.',
    );
    expect(got).toEqual([-2, 65535, 2n ** 63n, -1, -0.5]);
  });
});
