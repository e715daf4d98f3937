// The module system against PyTorch (test/fixtures/module_system.json, made by
// `scripts/make_module_fixtures.py system`): container state-dict keys and
// named_modules lists, nn.utils (clip_grad_norm_, clip_grad_value_,
// parameters_to_vector), and what full backward hooks see and change.
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import { isOptions } from '../../lib/util/args.js';
import { expectTensor, makeTensor, type TensorSpec } from '../helpers/fixtures.js';
import type { Tensor } from '../../lib/tensor.js';

interface HookCall {
  grad_input: (TensorSpec | null)[];
  grad_output: (TensorSpec | null)[];
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/module_system.json', import.meta.url), 'utf8')) as {
  keys: Record<string, string[]> & { state: Record<string, TensorSpec>; vector: TensorSpec };
  clip_grad_norm: {
    name: string;
    norm_type: number | 'inf';
    max_norm: number;
    grads: TensorSpec[];
    total: TensorSpec;
    clipped: TensorSpec[];
  }[];
  clip_grad_value: { clip_value: number; grads: TensorSpec[]; clipped: TensorSpec[] };
  hooks: {
    name: string;
    replace: number | null;
    state: Record<string, TensorSpec>;
    inputs: ((TensorSpec & { requires_grad: boolean }) | number)[];
    gouts: TensorSpec[];
    calls: HookCall[];
    input_grads: (TensorSpec | null)[];
    param_grads: Record<string, TensorSpec>;
  }[];
};

const stateOf = (spec: Record<string, TensorSpec>) => Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, makeTensor(v)]));

// The model of scripts/make_module_fixtures.py's SysNet.
class SysNet extends nn.Module {
  features = new nn.Sequential(
    new Map<string, nn.Module>([
      ['conv', new nn.Conv2d(1, 2, 3)],
      ['bn', new nn.BatchNorm2d(2)],
      ['act', new nn.ReLU()],
    ]),
  );
  heads = new nn.ModuleDict({
    cls: new nn.Linear(4, 3),
    box: new nn.Sequential(new nn.Linear(4, 4), new nn.ReLU(), new nn.Linear(4, 2)),
  });
  scales = new nn.ParameterList([torch.randn(2), torch.randn(3)]);
  extra = new nn.ParameterDict({ beta: torch.randn(1), alpha: torch.randn(1) });
  blocks = new nn.ModuleList([new nn.Linear(4, 4), new nn.Linear(4, 4)]);
  declare step: Tensor;
  constructor() {
    super();
    this.blocks.append(this.heads.get('cls'));
    this.registerBuffer('step', torch.zeros([]));
  }
  forward(x: Tensor): Tensor {
    return x;
  }
}

class Mix extends nn.Module {
  lin = new nn.Linear(3, 2);
  forward(a: Tensor, scale: number, b: Tensor): Tensor {
    return this.lin(a).mul(scale).add(b);
  }
}

class Split extends nn.Module {
  lin = new nn.Linear(3, 2);
  forward(x: Tensor): [Tensor, Tensor] {
    return [this.lin(x), x.mul(x).sum(1)];
  }
}

const names = (pairs: [string, unknown][]) => pairs.map(([n]) => n);

describe('container keys and traversal, against PyTorch', () => {
  const k = fx.keys;
  const net = new SysNet();
  net.loadStateDict(stateOf(k.state));

  it('state-dict keys of nested Sequential (named), ModuleDict, ParameterList, ParameterDict, ModuleList', () => {
    expect(Object.keys(net.stateDict())).toEqual(k.state_keys);
  });

  it('namedModules: the module itself as "", each module once, removeDuplicate and prefix', () => {
    expect(names(net.namedModules())).toEqual(k.named_modules);
    expect(names(net.namedModules({ removeDuplicate: false }))).toEqual(k.named_modules_dup);
    expect(names(net.namedModules(null, '', false))).toEqual(k.named_modules_dup);
    expect(names(net.namedModules({ prefix: 'model' }))).toEqual(k.named_modules_prefix);
    expect(names(net.namedModules(undefined, 'model'))).toEqual(k.named_modules_prefix);
  });

  it('namedModules fills and honours memo', () => {
    const memo = new Set<nn.Module>([net.heads]);
    const got = names(net.namedModules({ memo }));
    // heads.cls is skipped under heads but met again as blocks.2.
    expect(got).toEqual([...k.named_modules.filter((n) => !n.startsWith('heads')), 'blocks.2']);
    expect(memo.has(net.features.get(0))).toBe(true);
    expect(memo.has(net)).toBe(true);
    expect(net.namedModules({ memo })).toEqual([]);
  });

  it('namedParameters, namedBuffers, namedChildren', () => {
    expect(names(net.namedParameters())).toEqual(k.named_parameters);
    expect(names(net.namedParameters('m', false))).toEqual(k.named_parameters_prefix_norecurse);
    expect(names(net.namedBuffers())).toEqual(k.named_buffers);
    expect(net.buffers()[0]).toBe(net.step);
    expect(names(net.namedChildren())).toEqual(k.named_children);
    expect(net.children()[1]).toBe(net.heads);
  });

  it('slices keep (Sequential) or renumber (ModuleList) names; delete renumbers', () => {
    expect(Object.keys(net.features.slice(1).stateDict())).toEqual(k.features_slice_keys);
    expect(Object.keys(net.blocks.slice(1).stateDict())).toEqual(k.blocks_slice_keys);
    const f = new nn.Sequential(new Map([...net.features._items]));
    f.delete(0);
    expect(Object.keys(f.stateDict())).toEqual(k.features_after_del_keys);
  });

  it('parametersToVector joins the parameters in order', () => {
    const v = nn.utils.parametersToVector(net.parameters());
    expectTensor(v, k.vector, 'vector');
  });
});

