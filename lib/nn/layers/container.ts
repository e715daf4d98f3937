// Containers: Sequential, ModuleList, and the small glue modules Identity
// and Lambda.
import { Module } from '../module.js';
import { Parameter } from '../parameter.js';
import { Tensor, type Storage } from '../../tensor.js';
import { isTracing } from '../../ops/op.js';
import { withConvFused } from '../../ops/nn.js';
import { isGradEnabled } from '../../autograd/grad_mode.js';
import * as act from './activation.js';
import { Conv1d, Conv2d } from './conv.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from './pooling.js';
import { BatchNorm1d, BatchNorm2d, LayerNorm } from './normalization.js';
import { Dropout } from './dropout.js';
import { Flatten } from './flatten.js';
import { Linear, as, late } from './linear.js';
import { bindOptions, fmtValue, isOptions, param, type CallArgs } from '../../util/args.js';

// The signatures (Note [Layer signatures] in linear.ts). Sequential takes
// modules, or one object of them by name (PyTorch's OrderedDict form), and
// no options; Identity takes and ignores anything, as PyTorch's does.
/** ModuleList(modules=None); null is refused, leave it out for an empty list. */
const MODULE_LIST = [late(param.custom('modules', 'Module[]', as<Iterable<Module>>, [] as Iterable<Module>))] as const;
/** Lambda(fn): not in PyTorch; the function forward calls. */
const LAMBDA = [late(param.custom('fn', 'Callable', as<(...args: never[]) => unknown>))] as const;

type NamedModules = Map<string, Module> | Record<string, Module>;

function checkModule(op: string, m: unknown, where: string): asserts m is Module {
  if (!(m instanceof Module)) {
    const what = m === null ? 'null' : typeof m === 'object' ? ((m as object).constructor?.name ?? 'object') : typeof m;
    throw new TypeError(`${op}: ${where} is not a Module subclass (got ${what})`);
  }
}

function normIndex(op: string, i: unknown, n: number): number {
  if (typeof i !== 'number' || !Number.isInteger(i)) throw new TypeError(`${op}: index must be an integer, got ${fmtValue(i)}`);
  if (i < -n || i >= n) throw new RangeError(`${op}: index ${i} is out of range for a container of length ${n}`);
  return i < 0 ? i + n : i;
}

function sliceBound(op: string, v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${op}: ${name} must be an integer, got ${fmtValue(v)}`);
  return v;
}

// Note [Container indexing]: PyTorch users write model[0] and model[-1].
// A list container keeps own accessors '0'..'n-1' and '-1'..'-n' that read
// (and write) its list; they are not enumerable, so Note [Module members]
// does not see them as fields. They are added and dropped as the length
// changes; what each one returns is looked up when read.
function syncIndexAccessors(
  owner: object,
  have: number,
  n: number,
  get: (i: number) => unknown,
  set: (i: number, v: unknown) => void,
): void {
  const self = owner as Record<string, unknown>;
  for (let i = n; i < have; i++) {
    delete self[String(i)];
    delete self[String(-i - 1)];
  }
  for (let i = have; i < n; i++) {
    for (const k of [i, -i - 1]) {
      Object.defineProperty(owner, String(k), {
        get: () => get(k),
        set: (v: unknown) => set(k, v),
        enumerable: false,
        configurable: true,
      });
    }
  }
}

// A dict container's keys read as fields too (PyTorch's md.key), by the
// same kind of accessor; a key that names an existing attribute is refused,
// as PyTorch's add_module refuses it.
function defineKeyAccessor(owner: object, key: string, get: () => unknown, set: (v: unknown) => void): void {
  Object.defineProperty(owner, key, { get, set, enumerable: false, configurable: true });
}

function checkKey(op: string, key: unknown, owner: object, taken: boolean): asserts key is string {
  if (typeof key !== 'string') throw new TypeError(`${op}: key must be a string, got ${fmtValue(key)}`);
  if (key === '') throw new RangeError(`${op}: key can't be empty string ""`);
  if (key.includes('.')) throw new RangeError(`${op}: key can't contain ".", got "${key}"`);
  if (!taken && key in owner) throw new Error(`${op}: attribute '${key}' already exists`);
}

