// torch.transforms (torchvision.transforms' counterpart): values against
// torchvision 0.14's arithmetic, redone with torch ops in
// scripts/make_data_fixtures.py (test/fixtures/data.json), and the errors.
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import { transforms as T } from '../../lib/data/index.js';

type Tensor = torch.Tensor;

interface Fixture {
  transforms: {
    hw: { bytes: number[]; shape: number[]; toTensor: number[] };
    hwc: { bytes: number[]; shape: number[]; toTensor: number[]; mean: number[]; std: number[]; normalized: number[] };
    mnistNormalized: number[];
    floatToUint8: { input: number[]; output: number[] };
    uint8ToFloat64: number[];
  };
}
const fx = (JSON.parse(readFileSync(new URL('../fixtures/data.json', import.meta.url), 'utf8')) as Fixture).transforms;

const bytes = (values: number[], shape: number[]) => torch.fromTypedArray(Uint8Array.from(values), shape);
const flat = (t: Tensor) => Array.from(t.contiguous().toTypedArray() as Float32Array);

describe('ToTensor', () => {
  it('turns uint8 H x W and H x W x C into float32 C x H x W divided by 255, bit for bit', () => {
    const hw = new T.ToTensor().call(bytes(fx.hw.bytes, fx.hw.shape));
    expect(hw.shape).toEqual([1, 3, 4]);
    expect(hw.dtype).toBe('float32');
    expect(flat(hw)).toEqual(fx.hw.toTensor);
    const hwc = new T.ToTensor().forward(bytes(fx.hwc.bytes, fx.hwc.shape));
    expect(hwc.shape).toEqual([3, 2, 3]);
    expect(flat(hwc)).toEqual(fx.hwc.toTensor);
    expect(hwc.isContiguous()).toBe(true);
  });

  it('reads an image { data, width, height } (ImageData-like) and keeps non-byte dtypes unscaled', () => {
    // 2 x 3 pixels, 3 channels, interleaved as in fx.hwc.
    const img = { data: Uint8ClampedArray.from(fx.hwc.bytes), width: 3, height: 2 };
    expect(flat(new T.ToTensor().call(img))).toEqual(fx.hwc.toTensor);
    const gray = new T.ToTensor().call({ data: Uint8Array.of(0, 255), width: 2, height: 1, channels: 1 });
    expect(gray.shape).toEqual([1, 1, 2]);
    expect(gray.tolist()).toEqual([[[0, 1]]]);
    const f = new T.ToTensor().call(torch.tensor([[[0.5, 2]]], { dtype: 'float64' }));
    expect(f.dtype).toBe('float64');
    expect(f.shape).toEqual([2, 1, 1]);
    expect(f.tolist()).toEqual([[[0.5]], [[2]]]);
  });

  it('refuses what it cannot read', () => {
    const t = new T.ToTensor();
    expect(() => t.call(torch.zeros([2]) as never)).toThrow(/ToTensor: pic should be 2 or 3 dimensional.*\[2\]/);
    expect(() => t.call([1, 2] as never)).toThrow(/ToTensor: pic should be a Tensor .* got an array/);
    expect(() => t.call({ data: new Uint8Array(5), width: 2, height: 2 })).toThrow(/holds 5 values, not width \* height \* channels/);
    expect(() => t.call({ data: new Uint8Array(4), width: 0, height: 2 })).toThrow(/width and height must be positive integers/);
  });
});

