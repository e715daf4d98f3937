// Native reliability runner: the nn and optimizer kernels on edge-case
// shapes (empty batches, 1x1 images, kernels wider than the input with
// padding, groups, dilation, ignored targets), checked against naive
// loops, and the thread pool and the global generator driven from several
// threads at once, as Node worker_threads drive them.
//
// Built by CMakeLists.txt (KINDLING_SANITIZE=ON builds it with ASan and
// UBSan; KINDLING_TSAN=ON with ThreadSanitizer) and run by
// scripts/sanitize.sh. By hand:
//
//   g++ -std=c++17 -O1 -g -fsanitize=address,undefined -pthread -Inative/cpu native/tests/runner.cc
//       native/cpu/*.cc -o /tmp/kd_runner && /tmp/kd_runner
//
// (add -DKD_WITH_OPENBLAS ... -lopenblas to test the BLAS path of matmul).
// Exit status 0 when every check passed; each failure prints one line.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kernels.h"
#include "nn_kernels.h"
#include "optim_kernels.h"
#include "parallel.h"

using namespace kd;

namespace {

int gFailures = 0;
int gChecks = 0;

void fail(const std::string& what) {
  ++gFailures;
  if (gFailures <= 50) std::fprintf(stderr, "FAIL: %s\n", what.c_str());
}

void check(bool ok, const std::string& what) {
  ++gChecks;
  if (!ok) fail(what);
}

// A contiguous buffer with a view on it. Each buffer is its own heap block,
// so ASan sees any read or write past its end.
template <typename T>
struct Buf {
  std::vector<T> v;
  TensorView view;
  Buf(std::vector<int64_t> shape, DType dt) {
    int64_t n = 1;
    for (auto s : shape) n *= s;
    v.assign(static_cast<size_t>(n), T(0));
    view.data = v.empty() ? nullptr : v.data();
    view.dtype = dt;
    view.ndim = static_cast<int>(shape.size());
    int64_t st = 1;
    for (int d = view.ndim - 1; d >= 0; --d) {
      view.shape[d] = shape[d];
      view.strides[d] = st;
      st *= shape[d];
    }
  }
  T& operator[](int64_t i) { return v[static_cast<size_t>(i)]; }
  int64_t size() const { return static_cast<int64_t>(v.size()); }
};

template <typename T>
DType dtypeOf();
template <>
DType dtypeOf<float>() {
  return DType::Float32;
}
template <>
DType dtypeOf<double>() {
  return DType::Float64;
}

template <typename T>
double tolFor() {
  return std::is_same<T, float>::value ? 2e-4 : 1e-10;
}

template <typename T>
bool close(double got, double want) {
  if (std::isnan(want)) return std::isnan(got);
  if (got == want) return true;  // infinities too
  return std::fabs(got - want) <= tolFor<T>() * (1.0 + std::fabs(want));
}

std::mt19937_64 gRng(12345);
double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(gRng); }
int64_t pick(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(gRng); }

template <typename T>
void fillRandom(Buf<T>& b) {
  for (auto& x : b.v) x = static_cast<T>(uniform(-1, 1));
}

// Runs fn and reports whether it threw a KernelError (the only exception a
// kernel may throw on bad data).
template <typename F>
bool throwsKernelError(F&& fn) {
  try {
    fn();
  } catch (const KernelError&) {
    return true;
  }
  return false;
}

// ---- conv2d ---------------------------------------------------------------------

struct ConvCase {
  int64_t N, C, H, W, OC, KH, KW, groups;
  Conv2dParams p;
  int64_t OH, OW;
};

ConvCase randomConv() {
  for (;;) {
    ConvCase c{};
    c.groups = pick(1, 3);
    c.C = c.groups * pick(1, 3);
    c.OC = c.groups * pick(1, 3);
    c.N = pick(0, 3);
    c.H = pick(1, 9);
    c.W = pick(1, 9);
    c.KH = pick(1, 4);
    c.KW = pick(1, 4);
    c.p.strideH = pick(1, 3);
    c.p.strideW = pick(1, 3);
    c.p.padH = pick(0, 3);
    c.p.padW = pick(0, 3);
    c.p.dilationH = pick(1, 3);
    c.p.dilationW = pick(1, 3);
    c.p.groups = c.groups;
    const int64_t effH = c.p.dilationH * (c.KH - 1) + 1, effW = c.p.dilationW * (c.KW - 1) + 1;
    if (c.H + 2 * c.p.padH < effH || c.W + 2 * c.p.padW < effW) continue;
    c.OH = (c.H + 2 * c.p.padH - effH) / c.p.strideH + 1;
    c.OW = (c.W + 2 * c.p.padW - effW) / c.p.strideW + 1;
    return c;
  }
}

