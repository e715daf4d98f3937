// torch.Generator: a random stream of its own, passable to every sampler
// (torch.rand(3, { generator })) and to the DataLoader.
//
// A Generator is a Philox state [seed, word] in a BigUint64Array, the same
// state the native samplers advance (Note [Per-thread random state] in
// native/cpu/random.cc). The native samplers read and advance it in place;
// the JS draws below (nextUint32, below) compute the same Philox words here,
// so native and JS draws from one generator take consecutive words of one
// stream, and a seed gives the same numbers whichever way they are drawn.
import { Storage, Tensor } from '../tensor.js';
import { defaultRngState, makeRef, native, seedBits } from '../backend/native.js';
import { fmtValue, param } from '../util/args.js';
import { TorchDevice } from '../backend/device.js';
import { parseDevice, type Device } from '../backend/cuda.js';

/** torch.Generator()'s seed until manualSeed (PyTorch's default_rng_seed_val). */
const GENERATOR_DEFAULT_SEED = 67280421310721n;

const U32 = 0x1_0000_0000;

// The high 32 bits of a 32x32-bit product, exact in doubles (16-bit halves).
function mulhi32(a: number, b: number): number {
  const al = a & 0xffff,
    ah = a >>> 16,
    bl = b & 0xffff,
    bh = b >>> 16;
  const cross = ah * bl + al * bh;
  return (ah * bh + Math.floor((cross + Math.floor((al * bl) / 65536)) / 65536)) >>> 0;
}

