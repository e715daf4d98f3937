// The fused recurrent cells on the device: one thread per (row, hidden unit),
// with the argument conventions of native/cpu/nn_kernels.h (contiguous
// tensors of one float dtype, outputs allocated by the caller) and the
// arithmetic of native/cpu/rnn.cc, in the same order.
#include <cmath>

#include "common.cuh"

namespace kd {
namespace cuda {

namespace {

template <typename T>
__device__ T sigmoidOf(T x) {
  // e^x / (1 + e^x) for x < 0, as the CPU kernel, so tiny results keep their precision.
  const T e = exp(-fabs(x)), s = T(1) / (T(1) + e);
  return x < T(0) ? e * s : s;
}

template <typename T>
__global__ void lstmCellKernel(int64_t B, int64_t H, const T* ig, const T* hg, const T* cx, T* hy, T* cy, T* ws) {
  KD_GRID_STRIDE(k, B * H) {
    const int64_t b = k / H, j = k % H;
    const T *xi = ig + b * 4 * H, *hh = hg + b * 4 * H;
    T* w = ws + b * 4 * H;
    const T i = sigmoidOf<T>(hh[j] + xi[j]);
    const T f = sigmoidOf<T>(hh[H + j] + xi[H + j]);
    const T g = tanh(hh[2 * H + j] + xi[2 * H + j]);
    const T o = sigmoidOf<T>(hh[3 * H + j] + xi[3 * H + j]);
    const T c = f * cx[k] + i * g;
    cy[k] = c;
    hy[k] = o * tanh(c);
    w[j] = i;
    w[H + j] = f;
    w[2 * H + j] = g;
    w[3 * H + j] = o;
  }
}

template <typename T>
__global__ void lstmCellBackwardKernel(int64_t B, int64_t H, const T* gh, const T* gc, const T* cx, const T* cy,
                                       const T* ws, T* gg, T* gcx) {
  KD_GRID_STRIDE(k, B * H) {
    const int64_t b = k / H, j = k % H;
    const T* w = ws + b * 4 * H;
    T* d = gg + b * 4 * H;
    const T i = w[j], f = w[H + j], g = w[2 * H + j], o = w[3 * H + j];
    const T tc = tanh(cy[k]);
    const T dc = gc[k] + gh[k] * o * (T(1) - tc * tc);
    d[j] = dc * g * i * (T(1) - i);
    d[H + j] = dc * cx[k] * f * (T(1) - f);
    d[2 * H + j] = dc * i * (T(1) - g * g);
    d[3 * H + j] = gh[k] * tc * o * (T(1) - o);
    if (gcx) gcx[k] = dc * f;
  }
}

template <typename T>
__global__ void gruCellKernel(int64_t B, int64_t H, const T* ig, const T* hg, const T* hx, T* hy, T* ws) {
  KD_GRID_STRIDE(k, B * H) {
    const int64_t b = k / H, j = k % H;
    const T *xi = ig + b * 3 * H, *hh = hg + b * 3 * H;
    T* w = ws + b * 4 * H;
    const T r = sigmoidOf<T>(hh[j] + xi[j]);
    const T z = sigmoidOf<T>(hh[H + j] + xi[H + j]);
    const T hn = hh[2 * H + j];
    const T n = tanh(xi[2 * H + j] + hn * r);
    hy[k] = (hx[k] - n) * z + n;
    w[j] = r;
    w[H + j] = z;
    w[2 * H + j] = n;
    w[3 * H + j] = hn;
  }
}

template <typename T>
__global__ void gruCellBackwardKernel(int64_t B, int64_t H, const T* gh, const T* hx, const T* ws, T* gi, T* ghid,
                                      T* ghx) {
  KD_GRID_STRIDE(k, B * H) {
    const int64_t b = k / H, j = k % H;
    const T* w = ws + b * 4 * H;
    T *di = gi + b * 3 * H, *dh = ghid + b * 3 * H;
    const T r = w[j], z = w[H + j], n = w[2 * H + j], hn = w[3 * H + j];
    const T dn = gh[k] * (T(1) - z) * (T(1) - n * n);
    const T dz = gh[k] * (hx[k] - n) * z * (T(1) - z);
    const T dr = dn * hn * r * (T(1) - r);
    di[j] = dr;
    di[H + j] = dz;
    di[2 * H + j] = dn;
    dh[j] = dr;
    dh[H + j] = dz;
    dh[2 * H + j] = dn * r;
    if (ghx) ghx[k] = gh[k] * z;
  }
}

template <typename T>
T* ptrOf(const TensorView& v) {
  return static_cast<T*>(v.data);
}

}  // namespace

void lstmCell(const TensorView& inputGates, const TensorView& hiddenGates, const TensorView& cx, const TensorView& hy,
              const TensorView& cy, const TensorView& workspace) {
  const char* op = "lstmCell";
  setDevice(op, cx.device);
  dispatchFloat(cx.dtype, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t B = cx.shape[0], H = cx.shape[1];
    if (B * H == 0) return;
    lstmCellKernel<T><<<blocksFor(B * H), kThreads>>>(B, H, ptrOf<T>(inputGates), ptrOf<T>(hiddenGates), ptrOf<T>(cx),
                                                      ptrOf<T>(hy), ptrOf<T>(cy), ptrOf<T>(workspace));
    KD_CUDA_LAUNCHED(op);
  });
}

void lstmCellBackward(const TensorView& gradHy, const TensorView& gradCy, const TensorView& cx, const TensorView& cy,
                      const TensorView& workspace, const TensorView& gradGates, const TensorView* gradCx) {
  const char* op = "lstmCellBackward";
  setDevice(op, cx.device);
  dispatchFloat(cx.dtype, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t B = cx.shape[0], H = cx.shape[1];
    if (B * H == 0) return;
    lstmCellBackwardKernel<T><<<blocksFor(B * H), kThreads>>>(B, H, ptrOf<T>(gradHy), ptrOf<T>(gradCy), ptrOf<T>(cx),
                                                              ptrOf<T>(cy), ptrOf<T>(workspace), ptrOf<T>(gradGates),
                                                              gradCx ? ptrOf<T>(*gradCx) : nullptr);
    KD_CUDA_LAUNCHED(op);
  });
}

