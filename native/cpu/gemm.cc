// Matrix multiply: out[b] = a[b] @ b[b].
//
// Two engines live here:
//  * BLAS (OpenBLAS or Accelerate) when compiled in and enabled. Strided
//    views are handed over as-is whenever one of their dims has unit stride
//    (a transposed view becomes CblasTrans); anything else is first packed
//    into a contiguous temporary.
//  * A built-in GEMM in the GotoBLAS/BLIS style: C is computed in
//    MC x NC blocks with K split into KC slabs; each slab of B is packed
//    into NR-wide column panels and each MC x KC block of A into MR-tall row
//    panels, so the register-tiled micro-kernel reads both operands
//    sequentially from cache. The micro-kernel is chosen at run time
//    (AVX-512, AVX2+FMA or portable scalar), so one binary runs on any
//    x86-64; the SIMD kernels carry target attributes instead of needing
//    -mavx* for the whole file. On arm64 the kernel is NEON, which every
//    AArch64 CPU has, so there is nothing to detect there.
#include "kernels.h"
#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#if defined(KD_WITH_OPENBLAS)
#include <cblas.h>
// OpenBLAS's own cblas.h declares this; repeated for builds that pick up
// another cblas.h while linking OpenBLAS.
extern "C" char* openblas_get_corename(void);
#define KD_HAVE_BLAS 1
#elif defined(KD_WITH_ACCELERATE)
#include <Accelerate/Accelerate.h>
#define KD_HAVE_BLAS 1
#else
#define KD_HAVE_BLAS 0
#endif

#if (defined(__x86_64__) || defined(__amd64__)) && (defined(__GNUC__) || defined(__clang__))
#define KD_GEMM_X86 1
#include <immintrin.h>

#include "cpu_features.h"
#define KD_TARGET_AVX512 __attribute__((target("avx512f")))
#define KD_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define KD_GEMM_X86 0
#endif

#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define KD_GEMM_NEON 1
#include <arm_neon.h>
#else
#define KD_GEMM_NEON 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define KD_RESTRICT __restrict__
// The micro-kernels keep their accumulators in arrays indexed by the row;
// only full unrolling lets the compiler turn those into registers.
#define KD_UNROLL _Pragma("GCC unroll 32")
#else
#define KD_RESTRICT
#define KD_UNROLL
#endif

namespace kd {

namespace {

// ---------------------------------------------------------------------------
// Run-time choices

// The x86 levels are ordered (a CPU with one runs the ones below it);
// Neon stands apart, on the other architecture.
enum class Simd : int { Scalar = 0, Avx2 = 1, Avx512 = 2, Neon = 3 };

Simd detectSimd() {
#if KD_GEMM_X86
  if (cpuHasAvx512f()) return Simd::Avx512;
  if (cpuHasAvx2Fma()) return Simd::Avx2;
#endif
#if KD_GEMM_NEON
  // Advanced SIMD is part of the AArch64 base architecture.
  return Simd::Neon;
#endif
  return Simd::Scalar;
}

Simd parseSimd(const char* s, Simd fallback) {
  if (!s) return fallback;
  std::string v(s);
  if (v == "avx512") return Simd::Avx512;
  if (v == "avx2") return Simd::Avx2;
  if (v == "neon") return Simd::Neon;
  if (v == "scalar") return Simd::Scalar;
  return fallback;
}

// Whether a CPU whose best level is `hw` can run the kernels of `want`:
// the portable ones always, the x86 ones up to the best it has, NEON
// where it was detected.
bool canRun(Simd want, Simd hw) {
  if (want == Simd::Scalar || want == hw) return true;
  return hw == Simd::Avx512 && want == Simd::Avx2;
}

struct SimdState {
  Simd hw;
  std::atomic<int> active;
  SimdState() : hw(detectSimd()), active(static_cast<int>(hw)) {
    // KINDLING_SIMD lets a user (or a benchmark) step down to a lower level;
    // a level the CPU lacks would crash, so it is ignored.
    Simd want = parseSimd(std::getenv("KINDLING_SIMD"), hw);
    if (canRun(want, hw)) active = static_cast<int>(want);
  }
};

SimdState& simdState() {
  static SimdState s;
  return s;
}

Simd activeSimd() { return static_cast<Simd>(simdState().active.load(std::memory_order_relaxed)); }

#if defined(KD_WITH_OPENBLAS) && KD_GEMM_X86
// Width in bits of the vectors the built-in kernels run at the active level.
int builtinSimdBits(Simd s) {
  switch (s) {
    case Simd::Avx512: return 512;
    case Simd::Avx2: return 256;
    case Simd::Neon: return 128;
    case Simd::Scalar: return 0;  // auto-vectorized at best
  }
  return 0;
}

// Width in bits of the vectors OpenBLAS's sgemm/dgemm kernels use for the
// core it runs (its name, which OPENBLAS_CORETYPE overrides); 128 (SSE)
// for a core it does not know and so runs generic kernels for. Zen and
// Excavator run OpenBLAS's Haswell (AVX2) kernels; Zen 4/5 too, since
// OpenBLAS (0.3.21) has no AVX-512 Zen target.
int openblasCoreBits() {
  const char* core = openblas_get_corename();
  if (!core) return 128;
  std::string name(core);
  for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const char* wide : {"skylakex", "cooperlake", "sapphire"})
    if (name.find(wide) != std::string::npos) return 512;
  for (const char* avx2 : {"haswell", "skylake", "zen", "excavator"})
    if (name.find(avx2) != std::string::npos) return 256;
  return 128;
}
#endif

// Which engine runs matmul when the user has not called setUseBlas: BLAS
// only where its kernels are wider than the built-in ones.
//
// Measured on an AMD EPYC Zen 5 (2 threads, torch.matmul, GFLOP/s built-in
// / OpenBLAS 0.3.21, the ratio in brackets):
//  * OpenBLAS on its Haswell (AVX2) kernels against the AVX-512 built-in
//    GEMM: squares 128-1024 1.7-6.7x, float64 1.8-2.0x, and the training
//    shapes (convolution im2col GEMMs and their gradients, linear layers,
//    LSTM gates, batched attention) 1.1-4.2x. The built-in GEMM wins
//    every shape.
//  * OpenBLAS SkylakeX (AVX-512, what lib/backend/native.ts picks for an
//    AVX-512 CPU when the user names no core) against the same: squares
//    256-1024 1.1-1.3x, float64 1.2-1.3x, training shapes 1.5-4x (OpenBLAS
//    threads each batch item and each small product on its own, waking
//    its threads every time). Equal width still favours the built-in GEMM.
//  * Built-in AVX2 (KINDLING_SIMD=avx2) against OpenBLAS Haswell: a tie
//    (0.9-1.2x) on large squares and long-K products, 1.3-3x on small and
//    batched ones.
// So the built-in GEMM is the default whenever its SIMD is at least as wide
// as the OpenBLAS core's, which also covers releases that do not know the
// CPU and fall back to generic SSE kernels (0.3.21 runs "Prescott" on
// 5th-gen Xeons, about 6x slower). BLAS stays the default where its
// kernels are wider (the built-in one stepped down by KINDLING_SIMD, or
// scalar), on arm64 (the NEON kernels are not tuned on hardware), and for
// Accelerate, whose sgemm runs on Apple's matrix units.
// setUseBlas(true/false) overrides this either way.
bool blasByDefault() {
#if defined(KD_WITH_OPENBLAS) && KD_GEMM_X86
  return openblasCoreBits() > builtinSimdBits(activeSimd());
#else
  return KD_HAVE_BLAS != 0;
#endif
}

// -1 until first asked: the default is worked out lazily rather than in a
// static initializer, so it never depends on OpenBLAS having initialized
// itself first.
std::atomic<int> g_blasMode{-1};

bool blasEnabled() {
  int mode = g_blasMode.load(std::memory_order_relaxed);
  if (mode < 0) {
    int expected = -1;
    g_blasMode.compare_exchange_strong(expected, blasByDefault() ? 1 : 0);
    mode = g_blasMode.load();
  }
  return mode == 1;
}

// ---------------------------------------------------------------------------
// Shapes

// A matmul operand as [outer, inner, rows, cols] with a stride for each
// batch level (0 when that level broadcasts). A 3-d view is [1, batch, ...];
// a 4-d one keeps its two batch dims apart, so [B, H, S, D] heads taken
// from a [B, S, H, D] tensor by a transpose need no copy.
struct MatDesc {
  int64_t outer, inner, rows, cols;
  int64_t os, bs, rs, cs;
};

MatDesc describe(const TensorView& t, const char* name) {
  MatDesc d{};
  const int n = t.ndim;
  if (n < 2 || n > 4)
    throw KernelError(std::string("matmul: ") + name + " must be 2-D, 3-D or 4-D, got " + std::to_string(n) + "-D");
  d.rows = t.shape[n - 2];
  d.cols = t.shape[n - 1];
  d.rs = t.strides[n - 2];
  d.cs = t.strides[n - 1];
  d.outer = n == 4 ? t.shape[0] : 1;
  d.os = n == 4 && t.shape[0] != 1 ? t.strides[0] : 0;
  d.inner = n >= 3 ? t.shape[n - 3] : 1;
  d.bs = n >= 3 && t.shape[n - 3] != 1 ? t.strides[n - 3] : 0;
  return d;
}

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

// One matmul problem on raw pointers; the batch loop lives outside. Batch
// b is (b / inner, b % inner) in the two batch levels, each operand with
// its own stride per level (0 broadcasts).
template <typename T>
struct Problem {
  int64_t batch, inner, M, N, K;
  const T* A;
  int64_t aos, abs, rsa, csa;
  const T* B;
  int64_t bos, bbs, rsb, csb;
  T* C;  // contiguous [batch, M, N]