describe('nn.utils.clipGradNorm_ against PyTorch', () => {
  for (const c of fx.clip_grad_norm) {
    it(c.name, () => {
      const dtype = c.grads[0].dtype as 'float32' | 'float64';
      const ps = c.grads.map((g) => torch.zeros(g.shape, { dtype, requiresGrad: true }));
      ps.forEach((p, i) => (p.grad = makeTensor(c.grads[i])));
      ps.push(torch.zeros([2], { dtype, requiresGrad: true })); // no grad: skipped
      const normType = c.norm_type === 'inf' ? Infinity : c.norm_type;
      const total = nn.utils.clipGradNorm_(ps, c.max_norm, normType);
      expectTensor(total, c.total, 'total norm');
      ps.slice(0, 3).forEach((p, i) => expectTensor(p.grad!, c.clipped[i], `grad ${i}`));
      expect(ps[3].grad).toBeNull();
    });
  }

  it('the options form, a single tensor, a generator and norm "inf"', () => {
    const c = fx.clip_grad_norm.find((x) => x.name === 'inf')!;
    const ps = c.grads.map((g) => torch.zeros(g.shape, { requiresGrad: true }));
    ps.forEach((p, i) => (p.grad = makeTensor(c.grads[i])));
    function* gen() {
      yield* ps;
    }
    expectTensor(nn.utils.clipGradNorm_(gen(), { maxNorm: c.max_norm, normType: Infinity }), c.total, 'total');
    ps.forEach((p, i) => expectTensor(p.grad!, c.clipped[i], `grad ${i}`));
    const one = torch.zeros([2], { requiresGrad: true });
    one.grad = torch.tensor([3, 4], { dtype: 'float32' });
    expect(nn.utils.clipGradNorm_(one, 1, { normType: 'inf' as never }).item()).toBe(4);
    expect((one.grad!.tolist() as number[])[1]).toBeCloseTo(1, 5);
  });

  it('no gradients: returns tensor(0.) and changes nothing', () => {
    const t = nn.utils.clipGradNorm_([torch.zeros([2], { requiresGrad: true })], 1);
    expect(t.shape).toEqual([]);
    expect(t.dtype).toBe('float32');
    expect(t.item()).toBe(0);
  });

  it('errorIfNonfinite', () => {
    const p = torch.zeros([2], { requiresGrad: true });
    p.grad = torch.tensor([NaN, 1], { dtype: 'float32' });
    expect(() => nn.utils.clipGradNorm_([p], 1, { errorIfNonfinite: true })).toThrow(
      /clipGradNorm_: the total norm of order 2 .* non-finite/,
    );
    p.grad = torch.tensor([Infinity, 1], { dtype: 'float32' });
    expect(() => nn.utils.clipGradNorm_([p], 1, 2, true)).toThrow(/non-finite/);
    // Off (the default): the gradients are scaled by the non-finite norm, as in PyTorch.
    expect(nn.utils.clipGradNorm_([p], 1).item()).toBe(Infinity);
  });

  it('bad arguments', () => {
    const p = torch.zeros([2], { requiresGrad: true });
    expect(() => nn.utils.clipGradNorm_([p], 'x' as never)).toThrow(/clipGradNorm_: maxNorm must be a number/);
    expect(() => nn.utils.clipGradNorm_([p], 1, { norm: 2 } as never)).toThrow(/clipGradNorm_: unknown option 'norm'.*normType/);
    expect(() => nn.utils.clipGradNorm_(5 as never, 1)).toThrow(/clipGradNorm_: parameters must be a Tensor or an iterable/);
    expect(() => nn.utils.clipGradNorm_([p, 3] as never, 1)).toThrow(/must hold Tensors, got 3 at position 1/);
    expect(() => nn.utils.clipGradNorm_([p], 1, { errorIfNonfinite: 1 } as never)).toThrow(/errorIfNonfinite must be a boolean/);
  });
});

