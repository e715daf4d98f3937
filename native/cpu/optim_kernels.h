// Fused optimizer updates (native/cpu/optim.cc). Plain C++, no Node headers.
#pragma once
#include "tensor_view.h"

namespace kd {}  // namespace kd
