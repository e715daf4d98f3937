// The optimizers against PyTorch 1.13 (test/fixtures/optim_updates.json, made by
// scripts/make_optim_fixtures.py): each case replays the gradients PyTorch
// computed on a tiny model and compares the parameters after every step. Then
// state dicts, param groups, zeroGrad, autograd's version check, and errors.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import * as torch from '../../lib/index.js';
import * as optim from '../../lib/optim/index.js';
import { expectTensor, makeTensor, type TensorSpec, type Tensor } from '../helpers/fixtures.js';

interface UpdateCase {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad';
  dtype: 'float32' | 'float64';
  options: Record<string, unknown>;
  groups: { params: number[]; options: Record<string, unknown> }[];
  init: TensorSpec[];
  data: { x: TensorSpec; y: TensorSpec };
  steps: { grads: TensorSpec[]; params: TensorSpec[] }[];
}

const fx = JSON.parse(readFileSync(new URL('../fixtures/optim_updates.json', import.meta.url), 'utf8')) as {
  cases: UpdateCase[];
};
const byName = (n: string): UpdateCase => {
  const c = fx.cases.find((k) => k.name === n);
  if (!c) throw new Error(`no fixture case ${n}`);
  return c;
};

// The updates follow PyTorch's roundings (native/cpu/optim.cc), so these are
// float32 / float64 rounding-level bounds.
const TOL = [{ float32: { rtol: 1e-6, atol: 1e-7 }, float64: { rtol: 1e-13, atol: 1e-15 } }];

type Ctor = new (params: optim.Params, opts?: Record<string, unknown>) => optim.Optimizer;
const CTORS: Record<UpdateCase['optimizer'], Ctor> = {
  SGD: optim.SGD as unknown as Ctor,
  Adam: optim.Adam as unknown as Ctor,
  AdamW: optim.AdamW as unknown as Ctor,
  RMSprop: optim.RMSprop as unknown as Ctor,
  Adagrad: optim.Adagrad as unknown as Ctor,
};

function leaf(spec: TensorSpec): Tensor {
  return makeTensor(spec, { requiresGrad: true });
}

function build(c: UpdateCase, init: TensorSpec[] = c.init): { params: Tensor[]; opt: optim.Optimizer } {
  const params = init.map(leaf);
  const groups = c.groups.map((g) => ({ params: g.params.map((i) => params[i]), ...g.options }));
  return { params, opt: new CTORS[c.optimizer](groups, c.options) };
}

function setGrads(params: Tensor[], grads: TensorSpec[]): void {
  params.forEach((p, i) => {
    p.grad = makeTensor(grads[i]);
  });
}

function values(t: Tensor): number[] {
  return Array.from(t.toTypedArray() as Float32Array);
}

describe('optimizer updates match PyTorch step by step', () => {
  for (const c of fx.cases) {
    it(`${c.name} (${c.optimizer}, ${c.dtype})`, () => {
      const { params, opt } = build(c);
      c.steps.forEach((st, k) => {
        setGrads(params, st.grads);
        opt.step();
        params.forEach((p, i) => expectTensor(p, st.params[i], `${c.name} step ${k + 1} param[${i}]`, TOL));
      });
    });
  }
});

describe('a training loop with Kindling computing the loss', () => {
  for (const name of ['sgd_nesterov', 'adam_amsgrad', 'adamw_wd_amsgrad', 'rmsprop_centered_momentum_wd', 'adagrad_lr_decay_wd']) {
    it(`${name}: zeroGrad, forward, backward, step for 10 steps`, () => {
      const c = byName(name);
      const { params, opt } = build(c);
      const [w, b] = params;
      const x = makeTensor(c.data.x),
        y = makeTensor(c.data.y);
      for (let k = 0; k < c.steps.length; k++) {
        opt.zeroGrad();
        const loss = x.matmul(w.t()).add(b).tanh().sub(y).pow(2).mean();
        loss.backward();
        opt.step();
      }
      // The loss and its gradient are Kindling's own ops here, so a little
      // more than the replay's rounding-level bound.
      const last = c.steps[c.steps.length - 1];
      params.forEach((p, i) =>
        expectTensor(p, last.params[i], `${name} after 10 steps param[${i}]`, [{ float32: { rtol: 2e-5, atol: 2e-6 } }]),
      );
    });
  }
});

