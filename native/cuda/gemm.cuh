// The device GEMM behind matmul and convolution (gemm.cu).
#pragma once
#include "common.cuh"

namespace kd {
namespace cuda {

// C[b] = A[b] @ B[b] (accumulate: C[b] += A[b] @ B[b]) for b < batch, with
// A [M, K] at A + b*abs, element (m, k) at m*rsa + k*csa; B [K, N] likewise;
// C row-major with row stride ldc and batch stride cbs. Strides may be
// anything (0 broadcasts); cuBLAS runs when it is loaded and the layout
// suits it (else operands are made contiguous first), the built-in tiled
// kernel otherwise. T is float or double.
template <typename T>
void gemm(const char* op, int device, int64_t batch, int64_t M, int64_t N, int64_t K, const T* A, int64_t abs,
          int64_t rsa, int64_t csa, const T* B, int64_t bbs, int64_t rsb, int64_t csb, T* C, int64_t cbs, int64_t ldc,
          bool accumulate);

// For tests: false forces the built-in kernel (as KINDLING_CUDA_NO_CUBLAS=1
// does), true lets cuBLAS run again when it was found.
void setUseCublasForTesting(bool on);

}  // namespace cuda
}  // namespace kd
