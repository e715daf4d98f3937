// Reductions, max/min with indices, and (log-)softmax on the device, with
// the semantics of native/cpu/reduce.cc: float sums accumulate in double,
// integer sums and products in uint64 (wrapping as int64), NaN wins in
// max/min, var is two-pass with a correction, logsumexp subtracts the max.
//
// Each output is reduced either by one thread (many outputs: threads walk
// neighbouring outputs, so a column sum reads coalesced rows) or by one
// block with a tree merge in shared memory (few, long outputs).
#include <cmath>
#include <limits>

#include "common.cuh"

namespace kd {
namespace cuda {

namespace {

// Kept dims in output order (out is contiguous in keepdim form) and
// reduced dims, size-1 dims dropped and neighbours merged where memory
// allows.
struct RLayout {
  int nk = 0, nr = 0;
  int64_t ks[kMaxDims], kst[kMaxDims];
  int64_t rs[kMaxDims], rst[kMaxDims];
  int64_t numOut = 1, nred = 1;

  __device__ inline int64_t keptOffset(int64_t o) const {
    int64_t off = 0;
    for (int d = nk - 1; d >= 0; --d) {
      off += (o % ks[d]) * kst[d];
      o /= ks[d];
    }
    return off;
  }
  __device__ inline int64_t redOffset(int64_t r) const {
    if (nr == 1) return r * rst[0];
    int64_t off = 0;
    for (int d = nr - 1; d >= 0; --d) {
      off += (r % rs[d]) * rst[d];
      r /= rs[d];
    }
    return off;
  }
};

void pushDim(int& n, int64_t* size, int64_t* stride, int64_t s, int64_t st) {
  if (s == 1) return;
  if (n > 0 && stride[n - 1] == st * s) {
    size[n - 1] *= s;
    stride[n - 1] = st;
    return;
  }
  size[n] = s;
  stride[n] = st;
  ++n;
}

RLayout makeRLayout(const TensorView& x, const std::vector<bool>& mask) {
  RLayout L;
  for (int d = 0; d < x.ndim; ++d) {
    if (mask[d]) {
      L.nred *= x.shape[d];
      pushDim(L.nr, L.rs, L.rst, x.shape[d], x.strides[d]);
    } else {
      L.numOut *= x.shape[d];
      pushDim(L.nk, L.ks, L.kst, x.shape[d], x.strides[d]);
    }
  }
  return L;
}

bool useBlockMode(int64_t numOut, int64_t nred) { return nred >= 1024 || (numOut < 1024 && nred > 32); }

template <typename T>
__device__ inline bool isNaNv(T v) {
  if constexpr (kIsFloat<T>) return v != v;
  else return false;
}

// ---- ops: acc_t, res_t, init, step(acc, v, c), merge, result(acc, c, count) ------------------
template <typename T>
using WideAcc = std::conditional_t<kIsFloat<T>, double, uint64_t>;
template <typename T>
using WideRes = std::conditional_t<kIsFloat<T>, double, int64_t>;

template <typename T>
struct SumOp {
  using acc_t = WideAcc<T>;
  using res_t = WideRes<T>;
  __device__ acc_t init() const { return acc_t(0); }
  __device__ void step(acc_t& a, T v, double) const { a += static_cast<acc_t>(v); }
  __device__ void merge(acc_t& a, acc_t b) const { a += b; }
  __device__ res_t result(acc_t a, double, double) const { return static_cast<res_t>(a); }
};

template <typename T>
struct ProdOp {
  using acc_t = WideAcc<T>;
  using res_t = WideRes<T>;
  __device__ acc_t init() const { return acc_t(1); }
  __device__ void step(acc_t& a, T v, double) const { a *= static_cast<acc_t>(v); }
  __device__ void merge(acc_t& a, acc_t b) const { a *= b; }
  __device__ res_t result(acc_t a, double, double) const { return static_cast<res_t>(a); }
};

// Mean divides in the input's float type, as PyTorch (sum, then div).
template <typename T>
struct MeanOp : SumOp<T> {
  using res_t = double;
  __device__ res_t result(double a, double, double count) const {
    if constexpr (std::is_same<T, float>::value)
      return static_cast<double>(static_cast<float>(a) / static_cast<float>(count));
    else return a / count;
  }
};

template <typename T, bool IsMax>
struct ExtremeOp {
  using acc_t = T;
  using res_t = T;
  __device__ acc_t init() const {
    if constexpr (kIsFloat<T>) return IsMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    else return IsMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }
  __device__ void step(acc_t& a, T v, double) const {
    if ((IsMax ? v > a : v < a) || isNaNv(v)) a = v;
  }
  __device__ void merge(acc_t& a, acc_t b) const { step(a, b, 0.0); }
  __device__ res_t result(acc_t a, double, double) const { return a; }
};

// The centre of logsumexp: the max, except that an infinite max is not
// subtracted (inf - inf is NaN); the sum then gives inf or -inf itself.
template <typename T>
struct CentreOp : ExtremeOp<T, true> {
  using res_t = double;
  __device__ res_t result(T a, double, double) const {
    const double m = static_cast<double>(a);
    return isinf(m) ? 0.0 : m;
  }
};

template <typename T, bool IsAny>
struct LogicalOp {
  using acc_t = uint8_t;
  using res_t = uint8_t;
  __device__ acc_t init() const { return IsAny ? 0 : 1; }
  __device__ void step(acc_t& a, T v, double) const {
    if (IsAny) a |= static_cast<uint8_t>(v != T(0));
    else a &= static_cast<uint8_t>(v != T(0));
  }
  __device__ void merge(acc_t& a, acc_t b) const {
    if (IsAny) a |= b;
    else a &= b;
  }
  __device__ res_t result(acc_t a, double, double) const { return a; }
};

// Sum of squared distances from the centre c (0 for the norm).
template <typename T>
struct SquareOp {
  using acc_t = double;
  using res_t = double;
  __device__ acc_t init() const { return 0.0; }
  __device__ void step(acc_t& a, T v, double c) const {
    const double d = static_cast<double>(v) - c;
    a += d * d;
  }
  __device__ void merge(acc_t& a, acc_t b) const { a += b; }
  __device__ res_t result(acc_t a, double, double) const { return a; }
};

template <typename T>
struct NormOp : SquareOp<T> {
  __device__ double result(double a, double, double) const { return sqrt(a); }
};

template <typename T>
struct VarOp : SquareOp<T> {
  double divisor;
  __device__ double result(double a, double, double) const { return a / divisor; }
};

// The mean of pass one of var.
template <typename T>
struct CentreMeanOp : SumOp<T> {
  using res_t = double;
  __device__ res_t result(WideAcc<T> a, double, double count) const { return static_cast<double>(a) / count; }
};

template <typename T>
struct ExpSumOp {
  using acc_t = double;
  using res_t = double;
  __device__ acc_t init() const { return 0.0; }
  __device__ void step(acc_t& a, T v, double c) const { a += exp(static_cast<double>(v) - c); }
  __device__ void merge(acc_t& a, acc_t b) const { a += b; }
  __device__ res_t result(acc_t a, double c, double) const { return log(a) + c; }
};

template <typename T, typename Op>
__global__ void reduceThreadKernel(RLayout L, const T* x, typename Op::res_t* res, const double* ctx, double count,
                                   Op op) {
  KD_GRID_STRIDE(o, L.numOut) {
    const T* base = x + L.keptOffset(o);
    const double c = ctx ? ctx[o] : 0.0;
    typename Op::acc_t acc = op.init();
    for (int64_t r = 0; r < L.nred; ++r) op.step(acc, base[L.redOffset(r)], c);
    res[o] = op.result(acc, c, count);
  }
}

template <typename T, typename Op>
__global__ void reduceBlockKernel(RLayout L, const T* x, typename Op::res_t* res, const double* ctx, double count,
                                  Op op) {
  using acc_t = typename Op::acc_t;
  extern __shared__ __align__(16) unsigned char smemRaw[];
  acc_t* sm = reinterpret_cast<acc_t*>(smemRaw);
  for (int64_t o = blockIdx.x; o < L.numOut; o += gridDim.x) {
    const T* base = x + L.keptOffset(o);
    const double c = ctx ? ctx[o] : 0.0;
    acc_t acc = op.init();
    for (int64_t r = threadIdx.x; r < L.nred; r += blockDim.x) op.step(acc, base[L.redOffset(r)], c);
    sm[threadIdx.x] = acc;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) op.merge(sm[threadIdx.x], sm[threadIdx.x + s]);
      __syncthreads();
    }
    if (threadIdx.x == 0) res[o] = op.result(sm[0], c, count);
    __syncthreads();
  }
}

template <typename R>
DType dtypeOf() {
  if constexpr (std::is_same<R, float>::value) return DType::Float32;
  else if constexpr (std::is_same<R, double>::value) return DType::Float64;
  else if constexpr (std::is_same<R, int32_t>::value) return DType::Int32;
  else if constexpr (std::is_same<R, int64_t>::value) return DType::Int64;
  else return DType::UInt8;
}

template <typename T, typename Op>
void launchReduce(const RLayout& L, const T* x, typename Op::res_t* res, const double* ctx, double count,
                  const Op& op) {
  if (useBlockMode(L.numOut, L.nred)) {
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(L.numOut, int64_t(1) << 16));
    reduceBlockKernel<T, Op><<<blocks, kThreads, kThreads * sizeof(typename Op::acc_t)>>>(L, x, res, ctx, count, op);
  } else {
    reduceThreadKernel<T, Op><<<blocksFor(L.numOut), kThreads>>>(L, x, res, ctx, count, op);
  }
  KD_CUDA_LAUNCHED("reduce");
}

