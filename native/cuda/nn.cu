// nn kernels on the device: convolution (im2col + GEMM, col2im), pooling,
// batch norm and the fused nll / cross-entropy loss, with the argument
// conventions of native/cpu/nn_kernels.h (contiguous tensors, outputs
// allocated by the caller) and the semantics of native/cpu/nn.cc.
#include <cmath>
#include <limits>

#include "gemm.cuh"

namespace kd {
namespace cuda {

namespace {

template <typename T>
T* dataOf(const TensorView& v) {
  return static_cast<T*>(v.data);
}
template <typename T>
T* dataOf(const TensorView* v) {
  return v ? static_cast<T*>(v->data) : nullptr;
}

void zero(const char* op, const TensorView& v) {
  const size_t bytes = static_cast<size_t>(v.numel()) * dtypeSize(v.dtype);
  if (bytes > 0) KD_CUDA_CHECK(op, cudaMemsetAsync(v.data, 0, bytes, 0));
}

unsigned blocksFor1d(int64_t n) { return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(n, 65535))); }

// A kernel-side error report: the first thread to find a bad value stores
// it; the host reads it back after the kernel (one synchronising copy).
struct ErrorSlot {
  unsigned long long* flag;  // [found, value]
};

__device__ inline void report(ErrorSlot e, int64_t value) {
  if (atomicCAS(e.flag, 0ull, 1ull) == 0ull) e.flag[1] = static_cast<unsigned long long>(value);
}

struct DeviceError {
  DeviceBuffer buf;
  explicit DeviceError(int device) : buf(device, 2 * sizeof(unsigned long long)) {
    KD_CUDA_CHECK("nn", cudaMemsetAsync(buf.get(), 0, 2 * sizeof(unsigned long long), 0));
  }
  ErrorSlot slot() const { return ErrorSlot{buf.get<unsigned long long>()}; }
  // True (and the bad value) when a kernel reported one.
  bool check(int device, int64_t& value) const {
    unsigned long long host[2] = {0, 0};
    copyToHost(device, host, buf.get(), sizeof host);
    value = static_cast<int64_t>(host[1]);
    return host[0] != 0;
  }
};

// ---------------------------------------------------------------------------
// convolution

struct ConvGeom {
  int64_t N, C, H, W, OC, KH, KW, OH, OW, G, Cg, OCg, Kg, K, L, HW;
  int64_t sH, sW, pH, pW, dH, dW;
};

ConvGeom convGeom(const TensorView& x, const TensorView& w, const TensorView& y, const Conv2dParams& p) {
  ConvGeom g{};
  g.N = x.shape[0];
  g.C = x.shape[1];
  g.H = x.shape[2];
  g.W = x.shape[3];
  g.OC = w.shape[0];
  g.KH = w.shape[2];
  g.KW = w.shape[3];
  g.OH = y.shape[2];
  g.OW = y.shape[3];
  g.G = p.groups;
  g.Cg = g.C / g.G;
  g.OCg = g.OC / g.G;
  g.Kg = g.Cg * g.KH * g.KW;
  g.K = g.C * g.KH * g.KW;
  g.L = g.OH * g.OW;
  g.HW = g.H * g.W;
  g.sH = p.strideH;
  g.sW = p.strideW;
  g.pH = p.padH;
  g.pW = p.padW;
  g.dH = p.dilationH;
  g.dW = p.dilationW;
  return g;
}

// Images per chunk: the column buffer [K, B*L] stays under kColBudget
// elements (one image always goes, whatever its size).
constexpr int64_t kColBudget = int64_t(1) << 25;

int64_t chunkImages(const ConvGeom& g) {
  const int64_t per = std::max<int64_t>(g.K * g.L, 1);
  return std::max<int64_t>(1, std::min<int64_t>(g.N, kColBudget / per));
}

// col [K, B*L]: row (c, ki, kj), column b*L + oh*OW + ow holds
// x[b, c, oh*s - pad + ki*d, ow*s - pad + kj*d], 0 outside the image.
template <typename T>
__global__ void im2colKernel(ConvGeom g, int64_t B, const T* x, T* col) {
  const int64_t BL = B * g.L;
  KD_GRID_STRIDE(i, g.K * BL) {
    const int64_t row = i / BL, colIdx = i % BL;
    const int64_t b = colIdx / g.L, l = colIdx % g.L;
    const int64_t oh = l / g.OW, ow = l % g.OW;
    const int64_t kj = row % g.KW, ki = (row / g.KW) % g.KH, c = row / (g.KW * g.KH);
    const int64_t ih = oh * g.sH - g.pH + ki * g.dH, iw = ow * g.sW - g.pW + kj * g.dW;
    col[i] = (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) ? x[((b * g.C + c) * g.H + ih) * g.W + iw] : T(0);
  }
}

// The adjoint of im2col, one thread per input element (no atomics): dx[b,
// c, h, w] sums the columns whose window position lands on (h, w).
template <typename T>
__global__ void col2imKernel(ConvGeom g, int64_t B, const T* col, T* dx) {
  const int64_t BL = B * g.L;
  KD_GRID_STRIDE(i, B * g.C * g.HW) {
    const int64_t w = i % g.W, h = (i / g.W) % g.H, c = (i / g.HW) % g.C, b = i / (g.HW * g.C);
    T s = T(0);
    for (int64_t ki = 0; ki < g.KH; ++ki) {
      const int64_t th = h + g.pH - ki * g.dH;
      if (th < 0 || th % g.sH != 0) continue;
      const int64_t oh = th / g.sH;
      if (oh >= g.OH) continue;
      for (int64_t kj = 0; kj < g.KW; ++kj) {
        const int64_t tw = w + g.pW - kj * g.dW;
        if (tw < 0 || tw % g.sW != 0) continue;
        const int64_t ow = tw / g.sW;
        if (ow >= g.OW) continue;
        const int64_t row = (c * g.KH + ki) * g.KW + kj;
        s += col[row * BL + b * g.L + oh * g.OW + ow];
      }
    }
    dx[i] = s;
  }
}

// y[n0 + b, oc, l] = tmp[oc, b*L + l] + bias[oc] (tmp may be y itself with B == 1).
template <typename T>
__global__ void unpackOutputKernel(ConvGeom g, int64_t B, const T* tmp, const T* bias, T* y) {
  KD_GRID_STRIDE(i, B * g.OC * g.L) {
    const int64_t l = i % g.L, oc = (i / g.L) % g.OC, b = i / (g.L * g.OC);
    const T v = tmp == y ? y[i] : tmp[oc * B * g.L + b * g.L + l];
    y[i] = bias ? v + bias[oc] : v;
  }
}

// dst[oc, b*L + l] = gy[b, oc, l]: gy in the layout of the forward GEMM.
template <typename T>
__global__ void packGradKernel(ConvGeom g, int64_t B, const T* gy, T* dst) {
  KD_GRID_STRIDE(i, B * g.OC * g.L) {
    const int64_t l = i % g.L, oc = (i / g.L) % g.OC, b = i / (g.L * g.OC);
    dst[oc * B * g.L + b * g.L + l] = gy[i];
  }
}

template <typename T>
__global__ void biasGradKernel(ConvGeom g, const T* gy, T* gb) {
  __shared__ double sd[kThreads];
  for (int64_t oc = blockIdx.x; oc < g.OC; oc += gridDim.x) {
    double s = 0;
    for (int64_t j = threadIdx.x; j < g.N * g.L; j += blockDim.x) {
      const int64_t n = j / g.L, l = j % g.L;
      s += static_cast<double>(gy[(n * g.OC + oc) * g.L + l]);
    }
    sd[threadIdx.x] = s;
    __syncthreads();
    for (unsigned k = blockDim.x / 2; k > 0; k >>= 1) {
      if (threadIdx.x < k) sd[threadIdx.x] += sd[threadIdx.x + k];
      __syncthreads();
    }
    if (threadIdx.x == 0) gb[oc] = static_cast<T>(sd[0]);
    __syncthreads();
  }
}

template <typename T>
void conv2dTyped(const TensorView& x, const TensorView& w, const TensorView* bias, const Conv2dParams& p,
                 const TensorView& out) {
  const ConvGeom g = convGeom(x, w, out, p);
  if (g.N == 0 || g.OC == 0 || g.L == 0) return;
  const int dev = out.device;
  const T* X = dataOf<T>(x);
  const T* Wt = dataOf<T>(w);
  const T* Bs = dataOf<T>(bias);
  T* Y = dataOf<T>(out);
  if (g.K == 0) {  // no input channels: the output is the bias
    zero("conv2d", out);
    unpackOutputKernel<T><<<blocksFor(g.N * g.OC * g.L), kThreads>>>(g, g.N, Y, Bs, Y);
    KD_CUDA_LAUNCHED("conv2d");
    return;
  }
  const int64_t B = chunkImages(g);
  DeviceBuffer col(dev, static_cast<size_t>(g.K * B * g.L) * sizeof(T));
  DeviceBuffer tmp(dev, B > 1 ? static_cast<size_t>(g.OC * B * g.L) * sizeof(T) : 0);
  for (int64_t n0 = 0; n0 < g.N; n0 += B) {
    const int64_t b = std::min(B, g.N - n0), BL = b * g.L;
    im2colKernel<T><<<blocksFor(g.K * BL), kThreads>>>(g, b, X + n0 * g.C * g.HW, col.get<T>());
    KD_CUDA_LAUNCHED("conv2d");
    T* Yc = Y + n0 * g.OC * g.L;
    // One image: the GEMM's [OC, L] result is already y[n]'s layout.
    T* dst = b == 1 ? Yc : tmp.get<T>();
    gemm<T>("conv2d", dev, g.G, g.OCg, BL, g.Kg, Wt, g.OCg * g.Kg, g.Kg, 1, col.get<T>(), g.Kg * BL, BL, 1, dst,
            g.OCg * BL, BL, false);
    if (b == 1 && !Bs) continue;
    unpackOutputKernel<T><<<blocksFor(b * g.OC * g.L), kThreads>>>(g, b, dst, Bs, Yc);
    KD_CUDA_LAUNCHED("conv2d");
  }
}

template <typename T>
void conv2dBackwardTyped(const TensorView& gy, const TensorView& x, const TensorView& w, const Conv2dParams& p,
                         const TensorView* gx, const TensorView* gw, const TensorView* gb) {
  const char* op = "conv2dBackward";
  const ConvGeom g = convGeom(x, w, gy, p);
  const int dev = x.device;
  const T* X = dataOf<T>(x);
  const T* Wt = dataOf<T>(w);
  const T* GY = dataOf<T>(gy);
  T* GX = dataOf<T>(gx);
  T* GW = dataOf<T>(gw);
  if (gb) {
    if (g.OC > 0) {
      biasGradKernel<T><<<blocksFor1d(g.OC), kThreads>>>(g, GY, dataOf<T>(gb));
      KD_CUDA_LAUNCHED(op);
    }
  }
  if (!GX && !GW) return;
  if (g.N == 0 || g.OC == 0 || g.L == 0 || g.K == 0) {
    if (GX) zero(op, *gx);
    if (GW) zero(op, *gw);
    return;
  }
  const int64_t B = chunkImages(g);
  DeviceBuffer col(dev, static_cast<size_t>(g.K * B * g.L) * sizeof(T));
  DeviceBuffer gyP(dev, B > 1 ? static_cast<size_t>(g.OC * B * g.L) * sizeof(T) : 0);
  for (int64_t n0 = 0; n0 < g.N; n0 += B) {
    const int64_t b = std::min(B, g.N - n0), BL = b * g.L;
    const T* gyc = GY + n0 * g.OC * g.L;
    if (b > 1) {
      packGradKernel<T><<<blocksFor(b * g.OC * g.L), kThreads>>>(g, b, gyc, gyP.get<T>());
      KD_CUDA_LAUNCHED(op);
      gyc = gyP.get<T>();
    }
    if (GW) {
      im2colKernel<T><<<blocksFor(g.K * BL), kThreads>>>(g, b, X + n0 * g.C * g.HW, col.get<T>());
      KD_CUDA_LAUNCHED(op);
      // gw_g [OCg, Kg] (+)= gy_g [OCg, BL] @ col_g^T [BL, Kg]
      gemm<T>(op, dev, g.G, g.OCg, g.Kg, BL, gyc, g.OCg * BL, BL, 1, col.get<T>(), g.Kg * BL, 1, BL, GW, g.OCg * g.Kg,
              g.Kg, n0 > 0);
    }
    if (GX) {
      // dcol_g [Kg, BL] = W_g^T [Kg, OCg] @ gy_g [OCg, BL], then folded back.
      gemm<T>(op, dev, g.G, g.Kg, BL, g.OCg, Wt, g.OCg * g.Kg, 1, g.Kg, gyc, g.OCg * BL, BL, 1, col.get<T>(), g.Kg * BL,
              BL, false);
      col2imKernel<T><<<blocksFor(b * g.C * g.HW), kThreads>>>(g, b, col.get<T>(), GX + n0 * g.C * g.HW);
      KD_CUDA_LAUNCHED(op);
    }
  }
}

// ---------------------------------------------------------------------------
// pooling

struct PoolGeom {
  int64_t P, H, W, OH, OW;
  int64_t kH, kW, sH, sW, pH, pW, dH, dW;
};

PoolGeom poolGeom(const TensorView& in, const TensorView& out, const Pool2dParams& p) {
  return {in.shape[0], in.shape[1], in.shape[2], out.shape[1], out.shape[2], p.kernelH,  p.kernelW,
          p.strideH,   p.strideW,   p.padH,      p.padW,       p.dilationH,  p.dilationW};
}

template <typename T>
__global__ void maxPoolKernel(PoolGeom g, const T* x, T* y, int64_t* ind) {
  KD_GRID_STRIDE(i, g.P * g.OH * g.OW) {
    const int64_t ow = i % g.OW, oh = (i / g.OW) % g.OH, pl = i / (g.OW * g.OH);
    const T* plane = x + pl * g.H * g.W;
    int64_t h0 = oh * g.sH - g.pH;
    const int64_t h1 = min(h0 + (g.kH - 1) * g.dH + 1, g.H);
    while (h0 < 0) h0 += g.dH;
    int64_t w0 = ow * g.sW - g.pW;
    const int64_t w1 = min(w0 + (g.kW - 1) * g.dW + 1, g.W);
    while (w0 < 0) w0 += g.dW;
    int64_t best = h0 * g.W + w0;
    T bestVal = -std::numeric_limits<T>::infinity();
    for (int64_t h = h0; h < h1; h += g.dH) {
      for (int64_t w = w0; w < w1; w += g.dW) {
        const T v = plane[h * g.W + w];
        if (v > bestVal || v != v) {  // NaN propagates, as in PyTorch
          bestVal = v;
          best = h * g.W + w;
        }
      }
    }
    y[i] = bestVal;
    ind[i] = best;
  }
}

template <typename T>
__global__ void maxPoolBackwardKernel(PoolGeom g, const T* gy, const int64_t* ind, T* gx, ErrorSlot err) {
  const int64_t HW = g.H * g.W, L = g.OH * g.OW;
  KD_GRID_STRIDE(i, g.P * L) {
    const int64_t at = ind[i];
    if (at < 0 || at >= HW) {
      report(err, at);
      continue;
    }
    atomicAdd(gx + (i / L) * HW + at, gy[i]);
  }
}

struct AvgWindow {
  int64_t h0, h1, w0, w1, divisor;
};

__device__ inline AvgWindow avgWindow(int64_t oh, int64_t ow, const PoolGeom& g, bool countIncludePad,
                                      int64_t divisorOverride) {
  int64_t h0 = oh * g.sH - g.pH, w0 = ow * g.sW - g.pW;
  int64_t h1 = min(h0 + g.kH, g.H + g.pH), w1 = min(w0 + g.kW, g.W + g.pW);
  const int64_t poolSize = (h1 - h0) * (w1 - w0);
  h0 = max(h0, int64_t(0));
  w0 = max(w0, int64_t(0));
  h1 = min(h1, g.H);
  w1 = min(w1, g.W);
  int64_t divisor;
  if (divisorOverride > 0) divisor = divisorOverride;
  else if (countIncludePad) divisor = poolSize;
  else divisor = (h1 - h0) * (w1 - w0);
  return {h0, h1, w0, w1, divisor};
}

template <typename T>
__global__ void avgPoolKernel(PoolGeom g, bool countIncludePad, int64_t divisorOverride, const T* x, T* y) {
  KD_GRID_STRIDE(i, g.P * g.OH * g.OW) {
    const int64_t ow = i % g.OW, oh = (i / g.OW) % g.OH, pl = i / (g.OW * g.OH);
    const T* plane = x + pl * g.H * g.W;
    const AvgWindow win = avgWindow(oh, ow, g, countIncludePad, divisorOverride);
    if (win.h0 >= win.h1 || win.w0 >= win.w1) {
      y[i] = T(0);
      continue;
    }
    T s = 0;
    for (int64_t h = win.h0; h < win.h1; ++h)
      for (int64_t w = win.w0; w < win.w1; ++w) s += plane[h * g.W + w];
    y[i] = s / static_cast<T>(win.divisor);
  }
}

template <typename T>
__global__ void avgPoolBackwardKernel(PoolGeom g, bool countIncludePad, int64_t divisorOverride, const T* gy, T* gx) {
  KD_GRID_STRIDE(i, g.P * g.OH * g.OW) {
    const int64_t ow = i % g.OW, oh = (i / g.OW) % g.OH, pl = i / (g.OW * g.OH);
    T* plane = gx + pl * g.H * g.W;
    const AvgWindow win = avgWindow(oh, ow, g, countIncludePad, divisorOverride);
    const T v = gy[i] / static_cast<T>(win.divisor);
    for (int64_t h = win.h0; h < win.h1; ++h)
      for (int64_t w = win.w0; w < win.w1; ++w) atomicAdd(plane + h * g.W + w, v);
  }
}

__device__ inline int64_t adaptiveStart(int64_t o, int64_t in, int64_t out) { return (o * in) / out; }
__device__ inline int64_t adaptiveEnd(int64_t o, int64_t in, int64_t out) { return ((o + 1) * in + out - 1) / out; }

template <typename T>
__global__ void adaptiveAvgKernel(PoolGeom g, const T* x, T* y) {
  KD_GRID_STRIDE(i, g.P * g.OH * g.OW) {
    const int64_t ow = i % g.OW, oh = (i / g.OW) % g.OH, pl = i / (g.OW * g.OH);
    const T* plane = x + pl * g.H * g.W;
    const int64_t h0 = adaptiveStart(oh, g.H, g.OH), h1 = adaptiveEnd(oh, g.H, g.OH);
    const int64_t w0 = adaptiveStart(ow, g.W, g.OW), w1 = adaptiveEnd(ow, g.W, g.OW);
    T s = 0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) s += plane[h * g.W + w];
    y[i] = s / static_cast<T>((h1 - h0) * (w1 - w0));
  }
}

