import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';

const { ProgressBar } = torch.utils;

// A stream as the bar sees one: anything with write(), and a terminal's
// columns and isTTY where it is one.
function fakeStream(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  return { writes, isTTY, columns, write: (s: string) => writes.push(s) };
}

// A terminal's carriage return and erase-line, before each redraw.
const REDRAW = '\r\x1b[2K';
const ESC = String.fromCharCode(27);

describe('ProgressBar in a log (not a terminal)', () => {
  it('prints whole lines, without carriage returns, and the last one at 100%', () => {
    const stream = fakeStream(false);
    const bar = new ProgressBar(3, { label: 'epoch 1/2', unit: 'samples', stream, interval: 0 });
    for (let i = 0; i < 3; i++) bar.tick(1, { units: 64, metrics: { loss: 1 / (i + 2) } });
    bar.close();
    expect(stream.writes).toHaveLength(3);
    for (const w of stream.writes) {
      expect(w.endsWith('\n')).toBe(true);
      for (const c of ['\r', '\n', ESC]) expect(w.slice(0, -1)).not.toContain(c);
      expect(w).toMatch(/^epoch 1\/2 [█░]{24} +\d+% \d\/3 \[\d\d:\d\d<\d\d:\d\d\]/);
    }
    expect(stream.writes[0]).toContain(' 33% 1/3 ');
    expect(stream.writes[0]).toContain(' loss=0.5000\n');
    expect(stream.writes[2]).toMatch(/^epoch 1\/2 █{24} 100% 3\/3 \[\d\d:\d\d<00:00\] [\d.]+ samples\/s loss=0\.2500\n$/);
  });

  it('prints the first step, then only once an interval has passed, and always the last', () => {
    const stream = fakeStream(false);
    const bar = new ProgressBar(100, { stream, interval: 1000 });
    for (let i = 0; i < 100; i++) bar.tick();
    bar.close();
    expect(stream.writes.map((w) => w.match(/ (\d+)\/100 /)![1])).toEqual(['1', '100']);
  });

  it('draws an unfinished bar on close, once', () => {
    const stream = fakeStream(false);
    const bar = new ProgressBar(10, { stream, interval: 1000 });
    bar.tick(4);
    bar.tick(2);
    bar.close();
    bar.close();
    expect(stream.writes).toHaveLength(2);
    expect(stream.writes[1]).toContain(' 60% 6/10 ');
  });

  it('is not fitted to a width: a log line keeps its whole text', () => {
    const stream = fakeStream(false, 20);
    const bar = new ProgressBar(2, { label: 'a long label for a log line', stream, interval: 0 });
    bar.tick();
    expect(stream.writes[0]).toMatch(/^a long label for a log line [█░]{24} {2}50% 1\/2 /);
  });
});

describe('ProgressBar on a terminal', () => {
  it('redraws one line in place and ends it on close', () => {
    const stream = fakeStream(true, 120);
    const bar = new ProgressBar(2, { label: 'train', stream, interval: 0 });
    bar.tick();
    bar.tick();
    bar.close();
    expect(stream.writes).toHaveLength(3);
    expect(stream.writes[0].startsWith(REDRAW)).toBe(true);
    expect(stream.writes[1].startsWith(`${REDRAW}train ${'█'.repeat(24)} 100% 2/2 `)).toBe(true);
    expect(stream.writes[1].includes('\n')).toBe(false);
    expect(stream.writes[2]).toBe('\n');
  });

  // At 2 s the text after the bar is '  25% 196/782 [00:02<00:06] 6272 samples/s loss=0.4213',
  // 54 characters, and the label's 10 before it: 64 and the bar, in columns - 1.
  it.each([
    [200, 24],
    [89, 24],
    [80, 15],
    [73, 8],
    [60, 8],
  ])('fits the line into %d columns (a bar of %d), one column spare', (columns, barWidth) => {
    const stream = fakeStream(true, columns);
    const bar = new ProgressBar(782, { label: 'epoch 1/2', unit: 'samples', stream, interval: 0 });
    bar.tick(196, { units: 196 * 64, metrics: { loss: 0.42131 } });
    expect(stream.writes[0].length - REDRAW.length).toBeLessThanOrEqual(columns - 1);
    const line = bar.render(2);
    const full = `epoch 1/2 ${'█'.repeat(Math.round(0.25 * barWidth))}${'░'.repeat(barWidth - Math.round(0.25 * barWidth))}  25% 196/782 [00:02<00:06] 6272 samples/s loss=0.4213`;
    expect(line).toBe(full.slice(0, columns - 1));
  });

  it('cuts the line when even the narrowest bar does not fit', () => {
    const stream = fakeStream(true, 20);
    const bar = new ProgressBar(5, { label: 'epoch', stream, interval: 0 });
    bar.tick();
    expect(stream.writes[0]).toBe(`${REDRAW}epoch ██░░░░░░  20%`.slice(0, REDRAW.length + 19));
  });

  it('takes 80 columns when the terminal does not say', () => {
    const stream = fakeStream(true);
    const bar = new ProgressBar(5, { label: 'x'.repeat(100), stream, interval: 0 });
    bar.tick();
    expect(stream.writes[0].length - REDRAW.length).toBe(79);
  });
});

