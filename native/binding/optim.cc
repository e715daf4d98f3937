// Exports of the fused optimizer updates (native/cpu/optim.cc).
#include "binding.h"

namespace kdb {

void initOptim(Napi::Env env, Napi::Object exports) {}

}  // namespace kdb
