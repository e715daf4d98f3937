#include "nccl.h"

#include <dlfcn.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace kd_dist {
namespace {

// The few NCCL and CUDA driver declarations used, from their C APIs
// (nccl.h, stable since NCCL 2.0; cuda.h): declared here so that neither
// header is needed to build. The driver's versioned entry points (_v2) are
// the ones its headers map the plain names to.
using ncclResult_t = int;
using ncclComm_t = void*;
using CUresult = int;
using Stream = void*;
struct ncclUniqueId {
  char internal[128];
};
constexpr int kCudaErrorNotReady = 600;
constexpr int kNcclInProgress = 7;  // ncclInProgress: a non-blocking call still running

struct Nccl {
  void* lib = nullptr;
  std::string loadError;
  ncclResult_t (*getVersion)(int*) = nullptr;
  ncclResult_t (*getUniqueId)(ncclUniqueId*) = nullptr;
  ncclResult_t (*commInitRank)(ncclComm_t*, int, ncclUniqueId, int) = nullptr;
  ncclResult_t (*commDestroy)(ncclComm_t) = nullptr;
  ncclResult_t (*commAbort)(ncclComm_t) = nullptr;
  ncclResult_t (*commGetAsyncError)(ncclComm_t, ncclResult_t*) = nullptr;
  const char* (*getErrorString)(ncclResult_t) = nullptr;
  ncclResult_t (*allReduce)(const void*, void*, size_t, int, int, ncclComm_t, Stream) = nullptr;
  ncclResult_t (*broadcast)(const void*, void*, size_t, int, int, ncclComm_t, Stream) = nullptr;
  ncclResult_t (*reduce)(const void*, void*, size_t, int, int, int, ncclComm_t, Stream) = nullptr;
  ncclResult_t (*send)(const void*, size_t, int, int, ncclComm_t, Stream) = nullptr;
  ncclResult_t (*recv)(void*, size_t, int, int, ncclComm_t, Stream) = nullptr;
  ncclResult_t (*groupStart)() = nullptr;
  ncclResult_t (*groupEnd)() = nullptr;
  // The CUDA driver API (libcuda.so.1, which every NVIDIA driver installs).
  void* cuda = nullptr;
  CUresult (*cuInit)(unsigned) = nullptr;
  CUresult (*cuDeviceGet)(int*, int) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(void**, int) = nullptr;
  CUresult (*cuCtxSetCurrent)(void*) = nullptr;
  CUresult (*cuStreamCreate)(Stream*, unsigned) = nullptr;
  CUresult (*cuStreamDestroy)(Stream) = nullptr;
  CUresult (*cuEventCreate)(void**, unsigned) = nullptr;
  CUresult (*cuEventRecord)(void*, Stream) = nullptr;
  CUresult (*cuEventQuery)(void*) = nullptr;
  CUresult (*cuEventDestroy)(void*) = nullptr;
  CUresult (*cuMemAlloc)(uint64_t*, size_t) = nullptr;
  CUresult (*cuMemFree)(uint64_t) = nullptr;
  CUresult (*cuMemcpyDtoDAsync)(uint64_t, uint64_t, size_t, Stream) = nullptr;
  CUresult (*cuGetErrorString)(CUresult, const char**) = nullptr;
};

template <typename F>
bool bind(void* lib, F& fn, const char* name) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  return fn != nullptr;
}

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
    void* l = r.lib;
    bool ok = bind(l, r.getVersion, "ncclGetVersion") && bind(l, r.getUniqueId, "ncclGetUniqueId") &&
              bind(l, r.commInitRank, "ncclCommInitRank") && bind(l, r.commDestroy, "ncclCommDestroy") &&
              bind(l, r.commAbort, "ncclCommAbort") && bind(l, r.commGetAsyncError, "ncclCommGetAsyncError") &&
              bind(l, r.getErrorString, "ncclGetErrorString") && bind(l, r.allReduce, "ncclAllReduce") &&
              bind(l, r.broadcast, "ncclBroadcast") && bind(l, r.reduce, "ncclReduce") && bind(l, r.send, "ncclSend") &&
              bind(l, r.recv, "ncclRecv") && bind(l, r.groupStart, "ncclGroupStart") &&
              bind(l, r.groupEnd, "ncclGroupEnd");
    if (!ok) {
      r.loadError =
          "libnccl.so.2 lacks the NCCL C API that backend 'nccl' uses (ncclSend and ncclRecv need NCCL 2.7 or newer)";
      return r;
    }
    r.cuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (r.cuda == nullptr) {
      r.loadError = "libcuda.so.1 (the NVIDIA driver) could not be loaded: backend 'nccl' needs a CUDA GPU";
      return r;
    }
    void* c = r.cuda;
    ok = bind(c, r.cuInit, "cuInit") && bind(c, r.cuDeviceGet, "cuDeviceGet") &&
         bind(c, r.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain") &&
         bind(c, r.cuCtxSetCurrent, "cuCtxSetCurrent") && bind(c, r.cuStreamCreate, "cuStreamCreate") &&
         bind(c, r.cuStreamDestroy, "cuStreamDestroy_v2") && bind(c, r.cuEventCreate, "cuEventCreate") &&
         bind(c, r.cuEventRecord, "cuEventRecord") && bind(c, r.cuEventQuery, "cuEventQuery") &&
         bind(c, r.cuEventDestroy, "cuEventDestroy_v2") && bind(c, r.cuMemAlloc, "cuMemAlloc_v2") &&
         bind(c, r.cuMemFree, "cuMemFree_v2") && bind(c, r.cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2") &&
         bind(c, r.cuGetErrorString, "cuGetErrorString");
    if (!ok) r.loadError = "libcuda.so.1 lacks the CUDA driver API that backend 'nccl' uses";
    return r;
  }();
  return n;
}

