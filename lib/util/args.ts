// Python's argument binding for JS callers. A PyTorch signature such as
//   sum(input, dim=None, keepdim=False, *, dtype=None)
// becomes a list of parameters; a call passes a prefix of them positionally
// and any of them (keyword-only ones included) in one trailing options
// object: x.sum(1, true), x.sum({ dim: 1, keepdim: true }),
// x.sum(1, { keepdim: true }). As in Python, an unknown keyword, a value
// given twice and too many positional values are TypeErrors, and the
// unknown-keyword error names the closest valid name (Note [Did you mean]).
// Ops, modules, optimizers and schedulers all bind through here.
//
// This file sits at the bottom of lib/ with dtype.ts: it imports nothing.

/** One parameter: its name, whether it has a default, and its check. */
export interface Param<N extends string = string, T = unknown, O extends boolean = boolean> {
  readonly name: N;
  /** Has a default (may be left out). */
  readonly optional: O;
  readonly default: T | undefined;
  /** Only by keyword: after Python's `*`. */
  readonly kwOnly: boolean;
  /**
   * Python's `*size`: takes every remaining positional value (x.view(2, 3)),
   * or one array of them (x.view([2, 3])). Only the last positional
   * parameter may be one.
   */
  readonly rest?: boolean;
  /** The Python-style type for messages and the API reference ('int', 'Tensor', 'int[]?'). */
  readonly type: string;
  /** Returns the value to use, or throws a TypeError/RangeError naming `owner`. */
  readonly check: (v: unknown, owner: string) => T;
}

/**
 * A caller's argument as error-message text. Never throws: a template
 * literal throws on a Symbol, String() on an object without a prototype,
 * JSON.stringify on a BigInt or a cycle, and any of them would replace the
 * op's error with one that does not name the op.
 */
export function fmtValue(v: unknown, depth = 0): string {
  switch (typeof v) {
    case 'symbol':
      return v.toString();
    case 'bigint':
      return `${v}n`;
    case 'function': {
      // A callable instance (an nn.Module, Note [Callable modules]) has its class's prototype, an object.
      const proto: unknown = Object.getPrototypeOf(v);
      const cls =
        typeof proto === 'object' && proto !== null ? (proto as { constructor?: { name?: string } }).constructor?.name : undefined;
      if (cls) return `[object ${cls}]`;
      return `[function ${(v as { name?: string }).name || 'anonymous'}]`;
    }
    case 'string':
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    case 'object': {
      if (v === null) return 'null';
      // A Tensor, recognised by shape (this file sits below tensor.ts).
      const t = v as { _storage?: unknown; _shape?: unknown; dtype?: unknown };
      if (t._storage !== undefined && Array.isArray(t._shape) && typeof t.dtype === 'string')
        return `Tensor(${t.dtype}, ${fmtShape(t._shape)})`;
      if (Array.isArray(v)) {
        if (depth > 1) return '[...]';
        const items = v.slice(0, 8).map((x) => fmtValue(x, depth + 1));
        return `[${items.join(', ')}${v.length > 8 ? ', ...' : ''}]`;
      }
      if (ArrayBuffer.isView(v))
        return `${v.constructor?.name ?? 'typed array'}(${(v as unknown as { length?: number }).length ?? v.byteLength})`;
      try {
        const ctor = Object.getPrototypeOf(v)?.constructor?.name;
        if (ctor && ctor !== 'Object') return `[object ${ctor}]`;
        const j = JSON.stringify(v);
        if (j !== undefined) return j.length > 60 ? `${j.slice(0, 60)}...` : j;
      } catch {
        /* a BigInt inside, a cycle, a throwing getter or toJSON */
      }
      return '[object]';
    }
    default:
      return String(v);
  }
}

export function fmtShape(s: readonly number[]): string {
  // Shapes in messages may be the caller's unchecked arguments.
  return Array.isArray(s) ? `[${s.map((v) => fmtValue(v)).join(', ')}]` : fmtValue(s);
}

