// Learning-rate schedulers, after torch.optim.lr_scheduler (1.13). Each
// computes its values as PyTorch does (the chainable form, from the
// groups' current lr, where PyTorch uses it), so sequences match PyTorch's
// to double rounding.
import { Tensor } from '../tensor.js';
import { Optimizer, as, late, type ParamGroup } from './optimizer.js';
import { bindOptions, isOptions, param, type CallArgs, type OptionsOf } from '../util/args.js';

type AnyOptimizer = Optimizer<ParamGroup>;

// The signatures (Note [Optimizer signatures] in optimizer.ts). PyTorch's
// verbose, last in each, is not implemented.
const optimizerParam = late(param.custom('optimizer', 'Optimizer', as<Optimizer<ParamGroup>>));
const lastEpochParam = late(param.int('lastEpoch', -1));
/** StepLR(optimizer, step_size, gamma=0.1, last_epoch=-1). */
const STEP_LR = [optimizerParam, late(param.int('stepSize')), late(param.float('gamma', 0.1)), lastEpochParam] as const;
/** MultiStepLR(optimizer, milestones, gamma=0.1, last_epoch=-1). */
const MULTI_STEP_LR = [
  optimizerParam,
  late(param.custom('milestones', 'int[]', as<number[]>)),
  late(param.float('gamma', 0.1)),
  lastEpochParam,
] as const;
/** ExponentialLR(optimizer, gamma, last_epoch=-1). */
const EXPONENTIAL_LR = [optimizerParam, late(param.float('gamma')), lastEpochParam] as const;
/** CosineAnnealingLR(optimizer, T_max, eta_min=0, last_epoch=-1); T_max is tMax (TMax, as before, too). */
const COSINE_ANNEALING_LR = [optimizerParam, late(param.int('tMax')), late(param.float('etaMin', 0)), lastEpochParam] as const;
const floats = as<number | number[]>;
/**
 * OneCycleLR(optimizer, max_lr, total_steps=None, epochs=None,
 * steps_per_epoch=None, pct_start=0.3, anneal_strategy='cos',
 * cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
 * div_factor=25.0, final_div_factor=10000.0, three_phase=False, last_epoch=-1).
 */
const ONE_CYCLE_LR = [
  optimizerParam,
  late(param.custom('maxLr', 'float|float[]', floats)),
  late(param.optInt('totalSteps')),
  late(param.optInt('epochs')),
  late(param.optInt('stepsPerEpoch')),
  late(param.float('pctStart', 0.3)),
  late(param.oneOf('annealStrategy', ['cos', 'linear'], 'cos')),
  late(param.bool('cycleMomentum', true)),
  late(param.custom('baseMomentum', 'float|float[]', floats, 0.85)),
  late(param.custom('maxMomentum', 'float|float[]', floats, 0.95)),
  late(param.float('divFactor', 25)),
  late(param.float('finalDivFactor', 1e4)),
  late(param.bool('threePhase', false)),
  lastEpochParam,
] as const;
/**
 * ReduceLROnPlateau(optimizer, mode='min', factor=0.1, patience=10,
 * threshold=0.0001, threshold_mode='rel', cooldown=0, min_lr=0, eps=1e-08).
 */
const REDUCE_LR_ON_PLATEAU = [
  optimizerParam,
  late(param.oneOf('mode', ['min', 'max'], 'min')),
  late(param.float('factor', 0.1)),
  late(param.int('patience', 10)),
  late(param.float('threshold', 1e-4)),
  late(param.oneOf('thresholdMode', ['rel', 'abs'], 'rel')),
  late(param.int('cooldown', 0)),
  late(param.custom('minLr', 'float|float[]', floats, 0)),
  late(param.float('eps', 1e-8)),
] as const;

function checkOptimizer(name: string, optimizer: unknown): AnyOptimizer {
  if (!(optimizer instanceof Optimizer)) {
    const what = optimizer === null ? 'null' : typeof optimizer === 'object' ? (optimizer as object).constructor?.name : typeof optimizer;
    throw new TypeError(`${name}: ${what} is not an Optimizer`);
  }
  return optimizer as AnyOptimizer;
}

function checkInt(name: string, key: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name}: ${key} must be an integer, got ${String(v)}`);
  if (v < min) throw new RangeError(`${name}: ${key} must be >= ${min}, got ${v}`);
  return v;
}

function checkNum(name: string, key: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${name}: ${key} must be a number, got ${String(v)}`);
  return v;
}

type FieldKind = 'number' | 'string' | 'boolean' | 'array' | 'map';

function kindOf(v: unknown): FieldKind | null {
  if (Array.isArray(v)) return 'array';
  if (v instanceof Map) return 'map';
  const t = typeof v;
  return t === 'number' || t === 'string' || t === 'boolean' ? t : null;
}