describe('nn.utils.clipGradValue_', () => {
  it('clamps against PyTorch, skipping parameters without a gradient', () => {
    const c = fx.clip_grad_value;
    const ps = c.grads.map((g) => torch.zeros(g.shape, { requiresGrad: true }));
    ps.forEach((p, i) => (p.grad = makeTensor(c.grads[i])));
    const none = torch.zeros([2], { requiresGrad: true });
    expect(nn.utils.clipGradValue_([...ps, none], c.clip_value)).toBeUndefined();
    ps.forEach((p, i) => expectTensor(p.grad!, c.clipped[i], `grad ${i}`));
    expect(none.grad).toBeNull();
    nn.utils.clipGradValue_(ps[0], { clipValue: 0.1 });
    expect(ps[0].grad!.abs().max().item()).toBeLessThanOrEqual(0.1 + 1e-7);
    expect(() => nn.utils.clipGradValue_(ps, { clipvalue: 1 } as never)).toThrow(/unknown option 'clipvalue'/);
  });
});

describe('nn.utils.parametersToVector / vectorToParameters', () => {
  it('round trip; the vector is differentiable; the parameters then share its memory', () => {
    const m = new nn.Sequential(new nn.Linear(2, 3), new nn.Linear(3, 1));
    const v = nn.utils.parametersToVector(m.parameters());
    expect(v.shape).toEqual([13]);
    expect(v.gradFn).not.toBeNull();
    v.mul(torch.arange(13).float()).sum().backward();
    expect((m.get(0) as nn.Linear).weight.grad!.view(-1).tolist()).toEqual([0, 1, 2, 3, 4, 5]);
    const w = torch.arange(14).float();
    const params = m.parameters();
    nn.utils.vectorToParameters(w, params);
    expect(m.parameters()[0]).toBe(params[0]);
    expect((m.get(1) as nn.Linear).bias!.tolist()).toEqual([12]);
    expect((m.get(0) as nn.Linear).weight.tolist()).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    expect(params[0].requiresGrad).toBe(true);
    w.fill_(-1);
    expect(params[3].tolist()).toEqual([-1]);
  });

  it('errors', () => {
    const ps = new nn.Linear(2, 2).parameters();
    expect(() => nn.utils.vectorToParameters([1, 2] as never, ps)).toThrow(/vectorToParameters: expected a Tensor for vec/);
    expect(() => nn.utils.vectorToParameters(torch.zeros(5), ps)).toThrow(/vec has 5 elements but the parameters need 6/);
    expect(() => nn.utils.vectorToParameters(torch.zeros(2, 3), ps)).toThrow(/vec must be 1-D/);
    expect(() => nn.utils.parametersToVector(torch.zeros(3) as never)).toThrow(
      /parametersToVector: parameters must be an iterable of Tensors, got a Tensor/,
    );
    expect(() => nn.utils.parametersToVector([])).toThrow(/non-empty/);
  });
});