/**
 * Whether v is an options object: a plain object literal (prototype Object
 * or null). Tensors, arrays, typed arrays and class instances never are, so
 * a trailing options object is told apart from a positional value.
 */
export function isOptions(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

// Note [Did you mean]: the suggestion for an unknown keyword is, in order,
// the camelCase spelling of a Python name (keep_dim -> keepdim is not one;
// num_classes -> numClasses is), a case-insensitive match, then the valid
// name nearest by edit distance when it is near enough to be a typo (at
// most a third of the key's length, and at least 1 and at most 3 edits),
// then the one valid name that the key less its last letter begins (four
// letters at least): a name cut short, as Python's deprecated `reduce` is
// of `reduction`.
export function didYouMean(key: string, valid: readonly string[]): string | null {
  if (valid.length === 0) return null;
  const camel = key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const lower = camel.toLowerCase();
  for (const v of valid) if (v === camel) return v;
  for (const v of valid) if (v.toLowerCase() === lower) return v;
  let best: string | null = null,
    bestD = Infinity;
  for (const v of valid) {
    const d = editDistance(lower, v.toLowerCase());
    if (d < bestD) {
      best = v;
      bestD = d;
    }
  }
  const limit = Math.min(3, Math.max(1, Math.floor(key.length / 3)));
  if (bestD <= limit) return best;
  const stem = lower.slice(0, -1);
  if (stem.length < 4) return null;
  const cut = valid.filter((v) => v.toLowerCase().startsWith(stem));
  return cut.length === 1 ? cut[0] : null;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Infinity;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      // A swapped pair (momnetum, bais) counts as one edit: from the row
      // before the pair, two back.
      const swap = i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1] ? prev2[j - 2] + 1 : Infinity;
      cur.push(Math.min(prev[j] + 1, cur[j - 1] + 1, sub, swap));
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length];
}

/** The TypeError for an unknown option key. */
export function unknownOption(owner: string, key: string, valid: readonly string[]): TypeError {
  // Note [out=]: declared ops take PyTorch's out= (bindArgs hands it to
  // op()); everything else refuses it by name rather than as a typo.
  if (key === 'out')
    return new TypeError(
      `${owner}: the 'out' argument is not supported here; assign the result instead (or copy it into a tensor with t.copy_(result))`,
    );
  const hint = didYouMean(key, valid);
  const known = valid.length ? `; valid options: ${valid.join(', ')}` : '; it takes no options';
  return new TypeError(`${owner}: unknown option '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}${known}`);
}

/**
 * Refuses keys of `opts` outside `valid` (own enumerable keys, as Python
 * sees **kwargs). `opts` undefined or null passes; anything else that is
 * not a plain object is a TypeError.
 */
export function checkOptions(owner: string, opts: unknown, valid: readonly string[]): void {
  if (opts === undefined || opts === null) return;
  if (!isOptions(opts))
    throw new TypeError(`${owner}: options must be a plain object like { ${valid[0] ?? 'key'}: ... }, got ${fmtValue(opts)}`);
  for (const key in opts) {
    if (Object.prototype.hasOwnProperty.call(opts, key) && !valid.includes(key)) throw unknownOption(owner, key, valid);
  }
}

/**
 * Binds a call's arguments to `params` as Python would: positional values
 * first (undefined counts as not given), then a trailing options object.
 * Returns one value per parameter, in order; defaults fill what was not
 * given and every value has passed its parameter's check.
 */