Nccl& loaded() {
  Nccl& n = nccl();
  if (!n.loadError.empty()) throw std::runtime_error(n.loadError);
  return n;
}

void check(ncclResult_t rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string(what) + " failed: " + nccl().getErrorString(rc));
}

void checkCu(CUresult rc, const char* what) {
  if (rc == 0) return;
  const char* s = nullptr;
  nccl().cuGetErrorString(rc, &s);
  throw std::runtime_error(std::string(what) + " failed: " + (s ? s : "CUDA error " + std::to_string(rc)));
}

// ncclDataType_t of our dtypes.
int ncclType(DType t) {
  switch (t) {
    case DType::kFloat32: return 7;  // ncclFloat32
    case DType::kFloat64: return 8;  // ncclFloat64
    default: return 4;               // ncclInt64
  }
}

// ncclRedOp_t: ReduceOp's values are NCCL's (ncclSum 0, ncclProd 1,
// ncclMax 2, ncclMin 3, ncclAvg 4; ncclAvg needs NCCL 2.10).
int ncclOp(ReduceOp op) { return static_cast<int>(op); }

void* ptr(uint64_t p) { return reinterpret_cast<void*>(static_cast<uintptr_t>(p)); }

}  // namespace

NcclGroup::NcclGroup(std::shared_ptr<KvStore> store, int rank, int size, Millis timeout, int device)
    : rank_(rank), size_(size), device_(device), timeout_(timeout) {
  Nccl& n = loaded();
  checkCu(n.cuInit(0), "cuInit");
  int dev = 0;
  checkCu(n.cuDeviceGet(&dev, device), "cuDeviceGet");
  checkCu(n.cuDevicePrimaryCtxRetain(&context_, dev), "cuDevicePrimaryCtxRetain");
  makeCurrent();
  ncclUniqueId id;
  const std::string key = "nccl_unique_id";
  if (rank == 0) {
    check(n.getUniqueId(&id), "ncclGetUniqueId");
    store->set(key, Bytes(id.internal, id.internal + sizeof(id.internal)));
  } else {
    Bytes v = store->get(key);  // waits up to the store's timeout, naming the key
    if (v.size() != sizeof(id.internal)) throw std::runtime_error("ncclCommInitRank: the store holds a bad unique id");
    std::memcpy(id.internal, v.data(), sizeof(id.internal));
  }
  check(n.commInitRank(&comm_, size, id, rank), "ncclCommInitRank");
  checkCu(n.cuStreamCreate(&stream_, 0), "cuStreamCreate");  // default flags: see Note [NCCL streams]
  checkCu(n.cuMemAlloc(&scratch_, sizeof(float)), "cuMemAlloc");
  watchdog_ = std::thread([this] { watch(); });
}

NcclGroup::~NcclGroup() { shutdown(true); }

void NcclGroup::makeCurrent() const { checkCu(nccl().cuCtxSetCurrent(context_), "cuCtxSetCurrent"); }

