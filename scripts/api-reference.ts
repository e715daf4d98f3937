// The API reference in docs/api/, made from the op declarations
// (lib/ops/op.ts): every declared torch.x, F.x and Tensor method with its
// PyTorch signature in camelCase, defaults, which parameters are
// keyword-only, its autograd node and whether it has a fused first-order
// backward; and from the sources' doc comments (scripts/api-symbols.ts) for
// every other public class, function and value. Nothing here is written by
// hand, so the reference cannot drift from the code.
//
// The pages are committed, so they ship in the npm package and read on the
// repository's host without a build; test/api/docs.test.ts fails when they
// no longer match the sources.
//
//   npm run docs:api            # writes docs/api/*.md
//   npm run docs:api -- -       # prints every page instead
//   npm run docs:api -- --check # exits 1, naming the stale pages, when docs/api differs
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../lib/index.js';
import type { OpFn } from '../lib/ops/op.js';
import type { Param } from '../lib/util/args.js';
import { symbolReference } from './api-symbols.js';

type AnyOp = OpFn<readonly Param[], unknown>;
const isOp = (v: unknown): v is AnyOp => typeof v === 'function' && (v as { spec?: unknown }).spec !== undefined;

function signature(prefix: string, op: AnyOp, dropSelf: boolean): string {
  const params = (op.spec.params as readonly Param[]).slice(dropSelf ? 1 : 0);
  const parts: string[] = [];
  let starred = false;
  for (const p of params) {
    if (p.kwOnly && !starred) {
      parts.push('*');
      starred = true;
    }
    const dflt = p.optional ? ` = ${p.default === undefined ? 'undefined' : JSON.stringify(p.default)}` : '';
    parts.push(`${p.rest ? '...' : ''}${p.name}: ${p.type}${dflt}`);
  }
  return `${prefix}${op.spec.name}(${parts.join(', ')})`;
}

function describe(op: AnyOp): string {
  const body = op.spec.body;
  if (body === null) return 'declared, not defined';
  if (body.impl) return 'composite';
  const grads = Object.keys(body.grads ?? {});
  const g = grads.length ? `gradient for ${grads.join(', ')}` : 'no gradient';
  const node = typeof body.node === 'function' ? 'node named by its arguments' : body.node;
  return `${node}; ${g}${body.fused ? '; fused first-order backward' : ''}`;
}

/** One page of docs/api: the entries whose public path starts with one of its prefixes. */
interface Page {
  file: string;
  title: string;
  about: string;
  prefixes: string[];
}

// Each entry goes to the page with its longest matching prefix; what matches
// none (torch.x itself) goes to the first.
const PAGES: Page[] = [
  {
    file: 'torch.md',
    title: 'torch',
    about:
      'Tensor creation, math, reductions, indexing and shape ops, the `Tensor` class and its methods, dtypes, devices, random numbers, grad mode, save and load.',
    prefixes: [],
  },
  {
    file: 'autograd.md',
    title: 'torch.autograd',
    about: 'Gradients on demand, custom differentiable functions, gradient checks.',
    prefixes: ['torch.autograd.'],
  },
  {
    file: 'nn.md',
    title: 'torch.nn',
    about: 'Modules (layers, losses, containers), parameters, initialisation and gradient clipping.',
    prefixes: ['torch.nn.'],
  },
  {
    file: 'nn.functional.md',
    title: 'torch.nn.functional',
    about: 'The layers and losses as functions (`const F = torch.nn.functional`).',
    prefixes: ['torch.nn.functional.'],
  },
  { file: 'optim.md', title: 'torch.optim', about: 'Optimizers and learning-rate schedulers.', prefixes: ['torch.optim.'] },
  {
    file: 'data.md',
    title: 'Data loading',
    about: '`torch.utils.data` (datasets, samplers, `DataLoader`), `torch.datasets` and `torch.transforms`.',
    prefixes: ['torch.utils.data.', 'torch.datasets.', 'torch.transforms.'],
  },
  {
    file: 'distributed.md',
    title: 'torch.distributed',
    about: 'Process groups and collectives over Gloo for multi-process training, and the rendezvous stores.',
    prefixes: ['torch.distributed.'],
  },
  { file: 'utils.md', title: 'torch.utils', about: 'Progress bars, plots and TensorBoard event files.', prefixes: ['torch.utils.'] },
];

function pageOf(path: string): Page {
  let best = PAGES[0];
  let len = -1;
  for (const page of PAGES) {
    for (const prefix of page.prefixes) {
      if (path.startsWith(prefix) && prefix.length > len) [best, len] = [page, prefix.length];
    }
  }
  return best;
}

