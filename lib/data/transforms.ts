// torchvision.transforms, the part a dataset pipeline needs: Compose,
// ToTensor, Normalize, Lambda, ConvertImageDtype, RandomHorizontalFlip and
// RandomCrop, on tensors laid out as torchvision's ([..., C, H, W] after
// ToTensor). A transform is called with t.call(x) (or t.forward(x)), as
// an nn.Module; anywhere a transform is taken, a plain function is too.
//
// A worker thread cannot receive functions, so the built-in transforms
// describe themselves as data (toSpec) and are rebuilt from it
// (transformFromSpec); a Lambda or a plain function cannot be.
import { Tensor } from '../tensor.js';
import { fromTypedArray, full, rand, randint, tensor } from '../ops/creation.js';
import { cat } from '../ops/join.js';
import { isFloating, type DType } from '../dtype.js';
import { describe } from './dataset.js';

/** A transform: a built-in one, anything with call(x), or a plain function. */
export type TransformLike<I = never, O = unknown> = ((x: I) => O) | { call(x: I): O };

/** A built-in transform described as structured-cloneable data. */
export interface TransformSpec {
  name: string;
  args: unknown[];
}

/** Applies a transform given as a function or as an object with call(). */
export function applyTransform(t: TransformLike, x: unknown): unknown {
  const f = t as TransformLike<unknown, unknown>;
  return typeof f === 'function' ? f(x) : f.call(x);
}

/** Checks that `t` can be applied (a function or an object with a call method). */
export function checkTransform(t: unknown, who: string): TransformLike {
  if (typeof t === 'function') return t as TransformLike;
  if (t !== null && typeof t === 'object' && typeof (t as { call?: unknown }).call === 'function') return t as TransformLike;
  throw new TypeError(`${who} should be callable (a function or a transform with call(x)), got ${describe(t)}`);
}

/** The base of the built-in transforms. */
export abstract class Transform<I = unknown, O = unknown> {
  /** Applies the transform to x (PyTorch's __call__ / forward); call(x) is the same. */
  abstract forward(x: I): O;
  /** t.call(x) is t.forward(x), as for modules: the closest JavaScript gets to t(x). */
  call(x: I): O {
    return this.forward(x);
  }
  /** How a worker thread rebuilds this transform; null when it cannot (a Lambda). */
  abstract toSpec(): TransformSpec | null;
}

function isTensor(x: unknown, who: string): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${who}: img should be a Tensor, got ${describe(x)}`);
  return x;
}

/** transforms.Compose: the transforms one after another. */
export class Compose extends Transform<never, unknown> {
  readonly transforms: TransformLike[];
  constructor(transforms: TransformLike[]) {
    super();
    if (!Array.isArray(transforms)) throw new TypeError(`Compose: transforms must be an array, got ${describe(transforms)}`);
    this.transforms = transforms.map((t, i) => checkTransform(t, `Compose: transform ${i}`));
  }
  forward(x: unknown): unknown {
    for (const t of this.transforms) x = applyTransform(t, x);
    return x;
  }
  override call(x: unknown): unknown {
    return this.forward(x);
  }
  toSpec(): TransformSpec | null {
    const specs = this.transforms.map((t) => (t instanceof Transform ? t.toSpec() : null));
    return specs.every((s) => s !== null) ? { name: 'Compose', args: [specs] } : null;
  }
}

/** transforms.Lambda: a function as a transform. */
export class Lambda<I = never, O = unknown> extends Transform<I, O> {
  readonly lambd: (x: I) => O;
  constructor(lambd: (x: I) => O) {
    super();
    if (typeof lambd !== 'function') throw new TypeError(`Lambda: Argument lambd should be callable, got ${describe(lambd)}`);
    this.lambd = lambd;
  }
  forward(x: I): O {
    return this.lambd(x);
  }
  toSpec(): null {
    return null;
  }
}

/** An image as bytes or values with its size, as a canvas ImageData or a decoded PNG holds it. */
export interface ImageLike {
  data: Uint8Array | Uint8ClampedArray | Float32Array | Float64Array;
  width: number;
  height: number;
  /** Channels per pixel (default: data.length / (width * height), as RGBA for ImageData). */
  channels?: number;
}

/**
 * transforms.ToTensor: an image H x W or H x W x C (a Tensor, as
 * torchvision's ndarray, or an ImageLike) to a C x H x W tensor; uint8
 * values become float32 in [0, 1] (divided by 255), other dtypes are kept.
 */
export class ToTensor extends Transform<Tensor | ImageLike, Tensor> {
  forward(pic: Tensor | ImageLike): Tensor {
    let img: Tensor;
    if (pic instanceof Tensor) {
      if (pic.ndim !== 2 && pic.ndim !== 3)
        throw new RangeError(
          `ToTensor: pic should be 2 or 3 dimensional (H x W or H x W x C), got ${pic.ndim} dimensions [${pic.shape.join(', ')}]`,
        );
      img = pic.ndim === 2 ? pic.unsqueeze(0) : pic.permute([2, 0, 1]);
    } else if (pic !== null && typeof pic === 'object' && ArrayBuffer.isView((pic as ImageLike).data)) {
      const { data, width, height } = pic;
      if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0)
        throw new RangeError(`ToTensor: the image's width and height must be positive integers, got ${String(width)} x ${String(height)}`);
      const channels = pic.channels ?? data.length / (width * height);
      if (!Number.isInteger(channels) || channels <= 0 || data.length !== width * height * channels)
        throw new RangeError(
          `ToTensor: the image data holds ${data.length} values, not width * height * channels (${width} x ${height} x ${String(pic.channels ?? '?')})`,
        );
      const values = data instanceof Uint8ClampedArray ? new Uint8Array(data) : data.slice();
      img = fromTypedArray(values, [height, width, channels]).permute([2, 0, 1]);
    } else {
      throw new TypeError(
        `ToTensor: pic should be a Tensor (H x W or H x W x C) or an image { data, width, height }, got ${describe(pic)}`,
      );
    }
    img = img.contiguous();
    return img.dtype === 'uint8' ? img.to('float32').div(255) : img;
  }
  toSpec(): TransformSpec {
    return { name: 'ToTensor', args: [] };
  }
}

