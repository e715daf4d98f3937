// matmul on the device: cuBLAS when it can be loaded, a tiled kernel of
// our own otherwise.
//
// Note [cuBLAS at run time]
// cuBLAS is loaded with dlopen on first use (libcublas.so.13, .12, .11, in
// that order) and the few entry points needed are declared here, so the
// addon needs no CUDA toolkit to load, and works (with the built-in
// kernel) where cuBLAS is missing. KINDLING_CUDA_NO_CUBLAS=1 skips it, so
// both paths can be tested on one machine. cuBLAS is column-major: the
// row-major C = A @ B is computed as the column-major C^T = B^T @ A^T,
// which needs no data movement when each operand has one unit stride.
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "gemm.cuh"

namespace kd {
namespace cuda {

namespace {

// ---- cuBLAS, declared by hand ---------------------------------------------------------------------
using cublasHandle = void*;
enum : int { kCublasOpN = 0, kCublasOpT = 1 };

using CreateFn = int (*)(cublasHandle*);
using SetStreamFn = int (*)(cublasHandle, cudaStream_t);
using SgemmFn = int (*)(cublasHandle, int, int, int, int, int, const float*, const float*, int, const float*, int,
                        const float*, float*, int);
using DgemmFn = int (*)(cublasHandle, int, int, int, int, int, const double*, const double*, int, const double*, int,
                        const double*, double*, int);
using SgemmBatchedFn = int (*)(cublasHandle, int, int, int, int, int, const float*, const float*, int, long long,
                               const float*, int, long long, const float*, float*, int, long long, int);
using DgemmBatchedFn = int (*)(cublasHandle, int, int, int, int, int, const double*, const double*, int, long long,
                               const double*, int, long long, const double*, double*, int, long long, int);

struct Cublas {
  bool loaded = false;
  CreateFn create = nullptr;
  SetStreamFn setStream = nullptr;
  SgemmFn sgemm = nullptr;
  DgemmFn dgemm = nullptr;
  SgemmBatchedFn sgemmBatched = nullptr;
  DgemmBatchedFn dgemmBatched = nullptr;
  std::mutex mutex;
  std::vector<cublasHandle> handles;  // per device, made on first use
};

void* symbol(void* lib, const char* a, const char* b) {
  void* s = dlsym(lib, a);
  return s != nullptr || b == nullptr ? s : dlsym(lib, b);
}

Cublas& cublas() {
  static Cublas* c = [] {
    auto* c = new Cublas();
    const char* off = std::getenv("KINDLING_CUDA_NO_CUBLAS");
    if (off != nullptr && std::strcmp(off, "1") == 0) return c;
    void* lib = nullptr;
    for (const char* name : {"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"}) {
      lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (lib != nullptr) break;
    }
    if (lib == nullptr) return c;
    c->create = reinterpret_cast<CreateFn>(symbol(lib, "cublasCreate_v2", "cublasCreate"));
    c->setStream = reinterpret_cast<SetStreamFn>(symbol(lib, "cublasSetStream_v2", "cublasSetStream"));
    c->sgemm = reinterpret_cast<SgemmFn>(symbol(lib, "cublasSgemm_v2", "cublasSgemm"));
    c->dgemm = reinterpret_cast<DgemmFn>(symbol(lib, "cublasDgemm_v2", "cublasDgemm"));
    c->sgemmBatched = reinterpret_cast<SgemmBatchedFn>(symbol(lib, "cublasSgemmStridedBatched", nullptr));
    c->dgemmBatched = reinterpret_cast<DgemmBatchedFn>(symbol(lib, "cublasDgemmStridedBatched", nullptr));
    c->loaded = c->create && c->setStream && c->sgemm && c->dgemm && c->sgemmBatched && c->dgemmBatched;
    if (c->loaded) c->handles.assign(static_cast<size_t>(std::max(deviceCount(), 0)), nullptr);
    return c;
  }();
  return *c;
}

std::atomic<bool> gUseCublas{true};

// The device's handle, or null when cuBLAS cannot be used.
cublasHandle handleFor(int device) {
  if (!gUseCublas.load()) return nullptr;
  Cublas& c = cublas();
  if (!c.loaded || device < 0 || static_cast<size_t>(device) >= c.handles.size()) return nullptr;
  std::lock_guard<std::mutex> lock(c.mutex);
  cublasHandle& h = c.handles[static_cast<size_t>(device)];
  if (h == nullptr) {
    cublasHandle made = nullptr;
    if (c.create(&made) != 0 || made == nullptr) {
      c.loaded = false;  // a broken install: use the built-in kernel from now on
      return nullptr;
    }
    c.setStream(made, nullptr);  // the legacy default stream, as our kernels
    h = made;
  }
  return h;
}

// ---- the built-in kernel ----------------------------------------------------------------------------
// 64x64 tiles of C per block of 256 threads, each thread 4x4 outputs, K in
// steps of 16 through shared memory. Operands are read through their
// strides, so any layout works without a copy.
constexpr int kTileM = 64, kTileN = 64, kTileK = 16;
constexpr int kMaxGridYZ = 65535;

template <typename T>
__global__ void gemmKernel(int64_t M, int64_t N, int64_t K, const T* __restrict__ A, int64_t abs, int64_t rsa,
                           int64_t csa, const T* __restrict__ B, int64_t bbs, int64_t rsb, int64_t csb, T* C,
                           int64_t cbs, int64_t ldc, bool accumulate) {
  __shared__ T As[kTileK][kTileM + 1];
  __shared__ T Bs[kTileK][kTileN + 1];
  const int64_t b = blockIdx.z;
  A += b * abs;
  B += b * bbs;
  C += b * cbs;
  const int t = threadIdx.x, tx = t % 16, ty = t / 16;
  const int64_t m0 = int64_t(blockIdx.y) * kTileM, n0 = int64_t(blockIdx.x) * kTileN;
  T acc[4][4];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) acc[i][j] = T(0);
  for (int64_t k0 = 0; k0 < K; k0 += kTileK) {
    for (int r = 0; r < 4; ++r) {
      const int idx = t + r * 256;
      const int mm = idx / kTileK, kk = idx % kTileK;
      const int64_t gm = m0 + mm, gk = k0 + kk;
      As[kk][mm] = (gm < M && gk < K) ? A[gm * rsa + gk * csa] : T(0);
      const int kb = idx / kTileN, nn = idx % kTileN;
      const int64_t gkb = k0 + kb, gn = n0 + nn;
      Bs[kb][nn] = (gkb < K && gn < N) ? B[gkb * rsb + gn * csb] : T(0);
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTileK; ++kk) {
      T a[4], bv[4];
      for (int i = 0; i < 4; ++i) a[i] = As[kk][ty + 16 * i];
      for (int j = 0; j < 4; ++j) bv[j] = Bs[kk][tx + 16 * j];
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * bv[j];
    }
    __syncthreads();
  }
  for (int i = 0; i < 4; ++i) {
    const int64_t m = m0 + ty + 16 * i;
    if (m >= M) continue;
    for (int j = 0; j < 4; ++j) {
      const int64_t n = n0 + tx + 16 * j;
      if (n >= N) continue;
      T* c = C + m * ldc + n;
      *c = accumulate ? *c + acc[i][j] : acc[i][j];
    }
  }
}

template <typename T>
void builtinGemm(const char* op, int64_t batch, int64_t M, int64_t N, int64_t K, const T* A, int64_t abs, int64_t rsa,
                 int64_t csa, const T* B, int64_t bbs, int64_t rsb, int64_t csb, T* C, int64_t cbs, int64_t ldc,
                 bool accumulate) {
  const int64_t gx = (N + kTileN - 1) / kTileN;
  if (gx > INT_MAX) throw KernelError(std::string(op) + ": matrix too wide for the built-in CUDA GEMM");
  // Grid y and z stop at 65535: larger M and batch go in slices.
  const int64_t rowsPerLaunch = int64_t(kMaxGridYZ) * kTileM;
  for (int64_t b0 = 0; b0 < batch; b0 += kMaxGridYZ) {
    const int64_t nb = std::min<int64_t>(kMaxGridYZ, batch - b0);
    for (int64_t r0 = 0; r0 < M; r0 += rowsPerLaunch) {
      const int64_t nm = std::min(rowsPerLaunch, M - r0);
      dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>((nm + kTileM - 1) / kTileM),
                static_cast<unsigned>(nb));
      gemmKernel<T><<<grid, 256>>>(nm, N, K, A + b0 * abs + r0 * rsa, abs, rsa, csa, B + b0 * bbs, bbs, rsb, csb,
                                   C + b0 * cbs + r0 * ldc, cbs, ldc, accumulate);
      KD_CUDA_LAUNCHED(op);
    }
  }
}

// A [r, c] matrix with strides (rs, cs) as cuBLAS sees it: row-major
// (cs == 1) gives op N on the transposed problem, column-major (rs == 1)
// op T; ld is the other stride. False when neither fits.
bool blasLayout(int64_t r, int64_t c, int64_t rs, int64_t cs, int& op, int64_t& ld) {
  if (c == 1) cs = 1;
  if (r == 1) rs = std::max<int64_t>(c, 1);
  if (cs == 1 && rs >= std::max<int64_t>(c, 1)) {
    op = kCublasOpN;
    ld = rs;
  } else if (rs == 1 && cs >= std::max<int64_t>(r, 1)) {
    op = kCublasOpT;
    ld = cs;
  } else {
    return false;
  }
  return ld <= INT_MAX;
}

template <typename T>
bool cublasGemm(cublasHandle h, int64_t batch, int64_t M, int64_t N, int64_t K, const T* A, int64_t abs, int64_t rsa,
                int64_t csa, const T* B, int64_t bbs, int64_t rsb, int64_t csb, T* C, int64_t cbs, int64_t ldc,
                bool accumulate) {
  if (M > INT_MAX || N > INT_MAX || K > INT_MAX || ldc > INT_MAX || batch > INT_MAX) return false;
  int opB, opA;
  int64_t ldb, lda;
  // cuBLAS's first operand is B^T ([N, K] column-major), its second A^T.
  if (!blasLayout(K, N, rsb, csb, opB, ldb) || !blasLayout(M, K, rsa, csa, opA, lda)) return false;
  if (ldc < std::max<int64_t>(N, 1)) return false;
  Cublas& c = cublas();
  const T one = T(1), beta = accumulate ? T(1) : T(0);
  int status;
  if constexpr (std::is_same<T, float>::value) {
    if (batch == 1)
      status = c.sgemm(h, opB, opA, int(N), int(M), int(K), &one, B, int(ldb), A, int(lda), &beta, C, int(ldc));
    else
      status = c.sgemmBatched(h, opB, opA, int(N), int(M), int(K), &one, B, int(ldb), bbs, A, int(lda), abs, &beta, C,
                              int(ldc), cbs, int(batch));
  } else {
    if (batch == 1)
      status = c.dgemm(h, opB, opA, int(N), int(M), int(K), &one, B, int(ldb), A, int(lda), &beta, C, int(ldc));
    else
      status = c.dgemmBatched(h, opB, opA, int(N), int(M), int(K), &one, B, int(ldb), bbs, A, int(lda), abs, &beta, C,
                              int(ldc), cbs, int(batch));
  }
  if (status != 0) throw KernelError("matmul: cuBLAS failed with status " + std::to_string(status));
  return true;
}

// A contiguous copy of a [batch, r, c] operand (batch stride 0 kept as one
// matrix), for layouts cuBLAS cannot read.
template <typename T>
const T* packed(int device, int64_t batch, int64_t r, int64_t c, const T* p, int64_t bs, int64_t rs, int64_t cs,
                DeviceBuffer& buf, int64_t& nbs, int64_t& nrs, int64_t& ncs) {
  const int64_t nb = bs == 0 ? 1 : batch;
  TensorView src;
  src.data = const_cast<T*>(p);
  src.dtype = std::is_same<T, float>::value ? DType::Float32 : DType::Float64;
  src.device = device;
  src.ndim = 3;
  src.shape[0] = nb;
  src.shape[1] = r;
  src.shape[2] = c;
  src.strides[0] = bs;
  src.strides[1] = rs;
  src.strides[2] = cs;
  const TensorView dst = contiguousLike(src, src.dtype, buf);
  cuda::copy(src, dst);
  nbs = bs == 0 ? 0 : r * c;
  nrs = c;
  ncs = 1;
  return static_cast<const T*>(dst.data);
}

}  // namespace

