// Reductions (sum, mean, var, ...), max/min with indices, and softmax.
//
// Every reduction goes through one engine. The view's dims are split into
// kept dims (in output order: out is contiguous in keepdim form) and
// reduced dims (sorted so the smallest stride is innermost, then merged
// where memory allows). Two loop shapes follow from that layout:
//   - "inner": the reduced dims are the fast ones in memory (row sums, full
//     reductions): each output runs over its reduced sub-space alone;
//   - "lane": a kept dim is the fast one (column sums, the bias gradient):
//     a block of outputs along that dim keeps one accumulator each, and the
//     reduced sub-space is walked outside, so reads stay contiguous.
// When there are too few outputs to keep the threads busy, the outermost
// reduced dim is cut into pieces whose partial results are merged in a
// fixed order. The pieces depend only on the shape, never on the thread
// count, so a result is the same bit for bit however many threads run.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels.h"
#include "parallel.h"
#include "vec_math.h"

namespace kd {

namespace {

// Work (in elements) for one task of a split reduction, and the least work
// worth handing to another thread.
constexpr int64_t kSplitElems = 32768;
constexpr int64_t kGrainElems = 16384;
// Outputs per lane block: the accumulators (8 KiB of doubles) stay in L1.
constexpr int64_t kLaneBlock = 1024;
// Enough independent outputs to keep a pool busy without splitting.
constexpr int64_t kEnoughItems = 64;
// Cap on partial results kept for a split reduction.
constexpr int64_t kMaxPartials = int64_t(1) << 22;

int64_t grainFor(int64_t workPerItem) { return std::max<int64_t>(1, kGrainElems / std::max<int64_t>(1, workPerItem)); }

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

template <typename T>
inline bool isNaN(T v) {
  if constexpr (std::is_floating_point<T>::value) return std::isnan(v);
  else return false;
}

template <typename T>
constexpr bool isFloat() {
  return std::is_floating_point<T>::value;
}

bool isFloatDtype(DType d) { return d == DType::Float32 || d == DType::Float64; }

int64_t absStride(int64_t s) { return s < 0 ? -s : s; }

// a * b with overflow check. __builtin_mul_overflow is GCC's and Clang's;
// MSVC (the Windows prebuild) has none, so there the wrapped product is
// checked by division (a == -1 only overflows for INT64_MIN).
inline bool mulOverflow(int64_t a, int64_t b, int64_t* r) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_mul_overflow(a, b, r);
#else
  *r = static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  if (a == 0) return false;
  if (a == -1) return b == std::numeric_limits<int64_t>::min();
  return *r / a != b;
#endif
}

// a * b for the sizes of a view that may be empty. readView bounds the
// element count of a non-empty view only; an empty one may have huge other
// dims (PyTorch allows torch.zeros(0, 2**40, 10**10)), whose products
// would overflow int64. Saturates instead (0 wins).
inline int64_t satMul(int64_t a, int64_t b) {
  int64_t r;
  if (a == 0 || b == 0) return 0;
  return mulOverflow(a, b, &r) ? std::numeric_limits<int64_t>::max() : r;
}

// Merges neighbouring dims (outer to inner) that walk memory as one dim.
// Dims whose span or merged size would overflow (possible only in an empty
// view) stay apart.
int mergeDims(int n, int64_t* size, int64_t* stride) {
  int m = 0;
  for (int i = 0; i < n; ++i) {
    int64_t span = 0, merged = 0;
    if (m > 0 && !mulOverflow(stride[i], size[i], &span) && stride[m - 1] == span &&
        !mulOverflow(size[m - 1], size[i], &merged)) {
      size[m - 1] = merged;
      stride[m - 1] = stride[i];
    } else {
      size[m] = size[i];
      stride[m] = stride[i];
      ++m;
    }
  }
  return m;
}

struct Layout {
  int nk = 0, nr = 0;
  int64_t ks[kMaxDims], kst[kMaxDims];  // kept dims, output order
  int64_t rs[kMaxDims], rst[kMaxDims];  // reduced dims, outer to inner
  int64_t numOut = 1, nred = 1;
};

// keepUnitReduced keeps a size-1 reduced dim (argReduce wants exactly one).
Layout makeLayout(const TensorView& x, const std::vector<bool>& mask, bool keepUnitReduced = false) {
  Layout L;
  for (int d = 0; d < x.ndim; ++d) {
    if (mask[d]) {
      L.nred = satMul(L.nred, x.shape[d]);
      if (x.shape[d] != 1 || keepUnitReduced) {
        L.rs[L.nr] = x.shape[d];
        L.rst[L.nr] = x.strides[d];
        ++L.nr;
      }
    } else {
      L.numOut = satMul(L.numOut, x.shape[d]);
      if (x.shape[d] != 1) {
        L.ks[L.nk] = x.shape[d];
        L.kst[L.nk] = x.strides[d];
        ++L.nk;
      }
    }
  }
  L.nk = mergeDims(L.nk, L.ks, L.kst);
  // Insertion sort (stable, at most 16 dims) by falling |stride|.
  for (int i = 1; i < L.nr; ++i) {
    for (int j = i; j > 0 && absStride(L.rst[j - 1]) < absStride(L.rst[j]); --j) {
      std::swap(L.rst[j - 1], L.rst[j]);
      std::swap(L.rs[j - 1], L.rs[j]);
    }
  }
  if (!keepUnitReduced) L.nr = mergeDims(L.nr, L.rs, L.rst);
  return L;
}

// Walks a row-major index over dims [0, n) of (size, stride), tracking the
// element offset, so consecutive outputs cost an add instead of a divide.
struct Walker {
  int n = 0;
  const int64_t* size = nullptr;
  const int64_t* stride = nullptr;
  int64_t idx[kMaxDims] = {0};
  int64_t offset = 0;

