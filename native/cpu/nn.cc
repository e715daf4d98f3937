// nn kernels: im2col/col2im convolution, pooling, batch norm and the fused
// negative-log-likelihood / cross-entropy loss. See nn_kernels.h for the
// argument conventions (contiguous tensors, caller-allocated outputs).
#include "nn_kernels.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) || defined(__amd64__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "kernels.h"
#include "parallel.h"
#include "vec_math.h"

namespace kd {

namespace {

// relu(v) when asked (conv2d's fused epilogue): NaN and -0 pass through, as
// in the unary relu kernel.
template <typename T>
inline T reluIf(bool relu, T v) {
  return relu && v < T(0) ? T(0) : v;
}

// Note [Column chunks]: convolution unfolds a chunk of images into one
// column buffer [C*KH*KW, B*L] so a single GEMM covers the chunk. Images are
// grouped only until that GEMM is big enough to run efficiently (at least
// kTargetCols columns and kTargetMacs multiply-adds): small feature maps
// (7x7) or small kernels (a 1-channel first layer) still get one efficient
// GEMM for many images, while large layers go one image at a time, which
// needs no reordering of the output and keeps the buffer small. kColBudget
// caps the buffer whatever the shapes (a single image whose columns exceed
// it is still processed, alone). A pointwise (1x1, stride 1, unpadded)
// convolution processed one image at a time reads the image itself as its
// columns: no unfolding at all.
constexpr int64_t kTargetCols = 512;
constexpr int64_t kTargetMacs = int64_t(1) << 22;
constexpr int64_t kColBudget = int64_t(1) << 22;

// Below this many element operations a parallelFor task is not worth
// handing to another thread.
constexpr int64_t kGrainWork = int64_t(1) << 15;

int64_t grainFor(int64_t workPerItem) { return std::max<int64_t>(1, kGrainWork / std::max<int64_t>(workPerItem, 1)); }

// The sum of a plane of L values, as the bias gradient takes it per image
// and channel: eight partial sums (one chain of dependent adds made the
// loop latency-bound, 3% of the seed CNN's step), added pairwise.
template <typename T>
T planeSum(const T* r, int64_t L) {
  T part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t l = 0;
  for (; l + 8 <= L; l += 8)
    for (int k = 0; k < 8; ++k) part[k] += r[l + k];
  for (; l < L; ++l) part[0] += r[l];
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

TensorView view3(const void* data, DType dt, int64_t b, int64_t m, int64_t n, int64_t sb, int64_t sm, int64_t sn) {
  TensorView v;
  v.data = const_cast<void*>(data);
  v.dtype = dt;
  v.ndim = 3;
  v.shape[0] = b;
  v.shape[1] = m;
  v.shape[2] = n;
  v.strides[0] = sb;
  v.strides[1] = sm;
  v.strides[2] = sn;
  return v;
}

// ---------------------------------------------------------------------------
// convolution

struct ConvGeom {
  int64_t N, C, H, W, OC, KH, KW, OH, OW, G, Cg, OCg, Kg, K, L, HW;
};

// The geometry of x [N, C, H, W] -> y [N, OC, OH, OW] with KH x KW kernels
// in G groups; the other fields follow from these.
ConvGeom convGeom(int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t KH, int64_t KW, int64_t OH,
                  int64_t OW, int64_t G) {
  ConvGeom g{};
  g.N = N;
  g.C = C;
  g.H = H;
  g.W = W;
  g.OC = OC;
  g.KH = KH;
  g.KW = KW;
  g.OH = OH;
  g.OW = OW;
  g.G = G;
  g.Cg = g.C / g.G;
  g.OCg = g.OC / g.G;
  g.Kg = g.Cg * g.KH * g.KW;
  g.K = g.C * g.KH * g.KW;
  g.L = g.OH * g.OW;
  g.HW = g.H * g.W;
  return g;
}

ConvGeom convGeom(const TensorView& x, const TensorView& w, const TensorView& y, const Conv2dParams& p) {
  return convGeom(x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2], w.shape[3], y.shape[2],
                  y.shape[3], p.groups);
}

// 1x1 kernels with unit stride and no padding read the input as it is: the
// "columns" of an image are its [C, H*W] matrix (per group, [Cg, H*W]), so
// no unfolding is needed.
bool isPointwise(const ConvGeom& g, const Conv2dParams& p) {
  return g.KH == 1 && g.KW == 1 && p.strideH == 1 && p.strideW == 1 && p.padH == 0 && p.padW == 0 && g.OH == g.H &&
         g.OW == g.W;
}

// For kernel column offset `off` (= kj * dilation - pad), the output columns
// whose input column ow * stride + off lies inside [0, W).
inline void validRange(int64_t off, int64_t stride, int64_t W, int64_t OW, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
  hi = W - off <= 0 ? 0 : (W - off + stride - 1) / stride;
  lo = std::min(lo, OW);
  hi = std::min(std::max(hi, lo), OW);
}

// Unfolds images [B, C, H, W] into col [C*KH*KW, B*L]: row (c, ki, kj),
// column b*L + oh*OW + ow holds x[b, c, oh*s - pad + ki*d, ow*s - pad + kj*d]
// (0 outside the image).
template <typename T>
void im2col(const T* x, int64_t B, const ConvGeom& g, const Conv2dParams& p, T* col) {
  const int64_t BL = B * g.L;
  parallelFor(0, g.C * B, grainFor(g.KH * g.KW * g.L), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t c = t / B, b = t % B;
      const T* plane = x + (b * g.C + c) * g.HW;
      for (int64_t ki = 0; ki < g.KH; ++ki) {
        for (int64_t kj = 0; kj < g.KW; ++kj) {
          T* dst = col + ((c * g.KH + ki) * g.KW + kj) * BL + b * g.L;
          const int64_t off = kj * p.dilationW - p.padW;
          int64_t lo, hi;
          validRange(off, p.strideW, g.W, g.OW, lo, hi);
          for (int64_t oh = 0; oh < g.OH; ++oh) {
            T* d = dst + oh * g.OW;
            const int64_t ih = oh * p.strideH - p.padH + ki * p.dilationH;
            if (ih < 0 || ih >= g.H) {
              std::fill(d, d + g.OW, T(0));
              continue;
            }
            const T* row = plane + ih * g.W;
            std::fill(d, d + lo, T(0));
            if (p.strideW == 1) {
              if (hi > lo) std::memcpy(d + lo, row + lo + off, static_cast<size_t>(hi - lo) * sizeof(T));
            } else {
              for (int64_t ow = lo; ow < hi; ++ow) d[ow] = row[ow * p.strideW + off];
            }
            std::fill(d + hi, d + g.OW, T(0));
          }
        }
      }
    }
  });
}

// The adjoint of im2col: sums col [C*KH*KW, B*L] back into dx [B, C, H, W]
// (overwritten). Each task owns one (image, channel) plane, so no two
// threads write the same element.
template <typename T>
void col2im(const T* col, int64_t B, const ConvGeom& g, const Conv2dParams& p, T* dx) {
  const int64_t BL = B * g.L;
  parallelFor(0, g.C * B, grainFor(g.KH * g.KW * g.L), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / g.C, c = t % g.C;
      T* plane = dx + (b * g.C + c) * g.HW;
      std::fill(plane, plane + g.HW, T(0));
      for (int64_t ki = 0; ki < g.KH; ++ki) {
        for (int64_t kj = 0; kj < g.KW; ++kj) {
          const T* src = col + ((c * g.KH + ki) * g.KW + kj) * BL + b * g.L;
          const int64_t off = kj * p.dilationW - p.padW;
          int64_t lo, hi;
          validRange(off, p.strideW, g.W, g.OW, lo, hi);
          for (int64_t oh = 0; oh < g.OH; ++oh) {
            const int64_t ih = oh * p.strideH - p.padH + ki * p.dilationH;
            if (ih < 0 || ih >= g.H) continue;
            T* row = plane + ih * g.W;
            const T* s = src + oh * g.OW;
            if (p.strideW == 1) {
              for (int64_t ow = lo; ow < hi; ++ow) row[ow + off] += s[ow];
            } else {
              for (int64_t ow = lo; ow < hi; ++ow) row[ow * p.strideW + off] += s[ow];
            }
          }
        }
      }
    }
  });
}

// Images per chunk (Note [Column chunks]) for L columns per image.
int64_t chunkImages(const ConvGeom& g, int64_t L) {
  auto ceilDiv = [](int64_t a, int64_t b) { return (a + b - 1) / std::max<int64_t>(b, 1); };
  const int64_t want = std::max(ceilDiv(kTargetCols, L), ceilDiv(kTargetMacs, g.OC * g.Kg * L));
  const int64_t cap = kColBudget / std::max<int64_t>(g.K * L, 1);
  return std::max<int64_t>(1, std::min({g.N, want, cap}));
}
int64_t chunkImages(const ConvGeom& g) { return chunkImages(g, g.L); }

// Note [Reused scratch]: the column buffers of a convolution are MBs. Made
// fresh per call (malloc, then free) they were cold: the allocator hands
// back pages the OS must fault in again once it trimmed them, and a
// std::vector zeroes them first, one more pass over memory than the GEMM
// needs. So each thread keeps one grow-only block per role (column
// matrix, GEMM output, weight-gradient parts) between calls: warm in
// cache, never zeroed (the kernels overwrite it in full before reading).
// A request above kKeepScratchBytes gets memory of its own, freed after
// the call, so one huge convolution does not pin its buffer for the life
// of the thread.
constexpr size_t kKeepScratchBytes = size_t(64) << 20;
enum ScratchRole { kColRole = 0, kOutRole = 1, kPartsRole = 2, kDxRole = 3, kScratchRoles = 4 };

struct ScratchBlock {
  std::unique_ptr<unsigned char[]> mem;
  size_t bytes = 0;
};

ScratchBlock& scratchBlock(ScratchRole role) {
  thread_local ScratchBlock blocks[kScratchRoles];
  return blocks[role];
}

// The block of `role` on this thread, for n elements, until the holder goes
// out of scope. Two holders of one role must not be alive at once on a
// thread.
template <typename T>
class Scratch {
 public:
  Scratch(ScratchRole role, int64_t n) {
    const size_t bytes = static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(T);
    if (bytes > kKeepScratchBytes) {
      own_.reset(new unsigned char[bytes]);
      ptr_ = reinterpret_cast<T*>(own_.get());
      return;
    }
    ScratchBlock& b = scratchBlock(role);
    if (b.bytes < bytes) {
      b.mem.reset();  // free first: the peak is the new block, not both
      b.mem.reset(new unsigned char[bytes]);
      b.bytes = bytes;
    }
    ptr_ = reinterpret_cast<T*>(b.mem.get());
  }
  T* get() const { return ptr_; }
  T* data() const { return ptr_; }
  T& operator[](size_t i) const { return ptr_[i]; }

 private:
  std::unique_ptr<unsigned char[]> own_;
  T* ptr_ = nullptr;
};

// Note [Phase planes]: im2col and col2im with short rows and per-element
// bounds checks cost more than the GEMM on small feature maps. So each
// input plane is first split into sH*sW zero-padded phase planes,
// P_ab[i][j] = x[i*sH + a - padH][j*sW + b - padW] (0 outside x). Kernel tap
// (ki, kj) at output (oh, ow) reads x at padded row oh*sH + ki*dh, which is
// row oh + qi of phase a, where ki*dh = qi*sH + a (columns alike). Each
// output row is computed Wq = OW + max qj wide instead of OW, so column
// l = oh*Wq + ow of tap (ki, kj) is element qi*Wq + qj + l of its phase
// plane: the tap's whole row of columns is one memcpy, whatever the stride.
// The Wq - OW extra columns per row (one for a 3x3 stride-2 kernel, two at
// stride 1) hold garbage in the forward, dropped when the result is copied
// out; in the backward the matching gradient columns are zero, so they add
// nothing to the weight gradient nor to any input pixel.
struct PhaseGeom {
  int64_t sH, sW, Hq, Wq, Le, PS;
};

PhaseGeom phaseGeom(const ConvGeom& g, const Conv2dParams& p) {
  PhaseGeom e{};
  e.sH = p.strideH;
  e.sW = p.strideW;
  const int64_t maxQi = (g.KH - 1) * p.dilationH / e.sH, maxQj = (g.KW - 1) * p.dilationW / e.sW;
  e.Hq = g.OH + maxQi;
  e.Wq = g.OW + maxQj;
  e.Le = g.OH * e.Wq;
  // The extra columns of the last output row read up to maxQj elements
  // past the Hq*Wq plane; they land in zero slack.
  e.PS = e.Hq * e.Wq + maxQj;
  return e;
}

// Phase planes pay off when windows overlap or touch. A stride past the
// kernel's extent would make sH*sW planes that the taps mostly skip (and a
// stride like 2^40 would overflow their size), so such convolutions take
// the plain im2col path.
bool usePhasePlanes(const ConvGeom& g, const Conv2dParams& p) {
  return !isPointwise(g, p) && p.strideH <= (g.KH - 1) * p.dilationH + 1 && p.strideW <= (g.KW - 1) * p.dilationW + 1;
}

// Where tap (ki, kj) starts in the phase planes of one input plane.
inline int64_t tapOffset(const PhaseGeom& e, const Conv2dParams& p, int64_t ki, int64_t kj) {
  const int64_t ri = ki * p.dilationH, rj = kj * p.dilationW;
  return ((ri % e.sH) * e.sW + rj % e.sW) * e.PS + (ri / e.sH) * e.Wq + rj / e.sW;
}

// Note [Phase runs]: every input plane of a convolution splits into its
// phase planes the same way, so the split is worked out once per call as a
// list of runs: run r copies n plane elements from x (stepping by the
// stride sW) to phase-plane elements p..p+n-1. Everything no run writes is
// zero padding. The runs partition the pixels that some output reads, so
// the adjoint (folding phase planes back into a plane) is the same runs
// copied the other way. Per row bounds, recomputed for every plane of every
// image, used to cost more than the copies of these short rows.
struct PhaseRun {
  int64_t p, x, n;
};

std::vector<PhaseRun> phaseRuns(const ConvGeom& g, const Conv2dParams& p, const PhaseGeom& e) {
  std::vector<PhaseRun> runs;
  for (int64_t a = 0; a < e.sH; ++a) {
    for (int64_t b = 0; b < e.sW; ++b) {
      // Columns j whose iw = j*sW + b - padW lies in [0, W) are [j0, j1).
      const int64_t j0 = std::min(e.Wq, b >= p.padW ? 0 : (p.padW - b + e.sW - 1) / e.sW);
      const int64_t last = g.W - 1 + p.padW - b;
      const int64_t j1 = last < 0 ? j0 : std::max(j0, std::min(e.Wq, last / e.sW + 1));
      if (j1 <= j0) continue;
      for (int64_t i = 0; i < e.Hq; ++i) {
        const int64_t ih = i * e.sH + a - p.padH;
        if (ih < 0 || ih >= g.H) continue;
        runs.push_back({(a * e.sW + b) * e.PS + i * e.Wq + j0, ih * g.W + j0 * e.sW + b - p.padW, j1 - j0});
      }
    }
  }
  return runs;
}

// P (nP elements) = the phase planes of one input plane.
template <typename T>
void splitPhases(const T* plane, const std::vector<PhaseRun>& runs, int64_t sW, int64_t nP, T* P) {
  std::memset(P, 0, static_cast<size_t>(nP) * sizeof(T));
  for (const PhaseRun& r : runs) {
    T* d = P + r.p;
    const T* s = plane + r.x;
    if (sW == 1) std::memcpy(d, s, static_cast<size_t>(r.n) * sizeof(T));
    else if (sW == 2)
      for (int64_t t = 0; t < r.n; ++t) d[t] = s[2 * t];  // a constant stride vectorises
    else
      for (int64_t t = 0; t < r.n; ++t) d[t] = s[t * sW];
  }
}

// plane (HW elements) = phase planes P folded back; pixels no run covers are 0.
template <typename T>
void foldPhases(const T* P, const std::vector<PhaseRun>& runs, int64_t sW, int64_t HW, T* plane) {
  std::memset(plane, 0, static_cast<size_t>(HW) * sizeof(T));
  for (const PhaseRun& r : runs) {
    const T* s = P + r.p;
    T* d = plane + r.x;
    if (sW == 1) std::memcpy(d, s, static_cast<size_t>(r.n) * sizeof(T));
    else if (sW == 2)
      for (int64_t t = 0; t < r.n; ++t) d[2 * t] = s[t];
    else
      for (int64_t t = 0; t < r.n; ++t) d[t * sW] = s[t];
  }
}

// im2col into col [C*KH*KW, B*Le] (Note [Phase planes]).
template <typename T>
void im2colPhases(const T* x, int64_t B, const ConvGeom& g, const Conv2dParams& p, const PhaseGeom& e,
                  const std::vector<PhaseRun>& runs, T* col) {
  const int64_t BL = B * e.Le;
  const int64_t nP = e.sH * e.sW * e.PS;
  parallelFor(0, g.C * B, grainFor(g.KH * g.KW * e.Le), [&](int64_t t0, int64_t t1) {
    std::vector<T> P(static_cast<size_t>(nP));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t c = t / B, b = t % B;
      splitPhases(x + (b * g.C + c) * g.HW, runs, e.sW, nP, P.data());
      for (int64_t ki = 0; ki < g.KH; ++ki) {
        for (int64_t kj = 0; kj < g.KW; ++kj) {
          T* dst = col + ((c * g.KH + ki) * g.KW + kj) * BL + b * e.Le;
          std::memcpy(dst, P.data() + tapOffset(e, p, ki, kj), static_cast<size_t>(e.Le) * sizeof(T));
        }
      }
    }
  });
}

template <typename T>
inline void addRow(T* __restrict d, const T* s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] += s[i];
}

// The adjoint: sums col [C*KH*KW, B*Le] into dx [B, C, H, W] (overwritten),
// one (image, channel) plane per task.
template <typename T>
void col2imPhases(const T* col, int64_t B, const ConvGeom& g, const Conv2dParams& p, const PhaseGeom& e,
                  const std::vector<PhaseRun>& runs, T* dx) {
  const int64_t BL = B * e.Le;
  parallelFor(0, g.C * B, grainFor(g.KH * g.KW * e.Le), [&](int64_t t0, int64_t t1) {
    std::vector<T> P(static_cast<size_t>(e.sH * e.sW * e.PS));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / g.C, c = t % g.C;
      std::fill(P.begin(), P.end(), T(0));
      for (int64_t ki = 0; ki < g.KH; ++ki)
        for (int64_t kj = 0; kj < g.KW; ++kj)
          addRow(P.data() + tapOffset(e, p, ki, kj), col + ((c * g.KH + ki) * g.KW + kj) * BL + b * e.Le, e.Le);
      // Pixels no output reads lie outside the phase planes: gradient 0.
      foldPhases(P.data(), runs, e.sW, g.HW, dx + (b * g.C + c) * g.HW);
    }
  });
}

// Note [Conv chunks on threads]: the phase-plane convolution splits the
// batch into chunks of images and runs each chunk (unfold, one GEMM,
// copy-out) as one pool task, the GEMM on the task's own thread
// (matmulBuiltin). At these sizes (GEMMs of ~1M multiply-adds) that beats
// threading each GEMM: no hand-off per GEMM, and no BLAS threads spinning
// (sched_yield) against the pool's. Chunks hold enough columns for an
// efficient GEMM (kTargetCols, kChunkMacs); their size depends on the
// shapes only, and the weight gradient sums per-chunk parts in chunk order,
// so results do not depend on the thread count. A batch that makes a single
// chunk runs it on the caller, which leaves the GEMM and the unfolding
// free to use the pool themselves.
// The number of chunks is then rounded up to a multiple of kChunkMultiple,
// so that they share out evenly over 2 or 4 threads: the seed CNN's 64
// images made 7 chunks of 10 for its middle layer (one thread took 40
// images, the other 24) and 2 of 35 and 29 for its first.
constexpr int64_t kChunkMacs = int64_t(1) << 20;
constexpr int64_t kChunkMultiple = 4;

