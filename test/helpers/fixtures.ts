// Replays the PyTorch-made fixtures in test/fixtures/ (scripts/make_fixtures.py)
// against Kindling: builds the recorded inputs, applies the recorded views, runs
// the op through a per-family table of lambdas, and compares outputs and
// gradients with PyTorch's.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import * as torch from '../../lib/index.js';

// The tests drive Kindling through its public API only; the fixtures are
// untyped JSON, so the tables work on `any` tensors.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Tensor = any;

export type DTypeName = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'bool';
export type JsonValue = number | boolean | string;

export type ViewSpec =
  | { view: 'transpose'; dims: [number, number] }
  | { view: 'permute'; dims: number[] }
  | { view: 'expand'; size: number[] }
  | { view: 'index'; index: IndexItem[] };

export type IndexItem = number | string | null | number[];

export interface TensorSpec {
  shape: number[];
  dtype: DTypeName;
  data: JsonValue[];
}

export interface InputSpec extends TensorSpec {
  requires_grad: boolean;
  view: ViewSpec[];
}

export type ArgSpec = { ref: number } | { refs: number[] } | number | string | null | boolean | number[];

export interface Case {
  name: string;
  op: string;
  args: ArgSpec[];
  kwargs: Record<string, unknown>;
  inputs: InputSpec[];
  outputs?: TensorSpec[];
  gouts?: (TensorSpec | null)[];
  grads?: (TensorSpec | null)[];
  gradcheck?: boolean;
  /** PyTorch's float64 gradgradcheck passed on this case too. */
  gradgradcheck?: boolean;
  error?: boolean;
  tol?: ToleranceTable;
}

export interface Tolerance {
  rtol: number;
  atol: number;
}
export type ToleranceTable = Partial<Record<'float32' | 'float64', Partial<Tolerance>>>;

export interface Fixture {
  family: string;
  torch_version: string;
  tolerance: ToleranceTable;
  cases: Case[];
}

/** A Kindling call for one op: `args` are resolved (refs are Tensors), `kw` the recorded kwargs. */
export type OpFn = (args: Tensor[], kw: Record<string, Tensor>) => Tensor | Tensor[];
export type OpTable = Record<string, OpFn>;

/**
 * Float tolerances: |actual - expected| <= atol * scale + rtol * |expected|, where
 * scale = max(1, max |expected| over the finite elements of that tensor), so a
 * tensor of large values is not held to an absolute bound meant for values near 1.
 * Ints and bools compare exactly.
 */
export const DEFAULT_TOLERANCE: Record<'float32' | 'float64', Tolerance> = {
  float32: { rtol: 1e-5, atol: 1e-6 },
  float64: { rtol: 1e-10, atol: 1e-12 },
};

export function loadFixture(family: string): Fixture {
  const url = new URL(`../fixtures/ops_${family}.json`, import.meta.url);
  const fx = JSON.parse(readFileSync(url, 'utf8')) as Fixture;
  if (!Array.isArray(fx.cases) || fx.cases.length === 0) {
    throw new Error(`fixture ops_${family}.json has no cases; run scripts/make_fixtures.py`);
  }
  return fx;
}

export function decodeValue(v: JsonValue): number | boolean {
  if (v === 'nan') return NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  if (typeof v === 'string') throw new Error(`fixture: bad value ${JSON.stringify(v)}`);
  return v;
}

function nest(flat: (number | boolean)[], shape: number[]): unknown {
  if (shape.length === 0) return flat[0];
  let pos = 0;
  const build = (d: number): unknown[] => {
    const out: unknown[] = [];
    for (let i = 0; i < shape[d]; i++) out.push(d === shape.length - 1 ? flat[pos++] : build(d + 1));
    return out;
  };
  return build(0);
}

const isFloat = (d: string): boolean => d === 'float32' || d === 'float64';

/** A fresh leaf holding the recorded data (`dtype` overrides the recorded dtype). */
export function makeTensor(spec: TensorSpec, opts: { dtype?: DTypeName; requiresGrad?: boolean } = {}): Tensor {
  const dtype = opts.dtype ?? spec.dtype;
  const o: Record<string, unknown> = { dtype };
  if (opts.requiresGrad) o.requiresGrad = true;
  // Nested arrays cannot say [0, 3] (they read as [0]): an empty tensor is made by shape.
  if (spec.shape.includes(0)) return torch.zeros(spec.shape, o as never);
  return torch.tensor(nest(spec.data.map(decodeValue), spec.shape) as never, o as never);
}

export function applyView(t: Tensor, views: ViewSpec[]): Tensor {
  for (const v of views) {
    switch (v.view) {
      case 'transpose':
        t = t.transpose(v.dims[0], v.dims[1]);
        break;
      case 'permute':
        t = t.permute(...v.dims);
        break;
      case 'expand':
        t = t.expand(...v.size);
        break;
      case 'index':
        t = t.index(...v.index);
        break;
      default:
        throw new Error(`fixture: unknown view ${JSON.stringify(v)}`);
    }
  }
  return t;
}