template <typename T>
void testConv(int iterations) {
  const DType dt = dtypeOf<T>();
  for (int it = 0; it < iterations; ++it) {
    const ConvCase c = randomConv();
    const int64_t Cg = c.C / c.groups, OCg = c.OC / c.groups;
    Buf<T> x({c.N, c.C, c.H, c.W}, dt), w({c.OC, Cg, c.KH, c.KW}, dt), b({c.OC}, dt), out({c.N, c.OC, c.OH, c.OW}, dt);
    fillRandom(x);
    fillRandom(w);
    fillRandom(b);
    const bool withBias = it % 2 == 0;
    conv2d(x.view, w.view, withBias ? &b.view : nullptr, c.p, out.view);
    // The naive sums, forward and backward at once.
    Buf<T> gy({c.N, c.OC, c.OH, c.OW}, dt), gx({c.N, c.C, c.H, c.W}, dt), gw({c.OC, Cg, c.KH, c.KW}, dt),
        gb({c.OC}, dt);
    fillRandom(gy);
    std::vector<double> wantGx(x.v.size(), 0.0), wantGw(w.v.size(), 0.0), wantGb(b.v.size(), 0.0);
    bool ok = true;
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t oc = 0; oc < c.OC; ++oc) {
        const int64_t g = oc / OCg;
        for (int64_t oh = 0; oh < c.OH; ++oh)
          for (int64_t ow = 0; ow < c.OW; ++ow) {
            const int64_t o = ((n * c.OC + oc) * c.OH + oh) * c.OW + ow;
            double s = withBias ? static_cast<double>(b[oc]) : 0.0;
            const double g1 = gy[o];
            wantGb[oc] += g1;
            for (int64_t ci = 0; ci < Cg; ++ci)
              for (int64_t kh = 0; kh < c.KH; ++kh)
                for (int64_t kw = 0; kw < c.KW; ++kw) {
                  const int64_t ih = oh * c.p.strideH - c.p.padH + kh * c.p.dilationH;
                  const int64_t iw = ow * c.p.strideW - c.p.padW + kw * c.p.dilationW;
                  if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
                  const int64_t xi = ((n * c.C + g * Cg + ci) * c.H + ih) * c.W + iw;
                  const int64_t wi = ((oc * Cg + ci) * c.KH + kh) * c.KW + kw;
                  s += static_cast<double>(x[xi]) * w[wi];
                  wantGx[xi] += g1 * w[wi];
                  wantGw[wi] += g1 * x[xi];
                }
            if (!close<T>(out[o], s)) ok = false;
          }
      }
    const std::string tag = "conv2d case " + std::to_string(it) + " N=" + std::to_string(c.N) +
                            " C=" + std::to_string(c.C) + " H=" + std::to_string(c.H) + " W=" + std::to_string(c.W) +
                            " OC=" + std::to_string(c.OC) + " K=" + std::to_string(c.KH) + "x" + std::to_string(c.KW) +
                            " g=" + std::to_string(c.groups);
    check(ok, tag + " forward");
    conv2dBackward(gy.view, x.view, w.view, c.p, &gx.view, &gw.view, &gb.view);
    bool okx = true, okw = true, okb = true;
    for (int64_t i = 0; i < gx.size(); ++i) okx = okx && close<T>(gx[i], wantGx[i]);
    for (int64_t i = 0; i < gw.size(); ++i) okw = okw && close<T>(gw[i], wantGw[i]);
    for (int64_t i = 0; i < gb.size(); ++i) okb = okb && close<T>(gb[i], wantGb[i]);
    check(okx, tag + " grad input");
    check(okw, tag + " grad weight");
    check(okb, tag + " grad bias");
    // Only some gradients wanted: the others are never touched.
    conv2dBackward(gy.view, x.view, w.view, c.p, nullptr, &gw.view, nullptr);
    conv2dBackward(gy.view, x.view, w.view, c.p, &gx.view, nullptr, nullptr);
  }
}

// ---- pooling --------------------------------------------------------------------

