// Hostile inputs from the adversarial campaign (issue 12): zero-size and
// huge expanded tensors printed or listed, billion-entry stride-0 indices,
// integer division by zero with a rounding mode, deeply nested and cyclic
// arrays, bad repeats, Sequential.addModule, and loadStateDict with a
// transferred buffer or a polluting key. Cases that could hang run in a
// child process with a timeout (helpers/hostile-case.ts), so a regression
// fails instead of hanging the runner. Expected strings come from PyTorch
// 1.13.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import * as torch from '../../lib/index.js';
import * as nn from '../../lib/nn/index.js';
import type { Tensor } from '../../lib/tensor.js';
import { crashed, lastJson, runTs } from './helpers/child.js';

const CASE = fileURLToPath(new URL('./helpers/hostile-case.ts', import.meta.url));
const CHILD_TIMEOUT_MS = 30_000;

interface CaseResult {
  name: string;
  threw: boolean;
  type?: string;
  message?: string;
  value?: unknown;
  ms: number;
}

async function runCase(name: string): Promise<CaseResult> {
  const r = await runTs(CASE, [name], { timeoutMs: CHILD_TIMEOUT_MS });
  expect(crashed(r), `${name}: the child crashed or was killed after ${r.ms} ms (a hang?)\n${r.stderr.slice(-2000)}`).toBe(false);
  const res = lastJson<CaseResult>(r);
  expect(res, `${name}: no result from the child\n${r.stdout.slice(-1000)}\n${r.stderr.slice(-2000)}`).not.toBeNull();
  // O(1)-ish: well under a second of work, whatever the huge dims.
  expect(res!.ms, `${name} took ${res!.ms} ms`).toBeLessThan(5_000);
  return res!;
}

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('1. tolist and printing of zero-size tensors are O(1) in the huge dims', () => {
  it('tolist of [2^53-1, 0] refuses with a RangeError instead of building 2^53 lists', async () => {
    const r = await runCase('tolist-huge-empty');
    expect(r.threw).toBe(true);
    expect(r.type).toBe('RangeError');
    expect(r.message).toMatch(/^tolist: /);
    expect(r.message).toContain('[9007199254740991, 0]');
  }, 60_000);

  it('tolist of [0, 2^53-1] is [] and of [3, 0] is three empty lists (PyTorch)', async () => {
    expect((await runCase('tolist-huge-empty-inner')).value).toEqual([]);
    expect((await runCase('tolist-empty-rows')).value).toEqual([[], [], []]);
    expect(torch.empty([2, 0, 3]).tolist()).toEqual([[], []]);
    expect(torch.empty([0]).tolist()).toEqual([]);
  }, 60_000);

  it('prints tensor([], size=(9007199254740991, 0)) as PyTorch does', async () => {
    const r = await runCase('string-huge-empty');
    expect(r.threw).toBe(false);
    expect(r.value).toBe('tensor([], size=(9007199254740991, 0))');
  }, 60_000);

  it('prints the size and dtype of empty tensors as PyTorch does', () => {
    expect(String(torch.zeros(0))).toBe('tensor([])');
    expect(String(torch.empty([0, 3], { dtype: 'int64' }))).toBe('tensor([], size=(0, 3), dtype=torch.int64)');
    expect(String(torch.empty([0], { dtype: 'int64' }))).toBe('tensor([], dtype=torch.int64)');
    expect(String(torch.empty([2, 0], { dtype: 'float64', requiresGrad: true }))).toBe(
      'tensor([], size=(2, 0), dtype=torch.float64, requires_grad=True)',
    );
  });
});

