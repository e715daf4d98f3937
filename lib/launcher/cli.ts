#!/usr/bin/env node
// The kindling-run command (package.json "bin"): see run.ts.
import { LAUNCH_HELP, LaunchUsageError, launch, parseLaunchArgs } from './run.js';

const argv = process.argv.slice(2);
if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
  process.stdout.write(`${LAUNCH_HELP}\n`);
  process.exitCode = argv.length === 0 ? 2 : 0;
} else {
  run();
}

function run(): void {
  try {
    const opts = parseLaunchArgs(argv);
    void launch(opts).then((status) => (process.exitCode = status));
  } catch (e) {
    if (!(e instanceof LaunchUsageError)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 2;
  }
}
