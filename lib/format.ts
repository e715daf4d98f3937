// Printing as PyTorch 1.13 does (torch/_tensor_str.py): tensor([0., 4., 8., 12.]),
// tensor(63., grad_fn=<AddBackward0>), summarised with "..." when large,
// with torch.set_printoptions' options.
import type { Tensor } from './tensor.js';
import type { TypedArray } from './backend/native.js';
import * as K from './ops/kernels.js';
import { native, makeRef } from './backend/native.js';
import { checkOptions, fmtValue } from './util/args.js';
import { isFloating } from './dtype.js';
import { halfToNumber } from './util/half.js';

/** Printing options, as torch.set_printoptions (PyTorch's defaults). */
export interface PrintOptions {
  /** Digits after the point for floats (default 4). */
  precision?: number;
  /** Elements beyond which a tensor is summarised with '...' (default 1000; Infinity: never). */
  threshold?: number;
  /** Entries shown at each end of a summarised dim (default 3). */
  edgeitems?: number;
  /** Characters per line before wrapping (default 80). */
  linewidth?: number;
  /** 'default', 'short' (precision 2, edgeitems 2) or 'full' (never summarised); the other options override it. */
  profile?: 'default' | 'short' | 'full';
  /** Scientific notation always (true), never (false), or chosen from the values (null, the default). */
  sciMode?: boolean | null;
}

const opts = { precision: 4, threshold: 1000, edgeitems: 3, linewidth: 80, sciMode: null as boolean | null };

const PRINT_KEYS = ['precision', 'threshold', 'edgeitems', 'linewidth', 'profile', 'sciMode'];

/**
 * Sets how tensors print (torch.set_printoptions). As PyTorch's, sciMode
 * is reset to null (chosen from the values) when not given.
 */
export function setPrintoptions(options: PrintOptions = {}): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new TypeError(`setPrintoptions: expected an options object like { precision: 2 }, got ${fmtValue(options)}`);
  checkOptions('setPrintoptions', options, PRINT_KEYS);
  const { profile, precision, threshold, edgeitems, linewidth, sciMode } = options;
  const count = (name: string, v: unknown, min: number, inf = false): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !(Number.isInteger(v) || (inf && v === Infinity)) || v < min)
      throw new TypeError(`setPrintoptions: ${name} must be an integer >= ${min}${inf ? ' or Infinity' : ''}, got ${fmtValue(v)}`);
    return v;
  };
  // JS formats at most 100 digits after the point.
  if (typeof precision === 'number' && precision > 100)
    throw new RangeError(`setPrintoptions: precision must be at most 100, got ${precision}`);
  const values = {
    precision: count('precision', precision, 0),
    threshold: count('threshold', threshold, 0, true),
    edgeitems: count('edgeitems', edgeitems, 0),
    linewidth: count('linewidth', linewidth, 1),
  };
  if (sciMode !== undefined && sciMode !== null && typeof sciMode !== 'boolean')
    throw new TypeError(`setPrintoptions: sciMode must be a boolean or null, got ${fmtValue(sciMode)}`);
  if (profile !== undefined) {
    const p = { default: [4, 1000, 3], short: [2, 1000, 2], full: [4, Infinity, 3] }[profile as string];
    if (p === undefined)
      throw new TypeError(`setPrintoptions: profile must be one of 'default', 'short', 'full', got ${fmtValue(profile)}`);
    [opts.precision, opts.threshold, opts.edgeitems] = p;
    opts.linewidth = 80;
  }
  if (values.precision !== undefined) opts.precision = values.precision;
  if (values.threshold !== undefined) opts.threshold = values.threshold;
  if (values.edgeitems !== undefined) opts.edgeitems = values.edgeitems;
  if (values.linewidth !== undefined) opts.linewidth = values.linewidth;
  opts.sciMode = sciMode ?? null;
}

// A value as printed: JS numbers, or BigInts for int64 (exact past 2^53).
type Value = number | bigint;

interface Formatter {
  width: number;
  fmt(v: Value): string;
}

// Python's '{:.Nf}' and '{:.Ne}' round an exact tie (0.03125 to 4 places)
// to even; JS's toFixed/toExponential round it away from zero. A tie is
// recognised from the longer expansion: a double is a dyadic rational, so
// the digits past the last kept one read '5' then zeros exactly when it is
// one.
function roundedHalfEven(v: number, p: number, expo: boolean): string {
  const a = Math.abs(v);
  let s = expo ? a.toExponential(p) : a.toFixed(p);
  const more = Math.min(100, p + 30);
  if (more === p) return (v < 0 || Object.is(v, -0) ? '-' : '') + s;
  const long = expo ? a.toExponential(more) : a.toFixed(more);
  const mant = expo ? long.slice(0, long.indexOf('e')) : long;
  const dot = mant.indexOf('.');
  const keep = dot + 1 + p;
  if (/^50*$/.test(mant.slice(keep))) {
    const last = mant[p === 0 ? dot - 1 : keep - 1];
    if ((last.charCodeAt(0) - 48) % 2 === 0) {
      // Even: Python keeps the truncated digits (same exponent: no carry).
      const cut = mant.slice(0, p === 0 ? dot : keep);
      s = expo ? cut + long.slice(long.indexOf('e')) : cut;
    }
  }
  return (v < 0 || Object.is(v, -0) ? '-' : '') + s;
}