/** [key, value] pairs of a Map, a plain object, a dict container or an iterable of pairs (PyTorch's update argument). */
function pairsOf(op: string, src: unknown, sortPlain: boolean): [unknown, unknown][] {
  if (src instanceof Map) return [...src.entries()];
  if (src instanceof ModuleDict || src instanceof ParameterDict) return src.items();
  if (isOptions(src)) {
    const entries = Object.entries(src);
    return sortPlain ? entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : entries;
  }
  // typeof 'function' too: a module is callable (Note [Callable modules]).
  if (
    src === null ||
    (typeof src !== 'object' && typeof src !== 'function') ||
    typeof (src as Iterable<unknown>)[Symbol.iterator] !== 'function'
  ) {
    throw new TypeError(`${op}: expected a Map, an object or an iterable of [key, value] pairs, got ${fmtValue(src)}`);
  }
  const out: [unknown, unknown][] = [];
  let j = 0;
  for (const e of src as Iterable<unknown>) {
    if (!Array.isArray(e)) throw new TypeError(`${op}: update sequence element #${j} should be a [key, value] array, got ${fmtValue(e)}`);
    if (e.length !== 2) throw new RangeError(`${op}: update sequence element #${j} has length ${e.length}; 2 is required`);
    out.push([e[0], e[1]]);
    j++;
  }
  return out;
}

/**
 * The shared storage of Sequential and ModuleList: an ordered list of
 * (name, module) pairs that stands in for own fields as children
 * (Note [Module members] in module.ts).
 */
abstract class ModuleSequence extends Module {
  /** @internal */ declare readonly _items: [string, Module][];
  /** @internal How many index accessors exist (Note [Container indexing]). */ declare _indexed: number;
  /** seq[i] is seq.get(i); negative indices count from the end; seq[i] = m is seq.set(i, m). */
  [index: number]: Module;

  constructor() {
    super();
    Object.defineProperty(this, '_items', { value: [], enumerable: false, writable: false, configurable: false });
    Object.defineProperty(this, '_indexed', { value: 0, enumerable: false, writable: true, configurable: false });
  }

  /** @internal */
  override _members(): [string, unknown][] {
    return [...this._items, ...super._members()];
  }

  /** @internal Keeps seq[i] in step with the list. */
  _changed(): void {
    const n = this._items.length;
    if (n === this._indexed) return;
    syncIndexAccessors(
      this,
      this._indexed,
      n,
      (i) => this.get(i),
      (i, v) => this.set(i, v as Module),
    );
    this._indexed = n;
  }

  /** The number of modules (Python's len(seq)). */
  get length(): number {
    return this._items.length;
  }

  /** The module at index i (negative counts from the end), Python's seq[i]. */
  get(i: number): Module {
    return this._items[normIndex(`${this.constructor.name}.get`, i, this._items.length)][1];
  }

  /** Same as get(i). */
  at(i: number): Module {
    return this._items[normIndex(`${this.constructor.name}.at`, i, this._items.length)][1];
  }

  /** Replaces the module at index i, keeping its name (Python's seq[i] = m). */
  set(i: number, m: Module): void {
    const op = `${this.constructor.name}.set`;
    const k = normIndex(op, i, this._items.length);
    checkModule(op, m, 'the value');
    this._items[k][1] = m;
  }

  /** Appends m under the name of its index. */
  append(m: Module): this {
    checkModule(`${this.constructor.name}.append`, m, 'the module');
    this._put(String(this._items.length), m);
    return this;
  }

  extend(ms: Iterable<Module>): this {
    const op = `${this.constructor.name}.extend`;
    // A container is a function (Note [Callable modules]): seq.extend(other) is iterable all the same.
    if (
      ms === null ||
      (typeof ms !== 'object' && typeof ms !== 'function') ||
      typeof (ms as Iterable<Module>)[Symbol.iterator] !== 'function'
    ) {
      throw new TypeError(`${op}: expected an iterable of Modules, got ${fmtValue(ms)}`);
    }
    // Read first: seq.extend(seq) appends each module once.
    const list = [...ms];
    list.forEach((m, i) => checkModule(op, m, `element ${i}`));
    for (const m of list) this._put(String(this._items.length), m);
    return this;
  }

