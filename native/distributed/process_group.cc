#include "process_group.h"

#include <arpa/inet.h>
#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/gather.h>
#include <gloo/rendezvous/context.h>
#include <gloo/scatter.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace kd_dist {

size_t elementSize(DType t) { return t == DType::kFloat32 ? 4 : 8; }
size_t Buffer::bytes() const { return count * elementSize(dtype); }

void WorkState::finish(std::string err) {
  std::lock_guard<std::mutex> lock(mu);
  error = std::move(err);
  done = true;
  cv.notify_all();
}

std::string WorkState::wait() {
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [this] { return done; });
  return error;
}

namespace {

// Gloo's reduce callback: out[i] = a[i] (op) b[i], elementwise.
template <typename T>
gloo::AllreduceOptions::Func reducer(ReduceOp op) {
  switch (op) {
    case ReduceOp::kProduct:
      return [](void* o, const void* a, const void* b, size_t n) {
        auto *out = static_cast<T*>(o), *x = (T*)a, *y = (T*)b;
        for (size_t i = 0; i < n; i++) out[i] = x[i] * y[i];
      };
    case ReduceOp::kMax:
      // NaN wins, as torch.max propagates it.
      return [](void* o, const void* a, const void* b, size_t n) {
        auto *out = static_cast<T*>(o), *x = (T*)a, *y = (T*)b;
        for (size_t i = 0; i < n; i++) out[i] = (x[i] != x[i] || x[i] > y[i]) ? x[i] : y[i];
      };
    case ReduceOp::kMin:
      return [](void* o, const void* a, const void* b, size_t n) {
        auto *out = static_cast<T*>(o), *x = (T*)a, *y = (T*)b;
        for (size_t i = 0; i < n; i++) out[i] = (x[i] != x[i] || x[i] < y[i]) ? x[i] : y[i];
      };
    default:
      return [](void* o, const void* a, const void* b, size_t n) {
        auto *out = static_cast<T*>(o), *x = (T*)a, *y = (T*)b;
        for (size_t i = 0; i < n; i++) out[i] = x[i] + y[i];
      };
  }
}

gloo::AllreduceOptions::Func reducerFor(DType t, ReduceOp op) {
  if (t == DType::kFloat32) return reducer<float>(op);
  if (t == DType::kFloat64) return reducer<double>(op);
  return reducer<int64_t>(op);
}

template <typename T>
void divideBy(void* p, size_t n, int size) {
  T* x = static_cast<T*>(p);
  for (size_t i = 0; i < n; i++) x[i] /= static_cast<T>(size);
}

void average(Buffer buf, int size) {
  if (buf.dtype == DType::kFloat32) divideBy<float>(buf.ptr, buf.count, size);
  else if (buf.dtype == DType::kFloat64) divideBy<double>(buf.ptr, buf.count, size);
  else throw std::runtime_error("ReduceOp.AVG needs a floating dtype on gloo, got int64");
}

// Gloo's typed setters take T*; the bytes are what matter, so the element
// type only sets the element size.
template <typename Opts>
void setOutput(Opts& o, void* ptr, size_t bytes) {
  o.setOutput(static_cast<char*>(ptr), bytes);
}
template <typename Opts>
void setInput(Opts& o, void* ptr, size_t bytes) {
  o.setInput(static_cast<char*>(ptr), bytes);
}

// Gloo's errors name a socket, not a rank: say what they mean for the job.
std::string explain(const std::string& what) {
  if (what.find("Connection closed by peer") != std::string::npos ||
      what.find("Connection reset") != std::string::npos || what.find("Broken pipe") != std::string::npos) {
    return "a peer rank exited or lost its connection (" + what + ")";
  }
  if (what.find("Timed out") != std::string::npos) {
    return "a peer rank did not take part within the process group's timeout (" + what + ")";
  }
  return what;
}

}  // namespace

std::string localAddressToward(const std::string& peerHost) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  std::string result = "127.0.0.1";
  if (::getaddrinfo(peerHost.c_str(), "9", &hints, &res) != 0) return result;
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  // connect() on a UDP socket sends nothing; it picks the route, and so
  // the local address the peers can reach us on.
  if (fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
    sockaddr_in local{};
    socklen_t len = sizeof(local);
    char text[INET_ADDRSTRLEN];
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 &&
        ::inet_ntop(AF_INET, &local.sin_addr, text, sizeof(text)) != nullptr) {
      result = text;
    }
  }
  if (fd >= 0) ::close(fd);
  ::freeaddrinfo(res);
  return result;
}

GlooGroup::GlooGroup(std::shared_ptr<KvStore> store, int rank, int size, Millis timeout,
                     std::shared_ptr<gloo::transport::Device> device)
    : rank_(rank), size_(size), timeout_(timeout) {
  // Every rank announces itself first and waits for the others, so a rank
  // that never comes is named in the timeout error (Gloo's own rendezvous
  // would only name its internal key).
  store->set("join/" + std::to_string(rank), {'1'});
  std::vector<std::string> keys;
  for (int r = 0; r < size; r++) keys.push_back("join/" + std::to_string(r));
  store->wait(keys, timeout);
  auto context = std::make_shared<gloo::rendezvous::Context>(rank, size);
  context->setTimeout(timeout);
  context->connectFullMesh(*store, device);
  context_ = context;
  worker_ = std::thread([this] { run(); });
}

