// Fit y = sin(x) with a small MLP: a Dataset of your own, a shuffled
// DataLoader, Adam with a learning-rate schedule, evaluation under noGrad,
// and a checkpoint saved and loaded back into fresh objects.
//
//   npm install kindling
//   node regression.mjs
import * as torch from 'kindling';

const { nn, optim } = torch;
const F = nn.functional;
const { DataLoader } = torch.utils.data;

torch.manualSeed(0);

// A dataset is anything with a length and a get(i) returning one example.
class SineDataset {
  constructor(n) {
    this.x = torch.linspace(-Math.PI, Math.PI, n).unsqueeze(1);
    this.y = torch.sin(this.x);
    this.length = n;
  }
  get(i) {
    return [this.x.index(i), this.y.index(i)];
  }
}

class MLP extends nn.Module {
  constructor(hidden) {
    super();
    this.layers = new nn.Sequential(
      new nn.Linear(1, hidden),
      new nn.Tanh(),
      new nn.Linear(hidden, hidden),
      new nn.Tanh(),
      new nn.Linear(hidden, 1),
    );
  }
  forward(x) {
    return this.layers(x);
  }
}

const data = new SineDataset(512);
const loader = new DataLoader(data, { batchSize: 64, shuffle: true });
const model = new MLP(32);
const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
const sched = new optim.lrScheduler.StepLR(opt, { stepSize: 40, gamma: 0.5 });

function evaluate(m) {
  return torch.noGrad(() => F.mseLoss(m(data.x), data.y).item());
}

const epochs = 100;
for (let epoch = 1; epoch <= epochs; epoch++) {
  model.train();
  for (const [xb, yb] of loader) {
    const loss = F.mseLoss(model(xb), yb);
    opt.zeroGrad();
    loss.backward();
    opt.step();
  }
  sched.step();
  if (epoch % 20 === 0) console.log(`epoch ${epoch}: mse ${evaluate(model).toExponential(2)}`);
}

model.eval();
const mse = evaluate(model);
torch.save({ epoch: epochs, model: model.stateDict(), optimizer: opt.stateDict() }, 'sine.safetensors');

const ckpt = torch.load('sine.safetensors');
const restored = new MLP(32);
restored.loadStateDict(ckpt.model);
restored.eval();
const same = torch.noGrad(() => torch.equal(restored(data.x), model(data.x)));
console.log(`final mse ${mse.toExponential(2)}; checkpoint of epoch ${ckpt.epoch} restores the same predictions: ${same}`);