// Runs op and stores its results in out (converted to out's dtype).
template <typename T, typename Op>
void reduceInto(const RLayout& L, const T* x, const double* ctx, double count, const Op& op, const TensorView& out) {
  using R = typename Op::res_t;
  if (dtypeOf<R>() == out.dtype) {
    launchReduce<T, Op>(L, x, static_cast<R*>(out.data), ctx, count, op);
    return;
  }
  DeviceBuffer tmp(out.device, static_cast<size_t>(L.numOut) * sizeof(R));
  launchReduce<T, Op>(L, x, tmp.get<R>(), ctx, count, op);
  TensorView src = out;
  src.dtype = dtypeOf<R>();
  src.data = tmp.get();
  cuda::copy(src, out);
}

// Runs op into a fresh per-output array of doubles (a centre for pass two).
template <typename T, typename Op>
DeviceBuffer reduceToDoubles(const RLayout& L, const T* x, const double* ctx, double count, const Op& op, int device) {
  DeviceBuffer buf(device, static_cast<size_t>(L.numOut) * sizeof(double));
  launchReduce<T, Op>(L, x, buf.get<double>(), ctx, count, op);
  return buf;
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
void reduceTyped(ReduceOp op, const T* x, const RLayout& L, double correction, const TensorView& out) {
  const double count = static_cast<double>(L.nred);
  switch (op) {
    case ReduceOp::Sum: return reduceInto(L, x, nullptr, count, SumOp<T>{}, out);
    case ReduceOp::Prod: return reduceInto(L, x, nullptr, count, ProdOp<T>{}, out);
    case ReduceOp::Amax: return reduceInto(L, x, nullptr, count, ExtremeOp<T, true>{}, out);
    case ReduceOp::Amin: return reduceInto(L, x, nullptr, count, ExtremeOp<T, false>{}, out);
    case ReduceOp::Any: return reduceInto(L, x, nullptr, count, LogicalOp<T, true>{}, out);
    case ReduceOp::All: return reduceInto(L, x, nullptr, count, LogicalOp<T, false>{}, out);
    case ReduceOp::Mean:
      if constexpr (kIsFloat<T>) return reduceInto(L, x, nullptr, count, MeanOp<T>{}, out);
      break;
    case ReduceOp::Norm2:
      if constexpr (kIsFloat<T>) return reduceInto(L, x, nullptr, count, NormOp<T>{}, out);
      break;
    case ReduceOp::Var:
      if constexpr (kIsFloat<T>) {
        const DeviceBuffer mean = reduceToDoubles(L, x, nullptr, count, CentreMeanOp<T>{}, out.device);
        VarOp<T> v;
        // As PyTorch: the divisor stops at 0, so m2 / 0 gives NaN or inf.
        v.divisor = std::max(0.0, count - correction);
        return reduceInto(L, x, mean.get<double>(), count, v, out);
      }
      break;
    case ReduceOp::LogSumExp:
      if constexpr (kIsFloat<T>) {
        if (L.nred == 0) return cuda::fill(out, -std::numeric_limits<double>::infinity());
        const DeviceBuffer centre = reduceToDoubles(L, x, nullptr, count, CentreOp<T>{}, out.device);
        return reduceInto(L, x, centre.get<double>(), count, ExpSumOp<T>{}, out);
      }
      break;
  }
  throw KernelError(std::string("reduce: ") + reduceName(op) + " is not supported for this dtype");
}

void checkOut(const char* op, const TensorView& out, int64_t expected) {
  if (out.numel() != expected)
    throw KernelError(std::string(op) + ": output has " + std::to_string(out.numel()) + " elements, expected " +
                      std::to_string(expected));
  if (!out.isContiguous()) throw KernelError(std::string(op) + ": output must be contiguous");
}

// ---- arg reductions -----------------------------------------------------------------------------
template <typename T, bool IsMax>
__device__ inline bool better(T v, T best) {
  return (IsMax ? v > best : v < best) || (isNaNv(v) && !isNaNv(best));
}

template <typename T, bool IsMax>
__global__ void argThreadKernel(RLayout L, const T* x, T* values, int64_t* indices) {
  const int64_t sd = L.rst[0];
  KD_GRID_STRIDE(o, L.numOut) {
    const T* p = x + L.keptOffset(o);
    T best = p[0];
    int64_t bi = 0;
    for (int64_t k = 1; k < L.nred; ++k) {
      const T v = p[k * sd];
      if (better<T, IsMax>(v, best)) {
        best = v;
        bi = k;
      }
    }
    values[o] = best;
    indices[o] = bi;
  }
}

// Ties (equal values, or both NaN) keep the lower index: the first extreme.
template <typename T, bool IsMax>
__global__ void argBlockKernel(RLayout L, const T* x, T* values, int64_t* indices) {
  __shared__ T sv[kThreads];
  __shared__ int64_t si[kThreads];
  const int64_t sd = L.rst[0];
  for (int64_t o = blockIdx.x; o < L.numOut; o += gridDim.x) {
    const T* p = x + L.keptOffset(o);
    T best = p[0];
    int64_t bi = -1;
    for (int64_t k = threadIdx.x; k < L.nred; k += blockDim.x) {
      const T v = p[k * sd];
      if (bi < 0 || better<T, IsMax>(v, best)) {
        best = v;
        bi = k;
      }
    }
    sv[threadIdx.x] = best;
    si[threadIdx.x] = bi;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) {
        const T v = sv[threadIdx.x + s];
        const int64_t i = si[threadIdx.x + s];
        const T b = sv[threadIdx.x];
        const int64_t j = si[threadIdx.x];
        bool take = false;
        if (i >= 0) {
          if (j < 0 || better<T, IsMax>(v, b)) take = true;
          else if (!better<T, IsMax>(b, v) && i < j) take = true;
        }
        if (take) {
          sv[threadIdx.x] = v;
          si[threadIdx.x] = i;
        }
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      values[o] = sv[0];
      indices[o] = si[0];
    }
    __syncthreads();
  }
}