  const T* a(int64_t b) const { return A + (b / inner) * aos + (b % inner) * abs; }
  const T* b(int64_t b) const { return B + (b / inner) * bos + (b % inner) * bbs; }
  bool aVaries() const { return aos != 0 || abs != 0; }
  bool bVaries() const { return bos != 0 || bbs != 0; }
};

// ---------------------------------------------------------------------------
// Pack buffers. Each thread keeps its own so that concurrent calls and pool
// workers never share scratch; they grow to the largest block seen and stay.

class AlignedBuf {
 public:
  ~AlignedBuf() { std::free(raw_); }
  template <typename T>
  T* get(size_t n) {
    size_t bytes = n * sizeof(T);
    if (bytes > cap_) {
      std::free(raw_);
      raw_ = nullptr;
      cap_ = 0;
      raw_ = std::malloc(bytes + kAlign);
      if (!raw_) throw KernelError("matmul: out of memory for pack buffer");
      cap_ = bytes;
    }
    uintptr_t p = reinterpret_cast<uintptr_t>(raw_);
    return reinterpret_cast<T*>((p + kAlign - 1) & ~static_cast<uintptr_t>(kAlign - 1));
  }

 private:
  static constexpr size_t kAlign = 64;
  void* raw_ = nullptr;
  size_t cap_ = 0;
};

struct PackBuffers {
  AlignedBuf a, b;
};

PackBuffers& packBuffers() {
  static thread_local PackBuffers bufs;
  return bufs;
}

// ---------------------------------------------------------------------------
// Micro-kernels. Contract: C[0:mr, 0:nr] (+)= Ap * Bp where Ap is an MR x kc
// panel stored k-major (MR values per k) and Bp a kc x NR panel stored
// k-major (NR values per k), both zero-padded, so a kernel always computes
// a full MR x NR tile and only the write-back looks at mr/nr.

template <typename T>
using UkrFn = void (*)(int64_t kc, const T* Ap, const T* Bp, T* C, int64_t ldc, int mr, int nr, bool acc);

// Edge tiles are rare (one row and one column of tiles per block), so they
// go through a small stack tile instead of masked stores in every kernel.
template <typename T>
inline void writeEdge(const T* tile, int ntile, T* C, int64_t ldc, int mr, int nr, bool acc) {
  for (int i = 0; i < mr; ++i) {
    T* c = C + i * ldc;
    const T* t = tile + i * ntile;
    if (acc) {
      for (int j = 0; j < nr; ++j) c[j] += t[j];
    } else {
      for (int j = 0; j < nr; ++j) c[j] = t[j];
    }
  }
}

// Portable kernel: written so the auto-vectorizer sees fixed-length inner
// loops (SSE2 on baseline x86-64, NEON on arm64).
template <typename T, int MR, int NR>
void ukrScalar(int64_t kc, const T* KD_RESTRICT Ap, const T* KD_RESTRICT Bp, T* KD_RESTRICT C, int64_t ldc, int mr,
               int nr, bool acc) {
  T c[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) c[i][j] = T(0);
  for (int64_t p = 0; p < kc; ++p) {
    KD_UNROLL
    for (int i = 0; i < MR; ++i) {
      const T a = Ap[i];
      KD_UNROLL
      for (int j = 0; j < NR; ++j) c[i][j] += a * Bp[j];
    }
    Ap += MR;
    Bp += NR;
  }
  writeEdge<T>(&c[0][0], NR, C, ldc, mr, nr, acc);
}

#if KD_GEMM_X86

// Per-ISA vector helpers. Every one carries its ISA's target attribute so it
// can inline into the kernel of the same ISA.
struct Avx512F32 {
  using V = __m512;
  static constexpr int W = 16;
  KD_TARGET_AVX512 static V zero() { return _mm512_setzero_ps(); }
  KD_TARGET_AVX512 static V load(const float* p) { return _mm512_loadu_ps(p); }
  KD_TARGET_AVX512 static V bcast(const float* p) { return _mm512_set1_ps(*p); }
  KD_TARGET_AVX512 static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  KD_TARGET_AVX512 static V add(V a, V b) { return _mm512_add_ps(a, b); }
  KD_TARGET_AVX512 static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
};
struct Avx512F64 {
  using V = __m512d;
  static constexpr int W = 8;
  KD_TARGET_AVX512 static V zero() { return _mm512_setzero_pd(); }
  KD_TARGET_AVX512 static V load(const double* p) { return _mm512_loadu_pd(p); }
  KD_TARGET_AVX512 static V bcast(const double* p) { return _mm512_set1_pd(*p); }
  KD_TARGET_AVX512 static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  KD_TARGET_AVX512 static V add(V a, V b) { return _mm512_add_pd(a, b); }
  KD_TARGET_AVX512 static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
};
struct Avx2F32 {
  using V = __m256;
  static constexpr int W = 8;
  KD_TARGET_AVX2 static V zero() { return _mm256_setzero_ps(); }
  KD_TARGET_AVX2 static V load(const float* p) { return _mm256_loadu_ps(p); }
  KD_TARGET_AVX2 static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  KD_TARGET_AVX2 static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  KD_TARGET_AVX2 static V add(V a, V b) { return _mm256_add_ps(a, b); }
  KD_TARGET_AVX2 static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
};
struct Avx2F64 {
  using V = __m256d;
  static constexpr int W = 4;
  KD_TARGET_AVX2 static V zero() { return _mm256_setzero_pd(); }
  KD_TARGET_AVX2 static V load(const double* p) { return _mm256_loadu_pd(p); }
  KD_TARGET_AVX2 static V bcast(const double* p) { return _mm256_broadcast_sd(p); }
  KD_TARGET_AVX2 static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  KD_TARGET_AVX2 static V add(V a, V b) { return _mm256_add_pd(a, b); }
  KD_TARGET_AVX2 static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
};

// The kernel body is shared by the ISAs; it is a macro only because the
// target attribute has to sit on each instantiated function, and a helper
// without it could not inline the intrinsics.
//
// Shape: MR rows broadcast from A, NV vectors of B per k, MR*NV
// accumulators (24 of 32 zmm for 12x32 floats, 12 of 16 ymm for 6x16).
// C is prefetched on entry because its first touch is the write-back,
// kc iterations later. (Unrolling the k loop by hand made GCC interleave
// the copies and spill accumulators, so it is left rolled.)
#define KD_DEFINE_SIMD_UKR(NAME, TARGET)                                                                        \
  template <class S, typename T, int MR, int NV>                                                                \
  TARGET void NAME(int64_t kc, const T* KD_RESTRICT Ap, const T* KD_RESTRICT Bp, T* KD_RESTRICT C, int64_t ldc, \
                   int mr, int nr, bool acc) {                                                                  \
    using V = typename S::V;                                                                                    \
    constexpr int W = S::W;                                                                                     \
    constexpr int NR = NV * W;                                                                                  \
    V c[MR][NV];                                                                                                \
    KD_UNROLL for (int i = 0; i < MR; ++i) KD_UNROLL for (int v = 0; v < NV; ++v) c[i][v] = S::zero();          \
    KD_UNROLL for (int i = 0; i < MR; ++i) {                                                                    \
      const char* row = reinterpret_cast<const char*>(C + i * ldc);                                             \
      KD_UNROLL for (int off = 0; off < NR * static_cast<int>(sizeof(T)); off += 64)                            \
          _mm_prefetch(row + off, _MM_HINT_T0);                                                                 \
      _mm_prefetch(row + NR * sizeof(T) - 1, _MM_HINT_T0);                                                      \
    }                                                                                                           \
    int64_t p = 0;                                                                                              \
    for (; p < kc; ++p) {                                                                                       \
      V b[NV];                                                                                                  \
      KD_UNROLL for (int v = 0; v < NV; ++v) b[v] = S::load(Bp + v * W);                                        \
      KD_UNROLL for (int i = 0; i < MR; ++i) {                                                                  \
        const V a = S::bcast(Ap + i);                                                                           \
        KD_UNROLL for (int v = 0; v < NV; ++v) c[i][v] = S::fma(a, b[v], c[i][v]);                              \
      }                                                                                                         \
      Ap += MR;                                                                                                 \
      Bp += NR;                                                                                                 \
    }                                                                                                           \
    if (mr == MR && nr == NR) {                                                                                 \
      KD_UNROLL for (int i = 0; i < MR; ++i) {                                                                  \
        T* cr = C + i * ldc;                                                                                    \
        KD_UNROLL for (int v = 0; v < NV; ++v) {                                                                \
          V r = acc ? S::add(c[i][v], S::load(cr + v * W)) : c[i][v];                                           \
          S::store(cr + v * W, r);                                                                              \
        }                                                                                                       \
      }                                                                                                         \
    } else {                                                                                                    \
      alignas(64) T tile[MR * NR];                                                                              \
      KD_UNROLL for (int i = 0; i < MR; ++i) KD_UNROLL for (int v = 0; v < NV; ++v)                             \
          S::store(tile + i * NR + v * W, c[i][v]);                                                             \
      writeEdge<T>(tile, NR, C, ldc, mr, nr, acc);                                                              \
    }                                                                                                           \
  }

KD_DEFINE_SIMD_UKR(ukrAvx512, KD_TARGET_AVX512)
KD_DEFINE_SIMD_UKR(ukrAvx2, KD_TARGET_AVX2)
#undef KD_DEFINE_SIMD_UKR

#endif  // KD_GEMM_X86

#if KD_GEMM_NEON

// NEON vector helpers. NEON multiplies by one lane of a register (FMLA by
// element), so the kernel loads A's MR values for a k as MR/W vectors and
// takes each row's value from its lane: MR/W + NV loads per k where the x86
// kernels do MR broadcasts. The lane has to be an immediate; the switch
// folds away once the kernel's loops are unrolled.
struct NeonF32 {
  using V = float32x4_t;
  static constexpr int W = 4;
  static V zero() { return vdupq_n_f32(0.0f); }
  static V load(const float* p) { return vld1q_f32(p); }
  static V add(V a, V b) { return vaddq_f32(a, b); }
  static void store(float* p, V v) { vst1q_f32(p, v); }
  // c + b * a[lane], rounded once.
  static V fmaLane(V c, V b, V a, int lane) {
    switch (lane) {
      case 0: return vfmaq_laneq_f32(c, b, a, 0);
      case 1: return vfmaq_laneq_f32(c, b, a, 1);
      case 2: return vfmaq_laneq_f32(c, b, a, 2);
      default: return vfmaq_laneq_f32(c, b, a, 3);
    }
  }
};
struct NeonF64 {
  using V = float64x2_t;
  static constexpr int W = 2;
  static V zero() { return vdupq_n_f64(0.0); }
  static V load(const double* p) { return vld1q_f64(p); }
  static V add(V a, V b) { return vaddq_f64(a, b); }
  static void store(double* p, V v) { vst1q_f64(p, v); }
  static V fmaLane(V c, V b, V a, int lane) {
    return lane == 0 ? vfmaq_laneq_f64(c, b, a, 0) : vfmaq_laneq_f64(c, b, a, 1);
  }
};

// The same contract and k order as the x86 kernels (one fused multiply-add
// per element per k), with AArch64's 32 vector registers: MR*NV
// accumulators, MR/W registers of A and NV of B per k.
template <class S, typename T, int MR, int NV>
void ukrNeon(int64_t kc, const T* KD_RESTRICT Ap, const T* KD_RESTRICT Bp, T* KD_RESTRICT C, int64_t ldc, int mr,
             int nr, bool acc) {
  using V = typename S::V;
  constexpr int W = S::W;
  constexpr int NR = NV * W;
  constexpr int NA = MR / W;
  static_assert(MR % W == 0, "MR must be a whole number of vectors");
  V c[MR][NV];
  KD_UNROLL for (int i = 0; i < MR; ++i) KD_UNROLL for (int v = 0; v < NV; ++v) c[i][v] = S::zero();
  // C's first touch is the write-back, kc iterations later.
  KD_UNROLL for (int i = 0; i < MR; ++i) {
    __builtin_prefetch(C + i * ldc, 1);
    __builtin_prefetch(C + i * ldc + NR - 1, 1);
  }
  for (int64_t p = 0; p < kc; ++p) {
    V a[NA], b[NV];
    KD_UNROLL for (int u = 0; u < NA; ++u) a[u] = S::load(Ap + u * W);
    KD_UNROLL for (int v = 0; v < NV; ++v) b[v] = S::load(Bp + v * W);
    KD_UNROLL for (int i = 0; i < MR; ++i) {
      KD_UNROLL for (int v = 0; v < NV; ++v) c[i][v] = S::fmaLane(c[i][v], b[v], a[i / W], i % W);
    }
    Ap += MR;
    Bp += NR;
  }
  if (mr == MR && nr == NR) {
    KD_UNROLL for (int i = 0; i < MR; ++i) {
      T* cr = C + i * ldc;
      KD_UNROLL for (int v = 0; v < NV; ++v) {
        V r = acc ? S::add(c[i][v], S::load(cr + v * W)) : c[i][v];
        S::store(cr + v * W, r);
      }
    }
  } else {
    alignas(64) T tile[MR * NR];
    KD_UNROLL for (int i = 0; i < MR; ++i) KD_UNROLL for (int v = 0; v < NV; ++v)
        S::store(tile + i * NR + v * W, c[i][v]);
    writeEdge<T>(tile, NR, C, ldc, mr, nr, acc);
  }
}

#endif  // KD_GEMM_NEON

// ---------------------------------------------------------------------------
// Packing

// dst[p * W + i] = src[i * ld + p] for i < W, p < kc: W rows that are each
// contiguous along k, interleaved k-major. This transpose is what a
// row-major A (or a transposed B, as in x @ W^T) needs; done one element at
// a time it cost more than a tenth of a whole product, so it goes through
// 4x4 / 2x2 register transposes. SSE2 is part of x86-64 and NEON of
// AArch64, so this needs no run-time dispatch.
template <typename T, int W>
void interleaveRows(const T* src, int64_t ld, int64_t kc, T* KD_RESTRICT dst) {
  int64_t p = 0;
#if KD_GEMM_X86
  if constexpr (std::is_same<T, float>::value) {
    for (; p + 4 <= kc; p += 4) {
      int i = 0;
      for (; i + 4 <= W; i += 4) {
        __m128 r0 = _mm_loadu_ps(src + (i + 0) * ld + p);
        __m128 r1 = _mm_loadu_ps(src + (i + 1) * ld + p);
        __m128 r2 = _mm_loadu_ps(src + (i + 2) * ld + p);
        __m128 r3 = _mm_loadu_ps(src + (i + 3) * ld + p);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        _mm_storeu_ps(dst + (p + 0) * W + i, r0);
        _mm_storeu_ps(dst + (p + 1) * W + i, r1);
        _mm_storeu_ps(dst + (p + 2) * W + i, r2);
        _mm_storeu_ps(dst + (p + 3) * W + i, r3);
      }
      for (; i + 2 <= W; i += 2) {
        const __m128 a = _mm_loadu_ps(src + i * ld + p), b = _mm_loadu_ps(src + (i + 1) * ld + p);
        const __m128 lo = _mm_unpacklo_ps(a, b), hi = _mm_unpackhi_ps(a, b);
        _mm_storel_pi(reinterpret_cast<__m64*>(dst + (p + 0) * W + i), lo);
        _mm_storeh_pi(reinterpret_cast<__m64*>(dst + (p + 1) * W + i), lo);
        _mm_storel_pi(reinterpret_cast<__m64*>(dst + (p + 2) * W + i), hi);
        _mm_storeh_pi(reinterpret_cast<__m64*>(dst + (p + 3) * W + i), hi);
      }
      for (; i < W; ++i)
        for (int u = 0; u < 4; ++u) dst[(p + u) * W + i] = src[i * ld + p + u];
    }
  } else {
    for (; p + 2 <= kc; p += 2) {
      int i = 0;
      for (; i + 2 <= W; i += 2) {
        const __m128d a = _mm_loadu_pd(src + i * ld + p), b = _mm_loadu_pd(src + (i + 1) * ld + p);
        _mm_storeu_pd(dst + p * W + i, _mm_unpacklo_pd(a, b));
        _mm_storeu_pd(dst + (p + 1) * W + i, _mm_unpackhi_pd(a, b));
      }
      for (; i < W; ++i) {
        dst[p * W + i] = src[i * ld + p];
        dst[(p + 1) * W + i] = src[i * ld + p + 1];
      }
    }
  }
#elif KD_GEMM_NEON
  if constexpr (std::is_same<T, float>::value) {
    for (; p + 4 <= kc; p += 4) {
      int i = 0;
      for (; i + 4 <= W; i += 4) {
        // vtrnq pairs rows 0/1 and 2/3 element by element; the halves of
        // those pairs are the columns.
        const float32x4x2_t t01 = vtrnq_f32(vld1q_f32(src + (i + 0) * ld + p), vld1q_f32(src + (i + 1) * ld + p));
        const float32x4x2_t t23 = vtrnq_f32(vld1q_f32(src + (i + 2) * ld + p), vld1q_f32(src + (i + 3) * ld + p));
        vst1q_f32(dst + (p + 0) * W + i, vcombine_f32(vget_low_f32(t01.val[0]), vget_low_f32(t23.val[0])));
        vst1q_f32(dst + (p + 1) * W + i, vcombine_f32(vget_low_f32(t01.val[1]), vget_low_f32(t23.val[1])));
        vst1q_f32(dst + (p + 2) * W + i, vcombine_f32(vget_high_f32(t01.val[0]), vget_high_f32(t23.val[0])));
        vst1q_f32(dst + (p + 3) * W + i, vcombine_f32(vget_high_f32(t01.val[1]), vget_high_f32(t23.val[1])));
      }
      for (; i + 2 <= W; i += 2) {
        const float32x4_t a = vld1q_f32(src + i * ld + p), b = vld1q_f32(src + (i + 1) * ld + p);
        const float32x4_t lo = vzip1q_f32(a, b), hi = vzip2q_f32(a, b);
        vst1_f32(dst + (p + 0) * W + i, vget_low_f32(lo));
        vst1_f32(dst + (p + 1) * W + i, vget_high_f32(lo));
        vst1_f32(dst + (p + 2) * W + i, vget_low_f32(hi));
        vst1_f32(dst + (p + 3) * W + i, vget_high_f32(hi));
      }
      for (; i < W; ++i)
        for (int u = 0; u < 4; ++u) dst[(p + u) * W + i] = src[i * ld + p + u];
    }
  } else {
    for (; p + 2 <= kc; p += 2) {
      int i = 0;
      for (; i + 2 <= W; i += 2) {
        const float64x2_t a = vld1q_f64(src + i * ld + p), b = vld1q_f64(src + (i + 1) * ld + p);
        vst1q_f64(dst + p * W + i, vzip1q_f64(a, b));
        vst1q_f64(dst + (p + 1) * W + i, vzip2q_f64(a, b));
      }
      for (; i < W; ++i) {
        dst[p * W + i] = src[i * ld + p];
        dst[(p + 1) * W + i] = src[i * ld + p + 1];
      }
    }
  }
#endif
  for (; p < kc; ++p)
    for (int i = 0; i < W; ++i) dst[p * W + i] = src[i * ld + p];
}

// dst[p * W + j] = src[p * ld + j]: rows already laid out along the panel.
// A fixed-size memcpy is inlined as vector moves (a plain loop became a
// call to memmove per row).
template <typename T, int W>
void copyRows(const T* src, int64_t ld, int64_t kc, T* KD_RESTRICT dst) {
  for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * W, src + p * ld, W * sizeof(T));
}