  Walker(int n_, const int64_t* size_, const int64_t* stride_, int64_t flat) : n(n_), size(size_), stride(stride_) {
    for (int d = n - 1; d >= 0; --d) {
      idx[d] = flat % size[d];
      flat /= size[d];
      offset += idx[d] * stride[d];
    }
  }
  void next() {
    for (int d = n - 1; d >= 0; --d) {
      offset += stride[d];
      if (++idx[d] < size[d]) return;
      offset -= stride[d] * size[d];
      idx[d] = 0;
    }
  }
};

// Calls line(p, n, stride) for every innermost run of the reduced
// sub-space at base, with the outermost reduced dim limited to [r0, r1).
template <typename T, typename F>
inline void forEachLine(const T* base, const Layout& L, int64_t r0, int64_t r1, F&& line) {
  if (L.nr == 0) {
    line(base, int64_t(1), int64_t(0));
    return;
  }
  if (r0 >= r1) return;
  if (L.nr == 1) {
    line(base + r0 * L.rst[0], r1 - r0, L.rst[0]);
    return;
  }
  const int last = L.nr - 1;
  const int64_t n = L.rs[last], s = L.rst[last];
  int64_t idx[kMaxDims] = {0};
  idx[0] = r0;
  const T* p = base + r0 * L.rst[0];
  for (;;) {
    line(p, n, s);
    for (int d = last - 1;; --d) {
      p += L.rst[d];
      if (++idx[d] < (d == 0 ? r1 : L.rs[d])) break;
      if (d == 0) return;
      p -= L.rst[d] * L.rs[d];
      idx[d] = 0;
    }
  }
}

// ---- reduction ops -----------------------------------------------------------
// Each op: acc_t, init() (an identity for merge), step(acc, v, c) and
// merge(acc, other). c is a per-output centre (the mean for var, the max for
// logsumexp); ops that ignore it set kCtx = false. Integer sums and
// products accumulate as uint64 so overflow wraps as int64 would, without UB.

template <typename T>
using WideAcc = std::conditional_t<isFloat<T>(), double, uint64_t>;

template <typename T>
struct SumOp {
  using acc_t = WideAcc<T>;
  static constexpr bool kCtx = false;
  acc_t init() const { return acc_t(0); }
  void step(acc_t& a, T v, double) const { a += static_cast<acc_t>(v); }
  void merge(acc_t& a, acc_t b) const { a += b; }
};

// var's first pass: SumOp in double throughout, never the float32 cascade
// of Note [Short float sums]. n equal values then have a mean equal to
// them and a variance of exactly 0, as with PyTorch's Welford in double
// (the cascade's rounded mean left ~1e-19).
template <typename T>
struct MeanSumOp : SumOp<T> {};

template <typename T>
struct ProdOp {
  using acc_t = WideAcc<T>;
  static constexpr bool kCtx = false;
  acc_t init() const { return acc_t(1); }
  void step(acc_t& a, T v, double) const { a *= static_cast<acc_t>(v); }
  void merge(acc_t& a, acc_t b) const { a *= b; }
};

// NaN wins: a NaN is always taken, and once in, no comparison replaces it.
template <typename T, bool IsMax>
struct ExtremeOp {
  using acc_t = T;
  static constexpr bool kCtx = false;
  acc_t init() const {
    if constexpr (isFloat<T>()) return IsMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    else return IsMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }
  // Branch-free (a select), so the eight-accumulator loop vectorises.
  void step(acc_t& a, T v, double) const {
    const bool take = static_cast<bool>(static_cast<int>(IsMax ? v > a : v < a) | static_cast<int>(isNaN(v)));
    a = take ? v : a;
  }
  void merge(acc_t& a, acc_t b) const { step(a, b, 0.0); }
};

template <typename T, bool IsAny>
struct LogicalOp {
  using acc_t = uint8_t;
  static constexpr bool kCtx = false;
  acc_t init() const { return IsAny ? 0 : 1; }
  void step(acc_t& a, T v, double) const {
    if (IsAny) a |= static_cast<uint8_t>(v != T(0));
    else a &= static_cast<uint8_t>(v != T(0));
  }
  void merge(acc_t& a, acc_t b) const {
    if (IsAny) a |= b;
    else a &= b;
  }
};

// Sum of squared distances from c (var's second pass; norm with c = 0).
template <typename T, bool Ctx>
struct SquareOp {
  using acc_t = double;
  static constexpr bool kCtx = Ctx;
  acc_t init() const { return 0.0; }
  void step(acc_t& a, T v, double c) const {
    const double d = static_cast<double>(v) - c;
    a += d * d;
  }
  void merge(acc_t& a, acc_t b) const { a += b; }
};

template <typename T>
struct ExpSumOp {
  using acc_t = double;
  static constexpr bool kCtx = true;
  acc_t init() const { return 0.0; }
  void step(acc_t& a, T v, double c) const { a += std::exp(static_cast<double>(v) - c); }
  void merge(acc_t& a, acc_t b) const { a += b; }
};

// Note [Short float sums]: PyTorch sums short float32 runs in float32, in
// a fixed order: a contiguous run of 8 or more adds whole 8-wide vectors
// lane by lane, sums the tail from zero, then adds the eight lanes to it;
// shorter or strided runs use four interleaved accumulators, the tail going
// to the first, then add them in order. Following that order makes small
// sums (a mean over a few points, as in the seeds) print the digits
// PyTorch prints. Runs of 32 or more keep double accumulators, which are
// more accurate than PyTorch's float cascade.
inline float shortFloatSum(const float* p, int64_t n, int64_t s) {
  if (s == 1 && n >= 8) {
    float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const int64_t vecs = n / 8;
    for (int64_t v = 0; v < vecs; ++v)
      for (int k = 0; k < 8; ++k) lanes[k] += p[v * 8 + k];
    float total = 0;
    for (int64_t i = vecs * 8; i < n; ++i) total += p[i];
    for (int k = 0; k < 8; ++k) total += lanes[k];
    return total;
  }
  float part[4] = {0, 0, 0, 0};
  const int64_t rows = n / 4;
  for (int64_t r = 0; r < rows; ++r)
    for (int k = 0; k < 4; ++k) part[k] += p[(r * 4 + k) * s];
  for (int64_t i = rows * 4; i < n; ++i) part[0] += p[i * s];
  return ((part[0] + part[1]) + part[2]) + part[3];
}

// A strided run. Contiguous runs use eight independent accumulators so the
// compiler can keep them in vector registers without reassociating.
template <typename Op, typename T>
inline void runLine(const Op& op, typename Op::acc_t& acc, const T* p, int64_t n, int64_t s, double c) {
  using A = typename Op::acc_t;
  if constexpr (std::is_same_v<Op, SumOp<float>>) {
    // Float sums, the common reduction, run in the widest SIMD copy (Note
    // [Wide SIMD loops]) with 32 double accumulators: four AVX-512 vectors,
    // so the adds are not bound by the latency of one chain.
    if (s == 1 && n >= 32) {
      vec::withWideSimd([&] {
        double a[32];
        for (int k = 0; k < 32; ++k) a[k] = 0.0;
        int64_t i = 0;
        for (; i + 32 <= n; i += 32)
          for (int k = 0; k < 32; ++k) a[k] += static_cast<double>(p[i + k]);
        for (; i < n; ++i) a[i & 31] += static_cast<double>(p[i]);
        for (int w = 16; w >= 1; w /= 2)
          for (int k = 0; k < w; ++k) a[k] += a[k + w];
        acc += a[0];
      });
      return;
    }
  }
  if (s == 1 && n >= 32) {
    A a[8];
    for (int k = 0; k < 8; ++k) a[k] = op.init();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (int k = 0; k < 8; ++k) op.step(a[k], p[i + k], c);
    for (; i < n; ++i) op.step(a[i & 7], p[i], c);
    for (int k = 0; k < 8; ++k) op.merge(acc, a[k]);
  } else if (std::is_same_v<Op, SumOp<float>> && n < 32) {
    if constexpr (std::is_same_v<Op, SumOp<float>>) acc += static_cast<double>(shortFloatSum(p, n, s));
  } else if (s == 1) {
    for (int64_t i = 0; i < n; ++i) op.step(acc, p[i], c);
  } else {
    for (int64_t i = 0; i < n; ++i) op.step(acc, p[i * s], c);
  }
}

// Reduces x by L into one accumulator per output (in output order). ctx,
// when the op uses it, holds one centre per output.
template <typename T, typename Op>
std::vector<typename Op::acc_t> runReduce(const T* x, const Layout& L, const Op& op, const double* ctx) {
  using A = typename Op::acc_t;
  std::vector<A> res(static_cast<size_t>(L.numOut), op.init());
  if (L.numOut == 0 || L.nred == 0) return res;

  const bool lane = L.nk >= 1 && (L.nr == 0 || absStride(L.kst[L.nk - 1]) < absStride(L.rst[L.nr - 1]));
  const int64_t W = lane ? L.ks[L.nk - 1] : 1;
  const int64_t laneBlocks = lane ? ceilDiv(W, kLaneBlock) : 1;
  const int64_t items = lane ? (L.numOut / W) * laneBlocks : L.numOut;
  const int64_t itemWork = L.nred * std::min(W, kLaneBlock);

  int64_t nsplit = 1;
  if (items < kEnoughItems && L.nr >= 1) {
    nsplit = std::min(ceilDiv(itemWork, kSplitElems), L.rs[0]);
    nsplit = std::min(nsplit, std::max<int64_t>(1, kMaxPartials / L.numOut));
    nsplit = std::max<int64_t>(nsplit, 1);
  }
  std::vector<A> partial;
  A* dst = res.data();
  if (nsplit > 1) {
    partial.assign(static_cast<size_t>(nsplit * L.numOut), op.init());
    dst = partial.data();
  }
  const int64_t R0 = L.nr >= 1 ? L.rs[0] : 1;
  const int64_t tasks = nsplit * items;
  const int64_t grain = grainFor(itemWork / nsplit);

  if (!lane) {
    parallelFor(0, tasks, grain, [&](int64_t b, int64_t e) {
      int64_t t = b;
      while (t < e) {
        const int64_t s = t / items;
        const int64_t r0 = R0 * s / nsplit, r1 = R0 * (s + 1) / nsplit;
        const int64_t oEnd = std::min(e - s * items, items);
        Walker w(L.nk, L.ks, L.kst, t % items);
        for (int64_t o = t % items; o < oEnd; ++o, ++t, w.next()) {
          A acc = op.init();
          const double c = Op::kCtx ? ctx[o] : 0.0;
          forEachLine(x + w.offset, L, r0, r1,
                      [&](const T* p, int64_t n, int64_t st) { runLine(op, acc, p, n, st, c); });
          dst[s * L.numOut + o] = acc;
        }
      }
    });
  } else {
    const int64_t ls = L.kst[L.nk - 1];
    parallelFor(0, tasks, grain, [&](int64_t b, int64_t e) {
      A acc[kLaneBlock];
      for (int64_t t = b; t < e; ++t) {
        const int64_t s = t / items, it = t % items;
        const int64_t r0 = R0 * s / nsplit, r1 = R0 * (s + 1) / nsplit;
        const int64_t g = it / laneBlocks, j0 = (it % laneBlocks) * kLaneBlock;
        const int64_t bw = std::min(W - j0, kLaneBlock);
        const Walker w(L.nk - 1, L.ks, L.kst, g);
        const int64_t o0 = g * W + j0;
        const double* c = Op::kCtx ? ctx + o0 : nullptr;
        for (int64_t j = 0; j < bw; ++j) acc[j] = op.init();
        forEachLine(x + w.offset + j0 * ls, L, r0, r1, [&](const T* p, int64_t n, int64_t st) {
          for (int64_t i = 0; i < n; ++i) {
            const T* q = p + i * st;
            if (ls == 1) {
              for (int64_t j = 0; j < bw; ++j) op.step(acc[j], q[j], Op::kCtx ? c[j] : 0.0);
            } else {
              for (int64_t j = 0; j < bw; ++j) op.step(acc[j], q[j * ls], Op::kCtx ? c[j] : 0.0);
            }
          }
        });
        std::copy(acc, acc + bw, dst + s * L.numOut + o0);
      }
    });
  }

  if (nsplit > 1) {
    for (int64_t o = 0; o < L.numOut; ++o) {
      A a = partial[o];
      for (int64_t s = 1; s < nsplit; ++s) op.merge(a, partial[s * L.numOut + o]);
      res[o] = a;
    }
  }
  return res;
}

// Converts without UB when a caller hands an out dtype the value cannot
// take (a NaN into an integer, say).
template <typename O, typename R>
inline O convertTo(R v) {
  if constexpr (std::is_same<O, R>::value) {
    return v;
  } else if constexpr (std::is_floating_point<R>::value && std::is_integral<O>::value) {
    if (!(v == v)) return O(0);
    if (v <= static_cast<R>(std::numeric_limits<O>::lowest())) return std::numeric_limits<O>::lowest();
    if (v >= static_cast<R>(std::numeric_limits<O>::max())) return std::numeric_limits<O>::max();
    return static_cast<O>(v);
  } else {
    return static_cast<O>(v);
  }
}

// out[i] = value(i) for i < n, converted to out's dtype.
template <typename F>
void storeOut(const TensorView& out, int64_t n, F&& value) {
  if (out.dtype == DType::Bool) {
    uint8_t* o = out.ptr<uint8_t>();
    for (int64_t i = 0; i < n; ++i) o[i] = value(i) != 0 ? 1 : 0;
    return;
  }
  KD_DISPATCH_ALL(out.dtype, {
    scalar_t* o = out.ptr<scalar_t>();
    for (int64_t i = 0; i < n; ++i) o[i] = convertTo<scalar_t>(value(i));
  });
}

const char* reduceName(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Mean: return "mean";
    case ReduceOp::Prod: return "prod";
    case ReduceOp::Amax: return "amax";
    case ReduceOp::Amin: return "amin";
    case ReduceOp::Var: return "var";
    case ReduceOp::LogSumExp: return "logsumexp";
    case ReduceOp::Any: return "any";
    case ReduceOp::All: return "all";
    case ReduceOp::Norm2: return "norm";
  }
  return "reduce";
}