int64_t phaseChunkImages(const ConvGeom& g, const PhaseGeom& e) {
  auto ceilDiv = [](int64_t a, int64_t b) { return (a + b - 1) / std::max<int64_t>(b, 1); };
  const int64_t want = std::max(ceilDiv(kTargetCols, e.Le), ceilDiv(kChunkMacs, g.OC * g.Kg * e.Le));
  const int64_t cap = kColBudget / std::max<int64_t>(g.K * e.Le, 1);
  const int64_t b = std::max<int64_t>(1, std::min({g.N, want, cap}));
  const int64_t chunks = ceilDiv(g.N, b);
  if (chunks == 1) return b;
  return ceilDiv(g.N, std::min(g.N, ceilDiv(chunks, kChunkMultiple) * kChunkMultiple));
}

template <typename T>
void conv2dPhases(const ConvGeom& g, const Conv2dParams& p, const T* X, const T* Wt, const T* Bs, T* Y, DType dt,
                  bool relu) {
  const PhaseGeom e = phaseGeom(g, p);
  const std::vector<PhaseRun> runs = phaseRuns(g, p, e);
  const int64_t B = phaseChunkImages(g, e);
  const int64_t chunks = (g.N + B - 1) / B;
  parallelFor(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    Scratch<T> col(kColRole, g.K * B * e.Le);
    Scratch<T> tmp(kOutRole, g.OC * B * e.Le);
    for (int64_t ch = c0; ch < c1; ++ch) {
      const int64_t n0 = ch * B, b = std::min(B, g.N - n0);
      const int64_t BL = b * e.Le;
      im2colPhases(X + n0 * g.C * g.HW, b, g, p, e, runs, col.get());
      matmulBuiltin(view3(Wt, dt, g.G, g.OCg, g.Kg, g.OCg * g.Kg, g.Kg, 1),
                    view3(col.get(), dt, g.G, g.Kg, BL, g.Kg * BL, BL, 1),
                    view3(tmp.get(), dt, g.G, g.OCg, BL, g.OCg * BL, BL, 1));
      // [OC, b, OH, Wq] -> y[n0 + bi, oc, OH, OW], adding the bias on the way.
      T* Yc = Y + n0 * g.OC * g.L;
      for (int64_t t = 0; t < b * g.OC; ++t) {
        const int64_t bi = t / g.OC, oc = t % g.OC;
        const T* src = tmp.get() + oc * BL + bi * e.Le;
        T* d = Yc + t * g.L;
        const T bv = Bs ? Bs[oc] : T(0);
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t ow = 0; ow < g.OW; ++ow) d[oh * g.OW + ow] = reluIf(relu, src[oh * e.Wq + ow] + bv);
      }
    }
  });
}

template <typename T>
void conv2dBackwardPhases(const ConvGeom& g, const Conv2dParams& p, const T* GY, const T* X, const T* Wt, T* GX, T* GW,
                          DType dt) {
  const PhaseGeom e = phaseGeom(g, p);
  const std::vector<PhaseRun> runs = phaseRuns(g, p, e);
  const int64_t B = phaseChunkImages(g, e);
  const int64_t chunks = (g.N + B - 1) / B;
  const int64_t wn = g.OC * g.Kg;
  // Chunk ch's weight gradient goes to GW (ch 0) or parts[ch - 1].
  Scratch<T> parts(kPartsRole, GW ? (chunks - 1) * wn : 0);
  parallelFor(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    Scratch<T> col(kColRole, g.K * B * e.Le);
    Scratch<T> gyP(kOutRole, g.OC * B * e.Le);
    for (int64_t ch = c0; ch < c1; ++ch) {
      const int64_t n0 = ch * B, b = std::min(B, g.N - n0);
      const int64_t BL = b * e.Le;
      // gy[n0 + bi, oc, OH, OW] -> [OC, b, OH, Wq], the forward GEMM's
      // layout, with zeros in the extra columns.
      const T* gyc = GY + n0 * g.OC * g.L;
      for (int64_t t = 0; t < b * g.OC; ++t) {
        const int64_t bi = t / g.OC, oc = t % g.OC;
        const T* src = gyc + t * g.L;
        T* d = gyP.get() + oc * BL + bi * e.Le;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          for (int64_t ow = 0; ow < g.OW; ++ow) d[oh * e.Wq + ow] = src[oh * g.OW + ow];
          for (int64_t ow = g.OW; ow < e.Wq; ++ow) d[oh * e.Wq + ow] = T(0);
        }
      }
      if (GW) {
        im2colPhases(X + n0 * g.C * g.HW, b, g, p, e, runs, col.get());
        T* dstW = ch == 0 ? GW : parts.get() + (ch - 1) * wn;
        // gw_g [OCg, Kg] = gy_g [OCg, BL] @ col_g^T [BL, Kg]
        matmulBuiltin(view3(gyP.get(), dt, g.G, g.OCg, BL, g.OCg * BL, BL, 1),
                      view3(col.get(), dt, g.G, BL, g.Kg, g.Kg * BL, 1, BL),
                      view3(dstW, dt, g.G, g.OCg, g.Kg, g.OCg * g.Kg, g.Kg, 1));
      }
      if (GX) {
        // dcol_g [Kg, BL] = W_g^T [Kg, OCg] @ gy_g [OCg, BL], then folded back.
        matmulBuiltin(view3(Wt, dt, g.G, g.Kg, g.OCg, g.OCg * g.Kg, 1, g.Kg),
                      view3(gyP.get(), dt, g.G, g.OCg, BL, g.OCg * BL, BL, 1),
                      view3(col.get(), dt, g.G, g.Kg, BL, g.Kg * BL, BL, 1));
        col2imPhases(col.get(), b, g, p, e, runs, GX + n0 * g.C * g.HW);
      }
    }
  });
  if (GW && chunks > 1) {
    parallelFor(0, wn, kGrainWork, [&](int64_t i0, int64_t i1) {
      for (int64_t ch = 1; ch < chunks; ++ch) {
        const T* part = parts.get() + (ch - 1) * wn;
        for (int64_t i = i0; i < i1; ++i) GW[i] += part[i];
      }
    });
  }
}

// Note [Direct convolution]: on small feature maps with few channels the
// phase-plane GEMM path spends more on its column matrix (one memcpy per
// tap and channel, then the GEMM packing that copy again) than on the
// multiply-adds, which are only K = C*KH*KW (9 for a 1-channel first layer)
// deep. So, for float32 on AVX-512, such convolutions are computed straight
// from the phase planes (Note [Phase planes]), an implicit GEMM whose B
// operand is never packed: tap (ki, kj) of channel c over output columns
// j..j+15 is one unaligned 16-float load at a fixed offset from j.
//
// A chunk of b images shares one phase block per channel, images
// interleaved inside each phase plane: phase f of image bi starts at
// (f*b + bi)*PS. Output column j = bi*PS + l (l < Le as before) then reads
// tap (ki, kj) at tapOffset with the phase term scaled by b, so one column
// range [0, b*PS) covers the whole chunk and a 4x4 output map (Le = 20)
// does not leave most of a 16-wide vector idle. Columns whose l lies
// outside the image's outputs compute garbage in the forward (dropped on the
// copy-out) and carry a zero gradient in the backward. Each block is zeroed
// in full, with slack past its end for the reads of the last vector, so
// even the garbage is finite.
//
// The three passes, per chunk:
//   forward     y[o, j] = sum_k W[o, k] * P[k](j)        16 output channels x 16 columns in registers
//   grad input  dP_c(q) = sum_(o, t) W[o, (c, t)] * gy[o, q - off_t]   up to 16 input channels x 16-128
//                         columns in registers (directGradInputBlock)
//   grad weight gW[o, k] = sum_j gy[o, j] * P[k](j)       4 channels x 6 taps of 16-lane sums
// where P[k](j) = P_c[off_t + j] for k = (c, t), t = (ki, kj), off_t its
// tap offset in the block.
// Chunk weight-gradient parts are summed in chunk order, as in
// conv2dBackwardPhases, so results do not depend on the thread count.
#if KD_WIDE_SIMD
constexpr int64_t kLanes = 16;

struct DirectGeom {
  PhaseGeom e;
  int64_t B;                   // images per chunk
  int64_t J;                   // columns per chunk: B*PS rounded up to whole vectors
  int64_t CS;                  // floats per channel block: nPh*B*PS, then slack
  int64_t OCr;                 // OCg rounded up to the forward's 16-channel tiles
  std::vector<int64_t> tap;    // tap offsets within a channel block, KH*KW
  int64_t PadF;                // zeros before each gradient row: the grad input reads back up to PS columns
  int64_t RS;                  // floats per gradient row: PadF + J
  std::vector<PhaseRun> runs;  // Note [Phase runs], in the block's layout
  // Stride 2 with every run at most 16 long: per run, the masks of
  // splitEvens (input lanes of its two loads, output lanes), else empty.
  std::vector<std::array<uint16_t, 3>> evenMasks;
  // Per phase plane f, the taps that read it: tap index and offset within the plane.
  std::vector<std::vector<std::pair<int64_t, int64_t>>> phaseTaps;
};

int64_t roundUpTo(int64_t a, int64_t m) { return (a + m - 1) / m * m; }

DirectGeom directGeom(const ConvGeom& g, const Conv2dParams& p) {
  DirectGeom d;
  d.e = phaseGeom(g, p);
  const PhaseGeom& e = d.e;
  const int64_t nPh = e.sH * e.sW;
  // Chunks of at most about 64K floats of phase planes (256 KiB: they stay
  // in L2 while every tap reads them), and at least kChunkMultiple of them
  // when the batch allows, so that 2 or 4 threads share the work evenly
  // (Note [Conv chunks on threads]); a 64-image batch of 1-channel 28x28
  // images fits one chunk, which left the second thread idle.
  auto ceilDiv = [](int64_t a, int64_t b) { return (a + b - 1) / std::max<int64_t>(b, 1); };
  const int64_t per = std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(g.C * nPh * e.PS, 1));
  int64_t B = std::max<int64_t>(1, std::min({g.N, per, ceilDiv(g.N, kChunkMultiple)}));
  const int64_t chunks = ceilDiv(g.N, B);
  if (chunks > 1) B = ceilDiv(g.N, std::min(g.N, ceilDiv(chunks, kChunkMultiple) * kChunkMultiple));
  d.B = B;
  d.J = roundUpTo(B * e.PS, kLanes);
  d.CS = nPh * B * e.PS + e.PS + kLanes;
  d.OCr = roundUpTo(g.OCg, kLanes);
  d.PadF = roundUpTo(e.PS, kLanes);
  d.RS = d.PadF + d.J;
  d.phaseTaps.resize(static_cast<size_t>(nPh));
  for (int64_t ki = 0; ki < g.KH; ++ki) {
    for (int64_t kj = 0; kj < g.KW; ++kj) {
      const int64_t off = tapOffset(e, p, ki, kj);
      d.tap.push_back(off / e.PS * B * e.PS + off % e.PS);
      d.phaseTaps[static_cast<size_t>(off / e.PS)].push_back({ki * g.KW + kj, off % e.PS});
    }
  }
  for (PhaseRun r : phaseRuns(g, p, e)) {
    r.p = r.p / e.PS * B * e.PS + r.p % e.PS;
    d.runs.push_back(r);
  }
  const bool shortRuns =
      std::all_of(d.runs.begin(), d.runs.end(), [](const PhaseRun& r) { return r.n >= 1 && r.n <= 16; });
  if (e.sW == 2 && shortRuns) {
    for (const PhaseRun& r : d.runs) {
      const int64_t need = 2 * r.n - 1;  // input elements the run covers
      const auto bits = [](int64_t k) { return static_cast<uint16_t>(k >= 16 ? 0xFFFF : (1u << k) - 1); };
      d.evenMasks.push_back({bits(need), bits(std::max<int64_t>(0, need - 16)), bits(r.n)});
    }
  }
  return d;
}

// Masks for n (1 to 16) outputs of a 2x2 stride-2 window row and the 2n
// inputs under them, split over two vectors: the row kernels' tails.
struct WindowMasks {
  __mmask16 out, lo, hi;
};
inline WindowMasks windowMasks(int64_t n) {
  return {static_cast<__mmask16>((1u << n) - 1), static_cast<__mmask16>(n >= 8 ? 0xFFFF : (1u << (2 * n)) - 1),
          static_cast<__mmask16>(n <= 8 ? 0 : (1u << (2 * (n - 8))) - 1)};
}

// dst = the 2x2 stride-2 max pool of (src + bias, relu'd if relu) for an
// OH x OW map whose rows are ws apart: the pooled direct forward's
// copy-out. It used to copy the map out with its bias into a buffer, then
// pool that with one maxPool2x2RowAvx512 call per output row: 45% of
// LeNet's pooled first layer (1 -> 32 channels, 28x28, one thread: 710 ->
// 590 us with this). The same values: bias, relu, then the taps in
// PyTorch's order, a later one taken if greater or NaN. With codes, each
// maximum's window position goes there too (ConvPool::codes).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's intrinsics, as in maxPool2x2RowAvx512
__attribute__((target("avx512f"))) void poolMapAddBias(const float* src, int64_t ws, int64_t OH, int64_t OW, float bias,
                                                       bool relu, float* dst, uint8_t* codes) {
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odds = _mm512_add_epi32(evens, _mm512_set1_epi32(1));
  const __m512 bv = _mm512_set1_ps(bias), zero = _mm512_setzero_ps();
  const int64_t OHp = OH / 2, OWp = OW / 2;
  for (int64_t ow = 0; ow < OWp; ow += 16) {
    const int64_t n = std::min<int64_t>(16, OWp - ow);
    const auto [mOut, mLo, mHi] = windowMasks(n);
    for (int64_t ph = 0; ph < OHp; ++ph) {
      const float* pa = src + 2 * ph * ws + 2 * ow;
      const float* pb = pa + ws;
      __m512 aLo = _mm512_add_ps(_mm512_maskz_loadu_ps(mLo, pa), bv);
      __m512 aHi = _mm512_add_ps(_mm512_maskz_loadu_ps(mHi, pa + 16), bv);
      __m512 bLo = _mm512_add_ps(_mm512_maskz_loadu_ps(mLo, pb), bv);
      __m512 bHi = _mm512_add_ps(_mm512_maskz_loadu_ps(mHi, pb + 16), bv);
      if (relu) {
        aLo = _mm512_maskz_max_ps(0xFFFF, zero, aLo);
        aHi = _mm512_maskz_max_ps(0xFFFF, zero, aHi);
        bLo = _mm512_maskz_max_ps(0xFFFF, zero, bLo);
        bHi = _mm512_maskz_max_ps(0xFFFF, zero, bHi);
      }
      const __m512 taps[3] = {_mm512_permutex2var_ps(aLo, odds, aHi), _mm512_permutex2var_ps(bLo, evens, bHi),
                              _mm512_permutex2var_ps(bLo, odds, bHi)};
      __m512 best = _mm512_permutex2var_ps(aLo, evens, aHi);
      __m512i at = _mm512_setzero_si512();
      for (int t = 0; t < 3; ++t) {
        const __m512 v = taps[t];
        const __mmask16 take = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        best = _mm512_mask_mov_ps(best, take, v);
        at = _mm512_mask_mov_epi32(at, take, _mm512_set1_epi32(t + 1));
      }
      _mm512_mask_storeu_ps(dst + ph * OWp + ow, mOut, best);
      if (!codes) continue;
      at = _mm512_mask_mov_epi32(_mm512_set1_epi32(4), _mm512_cmp_ps_mask(best, zero, _CMP_GT_OQ), at);
      _mm512_mask_cvtepi32_storeu_epi8(codes + ph * OWp + ow, mOut, at);
    }
  }
}
#pragma GCC diagnostic pop

// o[t] = s[2t] for t < n: a stride-2 run of splitBlock, 16 outputs a step.
// Masked loads read only the 2n - 1 elements the run covers (a run may end
// the input), a permute takes the even ones. The scalar loop ran one float
// at a time: the split was a quarter of the seed CNN's inference.
__attribute__((target("avx512f"))) void copyEvens(const float* s, int64_t n, float* o) {
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (int64_t t = 0; t < n; t += 16) {
    const int64_t m = std::min<int64_t>(16, n - t), need = 2 * m - 1;
    const __mmask16 lo = static_cast<__mmask16>(need >= 16 ? 0xFFFF : (1u << need) - 1);
    const __mmask16 hi = static_cast<__mmask16>(need <= 16 ? 0 : (1u << (need - 16)) - 1);
    const __m512 a = _mm512_maskz_loadu_ps(lo, s + 2 * t), b = _mm512_maskz_loadu_ps(hi, s + 2 * t + 16);
    _mm512_mask_storeu_ps(o + t, static_cast<__mmask16>(m == 16 ? 0xFFFF : (1u << m) - 1),
                          _mm512_permutex2var_ps(a, evens, b));
  }
}

// One plane's stride-2 runs when each is at most 16 long (the seed CNN's
// maps): copyEvens' loads and permute inline, with masks worked out once
// per call. Called once per run, copyEvens' setup and call were most of
// its time: 16-18 cycles for a run of 4 to 14 floats.
__attribute__((target("avx512f"))) void splitEvens(const float* plane, const DirectGeom& d, float* dst) {
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const size_t n = d.runs.size();
  for (size_t i = 0; i < n; ++i) {
    const PhaseRun& r = d.runs[i];
    const std::array<uint16_t, 3>& m = d.evenMasks[i];
    const float* s = plane + r.x;
    const __m512 a = _mm512_maskz_loadu_ps(m[0], s), b = _mm512_maskz_loadu_ps(m[1], s + 16);
    _mm512_mask_storeu_ps(dst + r.p, m[2], _mm512_permutex2var_ps(a, evens, b));
  }
}

// Phase blocks of images [b, C, H, W] into P [C][CS] (Note [Direct convolution]).
void splitBlock(const float* x, int64_t b, const ConvGeom& g, const DirectGeom& d, float* P) {
  std::memset(P, 0, static_cast<size_t>(g.C * d.CS) * sizeof(float));
  for (int64_t c = 0; c < g.C; ++c) {
    for (int64_t bi = 0; bi < b; ++bi) {
      const float* plane = x + (bi * g.C + c) * g.HW;
      float* dst = P + c * d.CS + bi * d.e.PS;
      if (!d.evenMasks.empty()) {
        splitEvens(plane, d, dst);
        continue;
      }
      for (const PhaseRun& r : d.runs) {
        float* o = dst + r.p;
        const float* s = plane + r.x;
        if (d.e.sW == 1) std::memcpy(o, s, static_cast<size_t>(r.n) * sizeof(float));
        else if (d.e.sW == 2) copyEvens(s, r.n, o);
        else
          for (int64_t t = 0; t < r.n; ++t) o[t] = s[t * d.e.sW];
      }
    }
  }
}

// The adjoint: dx [b, C, H, W] (overwritten) from the phase blocks dP.
void foldBlock(const float* dP, int64_t b, const ConvGeom& g, const DirectGeom& d, float* dx) {
  std::memset(dx, 0, static_cast<size_t>(b * g.C * g.HW) * sizeof(float));
  for (int64_t c = 0; c < g.C; ++c) {
    for (int64_t bi = 0; bi < b; ++bi) {
      float* plane = dx + (bi * g.C + c) * g.HW;
      const float* src = dP + c * d.CS + bi * d.e.PS;
      for (const PhaseRun& r : d.runs) {
        const float* s = src + r.p;
        float* o = plane + r.x;
        if (d.e.sW == 1) std::memcpy(o, s, static_cast<size_t>(r.n) * sizeof(float));
        else
          for (int64_t t = 0; t < r.n; ++t) o[t * d.e.sW] = s[t];
      }
    }
  }
}

