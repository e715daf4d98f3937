// A plain-JavaScript model of tensors and of the ops the property tests
// drive, written from PyTorch's documented semantics and independent of
// Kindling's implementation: strided views, type promotion, broadcasting,
// elementwise math in float64 rounded to the result dtype, reductions.
// Values are JS numbers (int64 test values stay within 2^53 unless a test
// only checks shapes and dtypes).

export type DT = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'bool';
export const DTYPES: DT[] = ['float32', 'float64', 'int32', 'int64', 'uint8', 'bool'];

const RANK: Record<DT, number> = { bool: 0, uint8: 1, int32: 2, int64: 3, float32: 4, float64: 5 };
export const isFloat = (d: DT) => d === 'float32' || d === 'float64';

/** A strided view of a flat buffer, as a Tensor is. */
export interface RefT {
  dtype: DT;
  buf: number[];
  shape: number[];
  strides: number[];
  offset: number;
}

export const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
export function contiguousStrides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

/** Rounds a float64 value the way storing it in dtype does (wrapping ints). */
export function toDType(v: number, d: DT): number {
  switch (d) {
    case 'float32':
      return Math.fround(v);
    case 'float64':
      return v;
    case 'bool':
      return v !== 0 && !Number.isNaN(v) ? 1 : Number.isNaN(v) ? 1 : 0;
    case 'uint8':
      return Number.isFinite(v) ? ((Math.trunc(v) % 256) + 256) % 256 : NaN;
    case 'int32':
      return Number.isFinite(v) ? Math.trunc(v) | 0 : NaN;
    case 'int64':
      return Number.isFinite(v) ? Math.trunc(v) : NaN;
  }
}

/** The range of each integer dtype (int64's upper end: the largest double below 2^63). */
export const INT_RANGE: Partial<Record<DT, [number, number]>> = {
  uint8: [0, 255],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [-(2 ** 63), 2 ** 63 - 1024],
};

/**
 * Whether PyTorch converts the scalar v to dtype d (c10's checked scalar
 * conversion): NaN, infinities and values out of range are refused, except
 * that an integral value wraps into uint8 from as far as -255.
 */
export function scalarFits(v: number, d: DT): boolean {
  const r = INT_RANGE[d];
  if (!r) return true;
  const lo = d === 'uint8' && Number.isInteger(v) ? -255 : r[0];
  return v >= lo && v <= r[1];
}

export function fromFlat(dtype: DT, values: number[], shape: number[]): RefT {
  return { dtype, buf: values.map((v) => toDType(v, dtype)), shape: shape.slice(), strides: contiguousStrides(shape), offset: 0 };
}

