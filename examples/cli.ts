// The command line of the example jobs (train_mnist.ts, train_lm.ts):
// node:util's parseArgs in strict mode, an unknown option named with its
// likely intended spelling, --help text made from the same flag table, and
// number checks whose errors name the flag. A mistake is a UsageError,
// which each job's main() prints without a stack and exits 2 on.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { didYouMean } from '../lib/util/args.js';

/** One command-line flag: its parseArgs type, the placeholder and text --help shows, an optional short form. */
export interface Flag {
  readonly type: 'string' | 'boolean';
  readonly arg: string;
  readonly help: string;
  readonly short?: string;
}

/** A mistake on the command line: reported as `<job>: ...` with exit status 2, without a stack. */
export class UsageError extends Error {}

/** What --help prints: the title, then one line per flag with its text starting at column `width`. */
export function helpText(title: string, flags: Readonly<Record<string, Flag>>, width: number): string {
  return [title, ...Object.entries(flags).map(([name, f]) => `  ${`--${name}${f.arg ? ` ${f.arg}` : ''}`.padEnd(width)}${f.help}`)].join(
    '\n',
  );
}

/** The flags' values from argv; an unknown option, a positional or a missing value is a UsageError. */
export function parseFlags(argv: string[], flags: Readonly<Record<string, Flag>>): Record<string, string | boolean | undefined> {
  const options: NonNullable<ParseArgsConfig['options']> = Object.fromEntries(
    Object.entries(flags).map(([name, f]) => [name, f.short !== undefined ? { type: f.type, short: f.short } : { type: f.type }]),
  );
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      // Found again without strict mode, to name it and its likely intended spelling.
      const { tokens } = parseArgs({ args: argv, options, strict: false, tokens: true });
      const bad = tokens.find((t) => t.kind === 'option' && !Object.hasOwn(flags, t.name));
      if (bad?.kind === 'option') {
        const hint = bad.rawName.startsWith('--') ? didYouMean(bad.name, Object.keys(flags)) : null;
        throw new UsageError(`unknown option '${bad.rawName}'${hint ? ` (did you mean --${hint}?)` : ''}`);
      }
    }
    if (typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) throw new UsageError(err.message);
    throw e;
  }
}

/** --name's value as an integer of at least `min`. */
export function int(name: string, v: string, min: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v)))
    throw new UsageError(`--${name} must be ${min > 0 ? 'a positive' : 'a non-negative'} integer, got '${v}'`);
  return Number(v);
}

/** --name's value as a finite non-negative number (positive when `positive`). */
export function num(name: string, v: string, positive: boolean): number {
  const n = /^\s*$/.test(v) ? NaN : Number(v);
  if (!Number.isFinite(n) || n < 0 || (positive && n === 0))
    throw new UsageError(`--${name} must be ${positive ? 'a positive' : 'a non-negative'} number, got '${v}'`);
  return n;
}
