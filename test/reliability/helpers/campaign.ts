// The property campaign over Kindling's public ops, run in a child process
// by test/reliability/properties.test.ts so that a crash of the process
// (a segfault, an abort in native code, V8 running out of memory) is seen
// and reported with the input that caused it, instead of taking the test
// runner down.
//
//   node --import ./test/reliability/helpers/register-ts.mjs test/reliability/helpers/campaign.ts \
//     [--seed N] [--runs N] [--last-case FILE] [--only NAME]
//
// Every call either returns a result that matches the JS reference
// (helpers/reference.ts), or throws an Error whose message names the op.
// Where the reference says the call is invalid it must throw; where it is
// valid it must not. A call never modifies its inputs (ops that fail leave
// everything untouched). The last line printed is a JSON summary.
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import fc from 'fast-check';
import * as torch from '../../../lib/index.js';
import type { Tensor } from '../../../lib/index.js';
import * as R from './reference.js';
import { Invalid, Unsure, type DT, type RefT, type RefResult } from './reference.js';

const F = torch.nn.functional;

// ---- command line --------------------------------------------------------------

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const SEED = Number(argValue('seed') ?? 20240611);
const RUNS = Number(argValue('runs') ?? 200);
const ONLY = argValue('only');
const lastCasePath = argValue('last-case');
const lastCaseFd = lastCasePath ? openSync(lastCasePath, 'w') : -1;

// ---- bookkeeping ------------------------------------------------------------------

const stats = {
  cases: 0,
  calls: 0,
  ok: 0,
  errorsByKind: {} as Record<string, number>,
  unsure: 0,
};
interface Failure {
  property: string;
  message: string;
  counterexample: string;
  seed: number;
  path?: string;
}
const failures: Failure[] = [];

function show(v: unknown): string {
  const seen = new WeakSet<object>();
  const out = JSON.stringify(v, (_k, x) => {
    if (typeof x === 'number' && !Number.isFinite(x)) return String(x);
    if (typeof x === 'bigint') return `${x}n`;
    if (typeof x === 'symbol') return x.toString();
    if (typeof x === 'function') return `[function ${x.name || 'anonymous'}]`;
    if (x === undefined) return 'undefined';
    if (x && typeof x === 'object') {
      if (x instanceof torch.Tensor) return `Tensor(${x.dtype}, [${x.shape.join(', ')}])`;
      if (seen.has(x)) return '[circular]';
      seen.add(x);
    }
    return x;
  });
  return out === undefined ? String(v) : out;
}

/** Records the case about to run, so a crash can be traced to its input. */
function noteCase(property: string, input: unknown): void {
  if (lastCaseFd < 0) return;
  const text = `${property}: ${show(input)}`;
  ftruncateSync(lastCaseFd, 0);
  writeSync(lastCaseFd, text, 0);
}

class PropertyFailure extends Error {}

function fails(msg: string): never {
  throw new PropertyFailure(msg);
}

// ---- calling the library -------------------------------------------------------------

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Runs a library call, recording the outcome; non-Error throws are failures. */
function attempt<T>(fn: () => T): Outcome<T> {
  stats.calls++;
  try {
    const value = fn();
    stats.ok++;
    return { ok: true, value };
  } catch (error) {
    const kind = error instanceof Error ? error.constructor.name : `non-Error ${typeof error}`;
    stats.errorsByKind[kind] = (stats.errorsByKind[kind] ?? 0) + 1;
    return { ok: false, error };
  }
}

/** The error must be an Error whose message names one of the op's names. */
function checkError(error: unknown, names: string[], context: string): void {
  if (!(error instanceof Error)) fails(`${context}: threw a non-Error ${show(error)}`);
  const msg = error.message;
  if (!names.some((n) => msg.includes(n))) {
    fails(`${context}: the ${error.constructor.name} does not name the op (${names.join(' or ')}): "${msg.split('\n')[0]}"`);
  }
}

/**
 * Runs `call` against the reference `expect`: Invalid means it must throw,
 * Unsure accepts either, otherwise it must succeed and `compare` checks it.
 */
function judge<T>(
  names: string[],
  context: string,
  expect: () => RefResult | RefT | null,
  call: () => T,
  compare: (got: T, want: RefResult | RefT | null) => void,
): Outcome<T> {
  let want: RefResult | RefT | null = null;
  let verdict: 'valid' | 'invalid' | 'unsure' = 'valid';
  try {
    want = expect();
  } catch (e) {
    if (e instanceof Invalid) verdict = 'invalid';
    else if (e instanceof Unsure) verdict = 'unsure';
    else throw e;
  }
  const out = attempt(call);
  if (!out.ok) {
    checkError(out.error, names, context);
    if (verdict === 'valid') fails(`${context}: threw for a valid call: ${(out.error as Error).message}`);
    return out;
  }
  if (verdict === 'invalid') fails(`${context}: returned ${show(out.value)} where PyTorch raises`);
  if (verdict === 'unsure') {
    stats.unsure++;
    return out;
  }
  compare(out.value, want);
  return out;
}

function readValues(t: Tensor): number[] {
  return Array.from(t.toTypedArray() as ArrayLike<number | bigint>, (v) => Number(v));
}

function compareTensor(got: unknown, want: RefResult | RefT | null, context: string, scale?: number[]): void {
  if (!(got instanceof torch.Tensor)) fails(`${context}: expected a Tensor, got ${show(got)}`);
  if (want === null) return;
  const wantValues = 'buf' in want ? R.values(want) : want.values;
  const approx = 'buf' in want ? false : !!want.approx;
  scale ??= 'buf' in want ? undefined : want.scale;
  if (got.dtype !== want.dtype) fails(`${context}: dtype ${got.dtype}, expected ${want.dtype}`);
  if (show(got.shape) !== show(want.shape)) fails(`${context}: shape ${show(got.shape)}, expected ${show(want.shape)}`);
  const vs = readValues(got);
  if (vs.length !== wantValues.length) fails(`${context}: ${vs.length} values, expected ${wantValues.length}`);
  for (let i = 0; i < vs.length; i++) {
    if (!R.closeValue(vs[i], wantValues[i], want.dtype, approx, scale?.[i] ?? 0)) {
      fails(`${context}: value ${i} is ${vs[i]}, expected ${wantValues[i]} (${want.dtype})`);
    }
  }
}

/** Inputs keep their values whatever the call did. */
function snapshot(ts: Tensor[]): () => void {
  const before = ts.map((t) => Array.from(t.toTypedArray() as ArrayLike<number | bigint>));
  return () => {
    ts.forEach((t, k) => {
      const after = Array.from(t.toTypedArray() as ArrayLike<number | bigint>);
      if (after.length !== before[k].length || after.some((v, i) => !Object.is(v, before[k][i]))) {
        fails(`input ${k} (${t.dtype} [${t.shape}]) was modified by the call`);
      }
    });
  };
}

// ---- arbitraries ------------------------------------------------------------------------

