// Fused optimizer updates on the device: one thread per element, the same
// arithmetic as native/cpu/optim.cc operation by operation (see Note
// [Matching PyTorch's roundings] there): fma exactly where PyTorch has one
// and nowhere else. This file is compiled with -fmad=false (CMakeLists.txt)
// so nvcc does not contract the other multiply-adds; CUDA's sqrt and
// division are correctly rounded by default, so the results match the
// CPU kernels bit for bit.
#include <cmath>

#include "common.cuh"

namespace kd {
namespace cuda {

namespace {

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

template <typename T>
__global__ void sgdKernel(int64_t n, T* p, const T* g, T* buf, T sign, T wd, bool hasWd, T momentum,
                          T oneMinusDampening, T negLr, bool useMomentum, bool initBuffer, bool nesterov) {
  KD_GRID_STRIDE(i, n) {
    const T pi = p[i];
    T d = g[i] * sign;
    if (hasWd) d = fma(wd, pi, d);
    if (useMomentum) {
      const T decayed = buf[i] * momentum;
      const T m = initBuffer ? d : fma(oneMinusDampening, d, decayed);
      buf[i] = m;
      d = nesterov ? fma(momentum, m, d) : m;
    }
    p[i] = fma(negLr, d, pi);
  }
}

template <typename T>
struct AdamArgs {
  T sign, wd, paramDecay, beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection2Sqrt, eps, negStepSize;
  bool hasWd, decoupled, amsgrad;
};

template <typename T>
__global__ void adamKernel(int64_t n, T* p, const T* g, T* m, T* v, T* vmax, AdamArgs<T> a) {
  KD_GRID_STRIDE(i, n) {
    T gi = g[i] * a.sign;
    const T withWd = fma(a.wd, p[i], gi);
    gi = (!a.decoupled && a.hasWd) ? withWd : gi;
    const T mi = fma(a.oneMinusBeta1, gi, m[i] * a.beta1);
    const T vi = fma(a.oneMinusBeta2 * gi, gi, v[i] * a.beta2);
    m[i] = mi;
    v[i] = vi;
    T second = vi;
    if (a.amsgrad) {
      const T old = vmax[i];
      const T mx = (old > vi || old != old) ? old : vi;  // torch.maximum: NaN wins
      vmax[i] = mx;
      second = mx;
    }
    const T pi = a.decoupled ? p[i] * a.paramDecay : p[i];
    const T denom = sqrt(second) / a.biasCorrection2Sqrt + a.eps;
    p[i] = pi + (a.negStepSize * mi) / denom;
  }
}

template <typename T>
struct RmspropArgs {
  T sign, wd, alpha, oneMinusAlpha, eps, momentum, negLr;
  bool hasWd, centered, useMomentum;
};

template <typename T>
__global__ void rmspropKernel(int64_t n, T* p, const T* g, T* sq, T* gavg, T* buf, RmspropArgs<T> a) {
  KD_GRID_STRIDE(i, n) {
    T gi = g[i] * a.sign;
    if (a.hasWd) gi = fma(a.wd, p[i], gi);
    const T si = fma(a.oneMinusAlpha * gi, gi, sq[i] * a.alpha);
    sq[i] = si;
    T root = si;
    if (a.centered) {
      const T ga = fma(a.oneMinusAlpha, gi, gavg[i] * a.alpha);
      gavg[i] = ga;
      root = fma(-ga, ga, si);
    }
    const T avg = sqrt(root) + a.eps;
    if (a.useMomentum) {
      const T bi = buf[i] * a.momentum + gi / avg;
      buf[i] = bi;
      p[i] = fma(a.negLr, bi, p[i]);
    } else {
      p[i] = p[i] + (a.negLr * gi) / avg;
    }
  }
}

template <typename T>
__global__ void adagradKernel(int64_t n, T* p, const T* g, T* sum, T sign, T wd, bool hasWd, T eps, T negClr) {
  KD_GRID_STRIDE(i, n) {
    T gi = g[i] * sign;
    if (hasWd) gi = fma(wd, p[i], gi);
    const T si = fma(gi, gi, sum[i]);
    sum[i] = si;
    const T stdev = sqrt(si) + eps;
    p[i] = p[i] + (negClr * gi) / stdev;
  }
}

template <typename T>
T* ptr(const TensorView* v) {
  return v ? static_cast<T*>(v->data) : nullptr;
}

}  // namespace

void sgdStep(const TensorView& param, const TensorView& grad, const TensorView* momentumBuffer, const SgdParams& o) {
  checkParam("sgd", param);
  checkLike("sgd", "grad", param, &grad);
  if (o.momentum != 0) checkLike("sgd", "momentum_buffer", param, momentumBuffer);
  const int64_t n = param.numel();
  if (n == 0) return;
  setDevice("sgd", param.device);
  dispatchFloat(param.dtype, "sgd", [&](auto tag) {
    using T = typename decltype(tag)::type;
    sgdKernel<T><<<blocksFor(n), kThreads>>>(
        n, ptr<T>(&param), ptr<T>(&grad), ptr<T>(momentumBuffer), o.maximize ? T(-1) : T(1),
        static_cast<T>(o.weightDecay), o.weightDecay != 0, static_cast<T>(o.momentum), static_cast<T>(1 - o.dampening),
        static_cast<T>(-o.lr), o.momentum != 0, o.initBuffer, o.nesterov);
  });
  KD_CUDA_LAUNCHED("sgd");
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
  const int64_t n = param.numel();
  if (n == 0) return;
  setDevice(op, param.device);
  dispatchFloat(param.dtype, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    AdamArgs<T> a;
    a.sign = o.maximize ? T(-1) : T(1);
    a.wd = static_cast<T>(o.weightDecay);
    a.hasWd = o.weightDecay != 0;
    a.decoupled = o.decoupled;
    a.amsgrad = o.amsgrad;
    a.paramDecay = static_cast<T>(1 - o.lr * o.weightDecay);
    a.beta1 = static_cast<T>(o.beta1);
    a.oneMinusBeta1 = static_cast<T>(1 - o.beta1);
    a.beta2 = static_cast<T>(o.beta2);
    a.oneMinusBeta2 = static_cast<T>(1 - o.beta2);
    // As torch/optim/adam.py computes them, in Python floats.
    const double biasCorrection1 = 1 - std::pow(o.beta1, o.step);
    const double biasCorrection2 = 1 - std::pow(o.beta2, o.step);
    a.biasCorrection2Sqrt = static_cast<T>(std::sqrt(biasCorrection2));
    a.eps = static_cast<T>(o.eps);
    a.negStepSize = static_cast<T>(-(o.lr / biasCorrection1));
    adamKernel<T><<<blocksFor(n), kThreads>>>(n, ptr<T>(&param), ptr<T>(&grad), ptr<T>(&expAvg), ptr<T>(&expAvgSq),
                                              ptr<T>(maxExpAvgSq), a);
  });
  KD_CUDA_LAUNCHED(op);
}

void rmspropStep(const TensorView& param, const TensorView& grad, const TensorView& squareAvg,
                 const TensorView* gradAvg, const TensorView* momentumBuffer, const RmspropParams& o) {
  checkParam("rmsprop", param);
  checkLike("rmsprop", "grad", param, &grad);
  checkLike("rmsprop", "square_avg", param, &squareAvg);
  if (gradAvg) checkLike("rmsprop", "grad_avg", param, gradAvg);
  if (o.momentum > 0) checkLike("rmsprop", "momentum_buffer", param, momentumBuffer);
  const int64_t n = param.numel();
  if (n == 0) return;
  setDevice("rmsprop", param.device);
  dispatchFloat(param.dtype, "rmsprop", [&](auto tag) {
    using T = typename decltype(tag)::type;
    RmspropArgs<T> a;
    a.sign = o.maximize ? T(-1) : T(1);
    a.wd = static_cast<T>(o.weightDecay);
    a.hasWd = o.weightDecay != 0;
    a.alpha = static_cast<T>(o.alpha);
    a.oneMinusAlpha = static_cast<T>(1 - o.alpha);
    a.eps = static_cast<T>(o.eps);
    a.momentum = static_cast<T>(o.momentum);
    a.negLr = static_cast<T>(-o.lr);
    a.centered = gradAvg != nullptr;
    a.useMomentum = o.momentum > 0;
    rmspropKernel<T><<<blocksFor(n), kThreads>>>(n, ptr<T>(&param), ptr<T>(&grad), ptr<T>(&squareAvg), ptr<T>(gradAvg),
                                                 ptr<T>(momentumBuffer), a);
  });
  KD_CUDA_LAUNCHED("rmsprop");
}

void adagradStep(const TensorView& param, const TensorView& grad, const TensorView& sum, const AdagradParams& o) {
  checkParam("adagrad", param);
  checkLike("adagrad", "grad", param, &grad);
  checkLike("adagrad", "sum", param, &sum);
  const int64_t n = param.numel();
  if (n == 0) return;
  setDevice("adagrad", param.device);
  dispatchFloat(param.dtype, "adagrad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    adagradKernel<T><<<blocksFor(n), kThreads>>>(n, ptr<T>(&param), ptr<T>(&grad), ptr<T>(&sum),
                                                 o.maximize ? T(-1) : T(1), static_cast<T>(o.weightDecay),
                                                 o.weightDecay != 0, static_cast<T>(o.eps), static_cast<T>(-o.clr));
  });
  KD_CUDA_LAUNCHED("adagrad");
}

}  // namespace cuda
}  // namespace kd