// Weights of one group [OCg, Kg] as Wp [Kg][OCr], zero past OCg: the
// forward's broadcasts and the grad input's sums read one row per tap.
void packWeights(const float* Wg, const ConvGeom& g, const DirectGeom& d, float* Wp) {
  for (int64_t k = 0; k < g.Kg; ++k)
    for (int64_t o = 0; o < d.OCr; ++o) Wp[k * d.OCr + o] = o < g.OCg ? Wg[o * g.Kg + k] : 0.0f;
}

// acc[o] = the sums of output channel o0 + o over the 16 columns from j:
// the direct tile's multiply-adds (Wp's columns o0..o0+15), inlined into
// both of its stores below.
__attribute__((target("avx512f"), always_inline)) inline void directSums(const float* P, const float* Wp, int64_t o0,
                                                                         const ConvGeom& g, const DirectGeom& d,
                                                                         int64_t j, __m512 (&acc)[16]) {
  const int64_t KK = g.KH * g.KW;
  for (int o = 0; o < 16; ++o) acc[o] = _mm512_setzero_ps();
  for (int64_t c = 0; c < g.Cg; ++c) {
    const float* pc = P + c * d.CS + j;
    const float* wc = Wp + c * KK * d.OCr + o0;
    for (int64_t t = 0; t < KK; ++t) {
      const __m512 v = _mm512_loadu_ps(pc + d.tap[t]);
      const float* wt = wc + t * d.OCr;
      for (int o = 0; o < 16; ++o) acc[o] = _mm512_fmadd_ps(_mm512_set1_ps(wt[o]), v, acc[o]);
    }
  }
}

// out [16 rows, J] = W tile (columns o0..o0+15 of Wp) applied to the group's planes.
__attribute__((target("avx512f"))) void directForwardTile(const float* P, const float* Wp, int64_t o0,
                                                          const ConvGeom& g, const DirectGeom& d, float* out) {
  for (int64_t j = 0; j < d.J; j += kLanes) {
    __m512 acc[16];
    directSums(P, Wp, o0, g, d, j, acc);
    for (int o = 0; o < 16; ++o) _mm512_storeu_ps(out + o * d.J + j, acc[o]);
  }
}

// The forward without pooling, straight into y: each vector holds 16
// columns of one output row (several vectors for rows over 16), so the sums
// take the bias and relu in registers and are stored, masked to the row,
// where y keeps them. directForwardTile's flat columns also cover the
// Wq - OW extra columns of each row and go through a buffer and a copy-out
// that adds the bias: the seed CNN's first layer (1 -> 16 channels, 28x28,
// stride 2) wrote its 800 KB twice. Channels o0 .. o0 + nOc - 1 of the b
// images of a chunk, whose y starts at Y.
__attribute__((target("avx512f"))) void directForwardRows(const float* P, const float* Wp, int64_t o0, int64_t nOc,
                                                          const ConvGeom& g, const DirectGeom& d, int64_t b,
                                                          const float* bias, bool relu, float* Y) {
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ow += kLanes) {
        __m512 acc[16];
        directSums(P, Wp, o0, g, d, bi * d.e.PS + oh * d.e.Wq + ow, acc);
        const __mmask16 m = static_cast<__mmask16>(g.OW - ow >= kLanes ? 0xFFFF : (1u << (g.OW - ow)) - 1);
        float* y = Y + (bi * g.OC + o0) * g.L + oh * g.OW + ow;
        // (A constant trip count keeps acc in registers; o < nOc inside.)
        for (int o = 0; o < 16; ++o) {
          if (o >= nOc) break;
          __m512 v = _mm512_add_ps(acc[o], _mm512_set1_ps(bias[o]));
          if (relu) v = _mm512_maskz_max_ps(m, zero, v);
          _mm512_mask_storeu_ps(y + o * g.L, m, v);
        }
      }
}

// Grad input, gathered: dP_c[f*b*PS + r] = sum over the taps t of phase
// plane f and the channels o of W[o, c, t] * gy_o[r - s_t] (s_t = the tap's
// offset in its plane), for r in [0, J). The scatter form (dP[off_t + j] +=
// ... per tap) ran into store-forwarding stalls: neighbouring taps load the
// vector the previous tap stored one float over. Here CB input channels x
// NT column vectors are summed in registers and stored once. Wx holds the
// group's weights as [KK][OCg][Cg]; gy rows are RS apart with PadF zeros in
// front, so r - s_t >= -PS stays inside the row.
template <int CB, int NT>
__attribute__((target("avx512f"))) void directGradInputBlock(const float* gy, const float* Wx, int64_t c0,
                                                             const ConvGeom& g, const DirectGeom& d, int64_t f,
                                                             int64_t r, float* dP) {
  __m512 acc[CB][NT];
  for (int c = 0; c < CB; ++c)
    for (int n = 0; n < NT; ++n) acc[c][n] = _mm512_setzero_ps();
  for (const auto& [t, st] : d.phaseTaps[static_cast<size_t>(f)]) {
    const float* gt = gy + r - st;
    const float* wt = Wx + t * g.OCg * g.Cg + c0;
    for (int64_t o = 0; o < g.OCg; ++o) {
      __m512 v[NT];
      for (int n = 0; n < NT; ++n) v[n] = _mm512_loadu_ps(gt + o * d.RS + n * kLanes);
      const float* wo = wt + o * g.Cg;
      for (int c = 0; c < CB; ++c) {
        const __m512 w = _mm512_set1_ps(wo[c]);
        for (int n = 0; n < NT; ++n) acc[c][n] = _mm512_fmadd_ps(w, v[n], acc[c][n]);
      }
    }
  }
  const int64_t base = f * d.B * d.e.PS + r;
  for (int c = 0; c < CB; ++c)
    for (int n = 0; n < NT; ++n) _mm512_storeu_ps(dP + (c0 + c) * d.CS + base + n * kLanes, acc[c][n]);
}

// Channels c0..c0+CB-1 of dP over every phase plane and column: NT vectors
// at a time, then one at a time for the last columns.
template <int CB>
void directGradInputChannels(const float* gy, const float* Wx, int64_t c0, const ConvGeom& g, const DirectGeom& d,
                             float* dP) {
  constexpr int NT = CB >= 16 ? 1 : std::min(8, 16 / CB);
  const int64_t nPh = d.e.sH * d.e.sW;
  for (int64_t f = 0; f < nPh; ++f) {
    int64_t r = 0;
    for (; r + NT * kLanes <= d.J; r += NT * kLanes) directGradInputBlock<CB, NT>(gy, Wx, c0, g, d, f, r, dP);
    for (; r < d.J; r += kLanes) directGradInputBlock<CB, 1>(gy, Wx, c0, g, d, f, r, dP);
  }
}

// One group's dP: its Cg channels in blocks of 16, 8, 4, 2 and 1.
void directGradInput(const float* gy, const float* Wx, const ConvGeom& g, const DirectGeom& d, float* dP) {
  int64_t c0 = 0;
  for (; c0 + 16 <= g.Cg; c0 += 16) directGradInputChannels<16>(gy, Wx, c0, g, d, dP);
  if (c0 + 8 <= g.Cg) directGradInputChannels<8>(gy, Wx, c0, g, d, dP), c0 += 8;
  if (c0 + 4 <= g.Cg) directGradInputChannels<4>(gy, Wx, c0, g, d, dP), c0 += 4;
  if (c0 + 2 <= g.Cg) directGradInputChannels<2>(gy, Wx, c0, g, d, dP), c0 += 2;
  if (c0 < g.Cg) directGradInputChannels<1>(gy, Wx, c0, g, d, dP);
}

// GCC 12's _mm512_reduce_add_ps trips -Wmaybe-uninitialized (its
// _mm512_undefined_* placeholders), as in maxPool2x2RowAvx512.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// gw [OCr, Kg] of one group: row o, column k = sum over the chunk's columns
// of gy[o] * P[k]. koff[k] = the plane and tap offset of k; Kg is padded to
// a multiple of 6 in koff (pointing at plane 0), those sums dropped.
__attribute__((target("avx512f"))) void directGradWeight(const float* gy, const float* P, const int64_t* koff,
                                                         int64_t KgPad, const ConvGeom& g, const DirectGeom& d,
                                                         float* gw) {
  constexpr int OB = 4, KB = 6;
  for (int64_t o0 = 0; o0 < d.OCr; o0 += OB) {
    for (int64_t k0 = 0; k0 < KgPad; k0 += KB) {
      __m512 acc[OB][KB];
      for (int o = 0; o < OB; ++o)
        for (int k = 0; k < KB; ++k) acc[o][k] = _mm512_setzero_ps();
      const float* gr = gy + o0 * d.RS;
      const float* pk[KB];
      for (int k = 0; k < KB; ++k) pk[k] = P + koff[k0 + k];
      for (int64_t j = 0; j < d.J; j += kLanes) {
        __m512 a[OB];
        for (int o = 0; o < OB; ++o) a[o] = _mm512_loadu_ps(gr + o * d.RS + j);
        for (int k = 0; k < KB; ++k) {
          const __m512 v = _mm512_loadu_ps(pk[k] + j);
          for (int o = 0; o < OB; ++o) acc[o][k] = _mm512_fmadd_ps(a[o], v, acc[o][k]);
        }
      }
      for (int o = 0; o < OB; ++o) {
        if (o0 + o >= g.OCg) break;
        for (int k = 0; k < KB; ++k)
          if (k0 + k < g.Kg) gw[(o0 + o) * g.Kg + k0 + k] = _mm512_reduce_add_ps(acc[o][k]);
      }
    }
  }
}

#pragma GCC diagnostic pop

// gb[oc] = the sum over the images, in order and in double, of sums[n][oc]:
// the bias gradient from plane sums taken inside a backward pass, as
// conv2dBackwardTyped takes it from gy.
void biasFromPlaneSums(const std::vector<double>& sums, int64_t N, int64_t OC, float* gb) {
  for (int64_t oc = 0; oc < OC; ++oc) {
    double s = 0;
    for (int64_t n = 0; n < N; ++n) s += sums[static_cast<size_t>(n * OC + oc)];
    gb[oc] = static_cast<float>(s);
  }
}

// Note [Output channels in lanes]: directForwardTile above keeps 16 output
// columns per vector and broadcasts one weight per output channel: 16
// broadcasts and one load for 16 multiply-adds, and every column whose
// position l lies outside the image's outputs (the Wq - OW extra columns per
// row and the rows between images: 258 columns for the 196 outputs of a 3x3
// layer on 14x14 maps) is computed and dropped. Where the output channels
// make whole vectors, larger layers instead keep 16 output channels per vector, as
// ONNX Runtime's NCHWc kernels do: R output pixels x NV channel vectors of
// sums in registers, and per tap NV weight loads, R broadcasts of input
// values and R*NV multiply-adds (6 x 4 for 64 channels, as the GEMM's 6x64
// tile). The pixels are exactly the outputs, found through a table of their
// offsets in the phase planes, so no column is wasted and a row end needs
// no special case. The sums take the bias and the relu before they are
// stored as [pixel][channel]; the copy-out transposes them into the
// [channel][pixel] planes of y.
template <int R, int NV>
__attribute__((target("avx512f"))) void lanesTile(const float* P, const int64_t* pix, const int64_t* koff, int64_t Kg,
                                                  const float* Wp, int64_t OCr, const float* bias, bool relu,
                                                  float* out) {
  __m512 acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  const float* src[R];
  for (int r = 0; r < R; ++r) src[r] = P + pix[r];
  for (int64_t k = 0; k < Kg; ++k) {
    const int64_t o = koff[k];
    __m512 w[NV];
    for (int v = 0; v < NV; ++v) w[v] = _mm512_loadu_ps(Wp + k * OCr + v * kLanes);
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(src[r][o]);
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(x, w[v], acc[r][v]);
    }
  }
  // The bias last, as the GEMM path adds it: started from the bias, the
  // running sums were larger and each step rounded more (mean error 30%
  // higher on a 32 -> 64 channel layer).
  const __m512 zero = _mm512_setzero_ps();
  for (int v = 0; v < NV; ++v) {
    const __m512 b = _mm512_loadu_ps(bias + v * kLanes);
    for (int r = 0; r < R; ++r) {
      const __m512 y = _mm512_add_ps(acc[r][v], b);
      _mm512_storeu_ps(out + r * OCr + v * kLanes, relu ? _mm512_maskz_max_ps(0xFFFF, zero, y) : y);
    }
  }
}

// Sums of output channels o0 .. o0 + 16*NV - 1 for npix pixels into out
// [pixel][OCr]: tiles of R pixels, then of 4, then the last few in tiles of
// RT, the fewest pixels that still keep 4 chains of multiply-adds in flight
// (an FMA's latency is 4 of its issue slots). So pix and out need room for
// npix rounded up to RT (at most 3 pixels past npix, as padded by the
// callers). Rounding up to R instead computed 60 pixels for the 49 of a 7x7
// map; LeNet's 196 = 32 x 6 + 4 took four 1-pixel tiles.
template <int R, int NV>
void lanesRange(const float* P, const int64_t* pix, int64_t npix, const int64_t* koff, int64_t Kg, const float* Wp,
                int64_t OCr, const float* bias, bool relu, float* out) {
  constexpr int RT = NV >= 4 ? 1 : 4 / NV;
  int64_t i = 0;
  for (; i + R <= npix; i += R) lanesTile<R, NV>(P, pix + i, koff, Kg, Wp, OCr, bias, relu, out + i * OCr);
  if constexpr (R > 4)
    for (; i + 4 <= npix; i += 4) lanesTile<4, NV>(P, pix + i, koff, Kg, Wp, OCr, bias, relu, out + i * OCr);
  for (; i < npix; i += RT) lanesTile<RT, NV>(P, pix + i, koff, Kg, Wp, OCr, bias, relu, out + i * OCr);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12 on the shuffles' intrinsics
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// dst[c * ds + q] = src[q * ss + c] for the first np (at most 16) pixels q
// and 16 channels c: conv2dLanes' copy-out, a 16 x 16 transpose in
// registers (unpack, then shuffles of pairs, then of 128-bit lanes). Only
// the first nc (at most 16) elements of each source row are read; the
// others count as zeros. Only the first nr rows of dst are written.
__attribute__((target("avx512f"))) void transpose16(const float* src, int64_t ss, int64_t np, float* dst, int64_t ds,
                                                    int64_t nc = 16, int64_t nr = 16) {
  const __mmask16 cm = static_cast<__mmask16>(nc >= 16 ? 0xFFFF : (1u << nc) - 1);
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = i < np ? _mm512_maskz_loadu_ps(cm, src + i * ss) : _mm512_setzero_ps();
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
  }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
  }
  const __mmask16 m = static_cast<__mmask16>(np >= 16 ? 0xFFFF : (1u << np) - 1);
  for (int c = 0; c < nr; ++c) _mm512_mask_storeu_ps(dst + c * ds, m, r[c]);
}
#pragma GCC diagnostic pop

// In place: the 2x2 stride-2 max pool of an OH x OW map held as [pixel][C]
// (C a multiple of 16), into its first (OH / 2) * (OW / 2) rows. Taps in
// PyTorch's order, a later one taken if greater or NaN, as
// maxPool2x2RowAvx512. Output row q reads rows at or after q, so none is
// overwritten before it is read. With codes, each maximum's window position
// (ConvPool::codes) goes to codes, laid out as the pooled rows.
__attribute__((target("avx512f"))) void pool2x2Pixels(float* t, int64_t OH, int64_t OW, int64_t C, int32_t* codes) {
  const int64_t OWp = OW / 2;
  for (int64_t ph = 0; ph < OH / 2; ++ph)
    for (int64_t pw = 0; pw < OWp; ++pw) {
      const float* a = t + (2 * ph * OW + 2 * pw) * C;
      const float* taps[3] = {a + C, a + OW * C, a + (OW + 1) * C};
      const int64_t q = (ph * OWp + pw) * C;
      for (int64_t c = 0; c < C; c += kLanes) {
        __m512 best = _mm512_loadu_ps(a + c);
        __m512i at = _mm512_setzero_si512();
        for (int k = 0; k < 3; ++k) {
          const __m512 v = _mm512_loadu_ps(taps[k] + c);
          const __mmask16 take = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
          best = _mm512_mask_mov_ps(best, take, v);
          at = _mm512_mask_mov_epi32(at, take, _mm512_set1_epi32(k + 1));
        }
        _mm512_storeu_ps(t + q + c, best);
        if (codes)
          _mm512_storeu_si512(codes + q + c,
                              _mm512_mask_mov_epi32(_mm512_set1_epi32(4),
                                                    _mm512_cmp_ps_mask(best, _mm512_setzero_ps(), _CMP_GT_OQ), at));
      }
    }
}

// codes[c * dc + l] = the byte of src[l * ss + c] for l < np, c < nc: a
// [pixel][channel] block of int32 window codes (pool2x2Pixels) to the
// pooled planes' uint8 codes, through transpose16 (which only moves bits).
__attribute__((target("avx512f"))) void transposeCodes16(const int32_t* src, int64_t ss, int64_t np, uint8_t* dst,
                                                         int64_t ds, int64_t nc) {
  alignas(64) int32_t block[16 * 16];
  transpose16(reinterpret_cast<const float*>(src), ss, np, reinterpret_cast<float*>(block), 16, nc, nc);
  const __mmask16 m = static_cast<__mmask16>(np >= 16 ? 0xFFFF : (1u << np) - 1);
  for (int64_t c = 0; c < nc; ++c) _mm512_mask_cvtepi32_storeu_epi8(dst + c * ds, m, _mm512_load_si512(block + c * 16));
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's intrinsics, as in maxPool2x2RowAvx512
// One pooled row, 16 values a step: rows r0 and r1 of gx, 2 * PW wide.
// Codes are read 16 bytes at a time up to `end`, the end of their array
// (those past the row are ignored). Copying a short row's bytes to the stack
// and loading them from there stalled each load on the stores before it:
// 40% of the function's time.
__attribute__((target("avx512f"))) void unpoolReluRowAvx512(const float* gy, const uint8_t* codes, const uint8_t* end,
                                                            int64_t PW, float* r0, float* r1) {
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
  for (int64_t pw = 0; pw < PW; pw += 16) {
    const int64_t n = std::min<int64_t>(16, PW - pw);
    const auto [m, mLo, mHi] = windowMasks(n);
    const __m512 g = _mm512_maskz_loadu_ps(m, gy + pw);
    __m128i cb;
    if (end - (codes + pw) >= 16) {
      cb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + pw));
    } else {  // the array's last bytes (a byte-masked load needs AVX512BW)
      alignas(16) uint8_t tail[16] = {};
      std::memcpy(tail, codes + pw, static_cast<size_t>(n));
      cb = _mm_load_si128(reinterpret_cast<const __m128i*>(tail));
    }
    const __m512i c = _mm512_cvtepu8_epi32(cb);
    __m512 t[4];
    for (int k = 0; k < 4; ++k) t[k] = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(c, _mm512_set1_epi32(k)), g);
    _mm512_mask_storeu_ps(r0 + 2 * pw, mLo, _mm512_permutex2var_ps(t[0], lo, t[1]));
    _mm512_mask_storeu_ps(r0 + 2 * pw + 16, mHi, _mm512_permutex2var_ps(t[0], hi, t[1]));
    _mm512_mask_storeu_ps(r1 + 2 * pw, mLo, _mm512_permutex2var_ps(t[2], lo, t[3]));
    _mm512_mask_storeu_ps(r1 + 2 * pw + 16, mHi, _mm512_permutex2var_ps(t[2], hi, t[3]));
  }
}
#pragma GCC diagnostic pop

// One plane of the map a pooled gradient stands for (OH x OW, rows ws
// apart) from its PH x PW gy and codes (Note [Conv-ReLU-pool backward]).
__attribute__((target("avx512f"))) void unpoolReluPlaneAvx512(const float* gy, const uint8_t* codes, const uint8_t* end,
                                                              int64_t PH, int64_t PW, int64_t OH, int64_t OW,
                                                              float* plane, int64_t ws) {
  for (int64_t ph = 0; ph < PH; ++ph) {
    float* r0 = plane + 2 * ph * ws;
    if (OW % 2) r0[OW - 1] = r0[ws + OW - 1] = 0.0f;
    unpoolReluRowAvx512(gy + ph * PW, codes + ph * PW, end, PW, r0, r0 + ws);
  }
  if (OH % 2) std::fill(plane + (OH - 1) * ws, plane + (OH - 1) * ws + OW, 0.0f);
}

