// Indexing kernels on the device: index_select / index_copy_ / index_add_
// along one dim, and gather / scatter / scatter_add_ with an index tensor.
// The same checks and messages as native/cpu/index.cc. Every index is
// checked before anything is written: the index is read back to the host
// (one synchronising copy), so a bad index throws and leaves the output
// as it was. index_add_ and scatter_add_ accumulate with atomics, so
// duplicate indices add up (in an order that may vary from run to run,
// as in PyTorch's CUDA kernels); index_copy_ and scatter with duplicate
// indices keep one of the writes.
#include <cmath>
#include <cstring>

#include "common.cuh"

namespace kd {
namespace cuda {

namespace {

[[noreturn]] void outOfBounds(const char* op, int64_t v, int dim, int64_t size) {
  throw KernelError(std::string(op) + ": index " + std::to_string(v) + " is out of bounds for dim " +
                    std::to_string(dim) + " with size " + std::to_string(size));
}

void checkDim(const char* op, const TensorView& t, int dim) {
  if (dim < 0 || dim >= t.ndim)
    throw KernelError(std::string(op) + ": dim " + std::to_string(dim) + " is out of range for a " +
                      std::to_string(t.ndim) + "-d tensor");
}

void checkIndexDtype(const char* op, const TensorView& index) {
  if (index.dtype != DType::Int64)
    throw KernelError(std::string(op) + ": index must be int64, got " + dtypeName(index.dtype));
}

void checkSameDtype(const char* op, const TensorView& a, const TensorView& b) {
  if (a.dtype != b.dtype)
    throw KernelError(std::string(op) + ": dtypes differ (" + dtypeName(a.dtype) + " and " + dtypeName(b.dtype) + ")");
}

std::vector<int64_t> downloadIndex(const TensorView& index) {
  const std::vector<uint8_t> raw = downloadView(index);
  std::vector<int64_t> v(raw.size() / sizeof(int64_t));
  if (!v.empty()) std::memcpy(v.data(), raw.data(), raw.size());
  return v;
}

// The index values, checked against size, negatives wrapped.
std::vector<int64_t> checkedIndex(const char* op, const TensorView& index, int dim, int64_t size) {
  std::vector<int64_t> idx = downloadIndex(index);
  for (int64_t& v : idx) {
    if (v < -size || v >= size) outOfBounds(op, v, dim, size);
    if (v < 0) v += size;
  }
  return idx;
}

// Iteration over `shape` (row-major); `tgt` is the operand whose
// coordinate along dim is replaced by an index value, `plain` the other.
// With a 1-d index the value is idx[coord]; with an n-d index (gather,
// scatter) it is idx[offset of the index tensor] (already wrapped).
struct IndexGeom {
  int ndim = 0, dim = 0;
  bool nd = false;
  int64_t shape[kMaxDims];
  int64_t tgt[kMaxDims], plain[kMaxDims], ist[kMaxDims];
};

enum Mode : int { kRead = 0, kWrite = 1, kAdd = 2 };

template <typename U>
struct Adder;  // d += alpha * s, atomically; integers wrap, bool is a logical or

template <>
struct Adder<float> {
  float alpha;
  __device__ void operator()(float* d, float s) const { atomicAdd(d, alpha * s); }
};
template <>
struct Adder<double> {
  double alpha;
  __device__ void operator()(double* d, double s) const { atomicAdd(d, alpha * s); }
};
template <>
struct Adder<int32_t> {
  int64_t alpha;
  __device__ void operator()(int32_t* d, int32_t s) const {
    const uint32_t v = static_cast<uint32_t>(static_cast<uint64_t>(alpha) * static_cast<uint64_t>(int64_t(s)));
    atomicAdd(reinterpret_cast<unsigned int*>(d), v);
  }
};
template <>
struct Adder<int64_t> {
  int64_t alpha;
  __device__ void operator()(int64_t* d, int64_t s) const {
    const unsigned long long v = static_cast<uint64_t>(alpha) * static_cast<uint64_t>(s);
    atomicAdd(reinterpret_cast<unsigned long long*>(d), v);
  }
};
// uint8 and bool: a compare-and-swap on the aligned 32-bit word holding
// the byte (there are no byte atomics).
struct ByteAdder {
  int64_t alpha;
  bool isBool;
  __device__ void operator()(uint8_t* d, uint8_t s) const {
    const uintptr_t addr = reinterpret_cast<uintptr_t>(d);
    unsigned int* word = reinterpret_cast<unsigned int*>(addr & ~uintptr_t(3));
    const unsigned shift = static_cast<unsigned>(addr & 3) * 8;
    if (isBool) {
      if ((s & (alpha != 0 ? 1 : 0)) != 0) atomicOr(word, 1u << shift);
      return;
    }
    const uint8_t add = static_cast<uint8_t>(static_cast<uint64_t>(alpha) * static_cast<uint64_t>(s));
    unsigned int old = *word, assumed;
    do {
      assumed = old;
      const uint8_t cur = static_cast<uint8_t>((assumed >> shift) & 0xff);
      const unsigned int next = (assumed & ~(0xffu << shift)) | (unsigned(uint8_t(cur + add)) << shift);
      old = atomicCAS(word, assumed, next);
    } while (old != assumed);
  }
};

template <typename U, typename Fn>
__global__ void indexKernel(IndexGeom g, int64_t n, const int64_t* idx, U* tgt, U* plain, int mode, Fn add) {
  KD_GRID_STRIDE(i, n) {
    int64_t rest = i, ot = 0, op = 0, oi = 0, at = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      const int64_t c = rest % g.shape[d];
      rest /= g.shape[d];
      op += c * g.plain[d];
      if (g.nd) oi += c * g.ist[d];
      if (d == g.dim) at = c;
      else ot += c * g.tgt[d];
    }
    ot += (g.nd ? idx[oi] : idx[at]) * g.tgt[g.dim];
    if (mode == kRead) plain[op] = tgt[ot];
    else if (mode == kWrite) tgt[ot] = plain[op];
    else add(tgt + ot, plain[op]);
  }
}

struct NoAdd {
  template <typename U>
  __device__ void operator()(U*, U) const {}
};

IndexGeom makeGeom(const TensorView& iter, int dim, const TensorView& tgt, const TensorView& plain,
                   const TensorView* index) {
  IndexGeom g;
  g.ndim = iter.ndim;
  g.dim = dim;
  g.nd = index != nullptr;
  for (int d = 0; d < iter.ndim; ++d) {
    g.shape[d] = iter.shape[d];
    g.tgt[d] = tgt.strides[d];
    g.plain[d] = plain.strides[d];
    g.ist[d] = index ? index->strides[d] : 0;
  }
  return g;
}

// Moves elements (no arithmetic): only the element size matters.
void runMove(const char* op, const IndexGeom& g, int64_t n, const int64_t* idx, const TensorView& tgt,
             const TensorView& plain, int mode) {
  switch (dtypeSize(tgt.dtype)) {
    case 1:
      indexKernel<uint8_t><<<blocksFor(n), kThreads>>>(g, n, idx, static_cast<uint8_t*>(tgt.data),
                                                       static_cast<uint8_t*>(plain.data), mode, NoAdd{});
      break;
    case 4:
      indexKernel<uint32_t><<<blocksFor(n), kThreads>>>(g, n, idx, static_cast<uint32_t*>(tgt.data),
                                                        static_cast<uint32_t*>(plain.data), mode, NoAdd{});
      break;
    default:
      indexKernel<uint64_t><<<blocksFor(n), kThreads>>>(g, n, idx, static_cast<uint64_t*>(tgt.data),
                                                        static_cast<uint64_t*>(plain.data), mode, NoAdd{});
      break;
  }
  KD_CUDA_LAUNCHED(op);
}

void runAdd(const char* op, const IndexGeom& g, int64_t n, const int64_t* idx, const TensorView& out,
            const TensorView& src, double alpha) {
  const DType d = out.dtype;
  if (d != DType::Float32 && d != DType::Float64 && d != DType::Bool) {
    if (!(alpha == std::floor(alpha)) || std::fabs(alpha) > 9.2e18)
      throw KernelError(std::string(op) + ": alpha must be an integer for " + dtypeName(d) + " tensors");
  }
  const unsigned blocks = blocksFor(n);
  switch (d) {
    case DType::Float32:
      indexKernel<float><<<blocks, kThreads>>>(g, n, idx, static_cast<float*>(out.data), static_cast<float*>(src.data),
                                               kAdd, Adder<float>{static_cast<float>(alpha)});
      break;
    case DType::Float64:
      indexKernel<double><<<blocks, kThreads>>>(g, n, idx, static_cast<double*>(out.data),
                                                static_cast<double*>(src.data), kAdd, Adder<double>{alpha});
      break;
    case DType::Int32:
      indexKernel<int32_t><<<blocks, kThreads>>>(g, n, idx, static_cast<int32_t*>(out.data),
                                                 static_cast<int32_t*>(src.data), kAdd,
                                                 Adder<int32_t>{static_cast<int64_t>(alpha)});
      break;
    case DType::Int64:
      indexKernel<int64_t><<<blocks, kThreads>>>(g, n, idx, static_cast<int64_t*>(out.data),
                                                 static_cast<int64_t*>(src.data), kAdd,
                                                 Adder<int64_t>{static_cast<int64_t>(alpha)});
      break;
    case DType::UInt8:
    case DType::Bool:
      indexKernel<uint8_t><<<blocks, kThreads>>>(
          g, n, idx, static_cast<uint8_t*>(out.data), static_cast<uint8_t*>(src.data), kAdd,
          ByteAdder{d == DType::Bool ? int64_t(alpha != 0) : static_cast<int64_t>(alpha), d == DType::Bool});
      break;
  }
  KD_CUDA_LAUNCHED(op);
}

// Checks src against out for index_add_/index_copy_; returns the index on
// the device, checked and wrapped.
DeviceBuffer prepareIndexInto(const char* op, const TensorView& out, int dim, const TensorView& index,
                              const TensorView& src) {
  checkDim(op, out, dim);
  checkSameDtype(op, out, src);
  checkIndexDtype(op, index);
  if (index.ndim > 1) throw KernelError(std::string(op) + ": index must be 1-d, got shape " + shapeStr(index));
  bool ok = src.ndim == out.ndim;
  for (int d = 0; ok && d < out.ndim; ++d) ok = src.shape[d] == (d == dim ? index.numel() : out.shape[d]);
  if (!ok)
    throw KernelError(std::string(op) + ": source shape " + shapeStr(src) + " does not match output shape " +
                      shapeStr(out) + " with dim " + std::to_string(dim) + " of size " + std::to_string(index.numel()));
  setDevice(op, out.device);
  return upload(out.device, checkedIndex(op, index, dim, out.shape[dim]));
}

void checkGatherShapes(const char* op, const TensorView& data, int dim, const TensorView& index,
                       const TensorView& other, bool otherMatchesIndex) {
  checkDim(op, data, dim);
  checkIndexDtype(op, index);
  checkSameDtype(op, data, other);
  if (index.ndim != data.ndim || other.ndim != data.ndim)
    throw KernelError(std::string(op) + ": index " + shapeStr(index) + ", input " + shapeStr(data) + " and " +
                      (otherMatchesIndex ? "output " : "source ") + shapeStr(other) +
                      " must have the same number of dims");
  for (int d = 0; d < data.ndim; ++d) {
    if (d != dim && index.shape[d] > data.shape[d])
      throw KernelError(std::string(op) + ": index shape " + shapeStr(index) + " is larger than " +
                        (otherMatchesIndex ? "input" : "output") + " shape " + shapeStr(data) + " at dim " +
                        std::to_string(d));
    if (otherMatchesIndex ? other.shape[d] != index.shape[d] : index.shape[d] > other.shape[d])
      throw KernelError(
          std::string(op) + (otherMatchesIndex ? ": output shape " : ": source shape ") + shapeStr(other) +
          (otherMatchesIndex ? " differs from index shape " : " is smaller than index shape ") + shapeStr(index));
  }
}

// The n-d index of gather/scatter, checked on the host and uploaded
// contiguous and wrapped; the returned geometry reads it contiguously.
DeviceBuffer checkedIndexNd(const char* op, const TensorView& index, int dim, int64_t size, IndexGeom& g) {
  DeviceBuffer buf = upload(index.device, checkedIndex(op, index, dim, size));
  int64_t s = 1;
  for (int d = index.ndim - 1; d >= 0; --d) {
    g.ist[d] = s;
    s *= index.shape[d];
  }
  return buf;
}

}  // namespace

void indexSelect(const TensorView& x, int dim, const TensorView& index, const TensorView& out) {
  const char* op = "indexSelect";
  checkDim(op, x, dim);
  checkSameDtype(op, x, out);
  checkIndexDtype(op, index);
  if (index.ndim > 1) throw KernelError(std::string(op) + ": index must be 1-d, got shape " + shapeStr(index));
  const int64_t L = index.numel();
  bool ok = out.ndim == x.ndim;
  for (int d = 0; ok && d < x.ndim; ++d) ok = out.shape[d] == (d == dim ? L : x.shape[d]);
  if (!ok)
    throw KernelError(std::string(op) + ": output shape " + shapeStr(out) + " does not match input shape " +
                      shapeStr(x) + " with dim " + std::to_string(dim) + " of size " + std::to_string(L));
  setDevice(op, out.device);
  const DeviceBuffer idx = upload(out.device, checkedIndex(op, index, dim, x.shape[dim]));
  const int64_t n = out.numel();
  if (n == 0) return;
  runMove(op, makeGeom(out, dim, x, out, nullptr), n, idx.get<int64_t>(), x, out, kRead);
}

void indexAdd(const TensorView& out, int dim, const TensorView& index, const TensorView& src, double alpha) {
  const char* op = "indexAdd";
  const DeviceBuffer idx = prepareIndexInto(op, out, dim, index, src);
  const int64_t n = src.numel();
  if (n == 0) return;
  runAdd(op, makeGeom(src, dim, out, src, nullptr), n, idx.get<int64_t>(), out, src, alpha);
}

void indexCopy(const TensorView& out, int dim, const TensorView& index, const TensorView& src) {
  const char* op = "indexCopy";
  const DeviceBuffer idx = prepareIndexInto(op, out, dim, index, src);
  const int64_t n = src.numel();
  if (n == 0) return;
  runMove(op, makeGeom(src, dim, out, src, nullptr), n, idx.get<int64_t>(), out, src, kWrite);
}

void gather(const TensorView& x, int dim, const TensorView& index, const TensorView& out) {
  const char* op = "gather";
  checkGatherShapes(op, x, dim, index, out, true);
  const int64_t n = index.numel();
  if (n == 0) return;
  setDevice(op, out.device);
  IndexGeom g = makeGeom(index, dim, x, out, &index);
  const DeviceBuffer idx = checkedIndexNd(op, index, dim, x.shape[dim], g);
  runMove(op, g, n, idx.get<int64_t>(), x, out, kRead);
}

void scatterAdd(const TensorView& out, int dim, const TensorView& index, const TensorView& src) {
  const char* op = "scatterAdd";
  checkGatherShapes(op, out, dim, index, src, false);
  const int64_t n = index.numel();
  if (n == 0) return;
  setDevice(op, out.device);
  IndexGeom g = makeGeom(index, dim, out, src, &index);
  const DeviceBuffer idx = checkedIndexNd(op, index, dim, out.shape[dim], g);
  runAdd(op, g, n, idx.get<int64_t>(), out, src, 1.0);
}

void scatter(const TensorView& out, int dim, const TensorView& index, const TensorView& src) {
  const char* op = "scatter";
  checkGatherShapes(op, out, dim, index, src, false);
  const int64_t n = index.numel();
  if (n == 0) return;
  setDevice(op, out.device);
  IndexGeom g = makeGeom(index, dim, out, src, &index);
  const DeviceBuffer idx = checkedIndexNd(op, index, dim, out.shape[dim], g);
  runMove(op, g, n, idx.get<int64_t>(), out, src, kWrite);
}

void scatterReduce(const TensorView& out, int dim, const TensorView& index, const TensorView& src, ScatterReduceOp op) {
  (void)out, (void)dim, (void)index, (void)src, (void)op;
  // Products and extremes need compare-and-swap loops per dtype; the TS
  // layer sends CUDA tensors through the host kernel instead.
  throw KernelError("scatterReduce: not implemented on CUDA (lib/ops/indexing.ts computes it on the host)");
}

}  // namespace cuda
}  // namespace kd