describe('stateDict / loadStateDict', () => {
  for (const name of [
    'sgd_momentum',
    'sgd_groups',
    'adam_amsgrad',
    'adamw_wd_amsgrad',
    'rmsprop_centered_momentum_wd',
    'adagrad_lr_decay_wd',
    'adam_amsgrad_wd_f64',
  ]) {
    it(`${name}: 5 steps, save, load into a fresh optimizer, 5 more == 10 straight`, () => {
      const c = byName(name);
      const straight = build(c);
      c.steps.forEach((st) => {
        setGrads(straight.params, st.grads);
        straight.opt.step();
      });

      const first = build(c);
      c.steps.slice(0, 5).forEach((st) => {
        setGrads(first.params, st.grads);
        first.opt.step();
      });
      const sd = first.opt.stateDict();
      const snapshot = JSON.stringify(sd, (_k, v) => (v instanceof torch.Tensor ? values(v) : v));
      // The state dict holds copies: stepping on does not change it.
      setGrads(first.params, c.steps[5].grads);
      first.opt.step();
      expect(JSON.stringify(sd, (_k, v) => (v instanceof torch.Tensor ? values(v) : v))).toBe(snapshot);

      const resumed = build(c, c.steps[4].params);
      resumed.opt.loadStateDict(sd);
      c.steps.slice(5).forEach((st) => {
        setGrads(resumed.params, st.grads);
        resumed.opt.step();
      });
      resumed.params.forEach((p, i) => {
        expect(values(p), `${name} param[${i}] resumed vs straight`).toEqual(values(straight.params[i]));
        expectTensor(p, c.steps[9].params[i], `${name} resumed param[${i}] vs PyTorch`, TOL);
      });
    });
  }

  it("has PyTorch's shape: state by parameter index, groups with indices", () => {
    const a = torch.zeros([2]).requiresGrad_(),
      b = torch.zeros([3]).requiresGrad_(),
      c = torch.zeros([1]).requiresGrad_();
    const opt = new optim.Adam([{ params: [a, b] }, { params: [c], lr: 0.5 }], { lr: 0.1, amsgrad: true });
    a.grad = torch.ones([2]);
    c.grad = torch.ones([1]);
    opt.step();
    opt.step();
    const sd = opt.stateDict();
    expect(Object.keys(sd.state).sort()).toEqual(['0', '2']);
    expect(sd.state[0].step).toBe(2);
    expect(Object.keys(sd.state[0]).sort()).toEqual(['expAvg', 'expAvgSq', 'maxExpAvgSq', 'step']);
    expect(sd.param_groups).toEqual([
      { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, maximize: false, params: [0, 1] },
      { lr: 0.5, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, maximize: false, params: [2] },
    ]);
    // Buffers are copies, not the live state.
    expect(sd.state[0].expAvg).not.toBe(opt.state.get(a)!.expAvg);
    // Group options are copies too.
    (sd.param_groups[0].betas as number[])[0] = 0.1;
    expect(opt.paramGroups[0].betas[0]).toBe(0.9);
  });

  it('loads PyTorch-style snake_case keys and restores group options', () => {
    const p = torch.tensor([1, 2]).float().requiresGrad_();
    const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
    opt.loadStateDict({
      state: { 0: { momentum_buffer: torch.tensor([0.5, -0.5]) } },
      param_groups: [{ lr: 0.2, momentum: 0.5, dampening: 0, weight_decay: 0, nesterov: false, maximize: false, params: [0] }],
    });
    expect(opt.paramGroups[0].lr).toBe(0.2);
    expect(opt.paramGroups[0].weightDecay).toBe(0);
    p.grad = torch.tensor([1, 1]).float();
    opt.step();
    // buf = 0.5 * buf + g; p -= 0.2 * buf
    expect(values(opt.state.get(p)!.momentumBuffer as Tensor)).toEqual([1.25, 0.75]);
    expect(values(p)).toEqual([Math.fround(1 - Math.fround(0.2) * 1.25), Math.fround(2 - Math.fround(0.2) * 0.75)]);
  });

  it('refuses mismatched state dicts and leaves the optimizer unchanged', () => {
    const a = torch.zeros([2]).requiresGrad_(),
      b = torch.zeros([3]).requiresGrad_();
    const opt = new optim.Adam([a, b]);
    const other = new optim.Adam([{ params: [a] }, { params: [b] }]);
    expect(() => opt.loadStateDict(other.stateDict())).toThrow(/different number of parameter groups/);
    const fewer = new optim.Adam([a]);
    expect(() => opt.loadStateDict(fewer.stateDict())).toThrow(/doesn't match the size of optimizer's group/);
    a.grad = torch.ones([2]);
    opt.step();
    const sd = opt.stateDict();
    sd.state[0].expAvg = torch.zeros([5]);
    const before = opt.state.get(a)!.expAvg;
    expect(() => opt.loadStateDict(sd)).toThrow(/state\[0\]\.expAvg has shape \[5\] but its parameter has shape \[2\]/);
    expect(opt.state.get(a)!.expAvg).toBe(before);
    expect(() => opt.loadStateDict(null as never)).toThrow(TypeError);
  });
});

