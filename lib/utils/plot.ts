// Line and scatter plots drawn into an RGB raster and written as PNG files:
// training curves and the seeds' matplotlib figures, with no dependency
// beyond node:zlib. As matplotlib's defaults: a frame around the data, tick
// values on "nice" numbers with light grid lines, axis names, a title and a
// legend in the corner where it covers the least of the data.
import { deflateSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { checkOptions, fmtValue } from '../util/args.js';
import { ADVANCE, GLYPH_ASCENT, GLYPH_HEIGHT, glyph, textWidth } from './font.js';

/** A colour as [red, green, blue], each an integer in [0, 255]. */
export type RGB = [number, number, number];

/** One data series of a plot. */
export interface Series {
  /** The x values. */
  x: ArrayLike<number>;
  /** The y values, as many as x. A point with a NaN or infinite coordinate is left out (a line breaks there). */
  y: ArrayLike<number>;
  /** 'line' (the default) joins the points; 'points' draws a dot at each. */
  style?: 'line' | 'points';
  /** Defaults to the next colour of a ten-colour palette. */
  color?: RGB;
  /** The series' name in the legend; series without one are left out of it. */
  label?: string;
}

/** Options of {@link draw}, {@link savePlot} and {@link lossCurve}. */
export interface PlotOptions {
  /** Image width in pixels, 160 to 8192 (default 640). */
  width?: number;
  /** Image height in pixels, 120 to 8192 (default 420). */
  height?: number;
  /** Drawn above the frame. */
  title?: string;
  /** The x axis' name, under its tick values. */
  xlabel?: string;
  /** The y axis' name, left of its tick values, reading upwards. */
  ylabel?: string;
}

/** A pixel rectangle; every edge is inclusive. */
export interface Rect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** A drawn plot: its pixels and where each part of it went. */
export interface Figure {
  /** Image width in pixels. */
  width: number;
  /** Image height in pixels. */
  height: number;
  /** RGB bytes, 3 a pixel, row by row from the top left. */
  pixels: Uint8Array;
  /** The frame's border line; every data point is drawn strictly inside it. */
  frame: Rect;
  /** The x values at the frame's left and right edges. */
  xlim: [number, number];
  /** The y values at the frame's bottom and top edges. */
  ylim: [number, number];
  /** The x axis' tick values, from {@link niceTicks}. */
  xTicks: number[];
  /** The y axis' tick values, from {@link niceTicks}. */
  yTicks: number[];
  /** The x ticks as printed, from {@link formatTicks}. */
  xTickLabels: string[];
  /** The y ticks as printed, from {@link formatTicks}. */
  yTickLabels: string[];
  /** The title's text, or null where there is none. */
  title: Rect | null;
  /** The x axis' name. */
  xlabel: Rect | null;
  /** The y axis' name, read upwards. */
  ylabel: Rect | null;
  /** The legend's box, inside the frame; null when no series has a label or it does not fit. */
  legend: Rect | null;
}

/** The curves of {@link lossCurve}: x is the step (or epoch), y the loss there. */
export interface LossCurves {
  /** Drawn as a line, labelled 'train'. */
  train: { x: ArrayLike<number>; y: ArrayLike<number> };
  /** Drawn as dots, labelled 'validation'. */
  valid?: { x: ArrayLike<number>; y: ArrayLike<number> };
}

const OPTION_KEYS = ['width', 'height', 'title', 'xlabel', 'ylabel'] as const;
const SERIES_KEYS = ['x', 'y', 'style', 'color', 'label'] as const;

// Ten colours that stay apart from each other and from the black text.
const PALETTE: RGB[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];
const INK: RGB = [34, 34, 34];
const GRID: RGB = [232, 232, 232];
const LEGEND_EDGE: RGB = [200, 200, 200];
const WHITE: RGB = [255, 255, 255];

// Pixels between the frame and the outermost data, so that a dot at the
// edge of the data is drawn whole (Note [Inside the frame]).
const PAD = 6;
const TICK = 4;

// ---- PNG ---------------------------------------------------------------------------------

// CRC-32 for PNG chunks.
const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data.buffer, data.byteOffset, data.length).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Encodes an RGB image (row by row from the top, 3 bytes a pixel, as {@link Figure.pixels}) as a PNG file's bytes. */
export function encodePng(width: number, height: number, pixels: Uint8Array): Buffer {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const)
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`plot.encodePng: ${name} must be a positive integer, got ${fmtValue(v)}`);
  if (!(pixels instanceof Uint8Array) || pixels.length !== width * height * 3)
    throw new RangeError(
      `plot.encodePng: pixels must be a Uint8Array of width * height * 3 = ${width * height * 3} bytes, got ${fmtValue(pixels)}`,
    );
  const stride = width * 3 + 1;
  const raw = Buffer.alloc(stride * height); // each row starts with its filter byte, 0: none
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width * 3, (y + 1) * width * 3), y * stride + 1);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bits per channel
  ihdr[9] = 2; // colour type: RGB
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

