#!/usr/bin/env node
// Regenerates every PyTorch fixture in test/fixtures: `npm run fixtures`, or
// `npm run fixtures -- onnx tensorboard` for the steps whose name contains one
// of the words. `--list` prints the steps and runs nothing.
//
// One list rather than a chain in package.json, because some fixtures need a
// Node step before their Python one (Kindling writes a file, PyTorch reads it
// back) and a chain of twenty `&&`s was too long to keep complete: scripts were
// added without being added to it.
//
// The Python side is Debian's python3-torch at /usr/bin/python3 (PyTorch 1.13,
// the reference the fixtures were made with), not whatever `python3` is first
// on PATH.
'use strict';

const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const PYTHON = process.env.KINDLING_FIXTURES_PYTHON || '/usr/bin/python3';
// Runs a TypeScript script straight from the sources, as the tests do.
const NODE_TS = [process.execPath, '--import', './test/reliability/helpers/register-ts.mjs'];

const py = (name, script = `make_${name}_fixtures.py`) => ({ name, cmd: [PYTHON, `scripts/${script}`] });
const node = (name, script) => ({ name, cmd: [...NODE_TS, `scripts/${script}`] });

const steps = [
  py('ops', 'make_fixtures.py'),
  py('nn'),
  py('module'),
  py('optim'),
  py('io'),
  py('seed'),
  py('data'),
  py('rnn'),
  py('rnn_cell'),
  py('attention'),
  py('fused_attention'),
  py('conv'),
  py('conv_direct'),
  py('lm'),
  py('half'),
  py('print'),
  py('torch_file'),
  py('tutorial'),
  py('distributed'),
  py('ddp'),
  // Kindling writes, PyTorch reads back.
  node('checkpoint', 'write_checkpoint_sample.ts'),
  py('checkpoint'),
  node('tensorboard', 'write_tensorboard_sample.ts'),
  py('tensorboard'),
  // Runs scripts/write_onnx_samples.ts itself, then onnx.checker.
  py('onnx'),
];

const args = process.argv.slice(2);
const list = args.includes('--list');
const words = args.filter((a) => a !== '--list');
const chosen = steps.filter((s) => words.length === 0 || words.some((w) => s.name.includes(w)));
if (chosen.length === 0) {
  console.error(`fixtures: no step matches ${words.join(', ')}; steps: ${steps.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
if (!list && !existsSync(PYTHON)) {
  console.error(`fixtures: ${PYTHON} not found (apt-get install python3-torch, or set KINDLING_FIXTURES_PYTHON)`);
  process.exit(2);
}
for (const s of chosen) {
  const script = s.cmd.find((c) => c.startsWith('scripts/'));
  if (!existsSync(join(root, script))) {
    console.error(`fixtures: ${s.name}: ${script} is missing`);
    process.exit(2);
  }
  console.log(`fixtures: ${s.name}: ${s.cmd.map((c) => (c === process.execPath ? 'node' : c)).join(' ')}`);
  if (list) continue;
  const r = spawnSync(s.cmd[0], s.cmd.slice(1), { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`fixtures: ${s.name} failed (${r.error ? r.error.message : `exit ${r.status ?? r.signal}`})`);
    process.exit(1);
  }
}