/** Python's '{:.pf}'.format(v). */
function fixedPy(v: number, p: number): string {
  if (!Number.isFinite(v)) return special(v);
  // Past 1e21 toFixed switches to exponent form; such doubles are integers.
  if (Math.abs(v) >= 1e21) return BigInt(v).toString() + (p > 0 ? '.' + '0'.repeat(p) : '');
  return roundedHalfEven(v, p, false);
}

/** Python's '{:.pe}'.format(v): the exponent signed, at least two digits. */
function sciPy(v: number, p: number): string {
  if (!Number.isFinite(v)) return special(v);
  const s = roundedHalfEven(v, p, true);
  const e = s.indexOf('e');
  const exp = Number(s.slice(e + 1));
  return `${s.slice(0, e)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function special(v: number): string {
  return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
}

// PyTorch's _Formatter: the mode and width come from the nonzero finite
// values shown; nan, inf and zeros take whatever mode those choose.
function floatFormatter(values: readonly number[]): Formatter {
  const p = opts.precision;
  let intMode = true,
    sciMode = false,
    width = 1,
    maxAbs = 0,
    minAbs = Infinity,
    any = false;
  for (const v of values) {
    if (!Number.isFinite(v) || v === 0) continue;
    any = true;
    const a = Math.abs(v);
    if (a > maxAbs) maxAbs = a;
    if (a < minAbs) minAbs = a;
    if (v !== Math.ceil(v)) intMode = false;
  }
  if (any) {
    if (intMode) sciMode = maxAbs / minAbs > 1000 || maxAbs > 1e8;
    else sciMode = maxAbs / minAbs > 1000 || maxAbs > 1e8 || minAbs < 1e-4;
    for (const v of values) {
      if (!Number.isFinite(v) || v === 0) continue;
      const len = sciMode ? sciPy(v, p).length : intMode ? fixedPy(v, 0).length + 1 : fixedPy(v, p).length;
      if (len > width) width = len;
    }
  }
  if (opts.sciMode !== null) sciMode = opts.sciMode;
  const fmt = (x: Value): string => {
    const v = Number(x);
    if (sciMode) return sciPy(v, p);
    if (intMode) return Number.isFinite(v) ? fixedPy(v, 0) + '.' : special(v);
    return fixedPy(v, p);
  };
  return { width, fmt };
}

// A loop, not Math.max(...): a summary of many dims shows 6^ndim values,
// more than a spread passes as arguments.
function widthOf(values: readonly Value[], fmt: (v: Value) => string): number {
  let w = 1;
  for (const v of values) w = Math.max(w, fmt(v).length);
  return w;
}

// The values the printout shows, in row-major order over `shown`: per dim
// the whole dim, or when summarised (a dim longer than 2 * edgeitems in a
// tensor of more than `threshold` elements) its first and last edgeitems
// entries, as PyTorch's get_summarized_data. Only those elements are read,
// so a stride-0 view of 1e12 elements prints as cheaply as a small tensor.
function shownValues(t: Tensor, shown: readonly number[], cut: readonly boolean[], edge: number): Value[] {
  const total = K.numelOf(shown);
  if (total === 0) return [];
  // Device memory: copy the corner blocks to a small host tensor first.
  const src = t.device === 'cpu' ? t : cornersOnHost(t, shown, cut, edge);
  const problem = K.storageProblem(src);
  if (problem !== null) throw new Error(`print: the tensor ${problem}`);
  const data = src._storage.data as TypedArray;
  const shape = src._shape,
    strides = src._strides,
    nd = shown.length;
  const srcCut = src === t ? cut : shown.map(() => false);
  const out = new Array<Value>(total);
  // float16 and bfloat16 hold bits (Note [Half storage]): read their values.
  const half = data instanceof Uint16Array;
  for (let k = 0; k < total; k++) {
    let rem = k,
      off = src._offset;
    for (let d = nd - 1; d >= 0; d--) {
      const i = rem % shown[d];
      rem = (rem - i) / shown[d];
      off += (srcCut[d] && i >= edge ? shape[d] - 2 * edge + i : i) * strides[d];
    }
    out[k] = half ? halfToNumber(data, off) : data[off];
  }
  return out;
}

// The 2^k corner blocks of a summarised device tensor (k summarised dims),
// copied by the addon into one contiguous host tensor of shape `shown`.
function cornersOnHost(t: Tensor, shown: readonly number[], cut: readonly boolean[], edge: number): Tensor {
  const host = K.output(shown, t.dtype, 'print', 'cpu');
  const dims = cut.flatMap((c, d) => (c ? [d] : []));
  for (let mask = 0; mask < 2 ** dims.length; mask++) {
    const blockShape = shown.slice();
    let srcOff = t._offset,
      dstOff = 0;
    dims.forEach((d, j) => {
      blockShape[d] = edge;
      if (mask & (1 << j)) {
        srcOff += (t._shape[d] - edge) * t._strides[d];
        dstOff += edge * host._strides[d];
      }
    });
    native.copy(makeRef(t._storage.data, srcOff, blockShape, t._strides), makeRef(host._storage.data, dstOff, blockShape, host._strides));
  }
  return host;
}

/** The values of t as PyTorch's _tensor_str lays them out, indented for a prefix `indent` wide. */
function tensorBody(t: Tensor, indent: number): string {
  const shape = t._shape;
  const numel = K.numelOf(shape);
  if (numel === 0) return '[]';
  const edge = opts.edgeitems;
  const summarize = numel > opts.threshold;
  const cut = shape.map((n) => summarize && n > 2 * edge);
  const shown = shape.map((n, d) => (cut[d] ? 2 * edge : n));
  const flat = shownValues(t, shown, cut, edge);
  let f: Formatter;
  if (t.dtype === 'bool') {
    const fmt = (v: Value) => (v ? 'True' : 'False');
    f = { fmt, width: widthOf(flat, fmt) };
  } else if (isFloating(t.dtype)) {
    f = floatFormatter(flat as number[]);
  } else {
    const fmt = (v: Value) => String(v);
    f = { fmt, width: widthOf(flat, fmt) };
  }
  const pad = (v: Value) => f.fmt(v).padStart(f.width);
  if (shape.length === 0) return pad(flat[0]);
  // Positions in `flat` (row-major over `shown`); a cut dim shows its
  // first and last `edge` entries around '...'.
  const strides = K.contiguousStrides(shown);
  const render = (d: number, base: number, ind: number): string => {
    const idx: (number | null)[] = cut[d]
      ? [...Array.from({ length: edge }, (_, i) => i), null, ...Array.from({ length: edge }, (_, i) => edge + i)]
      : [...Array(shown[d]).keys()];
    if (d === shape.length - 1) {
      const items = idx.map((i) => (i === null ? ' ...' : pad(flat[base + i])));
      const perLine = Math.max(1, Math.floor((opts.linewidth - ind) / (f.width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
      return `[${lines.join(',\n' + ' '.repeat(ind + 1))}]`;
    }
    const sep = ',' + '\n'.repeat(shape.length - d - 1) + ' '.repeat(ind + 1);
    const parts = idx.map((i) => (i === null ? '...' : render(d + 1, base + i * strides[d], ind + 1)));
    return `[${parts.join(sep)}]`;
  };
  return render(0, 0, indent);
}

// PyTorch's _add_suffixes: each suffix goes on the line so far unless it
// would pass the line width, then on a new line under the first value.
function addSuffixes(text: string, suffixes: readonly string[], indent: number): string {
  let out = text;
  let lastLen = text.length - text.lastIndexOf('\n') + 1;
  for (const s of suffixes) {
    if (lastLen + s.length + 2 > opts.linewidth) {
      out += ',\n' + ' '.repeat(indent) + s;
      lastLen = indent + s.length;
    } else {
      out += ', ' + s;
      lastLen += s.length + 2;
    }
  }
  return out + ')';
}

/** The text PyTorch 1.13's repr gives the same tensor (torch/_tensor_str.py). */
export function formatTensor(t: Tensor): string {
  const prefix = 'tensor(';
  const indent = prefix.length;
  const suffixes: string[] = [];
  // PyTorch names any device but the CPU: device='cuda:0'.
  if (t.device !== 'cpu') suffixes.push(`device='${t.device}'`);
  const shape = t._shape;
  if (K.numelOf(shape) === 0) {
    // The size unless the shape is (0,), and the dtype unless it is the
    // default (an empty tensor has no values to show it is an integer).
    if (shape.length !== 1) suffixes.push(`size=(${shape.join(', ')})`);
    if (t.dtype !== 'float32') suffixes.push(`dtype=torch.${t.dtype}`);
  } else if (t.dtype !== 'float32' && t.dtype !== 'int64' && t.dtype !== 'bool') {
    suffixes.push(`dtype=torch.${t.dtype}`);
  }
  if (t.gradFn) suffixes.push(`grad_fn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) suffixes.push('requires_grad=True');
  return addSuffixes(prefix + tensorBody(t, indent), suffixes, indent);
}