describe('2. printing a huge expanded view reads only the printed corners', () => {
  it('zeros(1).expand(1e12) prints a summary', () => {
    expect(String(torch.zeros(1).expand(1e12))).toBe('tensor([0., 0., 0.,  ..., 0., 0., 0.])');
  });

  it('zeros(1).expand([1e6, 1e6]) prints a summary', () => {
    expect(String(torch.zeros(1).expand([1e6, 1e6]))).toBe(
      'tensor([[0., 0., 0.,  ..., 0., 0., 0.],\n        [0., 0., 0.,  ..., 0., 0., 0.],\n        [0., 0., 0.,  ..., 0., 0., 0.],\n' +
        '        ...,\n        [0., 0., 0.,  ..., 0., 0., 0.],\n        [0., 0., 0.,  ..., 0., 0., 0.],\n        [0., 0., 0.,  ..., 0., 0., 0.]])',
    );
  });

  it('summaries of strided views match PyTorch', () => {
    expect(String(torch.arange(10).expand([2000, 10]))).toBe(
      'tensor([[0, 1, 2,  ..., 7, 8, 9],\n        [0, 1, 2,  ..., 7, 8, 9],\n        [0, 1, 2,  ..., 7, 8, 9],\n' +
        '        ...,\n        [0, 1, 2,  ..., 7, 8, 9],\n        [0, 1, 2,  ..., 7, 8, 9],\n        [0, 1, 2,  ..., 7, 8, 9]])',
    );
    expect(String(torch.arange(2000).float().view([2, 1000, 1]).expand([2, 1000, 7]).mul(0.5))).toBe(
      'tensor([[[0.0000e+00, 0.0000e+00, 0.0000e+00,  ..., 0.0000e+00,\n          0.0000e+00, 0.0000e+00],\n' +
        '         [5.0000e-01, 5.0000e-01, 5.0000e-01,  ..., 5.0000e-01,\n          5.0000e-01, 5.0000e-01],\n' +
        '         [1.0000e+00, 1.0000e+00, 1.0000e+00,  ..., 1.0000e+00,\n          1.0000e+00, 1.0000e+00],\n' +
        '         ...,\n' +
        '         [4.9850e+02, 4.9850e+02, 4.9850e+02,  ..., 4.9850e+02,\n          4.9850e+02, 4.9850e+02],\n' +
        '         [4.9900e+02, 4.9900e+02, 4.9900e+02,  ..., 4.9900e+02,\n          4.9900e+02, 4.9900e+02],\n' +
        '         [4.9950e+02, 4.9950e+02, 4.9950e+02,  ..., 4.9950e+02,\n          4.9950e+02, 4.9950e+02]],\n\n' +
        '        [[5.0000e+02, 5.0000e+02, 5.0000e+02,  ..., 5.0000e+02,\n          5.0000e+02, 5.0000e+02],\n' +
        '         [5.0050e+02, 5.0050e+02, 5.0050e+02,  ..., 5.0050e+02,\n          5.0050e+02, 5.0050e+02],\n' +
        '         [5.0100e+02, 5.0100e+02, 5.0100e+02,  ..., 5.0100e+02,\n          5.0100e+02, 5.0100e+02],\n' +
        '         ...,\n' +
        '         [9.9850e+02, 9.9850e+02, 9.9850e+02,  ..., 9.9850e+02,\n          9.9850e+02, 9.9850e+02],\n' +
        '         [9.9900e+02, 9.9900e+02, 9.9900e+02,  ..., 9.9900e+02,\n          9.9900e+02, 9.9900e+02],\n' +
        '         [9.9950e+02, 9.9950e+02, 9.9950e+02,  ..., 9.9950e+02,\n          9.9950e+02, 9.9950e+02]]])',
    );
    expect(String(torch.tensor([true, false]).expand([600, 2]))).toBe(
      'tensor([[ True, False],\n        [ True, False],\n        [ True, False],\n        ...,\n' +
        '        [ True, False],\n        [ True, False],\n        [ True, False]])',
    );
    expect(String(torch.arange(1200, { dtype: 'int32' }))).toBe('tensor([   0,    1,    2,  ..., 1197, 1198, 1199], dtype=torch.int32)');
    expect(String(torch.tensor(1.5).expand([3, 4000]).t().index('::2'))).toBe(
      'tensor([[1.5000, 1.5000, 1.5000],\n        [1.5000, 1.5000, 1.5000],\n        [1.5000, 1.5000, 1.5000],\n        ...,\n' +
        '        [1.5000, 1.5000, 1.5000],\n        [1.5000, 1.5000, 1.5000],\n        [1.5000, 1.5000, 1.5000]])',
    );
  });
});

