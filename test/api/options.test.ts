// Python refuses an unexpected keyword; so does every options object here
// (lib/util/args.ts): the error names the function, the key and the
// closest valid name.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../lib/index.js';

function typeErrorOf(f: () => unknown): TypeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TypeError);
    return e as TypeError;
  }
  throw new Error('expected a TypeError');
}

describe('unknown option keys', () => {
  it('creation ops', () => {
    expect(typeErrorOf(() => torch.zeros(2, { dtyp: 'float32' } as never)).message).toMatch(
      /^zeros: unknown option 'dtyp' \(did you mean 'dtype'\?\)/,
    );
    expect(typeErrorOf(() => torch.tensor([1], { requires_grad: true } as never)).message).toMatch(
      /'requires_grad' \(did you mean 'requiresGrad'\?\)/,
    );
    expect(typeErrorOf(() => torch.arange(3, { out: torch.zeros(3) } as never)).message).toMatch(
      /^arange: the 'out' argument is not supported here/,
    );
  });
  it('backward and autograd.grad', () => {
    const x = torch.ones(2, { requiresGrad: true });
    expect(typeErrorOf(() => x.sum().backward(null, { retain_graph: true } as never)).message).toMatch(/did you mean 'retainGraph'/);
    expect(typeErrorOf(() => torch.autograd.grad(x.sum(), x, { allowUnsued: true } as never)).message).toMatch(
      /did you mean 'allowUnused'/,
    );
  });
  it('x.backward takes its options first, as Python takes keywords', () => {
    const x = torch.ones(2, { requiresGrad: true });
    const y = x.mul(3).sum();
    y.backward({ retainGraph: true });
    y.backward();
    expect(x.grad!.tolist()).toEqual([6, 6]);
  });
  it('torch.save and torch.load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-options-'));
    try {
      const path = join(dir, 'a.safetensors');
      expect(typeErrorOf(() => torch.save({ a: torch.ones(1) }, path, { metdata: {} } as never)).message).toMatch(
        /did you mean 'metadata'/,
      );
      torch.save({ a: torch.ones(1) }, path);
      expect(typeErrorOf(() => torch.load(path, { map_location: 'cpu' } as never)).message).toMatch(/did you mean 'mapLocation'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('ops declared with op(): an unknown key, a value given twice, too many positionals', () => {
    const x = torch.ones(2);
    expect(typeErrorOf(() => x.add(1, { alpah: 2 } as never)).message).toMatch(/^add: unknown option 'alpah' \(did you mean 'alpha'\?\)/);
    expect(typeErrorOf(() => torch.clamp(x, 0, { min: 1 } as never)).message).toMatch(/^clamp: got multiple values for argument 'min'/);
    expect(typeErrorOf(() => (x.exp as (...a: unknown[]) => unknown)(1)).message).toMatch(
      /^exp: takes 1 positional argument but 2 were given/,
    );
    expect(x.clamp({ min: 0.5 }).tolist()).toEqual([1, 1]);
    expect(x.clamp({ max: 0.5 }).tolist()).toEqual([0.5, 0.5]);
  });
});
