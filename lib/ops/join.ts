// Ops that are torch functions but not Tensor methods (Note [Method
// modules] in tensor_methods.ts), each declared once (lib/ops/op.ts):
// joining a list of tensors (cat, concat, stack), einsum, and
// where(condition, input, other), whose first parameter is the condition
// (where(condition) alone is nonzero(condition, { asTuple: true })).
// PyTorch's Tensor.where(condition, other) binds self to the second
// parameter; it is not offered, as before.
import { Tensor, normDim } from '../tensor.js';
import { aliasOf, define, op, tensorParam as T } from './op.js';
import { param as p, checkOptions, fmtValue, isOptions, type CallArgs } from '../util/args.js';
import * as K from './kernels.js';
import { native, makeRef } from '../backend/native.js';
import { promoteTypes } from '../dtype.js';
import { diagonal, permute, reshape, unsqueeze } from './shape.js';
import { bmm } from './matmul.js';
import { nonzeroCoords } from './index_internal.js';

/** PyTorch's legacy empty tensor: a 1-d [0] joins anything (and is skipped). */
const isLegacyEmpty = (t: Tensor) => t._shape.length === 1 && t._shape[0] === 0;

export const cat = op('cat', [T.tensors('tensors'), p.int('dim', 0)], 'tensors joined along dim (same sizes in the other dims)');
define(cat, {
  node: 'CatBackward0',
  forward: ({ tensors, dim }) => {
    if (tensors.length === 0) throw new TypeError('cat: expected a non-empty array of Tensors');
    // The copies below would move data across devices without complaint.
    K.sameDeviceAll('cat', tensors);
    const parts = tensors.filter((t) => !isLegacyEmpty(t));
    const first = parts[0] ?? tensors[0];
    if (first._shape.length === 0) throw new RangeError('cat: zero-dimensional tensor (at position 0) cannot be concatenated');
    const d = normDim(dim, first._shape.length, 'cat');
    for (const [i, t] of tensors.entries()) {
      if (isLegacyEmpty(t)) continue;
      if (t._shape.length !== first._shape.length || t._shape.some((s, k) => k !== d && s !== first._shape[k])) {
        throw new RangeError(
          `cat: sizes of tensors must match except in dimension ${d}: expected ${K.fmtShape(first._shape)} but got ${K.fmtShape(t._shape)} for tensor ${i}`,
        );
      }
    }
    let dtype = tensors[0].dtype;
    for (const t of tensors) dtype = promoteTypes(dtype, t.dtype);
    const shape = first._shape.slice();
    shape[d] = parts.reduce((n, t) => n + t._shape[d], 0);
    const out = K.empty(shape, dtype, 'cat', first.device);
    let at = 0;
    for (const t of parts) {
      const len = t._shape[d];
      const s = out._shape.slice();
      s[d] = len;
      if (len > 0) native.copy(t._ref(), makeRef(out._storage.data, at * out._strides[d], s, out._strides));
      at += len;
    }
    // The gradient needs only each input's extent along dim (-1: a legacy empty one).
    return { out, save: { sizes: tensors.map((t) => (isLegacyEmpty(t) ? -1 : t._shape[d])), dim: d } };
  },
  grads: {
    tensors: (g, { sizes, dim }) => {
      let at = 0;
      return sizes.map((len) => {
        if (len < 0) return g.narrow(dim, at, 0).reshape([0]);
        const r = g.narrow(dim, at, len);
        at += len;
        return r;
      });
    },
  },
});

export const concat = aliasOf(cat, 'concat');

export const stack = op('stack', [T.tensors('tensors'), p.int('dim', 0)], 'tensors of one shape joined along a new dim');
define(stack, {
  impl: ({ tensors, dim }): Tensor => {
    if (tensors.length === 0) throw new TypeError('stack: expected a non-empty array of Tensors');
    const first = tensors[0];
    tensors.forEach((t, i) => {
      if (t._shape.join() !== first._shape.join()) {
        throw new RangeError(
          `stack: expects each tensor to be equal size, but got ${K.fmtShape(first._shape)} at entry 0 and ${K.fmtShape(t._shape)} at entry ${i}`,
        );
      }
    });
    const d = normDim(dim, first._shape.length + 1, 'stack');
    return cat(
      tensors.map((t) => unsqueeze(t, d)),
      d,
    );
  },
});

