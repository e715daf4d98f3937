// float16 and bfloat16: the bit conversions (exhaustively against PyTorch),
// creation, conversion, ops computed in float32 and rounded back, printing,
// promotion and autograd, all against scripts/make_half_fixtures.py's
// PyTorch output.
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import {
  BFloat16Bits,
  bf16ToNumber,
  f16ToNumber,
  float32ToHalf,
  halfFromFloat32,
  halfToFloat32,
  numberToBf16,
  numberToF16,
} from '../../lib/util/half.js';
import { allocCuda } from '../../lib/backend/cuda.js';
import { decode, encode } from '../../lib/data/wire.js';

type Half = 'float16' | 'bfloat16';
type Value = number | string | boolean;
interface Enc {
  dtype: string;
  shape: number[];
  bits?: string;
  values: Value[];
}

const read = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
const bitsFx = read('half_bits.json') as Record<string, string>;
const opsFx = read('half_ops.json') as {
  inputs: Record<Half, { a: Enc; b: Enc; c: Enc }>;
  cases: { op: string; dtype: Half; native: boolean; out: Enc }[];
  promotion: [string, string, string][];
  mixed: Record<string, string>;
  reprs: { name: string; dtype: Half; input: Enc; repr: string }[];
  grads: { dtype: Half; x: Enc; y: Enc; grad: Enc }[];
  creation: { dtype: Half; what: string; in?: number[]; out: Enc }[];
};

function bytes(b64: string): Buffer {
  const raw = Buffer.from(b64, 'base64');
  return bitsFx.deflated ? inflateSync(raw) : raw;
}
function u16(b64: string, deflated = true): Uint16Array {
  const b = deflated ? bytes(b64) : Buffer.from(b64, 'base64');
  return new Uint16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
function u32(b64: string): Uint32Array {
  const b = bytes(b64);
  return new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
const num = (v: Value): number => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v));

/** A fixture tensor: built from its exact values (every half value is a float32, so the cast is exact). */
function build(e: Enc): torch.Tensor {
  const t = torch.tensor(torch.fromTypedArray(Float32Array.from(e.values.map(num))), { dtype: e.dtype as torch.DType });
  return t.reshape(e.shape);
}
/** The stored bits of a half tensor, row-major. */
function bitsOf(t: torch.Tensor): number[] {
  const c = t.contiguous();
  const data = c._storage.data as Uint16Array;
  return Array.from(data.subarray(c._offset, c._offset + c.numel()));
}