const dtypeArb = fc.constantFrom<DT>(...R.DTYPES);
const SPECIAL = [0, -0, 1, -1, 0.5, -2.5, 3, 1e-3, 1e30, -1e-30, 3.4e38, 1.5e-45, NaN, Infinity, -Infinity];
const floatValue = fc.oneof(
  { arbitrary: fc.double({ min: -8, max: 8, noNaN: true }), weight: 6 },
  { arbitrary: fc.constantFrom(...SPECIAL), weight: 2 },
);
function valueArb(d: DT): fc.Arbitrary<number> {
  switch (d) {
    case 'float32':
    case 'float64':
      return floatValue;
    case 'int32':
    case 'int64':
      return fc.integer({ min: -40, max: 40 });
    case 'uint8':
      return fc.integer({ min: 0, max: 255 });
    case 'bool':
      return fc.integer({ min: 0, max: 1 });
  }
}
const shapeArb = (maxRank = 4, maxDim = 4) => fc.array(fc.integer({ min: 0, max: maxDim }), { minLength: 0, maxLength: maxRank });

interface BaseSpec {
  dtype: DT;
  shape: number[];
  values: number[];
}
const baseArb = (dtype?: fc.Arbitrary<DT>, shape = shapeArb()) =>
  fc
    .tuple(dtype ?? dtypeArb, shape)
    .chain(([d, s]) =>
      fc.array(valueArb(d), { minLength: R.numel(s), maxLength: R.numel(s) }).map((values): BaseSpec => ({ dtype: d, shape: s, values })),
    );

/** A view step, its numbers interpreted against the shape it meets. */
interface ViewStep {
  kind: 'transpose' | 'slice' | 'expand' | 'unsqueeze' | 'permute' | 'narrow' | 'select' | 'squeeze' | 'flatten' | 'reshape' | 'contiguous';
  r: number[];
}
const viewStepArb = fc.record({
  kind: fc.constantFrom<ViewStep['kind']>(
    'transpose',
    'slice',
    'slice',
    'expand',
    'unsqueeze',
    'permute',
    'narrow',
    'select',
    'squeeze',
    'flatten',
    'reshape',
    'contiguous',
  ),
  r: fc.array(fc.integer({ min: -6, max: 6 }), { minLength: 6, maxLength: 6 }),
});
interface TensorSpec extends BaseSpec {
  views: ViewStep[];
}
const tensorArb = (dtype?: fc.Arbitrary<DT>, shape?: fc.Arbitrary<number[]>, maxViews = 3) =>
  fc.tuple(baseArb(dtype, shape), fc.array(viewStepArb, { maxLength: maxViews })).map(([b, views]): TensorSpec => ({ ...b, views }));

const TYPED: Record<DT, (n: number[]) => ArrayBufferView> = {
  float32: (v) => Float32Array.from(v),
  float64: (v) => Float64Array.from(v),
  int32: (v) => Int32Array.from(v),
  int64: (v) => BigInt64Array.from(v, (x) => BigInt(x)),
  uint8: (v) => Uint8Array.from(v),
  bool: (v) => Uint8ClampedArray.from(v),
};

function baseTensor(b: BaseSpec): Tensor {
  const t = torch.fromTypedArray(TYPED[b.dtype](b.values) as Float32Array, b.shape);
  if (t.dtype !== b.dtype) fails(`fromTypedArray gave ${t.dtype} for a ${b.dtype} array`);
  return t;
}

const mod = (a: number, n: number) => (n <= 0 ? 0 : ((a % n) + n) % n);

/**
 * Applies the view steps to the library tensor and to the reference side
 * by side, checking each; stops at the first step that throws.
 */
function buildTensor(spec: TensorSpec): { t: Tensor; ref: RefT } {
  let t = baseTensor(spec);
  let ref = R.fromFlat(spec.dtype, spec.values, spec.shape);
  for (const step of spec.views) {
    const n = ref.shape.length;
    const [a, b, c, d] = step.r;
    // Mostly in-range arguments, sometimes not (r values run past the rank).
    const dim = (x: number) => (Math.abs(x) > 5 ? x : n === 0 ? x % 2 : mod(x, n) - (x < 0 ? n : 0));
    let call: () => Tensor, expect: () => RefT, names: string[];
    switch (step.kind) {
      case 'transpose':
        call = () => t.transpose(dim(a), dim(b));
        expect = () => R.transpose(ref, dim(a), dim(b));
        names = ['transpose'];
        break;
      case 'slice': {
        const dd = Math.abs(a) > 4 ? n + 1 : mod(a, Math.max(n, 1));
        const sl = `${b === 0 ? '' : b}:${c === 6 ? '' : c}:${mod(d, 3) + 1}`;
        const idx = [...Array(dd).fill(':'), sl];
        call = () => t.index(...idx);
        expect = () => {
          if (dd >= n) throw new Invalid('too many indices');
          return R.slice(ref, dd, b === 0 ? null : b, c === 6 ? null : c, mod(d, 3) + 1);
        };
        names = ['index'];
        break;
      }
      case 'expand': {
        const sizes = ref.shape.map((s, i) => (s === 1 ? [2, 0, 3, -1, 1, 2][mod(step.r[i] ?? 0, 6)] : step.r[i] === 6 ? s + 1 : -1));
        if (a > 3) sizes.unshift(mod(b, 3));
        call = () => t.expand(sizes);
        expect = () => R.expand(ref, sizes);
        names = ['expand'];
        break;
      }
      case 'unsqueeze':
        call = () => t.unsqueeze(Math.abs(a) > 5 ? a * 2 : mod(a, n + 1));
        expect = () => R.unsqueeze(ref, Math.abs(a) > 5 ? a * 2 : mod(a, n + 1));
        names = ['unsqueeze'];
        break;
      case 'permute': {
        const perm = [...Array(n).keys()].sort((x, y) => step.r[x % 6] - step.r[y % 6] || x - y);
        if (a === 6) perm.push(0);
        if (a === -6 && n > 1) perm[0] = perm[1];
        call = () => t.permute(perm);
        expect = () => R.permute(ref, perm);
        names = ['permute'];
        break;
      }
      case 'narrow':
        call = () => t.narrow(dim(a), b, mod(c, 3));
        expect = () => R.narrow(ref, dim(a), b, mod(c, 3));
        names = ['narrow'];
        break;
      case 'select':
        call = () => t.select(dim(a), b);
        expect = () => R.select(ref, dim(a), b);
        names = ['select'];
        break;
      case 'squeeze':
        call = () => (a > 2 ? t.squeeze() : t.squeeze(dim(b)));
        expect = () => (a > 2 ? R.squeeze(ref) : R.squeeze(ref, dim(b)));
        names = ['squeeze'];
        break;
      case 'flatten':
        call = () => t.flatten(dim(a), dim(b));
        expect = () => R.flatten(ref, dim(a), dim(b));
        names = ['flatten'];
        break;
      case 'reshape': {
        const total = R.numel(ref.shape);
        const size = a > 2 ? [-1] : b > 3 ? [total + 1] : c > 0 && total % 2 === 0 ? [2, -1] : [-1, 1];
        call = () => t.reshape(size);
        expect = () => R.reshape(ref, size);
        names = ['reshape', 'view'];
        break;
      }
      case 'contiguous':
        call = () => t.contiguous();
        expect = () => ref;
        names = ['contiguous'];
        break;
    }
    const restore = snapshot([t]);
    const out = judge(
      names,
      `${step.kind}(${show(step.r)}) of ${t.dtype} [${t.shape}] strides [${t.stride()}]`,
      expect,
      call,
      (got, want) => compareTensor(got, want, `${step.kind} of [${t.shape}]`),
    );
    restore();
    if (!out.ok) break;
    t = out.value;
    ref = expect();
  }
  return { t, ref };
}

