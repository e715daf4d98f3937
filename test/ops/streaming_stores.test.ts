// Elementwise results of 1 MiB or more whose memory is cold are written with
// non-temporal stores (Note [Streaming stores], native/cpu/cache.cc): the
// values must be exactly those of the plain loops, for every layout the
// driver hands out, and a result in memory the previous op just wrote (the
// warm block cache's) is written normally.
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';

const N = 1 << 20;

// Reading 64 MiB pushes every earlier record out of the recency window (at
// most 32 MiB), so a result then lands in memory that counts as cold even if
// the GC just handed back a buffer an earlier op wrote.
const flushBuffer = torch.zeros(16 << 20);
const flush = () => void flushBuffer.sum();

/** Runs f and returns its result with how many outputs it streamed. */
function streamed<T>(f: () => T): [T, number] {
  const before = torch.memory.stats().streamed;
  const r = f();
  return [r, torch.memory.stats().streamed - before];
}

function expectValues(t: torch.Tensor, ref: (i: number) => number): void {
  const got = t.contiguous().toTypedArray() as ArrayLike<number>;
  expect(got.length).toBe(t.numel());
  let bad = -1;
  for (let i = 0; i < got.length && bad < 0; i++) if (got[i] !== ref(i)) bad = i;
  expect(bad === -1 ? 'all equal' : `element ${bad}: got ${got[bad]}, expected ${ref(bad)}`).toBe('all equal');
}

describe('streaming stores for cold elementwise outputs', () => {
  const a = torch.randn(N);
  const b = torch.randn(N);
  const av = a.toTypedArray() as Float32Array;
  const bv = b.toTypedArray() as Float32Array;

  it('streams a fresh 4 MiB add, mul and relu result, with the plain loops values', () => {
    flush();
    const [sum, n1] = streamed(() => a.add(b));
    flush();
    const [prod, n2] = streamed(() => a.mul(b));
    flush();
    const [pos, n3] = streamed(() => a.relu());
    expect([n1, n2, n3]).toEqual([1, 1, 1]);
    expectValues(sum, (i) => Math.fround(av[i] + bv[i]));
    expectValues(prod, (i) => Math.fround(av[i] * bv[i]));
    expectValues(pos, (i) => (av[i] < 0 ? 0 : av[i]));
  });

  it('streams exp and sigmoid (the wide SIMD loops) with the values of the same op on pieces too small to stream', () => {
    for (const f of ['exp', 'sigmoid'] as const) {
      flush();
      const [cold, n] = streamed(() => a[f]());
      const piece = N / 8; // 512 KiB results
      const [pieces, m] = streamed(() => Array.from({ length: 8 }, (_, k) => a.narrow(0, k * piece, piece)[f]()));
      expect([f, n, m]).toEqual([f, 1, 0]);
      expect(Array.from(cold.toTypedArray() as Float32Array)).toEqual(Array.from(torch.cat(pieces).toTypedArray() as Float32Array));
    }
  });

  it('gives the same values for broadcast, transposed and odd-length operands and non-float outputs', () => {
    const m = a.view(1024, 1024);
    const row = torch.randn(1024);
    const rv = row.toTypedArray() as Float32Array;
    flush();
    const [bc, n1] = streamed(() => m.add(row));
    expectValues(bc, (i) => Math.fround(av[i] + rv[i % 1024]));
    // A transposed input is walked in tiles; the output rows stay contiguous.
    flush();
    const [tr, n2] = streamed(() => m.t().mul(2));
    expectValues(tr, (i) => Math.fround(av[(i % 1024) * 1024 + Math.floor(i / 1024)] * 2));
    // An odd length leaves rows that end mid cache line.
    const odd = N + 7;
    const x = torch.arange(odd, { dtype: 'int32' });
    flush();
    const [ints, n3] = streamed(() => x.add(x));
    expectValues(ints, (i) => 2 * i);
    // A bool result (one byte per element) and a float64 one.
    flush();
    const [gt, n4] = streamed(() => a.gt(b));
    expectValues(gt, (i) => (av[i] > bv[i] ? 1 : 0));
    const d = a.double();
    flush();
    const [sq, n5] = streamed(() => d.mul(d));
    expectValues(sq, (i) => av[i] * av[i]);
    expect([n1, n2, n3, n4, n5].every((n) => n === 1)).toBe(true);
  });

  it('writes normally into memory the previous op wrote (memory.scope gives the block back warm), and in place', () => {
    // 256K floats: exactly the 1 MiB threshold, so what is judged warm fits
    // any last-level cache of 4 MiB or more.
    const x = torch.randn(N / 4);
    let total = 0;
    for (let k = 0; k < 5; k++) total += streamed(() => torch.memory.scope(() => void x.relu()))[1];
    // The first result may land in cold memory; the next four reuse its block.
    expect(total).toBeLessThanOrEqual(1);
    expect(torch.memory.stats().hits).toBeGreaterThan(0);
    const y = torch.randn(N);
    const yv = Float32Array.from(y.toTypedArray() as Float32Array);
    const [, n] = streamed(() => y.add_(1));
    expect(n).toBe(0);
    expectValues(y, (i) => Math.fround(yv[i] + 1));
  });

  it('leaves small results alone', () => {
    const s = torch.randn(1000);
    const [, n] = streamed(() => s.add(s));
    expect(n).toBe(0);
  });
});
