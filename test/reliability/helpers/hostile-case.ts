// One case of ops_hostile.test.ts that could hang (a loop over 2^53 or
// 1e12 elements, a walk of a cyclic array) or abort the process, run in a
// child process (helpers/child.ts) so a regression fails the test instead
// of hanging the runner. Prints one JSON line: what the call returned, or
// the error it threw.
//
//   node --import ./register-ts.mjs hostile-case.ts <case>
import * as torch from '../../../lib/index.js';

const F = torch.nn.functional;
const HUGE = 2 ** 53 - 1;

/** An int64 index of n entries over 8 bytes of memory (a stride-0 view). */
function hugeIndex(shape: number[]): torch.Tensor {
  return torch.zeros(1, { dtype: 'int64' }).expand(shape);
}

const cases: Record<string, () => unknown> = {
  // tolist / printing of a zero-size tensor with a huge dim.
  'tolist-huge-empty': () => torch.empty([HUGE, 0]).tolist(),
  'tolist-huge-empty-inner': () => torch.empty([0, HUGE]).tolist(),
  'tolist-empty-rows': () => torch.empty([3, 0]).tolist(),
  'string-huge-empty': () => String(torch.empty([HUGE, 0])),
  // advanced indexing with a 1e12-entry index checks the output size first.
  'index-huge': () => torch.zeros(5).index(hugeIndex([1e12])).shape,
  'index-huge-2d': () => torch.zeros(5, 4).index(hugeIndex([1e12]), '...').shape,
  'index-huge-empty-rest': () => torch.zeros(5, 0).index(hugeIndex([1e12])).shape,
  'indexPut-huge': () => torch.zeros(5).indexPut_([hugeIndex([1e12])], 1).shape,
  'indexSelect-huge': () => torch.zeros(5).indexSelect(0, hugeIndex([1e12])).shape,
  'indexSelect-huge-empty': () => torch.zeros(0, 5).indexSelect(1, hugeIndex([1e12])).shape,
  'gather-huge': () => torch.zeros(5).gather(0, hugeIndex([1e12])).shape,
  'scatterAdd-huge': () => torch.zeros(5).scatterAdd(0, hugeIndex([1e12]), torch.zeros(1).expand(1e12)).shape,
  'embedding-huge': () => F.embedding(hugeIndex([1e12]), torch.zeros(5, 3)).shape,
  'oneHot-huge': () => F.oneHot(hugeIndex([1e12]), 3).shape,
  // a cyclic nested array: the shape probe must stop at the dims limit.
  'tensor-cyclic': () => {
    const a: unknown[] = [];
    a.push(a);
    return torch.tensor(a as never).shape;
  },
};

const name = process.argv[2];
const run = cases[name];
if (!run) {
  console.log(JSON.stringify({ name, threw: true, type: 'Error', message: `no case named ${name}` }));
} else {
  const t0 = Date.now();
  try {
    const value = run();
    console.log(JSON.stringify({ name, threw: false, value, ms: Date.now() - t0 }));
  } catch (e) {
    const err = e as Error;
    console.log(JSON.stringify({ name, threw: true, type: err?.constructor?.name, message: String(err?.message), ms: Date.now() - t0 }));
  }
}
