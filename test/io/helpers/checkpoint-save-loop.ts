// Child process of test/io/checkpoint.test.ts: saves checkpoint after
// checkpoint to one path until it is killed. Checkpoint e holds epoch e, a
// history of e + 1 numbers and a 4 MB tensor of value e % 2, so a reader
// can tell a whole checkpoint from parts of two.
import * as torch from '../../../lib/index.js';

const path = process.argv[2];
if (!path) throw new Error('usage: checkpoint-save-loop.ts PATH');

const weights = [torch.zeros([1024, 1024]), torch.ones([1024, 1024])];
const history: number[] = [];
for (let epoch = 0; ; epoch++) {
  history.push(epoch / 3);
  torch.save({ epoch, model: { w: weights[epoch % 2] }, history }, path);
  if (epoch === 0) console.log('saved');
}