/**
 * The case's inputs as leaves (what .grad lands on) and as the viewed tensors the
 * op sees. With `float64`, float inputs are made float64 (for gradcheck).
 */
export function buildInputs(c: Case, opts: { float64?: boolean } = {}): { leaves: Tensor[]; refs: Tensor[] } {
  const leaves = c.inputs.map((s) =>
    makeTensor(s, {
      dtype: opts.float64 && isFloat(s.dtype) ? 'float64' : s.dtype,
      requiresGrad: s.requires_grad,
    }),
  );
  const refs = leaves.map((t, i) => applyView(t, c.inputs[i].view));
  return { leaves, refs };
}

export function resolveArgs(args: ArgSpec[], refs: Tensor[]): Tensor[] {
  return args.map((a) => {
    if (a !== null && typeof a === 'object' && !Array.isArray(a)) {
      if ('ref' in a) return refs[a.ref];
      if ('refs' in a) return a.refs.map((i) => refs[i]);
    }
    return a;
  });
}

export function toOutputs(result: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(result) ? result : [result];
}

/** The flat row-major values of a Kindling tensor as numbers (bools as 0/1, int64 via Number). */
export function readValues(t: Tensor): number[] {
  const arr = t.toTypedArray() as ArrayLike<number | bigint | boolean>;
  return Array.from(arr, (v) => Number(v));
}

function unravel(i: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

function toleranceFor(dtype: string, ...tables: (ToleranceTable | undefined)[]): Tolerance | null {
  if (!isFloat(dtype)) return null;
  const key = dtype as 'float32' | 'float64';
  const t: Tolerance = { ...DEFAULT_TOLERANCE[key] };
  for (const table of tables) Object.assign(t, table?.[key] ?? {});
  return t;
}

function close(a: number, e: number, tol: Tolerance | null, scale: number): boolean {
  if (tol === null) return a === e;
  if (Number.isNaN(e)) return Number.isNaN(a);
  if (!Number.isFinite(e)) return a === e;
  if (!Number.isFinite(a)) return false;
  return Math.abs(a - e) <= tol.atol * scale + tol.rtol * Math.abs(e);
}

/**
 * Checks a Kindling tensor against a recorded one: shape, dtype, then every value.
 * `what` names the case and the tensor, e.g. "add_broadcast_3x1_1x4 output[0]".
 */
export function expectTensor(actual: Tensor, expected: TensorSpec, what: string, tolerance?: (ToleranceTable | undefined)[]): void {
  expect(actual, `${what}: got ${String(actual)}, expected a Tensor`).toBeTruthy();
  expect(typeof actual.toTypedArray, `${what}: expected a Tensor, got ${String(actual)}`).toBe('function');
  expect([...actual.shape], `${what}: shape`).toEqual(expected.shape);
  expect(actual.dtype, `${what}: dtype`).toBe(expected.dtype);
  const a = readValues(actual);
  const e = expected.data.map((v) => Number(decodeValue(v)));
  expect(a.length, `${what}: number of elements`).toBe(e.length);
  const tol = toleranceFor(expected.dtype, ...(tolerance ?? []));
  let scale = 1;
  for (const v of e) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  const bad: string[] = [];
  let nBad = 0;
  for (let i = 0; i < e.length; i++) {
    if (!close(a[i], e[i], tol, scale)) {
      nBad++;
      if (bad.length < 5) {
        const at = expected.shape.length ? ` at [${unravel(i, expected.shape).join(', ')}]` : '';
        const diff = tol ? ` (|diff| ${Math.abs(a[i] - e[i]).toExponential(2)})` : '';
        bad.push(`index ${i}${at}: expected ${e[i]}, actual ${a[i]}${diff}`);
      }
    }
  }
  const tolText = tol ? `rtol ${tol.rtol}, atol ${tol.atol} x ${scale.toPrecision(3)}` : 'exact';
  const msg =
    `${what}: ${nBad} of ${e.length} values differ from PyTorch (${tolText}):\n  ` +
    bad.join('\n  ') +
    (nBad > bad.length ? `\n  ... and ${nBad - bad.length} more` : '');
  expect(nBad === 0, msg).toBe(true);
}

/**
 * The op a fixture case runs: the test's own lambda, or else the declared
 * op of that name (lib/ops/op.ts) called as PyTorch was, tensors
 * positionally and PyTorch's keywords (camelCased) in the options object.
 * So a new declared op needs only its fixture entry to be tested.
 */
export function declaredOp(op: string): OpFn | null {
  const name = camel(op);
  const f = (torch as unknown as Record<string, unknown>)[name];
  if (typeof f !== 'function' || !(f as { spec?: unknown }).spec) return null;
  return (args, kw) => {
    const opts: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(kw ?? {})) opts[camel(k)] = v;
    return (f as (...a: unknown[]) => Tensor)(...args, opts);
  };
}