// A convolution's output gradient given pooled (Note [Conv-ReLU-pool
// backward]): gy and codes [N, OC, PH, PW] for the map [N, OC, OH, OW]. The
// direct and lanes backward paths expand it an image at a time into a
// buffer that stays in cache, so the map is never written to memory.
struct PooledGrad {
  const float* gy;
  const uint8_t* codes;
  const uint8_t* codesEnd;
  int64_t PH, PW;
  // Planes [first, first + count) of the map, OH x OW each, into dst: rows
  // ws apart, planes ps apart (contiguous by default).
  void expand(int64_t first, int64_t count, int64_t OH, int64_t OW, float* dst, int64_t ws = 0, int64_t ps = 0) const {
    if (ws == 0) ws = OW;
    if (ps == 0) ps = OH * OW;
    const int64_t PL = PH * PW;
    for (int64_t i = 0; i < count; ++i)
      unpoolReluPlaneAvx512(gy + (first + i) * PL, codes + (first + i) * PL, codesEnd, PH, PW, OH, OW, dst + i * ps,
                            ws);
  }
};

// The lanes weight gradient's gy for one image, [Lp][C] (pixel-major,
// pixels past L zero), made from the pooled gradient of C channels (a
// multiple of 16) from plane `row0` on (Note [Conv-ReLU-pool backward]).
// The pooled values and their codes are transposed first, a quarter of
// the map, and each pooled pixel then writes its 2x2 window's four pixel
// rows; expanding into planes and transposing those read and wrote the map
// twice more. With sums, each channel's plane sum, bit for bit planeSum's
// (eight partial sums by pixel index mod 8, the tail into the first),
// taken across 16 channels at a time. pool gets 2 * roundUp(PL, 16) * C
// floats of scratch.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's intrinsics, as in maxPool2x2RowAvx512
__attribute__((target("avx512f"))) void expandPooledT(const PooledGrad& pg, int64_t row0, int64_t C, int64_t OH,
                                                      int64_t OW, int64_t Lp, float* gyT, float* pool, double* sums) {
  const int64_t PH = pg.PH, PW = pg.PW, PL = PH * PW, PLp = roundUpTo(PL, kLanes), L = OH * OW;
  float* gT = pool;                                          // [PLp][C] pooled values
  int32_t* cT = reinterpret_cast<int32_t*>(pool + PLp * C);  // [PLp][C] their codes
  for (int64_t o = 0; o < C; o += kLanes)
    for (int64_t q = 0; q < PL; q += kLanes) {
      const int64_t nq = std::min(kLanes, PL - q);
      transpose16(pg.gy + (row0 + o) * PL + q, PL, kLanes, gT + q * C + o, C, nq);
      alignas(64) int32_t block[kLanes * kLanes];
      for (int64_t c = 0; c < kLanes; ++c) {
        const uint8_t* at = pg.codes + (row0 + o + c) * PL + q;
        __m128i cb;
        if (pg.codesEnd - at >= 16) {
          cb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
        } else {
          alignas(16) uint8_t tail[16] = {};
          std::memcpy(tail, at, static_cast<size_t>(nq));
          cb = _mm_load_si128(reinterpret_cast<const __m128i*>(tail));
        }
        _mm512_store_si512(block + c * kLanes, _mm512_cvtepu8_epi32(cb));
      }
      transpose16(reinterpret_cast<const float*>(block), kLanes, kLanes, reinterpret_cast<float*>(cT + q * C + o), C,
                  nq, nq);
    }
  // Pixels no window covers (an odd map's last row or column) and those past L stay zero.
  if (OH % 2 || OW % 2) std::memset(gyT, 0, static_cast<size_t>(Lp * C) * sizeof(float));
  else std::memset(gyT + L * C, 0, static_cast<size_t>((Lp - L) * C) * sizeof(float));
  const __m512i k1 = _mm512_set1_epi32(1), k2 = _mm512_set1_epi32(2), k3 = _mm512_set1_epi32(3);
  for (int64_t ph = 0; ph < PH; ++ph)
    for (int64_t pw = 0; pw < PW; ++pw) {
      const int64_t q = ph * PW + pw, l = 2 * ph * OW + 2 * pw;
      float* r0 = gyT + l * C;
      float* r1 = r0 + OW * C;
      for (int64_t o = 0; o < C; o += kLanes) {
        const __m512 gv = _mm512_loadu_ps(gT + q * C + o);
        const __m512i cv = _mm512_loadu_si512(cT + q * C + o);
        _mm512_storeu_ps(r0 + o, _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(cv, _mm512_setzero_si512()), gv));
        _mm512_storeu_ps(r0 + C + o, _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(cv, k1), gv));
        _mm512_storeu_ps(r1 + o, _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(cv, k2), gv));
        _mm512_storeu_ps(r1 + C + o, _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(cv, k3), gv));
      }
    }
  if (!sums) return;
  const int64_t L8 = L - L % 8;
  for (int64_t o = 0; o < C; o += kLanes) {
    __m512 part[8];
    for (__m512& v : part) v = _mm512_setzero_ps();
    for (int64_t l = 0; l < L; ++l) {
      __m512& v = part[l < L8 ? l % 8 : 0];
      v = _mm512_add_ps(v, _mm512_loadu_ps(gyT + l * C + o));
    }
    const __m512 total = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(part[0], part[1]), _mm512_add_ps(part[2], part[3])),
                                       _mm512_add_ps(_mm512_add_ps(part[4], part[5]), _mm512_add_ps(part[6], part[7])));
    alignas(64) float out[kLanes];
    _mm512_store_ps(out, total);
    for (int64_t c = 0; c < kLanes; ++c) sums[row0 + o + c] = static_cast<double>(out[c]);
  }
}
#pragma GCC diagnostic pop

// The larger convolutions that useDirect leaves to the phase-plane GEMM,
// when their groups have whole vectors of output channels, also take the
// lanes for their weight gradient (Note [Weight gradient in lanes]), and
// where their input channels do, for the input gradient (Note [Input
// gradient in lanes]). Their forward in lanes when it first read phase
// planes, measured as useDirect's note, one thread, GEMM -> lanes: 32 ->
// 64 channels 14x14 6.8 -> 4.8 ms; 16 -> 32 28x28 6.7 -> 5.5; 64 -> 64
// 28x28 23.5 -> 17.8; 64 -> 128 14x14 stride 2 3.2 -> 2.7; 32 -> 32 28x28
// stride 2 2.1 -> 1.6; 128 -> 128 14x14 5.6 -> 4.4. (1 -> 32
// and 3 -> 64 channels, which useDirect takes, ran 0.85 -> 1.0 and 1.85 ->
// 1.98: a 9- or 27-deep sum does not pay for the transpose.)
bool useLanes(const ConvGeom& g, const Conv2dParams& p) {
  if (vec::activeIsa() != vec::Isa::Avx512 || !usePhasePlanes(g, p)) return false;
  return g.OCg % kLanes == 0;
}

// Calls f(R, NV, o0) over the OCr channels (a multiple of 16) in tiles of
// NV channel vectors from o0, R and NV as std::integral_constant: 4 vectors
// while they last (6 x 4 sums), then 3, 2 or 1 (8 x 3, 12 x 2, 12 x 1).
template <typename F>
void forChannelTiles(int64_t OCr, F&& f) {
  for (int64_t o0 = 0; o0 < OCr;) {
    const int64_t left = (OCr - o0) / kLanes;
    if (left >= 4) f(std::integral_constant<int, 6>{}, std::integral_constant<int, 4>{}, o0);
    else if (left == 3) f(std::integral_constant<int, 8>{}, std::integral_constant<int, 3>{}, o0);
    else if (left == 2) f(std::integral_constant<int, 12>{}, std::integral_constant<int, 2>{}, o0);
    else f(std::integral_constant<int, 12>{}, std::integral_constant<int, 1>{}, o0);
    o0 += std::min<int64_t>(left, 4) * kLanes;
  }
}

// Note [Lanes from padded planes]: the lanes tile reads its inputs one
// float at a time, by broadcast, so unlike the direct tile it needs no two
// taps at neighbouring addresses: at any stride and dilation, output pixel
// (oh, ow) reads tap (c, ki, kj) of the padded input at
//   c * Hp * Wp + (oh * sH + ki * dH) * Wp + ow * sW + kj * dW,
// a pixel offset plus a tap offset, as the tables below hold. So the input
// is only copied to make its padding: each image's planes into zeroed
// planes of Hp x Wp (the borders zeroed once per thread's run of images,
// the rows copied per image), or read where it lies when there is no
// padding. The phase split it replaced (Note [Phase planes]) moved each
// stride-2 input row as two runs of every other float: in the seed CNN's
// inference a fifth of the time, more than its 16 -> 16 layer's sums.
__attribute__((target("avx512f"))) void padImage(const float* x, int64_t C, int64_t H, int64_t W, int64_t padH,
                                                 int64_t padW, int64_t Hp, int64_t Wp, float* P) {
  if (W <= kLanes) {  // one masked move per row (the seed CNN's maps), the mask worked out once
    const __mmask16 m = static_cast<__mmask16>(W == kLanes ? 0xFFFF : (1u << W) - 1);
    for (int64_t c = 0; c < C; ++c) {
      const float* s = x + c * H * W;
      float* d = P + (c * Hp + padH) * Wp + padW;
      for (int64_t h = 0; h < H; ++h) _mm512_mask_storeu_ps(d + h * Wp, m, _mm512_maskz_loadu_ps(m, s + h * W));
    }
    return;
  }
  for (int64_t c = 0; c < C; ++c)
    for (int64_t h = 0; h < H; ++h) {
      const float* s = x + (c * H + h) * W;
      float* d = P + (c * Hp + h + padH) * Wp + padW;
      for (int64_t w = 0; w < W; w += kLanes) {
        const __mmask16 m = static_cast<__mmask16>(W - w >= kLanes ? 0xFFFF : (1u << (W - w)) - 1);
        _mm512_mask_storeu_ps(d + w, m, _mm512_maskz_loadu_ps(m, s + w));
      }
    }
}

// The output channels go in vectors of 16, the last one padded with zero
// weights (the seed CNN's 10-channel layer) and its padding never stored.
// With pool, Y holds the 2x2 stride-2 max pool of the result (Note
// [Conv-ReLU-pool fusion]), taken from the [pixel][channel] sums before the
// transpose: a quarter of the transposing and of the writes to Y.
// With px, the input is a pooled gradient (lanesGradInput), expanded an
// image at a time, straight into the padded planes where there is padding.
void conv2dLanes(const ConvGeom& g, const Conv2dParams& p, const float* X, const float* Wt, const float* Bs, float* Y,
                 bool relu, bool pool, uint8_t* codes = nullptr, const PooledGrad* px = nullptr) {
  const int64_t OCr = roundUpTo(g.OCg, kLanes), KK = g.KH * g.KW;
  const int64_t Hp = g.H + 2 * p.padH, Wp = g.W + 2 * p.padW, HWp = Hp * Wp;
  const bool inPlace = p.padH == 0 && p.padW == 0;
  // Weights per group as [Kg][OCr], the bias as [G][OCr]; zero past OCg.
  std::vector<float> Wk(static_cast<size_t>(g.G * g.Kg * OCr), 0.0f), bias(static_cast<size_t>(g.G * OCr), 0.0f);
  for (int64_t gi = 0; gi < g.G; ++gi)
    for (int64_t o = 0; o < g.OCg; ++o) {
      for (int64_t k = 0; k < g.Kg; ++k) Wk[(gi * g.Kg + k) * OCr + o] = Wt[(gi * g.OCg + o) * g.Kg + k];
      if (Bs) bias[gi * OCr + o] = Bs[gi * g.OCg + o];
    }
  std::vector<int64_t> koff(static_cast<size_t>(g.Kg));
  for (int64_t k = 0; k < g.Kg; ++k) {
    const int64_t c = k / KK, ki = k % KK / g.KW, kj = k % g.KW;
    koff[k] = c * HWp + ki * p.dilationH * Wp + kj * p.dilationW;
  }
  // Each output pixel's offset, padded with copies of the last to a whole
  // number of tiles (whose sums land in rows of tmp that the copy-out skips).
  const int64_t Lp = roundUpTo(g.L, 4);  // room for lanesRange's last tile
  std::vector<int64_t> pix(static_cast<size_t>(Lp));
  for (int64_t i = 0; i < Lp; ++i) {
    const int64_t l = std::min(i, g.L - 1);
    pix[i] = (l / g.OW) * p.strideH * Wp + l % g.OW * p.strideW;
  }
  const int64_t Ly = pool ? (g.OH / 2) * (g.OW / 2) : g.L;
  // One image per step: single images share out evenly over the threads.
  parallelFor(0, g.N, 1, [&](int64_t n0, int64_t n1) {
    Scratch<float> P(kColRole, inPlace ? 0 : g.C * HWp);
    Scratch<float> tmp(kOutRole, Lp * OCr);                      // one image's sums of one group, [pixel][OCr]
    Scratch<int32_t> at(kPartsRole, codes ? Ly * OCr : 0);       // their pooled window codes, [pixel][OCr]
    Scratch<float> xe(kDxRole, px && inPlace ? g.C * g.HW : 0);  // an image of px expanded
    if (!inPlace) std::memset(P.get(), 0, static_cast<size_t>(g.C * HWp) * sizeof(float));
    for (int64_t n = n0; n < n1; ++n) {
      const float* xn = px ? xe.get() : X + n * g.C * g.HW;
      if (px && inPlace) px->expand(n * g.C, g.C, g.H, g.W, xe.get());
      if (px && !inPlace) px->expand(n * g.C, g.C, g.H, g.W, P.get() + p.padH * Wp + p.padW, Wp, HWp);
      if (!px && !inPlace) padImage(xn, g.C, g.H, g.W, p.padH, p.padW, Hp, Wp, P.get());
      const float* Pn = inPlace ? xn : P.get();
      for (int64_t gi = 0; gi < g.G; ++gi) {
        const float* Pg = Pn + gi * g.Cg * HWp;
        const float* Wg = Wk.data() + gi * g.Kg * OCr;
        const float* bs = bias.data() + gi * OCr;
        float* out = tmp.get();
        forChannelTiles(OCr, [&](auto R, auto NV, int64_t o0) {
          lanesRange<decltype(R)::value, decltype(NV)::value>(Pg, pix.data(), g.L, koff.data(), g.Kg, Wg + o0, OCr,
                                                              bs + o0, relu, out + o0);
        });
        if (pool) pool2x2Pixels(out, g.OH, g.OW, OCr, codes ? at.get() : nullptr);
        // [pixel][OCr] -> y[n, gi * OCg + oc, OH, OW] (or the pooled planes).
        for (int64_t oc = 0; oc < g.OCg; oc += kLanes) {
          const int64_t nc = std::min(kLanes, g.OCg - oc);
          float* dst = Y + (n * g.OC + gi * g.OCg + oc) * Ly;
          for (int64_t l = 0; l < Ly; l += kLanes)
            transpose16(out + l * OCr + oc, OCr, std::min(kLanes, Ly - l), dst + l, Ly, nc, nc);
          if (!codes) continue;
          uint8_t* cd = codes + (n * g.OC + gi * g.OCg + oc) * Ly;
          for (int64_t l = 0; l < Ly; l += kLanes)
            transposeCodes16(at.get() + l * OCr + oc, OCr, std::min(kLanes, Ly - l), cd + l, Ly, nc);
        }
      }
    }
  });
}

// Which convolutions take the direct path: those whose weights W [OCg, Kg]
// fill at most a 16-channel tile over 144 taps (16 -> 16 channels, 3x3).
// Measured on this project's shared 2-core AMD EPYC (Zen 4, AVX-512)
// machine, forward + both gradients of a 64-image batch on one thread, best
// of several hundred runs, GEMM path -> direct: 1 -> 16 channels 28x28
// stride 2 0.87 -> 0.33 ms; 16 -> 16 14x14 stride 2 0.96 -> 0.76 ms;
// 16 -> 10 7x7 stride 2 0.37 -> 0.25 ms; 1 -> 32 28x28 3.2 -> 2.3 ms. The
// larger layers lost: 32 -> 64 channels 3x3 on 14x14 (W 64 x 288) and the
// 1-d 32 -> 64 channels, kernel 5 on 256 (W 64 x 160) took 1.1-2x longer,
// where the GEMM's packed 6x64 tiles reuse each loaded column over more
// output channels than the direct loop's 16.
bool useDirect(const ConvGeom& g, const Conv2dParams& p) {
  if (vec::activeIsa() != vec::Isa::Avx512 || !usePhasePlanes(g, p)) return false;
  return g.OCg * g.Kg <= 16 * 144;
}

// Which forward convolutions run in lanes (Note [Lanes from padded
// planes]): all that useLanes' test of the stride allows, but for the
// shallow sums (fewer than 32 taps: first layers on 1 to 3 channels) that
// useDirect takes, where a tap is too little work per broadcast and the
// direct tile's stores cost less than the transpose. A last vector of
// output channels only partly used wastes less than the direct tile's
// garbage columns or the GEMM path's copies. Measured (forward with its
// relu, batch 64, one thread, medians of 2 s, before -> lanes): the seed
// CNN's 16 -> 16 channels 14x14 stride 2 280 -> 198 us, 16 -> 10 7x7
// stride 2 124 -> 64 us (both direct before), 1 -> 16 28x28 stride 2 135
// -> 158 us (stays direct); 16 -> 10 14x14 800 -> 630, 6 -> 16 28x28 1230
// -> 1095, 8 -> 16 14x14 and 3 -> 16 32x32 the same; GEMM before: 24 ->
// 24 14x14 2.2 -> 1.9 ms, 48 -> 40 14x14 7.6 -> 5.5, 64 -> 100 8x8 6.9 ->
// 5.4, 32 -> 20 28x28 stride 2 3.6 -> 2.8.
bool lanesForward(const ConvGeom& g, const Conv2dParams& p) {
  if (vec::activeIsa() != vec::Isa::Avx512 || !usePhasePlanes(g, p)) return false;
  return !(useDirect(g, p) && g.Kg < 32);
}

// Note [Input gradient in lanes]: with stride 1 the input gradient is itself
// a convolution, of gy with the weights flipped in both kernel dims and
// their in and out channels swapped, padded by dilation * (kernel - 1) -
// padding: dx[c](h, w) = sum over o, ki, kj of
// gy[o](h + pad - ki * d, w + pad - kj * d) * W[o, c](ki, kj), taps outside
// gy reading zero. So where the input channels make whole vectors, it runs
// as conv2dLanes' forward instead of the GEMM and col2im of the phase-plane
// path (32 -> 64 channels 3x3 on 14x14, LeNet's second layer: see the note's
// measurements). Says whether it ran.
// The transposed problem of the input gradient, gy [N, OC, OH, OW] -> dx
// [N, C, H, W], as a convolution with geometry q; false where the lanes do
// not take it.
bool lanesGradInputFits(const ConvGeom& g, const Conv2dParams& p, ConvGeom* tOut = nullptr,
                        Conv2dParams* qOut = nullptr) {
  if (p.strideH != 1 || p.strideW != 1) return false;
  const int64_t extH = p.dilationH * (g.KH - 1), extW = p.dilationW * (g.KW - 1);
  if (p.padH > extH || p.padW > extW) return false;
  const ConvGeom t = convGeom(g.N, g.OC, g.OH, g.OW, g.C, g.KH, g.KW, g.H, g.W, g.G);
  Conv2dParams q = p;
  q.padH = extH - p.padH;
  q.padW = extW - p.padW;
  if (!useLanes(t, q) || useDirect(t, q)) return false;
  if (tOut) *tOut = t;
  if (qOut) *qOut = q;
  return true;
}

