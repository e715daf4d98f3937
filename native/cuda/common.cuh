// Shared by the .cu files: error checks, the device guard, temporary
// device buffers, launch sizes and the strided index calculator.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "cuda_ops.h"

namespace kd {
namespace cuda {

// Every CUDA runtime call goes through this: a failure becomes a
// KernelError naming the op and cudaGetErrorString, which the binding
// turns into a JS Error.
#define KD_CUDA_CHECK(op, call)                                          \
  do {                                                                   \
    const cudaError_t kd_err_ = (call);                                  \
    if (kd_err_ != cudaSuccess) ::kd::cuda::throwCudaError(op, kd_err_); \
  } while (0)

// After a kernel launch: reports a bad launch configuration (or an earlier
// asynchronous fault) under the op's name.
#define KD_CUDA_LAUNCHED(op) KD_CUDA_CHECK(op, cudaGetLastError())

[[noreturn]] void throwCudaError(const char* op, cudaError_t err);

// Makes `device` current for the calling thread (cheap when it already is).
void setDevice(const char* op, int device);

// A temporary device buffer from the caching allocator, returned on scope
// exit. Kernels queued before the return still run first (one stream per
// device), so this is safe even while they are in flight.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(int device, size_t bytes) : device_(device), ptr_(allocate(device, bytes)) {}
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : device_(o.device_), ptr_(o.ptr_) { o.ptr_ = nullptr; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      device_ = o.device_;
      ptr_ = o.ptr_;
      o.ptr_ = nullptr;
    }
    return *this;
  }
  ~DeviceBuffer() { reset(); }
  void reset() {
    if (ptr_ != nullptr) {
      try {
        deallocate(device_, ptr_);
      } catch (...) {
      }
      ptr_ = nullptr;
    }
  }
  template <typename T = void>
  T* get() const {
    return static_cast<T*>(ptr_);
  }

 private:
  int device_ = 0;
  void* ptr_ = nullptr;
};

// A contiguous view of `shape` over fresh device memory.
TensorView contiguousLike(const TensorView& shapeOf, DType dtype, DeviceBuffer& storage);

// Uploads host values into a new device buffer.
template <typename T>
DeviceBuffer upload(int device, const std::vector<T>& values) {
  DeviceBuffer b(device, values.size() * sizeof(T));
  if (!values.empty()) copyToDevice(device, b.get(), values.data(), values.size() * sizeof(T));
  return b;
}

// Reads a device view (any strides) into host memory, element by element in
// row-major order of its shape, in its own dtype.
std::vector<uint8_t> downloadView(const TensorView& v);

// ---- launch sizes ------------------------------------------------------------------------
constexpr int kThreads = 256;

inline unsigned blocksFor(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  // Grid-stride loops cover the rest; 2^20 blocks keep every SM busy.
  if (b > (int64_t(1) << 20)) b = int64_t(1) << 20;
  return static_cast<unsigned>(b < 1 ? 1 : b);
}

#define KD_GRID_STRIDE(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(blockDim.x) * gridDim.x)

// ---- strided index calculator ----------------------------------------------------------------
// Maps a row-major linear index over `shape` to element offsets of up to
// kMaxOperands operands, each with its own strides (0 where broadcast).
// Built on the host with dims merged where every operand allows it, so
// the common cases (contiguous, a broadcast row) run with one or two dims.
constexpr int kMaxOperands = 4;

struct Indexer {
  int ndim = 0;
  int nops = 0;
  int64_t shape[kMaxDims];
  int64_t strides[kMaxOperands][kMaxDims];

  __host__ __device__ inline void offsets(int64_t linear, int64_t* off) const {
    for (int k = 0; k < kMaxOperands; ++k) off[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t size = shape[d];
      const int64_t c = linear % size;
      linear /= size;
      for (int k = 0; k < nops; ++k) off[k] += c * strides[k][d];
    }
  }
  __host__ __device__ inline int64_t offset(int k, int64_t linear) const {
    int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t size = shape[d];
      off += (linear % size) * strides[k][d];
      linear /= size;
    }
    return off;
  }
};

// views[0]'s shape is the iteration shape; all views share it.
Indexer makeIndexer(const TensorView* const* views, int nops);

// True when every operand's strides are the contiguous ones of the merged
// shape (a single dim of stride 1): the kernels then index directly.
inline bool allContiguous(const Indexer& ix) {
  if (ix.ndim == 0) return true;
  if (ix.ndim != 1) return false;
  for (int k = 0; k < ix.nops; ++k)
    if (ix.strides[k][0] != 1) return false;
  return true;
}

// ---- dtypes ---------------------------------------------------------------------------------------
template <typename T>
struct Tag {
  using type = T;
};

template <typename F>
void dispatchAll(DType d, F&& f) {
  switch (d) {
    case DType::Float32: f(Tag<float>{}); return;
    case DType::Float64: f(Tag<double>{}); return;
    case DType::Int32: f(Tag<int32_t>{}); return;
    case DType::Int64: f(Tag<int64_t>{}); return;
    case DType::UInt8: f(Tag<uint8_t>{}); return;
    case DType::Bool: f(Tag<uint8_t>{}); return;
  }
  throw KernelError("unknown dtype code " + std::to_string(static_cast<int>(d)));
}

template <typename F>
void dispatchFloat(DType d, const char* op, F&& f) {
  switch (d) {
    case DType::Float32: f(Tag<float>{}); return;
    case DType::Float64: f(Tag<double>{}); return;
    default: throw KernelError(std::string(op) + ": expected a floating dtype, got " + dtypeName(d));
  }
}

template <typename T>
constexpr bool kIsFloat = std::is_floating_point<T>::value;

// Numeric conversion as the CPU kernels do it (native/cpu/elementwise.cc):
// float to int through int64, NaN to 0, saturating beyond int64.
template <typename To, typename From>
__host__ __device__ inline To convertValue(From v) {
  if constexpr (kIsFloat<To> || !kIsFloat<From>) {
    return static_cast<To>(v);
  } else {
    if (v != v) return To(0);
    if (v >= From(9223372036854775807.0)) return static_cast<To>(INT64_MAX);
    if (v <= From(-9223372036854775808.0)) return static_cast<To>(INT64_MIN);
    return static_cast<To>(static_cast<int64_t>(v));
  }
}

std::string shapeStr(const TensorView& v);

}  // namespace cuda
}  // namespace kd
