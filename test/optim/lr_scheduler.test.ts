// lr schedulers against PyTorch 1.13 (test/fixtures/optim_schedulers.json, made by
// scripts/make_optim_fixtures.py): the lr of each group (and the momentum
// OneCycleLR cycles) after construction and after each of up to 30 steps.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import * as torch from '../../lib/index.js';
import * as optim from '../../lib/optim/index.js';

const { lrScheduler } = optim;

interface SchedCase {
  name: string;
  scheduler: 'StepLR' | 'MultiStepLR' | 'ExponentialLR' | 'CosineAnnealingLR' | 'OneCycleLR' | 'ReduceLROnPlateau';
  options: Record<string, unknown>;
  optimizer?: 'SGD' | 'Adam';
  sgdMomentum?: number;
  lrs: number[][];
  momentum?: number[][];
  metrics?: number[];
}

const fx = JSON.parse(readFileSync(new URL('../fixtures/optim_schedulers.json', import.meta.url), 'utf8')) as {
  cases: SchedCase[];
};

// The fixture's optimizers: two groups, lr 0.1 and 0.01 (SGD) or 0.01 and 0.02 (Adam).
function makeOptimizer(c: SchedCase): optim.Optimizer {
  const a = torch.zeros([2]).requiresGrad_(),
    b = torch.zeros([3]).requiresGrad_();
  if (c.optimizer === 'Adam') return new optim.Adam([{ params: [a] }, { params: [b], lr: 0.02 }], { lr: 0.01 });
  return new optim.SGD([{ params: [a] }, { params: [b], lr: 0.01 }], { lr: 0.1, momentum: c.sgdMomentum ?? 0 });
}

interface Sched {
  step(metric?: number): void;
  getLastLr(): number[];
}

function makeScheduler(c: SchedCase, opt: optim.Optimizer): Sched {
  const S = lrScheduler as unknown as Record<string, new (o: optim.Optimizer, opts: Record<string, unknown>) => Sched>;
  return new S[c.scheduler](opt, c.options);
}

function expectClose(actual: number[], expected: number[], what: string): void {
  expect(actual.length, `${what}: number of groups`).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i];
    expect(Math.abs(a - e) <= 1e-12 * Math.max(1, Math.abs(e)), `${what}[${i}]: expected ${e}, got ${a}`).toBe(true);
  });
}

function momenta(opt: optim.Optimizer): number[] {
  return opt.paramGroups.map((g) => (Array.isArray(g.betas) ? (g.betas as number[])[0] : (g.momentum as number)));
}

describe('lr schedulers match PyTorch', () => {
  for (const c of fx.cases) {
    it(`${c.name} (${c.scheduler})`, () => {
      const opt = makeOptimizer(c);
      const sched = makeScheduler(c, opt);
      expectClose(sched.getLastLr(), c.lrs[0], `${c.name} after construction`);
      if (c.momentum) expectClose(momenta(opt), c.momentum[0], `${c.name} momentum after construction`);
      for (let k = 1; k < c.lrs.length; k++) {
        opt.step();
        if (c.metrics) sched.step(c.metrics[k - 1]);
        else sched.step();
        expectClose(sched.getLastLr(), c.lrs[k], `${c.name} step ${k}`);
        expectClose(
          opt.paramGroups.map((g) => g.lr),
          c.lrs[k],
          `${c.name} step ${k} group lr`,
        );
        if (c.momentum) expectClose(momenta(opt), c.momentum[k], `${c.name} momentum step ${k}`);
      }
    });
  }
});

describe('schedulers drive the optimizer', () => {
  it('the scheduled lr is the one step() uses', () => {
    const w = torch.zeros([1]).requiresGrad_();
    const opt = new optim.SGD([w], { lr: 1 });
    const sched = new lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 });
    for (let i = 0; i < 3; i++) {
      w.grad = torch.ones([1]);
      opt.step();
      sched.step();
    }
    // w = -(1 + 0.5 + 0.25)
    expect(w.item()).toBe(-1.75);
    expect(sched.getLastLr()).toEqual([0.125]);
    expect(opt.paramGroups[0].initialLr).toBe(1);
  });

  it('OneCycleLR refuses to step past totalSteps', () => {
    const opt = new optim.SGD([torch.zeros([1]).requiresGrad_()], { lr: 0.1, momentum: 0.9 });
    const sched = new lrScheduler.OneCycleLR(opt, { maxLr: 1, totalSteps: 3 });
    sched.step();
    sched.step();
    sched.step();
    expect(() => sched.step()).toThrow('OneCycleLR: Tried to step 5 times. The specified number of total steps is 3');
  });

  it('ReduceLROnPlateau takes a one-element Tensor metric', () => {
    const opt = new optim.SGD([torch.zeros([1]).requiresGrad_()], { lr: 1 });
    const sched = new lrScheduler.ReduceLROnPlateau(opt, { patience: 0, factor: 0.5 });
    sched.step(torch.tensor(3));
    sched.step(torch.tensor(3));
    expect(sched.getLastLr()).toEqual([0.5]);
    expect(() => sched.step('x' as never)).toThrow(TypeError);
  });

  it('stateDict / loadStateDict resume a schedule', () => {
    const mk = (): [optim.Optimizer, optim.lrScheduler.CosineAnnealingLR] => {
      const opt = new optim.SGD([torch.zeros([1]).requiresGrad_()], { lr: 0.1 });
      return [opt, new lrScheduler.CosineAnnealingLR(opt, { TMax: 10 })];
    };
    const [o1, s1] = mk();
    for (let i = 0; i < 4; i++) s1.step();
    const sd = s1.stateDict();
    const osd = o1.stateDict();
    const [o2, s2] = mk();
    o2.loadStateDict(osd);
    s2.loadStateDict(sd);
    for (let i = 0; i < 3; i++) {
      s1.step();
      s2.step();
    }
    expect(s2.getLastLr()).toEqual(s1.getLastLr());
    expect(s2.lastEpoch).toBe(7);
  });
});