// ---- ticks -------------------------------------------------------------------------------

// n * 10^e for an integer n, as the double nearest it, so that a tick is
// the number its label says (0.1 * 3 is not 0.3). Parsing the decimal is
// one correct rounding; arithmetic is not (V8's 10 ** 26 is not 1e26).
function scaled(n: number, e: number): number {
  return Number(`${n}e${e}`);
}

// A range of one value (or one too narrow for doubles to step through:
// under a millionth of a millionth of its values) gets room around it, as
// matplotlib does.
function widen(lo: number, hi: number): [number, number] {
  if (hi / 2 - lo / 2 > Math.max(Math.abs(lo), Math.abs(hi)) * 0.5e-12) return [lo, hi];
  if (lo === 0) return [-1, 1];
  const d = Math.abs(lo) / 10;
  return [Math.max(-Number.MAX_VALUE, lo - d), Math.min(Number.MAX_VALUE, lo + d)];
}

/**
 * Tick values for an axis over [lo, hi]: at most `maxTicks` (3 or more)
 * multiples of the smallest "nice" step (1, 2, 2.5 or 5 times a power of
 * ten) whose ticks reach from lo or below to hi or above (stopping short
 * only where a tick would pass the largest double). A range of one value (or one
 * narrower than a millionth of a millionth of its values) is widened to a
 * tenth of lo each way (to [-1, 1] around 0).
 * `niceTicks(0, 1)` is `[0, 0.2, 0.4, 0.6, 0.8, 1]`.
 */
export function niceTicks(lo: number, hi: number, maxTicks = 6): number[] {
  if (typeof lo !== 'number' || typeof hi !== 'number' || !Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi)
    throw new RangeError(`plot.niceTicks: lo and hi must be finite numbers with lo <= hi, got ${fmtValue(lo)} and ${fmtValue(hi)}`);
  // Two ticks cannot cover a range around 0 (-s and 0, or 0 and s): three can.
  if (!Number.isInteger(maxTicks) || maxTicks < 3)
    throw new RangeError(`plot.niceTicks: maxTicks must be an integer of at least 3, got ${fmtValue(maxTicks)}`);
  [lo, hi] = widen(lo, hi);
  // Halves keep the span finite when lo and hi are far apart doubles.
  const halfSpan = hi / 2 - lo / 2;
  // One decade below the step that the span needs, then up through the nice steps.
  let e = Math.floor(Math.log10(halfSpan) + Math.log10(2 / (maxTicks - 1))) - 1;
  for (; ; e++) {
    for (const [m, me] of [
      [1, e],
      [2, e],
      [25, e - 1],
      [5, e],
    ]) {
      const step = scaled(m, me);
      if (step === 0 || !Number.isFinite(step)) continue;
      let k0 = Math.floor(lo / step),
        k1 = Math.ceil(hi / step);
      // lo / step is itself rounded: make sure the end ticks do cover lo and hi.
      if (scaled(k0 * m, me) > lo) k0--;
      if (scaled(k1 * m, me) < hi) k1++;
      if (k1 - k0 + 1 > maxTicks) continue;
      const ticks: number[] = [];
      for (let k = k0; k <= k1; k++) {
        const v = scaled(k * m, me);
        if (Number.isFinite(v) && v !== ticks[ticks.length - 1]) ticks.push(v === 0 ? 0 : v);
      }
      if (ticks.length >= 2) return ticks;
    }
    if (e > 310) return [lo, hi]; // unreachable for finite lo < hi; a guard against an endless loop
  }
}

