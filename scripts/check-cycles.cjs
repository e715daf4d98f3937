#!/usr/bin/env node
// `npm run lint:cycles`: madge's circular-import check over lib/, with the
// options of .madgerc. One self-import is allowed: lib/index.ts imports its
// own namespace to make it the default export (`import torch from
// 'kindling'`). Any other cycle, a longer one through index.ts included,
// fails.
'use strict';
const fs = require('fs');
const path = require('path');
const madge = require('madge');

const root = path.resolve(__dirname, '..');
const ALLOWED = new Set([JSON.stringify(['index.ts'])]);

const rc = JSON.parse(fs.readFileSync(path.join(root, '.madgerc'), 'utf8'));
madge(path.join(root, 'lib'), { ...rc, tsConfig: path.join(root, 'tsconfig.json') })
  .then((res) => {
    const cycles = res.circular().filter((c) => !ALLOWED.has(JSON.stringify(c)));
    const files = Object.keys(res.obj()).length;
    if (cycles.length === 0) {
      console.log(`lint:cycles: no import cycle in lib/ (${files} files)`);
      return;
    }
    console.error(`lint:cycles: ${cycles.length} import cycle(s) in lib/:`);
    for (const c of cycles) console.error(`  ${[...c, c[0]].join(' -> ')}`);
    process.exitCode = 1;
  })
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