bool lanesGradInput(const ConvGeom& g, const Conv2dParams& p, const float* GY, const float* Wt, float* GX,
                    const PooledGrad* pg = nullptr) {
  ConvGeom t;
  Conv2dParams q;
  if (!lanesGradInputFits(g, p, &t, &q)) return false;
  // W [OC, Cg, KH, KW] -> W' [C, OCg, KH, KW], per group, flipped.
  const int64_t KK = g.KH * g.KW;
  std::vector<float> Wf(static_cast<size_t>(g.OC * g.Kg));
  for (int64_t gi = 0; gi < g.G; ++gi)
    for (int64_t o = 0; o < g.OCg; ++o)
      for (int64_t c = 0; c < g.Cg; ++c)
        for (int64_t k = 0; k < KK; ++k)
          Wf[static_cast<size_t>(((gi * g.Cg + c) * g.OCg + o) * KK + (KK - 1 - k))] =
              Wt[((gi * g.OCg + o) * g.Cg + c) * KK + k];
  conv2dLanes(t, q, GY, Wf.data(), nullptr, GX, false, false, nullptr, pg);
  return true;
}

// Note [Weight gradient in lanes]: gW[o, (c, t)] = sum over images and
// output pixels l of gy[o](l) * P_c(tap_t + l), the forward's sums with the
// roles of taps and pixels swapped. So it runs on the same registers: 16
// output channels per vector, R taps x NV channel vectors of sums, and per
// pixel NV loads of gy (transposed to [pixel][channel] per image, padded
// pixels zero), R broadcasts from the phase planes and R*NV FMAs. The GEMM
// path first unfolded x into columns, then packed them again (LeNet's
// 32 -> 64 layer, 64 images, 2 threads, forward then weight gradient:
// 7.1-7.6 ms on the GEMM path, 6.05-6.4 here; the forward alone is 2.7).
// Chunks of images make parts
// summed in chunk order, as in conv2dBackwardPhases, so results do not
// depend on the thread count.
template <int R, int NV>
__attribute__((target("avx512f"))) void gradWeightTile(const float* P, const int64_t* koff, const int64_t* pix,
                                                       int64_t Lp, int64_t PS, int64_t b, const float* gyT, int64_t OCr,
                                                       float* part) {
  __m512 acc[R][NV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int64_t bi = 0; bi < b; ++bi) {
    const float* src[R];
    for (int r = 0; r < R; ++r) src[r] = P + bi * PS + koff[r];
    const float* gi = gyT + bi * Lp * OCr;
    for (int64_t l = 0; l < Lp; ++l) {
      const int64_t o = pix[l];
      __m512 gv[NV];
      for (int v = 0; v < NV; ++v) gv[v] = _mm512_loadu_ps(gi + l * OCr + v * kLanes);
      for (int r = 0; r < R; ++r) {
        const __m512 x = _mm512_set1_ps(src[r][o]);
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(x, gv[v], acc[r][v]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(part + r * OCr + v * kLanes, acc[r][v]);
}

// Taps in tiles of R for channel vectors o0 .. o0 + 16*NV - 1: part [KgPad][OCr].
template <int R, int NV>
void gradWeightRange(const float* P, const int64_t* koff, int64_t KgPad, const int64_t* pix, int64_t Lp, int64_t PS,
                     int64_t b, const float* gyT, int64_t OCr, float* part) {
  for (int64_t k = 0; k < KgPad; k += R) gradWeightTile<R, NV>(P, koff + k, pix, Lp, PS, b, gyT, OCr, part + k * OCr);
}

// Says whether it ran (the layers with whole vectors of output channels).
// GB, when given, gets the bias gradient as conv2dBackwardDirect takes it,
// from the gy rows just transposed.
bool lanesGradWeight(const ConvGeom& g, const Conv2dParams& p, const float* GY, const float* X, float* GW, float* GB,
                     const PooledGrad* pg = nullptr) {
  if (!useLanes(g, p)) return false;
  const DirectGeom d = directGeom(g, p);
  const int64_t OCr = g.OCg, KK = g.KH * g.KW;
  const int64_t KgPad = roundUpTo(g.Kg, 24);  // a multiple of every R below; the extra taps read offset 0
  std::vector<int64_t> koff(static_cast<size_t>(KgPad), 0);
  for (int64_t k = 0; k < g.Kg; ++k) koff[k] = (k / KK) * d.CS + d.tap[k % KK];
  const int64_t Lp = roundUpTo(g.L, kLanes);
  std::vector<int64_t> pix(static_cast<size_t>(Lp));
  for (int64_t i = 0; i < Lp; ++i) {
    const int64_t l = std::min(i, g.L - 1);
    pix[i] = (l / g.OW) * d.e.Wq + l % g.OW;
  }
  const int64_t chunks = (g.N + d.B - 1) / d.B;
  const int64_t pn = g.G * KgPad * OCr;  // one chunk's part, [G][KgPad][OCr]
  Scratch<float> parts(kPartsRole, chunks * pn);
  std::vector<double> planeSums(static_cast<size_t>(GB ? g.N * g.OC : 0));
  parallelFor(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    Scratch<float> P(kColRole, g.C * d.CS);
    Scratch<float> gyT(kOutRole, d.B * Lp * OCr);
    Scratch<float> pooled(kDxRole, pg ? 2 * roundUpTo(pg->PH * pg->PW, kLanes) * OCr : 0);  // expandPooledT's
    for (int64_t ch = c0; ch < c1; ++ch) {
      const int64_t n0 = ch * d.B, b = std::min(d.B, g.N - n0);
      splitBlock(X + n0 * g.C * g.HW, b, g, d, P.get());
      for (int64_t gi = 0; gi < g.G; ++gi) {
        // gy of the group's channels, per image [Lp][OCr], pixels past L zero.
        for (int64_t bi = 0; bi < b; ++bi) {
          const int64_t row0 = (n0 + bi) * g.OC + gi * g.OCg;
          if (pg) {
            expandPooledT(*pg, row0, OCr, g.OH, g.OW, Lp, gyT.get() + bi * Lp * OCr, pooled.get(),
                          GB ? planeSums.data() : nullptr);
            continue;
          }
          const float* gy = GY + row0 * g.L;
          for (int64_t o = 0; o < g.OCg; o += kLanes)
            for (int64_t l = 0; l < Lp; l += kLanes)
              transpose16(gy + o * g.L + l, g.L, kLanes, gyT.get() + (bi * Lp + l) * OCr + o, OCr,
                          std::min(kLanes, g.L - l));
          if (GB)
            for (int64_t o = 0; o < g.OCg; ++o)
              planeSums[static_cast<size_t>(row0 + o)] = static_cast<double>(planeSum(gy + o * g.L, g.L));
        }
        const float* Pg = P.get() + gi * g.Cg * d.CS;
        float* part = parts.get() + ch * pn + gi * KgPad * OCr;
        forChannelTiles(OCr, [&](auto R, auto NV, int64_t o0) {
          gradWeightRange<decltype(R)::value, decltype(NV)::value>(Pg, koff.data(), KgPad, pix.data(), Lp, d.e.PS, b,
                                                                   gyT.get() + o0, OCr, part + o0);
        });
      }
    }
  });
  // GW[gi * OCg + o, k] = the parts' [gi][k][o], summed in chunk order.
  parallelFor(0, g.OC, 1, [&](int64_t o0, int64_t o1) {
    for (int64_t oc = o0; oc < o1; ++oc) {
      const int64_t gi = oc / g.OCg, o = oc % g.OCg;
      for (int64_t k = 0; k < g.Kg; ++k) {
        const float* at = parts.get() + (gi * KgPad + k) * OCr + o;
        float sum = at[0];
        for (int64_t ch = 1; ch < chunks; ++ch) sum += at[ch * pn];
        GW[oc * g.Kg + k] = sum;
      }
    }
  });
  if (GB) biasFromPlaneSums(planeSums, g.N, g.OC, GB);
  return true;
}

template <bool kIndices>
__attribute__((target("avx512f"))) void maxPool2x2RowAvx512(const float* a, const float* b, int64_t r0, int64_t W,
                                                            int64_t OW, float* y, int64_t* ind);

// With pool, Y holds the 2x2 stride-2 max pool of the result (Note
// [Conv-ReLU-pool fusion]): the tile's sums go to a buffer and each map is
// pooled from there into Y (poolMapAddBias); without, the rows go
// straight to Y (directForwardRows).
void conv2dDirect(const ConvGeom& g, const Conv2dParams& p, const float* X, const float* Wt, const float* Bs, float* Y,
                  bool relu, bool pool, uint8_t* codes = nullptr) {
  const DirectGeom d = directGeom(g, p);
  const int64_t OHp = g.OH / 2, OWp = g.OW / 2;
  std::vector<float> Wp(static_cast<size_t>(g.G * g.Kg * d.OCr));
  for (int64_t gi = 0; gi < g.G; ++gi) packWeights(Wt + gi * g.OCg * g.Kg, g, d, Wp.data() + gi * g.Kg * d.OCr);
  std::vector<float> bias(static_cast<size_t>(g.OC), 0.0f);
  if (Bs) std::copy(Bs, Bs + g.OC, bias.begin());
  const int64_t chunks = (g.N + d.B - 1) / d.B;
  parallelFor(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    Scratch<float> P(kColRole, g.C * d.CS);
    Scratch<float> tmp(kOutRole, pool ? g.G * d.OCr * d.J : 0);
    for (int64_t ch = c0; ch < c1; ++ch) {
      const int64_t n0 = ch * d.B, b = std::min(d.B, g.N - n0);
      splitBlock(X + n0 * g.C * g.HW, b, g, d, P.get());
      if (!pool) {
        for (int64_t gi = 0; gi < g.G; ++gi)
          for (int64_t o0 = 0; o0 < g.OCg; o0 += kLanes)
            directForwardRows(P.get() + gi * g.Cg * d.CS, Wp.data() + gi * g.Kg * d.OCr, o0,
                              std::min(kLanes, g.OCg - o0), g, d, b, bias.data() + gi * g.OCg + o0, relu,
                              Y + (n0 * g.OC + gi * g.OCg) * g.L);
        continue;
      }
      for (int64_t gi = 0; gi < g.G; ++gi)
        for (int64_t o0 = 0; o0 < d.OCr; o0 += kLanes)
          directForwardTile(P.get() + gi * g.Cg * d.CS, Wp.data() + gi * g.Kg * d.OCr, o0, g, d,
                            tmp.get() + (gi * d.OCr + o0) * d.J);
      // [G, OCr, b*PS] -> each map with its bias (and relu), pooled into Y.
      for (int64_t bi = 0; bi < b; ++bi) {
        for (int64_t oc = 0; oc < g.OC; ++oc) {
          const float* src = tmp.get() + ((oc / g.OCg) * d.OCr + oc % g.OCg) * d.J + bi * d.e.PS;
          const int64_t at = ((n0 + bi) * g.OC + oc) * OHp * OWp;
          poolMapAddBias(src, d.e.Wq, g.OH, g.OW, bias[oc], relu, Y + at, codes ? codes + at : nullptr);
        }
      }
    }
  });
}

// dst[oh * wd + ow] = src[oh * OW + ow] for an OH x OW map, masked moves
// of up to 16 floats (the element loop ran one float at a time).
__attribute__((target("avx512f"))) void copyMapRows(const float* src, int64_t OH, int64_t OW, float* dst, int64_t wd) {
  for (int64_t oh = 0; oh < OH; ++oh)
    for (int64_t ow = 0; ow < OW; ow += kLanes) {
      const __mmask16 m = static_cast<__mmask16>(OW - ow >= kLanes ? 0xFFFF : (1u << (OW - ow)) - 1);
      _mm512_mask_storeu_ps(dst + oh * wd + ow, m, _mm512_maskz_loadu_ps(m, src + oh * OW + ow));
    }
}

// GB, when given, gets the bias gradient: each image's plane sums taken
// while gy is copied (planeSum, as the other paths take them), then summed
// over the images in order, in double. Reading gy once for both saved a
// pass over LeNet's first-layer gradient (6.4 MB at batch 64).
void conv2dBackwardDirect(const ConvGeom& g, const Conv2dParams& p, const float* GY, const float* X, const float* Wt,
                          float* GX, float* GW, float* GB, const PooledGrad* pg = nullptr) {
  const DirectGeom d = directGeom(g, p);
  const int64_t KK = g.KH * g.KW;
  // Weights as [G][KK][OCg][Cg] for the grad input's broadcasts.
  std::vector<float> Wx(static_cast<size_t>(g.OC * g.Kg));
  for (int64_t gi = 0; gi < g.G; ++gi)
    for (int64_t o = 0; o < g.OCg; ++o)
      for (int64_t c = 0; c < g.Cg; ++c)
        for (int64_t t = 0; t < KK; ++t)
          Wx[static_cast<size_t>(((gi * KK + t) * g.OCg + o) * g.Cg + c)] = Wt[((gi * g.OCg + o) * g.Cg + c) * KK + t];
  const int64_t KgPad = roundUpTo(g.Kg, 6);
  std::vector<int64_t> koff(static_cast<size_t>(KgPad), 0);
  for (int64_t k = 0; k < g.Kg; ++k) koff[k] = (k / KK) * d.CS + d.tap[k % KK];
  const int64_t chunks = (g.N + d.B - 1) / d.B;
  const int64_t wn = g.OC * g.Kg;
  Scratch<float> parts(kPartsRole, GW ? (chunks - 1) * wn : 0);
  std::vector<double> planeSums(static_cast<size_t>(GB ? g.N * g.OC : 0));
  parallelFor(0, chunks, 1, [&](int64_t c0, int64_t c1) {
    Scratch<float> P(kColRole, GW ? g.C * d.CS : 0);
    Scratch<float> gyP(kOutRole, g.G * d.OCr * d.RS);
    Scratch<float> dP(kDxRole, GX ? g.C * d.CS : 0);
    std::vector<float> plane(static_cast<size_t>(pg ? g.L : 0));  // a map plane expanded from pg
    for (int64_t ch = c0; ch < c1; ++ch) {
      const int64_t n0 = ch * d.B, b = std::min(d.B, g.N - n0);
      // gy -> rows [G, OCr] of PadF zeros then J columns in the forward's
      // output layout, zero outside the outputs.
      std::memset(gyP.get(), 0, static_cast<size_t>(g.G * d.OCr * d.RS) * sizeof(float));
      for (int64_t bi = 0; bi < b; ++bi) {
        for (int64_t oc = 0; oc < g.OC; ++oc) {
          float* dst = gyP.get() + ((oc / g.OCg) * d.OCr + oc % g.OCg) * d.RS + d.PadF + bi * d.e.PS;
          const int64_t row = (n0 + bi) * g.OC + oc;
          if (pg) pg->expand(row, 1, g.OH, g.OW, plane.data());
          const float* src = pg ? plane.data() : GY + row * g.L;
          copyMapRows(src, g.OH, g.OW, dst, d.e.Wq);
          if (GB) planeSums[static_cast<size_t>((n0 + bi) * g.OC + oc)] = static_cast<double>(planeSum(src, g.L));
        }
      }
      if (GW) {
        splitBlock(X + n0 * g.C * g.HW, b, g, d, P.get());
        float* dstW = ch == 0 ? GW : parts.get() + (ch - 1) * wn;
        for (int64_t gi = 0; gi < g.G; ++gi)
          directGradWeight(gyP.get() + gi * d.OCr * d.RS + d.PadF, P.get() + gi * g.Cg * d.CS, koff.data(), KgPad, g, d,
                           dstW + gi * g.OCg * g.Kg);
      }
      if (GX) {
        for (int64_t gi = 0; gi < g.G; ++gi)
          directGradInput(gyP.get() + gi * d.OCr * d.RS + d.PadF, Wx.data() + gi * KK * g.OCg * g.Cg, g, d,
                          dP.get() + gi * g.Cg * d.CS);
        foldBlock(dP.get(), b, g, d, GX + n0 * g.C * g.HW);
      }
    }
  });
  if (GW && chunks > 1) {
    parallelFor(0, wn, kGrainWork, [&](int64_t i0, int64_t i1) {
      for (int64_t ch = 1; ch < chunks; ++ch) {
        const float* part = parts.get() + (ch - 1) * wn;
        for (int64_t i = i0; i < i1; ++i) GW[i] += part[i];
      }
    });
  }
  if (GB) biasFromPlaneSums(planeSums, g.N, g.OC, GB);
}
#endif

template <typename T>
void addBias(T* y, const T* bias, int64_t N, int64_t OC, int64_t L, bool relu) {
  parallelFor(0, N * OC, grainFor(L), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const T b = bias ? bias[t % OC] : T(0);
      T* d = y + t * L;
      for (int64_t l = 0; l < L; ++l) d[l] = reluIf(relu, d[l] + b);
    }
  });
}

template <typename T>
void maxPoolTyped(const TensorView& x, const Pool2dParams& p, const TensorView& out, const TensorView* indices);

// Note [Conv-ReLU-pool fusion]: nn.Sequential under noGrad runs a plain
// Conv2d, ReLU and 2x2 MaxPool2d as one call (lib/ops/nn.ts, Note [Conv-ReLU
// fusion]). The convolution's output is four times the pooled one (6.4 MB
// for a LeNet's first layer at batch 64), written to fresh memory and read
// back by the pool; here the direct and lanes paths pool each map while it
// is still in cache, and write only the pooled result. The other paths
// convolve into a buffer and pool that. Values are the unfused layers'
// exactly: relu then pool, taps in PyTorch's order.
template <typename T>
void conv2dTyped(const TensorView& x, const TensorView& w, const TensorView* bias, const Conv2dParams& p,
                 const TensorView& out, bool relu, const ConvPool* pool) {
  if (pool) {
    TensorView full = out;  // the shape the convolution itself has, contiguous
    full.shape[2] = pool->OH;
    full.shape[3] = pool->OW;
    for (int i = 3; i >= 0; --i) full.strides[i] = i == 3 ? 1 : full.strides[i + 1] * full.shape[i + 1];
    const ConvGeom g = convGeom(x, w, full, p);
    if (g.N == 0 || g.OC == 0 || out.shape[2] == 0 || out.shape[3] == 0) return;
#if KD_WIDE_SIMD
    if constexpr (std::is_same_v<T, float>) {
      if (lanesForward(g, p))
        return conv2dLanes(g, p, x.ptr<float>(), w.ptr<float>(), bias ? bias->ptr<float>() : nullptr, out.ptr<float>(),
                           relu, true, pool->codes);
      if (useDirect(g, p))
        return conv2dDirect(g, p, x.ptr<float>(), w.ptr<float>(), bias ? bias->ptr<float>() : nullptr, out.ptr<float>(),
                            relu, true, pool->codes);
    }
#endif
    std::vector<T> y(static_cast<size_t>(g.N * g.OC * g.L));
    full.data = y.data();
    conv2dTyped<T>(x, w, bias, p, full, relu, nullptr);
    Pool2dParams pp;
    pp.kernelH = pp.kernelW = pp.strideH = pp.strideW = 2;
    const int64_t planes = g.N * g.OC, PH = out.shape[2], PW = out.shape[3], PL = PH * PW;
    std::vector<int64_t> at(pool->codes ? static_cast<size_t>(planes * PL) : 0);
    const TensorView ind = view3(at.data(), DType::Int64, planes, PH, PW, PL, PW, 1);
    maxPoolTyped<T>(view3(y.data(), x.dtype, planes, g.OH, g.OW, g.L, g.OW, 1), pp,
                    view3(out.data, x.dtype, planes, PH, PW, PL, PW, 1), pool->codes ? &ind : nullptr);
    // Plane offsets h * OW + w to window positions (ConvPool::codes).
    const T* Y = out.ptr<T>();
    for (int64_t i = 0; pool->codes && i < planes * PL; ++i) {
      const int64_t ph = i % PL / PW, pw = i % PW, h = at[i] / g.OW, w = at[i] % g.OW;
      pool->codes[i] = static_cast<uint8_t>(Y[i] > T(0) ? (h - 2 * ph) * 2 + (w - 2 * pw) : 4);
    }
    return;
  }
  const ConvGeom g = convGeom(x, w, out, p);
  const DType dt = x.dtype;
  const T* X = x.ptr<T>();
  const T* Wt = w.ptr<T>();
  T* Y = out.ptr<T>();
  const T* Bs = bias ? bias->ptr<T>() : nullptr;
  if (g.N == 0 || g.OC == 0 || g.L == 0) return;

#if KD_WIDE_SIMD
  if constexpr (std::is_same_v<T, float>) {
    if (lanesForward(g, p)) return conv2dLanes(g, p, X, Wt, Bs, Y, relu, false);
    if (useDirect(g, p)) return conv2dDirect(g, p, X, Wt, Bs, Y, relu, false);
  }
#endif
  if (usePhasePlanes(g, p)) return conv2dPhases(g, p, X, Wt, Bs, Y, dt, relu);
  const bool pointwise = isPointwise(g, p);
  const int64_t B = chunkImages(g);
  Scratch<T> col(kColRole, pointwise && B == 1 ? 0 : g.K * B * g.L);
  Scratch<T> tmp(kOutRole, B > 1 ? g.OC * B * g.L : 0);
  for (int64_t n0 = 0; n0 < g.N; n0 += B) {
    const int64_t b = std::min(B, g.N - n0);
    const int64_t BL = b * g.L;
    const T* cols = col.data();
    if (pointwise && B == 1) cols = X + n0 * g.C * g.HW;
    else im2col(X + n0 * g.C * g.HW, b, g, p, col.data());
    // One image: the GEMM's [OC, L] result is already y[n]'s layout.
    T* dst = B == 1 ? Y + n0 * g.OC * g.L : tmp.data();
    matmul(view3(Wt, dt, g.G, g.OCg, g.Kg, g.OCg * g.Kg, g.Kg, 1), view3(cols, dt, g.G, g.Kg, BL, g.Kg * BL, BL, 1),
           view3(dst, dt, g.G, g.OCg, BL, g.OCg * BL, BL, 1));
    if (B == 1) {
      if (Bs || relu) addBias(dst, Bs, 1, g.OC, g.L, relu);
      continue;
    }
    // [OC, b, L] -> y[n0 + bi, oc, L], adding the bias on the way.
    T* Yc = Y + n0 * g.OC * g.L;
    parallelFor(0, b * g.OC, grainFor(g.L), [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t bi = t / g.OC, oc = t % g.OC;
        const T* s = tmp.data() + oc * BL + bi * g.L;
        T* d = Yc + t * g.L;
        const T bv = Bs ? Bs[oc] : T(0);
        for (int64_t l = 0; l < g.L; ++l) d[l] = reluIf(relu, s[l] + bv);
      }
    });
  }
}

