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

// One batch row of the LSTM step. Each stream is its own restrict pointer, so
// the loop vectorises without run-time alias checks.
template <typename T>
inline void lstmRow(int64_t H, const T* __restrict xi, const T* __restrict xf, const T* __restrict xg,
                    const T* __restrict xo, const T* __restrict hi, const T* __restrict hf, const T* __restrict hg,
                    const T* __restrict ho, const T* __restrict c0, T* __restrict h1, T* __restrict c1,
                    T* __restrict wi, T* __restrict wf, T* __restrict wg, T* __restrict wo) {
  for (int64_t j = 0; j < H; ++j) {
    const T i = sigmoid<T>(hi[j] + xi[j]);
    const T f = sigmoid<T>(hf[j] + xf[j]);
    const T g = tanhOf<T>(hg[j] + xg[j]);
    const T o = sigmoid<T>(ho[j] + xo[j]);
    const T c = f * c0[j] + i * g;
    c1[j] = c;
    h1[j] = o * tanhOf<T>(c);
    wi[j] = i;
    wf[j] = f;
    wg[j] = g;
    wo[j] = o;
  }
}

template <typename T>
void lstmCellTyped(const TensorView& ig, const TensorView& hg, const TensorView& cx, const TensorView& hy,
                   const TensorView& cy, const TensorView& ws) {
  const int64_t B = cx.shape[0], H = cx.shape[1];
  const T *pi = ig.ptr<T>(), *ph = hg.ptr<T>(), *pc = cx.ptr<T>();
  T *phy = hy.ptr<T>(), *pcy = cy.ptr<T>(), *pw = ws.ptr<T>();
  forRows<T>(B, H, [&](int64_t b) {
    const T *x = pi + b * 4 * H, *h = ph + b * 4 * H;
    T* w = pw + b * 4 * H;
    lstmRow<T>(H, x, x + H, x + 2 * H, x + 3 * H, h, h + H, h + 2 * H, h + 3 * H, pc + b * H, phy + b * H, pcy + b * H,
               w, w + H, w + 2 * H, w + 3 * H);
  });
}

template <typename T>
inline void lstmBackRow(int64_t H, const T* __restrict dh, const T* __restrict dcy, const T* __restrict c0,
                        const T* __restrict c1, const T* __restrict wi, const T* __restrict wf, const T* __restrict wg,
                        const T* __restrict wo, T* __restrict di, T* __restrict df, T* __restrict dg,
                        T* __restrict dout, T* __restrict dcx) {
  for (int64_t j = 0; j < H; ++j) {
    const T i = wi[j], f = wf[j], g = wg[j], o = wo[j];
    const T tc = tanhOf<T>(c1[j]);
    const T dc = dcy[j] + dh[j] * o * (T(1) - tc * tc);
    di[j] = dc * g * i * (T(1) - i);
    df[j] = dc * c0[j] * f * (T(1) - f);
    dg[j] = dc * i * (T(1) - g * g);
    dout[j] = dh[j] * tc * o * (T(1) - o);
    dcx[j] = dc * f;
  }
}

template <typename T>
void lstmCellBackwardTyped(const TensorView& gHy, const TensorView& gCy, const TensorView& cx, const TensorView& cy,
                           const TensorView& ws, const TensorView& gGates, const TensorView* gCx) {
  const int64_t B = cx.shape[0], H = cx.shape[1];
  const T *pgh = gHy.ptr<T>(), *pgc = gCy.ptr<T>(), *pc0 = cx.ptr<T>(), *pc1 = cy.ptr<T>(), *pw = ws.ptr<T>();
  T *pgg = gGates.ptr<T>(), *pgcx = gCx ? gCx->ptr<T>() : nullptr;
  forRows<T>(B, H, [&](int64_t b) {
    const T* w = pw + b * 4 * H;
    T* d = pgg + b * 4 * H;
    // Without a wanted gradCx, dc * f still goes somewhere: a row of scratch.
    T scratch[256];
    for (int64_t j0 = 0; j0 < H; j0 += 256) {
      const int64_t n = std::min<int64_t>(256, H - j0);
      T* dcx = pgcx ? pgcx + b * H + j0 : scratch;
      lstmBackRow<T>(n, pgh + b * H + j0, pgc + b * H + j0, pc0 + b * H + j0, pc1 + b * H + j0, w + j0, w + H + j0,
                     w + 2 * H + j0, w + 3 * H + j0, d + j0, d + H + j0, d + 2 * H + j0, d + 3 * H + j0, dcx);
    }
  });
}

