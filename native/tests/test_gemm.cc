// Standalone test + benchmark for native/cpu/gemm.cc.
//
//   g++ -std=c++17 -O3 -Wall -Wextra -pthread -DKD_WITH_OPENBLAS -Inative/cpu
//       native/tests/test_gemm.cc native/cpu/gemm.cc [native/cpu/parallel.cc] -lopenblas -o /tmp/test_gemm
//   /tmp/test_gemm            # tests, then the benchmark table
//   /tmp/test_gemm --no-bench # tests only
//   /tmp/test_gemm --bench-only [--threads N] [runs]
//
// Every result is checked against a triple loop accumulated in double, for
// the BLAS path (when compiled in) and for the built-in GEMM at every SIMD
// level this CPU has.
#include "../common/tensor_view.h"
#include "kernels.h"
#include "parallel.h"
#ifdef KD_WITH_OPENBLAS
#include <cblas.h>
extern "C" char* openblas_get_corename(void);
#endif

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace kd {
bool setGemmSimdForTesting(const char* level);  // defined in gemm.cc
}

// Stand-in for native/cpu/parallel.cc so this test links on its own. The
// definitions are weak: when parallel.cc is linked in, its pool wins. It
// starts fresh threads per call (crude, but enough to benchmark two cores).
#ifndef KD_TEST_NO_PARALLEL_STANDIN
namespace kd {
__attribute__((weak)) int getNumThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}
__attribute__((weak)) void setNumThreads(int) {}
__attribute__((weak)) void parallelFor(int64_t begin, int64_t end, int64_t grain,
                                       const std::function<void(int64_t, int64_t)>& fn) {
  int64_t n = end - begin;
  if (n <= 0) return;
  int64_t chunks =
      std::min<int64_t>(getNumThreads(), (n + std::max<int64_t>(grain, 1) - 1) / std::max<int64_t>(grain, 1));
  if (chunks <= 1) {
    fn(begin, end);
    return;
  }
  std::vector<std::thread> ts;
  int64_t step = (n + chunks - 1) / chunks;
  for (int64_t c = 1; c < chunks; ++c) {
    int64_t b = begin + c * step, e = std::min(end, b + step);
    if (b < e) ts.emplace_back([=, &fn] { fn(b, e); });
  }
  fn(begin, std::min(end, begin + step));
  for (auto& t : ts) t.join();
}
}  // namespace kd
#endif

using kd::DType;
using kd::TensorView;

static int g_fail = 0, g_pass = 0;

// A matrix operand laid out in its own buffer with a chosen layout.
enum class Layout { RowMajor, ColMajor, Strided, NegRows, Padded };
static const char* layoutName(Layout l) {
  switch (l) {
    case Layout::RowMajor: return "row";
    case Layout::ColMajor: return "col";
    case Layout::Strided: return "strided";
    case Layout::NegRows: return "negrows";
    case Layout::Padded: return "padded";
  }
  return "?";
}

template <typename T>
struct Operand {
  std::vector<T> storage;
  TensorView view;
  int64_t batch, rows, cols;
  bool bcast;
  // Logical element (b, i, j) as the kernel should see it.
  T at(int64_t b, int64_t i, int64_t j) const {
    const T* p = static_cast<const T*>(view.data);
    int64_t bs = view.ndim == 3 ? view.strides[0] : 0;
    int64_t rs = view.strides[view.ndim - 2], cs = view.strides[view.ndim - 1];
    if (bcast) b = 0;
    return p[b * bs + i * rs + j * cs];
  }
};

template <typename T>
static DType dtypeOf() {
  return sizeof(T) == 4 ? DType::Float32 : DType::Float64;
}