export function bindArgs(owner: string, params: readonly Param[], args: ArrayLike<unknown>): unknown[];
/** The same, writing each value into `into` under its parameter's name (no array: ops bind on every call). */
export function bindArgs(
  owner: string,
  params: readonly Param[],
  args: ArrayLike<unknown>,
  into: Record<string, unknown>,
): Record<string, unknown>;
export function bindArgs(
  owner: string,
  params: readonly Param[],
  args: ArrayLike<unknown>,
  into?: Record<string, unknown>,
): unknown[] | Record<string, unknown> {
  const { positional, restAt } = layoutOf(params);
  let n = args.length;
  let opts: Record<string, unknown> | null = null;
  if (n > 0 && isOptions(args[n - 1])) opts = args[--n] as Record<string, unknown>;
  if (restAt >= 0 && n > restAt) {
    // *size: the values from restAt on become one array (or stay the one array given).
    const given = n === restAt + 1 && Array.isArray(args[restAt]) ? args[restAt] : Array.prototype.slice.call(args, restAt, n);
    const packed = Array.prototype.slice.call(args, 0, restAt);
    packed.push(given);
    args = packed;
    n = restAt + 1;
  }
  if (n > positional) {
    // An object that is not a plain literal where options would go.
    throw new TypeError(
      `${owner}: takes ${positional === params.length ? '' : 'at most '}${positional} positional argument${positional === 1 ? '' : 's'} but ${n} were given`,
    );
  }
  const out = into === undefined ? new Array<unknown>(params.length) : null;
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    let v = i < n ? args[i] : undefined;
    if (opts !== null && Object.prototype.hasOwnProperty.call(opts, p.name) && opts[p.name] !== undefined) {
      if (v !== undefined) throw new TypeError(`${owner}: got multiple values for argument '${p.name}'`);
      v = opts[p.name];
    }
    if (v === undefined) {
      if (!p.optional) {
        // As Python, an unknown keyword is named before a missing argument:
        // it is often the missing one misspelt (kernel_size for kernelSize).
        if (opts !== null) refuseUnknown(owner, params, opts, into !== undefined);
        throw new TypeError(`${owner}: missing required argument '${p.name}' (${p.type})`);
      }
      v = p.default;
    } else {
      v = p.check(v, owner);
    }
    if (out !== null) out[i] = v;
    else into![p.name] = v;
  }
  if (opts !== null) {
    // Only op() binds `into`, and op() honours out= (Note [out=]).
    const withOut = into !== undefined && Object.prototype.hasOwnProperty.call(opts, 'out') && opts.out !== undefined;
    refuseUnknown(owner, params, opts, withOut);
    if (withOut) boundOut = opts.out;
  }
  return out ?? into!;
}

/**
 * The `out` option of the bindArgs call (with `into`) that just returned,
 * or undefined: op() takes it at once with takeBoundOut() (Note [out=]). A
 * variable, not a key of the bound record, so that ops called without out
 * pay one plain read for it.
 */
export let boundOut: unknown = undefined;
export function takeBoundOut(): unknown {
  const o = boundOut;
  boundOut = undefined;
  return o;
}

interface Layout {
  /** How many parameters may come positionally (those before Python's `*`). */
  positional: number;
  /** The index of a `*size` parameter, or -1. */
  restAt: number;
}
// Worked out once per parameter list: ops bind on every call.
const layouts = new WeakMap<readonly Param[], Layout>();
function layoutOf(params: readonly Param[]): Layout {
  let l = layouts.get(params);
  if (l === undefined) {
    let positional = 0;
    while (positional < params.length && !params[positional].kwOnly) positional++;
    l = { positional, restAt: positional > 0 && params[positional - 1].rest ? positional - 1 : -1 };
    layouts.set(params, l);
  }
  return l;
}

function refuseUnknown(owner: string, params: readonly Param[], opts: Record<string, unknown>, allowOut = false): void {
  for (const key in opts) {
    if (!Object.prototype.hasOwnProperty.call(opts, key) || (allowOut && key === 'out')) continue;
    let known = false;
    for (const p of params) if (p.name === key) known = true;
    if (!known)
      throw unknownOption(
        owner,
        key,
        params.map((p) => p.name),
      );
  }
}