// ---- properties ----------------------------------------------------------------------------

interface Prop {
  name: string;
  runs: number;
  arb: fc.Arbitrary<unknown>;
  body: (input: never) => void;
}
const props: Prop[] = [];
function prop<T>(name: string, runs: number, arb: fc.Arbitrary<T>, body: (input: T) => void): void {
  props.push({ name, runs, arb, body: body as (input: never) => void });
}

prop('views and indexing', 2, tensorArb(undefined, undefined, 5), (spec) => {
  const { t, ref } = buildTensor(spec);
  compareTensor(t, ref, 'the final view');
});

prop('unary elementwise', 2, fc.tuple(fc.constantFrom(...Object.keys(R.UNARY)), tensorArb()), ([op, spec]) => {
  const { t, ref } = buildTensor(spec);
  const restore = snapshot([t]);
  judge(
    [op],
    `${op} of ${t.dtype} [${t.shape}]`,
    () => R.unary(op, ref),
    () => (t as unknown as Record<string, () => Tensor>)[op](),
    (got, want) => compareTensor(got, want, `${op} of ${t.dtype} [${t.shape}]`),
  );
  restore();
});

prop(
  'advanced indexing',
  2,
  fc.tuple(
    fc.constantFrom('indexSelect', 'index', 'gather'),
    tensorArb(undefined, shapeArb(3, 4), 2),
    fc.integer({ min: -3, max: 3 }),
    fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 6 }),
    fc.boolean(),
  ),
  ([op, spec, dim, raw, asArray]) => {
    const { t, ref } = buildTensor(spec);
    const n = ref.shape.length;
    const dd = n ? ((dim % n) + n) % n : 0;
    const size = n ? ref.shape[dd] : 1;
    // Indices mostly in range, some past either end.
    const idx = raw.map((r) => (Math.abs(r) === 5 ? r * 2 : size ? ((r % size) + size) % size : r));
    const restore = snapshot([t]);
    const ctx = `${op}(${t.dtype} [${t.shape}], dim ${dim}, ${show(idx)})`;
    if (op === 'gather') {
      const ishape = ref.shape.map((s, k) => (k === dd ? Math.min(idx.length, 3) : Math.min(s, 2)));
      const needed = R.numel(ishape);
      const ivals = Array.from({ length: needed }, (_, k) => idx[k % Math.max(idx.length, 1)] ?? 0);
      const it = torch.tensor(ivals, { dtype: 'int64' }).reshape(ishape);
      judge(
        ['gather'],
        ctx,
        () => R.gather(ref, dim, R.fromFlat('int64', ivals, ishape)),
        () => t.gather(dim, it),
        (got, want) => compareTensor(got, want, ctx),
      );
    } else if (op === 'indexSelect') {
      const index = asArray ? idx : torch.tensor(idx, { dtype: 'int64' });
      judge(
        ['indexSelect', 'index_select'],
        ctx,
        () => {
          if (n === 0) throw new Unsure('indexSelect of a 0-d tensor');
          return R.indexSelect(ref, dim, idx);
        },
        () => t.indexSelect(dim, index),
        (got, want) => compareTensor(got, want, ctx),
      );
    } else {
      const index = asArray ? idx : torch.tensor(idx, { dtype: 'int64' });
      judge(
        ['index'],
        ctx,
        () => {
          if (idx.length === 0 && asArray) throw new Unsure('x[[]]: an empty list has no dtype');
          return R.indexFirst(ref, idx);
        },
        () => t.index(index),
        (got, want) => compareTensor(got, want, ctx),
      );
    }
    restore();
  },
);

/** Two shapes that broadcast (mostly), built from one. */
const pairShapes = shapeArb(3, 3).chain((s) =>
  fc.tuple(
    fc.constant(s),
    fc.array(fc.integer({ min: 0, max: 4 }), { minLength: s.length, maxLength: s.length }).map((r) => {
      const out = s.map((v, i) => (r[i] === 0 ? 1 : r[i] === 4 ? v + 1 : v));
      return r[0] === 3 ? out.slice(1) : out;
    }),
  ),
);
// No -0 and no huge integral values: JS numbers cannot say whether they
// stand for Python ints or floats there, so PyTorch's answer is undefined.
const scalarArb = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double({ min: -4, max: 4, noNaN: true }).map((v) => (Object.is(v, -0) ? 0 : v)),
  fc.boolean(),
  fc.constantFrom(NaN, Infinity, -Infinity, 2.5e-7),
);

prop(
  'binary elementwise',
  3,
  fc.tuple(
    fc.constantFrom(...R.BINARY),
    pairShapes.chain(([sa, sb]) => fc.tuple(tensorArb(undefined, fc.constant(sa), 1), tensorArb(undefined, fc.constant(sb), 1))),
    fc.oneof(fc.constant(null), scalarArb),
    fc.boolean(),
  ),
  ([op, [sa, sb], scalar, scalarFirst]) => {
    const A = buildTensor(sa),
      B = buildTensor(sb);
    const a: R.Operand = { kind: 'tensor', t: A.ref };
    const b: R.Operand = scalar === null ? { kind: 'tensor', t: B.ref } : { kind: 'scalar', v: scalar };
    const [x, y] =
      scalar !== null && scalarFirst && op !== 'maximum' && op !== 'minimum' && !R.BINARY.slice(7).includes(op) ? [b, a] : [a, b];
    const lib = (o: R.Operand) => (o.kind === 'tensor' ? (o === a ? A.t : B.t) : o.v);
    const restore = snapshot([A.t, B.t]);
    const fn = (torch as unknown as Record<string, (p: unknown, q: unknown) => Tensor>)[op];
    const ctx = `${op}(${x.kind === 'tensor' ? `${x.t.dtype} [${x.t.shape}]` : show(x.v)}, ${y.kind === 'tensor' ? `${y.t.dtype} [${y.t.shape}]` : show(y.v)})`;
    judge(
      [op],
      ctx,
      () => R.binary(op, x, y),
      () => fn(lib(x), lib(y)),
      (got, want) => compareTensor(got, want, ctx),
    );
    restore();
  },
);

const dimArg = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 2 },
  { arbitrary: fc.integer({ min: -5, max: 4 }), weight: 6 },
  { arbitrary: fc.array(fc.integer({ min: -4, max: 3 }), { maxLength: 3 }), weight: 2 },
);
prop(
  'reductions',
  3,
  fc.tuple(fc.constantFrom(...R.REDUCE), tensorArb(undefined, shapeArb(3, 4), 2), dimArg, fc.boolean()),
  ([op, spec, dim, keepdim]) => {
    const { t, ref } = buildTensor(spec);
    const restore = snapshot([t]);
    const single = Array.isArray(dim) ? dim[0] : dim;
    const listOk = op === 'sum' || op === 'mean' || op === 'amax' || op === 'amin' || op === 'var' || op === 'std' || op === 'logsumexp';
    const d = listOk ? dim : single;
    const ctx = `${op}(${t.dtype} [${t.shape}], dim=${show(d)}, keepdim=${keepdim})`;
    const call = (): Tensor => {
      const x = t as unknown as Record<string, (...a: unknown[]) => Tensor>;
      if (op === 'softmax' || op === 'logSoftmax') return x[op](d);
      if (op === 'logsumexp') return x[op](d, { keepdim });
      if (op === 'var' || op === 'std') return x[op](d, { keepdim });
      return x[op](d, { keepdim });
    };
    judge(
      [op === 'logSoftmax' ? 'logSoftmax' : op, ...(op === 'logSoftmax' ? ['log_softmax'] : [])],
      ctx,
      () => {
        if (Array.isArray(d) && d.length === 0 && op !== 'sum' && op !== 'mean') throw new Unsure('empty dim list');
        if ((op === 'softmax' || op === 'logSoftmax' || op === 'logsumexp') && d === undefined) throw new Unsure('no dim');
        return R.reduction(op, ref, d as number | number[] | undefined, keepdim);
      },
      call,
      (got, want) => compareTensor(got, want, ctx),
    );
    restore();
  },
);

