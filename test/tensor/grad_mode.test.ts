// Grad mode (noGrad / enableGrad / setGradEnabled), sync and across awaits
// (Note [Grad mode across awaits] in lib/autograd/grad_mode.ts).
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import { DataLoader } from '../../lib/data/index.js';
import { SlowFeatures } from '../data/worker_dataset.js';

const tick = () => new Promise<void>((r) => setTimeout(r, 1));
const w = torch.tensor([1, 2], { requiresGrad: true });
const records = () => w.mul(2).requiresGrad;

describe('grad mode, sync', () => {
  it('noGrad and enableGrad nest, restore and pass the value through', () => {
    expect(torch.isGradEnabled()).toBe(true);
    const r = torch.noGrad(() => {
      expect(records()).toBe(false);
      const inner = torch.enableGrad(() => records());
      expect(inner).toBe(true);
      expect(torch.isGradEnabled()).toBe(false);
      return 42;
    });
    expect(r).toBe(42);
    expect(torch.isGradEnabled()).toBe(true);
  });

  it('setGradEnabled sets the mode, or runs a function in it', () => {
    torch.setGradEnabled(false);
    try {
      expect(records()).toBe(false);
      expect(torch.setGradEnabled(true, () => records())).toBe(true);
      expect(torch.isGradEnabled()).toBe(false);
    } finally {
      torch.setGradEnabled(true);
    }
    expect(torch.setGradEnabled(false, () => torch.isGradEnabled())).toBe(false);
    expect(torch.isGradEnabled()).toBe(true);
    expect(() => torch.setGradEnabled(0 as never)).toThrow(/setGradEnabled: flag must be a boolean, got number/);
  });

  it('an error thrown inside restores the mode', () => {
    expect(() =>
      torch.noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(torch.isGradEnabled()).toBe(true);
    expect(() => torch.noGrad(42 as never)).toThrow(/noGrad: expected a function/);
  });

  it('refuses a plain function that returns a Promise, naming the fix', async () => {
    let later = true;
    const work = async () => {
      await tick();
      later = torch.isGradEnabled();
    };
    expect(() => torch.noGrad(() => work())).toThrow(/noGrad: the function returned a Promise but is not an async function.*noGrad\(async/);
    expect(torch.isGradEnabled()).toBe(true);
    await tick();
    await tick();
    expect(later).toBe(true); // why it is refused: the mode did not hold
  });
});

describe('grad mode across awaits', () => {
  it('holds across awaits and restores after', async () => {
    const seen: boolean[] = [];
    const p = torch.noGrad(async () => {
      seen.push(records());
      await tick();
      seen.push(records());
      await Promise.resolve();
      seen.push(torch.isGradEnabled());
      return 'done';
    });
    expect(torch.isGradEnabled()).toBe(true); // the caller's code right after the call
    expect(await p).toBe('done');
    expect(seen).toEqual([false, false, false]);
    expect(torch.isGradEnabled()).toBe(true);
    expect(records()).toBe(true);
  });

  it('holds in the async functions it awaits, and nested blocks keep their own mode', async () => {
    const inner = async () => {
      await tick();
      return torch.isGradEnabled();
    };
    const seen = await torch.noGrad(async () => {
      const a = await inner();
      const b = await torch.enableGrad(async () => {
        await tick();
        const x = records();
        const y = torch.noGrad(() => torch.isGradEnabled()); // sync inside async
        await tick();
        return [x, y, torch.isGradEnabled()];
      });
      await tick();
      return [a, ...b, torch.isGradEnabled()];
    });
    expect(seen).toEqual([false, true, false, true, false]);
  });

  it('does not leak into concurrent code, and concurrent scopes keep different modes', async () => {
    const outside: boolean[] = [];
    let running = true;
    const watcher = (async () => {
      while (running) {
        outside.push(torch.isGradEnabled());
        await tick();
      }
    })();
    const scope = async () => {
      const seen: boolean[] = [];
      for (let i = 0; i < 5; i++) {
        await tick();
        seen.push(w.add(1).requiresGrad);
      }
      return seen;
    };
    const [off, on, set] = await Promise.all([torch.noGrad(scope), torch.enableGrad(scope), torch.setGradEnabled(false, scope)]);
    running = false;
    await watcher;
    expect(off).toEqual([false, false, false, false, false]);
    expect(on).toEqual([true, true, true, true, true]);
    expect(set).toEqual([false, false, false, false, false]);
    expect(outside.length).toBeGreaterThan(1);
    expect(outside.every((m) => m)).toBe(true);
  });

  it('setGradEnabled inside a scope changes that scope only', async () => {
    const seen = await torch.enableGrad(async () => {
      torch.setGradEnabled(false);
      await tick();
      const a = torch.isGradEnabled();
      torch.setGradEnabled(true);
      await tick();
      return [a, torch.isGradEnabled()];
    });
    expect(seen).toEqual([false, true]);
    expect(torch.isGradEnabled()).toBe(true);
  });

  it('a rejection inside restores the mode and passes the error through', async () => {
    await expect(
      torch.noGrad(async () => {
        await tick();
        throw new Error('async boom');
      }),
    ).rejects.toThrow('async boom');
    expect(torch.isGradEnabled()).toBe(true);
    expect(records()).toBe(true);
    // Once no scope is in flight, sync blocks work as before.
    expect(torch.noGrad(() => torch.isGradEnabled())).toBe(false);
  });

  it('holds inside for await over a DataLoader with workers', async () => {
    // SlowFeatures tells the workers how to build it (its workerSpec()).
    const loader = new DataLoader(new SlowFeatures(12, 3, 10), { batchSize: 4, numWorkers: 2 });
    const lin = torch.tensor([[1], [2], [3]], { dtype: 'float32', requiresGrad: true });
    const seen = await torch
      .noGrad(async () => {
        const s: boolean[] = [];
        for await (const [x] of loader) s.push(x.matmul(lin).requiresGrad);
        return s;
      })
      .finally(() => loader.close());
    expect(seen).toEqual([false, false, false]);
    expect(torch.ones(1, 3).matmul(lin).requiresGrad).toBe(true);
  });
});