  insert(index: number, m: Module): this {
    const op = `${this.constructor.name}.insert`;
    checkModule(op, m, 'the module');
    const n = this._items.length;
    if (typeof index !== 'number' || !Number.isInteger(index))
      throw new TypeError(`${op}: index must be an integer, got ${fmtValue(index)}`);
    // PyTorch's Sequential.insert refuses an index outside [-n, n]; its ModuleList.insert does not check.
    if (this instanceof Sequential && (index < -n || index > n)) {
      throw new RangeError(`${op}: index ${index} is out of range for a container of length ${n}`);
    }
    const at = Math.min(Math.max(index < 0 ? index + n : index, 0), n);
    const mods = this._items.map(([, x]) => x);
    mods.splice(at, 0, m);
    this._renumber(mods);
    return this;
  }

  /** Removes and returns the module at `index` (the last one by default); the rest are renumbered. */
  pop(index = -1): Module {
    const k = normIndex(`${this.constructor.name}.pop`, index, this._items.length);
    const mods = this._items.map(([, x]) => x);
    const [m] = mods.splice(k, 1);
    this._renumber(mods);
    return m;
  }

  /** Removes the module at `index` and renumbers the rest (Python's del seq[i]). */
  delete(index: number): void {
    const k = normIndex(`${this.constructor.name}.delete`, index, this._items.length);
    const mods = this._items.map(([, x]) => x);
    mods.splice(k, 1);
    this._renumber(mods);
  }

  /** @internal The modules of [start, end) (Python's seq[start:end], negative bounds from the end). */
  _range(op: string, start: unknown, end: unknown): [string, Module][] {
    return this._items.slice(sliceBound(op, start, 'start') ?? 0, sliceBound(op, end, 'end'));
  }

  /** @internal */
  _renumber(mods: Module[]): void {
    this._items.length = 0;
    mods.forEach((m, i) => this._items.push([String(i), m]));
    this._changed();
  }

  /** @internal Adds or replaces the entry `name`. */
  _put(name: string, m: Module): void {
    const at = this._items.findIndex(([k]) => k === name);
    if (at >= 0) this._items[at][1] = m;
    else this._items.push([name, m]);
    this._changed();
  }

  [Symbol.iterator](): Iterator<Module> {
    return this._items.map(([, m]) => m)[Symbol.iterator]();
  }

  /**
   * PyTorch's add_module on a container: the module joins the list under
   * `name` (in place when the name is taken, as a dict key keeps its
   * position), so length, iteration and Sequential's forward see it.
   * null removes the entry of that name.
   */
  override addModule(name: string, module: Module | null): void {
    const op = `${this.constructor.name}.addModule`;
    if (typeof name !== 'string') throw new TypeError(`${op}: name must be a string, got ${typeof name}`);
    if (name === '' || name.includes('.')) throw new RangeError(`${op}: module name can't be empty or contain ".", got "${name}"`);
    if (module !== null) checkModule(op, module, 'the module');
    const at = this._items.findIndex(([k]) => k === name);
    if (at < 0 && name in this) throw new Error(`${op}: attribute '${name}' already exists`);
    if (module === null) {
      if (at >= 0) this._items.splice(at, 1);
      this._changed();
    } else {
      this._put(name, module);
    }
  }
}

// Note [Sequential release]: an nn.Sequential's intermediate output is dead
// once the next layer has run, unless an op saved it for backward (counted
// in Storage._savedBy, SavedVersions in lib/ops/op.ts): only the Sequential
// holds it. Under noGrad (inference) none is saved; in training those the
// backward does not need go at once (a convolution's output, which the ReLU
// after it does not save), and those it needs when the backward has used
// them (Note [Saved until backward]). Left to the GC, a forward's intermediates
// (22 MB for the LeNet's inference at batch 64) pile up as external memory
// until V8 runs a full mark-compact, every few forwards in a small process,
// with its concurrent marking on the core the next GEMM wanted (measured:
// the LeNet inference 7.4 ms in a plain node process against 4.9 ms in one
// whose larger heap kept V8 from collecting; training steps 7-10% faster).
// Given back instead (Storage._release: into the warm block cache), the next
// forward reuses the same blocks. Only between the built-in layers below, exactly
// those classes (not subclasses, which may keep their input) and without
// hooks, which could see the tensors: they never keep their input or
// output, and return either fresh memory or a view of their input
// (Flatten, Dropout in eval, inplace activations), which the release
// follows. A tensor given out as a typed array is pinned and never given
// back; a released tensor used later throws instead of reading stale
// values.
const KEEPS_NOTHING = new Set<unknown>([
  Linear,
  Conv1d,
  Conv2d,
  MaxPool2d,
  AvgPool2d,
  AdaptiveAvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  LayerNorm,
  Dropout,
  Flatten,
  act.ReLU,
  act.LeakyReLU,
  act.GELU,
  act.Sigmoid,
  act.Tanh,
  act.SiLU,
  act.Softmax,
  act.LogSoftmax,
]);