template <typename T>
__global__ void adaptiveAvgBackwardKernel(PoolGeom g, const T* gy, T* gx) {
  KD_GRID_STRIDE(i, g.P * g.OH * g.OW) {
    const int64_t ow = i % g.OW, oh = (i / g.OW) % g.OH, pl = i / (g.OW * g.OH);
    T* plane = gx + pl * g.H * g.W;
    const int64_t h0 = adaptiveStart(oh, g.H, g.OH), h1 = adaptiveEnd(oh, g.H, g.OH);
    const int64_t w0 = adaptiveStart(ow, g.W, g.OW), w1 = adaptiveEnd(ow, g.W, g.OW);
    const T v = gy[i] / static_cast<T>((h1 - h0) * (w1 - w0));
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) atomicAdd(plane + h * g.W + w, v);
  }
}

// ---------------------------------------------------------------------------
// batch norm: x [N, C, S]; a block per channel for the statistics, then
// one elementwise pass.

__device__ inline double blockSum(double v, double* sd) {
  sd[threadIdx.x] = v;
  __syncthreads();
  for (unsigned k = blockDim.x / 2; k > 0; k >>= 1) {
    if (threadIdx.x < k) sd[threadIdx.x] += sd[threadIdx.x + k];
    __syncthreads();
  }
  const double r = sd[0];
  __syncthreads();
  return r;
}