// Digits after the point that v's shortest decimal form needs.
function decimalsOf(v: number): number {
  const [mant, exp] = v.toExponential().split('e');
  const digits = mant.includes('.') ? mant.length - mant.indexOf('.') - 1 : 0;
  return Math.max(0, digits - Number(exp));
}

/**
 * The labels of ticks from {@link niceTicks}, all with the same number of
 * decimals (`['0.0', '0.5', '1.0']`); in exponent form (`'2e6'`,
 * `'1.5e-4'`) when the largest tick reaches a million or stays under a
 * thousandth.
 */
export function formatTicks(ticks: readonly number[]): string[] {
  if (!Array.isArray(ticks) || !ticks.every((t) => typeof t === 'number' && Number.isFinite(t)))
    throw new TypeError(`plot.formatTicks: ticks must be an array of finite numbers, got ${fmtValue(ticks)}`);
  const big = Math.max(0, ...ticks.map(Math.abs));
  if (big >= 1e6 || (big > 0 && big < 1e-3)) {
    const digits = Math.max(
      0,
      ...ticks.map((t) =>
        t === 0
          ? 0
          : t
              .toExponential()
              .split('e')[0]
              .replace(/^-?\d\.?/, '').length,
      ),
    );
    return ticks.map((t) => (t === 0 ? '0' : t.toExponential(digits).replace('e+', 'e')));
  }
  const decimals = Math.min(20, Math.max(0, ...ticks.map(decimalsOf)));
  return ticks.map((t) => t.toFixed(decimals));
}

// ---- drawing -----------------------------------------------------------------------------

class Canvas {
  readonly pixels: Uint8Array;
  // Drawing outside `clip` is dropped: series stay inside the frame.
  clip: Rect;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = new Uint8Array(width * height * 3).fill(255);
    this.clip = { left: 0, top: 0, right: width - 1, bottom: height - 1 };
  }
  set(x: number, y: number, c: RGB): void {
    const { left, top, right, bottom } = this.clip;
    if (x < left || y < top || x > right || y > bottom) return;
    this.pixels.set(c, (y * this.width + x) * 3);
  }
  get(x: number, y: number): RGB {
    const i = (y * this.width + x) * 3;
    return [this.pixels[i], this.pixels[i + 1], this.pixels[i + 2]];
  }
  fill(r: Rect, c: RGB): void {
    for (let y = r.top; y <= r.bottom; y++) for (let x = r.left; x <= r.right; x++) this.set(x, y, c);
  }
  outline(r: Rect, c: RGB): void {
    this.fill({ ...r, bottom: r.top }, c);
    this.fill({ ...r, top: r.bottom }, c);
    this.fill({ ...r, right: r.left }, c);
    this.fill({ ...r, left: r.right }, c);
  }
  /** A line about two pixels wide between two points given in pixel units. */
  line(ax: number, ay: number, bx: number, by: number, c: RGB): void {
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(bx - ax), Math.abs(by - ay))));
    for (let i = 0; i <= n; i++) {
      const x = Math.round(ax + ((bx - ax) * i) / n - 0.5),
        y = Math.round(ay + ((by - ay) * i) / n - 0.5);
      this.set(x, y, c);
      this.set(x + 1, y, c);
      this.set(x, y + 1, c);
      this.set(x + 1, y + 1, c);
    }
  }
  dot(cx: number, cy: number, c: RGB, r2 = 6): void {
    cx = Math.round(cx);
    cy = Math.round(cy);
    for (let dy = -3; dy <= 3; dy++) for (let dx = -3; dx <= 3; dx++) if (dx * dx + dy * dy <= r2) this.set(cx + dx, cy + dy, c);
  }
  /**
   * Text with its top left at (x, y); `up` turns it a quarter turn
   * anticlockwise to read upwards, (x, y) then being its bottom left.
   */
  text(s: string, x: number, y: number, c: RGB, scale = 1, up = false): void {
    let i = 0;
    for (const ch of s) {
      for (const [gc, gr] of glyph(ch))
        for (let dy = 0; dy < scale; dy++)
          for (let dx = 0; dx < scale; dx++) {
            const u = (i * ADVANCE + gc) * scale + dx,
              v = gr * scale + dy;
            if (up) this.set(x + v, y - u, c);
            else this.set(x + u, y + v, c);
          }
      i++;
    }
  }
}