/**
 * Copies a scheduler state dict into the scheduler's own fields. A state
 * dict is data from a file or JSON, so only keys the scheduler already has
 * as its own fields are taken (a `__proto__` or `constructor` key, or any
 * other stranger, is refused, never assigned), each with the kind of value
 * the field holds, and nothing is written until every entry has passed.
 * `nullAs` gives the value of a number field that JSON wrote as null (it
 * writes ±Infinity and NaN so).
 */
function loadFields(target: object, sd: unknown, name: string, skip: string[], nullAs: Record<string, () => number> = {}): void {
  const op = `${name}.loadStateDict`;
  if (sd === null || typeof sd !== 'object' || Array.isArray(sd))
    throw new TypeError(`${op}: expected a state dict object, got ${sd === null ? 'null' : Array.isArray(sd) ? 'an array' : typeof sd}`);
  const own = target as Record<string, unknown>;
  const updates: [string, unknown][] = [];
  for (const k of Object.keys(sd)) {
    if (skip.includes(k)) continue;
    const v = (sd as Record<string, unknown>)[k];
    const cur = Object.hasOwn(own, k) ? own[k] : undefined;
    const want = kindOf(cur);
    if (want === null) {
      const known = Object.keys(own).filter((f) => !skip.includes(f) && kindOf(own[f]) !== null);
      throw new TypeError(`${op}: unexpected key '${k}' in the state dict (${name}'s state has ${known.map((f) => `'${f}'`).join(', ')})`);
    }
    if (want === 'number' && v === null && k in nullAs) {
      updates.push([k, null]);
      continue;
    }
    if (want === 'map') {
      updates.push([k, toCountMap(v, `${op}: '${k}'`)]);
      continue;
    }
    if (kindOf(v) !== want)
      throw new TypeError(
        `${op}: '${k}' must be ${want === 'array' ? 'an array' : `a ${want}`}, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`,
      );
    if (want === 'array') {
      const arr = v as unknown[];
      const records = (cur as unknown[]).filter((x): x is Record<string, unknown> => x !== null && typeof x === 'object');
      if (records.length > 0) {
        updates.push([k, arr.map((x, i) => recordLike(x, records, `${op}: '${k}'[${i}]`))]);
        continue;
      }
      arr.forEach((x, i) => {
        if (typeof x !== 'number') throw new TypeError(`${op}: '${k}'[${i}] must be a number, got ${x === null ? 'null' : typeof x}`);
      });
      updates.push([k, arr.slice()]);
    } else {
      updates.push([k, v]);
    }
  }
  for (const [k, v] of updates) own[k] = v;
  for (const [k, v] of updates) if (v === null) own[k] = nullAs[k]();
}

/**
 * A copy of `x`, an entry of an array of records such as OneCycleLR's
 * phases: it must have the keys the current entries have, each a number or
 * one of the strings the current entries hold there (the strings name
 * param group options, so no other string is taken).
 */
function recordLike(x: unknown, current: Record<string, unknown>[], what: string): Record<string, unknown> {
  if (x === null || typeof x !== 'object' || Array.isArray(x))
    throw new TypeError(`${what} must be an object like ${JSON.stringify(current[0])}`);
  const keys = Object.keys(current[0]);
  const got = Object.keys(x);
  if (got.length !== keys.length || !keys.every((key) => Object.hasOwn(x, key)))
    throw new TypeError(`${what} must have the keys ${keys.join(', ')}, got ${got.join(', ')}`);
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = (x as Record<string, unknown>)[key];
    const allowed = current.map((c) => c[key]);
    const ok = typeof allowed[0] === 'number' ? typeof value === 'number' : allowed.includes(value);
    if (!ok)
      throw new TypeError(
        `${what}.${key} must be ${typeof allowed[0] === 'number' ? 'a number' : `one of ${[...new Set(allowed)].join(', ')}`}, got ${String(value)}`,
      );
    out[key] = value;
  }
  return out;
}

/** MultiStepLR's milestone counts: a Map, or an object of epoch keys as JSON writes it. */
function toCountMap(v: unknown, what: string): Map<number, number> {
  const entries: [unknown, unknown][] =
    v instanceof Map
      ? [...v.entries()]
      : v !== null && typeof v === 'object' && !Array.isArray(v)
        ? Object.keys(v).map((k) => [Number(k), (v as Record<string, unknown>)[k]])
        : [];
  if (!(v instanceof Map) && (v === null || typeof v !== 'object' || Array.isArray(v)))
    throw new TypeError(`${what} must be a Map or an object of epoch counts`);
  const m = new Map<number, number>();
  for (const [e, c] of entries) {
    if (typeof e !== 'number' || !Number.isInteger(e) || typeof c !== 'number' || !Number.isInteger(c)) {
      throw new TypeError(`${what} must map integer epochs to integer counts, got ${String(e)}: ${String(c)}`);
    }
    m.set(e, c);
  }
  return m;
}

