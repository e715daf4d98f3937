// Line and scatter plots written as PNG files, for training curves and the
// seeds' matplotlib figures, with no dependency beyond node:zlib.
import { deflateSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';

export interface Series {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** 'line' joins the points; 'points' draws dots. */
  style?: 'line' | 'points';
  color?: [number, number, number];
  label?: string;
}

export interface PlotOptions {
  width?: number;
  height?: number;
  title?: string;
}

const PALETTE: [number, number, number][] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
];

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
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Encodes an RGB image (row-major, 3 bytes a pixel) as PNG. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0; // filter: none
    Buffer.from(rgb.buffer, rgb.byteOffset + y * width * 3, width * 3).copy(raw, y * (width * 3 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  const sig = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

// A 3x5 pixel font for tick labels: each glyph is five rows of three bits.
const GLYPHS: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7],
  '1': [2, 6, 2, 2, 7],
  '2': [7, 1, 7, 4, 7],
  '3': [7, 1, 7, 1, 7],
  '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7],
  '6': [7, 4, 7, 5, 7],
  '7': [7, 1, 1, 1, 1],
  '8': [7, 5, 7, 5, 7],
  '9': [7, 5, 7, 1, 7],
  '.': [0, 0, 0, 0, 2],
  '-': [0, 0, 7, 0, 0],
  e: [0, 7, 7, 4, 7],
  '+': [0, 2, 7, 2, 0],
};

/** A short label for a tick value. */
function tickLabel(v: number, span: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  const digits = Math.max(0, Math.min(4, 2 - Math.floor(Math.log10(Math.max(span, 1e-12)))));
  return v.toFixed(digits);
}

/** Draws the series on axes that fit all points and writes a PNG to path. */
export function savePlot(path: string, series: Series[], opts: PlotOptions = {}): void {
  const W = opts.width ?? 640,
    H = opts.height ?? 420;
  const img = new Uint8Array(W * H * 3).fill(255);
  const left = 70,
    right = W - 30,
    top = 20,
    bottom = H - 40;
  let x0 = Infinity,
    x1 = -Infinity,
    y0 = Infinity,
    y1 = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      if (!Number.isFinite(s.x[i]) || !Number.isFinite(s.y[i])) continue;
      x0 = Math.min(x0, s.x[i]);
      x1 = Math.max(x1, s.x[i]);
      y0 = Math.min(y0, s.y[i]);
      y1 = Math.max(y1, s.y[i]);
    }
  }
  if (!Number.isFinite(x0)) throw new Error(`savePlot: no finite points to plot into ${path}`);
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * (right - left);
  const py = (y: number) => bottom - ((y - y0) / (y1 - y0)) * (bottom - top);
  const set = (x: number, y: number, c: [number, number, number]) => {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    img.set(c, (y * W + x) * 3);
  };
  const line = (ax: number, ay: number, bx: number, by: number, c: [number, number, number]) => {
    const n = Math.max(Math.abs(bx - ax), Math.abs(by - ay), 1);
    for (let i = 0; i <= n; i++) {
      const x = ax + ((bx - ax) * i) / n,
        y = ay + ((by - ay) * i) / n;
      set(x, y, c);
      set(x, y + 1, c);
    }
  };
  // Axes and ticks (five per axis).
  const grey: [number, number, number] = [90, 90, 90];
  line(left, bottom, right, bottom, grey);
  line(left, top, left, bottom, grey);
  // Text at scale 2: each glyph pixel is a 2x2 block, glyphs 8 px apart.
  const text = (s: string, x: number, y: number, alignRight: boolean) => {
    const w = s.length * 8;
    let cx = alignRight ? x - w : x - w / 2;
    for (const ch of s) {
      const g = GLYPHS[ch];
      if (g)
        for (let r = 0; r < 5; r++)
          for (let c = 0; c < 3; c++)
            if ((g[r] >> (2 - c)) & 1) {
              for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) set(cx + c * 2 + dx, y + r * 2 + dy, grey);
            }
      cx += 8;
    }
  };
  for (let k = 0; k <= 4; k++) {
    const tx = left + ((right - left) * k) / 4,
      ty = bottom - ((bottom - top) * k) / 4;
    line(tx, bottom, tx, bottom + 5, grey);
    line(left - 5, ty, left, ty, grey);
    text(tickLabel(x0 + ((x1 - x0) * k) / 4, x1 - x0), tx, bottom + 9, false);
    text(tickLabel(y0 + ((y1 - y0) * k) / 4, y1 - y0), left - 8, ty - 5, true);
  }
  series.forEach((s, si) => {
    const c = s.color ?? PALETTE[si % PALETTE.length];
    for (let i = 0; i < s.x.length; i++) {
      const x = px(s.x[i]),
        y = py(s.y[i]);
      if (s.style === 'points') {
        for (let dx = -2; dx <= 2; dx++) for (let dy = -2; dy <= 2; dy++) if (dx * dx + dy * dy <= 5) set(x + dx, y + dy, c);
      } else if (i > 0) {
        line(px(s.x[i - 1]), py(s.y[i - 1]), x, y, c);
      }
    }
  });
  writeFileSync(path, encodePng(W, H, img));
}
