// Fused optimizer updates: one pass over a parameter per step.
//
// Note [Matching PyTorch's roundings]
// PyTorch's single-tensor optimizers run a chain of elementwise ops, each
// rounding its result to the parameter's dtype. To land on the same bits
// we round at the same places, and only there:
//  - `a.add(b, alpha=s)` is a fused multiply-add, fma(s, b, a) (ATen's
//    vectorized add is vec::fmadd, and its scalar tail is contracted too);
//  - `a.addcmul(b, c, value=s)` is fma(s * b, c, a), with s * b rounded;
//  - `a.addcdiv(b, c, value=s)` is a + (s * b) / c, each step rounded;
//  - `a.mul(s)`, `a / s`, `sqrt`, `maximum` round once, as written;
//  - Python-side scalars (bias corrections, step sizes) are computed in
//    double and cast to the dtype where ATen casts them.
// So every other multiply-add below must stay unfused: this file turns off
// floating-point contraction, and fma appears only where PyTorch has one.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
// Before the includes, so <cmath>'s inline wrappers carry the same option
// and still inline into the loops below.
#pragma GCC optimize("fp-contract=off")
#endif

#include "optim_kernels.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "parallel.h"

#if (defined(__x86_64__) || defined(__amd64__)) && (defined(__GNUC__) || defined(__clang__))
#define KD_OPTIM_X86 1
#define KD_TARGET_FMA __attribute__((target("avx2,fma")))
#include <immintrin.h>

#include "cpu_features.h"
#else
#define KD_OPTIM_X86 0
#endif

#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define KD_OPTIM_NEON 1
#include <arm_neon.h>
#else
#define KD_OPTIM_NEON 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define KD_ALWAYS_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define KD_ALWAYS_INLINE __forceinline
#else
#define KD_ALWAYS_INLINE inline
#endif

namespace kd {

namespace {

// Updates are memory-bound: below this many elements one thread is faster
// than waking the pool.
constexpr int64_t kGrain = 1 << 15;
// Elements per block: the square roots of a block are taken in one pass
// over a scratch array that stays in L1 (see SqrtScalar).
constexpr int64_t kBlock = 256;

// Square roots of a block in place. With errno semantics on (the default
// on Linux) compilers put a branch after every sqrt, which keeps a loop
// that contains one from vectorizing; so the adaptive optimizers take their
// square roots in a separate pass, which the FMA path does with vector
// instructions. Both give IEEE square roots, so the same bits.
struct SqrtScalar {
  template <typename T>
  static KD_ALWAYS_INLINE void apply(T* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = std::sqrt(x[i]);
  }
};

#if KD_OPTIM_X86
// Not inlined: the kernels calling it are compiled for the baseline ISA
// until they inline into rangeFma; one call per block costs nothing.
struct SqrtAvx {
  static KD_TARGET_FMA void apply(float* x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_sqrt_ps(_mm256_loadu_ps(x + i)));
    for (; i < n; ++i) x[i] = std::sqrt(x[i]);
  }
  static KD_TARGET_FMA void apply(double* x, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) _mm256_storeu_pd(x + i, _mm256_sqrt_pd(_mm256_loadu_pd(x + i)));
    for (; i < n; ++i) x[i] = std::sqrt(x[i]);
  }
};
#endif

#if KD_OPTIM_NEON
// NEON is part of AArch64, so the baseline loops take their square roots
// in vectors; on arm64 std::fma is an instruction already.
struct SqrtNeon {
  static void apply(float* x, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(x + i, vsqrtq_f32(vld1q_f32(x + i)));
    for (; i < n; ++i) x[i] = std::sqrt(x[i]);
  }
  static void apply(double* x, int64_t n) {
    int64_t i = 0;
    for (; i + 2 <= n; i += 2) vst1q_f64(x + i, vsqrtq_f64(vld1q_f64(x + i)));
    for (; i < n; ++i) x[i] = std::sqrt(x[i]);
  }
};
using SqrtBaseline = SqrtNeon;
#else
using SqrtBaseline = SqrtScalar;
#endif

