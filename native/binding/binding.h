// Helpers shared by the binding files: turning JS arguments into
// TensorViews and C++ exceptions into JS errors that name the op.
#pragma once
#define NAPI_VERSION 8
#include <napi.h>
#include <string>
#include <vector>
#include "../cpu/kernels.h"

namespace kdb {

using kd::DType;
using kd::TensorView;

// A tensor crosses into native code as the tuple [data, meta] (see
// lib/backend/native.ts): data is a TypedArray whose class gives the dtype
// (Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array for
// uint8, Uint8ClampedArray for bool); meta is a Float64Array
// [offset, ...shape, ...strides], offset and strides in elements.
TensorView readView(const Napi::CallbackInfo& info, size_t i, const char* op);
double readNumber(const Napi::CallbackInfo& info, size_t i, const char* op, const char* what);
int readInt(const Napi::CallbackInfo& info, size_t i, const char* op, const char* what);
std::vector<bool> readDimMask(const Napi::CallbackInfo& info, size_t i, int ndim, const char* op);

// Runs body and turns a C++ exception into a JS Error. Use in every export
// so nothing a caller passes can abort the process.
#define KD_GUARD(env, ...)                                              \
  try {                                                                  \
    __VA_ARGS__;                                                         \
  } catch (const Napi::Error& e) {                                       \
    e.ThrowAsJavaScriptException();                                      \
  } catch (const std::bad_alloc&) {                                      \
    Napi::RangeError::New(env, "out of memory").ThrowAsJavaScriptException(); \
  } catch (const std::exception& e) {                                    \
    Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();        \
  }

// Each binding file adds its exports here; addon.cc calls them all.
void initCore(Napi::Env env, Napi::Object exports);
void initNN(Napi::Env env, Napi::Object exports);
void initOptim(Napi::Env env, Napi::Object exports);

}  // namespace kdb
