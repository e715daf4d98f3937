// Creation helpers: the *Like family, torch.device objects, and
// fromTypedArray / torch.tensor over every typed array.
import { describe, it, expect } from 'vitest';
import { inspect } from 'node:util';
import * as torch from '../../lib/index.js';

type Tensor = torch.Tensor;
const vals = (t: Tensor) => Array.from(t.toTypedArray() as ArrayLike<number | bigint>, Number);

describe('*Like', () => {
  const x = torch.zeros([2, 3], { dtype: 'float64' });
  it('randLike / randnLike keep shape, dtype and device unless told otherwise', () => {
    torch.manualSeed(0);
    const r = torch.randLike(x);
    expect([r.shape, r.dtype, r.device]).toEqual([[2, 3], 'float64', 'cpu']);
    expect(vals(r).every((v) => v >= 0 && v < 1)).toBe(true);
    const n = torch.randnLike(x, { dtype: 'float32', requiresGrad: true });
    expect([n.shape, n.dtype, n.requiresGrad]).toEqual([[2, 3], 'float32', true]);
    torch.manualSeed(0);
    expect(vals(torch.randLike(x))).toEqual(vals(r));
    expect(() => torch.randLike(torch.zeros(2, { dtype: 'int32' }))).toThrow(/randLike: expected a floating dtype, got int32/);
    expect(() => torch.randnLike(torch.zeros(2, { dtype: 'int64' }))).toThrow(/randnLike: expected a floating dtype, got int64/);
    expect(() => torch.randLike([1, 2] as never)).toThrow(/randLike: expected a Tensor/);
  });

  it('randintLike(t, high) and randintLike(t, low, high) keep the dtype', () => {
    torch.manualSeed(1);
    const a = torch.randintLike(torch.zeros(1000), 5);
    expect(a.dtype).toBe('float32');
    expect(new Set(vals(a))).toEqual(new Set([0, 1, 2, 3, 4]));
    const b = torch.randintLike(torch.zeros([4, 250], { dtype: 'int32' }), 3, 5);
    expect([b.dtype, b.shape]).toEqual(['int32', [4, 250]]);
    expect(new Set(vals(b))).toEqual(new Set([3, 4]));
    expect(torch.randintLike(torch.zeros(3), 2, { dtype: 'int64' }).dtype).toBe('int64');
    expect(() => torch.randintLike(torch.zeros(3), 5, 5)).toThrow(/randintLike: expected low < high, got low=5, high=5/);
    expect(() => torch.randintLike(torch.zeros(3), 1.5)).toThrow(/randintLike: low and high must be integers/);
  });

  it('emptyLike, zerosLike and onesLike follow the model tensor and take dtype', () => {
    const e = torch.emptyLike(x);
    expect([e.shape, e.dtype, e.device]).toEqual([[2, 3], 'float64', 'cpu']);
    expect(torch.emptyLike(x, { dtype: 'int32' }).dtype).toBe('int32');
    expect(torch.zerosLike(x).dtype).toBe('float64');
    expect(vals(torch.onesLike(x, { dtype: 'bool' }))).toEqual([1, 1, 1, 1, 1, 1]);
    expect(() => torch.emptyLike(x, { dtpye: 'int32' } as never)).toThrow(/emptyLike: unknown option 'dtpye' \(did you mean 'dtype'\?\)/);
  });
});

describe('torch.device', () => {
  it('has type, index and PyTorch string forms, interned', () => {
    const c = torch.device('cuda:0');
    expect([c.type, c.index, c.toString()]).toEqual(['cuda', 0, 'cuda:0']);
    expect(torch.device('cuda', 0)).toBe(c);
    expect(torch.device(0)).toBe(c);
    expect(torch.device(c)).toBe(c);
    const cpu = torch.device('cpu');
    expect([cpu.type, cpu.index, `${cpu}`]).toEqual(['cpu', null, 'cpu']);
    expect(torch.device('cuda').index).toBeNull();
    expect(inspect(c)).toBe("device(type='cuda', index=0)");
    expect(inspect(cpu)).toBe("device(type='cpu')");
    expect(JSON.stringify({ d: c })).toBe('{"d":"cuda:0"}');
  });

  it('compares with tensor.device and other devices as PyTorch ==', () => {
    const t = torch.zeros(2);
    expect(torch.device(t.device)).toBe(torch.device('cpu'));
    expect(torch.device('cpu').equals(t.device)).toBe(true);
    expect(String(torch.device('cpu'))).toBe(t.device);
    expect(torch.device('cpu') == (t.device as unknown)).toBe(true);
    expect(torch.device('cuda').equals('cuda:0')).toBe(false);
    expect(torch.device('cuda:1').equals(torch.device('cuda', 1))).toBe(true);
    expect(torch.device('cpu').equals('tpu')).toBe(false);
  });

  it('is accepted wherever a device string is', () => {
    const d = torch.device('cpu');
    expect(torch.zeros(2, { device: d }).device).toBe('cpu');
    expect(torch.tensor([1, 2], { device: d }).device).toBe('cpu');
    expect(torch.rand(2, { device: d }).device).toBe('cpu');
    expect(torch.ones(2).to(d).device).toBe('cpu');
    expect(torch.ones(2).to({ device: d, dtype: 'float64' }).dtype).toBe('float64');
    expect(torch.zerosLike(torch.ones(2), { device: d }).device).toBe('cpu');
    expect(new torch.Generator(d).device).toBe(d);
    if (!torch.cuda.isAvailable()) {
      expect(() => torch.zeros(2, { device: torch.device('cuda:0') })).toThrow(/zeros: CUDA is not available/);
      expect(() => torch.ones(2).to(torch.device('cuda'))).toThrow(/CUDA is not available/);
    }
  });

  it('refuses what is not a device', () => {
    expect(() => torch.device('tpu')).toThrow(/device: unknown device "tpu" \(expected 'cpu', 'cuda' or 'cuda:N'\)/);
    expect(() => torch.device('cuda:0', 1)).toThrow(/already has an index/);
    expect(() => torch.device('cpu', 1)).toThrow(/the CPU device has index 0 only, got 1/);
    expect(() => torch.device(-1)).toThrow(/invalid device ordinal -1/);
    expect(() => torch.device('cuda', 1.5)).toThrow(/device index must be a non-negative integer/);
  });
});

