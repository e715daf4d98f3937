// The thread pool behind parallelFor and setNumThreads.
//
// The caller always works on its own job alongside the workers, claiming
// chunks from a shared counter. So a job never waits on a worker that has
// not woken up yet (the caller simply takes its chunks), and several
// threads (Node worker_threads) can run parallel kernels at once.
#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "kernels.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace kd {

namespace {

// Note [Keeping freed tensor memory]: tensor storage is V8 ArrayBuffers,
// which Node allocates with glibc's malloc/calloc. By default glibc gives
// blocks of 128 KiB and more (its limit grows with use, up to 32 MiB) their
// own mmap, unmapped again on free, and returns the top of the heap to the
// kernel once more than twice that lies free there. The garbage collector
// frees a training step's buffers in batches, so each step then faulted its
// output buffers in afresh, page by page: 30-50% of a 1M-element add went
// to page faults and the kernel zeroing pages. Raising both limits once, at
// load, lets freed blocks be reused from the heap instead. The cost is that
// freed memory stays with the process for reuse rather than going back to
// the system at once (glibc still unmaps blocks over 32 MiB, and trims a
// free heap top beyond 256 MiB); the setting is process-wide, as the heap
// is. bench's memory_train_lenet_500 row measures the peak.
#if defined(__GLIBC__)
struct KeepFreedMemory {
  KeepFreedMemory() {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
  }
};
const KeepFreedMemory keepFreedMemory;
#endif

// Set while this thread runs chunks of a job (and always in pool workers):
// a parallelFor nested inside one runs inline, so no thread ever waits on
// a pool whose workers may all be waiting on it.
thread_local bool tInsideParallel = false;

int defaultThreads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

std::atomic<int> gNumThreads{defaultThreads()};

// Note [Spin before sleeping]: waking a thread blocked on a futex takes
// 20-60 us on a VM, as long as a whole 1M-element add. The worker of one
// kernel is soon wanted by the next, and a caller waits for the worker's
// last chunk. So both first spin for a short while (kSpinNs) on an atomic
// before they block, as OpenMP runtimes do; a pool idle for longer than
// that sleeps and costs nothing. Measured (npm run bench, same run order,
// without -> with): elementwise_add_scoped 300 -> 99 us, reduce_sum 108 ->
// 62 us, infer_cnn_b64 876 -> 462 us.
constexpr int64_t kSpinNs = 100 * 1000;

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins until ready() or kSpinNs have passed; returns ready().
template <typename Ready>
bool spinFor(const Ready& ready) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(kSpinNs);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      cpuRelax();
    }
    if (std::chrono::steady_clock::now() >= until) return ready();
  }
}

struct Job {
  const std::function<void(int64_t, int64_t)>& fn;
  int64_t begin, end, chunkSize, numChunks;
  std::atomic<int64_t> nextChunk{0};
  std::atomic<int64_t> chunksDone{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::condition_variable finished;
  std::exception_ptr error;

  Job(const std::function<void(int64_t, int64_t)>& f, int64_t b, int64_t e, int64_t chunk)
      : fn(f), begin(b), end(e), chunkSize(chunk), numChunks((e - b + chunk - 1) / chunk) {}

  // Runs chunks until none are left. Every claimed chunk is counted as done,
  // even one skipped after a failure, so the caller's wait always ends.
  void work() {
    const bool wasInside = tInsideParallel;
    tInsideParallel = true;
    for (int64_t c = nextChunk.fetch_add(1); c < numChunks; c = nextChunk.fetch_add(1)) {
      if (!failed.load(std::memory_order_relaxed)) {
        try {
          const int64_t b = begin + c * chunkSize;
          fn(b, std::min(end, b + chunkSize));
        } catch (...) {
          std::lock_guard<std::mutex> lock(mutex);
          if (!error) error = std::current_exception();
          failed = true;
        }
      }
      // The last chunk wakes a caller that stopped spinning; taking the
      // mutex orders this with its check of chunksDone.
      if (chunksDone.fetch_add(1, std::memory_order_acq_rel) + 1 == numChunks) {
        std::lock_guard<std::mutex> lock(mutex);
        finished.notify_all();
      }
    }
    tInsideParallel = wasInside;
  }

  void waitAll() {
    auto done = [&] { return chunksDone.load(std::memory_order_acquire) == numChunks; };
    if (spinFor(done)) return;
    std::unique_lock<std::mutex> lock(mutex);
    finished.wait(lock, done);
  }
};

// Workers only ever grow in number: lowering setNumThreads just posts fewer
// helpers per job, which avoids joining threads that might be mid-chunk.
class Pool {
 public:
  // Asks up to `helpers` idle workers to join the job.
  void post(const std::shared_ptr<Job>& job, int helpers) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      while (static_cast<int>(workers_.size()) < helpers) workers_.emplace_back([this] { loop(); });
      for (int i = 0; i < helpers; ++i) queue_.push_back(job);
      queued_.fetch_add(helpers, std::memory_order_release);
    }
    // Spinning workers take the job without this; sleeping ones need it.
    if (helpers == 1) wake_.notify_one();
    else wake_.notify_all();
  }

 private:
  void loop() {
    tInsideParallel = true;
    for (;;) {
      std::shared_ptr<Job> job;
      spinFor([&] { return queued_.load(std::memory_order_acquire) > 0; });
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return !queue_.empty(); });
        job = std::move(queue_.front());
        queue_.pop_front();
        queued_.fetch_sub(1, std::memory_order_relaxed);
      }
      job->work();
    }
  }

  std::atomic<int> queued_{0};  // queue_.size(), readable without the mutex
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::thread> workers_;
};

// Never destroyed: joining workers from a static destructor at process exit
// could hang or touch globals already torn down; exit ends the threads.
Pool& pool() {
  static Pool* p = new Pool;
  return *p;
}

}  // namespace

void setNumThreads(int n) {
  if (n < 1) throw KernelError("setNumThreads: expected a positive number of threads, got " + std::to_string(n));
  gNumThreads = n;
}

int getNumThreads() { return gNumThreads; }

void parallelFor(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (end <= begin) return;
  const int64_t n = end - begin;
  grain = std::max<int64_t>(grain, 1);
  const int threads = gNumThreads;
  if (n <= grain || threads <= 1 || tInsideParallel) {
    fn(begin, end);
    return;
  }
  // A few chunks per thread, so a worker that wakes late costs only a
  // small share of the job; but never chunks smaller than the grain.
  const int64_t maxChunks = std::min<int64_t>(int64_t(threads) * 4, (n + grain - 1) / grain);
  const int64_t chunk = (n + maxChunks - 1) / maxChunks;
  auto job = std::make_shared<Job>(fn, begin, end, chunk);
  const int helpers = static_cast<int>(std::min<int64_t>(threads - 1, job->numChunks - 1));
  pool().post(job, helpers);
  job->work();
  job->waitAll();
  if (job->error) std::rethrow_exception(job->error);
}

}  // namespace kd