// Writes saveMean/saveInvstd, updates the running stats in training, and
// leaves scale/shift [2C] for the elementwise pass.
template <typename T>
__global__ void batchNormStatsKernel(int64_t N, int64_t C, int64_t S, const T* x, const T* wt, const T* bs, T* rm,
                                     T* rv, bool training, double momentum, double eps, T* sm, T* si, T* scaleShift) {
  __shared__ double sd[kThreads];
  const int64_t M = N * S;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double mean, invstd;
    if (training) {
      double s = 0;
      for (int64_t j = threadIdx.x; j < M; j += blockDim.x) s += static_cast<double>(x[((j / S) * C + c) * S + j % S]);
      const double total = blockSum(s, sd);
      mean = M > 0 ? total / static_cast<double>(M) : 0.0;
      const T meanT = static_cast<T>(mean);
      double q = 0;
      for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
        const T d = x[((j / S) * C + c) * S + j % S] - meanT;
        q += static_cast<double>(d * d);
      }
      const double sq = blockSum(q, sd);
      const double var = M > 0 ? sq / static_cast<double>(M) : 0.0;
      invstd = 1.0 / sqrt(var + eps);
      if (threadIdx.x == 0) {
        if (rm) rm[c] = static_cast<T>((1 - momentum) * static_cast<double>(rm[c]) + momentum * mean);
        if (rv && M > 1)
          rv[c] =
              static_cast<T>((1 - momentum) * static_cast<double>(rv[c]) + momentum * sq / static_cast<double>(M - 1));
      }
    } else {
      mean = static_cast<double>(rm[c]);
      invstd = 1.0 / sqrt(static_cast<double>(rv[c]) + eps);
    }
    if (threadIdx.x == 0) {
      sm[c] = static_cast<T>(mean);
      si[c] = static_cast<T>(invstd);
      const double sc = (wt ? static_cast<double>(wt[c]) : 1.0) * invstd;
      scaleShift[c] = static_cast<T>(sc);
      scaleShift[C + c] = static_cast<T>((bs ? static_cast<double>(bs[c]) : 0.0) - mean * sc);
    }
    __syncthreads();
  }
}