describe('bit conversions, against PyTorch', () => {
  it('widens all 65536 float16 patterns as PyTorch does (NaN payloads quieted, subnormals exact)', () => {
    const want = u32(bitsFx.f16_to_f32);
    expect(want.length).toBe(65536);
    const all = new Uint16Array(65536).map((_, i) => i);
    const got = new Float32Array(65536);
    halfToFloat32(all, 0, got, 0, 65536, false);
    expect(Array.from(new Uint32Array(got.buffer))).toEqual(Array.from(want));
    const f = new Float32Array(new Uint32Array(want).buffer);
    for (let h = 0; h < 65536; h += 1) {
      if (!Object.is(f16ToNumber(h), f[h])) expect([h, f16ToNumber(h)]).toEqual([h, f[h]]);
    }
  });

  it('widens bfloat16 patterns as PyTorch does', () => {
    const pats = u16(bitsFx.bf16_sample);
    const want = u32(bitsFx.bf16_sample_f32);
    const got = new Float32Array(pats.length);
    halfToFloat32(pats, 0, got, 0, pats.length, true);
    expect(Array.from(new Uint32Array(got.buffer))).toEqual(Array.from(want));
    const f = new Float32Array(want.buffer);
    pats.forEach((h, i) => expect(Object.is(bf16ToNumber(h), f[i])).toBe(true));
  });

  it('rounds float32 to float16 and bfloat16 to nearest even, as PyTorch (ties, subnormals, overflow, NaN)', () => {
    const src = new Float32Array(u32(bitsFx.f32).buffer);
    const want16 = u16(bitsFx.f32_to_f16),
      wantB = u16(bitsFx.f32_to_bf16);
    expect(src.length).toBeGreaterThan(10000);
    const got16 = new Uint16Array(src.length),
      gotB = new Uint16Array(src.length);
    float32ToHalf(src, 0, got16, 0, src.length, false);
    float32ToHalf(src, 0, gotB, 0, src.length, true);
    expect(Array.from(got16)).toEqual(Array.from(want16));
    expect(Array.from(gotB)).toEqual(Array.from(wantB));
    // The scalar paths agree with the array ones.
    for (let i = 0; i < src.length; i += 1) {
      if (numberToF16(src[i]) !== want16[i] || numberToBf16(src[i]) !== wantB[i])
        expect([src[i], numberToF16(src[i]), numberToBf16(src[i])]).toEqual([src[i], want16[i], wantB[i]]);
    }
    // The edges the fixture covers, spelled out.
    expect(numberToF16(65504)).toBe(0x7bff);
    expect(numberToF16(65519.99)).toBe(0x7bff);
    expect(numberToF16(65520)).toBe(0x7c00);
    expect(numberToF16(2 ** -25)).toBe(0);
    expect(numberToF16(2 ** -25 * 1.0000001)).toBe(1);
    expect(numberToF16(3 * 2 ** -26)).toBe(1);
    expect(numberToF16(3 * 2 ** -25)).toBe(2);
    expect(numberToF16(5 * 2 ** -25)).toBe(2);
    expect(numberToF16(-NaN)).toBe(0x7e00);
    expect(numberToBf16(NaN)).toBe(0x7fc0);
    expect(numberToBf16(1 + 2 ** -8)).toBe(0x3f80);
    expect(numberToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });

  it('every float16 value survives float32 and back exactly (NaNs become the quiet NaN)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const wide = new Float32Array(65536);
    halfToFloat32(all, 0, wide, 0, 65536, false);
    const back = halfFromFloat32(wide, false);
    for (let h = 0; h < 65536; h++) {
      const nan = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (back[h] !== (nan ? (h & 0x8000) | 0x7e00 : h)) expect([h, back[h]]).toEqual([h, h]);
    }
    expect(halfFromFloat32(wide, true)).toBeInstanceOf(BFloat16Bits);
  });
});

describe('dtypes', () => {
  it('names float16 and bfloat16 as PyTorch', () => {
    expect([torch.float16, torch.half, torch.bfloat16]).toEqual(['float16', 'float16', 'bfloat16']);
    expect(torch.isFloating('float16') && torch.isFloating('bfloat16')).toBe(true);
    expect(torch.DTYPES).toContain('bfloat16');
  });

  it('promotes as PyTorch 1.13', () => {
    for (const [a, b, r] of opsFx.promotion) {
      expect(torch.promoteTypes(a as torch.DType, b as torch.DType)).toBe(r);
      expect(torch.promoteTypes(b as torch.DType, a as torch.DType)).toBe(r);
    }
    const h = torch.ones(2, { dtype: 'float16' });
    expect(h.add(torch.tensor(1.5)).dtype).toBe(opsFx.mixed.f16_plus_0d_f32);
    expect(torch.ones(2, { dtype: 'int64' }).add(torch.tensor(1.5, { dtype: 'float16' })).dtype).toBe(opsFx.mixed.i64_plus_0d_f16);
    expect(h.mul(2.5).dtype).toBe('float16');
    expect(h.add(torch.ones(2, { dtype: 'bfloat16' })).dtype).toBe('float32');
    expect(h.add(torch.tensor([1, 2])).dtype).toBe('float16');
  });
});

