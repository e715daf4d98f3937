// LambdaLR, LinearLR and SequentialLR against PyTorch 1.13
// (test/fixtures/optim_schedulers_extra.json, made by
// scripts/make_attention_fixtures.py): each group's lr after construction and
// after each step; resuming from a state dict; the errors.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import * as torch from '../../lib/index.js';
import * as optim from '../../lib/optim/index.js';

const { lrScheduler } = optim;

interface Spec {
  type: string;
  options?: Record<string, unknown>;
  schedulers?: Spec[];
}

interface Case {
  name: string;
  spec: Spec;
  lrs: number[][];
}

const fx = JSON.parse(readFileSync(new URL('../fixtures/optim_schedulers_extra.json', import.meta.url), 'utf8')) as { cases: Case[] };

// The fixture script's named lambdas (scripts/make_attention_fixtures.py, LAMBDAS).
const LAMBDAS: Record<string, (e: number) => number> = {
  pow095: (e) => 0.95 ** e,
  warmup5: (e) => Math.min(1, (e + 1) / 5),
  half_every_3: (e) => 0.5 ** Math.floor(e / 3),
};

interface Sched {
  step(): void;
  getLastLr(): number[];
  stateDict(): Record<string, unknown>;
  loadStateDict(sd: Record<string, unknown>): void;
}

function build(spec: Spec, opt: optim.Optimizer): Sched {
  const o: Record<string, unknown> = { ...(spec.options ?? {}) };
  if (spec.type === 'LambdaLR') {
    const f = o.lrLambda as string | string[];
    o.lrLambda = Array.isArray(f) ? f.map((n) => LAMBDAS[n]) : LAMBDAS[f];
  }
  if (spec.type === 'SequentialLR') o.schedulers = spec.schedulers!.map((s) => build(s, opt));
  const S = lrScheduler as unknown as Record<string, new (o: optim.Optimizer, opts: Record<string, unknown>) => Sched>;
  return new S[spec.type](opt, o);
}

// The fixture's optimizer: two groups, lr 0.1 and 0.01.
function sgd(): optim.Optimizer {
  return new optim.SGD([{ params: [torch.zeros([2]).requiresGrad_()] }, { params: [torch.zeros([3]).requiresGrad_()], lr: 0.01 }], {
    lr: 0.1,
  });
}

function expectClose(actual: number[], expected: number[], what: string): void {
  expect(actual.length, `${what}: number of groups`).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i];
    expect(Math.abs(a - e) <= 1e-12 * Math.max(1, Math.abs(e)), `${what}[${i}]: expected ${e}, got ${a}`).toBe(true);
  });
}

