// Standalone test of the reduction, indexing and random kernels.
//
//   g++ -std=c++17 -O2 -Wall -Wextra -pthread -I native/cpu
//       native/tests/test_reduce_index_random.cc native/cpu/reduce.cc
//       native/cpu/index.cc native/cpu/random.cc native/cpu/parallel.cc
//   ./a.out
//
// Without parallel.cc, add -DKD_TEST_SERIAL_PARALLEL for a stand-in pool.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kernels.h"
#include "parallel.h"

#ifdef KD_TEST_SERIAL_PARALLEL
// A stand-in for parallel.cc: real threads over a few chunks, so races and
// chunk-order dependence still show up.
namespace kd {
static int gTestThreads = 4;
void setNumThreads(int n) { gTestThreads = n; }
int getNumThreads() { return gTestThreads; }
void parallelFor(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  const int64_t chunks =
      std::min<int64_t>(gTestThreads, (n + std::max<int64_t>(grain, 1) - 1) / std::max<int64_t>(grain, 1));
  if (chunks <= 1) {
    fn(begin, end);
    return;
  }
  std::vector<std::thread> ts;
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = begin + n * c / chunks, e = begin + n * (c + 1) / chunks;
    ts.emplace_back([&fn, b, e] { fn(b, e); });
  }
  for (auto& t : ts) t.join();
}
}  // namespace kd
#endif

using namespace kd;

static int gChecks = 0;
#define CHECK(cond)                                                                 \
  do {                                                                              \
    ++gChecks;                                                                      \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::exit(1);                                                                 \
    }                                                                               \
  } while (0)
