import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, inflateSync } from 'node:zlib';
import * as torch from '../../lib/index.js';
import type { Figure, Rect, Series } from '../../lib/index.js';

const { plot } = torch.utils;
const dir = mkdtempSync(join(tmpdir(), 'kindling-plot-'));

// A PNG reader for what plot.encodePng writes (8-bit RGB, no interlace),
// checking each chunk's CRC with zlib's own crc32 and undoing the row
// filters (filter 0 is all the encoder writes; the others are refused).
function decodePng(buf: Buffer): { width: number; height: number; pixels: Uint8Array } {
  expect([...buf.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  let pos = 8,
    width = 0,
    height = 0,
    ended = false;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('ascii', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    expect(buf.readUInt32BE(pos + 8 + len), `${type} CRC`).toBe(crc32(buf.subarray(pos + 4, pos + 8 + len)));
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([...data.subarray(8)]).toEqual([8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, no filter set, no interlace
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') ended = true;
    pos += 12 + len;
  }
  expect(ended).toBe(true);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 3 + 1;
  expect(raw.length).toBe(stride * height);
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    expect(raw[y * stride], `filter of row ${y}`).toBe(0);
    pixels.set(raw.subarray(y * stride + 1, (y + 1) * stride), y * width * 3);
  }
  return { width, height, pixels };
}

const px = (img: { width: number; pixels: Uint8Array }, x: number, y: number): [number, number, number] => {
  const i = (y * img.width + x) * 3;
  return [img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]];
};
// The plot's text, frame, grid and legend border are greys and white; the
// series' colours (the palette's first seven, and the colours given here)
// are not: a pixel whose channels differ is a series pixel.
const isSeries = ([r, g, b]: number[]) => r !== g || g !== b;
const isInk = ([r, g, b]: number[]) => r === g && g === b && r < 128;

function pixelsWhere(img: { width: number; height: number; pixels: Uint8Array }, test: (c: number[]) => boolean, box?: Rect) {
  const out: [number, number][] = [];
  const { left = 0, top = 0, right = img.width - 1, bottom = img.height - 1 } = box ?? {};
  for (let y = top; y <= bottom; y++) for (let x = left; x <= right; x++) if (test(px(img, x, y))) out.push([x, y]);
  return out;
}

const strictlyInside = (r: Rect, [x, y]: [number, number]) => x > r.left && x < r.right && y > r.top && y < r.bottom;
const within = (inner: Rect, outer: Rect) =>
  inner.left >= outer.left && inner.right <= outer.right && inner.top >= outer.top && inner.bottom <= outer.bottom;

// Where a data point lands, from what the figure reports about its axes.
function pixelOf(fig: Figure, x: number, y: number): [number, number] {
  const { left, right, top, bottom } = fig.frame;
  // In halves: the limits of a huge range are further apart than the largest double.
  const fx = (x / 2 - fig.xlim[0] / 2) / (fig.xlim[1] / 2 - fig.xlim[0] / 2);
  const fy = (y / 2 - fig.ylim[0] / 2) / (fig.ylim[1] / 2 - fig.ylim[0] / 2);
  return [Math.round(left + fx * (right - left)), Math.round(bottom - fy * (bottom - top))];
}

// Every finite point of every series is drawn, in its own colour, strictly
// inside the frame (unless the legend covers it), and no series pixel is
// outside the frame.
function expectSeriesInFrame(fig: Figure, series: Series[]) {
  const coloured = pixelsWhere(fig, isSeries);
  expect(coloured.length).toBeGreaterThan(0);
  const outside = coloured.filter((p) => !strictlyInside(fig.frame, p));
  expect(outside, 'series pixels outside the frame').toEqual([]);
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      if (!Number.isFinite(s.x[i]) || !Number.isFinite(s.y[i])) continue;
      const [cx, cy] = pixelOf(fig, s.x[i], s.y[i]);
      expect(strictlyInside(fig.frame, [cx, cy]), `point ${i} (${s.x[i]}, ${s.y[i]}) at (${cx}, ${cy})`).toBe(true);
      const l = fig.legend;
      if (l && cx >= l.left - 3 && cx <= l.right + 3 && cy >= l.top - 3 && cy <= l.bottom + 3) continue;
      const near = pixelsWhere(fig, (c) => s.color === undefined || c.every((v, k) => v === s.color![k]), {
        left: cx - 1,
        right: cx + 1,
        top: cy - 1,
        bottom: cy + 1,
      }).filter(([x, y]) => isSeries(px(fig, x, y)));
      expect(near.length, `point ${i} (${s.x[i]}, ${s.y[i]}) drawn near (${cx}, ${cy})`).toBeGreaterThan(0);
    }
  }
}

