// A progress bar for long loops: elapsed time, ETA, rate and live metrics.
// On a terminal it redraws one line, fitted to the terminal's width; in a
// log (CI, a pipe, a file) it prints a whole line every few seconds
// instead, so that logs stay readable.
import { checkOptions, fmtValue, isOptions } from '../util/args.js';

/** Where a {@link ProgressBar} writes: process.stderr, process.stdout, or any object of this shape. */
export interface ProgressStream {
  write(text: string): unknown;
  /** The terminal's width in characters (80 when a terminal does not say). */
  columns?: number;
  /** A terminal redraws the bar in place; anything else gets whole lines. */
  isTTY?: boolean;
}

/** Options of the {@link ProgressBar} constructor. */
export interface ProgressOptions {
  /** Text before the bar, such as 'epoch 1/5'. */
  label?: string;
  /** What the `units` of {@link ProgressBar.tick} count, for the rate: '512 samples/s' (default 'items'). */
  unit?: string;
  /** Default: process.stderr. */
  stream?: ProgressStream;
  /** Seconds between redraws: default 0.1 on a terminal and 5 otherwise; the first and the last step are always drawn. */
  interval?: number;
}

/** Options of {@link ProgressBar.tick}. */
export interface TickOptions {
  /** Items these steps covered (a batch's samples), for the rate. */
  units?: number;
  /** Values shown after the bar as name=value; each stays until replaced. */
  metrics?: Record<string, number | string>;
}

const BAR = 24;
const MIN_BAR = 8;

/** Seconds as mm:ss, or h:mm:ss from an hour up; '--:--' when not known. */
function clock(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600),
    m = Math.floor((s % 3600) / 60),
    sec = s % 60;
  const mm = String(m).padStart(2, '0'),
    ss = String(sec).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function metric(v: number | string): string {
  if (typeof v === 'string') return v;
  const a = Math.abs(v);
  return a !== 0 && Number.isFinite(a) && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4);
}

function rate(perSecond: number): string {
  return perSecond >= 100 ? perSecond.toFixed(0) : perSecond >= 10 ? perSecond.toFixed(1) : perSecond.toFixed(2);
}

/**
 * A progress bar over `total` steps, written to a stream:
 * `epoch 1/2 ██████░░░░  25% 196/782 [00:04<00:12] 3136 samples/s loss=0.4213`.
 *
 * ```ts
 * const bar = new ProgressBar(loader.length, { label: 'epoch 1', unit: 'samples' });
 * for (const [xb, yb] of loader) { ...; bar.tick(1, { units: xb.size(0), metrics: { loss } }); }
 * bar.close();
 * ```
 */
export class ProgressBar {
  private done = 0;
  private units = 0;
  private readonly start = process.hrtime.bigint();
  private lastDraw = -Infinity;
  private drawnAt = -1;
  private closed = false;
  private readonly metrics = new Map<string, string>();
  private readonly label: string;
  private readonly unit: string;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly interval: number;
  /** Steps in all: the bar is full when this many are done. */
  readonly total: number;

  constructor(total: number, options: ProgressOptions = {}) {
    if (!Number.isInteger(total) || total < 0)
      throw new RangeError(`ProgressBar: total must be a non-negative integer, got ${fmtValue(total)}`);
    checkOptions('ProgressBar', options, ['label', 'unit', 'stream', 'interval']);
    const { label = '', unit = 'items', stream = process.stderr, interval } = options;
    if (typeof label !== 'string') throw new TypeError(`ProgressBar: label must be a string, got ${fmtValue(label)}`);
    if (typeof unit !== 'string') throw new TypeError(`ProgressBar: unit must be a string, got ${fmtValue(unit)}`);
    if (typeof stream !== 'object' || stream === null || typeof stream.write !== 'function')
      throw new TypeError(`ProgressBar: stream must have a write(text) method, got ${fmtValue(stream)}`);
    if (interval !== undefined && (typeof interval !== 'number' || !(interval >= 0) || interval === Infinity))
      throw new RangeError(`ProgressBar: interval must be a non-negative number of seconds, got ${fmtValue(interval)}`);
    this.total = total;
    this.label = label;
    this.unit = unit;
    this.stream = stream;
    this.tty = stream.isTTY === true;
    this.interval = interval ?? (this.tty ? 0.1 : 5);
  }

