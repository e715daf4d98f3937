// Writes a small event file with Kindling's SummaryWriter, for PyTorch's side
// to read: `node --import ./test/reliability/helpers/register-ts.mjs
// scripts/write_tensorboard_sample.ts` writes test/fixtures/tensorboard/
// kindling.tfevents, then scripts/make_tensorboard_fixtures.py decodes it with
// Python's protobuf and PIL into kindling_decoded.json, which
// test/utils/tensorboard.test.ts compares with SAMPLE. The test also writes
// the sample again and checks the committed file is what the writer makes now.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../lib/index.js';

/** What the sample holds (every event at a fixed wall time, so only the file_version event's time varies). */
export const SAMPLE = {
  walltime: 1700000000.25,
  scalars: [
    { tag: 'loss', value: 0.75, step: 0 },
    { tag: 'loss', value: 0.5, step: 1 },
    { tag: 'loss', value: 1 / 3, step: 2 },
  ],
  histogram: { tag: 'weights', values: [0.5, 0.75, 1, 1.25, 2, 2], step: 1 },
  // A grey 1x3x4 image (CHW) and an RGB 3x2x2 one, values in [0, 1].
  grey: { tag: 'grey', shape: [1, 3, 4], values: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.999, 1], step: 1 },
  rgb: { tag: 'rgb', shape: [3, 2, 2], values: [1, 0, 0, 1, 0, 1, 0, 0.5, 0, 0, 1, 0.25], step: 1 },
  text: { tag: 'notes', text: 'Kindling wrote this ✓', step: 1 },
};

/** Writes the sample into `dir` and returns the event file's path. */
export function writeSample(dir: string): string {
  const w = new torch.utils.tensorboard.SummaryWriter(dir);
  const at = { walltime: SAMPLE.walltime };
  for (const s of SAMPLE.scalars) w.addScalar(s.tag, s.value, s.step, at);
  const h = SAMPLE.histogram;
  w.addHistogram(h.tag, torch.tensor(h.values, { dtype: 'float32' }), h.step, at);
  for (const im of [SAMPLE.grey, SAMPLE.rgb])
    w.addImage(im.tag, torch.tensor(im.values, { dtype: 'float32' }).reshape(im.shape), im.step, at);
  w.addText(SAMPLE.text.tag, SAMPLE.text.text, SAMPLE.text.step, at);
  w.close();
  const files = readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.'));
  if (files.length !== 1) throw new Error(`writeSample: expected one event file in ${dir}, found ${files.length}`);
  return join(dir, files[0]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'tensorboard');
  const tmp = mkdtempSync(join(tmpdir(), 'kindling-tb-sample-'));
  try {
    mkdirSync(out, { recursive: true });
    copyFileSync(writeSample(tmp), join(out, 'kindling.tfevents'));
    console.log(`wrote ${join(out, 'kindling.tfevents')}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