describe('param groups', () => {
  it('addParamGroup fills in defaults; a group may override them', () => {
    const a = torch.ones([2]).requiresGrad_(),
      b = torch.ones([2]).requiresGrad_();
    const opt = new optim.SGD([a], { lr: 0.1, momentum: 0.9 });
    opt.addParamGroup({ params: b, lr: 0.01 });
    expect(opt.paramGroups.length).toBe(2);
    expect(opt.paramGroups[1].params).toEqual([b]);
    expect(opt.paramGroups[1].lr).toBe(0.01);
    expect(opt.paramGroups[1].momentum).toBe(0.9);
    a.grad = torch.ones([2]);
    b.grad = torch.ones([2]);
    opt.step();
    expect(values(a)).toEqual([Math.fround(1 - Math.fround(0.1)), Math.fround(1 - Math.fround(0.1))]);
    expect(values(b)).toEqual([Math.fround(1 - Math.fround(0.01)), Math.fround(1 - Math.fround(0.01))]);
    expect(() => opt.addParamGroup({ params: [a] })).toThrow('SGD: some parameters appear in more than one parameter group');
  });

  it('takes parameters from any iterable (a generator, a Set is refused)', () => {
    const a = torch.ones([2]).requiresGrad_(),
      b = torch.ones([2]).requiresGrad_();
    function* gen(): Generator<Tensor> {
      yield a;
      yield b;
    }
    const opt = new optim.Adam(gen());
    expect(opt.paramGroups[0].params).toEqual([a, b]);
    expect(() => new optim.Adam([{ params: new Set([a]) }])).toThrow(/ordered collections/);
  });

  it('Adagrad has state from construction, as PyTorch', () => {
    const a = torch.ones([3]).requiresGrad_();
    const opt = new optim.Adagrad([a], { initialAccumulatorValue: 0.25 });
    const s = opt.state.get(a)!;
    expect(s.step).toBe(0);
    expect(values(s.sum as Tensor)).toEqual([0.25, 0.25, 0.25]);
  });
});

