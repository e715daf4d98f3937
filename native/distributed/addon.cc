// kindling_dist.node: torch.distributed's native side (lib/distributed),
// a module of its own so that the main addon needs no Gloo. The stores
// and process groups are wrapped as JS classes; each collective returns
// [promise, work]: it runs on the group's worker thread, the promise
// settles on the JS thread when it is done (a thread-safe function), and
// work.wait() blocks the JS thread until then.
#include <gloo/transport/tcp/device.h>
#include <napi.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "nccl.h"
#include "process_group.h"
#include "store.h"

namespace kd_dist {
namespace {

// ---- completions -------------------------------------------------------------
// One thread-safe function carries every finished collective back to the
// JS thread. It keeps the event loop alive only while collectives are in
// flight, so `await work` alone holds the process open.
struct Completion {
  Napi::Promise::Deferred deferred;
  std::shared_ptr<WorkState> state;
  // The typed arrays the collective reads and writes: referenced until it
  // is done so that V8 cannot collect their memory under the worker.
  std::vector<Napi::Reference<Napi::Value>> keep;
};

Napi::ThreadSafeFunction gTsfn;
int gPending = 0;                   // JS thread only
std::atomic<bool> gClosing{false};  // set at environment teardown

void settle(Napi::Env env, Napi::Function, Completion* c) {
  std::unique_ptr<Completion> owned(c);
  if (env == nullptr) return;  // teardown: nothing to settle
  Napi::HandleScope scope(env);
  if (c->state->error.empty()) {
    c->deferred.Resolve(env.Undefined());
  } else {
    c->deferred.Reject(Napi::Error::New(env, c->state->error).Value());
  }
  if (--gPending == 0) gTsfn.Unref(env);
}

// ---- arguments ---------------------------------------------------------------

Buffer bufferOf(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a typed array");
  auto arr = v.As<Napi::TypedArray>();
  Buffer b;
  switch (arr.TypedArrayType()) {
    case napi_float32_array: b.dtype = DType::kFloat32; break;
    case napi_float64_array: b.dtype = DType::kFloat64; break;
    case napi_bigint64_array: b.dtype = DType::kInt64; break;
    default:
      throw Napi::TypeError::New(v.Env(),
                                 std::string(what) + ": only float32, float64 and int64 storages are supported");
  }
  b.ptr = static_cast<char*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
  b.count = arr.ElementLength();
  return b;
}

std::vector<Buffer> buffersOf(const Napi::Value& v, const char* what) {
  std::vector<Buffer> out;
  if (v.IsUndefined() || v.IsNull()) return out;
  auto arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(bufferOf(arr.Get(i), what));
  return out;
}

Millis millisOf(const Napi::Value& v) { return Millis(static_cast<int64_t>(v.As<Napi::Number>().DoubleValue())); }

// ---- Store -------------------------------------------------------------------

class StoreWrap : public Napi::ObjectWrap<StoreWrap> {
 public:
  static Napi::FunctionReference ctor;
  static Napi::Function Init(Napi::Env env) {
    auto fn = DefineClass(env, "NativeStore",
                          {InstanceMethod("set", &StoreWrap::Set), InstanceMethod("get", &StoreWrap::Get),
                           InstanceMethod("add", &StoreWrap::Add), InstanceMethod("check", &StoreWrap::Check),
                           InstanceMethod("wait", &StoreWrap::Wait), InstanceMethod("close", &StoreWrap::Close),
                           InstanceMethod("prefixed", &StoreWrap::Prefixed), InstanceMethod("port", &StoreWrap::Port)});
    ctor = Napi::Persistent(fn);
    return fn;
  }
  // new NativeStore('tcp', host, port, isMaster, timeoutMs) | ('file', dir, timeoutMs) | ('wrap')
  explicit StoreWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StoreWrap>(info) {
    std::string kind = info[0].As<Napi::String>();
    try {
      if (kind == "tcp") {
        auto s = std::make_shared<TcpStore>(info[1].As<Napi::String>(), info[2].As<Napi::Number>().Int32Value(),
                                            info[3].As<Napi::Boolean>(), millisOf(info[4]));
        tcp_ = s;
        store_ = s;
      } else if (kind == "file") {
        store_ = std::make_shared<FileStore>(info[1].As<Napi::String>(), millisOf(info[2]));
      }
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), e.what());
    }
  }
  std::shared_ptr<KvStore> store() const { return store_; }