/** The values bindArgs returns, as a record keyed by parameter name. */
export type ArgsOf<Ps extends readonly Param[]> = { [P in Ps[number] as P['name']]: P extends Param<string, infer T> ? T : never };

/** bindArgs, returning a record (for constructors and other cold paths). */
export function bindOptions<const Ps extends readonly Param[]>(owner: string, params: Ps, args: ArrayLike<unknown>): ArgsOf<Ps> {
  const values = bindArgs(owner, params, args);
  const rec: Record<string, unknown> = {};
  for (let i = 0; i < params.length; i++) rec[params[i].name] = values[i];
  return rec as ArgsOf<Ps>;
}

/**
 * A parameter whose value its owner checks itself (constructors that keep
 * their own messages, Note [Layer signatures]): the binder passes what it
 * is given through unchecked and never reports it missing; its type, name,
 * place and default stand.
 */
export function late<N extends string, T, O extends boolean>(p: Param<N, T, O>): Param<N, T, O> {
  const deferred: Param<N, T, boolean> = { ...p, optional: true, check: (v: unknown) => v as T };
  return deferred as Param<N, T, O>;
}

/** The check of a parameter of type T that `late` makes: param.custom(name, type, as<T>). */
export const as = <T>(v: unknown): T => v as T;

// ---- the call signature a parameter list allows, for TypeScript ---------------
type ValueOf<P> = P extends Param<string, infer T> ? T : never;

/** The options object: every parameter, by name, all optional. */
export type OptionsOf<Ps extends readonly Param[]> = { [P in Ps[number] as P['name']]?: ValueOf<P> };

/**
 * Every argument list the parameters allow: a prefix of the positional
 * parameters (each required one before it), then optionally the options
 * object. A required parameter may be left to the options object too.
 */
export type CallArgs<Ps extends readonly Param[], O = OptionsOf<Ps>, Acc extends unknown[] = []> = Ps extends readonly [
  infer H,
  ...infer R extends readonly Param[],
]
  ? H extends Param<string, infer T, infer Opt>
    ? H['kwOnly'] extends true
      ? [...Acc, O?]
      : H['rest'] extends true
        ? | [...Acc, O?]
          | [...Acc, T, O?]
          | [...Acc, ...(T extends readonly (infer E)[] ? E[] : never)]
          | [...Acc, ...(T extends readonly (infer E)[] ? E[] : never), O]
        : Opt extends true
          ? [...Acc, O?] | CallArgs<R, O, [...Acc, T | undefined]>
          : [...Acc, O] | CallArgs<R, O, [...Acc, T]>
    : never
  : [...Acc, O?];

// ---- parameter kinds ------------------------------------------------------------------
function typeError(owner: string, name: string, want: string, v: unknown): TypeError {
  return new TypeError(`${owner}: argument '${name}' must be ${want}, got ${fmtValue(v)}`);
}

