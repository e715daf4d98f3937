// Exports of the CUDA backend: device queries, the storage objects that
// hold device memory, and the allocator's statistics. The kernels
// themselves are dispatched by the ordinary exports (core.cc, nn.cc,
// optim.cc) when their tensors live on a device.
//
// Note [CUDA storages]
// cudaAlloc returns a plain JS object { dtype, length, device } (read-only)
// wrapping a CudaStorage. It is type-tagged, so readView can tell it from
// any other object (one wrapped by another addon, say) before unwrapping.
// Its block goes back to the caching allocator when the object is collected
// (the wrap's finalizer) or at once with cudaFree; the block's bytes are
// reported to V8 with AdjustExternalMemory, so device-memory pressure makes
// the GC run. A disposed storage keeps its JS object: readView then throws
// "<op>: tensor was disposed".
#include <string>

#include "binding.h"

namespace kdb {

namespace {

using Info = const Napi::CallbackInfo&;

// Identifies objects made by cudaAlloc (napi_type_tag_object).
constexpr napi_type_tag kStorageTag = {0x6b696e646c696e67ULL, 0x6375646173746f72ULL};

bool parseDtype(const std::string& s, DType& out) {
  for (DType d : {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::UInt8, DType::Bool}) {
    if (s == kd::dtypeName(d)) {
      out = d;
      return true;
    }
  }
  return false;
}

// Gives the block back once; later calls do nothing.
void release(napi_env env, CudaStorage* s) {
  if (s->disposed) return;
  s->disposed = true;
  try {
    kd::cuda::deallocate(s->device, s->data);
  } catch (...) {
    // A finalizer must not throw; the block is lost to the cache at worst.
  }
  s->data = nullptr;
  int64_t unused = 0;
  napi_adjust_external_memory(env, -static_cast<int64_t>(s->bytes), &unused);
}

void finalizeStorage(napi_env env, void* data, void* /*hint*/) {
  CudaStorage* s = static_cast<CudaStorage*>(data);
  release(env, s);
  delete s;
}

// The device argument at i (left out: 0), checked against the devices present.
int readDevice(Info info, size_t i, const char* op) {
  const bool given = i < info.Length() && !info[i].IsUndefined() && !info[i].IsNull();
  const double d = given ? readNumber(info, i, op, "device") : 0.0;
  if (!(d >= 0 && d < 1024) || d != static_cast<double>(static_cast<int>(d)))
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": invalid device index " + std::to_string(d));
  const int dev = static_cast<int>(d);
  const int count = kd::cuda::deviceCount();
  if (kd::cuda::compiled() && dev >= count)
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": device cuda:" + std::to_string(dev) +
                                                " does not exist (" + std::to_string(count) + " CUDA devices)");
  return dev;
}

// -1 (the argument left out) means every device.
int readOptionalDevice(Info info, size_t i, const char* op) {
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return -1;
  return readDevice(info, i, op);
}

Napi::Value CudaIsAvailable(Info info) { return Napi::Boolean::New(info.Env(), kd::cuda::isAvailable()); }

Napi::Value CudaDeviceCount(Info info) { return Napi::Number::New(info.Env(), kd::cuda::deviceCount()); }

Napi::Value CudaDeviceName(Info info) {
  KD_GUARD(info.Env(),
           { return Napi::String::New(info.Env(), kd::cuda::deviceName(readDevice(info, 0, "cudaDeviceName"))); });
  return info.Env().Undefined();
}

// cudaAlloc(dtype, numel, device = 0)
Napi::Value CudaAlloc(Info info) {
  const char* op = "cudaAlloc";
  Napi::Env env = info.Env();
  KD_GUARD(env, {
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "cudaAlloc: dtype must be a string");
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    DType dtype;
    if (!parseDtype(name, dtype)) throw Napi::TypeError::New(env, "cudaAlloc: unknown dtype '" + name + "'");
    const double n = readNumber(info, 1, op, "numel");
    if (!(n >= 0 && n <= 9007199254740992.0) || n != static_cast<double>(static_cast<int64_t>(n)))
      throw Napi::RangeError::New(env, "cudaAlloc: numel must be an integer >= 0, got " + std::to_string(n));
    const int device = readDevice(info, 2, op);
    if (!kd::cuda::compiled()) throw Napi::Error::New(env, kd::cuda::kNoCudaMessage);
    const int64_t numel = static_cast<int64_t>(n);
    const size_t esize = kd::dtypeSize(dtype);
    if (static_cast<double>(numel) * static_cast<double>(esize) > 1.8e19)
      throw Napi::RangeError::New(env, "cudaAlloc: " + std::to_string(numel) + " elements is too large");
    auto* s = new CudaStorage();
    s->bytes = static_cast<size_t>(numel) * esize;
    s->numel = numel;
    s->dtype = dtype;
    s->device = device;
    try {
      s->data = kd::cuda::allocate(device, s->bytes);
    } catch (...) {
      delete s;
      throw;
    }
    Napi::Object obj = Napi::Object::New(env);
    obj.DefineProperties({
        Napi::PropertyDescriptor::Value("dtype", Napi::String::New(env, kd::dtypeName(dtype)), napi_enumerable),
        Napi::PropertyDescriptor::Value("length", Napi::Number::New(env, static_cast<double>(numel)), napi_enumerable),
        Napi::PropertyDescriptor::Value("device", Napi::Number::New(env, device), napi_enumerable),
    });
    if (napi_wrap(env, obj, s, finalizeStorage, nullptr, nullptr) != napi_ok) {
      kd::cuda::deallocate(device, s->data);
      delete s;
      throw Napi::Error::New(env, "cudaAlloc: could not wrap the storage");
    }
    napi_type_tag_object(env, obj, &kStorageTag);
    int64_t unused = 0;
    napi_adjust_external_memory(env, static_cast<int64_t>(s->bytes), &unused);
    return obj;
  });
  return env.Undefined();
}