// Builds a [batch, rows, cols] view (batch stride 0 when bcast) with the
// given in-matrix layout, filled with random values.
template <typename T>
static Operand<T> makeOperand(int64_t batch, int64_t rows, int64_t cols, Layout lay, bool bcast, std::mt19937& rng) {
  Operand<T> op;
  op.batch = batch;
  op.rows = rows;
  op.cols = cols;
  op.bcast = bcast;
  int64_t nb = bcast ? 1 : batch;
  int64_t rs = 0, cs = 0, per = 0, origin = 0;
  switch (lay) {
    case Layout::RowMajor:
      rs = cols;
      cs = 1;
      per = rows * cols;
      break;
    case Layout::ColMajor:
      rs = 1;
      cs = rows;
      per = rows * cols;
      break;
    case Layout::Padded:
      rs = cols + 3;
      cs = 1;
      per = rows * (cols + 3);
      break;
    case Layout::Strided:
      rs = 2 * cols + 1;
      cs = 2;
      per = rows * (2 * cols + 1);
      break;
    case Layout::NegRows:
      rs = -cols;
      cs = 1;
      per = rows * cols;
      origin = (rows - 1) * cols;
      break;
  }
  per = std::max<int64_t>(per, 1);
  op.storage.resize(static_cast<size_t>(nb * per));
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  for (auto& v : op.storage) v = static_cast<T>(dist(rng));
  op.view.data = op.storage.data() + origin;
  op.view.dtype = dtypeOf<T>();
  op.view.ndim = 3;
  op.view.shape[0] = bcast ? 1 : batch;
  op.view.shape[1] = rows;
  op.view.shape[2] = cols;
  op.view.strides[0] = bcast ? 0 : per;
  op.view.strides[1] = rs;
  op.view.strides[2] = cs;
  return op;
}

template <typename T>
static bool checkCase(int64_t batch, int64_t M, int64_t K, int64_t N, Layout la, Layout lb, bool bcastA, bool bcastB,
                      const char* mode, std::mt19937& rng) {
  Operand<T> A = makeOperand<T>(batch, M, K, la, bcastA, rng);
  Operand<T> B = makeOperand<T>(batch, K, N, lb, bcastB, rng);
  std::vector<T> out(static_cast<size_t>(std::max<int64_t>(batch * M * N, 1)), T(12345));
  TensorView o;
  o.data = out.data();
  o.dtype = dtypeOf<T>();
  o.ndim = 3;
  o.shape[0] = batch;
  o.shape[1] = M;
  o.shape[2] = N;
  o.strides[0] = M * N;
  o.strides[1] = N;
  o.strides[2] = 1;
  kd::matmul(A.view, B.view, o);
  const double eps = sizeof(T) == 4 ? 1e-5 : 1e-13;
  double worst = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double ref = 0, mag = 0;
        for (int64_t k = 0; k < K; ++k) {
          double p = static_cast<double>(A.at(b, i, k)) * static_cast<double>(B.at(b, k, j));
          ref += p;
          mag += std::fabs(p);
        }
        double got = out[static_cast<size_t>((b * M + i) * N + j)];
        double err = std::fabs(got - ref) / (mag + 1e-30);
        if (!(std::fabs(got - ref) <= eps * mag + 1e-30)) {
          std::printf("FAIL %s %s B=%lld M=%lld K=%lld N=%lld a=%s%s b=%s%s at [%lld,%lld,%lld]: got %.9g want %.9g\n",
                      mode, sizeof(T) == 4 ? "f32" : "f64", (long long)batch, (long long)M, (long long)K, (long long)N,
                      layoutName(la), bcastA ? "(bc)" : "", layoutName(lb), bcastB ? "(bc)" : "", (long long)b,
                      (long long)i, (long long)j, got, ref);
          ++g_fail;
          return false;
        }
        worst = std::max(worst, err);
      }
  ++g_pass;
  return true;
}

