// The fused recurrent cells (LSTM and GRU): the pointwise part of one time
// step, after the two matrix products that make the gate pre-activations.
// One pass reads the input's and the hidden state's share of the gates,
// applies the nonlinearities, writes the new state and keeps the activated
// gates (the workspace) for backward; the backward is one pass too. This is
// PyTorch's _thnn_fused_lstm_cell / _thnn_fused_gru_cell, which on the CPU
// PyTorch leaves to a chain of separate ops.
//
// Every tensor is contiguous and of one float dtype (the binding checks).
// The arithmetic is written in the order PyTorch's CPU cells compute it
// (RNN.cpp), so results agree with PyTorch's up to the rounding of exp/tanh.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "nn_kernels.h"
#include "parallel.h"
#include "vec_math.h"

namespace kd {

namespace {

using vec::sigmoid;
using vec::tanhOf;

// Rows of B per task: a row is about 30 flops per hidden unit.
int64_t rowGrain(int64_t H) { return std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(H * 30, 1)); }

// Runs rows [b0, b1) of a cell loop, on the widest SIMD for float (Note
// [Wide SIMD loops]) and plainly for double.
template <typename T, typename F>
void forRows(int64_t B, int64_t H, const F& row) {
  parallelFor(0, B, rowGrain(H), [&](int64_t b0, int64_t b1) {
    if constexpr (std::is_same_v<T, float>) {
      vec::withWideSimd([&] {
        for (int64_t b = b0; b < b1; ++b) row(b);
      });
    } else {
      for (int64_t b = b0; b < b1; ++b) row(b);
    }
  });
}

template <typename T>
void lstmCellTyped(const TensorView& ig, const TensorView& hg, const TensorView& cx, const TensorView& hy,
                   const TensorView& cy, const TensorView& ws) {
  const int64_t B = cx.shape[0], H = cx.shape[1];
  const T *pi = ig.ptr<T>(), *ph = hg.ptr<T>(), *pc = cx.ptr<T>();
  T *phy = hy.ptr<T>(), *pcy = cy.ptr<T>(), *pw = ws.ptr<T>();
  forRows<T>(B, H, [&](int64_t b) {
    const T *xi = pi + b * 4 * H, *hh = ph + b * 4 * H, *c0 = pc + b * H;
    T *w = pw + b * 4 * H, *h1 = phy + b * H, *c1 = pcy + b * H;
    for (int64_t j = 0; j < H; ++j) {
      const T i = sigmoid<T>(hh[j] + xi[j]);
      const T f = sigmoid<T>(hh[H + j] + xi[H + j]);
      const T g = tanhOf<T>(hh[2 * H + j] + xi[2 * H + j]);
      const T o = sigmoid<T>(hh[3 * H + j] + xi[3 * H + j]);
      const T c = f * c0[j] + i * g;
      c1[j] = c;
      h1[j] = o * tanhOf<T>(c);
      w[j] = i;
      w[H + j] = f;
      w[2 * H + j] = g;
      w[3 * H + j] = o;
    }
  });
}

template <typename T>
void lstmCellBackwardTyped(const TensorView& gHy, const TensorView& gCy, const TensorView& cx, const TensorView& cy,
                           const TensorView& ws, const TensorView& gGates, const TensorView* gCx) {
  const int64_t B = cx.shape[0], H = cx.shape[1];
  const T *pgh = gHy.ptr<T>(), *pgc = gCy.ptr<T>(), *pc0 = cx.ptr<T>(), *pc1 = cy.ptr<T>(), *pw = ws.ptr<T>();
  T *pgg = gGates.ptr<T>(), *pgcx = gCx ? gCx->ptr<T>() : nullptr;
  forRows<T>(B, H, [&](int64_t b) {
    const T *dh = pgh + b * H, *dcy = pgc + b * H, *c0 = pc0 + b * H, *c1 = pc1 + b * H, *w = pw + b * 4 * H;
    T *d = pgg + b * 4 * H, *dcx = pgcx ? pgcx + b * H : nullptr;
    for (int64_t j = 0; j < H; ++j) {
      const T i = w[j], f = w[H + j], g = w[2 * H + j], o = w[3 * H + j];
      const T tc = tanhOf<T>(c1[j]);
      const T dc = dcy[j] + dh[j] * o * (T(1) - tc * tc);
      d[j] = dc * g * i * (T(1) - i);
      d[H + j] = dc * c0[j] * f * (T(1) - f);
      d[2 * H + j] = dc * i * (T(1) - g * g);
      d[3 * H + j] = dh[j] * tc * o * (T(1) - o);
      if (dcx) dcx[j] = dc * f;
    }
  });
}

template <typename T>
void gruCellTyped(const TensorView& ig, const TensorView& hg, const TensorView& hx, const TensorView& hy,
                  const TensorView& ws) {
  const int64_t B = hx.shape[0], H = hx.shape[1];
  const T *pi = ig.ptr<T>(), *ph = hg.ptr<T>(), *p0 = hx.ptr<T>();
  T *p1 = hy.ptr<T>(), *pw = ws.ptr<T>();
  forRows<T>(B, H, [&](int64_t b) {
    const T *xi = pi + b * 3 * H, *hh = ph + b * 3 * H, *h0 = p0 + b * H;
    T *w = pw + b * 4 * H, *h1 = p1 + b * H;
    for (int64_t j = 0; j < H; ++j) {
      const T r = sigmoid<T>(hh[j] + xi[j]);
      const T z = sigmoid<T>(hh[H + j] + xi[H + j]);
      const T hn = hh[2 * H + j];
      const T n = tanhOf<T>(xi[2 * H + j] + hn * r);
      h1[j] = (h0[j] - n) * z + n;
      w[j] = r;
      w[H + j] = z;
      w[2 * H + j] = n;
      w[3 * H + j] = hn;
    }
  });
}

template <typename T>
void gruCellBackwardTyped(const TensorView& gHy, const TensorView& hx, const TensorView& ws, const TensorView& gIn,
                          const TensorView& gHid, const TensorView* gHx) {
  const int64_t B = hx.shape[0], H = hx.shape[1];
  const T *pg = gHy.ptr<T>(), *p0 = hx.ptr<T>(), *pw = ws.ptr<T>();
  T *pgi = gIn.ptr<T>(), *pgh = gHid.ptr<T>(), *pgx = gHx ? gHx->ptr<T>() : nullptr;
  forRows<T>(B, H, [&](int64_t b) {
    const T *g = pg + b * H, *h0 = p0 + b * H, *w = pw + b * 4 * H;
    T *di = pgi + b * 3 * H, *dh = pgh + b * 3 * H;
    for (int64_t j = 0; j < H; ++j) {
      const T r = w[j], z = w[H + j], n = w[2 * H + j], hn = w[3 * H + j];
      const T dn = g[j] * (T(1) - z) * (T(1) - n * n);
      const T dz = g[j] * (h0[j] - n) * z * (T(1) - z);
      const T dr = dn * hn * r * (T(1) - r);
      di[j] = dr;
      di[H + j] = dz;
      di[2 * H + j] = dn;
      dh[j] = dr;
      dh[H + j] = dz;
      dh[2 * H + j] = dn * r;
    }
    if (pgx) {
      T* dx = pgx + b * H;
      for (int64_t j = 0; j < H; ++j) dx[j] = g[j] * w[H + j];
    }
  });
}

}  // namespace

