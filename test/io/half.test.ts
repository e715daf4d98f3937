// F16 / BF16 safetensors entries (files PyTorch wrote: scripts/make_half_fixtures.py),
// torch.load's { dtype } conversion, Kindling's own F16/BF16 output byte for byte, and
// sharded checkpoints in Hugging Face's layout (model.safetensors.index.json).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../lib/index.js';

type Tensor = torch.Tensor;
interface Enc {
  dtype: torch.DType;
  shape: number[];
  bits?: string;
  values: (number | string | boolean)[];
}

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(HERE, '..', 'fixtures');
const SHARDED = join(FIXTURES, 'io_half_sharded');
const INDEX = join(SHARDED, 'model.safetensors.index.json');
const fx = JSON.parse(readFileSync(join(FIXTURES, 'io_half.json'), 'utf8')) as { files: Record<string, Record<string, Enc>> };

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kindling-half-io-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const num = (v: number | string | boolean): number => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v));

function bitsOf(t: Tensor): number[] {
  const c = t.contiguous();
  return Array.from((c._storage.data as Uint16Array).subarray(c._offset, c._offset + c.numel()));
}
function fixtureBits(e: Enc): number[] {
  const b = Buffer.from(e.bits!, 'base64');
  return Array.from(new Uint16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
}
/** A fixture tensor rebuilt from its bits (half) or values. */
function build(e: Enc): Tensor {
  if (e.bits !== undefined) {
    const t = torch.zeros(e.shape, { dtype: e.dtype });
    (t._storage.data as Uint16Array).set(fixtureBits(e));
    return t;
  }
  if (e.dtype === 'int64') return torch.tensor(e.values.map(Number), { dtype: 'int64' }).reshape(e.shape);
  return torch.tensor(torch.fromTypedArray(Float32Array.from(e.values.map(num))), { dtype: e.dtype }).reshape(e.shape);
}
/** Every value equal, NaN to NaN and -0 to -0 (Object.is). */
function expectValues(t: Tensor, e: Enc, what: string): void {
  expect(t.shape, what).toEqual(e.shape);
  const got = Array.from(t.toTypedArray() as ArrayLike<number | bigint>, Number);
  const want = e.values.map(num);
  expect(got.length, what).toBe(want.length);
  got.forEach((v, i) => {
    if (!Object.is(v, want[i])) expect([what, i, v]).toEqual([what, i, want[i]]);
  });
}

describe('F16 and BF16 entries written by PyTorch', () => {
  for (const file of ['io_half_f16.safetensors', 'io_half_bf16.safetensors']) {
    it(`loads ${file} with PyTorch's dtypes and exact bits`, () => {
      const sd = torch.load(join(FIXTURES, file));
      const want = fx.files[file];
      expect(Object.keys(sd).sort()).toEqual(Object.keys(want).sort());
      for (const [name, e] of Object.entries(want)) {
        expect(sd[name].dtype, name).toBe(e.dtype);
        expectValues(sd[name], e, name);
        if (e.bits !== undefined) expect(bitsOf(sd[name]), name).toEqual(fixtureBits(e));
      }
    });

    it(`upcasts ${file} on load with { dtype: 'float32' }, exactly, leaving integers alone`, () => {
      const sd = torch.load(join(FIXTURES, file), { dtype: 'float32' });
      for (const [name, e] of Object.entries(fx.files[file])) {
        expect(sd[name].dtype, name).toBe(e.dtype === 'int64' ? 'int64' : 'float32');
        expectValues(sd[name], e, name);
      }
      const d = torch.load(join(FIXTURES, file), { dtype: 'float64' });
      expect(d['layer.weight'].dtype).toBe('float64');
      expectValues(d['layer.weight'], fx.files[file]['layer.weight'], 'float64');
    });
  }

  it('converts a float16 checkpoint to bfloat16 on load, rounding as .bfloat16() does', () => {
    const sd = torch.load(join(FIXTURES, 'io_half_f16.safetensors'), { dtype: 'bfloat16' });
    const src = build(fx.files['io_half_f16.safetensors']['layer.weight']);
    expect(sd['layer.weight'].dtype).toBe('bfloat16');
    expect(bitsOf(sd['layer.weight'])).toEqual(bitsOf(src.bfloat16()));
    expect(sd.f32.dtype).toBe('bfloat16');
  });

  it('refuses a dtype option that is not a floating dtype, naming it', () => {
    const path = join(FIXTURES, 'io_half_f16.safetensors');
    for (const bad of ['int64', 'bool', 'uint8', 'float8', 3, null]) {
      expect(() => torch.load(path, { dtype: bad as never })).toThrow(TypeError);
      expect(() => torch.load(path, { dtype: bad as never })).toThrow(/torch\.load: dtype must be a floating dtype/);
    }
  });
});

describe('saving float16 and bfloat16', () => {
  it("writes F16 and BF16 entries byte for byte as the reference writer (PyTorch's tensors)", () => {
    const sd: Record<string, Tensor> = {};
    for (const [name, e] of Object.entries(fx.files.save)) sd[name] = build(e);
    const out = join(tmp, 'half.safetensors');
    torch.save(sd, out, { metadata: { format: 'pt' } });
    expect(readFileSync(out).equals(readFileSync(join(FIXTURES, 'io_half_expected.safetensors')))).toBe(true);
  });

  it('round-trips half tensors bit for bit, NaN payloads and views included', () => {
    const h = torch.zeros(5, { dtype: 'float16' });
    (h._storage.data as Uint16Array).set([0x7c01, 0xfe00, 0x8000, 0x0001, 0x7bff]);
    const b = torch.tensor(
      [
        [1, -2.5],
        [1e38, 0.1],
      ],
      { dtype: 'bfloat16' },
    );
    const path = join(tmp, 'rt.safetensors');
    torch.save({ h, bT: b.t(), part: h.index('1:4') }, path);
    const back = torch.load(path);
    expect(back.h.dtype).toBe('float16');
    expect(bitsOf(back.h)).toEqual(bitsOf(h));
    expect(bitsOf(back.bT)).toEqual(bitsOf(b.t()));
    expect(back.bT.dtype).toBe('bfloat16');
    expect(bitsOf(back.part)).toEqual([0xfe00, 0x8000, 0x0001]);
  });
});

describe('sharded checkpoints (model.safetensors.index.json)', () => {
  const want = fx.files.io_half_sharded;

  it('loads every shard the index names into one state dict, in the index order', () => {
    const sd = torch.load(INDEX);
    expect(Object.keys(sd)).toEqual(['embed.weight', 'layers.0.weight', 'layers.0.bias', 'head.weight', 'position_ids']);
    for (const [name, e] of Object.entries(want)) {
      expect(sd[name].dtype, name).toBe(e.dtype);
      expectValues(sd[name], e, name);
      if (e.bits !== undefined) expect(bitsOf(sd[name]), name).toEqual(fixtureBits(e));
    }
  });

  it('applies the load options to every shard', () => {
    const sd = torch.load(INDEX, { dtype: 'float32' });
    for (const [name, e] of Object.entries(want)) {
      expect(sd[name].dtype, name).toBe(e.dtype === 'int64' ? 'int64' : 'float32');
      expectValues(sd[name], e, name);
    }
    expect(() => torch.load(INDEX, { dtype: 'int32' as never })).toThrow(/dtype must be a floating dtype/);
  });

  it('loads into a module with loadStateDict after an upcast', () => {
    const sd = torch.load(INDEX, { dtype: 'float32' });
    const emb = new torch.nn.Embedding(6, 4);
    emb.loadStateDict({ weight: sd['embed.weight'] });
    expectValues(emb.weight, want['embed.weight'], 'embedding');
  });

  /** A copy of the sharded fixture in a fresh folder, with the index replaced by `index` when given. */
  function copy(index?: unknown): string {
    const dir = mkdtempSync(join(tmp, 'shards-'));
    cpSync(SHARDED, dir, { recursive: true });
    if (index !== undefined) writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    return join(dir, 'model.safetensors.index.json');
  }
  const map = JSON.parse(readFileSync(INDEX, 'utf8')).weight_map as Record<string, string>;

  it('refuses a missing shard, naming it, before reading any', () => {
    const path = copy();
    rmSync(join(dirname(path), 'model-00002-of-00002.safetensors'));
    expect(() => torch.load(path)).toThrow(/shard 'model-00002-of-00002.safetensors' \(holding 'layers.0.bias' and 2 more\) is missing/);
  });

  it('refuses a tensor the index maps to a shard that does not hold it', () => {
    const path = copy({ weight_map: { ...map, 'extra.weight': 'model-00001-of-00002.safetensors' } });
    expect(() => torch.load(path)).toThrow(
      /tensor 'extra.weight' is mapped to shard 'model-00001-of-00002.safetensors', which does not hold it/,
    );
  });

  it('refuses a tensor found in another shard than the index says, or not listed at all', () => {
    const [one, two] = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const wrong = copy({
      weight_map: { 'layers.0.bias': two, 'head.weight': two, position_ids: one, 'embed.weight': one, 'layers.0.weight': one },
    });
    expect(() => torch.load(wrong)).toThrow(`tensor 'position_ids' is in shard '${two}' but the index maps it to '${one}'`);
    const { position_ids: _, ...rest } = map;
    void _;
    const unlisted = copy({ weight_map: rest });
    expect(() => torch.load(unlisted)).toThrow(
      /shard 'model-00002-of-00002.safetensors' holds tensor 'position_ids', which the index does not list/,
    );
  });

  it('refuses shard paths that leave the index folder', () => {
    for (const file of ['../model-00001-of-00002.safetensors', '/etc/passwd', 'sub/../../x.safetensors', '.', '']) {
      const path = copy({ weight_map: { a: file } });
      expect(() => torch.load(path), file).toThrow(file === '' ? /expected a shard file name/ : /is not a file inside the index's folder/);
    }
    const path = copy({ weight_map: { a: 'link.safetensors' } });
    symlinkSync(join(FIXTURES, 'io_half_f16.safetensors'), join(dirname(path), 'link.safetensors'));
    expect(() => torch.load(path)).toThrow(/shard 'link.safetensors' links to .*, outside the index's folder/);
  });

  it('refuses malformed indexes with the reason', () => {
    expect(() => torch.load(copy({ metadata: {} }))).toThrow(/a shard index needs "weight_map"/);
    expect(() => torch.load(copy([1, 2]))).toThrow(/a shard index must be a JSON object/);
    expect(() => torch.load(copy({ weight_map: {} }))).toThrow(/maps no tensors/);
    expect(() => torch.load(copy({ weight_map: { a: 3 } }))).toThrow(/tensor 'a' is mapped to a number; expected a shard file name/);
    expect(() => torch.load(copy({ weight_map: { a: 'other.index.json' } }))).toThrow(/is itself a .json file/);
    expect(() => torch.load(copy({ weight_map: map, metadata: 'x' }))).toThrow(/"metadata" must be an object/);
    const broken = copy();
    writeFileSync(broken, '{"weight_map": ');
    expect(() => torch.load(broken)).toThrow(/not a valid shard index/);
    expect(() => torch.load(join(tmp, 'nothing.index.json'))).toThrow(/torch\.load: cannot open .*nothing\.index\.json/);
  });
});