// A block (mc x kc, any strides) -> ceil(mc/MR) panels of MR x kc, k-major,
// the last one zero-padded.
template <typename T, int MR>
void packA(int64_t mc, int64_t kc, const T* A, int64_t rsa, int64_t csa, T* KD_RESTRICT dst) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    const int mr = static_cast<int>(std::min<int64_t>(MR, mc - i0));
    const T* a = A + i0 * rsa;
    if (mr == MR && csa == 1) {
      interleaveRows<T, MR>(a, rsa, kc, dst);
    } else if (mr == MR && rsa == 1) {
      copyRows<T, MR>(a, csa, kc, dst);
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        int i = 0;
        for (; i < mr; ++i) dst[p * MR + i] = a[i * rsa + p * csa];
        for (; i < MR; ++i) dst[p * MR + i] = T(0);
      }
    }
    dst += MR * kc;
  }
}

// B slab (kc x nc, any strides) -> ceil(nc/NR) panels of kc x NR, k-major,
// the last one zero-padded.
template <typename T, int NR>
void packB(int64_t kc, int64_t nc, const T* B, int64_t rsb, int64_t csb, T* KD_RESTRICT dst) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int nr = static_cast<int>(std::min<int64_t>(NR, nc - j0));
    const T* b = B + j0 * csb;
    if (nr == NR && csb == 1) {
      copyRows<T, NR>(b, rsb, kc, dst);
    } else if (nr == NR && rsb == 1) {
      interleaveRows<T, NR>(b, csb, kc, dst);
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        int j = 0;
        for (; j < nr; ++j) dst[p * NR + j] = b[p * rsb + j * csb];
        for (; j < NR; ++j) dst[p * NR + j] = T(0);
      }
    }
    dst += NR * kc;
  }
}

