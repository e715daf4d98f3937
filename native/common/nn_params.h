// Parameters of the nn kernels (convolution, pooling, nll / cross entropy),
// shared by native/cpu/nn_kernels.h and native/cuda/cuda_ops.h. No Node
// headers, no kernels.
#pragma once
#include <cstdint>

namespace kd {

// ---- convolution -------------------------------------------------------------
// Padding is given for the top/left side; the bottom/right padding follows
// from the output size the caller chose, so 'same' with an odd total
// padding (PyTorch pads the extra row on the bottom) needs no copy.
struct Conv2dParams {
  int64_t strideH = 1, strideW = 1;
  int64_t padH = 0, padW = 0;
  int64_t dilationH = 1, dilationW = 1;
  int64_t groups = 1;
};

// ---- pooling -----------------------------------------------------------------
struct Pool2dParams {
  int64_t kernelH = 1, kernelW = 1;
  int64_t strideH = 1, strideW = 1;
  int64_t padH = 0, padW = 0;
  int64_t dilationH = 1, dilationW = 1;
};

// ---- negative log likelihood / cross entropy ------------------------------------
enum class Reduction : int32_t { None = 0, Mean = 1, Sum = 2 };

struct NllParams {
  int64_t ignoreIndex = -100;
  double labelSmoothing = 0;
  Reduction reduction = Reduction::Mean;
  // true: input holds logits and a log-softmax is fused in (cross entropy);
  // false: input already holds log-probabilities (nll_loss).
  bool logits = true;
  const char* op = "crossEntropy";
};

// ---- fused attention ----------------------------------------------------------
// softmax(q kᵀ · scale + mask) v; causal: query i sees keys 0..i.
struct AttentionParams {
  double scale = 1.0;
  bool causal = false;
};

}  // namespace kd