describe('scheduler errors', () => {
  const sgd = (): optim.Optimizer => new optim.SGD([torch.zeros([1]).requiresGrad_()], { lr: 0.1 });

  it('rejects bad arguments', () => {
    expect(() => new lrScheduler.StepLR({} as never, { stepSize: 2 })).toThrow('StepLR: Object is not an Optimizer');
    expect(() => new lrScheduler.StepLR(sgd(), { stepSize: 0 })).toThrow('StepLR: stepSize must be >= 1, got 0');
    expect(() => new lrScheduler.StepLR(sgd(), { stepSize: 1.5 })).toThrow(TypeError);
    expect(() => new lrScheduler.MultiStepLR(sgd(), { milestones: 3 as never })).toThrow(/milestones must be an array/);
    expect(() => new lrScheduler.ExponentialLR(sgd(), {} as never)).toThrow('ExponentialLR: gamma must be a number, got undefined');
    expect(() => new lrScheduler.CosineAnnealingLR(sgd(), { TMax: 0 })).toThrow('CosineAnnealingLR: TMax must not be 0');
    expect(() => new lrScheduler.StepLR(sgd(), { stepSize: 2, lastEpoch: 3 })).toThrow(
      "StepLR: param 'initialLr' is not specified in paramGroups[0] when resuming an optimizer",
    );
  });

  it('OneCycleLR validates as PyTorch', () => {
    expect(() => new lrScheduler.OneCycleLR(sgd(), { maxLr: 1 })).toThrow(
      'OneCycleLR: You must define either totalSteps OR (epochs AND stepsPerEpoch)',
    );
    expect(() => new lrScheduler.OneCycleLR(sgd(), { maxLr: 1, totalSteps: -2 })).toThrow(
      'OneCycleLR: Expected positive integer totalSteps, but got -2',
    );
    expect(() => new lrScheduler.OneCycleLR(sgd(), { maxLr: 1, epochs: 2 })).toThrow(
      'OneCycleLR: Expected positive integer stepsPerEpoch, but got undefined',
    );
    expect(() => new lrScheduler.OneCycleLR(sgd(), { maxLr: 1, totalSteps: 10, pctStart: 1.5 })).toThrow(
      'OneCycleLR: Expected float between 0 and 1 pctStart, but got 1.5',
    );
    expect(() => new lrScheduler.OneCycleLR(sgd(), { maxLr: 1, totalSteps: 10, annealStrategy: 'exp' as never })).toThrow(
      "OneCycleLR: annealStrategy must be one of 'cos' or 'linear', instead got exp",
    );
    expect(() => new lrScheduler.OneCycleLR(sgd(), { maxLr: [1, 2], totalSteps: 10 })).toThrow(
      'OneCycleLR: expected 1 values for maxLr, got 2',
    );
    const adagrad = new optim.Adagrad([torch.zeros([1]).requiresGrad_()]);
    expect(() => new lrScheduler.OneCycleLR(adagrad, { maxLr: 1, totalSteps: 10 })).toThrow(
      'OneCycleLR: optimizer must support momentum with `cycleMomentum` option enabled',
    );
    expect(() => new lrScheduler.OneCycleLR(adagrad, { maxLr: 1, totalSteps: 10, cycleMomentum: false })).not.toThrow();
  });

  it('ReduceLROnPlateau validates as PyTorch', () => {
    expect(() => new lrScheduler.ReduceLROnPlateau(sgd(), { factor: 1 })).toThrow('ReduceLROnPlateau: Factor should be < 1.0, got 1');
    expect(() => new lrScheduler.ReduceLROnPlateau(sgd(), { mode: 'mid' as never })).toThrow('ReduceLROnPlateau: mode mid is unknown!');
    expect(() => new lrScheduler.ReduceLROnPlateau(sgd(), { thresholdMode: 'x' as never })).toThrow(
      'ReduceLROnPlateau: threshold mode x is unknown!',
    );
    expect(() => new lrScheduler.ReduceLROnPlateau(sgd(), { minLr: [0, 1] })).toThrow('ReduceLROnPlateau: expected 1 min_lrs, got 2');
    expect(() => new lrScheduler.ReduceLROnPlateau(null as never)).toThrow('ReduceLROnPlateau: null is not an Optimizer');
  });
});
