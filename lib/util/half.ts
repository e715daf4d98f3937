// float16 and bfloat16: their bit conversions to and from float32, and the
// storage classes that hold their bits (no imports: the dtype table, the
// allocator and the backend door all stand on this file).
//
// Note [Half storage]: the native core knows no 2-byte float. A float16
// tensor keeps its IEEE binary16 bits in a Uint16Array and a bfloat16
// tensor its bits in a BFloat16Bits (a Uint16Array subclass, so the two
// stay apart by class alone, as every other dtype does). The backend door
// (lib/backend/native.ts, Note [Half kernels]) runs every kernel on float32
// copies and rounds what the kernel wrote back, as PyTorch's CPU kernels
// compute half in float.

/** The bits of a bfloat16 storage (a Uint16Array whose class says bfloat16). */
export class BFloat16Bits extends Uint16Array {}

/** Whether a storage holds float16 or bfloat16 bits. */
export function isHalfStorage(a: unknown): a is Uint16Array {
  return a instanceof Uint16Array;
}

// float16 bits -> float32 bits, for all 65536 patterns: one table lookup
// per element, which is what a large checkpoint load needs. Made on first
// use. Note [Int32 bit views]: the loops below see float32 bits through
// Int32Array views, never Uint32Array: V8 keeps int32 elements unboxed,
// while a uint32 past 2^31 becomes a double, several times slower per element.
let f16Table: Int32Array | null = null;

function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) {
    // Inf stays inf; a NaN keeps its payload with the quiet bit set, as
    // the x86 conversion PyTorch uses (vcvtph2ps) does.
    return (sign | 0x7f800000 | (mant === 0 ? 0 : 0x400000 | (mant << 13))) >>> 0;
  }
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal: normalise the mantissa into float32's wider exponent range.
  let e = 113,
    m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

function table(): Int32Array {
  if (f16Table === null) {
    f16Table = new Int32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32Bits(h);
  }
  return f16Table;
}

/**
 * float32 bits (as a uint32 or an int32) -> float16 bits, rounding to
 * nearest even (PyTorch's c10::Half): subnormals kept, overflow to inf,
 * every NaN to the quiet NaN 0x7e00 with its sign.
 */
function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const ax = x & 0x7fffffff;
  if (ax >= 0x7f800000) return sign | (ax > 0x7f800000 ? 0x7e00 : 0x7c00);
  // 65520 (half-way between 65504, the largest float16, and 65536) and up round to inf.
  if (ax >= 0x477ff000) return sign | 0x7c00;
  if (ax >= 0x38800000) {
    // Normal: rebias the exponent, then round the 13 dropped bits to even;
    // a carry out of the mantissa correctly bumps the exponent.
    return sign | ((ax - 0x38000000 + 0xfff + ((ax >>> 13) & 1)) >>> 13);
  }
  // Subnormal or zero: the value in units of 2^-24, rounded to even. Up to
  // 2^-25 (a tie with zero) rounds to zero.
  if (ax <= 0x33000000) return sign;
  const shift = 126 - (ax >>> 23);
  const m = (ax & 0x7fffff) | 0x800000;
  let q = m >>> shift;
  const rem = m & ((1 << shift) - 1),
    halfway = 1 << (shift - 1);
  if (rem > halfway || (rem === halfway && (q & 1) === 1)) q++;
  return sign | q;
}

/**
 * float32 bits (as a uint32 or an int32) -> bfloat16 bits, rounding to nearest even (PyTorch's
 * c10::BFloat16): every NaN becomes 0x7fc0, as c10's scalar conversion
 * gives (PyTorch's vectorised CPU cast writes 0xffff instead).
 */
function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  return (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
}

const one32 = new Float32Array(1);
const one32Bits = new Uint32Array(one32.buffer);

/** The number a float16 bit pattern stands for. */
export function f16ToNumber(h: number): number {
  one32Bits[0] = table()[h & 0xffff];
  return one32[0];
}

/** The number a bfloat16 bit pattern stands for. */
export function bf16ToNumber(h: number): number {
  one32Bits[0] = (h & 0xffff) << 16;
  return one32[0];
}

/** A number's float16 bits: rounded to float32 first, as PyTorch's Half(float) does from a double. */
export function numberToF16(v: number): number {
  one32[0] = v;
  return f32BitsToF16Bits(one32Bits[0]);
}

/** A number's bfloat16 bits: rounded to float32 first, as PyTorch's BFloat16(float) does from a double. */
export function numberToBf16(v: number): number {
  one32[0] = v;
  return f32BitsToBf16Bits(one32Bits[0]);
}

/** v rounded to the nearest float16 (or, with `bf16`, bfloat16) value, through float32 as PyTorch. */
export function roundToHalf(v: number, bf16: boolean): number {
  return bf16 ? bf16ToNumber(numberToBf16(v)) : f16ToNumber(numberToF16(v));
}

/** The number a half storage's element stands for (float16 or bfloat16 by the storage's class). */
export function halfToNumber(a: Uint16Array, i: number): number {
  return a instanceof BFloat16Bits ? bf16ToNumber(a[i]) : f16ToNumber(a[i]);
}

/**
 * Widens n elements of half bits src[from...] into dst[to...] as float32
 * (exact: every float16 and bfloat16 value is a float32). `bf16` picks the
 * format. dst is seen through its bits, so no float register touches a NaN.
 */
export function halfToFloat32(src: Uint16Array, from: number, dst: Float32Array, to: number, n: number, bf16: boolean): void {
  const out = new Int32Array(dst.buffer, dst.byteOffset, dst.length);
  if (bf16) {
    for (let i = 0; i < n; i++) out[to + i] = src[from + i] << 16;
  } else {
    const t = table();
    for (let i = 0; i < n; i++) out[to + i] = t[src[from + i]];
  }
}

/** Rounds n float32 values src[from...] into half bits dst[to...] (to nearest even). */
export function float32ToHalf(src: Float32Array, from: number, dst: Uint16Array, to: number, n: number, bf16: boolean): void {
  const bits = new Int32Array(src.buffer, src.byteOffset, src.length);
  if (bf16) {
    for (let i = 0; i < n; i++) {
      const x = bits[from + i];
      dst[to + i] = (x & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
  } else {
    for (let i = 0; i < n; i++) dst[to + i] = f32BitsToF16Bits(bits[from + i]);
  }
}

/**
 * Rounds back into dst[to...] only the float32 values src[from...] whose
 * bits differ from dst's own widened bits: what a kernel did not write keeps
 * its half bits exactly (a NaN's payload too), so a read-only input passed
 * through float32 is never rewritten.
 */
export function float32ToHalfChanged(src: Float32Array, from: number, dst: Uint16Array, to: number, n: number, bf16: boolean): void {
  const bits = new Int32Array(src.buffer, src.byteOffset, src.length);
  if (bf16) {
    for (let i = 0; i < n; i++) {
      const x = bits[from + i];
      if (x !== dst[to + i] << 16) dst[to + i] = (x & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
  } else {
    const t = table();
    for (let i = 0; i < n; i++) {
      const x = bits[from + i];
      if (x !== t[dst[to + i]]) dst[to + i] = f32BitsToF16Bits(x);
    }
  }
}

/** Half bits of every value of a float32 array (a fresh storage of the class `bf16` picks). */
export function halfFromFloat32(src: Float32Array, bf16: boolean): Uint16Array {
  const out = bf16 ? new BFloat16Bits(src.length) : new Uint16Array(src.length);
  float32ToHalf(src, 0, out, 0, src.length, bf16);
  return out;
}
