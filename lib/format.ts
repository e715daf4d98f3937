// Printing as PyTorch does: tensor([0., 4., 8., 12.]),
// tensor(63., grad_fn=<AddBackward0>), summarised with "..." when large.
import type { Tensor } from './tensor.js';
import type { TypedArray } from './backend/native.js';
import * as K from './ops/kernels.js';
import { native, makeRef } from './backend/native.js';

const THRESHOLD = 1000;
const EDGE = 3;
const LINE_WIDTH = 80;

interface Formatter {
  width: number;
  fmt(v: number): string;
}

function floatFormatter(values: number[]): Formatter {
  const finite = values.filter((v) => Number.isFinite(v));
  const allInt = finite.every((v) => Number.isInteger(v));
  let maxAbs = 0,
    minAbs = Infinity;
  for (const v of finite) {
    const a = Math.abs(v);
    if (a === 0) continue;
    if (a > maxAbs) maxAbs = a;
    if (a < minAbs) minAbs = a;
  }
  if (minAbs === Infinity) minAbs = 0;
  let fmt: (v: number) => string;
  if (allInt) {
    // Integers print with a trailing dot, or in scientific form when huge.
    if (maxAbs > 1e8) fmt = (v) => sci(v);
    else fmt = (v) => (Number.isFinite(v) ? `${v.toFixed(0)}.` : special(v));
  } else if (maxAbs > 1e8 || (minAbs < 1e-4 && minAbs > 0) || (minAbs > 0 && maxAbs / minAbs > 1000)) {
    fmt = (v) => sci(v);
  } else {
    fmt = (v) => (Number.isFinite(v) ? v.toFixed(4) : special(v));
  }
  return { width: widthOf(values, fmt), fmt };
}

// A loop, not Math.max(...): a summary of many dims shows 6^ndim values,
// more than a spread passes as arguments.
function widthOf(values: readonly number[], fmt: (v: number) => string): number {
  let w = 1;
  for (const v of values) w = Math.max(w, fmt(v).length);
  return w;
}

function special(v: number): string {
  return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
}

