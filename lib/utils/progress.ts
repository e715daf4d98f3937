// A progress bar for long loops: elapsed time, ETA, rate and live metrics.
// On a terminal it redraws one line; in a log (CI, a pipe) it prints a line
// every few seconds instead, so logs stay readable.
export interface ProgressOptions {
  /** Label before the bar. */
  label?: string;
  /** Unit of `rate` (e.g. 'samples'). */
  unit?: string;
  stream?: NodeJS.WriteStream;
  /** Seconds between lines when not on a terminal. */
  logEvery?: number;
}

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

export class ProgressBar {
  private done = 0;
  private units = 0;
  private readonly start = process.hrtime.bigint();
  private lastDraw = 0;
  private drawnAt = -1;
  private metrics: Record<string, string> = {};
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly opts: ProgressOptions = {},
  ) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = !!this.stream.isTTY;
  }

  private elapsed(): number {
    return Number(process.hrtime.bigint() - this.start) / 1e9;
  }

  /** Marks `steps` more steps done covering `units` items (for the rate). */
  tick(steps = 1, units = 0, metrics: Record<string, number | string> = {}): void {
    this.done += steps;
    this.units += units;
    for (const [k, v] of Object.entries(metrics)) this.metrics[k] = typeof v === 'number' ? v.toFixed(4) : v;
    const t = this.elapsed();
    const every = this.tty ? 0.1 : (this.opts.logEvery ?? 5);
    if (t - this.lastDraw >= every || this.done >= this.total) {
      this.lastDraw = t;
      this.draw(t);
    }
  }

  render(t = this.elapsed()): string {
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const eta = frac > 0 ? (t / frac) * (1 - frac) : Infinity;
    const rate = this.units > 0 ? ` ${(this.units / Math.max(t, 1e-9)).toFixed(0)} ${this.opts.unit ?? 'items'}/s` : '';
    const m = Object.entries(this.metrics)
      .map(([k, v]) => ` ${k}=${v}`)
      .join('');
    const label = this.opts.label ? `${this.opts.label} ` : '';
    return `${label}${bar} ${String(Math.round(frac * 100)).padStart(3)}% ${this.done}/${this.total} [${clock(t)}<${clock(eta)}]${rate}${m}`;
  }

  private draw(t: number): void {
    this.drawnAt = this.done;
    const line = this.render(t);
    if (this.tty) this.stream.write(`\r\x1b[2K${line}`);
    else this.stream.write(line + '\n');
  }

  /** Finishes the line (on a terminal) so later output starts clean. */
  close(): void {
    if (this.drawnAt !== this.done) this.draw(this.elapsed());
    if (this.tty) this.stream.write('\n');
  }
}