template <typename T>
void testPools(int iterations) {
  const DType dt = dtypeOf<T>();
  for (int it = 0; it < iterations; ++it) {
    Pool2dParams p;
    const int64_t P = pick(0, 4), H = pick(1, 8), W = pick(1, 8);
    p.kernelH = pick(1, std::min<int64_t>(H + 1, 4));
    p.kernelW = pick(1, std::min<int64_t>(W + 1, 4));
    p.strideH = pick(1, 3);
    p.strideW = pick(1, 3);
    p.padH = pick(0, p.kernelH / 2);
    p.padW = pick(0, p.kernelW / 2);
    const bool ceilMode = it % 3 == 0;
    auto outSize = [&](int64_t in, int64_t k, int64_t s, int64_t pad, int64_t d) {
      const int64_t span = in + 2 * pad - d * (k - 1) - 1;
      if (span < 0) return int64_t(0);
      int64_t o = (ceilMode ? (span + s - 1) / s : span / s) + 1;
      // PyTorch: the last window must start inside the input or left padding.
      if (ceilMode && (o - 1) * s >= in + pad) --o;
      return o;
    };
    // max pool, with dilation
    p.dilationH = pick(1, 2);
    p.dilationW = pick(1, 2);
    const int64_t OH = outSize(H, p.kernelH, p.strideH, p.padH, p.dilationH);
    const int64_t OW = outSize(W, p.kernelW, p.strideW, p.padW, p.dilationW);
    if (OH <= 0 || OW <= 0) continue;
    Buf<T> x({P, H, W}, dt), out({P, OH, OW}, dt), gy({P, OH, OW}, dt), gx({P, H, W}, dt);
    Buf<int64_t> idx({P, OH, OW}, DType::Int64);
    fillRandom(x);
    fillRandom(gy);
    if (it % 4 == 1 && x.size() > 0) x[pick(0, x.size() - 1)] = std::numeric_limits<T>::quiet_NaN();
    maxPool2d(x.view, p, out.view, idx.view);
    bool ok = true, emptyWindow = false;
    std::vector<double> wantGx(x.v.size(), 0.0);
    for (int64_t q = 0; q < P; ++q)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double best = -INFINITY;
          int64_t at = -1;
          for (int64_t kh = 0; kh < p.kernelH; ++kh)
            for (int64_t kw = 0; kw < p.kernelW; ++kw) {
              const int64_t ih = oh * p.strideH - p.padH + kh * p.dilationH;
              const int64_t iw = ow * p.strideW - p.padW + kw * p.dilationW;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              const double v = x[(q * H + ih) * W + iw];
              if (at < 0 || v > best || (std::isnan(v) && !std::isnan(best))) {
                best = v;
                at = ih * W + iw;
              }
            }
          const int64_t o = (q * OH + oh) * OW + ow;
          if (at >= 0) wantGx[q * H * W + at] += gy[o];
          // A window that dilation places wholly in the padding holds no
          // element: PyTorch's value is -inf and its index points past the
          // window, so only the value is compared there.
          if (at < 0) emptyWindow = true;
          if (!close<T>(out[o], best) || (at >= 0 && idx[o] != at)) {
            if (ok)
              std::fprintf(stderr, "  maxPool2d mismatch at plane %lld (%lld, %lld): got %g at %lld, want %g at %lld\n",
                           (long long)q, (long long)oh, (long long)ow, (double)out[o], (long long)idx[o], best,
                           (long long)at);
            ok = false;
          }
        }
    const std::string tag = "maxPool2d case " + std::to_string(it) + " P=" + std::to_string(P) +
                            " H=" + std::to_string(H) + " W=" + std::to_string(W) + " k=" + std::to_string(p.kernelH) +
                            "x" + std::to_string(p.kernelW);
    check(ok, tag + " forward");
    if (emptyWindow) {
      // Its index may lie outside the plane; the backward must refuse it
      // rather than write there (or accept it if it happens to be inside).
      throwsKernelError([&] { maxPool2dBackward(gy.view, idx.view, gx.view); });
    } else {
      maxPool2dBackward(gy.view, idx.view, gx.view);
      bool okg = true;
      for (int64_t i = 0; i < gx.size(); ++i) okg = okg && close<T>(gx[i], wantGx[i]);
      check(okg, tag + " backward");
    }
    // A corrupted index is refused, not followed out of the plane.
    if (idx.size() > 0) {
      idx[0] = H * W + 5;
      check(throwsKernelError([&] { maxPool2dBackward(gy.view, idx.view, gx.view); }), tag + " bad index refused");
      idx[0] = -1;
      check(throwsKernelError([&] { maxPool2dBackward(gy.view, idx.view, gx.view); }), tag + " negative index refused");
    }

    // avg pool (no dilation), every divisor rule
    p.dilationH = p.dilationW = 1;
    const int64_t AH = outSize(H, p.kernelH, p.strideH, p.padH, 1), AW = outSize(W, p.kernelW, p.strideW, p.padW, 1);
    if (AH <= 0 || AW <= 0) continue;
    for (int rule = 0; rule < 3; ++rule) {
      const bool includePad = rule == 1;
      const int64_t divisor = rule == 2 ? pick(1, 5) : 0;
      Buf<T> a({P, AH, AW}, dt), ga({P, AH, AW}, dt), gxa({P, H, W}, dt);
      fillRandom(ga);
      avgPool2d(x.view, p, includePad, divisor, a.view);
      std::vector<double> wantG(x.v.size(), 0.0);
      bool oka = true;
      for (int64_t q = 0; q < P; ++q)
        for (int64_t oh = 0; oh < AH; ++oh)
          for (int64_t ow = 0; ow < AW; ++ow) {
            int64_t h0 = oh * p.strideH - p.padH, w0 = ow * p.strideW - p.padW;
            int64_t h1 = std::min(h0 + p.kernelH, H + p.padH), w1 = std::min(w0 + p.kernelW, W + p.padW);
            const int64_t poolSize = (h1 - h0) * (w1 - w0);
            h0 = std::max<int64_t>(h0, 0);
            w0 = std::max<int64_t>(w0, 0);
            h1 = std::min(h1, H);
            w1 = std::min(w1, W);
            const int64_t div = divisor > 0 ? divisor : includePad ? poolSize : (h1 - h0) * (w1 - w0);
            double s = 0;
            for (int64_t ih = h0; ih < h1; ++ih)
              for (int64_t iw = w0; iw < w1; ++iw) s += x[(q * H + ih) * W + iw];
            const int64_t o = (q * AH + oh) * AW + ow;
            const double want = div > 0 ? s / static_cast<double>(div) : NAN;
            if (div > 0) {
              for (int64_t ih = h0; ih < h1; ++ih)
                for (int64_t iw = w0; iw < w1; ++iw) wantG[(q * H + ih) * W + iw] += ga[o] / static_cast<double>(div);
            }
            if (div > 0 && !close<T>(a[o], want)) oka = false;
          }
      check(oka, tag + " avgPool2d rule " + std::to_string(rule));
      avgPool2dBackward(ga.view, p, includePad, divisor, gxa.view);
      bool okga = true;
      for (int64_t i = 0; i < gxa.size(); ++i) okga = okga && close<T>(gxa[i], wantG[i]);
      check(okga, tag + " avgPool2dBackward rule " + std::to_string(rule));
    }

    // adaptive average pool to every size from 1 to a bit above the input
    const int64_t OHa = pick(1, H + 2), OWa = pick(1, W + 2);
    Buf<T> ad({P, OHa, OWa}, dt), gad({P, OHa, OWa}, dt), gxad({P, H, W}, dt);
    fillRandom(gad);
    adaptiveAvgPool2d(x.view, ad.view);
    adaptiveAvgPool2dBackward(gad.view, gxad.view);
    bool okad = true, okgad = true;
    std::vector<double> wantGad(x.v.size(), 0.0);
    for (int64_t q = 0; q < P; ++q)
      for (int64_t i = 0; i < OHa; ++i)
        for (int64_t j = 0; j < OWa; ++j) {
          const int64_t h0 = i * H / OHa, h1 = ((i + 1) * H + OHa - 1) / OHa;
          const int64_t w0 = j * W / OWa, w1 = ((j + 1) * W + OWa - 1) / OWa;
          double s = 0;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) s += x[(q * H + ih) * W + iw];
          const double cnt = static_cast<double>((h1 - h0) * (w1 - w0));
          const int64_t o = (q * OHa + i) * OWa + j;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) wantGad[(q * H + ih) * W + iw] += gad[o] / cnt;
          if (!close<T>(ad[o], s / cnt)) okad = false;
        }
    for (int64_t i = 0; i < gxad.size(); ++i) okgad = okgad && close<T>(gxad[i], wantGad[i]);
    check(okad, tag + " adaptiveAvgPool2d");
    check(okgad, tag + " adaptiveAvgPool2dBackward");
  }
}