// ---------------------------------------------------------------------------
// Blocked drivers. A, B and C are already offset to the corner of the part
// of C being computed.

struct Blocking {
  int64_t mc, kc, nc;
};

// K and N are split evenly into slabs, so that a size just over a block
// boundary does not leave a thin sliver that runs at poor efficiency.
struct Slabs {
  int64_t KC, NC;
};

template <int NR>
Slabs slabs(const Blocking& bk, int64_t N, int64_t K) {
  return {ceilDiv(K, ceilDiv(K, bk.kc)), roundUp(ceilDiv(N, ceilDiv(N, bk.nc)), NR)};
}

// C[0:mc, 0:nc] (+)= packed A block * packed B columns. jr outer / ir
// inner: each kc x NR panel of B, once fetched, serves every row panel of
// the A block (which sits in L2) before the next panel is touched.
template <typename T, int MR, int NR, UkrFn<T> UKR>
void macroKernel(int64_t mc, int64_t nc, int64_t kc, const T* ap, const T* bp, T* C, int64_t ldc, bool acc) {
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
    const T* bpanel = bp + jr * kc;
    for (int64_t ir = 0; ir < mc; ir += MR) {
      const int mr = static_cast<int>(std::min<int64_t>(MR, mc - ir));
      UKR(kc, ap + ir * kc, bpanel, C + ir * ldc + jr, ldc, mr, nr, acc);
    }
  }
}

