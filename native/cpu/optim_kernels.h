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
#pragma once
#include <cstdint>
#include "tensor_view.h"

namespace kd {

struct SgdParams {
  double lr = 0, momentum = 0, dampening = 0, weightDecay = 0;
  bool nesterov = false, maximize = false;
  // The momentum buffer holds no history yet: it becomes the (decayed)
  // gradient itself, as PyTorch's first step clones d_p into it.
  bool initBuffer = false;
};
// momentumBuffer may be null only when momentum == 0.
void sgdStep(const TensorView& param, const TensorView& grad, const TensorView* momentumBuffer, const SgdParams& o);

struct AdamParams {
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0, weightDecay = 0;
  // The step count after this step (1 on the first), for bias correction.
  double step = 1;
  bool amsgrad = false, maximize = false;
  // AdamW: weight decay shrinks the parameter instead of adding to the gradient.
  bool decoupled = false;
};
// maxExpAvgSq is required when amsgrad is set.
void adamStep(const TensorView& param, const TensorView& grad, const TensorView& expAvg, const TensorView& expAvgSq,
              const TensorView* maxExpAvgSq, const AdamParams& o);

struct RmspropParams {
  double lr = 0, alpha = 0, eps = 0, weightDecay = 0, momentum = 0;
  bool maximize = false;
};
// gradAvg given means centered; momentumBuffer is required when momentum > 0.
void rmspropStep(const TensorView& param, const TensorView& grad, const TensorView& squareAvg, const TensorView* gradAvg,
                 const TensorView* momentumBuffer, const RmspropParams& o);

struct AdagradParams {
  // The decayed learning rate of this step: lr / (1 + (step - 1) * lrDecay).
  double clr = 0, weightDecay = 0, eps = 0;
  bool maximize = false;
};
void adagradStep(const TensorView& param, const TensorView& grad, const TensorView& sum, const AdagradParams& o);

}  // namespace kd