// ---- batch norm -------------------------------------------------------------------

template <typename T>
void testBatchNorm(int iterations) {
  const DType dt = dtypeOf<T>();
  for (int it = 0; it < iterations; ++it) {
    const int64_t N = pick(1, 4), C = pick(1, 5), S = pick(1, 6);
    const bool training = it % 3 != 2;
    Buf<T> x({N, C, S}, dt), w({C}, dt), b({C}, dt), rm({C}, dt), rv({C}, dt), out({N, C, S}, dt), sm({C}, dt),
        si({C}, dt);
    fillRandom(x);
    fillRandom(w);
    fillRandom(b);
    for (auto& v : rv.v) v = static_cast<T>(uniform(0.5, 2));
    const double eps = 1e-5, momentum = 0.1;
    std::vector<double> mean(C), var(C), rmBefore(rm.v.begin(), rm.v.end()), rvBefore(rv.v.begin(), rv.v.end());
    for (int64_t c = 0; c < C; ++c) {
      double s = 0, s2 = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < S; ++k) s += x[(n * C + c) * S + k];
      mean[c] = s / static_cast<double>(N * S);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < S; ++k) s2 += std::pow(x[(n * C + c) * S + k] - mean[c], 2);
      var[c] = s2 / static_cast<double>(N * S);
    }
    if (training && N * S == 1) {
      // One value per channel: PyTorch refuses ("Expected more than 1 value per channel"); the TS layer
      // checks that, the kernel must at least stay in bounds.
    }
    batchNorm(x.view, &w.view, &b.view, &rm.view, &rv.view, training, momentum, eps, out.view, sm.view, si.view);
    bool ok = true, okRunning = true;
    for (int64_t c = 0; c < C; ++c) {
      const double m = training ? mean[c] : rmBefore[c];
      const double v = training ? var[c] : rvBefore[c];
      const double inv = 1.0 / std::sqrt(v + eps);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < S; ++k) {
          const int64_t i = (n * C + c) * S + k;
          if (!close<T>(out[i], (x[i] - m) * inv * w[c] + b[c])) ok = false;
        }
      if (training && N * S > 1) {
        const double unbiased = var[c] * static_cast<double>(N * S) / static_cast<double>(N * S - 1);
        if (!close<T>(rm[c], (1 - momentum) * rmBefore[c] + momentum * mean[c])) okRunning = false;
        if (!close<T>(rv[c], (1 - momentum) * rvBefore[c] + momentum * unbiased)) okRunning = false;
      }
    }
    const std::string tag = "batchNorm case " + std::to_string(it) + " N=" + std::to_string(N) +
                            " C=" + std::to_string(C) + " S=" + std::to_string(S) + (training ? " train" : " eval");
    check(ok, tag + " forward");
    check(okRunning, tag + " running stats");
    Buf<T> gy({N, C, S}, dt), gx({N, C, S}, dt), gw({C}, dt), gb({C}, dt);
    fillRandom(gy);
    batchNormBackward(gy.view, x.view, &w.view, sm.view, si.view, training, &gx.view, &gw.view, &gb.view);
    bool okb = true;
    for (int64_t c = 0; c < C; ++c) {
      double sg = 0, sgx = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < S; ++k) {
          const int64_t i = (n * C + c) * S + k;
          sg += gy[i];
          sgx += gy[i] * (x[i] - static_cast<double>(sm[c])) * si[c];
        }
      if (!close<T>(gb[c], sg) || !close<T>(gw[c], sgx)) okb = false;
    }
    for (auto v : gx.v) okb = okb && std::isfinite(static_cast<double>(v));
    check(okb, tag + " backward");
    // Evaluation without running statistics is refused, not dereferenced.
    check(throwsKernelError([&] {
            batchNorm(x.view, nullptr, nullptr, nullptr, nullptr, false, momentum, eps, out.view, sm.view, si.view);
          }),
          tag + " eval without running stats refused");
  }
}