prop(
  'matmul',
  2,
  fc
    .tuple(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 4 }),
      fc.integer({ min: 0, max: 4 }),
      fc.integer({ min: 0, max: 4 }),
      fc.integer({ min: 0, max: 5 }),
      fc.constantFrom<DT>('float32', 'float64', 'float32', 'int64', 'int32', 'bool'),
      fc.boolean(),
    )
    .chain(([ra, rb, m, k, n, bad, dt, sameDT]) => {
      const batch = [2, 1, 3].slice(0, 2);
      const sa = ra === 1 ? [k] : [...batch.slice(0, ra - 2), m, k];
      const sb = rb === 1 ? [bad === 5 ? k + 1 : k] : [...batch.slice(0, rb - 2).map((x) => (bad === 4 ? 1 : x)), bad === 5 ? k + 1 : k, n];
      return fc.tuple(tensorArb(fc.constant(dt), fc.constant(sa), 1), tensorArb(fc.constant(sameDT ? dt : 'float64'), fc.constant(sb), 1));
    }),
  ([sa, sb]) => {
    const A = buildTensor(sa),
      B = buildTensor(sb);
    const restore = snapshot([A.t, B.t]);
    const ctx = `matmul(${A.t.dtype} [${A.t.shape}], ${B.t.dtype} [${B.t.shape}])`;
    let scale: number[] = [];
    judge(
      ['matmul'],
      ctx,
      () => {
        const r = R.matmul(A.ref, B.ref);
        scale = r.scale;
        return r;
      },
      () => A.t.matmul(B.t),
      (got, want) => {
        // BLAS kernels may multiply padding zeros by an infinity (NaN) or
        // overflow partial sums differently: with non-finite or huge inputs
        // only the shape and dtype are PyTorch's contract.
        const wild = [...R.values(A.ref), ...R.values(B.ref)].some((v) => !Number.isFinite(v) || Math.abs(v) > 1e18);
        if (wild && want) compareTensor(got, { ...(want as RefResult), values: readValues(got as Tensor) }, ctx);
        else
          compareTensor(
            got,
            want,
            ctx,
            scale.map((s) => s * 4),
          );
      },
    );
    restore();
  },
);

prop(
  'cat and stack',
  2,
  fc
    .tuple(
      shapeArb(3, 3),
      fc.array(fc.tuple(fc.integer({ min: -1, max: 4 }), dtypeArb), { minLength: 0, maxLength: 4 }),
      fc.integer({ min: -4, max: 3 }),
      fc.boolean(),
    )
    .chain(([shape, parts, dim, isStack]) =>
      fc.tuple(
        fc.tuple(
          ...parts.map(([size, dt]) => {
            const s = shape.slice();
            const d = shape.length ? ((dim % shape.length) + shape.length) % shape.length : 0;
            if (!isStack && s.length && size >= 0) s[d] = size;
            if (size === -1) return tensorArb(fc.constant(dt), fc.constant([0]), 0);
            return tensorArb(fc.constant(dt), fc.constant(s), 1);
          }),
        ),
        fc.constant(dim),
        fc.constant(isStack),
      ),
    ),
  ([specs, dim, isStack]) => {
    const built = specs.map(buildTensor);
    const ts = built.map((b) => b.t),
      refs = built.map((b) => b.ref);
    const restore = snapshot(ts);
    const op = isStack ? 'stack' : 'cat';
    const ctx = `${op}([${ts.map((t) => `${t.dtype} [${t.shape}]`).join(', ')}], ${dim})`;
    judge(
      [op],
      ctx,
      () => {
        if (isStack && new Set(refs.map((r) => r.dtype)).size > 1) throw new Unsure('stack of mixed dtypes');
        return isStack ? R.stack(refs, dim) : R.cat(refs, dim);
      },
      () => (isStack ? torch.stack(ts, dim) : torch.cat(ts, dim)),
      (got, want) => compareTensor(got, want, ctx),
    );
    restore();
  },
);

// nn.functional: output shapes and dtypes against PyTorch's formulas.
const convOut = (size: number, k: number, s: number, p: number, d: number) => Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
const poolOut = (size: number, k: number, s: number, p: number, d: number, ceil: boolean) => {
  const span = size + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= size + p) o--;
  return o;
};
prop(
  'conv2d',
  3,
  fc.record({
    n: fc.integer({ min: 0, max: 2 }),
    cin: fc.integer({ min: 1, max: 4 }),
    h: fc.integer({ min: 0, max: 6 }),
    w: fc.integer({ min: 1, max: 6 }),
    cout: fc.integer({ min: 1, max: 4 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 3 }),
    groups: fc.integer({ min: 0, max: 3 }),
    stride: fc.integer({ min: 0, max: 3 }),
    padding: fc.integer({ min: -1, max: 3 }),
    dilation: fc.integer({ min: 0, max: 2 }),
    bias: fc.constantFrom('none', 'ok', 'wrong'),
    dtype: fc.constantFrom<DT>('float32', 'float64', 'int64'),
    unbatched: fc.boolean(),
    wdtype: fc.boolean(),
  }),
  (c) => {
    const x = torch
      .rand(c.unbatched ? [c.cin, c.h, c.w] : [c.n, c.cin, c.h, c.w], { dtype: c.dtype === 'int64' ? 'float64' : c.dtype })
      .to(c.dtype);
    const g = Math.max(c.groups, 1);
    const wt = torch.rand([c.cout, Math.max(1, Math.floor(c.cin / g)), c.kh, c.kw], {
      dtype: c.wdtype ? 'float32' : x.dtype === 'int64' ? 'float32' : x.dtype,
    });
    const b = c.bias === 'none' ? null : torch.rand([c.bias === 'ok' ? c.cout : c.cout + 1], { dtype: wt.dtype });
    const restore = snapshot([x, wt, ...(b ? [b] : [])]);
    const ctx = `conv2d(${show(c)})`;
    judge(
      ['conv2d'],
      ctx,
      () => {
        if (c.dtype === 'int64' || x.dtype !== wt.dtype) throw new Invalid('dtype');
        if (c.groups === 0 || c.stride === 0 || c.padding < 0 || c.dilation === 0) throw new Invalid('bad params');
        if (c.cin % g !== 0 || c.cout % g !== 0) throw new Invalid('groups');
        if (c.bias === 'wrong') throw new Invalid('bias');
        const oh = convOut(c.h, c.kh, c.stride, c.padding, c.dilation),
          ow = convOut(c.w, c.kw, c.stride, c.padding, c.dilation);
        if (oh <= 0 || ow <= 0) throw new Invalid('output too small');
        const shape = c.unbatched ? [c.cout, oh, ow] : [c.n, c.cout, oh, ow];
        return { dtype: x.dtype as DT, shape, values: [] };
      },
      () => F.conv2d(x, wt, b, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups }),
      (got, want) => {
        if (!(got instanceof torch.Tensor)) fails(`${ctx}: not a Tensor`);
        const w = want as RefResult;
        if (got.dtype !== w.dtype || show(got.shape) !== show(w.shape))
          fails(`${ctx}: got ${got.dtype} [${got.shape}], expected ${w.dtype} [${w.shape}]`);
        if (!readValues(got).every(Number.isFinite)) fails(`${ctx}: non-finite output from finite inputs`);
      },
    );
    restore();
  },
);

