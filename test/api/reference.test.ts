// The op reference is made from the declarations (scripts/api-reference.ts):
// a declared op shows up with the signature its binder enforces.
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import { reference } from '../../scripts/api-reference.js';
import { symbolReference } from '../../scripts/api-symbols.js';

describe('op reference', () => {
  const text = reference();
  it('lists a declared op with its PyTorch signature, keyword-only parameters after *', () => {
    expect(text).toContain('`torch.add(input: Tensor|Scalar, other: Tensor|Scalar, *, alpha: float = 1)`');
    expect(text).toContain('also `x.add(other: Tensor|Scalar, *, alpha: float = 1)`');
  });
  it('says which backward an op has', () => {
    expect(text).toMatch(/`torch\.relu\(input: Tensor\)`.*ReluBackward0; gradient for input; fused first-order backward/);
  });
  it('every declared op exported at torch level is in it', () => {
    for (const [name, v] of Object.entries(torch)) {
      const spec = (v as { spec?: { name: string } } | null)?.spec;
      if (typeof v === 'function' && spec && spec.name === name) expect(text, name).toContain(`\`torch.${name}(`);
    }
  });
});

describe('symbol reference', () => {
  const entries = symbolReference(
    torch as unknown as Record<string, unknown>,
    (v) => typeof v === 'function' && (v as { spec?: unknown }).spec !== undefined,
  );
  it('lists classes with the parameter list their constructor binds', () => {
    const linear = entries.find((e) => e.path === 'torch.nn.Linear');
    expect(linear?.signature).toBe('(inFeatures: number, outFeatures: number, bias?: boolean, dtype?: DType)');
    expect(linear?.members.map((m) => m.name)).toContain('forward');
  });
  it('reaches into namespaces and plain-object namespaces', () => {
    const paths = entries.map((e) => e.path);
    expect(paths).toContain('torch.optim.lrScheduler.StepLR');
    expect(paths).toContain('torch.utils.data.DataLoader');
    expect(paths).not.toContain('torch.add'); // declared ops are listed from their declarations
  });
  it('follows a shorthand property ({ Compose }) to the class it names', () => {
    const compose = entries.find((e) => e.path === 'torch.transforms.Compose');
    expect(compose?.kind).toBe('class');
    expect(compose?.doc).toMatch(/^transforms\.Compose/);
    expect(entries.find((e) => e.path === 'torch.autograd.gradgradcheck')?.doc).toMatch(/gradgradcheck/);
  });
  it('every public class, function and value has a doc comment', () => {
    // Names allowed without a doc comment; to stay empty. A class member
    // would be listed as Class#member.
    const allowlist: string[] = [];
    const undocumented = entries.flatMap((e) => [
      ...(e.doc ? [] : [e.path]),
      ...e.members.filter((m) => !m.doc).map((m) => `${e.path}#${m.name}`),
    ]);
    expect(undocumented.sort()).toEqual(allowlist.sort());
  });
});

describe('package surface', () => {
  it('keeps storage internals out of the torch namespace', () => {
    for (const name of ['allocStorage', 'storageOfArray']) expect(Object.keys(torch)).not.toContain(name);
    expect(torch.promoteTypes('int64', 'float32')).toBe('float32');
  });
});
