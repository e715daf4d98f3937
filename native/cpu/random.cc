// The global random generator and the sampling kernels.
//
// The generator is Philox4x32-10 (Salmon et al., "Parallel random numbers:
// as easy as 1, 2, 3", SC'11). It is counter-based: block n of the stream
// (four 32-bit words) is a keyed bijection of n, so any word of the stream
// can be made without making the ones before it. The 64-bit seed is the
// key; a generator's state is just the seed and the index of the next word
// (RngState).
//
// Note [Per-thread random state]: each JS thread (the main one and every
// worker_threads Worker) keeps its own default state, a BigUint64Array
// [seed, word] made by lib/backend/native.ts, and passes it to every
// sampler, as torch.Generator objects pass theirs; so torch.manualSeed in a
// worker seeds that worker only. The samplers here take the state by
// pointer and only the process-wide one below (for C++ callers that pass
// none) needs the mutex: a JS thread's states are touched by that thread
// alone. lib/ops/generator.ts (torch.Generator) makes the same words in JS.
//
// Until manualSeed is called the seed is kDefaultSeed (0x2545F4914F6CDD1D),
// so a fresh process always draws the same numbers, as PyTorch, which also
// starts from a fixed seed (a different one: the streams differ anyway).
//
// Element i of an output (in the row-major order of its shape, whatever
// its strides) always takes the same words of the stream. uniform, normal
// and bernoulli use a fixed number of words per element, so they split the
// output across threads and each thread jumps straight to its words: the
// numbers for a seed depend neither on the thread count nor on the
// output's memory layout. randint (rejection sampling) and randperm use a
// varying number of words and run serially.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <type_traits>

#include "kernels.h"
#include "parallel.h"

namespace kd {

namespace {

constexpr uint64_t kDefaultSeed = 0x2545F4914F6CDD1DULL;

// Elements per task of a parallel fill.
constexpr int64_t kFillGrain = 1 << 15;

// refill runs once per 8 words; inlined into every sampling loop it only
// bloats them.
#if defined(_MSC_VER)
#define KD_NOINLINE __declspec(noinline)
#elif defined(__GNUC__)
#define KD_NOINLINE __attribute__((noinline))
#else
#define KD_NOINLINE
#endif

// Reads the stream of `seed` from word `word` on.
class Philox {
 public:
  Philox(uint64_t seed, uint64_t word)
      : key0_(static_cast<uint32_t>(seed)),
        key1_(static_cast<uint32_t>(seed >> 32)),
        word_(word),
        bufStart_(word + kBufWords) {}  // word_ - bufStart_ wraps to a huge offset: the buffer is empty

  uint64_t position() const { return word_; }

  uint32_t next32() {
    uint64_t off = word_ - bufStart_;
    if (off >= kBufWords) {
      refill(word_ & ~static_cast<uint64_t>(kBufWords - 1));
      off = word_ - bufStart_;
    }
    ++word_;
    return buf_[off];
  }

  uint64_t next64() {
    const uint64_t hi = next32();
    const uint64_t lo = next32();
    return (hi << 32) | lo;
  }

  // Uniform in [0, 1) with 53 random bits (two words).
  double unit53() { return static_cast<double>(next64() >> 11) * 0x1p-53; }

  // Uniform integer in [0, range), range >= 1, without modulo bias
  // (Lemire's multiply-and-reject).
  uint64_t below(uint64_t range) {
    if (range <= 0xFFFFFFFFULL) {
      const uint32_t r = static_cast<uint32_t>(range);
      uint64_t m = static_cast<uint64_t>(next32()) * r;
      if (static_cast<uint32_t>(m) < r) {
        const uint32_t t = static_cast<uint32_t>(0u - r) % r;
        while (static_cast<uint32_t>(m) < t) m = static_cast<uint64_t>(next32()) * r;
      }
      return m >> 32;
    }
    uint64_t hi, lo;
    mul128(next64(), range, hi, lo);
    if (lo < range) {
      const uint64_t t = (0 - range) % range;
      while (lo < t) mul128(next64(), range, hi, lo);
    }
    return hi;
  }