describe('3. advanced indexing checks the output size before any per-element pass', () => {
  const cases: [string, string][] = [
    ['index-huge', 'index'],
    ['index-huge-2d', 'index'],
    ['index-huge-empty-rest', 'index'],
    ['indexPut-huge', 'indexPut_'],
    ['indexSelect-huge', 'indexSelect'],
    ['indexSelect-huge-empty', 'indexSelect'],
    ['gather-huge', 'gather'],
    ['scatterAdd-huge', 'scatterAdd'],
    ['embedding-huge', 'embedding'],
    ['oneHot-huge', 'oneHot'],
  ];
  for (const [name, op] of cases) {
    it(`${name}: a RangeError naming ${op} and the size, at once`, async () => {
      const r = await runCase(name);
      expect(r.threw, JSON.stringify(r)).toBe(true);
      expect(r.type).toBe('RangeError');
      expect(r.message).toMatch(new RegExp(`^${op}: `));
      expect(r.message).toContain('1000000000000');
    }, 60_000);
  }

  it('ordinary indexing still works and still checks bounds', () => {
    const x = torch.arange(5);
    expect(x.index(torch.tensor([4, -1, 0])).tolist()).toEqual([4, 4, 0]);
    expect(x.index(torch.zeros(1, { dtype: 'int64' }).expand(7)).tolist()).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(() => x.index(torch.tensor([5]))).toThrow(/index 5 is out of bounds for dimension 0 with size 5/);
    expect(x.indexSelect(0, torch.tensor([1, 1])).tolist()).toEqual([1, 1]);
    expect(x.gather(0, torch.tensor([3, 2])).tolist()).toEqual([3, 2]);
  });
});

describe('4. integer division by zero with a rounding mode', () => {
  const x = torch.tensor([5, -7, 3]);
  it("div(int, 0, { roundingMode: 'floor' | 'trunc' }) throws a RangeError (PyTorch: ZeroDivisionError)", () => {
    for (const mode of ['floor', 'trunc'] as const) {
      for (const f of [
        () => torch.div(x, 0, { roundingMode: mode }),
        () => x.div(0, { roundingMode: mode }),
        () => x.div(torch.tensor([1, 0, 2]), { roundingMode: mode }),
        () => torch.div(5, torch.tensor([0, 1]), { roundingMode: mode }),
        () => x.clone().div_(0, { roundingMode: mode }),
      ]) {
        const e = thrown(f);
        expect(e).toBeInstanceOf(RangeError);
        expect(e.message).toMatch(/^div_?: ZeroDivisionError/);
        expect(e.message).toContain(mode);
      }
    }
  });

  it('rounding modes compute as PyTorch', () => {
    expect(torch.div(torch.tensor([5, -7]), torch.tensor([2, 2]), { roundingMode: 'floor' }).tolist()).toEqual([2, -4]);
    expect(torch.div(torch.tensor([5, -7]), 2, { roundingMode: 'trunc' }).tolist()).toEqual([2, -3]);
    expect(torch.div(torch.tensor([5, -7]), 2, { roundingMode: 'trunc' }).dtype).toBe('int64');
    const f = torch.div(torch.tensor([5, -7]), 2.5, { roundingMode: 'floor' });
    expect([f.dtype, f.tolist()]).toEqual(['float32', [2, -3]]);
    expect(torch.div(torch.tensor([5, -7], { dtype: 'float32' }), 2, { roundingMode: 'floor' }).tolist()).toEqual([2, -4]);
    // Floats divide by zero to infinities, with or without a rounding mode.
    expect(torch.div(torch.tensor([5, -7], { dtype: 'float32' }), 0, { roundingMode: 'floor' }).tolist()).toEqual([Infinity, -Infinity]);
    // Without a rounding mode ints true-divide to float: inf is right.
    expect(torch.div(x, 0).tolist()).toEqual([Infinity, -Infinity, Infinity]);
    expect(torch.div(x, 0, { roundingMode: null }).tolist()).toEqual([Infinity, -Infinity, Infinity]);
    expect(torch.div(torch.tensor([1, 2], { dtype: 'int32' }), 2, { roundingMode: 'floor' }).dtype).toBe('int32');
    // An empty int tensor over 0 has nothing to divide.
    expect(torch.div(torch.empty([0], { dtype: 'int64' }), 0, { roundingMode: 'floor' }).shape).toEqual([0]);
    const y = torch.tensor([7, -7]);
    y.div_(2, { roundingMode: 'floor' });
    expect(y.tolist()).toEqual([3, -4]);
  });

  it('refuses an unknown rounding mode or option as PyTorch does', () => {
    const e = thrown(() => torch.div(x, 2, { roundingMode: 'x' as never }));
    expect(e.message).toMatch(/^div: expected rounding_mode to be one of None, 'trunc', or 'floor' but found 'x'/);
    expect(thrown(() => torch.div(x, 2, { roundingmode: 'floor' } as never))).toBeInstanceOf(TypeError);
  });
});