// On x86 the loops are compiled twice: for the baseline ISA, where std::fma
// is a libm call (exact, but slow and not vectorized), and for AVX2+FMA,
// where it is one instruction and the loops vectorize. Both give the same
// bits, so the choice is only about speed.
#if KD_OPTIM_X86
bool cpuHasFma() {
  static const bool has = [] {
    // KINDLING_SIMD=scalar (as for gemm) forces the baseline loops, so tests
    // and benchmarks can check that both paths agree.
    const char* want = std::getenv("KINDLING_SIMD");
    if (want != nullptr && std::string(want) == "scalar") return false;
    return cpuHasAvx2Fma();
  }();
  return has;
}
#endif

template <typename Kernel, typename Args>
void rangeBaseline(const Args& a, int64_t b, int64_t e) {
  Kernel::template range<SqrtBaseline>(a, b, e);
}

#if KD_OPTIM_X86
template <typename Kernel, typename Args>
KD_TARGET_FMA void rangeFma(const Args& a, int64_t b, int64_t e) {
  Kernel::template range<SqrtAvx>(a, b, e);
}
#endif

template <typename Kernel, typename Args>
void run(const Args& a, int64_t n) {
  void (*fn)(const Args&, int64_t, int64_t) = &rangeBaseline<Kernel, Args>;
#if KD_OPTIM_X86
  if (cpuHasFma()) fn = &rangeFma<Kernel, Args>;
#endif
  parallelFor(0, n, kGrain, [&](int64_t b, int64_t e) { fn(a, b, e); });
}

// The views an update touches must be one contiguous block each, of the
// parameter's float dtype and size: the loops index them all with one i.
void checkParam(const char* op, const TensorView& p) {
  if (p.dtype != DType::Float32 && p.dtype != DType::Float64)
    throw KernelError(std::string(op) + ": parameters must be float32 or float64, got " + dtypeName(p.dtype));
  if (!p.isContiguous()) throw KernelError(std::string(op) + ": the parameter must be contiguous");
}

void checkLike(const char* op, const char* what, const TensorView& p, const TensorView* t) {
  if (t == nullptr) throw KernelError(std::string(op) + ": " + what + " is required with these options");
  if (t->dtype != p.dtype)
    throw KernelError(std::string(op) + ": " + what + " has dtype " + dtypeName(t->dtype) + " but the parameter is " +
                      dtypeName(p.dtype));
  if (t->numel() != p.numel())
    throw KernelError(std::string(op) + ": " + what + " has " + std::to_string(t->numel()) +
                      " elements but the parameter has " + std::to_string(p.numel()));
  if (!t->isContiguous()) throw KernelError(std::string(op) + ": " + what + " must be contiguous");
}

// ---- SGD ------------------------------------------------------------------------
template <typename T>
struct SgdArgs {
  T* p;
  const T* g;
  T* buf;
  T sign, wd, momentum, oneMinusDampening, negLr;
  bool hasWd, initBuffer, nesterov;
};

template <bool kMomentum>
struct SgdKernel {
  template <typename Sqrt, typename T>
  static KD_ALWAYS_INLINE void range(const SgdArgs<T>& args, int64_t b, int64_t e) {
    // A local copy: stores through the T* below could alias the caller's
    // struct as far as the compiler knows, which would reload every
    // scalar per element and keep the loops from vectorizing.
    const SgdArgs<T> a = args;
    T* p = a.p;
    const T* g = a.g;
    T* buf = a.buf;
    for (int64_t i = b; i < e; ++i) {
      const T pi = p[i];
      // -grad for maximize: a multiply by -1 is exact.
      T d = g[i] * a.sign;
      d = a.hasWd ? std::fma(a.wd, pi, d) : d;
      if constexpr (kMomentum) {
        const T decayed = buf[i] * a.momentum;
        const T m = a.initBuffer ? d : std::fma(a.oneMinusDampening, d, decayed);
        buf[i] = m;
        d = a.nesterov ? std::fma(a.momentum, m, d) : m;
      }
      p[i] = std::fma(a.negLr, d, pi);
    }
  }
};

template <typename T>
void sgdTyped(const TensorView& param, const TensorView& grad, const TensorView* buf, const SgdParams& o) {
  SgdArgs<T> a;
  a.p = param.ptr<T>();
  a.g = grad.ptr<T>();
  a.buf = buf ? buf->ptr<T>() : nullptr;
  a.sign = o.maximize ? T(-1) : T(1);
  a.wd = static_cast<T>(o.weightDecay);
  a.hasWd = o.weightDecay != 0;
  a.momentum = static_cast<T>(o.momentum);
  a.oneMinusDampening = static_cast<T>(1 - o.dampening);
  a.negLr = static_cast<T>(-o.lr);
  a.initBuffer = o.initBuffer;
  a.nesterov = o.nesterov;
  const int64_t n = param.numel();
  if (o.momentum != 0) run<SgdKernel<true>>(a, n);
  else run<SgdKernel<false>>(a, n);
}

