// Whether a kernel's output is still in cache, and stores that skip the
// cache when it is not (Note [Streaming stores] in cache.cc).
#pragma once
#include <cstddef>
#include <cstdint>

namespace kd {

// Outputs smaller than this are written normally: they fit in L2, where the
// next op reads them.
constexpr size_t kStreamMinBytes = size_t(1) << 20;

// Records that [p, p + bytes) was just handed to a kernel (an input or an
// output): its lines are now in cache. Called by the binding for every
// CPU tensor argument; small ones are ignored.
void noteTouched(const void* p, size_t bytes);

// True when the output [p, p + bytes), already recorded by noteTouched for
// this call, was not touched before within about half the last-level cache's
// worth of traffic: writing it would first read every line from memory.
bool outputIsCold(const void* p, size_t bytes);

// memcpy with non-temporal stores (plain memcpy where the CPU has none).
// Pair with streamFence before the written memory is handed to another
// thread.
void streamCopy(void* dst, const void* src, size_t bytes);
void streamFence();

// Kernel outputs written with streamCopy since the process started (counted
// by the kernels that chose to): torch.memory.stats().streamed.
void countStreamedOutput();
double streamedOutputs();

}  // namespace kd