function camel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());
}

function opFor(c: Case, table: OpTable): OpFn {
  const fn = table[c.op] ?? declaredOp(c.op);
  expect(typeof fn, `${c.name}: no Kindling lambda for op '${c.op}' in the test's table, and no declared torch.${camel(c.op)}`).toBe(
    'function',
  );
  return fn!;
}

/**
 * Forward against PyTorch's outputs (or PyTorch's error), then backward with the
 * recorded upstream gradient and every leaf's .grad against PyTorch's.
 */
export function runCase(c: Case, table: OpTable, fx: Pick<Fixture, 'tolerance'>): void {
  const fn = opFor(c, table);
  const tols = [fx.tolerance, c.tol];
  const { leaves, refs } = buildInputs(c);
  const args = resolveArgs(c.args, refs);
  if (c.error) {
    expect(() => fn(args, c.kwargs), `${c.name}: PyTorch raises for this call; Kindling should throw`).toThrow();
    return;
  }
  const outs = toOutputs(fn(args, c.kwargs));
  const expected = c.outputs ?? [];
  expect(outs.length, `${c.name}: number of outputs`).toBe(expected.length);
  outs.forEach((o, k) => expectTensor(o, expected[k], `${c.name} output[${k}]`, tols));

  if (!c.grads || !c.gouts) return;
  const diff = c.gouts.map((g, k) => (g ? k : -1)).filter((k) => k >= 0);
  for (const k of diff) {
    expect(outs[k].requiresGrad, `${c.name} output[${k}].requiresGrad`).toBe(true);
  }
  if (diff.length === 1) {
    outs[diff[0]].backward(makeTensor(c.gouts[diff[0]]!));
  } else {
    // torch.autograd.backward(outs, gouts) == backward of sum_k (out_k * gout_k).sum()
    let loss: Tensor = null;
    for (const k of diff) {
      const term = outs[k].mul(makeTensor(c.gouts[k]!)).sum();
      loss = loss === null ? term : loss.add(term);
    }
    loss.backward();
  }
  c.grads.forEach((g, i) => {
    if (!g) return;
    const grad = leaves[i].grad;
    expect(grad, `${c.name} input[${i}].grad: expected a gradient, got ${String(grad)}`).toBeTruthy();
    expectTensor(grad, g, `${c.name} input[${i}].grad`, tols);
  });
}

/**
 * torch.autograd.gradcheck on float64 versions of the case's inputs, one output at
 * a time (ops such as chunk and max(dim) return several). PyTorch's own gradcheck
 * passed on the same inputs when the fixture was made; where PyTorch's
 * gradgradcheck passed as well, Kindling's second derivative is checked too.
 */
export function runGradcheck(c: Case, table: OpTable): void {
  const fn = opFor(c, table);
  const { leaves } = buildInputs(c, { float64: true });
  const wrt = leaves.filter((_, i) => c.inputs[i].requires_grad);
  expect(wrt.length, `${c.name}: gradcheck needs an input that requires grad`).toBeGreaterThan(0);
  const gouts = c.gouts ?? [];
  const outIdx = gouts.map((g, k) => (g ? k : -1)).filter((k) => k >= 0);
  expect(outIdx.length, `${c.name}: gradcheck needs a differentiable output`).toBeGreaterThan(0);
  for (const k of outIdx) {
    const f = (...xs: Tensor[]): Tensor => {
      let j = 0;
      const full = leaves.map((l, i) => (c.inputs[i].requires_grad ? xs[j++] : l));
      const refs = full.map((t, i) => applyView(t, c.inputs[i].view));
      return toOutputs(fn(resolveArgs(c.args, refs), c.kwargs))[k];
    };
    let ok: unknown;
    try {
      ok = torch.autograd.gradcheck(f, wrt);
    } catch (err) {
      throw new Error(`${c.name} output[${k}]: gradcheck failed: ${(err as Error).message}`);
    }
    expect(ok, `${c.name} output[${k}]: gradcheck`).toBe(true);
    if (!c.gradgradcheck) continue;
    try {
      ok = torch.autograd.gradgradcheck(f, wrt);
    } catch (err) {
      throw new Error(`${c.name} output[${k}]: gradgradcheck failed: ${(err as Error).message}`);
    }
    expect(ok, `${c.name} output[${k}]: gradgradcheck`).toBe(true);
  }
}

/** Picks the present keys of `kw` into an options object, or undefined if none is. */
export function pick(kw: Record<string, unknown>, ...keys: string[]): Record<string, unknown> | undefined {
  const o: Record<string, unknown> = {};
  for (const k of keys) if (k in kw) o[k] = kw[k];
  return Object.keys(o).length ? o : undefined;
}

/** Calls `f(...args)` or `f(...args, opts)` when there are options. */
export function withOpts<R>(f: (...a: Tensor[]) => R, args: unknown[], opts: Record<string, unknown> | undefined): R {
  return opts ? f(...args, opts) : f(...args);
}
