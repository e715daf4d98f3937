// A strided view of tensor memory as the kernels see it. Kernels in
// native/cpu and native/cuda know nothing of Node: the binding turns JS
// arguments into TensorViews and the kernels work on raw pointers, shapes
// and strides. Shared by both (native/common: types only, no kernels).
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace kd {

// Codes are shared with lib/backend (the binding exports them by name).
enum class DType : int32_t { Float32 = 0, Float64 = 1, Int32 = 2, Int64 = 3, UInt8 = 4, Bool = 5 };

inline size_t dtypeSize(DType d) {
  switch (d) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int32: return 4;
    case DType::Int64: return 8;
    case DType::UInt8: return 1;
    case DType::Bool: return 1;
  }
  return 1;
}

inline const char* dtypeName(DType d) {
  switch (d) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::UInt8: return "uint8";
    case DType::Bool: return "bool";
  }
  return "?";
}

constexpr int kMaxDims = 16;

// data points at element 0 of the view (the storage offset is already
// applied); strides are in elements, may be 0 (broadcast) or negative.
struct TensorView {
  void* data = nullptr;
  DType dtype = DType::Float32;
  int ndim = 0;
  int64_t shape[kMaxDims] = {0};
  int64_t strides[kMaxDims] = {0};
  int device = -1;  // -1 CPU, else CUDA ordinal

  int64_t numel() const {
    // An empty view's other dims may be huge (readView bounds the count of
    // non-empty views only), so a 0 anywhere answers before any product.
    for (int i = 0; i < ndim; ++i)
      if (shape[i] == 0) return 0;
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= shape[i];
    return n;
  }
  bool isContiguous() const {
    int64_t expected = 1;
    for (int i = ndim - 1; i >= 0; --i) {
      if (shape[i] != 1 && strides[i] != expected) return false;
      expected *= shape[i];
    }
    return true;
  }
  template <typename T>
  T* ptr() const {
    return static_cast<T*>(data);
  }
};

// Kernels throw this for conditions only they can see (an index out of
// range inside an index tensor, say); the binding turns it into a JS Error.
struct KernelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Calls F.template operator()<T>() with T the C++ type of dtype d.
// bool is stored as uint8_t (0 or 1).
// One case per line reads as a table.
// clang-format off
#define KD_DISPATCH_ALL(d, ...)                                        \
  switch (d) {                                                         \
    case ::kd::DType::Float32: { using scalar_t = float; __VA_ARGS__; break; }   \
    case ::kd::DType::Float64: { using scalar_t = double; __VA_ARGS__; break; }  \
    case ::kd::DType::Int32: { using scalar_t = int32_t; __VA_ARGS__; break; }   \
    case ::kd::DType::Int64: { using scalar_t = int64_t; __VA_ARGS__; break; }   \
    case ::kd::DType::UInt8: { using scalar_t = uint8_t; __VA_ARGS__; break; }   \
    case ::kd::DType::Bool: { using scalar_t = uint8_t; __VA_ARGS__; break; }    \
  }

#define KD_DISPATCH_FLOAT(d, opname, ...)                                          \
  switch (d) {                                                                     \
    case ::kd::DType::Float32: { using scalar_t = float; __VA_ARGS__; break; }     \
    case ::kd::DType::Float64: { using scalar_t = double; __VA_ARGS__; break; }    \
    default: throw ::kd::KernelError(std::string(opname) + ": expected a floating dtype, got " + ::kd::dtypeName(d)); \
  }
// clang-format on

}  // namespace kd