// ---- softmax --------------------------------------------------------------------------------------
// Contiguous data seen as [outer, n, inner], softmax over n. inner == 1:
// a block per row; otherwise a thread per (outer, inner) lane, walking n.
// Sums in double, as the CPU kernels. in may equal out.

template <typename T>
__device__ inline T maxIgnoringNaN(T m, T v) {
  return v > m ? v : m;
}

template <typename T>
__global__ void softmaxRowsKernel(const T* in, T* out, int64_t outer, int64_t n, bool logMode) {
  __shared__ double sd[kThreads];
  __shared__ T st[kThreads];
  for (int64_t r = blockIdx.x; r < outer; r += gridDim.x) {
    const T* x = in + r * n;
    T* y = out + r * n;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = maxIgnoringNaN(m, x[i]);
    st[threadIdx.x] = m;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) st[threadIdx.x] = maxIgnoringNaN(st[threadIdx.x], st[threadIdx.x + s]);
      __syncthreads();
    }
    m = st[0];
    double sum = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) sum += static_cast<double>(T(exp(x[i] - m)));
    sd[threadIdx.x] = sum;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) sd[threadIdx.x] += sd[threadIdx.x + s];
      __syncthreads();
    }
    const double total = sd[0];
    if (logMode) {
      const T lse = static_cast<T>(log(total));
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) y[i] = (x[i] - m) - lse;
    } else {
      const T inv = static_cast<T>(1.0 / total);
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x) y[i] = T(exp(x[i] - m)) * inv;
    }
    __syncthreads();
  }
}