template <typename T>
void reduceTyped(ReduceOp op, const T* x, const Layout& L, double correction, const TensorView& out) {
  const int64_t n = L.numOut;
  const double count = static_cast<double>(L.nred);
  switch (op) {
    case ReduceOp::Sum: {
      auto r = runReduce(x, L, SumOp<T>{}, nullptr);
      if constexpr (isFloat<T>()) storeOut(out, n, [&](int64_t i) { return r[i]; });
      else storeOut(out, n, [&](int64_t i) { return static_cast<int64_t>(r[i]); });
      break;
    }
    case ReduceOp::Prod: {
      auto r = runReduce(x, L, ProdOp<T>{}, nullptr);
      if constexpr (isFloat<T>()) storeOut(out, n, [&](int64_t i) { return r[i]; });
      else storeOut(out, n, [&](int64_t i) { return static_cast<int64_t>(r[i]); });
      break;
    }
    case ReduceOp::Amax: {
      auto r = runReduce(x, L, ExtremeOp<T, true>{}, nullptr);
      storeOut(out, n, [&](int64_t i) { return r[i]; });
      break;
    }
    case ReduceOp::Amin: {
      auto r = runReduce(x, L, ExtremeOp<T, false>{}, nullptr);
      storeOut(out, n, [&](int64_t i) { return r[i]; });
      break;
    }
    case ReduceOp::Any: {
      auto r = runReduce(x, L, LogicalOp<T, true>{}, nullptr);
      storeOut(out, n, [&](int64_t i) { return r[i]; });
      break;
    }
    case ReduceOp::All: {
      auto r = runReduce(x, L, LogicalOp<T, false>{}, nullptr);
      storeOut(out, n, [&](int64_t i) { return r[i]; });
      break;
    }
    case ReduceOp::Mean: {
      auto r = runReduce(x, L, SumOp<T>{}, nullptr);
      // Divide in the input's float type, as PyTorch does (sum, then div).
      storeOut(out, n, [&](int64_t i) {
        if constexpr (std::is_same_v<T, float>)
          return static_cast<double>(static_cast<float>(r[i]) / static_cast<float>(count));
        else return static_cast<double>(r[i]) / count;
      });
      break;
    }
    case ReduceOp::Norm2: {
      auto r = runReduce(x, L, SquareOp<T, false>{}, nullptr);
      storeOut(out, n, [&](int64_t i) { return std::sqrt(r[i]); });
      break;
    }
    case ReduceOp::Var: {
      // Two passes (mean, then squared deviations) rather than sum and sum
      // of squares, which cancel badly when the mean is large.
      auto sums = runReduce(x, L, MeanSumOp<T>{}, nullptr);
      std::vector<double> mean(sums.size());
      for (size_t i = 0; i < sums.size(); ++i) mean[i] = static_cast<double>(sums[i]) / count;
      auto m2 = runReduce(x, L, SquareOp<T, true>{}, mean.data());
      // As PyTorch: the divisor stops at 0, so m2 / 0 gives NaN or inf.
      const double divisor = std::max(0.0, count - correction);
      storeOut(out, n, [&](int64_t i) { return m2[i] / divisor; });
      break;
    }
    case ReduceOp::LogSumExp: {
      if (L.nred == 0) {
        storeOut(out, n, [](int64_t) { return -std::numeric_limits<double>::infinity(); });
        break;
      }
      auto mx = runReduce(x, L, ExtremeOp<T, true>{}, nullptr);
      // An infinite max is not subtracted (inf - inf is NaN); the sum then
      // gives inf or -inf by itself, as in PyTorch.
      std::vector<double> centre(mx.size());
      for (size_t i = 0; i < mx.size(); ++i) {
        const double m = static_cast<double>(mx[i]);
        centre[i] = std::isinf(m) ? 0.0 : m;
      }
      auto s = runReduce(x, L, ExpSumOp<T>{}, centre.data());
      storeOut(out, n, [&](int64_t i) { return std::log(s[i]) + centre[i]; });
      break;
    }
  }
}

