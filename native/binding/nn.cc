// Exports of the nn kernels (convolution, pooling, normalisation, losses,
// optimizer updates). Filled in with native/cpu/nn.cc.
#include "binding.h"

namespace kdb {

void initNN(Napi::Env env, Napi::Object exports) {}

}  // namespace kdb