prop(
  'pooling',
  3,
  fc.record({
    kind: fc.constantFrom('max', 'avg', 'adaptive'),
    n: fc.integer({ min: 0, max: 2 }),
    c: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 0, max: 7 }),
    w: fc.integer({ min: 1, max: 7 }),
    k: fc.integer({ min: 0, max: 4 }),
    s: fc.integer({ min: 0, max: 3 }),
    p: fc.integer({ min: -1, max: 2 }),
    ceil: fc.boolean(),
    rank: fc.constantFrom(2, 3, 4, 5),
    out: fc.integer({ min: 0, max: 5 }),
    dtype: fc.constantFrom<DT>('float32', 'float64', 'int64'),
    nan: fc.boolean(),
  }),
  (c) => {
    const full = [c.n, c.c, c.h, c.w];
    const shape = full.slice(4 - Math.min(c.rank, 4));
    if (c.rank === 5) shape.unshift(1);
    const x = torch.randn(shape, { dtype: c.dtype === 'int64' ? 'float64' : c.dtype }).to(c.dtype);
    if (c.nan && x.numel() > 0 && c.dtype !== 'int64') x.view(-1).indexPut_([0], NaN);
    const restore = snapshot([x]);
    const op = c.kind === 'max' ? 'maxPool2d' : c.kind === 'avg' ? 'avgPool2d' : 'adaptiveAvgPool2d';
    const ctx = `${op}(${show(c)})`;
    judge(
      [op],
      ctx,
      () => {
        if (shape.length !== 3 && shape.length !== 4) throw new Invalid('rank');
        if (c.dtype === 'int64') {
          if (c.kind === 'max') throw new Unsure('int max pool');
          throw new Invalid('dtype');
        }
        if (c.kind === 'adaptive') {
          if (c.out === 0) throw new Unsure('output size 0');
          if (c.h === 0 || (shape.length === 4 && c.c === 0)) throw new Unsure('empty spatial');
          return { dtype: c.dtype, shape: [...shape.slice(0, -2), c.out, c.out], values: [] };
        }
        if (c.k === 0 || c.s === 0 || c.p < 0) throw new Invalid('bad params');
        if (c.p > c.k / 2) throw new Invalid('pad > kernel / 2');
        const oh = poolOut(c.h, c.k, c.s, c.p, 1, c.ceil),
          ow = poolOut(c.w, c.k, c.s, c.p, 1, c.ceil);
        if (oh <= 0 || ow <= 0) throw new Invalid('output too small');
        if (c.h === 0) throw new Unsure('empty spatial');
        return { dtype: c.dtype, shape: [...shape.slice(0, -2), oh, ow], values: [] };
      },
      () => {
        if (c.kind === 'max') return F.maxPool2d(x, c.k, { stride: c.s, padding: c.p, ceilMode: c.ceil });
        if (c.kind === 'avg') return F.avgPool2d(x, c.k, { stride: c.s, padding: c.p, ceilMode: c.ceil });
        return F.adaptiveAvgPool2d(x, c.out);
      },
      (got, want) => {
        if (!(got instanceof torch.Tensor)) fails(`${ctx}: not a Tensor`);
        const w = want as RefResult;
        if (got.dtype !== w.dtype || show(got.shape) !== show(w.shape))
          fails(`${ctx}: got ${got.dtype} [${got.shape}], expected ${w.dtype} [${w.shape}]`);
      },
    );
    restore();
  },
);

prop(
  'crossEntropy',
  3,
  fc.record({
    n: fc.integer({ min: 0, max: 4 }),
    c: fc.integer({ min: 1, max: 5 }),
    targets: fc.array(fc.integer({ min: -101, max: 6 }), { minLength: 4, maxLength: 4 }),
    reduction: fc.constantFrom('mean', 'sum', 'none', 'avg'),
    ignoreIndex: fc.constantFrom(-100, 0, 2),
    smoothing: fc.constantFrom(0, 0, 0.1, 1.5, -0.1),
    weight: fc.constantFrom('none', 'ok', 'wrong'),
    dtype: fc.constantFrom<DT>('float32', 'float64', 'int64'),
    tdtype: fc.constantFrom<DT>('int64', 'int64', 'int32', 'float32'),
    logits: fc.array(floatValue, { minLength: 20, maxLength: 20 }),
  }),
  (c) => {
    const x = torch
      .tensor(c.logits.slice(0, c.n * c.c), { dtype: c.dtype === 'int64' ? 'float64' : c.dtype })
      .reshape([c.n, c.c])
      .to(c.dtype);
    const tv = c.targets.slice(0, c.n);
    const target = c.tdtype === 'float32' ? torch.rand([c.n, c.c]) : torch.tensor(tv.length ? tv : [], { dtype: c.tdtype }).reshape([c.n]);
    const weight =
      c.weight === 'none'
        ? null
        : torch.rand([c.weight === 'ok' ? c.c : c.c + 1], { dtype: c.dtype === 'float64' ? 'float64' : 'float32' });
    const restore = snapshot([x, target, ...(weight ? [weight] : [])]);
    const ctx = `crossEntropy(${show({ ...c, logits: undefined })}, input ${show(c.logits.slice(0, c.n * c.c))})`;
    judge(
      ['crossEntropy', 'cross_entropy'],
      ctx,
      () => {
        if (c.dtype === 'int64' || c.reduction === 'avg' || c.weight === 'wrong') throw new Invalid('args');
        if (c.smoothing < 0 || c.smoothing > 1) throw new Invalid('label smoothing');
        if (c.tdtype === 'int32') throw new Unsure('int32 targets');
        const xr = R.fromFlat(c.dtype, c.logits.slice(0, c.n * c.c), [c.n, c.c]);
        if (c.tdtype === 'float32') {
          if (c.ignoreIndex !== -100) throw new Invalid('ignoreIndex with probability targets');
          return { dtype: c.dtype, shape: c.reduction === 'none' ? [c.n] : [], values: [] };
        }
        if (tv.some((t) => t !== c.ignoreIndex && (t < 0 || t >= c.c))) throw new Invalid('target out of range');
        if (c.smoothing !== 0 || weight) return { dtype: c.dtype, shape: c.reduction === 'none' ? [c.n] : [], values: [] };
        // Plain case: -log_softmax(x)[target], with ignored rows 0 and left out of the mean.
        const xs = R.values(xr);
        const losses = tv.map((t, i) => {
          if (t === c.ignoreIndex) return 0;
          const row = xs.slice(i * c.c, (i + 1) * c.c);
          const m = Math.max(...row);
          // PyTorch's log_softmax subtracts the row's max: an infinite (or NaN) max makes the row NaN.
          if (!Number.isFinite(m)) return NaN;
          return m - row[t] + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
        });
        const kept = tv.filter((t) => t !== c.ignoreIndex).length;
        const total = losses.reduce((a, b) => a + b, 0);
        const vals = c.reduction === 'none' ? losses : c.reduction === 'sum' ? [total] : [total / kept];
        return { dtype: c.dtype, shape: c.reduction === 'none' ? [c.n] : [], values: vals.map((v) => R.toDType(v, c.dtype)), approx: true };
      },
      () =>
        F.crossEntropy(x, target, { reduction: c.reduction as 'mean', ignoreIndex: c.ignoreIndex, labelSmoothing: c.smoothing, weight }),
      (got, want) => {
        const w = want as RefResult;
        if (w.values.length === 0 && !(got instanceof torch.Tensor && show(got.shape) === show(w.shape) && got.dtype === w.dtype)) {
          fails(`${ctx}: got ${show(got)}, expected ${w.dtype} [${w.shape}]`);
        }
        if (w.values.length)
          compareTensor(
            got,
            { ...w, values: w.values },
            ctx,
            w.values.map((v) => Math.abs(v) * 64),
          );
      },
    );
    restore();
  },
);