const whereOp = op(
  'where',
  [T.tensor('condition'), T.tensorOrScalar('input'), T.tensorOrScalar('other')],
  'input where condition is true, else other (broadcast and promoted); where(condition) alone is nonzero(condition, { asTuple: true })',
);
define(whereOp, {
  node: 'WhereBackward0',
  forward: ({ condition: cond, input: a, other: b }) => {
    if (cond.dtype !== 'bool' && cond.dtype !== 'uint8') throw new TypeError(`where: condition must be a bool tensor, got ${cond.dtype}`);
    const dt = K.binaryDType(a, b);
    // Numbers become 0-d tensors on the tensors' device; a 0-d CPU tensor
    // joins a CUDA one, as in binary ops (kernels.ts onOneDevice).
    const dev = a instanceof Tensor ? a.device : b instanceof Tensor ? b.device : cond.device;
    const scalar = (v: Tensor | number | boolean): Tensor => {
      if (!(v instanceof Tensor)) return K.binary('Add', K.empty([], dt, 'where', dev), Number(v), dt);
      return v.device !== dev && v.device === 'cpu' && v._shape.length === 0 ? K.toDevice(v, dev, 'where') : v;
    };
    const ta = scalar(a),
      tb = scalar(b);
    K.sameDevice('where', cond, ta, tb);
    const shape = K.broadcastShapes(K.broadcastShapes(cond._shape, ta._shape, 'where'), tb._shape, 'where');
    const out = K.output(shape, dt, 'where', dev);
    native.where(
      K.broadcastRef(K.cast(cond, 'bool'), shape),
      K.broadcastRef(K.cast(ta, dt), shape),
      K.broadcastRef(K.cast(tb, dt), shape),
      out._ref(),
    );
    // Only the condition is needed for the gradients.
    return { out, save: cond };
  },
  grads: {
    input: (g, cond) => whereOp(cond, g, 0),
    other: (g, cond) => whereOp(cond, 0, g),
  },
});

/**
 * torch.where(condition, input, other): input where condition is true,
 * else other (broadcast and promoted). torch.where(condition) alone is
 * torch.nonzero(condition, { asTuple: true }).
 */
export function where(condition: Tensor, opts?: Record<string, never>): Tensor[];
export function where(opts: { condition: Tensor }): Tensor[];
export function where(...args: CallArgs<(typeof whereOp)['spec']['params']>): Tensor;
export function where(...args: unknown[]): Tensor | Tensor[] {
  const opts = args.length > 0 && isOptions(args[args.length - 1]) ? (args[args.length - 1] as Record<string, unknown>) : null;
  const n = opts ? args.length - 1 : args.length;
  const named = (k: string) => opts !== null && opts[k] !== undefined;
  // where(condition) alone, the condition given positionally or by name.
  if (n <= 1 && !named('input') && !named('other')) {
    checkOptions('where', opts, ['condition', 'input', 'other']);
    const cond = n === 1 ? args[0] : opts?.condition;
    if (n === 1 && named('condition')) throw new TypeError("where: got multiple values for argument 'condition'");
    if (!(cond instanceof Tensor)) throw new TypeError(`where: argument 'condition' must be a Tensor, got ${fmtValue(cond)}`);
    return nonzeroCoords(cond, 'where');
  }
  return (whereOp as unknown as (...a: unknown[]) => Tensor)(...args);
}
Object.defineProperty(where, 'spec', { value: whereOp.spec });