// ---- nll / cross entropy ----------------------------------------------------------

template <typename T>
void testNll(int iterations) {
  const DType dt = dtypeOf<T>();
  for (int it = 0; it < iterations; ++it) {
    const int64_t N = pick(0, 4), C = pick(1, 6), D = pick(1, 3);
    NllParams p;
    p.logits = it % 2 == 0;
    p.reduction = static_cast<Reduction>(it % 3);
    p.ignoreIndex = it % 5 == 0 ? 1 : -100;
    p.labelSmoothing = it % 4 == 3 ? 0.1 : 0.0;
    const bool weighted = it % 3 == 1;
    Buf<T> x({N, C, D}, dt), w({C}, dt), lse({N, D}, dt), tw({1}, dt);
    Buf<int64_t> t({N, D}, DType::Int64);
    fillRandom(x);
    for (auto& v : w.v) v = static_cast<T>(uniform(0.1, 2));
    for (auto& v : t.v) v = pick(0, C - 1);
    const bool none = p.reduction == Reduction::None;
    Buf<T> out(none ? std::vector<int64_t>{N, D} : std::vector<int64_t>{1}, dt);
    nllLoss(x.view, t.view, weighted ? &w.view : nullptr, p, out.view, p.logits ? &lse.view : nullptr, tw.view);
    const std::string tag =
        "nllLoss case " + std::to_string(it) + " N=" + std::to_string(N) + " C=" + std::to_string(C) +
        " D=" + std::to_string(D) + (p.logits ? " logits" : " logprobs") +
        " red=" + std::to_string(static_cast<int>(p.reduction)) + " ls=" + std::to_string(p.labelSmoothing);
    if (p.labelSmoothing == 0) {
      double total = 0, totalW = 0;
      bool ok = true;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t d = 0; d < D; ++d) {
          const int64_t tg = t[n * D + d];
          double li = 0, wi = 0;
          if (tg != p.ignoreIndex) {
            double logp = x[(n * C + tg) * D + d];
            if (p.logits) {
              double mx = -INFINITY, s = 0;
              for (int64_t c = 0; c < C; ++c) mx = std::max<double>(mx, x[(n * C + c) * D + d]);
              for (int64_t c = 0; c < C; ++c) s += std::exp(x[(n * C + c) * D + d] - mx);
              logp -= mx + std::log(s);
            }
            wi = weighted ? static_cast<double>(w[tg]) : 1.0;
            li = -wi * logp;
          }
          total += li;
          totalW += wi;
          if (none && !close<T>(out[n * D + d], li)) ok = false;
        }
      if (p.reduction == Reduction::Sum) ok = close<T>(out[0], total);
      if (p.reduction == Reduction::Mean) ok = close<T>(out[0], total / totalW);
      check(ok, tag + " forward");
    }
    Buf<T> gy(none ? std::vector<int64_t>{N, D} : std::vector<int64_t>{1}, dt), gx({N, C, D}, dt);
    fillRandom(gy);
    nllLossBackward(gy.view, x.view, t.view, weighted ? &w.view : nullptr, p, p.logits ? &lse.view : nullptr,
                    static_cast<double>(tw[0]), gx.view);
    // A target out of range is refused, whichever row it is in.
    if (t.size() > 0) {
      t[pick(0, t.size() - 1)] = it % 2 ? C : -3;
      check(throwsKernelError([&] {
              nllLoss(x.view, t.view, weighted ? &w.view : nullptr, p, out.view, p.logits ? &lse.view : nullptr,
                      tw.view);
            }),
            tag + " bad target refused");
      check(throwsKernelError([&] {
              nllLossBackward(gy.view, x.view, t.view, weighted ? &w.view : nullptr, p, p.logits ? &lse.view : nullptr,
                              1.0, gx.view);
            }),
            tag + " bad target refused in backward");
    }
  }
}