/** The base of the epoch-driven schedulers (PyTorch's _LRScheduler). */
export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  baseLrs: number[] = [];
  lastEpoch = -1;
  /** @internal Steps taken, counting the one the constructor takes. */
  protected stepCount = 0;
  protected lastLr: number[] = [];
  protected readonly name: string;

  constructor(name: string, optimizer: Optimizer<ParamGroup>) {
    this.name = name;
    this.optimizer = checkOptimizer(name, optimizer);
  }

  /**
   * What PyTorch's _LRScheduler.__init__ does once the subclass has set its
   * fields (a TS subclass can only set them after super() returns): record
   * each group's initial lr and take the first step, which sets epoch 0.
   */
  protected start(lastEpoch: number): void {
    checkInt(this.name, 'lastEpoch', lastEpoch, -1);
    const groups = this.optimizer.paramGroups;
    if (lastEpoch === -1) {
      for (const g of groups) if (g.initialLr === undefined) g.initialLr = g.lr;
    } else {
      groups.forEach((g, i) => {
        if (g.initialLr === undefined) {
          throw new RangeError(`${this.name}: param 'initialLr' is not specified in paramGroups[${i}] when resuming an optimizer`);
        }
      });
    }
    this.baseLrs = groups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
    this._initialStep();
  }

  /** @internal PyTorch's _initial_step: the first step, counted from zero (SequentialLR retakes it for its first scheduler). */
  _initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The lr of each group for epoch `lastEpoch` (already advanced). */
  protected abstract getLr(): number[];

  /** Advances one epoch (or batch) and sets each group's lr. */
  step(): void {
    this.stepCount++;
    this.lastEpoch++;
    const values = this.getLr();
    const groups = this.optimizer.paramGroups;
    groups.forEach((g, i) => {
      g.lr = values[i];
    });
    this.lastLr = groups.map((g) => g.lr);
  }

  /**
   * @internal PyTorch's step(epoch), which SequentialLR takes at a milestone
   * (with epoch 0): jumps to `epoch` and sets the closed-form lr where the
   * scheduler has one, getLr's otherwise.
   */
  _stepTo(epoch: number): void {
    this.stepCount++;
    this.lastEpoch = epoch;
    const values = this.closedFormLr() ?? this.getLr();
    const groups = this.optimizer.paramGroups;
    groups.forEach((g, i) => {
      g.lr = values[i];
    });
    this.lastLr = groups.map((g) => g.lr);
  }

  /** The lr of each group at lastEpoch from baseLrs alone (PyTorch's _get_closed_form_lr), or null where there is none. */
  protected closedFormLr(): number[] | null {
    return null;
  }

  /** The lr of each group as of the last step. */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  /** The scheduler's own fields (not the optimizer), for checkpoints. */
  stateDict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this)) {
      if (k === 'optimizer' || typeof v === 'function') continue;
      out[k] = Array.isArray(v) ? v.slice() : v instanceof Map ? new Map(v) : v;
    }
    return out;
  }

  /** Restores the fields a stateDict() returned. */
  loadStateDict(sd: Record<string, unknown>): void {
    loadFields(this, sd, this.name, ['optimizer', 'name']);
  }

  protected groupLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
}

/** Multiplies the lr by gamma every stepSize epochs. */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  constructor(...args: CallArgs<typeof STEP_LR>) {
    const opts = bindOptions('StepLR', STEP_LR, args);
    super('StepLR', opts.optimizer);
    this.stepSize = checkInt('StepLR', 'stepSize', opts.stepSize, 1);
    this.gamma = checkNum('StepLR', 'gamma', opts.gamma);
    this.start(opts.lastEpoch);
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/** Multiplies the lr by gamma at each milestone epoch (once per occurrence in the list). */
export class MultiStepLR extends LRScheduler {
  milestones: Map<number, number>;
  gamma: number;

  constructor(...args: CallArgs<typeof MULTI_STEP_LR>) {
    const opts = bindOptions('MultiStepLR', MULTI_STEP_LR, args);
    super('MultiStepLR', opts.optimizer);
    const ms = opts.milestones as unknown;
    if (!Array.isArray(ms)) throw new TypeError(`MultiStepLR: milestones must be an array of integers, got ${String(ms)}`);
    this.milestones = new Map();
    for (const m of ms) {
      checkInt('MultiStepLR', 'milestones', m, 0);
      this.milestones.set(m, (this.milestones.get(m) ?? 0) + 1);
    }
    this.gamma = checkNum('MultiStepLR', 'gamma', opts.gamma);
    this.start(opts.lastEpoch);
  }

  protected getLr(): number[] {
    const count = this.milestones.get(this.lastEpoch);
    if (count === undefined) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma ** count);
  }

  protected override closedFormLr(): number[] {
    let passed = 0;
    for (const [m, count] of this.milestones) if (m <= this.lastEpoch) passed += count;
    return this.baseLrs.map((base) => base * this.gamma ** passed);
  }
}

