// Every public Tensor member has documentation, as an editor's hover and the
// API reference (docs/api/torch.md) show it. Tensor gets its members from
// two places (Note [Method modules] in lib/tensor_methods.ts): those written
// in lib/tensor.ts, and one per export of a method module. A declared op's
// documentation is its `doc` argument (lib/ops/op.ts); everything else
// needs a TSDoc comment. The members are read by the TypeScript compiler
// from Tensor's type, as a user's editor sees them, so a method added either
// way is checked.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { METHOD_MODULES } from '../../lib/tensor_methods.js';

const here = dirname(fileURLToPath(import.meta.url));
const TENSOR = join(here, '..', '..', 'lib', 'tensor.ts');
const METHODS = join(here, '..', '..', 'lib', 'tensor_methods.ts');
const ENTRY = join(here, '..', '..', 'lib', 'index.ts');

interface Member {
  name: string;
  /** The TSDoc comment's text, or the op's doc for a declared op's method; empty when neither. */
  doc: string;
}

/** The op's doc when a method module's export of that name is a declared op. */
function opDoc(name: string): string {
  for (const m of METHOD_MODULES as readonly Record<string, unknown>[]) {
    const f = m[name];
    const spec = typeof f === 'function' ? (f as { spec?: { doc?: unknown } }).spec : undefined;
    if (typeof spec?.doc === 'string') return spec.doc.trim();
  }
  return '';
}

/**
 * The TSDoc comments of the method modules' exports, by name. Tensor's
 * type maps each module's exports to methods, and TypeScript does not carry
 * a function's comment through that mapped type, so it is read from the
 * modules METHOD_MODULES lists, with the names of those marked @internal
 * (methods for the library's own use, such as the engine's sumToShape).
 */
function methodModuleDocs(program: ts.Program, checker: ts.TypeChecker): { docs: Map<string, string>; internal: Set<string> } {
  const source = program.getSourceFile(METHODS);
  if (!source) throw new Error(`tensor_docs: cannot read ${METHODS}`);
  let list: ts.ArrayLiteralExpression | undefined;
  source.forEachChild(function find(n) {
    if (ts.isVariableDeclaration(n) && n.name.getText() === 'METHOD_MODULES' && n.initializer && ts.isArrayLiteralExpression(n.initializer))
      list = n.initializer;
    else n.forEachChild(find);
  });
  if (!list) throw new Error('tensor_docs: no METHOD_MODULES array in lib/tensor_methods.ts');
  const docs = new Map<string, string>();
  const internal = new Set<string>();
  for (const el of list.elements) {
    const local = checker.getSymbolAtLocation(el);
    if (!local) throw new Error(`tensor_docs: cannot resolve ${el.getText()}`);
    const mod = local.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(local) : local;
    for (const e of checker.getExportsOfModule(mod)) {
      const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
      if (target.declarations?.some((d) => ts.getJSDocTags(d).some((t) => t.tagName.text === 'internal'))) internal.add(e.getName());
      const doc = ts.displayPartsToString(e.getDocumentationComment(checker)).trim();
      if (doc && !docs.has(e.getName())) docs.set(e.getName(), doc);
    }
  }
  return { docs, internal };
}

function publicMembers(): Member[] {
  // From the package entry, so tensor_methods.ts's interface merge is seen.
  const program = ts.createProgram([ENTRY], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(TENSOR);
  if (!source) throw new Error(`tensor_docs: cannot read ${TENSOR}`);
  const cls = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!).find((s) => s.getName() === 'Tensor');
  if (!cls) throw new Error('tensor_docs: lib/tensor.ts exports no Tensor');
  const moduleDocs = methodModuleDocs(program, checker);
  const out: Member[] = [];
  for (const p of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(cls))) {
    const name = p.getName();
    if (name.startsWith('_') || name.startsWith('#') || name.startsWith('__@')) continue;
    const decls = p.declarations ?? [];
    if (decls.some((d) => ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected))) continue;
    if (decls.some((d) => ts.getJSDocTags(d).some((t) => t.tagName.text === 'internal'))) continue;
    if (moduleDocs.internal.has(name)) continue;
    const comment = ts.displayPartsToString(p.getDocumentationComment(checker)).trim();
    out.push({ name, doc: comment || moduleDocs.docs.get(name) || opDoc(name) });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

describe('Tensor documentation', () => {
  const members = publicMembers();
  const undocumented = members.filter((m) => !m.doc).map((m) => m.name);
  console.log(`tensor_docs: ${members.length - undocumented.length}/${members.length} public Tensor members documented`);

  it('finds the members of both kinds: written in tensor.ts and from the method modules', () => {
    const names = members.map((m) => m.name);
    // tensor.ts, an op's method, a plain function of a method module
    for (const n of ['shape', 'size', 'detach', 'add', 'matmul', 'backward', 'registerHook']) expect(names).toContain(n);
    expect(members.length).toBeGreaterThan(200);
  });

  it('documents every public member (a TSDoc comment, or the op declaration`s doc)', () => {
    expect(undocumented, 'Tensor members without documentation').toEqual([]);
  });
});