// Maps data values in [lim0, lim1] to pixels in [p0, p1], dividing by the
// larger limit first so that limits near the largest double do not
// overflow the subtraction.
function axisMap(lim0: number, lim1: number, p0: number, p1: number): (v: number) => number {
  const s = Math.max(Math.abs(lim0), Math.abs(lim1));
  const a = lim0 / s,
    span = lim1 / s - a;
  return (v) => p0 + ((v / s - a) / span) * (p1 - p0);
}

function sameColor(a: RGB, b: RGB): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

function checkDim(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    throw new RangeError(`plot: ${name} must be an integer from ${lo} to ${hi}, got ${fmtValue(v)}`);
  return v;
}

function checkText(name: string, v: unknown): string | undefined {
  if (v !== undefined && typeof v !== 'string') throw new TypeError(`plot: ${name} must be a string, got ${fmtValue(v)}`);
  return v === '' ? undefined : v;
}

function checkValues(owner: string, name: string, v: unknown): ArrayLike<number> {
  const ok =
    (ArrayBuffer.isView(v) && !(v instanceof DataView || v instanceof BigInt64Array || v instanceof BigUint64Array)) ||
    (Array.isArray(v) && v.every((x) => typeof x === 'number'));
  if (!ok) throw new TypeError(`${owner}: ${name} must be an array or typed array of numbers, got ${fmtValue(v)}`);
  return v as ArrayLike<number>;
}

// A series as drawn: checked, with its defaults filled in.
interface Drawn {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  style: 'line' | 'points';
  color: RGB;
  label?: string;
}

function checkSeries(series: unknown): Drawn[] {
  if (!Array.isArray(series)) throw new TypeError(`plot: series must be an array of { x, y, ... } objects, got ${fmtValue(series)}`);
  return series.map((s: unknown, i) => {
    const owner = `plot: series ${i}`;
    if (typeof s !== 'object' || s === null) throw new TypeError(`${owner} must be an object like { x, y }, got ${fmtValue(s)}`);
    checkOptions(owner, s, SERIES_KEYS);
    const { x, y, style = 'line', color = PALETTE[i % PALETTE.length], label } = s as Series;
    const xs = checkValues(owner, 'x', x),
      ys = checkValues(owner, 'y', y);
    if (xs.length !== ys.length) throw new RangeError(`${owner}: x has ${xs.length} values but y has ${ys.length}`);
    if (style !== 'line' && style !== 'points') throw new TypeError(`${owner}: style must be 'line' or 'points', got ${fmtValue(style)}`);
    if (!Array.isArray(color) || color.length !== 3 || !color.every((c) => Number.isInteger(c) && c >= 0 && c <= 255))
      throw new TypeError(`${owner}: color must be [r, g, b] with integers in [0, 255], got ${fmtValue(color)}`);
    if (label !== undefined && typeof label !== 'string') throw new TypeError(`${owner}: label must be a string, got ${fmtValue(label)}`);
    return { x: xs, y: ys, style, color: [color[0], color[1], color[2]], label: label === '' ? undefined : label };
  });
}

// Ticks whose labels fit side by side along `length` pixels (or stacked,
// for the y axis), as many as `perTick` pixels a tick allows.
function chooseTicks(lo: number, hi: number, length: number, perTick: number, labelSize: (s: string) => number) {
  for (let n = Math.max(3, Math.floor(length / perTick) + 1); ; n--) {
    const ticks = niceTicks(lo, hi, n);
    const labels = formatTicks(ticks);
    const gap = length / Math.max(1, ticks.length - 1);
    if (n === 3 || labels.every((l) => labelSize(l) + 8 <= gap)) return { ticks, labels };
  }
}