/** Multiplies the lr by gamma every epoch. */
export class ExponentialLR extends LRScheduler {
  gamma: number;

  constructor(...args: CallArgs<typeof EXPONENTIAL_LR>) {
    const opts = bindOptions('ExponentialLR', EXPONENTIAL_LR, args);
    super('ExponentialLR', opts.optimizer);
    this.gamma = checkNum('ExponentialLR', 'gamma', opts.gamma);
    this.start(opts.lastEpoch);
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groupLrs();
    return this.groupLrs().map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** this.lastEpoch);
  }
}

/** CosineAnnealingLR's options: tMax, or TMax as Kindling first spelt it. */
type CosineAnnealingLROptions = OptionsOf<typeof COSINE_ANNEALING_LR> & { /** @deprecated tMax */ TMax?: number };

/** The arguments with a TMax option renamed tMax (given both, it is a value given twice). */
function renameTMax(args: unknown[]): unknown[] {
  const last = args[args.length - 1];
  if (!isOptions(last) || !Object.hasOwn(last, 'TMax')) return args;
  const { TMax, ...rest } = last;
  if (TMax !== undefined && rest.tMax !== undefined) throw new TypeError("CosineAnnealingLR: got multiple values for argument 'tMax'");
  return [...args.slice(0, -1), { ...rest, tMax: TMax ?? rest.tMax }];
}

/** Cosine annealing from the initial lr to etaMin over tMax epochs (SGDR without restarts). */
export class CosineAnnealingLR extends LRScheduler {
  // Kept under its first name: state dicts carry it so.
  TMax: number;
  etaMin: number;

  constructor(...args: CallArgs<typeof COSINE_ANNEALING_LR, CosineAnnealingLROptions>) {
    const opts = bindOptions('CosineAnnealingLR', COSINE_ANNEALING_LR, renameTMax(args));
    super('CosineAnnealingLR', opts.optimizer);
    this.TMax = checkNum('CosineAnnealingLR', 'TMax', opts.tMax);
    if (this.TMax === 0) throw new RangeError('CosineAnnealingLR: TMax must not be 0');
    this.etaMin = checkNum('CosineAnnealingLR', 'etaMin', opts.etaMin);
    this.start(opts.lastEpoch);
  }

  /** PyTorch's T_max. */
  get tMax(): number {
    return this.TMax;
  }
  set tMax(v: number) {
    this.TMax = v;
  }

  protected getLr(): number[] {
    const e = this.lastEpoch,
      T = this.TMax,
      etaMin = this.etaMin;
    if (e === 0) return this.groupLrs();
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    }
    // Python's % takes the divisor's sign and JS's the dividend's, but both
    // are zero (or -0, which === 0) exactly when the division is exact.
    const r = (e - 1 - T) % (2 * T);
    if (r === 0) {
      return this.optimizer.paramGroups.map((g, i) => g.lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return this.groupLrs().map(
      (lr) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (lr - etaMin) + etaMin,
    );
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.TMax))) / 2);
  }
}

export type OneCycleLROptions = Omit<OptionsOf<typeof ONE_CYCLE_LR>, 'optimizer'>;

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

/**
 * The 1cycle policy: the lr rises from maxLr / divFactor to maxLr, then
 * anneals far below the start; momentum (or Adam's beta1) moves inversely.
 * Stepped once per batch.
 */