 private:
  // Blocks are made two at a time: one block is a chain of ten dependent
  // multiplies, and a second independent chain fills the gaps. (Four
  // chains no longer fit in x86-64's registers and measured slower.)
  static constexpr int kBlocks = 2;
  static constexpr int kBufWords = 4 * kBlocks;

  static void mul128(uint64_t a, uint64_t b, uint64_t& hi, uint64_t& lo) {
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 u128;
    const u128 p = static_cast<u128>(a) * b;
    hi = static_cast<uint64_t>(p >> 64);
    lo = static_cast<uint64_t>(p);
#else
    const uint64_t a0 = a & 0xFFFFFFFFULL, a1 = a >> 32, b0 = b & 0xFFFFFFFFULL, b1 = b >> 32;
    const uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const uint64_t mid = (p00 >> 32) + (p01 & 0xFFFFFFFFULL) + (p10 & 0xFFFFFFFFULL);
    hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    lo = (mid << 32) | (p00 & 0xFFFFFFFFULL);
#endif
  }

  // Fills buf_ with words [start, start + kBufWords); start is a multiple
  // of kBufWords, so of 4 (a whole block).
  KD_NOINLINE void refill(uint64_t start) {
    uint32_t c0[kBlocks], c1[kBlocks], c2[kBlocks], c3[kBlocks];
    for (int b = 0; b < kBlocks; ++b) {
      const uint64_t n = start / 4 + static_cast<uint64_t>(b);
      c0[b] = static_cast<uint32_t>(n);
      c1[b] = static_cast<uint32_t>(n >> 32);
      c2[b] = 0;
      c3[b] = 0;
    }
    uint32_t k0 = key0_, k1 = key1_;
    for (int round = 0; round < 10; ++round) {
      for (int b = 0; b < kBlocks; ++b) {
        const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0[b];
        const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2[b];
        const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1[b] ^ k0;
        const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3[b] ^ k1;
        c1[b] = static_cast<uint32_t>(p1);
        c3[b] = static_cast<uint32_t>(p0);
        c0[b] = n0;
        c2[b] = n2;
      }
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    for (int b = 0; b < kBlocks; ++b) {
      buf_[4 * b + 0] = c0[b];
      buf_[4 * b + 1] = c1[b];
      buf_[4 * b + 2] = c2[b];
      buf_[4 * b + 3] = c3[b];
    }
    bufStart_ = start;
  }

  uint32_t key0_, key1_;
  uint64_t word_;
  uint64_t bufStart_;
  uint32_t buf_[kBufWords] = {};
};

// The process-wide state for callers that pass none. Its mutex lets C++
// threads share it, each fill taking its own run of words.
std::mutex gMutex;
RngState gState{kDefaultSeed, 0};

// The state a sampler uses: the caller's own, or the process-wide one held
// under its mutex for the call.
class StateLock {
 public:
  explicit StateLock(RngState* gen) : state_(gen != nullptr ? gen : &gState), owns_(gen == nullptr) {
    if (owns_) gMutex.lock();
  }
  ~StateLock() {
    if (owns_) gMutex.unlock();
  }
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;
  RngState& operator*() const { return *state_; }

 private:
  RngState* state_;
  bool owns_;
};

// Row-major walk over all dims of a view, tracking the element offset.
struct ElemWalker {
  const TensorView& v;
  int64_t idx[kMaxDims] = {0};
  int64_t offset = 0;

