// One Gloo process group: a gloo context over its ranks and one worker
// thread that runs its collectives in the order they were issued (every
// rank issues them in the same order, which is what keeps Gloo's tags
// matched), so that JS can go on while a collective runs.
#pragma once

#include <gloo/context.h>
#include <gloo/transport/device.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store.h"

namespace kd_dist {

enum class DType { kFloat32, kFloat64, kInt64 };
enum class ReduceOp { kSum = 0, kProduct = 1, kMax = 2, kMin = 3, kAvg = 4 };

size_t elementSize(DType t);

// A tensor's memory as the collectives see it: contiguous elements.
struct Buffer {
  void* ptr = nullptr;
  size_t count = 0;
  size_t bytes() const;
  DType dtype = DType::kFloat32;
};

// What a collective leaves for its waiters: done, and an error or none.
struct WorkState {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::string error;
  void finish(std::string err);
  // Blocks until done; returns the error ("" when none).
  std::string wait();
};

class GlooGroup {
 public:
  // Joins the group's rendezvous (blocks until every rank has come, or throws).
  GlooGroup(std::shared_ptr<KvStore> store, int rank, int size, Millis timeout,
            std::shared_ptr<gloo::transport::Device> device);
  ~GlooGroup();
  int rank() const { return rank_; }
  int size() const { return size_; }

  // Queues fn on the worker; `state` is finished with fn's error, if any,
  // and then `onDone` runs (on the worker thread).
  void submit(std::function<void()> fn, std::shared_ptr<WorkState> state, std::function<void()> onDone);

  // The collectives, run on the worker thread by the jobs submit() queues.
  void allreduce(Buffer buf, ReduceOp op);
  void broadcast(Buffer buf, int root);
  void allgather(Buffer in, const std::vector<Buffer>& outs);
  void reduceScatter(const std::vector<Buffer>& ins, Buffer out, ReduceOp op);
  void gather(Buffer in, const std::vector<Buffer>& outs, int root);
  void scatter(const std::vector<Buffer>& ins, Buffer out, int root);
  void barrier();

  // Stops the worker after the queued jobs; a worker stuck in a collective
  // is left to Gloo's timeout when `wait` is false (at process exit).
  void shutdown(bool wait);

 private:
  void run();
  uint32_t nextTag() { return tag_++; }
  int rank_, size_;
  Millis timeout_;
  std::shared_ptr<gloo::Context> context_;
  std::string broken_;  // the first communication error: the context is unusable after it
  uint32_t tag_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  struct Job {
    std::function<void()> fn;
    std::shared_ptr<WorkState> state;
    std::function<void()> onDone;
  };
  std::deque<Job> queue_;
  bool stopping_ = false;
  bool busy_ = false;
  std::thread worker_;
};

// The address this machine's Gloo device listens on: the local address
// that routes to `peerHost` (MASTER_ADDR), so one machine uses loopback.
std::string localAddressToward(const std::string& peerHost);

}  // namespace kd_dist
