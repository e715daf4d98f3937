// The op reference is made from the declarations (scripts/api-reference.ts):
// a declared op shows up with the signature its binder enforces.
import { describe, expect, it } from 'vitest';
import * as torch from '../../lib/index.js';
import { reference } from '../../scripts/api-reference.js';

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
