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
//    -mavx* for the whole file.
#include "kernels.h"
#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#if defined(KD_WITH_OPENBLAS)
#include <cblas.h>
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
#define KD_TARGET_AVX512 __attribute__((target("avx512f")))
#define KD_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define KD_GEMM_X86 0
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

#ifndef TMR
#define TMR 12
#define TNV 2
#define TMC 384
#endif
namespace kd {

namespace {

// ---------------------------------------------------------------------------
// Run-time choices

enum class Simd : int { Scalar = 0, Avx2 = 1, Avx512 = 2 };

Simd detectSimd() {
#if KD_GEMM_X86
  __builtin_cpu_init();
  // libgcc/compiler-rt also check that the OS saves the wide registers
  // (XGETBV), so a "supported" answer here is safe to act on.
  if (__builtin_cpu_supports("avx512f")) return Simd::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Simd::Avx2;
#endif
  return Simd::Scalar;
}

Simd parseSimd(const char* s, Simd fallback) {
  if (!s) return fallback;
  std::string v(s);
  if (v == "avx512") return Simd::Avx512;
  if (v == "avx2") return Simd::Avx2;
  if (v == "scalar") return Simd::Scalar;
  return fallback;
}

struct SimdState {
  Simd hw;
  std::atomic<int> active;
  SimdState() : hw(detectSimd()), active(static_cast<int>(hw)) {
    // KINDLING_SIMD lets a user (or a benchmark) step down to a lower level;
    // stepping up past what the CPU has would crash, so it is clamped.
    Simd want = parseSimd(std::getenv("KINDLING_SIMD"), hw);
    if (static_cast<int>(want) < static_cast<int>(hw)) active = static_cast<int>(want);
  }
};

SimdState& simdState() {
  static SimdState s;
  return s;
}

Simd activeSimd() { return static_cast<Simd>(simdState().active.load(std::memory_order_relaxed)); }

std::atomic<bool> g_useBlas{KD_HAVE_BLAS != 0};

// ---------------------------------------------------------------------------
// Shapes

struct MatDesc {
  int64_t batch, rows, cols;
  int64_t bs, rs, cs;  // batch stride is 0 when the batch broadcasts
};

MatDesc describe(const TensorView& t, const char* name) {
  MatDesc d{};
  if (t.ndim == 3) {
    d.batch = t.shape[0];
    d.rows = t.shape[1];
    d.cols = t.shape[2];
    d.bs = t.shape[0] == 1 ? 0 : t.strides[0];
    d.rs = t.strides[1];
    d.cs = t.strides[2];
  } else if (t.ndim == 2) {
    d.batch = 1;
    d.rows = t.shape[0];
    d.cols = t.shape[1];
    d.bs = 0;
    d.rs = t.strides[0];
    d.cs = t.strides[1];
  } else {
    throw KernelError(std::string("matmul: ") + name + " must be 2-D or 3-D, got " + std::to_string(t.ndim) + "-D");
  }
  return d;
}

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

// One matmul problem on raw pointers; the batch loop lives outside.
template <typename T>
struct Problem {
  int64_t batch, M, N, K;
  const T* A;
  int64_t abs, rsa, csa;
  const T* B;
  int64_t bbs, rsb, csb;
  T* C;  // contiguous [batch, M, N]
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
// The k loop is unrolled by 4 to cut the loop overhead and give the
// scheduler independent loads; C is prefetched early because its first
// touch is the write-back.
#define KD_DEFINE_SIMD_UKR(NAME, TARGET)                                                                     \
  template <class S, typename T, int MR, int NV>                                                            \
  TARGET void NAME(int64_t kc, const T* KD_RESTRICT Ap, const T* KD_RESTRICT Bp, T* KD_RESTRICT C,    \
                         int64_t ldc, int mr, int nr, bool acc) {                                           \
    using V = typename S::V;                                                                                \
    constexpr int W = S::W;                                                                                 \
    constexpr int NR = NV * W;                                                                              \
    V c[MR][NV];                                                                                            \
    KD_UNROLL for (int i = 0; i < MR; ++i) KD_UNROLL for (int v = 0; v < NV; ++v) c[i][v] = S::zero();      \
    KD_UNROLL for (int i = 0; i < MR; ++i) {                                                                \
      _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc), _MM_HINT_T0);                                \
      _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc + NR - 1), _MM_HINT_T0);                       \
    }                                                                                                       \
    int64_t p = 0;                                                                                          \
    for (; p < kc; ++p) {                                                                                   \
      V b[NV];                                                                                              \
      KD_UNROLL for (int v = 0; v < NV; ++v) b[v] = S::load(Bp + v * W);                                    \
      KD_UNROLL for (int i = 0; i < MR; ++i) {                                                              \
        const V a = S::bcast(Ap + i);                                                                       \
        KD_UNROLL for (int v = 0; v < NV; ++v) c[i][v] = S::fma(a, b[v], c[i][v]);                          \
      }                                                                                                     \
      Ap += MR;                                                                                             \
      Bp += NR;                                                                                             \
    }                                                                                                       \
    if (mr == MR && nr == NR) {                                                                             \
      KD_UNROLL for (int i = 0; i < MR; ++i) {                                                              \
        T* cr = C + i * ldc;                                                                                \
        KD_UNROLL for (int v = 0; v < NV; ++v) {                                                            \
          V r = acc ? S::add(c[i][v], S::load(cr + v * W)) : c[i][v];                                       \
          S::store(cr + v * W, r);                                                                          \
        }                                                                                                   \
      }                                                                                                     \
    } else {                                                                                                \
      alignas(64) T tile[MR * NR];                                                                          \
      KD_UNROLL for (int i = 0; i < MR; ++i) KD_UNROLL for (int v = 0; v < NV; ++v)                         \
          S::store(tile + i * NR + v * W, c[i][v]);                                                         \
      writeEdge<T>(tile, NR, C, ldc, mr, nr, acc);                                                          \
    }                                                                                                       \
  }