  /** Steps done so far. */
  get count(): number {
    return this.done;
  }

  /** Seconds since the bar was made. */
  elapsed(): number {
    return Number(process.hrtime.bigint() - this.start) / 1e9;
  }

  /**
   * Marks `steps` more steps done (default 1; `bar.tick({ units })` is
   * one step), and redraws when the interval has passed or the last step
   * is done.
   */
  tick(steps: number | TickOptions = 1, options: TickOptions = {}): void {
    if (isOptions(steps)) [steps, options] = [1, steps];
    if (typeof steps !== 'number' || !Number.isFinite(steps) || steps < 0)
      throw new RangeError(`ProgressBar.tick: steps must be a non-negative number, got ${fmtValue(steps)}`);
    checkOptions('ProgressBar.tick', options, ['units', 'metrics']);
    const { units = 0, metrics } = options;
    if (typeof units !== 'number' || !Number.isFinite(units) || units < 0)
      throw new RangeError(`ProgressBar.tick: units must be a non-negative number, got ${fmtValue(units)}`);
    if (metrics !== undefined && !isOptions(metrics))
      throw new TypeError(`ProgressBar.tick: metrics must be an object like { loss: 0.25 }, got ${fmtValue(metrics)}`);
    this.done += steps;
    this.units += units;
    for (const [k, v] of Object.entries(metrics ?? {})) {
      if (typeof v !== 'number' && typeof v !== 'string')
        throw new TypeError(`ProgressBar.tick: metric '${k}' must be a number or a string, got ${fmtValue(v)}`);
      this.metrics.set(k, metric(v));
    }
    const t = this.elapsed();
    if (t - this.lastDraw >= this.interval || this.done >= this.total) this.draw(t);
  }

  /**
   * The bar's line as it would be drawn `elapsed` seconds after the start
   * (default: now). On a terminal it is fitted into the stream's columns:
   * the bar narrows first, then the line is cut.
   */
  render(elapsed: number = this.elapsed()): string {
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const eta = this.done >= this.total ? 0 : frac > 0 ? (elapsed / frac) * (1 - frac) : Infinity;
    const speed =
      elapsed > 0 ? (this.units > 0 ? `${rate(this.units / elapsed)} ${this.unit}/s` : `${rate(this.done / elapsed)} it/s`) : '';
    const head = this.label ? `${this.label} ` : '';
    const tail =
      ` ${String(Math.round(frac * 100)).padStart(3)}% ${this.done}/${this.total} [${clock(elapsed)}<${clock(eta)}]` +
      (speed ? ` ${speed}` : '') +
      [...this.metrics].map(([k, v]) => ` ${k}=${v}`).join('');
    // A line as wide as the terminal would wrap: one column stays free.
    const room = this.tty ? Math.max(1, (this.stream.columns ?? 80) - 1) : Infinity;
    const width = Math.max(MIN_BAR, Math.min(BAR, room - head.length - tail.length));
    const filled = Math.round(frac * width);
    const line = `${head}${'█'.repeat(filled)}${'░'.repeat(width - filled)}${tail}`;
    return line.length <= room ? line : line.slice(0, room);
  }

  private draw(t: number): void {
    this.lastDraw = t;
    this.drawnAt = this.done;
    const line = this.render(t);
    if (this.tty) this.stream.write(`\r\x1b[2K${line}`);
    else this.stream.write(`${line}\n`);
  }

  /** Draws the final state if it was not drawn, and ends the line on a terminal so later output starts clean. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.drawnAt !== this.done) this.draw(this.elapsed());
    if (this.tty) this.stream.write('\n');
  }
}
