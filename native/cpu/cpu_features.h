// What the x86 CPU can run, asked at run time (gemm.cc and optim.cc pick
// their kernels by it). Only included where the AVX kernels are compiled
// (GCC and Clang on x86-64).
#pragma once

#if defined(__APPLE__)
#include <sys/sysctl.h>

#include <cstddef>
#endif

namespace kd {

#if defined(__APPLE__)
// __builtin_cpu_supports reads compiler-rt's __cpu_model, which Apple's
// runtime does not reliably provide; an addon linked with
// `-undefined dynamic_lookup` would then fail to load. macOS answers the
// same question through sysctl (the kernel only reports a feature the OS
// saves the registers of).
inline bool cpuFeature(const char* name) {
  int value = 0;
  size_t size = sizeof value;
  return sysctlbyname(name, &value, &size, nullptr, 0) == 0 && value != 0;
}
inline bool cpuHasAvx512f() { return cpuFeature("hw.optional.avx512f"); }
inline bool cpuHasAvx2Fma() { return cpuFeature("hw.optional.avx2_0") && cpuFeature("hw.optional.fma"); }
#else
// libgcc/compiler-rt also check that the OS saves the wide registers
// (XGETBV), so a "supported" answer is safe to act on.
inline bool cpuHasAvx512f() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}
inline bool cpuHasAvx2Fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

}  // namespace kd