 private:
  template <typename F>
  auto guard(Napi::Env env, F f) -> decltype(f()) {
    if (!store_) throw Napi::Error::New(env, "store: closed");
    try {
      return f();
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
  }
  Napi::Value Set(const Napi::CallbackInfo& info) {
    auto bytes = info[1].As<Napi::Uint8Array>();
    Bytes data(reinterpret_cast<char*>(bytes.Data()), reinterpret_cast<char*>(bytes.Data()) + bytes.ByteLength());
    std::string key = info[0].As<Napi::String>();
    guard(info.Env(), [&] {
      store_->set(key, data);
      return 0;
    });
    return info.Env().Undefined();
  }
  Napi::Value Get(const Napi::CallbackInfo& info) {
    std::string key = info[0].As<Napi::String>();
    Bytes data = guard(info.Env(), [&] { return store_->get(key); });
    return Napi::Buffer<char>::Copy(info.Env(), data.data(), data.size());
  }
  Napi::Value Add(const Napi::CallbackInfo& info) {
    std::string key = info[0].As<Napi::String>();
    int64_t delta = info[1].As<Napi::Number>().Int64Value();
    int64_t now = guard(info.Env(), [&] { return store_->add(key, delta); });
    return Napi::Number::New(info.Env(), static_cast<double>(now));
  }
  Napi::Value Check(const Napi::CallbackInfo& info) {
    std::string key = info[0].As<Napi::String>();
    return Napi::Boolean::New(info.Env(), guard(info.Env(), [&] { return store_->check(key); }));
  }
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    std::vector<std::string> keys;
    auto arr = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) keys.push_back(arr.Get(i).As<Napi::String>());
    Millis timeout = info[1].IsNumber() ? millisOf(info[1]) : Millis(-1);
    guard(info.Env(), [&] {
      if (timeout.count() < 0) store_->wait(keys);
      else store_->wait(keys, timeout);
      return 0;
    });
    return info.Env().Undefined();
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (tcp_) tcp_->close();
    tcp_.reset();
    store_.reset();
    return info.Env().Undefined();
  }
  Napi::Value Prefixed(const Napi::CallbackInfo& info) {
    auto obj = ctor.New({Napi::String::New(info.Env(), "wrap")});
    StoreWrap::Unwrap(obj)->store_ = std::make_shared<PrefixStore>(info[0].As<Napi::String>(), store_);
    return obj;
  }
  Napi::Value Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), tcp_ ? tcp_->port() : 0); }
  std::shared_ptr<KvStore> store_;
  std::shared_ptr<TcpStore> tcp_;
};
Napi::FunctionReference StoreWrap::ctor;

// ---- Work --------------------------------------------------------------------

class WorkWrap : public Napi::ObjectWrap<WorkWrap> {
 public:
  static Napi::FunctionReference ctor;
  static Napi::Function Init(Napi::Env env) {
    auto fn =
        DefineClass(env, "NativeWork",
                    {InstanceMethod("wait", &WorkWrap::Wait), InstanceMethod("isCompleted", &WorkWrap::IsCompleted)});
    ctor = Napi::Persistent(fn);
    return fn;
  }
  explicit WorkWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WorkWrap>(info) {}
  std::shared_ptr<WorkState> state;

 private:
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    std::string err = state->wait();
    if (!err.empty()) throw Napi::Error::New(info.Env(), err);
    return info.Env().Undefined();
  }
  Napi::Value IsCompleted(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(state->mu);
    return Napi::Boolean::New(info.Env(), state->done);
  }
};
Napi::FunctionReference WorkWrap::ctor;

// Starts a collective for a group wrap (Gloo or NCCL): `start(state, onDone)`
// queues it, and onDone carries its end to the JS thread. The first nKeep
// arguments (the buffers) stay referenced until then. Returns [promise, work].
Napi::Value launchWork(const Napi::CallbackInfo& info, size_t nKeep,
                       const std::function<void(std::shared_ptr<WorkState>, std::function<void()>)>& start) {
  Napi::Env env = info.Env();
  auto state = std::make_shared<WorkState>();
  auto* c = new Completion{Napi::Promise::Deferred::New(env), state, {}};
  for (size_t i = 0; i < nKeep; i++) {
    if (info[i].IsObject()) c->keep.push_back(Napi::Persistent(info[i]));
  }
  auto work = WorkWrap::ctor.New({});
  WorkWrap::Unwrap(work)->state = state;
  Napi::Value promise = c->deferred.Promise();
  try {
    start(state, [c] {
      if (!gClosing) gTsfn.BlockingCall(c, settle);
    });
  } catch (const std::exception& e) {
    delete c;
    throw Napi::Error::New(env, e.what());
  }
  if (gPending++ == 0) gTsfn.Ref(env);
  auto pair = Napi::Array::New(env, 2);
  pair.Set(0u, promise);
  pair.Set(1u, work);
  return pair;
}

