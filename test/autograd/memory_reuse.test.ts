// The warm block cache (Note [Warm block cache]): memory the backward
// engine, memory.scope and dispose() give back early must never be memory a
// program can still reach. Each test keeps a tensor through one of the ways
// a gradient or a result escapes, then churns many allocations of the same
// size (which take blocks from the cache) and checks the kept values did
// not change.
import { afterEach, describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';
import { native } from '../../lib/backend/native.js';

const N = 4096; // 16 KiB of float32: above the slab size, so cached
const vals = (t: Tensor) => Array.from(t.toTypedArray() as Float32Array);

/** Backward passes and ops of size N, which reuse whatever the cache holds. */
function churn(): void {
  for (let i = 0; i < 4; i++) {
    const x = torch.full([N], 7.5, { requiresGrad: true });
    x.mul(3).exp().mul(x).sum().backward();
    torch.full([N], -1.5).mul(2).add(1);
  }
}

function ramp(): Tensor {
  return torch.arange(N, { dtype: 'float32' }).div(N);
}

afterEach(() => torch.memory.setCacheLimit(256 * 1024 * 1024));

describe('backward gives dead gradients back', () => {
  it('reuses intermediate gradients and gets the same values as without the cache', () => {
    const run = () => {
      const x = ramp().requiresGrad_();
      x.mul(2).sin().mul(x).exp().sum().backward();
      return vals(x.grad!);
    };
    torch.memory.setCacheLimit(0);
    const before = torch.memory.stats().released;
    const plain = run();
    expect(torch.memory.stats().released).toBe(before);
    torch.memory.setCacheLimit(1 << 26);
    const released = torch.memory.stats().released;
    const reused = run();
    expect(torch.memory.stats().released).toBeGreaterThan(released);
    expect(reused).toEqual(plain);
    churn();
    expect(run()).toEqual(plain);
  });

  it("gives a leaf the gradient no one else holds as its .grad, without a copy (PyTorch's AccumulateGrad steals it)", () => {
    const x = ramp().requiresGrad_();
    const y = x.mul(3).exp();
    const table = native as unknown as Record<string, (...a: unknown[]) => unknown>;
    const copy = table.copy;
    let copies = 0;
    table.copy = (...a: unknown[]) => {
      copies++;
      return copy(...a);
    };
    try {
      y.sum().backward();
    } finally {
      table.copy = copy;
    }
    expect(copies).toBe(0);
    const want = vals(y.detach().mul(3));
    churn();
    expect(vals(x.grad!)).toEqual(want);
    // The next backward sums into that .grad in place.
    x.mul(3).exp().sum().backward();
    expect(vals(x.grad!)).toEqual(want.map((v) => Math.fround(v + v)));
  });

  it('copies a gradient two leaves share, and one a hook saw', () => {
    const a = ramp().requiresGrad_(),
      b = ramp().requiresGrad_();
    // add's backward hands one tensor to both inputs.
    a.add(b).exp().sum().backward();
    expect(a.grad!._storage).not.toBe(b.grad!._storage);
    const bGrad = vals(b.grad!);
    a.grad!.add_(1);
    churn();
    expect(vals(b.grad!)).toEqual(bGrad);
    const c = ramp().requiresGrad_();
    let seen: Tensor | null = null;
    c.registerHook((g) => {
      seen = g;
    });
    c.mul(2).sum().backward();
    expect(c.grad!._storage).not.toBe(seen!._storage);
  });

  it('keeps a gradient a tensor hook stored', () => {
    const x = ramp().requiresGrad_();
    const h = x.mul(3);
    let seen: Tensor | null = null;
    h.registerHook((g) => {
      seen = g;
    });
    h.exp().sum().backward();
    const want = vals(h.detach().exp());
    churn();
    expect(vals(seen!)).toEqual(want);
  });

  it('keeps a gradient a hook returned, and .grad of leaves and retained tensors', () => {
    const x = ramp().requiresGrad_();
    const h = x.mul(2);
    h.retainGrad();
    const y = h.exp();
    y.registerHook((g) => g.mul(1));
    y.sum().backward();
    const hGrad = vals(h.grad!);
    const xGrad = vals(x.grad!);
    churn();
    expect(vals(h.grad!)).toEqual(hGrad);
    expect(vals(x.grad!)).toEqual(xGrad);
    expect(xGrad).toEqual(hGrad.map((v) => Math.fround(v * 2)));
  });

  it('keeps what autograd.grad returns, also through views', () => {
    const x = ramp().requiresGrad_();
    const y = x.view(64, 64).t().mul(x.view(64, 64).t()).reshape(N).exp().sum();
    const [g] = torch.autograd.grad(y, x);
    const want = vals(g!);
    churn();
    expect(vals(g!)).toEqual(want);
  });

  it('gives the same gradients twice with retainGraph, and with views of saved tensors', () => {
    const x = ramp().requiresGrad_();
    const v = x.view(64, 64);
    const y = v.t().mul(v).exp().sum();
    y.backward(null, { retainGraph: true });
    const first = vals(x.grad!);
    x.grad = null;
    churn();
    y.backward();
    expect(vals(x.grad!)).toEqual(first);
  });

  it('leaves double backward (createGraph) correct', () => {
    const x = ramp().requiresGrad_();
    const [g] = torch.autograd.grad(x.pow(3).sum(), x, { createGraph: true });
    churn();
    g!.sum().backward();
    const want = vals(x.detach().mul(6));
    expect(vals(x.grad!)).toEqual(want);
  });

  it('keeps gradients a custom Function backward and a module backward hook stored', () => {
    const stash: Tensor[] = [];
    class Twice extends torch.autograd.Function {
      static override forward(_ctx: unknown, a: Tensor): Tensor {
        return a.mul(2);
      }
      static override backward(_ctx: unknown, g: Tensor): Tensor {
        stash.push(g);
        return g.mul(2);
      }
    }
    const lin = new torch.nn.Linear(N, 4);
    let gradIn: Tensor | null = null;
    lin.registerFullBackwardHook((_m, gin) => {
      gradIn = gin[0];
    });
    const x = ramp().requiresGrad_();
    (lin.call((Twice.apply(x.exp()) as Tensor).view(1, N)) as Tensor).sum().backward();
    const wantStash = vals(stash[0]);
    const wantIn = vals(gradIn!);
    churn();
    expect(vals(stash[0])).toEqual(wantStash);
    expect(vals(gradIn!)).toEqual(wantIn);
  });
});

describe('dispose', () => {
  it('makes every use of the tensor and its views throw, and reuses the memory', () => {
    const t = ramp();
    const v = t.view(64, 64);
    const hits = torch.memory.stats().hits;
    t.dispose();
    expect(() => t.add(1)).toThrow(/tensor was disposed/);
    expect(() => v.sum()).toThrow(/tensor was disposed/);
    expect(() => t.index(0).item()).toThrow(/disposed/);
    const z = torch.zeros([N]);
    expect(torch.memory.stats().hits).toBe(hits + 1);
    // A reused block is zeroed where the op asks for zeros.
    expect(vals(z).every((x) => x === 0)).toBe(true);
  });

  it('works on small tensors, which share slabs, without freeing the slab', () => {
    const a = torch.tensor([1.5, 2, 3]);
    const b = torch.tensor([4.5, 5, 6]);
    a.dispose();
    expect(() => a.mul(2)).toThrow(/tensor was disposed/);
    expect(vals(b)).toEqual([4.5, 5, 6]);
  });
});

describe('memory.scope', () => {
  it('gives back what did not escape and keeps what was returned', () => {
    let inner: Tensor | null = null;
    const out = torch.memory.scope(() => {
      inner = ramp().mul(2);
      const kept = ramp().add(1);
      return { kept, list: [kept.view(64, 64)] };
    });
    expect(() => inner!.sum()).toThrow(/tensor was disposed/);
    const want = vals(ramp().add(1));
    churn();
    expect(vals(out.kept)).toEqual(want);
    expect(vals(out.list[0].reshape(N))).toEqual(want);
  });

  it('keeps .grad, parameters, optimizer state and module buffers made inside', () => {
    torch.manualSeed(0);
    const model = new torch.nn.Sequential(new torch.nn.Linear(64, 64), new torch.nn.BatchNorm1d(64));
    const opt = new torch.optim.Adam(model.parameters(), { lr: 0.01 });
    const x = torch.randn(32, 64);
    const step = () => {
      opt.zeroGrad();
      const loss = (model.forward(x) as Tensor).pow(2).mean();
      loss.backward();
      opt.step();
      return loss.item();
    };
    const extra = new (class extends torch.nn.Module {
      forward(t: Tensor): Tensor {
        return t;
      }
    })();
    torch.memory.scope(() => {
      step();
      extra.registerBuffer('b', ramp());
    });
    const w = model.parameters()[0];
    const grad = vals(w.grad!);
    const state = opt.state.get(w)!;
    const expAvg = vals(state.expAvg as Tensor);
    churn();
    expect(vals(w.grad!)).toEqual(grad);
    expect(vals(state.expAvg as Tensor)).toEqual(expAvg);
    expect(vals((extra as unknown as { b: Tensor }).b)).toEqual(vals(ramp()));
    // The same steps with and without scopes give the same losses.
    torch.manualSeed(1);
    const m2 = new torch.nn.Linear(64, 64);
    const o2 = new torch.optim.SGD(m2.parameters(), { lr: 0.1, momentum: 0.9 });
    torch.manualSeed(1);
    const m3 = new torch.nn.Linear(64, 64);
    const o3 = new torch.optim.SGD(m3.parameters(), { lr: 0.1, momentum: 0.9 });
    for (let i = 0; i < 5; i++) {
      const l2 = torch.memory.scope(() => {
        o2.zeroGrad();
        const l = m2.forward(x).pow(2).mean();
        l.backward();
        o2.step();
        return l.item();
      });
      o3.zeroGrad();
      const l3 = m3.forward(x).pow(2).mean();
      l3.backward();
      o3.step();
      expect(l2).toBe(l3.item());
    }
  });

  it('keeps tensors passed to keep() and what escapes an inner scope until the outer one ends', () => {
    let kept: Tensor | null = null;
    let fromInner: Tensor | null = null;
    torch.memory.scope(() => {
      kept = torch.memory.keep(ramp().mul(3));
      fromInner = torch.memory.scope(() => ramp().mul(4));
      expect(vals(fromInner)[1]).toBe(Math.fround(Math.fround(1 / N) * 4));
    });
    churn();
    expect(vals(kept!)).toEqual(vals(ramp().mul(3)));
    expect(() => fromInner!.sum()).toThrow(/tensor was disposed/);
  });

  it('leaves module backward hooks working after their first use inside a scope', () => {
    const lin = new torch.nn.Linear(N, 2);
    let calls = 0;
    lin.registerFullBackwardHook(() => {
      calls++;
    });
    const run = () => (lin.call(ramp().view(1, N)) as Tensor).sum().backward();
    torch.memory.scope(run);
    run();
    expect(calls).toBe(2);
  });

  it('keeps a typed array handed out inside', () => {
    const arr = torch.memory.scope(() => ramp().mul(5).toTypedArray() as Float32Array);
    const want = Array.from(arr);
    churn();
    expect(Array.from(arr)).toEqual(want);
  });

  it('refuses an async function and gives nothing back', () => {
    let t: Tensor | null = null;
    expect(() =>
      torch.memory.scope(() => {
        t = ramp();
        return Promise.resolve(1);
      }),
    ).toThrow(/must be synchronous/);
    expect(vals(t!)[0]).toBe(0);
    expect(() => torch.memory.scope(5 as unknown as () => void)).toThrow(/expected a function/);
  });
});

describe('cache limits', () => {
  it('holds nothing with a limit of 0 and empties on request', () => {
    ramp().dispose();
    expect(torch.memory.stats().cachedBytes).toBeGreaterThan(0);
    torch.memory.emptyCache();
    expect(torch.memory.stats().cachedBytes).toBe(0);
    torch.memory.setCacheLimit(0);
    ramp().dispose();
    expect(torch.memory.stats().cachedBytes).toBe(0);
    expect(() => torch.memory.setCacheLimit(-1)).toThrow(/setCacheLimit/);
  });

  it('drops the oldest blocks above the cap', () => {
    torch.memory.emptyCache();
    torch.memory.setCacheLimit(3 * N * 4);
    const ts = [ramp(), ramp(), ramp(), ramp(), ramp()];
    for (const t of ts) t.dispose();
    expect(torch.memory.stats().cachedBytes).toBe(3 * N * 4);
  });
});
