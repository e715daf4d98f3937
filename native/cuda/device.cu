// Devices, the caching allocator, host <-> device copies and the helpers
// of common.cuh.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "common.cuh"

namespace kd {
namespace cuda {

void throwCudaError(const char* op, cudaError_t err) {
  // Clears the sticky last error of a failed launch, so the next call does
  // not report it again (real faults stay sticky: CUDA keeps them).
  (void)cudaGetLastError();
  throw KernelError(std::string(op) + ": CUDA error: " + cudaGetErrorString(err));
}

namespace {

int probeDeviceCount() {
  int n = 0;
  // With no driver (libcuda.so missing) or no device this fails quietly;
  // CUDA prints nothing, so isAvailable() is just false.
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return n;
}

int cachedDeviceCount() {
  static const int count = probeDeviceCount();
  return count;
}

thread_local int tCurrentDevice = -1;

}  // namespace

bool compiled() { return true; }
bool isAvailable() { return cachedDeviceCount() > 0; }
int deviceCount() { return cachedDeviceCount(); }

void setDevice(const char* op, int device) {
  if (device < 0 || device >= deviceCount())
    throw KernelError(std::string(op) + ": no CUDA device cuda:" + std::to_string(device) + " (" +
                      std::to_string(deviceCount()) + " available)");
  if (tCurrentDevice == device) return;
  KD_CUDA_CHECK(op, cudaSetDevice(device));
  tCurrentDevice = device;
}

std::string deviceName(int device) {
  setDevice("cudaDeviceName", device);
  cudaDeviceProp prop;
  KD_CUDA_CHECK("cudaDeviceName", cudaGetDeviceProperties(&prop, device));
  return prop.name;
}

void synchronize(int device) {
  if (device >= 0) {
    setDevice("cudaSynchronize", device);
    KD_CUDA_CHECK("cudaSynchronize", cudaDeviceSynchronize());
    return;
  }
  for (int d = 0; d < deviceCount(); ++d) {
    setDevice("cudaSynchronize", d);
    KD_CUDA_CHECK("cudaSynchronize", cudaDeviceSynchronize());
  }
}

// ---- caching allocator -----------------------------------------------------------------------
// Note [Caching allocator]
// cudaMalloc and cudaFree are slow (cudaFree synchronises the device), and
// a training step frees and re-requests the same sizes every iteration. So
// freed blocks are kept per device in buckets of their rounded size, and a
// request of that size takes one back without calling the driver, as
// PyTorch's allocator does (without its block splitting: exact-size
// buckets are enough for the repeating sizes of a training loop, and keep
// the accounting simple). Sizes round up to 512 bytes below 1 MiB and to
// 2 MiB above, so near sizes share buckets. When cudaMalloc runs out of
// memory the cache is returned to the driver and the request retried.
namespace {

constexpr size_t kSmallLimit = size_t(1) << 20;
constexpr size_t kSmallRound = 512;
constexpr size_t kLargeRound = size_t(2) << 20;

size_t roundSize(size_t bytes) {
  const size_t r = bytes <= kSmallLimit ? kSmallRound : kLargeRound;
  return (bytes + r - 1) / r * r;
}

struct DeviceCache {
  std::mutex mutex;
  std::map<size_t, std::vector<void*>> free;  // rounded size -> cached blocks
  std::unordered_map<void*, size_t> live;     // block -> rounded size
  int64_t allocated = 0;
  int64_t reserved = 0;
};

DeviceCache& cacheFor(int device) {
  static std::vector<std::unique_ptr<DeviceCache>> caches = [] {
    std::vector<std::unique_ptr<DeviceCache>> v;
    for (int d = 0; d < cachedDeviceCount(); ++d) v.emplace_back(new DeviceCache());
    return v;
  }();
  return *caches[static_cast<size_t>(device)];
}

// Returns the cached blocks of one device to the driver; the caller holds
// the cache's mutex and has made the device current.
void releaseCached(DeviceCache& c) {
  for (auto& bucket : c.free) {
    for (void* p : bucket.second) {
      cudaFree(p);
      c.reserved -= static_cast<int64_t>(bucket.first);
    }
  }
  c.free.clear();
  (void)cudaGetLastError();
}

std::string mib(int64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(bytes) / 1048576.0);
  return buf;
}

}  // namespace

void* allocate(int device, size_t bytes) {
  if (bytes == 0) return nullptr;
  setDevice("cudaAlloc", device);
  const size_t size = roundSize(bytes);
  if (size < bytes) throw KernelError("cudaAlloc: " + std::to_string(bytes) + " bytes is too large");
  DeviceCache& c = cacheFor(device);
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.free.find(size);
  void* p = nullptr;
  if (it != c.free.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
  } else {
    cudaError_t err = cudaMalloc(&p, size);
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      releaseCached(c);
      err = cudaMalloc(&p, size);
    }
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      throw KernelError("cudaAlloc: out of memory on cuda:" + std::to_string(device) + " (tried to allocate " +
                        mib(static_cast<int64_t>(size)) + "; " + mib(c.allocated) + " allocated, " + mib(c.reserved) +
                        " reserved by kindling)");
    }
    KD_CUDA_CHECK("cudaAlloc", err);
    c.reserved += static_cast<int64_t>(size);
  }
  c.live.emplace(p, size);
  c.allocated += static_cast<int64_t>(size);
  return p;
}

