// One rank of a DDP test job (started by test/nn/parallel/ddp.test.ts with a
// launcher's environment). argv: model (cnn | lenet), mode (ddp | control |
// nosync). Trains STEPS steps on this rank's share of each combined batch,
// also trains one plain model on the whole combined batch, and prints one
// JSON line: how far its parameters are from that model's, and from
// PyTorch's DDP runs (test/fixtures/ddp_pytorch.json: one per PyTorch CPU
// convolution) when there are some.
import { existsSync, readFileSync } from 'node:fs';
import * as torch from '../../../../lib/index.js';
import { PER_RANK, STEPS, batch, buildModel, buildOptimizer, initWeights, maxDiff, type ModelName } from './ddp_setup.js';

const F = torch.nn.functional;
const dist = torch.distributed;
const [model, mode] = process.argv.slice(2) as [ModelName, 'ddp' | 'control' | 'nosync'];

// PyTorch's "native" run (the 1e-5 comparison) multiplies through OpenBLAS;
// Kindling's default GEMM is the built-in one wherever that is at least as wide
// (native/cpu/gemm.cc, blasByDefault), which sums in another order that Adam
// magnifies past 1e-5 on LeNet. So this rank multiplies through OpenBLAS too.
torch.setUseBlas(true);

dist.initProcessGroup({ timeout: 30_000 });
const rank = dist.getRank();
const world = dist.getWorldSize();
const total = PER_RANK * world;

// Each rank starts from different weights (salt = rank): DDP's broadcast
// must make them rank 0's, which the reference starts from.
const local = buildModel(model);
initWeights(local, rank);
const reference = buildModel(model);
initWeights(reference, 0);

const ddp = mode === 'control' ? null : new torch.nn.parallel.DistributedDataParallel(local);
const trained = ddp ?? local;
if (mode === 'control') initWeights(local, 0);
const opt = buildOptimizer(model, local);
const refOpt = buildOptimizer(model, reference);

for (let s = 0; s < STEPS; s++) {
  const [x, y] = batch(s, total);
  const xs = x.narrow(0, rank * PER_RANK, PER_RANK);
  const ys = y.narrow(0, rank * PER_RANK, PER_RANK);
  if (mode === 'nosync') {
    // Two half batches: the first only accumulates, the second reduces the sum.
    const half = PER_RANK / 2;
    ddp!.noSync(() =>
      F.crossEntropy(ddp!.call(xs.narrow(0, 0, half)), ys.narrow(0, 0, half))
        .div(2)
        .backward(),
    );
    F.crossEntropy(ddp!.call(xs.narrow(0, half, half)), ys.narrow(0, half, half))
      .div(2)
      .backward();
  } else {
    F.crossEntropy(trained.call(xs), ys).backward();
  }
  opt.step();
  opt.zeroGrad();

  F.crossEntropy(reference.call(x), y).backward();
  refOpt.step();
  refOpt.zeroGrad();
}

// How far this rank's parameters, and those of one Kindling process on the
// combined batch, are from PyTorch's DDP with each of its convolutions
// (scripts/make_ddp_fixtures.py), when the fixture has this job.
type Conv = 'native' | 'onednn';
const vsPytorch: Partial<Record<Conv, number>> = {};
const referenceVsPytorch: Partial<Record<Conv, number>> = {};
// How far PyTorch's two convolutions' runs are from each other: float32 rounding, as Adam magnifies it.
let pytorchConvGap: number | null = null;
const fixture = new URL('../../../fixtures/ddp_pytorch.json', import.meta.url);
if (existsSync(fixture) && mode === 'ddp') {
  const fx = JSON.parse(readFileSync(fixture, 'utf8')) as { runs: { model: string; world: number; conv: Conv; params: string[] }[] };
  const decode = (b64: string, like: torch.Tensor) =>
    torch.tensor(new Float32Array(Uint8Array.from(Buffer.from(b64, 'base64')).buffer)).view(like.shape);
  const runs = fx.runs.filter((r) => r.model === model && r.world === world);
  for (const run of runs) {
    const fromPytorch = (m: torch.nn.Module) =>
      Math.max(...m.parameters().map((p, i) => p.sub(decode(run.params[i], p)).abs().max().item()));
    vsPytorch[run.conv] = fromPytorch(local);
    referenceVsPytorch[run.conv] = fromPytorch(reference);
  }
  const [a, b] = runs;
  if (a && b) {
    const ps = local.parameters();
    pytorchConvGap = Math.max(...ps.map((p, i) => decode(a.params[i], p).sub(decode(b.params[i], p)).abs().max().item()));
  }
}
console.log(JSON.stringify({ rank, world, vsSingle: maxDiff(local, reference), vsPytorch, referenceVsPytorch, pytorchConvGap }));
dist.destroyProcessGroup();
