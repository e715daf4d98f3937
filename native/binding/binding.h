// Helpers shared by the binding files: turning JS arguments into
// TensorViews and C++ exceptions into JS errors that name the op.
#pragma once
#define NAPI_VERSION 8
#include <napi.h>
#include <stdexcept>
#include <string>
#include <vector>
#include "../cpu/cache.h"
#include "../cpu/kernels.h"
#include "../cuda/cuda_ops.h"

namespace kdb {

using kd::DType;
using kd::TensorView;

// A tensor crosses into native code as its data argument plus metadata in
// the scratch (see lib/backend/native.ts and metaSlot below): data is a
// TypedArray whose class gives the dtype (Float32Array, Float64Array,
// Int32Array, BigInt64Array, Uint8Array for uint8, Uint8ClampedArray for
// bool); the metadata is [offset, ...shape, ...strides], offset and
// strides in elements. data may
// also be a CUDA storage made by cudaAlloc (cuda.cc): the view then has
// device >= 0 and points into device memory.
TensorView readView(const Napi::CallbackInfo& info, size_t i, const char* op);
// Where readView finds a tensor argument's metadata: slot i of a scratch
// Float64Array that lib/backend/native.ts registers once with
// setMetaScratch and fills before each call (args.cc, Note [Metadata
// scratch]). Layout of a slot: [length, offset, ...shape, ...strides].
constexpr int kMetaSlots = 16;
constexpr int kMetaSlotDoubles = 33;
void setMetaScratch(const Napi::CallbackInfo& info);
const double* metaSlot(napi_env env, size_t i, const char* op);
double readNumber(const Napi::CallbackInfo& info, size_t i, const char* op, const char* what);
int readInt(const Napi::CallbackInfo& info, size_t i, const char* op, const char* what);
std::vector<bool> readDimMask(const Napi::CallbackInfo& info, size_t i, int ndim, const char* op);

// Where a call runs: -1 when every view is on the CPU, else the CUDA ordinal
// they all share. Null entries (absent optional tensors) are skipped.
// Throws "<op>: expected all tensors on the same device, got cpu and cuda:0".
int commonDevice(Napi::Env env, const char* op, std::initializer_list<const TensorView*> views);

// Runs one kernel on the CPU (dev < 0) or on the CUDA device: the same
// name and arguments in kd:: and kd::cuda::.
#define KD_RUN_ON(dev, ...)                  \
  do {                                       \
    if ((dev) >= 0) ::kd::cuda::__VA_ARGS__; \
    else ::kd::__VA_ARGS__;                  \
  } while (0)

// A CUDA storage as readView sees it; null when v is not one.
struct CudaStorage {
  void* data = nullptr;
  size_t bytes = 0;
  int64_t numel = 0;
  DType dtype = DType::Float32;
  int device = 0;
  bool disposed = false;
};
CudaStorage* cudaStorageOf(napi_env env, napi_value v);

// Runs body and turns a C++ exception into a JS Error. Use in every export
// so nothing a caller passes can abort the process.
#define KD_GUARD(env, ...)                                                    \
  try {                                                                       \
    __VA_ARGS__;                                                              \
  } catch (const Napi::Error& e) {                                            \
    e.ThrowAsJavaScriptException();                                           \
  } catch (const std::bad_alloc&) {                                           \
    Napi::RangeError::New(env, "out of memory").ThrowAsJavaScriptException(); \
  } catch (const std::exception& e) {                                         \
    Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();             \
  }

// KD_GUARD for an export whose kernel may size buffers by its parameters
// (a huge conv stride): a failed or impossible allocation names the op.
#define KD_GUARD_OP(env, op, ...)                                                                 \
  KD_GUARD(                                                                                       \
      env, try { __VA_ARGS__; } catch (const std::bad_alloc&) {                                   \
        throw Napi::RangeError::New(env, std::string(op) + ": out of memory");                    \
      } catch (const std::length_error&) {                                                        \
        throw Napi::RangeError::New(env, std::string(op) + ": out of memory (buffer too large)"); \
      })

// Each binding file adds its exports here; addon.cc calls them all.
void initCore(Napi::Env env, Napi::Object exports);
void initNN(Napi::Env env, Napi::Object exports);
void initOptim(Napi::Env env, Napi::Object exports);
void initCuda(Napi::Env env, Napi::Object exports);

}  // namespace kdb
