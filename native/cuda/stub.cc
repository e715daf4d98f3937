// Built when CUDA is off (binding.gyp, and CMake without KINDLING_CUDA): the
// CPU build never needs the CUDA toolkit. It defines the whole CUDA backend
// of cuda_ops.h: nothing is available, and anything that would touch a
// device throws. The CUDA build compiles native/cuda/*.cu instead.
#include <stdexcept>

#include "cuda_ops.h"

namespace kd {
namespace cuda {

namespace {
[[noreturn]] void noCuda() { throw std::runtime_error(kNoCudaMessage); }
}  // namespace

bool compiled() { return false; }
bool isAvailable() { return false; }
int deviceCount() { return 0; }
std::string deviceName(int) { noCuda(); }
void synchronize(int) { noCuda(); }
void manualSeed(uint64_t) { noCuda(); }
void* allocate(int, size_t) { noCuda(); }
void deallocate(int, void*) { noCuda(); }
int64_t memoryAllocated(int) { noCuda(); }
int64_t memoryReserved(int) { noCuda(); }
void emptyCache() { noCuda(); }
void copyToDevice(int, void*, const void*, size_t) { noCuda(); }
void copyToHost(int, void*, const void*, size_t) { noCuda(); }
const char* gemmBackend() { return "none"; }

void unary(UnaryOp op, const TensorView& x, const TensorView& out) { noCuda(); }
void binary(BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& out) { noCuda(); }
void binaryScalar(BinaryOp op, const TensorView& a, double scalar, bool scalarFirst, const TensorView& out) {
  noCuda();
}
void where(const TensorView& cond, const TensorView& a, const TensorView& b, const TensorView& out) { noCuda(); }
void copy(const TensorView& src, const TensorView& dst) { noCuda(); }
void copyAcross(const TensorView& src, const TensorView& dst, HostCopy hostCopy) { noCuda(); }
void fill(const TensorView& dst, double value) { noCuda(); }
void clamp(const TensorView& x, double lo, double hi, const TensorView& out) { noCuda(); }
void reduce(ReduceOp op, const TensorView& x, const std::vector<bool>& reduceDims, double correction,
            const TensorView& out) {
  noCuda();
}
void argReduce(bool isMax, const TensorView& x, int dim, const TensorView& values, const TensorView& indices) {
  noCuda();
}
void softmax(const TensorView& x, int dim, bool log, const TensorView& out) { noCuda(); }
void softmaxBackward(const TensorView& y, const TensorView& gy, int dim, bool log, const TensorView& out) { noCuda(); }
void indexSelect(const TensorView& x, int dim, const TensorView& index, const TensorView& out) { noCuda(); }
void indexAdd(const TensorView& out, int dim, const TensorView& index, const TensorView& src, double alpha) {
  noCuda();
}
void indexCopy(const TensorView& out, int dim, const TensorView& index, const TensorView& src) { noCuda(); }
void gather(const TensorView& x, int dim, const TensorView& index, const TensorView& out) { noCuda(); }
void scatterAdd(const TensorView& out, int dim, const TensorView& index, const TensorView& src) { noCuda(); }
void scatter(const TensorView& out, int dim, const TensorView& index, const TensorView& src) { noCuda(); }
void scatterReduce(const TensorView& out, int dim, const TensorView& index, const TensorView& src, ScatterReduceOp op) {
  noCuda();
}
void matmul(const TensorView& a, const TensorView& b, const TensorView& out) { noCuda(); }
void uniform(const TensorView& out, double low, double high) { noCuda(); }
void normal(const TensorView& out, double mean, double std) { noCuda(); }
void randint(const TensorView& out, int64_t low, int64_t high) { noCuda(); }
void randperm(const TensorView& out) { noCuda(); }
void bernoulli(const TensorView& out, double p) { noCuda(); }
void conv2d(const TensorView& x, const TensorView& w, const TensorView* bias, const Conv2dParams& p,
            const TensorView& out) {
  noCuda();
}
void conv2dBackward(const TensorView& gy, const TensorView& x, const TensorView& w, const Conv2dParams& p,
                    const TensorView* gx, const TensorView* gw, const TensorView* gb) {
  noCuda();
}
void maxPool2d(const TensorView& x, const Pool2dParams& p, const TensorView& out, const TensorView& indices) {
  noCuda();
}
void maxPool2dBackward(const TensorView& gy, const TensorView& indices, const TensorView& gx) { noCuda(); }
void avgPool2d(const TensorView& x, const Pool2dParams& p, bool countIncludePad, int64_t divisorOverride,
               const TensorView& out) {
  noCuda();
}
void avgPool2dBackward(const TensorView& gy, const Pool2dParams& p, bool countIncludePad, int64_t divisorOverride,
                       const TensorView& gx) {
  noCuda();
}
void adaptiveAvgPool2d(const TensorView& x, const TensorView& out) { noCuda(); }
void adaptiveAvgPool2dBackward(const TensorView& gy, const TensorView& gx) { noCuda(); }
void batchNorm(const TensorView& x, const TensorView* weight, const TensorView* bias, const TensorView* runningMean,
               const TensorView* runningVar, bool training, double momentum, double eps, const TensorView& out,
               const TensorView& saveMean, const TensorView& saveInvstd) {
  noCuda();
}
void batchNormBackward(const TensorView& gy, const TensorView& x, const TensorView* weight, const TensorView& saveMean,
                       const TensorView& saveInvstd, bool training, const TensorView* gx, const TensorView* gw,
                       const TensorView* gb) {
  noCuda();
}
void nllLoss(const TensorView& input, const TensorView& target, const TensorView* weight, const NllParams& p,
             const TensorView& out, const TensorView* lse, const TensorView& totalWeight) {
  noCuda();
}
void nllLossBackward(const TensorView& gy, const TensorView& input, const TensorView& target, const TensorView* weight,
                     const NllParams& p, const TensorView* lse, double totalWeight, const TensorView& gx) {
  noCuda();
}
void attention(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView* mask,
               const AttentionParams& p, const TensorView& out, const TensorView& lse) {
  noCuda();
}
void attentionBackward(const TensorView& gy, const TensorView& q, const TensorView& k, const TensorView& v,
                       const TensorView* mask, const AttentionParams& p, const TensorView& out, const TensorView& lse,
                       const TensorView* gq, const TensorView* gk, const TensorView* gv) {
  noCuda();
}
void sgdStep(const TensorView& param, const TensorView& grad, const TensorView* momentumBuffer, const SgdParams& o) {
  noCuda();
}
void adamStep(const TensorView& param, const TensorView& grad, const TensorView& expAvg, const TensorView& expAvgSq,
              const TensorView* maxExpAvgSq, const AdamParams& o) {
  noCuda();
}
void rmspropStep(const TensorView& param, const TensorView& grad, const TensorView& squareAvg,
                 const TensorView* gradAvg, const TensorView* momentumBuffer, const RmspropParams& o) {
  noCuda();
}
void adagradStep(const TensorView& param, const TensorView& grad, const TensorView& sum, const AdagradParams& o) {
  noCuda();
}

void lstmCell(const TensorView& inputGates, const TensorView& hiddenGates, const TensorView& cx, const TensorView& hy,
              const TensorView& cy, const TensorView& workspace) {
  noCuda();
}
void lstmCellBackward(const TensorView& gradHy, const TensorView& gradCy, const TensorView& cx, const TensorView& cy,
                      const TensorView& workspace, const TensorView& gradGates, const TensorView* gradCx) {
  noCuda();
}
void gruCell(const TensorView& inputGates, const TensorView& hiddenGates, const TensorView& hx, const TensorView& hy,
             const TensorView& workspace) {
  noCuda();
}
void gruCellBackward(const TensorView& gradHy, const TensorView& hx, const TensorView& workspace,
                     const TensorView& gradInputGates, const TensorView& gradHiddenGates, const TensorView* gradHx) {
  noCuda();
}

}  // namespace cuda
}  // namespace kd
