// nn.Module machinery: member discovery and naming, modes, gradients, state
// dicts, buffers, apply, dtype conversion and printing.
import { describe, it, expect } from 'vitest';
import * as torch from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import type { Tensor } from '../../lib/tensor.js';

class Block extends nn.Module {
  fc: nn.Linear;
  scale: nn.Parameter;
  constructor(n: number) {
    super();
    this.fc = new nn.Linear(n, n);
    this.scale = new nn.Parameter(torch.ones(n));
  }
  forward(x: Tensor): Tensor {
    return this.fc.forward(x).mul(this.scale);
  }
}

class Net extends nn.Module {
  stem: nn.Linear;
  blocks: Block[];
  heads: nn.ModuleList;
  features: nn.Sequential;
  gamma: nn.Parameter;
  notAParam: Tensor;
  constructor() {
    super();
    this.stem = new nn.Linear(3, 4);
    this.blocks = [new Block(4), new Block(4)];
    this.heads = new nn.ModuleList([new nn.Linear(4, 2), new nn.Linear(4, 1, { bias: false })]);
    this.features = new nn.Sequential(new nn.Linear(4, 4), new nn.Identity(), new nn.Linear(4, 4));
    // Assigned after the children, yet listed first: PyTorch lists a module's
    // own parameters before its children's.
    this.gamma = new nn.Parameter(torch.zeros(1));
    this.notAParam = torch.zeros(2);
  }
  forward(x: Tensor): Tensor {
    let h = this.stem.forward(x);
    for (const b of this.blocks) h = b.forward(h);
    h = this.features.forward(h);
    return (this.heads.get(0).forward(h) as Tensor).sum().add(this.gamma.sum());
  }
}

const NET_PARAMS = [
  'gamma',
  'stem.weight',
  'stem.bias',
  'blocks.0.scale',
  'blocks.0.fc.weight',
  'blocks.0.fc.bias',
  'blocks.1.scale',
  'blocks.1.fc.weight',
  'blocks.1.fc.bias',
  'heads.0.weight',
  'heads.0.bias',
  'heads.1.weight',
  'features.0.weight',
  'features.0.bias',
  'features.2.weight',
  'features.2.bias',
];

class WithBuffers extends nn.Module {
  w: nn.Parameter;
  declare running: Tensor;
  declare scratch: Tensor;
  declare count: Tensor;
  constructor() {
    super();
    this.w = new nn.Parameter(torch.ones(3));
    this.registerBuffer('running', torch.zeros(3));
    this.registerBuffer('scratch', torch.ones(2), false);
    this.registerBuffer('count', torch.tensor(0, { dtype: 'int64' }));
  }
  forward(x: Tensor): Tensor {
    return x.mul(this.w).add(this.running);
  }
}

describe('nn.Parameter', () => {
  it('is a leaf Tensor that shares memory with its source and requires grad', () => {
    const t = torch.tensor([1, 2, 3], { dtype: 'float32' });
    const p = new nn.Parameter(t);
    expect(p).toBeInstanceOf(torch.Tensor);
    expect(p.requiresGrad).toBe(true);
    expect(p.isLeaf).toBe(true);
    expect(t.requiresGrad).toBe(false);
    t.fill_(7);
    expect(p.tolist()).toEqual([7, 7, 7]);
    expect(new nn.Parameter(t, false).requiresGrad).toBe(false);
  });

  it('detaches from the source graph', () => {
    const a = torch.ones(2, { requiresGrad: true });
    const p = new nn.Parameter(a.mul(2));
    expect(p.isLeaf).toBe(true);
    expect(p.gradFn).toBeNull();
    p.sum().backward();
    expect(a.grad).toBeNull();
    expect(p.grad!.tolist()).toEqual([1, 1]);
  });

  it('prints as PyTorch does', () => {
    expect(String(new nn.Parameter(torch.zeros(2)))).toBe('Parameter containing:\ntensor([0., 0.], requires_grad=True)');
    expect(String(new nn.Parameter(torch.zeros(2), false))).toBe('Parameter containing:\ntensor([0., 0.])');
  });

  it('rejects a non-tensor and an integer tensor that requires grad', () => {
    expect(() => new nn.Parameter([1, 2] as never)).toThrow(/Parameter: expected a Tensor/);
    expect(() => new nn.Parameter(torch.tensor([1, 2]))).toThrow(/floating point/);
    expect(new nn.Parameter(torch.tensor([1, 2]), false).dtype).toBe('int64');
  });

  it('detach() and ops give plain Tensors, not Parameters', () => {
    const p = new nn.Parameter(torch.ones(2));
    expect(p.detach()).not.toBeInstanceOf(nn.Parameter);
    expect(p.mul(2)).not.toBeInstanceOf(nn.Parameter);
  });
});