describe('plot.niceTicks', () => {
  it.each([
    [0, 1, 6, [0, 0.2, 0.4, 0.6, 0.8, 1]],
    [0.13, 2.31, 6, [0, 0.5, 1, 1.5, 2, 2.5]],
    [-3.7, 12.2, 6, [-5, 0, 5, 10, 15]],
    [0, 10, 3, [0, 5, 10]],
    [0, 9, 11, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
    [0.05, 0.93, 5, [0, 0.25, 0.5, 0.75, 1]],
    [1.2e-7, 9e-7, 6, [0, 2e-7, 4e-7, 6e-7, 8e-7, 1e-6]],
    [0, 1e300, 6, [0, 2e299, 4e299, 6e299, 8e299, 1e300]],
    [50, 2000, 9, [0, 250, 500, 750, 1000, 1250, 1500, 1750, 2000]],
    [-0.02, -0.0104, 6, [-0.02, -0.018, -0.016, -0.014, -0.012, -0.01]],
  ])('niceTicks(%d, %d, %d) is %j', (lo, hi, n, expected) => {
    expect(plot.niceTicks(lo, hi, n)).toEqual(expected);
  });

  it('widens a range of one value: a tenth each way, [-1, 1] around 0', () => {
    expect(plot.niceTicks(0.3, 0.3)).toEqual([0.26, 0.28, 0.3, 0.32, 0.34]);
    expect(plot.niceTicks(0, 0)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(plot.niceTicks(-5, -5)).toEqual([-5.5, -5.25, -5, -4.75, -4.5]);
    // Below doubles' resolution at that size: one value too.
    expect(plot.niceTicks(1, 1 + 2 ** -52)).toEqual([0.9, 0.95, 1, 1.05, 1.1]);
  });

  it('stops at the largest finite multiple when the next tick would overflow', () => {
    expect(plot.niceTicks(-1.7e308, 1.7e308)).toEqual([-1e308, 0, 1e308]);
    expect(plot.niceTicks(-1e308, 1e308)).toEqual([-1e308, -5e307, 0, 5e307, 1e308]);
  });

  it('covers the range with at most maxTicks evenly spaced multiples of a 1, 2, 2.5 or 5 step', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    for (let i = 0; i < 300; i++) {
      const scale = 10 ** Math.round(rand() * 12);
      const a = rand() * scale,
        b = a + Math.abs(rand()) * scale;
      const n = 3 + (i % 9);
      const t = plot.niceTicks(a, b, n);
      expect(t.length, `${a}, ${b}, ${n}`).toBeLessThanOrEqual(n);
      expect(t[0]).toBeLessThanOrEqual(a);
      expect(t[t.length - 1]).toBeGreaterThanOrEqual(b);
      const step = t[1] - t[0];
      const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
      expect(
        [1, 2, 2.5, 5].some((m) => Math.abs(mantissa - m) < 1e-6),
        `step ${step}`,
      ).toBe(true);
      for (let k = 1; k < t.length; k++) expect(Math.abs(t[k] - t[k - 1] - step)).toBeLessThan(step * 1e-9);
      // Each tick is the decimal it prints as: a whole number of steps.
      for (const v of t) expect(Math.abs(v / step - Math.round(v / step))).toBeLessThan(1e-6);
    }
  });

  it('refuses a non-finite or reversed range and fewer than three ticks', () => {
    expect(() => plot.niceTicks(NaN, 1)).toThrow(/plot.niceTicks: lo and hi must be finite numbers with lo <= hi, got NaN and 1/);
    expect(() => plot.niceTicks(0, Infinity)).toThrow(RangeError);
    expect(() => plot.niceTicks(2, 1)).toThrow(/got 2 and 1/);
    expect(() => plot.niceTicks(-1, 1, 2)).toThrow(/maxTicks must be an integer of at least 3, got 2/);
  });
});

describe('plot.formatTicks', () => {
  it.each([
    [
      [0, 0.2, 0.4, 0.6, 0.8, 1],
      ['0.0', '0.2', '0.4', '0.6', '0.8', '1.0'],
    ],
    [
      [0, 0.25, 0.5],
      ['0.00', '0.25', '0.50'],
    ],
    [
      [-1, -0.5, 0],
      ['-1.0', '-0.5', '0.0'],
    ],
    [
      [0, 500, 1000],
      ['0', '500', '1000'],
    ],
    [
      [0.26, 0.28, 0.3],
      ['0.26', '0.28', '0.30'],
    ],
    [
      [0, 2e6, 4e6],
      ['0', '2e6', '4e6'],
    ],
    [
      [1e6, 1.5e6, 2e6],
      ['1.0e6', '1.5e6', '2.0e6'],
    ],
    [
      [0, 2e-4, 4e-4],
      ['0', '2e-4', '4e-4'],
    ],
    [
      [-1e308, 0, 1e308],
      ['-1e308', '0', '1e308'],
    ],
  ])('%j prints as %j', (ticks, labels) => {
    expect(plot.formatTicks(ticks)).toEqual(labels);
  });
});

describe('plot.lossCurve', () => {
  const steps = Array.from({ length: 40 }, (_, i) => (i + 1) * 50);
  const train = steps.map((s) => 2.3 * Math.exp(-s / 400) + 0.1);
  const valid = { x: [1000, 2000], y: [0.4, 0.2] };

  it('writes a PNG of the figure it returns, 640x420 by default', () => {
    const path = join(dir, 'loss.png');
    const fig = plot.lossCurve(path, { train: { x: steps, y: train }, valid });
    const png = decodePng(readFileSync(path));
    expect([png.width, png.height]).toEqual([640, 420]);
    expect([fig.width, fig.height]).toEqual([640, 420]);
    expect(Buffer.from(png.pixels).equals(Buffer.from(fig.pixels))).toBe(true);
    plot.lossCurve(join(dir, 'big.png'), { train: { x: steps, y: train } }, { width: 900, height: 300 });
    const big = decodePng(readFileSync(join(dir, 'big.png')));
    expect([big.width, big.height]).toEqual([900, 300]);
  });

  it('draws the title, axis names and a legend in their places, and the curves inside the frame', () => {
    const fig = plot.lossCurve(join(dir, 'layout.png'), { train: { x: steps, y: train }, valid });
    const { frame } = fig;
    const png = decodePng(readFileSync(join(dir, 'layout.png')));
    expectSeriesInFrame(fig, [
      { x: steps, y: train },
      { x: valid.x, y: valid.y },
    ]);
    const title = fig.title!,
      xlabel = fig.xlabel!,
      ylabel = fig.ylabel!,
      legend = fig.legend!;
    // 'Loss' at twice the text size above the frame, 'step' under it, 'loss' read upwards left of it.
    expect(title.bottom).toBeLessThan(frame.top);
    expect(title.right - title.left + 1).toBe(2 * (4 * 6 - 1));
    expect(xlabel.top).toBeGreaterThan(frame.bottom);
    expect(xlabel.right - xlabel.left + 1).toBe(4 * 6 - 1);
    expect(ylabel.right).toBeLessThan(frame.left);
    expect(ylabel.bottom - ylabel.top + 1).toBe(4 * 6 - 1);
    for (const box of [title, xlabel, ylabel]) expect(pixelsWhere(png, isInk, box).length).toBeGreaterThan(20);
    // The legend: inside the frame, in the upper right (the curve falls away from it),
    // with a sample of each series' colour and the two labels' text.
    expect(within(legend, frame)).toBe(true);
    expect(legend.left).toBeGreaterThan((frame.left + frame.right) / 2);
    expect(legend.bottom).toBeLessThan((frame.top + frame.bottom) / 2);
    const inLegend = pixelsWhere(png, () => true, legend).map(([x, y]) => px(png, x, y).join());
    expect(inLegend).toContain([31, 119, 180].join());
    expect(inLegend).toContain([255, 127, 14].join());
    expect(pixelsWhere(png, isInk, legend).length).toBeGreaterThan(50);
  });

  it('puts tick labels on nice numbers that cover the data, within the axes', () => {
    const fig = plot.lossCurve(join(dir, 'ticks.png'), { train: { x: steps, y: train }, valid });
    expect(fig.xTicks).toEqual([0, 250, 500, 750, 1000, 1250, 1500, 1750, 2000]);
    expect(fig.xTickLabels).toEqual(['0', '250', '500', '750', '1000', '1250', '1500', '1750', '2000']);
    expect(fig.yTicks).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(fig.yTickLabels).toEqual(['0.0', '0.5', '1.0', '1.5', '2.0', '2.5']);
    expect(fig.xlim[0]).toBeLessThan(0);
    expect(fig.xlim[1]).toBeGreaterThan(2000);
    expect(fig.ylim[0]).toBeLessThan(0);
    expect(fig.ylim[1]).toBeGreaterThan(2.5);
    // Each y tick label sits left of the frame at its tick's height.
    const png = decodePng(readFileSync(join(dir, 'ticks.png')));
    for (const t of fig.yTicks) {
      const [, ty] = pixelOf(fig, 0, t);
      expect(
        pixelsWhere(png, isInk, { left: 0, right: fig.frame.left - 6, top: ty - 4, bottom: ty + 4 }).length,
        `label ${t}`,
      ).toBeGreaterThan(5);
    }
  });

  it('takes its own title and axis names, and none for an empty one', () => {
    const fig = plot.lossCurve(
      join(dir, 'named.png'),
      { train: { x: steps, y: train } },
      { title: 'MNIST loss', xlabel: '', ylabel: 'cross entropy' },
    );
    expect(fig.title!.right - fig.title!.left + 1).toBe(2 * (10 * 6 - 1));
    expect(fig.xlabel).toBeNull();
    expect(fig.ylabel!.bottom - fig.ylabel!.top + 1).toBe(13 * 6 - 1);
  });
});

describe('plot.draw: every point inside the frame', () => {
  const red: [number, number, number] = [200, 30, 30],
    blue: [number, number, number] = [30, 30, 200];

  it.each<[string, Series[]]>([
    ['constant values', [{ x: [1, 2, 3, 4], y: [0.5, 0.5, 0.5, 0.5], color: red, label: 'flat' }]],
    ['a single point', [{ x: [3], y: [7], color: red, label: 'one' }]],
    ['a single point as a dot', [{ x: [3], y: [7], color: red, style: 'points' }]],
    [
      'NaN and infinities among the values',
      [
        { x: [0, 1, 2, 3, 4, 5, 6], y: [1, NaN, 3, Infinity, 2, -Infinity, 4], color: red, label: 'gaps' },
        { x: [0, NaN, 2, 3], y: [2, 5, 1, 0], color: blue, style: 'points', label: 'dots' },
      ],
    ],
    [
      'a huge range',
      [
        { x: [0, 1, 2, 3], y: [-1.7e308, 1e300, 0, 1.7e308], color: red, label: 'huge' },
        { x: [-1e308, 1e308], y: [1, 2], color: blue, style: 'points' },
      ],
    ],
    ['tiny values', [{ x: [1e-300, 2e-300, 3e-300], y: [5e-310, 1e-309, 2e-309], color: red }]],
    ['values far from zero, close together', [{ x: [0, 1, 2], y: [1e9 + 0.001, 1e9 + 0.004, 1e9 + 0.002], color: red }]],
    ['points on the corners of the data', [{ x: [0, 10, 0, 10], y: [0, 0, 5, 5], style: 'points', color: blue, label: 'corners' }]],
    ['typed arrays', [{ x: new Float64Array([1, 2, 3]), y: new Float32Array([0.25, 0.125, 0.5]), color: blue }]],
  ])('%s', (_, series) => {
    const fig = plot.draw(series, { title: 'edge case', xlabel: 'x', ylabel: 'y' });
    expectSeriesInFrame(fig, series);
    for (const [ticks, labels] of [
      [fig.xTicks, fig.xTickLabels],
      [fig.yTicks, fig.yTickLabels],
    ] as const) {
      expect(ticks.every(Number.isFinite)).toBe(true);
      expect(labels).toEqual(plot.formatTicks(ticks));
    }
    expect(Number.isFinite(fig.xlim[0]) && Number.isFinite(fig.xlim[1]) && fig.xlim[0] < fig.xlim[1]).toBe(true);
    expect(Number.isFinite(fig.ylim[0]) && Number.isFinite(fig.ylim[1]) && fig.ylim[0] < fig.ylim[1]).toBe(true);
  });

  it('draws empty axes from 0 to 1 when no point is finite', () => {
    const fig = plot.draw([{ x: [0, 1], y: [NaN, NaN], label: 'diverged' }]);
    expect(pixelsWhere(fig, isSeries, fig.legend!).length).toBeGreaterThan(0); // the legend's sample only
    expect(fig.xTicks[0]).toBe(0);
    expect(fig.xTicks[fig.xTicks.length - 1]).toBe(1);
    expect(plot.draw([]).yTicks).toEqual(fig.yTicks);
  });

  it('moves the legend to the corner where it hides the least data', () => {
    // A curve that rises: the upper right is taken, the upper left is free.
    const x = Array.from({ length: 50 }, (_, i) => i);
    const fig = plot.draw([{ x, y: x.map((v) => v * v), label: 'rising' }]);
    const { frame, legend } = fig;
    expect(legend!.left - frame.left).toBeLessThan(frame.right - legend!.right);
    expect(legend!.top - frame.top).toBeLessThan(frame.bottom - legend!.bottom);
  });

  it('leaves series without a label out of the legend, and draws none when no series has one', () => {
    expect(plot.draw([{ x: [0, 1], y: [0, 1] }]).legend).toBeNull();
    const one = plot.draw([{ x: [0, 1], y: [0, 1], label: 'a' }]).legend!;
    const two = plot.draw([
      { x: [0, 1], y: [0, 1], label: 'a' },
      { x: [0, 1], y: [0, 0] },
    ]).legend!;
    expect(two).toEqual(one);
  });
});

describe('plot: arguments', () => {
  const s = [{ x: [0, 1], y: [0, 1] }];
  it('refuses unknown option keys with the nearest valid one', () => {
    expect(() => plot.draw(s, { titel: 'x' } as never)).toThrow("plot: unknown option 'titel' (did you mean 'title'?)");
    expect(() => plot.draw([{ x: [0], y: [0], lable: 'a' }] as never)).toThrow(
      "plot: series 0: unknown option 'lable' (did you mean 'label'?)",
    );
    expect(() => plot.lossCurve(join(dir, 'x.png'), { train: { x: [0], y: [1] }, vaild: { x: [0], y: [1] } } as never)).toThrow(
      "plot.lossCurve: curves: unknown option 'vaild' (did you mean 'valid'?)",
    );
    expect(() => plot.lossCurve(join(dir, 'x.png'), { train: { x: [0], y: [1], label: 'a' } } as never)).toThrow(
      "plot.lossCurve: curves.train: unknown option 'label'",
    );
    expect(() => plot.savePlot(join(dir, 'x.png'), s, { widht: 300 } as never)).toThrow(/did you mean 'width'/);
  });
  it('refuses bad values, naming them', () => {
    expect(() => plot.draw([{ x: [0, 1, 2], y: [0, 1] }])).toThrow('plot: series 0: x has 3 values but y has 2');
    expect(() => plot.draw([{ x: [0, '1'], y: [0, 1] }] as never)).toThrow(
      /series 0: x must be an array or typed array of numbers, got \[0, "1"\]/,
    );
    expect(() => plot.draw([{ x: [0], y: [0], style: 'bars' }] as never)).toThrow(/style must be 'line' or 'points', got "bars"/);
    expect(() => plot.draw([{ x: [0], y: [0], color: [0, 0, 256] }] as never)).toThrow(/color must be \[r, g, b\]/);
    expect(() => plot.draw(s, { width: 100 })).toThrow('plot: width must be an integer from 160 to 8192, got 100');
    expect(() => plot.draw(s, { height: 1e9 })).toThrow(RangeError);
    expect(() => plot.draw(s, { title: 3 } as never)).toThrow('plot: title must be a string, got 3');
    expect(() => plot.draw({ x: [0], y: [0] } as never)).toThrow(/series must be an array/);
    expect(() => plot.lossCurve(join(dir, 'x.png'), {} as never)).toThrow(/curves must be \{ train: \{ x, y \}, valid\?: \{ x, y \} \}/);
    expect(() => plot.savePlot('', s)).toThrow(/path must be a file name/);
    expect(() => plot.encodePng(2, 2, new Uint8Array(11))).toThrow(/12 bytes/);
  });
});
