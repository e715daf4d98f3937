#include "nccl.h"

#include <dlfcn.h>

#include <cstring>
#include <string>

namespace kd_dist {
namespace {

// The few NCCL declarations used, from its C API (nccl.h, stable since
// NCCL 2.0): declared here so that no NCCL headers are needed to build.
using ncclResult_t = int;
using ncclComm_t = void*;
struct ncclUniqueId {
  char internal[128];
};
using GetVersionFn = ncclResult_t (*)(int*);
using GetUniqueIdFn = ncclResult_t (*)(ncclUniqueId*);
using CommInitRankFn = ncclResult_t (*)(ncclComm_t*, int, ncclUniqueId, int);
using CommDestroyFn = ncclResult_t (*)(ncclComm_t);
using GetErrorStringFn = const char* (*)(ncclResult_t);

struct Nccl {
  void* lib = nullptr;
  std::string loadError;
  GetVersionFn getVersion = nullptr;
  GetUniqueIdFn getUniqueId = nullptr;
  CommInitRankFn commInitRank = nullptr;
  CommDestroyFn commDestroy = nullptr;
  GetErrorStringFn getErrorString = nullptr;
};

Nccl& nccl() {
  static Nccl n = [] {
    Nccl r;
    r.lib = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (r.lib == nullptr) {
      const char* err = dlerror();
      r.loadError = std::string("libnccl.so.2 could not be loaded (") + (err ? err : "unknown error") +
                    "): backend 'nccl' needs NVIDIA's NCCL and a CUDA GPU (Debian/Ubuntu: apt-get install libnccl2); "
                    "use backend 'gloo' on CPUs";
      return r;
    }
    r.getVersion = reinterpret_cast<GetVersionFn>(dlsym(r.lib, "ncclGetVersion"));
    r.getUniqueId = reinterpret_cast<GetUniqueIdFn>(dlsym(r.lib, "ncclGetUniqueId"));
    r.commInitRank = reinterpret_cast<CommInitRankFn>(dlsym(r.lib, "ncclCommInitRank"));
    r.commDestroy = reinterpret_cast<CommDestroyFn>(dlsym(r.lib, "ncclCommDestroy"));
    r.getErrorString = reinterpret_cast<GetErrorStringFn>(dlsym(r.lib, "ncclGetErrorString"));
    if (!r.getVersion || !r.getUniqueId || !r.commInitRank || !r.commDestroy || !r.getErrorString) {
      r.loadError = "libnccl.so.2 lacks the NCCL 2 C API (ncclGetUniqueId, ncclCommInitRank, ...)";
    }
    return r;
  }();
  return n;
}

Nccl& loaded(Napi::Env env) {
  Nccl& n = nccl();
  if (!n.loadError.empty()) throw Napi::Error::New(env, n.loadError);
  return n;
}

void check(Napi::Env env, ncclResult_t rc, const char* what) {
  if (rc != 0) throw Napi::Error::New(env, std::string(what) + " failed: " + nccl().getErrorString(rc));
}

// ncclVersion(): NCCL's version code; throws saying what to install when
// libnccl.so.2 is missing.
Napi::Value Version(const Napi::CallbackInfo& info) {
  int v = 0;
  check(info.Env(), loaded(info.Env()).getVersion(&v), "ncclGetVersion");
  return Napi::Number::New(info.Env(), v);
}

// ncclUniqueId(): rank 0's id, passed to the others through the store.
Napi::Value UniqueId(const Napi::CallbackInfo& info) {
  ncclUniqueId id;
  check(info.Env(), loaded(info.Env()).getUniqueId(&id), "ncclGetUniqueId");
  return Napi::Buffer<char>::Copy(info.Env(), id.internal, sizeof(id.internal));
}

// ncclCommInitRank(id, rank, size): the communicator, as an external with
// ncclCommDestroy as its finalizer.
Napi::Value CommInitRank(const Napi::CallbackInfo& info) {
  Nccl& n = loaded(info.Env());
  auto buf = info[0].As<Napi::Buffer<char>>();
  ncclUniqueId id;
  if (buf.Length() != sizeof(id.internal)) throw Napi::Error::New(info.Env(), "ncclCommInitRank: bad unique id");
  std::memcpy(id.internal, buf.Data(), sizeof(id.internal));
  ncclComm_t comm = nullptr;
  check(info.Env(),
        n.commInitRank(&comm, info[2].As<Napi::Number>().Int32Value(), id, info[1].As<Napi::Number>().Int32Value()),
        "ncclCommInitRank");
  return Napi::External<void>::New(info.Env(), comm, [](Napi::Env, void* c) { nccl().commDestroy(c); });
}

}  // namespace

void initNccl(Napi::Env env, Napi::Object exports) {
  exports.Set("ncclVersion", Napi::Function::New(env, Version));
  exports.Set("ncclUniqueId", Napi::Function::New(env, UniqueId));
  exports.Set("ncclCommInitRank", Napi::Function::New(env, CommInitRank));
}

}  // namespace kd_dist