function numberList(v: unknown, who: string, name: string): number[] {
  const list = typeof v === 'number' ? [v] : Array.isArray(v) || ArrayBuffer.isView(v) ? Array.from(v as ArrayLike<number>) : null;
  if (list === null || list.length === 0 || list.some((x) => typeof x !== 'number' || !Number.isFinite(x)))
    throw new TypeError(`${who}: ${name} must be a number or a non-empty array of numbers, got ${describe(v)}`);
  return list;
}

/**
 * transforms.Normalize: (x - mean[c]) / std[c] per channel c of a float
 * tensor image [..., C, H, W]; a copy unless inplace.
 */
export class Normalize extends Transform<Tensor, Tensor> {
  readonly mean: number[];
  readonly std: number[];
  readonly inplace: boolean;
  constructor(mean: number | number[], std: number | number[], opts?: { inplace?: boolean } | boolean) {
    super();
    let inplace: unknown = false;
    if (typeof opts === 'boolean') inplace = opts;
    else if (opts !== undefined && opts !== null) {
      if (typeof opts !== 'object') throw new TypeError(`Normalize: options must be { inplace }, got ${describe(opts)}`);
      for (const k of Object.keys(opts))
        if (k !== 'inplace') throw new TypeError(`Normalize: unknown option '${k}'; known options: inplace`);
      inplace = opts.inplace ?? false;
    }
    if (typeof inplace !== 'boolean') throw new TypeError(`Normalize: inplace must be a boolean, got ${describe(inplace)}`);
    this.mean = numberList(mean, 'Normalize', 'mean');
    this.std = numberList(std, 'Normalize', 'std');
    this.inplace = inplace;
  }
  forward(x: Tensor): Tensor {
    const t = isTensor(x, 'Normalize');
    if (!isFloating(t.dtype)) throw new TypeError(`Normalize: Input tensor should be a float tensor. Got ${t.dtype}`);
    if (t.ndim < 3)
      throw new RangeError(
        `Normalize: Expected tensor to be a tensor image of size (..., C, H, W). Got tensor.size() = [${t.shape.join(', ')}]`,
      );
    // torchvision converts mean and std to the image's dtype first, so the check and the arithmetic see those values.
    const mean = tensor(this.mean, { dtype: t.dtype });
    const std = tensor(this.std, { dtype: t.dtype });
    if (std.eq(0).any().item())
      throw new RangeError(`Normalize: std evaluated to zero after conversion to ${t.dtype}, leading to division by zero.`);
    const c = t.shape[t.ndim - 3];
    for (const [name, v] of [
      ['mean', this.mean],
      ['std', this.std],
    ] as const)
      if (v.length !== 1 && v.length !== c)
        throw new RangeError(`Normalize: ${name} has ${v.length} values but the image has ${c} channels (shape [${t.shape.join(', ')}])`);
    const m = mean.view([-1, 1, 1]);
    const s = std.view([-1, 1, 1]);
    return this.inplace ? t.sub_(m).div_(s) : t.sub(m).div(s);
  }
  toSpec(): TransformSpec {
    return { name: 'Normalize', args: [this.mean, this.std, { inplace: this.inplace }] };
  }
}

