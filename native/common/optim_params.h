// Parameters of the fused optimizer updates, shared by
// native/cpu/optim_kernels.h and native/cuda/cuda_ops.h. No Node headers,
// no kernels.
#pragma once

namespace kd {

struct SgdParams {
  double lr = 0, momentum = 0, dampening = 0, weightDecay = 0;
  bool nesterov = false, maximize = false;
  // The momentum buffer holds no history yet: it becomes the (decayed)
  // gradient itself, as PyTorch's first step clones d_p into it.
  bool initBuffer = false;
};

struct AdamParams {
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0, weightDecay = 0;
  // The step count after this step (1 on the first), for bias correction.
  double step = 1;
  bool amsgrad = false, maximize = false;
  // AdamW: weight decay shrinks the parameter instead of adding to the gradient.
  bool decoupled = false;
};

struct RmspropParams {
  double lr = 0, alpha = 0, eps = 0, weightDecay = 0, momentum = 0;
  bool maximize = false;
};

struct AdagradParams {
  // The decayed learning rate of this step: lr / (1 + (step - 1) * lrDecay).
  double clr = 0, weightDecay = 0, eps = 0;
  bool maximize = false;
};

}  // namespace kd