describe('creation and conversion', () => {
  it('creates half tensors with the values PyTorch gives (rounded through float32, as PyTorch)', () => {
    for (const c of opsFx.creation) {
      let t: torch.Tensor;
      if (c.what === 'arange') t = torch.arange(0, 1, 0.1, { dtype: c.dtype });
      else if (c.what === 'linspace') t = torch.linspace(0, 1, 7, { dtype: c.dtype });
      else if (c.what === 'linspace13') t = torch.linspace(-3.3, 5.1, 13, { dtype: c.dtype });
      else if (c.what === 'full') t = torch.full([2], c.in![0], { dtype: c.dtype });
      else t = torch.tensor(c.in!, { dtype: c.dtype });
      expect(t.dtype, `${c.what} ${c.dtype}`).toBe(c.dtype);
      expect(bitsOf(t), `${c.what} ${c.dtype}`).toEqual(Array.from(u16(c.out.bits!, false)));
    }
  });

  it('converts with to(), half(), bfloat16(), float(), double() and long(), and reads values', () => {
    const x = torch.tensor([0.1, -2.5, 70000, 1e-8]);
    const h = x.half();
    expect(h.dtype).toBe('float16');
    expect(x.to('float16').tolist()).toEqual([0.0999755859375, -2.5, Infinity, 0]);
    expect(h.toTypedArray()).toEqual(new Float32Array([0.0999755859375, -2.5, Infinity, 0]));
    expect(h.float().dtype).toBe('float32');
    expect(h.double().tolist()).toEqual([0.0999755859375, -2.5, Infinity, 0]);
    expect(x.bfloat16().tolist()).toEqual([0.10009765625, -2.5, 70144, 1.0011717677116394e-8]);
    expect(x.bfloat16().half().tolist()).toEqual([0.10009765625, -2.5, Infinity, 0]);
    expect(torch.tensor([2.75, -1.5], { dtype: 'float16' }).long().tolist()).toEqual([2, -1]);
    expect(torch.tensor(0.1, { dtype: 'float16' }).item()).toBe(0.0999755859375);
    expect(
      torch
        .tensor([[1, 2]], { dtype: 'bfloat16' })
        .index(0, 1)
        .item(),
    ).toBe(2);
    expect(torch.zeros(2, 3, { dtype: 'bfloat16' }).tolist()).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(torch.eye(2, { dtype: 'float16' }).tolist()).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(torch.fromTypedArray(new Float32Array([1.5]), { dtype: 'bfloat16' }).dtype).toBe('bfloat16');
  });
});

// Kindling's ops on a half tensor, by the fixture's op names.
const OPS: Record<string, (a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) => torch.Tensor> = {
  add: (a, _b, c) => a.add(c),
  sub: (a, _b, c) => a.sub(c),
  mul: (a, _b, c) => a.mul(c),
  div: (a, _b, c) => a.div(c),
  maximum: (a, _b, c) => a.maximum(c),
  mulScalar: (a) => a.mul(2.5),
  addScalar: (a) => a.add(0.1),
  subScalar: (a) => a.sub(0.3),
  rsubScalar: (a) => torch.rsub(a, 0.1),
  divScalar: (a) => a.div(0.3),
  powScalar: (a) => a.abs().pow(1.1),
  eqScalar: (a) => a.mul(0).add(0.1).eq(0.1),
  mean1: (a) => a.mean(1),
  neg: (a) => a.neg(),
  abs: (a) => a.abs(),
  exp: (a) => a.exp(),
  logAbs: (a) => a.abs().log(),
  sqrtAbs: (a) => a.abs().sqrt(),
  sigmoid: (a) => a.sigmoid(),
  tanh: (a) => a.tanh(),
  relu: (a) => a.relu(),
  pow2: (a) => a.pow(2),
  clamp: (a) => a.clamp(-0.5, 0.5),
  gt: (a, _b, c) => a.gt(c),
  sum: (a) => a.sum(),
  sum1: (a) => a.sum(1),
  mean: (a) => a.mean(),
  mean0: (a) => a.mean(0),
  max1: (a) => a.max(1).values,
  argmax1: (a) => a.argmax(1),
  softmax1: (a) => a.softmax(1),
  cumsum1: (a) => a.cumsum(1),
  matmul: (a, b) => a.matmul(b),
  transpose: (a) => a.t().contiguous(),
  reshape: (a) => a.t().reshape(2, 6),
  cat: (a, _b, c) => torch.cat([a, c], 1),
  stack: (a, _b, c) => torch.stack([a, c]),
  index: (a) => a.index([0, 2]),
  narrow: (a) => a.narrow(1, 1, 2),
  gather: (a) => a.gather(1, torch.tensor([[0], [3], [1]])),
  indexSelect: (a) => a.indexSelect(1, torch.tensor([3, 0])),
  where: (a, _b, c) => torch.where(a.gt(0), a, c),
  sort1: (a) => a.sort(1).values,
  flip: (a) => a.flip(0),
};