template <typename T>
__global__ void batchNormApplyKernel(int64_t total, int64_t C, int64_t S, const T* x, const T* scaleShift, T* y) {
  KD_GRID_STRIDE(i, total) {
    const int64_t c = (i / S) % C;
    y[i] = x[i] * scaleShift[c] + scaleShift[C + c];
  }
}

// Per channel: gw, gb, and the coefficients k, a, b of
// gx = k * (gy - a - (x - mean) * b) in coef [3C].
template <typename T>
__global__ void batchNormBackwardStatsKernel(int64_t N, int64_t C, int64_t S, const T* gy, const T* x, const T* wt,
                                             const T* sm, const T* si, bool training, T* gw, T* gb, T* coef) {
  __shared__ double sd[kThreads];
  const int64_t M = N * S;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double s1 = 0, s2 = 0;
    for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
      const int64_t i = ((j / S) * C + c) * S + j % S;
      s1 += static_cast<double>(gy[i]);
      s2 += static_cast<double>(gy[i] * (x[i] - sm[c]));
    }
    const double sumG = blockSum(s1, sd), sumGX = blockSum(s2, sd);
    if (threadIdx.x == 0) {
      const double invstd = static_cast<double>(si[c]);
      if (gw) gw[c] = static_cast<T>(sumGX * invstd);
      if (gb) gb[c] = static_cast<T>(sumG);
      const bool stats = training && M > 0;
      coef[c] = static_cast<T>((wt ? static_cast<double>(wt[c]) : 1.0) * invstd);
      coef[C + c] = static_cast<T>(stats ? sumG / static_cast<double>(M) : 0.0);
      coef[2 * C + c] = static_cast<T>(stats ? sumGX / static_cast<double>(M) * invstd * invstd : 0.0);
    }
    __syncthreads();
  }
}

