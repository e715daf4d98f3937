// Random sampling on the device. One generator for all devices:
// Philox4x32-10 keyed by the seed (cudaManualSeed), counter-based, so
// every element computes its own numbers: element i (in row-major order of
// the output's shape, whatever its strides) of a call uses counter
// offset + i, and each call advances offset by the element count. Results
// depend only on the seed and the calls made since, never on the launch
// configuration. The device stream differs from the CPU generator's (as
// in PyTorch, where CPU and CUDA generators are separate).
#include <cmath>
#include <limits>
#include <mutex>
#include <random>

#include "common.cuh"

namespace kd {
namespace cuda {

namespace {

constexpr uint64_t kDefaultSeed = 0x2545F4914F6CDD1DULL;

std::mutex gMutex;
uint64_t gSeed = kDefaultSeed;
uint64_t gOffset = 0;

// Reserves n counters and returns the first.
uint64_t reserve(uint64_t n, uint64_t& seed) {
  std::lock_guard<std::mutex> lock(gMutex);
  seed = gSeed;
  const uint64_t first = gOffset;
  gOffset += n;
  return first;
}

struct Words {
  uint32_t w[4];
};

// Philox4x32-10 of the 128-bit counter (lo, 0) under the 64-bit key.
__device__ inline Words philox(uint64_t counter, uint64_t key) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int r = 0; r < 10; ++r) {
    const uint32_t hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
    const uint32_t hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
    const uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Words{{c0, c1, c2, c3}};
}

// Row-major element i of the output to its offset.
struct OutIndex {
  int ndim = 0;
  bool contig = true;
  int64_t shape[kMaxDims], strides[kMaxDims];
  __device__ inline int64_t operator()(int64_t i) const {
    if (contig) return i;
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      off += (i % shape[d]) * strides[d];
      i /= shape[d];
    }
    return off;
  }
};

OutIndex outIndex(const TensorView& v) {
  OutIndex o;
  o.ndim = v.ndim;
  o.contig = v.isContiguous();
  for (int d = 0; d < v.ndim; ++d) {
    o.shape[d] = v.shape[d];
    o.strides[d] = v.strides[d];
  }
  return o;
}

__device__ inline double unit53(uint32_t hi, uint32_t lo) {
  return static_cast<double>(((uint64_t(hi) << 32) | lo) >> 11) * 0x1p-53;
}

template <typename T>
__global__ void uniformKernel(OutIndex ix, int64_t n, T* out, uint64_t seed, uint64_t first, T lo, T hi, double span,
                              T below) {
  KD_GRID_STRIDE(i, n) {
    const Words w = philox(first + static_cast<uint64_t>(i), seed);
    const double u =
        std::is_same<T, float>::value ? static_cast<double>(w.w[0] >> 8) * 0x1p-24 : unit53(w.w[0], w.w[1]);
    const T x = static_cast<T>(lo + u * span);
    out[ix(i)] = x < hi ? x : (lo < hi ? below : lo);
  }
}

template <typename T>
__global__ void normalKernel(OutIndex ix, int64_t n, T* out, uint64_t seed, uint64_t first, T mu, T sigma) {
  KD_GRID_STRIDE(i, n) {
    const Words w = philox(first + static_cast<uint64_t>(i), seed);
    T u1, u2;
    if (std::is_same<T, float>::value) {
      u1 = static_cast<T>((static_cast<double>(w.w[0]) + 1.0) * 0x1p-32);  // (0, 1]: log(u1) is finite
      u2 = static_cast<T>(static_cast<double>(w.w[1] >> 8) * 0x1p-24);
    } else {
      u1 = static_cast<T>(1.0 - unit53(w.w[0], w.w[1]));
      u2 = static_cast<T>(unit53(w.w[2], w.w[3]));
    }
    const T r = sqrt(T(-2) * log(u1));
    out[ix(i)] = mu + sigma * (r * cos(T(6.283185307179586476925286766559) * u2));
  }
}

template <typename T>
__global__ void bernoulliKernel(OutIndex ix, int64_t n, T* out, uint64_t seed, uint64_t first, uint64_t threshold) {
  KD_GRID_STRIDE(i, n) {
    const Words w = philox(first + static_cast<uint64_t>(i), seed);
    out[ix(i)] = static_cast<T>((static_cast<uint64_t>(w.w[0]) - threshold) >> 63);
  }
}

// low + floor(r * range / 2^64) from 64 random bits r: the bias is at most
// range / 2^64 per value, far below anything a test or model can see.
template <typename T>
__global__ void randintKernel(OutIndex ix, int64_t n, T* out, uint64_t seed, uint64_t first, int64_t low,
                              uint64_t range) {
  KD_GRID_STRIDE(i, n) {
    const Words w = philox(first + static_cast<uint64_t>(i), seed);
    const uint64_t r = (uint64_t(w.w[0]) << 32) | w.w[1];
    const uint64_t pick = __umul64hi(r, range);
    out[ix(i)] = static_cast<T>(static_cast<int64_t>(static_cast<uint64_t>(low) + pick));
  }
}

}  // namespace