  ElemWalker(const TensorView& view, int64_t flat) : v(view) {
    for (int d = v.ndim - 1; d >= 0; --d) {
      idx[d] = flat % v.shape[d];
      flat /= v.shape[d];
      offset += idx[d] * v.strides[d];
    }
  }
  void next() {
    for (int d = v.ndim - 1; d >= 0; --d) {
      offset += v.strides[d];
      if (++idx[d] < v.shape[d]) return;
      offset -= v.strides[d] * v.shape[d];
      idx[d] = 0;
    }
  }
};

// Fills out in parallel. Elements come in items of E values made from
// exactly W words by make(gen, vals): item k uses words [k * W, (k + 1) * W)
// after the current position, whichever thread makes it. The caller holds
// st (StateLock); the position moves past every item, a half-used last one too.
template <typename T, int E, int W, typename Make>
void fillParallel(RngState& st, const TensorView& out, Make make) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const uint64_t seed = st.seed, first = st.word;
  const bool contiguous = out.isContiguous();
  T* p = out.ptr<T>();
  parallelFor(0, n, kFillGrain, [&](int64_t b, int64_t e) {
    Philox gen(seed, first + static_cast<uint64_t>(b / E) * W);
    T vals[E];
    make(gen, vals);
    int k = static_cast<int>(b % E);
    auto nextValue = [&] {
      if (k == E) {
        make(gen, vals);
        k = 0;
      }
      return vals[k++];
    };
    if (contiguous) {
      for (int64_t i = b; i < e; ++i) p[i] = nextValue();
    } else {
      ElemWalker w(out, b);
      for (int64_t i = b; i < e; ++i, w.next()) p[w.offset] = nextValue();
    }
  });
  st.word = first + static_cast<uint64_t>((n + E - 1) / E) * W;
}

// Serial fill for samplers that use a varying number of words.
template <typename T, typename F>
void fillSerial(const TensorView& out, F&& gen) {
  const int64_t n = out.numel();
  if (n == 0) return;
  T* p = out.ptr<T>();
  if (out.isContiguous()) {
    for (int64_t i = 0; i < n; ++i) p[i] = gen();
    return;
  }
  ElemWalker w(out, 0);
  for (int64_t i = 0; i < n; ++i, w.next()) p[w.offset] = gen();
}

}  // namespace

void manualSeed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(gMutex);
  gState = RngState{seed, 0};
}

uint64_t initialSeed() {
  std::lock_guard<std::mutex> lock(gMutex);
  return gState.seed;
}

void uniform(const TensorView& out, double low, double high, RngState* gen) {
  if (!(low <= high) || !std::isfinite(high - low))
    throw KernelError("uniform: expected finite low <= high, got low=" + std::to_string(low) +
                      ", high=" + std::to_string(high));
  StateLock st(gen);
  KD_DISPATCH_FLOAT(out.dtype, "uniform", {
    // The bounds as the dtype holds them; rounding the sum can still land
    // on high, so such a value moves down one ulp to keep [low, high).
    const scalar_t lo = static_cast<scalar_t>(low), hi = static_cast<scalar_t>(high);
    const double span = static_cast<double>(hi) - static_cast<double>(lo);
    const scalar_t below = std::nextafter(hi, lo);
    if (std::is_same<scalar_t, float>::value) {
      // 24 random bits: every float in [0, 1) with that spacing.
      fillParallel<scalar_t, 1, 1>(*st, out, [&](Philox& g, scalar_t* v) {
        const double u = static_cast<double>(g.next32() >> 8) * 0x1p-24;
        const scalar_t x = static_cast<scalar_t>(lo + u * span);
        v[0] = x < hi ? x : (lo < hi ? below : lo);
      });
    } else {
      fillParallel<scalar_t, 1, 2>(*st, out, [&](Philox& g, scalar_t* v) {
        const scalar_t x = static_cast<scalar_t>(lo + g.unit53() * span);
        v[0] = x < hi ? x : (lo < hi ? below : lo);
      });
    }
  });
}

void normal(const TensorView& out, double mean, double std, RngState* gen) {
  if (!(std >= 0)) throw KernelError("normal: std must be >= 0, got " + std::to_string(std));
  StateLock st(gen);
  // Box-Muller: two values from two uniforms, u1 in (0, 1] so log(u1) is
  // finite. float32 works in float (as PyTorch's vectorised path does)
  // from 32-bit uniforms, so its tails reach 6.7 sigma; float64 works in
  // double from 53-bit uniforms.
  KD_DISPATCH_FLOAT(out.dtype, "normal", {
    using M = scalar_t;
    const M twoPi = static_cast<M>(6.283185307179586476925286766559);
    const M mu = static_cast<M>(mean), sigma = static_cast<M>(std);
    auto pair = [=](M u1, M u2, M* v) {
      const M r = std::sqrt(M(-2) * std::log(u1));
      const M theta = twoPi * u2;
      v[0] = mu + sigma * (r * std::cos(theta));
      v[1] = mu + sigma * (r * std::sin(theta));
    };
    if (std::is_same<M, float>::value) {
      fillParallel<M, 2, 2>(*st, out, [&](Philox& g, M* v) {
        const M u1 = static_cast<M>((static_cast<double>(g.next32()) + 1.0) * 0x1p-32);
        const M u2 = static_cast<M>(static_cast<double>(g.next32() >> 8) * 0x1p-24);
        pair(u1, u2, v);
      });
    } else {
      fillParallel<M, 2, 4>(*st, out, [&](Philox& g, M* v) {
        const M u1 = static_cast<M>(1.0 - g.unit53());
        const M u2 = static_cast<M>(g.unit53());
        pair(u1, u2, v);
      });
    }
  });
}

