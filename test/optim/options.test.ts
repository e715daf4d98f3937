// Optimizer and scheduler constructors bind their arguments as Python does
// (lib/util/args.ts): every parameter positionally, in PyTorch's order, or
// by its camelCase name in one trailing options object. An unknown key, in
// the options or in a param group, is a TypeError naming the class, the key
// and the nearest valid name (Note [Did you mean]). Every optimizer and
// scheduler class optim exports is listed below.
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import * as optim from '../../lib/optim/index.js';
import type { Tensor } from '../../lib/tensor.js';

const { lrScheduler } = optim;
type AnyCtor = new (...a: unknown[]) => unknown;
const mk = <T = unknown>(C: unknown, ...args: unknown[]): T => new (C as AnyCtor)(...args) as T;

function errorOf(call: () => unknown): Error {
  try {
    call();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

function expectUnknown(call: () => unknown, cls: string, key: string, hint: string | null, where = ''): void {
  const err = errorOf(call);
  expect(err).toBeInstanceOf(TypeError);
  expect(err.message.startsWith(`${cls}: unknown option '${key}'${where}`)).toBe(true);
  if (hint) expect(err.message).toContain(`(did you mean '${hint}'?)`);
  else expect(err.message).not.toContain('did you mean');
}

const params = (): Tensor[] => [
  torch.tensor([1, -2, 3], { dtype: 'float32' }).requiresGrad_(),
  torch
    .tensor(
      [
        [0.5, -0.25],
        [2, 1],
      ],
      { dtype: 'float32' },
    )
    .requiresGrad_(),
];
const sgd = (): optim.Optimizer => new optim.SGD(params(), { lr: 0.1, momentum: 0.9 });

function exportedClasses(ns: object, skip: string[]): string[] {
  return Object.entries(ns)
    .filter(([k, v]) => typeof v === 'function' && /^[A-Z]/.test(k) && !skip.includes(k))
    .map(([k]) => k)
    .sort();
}

// ---- optimizers -----------------------------------------------------------------------------
// [class, an unknown key with its suggestion, a positional call and the same by name]
const optimizerCases: {
  cls: string;
  bad: [Record<string, unknown>, string, string | null];
  positional: unknown[];
  named: Record<string, unknown>;
}[] = [
  {
    cls: 'SGD',
    bad: [{ lr: 0.1, momentun: 0.9 }, 'momentun', 'momentum'],
    positional: [0.1, 0.9, 0.1, 0.01, false, { maximize: true }],
    named: { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, nesterov: false, maximize: true },
  },
  {
    cls: 'Adam',
    bad: [{ weight_decay: 0.1 }, 'weight_decay', 'weightDecay'],
    positional: [0.01, [0.8, 0.9], 1e-6, 0.1, true, { maximize: true }],
    named: { lr: 0.01, betas: [0.8, 0.9], eps: 1e-6, weightDecay: 0.1, amsgrad: true, maximize: true },
  },
  {
    cls: 'AdamW',
    bad: [{ beta: [0.9, 0.99] }, 'beta', 'betas'],
    positional: [0.01, [0.8, 0.9], 1e-6, 0.1, true],
    named: { lr: 0.01, betas: [0.8, 0.9], eps: 1e-6, weightDecay: 0.1, amsgrad: true },
  },
  {
    cls: 'RMSprop',
    bad: [{ centred: true }, 'centred', 'centered'],
    positional: [0.01, 0.9, 1e-6, 0.1, 0.5, true, { maximize: true }],
    named: { lr: 0.01, alpha: 0.9, eps: 1e-6, weightDecay: 0.1, momentum: 0.5, centered: true, maximize: true },
  },
  {
    cls: 'Adagrad',
    bad: [{ lr_decay: 0.1 }, 'lr_decay', 'lrDecay'],
    positional: [0.1, 0.01, 0.1, 0.5, 1e-8, { maximize: true }],
    named: { lr: 0.1, lrDecay: 0.01, weightDecay: 0.1, initialAccumulatorValue: 0.5, eps: 1e-8, maximize: true },
  },
];

/** Two steps with fixed gradients; the parameters' values after each. */
function run(opt: optim.Optimizer): number[][] {
  const out: number[][] = [];
  for (let s = 0; s < 2; s++) {
    for (const g of opt.paramGroups) {
      for (const p of g.params) p.grad = torch.full(p.shape, 0.5 + s);
    }
    opt.step();
    for (const g of opt.paramGroups) for (const p of g.params) out.push(Array.from(p.toTypedArray() as Float32Array));
  }
  return out;
}

function groupOptions(opt: optim.Optimizer): unknown[] {
  return opt.paramGroups.map((g) => Object.fromEntries(Object.entries(g).filter(([k]) => k !== 'params')));
}

describe('optimizers: unknown option keys', () => {
  it('every optimizer class optim exports is covered', () => {
    expect(optimizerCases.map((c) => c.cls).sort()).toEqual(exportedClasses(optim, ['Optimizer', 'REQUIRED']));
  });

  for (const c of optimizerCases) {
    const [opts, key, hint] = c.bad;
    it(`${c.cls}: '${key}' is a TypeError suggesting '${hint}'`, () => {
      expectUnknown(() => mk((optim as Record<string, unknown>)[c.cls], params(), opts), c.cls, key, hint);
    });
    it(`${c.cls}: a param group key '${key}' is a TypeError suggesting '${hint}'`, () => {
      const C = (optim as Record<string, unknown>)[c.cls];
      const [a, b] = params();
      expectUnknown(() => mk(C, [{ params: [a] }, { params: [b], ...opts, lr: 0.1 }], { lr: 0.1 }), c.cls, key, hint, ' in paramGroups[1]');
      const opt = mk<optim.Optimizer>(C, [a], { lr: 0.1 });
      expectUnknown(() => opt.addParamGroup({ params: [b], ...opts }), c.cls, key, hint, ' in paramGroups[1]');
      expect(opt.paramGroups.length).toBe(1);
    });
  }

  it('the examples of the contract', () => {
    expect(() => new optim.SGD(params(), { lr: 0.1, momentun: 0.9 } as never)).toThrow(
      /^SGD: unknown option 'momentun' \(did you mean 'momentum'\?\); valid options: params, lr, momentum, dampening, weightDecay, nesterov, maximize$/,
    );
    // Options PyTorch has and Kindling does not implement are unknown, not ignored.
    expectUnknown(() => mk(optim.Adam, params(), { foreach: true }), 'Adam', 'foreach', null);
    expectUnknown(() => mk(optim.AdamW, params(), { fused: true }), 'AdamW', 'fused', null);
    expectUnknown(() => mk(optim.SGD, [{ params: params(), foreach: false }], { lr: 0.1 }), 'SGD', 'foreach', null, ' in paramGroups[0]');
  });
});

describe('optimizers: positional and options forms agree', () => {
  for (const c of optimizerCases) {
    it(`${c.cls}: same defaults, groups and steps`, () => {
      const C = (optim as Record<string, unknown>)[c.cls];
      const a = mk<optim.Optimizer>(C, params(), ...c.positional);
      const b = mk<optim.Optimizer>(C, params(), c.named);
      const k = mk<optim.Optimizer>(C, { params: params(), ...c.named });
      expect(a.defaults).toEqual(b.defaults);
      expect(k.defaults).toEqual(b.defaults);
      for (const [key, v] of Object.entries(c.named)) expect(b.defaults[key]).toEqual(v);
      expect(groupOptions(a)).toEqual(groupOptions(b));
      const ra = run(a);
      expect(ra).toEqual(run(b));
      expect(ra).toEqual(run(k));
      // The defaults of the one and the other form are the same too.
      const d1 = mk<optim.Optimizer>(C, params(), ...(c.cls === 'SGD' ? [0.1] : []));
      const d2 = mk<optim.Optimizer>(C, params(), c.cls === 'SGD' ? { lr: 0.1 } : {});
      expect(d1.defaults).toEqual(d2.defaults);
      expect(run(d1)).toEqual(run(d2));
    });
  }

  it('SGD(params, 0.1) and SGD(params, { lr: 0.1, momentum: 0.9 })', () => {
    expect(new optim.SGD(params(), 0.1).defaults.lr).toBe(0.1);
    const s = new optim.SGD(params(), { lr: 0.1, momentum: 0.9 });
    expect([s.defaults.lr, s.defaults.momentum]).toEqual([0.1, 0.9]);
  });

  it('a value given twice, or too many positional values, is a TypeError', () => {
    expect(() => mk(optim.SGD, params(), 0.1, { lr: 0.2 })).toThrow(/^SGD: got multiple values for argument 'lr'/);
    // maximize is keyword-only (after Python's *, or after foreach, not implemented).
    expect(() => mk(optim.SGD, params(), 0.1, 0, 0, 0, false, true)).toThrow(/^SGD: takes at most 6 positional arguments but 7 were given/);
    expect(() => mk(optim.Adagrad, params(), 0.1, 0, 0, 0, 1e-10, true)).toThrow(TypeError);
    expect(() => mk(optim.RMSprop, params(), 0.1, 0.99, 1e-8, 0, 0, false, true)).toThrow(TypeError);
  });

  it('existing value checks keep their messages in either form', () => {
    expect(() => mk(optim.SGD, params(), -1)).toThrow('SGD: invalid learning rate: -1');
    expect(() => mk(optim.SGD, params())).toThrow("SGD: parameter group didn't specify a value of required optimization parameter lr");
    expect(() => mk(optim.Adam, params(), 1e-3, [1.5, 0.999])).toThrow('Adam: invalid beta parameter at index 0: 1.5');
    expect(() => mk(optim.SGD, params(), 0.1, 0, 0, 0, true)).toThrow('SGD: Nesterov momentum requires a momentum and zero dampening');
    expect(() => mk(optim.RMSprop, params(), 0.1, -0.1)).toThrow('RMSprop: invalid alpha value: -0.1');
  });
});

// ---- schedulers -----------------------------------------------------------------------------
const schedulerCases: {
  cls: string;
  bad: [Record<string, unknown>, string, string | null];
  forms: unknown[][];
  steps?: number[];
}[] = [
  {
    cls: 'StepLR',
    bad: [{ step_size: 2 }, 'step_size', 'stepSize'],
    forms: [[2, 0.5], [{ stepSize: 2, gamma: 0.5 }], [2, { gamma: 0.5 }], [2, 0.5, -1]],
  },
  {
    cls: 'MultiStepLR',
    bad: [{ milestone: [1] }, 'milestone', 'milestones'],
    forms: [[[1, 3, 3], 0.5], [{ milestones: [1, 3, 3], gamma: 0.5 }], [[1, 3, 3], { gamma: 0.5, lastEpoch: -1 }]],
  },
  {
    cls: 'LambdaLR',
    bad: [{ lr_lambda: (e: number) => 0.5 ** e }, 'lr_lambda', 'lrLambda'],
    forms: [[(e: number) => 0.5 ** e], [{ lrLambda: (e: number) => 0.5 ** e }], [(e: number) => 0.5 ** e, -1]],
  },
  {
    cls: 'LinearLR',
    bad: [{ start_factor: 0.5 }, 'start_factor', 'startFactor'],
    forms: [[0.25, 1, 4], [{ startFactor: 0.25, endFactor: 1, totalIters: 4 }], [0.25, { endFactor: 1, totalIters: 4 }]],
  },
  {
    cls: 'ExponentialLR',
    bad: [{ gama: 0.9 }, 'gama', 'gamma'],
    forms: [[0.9], [{ gamma: 0.9 }], [0.9, -1]],
  },
  {
    cls: 'CosineAnnealingLR',
    bad: [{ T_max: 10 }, 'T_max', 'tMax'],
    forms: [[5, 0.001], [{ tMax: 5, etaMin: 0.001 }], [{ TMax: 5, etaMin: 0.001 }], [5, { etaMin: 0.001 }]],
  },
  {
    cls: 'OneCycleLR',
    bad: [{ max_lr: 1, totalSteps: 10 }, 'max_lr', 'maxLr'],
    forms: [
      [1, 10, null, null, 0.25, 'linear', true, 0.8, 0.9, 10, 100, true],
      [
        {
          maxLr: 1,
          totalSteps: 10,
          pctStart: 0.25,
          annealStrategy: 'linear',
          baseMomentum: 0.8,
          maxMomentum: 0.9,
          divFactor: 10,
          finalDivFactor: 100,
          threePhase: true,
        },
      ],
      [
        1,
        {
          totalSteps: 10,
          pctStart: 0.25,
          annealStrategy: 'linear',
          cycleMomentum: true,
          baseMomentum: 0.8,
          maxMomentum: 0.9,
          divFactor: 10,
          finalDivFactor: 100,
          threePhase: true,
        },
      ],
    ],
  },
  {
    cls: 'ReduceLROnPlateau',
    bad: [{ patients: 2 }, 'patients', 'patience'],
    forms: [
      ['max', 0.5, 0, 0.01, 'abs', 1, 0.001, 1e-9],
      [{ mode: 'max', factor: 0.5, patience: 0, threshold: 0.01, thresholdMode: 'abs', cooldown: 1, minLr: 0.001, eps: 1e-9 }],
      ['max', 0.5, { patience: 0, threshold: 0.01, thresholdMode: 'abs', cooldown: 1, minLr: 0.001, eps: 1e-9 }],
    ],
    steps: [1, 1, 1, 1, 1, 2, 2, 1, 1, 1],
  },
];

interface Sched {
  step(m?: number): void;
  getLastLr(): number[];
  stateDict(): Record<string, unknown>;
}

function schedule(cls: string, args: unknown[], metrics?: number[]): { lrs: number[][]; momenta: unknown[]; state: unknown } {
  const opt = sgd();
  const s = mk<Sched>((lrScheduler as Record<string, unknown>)[cls], opt, ...args);
  const lrs = [s.getLastLr()];
  const momenta = [opt.paramGroups[0].momentum];
  for (let i = 0; i < 8; i++) {
    opt.step();
    s.step(metrics?.[i]);
    lrs.push(s.getLastLr());
    momenta.push(opt.paramGroups[0].momentum);
  }
  return { lrs, momenta, state: s.stateDict() };
}

describe('schedulers', () => {
  it('every scheduler class optim.lrScheduler exports is covered', () => {
    // SequentialLR takes schedulers built on its own optimizer, so it has its own test below.
    expect(schedulerCases.map((c) => c.cls).sort()).toEqual(exportedClasses(lrScheduler, ['LRScheduler', 'SequentialLR']));
  });

  it('SequentialLR: positional and options forms agree; unknown keys are refused with a hint', () => {
    const run = (form: (opt: optim.Optimizer, a: unknown, b: unknown) => unknown[]): number[][] => {
      const opt = sgd();
      const parts = [new lrScheduler.LinearLR(opt, { startFactor: 0.5, totalIters: 2 }), new lrScheduler.ExponentialLR(opt, 0.9)];
      const s = mk<Sched>(lrScheduler.SequentialLR, opt, ...form(opt, parts, [2]));
      const lrs = [s.getLastLr()];
      for (let i = 0; i < 5; i++) {
        opt.step();
        s.step();
        lrs.push(s.getLastLr());
      }
      return lrs;
    };
    const positional = run((_o, a, b) => [a, b]);
    expect(run((_o, a, b) => [{ schedulers: a, milestones: b }])).toEqual(positional);
    expect(run((_o, a, b) => [a, { milestones: b }])).toEqual(positional);
    const opt = sgd();
    const parts = [new lrScheduler.ExponentialLR(opt, 0.9), new lrScheduler.ExponentialLR(opt, 0.5)];
    expectUnknown(
      () => mk(lrScheduler.SequentialLR, opt, { schedulers: parts, milestone: [2] }),
      'SequentialLR',
      'milestone',
      'milestones',
    );
  });

  for (const c of schedulerCases) {
    const [opts, key, hint] = c.bad;
    it(`${c.cls}: '${key}' is a TypeError suggesting '${hint}'`, () => {
      expectUnknown(() => mk((lrScheduler as Record<string, unknown>)[c.cls], sgd(), opts), c.cls, key, hint);
      // PyTorch's verbose is not implemented.
      expectUnknown(
        () => mk((lrScheduler as Record<string, unknown>)[c.cls], sgd(), ...c.forms[0], { verbose: true }),
        c.cls,
        'verbose',
        null,
      );
    });

    it(`${c.cls}: positional and options forms give the same schedule`, () => {
      const runs = c.forms.map((f) => schedule(c.cls, f, c.steps));
      for (const r of runs.slice(1)) expect(r).toEqual(runs[0]);
      // The schedule moves: the forms are not all trivially equal.
      expect(new Set(runs[0].lrs.map((l) => l[0])).size).toBeGreaterThan(1);
    });
  }

  it('a value given twice is a TypeError, too many positional values too', () => {
    expect(() => mk(lrScheduler.StepLR, sgd(), 2, { stepSize: 3 })).toThrow(/^StepLR: got multiple values for argument 'stepSize'/);
    expect(() => mk(lrScheduler.CosineAnnealingLR, sgd(), { tMax: 3, TMax: 3 })).toThrow(
      /^CosineAnnealingLR: got multiple values for argument 'tMax'/,
    );
    expect(() => mk(lrScheduler.ExponentialLR, sgd(), 0.9, -1, false)).toThrow(
      /^ExponentialLR: takes 3 positional arguments but 4 were given/,
    );
  });

  it('CosineAnnealingLR reads tMax, as API.md names it', () => {
    const s = new lrScheduler.CosineAnnealingLR(sgd(), { tMax: 7 });
    expect([s.tMax, s.TMax]).toEqual([7, 7]);
  });

  it('existing value checks keep their messages in either form', () => {
    expect(() => mk(lrScheduler.StepLR, sgd(), 0)).toThrow('StepLR: stepSize must be >= 1, got 0');
    expect(() => mk(lrScheduler.ExponentialLR, sgd(), {})).toThrow('ExponentialLR: gamma must be a number, got undefined');
    expect(() => mk(lrScheduler.CosineAnnealingLR, sgd(), 0)).toThrow('CosineAnnealingLR: TMax must not be 0');
    expect(() => mk(lrScheduler.OneCycleLR, sgd(), 1)).toThrow(
      'OneCycleLR: You must define either totalSteps OR (epochs AND stepsPerEpoch)',
    );
    expect(() => mk(lrScheduler.ReduceLROnPlateau, sgd(), 'mid')).toThrow('ReduceLROnPlateau: mode mid is unknown!');
  });
});

// Compile-time: the forms the contract names type-check.
export function typeForms(ps: Tensor[]): unknown[] {
  const opt = new optim.SGD(ps, { lr: 0.1, momentum: 0.9 });
  return [
    new optim.SGD(ps, 0.1),
    new optim.Adam(ps, { lr: 1e-3, betas: [0.9, 0.99] }),
    new optim.Adam(ps, 1e-3, [0.9, 0.99]),
    new optim.Adam([{ params: ps, lr: 0.1 }]),
    new lrScheduler.StepLR(opt, 2),
    new lrScheduler.StepLR(opt, { stepSize: 2, gamma: 0.5 }),
    new lrScheduler.CosineAnnealingLR(opt, { tMax: 10 }),
    new lrScheduler.OneCycleLR(opt, 1, { totalSteps: 10 }),
    new lrScheduler.ReduceLROnPlateau(opt, { patience: 2 }),
    // @ts-expect-error lr is a number
    new optim.SGD(ps, { lr: '0.1' }),
  ];
}