describe('Normalize', () => {
  it('subtracts the mean and divides by the std per channel, as torchvision', () => {
    const img = new T.ToTensor().call(bytes(fx.hwc.bytes, fx.hwc.shape));
    const before = flat(img);
    const out = new T.Normalize(fx.hwc.mean, fx.hwc.std).call(img);
    expect(flat(out)).toEqual(fx.hwc.normalized);
    expect(flat(img)).toEqual(before); // a copy
    const inplace = new T.Normalize(fx.hwc.mean, fx.hwc.std, { inplace: true }).call(img);
    expect(inplace).toBe(img);
    expect(flat(img)).toEqual(fx.hwc.normalized);
    // One value for every channel, and a batch [N, C, H, W].
    const batch = torch.ones([2, 3, 1, 1]);
    expect(new T.Normalize(0.5, [0.25]).call(batch).tolist()).toEqual(Array(2).fill(Array(3).fill([[2]])));
    expect(new T.Normalize([0.5], [2], true).inplace).toBe(true);
  });

  it('refuses with torchvision messages', () => {
    const n = new T.Normalize([0.5], [0.5]);
    expect(() => n.call(torch.zeros([1, 2, 2], { dtype: 'uint8' }))).toThrow('Normalize: Input tensor should be a float tensor. Got uint8');
    expect(() => n.call(torch.zeros([2, 2]))).toThrow(
      /Expected tensor to be a tensor image of size \(\.\.\., C, H, W\). Got tensor.size\(\) = \[2, 2\]/,
    );
    expect(() => new T.Normalize([0.5], [0]).call(torch.zeros([1, 1, 1]))).toThrow(
      'Normalize: std evaluated to zero after conversion to float32, leading to division by zero.',
    );
    expect(() => new T.Normalize([0.5, 0.5], [1, 1]).call(torch.zeros([3, 1, 1]))).toThrow(
      /mean has 2 values but the image has 3 channels/,
    );
    expect(() => new T.Normalize([], [1])).toThrow(/mean must be a number or a non-empty array/);
    expect(() => new T.Normalize([0], [1], { in_place: true } as never)).toThrow(/unknown option 'in_place'/);
    expect(() => n.call(5 as never)).toThrow(/Normalize: img should be a Tensor/);
  });
});

describe('Compose and Lambda', () => {
  it('applies transforms in order, accepting plain functions', () => {
    const pipeline = new T.Compose([
      new T.ToTensor(),
      new T.Normalize([0.1307], [0.3081]),
      (x: Tensor) => x.flatten(),
      new T.Lambda((x: Tensor) => x.shape),
    ]);
    expect(pipeline.call(bytes(Array(256).fill(0), [16, 16]))).toEqual([256]);
    const mnist = new T.Compose([new T.ToTensor(), new T.Normalize([0.1307], [0.3081])]).call(
      bytes([...Array(256).keys()], [16, 16]),
    ) as Tensor;
    expect(flat(mnist)).toEqual(fx.mnistNormalized);
    expect(() => new T.Compose([5 as never])).toThrow(/Compose: transform 0 should be callable/);
    expect(() => new T.Compose('x' as never)).toThrow(/transforms must be an array/);
    expect(() => new T.Lambda(3 as never)).toThrow('Lambda: Argument lambd should be callable, got number');
  });
});

describe('ConvertImageDtype', () => {
  it('rescales between integer and float ranges as torchvision', () => {
    const f = torch.tensor(fx.floatToUint8.input);
    const u = new T.ConvertImageDtype('uint8').call(f);
    expect(u.dtype).toBe('uint8');
    expect(u.tolist()).toEqual(fx.floatToUint8.output);
    const back = new T.ConvertImageDtype('float64').call(bytes([...Array(256).keys()], [256]));
    expect(back.tolist()).toEqual(fx.uint8ToFloat64);
    expect(new T.ConvertImageDtype('float64').call(torch.tensor([0.25])).dtype).toBe('float64');
    const same = torch.zeros([1]);
    expect(new T.ConvertImageDtype('float32').call(same)).toBe(same);
    // uint8 -> int32 scales by 2^31 / 2^8, and back.
    const wide = new T.ConvertImageDtype('int32').call(bytes([0, 1, 255], [3]));
    expect(wide.tolist()).toEqual([0, 2 ** 23, 255 * 2 ** 23]);
    expect(new T.ConvertImageDtype('uint8').call(wide).tolist()).toEqual([0, 1, 255]);
    expect(() => new T.ConvertImageDtype('int32').call(torch.zeros([1]))).toThrow(
      'ConvertImageDtype: The cast from float32 to int32 cannot be performed safely.',
    );
    expect(() => new T.ConvertImageDtype('bool')).toThrow(/dtype must be a float dtype, uint8, int32 or int64/);
  });
});