void NcclGroup::enqueue(const char* what, const std::function<void()>& issue, std::shared_ptr<WorkState> state,
                        std::function<void()> onDone) {
  Nccl& n = nccl();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) throw std::runtime_error(std::string(what) + ": the process group has been destroyed");
    if (!broken_.empty())
      throw std::runtime_error(std::string(what) + ": the NCCL communicator failed earlier: " + broken_);
  }
  makeCurrent();
  issue();
  void* event = nullptr;
  checkCu(n.cuEventCreate(&event, 2 /* CU_EVENT_DISABLE_TIMING */), "cuEventCreate");
  checkCu(n.cuEventRecord(event, stream_), "cuEventRecord");
  std::lock_guard<std::mutex> lock(mu_);
  pending_.push_back({event, std::move(state), std::move(onDone), std::chrono::steady_clock::now() + timeout_});
  cv_.notify_all();
}

void NcclGroup::watch() {
  Nccl& n = nccl();
  bool current = false;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping, nothing left
    if (!broken_.empty()) {
      // Aborted (an earlier failure, or shutdown at process exit): what is
      // still queued fails now rather than waiting on an aborted stream.
      for (Pending& rest : pending_) {
        n.cuEventDestroy(rest.event);
        rest.state->finish(broken_);
        if (rest.onDone) rest.onDone();
      }
      pending_.clear();
      continue;
    }
    if (!current) {
      n.cuCtxSetCurrent(context_);
      current = true;
    }
    // The oldest collective finishes first: they share one stream.
    Pending& p = pending_.front();
    std::string error;
    CUresult q = n.cuEventQuery(p.event);
    ncclResult_t async = 0;
    n.commGetAsyncError(comm_, &async);
    if (q == 0) {
      // done
    } else if (async != 0 && async != kNcclInProgress) {
      error = std::string("NCCL communication failed: ") + n.getErrorString(async) + " (a peer may have died)";
    } else if (q != kCudaErrorNotReady) {
      const char* s = nullptr;
      n.cuGetErrorString(q, &s);
      error = std::string("CUDA error while waiting for an NCCL collective: ") + (s ? s : std::to_string(q));
    } else if (std::chrono::steady_clock::now() > p.deadline) {
      error = "NCCL collective timed out after " + std::to_string(timeout_.count()) +
              " ms (a peer may have died or stopped)";
    } else {
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      lock.lock();
      continue;
    }
    if (!error.empty()) {
      // The communicator cannot be trusted after an error: abort it, which
      // also ends the collectives queued behind this one.
      broken_ = error;
      n.commAbort(comm_);
      comm_ = nullptr;
      continue;  // fails the queued collectives, above
    }
    Pending done = std::move(p);
    pending_.erase(pending_.begin());
    lock.unlock();
    n.cuEventDestroy(done.event);
    done.state->finish("");
    if (done.onDone) done.onDone();
    lock.lock();
  }
}

void NcclGroup::shutdown(bool wait) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !watchdog_.joinable()) return;
    if (!wait && comm_ != nullptr) {
      nccl().commAbort(comm_);
      comm_ = nullptr;
      broken_ = "the process group was shut down";
    }
    stopping_ = true;
    cv_.notify_all();
  }
  // Without `wait` an aborted communicator ends its collectives, so the
  // watchdog's wait for their events ends as well.
  if (watchdog_.joinable()) watchdog_.join();
  Nccl& n = nccl();
  n.cuCtxSetCurrent(context_);
  if (comm_ != nullptr) n.commDestroy(comm_);
  comm_ = nullptr;
  if (scratch_ != 0) n.cuMemFree(scratch_);
  scratch_ = 0;
  if (stream_ != nullptr) n.cuStreamDestroy(stream_);
  stream_ = nullptr;
}

void NcclGroup::allreduce(DeviceBuffer buf, ReduceOp op, std::shared_ptr<WorkState> state,
                          std::function<void()> onDone) {
  enqueue(
      "allReduce",
      [&] {
        check(nccl().allReduce(ptr(buf.ptr), ptr(buf.ptr), buf.count, ncclType(buf.dtype), ncclOp(op), comm_, stream_),
              "ncclAllReduce");
      },
      std::move(state), std::move(onDone));
}

void NcclGroup::broadcast(DeviceBuffer buf, int root, std::shared_ptr<WorkState> state, std::function<void()> onDone) {
  enqueue(
      "broadcast",
      [&] {
        check(nccl().broadcast(ptr(buf.ptr), ptr(buf.ptr), buf.count, ncclType(buf.dtype), root, comm_, stream_),
              "ncclBroadcast");
      },
      std::move(state), std::move(onDone));
}