function sci(v: number): string {
  if (!Number.isFinite(v)) return special(v);
  const [m, e] = v.toExponential(4).split('e');
  const exp = Number(e);
  return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

// The values the printout shows, in row-major order over `shown`: per dim
// the whole dim, or when summarised (a dim longer than 2 * EDGE in a
// tensor of more than THRESHOLD elements) its first and last EDGE entries,
// as PyTorch's get_summarized_data. Only those elements are read, so a
// stride-0 view of 1e12 elements prints as cheaply as a small tensor.
function shownValues(t: Tensor, shown: readonly number[], cut: readonly boolean[]): number[] {
  const total = K.numelOf(shown);
  if (total === 0) return [];
  // Device memory: copy the corner blocks to a small host tensor first.
  const src = t.device === 'cpu' ? t : cornersOnHost(t, shown, cut);
  const problem = K.storageProblem(src);
  if (problem !== null) throw new Error(`print: the tensor ${problem}`);
  const data = src._storage.data as TypedArray;
  const shape = src._shape,
    strides = src._strides,
    nd = shown.length;
  const srcCut = src === t ? cut : shown.map(() => false);
  const out = new Array<number>(total);
  for (let k = 0; k < total; k++) {
    let rem = k,
      off = src._offset;
    for (let d = nd - 1; d >= 0; d--) {
      const i = rem % shown[d];
      rem = (rem - i) / shown[d];
      off += (srcCut[d] && i >= EDGE ? shape[d] - 2 * EDGE + i : i) * strides[d];
    }
    const v = data[off];
    out[k] = typeof v === 'bigint' ? Number(v) : v;
  }
  return out;
}

// The 2^k corner blocks of a summarised device tensor (k summarised dims),
// copied by the addon into one contiguous host tensor of shape `shown`.
function cornersOnHost(t: Tensor, shown: readonly number[], cut: readonly boolean[]): Tensor {
  const host = K.output(shown, t.dtype, 'print', 'cpu');
  const dims = cut.flatMap((c, d) => (c ? [d] : []));
  for (let mask = 0; mask < 2 ** dims.length; mask++) {
    const blockShape = shown.slice();
    let srcOff = t._offset,
      dstOff = 0;
    dims.forEach((d, j) => {
      blockShape[d] = EDGE;
      if (mask & (1 << j)) {
        srcOff += (t._shape[d] - EDGE) * t._strides[d];
        dstOff += EDGE * host._strides[d];
      }
    });
    native.copy(makeRef(t._storage.data, srcOff, blockShape, t._strides), makeRef(host._storage.data, dstOff, blockShape, host._strides));
  }
  return host;
}

export function formatTensor(t: Tensor): string {
  const shape = t.shape;
  const numel = t.numel();
  const summarize = numel > THRESHOLD;
  const cut = shape.map((n) => summarize && n > 2 * EDGE);
  const shown = shape.map((n, d) => (cut[d] ? 2 * EDGE : n));
  // An empty tensor prints no values, whatever the size of its other dims.
  const flat = numel === 0 ? [] : shownValues(t, shown, cut);
  let f: Formatter;
  if (t.dtype === 'bool') {
    const fmt = (v: number) => (v ? 'True' : 'False');
    f = { fmt, width: widthOf(flat, fmt) };
  } else if (t.dtype === 'float32' || t.dtype === 'float64') {
    f = floatFormatter(flat);
  } else {
    const fmt = (v: number) => String(v);
    f = { fmt, width: widthOf(flat, fmt) };
  }

  const prefix = 'tensor(';
  let body: string;
  if (numel === 0) {
    body = '[]';
  } else if (shape.length === 0) {
    body = f.fmt(flat[0]);
  } else {
    // Positions in `flat` (row-major over `shown`); a cut dim shows its
    // first EDGE and last EDGE entries around '...'.
    const strides = K.contiguousStrides(shown);
    const render = (d: number, base: number, indent: number): string => {
      const n = shown[d];
      const idx: (number | null)[] = cut[d]
        ? [...Array.from({ length: EDGE }, (_, i) => i), null, ...Array.from({ length: EDGE }, (_, i) => EDGE + i)]
        : [...Array(n).keys()];
      if (d === shape.length - 1) {
        const items = idx.map((i) => (i === null ? ' ...' : f.fmt(flat[base + i]).padStart(f.width)));
        // Wrap long rows at the line width, as PyTorch does.
        const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (f.width + 2)));
        const lines: string[] = [];
        for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
        return `[${lines.join(',\n' + ' '.repeat(indent + 1))}]`;
      }
      const sep = ',' + '\n'.repeat(shape.length - d - 1) + ' '.repeat(indent + 1);
      const parts = idx.map((i) => (i === null ? '...' : render(d + 1, base + i * strides[d], indent + 1)));
      return `[${parts.join(sep)}]`;
    };
    body = render(0, 0, prefix.length);
  }
  const suffix: string[] = [];
  // PyTorch names any device but the CPU first: device='cuda:0'.
  if (t.device !== 'cpu') suffix.push(`device='${t.device}'`);
  if (numel === 0) {
    // PyTorch: the size unless the shape is (0,), and the dtype unless it is
    // the default (an empty tensor has no values to show it is an integer).
    if (shape.length !== 1) suffix.push(`size=(${shape.join(', ')})`);
    if (t.dtype !== 'float32') suffix.push(`dtype=torch.${t.dtype}`);
  } else if (t.dtype !== 'float32' && t.dtype !== 'int64' && t.dtype !== 'bool') {
    suffix.push(`dtype=torch.${t.dtype}`);
  }
  if (t.gradFn) suffix.push(`grad_fn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) suffix.push('requires_grad=True');
  return prefix + body + (suffix.length ? ', ' + suffix.join(', ') : '') + ')';
}