describe('full backward hooks against PyTorch', () => {
  const make: Record<string, () => nn.Module> = {
    linear: () => new nn.Linear(3, 2),
    linear_replace: () => new nn.Linear(3, 2),
    linear_input_no_grad: () => new nn.Linear(3, 2),
    mix: () => new Mix(),
    mix_b_no_grad: () => new Mix(),
    mix_replace: () => new Mix(),
    split: () => new Split(),
  };
  for (const c of fx.hooks) {
    it(c.name, () => {
      const m = make[c.name]();
      m.loadStateDict(stateOf(c.state));
      const calls: { gin: (Tensor | null)[]; gout: (Tensor | null)[] }[] = [];
      m.registerFullBackwardHook((mod, gin, gout) => {
        expect(mod).toBe(m);
        calls.push({ gin, gout });
        if (c.replace !== null) return gin.map((g) => (g === null ? null : g.mul(c.replace!)));
      });
      const xs = c.inputs.map((x) => (typeof x === 'number' ? x : makeTensor(x, { requiresGrad: x.requires_grad })));
      const out = m(...xs) as Tensor | Tensor[];
      const outs = Array.isArray(out) ? out : [out];
      torch.autograd.backward(
        outs,
        c.gouts.map((g) => makeTensor(g)),
      );
      expect(calls.length).toBe(c.calls.length);
      calls.forEach((call, i) => {
        const want = c.calls[i];
        expect(call.gin.length).toBe(want.grad_input.length);
        want.grad_input.forEach((g, j) => (g === null ? expect(call.gin[j]).toBeNull() : expectTensor(call.gin[j], g, `grad_input ${j}`)));
        expect(call.gout.length).toBe(want.grad_output.length);
        want.grad_output.forEach((g, j) =>
          g === null ? expect(call.gout[j]).toBeNull() : expectTensor(call.gout[j], g, `grad_output ${j}`),
        );
      });
      c.input_grads.forEach((g, j) => {
        const x = xs[j];
        if (g === null) expect(typeof x === 'number' || (x as Tensor).grad === null).toBe(true);
        else expectTensor((x as Tensor).grad!, g, `input ${j} grad`);
      });
      for (const [n, g] of Object.entries(c.param_grads)) expectTensor(m.getParameter(n).grad!, g, `${n} grad`);
    });
  }
});

describe('full backward hooks: behaviour', () => {
  it('runs in registration order, chaining replacements; remove() stops it; not called without backward', () => {
    const lin = new nn.Linear(2, 2);
    const order: string[] = [];
    const h1 = lin.registerFullBackwardHook((_m, gin) => {
      order.push('a');
      return [gin[0]!.mul(2)];
    });
    lin.registerFullBackwardHook((_m, gin) => {
      order.push('b');
      return [gin[0]!.mul(5)];
    });
    const x = torch.ones([1, 2], { requiresGrad: true });
    const plain = torch.ones([1, 2], { requiresGrad: true });
    lin.forward(plain).sum().backward(); // forward() bypasses hooks
    expect(order).toEqual([]);
    lin(x).sum().backward();
    expect(order).toEqual(['a', 'b']);
    expect(x.grad!.sub(plain.grad!.mul(10)).abs().max().item()).toBeLessThan(1e-5);
    h1.remove();
    h1.remove();
    x.grad = null;
    lin(x).sum().backward();
    expect(order).toEqual(['a', 'b', 'b']);
    expect(x.grad!.sub(plain.grad!.mul(5)).abs().max().item()).toBeLessThan(1e-5);
  });

  it('under noGrad nothing is wrapped; with no input requiring grad the hook sees null gradInput', () => {
    const lin = new nn.Linear(2, 2);
    let calls = 0;
    let seen: (Tensor | null)[] = [];
    lin.registerFullBackwardHook((_m, gin) => {
      calls++;
      seen = gin;
    });
    const y = torch.noGrad(() => lin(torch.ones(1, 2)));
    expect(y.gradFn).toBeNull();
    lin(torch.ones(1, 2)).sum().backward();
    expect(calls).toBe(1);
    expect(seen).toEqual([null]);
    const bad = new nn.Linear(2, 2);
    bad.registerFullBackwardHook(() => [torch.ones(1, 2)]);
    expect(() => bad(torch.ones(1, 2)).sum().backward()).toThrow(/no input requires gradient must return nothing/);
  });

  it('a wrong number of gradients or a wrong shape is an error', () => {
    const lin = new nn.Linear(2, 2);
    const x = torch.ones([1, 2], { requiresGrad: true });
    const h = lin.registerFullBackwardHook((_m, gin) => [gin[0], gin[0]]);
    expect(() => lin(x).sum().backward()).toThrow(
      /backward hook of Linear returned an invalid number of grad_input, got 2, but expected 1/,
    );
    h.remove();
    lin.registerFullBackwardHook(() => [torch.ones(3)]);
    expect(() => lin(x).sum().backward()).toThrow(/backward hook: gradient 0 has shape \[3\] but the tensor has shape \[1, 2\]/);
  });

  it('a module that returns its input: one call, gradInput is gradOutput, the node is named as PyTorch names it', () => {
    const id = new nn.Identity();
    const seen: (Tensor | null)[][] = [];
    id.registerFullBackwardHook((_m, gin, gout) => {
      seen.push([gin[0], gout[0]]);
    });
    const x = torch.tensor([1, 2], { requiresGrad: true });
    const y = id(x);
    expect(y.gradFn!.name).toBe('BackwardHookFunctionBackward');
    y.mul(torch.tensor([3, 4]))
      .sum()
      .backward();
    expect(seen.length).toBe(1);
    expect(seen[0][0]!.tolist()).toEqual([3, 4]);
    expect(seen[0][1]!.tolist()).toEqual([3, 4]);
    expect(x.grad!.tolist()).toEqual([3, 4]);
  });

  it('double backward through a hooked module still works', () => {
    const m = new nn.Tanh();
    let calls = 0;
    m.registerFullBackwardHook(() => {
      calls++;
    });
    const x = torch.tensor([0.3, -0.2], { dtype: 'float64', requiresGrad: true });
    const [g] = torch.autograd.grad(m(x).sum(), x, { createGraph: true });
    const [gg] = torch.autograd.grad(g!.sum(), x);
    const t = x.detach().tanh();
    const want = t.mul(-2).mul(t.square().neg().add(1));
    expect(gg!.sub(want).abs().max().item()).toBeLessThan(1e-12);
    expect(calls).toBe(1);
  });
});

