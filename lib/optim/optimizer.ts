// The Optimizer base class, after torch.optim.Optimizer: parameter groups
// with per-group options, per-parameter state, zeroGrad, and state dicts in
// PyTorch's shape. Subclasses implement one fused native update per
// parameter (native/cpu/optim.cc); nothing here loops over elements.
import { Tensor } from '../tensor.js';
import { isFloating } from '../dtype.js';
import { enableGrad, noGrad } from '../autograd/grad_mode.js';
import * as K from '../ops/kernels.js';
import { native } from '../backend/native.js';
import { didYouMean, param, as, late } from '../util/args.js';

/** One parameter group: its tensors and the options every update reads. */
export interface ParamGroup {
  params: Tensor[];
  lr: number;
  [option: string]: unknown;
}

/** A group as a caller passes it: options left out take the optimizer's defaults. */
export interface ParamGroupInput {
  params: Iterable<Tensor> | Tensor;
  [option: string]: unknown;
}

export type Params = Iterable<Tensor> | Iterable<ParamGroupInput>;

/** A parameter's optimizer state: buffers (Tensors), step counts, or null for an unused buffer. */
export type ParamState = Record<string, Tensor | number | null>;

/**
 * PyTorch's state dict shape: `state` keyed by the parameter's index (its
 * position over all groups in order), `param_groups` with the indices in
 * place of the tensors.
 */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  param_groups: (Record<string, unknown> & { params: number[] })[];
}

/**
 * optim.Optimizer's `required`: the default of an option that must be given, in the constructor or in every param
 * group (SGD's lr).
 */
// Stands for a default the caller must give (PyTorch's `required`, SGD's lr).
export const REQUIRED: unique symbol = Symbol('required');

// Note [Optimizer signatures]: each optimizer and scheduler declares its
// PyTorch signature once, as a parameter list, and binds its constructor's
// arguments with it (lib/util/args.ts): every parameter positionally, in
// PyTorch's order, or by name in one trailing options object; an unknown
// key, a value given twice or too many positional values is a TypeError.
// What PyTorch has and Kindling does not implement (foreach, capturable,
// differentiable, fused; a scheduler's verbose) is left out, so passing it
// is an unknown option, and a parameter after one of them in PyTorch's
// order is keyword-only (RMSprop's maximize after foreach). The binder
// only places values and fills defaults: the optimizer checks them per
// group (validateGroup) and a scheduler in its constructor, as before, so
// the messages are unchanged; a required parameter left out reaches that
// check as undefined (`late`). A param group's keys are checked against
// the optimizer's option names in addParamGroup.

// late and as live in util/args.ts; the layers and optimizers import them from here.
export { as, late } from '../util/args.js';

/** @internal Every optimizer's first parameter. */
export const paramsParam = late(param.custom('params', 'Iterable[Tensor]|Iterable[dict]', as<Params>));

type Defaults = Record<string, unknown>;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'Array';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