KD_DEFINE_SIMD_UKR(ukrAvx512, KD_TARGET_AVX512)
KD_DEFINE_SIMD_UKR(ukrAvx2, KD_TARGET_AVX2)
#undef KD_DEFINE_SIMD_UKR

#endif  // KD_GEMM_X86

// ---------------------------------------------------------------------------
// Packing

// A block (mc x kc, any strides) -> ceil(mc/MR) panels of MR x kc, k-major.
template <typename T, int MR>
void packA(int64_t mc, int64_t kc, const T* A, int64_t rsa, int64_t csa, T* KD_RESTRICT dst) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    const int mr = static_cast<int>(std::min<int64_t>(MR, mc - i0));
    const T* a = A + i0 * rsa;
    if (mr == MR && csa == 1) {
      // Row-major A: read each row sequentially, scatter with stride MR
      // (the destination panel is small enough to stay in L1).
      for (int i = 0; i < MR; ++i) {
        const T* src = a + i * rsa;
        for (int64_t p = 0; p < kc; ++p) dst[p * MR + i] = src[p];
      }
    } else if (mr == MR && rsa == 1) {
      // Column-major A (a transposed view): each k is already MR contiguous values.
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = a + p * csa;
        for (int i = 0; i < MR; ++i) dst[p * MR + i] = src[i];
      }
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