describe('Module member discovery', () => {
  it('names parameters with dotted paths through arrays, ModuleList and Sequential', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual(NET_PARAMS);
    expect(net.parameters().length).toBe(NET_PARAMS.length);
    expect(net.parameters()[0]).toBe(net.gamma);
    expect(net.parameters()[1]).toBe(net.stem.weight);
  });

  it('ignores plain tensors and non-module fields', () => {
    const net = new Net();
    expect(net.parameters().includes(net.notAParam as nn.Parameter)).toBe(false);
    expect(net.stateDict()).not.toHaveProperty('notAParam');
  });

  it('lists children and modules as PyTorch does', () => {
    const net = new Net();
    expect(net.namedChildren().map(([n]) => n)).toEqual(['stem', 'blocks.0', 'blocks.1', 'heads', 'features']);
    expect(net.children()[3]).toBe(net.heads);
    expect(net.namedModules().map(([n]) => n)).toEqual([
      '',
      'stem',
      'blocks.0',
      'blocks.0.fc',
      'blocks.1',
      'blocks.1.fc',
      'heads',
      'heads.0',
      'heads.1',
      'features',
      'features.0',
      'features.1',
      'features.2',
    ]);
    expect(net.modules()[0]).toBe(net);
    expect(net.modules().length).toBe(13);
  });

  it('lists a shared parameter or module once', () => {
    class Tied extends nn.Module {
      a = new nn.Linear(2, 2);
      b = this.a;
      w: nn.Parameter;
      constructor() {
        super();
        this.w = this.a.weight;
      }
      forward(x: Tensor): Tensor {
        return this.b.forward(this.a.forward(x));
      }
    }
    const m = new Tied();
    expect(m.namedParameters().map(([n]) => n)).toEqual(['w', 'a.bias']);
    expect(m.children().length).toBe(1);
    // A state dict keeps every name, as PyTorch's does.
    expect(Object.keys(m.stateDict())).toEqual(['w', 'a.weight', 'a.bias', 'b.weight', 'b.bias']);
  });

  it('recurse: false gives only own parameters', () => {
    const net = new Net();
    expect(net.namedParameters({ recurse: false }).map(([n]) => n)).toEqual(['gamma']);
    expect(net.namedParameters({ prefix: 'model' })[1][0]).toBe('model.stem.weight');
  });

  it('finds a parameter assigned later or replaced', () => {
    const net = new Net();
    const p = new nn.Parameter(torch.ones(3));
    (net as unknown as { extra: nn.Parameter }).extra = p;
    expect(net.namedParameters().map(([n]) => n)).toContain('extra');
    net.stem = new nn.Linear(3, 4, { bias: false });
    expect(net.namedParameters().map(([n]) => n)).not.toContain('stem.bias');
  });

  it('registerParameter and addModule behave as assignment', () => {
    class M extends nn.Module {
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const m = new M();
    m.registerParameter('p', new nn.Parameter(torch.ones(2)));
    m.registerParameter('q', null);
    m.addModule('sub', new nn.Linear(2, 2));
    expect(m.namedParameters().map(([n]) => n)).toEqual(['p', 'sub.weight', 'sub.bias']);
    expect(m.getSubmodule('sub')).toBeInstanceOf(nn.Linear);
    expect(m.getParameter('sub.bias').shape).toEqual([2]);
    expect(() => m.registerParameter('r', torch.ones(2) as nn.Parameter)).toThrow(/registerParameter: cannot assign 'Tensor'/);
    expect(() => m.registerParameter('a.b', null)).toThrow(/can't contain "\."/);
    expect(() => m.addModule('x', {} as nn.Module)).toThrow(/addModule: object is not a Module/);
    expect(() => m.getSubmodule('nope')).toThrow(/getSubmodule: M has no submodule 'nope'/);
  });
});

describe('buffers', () => {
  it('are listed, saved when persistent, and kept out of parameters()', () => {
    const m = new WithBuffers();
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['running', 'scratch', 'count']);
    expect(m.buffers()[0]).toBe(m.running);
    expect(m.parameters().length).toBe(1);
    expect(Object.keys(m.stateDict())).toEqual(['w', 'running', 'count']);
  });

  it('follow reassignment of the field', () => {
    const m = new WithBuffers();
    const t = torch.full([3], 5);
    m.running = t;
    expect(m.getBuffer('running')).toBe(t);
    expect(m.stateDict().running.tolist()).toEqual([5, 5, 5]);
  });

  it('a null buffer is skipped', () => {
    const m = new WithBuffers();
    m.registerBuffer('maybe', null);
    expect(m.namedBuffers().map(([n]) => n)).not.toContain('maybe');
  });

  it('nest with dotted names', () => {
    const s = new nn.Sequential(new nn.Linear(3, 3), new WithBuffers());
    expect(s.namedBuffers().map(([n]) => n)).toEqual(['1.running', '1.scratch', '1.count']);
    expect(Object.keys(s.stateDict())).toEqual(['0.weight', '0.bias', '1.w', '1.running', '1.count']);
  });

  it('reject bad names and values', () => {
    const m = new WithBuffers();
    expect(() => m.registerBuffer('w', torch.ones(3))).toThrow(/registerBuffer: attribute 'w' already exists/);
    expect(() => m.registerBuffer('', torch.ones(3))).toThrow(/empty/);
    expect(() => m.registerBuffer('x', [1, 2] as never)).toThrow(/registerBuffer: cannot assign 'object'/);
  });
});

