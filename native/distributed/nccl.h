// backend 'nccl': libnccl.so.2 is opened at run time (dlopen) through its
// stable C API, so the module builds and loads without NCCL or CUDA.
#pragma once

#include <napi.h>

namespace kd_dist {

void initNccl(Napi::Env env, Napi::Object exports);

}  // namespace kd_dist