// ---- einsum ----------------------------------------------------------------------------------
// Note [einsum]: each operand's repeated labels become diagonals, labels
// only it has (and the output lacks) are summed at once, then operands
// join left to right, each pair as one bmm over [batch, kept-left,
// contracted] x [batch, contracted, kept-right]; what is left is summed and
// permuted to the output. Every step is an op, so autograd (and double
// backward) comes for free. Ellipsis dims get labels of their own,
// aligned from the right and broadcast like batch dims.

/** A parsed operand: one label per dim ('.0', '.1', ... for ellipsis dims). */
interface Term {
  labels: string[];
  t: Tensor;
}

function parseTerm(spec: string, t: Tensor, i: number, nEll: number | null): string[] {
  const at = spec.indexOf('...');
  const letters = at < 0 ? spec : spec.slice(0, at) + spec.slice(at + 3);
  if (letters.includes('.')) throw new RangeError(`einsum: invalid ellipsis in the subscripts of operand ${i} ('${spec}')`);
  for (const ch of letters)
    if (!/[a-zA-Z]/.test(ch))
      throw new RangeError(`einsum: invalid subscript '${ch}' for operand ${i}: subscripts must be letters in [a-zA-Z]`);
  const n = t._shape.length;
  if (at < 0) {
    if (letters.length !== n)
      throw new RangeError(
        `einsum: the number of subscripts in the equation (${letters.length}) does not match the number of dimensions (${n}) for operand ${i} and no ellipsis was given`,
      );
    return [...letters];
  }
  const e = n - letters.length;
  if (e < 0)
    throw new RangeError(
      `einsum: the number of subscripts in the equation (${letters.length}) is more than the number of dimensions (${n}) for operand ${i}`,
    );
  const total = nEll ?? e;
  const ell = Array.from({ length: e }, (_, k) => `.${total - e + k}`);
  return [...spec.slice(0, at), ...ell, ...spec.slice(at + 3)];
}

/** t with the dims of `labels` reordered to `order` (a permutation of labels). */
function permuteTo(x: Term, order: string[]): Tensor {
  const perm = order.map((l) => x.labels.indexOf(l));
  return perm.every((d, i) => d === i) ? x.t : permute(x.t, perm);
}

/** Sums x over the labels in `drop`. */
function sumLabels(x: Term, drop: Set<string>): Term {
  const dims = x.labels.map((l, d) => (drop.has(l) ? d : -1)).filter((d) => d >= 0);
  if (dims.length === 0) return x;
  return { t: x.t.sum(dims), labels: x.labels.filter((l) => !drop.has(l)) };
}

/** x with each repeated label taken along its diagonal (the label then appears once). */
function diagonalize(x: Term): Term {
  let { t, labels } = x;
  for (;;) {
    const d1 = labels.findIndex((l, i) => labels.indexOf(l) !== i);
    if (d1 < 0) return { t, labels };
    const d0 = labels.indexOf(labels[d1]);
    if (t._shape[d0] !== t._shape[d1])
      throw new RangeError(
        `einsum: subscript ${labels[d1]} is repeated for an operand but the sizes don't match, ${t._shape[d0]} != ${t._shape[d1]}`,
      );
    t = diagonal(t, 0, d0, d1);
    labels = [...labels.filter((_, k) => k !== d0 && k !== d1), labels[d0]];
  }
}