// ---- optimizers --------------------------------------------------------------------

template <typename T>
void testOptim() {
  const DType dt = dtypeOf<T>();
  for (int64_t n : {0, 1, 7, 33, 1000, 70000}) {
    Buf<T> p({n}, dt), g({n}, dt), m({n}, dt), v({n}, dt), mx({n}, dt);
    fillRandom(p);
    fillRandom(g);
    std::vector<double> before(p.v.begin(), p.v.end());
    auto fresh = [&] {
      for (auto* b : {&m, &v, &mx}) std::fill(b->v.begin(), b->v.end(), T(0));
    };
    SgdParams s;
    s.lr = 0.1;
    sgdStep(p.view, g.view, nullptr, s);
    bool ok = true;
    for (int64_t i = 0; i < n; ++i) ok = ok && close<T>(p[i], before[i] - 0.1 * static_cast<double>(g[i]));
    check(ok, "sgdStep n=" + std::to_string(n));
    s.momentum = 0.9;
    s.initBuffer = true;
    sgdStep(p.view, g.view, &m.view, s);
    s.initBuffer = false;
    s.nesterov = true;
    sgdStep(p.view, g.view, &m.view, s);
    check(throwsKernelError([&] { sgdStep(p.view, g.view, nullptr, s); }) || n == 0, "sgdStep without buffer refused");
    fresh();
    AdamParams a;
    a.lr = 1e-3;
    a.beta1 = 0.9;
    a.beta2 = 0.999;
    a.eps = 1e-8;
    a.amsgrad = true;
    for (int step = 1; step <= 3; ++step) {
      a.step = step;
      adamStep(p.view, g.view, m.view, v.view, &mx.view, a);
    }
    a.amsgrad = false;
    a.decoupled = true;
    a.weightDecay = 0.01;
    adamStep(p.view, g.view, m.view, v.view, nullptr, a);
    fresh();
    RmspropParams r;
    r.lr = 1e-2;
    r.alpha = 0.99;
    r.eps = 1e-8;
    r.momentum = 0.5;
    rmspropStep(p.view, g.view, v.view, &m.view, &mx.view, r);
    fresh();
    AdagradParams ad;
    ad.clr = 0.01;
    ad.eps = 1e-10;
    adagradStep(p.view, g.view, v.view, ad);
    bool finite = true;
    for (auto x : p.v) finite = finite && std::isfinite(static_cast<double>(x));
    check(finite, "optimizers keep finite parameters n=" + std::to_string(n));
    // A state buffer of the wrong size is refused.
    if (n > 1) {
      Buf<T> shortBuf({n - 1}, dt);
      check(throwsKernelError([&] { adagradStep(p.view, g.view, shortBuf.view, ad); }),
            "adagradStep short state refused");
      check(throwsKernelError([&] { adamStep(p.view, g.view, shortBuf.view, v.view, nullptr, a); }),
            "adamStep short state refused");
    }
  }
}

// ---- threads -------------------------------------------------------------------------