// Doc comments are prose that may mention `grad_fn=<AddBackward0>` or
// `__call__` outside a code span, which Markdown would take for an HTML tag or
// bold text. A {@link name} (or {@link name | label}) becomes the name in a
// code span.
function prose(text: string): string {
  return text
    .replace(/\{@link(?:code|plain)?\s+([^}|\s]+)\s*(?:\|\s*([^}]*?)\s*)?\}/g, (_, name: string, label?: string) => `\`${label || name}\``)
    .split(/(`[^`]*`)/)
    .map((part, i) =>
      i % 2
        ? part
        : part
            .replace(/&/g, '&amp;')
            .replace(/</g, '&lt;')
            .replace(/[\\*_]/g, '\\$&'),
    )
    .join('');
}

const GENERATED = '<!-- Generated by `npm run docs:api` (scripts/api-reference.ts) from the sources; do not edit. -->';

/** The docs/api pages by file name, README.md (the index) included. */
export function referencePages(): Record<string, string> {
  const body = new Map<Page, { ops: string[]; symbols: string[] }>(PAGES.map((p) => [p, { ops: [], symbols: [] }]));
  const methods = Object.getOwnPropertyNames(torch.Tensor.prototype);
  const ops = (ns: Record<string, unknown>, prefix: string, page: Page) => {
    for (const [name, v] of Object.entries(ns).sort(([a], [b]) => a.localeCompare(b))) {
      if (!isOp(v) || name !== v.spec.name) continue; // aliases are listed with their op
      const aliases = Object.entries(ns)
        .filter(([n, w]) => w === v && n !== name)
        .map(([n]) => n);
      const method = prefix === 'torch.' && methods.includes(name) ? `; also \`x.${signature('', v, true)}\`` : '';
      body
        .get(page)!
        .ops.push(
          `- \`${signature(prefix, v, false)}\`: ${prose(v.spec.doc)} (${describe(v)}${aliases.length ? `; alias ${aliases.join(', ')}` : ''})${method}`,
        );
    }
  };
  ops(torch as unknown as Record<string, unknown>, 'torch.', PAGES[0]);
  ops(
    torch.nn.functional as unknown as Record<string, unknown>,
    'F.',
    PAGES.find((p) => p.title === 'torch.nn.functional')!,
  );
  for (const e of symbolReference(torch as unknown as Record<string, unknown>, isOp)) {
    const sigs =
      e.kind === 'value'
        ? [`${e.path}: ${e.signature}`]
        : e.signature.split('\n').map((s) => `${e.kind === 'class' ? 'new ' : ''}${e.path}${s}`);
    const lines = [`### \`${e.path}\``, '', '```ts', ...sigs, '```', '', e.doc ? prose(e.doc) : '(undocumented)', ''];
    for (const m of e.members) lines.push(`- \`${m.name}\`${m.doc ? `: ${prose(m.doc)}` : ''}`);
    if (e.members.length) lines.push('');
    body.get(pageOf(e.path))!.symbols.push(lines.join('\n'));
  }

  const pages: Record<string, string> = {};
  const index = [
    '# API reference',
    '',
    GENERATED,
    '',
    "Kindling's public API, page by page. PyTorch's names in camelCase, keyword arguments as a trailing options object,",
    'operators as methods. New here? Start with [Getting started](../getting-started.md).',
    '',
  ];
  for (const page of PAGES) {
    const { ops: rows, symbols } = body.get(page)!;
    const lines = [`# ${page.title}`, '', GENERATED, '', page.about, '', '[All pages](README.md)', ''];
    if (rows.length) {
      lines.push(
        '## Declared ops',
        '',
        'Each with its signature (parameters after `*` go in the trailing options object), what it computes, and its autograd node.',
        '',
        ...rows,
        '',
      );
    }
    if (symbols.length) lines.push('## Classes, functions and values', '', ...symbols);
    pages[page.file] = lines.join('\n').trimEnd() + '\n';
    index.push(`- [${page.title}](${page.file}): ${page.about} (${rows.length + symbols.length} entries)`);
  }
  pages['README.md'] = index.join('\n') + '\n';
  return pages;
}

/** Every page in one text (the README index first). */
export function reference(): string {
  const pages = referencePages();
  return ['README.md', ...PAGES.map((p) => p.file)].map((f) => pages[f]).join('\n');
}

const here = dirname(fileURLToPath(import.meta.url));
/** Where the pages live in the checkout. */
export const API_DOCS_DIR = join(here, '..', 'docs', 'api');

/** The pages whose file in docs/api differs from what the sources give, and the files there that no page makes. */
export function stalePages(pages: Record<string, string> = referencePages()): string[] {
  const stale = Object.entries(pages)
    .filter(([file, text]) => !existsSync(join(API_DOCS_DIR, file)) || readFileSync(join(API_DOCS_DIR, file), 'utf8') !== text)
    .map(([file]) => file);
  const extra = existsSync(API_DOCS_DIR) ? readdirSync(API_DOCS_DIR).filter((f) => !(f in pages)) : [];
  return [...stale, ...extra].sort();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const pages = referencePages();
  if (process.argv[2] === '-') process.stdout.write(reference());
  else if (process.argv[2] === '--check') {
    const stale = stalePages(pages);
    if (stale.length) {
      console.error(`docs/api is stale (${stale.join(', ')}): run npm run docs:api`);
      process.exit(1);
    }
  } else {
    mkdirSync(API_DOCS_DIR, { recursive: true });
    for (const f of readdirSync(API_DOCS_DIR)) if (!(f in pages)) rmSync(join(API_DOCS_DIR, f), { recursive: true });
    for (const [file, text] of Object.entries(pages)) writeFileSync(join(API_DOCS_DIR, file), text);
    console.log(`wrote ${Object.keys(pages).length} pages to ${API_DOCS_DIR}`);
  }
}
