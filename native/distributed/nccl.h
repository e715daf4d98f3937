// backend 'nccl': libnccl.so.2 and the CUDA driver (libcuda.so.1) are
// opened at run time (dlopen) through their stable C APIs, so the module
// builds and loads without NCCL or CUDA, as the main addon loads cuBLAS.
//
// Note [NCCL streams]
// The main addon's kernels run on each device's legacy default stream.
// A group's collectives go on a stream of its own made with default flags,
// which the legacy stream synchronizes with both ways: a collective starts
// after the kernels queued before it (the gradients it sums are written)
// and kernels queued after it wait for it (nothing overwrites its buffers
// early). So the JS thread only queues the collective; a watchdog thread
// polls its event, NCCL's asynchronous error and the timeout, aborting the
// communicator when a peer died or hangs, and finishes the work.
#pragma once

#include <napi.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "process_group.h"
#include "store.h"

namespace kd_dist {

// A device buffer as the NCCL collectives see it: a contiguous range of a
// CUDA storage (its address comes from the main addon's cudaDataPointer).
struct DeviceBuffer {
  uint64_t ptr = 0;
  size_t count = 0;
  DType dtype = DType::kFloat32;
  size_t bytes() const { return count * elementSize(dtype); }
};

class NcclGroup {
 public:
  // Rank 0 makes NCCL's unique id and puts it in the store; the others read
  // it (waiting up to the timeout), then every rank joins the communicator
  // on `device`.
  NcclGroup(std::shared_ptr<KvStore> store, int rank, int size, Millis timeout, int device);
  ~NcclGroup();
  int rank() const { return rank_; }
  int size() const { return size_; }
  int device() const { return device_; }

  // Queues a collective on the group's stream (on the calling thread, so
  // the order of the caller's kernels is kept); the watchdog finishes
  // `state` when it is done, failed or timed out, then runs onDone.
  void allreduce(DeviceBuffer buf, ReduceOp op, std::shared_ptr<WorkState> state, std::function<void()> onDone);
  void broadcast(DeviceBuffer buf, int root, std::shared_ptr<WorkState> state, std::function<void()> onDone);
  void allgather(DeviceBuffer in, const std::vector<DeviceBuffer>& outs, std::shared_ptr<WorkState> state,
                 std::function<void()> onDone);
  void reduceScatter(const std::vector<DeviceBuffer>& ins, DeviceBuffer out, ReduceOp op,
                     std::shared_ptr<WorkState> state, std::function<void()> onDone);
  void gather(DeviceBuffer in, const std::vector<DeviceBuffer>& outs, int root, std::shared_ptr<WorkState> state,
              std::function<void()> onDone);
  void scatter(const std::vector<DeviceBuffer>& ins, DeviceBuffer out, int root, std::shared_ptr<WorkState> state,
               std::function<void()> onDone);
  void barrier(std::shared_ptr<WorkState> state, std::function<void()> onDone);

  // Waits for the queued collectives (or, when `wait` is false, aborts the
  // communicator), then frees it and the stream.
  void shutdown(bool wait);

 private:
  struct Pending {
    void* event;
    std::shared_ptr<WorkState> state;
    std::function<void()> onDone;
    std::chrono::steady_clock::time_point deadline;
  };
  void enqueue(const char* what, const std::function<void()>& issue, std::shared_ptr<WorkState> state,
               std::function<void()> onDone);
  void watch();
  void makeCurrent() const;
  int rank_, size_, device_;
  Millis timeout_;
  void* context_ = nullptr;  // the device's primary context (CUcontext)
  void* stream_ = nullptr;   // CUstream
  void* comm_ = nullptr;     // ncclComm_t
  uint64_t scratch_ = 0;     // one float of device memory, for barrier()
  std::string broken_;       // the first failure: the communicator is unusable after it
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> pending_;
  bool stopping_ = false;
  std::thread watchdog_;
};

void initNccl(Napi::Env env, Napi::Object exports);

}  // namespace kd_dist