GlooGroup::~GlooGroup() { shutdown(true); }

void GlooGroup::shutdown(bool wait) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!worker_.joinable()) return;
    stopping_ = true;
    cv_.notify_all();
    if (!wait && busy_) {
      worker_.detach();
      return;
    }
  }
  worker_.join();
}

void GlooGroup::submit(std::function<void()> fn, std::shared_ptr<WorkState> state, std::function<void()> onDone) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) throw std::runtime_error("the process group has been destroyed");
  queue_.push_back(Job{std::move(fn), std::move(state), std::move(onDone)});
  cv_.notify_all();
}

void GlooGroup::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    std::string err;
    if (!broken_.empty()) {
      err = "an earlier collective failed, so the process group is unusable: " + broken_;
    } else {
      try {
        job.fn();
      } catch (const std::exception& e) {
        err = explain(e.what());
        // Gloo's pairs are left mid-message after an I/O error or timeout.
        broken_ = err;
      }
    }
    job.state->finish(err);
    if (job.onDone) job.onDone();
    std::lock_guard<std::mutex> lock(mu_);
    busy_ = false;
  }
}

void GlooGroup::allreduce(Buffer buf, ReduceOp op) {
  if (op == ReduceOp::kAvg && buf.dtype == DType::kInt64) {
    throw std::runtime_error("ReduceOp.AVG needs a floating dtype on gloo, got int64");
  }
  if (size_ > 1 && buf.count > 0) {
    gloo::AllreduceOptions o(context_);
    // Gloo reduces in elements of the type the setter was given.
    if (buf.dtype == DType::kFloat32) o.setOutput(static_cast<float*>(buf.ptr), buf.count);
    else if (buf.dtype == DType::kFloat64) o.setOutput(static_cast<double*>(buf.ptr), buf.count);
    else o.setOutput(static_cast<int64_t*>(buf.ptr), buf.count);
    o.setReduceFunction(reducerFor(buf.dtype, op));
    o.setTag(nextTag());
    o.setTimeout(timeout_);
    gloo::allreduce(o);
  }
  if (op == ReduceOp::kAvg) average(buf, size_);
}

void GlooGroup::broadcast(Buffer buf, int root) {
  if (size_ == 1 || buf.count == 0) return;
  gloo::BroadcastOptions o(context_);
  setOutput(o, buf.ptr, buf.bytes());
  o.setRoot(root);
  o.setTag(nextTag());
  o.setTimeout(timeout_);
  gloo::broadcast(o);
}

void GlooGroup::allgather(Buffer in, const std::vector<Buffer>& outs) {
  std::vector<char> all(in.bytes() * size_);
  if (in.bytes() > 0) {
    gloo::AllgatherOptions o(context_);
    setInput(o, in.ptr, in.bytes());
    setOutput(o, all.data(), all.size());
    o.setTag(nextTag());
    o.setTimeout(timeout_);
    gloo::allgather(o);
  }
  for (int r = 0; r < size_; r++) std::memcpy(outs[r].ptr, all.data() + r * in.bytes(), in.bytes());
}

void GlooGroup::reduceScatter(const std::vector<Buffer>& ins, Buffer out, ReduceOp op) {
  // Gloo has no reduce-scatter for arbitrary reductions in its options API:
  // all-reduce the concatenated inputs and keep this rank's chunk.
  Buffer all = out;
  std::vector<char> data(out.bytes() * size_);
  for (int r = 0; r < size_; r++) std::memcpy(data.data() + r * out.bytes(), ins[r].ptr, out.bytes());
  all.ptr = data.data();
  all.count = out.count * size_;
  allreduce(all, op);
  std::memcpy(out.ptr, data.data() + rank_ * out.bytes(), out.bytes());
}

void GlooGroup::gather(Buffer in, const std::vector<Buffer>& outs, int root) {
  std::vector<char> all(rank_ == root ? in.bytes() * size_ : 0);
  if (in.bytes() > 0) {
    gloo::GatherOptions o(context_);
    setInput(o, in.ptr, in.bytes());
    if (rank_ == root) setOutput(o, all.data(), all.size());
    o.setRoot(root);
    o.setTag(nextTag());
    o.setTimeout(timeout_);
    gloo::gather(o);
  }
  if (rank_ == root) {
    for (int r = 0; r < size_; r++) std::memcpy(outs[r].ptr, all.data() + r * in.bytes(), in.bytes());
  }
}

void GlooGroup::scatter(const std::vector<Buffer>& ins, Buffer out, int root) {
  if (out.bytes() == 0) return;
  if (size_ == 1) {
    std::memcpy(out.ptr, ins[0].ptr, out.bytes());
    return;
  }
  gloo::ScatterOptions o(context_);
  if (rank_ == root) {
    std::vector<char*> ptrs;
    for (const auto& b : ins) ptrs.push_back(static_cast<char*>(b.ptr));
    o.setInputs(ptrs, out.bytes());
  }
  setOutput(o, out.ptr, out.bytes());
  o.setRoot(root);
  o.setTag(nextTag());
  o.setTimeout(timeout_);
  gloo::scatter(o);
}

void GlooGroup::barrier() {
  if (size_ == 1) return;
  gloo::BarrierOptions o(context_);
  o.setTag(nextTag());
  o.setTimeout(timeout_);
  gloo::barrier(o);
}

}  // namespace kd_dist