template <typename T>
void conv2dBackwardTyped(const TensorView& gy, const TensorView& x, const TensorView& w, const Conv2dParams& p,
                         const TensorView* gx, const TensorView* gw, const TensorView* gb, const ConvPool* pool);
template <typename T>
void maxPool2x2ReluBackwardTyped(const TensorView& gy, const TensorView& codes, const TensorView& gx);

// conv2dBackward of a gradient given pooled (Note [Conv-ReLU-pool
// backward]): gy [N, OC, PH, PW] with pool's codes, for the map [N, OC,
// pool.OH, pool.OW]. The direct path, and the lanes when they take every
// gradient asked for, expand it an image at a time (PooledGrad); the
// others get the whole map first.
template <typename T>
void conv2dBackwardPooled(const TensorView& gy, const TensorView& x, const TensorView& w, const Conv2dParams& p,
                          const TensorView* gx, const TensorView* gw, const TensorView* gb, const ConvPool& pool) {
  TensorView full = gy;
  full.shape[2] = pool.OH;
  full.shape[3] = pool.OW;
  for (int i = 3; i >= 0; --i) full.strides[i] = i == 3 ? 1 : full.strides[i + 1] * full.shape[i + 1];
  const ConvGeom g = convGeom(x, w, full, p);
#if KD_WIDE_SIMD
  if constexpr (std::is_same_v<T, float>) {
    if ((gx || gw) && g.N > 0 && g.OC > 0 && g.L > 0) {
      const PooledGrad pg{gy.ptr<float>(), pool.codes, pool.codes + g.N * g.OC * gy.shape[2] * gy.shape[3], gy.shape[2],
                          gy.shape[3]};
      float* GX = gx ? gx->ptr<float>() : nullptr;
      float* GW = gw ? gw->ptr<float>() : nullptr;
      float* GB = gb ? gb->ptr<float>() : nullptr;
      if (useDirect(g, p)) return conv2dBackwardDirect(g, p, nullptr, x.ptr<float>(), w.ptr<float>(), GX, GW, GB, &pg);
      if ((!GX || lanesGradInputFits(g, p)) && (!GW || useLanes(g, p))) {
        if (GX) lanesGradInput(g, p, nullptr, w.ptr<float>(), GX, &pg);
        if (GW) lanesGradWeight(g, p, nullptr, x.ptr<float>(), GW, GB, &pg);
        else if (GB) {
          // x needs no gradient here; the bias gradient from the map's plane sums.
          std::vector<double> sums(static_cast<size_t>(g.N * g.OC));
          std::vector<float> plane(static_cast<size_t>(g.L));
          for (int64_t r = 0; r < g.N * g.OC; ++r) {
            pg.expand(r, 1, g.OH, g.OW, plane.data());
            sums[static_cast<size_t>(r)] = static_cast<double>(planeSum(plane.data(), g.L));
          }
          biasFromPlaneSums(sums, g.N, g.OC, GB);
        }
        return;
      }
    }
  }
#endif
  std::vector<T> map(static_cast<size_t>(g.N * g.OC * g.L));
  full.data = map.data();
  const int64_t P = g.N * g.OC;
  maxPool2x2ReluBackwardTyped<T>(
      view3(gy.data, gy.dtype, P, gy.shape[2], gy.shape[3], gy.shape[2] * gy.shape[3], gy.shape[3], 1),
      view3(pool.codes, DType::UInt8, P, gy.shape[2], gy.shape[3], gy.shape[2] * gy.shape[3], gy.shape[3], 1),
      view3(map.data(), gy.dtype, P, g.OH, g.OW, g.L, g.OW, 1));
  conv2dBackwardTyped<T>(full, x, w, p, gx, gw, gb, nullptr);
}

template <typename T>
void conv2dBackwardTyped(const TensorView& gy, const TensorView& x, const TensorView& w, const Conv2dParams& p,
                         const TensorView* gx, const TensorView* gw, const TensorView* gb, const ConvPool* pool) {
  if (pool) return conv2dBackwardPooled<T>(gy, x, w, p, gx, gw, gb, *pool);
  const ConvGeom g = convGeom(x, w, gy, p);
  const DType dt = x.dtype;
  const T* X = x.ptr<T>();
  const T* Wt = w.ptr<T>();
  const T* GY = gy.ptr<T>();
  T* GX = gx ? gx->ptr<T>() : nullptr;
  T* GW = gw ? gw->ptr<T>() : nullptr;

  T* GB = gb ? gb->ptr<T>() : nullptr;
  const bool empty = g.N == 0 || g.OC == 0 || g.L == 0;
#if KD_WIDE_SIMD
  // The direct path and the lanes weight gradient read gy anyway, and take
  // the bias gradient's plane sums on the way.
  if constexpr (std::is_same_v<T, float>) {
    if ((GX || GW) && !empty) {
      if (useDirect(g, p)) return conv2dBackwardDirect(g, p, GY, X, Wt, GX, GW, GB);
      if (GX && lanesGradInput(g, p, GY, Wt, GX)) GX = nullptr;
      if (GW && lanesGradWeight(g, p, GY, X, GW, GB)) GW = GB = nullptr;
    }
  }
#endif
  if (GB) {
    parallelFor(0, g.OC, grainFor(g.N * g.L), [&](int64_t o0, int64_t o1) {
      for (int64_t oc = o0; oc < o1; ++oc) {
        double s = 0;
        for (int64_t n = 0; n < g.N; ++n) s += static_cast<double>(planeSum(GY + (n * g.OC + oc) * g.L, g.L));
        GB[oc] = static_cast<T>(s);
      }
    });
  }
  if (!GX && !GW) return;
  if (empty) {
    if (GX) std::fill(GX, GX + x.numel(), T(0));
    if (GW) std::fill(GW, GW + w.numel(), T(0));
    return;
  }
  if (usePhasePlanes(g, p)) return conv2dBackwardPhases(g, p, GY, X, Wt, GX, GW, dt);
  const bool pointwise = isPointwise(g, p);
  const int64_t B = chunkImages(g);
  // Pointwise, one image at a time: x[n] is its own column matrix and the
  // input gradient's GEMM writes gx[n] directly (Note [Column chunks]).
  const bool direct = pointwise && B == 1;
  Scratch<T> col(kColRole, direct ? 0 : g.K * B * g.L);
  Scratch<T> gyP(kOutRole, B > 1 ? g.OC * B * g.L : 0);
  Scratch<T> gwTmp(kPartsRole, GW && g.N > B ? g.OC * g.Kg : 0);
  for (int64_t n0 = 0; n0 < g.N; n0 += B) {
    const int64_t b = std::min(B, g.N - n0);
    const int64_t BL = b * g.L;
    const T* gyc = GY + n0 * g.OC * g.L;
    if (B > 1) {
      // gy[n0 + bi, oc, L] -> [OC, b, L], the layout of the forward's GEMM output.
      T* dstP = gyP.data();
      parallelFor(0, b * g.OC, grainFor(g.L), [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t bi = t / g.OC, oc = t % g.OC;
          std::memcpy(dstP + oc * BL + bi * g.L, gyc + t * g.L, static_cast<size_t>(g.L) * sizeof(T));
        }
      });
      gyc = dstP;
    }
    if (GW) {
      const T* cols = col.data();
      if (direct) cols = X + n0 * g.C * g.HW;
      else im2col(X + n0 * g.C * g.HW, b, g, p, col.data());
      const bool first = n0 == 0;
      T* dstW = first ? GW : gwTmp.data();
      // gw_g [OCg, Kg] = gy_g [OCg, BL] @ col_g^T [BL, Kg]
      matmul(view3(gyc, dt, g.G, g.OCg, BL, g.OCg * BL, BL, 1), view3(cols, dt, g.G, BL, g.Kg, g.Kg * BL, 1, BL),
             view3(dstW, dt, g.G, g.OCg, g.Kg, g.OCg * g.Kg, g.Kg, 1));
      if (!first) {
        const int64_t n = g.OC * g.Kg;
        parallelFor(0, n, kGrainWork, [&](int64_t i0, int64_t i1) {
          for (int64_t i = i0; i < i1; ++i) GW[i] += gwTmp[static_cast<size_t>(i)];
        });
      }
    }
    if (GX) {
      // dcol_g [Kg, BL] = W_g^T [Kg, OCg] @ gy_g [OCg, BL], then folded back.
      T* dcol = direct ? GX + n0 * g.C * g.HW : col.data();
      matmul(view3(Wt, dt, g.G, g.Kg, g.OCg, g.OCg * g.Kg, 1, g.Kg), view3(gyc, dt, g.G, g.OCg, BL, g.OCg * BL, BL, 1),
             view3(dcol, dt, g.G, g.Kg, BL, g.Kg * BL, BL, 1));
      if (!direct) col2im(col.data(), b, g, p, GX + n0 * g.C * g.HW);
    }
  }
}

// ---------------------------------------------------------------------------
// pooling

struct PoolGeom {
  int64_t P, H, W, OH, OW;
};

PoolGeom poolGeom(const TensorView& in, const TensorView& out) {
  return {in.shape[0], in.shape[1], in.shape[2], out.shape[1], out.shape[2]};
}

// Note [Branch-free max pooling]: on real activations "is this the new
// maximum" is a coin toss, and with one branch per element the
// mispredictions made max pooling a fifth of a LeNet step. So a whole
// output row is kept in flight: for each kernel tap (in PyTorch's order, h
// then w, so ties keep the first maximum and a later NaN wins), one pass over
// the row's output columns updates their running maxima with selects, a
// loop the compiler vectorises (vec::select, in the widest SIMD copy).
//
// The usual 2x2 window with stride 2 and no padding has its own loop: its
// rows are only 14 or 7 outputs long in a LeNet, and the general loop's
// per-row setup (window bounds, one SIMD dispatch per row, run-time strides)
// cost more than the maxima themselves. Here each task dispatches once and
// every tap is a constant-stride read the compiler vectorises.
bool isMaxPool2x2(const PoolGeom& g, const Pool2dParams& p) {
  return p.kernelH == 2 && p.kernelW == 2 && p.strideH == 2 && p.strideW == 2 && p.padH == 0 && p.padW == 0 &&
         p.dilationH == 1 && p.dilationW == 1 && 2 * g.OH <= g.H && 2 * g.OW <= g.W;
}

#if KD_WIDE_SIMD
// One output row of a float 2x2 max pool in AVX-512, 16 outputs a step:
// masked loads read the row's 2*OW inputs without touching memory past it
// (rows of 14 or 7 outputs never fill a vector, so the compiler's loops
// ran them scalar), and permutes split them into the window's even and odd
// columns. Indices are built as int32 plane offsets, then widened.
// GCC 12's own intrinsic headers trip -Wmaybe-uninitialized here (their
// _mm512_undefined_* placeholders), so that warning is off for this function.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
template <bool kIndices>
__attribute__((target("avx512f"))) void maxPool2x2RowAvx512(const float* a, const float* b, int64_t r0, int64_t W,
                                                            int64_t OW, float* y, int64_t* ind) {
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odds = _mm512_add_epi32(evens, _mm512_set1_epi32(1));
  for (int64_t ow = 0; ow < OW; ow += 16) {
    const int64_t n = std::min<int64_t>(16, OW - ow);
    const auto [mOut, mLo, mHi] = windowMasks(n);
    const float* pa = a + 2 * ow;
    const float* pb = b + 2 * ow;
    const __m512 aLo = _mm512_maskz_loadu_ps(mLo, pa), aHi = _mm512_maskz_loadu_ps(mHi, pa + 16);
    const __m512 bLo = _mm512_maskz_loadu_ps(mLo, pb), bHi = _mm512_maskz_loadu_ps(mHi, pb + 16);
    const __m512 taps[3] = {_mm512_permutex2var_ps(aLo, odds, aHi), _mm512_permutex2var_ps(bLo, evens, bHi),
                            _mm512_permutex2var_ps(bLo, odds, bHi)};
    const int32_t offs[3] = {1, static_cast<int32_t>(W), static_cast<int32_t>(W + 1)};
    __m512 best = _mm512_permutex2var_ps(aLo, evens, aHi);
    const __m512i at = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(r0 + 2 * ow)), evens);
    __m512i bi = at;
    for (int t = 0; t < 3; ++t) {
      // PyTorch's rule, tap by tap: take v if v > best or v is NaN.
      const __mmask16 take =
          _mm512_cmp_ps_mask(taps[t], best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(taps[t], taps[t], _CMP_UNORD_Q);
      best = _mm512_mask_mov_ps(best, take, taps[t]);
      if constexpr (kIndices) bi = _mm512_mask_mov_epi32(bi, take, _mm512_add_epi32(at, _mm512_set1_epi32(offs[t])));
    }
    _mm512_mask_storeu_ps(y + ow, mOut, best);
    if constexpr (!kIndices) continue;
    _mm512_mask_storeu_epi64(ind + ow, static_cast<__mmask8>(mOut & 0xFF),
                             _mm512_cvtepi32_epi64(_mm512_castsi512_si256(bi)));
    _mm512_mask_storeu_epi64(ind + ow + 8, static_cast<__mmask8>(mOut >> 8),
                             _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(bi, 1)));
  }
}
#pragma GCC diagnostic pop
#endif

#if defined(__aarch64__)
// The same row in NEON, 4 outputs a step: vld2q splits 8 inputs into the
// window's even and odd columns. Reads stay inside the row (2 * OW <= W);
// the last OW % 4 outputs take the scalar rule.
void maxPool2x2RowNeon(const float* a, const float* b, int64_t r0, int64_t W, int64_t OW, float* y, int64_t* ind) {
  const int32x4_t evens = {0, 2, 4, 6};
  const int32_t offs[3] = {1, static_cast<int32_t>(W), static_cast<int32_t>(W + 1)};
  int64_t ow = 0;
  for (; ow + 4 <= OW; ow += 4) {
    const float32x4x2_t ra = vld2q_f32(a + 2 * ow), rb = vld2q_f32(b + 2 * ow);
    const float32x4_t taps[3] = {ra.val[1], rb.val[0], rb.val[1]};
    const int32x4_t at = vaddq_s32(vdupq_n_s32(static_cast<int32_t>(r0 + 2 * ow)), evens);
    float32x4_t best = ra.val[0];
    int32x4_t bi = at;
    for (int t = 0; t < 3; ++t) {
      // PyTorch's rule, tap by tap: take v if v > best or v is NaN.
      const uint32x4_t take = vorrq_u32(vcgtq_f32(taps[t], best), vmvnq_u32(vceqq_f32(taps[t], taps[t])));
      best = vbslq_f32(take, taps[t], best);
      bi = vbslq_s32(take, vaddq_s32(at, vdupq_n_s32(offs[t])), bi);
    }
    vst1q_f32(y + ow, best);
    vst1q_s64(ind + ow, vmovl_s32(vget_low_s32(bi)));
    vst1q_s64(ind + ow + 2, vmovl_s32(vget_high_s32(bi)));
  }
  for (; ow < OW; ++ow) {
    const int64_t at = r0 + 2 * ow;
    const float taps[3] = {a[2 * ow + 1], b[2 * ow], b[2 * ow + 1]};
    float best = a[2 * ow];
    int64_t bi = at;
    for (int t = 0; t < 3; ++t) {
      if (taps[t] > best || taps[t] != taps[t]) {
        best = taps[t];
        bi = at + offs[t];
      }
    }
    y[ow] = best;
    ind[ow] = bi;
  }
}
#endif