// Returns Param<any, ...>: each builder states the precise type it makes.
/* eslint-disable @typescript-eslint/no-explicit-any */
function make(
  name: string,
  type: string,
  check: (v: unknown, owner: string) => unknown,
  dflt: unknown,
  optional: boolean,
): Param<any, any, any> {
  return { name, type, check, default: dflt, optional, kwOnly: false };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

type P<N extends string, T, D> = Param<N, T, D extends undefined ? false : true>;

/** Parameter builders, named after PyTorch's schema types. Each takes the name and, optionally, a default. */
export const param = {
  int<N extends string, D extends number | undefined = undefined>(name: N, dflt?: D): P<N, number, D> {
    return make(
      name,
      'int',
      (v, o) => {
        if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError(o, name, 'an integer', v);
        return v;
      },
      dflt,
      dflt !== undefined,
    );
  },
  optInt<N extends string>(name: N, dflt: number | null = null): Param<N, number | null, true> {
    return make(
      name,
      'int?',
      (v, o) => {
        if (v !== null && (typeof v !== 'number' || !Number.isInteger(v))) throw typeError(o, name, 'an integer or null', v);
        return v as number | null;
      },
      dflt,
      true,
    );
  },
  float<N extends string, D extends number | undefined = undefined>(name: N, dflt?: D): P<N, number, D> {
    return make(
      name,
      'float',
      (v, o) => {
        if (typeof v !== 'number') throw typeError(o, name, 'a number', v);
        return v;
      },
      dflt,
      dflt !== undefined,
    );
  },
  optFloat<N extends string>(name: N, dflt: number | null = null): Param<N, number | null, true> {
    return make(
      name,
      'float?',
      (v, o) => {
        if (v !== null && typeof v !== 'number') throw typeError(o, name, 'a number or null', v);
        return v as number | null;
      },
      dflt,
      true,
    );
  },
  bool<N extends string, D extends boolean | undefined = undefined>(name: N, dflt?: D): P<N, boolean, D> {
    return make(
      name,
      'bool',
      (v, o) => {
        if (typeof v !== 'boolean') throw typeError(o, name, 'a boolean', v);
        return v;
      },
      dflt,
      dflt !== undefined,
    );
  },
  /** int[]: an array of integers, or (PyTorch's int[N] habit) one integer. */
  ints<N extends string, D extends number[] | number | undefined = undefined>(name: N, dflt?: D): P<N, number[] | number, D> {
    return make(
      name,
      'int[]',
      (v, o) => {
        if (typeof v === 'number' && Number.isInteger(v)) return v;
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x)))
          throw typeError(o, name, 'an integer or an array of integers', v);
        return v as number[];
      },
      dflt,
      dflt !== undefined,
    );
  },
  /** int[]?: dims to reduce over; null means all. */
  dims<N extends string>(name: N): Param<N, number | number[] | null, true> {
    return make(
      name,
      'int[]?',
      (v, o) => {
        if (v === null || (typeof v === 'number' && Number.isInteger(v))) return v as number | null;
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x)))
          throw typeError(o, name, 'an integer, an array of integers or null', v);
        return v as number[];
      },
      null,
      true,
    ) as Param<N, number | number[] | null, true>;
  },
  /** One of a set of strings (PyTorch's str with a fixed vocabulary). */
  oneOf<N extends string, const S extends string, D extends S | null | undefined = undefined>(
    name: N,
    choices: readonly S[],
    dflt?: D,
  ): P<N, S | (D extends null ? null : never), D> {
    return make(
      name,
      choices.map((c) => `'${c}'`).join('|'),
      (v, o) => {
        if (v === null && dflt === null) return null;
        if (typeof v !== 'string' || !choices.includes(v as S))
          throw typeError(o, name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, v);
        return v as S;
      },
      dflt,
      dflt !== undefined,
    );
  },
  /** Anything the caller's own check accepts (a type test written once, at the declaration). */
  custom<N extends string, T, D extends T | undefined = undefined>(
    name: N,
    type: string,
    check: (v: unknown, owner: string) => T,
    dflt?: D,
  ): P<N, T, D> {
    return make(name, type, check, dflt, dflt !== undefined) as P<N, T, D>;
  },
  /** int... : Python's `*size` (see Param.rest): sizes spread or as one array. */
  sizes<N extends string>(name: N): Param<N, number[], false> & { rest: true } {
    const p = make(
      name,
      'int...',
      (v, o) => {
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x)))
          throw typeError(o, name, 'integers (spread or as one array)', v);
        return v as number[];
      },
      undefined,
      false,
    );
    return { ...p, rest: true } as Param<N, number[], false> & { rest: true };
  },
  /** The same parameter, keyword-only (after Python's `*`). */
  kw<N extends string, T, O extends boolean>(p: Param<N, T, O>): Param<N, T, O> & { kwOnly: true } {
    return { ...p, kwOnly: true } as Param<N, T, O> & { kwOnly: true };
  },
};