describe('fromTypedArray and torch.tensor over every typed array', () => {
  it('shares the memory of the arrays whose dtype Kindling has', () => {
    const cases: [ArrayBufferView & ArrayLike<number | bigint> & { [i: number]: number | bigint }, string, number | bigint][] = [
      [new Float32Array([1.5, 2]), 'float32', 7.5],
      [new Float64Array([1.5, 2]), 'float64', 7.5],
      [new Int32Array([-1, 2]), 'int32', 7],
      [new BigInt64Array([-1n, 2n]), 'int64', 7n],
      [new Uint8Array([1, 255]), 'uint8', 7],
    ];
    for (const [arr, dtype, seven] of cases) {
      const t = torch.fromTypedArray(arr as never);
      expect(t.dtype, arr.constructor.name).toBe(dtype);
      arr[0] = seven;
      expect(Number(vals(t)[0]), `${arr.constructor.name} is shared`).toBe(Number(seven));
    }
  });

  it('copies the others into the nearest dtype that holds their values', () => {
    const cases: [ArrayBufferView, string, number[]][] = [
      [new Int8Array([-128, 127]), 'int32', [-128, 127]],
      [new Int16Array([-32768, 32767]), 'int32', [-32768, 32767]],
      [new Uint16Array([0, 65535]), 'int32', [0, 65535]],
      [new Uint32Array([0, 4294967295]), 'int64', [0, 4294967295]],
      [new BigUint64Array([0n, 2n ** 63n - 1n]), 'int64', [0, 2 ** 63]],
    ];
    for (const [arr, dtype, want] of cases) {
      const t = torch.fromTypedArray(arr as never, [2]);
      expect([t.dtype, vals(t)], arr.constructor.name).toEqual([dtype, want]);
      expect(torch.tensor(arr as never).dtype, `tensor(${arr.constructor.name})`).toBe(dtype);
    }
    expect(torch.fromTypedArray(new BigUint64Array([7n, 2n ** 63n - 1n])).toTypedArray()).toEqual(new BigInt64Array([7n, 2n ** 63n - 1n]));
    expect(vals(torch.fromTypedArray(new Int16Array([1, 2, 3, 4]), [2, 2]).sum(0))).toEqual([4, 6]);
  });

  it('reads a Uint8ClampedArray as bool (round trip of toTypedArray), or as shared bytes when told uint8', () => {
    const mask = torch.tensor([true, false, true]);
    const back = torch.fromTypedArray(mask.toTypedArray() as Uint8ClampedArray);
    expect([back.dtype, back.tolist()]).toEqual(['bool', [true, false, true]]);
    const pixels = new Uint8ClampedArray([0, 128, 255]);
    const bytes = torch.fromTypedArray(pixels, { dtype: 'uint8' });
    expect([bytes.dtype, vals(bytes)]).toEqual(['uint8', [0, 128, 255]]);
    pixels[0] = 9;
    expect(vals(bytes)[0]).toBe(9); // shared
    expect(vals(torch.tensor(pixels, { dtype: 'float32' }))).toEqual([9, 128, 255]);
    // As a bool dtype, nonzero bytes are true (a converted copy).
    expect(torch.fromTypedArray(new Uint8ClampedArray([0, 3, 0]), [3], { dtype: 'bool' }).tolist()).toEqual([false, true, false]);
    expect(() => torch.fromTypedArray(pixels)).toThrow(
      /fromTypedArray: a Uint8ClampedArray is read as bool \(Kindling's bool storage\), but it holds 9 at index 0; for bytes such as pixels pass \{ dtype: 'uint8' \}/,
    );
    expect(() => torch.tensor(new Uint8ClampedArray([5]))).toThrow(/tensor: a Uint8ClampedArray is read as bool/);
  });

  it('takes a dtype (a converted copy) and options in the shape slot', () => {
    expect(torch.fromTypedArray(new Int16Array([1, 2]), { dtype: 'float32' }).dtype).toBe('float32');
    expect(vals(torch.fromTypedArray(new Uint32Array([4294967295]), [1], { dtype: 'float64' }))).toEqual([4294967295]);
  });

  it('refuses what it cannot hold, saying why', () => {
    expect(() => torch.fromTypedArray(new BigUint64Array([2n ** 63n]))).toThrow(
      /fromTypedArray: BigUint64Array value 9223372036854775808 at index 0 does not fit int64/,
    );
    expect(() => torch.fromTypedArray(new DataView(new ArrayBuffer(4)) as never)).toThrow(/fromTypedArray: expected a typed array/);
    expect(() => torch.fromTypedArray([1, 2] as never)).toThrow(/fromTypedArray: expected a typed array/);
    expect(() => torch.fromTypedArray(new Int16Array(3), [2, 2])).toThrow(/shape \[2, 2\] needs 4 elements but the array has 3/);
  });
});
