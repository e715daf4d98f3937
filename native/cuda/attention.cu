// Fused scaled dot product attention on the device, with the contract of
// native/cpu/attention.cc (Note [Fused attention] there): out and each
// row's logsumexp forward; backward recomputes the probabilities from them.
//
// One block per query row (b, h, i): the row's probabilities live in
// shared memory (S values), so S is bounded by the shared memory a block
// may take; keys past the causal diagonal are never read. Backward adds
// each row's share of the key and value gradients with atomicAdd. Simple
// rather than tiled: the point is a correct device path beside the CPU's.
#include <cmath>
#include <limits>

#include "common.cuh"

namespace kd {
namespace cuda {

namespace {

constexpr int kRowThreads = 128;
constexpr size_t kMaxShared = 48 * 1024;

struct Dims {
  int64_t B, H, L, S, E, Ev;
  // Element strides of q, k, v, gy ([B, H, rows, cols]) and the mask.
  int64_t q[4], k[4], v[4], g[4], m[4];
  bool hasMask, maskBool, causal;
  double scale;
};

Dims dimsOf(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView* mask, const TensorView* gy,
            const AttentionParams& p) {
  Dims d{};
  d.B = q.shape[0];
  d.H = q.shape[1];
  d.L = q.shape[2];
  d.E = q.shape[3];
  d.S = k.shape[2];
  d.Ev = v.shape[3];
  for (int i = 0; i < 4; ++i) {
    d.q[i] = q.strides[i];
    d.k[i] = k.strides[i];
    d.v[i] = v.strides[i];
    d.g[i] = gy ? gy->strides[i] : 0;
    d.m[i] = mask ? mask->strides[i] : 0;
  }
  d.hasMask = mask != nullptr;
  d.maskBool = mask && mask->dtype == DType::Bool;
  d.causal = p.causal;
  d.scale = p.scale;
  return d;
}

template <typename T>
__device__ inline T blockMax(T v, T* red) {
  red[threadIdx.x] = v;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s)
      red[threadIdx.x] = red[threadIdx.x + s] > red[threadIdx.x] ? red[threadIdx.x + s] : red[threadIdx.x];
    __syncthreads();
  }
  const T r = red[0];
  __syncthreads();
  return r;
}

__device__ inline double blockSum(double v, double* red) {
  red[threadIdx.x] = v;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
    __syncthreads();
  }
  const double r = red[0];
  __syncthreads();
  return r;
}

// Fills p[0, seen) with row (b, h, i)'s scaled, masked logits; returns `seen`.
template <typename T>
__device__ int64_t logits(const Dims& d, const T* q, const T* k, const void* mask, int64_t b, int64_t h, int64_t i,
                          T* p) {
  const int64_t seen = d.causal ? min(d.S, i + 1) : d.S;
  const T* qr = q + b * d.q[0] + h * d.q[1] + i * d.q[2];
  for (int64_t j = threadIdx.x; j < seen; j += blockDim.x) {
    const T* kr = k + b * d.k[0] + h * d.k[1] + j * d.k[2];
    T s = 0;
    for (int64_t e = 0; e < d.E; ++e) s += qr[e * d.q[3]] * kr[e * d.k[3]];
    s *= static_cast<T>(d.scale);
    if (d.hasMask) {
      const int64_t off = b * d.m[0] + h * d.m[1] + i * d.m[2] + j * d.m[3];
      if (d.maskBool) {
        if (!static_cast<const uint8_t*>(mask)[off]) s = -std::numeric_limits<T>::infinity();
      } else {
        s += static_cast<const T*>(mask)[off];
      }
    }
    p[j] = s;
  }
  __syncthreads();
  return seen;
}

template <typename T>
__global__ void attentionForwardKernel(Dims d, const T* q, const T* k, const T* v, const void* mask, T* out, T* lse) {
  extern __shared__ unsigned char shared[];
  double* red = reinterpret_cast<double*>(shared);
  T* p = reinterpret_cast<T*>(red + kRowThreads);
  const int64_t row = blockIdx.x;  // (b * H + h) * L + i
  const int64_t i = row % d.L, bh = row / d.L, b = bh / d.H, h = bh % d.H;
  const int64_t seen = logits(d, q, k, mask, b, h, i, p);
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t j = threadIdx.x; j < seen; j += blockDim.x) m = p[j] > m ? p[j] : m;
  m = blockMax(m, reinterpret_cast<T*>(red));
  double sum = 0;
  for (int64_t j = threadIdx.x; j < seen; j += blockDim.x) {
    p[j] = exp(p[j] - m);
    sum += p[j];
  }
  sum = blockSum(sum, red);
  if (threadIdx.x == 0) lse[row] = seen == 0 ? -std::numeric_limits<T>::infinity() : m + static_cast<T>(log(sum));
  const T inv = static_cast<T>(1.0 / sum);
  for (int64_t e = threadIdx.x; e < d.Ev; e += blockDim.x) {
    T acc = 0;
    for (int64_t j = 0; j < seen; ++j) acc += p[j] * v[b * d.v[0] + h * d.v[1] + j * d.v[2] + e * d.v[3]];
    out[row * d.Ev + e] = seen == 0 ? T(0) : acc * inv;
  }
}

