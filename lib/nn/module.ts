// nn.Module: the base class of layers and models. Parameters, submodules
// and buffers are found from the object's own fields, in assignment order,
// the way PyTorch's __setattr__ files them (Note [Module members]).
import { inspect } from 'node:util';
import { Tensor } from '../tensor.js';
import { isDType, isFloating, type DType } from '../dtype.js';
import { noGrad } from '../autograd/grad_mode.js';
import * as K from '../ops/kernels.js';
import { Parameter } from './parameter.js';
import { device as checkedDevice } from '../backend/cuda.js';

// Note [Module members]
// JavaScript has no __setattr__ hook that is free at run time (a Proxy
// would slow every `this.weight` read in forward), so a Module reads its
// members when asked: an own enumerable field holding a Parameter is a
// parameter, one holding a Module is a child, an array field contributes
// its Parameters and Modules as `name.i`, and a field whose name was given
// to registerBuffer is a buffer. Object.keys keeps assignment order, so
// parameters() comes out in the order the constructor assigned them, as in
// PyTorch. Module's own bookkeeping lives in a non-enumerable field.

interface ModuleState {
  buffers: string[];
  nonPersistent: Set<string>;
}

export type StateDict = Record<string, Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

type Member = [string, unknown];

const NAME_RE = /^[^.]+$/;

function checkName(op: string, name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new TypeError(`${op}: name must be a string, got ${typeof name}`);
  if (name === '') throw new RangeError(`${op}: name can't be empty string ""`);
  if (!NAME_RE.test(name)) throw new RangeError(`${op}: name can't contain ".", got "${name}"`);
}

// ---- Python-style repr of constructor arguments ------------------------------------------

/** A number as Python's repr prints a float: 0.1, 1e-05, 1.0. */
export function pyFloat(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (Object.is(v, -0)) return '-0.0';
  const [mant, e] = v.toExponential().split('e');
  const exp = Number(e);
  if (exp < -4 || exp >= 16) return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  const s = String(v);
  return s.includes('.') ? s : `${s}.0`;
}

/** Python's repr of a tuple of ints: (3, 3) or (10,). */
export function pyTuple(v: readonly (number | null)[]): string {
  const items = v.map((x) => (x === null ? 'None' : String(x)));
  return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
}

/** Python's repr of an int, a tuple of ints, a bool, a string or None. */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return pyTuple(v as (number | null)[]);
  return String(v);
}

function addIndent(s: string, n: number): string {
  const lines = s.split('\n');
  if (lines.length === 1) return s;
  const pad = ' '.repeat(n);
  return [lines[0], ...lines.slice(1).map((l) => pad + l)].join('\n');
}

export abstract class Module {
  /** Whether the module is in training mode (train()/eval()). */
  training = true;
  /** @internal */ declare readonly _kd: ModuleState;

  constructor() {
    Object.defineProperty(this, '_kd', {
      value: { buffers: [], nonPersistent: new Set<string>() } satisfies ModuleState,
      enumerable: false,
      writable: false,
      configurable: false,
    });
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  abstract forward(...args: any[]): any;

  /** model.call(x) is model.forward(x): the closest JavaScript gets to model(x). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call(...args: any[]): any {
    return this.forward(...args);
  }

  // ---- members (Note [Module members]) --------------------------------------------------

  /** @internal Own fields in assignment order; containers override this. */
  _members(): Member[] {
    const self = this as unknown as Record<string, unknown>;
    return Object.keys(this).map((k) => [k, self[k]]);
  }

  /** @internal */
  _ownParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const bufs = this._kd.buffers;
    for (const [k, v] of this._members()) {
      if (v instanceof Parameter) {
        if (!bufs.includes(k)) out.push([k, v]);
      } else if (Array.isArray(v)) {
        v.forEach((e, i) => {
          if (e instanceof Parameter) out.push([`${k}.${i}`, e]);
        });
      }
    }
    return out;
  }

  /** @internal */
  _ownBuffers(): [string, Tensor][] {
    const self = this as unknown as Record<string, unknown>;
    const out: [string, Tensor][] = [];
    for (const k of this._kd.buffers) {
      const v = self[k];
      if (v instanceof Tensor) out.push([k, v]);
    }
    return out;
  }