void lstmCell(const TensorView& inputGates, const TensorView& hiddenGates, const TensorView& cx, const TensorView& hy,
              const TensorView& cy, const TensorView& workspace) {
  KD_DISPATCH_FLOAT(cx.dtype, "lstmCell", lstmCellTyped<scalar_t>(inputGates, hiddenGates, cx, hy, cy, workspace));
}

void lstmCellBackward(const TensorView& gradHy, const TensorView& gradCy, const TensorView& cx, const TensorView& cy,
                      const TensorView& workspace, const TensorView& gradGates, const TensorView* gradCx) {
  KD_DISPATCH_FLOAT(cx.dtype, "lstmCellBackward",
                    lstmCellBackwardTyped<scalar_t>(gradHy, gradCy, cx, cy, workspace, gradGates, gradCx));
}

void gruCell(const TensorView& inputGates, const TensorView& hiddenGates, const TensorView& hx, const TensorView& hy,
             const TensorView& workspace) {
  KD_DISPATCH_FLOAT(hx.dtype, "gruCell", gruCellTyped<scalar_t>(inputGates, hiddenGates, hx, hy, workspace));
}

void gruCellBackward(const TensorView& gradHy, const TensorView& hx, const TensorView& workspace,
                     const TensorView& gradInputGates, const TensorView& gradHiddenGates, const TensorView* gradHx) {
  KD_DISPATCH_FLOAT(hx.dtype, "gruCellBackward",
                    gruCellBackwardTyped<scalar_t>(gradHy, hx, workspace, gradInputGates, gradHiddenGates, gradHx));
}

}  // namespace kd