// Note [Inside the frame]: the axis limits are the tick range (which
// covers the data) grown by PAD pixels' worth each side, so that no dot or
// line at the data's edge reaches the frame; drawing of series is also
// clipped to the frame's inside, which only ever matters for the part of a
// line next to a left-out (NaN or infinite) point.
function limits(ticks: number[], lo: number, hi: number, inner: number): [number, number] {
  const t0 = Math.min(ticks[0], lo),
    t1 = Math.max(ticks[ticks.length - 1], hi);
  const d = ((t1 / 2 - t0 / 2) / inner) * 2 * PAD;
  return [Math.max(-Number.MAX_VALUE, t0 - d), Math.min(Number.MAX_VALUE, t1 + d)];
}

/**
 * Draws `series` on one pair of axes that fits all their finite points,
 * and returns the picture without writing it anywhere (see
 * {@link savePlot}, {@link encodePng}). With no finite point at all the
 * axes run from 0 to 1.
 */
export function draw(series: readonly Series[], options: PlotOptions = {}): Figure {
  checkOptions('plot', options, OPTION_KEYS);
  const W = checkDim('width', options.width ?? 640, 160, 8192),
    H = checkDim('height', options.height ?? 420, 120, 8192);
  const title = checkText('title', options.title),
    xlabel = checkText('xlabel', options.xlabel),
    ylabel = checkText('ylabel', options.ylabel);
  const all = checkSeries(series);

  let x0 = Infinity,
    x1 = -Infinity,
    y0 = Infinity,
    y1 = -Infinity;
  const finite = (s: Drawn, i: number) => Number.isFinite(s.x[i]) && Number.isFinite(s.y[i]);
  for (const s of all)
    for (let i = 0; i < s.x.length; i++)
      if (finite(s, i)) {
        x0 = Math.min(x0, s.x[i]);
        x1 = Math.max(x1, s.x[i]);
        y0 = Math.min(y0, s.y[i]);
        y1 = Math.max(y1, s.y[i]);
      }
  if (x0 > x1) [x0, x1, y0, y1] = [0, 1, 0, 1];

  const cv = new Canvas(W, H);
  // The title is twice the size of the other text unless that leaves it too wide.
  const titleScale = title && textWidth(title, 2) <= W - 20 ? 2 : 1;
  const top = 10 + (title ? GLYPH_HEIGHT * titleScale + 6 : 0);
  const bottom = H - 1 - (8 + (xlabel ? GLYPH_HEIGHT + 6 : 0) + GLYPH_HEIGHT + 3 + TICK);
  const y = chooseTicks(y0, y1, bottom - top - 2 * PAD, 45, () => GLYPH_ASCENT);
  const yLabelWidth = Math.max(...y.labels.map((l) => textWidth(l)));
  const left = 8 + (ylabel ? GLYPH_HEIGHT + 6 : 0) + yLabelWidth + 3 + TICK;
  let right = W - 1 - 16;
  let x = chooseTicks(x0, x1, right - left - 2 * PAD, 70, (l) => textWidth(l));
  // The last x label is centred on its tick: leave it room at the right edge.
  const overhang = Math.ceil(textWidth(x.labels[x.labels.length - 1]) / 2) - PAD - (W - 1 - right) + 4;
  if (overhang > 0) {
    right -= overhang;
    x = chooseTicks(x0, x1, right - left - 2 * PAD, 70, (l) => textWidth(l));
  }
  const frame: Rect = { left, top, right, bottom };
  const xlim = limits(x.ticks, x0, x1, right - left - 2 * PAD);
  const ylim = limits(y.ticks, y0, y1, bottom - top - 2 * PAD);
  const px = axisMap(xlim[0], xlim[1], left, right);
  const py = axisMap(ylim[0], ylim[1], bottom, top);

  // Grid, frame, ticks and their labels.
  for (const t of x.ticks) cv.fill({ left: Math.round(px(t)), right: Math.round(px(t)), top: top + 1, bottom: bottom - 1 }, GRID);
  for (const t of y.ticks) cv.fill({ left: left + 1, right: right - 1, top: Math.round(py(t)), bottom: Math.round(py(t)) }, GRID);
  cv.outline(frame, INK);
  x.ticks.forEach((t, i) => {
    const tx = Math.round(px(t));
    cv.fill({ left: tx, right: tx, top: bottom + 1, bottom: bottom + TICK }, INK);
    cv.text(x.labels[i], tx - Math.floor(textWidth(x.labels[i]) / 2), bottom + TICK + 3, INK);
  });
  y.ticks.forEach((t, i) => {
    const ty = Math.round(py(t));
    cv.fill({ left: left - TICK, right: left - 1, top: ty, bottom: ty }, INK);
    cv.text(y.labels[i], left - TICK - 3 - textWidth(y.labels[i]), ty - Math.floor(GLYPH_ASCENT / 2), INK);
  });

  // The series, clipped to the inside of the frame.
  cv.clip = { left: left + 1, top: top + 1, right: right - 1, bottom: bottom - 1 };
  for (const s of all) {
    for (let i = 0; i < s.x.length; i++) {
      if (!finite(s, i)) continue;
      const sx = px(s.x[i]),
        sy = py(s.y[i]);
      if (s.style === 'points') cv.dot(sx, sy, s.color);
      else if (i + 1 < s.x.length && finite(s, i + 1)) cv.line(sx, sy, px(s.x[i + 1]), py(s.y[i + 1]), s.color);
      else if (i === 0 || !finite(s, i - 1)) cv.dot(sx, sy, s.color, 2); // a point with no neighbour to join
    }
  }
  const legend = drawLegend(cv, all, frame);
  cv.clip = { left: 0, top: 0, right: W - 1, bottom: H - 1 };

  // Texts around the frame, centred on it and kept inside the image.
  const centred = (w: number, mid: number, size: number) => Math.max(2, Math.min(size - 2 - w, Math.round(mid - w / 2)));
  let titleBox: Rect | null = null,
    xlabelBox: Rect | null = null,
    ylabelBox: Rect | null = null;
  if (title) {
    const w = textWidth(title, titleScale),
      tx = centred(w, (left + right) / 2, W);
    cv.text(title, tx, 8, INK, titleScale);
    titleBox = { left: tx, top: 8, right: tx + w - 1, bottom: 8 + GLYPH_HEIGHT * titleScale - 1 };
  }
  if (xlabel) {
    const w = textWidth(xlabel),
      tx = centred(w, (left + right) / 2, W),
      ty = bottom + TICK + 3 + GLYPH_HEIGHT + 6;
    cv.text(xlabel, tx, ty, INK);
    xlabelBox = { left: tx, top: ty, right: tx + w - 1, bottom: ty + GLYPH_HEIGHT - 1 };
  }
  if (ylabel) {
    // Read upwards: its bottom end is at ty.
    const h = textWidth(ylabel),
      ty = Math.max(h + 1, Math.min(H - 3, Math.round((top + bottom) / 2 + h / 2)));
    cv.text(ylabel, 8, ty, INK, 1, true);
    ylabelBox = { left: 8, top: ty - h + 1, right: 8 + GLYPH_HEIGHT - 1, bottom: ty };
  }
  return {
    width: W,
    height: H,
    pixels: cv.pixels,
    frame,
    xlim,
    ylim,
    xTicks: x.ticks,
    yTicks: y.ticks,
    xTickLabels: x.labels,
    yTickLabels: y.labels,
    title: titleBox,
    xlabel: xlabelBox,
    ylabel: ylabelBox,
    legend,
  };
}