/** The contraction of a and b: labels in `keep` stay; shared labels not kept are summed. */
function contract(a: Term, b: Term, keep: Set<string>, size: Map<string, number>): Term {
  const inB = new Set(b.labels),
    inA = new Set(a.labels);
  const batch = a.labels.filter((l) => inB.has(l) && keep.has(l));
  const sum = a.labels.filter((l) => inB.has(l) && !keep.has(l));
  const left = a.labels.filter((l) => !inB.has(l));
  const right = b.labels.filter((l) => !inA.has(l));
  // Broadcast size-1 dims of the shared labels (reshape below merges them).
  const full = (x: Term, order: string[]): Tensor => {
    const t = permuteTo(x, order);
    const target = order.map((l, k) => (batch.includes(l) || sum.includes(l) ? size.get(l)! : t._shape[k]));
    return target.every((s, k) => s === t._shape[k]) ? t : t.expand(target);
  };
  const sz = (ls: string[], x: Term) =>
    ls.map((l) => (batch.includes(l) || sum.includes(l) ? size.get(l)! : x.t._shape[x.labels.indexOf(l)]));
  const nb = K.numelOf(sz(batch, a)),
    nl = K.numelOf(sz(left, a)),
    nc = K.numelOf(sz(sum, a)),
    nr = K.numelOf(sz(right, b));
  const A = reshape(full(a, [...batch, ...left, ...sum]), [nb, nl, nc]);
  const B = reshape(full(b, [...batch, ...sum, ...right]), [nb, nc, nr]);
  const out = reshape(bmm(A, B), [...sz(batch, a), ...sz(left, a), ...sz(right, b)]);
  return { t: out, labels: [...batch, ...left, ...right] };
}

const operandsParam = {
  ...p.custom('operands', 'Tensor...', (v, o): Tensor[] => {
    const list = Array.isArray(v) && v.length === 1 && Array.isArray(v[0]) ? (v[0] as unknown[]) : (v as unknown[]);
    if (!Array.isArray(list) || !list.every((t) => t instanceof Tensor))
      throw new TypeError(`${o}: operands must be Tensors (spread or as one array), got ${fmtValue(v)}`);
    return list as Tensor[];
  }),
  rest: true as const,
};

const einsumOp = op(
  'einsum',
  [
    p.custom('equation', 'str', (v, o): string => {
      if (typeof v !== 'string') throw new TypeError(`${o}: argument 'equation' must be a string, got ${fmtValue(v)}`);
      return v;
    }),
    operandsParam,
  ],
  "Einstein summation: einsum('ij,jk->ik', a, b) (operands spread or as one array; '...', repeated and implicit output labels as in PyTorch)",
);
define(einsumOp, {
  impl: ({ equation, operands }): Tensor => {
    if (operands.length === 0) throw new TypeError('einsum: must provide at least one operand');
    K.sameDeviceAll('einsum', operands);
    for (const t of operands)
      if (t.dtype !== operands[0].dtype)
        throw new TypeError(`einsum: expected all operands to have the same dtype, got ${operands[0].dtype} and ${t.dtype}`);
    const eq = equation.replace(/\s+/g, '');
    const arrow = eq.indexOf('->');
    const lhs = arrow < 0 ? eq : eq.slice(0, arrow);
    const specs = lhs.split(',');
    if (specs.length !== operands.length)
      throw new RangeError(`einsum: ${specs.length} operand subscripts in '${equation}' but ${operands.length} operands were given`);
    // Ellipsis dims: as many as the operand that has the most.
    let nEll = 0;
    specs.forEach((s, i) => {
      if (s.includes('...')) nEll = Math.max(nEll, operands[i]._shape.length - (s.length - 3));
    });
    let terms: Term[] = specs.map((s, i) => ({ t: operands[i], labels: parseTerm(s, operands[i], i, nEll) }));
    const ellLabels = Array.from({ length: nEll }, (_, k) => `.${k}`);
    // The output's labels: given, or the ellipsis then the labels seen once, sorted (PyTorch's implicit form).
    let out: string[];
    if (arrow >= 0) {
      const rhs = eq.slice(arrow + 2);
      const at = rhs.indexOf('...');
      const letters = at < 0 ? rhs : rhs.slice(0, at) + rhs.slice(at + 3);
      if (letters.includes('.') || letters.includes('-') || letters.includes('>'))
        throw new RangeError(`einsum: invalid output subscripts '${rhs}'`);
      out = at < 0 ? [...letters] : [...rhs.slice(0, at), ...ellLabels, ...rhs.slice(at + 3)];
      for (const l of out) {
        if (!/^[a-zA-Z]$|^\.\d+$/.test(l)) throw new RangeError(`einsum: invalid subscript '${l}' in the output`);
        if (out.indexOf(l) !== out.lastIndexOf(l))
          throw new RangeError(`einsum: output subscript ${l} appears more than once in the output`);
        if (!l.startsWith('.') && !terms.some((x) => x.labels.includes(l)))
          throw new RangeError(`einsum: output subscript ${l} does not appear in the equation for any input operand`);
      }
    } else {
      const count = new Map<string, number>();
      for (const x of terms) for (const l of x.labels) if (!l.startsWith('.')) count.set(l, (count.get(l) ?? 0) + 1);
      out = [...ellLabels, ...[...count.keys()].filter((l) => count.get(l) === 1).sort()];
    }
    // Sizes per label; a size-1 dim broadcasts.
    const size = new Map<string, number>();
    for (const x of terms) {
      x.labels.forEach((l, d) => {
        const s = x.t._shape[d],
          prev = size.get(l);
        if (prev === undefined || prev === 1) size.set(l, s);
        else if (s !== 1 && s !== prev)
          throw new RangeError(`einsum: operands do not broadcast with remapped shapes: subscript ${l} has sizes ${prev} and ${s}`);
      });
    }
    terms = terms.map(diagonalize);
    const outSet = new Set(out);
    const usedLater = (from: number) => {
      const s = new Set<string>(outSet);
      for (let j = from; j < terms.length; j++) for (const l of terms[j].labels) s.add(l);
      return s;
    };
    // Labels only one operand has and the output lacks are summed first.
    terms = terms.map((x, i) => {
      const others = new Set<string>(outSet);
      terms.forEach((y, j) => j !== i && y.labels.forEach((l) => others.add(l)));
      return sumLabels(x, new Set(x.labels.filter((l) => !others.has(l))));
    });
    let acc = terms[0];
    for (let i = 1; i < terms.length; i++) acc = contract(acc, terms[i], usedLater(i + 1), size);
    acc = sumLabels(acc, new Set(acc.labels.filter((l) => !outSet.has(l))));
    // Labels the output has but no operand kept (size-1 broadcasts) are already there; reorder.
    let r = permuteTo(acc, out);
    const want = out.map((l) => size.get(l)!);
    if (want.some((s, k) => s !== r._shape[k])) r = r.expand(want);
    return r;
  },
});