function keepsNothing(m: Module): boolean {
  if (!KEEPS_NOTHING.has(m.constructor) || Object.prototype.hasOwnProperty.call(m, 'forward')) return false;
  const kd = m._kd;
  return kd.forwardPreHooks.size === 0 && kd.forwardHooks.size === 0 && kd.backwardHooks.size === 0;
}

function convThenRelu(m: Module, next: Module): boolean {
  return m.constructor === Conv2d && next.constructor === act.ReLU && keepsNothing(m) && keepsNothing(next);
}

/** A plain MaxPool2d with a 2x2 window, stride 2, no padding, dilation or ceil mode: what the fused kernel pools. */
function isMaxPool2x2(m: Module): boolean {
  if (m.constructor !== MaxPool2d || !keepsNothing(m)) return false;
  const p = m as MaxPool2d;
  const is = (v: number | readonly number[], n: number) => (typeof v === 'number' ? v === n : v.length === 2 && v[0] === n && v[1] === n);
  return is(p.kernelSize, 2) && is(p.stride, 2) && is(p.padding, 0) && is(p.dilation, 1) && !p.ceilMode;
}

// seq(x) has forward's generic type (Module's call signature, typed from
// forward through Parameters/ReturnType, would lose the type parameter).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Sequential {
  <T = unknown>(input: T): T;
}

/** Runs its modules one after another: forward(x) = m_n(...m_1(x)). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Sequential extends ModuleSequence {
  constructor(...modules: Module[] | [NamedModules]) {
    super();
    const first = modules[0] as unknown;
    if (modules.length === 1 && !(first instanceof Module) && first !== null && typeof first === 'object') {
      const entries = first instanceof Map ? [...first.entries()] : Object.entries(first as Record<string, Module>);
      for (const [k, m] of entries) {
        if (typeof k !== 'string' || k === '' || k.includes('.')) {
          throw new RangeError(`Sequential: module name can't be empty or contain ".", got "${String(k)}"`);
        }
        checkModule('Sequential', m, `the module named "${k}"`);
        this._items.push([k, m]);
      }
      this._changed();
      return;
    }
    (modules as unknown[]).forEach((m, i) => {
      checkModule('Sequential', m, `argument ${i}`);
      this._items.push([String(i), m]);
    });
    this._changed();
  }

  /**
   * Runs every child in registration order, as PyTorch's iterates
   * self._modules: the listed modules (constructor, append, addModule /
   * registerModule), then any Module assigned to a field of the Sequential.
   * Each child is called as child(x), so its hooks run.
   */
  forward<T = unknown>(input: T): T {
    let x: unknown = input;
    if (isTracing()) {
      for (const [, m] of this._ownChildren()) x = m(x);
      return x as T;
    }
    // Give each intermediate's memory back as soon as the next layer has
    // consumed it, unless the graph saved it (Note [Sequential release]).
    let owned: Storage | null = null;
    const children = this._ownChildren();
    const grad = isGradEnabled();
    for (let i = 0; i < children.length; i++) {
      const m = children[i][1];
      let y: unknown;
      // A plain Conv2d then a plain ReLU, and maybe a 2x2 MaxPool2d: one
      // kernel (Note [Conv-ReLU fusion]); in grad mode only the three
      // together (Note [Conv-ReLU-pool in grad mode]).
      const next = i + 1 < children.length ? children[i + 1][1] : null;
      const after = i + 2 < children.length ? children[i + 2][1] : null;
      const pool = after !== null && isMaxPool2x2(after);
      if (next !== null && (pool || !grad) && convThenRelu(m, next)) {
        let taken;
        [y, taken] = withConvFused(pool ? 2 : 1, () => m(x));
        i += taken;
      } else {
        y = m(x);
      }
      const plain = keepsNothing(m);
      const ys = y instanceof Tensor ? y._storage : null;
      if (owned !== null && plain && ys !== owned && !owned._pinned) {
        // Saved for backward: the last node to drop it gives it back (Note [Saved until backward]).
        if (owned._savedBy > 0) owned._graphOnly = true;
        else owned._release();
      }
      // y's storage is ours when a plain layer made it fresh (not x's, which
      // may be the caller's), or when it still is the one we own (a view,
      // an in-place op).
      if (ys === null || !plain) owned = null;
      else if (ys !== owned) owned = x instanceof Tensor && x._storage !== ys ? ys : null;
      x = y;
    }
    return x as T;
  }

  /** seq[start:end] in Python: a new Sequential of the same modules under the same names. */
  slice(start?: number, end?: number): Sequential {
    return new Sequential(new Map(this._range('Sequential.slice', start, end)));
  }
}