describe('forward hooks and pre-hooks', () => {
  it('run in order around forward; return values replace inputs and output; remove()', () => {
    const lin = new nn.Linear(2, 2);
    const log: string[] = [];
    const x = torch.ones(1, 2);
    const p1 = lin.registerForwardPreHook((m, inputs) => {
      expect(m).toBe(lin);
      log.push('pre1');
      return [inputs[0].mul(2)];
    });
    lin.registerForwardPreHook((_m, inputs) => {
      log.push('pre2');
      return inputs[0].mul(3); // a single value is the one input
    });
    let seenInput: Tensor | null = null;
    const f1 = lin.registerForwardHook((_m, inputs, out: Tensor) => {
      log.push('fwd1');
      seenInput = inputs[0];
      return out.add(100);
    });
    lin.registerForwardHook(() => {
      log.push('fwd2');
    });
    const y = lin(x) as Tensor;
    expect(log).toEqual(['pre1', 'pre2', 'fwd1', 'fwd2']);
    expect(seenInput!.tolist()).toEqual([[6, 6]]);
    expect(
      y
        .sub(lin.forward(x.mul(6)).add(100))
        .abs()
        .max()
        .item(),
    ).toBe(0);
    p1.remove();
    f1.remove();
    log.length = 0;
    expect((lin(x) as Tensor).tolist()).toEqual(lin.forward(x.mul(3)).tolist());
    expect(log).toEqual(['pre2', 'fwd2']);
  });

  it('children of a Sequential are called with their hooks; call() is model(x)', () => {
    const a = new nn.Linear(2, 2);
    const seq = new nn.Sequential(a, new nn.ReLU());
    const seen: string[] = [];
    a.registerForwardHook((m) => {
      seen.push(m.constructor.name);
    });
    seq(torch.ones(1, 2));
    seq.call(torch.ones(1, 2));
    seq.forward(torch.ones(1, 2));
    expect(seen).toEqual(['Linear', 'Linear', 'Linear']);
    seq.registerForwardHook(() => {
      seen.push('seq');
    });
    seq.call(torch.ones(1, 2));
    expect(seen.slice(3)).toEqual(['Linear', 'seq']);
  });

  it('a hook must be a function', () => {
    const lin = new nn.Linear(2, 2);
    expect(() => lin.registerForwardHook(3 as never)).toThrow(/registerForwardHook: hook must be a function, got 3/);
    expect(() => lin.registerForwardPreHook(null as never)).toThrow(/registerForwardPreHook: hook must be a function/);
    expect(() => lin.registerFullBackwardHook({} as never)).toThrow(/registerFullBackwardHook: hook must be a function/);
  });
});