// Creation with sizes, values and options of every kind, valid or not.
const sizeItem = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 4 }), weight: 8 },
  { arbitrary: fc.constantFrom<unknown>(-1, 1.5, NaN, Infinity, 1e10, 2 ** 40, '2', null, undefined, {}, [2], 2n, true), weight: 1 },
);
const optsArb = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 4 },
  { arbitrary: fc.record({ dtype: fc.constantFrom<unknown>(...R.DTYPES, 'complex64', undefined, 3) }, { requiredKeys: [] }), weight: 4 },
  { arbitrary: fc.record({ device: fc.constantFrom<unknown>('cpu', 'cuda', 'cuda:0', 'cuda:1', 'cuda:x', 'mps', 0) }), weight: 2 },
  { arbitrary: fc.record({ requiresGrad: fc.constantFrom<unknown>(true, false, 'yes') }), weight: 1 },
  { arbitrary: fc.constantFrom<unknown>(null, 'float32', 42), weight: 1 },
);
prop(
  'creation',
  3,
  fc.tuple(
    fc.constantFrom('zeros', 'ones', 'empty', 'full', 'rand', 'randn', 'arange', 'linspace', 'eye', 'randint', 'tensor', 'zerosLike'),
    fc.array(sizeItem, { maxLength: 4 }),
    optsArb,
    fc.oneof(floatValue, fc.integer({ min: -3, max: 3 })),
  ),
  ([op, size, opts, value]) => {
    const ctx = `${op}(${show(size)}, ${show(opts)}, value ${show(value)})`;
    const like = torch.ones(2, 3);
    const o = opts as Record<string, unknown> | undefined;
    const validSize = size.every((s) => typeof s === 'number' && Number.isInteger(s) && s >= 0) && R.numel(size as number[]) <= 2 ** 20;
    const dtypeOk =
      !o || typeof o !== 'object' || o === null || !('dtype' in o) || o.dtype === undefined || R.DTYPES.includes(o.dtype as DT);
    const deviceOk = !o || typeof o !== 'object' || !('device' in o) || o.device === 'cpu';
    const wantDT = o && typeof o === 'object' && R.DTYPES.includes(o.dtype as DT) ? (o.dtype as DT) : null;
    const call = (): Tensor => {
      switch (op) {
        case 'zeros':
          return torch.zeros(size as number[], o as never);
        case 'ones':
          return torch.ones(size as number[], o as never);
        case 'empty':
          return torch.empty(size as number[], o as never);
        case 'full':
          return torch.full(size as number[], value, o as never);
        case 'rand':
          return torch.rand(size as number[], o as never);
        case 'randn':
          return torch.randn(size as number[], o as never);
        case 'arange':
          return torch.arange(size[0] as number, size[1] as number, o as never);
        case 'linspace':
          return torch.linspace(value, value + 1, size[0] as number, o as never);
        case 'eye':
          return torch.eye(size[0] as number, size[1] as number, o as never);
        case 'randint':
          return torch.randint(-3, (size[0] as number) ?? 1, size as number[], o as never);
        case 'tensor':
          return torch.tensor(size as number[], o as never);
        case 'zerosLike':
          return torch.zerosLike(like, o as never);
      }
      throw new Error('unreachable');
    };
    judge(
      [op, op === 'empty' ? 'zeros' : op, 'requiresGrad'],
      ctx,
      () => {
        if (!deviceOk || !dtypeOk) throw new Invalid('options');
        if (o !== undefined && (o === null || typeof o !== 'object')) throw new Unsure('options not an object');
        if (o && typeof o === 'object' && 'requiresGrad' in o) throw new Unsure('requiresGrad');
        if (op === 'zerosLike') return R.fromFlat(wantDT ?? 'float32', [0, 0, 0, 0, 0, 0], [2, 3]);
        if (['zeros', 'ones', 'empty', 'full'].includes(op)) {
          if (!validSize) throw new Invalid('size');
          const dt: DT = wantDT ?? (op === 'full' ? (Number.isInteger(value) ? 'int64' : 'float32') : 'float32');
          // JS cannot tell 1e30 from an integer: what a huge integral value becomes is open.
          if (op === 'full' && !R.isFloat(dt) && !(Math.abs(value) < 2 ** 53)) throw new Unsure('huge or non-finite integral fill');
          // PyTorch refuses a fill value its integer dtype cannot hold ("value cannot be
          // converted to type uint8_t without overflow"); a Python int may wrap into uint8
          // from as far as -255, a float must lie in range (so -2.5 and even -5e-324 fail).
          if (op === 'full' && R.INT_RANGE[dt] && !R.scalarFits(value, dt)) throw new Invalid("fill value out of the dtype's range");
          const v = op === 'ones' ? 1 : op === 'full' ? value : 0;
          return R.fromFlat(dt, new Array(R.numel(size as number[])).fill(v), size as number[]);
        }
        throw new Unsure('values checked by other tests');
      },
      call,
      (got, want) => compareTensor(got, want, ctx),
    );
  },
);