/** Row-major values of a view. */
export function values(t: RefT): number[] {
  const n = numel(t.shape);
  const out = new Array<number>(n);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let off = t.offset;
    for (let d = 0; d < idx.length; d++) off += idx[d] * t.strides[d];
    out[k] = t.buf[off];
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < t.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

// ---- errors the reference predicts --------------------------------------------------

/** The reference says the call is invalid: the library must throw. */
export class Invalid extends Error {}
/** The reference cannot say (PyTorch's behaviour is version-dependent or unknown here). */
export class Unsure extends Error {}

export function normDim(d: unknown, ndim: number): number {
  if (typeof d !== 'number' || !Number.isInteger(d)) throw new Invalid(`dim ${String(d)} is not an integer`);
  const n = Math.max(ndim, 1);
  if (d < -n || d >= n) throw new Invalid(`dim ${d} out of range for ${ndim}-d`);
  return d < 0 ? d + n : d;
}

// ---- views --------------------------------------------------------------------------

export function transpose(t: RefT, a: number, b: number): RefT {
  const n = t.shape.length;
  const da = normDim(a, n),
    db = normDim(b, n);
  if (n === 0) return t;
  const shape = t.shape.slice(),
    strides = t.strides.slice();
  [shape[da], shape[db]] = [shape[db], shape[da]];
  [strides[da], strides[db]] = [strides[db], strides[da]];
  return { ...t, shape, strides };
}

export function permute(t: RefT, dims: number[]): RefT {
  const n = t.shape.length;
  if (dims.length !== n) throw new Invalid('permute: wrong number of dims');
  const nd = dims.map((d) => normDim(d, n));
  if (new Set(nd).size !== nd.length) throw new Invalid('permute: repeated dim');
  return { ...t, shape: nd.map((d) => t.shape[d]), strides: nd.map((d) => t.strides[d]) };
}

export function unsqueeze(t: RefT, d: number): RefT {
  const n = t.shape.length;
  const dd = normDim(d, n + 1);
  const shape = t.shape.slice(),
    strides = t.strides.slice();
  const st = dd < n ? t.strides[dd] * t.shape[dd] : 1;
  shape.splice(dd, 0, 1);
  strides.splice(dd, 0, st);
  return { ...t, shape, strides };
}

/** Python's x[start:stop:step] along dim, with its clamping of bounds. */
export function slice(t: RefT, dim: number, start: number | null, stop: number | null, step: number): RefT {
  if (t.shape.length === 0) throw new Invalid('slice of a 0-d tensor');
  const d = normDim(dim, t.shape.length);
  if (!Number.isInteger(step) || step <= 0) throw new Invalid('slice step must be positive');
  const size = t.shape[d];
  const clamp = (v: number | null, dflt: number) => {
    if (v === null) return dflt;
    const w = v < 0 ? v + size : v;
    return Math.min(Math.max(w, 0), size);
  };
  const s = clamp(start, 0),
    e = Math.max(clamp(stop, size), s);
  const len = Math.ceil((e - s) / step);
  const shape = t.shape.slice(),
    strides = t.strides.slice();
  shape[d] = len;
  strides[d] = t.strides[d] * step;
  return { ...t, shape, strides, offset: t.offset + (len > 0 ? s * t.strides[d] : 0) };
}

export function narrow(t: RefT, dim: number, start: number, length: number): RefT {
  if (t.shape.length === 0) throw new Invalid('narrow of a 0-d tensor');
  const d = normDim(dim, t.shape.length);
  const size = t.shape[d];
  if (!Number.isInteger(start) || !Number.isInteger(length)) throw new Invalid('narrow: non-integer');
  const s = start < 0 ? start + size : start;
  if (s < 0 || s > size || length < 0 || s + length > size) throw new Invalid('narrow: out of range');
  const shape = t.shape.slice();
  shape[d] = length;
  return { ...t, shape, offset: t.offset + s * t.strides[d] };
}

export function select(t: RefT, dim: number, index: number): RefT {
  if (t.shape.length === 0) throw new Invalid('select of a 0-d tensor');
  const d = normDim(dim, t.shape.length);
  const size = t.shape[d];
  if (!Number.isInteger(index) || index < -size || index >= size) throw new Invalid('select: index out of range');
  const i = index < 0 ? index + size : index;
  const shape = t.shape.slice(),
    strides = t.strides.slice();
  shape.splice(d, 1);
  strides.splice(d, 1);
  return { ...t, shape, strides, offset: t.offset + i * t.strides[d] };
}

export function expand(t: RefT, sizes: number[]): RefT {
  const n = sizes.length,
    k = t.shape.length;
  if (n < k) throw new Invalid('expand: fewer sizes than dims');
  const shape = new Array<number>(n),
    strides = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const j = i - (n - k);
    const want = sizes[i];
    if (!Number.isInteger(want)) throw new Invalid('expand: non-integer size');
    if (j < 0) {
      if (want < 0) throw new Invalid('expand: -1 for a new leading dim');
      shape[i] = want;
      strides[i] = 0;
      continue;
    }
    const have = t.shape[j];
    if (want === -1 || want === have) {
      shape[i] = have;
      strides[i] = t.strides[j];
    } else if (have === 1 && want >= 0) {
      shape[i] = want;
      strides[i] = 0;
    } else throw new Invalid(`expand: size ${want} vs ${have}`);
  }
  return { ...t, shape, strides };
}

export function contiguous(t: RefT): RefT {
  return fromFlat(t.dtype, values(t), t.shape);
}

/** reshape's size argument with one -1 inferred; the reference's view is always a copy. */
export function inferShape(size: number[], n: number): number[] {
  let infer = -1,
    known = 1;
  for (let i = 0; i < size.length; i++) {
    const s = size[i];
    if (!Number.isInteger(s)) throw new Invalid('reshape: non-integer size');
    if (s === -1) {
      if (infer >= 0) throw new Invalid('reshape: two -1');
      infer = i;
    } else if (s < 0) throw new Invalid('reshape: negative size');
    else known *= s;
  }
  const out = size.slice();
  if (infer >= 0) {
    if (known === 0 || n % known !== 0) throw new Invalid('reshape: cannot infer');
    out[infer] = n / known;
  } else if (known !== n) throw new Invalid('reshape: wrong numel');
  return out;
}