export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  private phases: Phase[];
  private anneal: (start: number, end: number, pct: number) => number;
  cycleMomentum: boolean;
  private useBeta1: boolean;

  constructor(...args: CallArgs<typeof ONE_CYCLE_LR>) {
    const opts = bindOptions('OneCycleLR', ONE_CYCLE_LR, args);
    super('OneCycleLR', opts.optimizer);
    this.useBeta1 = false;
    const name = 'OneCycleLR';
    // null (PyTorch's None) is left out.
    const totalSteps = opts.totalSteps ?? undefined;
    const epochs = opts.epochs ?? undefined;
    const stepsPerEpoch = opts.stepsPerEpoch ?? undefined;
    if (totalSteps === undefined && epochs === undefined && stepsPerEpoch === undefined) {
      throw new RangeError(`${name}: You must define either totalSteps OR (epochs AND stepsPerEpoch)`);
    } else if (totalSteps !== undefined) {
      if (typeof totalSteps !== 'number' || !Number.isInteger(totalSteps) || totalSteps <= 0) {
        throw new RangeError(`${name}: Expected positive integer totalSteps, but got ${String(totalSteps)}`);
      }
      this.totalSteps = totalSteps;
    } else {
      if (typeof epochs !== 'number' || !Number.isInteger(epochs) || epochs <= 0) {
        throw new RangeError(`${name}: Expected positive integer epochs, but got ${String(epochs)}`);
      }
      if (typeof stepsPerEpoch !== 'number' || !Number.isInteger(stepsPerEpoch) || stepsPerEpoch <= 0) {
        throw new RangeError(`${name}: Expected positive integer stepsPerEpoch, but got ${String(stepsPerEpoch)}`);
      }
      this.totalSteps = epochs * stepsPerEpoch;
    }
    const pctStart = opts.pctStart;
    if (typeof pctStart !== 'number' || !(pctStart >= 0 && pctStart <= 1)) {
      throw new RangeError(`${name}: Expected float between 0 and 1 pctStart, but got ${String(pctStart)}`);
    }
    const total = this.totalSteps;
    this.phases = opts.threePhase
      ? [
          {
            endStep: pctStart * total - 1,
            startLr: 'initialLr',
            endLr: 'maxLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'baseMomentum',
          },
          {
            endStep: 2 * pctStart * total - 2,
            startLr: 'maxLr',
            endLr: 'initialLr',
            startMomentum: 'baseMomentum',
            endMomentum: 'maxMomentum',
          },
          { endStep: total - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
        ]
      : [
          {
            endStep: pctStart * total - 1,
            startLr: 'initialLr',
            endLr: 'maxLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'baseMomentum',
          },
          { endStep: total - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
        ];
    const strategy = opts.annealStrategy;
    if (strategy === 'cos') {
      this.anneal = (start, end, pct) => end + ((start - end) / 2.0) * (Math.cos(Math.PI * pct) + 1);
    } else if (strategy === 'linear') {
      this.anneal = (start, end, pct) => (end - start) * pct + start;
    } else {
      throw new RangeError(`${name}: annealStrategy must be one of 'cos' or 'linear', instead got ${String(strategy)}`);
    }
    const groups = this.optimizer.paramGroups;
    const divFactor = checkNum(name, 'divFactor', opts.divFactor);
    const finalDivFactor = checkNum(name, 'finalDivFactor', opts.finalDivFactor);
    const lastEpoch = opts.lastEpoch;
    const maxLrs = this.perGroup('maxLr', opts.maxLr);
    if (lastEpoch === -1) {
      groups.forEach((g, i) => {
        g.initialLr = maxLrs[i] / divFactor;
        g.maxLr = maxLrs[i];
        g.minLr = (g.initialLr as number) / finalDivFactor;
      });
    }
    this.cycleMomentum = opts.cycleMomentum;
    if (this.cycleMomentum) {
      const d = this.optimizer.defaults;
      if (!('momentum' in d) && !('betas' in d)) {
        throw new RangeError(`${name}: optimizer must support momentum with \`cycleMomentum\` option enabled`);
      }
      this.useBeta1 = 'betas' in d;
      const maxMomentums = this.perGroup('maxMomentum', opts.maxMomentum);
      const baseMomentums = this.perGroup('baseMomentum', opts.baseMomentum);
      if (lastEpoch === -1) {
        groups.forEach((g, i) => {
          if (this.useBeta1) g.betas = [maxMomentums[i], ...(g.betas as number[]).slice(1)];
          else g.momentum = maxMomentums[i];
          g.maxMomentum = maxMomentums[i];
          g.baseMomentum = baseMomentums[i];
        });
      }
    }
    this.start(lastEpoch);
  }

  private perGroup(key: string, v: number | number[] | undefined): number[] {
    const n = this.optimizer.paramGroups.length;
    if (Array.isArray(v)) {
      if (v.length !== n) throw new RangeError(`OneCycleLR: expected ${n} values for ${key}, got ${v.length}`);
      return v.map((x) => checkNum('OneCycleLR', key, x));
    }
    const x = checkNum('OneCycleLR', key, v);
    return new Array<number>(n).fill(x);
  }

  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new RangeError(`OneCycleLR: Tried to step ${stepNum + 1} times. The specified number of total steps is ${this.totalSteps}`);
    }
    return this.optimizer.paramGroups.map((g) => {
      let startStep = 0;
      let lr = 0,
        momentum = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const phase = this.phases[i];
        const endStep = phase.endStep;
        if (stepNum <= endStep || i === this.phases.length - 1) {
          const pct = (stepNum - startStep) / (endStep - startStep);
          lr = this.anneal(g[phase.startLr] as number, g[phase.endLr] as number, pct);
          if (this.cycleMomentum) momentum = this.anneal(g[phase.startMomentum] as number, g[phase.endMomentum] as number, pct);
          break;
        }
        startStep = phase.endStep;
      }
      if (this.cycleMomentum) {
        if (this.useBeta1) g.betas = [momentum, ...(g.betas as number[]).slice(1)];
        else g.momentum = momentum;
      }
      return lr;
    });
  }
}