// Several threads run parallel kernels at once (as worker_threads do) while
// another changes the thread count: every result must equal the one made
// alone, and nothing may deadlock.
void testConcurrentKernels() {
  const int64_t n = 1 << 18;
  Buf<float> x({n}, DType::Float32);
  fillRandom(x);
  Buf<float> want({n}, DType::Float32);
  unary(UnaryOp::Exp, x.view, want.view);
  const int64_t M = 96;
  Buf<float> a({1, M, M}, DType::Float32), b({1, M, M}, DType::Float32), wantMm({1, M, M}, DType::Float32);
  fillRandom(a);
  fillRandom(b);
  matmul(a.view, b.view, wantMm.view);
  Buf<double> big({4, 1 << 14}, DType::Float64), wantSum({4, 1}, DType::Float64);
  fillRandom(big);
  reduce(ReduceOp::Sum, big.view, {false, true}, 1, wantSum.view);

  std::atomic<int> mismatches{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 30; ++round) {
        if (t % 3 == 0) {
          Buf<float> out({n}, DType::Float32);
          unary(UnaryOp::Exp, x.view, out.view);
          if (std::memcmp(out.v.data(), want.v.data(), n * sizeof(float)) != 0) ++mismatches;
        } else if (t % 3 == 1) {
          Buf<float> out({1, M, M}, DType::Float32);
          matmul(a.view, b.view, out.view);
          for (int64_t i = 0; i < out.size(); ++i)
            if (std::fabs(out[i] - wantMm[i]) > 1e-4f * (1 + std::fabs(wantMm[i]))) {
              ++mismatches;
              break;
            }
        } else {
          Buf<double> out({4, 1}, DType::Float64);
          reduce(ReduceOp::Sum, big.view, {false, true}, 1, out.view);
          for (int i = 0; i < 4; ++i)
            if (std::fabs(out[i] - wantSum[i]) > 1e-9 * (1 + std::fabs(wantSum[i]))) ++mismatches;
        }
      }
    });
  }
  std::thread changer([&] {
    int k = 0;
    while (!stop.load()) {
      setNumThreads(1 + (k++ % 4));
      std::this_thread::yield();
    }
  });
  for (auto& th : threads) th.join();
  stop = true;
  changer.join();
  setNumThreads(static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  check(mismatches.load() == 0, "concurrent kernels from 4 threads match the results made alone (" +
                                    std::to_string(mismatches.load()) + " mismatches)");

  // An exception thrown in one chunk of a parallel job reaches its caller,
  // while other threads run their own jobs, and the pool stays usable.
  std::atomic<int> caught{0};
  std::vector<std::thread> throwers;
  for (int t = 0; t < 3; ++t) {
    throwers.emplace_back([&, t] {
      for (int r = 0; r < 20; ++r) {
        try {
          parallelFor(0, 1 << 16, 1, [&](int64_t b0, int64_t) {
            if (b0 == 0 && (t + r) % 2 == 0) throw KernelError("boom");
          });
        } catch (const KernelError&) {
          ++caught;
        }
      }
    });
  }
  for (auto& th : throwers) th.join();
  check(caught.load() == 30,
        "exceptions in parallel chunks reach their callers (" + std::to_string(caught.load()) + " of 30)");
}

// The global generator shared by threads: fills made at the same time must
// each take their own run of the stream, so together they hold exactly the
// values one serial fill of the same total size makes.
void testConcurrentRandom() {
  const int64_t each = 1 << 16;  // above the parallel fill grain, so the fills themselves are parallel
  const int threads = 4;
  manualSeed(42);
  Buf<double> serial({threads * each}, DType::Float64);
  uniform(serial.view, 0, 1);
  std::vector<double> want(serial.v.begin(), serial.v.end());
  std::sort(want.begin(), want.end());

  manualSeed(42);
  std::vector<Buf<double>> outs;
  for (int t = 0; t < threads; ++t) outs.emplace_back(std::vector<int64_t>{each}, DType::Float64);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) ts.emplace_back([&, t] { uniform(outs[t].view, 0, 1); });
  for (auto& th : ts) th.join();
  std::vector<double> got;
  for (auto& o : outs) got.insert(got.end(), o.v.begin(), o.v.end());
  std::sort(got.begin(), got.end());
  check(got == want, "concurrent uniform fills split one stream without overlap");

  // Mixed samplers and reseeding from several threads: no crash, values in range.
  std::atomic<int> bad{0};
  std::vector<std::thread> mixed;
  for (int t = 0; t < threads; ++t) {
    mixed.emplace_back([&, t] {
      for (int r = 0; r < 50; ++r) {
        Buf<int64_t> ri({257}, DType::Int64);
        randint(ri.view, -5, 5);
        for (auto v : ri.v)
          if (v < -5 || v >= 5) ++bad;
        Buf<int64_t> perm({100}, DType::Int64);
        randperm(perm.view);
        std::vector<int64_t> s(perm.v);
        std::sort(s.begin(), s.end());
        for (int64_t i = 0; i < 100; ++i)
          if (s[i] != i) {
            ++bad;
            break;
          }
        Buf<float> nrm({4099}, DType::Float32);
        normal(nrm.view, 0, 1);
        for (auto v : nrm.v)
          if (!std::isfinite(v)) ++bad;
        if (t == 0 && r % 10 == 0) manualSeed(static_cast<uint64_t>(r));
      }
    });
  }
  for (auto& th : mixed) th.join();
  check(bad.load() == 0, "concurrent randint/randperm/normal with reseeding stay valid");
}

