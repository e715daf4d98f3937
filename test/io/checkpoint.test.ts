// torch.save / torch.load of whole checkpoints (issue 15):
// { epoch, model, optimizer, scheduler, generator state, loss, config }
// round trips with its types, the file is a safetensors file every tensor
// of which a safetensors reader finds, what cannot be saved is refused by
// its path, damaged structures are refused by torch.load, and training
// resumed from a checkpoint in fresh objects matches training straight
// through bit for bit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../lib/index.js';
import { REGISTER_TS, REPO_ROOT } from '../reliability/helpers/child.js';

type Tensor = torch.Tensor;
const { nn, optim } = torch;
const F = nn.functional;
const { DataLoader, TensorDataset } = torch.utils.data;
const KEY = 'kindling.structure';
const SAVE_LOOP = fileURLToPath(new URL('./helpers/checkpoint-save-loop.ts', import.meta.url));

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'kindling-checkpoint-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});
let fileNo = 0;
const fresh = () => join(tmp, `ckpt-${fileNo++}.safetensors`);

const bytesOf = (t: Tensor) => {
  const a = t.contiguous().toTypedArray();
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
};

/** Deep equality of saved values: same types (Map, array, bigint), Object.is for numbers, tensors bit for bit. */
function expectSameValue(got: unknown, want: unknown, path = 'obj'): void {
  if (want instanceof torch.Tensor) {
    expect(got, path).toBeInstanceOf(torch.Tensor);
    const g = got as Tensor;
    expect(g.dtype, path).toBe(want.dtype);
    expect(g.shape, path).toEqual(want.shape);
    expect(bytesOf(g).equals(bytesOf(want)), `${path}: ${String(g)} vs ${String(want)}`).toBe(true);
    expect(g.requiresGrad, path).toBe(false);
    return;
  }
  if (want instanceof Map) {
    expect(got, path).toBeInstanceOf(Map);
    const g = got as Map<unknown, unknown>;
    expect([...g.keys()], path).toEqual([...want.keys()]);
    for (const [k, v] of want) expectSameValue(g.get(k), v, `${path}.get(${String(k)})`);
    return;
  }
  if (Array.isArray(want)) {
    expect(Array.isArray(got), path).toBe(true);
    expect((got as unknown[]).length, path).toBe(want.length);
    want.forEach((v, i) => expectSameValue((got as unknown[])[i], v, `${path}[${i}]`));
    return;
  }
  if (want !== null && typeof want === 'object') {
    expect(got !== null && typeof got === 'object' && !Array.isArray(got) && !(got instanceof Map), path).toBe(true);
    expect(Object.getPrototypeOf(got), path).toBe(Object.prototype);
    expect(Object.keys(got as object), path).toEqual(Object.keys(want));
    for (const k of Object.keys(want))
      expectSameValue((got as Record<string, unknown>)[k], (want as Record<string, unknown>)[k], `${path}.${k}`);
    return;
  }
  expect(typeof got, path).toBe(typeof want);
  expect(Object.is(got, want), `${path}: ${String(got)} vs ${String(want)}`).toBe(true);
}

/** The header of a safetensors file: its declared length and the parsed JSON. */
function header(path: string): { n: number; json: Record<string, unknown>; bytes: Buffer } {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  return { n, json: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>, bytes };
}