describe('LambdaLR, LinearLR and SequentialLR match PyTorch', () => {
  it('the fixture covers each scheduler', () => {
    expect(new Set(fx.cases.map((c) => c.spec.type))).toEqual(new Set(['LambdaLR', 'LinearLR', 'SequentialLR']));
  });
  for (const c of fx.cases) {
    it(c.name, () => {
      const opt = sgd();
      const sched = build(c.spec, opt);
      expectClose(sched.getLastLr(), c.lrs[0], `${c.name} after construction`);
      expectClose(
        opt.paramGroups.map((g) => g.lr),
        c.lrs[0],
        `${c.name} group lr after construction`,
      );
      for (let k = 1; k < c.lrs.length; k++) {
        opt.step();
        sched.step();
        expectClose(sched.getLastLr(), c.lrs[k], `${c.name} step ${k}`);
        expectClose(
          opt.paramGroups.map((g) => g.lr),
          c.lrs[k],
          `${c.name} step ${k} group lr`,
        );
      }
    });

    it(`${c.name}: resumes from a copy of stateDict mid-schedule`, () => {
      const opt1 = sgd();
      const s1 = build(c.spec, opt1);
      for (let k = 0; k < 7; k++) s1.step();
      // A structured clone, as torch.save keeps it (MultiStepLR's milestones are a Map).
      const sd = structuredClone(s1.stateDict());
      const opt2 = sgd();
      const s2 = build(c.spec, opt2);
      opt2.loadStateDict(opt1.stateDict());
      s2.loadStateDict(sd);
      for (let k = 8; k < c.lrs.length; k++) {
        s2.step();
        expectClose(s2.getLastLr(), c.lrs[k], `${c.name} resumed step ${k}`);
      }
    });
  }

  it("LambdaLR's state holds no functions; loading keeps the scheduler's own", () => {
    const opt = sgd();
    const s = new lrScheduler.LambdaLR(opt, (e: number) => 1 / (e + 1));
    s.step();
    const sd = s.stateDict();
    expect(sd.lrLambdas).toEqual([null, null]);
    expect(sd.lastEpoch).toBe(1);
    const s2 = new lrScheduler.LambdaLR(sgd(), (e: number) => 1 / (e + 1));
    s2.loadStateDict(sd);
    s2.step();
    expectClose(s2.getLastLr(), [0.1 / 3, 0.01 / 3], 'after load');
  });

  it('SequentialLR keeps each scheduler state under schedulers', () => {
    const opt = sgd();
    const s = new lrScheduler.SequentialLR(opt, {
      schedulers: [new lrScheduler.LinearLR(opt, { totalIters: 2 }), new lrScheduler.ExponentialLR(opt, 0.5)],
      milestones: [2],
    });
    const sd = s.stateDict();
    expect(Object.keys(sd)).toContain('milestones');
    expect((sd.schedulers as Record<string, unknown>[]).map((x) => x.name)).toEqual(['LinearLR', 'ExponentialLR']);
    expect(() => s.loadStateDict({ ...sd, schedulers: [] })).toThrow(/SequentialLR.loadStateDict: 'schedulers' must be an array of 2/);
  });
});

describe('LambdaLR, LinearLR and SequentialLR errors', () => {
  it('refuse bad arguments, naming the scheduler', () => {
    const opt = sgd();
    expect(() => new lrScheduler.LambdaLR(opt, [(e: number) => e])).toThrow(
      /LambdaLR: expected 2 lrLambdas \(one per param group\), but got 1/,
    );
    expect(() => new lrScheduler.LambdaLR(opt, 3 as never)).toThrow(/LambdaLR: lrLambda must be a function/);
    expect(() => new lrScheduler.LambdaLR(opt, (() => 'x') as never)).toThrow(/LambdaLR: lrLambda\(0\) must return a number/);
    expect(() => new lrScheduler.LinearLR(opt, { startFactor: 0 })).toThrow(
      /LinearLR: startFactor expected to be greater than 0 and at most 1, got 0/,
    );
    expect(() => new lrScheduler.LinearLR(opt, { endFactor: 1.5 })).toThrow(/LinearLR: endFactor expected to be between 0 and 1, got 1.5/);
    expect(() => new lrScheduler.LinearLR(opt, { totalIters: 0 })).toThrow(/LinearLR: totalIters must be >= 1, got 0/);
    expect(() => new lrScheduler.LinearLR(opt, { total_iters: 3 } as never)).toThrow(/did you mean 'totalIters'/);
    const a = new lrScheduler.LinearLR(opt);
    const other = sgd();
    const b = new lrScheduler.ExponentialLR(other, 0.9);
    expect(() => new lrScheduler.SequentialLR(opt, [a, b], [3])).toThrow(
      /SequentialLR: expects all schedulers to belong to the same optimizer, but got schedulers\[1\]/,
    );
    expect(() => new lrScheduler.SequentialLR(opt, [a, new lrScheduler.ExponentialLR(opt, 0.9)], [3, 5])).toThrow(
      /SequentialLR: expects one milestone fewer than schedulers, but got 2 schedulers and 2 milestones/,
    );
    expect(() => new lrScheduler.SequentialLR(opt, [], [])).toThrow(/SequentialLR: schedulers must be a non-empty array/);
    const plateau = new lrScheduler.ReduceLROnPlateau(opt);
    expect(() => new lrScheduler.SequentialLR(opt, [a, plateau as never], [2])).toThrow(
      /SequentialLR: schedulers\[1\] must be an epoch scheduler/,
    );
  });
});
