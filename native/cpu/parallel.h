// A small fixed thread pool. Large kernels split their outer loop with
// parallelFor; below `grain` iterations the work stays on the caller's
// thread, so small tensors pay nothing for threading.
#pragma once
#include <cstdint>
#include <functional>

namespace kd {
// Calls fn(begin, end) on disjoint chunks covering [begin, end).
void parallelFor(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
}  // namespace kd
