// Runs a TypeScript file of this repository in a fresh node process (with
// the loader hooks of register-ts.mjs), so a test can survive and report a
// crash of the code under test: a signal or an abort ends the child, not
// the test runner.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REGISTER_TS = fileURLToPath(new URL('./register-ts.mjs', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Whether the child died in a way no JS error explains (signal, abort, V8 fatal error). */
export function crashed(r: ChildResult): boolean {
  return r.signal !== null || (r.code !== null && r.code > 128) || /FATAL ERROR|Segmentation fault|Aborted|core dumped/.test(r.stderr);
}

export function runTs(
  file: string,
  args: string[] = [],
  opts: { nodeArgs?: string[]; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildResult> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', REGISTER_TS, file, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : null;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** The last line of stdout parsed as JSON (the convention of the reliability children). */
export function lastJson<T>(r: ChildResult): T | null {
  const lines = r.stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]) as T;
  } catch {
    return null;
  }
}