// ---- Adam / AdamW -------------------------------------------------------------------
template <typename T>
struct AdamArgs {
  T* p;
  const T* g;
  T *m, *v, *vmax;
  T sign, wd, paramDecay, beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection2Sqrt, eps, negStepSize;
  bool hasWd, decoupled;
};

template <bool kAmsgrad>
struct AdamKernel {
  template <typename Sqrt, typename T>
  static KD_ALWAYS_INLINE void range(const AdamArgs<T>& args, int64_t b, int64_t e) {
    // A local copy: stores through the T* below could alias the caller's
    // struct as far as the compiler knows, which would reload every
    // scalar per element and keep the loops from vectorizing.
    const AdamArgs<T> a = args;
    T* p = a.p;
    const T* g = a.g;
    T *m = a.m, *v = a.v, *vmax = a.vmax;
    T root[kBlock];
    for (int64_t b0 = b; b0 < e; b0 += kBlock) {
      const int64_t len = e - b0 < kBlock ? e - b0 : kBlock;
      for (int64_t j = 0; j < len; ++j) {
        const int64_t i = b0 + j;
        T gi = g[i] * a.sign;
        const T withWd = std::fma(a.wd, p[i], gi);
        gi = (!a.decoupled && a.hasWd) ? withWd : gi;
        const T mi = std::fma(a.oneMinusBeta1, gi, m[i] * a.beta1);
        const T vi = std::fma(a.oneMinusBeta2 * gi, gi, v[i] * a.beta2);
        m[i] = mi;
        v[i] = vi;
        T second = vi;
        if constexpr (kAmsgrad) {
          const T old = vmax[i];
          // torch.maximum: NaN wins.
          const T mx = (old > vi || old != old) ? old : vi;
          vmax[i] = mx;
          second = mx;
        }
        root[j] = second;
      }
      Sqrt::apply(root, len);
      for (int64_t j = 0; j < len; ++j) {
        const int64_t i = b0 + j;
        // AdamW shrinks the parameter before the step.
        const T pi = a.decoupled ? p[i] * a.paramDecay : p[i];
        const T denom = root[j] / a.biasCorrection2Sqrt + a.eps;
        p[i] = pi + (a.negStepSize * m[i]) / denom;
      }
    }
  }
};

template <typename T>
void adamTyped(const TensorView& param, const TensorView& grad, const TensorView& expAvg, const TensorView& expAvgSq,
               const TensorView* maxExpAvgSq, const AdamParams& o) {
  AdamArgs<T> a;
  a.p = param.ptr<T>();
  a.g = grad.ptr<T>();
  a.m = expAvg.ptr<T>();
  a.v = expAvgSq.ptr<T>();
  a.vmax = maxExpAvgSq ? maxExpAvgSq->ptr<T>() : nullptr;
  a.sign = o.maximize ? T(-1) : T(1);
  a.wd = static_cast<T>(o.weightDecay);
  a.hasWd = o.weightDecay != 0;
  a.decoupled = o.decoupled;
  a.paramDecay = static_cast<T>(1 - o.lr * o.weightDecay);
  a.beta1 = static_cast<T>(o.beta1);
  a.oneMinusBeta1 = static_cast<T>(1 - o.beta1);
  a.beta2 = static_cast<T>(o.beta2);
  a.oneMinusBeta2 = static_cast<T>(1 - o.beta2);
  // As torch/optim/adam.py computes them, in Python floats.
  const double biasCorrection1 = 1 - std::pow(o.beta1, o.step);
  const double biasCorrection2 = 1 - std::pow(o.beta2, o.step);
  const double stepSize = o.lr / biasCorrection1;
  a.biasCorrection2Sqrt = static_cast<T>(std::sqrt(biasCorrection2));
  a.eps = static_cast<T>(o.eps);
  a.negStepSize = static_cast<T>(-stepSize);
  const int64_t n = param.numel();
  if (o.amsgrad) run<AdamKernel<true>>(a, n);
  else run<AdamKernel<false>>(a, n);
}