template <typename T>
__global__ void attentionBackwardKernel(Dims d, const T* gy, const T* q, const T* k, const T* v, const void* mask,
                                        const T* out, const T* lse, T* gq, T* gk, T* gv) {
  extern __shared__ unsigned char shared[];
  double* red = reinterpret_cast<double*>(shared);
  T* p = reinterpret_cast<T*>(red + kRowThreads);
  const int64_t row = blockIdx.x;
  const int64_t i = row % d.L, bh = row / d.L, b = bh / d.H, h = bh % d.H;
  const int64_t seen = logits(d, q, k, mask, b, h, i, p);
  const T l = lse[row];
  const T* gr = gy + b * d.g[0] + h * d.g[1] + i * d.g[2];
  const T* qr = q + b * d.q[0] + h * d.q[1] + i * d.q[2];
  double part = 0;
  for (int64_t e = threadIdx.x; e < d.Ev; e += blockDim.x)
    part += static_cast<double>(gr[e * d.g[3]]) * out[row * d.Ev + e];
  const T D = static_cast<T>(blockSum(part, red));
  for (int64_t j = threadIdx.x; j < seen; j += blockDim.x) {
    const T pj = exp(p[j] - l);
    const T* vr = v + b * d.v[0] + h * d.v[1] + j * d.v[2];
    T dp = 0;
    for (int64_t e = 0; e < d.Ev; ++e) dp += gr[e * d.g[3]] * vr[e * d.v[3]];
    if (gv)
      for (int64_t e = 0; e < d.Ev; ++e) atomicAdd(gv + (bh * d.S + j) * d.Ev + e, pj * gr[e * d.g[3]]);
    const T ds = pj == T(0) ? T(0) : pj * (dp - D) * static_cast<T>(d.scale);
    p[j] = ds;
    if (gk)
      for (int64_t e = 0; e < d.E; ++e) atomicAdd(gk + (bh * d.S + j) * d.E + e, ds * qr[e * d.q[3]]);
  }
  __syncthreads();
  if (gq) {
    for (int64_t e = threadIdx.x; e < d.E; e += blockDim.x) {
      T acc = 0;
      for (int64_t j = 0; j < seen; ++j) acc += p[j] * k[b * d.k[0] + h * d.k[1] + j * d.k[2] + e * d.k[3]];
      gq[row * d.E + e] = acc;
    }
  }
}

template <typename T>
size_t sharedBytes(const char* op, int64_t S) {
  const size_t bytes = kRowThreads * sizeof(double) + static_cast<size_t>(S) * sizeof(T);
  if (bytes > kMaxShared)
    throw KernelError(std::string(op) + ": the CUDA kernel takes at most " +
                      std::to_string((kMaxShared - kRowThreads * sizeof(double)) / sizeof(T)) + " keys, got " +
                      std::to_string(S));
  return bytes;
}

template <typename T>
T* dataOf(const TensorView* v) {
  return v ? v->ptr<T>() : nullptr;
}

}  // namespace

void attention(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView* mask,
               const AttentionParams& p, const TensorView& out, const TensorView& lse) {
  const char* op = "attention";
  setDevice(op, q.device);
  dispatchFloat(q.dtype, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Dims d = dimsOf(q, k, v, mask, nullptr, p);
    const int64_t rows = d.B * d.H * d.L;
    if (rows == 0) return;
    attentionForwardKernel<T><<<static_cast<unsigned>(rows), kRowThreads, sharedBytes<T>(op, d.S)>>>(
        d, q.ptr<T>(), k.ptr<T>(), v.ptr<T>(), mask ? mask->data : nullptr, out.ptr<T>(), lse.ptr<T>());
    KD_CUDA_LAUNCHED(op);
  });
}

void attentionBackward(const TensorView& gy, const TensorView& q, const TensorView& k, const TensorView& v,
                       const TensorView* mask, const AttentionParams& p, const TensorView& out, const TensorView& lse,
                       const TensorView* gq, const TensorView* gk, const TensorView* gv) {
  const char* op = "attentionBackward";
  setDevice(op, q.device);
  dispatchFloat(q.dtype, op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const Dims d = dimsOf(q, k, v, mask, &gy, p);
    // The key and value gradients are sums over rows: start from zero.
    if (gk) KD_CUDA_CHECK(op, cudaMemsetAsync(gk->data, 0, static_cast<size_t>(gk->numel()) * sizeof(T), 0));
    if (gv) KD_CUDA_CHECK(op, cudaMemsetAsync(gv->data, 0, static_cast<size_t>(gv->numel()) * sizeof(T), 0));
    const int64_t rows = d.B * d.H * d.L;
    if (rows == 0) return;
    attentionBackwardKernel<T><<<static_cast<unsigned>(rows), kRowThreads, sharedBytes<T>(op, d.S)>>>(
        d, gy.ptr<T>(), q.ptr<T>(), k.ptr<T>(), v.ptr<T>(), mask ? mask->data : nullptr, out.ptr<T>(), lse.ptr<T>(),
        dataOf<T>(gq), dataOf<T>(gk), dataOf<T>(gv));
    KD_CUDA_LAUNCHED(op);
  });
}

}  // namespace cuda
}  // namespace kd
