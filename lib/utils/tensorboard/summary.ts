// The Summary protobufs SummaryWriter writes, built from a caller's values
// as torch.utils.tensorboard.summary (PyTorch 1.13) builds them: scalar,
// histogram (numpy's np.histogram, then TensorBoard's trimming), image
// (convert_to_HWC, make_grid, the uint8 scaling, PNG), text and hparams.
import { Tensor } from '../../tensor.js';
import { fmtShape, fmtValue, isOptions } from '../../util/args.js';
import { encodePng } from '../plot.js';
import {
  DataType,
  HParamType,
  SessionStatus,
  encodeHParamsPluginData,
  type HistogramProto,
  type HParamInfo,
  type StructValue,
  type Summary,
} from './messages.js';

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** A tensor's values as float64, flat in row-major order, off the graph and on the CPU. */
function float64Values(t: Tensor): Float64Array {
  const d = t.detach();
  return (d.dtype === 'float64' ? d : d.to('float64')).toTypedArray() as Float64Array;
}

/**
 * A scalar's value as Python's float(make_np(v).squeeze()): a number (a
 * boolean is 1 or 0), or a Tensor of one element (any shape). NaN and
 * infinities pass, as in PyTorch (a loss that diverged is worth seeing).
 */
export function scalarValue(owner: string, v: unknown, what = 'scalarValue'): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return Number(v);
  if (v instanceof Tensor) {
    if (v.numel() !== 1)
      throw new RangeError(`${owner}: ${what} must be a number or a one-element Tensor, got a Tensor of shape ${fmtShape(v.shape)}`);
    return Number(v.item());
  }
  throw new TypeError(`${owner}: ${what} must be a number or a one-element Tensor, got ${fmtValue(v)}`);
}

/** summary.scalar: simple_value (a float32), or with newStyle a rank-0 float (or double) tensor for the scalars plugin. */
export function scalar(tag: string, value: number, newStyle = false, doublePrecision = false): Summary {
  if (!newStyle) return { value: [{ tag, simpleValue: value }] };
  const tensor = doublePrecision ? { dtype: DataType.DT_DOUBLE, doubleVal: [value] } : { dtype: DataType.DT_FLOAT, floatVal: [value] };
  return { value: [{ tag, tensor, metadata: { pluginData: { pluginName: 'scalars', content: EMPTY } } }] };
}

// ---- histogram ---------------------------------------------------------------------------

let defaultBinsCache: number[] | null = null;
/**
 * SummaryWriter's 'tensorflow' bins: +-1e-12 * 1.1^k up to 1e20, and 0 (the
 * bucket limits of TensorFlow's histogram.cc), computed by the same
 * multiplications so the edges are the same doubles.
 */
export function defaultBins(): number[] {
  if (defaultBinsCache === null) {
    const pos: number[] = [];
    for (let v = 1e-12; v < 1e20; v *= 1.1) pos.push(v);
    defaultBinsCache = [...pos.map((v) => -v).reverse(), 0, ...pos];
  }
  return defaultBinsCache;
}

/** The `bins` argument of addHistogram: 'tensorflow', a number of equal bins, or the bin edges. */
export type Bins = 'tensorflow' | number | readonly number[];

/** numpy's pairwise summation (what np.sum does for a contiguous float64 array), so that sums agree to the last bit. */
function pairwiseSum(a: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[start + i];
    return s;
  }
  if (n <= 128) {
    const r = [a[start], a[start + 1], a[start + 2], a[start + 3], a[start + 4], a[start + 5], a[start + 6], a[start + 7]];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    let s = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) s += a[start + i];
    return s;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwiseSum(a, start, half) + pairwiseSum(a, start + half, n - half);
}