// Single-threaded: the whole of an M x N part of C.
template <typename T, int MR, int NR, UkrFn<T> UKR>
void gemmSerial(const Blocking& bk, int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B,
                int64_t rsb, int64_t csb, T* C, int64_t ldc) {
  const Slabs sl = slabs<NR>(bk, N, K);
  const int64_t MC = roundUp(ceilDiv(M, ceilDiv(M, bk.mc)), MR);
  PackBuffers& bufs = packBuffers();
  T* ap = bufs.a.get<T>(static_cast<size_t>(sl.KC * std::min(MC, roundUp(M, MR))));
  if (M <= MC && sl.KC * std::min(sl.NC, N) * static_cast<int64_t>(sizeof(T)) > (int64_t(256) << 10)) {
    // One row block (a convolution's output channels, a linear layer's
    // batch) against a B slab larger than L2: each B panel is used by this
    // block alone, so it is packed right before use and is still in cache
    // for the micro-kernels. Packing the whole slab first wrote it out to
    // memory and read it back, which held a 64 x 288 x 12544 convolution
    // GEMM to 175 GFLOP/s on Zen 5 (2 threads) where squares reach 350;
    // panel by panel it runs at 300. A slab that fits in L2 is packed
    // whole as before: per-panel calls cost 15% at K = 9.
    T* bp = bufs.b.get<T>(static_cast<size_t>(sl.KC * NR));
    for (int64_t jc = 0; jc < N; jc += sl.NC) {
      const int64_t nc = std::min(sl.NC, N - jc);
      for (int64_t pc = 0; pc < K; pc += sl.KC) {
        const int64_t kc = std::min(sl.KC, K - pc);
        packA<T, MR>(M, kc, A + pc * csa, rsa, csa, ap);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nr = std::min<int64_t>(NR, nc - jr);
          packB<T, NR>(kc, nr, B + pc * rsb + (jc + jr) * csb, rsb, csb, bp);
          macroKernel<T, MR, NR, UKR>(M, nr, kc, ap, bp, C + jc + jr, ldc, pc > 0);
        }
      }
    }
    return;
  }
  T* bp = bufs.b.get<T>(static_cast<size_t>(sl.KC * std::min(sl.NC, roundUp(N, NR))));
  for (int64_t jc = 0; jc < N; jc += sl.NC) {
    const int64_t nc = std::min(sl.NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += sl.KC) {
      const int64_t kc = std::min(sl.KC, K - pc);
      packB<T, NR>(kc, nc, B + pc * rsb + jc * csb, rsb, csb, bp);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        packA<T, MR>(mc, kc, A + ic * rsa + pc * csa, rsa, csa, ap);
        macroKernel<T, MR, NR, UKR>(mc, nc, kc, ap, bp, C + ic * ldc + jc, ldc, pc > 0);
      }
    }
  }
}

// Multi-threaded, for one large product. Per K slab the B slab is packed
// once, by all threads together, into a buffer they share; then the slab's
// work items (row blocks of C, also cut into column ranges when M is short)
// are claimed dynamically, each packing its A block into its own thread's
// buffer. Dynamic claiming of several items per thread matters on a shared
// machine: with one fixed half per core, a core that is also running
// something else holds up the whole product.
template <typename T, int MR, int NR, UkrFn<T> UKR>
void gemmParallel(const Blocking& bk, int threads, int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa,
                  int64_t csa, const T* B, int64_t rsb, int64_t csb, T* C, int64_t ldc) {
  const Slabs sl = slabs<NR>(bk, N, K);
  const int64_t target = 4 * static_cast<int64_t>(threads);
  // Row blocks: no taller than bk.mc; as many as `target` where M allows
  // it without going under 8 row panels (each B panel fetched is then used
  // at least 8 times); and a multiple of the thread count, so the last
  // round of items does not leave threads idle.
  int64_t mBlocks = std::max(ceilDiv(M, bk.mc), std::min(target, ceilDiv(M, 8 * MR)));
  if (mBlocks > threads) mBlocks = roundUp(mBlocks, threads);
  const int64_t MC = roundUp(ceilDiv(M, mBlocks), MR);
  mBlocks = ceilDiv(M, MC);
  const int64_t ncMax = std::min(sl.NC, roundUp(N, NR));
  const int64_t panelsMax = ceilDiv(ncMax, NR);
  const int64_t nSplit = std::max<int64_t>(1, std::min(ceilDiv(target, mBlocks), panelsMax / 4));
  const int64_t items = mBlocks * nSplit;

  T* bp = packBuffers().b.get<T>(static_cast<size_t>(sl.KC * ncMax));
  for (int64_t jc = 0; jc < N; jc += sl.NC) {
    const int64_t nc = std::min(sl.NC, N - jc);
    const int64_t panels = ceilDiv(nc, NR);
    const int64_t panelsPerSplit = ceilDiv(panels, nSplit);
    for (int64_t pc = 0; pc < K; pc += sl.KC) {
      const int64_t kc = std::min(sl.KC, K - pc);
      const bool acc = pc > 0;
      const T* bslab = B + pc * rsb + jc * csb;
      parallelFor(0, panels, std::max<int64_t>(4, ceilDiv(panels, 2 * threads)), [&](int64_t p0, int64_t p1) {
        packB<T, NR>(kc, std::min(nc, p1 * NR) - p0 * NR, bslab + p0 * NR * csb, rsb, csb, bp + p0 * NR * kc);
      });
      parallelFor(0, items, 1, [&](int64_t t0, int64_t t1) {
        T* ap = packBuffers().a.get<T>(static_cast<size_t>(kc * MC));
        int64_t packed = -1;  // items of one row block share a packed A
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t ib = t / nSplit, js = t % nSplit;
          const int64_t ic = ib * MC, mc = std::min(MC, M - ic);
          const int64_t j0 = std::min(nc, js * panelsPerSplit * NR);
          const int64_t j1 = std::min(nc, (js + 1) * panelsPerSplit * NR);
          if (j0 >= j1) continue;
          if (packed != ib) {
            packA<T, MR>(mc, kc, A + ic * rsa + pc * csa, rsa, csa, ap);
            packed = ib;
          }
          macroKernel<T, MR, NR, UKR>(mc, j1 - j0, kc, ap, bp + j0 * kc, C + ic * ldc + jc + j0, ldc, acc);
        }
      });
    }
  }
}