void deallocate(int device, void* ptr) {
  if (ptr == nullptr) return;
  if (device < 0 || device >= deviceCount()) return;
  DeviceCache& c = cacheFor(device);
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.live.find(ptr);
  if (it == c.live.end()) throw KernelError("cudaFree: pointer was not allocated by kindling's CUDA allocator");
  const size_t size = it->second;
  c.live.erase(it);
  c.allocated -= static_cast<int64_t>(size);
  c.free[size].push_back(ptr);
}

int64_t memoryAllocated(int device) {
  if (device < 0 || device >= deviceCount()) return 0;
  DeviceCache& c = cacheFor(device);
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.allocated;
}

int64_t memoryReserved(int device) {
  if (device < 0 || device >= deviceCount()) return 0;
  DeviceCache& c = cacheFor(device);
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.reserved;
}

void emptyCache() {
  for (int d = 0; d < deviceCount(); ++d) {
    setDevice("cudaEmptyCache", d);
    DeviceCache& c = cacheFor(d);
    std::lock_guard<std::mutex> lock(c.mutex);
    releaseCached(c);
  }
}

void copyToDevice(int device, void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  setDevice("copy", device);
  KD_CUDA_CHECK("copy", cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

void copyToHost(int device, void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  setDevice("copy", device);
  KD_CUDA_CHECK("copy", cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

// ---- helpers of common.cuh ----------------------------------------------------------------------

std::string shapeStr(const TensorView& v) {
  std::string s = "[";
  for (int d = 0; d < v.ndim; ++d) s += (d ? ", " : "") + std::to_string(v.shape[d]);
  return s + "]";
}

TensorView contiguousLike(const TensorView& shapeOf, DType dtype, DeviceBuffer& storage) {
  TensorView v;
  v.dtype = dtype;
  v.device = shapeOf.device;
  v.ndim = shapeOf.ndim;
  int64_t n = 1;
  for (int d = v.ndim - 1; d >= 0; --d) {
    v.shape[d] = shapeOf.shape[d];
    v.strides[d] = n;
    n *= shapeOf.shape[d];
  }
  storage = DeviceBuffer(shapeOf.device, static_cast<size_t>(n) * dtypeSize(dtype));
  v.data = storage.get();
  return v;
}

std::vector<uint8_t> downloadView(const TensorView& v) {
  const int64_t n = v.numel();
  std::vector<uint8_t> host(static_cast<size_t>(n) * dtypeSize(v.dtype));
  if (n == 0) return host;
  if (v.isContiguous()) {
    copyToHost(v.device, host.data(), v.data, host.size());
    return host;
  }
  DeviceBuffer tmp;
  const TensorView c = contiguousLike(v, v.dtype, tmp);
  cuda::copy(v, c);
  copyToHost(v.device, host.data(), c.data, host.size());
  return host;
}

Indexer makeIndexer(const TensorView* const* views, int nops) {
  const TensorView& out = *views[0];
  Indexer ix;
  ix.nops = nops;
  int dims[kMaxDims];
  int nd = 0;
  for (int d = 0; d < out.ndim; ++d)
    if (out.shape[d] != 1) dims[nd++] = d;
  // The output's memory order, so consecutive threads write neighbouring
  // elements even into a permuted output.
  std::stable_sort(dims, dims + nd,
                   [&](int x, int y) { return std::llabs(out.strides[x]) > std::llabs(out.strides[y]); });
  for (int i = 0; i < nd; ++i) {
    const int d = dims[i];
    if (ix.ndim > 0) {
      const int last = ix.ndim - 1;
      bool mergeable = true;
      for (int k = 0; k < nops; ++k)
        if (ix.strides[k][last] != views[k]->strides[d] * out.shape[d]) mergeable = false;
      if (mergeable) {
        ix.shape[last] *= out.shape[d];
        for (int k = 0; k < nops; ++k) ix.strides[k][last] = views[k]->strides[d];
        continue;
      }
    }
    ix.shape[ix.ndim] = out.shape[d];
    for (int k = 0; k < nops; ++k) ix.strides[k][ix.ndim] = views[k]->strides[d];
    ++ix.ndim;
  }
  return ix;
}

}  // namespace cuda
}  // namespace kd