/** The least and greatest value, both NaN when one is NaN (as numpy's min and max). */
function minMax(v: Float64Array): [number, number] {
  let min = v[0],
    max = v[0];
  for (const x of v) {
    if (Number.isNaN(x)) return [NaN, NaN];
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return [min, max];
}

/** np.histogram's counts for n equal bins over the data's range (numpy's fast path, index for index). */
function equalBins(owner: string, v: Float64Array, n: number): { counts: number[]; edges: number[] } {
  let [first, last] = minMax(v);
  if (!Number.isFinite(first) || !Number.isFinite(last))
    throw new RangeError(`${owner}: bins=${n} needs the values' range, and the range [${first}, ${last}] is not finite`);
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  // np.linspace(first, last, n + 1): i * step + first, the last edge exactly `last`.
  const delta = last - first,
    step = delta / n;
  const edges: number[] = [];
  for (let i = 0; i < n; i++) edges.push(step === 0 ? (i / n) * delta + first : i * step + first);
  edges.push(last);
  const counts = new Array<number>(n).fill(0);
  for (const x of v) {
    if (!(x >= first && x <= last)) continue;
    let i = Math.trunc(((x - first) / delta) * n);
    if (i === n) i -= 1;
    if (x < edges[i]) i -= 1;
    else if (i !== n - 1 && x >= edges[i + 1]) i += 1;
    counts[i]++;
  }
  return { counts, edges };
}

/**
 * np.histogram's counts for given edges: bin i holds edges[i] <= x <
 * edges[i+1], the last bin also its right edge; values outside the edges and
 * NaN are not counted.
 */
function edgeBins(v: Float64Array, edgeList: readonly number[]): number[] {
  const edges = Float64Array.from(edgeList);
  const n = edges.length - 1,
    first = edges[0],
    last = edges[n];
  const counts = new Float64Array(n);
  for (let k = 0; k < v.length; k++) {
    const x = v[k];
    if (!(x >= first && x <= last)) continue;
    // The last edge <= x, by binary search.
    let lo = 0,
      hi = n;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (edges[mid] <= x) lo = mid;
      else hi = mid - 1;
    }
    counts[lo < n ? lo : n - 1]++;
  }
  return Array.from(counts);
}

/**
 * summary.make_histogram: np.histogram of the values, bins merged down to
 * maxBins, then only the bins from the first to the last non-empty one kept
 * with an empty bin on their left, since TensorBoard stores right edges only.
 */
export function makeHistogram(owner: string, values: Float64Array, bins: Bins, maxBins: number | null): HistogramProto {
  if (values.length === 0) throw new RangeError(`${owner}: values has no element`);
  let counts: number[], limits: number[];
  if (typeof bins === 'number') {
    if (!Number.isInteger(bins) || bins < 1)
      throw new RangeError(`${owner}: bins must be a positive integer when a number, got ${fmtValue(bins)}`);
    ({ counts, edges: limits } = equalBins(owner, values, bins));
  } else {
    const edges = bins === 'tensorflow' ? defaultBins() : bins;
    if (edges.length < 2) throw new RangeError(`${owner}: bins as edges needs at least 2 of them, got ${fmtValue(edges)}`);
    for (let i = 1; i < edges.length; i++)
      if (!(edges[i - 1] <= edges[i]))
        throw new RangeError(`${owner}: bins must increase monotonically, when an array; got ${fmtValue(edges)}`);
    counts = edgeBins(values, edges);
    limits = [...edges];
  }
  if (maxBins !== null && counts.length > maxBins) {
    const sub = Math.floor(counts.length / maxBins);
    const merged: number[] = [],
      mergedLimits: number[] = [];
    for (let i = 0; i < counts.length; i += sub) {
      let s = 0;
      for (let j = i; j < i + sub && j < counts.length; j++) s += counts[j];
      merged.push(s);
      mergedLimits.push(limits[i]);
    }
    mergedLimits.push(limits[limits.length - 1]);
    counts = merged;
    limits = mergedLimits;
  }
  const firstFull = counts.findIndex((c) => c > 0);
  if (firstFull < 0)
    throw new RangeError(
      `${owner}: no value falls inside the bins [${limits[0]}, ${limits[limits.length - 1]}], so the histogram is empty`,
    );
  let lastFull = counts.length - 1;
  while (counts[lastFull] === 0) lastFull--;
  const end = lastFull + 1;
  const bucket = firstFull > 0 ? counts.slice(firstFull - 1, end) : [0, ...counts.slice(0, end)];
  const bucketLimit = limits.slice(firstFull, end + 1);

  const [min, max] = minMax(values);
  const squares = values.map((x) => x * x);
  return {
    min,
    max,
    num: values.length,
    sum: pairwiseSum(values, 0, values.length),
    // numpy takes values.dot(values) from BLAS, whose order of additions is
    // its own: this sum of squares agrees to rounding, not always to the bit.
    sumSquares: pairwiseSum(squares, 0, squares.length),
    bucketLimit,
    bucket,
  };
}