export type ReduceLROnPlateauOptions = Omit<OptionsOf<typeof REDUCE_LR_ON_PLATEAU>, 'optimizer'>;

/** Cuts the lr by `factor` when a metric has not improved for `patience` steps. */
export class ReduceLROnPlateau {
  readonly optimizer: AnyOptimizer;
  mode: 'min' | 'max';
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  cooldown: number;
  cooldownCounter = 0;
  minLrs: number[];
  eps: number;
  best: number;
  numBadEpochs = 0;
  lastEpoch = 0;
  private lastLr: number[];

  constructor(...args: CallArgs<typeof REDUCE_LR_ON_PLATEAU>) {
    const name = 'ReduceLROnPlateau';
    const opts = bindOptions(name, REDUCE_LR_ON_PLATEAU, args);
    const optimizer = opts.optimizer;
    const factor = checkNum(name, 'factor', opts.factor);
    if (factor >= 1.0) throw new RangeError(`${name}: Factor should be < 1.0, got ${factor}`);
    this.factor = factor;
    this.optimizer = checkOptimizer(name, optimizer);
    const n = this.optimizer.paramGroups.length;
    const minLr = opts.minLr;
    if (Array.isArray(minLr)) {
      if (minLr.length !== n) throw new RangeError(`${name}: expected ${n} min_lrs, got ${minLr.length}`);
      this.minLrs = minLr.map((x) => checkNum(name, 'minLr', x));
    } else {
      this.minLrs = new Array<number>(n).fill(checkNum(name, 'minLr', minLr));
    }
    this.patience = checkInt(name, 'patience', opts.patience, 0);
    this.cooldown = checkInt(name, 'cooldown', opts.cooldown, 0);
    this.threshold = checkNum(name, 'threshold', opts.threshold);
    this.eps = checkNum(name, 'eps', opts.eps);
    const mode = opts.mode;
    if (mode !== 'min' && mode !== 'max') throw new RangeError(`${name}: mode ${String(mode)} is unknown!`);
    const thresholdMode = opts.thresholdMode;
    if (thresholdMode !== 'rel' && thresholdMode !== 'abs') {
      throw new RangeError(`${name}: threshold mode ${String(thresholdMode)} is unknown!`);
    }
    this.mode = mode;
    this.thresholdMode = thresholdMode;
    this.best = this.modeWorse;
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  private get modeWorse(): number {
    return this.mode === 'min' ? Infinity : -Infinity;
  }

  /** Whether the scheduler is in its cooldown after a reduction (PyTorch's in_cooldown). */
  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  /** Whether metric a improves on best by more than threshold, by mode and thresholdMode (PyTorch's is_better). */
  isBetter(a: number, best: number): boolean {
    if (this.mode === 'min' && this.thresholdMode === 'rel') return a < best * (1 - this.threshold);
    if (this.mode === 'min') return a < best - this.threshold;
    if (this.thresholdMode === 'rel') return a > best * (this.threshold + 1);
    return a > best + this.threshold;
  }

  /** Records this epoch's metric (a number or a one-element Tensor). */
  step(metric: number | Tensor): void {
    const current = metric instanceof Tensor ? metric.item() : metric;
    if (typeof current !== 'number')
      throw new TypeError(`ReduceLROnPlateau.step: metric must be a number or a Tensor, got ${typeof metric}`);
    this.lastEpoch += 1;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.inCooldown) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0; // bad epochs in cooldown do not count
    }
    if (this.numBadEpochs > this.patience) {
      this.reduceLr();
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  private reduceLr(): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      const oldLr = g.lr;
      const newLr = Math.max(oldLr * this.factor, this.minLrs[i]);
      if (oldLr - newLr > this.eps) g.lr = newLr;
    });
  }

  /** The lr of each group as of the last step. */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  /** The scheduler's own fields (not the optimizer), for checkpoints. */
  stateDict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this)) if (k !== 'optimizer') out[k] = Array.isArray(v) ? v.slice() : v;
    return out;
  }

  /** Restores the fields a stateDict() returned (a JSON null best is the initial ±Infinity). */
  loadStateDict(sd: Record<string, unknown>): void {
    // JSON writes the initial best (±Infinity) as null.
    loadFields(this, sd, 'ReduceLROnPlateau', ['optimizer'], { best: () => this.modeWorse });
  }
}

