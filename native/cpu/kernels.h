// The CPU kernels. Plain C++ over TensorViews: no Node headers here.
// The op lists and enums they take (UnaryOp, BinaryOp, ReduceOp) are in
// native/common/ops.h, shared with native/cuda.
#pragma once
#include <vector>
#include "../common/ops.h"
#include "../common/tensor_view.h"

namespace kd {

// ---- elementwise (native/cpu/elementwise.cc) -------------------------------
// out = op(x). out is contiguous with x's shape; x any strides.
// IsNan and LogicalNot write Bool, the rest x's dtype.
void unary(UnaryOp op, const TensorView& x, const TensorView& out);
// out = op(a, b). a and b already broadcast to out's shape (stride 0 where
// broadcast) and share one dtype; out contiguous.
void binary(BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& out);
// out = a op scalar, the common case of `x.mul(2)` without a 0-d tensor.
void binaryScalar(BinaryOp op, const TensorView& a, double scalar, bool scalarFirst, const TensorView& out);
// out = cond ? a : b, all broadcast to out's shape; a, b, out share a dtype.
void where(const TensorView& cond, const TensorView& a, const TensorView& b, const TensorView& out);
// dst[i] = src[i] with dtype conversion; any strides on both sides, same shape.
void copy(const TensorView& src, const TensorView& dst);
void fill(const TensorView& dst, double value);
// out = clamp(x, lo, hi); NaN bounds mean "no bound".
void clamp(const TensorView& x, double lo, double hi, const TensorView& out);

// ---- reductions (native/cpu/reduce.cc) --------------------------------------
// Reduces x over the dims where reduce[d] is true. out is contiguous with
// x's shape and size 1 in reduced dims (keepdim form). Var uses
// `correction` (1 = unbiased). Any/All write Bool; Sum of ints writes Int64.
void reduce(ReduceOp op, const TensorView& x, const std::vector<bool>& reduceDims, double correction,
            const TensorView& out);
// max/min over one dim with the index of the first extreme (as PyTorch).
// values/indices are contiguous, keepdim form; indices Int64.
void argReduce(bool isMax, const TensorView& x, int dim, const TensorView& values, const TensorView& indices);
// Fused (log-)softmax over dim; out contiguous like x.
void softmax(const TensorView& x, int dim, bool log, const TensorView& out);
// Gradient of (log-)softmax: y is the forward output, gy the incoming grad.
void softmaxBackward(const TensorView& y, const TensorView& gy, int dim, bool log, const TensorView& out);
// Sorts x along dim (stable; NaN largest, as PyTorch). values (x's dtype)
// and indices (Int64) have x's shape, any strides.
void sortDim(const TensorView& x, int dim, bool descending, const TensorView& values, const TensorView& indices);
// Running reductions along dim. x and out share a dtype and a shape;
// indices (Int64, same shape) only for Cummax/Cummin, else data null.
// The binding reads the op by name, so this list is not one of ops.h's.
enum class ScanOp : int32_t { Cumsum, Cumprod, Cummax, Cummin, LogCumSumExp };
void scanDim(ScanOp op, const TensorView& x, int dim, const TensorView& out, const TensorView& indices);

// ---- indexing (native/cpu/index.cc) -----------------------------------------
// All index tensors are Int64; negative indices count from the end; an
// index out of range throws KernelError naming the op, index and size.
// out[..., j, ...] = x[..., index[j], ...] along dim.
void indexSelect(const TensorView& x, int dim, const TensorView& index, const TensorView& out);
// out[..., index[j], ...] += alpha * src[..., j, ...] (index_add_).
void indexAdd(const TensorView& out, int dim, const TensorView& index, const TensorView& src, double alpha);
// out[..., index[j], ...] = src[..., j, ...] (index_copy_).
void indexCopy(const TensorView& out, int dim, const TensorView& index, const TensorView& src);
// out[i][j] = x[i][index[i][j]] along dim (torch.gather); index has out's shape.
void gather(const TensorView& x, int dim, const TensorView& index, const TensorView& out);
// out[i][index[i][j]] += src[i][j] along dim (scatter_add_).
void scatterAdd(const TensorView& out, int dim, const TensorView& index, const TensorView& src);
// out[i][index[i][j]] = src[i][j] along dim (scatter_).
void scatter(const TensorView& out, int dim, const TensorView& index, const TensorView& src);
// out[i][index[i][j]] = op(out[i][index[i][j]], src[i][j]) along dim (scatter_reduce_
// with include_self; the TS layer does mean and include_self=False around it).
void scatterReduce(const TensorView& out, int dim, const TensorView& index, const TensorView& src, ScatterReduceOp op);

// ---- matmul (native/cpu/gemm.cc) --------------------------------------------
// out[b] = a[b] @ b[b] for a [B, M, K], b [B, K, N], out [B, M, N], or with
// two batch dims: a [B1, B2, M, K], b [B1, B2, K, N], out [B1, B2, M, N]
// (each batch dim its own stride, so transposed heads need no copy).
// a and b may have any strides (batch size 1 broadcasts); out contiguous.
// Float32/Float64 only. Uses BLAS when built with it, else the built-in GEMM.
void matmul(const TensorView& a, const TensorView& b, const TensorView& out);
// matmul that always uses the built-in GEMM. Inside a parallelFor task it
// runs on the calling thread, so kernels that split their own work over the
// pool (convolution, by image chunks) get one GEMM per task without BLAS's
// threads competing with the pool's.
void matmulBuiltin(const TensorView& a, const TensorView& b, const TensorView& out);
// C (ldc) = A @ B, or C += A @ B when accumulate, for strided M x K and
// K x N operands, on the calling thread with the built-in GEMM: for kernels
// that parallelise their own outer loop (fused attention).
void gemmStrided(int64_t M, int64_t N, int64_t K, const float* A, int64_t rsa, int64_t csa, const float* B, int64_t rsb,
                 int64_t csb, float* C, int64_t ldc, bool accumulate);
void gemmStrided(int64_t M, int64_t N, int64_t K, const double* A, int64_t rsa, int64_t csa, const double* B,
                 int64_t rsb, int64_t csb, double* C, int64_t ldc, bool accumulate);
// Which GEMM runs: "openblas", "accelerate" or "builtin".
const char* gemmBackend();
// The CPU core OpenBLAS's kernels were chosen for ("Haswell", "SkylakeX"; it
// honours OPENBLAS_CORETYPE), or "" when OpenBLAS is not linked.
const char* blasCore();
// The SIMD level the built-in GEMM picked at run time: "avx512", "avx2", "neon" (arm64) or "scalar".
const char* simdLevel();
// Force the built-in GEMM even when BLAS is linked (for benchmarks and tests).
void setUseBlas(bool on);
bool usingBlas();

// ---- random (native/cpu/random.cc) ------------------------------------------
// A generator's whole state: the Philox key (the seed) and the index of the
// next unused word of its stream. Each sampler takes one; without one
// (nullptr) it uses the process-wide generator seeded by manualSeed. The
// addon always passes the calling JS thread's own state (Note [Per-thread
// random state] in random.cc), so the process-wide one serves only C++
// callers.
struct RngState {
  uint64_t seed;
  uint64_t word;
};
void manualSeed(uint64_t seed);
uint64_t initialSeed();
void uniform(const TensorView& out, double low, double high, RngState* gen = nullptr);
void normal(const TensorView& out, double mean, double std, RngState* gen = nullptr);
// Integers uniform in [low, high).
void randint(const TensorView& out, int64_t low, int64_t high, RngState* gen = nullptr);
// A random permutation of 0..n-1 into a contiguous Int64 out of size n.
void randperm(const TensorView& out, RngState* gen = nullptr);
// out[i] = 1 with probability p else 0 (out's dtype).
void bernoulli(const TensorView& out, double p, RngState* gen = nullptr);

// ---- threads (native/cpu/parallel.cc) ---------------------------------------
void setNumThreads(int n);
int getNumThreads();

}  // namespace kd