describe('callable modules', () => {
  class Named extends nn.Module {
    name = 'mine';
    length = 7;
    fc = new nn.Linear(2, 1);
    forward(x: Tensor): Tensor {
      return this.fc(x);
    }
  }

  it('model(x) is model.forward(x), typed from forward', () => {
    const m = new Named();
    const x = torch.randn(3, 2);
    const y: Tensor = m(x);
    expect(y.equal(m.forward(x))).toBe(true);
    expect(y.gradFn).not.toBeNull();
  });

  it('fields named name and length, instanceof, printing, keys', () => {
    const m = new Named();
    expect(m.name).toBe('mine');
    expect(m.length).toBe(7);
    expect(m).toBeInstanceOf(Named);
    expect(m).toBeInstanceOf(nn.Module);
    expect(typeof m).toBe('function');
    expect(Object.keys(m)).toEqual(['training', 'name', 'length', 'fc']);
    expect(String(m)).toBe('Named(\n  (fc): Linear(in_features=2, out_features=1, bias=True)\n)');
    expect(inspect(m)).toBe(String(m));
    expect(`${new nn.ReLU()}`).toBe('ReLU()');
    expect(Object.keys(m.stateDict())).toEqual(['fc.weight', 'fc.bias']);
  });

  it('is not mistaken for an options object, and works where a function is taken', () => {
    const relu = new nn.ReLU();
    expect(isOptions(relu)).toBe(false);
    const wrapped = new nn.Lambda(relu);
    expect((wrapped(torch.tensor([-1, 2])) as Tensor).tolist()).toEqual([0, 2]);
    expect([torch.tensor([-3, 3])].map(relu)[0].tolist()).toEqual([0, 3]);
  });

  it('an optimizer trains a model called as model(x)', () => {
    torch.manualSeed(0);
    const m = new nn.Sequential(new nn.Linear(2, 8), new nn.Tanh(), new nn.Linear(8, 1));
    const opt = new torch.optim.SGD(m.parameters(), { lr: 0.1 });
    const x = torch.randn(16, 2);
    const t = x.sum(1, { keepdim: true });
    const loss = () => nn.functional.mseLoss(m(x) as Tensor, t);
    const first = loss().item();
    for (let i = 0; i < 20; i++) {
      opt.zeroGrad();
      loss().backward();
      opt.step();
    }
    expect(loss().item()).toBeLessThan(first / 2);
  });
});

describe('Sequential and ModuleList indexing', () => {
  it('seq[i], seq[-1], at, get, set through seq[i] = m, length, iteration', () => {
    const a = new nn.Linear(1, 1),
      b = new nn.ReLU(),
      c = new nn.Tanh();
    const seq = new nn.Sequential(a, b);
    expect(seq[0]).toBe(a);
    expect(seq[-1]).toBe(b);
    expect(seq.at(-2)).toBe(a);
    seq.append(c);
    expect(seq[2]).toBe(c);
    expect(seq[-1]).toBe(c);
    expect(seq.length).toBe(3);
    seq[1] = new nn.Sigmoid();
    expect(seq.get(1)).toBeInstanceOf(nn.Sigmoid);
    expect([...seq].length).toBe(3);
    seq.pop();
    expect(seq[2]).toBeUndefined();
    expect(seq[-1]).toBe(seq.get(1));
    expect(Object.keys(seq)).toEqual(['training']);
    seq.insert(0, c);
    expect(names(seq.namedChildren())).toEqual(['0', '1', '2']);
    expect(seq[0]).toBe(c);
    seq.extend(seq);
    expect(seq.length).toBe(6);
  });

  it('slice and ModuleList indexing', () => {
    const l = new nn.ModuleList([new nn.Linear(1, 1), new nn.ReLU(), new nn.Tanh()]);
    expect(l[1]).toBeInstanceOf(nn.ReLU);
    expect(l[-1]).toBeInstanceOf(nn.Tanh);
    expect(l.slice(-2).length).toBe(2);
    expect(l.slice(-2)[0]).toBe(l[1]);
    const s = new nn.Sequential(new nn.Linear(1, 2), new nn.ReLU(), new nn.Linear(2, 1));
    expect(names(s.slice(1, 3).namedChildren())).toEqual(['1', '2']);
    expect(names(s.slice(-1).namedChildren())).toEqual(['2']);
  });

  it('errors name the container and the index', () => {
    const seq = new nn.Sequential(new nn.ReLU());
    expect(() => seq.get(1)).toThrow(/Sequential\.get: index 1 is out of range for a container of length 1/);
    expect(() => seq.at(-2)).toThrow(/Sequential\.at: index -2 is out of range/);
    expect(() => seq.get(0.5)).toThrow(/Sequential\.get: index must be an integer, got 0\.5/);
    expect(() => (seq[0] = 3 as never)).toThrow(/Sequential\.set: the value is not a Module subclass/);
    expect(() => seq.slice('a' as never)).toThrow(/Sequential\.slice: start must be an integer/);
    expect(() => seq.delete(4)).toThrow(/Sequential\.delete: index 4 is out of range/);
    expect(() => seq.insert(3, new nn.ReLU())).toThrow(/Sequential\.insert: index 3 is out of range/);
    expect(new nn.ModuleList([new nn.ReLU()]).insert(9, new nn.Tanh())[1]).toBeInstanceOf(nn.Tanh);
    expect(() => seq.extend(5 as never)).toThrow(/Sequential\.extend: expected an iterable of Modules/);
    expect(() => new nn.ModuleList().pop()).toThrow(/ModuleList\.pop: index -1 is out of range/);
  });
});