template <typename T>
struct Engine {
  void (*serial)(const Blocking&, int64_t, int64_t, int64_t, const T*, int64_t, int64_t, const T*, int64_t, int64_t, T*,
                 int64_t);
  void (*parallel)(const Blocking&, int, int64_t, int64_t, int64_t, const T*, int64_t, int64_t, const T*, int64_t,
                   int64_t, T*, int64_t);
  int mr, nr;
  Blocking bk;
};

template <typename T, int MR, int NR, UkrFn<T> UKR>
Engine<T> makeEngine(Blocking bk) {
  return {&gemmSerial<T, MR, NR, UKR>, &gemmParallel<T, MR, NR, UKR>, MR, NR, bk};
}

// Tile shapes and block sizes, measured on a Xeon with AVX-512 (48 KiB L1,
// 2 MiB L2) against OpenBLAS's SkylakeX kernels. On AVX-512 the widest tile
// won: 6 rows x 4 vectors (6x64 floats, 6x32 doubles), 24 accumulators and
// only 6 broadcasts per 4 vector loads. Its kc x NR panel of B (96-128 KiB)
// lives in L2 next to the MC x KC block of A, which is why KC can be this
// large; fewer K slabs mean fewer passes over C. The narrower 12 x 2-vector
// tile is kept for products whose N would leave much of a 64-wide tile as
// padding, and an 8 x 3-vector tile for the short M of a convolution's
// channels (16 or 32 output channels fill 8-row tiles exactly, where 6-row
// tiles compute 18 or 36 rows and 12-row ones 24 or 36). Whichever tile
// pads M x N least is used, the 6x4 one unless another saves a tenth of
// the work. The AVX2 shapes (6x16 / 6x8 in 16 ymm registers) and blocks
// follow the usual Haswell-class choice for a 256 KiB L2. The NEON shapes
// (8x12 floats, 6x8 doubles: 24 accumulators of 32 registers) and blocks
// are not tuned on hardware (the port is tested under emulation): they are
// sized for the Neoverse cores of Graviton and Ampere servers (64 KiB L1,
// 1 MiB L2 or more), a kc x NR panel of B (24 / 16 KiB) in L1 and the
// MC x KC block of A (256 / 240 KiB) in L2.
template <typename T>
Engine<T> pickEngine(Simd simd, int64_t M, int64_t N);

// True when padding N to a multiple of `narrow` wastes clearly less than
// padding it to a multiple of `wide`.
inline bool preferNarrow(int64_t N, int64_t wide, int64_t narrow) {
  return roundUp(N, wide) * 10 > roundUp(N, narrow) * 11;
}

// The multiply-adds an MR x NR tile computes for an M x N product, padding included.
inline int64_t paddedWork(int64_t M, int64_t N, int64_t mr, int64_t nr) { return roundUp(M, mr) * roundUp(N, nr); }

template <>
Engine<float> pickEngine<float>(Simd simd, int64_t M, int64_t N) {
#if KD_GEMM_X86
  if (simd == Simd::Avx512) {
    const Engine<float> wide = makeEngine<float, 6, 64, &ukrAvx512<Avx512F32, float, 6, 4>>({192, 512, 4096});
    const Engine<float> alts[2] = {makeEngine<float, 12, 32, &ukrAvx512<Avx512F32, float, 12, 2>>({384, 384, 4096}),
                                   makeEngine<float, 8, 48, &ukrAvx512<Avx512F32, float, 8, 3>>({192, 512, 4096})};
    const Engine<float>* best = &wide;
    int64_t bestWork = paddedWork(M, N, wide.mr, wide.nr) * 9 / 10;
    for (const Engine<float>& e : alts) {
      const int64_t w = paddedWork(M, N, e.mr, e.nr);
      if (w < bestWork) {
        best = &e;
        bestWork = w;
      }
    }
    return *best;
  }
  if (simd == Simd::Avx2) return makeEngine<float, 6, 16, &ukrAvx2<Avx2F32, float, 6, 2>>({144, 256, 4096});
#endif
#if KD_GEMM_NEON
  if (simd == Simd::Neon) return makeEngine<float, 8, 12, &ukrNeon<NeonF32, float, 8, 3>>({128, 512, 4096});
#endif
  (void)simd;
  (void)M;
  (void)N;
  return makeEngine<float, 4, 8, &ukrScalar<float, 4, 8>>({128, 256, 4096});
}

template <>
Engine<double> pickEngine<double>(Simd simd, int64_t M, int64_t N) {
#if KD_GEMM_X86
  if (simd == Simd::Avx512) {
    if (preferNarrow(N, 32, 16))
      return makeEngine<double, 12, 16, &ukrAvx512<Avx512F64, double, 12, 2>>({192, 256, 4096});
    return makeEngine<double, 6, 32, &ukrAvx512<Avx512F64, double, 6, 4>>({192, 384, 4096});
  }
  if (simd == Simd::Avx2) return makeEngine<double, 6, 8, &ukrAvx2<Avx2F64, double, 6, 2>>({96, 256, 4096});
#endif
#if KD_GEMM_NEON
  if (simd == Simd::Neon) return makeEngine<double, 6, 8, &ukrNeon<NeonF64, double, 6, 4>>({120, 256, 4096});
#endif
  (void)simd;
  (void)M;
  (void)N;
  return makeEngine<double, 4, 4, &ukrScalar<double, 4, 4>>({128, 256, 4096});
}

// Straight loops for problems too small to repay packing, and for the
// matrix-vector shapes where a register tile would be mostly padding.
template <typename T>
void gemmSmall(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t rsb,
               int64_t csb, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    const T* a = A + i * rsa;
    if (csb == 1 && N > 1) {
      // Rows of B are contiguous: accumulate a[k] * B[k, :] into the row.
      for (int64_t j = 0; j < N; ++j) c[j] = T(0);
      for (int64_t k = 0; k < K; ++k) {
        const T av = a[k * csa];
        const T* b = B + k * rsb;
        for (int64_t j = 0; j < N; ++j) c[j] += av * b[j];
      }
    } else {
      for (int64_t j = 0; j < N; ++j) {
        const T* b = B + j * csb;
        // Eight partial sums break the add dependency chain (and let the
        // compiler use vectors when both sides are unit-stride).
        T s[8] = {};
        int64_t k = 0;
        if (csa == 1 && rsb == 1) {
          for (; k + 8 <= K; k += 8)
            for (int u = 0; u < 8; ++u) s[u] += a[k + u] * b[k + u];
        } else {
          for (; k + 8 <= K; k += 8)
            for (int u = 0; u < 8; ++u) s[u] += a[(k + u) * csa] * b[(k + u) * rsb];
        }
        for (; k < K; ++k) s[0] += a[k * csa] * b[k * rsb];
        c[j] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
      }
    }
  }
}