void setUseCublasForTesting(bool on) { gUseCublas.store(on); }

const char* gemmBackend() {
  if (!gUseCublas.load()) return "builtin";
  return cublas().loaded ? "cublas" : "builtin";
}

template <typename T>
void gemm(const char* op, int device, int64_t batch, int64_t M, int64_t N, int64_t K, const T* A, int64_t abs,
          int64_t rsa, int64_t csa, const T* B, int64_t bbs, int64_t rsb, int64_t csb, T* C, int64_t cbs, int64_t ldc,
          bool accumulate) {
  if (batch == 0 || M == 0 || N == 0) return;
  setDevice(op, device);
  if (K == 0) {
    if (accumulate) return;
    // C is [batch, M, N] with row stride ldc: zero each row block.
    KD_CUDA_CHECK(op, cudaMemset2DAsync(C, static_cast<size_t>(ldc) * sizeof(T), 0, static_cast<size_t>(N) * sizeof(T),
                                        static_cast<size_t>(M), 0));
    for (int64_t b = 1; b < batch; ++b)
      KD_CUDA_CHECK(op, cudaMemset2DAsync(C + b * cbs, static_cast<size_t>(ldc) * sizeof(T), 0,
                                          static_cast<size_t>(N) * sizeof(T), static_cast<size_t>(M), 0));
    return;
  }
  // A shared B and evenly spaced A batches are one tall product: one big
  // GEMM beats many small ones (the linear-layer case).
  if (batch > 1 && bbs == 0 && abs == M * rsa && cbs == M * ldc && M > 1) {
    M *= batch;
    batch = 1;
    abs = 0;
    cbs = 0;
  }
  if (cublasHandle h = handleFor(device)) {
    if (cublasGemm<T>(h, batch, M, N, K, A, abs, rsa, csa, B, bbs, rsb, csb, C, cbs, ldc, accumulate)) return;
    DeviceBuffer pa, pb;
    int64_t nabs = abs, nrsa = rsa, ncsa = csa, nbbs = bbs, nrsb = rsb, ncsb = csb;
    int opTmp;
    int64_t ldTmp;
    const T* A2 = A;
    const T* B2 = B;
    if (!blasLayout(M, K, rsa, csa, opTmp, ldTmp))
      A2 = packed<T>(device, batch, M, K, A, abs, rsa, csa, pa, nabs, nrsa, ncsa);
    if (!blasLayout(K, N, rsb, csb, opTmp, ldTmp))
      B2 = packed<T>(device, batch, K, N, B, bbs, rsb, csb, pb, nbbs, nrsb, ncsb);
    if (cublasGemm<T>(h, batch, M, N, K, A2, nabs, nrsa, ncsa, B2, nbbs, nrsb, ncsb, C, cbs, ldc, accumulate)) return;
  }
  builtinGemm<T>(op, batch, M, N, K, A, abs, rsa, csa, B, bbs, rsb, csb, C, cbs, ldc, accumulate);
}