// The legend goes in the corner of the frame (upper right, upper left,
// lower left, lower right, in that order of preference) where it hides the
// fewest drawn series pixels; none when it does not fit in the frame.
function drawLegend(cv: Canvas, all: Drawn[], frame: Rect): Rect | null {
  const entries = all.filter((s) => s.label !== undefined);
  if (entries.length === 0) return null;
  const SAMPLE = 18,
    ROW = GLYPH_HEIGHT + 4;
  const w = 6 + SAMPLE + 5 + Math.max(...entries.map((s) => textWidth(s.label!))) + 6;
  const h = 6 + entries.length * ROW - 4 + 5;
  const inset = 5;
  if (w + 2 * inset > frame.right - frame.left - 1 || h + 2 * inset > frame.bottom - frame.top - 1) return null;
  const l = frame.left + inset + 1,
    r = frame.right - inset - w,
    t = frame.top + inset + 1,
    b = frame.bottom - inset - h;
  let best: Rect | null = null,
    bestInk = Infinity;
  for (const [bx, by] of [
    [r, t],
    [l, t],
    [l, b],
    [r, b],
  ]) {
    const box = { left: bx, top: by, right: bx + w - 1, bottom: by + h - 1 };
    let ink = 0;
    for (let y = box.top; y <= box.bottom; y++)
      for (let x = box.left; x <= box.right; x++) {
        const c = cv.get(x, y);
        if (!sameColor(c, WHITE) && !sameColor(c, GRID)) ink++;
      }
    if (ink < bestInk) [best, bestInk] = [box, ink];
  }
  const box = best!;
  cv.fill(box, WHITE);
  cv.outline(box, LEGEND_EDGE);
  entries.forEach((s, i) => {
    const rowTop = box.top + 6 + i * ROW,
      mid = rowTop + Math.floor(GLYPH_ASCENT / 2);
    if (s.style === 'points') cv.dot(box.left + 6 + SAMPLE / 2, mid, s.color);
    else cv.line(box.left + 6, mid + 0.5, box.left + 6 + SAMPLE, mid + 0.5, s.color);
    cv.text(s.label!, box.left + 6 + SAMPLE + 5, rowTop, INK);
  });
  return box;
}