// One broadcast per rank, from its input into everyone's outs[rank], in one
// NCCL group: no contiguous staging buffer is needed for separate outputs.
void NcclGroup::allgather(DeviceBuffer in, const std::vector<DeviceBuffer>& outs, std::shared_ptr<WorkState> state,
                          std::function<void()> onDone) {
  enqueue(
      "allGather",
      [&] {
        Nccl& n = nccl();
        check(n.groupStart(), "ncclGroupStart");
        for (int r = 0; r < size_; r++) {
          const void* send = r == rank_ ? ptr(in.ptr) : ptr(outs[r].ptr);
          check(n.broadcast(send, ptr(outs[r].ptr), in.count, ncclType(in.dtype), r, comm_, stream_), "ncclBroadcast");
        }
        check(n.groupEnd(), "ncclGroupEnd");
      },
      std::move(state), std::move(onDone));
}

// One reduce per rank, of everyone's ins[rank] into that rank's out.
void NcclGroup::reduceScatter(const std::vector<DeviceBuffer>& ins, DeviceBuffer out, ReduceOp op,
                              std::shared_ptr<WorkState> state, std::function<void()> onDone) {
  enqueue(
      "reduceScatter",
      [&] {
        Nccl& n = nccl();
        check(n.groupStart(), "ncclGroupStart");
        for (int r = 0; r < size_; r++) {
          void* recv = r == rank_ ? ptr(out.ptr) : nullptr;
          check(n.reduce(ptr(ins[r].ptr), recv, out.count, ncclType(out.dtype), ncclOp(op), r, comm_, stream_),
                "ncclReduce");
        }
        check(n.groupEnd(), "ncclGroupEnd");
      },
      std::move(state), std::move(onDone));
}

void NcclGroup::gather(DeviceBuffer in, const std::vector<DeviceBuffer>& outs, int root,
                       std::shared_ptr<WorkState> state, std::function<void()> onDone) {
  enqueue(
      "gather",
      [&] {
        Nccl& n = nccl();
        const int t = ncclType(in.dtype);
        check(n.groupStart(), "ncclGroupStart");
        if (rank_ == root) {
          for (int r = 0; r < size_; r++) {
            if (r != root) check(n.recv(ptr(outs[r].ptr), in.count, t, r, comm_, stream_), "ncclRecv");
          }
        } else {
          check(n.send(ptr(in.ptr), in.count, t, root, comm_, stream_), "ncclSend");
        }
        check(n.groupEnd(), "ncclGroupEnd");
        if (rank_ == root)
          checkCu(n.cuMemcpyDtoDAsync(outs[root].ptr, in.ptr, in.bytes(), stream_), "cuMemcpyDtoDAsync");
      },
      std::move(state), std::move(onDone));
}

void NcclGroup::scatter(const std::vector<DeviceBuffer>& ins, DeviceBuffer out, int root,
                        std::shared_ptr<WorkState> state, std::function<void()> onDone) {
  enqueue(
      "scatter",
      [&] {
        Nccl& n = nccl();
        const int t = ncclType(out.dtype);
        check(n.groupStart(), "ncclGroupStart");
        if (rank_ == root) {
          for (int r = 0; r < size_; r++) {
            if (r != root) check(n.send(ptr(ins[r].ptr), out.count, t, r, comm_, stream_), "ncclSend");
          }
        } else {
          check(n.recv(ptr(out.ptr), out.count, t, root, comm_, stream_), "ncclRecv");
        }
        check(n.groupEnd(), "ncclGroupEnd");
        if (rank_ == root)
          checkCu(n.cuMemcpyDtoDAsync(out.ptr, ins[root].ptr, out.bytes(), stream_), "cuMemcpyDtoDAsync");
      },
      std::move(state), std::move(onDone));
}

// An allreduce of one float of scratch memory: returns on every rank only
// once every rank has reached it.
void NcclGroup::barrier(std::shared_ptr<WorkState> state, std::function<void()> onDone) {
  enqueue(
      "barrier",
      [&] {
        check(nccl().allReduce(ptr(scratch_), ptr(scratch_), 1, ncclType(DType::kFloat32), 0, comm_, stream_),
              "ncclAllReduce");
      },
      std::move(state), std::move(onDone));
}

namespace {

// ncclVersion(): NCCL's version code; throws saying what to install when
// libnccl.so.2 (or the CUDA driver) is missing.
Napi::Value Version(const Napi::CallbackInfo& info) {
  int v = 0;
  try {
    check(loaded().getVersion(&v), "ncclGetVersion");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
  return Napi::Number::New(info.Env(), v);
}

}  // namespace

void initNccl(Napi::Env env, Napi::Object exports) { exports.Set("ncclVersion", Napi::Function::New(env, Version)); }

}  // namespace kd_dist