describe('5. deeply nested input', () => {
  it('a 20,000-deep nested array throws a clear error, not a stack overflow', () => {
    let a: unknown = 0;
    for (let i = 0; i < 20000; i++) a = [a];
    const e = thrown(() => torch.tensor(a as never));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe('tensor: nested sequence is 20000 levels deep; at most 64 dims are supported');
  });

  it('64 levels are fine; 65 are not', () => {
    let a: unknown = 1;
    for (let i = 0; i < 64; i++) a = [a];
    expect(torch.tensor(a as never).ndim).toBe(64);
    expect(() => torch.tensor([a] as never)).toThrow(/^tensor: nested sequence is 65 levels deep; at most 64 dims are supported$/);
  });

  it('a cyclic array throws instead of looping forever', async () => {
    const r = await runCase('tensor-cyclic');
    expect(r.threw).toBe(true);
    expect(r.type).toBe('RangeError');
    expect(r.message).toMatch(/^tensor: nested sequence is more than 64 levels deep/);
  }, 60_000);
});

describe('6. repeat errors name repeat', () => {
  const x = torch.tensor([1, 2]);
  it('negative repeats', () => {
    let e = thrown(() => x.repeat(-1));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toBe('repeat: Trying to create tensor with negative dimension -1: [-1]');
    e = thrown(() => x.repeat(2, -3));
    expect(e.message).toBe('repeat: Trying to create tensor with negative dimension -3: [2, -3]');
  });
  it('fewer repeats than dims, non-integers', () => {
    expect(() => torch.zeros(2, 2).repeat(2)).toThrow(
      /^repeat: Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor \(got 1 repeats for a tensor of shape \[2, 2\]\)$/,
    );
    const e = thrown(() => x.repeat(1.5));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/^repeat: /);
  });
  it('huge products', () => {
    let e = thrown(() => x.repeat(2 ** 40, 2 ** 40));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toMatch(/^repeat: /);
    e = thrown(() => x.repeat(2 ** 31));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toMatch(/^repeat: /);
    expect(e.message).toContain('4294967296');
    e = thrown(() => x.repeat(2 ** 62, 2 ** 62));
    expect(e).toBeInstanceOf(RangeError);
    expect(e.message).toMatch(/^repeat: .*overflow/);
    // A zero-size result is fine however large the other dims.
    expect(x.repeat(0, 2 ** 40).shape).toEqual([0, 2 ** 41]);
    expect(x.repeat(2, 3).tolist()).toEqual([
      [1, 2, 1, 2, 1, 2],
      [1, 2, 1, 2, 1, 2],
    ]);
  });
});

