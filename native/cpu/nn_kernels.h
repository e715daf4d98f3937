// nn kernels (native/cpu/nn.cc): convolution, pooling, normalisation and
// fused losses. Plain C++ over TensorViews, no Node headers.
#pragma once
#include "tensor_view.h"

namespace kd {}  // namespace kd