export function reshape(t: RefT, size: number[]): RefT {
  return fromFlat(t.dtype, values(t), inferShape(size, numel(t.shape)));
}

export function squeeze(t: RefT, dim?: number): RefT {
  if (dim === undefined) {
    const keep = t.shape.map((s, i) => [s, i] as const).filter(([s]) => s !== 1);
    return { ...t, shape: keep.map(([s]) => s), strides: keep.map(([, i]) => t.strides[i]) };
  }
  const d = normDim(dim, t.shape.length);
  if (t.shape.length === 0 || t.shape[d] !== 1) return t;
  const shape = t.shape.slice(),
    strides = t.strides.slice();
  shape.splice(d, 1);
  strides.splice(d, 1);
  return { ...t, shape, strides };
}

export function flatten(t: RefT, start: number, end: number): RefT {
  const n = t.shape.length;
  if (n === 0) {
    normDim(start, 0);
    normDim(end, 0);
    return fromFlat(t.dtype, values(t), [1]);
  }
  const s = normDim(start, n),
    e = normDim(end, n);
  if (s > e) throw new Invalid('flatten: start after end');
  const shape = [...t.shape.slice(0, s), numel(t.shape.slice(s, e + 1)), ...t.shape.slice(e + 1)];
  return fromFlat(t.dtype, values(t), shape);
}

// ---- type promotion and broadcasting ------------------------------------------------

export type Operand = { kind: 'tensor'; t: RefT } | { kind: 'scalar'; v: number | boolean };

export const promote = (a: DT, b: DT): DT => (RANK[a] >= RANK[b] ? a : b);

/** c10's combine_categories for our six dtypes. */
function combine(higher: DT | null, lower: DT | null): DT | null {
  if (higher === null) return lower;
  if (lower === null) return higher;
  if (isFloat(higher)) return higher;
  if (higher === 'bool' || isFloat(lower)) return promote(higher, lower);
  return higher;
}

/** PyTorch's result_type: dim tensors, then 0-d tensors, then wrapped numbers. */
export function resultType(ops: Operand[]): DT {
  let dim: DT | null = null,
    zero: DT | null = null,
    wrapped: DT | null = null;
  for (const o of ops) {
    if (o.kind === 'scalar') {
      const d: DT = typeof o.v === 'boolean' ? 'bool' : Number.isInteger(o.v) ? 'int64' : 'float32';
      wrapped = wrapped === null ? d : promote(wrapped, d);
    } else if (o.t.shape.length === 0) zero = zero === null ? o.t.dtype : promote(zero, o.t.dtype);
    else dim = dim === null ? o.t.dtype : promote(dim, o.t.dtype);
  }
  return combine(dim, combine(zero, wrapped)) ?? 'float32';
}

