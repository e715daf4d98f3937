// The one export table of the addon.
#include "binding.h"

static Napi::Object InitKindling(Napi::Env env, Napi::Object exports) {
  kdb::initCore(env, exports);
  kdb::initNN(env, exports);
  kdb::initOptim(env, exports);
  kdb::initCuda(env, exports);
  return exports;
}

NODE_API_MODULE(kindling, InitKindling)