template <typename T>
static void runSuite(const char* mode, std::mt19937& rng) {
  const int64_t sizes[] = {1, 2, 7, 12, 16, 33, 65, 257};
  const Layout lays[] = {Layout::RowMajor, Layout::ColMajor, Layout::Strided, Layout::NegRows, Layout::Padded};
  int before = g_fail;
  // Every size triple with plain layouts.
  for (int64_t M : sizes)
    for (int64_t K : sizes)
      for (int64_t N : sizes) {
        if (M * K * N > 2000000) continue;
        checkCase<T>(1, M, K, N, Layout::RowMajor, Layout::RowMajor, false, false, mode, rng);
      }
  // Layout pairs on a few odd shapes.
  const int64_t shapes[][3] = {{7, 33, 5}, {33, 7, 65}, {50, 70, 45}, {129, 257, 67}, {1, 100, 77}, {77, 100, 1}};
  for (auto& s : shapes)
    for (Layout la : lays)
      for (Layout lb : lays) checkCase<T>(1, s[0], s[1], s[2], la, lb, false, false, mode, rng);
  // Batches, with either side broadcast.
  for (auto& s : shapes) {
    checkCase<T>(3, s[0], s[1], s[2], Layout::RowMajor, Layout::RowMajor, false, false, mode, rng);
    checkCase<T>(3, s[0], s[1], s[2], Layout::RowMajor, Layout::RowMajor, false, true, mode, rng);
    checkCase<T>(3, s[0], s[1], s[2], Layout::ColMajor, Layout::RowMajor, true, false, mode, rng);
    checkCase<T>(4, s[0], s[1], s[2], Layout::Strided, Layout::ColMajor, false, true, mode, rng);
    checkCase<T>(2, s[0], s[1], s[2], Layout::Padded, Layout::ColMajor, true, true, mode, rng);
  }
  checkCase<T>(16, 9, 20, 11, Layout::RowMajor, Layout::ColMajor, false, false, mode, rng);
  // Zero-size dims: K=0 must write zeros, the others nothing.
  checkCase<T>(2, 5, 0, 6, Layout::RowMajor, Layout::RowMajor, false, false, mode, rng);
  checkCase<T>(2, 0, 5, 6, Layout::RowMajor, Layout::RowMajor, false, false, mode, rng);
  checkCase<T>(2, 5, 6, 0, Layout::RowMajor, Layout::RowMajor, false, false, mode, rng);
  checkCase<T>(0, 5, 6, 7, Layout::RowMajor, Layout::RowMajor, false, false, mode, rng);
  // Large enough for several KC slabs, MC blocks, threads and edge tiles.
  checkCase<T>(1, 515, 601, 263, Layout::RowMajor, Layout::RowMajor, false, false, mode, rng);
  checkCase<T>(1, 301, 530, 299, Layout::ColMajor, Layout::ColMajor, false, false, mode, rng);
  checkCase<T>(2, 211, 300, 190, Layout::Strided, Layout::RowMajor, false, true, mode, rng);
  checkCase<T>(1, 20, 40, 4500, Layout::RowMajor, Layout::RowMajor, false, false, mode, rng);  // > NC columns
  checkCase<T>(1, 3, 300, 900, Layout::RowMajor, Layout::ColMajor, false, false, mode, rng);   // short M, threads on N
  checkCase<T>(1, 30, 1100, 1000, Layout::RowMajor, Layout::ColMajor, false, false, mode, rng);  // short M, threaded
  checkCase<T>(1, 700, 800, 5, Layout::ColMajor, Layout::RowMajor, false, false, mode, rng);     // narrow N, threaded
  checkCase<T>(1, 1, 3000, 2000, Layout::RowMajor, Layout::RowMajor, false, false, mode, rng);   // vector @ matrix
  checkCase<T>(1, 2000, 3000, 1, Layout::RowMajor, Layout::ColMajor, false, false, mode, rng);   // matrix @ vector
  checkCase<T>(3, 1, 50, 40, Layout::Strided, Layout::RowMajor, false, false, mode, rng);
  // A convolution's shapes: short M (output channels), which the f32 AVX-512
  // path gives an 8-row tile; the weight gradient's B is a transposed view.
  checkCase<T>(1, 16, 144, 3584, Layout::RowMajor, Layout::RowMajor, false, false, mode, rng);
  checkCase<T>(1, 16, 3584, 144, Layout::RowMajor, Layout::ColMajor, false, false, mode, rng);
  checkCase<T>(1, 32, 300, 100, Layout::Strided, Layout::ColMajor, false, false, mode, rng);
  // A long K behind a small C: K is split across threads and the partial
  // products summed (odd sizes, transposed and strided operands).
  checkCase<T>(1, 20, 3001, 37, Layout::Strided, Layout::ColMajor, false, false, mode, rng);
  checkCase<T>(1, 7, 2600, 130, Layout::ColMajor, Layout::Padded, false, false, mode, rng);
  checkCase<T>(1, 64, 4100, 33, Layout::NegRows, Layout::RowMajor, false, false, mode, rng);
  // One row block against a B slab larger than L2: B packed a panel at a
  // time, the columns shared out as several parts per thread.
  checkCase<T>(1, 40, 300, 3001, Layout::RowMajor, Layout::ColMajor, false, false, mode, rng);
  checkCase<T>(1, 64, 288, 3000, Layout::Padded, Layout::RowMajor, false, false, mode, rng);
  checkCase<T>(1, 13, 1500, 700, Layout::ColMajor, Layout::Strided, false, false, mode, rng);  // several K slabs
  checkCase<T>(64, 24, 24, 24, Layout::RowMajor, Layout::RowMajor, false, true, mode, rng);    // batched, merged
  checkCase<T>(64, 24, 24, 24, Layout::ColMajor, Layout::RowMajor, false, false, mode, rng);   // batched, threaded
  std::printf("  %-16s %s: %s\n", mode, sizeof(T) == 4 ? "f32" : "f64", g_fail == before ? "ok" : "FAILED");
}