#define CHECK_NEAR(a, b, tol)                                                                                       \
  do {                                                                                                              \
    ++gChecks;                                                                                                      \
    const double a_ = (a), b_ = (b);                                                                                \
    if (!(std::fabs(a_ - b_) <= (tol) || (std::isnan(a_) && std::isnan(b_)) || (a_ == b_))) {                       \
      std::fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.10g vs %s = %.10g (tol %g)\n", __FILE__, __LINE__, #a, \
                   a_, #b, b_, double(tol));                                                                        \
      std::exit(1);                                                                                                 \
    }                                                                                                               \
  } while (0)

// Runs f, expects a KernelError whose message contains `needle`.
template <typename F>
static void expectThrow(F&& f, const std::string& needle) {
  ++gChecks;
  try {
    f();
  } catch (const KernelError& e) {
    if (std::string(e.what()).find(needle) == std::string::npos) {
      std::fprintf(stderr, "wrong message: '%s' lacks '%s'\n", e.what(), needle.c_str());
      std::exit(1);
    }
    return;
  }
  std::fprintf(stderr, "expected a KernelError containing '%s'\n", needle.c_str());
  std::exit(1);
}

template <typename T>
DType dtypeOf();
template <>
DType dtypeOf<float>() {
  return DType::Float32;
}
template <>
DType dtypeOf<double>() {
  return DType::Float64;
}
template <>
DType dtypeOf<int32_t>() {
  return DType::Int32;
}
template <>
DType dtypeOf<int64_t>() {
  return DType::Int64;
}
template <>
DType dtypeOf<uint8_t>() {
  return DType::UInt8;
}

static TensorView view(void* data, DType d, std::vector<int64_t> shape, std::vector<int64_t> strides = {}) {
  TensorView v;
  v.data = data;
  v.dtype = d;
  v.ndim = static_cast<int>(shape.size());
  int64_t s = 1;
  for (int i = v.ndim - 1; i >= 0; --i) {
    v.shape[i] = shape[i];
    v.strides[i] = strides.empty() ? s : strides[i];
    s *= shape[i];
  }
  return v;
}
template <typename T>
static TensorView view(std::vector<T>& buf, std::vector<int64_t> shape, std::vector<int64_t> strides = {}) {
  return view(buf.data(), dtypeOf<T>(), shape, strides);
}

static TensorView permute(TensorView v, std::vector<int> order) {
  TensorView r = v;
  for (int i = 0; i < v.ndim; ++i) {
    r.shape[i] = v.shape[order[i]];
    r.strides[i] = v.strides[order[i]];
  }
  return r;
}

static uint64_t gLcg = 12345;
static double rnd() {
  gLcg = gLcg * 6364136223846793005ULL + 1442695040888963407ULL;
  return static_cast<double>(gLcg >> 11) * 0x1p-53;
}

// Element of a view at a row-major flat index, as double.
template <typename T>
static T at(const TensorView& v, int64_t flat) {
  int64_t off = 0;
  for (int d = v.ndim - 1; d >= 0; --d) {
    off += (flat % v.shape[d]) * v.strides[d];
    flat /= v.shape[d];
  }
  return v.ptr<T>()[off];
}

// ---- reductions ------------------------------------------------------------------

// Values of x grouped by output position (keepdim, row-major).
template <typename T>
static std::vector<std::vector<T>> groupsOf(const TensorView& x, const std::vector<bool>& mask) {
  int64_t numOut = 1;
  for (int d = 0; d < x.ndim; ++d)
    if (!mask[d]) numOut *= x.shape[d];
  std::vector<std::vector<T>> g(static_cast<size_t>(numOut));
  const int64_t n = x.numel();
  for (int64_t f = 0; f < n; ++f) {
    int64_t rem = f, o = 0, mul = 1;
    for (int d = x.ndim - 1; d >= 0; --d) {
      const int64_t c = rem % x.shape[d];
      rem /= x.shape[d];
      if (!mask[d]) {
        o += c * mul;
        mul *= x.shape[d];
      }
    }
    g[o].push_back(at<T>(x, f));
  }
  return g;
}

static double refFloat(ReduceOp op, const std::vector<double>& v, double corr) {
  const double n = static_cast<double>(v.size());
  double s = 0, p = 1, mx = -INFINITY, mn = INFINITY, sq = 0;
  bool anyNan = false, any = false, all = true;
  for (double x : v) {
    s += x;
    p *= x;
    sq += x * x;
    mx = std::max(mx, x);
    mn = std::min(mn, x);
    anyNan |= std::isnan(x);
    any |= x != 0;
    all &= x != 0;
  }
  switch (op) {
    case ReduceOp::Sum: return s;
    case ReduceOp::Mean: return s / n;
    case ReduceOp::Prod: return p;
    case ReduceOp::Amax: return anyNan ? NAN : mx;
    case ReduceOp::Amin: return anyNan ? NAN : mn;
    case ReduceOp::Var: {
      const double m = s / n;
      double m2 = 0;
      for (double x : v) m2 += (x - m) * (x - m);
      return m2 / std::max(0.0, n - corr);
    }
    case ReduceOp::LogSumExp: {
      double e = 0;
      for (double x : v) e += std::exp(x - mx);
      return mx + std::log(e);
    }
    case ReduceOp::Any: return any;
    case ReduceOp::All: return all;
    case ReduceOp::Norm2: return std::sqrt(sq);
  }
  return 0;
}

static const ReduceOp kAllOps[] = {ReduceOp::Sum, ReduceOp::Mean,      ReduceOp::Prod, ReduceOp::Amax, ReduceOp::Amin,
                                   ReduceOp::Var, ReduceOp::LogSumExp, ReduceOp::Any,  ReduceOp::All,  ReduceOp::Norm2};

// Every op over every dim mask of x, against refFloat.
template <typename T>
static void checkAllReductions(const TensorView& x, double tol) {
  const int nd = x.ndim;
  for (int m = 0; m < (1 << nd); ++m) {
    std::vector<bool> mask(nd);
    for (int d = 0; d < nd; ++d) mask[d] = (m >> d) & 1;
    auto groups = groupsOf<T>(x, mask);
    std::vector<int64_t> oshape;
    for (int d = 0; d < nd; ++d) oshape.push_back(mask[d] ? 1 : x.shape[d]);
    for (ReduceOp op : kAllOps) {
      std::vector<T> out(groups.size());
      std::vector<uint8_t> outB(groups.size());
      const bool logical = op == ReduceOp::Any || op == ReduceOp::All;
      TensorView ov = logical ? view(outB.data(), DType::Bool, oshape) : view(out, oshape);
      reduce(op, x, mask, 1.0, ov);
      for (size_t o = 0; o < groups.size(); ++o) {
        std::vector<double> vals(groups[o].begin(), groups[o].end());
        const double want = refFloat(op, vals, 1.0);
        const double got = logical ? outB[o] : static_cast<double>(out[o]);
        CHECK_NEAR(got, want, tol * std::max(1.0, std::fabs(want)));
      }
    }
  }
}

static void testReductionsAgainstReference() {
  // [3, 4, 5] float64 and float32 through several layouts of one buffer.
  std::vector<double> bd(3 * 4 * 5 * 2);
  for (auto& v : bd) v = 0.5 + rnd();
  std::vector<float> bf(bd.begin(), bd.end());
  // contiguous
  checkAllReductions<double>(view(bd, {3, 4, 5}), 1e-12);
  checkAllReductions<float>(view(bf, {3, 4, 5}), 2e-6);
  // permuted: shape [5, 3, 4] over the same memory
  checkAllReductions<double>(permute(view(bd, {3, 4, 5}), {2, 0, 1}), 1e-12);
  checkAllReductions<float>(permute(view(bf, {3, 4, 5}), {2, 0, 1}), 2e-6);
  // every other element: strides doubled
  checkAllReductions<double>(view(bd, {3, 4, 5}, {40, 10, 2}), 1e-12);
  // negative stride along dim 1 (a flip)
  checkAllReductions<double>(view(bd.data() + 15, DType::Float64, {3, 4, 5}, {20, -5, 1}), 1e-12);
  // broadcast dim (stride 0)
  checkAllReductions<double>(view(bd, {3, 6, 5}, {5, 0, 1}), 1e-12);
  // 0-d input
  checkAllReductions<double>(view(bd, {}), 1e-12);
}

static void testIntReductions() {
  std::vector<int32_t> x(3 * 5);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<int32_t>(i % 7) - 3;  // has zeros
  TensorView xv = view(x, {3, 5});
  std::vector<int64_t> out(5);
  std::vector<int32_t> out32(5);
  // sum over dim 0 into int64
  reduce(ReduceOp::Sum, xv, {true, false}, 0, view(out, {1, 5}));
  for (int j = 0; j < 5; ++j) CHECK(out[j] == int64_t(x[j]) + x[5 + j] + x[10 + j]);
  reduce(ReduceOp::Prod, xv, {true, false}, 0, view(out, {1, 5}));
  for (int j = 0; j < 5; ++j) CHECK(out[j] == int64_t(x[j]) * x[5 + j] * x[10 + j]);
  reduce(ReduceOp::Amax, xv, {true, false}, 0, view(out32, {1, 5}));
  for (int j = 0; j < 5; ++j) CHECK(out32[j] == std::max({x[j], x[5 + j], x[10 + j]}));
  reduce(ReduceOp::Amin, permute(xv, {1, 0}), {false, true}, 0, view(out32, {5, 1}));
  for (int j = 0; j < 5; ++j) CHECK(out32[j] == std::min({x[j], x[5 + j], x[10 + j]}));
  std::vector<uint8_t> ob(3);
  reduce(ReduceOp::Any, xv, {false, true}, 0, view(ob.data(), DType::Bool, {3, 1}));
  CHECK(ob[0] == 1 && ob[1] == 1 && ob[2] == 1);
  reduce(ReduceOp::All, xv, {false, true}, 0, view(ob.data(), DType::Bool, {3, 1}));
  CHECK(ob[0] == 0 && ob[1] == 1 && ob[2] == 0);  // only row 1 (2 3 -3 -2 -1) has no zero
  // int64 sums do not lose bits to double
  std::vector<int64_t> big = {int64_t(1) << 60, 1, 1};
  std::vector<int64_t> s1(1);
  reduce(ReduceOp::Sum, view(big, {3}), {true}, 0, view(s1, {}));
  CHECK(s1[0] == (int64_t(1) << 60) + 2);
  // bool sums count
  std::vector<uint8_t> bools = {1, 0, 1, 1, 0, 1};
  reduce(ReduceOp::Sum, view(bools.data(), DType::Bool, {6}), {true}, 0, view(s1, {}));
  CHECK(s1[0] == 4);
  // uint8 sum does not wrap at 256
  std::vector<uint8_t> u8(300, 200);
  reduce(ReduceOp::Sum, view(u8, {300}), {true}, 0, view(s1, {}));
  CHECK(s1[0] == 60000);
  // float-only ops refuse ints
  std::vector<double> od(1);
  expectThrow(
      [&] {
        reduce(ReduceOp::Mean, xv, {true, true}, 0, view(od, {}));
      },
      "reduce: mean needs a floating dtype");
  expectThrow([&] { reduce(ReduceOp::Var, xv, {true, true}, 1, view(od, {})); }, "var needs a floating dtype");
}

static void testVarAndEmpty() {
  std::vector<double> x = {1, 2, 3, 4};
  std::vector<double> o(1);
  reduce(ReduceOp::Var, view(x, {4}), {true}, 1, view(o, {1}));
  CHECK_NEAR(o[0], 5.0 / 3.0, 1e-15);
  reduce(ReduceOp::Var, view(x, {4}), {true}, 0, view(o, {1}));
  CHECK_NEAR(o[0], 1.25, 1e-15);
  reduce(ReduceOp::Var, view(x, {1}), {true}, 1, view(o, {1}));
  CHECK(std::isnan(o[0]));  // n = 1, unbiased: 0 / 0
  reduce(ReduceOp::Var, view(x, {2}), {true}, 3, view(o, {1}));
  CHECK(std::isinf(o[0]));  // divisor clamps at 0, m2 > 0
  // large offset: two-pass var keeps precision
  std::vector<float> xf = {1e4f + 1, 1e4f + 2, 1e4f + 3, 1e4f + 4};
  std::vector<float> of(1);
  reduce(ReduceOp::Var, view(xf, {4}), {true}, 1, view(of, {1}));
  CHECK_NEAR(of[0], 5.0 / 3.0, 1e-6);

  // empty reductions: x is [2, 0]
  std::vector<double> e(1);
  TensorView ev = view(e, {2, 0});
  std::vector<double> r(2, 7.0);
  std::vector<int64_t> ri(2, 7);
  reduce(ReduceOp::Sum, ev, {false, true}, 0, view(r, {2, 1}));
  CHECK(r[0] == 0 && r[1] == 0);
  reduce(ReduceOp::Prod, ev, {false, true}, 0, view(r, {2, 1}));
  CHECK(r[0] == 1 && r[1] == 1);
  reduce(ReduceOp::Mean, ev, {false, true}, 0, view(r, {2, 1}));
  CHECK(std::isnan(r[0]) && std::isnan(r[1]));
  reduce(ReduceOp::Var, ev, {false, true}, 1, view(r, {2, 1}));
  CHECK(std::isnan(r[0]));
  reduce(ReduceOp::LogSumExp, ev, {false, true}, 0, view(r, {2, 1}));
  CHECK(std::isinf(r[0]) && r[0] < 0);
  reduce(ReduceOp::Norm2, ev, {false, true}, 0, view(r, {2, 1}));
  CHECK(r[0] == 0);
  std::vector<uint8_t> b(2, 9);
  reduce(ReduceOp::All, ev, {false, true}, 0, view(b.data(), DType::Bool, {2, 1}));
  CHECK(b[0] == 1 && b[1] == 1);
  reduce(ReduceOp::Any, ev, {false, true}, 0, view(b.data(), DType::Bool, {2, 1}));
  CHECK(b[0] == 0 && b[1] == 0);
  expectThrow(
      [&] {
        reduce(ReduceOp::Amax, ev, {false, true}, 0, view(r, {2, 1}));
      },
      "amax: cannot reduce over an empty dim");
  expectThrow(
      [&] {
        reduce(ReduceOp::Amin, ev, {true, true}, 0, view(r, {1}));
      },
      "amin: cannot reduce over an empty dim");
  // reducing over the non-empty dim of [2, 0] gives an empty output
  std::vector<double> none(1, 5.0);
  reduce(ReduceOp::Amax, ev, {true, false}, 0, view(none.data(), DType::Float64, {1, 0}));
  CHECK(none[0] == 5.0);
  // wrong output size
  expectThrow([&] { reduce(ReduceOp::Sum, view(x, {4}), {true}, 0, view(r, {2})); },
              "sum: output has 2 elements, expected 1");

  // NaN propagates through amax/amin, and inf through logsumexp
  std::vector<double> nanx = {1, NAN, 3};
  reduce(ReduceOp::Amax, view(nanx, {3}), {true}, 0, view(o, {}));
  CHECK(std::isnan(o[0]));
  reduce(ReduceOp::Amin, view(nanx, {3}), {true}, 0, view(o, {}));
  CHECK(std::isnan(o[0]));
  std::vector<double> infx = {1, INFINITY, 3};
  reduce(ReduceOp::LogSumExp, view(infx, {3}), {true}, 0, view(o, {}));
  CHECK(std::isinf(o[0]) && o[0] > 0);
  std::vector<double> ninf = {-INFINITY, -INFINITY};
  reduce(ReduceOp::LogSumExp, view(ninf, {2}), {true}, 0, view(o, {}));
  CHECK(std::isinf(o[0]) && o[0] < 0);
  std::vector<double> bigx = {1000, 1000};
  reduce(ReduceOp::LogSumExp, view(bigx, {2}), {true}, 0, view(o, {}));
  CHECK_NEAR(o[0], 1000 + std::log(2.0), 1e-12);
}

// Large shapes: the split, lane and row paths, with threads on and off.
static void testLargeReductions() {
  const int64_t R = 3001, C = 784;
  std::vector<float> x(static_cast<size_t>(R * C));
  for (auto& v : x) v = static_cast<float>(rnd() - 0.5);
  TensorView xv = view(x, {R, C});
  // column sums (bias gradient)
  std::vector<float> col(C);
  reduce(ReduceOp::Sum, xv, {true, false}, 0, view(col, {1, C}));
  for (int64_t j = 0; j < C; ++j) {
    double s = 0;
    for (int64_t i = 0; i < R; ++i) s += x[i * C + j];
    CHECK_NEAR(col[j], s, 1e-4);
  }
  // row sums
  std::vector<float> row(R);
  reduce(ReduceOp::Sum, xv, {false, true}, 0, view(row, {R, 1}));
  for (int64_t i = 0; i < R; ++i) {
    double s = 0;
    for (int64_t j = 0; j < C; ++j) s += x[i * C + j];
    CHECK_NEAR(row[i], s, 1e-4);
  }
  // column sums of the transposed view: a row-sum layout seen as dim 1
  std::vector<float> colT(C);
  reduce(ReduceOp::Sum, permute(xv, {1, 0}), {false, true}, 0, view(colT, {C, 1}));
  for (int64_t j = 0; j < C; ++j) CHECK_NEAR(colT[j], col[j], 1e-4);
  // full reductions, and the same bits for 1 and 4 threads
  double s = 0, sq = 0, mx = -1;
  for (float v : x) {
    s += v;
    sq += double(v) * v;
    mx = std::max(mx, double(v));
  }
  float full4 = 0, full1 = 0, norm = 0, amax = 0, mean = 0;
  setNumThreads(4);
  reduce(ReduceOp::Sum, xv, {true, true}, 0, view(&full4, DType::Float32, {}));
  setNumThreads(1);
  reduce(ReduceOp::Sum, xv, {true, true}, 0, view(&full1, DType::Float32, {}));
  setNumThreads(4);
  CHECK(std::memcmp(&full1, &full4, sizeof(float)) == 0);
  CHECK_NEAR(full4, s, 1e-3);
  reduce(ReduceOp::Norm2, xv, {true, true}, 0, view(&norm, DType::Float32, {}));
  CHECK_NEAR(norm, std::sqrt(sq), 1e-3);
  reduce(ReduceOp::Amax, xv, {true, true}, 0, view(&amax, DType::Float32, {}));
  CHECK(amax == static_cast<float>(mx));
  reduce(ReduceOp::Mean, permute(xv, {1, 0}), {true, true}, 0, view(&mean, DType::Float32, {1, 1}));
  CHECK_NEAR(mean, s / (R * C), 1e-7);
  // var over dim 0 (lane path with a per-lane centre)
  std::vector<double> xd(x.begin(), x.end());
  std::vector<double> var(C);
  reduce(ReduceOp::Var, view(xd, {R, C}), {true, false}, 1, view(var, {1, C}));
  for (int64_t j = 0; j < C; j += 97) {
    double m = 0, m2 = 0;
    for (int64_t i = 0; i < R; ++i) m += xd[i * C + j];
    m /= R;
    for (int64_t i = 0; i < R; ++i) m2 += (xd[i * C + j] - m) * (xd[i * C + j] - m);
    CHECK_NEAR(var[j], m2 / (R - 1), 1e-12);
  }
  // few outputs over many elements: [2, 1<<18] over dim 1 splits the rows
  std::vector<double> two(2);
  reduce(ReduceOp::LogSumExp, view(xd, {2, (R * C) / 2}), {false, true}, 0, view(two, {2, 1}));
  for (int r = 0; r < 2; ++r) {
    double e = 0;
    for (int64_t i = 0; i < (R * C) / 2; ++i) e += std::exp(xd[r * ((R * C) / 2) + i]);
    CHECK_NEAR(two[r], std::log(e), 1e-9);
  }
}

static void testArgReduce() {
  std::vector<double> x = {1, 3, 3, 5, 5, 2};
  TensorView xv = view(x, {2, 3});
  std::vector<double> v(3);
  std::vector<int64_t> idx(3);
  argReduce(true, xv, 1, view(v, {2, 1}), view(idx, {2, 1}));
  CHECK(idx[0] == 1 && idx[1] == 0 && v[0] == 3 && v[1] == 5);  // ties: first index
  argReduce(false, xv, 1, view(v, {2, 1}), view(idx, {2, 1}));
  CHECK(idx[0] == 0 && idx[1] == 2 && v[0] == 1 && v[1] == 2);
  argReduce(true, xv, 0, view(v, {1, 3}), view(idx, {1, 3}));
  CHECK(idx[0] == 1 && idx[1] == 1 && idx[2] == 0);
  // transposed: dim 0 of the [3, 2] view is dim 1 of x
  argReduce(true, permute(xv, {1, 0}), 0, view(v, {1, 2}), view(idx, {1, 2}));
  CHECK(idx[0] == 1 && idx[1] == 0);
  // NaN is the extreme for both, first NaN wins
  std::vector<float> n = {1, NAN, 7, NAN};
  std::vector<float> nv(1);
  argReduce(true, view(n, {4}), 0, view(nv, {}), view(idx, {}));
  CHECK(idx[0] == 1 && std::isnan(nv[0]));
  argReduce(false, view(n, {4}), 0, view(nv, {}), view(idx, {}));
  CHECK(idx[0] == 1);
  // long dim split into pieces: the first of two maxima still wins
  std::vector<int32_t> big(200000, 0);
  big[150000] = 9;
  big[50000] = 9;
  big[170000] = -4;
  big[190000] = -4;
  std::vector<int32_t> bv(1);
  argReduce(true, view(big, {200000}), 0, view(bv, {1}), view(idx, {1}));
  CHECK(idx[0] == 50000 && bv[0] == 9);
  argReduce(false, view(big, {200000}), 0, view(bv, {1}), view(idx, {1}));
  CHECK(idx[0] == 170000 && bv[0] == -4);
  // lane path: [R, C] over dim 0 against a loop
  const int R = 57, C = 1500;
  std::vector<float> m(R * C);
  for (auto& e : m) e = static_cast<float>(std::floor(rnd() * 10));  // many ties
  std::vector<float> mv(C);
  std::vector<int64_t> mi(C);
  argReduce(false, view(m, {R, C}), 0, view(mv, {1, C}), view(mi, {1, C}));
  for (int j = 0; j < C; ++j) {
    int best = 0;
    for (int i = 1; i < R; ++i)
      if (m[i * C + j] < m[best * C + j]) best = i;
    CHECK(mi[j] == best && mv[j] == m[best * C + j]);
  }
  std::vector<double> e;
  expectThrow(
      [&] {
        argReduce(true, view(e.data(), DType::Float64, {3, 0}), 1, view(v, {3, 1}), view(idx, {3, 1}));
      },
      "max: cannot reduce over an empty dim");
}

// ---- softmax -----------------------------------------------------------------------

static std::vector<double> refSoftmax(const TensorView& x, int dim, bool log) {
  const int64_t n = x.numel();
  std::vector<double> out(static_cast<size_t>(n));
  std::vector<bool> mask(x.ndim, false);
  mask[dim] = true;
  // group flat indices by position outside dim
  std::vector<std::vector<int64_t>> groups;
  std::vector<int64_t> key(static_cast<size_t>(n));
  int64_t numOut = x.numel() / x.shape[dim];
  groups.resize(static_cast<size_t>(numOut));
  for (int64_t f = 0; f < n; ++f) {
    int64_t rem = f, o = 0, mul = 1;
    for (int d = x.ndim - 1; d >= 0; --d) {
      const int64_t c = rem % x.shape[d];
      rem /= x.shape[d];
      if (d != dim) {
        o += c * mul;
        mul *= x.shape[d];
      }
    }
    groups[o].push_back(f);
  }
  for (auto& g : groups) {
    double mx = -INFINITY;
    for (int64_t f : g) mx = std::max(mx, at<double>(x, f));
    double s = 0;
    for (int64_t f : g) s += std::exp(at<double>(x, f) - mx);
    for (int64_t f : g) out[f] = log ? at<double>(x, f) - mx - std::log(s) : std::exp(at<double>(x, f) - mx) / s;
  }
  return out;
}

static void testSoftmax() {
  // shapes and dims covering the row path (dim last) and the lane path
  struct Case {
    std::vector<int64_t> shape;
    int dim;
  };
  const Case cases[] = {{{4, 7}, 1}, {{4, 7}, 0}, {{3, 5, 6}, 1}, {{3, 5, 300}, 1}, {{2, 3, 4}, 2}, {{9}, 0}};
  for (const Case& c : cases) {
    int64_t n = 1;
    for (int64_t s : c.shape) n *= s;
    std::vector<double> x(static_cast<size_t>(n));
    for (auto& v : x) v = (rnd() - 0.5) * 20;
    for (bool log : {false, true}) {
      for (bool transposed : {false, true}) {
        TensorView xv = view(x, c.shape);
        int dim = c.dim;
        std::vector<int64_t> oshape = c.shape;
        if (transposed && xv.ndim >= 2) {
          // reverse the dims so the input is strided
          std::vector<int> order;
          for (int d = xv.ndim - 1; d >= 0; --d) order.push_back(d);
          xv = permute(xv, order);
          dim = xv.ndim - 1 - c.dim;
          std::reverse(oshape.begin(), oshape.end());
        }
        std::vector<double> out(static_cast<size_t>(n));
        softmax(xv, dim, log, view(out, oshape));
        auto want = refSoftmax(xv, dim, log);
        for (int64_t i = 0; i < n; ++i) CHECK_NEAR(out[i], want[i], 1e-12);
        // float32 rows sum to 1
        std::vector<float> xf(x.begin(), x.end()), of(static_cast<size_t>(n));
        TensorView xfv = xv;
        xfv.data = xf.data();
        xfv.dtype = DType::Float32;
        softmax(xfv, dim, log, view(of, oshape));
        for (int64_t i = 0; i < n; ++i) CHECK_NEAR(of[i], want[i], log ? 2e-5 : 1e-6);
      }
    }
  }
  // rows of a [4, 7] softmax sum to 1; exp of log_softmax too
  std::vector<float> x(28), y(28), ly(28);
  for (auto& v : x) v = static_cast<float>(rnd() * 50);
  softmax(view(x, {4, 7}), 1, false, view(y, {4, 7}));
  softmax(view(x, {4, 7}), 1, true, view(ly, {4, 7}));
  for (int r = 0; r < 4; ++r) {
    double s = 0, ls = 0;
    for (int j = 0; j < 7; ++j) {
      s += y[r * 7 + j];
      ls += std::exp(double(ly[r * 7 + j]));
    }
    CHECK_NEAR(s, 1.0, 1e-6);
    CHECK_NEAR(ls, 1.0, 1e-5);
  }
  // a NaN makes its whole row NaN (both layouts), other rows stay finite
  for (bool log : {false, true}) {
    std::vector<float> xn = {1, NAN, 2, 3, 4, 5}, yn(6);
    softmax(view(xn, {2, 3}), 1, log, view(yn, {2, 3}));
    for (int j = 0; j < 3; ++j) CHECK(std::isnan(yn[j]) && std::isfinite(yn[3 + j]));
    softmax(view(xn, {2, 3}), 0, log, view(yn, {2, 3}));  // columns: only column 1 has the NaN
    CHECK(std::isnan(yn[1]) && std::isnan(yn[4]) && std::isfinite(yn[0]) && std::isfinite(yn[5]));
  }
  std::vector<int32_t> xi(4);
  std::vector<int32_t> oi(4);
  expectThrow([&] { softmax(view(xi, {4}), 0, false, view(oi, {4})); }, "softmax: expected a floating dtype");
}

// softmaxBackward against finite differences of L(x) = sum(w * f(x)).
static void testSoftmaxBackward() {
  struct Case {
    std::vector<int64_t> shape;
    int dim;
  };
  const Case cases[] = {{{3, 5}, 1}, {{3, 5}, 0}, {{2, 4, 3}, 1}};
  for (const Case& c : cases) {
    int64_t n = 1;
    for (int64_t s : c.shape) n *= s;
    std::vector<double> x(static_cast<size_t>(n)), w(static_cast<size_t>(n));
    for (auto& v : x) v = (rnd() - 0.5) * 4;
    for (auto& v : w) v = rnd() - 0.5;
    for (bool log : {false, true}) {
      auto loss = [&](const std::vector<double>& xx) {
        std::vector<double> y(static_cast<size_t>(n));
        softmax(view(const_cast<double*>(xx.data()), DType::Float64, c.shape), c.dim, log, view(y, c.shape));
        double l = 0;
        for (int64_t i = 0; i < n; ++i) l += w[i] * y[i];
        return l;
      };
      std::vector<double> y(static_cast<size_t>(n)), gx(static_cast<size_t>(n));
      softmax(view(x, c.shape), c.dim, log, view(y, c.shape));
      softmaxBackward(view(y, c.shape), view(w, c.shape), c.dim, log, view(gx, c.shape));
      for (int64_t i = 0; i < n; ++i) {
        std::vector<double> xp = x, xm = x;
        const double eps = 1e-6;
        xp[i] += eps;
        xm[i] -= eps;
        CHECK_NEAR(gx[i], (loss(xp) - loss(xm)) / (2 * eps), 1e-7);
      }
      // gy as an expanded scalar (stride 0) and y strided: same result
      std::vector<double> g1 = {0.7};
      std::vector<int64_t> zero(c.shape.size(), 0);
      std::vector<double> ga(static_cast<size_t>(n)), gb(static_cast<size_t>(n)), ones(static_cast<size_t>(n), 0.7);
      softmaxBackward(view(y, c.shape), view(ones, c.shape), c.dim, log, view(ga, c.shape));
      softmaxBackward(view(y, c.shape), view(g1, c.shape, zero), c.dim, log, view(gb, c.shape));
      for (int64_t i = 0; i < n; ++i) CHECK_NEAR(ga[i], gb[i], 1e-15);
      // y stored transposed, read through a permuted view
      std::vector<int> order;
      for (int d = static_cast<int>(c.shape.size()) - 1; d >= 0; --d) order.push_back(d);
      std::vector<int64_t> rshape(c.shape.rbegin(), c.shape.rend());
      std::vector<double> yt(static_cast<size_t>(n));
      TensorView ytv = permute(view(yt, rshape), order);  // shape c.shape, strided
      for (int64_t f = 0; f < n; ++f) {
        int64_t rem = f, off = 0;
        for (int d = ytv.ndim - 1; d >= 0; --d) {
          off += (rem % ytv.shape[d]) * ytv.strides[d];
          rem /= ytv.shape[d];
        }
        yt[off] = y[f];
      }
      std::vector<double> gc(static_cast<size_t>(n));
      softmaxBackward(ytv, view(g1, c.shape, zero), c.dim, log, view(gc, c.shape));
      for (int64_t i = 0; i < n; ++i) CHECK_NEAR(gc[i], ga[i], 1e-15);
    }
  }
}

// ---- indexing ----------------------------------------------------------------------

static void testIndexSelect() {
  const int64_t N = 100, D = 784;
  std::vector<float> x(N * D);
  for (auto& v : x) v = static_cast<float>(rnd());
  std::vector<int64_t> idx = {5, -1, 0, 42, 5};
  std::vector<float> out(idx.size() * D);
  indexSelect(view(x, {N, D}), 0, view(idx, {5}), view(out, {5, D}));
  for (size_t j = 0; j < idx.size(); ++j) {
    const int64_t r = idx[j] < 0 ? idx[j] + N : idx[j];
    CHECK(std::memcmp(&out[j * D], &x[r * D], D * sizeof(float)) == 0);
  }
  // dim 1 of a transposed view, int64 data: out[i][j] = xt[i][idx[j]] = x[idx[j]][i]
  std::vector<int64_t> xi(6 * 4);
  for (size_t i = 0; i < xi.size(); ++i) xi[i] = static_cast<int64_t>(i * 3);
  TensorView xt = permute(view(xi, {6, 4}), {1, 0});  // [4, 6]
  std::vector<int64_t> id2 = {2, 0, -6};
  std::vector<int64_t> o2(4 * 3);
  indexSelect(xt, 1, view(id2, {3}), view(o2, {4, 3}));
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) CHECK(o2[i * 3 + j] == xi[((id2[j] + 6) % 6) * 4 + i]);
  // middle dim of 3-d, uint8, strided index (every other element)
  std::vector<uint8_t> x3(2 * 5 * 3);
  for (size_t i = 0; i < x3.size(); ++i) x3[i] = static_cast<uint8_t>(i);
  std::vector<int64_t> id3 = {4, 99, 1, 99};
  std::vector<uint8_t> o3(2 * 2 * 3);
  indexSelect(view(x3, {2, 5, 3}), 1, view(id3, {2}, {2}), view(o3, {2, 2, 3}));
  for (int a = 0; a < 2; ++a)
    for (int j = 0; j < 2; ++j)
      for (int c = 0; c < 3; ++c) CHECK(o3[(a * 2 + j) * 3 + c] == x3[(a * 5 + id3[2 * j]) * 3 + c]);
  // out of range: throws, leaves out untouched
  std::vector<float> small(5 * 2, 1.f), so(3 * 2, -7.f);
  std::vector<int64_t> bad = {1, 7, 2};
  expectThrow(
      [&] {
        indexSelect(view(small, {5, 2}), 0, view(bad, {3}), view(so, {3, 2}));
      },
      "indexSelect: index 7 is out of bounds for dim 0 with size 5");
  for (float v : so) CHECK(v == -7.f);
  bad = {1, 2, -6};
  expectThrow(
      [&] {
        indexSelect(view(small, {5, 2}), 0, view(bad, {3}), view(so, {3, 2}));
      },
      "index -6 is out of bounds for dim 0 with size 5");
  for (float v : so) CHECK(v == -7.f);
  expectThrow(
      [&] {
        indexSelect(view(small, {5, 2}), 0, view(bad, {3}), view(so, {2, 3}));
      },
      "indexSelect: output shape [2, 3]");
}

static void testIndexAddCopy() {
  // out [4, 3] += 2 * src [5, 3] at rows idx (duplicates accumulate)
  std::vector<double> out(12, 1.0), src(15);
  for (size_t i = 0; i < src.size(); ++i) src[i] = double(i);
  std::vector<int64_t> idx = {0, 2, 0, -1, 2};
  indexAdd(view(out, {4, 3}), 0, view(idx, {5}), view(src, {5, 3}), 2.0);
  std::vector<double> want(12, 1.0);
  for (int j = 0; j < 5; ++j)
    for (int c = 0; c < 3; ++c) want[((idx[j] + 4) % 4) * 3 + c] += 2 * src[j * 3 + c];
  for (int i = 0; i < 12; ++i) CHECK(out[i] == want[i]);
  // dim 1, int32, transposed out
  std::vector<int32_t> o2(3 * 4, 0), s2(3 * 2);
  for (size_t i = 0; i < s2.size(); ++i) s2[i] = int32_t(i + 1);
  std::vector<int64_t> id2 = {3, 3};
  TensorView o2v = permute(view(o2, {4, 3}), {1, 0});  // [3, 4]
  indexAdd(o2v, 1, view(id2, {2}), view(s2, {3, 2}), 1.0);
  for (int r = 0; r < 3; ++r) {
    CHECK(o2[3 * 3 + r] == s2[r * 2] + s2[r * 2 + 1]);
    CHECK(o2[0 * 3 + r] == 0);
  }
  // bool: logical or
  std::vector<uint8_t> ob = {0, 0, 1}, sb = {1, 0};
  std::vector<int64_t> idb = {0, 2};
  indexAdd(view(ob.data(), DType::Bool, {3}), 0, view(idb, {2}), view(sb.data(), DType::Bool, {2}), 1.0);
  CHECK(ob[0] == 1 && ob[1] == 0 && ob[2] == 1);
  // indexCopy (unique indices)
  std::vector<float> oc(4 * 2, 0.f), sc = {1, 2, 3, 4};
  std::vector<int64_t> idc = {3, -4};
  indexCopy(view(oc, {4, 2}), 0, view(idc, {2}), view(sc, {2, 2}));
  CHECK(oc[6] == 1 && oc[7] == 2 && oc[0] == 3 && oc[1] == 4 && oc[2] == 0 && oc[4] == 0);
  // large: embedding-style gradient, rows of 64 into a [50, 64] table
  const int64_t V = 50, Dm = 64, L = 1000;
  std::vector<float> tab(V * Dm, 0.f), g(L * Dm);
  std::vector<int64_t> ids(L);
  for (auto& v : g) v = static_cast<float>(rnd());
  for (auto& v : ids) v = static_cast<int64_t>(rnd() * V);
  indexAdd(view(tab, {V, Dm}), 0, view(ids, {L}), view(g, {L, Dm}), 1.0);
  std::vector<double> ref(V * Dm, 0.0);
  for (int64_t j = 0; j < L; ++j)
    for (int64_t c = 0; c < Dm; ++c) ref[ids[j] * Dm + c] += g[j * Dm + c];
  for (int64_t i = 0; i < V * Dm; ++i) CHECK_NEAR(tab[i], ref[i], 1e-3);
  // errors leave out untouched
  std::vector<double> keep(12, 3.0);
  std::vector<int64_t> badi = {0, 1, 2, 3, 4};
  expectThrow(
      [&] {
        indexAdd(view(keep, {4, 3}), 0, view(badi, {5}), view(src, {5, 3}), 1.0);
      },
      "indexAdd: index 4 is out of bounds for dim 0 with size 4");
  for (double v : keep) CHECK(v == 3.0);
  expectThrow([&] { indexCopy(view(keep, {4, 3}), 0, view(badi, {5}), view(src, {5, 3})); }, "indexCopy: index 4");
  for (double v : keep) CHECK(v == 3.0);
  expectThrow(
      [&] {
        indexAdd(view(keep, {4, 3}), 0, view(idx, {5}), view(src, {3, 5}), 1.0);
      },
      "indexAdd: source shape [3, 5]");
}

static void testGatherScatter() {
  // gather along dim 1: out[i][j] = x[i][idx[i][j]]
  std::vector<float> x = {10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33};  // [3, 4]
  std::vector<int64_t> idx = {3, 0, 1, 1, -1, 2};                           // [3, 2]
  std::vector<float> out(6);
  gather(view(x, {3, 4}), 1, view(idx, {3, 2}), view(out, {3, 2}));
  const float want1[] = {13, 10, 21, 21, 33, 32};
  for (int i = 0; i < 6; ++i) CHECK(out[i] == want1[i]);
  // gather along dim 0 with an index narrower than x: out[i][j] = x[idx[i][j]][j]
  std::vector<int64_t> id0 = {2, 0, 1, 2};  // [2, 2]
  std::vector<float> o0(4);
  gather(view(x, {3, 4}), 0, view(id0, {2, 2}), view(o0, {2, 2}));
  CHECK(o0[0] == 30 && o0[1] == 11 && o0[2] == 20 && o0[3] == 31);
  // gather through a transposed input: xt [4, 3], out[i][j] = xt[i][idx[i][j]] = x[idx][i]
  std::vector<int64_t> idt = {2, 0, 1, 1, 0, 0, 2, 2};  // [4, 2]
  std::vector<float> ot(8);
  gather(permute(view(x, {3, 4}), {1, 0}), 1, view(idt, {4, 2}), view(ot, {4, 2}));
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j) CHECK(ot[i * 2 + j] == x[idt[i * 2 + j] * 4 + i]);
  // scatterAdd with duplicates along dim 1
  std::vector<double> acc(3 * 4, 0.0);
  std::vector<double> src = {1, 2, 3, 4, 5, 6};
  std::vector<int64_t> sid = {0, 0, 3, -1, 2, 1};  // [3, 2]
  scatterAdd(view(acc, {3, 4}), 1, view(sid, {3, 2}), view(src, {3, 2}));
  const double wantA[] = {3, 0, 0, 0, 0, 0, 0, 7, 0, 6, 5, 0};
  for (int i = 0; i < 12; ++i) CHECK(acc[i] == wantA[i]);
  // scatterAdd along dim 0 of a [2, 3] int64 with src larger than index
  std::vector<int64_t> a0(2 * 3, 100), s0 = {1, 2, 3, 4, 5, 6, 7, 8, 9};  // src [3, 3]
  std::vector<int64_t> i0 = {1, 0, 1, 1, 1, 0};                           // [2, 3]
  scatterAdd(view(a0, {2, 3}), 0, view(i0, {2, 3}), view(s0, {3, 3}));
  CHECK(a0[0] == 100 && a0[1] == 102 && a0[2] == 106 && a0[3] == 105 && a0[4] == 105 && a0[5] == 103);
  // scatter (unique targets)
  std::vector<float> sc(2 * 4, 0.f), ss = {1, 2, 3, 4};
  std::vector<int64_t> si = {3, 1, 0, 2};  // [2, 2]
  scatter(view(sc, {2, 4}), 1, view(si, {2, 2}), view(ss, {2, 2}));
  const float wantS[] = {0, 2, 0, 1, 3, 0, 4, 0};
  for (int i = 0; i < 8; ++i) CHECK(sc[i] == wantS[i]);
  // scatterAdd for a one-hot / NLL gradient: [B, C] dim 1, large B
  const int64_t B = 20000, C = 10;
  std::vector<float> g(B * C, 0.f), ones(B, 1.f);
  std::vector<int64_t> tgt(B);
  for (auto& t : tgt) t = static_cast<int64_t>(rnd() * C);
  scatterAdd(view(g, {B, C}), 1, view(tgt, {B, 1}), view(ones, {B, 1}));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) CHECK(g[b * C + c] == (c == tgt[b] ? 1.f : 0.f));
  std::vector<float> back(B);
  gather(view(g, {B, C}), 1, view(tgt, {B, 1}), view(back, {B, 1}));
  for (float v : back) CHECK(v == 1.f);
  // errors: out untouched
  std::vector<double> keep(12, 5.0);
  std::vector<int64_t> badi = {0, 0, 4, 1, 2, 1};
  expectThrow(
      [&] {
        scatterAdd(view(keep, {3, 4}), 1, view(badi, {3, 2}), view(src, {3, 2}));
      },
      "scatterAdd: index 4 is out of bounds for dim 1 with size 4");
  for (double v : keep) CHECK(v == 5.0);
  expectThrow([&] { scatter(view(keep, {3, 4}), 1, view(badi, {3, 2}), view(src, {3, 2})); }, "scatter: index 4");
  for (double v : keep) CHECK(v == 5.0);
  std::vector<float> gk(6, -1.f);
  expectThrow(
      [&] {
        gather(view(x, {3, 4}), 1, view(badi, {3, 2}), view(gk, {3, 2}));
      },
      "gather: index 4 is out of bounds for dim 1 with size 4");
  for (float v : gk) CHECK(v == -1.f);
  std::vector<int64_t> wide(3 * 5, 0);
  std::vector<float> ow(15);
  expectThrow([&] { gather(view(x, {3, 4}), 0, view(wide, {3, 5}), view(ow, {3, 5})); }, "gather: index shape [3, 5]");
}