template <typename T>
void maxPool2x2(const PoolGeom& g, const T* X, T* Y, int64_t* I) {
#if KD_WIDE_SIMD
  // int32 offsets suffice for any plane a tensor of this size can have.
  const bool avx512 =
      std::is_same_v<T, float> && vec::activeIsa() == vec::Isa::Avx512 && g.H * g.W < (int64_t(1) << 31);
#elif defined(__aarch64__)
  // KINDLING_SIMD=scalar leaves the NEON row out, as it does AVX-512 on x86.
  const bool neon = std::is_same_v<T, float> && std::strcmp(simdLevel(), "neon") == 0 && g.H * g.W < (int64_t(1) << 31);
#endif
  parallelFor(0, g.P, grainFor(g.H * g.W), [&](int64_t p0, int64_t p1) {
#if KD_WIDE_SIMD
    if constexpr (std::is_same_v<T, float>) {
      if (avx512) {
        for (int64_t pl = p0; pl < p1; ++pl)
          for (int64_t oh = 0; oh < g.OH; ++oh) {
            const float* a = X + pl * g.H * g.W + 2 * oh * g.W;
            float* y = Y + (pl * g.OH + oh) * g.OW;
            if (I) maxPool2x2RowAvx512<true>(a, a + g.W, 2 * oh * g.W, g.W, g.OW, y, I + (pl * g.OH + oh) * g.OW);
            else maxPool2x2RowAvx512<false>(a, a + g.W, 2 * oh * g.W, g.W, g.OW, y, nullptr);
          }
        return;
      }
    }
#elif defined(__aarch64__)
    if constexpr (std::is_same_v<T, float>) {
      if (neon) {
        for (int64_t pl = p0; pl < p1; ++pl)
          for (int64_t oh = 0; oh < g.OH; ++oh) {
            const float* a = X + pl * g.H * g.W + 2 * oh * g.W;
            maxPool2x2RowNeon(a, a + g.W, 2 * oh * g.W, g.W, g.OW, Y + (pl * g.OH + oh) * g.OW,
                              I + (pl * g.OH + oh) * g.OW);
          }
        return;
      }
    }
#endif
    vec::withWideSimd([&] {
      // Locals, not captured references: the compiler cannot tell that the
      // stores below leave those alone, and would reload the trip count
      // every iteration (which stops it vectorising).
      const int64_t W = g.W, HW = g.H * g.W, OH = g.OH, OW = g.OW;
      for (int64_t pl = p0; pl < p1; ++pl) {
        for (int64_t oh = 0; oh < OH; ++oh) {
          const int64_t r0 = 2 * oh * W;
          const T* __restrict a = X + pl * HW + r0;
          const T* __restrict b = a + W;
          T* __restrict y = Y + (pl * OH + oh) * OW;
          int64_t* __restrict ind = I + (pl * OH + oh) * OW;
          for (int64_t ow = 0; ow < OW; ++ow) {
            // Taps in PyTorch's order; the first is taken unless a later one
            // is greater or NaN (a NaN first tap is never displaced by a
            // number: v > NaN is false).
            const int64_t at = r0 + 2 * ow;
            T best = a[2 * ow];
            int64_t bi = at;
            const T v1 = a[2 * ow + 1], v2 = b[2 * ow], v3 = b[2 * ow + 1];
            bool take = (v1 > best) | (v1 != v1);
            best = vec::select(take, v1, best);
            bi = vec::select<int64_t>(take, at + 1, bi);
            take = (v2 > best) | (v2 != v2);
            best = vec::select(take, v2, best);
            bi = vec::select<int64_t>(take, at + W, bi);
            take = (v3 > best) | (v3 != v3);
            best = vec::select(take, v3, best);
            bi = vec::select<int64_t>(take, at + W + 1, bi);
            y[ow] = best;
            ind[ow] = bi;
          }
        }
      }
    });
  });
}

// Note [Max pooling without indices]: with no indices tensor (a forward
// that records no graph: only the backward reads them) the AVX-512 2x2 row
// skips them, as they are two thirds of the bytes it writes. The other
// loops are written for indices, so they fill a scratch block instead.
template <typename T>
void maxPoolTyped(const TensorView& x, const Pool2dParams& p, const TensorView& out, const TensorView* indices) {
  const PoolGeom g = poolGeom(x, out);
  const T* X = x.ptr<T>();
  T* Y = out.ptr<T>();
  int64_t* I = indices ? indices->ptr<int64_t>() : nullptr;
  if (isMaxPool2x2(g, p)) {
#if KD_WIDE_SIMD
    if (I || (std::is_same_v<T, float> && vec::activeIsa() == vec::Isa::Avx512 && g.H * g.W < (int64_t(1) << 31)))
      return maxPool2x2(g, X, Y, I);
#else
    if (I) return maxPool2x2(g, X, Y, I);
#endif
  }
  std::vector<int64_t> scratch;
  if (!I) {
    scratch.resize(static_cast<size_t>(g.P * g.OH * g.OW));
    I = scratch.data();
  }
  if (isMaxPool2x2(g, p)) return maxPool2x2(g, X, Y, I);
  parallelFor(0, g.P, grainFor(g.OH * g.OW * p.kernelH * p.kernelW), [&](int64_t p0, int64_t p1) {
    std::vector<T> bestVal(static_cast<size_t>(g.OW));
    std::vector<int64_t> best(static_cast<size_t>(g.OW));
    T* __restrict bv = bestVal.data();
    int64_t* __restrict bi = best.data();
    for (int64_t pl = p0; pl < p1; ++pl) {
      const T* plane = X + pl * g.H * g.W;
      T* y = Y + pl * g.OH * g.OW;
      int64_t* ind = I + pl * g.OH * g.OW;
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        // A window with no element above -inf reports its first element
        // inside the image, as PyTorch does.
        int64_t h0 = oh * p.strideH - p.padH;
        while (h0 < 0) h0 += p.dilationH;
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          int64_t w0 = ow * p.strideW - p.padW;
          while (w0 < 0) w0 += p.dilationW;
          bv[ow] = -std::numeric_limits<T>::infinity();
          bi[ow] = h0 * g.W + w0;
        }
        vec::withWideSimd([&] {
          for (int64_t ki = 0; ki < p.kernelH; ++ki) {
            const int64_t ih = oh * p.strideH - p.padH + ki * p.dilationH;
            if (ih < 0 || ih >= g.H) continue;
            const T* row = plane + ih * g.W;
            for (int64_t kj = 0; kj < p.kernelW; ++kj) {
              const int64_t off = kj * p.dilationW - p.padW;
              int64_t lo, hi;
              validRange(off, p.strideW, g.W, g.OW, lo, hi);
              const int64_t sW = p.strideW, base = ih * g.W + off;
              for (int64_t ow = lo; ow < hi; ++ow) {
                const T v = row[ow * sW + off];
                const bool take = (v > bv[ow]) | (v != v);  // NaN propagates, as in PyTorch
                bv[ow] = vec::select(take, v, bv[ow]);
                bi[ow] = vec::select<int64_t>(take, base + ow * sW, bi[ow]);
              }
            }
          }
        });
        std::memcpy(y + oh * g.OW, bv, static_cast<size_t>(g.OW) * sizeof(T));
        std::memcpy(ind + oh * g.OW, bi, static_cast<size_t>(g.OW) * sizeof(int64_t));
      }
    }
  });
}

template <typename T>
void maxPoolBackwardTyped(const TensorView& gy, const TensorView& indices, const TensorView& gx) {
  const PoolGeom g = poolGeom(gx, gy);
  const T* GY = gy.ptr<T>();
  const int64_t* I = indices.ptr<int64_t>();
  T* GX = gx.ptr<T>();
  const int64_t HW = g.H * g.W, L = g.OH * g.OW;
  parallelFor(0, g.P, grainFor(HW + L), [&](int64_t p0, int64_t p1) {
    for (int64_t pl = p0; pl < p1; ++pl) {
      T* plane = GX + pl * HW;
      std::fill(plane, plane + HW, T(0));
      const T* g1 = GY + pl * L;
      const int64_t* ind = I + pl * L;
      for (int64_t l = 0; l < L; ++l) {
        const int64_t at = ind[l];
        if (at < 0 || at >= HW)
          throw KernelError("maxPool2dBackward: index " + std::to_string(at) + " is out of range for a plane of " +
                            std::to_string(HW) + " elements");
        plane[at] += g1[l];
      }
    }
  });
}

// Note [Conv-ReLU-pool backward]: in grad mode nn.Sequential runs a plain
// Conv2d, ReLU and 2x2 MaxPool2d as one op too (lib/ops/nn.ts); its
// forward keeps only the pooled values and, per value, the window position
// of its maximum (ConvPool::codes, one byte). The ReLU's backward passes a
// gradient where its output is > 0, and at a window's maximum that output is
// the pooled value; so the code is 4 (no position) where the pooled value
// is not > 0 (a NaN included, as the ReLU's backward, y > 0, passes nothing
// for a NaN). The gradient the convolution's backward needs is then the map
// with gy at each coded position and zero elsewhere, made window by window
// (no fill first, no scatter-add). The direct and lanes backward paths make
// it an image at a time into a buffer that stays in cache (PooledGrad), so
// the map (6.4 MB for a LeNet's first layer at batch 64) is never written
// to memory; the other paths get the whole map from this kernel. The
// forward saves no value, so an in-place op on the pooled output later does
// not stand in the backward's way (PyTorch's pool saves its input, not its
// output). The row or column an odd map leaves out of every window gets
// zeros.

template <typename T>
void maxPool2x2ReluBackwardTyped(const TensorView& gy, const TensorView& codes, const TensorView& gx) {
  const int64_t P = gx.shape[0], OH = gx.shape[1], OW = gx.shape[2], PH = gy.shape[1], PW = gy.shape[2];
  const T* G = gy.ptr<T>();
  const uint8_t* C = codes.ptr<uint8_t>();
  T* GX = gx.ptr<T>();
#if KD_WIDE_SIMD
  const bool avx512 = std::is_same_v<T, float> && vec::activeIsa() == vec::Isa::Avx512;
#endif
  parallelFor(0, P, grainFor(OH * OW), [&](int64_t p0, int64_t p1) {
    for (int64_t pl = p0; pl < p1; ++pl) {
      T* plane = GX + pl * OH * OW;
#if KD_WIDE_SIMD
      if constexpr (std::is_same_v<T, float>) {
        if (avx512) {
          unpoolReluPlaneAvx512(G + pl * PH * PW, C + pl * PH * PW, C + P * PH * PW, PH, PW, OH, OW, plane, OW);
          continue;
        }
      }
#endif
      for (int64_t ph = 0; ph < PH; ++ph) {
        const int64_t i0 = (pl * PH + ph) * PW;
        T* r0 = plane + 2 * ph * OW;
        T* r1 = r0 + OW;
        if (OW % 2) r0[OW - 1] = r1[OW - 1] = T(0);
        for (int64_t pw = 0; pw < PW; ++pw) {
          const T g = G[i0 + pw];
          const int c = C[i0 + pw];  // 4 and above: no gradient
          r0[2 * pw] = c == 0 ? g : T(0);
          r0[2 * pw + 1] = c == 1 ? g : T(0);
          r1[2 * pw] = c == 2 ? g : T(0);
          r1[2 * pw + 1] = c == 3 ? g : T(0);
        }
      }
      if (OH % 2) std::fill(plane + (OH - 1) * OW, plane + OH * OW, T(0));
    }
  });
}

// The window of output cell (oh, ow) clipped to the image and the divisor
// PyTorch uses for it (avg_pool2d with count_include_pad / divisor_override).
struct AvgWindow {
  int64_t h0, h1, w0, w1, divisor;
};

inline AvgWindow avgWindow(int64_t oh, int64_t ow, const PoolGeom& g, const Pool2dParams& p, bool countIncludePad,
                           int64_t divisorOverride) {
  int64_t h0 = oh * p.strideH - p.padH, w0 = ow * p.strideW - p.padW;
  int64_t h1 = std::min(h0 + p.kernelH, g.H + p.padH), w1 = std::min(w0 + p.kernelW, g.W + p.padW);
  const int64_t poolSize = (h1 - h0) * (w1 - w0);
  h0 = std::max<int64_t>(h0, 0);
  w0 = std::max<int64_t>(w0, 0);
  h1 = std::min(h1, g.H);
  w1 = std::min(w1, g.W);
  int64_t divisor;
  if (divisorOverride > 0) divisor = divisorOverride;
  else if (countIncludePad) divisor = poolSize;
  else divisor = (h1 - h0) * (w1 - w0);
  return {h0, h1, w0, w1, divisor};
}

template <typename T>
void avgPoolTyped(const TensorView& x, const Pool2dParams& p, bool countIncludePad, int64_t divisorOverride,
                  const TensorView& out) {
  const PoolGeom g = poolGeom(x, out);
  const T* X = x.ptr<T>();
  T* Y = out.ptr<T>();
  parallelFor(0, g.P, grainFor(g.OH * g.OW * p.kernelH * p.kernelW), [&](int64_t p0, int64_t p1) {
    for (int64_t pl = p0; pl < p1; ++pl) {
      const T* plane = X + pl * g.H * g.W;
      T* y = Y + pl * g.OH * g.OW;
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const AvgWindow win = avgWindow(oh, ow, g, p, countIncludePad, divisorOverride);
          if (win.h0 >= win.h1 || win.w0 >= win.w1) {
            y[oh * g.OW + ow] = T(0);
            continue;
          }
          T s = 0;
          for (int64_t h = win.h0; h < win.h1; ++h)
            for (int64_t w = win.w0; w < win.w1; ++w) s += plane[h * g.W + w];
          y[oh * g.OW + ow] = s / static_cast<T>(win.divisor);
        }
      }
    }
  });
}

template <typename T>
void avgPoolBackwardTyped(const TensorView& gy, const Pool2dParams& p, bool countIncludePad, int64_t divisorOverride,
                          const TensorView& gx) {
  const PoolGeom g = poolGeom(gx, gy);
  const T* GY = gy.ptr<T>();
  T* GX = gx.ptr<T>();
  parallelFor(0, g.P, grainFor(g.OH * g.OW * p.kernelH * p.kernelW), [&](int64_t p0, int64_t p1) {
    for (int64_t pl = p0; pl < p1; ++pl) {
      T* plane = GX + pl * g.H * g.W;
      std::fill(plane, plane + g.H * g.W, T(0));
      const T* g1 = GY + pl * g.OH * g.OW;
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const AvgWindow win = avgWindow(oh, ow, g, p, countIncludePad, divisorOverride);
          const T v = g1[oh * g.OW + ow] / static_cast<T>(win.divisor);
          for (int64_t h = win.h0; h < win.h1; ++h)
            for (int64_t w = win.w0; w < win.w1; ++w) plane[h * g.W + w] += v;
        }
      }
    }
  });
}

inline int64_t adaptiveStart(int64_t o, int64_t in, int64_t out) { return (o * in) / out; }
inline int64_t adaptiveEnd(int64_t o, int64_t in, int64_t out) { return ((o + 1) * in + out - 1) / out; }

template <typename T>
void adaptiveAvgTyped(const TensorView& x, const TensorView& out) {
  const PoolGeom g = poolGeom(x, out);
  const T* X = x.ptr<T>();
  T* Y = out.ptr<T>();
  parallelFor(0, g.P, grainFor(g.H * g.W + g.OH * g.OW), [&](int64_t p0, int64_t p1) {
    for (int64_t pl = p0; pl < p1; ++pl) {
      const T* plane = X + pl * g.H * g.W;
      T* y = Y + pl * g.OH * g.OW;
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const int64_t h0 = adaptiveStart(oh, g.H, g.OH), h1 = adaptiveEnd(oh, g.H, g.OH);
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t w0 = adaptiveStart(ow, g.W, g.OW), w1 = adaptiveEnd(ow, g.W, g.OW);
          T s = 0;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) s += plane[h * g.W + w];
          y[oh * g.OW + ow] = s / static_cast<T>((h1 - h0) * (w1 - w0));
        }
      }
    }
  });
}

template <typename T>
void adaptiveAvgBackwardTyped(const TensorView& gy, const TensorView& gx) {
  const PoolGeom g = poolGeom(gx, gy);
  const T* GY = gy.ptr<T>();
  T* GX = gx.ptr<T>();
  parallelFor(0, g.P, grainFor(g.H * g.W + g.OH * g.OW), [&](int64_t p0, int64_t p1) {
    for (int64_t pl = p0; pl < p1; ++pl) {
      T* plane = GX + pl * g.H * g.W;
      std::fill(plane, plane + g.H * g.W, T(0));
      const T* g1 = GY + pl * g.OH * g.OW;
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const int64_t h0 = adaptiveStart(oh, g.H, g.OH), h1 = adaptiveEnd(oh, g.H, g.OH);
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t w0 = adaptiveStart(ow, g.W, g.OW), w1 = adaptiveEnd(ow, g.W, g.OW);
          const T v = g1[oh * g.OW + ow] / static_cast<T>((h1 - h0) * (w1 - w0));
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) plane[h * g.W + w] += v;
        }
      }
    }
  });
}

// ---------------------------------------------------------------------------
// batch norm
//
// x is [N, C, S]. With S > 1 each channel's data is N rows of S contiguous
// values and the work splits over channels; with S == 1 ([N, C] input) a
// channel is a column, so the loops run over rows and vectorise across
// channels instead.

// Sums of a contiguous row with independent partial sums, which the
// compiler turns into SIMD (a single running sum would be a serial chain).
template <typename T, typename F>
inline double rowReduce(int64_t n, F term) {
  T acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int u = 0; u < 8; ++u) acc[u] += term(i + u);
  double s = 0;
  for (; i < n; ++i) s += term(i);
  for (int u = 0; u < 8; ++u) s += acc[u];
  return s;
}

// Per-channel sums over [N, C, S] of term(n, c, s), in double.
template <typename T, typename F>
void channelSums(int64_t N, int64_t C, int64_t S, double* out, F term) {
  if (S > 1) {
    parallelFor(0, C, grainFor(N * S), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        double s = 0;
        for (int64_t n = 0; n < N; ++n) s += rowReduce<T>(S, [&](int64_t i) { return term(n, c, i); });
        out[c] = s;
      }
    });
    return;
  }
  parallelFor(0, C, std::max<int64_t>(64, grainFor(N)), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) out[c] = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = c0; c < c1; ++c) out[c] += term(n, c, 0);
  });
}

// Calls f(n, c, s) for every element of [N, C, S].
template <typename F>
void channelMap(int64_t N, int64_t C, int64_t S, F f) {
  if (S == 1) {
    parallelFor(0, N, grainFor(C), [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t c = 0; c < C; ++c) f(n, c, 0);
    });
    return;
  }
  parallelFor(0, N * C, grainFor(S), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / C, c = r % C;
      for (int64_t s = 0; s < S; ++s) f(n, c, s);
    }
  });
}

template <typename T>
void batchNormTyped(const TensorView& x, const TensorView* weight, const TensorView* bias,
                    const TensorView* runningMean, const TensorView* runningVar, bool training, double momentum,
                    double eps, const TensorView& out, const TensorView& saveMean, const TensorView& saveInvstd) {
  const int64_t N = x.shape[0], C = x.shape[1], S = x.shape[2];
  const int64_t M = N * S;
  const T* X = x.ptr<T>();
  T* Y = out.ptr<T>();
  const T* Wt = weight ? weight->ptr<T>() : nullptr;
  const T* Bs = bias ? bias->ptr<T>() : nullptr;
  T* RM = runningMean ? runningMean->ptr<T>() : nullptr;
  T* RV = runningVar ? runningVar->ptr<T>() : nullptr;
  T* SM = saveMean.ptr<T>();
  T* SI = saveInvstd.ptr<T>();
  std::vector<double> mean(static_cast<size_t>(C)), invstd(static_cast<size_t>(C));
  if (training) {
    // Two passes (mean, then squared deviations) for accuracy.
    std::vector<double> sum(static_cast<size_t>(C)), sq(static_cast<size_t>(C));
    channelSums<T>(N, C, S, sum.data(), [&](int64_t n, int64_t c, int64_t s) { return X[(n * C + c) * S + s]; });
    std::vector<T> meanT(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      mean[c] = M > 0 ? sum[c] / static_cast<double>(M) : 0.0;
      meanT[c] = static_cast<T>(mean[c]);
    }
    channelSums<T>(N, C, S, sq.data(), [&](int64_t n, int64_t c, int64_t s) {
      const T d = X[(n * C + c) * S + s] - meanT[c];
      return d * d;
    });
    for (int64_t c = 0; c < C; ++c) {
      const double var = M > 0 ? sq[c] / static_cast<double>(M) : 0.0;
      invstd[c] = 1.0 / std::sqrt(var + eps);
      if (RM) RM[c] = static_cast<T>((1 - momentum) * RM[c] + momentum * mean[c]);
      if (RV && M > 1) RV[c] = static_cast<T>((1 - momentum) * RV[c] + momentum * sq[c] / static_cast<double>(M - 1));
    }
  } else {
    for (int64_t c = 0; c < C; ++c) {
      mean[c] = RM[c];
      invstd[c] = 1.0 / std::sqrt(static_cast<double>(RV[c]) + eps);
    }
  }
  std::vector<T> scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    SM[c] = static_cast<T>(mean[c]);
    SI[c] = static_cast<T>(invstd[c]);
    const double sc = (Wt ? static_cast<double>(Wt[c]) : 1.0) * invstd[c];
    scale[c] = static_cast<T>(sc);
    shift[c] = static_cast<T>((Bs ? static_cast<double>(Bs[c]) : 0.0) - mean[c] * sc);
  }
  channelMap(N, C, S, [&](int64_t n, int64_t c, int64_t s) {
    const int64_t i = (n * C + c) * S + s;
    Y[i] = X[i] * scale[c] + shift[c];
  });
}