static void testErrors() {
  std::vector<int32_t> buf(16);
  TensorView a;
  a.data = buf.data();
  a.dtype = DType::Int32;
  a.ndim = 3;
  a.shape[0] = 1;
  a.shape[1] = 2;
  a.shape[2] = 2;
  a.strides[0] = 4;
  a.strides[1] = 2;
  a.strides[2] = 1;
  bool threw = false;
  try {
    kd::matmul(a, a, a);
  } catch (const kd::KernelError& e) {
    threw = std::string(e.what()) == "matmul: expected float32 or float64, got int32";
    if (!threw) std::printf("FAIL error message: %s\n", e.what());
  }
  if (threw) ++g_pass;
  else {
    ++g_fail;
    std::printf("FAIL int32 did not throw the expected KernelError\n");
  }
}

// The engine matmul runs before anyone calls setUseBlas follows gemm.cc's
// rule: the built-in GEMM wherever its SIMD is at least as wide as the
// OpenBLAS core's kernels, BLAS where they are wider. Must run before any
// setUseBlas call; checks the combinations whose answer the rule fixes.
static void testDefaultEngine() {
#ifdef KD_WITH_OPENBLAS
  std::string core = openblas_get_corename();
  for (char& ch : core) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const std::string simd = kd::simdLevel();
  const bool avx2Core = core.find("haswell") != std::string::npos || core.find("zen") != std::string::npos;
  const bool avx512Core = core.find("skylakex") != std::string::npos || core.find("cooperlake") != std::string::npos ||
                          core.find("sapphire") != std::string::npos;
  int want = -1;  // -1: a combination the check does not cover
  if (simd == "avx512" && (avx2Core || avx512Core)) want = 0;
  else if (simd == "avx2" && avx2Core) want = 0;
  else if (simd == "avx2" && avx512Core) want = 1;
  if (want < 0) {
    std::printf("  default engine: not checked for simd=%s core=%s\n", simd.c_str(), core.c_str());
    return;
  }
  if (kd::usingBlas() == (want == 1)) {
    ++g_pass;
  } else {
    ++g_fail;
    std::printf("FAIL default engine for simd=%s core=%s: usingBlas=%d, want %d\n", simd.c_str(), core.c_str(),
                kd::usingBlas() ? 1 : 0, want);
  }
#endif
}

// ---- benchmark ---------------------------------------------------------------

