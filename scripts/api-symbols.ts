// The rest of the API reference: every public class, function and constant
// that is not a declared op (nn modules, optimizers, datasets, samplers,
// transforms, utilities), with its signature and its TSDoc comment, read
// from the sources by the TypeScript compiler. Declared ops get their entry
// from their declaration instead (scripts/api-reference.ts).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export interface SymbolEntry {
  /** The public path, as a user writes it: `torch.nn.Linear`, `torch.utils.data.Subset`. */
  path: string;
  kind: 'class' | 'function' | 'value';
  /** Constructor or call signature(s), as TypeScript prints them. */
  signature: string;
  /** The TSDoc comment's text; empty when there is none. */
  doc: string;
  /** Public methods of a class with their one-line docs. */
  members: { name: string; doc: string }[];
}

const here = dirname(fileURLToPath(import.meta.url));
const ENTRY = join(here, '..', 'lib', 'index.ts');

function docOf(sym: ts.Symbol, checker: ts.TypeChecker): string {
  return ts.displayPartsToString(sym.getDocumentationComment(checker)).trim();
}

function resolve(sym: ts.Symbol, checker: ts.TypeChecker): ts.Symbol {
  return sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
}

function isPrivateName(name: string): boolean {
  return name.startsWith('_') || name.startsWith('#');
}