const FLOATS = new Set<DType>(['float32', 'float64', 'float16', 'bfloat16']);
const INT_MAX: Partial<Record<DType, number>> = { uint8: 255, int32: 2 ** 31 - 1, int64: 2 ** 63 - 1 };

/**
 * transforms.ConvertImageDtype: an image to another dtype with its values
 * rescaled: integers map 0..max to floats 0..1 and back, as torchvision's
 * convert_image_dtype.
 */
export class ConvertImageDtype extends Transform<Tensor, Tensor> {
  constructor(readonly dtype: DType) {
    super();
    if (!FLOATS.has(dtype) && INT_MAX[dtype] === undefined)
      throw new TypeError(`ConvertImageDtype: dtype must be a float dtype, uint8, int32 or int64, got ${String(dtype)}`);
  }
  forward(x: Tensor): Tensor {
    const image = isTensor(x, 'ConvertImageDtype');
    const to = this.dtype;
    const from = image.dtype;
    if (from === to) return image;
    if (FLOATS.has(from)) {
      if (FLOATS.has(to)) return image.to(to);
      // Casting to integers above 2^24 (2^53) is not exact in float32 (float64), as torchvision refuses.
      if ((from === 'float32' && (to === 'int32' || to === 'int64')) || (from === 'float64' && to === 'int64'))
        throw new TypeError(`ConvertImageDtype: The cast from ${from} to ${to} cannot be performed safely.`);
      // 1 - eps so that 1.0 maps to max rather than past it.
      return image.mul(INT_MAX[to]! + 1 - 1e-3).to(to);
    }
    const inMax = INT_MAX[from];
    if (inMax === undefined) throw new TypeError(`ConvertImageDtype: cannot convert an image of dtype ${from}`);
    if (FLOATS.has(to)) return image.to(to).div(inMax);
    const outMax = INT_MAX[to]!;
    // Integer to integer: scale by the ratio of the ranges' sizes (powers of two).
    const ratio = (outMax + 1) / (inMax + 1);
    if (ratio < 1) return image.div(Math.round(1 / ratio), { roundingMode: 'floor' }).to(to);
    return image.to(to).mul(Math.round(ratio));
  }
  toSpec(): TransformSpec {
    return { name: 'ConvertImageDtype', args: [this.dtype] };
  }
}

function probability(p: unknown, who: string): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`${who}: p must be a probability in [0, 1], got ${String(p)}`);
  return p;
}

/** transforms.RandomHorizontalFlip: flips the last dim (W) with probability p (default 0.5), drawing from the global stream. */
export class RandomHorizontalFlip extends Transform<Tensor, Tensor> {
  readonly p: number;
  constructor(p: number | { p?: number } = 0.5) {
    super();
    this.p = probability(typeof p === 'object' && p !== null ? (p.p ?? 0.5) : p, 'RandomHorizontalFlip');
  }
  forward(x: Tensor): Tensor {
    const img = isTensor(x, 'RandomHorizontalFlip');
    // torchvision: torch.rand(1) < p.
    return (rand([1]).item() as number) < this.p ? img.flip([-1]) : img;
  }
  toSpec(): TransformSpec {
    return { name: 'RandomHorizontalFlip', args: [this.p] };
  }
}

export interface RandomCropOptions {
  /** Border added before cropping: n (all sides), [lr, tb] or [left, top, right, bottom]. */
  padding?: number | number[];
  /** Pad the image to the crop size first if it is smaller (default false). */
  padIfNeeded?: boolean;
  /** The value of padded pixels (default 0). */
  fill?: number;
}

function pairOf(size: unknown, who: string): [number, number] {
  const v = typeof size === 'number' ? [size, size] : Array.isArray(size) && size.length === 1 ? [size[0], size[0]] : size;
  if (!Array.isArray(v) || v.length !== 2 || v.some((n) => !Number.isInteger(n) || n <= 0))
    throw new RangeError(`${who}: size must be a positive integer or [h, w], got ${describe(size)}`);
  return [v[0], v[1]];
}

/** A tensor image [..., H, W] with `fill` added around it: [left, top, right, bottom]. */
function padImage(img: Tensor, [l, t, r, b]: number[], fill: number): Tensor {
  const band = (shape: number[]) => full(shape, fill, { dtype: img.dtype, device: img.device });
  const lead = img.shape.slice(0, -2);
  const h = img.shape[img.ndim - 2];
  let w = img.shape[img.ndim - 1];
  const parts = [l > 0 ? band([...lead, h, l]) : null, img, r > 0 ? band([...lead, h, r]) : null].filter((x): x is Tensor => x !== null);
  img = parts.length > 1 ? cat(parts, -1) : img;
  w += l + r;
  const rows = [t > 0 ? band([...lead, t, w]) : null, img, b > 0 ? band([...lead, b, w]) : null].filter((x): x is Tensor => x !== null);
  return rows.length > 1 ? cat(rows, -2) : img;
}