// ---- LambdaLR, LinearLR, SequentialLR ----------------------------------------------------

/** A function of the epoch giving the factor LambdaLR multiplies a group's initial lr by. */
export type LrLambda = (epoch: number) => number;

/** LambdaLR(optimizer, lr_lambda, last_epoch=-1). */
const LAMBDA_LR = [
  optimizerParam,
  late(param.custom('lrLambda', 'Callable|Callable[]', as<LrLambda | LrLambda[]>)),
  lastEpochParam,
] as const;
/** LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5, last_epoch=-1). */
const LINEAR_LR = [
  optimizerParam,
  late(param.float('startFactor', 1 / 3)),
  late(param.float('endFactor', 1)),
  late(param.int('totalIters', 5)),
  lastEpochParam,
] as const;
/** SequentialLR(optimizer, schedulers, milestones, last_epoch=-1). */
const SEQUENTIAL_LR = [
  optimizerParam,
  late(param.custom('schedulers', 'LRScheduler[]', as<LRScheduler[]>)),
  late(param.custom('milestones', 'int[]', as<number[]>)),
  lastEpochParam,
] as const;

/**
 * Sets each group's lr to its initial lr times lrLambda(epoch): one
 * function for every group, or an array of one per group. The functions
 * are not state: stateDict() holds null for each, and loadStateDict keeps
 * the scheduler's own.
 */
export class LambdaLR extends LRScheduler {
  /** One function per param group. */
  lrLambdas: LrLambda[];

  constructor(...args: CallArgs<typeof LAMBDA_LR>) {
    const name = 'LambdaLR';
    const opts = bindOptions(name, LAMBDA_LR, args);
    super(name, opts.optimizer);
    const n = this.optimizer.paramGroups.length;
    const f = opts.lrLambda as unknown;
    if (Array.isArray(f)) {
      if (f.length !== n) throw new RangeError(`${name}: expected ${n} lrLambdas (one per param group), but got ${f.length}`);
      this.lrLambdas = f.slice();
    } else {
      this.lrLambdas = new Array<LrLambda>(n).fill(f as LrLambda);
    }
    this.lrLambdas.forEach((fn, i) => {
      if (typeof fn !== 'function')
        throw new TypeError(`${name}: lrLambda must be a function or an array of them, got ${String(fn)} for group ${i}`);
    });
    this.start(opts.lastEpoch);
  }

  protected getLr(): number[] {
    return this.lrLambdas.map((fn, i) => {
      const factor: unknown = fn(this.lastEpoch);
      if (typeof factor !== 'number')
        throw new TypeError(`LambdaLR: lrLambda(${this.lastEpoch}) must return a number, got ${String(factor)}`);
      return this.baseLrs[i] * factor;
    });
  }

  /** The scheduler's own fields, with null for each lrLambda (a function is not state), as PyTorch's. */
  override stateDict(): Record<string, unknown> {
    return { ...super.stateDict(), lrLambdas: this.lrLambdas.map(() => null) };
  }

  /** Restores the fields a stateDict() returned; the scheduler keeps its own lrLambdas. */
  override loadStateDict(sd: Record<string, unknown>): void {
    loadFields(this, sd, this.name, ['optimizer', 'name', 'lrLambdas']);
  }
}

/**
 * Scales the initial lr by a factor that moves linearly from startFactor
 * to endFactor over totalIters steps, then stays at endFactor (a warmup
 * with startFactor < 1).
 */
export class LinearLR extends LRScheduler {
  /** The factor at epoch 0. */
  startFactor: number;
  /** The factor from epoch totalIters on. */
  endFactor: number;
  /** The number of steps the factor takes to reach endFactor. */
  totalIters: number;

  constructor(...args: CallArgs<typeof LINEAR_LR>) {
    const name = 'LinearLR';
    const opts = bindOptions(name, LINEAR_LR, args);
    super(name, opts.optimizer);
    const start = checkNum(name, 'startFactor', opts.startFactor);
    // PyTorch 1.13 takes 0 and fails at the first step (a division by 0); 2.x refuses it here.
    if (!(start > 0 && start <= 1)) throw new RangeError(`${name}: startFactor expected to be greater than 0 and at most 1, got ${start}`);
    const end = checkNum(name, 'endFactor', opts.endFactor);
    if (!(end >= 0 && end <= 1)) throw new RangeError(`${name}: endFactor expected to be between 0 and 1, got ${end}`);
    this.startFactor = start;
    this.endFactor = end;
    this.totalIters = checkInt(name, 'totalIters', opts.totalIters, 1);
    this.start(opts.lastEpoch);
  }