describe('RandomHorizontalFlip and RandomCrop', () => {
  it('flips the last dim with probability p, following torch.manualSeed', () => {
    const img = torch.arange(6).reshape([1, 2, 3]);
    expect(new T.RandomHorizontalFlip(1).call(img).tolist()).toEqual([
      [
        [2, 1, 0],
        [5, 4, 3],
      ],
    ]);
    expect(new T.RandomHorizontalFlip(0).call(img)).toBe(img);
    torch.manualSeed(0);
    let flips = 0;
    const t = new T.RandomHorizontalFlip();
    for (let k = 0; k < 2000; k++) if (t.call(img) !== img) flips++;
    expect(Math.abs(flips - 1000)).toBeLessThan(140);
    torch.manualSeed(5);
    const a = Array.from({ length: 20 }, () => t.call(img) === img);
    torch.manualSeed(5);
    expect(Array.from({ length: 20 }, () => t.call(img) === img)).toEqual(a);
    expect(() => new T.RandomHorizontalFlip(2)).toThrow(/p must be a probability in \[0, 1\], got 2/);
  });

  it('crops a random window of the padded image', () => {
    const img = torch.arange(16).reshape([1, 4, 4]);
    torch.manualSeed(1);
    const seen = new Set<string>();
    for (let k = 0; k < 200; k++) {
      const c = new T.RandomCrop(2).call(img);
      expect(c.shape).toEqual([1, 2, 2]);
      const [[[a, b], [d, e]]] = c.tolist() as number[][][];
      // A window of the 4 x 4 grid: rows and columns stay adjacent.
      expect([b - a, d - a, e - a]).toEqual([1, 4, 5]);
      seen.add(`${a}`);
    }
    expect(seen.size).toBe(9); // every corner of the 3 x 3 choices
    expect(new T.RandomCrop([4, 4]).call(img)).toBe(img);
    const padded = new T.RandomCrop(6, { padding: 1, fill: -1 }).call(img);
    expect(padded.shape).toEqual([1, 6, 6]);
    expect((padded.tolist() as number[][][])[0][0]).toEqual(Array(6).fill(-1));
    expect((padded.tolist() as number[][][])[0][1]).toEqual([-1, 0, 1, 2, 3, -1]);
    const grown = new T.RandomCrop([5, 6], { padIfNeeded: true }).call(img);
    expect(grown.shape).toEqual([1, 5, 6]);
    expect(grown.sum().item()).toBe(120);
    expect(() => new T.RandomCrop(5).call(img)).toThrow('RandomCrop: Required crop size [5, 5] is larger than input image size [4, 4]');
    expect(() => new T.RandomCrop(0)).toThrow(/size must be a positive integer or \[h, w\]/);
    expect(() => new T.RandomCrop(2, { paddingMode: 'reflect' } as never)).toThrow(/unknown option 'paddingMode'/);
    expect(() => new T.RandomCrop(2, { padding: [1, 2, 3] })).toThrow(/padding must be a non-negative integer or an array of 1, 2 or 4/);
  });
});

describe('torch.transforms', () => {
  it('is exported beside torch.datasets', () => {
    expect(torch.transforms.Normalize).toBe(T.Normalize);
    expect(Object.keys(torch.transforms).sort()).toEqual(
      ['Compose', 'ConvertImageDtype', 'Lambda', 'Normalize', 'RandomCrop', 'RandomHorizontalFlip', 'ToTensor'].sort(),
    );
    expect(torch.utils.data.WeightedRandomSampler).toBeDefined();
    expect(torch.utils.data.randomSplit).toBeDefined();
  });
});