ReduceOp opOf(const Napi::Value& v) { return static_cast<ReduceOp>(v.As<Napi::Number>().Int32Value()); }

// ---- ProcessGroup ------------------------------------------------------------

std::mutex gGroupsMu;
std::set<GlooGroup*> gGroups;  // live groups, shut down at teardown

class GroupWrap : public Napi::ObjectWrap<GroupWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(
        env, "NativeProcessGroup",
        {InstanceMethod("allreduce", &GroupWrap::Allreduce), InstanceMethod("broadcast", &GroupWrap::Broadcast),
         InstanceMethod("allgather", &GroupWrap::Allgather), InstanceMethod("reduceScatter", &GroupWrap::ReduceScatter),
         InstanceMethod("gather", &GroupWrap::Gather), InstanceMethod("scatter", &GroupWrap::Scatter),
         InstanceMethod("barrier", &GroupWrap::Barrier), InstanceMethod("destroy", &GroupWrap::Destroy)});
  }
  // new NativeProcessGroup(store, rank, size, timeoutMs, hostname, iface):
  // blocks until every rank has joined (or throws on the timeout).
  explicit GroupWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GroupWrap>(info) {
    auto store = StoreWrap::Unwrap(info[0].As<Napi::Object>())->store();
    int rank = info[1].As<Napi::Number>().Int32Value();
    int size = info[2].As<Napi::Number>().Int32Value();
    try {
      gloo::transport::tcp::attr attr;
      std::string iface = info[5].IsString() ? std::string(info[5].As<Napi::String>()) : "";
      if (!iface.empty()) attr.iface = iface;
      else attr.hostname = info[4].As<Napi::String>();
      auto device = gloo::transport::tcp::CreateDevice(attr);
      group_ = std::make_unique<GlooGroup>(store, rank, size, millisOf(info[3]), device);
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), e.what());
    }
    std::lock_guard<std::mutex> lock(gGroupsMu);
    gGroups.insert(group_.get());
  }
  ~GroupWrap() override { release(true); }

 private:
  void release(bool wait) {
    if (!group_) return;
    {
      std::lock_guard<std::mutex> lock(gGroupsMu);
      gGroups.erase(group_.get());
    }
    group_->shutdown(wait && !gClosing);
    // At teardown a worker may still be in a collective: the group is
    // left to it rather than freed under it.
    if (gClosing) (void)group_.release();
    else group_.reset();
  }

  // Queues fn; returns [promise, work].
  Napi::Value launch(const Napi::CallbackInfo& info, std::function<void(GlooGroup*)> fn, size_t nKeep) {
    if (!group_) throw Napi::Error::New(info.Env(), "the process group has been destroyed");
    GlooGroup* g = group_.get();
    return launchWork(info, nKeep, [&](std::shared_ptr<WorkState> state, std::function<void()> onDone) {
      g->submit([g, fn] { fn(g); }, std::move(state), std::move(onDone));
    });
  }

  // allreduce(arr, op)
  Napi::Value Allreduce(const Napi::CallbackInfo& info) {
    Buffer b = bufferOf(info[0], "allReduce");
    ReduceOp op = opOf(info[1]);
    return launch(
        info, [b, op](GlooGroup* g) { g->allreduce(b, op); }, 1);
  }
  // broadcast(arr, root)
  Napi::Value Broadcast(const Napi::CallbackInfo& info) {
    Buffer b = bufferOf(info[0], "broadcast");
    int root = info[1].As<Napi::Number>().Int32Value();
    return launch(
        info, [b, root](GlooGroup* g) { g->broadcast(b, root); }, 1);
  }
  // allgather(arr, outs[])
  Napi::Value Allgather(const Napi::CallbackInfo& info) {
    Buffer in = bufferOf(info[0], "allGather");
    auto outs = buffersOf(info[1], "allGather");
    return launch(
        info, [in, outs](GlooGroup* g) { g->allgather(in, outs); }, 2);
  }
  // reduceScatter(ins[], out, op)
  Napi::Value ReduceScatter(const Napi::CallbackInfo& info) {
    auto ins = buffersOf(info[0], "reduceScatter");
    Buffer out = bufferOf(info[1], "reduceScatter");
    ReduceOp op = opOf(info[2]);
    return launch(
        info, [ins, out, op](GlooGroup* g) { g->reduceScatter(ins, out, op); }, 2);
  }
  // gather(arr, outs[] | null, root)
  Napi::Value Gather(const Napi::CallbackInfo& info) {
    Buffer in = bufferOf(info[0], "gather");
    auto outs = buffersOf(info[1], "gather");
    int root = info[2].As<Napi::Number>().Int32Value();
    return launch(
        info, [in, outs, root](GlooGroup* g) { g->gather(in, outs, root); }, 2);
  }
  // scatter(ins[] | null, out, root)
  Napi::Value Scatter(const Napi::CallbackInfo& info) {
    auto ins = buffersOf(info[0], "scatter");
    Buffer out = bufferOf(info[1], "scatter");
    int root = info[2].As<Napi::Number>().Int32Value();
    return launch(
        info, [ins, out, root](GlooGroup* g) { g->scatter(ins, out, root); }, 2);
  }
  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    return launch(
        info, [](GlooGroup* g) { g->barrier(); }, 0);
  }
  // destroy(): runs the queued collectives, then closes the group's connections.
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    release(true);
    return info.Env().Undefined();
  }
  std::unique_ptr<GlooGroup> group_;
};

