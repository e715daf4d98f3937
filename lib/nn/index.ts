// The `nn` namespace: lib/index.ts re-exports it as `export * as nn from './nn/index.js'`.
export { Module, type StateDict, type LoadResult } from './module.js';
export { Parameter } from './parameter.js';
export * as init from './init.js';
export * as functional from './functional.js';
export { Linear } from './layers/linear.js';
export { Conv2d } from './layers/conv.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './layers/pooling.js';
export { ReLU, LeakyReLU, GELU, Sigmoid, Tanh, Softmax, LogSoftmax } from './layers/activation.js';
export { Dropout } from './layers/dropout.js';
export { BatchNorm1d, BatchNorm2d, LayerNorm } from './layers/normalization.js';
export { Embedding } from './layers/embedding.js';
export { Flatten, Unflatten } from './layers/flatten.js';
export { Sequential, ModuleList, Identity, Lambda } from './layers/container.js';
export { CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, BCELoss, BCEWithLogitsLoss } from './layers/loss.js';