  /** @internal */
  _ownChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [k, v] of this._members()) {
      if (v instanceof Module) out.push([k, v]);
      else if (Array.isArray(v)) {
        v.forEach((e, i) => {
          if (e instanceof Module) out.push([`${k}.${i}`, e]);
        });
      }
    }
    return out;
  }

  /** Registers a tensor that is state but not a parameter (BatchNorm's running_mean). */
  registerBuffer(name: string, tensor: Tensor | null, persistent = true): void {
    checkName('registerBuffer', name);
    if (tensor !== null && !(tensor instanceof Tensor)) {
      throw new TypeError(`registerBuffer: cannot assign '${typeof tensor}' object to buffer '${name}' (Tensor or null required)`);
    }
    const self = this as unknown as Record<string, unknown>;
    const bufs = this._kd.buffers;
    const current = self[name];
    if (!bufs.includes(name) && current !== undefined && current !== null) {
      throw new Error(`registerBuffer: attribute '${name}' already exists`);
    }
    self[name] = tensor;
    if (!bufs.includes(name)) bufs.push(name);
    if (persistent) this._kd.nonPersistent.delete(name);
    else this._kd.nonPersistent.add(name);
  }

  /** Same as assigning a Parameter (or null) to the field `name`. */
  registerParameter(name: string, param: Parameter | null): void {
    checkName('registerParameter', name);
    if (param !== null && !(param instanceof Parameter)) {
      throw new TypeError(
        `registerParameter: cannot assign '${(param as unknown) instanceof Tensor ? 'Tensor' : typeof param}' object to parameter '${name}' (nn.Parameter or null required)`,
      );
    }
    if (this._kd.buffers.includes(name)) throw new Error(`registerParameter: attribute '${name}' already exists as a buffer`);
    (this as unknown as Record<string, unknown>)[name] = param;
  }

  /** Same as assigning a Module (or null) to the field `name`. */
  addModule(name: string, module: Module | null): void {
    checkName('addModule', name);
    if (module !== null && !(module instanceof Module)) throw new TypeError(`addModule: ${typeof module} is not a Module subclass`);
    if (this._kd.buffers.includes(name)) throw new Error(`addModule: attribute '${name}' already exists as a buffer`);
    (this as unknown as Record<string, unknown>)[name] = module;
  }

  registerModule(name: string, module: Module | null): void {
    this.addModule(name, module);
  }

  // ---- traversal ---------------------------------------------------------------------------

  /** Every module in the tree, this one first, each once, with dotted names. */
  namedModules(opts: { prefix?: string } = {}): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const walk = (m: Module, prefix: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([prefix, m]);
      for (const [k, c] of m._ownChildren()) walk(c, prefix ? `${prefix}.${k}` : k);
    };
    walk(this, opts.prefix ?? '');
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  namedChildren(): [string, Module][] {
    const seen = new Set<Module>();
    return this._ownChildren().filter(([, m]) => (seen.has(m) ? false : (seen.add(m), true)));
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** Parameters with dotted names ('features.0.weight'), each tensor once. */
  namedParameters(opts: { prefix?: string; recurse?: boolean } = {}): [string, Parameter][] {
    const prefix = opts.prefix ?? '';
    const mods: [string, Module][] = opts.recurse === false ? [[prefix, this]] : this.namedModules({ prefix });
    const out: [string, Parameter][] = [];
    const seen = new Set<Tensor>();
    for (const [mp, m] of mods) {
      for (const [k, p] of m._ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([mp ? `${mp}.${k}` : k, p]);
      }
    }
    return out;
  }

  parameters(opts: { recurse?: boolean } = {}): Parameter[] {
    return this.namedParameters(opts).map(([, p]) => p);
  }

  namedBuffers(opts: { prefix?: string; recurse?: boolean } = {}): [string, Tensor][] {
    const prefix = opts.prefix ?? '';
    const mods: [string, Module][] = opts.recurse === false ? [[prefix, this]] : this.namedModules({ prefix });
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [mp, m] of mods) {
      for (const [k, b] of m._ownBuffers()) {
        if (seen.has(b)) continue;
        seen.add(b);
        out.push([mp ? `${mp}.${k}` : k, b]);
      }
    }
    return out;
  }

  buffers(opts: { recurse?: boolean } = {}): Tensor[] {
    return this.namedBuffers(opts).map(([, b]) => b);
  }

  getSubmodule(target: string): Module {
    if (target === '') return this;
    for (const [n, m] of this.namedModules()) if (n === target) return m;
    throw new Error(`getSubmodule: ${this.constructor.name} has no submodule '${target}'`);
  }

  getParameter(target: string): Parameter {
    for (const [n, p] of this.namedParameters()) if (n === target) return p;
    throw new Error(`getParameter: ${this.constructor.name} has no parameter '${target}'`);
  }

  getBuffer(target: string): Tensor {
    for (const [n, b] of this.namedBuffers()) if (n === target) return b;
    throw new Error(`getBuffer: ${this.constructor.name} has no buffer '${target}'`);
  }

  /** Calls fn on every submodule (children first) and then on this one. */
  apply(fn: (m: Module) => void): this {
    if (typeof fn !== 'function') throw new TypeError('apply: expected a function');
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  // ---- modes and gradients -------------------------------------------------------------------

  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new TypeError(`train: mode must be a boolean, got ${typeof mode}`);
    this.training = mode;
    for (const c of this.children()) c.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad_(flag);
    return this;
  }

  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    const setToNone = opts.setToNone ?? true;
    for (const p of this.parameters()) {
      const g = p.grad;
      if (g === null) continue;
      if (setToNone) p.grad = null;
      else noGrad(() => g.detach_().zero_());
    }
  }

  // ---- state ---------------------------------------------------------------------------------

  /** @internal Parameters, then persistent buffers, then children's, as PyTorch orders a state dict. */
  _stateEntries(prefix: string, out: [string, Tensor][]): void {
    for (const [k, p] of this._ownParameters()) out.push([prefix + k, p]);
    for (const [k, b] of this._ownBuffers()) if (!this._kd.nonPersistent.has(k)) out.push([prefix + k, b]);
    for (const [k, c] of this._ownChildren()) c._stateEntries(`${prefix}${k}.`, out);
  }

  /** Parameters and persistent buffers by dotted name, detached (sharing memory). */
  stateDict(opts: { prefix?: string; keepVars?: boolean } = {}): StateDict {
    const entries: [string, Tensor][] = [];
    this._stateEntries(opts.prefix ?? '', entries);
    const sd: StateDict = {};
    for (const [k, t] of entries) sd[k] = opts.keepVars ? t : t.detach();
    return sd;
  }

  /**
   * Copies the values of `stateDict` into this module's parameters and
   * buffers in place. Everything is checked before anything is written
   * (keys when strict, that each value is a live Tensor of the right shape,
   * that each target can be written), so a failed load leaves the module
   * as it was. A plain object is read by its own keys only (a JSON
   * "__proto__" key is an ordinary, unexpected key; inherited keys are not
   * entries).
   */
  loadStateDict(stateDict: StateDict | Map<string, Tensor>, opts: { strict?: boolean } = {}): LoadResult {
    const strict = opts.strict ?? true;
    if (typeof strict !== 'boolean') throw new TypeError('loadStateDict: strict must be a boolean');
    if (stateDict === null || typeof stateDict !== 'object') {
      throw new TypeError(
        `loadStateDict: expected an object mapping names to Tensors, got ${stateDict === null ? 'null' : typeof stateDict}`,
      );
    }
    const source = new Map<string, unknown>();
    if (stateDict instanceof Map) {
      for (const [k, v] of stateDict) source.set(String(k), v);
    } else {
      // Own enumerable string keys, each read once (a getter runs once).
      for (const k of Object.keys(stateDict)) source.set(k, (stateDict as Record<string, unknown>)[k]);
    }
    const entries: [string, Tensor][] = [];
    this._stateEntries('', entries);
    const own = new Set(entries.map(([k]) => k));
    const errors: string[] = [];
    const missingKeys: string[] = [];
    const unexpectedKeys = [...source.keys()].filter((k) => !own.has(k));
    const copies: [Tensor, Tensor][] = [];
    for (const [k, dst] of entries) {
      if (!source.has(k)) {
        missingKeys.push(k);
        continue;
      }
      const src = source.get(k);
      if (!(src instanceof Tensor)) {
        errors.push(`While copying the parameter named "${k}", expected a Tensor but got ${src === null ? 'null' : typeof src}.`);
        continue;
      }
      const bad = K.storageProblem(src);
      if (bad !== null) {
        errors.push(`the tensor for '${k}' ${bad}.`);
        continue;
      }
      const badDst = K.storageProblem(dst);
      if (badDst !== null) {
        errors.push(`the module's own tensor '${k}' ${badDst}.`);
        continue;
      }
      if (!isDType(src.dtype)) {
        errors.push(`While copying the parameter named "${k}", the checkpoint's tensor has an unknown dtype ${K.fmtValue(src.dtype)}.`);
        continue;
      }
      if (src._shape.join() !== dst._shape.join()) {
        errors.push(
          `size mismatch for ${k}: copying a param with shape ${K.fmtShape(src._shape)} from checkpoint, ` +
            `the shape in current model is ${K.fmtShape(dst._shape)}.`,
        );
        continue;
      }
      copies.push([dst, src]);
    }
    if (strict) {
      if (unexpectedKeys.length) errors.unshift(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}.`);
      if (missingKeys.length) errors.unshift(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}.`);
    }
    if (errors.length) {
      throw new Error(`loadStateDict: error(s) in loading state_dict for ${this.constructor.name}:\n\t${errors.join('\n\t')}`);
    }
    noGrad(() => {
      for (const [dst, src] of copies) dst.copy_(src);
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- dtype and device ----------------------------------------------------------------------

  /**
   * Converts floating-point parameters and buffers to a dtype, or moves all
   * parameters, buffers and gradients to a device, in place: the Parameter
   * objects stay the same, so an optimizer holding them keeps working (its
   * state, if it has taken steps already, stays where it was: as in
   * PyTorch, move the model before building the optimizer).
   */
  to(target: DType | string | { dtype?: DType; device?: string }): this {
    if (typeof target === 'object' && target !== null) {
      if (target.device !== undefined) this.to(target.device);
      if (target.dtype !== undefined) this.to(target.dtype);
      return this;
    }
    if (isDType(target)) {
      if (!isFloating(target)) {
        throw new TypeError(`Module.to: nn.Module.to only accepts floating point dtypes, but got desired dtype=${target}`);
      }
      const tensors = new Set<Tensor>([...this.parameters(), ...this.buffers()]);
      noGrad(() => {
        for (const t of tensors) {
          if (!isFloating(t.dtype) || t.dtype === target) continue;
          t.data = t.data.to(target);
          if (t._grad !== null) t._grad = t._grad.to(target);
        }
      });
      return this;
    }
    if (typeof target !== 'string') throw new TypeError(`Module.to: expected a dtype or a device, got ${K.fmtValue(target)}`);
    let dev;
    try {
      dev = checkedDevice(target, 'Module.to');
    } catch (e) {
      if (e instanceof TypeError) throw new TypeError(`Module.to: expected a dtype or a device, got ${K.fmtValue(target)}`);
      throw e;
    }
    const tensors = new Set<Tensor>([...this.parameters(), ...this.buffers()]);
    noGrad(() => {
      for (const t of tensors) {
        if (t.device !== dev) t.data = t.data.to(dev);
        if (t._grad !== null && t._grad.device !== dev) t._grad = t._grad.to(dev);
      }
    });
    return this;
  }

  float(): this {
    return this.to('float32');
  }
  double(): this {
    return this.to('float64');
  }
  cpu(): this {
    return this.to('cpu');
  }
  /** To the current CUDA device, or to device N / 'cuda:N'. */
  cuda(device?: number | string): this {
    return this.to(device === undefined ? 'cuda' : typeof device === 'number' ? `cuda:${device}` : device);
  }

  // ---- printing ------------------------------------------------------------------------------

  /** The constructor arguments shown inside Name(...); layers override it. */
  extraRepr(): string {
    return '';
  }

  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra ? extra.split('\n') : [];
    const childLines = this._ownChildren().map(([k, m]) => `(${k}): ${addIndent(m.toString(), 2)}`);
    const lines = [...extraLines, ...childLines];
    let s = `${this.constructor.name}(`;
    if (lines.length) {
      if (extraLines.length === 1 && childLines.length === 0) s += extraLines[0];
      else s += `\n  ${lines.join('\n  ')}\n`;
    }
    return `${s})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