// ---- elementwise and reductions on edge layouts ---------------------------------------

// Every unary op, from the op list itself (a new op is covered without an edit here).
#define KD_COUNT_OP(name) +1
constexpr int kNumUnaryOps = 0 KD_UNARY_OPS(KD_COUNT_OP);
#undef KD_COUNT_OP

void testEdgeLayouts() {
  // Zero-size outputs with non-null and null data pointers, every kernel family.
  for (int64_t zeroDim = 0; zeroDim < 3; ++zeroDim) {
    std::vector<int64_t> shape{3, 4, 5};
    shape[zeroDim] = 0;
    Buf<float> x(shape, DType::Float32), y(shape, DType::Float32), o(shape, DType::Float32);
    for (int op = 0; op < kNumUnaryOps; ++op) {
      TensorView out = o.view;
      if (op == static_cast<int>(UnaryOp::IsNan) || op == static_cast<int>(UnaryOp::LogicalNot))
        out.dtype = DType::Bool;
      unary(static_cast<UnaryOp>(op), x.view, out);
    }
    binary(BinaryOp::Add, x.view, y.view, o.view);
    copy(x.view, o.view);
    fill(o.view, 3);
    std::vector<int64_t> kshape = shape;
    kshape[2] = 1;
    Buf<float> r(kshape, DType::Float32);
    reduce(ReduceOp::Sum, x.view, {false, false, true}, 1, r.view);
    if (shape[0] * shape[1] > 0)
      for (auto v : r.v) check(v == 0, "sum over an empty dim is 0");
    Buf<float> sm(shape, DType::Float32);
    softmax(x.view, 2, false, sm.view);
  }
  // Negative strides: the view reads a reversed buffer.
  Buf<double> base({10}, DType::Float64);
  for (int i = 0; i < 10; ++i) base[i] = i;
  TensorView rev = base.view;
  rev.data = base.v.data() + 9;
  rev.strides[0] = -1;
  Buf<double> out({10}, DType::Float64);
  copy(rev, out.view);
  bool ok = true;
  for (int i = 0; i < 10; ++i) ok = ok && out[i] == 9 - i;
  check(ok, "copy through a negative stride");
  // Index kernels refuse indices out of range instead of reading past the end.
  Buf<float> src({4, 3}, DType::Float32), dst({2, 3}, DType::Float32);
  Buf<int64_t> idx({2}, DType::Int64);
  idx[0] = 1;
  idx[1] = 4;
  check(throwsKernelError([&] { indexSelect(src.view, 0, idx.view, dst.view); }), "indexSelect index 4 of 4 refused");
  idx[1] = -5;
  check(throwsKernelError([&] { indexSelect(src.view, 0, idx.view, dst.view); }), "indexSelect index -5 of 4 refused");
  Buf<int64_t> gidx({4, 3}, DType::Int64);
  gidx[5] = 3;
  Buf<float> gout({4, 3}, DType::Float32);
  check(throwsKernelError([&] { gather(src.view, 1, gidx.view, gout.view); }), "gather index 3 of 3 refused");
  check(throwsKernelError([&] { scatterAdd(gout.view, 1, gidx.view, src.view); }), "scatterAdd index 3 of 3 refused");
}

// Runs one group of checks; an exception escaping it is a failure of that
// group, not the end of the run.
void group(const char* name, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    fail(std::string(name) + ": unexpected exception: " + e.what());
  }
}

}  // namespace

int main() {
  const int iters = 60;
  group("conv2d float32", [&] { testConv<float>(iters); });
  group("conv2d float64", [&] { testConv<double>(iters / 2); });
  group("pools float32", [&] { testPools<float>(iters); });
  group("pools float64", [&] { testPools<double>(iters / 2); });
  group("batchNorm float32", [&] { testBatchNorm<float>(iters / 2); });
  group("batchNorm float64", [&] { testBatchNorm<double>(iters / 4); });
  group("nllLoss float32", [&] { testNll<float>(iters); });
  group("nllLoss float64", [&] { testNll<double>(iters / 2); });
  group("optimizers float32", [&] { testOptim<float>(); });
  group("optimizers float64", [&] { testOptim<double>(); });
  group("edge layouts", [&] { testEdgeLayouts(); });
  group("concurrent kernels", [&] { testConcurrentKernels(); });
  group("concurrent random", [&] { testConcurrentRandom(); });
  std::printf("kd_native_runner: %d checks, %d failures\n", gChecks, gFailures);
  return gFailures == 0 ? 0 : 1;
}