// ---- einsum's sublist form -------------------------------------------------------------------
// PyTorch's einsum(op1, [0, 1], op2, [1, 2], [0, 2]): each operand followed
// by its subscripts as integers in [0, 52) (Ellipsis, here the string
// '...', for the broadcast dims), then optionally the output's. As in
// PyTorch's Python einsum it is read as the equation it stands for
// (0-25 are 'A'-'Z', 26-51 are 'a'-'z', so the implicit output's order is
// PyTorch's); the structural mistakes are caught here first, in the
// sublists' own terms.

/** One subscript of the sublist form: an integer in [0, 52), or '...' (Python's Ellipsis). */
export type EinsumSubscript = number | '...';

/** The letters a subscripts list stands for; `what` names the list in errors. */
function sublistLetters(list: unknown, what: string): string {
  if (!Array.isArray(list)) throw new TypeError(`einsum: ${what} must be an array of integers in [0, 52) or '...', got ${fmtValue(list)}`);
  let letters = '',
    ellipsis = false;
  for (const v of list as unknown[]) {
    if (v === '...') {
      if (ellipsis) throw new RangeError(`einsum: ${what} ${fmtValue(list)} has '...' more than once`);
      ellipsis = true;
      letters += '...';
      continue;
    }
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw new TypeError(`einsum: ${what} ${fmtValue(list)} holds ${fmtValue(v)}; a subscript is an integer in [0, 52) or '...'`);
    if (v < 0 || v >= 52) throw new RangeError(`einsum: subscript ${v} in ${what} is not within the valid range [0, 52)`);
    letters += String.fromCharCode(v < 26 ? 65 + v : 97 + v - 26);
  }
  return letters;
}

