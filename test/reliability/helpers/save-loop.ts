// Child process of checkpoint.test.ts: saves version after version of a
// multi-megabyte state dict to one path until it is killed. Every tensor
// of version v is a function of v, so a reader can tell a whole version
// from a mixture of two or a torn write.
import * as torch from '../../../lib/index.js';

const path = process.argv[2];
if (!path) throw new Error('usage: save-loop.ts PATH');

/** The state dict of version v (about 6 MB). */
export function versionState(v: number): Record<string, torch.Tensor> {
  return {
    'conv.weight': torch.full([256, 64, 3, 3], v, { dtype: 'float32' }),
    'fc.weight': torch.arange(0, 1 << 18, { dtype: 'float64' }).add(v),
    'bn.num_batches_tracked': torch.tensor([v], { dtype: 'int64' }),
    mask: torch.full([4096], v % 2 === 1),
    codes: torch.full([3, 1000], v % 251, { dtype: 'uint8' }),
  };
}

const states = [versionState(0), versionState(1)];
for (let v = 0; ; v++) {
  // Two prebuilt versions alternate, so each save spends its time writing.
  const sd = states[v % 2];
  sd['bn.num_batches_tracked'].fill_(v);
  torch.save(sd, path, { metadata: { version: String(v) } });
  if (v === 0) console.log('saved');
}
