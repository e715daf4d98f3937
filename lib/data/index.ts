// torch.utils.data and torch.datasets.
// Loaders hand out Tensors whose methods must be attached even when this
// module is imported without the package entry (workers, deep imports).
import '../tensor_methods.js';
export { Dataset, TensorDataset, type WorkerDatasetSpec } from './dataset.js';
export { DataLoader, type DataLoaderOptions } from './dataloader.js';
export { defaultCollate, type CollateFn } from './collate.js';
export { Generator } from './generator.js';
export { MNIST, type MNISTOptions } from './mnist.js';
