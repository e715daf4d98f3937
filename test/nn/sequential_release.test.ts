// nn.Sequential gives each intermediate output back to the warm block cache
// once the next layer has consumed it: all of them under noGrad (Note [Sequential
// release], lib/nn/layers/container.ts), and while building a graph those
// that backward does not need. What must hold: the same outputs and
// gradients; what the caller passed in, got back, or can still reach (a
// hook's view, a Lambda's stash, a subclass's field) is never given back.
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import * as F from '../../lib/nn/functional.js';
import type { Tensor } from '../../lib/index.js';

const released = () => torch.memory.stats().released;
const vals = (t: Tensor) => Array.from(t.toTypedArray() as Float32Array);

function lenet(pool: nn.Module = new nn.MaxPool2d(2)): nn.Sequential {
  torch.manualSeed(0);
  return new nn.Sequential(
    new nn.Conv2d(1, 8, 3, { padding: 1 }),
    new nn.ReLU(),
    pool,
    new nn.Flatten(),
    new nn.Linear(8 * 8 * 8, 32),
    new nn.ReLU(),
    new nn.Dropout(0.5),
    new nn.Linear(32, 10),
  );
}

describe('nn.Sequential releases its intermediates', () => {
  it('gives back every intermediate and computes what the graph-building forward does', () => {
    const net = lenet();
    net.eval();
    torch.manualSeed(1);
    const x = torch.randn([16, 1, 16, 16]);
    const input = vals(x);
    const want = vals(net(x) as Tensor);
    const before = released();
    const got = torch.noGrad(() => net(x) as Tensor);
    // conv+relu+pool (one kernel: Note [Conv-ReLU fusion], with its
    // flattened view), linear, relu (dropout in eval returns its input): three
    // intermediates.
    expect(released() - before).toBe(3);
    expect(vals(got)).toEqual(want);
    // The blocks go to the next forward; its result is the same.
    for (let i = 0; i < 3; i++) expect(vals(torch.noGrad(() => net(x) as Tensor))).toEqual(want);
    expect(vals(x)).toEqual(input);
  });

  it('while building a graph, releases only what backward does not need, with the same gradients', () => {
    const x = torch.randn([4, 1, 16, 16]);
    const y = torch.tensor([1, 0, 3, 9]);
    // ceilMode changes nothing on a 16 x 16 map but keeps the three layers
    // apart in grad mode (Note [Conv-ReLU-pool in grad mode]), so that
    // each has an output to give back; the fused three are below.
    const grads = (run: (net: nn.Sequential) => Tensor, pool = () => new nn.MaxPool2d(2, { ceilMode: true })) => {
      const net = lenet(pool());
      torch.manualSeed(2); // the same dropout mask
      const before = released();
      const out = run(net);
      const inForward = released() - before;
      F.crossEntropy(out, y).backward();
      return { inForward, released: released() - before, grads: net.parameters().map((p) => vals(p.grad!)) };
    };
    // The layers one by one (no Sequential, nothing released early)...
    const byHand = grads((net) => {
      let h = x;
      for (const m of net.children()) h = m(h) as Tensor;
      return h;
    });
    // ...and through the Sequential, which gives back the convolution's
    // output during the forward (each ReLU saves its own output, not its
    // input), and the first ReLU's output and the pooled map, which the
    // Linear saves, once the backward has used them (Note [Saved until
    // backward]).
    const seq = grads((net) => net(x) as Tensor);
    // (backward itself gives back dead gradients and the pool's indices in
    // both runs; the Linear's 4 x 32 output is below the size the cache counts)
    expect(byHand.inForward).toBe(0);
    expect(seq.inForward).toBe(1);
    expect(seq.released - byHand.released).toBe(3);
    expect(seq.grads).toEqual(byHand.grads);
    // Fused, the convolution's map never exists as a tensor: nothing to
    // give back in the forward, and the same gradients.
    const fused = grads(
      (net) => net(x) as Tensor,
      () => new nn.MaxPool2d(2),
    );
    expect(fused.inForward).toBe(0);
    expect(fused.grads).toEqual(byHand.grads);
  });

  it('keeps what the backward saved while the graph is retained, and indices the caller asked for', () => {
    const x = torch.randn([4, 1, 16, 16]);
    const y = torch.tensor([1, 0, 3, 9]);
    const net = lenet();
    net.eval();
    const loss = F.crossEntropy(net(x) as Tensor, y);
    loss.backward({ retainGraph: true });
    const once = net.parameters().map((p) => vals(p.grad!));
    // A second backward through the same graph reads every saved tensor again.
    loss.backward();
    const twice = net.parameters().map((p) => vals(p.grad!));
    expect(twice).toEqual(once.map((g) => g.map((v) => v * 2)));
    // Indices returned to the caller are the caller's, before and after backward.
    const xi = torch.randn([2, 3, 8, 8], { requiresGrad: true });
    const { values: v, indices: idx } = F.maxPool2d(xi, 2, { returnIndices: true });
    const before = Array.from(idx.toTypedArray() as BigInt64Array);
    v.sum().backward();
    expect(Array.from(idx.toTypedArray() as BigInt64Array)).toEqual(before);
  });

  it("never releases the caller's input, even through an inplace ReLU or Dropout in eval", () => {
    const net = new nn.Sequential(new nn.ReLU({ inplace: true }), new nn.Dropout(0.2), new nn.Linear(4, 4));
    net.eval();
    const x = torch.tensor([[-1, 2, -3, 4]], { dtype: 'float32' });
    const before = released();
    torch.noGrad(() => net(x));
    expect(released()).toBe(before);
    expect(vals(x)).toEqual([0, 2, 0, 4]);
  });

  it('keeps what a hook, a Lambda or a subclass could hold', () => {
    const x = torch.randn([2, 4]);
    // A forward hook on the first layer sees its output.
    let seen: Tensor | null = null;
    const hooked = new nn.Sequential(new nn.Linear(4, 4), new nn.ReLU(), new nn.Linear(4, 2));
    const first = torch.noGrad(() => vals((hooked[0] as nn.Linear)(x)));
    hooked[0].registerForwardHook((_m, _i, out) => {
      seen = out as Tensor;
    });
    torch.noGrad(() => hooked(x));
    // A Lambda (user code) may keep its input.
    let stashed: Tensor | null = null;
    const lambda = new nn.Sequential(hooked[0], new nn.Lambda((t: Tensor) => ((stashed = t), t.mul(2))), new nn.ReLU());
    torch.noGrad(() => lambda(x));
    // A subclass of a built-in layer may keep its output.
    class Keeping extends nn.Linear {
      last: Tensor | null = null;
      override forward(t: Tensor): Tensor {
        return (this.last = super.forward(t));
      }
    }
    torch.manualSeed(0);
    const keeping = new Keeping(4, 4);
    const kept = torch.noGrad(() => vals(keeping(x)));
    torch.noGrad(() => new nn.Sequential(keeping, new nn.ReLU(), new nn.Linear(4, 2))(x));
    // A layer whose forward was replaced on the instance is user code too.
    let spied: Tensor | null = null;
    const relu = new nn.ReLU();
    const orig = relu.forward.bind(relu);
    (relu as unknown as { forward: (t: Tensor) => Tensor }).forward = (t: Tensor) => orig((spied = t));
    torch.noGrad(() => new nn.Sequential(hooked[0], relu, new nn.Linear(4, 2))(x));
    // Churn the cache, then read them all (a released one would throw).
    for (let i = 0; i < 4; i++) torch.noGrad(() => lenet()(torch.randn([16, 1, 16, 16])));
    expect(vals(seen!)).toEqual(first);
    expect(vals(stashed!)).toEqual(first);
    expect(vals(keeping.last!)).toEqual(kept);
    expect(vals(spied!)).toEqual(first);
  });

  it('a released intermediate used later throws, never reads reused memory', () => {
    // Only code that goes around the contract can hold an intermediate (a
    // patched prototype here, which the check of the layer's class cannot see).
    const net = new nn.Sequential(new nn.Linear(4, 4), new nn.ReLU(), new nn.Linear(4, 2));
    const x = torch.randn([2, 4]);
    let out: Tensor | null = null;
    const linear = net[0] as nn.Linear;
    const proto = Object.getPrototypeOf(linear) as { forward(t: Tensor): Tensor };
    const forward = proto.forward;
    proto.forward = function (this: nn.Linear, t: Tensor) {
      const y = forward.call(this, t);
      if (this === linear) out = y;
      return y;
    };
    try {
      torch.noGrad(() => net(x));
    } finally {
      proto.forward = forward;
    }
    expect(() => out!.sum()).toThrow(/disposed/);
  });
});