void bernoulli(const TensorView& out, double p, RngState* gen) {
  if (!(p >= 0.0 && p <= 1.0)) throw KernelError("bernoulli: p must be in [0, 1], got " + std::to_string(p));
  // One word per element: 1 when it falls below p * 2^32 (p = 1 gives
  // 2^32, above every word). The test is the sign of word - threshold:
  // a compare-and-branch here would mispredict half the time at p = 0.5.
  const uint64_t threshold = static_cast<uint64_t>(std::ldexp(p, 32));
  StateLock st(gen);
  KD_DISPATCH_ALL(out.dtype, fillParallel<scalar_t, 1, 1>(*st, out, [&](Philox& g, scalar_t* v) {
                    v[0] = static_cast<scalar_t>((static_cast<uint64_t>(g.next32()) - threshold) >> 63);
                  }));
}

void randint(const TensorView& out, int64_t low, int64_t high, RngState* gen) {
  if (high <= low)
    throw KernelError("randint: expected low < high, got low=" + std::to_string(low) +
                      ", high=" + std::to_string(high));
  // The range must fit the dtype (floats: where every integer is exact).
  int64_t minV = std::numeric_limits<int64_t>::min(), maxV = std::numeric_limits<int64_t>::max();
  switch (out.dtype) {
    case DType::Float32:
      minV = -(int64_t(1) << 24);
      maxV = int64_t(1) << 24;
      break;
    case DType::Float64:
      minV = -(int64_t(1) << 53);
      maxV = int64_t(1) << 53;
      break;
    case DType::Int32:
      minV = std::numeric_limits<int32_t>::min();
      maxV = std::numeric_limits<int32_t>::max();
      break;
    case DType::Int64: break;
    case DType::UInt8:
      minV = 0;
      maxV = 255;
      break;
    case DType::Bool:
      minV = 0;
      maxV = 1;
      break;
  }
  if (low < minV || high - 1 > maxV)
    throw KernelError("randint: range [" + std::to_string(low) + ", " + std::to_string(high) + ") does not fit " +
                      dtypeName(out.dtype));
  const uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  StateLock st(gen);
  Philox g((*st).seed, (*st).word);
  KD_DISPATCH_ALL(out.dtype, fillSerial<scalar_t>(out, [&] {
                    return static_cast<scalar_t>(static_cast<int64_t>(static_cast<uint64_t>(low) + g.below(range)));
                  }));
  (*st).word = g.position();
}

void randperm(const TensorView& out, RngState* gen) {
  if (out.dtype != DType::Int64 || out.ndim != 1)
    throw KernelError(std::string("randperm: output must be a 1-d int64 tensor, got a ") + std::to_string(out.ndim) +
                      "-d " + dtypeName(out.dtype) + " tensor");
  const int64_t n = out.shape[0], s = out.strides[0];
  int64_t* p = out.ptr<int64_t>();
  StateLock st(gen);
  Philox g((*st).seed, (*st).word);
  for (int64_t i = 0; i < n; ++i) p[i * s] = i;
  // Fisher-Yates from the end: position i takes a uniform pick of [0, i].
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(g.below(static_cast<uint64_t>(i) + 1));
    std::swap(p[i * s], p[j * s]);
  }
  (*st).word = g.position();
}

}  // namespace kd
