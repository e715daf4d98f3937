// The one export table of the addon.
#include "binding.h"

namespace kdb {

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  initCore(env, exports);
  initNN(env, exports);
  return exports;
}

}  // namespace kdb

NODE_API_MODULE(kindling, kdb::Init)
