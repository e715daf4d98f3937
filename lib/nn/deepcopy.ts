// Python's copy.deepcopy for modules: what PyTorch's _get_clones uses to
// give every layer of a TransformerEncoder its own parameters.
import { Tensor } from '../tensor.js';
import { noGrad } from '../autograd/grad_mode.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';
import { ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential } from './layers/container.js';
import { isOptions } from '../util/args.js';

// Note [Deep copy of a module]: a Module is a callable made by Module's
// constructor (Note [Callable modules] in module.ts), so a copy is made by
// running that constructor for the original's class without the class's
// own constructor (Reflect.construct with the class as new.target), then
// given a deep copy of every own data property. Containers keep their
// entries in non-enumerable state with index accessors bound to the
// instance, so a container (or a subclass of one) is made by its
// container class's constructor from copies of its entries instead.
// Parameters and buffers are new tensors holding copies of the values
// (and of .grad); a tensor or module met twice is copied once, so weights
// tied inside the copied tree stay tied. Functions and class instances
// other than tensors and modules are shared, not copied; hooks are copied
// (the same functions). As PyTorch, a tensor inside a graph (not a leaf)
// is refused.

type Memo = Map<unknown, unknown>;

/** @internal A deep copy of `value` (a Module, tensor, array, Map, Set or plain object); see Note [Deep copy of a module]. */
export function deepCopy<T>(value: T, memo: Memo = new Map()): T {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return value;
  if (memo.has(value)) return memo.get(value) as T;
  if (value instanceof Module) return copyModule(value, memo) as T;
  if (value instanceof Tensor) return copyTensor(value, memo) as T;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    memo.set(value, out);
    for (const v of value) out.push(deepCopy(v, memo));
    return out as T;
  }
  if (value instanceof Map) {
    const out = new Map();
    memo.set(value, out);
    for (const [k, v] of value) out.set(k, deepCopy(v, memo));
    return out as T;
  }
  if (value instanceof Set) {
    const out = new Set();
    memo.set(value, out);
    for (const v of value) out.add(deepCopy(v, memo));
    return out as T;
  }
  if (isOptions(value)) {
    const out: Record<string, unknown> = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
    memo.set(value, out);
    for (const [k, v] of Object.entries(value)) out[k] = deepCopy(v, memo);
    return out as T;
  }
  return value;
}

function copyTensor(t: Tensor, memo: Memo): Tensor {
  if (!t.isLeaf) {
    throw new Error(
      'deepCopy: only tensors created explicitly by the user (graph leaves) support the deepcopy protocol; detach() the tensor first',
    );
  }
  const data = noGrad(() => t.detach().clone());
  const out = t instanceof Parameter ? new Parameter(data, t.requiresGrad) : t.requiresGrad ? data.requiresGrad_(true) : data;
  memo.set(t, out);
  if (t.grad !== null) out.grad = noGrad(() => t.grad!.clone());
  return out;
}

function copyModule(m: Module, memo: Memo): Module {
  const cls = m.constructor as new (...args: unknown[]) => Module;
  let copy: Module;
  // Own state that the container's constructor rebuilds.
  const rebuilt = new Set<PropertyKey>(['_kd']);
  const entries = <V>(items: Iterable<[string, V]>): [string, V][] => [...items].map(([k, v]) => [k, deepCopy(v, memo)]);
  if (m instanceof Sequential) {
    copy = Reflect.construct(Sequential, [new Map(entries(m._items))], cls) as Module;
  } else if (m instanceof ModuleList) {
    copy = Reflect.construct(ModuleList, [entries(m._items).map(([, c]) => c)], cls) as Module;
  } else if (m instanceof ModuleDict) {
    copy = Reflect.construct(ModuleDict, [new Map(entries(m._items))], cls) as Module;
  } else if (m instanceof ParameterList) {
    copy = Reflect.construct(ParameterList, [m._items.map((p) => deepCopy(p, memo))], cls) as Module;
  } else if (m instanceof ParameterDict) {
    copy = Reflect.construct(ParameterDict, [new Map(entries(m._items))], cls) as Module;
  } else {
    // Module is abstract to TypeScript only: its constructor runs for `cls`.
    copy = Reflect.construct(Module as unknown as new () => Module, [], cls);
  }
  if (m instanceof Sequential || m instanceof ModuleList || m instanceof ParameterList) rebuilt.add('_items').add('_indexed');
  if (m instanceof ModuleDict || m instanceof ParameterDict) rebuilt.add('_items');
  memo.set(m, copy);
  const target = copy as unknown as Record<PropertyKey, unknown>;
  for (const key of Reflect.ownKeys(m)) {
    if (rebuilt.has(key)) continue;
    const d = Object.getOwnPropertyDescriptor(m, key)!;
    // Accessors are a container's index and key views, which its constructor made anew.
    if (!('value' in d)) continue;
    const value: unknown = deepCopy(d.value, memo);
    const have = Object.getOwnPropertyDescriptor(copy, key);
    if (have === undefined) Object.defineProperty(copy, key, { ...d, value });
    else if (have.writable) target[key] = value;
  }
  const from = m._kd;
  const to = copy._kd;
  to.buffers.splice(0, to.buffers.length, ...from.buffers);
  to.nonPersistent.clear();
  for (const k of from.nonPersistent) to.nonPersistent.add(k);
  for (const [src, dst] of [
    [from.forwardPreHooks, to.forwardPreHooks],
    [from.forwardHooks, to.forwardHooks],
    [from.backwardHooks, to.backwardHooks],
  ] as [Map<number, unknown>, Map<number, unknown>][]) {
    dst.clear();
    for (const [id, hook] of src) dst.set(id, hook);
  }
  return copy;
}