template <typename T>
void batchNormBackwardTyped(const TensorView& gy, const TensorView& x, const TensorView* weight,
                            const TensorView& saveMean, const TensorView& saveInvstd, bool training,
                            const TensorView* gx, const TensorView* gw, const TensorView* gb) {
  const int64_t N = x.shape[0], C = x.shape[1], S = x.shape[2];
  const int64_t M = N * S;
  const T* X = x.ptr<T>();
  const T* GY = gy.ptr<T>();
  const T* Wt = weight ? weight->ptr<T>() : nullptr;
  const T* SM = saveMean.ptr<T>();
  const T* SI = saveInvstd.ptr<T>();
  T* GX = gx ? gx->ptr<T>() : nullptr;
  T* GW = gw ? gw->ptr<T>() : nullptr;
  T* GB = gb ? gb->ptr<T>() : nullptr;
  // sum(gy) and sum(gy * (x - mean)) per channel.
  std::vector<double> sumG(static_cast<size_t>(C)), sumGX(static_cast<size_t>(C));
  channelSums<T>(N, C, S, sumG.data(), [&](int64_t n, int64_t c, int64_t s) { return GY[(n * C + c) * S + s]; });
  channelSums<T>(N, C, S, sumGX.data(), [&](int64_t n, int64_t c, int64_t s) {
    const int64_t i = (n * C + c) * S + s;
    return GY[i] * (X[i] - SM[c]);
  });
  for (int64_t c = 0; c < C; ++c) {
    if (GW) GW[c] = static_cast<T>(sumGX[c] * static_cast<double>(SI[c]));
    if (GB) GB[c] = static_cast<T>(sumG[c]);
  }
  if (!GX) return;
  // gx = k * (gy - a - (x - mean) * b) with k = w * invstd and, in training,
  // a = mean(gy) and b = mean(gy * (x - mean)) * invstd^2.
  std::vector<T> k(static_cast<size_t>(C)), a(static_cast<size_t>(C)), bcoef(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    const double invstd = SI[c];
    k[c] = static_cast<T>((Wt ? static_cast<double>(Wt[c]) : 1.0) * invstd);
    const bool stats = training && M > 0;
    a[c] = static_cast<T>(stats ? sumG[c] / static_cast<double>(M) : 0.0);
    bcoef[c] = static_cast<T>(stats ? sumGX[c] / static_cast<double>(M) * invstd * invstd : 0.0);
  }
  channelMap(N, C, S, [&](int64_t n, int64_t c, int64_t s) {
    const int64_t i = (n * C + c) * S + s;
    GX[i] = k[c] * (GY[i] - a[c] - (X[i] - SM[c]) * bcoef[c]);
  });
}

// ---------------------------------------------------------------------------
// layer norm
//
// Rows are independent, so forward and the input's gradient run over row
// blocks; weight's and bias's gradients sum down the rows, so they run over
// column blocks instead (no per-thread partial sums to merge). Sums are in
// double, kept in 8 lanes so the loops vectorise without reassociating.

constexpr int64_t kSumLanes = 8;

// sum over j < n of f(j), in double.
template <typename F>
double laneSum(int64_t n, const F& f) {
  double acc[kSumLanes] = {};
  int64_t j = 0;
  for (; j + kSumLanes <= n; j += kSumLanes)
    for (int64_t l = 0; l < kSumLanes; ++l) acc[l] += f(j + l);
  double s = 0;
  for (; j < n; ++j) s += f(j);
  for (int64_t l = 0; l < kSumLanes; ++l) s += acc[l];
  return s;
}

// Rows per task: a row costs a few passes over its N elements.
int64_t layerNormRowGrain(int64_t N) { return std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(N, 1)); }

template <typename T>
void layerNormTyped(const TensorView& x, const TensorView* weight, const TensorView* bias, double eps,
                    const TensorView& out, const TensorView& mean, const TensorView& rstd) {
  const int64_t M = x.shape[0], N = x.shape[1];
  const T* X = x.ptr<T>();
  const T* Wt = weight ? weight->ptr<T>() : nullptr;
  const T* Bs = bias ? bias->ptr<T>() : nullptr;
  T *Y = out.ptr<T>(), *SM = mean.ptr<T>(), *SR = rstd.ptr<T>();
  parallelFor(0, M, layerNormRowGrain(N), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* __restrict xr = X + r * N;
      T* __restrict yr = Y + r * N;
      // Two passes (mean, then squared deviations) for accuracy.
      const T m = static_cast<T>(N > 0 ? laneSum(N, [&](int64_t j) { return static_cast<double>(xr[j]); }) / N : 0.0);
      const double sq = laneSum(N, [&](int64_t j) {
        const double d = static_cast<double>(xr[j] - m);
        return d * d;
      });
      const double var = N > 0 ? sq / N : 0.0;
      const T rs = static_cast<T>(1.0 / std::sqrt(var + eps));
      SM[r] = m;
      SR[r] = rs;
      if (Wt && Bs) {
        for (int64_t j = 0; j < N; ++j) yr[j] = (xr[j] - m) * rs * Wt[j] + Bs[j];
      } else if (Wt) {
        for (int64_t j = 0; j < N; ++j) yr[j] = (xr[j] - m) * rs * Wt[j];
      } else if (Bs) {
        for (int64_t j = 0; j < N; ++j) yr[j] = (xr[j] - m) * rs + Bs[j];
      } else {
        for (int64_t j = 0; j < N; ++j) yr[j] = (xr[j] - m) * rs;
      }
    }
  });
}

template <typename T>
void layerNormBackwardTyped(const TensorView& gy, const TensorView& x, const TensorView* weight, const TensorView& mean,
                            const TensorView& rstd, const TensorView* gx, const TensorView* gw, const TensorView* gb) {
  const int64_t M = x.shape[0], N = x.shape[1];
  const T *X = x.ptr<T>(), *GY = gy.ptr<T>(), *SM = mean.ptr<T>(), *SR = rstd.ptr<T>();
  const T* Wt = weight ? weight->ptr<T>() : nullptr;
  if (gx) {
    T* GX = gx->ptr<T>();
    // With xhat = (x - mean) rstd and d = gy w (the gradient of xhat):
    // gx = rstd (d - mean(d) - xhat mean(d xhat)).
    parallelFor(0, M, layerNormRowGrain(N), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* __restrict xr = X + r * N, * __restrict gr = GY + r * N;
        T* __restrict out = GX + r * N;
        const T m = SM[r], rs = SR[r];
        auto d = [&](int64_t j) { return Wt ? gr[j] * Wt[j] : gr[j]; };
        const double sumD = laneSum(N, [&](int64_t j) { return static_cast<double>(d(j)); });
        const double sumDX =
            laneSum(N, [&](int64_t j) { return static_cast<double>(d(j)) * static_cast<double>((xr[j] - m) * rs); });
        const T a = static_cast<T>(N > 0 ? sumD / N : 0.0), b = static_cast<T>(N > 0 ? sumDX / N : 0.0);
        for (int64_t j = 0; j < N; ++j) out[j] = rs * (d(j) - a - (xr[j] - m) * rs * b);
      }
    });
  }
  if (!gw && !gb) return;
  T* GW = gw ? gw->ptr<T>() : nullptr;
  T* GB = gb ? gb->ptr<T>() : nullptr;
  constexpr int64_t kCols = 64;
  parallelFor(0, (N + kCols - 1) / kCols, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t j0 = c * kCols, n = std::min<int64_t>(kCols, N - j0);
      double accW[kCols] = {}, accB[kCols] = {};
      for (int64_t r = 0; r < M; ++r) {
        const T *xr = X + r * N + j0, *gr = GY + r * N + j0;
        const T m = SM[r], rs = SR[r];
        for (int64_t j = 0; j < n; ++j) {
          accW[j] += static_cast<double>(gr[j] * ((xr[j] - m) * rs));
          accB[j] += static_cast<double>(gr[j]);
        }
      }
      for (int64_t j = 0; j < n; ++j) {
        if (GW) GW[j0 + j] = static_cast<T>(accW[j]);
        if (GB) GB[j0 + j] = static_cast<T>(accB[j]);
      }
    }
  });
}

// ---------------------------------------------------------------------------
// negative log likelihood / cross entropy
//
// Note [Label smoothing]: as PyTorch 1.13, the loss of a non-ignored row
// with target t is
//   (1 - ls) * w[t] * (-logp[t]) + (ls / C) * sum_c w[c] * (-logp[c])
// (w = 1 without class weights), and 'mean' divides the sum of the rows'
// losses by the sum of w[t] over the non-ignored rows: PyTorch normalises
// both terms by that same total weight.

void checkTargets(const TensorView& target, int64_t C, const NllParams& p) {
  const int64_t* Tg = target.ptr<int64_t>();
  const int64_t n = target.numel();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = Tg[i];
    if (t != p.ignoreIndex && (t < 0 || t >= C))
      throw KernelError(std::string(p.op) + ": target " + std::to_string(t) + " is out of bounds for " +
                        std::to_string(C) + " classes");
  }
}

template <typename T>
void nllTyped(const TensorView& input, const TensorView& target, const TensorView* weight, const NllParams& p,
              const TensorView& out, const TensorView* lse, const TensorView& totalWeight) {
  const int64_t N = input.shape[0], C = input.shape[1], D = input.shape[2];
  const int64_t rows = N * D;
  checkTargets(target, C, p);
  const T* X = input.ptr<T>();
  const int64_t* Tg = target.ptr<int64_t>();
  const T* Wc = weight ? weight->ptr<T>() : nullptr;
  T* LSE = lse ? lse->ptr<T>() : nullptr;
  const double ls = p.labelSmoothing;
  double sumW = 0;
  for (int64_t c = 0; c < C; ++c) sumW += Wc ? static_cast<double>(Wc[c]) : 1.0;
  std::vector<double> rowLoss(static_cast<size_t>(rows)), rowW(static_cast<size_t>(rows));
  parallelFor(0, rows, grainFor(2 * C), [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      const int64_t n = i / D, d = i % D;
      const T* x = X + n * C * D + d;
      const int64_t t = Tg[i];
      double l = 0;
      if (p.logits) {
        double m = -std::numeric_limits<double>::infinity();
        for (int64_t c = 0; c < C; ++c) m = std::max(m, static_cast<double>(x[c * D]));
        double s = 0;
        for (int64_t c = 0; c < C; ++c) s += std::exp(static_cast<double>(x[c * D]) - m);
        l = m + std::log(s);
        if (LSE) LSE[i] = static_cast<T>(l);
      }
      if (t == p.ignoreIndex) {
        rowLoss[static_cast<size_t>(i)] = 0;
        rowW[static_cast<size_t>(i)] = 0;
        continue;
      }
      const double wt = Wc ? static_cast<double>(Wc[t]) : 1.0;
      // logp[c] = x[c] - l for logits, x[c] for log-probabilities.
      double loss = (1 - ls) * wt * (l - static_cast<double>(x[t * D]));
      if (ls > 0) {
        double wx = 0;
        for (int64_t c = 0; c < C; ++c) wx += (Wc ? static_cast<double>(Wc[c]) : 1.0) * static_cast<double>(x[c * D]);
        loss += ls / static_cast<double>(C) * (l * sumW - wx);
      }
      rowLoss[static_cast<size_t>(i)] = loss;
      rowW[static_cast<size_t>(i)] = wt;
    }
  });
  // Sums in row order on one thread: the result does not depend on the
  // number of threads.
  double total = 0, totalW = 0;
  for (int64_t i = 0; i < rows; ++i) {
    total += rowLoss[static_cast<size_t>(i)];
    totalW += rowW[static_cast<size_t>(i)];
  }
  totalWeight.ptr<T>()[0] = static_cast<T>(totalW);
  T* O = out.ptr<T>();
  switch (p.reduction) {
    case Reduction::None:
      for (int64_t i = 0; i < rows; ++i) O[i] = static_cast<T>(rowLoss[static_cast<size_t>(i)]);
      break;
    case Reduction::Sum: O[0] = static_cast<T>(total); break;
    case Reduction::Mean: O[0] = static_cast<T>(total / totalW); break;
  }
}

template <typename T>
void nllBackwardTyped(const TensorView& gy, const TensorView& input, const TensorView& target, const TensorView* weight,
                      const NllParams& p, const TensorView* lse, double totalWeight, const TensorView& gx) {
  const int64_t N = input.shape[0], C = input.shape[1], D = input.shape[2];
  const int64_t rows = N * D;
  checkTargets(target, C, p);
  const T* X = input.ptr<T>();
  const int64_t* Tg = target.ptr<int64_t>();
  const T* Wc = weight ? weight->ptr<T>() : nullptr;
  const T* LSE = lse ? lse->ptr<T>() : nullptr;
  const T* GY = gy.ptr<T>();
  T* GX = gx.ptr<T>();
  const double ls = p.labelSmoothing;
  double sumW = 0;
  for (int64_t c = 0; c < C; ++c) sumW += Wc ? static_cast<double>(Wc[c]) : 1.0;
  const double scalarG = p.reduction == Reduction::None   ? 0.0
                         : p.reduction == Reduction::Mean ? static_cast<double>(GY[0]) / totalWeight
                                                          : static_cast<double>(GY[0]);
  parallelFor(0, rows, grainFor(2 * C), [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      const int64_t n = i / D, d = i % D;
      const T* x = X + n * C * D + d;
      T* gxr = GX + n * C * D + d;
      const int64_t t = Tg[i];
      if (t == p.ignoreIndex) {
        for (int64_t c = 0; c < C; ++c) gxr[c * D] = T(0);
        continue;
      }
      const double g = p.reduction == Reduction::None ? static_cast<double>(GY[i]) : scalarG;
      const double wt = Wc ? static_cast<double>(Wc[t]) : 1.0;
      const double a = (1 - ls) * wt;                // weight of the target term
      const double b = ls / static_cast<double>(C);  // weight of the smoothing term
      if (p.logits) {
        // d/dx[c] = a * (p[c] - [c == t]) + b * (sumW * p[c] - w[c])
        const double l = LSE[i];
        const double pk = a + b * sumW;
        for (int64_t c = 0; c < C; ++c) {
          const double pc = std::exp(static_cast<double>(x[c * D]) - l);
          double v = pk * pc - b * (Wc ? static_cast<double>(Wc[c]) : 1.0);
          if (c == t) v -= a;
          gxr[c * D] = static_cast<T>(g * v);
        }
      } else {
        for (int64_t c = 0; c < C; ++c) {
          double v = -b * (Wc ? static_cast<double>(Wc[c]) : 1.0);
          if (c == t) v -= a;
          gxr[c * D] = static_cast<T>(g * v);
        }
      }
    }
  });
}

}  // namespace

void conv2d(const TensorView& x, const TensorView& w, const TensorView* bias, const Conv2dParams& p,
            const TensorView& out, bool relu, const ConvPool* pool) {
  KD_DISPATCH_FLOAT(x.dtype, "conv2d", conv2dTyped<scalar_t>(x, w, bias, p, out, relu, pool));
}

void conv2dBackward(const TensorView& gy, const TensorView& x, const TensorView& w, const Conv2dParams& p,
                    const TensorView* gx, const TensorView* gw, const TensorView* gb, const ConvPool* pool) {
  KD_DISPATCH_FLOAT(x.dtype, "conv2dBackward", conv2dBackwardTyped<scalar_t>(gy, x, w, p, gx, gw, gb, pool));
}

void maxPool2d(const TensorView& x, const Pool2dParams& p, const TensorView& out, const TensorView& indices) {
  KD_DISPATCH_FLOAT(x.dtype, "maxPool2d", maxPoolTyped<scalar_t>(x, p, out, &indices));
}
void maxPool2dValues(const TensorView& x, const Pool2dParams& p, const TensorView& out) {
  KD_DISPATCH_FLOAT(x.dtype, "maxPool2d", maxPoolTyped<scalar_t>(x, p, out, nullptr));
}

void maxPool2dBackward(const TensorView& gy, const TensorView& indices, const TensorView& gx) {
  KD_DISPATCH_FLOAT(gy.dtype, "maxPool2dBackward", maxPoolBackwardTyped<scalar_t>(gy, indices, gx));
}

void avgPool2d(const TensorView& x, const Pool2dParams& p, bool countIncludePad, int64_t divisorOverride,
               const TensorView& out) {
  KD_DISPATCH_FLOAT(x.dtype, "avgPool2d", avgPoolTyped<scalar_t>(x, p, countIncludePad, divisorOverride, out));
}

void avgPool2dBackward(const TensorView& gy, const Pool2dParams& p, bool countIncludePad, int64_t divisorOverride,
                       const TensorView& gx) {
  KD_DISPATCH_FLOAT(gy.dtype, "avgPool2dBackward",
                    avgPoolBackwardTyped<scalar_t>(gy, p, countIncludePad, divisorOverride, gx));
}

void adaptiveAvgPool2d(const TensorView& x, const TensorView& out) {
  KD_DISPATCH_FLOAT(x.dtype, "adaptiveAvgPool2d", adaptiveAvgTyped<scalar_t>(x, out));
}

void adaptiveAvgPool2dBackward(const TensorView& gy, const TensorView& gx) {
  KD_DISPATCH_FLOAT(gy.dtype, "adaptiveAvgPool2dBackward", adaptiveAvgBackwardTyped<scalar_t>(gy, gx));
}

void batchNorm(const TensorView& x, const TensorView* weight, const TensorView* bias, const TensorView* runningMean,
               const TensorView* runningVar, bool training, double momentum, double eps, const TensorView& out,
               const TensorView& saveMean, const TensorView& saveInvstd) {
  if (!training && (!runningMean || !runningVar))
    throw KernelError("batchNorm: running_mean and running_var must be defined in evaluation mode");
  KD_DISPATCH_FLOAT(x.dtype, "batchNorm",
                    batchNormTyped<scalar_t>(x, weight, bias, runningMean, runningVar, training, momentum, eps, out,
                                             saveMean, saveInvstd));
}

void batchNormBackward(const TensorView& gy, const TensorView& x, const TensorView* weight, const TensorView& saveMean,
                       const TensorView& saveInvstd, bool training, const TensorView* gx, const TensorView* gw,
                       const TensorView* gb) {
  KD_DISPATCH_FLOAT(x.dtype, "batchNormBackward",
                    batchNormBackwardTyped<scalar_t>(gy, x, weight, saveMean, saveInvstd, training, gx, gw, gb));
}

void layerNorm(const TensorView& x, const TensorView* weight, const TensorView* bias, double eps, const TensorView& out,
               const TensorView& mean, const TensorView& rstd) {
  KD_DISPATCH_FLOAT(x.dtype, "layerNorm", layerNormTyped<scalar_t>(x, weight, bias, eps, out, mean, rstd));
}

void layerNormBackward(const TensorView& gy, const TensorView& x, const TensorView* weight, const TensorView& mean,
                       const TensorView& rstd, const TensorView* gx, const TensorView* gw, const TensorView* gb) {
  KD_DISPATCH_FLOAT(x.dtype, "layerNormBackward",
                    layerNormBackwardTyped<scalar_t>(gy, x, weight, mean, rstd, gx, gw, gb));
}

void nllLoss(const TensorView& input, const TensorView& target, const TensorView* weight, const NllParams& p,
             const TensorView& out, const TensorView* lse, const TensorView& totalWeight) {
  KD_DISPATCH_FLOAT(input.dtype, p.op, nllTyped<scalar_t>(input, target, weight, p, out, lse, totalWeight));
}

void nllLossBackward(const TensorView& gy, const TensorView& input, const TensorView& target, const TensorView* weight,
                     const NllParams& p, const TensorView* lse, double totalWeight, const TensorView& gx) {
  if (p.logits && !lse)
    throw KernelError(std::string(p.op) + ": backward of the logits form needs the saved logsumexp");
  KD_DISPATCH_FLOAT(input.dtype, p.op, nllBackwardTyped<scalar_t>(gy, input, target, weight, p, lse, totalWeight, gx));
}

}  // namespace kd
