// nn kernels (native/cpu/nn.cc): convolution, pooling, normalisation and
// fused losses. Plain C++ over TensorViews, no Node headers.
//
// Conventions: every tensor argument is contiguous (the TS layer makes it
// so) and shares the input's float dtype (float32 or float64), except
// indices and targets, which are Int64. Output and gradient tensors are
// allocated (zeroed) by the caller with their final shapes; the kernels
// overwrite them. An optional tensor is passed as a null pointer.
// The parameter structs are in native/common/nn_params.h, shared with
// native/cuda.
#pragma once
#include "../common/nn_params.h"
#include "../common/tensor_view.h"

namespace kd {

// ---- convolution -------------------------------------------------------------
// x [N, C, H, W], w [OC, C / groups, KH, KW], bias [OC] or null,
// out [N, OC, OH, OW]. With relu, out is relu(conv2d(x)), applied as each
// block of it is written (nn.Sequential's Conv then ReLU under noGrad). With
// pool, out [N, OC, OH / 2, OW / 2] is the 2x2 stride-2 max pool of that,
// where pool gives the convolution's own OH x OW (Conv, ReLU, MaxPool2d(2)).
// codes, when not null (with relu), [N, OC, OH / 2, OW / 2] uint8, gets the
// window position of each pooled maximum (0 top left, 1 top right, 2 bottom
// left, 3 bottom right) where the pooled value is > 0, else 4: where the
// gradient goes, for conv2dBackward (grad mode's fusion).
struct ConvPool {
  int64_t OH, OW;
  uint8_t* codes = nullptr;
};
void conv2d(const TensorView& x, const TensorView& w, const TensorView* bias, const Conv2dParams& p,
            const TensorView& out, bool relu = false, const ConvPool* pool = nullptr);
// Gradients of conv2d given gy [N, OC, OH, OW]; each of gx, gw, gb may be null
// (not wanted). gx has x's shape, gw w's, gb [OC]. With pool (and its codes),
// gy is [N, OC, OH / 2, OW / 2] and stands for the OH x OW map (OH, OW from
// pool) that has gy at each position the codes name and 0 elsewhere (Note
// [Conv-ReLU-pool backward] in nn.cc, grad mode's fusion).
void conv2dBackward(const TensorView& gy, const TensorView& x, const TensorView& w, const Conv2dParams& p,
                    const TensorView* gx, const TensorView* gw, const TensorView* gb, const ConvPool* pool = nullptr);

// ---- pooling -----------------------------------------------------------------
// x [P, H, W] where P = N * C planes; out [P, OH, OW]. ceil_mode only changes
// the output size the caller computes, so the kernels take OH, OW from out.
// indices [P, OH, OW] Int64: the flat h * W + w of each maximum in its plane
// (PyTorch's return_indices). NaN wins, as in PyTorch.
void maxPool2d(const TensorView& x, const Pool2dParams& p, const TensorView& out, const TensorView& indices);
// The values alone (Note [Max pooling without indices]); CPU only.
void maxPool2dValues(const TensorView& x, const Pool2dParams& p, const TensorView& out);
// gx [P, H, W] = scatter-add of gy at indices.
void maxPool2dBackward(const TensorView& gy, const TensorView& indices, const TensorView& gx);
// divisorOverride <= 0 means none.
void avgPool2d(const TensorView& x, const Pool2dParams& p, bool countIncludePad, int64_t divisorOverride,
               const TensorView& out);
void avgPool2dBackward(const TensorView& gy, const Pool2dParams& p, bool countIncludePad, int64_t divisorOverride,
                       const TensorView& gx);
// Output cell (i, j) averages rows [floor(i*H/OH), ceil((i+1)*H/OH)) and the
// same for columns, as PyTorch.
void adaptiveAvgPool2d(const TensorView& x, const TensorView& out);
void adaptiveAvgPool2dBackward(const TensorView& gy, const TensorView& gx);

// ---- batch norm --------------------------------------------------------------
// x [N, C, S] (S = product of spatial dims; 1 for [N, C] input).
// training: normalises with the batch statistics, and updates runningMean
// and runningVar in place (when given) with momentum, using the unbiased
// variance for runningVar as PyTorch does. Otherwise normalises with the
// running statistics (which must be given).
// saveMean / saveInvstd [C] receive the mean and 1/sqrt(var + eps) used, for
// the backward.
void batchNorm(const TensorView& x, const TensorView* weight, const TensorView* bias, const TensorView* runningMean,
               const TensorView* runningVar, bool training, double momentum, double eps, const TensorView& out,
               const TensorView& saveMean, const TensorView& saveInvstd);
// training selects whether the statistics depended on x (batch stats) or
// were constants (running stats).
void batchNormBackward(const TensorView& gy, const TensorView& x, const TensorView* weight, const TensorView& saveMean,
                       const TensorView& saveInvstd, bool training, const TensorView* gx, const TensorView* gw,
                       const TensorView* gb);

// ---- layer norm ----------------------------------------------------------------
// x [M, N] contiguous: each of the M rows normalised over its N elements,
// then scaled by weight [N] and shifted by bias [N] (either may be null).
// mean / rstd [M] receive each row's mean and 1/sqrt(var + eps) (biased
// variance), for the backward. PyTorch's native_layer_norm.
void layerNorm(const TensorView& x, const TensorView* weight, const TensorView* bias, double eps, const TensorView& out,
               const TensorView& mean, const TensorView& rstd);
// The gradients of layerNorm from gy [M, N] and the saved statistics; each
// of gx [M, N], gw [N], gb [N] is written when given.
void layerNormBackward(const TensorView& gy, const TensorView& x, const TensorView* weight, const TensorView& mean,
                       const TensorView& rstd, const TensorView* gx, const TensorView* gw, const TensorView* gb);

// ---- negative log likelihood / cross entropy ------------------------------------
// input [N, C, D] (D = product of the dims after the class dim), target
// [N, D] Int64, weight [C] or null. out is a 1-element tensor (mean, sum) or
// [N, D] (none). lse [N, D] receives each row's logsumexp (logits only; it
// may be null otherwise). totalWeight (1 element) receives the sum of the
// weights of the non-ignored targets, the divisor of 'mean'.
// A target outside [0, C) that is not ignoreIndex throws KernelError.
void nllLoss(const TensorView& input, const TensorView& target, const TensorView* weight, const NllParams& p,
             const TensorView& out, const TensorView* lse, const TensorView& totalWeight);
// gx [N, C, D] from gy (1 element, or [N, D] for 'none').
void nllLossBackward(const TensorView& gy, const TensorView& input, const TensorView& target, const TensorView* weight,
                     const NllParams& p, const TensorView* lse, double totalWeight, const TensorView& gx);

// ---- fused scaled dot product attention (native/cpu/attention.cc) --------------
// q [B, H, L, E], k [B, H, S, E], v [B, H, S, Ev] with any strides (0
// broadcasts, a transposed head needs no copy); mask [B, H, L, S] (any
// strides) bool (true takes part) or q's dtype (added), or null.
// out [B, H, L, Ev] and lse [B, H, L] (each row's logsumexp, for the
// backward) are contiguous. Note [Fused attention] in attention.cc.
void attention(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView* mask,
               const AttentionParams& p, const TensorView& out, const TensorView& lse);
// Gradients from gy [B, H, L, Ev] (any strides) and the forward's out and
// lse; gq [B, H, L, E], gk [B, H, S, E], gv [B, H, S, Ev], contiguous, each
// null when not wanted. Broadcast batch dims are not summed here: each
// (b, h) gets its own gradient (the caller sums).
void attentionBackward(const TensorView& gy, const TensorView& q, const TensorView& k, const TensorView& v,
                       const TensorView* mask, const AttentionParams& p, const TensorView& out, const TensorView& lse,
                       const TensorView* gq, const TensorView* gk, const TensorView* gv);

// ---- recurrent cells (native/cpu/rnn.cc) ----------------------------------------
// One LSTM step's pointwise part. inputGates, hiddenGates [B, 4H] (gates i, f,
// g, o; their sum is the pre-activation), cx [B, H]. Writes hy, cy [B, H] and
// workspace [B, 4H]: the activated gates, which the backward reads.
void lstmCell(const TensorView& inputGates, const TensorView& hiddenGates, const TensorView& cx, const TensorView& hy,
              const TensorView& cy, const TensorView& workspace);
// From gradHy, gradCy [B, H] and the forward's cx, cy, workspace: gradGates
// [B, 4H] (the gradient of both gate inputs) and gradCx [B, H] (may be null).
void lstmCellBackward(const TensorView& gradHy, const TensorView& gradCy, const TensorView& cx, const TensorView& cy,
                      const TensorView& workspace, const TensorView& gradGates, const TensorView* gradCx);
// One GRU step's pointwise part. inputGates, hiddenGates [B, 3H] (gates r, z,
// n), hx [B, H]. Writes hy [B, H] and workspace [B, 4H]: r, z, n and the
// hidden share of n's pre-activation.
void gruCell(const TensorView& inputGates, const TensorView& hiddenGates, const TensorView& hx, const TensorView& hy,
             const TensorView& workspace);
// From gradHy [B, H], hx and the workspace: gradInputGates and gradHiddenGates
// [B, 3H] (they differ in n's slot) and gradHx [B, H] (may be null).
void gruCellBackward(const TensorView& gradHy, const TensorView& hx, const TensorView& workspace,
                     const TensorView& gradInputGates, const TensorView& gradHiddenGates, const TensorView* gradHx);

}  // namespace kd
