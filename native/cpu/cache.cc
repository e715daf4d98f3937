// Note [Streaming stores]: an op's output is a fresh ArrayBuffer, and V8
// frees the dropped ones only at its next scavenge, which it runs once about
// 32 MiB of them have accumulated. So a loop that drops each 4 MiB result
// (`a.add(b)` a few thousand times) writes to 8 or more blocks in turn,
// together larger than the last-level cache: every store first reads its
// line from memory (a read-for-ownership), and the result then evicts the
// op's inputs. PyTorch's allocator hands back the block just freed, still in
// cache. Kindling cannot learn sooner that a result was dropped (Note [Warm
// block cache], lib/backend/memory.ts), but it can see that an output is
// cold and write it with non-temporal stores, which skip both the read and
// the cache. Measured (npm run bench, 1M floats, same binary with and
// without): a plain add 392 -> 330 us, mul 452 -> 369, relu 385 -> 284; a
// standalone C loop over 12 cycled outputs, 160 -> 116 us.
//
// Whether an output is cold is judged from recency: the binding records the
// memory of every large tensor argument in a small ring, with the running
// total of bytes recorded. An output is warm when an earlier record overlaps
// it within half the last-level cache's worth of traffic (the warm block
// cache hands out the block the previous op wrote; an in-place op's output
// is also its input); otherwise it is cold. A wrong guess costs time only:
// both kinds of store write the same values.
#include "cache.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>

#if (defined(__x86_64__) || defined(__amd64__)) && defined(__GNUC__)
#define KD_STREAM_AVX512 1
#include <immintrin.h>

#include "cpu_features.h"
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace kd {

namespace {

constexpr int kRing = 64;
constexpr size_t kTrackMinBytes = size_t(64) << 10;

struct Touch {
  uintptr_t lo = 0, hi = 0;
  uint64_t totalAfter = 0;  // Ring::total just after this record
};

// Per thread: each Node worker thread runs its own ops.
struct Ring {
  Touch t[kRing];
  int head = 0;  // next slot to write
  uint64_t total = 0;
};
thread_local Ring tRing;

// Half the last-level cache that this CPU shares. Read from sysfs, as lscpu
// does: glibc's sysconf(_SC_LEVEL3_CACHE_SIZE) reports ten times the real
// size in some VMs. Capped, since a big L3 is split between core complexes.
size_t warmBudget() {
  static const size_t budget = [] {
    size_t l3 = size_t(32) << 20;
    if (FILE* f = std::fopen("/sys/devices/system/cpu/cpu0/cache/index3/size", "r")) {
      unsigned long kb = 0;
      char unit = 0;
      if (std::fscanf(f, "%lu%c", &kb, &unit) >= 1 && kb > 0) l3 = unit == 'M' ? kb << 20 : unit == 'K' ? kb << 10 : kb;
      std::fclose(f);
    }
    return std::min(l3, size_t(64) << 20) / 2;
  }();
  return budget;
}

}  // namespace

void noteTouched(const void* p, size_t bytes) {
  if (bytes < kTrackMinBytes) return;
  Ring& r = tRing;
  r.total += bytes;
  Touch& t = r.t[r.head];
  t.lo = reinterpret_cast<uintptr_t>(p);
  t.hi = t.lo + bytes;
  t.totalAfter = r.total;
  r.head = (r.head + 1) % kRing;
}

bool outputIsCold(const void* p, size_t bytes) {
  const Ring& r = tRing;
  const uintptr_t lo = reinterpret_cast<uintptr_t>(p), hi = lo + bytes;
  const size_t budget = warmBudget();
  bool skippedOwn = false;
  // Newest first; the newest overlapping record is this call's own.
  for (int k = 1; k <= kRing; ++k) {
    const Touch& t = r.t[(r.head - k + kRing) % kRing];
    if (t.hi == 0 || r.total - t.totalAfter > budget) break;
    if (t.lo < hi && lo < t.hi) {
      if (skippedOwn) return false;
      skippedOwn = true;
    }
  }
  return true;
}

namespace {

#if defined(__SSE2__)
// Bytes from d to the next Align-byte boundary (at most `bytes`): the part
// copied with plain stores, as non-temporal stores need aligned addresses.
template <int Align>
size_t headBytes(const char* d, size_t bytes) {
  return std::min(bytes, (Align - (reinterpret_cast<uintptr_t>(d) & (Align - 1))) & (Align - 1));
}

void streamCopySse2(char* d, const char* s, size_t bytes) {
  const size_t head = headBytes<16>(d, bytes);
  std::memcpy(d, s, head);
  d += head, s += head, bytes -= head;
  for (; bytes >= 16; bytes -= 16, d += 16, s += 16)
    _mm_stream_si128(reinterpret_cast<__m128i*>(d), _mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
  std::memcpy(d, s, bytes);
}
#endif

#if KD_STREAM_AVX512
// A whole line per store: measured about 10% faster than four 16-byte ones.
__attribute__((target("avx512f"))) void streamCopyAvx512(char* d, const char* s, size_t bytes) {
  const size_t head = headBytes<64>(d, bytes);
  std::memcpy(d, s, head);
  d += head, s += head, bytes -= head;
  for (; bytes >= 64; bytes -= 64, d += 64, s += 64)
    _mm512_stream_si512(reinterpret_cast<__m512i*>(d), _mm512_loadu_si512(s));
  std::memcpy(d, s, bytes);
}
#endif

}  // namespace

void streamCopy(void* dst, const void* src, size_t bytes) {
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
#if KD_STREAM_AVX512
  static const bool wide = cpuHasAvx512f();
  if (wide) return streamCopyAvx512(d, s, bytes);
#endif
#if defined(__SSE2__)
  streamCopySse2(d, s, bytes);
#else
  std::memcpy(d, s, bytes);
#endif
}

namespace {
std::atomic<int64_t> gStreamed{0};
}  // namespace

void countStreamedOutput() { gStreamed.fetch_add(1, std::memory_order_relaxed); }
double streamedOutputs() { return static_cast<double>(gStreamed.load(std::memory_order_relaxed)); }

void streamFence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

}  // namespace kd
