#include "binding.h"

namespace kdb {

// Raw Node-API calls here (not node-addon-api's wrappers): this runs for
// every tensor of every op, and a small op's cost is mostly this function.
TensorView readView(const Napi::CallbackInfo& info, size_t i, const char* op) {
  Napi::Env env = info.Env();
  auto fail = [&](const std::string& msg) { return Napi::TypeError::New(env, std::string(op) + ": " + msg); };
  if (i >= info.Length()) throw fail("missing tensor argument " + std::to_string(i));
  napi_value tuple = info[i];
  bool isArray = false;
  napi_is_array(env, tuple, &isArray);
  if (!isArray) throw fail("argument " + std::to_string(i) + " is not a tensor");
  napi_value data, meta;
  if (napi_get_element(env, tuple, 0, &data) != napi_ok || napi_get_element(env, tuple, 1, &meta) != napi_ok)
    throw fail("malformed tensor argument");
  bool isTA = false;
  napi_is_typedarray(env, data, &isTA);
  if (!isTA) throw fail("tensor data is not a typed array");
  napi_typedarray_type type;
  size_t length = 0;
  void* ptr = nullptr;
  napi_get_typedarray_info(env, data, &type, &length, &ptr, nullptr, nullptr);
  TensorView v;
  switch (type) {
    case napi_float32_array: v.dtype = DType::Float32; break;
    case napi_float64_array: v.dtype = DType::Float64; break;
    case napi_int32_array: v.dtype = DType::Int32; break;
    case napi_bigint64_array: v.dtype = DType::Int64; break;
    case napi_uint8_array: v.dtype = DType::UInt8; break;
    case napi_uint8_clamped_array: v.dtype = DType::Bool; break;
    default: throw fail("unsupported typed array");
  }
  isTA = false;
  napi_is_typedarray(env, meta, &isTA);
  napi_typedarray_type metaType;
  size_t metaLen = 0;
  void* metaPtr = nullptr;
  if (isTA) napi_get_typedarray_info(env, meta, &metaType, &metaLen, &metaPtr, nullptr, nullptr);
  if (!isTA || metaType != napi_float64_array || metaLen % 2 != 1) throw fail("malformed tensor metadata");
  const double* m = static_cast<const double*>(metaPtr);
  const int nd = static_cast<int>(metaLen / 2);
  if (nd > kd::kMaxDims) throw Napi::RangeError::New(env, std::string(op) + ": too many dimensions (" + std::to_string(nd) + " > 16)");
  v.ndim = nd;
  const int64_t offset = static_cast<int64_t>(m[0]);
  // Bounds: the lowest and highest element the view can touch must lie in
  // the buffer, so no stride pattern can read or write outside it.
  int64_t lo = offset, hi = offset;
  bool empty = false;
  for (int d = 0; d < nd; ++d) {
    v.shape[d] = static_cast<int64_t>(m[1 + d]);
    v.strides[d] = static_cast<int64_t>(m[1 + nd + d]);
    if (v.shape[d] < 0) throw Napi::RangeError::New(env, std::string(op) + ": negative size");
    if (v.shape[d] == 0) empty = true;
    const int64_t span = (v.shape[d] - 1) * v.strides[d];
    if (span > 0) hi += span; else lo += span;
  }
  if (!empty && (lo < 0 || hi >= static_cast<int64_t>(length)))
    throw Napi::RangeError::New(env, std::string(op) + ": view out of bounds of its storage");
  v.data = static_cast<uint8_t*>(ptr) + offset * static_cast<int64_t>(kd::dtypeSize(v.dtype));
  return v;
}

double readNumber(const Napi::CallbackInfo& info, size_t i, const char* op, const char* what) {
  if (i >= info.Length() || !info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": " + what + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

int readInt(const Napi::CallbackInfo& info, size_t i, const char* op, const char* what) {
  return static_cast<int>(readNumber(info, i, op, what));
}

std::vector<bool> readDimMask(const Napi::CallbackInfo& info, size_t i, int ndim, const char* op) {
  std::vector<bool> mask(ndim, false);
  if (i >= info.Length() || !info[i].IsArray())
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": dims must be an array");
  Napi::Array dims = info[i].As<Napi::Array>();
  for (uint32_t k = 0; k < dims.Length(); ++k) {
    int d = dims.Get(k).As<Napi::Number>().Int32Value();
    if (d < 0 || d >= ndim) throw Napi::RangeError::New(info.Env(), std::string(op) + ": dim out of range");
    mask[d] = true;
  }
  return mask;
}

}  // namespace kdb