/** The file with its structure metadata replaced by `structure` (other entries and the data kept). */
function withStructure(path: string, structure: string): string {
  const { n, json, bytes } = header(path);
  const meta = { ...(json.__metadata__ as Record<string, string>), [KEY]: structure };
  const text = Buffer.from(JSON.stringify({ ...json, __metadata__: meta }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  const out = fresh();
  writeFileSync(out, Buffer.concat([len, text, bytes.subarray(8 + n)]));
  return out;
}

/** Every kind of value a checkpoint may hold. */
function everyKind(): Record<string, unknown> {
  return {
    epoch: 7,
    loss: 0.1 + 0.2,
    tiny: Number.MIN_VALUE,
    big: Number.MAX_VALUE,
    special: [NaN, Infinity, -Infinity, -0, 0],
    ids: [2n ** 64n + 1n, -(2n ** 70n), 0n],
    text: 'héllo, "quoted" \\ \n\u2028 😀',
    lone: '\ud800',
    flags: [true, false],
    none: null,
    empty: { obj: {}, arr: [], map: new Map() },
    // Integer-like keys come first in a JS object, in both directions.
    order: { b: 1, 2: 'two', a: 3, 1: 'one' },
    odd: { 'a.b': 1, '': 2, __proto__x: 3, ['__proto__']: 4 } as Record<string, unknown>,
    tagLike: { $tensor: 'not a tensor' },
    tagLike2: { $map: [], other: 1 },
    keys: new Map<unknown, unknown>([
      ['s', 1],
      [3, 'three'],
      [NaN, 'nan'],
      [-Infinity, 'low'],
      [5n, 'big'],
      [true, 'yes'],
      [null, 'nothing'],
      ['w', torch.tensor([1.5, 2.5], { dtype: 'float64' })],
    ]),
    tensors: {
      f32: torch.tensor([[1.5, -0, NaN]], { dtype: 'float32' }),
      i64: torch.tensor([-(2n ** 63n), 2n ** 63n - 1n]),
      i32: torch.tensor([-7, 8], { dtype: 'int32' }),
      u8: torch.tensor([0, 255], { dtype: 'uint8' }),
      bool: torch.tensor([true, false]),
      scalar: torch.tensor(3.25),
      empty: torch.zeros([0, 3]),
      view: torch.arange(12, { dtype: 'float32' }).reshape([3, 4]).t(),
    },
    list: [torch.ones([2]), 'x', [torch.zeros([1]), 4]],
  };
}

describe('checkpoints with numbers, strings, arrays, Maps and nested objects', () => {
  it('load gives back the same structure and types, tensors bit for bit', () => {
    const obj = everyKind();
    // A '__proto__' key as an own entry, as JSON.parse makes it.
    Object.defineProperty(obj.odd, '__proto__', { value: 4, enumerable: true, writable: true, configurable: true });
    const path = fresh();
    torch.save(obj, path);
    const back = torch.load<Record<string, unknown>>(path);
    const want = { ...obj, tensors: { ...(obj.tensors as object), view: (obj.tensors as { view: Tensor }).view.contiguous() } };
    expectSameValue(back, want);
    expect(Object.keys(back.order as object)).toEqual(['1', '2', 'b', 'a']);
    expect(Object.getPrototypeOf(back.odd)).toBe(Object.prototype);
    expect(Object.hasOwn(back.odd as object, '__proto__')).toBe(true);
    expect((back.keys as Map<unknown, unknown>).get(NaN)).toBe('nan');
  });

  it('saves an array at the root and loads it as an array', () => {
    const path = fresh();
    const obj = [torch.ones([2]), 3, { a: torch.zeros([1]) }];
    torch.save(obj, path);
    expectSameValue(torch.load(path), obj);
    expect(Object.keys(header(path).json).sort()).toEqual(['0', '2.a', '__metadata__']);
  });

  it('keeps a flat state dict a plain safetensors file, and loads files without the structure as flat dicts', () => {
    const path = fresh();
    const sd = { 'fc.weight': torch.ones([2, 3]), 'fc.bias': torch.zeros([2]) };
    torch.save(sd, path);
    expect(Object.keys(header(path).json).sort()).toEqual(['fc.bias', 'fc.weight']);
    const mapped = fresh();
    torch.save(new Map(Object.entries(sd)), mapped);
    expect(readFileSync(mapped).equals(readFileSync(path))).toBe(true);
    torch.save(sd, path, { metadata: { note: 'n' } });
    expect(torch.loadMetadata(path)).toEqual({ note: 'n' });
    // A flat file loads in the file's order (dtype, then name), as before.
    expectSameValue(torch.load(path), { 'fc.bias': sd['fc.bias'], 'fc.weight': sd['fc.weight'] });
    // Written by PyTorch, with metadata of its own.
    const theirs = torch.load(new URL('../fixtures/io_torch_state.safetensors', import.meta.url).pathname);
    expect(Object.keys(theirs)).toContain('0.weight');
    expect(theirs['0.weight']).toBeInstanceOf(torch.Tensor);
  });

  it('puts user metadata beside the structure, and reserves the structure key', () => {
    const path = fresh();
    torch.save({ epoch: 1, w: torch.ones([1]) }, path, { metadata: { run: 'a' } });
    const meta = torch.loadMetadata(path)!;
    expect(Object.keys(meta)).toEqual(['run', KEY]);
    expect(JSON.parse(meta[KEY])).toEqual({ version: 1, root: { epoch: 1, w: { $tensor: 'w' } } });
    expect(() => torch.save({ w: torch.ones([1]) }, fresh(), { metadata: { [KEY]: '{}' } })).toThrow(
      /^torch.save: metadata 'kindling.structure' is reserved/,
    );
  });
});

describe('what torch.save refuses, by path', () => {
  const model = new nn.Linear(2, 2);
  const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
  class Point {
    x = 1;
  }
  const deep: Record<string, unknown> = {};
  let at = deep;
  for (let i = 0; i < 1001; i++) at = at.a = {} as Record<string, unknown>;
  const loop: unknown[] = [1];
  loop.push({ back: loop });
  const cases: [string, unknown, RegExp][] = [
    [
      'a module',
      model,
      /^torch.save: obj is a module \(Linear\), which cannot be saved itself; save its state dict instead: torch.save\(model.stateDict\(\), path\)/,
    ],
    ['a nested module', { model }, /^torch.save: obj.model is a module \(Linear\).*model.stateDict\(\)/],
    [
      'a function',
      { config: { fn: () => 1 } },
      /^torch.save: obj.config.fn is a function, which cannot be saved; torch.save stores tensors, numbers/,
    ],
    ['an optimizer', { opt }, /^torch.save: obj.opt is an instance of SGD, which cannot be saved itself; save its stateDict\(\) instead$/],
    ['a generator', { g: new torch.Generator(1) }, /^torch.save: obj.g is a torch.Generator.*save its getState\(\)/],
    ['undefined', { a: [1, undefined] }, /^torch.save: obj.a\[1\] is undefined, which cannot be saved.*use null/],
    // eslint-disable-next-line no-sparse-arrays
    ['a hole', { a: [1, , 2] }, /^torch.save: obj.a\[1\] is an empty slot of a sparse array/],
    ['a symbol', { s: Symbol('x') }, /^torch.save: obj.s is a symbol/],
    ['a class instance', { p: new Point() }, /^torch.save: obj.p is an instance of Point, which cannot be saved/],
    ['a typed array', { 'x y': new Float32Array(2) }, /^torch.save: obj\["x y"\] is a Float32Array.*torch.fromTypedArray/],
    ['a Set', { s: new Set([1]) }, /^torch.save: obj.s is a Set.*an array/],
    ['a Map value', { m: new Map([['k', () => 0]]) }, /^torch.save: obj.m.get\("k"\) is a function/],
    ['an object Map key', { m: new Map([[{}, 1]]) }, /^torch.save: obj.m has a key that is an object/],
    ['a cycle through an array', { loop }, /^torch.save: obj.loop\[1\].back refers back to obj.loop, which contains it \(a cycle\)$/],
    ['nesting too deep', deep, /^torch.save: obj[.a]+\.\.\.[.a]+ nests more than 1000 levels deep$/],
    ['a number', 3, /^torch.save: obj is a number; torch.save saves an object, an array or a Map/],
    ['null', null, /^torch.save: obj is null/],
    [
      'a tensor on a clash of names',
      { 'a.b': 1, a: { b: torch.ones([1]) }, 'a.b ': 2, c: { d: torch.ones([1]) }, 'c.d': torch.ones([1]) },
      /two entries flatten to the same name 'c.d' \(obj.c.d and obj\["c.d"\]\)/,
    ],
  ];
  for (const [what, obj, message] of cases) {
    it(`refuses ${what}, writing nothing`, () => {
      const path = fresh();
      torch.save({ keep: torch.ones([1]) }, path);
      const before = readFileSync(path);
      expect(() => torch.save(obj as object, path)).toThrow(message);
      expect(readFileSync(path).equals(before)).toBe(true);
    });
  }
});

describe('torch.load on damaged structures', () => {
  let good: string;
  beforeAll(() => {
    good = fresh();
    torch.save({ a: torch.ones([2]), b: [torch.zeros([1]), 5], c: 'x' }, good);
  });
  const root = (r: unknown) => JSON.stringify({ version: 1, root: r });
  const refs = { a: { $tensor: 'a' }, b: [{ $tensor: 'b.0' }, 5] };
  const cases: [string, string, RegExp][] = [
    ['invalid JSON', '{"version":1,', /is not valid JSON/],
    ['no version', JSON.stringify({ root: {} }), /is not an object of the form \{"version": 1, "root": \.\.\.\}/],
    ['a newer version', JSON.stringify({ version: 2, root: {} }), /has format version 2; this Kindling reads version 1/],
    ['a missing tensor', root({ ...refs, c: { $tensor: 'nope' } }), /refers to tensor 'nope' at obj.c, which the file does not hold/],
    ['a tensor used twice', root({ ...refs, c: { $tensor: 'a' } }), /refers to tensor 'a' twice \(again at obj.c\)/],
    ['an unreferenced tensor', root({ a: { $tensor: 'a' } }), /does not refer to tensor 'b.0' of the file \(1 tensors unreferenced\)/],
    [
      'a bad $number',
      root({ ...refs, n: { $number: 'nan' } }),
      /has the \$number "nan" \(expected NaN, Infinity, -Infinity or -0\) at obj.n/,
    ],
    ['a bad $bigint', root({ ...refs, n: { $bigint: '1e3' } }), /has the \$bigint "1e3" \(expected decimal digits\) at obj.n/],
    ['a bad $tensor', root({ ...refs, n: { $tensor: 3 } }), /has a \$tensor that is not a string at obj.n/],
    ['a bad $map', root({ ...refs, m: { $map: [[1, 2, 3]] } }), /has a \$map entry 0 that is not a \[key, value\] pair at obj.m/],
    [
      'a repeated $map key',
      root({
        ...refs,
        m: {
          $map: [
            [{ $number: 'NaN' }, 1],
            [{ $number: 'NaN' }, 2],
          ],
        },
      }),
      /has a \$map with the key NaN twice at obj.m/,
    ],
    [
      'an object $map key',
      root({ ...refs, m: { $map: [[{}, 1]] } }),
      /has a \$map key that is not a string, number, bigint, boolean or null/,
    ],
    ['a deeply nested structure', `{"version":1,"root":${'['.repeat(5000)}${']'.repeat(5000)}}`, /nests more than 3002 levels deep/],
  ];
  for (const [what, structure, message] of cases) {
    it(`refuses ${what}, naming the file`, () => {
      const path = withStructure(good, structure);
      let err: Error | null = null;
      try {
        torch.load(path);
      } catch (e) {
        err = e as Error;
      }
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toMatch(message);
      expect(err!.message.startsWith(`torch.load: ${path}: the checkpoint structure (metadata '${KEY}') `)).toBe(true);
    });
  }

  it('reads a hand-made structure with a __proto__ key as a plain entry', () => {
    const path = withStructure(good, `{"version":1,"root":{"__proto__":{"polluted":1},"t":[{"$tensor":"a"},{"$tensor":"b.0"}]}}`);
    const back = torch.load<Record<string, unknown>>(path);
    expect(Object.keys(back)).toEqual(['__proto__', 't']);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('optimizer and scheduler state dicts', () => {
  const params = () => [torch.tensor([[0.5, -1, 2]], { requiresGrad: true }), torch.tensor([0.25, 3], { requiresGrad: true })];
  const steps = (opt: torch.optim.Optimizer, ps: Tensor[], n: number) => {
    for (let i = 0; i < n; i++) {
      opt.zeroGrad();
      ps[0].pow(2).sum().add(ps[1].mul(ps[1].sum()).sum()).backward();
      opt.step();
    }
  };
  const makers: [string, (ps: Tensor[]) => torch.optim.Optimizer][] = [
    ['SGD with momentum', (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true })],
    ['Adam', (ps) => new optim.Adam(ps, { lr: 0.01, amsgrad: true })],
    ['AdamW', (ps) => new optim.AdamW(ps, { lr: 0.01 })],
    ['RMSprop', (ps) => new optim.RMSprop(ps, { lr: 0.01, momentum: 0.5, centered: true })],
    ['Adagrad', (ps) => new optim.Adagrad(ps, { lr: 0.1 })],
  ];
  for (const [name, make] of makers) {
    it(`${name}: stateDict saves, loads into a fresh optimizer and resumes the same steps`, () => {
      const ps = params();
      const opt = make(ps);
      steps(opt, ps, 3);
      const path = fresh();
      torch.save({ params: ps.map((p) => p.detach()), optimizer: opt.stateDict() }, path);
      const ck = torch.load<{ params: Tensor[]; optimizer: torch.optim.OptimizerStateDict }>(path);
      expectSameValue(ck.optimizer, opt.stateDict());
      const ps2 = ck.params.map((p) => p.clone().requiresGrad_());
      const opt2 = make(ps2);
      opt2.loadStateDict(ck.optimizer);
      steps(opt, ps, 2);
      steps(opt2, ps2, 2);
      ps.forEach((p, i) => expectSameValue(ps2[i].detach(), p.detach(), `param ${i}`));
    });
  }

  it('every scheduler stateDict round trips, ReduceLROnPlateau best = Infinity and MultiStepLR Map included', () => {
    const sgd = () => new optim.SGD(params(), { lr: 0.1, momentum: 0.9 });
    const { lrScheduler: S } = optim;
    const makers: (() => {
      stateDict(): Record<string, unknown>;
      loadStateDict(sd: Record<string, unknown>): void;
      step(m: number): void;
      getLastLr(): number[];
      optimizer: { stateDict(): torch.optim.OptimizerStateDict; loadStateDict(sd: torch.optim.OptimizerStateDict): void };
    })[] = [
      () => new S.StepLR(sgd(), { stepSize: 2, gamma: 0.5 }),
      () => new S.MultiStepLR(sgd(), { milestones: [1, 3, 3] }),
      () => new S.ExponentialLR(sgd(), { gamma: 0.9 }),
      () => new S.CosineAnnealingLR(sgd(), { TMax: 4 }),
      () => new S.OneCycleLR(sgd(), { maxLr: 1, totalSteps: 10 }),
      () => new S.ReduceLROnPlateau(sgd(), { patience: 0 }),
    ];
    for (const make of makers) {
      const s = make();
      s.step(1);
      const path = fresh();
      // As in PyTorch, the lr lives in the optimizer: both are saved.
      torch.save({ optimizer: s.optimizer.stateDict(), scheduler: s.stateDict() }, path);
      const ck = torch.load<{ optimizer: torch.optim.OptimizerStateDict; scheduler: Record<string, unknown> }>(path);
      expectSameValue(ck.scheduler, s.stateDict());
      const again = make();
      again.optimizer.loadStateDict(ck.optimizer);
      again.loadStateDict(ck.scheduler);
      for (const metric of [2, 3, 1]) {
        s.step(metric);
        again.step(metric);
        expect(again.getLastLr()).toEqual(s.getLastLr());
      }
    }
  });
});

describe('resuming training from a checkpoint', () => {
  // A model with a buffer (BatchNorm) and the global stream (Dropout), a
  // loader shuffled by its own Generator, and an lr schedule.
  const data = (() => {
    torch.manualSeed(5);
    return new TensorDataset(torch.randn([40, 6]), torch.randint(0, 3, [40]));
  })();
  interface Run {
    model: torch.nn.Module;
    opt: torch.optim.Optimizer;
    sched: torch.optim.lrScheduler.StepLR;
    gen: torch.Generator;
    loader: Iterable<Tensor[]>;
  }
  function setup(kind: 'adam' | 'sgd', seed: number): Run {
    torch.manualSeed(seed);
    const model = new nn.Sequential(
      new nn.Linear(6, 16),
      new nn.BatchNorm1d(16),
      new nn.ReLU(),
      new nn.Dropout(0.25),
      new nn.Linear(16, 3),
    );
    const opt =
      kind === 'adam'
        ? new optim.Adam(model.parameters(), { lr: 0.01, weightDecay: 1e-3 })
        : new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const sched = new optim.lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 });
    const gen = new torch.Generator(seed * 7 + 1);
    const loader = new DataLoader(data, { batchSize: 8, shuffle: true, generator: gen });
    return { model, opt, sched, gen, loader };
  }
  function epoch(r: Run): number {
    let last = 0;
    for (const [xb, yb] of r.loader) {
      r.opt.zeroGrad();
      const loss = F.crossEntropy(r.model(xb), yb);
      loss.backward();
      r.opt.step();
      last = loss.item();
    }
    r.sched.step();
    return last;
  }
  interface Checkpoint {
    epoch: number;
    model: Record<string, Tensor>;
    optimizer: torch.optim.OptimizerStateDict;
    scheduler: Record<string, unknown>;
    generator: Tensor;
    rng: Tensor;
    loss: number;
    config: { kind: string; batchSize: number };
  }
  /** Epoch 2 in fresh objects after loading `path`, leaving out the restores named in `skip`. */
  function resume(kind: 'adam' | 'sgd', path: string, skip: string[] = []): Run {
    const r = setup(kind, 99); // other weights, other generator seed
    const ck = torch.load<Checkpoint>(path);
    expect(ck.epoch).toBe(1);
    expect(ck.config).toEqual({ kind, batchSize: 8 });
    r.model.loadStateDict(ck.model);
    if (!skip.includes('optimizer')) r.opt.loadStateDict(ck.optimizer);
    r.sched.loadStateDict(ck.scheduler);
    if (!skip.includes('generator')) r.gen.setState(ck.generator);
    if (!skip.includes('rng')) torch.setRngState(ck.rng);
    epoch(r);
    return r;
  }
  const paramBytes = (r: Run) => r.model.parameters().map((p) => bytesOf(p.detach()));
  const sameParams = (a: Run, b: Run) => paramBytes(a).every((x, i) => x.equals(paramBytes(b)[i]));

  for (const kind of ['adam', 'sgd'] as const) {
    it(`${kind === 'adam' ? 'Adam' : 'SGD with momentum'}: 1 epoch, save, load into fresh objects, 1 epoch = 2 epochs straight, bit for bit`, () => {
      const straight = setup(kind, 1);
      epoch(straight);
      epoch(straight);

      const first = setup(kind, 1);
      const loss = epoch(first);
      const path = fresh();
      torch.save(
        {
          epoch: 1,
          model: first.model.stateDict(),
          optimizer: first.opt.stateDict(),
          scheduler: first.sched.stateDict(),
          generator: first.gen.getState(),
          rng: torch.getRngState(),
          loss,
          config: { kind, batchSize: 8 },
        },
        path,
      );
      expect(torch.load<Checkpoint>(path).loss).toBe(loss);
      const resumed = resume(kind, path);
      expect(sameParams(resumed, straight)).toBe(true);
      expectSameValue(resumed.model.stateDict(), straight.model.stateDict());
      expectSameValue(resumed.opt.stateDict(), straight.opt.stateDict());
      expect(resumed.sched.getLastLr()).toEqual(straight.sched.getLastLr());

      // Each saved piece matters: leaving one out changes the result.
      for (const piece of ['optimizer', 'generator', 'rng']) expect(sameParams(resume(kind, path, [piece]), straight), piece).toBe(false);
    });
  }
});

describe('the file of a full checkpoint, against the safetensors format', () => {
  const ITEMSIZE: Record<string, number> = {
    BOOL: 1,
    U8: 1,
    I8: 1,
    I16: 2,
    U16: 2,
    F16: 2,
    BF16: 2,
    I32: 4,
    U32: 4,
    F32: 4,
    F64: 8,
    I64: 8,
    U64: 8,
  };
  const CODE: Record<string, string> = { float32: 'F32', float64: 'F64', int32: 'I32', int64: 'I64', uint8: 'U8', bool: 'BOOL' };

  it('has an 8-byte length, a space-padded JSON header, and contiguous aligned entries holding each tensor', () => {
    const model = new nn.Sequential(new nn.Linear(4, 3), new nn.BatchNorm1d(3), new nn.Linear(3, 2));
    const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
    model(torch.randn([5, 4]))
      .sum()
      .backward();
    opt.step();
    const ck = {
      epoch: 1,
      model: model.stateDict(),
      optimizer: opt.stateDict(),
      rng: torch.getRngState(),
      mask: torch.tensor([true, false, true]),
      loss: NaN,
      config: { layers: [4, 3, 2] },
    };
    const path = fresh();
    torch.save(ck, path);
    const { n, json, bytes } = header(path);
    expect(n % 8).toBe(0);
    const text = bytes.subarray(8, 8 + n).toString('utf8');
    expect(text.startsWith('{')).toBe(true);
    expect(/^[^]*\} *$/.test(text)).toBe(true);

    const meta = json.__metadata__ as Record<string, unknown>;
    expect(Object.values(meta).every((v) => typeof v === 'string')).toBe(true);
    const structure = JSON.parse(meta[KEY] as string) as { version: number; root: unknown };
    expect(structure.version).toBe(1);

    // The tensors a reader finds: every one the checkpoint holds, under its dotted path.
    const expected = new Map<string, Tensor>();
    for (const [k, t] of Object.entries(ck.model)) expected.set(`model.${k}`, t);
    for (const [i, s] of Object.entries(ck.optimizer.state))
      for (const [k, t] of Object.entries(s)) if (t instanceof torch.Tensor) expected.set(`optimizer.state.${i}.${k}`, t);
    expected.set('rng', ck.rng);
    expected.set('mask', ck.mask);
    const names = Object.keys(json).filter((k) => k !== '__metadata__');
    expect(names.sort()).toEqual([...expected.keys()].sort());
    const refs: string[] = [];
    JSON.stringify(structure.root, (k, v) => (k === '$tensor' && refs.push(v as string), v));
    expect(refs.sort()).toEqual(names.sort());

    const data = bytes.subarray(8 + n);
    const entries = names.map((name) => ({ name, ...(json[name] as { dtype: string; shape: number[]; data_offsets: [number, number] }) }));
    entries.sort((a, b) => a.data_offsets[0] - b.data_offsets[0]);
    let at = 0;
    for (const e of entries) {
      const t = expected.get(e.name)!;
      expect(Object.keys(json[e.name] as object).sort(), e.name).toEqual(['data_offsets', 'dtype', 'shape']);
      expect(e.dtype, e.name).toBe(CODE[t.dtype]);
      expect(e.shape, e.name).toEqual(t.shape);
      const [begin, end] = e.data_offsets;
      expect(begin, `${e.name} starts where the previous entry ends`).toBe(at);
      expect(begin % ITEMSIZE[e.dtype], `${e.name} is aligned`).toBe(0);
      expect(end - begin).toBe(t.numel() * ITEMSIZE[e.dtype]);
      expect(data.subarray(begin, end).equals(bytesOf(t)), e.name).toBe(true);
      at = end;
    }
    expect(at).toBe(data.length);
  });
});

describe('a checkpoint killed while saving', () => {
  it('is always one whole earlier checkpoint: structure and tensors of the same save', async () => {
    const path = fresh();
    for (const delay of [0, 5, 17, 41]) {
      const proc = spawn(process.execPath, ['--import', REGISTER_TS, SAVE_LOOP, path], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      proc.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<NodeJS.Signals | null>((res) => proc.on('exit', (_c, sig) => res(sig)));
      await new Promise<void>((res, rej) => {
        proc.stdout.on('data', (d) => String(d).includes('saved') && res());
        proc.on('exit', () => rej(new Error(`the saving process ended early: ${stderr}`)));
      });
      await new Promise((res) => setTimeout(res, delay));
      proc.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      const ck = torch.load<{ epoch: number; model: { w: Tensor }; history: number[] }>(path);
      expect(Number.isInteger(ck.epoch)).toBe(true);
      expect(ck.history).toHaveLength(ck.epoch + 1);
      expect(
        ck.model.w
          .eq(ck.epoch % 2)
          .all()
          .item(),
      ).toBe(1);
    }
  }, 120_000);
});