// B slab (kc x nc, any strides) -> ceil(nc/NR) panels of kc x NR, k-major.
template <typename T, int NR>
void packB(int64_t kc, int64_t nc, const T* B, int64_t rsb, int64_t csb, T* KD_RESTRICT dst) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int nr = static_cast<int>(std::min<int64_t>(NR, nc - j0));
    const T* b = B + j0 * csb;
    if (nr == NR && csb == 1) {
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = b + p * rsb;
        for (int j = 0; j < NR; ++j) dst[p * NR + j] = src[j];
      }
    } else if (nr == NR && rsb == 1) {
      for (int j = 0; j < NR; ++j) {
        const T* src = b + j * csb;
        for (int64_t p = 0; p < kc; ++p) dst[p * NR + j] = src[p];
      }
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
// Blocked driver for one rectangle of C (M x N, full K). A, B and C are
// already offset to the rectangle's corner.

struct Blocking {
  int64_t mc, kc, nc;
};

template <typename T, int MR, int NR, UkrFn<T> UKR>
void gemmRect(const Blocking& bk, int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B,
              int64_t rsb, int64_t csb, T* C, int64_t ldc) {
  // Even split of K and M into slabs/blocks, so that a size just over a
  // block boundary does not leave a sliver that runs at poor efficiency.
  const int64_t nk = ceilDiv(K, bk.kc);
  const int64_t KC = ceilDiv(K, nk);
  const int64_t nm = ceilDiv(M, bk.mc);
  const int64_t MC = roundUp(ceilDiv(M, nm), MR);
  const int64_t nn = ceilDiv(N, bk.nc);
  const int64_t NC = roundUp(ceilDiv(N, nn), NR);

  PackBuffers& bufs = packBuffers();
  T* bp = bufs.b.get<T>(static_cast<size_t>(KC * std::min(NC, roundUp(N, NR))));
  T* ap = bufs.a.get<T>(static_cast<size_t>(KC * std::min(MC, roundUp(M, MR))));

  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const bool acc = pc > 0;
      packB<T, NR>(kc, nc, B + pc * rsb + jc * csb, rsb, csb, bp);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        packA<T, MR>(mc, kc, A + ic * rsa + pc * csa, rsa, csa, ap);
        // jr outer / ir inner: one kc x NR panel of B stays in L1 while
        // the MC x kc block of A streams past it from L2.
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          const T* bpanel = bp + jr * kc;
          T* cc = C + ic * ldc + jc + jr;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int mr = static_cast<int>(std::min<int64_t>(MR, mc - ir));
            UKR(kc, ap + ir * kc, bpanel, cc + ir * ldc, ldc, mr, nr, acc);
          }
        }
      }
    }
  }
}

template <typename T>
struct Engine {
  void (*rect)(const Blocking&, int64_t, int64_t, int64_t, const T*, int64_t, int64_t, const T*, int64_t, int64_t, T*,
               int64_t);
  int mr, nr;
  Blocking bk;
};

// Block sizes: KC * NR * sizeof(T) is the B micro-panel that has to sit in
// L1 (32 KiB at KC=256 with 128-byte rows of B on AVX-512, half that on
// AVX2); MC * KC * sizeof(T) is the A block meant for L2 (384 KiB / 144 KiB,
// sized for the 1-2 MiB L2 of AVX-512 parts and the 256 KiB of older AVX2
// ones); NC bounds the packed B slab.
template <typename T>
Engine<T> pickEngine(Simd simd);

template <>
Engine<float> pickEngine<float>(Simd simd) {
#if KD_GEMM_X86
  if (simd == Simd::Avx512)
    return {&gemmRect<float, TMR, TNV*16, &ukrAvx512<Avx512F32, float, TMR, TNV>>, TMR, TNV*16, {TMC, 256, 4096}};
  if (simd == Simd::Avx2)
    return {&gemmRect<float, 6, 16, &ukrAvx2<Avx2F32, float, 6, 2>>, 6, 16, {144, 256, 4096}};
#endif
  (void)simd;
  return {&gemmRect<float, 4, 8, &ukrScalar<float, 4, 8>>, 4, 8, {128, 256, 4096}};
}