template <typename T>
__global__ void softmaxLanesKernel(const T* in, T* out, int64_t outer, int64_t n, int64_t inner, bool logMode) {
  KD_GRID_STRIDE(t, outer * inner) {
    const int64_t o = t / inner, j = t % inner;
    const T* x = in + o * n * inner + j;
    T* y = out + o * n * inner + j;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t k = 0; k < n; ++k) m = maxIgnoringNaN(m, x[k * inner]);
    double sum = 0.0;
    for (int64_t k = 0; k < n; ++k) sum += static_cast<double>(T(exp(x[k * inner] - m)));
    if (logMode) {
      const T lse = static_cast<T>(log(sum));
      for (int64_t k = 0; k < n; ++k) y[k * inner] = (x[k * inner] - m) - lse;
    } else {
      const T inv = static_cast<T>(1.0 / sum);
      for (int64_t k = 0; k < n; ++k) y[k * inner] = T(exp(x[k * inner] - m)) * inv;
    }
  }
}

// softmax: gx = y * (gy - sum(gy * y)); log_softmax: gx = gy - exp(y) * sum(gy).
template <typename T>
__global__ void softmaxBackwardRowsKernel(const T* y, const T* gy, T* gx, int64_t outer, int64_t n, bool logMode) {
  __shared__ double sd[kThreads];
  for (int64_t r = blockIdx.x; r < outer; r += gridDim.x) {
    const T* yr = y + r * n;
    const T* gr = gy + r * n;
    T* o = gx + r * n;
    double s = 0.0;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
      s += logMode ? static_cast<double>(gr[i]) : static_cast<double>(gr[i]) * static_cast<double>(yr[i]);
    sd[threadIdx.x] = s;
    __syncthreads();
    for (unsigned k = blockDim.x / 2; k > 0; k >>= 1) {
      if (threadIdx.x < k) sd[threadIdx.x] += sd[threadIdx.x + k];
      __syncthreads();
    }
    const T st = static_cast<T>(sd[0]);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
      o[i] = logMode ? gr[i] - T(exp(yr[i])) * st : yr[i] * (gr[i] - st);
    __syncthreads();
  }
}