std::string shapeStr(const TensorView& v) {
  std::string s = "[";
  for (int d = 0; d < v.ndim; ++d) s += (d ? ", " : "") + std::to_string(v.shape[d]);
  return s + "]";
}

void checkOut(const char* op, const TensorView& out, int64_t expected) {
  if (out.numel() != expected)
    throw KernelError(std::string(op) + ": output has " + std::to_string(out.numel()) + " elements, expected " +
                      std::to_string(expected));
  if (!out.isContiguous()) throw KernelError(std::string(op) + ": output must be contiguous");
}

// Copies a strided view into contiguous memory of the same dtype.
template <typename T>
void toContiguous(const TensorView& src, T* dst) {
  const int64_t n = src.numel();
  if (n == 0) return;
  if (src.ndim == 0) {
    dst[0] = src.ptr<T>()[0];
    return;
  }
  const int last = src.ndim - 1;
  const int64_t w = src.shape[last], ws = src.strides[last];
  const int64_t rows = n / w;
  const T* s = src.ptr<T>();
  parallelFor(0, rows, grainFor(w), [&](int64_t b, int64_t e) {
    Walker wk(last, src.shape, src.strides, b);
    for (int64_t r = b; r < e; ++r, wk.next()) {
      const T* p = s + wk.offset;
      T* d = dst + r * w;
      for (int64_t j = 0; j < w; ++j) d[j] = p[j * ws];
    }
  });
}

// ---- arg reductions ------------------------------------------------------------

template <typename T, bool IsMax>
inline bool better(T v, T best) {
  return (IsMax ? v > best : v < best) || (isNaN(v) && !isNaN(best));
}