function isIterable(v: unknown): v is Iterable<unknown> {
  return v !== null && v !== undefined && typeof (v as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function snakeToCamel(k: string): string {
  return k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

// Options are numbers, booleans, strings, or small arrays (betas): copying
// the arrays keeps a state dict from aliasing a live group.
function copyOption(v: unknown): unknown {
  return Array.isArray(v) ? v.map(copyOption) : v;
}

/**
 * optim.Optimizer: the base of the optimizers. Takes an iterable of parameters or of param groups
 * ({ params, ...options }) and keeps paramGroups, per-parameter state, step(), zeroGrad(), stateDict() and
 * loadStateDict() as PyTorch's (state dicts use PyTorch's layout, option names in camelCase).
 */
export abstract class Optimizer<G extends ParamGroup = ParamGroup> {
  /** The options a group gets when it does not set them. */
  readonly defaults: Defaults;
  paramGroups: G[] = [];
  /** Per-parameter state, created on a parameter's first update. */
  state: Map<Tensor, ParamState> = new Map();
  /** @internal The class name errors start with ("SGD", "Adam", ...). */
  protected readonly optName: string;

  constructor(name: string, params: Params, defaults: Defaults) {
    this.optName = name;
    this.defaults = defaults;
    if (params instanceof Tensor) {
      throw new TypeError(
        `${name}: params argument given to the optimizer should be an iterable of Tensors or param groups, but got Tensor`,
      );
    }
    if (!isIterable(params)) {
      throw new TypeError(
        `${name}: params argument given to the optimizer should be an iterable of Tensors or param groups, but got ${typeName(params)}`,
      );
    }
    let groups = Array.from(params as Iterable<unknown>);
    if (groups.length === 0) throw new RangeError(`${name}: optimizer got an empty parameter list`);
    const first = groups[0];
    if (first instanceof Tensor || first === null || typeof first !== 'object' || !('params' in first)) {
      groups = [{ params: groups }];
    }
    for (const g of groups) this.addParamGroup(g as ParamGroupInput);
  }

  /** Checks a group's options once its defaults are filled in; throws as PyTorch's constructor does. */
  protected abstract validateGroup(group: G): void;

  /** Updates one parameter in place from its gradient (under noGrad, grad not null). */
  protected abstract updateParam(param: Tensor, grad: Tensor, group: G, state: ParamState): void;

  /** Adds a group of parameters, e.g. layers unfrozen during fine-tuning. */
  addParamGroup(paramGroup: ParamGroupInput): void {
    const name = this.optName;
    if (paramGroup === null || typeof paramGroup !== 'object' || Array.isArray(paramGroup) || paramGroup instanceof Tensor) {
      throw new TypeError(`${name}: param group must be an object with a 'params' field, got ${typeName(paramGroup)}`);
    }
    // A group's keys are 'params' and the optimizer's options (Note [Optimizer signatures]).
    const valid = ['params', ...Object.keys(this.defaults)];
    for (const key of Object.keys(paramGroup)) {
      if (valid.includes(key)) continue;
      const hint = didYouMean(key, valid);
      throw new TypeError(
        `${name}: unknown option '${key}' in paramGroups[${this.paramGroups.length}]${hint ? ` (did you mean '${hint}'?)` : ''}; valid options: ${valid.join(', ')}`,
      );
    }
    const raw = paramGroup.params;
    let params: unknown[];
    if (raw instanceof Tensor) params = [raw];
    else if (raw instanceof Set) {
      throw new TypeError(
        `${name}: optimizer parameters need to be organized in ordered collections, but the ordering of tensors in sets will change between runs. Please use an array instead.`,
      );
    } else if (isIterable(raw)) params = Array.from(raw);
    else throw new TypeError(`${name}: param group 'params' must be a Tensor or an iterable of Tensors, got ${typeName(raw)}`);
    for (const p of params) {
      if (!(p instanceof Tensor)) {
        throw new TypeError(`${name}: optimizer can only optimize Tensors, but one of the params is ${typeName(p)}`);
      }
      if (!(p.isLeaf || p.retainsGrad)) throw new RangeError(`${name}: can't optimize a non-leaf Tensor`);
    }
    const group: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(paramGroup)) if (k !== 'params') group[k] = copyOption(v);
    for (const [k, v] of Object.entries(this.defaults)) {
      if (v === REQUIRED) {
        if (group[k] === undefined) {
          throw new RangeError(`${name}: parameter group didn't specify a value of required optimization parameter ${k}`);
        }
      } else if (group[k] === undefined) {
        group[k] = copyOption(v);
      }
    }
    group.params = params;
    this.validateGroup(group as G);
    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) for (const p of g.params) seen.add(p);
    for (const p of params as Tensor[]) {
      if (seen.has(p)) throw new RangeError(`${name}: some parameters appear in more than one parameter group`);
    }
    this.paramGroups.push(group as G);
  }

  /**
   * Resets the gradients of every parameter: to null (the default, as in
   * PyTorch 2), or to zeros in place with `{ setToNone: false }`.
   */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    const setToNone = opts.setToNone ?? true;
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        const g = p.grad;
        if (g === null) continue;
        if (setToNone) {
          p.grad = null;
          continue;
        }
        if (g.gradFn !== null) g.detach_();
        else g.requiresGrad_(false);
        noGrad(() => g.zero_());
      }
    }
  }

  /**
   * One update of every parameter that has a gradient. `closure`, if given,
   * re-evaluates the model (with grad enabled) and its result is returned.
   */
  step<T = unknown>(closure?: () => T): T | undefined {
    let loss: T | undefined;
    if (closure !== undefined) {
      if (typeof closure !== 'function') throw new TypeError(`${this.optName}.step: closure must be a function`);
      loss = enableGrad(closure);
    }
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const grad = p.grad;
          if (grad === null) continue;
          let state = this.state.get(p);
          if (state === undefined) {
            state = {};
            this.state.set(p, state);
          }
          this.updateParam(p, grad, group, state);
          // State lives across steps, outside any memory.scope.
          for (const k in state) {
            const v = state[k];
            if (v instanceof Tensor) v._storage._pinned = true;
          }
        }
      }
    });
    return loss;
  }

  /**
   * Runs a native in-place update. The kernels want contiguous memory of
   * the parameter's dtype, so a strided parameter is updated in a copy that
   * is written back, and a gradient of another dtype or layout is converted.
   * The write bumps the parameter's version, so a graph that saved the old
   * values refuses to backward through them.
   */
  protected applyUpdate(p: Tensor, grad: Tensor, update: (param: Tensor, grad: Tensor) => void): void {
    if (!isFloating(p.dtype)) {
      throw new TypeError(`${this.optName}: can only optimize float32 or float64 parameters, got ${p.dtype}`);
    }
    if (!sameShape(grad._shape, p._shape)) {
      throw new RangeError(
        `${this.optName}: gradient of shape ${K.fmtShape(grad._shape)} does not match the parameter's shape ${K.fmtShape(p._shape)}`,
      );
    }
    let g = grad.dtype === p.dtype ? grad : K.cast(grad, p.dtype);
    g = K.contiguous(g);
    const target = p.isContiguous() ? p : K.contiguous(p);
    update(target, g);
    if (target !== p) native.copy(target._ref(), p._ref());
    p._bumpVersion();
  }

  /** A zeroed state buffer shaped like the parameter. */
  protected zerosLike(p: Tensor): Tensor {
    return K.empty(p._shape, p.dtype, this.optName, p.device);
  }

  /**
   * The state as PyTorch's state_dict gives it: parameters replaced by their
   * index over all groups, buffers cloned so later steps do not change it.
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    let start = 0;
    const paramGroups = this.paramGroups.map((g) => {
      const packed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params') packed[k] = copyOption(v);
      g.params.forEach((p, i) => {
        if (!index.has(p)) index.set(p, start + i);
      });
      packed.params = g.params.map((p) => index.get(p)!);
      start += g.params.length;
      return packed as Record<string, unknown> & { params: number[] };
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const packed: ParamState = {};
      for (const [k, v] of Object.entries(s)) packed[k] = v instanceof Tensor ? noGrad(() => K.clone(v)) : v;
      state[i] = packed;
    }
    return { state, param_groups: paramGroups };
  }

  /**
   * Loads a state dict from stateDict() (or PyTorch's, with snake_case keys).
   * Groups must match this optimizer's in number and size; buffers are
   * copied, converted to their parameter's dtype and checked for its shape.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const name = `${this.optName}.loadStateDict`;
    if (stateDict === null || typeof stateDict !== 'object') {
      throw new TypeError(`${name}: expected a state dict object, got ${typeName(stateDict)}`);
    }
    const sd = stateDict as unknown as Record<string, unknown>;
    const savedGroups = (sd.param_groups ?? sd.paramGroups) as unknown;
    const savedState = (sd.state ?? {}) as unknown;
    if (!Array.isArray(savedGroups)) throw new TypeError(`${name}: the state dict has no param_groups array`);
    if (savedState === null || typeof savedState !== 'object') throw new TypeError(`${name}: the state dict's state must be an object`);
    const groups = this.paramGroups;
    if (groups.length !== savedGroups.length) {
      throw new RangeError(
        `${name}: loaded state dict has a different number of parameter groups (${savedGroups.length} vs ${groups.length})`,
      );
    }
    for (let i = 0; i < groups.length; i++) {
      const sg = savedGroups[i] as Record<string, unknown> | null;
      if (sg === null || typeof sg !== 'object' || !Array.isArray(sg.params)) {
        throw new TypeError(`${name}: param_groups[${i}] has no params array`);
      }
      if (sg.params.length !== groups[i].params.length) {
        throw new RangeError(
          `${name}: loaded state dict contains a parameter group that doesn't match the size of optimizer's group (group ${i}: ${sg.params.length} vs ${groups[i].params.length})`,
        );
      }
    }
    const idMap = new Map<number, Tensor>();
    savedGroups.forEach((sg: { params: unknown[] }, i) => {
      sg.params.forEach((id, j) => idMap.set(Number(id), groups[i].params[j]));
    });

    // Build everything first, so a bad entry leaves the optimizer as it was.
    const newState = new Map<Tensor, ParamState>();
    for (const [key, value] of Object.entries(savedState as Record<string, unknown>)) {
      const p = idMap.get(Number(key));
      if (p === undefined) continue;
      if (value === null || typeof value !== 'object') throw new TypeError(`${name}: state[${key}] must be an object`);
      const entry: ParamState = {};
      for (const [rawK, v] of Object.entries(value as Record<string, unknown>)) {
        const k = snakeToCamel(rawK);
        if (k === 'step') {
          const step = v instanceof Tensor ? v.item() : v;
          if (typeof step !== 'number') throw new TypeError(`${name}: state[${key}].step must be a number`);
          entry.step = step;
        } else if (v instanceof Tensor) {
          if (!sameShape(v._shape, p._shape)) {
            throw new RangeError(
              `${name}: state[${key}].${k} has shape ${K.fmtShape(v._shape)} but its parameter has shape ${K.fmtShape(p._shape)}`,
            );
          }
          // State lives where its parameter lives (PyTorch moves it too).
          entry[k] = noGrad(() => K.toDevice(isFloating(p.dtype) ? K.cast(v, p.dtype) : v, p.device, name, true));
        } else if (v === null || typeof v === 'number') {
          entry[k] = v;
        } else {
          throw new TypeError(`${name}: state[${key}].${k} must be a Tensor, a number or null, got ${typeName(v)}`);
        }
      }
      newState.set(p, entry);
    }
    const newOptions = savedGroups.map((sg: Record<string, unknown>) => {
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(sg)) if (k !== 'params') o[snakeToCamel(k)] = copyOption(v);
      return o;
    });
    // Groups keep their identity (a scheduler or a caller may hold them);
    // their options are replaced by the saved ones.
    groups.forEach((g, i) => {
      for (const k of Object.keys(g)) if (k !== 'params') delete g[k];
      Object.assign(g, newOptions[i]);
    });
    this.state = newState;
  }

  /** The optimizer and its groups' options as PyTorch prints them. */
  toString(): string {
    let s = `${this.optName} (`;
    this.paramGroups.forEach((g, i) => {
      s += `\nParameter Group ${i}\n`;
      for (const k of Object.keys(g).sort()) if (k !== 'params') s += `    ${k}: ${String(g[k])}\n`;
    });
    return s + ')';
  }
}

// ---- option checks shared by the optimizers ------------------------------------------------
export function checkNumber(opt: string, key: string, v: unknown): number {
  if (typeof v !== 'number') throw new TypeError(`${opt}: ${key} must be a number, got ${typeName(v)}`);
  return v;
}

export function checkBool(opt: string, key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${opt}: ${key} must be a boolean, got ${typeName(v)}`);
  return v;
}

/** `!(v >= 0)` also rejects NaN. `what` is PyTorch's wording ("learning rate", "epsilon value", ...). */
export function checkNonNegative(opt: string, key: string, what: string, v: unknown): void {
  const n = checkNumber(opt, key, v);
  if (!(n >= 0)) throw new RangeError(`${opt}: invalid ${what}: ${n}`);
}