// ---- RMSprop ---------------------------------------------------------------------------
template <typename T>
struct RmspropArgs {
  T* p;
  const T* g;
  T *sq, *gavg, *buf;
  T sign, wd, alpha, oneMinusAlpha, eps, momentum, negLr;
  bool hasWd;
};

template <bool kCentered, bool kMomentum>
struct RmspropKernel {
  template <typename T>
  static KD_ALWAYS_INLINE T gradAt(const RmspropArgs<T>& a, int64_t i) {
    const T gi = a.g[i] * a.sign;
    return a.hasWd ? std::fma(a.wd, a.p[i], gi) : gi;
  }

  template <typename Sqrt, typename T>
  static KD_ALWAYS_INLINE void range(const RmspropArgs<T>& args, int64_t b, int64_t e) {
    // A local copy: stores through the T* below could alias the caller's
    // struct as far as the compiler knows, which would reload every
    // scalar per element and keep the loops from vectorizing.
    const RmspropArgs<T> a = args;
    T* p = a.p;
    T *sq = a.sq, *gavg = a.gavg, *buf = a.buf;
    T root[kBlock];
    for (int64_t b0 = b; b0 < e; b0 += kBlock) {
      const int64_t len = e - b0 < kBlock ? e - b0 : kBlock;
      for (int64_t j = 0; j < len; ++j) {
        const int64_t i = b0 + j;
        const T gi = gradAt(a, i);
        const T si = std::fma(a.oneMinusAlpha * gi, gi, sq[i] * a.alpha);
        sq[i] = si;
        if constexpr (kCentered) {
          const T ga = std::fma(a.oneMinusAlpha, gi, gavg[i] * a.alpha);
          gavg[i] = ga;
          // square_avg.addcmul(grad_avg, grad_avg, value=-1): (-1 * ga) is exact.
          root[j] = std::fma(-ga, ga, si);
        } else {
          root[j] = si;
        }
      }
      Sqrt::apply(root, len);
      for (int64_t j = 0; j < len; ++j) {
        const int64_t i = b0 + j;
        const T gi = gradAt(a, i);
        const T avg = root[j] + a.eps;
        if constexpr (kMomentum) {
          const T bi = buf[i] * a.momentum + gi / avg;
          buf[i] = bi;
          p[i] = std::fma(a.negLr, bi, p[i]);
        } else {
          p[i] = p[i] + (a.negLr * gi) / avg;
        }
      }
    }
  }
};

template <typename T>
void rmspropTyped(const TensorView& param, const TensorView& grad, const TensorView& squareAvg,
                  const TensorView* gradAvg, const TensorView* momentumBuffer, const RmspropParams& o) {
  RmspropArgs<T> a;
  a.p = param.ptr<T>();
  a.g = grad.ptr<T>();
  a.sq = squareAvg.ptr<T>();
  a.gavg = gradAvg ? gradAvg->ptr<T>() : nullptr;
  a.buf = momentumBuffer ? momentumBuffer->ptr<T>() : nullptr;
  a.sign = o.maximize ? T(-1) : T(1);
  a.wd = static_cast<T>(o.weightDecay);
  a.hasWd = o.weightDecay != 0;
  a.alpha = static_cast<T>(o.alpha);
  a.oneMinusAlpha = static_cast<T>(1 - o.alpha);
  a.eps = static_cast<T>(o.eps);
  a.momentum = static_cast<T>(o.momentum);
  a.negLr = static_cast<T>(-o.lr);
  const int64_t n = param.numel();
  const bool centered = gradAvg != nullptr, momentum = o.momentum > 0;
  if (centered && momentum) run<RmspropKernel<true, true>>(a, n);
  else if (centered) run<RmspropKernel<true, false>>(a, n);
  else if (momentum) run<RmspropKernel<false, true>>(a, n);
  else run<RmspropKernel<false, false>>(a, n);
}

// ---- Adagrad -----------------------------------------------------------------------------
template <typename T>
struct AdagradArgs {
  T* p;
  const T* g;
  T* sum;
  T sign, wd, eps, negClr;
  bool hasWd;
};

struct AdagradKernel {
  template <typename T>
  static KD_ALWAYS_INLINE T gradAt(const AdagradArgs<T>& a, int64_t i) {
    const T gi = a.g[i] * a.sign;
    return a.hasWd ? std::fma(a.wd, a.p[i], gi) : gi;
  }