/**
 * transforms.RandomCrop: a random size[0] x size[1] window of a tensor
 * image [..., H, W], after optional constant padding; the corner is drawn
 * from the global stream, as torchvision's get_params.
 */
export class RandomCrop extends Transform<Tensor, Tensor> {
  readonly size: [number, number];
  readonly padding: number[] | null;
  readonly padIfNeeded: boolean;
  readonly fill: number;
  constructor(size: number | number[], opts?: RandomCropOptions) {
    super();
    this.size = pairOf(size, 'RandomCrop');
    const o = (opts ?? {}) as Record<string, unknown>;
    if (typeof o !== 'object') throw new TypeError(`RandomCrop: options must be an object, got ${describe(opts)}`);
    for (const k of Object.keys(o))
      if (!['padding', 'padIfNeeded', 'fill'].includes(k))
        throw new TypeError(
          `RandomCrop: unknown option '${k}'; known options: padding, padIfNeeded, fill (paddingMode other than 'constant' is not supported)`,
        );
    const p = o.padding;
    if (p === undefined || p === null) this.padding = null;
    else {
      const list = typeof p === 'number' ? [p] : Array.isArray(p) ? p : null;
      if (list === null || ![1, 2, 4].includes(list.length) || list.some((n) => !Number.isInteger(n) || n < 0))
        throw new RangeError(`RandomCrop: padding must be a non-negative integer or an array of 1, 2 or 4 of them, got ${describe(p)}`);
      this.padding =
        list.length === 1 ? [list[0], list[0], list[0], list[0]] : list.length === 2 ? [list[0], list[1], list[0], list[1]] : list;
    }
    this.padIfNeeded = (o.padIfNeeded as boolean | undefined) ?? false;
    if (typeof this.padIfNeeded !== 'boolean')
      throw new TypeError(`RandomCrop: padIfNeeded must be a boolean, got ${describe(o.padIfNeeded)}`);
    this.fill = (o.fill as number | undefined) ?? 0;
    if (typeof this.fill !== 'number') throw new TypeError(`RandomCrop: fill must be a number, got ${describe(o.fill)}`);
  }
  forward(x: Tensor): Tensor {
    let img = isTensor(x, 'RandomCrop');
    if (img.ndim < 2) throw new RangeError(`RandomCrop: expected a tensor image [..., H, W], got shape [${img.shape.join(', ')}]`);
    if (this.padding) img = padImage(img, this.padding, this.fill);
    const [th, tw] = this.size;
    if (this.padIfNeeded) {
      const [h, w] = img.shape.slice(-2);
      if (w < tw) img = padImage(img, [tw - w, 0, tw - w, 0], this.fill);
      if (h < th) img = padImage(img, [0, th - h, 0, th - h], this.fill);
    }
    const [h, w] = img.shape.slice(-2);
    if (h < th || w < tw)
      throw new RangeError(`RandomCrop: Required crop size [${th}, ${tw}] is larger than input image size [${h}, ${w}]`);
    if (h === th && w === tw) return img;
    const i = randint(0, h - th + 1, [1]).item() as number;
    const j = randint(0, w - tw + 1, [1]).item() as number;
    return img.narrow(-2, i, th).narrow(-1, j, tw);
  }
  toSpec(): TransformSpec {
    return {
      name: 'RandomCrop',
      args: [this.size, { padding: this.padding ?? undefined, padIfNeeded: this.padIfNeeded, fill: this.fill }],
    };
  }
}

/** Rebuilds a built-in transform from its toSpec() description. */
export function transformFromSpec(spec: TransformSpec): Transform<never, unknown> {
  const a = spec.args;
  switch (spec.name) {
    case 'Compose':
      return new Compose((a[0] as TransformSpec[]).map(transformFromSpec));
    case 'ToTensor':
      return new ToTensor();
    case 'Normalize':
      return new Normalize(a[0] as number[], a[1] as number[], a[2] as { inplace: boolean });
    case 'ConvertImageDtype':
      return new ConvertImageDtype(a[0] as DType);
    case 'RandomHorizontalFlip':
      return new RandomHorizontalFlip(a[0] as number);
    case 'RandomCrop':
      return new RandomCrop(a[0] as number[], a[1] as RandomCropOptions);
    default:
      throw new TypeError(`transforms: no built-in transform named '${spec.name}'`);
  }
}