/** addHistogram's values as float64: a Tensor of any dtype, or an array of numbers. */
export function histogramValues(owner: string, values: unknown): Float64Array {
  if (values instanceof Tensor) return float64Values(values);
  if (Array.isArray(values) && values.every((x) => typeof x === 'number')) return Float64Array.from(values);
  if (
    ArrayBuffer.isView(values) &&
    !(values instanceof DataView) &&
    !(values instanceof BigInt64Array) &&
    !(values instanceof BigUint64Array)
  )
    return Float64Array.from(values as unknown as ArrayLike<number>);
  throw new TypeError(`${owner}: values must be a Tensor or an array of numbers, got ${fmtValue(values)}`);
}

// ---- image -------------------------------------------------------------------------------

/**
 * summary.image: the tensor laid out as HWC by `dataformats` (convert_to_HWC:
 * a grey channel repeated into RGB, NCHW images tiled 8 to a row as
 * make_grid), scaled to uint8 (float values times 255 in float32, uint8 as
 * they are), and PNG-encoded. Values outside [0, 255] after scaling are
 * clipped (PyTorch 1.13's cast wraps them; later versions clip), NaN is 0.
 */
export function image(owner: string, tag: string, img: unknown, dataformats: string): Summary {
  if (!(img instanceof Tensor)) throw new TypeError(`${owner}: imgTensor must be a Tensor, got ${fmtValue(img)}`);
  const df = dataformats.toUpperCase();
  const shape = img.shape;
  if (new Set(df).size !== df.length) throw new RangeError(`${owner}: dataformats ${fmtValue(dataformats)} names a dimension twice`);
  if (df.length !== shape.length)
    throw new RangeError(
      `${owner}: dataformats ${fmtValue(dataformats)} has ${df.length} letters but the image has shape ${fmtShape(shape)}`,
    );
  const want = { 4: 'NCHW', 3: 'CHW', 2: 'HW' }[df.length];
  if (want === undefined || [...want].some((c) => !df.includes(c)))
    throw new RangeError(
      `${owner}: dataformats must be a permutation of NCHW, CHW or HW (one letter a dimension), got ${fmtValue(dataformats)}`,
    );
  const dim = (c: string): number => (df.includes(c) ? shape[df.indexOf(c)] : 1);
  const [N, C, H, W] = [dim('N'), dim('C'), dim('H'), dim('W')];
  if (H === 0 || W === 0 || N === 0) throw new RangeError(`${owner}: the image of shape ${fmtShape(shape)} is empty`);
  if (C !== 1 && C !== 3 && C !== 4)
    throw new RangeError(
      `${owner}: an image has 1, 3 or 4 channels (grey, RGB, RGBA), got ${C} in shape ${fmtShape(shape)} (dataformats ${df})`,
    );
  if (C === 4)
    throw new RangeError(`${owner}: RGBA images (4 channels) are not supported yet: give 1 or 3 channels, got shape ${fmtShape(shape)}`);
  // Row-major strides of the caller's layout, looked up by letter.
  const strides = new Map<string, number>();
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides.set(df[i], s);
    s *= shape[i];
  }
  const st = (c: string): number => strides.get(c) ?? 0;
  const [sN, sC, sH, sW] = [st('N'), st('C'), st('H'), st('W')];

  const raw = img.dtype === 'uint8' ? (img.detach().toTypedArray() as Uint8Array) : float64Values(img);
  const toByte =
    img.dtype === 'uint8'
      ? (x: number) => x
      : (x: number) => {
          const f = Math.fround(Math.fround(x) * 255);
          return f > 255 ? 255 : f >= 0 ? Math.trunc(f) : 0;
        };
  // make_grid: N images tiled left to right, top to bottom, 8 to a row, on black.
  const cols = Math.min(N, 8),
    rows = Math.ceil(N / cols);
  const width = W * cols,
    height = H * rows,
    channels = C === 1 ? 3 : C;
  const pixels = new Uint8Array(width * height * channels);
  for (let n = 0; n < N; n++) {
    const x0 = (n % cols) * W,
      y0 = Math.floor(n / cols) * H;
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++) {
        const out = ((y0 + h) * width + x0 + w) * channels;
        const at = n * sN + h * sH + w * sW;
        for (let c = 0; c < channels; c++) pixels[out + c] = toByte(raw[at + (C === 1 ? 0 : c * sC)]);
      }
  }
  const png = encodePng(width, height, pixels);
  return {
    value: [
      { tag, image: { height, width, colorspace: channels, encodedImageString: new Uint8Array(png.buffer, png.byteOffset, png.length) } },
    ],
  };
}

// ---- text --------------------------------------------------------------------------------

