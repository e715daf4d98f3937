// The op reference, made from the op declarations (lib/ops/op.ts): every
// declared torch.x, F.x and Tensor method with its PyTorch signature in
// camelCase, defaults, which parameters are keyword-only, its autograd node
// and whether it has a fused first-order backward. Nothing here is written
// by hand, so the reference cannot drift from the code.
//
//   npm run docs:ops            # writes dist/reference/ops.md
//   npm run docs:ops -- -       # prints it
import { mkdirSync, writeFileSync } from 'node:fs';
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

export function reference(): string {
  const lines = ['# Op reference', '', 'Generated from the op declarations by scripts/api-reference.ts.', ''];
  const methods = Object.getOwnPropertyNames(torch.Tensor.prototype);
  const seen = new Set<unknown>();
  const section = (title: string, ns: Record<string, unknown>, prefix: string) => {
    const rows: string[] = [];
    for (const [name, v] of Object.entries(ns).sort(([a], [b]) => a.localeCompare(b))) {
      if (!isOp(v) || name !== v.spec.name) continue; // aliases are listed with their op
      seen.add(v);
      const aliases = Object.entries(ns)
        .filter(([n, w]) => w === v && n !== name)
        .map(([n]) => n);
      const method = prefix === 'torch.' && methods.includes(name) ? `; also \`x.${signature('', v, true).replace(/^/, '')}\`` : '';
      rows.push(
        `- \`${signature(prefix, v, false)}\`: ${v.spec.doc} (${describe(v)}${aliases.length ? `; alias ${aliases.join(', ')}` : ''})${method}`,
      );
    }
    lines.push(`## ${title}`, '', ...rows, '');
  };
  section('torch', torch as unknown as Record<string, unknown>, 'torch.');
  section('torch.nn.functional', torch.nn.functional as unknown as Record<string, unknown>, 'F.');
  lines.push('## Classes, functions and values', '', "From the sources' doc comments (scripts/api-symbols.ts).", '');
  for (const e of symbolReference(torch as unknown as Record<string, unknown>, isOp)) {
    const sig = e.kind === 'value' ? `: ${e.signature}` : e.signature.split('\n').join(' | ');
    lines.push(`### \`${e.path}\``, '', `\`${e.kind === 'class' ? 'new ' : ''}${e.path}${sig}\``, '', e.doc || '(undocumented)', '');
    for (const m of e.members) lines.push(`- \`${m.name}\`${m.doc ? `: ${m.doc}` : ''}`);
    if (e.members.length) lines.push('');
  }
  return lines.join('\n');
}

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = reference();
  if (process.argv[2] === '-') process.stdout.write(text);
  else {
    const out = join(here, '..', 'dist', 'reference', 'ops.md');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, text);
    console.log(`wrote ${out}`);
  }
}