void gruCell(const TensorView& inputGates, const TensorView& hiddenGates, const TensorView& hx, const TensorView& hy,
             const TensorView& workspace) {
  const char* op = "gruCell";
  setDevice(op, hx.device);
  dispatchFloat(hx.dtype, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t B = hx.shape[0], H = hx.shape[1];
    if (B * H == 0) return;
    gruCellKernel<T><<<blocksFor(B * H), kThreads>>>(B, H, ptrOf<T>(inputGates), ptrOf<T>(hiddenGates), ptrOf<T>(hx),
                                                     ptrOf<T>(hy), ptrOf<T>(workspace));
    KD_CUDA_LAUNCHED(op);
  });
}

void gruCellBackward(const TensorView& gradHy, const TensorView& hx, const TensorView& workspace,
                     const TensorView& gradInputGates, const TensorView& gradHiddenGates, const TensorView* gradHx) {
  const char* op = "gruCellBackward";
  setDevice(op, hx.device);
  dispatchFloat(hx.dtype, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const int64_t B = hx.shape[0], H = hx.shape[1];
    if (B * H == 0) return;
    gruCellBackwardKernel<T><<<blocksFor(B * H), kThreads>>>(B, H, ptrOf<T>(gradHy), ptrOf<T>(hx), ptrOf<T>(workspace),
                                                             ptrOf<T>(gradInputGates), ptrOf<T>(gradHiddenGates),
                                                             gradHx ? ptrOf<T>(*gradHx) : nullptr);
    KD_CUDA_LAUNCHED(op);
  });
}

}  // namespace cuda
}  // namespace kd