/** The equation and operands that einsum(op1, sublist1, op2, sublist2, ..., [output]) stands for. */
function parseSublists(args: unknown[]): { equation: string; operands: Tensor[] } {
  if (args.length < 2)
    throw new TypeError(
      'einsum: must specify the equation string and at least one operand, or at least one operand and its subscripts list',
    );
  const pairs = args.length >> 1;
  const operands: Tensor[] = [],
    specs: string[] = [],
    labels = new Set<unknown>();
  for (let i = 0; i < pairs; i++) {
    const t = args[2 * i],
      list = args[2 * i + 1];
    if (!(t instanceof Tensor))
      throw new TypeError(`einsum: in the sublist form, argument ${2 * i} must be operand ${i} (a Tensor), got ${fmtValue(t)}`);
    if (list instanceof Tensor)
      throw new TypeError(`einsum: operand ${i} has no subscripts list; in the sublist form each operand is followed by its list`);
    const letters = sublistLetters(list, `the subscripts list of operand ${i}`);
    const named = (list as unknown[]).filter((v) => v !== '...');
    const hasEllipsis = named.length < (list as unknown[]).length;
    const n = t._shape.length;
    if (hasEllipsis ? named.length > n : named.length !== n)
      throw new RangeError(
        `einsum: the subscripts list of operand ${i} ${fmtValue(list)} has ${named.length} subscripts but operand ${i} has ${n} dimensions` +
          (hasEllipsis ? '' : " and no '...'"),
      );
    named.forEach((l) => labels.add(l));
    operands.push(t);
    specs.push(letters);
  }
  let equation = specs.join(',');
  if (args.length % 2 === 1) {
    const out = args[args.length - 1];
    if (out instanceof Tensor)
      throw new TypeError(`einsum: operand ${pairs} has no subscripts list; in the sublist form each operand is followed by its list`);
    const letters = sublistLetters(out, 'the output subscripts list');
    const named = (out as unknown[]).filter((v) => v !== '...');
    named.forEach((l, k) => {
      if (named.indexOf(l) !== k) throw new RangeError(`einsum: output subscript ${fmtValue(l)} appears more than once in the output`);
      if (!labels.has(l))
        throw new RangeError(`einsum: output subscript ${fmtValue(l)} does not appear in the subscripts list of any operand`);
    });
    equation += `->${letters}`;
  }
  return { equation, operands };
}

/**
 * Einstein summation, as torch.einsum: `einsum('ij,jk->ik', a, b)` (operands
 * spread or as one array; '...', repeated and implicit output labels as in
 * PyTorch), or the sublist form `einsum(a, [0, 1], b, [1, 2], [0, 2])`: each
 * operand followed by its subscripts (integers in [0, 52); '...' stands for
 * Python's Ellipsis), then optionally the output's subscripts. Without an
 * output list the output is the subscripts seen once, in increasing order.
 * A trailing options object takes `out`, as in the string form.
 */
export function einsum(...args: Parameters<typeof einsumOp>): Tensor;
export function einsum(
  operand: Tensor,
  subscripts: readonly EinsumSubscript[],
  ...rest: (Tensor | readonly EinsumSubscript[] | { out?: Tensor })[]
): Tensor;
export function einsum(...args: unknown[]): Tensor {
  const call = einsumOp as unknown as (...a: unknown[]) => Tensor;
  if (!(args[0] instanceof Tensor)) return call(...args);
  const opts = args.length > 1 && isOptions(args[args.length - 1]) ? [args[args.length - 1]] : [];
  const { equation, operands } = parseSublists(opts.length ? args.slice(0, -1) : args);
  try {
    return call(equation, ...operands, ...opts);
  } catch (err) {
    // The remaining checks speak in the equation's letters: say which equation the sublists made.
    if (err instanceof Error) err.message += ` (the sublists read as the equation '${equation}')`;
    throw err;
  }
}
Object.defineProperty(einsum, 'spec', { value: einsumOp.spec });