describe('step and zeroGrad', () => {
  it('skips parameters whose grad is null (no update, no state, no version bump)', () => {
    const a = torch.ones([2]).requiresGrad_(),
      b = torch.ones([2]).requiresGrad_();
    const opt = new optim.Adam([a, b], { lr: 0.1 });
    a.grad = torch.ones([2]);
    const vb = b._storage.version,
      va = a._storage.version;
    opt.step();
    expect(values(b)).toEqual([1, 1]);
    expect(opt.state.has(b)).toBe(false);
    expect(b._storage.version).toBe(vb);
    expect(a._storage.version).toBe(va + 1);
    expect(values(a)[0]).toBeLessThan(1);
  });

  it('zeroGrad() sets grads to null; { setToNone: false } zeroes them in place', () => {
    const a = torch.ones([2]).requiresGrad_();
    const opt = new optim.SGD([a], { lr: 0.1 });
    a.grad = torch.ones([2]);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    const g = torch.ones([2]);
    a.grad = g;
    opt.zeroGrad({ setToNone: false });
    expect(a.grad).toBe(g);
    expect(values(g)).toEqual([0, 0]);
  });

  it('step(closure) runs the closure with grad enabled and returns its value', () => {
    const w = torch.tensor([1, -2], { dtype: 'float32' }).requiresGrad_();
    const opt = new optim.SGD([w], { lr: 0.5 });
    const loss = torch.noGrad(() =>
      opt.step(() => {
        opt.zeroGrad();
        const l = w.mul(w).sum();
        l.backward();
        return l;
      }),
    );
    expect(loss!.item()).toBe(5);
    // w -= 0.5 * 2w
    expect(values(w)).toEqual([0, 0]);
  });

  it('bumps the version counter: a graph that saved the parameter refuses backward', () => {
    const w = torch.tensor([1, 2], { dtype: 'float32' }).requiresGrad_();
    const opt = new optim.SGD([w], { lr: 0.1 });
    const y = w.mul(w).sum();
    w.grad = torch.ones([2]);
    opt.step();
    expect(() => y.backward()).toThrow(/modified by an inplace operation/);
  });

  it('updates a non-contiguous parameter in place', () => {
    const base = torch
      .tensor([
        [1, 2, 3],
        [4, 5, 6],
      ])
      .float();
    const pT = base.t().detach().requiresGrad_(); // a strided leaf
    const pC = base.t().contiguous().detach().requiresGrad_();
    expect(pT.isContiguous()).toBe(false);
    const g = torch.tensor([
      [0.5, -1],
      [2, 0.25],
      [-3, 1],
    ]);
    pT.grad = g.float();
    pC.grad = g.float();
    const o1 = new optim.Adam([pT], { lr: 0.1, weightDecay: 0.1 });
    const o2 = new optim.Adam([pC], { lr: 0.1, weightDecay: 0.1 });
    for (let i = 0; i < 3; i++) {
      o1.step();
      o2.step();
    }
    expect(pT.isContiguous()).toBe(false);
    expect(pT.tolist()).toEqual(pC.tolist());
    expect(pT.dtype).toBe('float32');
  });

  it('a large parameter (threads, vector blocks) gets the same bits as small pieces of it', () => {
    // 70001 elements: above the kernels' parallel grain, with a ragged tail.
    const n = 70001;
    const configs: [string, (ps: Tensor[]) => optim.Optimizer][] = [
      ['SGD', (ps) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 })],
      ['Adam', (ps) => new optim.Adam(ps, { lr: 0.01, amsgrad: true, weightDecay: 0.01 })],
      ['AdamW', (ps) => new optim.AdamW(ps, { lr: 0.01 })],
      ['RMSprop', (ps) => new optim.RMSprop(ps, { centered: true, momentum: 0.5 })],
      ['Adagrad', (ps) => new optim.Adagrad(ps, { lrDecay: 0.01 })],
    ];
    torch.manualSeed(3);
    const init = torch.randn([n]);
    const grads = [torch.randn([n]), torch.randn([n]), torch.randn([n])];
    const cuts = [0, 7, 300, 4099, 40000, n];
    for (const [name, mk] of configs) {
      const big = init.clone().requiresGrad_();
      const pieces = cuts.slice(1).map((end, i) =>
        init
          .narrow(0, cuts[i], end - cuts[i])
          .clone()
          .requiresGrad_(),
      );
      const o1 = mk([big]),
        o2 = mk(pieces);
      for (const g of grads) {
        big.grad = g;
        pieces.forEach((p, i) => {
          p.grad = g.narrow(0, cuts[i], cuts[i + 1] - cuts[i]).contiguous();
        });
        o1.step();
        o2.step();
      }
      const joined = torch.cat(
        pieces.map((p) => p.detach()),
        0,
      );
      expect(big.equal(joined), `${name}: big parameter vs pieces`).toBe(true);
    }
  });
});

