// docs/api/ is generated from the sources (scripts/api-reference.ts) and
// committed, so that it ships in the npm package and reads on the
// repository's host without a build. This is what keeps it honest: a change
// to an op declaration or a doc comment fails here until `npm run docs:api`
// has rewritten the pages.
import { describe, expect, it } from 'vitest';
import { referencePages, stalePages } from '../../scripts/api-reference.js';

describe('docs/api', () => {
  const pages = referencePages();

  it('matches what the sources generate (run `npm run docs:api` when this fails)', () => {
    expect(stalePages(pages), 'stale pages in docs/api: run npm run docs:api').toEqual([]);
  });

  it('has an index linking every page, and every page links back to it', () => {
    const index = pages['README.md'];
    for (const file of Object.keys(pages).filter((f) => f !== 'README.md')) {
      expect(index).toContain(`](${file})`);
      expect(pages[file]).toContain('[All pages](README.md)');
    }
  });

  it('puts each entry on its namespace page', () => {
    expect(pages['nn.md']).toContain('### `torch.nn.Linear`');
    expect(pages['nn.md']).toContain('new torch.nn.Linear(inFeatures: number, outFeatures: number, bias?: boolean, dtype?: DType)');
    expect(pages['nn.functional.md']).toMatch(/^- `F\.relu\(input: Tensor(, inplace: bool = false)?\)`/m);
    expect(pages['optim.md']).toContain('### `torch.optim.lrScheduler.StepLR`');
    expect(pages['data.md']).toContain('### `torch.utils.data.DataLoader`');
    expect(pages['data.md']).toContain('### `torch.datasets.MNIST`');
    expect(pages['torch.md']).toContain('- `torch.add(input: Tensor|Scalar, other: Tensor|Scalar, *, alpha: float = 1)`');
    expect(pages['torch.md']).not.toContain('### `torch.nn.');
  });

  it('keeps Markdown out of the prose: tags and underscores are escaped outside code spans', () => {
    // PyTorch's `__call__` would otherwise render as a bold "call".
    expect(pages['data.md']).toContain("PyTorch's \\_\\_call\\_\\_");
    expect(Object.values(pages).join('\n')).not.toMatch(/[^`\\]__call__/);
    // TSDoc's {@link savePlot} reads as the name in code.
    expect(pages['utils.md']).toContain('`savePlot`, `encodePng`');
    expect(Object.values(pages).join('\n')).not.toContain('{@link');
  });
});
