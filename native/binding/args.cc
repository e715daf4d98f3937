#include "binding.h"

namespace kdb {

// Raw Node-API calls here (not node-addon-api's wrappers): this runs for
// every tensor of every op, and a small op's cost is mostly this function.
// Note [Metadata scratch]: reading a [data, meta] array and a meta typed
// array through Node-API took most of a small op's time (each element read
// is a property lookup under a TryCatch; each typed-array query walks V8's
// list of array types). Instead the JS side copies each tensor argument's
// metadata into one Float64Array registered once per environment (so each
// worker thread has its own), at slot = argument position, and passes only
// the data. Slot layout: [length, offset, ...shape, ...strides].
namespace {
struct MetaScratch {
  napi_ref keep = nullptr;
  double* ptr = nullptr;
};
}  // namespace

void setMetaScratch(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  napi_typedarray_type type;
  size_t length = 0;
  void* ptr = nullptr;
  if (info.Length() < 1 || napi_get_typedarray_info(env, info[0], &type, &length, &ptr, nullptr, nullptr) != napi_ok ||
      type != napi_float64_array || length < static_cast<size_t>(kMetaSlots * kMetaSlotDoubles))
    throw Napi::TypeError::New(env, "setMetaScratch: expected a Float64Array of at least 528 elements");
  void* prev = nullptr;
  napi_get_instance_data(env, &prev);
  if (prev != nullptr) throw Napi::Error::New(env, "setMetaScratch: the scratch is already set");
  auto* s = new MetaScratch();
  napi_create_reference(env, info[0], 1, &s->keep);
  s->ptr = static_cast<double*>(ptr);
  napi_set_instance_data(
      env, s,
      [](napi_env e, void* d, void*) {
        auto* sc = static_cast<MetaScratch*>(d);
        napi_delete_reference(e, sc->keep);
        delete sc;
      },
      nullptr);
}

const double* metaSlot(napi_env env, size_t i, const char* op) {
  void* d = nullptr;
  napi_get_instance_data(env, &d);
  if (d == nullptr) throw Napi::Error::New(env, std::string(op) + ": tensor metadata scratch is not set");
  if (i >= static_cast<size_t>(kMetaSlots))
    throw Napi::RangeError::New(env,
                                std::string(op) + ": tensor argument position " + std::to_string(i) + " too large");
  return static_cast<MetaScratch*>(d)->ptr + i * kMetaSlotDoubles;
}

TensorView readView(const Napi::CallbackInfo& info, size_t i, const char* op) {
  Napi::Env env = info.Env();
  auto fail = [&](const std::string& msg) { return Napi::TypeError::New(env, std::string(op) + ": " + msg); };
  auto range = [&](const std::string& msg) { return Napi::RangeError::New(env, std::string(op) + ": " + msg); };
  if (i >= info.Length()) throw fail("missing tensor argument " + std::to_string(i));
  napi_value data = info[i];
  // The metadata was written by lib/backend/native.ts into this position's
  // slot of the scratch just before the call (Note [Metadata scratch]).
  const double* slot = metaSlot(env, i, op);
  TensorView v;
  size_t length = 0;
  void* ptr = nullptr;
  napi_typedarray_type type;
  // napi_get_typedarray_info refuses a non-typed-array itself, which saves
  // the separate napi_is_typedarray call on the hot path.
  if (napi_get_typedarray_info(env, data, &type, &length, &ptr, nullptr, nullptr) == napi_ok) {
    switch (type) {
      case napi_float32_array: v.dtype = DType::Float32; break;
      case napi_float64_array: v.dtype = DType::Float64; break;
      case napi_int32_array: v.dtype = DType::Int32; break;
      case napi_bigint64_array: v.dtype = DType::Int64; break;
      case napi_uint8_array: v.dtype = DType::UInt8; break;
      case napi_uint8_clamped_array: v.dtype = DType::Bool; break;
      default: throw fail("unsupported typed array");
    }
  } else {
    const CudaStorage* s = cudaStorageOf(env, data);
    if (s == nullptr) throw fail("tensor data is not a typed array or a CUDA storage");
    if (s->disposed) throw Napi::Error::New(env, std::string(op) + ": tensor was disposed");
    v.dtype = s->dtype;
    v.device = s->device;
    length = static_cast<size_t>(s->numel);
    ptr = s->data;
  }
  const double lenField = slot[0];
  if (!(lenField >= 1 && lenField <= kMetaSlotDoubles - 1) || static_cast<int>(lenField) % 2 != 1 ||
      lenField != static_cast<double>(static_cast<int>(lenField))) {
    // The JS side writes the length alone for a ref of more than 16 dims.
    if (lenField > kMetaSlotDoubles - 1 && lenField < 1e6 && static_cast<int64_t>(lenField) % 2 == 1)
      throw range("too many dimensions (" + std::to_string(static_cast<int64_t>(lenField) / 2) + " > 16)");
    throw fail("malformed tensor metadata");
  }
  const size_t metaLen = static_cast<size_t>(lenField);
  const double* m = slot + 1;
  const int nd = static_cast<int>(metaLen / 2);
  if (nd > kd::kMaxDims) throw range("too many dimensions (" + std::to_string(nd) + " > 16)");
  v.ndim = nd;
  // Metadata comes from JS numbers: NaN, fractions or huge values would
  // turn into garbage (or UB) in the int64 casts below. 2^53 bounds every
  // size, stride and offset a typed array can have, and keeps the span
  // sums below far from int64 overflow.
  constexpr double kLimit = 9007199254740992.0;  // 2^53
  auto isInt = [](double x) { return x == x && x == static_cast<double>(static_cast<int64_t>(x)); };
  if (!(m[0] >= 0 && m[0] <= kLimit) || !isInt(m[0]))
    throw range("invalid storage offset " + std::to_string(m[0]) + " (expected an integer >= 0)");
  const int64_t offset = static_cast<int64_t>(m[0]);
  // Bounds: the lowest and highest element the view can touch must lie in
  // the buffer, so no stride pattern can read or write outside it.
  int64_t lo = offset, hi = offset;
  bool empty = false;
  double numel = 1;
  for (int d = 0; d < nd; ++d) {
    const double sz = m[1 + d], st = m[1 + nd + d];
    if (!(sz >= 0 && sz <= kLimit) || !isInt(sz))
      throw range("invalid size " + std::to_string(sz) + " at dim " + std::to_string(d) +
                  " (expected an integer >= 0)");
    if (!(st >= -kLimit && st <= kLimit) || !isInt(st))
      throw range("invalid stride " + std::to_string(st) + " at dim " + std::to_string(d) + " (expected an integer)");
    v.shape[d] = static_cast<int64_t>(sz);
    v.strides[d] = static_cast<int64_t>(st);
    numel *= sz;
    if (v.shape[d] == 0) empty = true;
  }
  if (!empty) {
    // Stride-0 dims make any size cheap to describe; the element count must
    // still fit an int64 for the kernels' index arithmetic.
    if (numel > 4.6e18) throw range("view has too many elements");
    for (int d = 0; d < nd; ++d) {
      const double span = static_cast<double>(v.shape[d] - 1) * static_cast<double>(v.strides[d]);
      if (span > kLimit || span < -kLimit) throw range("view out of bounds of its storage");
      if (span > 0) hi += static_cast<int64_t>(span);
      else lo += static_cast<int64_t>(span);
    }
    if (lo < 0 || hi >= static_cast<int64_t>(length)) throw range("view out of bounds of its storage");
  }
  const int64_t itemBytes = static_cast<int64_t>(kd::dtypeSize(v.dtype));
  v.data = static_cast<uint8_t*>(ptr) + offset * itemBytes;
  // What this call touches is now in cache (Note [Streaming stores]).
  if (v.device < 0 && !empty)
    kd::noteTouched(static_cast<uint8_t*>(ptr) + lo * itemBytes, static_cast<size_t>((hi - lo + 1) * itemBytes));
  return v;
}

int commonDevice(Napi::Env env, const char* op, std::initializer_list<const TensorView*> views) {
  int dev = -2;
  for (const TensorView* v : views) {
    if (v == nullptr) continue;
    if (dev == -2) {
      dev = v->device;
    } else if (v->device != dev) {
      auto name = [](int d) { return d < 0 ? std::string("cpu") : "cuda:" + std::to_string(d); };
      throw Napi::Error::New(env, std::string(op) + ": expected all tensors on the same device, got " + name(dev) +
                                      " and " + name(v->device));
    }
  }
  return dev == -2 ? -1 : dev;
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
