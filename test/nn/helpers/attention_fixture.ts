// Replays the module cases of test/fixtures/nn_attention.json (made by
// scripts/make_attention_fixtures.py): builds the layer as Kindling's
// constructor call, loads PyTorch's state dict, runs forward with the
// recorded inputs and masks, and compares the printed form, state-dict keys,
// parameter names, outputs, input gradients and parameter gradients.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import * as torch from '../../../lib/index.js';
import * as nn from '../../../lib/nn/index.js';
import type { Tensor } from '../../../lib/tensor.js';
import { expectTensor, makeTensor, type TensorSpec, type ToleranceTable } from '../../helpers/fixtures.js';

export interface ModuleCase {
  name: string;
  layer: string;
  args: unknown[];
  opts: Record<string, unknown>;
  train: boolean;
  repr: string;
  state_keys: string[];
  param_names: string[];
  state: Record<string, TensorSpec>;
  inputs: (TensorSpec & { requires_grad: boolean })[];
  call: { args?: unknown[]; opts?: Record<string, unknown> };
  outputs: (TensorSpec | null)[];
  gouts: (TensorSpec | null)[];
  input_grads: (TensorSpec | null)[];
  param_grads: Record<string, TensorSpec>;
  tol?: ToleranceTable;
}

export interface SdpaCase {
  name: string;
  inputs: (TensorSpec & { requires_grad: boolean })[];
  kwargs: Record<string, unknown>;
  output: TensorSpec;
  gout: TensorSpec;
  grads: (TensorSpec | null)[];
}

export interface AttentionFixture {
  torch_version: string;
  tolerance: ToleranceTable;
  sdpa: SdpaCase[];
  modules: ModuleCase[];
  square_mask: TensorSpec;
}

export const fx = JSON.parse(readFileSync(new URL('../../fixtures/nn_attention.json', import.meta.url), 'utf8')) as AttentionFixture;

type Ctor = new (...a: unknown[]) => nn.Module;

/** Fixture constructor values: {"module": ...} is a module to build; the activation 'tanh_function' is torch.tanh's counterpart. */
function decode(v: unknown): unknown {
  if (v === 'tanh_function') return (x: Tensor) => x.tanh();
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && 'module' in v) {
    const spec = v as { module: string; args: unknown[]; opts: Record<string, unknown> };
    return construct(spec.module, spec.args, spec.opts);
  }
  return v;
}

function construct(layer: string, args: unknown[], opts: Record<string, unknown>): nn.Module {
  const Cls = (nn as unknown as Record<string, Ctor>)[layer];
  expect(typeof Cls, `nn.${layer} exists`).toBe('function');
  const a = args.map(decode);
  const o = Object.fromEntries(Object.entries(opts).map(([k, v]) => [k, decode(v)]));
  return Object.keys(o).length ? new Cls(...a, o) : new Cls(...a);
}

/** The case's layer with PyTorch's state loaded and the recorded mode set. */
export function buildLayer(c: ModuleCase): nn.Module {
  const m = construct(c.layer, c.args, c.opts);
  const state: Record<string, Tensor> = {};
  for (const [k, spec] of Object.entries(c.state)) state[k] = makeTensor(spec);
  m.loadStateDict(state);
  m.train(c.train);
  return m;
}

function resolve(v: unknown, leaves: Tensor[]): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && 'ref' in v) return leaves[(v as { ref: number }).ref];
  return v;
}

/** Runs forward as the case records it; the same ref twice is the same Tensor (self-attention). */
export function callLayer(m: nn.Module, c: ModuleCase, leaves: Tensor[]): (Tensor | null)[] {
  const args = (c.call.args ?? []).map((v) => resolve(v, leaves));
  const optEntries = Object.entries(c.call.opts ?? {});
  const call = m as unknown as (...a: unknown[]) => unknown;
  const out = optEntries.length ? call(...args, Object.fromEntries(optEntries.map(([k, v]) => [k, resolve(v, leaves)]))) : call(...args);
  return Array.isArray(out) ? (out as (Tensor | null)[]) : [out as Tensor];
}

/** Everything a module case records, checked. */
export function runModuleCase(c: ModuleCase): void {
  const tols = [fx.tolerance, c.tol];
  const m = buildLayer(c);
  expect(m.toString(), `${c.name}: repr`).toBe(c.repr);
  expect(Object.keys(m.stateDict()), `${c.name}: state-dict keys`).toEqual(c.state_keys);
  expect(
    m.namedParameters().map(([n]) => n),
    `${c.name}: parameter names`,
  ).toEqual(c.param_names);
  const leaves = c.inputs.map((s) => makeTensor(s, { requiresGrad: s.requires_grad }));
  const outs = callLayer(m, c, leaves);
  expect(outs.length, `${c.name}: number of outputs`).toBe(c.outputs.length);
  let loss: Tensor | null = null;
  outs.forEach((o, k) => {
    const want = c.outputs[k];
    if (want === null) {
      expect(o, `${c.name} output[${k}]`).toBeNull();
      return;
    }
    expectTensor(o, want, `${c.name} output[${k}]`, tols);
    const g = c.gouts[k];
    if (g !== null) {
      const term = o!.mul(makeTensor(g)).sum();
      loss = loss === null ? term : loss.add(term);
    }
  });
  expect(loss, `${c.name}: a differentiable output`).not.toBeNull();
  (loss as unknown as Tensor).backward();
  c.input_grads.forEach((g, i) => {
    if (g === null) {
      expect(leaves[i].grad, `${c.name} input[${i}].grad`).toBeNull();
      return;
    }
    expectTensor(leaves[i].grad, g, `${c.name} input[${i}].grad`, tols);
  });
  const params = new Map(m.namedParameters());
  for (const [name, g] of Object.entries(c.param_grads)) {
    expectTensor(params.get(name)!.grad, g, `${c.name} ${name}.grad`, tols);
  }
  for (const [name, p] of params) {
    if (!(name in c.param_grads)) expect(p.grad, `${c.name} ${name}.grad (PyTorch gives none)`).toBeNull();
  }
}

/** The module cases whose layer is one of `layers`. */
export function casesOf(...layers: string[]): ModuleCase[] {
  return fx.modules.filter((c) => layers.includes(c.layer));
}

/** A float64 copy of a tensor from a fixture spec, as a gradcheck input. */
export function float64(spec: TensorSpec, requiresGrad = true): Tensor {
  return makeTensor(spec, { dtype: 'float64', requiresGrad });
}

export { torch, nn };
