// The global random generator and the sampling kernels.
//
// The generator is Philox4x32-10 (Salmon et al., "Parallel random numbers:
// as easy as 1, 2, 3", SC'11): a counter-based generator whose output block
// n is a keyed bijection of n. The 64-bit seed is the key and the stream
// is blocks 0, 1, 2, ... of 4 x 32 bits, consumed in order.
//
// Until manualSeed is called the seed is kDefaultSeed below, so a fresh
// process always draws the same numbers (PyTorch instead seeds from the
// clock; a fixed default keeps runs reproducible by default).
//
// Values are drawn serially in the logical (row-major) order of the output
// view, whatever its strides: the numbers for a given seed do not depend on
// the thread count or on the output's memory layout.
#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <type_traits>

#include "kernels.h"

namespace kd {

namespace {

constexpr uint64_t kDefaultSeed = 0x2545F4914F6CDD1DULL;

class Philox {
 public:
  explicit Philox(uint64_t seed) { reset(seed); }

  void reset(uint64_t seed) {
    key0_ = static_cast<uint32_t>(seed);
    key1_ = static_cast<uint32_t>(seed >> 32);
    block_ = 0;
    pos_ = 4;
  }

  uint32_t next32() {
    if (pos_ == 4) {
      generate(block_++);
      pos_ = 0;
    }
    return buf_[pos_++];
  }

  uint64_t next64() {
    const uint64_t hi = next32();
    const uint64_t lo = next32();
    return (hi << 32) | lo;
  }