/** A list of modules whose parameters the owner sees ('layers.0.weight'). */
export class ModuleList extends ModuleSequence {
  constructor(...args: CallArgs<typeof MODULE_LIST>) {
    super();
    // An iterable written as an object literal is the modules, not options.
    const first = args[0] as unknown;
    const bound =
      args.length === 1 && isOptions(first) && typeof (first as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function'
        ? [first, {}]
        : args;
    const modules = bindOptions('ModuleList', MODULE_LIST, bound).modules;
    if (modules === null || typeof (modules as Iterable<Module>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`ModuleList: expected an iterable of Modules, got ${modules === null ? 'null' : typeof modules}`);
    }
    let i = 0;
    for (const m of modules) {
      checkModule('ModuleList', m, `element ${i++}`);
      this._items.push([String(this._items.length), m]);
    }
    this._changed();
  }

  /** Array-style alias of append. */
  push(...ms: Module[]): number {
    for (const m of ms) this.append(m);
    return this._items.length;
  }

  /** list[start:end] in Python: a new ModuleList of the same modules, renumbered. */
  slice(start?: number, end?: number): ModuleList {
    return new ModuleList(this._range('ModuleList.slice', start, end).map(([, m]) => m));
  }

  /** Throws: a ModuleList has no forward of its own, as in PyTorch. */
  forward(): never {
    throw new Error('ModuleList: a ModuleList has no forward; call its modules in your own forward');
  }
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Identity {
  <T>(input: T): T;
}

/** Returns its input unchanged (a placeholder layer). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Identity extends Module {
  // PyTorch's Identity takes and ignores any constructor arguments.
  constructor(..._args: unknown[]) {
    super();
  }
  forward<T>(input: T): T {
    return input;
  }
}

/** Wraps a function as a module, for use inside Sequential. */
export class Lambda<A extends unknown[] = unknown[], R = unknown> extends Module {
  /** @internal */ declare readonly fn: (...args: A) => R;
  constructor(fn: (...args: A) => R);
  constructor(opts: { fn: (...args: A) => R });
  constructor(...args: CallArgs<typeof LAMBDA>) {
    super();
    const fn = bindOptions('Lambda', LAMBDA, args).fn;
    if (typeof fn !== 'function') throw new TypeError(`Lambda: expected a function, got ${typeof fn}`);
    Object.defineProperty(this, 'fn', { value: fn, enumerable: false });
  }
  forward(...args: A): R {
    return this.fn(...args);
  }
}

// ---- dict and parameter containers -------------------------------------------------------

const MODULE_DICT = [late(param.custom('modules', 'Mapping[str, Module]?', as<unknown>, null))] as const;
const PARAMETER_LIST = [late(param.custom('values', 'Iterable[Tensor]?', as<Iterable<Tensor> | null>, null))] as const;
const PARAMETER_DICT = [late(param.custom('parameters', 'Mapping[str, Tensor]?', as<unknown>, null))] as const;

/**
 * The one argument of a dict container: a plain object whose values all
 * pass `isValue` is the mapping itself ({ conv: new nn.Conv2d(...) }), any
 * other plain object is the options form ({ modules: ... }).
 */
function dictArgs(args: unknown[], isValue: (v: unknown) => boolean): unknown[] {
  const first = args[0];
  if (args.length === 1 && isOptions(first)) {
    const vals = Object.values(first);
    // The empty options object keeps the binder from reading the mapping as options.
    if (vals.length > 0 && vals.every(isValue)) return [first, {}];
  }
  return args;
}

/** A dict of modules whose parameters the owner sees ('heads.cls.weight'), in insertion order. */
export class ModuleDict extends Module {
  /** @internal */ declare readonly _items: Map<string, Module>;

  constructor(modules?: Map<string, Module> | Record<string, Module> | Iterable<[string, Module]> | ModuleDict | null);
  constructor(opts: { modules?: Map<string, Module> | Record<string, Module> | Iterable<[string, Module]> | ModuleDict | null });
  constructor(...args: unknown[]) {
    super();
    Object.defineProperty(this, '_items', { value: new Map(), enumerable: false, writable: false, configurable: false });
    const { modules } = bindOptions(
      'ModuleDict',
      MODULE_DICT,
      dictArgs(args, (v) => v instanceof Module),
    );
    if (modules !== null && modules !== undefined) this.update(modules as Map<string, Module>);
  }

  /** @internal */
  override _members(): [string, unknown][] {
    return [...this._items, ...super._members()];
  }

  /** The number of entries (Python's len(md)). */
  get length(): number {
    return this._items.size;
  }

  /** The module under `key` (Python's md[key]); an unknown key throws. */
  get(key: string): Module {
    const m = this._items.get(key);
    if (m === undefined) throw new RangeError(`ModuleDict.get: no module under the key ${fmtValue(key)}`);
    return m;
  }

  /** Adds or replaces the module under `key` (Python's md[key] = m); md.key reads it too. */
  set(key: string, m: Module): void {
    const op = 'ModuleDict.set';
    const taken = this._items.has(key);
    checkKey(op, key, this, taken);
    checkModule(op, m, `the value for "${key}"`);
    this._items.set(key, m);
    if (!taken) {
      defineKeyAccessor(
        this,
        key,
        () => this._items.get(key),
        (v) => this.set(key, v as Module),
      );
    }
  }

  /** Whether `key` is in the dict (Python's key in md). */
  has(key: string): boolean {
    return this._items.has(key);
  }

  /** Removes the entry `key` (Python's del md[key]); an unknown key throws. */
  delete(key: string): void {
    this.pop(key);
  }

  /** Removes the entry `key` and returns its module. */
  pop(key: string): Module {
    const m = this.get(key);
    this._items.delete(key);
    delete (this as unknown as Record<string, unknown>)[key];
    return m;
  }

  /** Removes every entry. */
  clear(): void {
    for (const k of [...this._items.keys()]) this.pop(k);
  }

  /** The keys in insertion order. */
  keys(): string[] {
    return [...this._items.keys()];
  }

  /** The modules in insertion order. */
  values(): Module[] {
    return [...this._items.values()];
  }

  /** The [key, module] pairs in insertion order. */
  items(): [string, Module][] {
    return [...this._items.entries()];
  }

  /** Adds the entries of a Map, an object, a ModuleDict or an iterable of [key, module] pairs, in their order. */
  update(modules: Map<string, Module> | Record<string, Module> | Iterable<[string, Module]> | ModuleDict): void {
    for (const [k, m] of pairsOf('ModuleDict.update', modules, false)) this.set(k as string, m as Module);
  }

  /** Iterates over the keys, as Python's iter(md). */
  [Symbol.iterator](): Iterator<string> {
    return this.keys()[Symbol.iterator]();
  }

  /** Throws: a ModuleDict has no forward of its own, as in PyTorch. */
  forward(): never {
    throw new Error('ModuleDict: a ModuleDict has no forward; call its modules in your own forward');
  }
}

function asParameter(op: string, v: unknown, where: string): Parameter {
  if (v instanceof Parameter) return v;
  if (v instanceof Tensor) return new Parameter(v);
  throw new TypeError(`${op}: ${where} must be a Tensor or an nn.Parameter, got ${fmtValue(v)}`);
}

/** Python's torch.typename of a tensor (ParameterDict's repr): torch.FloatTensor, torch.cuda.LongTensor. */
const TYPENAMES: Record<string, string> = {
  float32: 'FloatTensor',
  float64: 'DoubleTensor',
  float16: 'HalfTensor',
  bfloat16: 'BFloat16Tensor',
  int64: 'LongTensor',
  int32: 'IntTensor',
  uint8: 'ByteTensor',
  bool: 'BoolTensor',
};

function paramLine(key: string, p: Parameter, typeName: string): string {
  const gpu = p.device === 'cpu' ? '' : ` (GPU ${p.device.split(':')[1] ?? 0})`;
  return `  (${key}): Parameter containing: [${typeName} of size ${p.shape.join('x')}${gpu}]`;
}

/** A list of parameters whose owner sees them as 'name.0', 'name.1', ...; a plain Tensor added becomes a Parameter. */
export class ParameterList extends Module {
  /** @internal */ declare readonly _items: Parameter[];
  /** @internal */ declare _indexed: number;
  /** plist[i] is plist.get(i); negative indices count from the end. */
  [index: number]: Parameter;

  constructor(values?: Iterable<Tensor> | null);
  constructor(opts: { values?: Iterable<Tensor> | null });
  constructor(...args: unknown[]) {
    super();
    Object.defineProperty(this, '_items', { value: [], enumerable: false, writable: false, configurable: false });
    Object.defineProperty(this, '_indexed', { value: 0, enumerable: false, writable: true, configurable: false });
    const { values } = bindOptions('ParameterList', PARAMETER_LIST, args);
    if (values !== null && values !== undefined) this.extend(values);
  }

  /** @internal */
  override _members(): [string, unknown][] {
    return [...this._items.map((p, i): [string, unknown] => [String(i), p]), ...super._members()];
  }

  /** @internal */
  _changed(): void {
    const n = this._items.length;
    if (n === this._indexed) return;
    syncIndexAccessors(
      this,
      this._indexed,
      n,
      (i) => this.get(i),
      (i, v) => this.set(i, v as Tensor),
    );
    this._indexed = n;
  }

  /** The number of parameters (Python's len(plist)). */
  get length(): number {
    return this._items.length;
  }

  /** The parameter at index i (negative counts from the end). */
  get(i: number): Parameter {
    return this._items[normIndex('ParameterList.get', i, this._items.length)];
  }

  /** Same as get(i), as Array.prototype.at: negative indices count from the end. */
  at(i: number): Parameter {
    return this._items[normIndex('ParameterList.at', i, this._items.length)];
  }

  /** Replaces the parameter at index i (a Tensor is made a Parameter). */
  set(i: number, p: Tensor): void {
    const k = normIndex('ParameterList.set', i, this._items.length);
    this._items[k] = asParameter('ParameterList.set', p, 'the value');
  }

  /** Adds a parameter at the end (a Tensor is made a Parameter); returns this. */
  append(p: Tensor): this {
    this._items.push(asParameter('ParameterList.append', p, 'the value'));
    this._changed();
    return this;
  }

  /** Appends every tensor of an iterable (each made a Parameter); returns this. */
  extend(values: Iterable<Tensor>): this {
    const op = 'ParameterList.extend';
    if (
      values === null ||
      (typeof values !== 'object' && typeof values !== 'function') ||
      typeof (values as Iterable<Tensor>)[Symbol.iterator] !== 'function'
    ) {
      throw new TypeError(`${op}: expected an iterable of Tensors, got ${fmtValue(values)}`);
    }
    const list = [...values].map((v, i) => asParameter(op, v, `element ${i}`));
    this._items.push(...list);
    this._changed();
    return this;
  }

  /** plist[start:end] in Python: a new ParameterList of the same parameters. */
  slice(start?: number, end?: number): ParameterList {
    const op = 'ParameterList.slice';
    return new ParameterList(this._items.slice(sliceBound(op, start, 'start') ?? 0, sliceBound(op, end, 'end')));
  }

  [Symbol.iterator](): Iterator<Parameter> {
    return this._items.slice()[Symbol.iterator]();
  }

  override extraRepr(): string {
    return this._items.map((p, i) => paramLine(String(i), p, `torch.${p.dtype}`)).join('\n');
  }

  /** Throws: a ParameterList has no forward of its own, as in PyTorch. */
  forward(): never {
    throw new Error('ParameterList: a ParameterList has no forward');
  }
}

/** A dict of parameters whose owner sees them as 'name.key'; a plain Tensor added becomes a Parameter. */
export class ParameterDict extends Module {
  /** @internal */ declare readonly _items: Map<string, Parameter>;

  constructor(parameters?: Map<string, Tensor> | Record<string, Tensor> | Iterable<[string, Tensor]> | ParameterDict | null);
  constructor(opts: { parameters?: Map<string, Tensor> | Record<string, Tensor> | Iterable<[string, Tensor]> | ParameterDict | null });
  constructor(...args: unknown[]) {
    super();
    Object.defineProperty(this, '_items', { value: new Map(), enumerable: false, writable: false, configurable: false });
    const { parameters } = bindOptions(
      'ParameterDict',
      PARAMETER_DICT,
      dictArgs(args, (v) => v instanceof Tensor),
    );
    if (parameters !== null && parameters !== undefined) this.update(parameters as Map<string, Tensor>);
  }

  /** @internal */
  override _members(): [string, unknown][] {
    return [...this._items, ...super._members()];
  }

  /** The number of entries (Python's len(pd)). */
  get length(): number {
    return this._items.size;
  }

  /** The parameter under `key`; an unknown key throws. */
  get(key: string): Parameter {
    const p = this._items.get(key);
    if (p === undefined) throw new RangeError(`ParameterDict.get: no parameter under the key ${fmtValue(key)}`);
    return p;
  }

  /** Adds or replaces the parameter under `key` (a Tensor is made a Parameter); pd.key reads it too. */
  set(key: string, p: Tensor): void {
    const op = 'ParameterDict.set';
    const taken = this._items.has(key);
    checkKey(op, key, this, taken);
    this._items.set(key, asParameter(op, p, `the value for "${key}"`));
    if (!taken) {
      defineKeyAccessor(
        this,
        key,
        () => this._items.get(key),
        (v) => this.set(key, v as Tensor),
      );
    }
  }

  /** Whether `key` is in the dict (Python's key in pd). */
  has(key: string): boolean {
    return this._items.has(key);
  }

  /** Removes the entry `key` (Python's del pd[key]); an unknown key throws. */
  delete(key: string): void {
    this.pop(key);
  }

  /** Removes the entry `key` and returns its parameter; an unknown key throws. */
  pop(key: string): Parameter {
    const p = this.get(key);
    this._items.delete(key);
    delete (this as unknown as Record<string, unknown>)[key];
    return p;
  }

  /** Removes every entry. */
  clear(): void {
    for (const k of [...this._items.keys()]) this.pop(k);
  }

  /** The keys in insertion order. */
  keys(): string[] {
    return [...this._items.keys()];
  }

  /** The parameters in insertion order. */
  values(): Parameter[] {
    return [...this._items.values()];
  }

  /** The [key, parameter] pairs in insertion order. */
  items(): [string, Parameter][] {
    return [...this._items.entries()];
  }

  /**
   * Adds the entries of a Map, a ParameterDict or an iterable of pairs in
   * their order, and of a plain object sorted by key (PyTorch sorts a
   * plain dict).
   */
  update(parameters: Map<string, Tensor> | Record<string, Tensor> | Iterable<[string, Tensor]> | ParameterDict): void {
    for (const [k, p] of pairsOf('ParameterDict.update', parameters, true)) this.set(k as string, p as Tensor);
  }

  [Symbol.iterator](): Iterator<string> {
    return this.keys()[Symbol.iterator]();
  }

  override extraRepr(): string {
    return this.items()
      .map(([k, p]) => paramLine(k, p, `torch.${p.device === 'cpu' ? '' : 'cuda.'}${TYPENAMES[p.dtype] ?? p.dtype}`))
      .join('\n');
  }

  /** Throws: a ParameterDict has no forward of its own, as in PyTorch. */
  forward(): never {
    throw new Error('ParameterDict: a ParameterDict has no forward');
  }
}