describe('ModuleDict', () => {
  it('get/set/has/delete/pop/keys/values/items/update, iteration over keys, field access', () => {
    const md = new nn.ModuleDict({ a: new nn.Linear(2, 2), b: new nn.ReLU() });
    expect(md.keys()).toEqual(['a', 'b']);
    expect(md.length).toBe(2);
    expect(md.get('b')).toBeInstanceOf(nn.ReLU);
    expect((md as unknown as { a: nn.Module }).a).toBe(md.get('a'));
    md.set('c', new nn.Tanh());
    md.set('a', new nn.Linear(2, 3));
    expect(md.keys()).toEqual(['a', 'b', 'c']);
    expect(Object.keys(md.stateDict())).toEqual(['a.weight', 'a.bias']);
    expect([...md]).toEqual(['a', 'b', 'c']);
    expect(md.values()[2]).toBeInstanceOf(nn.Tanh);
    expect(md.items()[0][0]).toBe('a');
    expect(md.has('b')).toBe(true);
    md.delete('b');
    expect(md.has('b')).toBe(false);
    expect((md as unknown as { b?: unknown }).b).toBeUndefined();
    md.update(
      new Map<string, nn.Module>([
        ['z', new nn.ReLU()],
        ['y', new nn.ReLU()],
      ]),
    );
    md.update([['x', new nn.ReLU()]]);
    expect(md.keys()).toEqual(['a', 'c', 'z', 'y', 'x']);
    expect(md.pop('z')).toBeInstanceOf(nn.ReLU);
    expect(new nn.ModuleDict(md).keys()).toEqual(['a', 'c', 'y', 'x']);
    expect(new nn.ModuleDict({ modules: { q: new nn.ReLU() } }).keys()).toEqual(['q']);
    md.clear();
    expect(md.length).toBe(0);
    expect(String(new nn.ModuleDict({ r: new nn.ReLU() }))).toBe('ModuleDict(\n  (r): ReLU()\n)');
  });

  it('errors', () => {
    const md = new nn.ModuleDict();
    expect(() => md.get('nope')).toThrow(/ModuleDict\.get: no module under the key "nope"/);
    expect(() => md.set('update', new nn.ReLU())).toThrow(/ModuleDict\.set: attribute 'update' already exists/);
    expect(() => md.set('a.b', new nn.ReLU())).toThrow(/can't contain "\."/);
    expect(() => md.set('', new nn.ReLU())).toThrow(/empty/);
    expect(() => md.set('a', 3 as never)).toThrow(/ModuleDict\.set: the value for "a" is not a Module subclass/);
    expect(() => md.update(7 as never)).toThrow(/ModuleDict\.update: expected a Map, an object or an iterable/);
    expect(() => md.update([['a', new nn.ReLU(), 3]] as never)).toThrow(/element #0 has length 3; 2 is required/);
    expect(() => md.delete('zz')).toThrow(/no module under the key "zz"/);
    expect(() => (md as unknown as { forward(): void }).forward()).toThrow(/ModuleDict has no forward/);
  });
});

describe('ParameterList and ParameterDict', () => {
  it('ParameterList: Tensors become Parameters, keys 0, 1, ..., indexing, append, extend, repr', () => {
    const t = torch.zeros(2);
    const pl = new nn.ParameterList([t, new nn.Parameter(torch.ones(3, { dtype: 'float64' }))]);
    expect(pl[0]).toBeInstanceOf(nn.Parameter);
    expect(pl[0].requiresGrad).toBe(true);
    expect(pl[-1].dtype).toBe('float64');
    pl.append(torch.ones(1));
    pl.extend([torch.ones(4)]);
    expect(pl.length).toBe(4);
    expect(Object.keys(pl.stateDict())).toEqual(['0', '1', '2', '3']);
    expect([...pl].length).toBe(4);
    expect(String(pl.slice(0, 2))).toBe(
      'ParameterList(\n    (0): Parameter containing: [torch.float32 of size 2]\n    (1): Parameter containing: [torch.float64 of size 3]\n)',
    );
    class Owner extends nn.Module {
      ws = new nn.ParameterList([torch.ones(2)]);
      forward(x: Tensor): Tensor {
        return x.mul(this.ws[0]);
      }
    }
    const o = new Owner();
    expect(names(o.namedParameters())).toEqual(['ws.0']);
    o(torch.ones(2)).sum().backward();
    expect(o.ws[0].grad!.tolist()).toEqual([1, 1]);
    expect(() => pl.append([1] as never)).toThrow(/ParameterList\.append: the value must be a Tensor or an nn\.Parameter/);
    expect(() => pl.get(9)).toThrow(/ParameterList\.get: index 9 is out of range/);
    expect(() => new nn.ParameterList([torch.tensor([1, 2])])).toThrow(/floating point/);
  });

  it('ParameterDict: a plain object sorted by key (as PyTorch sorts a dict), a Map in order, repr', () => {
    const pd = new nn.ParameterDict({ b: torch.zeros(2), a: torch.ones(1) });
    expect(pd.keys()).toEqual(['a', 'b']);
    expect(Object.keys(pd.stateDict())).toEqual(['a', 'b']);
    expect(pd.get('a')).toBeInstanceOf(nn.Parameter);
    expect((pd as unknown as { b: Tensor }).b).toBe(pd.get('b'));
    pd.update(
      new Map([
        ['z', torch.ones(1)],
        ['c', torch.ones(1)],
      ]),
    );
    expect(pd.keys()).toEqual(['a', 'b', 'z', 'c']);
    pd.delete('z');
    expect(String(pd)).toBe(
      'ParameterDict(\n    (a): Parameter containing: [torch.FloatTensor of size 1]\n    (b): Parameter containing: [torch.FloatTensor of size 2]\n    (c): Parameter containing: [torch.FloatTensor of size 1]\n)',
    );
    expect(() => pd.get('q')).toThrow(/ParameterDict\.get: no parameter under the key "q"/);
    expect(() => pd.set('x', 1 as never)).toThrow(/ParameterDict\.set: the value for "x" must be a Tensor/);
  });
});

describe('Module methods: options forms and checks', () => {
  it('requiresGrad_, zeroGrad, parameters, buffers take positional or options arguments', () => {
    const lin = new nn.Linear(2, 2);
    lin.requiresGrad_(false);
    expect(lin.parameters().every((p) => !p.requiresGrad)).toBe(true);
    lin.requiresGrad_({ requiresGrad: true });
    expect(lin.weight.requiresGrad).toBe(true);
    lin(torch.ones(1, 2)).sum().backward();
    lin.zeroGrad(false);
    expect(lin.weight.grad!.abs().sum().item()).toBe(0);
    lin.zeroGrad();
    expect(lin.weight.grad).toBeNull();
    expect(lin.parameters(false).length).toBe(2);
    expect(lin.buffers({ recurse: false })).toEqual([]);
    expect(() => lin.requiresGrad_('no' as never)).toThrow(/requiresGrad_: requiresGrad must be a boolean/);
    expect(() => lin.zeroGrad({ setToNon: true } as never)).toThrow(/zeroGrad: unknown option 'setToNon'.*setToNone/);
    expect(() => lin.namedModules({ prefx: 'a' } as never)).toThrow(/namedModules: unknown option 'prefx'/);
    expect(() => lin.namedParameters(3 as never)).toThrow(/namedParameters: prefix must be a string/);
    expect(() => lin.namedModules([] as never)).toThrow(/namedModules: memo must be a Set/);
  });

  it('float(), double(), to(dtype) convert parameters in place', () => {
    const lin = new nn.Linear(2, 2);
    const w = lin.weight;
    expect(lin.double()).toBe(lin);
    expect(lin.weight).toBe(w);
    expect(lin(torch.ones(1, 2, { dtype: 'float64' })).dtype).toBe('float64');
    expect(lin.float().weight.dtype).toBe('float32');
    expect(lin.to({ dtype: 'float64' }).bias!.dtype).toBe('float64');
  });

  it('to() takes a torch.device as well as its string, and refuses unknown keys', () => {
    const lin = new nn.Linear(2, 2);
    const w = lin.weight;
    expect(lin.to(torch.device('cpu'))).toBe(lin);
    expect(lin.to({ device: torch.device('cpu'), dtype: 'float64' }).weight).toBe(w);
    expect(w.dtype).toBe('float64');
    expect(w.device).toBe('cpu');
    expect(() => lin.to({ dtyp: 'float32' } as never)).toThrow(/Module.to: unknown option 'dtyp'/);
  });
});
