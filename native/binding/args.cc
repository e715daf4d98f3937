#include "binding.h"

namespace kdb {

static Napi::Error typeError(Napi::Env env, const char* op, const std::string& msg) {
  return Napi::TypeError::New(env, std::string(op) + ": " + msg);
}

TensorView readView(const Napi::CallbackInfo& info, size_t i, const char* op) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsArray()) throw typeError(env, op, "argument " + std::to_string(i) + " is not a tensor");
  Napi::Array tuple = info[i].As<Napi::Array>();
  Napi::Value data = tuple.Get(0u);
  if (!data.IsTypedArray()) throw typeError(env, op, "tensor data is not a typed array");
  Napi::TypedArray ta = data.As<Napi::TypedArray>();
  TensorView v;
  napi_typedarray_type tt = ta.TypedArrayType();
  switch (tt) {
    case napi_float32_array: v.dtype = DType::Float32; break;
    case napi_float64_array: v.dtype = DType::Float64; break;
    case napi_int32_array: v.dtype = DType::Int32; break;
    case napi_bigint64_array: v.dtype = DType::Int64; break;
    case napi_uint8_array: v.dtype = DType::UInt8; break;
    case napi_uint8_clamped_array: v.dtype = DType::Bool; break;
    default: throw typeError(env, op, "unsupported typed array");
  }
  const int64_t length = static_cast<int64_t>(ta.ElementLength());
  const int64_t offset = static_cast<int64_t>(tuple.Get(1u).As<Napi::Number>().Int64Value());
  Napi::Value shapeV = tuple.Get(2u), stridesV = tuple.Get(3u);
  if (!shapeV.IsArray() || !stridesV.IsArray()) throw typeError(env, op, "tensor shape/strides are not arrays");
  Napi::Array shape = shapeV.As<Napi::Array>(), strides = stridesV.As<Napi::Array>();
  const uint32_t nd = shape.Length();
  if (nd > static_cast<uint32_t>(kd::kMaxDims)) throw Napi::RangeError::New(env, std::string(op) + ": too many dimensions (" + std::to_string(nd) + " > 16)");
  if (strides.Length() != nd) throw typeError(env, op, "shape and strides differ in length");
  v.ndim = static_cast<int>(nd);
  // Bounds: the lowest and highest element the view can touch must lie in
  // the buffer, so no stride pattern can read or write outside it.
  int64_t lo = offset, hi = offset;
  bool empty = false;
  for (uint32_t d = 0; d < nd; ++d) {
    v.shape[d] = shape.Get(d).As<Napi::Number>().Int64Value();
    v.strides[d] = strides.Get(d).As<Napi::Number>().Int64Value();
    if (v.shape[d] < 0) throw Napi::RangeError::New(env, std::string(op) + ": negative size");
    if (v.shape[d] == 0) empty = true;
    const int64_t span = (v.shape[d] - 1) * v.strides[d];
    if (span > 0) hi += span; else lo += span;
  }
  if (!empty && (lo < 0 || hi >= length))
    throw Napi::RangeError::New(env, std::string(op) + ": view out of bounds of its storage");
  v.data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset() + offset * static_cast<int64_t>(kd::dtypeSize(v.dtype));
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
