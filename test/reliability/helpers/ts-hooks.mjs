// Module hooks that let a plain `node` process (a child process, a worker
// thread, scripts/soak.ts) import Kindling's TypeScript sources: .ts files
// are stripped of types with esbuild, and a `./x.js` import from a .ts
// file resolves to `./x.ts` as vitest does. Registered by register-ts.mjs.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
// esbuild comes with vitest (through vite); typescript is the fallback.
let compile;
try {
  const esbuild = require('esbuild');
  compile = (source, file) =>
    esbuild.transformSync(source, { loader: 'ts', format: 'esm', target: 'es2022', sourcemap: 'inline', sourcefile: file }).code;
} catch {
  const ts = require('typescript');
  compile = (source, file) =>
    ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true },
    }).outputText;
}

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      const url = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
      if (url.protocol === 'file:' && existsSync(fileURLToPath(url))) return { url: url.href, shortCircuit: true };
    }
    throw e;
  }
}

export async function load(url, context, next) {
  if (url.startsWith('file:') && url.endsWith('.ts')) {
    const file = fileURLToPath(url);
    return { format: 'module', source: compile(readFileSync(file, 'utf8'), file), shortCircuit: true };
  }
  return next(url, context);
}