// BLAS and built-in runs alternate, so both see the same background load on
// a shared machine; each figure is the median over `runs`.
template <typename T>
static void benchSize(int64_t n, int runs, bool haveBlas, double* blasOut, double* mineOut) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<T> a(n * n), b(n * n), c(n * n);
  for (auto& v : a) v = dist(rng);
  for (auto& v : b) v = dist(rng);
  TensorView va, vb, vc;
  for (TensorView* v : {&va, &vb, &vc}) {
    v->dtype = dtypeOf<T>();
    v->ndim = 2;
    v->shape[0] = v->shape[1] = n;
    v->strides[0] = n;
    v->strides[1] = 1;
  }
  va.data = a.data();
  vb.data = b.data();
  vc.data = c.data();
  auto timeIt = [&](bool blas, int reps) {
    // OpenBLAS's threads spin for a while after each call; let them go to
    // sleep first so they do not steal cycles from the built-in GEMM's pool.
    if (!blas && haveBlas) std::this_thread::sleep_for(std::chrono::milliseconds(150));
    kd::setUseBlas(blas);
    auto s = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) kd::matmul(va, vb, vc);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count() / reps;
  };
  // Warm-up (page faults, pack buffers, BLAS start-up), then size the
  // repetitions so each timed sample lasts ~50 ms.
  timeIt(false, 1);
  int reps = std::max(1, static_cast<int>(0.05 / std::max(timeIt(false, 1), 1e-7)));
  if (haveBlas) timeIt(true, 1);
  std::vector<double> gb, gm;
  for (int r = 0; r < runs; ++r) {
    if (haveBlas) gb.push_back(2.0 * n * n * n / timeIt(true, reps) * 1e-9);
    gm.push_back(2.0 * n * n * n / timeIt(false, reps) * 1e-9);
  }
  auto median = [](std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  *blasOut = median(gb);
  *mineOut = median(gm);
}

template <typename T>
static void benchTable(int runs) {
  std::printf("\n%s GFLOP/s (median of %d), square n x n, %d threads, simd=%s\n",
              sizeof(T) == 4 ? "float32" : "float64", runs, kd::getNumThreads(), kd::simdLevel());
  std::printf("%6s %10s %10s %8s\n", "n", "blas", "builtin", "ratio");
  const bool haveBlas = std::string(kd::gemmBackend()) != "builtin";
  const bool wasBlas = kd::usingBlas();
  for (int64_t n : {256, 512, 1024, 2048}) {
    double blas = 0, mine = 0;
    benchSize<T>(n, runs, haveBlas, &blas, &mine);
    if (haveBlas) std::printf("%6lld %10.1f %10.1f %7.0f%%\n", (long long)n, blas, mine, 100.0 * mine / blas);
    else std::printf("%6lld %10s %10.1f\n", (long long)n, "-", mine);
    std::fflush(stdout);
  }
  kd::setUseBlas(wasBlas);
}

int main(int argc, char** argv) {
  bool bench = true, tests = true;
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--no-bench") bench = false;
    else if (a == "--bench-only") tests = false;
    else if (a == "--threads" && i + 1 < argc) kd::setNumThreads(std::atoi(argv[++i]));
    else runs = std::max(1, std::atoi(argv[i]));
  }
  std::printf("gemm backend=%s simd=%s threads=%d usingBlas(default)=%d\n", kd::gemmBackend(), kd::simdLevel(),
              kd::getNumThreads(), kd::usingBlas() ? 1 : 0);
#ifdef KD_WITH_OPENBLAS
  std::printf("openblas core=%s (OPENBLAS_CORETYPE overrides)\n", openblas_get_corename());
#endif
  const std::string hwSimd = kd::simdLevel();
  if (tests) {
    std::mt19937 rng(1234);
    testDefaultEngine();
    testErrors();
    if (std::string(kd::gemmBackend()) != "builtin") {
      kd::setUseBlas(true);
      runSuite<float>("blas", rng);
      runSuite<double>("blas", rng);
    }
    kd::setUseBlas(false);
    for (const char* level : {"avx512", "avx2", "neon", "scalar"}) {
      if (!kd::setGemmSimdForTesting(level)) continue;
      std::string mode = std::string("builtin/") + level;
      runSuite<float>(mode.c_str(), rng);
      runSuite<double>(mode.c_str(), rng);
    }
    kd::setGemmSimdForTesting(hwSimd.c_str());
    kd::setUseBlas(true);
    std::printf("%d passed, %d failed\n", g_pass, g_fail);
  }
  if (bench) {
    benchTable<float>(runs);
    benchTable<double>(runs);
  }
  return g_fail ? 1 : 0;
}