template <typename T>
__global__ void batchNormBackwardApplyKernel(int64_t total, int64_t C, int64_t S, const T* gy, const T* x, const T* sm,
                                             const T* coef, T* gx) {
  KD_GRID_STRIDE(i, total) {
    const int64_t c = (i / S) % C;
    gx[i] = coef[c] * (gy[i] - coef[C + c] - (x[i] - sm[c]) * coef[2 * C + c]);
  }
}

// ---------------------------------------------------------------------------
// nll / cross entropy (Note [Label smoothing] in native/cpu/nn.cc)

struct NllDev {
  int64_t N, C, D, ignoreIndex;
  double ls;
  bool logits;
  int reduction;
};

template <typename T>
__global__ void nllRowsKernel(NllDev p, const T* X, const int64_t* Tg, const T* Wc, T* LSE, double* rowLoss,
                              double* rowW, T* outNone, ErrorSlot err) {
  KD_GRID_STRIDE(i, p.N * p.D) {
    const int64_t n = i / p.D, d = i % p.D;
    const T* x = X + n * p.C * p.D + d;
    const int64_t t = Tg[i];
    double l = 0;
    if (p.logits) {
      double m = -INFINITY;
      for (int64_t c = 0; c < p.C; ++c) m = fmax(m, static_cast<double>(x[c * p.D]));
      double s = 0;
      for (int64_t c = 0; c < p.C; ++c) s += exp(static_cast<double>(x[c * p.D]) - m);
      l = m + log(s);
      if (LSE) LSE[i] = static_cast<T>(l);
    }
    double loss = 0, wt = 0;
    if (t != p.ignoreIndex) {
      if (t < 0 || t >= p.C) {
        report(err, t);
      } else {
        wt = Wc ? static_cast<double>(Wc[t]) : 1.0;
        loss = (1 - p.ls) * wt * (l - static_cast<double>(x[t * p.D]));
        if (p.ls > 0) {
          double wx = 0, sumW = 0;
          for (int64_t c = 0; c < p.C; ++c) {
            const double wc = Wc ? static_cast<double>(Wc[c]) : 1.0;
            sumW += wc;
            wx += wc * static_cast<double>(x[c * p.D]);
          }
          loss += p.ls / static_cast<double>(p.C) * (l * sumW - wx);
        }
      }
    }
    rowLoss[i] = loss;
    rowW[i] = wt;
    if (outNone) outNone[i] = static_cast<T>(loss);
  }
}