template <>
Engine<double> pickEngine<double>(Simd simd) {
#if KD_GEMM_X86
  if (simd == Simd::Avx512)
    return {&gemmRect<double, 12, 16, &ukrAvx512<Avx512F64, double, 12, 2>>, 12, 16, {192, 256, 4096}};
  if (simd == Simd::Avx2)
    return {&gemmRect<double, 6, 8, &ukrAvx2<Avx2F64, double, 6, 2>>, 6, 8, {96, 256, 4096}};
#endif
  (void)simd;
  return {&gemmRect<double, 4, 4, &ukrScalar<double, 4, 4>>, 4, 4, {128, 256, 4096}};
}

// Straight loops for problems too small to repay packing, and for the
// matrix-vector shapes where a register tile would be mostly padding.
template <typename T>
void gemmSmall(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t rsb,
               int64_t csb, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    const T* a = A + i * rsa;
    if (csb == 1) {
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
  auto ptrA = [&](int64_t b) { return pr.A + b * pr.abs; };
  auto ptrB = [&](int64_t b) { return pr.B + b * pr.bbs; };
  auto ptrC = [&](int64_t b) { return pr.C + b * M * N; };

  if (macs <= 4096 || M == 1 || N == 1) {
    auto run = [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b)
        gemmSmall<T>(M, N, K, ptrA(b), pr.rsa, pr.csa, ptrB(b), pr.rsb, pr.csb, ptrC(b), N);
    };
    if (batch > 1 && macs * batch >= (int64_t(1) << 18))
      parallelFor(0, batch, std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(macs, 1)), run);
    else
      run(0, batch);
    return;
  }

  Engine<T> eng = pickEngine<T>(activeSimd());
  if (getenv("KD_MC")) eng.bk.mc = atol(getenv("KD_MC"));  // TUNE
  if (getenv("KD_KC")) eng.bk.kc = atol(getenv("KD_KC"));  // TUNE
  if (getenv("KD_NC")) eng.bk.nc = atol(getenv("KD_NC"));  // TUNE
  const int threads = std::max(1, getNumThreads());
  // Below ~1M multiply-adds per thread the pool's hand-off costs more than
  // the second core gives back.
  const int64_t total = macs * batch;
  int64_t useThreads = std::min<int64_t>(threads, std::max<int64_t>(1, total / (int64_t(1) << 20)));

  if (useThreads <= 1) {
    for (int64_t b = 0; b < batch; ++b)
      eng.rect(eng.bk, M, N, K, ptrA(b), pr.rsa, pr.csa, ptrB(b), pr.rsb, pr.csb, ptrC(b), N);
    return;
  }

  // Split C into tasks: whole batches first, then rows of each matrix
  // (every task packs its own A block into its own core's L2 and its own
  // copy of B; the duplicate B packing is O(K*N) against O(M*N*K/T) of
  // compute), and columns only when M is too short to give every thread
  // a few row panels.
  int64_t perMatrix = ceilDiv(useThreads, batch);
  int64_t ms = std::max<int64_t>(1, std::min(perMatrix, ceilDiv(M, 4 * eng.mr)));
  int64_t ns = std::max<int64_t>(1, std::min(ceilDiv(perMatrix, ms), ceilDiv(N, eng.nr)));
  if (batch >= useThreads) ms = ns = 1;
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
      eng.rect(eng.bk, mm, nn, K, ptrA(b) + i0 * pr.rsa, pr.rsa, pr.csa, ptrB(b) + j0 * pr.csb, pr.rsb, pr.csb,
               ptrC(b) + i0 * N + j0, N);
    }
  });
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
    const T* A = pr.A + b * pr.abs;
    const T* B = pr.B + b * pr.bbs;
    BlasLayout ua = la, ub = lb;
    if (!la.ok) {
      if (tmpA.empty()) tmpA.resize(static_cast<size_t>(M * K));
      if (packedA < 0 || pr.abs != 0) copyContiguous(M, K, A, pr.rsa, pr.csa, tmpA.data());
      packedA = b;
      A = tmpA.data();
      ua = {true, false, std::max<int64_t>(1, K)};
    }
    if (!lb.ok) {
      if (tmpB.empty()) tmpB.resize(static_cast<size_t>(K * N));
      if (packedB < 0 || pr.bbs != 0) copyContiguous(K, N, B, pr.rsb, pr.csb, tmpB.data());
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
void matmulTyped(Problem<T> pr) {
  // out[b] = a[b] @ W with W shared and a's batches evenly spaced rows is a
  // single [batch*M, K] @ [K, N] product: one big GEMM beats many small ones
  // (the linear-layer case).
  if (pr.batch > 1 && pr.bbs == 0 && pr.abs == pr.M * pr.rsa && pr.M > 1) {
    pr.M *= pr.batch;
    pr.batch = 1;
    pr.abs = 0;
  }
#if KD_HAVE_BLAS
  if (g_useBlas.load(std::memory_order_relaxed) && blasMatmul(pr)) return;
#endif
  builtinMatmul(pr);
}

}  // namespace