describe('train / eval', () => {
  it('propagates to every submodule and returns the module', () => {
    const net = new Net();
    expect(net.modules().every((m) => m.training)).toBe(true);
    expect(net.eval()).toBe(net);
    expect(net.modules().every((m) => !m.training)).toBe(true);
    net.train();
    expect(net.modules().every((m) => m.training)).toBe(true);
    net.train(false);
    expect(net.features.get(1).training).toBe(false);
    expect(() => net.train('yes' as never)).toThrow(/train: mode must be a boolean/);
  });
});

describe('zeroGrad', () => {
  it('sets grads to null by default and to zeros with setToNone: false', () => {
    const net = new Net();
    net.forward(torch.randn(5, 3)).backward();
    const used = net.parameters().filter((p) => p.grad !== null);
    expect(used.length).toBeGreaterThan(10);
    net.zeroGrad({ setToNone: false });
    for (const p of used) {
      expect(p.grad).not.toBeNull();
      expect(p.grad!.abs().sum().item()).toBe(0);
    }
    net.forward(torch.randn(5, 3)).backward();
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it('gradients accumulate until zeroed', () => {
    const lin = new nn.Linear(2, 1);
    const x = torch.tensor([[1, 2]], { dtype: 'float32' });
    lin.forward(x).sum().backward();
    lin.forward(x).sum().backward();
    expect(lin.weight.grad!.tolist()).toEqual([[2, 4]]);
    lin.zeroGrad();
    lin.forward(x).sum().backward();
    expect(lin.weight.grad!.tolist()).toEqual([[1, 2]]);
  });

  it('requiresGrad_(false) freezes every parameter', () => {
    const net = new Net();
    net.requiresGrad_(false);
    expect(net.parameters().every((p) => !p.requiresGrad)).toBe(true);
  });
});

describe('stateDict / loadStateDict', () => {
  it('stateDict holds detached tensors sharing memory with the parameters', () => {
    const lin = new nn.Linear(3, 2);
    const sd = lin.stateDict();
    expect(Object.keys(sd)).toEqual(['weight', 'bias']);
    expect(sd.weight.requiresGrad).toBe(false);
    expect(sd.weight).not.toBeInstanceOf(nn.Parameter);
    torch.noGrad(() => lin.weight.fill_(3));
    expect(sd.weight.tolist()).toEqual([
      [3, 3, 3],
      [3, 3, 3],
    ]);
    expect(lin.stateDict({ keepVars: true }).weight).toBe(lin.weight);
  });

  it('round-trips between two models and copies in place', () => {
    torch.manualSeed(1);
    const a = new Net();
    const b = new Net();
    const w = b.stem.weight;
    expect(b.stem.weight.equal(a.stem.weight)).toBe(false);
    const res = b.loadStateDict(a.stateDict());
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(b.stem.weight).toBe(w);
    expect(b.stem.weight.requiresGrad).toBe(true);
    for (const [k, v] of Object.entries(a.stateDict())) expect(b.stateDict()[k].equal(v), k).toBe(true);
    // The copy owns its memory.
    torch.noGrad(() => a.stem.weight.fill_(0));
    expect(b.stem.weight.abs().sum().item()).toBeGreaterThan(0);
    const x = torch.randn(2, 3);
    expect(b.forward(x).item()).not.toBe(a.forward(x).item());
  });

  it('accepts a Map and converts the dtype of the source', () => {
    const lin = new nn.Linear(2, 1);
    lin.loadStateDict(
      new Map([
        ['weight', torch.tensor([[1, 2]], { dtype: 'float64' })],
        ['bias', torch.tensor([0.5])],
      ]),
    );
    expect(lin.weight.dtype).toBe('float32');
    expect(lin.weight.tolist()).toEqual([[1, 2]]);
    expect(lin.bias!.tolist()).toEqual([0.5]);
  });

  it('loads buffers, including integer ones, and not non-persistent ones', () => {
    const m = new WithBuffers();
    const sd = { w: torch.full([3], 2), running: torch.tensor([1, 2, 3]), count: torch.tensor(7, { dtype: 'int64' }) };
    m.loadStateDict(sd);
    expect(m.running.tolist()).toEqual([1, 2, 3]);
    expect(m.count.item()).toBe(7);
    expect(m.count.dtype).toBe('int64');
    expect(() => m.loadStateDict({ ...sd, scratch: torch.ones(2) })).toThrow(/Unexpected key\(s\) in state_dict: "scratch"/);
  });

  it('strict: names missing and unexpected keys and writes nothing', () => {
    const lin = new nn.Linear(2, 2);
    const before = lin.weight.clone();
    const sd = { weight: torch.zeros(2, 2), extra: torch.ones(1) };
    let msg = '';
    try {
      lin.loadStateDict(sd);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^loadStateDict: error\(s\) in loading state_dict for Linear/);
    expect(msg).toContain('Missing key(s) in state_dict: "bias".');
    expect(msg).toContain('Unexpected key(s) in state_dict: "extra".');
    expect(lin.weight.equal(before)).toBe(true);
  });

  it('strict: false loads what matches and reports the rest', () => {
    const lin = new nn.Linear(2, 2);
    const res = lin.loadStateDict({ weight: torch.zeros(2, 2), extra: torch.ones(1) }, { strict: false });
    expect(res).toEqual({ missingKeys: ['bias'], unexpectedKeys: ['extra'] });
    expect(lin.weight.abs().sum().item()).toBe(0);
  });

  it('a shape mismatch names the key and both shapes, even when not strict', () => {
    const net = new Net();
    const sd = net.stateDict();
    sd['heads.0.weight'] = torch.zeros(3, 4);
    const msg =
      /size mismatch for heads\.0\.weight: copying a param with shape \[3, 4\] from checkpoint, the shape in current model is \[2, 4\]/;
    expect(() => net.loadStateDict(sd)).toThrow(msg);
    expect(() => net.loadStateDict(sd, { strict: false })).toThrow(msg);
  });

  it('rejects values that are not tensors', () => {
    const lin = new nn.Linear(2, 2);
    expect(() =>
      lin.loadStateDict({
        weight: [
          [1, 2],
          [3, 4],
        ] as never,
        bias: torch.zeros(2),
      }),
    ).toThrow(/"weight", expected a Tensor/);
    expect(() => lin.loadStateDict(null as never)).toThrow(TypeError);
  });
});

describe('apply', () => {
  it('visits children before the parent, each module once', () => {
    const s = new nn.Sequential(new nn.Linear(2, 2), new nn.Sequential(new nn.Identity(), new nn.Linear(2, 1)));
    const seen: string[] = [];
    expect(s.apply((m) => seen.push(m.constructor.name))).toBe(s);
    expect(seen).toEqual(['Linear', 'Identity', 'Linear', 'Sequential', 'Sequential']);
  });

  it('can re-initialise weights', () => {
    const net = new Net();
    net.apply((m) => {
      if (m instanceof nn.Linear) nn.init.zeros_(m.weight);
    });
    expect(net.stem.weight.abs().sum().item()).toBe(0);
    expect(net.features.get(2) instanceof nn.Linear && (net.features.get(2) as nn.Linear).weight.abs().sum().item()).toBe(0);
  });
});

describe('to(dtype | device)', () => {
  it('converts floating parameters and buffers in place, keeping the Parameter objects', () => {
    const m = new WithBuffers();
    const w = m.w;
    m.w.sum().backward();
    expect(m.to('float64')).toBe(m);
    expect(m.w).toBe(w);
    expect(m.w.dtype).toBe('float64');
    expect(m.w.requiresGrad).toBe(true);
    expect(m.w.grad!.dtype).toBe('float64');
    expect(m.running.dtype).toBe('float64');
    expect(m.scratch.dtype).toBe('float64');
    expect(m.count.dtype).toBe('int64');
    const y = m.forward(torch.ones(3, { dtype: 'float64' }));
    expect(y.dtype).toBe('float64');
    m.float();
    expect(m.w.dtype).toBe('float32');
  });

  it('double() makes a whole net run in float64', () => {
    const net = new Net().double();
    expect(net.parameters().every((p) => p.dtype === 'float64')).toBe(true);
    expect(net.forward(torch.randn(2, 3, { dtype: 'float64' })).dtype).toBe('float64');
  });

  it("'cpu' is a no-op; 'cuda' without a GPU and integer dtypes throw", () => {
    const lin = new nn.Linear(2, 2);
    const w = lin.weight;
    expect(lin.to('cpu')).toBe(lin);
    expect(lin.to({ device: 'cpu', dtype: 'float32' })).toBe(lin);
    expect(lin.weight).toBe(w);
    if (!torch.cuda.isAvailable()) {
      expect(() => lin.to('cuda')).toThrow(/^Module\.to: CUDA is not available: /);
      expect(() => lin.cuda()).toThrow(/^Module\.to: CUDA is not available: /);
    }
    expect(() => lin.to('int64')).toThrow(/only accepts floating point dtypes/);
    expect(() => lin.to('tpu')).toThrow(TypeError);
  });
});

describe('printing', () => {
  it('nests children with indices and indentation as PyTorch does', () => {
    const s = new nn.Sequential(new nn.Linear(2, 3), new nn.Sequential(new nn.Identity(), new nn.Linear(3, 1)), new nn.Flatten());
    expect(String(s)).toBe(
      [
        'Sequential(',
        '  (0): Linear(in_features=2, out_features=3, bias=True)',
        '  (1): Sequential(',
        '    (0): Identity()',
        '    (1): Linear(in_features=3, out_features=1, bias=True)',
        '  )',
        '  (2): Flatten(start_dim=1, end_dim=-1)',
        ')',
      ].join('\n'),
    );
  });

  it('names a subclass and its fields', () => {
    expect(String(new Block(2))).toBe('Block(\n  (fc): Linear(in_features=2, out_features=2, bias=True)\n)');
    expect(String(new WithBuffers())).toBe('WithBuffers()');
  });
});