template <typename T>
void builtinMatmul(const Problem<T>& pr) {
  const int64_t M = pr.M, N = pr.N, K = pr.K, batch = pr.batch;
  const int64_t macs = M * N * K;
  auto ptrA = [&](int64_t b) { return pr.a(b); };
  auto ptrB = [&](int64_t b) { return pr.b(b); };
  auto ptrC = [&](int64_t b) { return pr.C + b * M * N; };

  if (macs <= 4096 || M == 1 || N == 1) {
    auto run = [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b)
        gemmSmall<T>(M, N, K, ptrA(b), pr.rsa, pr.csa, ptrB(b), pr.rsb, pr.csb, ptrC(b), N);
    };
    if (batch > 1 && macs * batch >= (int64_t(1) << 18))
      parallelFor(0, batch, std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(macs, 1)), run);
    else run(0, batch);
    return;
  }

  const Engine<T> eng = pickEngine<T>(activeSimd(), M, N);
  const int threads = std::max(1, getNumThreads());
  const int64_t total = macs * batch;
  // Below ~1M multiply-adds per thread, handing work to the pool costs more
  // than the other cores give back.
  const int64_t useThreads = std::min<int64_t>(threads, std::max<int64_t>(1, total / (int64_t(1) << 20)));

  if (useThreads <= 1) {
    for (int64_t b = 0; b < batch; ++b)
      eng.serial(eng.bk, M, N, K, ptrA(b), pr.rsa, pr.csa, ptrB(b), pr.rsb, pr.csb, ptrC(b), N);
    return;
  }

  // A long K behind a small C (a convolution's weight gradient, 64 x 288
  // summed over 12544 positions; a linear layer's 64 x 128 over 3136
  // inputs) leaves too few tiles of C to share out: splitting rows or
  // columns gave one thread all of it. Each thread instead takes a range of
  // K into its own copy of C, summed at the end (M*N adds per thread next
  // to M*N*K/threads multiply-adds). Only for a C of up to 2^18 elements:
  // a larger one has tiles enough, and each thread's copy would be MiBs.
  if (batch == 1 && K >= 4 * std::max(M, N) && K >= 256 * useThreads && M * N <= (int64_t(1) << 18)) {
    const int64_t parts = useThreads;
    const int64_t kStep = ceilDiv(K, parts);
    std::vector<T> partial(static_cast<size_t>((parts - 1) * M * N));
    T* C0 = ptrC(0);
    parallelFor(0, parts, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t k0 = t * kStep, kk = std::min(kStep, K - k0);
        T* dst = t == 0 ? C0 : partial.data() + (t - 1) * M * N;
        if (kk <= 0) {
          std::fill(dst, dst + M * N, T(0));
          continue;
        }
        eng.serial(eng.bk, M, N, kk, pr.A + k0 * pr.csa, pr.rsa, pr.csa, pr.B + k0 * pr.rsb, pr.rsb, pr.csb, dst, N);
      }
    });
    // Serial: at these sizes of C a third hand-off costs more than the adds.
    for (int64_t t = 1; t < parts; ++t) {
      const T* src = partial.data() + (t - 1) * M * N;
      for (int64_t i = 0; i < M * N; ++i) C0[i] += src[i];
    }
    return;
  }

  // Large products with more than one row block are threaded inside
  // (shared packed B, dynamic row blocks). That takes two pool hand-offs
  // per K slab, so products under ~256^3 multiply-adds, and batches with a
  // matrix per thread, take the one-hand-off route below instead.
  if (M > eng.bk.mc && (macs >= (int64_t(1) << 26) || (batch < useThreads && macs >= (int64_t(1) << 24)))) {
    for (int64_t b = 0; b < batch; ++b)
      eng.parallel(eng.bk, static_cast<int>(useThreads), M, N, K, ptrA(b), pr.rsa, pr.csa, ptrB(b), pr.rsb, pr.csb,
                   ptrC(b), N);
    return;
  }

  // The rest run as independent tasks in one hand-off: whole matrices
  // when there are enough of them, else parts of C. Each task packs its
  // own operands: a row part packs all of B, a column part all of A (and
  // A's pack is the costlier transpose), so a short, wide C (one row
  // block: convolution channels, a linear layer's batch) is cut into
  // columns only; up to four parts per thread where each still has 4M
  // multiply-adds and four NR panels, so that a core busy with something
  // else holds up one small part, not half the product (below that the
  // extra hand-offs cost more, 8% on a 32 x 256 x 1024 LSTM gate GEMM).
  int64_t ms = 1, ns = 1;
  if (batch < useThreads) {
    if (M <= eng.bk.mc && N >= 2 * M) {
      const int64_t perMatrix = ceilDiv(useThreads, batch);
      const int64_t want = std::min(4 * perMatrix, std::max(perMatrix, macs >> 22));
      ns = std::max<int64_t>(1, std::min(want, N / (4 * eng.nr)));
      if (ns < perMatrix) ns = std::max<int64_t>(1, std::min(perMatrix, N / eng.nr));
    } else {
      const int64_t perMatrix = ceilDiv(useThreads, batch);
      ms = std::max<int64_t>(1, std::min(perMatrix, M / (4 * eng.mr)));
      ns = std::max<int64_t>(1, std::min(ceilDiv(perMatrix, ms), N / (2 * eng.nr)));
    }
  }
  const int64_t mStep = roundUp(ceilDiv(M, ms), eng.mr);
  const int64_t nStep = roundUp(ceilDiv(N, ns), eng.nr);
  ms = ceilDiv(M, mStep);
  ns = ceilDiv(N, nStep);
  const int64_t tasks = batch * ms * ns;
  parallelFor(0, tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / (ms * ns);
      const int64_t r = t % (ms * ns);
      const int64_t i0 = (r / ns) * mStep, j0 = (r % ns) * nStep;
      const int64_t mm = std::min(mStep, M - i0), nn = std::min(nStep, N - j0);
      eng.serial(eng.bk, mm, nn, K, ptrA(b) + i0 * pr.rsa, pr.rsa, pr.csa, ptrB(b) + j0 * pr.csb, pr.rsb, pr.csb,
                 ptrC(b) + i0 * N + j0, N);
    }
  });
}

// An M x K strided matrix into contiguous rows.
template <typename T>
void copyRowMajor(int64_t M, int64_t K, const T* src, int64_t rs, int64_t cs, T* dst) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t k = 0; k < K; ++k) dst[i * K + k] = src[i * rs + k * cs];
}

// ---------------------------------------------------------------------------
// Serial strided GEMM for kernels that run their own parallel loop (fused
// attention): the built-in engine on the calling thread, never BLAS, whose
// own threads would compete with the pool's.

template <typename T>
void gemmStridedTyped(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t rsb,
                      int64_t csb, T* C, int64_t ldc, bool accumulate) {
  if (M == 0 || N == 0) return;
  // Accumulating goes through a scratch product: M*N adds next to M*N*K
  // multiply-adds, and the engines stay overwrite-only.
  thread_local std::vector<T> scratch;
  T* dst = C;
  int64_t ld = ldc;
  if (accumulate) {
    scratch.resize(static_cast<size_t>(M * N));
    dst = scratch.data();
    ld = N;
  }
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) dst[i * ld + j] = T(0);
  } else if (M * N * K <= 4096 || M == 1 || N == 1) {
    gemmSmall<T>(M, N, K, A, rsa, csa, B, rsb, csb, dst, ld);
  } else {
    const Engine<T> eng = pickEngine<T>(activeSimd(), M, N);
    eng.serial(eng.bk, M, N, K, A, rsa, csa, B, rsb, csb, dst, ld);
  }
  if (accumulate)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] += dst[i * N + j];
}

// ---------------------------------------------------------------------------
// BLAS

#if KD_HAVE_BLAS

// How a strided matrix can be described to row-major CBLAS: as itself
// (NoTrans) with leading dimension rs, as the transpose of a row-major
// matrix (Trans) with leading dimension cs, or not at all. A dim of size 1
// leaves its stride free, so it never disqualifies a layout.
struct BlasLayout {
  bool ok, trans;
  int64_t ld;
};

BlasLayout blasLayout(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  const bool rowMajor = (cols == 1 || cs == 1) && (rows == 1 || rs >= std::max<int64_t>(1, cols));
  if (rowMajor) {
    int64_t ld = rows == 1 ? std::max<int64_t>(1, cols) : rs;
    if (ld <= INT_MAX) return {true, false, ld};
  }
  const bool colMajor = (rows == 1 || rs == 1) && (cols == 1 || cs >= std::max<int64_t>(1, rows));
  if (colMajor) {
    int64_t ld = cols == 1 ? std::max<int64_t>(1, rows) : cs;
    if (ld <= INT_MAX) return {true, true, ld};
  }
  return {false, false, 0};
}

inline void blasGemm(bool ta, bool tb, int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C,
                     int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda, B,
              ldb, 0.0f, C, ldc);
}
inline void blasGemm(bool ta, bool tb, int M, int N, int K, const double* A, int lda, const double* B, int ldb,
                     double* C, int ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0, A, lda, B,
              ldb, 0.0, C, ldc);
}

