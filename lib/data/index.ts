// torch.utils.data and torch.datasets.
// Loaders hand out Tensors whose methods must be attached even when this
// module is imported without the package entry (workers, deep imports).
import '../tensor_methods.js';
export { Dataset, IterableDataset, TensorDataset, type WorkerDatasetSpec } from './dataset.js';
export { Subset, ConcatDataset, ChainDataset, randomSplit, type RandomSplitOptions } from './combine.js';
export {
  Sampler,
  SequentialSampler,
  RandomSampler,
  SubsetRandomSampler,
  WeightedRandomSampler,
  BatchSampler,
  type RandomSamplerOptions,
  type WeightedRandomSamplerOptions,
} from './sampler.js';
export { DistributedSampler, type DistributedSamplerOptions } from './distributed_sampler.js';
export { DataLoader, type DataLoaderOptions } from './dataloader.js';
export { defaultCollate, type CollateFn } from './collate.js';
export { Generator } from './generator.js';
export { MNIST, type MNISTOptions } from './mnist.js';
import { Compose, ConvertImageDtype, Lambda, Normalize, RandomCrop, RandomHorizontalFlip, ToTensor } from './transforms.js';
/** torch.transforms (torchvision.transforms): the transforms a dataset applies per item. */
export const transforms = { Compose, ToTensor, Normalize, Lambda, ConvertImageDtype, RandomHorizontalFlip, RandomCrop };
export { Transform, type TransformLike, type ImageLike, type RandomCropOptions } from './transforms.js';