// One block: the row sums in double, then the scalar output and total weight.
template <typename T>
__global__ void nllTotalKernel(int64_t rows, const double* rowLoss, const double* rowW, int reduction, T* out, T* tw) {
  __shared__ double sd[kThreads];
  double a = 0, b = 0;
  for (int64_t i = threadIdx.x; i < rows; i += blockDim.x) {
    a += rowLoss[i];
    b += rowW[i];
  }
  const double total = blockSum(a, sd), totalW = blockSum(b, sd);
  if (threadIdx.x == 0) {
    tw[0] = static_cast<T>(totalW);
    if (reduction == static_cast<int>(Reduction::Sum)) out[0] = static_cast<T>(total);
    else if (reduction == static_cast<int>(Reduction::Mean)) out[0] = static_cast<T>(total / totalW);
  }
}

template <typename T>
__global__ void nllBackwardKernel(NllDev p, const T* GY, const T* X, const int64_t* Tg, const T* Wc, const T* LSE,
                                  double totalWeight, T* GX, ErrorSlot err) {
  const double ls = p.ls;
  KD_GRID_STRIDE(i, p.N * p.D) {
    const int64_t n = i / p.D, d = i % p.D;
    const T* x = X + n * p.C * p.D + d;
    T* gxr = GX + n * p.C * p.D + d;
    const int64_t t = Tg[i];
    if (t == p.ignoreIndex) {
      for (int64_t c = 0; c < p.C; ++c) gxr[c * p.D] = T(0);
      continue;
    }
    if (t < 0 || t >= p.C) {
      report(err, t);
      continue;
    }
    double sumW = 0;
    for (int64_t c = 0; c < p.C; ++c) sumW += Wc ? static_cast<double>(Wc[c]) : 1.0;
    const double g = p.reduction == static_cast<int>(Reduction::None)   ? static_cast<double>(GY[i])
                     : p.reduction == static_cast<int>(Reduction::Mean) ? static_cast<double>(GY[0]) / totalWeight
                                                                        : static_cast<double>(GY[0]);
    const double wt = Wc ? static_cast<double>(Wc[t]) : 1.0;
    const double a = (1 - ls) * wt;
    const double b = ls / static_cast<double>(p.C);
    if (p.logits) {
      const double l = static_cast<double>(LSE[i]);
      const double pk = a + b * sumW;
      for (int64_t c = 0; c < p.C; ++c) {
        const double pc = exp(static_cast<double>(x[c * p.D]) - l);
        double v = pk * pc - b * (Wc ? static_cast<double>(Wc[c]) : 1.0);
        if (c == t) v -= a;
        gxr[c * p.D] = static_cast<T>(g * v);
      }
    } else {
      for (int64_t c = 0; c < p.C; ++c) {
        double v = -b * (Wc ? static_cast<double>(Wc[c]) : 1.0);
        if (c == t) v -= a;
        gxr[c * p.D] = static_cast<T>(g * v);
      }
    }
  }
}

NllDev nllDev(const TensorView& input, const NllParams& p) {
  return NllDev{input.shape[0],
                input.shape[1],
                input.shape[2],
                p.ignoreIndex,
                p.labelSmoothing,
                p.logits,
                static_cast<int>(p.reduction)};
}

[[noreturn]] void badTarget(const NllParams& p, int64_t t, int64_t C) {
  throw KernelError(std::string(p.op) + ": target " + std::to_string(t) + " is out of bounds for " + std::to_string(C) +
                    " classes");
}

}  // namespace

