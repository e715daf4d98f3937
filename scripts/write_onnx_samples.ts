// Writes the ONNX test samples (test/onnx/samples.ts), exported at batch 3,
// into a folder, for scripts/make_onnx_fixtures.py to check with onnx.checker:
//   node --import ./test/reliability/helpers/register-ts.mjs scripts/write_onnx_samples.ts DIR
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../lib/index.js';
import { samples } from '../test/onnx/samples.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: write_onnx_samples.ts DIR');
mkdirSync(dir, { recursive: true });
for (const s of samples()) {
  const bytes = torch.onnx.export(s.model, s.inputs(3), join(dir, `${s.name}.onnx`), s.options);
  console.log(`${s.name}.onnx: ${bytes.length} bytes`);
}