export function broadcastShapes(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[i - (n - a.length)] ?? 1,
      db = b[i - (n - b.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Invalid(`cannot broadcast ${da} vs ${db}`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

function broadcastValues(t: RefT, shape: number[]): number[] {
  return values(expand(t, shape));
}

// ---- elementwise --------------------------------------------------------------------

export interface RefResult {
  dtype: DT;
  shape: number[];
  values: number[];
  /** Float results computed with transcendental functions compare with a tolerance. */
  approx?: boolean;
  /** Per value, the magnitude of the terms that made it (tolerance for cancellation). */
  scale?: number[];
}

const roundHalfEven = (x: number) => {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

export const UNARY: Record<string, { f: (x: number) => number; floatOnly: boolean; approx?: boolean; boolOk?: boolean }> = {
  neg: { f: (x) => -x, floatOnly: false },
  abs: { f: Math.abs, floatOnly: false },
  exp: { f: Math.exp, floatOnly: true, approx: true },
  log: { f: Math.log, floatOnly: true, approx: true },
  sqrt: { f: Math.sqrt, floatOnly: true, approx: true },
  sin: { f: Math.sin, floatOnly: true, approx: true },
  cos: { f: Math.cos, floatOnly: true, approx: true },
  tanh: { f: Math.tanh, floatOnly: true, approx: true },
  sigmoid: { f: (x) => 1 / (1 + Math.exp(-x)), floatOnly: true, approx: true },
  reciprocal: { f: (x) => 1 / x, floatOnly: true },
  relu: { f: (x) => (Number.isNaN(x) ? NaN : x > 0 ? x : 0), floatOnly: false },
  floor: { f: Math.floor, floatOnly: false },
  ceil: { f: Math.ceil, floatOnly: false },
  round: { f: roundHalfEven, floatOnly: false },
  // PyTorch's sign is (0 < x) - (x < 0): 0 for NaN.
  sign: { f: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0), floatOnly: false },
};

export function unary(op: string, x: RefT): RefResult {
  const spec = UNARY[op];
  const computeDT: DT = spec.floatOnly && !isFloat(x.dtype) ? 'float32' : x.dtype;
  if (x.dtype === 'bool' && !spec.floatOnly) {
    if (op === 'neg') throw new Invalid('neg of bool');
    throw new Unsure(`${op} of bool`);
  }
  const vs = values(x).map((v) => toDType(spec.f(toDType(v, computeDT)), computeDT));
  return { dtype: computeDT, shape: x.shape.slice(), values: vs, approx: spec.approx };
}

export const BINARY = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
export type BinaryOp = (typeof BINARY)[number];
const COMPARE = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);

function wrapInt(v: number, d: DT): number {
  return toDType(v, d);
}

/** C's pow: 1 to any power and anything to the 0th are 1, NaN or not (JS says NaN). */
function ieeePow(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && !Number.isFinite(y) && !Number.isNaN(y)) return 1;
  return Math.pow(x, y);
}

export function binary(op: BinaryOp, a: Operand, b: Operand): RefResult {
  if (a.kind === 'scalar' && b.kind === 'scalar') throw new Invalid('two scalars');
  if ((op === 'maximum' || op === 'minimum') && (a.kind === 'scalar' || b.kind === 'scalar')) throw new Invalid(`${op} with a scalar`);
  const dt = resultType([a, b]);
  const shape = broadcastShapes(a.kind === 'tensor' ? a.t.shape : [], b.kind === 'tensor' ? b.t.shape : []);
  // True division of integers casts each operand straight to float: an int
  // operand is not first wrapped into the promoted integer type.
  const castTo: DT = op === 'div' && !isFloat(dt) ? 'float32' : dt;
  const vals = (o: Operand) =>
    o.kind === 'tensor'
      ? broadcastValues(o.t, shape).map((v) => toDType(v, castTo))
      : new Array(numel(shape)).fill(toDType(Number(o.v), castTo));
  const av = vals(a),
    bv = vals(b);
  const isBool = (o: Operand) => (o.kind === 'tensor' ? o.t.dtype === 'bool' : typeof o.v === 'boolean');
  if (op === 'sub' && (isBool(a) || isBool(b))) throw new Invalid('sub with a bool operand');
  if (op === 'pow' && !isFloat(dt)) {
    if (b.kind === 'scalar' && Number(b.v) < 0) throw new Invalid('integer to a negative power');
    if (bv.some((e) => e < 0)) throw new Unsure('integer to a negative power, elementwise');
    if (dt === 'bool') throw new Unsure('bool pow');
    return {
      dtype: dt,
      shape,
      values: av.map((x, i) => toDType(Number(BigInt.asIntN(dt === 'int64' ? 64 : 32, BigInt(x) ** BigInt(bv[i]))), dt)),
    };
  }
  if (COMPARE.has(op)) {
    const cmp = {
      eq: (x: number, y: number) => x === y,
      ne: (x: number, y: number) => x !== y,
      lt: (x: number, y: number) => x < y,
      le: (x: number, y: number) => x <= y,
      gt: (x: number, y: number) => x > y,
      ge: (x: number, y: number) => x >= y,
    }[op as 'eq'];
    return { dtype: 'bool', shape, values: av.map((x, i) => (cmp(x, bv[i]) ? 1 : 0)) };
  }
  const outDT: DT = op === 'div' && !isFloat(dt) ? 'float32' : dt;
  const f = (x: number, y: number): number => {
    switch (op) {
      case 'add':
        return dt === 'bool' ? (x || y ? 1 : 0) : x + y;
      case 'sub':
        return x - y;
      case 'mul':
        if (dt === 'int64') return Number(BigInt.asIntN(64, BigInt(x) * BigInt(y)));
        if (dt === 'int32') return Math.imul(x, y);
        return dt === 'bool' ? (x && y ? 1 : 0) : x * y;
      case 'div':
        return toDType(x, outDT) / toDType(y, outDT);
      case 'maximum':
        return Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y);
      case 'minimum':
        return Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y);
      case 'pow':
        return ieeePow(x, y);
      default:
        throw new Error('unreachable');
    }
  };
  return { dtype: outDT, shape, values: av.map((x, i) => wrapInt(f(x, bv[i]), outDT)), approx: op === 'pow' };
}