  // Uniform in [0, 1) with 53 random bits.
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
  static void mul128(uint64_t a, uint64_t b, uint64_t& hi, uint64_t& lo) {
#if defined(__SIZEOF_INT128__)
    const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
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

  void generate(uint64_t n) {
    uint32_t c0 = static_cast<uint32_t>(n), c1 = static_cast<uint32_t>(n >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = key0_, k1 = key1_;
    for (int round = 0; round < 10; ++round) {
      const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
      const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
      const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
      const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
      c1 = static_cast<uint32_t>(p1);
      c3 = static_cast<uint32_t>(p0);
      c0 = n0;
      c2 = n2;
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    buf_[0] = c0;
    buf_[1] = c1;
    buf_[2] = c2;
    buf_[3] = c3;
  }

  uint32_t key0_ = 0, key1_ = 0;
  uint64_t block_ = 0;
  uint32_t buf_[4] = {0, 0, 0, 0};
  int pos_ = 4;
};

// Kernels may be called from several JS threads (worker_threads).
std::mutex gMutex;
uint64_t gSeed = kDefaultSeed;
Philox gGen(kDefaultSeed);

// out[e] = gen() for every element e of the view, in row-major order.
template <typename T, typename F>
void fillView(const TensorView& out, F&& gen) {
  const int64_t n = out.numel();
  if (n == 0) return;
  T* p = out.ptr<T>();
  if (out.isContiguous()) {
    for (int64_t i = 0; i < n; ++i) p[i] = gen();
    return;
  }
  const int last = out.ndim - 1;
  const int64_t w = out.shape[last], ws = out.strides[last];
  int64_t idx[kMaxDims] = {0};
  int64_t off = 0;
  for (int64_t done = 0; done < n; done += w) {
    for (int64_t j = 0; j < w; ++j) p[off + j * ws] = gen();
    for (int d = last - 1; d >= 0; --d) {
      off += out.strides[d];
      if (++idx[d] < out.shape[d]) break;
      off -= out.strides[d] * out.shape[d];
      idx[d] = 0;
    }
  }
}

}  // namespace

void manualSeed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(gMutex);
  gSeed = seed;
  gGen.reset(seed);
}

uint64_t initialSeed() {
  std::lock_guard<std::mutex> lock(gMutex);
  return gSeed;
}

void uniform(const TensorView& out, double low, double high) {
  if (!(low <= high) || !std::isfinite(high - low))
    throw KernelError("uniform: expected finite low <= high, got low=" + std::to_string(low) + ", high=" +
                      std::to_string(high));
  std::lock_guard<std::mutex> lock(gMutex);
  KD_DISPATCH_FLOAT(out.dtype, "uniform", {
    // The bounds as the dtype holds them; rounding the sum can still land
    // on high, so such a value moves down one ulp to keep [low, high).
    const scalar_t lo = static_cast<scalar_t>(low), hi = static_cast<scalar_t>(high);
    const double span = static_cast<double>(hi) - static_cast<double>(lo);
    const scalar_t below = std::nextafter(hi, lo);
    if (!(lo < hi)) {
      fillView<scalar_t>(out, [&] { return lo; });
    } else if (std::is_same<scalar_t, float>::value) {
      fillView<scalar_t>(out, [&] {
        const double u = static_cast<double>(gGen.next32() >> 8) * 0x1p-24;
        const scalar_t v = static_cast<scalar_t>(lo + u * span);
        return v < hi ? v : below;
      });
    } else {
      fillView<scalar_t>(out, [&] {
        const scalar_t v = static_cast<scalar_t>(lo + gGen.unit53() * span);
        return v < hi ? v : below;
      });
    }
  });
}

void normal(const TensorView& out, double mean, double std) {
  if (!(std >= 0)) throw KernelError("normal: std must be >= 0, got " + std::to_string(std));
  std::lock_guard<std::mutex> lock(gMutex);
  KD_DISPATCH_FLOAT(out.dtype, "normal", {
    // Box-Muller gives two values per pair of uniforms; the second is kept
    // for the next element. u1 is in (0, 1] so log(u1) is finite. float32
    // takes 32-bit uniforms (tails to 6.7 sigma), float64 53-bit ones.
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    bool haveSpare = false;
    double spare = 0.0;
    fillView<scalar_t>(out, [&] {
      if (haveSpare) {
        haveSpare = false;
        return static_cast<scalar_t>(mean + std * spare);
      }
      double u1, u2;
      if (std::is_same<scalar_t, float>::value) {
        u1 = (static_cast<double>(gGen.next32()) + 1.0) * 0x1p-32;
        u2 = static_cast<double>(gGen.next32()) * 0x1p-32;
      } else {
        u1 = 1.0 - gGen.unit53();
        u2 = gGen.unit53();
      }
      const double r = std::sqrt(-2.0 * std::log(u1));
      const double theta = kTwoPi * u2;
      spare = r * std::sin(theta);
      haveSpare = true;
      return static_cast<scalar_t>(mean + std * (r * std::cos(theta)));
    });
  });
}

void randint(const TensorView& out, int64_t low, int64_t high) {
  if (high <= low)
    throw KernelError("randint: expected low < high, got low=" + std::to_string(low) + ", high=" + std::to_string(high));
  // The range must fit the dtype (floats: where every integer is exact).
  int64_t minV = std::numeric_limits<int64_t>::min(), maxV = std::numeric_limits<int64_t>::max();
  switch (out.dtype) {
    case DType::Float32: minV = -(int64_t(1) << 24); maxV = int64_t(1) << 24; break;
    case DType::Float64: minV = -(int64_t(1) << 53); maxV = int64_t(1) << 53; break;
    case DType::Int32: minV = std::numeric_limits<int32_t>::min(); maxV = std::numeric_limits<int32_t>::max(); break;
    case DType::Int64: break;
    case DType::UInt8: minV = 0; maxV = 255; break;
    case DType::Bool: minV = 0; maxV = 1; break;
  }
  if (low < minV || high - 1 > maxV)
    throw KernelError("randint: range [" + std::to_string(low) + ", " + std::to_string(high) + ") does not fit " +
                      dtypeName(out.dtype));
  const uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  std::lock_guard<std::mutex> lock(gMutex);
  KD_DISPATCH_ALL(out.dtype, fillView<scalar_t>(out, [&] {
    return static_cast<scalar_t>(static_cast<int64_t>(static_cast<uint64_t>(low) + gGen.below(range)));
  }));
}

void randperm(const TensorView& out) {
  if (out.dtype != DType::Int64 || out.ndim != 1)
    throw KernelError(std::string("randperm: output must be a 1-d int64 tensor, got a ") + std::to_string(out.ndim) +
                      "-d " + dtypeName(out.dtype) + " tensor");
  const int64_t n = out.shape[0], s = out.strides[0];
  int64_t* p = out.ptr<int64_t>();
  std::lock_guard<std::mutex> lock(gMutex);
  for (int64_t i = 0; i < n; ++i) p[i * s] = i;
  // Fisher-Yates from the end: position i takes a uniform pick of [0, i].
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(gGen.below(static_cast<uint64_t>(i) + 1));
    const int64_t t = p[i * s];
    p[i * s] = p[j * s];
    p[j * s] = t;
  }
}

void bernoulli(const TensorView& out, double p) {
  if (!(p >= 0.0 && p <= 1.0)) throw KernelError("bernoulli: p must be in [0, 1], got " + std::to_string(p));
  std::lock_guard<std::mutex> lock(gMutex);
  KD_DISPATCH_ALL(out.dtype, fillView<scalar_t>(out, [&] { return static_cast<scalar_t>(gGen.unit53() < p ? 1 : 0); }));
}

}  // namespace kd