// Junk in every argument slot: never a crash, always a named Error where the type is wrong.
const JUNK: unknown[] = [
  undefined,
  null,
  'a',
  '0',
  {},
  { length: 2 },
  [1, 'b'],
  [[1]],
  [],
  1.5,
  NaN,
  -Infinity,
  -7,
  1e12,
  2n,
  true,
  Symbol('s'),
  () => 1,
  new Float32Array(2),
  new Map(),
];
const junkArb = fc.oneof({ arbitrary: fc.constantFrom(...JUNK), weight: 4 }, { arbitrary: fc.anything({ maxDepth: 2 }), weight: 1 });
type Slot = 'tensor' | 'dim' | 'int' | 'number' | 'shape' | 'opts' | 'other';
const isTensor = (v: unknown) => v instanceof torch.Tensor;
const isPlainObject = (v: unknown) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && [Object.prototype, null].includes(Object.getPrototypeOf(v));
/** Junk that no reading of the slot accepts, so the call must throw. */
function mustThrow(slot: Slot, v: unknown): boolean {
  const num = typeof v === 'number';
  switch (slot) {
    case 'tensor':
      return !isTensor(v);
    // A plain object where a dim may go is the options object: x.sum({}) is Python's x.sum(**{}).
    case 'dim':
      return !(num && Number.isInteger(v)) && v !== undefined && v !== null && !Array.isArray(v) && !isPlainObject(v);
    case 'int':
      return !(num && Number.isInteger(v));
    case 'number':
      return (
        typeof v === 'symbol' || typeof v === 'function' || typeof v === 'string' || (typeof v === 'object' && v !== null && !isTensor(v))
      );
    case 'shape':
      return typeof v === 'symbol' || typeof v === 'function' || typeof v === 'string' || typeof v === 'bigint';
    default:
      return false;
  }
}
// j is `never`: the junk is of no type these APIs accept, on purpose.
const JUNK_CALLS: [string[], Slot, (j: never) => unknown][] = [
  [['add'], 'number', (j) => torch.ones(2, 3).add(j)],
  [['mul'], 'number', (j) => torch.ones(2, 3).mul(j)],
  [['sub'], 'number', (j) => torch.sub(j, torch.ones(2))],
  [['div'], 'number', (j) => torch.ones(2).div(j)],
  [['pow'], 'number', (j) => torch.ones(2).pow(j)],
  [['maximum'], 'tensor', (j) => torch.ones(2).maximum(j)],
  [['eq'], 'number', (j) => torch.ones(2).eq(j)],
  [['where'], 'tensor', (j) => torch.where(j, torch.ones(2), torch.zeros(2))],
  [['matmul'], 'tensor', (j) => torch.ones(2, 2).matmul(j)],
  [['sum'], 'dim', (j) => torch.ones(2, 3).sum(j)],
  [['mean'], 'dim', (j) => torch.ones(2, 3).mean(j)],
  [['amax'], 'dim', (j) => torch.ones(2, 3).amax(j)],
  [['argmax'], 'dim', (j) => torch.ones(2, 3).argmax(j)],
  [['max'], 'other', (j) => torch.ones(2, 3).max(j)],
  [['softmax'], 'int', (j) => torch.ones(2, 3).softmax(j)],
  [['logSoftmax', 'log_softmax'], 'int', (j) => torch.ones(2, 3).logSoftmax(j)],
  // A bare boolean where var's dim goes is 1.13's var(x, unbiased) overload, so a boolean goes in a dim list.
  [['var'], 'dim', (j) => torch.ones(2, 3).var(typeof j === 'boolean' ? ([j] as never) : j)],
  [['transpose'], 'int', (j) => torch.ones(2, 3).transpose(j, 0)],
  [['permute'], 'shape', (j) => torch.ones(2, 3).permute(j)],
  [['view'], 'shape', (j) => torch.ones(2, 3).view(j)],
  [['reshape'], 'shape', (j) => torch.ones(2, 3).reshape(j)],
  [['expand'], 'shape', (j) => torch.ones(1, 3).expand(j)],
  [['unsqueeze'], 'int', (j) => torch.ones(2, 3).unsqueeze(j)],
  [['squeeze'], 'dim', (j) => torch.ones(2, 1).squeeze(j)],
  [['flatten'], 'dim', (j) => torch.ones(2, 3).flatten(j)],
  [['narrow'], 'int', (j) => torch.ones(2, 3).narrow(0, j, 1)],
  [['select'], 'int', (j) => torch.ones(2, 3).select(1, j)],
  [['index'], 'other', (j) => torch.ones(2, 3).index(j)],
  [['indexSelect'], 'other', (j) => torch.ones(2, 3).indexSelect(0, j)],
  [['gather'], 'tensor', (j) => torch.ones(2, 3).gather(1, j)],
  [['cat'], 'other', (j) => torch.cat(j)],
  [['cat'], 'dim', (j) => torch.cat([torch.ones(2), torch.ones(2)], j)],
  [['stack'], 'other', (j) => torch.stack([torch.ones(2), j])],
  [['chunk'], 'int', (j) => torch.ones(4).chunk(j)],
  [['split'], 'other', (j) => torch.ones(4).split(j)],
  [['clamp'], 'other', (j) => torch.ones(4).clamp(j)],
  [['fill_'], 'number', (j) => torch.ones(4).fill_(j)],
  [['copy_'], 'tensor', (j) => torch.ones(4).copy_(j)],
  [['to'], 'other', (j) => torch.ones(4).to(j)],
  [['zeros'], 'shape', (j) => torch.zeros(j)],
  [['full'], 'number', (j) => torch.full([2], j)],
  [['tensor'], 'other', (j) => torch.tensor(j)],
  [['arange'], 'number', (j) => torch.arange(j)],
  [['linspace'], 'int', (j) => torch.linspace(0, 1, j)],
  [['eye'], 'int', (j) => torch.eye(j)],
  [['randint'], 'int', (j) => torch.randint(0, j, [2])],
  [['fromTypedArray'], 'other', (j) => torch.fromTypedArray(j)],
  [['conv2d'], 'tensor', (j) => F.conv2d(torch.ones(1, 1, 3, 3), j)],
  [['conv2d'], 'other', (j) => F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2), null, { stride: j })],
  [['conv2d'], 'other', (j) => F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2), null, { padding: j })],
  [['conv2d'], 'other', (j) => F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2), j)],
  [['maxPool2d'], 'other', (j) => F.maxPool2d(torch.ones(1, 1, 4, 4), j)],
  [['avgPool2d'], 'other', (j) => F.avgPool2d(torch.ones(1, 1, 4, 4), 2, { stride: j })],
  [['adaptiveAvgPool2d'], 'other', (j) => F.adaptiveAvgPool2d(torch.ones(1, 1, 4, 4), j)],
  [['crossEntropy', 'cross_entropy'], 'tensor', (j) => F.crossEntropy(torch.ones(2, 3), j)],
  [['crossEntropy', 'cross_entropy'], 'other', (j) => F.crossEntropy(torch.ones(2, 3), torch.tensor([0, 1]), { reduction: j })],
  [['crossEntropy', 'cross_entropy'], 'other', (j) => F.crossEntropy(torch.ones(2, 3), torch.tensor([0, 1]), { ignoreIndex: j })],
  [['crossEntropy', 'cross_entropy'], 'other', (j) => F.crossEntropy(torch.ones(2, 3), torch.tensor([0, 1]), { labelSmoothing: j })],
  [['crossEntropy', 'cross_entropy'], 'other', (j) => F.crossEntropy(torch.ones(2, 3), torch.tensor([0, 1]), { weight: j })],
  [['linear'], 'tensor', (j) => F.linear(torch.ones(2, 3), j)],
  [['embedding'], 'tensor', (j) => F.embedding(j, torch.ones(3, 2))],
  [['dropout'], 'other', (j) => F.dropout(torch.ones(3), j)],
  [['backward'], 'other', (j) => torch.ones(2, { requiresGrad: true }).sum().backward(j)],
  [['indexPut_'], 'other', (j) => torch.zeros(3).indexPut_([j], 1)],
];
prop('junk arguments', 8, fc.tuple(fc.integer({ min: 0, max: JUNK_CALLS.length - 1 }), junkArb), ([k, junk]) => {
  const [names, slot, fn] = JUNK_CALLS[k];
  const ctx = `${names[0]} with ${show(junk)} in a ${slot} slot`;
  const out = attempt(() => fn(junk as never));
  if (!out.ok) checkError(out.error, names, ctx);
  else if (mustThrow(slot, junk)) fails(`${ctx}: returned ${show(out.value)} instead of throwing`);
});