// ---- reductions ------------------------------------------------------------------

export function reduceDims(dim: number | number[] | null | undefined, ndim: number): number[] {
  if (dim === undefined || dim === null) return [...Array(ndim).keys()];
  const list = Array.isArray(dim) ? dim : [dim];
  const out = list.map((d) => normDim(d, ndim));
  if (new Set(out).size !== out.length) throw new Invalid('repeated dim');
  if (ndim === 0) return [];
  return out;
}

/** Groups the values of x by the output position of a reduction over dims. */
function groups(x: RefT, dims: number[]): { outShapeKeep: number[]; groups: number[][] } {
  const vs = values(x);
  const keepShape = x.shape.map((s, i) => (dims.includes(i) ? 1 : s));
  const outStrides = contiguousStrides(keepShape);
  const gs: number[][] = Array.from({ length: numel(keepShape) }, () => []);
  const idx = new Array<number>(x.shape.length).fill(0);
  for (let k = 0; k < vs.length; k++) {
    let o = 0;
    for (let d = 0; d < idx.length; d++) if (!dims.includes(d)) o += idx[d] * outStrides[d];
    gs[o].push(vs[k]);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < x.shape[d]) break;
      idx[d] = 0;
    }
  }
  return { outShapeKeep: keepShape, groups: gs };
}

export const REDUCE = [
  'sum',
  'mean',
  'amax',
  'amin',
  'prod',
  'argmax',
  'argmin',
  'var',
  'std',
  'logsumexp',
  'softmax',
  'logSoftmax',
] as const;
export type ReduceOp = (typeof REDUCE)[number];

/** Neumaier's compensated sum: a left fold would lose -1e-30 in [-1e-30, 8, -8]. */
const sumExact = (g: number[]) => {
  let s = 0,
    c = 0;
  for (const v of g) {
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
  }
  // Infinities and NaN make c NaN; the plain sum is then the answer.
  return Number.isFinite(s) && Number.isFinite(c) ? s + c : s;
};