describe('ops compute in float32 and round back, as PyTorch', () => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    const { a, b, c } = opsFx.inputs[dtype];
    for (const k of opsFx.cases.filter((x) => x.dtype === dtype)) {
      it(`${k.op} on ${dtype}${k.native ? '' : ' (PyTorch 1.13 has no CPU kernel: the float32 op rounded)'}`, () => {
        const out = OPS[k.op](build(a), build(b), build(c));
        expect(out.dtype).toBe(k.out.dtype);
        expect(out.shape).toEqual(k.out.shape);
        if (k.out.bits !== undefined) {
          const want = Array.from(u16(k.out.bits, false));
          // PyTorch's bfloat16 matmul (oneDNN) accumulates in another order:
          // its result may differ from Kindling's float32 GEMM in the last bit.
          const ulps = bitsOf(out).map((x, i) => Math.abs(x - want[i]));
          const exact = !(dtype === 'bfloat16' && k.op === 'matmul');
          if (exact) expect(bitsOf(out)).toEqual(want);
          else expect(Math.max(0, ...ulps)).toBeLessThanOrEqual(1);
        } else {
          expect(out.tolist()).toEqual(build(k.out).tolist());
        }
      });
    }
  }

  it('keeps a NaN payload through copies and never rewrites an input', () => {
    const t = torch.zeros(4, { dtype: 'float16' });
    const data = t._storage.data as Uint16Array;
    data.set([0x7c01, 0xfd00, 0x3c00, 0x8000]);
    const before = Array.from(data);
    expect(bitsOf(t.clone())).toEqual(before);
    expect(bitsOf(t.reshape(2, 2).t().contiguous().t().reshape(4))).toEqual(before);
    expect(bitsOf(torch.cat([t, t])).slice(4)).toEqual(before);
    // An op reads the NaNs but leaves them as they were; its output has PyTorch's quiet NaNs.
    expect(bitsOf(t.mul(1))).toEqual([0x7e00, 0xfe00, 0x3c00, 0x8000]);
    expect(bitsOf(t.add(t))).toEqual([0x7e00, 0xfe00, 0x4000, 0x8000]);
    expect(Array.from(data)).toEqual(before);
  });

  it('writes in place, and shares memory through views', () => {
    const x = torch.tensor([1, 2, 3, 4], { dtype: 'bfloat16' });
    const v = x.index('1:3');
    v.mul_(10);
    expect(x.tolist()).toEqual([1, 20, 30, 4]);
    x.add_(torch.tensor([0.5, 0.5, 0.5, 0.5]));
    expect(x.tolist()).toEqual([1.5, 20.5, 30.5, 4.5]);
    x.index('::2').fill_(0.1);
    expect(x.tolist()).toEqual([0.10009765625, 20.5, 0.10009765625, 4.5]);
    x.copy_(torch.tensor([1e30, 3, 2, 1]));
    expect(x.tolist()).toEqual([1.0002555517425873e30, 3, 2, 1]);
    x.indexPut_([torch.tensor([0, 3])], torch.tensor(7.0));
    expect(x.tolist()).toEqual([7, 3, 2, 7]);
    x.zero_();
    expect(bitsOf(x)).toEqual([0, 0, 0, 0]);
  });

  it('in-place ops on overlapping half views see the aliasing', () => {
    const x = torch.tensor([1, 2, 3, 4], { dtype: 'float16' });
    x.index('1:').copy_(x.index(':3'));
    // copy_ of overlapping views behaves as on float32.
    const y = torch.tensor([1, 2, 3, 4]);
    y.index('1:').copy_(y.index(':3'));
    expect(x.tolist()).toEqual(y.tolist());
    const z = torch.tensor([1, 2, 3], { dtype: 'float16' });
    z.add_(z);
    expect(z.tolist()).toEqual([2, 4, 6]);
  });

  it('runs nn layers on half parameters', () => {
    torch.manualSeed(0);
    const lin = new torch.nn.Linear(4, 3);
    const x = torch.randn(2, 4);
    const want = lin.forward(x.half().float()).tolist() as number[][];
    lin.half();
    expect(lin.weight.dtype).toBe('float16');
    const out = lin.forward(x.half());
    expect(out.dtype).toBe('float16');
    const got = out.tolist() as number[][];
    got.flat().forEach((v, i) => expect(Math.abs(v - want.flat()[i])).toBeLessThan(2e-3 * (1 + Math.abs(v))));
  });
});