template <typename T>
__global__ void softmaxBackwardLanesKernel(const T* y, const T* gy, T* gx, int64_t outer, int64_t n, int64_t inner,
                                           bool logMode) {
  KD_GRID_STRIDE(t, outer * inner) {
    const int64_t base = (t / inner) * n * inner + t % inner;
    double s = 0.0;
    for (int64_t k = 0; k < n; ++k) {
      const int64_t i = base + k * inner;
      s += logMode ? static_cast<double>(gy[i]) : static_cast<double>(gy[i]) * static_cast<double>(y[i]);
    }
    const T st = static_cast<T>(s);
    for (int64_t k = 0; k < n; ++k) {
      const int64_t i = base + k * inner;
      gx[i] = logMode ? gy[i] - T(exp(y[i])) * st : y[i] * (gy[i] - st);
    }
  }
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

unsigned rowBlocks(int64_t rows) {
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(rows, int64_t(1) << 16)));
}

}  // namespace

void reduce(ReduceOp op, const TensorView& x, const std::vector<bool>& reduceDims, double correction,
            const TensorView& out) {
  const char* name = reduceName(op);
  if (static_cast<int>(reduceDims.size()) != x.ndim)
    throw KernelError(std::string("reduce: dim mask has ") + std::to_string(reduceDims.size()) + " entries for a " +
                      std::to_string(x.ndim) + "-d input");
  const bool isFloat = x.dtype == DType::Float32 || x.dtype == DType::Float64;
  const bool floatOnly =
      op == ReduceOp::Mean || op == ReduceOp::Var || op == ReduceOp::LogSumExp || op == ReduceOp::Norm2;
  if (floatOnly && !isFloat)
    throw KernelError(std::string("reduce: ") + name + " needs a floating dtype, got " + dtypeName(x.dtype));
  const RLayout L = makeRLayout(x, reduceDims);
  checkOut(name, out, L.numOut);
  if ((op == ReduceOp::Amax || op == ReduceOp::Amin) && L.nred == 0)
    throw KernelError(std::string(name) + ": cannot reduce over an empty dim");
  if (L.numOut == 0) return;
  setDevice(name, out.device);
  dispatchAll(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    reduceTyped<T>(op, static_cast<const T*>(x.data), L, correction, out);
  });
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
  RLayout L = makeRLayout(x, mask);
  // Exactly one reduced dim, even of size 1 (the kernels index it directly).
  L.nr = 1;
  L.rs[0] = x.shape[dim];
  L.rst[0] = x.strides[dim];
  checkOut(name, values, L.numOut);
  checkOut(name, indices, L.numOut);
  if (x.shape[dim] == 0)
    throw KernelError(std::string(name) + ": cannot reduce over an empty dim (dim " + std::to_string(dim) + " of " +
                      shapeStr(x) + ")");
  if (L.numOut == 0) return;
  setDevice(name, x.device);
  dispatchAll(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = static_cast<const T*>(x.data);
    T* pv = static_cast<T*>(values.data);
    int64_t* pi = static_cast<int64_t*>(indices.data);
    if (useBlockMode(L.numOut, L.nred)) {
      if (isMax) argBlockKernel<T, true><<<rowBlocks(L.numOut), kThreads>>>(L, px, pv, pi);
      else argBlockKernel<T, false><<<rowBlocks(L.numOut), kThreads>>>(L, px, pv, pi);
    } else {
      if (isMax) argThreadKernel<T, true><<<blocksFor(L.numOut), kThreads>>>(L, px, pv, pi);
      else argThreadKernel<T, false><<<blocksFor(L.numOut), kThreads>>>(L, px, pv, pi);
    }
  });
  KD_CUDA_LAUNCHED(name);
}