/** Philox4x32-10 block `block` under `key`, into out[0..3]: native/cpu/random.cc's refill. */
function philoxBlock(key: bigint, block: number, out: Uint32Array): void {
  let c0 = block >>> 0,
    c1 = Math.floor(block / U32) >>> 0,
    c2 = 0,
    c3 = 0;
  let k0 = Number(key & 0xffffffffn) >>> 0,
    k1 = Number(key >> 32n) >>> 0;
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi32(0xd2511f53, c0),
      lo0 = Math.imul(0xd2511f53, c0) >>> 0;
    const hi1 = mulhi32(0xcd9e8d57, c2),
      lo1 = Math.imul(0xcd9e8d57, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** What torch.Generator's constructor takes: a device (PyTorch) or a seed (shorthand for .manualSeed(seed)). */
export type GeneratorInit = number | bigint | string | TorchDevice | { device?: string | TorchDevice };

/**
 * torch.Generator: a seedable random stream, independent of the global one
 * (torch.manualSeed) and of every other Generator. Pass it as the
 * `generator` option of `rand`, `randn`, `randint`, `randperm`, `normal`,
 * `multinomial`, `bernoulli`, the `*Like` samplers, `uniform_`/`normal_`/
 * `bernoulli_`, and the DataLoader.
 *
 * `new Generator()` starts from PyTorch's default seed (67280421310721),
 * `new Generator({ device: 'cpu' })` likewise; `new Generator(seed)` is
 * shorthand for `new Generator().manualSeed(seed)`. The numbers differ from
 * PyTorch's for the same seed (another algorithm: Philox4x32-10); they are
 * the same for a seed on every machine, thread count and device. Samples
 * for CUDA tensors are drawn on the CPU and copied.
 */
export class Generator {
  /** @internal [seed, word]: the native samplers' state (Note [Per-thread random state]). */
  readonly _state: BigUint64Array;
  /** The device the generator is for (PyTorch's generator.device). */
  readonly device: TorchDevice;
  // The last Philox block computed for the JS draws, by block index.
  private cachedBlock = -1;
  private cachedKey = -1n;
  private readonly words = new Uint32Array(4);

  constructor(init?: GeneratorInit, /** @internal */ state?: BigUint64Array) {
    let dev: Device = 'cpu';
    let seed: number | bigint | undefined;
    if (typeof init === 'number' || typeof init === 'bigint') seed = init;
    else if (typeof init === 'string' || init instanceof TorchDevice) dev = parseDevice(init, 'Generator');
    else if (init !== undefined && init !== null) {
      if (typeof init !== 'object' || Array.isArray(init))
        throw new TypeError(`Generator: expected a device or a seed, got ${fmtValue(init)}`);
      for (const k of Object.keys(init)) if (k !== 'device') throw new TypeError(`Generator: unknown option '${k}' (expected 'device')`);
      if (init.device !== undefined) dev = parseDevice(init.device, 'Generator');
    }
    this.device = TorchDevice.of(dev);
    this._state = state ?? new BigUint64Array([GENERATOR_DEFAULT_SEED, 0n]);
    if (seed !== undefined) this.manualSeed(seed);
  }

  /** Restarts the stream from `seed` (negative seeds wrap as two's complement); returns this, as torch.Generator.manual_seed does. */
  manualSeed(seed: number | bigint): this {
    if ((typeof seed !== 'number' || !Number.isSafeInteger(seed)) && typeof seed !== 'bigint') {
      throw new TypeError(`Generator.manualSeed: seed must be a safe integer or a bigint, got ${fmtValue(seed)}`);
    }
    this._state[0] = seedBits(seed, 'Generator.manualSeed');
    this._state[1] = 0n;
    return this;
  }

  /** The seed the stream started from (as an unsigned 64-bit value; rounded past 2^53, see initialSeedBigInt). */
  initialSeed(): number {
    return Number(this._state[0]);
  }

  /** The seed the stream started from, exactly, as an unsigned 64-bit bigint. */
  initialSeedBigInt(): bigint {
    return this._state[0];
  }

  /** Reseeds from a nondeterministic seed and returns it (torch.Generator.seed). */
  seed(): number {
    const s = Math.floor(Math.random() * Number.MAX_SAFE_INTEGER);
    this.manualSeed(s);
    return s;
  }

  /** The state as a uint8 tensor of 16 bytes (seed and position), for setState. */
  getState(): Tensor {
    const bytes = new Uint8Array(16);
    new BigUint64Array(bytes.buffer).set(this._state);
    return new Tensor(new Storage(bytes), [16], [1], 0, 'uint8');
  }

  /** Restores a state from getState (of this or any generator); returns this. */
  setState(state: Tensor): this {
    if (!(state instanceof Tensor) || state.dtype !== 'uint8' || state.numel() !== 16 || state.device !== 'cpu') {
      throw new TypeError(`Generator.setState: expected a 16-byte uint8 CPU tensor from getState(), got ${fmtValue(state)}`);
    }
    const bytes = Uint8Array.from(state.contiguous().toTypedArray() as Uint8Array);
    this._state.set(new BigUint64Array(bytes.buffer));
    return this;
  }

  /** The next 32 random bits, as an unsigned integer: the next word of the stream. */
  nextUint32(): number {
    const key = this._state[0];
    const word = Number(this._state[1]);
    const block = Math.floor(word / 4);
    if (block !== this.cachedBlock || key !== this.cachedKey) {
      philoxBlock(key, block, this.words);
      this.cachedBlock = block;
      this.cachedKey = key;
    }
    this._state[1] = BigInt(word + 1);
    return this.words[word % 4];
  }

  /** Uniform integer in [0, n) without modulo bias, 1 <= n <= 2^32 (the native samplers' method). */
  below(n: number): number {
    if (!Number.isInteger(n) || n < 0 || n > U32)
      throw new RangeError(`Generator.below: n must be an integer in [0, 2^32], got ${fmtValue(n)}`);
    if (n <= 1) return 0;
    if (n === U32) {
      // The native samplers' 64-bit path: the high word of two.
      const hi = this.nextUint32();
      this.nextUint32();
      return hi;
    }
    // Lemire's multiply-and-reject, as native/cpu/random.cc's below.
    let x = this.nextUint32();
    let lo = Math.imul(x, n) >>> 0;
    if (lo < n) {
      const t = (U32 - n) % n;
      while (lo < t) {
        x = this.nextUint32();
        lo = Math.imul(x, n) >>> 0;
      }
    }
    return mulhi32(x, n);
  }

  /** A random permutation of 0..n-1, the same as torch.randperm(n, { generator }) gives. */
  randperm(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff)
      throw new RangeError(`Generator.randperm: n must be an integer in [0, 2^31), got ${fmtValue(n)}`);
    const out = new BigInt64Array(n);
    native.randperm(makeRef(out, 0, [n], [1]), this._state);
    return Int32Array.from(out, (v) => Number(v));
  }
}

/** The calling thread's default generator: the stream torch.manualSeed seeds and samplers use without a generator. */
export const defaultGenerator = new Generator(undefined, defaultRngState);

/** The checked `generator` option of a sampler: the state to pass to the native call. */
export function generatorState(g: unknown, op: string): BigUint64Array | undefined {
  if (g === undefined || g === null) return undefined;
  if (!(g instanceof Generator)) throw new TypeError(`${op}: generator must be a torch.Generator, got ${fmtValue(g)}`);
  return g._state;
}

/** torch.get_rng_state: the default generator's state, a uint8 tensor for setRngState. */
export function getRngState(): Tensor {
  return defaultGenerator.getState();
}

/** torch.set_rng_state: restores the default generator's state from getRngState. */
export function setRngState(state: Tensor): void {
  defaultGenerator.setState(state);
}

/** The keyword-only `generator` parameter of a declared sampler (PyTorch's `Generator? generator=None`). */
export const generatorParam = param.kw(
  param.custom(
    'generator',
    'Generator?',
    (v, o): Generator | null => {
      if (v !== null && !(v instanceof Generator))
        throw new TypeError(`${o}: argument 'generator' must be a torch.Generator, got ${fmtValue(v)}`);
      return v as Generator | null;
    },
    null,
  ),
);
