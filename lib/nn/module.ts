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
import { isGradEnabled } from '../autograd/grad_mode.js';
import { bindOptions, param, late, as, checkOptions } from '../util/args.js';
import { TorchDevice } from '../backend/device.js';
import { RemovableHandle, backwardBarrier } from './hooks.js';

export { RemovableHandle } from './hooks.js';

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
  forwardPreHooks: Map<number, ForwardPreHook>;
  forwardHooks: Map<number, ForwardHook>;
  backwardHooks: Map<number, FullBackwardHook>;
}

/** hook(module, inputs): a returned array (or one value) replaces the inputs forward gets. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ForwardPreHook = (module: Module, inputs: any[]) => any;
/** hook(module, inputs, output): a returned value other than undefined/null replaces the output. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ForwardHook = (module: Module, inputs: any[], output: any) => any;
/**
 * hook(module, gradInput, gradOutput): one entry per forward argument and
 * per output (null where not a Tensor or no gradient); a returned array
 * replaces gradInput.
 */
export type FullBackwardHook = (
  module: Module,
  gradInput: (Tensor | null)[],
  gradOutput: (Tensor | null)[],
) => (Tensor | null)[] | Tensor | null | undefined | void;

// Note [Callable modules]
// model(x) runs as PyTorch's __call__: forward pre-hooks, forward, forward
// hooks, backward hooks (all skipped when none is registered). JavaScript
// calls only functions, so Module's constructor returns an arrow function
// whose prototype is the subclass's prototype (new.target.prototype): a
// subclass's constructor then runs on that function (`this` is what
// super() returned), its fields land on it, and instanceof, methods and
// the member discovery of Note [Module members] work as on an object. The
// function's own `length` and `name` are deleted, so that `this.name =
// ...`, a field `name`, and ModuleSequence's `length` getter behave as on
// a plain object; an arrow function has no other own property and no
// `prototype`. Function.prototype is not on the chain (Module's
// `apply` and `call` are Module's own), so typeof model is 'function'
// but nothing else of a function shows. The cost: such an object is in
// V8's dictionary mode, about 10 ns more per field read in forward, small
// next to one op call.

// The declaration merging that gives every Module a call signature typed
// from its own forward: model(x) checks x against forward's parameters.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface Module {
  /** model(...args): forward with the module's hooks, as PyTorch's model(x) (Note [Callable modules]). */
  (...args: Parameters<this['forward']>): ReturnType<this['forward']>;
}

// The signatures of the traversal methods (PyTorch 1.13's).
const NAMED_MODULES = [
  late(param.custom('memo', 'Set<Module>?', as<Set<Module> | null>, null)),
  late(param.custom('prefix', 'str', as<string>, '')),
  late(param.custom('removeDuplicate', 'bool', as<boolean>, true)),
] as const;
const NAMED_MEMBERS = [
  late(param.custom('prefix', 'str', as<string>, '')),
  late(param.custom('recurse', 'bool', as<boolean>, true)),
] as const;
const RECURSE = [late(param.custom('recurse', 'bool', as<boolean>, true))] as const;
const SET_TO_NONE = [late(param.custom('setToNone', 'bool', as<boolean>, true))] as const;
const REQUIRES_GRAD = [late(param.custom('requiresGrad', 'bool', as<boolean>, true))] as const;