void conv2d(const TensorView& x, const TensorView& w, const TensorView* bias, const Conv2dParams& p,
            const TensorView& out) {
  setDevice("conv2d", x.device);
  dispatchFloat(x.dtype, "conv2d", [&](auto tag) { conv2dTyped<typename decltype(tag)::type>(x, w, bias, p, out); });
}

void conv2dBackward(const TensorView& gy, const TensorView& x, const TensorView& w, const Conv2dParams& p,
                    const TensorView* gx, const TensorView* gw, const TensorView* gb) {
  setDevice("conv2dBackward", x.device);
  dispatchFloat(x.dtype, "conv2dBackward",
                [&](auto tag) { conv2dBackwardTyped<typename decltype(tag)::type>(gy, x, w, p, gx, gw, gb); });
}

void maxPool2d(const TensorView& x, const Pool2dParams& p, const TensorView& out, const TensorView& indices) {
  setDevice("maxPool2d", x.device);
  dispatchFloat(x.dtype, "maxPool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const PoolGeom g = poolGeom(x, out, p);
    const int64_t n = g.P * g.OH * g.OW;
    if (n == 0) return;
    maxPoolKernel<T><<<blocksFor(n), kThreads>>>(g, dataOf<T>(x), dataOf<T>(out), dataOf<int64_t>(indices));
    KD_CUDA_LAUNCHED("maxPool2d");
  });
}

void maxPool2dBackward(const TensorView& gy, const TensorView& indices, const TensorView& gx) {
  const char* op = "maxPool2dBackward";
  setDevice(op, gx.device);
  dispatchFloat(gy.dtype, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const PoolGeom g = poolGeom(gx, gy, Pool2dParams{});
    zero(op, gx);
    const int64_t n = g.P * g.OH * g.OW;
    if (n == 0) return;
    DeviceError err(gx.device);
    maxPoolBackwardKernel<T>
        <<<blocksFor(n), kThreads>>>(g, dataOf<T>(gy), dataOf<int64_t>(indices), dataOf<T>(gx), err.slot());
    KD_CUDA_LAUNCHED(op);
    int64_t bad;
    if (err.check(gx.device, bad))
      throw KernelError("maxPool2dBackward: index " + std::to_string(bad) + " is out of range for a plane of " +
                        std::to_string(g.H * g.W) + " elements");
  });
}

void avgPool2d(const TensorView& x, const Pool2dParams& p, bool countIncludePad, int64_t divisorOverride,
               const TensorView& out) {
  setDevice("avgPool2d", x.device);
  dispatchFloat(x.dtype, "avgPool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const PoolGeom g = poolGeom(x, out, p);
    const int64_t n = g.P * g.OH * g.OW;
    if (n == 0) return;
    avgPoolKernel<T><<<blocksFor(n), kThreads>>>(g, countIncludePad, divisorOverride, dataOf<T>(x), dataOf<T>(out));
    KD_CUDA_LAUNCHED("avgPool2d");
  });
}

void avgPool2dBackward(const TensorView& gy, const Pool2dParams& p, bool countIncludePad, int64_t divisorOverride,
                       const TensorView& gx) {
  const char* op = "avgPool2dBackward";
  setDevice(op, gx.device);
  dispatchFloat(gy.dtype, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const PoolGeom g = poolGeom(gx, gy, p);
    zero(op, gx);
    const int64_t n = g.P * g.OH * g.OW;
    if (n == 0) return;
    avgPoolBackwardKernel<T>
        <<<blocksFor(n), kThreads>>>(g, countIncludePad, divisorOverride, dataOf<T>(gy), dataOf<T>(gx));
    KD_CUDA_LAUNCHED(op);
  });
}

void adaptiveAvgPool2d(const TensorView& x, const TensorView& out) {
  setDevice("adaptiveAvgPool2d", x.device);
  dispatchFloat(x.dtype, "adaptiveAvgPool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const PoolGeom g = poolGeom(x, out, Pool2dParams{});
    const int64_t n = g.P * g.OH * g.OW;
    if (n == 0) return;
    adaptiveAvgKernel<T><<<blocksFor(n), kThreads>>>(g, dataOf<T>(x), dataOf<T>(out));
    KD_CUDA_LAUNCHED("adaptiveAvgPool2d");
  });
}

void adaptiveAvgPool2dBackward(const TensorView& gy, const TensorView& gx) {
  const char* op = "adaptiveAvgPool2dBackward";
  setDevice(op, gx.device);
  dispatchFloat(gy.dtype, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const PoolGeom g = poolGeom(gx, gy, Pool2dParams{});
    zero(op, gx);
    const int64_t n = g.P * g.OH * g.OW;
    if (n == 0) return;
    adaptiveAvgBackwardKernel<T><<<blocksFor(n), kThreads>>>(g, dataOf<T>(gy), dataOf<T>(gx));
    KD_CUDA_LAUNCHED(op);
  });
}