// One batch row of the GRU step, every stream its own restrict pointer (see lstmRow).
template <typename T>
inline void gruRow(int64_t H, const T* __restrict xr, const T* __restrict xz, const T* __restrict xn,
                   const T* __restrict hr, const T* __restrict hz, const T* __restrict hn, const T* __restrict h0,
                   T* __restrict h1, T* __restrict wr, T* __restrict wz, T* __restrict wn, T* __restrict whn) {
  for (int64_t j = 0; j < H; ++j) {
    const T r = sigmoid<T>(hr[j] + xr[j]);
    const T z = sigmoid<T>(hz[j] + xz[j]);
    const T n = tanhOf<T>(xn[j] + hn[j] * r);
    h1[j] = (h0[j] - n) * z + n;
    wr[j] = r;
    wz[j] = z;
    wn[j] = n;
    whn[j] = hn[j];
  }
}

template <typename T>
void gruCellTyped(const TensorView& ig, const TensorView& hg, const TensorView& hx, const TensorView& hy,
                  const TensorView& ws) {
  const int64_t B = hx.shape[0], H = hx.shape[1];
  const T *pi = ig.ptr<T>(), *ph = hg.ptr<T>(), *p0 = hx.ptr<T>();
  T *p1 = hy.ptr<T>(), *pw = ws.ptr<T>();
  forRows<T>(B, H, [&](int64_t b) {
    const T *x = pi + b * 3 * H, *h = ph + b * 3 * H;
    T* w = pw + b * 4 * H;
    gruRow<T>(H, x, x + H, x + 2 * H, h, h + H, h + 2 * H, p0 + b * H, p1 + b * H, w, w + H, w + 2 * H, w + 3 * H);
  });
}

template <typename T>
inline void gruBackRow(int64_t H, const T* __restrict g, const T* __restrict h0, const T* __restrict wr,
                       const T* __restrict wz, const T* __restrict wn, const T* __restrict whn, T* __restrict dir,
                       T* __restrict diz, T* __restrict din, T* __restrict dhr, T* __restrict dhz, T* __restrict dhn,
                       T* __restrict dhx) {
  for (int64_t j = 0; j < H; ++j) {
    const T r = wr[j], z = wz[j], n = wn[j];
    const T dn = g[j] * (T(1) - z) * (T(1) - n * n);
    const T dz = g[j] * (h0[j] - n) * z * (T(1) - z);
    const T dr = dn * whn[j] * r * (T(1) - r);
    dir[j] = dr;
    diz[j] = dz;
    din[j] = dn;
    dhr[j] = dr;
    dhz[j] = dz;
    dhn[j] = dn * r;
    dhx[j] = g[j] * z;
  }
}

template <typename T>
void gruCellBackwardTyped(const TensorView& gHy, const TensorView& hx, const TensorView& ws, const TensorView& gIn,
                          const TensorView& gHid, const TensorView* gHx) {
  const int64_t B = hx.shape[0], H = hx.shape[1];
  const T *pg = gHy.ptr<T>(), *p0 = hx.ptr<T>(), *pw = ws.ptr<T>();
  T *pgi = gIn.ptr<T>(), *pgh = gHid.ptr<T>(), *pgx = gHx ? gHx->ptr<T>() : nullptr;
  forRows<T>(B, H, [&](int64_t b) {
    const T* w = pw + b * 4 * H;
    T *di = pgi + b * 3 * H, *dh = pgh + b * 3 * H;
    // Without a wanted gradHx, g * z still goes somewhere: a row of scratch.
    T scratch[256];
    for (int64_t j0 = 0; j0 < H; j0 += 256) {
      const int64_t n = std::min<int64_t>(256, H - j0);
      T* dhx = pgx ? pgx + b * H + j0 : scratch;
      gruBackRow<T>(n, pg + b * H + j0, p0 + b * H + j0, w + j0, w + H + j0, w + 2 * H + j0, w + 3 * H + j0, di + j0,
                    di + H + j0, di + 2 * H + j0, dh + j0, dh + H + j0, dh + 2 * H + j0, dhx);
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
