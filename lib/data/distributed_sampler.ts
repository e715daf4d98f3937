// torch.utils.data.DistributedSampler: each of numReplicas processes reads
// its own share of a map-style dataset, in PyTorch's exact order, so that a
// job started from the same seed sees the same examples on every rank as
// PyTorch would (Note [PyTorch's randperm]).
import { Sampler, type Sized } from './sampler.js';
import { describe } from './dataset.js';

export interface DistributedSamplerOptions {
  /** How many processes share the dataset (default: the process group's world size). */
  numReplicas?: number;
  /** This process's place among them, 0..numReplicas-1 (default: its rank in the process group). */
  rank?: number;
  /** Shuffle the indices each epoch (default true), from seed + epoch. */
  shuffle?: boolean;
  /** The shuffle's seed, the same on every rank (default 0). */
  seed?: number;
  /**
   * Drop the tail that does not divide evenly among the replicas (default
   * false: pad by repeating indices from the start, so every rank gets as many).
   */
  dropLast?: boolean;
}

/** A value as an error message shows it: numbers and booleans as themselves, else described. */
const show = (v: unknown): string => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : describe(v));

const OPTIONS = ['numReplicas', 'rank', 'shuffle', 'seed', 'dropLast'];

/** Where the sampler asks the process group for its defaults; set by lib/distributed when it loads. */
export const processGroupInfo: { current: (() => { rank: number; worldSize: number } | null) | null } = { current: null };

/**
 * torch.utils.data.DistributedSampler(dataset, { numReplicas, rank, shuffle = true, seed = 0, dropLast = false }):
 * rank r reads indices r, r + numReplicas, r + 2·numReplicas, ... of one
 * order shared by every rank: a permutation drawn from seed + epoch (as
 * torch.randperm with a torch.Generator seeded so, PyTorch's numbers), or
 * 0..n-1 without shuffle, padded by repeating its start up to a multiple of
 * numReplicas, or cut to one with dropLast. Call setEpoch(epoch) before each
 * epoch's DataLoader pass for a new order. Pass it as the DataLoader's
 * `sampler`.
 */
export class DistributedSampler extends Sampler<number> {
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** The epoch setEpoch last set (0 until then). */
  epoch = 0;