describe('7. Sequential runs modules added after construction', () => {
  it('addModule / registerModule children run in registration order', () => {
    const seq = new nn.Sequential(new nn.Linear(2, 2));
    const extra = new nn.Lambda((t: Tensor) => t.mul(10));
    seq.addModule('extra', extra);
    seq.registerModule('plus', new nn.Lambda((t: Tensor) => t.add(1)));
    const lin = seq.get(0) as nn.Linear;
    const x = torch.ones(1, 2);
    const want = lin.forward(x).mul(10).add(1);
    expect(seq.forward(x).tolist()).toEqual(want.tolist());
    expect(seq.length).toBe(3);
    expect(seq.namedChildren().map(([k]) => k)).toEqual(['0', 'extra', 'plus']);
    expect(Object.keys(seq.stateDict())).toEqual(['0.weight', '0.bias']);
    // Re-registering a name replaces the module in place (a dict key).
    seq.addModule('extra', new nn.Lambda((t: Tensor) => t.mul(100)));
    expect(seq.forward(x).tolist()).toEqual(lin.forward(x).mul(100).add(1).tolist());
    expect(seq.length).toBe(3);
  });
  it('a module assigned to a field runs too, after the listed ones', () => {
    const seq = new nn.Sequential(new nn.Lambda((t: Tensor) => t.add(1))) as nn.Sequential & { last?: nn.Module };
    seq.last = new nn.Lambda((t: Tensor) => t.mul(3));
    expect(seq.forward(torch.tensor([1])).tolist()).toEqual([6]);
  });
  it('a Linear added with addModule changes the output', () => {
    const seq = new nn.Sequential();
    seq.addModule('fc', new nn.Linear(3, 1));
    expect(seq.parameters().length).toBe(2);
    expect(seq.forward(torch.ones(2, 3)).shape).toEqual([2, 1]);
  });
});

describe('8. loadStateDict checks everything before writing anything', () => {
  function detached(values: number[], shape: number[]): Tensor {
    const arr = new Float32Array(values);
    const t = torch.fromTypedArray(arr, shape);
    structuredClone(arr.buffer, { transfer: [arr.buffer] });
    return t;
  }

  it('a transferred buffer fails the load before any weight is written, with a clear message', () => {
    const lin = new nn.Linear(2, 2);
    const before = lin.weight.tolist();
    const sd = { weight: torch.full([2, 2], 7), bias: detached([1, 2], [2]) };
    const e = thrown(() => lin.loadStateDict(sd));
    expect(e.message).toMatch(/^loadStateDict: /);
    expect(e.message).toContain("the tensor for 'bias' has lost its memory (its ArrayBuffer was transferred or detached)");
    expect(e.message).not.toContain('view out of bounds');
    expect(lin.weight.tolist()).toEqual(before);
  });

  it('a forged Tensor fails the load before any weight is written', () => {
    const lin = new nn.Linear(2, 2);
    const before = lin.weight.tolist();
    const fake = Object.create(torch.Tensor.prototype) as Tensor;
    const e = thrown(() => lin.loadStateDict({ weight: torch.full([2, 2], 7), bias: fake }));
    expect(e.message).toMatch(/^loadStateDict: /);
    expect(e.message).toContain('bias');
    expect(lin.weight.tolist()).toEqual(before);
  });

  it('ops on a detached tensor say so instead of "view out of bounds"', () => {
    const t = detached([1, 2, 3, 4], [2, 2]);
    for (const f of [() => t.add(1), () => t.sum(), () => t.clone(), () => t.matmul(t), () => t.exp(), () => t.tolist()]) {
      const e = thrown(f);
      expect(e.message).toMatch(/lost its memory \(its ArrayBuffer was transferred or detached\)/);
    }
    expect(thrown(() => detached([1], [1]).item()).message).toMatch(/^item: .*lost its memory/);
  });

  it('reads own keys only: a JSON "__proto__" key is an unexpected key, and pollutes nothing', () => {
    const lin = new nn.Linear(2, 1);
    const sd = JSON.parse('{"__proto__": {"polluted": 1}, "weight": 0, "bias": 0}') as Record<string, unknown>;
    sd.weight = torch.ones(1, 2);
    sd.bias = torch.ones(1);
    expect(() => lin.loadStateDict(sd as never)).toThrow(/Unexpected key\(s\) in state_dict: "__proto__"/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const res = lin.loadStateDict(sd as never, { strict: false });
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: ['__proto__'] });
    expect(lin.weight.tolist()).toEqual([[1, 1]]);
    // Inherited keys are not entries.
    const proto = { weight: torch.zeros(1, 2), bias: torch.zeros(1) };
    const res2 = lin.loadStateDict(Object.create(proto), { strict: false });
    expect(res2.missingKeys).toEqual(['weight', 'bias']);
    expect(lin.weight.tolist()).toEqual([[1, 1]]);
  });
});