Napi::Value CudaFree(Info info) {
  Napi::Env env = info.Env();
  KD_GUARD(env, {
    CudaStorage* s = info.Length() > 0 ? cudaStorageOf(env, info[0]) : nullptr;
    if (s == nullptr) throw Napi::TypeError::New(env, "cudaFree: expected a CUDA storage made by cudaAlloc");
    release(env, s);
  });
  return env.Undefined();
}

// cudaDataPointer(storage, offset): the device address of element `offset`
// of a CUDA storage, as a BigInt, for torch.distributed's NCCL backend (a
// module of its own, native/distributed/nccl.cc), which hands it to NCCL.
// The caller keeps the storage referenced while NCCL uses the memory.
Napi::Value CudaDataPointer(Info info) {
  Napi::Env env = info.Env();
  KD_GUARD(env, {
    CudaStorage* s = info.Length() > 0 ? cudaStorageOf(env, info[0]) : nullptr;
    if (s == nullptr) throw Napi::TypeError::New(env, "cudaDataPointer: expected a CUDA storage made by cudaAlloc");
    if (s->disposed) throw Napi::Error::New(env, "cudaDataPointer: tensor was disposed");
    const double offset = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0;
    if (!(offset >= 0 && offset <= static_cast<double>(s->numel)) || offset != static_cast<int64_t>(offset))
      throw Napi::RangeError::New(env, "cudaDataPointer: offset " + std::to_string(offset) + " is outside the storage");
    const uint64_t base = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(s->data));
    return Napi::BigInt::New(env, base + static_cast<uint64_t>(offset) * kd::dtypeSize(s->dtype));
  });
  return env.Undefined();
}

Napi::Value CudaSynchronize(Info info) {
  KD_GUARD(info.Env(), { kd::cuda::synchronize(readOptionalDevice(info, 0, "cudaSynchronize")); });
  return info.Env().Undefined();
}

Napi::Value CudaMemoryAllocated(Info info) {
  KD_GUARD(info.Env(), {
    const int dev = readOptionalDevice(info, 0, "cudaMemoryAllocated");
    return Napi::Number::New(info.Env(), static_cast<double>(kd::cuda::memoryAllocated(dev < 0 ? 0 : dev)));
  });
  return info.Env().Undefined();
}

Napi::Value CudaMemoryReserved(Info info) {
  KD_GUARD(info.Env(), {
    const int dev = readOptionalDevice(info, 0, "cudaMemoryReserved");
    return Napi::Number::New(info.Env(), static_cast<double>(kd::cuda::memoryReserved(dev < 0 ? 0 : dev)));
  });
  return info.Env().Undefined();
}

Napi::Value CudaEmptyCache(Info info) {
  KD_GUARD(info.Env(), { kd::cuda::emptyCache(); });
  return info.Env().Undefined();
}

Napi::Value CudaManualSeed(Info info) {
  KD_GUARD(info.Env(), {
    // Negative seeds wrap as two's complement, as manualSeed does.
    const double s = readNumber(info, 0, "cudaManualSeed", "seed");
    if (!(s >= -9.2e18 && s <= 1.8e19)) throw Napi::RangeError::New(info.Env(), "cudaManualSeed: seed out of range");
    kd::cuda::manualSeed(s < 0 ? static_cast<uint64_t>(static_cast<int64_t>(s)) : static_cast<uint64_t>(s));
  });
  return info.Env().Undefined();
}

}  // namespace

CudaStorage* cudaStorageOf(napi_env env, napi_value v) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_object) return nullptr;
  bool tagged = false;
  if (napi_check_object_type_tag(env, v, &kStorageTag, &tagged) != napi_ok || !tagged) return nullptr;
  void* p = nullptr;
  if (napi_unwrap(env, v, &p) != napi_ok) return nullptr;
  return static_cast<CudaStorage*>(p);
}

void initCuda(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaIsAvailable", Napi::Function::New(env, CudaIsAvailable, "cudaIsAvailable"));
  exports.Set("cudaDeviceCount", Napi::Function::New(env, CudaDeviceCount, "cudaDeviceCount"));
  exports.Set("cudaDeviceName", Napi::Function::New(env, CudaDeviceName, "cudaDeviceName"));
  exports.Set("cudaAlloc", Napi::Function::New(env, CudaAlloc, "cudaAlloc"));
  exports.Set("cudaFree", Napi::Function::New(env, CudaFree, "cudaFree"));
  exports.Set("cudaSynchronize", Napi::Function::New(env, CudaSynchronize, "cudaSynchronize"));
  exports.Set("cudaDataPointer", Napi::Function::New(env, CudaDataPointer, "cudaDataPointer"));
  exports.Set("cudaMemoryAllocated", Napi::Function::New(env, CudaMemoryAllocated, "cudaMemoryAllocated"));
  exports.Set("cudaMemoryReserved", Napi::Function::New(env, CudaMemoryReserved, "cudaMemoryReserved"));
  exports.Set("cudaEmptyCache", Napi::Function::New(env, CudaEmptyCache, "cudaEmptyCache"));
  exports.Set("cudaManualSeed", Napi::Function::New(env, CudaManualSeed, "cudaManualSeed"));
}

}  // namespace kdb