function classMembers(sym: ts.Symbol, checker: ts.TypeChecker): { name: string; doc: string }[] {
  const out: { name: string; doc: string }[] = [];
  for (const m of sym.members ? [...sym.members.values()] : []) {
    const name = m.getName();
    if (name === '__constructor' || isPrivateName(name)) continue;
    const decl = m.valueDeclaration ?? m.declarations?.[0];
    if (!decl) continue;
    const mods = ts.getCombinedModifierFlags(decl as ts.Declaration);
    if (mods & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
    if (ts.getJSDocTags(decl).some((t) => t.tagName.text === 'internal')) continue;
    if (!(m.flags & (ts.SymbolFlags.Method | ts.SymbolFlags.GetAccessor))) continue;
    out.push({ name, doc: firstSentence(docOf(m, checker)) });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function firstSentence(doc: string): string {
  const line = doc.split('\n\n')[0].replace(/\s+/g, ' ');
  return line;
}

/**
 * A constructor that binds `...args: CallArgs<typeof PARAMS>` (Note [Layer
 * signatures]) is shown as the parameter list it declares,
 * `(inFeatures: number, outFeatures: number, bias?: boolean, ...)`, rather
 * than as the binder's tuple types.
 */
function declaredSignature(sig: ts.Signature, checker: ts.TypeChecker): string | null {
  const decl = sig.getDeclaration();
  const first = decl?.parameters[0];
  if (!first?.dotDotDotToken || !first.type || !ts.isTypeReferenceNode(first.type)) return null;
  if (first.type.typeName.getText() !== 'CallArgs' || !first.type.typeArguments?.length) return null;
  const listType = checker.getTypeFromTypeNode(first.type.typeArguments[0]);
  if (!checker.isTupleType(listType)) return null;
  const parts: string[] = [];
  for (const el of checker.getTypeArguments(listType as ts.TypeReference)) {
    // Read through the Param<N, T, O> interface's properties, which also
    // works when a builder intersected it with more (param.kw).
    const prop = (key: string) => {
      const p = checker.getPropertyOfType(el, key);
      return p && checker.getTypeOfSymbol(p);
    };
    const n = prop('name');
    const o = prop('optional');
    const t = prop('check')?.getCallSignatures()[0]?.getReturnType();
    if (!n || !t || !o) return null;
    const name = n.isStringLiteral() ? n.value : checker.typeToString(n);
    // A keyword the constructor checks itself may be typed `T | undefined`.
    const optional = checker.typeToString(o) !== 'false' || (t.isUnion() && t.types.some((u) => u.flags & ts.TypeFlags.Undefined));
    const type = checker.typeToString(t).replace(/ \| undefined\b|\bundefined \| /g, '');
    parts.push(`${name}${optional ? '?' : ''}: ${type}`);
  }
  return `(${parts.join(', ')})`;
}

/**
 * Walks the package entry's exports. `isOp` says which runtime values are
 * declared ops, listed elsewhere; `runtime` is the imported package, to tell
 * what is really exported at a path.
 */
export function symbolReference(runtime: Record<string, unknown>, isOp: (v: unknown) => boolean): SymbolEntry[] {
  const program = ts.createProgram([ENTRY], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(ENTRY);
  if (!source) throw new Error(`api-symbols: cannot read ${ENTRY}`);
  const moduleSym = checker.getSymbolAtLocation(source);
  if (!moduleSym) throw new Error('api-symbols: the entry has no exports');
  const entries: SymbolEntry[] = [];
  const seen = new Set<ts.Symbol>();

  const visitSymbol = (path: string, raw: ts.Symbol, value: unknown) => {
    if (value === undefined || isOp(value)) return;
    const sym = resolve(raw, checker);
    const decl = sym.valueDeclaration ?? sym.declarations?.[0];
    if (!decl) return;
    if (ts.getJSDocTags(decl).some((t) => t.tagName.text === 'internal')) return;
    if (sym.flags & ts.SymbolFlags.ValueModule) {
      for (const child of checker.getExportsOfModule(sym)) {
        if (isPrivateName(child.getName())) continue;
        visitSymbol(`${path}.${child.getName()}`, child, (value as Record<string, unknown>)[child.getName()]);
      }
      return;
    }
    if (seen.has(sym) && !(sym.flags & ts.SymbolFlags.Class)) return;
    seen.add(sym);
    if (sym.flags & ts.SymbolFlags.Class) {
      const type = checker.getTypeOfSymbolAtLocation(sym, decl);
      const ctors = type.getConstructSignatures().map((s) => declaredSignature(s, checker) ?? checker.signatureToString(s));
      entries.push({
        path,
        kind: 'class',
        signature: ctors.join('\n'),
        doc: docOf(sym, checker) || docOf(raw, checker),
        members: classMembers(sym, checker),
      });
      return;
    }
    const type = checker.getTypeOfSymbolAtLocation(sym, decl);
    const calls = type.getCallSignatures();
    if (calls.length && sym.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable)) {
      entries.push({
        path,
        kind: 'function',
        signature: calls.map((s) => checker.signatureToString(s)).join('\n'),
        doc: docOf(sym, checker) || docOf(raw, checker),
        members: [],
      });
      return;
    }
    // A plain object namespace (`export const utils = { data: { ... } }`): its properties.
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const props = type.getProperties();
      if (
        props.length &&
        props.every(
          (p) =>
            p.valueDeclaration && (ts.isPropertyAssignment(p.valueDeclaration) || ts.isShorthandPropertyAssignment(p.valueDeclaration)),
        )
      ) {
        for (const p of props) {
          const d = p.valueDeclaration!;
          const init = ts.isPropertyAssignment(d) ? d.initializer : (d as ts.ShorthandPropertyAssignment).name;
          // A shorthand `{ Compose }`'s name is the property itself; its value is the symbol in scope.
          const target =
            (ts.isShorthandPropertyAssignment(d)
              ? checker.getShorthandAssignmentValueSymbol(d)
              : checker.getSymbolAtLocation(ts.isPropertyAccessExpression(init) ? init.name : init)) ?? p;
          const sub = (value as Record<string, unknown>)[p.getName()];
          if (ts.isObjectLiteralExpression(init)) visitSymbol(`${path}.${p.getName()}`, p, sub);
          else visitSymbol(`${path}.${p.getName()}`, target, sub);
        }
        return;
      }
    }
    entries.push({
      path,
      kind: 'value',
      signature: checker.typeToString(type),
      doc: docOf(sym, checker) || docOf(raw, checker),
      members: [],
    });
  };

  for (const sym of checker.getExportsOfModule(moduleSym)) {
    const name = sym.getName();
    if (isPrivateName(name) || name === 'default') continue;
    visitSymbol(`torch.${name}`, sym, runtime[name]);
  }
  return entries.sort((a, b) => a.path.localeCompare(b.path));
}