// ---- NCCL process group -------------------------------------------------------
// The same collectives over CUDA device memory (Note [NCCL streams] in
// nccl.h). Buffers come as { ptr, count, dtype, storage } objects: the
// address from the main addon's cudaDataPointer, and the storage object so
// that the completion's references keep the device memory alive.

DeviceBuffer deviceBufferOf(const Napi::Value& v, const char* what) {
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a device buffer");
  auto o = v.As<Napi::Object>();
  DeviceBuffer b;
  bool lossless = false;
  b.ptr = o.Get("ptr").As<Napi::BigInt>().Uint64Value(&lossless);
  b.count = static_cast<size_t>(o.Get("count").As<Napi::Number>().Int64Value());
  std::string dtype = o.Get("dtype").As<Napi::String>();
  if (dtype == "float32") b.dtype = DType::kFloat32;
  else if (dtype == "float64") b.dtype = DType::kFloat64;
  else if (dtype == "int64") b.dtype = DType::kInt64;
  else
    throw Napi::TypeError::New(v.Env(), std::string(what) + ": only float32, float64 and int64 tensors are supported");
  return b;
}

std::vector<DeviceBuffer> deviceBuffersOf(const Napi::Value& v, const char* what) {
  std::vector<DeviceBuffer> out;
  if (v.IsUndefined() || v.IsNull()) return out;
  auto arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(deviceBufferOf(arr.Get(i), what));
  return out;
}

std::mutex gNcclMu;
std::set<NcclGroup*> gNcclGroups;  // live groups, aborted at teardown