export function reduction(op: ReduceOp, x: RefT, dim: number | number[] | null | undefined, keepdim: boolean): RefResult {
  const n = x.shape.length;
  if (op === 'softmax' || op === 'logSoftmax') {
    const d = normDim(dim, n);
    if (!isFloat(x.dtype)) throw new Unsure(`${op} of ${x.dtype}`);
    const { groups: gs } = groups(x, n === 0 ? [] : [d]);
    // Scatter back in the order values() walks: rebuild by iterating groups.
    const res = new Array<number>(numel(x.shape));
    const scale = new Array<number>(numel(x.shape));
    const order = x.shape.length === 0 ? [[0]] : positionsByGroup(x.shape, d);
    gs.forEach((g, gi) => {
      const m = Math.max(...g);
      // PyTorch subtracts the row's max: an infinite max (or a NaN) makes the whole row NaN.
      // exp(v - m) / s and (v - m) - log(s), in PyTorch's order: folding m and
      // log(s) into one lse first loses log(s) next to a huge m.
      const s = Number.isFinite(m) ? g.reduce((a, v) => a + Math.exp(v - m), 0) : NaN;
      g.forEach((v, j) => {
        res[order[gi][j]] = toDType(op === 'softmax' ? Math.exp(v - m) / s : v - m - Math.log(s), x.dtype);
        scale[order[gi][j]] = op === 'softmax' ? 0 : Math.abs(v - m) + Math.abs(Math.log(s));
      });
    });
    return { dtype: x.dtype, shape: x.shape.slice(), values: res, approx: true, scale };
  }
  let dims: number[];
  if (op === 'argmax' || op === 'argmin') {
    dims = dim === undefined || dim === null ? [...Array(n).keys()] : [normDim(dim, n)];
  } else dims = reduceDims(dim, n);
  if (Array.isArray(dim) && dim.length === 0 && (op === 'sum' || op === 'mean')) dims = [...Array(n).keys()];
  const { outShapeKeep, groups: gs } = groups(x, dims);
  const flatArg = (op === 'argmax' || op === 'argmin') && (dim === undefined || dim === null);
  const outShape = flatArg ? (keepdim ? x.shape.map(() => 1) : []) : keepdim ? outShapeKeep : x.shape.filter((_, i) => !dims.includes(i));
  const floatOnly = op === 'mean' || op === 'var' || op === 'std' || op === 'logsumexp';
  if (floatOnly && !isFloat(x.dtype)) {
    if (op === 'logsumexp') throw new Unsure('logsumexp of ints');
    throw new Invalid(`${op} of ${x.dtype}`);
  }
  // PyTorch refuses to take an extreme over nothing: a reduced dim of size
  // 0, or an empty tensor when no dim is given.
  if (op === 'amax' || op === 'amin' || op === 'argmax' || op === 'argmin') {
    if (flatArgOrAll(op, dim, n) ? numel(x.shape) === 0 : dims.some((d) => x.shape[d] === 0)) throw new Invalid(`${op} over an empty dim`);
  }
  let outDT: DT = x.dtype;
  if ((op === 'sum' || op === 'prod') && !isFloat(x.dtype)) outDT = 'int64';
  if (op === 'argmax' || op === 'argmin') outDT = 'int64';
  const nan = (g: number[]) => g.some(Number.isNaN);
  // float32 sums accumulate in float32 (PyTorch's mean is that sum, then a
  // division): past float32's range the result is infinite, and with terms
  // of both signs whether a partial sum overflowed depends on the order.
  const sum32 = (g: number[]): number => {
    const finiteAbs = g.reduce((a, v) => (Number.isFinite(v) ? a + Math.abs(v) : a), 0);
    if (finiteAbs > 3.4028234663852886e38 && g.some((v) => v > 0) && g.some((v) => v < 0))
      throw new Unsure('float32 sum whose partial sums may overflow');
    return Math.fround(sumExact(g));
  };
  const per = (g: number[]): number => {
    switch (op) {
      case 'sum':
        return x.dtype === 'float32' ? sum32(g) : sumExact(g);
      case 'mean':
        return !g.length ? NaN : x.dtype === 'float32' ? Math.fround(sum32(g) / g.length) : sumExact(g) / g.length;
      case 'prod':
        if (outDT === 'int64') return Number(g.reduce((a, v) => BigInt.asIntN(64, a * BigInt(v)), 1n));
        return g.reduce((a, v) => a * v, 1);
      case 'amax':
        return nan(g) ? NaN : Math.max(...g);
      case 'amin':
        return nan(g) ? NaN : Math.min(...g);
      case 'argmax':
      case 'argmin': {
        let best = 0;
        for (let i = 1; i < g.length; i++) {
          if (Number.isNaN(g[best])) break;
          if (Number.isNaN(g[i]) || (op === 'argmax' ? g[i] > g[best] : g[i] < g[best])) best = i;
        }
        return best;
      }
      case 'var':
      case 'std': {
        // Squares past float32's range: PyTorch's result depends on its algorithm.
        if (x.dtype === 'float32' && g.some((v) => Math.abs(v) > 1e18 || (v !== 0 && Math.abs(v) < 1e-18))) {
          throw new Unsure('var of float32 values whose squares leave float32');
        }
        const m = sumExact(g) / g.length;
        const v = g.length - 1 > 0 ? g.reduce((a, x2) => a + (x2 - m) ** 2, 0) / (g.length - 1) : NaN;
        return op === 'std' ? Math.sqrt(v) : v;
      }
      case 'logsumexp': {
        if (g.length === 0) return -Infinity;
        const m = Math.max(...g);
        if (!Number.isFinite(m)) return Math.log(g.reduce((a, v) => a + Math.exp(v), 0));
        return m + Math.log(g.reduce((a, v) => a + Math.exp(v - m), 0));
      }
      default:
        throw new Error('unreachable');
    }
  };
  const vals = flatArg ? [per(values(x))] : gs.map(per);
  return {
    dtype: outDT,
    shape: outShape,
    values: vals.map((v) => toDType(v, outDT)),
    approx: op !== 'amax' && op !== 'amin' && op !== 'argmax' && op !== 'argmin',
  };
}

function flatArgOrAll(op: string, dim: unknown, n: number): boolean {
  if (dim === undefined || dim === null) return true;
  if ((op === 'amax' || op === 'amin') && Array.isArray(dim) && dim.length === 0) return true;
  return n === 0;
}