/**
 * Draws `series` (see {@link draw}) and writes the picture to `path` as a
 * PNG file. Returns the figure drawn.
 * `plot.savePlot('fit.png', [{ x, y: fit, label: 'fit' }, { x, y, style: 'points', label: 'data' }], { title: 'Fit' })`
 */
export function savePlot(path: string, series: readonly Series[], options: PlotOptions = {}): Figure {
  if (typeof path !== 'string' || path === '') throw new TypeError(`plot.savePlot: path must be a file name, got ${fmtValue(path)}`);
  const fig = draw(series, options);
  writeFileSync(path, encodePng(fig.width, fig.height, fig.pixels));
  return fig;
}

/**
 * Writes a training run's loss curves to `path` as a PNG: the training
 * loss as a line, the validation loss (if given) as dots, with a legend.
 * The options default to the title 'Loss' and the axis names 'step' and
 * 'loss'. Returns the figure drawn.
 * `plot.lossCurve('loss.png', { train: { x: steps, y: losses }, valid: { x: epochEnds, y: validLosses } })`
 */
export function lossCurve(path: string, curves: LossCurves, options: PlotOptions = {}): Figure {
  const shape = 'curves must be { train: { x, y }, valid?: { x, y } }';
  checkOptions('plot.lossCurve: curves', curves, ['train', 'valid']);
  if (typeof curves !== 'object' || curves === null || curves.train === undefined)
    throw new TypeError(`plot.lossCurve: ${shape}, got ${fmtValue(curves)}`);
  const series: Series[] = [];
  for (const [key, style, label] of [
    ['train', 'line', 'train'],
    ['valid', 'points', 'validation'],
  ] as const) {
    const c = curves[key];
    if (c === undefined) continue;
    if (typeof c !== 'object' || c === null) throw new TypeError(`plot.lossCurve: ${shape}, got ${key}: ${fmtValue(c)}`);
    checkOptions(`plot.lossCurve: curves.${key}`, c, ['x', 'y']);
    series.push({ x: c.x, y: c.y, style, label });
  }
  checkOptions('plot', options, OPTION_KEYS);
  return savePlot(path, series, {
    ...options,
    title: options.title ?? 'Loss',
    xlabel: options.xlabel ?? 'step',
    ylabel: options.ylabel ?? 'loss',
  });
}