class NcclGroupWrap : public Napi::ObjectWrap<NcclGroupWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(
        env, "NativeNcclGroup",
        {InstanceMethod("allreduce", &NcclGroupWrap::Allreduce), InstanceMethod("broadcast", &NcclGroupWrap::Broadcast),
         InstanceMethod("allgather", &NcclGroupWrap::Allgather),
         InstanceMethod("reduceScatter", &NcclGroupWrap::ReduceScatter),
         InstanceMethod("gather", &NcclGroupWrap::Gather), InstanceMethod("scatter", &NcclGroupWrap::Scatter),
         InstanceMethod("barrier", &NcclGroupWrap::Barrier), InstanceMethod("destroy", &NcclGroupWrap::Destroy)});
  }
  // new NativeNcclGroup(store, rank, size, timeoutMs, device): blocks until
  // every rank has joined the communicator.
  explicit NcclGroupWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NcclGroupWrap>(info) {
    auto store = StoreWrap::Unwrap(info[0].As<Napi::Object>())->store();
    try {
      group_ = std::make_unique<NcclGroup>(store, info[1].As<Napi::Number>().Int32Value(),
                                           info[2].As<Napi::Number>().Int32Value(), millisOf(info[3]),
                                           info[4].As<Napi::Number>().Int32Value());
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), e.what());
    }
    std::lock_guard<std::mutex> lock(gNcclMu);
    gNcclGroups.insert(group_.get());
  }
  ~NcclGroupWrap() override { release(true); }

 private:
  void release(bool wait) {
    if (!group_) return;
    {
      std::lock_guard<std::mutex> lock(gNcclMu);
      gNcclGroups.erase(group_.get());
    }
    group_->shutdown(wait && !gClosing);
    group_.reset();
  }

  using Issue = std::function<void(NcclGroup*, std::shared_ptr<WorkState>, std::function<void()>)>;
  // Queues the collective on the group's stream; returns [promise, work].
  Napi::Value launch(const Napi::CallbackInfo& info, const Issue& issue, size_t nKeep) {
    if (!group_) throw Napi::Error::New(info.Env(), "the process group has been destroyed");
    NcclGroup* g = group_.get();
    return launchWork(info, nKeep, [&](std::shared_ptr<WorkState> state, std::function<void()> onDone) {
      issue(g, std::move(state), std::move(onDone));
    });
  }

  Napi::Value Allreduce(const Napi::CallbackInfo& info) {
    DeviceBuffer b = deviceBufferOf(info[0], "allReduce");
    ReduceOp op = opOf(info[1]);
    return launch(
        info, [&](NcclGroup* g, auto st, auto done) { g->allreduce(b, op, st, done); }, 1);
  }
  Napi::Value Broadcast(const Napi::CallbackInfo& info) {
    DeviceBuffer b = deviceBufferOf(info[0], "broadcast");
    int root = info[1].As<Napi::Number>().Int32Value();
    return launch(
        info, [&](NcclGroup* g, auto st, auto done) { g->broadcast(b, root, st, done); }, 1);
  }
  Napi::Value Allgather(const Napi::CallbackInfo& info) {
    DeviceBuffer in = deviceBufferOf(info[0], "allGather");
    auto outs = deviceBuffersOf(info[1], "allGather");
    return launch(
        info, [&](NcclGroup* g, auto st, auto done) { g->allgather(in, outs, st, done); }, 2);
  }
  Napi::Value ReduceScatter(const Napi::CallbackInfo& info) {
    auto ins = deviceBuffersOf(info[0], "reduceScatter");
    DeviceBuffer out = deviceBufferOf(info[1], "reduceScatter");
    ReduceOp op = opOf(info[2]);
    return launch(
        info, [&](NcclGroup* g, auto st, auto done) { g->reduceScatter(ins, out, op, st, done); }, 2);
  }
  Napi::Value Gather(const Napi::CallbackInfo& info) {
    DeviceBuffer in = deviceBufferOf(info[0], "gather");
    auto outs = deviceBuffersOf(info[1], "gather");
    int root = info[2].As<Napi::Number>().Int32Value();
    return launch(
        info, [&](NcclGroup* g, auto st, auto done) { g->gather(in, outs, root, st, done); }, 2);
  }
  Napi::Value Scatter(const Napi::CallbackInfo& info) {
    auto ins = deviceBuffersOf(info[0], "scatter");
    DeviceBuffer out = deviceBufferOf(info[1], "scatter");
    int root = info[2].As<Napi::Number>().Int32Value();
    return launch(
        info, [&](NcclGroup* g, auto st, auto done) { g->scatter(ins, out, root, st, done); }, 2);
  }
  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    return launch(
        info, [&](NcclGroup* g, auto st, auto done) { g->barrier(st, done); }, 0);
  }
  // destroy(): waits for the queued collectives, then frees the communicator.
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    release(true);
    return info.Env().Undefined();
  }
  std::unique_ptr<NcclGroup> group_;
};

Napi::Value LocalAddressToward(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), localAddressToward(info[0].As<Napi::String>()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  gTsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                        "kindling.distributed", 0, 1);
  gTsfn.Unref(env);
  env.AddCleanupHook([] {
    // Process exit: stop the workers (one stuck in a collective is left
    // to Gloo's timeout) before the thread-safe function goes away.
    gClosing = true;
    std::lock_guard<std::mutex> lock(gGroupsMu);
    for (GlooGroup* g : gGroups) g->shutdown(false);
    gGroups.clear();
    std::lock_guard<std::mutex> ncclLock(gNcclMu);
    for (NcclGroup* g : gNcclGroups) g->shutdown(false);
    gNcclGroups.clear();
  });
  exports.Set("NativeStore", StoreWrap::Init(env));
  exports.Set("NativeWork", WorkWrap::Init(env));
  exports.Set("NativeProcessGroup", GroupWrap::Init(env));
  exports.Set("NativeNcclGroup", NcclGroupWrap::Init(env));
  exports.Set("localAddressToward", Napi::Function::New(env, LocalAddressToward));
  initNccl(env, exports);
  return exports;
}

}  // namespace
}  // namespace kd_dist

static Napi::Object InitDist(Napi::Env env, Napi::Object exports) { return kd_dist::Init(env, exports); }
NODE_API_MODULE(kindling_dist, InitDist)