template <typename T>
void copyContiguous(int64_t rows, int64_t cols, const T* src, int64_t rs, int64_t cs, T* dst) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) dst[i * cols + j] = src[i * rs + j * cs];
}

// Returns false when the problem cannot be expressed to CBLAS (dims over
// INT_MAX), so the caller falls back to the built-in GEMM.
template <typename T>
bool blasMatmul(const Problem<T>& pr) {
  const int64_t M = pr.M, N = pr.N, K = pr.K;
  if (M > INT_MAX || N > INT_MAX || K > INT_MAX) return false;
  BlasLayout la = blasLayout(M, K, pr.rsa, pr.csa);
  BlasLayout lb = blasLayout(K, N, pr.rsb, pr.csb);
  std::vector<T> tmpA, tmpB;
  // A broadcast operand (batch stride 0) is packed once, not per batch.
  int64_t packedA = -1, packedB = -1;
  for (int64_t b = 0; b < pr.batch; ++b) {
    const T* A = pr.a(b);
    const T* B = pr.b(b);
    BlasLayout ua = la, ub = lb;
    if (!la.ok) {
      if (tmpA.empty()) tmpA.resize(static_cast<size_t>(M * K));
      if (packedA < 0 || pr.aVaries()) copyContiguous(M, K, A, pr.rsa, pr.csa, tmpA.data());
      packedA = b;
      A = tmpA.data();
      ua = {true, false, std::max<int64_t>(1, K)};
    }
    if (!lb.ok) {
      if (tmpB.empty()) tmpB.resize(static_cast<size_t>(K * N));
      if (packedB < 0 || pr.bVaries()) copyContiguous(K, N, B, pr.rsb, pr.csb, tmpB.data());
      packedB = b;
      B = tmpB.data();
      ub = {true, false, std::max<int64_t>(1, N)};
    }
    blasGemm(ua.trans, ub.trans, static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), A,
             static_cast<int>(ua.ld), B, static_cast<int>(ub.ld), pr.C + b * M * N,
             static_cast<int>(std::max<int64_t>(1, N)));
  }
  return true;
}

#endif  // KD_HAVE_BLAS

template <typename T>
void matmulTyped(Problem<T> pr, bool allowBlas) {
  // out[b] = a[b] @ W with W shared is a single [batch*M, K] @ [K, N]
  // product: one big GEMM beats many small ones, each packing W again (the
  // linear-layer case). When a's batches are not evenly spaced rows (a
  // linear layer on a transposed [S, N, E] view) a is first gathered into
  // a contiguous copy, M*K per batch next to the product's M*N*K.
  std::vector<T> gathered;
  if (pr.batch > 1 && !pr.bVaries()) {
    const bool evenly = pr.abs == pr.M * pr.rsa && (pr.batch == pr.inner || pr.aos == pr.inner * pr.abs) && pr.M > 1;
    if (!evenly) {
      const int64_t M = pr.M, K = pr.K;
      gathered.resize(static_cast<size_t>(pr.batch * M * K));
      T* dst = gathered.data();
      parallelFor(0, pr.batch, std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(M * K, 1)),
                  [&](int64_t b0, int64_t b1) {
                    for (int64_t b = b0; b < b1; ++b) copyRowMajor(M, K, pr.a(b), pr.rsa, pr.csa, dst + b * M * K);
                  });
      pr.A = dst;
      pr.rsa = K;
      pr.csa = 1;
    }
    pr.M *= pr.batch;
    pr.batch = pr.inner = 1;
    pr.abs = pr.aos = 0;
  }
#if KD_HAVE_BLAS
  if (allowBlas && blasEnabled() && blasMatmul(pr)) return;
#endif
  builtinMatmul(pr);
}

}  // namespace

namespace {
void matmulImpl(const TensorView& a, const TensorView& b, const TensorView& out, bool allowBlas) {
  if (a.dtype != DType::Float32 && a.dtype != DType::Float64)
    throw KernelError(std::string("matmul: expected float32 or float64, got ") + dtypeName(a.dtype));
  if (b.dtype != a.dtype || out.dtype != a.dtype)
    throw KernelError(std::string("matmul: dtype mismatch (") + dtypeName(a.dtype) + ", " + dtypeName(b.dtype) +
                      " -> " + dtypeName(out.dtype) + ")");
  const MatDesc da = describe(a, "a"), db = describe(b, "b"), dc = describe(out, "out");
  const int64_t outer = dc.outer, inner = dc.inner, batch = outer * inner, M = dc.rows, N = dc.cols, K = da.cols;
  auto fits = [&](const MatDesc& d) {
    return (d.outer == outer || d.outer == 1) && (d.inner == inner || d.inner == 1);
  };
  if (da.rows != M || db.rows != K || db.cols != N || !fits(da) || !fits(db))
    throw KernelError("matmul: shape mismatch");
  if (!out.isContiguous()) throw KernelError("matmul: out must be contiguous");
  if (batch == 0 || M == 0 || N == 0) return;
  if (K == 0) {
    std::memset(out.data, 0, static_cast<size_t>(batch * M * N) * dtypeSize(out.dtype));
    return;
  }
  if (a.dtype == DType::Float32) {
    matmulTyped<float>({batch, inner, M, N, K, a.ptr<float>(), da.os, da.bs, da.rs, da.cs, b.ptr<float>(), db.os, db.bs,
                        db.rs, db.cs, out.ptr<float>()},
                       allowBlas);
  } else {
    matmulTyped<double>({batch, inner, M, N, K, a.ptr<double>(), da.os, da.bs, da.rs, da.cs, b.ptr<double>(), db.os,
                         db.bs, db.rs, db.cs, out.ptr<double>()},
                        allowBlas);
  }
}
}  // namespace

void matmul(const TensorView& a, const TensorView& b, const TensorView& out) { matmulImpl(a, b, out, true); }

void gemmStrided(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsa, int64_t csa, const float* B, int64_t rsb,
                 int64_t csb, float* C, int64_t ldc, bool accumulate) {
  gemmStridedTyped<float>(M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, accumulate);
}
void gemmStrided(int64_t M, int64_t N, int64_t K, const double* A, int64_t rsa, int64_t csa, const double* B,
                 int64_t rsb, int64_t csb, double* C, int64_t ldc, bool accumulate) {
  gemmStridedTyped<double>(M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, accumulate);
}

void matmulBuiltin(const TensorView& a, const TensorView& b, const TensorView& out) { matmulImpl(a, b, out, false); }

const char* gemmBackend() {
#if defined(KD_WITH_OPENBLAS)
  return "openblas";
#elif defined(KD_WITH_ACCELERATE)
  return "accelerate";
#else
  return "builtin";
#endif
}

const char* blasCore() {
#if defined(KD_WITH_OPENBLAS)
  const char* core = openblas_get_corename();
  return core ? core : "";
#else
  return "";
#endif
}

const char* simdLevel() {
  switch (activeSimd()) {
    case Simd::Avx512: return "avx512";
    case Simd::Avx2: return "avx2";
    case Simd::Neon: return "neon";
    case Simd::Scalar: return "scalar";
  }
  return "scalar";
}

void setUseBlas(bool on) { g_blasMode.store(on && KD_HAVE_BLAS != 0 ? 1 : 0); }

bool usingBlas() { return blasEnabled(); }

// Not in kernels.h: lets tests and benchmarks run the lower-level kernels on
// a machine that has a higher one. Levels above the CPU's are refused.
bool setGemmSimdForTesting(const char* level) {
  SimdState& s = simdState();
  Simd want = parseSimd(level, Simd::Scalar);
  if (!canRun(want, s.hw)) return false;
  s.active.store(static_cast<int>(want));
  return true;
}

}  // namespace kd