// ---- random ---------------------------------------------------------------------------

static void testRandom() {
  manualSeed(42);
  CHECK(initialSeed() == 42);
  std::vector<float> a(1000), b(1000);
  uniform(view(a, {1000}), -1, 1);
  manualSeed(42);
  uniform(view(b, {1000}), -1, 1);
  CHECK(a == b);
  manualSeed(43);
  uniform(view(b, {1000}), -1, 1);
  CHECK(a != b);

  // uniform: range, mean; [1, 2) in float32 must never round up to 2
  const int N = 1 << 20;
  std::vector<float> u(N);
  uniform(view(u, {N}), 1.0, 2.0);
  double s = 0;
  for (float v : u) {
    CHECK(v >= 1.0f && v < 2.0f);
    s += v;
  }
  CHECK_NEAR(s / N, 1.5, 0.002);
  std::vector<double> ud(N);
  uniform(view(ud, {N}), -3.0, 5.0);
  s = 0;
  for (double v : ud) {
    CHECK(v >= -3.0 && v < 5.0);
    s += v;
  }
  CHECK_NEAR(s / N, 1.0, 0.02);
  std::vector<int32_t> iu(4);
  expectThrow([&] { uniform(view(iu, {4}), 0, 1); }, "uniform: expected a floating dtype");
  expectThrow([&] { uniform(view(u, {N}), 2, 1); }, "uniform: expected finite low <= high");

  // normal: mean and std, both dtypes
  for (int dt = 0; dt < 2; ++dt) {
    std::vector<double> vals(200001);
    if (dt == 0) {
      std::vector<float> f(vals.size());
      normal(view(f, {int64_t(f.size())}), 1.5, 2.0);
      std::copy(f.begin(), f.end(), vals.begin());
    } else {
      normal(view(vals, {int64_t(vals.size())}), 1.5, 2.0);
    }
    double m = 0, m2 = 0;
    for (double v : vals) m += v;
    m /= vals.size();
    for (double v : vals) m2 += (v - m) * (v - m);
    const double sd = std::sqrt(m2 / (vals.size() - 1));
    CHECK_NEAR(m, 1.5, 0.02);
    CHECK_NEAR(sd, 2.0, 0.02);
  }

  // randint: range, every value hit, frequencies
  std::vector<int32_t> ri(70000);
  randint(view(ri, {70000}), -3, 4);
  int counts[7] = {0};
  for (int32_t v : ri) {
    CHECK(v >= -3 && v < 4);
    ++counts[v + 3];
  }
  for (int c : counts) CHECK(std::abs(c - 10000) < 500);
  std::vector<int64_t> rl(10000);
  const int64_t lo = -(int64_t(1) << 62), hi = int64_t(1) << 62;  // range > 2^32: 64-bit path
  randint(view(rl, {10000}), lo, hi);
  int neg = 0;
  for (int64_t v : rl) {
    CHECK(v >= lo && v < hi);
    neg += v < 0;
  }
  CHECK(std::abs(neg - 5000) < 300);
  std::vector<uint8_t> r8(5000);
  randint(view(r8, {5000}), 0, 256);
  CHECK(*std::max_element(r8.begin(), r8.end()) == 255 && *std::min_element(r8.begin(), r8.end()) == 0);
  randint(view(r8.data(), DType::Bool, {5000}), 0, 2);
  for (uint8_t v : r8) CHECK(v <= 1);
  std::vector<float> rf(1000);
  randint(view(rf, {1000}), 5, 8);
  for (float v : rf) CHECK(v == 5 || v == 6 || v == 7);
  expectThrow([&] { randint(view(r8, {5000}), 0, 257); }, "randint: range [0, 257) does not fit uint8");
  expectThrow([&] { randint(view(ri, {70000}), 3, 3); }, "randint: expected low < high");

  // randperm
  std::vector<int64_t> p(1000), q(1000);
  manualSeed(7);
  randperm(view(p, {1000}));
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 1000; ++i) CHECK(sorted[i] == i);
  CHECK(p != sorted);
  manualSeed(7);
  randperm(view(q, {1000}));
  CHECK(p == q);
  std::vector<int64_t> one(1, -1);
  randperm(view(one, {1}));
  CHECK(one[0] == 0);
  randperm(view(one.data(), DType::Int64, {0}));
  std::vector<int32_t> p32(5);
  expectThrow([&] { randperm(view(p32, {5})); }, "randperm: output must be a 1-d int64 tensor");

  // bernoulli
  std::vector<float> bm(100000);
  bernoulli(view(bm, {100000}), 0.3);
  s = 0;
  for (float v : bm) {
    CHECK(v == 0.f || v == 1.f);
    s += v;
  }
  CHECK_NEAR(s / bm.size(), 0.3, 0.01);
  std::vector<uint8_t> bb(1000);
  bernoulli(view(bb.data(), DType::Bool, {1000}), 0.0);
  for (uint8_t v : bb) CHECK(v == 0);
  bernoulli(view(bb.data(), DType::Bool, {1000}), 1.0);
  for (uint8_t v : bb) CHECK(v == 1);
  expectThrow([&] { bernoulli(view(bb.data(), DType::Bool, {1000}), 1.5); }, "bernoulli: p must be in [0, 1]");

  // the same numbers for 1 and 4 threads (the fills split across threads),
  // and consecutive calls continue one stream
  for (int kind = 0; kind < 3; ++kind) {
    std::vector<float> one(300001), four(300001);
    for (int pass = 0; pass < 2; ++pass) {
      setNumThreads(pass == 0 ? 1 : 4);
      manualSeed(5);
      std::vector<float>& dst = pass == 0 ? one : four;
      if (kind == 0) uniform(view(dst, {300001}), 0, 1);
      if (kind == 1) normal(view(dst, {300001}), 0, 1);
      if (kind == 2) bernoulli(view(dst, {300001}), 0.5);
    }
    CHECK(one == four);
  }
  setNumThreads(4);
  std::vector<float> whole(100), halves(100);
  manualSeed(8);
  uniform(view(whole, {100}), 0, 1);
  manualSeed(8);
  uniform(view(halves, {50}), 0, 1);
  uniform(view(halves.data() + 50, DType::Float32, {50}), 0, 1);
  CHECK(whole == halves);
  std::vector<double> w2(100), h2(100);
  manualSeed(8);
  uniform(view(w2, {100}), 0, 1);
  uniform(view(w2, {100}), 0, 1);  // second call: new numbers
  manualSeed(8);
  uniform(view(h2, {100}), 0, 1);
  CHECK(w2 != h2);

  // a strided output gets the same numbers in the same logical places
  std::vector<double> c(6 * 4), t(4 * 6, -9.0);
  manualSeed(99);
  normal(view(c, {6, 4}), 0, 1);
  manualSeed(99);
  TensorView tv = permute(view(t, {4, 6}), {1, 0});  // [6, 4], strides (1, 6)
  normal(tv, 0, 1);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 4; ++j) CHECK(c[i * 4 + j] == t[j * 6 + i]);
  // only the view's elements are written
  std::vector<float> gap(10, -9.f);
  uniform(view(gap, {5}, {2}), 0, 1);
  for (int i = 0; i < 10; ++i) CHECK(i % 2 == 0 ? (gap[i] >= 0 && gap[i] < 1) : gap[i] == -9.f);
}

int main() {
  testReductionsAgainstReference();
  testIntReductions();
  testVarAndEmpty();
  testLargeReductions();
  testArgReduce();
  testSoftmax();
  testSoftmaxBackward();
  testIndexSelect();
  testIndexAddCopy();
  testGatherScatter();
  testRandom();
  std::printf("%d checks passed\nok\n", gChecks);
  return 0;
}