template void gemm<float>(const char*, int, int64_t, int64_t, int64_t, int64_t, const float*, int64_t, int64_t, int64_t,
                          const float*, int64_t, int64_t, int64_t, float*, int64_t, int64_t, bool);
template void gemm<double>(const char*, int, int64_t, int64_t, int64_t, int64_t, const double*, int64_t, int64_t,
                           int64_t, const double*, int64_t, int64_t, int64_t, double*, int64_t, int64_t, bool);

void matmul(const TensorView& a, const TensorView& b, const TensorView& out) {
  if (a.dtype != DType::Float32 && a.dtype != DType::Float64)
    throw KernelError(std::string("matmul: expected float32 or float64, got ") + dtypeName(a.dtype));
  if (b.dtype != a.dtype || out.dtype != a.dtype)
    throw KernelError(std::string("matmul: dtype mismatch (") + dtypeName(a.dtype) + ", " + dtypeName(b.dtype) +
                      " -> " + dtypeName(out.dtype) + ")");
  if (a.ndim != 3 || b.ndim != 3 || out.ndim != 3) throw KernelError("matmul: expected 3-d views");
  const int64_t batch = out.shape[0], M = out.shape[1], N = out.shape[2], K = a.shape[2];
  if (a.shape[1] != M || b.shape[1] != K || b.shape[2] != N || (a.shape[0] != batch && a.shape[0] != 1) ||
      (b.shape[0] != batch && b.shape[0] != 1))
    throw KernelError("matmul: shape mismatch");
  if (!out.isContiguous()) throw KernelError("matmul: out must be contiguous");
  const int64_t abs = a.shape[0] == 1 ? 0 : a.strides[0];
  const int64_t bbs = b.shape[0] == 1 ? 0 : b.strides[0];
  if (a.dtype == DType::Float32)
    gemm<float>("matmul", out.device, batch, M, N, K, static_cast<const float*>(a.data), abs, a.strides[1],
                a.strides[2], static_cast<const float*>(b.data), bbs, b.strides[1], b.strides[2],
                static_cast<float*>(out.data), M * N, N, false);
  else
    gemm<double>("matmul", out.device, batch, M, N, K, static_cast<const double*>(a.data), abs, a.strides[1],
                 a.strides[2], static_cast<const double*>(b.data), bbs, b.strides[1], b.strides[2],
                 static_cast<double*>(out.data), M * N, N, false);
}

}  // namespace cuda
}  // namespace kd