void manualSeed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(gMutex);
  gSeed = seed;
  gOffset = 0;
}

void uniform(const TensorView& out, double low, double high) {
  if (!(low <= high) || !std::isfinite(high - low))
    throw KernelError("uniform: expected finite low <= high, got low=" + std::to_string(low) +
                      ", high=" + std::to_string(high));
  dispatchFloat(out.dtype, "uniform", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t n = out.numel();
    if (n == 0) return;
    setDevice("uniform", out.device);
    uint64_t seed;
    const uint64_t first = reserve(static_cast<uint64_t>(n), seed);
    const T lo = static_cast<T>(low), hi = static_cast<T>(high);
    const double span = static_cast<double>(hi) - static_cast<double>(lo);
    uniformKernel<T><<<blocksFor(n), kThreads>>>(outIndex(out), n, static_cast<T*>(out.data), seed, first, lo, hi, span,
                                                 std::nextafter(hi, lo));
    KD_CUDA_LAUNCHED("uniform");
  });
}

void normal(const TensorView& out, double mean, double std) {
  if (!(std >= 0)) throw KernelError("normal: std must be >= 0, got " + std::to_string(std));
  dispatchFloat(out.dtype, "normal", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t n = out.numel();
    if (n == 0) return;
    setDevice("normal", out.device);
    uint64_t seed;
    const uint64_t first = reserve(static_cast<uint64_t>(n), seed);
    normalKernel<T><<<blocksFor(n), kThreads>>>(outIndex(out), n, static_cast<T*>(out.data), seed, first,
                                                static_cast<T>(mean), static_cast<T>(std));
    KD_CUDA_LAUNCHED("normal");
  });
}

void bernoulli(const TensorView& out, double p) {
  if (!(p >= 0.0 && p <= 1.0)) throw KernelError("bernoulli: p must be in [0, 1], got " + std::to_string(p));
  const uint64_t threshold = static_cast<uint64_t>(std::ldexp(p, 32));
  const int64_t n = out.numel();
  if (n == 0) return;
  setDevice("bernoulli", out.device);
  uint64_t seed;
  const uint64_t first = reserve(static_cast<uint64_t>(n), seed);
  dispatchAll(out.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    bernoulliKernel<T><<<blocksFor(n), kThreads>>>(outIndex(out), n, static_cast<T*>(out.data), seed, first, threshold);
  });
  KD_CUDA_LAUNCHED("bernoulli");
}

void randint(const TensorView& out, int64_t low, int64_t high) {
  if (high <= low)
    throw KernelError("randint: expected low < high, got low=" + std::to_string(low) +
                      ", high=" + std::to_string(high));
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
  const int64_t n = out.numel();
  if (n == 0) return;
  setDevice("randint", out.device);
  uint64_t seed;
  const uint64_t first = reserve(static_cast<uint64_t>(n), seed);
  dispatchAll(out.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    randintKernel<T><<<blocksFor(n), kThreads>>>(outIndex(out), n, static_cast<T*>(out.data), seed, first, low, range);
  });
  KD_CUDA_LAUNCHED("randint");
}

// A permutation is inherently sequential (Fisher-Yates): made on the host
// from the device generator's seed and counter, then copied over.
void randperm(const TensorView& out) {
  if (out.dtype != DType::Int64 || out.ndim != 1)
    throw KernelError(std::string("randperm: output must be a 1-d int64 tensor, got a ") + std::to_string(out.ndim) +
                      "-d " + dtypeName(out.dtype) + " tensor");
  const int64_t n = out.shape[0];
  uint64_t seed;
  const uint64_t first = reserve(static_cast<uint64_t>(n) + 1, seed);
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(first),
                    static_cast<uint32_t>(first >> 32)};
  std::mt19937_64 gen(seq);
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    std::uniform_int_distribution<int64_t> pick(0, i);
    std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(pick(gen))]);
  }
  TensorView host;
  host.data = p.data();
  host.dtype = DType::Int64;
  host.device = -1;
  host.ndim = 1;
  host.shape[0] = n;
  host.strides[0] = 1;
  // host is contiguous and of out's dtype (Int64), so no host copy is needed.
  copyAcross(host, out, nullptr);
}

}  // namespace cuda
}  // namespace kd