function checkBool(op: string, name: string, v: unknown): asserts v is boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${op}: ${name} must be a boolean, got ${K.fmtValue(v)}`);
}
function checkPrefix(op: string, v: unknown): asserts v is string {
  if (typeof v !== 'string') throw new TypeError(`${op}: prefix must be a string, got ${K.fmtValue(v)}`);
}
function checkHook(op: string, hook: unknown): void {
  if (typeof hook !== 'function') throw new TypeError(`${op}: hook must be a function, got ${K.fmtValue(hook)}`);
}

/** values at `indices` of an array of n nulls (PyTorch's _pack_with_none). */
function packWithNull(indices: readonly number[], values: readonly (Tensor | null)[], n: number): (Tensor | null)[] {
  const out: (Tensor | null)[] = new Array(n).fill(null);
  indices.forEach((at, k) => (out[at] = values[k] ?? null));
  return out;
}

function tensorsOf(values: readonly unknown[]): [number[], Tensor[]] {
  const idx: number[] = [];
  const ts: Tensor[] = [];
  values.forEach((v, i) => {
    if (v instanceof Tensor) {
      idx.push(i);
      ts.push(v);
    }
  });
  return [idx, ts];
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

/**
 * nn.Module: the base class of every layer and model. Subclass it, assign Parameters, buffers and submodules
 * to fields in the constructor (they are registered by assignment, as in PyTorch), and implement forward;
 * a module is callable, so model(x) runs forward with its hooks. Differs from PyTorch in naming only
 * (camelCase: stateDict, namedParameters, zeroGrad, ...); model.call(x) is model(x) too.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export abstract class Module {
  /** Whether the module is in training mode (train()/eval()). */
  declare training: boolean;
  /** @internal */ declare readonly _kd: ModuleState;

  constructor() {
    // Note [Callable modules].
    const self = ((...args: unknown[]) => self._callImpl(args)) as unknown as Module;
    const own = self as unknown as Record<string, unknown>;
    delete own.length;
    delete own.name;
    Object.setPrototypeOf(self, new.target.prototype);
    Object.defineProperty(self, '_kd', {
      value: {
        buffers: [],
        nonPersistent: new Set<string>(),
        forwardPreHooks: new Map(),
        forwardHooks: new Map(),
        backwardHooks: new Map(),
      } satisfies ModuleState,
      enumerable: false,
      writable: false,
      configurable: false,
    });
    self.training = true;
    return self;
  }

  /** The module's computation, as PyTorch's forward; call the module (model(x)) rather than forward to run its hooks. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  abstract forward(...args: any[]): any;

  /** model.call(x) is model(x): forward with the module's hooks. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call(...args: any[]): any {
    return this._callImpl(args);
  }

  /** @internal PyTorch's _call_impl: pre-hooks, backward-hook wrapping of the inputs, forward, forward hooks, wrapping of the output. */
  _callImpl(args: unknown[]): unknown {
    const kd = this._kd;
    if (kd.forwardPreHooks.size === 0 && kd.forwardHooks.size === 0 && kd.backwardHooks.size === 0) return this.forward(...args);
    let inputs = args;
    for (const hook of [...kd.forwardPreHooks.values()]) {
      const r: unknown = hook(this, inputs);
      if (r !== undefined && r !== null) inputs = Array.isArray(r) ? r : [r];
    }
    // The hooks of this call, as PyTorch's BackwardHook keeps them: removing
    // one after forward does not change this graph's backward.
    const bwHooks = [...kd.backwardHooks.values()];
    const bw = { gradOutputs: null as (Tensor | null)[] | null, inputIdx: null as number[] | null, nInputs: inputs.length };
    if (bwHooks.length && isGradEnabled()) {
      const [idx, ts] = tensorsOf(inputs);
      const wrapped = backwardBarrier(
        ts,
        (grads) => {
          if (bw.gradOutputs === null) return; // reached the inputs without passing the outputs (double backward)
          let res = packWithNull(idx, grads, bw.nInputs);
          for (const hook of bwHooks) {
            const r = hook(this, res, bw.gradOutputs);
            if (r === undefined || r === null) continue;
            const list = r instanceof Tensor ? [r] : r;
            if (!Array.isArray(list) || list.length !== res.length) {
              throw new Error(
                `backward hook of ${this.constructor.name} returned an invalid number of grad_input, got ${Array.isArray(list) ? list.length : K.fmtValue(r)}, but expected ${res.length}`,
              );
            }
            res = list;
          }
          bw.gradOutputs = null;
          return idx.map((i) => res[i]);
        },
        true,
      );
      if (wrapped) {
        inputs = inputs.slice();
        idx.forEach((at, k) => (inputs[at] = wrapped[k]));
        bw.inputIdx = idx;
      }
    }
    let result: unknown = this.forward(...inputs);
    for (const hook of [...kd.forwardHooks.values()]) {
      const r: unknown = hook(this, inputs, result);
      if (r !== undefined && r !== null) result = r;
    }
    if (bwHooks.length && isGradEnabled()) {
      const outs: unknown[] = Array.isArray(result) ? result : [result];
      const [idx, ts] = tensorsOf(outs);
      const wrapped = backwardBarrier(
        ts,
        (grads) => {
          bw.gradOutputs = packWithNull(idx, grads, outs.length);
          if (bw.inputIdx !== null) return;
          // No input requires grad: PyTorch calls the hooks here, with gradInput all null.
          const gradInput: (Tensor | null)[] = new Array(bw.nInputs).fill(null);
          for (const hook of bwHooks) {
            const r = hook(this, gradInput, bw.gradOutputs);
            if (r !== undefined && r !== null && !(Array.isArray(r) && r.every((g) => g === null || g === undefined))) {
              throw new Error(
                `backward hook of ${this.constructor.name}: a backward hook of a Module where no input requires gradient must return nothing, or null for every gradient`,
              );
            }
          }
          bw.gradOutputs = null;
        },
        false,
      );
      if (wrapped) {
        const copy = outs.slice();
        idx.forEach((at, k) => (copy[at] = wrapped[k]));
        result = Array.isArray(result) ? copy : copy[0];
      }
    }
    return result;
  }

  // ---- hooks ---------------------------------------------------------------------------------

  /**
   * hook(module, inputs) runs before every forward call through model(...);
   * a returned array (or single value) replaces the inputs.
   */
  registerForwardPreHook(hook: ForwardPreHook): RemovableHandle {
    checkHook('registerForwardPreHook', hook);
    const h = new RemovableHandle(this._kd.forwardPreHooks);
    this._kd.forwardPreHooks.set(h.id, hook);
    return h;
  }

  /** hook(module, inputs, output) runs after every forward call; a returned value replaces the output. */
  registerForwardHook(hook: ForwardHook): RemovableHandle {
    checkHook('registerForwardHook', hook);
    const h = new RemovableHandle(this._kd.forwardHooks);
    this._kd.forwardHooks.set(h.id, hook);
    return h;
  }

  /**
   * hook(module, gradInput, gradOutput) runs when the gradients with
   * respect to the module's inputs are computed (PyTorch's
   * register_full_backward_hook); a returned array replaces gradInput.
   * Only calls as model(x) are hooked, and a forward must not modify its
   * inputs in place.
   */
  registerFullBackwardHook(hook: FullBackwardHook): RemovableHandle {
    checkHook('registerFullBackwardHook', hook);
    const h = new RemovableHandle(this._kd.backwardHooks);
    this._kd.backwardHooks.set(h.id, hook);
    return h;
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
    // A buffer outlives any memory.scope that made its values.
    if (tensor !== null) tensor._storage._pinned = true;
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

  /** Alias of addModule, as PyTorch's register_module. */
  registerModule(name: string, module: Module | null): void {
    this.addModule(name, module);
  }

  // ---- traversal ---------------------------------------------------------------------------

  /**
   * Every module in the tree, this one first (named prefix, '' by default),
   * with dotted names: namedModules(memo?, prefix?, removeDuplicate?) as
   * PyTorch's named_modules. A module met twice (or already in `memo`) is
   * listed once unless removeDuplicate is false; modules listed are added to
   * `memo`.
   */
  namedModules(memo?: Set<Module> | null, prefix?: string, removeDuplicate?: boolean): [string, Module][];
  namedModules(opts: { memo?: Set<Module> | null; prefix?: string; removeDuplicate?: boolean }): [string, Module][];
  namedModules(...args: unknown[]): [string, Module][] {
    const op = 'namedModules';
    const a = bindOptions(op, NAMED_MODULES, args);
    if (a.memo !== null && !(a.memo instanceof Set))
      throw new TypeError(`${op}: memo must be a Set of Modules or null, got ${K.fmtValue(a.memo)}`);
    checkPrefix(op, a.prefix);
    checkBool(op, 'removeDuplicate', a.removeDuplicate);
    const memo = a.memo ?? new Set<Module>();
    const dedupe = a.removeDuplicate;
    const out: [string, Module][] = [];
    const walk = (m: Module, prefix: string) => {
      if (memo.has(m)) return;
      if (dedupe) memo.add(m);
      out.push([prefix, m]);
      for (const [k, c] of m._ownChildren()) walk(c, prefix ? `${prefix}.${k}` : k);
    };
    walk(this, a.prefix);
    return out;
  }

  /** Every module in the tree, this one first, each once (PyTorch's modules()). */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** The direct submodules with their names, each module once. */
  namedChildren(): [string, Module][] {
    const seen = new Set<Module>();
    return this._ownChildren().filter(([, m]) => (seen.has(m) ? false : (seen.add(m), true)));
  }

  /** The direct submodules, each once (PyTorch's children()). */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** @internal PyTorch's _named_members: each tensor once, over this module or the whole tree. */
  _namedMembers<T extends Tensor>(op: string, args: unknown[], own: (m: Module) => [string, T][]): [string, T][] {
    const { prefix, recurse } = bindOptions(op, NAMED_MEMBERS, args);
    checkPrefix(op, prefix);
    checkBool(op, 'recurse', recurse);
    const mods: [string, Module][] = recurse ? this.namedModules({ prefix }) : [[prefix, this]];
    const out: [string, T][] = [];
    const seen = new Set<Tensor>();
    for (const [mp, m] of mods) {
      for (const [k, t] of own(m)) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([mp ? `${mp}.${k}` : k, t]);
      }
    }
    return out;
  }

  /** Parameters with dotted names ('features.0.weight'), each tensor once: namedParameters(prefix?, recurse?). */
  namedParameters(prefix?: string, recurse?: boolean): [string, Parameter][];
  namedParameters(opts: { prefix?: string; recurse?: boolean }): [string, Parameter][];
  namedParameters(...args: unknown[]): [string, Parameter][] {
    return this._namedMembers('namedParameters', args, (m) => m._ownParameters());
  }

  /** parameters(recurse = true) */
  parameters(recurse?: boolean): Parameter[];
  parameters(opts: { recurse?: boolean }): Parameter[];
  parameters(...args: unknown[]): Parameter[] {
    const { recurse } = bindOptions('parameters', RECURSE, args);
    checkBool('parameters', 'recurse', recurse);
    return this.namedParameters({ recurse }).map(([, p]) => p);
  }

  /** Buffers with dotted names, each tensor once: namedBuffers(prefix?, recurse?). */
  namedBuffers(prefix?: string, recurse?: boolean): [string, Tensor][];
  namedBuffers(opts: { prefix?: string; recurse?: boolean }): [string, Tensor][];
  namedBuffers(...args: unknown[]): [string, Tensor][] {
    return this._namedMembers('namedBuffers', args, (m) => m._ownBuffers());
  }

  /** buffers(recurse = true) */
  buffers(recurse?: boolean): Tensor[];
  buffers(opts: { recurse?: boolean }): Tensor[];
  buffers(...args: unknown[]): Tensor[] {
    const { recurse } = bindOptions('buffers', RECURSE, args);
    checkBool('buffers', 'recurse', recurse);
    return this.namedBuffers({ recurse }).map(([, b]) => b);
  }

  /** The submodule at a dotted path ('features.0'); '' is this module. Throws when there is none. */
  getSubmodule(target: string): Module {
    if (target === '') return this;
    for (const [n, m] of this.namedModules()) if (n === target) return m;
    throw new Error(`getSubmodule: ${this.constructor.name} has no submodule '${target}'`);
  }

  /** The parameter at a dotted path ('features.0.weight'). Throws when there is none. */
  getParameter(target: string): Parameter {
    for (const [n, p] of this.namedParameters()) if (n === target) return p;
    throw new Error(`getParameter: ${this.constructor.name} has no parameter '${target}'`);
  }

  /** The buffer at a dotted path ('bn.runningMean'). Throws when there is none. */
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

  /** Sets training mode (true by default) on this module and every submodule, as PyTorch's train(mode); returns this. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new TypeError(`train: mode must be a boolean, got ${typeof mode}`);
    this.training = mode;
    for (const c of this.children()) c.train(mode);
    return this;
  }

  /** Evaluation mode: train(false) (Dropout off, BatchNorm uses running statistics); returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Sets requiresGrad on every parameter: requiresGrad_(requiresGrad = true). */
  requiresGrad_(requiresGrad?: boolean): this;
  requiresGrad_(opts: { requiresGrad?: boolean }): this;
  requiresGrad_(...args: unknown[]): this {
    const flag = bindOptions('requiresGrad_', REQUIRES_GRAD, args).requiresGrad;
    checkBool('requiresGrad_', 'requiresGrad', flag);
    for (const p of this.parameters()) p.requiresGrad_(flag);
    return this;
  }

  /**
   * Clears every parameter's gradient: zeroGrad(setToNone = true). The
   * default is PyTorch 2's (1.13's was false); with false the gradients are
   * zeroed in place.
   */
  zeroGrad(setToNone?: boolean): void;
  zeroGrad(opts: { setToNone?: boolean }): void;
  zeroGrad(...args: unknown[]): void {
    const setToNone = bindOptions('zeroGrad', SET_TO_NONE, args).setToNone;
    checkBool('zeroGrad', 'setToNone', setToNone);
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
  to(target: DType | string | TorchDevice | { dtype?: DType; device?: string | TorchDevice }): this {
    // torch.device('cuda') is the same target as its string.
    if (target instanceof TorchDevice) target = target.toString();
    if (typeof target === 'object' && target !== null) {
      checkOptions('Module.to', target, ['dtype', 'device']);
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

  /** Casts floating-point parameters and buffers to float32 in place; returns this. */
  float(): this {
    return this.to('float32');
  }
  /** Casts floating-point parameters and buffers to float64 in place; returns this. */
  double(): this {
    return this.to('float64');
  }
  /** Casts floating-point parameters and buffers to float16 in place (PyTorch's half()); returns this. */
  half(): this {
    return this.to('float16');
  }
  /** Casts floating-point parameters and buffers to bfloat16 in place; returns this. */
  bfloat16(): this {
    return this.to('bfloat16');
  }
  /** Moves parameters and buffers to the CPU in place; returns this. */
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

  /** The module tree as PyTorch prints it: Name(extraRepr, (child): ...). */
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