template <typename T, bool IsMax>
void argReduceTyped(const T* x, const Layout& L, T* values, int64_t* indices) {
  const int64_t n = L.rs[0], sd = L.rst[0];
  const int64_t numOut = L.numOut;
  const bool lane = L.nk >= 1 && absStride(L.kst[L.nk - 1]) < absStride(sd);
  if (!lane) {
    // Few outputs over a long dim: cut the dim, then take the first extreme
    // across pieces in order, which keeps the first index.
    int64_t nsplit = 1;
    if (numOut < kEnoughItems)
      nsplit = std::max<int64_t>(1, std::min(ceilDiv(n, kSplitElems), kMaxPartials / std::max<int64_t>(numOut, 1)));
    std::vector<T> pv(static_cast<size_t>(nsplit * numOut));
    std::vector<int64_t> pi(static_cast<size_t>(nsplit * numOut));
    const int64_t items = numOut;
    parallelFor(0, nsplit * items, grainFor(n / nsplit), [&](int64_t b, int64_t e) {
      int64_t t = b;
      while (t < e) {
        const int64_t s = t / items;
        const int64_t k0 = n * s / nsplit, k1 = n * (s + 1) / nsplit;
        const int64_t oEnd = std::min(e - s * items, items);
        Walker w(L.nk, L.ks, L.kst, t % items);
        for (int64_t o = t % items; o < oEnd; ++o, ++t, w.next()) {
          const T* p = x + w.offset;
          T best = p[k0 * sd];
          int64_t bi = k0;
          for (int64_t k = k0 + 1; k < k1; ++k) {
            const T v = p[k * sd];
            if (better<T, IsMax>(v, best)) {
              best = v;
              bi = k;
            }
          }
          pv[s * numOut + o] = best;
          pi[s * numOut + o] = bi;
        }
      }
    });
    for (int64_t o = 0; o < numOut; ++o) {
      T best = pv[o];
      int64_t bi = pi[o];
      for (int64_t s = 1; s < nsplit; ++s) {
        if (better<T, IsMax>(pv[s * numOut + o], best)) {
          best = pv[s * numOut + o];
          bi = pi[s * numOut + o];
        }
      }
      values[o] = best;
      indices[o] = bi;
    }
    return;
  }
  const int64_t W = L.ks[L.nk - 1], ls = L.kst[L.nk - 1];
  const int64_t laneBlocks = ceilDiv(W, kLaneBlock);
  const int64_t items = (numOut / W) * laneBlocks;
  parallelFor(0, items, grainFor(n * std::min(W, kLaneBlock)), [&](int64_t b, int64_t e) {
    for (int64_t it = b; it < e; ++it) {
      const int64_t g = it / laneBlocks, j0 = (it % laneBlocks) * kLaneBlock;
      const int64_t bw = std::min(W - j0, kLaneBlock);
      const Walker w(L.nk - 1, L.ks, L.kst, g);
      const T* base = x + w.offset + j0 * ls;
      T* bv = values + g * W + j0;
      int64_t* bi = indices + g * W + j0;
      for (int64_t j = 0; j < bw; ++j) {
        bv[j] = base[j * ls];
        bi[j] = 0;
      }
      for (int64_t k = 1; k < n; ++k) {
        const T* q = base + k * sd;
        for (int64_t j = 0; j < bw; ++j) {
          const T v = q[j * ls];
          if (better<T, IsMax>(v, bv[j])) {
            bv[j] = v;
            bi[j] = k;
          }
        }
      }
    }
  });
}

// ---- softmax -------------------------------------------------------------------
// Both kernels work on contiguous data seen as [outer, n, inner] with the
// softmax over n. inner == 1 walks rows; otherwise a block of up to
// kSoftLanes neighbours along inner is done together so reads stay
// contiguous. in may equal out.

constexpr int64_t kSoftLanes = 256;

