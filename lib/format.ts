// Printing as PyTorch does: tensor([0., 4., 8., 12.]),
// tensor(63., grad_fn=<AddBackward0>), summarised with "..." when large.
import type { Tensor } from './tensor.js';

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
  const absFinite = finite.map(Math.abs).filter((v) => v !== 0);
  const maxAbs = absFinite.length ? Math.max(...absFinite) : 0;
  const minAbs = absFinite.length ? Math.min(...absFinite) : 0;
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
  const width = Math.max(...values.map((v) => fmt(v).length), 1);
  return { width, fmt };
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

// The values the printout shows (edges only, when summarised).
function shownValues(flat: ArrayLike<number>, shape: number[], summarize: boolean): number[] {
  if (!summarize) return Array.from(flat);
  const out: number[] = [];
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const walk = (d: number, base: number) => {
    if (d === shape.length) {
      out.push(flat[base]);
      return;
    }
    const n = shape[d];
    const idx = n > 2 * EDGE ? [...Array(EDGE).keys(), ...Array.from({ length: EDGE }, (_, i) => n - EDGE + i)] : [...Array(n).keys()];
    for (const i of idx) walk(d + 1, base + i * strides[d]);
  };
  walk(0, 0);
  return out;
}

export function formatTensor(t: Tensor): string {
  const shape = t.shape;
  const numel = t.numel();
  const raw = t.toTypedArray();
  const flat: number[] = Array.from(raw as ArrayLike<number | bigint>, (v) => Number(v));
  const summarize = numel > THRESHOLD;
  let f: Formatter;
  if (t.dtype === 'bool') {
    const fmt = (v: number) => (v ? 'True' : 'False');
    f = { fmt, width: Math.max(...shownValues(flat, shape, summarize).map((v) => fmt(v).length), 1) };
  } else if (t.dtype === 'float32' || t.dtype === 'float64') {
    f = floatFormatter(shownValues(flat, shape, summarize));
  } else {
    const fmt = (v: number) => String(v);
    f = { fmt, width: Math.max(...shownValues(flat, shape, summarize).map((v) => fmt(v).length), 1) };
  }

  const prefix = 'tensor(';
  let body: string;
  if (numel === 0) {
    body = '[]';
  } else if (shape.length === 0) {
    body = f.fmt(flat[0]);
  } else {
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    const render = (d: number, base: number, indent: number): string => {
      const n = shape[d];
      const idx: (number | null)[] =
        summarize && n > 2 * EDGE ? [0, 1, 2, null, n - 3, n - 2, n - 1] : [...Array(n).keys()];
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
  if (t.dtype !== 'float32' && t.dtype !== 'int64' && t.dtype !== 'bool') suffix.push(`dtype=torch.${t.dtype}`);
  else if (numel === 0 && t.dtype !== 'float32') suffix.push(`size=(${shape.join(', ')}${shape.length === 1 ? ',' : ''}), dtype=torch.${t.dtype}`);
  if (t.gradFn) suffix.push(`grad_fn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) suffix.push('requires_grad=True');
  return prefix + body + (suffix.length ? ', ' + suffix.join(', ') : '') + ')';
}