  template <typename Sqrt, typename T>
  static KD_ALWAYS_INLINE void range(const AdagradArgs<T>& args, int64_t b, int64_t e) {
    // A local copy: stores through the T* below could alias the caller's
    // struct as far as the compiler knows, which would reload every
    // scalar per element and keep the loops from vectorizing.
    const AdagradArgs<T> a = args;
    T* p = a.p;
    T* sum = a.sum;
    T root[kBlock];
    for (int64_t b0 = b; b0 < e; b0 += kBlock) {
      const int64_t len = e - b0 < kBlock ? e - b0 : kBlock;
      for (int64_t j = 0; j < len; ++j) {
        const int64_t i = b0 + j;
        const T gi = gradAt(a, i);
        const T si = std::fma(gi, gi, sum[i]);
        sum[i] = si;
        root[j] = si;
      }
      Sqrt::apply(root, len);
      for (int64_t j = 0; j < len; ++j) {
        const int64_t i = b0 + j;
        const T gi = gradAt(a, i);
        const T stdev = root[j] + a.eps;
        p[i] = p[i] + (a.negClr * gi) / stdev;
      }
    }
  }
};

template <typename T>
void adagradTyped(const TensorView& param, const TensorView& grad, const TensorView& sum, const AdagradParams& o) {
  AdagradArgs<T> a;
  a.p = param.ptr<T>();
  a.g = grad.ptr<T>();
  a.sum = sum.ptr<T>();
  a.sign = o.maximize ? T(-1) : T(1);
  a.wd = static_cast<T>(o.weightDecay);
  a.hasWd = o.weightDecay != 0;
  a.eps = static_cast<T>(o.eps);
  a.negClr = static_cast<T>(-o.clr);
  run<AdagradKernel>(a, param.numel());
}

}  // namespace

void sgdStep(const TensorView& param, const TensorView& grad, const TensorView* momentumBuffer, const SgdParams& o) {
  checkParam("sgd", param);
  checkLike("sgd", "grad", param, &grad);
  if (o.momentum != 0) checkLike("sgd", "momentum_buffer", param, momentumBuffer);
  if (param.dtype == DType::Float32) sgdTyped<float>(param, grad, momentumBuffer, o);
  else sgdTyped<double>(param, grad, momentumBuffer, o);
}

void adamStep(const TensorView& param, const TensorView& grad, const TensorView& expAvg, const TensorView& expAvgSq,
              const TensorView* maxExpAvgSq, const AdamParams& o) {
  const char* op = o.decoupled ? "adamw" : "adam";
  checkParam(op, param);
  checkLike(op, "grad", param, &grad);
  checkLike(op, "exp_avg", param, &expAvg);
  checkLike(op, "exp_avg_sq", param, &expAvgSq);
  if (o.amsgrad) checkLike(op, "max_exp_avg_sq", param, maxExpAvgSq);
  if (!(o.step >= 1)) throw KernelError(std::string(op) + ": step must be >= 1, got " + std::to_string(o.step));
  if (param.dtype == DType::Float32) adamTyped<float>(param, grad, expAvg, expAvgSq, maxExpAvgSq, o);
  else adamTyped<double>(param, grad, expAvg, expAvgSq, maxExpAvgSq, o);
}

void rmspropStep(const TensorView& param, const TensorView& grad, const TensorView& squareAvg,
                 const TensorView* gradAvg, const TensorView* momentumBuffer, const RmspropParams& o) {
  checkParam("rmsprop", param);
  checkLike("rmsprop", "grad", param, &grad);
  checkLike("rmsprop", "square_avg", param, &squareAvg);
  if (gradAvg) checkLike("rmsprop", "grad_avg", param, gradAvg);
  if (o.momentum > 0) checkLike("rmsprop", "momentum_buffer", param, momentumBuffer);
  if (param.dtype == DType::Float32) rmspropTyped<float>(param, grad, squareAvg, gradAvg, momentumBuffer, o);
  else rmspropTyped<double>(param, grad, squareAvg, gradAvg, momentumBuffer, o);
}

void adagradStep(const TensorView& param, const TensorView& grad, const TensorView& sum, const AdagradParams& o) {
  checkParam("adagrad", param);
  checkLike("adagrad", "grad", param, &grad);
  checkLike("adagrad", "sum", param, &sum);
  if (param.dtype == DType::Float32) adagradTyped<float>(param, grad, sum, o);
  else adagradTyped<double>(param, grad, sum, o);
}

}  // namespace kd