/** summary.text: the text plugin's layout, a one-element DT_STRING tensor under tag + '/text_summary'. */
export function text(tag: string, s: string): Summary {
  return {
    value: [
      {
        tag: `${tag}/text_summary`,
        tensor: { dtype: DataType.DT_STRING, tensorShape: { dim: [{ size: 1 }] }, stringVal: [utf8.encode(s)] },
        // TextPluginData(version=0) serialises to no bytes.
        metadata: { pluginData: { pluginName: 'text', content: EMPTY } },
      },
    ],
  };
}

// ---- hparams -----------------------------------------------------------------------------

/** A dict argument (a plain object or a Map with string keys) as entries, in order. */
export function dictEntries(owner: string, name: string, v: unknown): [string, unknown][] {
  if (v instanceof Map) {
    for (const k of v.keys())
      if (typeof k !== 'string') throw new TypeError(`${owner}: ${name}'s keys must be strings, got ${fmtValue(k)}`);
    return [...(v as Map<string, unknown>).entries()];
  }
  if (!isOptions(v)) throw new TypeError(`${owner}: ${name} must be an object (a dict of name: value), got ${fmtValue(v)}`);
  return Object.entries(v);
}

const HPARAMS = 'hparams';
const pluginSummary = (tag: string, content: Uint8Array): Summary => ({
  value: [{ tag, metadata: { pluginData: { pluginName: HPARAMS, content } } }],
});

/**
 * summary.hparams: the experiment, session_start_info and session_end_info
 * summaries of the hparams plugin (tags '_hparams_/experiment', ...). As in
 * PyTorch, where a Python bool is an int, a boolean is the number 1 or 0
 * (DATA_TYPE_FLOAT64); a Tensor gives its first element; null and undefined
 * values are left out.
 */
export function hparams(
  owner: string,
  hparamDict: [string, unknown][],
  metricDict: [string, unknown][],
  domainDiscrete: [string, unknown][],
): [Summary, Summary, Summary] {
  const given = new Map(hparamDict);
  const kind = (v: unknown): string => (v instanceof Tensor ? 'Tensor' : typeof v === 'boolean' ? 'boolean' : typeof v);
  const domains = new Map<string, unknown[]>();
  for (const [k, d] of domainDiscrete) {
    if (!given.has(k) || !Array.isArray(d) || !d.every((x) => kind(x) === kind(given.get(k))))
      throw new TypeError(
        `${owner}: hparamDomainDiscrete[${JSON.stringify(k)}] must be an array of values of the type of hparamDict[${JSON.stringify(k)}]`,
      );
    domains.set(k, d);
  }
  const infos: HParamInfo[] = [];
  const start: [string, StructValue][] = [];
  for (const [k, v] of hparamDict) {
    if (v === null || v === undefined) continue;
    const domain = domains.get(k);
    if (typeof v === 'number' || typeof v === 'boolean') {
      start.push([k, { numberValue: Number(v) }]);
      const info: HParamInfo = { name: k, type: HParamType.DATA_TYPE_FLOAT64 };
      if (domain) info.domainDiscrete = domain.map((d) => ({ numberValue: Number(d) }));
      infos.push(info);
    } else if (typeof v === 'string') {
      start.push([k, { stringValue: v }]);
      const info: HParamInfo = { name: k, type: HParamType.DATA_TYPE_STRING };
      if (domain) info.domainDiscrete = domain.map((d) => ({ stringValue: d as string }));
      infos.push(info);
    } else if (v instanceof Tensor) {
      if (v.numel() === 0) throw new RangeError(`${owner}: hparamDict[${JSON.stringify(k)}] is an empty Tensor`);
      start.push([k, { numberValue: float64Values(v)[0] }]);
      infos.push({ name: k, type: HParamType.DATA_TYPE_FLOAT64 });
    } else {
      throw new TypeError(`${owner}: hparamDict[${JSON.stringify(k)}] must be a number, string, boolean or Tensor, got ${fmtValue(v)}`);
    }
  }
  const version = 0;
  const ssi = pluginSummary('_hparams_/session_start_info', encodeHParamsPluginData({ version, sessionStartInfo: { hparams: start } }));
  const metricInfos = metricDict.map(([k]) => ({ name: { group: '', tag: k } }));
  const exp = pluginSummary('_hparams_/experiment', encodeHParamsPluginData({ version, experiment: { hparamInfos: infos, metricInfos } }));
  const sei = pluginSummary(
    '_hparams_/session_end_info',
    encodeHParamsPluginData({ version, sessionEndInfo: { status: SessionStatus.STATUS_SUCCESS } }),
  );
  return [exp, ssi, sei];
}