void matmul(const TensorView& a, const TensorView& b, const TensorView& out) {
  if (a.dtype != DType::Float32 && a.dtype != DType::Float64)
    throw KernelError(std::string("matmul: expected float32 or float64, got ") + dtypeName(a.dtype));
  if (b.dtype != a.dtype || out.dtype != a.dtype)
    throw KernelError(std::string("matmul: dtype mismatch (") + dtypeName(a.dtype) + ", " + dtypeName(b.dtype) +
                      " -> " + dtypeName(out.dtype) + ")");
  const MatDesc da = describe(a, "a"), db = describe(b, "b"), dc = describe(out, "out");
  const int64_t batch = dc.batch, M = dc.rows, N = dc.cols, K = da.cols;
  if (da.rows != M || db.rows != K || db.cols != N || (da.batch != batch && da.batch != 1) ||
      (db.batch != batch && db.batch != 1))
    throw KernelError("matmul: shape mismatch");
  if (!out.isContiguous()) throw KernelError("matmul: out must be contiguous");
  if (batch == 0 || M == 0 || N == 0) return;
  if (K == 0) {
    std::memset(out.data, 0, static_cast<size_t>(batch * M * N) * dtypeSize(out.dtype));
    return;
  }
  const int64_t abs = da.batch == 1 ? 0 : da.bs;
  const int64_t bbs = db.batch == 1 ? 0 : db.bs;
  if (a.dtype == DType::Float32) {
    matmulTyped<float>({batch, M, N, K, a.ptr<float>(), abs, da.rs, da.cs, b.ptr<float>(), bbs, db.rs, db.cs,
                        out.ptr<float>()});
  } else {
    matmulTyped<double>({batch, M, N, K, a.ptr<double>(), abs, da.rs, da.cs, b.ptr<double>(), bbs, db.rs, db.cs,
                         out.ptr<double>()});
  }
}

const char* gemmBackend() {
#if defined(KD_WITH_OPENBLAS)
  return "openblas";
#elif defined(KD_WITH_ACCELERATE)
  return "accelerate";
#else
  return "builtin";
#endif
}

const char* simdLevel() {
  switch (activeSimd()) {
    case Simd::Avx512: return "avx512";
    case Simd::Avx2: return "avx2";
    case Simd::Scalar: return "scalar";
  }
  return "scalar";
}

void setUseBlas(bool on) { g_useBlas.store(on && KD_HAVE_BLAS != 0); }

bool usingBlas() { return g_useBlas.load(); }

// Not in kernels.h: lets tests and benchmarks run the lower-level kernels on
// a machine that has a higher one. Levels above the CPU's are refused.
bool setGemmSimdForTesting(const char* level) {
  SimdState& s = simdState();
  Simd want = parseSimd(level, Simd::Scalar);
  if (static_cast<int>(want) > static_cast<int>(s.hw)) return false;
  s.active.store(static_cast<int>(want));
  return true;
}

}  // namespace kd