  constructor(
    readonly dataset: Sized,
    opts?: DistributedSamplerOptions,
  ) {
    super();
    if (opts !== undefined && (typeof opts !== 'object' || opts === null || Array.isArray(opts)))
      throw new TypeError(`DistributedSampler: options must be an object, got ${describe(opts)}`);
    const o = opts ?? {};
    for (const k of Object.keys(o)) {
      if (!OPTIONS.includes(k)) {
        const camel = k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
        const hint = OPTIONS.includes(camel) ? ` (did you mean '${camel}'?)` : '';
        throw new TypeError(`DistributedSampler: unknown option '${k}'${hint}; known options: ${OPTIONS.join(', ')}`);
      }
    }
    const n = (dataset as Sized | null)?.length;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
      throw new TypeError(`DistributedSampler: dataset must have a non-negative integer length, got ${describe(dataset)}`);
    let { numReplicas, rank } = o;
    if (numReplicas === undefined || rank === undefined) {
      const group = processGroupInfo.current?.() ?? null;
      if (!group)
        throw new Error(
          'DistributedSampler: the default process group is not initialized; call torch.distributed.initProcessGroup() ' +
            'first or pass numReplicas and rank',
        );
      numReplicas ??= group.worldSize;
      rank ??= group.rank;
    }
    if (typeof numReplicas !== 'number' || !Number.isInteger(numReplicas) || numReplicas < 1)
      throw new RangeError(`DistributedSampler: numReplicas must be a positive integer, got ${show(numReplicas)}`);
    if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 0 || rank >= numReplicas)
      throw new RangeError(`DistributedSampler: invalid rank ${show(rank)}, rank should be in the interval [0, ${numReplicas - 1}]`);
    const shuffle = o.shuffle ?? true;
    const dropLast = o.dropLast ?? false;
    const seed = o.seed ?? 0;
    if (typeof shuffle !== 'boolean') throw new TypeError(`DistributedSampler: shuffle must be a boolean, got ${show(shuffle)}`);
    if (typeof dropLast !== 'boolean') throw new TypeError(`DistributedSampler: dropLast must be a boolean, got ${show(dropLast)}`);
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed))
      throw new TypeError(`DistributedSampler: seed must be an integer, got ${show(seed)}`);
    this.numReplicas = numReplicas;
    this.rank = rank;
    this.shuffle = shuffle;
    this.seed = seed;
    this.dropLast = dropLast;
  }

  /** How many indices this rank reads per epoch (PyTorch's num_samples): the same on every rank. */
  get numSamples(): number {
    const n = this.dataset.length;
    // Dropping the tail: the largest count every rank can have.
    if (this.dropLast && n % this.numReplicas !== 0) return Math.ceil((n - this.numReplicas) / this.numReplicas);
    return Math.ceil(n / this.numReplicas);
  }

  /** numSamples × numReplicas: the length of the shared order after padding or cutting. */
  get totalSize(): number {
    return this.numSamples * this.numReplicas;
  }

  override get length(): number {
    return this.numSamples;
  }

  /** Sets the epoch the next pass shuffles for (its order comes from seed + epoch), as PyTorch's set_epoch. */
  setEpoch(epoch: number): void {
    if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch))
      throw new TypeError(`DistributedSampler.setEpoch: epoch must be an integer, got ${show(epoch)}`);
    this.epoch = epoch;
  }

  *[Symbol.iterator](): Iterator<number> {
    const n = this.dataset.length;
    const order: ArrayLike<number> = this.shuffle ? torchRandperm(n, this.seed + this.epoch) : Int32Array.from({ length: n }, (_, i) => i);
    const total = this.totalSize;
    // Position k of the padded order is order[k mod n]: PyTorch pads by
    // repeating the order from its start, as many times as it takes.
    for (let k = this.rank; k < total; k += this.numReplicas) yield order[k % n];
  }
}

// Note [PyTorch's randperm]: Kindling's own generator is Philox and gives
// other numbers than PyTorch for a seed, but a DistributedSampler's order
// is part of a job's recipe (the examples each rank sees), so here it is
// PyTorch 1.13's CPU randperm exactly: a Mersenne Twister (mt19937) seeded
// with the seed's low 32 bits, as torch.Generator().manual_seed(s) does,
// and the swap loop of aten's randperm_cpu: for i in 0..n-2, swap r[i] with
// r[i + next32() % (n - i)].

/** PyTorch's torch.randperm(n, generator=torch.Generator().manual_seed(seed)). */
export function torchRandperm(n: number, seed: number): Int32Array {
  const mt = new Mt19937(Number(BigInt.asUintN(32, BigInt(seed))));
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = i;
  for (let i = 0; i < n - 1; i++) {
    const z = i + (mt.next() % (n - i));
    const t = r[i];
    r[i] = r[z];
    r[z] = t;
  }
  return r;
}

/** The standard 32-bit Mersenne Twister (as std::mt19937 and PyTorch's at::mt19937). */
class Mt19937 {
  private readonly state = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    const s = this.state;
    s[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = s[i - 1] ^ (s[i - 1] >>> 30);
      // 1812433253 * prev + i, mod 2^32, without losing bits to doubles.
      s[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  /** The next 32-bit output. */
  next(): number {
    const s = this.state;
    if (this.index >= 624) {
      for (let i = 0; i < 624; i++) {
        const y = (s[i] & 0x80000000) | (s[(i + 1) % 624] & 0x7fffffff);
        let v = s[(i + 397) % 624] ^ (y >>> 1);
        if (y & 1) v ^= 0x9908b0df;
        s[i] = v >>> 0;
      }
      this.index = 0;
    }
    let y = s[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}