/** For each group of a reduction over dim d, the row-major positions of its members. */
function positionsByGroup(shape: number[], d: number): number[][] {
  const strides = contiguousStrides(shape);
  const out: number[][] = [];
  const outer = numel(shape.slice(0, d)),
    inner = numel(shape.slice(d + 1));
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const g: number[] = [];
      for (let k = 0; k < shape[d]; k++) g.push(o * shape[d] * inner + k * strides[d] + i);
      out.push(g);
    }
  return out;
}

// ---- matmul, cat, stack ---------------------------------------------------------------

export function matmulShape(a: number[], b: number[]): number[] {
  if (a.length === 0 || b.length === 0) throw new Invalid('matmul of 0-d');
  const a2 = a.length === 1 ? [1, a[0]] : a,
    b2 = b.length === 1 ? [b[0], 1] : b;
  if (a2[a2.length - 1] !== b2[b2.length - 2]) throw new Invalid('matmul: inner dims differ');
  const batch = broadcastShapes(a2.slice(0, -2), b2.slice(0, -2));
  const out = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

export function matmul(a: RefT, b: RefT): RefResult & { scale: number[] } {
  if (a.dtype !== b.dtype) throw new Invalid('matmul: dtypes differ');
  if (a.dtype === 'bool') throw new Invalid('matmul of bool');
  const shape = matmulShape(a.shape, b.shape);
  const A = a.shape.length === 1 ? unsqueeze(a, 0) : a,
    B = b.shape.length === 1 ? unsqueeze(b, -1) : b;
  const M = A.shape[A.shape.length - 2],
    K = A.shape[A.shape.length - 1],
    N = B.shape[B.shape.length - 1];
  const batch = broadcastShapes(A.shape.slice(0, -2), B.shape.slice(0, -2));
  const Av = values(expand(A, [...batch, M, K])),
    Bv = values(expand(B, [...batch, K, N]));
  const nb = numel(batch);
  const out: number[] = [],
    scale: number[] = [];
  for (let bi = 0; bi < nb; bi++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0,
          sa = 0;
        for (let k = 0; k < K; k++) {
          const p = Av[bi * M * K + i * K + k] * Bv[bi * K * N + k * N + j];
          s += p;
          sa += Math.abs(p);
        }
        out.push(toDType(s, a.dtype));
        scale.push(sa);
      }
  return { dtype: a.dtype, shape, values: out, approx: true, scale };
}

export function cat(ts: RefT[], dim: number): RefResult {
  if (ts.length === 0) throw new Invalid('cat of nothing');
  // PyTorch still skips 1-d empty tensors (legacy behaviour) when others have more dims.
  const live = ts.filter((t) => !(t.shape.length === 1 && t.shape[0] === 0));
  if (live.length === 0) {
    if (dim !== 0 && dim !== -1) throw new Unsure('dim of a cat of empty tensors');
    return { dtype: ts.map((t) => t.dtype).reduce(promote), shape: [0], values: [] };
  }
  const ref = live[0];
  if (ref.shape.length === 0 || live.some((t) => t.shape.length === 0)) throw new Invalid('cat of 0-d');
  const d = normDim(dim, ref.shape.length);
  for (const t of live) {
    if (t.shape.length !== ref.shape.length) throw new Invalid('cat: ranks differ');
    for (let i = 0; i < t.shape.length; i++) if (i !== d && t.shape[i] !== ref.shape[i]) throw new Invalid('cat: sizes differ');
  }
  const dt = ts.map((t) => t.dtype).reduce(promote);
  const outer = numel(ref.shape.slice(0, d));
  const out: number[] = [];
  const vs = live.map((t) => values(t));
  for (let o = 0; o < outer; o++)
    live.forEach((t, k) => {
      const chunk = numel(t.shape.slice(d));
      for (let i = 0; i < chunk; i++) out.push(toDType(vs[k][o * chunk + i], dt));
    });
  const shape = ref.shape.slice();
  shape[d] = live.reduce((a, t) => a + t.shape[d], 0);
  return { dtype: dt, shape, values: out };
}

export function stack(ts: RefT[], dim: number): RefResult {
  if (ts.length === 0) throw new Invalid('stack of nothing');
  const s0 = ts[0].shape;
  for (const t of ts) if (t.shape.length !== s0.length || t.shape.some((v, i) => v !== s0[i])) throw new Invalid('stack: shapes differ');
  const d = normDim(dim, s0.length + 1);
  return cat(
    ts.map((t) => unsqueezeCopy(t, d)),
    d,
  );
}

function unsqueezeCopy(t: RefT, d: number): RefT {
  const shape = t.shape.slice();
  shape.splice(d, 0, 1);
  return fromFlat(t.dtype, values(t), shape);
}

// ---- comparing a result ------------------------------------------------------------

/** Whether got matches want for a value of dtype (NaN equals NaN; floats with a tolerance). */
export function closeValue(got: number, want: number, dt: DT, approx: boolean, scale = 0): boolean {
  if (Number.isNaN(want)) return Number.isNaN(got);
  if (got === want) return true;
  if (!isFloat(dt)) return false;
  if (!Number.isFinite(want) || !Number.isFinite(got)) {
    // Around the overflow threshold a last-ulp difference decides between
    // the largest float and infinity.
    const big = dt === 'float32' ? 3.4e38 : 1.79e308;
    return approx && Math.sign(got) === Math.sign(want) && Math.min(Math.abs(got), Math.abs(want)) > big / 2;
  }
  const eps = dt === 'float32' ? 2 ** -23 : 2 ** -52;
  const tiny = dt === 'float32' ? 1.2e-38 : 2.3e-308;
  const tol = (approx ? 16 : 1) * eps * Math.max(Math.abs(want), scale) + tiny * 2;
  return Math.abs(got - want) <= tol;
}

// ---- gathering indices ---------------------------------------------------------------

/** index_select: rows idx[j] of dim, in order (negative indices are PyTorch errors). */
export function indexSelect(t: RefT, dim: number, idx: number[]): RefT {
  const d = normDim(dim, t.shape.length);
  const size = t.shape.length === 0 ? 1 : t.shape[d];
  if (idx.some((i) => i >= size)) throw new Invalid('index out of range');
  // PyTorch 1.13: "index out of range in self" (checked with torch 1.13.1).
  if (idx.some((i) => i < 0)) throw new Invalid('negative index_select index');
  if (t.shape.length === 0)
    return fromFlat(
      t.dtype,
      idx.map(() => values(t)[0]),
      idx.length === 1 ? [] : [idx.length],
    );
  const parts = idx.map((i) => unsqueezeCopy(contiguous(select(t, d, i)), d));
  if (parts.length === 0) {
    const shape = t.shape.slice();
    shape[d] = 0;
    return fromFlat(t.dtype, [], shape);
  }
  const r = cat(parts, d);
  return fromFlat(r.dtype, r.values, r.shape);
}

/** x[idx] with an integer list on the first dim (negative indices count from the end). */
export function indexFirst(t: RefT, idx: number[]): RefT {
  if (t.shape.length === 0) throw new Invalid('index a 0-d tensor with a list');
  const size = t.shape[0];
  if (idx.some((i) => i >= size || i < -size)) throw new Invalid('index out of range');
  return indexSelect(
    t,
    0,
    idx.map((i) => (i < 0 ? i + size : i)),
  );
}

/** gather along dim: out[..i_d..] = t[..index[..i_d..]..]; index has t's rank. */
export function gather(t: RefT, dim: number, index: RefT): RefT {
  const n = t.shape.length;
  const d = normDim(dim, n);
  if (index.shape.length !== Math.max(n, 0) && !(n === 0 && index.shape.length <= 1)) throw new Invalid('gather: ranks differ');
  for (let k = 0; k < n; k++) if (k !== d && index.shape[k] > t.shape[k]) throw new Invalid('gather: index larger than input');
  const iv = values(index);
  const size = n === 0 ? 1 : t.shape[d];
  if (iv.some((i) => i >= size)) throw new Invalid('gather: index out of range');
  // PyTorch 1.13: "index -1 is out of bounds for dimension 1 with size 3".
  if (iv.some((i) => i < 0)) throw new Invalid('negative gather index');
  if (n === 0)
    return fromFlat(
      t.dtype,
      iv.map(() => values(t)[0]),
      index.shape,
    );
  const out: number[] = [];
  const pos = new Array<number>(n).fill(0);
  for (let k = 0; k < iv.length; k++) {
    let off = t.offset;
    for (let q = 0; q < n; q++) off += (q === d ? iv[k] : pos[q]) * t.strides[q];
    out.push(t.buf[off]);
    for (let q = n - 1; q >= 0; q--) {
      if (++pos[q] < index.shape[q]) break;
      pos[q] = 0;
    }
  }
  return fromFlat(t.dtype, out, index.shape);
}
