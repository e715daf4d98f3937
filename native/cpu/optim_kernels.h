// Fused optimizer updates (native/cpu/optim.cc). Plain C++, no Node headers.
//
// Each call updates one parameter in place, together with its state
// buffers, in a single pass over memory. The arithmetic follows PyTorch
// 1.13's single-tensor ("for-loop") optimizers operation by operation, with
// the same roundings: see Note [Matching PyTorch's roundings] in optim.cc.
//
// Every tensor is contiguous, of one float dtype (float32 or float64) and
// of the parameter's number of elements; the kernels check this and throw
// KernelError otherwise. An optional state buffer is passed as nullptr.
// The parameter structs are in native/common/optim_params.h, shared with
// native/cuda.
#pragma once
#include <cstdint>
#include "../common/optim_params.h"
#include "../common/tensor_view.h"

namespace kd {

// momentumBuffer may be null only when momentum == 0.
void sgdStep(const TensorView& param, const TensorView& grad, const TensorView* momentumBuffer, const SgdParams& o);

// maxExpAvgSq is required when amsgrad is set.
void adamStep(const TensorView& param, const TensorView& grad, const TensorView& expAvg, const TensorView& expAvgSq,
              const TensorView* maxExpAvgSq, const AdamParams& o);

// gradAvg given means centered; momentumBuffer is required when momentum > 0.
void rmspropStep(const TensorView& param, const TensorView& grad, const TensorView& squareAvg,
                 const TensorView* gradAvg, const TensorView* momentumBuffer, const RmspropParams& o);

void adagradStep(const TensorView& param, const TensorView& grad, const TensorView& sum, const AdagradParams& o);

}  // namespace kd
