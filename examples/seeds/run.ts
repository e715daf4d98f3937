// Shared by the seed ports: run main() when the file is executed directly.
import { fileURLToPath } from 'node:url';

export type Print = (...args: unknown[]) => void;

export function runIfMain(url: string, main: (print: Print) => unknown): void {
  if (process.argv[1] && fileURLToPath(url) === process.argv[1]) {
    Promise.resolve(main((...a) => console.log(...a.map((v) => (typeof v === 'string' ? v : String(v)))))).catch((e) => {
      console.error(e);
      process.exit(1);
    });
  }
}

/** Python's repr of a float: 1.0 rather than JS's 1. */
export function pyFloat(v: number): string {
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}
