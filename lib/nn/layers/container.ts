// Containers: Sequential, ModuleList, and the small glue modules Identity
// and Lambda.
import { Module } from '../module.js';
import { as, late } from './linear.js';
import { bindOptions, isOptions, param, type CallArgs } from '../../util/args.js';

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
  if (typeof i !== 'number' || !Number.isInteger(i)) throw new TypeError(`${op}: index must be an integer, got ${String(i)}`);
  if (i < -n || i >= n) throw new RangeError(`${op}: index ${i} is out of range for a container of length ${n}`);
  return i < 0 ? i + n : i;
}

/**
 * The shared storage of Sequential and ModuleList: an ordered list of
 * (name, module) pairs that stands in for own fields as children
 * (Note [Module members] in module.ts).
 */
abstract class ModuleSequence extends Module {
  /** @internal */ declare readonly _items: [string, Module][];

  constructor() {
    super();
    Object.defineProperty(this, '_items', { value: [], enumerable: false, writable: false, configurable: false });
  }

  /** @internal */
  override _members(): [string, unknown][] {
    return [...this._items, ...super._members()];
  }

  get length(): number {
    return this._items.length;
  }

  get(i: number): Module {
    return this._items[normIndex(`${this.constructor.name}.get`, i, this._items.length)][1];
  }

  set(i: number, m: Module): void {
    const op = `${this.constructor.name}.set`;
    const k = normIndex(op, i, this._items.length);
    checkModule(op, m, 'the value');
    this._items[k][1] = m;
  }

  append(m: Module): this {
    checkModule(`${this.constructor.name}.append`, m, 'the module');
    this._items.push([String(this._items.length), m]);
    return this;
  }

  extend(ms: Iterable<Module>): this {
    for (const m of ms) this.append(m);
    return this;
  }

  insert(index: number, m: Module): this {
    const op = `${this.constructor.name}.insert`;
    checkModule(op, m, 'the module');
    const n = this._items.length;
    if (!Number.isInteger(index)) throw new TypeError(`${op}: index must be an integer, got ${String(index)}`);
    const at = Math.min(Math.max(index < 0 ? index + n : index, 0), n);
    const mods = this._items.map(([, x]) => x);
    mods.splice(at, 0, m);
    this._renumber(mods);
    return this;
  }

  /** Removes and returns the module at `index` (the last one by default). */
  pop(index = -1): Module {
    const k = normIndex(`${this.constructor.name}.pop`, index, this._items.length);
    const mods = this._items.map(([, x]) => x);
    const [m] = mods.splice(k, 1);
    this._renumber(mods);
    return m;
  }

  /** @internal */
  _renumber(mods: Module[]): void {
    this._items.length = 0;
    mods.forEach((m, i) => this._items.push([String(i), m]));
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
    } else if (at >= 0) {
      this._items[at][1] = module;
    } else {
      this._items.push([name, module]);
    }
  }
}

/** Runs its modules one after another: forward(x) = m_n(...m_1(x)). */
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
      return;
    }
    (modules as unknown[]).forEach((m, i) => {
      checkModule('Sequential', m, `argument ${i}`);
      this._items.push([String(i), m]);
    });
  }

  /**
   * Runs every child in registration order, as PyTorch's iterates
   * self._modules: the listed modules (constructor, append, addModule /
   * registerModule), then any Module assigned to a field of the Sequential.
   */
  forward<T = unknown>(input: T): T {
    let x: unknown = input;
    for (const [, m] of this._ownChildren()) x = m.forward(x);
    return x as T;
  }

  /** seq[start:end] in Python: a new Sequential of the same modules. */
  slice(start = 0, end?: number): Sequential {
    return new Sequential(...this._items.slice(start, end).map(([, m]) => m));
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
  }

  /** Array-style alias of append. */
  push(...ms: Module[]): number {
    for (const m of ms) this.append(m);
    return this._items.length;
  }

  slice(start = 0, end?: number): ModuleList {
    return new ModuleList(this._items.slice(start, end).map(([, m]) => m));
  }

  forward(): never {
    throw new Error('ModuleList: a ModuleList has no forward; call its modules in your own forward');
  }
}

/** Returns its input unchanged (a placeholder layer). */
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
