#!/usr/bin/env node
// Builds what the npm package runs: a CommonJS build of lib/ in dist/cjs
// (with .d.ts files), and dist/esm/index.js, an ES module that re-exports it
// by name, with its own index.d.ts. package.json's "exports" gives
// `require('kindling')` the first and `import ... from 'kindling'` the second.
//
// `prepare` runs this (so every install from a checkout, git or `file:` has
// what "exports" names) with --if-stale: when the inputs are those of the
// last build, it leaves dist/ alone, since `npm install` runs prepare each
// time and a git dependency runs it twice.
//
// Why one CommonJS implementation behind both: Node 18, and Node 20 before
// 20.19, cannot require() an ES module, so CommonJS users need a CommonJS
// build; if ES users got a separate ES build, a program reaching Kindling both
// ways (an ES app using a CommonJS library that uses Kindling, or a DataLoader
// worker importing a CommonJS dataset module) would hold two copies with two
// Tensor classes, two grad modes and two RNG seeds, and tensors of one would
// fail the other's instanceof checks. Node's documentation recommends this
// shape ("ES module wrapper") for packages with state.
//
// CommonJS has no import.meta, and TypeScript's CommonJS output turns
// import() into require(), which cannot load ES modules. The sources use
// import.meta.url only to find files of the package, so it becomes this
// file's own URL; import() becomes a real dynamic import, added after
// TypeScript's module transform, so that a DataLoader worker can still
// import a user's ES dataset module.
'use strict';
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

const root = path.resolve(__dirname, '..');
const libDir = path.join(root, 'lib');
const outDir = path.join(root, 'dist', 'cjs');
const esmEntry = path.join(root, 'dist', 'esm', 'index.js');
const esmTypes = path.join(root, 'dist', 'esm', 'index.d.ts');
const stampFile = path.join(root, 'dist', '.build-cjs.json');

// Diagnostics about import.meta in CommonJS output: the transformers below
// remove every use, so they do not apply to what is emitted.
const IMPORT_META_IN_CJS = new Set([1343, 1470]);

const parsed = ts.getParsedCommandLineOfConfigFile(
  path.join(root, 'tsconfig.json'),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  },
);
const rootNames = parsed.fileNames.filter((f) => !path.relative(libDir, f).startsWith('..'));
const options = {
  ...parsed.options,
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  rootDir: libDir,
  outDir,
  declaration: true,
  // Members and functions marked @internal stay out of the shipped .d.ts
  // (so out of users' completion); the library's own compile still sees them.
  stripInternal: true,
  declarationMap: false,
  sourceMap: false,
  noEmit: false,
  noEmitOnError: false,
};

const MODULE_URL = '__kindlingModuleUrl';
const DYNAMIC_IMPORT = '__kindlingImport';
// Which helpers each file needs, found before the module transform and
// declared after it.
const needs = new Map();

/** @type {ts.TransformerFactory<ts.SourceFile>} */
const rewriteEsmOnly = (context) => (sourceFile) => {
  const f = context.factory;
  const used = { url: false, importCall: false };
  const visit = (node) => {
    if (
      ts.isPropertyAccessExpression(node) &&
      ts.isMetaProperty(node.expression) &&
      node.expression.keywordToken === ts.SyntaxKind.ImportKeyword &&
      node.name.text === 'url'
    ) {
      used.url = true;
      return f.createIdentifier(MODULE_URL);
    }
    if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) {
      const { line } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
      throw new Error(`${sourceFile.fileName}:${line + 1}: only import.meta.url has a CommonJS rewrite; extend scripts/build-cjs.cjs`);
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      used.importCall = true;
      return f.createCallExpression(f.createIdentifier(DYNAMIC_IMPORT), undefined, ts.visitNodes(node.arguments, visit));
    }
    return ts.visitEachChild(node, visit, context);
  };
  const out = ts.visitNode(sourceFile, visit);
  needs.set(sourceFile.fileName, used);
  return out;
};