// Devices: this build has no CUDA, so every request for one is a clear Error.
const DEVICE_CALLS: [string[], (d: string) => unknown][] = [
  [['to'], (d) => torch.ones(2).to(d)],
  [['to'], (d) => torch.ones(2).to({ device: d })],
  [['zeros'], (d) => torch.zeros([2], { device: d })],
  [['tensor'], (d) => torch.tensor([1, 2], { device: d })],
  [['randn'], (d) => torch.randn([2], { device: d })],
  [['arange'], (d) => torch.arange(3, { device: d })],
  [['to', 'Module'], (d) => new torch.nn.Linear(2, 2).to(d)],
];
prop(
  'cuda devices',
  4,
  fc.tuple(
    fc.integer({ min: 0, max: DEVICE_CALLS.length }),
    fc.constantFrom('cuda', 'cuda:0', 'cuda:1', 'cuda:7', 'cuda:-1', 'cuda:', 'gpu', 'CUDA'),
  ),
  ([k, d]) => {
    if (torch.cuda.isAvailable()) return;
    if (k === DEVICE_CALLS.length) {
      const out = attempt(() => torch.ones(2).cuda());
      if (out.ok) fails(`cuda() returned a tensor without CUDA`);
      checkError(out.error, ['cuda', 'to'], 'cuda()');
      return;
    }
    const [names, fn] = DEVICE_CALLS[k];
    const out = attempt(() => fn(d));
    if (out.ok) fails(`${names[0]} to device '${d}' returned ${show(out.value)} in a build without CUDA`);
    checkError(out.error, names, `${names[0]} to device '${d}'`);
    if (/^cuda(:\d+)?$/.test(d) && !/cuda/i.test((out.error as Error).message))
      fails(`${names[0]}('${d}'): the error does not mention CUDA`);
  },
);

// Huge requests are refused with a RangeError before anything is allocated.
const HUGE: [string, () => unknown][] = [
  ['zeros([1e10])', () => torch.zeros([1e10])],
  ['zeros(1e5, 1e5, 10)', () => torch.zeros(1e5, 1e5, 10)],
  ['ones([2**40])', () => torch.ones([2 ** 40])],
  ['empty(2**33)', () => torch.empty(2 ** 33)],
  ['full([1e6, 1e6], 1)', () => torch.full([1e6, 1e6], 1)],
  ['randn([1e10])', () => torch.randn([1e10])],
  ['rand([2**53])', () => torch.rand([2 ** 53])],
  ['randint(0, 5, [1e12])', () => torch.randint(0, 5, [1e12])],
  ['arange(1e12)', () => torch.arange(1e12)],
  ['linspace(0, 1, 1e12)', () => torch.linspace(0, 1, 1e12)],
  ['eye(1e6)', () => torch.eye(1e6)],
  ['zeros([2**31, 2**31])', () => torch.zeros([2 ** 31, 2 ** 31])],
  ['expand(1e10).contiguous()', () => torch.ones(1).expand(1e10).contiguous()],
  ['expand(1e10).add(1)', () => torch.ones(1).expand(1e10).add(1)],
  ['expand(1e5, 1e5).clone()', () => torch.ones(1, 1).expand(1e5, 1e5).clone()],
  ['reshape(1e10)', () => torch.ones(2).reshape([1e10])],
];
prop('huge allocations', 1, fc.integer({ min: 0, max: HUGE.length - 1 }), (k) => {
  const [what, fn] = HUGE[k];
  const out = attempt(fn);
  if (out.ok) {
    if (what.startsWith('reshape')) fails(`${what} returned a tensor`);
    fails(`${what} returned a tensor instead of throwing a RangeError`);
  }
  if (!(out.error instanceof RangeError) && !what.startsWith('reshape'))
    fails(`${what} threw ${(out.error as Error)?.constructor?.name}: ${(out.error as Error)?.message}, not a RangeError`);
});

// ---- integrity ---------------------------------------------------------------------------------
// After every case: tensors made earlier still hold their values and a fresh
// tensor is zero. Small tensors share memory slabs (lib/backend/memory.ts),
// so a call that writes or allocates out of place shows up here even when
// its own result looked right.
const sentinels: { t: Tensor; v: number }[] = [];
let sentinelCount = 0;
/** Set once memory is found corrupted: the rest of the run is meaningless. */
let corrupted: Failure | null = null;
function integrityProblem(): string | null {
  try {
    for (const { t, v } of sentinels) {
      const vals = t.toTypedArray() as Float32Array;
      if (vals.some((x) => x !== v)) return `a live tensor [${Array.from(vals)}] no longer holds ${v}`;
    }
    const z = torch.zeros([13]).toTypedArray() as Float32Array;
    if (z.some((x) => x !== 0)) return `torch.zeros([13]) gave [${Array.from(z)}]`;
  } catch (e) {
    return `reading tensors now fails: ${(e as Error).message}`;
  }
  return null;
}
function checkIntegrity(property: string, input: unknown): void {
  const problem = integrityProblem();
  if (problem) {
    corrupted = { property, message: `memory corrupted by this case: ${problem}`, counterexample: show([input]), seed: SEED };
    return;
  }
  const v = ++sentinelCount % 1000;
  sentinels.push({ t: torch.full([5], v, { dtype: 'float32' }), v });
  if (sentinels.length > 48) sentinels.shift();
}

// ---- run -----------------------------------------------------------------------------------

const t0 = performance.now();
for (const p of props) {
  if (ONLY && p.name !== ONLY) continue;
  const runs = Math.max(1, Math.round(p.runs * RUNS * (p.name === 'huge allocations' ? 0.1 : 1)));
  const details = fc.check(
    fc.property(p.arb, (input) => {
      if (corrupted) return;
      stats.cases++;
      noteCase(p.name, input);
      p.body(input as never);
      checkIntegrity(p.name, input);
    }),
    { seed: SEED, numRuns: runs, endOnFailure: false, maxSkipsPerRun: 10 },
  );
  if (details.failed) {
    const err = details.errorInstance;
    failures.push({
      property: p.name,
      message:
        err instanceof Error
          ? err instanceof PropertyFailure
            ? err.message
            : `${err.constructor.name}: ${err.message}\n${err.stack?.split('\n').slice(1, 4).join('\n')}`
          : String(err),
      counterexample: show(details.counterexample),
      seed: details.seed,
      path: details.counterexamplePath ?? undefined,
    });
  }
  console.log(
    `${details.failed ? 'FAIL' : 'ok  '} ${p.name}: ${details.numRuns} runs${details.failed ? ` (shrunk ${details.numShrinks} times)` : ''}`,
  );
  // (assigned inside the property callback, which TypeScript's narrowing cannot see)
  const broken = corrupted as Failure | null;
  if (broken) {
    failures.push(broken);
    console.log(`STOP: ${broken.message} (${broken.property}: ${broken.counterexample})`);
    break;
  }
}
if (lastCaseFd >= 0) closeSync(lastCaseFd);
const summary = { seed: SEED, runsScale: RUNS, ms: Math.round(performance.now() - t0), ...stats, failures };
console.log(JSON.stringify(summary));