// The max of a row, ignoring NaN: a NaN anywhere turns the row's sum of
// exponentials, so the whole row, into NaN anyway (as in PyTorch). GCC
// keeps a max over separate accumulators scalar (it will not turn the
// select into a vector max, which treats NaN differently), so the lanes are
// one vector of GCC's generic vector extension: 64 bytes, one AVX-512
// register, two AVX2 or four SSE ones.
template <typename T>
inline T rowMax(const T* x, int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
  int64_t i = 0;
#if defined(__GNUC__)
  constexpr int W = 64 / sizeof(T);
  if (n >= W) {
    typedef T V __attribute__((vector_size(64)));
    V mv;
    std::memcpy(&mv, x, sizeof mv);
    for (i = W; i + W <= n; i += W) {
      V v;
      std::memcpy(&v, x + i, sizeof v);
      mv = v > mv ? v : mv;
    }
    for (int k = 0; k < W; ++k) m = mv[k] > m ? mv[k] : m;
  }
#endif
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// e^x: the vectorisable float version (Note [Vectorisable float math]);
// double keeps libm's.
template <typename T>
inline T expOf(T x) {
  if constexpr (std::is_same_v<T, float>) return vec::fastExp(x);
  else return std::exp(x);
}

// e[i] = e^(x[i] - m), returning their sum. e may be x. The sum runs in
// eight double lanes, so the loop vectorises without reassociating.
template <typename T>
inline double expShiftSum(const T* x, T* __restrict e, int64_t n, T m) {
  for (int64_t i = 0; i < n; ++i) e[i] = expOf(x[i] - m);
  double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) lanes[k] += static_cast<double>(e[i + k]);
  for (; i < n; ++i) lanes[0] += static_cast<double>(e[i]);
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

// Row loops whose output may be one of their inputs, element for element.
// restrict promises the vectoriser no other overlap: each element is read
// before it is written, so the exact alias is fine, and without it GCC
// would check the pointers at run time and fall back to scalar code.
template <typename T>
inline void shiftRow(T* __restrict y, const T* x, int64_t n, T m, T lse) {
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - lse;
}
template <typename T>
inline void logSoftmaxGradRow(T* __restrict o, const T* g, const T* y, int64_t n, T st) {
  for (int64_t i = 0; i < n; ++i) o[i] = g[i] - expOf(y[i]) * st;
}
template <typename T>
inline void softmaxGradRow(T* __restrict o, const T* g, const T* y, int64_t n, T st) {
  for (int64_t i = 0; i < n; ++i) o[i] = y[i] * (g[i] - st);
}

template <typename T>
inline void lanesShift(T* __restrict y, const T* x, const T* m, const T* f, int64_t n) {
  for (int64_t j = 0; j < n; ++j) y[j] = (x[j] - m[j]) - f[j];
}
template <typename T>
inline void lanesLogSoftmaxGrad(T* __restrict o, const T* g, const T* y, const T* st, int64_t n) {
  for (int64_t j = 0; j < n; ++j) o[j] = g[j] - expOf(y[j]) * st[j];
}
template <typename T>
inline void lanesSoftmaxGrad(T* __restrict o, const T* g, const T* y, const T* st, int64_t n) {
  for (int64_t j = 0; j < n; ++j) o[j] = y[j] * (g[j] - st[j]);
}

// Terms of a log-softmax row go through this stack buffer, since the
// output may be the input and must keep x until the row's sum is known.
constexpr int64_t kExpChunk = 1024;

// Each row's loops are compute-bound (exp), so they run in the widest
// SIMD copy (Note [Wide SIMD loops]).
template <typename T>
void softmaxRows(const T* in, T* out, int64_t outer, int64_t n, bool log) {
  parallelFor(0, outer, grainFor(n * 8), [&](int64_t b, int64_t e) {
    vec::withWideSimd([&] {
      T buf[kExpChunk];
      for (int64_t r = b; r < e; ++r) {
        const T* x = in + r * n;
        T* y = out + r * n;
        const T m = rowMax(x, n);
        double s = 0.0;
        if (log) {
          for (int64_t i0 = 0; i0 < n; i0 += kExpChunk) s += expShiftSum(x + i0, buf, std::min(kExpChunk, n - i0), m);
          const T lse = static_cast<T>(std::log(s));
          shiftRow(y, x, n, m, lse);
        } else {
          s = expShiftSum(x, y, n, m);
          const T inv = static_cast<T>(1.0 / s);
          for (int64_t i = 0; i < n; ++i) y[i] *= inv;
        }
      }
    });
  });
}

template <typename T>
void softmaxLanes(const T* in, T* out, int64_t outer, int64_t n, int64_t inner, bool log) {
  const int64_t blocks = ceilDiv(inner, kSoftLanes);
  parallelFor(0, outer * blocks, grainFor(n * std::min(inner, kSoftLanes) * 8), [&](int64_t b, int64_t e) {
    vec::withWideSimd([&] {
      T m[kSoftLanes], f[kSoftLanes];
      double s[kSoftLanes];
      for (int64_t it = b; it < e; ++it) {
        const int64_t o = it / blocks, j0 = (it % blocks) * kSoftLanes;
        const int64_t bw = std::min(inner - j0, kSoftLanes);
        const T* x = in + o * n * inner + j0;
        T* y = out + o * n * inner + j0;
        for (int64_t j = 0; j < bw; ++j) {
          m[j] = -std::numeric_limits<T>::infinity();
          s[j] = 0.0;
        }
        for (int64_t k = 0; k < n; ++k) {
          const T* xk = x + k * inner;
          for (int64_t j = 0; j < bw; ++j) m[j] = xk[j] > m[j] ? xk[j] : m[j];
        }
        for (int64_t k = 0; k < n; ++k) {
          const T* xk = x + k * inner;
          T* yk = y + k * inner;
          if (log) {
            for (int64_t j = 0; j < bw; ++j) s[j] += static_cast<double>(expOf(xk[j] - m[j]));
          } else {
            for (int64_t j = 0; j < bw; ++j) {
              const T v = expOf(xk[j] - m[j]);
              yk[j] = v;
              s[j] += static_cast<double>(v);
            }
          }
        }
        for (int64_t j = 0; j < bw; ++j) f[j] = static_cast<T>(log ? std::log(s[j]) : 1.0 / s[j]);
        for (int64_t k = 0; k < n; ++k) {
          const T* xk = x + k * inner;
          T* yk = y + k * inner;
          if (log) {
            lanesShift(yk, xk, m, f, bw);
          } else {
            for (int64_t j = 0; j < bw; ++j) yk[j] *= f[j];
          }
        }
      }
    });
  });
}

// sum of a[i] * b[i] (b null: of a[i]) in eight double lanes.
template <typename T>
inline double dotLanes(const T* a, const T* b, int64_t n) {
  double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  if (b) {
    for (; i + 8 <= n; i += 8)
      for (int k = 0; k < 8; ++k) lanes[k] += static_cast<double>(a[i + k]) * static_cast<double>(b[i + k]);
    for (; i < n; ++i) lanes[0] += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  } else {
    for (; i + 8 <= n; i += 8)
      for (int k = 0; k < 8; ++k) lanes[k] += static_cast<double>(a[i + k]);
    for (; i < n; ++i) lanes[0] += static_cast<double>(a[i]);
  }
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

// softmax: gx = y * (gy - sum(gy * y)); log_softmax: gx = gy - exp(y) * sum(gy).
// gx may be y or gy.
template <typename T>
void softmaxBackwardRows(const T* y, const T* gy, T* gx, int64_t outer, int64_t n, bool log) {
  parallelFor(0, outer, grainFor(n * 4), [&](int64_t b, int64_t e) {
    vec::withWideSimd([&] {
      for (int64_t r = b; r < e; ++r) {
        const T* yr = y + r * n;
        const T* gr = gy + r * n;
        T* outr = gx + r * n;
        if (log) logSoftmaxGradRow(outr, gr, yr, n, static_cast<T>(dotLanes<T>(gr, nullptr, n)));
        else softmaxGradRow(outr, gr, yr, n, static_cast<T>(dotLanes<T>(gr, yr, n)));
      }
    });
  });
}

template <typename T>
void softmaxBackwardLanes(const T* y, const T* gy, T* gx, int64_t outer, int64_t n, int64_t inner, bool log) {
  const int64_t blocks = ceilDiv(inner, kSoftLanes);
  parallelFor(0, outer * blocks, grainFor(n * std::min(inner, kSoftLanes) * 4), [&](int64_t b, int64_t e) {
    vec::withWideSimd([&] {
      double s[kSoftLanes];
      T st[kSoftLanes];
      for (int64_t it = b; it < e; ++it) {
        const int64_t o = it / blocks, j0 = (it % blocks) * kSoftLanes;
        const int64_t bw = std::min(inner - j0, kSoftLanes);
        const int64_t base = o * n * inner + j0;
        for (int64_t j = 0; j < bw; ++j) s[j] = 0.0;
        for (int64_t k = 0; k < n; ++k) {
          const T* yk = y + base + k * inner;
          const T* gk = gy + base + k * inner;
          if (log) {
            for (int64_t j = 0; j < bw; ++j) s[j] += static_cast<double>(gk[j]);
          } else {
            for (int64_t j = 0; j < bw; ++j) s[j] += static_cast<double>(gk[j]) * static_cast<double>(yk[j]);
          }
        }
        for (int64_t j = 0; j < bw; ++j) st[j] = static_cast<T>(s[j]);
        for (int64_t k = 0; k < n; ++k) {
          const T* yk = y + base + k * inner;
          const T* gk = gy + base + k * inner;
          T* ok = gx + base + k * inner;
          if (log) lanesLogSoftmaxGrad(ok, gk, yk, st, bw);
          else lanesSoftmaxGrad(ok, gk, yk, st, bw);
        }
      }
    });
  });
}

void checkSoftmaxArgs(const char* op, const TensorView& a, const TensorView& out, int dim) {
  if (dim < 0 || dim >= a.ndim) throw KernelError(std::string(op) + ": dim " + std::to_string(dim) + " out of range");
  if (a.dtype != out.dtype)
    throw KernelError(std::string(op) + ": output dtype " + dtypeName(out.dtype) + " differs from input dtype " +
                      dtypeName(a.dtype));
  bool same = a.ndim == out.ndim;
  for (int d = 0; same && d < a.ndim; ++d) same = a.shape[d] == out.shape[d];
  if (!same)
    throw KernelError(std::string(op) + ": output shape " + shapeStr(out) + " differs from input shape " + shapeStr(a));
  if (!out.isContiguous()) throw KernelError(std::string(op) + ": output must be contiguous");
}

void splitAround(const TensorView& v, int dim, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = 1;
  inner = 1;
  for (int d = 0; d < dim; ++d) outer *= v.shape[d];
  for (int d = dim + 1; d < v.ndim; ++d) inner *= v.shape[d];
  n = v.shape[dim];
}

}  // namespace

void reduce(ReduceOp op, const TensorView& x, const std::vector<bool>& reduceDims, double correction,
            const TensorView& out) {
  const char* name = reduceName(op);
  if (static_cast<int>(reduceDims.size()) != x.ndim)
    throw KernelError(std::string("reduce: dim mask has ") + std::to_string(reduceDims.size()) + " entries for a " +
                      std::to_string(x.ndim) + "-d input");
  const bool floatOnly =
      op == ReduceOp::Mean || op == ReduceOp::Var || op == ReduceOp::LogSumExp || op == ReduceOp::Norm2;
  if (floatOnly && !isFloatDtype(x.dtype))
    throw KernelError(std::string("reduce: ") + name + " needs a floating dtype, got " + dtypeName(x.dtype));
  const Layout L = makeLayout(x, reduceDims);
  checkOut(name, out, L.numOut);
  if ((op == ReduceOp::Amax || op == ReduceOp::Amin) && L.nred == 0)
    throw KernelError(std::string(name) + ": cannot reduce over an empty dim");
  if (L.numOut == 0) return;
  KD_DISPATCH_ALL(x.dtype, reduceTyped<scalar_t>(op, x.ptr<scalar_t>(), L, correction, out));
}

void argReduce(bool isMax, const TensorView& x, int dim, const TensorView& values, const TensorView& indices) {
  const char* name = isMax ? "max" : "min";
  if (dim < 0 || dim >= x.ndim) throw KernelError(std::string(name) + ": dim " + std::to_string(dim) + " out of range");
  if (values.dtype != x.dtype)
    throw KernelError(std::string(name) + ": values dtype " + dtypeName(values.dtype) + " differs from input dtype " +
                      dtypeName(x.dtype));
  if (indices.dtype != DType::Int64) throw KernelError(std::string(name) + ": indices must be int64");
  std::vector<bool> mask(static_cast<size_t>(x.ndim), false);
  mask[dim] = true;
  const Layout L = makeLayout(x, mask, true);
  checkOut(name, values, L.numOut);
  checkOut(name, indices, L.numOut);
  if (x.shape[dim] == 0)
    throw KernelError(std::string(name) + ": cannot reduce over an empty dim (dim " + std::to_string(dim) + " of " +
                      shapeStr(x) + ")");
  if (L.numOut == 0) return;
  KD_DISPATCH_ALL(x.dtype, {
    if (isMax) argReduceTyped<scalar_t, true>(x.ptr<scalar_t>(), L, values.ptr<scalar_t>(), indices.ptr<int64_t>());
    else argReduceTyped<scalar_t, false>(x.ptr<scalar_t>(), L, values.ptr<scalar_t>(), indices.ptr<int64_t>());
  });
}

void softmax(const TensorView& x, int dim, bool log, const TensorView& out) {
  checkSoftmaxArgs("softmax", x, out, dim);
  if (x.numel() == 0) return;
  int64_t outer, n, inner;
  splitAround(x, dim, outer, n, inner);
  KD_DISPATCH_FLOAT(x.dtype, "softmax", {
    scalar_t* o = out.ptr<scalar_t>();
    const scalar_t* src = x.ptr<scalar_t>();
    // A strided input is first copied into out; the kernels work in place.
    if (!x.isContiguous()) {
      toContiguous(x, o);
      src = o;
    }
    if (inner == 1) softmaxRows(src, o, outer, n, log);
    else softmaxLanes(src, o, outer, n, inner, log);
  });
}

void softmaxBackward(const TensorView& y, const TensorView& gy, int dim, bool log, const TensorView& out) {
  checkSoftmaxArgs("softmaxBackward", y, out, dim);
  checkSoftmaxArgs("softmaxBackward", gy, out, dim);
  if (y.numel() == 0) return;
  int64_t outer, n, inner;
  splitAround(y, dim, outer, n, inner);
  KD_DISPATCH_FLOAT(y.dtype, "softmaxBackward", {
    scalar_t* o = out.ptr<scalar_t>();
    const scalar_t* yp = y.ptr<scalar_t>();
    const scalar_t* gp = gy.ptr<scalar_t>();
    // Strided inputs (gy is often an expanded scalar) are made contiguous:
    // one into out (the kernels allow out to alias an input), the other,
    // if both are strided, into a temporary.
    std::vector<scalar_t> tmp;
    if (!gy.isContiguous()) {
      toContiguous(gy, o);
      gp = o;
    }
    if (!y.isContiguous()) {
      if (gp == o) {
        tmp.resize(static_cast<size_t>(y.numel()));
        toContiguous(y, tmp.data());
        yp = tmp.data();
      } else {
        toContiguous(y, o);
        yp = o;
      }
    }
    if (inner == 1) softmaxBackwardRows(yp, gp, o, outer, n, log);
    else softmaxBackwardLanes(yp, gp, o, outer, n, inner, log);
  });
}

}  // namespace kd