/** @type {ts.TransformerFactory<ts.SourceFile>} */
const declareHelpers = (context) => (sourceFile) => {
  const used = needs.get(sourceFile.fileName);
  if (!used || (!used.url && !used.importCall)) return sourceFile;
  const f = context.factory;
  const decls = [];
  const constDecl = (name, init) =>
    f.createVariableStatement(
      undefined,
      f.createVariableDeclarationList([f.createVariableDeclaration(name, undefined, undefined, init)], ts.NodeFlags.Const),
    );
  if (used.url) {
    // require('node:url').pathToFileURL(__filename).href
    const req = f.createCallExpression(f.createIdentifier('require'), undefined, [f.createStringLiteral('node:url')]);
    const call = f.createCallExpression(f.createPropertyAccessExpression(req, 'pathToFileURL'), undefined, [
      f.createIdentifier('__filename'),
    ]);
    decls.push(constDecl(MODULE_URL, f.createPropertyAccessExpression(call, 'href')));
  }
  if (used.importCall) {
    // (specifier) => import(specifier), left as is: this runs after the CommonJS transform.
    const param = f.createParameterDeclaration(undefined, undefined, 'specifier');
    const body = f.createCallExpression(f.createToken(ts.SyntaxKind.ImportKeyword), undefined, [f.createIdentifier('specifier')]);
    decls.push(constDecl(DYNAMIC_IMPORT, f.createArrowFunction(undefined, undefined, [param], undefined, undefined, body)));
  }
  // After the "use strict" prologue, before anything that runs.
  const stmts = [...sourceFile.statements];
  let at = 0;
  while (at < stmts.length && ts.isPrologueDirective(stmts[at])) at++;
  stmts.splice(at, 0, ...decls);
  return f.updateSourceFile(sourceFile, stmts);
};

/** The value (not type-only) names lib/index.ts exports. */
function valueExports(program) {
  const checker = program.getTypeChecker();
  const index = program.getSourceFile(path.join(libDir, 'index.ts'));
  const moduleSymbol = index && checker.getSymbolAtLocation(index);
  if (!moduleSymbol) throw new Error('build-cjs: cannot read the exports of lib/index.ts');
  const names = [];
  for (const sym of checker.getExportsOfModule(moduleSymbol)) {
    const typeOnly = (sym.declarations ?? []).some(
      (d) => (ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly)) || (ts.isImportSpecifier(d) && d.isTypeOnly),
    );
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    if (!typeOnly && target.flags & ts.SymbolFlags.Value) names.push(sym.escapedName.toString());
  }
  return names.sort();
}

function writeEsmEntry(names) {
  const lines = [
    '// Generated by scripts/build-cjs.cjs: the ES entry of the package re-exports',
    '// the CommonJS build by name, so `import` and `require` share one instance.',
    "import cjs from '../cjs/index.js';",
    '',
  ];
  // Through locals, since some export names (`var`) are not valid binding names.
  names.forEach((n, i) => lines.push(`const e${i} = cjs[${JSON.stringify(n)}];`));
  lines.push('export {');
  names.forEach((n, i) => lines.push(`  e${i} as ${n},`));
  lines.push('};', '');
  fs.mkdirSync(path.dirname(esmEntry), { recursive: true });
  fs.writeFileSync(esmEntry, lines.join('\n'));
}

// The ES entry's types. Without them TypeScript would read the CommonJS
// .d.ts for `import`, and describe an ES module as CommonJS. A CommonJS
// module's default import is its whole exports object, as at run time.
function writeEsmTypes() {
  const text = [
    '// Generated by scripts/build-cjs.cjs: the types of the ES entry (index.js beside this file).',
    "export * from '../cjs/index.js';",
    "import torch from '../cjs/index.js';",
    'export default torch;',
    '',
  ].join('\n');
  fs.writeFileSync(esmTypes, text);
}

/** What the output depends on: every source file (path, size, mtime), the compiler and this script. */
function inputsKey() {
  const files = [...rootNames, path.join(root, 'tsconfig.json'), __filename].sort().map((f) => {
    const st = fs.statSync(f);
    return [path.relative(root, f), st.size, st.mtimeMs];
  });
  return JSON.stringify({ typescript: ts.version, files });
}

const key = inputsKey();
if (process.argv.includes('--if-stale')) {
  let last = null;
  try {
    last = fs.readFileSync(stampFile, 'utf8');
  } catch {
    // no stamp: build
  }
  const outputs = [path.join(outDir, 'index.js'), path.join(outDir, 'index.d.ts'), esmEntry, esmTypes];
  if (last === key && outputs.every((f) => fs.existsSync(f))) {
    console.log('build-cjs: dist/cjs and dist/esm are up to date');
    process.exit(0);
  }
}

fs.rmSync(stampFile, { force: true });
fs.rmSync(outDir, { recursive: true, force: true });
fs.rmSync(path.dirname(esmEntry), { recursive: true, force: true });
const program = ts.createProgram({ rootNames, options });
const emit = program.emit(undefined, undefined, undefined, false, { before: [rewriteEsmOnly], after: [declareHelpers] });
const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emit.diagnostics].filter((d) => !IMPORT_META_IN_CJS.has(d.code));
if (diagnostics.length) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  console.error(ts.formatDiagnosticsWithColorAndContext(diagnostics, host));
  process.exit(1);
}
fs.writeFileSync(path.join(outDir, 'package.json'), JSON.stringify({ type: 'commonjs' }, null, 2) + '\n');
const names = valueExports(program);
writeEsmEntry(names);
writeEsmTypes();
fs.writeFileSync(stampFile, key);
console.log(`build-cjs: wrote dist/cjs and dist/esm (${names.length} exports)`);
