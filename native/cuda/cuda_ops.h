// The CUDA backend as the binding sees it: device management, the caching
// allocator and one kernel entry per CPU kernel, with the CPU kernel's
// parameters and contract (documented at the CPU declarations in
// native/cpu/kernels.h, nn_kernels.h, optim_kernels.h). The types both
// share come from native/common: this folder stands beside native/cpu and
// includes nothing of it. Every TensorView passed here has device >= 0 and
// points into device memory; the binding checks that all tensors of a call
// share one device.
//
// Plain C++: no CUDA or Node headers, so the binding includes it in both
// builds. With KINDLING_CUDA=ON the .cu files in this folder define it;
// otherwise stub.cc does, and everything that would touch a device throws
// kNoCudaMessage.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../common/nn_params.h"
#include "../common/ops.h"
#include "../common/optim_params.h"
#include "../common/tensor_view.h"

namespace kd {
namespace cuda {

constexpr const char* kNoCudaMessage =
    "cuda: this build of kindling has no CUDA support (build it with npm run build:cuda)";

// ---- devices ----------------------------------------------------------------------
// Whether CUDA was compiled in (config().cuda).
bool compiled();
// False, silently, when there is no driver, no device, or no CUDA compiled in.
bool isAvailable();
// 0 whenever isAvailable() is false.
int deviceCount();
std::string deviceName(int device);
// Waits for every kernel queued on the device (device < 0: all devices).
void synchronize(int device);
// Seeds the device generator (one for all devices, counter-based).
void manualSeed(uint64_t seed);

// ---- caching allocator -------------------------------------------------------------
// Device memory in size buckets per device: a freed block goes back to its
// bucket and the next request of that size reuses it without touching the
// driver (see Note [Caching allocator] in allocator.cu). Blocks are not
// zeroed. allocate(…, 0) returns nullptr. Kernels run in order on one
// stream per device, so a block freed while a queued kernel still uses it
// is only handed to work queued after that kernel.
void* allocate(int device, size_t bytes);
void deallocate(int device, void* ptr);
// Bytes handed out (in live blocks, rounded sizes) and held from the driver.
int64_t memoryAllocated(int device);
int64_t memoryReserved(int device);
// Returns every cached (free) block to the driver.
void emptyCache();

// Contiguous byte copies; host memory is ordinary pageable memory.
// copyToHost waits for the copy (and all earlier work on the device).
void copyToDevice(int device, void* dst, const void* src, size_t bytes);
void copyToHost(int device, void* dst, const void* src, size_t bytes);

// ---- elementwise (elementwise.cu) -------------------------------------------------------
void unary(UnaryOp op, const TensorView& x, const TensorView& out);
void binary(BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& out);
void binaryScalar(BinaryOp op, const TensorView& a, double scalar, bool scalarFirst, const TensorView& out);
void where(const TensorView& cond, const TensorView& a, const TensorView& b, const TensorView& out);
// Both views on one device.
void copy(const TensorView& src, const TensorView& dst);
// The host side of a cross-device copy that is strided or converts dtypes
// (Note [Copies across devices] in elementwise.cu): a copy between two host
// views of one shape. The binding passes the CPU copy kernel, kd::copy, so
// that native/cuda needs nothing from native/cpu.
using HostCopy = void (*)(const TensorView& src, const TensorView& dst);
// src and dst on different devices (one may be the CPU: device -1); any
// strides and dtypes on both sides. hostCopy may be null only when the host
// side is contiguous and of dst's dtype (it is then not called).
void copyAcross(const TensorView& src, const TensorView& dst, HostCopy hostCopy);
void fill(const TensorView& dst, double value);
void clamp(const TensorView& x, double lo, double hi, const TensorView& out);

// ---- reductions (reduce.cu) ------------------------------------------------------------
void reduce(ReduceOp op, const TensorView& x, const std::vector<bool>& reduceDims, double correction,
            const TensorView& out);
void argReduce(bool isMax, const TensorView& x, int dim, const TensorView& values, const TensorView& indices);
void softmax(const TensorView& x, int dim, bool log, const TensorView& out);
void softmaxBackward(const TensorView& y, const TensorView& gy, int dim, bool log, const TensorView& out);

// ---- indexing (index.cu) ---------------------------------------------------------------
void indexSelect(const TensorView& x, int dim, const TensorView& index, const TensorView& out);
void indexAdd(const TensorView& out, int dim, const TensorView& index, const TensorView& src, double alpha);
void indexCopy(const TensorView& out, int dim, const TensorView& index, const TensorView& src);
void gather(const TensorView& x, int dim, const TensorView& index, const TensorView& out);
void scatterAdd(const TensorView& out, int dim, const TensorView& index, const TensorView& src);
void scatter(const TensorView& out, int dim, const TensorView& index, const TensorView& src);
// Not on CUDA: throws (lib/ops/indexing.ts runs scatter_reduce on the host for CUDA tensors).
void scatterReduce(const TensorView& out, int dim, const TensorView& index, const TensorView& src, ScatterReduceOp op);

// ---- matmul (gemm.cu) -----------------------------------------------------------------
void matmul(const TensorView& a, const TensorView& b, const TensorView& out);
// "cublas" when cuBLAS was found (and not disabled with
// KINDLING_CUDA_NO_CUBLAS=1), else "builtin". Loads cuBLAS on first use.
const char* gemmBackend();

// ---- random (random.cu) ----------------------------------------------------------------
void uniform(const TensorView& out, double low, double high);
void normal(const TensorView& out, double mean, double std);
void randint(const TensorView& out, int64_t low, int64_t high);
void randperm(const TensorView& out);
void bernoulli(const TensorView& out, double p);

// ---- nn (nn.cu) -------------------------------------------------------------------------
void conv2d(const TensorView& x, const TensorView& w, const TensorView* bias, const Conv2dParams& p,
            const TensorView& out);
void conv2dBackward(const TensorView& gy, const TensorView& x, const TensorView& w, const Conv2dParams& p,
                    const TensorView* gx, const TensorView* gw, const TensorView* gb);
void maxPool2d(const TensorView& x, const Pool2dParams& p, const TensorView& out, const TensorView& indices);
void maxPool2dBackward(const TensorView& gy, const TensorView& indices, const TensorView& gx);
void avgPool2d(const TensorView& x, const Pool2dParams& p, bool countIncludePad, int64_t divisorOverride,
               const TensorView& out);
void avgPool2dBackward(const TensorView& gy, const Pool2dParams& p, bool countIncludePad, int64_t divisorOverride,
                       const TensorView& gx);
void adaptiveAvgPool2d(const TensorView& x, const TensorView& out);
void adaptiveAvgPool2dBackward(const TensorView& gy, const TensorView& gx);
void batchNorm(const TensorView& x, const TensorView* weight, const TensorView* bias, const TensorView* runningMean,
               const TensorView* runningVar, bool training, double momentum, double eps, const TensorView& out,
               const TensorView& saveMean, const TensorView& saveInvstd);
void batchNormBackward(const TensorView& gy, const TensorView& x, const TensorView* weight, const TensorView& saveMean,
                       const TensorView& saveInvstd, bool training, const TensorView* gx, const TensorView* gw,
                       const TensorView* gb);
void nllLoss(const TensorView& input, const TensorView& target, const TensorView* weight, const NllParams& p,
             const TensorView& out, const TensorView* lse, const TensorView& totalWeight);
void nllLossBackward(const TensorView& gy, const TensorView& input, const TensorView& target, const TensorView* weight,
                     const NllParams& p, const TensorView* lse, double totalWeight, const TensorView& gx);

// ---- fused attention (attention.cu) -------------------------------------------------------
void attention(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView* mask,
               const AttentionParams& p, const TensorView& out, const TensorView& lse);
void attentionBackward(const TensorView& gy, const TensorView& q, const TensorView& k, const TensorView& v,
                       const TensorView* mask, const AttentionParams& p, const TensorView& out, const TensorView& lse,
                       const TensorView* gq, const TensorView* gk, const TensorView* gv);

// ---- recurrent cells (rnn.cu): as native/cpu/nn_kernels.h ------------------------------------
void lstmCell(const TensorView& inputGates, const TensorView& hiddenGates, const TensorView& cx, const TensorView& hy,
              const TensorView& cy, const TensorView& workspace);
void lstmCellBackward(const TensorView& gradHy, const TensorView& gradCy, const TensorView& cx, const TensorView& cy,
                      const TensorView& workspace, const TensorView& gradGates, const TensorView* gradCx);
void gruCell(const TensorView& inputGates, const TensorView& hiddenGates, const TensorView& hx, const TensorView& hy,
             const TensorView& workspace);
void gruCellBackward(const TensorView& gradHy, const TensorView& hx, const TensorView& workspace,
                     const TensorView& gradInputGates, const TensorView& gradHiddenGates, const TensorView* gradHx);

// ---- optimizers (optim.cu) ----------------------------------------------------------------
void sgdStep(const TensorView& param, const TensorView& grad, const TensorView* momentumBuffer, const SgdParams& o);
void adamStep(const TensorView& param, const TensorView& grad, const TensorView& expAvg, const TensorView& expAvgSq,
              const TensorView* maxExpAvgSq, const AdamParams& o);
void rmspropStep(const TensorView& param, const TensorView& grad, const TensorView& squareAvg,
                 const TensorView* gradAvg, const TensorView* momentumBuffer, const RmspropParams& o);
void adagradStep(const TensorView& param, const TensorView& grad, const TensorView& sum, const AdagradParams& o);

}  // namespace cuda
}  // namespace kd