void batchNorm(const TensorView& x, const TensorView* weight, const TensorView* bias, const TensorView* runningMean,
               const TensorView* runningVar, bool training, double momentum, double eps, const TensorView& out,
               const TensorView& saveMean, const TensorView& saveInvstd) {
  if (!training && (!runningMean || !runningVar))
    throw KernelError("batchNorm: running_mean and running_var must be defined in evaluation mode");
  setDevice("batchNorm", x.device);
  dispatchFloat(x.dtype, "batchNorm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t N = x.shape[0], C = x.shape[1], S = x.shape[2];
    if (C == 0) return;
    DeviceBuffer scaleShift(x.device, static_cast<size_t>(2 * C) * sizeof(T));
    batchNormStatsKernel<T><<<blocksFor1d(C), kThreads>>>(
        N, C, S, dataOf<T>(x), dataOf<T>(weight), dataOf<T>(bias), dataOf<T>(runningMean), dataOf<T>(runningVar),
        training, momentum, eps, dataOf<T>(saveMean), dataOf<T>(saveInvstd), scaleShift.get<T>());
    KD_CUDA_LAUNCHED("batchNorm");
    const int64_t total = N * C * S;
    if (total == 0) return;
    batchNormApplyKernel<T>
        <<<blocksFor(total), kThreads>>>(total, C, S, dataOf<T>(x), scaleShift.get<T>(), dataOf<T>(out));
    KD_CUDA_LAUNCHED("batchNorm");
  });
}

void batchNormBackward(const TensorView& gy, const TensorView& x, const TensorView* weight, const TensorView& saveMean,
                       const TensorView& saveInvstd, bool training, const TensorView* gx, const TensorView* gw,
                       const TensorView* gb) {
  const char* op = "batchNormBackward";
  setDevice(op, x.device);
  dispatchFloat(x.dtype, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t N = x.shape[0], C = x.shape[1], S = x.shape[2];
    if (C == 0) return;
    DeviceBuffer coef(x.device, static_cast<size_t>(3 * C) * sizeof(T));
    batchNormBackwardStatsKernel<T>
        <<<blocksFor1d(C), kThreads>>>(N, C, S, dataOf<T>(gy), dataOf<T>(x), dataOf<T>(weight), dataOf<T>(saveMean),
                                       dataOf<T>(saveInvstd), training, dataOf<T>(gw), dataOf<T>(gb), coef.get<T>());
    KD_CUDA_LAUNCHED(op);
    const int64_t total = N * C * S;
    if (!gx || total == 0) return;
    batchNormBackwardApplyKernel<T><<<blocksFor(total), kThreads>>>(total, C, S, dataOf<T>(gy), dataOf<T>(x),
                                                                    dataOf<T>(saveMean), coef.get<T>(), dataOf<T>(*gx));
    KD_CUDA_LAUNCHED(op);
  });
}

void nllLoss(const TensorView& input, const TensorView& target, const TensorView* weight, const NllParams& p,
             const TensorView& out, const TensorView* lse, const TensorView& totalWeight) {
  setDevice(p.op, input.device);
  dispatchFloat(input.dtype, p.op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const NllDev d = nllDev(input, p);
    const int64_t rows = d.N * d.D;
    DeviceBuffer rowLoss(input.device, static_cast<size_t>(rows) * sizeof(double));
    DeviceBuffer rowW(input.device, static_cast<size_t>(rows) * sizeof(double));
    DeviceError err(input.device);
    if (rows > 0) {
      nllRowsKernel<T><<<blocksFor(rows), kThreads>>>(
          d, dataOf<T>(input), dataOf<int64_t>(target), dataOf<T>(weight), dataOf<T>(lse), rowLoss.get<double>(),
          rowW.get<double>(), p.reduction == Reduction::None ? dataOf<T>(out) : nullptr, err.slot());
      KD_CUDA_LAUNCHED(p.op);
    }
    nllTotalKernel<T><<<1, kThreads>>>(rows, rowLoss.get<double>(), rowW.get<double>(), static_cast<int>(p.reduction),
                                       dataOf<T>(out), dataOf<T>(totalWeight));
    KD_CUDA_LAUNCHED(p.op);
    int64_t bad;
    if (rows > 0 && err.check(input.device, bad)) badTarget(p, bad, d.C);
  });
}

void nllLossBackward(const TensorView& gy, const TensorView& input, const TensorView& target, const TensorView* weight,
                     const NllParams& p, const TensorView* lse, double totalWeight, const TensorView& gx) {
  if (p.logits && !lse)
    throw KernelError(std::string(p.op) + ": backward of the logits form needs the saved logsumexp");
  setDevice(p.op, input.device);
  dispatchFloat(input.dtype, p.op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const NllDev d = nllDev(input, p);
    const int64_t rows = d.N * d.D;
    if (rows == 0) return;
    DeviceError err(input.device);
    nllBackwardKernel<T><<<blocksFor(rows), kThreads>>>(d, dataOf<T>(gy), dataOf<T>(input), dataOf<int64_t>(target),
                                                        dataOf<T>(weight), dataOf<T>(lse), totalWeight, dataOf<T>(gx),
                                                        err.slot());
    KD_CUDA_LAUNCHED(p.op);
    int64_t bad;
    if (err.check(input.device, bad)) badTarget(p, bad, d.C);
  });
}

}  // namespace cuda
}  // namespace kd