  protected getLr(): number[] {
    const e = this.lastEpoch;
    if (e === 0) return this.groupLrs().map((lr) => lr * this.startFactor);
    if (e > this.totalIters) return this.groupLrs();
    const d = this.endFactor - this.startFactor;
    return this.groupLrs().map((lr) => lr * (1 + d / (this.totalIters * this.startFactor + (e - 1) * d)));
  }

  protected override closedFormLr(): number[] {
    const t = Math.min(this.totalIters, this.lastEpoch) / this.totalIters;
    return this.baseLrs.map((base) => base * (this.startFactor + (this.endFactor - this.startFactor) * t));
  }
}

/**
 * Runs schedulers one after another: schedulers[0] until milestones[0],
 * then schedulers[1] (restarted at its epoch 0) until milestones[1], and
 * so on, as PyTorch 1.13's. Every scheduler must drive `optimizer`.
 * stateDict() holds each scheduler's state under `schedulers`.
 */
export class SequentialLR extends LRScheduler {
  /** The schedulers, in the order they run. */
  schedulers: LRScheduler[];
  /** The epochs at which the next scheduler takes over. */
  milestones: number[];

  constructor(...args: CallArgs<typeof SEQUENTIAL_LR>) {
    const name = 'SequentialLR';
    const opts = bindOptions(name, SEQUENTIAL_LR, args);
    super(name, opts.optimizer);
    const scheds = opts.schedulers as unknown;
    if (!Array.isArray(scheds) || scheds.length === 0) {
      throw new TypeError(`${name}: schedulers must be a non-empty array of schedulers, got ${String(scheds)}`);
    }
    scheds.forEach((s: unknown, i) => {
      if (!(s instanceof LRScheduler)) {
        throw new TypeError(`${name}: schedulers[${i}] must be an epoch scheduler (StepLR, LinearLR, ...), got ${String(s)}`);
      }
      if (s.optimizer !== this.optimizer) {
        throw new RangeError(
          `${name}: expects all schedulers to belong to the same optimizer, but got schedulers[${i}] driving another optimizer than the one passed in`,
        );
      }
    });
    const ms = opts.milestones as unknown;
    if (!Array.isArray(ms)) throw new TypeError(`${name}: milestones must be an array of integers, got ${String(ms)}`);
    ms.forEach((m, i) => {
      checkInt(name, 'milestones', m, 0);
      if (i > 0 && m < ms[i - 1]) throw new RangeError(`${name}: milestones must be non-decreasing, got ${ms.join(', ')}`);
    });
    if (ms.length !== scheds.length - 1) {
      throw new RangeError(
        `${name}: expects one milestone fewer than schedulers, but got ${scheds.length} schedulers and ${ms.length} milestones`,
      );
    }
    const lastEpoch = checkInt(name, 'lastEpoch', opts.lastEpoch, -1);
    this.schedulers = scheds.slice() as LRScheduler[];
    this.milestones = (ms as number[]).slice();
    this.lastEpoch = lastEpoch + 1;
    const groups = this.optimizer.paramGroups;
    // Back to the initial lr, and each scheduler's construction step undone; then only the first one's retaken.
    for (const g of groups) g.lr = g.initialLr as number;
    for (const s of this.schedulers) s.lastEpoch -= 1;
    this.schedulers[0]._initialStep();
    this.baseLrs = groups.map((g) => g.initialLr as number);
    this.lastLr = this.schedulers[0].getLastLr();
  }

  protected getLr(): number[] {
    return this.groupLrs();
  }

  /** Steps the scheduler whose turn it is; at a milestone, the next one restarts at its epoch 0. */
  override step(): void {
    this.lastEpoch++;
    let idx = 0;
    while (idx < this.milestones.length && this.milestones[idx] <= this.lastEpoch) idx++;
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s._stepTo(0);
    else s.step();
    this.lastLr = s.getLastLr();
  }

  /** Its own fields, and each scheduler's state dict under `schedulers`. */
  override stateDict(): Record<string, unknown> {
    const { schedulers: _, ...own } = super.stateDict();
    void _;
    return { ...own, schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  /** Restores what stateDict() returned, each scheduler from its entry in `schedulers`. */
  override loadStateDict(sd: Record<string, unknown>): void {
    const op = `${this.name}.loadStateDict`;
    const subs = sd?.schedulers as unknown;
    if (!Array.isArray(subs) || subs.length !== this.schedulers.length) {
      throw new TypeError(`${op}: 'schedulers' must be an array of ${this.schedulers.length} scheduler state dicts`);
    }
    loadFields(this, sd, this.name, ['optimizer', 'name', 'schedulers']);
    this.schedulers.forEach((s, i) => s.loadStateDict(subs[i] as Record<string, unknown>));
  }
}