describe('errors', () => {
  const p = (): Tensor => torch.zeros([2]).requiresGrad_();

  it('rejects invalid options with PyTorch-style messages', () => {
    expect(() => new optim.SGD([p()], { lr: -1 })).toThrow('SGD: invalid learning rate: -1');
    expect(() => new optim.SGD([p()], { lr: 0.1, momentum: -0.5 })).toThrow('SGD: invalid momentum value: -0.5');
    expect(() => new optim.SGD([p()], { lr: 0.1, weightDecay: -1 })).toThrow('SGD: invalid weightDecay value: -1');
    expect(() => new optim.SGD([p()], { lr: 0.1, nesterov: true })).toThrow(
      'SGD: Nesterov momentum requires a momentum and zero dampening',
    );
    expect(() => new optim.SGD([p()])).toThrow("SGD: parameter group didn't specify a value of required optimization parameter lr");
    expect(() => new optim.Adam([p()], { betas: [1.5, 0.999] })).toThrow('Adam: invalid beta parameter at index 0: 1.5');
    expect(() => new optim.Adam([p()], { betas: [0.9, 1] })).toThrow('Adam: invalid beta parameter at index 1: 1');
    expect(() => new optim.AdamW([p()], { eps: -1e-8 })).toThrow('AdamW: invalid epsilon value: -1e-8');
    expect(() => new optim.Adam([p()], { lr: NaN })).toThrow('Adam: invalid learning rate: NaN');
    expect(() => new optim.RMSprop([p()], { alpha: -0.1 })).toThrow('RMSprop: invalid alpha value: -0.1');
    expect(() => new optim.RMSprop([p()], { momentum: -1 })).toThrow('RMSprop: invalid momentum value: -1');
    expect(() => new optim.Adagrad([p()], { lrDecay: -1 })).toThrow('Adagrad: invalid lrDecay value: -1');
    expect(() => new optim.Adagrad([p()], { initialAccumulatorValue: -1 })).toThrow('Adagrad: invalid initialAccumulatorValue value: -1');
    expect(() => new optim.SGD([p()], { lr: '0.1' as never })).toThrow(TypeError);
    expect(() => new optim.Adam([p()], { betas: 0.9 as never })).toThrow(/Adam: betas must be an array of two numbers/);
    // A group's own options are checked too.
    expect(() => new optim.Adam([{ params: [p()], lr: -0.5 }])).toThrow('Adam: invalid learning rate: -0.5');
    expect(() => new optim.SGD([p()], { lr: -1 })).toThrow(RangeError);
  });

  it('rejects bad parameter lists', () => {
    expect(() => new optim.SGD(p() as never, { lr: 0.1 })).toThrow(
      'SGD: params argument given to the optimizer should be an iterable of Tensors or param groups, but got Tensor',
    );
    expect(() => new optim.SGD([], { lr: 0.1 })).toThrow('SGD: optimizer got an empty parameter list');
    expect(() => new optim.SGD(42 as never, { lr: 0.1 })).toThrow(TypeError);
    expect(() => new optim.SGD([1, 2] as never, { lr: 0.1 })).toThrow(
      'SGD: optimizer can only optimize Tensors, but one of the params is number',
    );
    const x = p();
    expect(() => new optim.SGD([x.mul(2)], { lr: 0.1 })).toThrow("SGD: can't optimize a non-leaf Tensor");
    // A repeat inside one group is allowed (PyTorch only warns); across groups it is not.
    expect(() => new optim.SGD([x, x], { lr: 0.1 })).not.toThrow();
    expect(() => new optim.SGD([{ params: [x] }, { params: [x] }], { lr: 0.1 })).toThrow(/more than one parameter group/);
  });

  it('throws at step time for integer parameters and mismatched gradients', () => {
    const i = torch.tensor([1, 2]);
    i.grad = torch.tensor([1, 1]);
    expect(() => new optim.SGD([i], { lr: 0.1 }).step()).toThrow('SGD: can only optimize float32 or float64 parameters, got int64');
    const w = p();
    const opt = new optim.Adam([w]);
    w._grad = torch.ones([3]);
    expect(() => opt.step()).toThrow("Adam: gradient of shape [3] does not match the parameter's shape [2]");
    expect(() => opt.step('x' as never)).toThrow('Adam.step: closure must be a function');
    expect(values(w)).toEqual([0, 0]);
  });
});
