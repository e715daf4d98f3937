// State dicts are data read from files and JSON: loading one must never
// reach an object's prototype, take keys the loader does not know, or
// leave a scheduler half-loaded (issue 12).
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';

const { optim } = torch;
const { lrScheduler } = optim;

function sgd(): torch.optim.Optimizer {
  return new optim.SGD([torch.zeros([2]).requiresGrad_()], { lr: 0.1, momentum: 0.9 });
}

describe('scheduler loadStateDict on hostile JSON', () => {
  it('a __proto__ key is refused and the prototype stays', () => {
    const s = new lrScheduler.StepLR(sgd(), { stepSize: 2 });
    const sd = JSON.parse('{"__proto__": {"step": 5, "getLastLr": 1}, "lastEpoch": 3}');
    expect(() => s.loadStateDict(sd)).toThrow(/StepLR\.loadStateDict: unexpected key '__proto__'/);
    expect(Object.getPrototypeOf(s)).toBe(lrScheduler.StepLR.prototype);
    expect(typeof s.step).toBe('function');
    // Nothing was written: the valid key before the bad one did not land.
    expect(s.lastEpoch).toBe(0);
    s.step();
    expect(s.lastEpoch).toBe(1);
  });

  it('ReduceLROnPlateau refuses __proto__ and constructor keys', () => {
    const s = new lrScheduler.ReduceLROnPlateau(sgd());
    for (const text of ['{"__proto__": {"isBetter": 0}}', '{"constructor": 1}', '{"step": 1}']) {
      expect(() => s.loadStateDict(JSON.parse(text))).toThrow(/ReduceLROnPlateau\.loadStateDict: unexpected key/);
    }
    expect(Object.getPrototypeOf(s)).toBe(lrScheduler.ReduceLROnPlateau.prototype);
    s.step(1);
    expect(s.getLastLr()).toEqual([0.1]);
  });

  it('a value of the wrong kind is refused, naming the key', () => {
    const s = new lrScheduler.StepLR(sgd(), { stepSize: 2 });
    expect(() => s.loadStateDict({ lastEpoch: 'x' })).toThrow(/StepLR\.loadStateDict: 'lastEpoch' must be a number, got string/);
    expect(() => s.loadStateDict({ baseLrs: [0.1, 'a'] })).toThrow(/'baseLrs'\[1\] must be a number/);
    expect(() => s.loadStateDict([] as never)).toThrow(TypeError);
    expect(() => s.loadStateDict(null as never)).toThrow(TypeError);
  });

  it('a JSON round trip still resumes every scheduler', () => {
    const opt = sgd();
    const plateau = new lrScheduler.ReduceLROnPlateau(opt, { patience: 0, factor: 0.5 });
    const again = new lrScheduler.ReduceLROnPlateau(sgd(), { patience: 0, factor: 0.5 });
    // best is Infinity, which JSON writes as null.
    again.loadStateDict(JSON.parse(JSON.stringify(plateau.stateDict())));
    plateau.step(3);
    again.step(3);
    expect(again.getLastLr()).toEqual(plateau.getLastLr());
    plateau.step(3);
    again.step(3);
    expect(again.getLastLr()).toEqual([0.05]);

    const ms = new lrScheduler.MultiStepLR(sgd(), { milestones: [2, 4, 4] });
    const ms2 = new lrScheduler.MultiStepLR(sgd(), { milestones: [9] });
    const json = JSON.parse(JSON.stringify({ ...ms.stateDict(), milestones: Object.fromEntries(ms.milestones) }));
    ms2.loadStateDict(json);
    expect([...ms2.milestones.entries()]).toEqual([
      [2, 1],
      [4, 2],
    ]);
  });
});

describe('optimizer loadStateDict on hostile JSON', () => {
  it('__proto__ keys in state and groups change no prototype', () => {
    const opt = sgd();
    const sd = JSON.parse(JSON.stringify(opt.stateDict()));
    sd.param_groups[0] = JSON.parse(`{"__proto__": {"polluted": 1}, ${JSON.stringify(sd.param_groups[0]).slice(1)}`);
    sd.state = JSON.parse('{"__proto__": {"polluted": 1}}');
    opt.loadStateDict(sd);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(opt.paramGroups[0])).toBe(Object.prototype);
    expect((opt.paramGroups[0] as Record<string, unknown>).polluted).toBeUndefined();
    expect(opt.paramGroups[0].lr).toBe(0.1);
  });
});
