// Child of autograd_hostile.test.ts: a tensor hook that registers itself
// again while it runs (issue 12). PyTorch runs the hooks a node had when
// backward reached it, so each backward calls it once per registered copy:
// 1 call in the first backward, 2 more in the second. A hook list that grows
// while backward walks it never ends, and V8 aborts the process; the test
// runs this in a child so that the runner survives to report it.
import * as torch from '../../../lib/index.js';

const y = torch.ones([2, 3], { requiresGrad: true }).mul(2);
let calls = 0;
const h = () => {
  calls++;
  y.registerHook(h);
};
y.registerHook(h);
y.sum().backward(null, { retainGraph: true });
const first = calls;
y.sum().backward();
console.log(JSON.stringify({ first, second: calls - first }));