// ---- sort and scans along one dim ----------------------------------------------------
// Both walk "rows": the elements of x along dim for one index of the other
// dims. Rows are independent, so they run in parallel, one row per
// iteration; the results do not depend on the thread count.
namespace kd {

namespace {

// Element offset of row r (row-major over the dims other than dim) in v.
int64_t rowOffset(const TensorView& v, int dim, int64_t r) {
  int64_t off = 0;
  for (int d = v.ndim - 1; d >= 0; --d) {
    if (d == dim) continue;
    off += (r % v.shape[d]) * v.strides[d];
    r /= v.shape[d];
  }
  return off;
}

template <typename T>
inline bool nanOf(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  else return false;
}

// NaN sorts as the largest value, as in PyTorch.
template <typename T>
inline bool lessNaNLargest(T a, T b) {
  return a < b || (nanOf(b) && !nanOf(a));
}

template <typename T>
void sortTyped(const TensorView& x, int dim, bool descending, const TensorView& values, const TensorView& indices) {
  const int64_t n = x.shape[dim];
  const int64_t rows = n == 0 ? 0 : x.numel() / n;
  const int64_t sx = x.strides[dim], sv = values.strides[dim], si = indices.strides[dim];
  const T* xp = x.ptr<T>();
  T* vp = values.ptr<T>();
  int64_t* ip = indices.ptr<int64_t>();
  parallelFor(0, rows, std::max<int64_t>(1, kGrainElems / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
    std::vector<T> vals(static_cast<size_t>(n));
    std::vector<int64_t> idx(static_cast<size_t>(n));
    for (int64_t r = b; r < e; ++r) {
      const T* row = xp + rowOffset(x, dim, r);
      for (int64_t k = 0; k < n; ++k) {
        vals[k] = row[k * sx];
        idx[k] = k;
      }
      // Always stable: PyTorch's CPU sort is, stable=True or not, and
      // equal keys then keep their order in both directions.
      if (descending)
        std::stable_sort(idx.begin(), idx.end(),
                         [&](int64_t a, int64_t c) { return lessNaNLargest(vals[c], vals[a]); });
      else
        std::stable_sort(idx.begin(), idx.end(),
                         [&](int64_t a, int64_t c) { return lessNaNLargest(vals[a], vals[c]); });
      T* vo = vp + rowOffset(values, dim, r);
      int64_t* io = ip + rowOffset(indices, dim, r);
      for (int64_t k = 0; k < n; ++k) {
        vo[k * sv] = vals[idx[k]];
        io[k * si] = idx[k];
      }
    }
  });
}

// Running sums and products accumulate in double (int64 for integers), as
// PyTorch's CPU scans do, and round each output to the output's dtype.
template <typename T>
using ScanAcc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <typename T>
void scanTyped(ScanOp op, const TensorView& x, int dim, const TensorView& out, const TensorView& indices) {
  const int64_t n = x.shape[dim];
  const int64_t rows = n == 0 ? 0 : x.numel() / n;
  const int64_t sx = x.strides[dim], so = out.strides[dim];
  const int64_t si = indices.data ? indices.strides[dim] : 0;
  const T* xp = x.ptr<T>();
  T* op_ = out.ptr<T>();
  int64_t* ip = indices.data ? indices.ptr<int64_t>() : nullptr;
  parallelFor(0, rows, std::max<int64_t>(1, kGrainElems / std::max<int64_t>(n, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* row = xp + rowOffset(x, dim, r);
      T* o = op_ + rowOffset(out, dim, r);
      switch (op) {
        case ScanOp::Cumsum: {
          ScanAcc<T> acc = 0;
          for (int64_t k = 0; k < n; ++k) o[k * so] = static_cast<T>(acc += static_cast<ScanAcc<T>>(row[k * sx]));
          break;
        }
        case ScanOp::Cumprod: {
          ScanAcc<T> acc = 1;
          for (int64_t k = 0; k < n; ++k) o[k * so] = static_cast<T>(acc *= static_cast<ScanAcc<T>>(row[k * sx]));
          break;
        }
        case ScanOp::Cummax:
        case ScanOp::Cummin: {
          // A later equal value takes the index, and a NaN sticks, as in PyTorch.
          int64_t* io = ip + rowOffset(indices, dim, r);
          const bool isMax = op == ScanOp::Cummax;
          T best = row[0];
          int64_t bi = 0;
          for (int64_t k = 0; k < n; ++k) {
            const T v = row[k * sx];
            if (!nanOf(best) && (nanOf(v) || (isMax ? v >= best : v <= best))) {
              best = v;
              bi = k;
            }
            o[k * so] = best;
            io[k * si] = bi;
          }
          break;
        }
        case ScanOp::LogCumSumExp: {
          if constexpr (std::is_floating_point_v<T>) {
            double acc = -std::numeric_limits<double>::infinity();
            for (int64_t k = 0; k < n; ++k) {
              const double v = static_cast<double>(row[k * sx]);
              const double hi = std::max(acc, v), lo = std::min(acc, v);
              // log(e^a + e^b) from the larger term; -inf + -inf and NaN pass through.
              if (std::isnan(v) || std::isnan(acc)) acc = std::numeric_limits<double>::quiet_NaN();
              else if (hi == -std::numeric_limits<double>::infinity()) acc = hi;
              else if (hi == std::numeric_limits<double>::infinity()) acc = hi;
              else acc = hi + std::log1p(std::exp(lo - hi));
              o[k * so] = static_cast<T>(acc);
            }
          } else {
            throw KernelError("logcumsumexp: expected a floating dtype");
          }
          break;
        }
      }
    }
  });
}

}  // namespace

void sortDim(const TensorView& x, int dim, bool descending, const TensorView& values, const TensorView& indices) {
  KD_DISPATCH_ALL(x.dtype, sortTyped<scalar_t>(x, dim, descending, values, indices));
}

void scanDim(ScanOp op, const TensorView& x, int dim, const TensorView& out, const TensorView& indices) {
  if ((op == ScanOp::Cummax || op == ScanOp::Cummin) && indices.data == nullptr && x.numel() > 0)
    throw KernelError("scan: cummax/cummin need an indices tensor");
  KD_DISPATCH_ALL(x.dtype, scanTyped<scalar_t>(op, x, dim, out, indices));
}

}  // namespace kd