describe('ProgressBar.render: time, ETA and rate', () => {
  // A bar whose render is given the elapsed time, so that nothing depends on the clock.
  const at = (total: number, done: number, opts: { units?: number; unit?: string } = {}) => {
    const bar = new ProgressBar(total, { stream: fakeStream(false), interval: 1e9, unit: opts.unit });
    bar.tick(done, { units: opts.units ?? 0 });
    return bar;
  };

  it.each([
    [10, 5, 30, '[00:30<00:30]'],
    [10, 1, 12, '[00:12<01:48]'],
    [4, 3, 3725, '[1:02:05<20:42]'],
    [100, 50, 3725, '[1:02:05<1:02:05]'],
    [3, 0, 10, '[00:10<--:--]'],
    [3, 3, 10, '[00:10<00:00]'],
    [10, 5, 0.4, '[00:00<00:00]'],
  ])('total %d, %d done, %d s in: %s', (total, done, t, want) => {
    const bar = at(total, done);
    expect(bar.render(t)).toContain(` ${done}/${total} ${want}`);
  });

  it('gives the rate in units per second when steps count units, in steps per second otherwise', () => {
    expect(at(10, 2, { units: 128, unit: 'samples' }).render(2)).toMatch(/\] 64\.0 samples\/s$/);
    expect(at(10, 2, { units: 1000 }).render(2)).toMatch(/\] 500 items\/s$/);
    expect(at(10, 3).render(2)).toMatch(/\] 1\.50 it\/s$/);
  });

  it('shows metrics as name=value, numbers with four decimals or in exponent form, each kept until replaced', () => {
    const bar = new ProgressBar(10, { stream: fakeStream(false), interval: 1e9 });
    bar.tick(1, { metrics: { loss: 0.123456, lr: '1e-3' } });
    bar.tick({ metrics: { loss: 0.00001234, big: 123456 } });
    expect(bar.count).toBe(2);
    expect(bar.render(1)).toMatch(/ loss=1\.234e-5 lr=1e-3 big=1\.235e\+5$/);
  });

  it('counts the percentage and bar from the steps done, full at total', () => {
    expect(at(8, 2).render(1)).toMatch(/^██████░{18} {2}25% 2\/8 /);
    expect(at(0, 0).render(1)).toMatch(/^█{24} 100% 0\/0 /);
  });
});

describe('ProgressBar: arguments', () => {
  it('refuses unknown option keys with the nearest valid one', () => {
    expect(() => new ProgressBar(3, { lable: 'x' } as never)).toThrow("ProgressBar: unknown option 'lable' (did you mean 'label'?)");
    const bar = new ProgressBar(3, { stream: fakeStream(false) });
    expect(() => bar.tick(1, { unit: 3 } as never)).toThrow("ProgressBar.tick: unknown option 'unit' (did you mean 'units'?)");
    expect(() => bar.tick(1, 64 as never)).toThrow(/ProgressBar.tick: options must be a plain object/);
  });
  it('refuses bad values, naming them', () => {
    expect(() => new ProgressBar(-1)).toThrow('ProgressBar: total must be a non-negative integer, got -1');
    expect(() => new ProgressBar(2.5)).toThrow(RangeError);
    expect(() => new ProgressBar(3, { stream: {} as never })).toThrow('ProgressBar: stream must have a write(text) method, got {}');
    expect(() => new ProgressBar(3, { interval: -1 })).toThrow(/interval must be a non-negative number of seconds, got -1/);
    expect(() => new ProgressBar(3, { label: 5 } as never)).toThrow('ProgressBar: label must be a string, got 5');
    const bar = new ProgressBar(3, { stream: fakeStream(false) });
    expect(() => bar.tick(-1)).toThrow('ProgressBar.tick: steps must be a non-negative number, got -1');
    expect(() => bar.tick(1, { units: NaN })).toThrow(/units must be a non-negative number, got NaN/);
    expect(() => bar.tick(1, { metrics: { loss: null } } as never)).toThrow(
      "ProgressBar.tick: metric 'loss' must be a number or a string, got null",
    );
  });
});