void softmax(const TensorView& x, int dim, bool log, const TensorView& out) {
  checkSoftmaxArgs("softmax", x, out, dim);
  if (x.numel() == 0) return;
  setDevice("softmax", out.device);
  int64_t outer, n, inner;
  splitAround(x, dim, outer, n, inner);
  dispatchFloat(x.dtype, "softmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* o = static_cast<T*>(out.data);
    const T* src = static_cast<const T*>(x.data);
    // A strided input is first copied into out; the kernels work in place.
    if (!x.isContiguous()) {
      cuda::copy(x, out);
      src = o;
    }
    if (inner == 1) softmaxRowsKernel<T><<<rowBlocks(outer), kThreads>>>(src, o, outer, n, log);
    else softmaxLanesKernel<T><<<blocksFor(outer * inner), kThreads>>>(src, o, outer, n, inner, log);
  });
  KD_CUDA_LAUNCHED("softmax");
}

void softmaxBackward(const TensorView& y, const TensorView& gy, int dim, bool log, const TensorView& out) {
  checkSoftmaxArgs("softmaxBackward", y, out, dim);
  checkSoftmaxArgs("softmaxBackward", gy, out, dim);
  if (y.numel() == 0) return;
  setDevice("softmaxBackward", out.device);
  int64_t outer, n, inner;
  splitAround(y, dim, outer, n, inner);
  dispatchFloat(y.dtype, "softmaxBackward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* o = static_cast<T*>(out.data);
    const T* yp = static_cast<const T*>(y.data);
    const T* gp = static_cast<const T*>(gy.data);
    // Strided inputs are made contiguous: one into out (the kernels allow
    // out to alias an input), the other, if both are strided, into a
    // temporary.
    DeviceBuffer tmp;
    if (!gy.isContiguous()) {
      cuda::copy(gy, out);
      gp = o;
    }
    if (!y.isContiguous()) {
      if (gp == o) {
        const TensorView t = contiguousLike(y, y.dtype, tmp);
        cuda::copy(y, t);
        yp = static_cast<const T*>(t.data);
      } else {
        cuda::copy(y, out);
        yp = o;
      }
    }
    if (inner == 1) softmaxBackwardRowsKernel<T><<<rowBlocks(outer), kThreads>>>(yp, gp, o, outer, n, log);
    else softmaxBackwardLanesKernel<T><<<blocksFor(outer * inner), kThreads>>>(yp, gp, o, outer, n, inner, log);
  });
  KD_CUDA_LAUNCHED("softmaxBackward");
}

}  // namespace cuda
}  // namespace kd
