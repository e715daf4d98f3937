// The `nn` namespace: lib/index.ts re-exports it as `export * as nn from './nn/index.js'`.
export {
  Module,
  RemovableHandle,
  type StateDict,
  type LoadResult,
  type ForwardHook,
  type ForwardPreHook,
  type FullBackwardHook,
} from './module.js';
export { Parameter } from './parameter.js';
export * as init from './init.js';
export * as functional from './functional.js';
export { Linear } from './layers/linear.js';
export { Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d } from './layers/conv.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './layers/pooling.js';
export {
  ReLU,
  LeakyReLU,
  GELU,
  Sigmoid,
  Tanh,
  Softmax,
  LogSoftmax,
  SiLU,
  Mish,
  ELU,
  SELU,
  CELU,
  Softplus,
  Hardtanh,
  ReLU6,
  Hardswish,
  Hardsigmoid,
  PReLU,
  GLU,
  Softmin,
  LogSigmoid,
  Softsign,
  Tanhshrink,
  Hardshrink,
  Softshrink,
  Threshold,
} from './layers/activation.js';
export { Dropout } from './layers/dropout.js';
export { BatchNorm1d, BatchNorm2d, LayerNorm } from './layers/normalization.js';
export { Embedding } from './layers/embedding.js';
export { RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell } from './layers/rnn.js';
export { EmbeddingBag, type EmbeddingBagOptions } from './layers/embedding_bag.js';
export { MultiheadAttention, type MultiheadAttentionOptions } from './layers/attention.js';
export {
  TransformerEncoderLayer,
  TransformerEncoder,
  TransformerDecoderLayer,
  TransformerDecoder,
  Transformer,
  type TransformerActivation,
  type TransformerEncoderLayerOptions,
  type TransformerDecoderLayerOptions,
  type TransformerOptions,
} from './layers/transformer.js';
export { Flatten, Unflatten } from './layers/flatten.js';
export { Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict, Identity, Lambda } from './layers/container.js';
export * as utils from './utils.js';
export * as parallel from './parallel/index.js';
export {
  CrossEntropyLoss,
  NLLLoss,
  MSELoss,
  L1Loss,
  BCELoss,
  BCEWithLogitsLoss,
  SmoothL1Loss,
  HuberLoss,
  KLDivLoss,
  CosineEmbeddingLoss,
  MarginRankingLoss,
  HingeEmbeddingLoss,
  TripletMarginLoss,
  PoissonNLLLoss,
  GaussianNLLLoss,
  MultiLabelSoftMarginLoss,
  SoftMarginLoss,
  MultiMarginLoss,
  MultiLabelMarginLoss,
} from './layers/loss.js';
export { CosineSimilarity, PairwiseDistance } from './layers/distance.js';