describe('across threads', () => {
  it('keeps float16 and bfloat16 through the DataLoader wire format (structured clone drops the storage class)', () => {
    const h = torch.tensor([0.1, -2, 65504], { dtype: 'float16' });
    const b = torch.tensor([[0.1, 3e38]], { dtype: 'bfloat16' });
    const transfer: ArrayBuffer[] = [];
    const sent = structuredClone(encode({ h, b: [b] }, false, transfer), { transfer }) as unknown;
    const got = decode(sent) as { h: torch.Tensor; b: torch.Tensor[] };
    expect(got.h.dtype).toBe('float16');
    expect(bitsOf(got.h)).toEqual(bitsOf(h));
    expect(got.b[0].dtype).toBe('bfloat16');
    expect(got.b[0].shape).toEqual([1, 2]);
    expect(got.b[0].tolist()).toEqual(b.tolist());
  });
});

describe('printing', () => {
  for (const r of opsFx.reprs) {
    it(`prints ${r.name} (${r.dtype}) as PyTorch`, () => {
      let t = build(r.input);
      if (r.name === 'requires_grad') t.requiresGrad_(true);
      if (r.name === 'grad_fn') t = t.clone().requiresGrad_(true).mul(2);
      expect(String(t)).toBe(r.repr);
    });
  }
});

describe('autograd', () => {
  for (const g of opsFx.grads) {
    it(`backpropagates through ${g.dtype} ops as PyTorch`, () => {
      const x = build(g.x).requiresGrad_(true);
      const y = x.mul(x).add(x.mul(2.5)).sum();
      expect(y.dtype).toBe(g.dtype);
      expect(bitsOf(y)).toEqual(Array.from(u16(g.y.bits!, false)));
      y.backward();
      expect(x.grad!.dtype).toBe(g.dtype);
      expect(bitsOf(x.grad!)).toEqual(Array.from(u16(g.grad.bits!, false)));
    });
  }
});

describe('errors', () => {
  it('refuses CUDA storage for half tensors by name, before anything reaches the addon', () => {
    expect(() => allocCuda('float16', 2, 'cuda', 'to')).toThrow(/to: float16 tensors live on the CPU only/);
    expect(() => allocCuda('bfloat16', 2, 'cuda:0', 'zeros')).toThrow(/zeros: bfloat16 tensors live on the CPU only/);
    if (torch.cuda.isAvailable()) {
      expect(() => torch.ones(2, { dtype: 'float16' }).to('cuda')).toThrow(/float16 tensors live on the CPU only/);
      expect(() => torch.zeros(2, { dtype: 'bfloat16', device: 'cuda' })).toThrow(/bfloat16 tensors live on the CPU only/);
    }
  });

  it('refuses fill values past the half range as PyTorch (infinities pass; ops with a number overflow to inf)', () => {
    expect(() => torch.full([2], 1e6, { dtype: 'float16' })).toThrow(
      'full: value 1000000 cannot be converted to type float16 without overflow',
    );
    expect(() => torch.ones(2, { dtype: 'float16' }).fill_(65505)).toThrow(/fill_: value 65505 cannot be converted to type float16/);
    expect(() => torch.full([1], 1e39, { dtype: 'bfloat16' })).toThrow(/cannot be converted to type bfloat16 without overflow/);
    expect(torch.full([1], -Infinity, { dtype: 'float16' }).tolist()).toEqual([-Infinity]);
    expect(torch.full([1], 65504, { dtype: 'float16' }).tolist()).toEqual([65504]);
    expect(torch.ones(2, { dtype: 'float16' }).mul(1e6).tolist()).toEqual([Infinity, Infinity]);
    expect(torch.tensor([1e6], { dtype: 'float16' }).tolist()).toEqual([Infinity]);
  });

  it('refuses a half view out of bounds of its storage as the addon does, never reading past it', () => {
    const h = torch.ones(3, { dtype: 'float16' });
    const bad = h._view([4], [1], 1);
    expect(() => bad.add(1)).toThrow(/view out of bounds of its storage/);
    expect(() => bad.clone()).toThrow(/view out of bounds of its storage/);
  });

  it('refuses a half tensor where an op needs an integer index', () => {
    const x = torch.ones(3);
    expect(() => x.indexSelect(0, torch.tensor([0, 1], { dtype: 'float16' }))).toThrow(/index/);
  });
});
