// A seedable random source for DataLoader shuffling (torch.Generator's
// role for samplers). It lives apart from the native generator so that a
// loader given its own generator shuffles the same way whatever else the
// program draws from torch.manualSeed's stream.

const U32 = 0x1_0000_0000;

/** splitmix32: spreads a seed's bits so nearby seeds give unrelated states. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Generator {
  // xoshiro128** state: 32-bit words, so no BigInt on the hot path.
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  private seedValue = 0;

  constructor(seed?: number) {
    this.manualSeed(seed ?? Math.floor(Math.random() * Number.MAX_SAFE_INTEGER));
  }

  /** Resets the stream; returns this, as torch.Generator.manual_seed does. */
  manualSeed(seed: number): this {
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
      throw new TypeError(`Generator.manualSeed: seed must be a safe integer, got ${String(seed)}`);
    }
    this.seedValue = seed;
    // Both halves of the (up to 53-bit) seed feed the state.
    const lo = (seed % U32) >>> 0;
    const hi = Math.floor(seed / U32) | 0;
    const st = { s: lo ^ Math.imul(hi, 0x632be5ab) };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st) | 1; // never the all-zero state
    return this;
  }

  initialSeed(): number {
    return this.seedValue;
  }

  /** Picks a fresh nondeterministic seed and returns it. */
  seed(): number {
    const s = Math.floor(Math.random() * Number.MAX_SAFE_INTEGER);
    this.manualSeed(s);
    return s;
  }

  /** The next 32 random bits, as an unsigned integer. */
  nextUint32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** Uniform integer in [0, n) without modulo bias, n <= 2^32. */
  below(n: number): number {
    if (n <= 1) return 0;
    // Draws at or above the largest multiple of n are redrawn, so every
    // residue is equally likely.
    const limit = U32 - (U32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** A random permutation of 0..n-1 (Fisher-Yates). */
  randperm(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff)
      throw new RangeError(`Generator.randperm: n must be an integer in [0, 2^31), got ${n}`);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
