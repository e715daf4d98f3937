// Fused scaled dot product attention: out = softmax(q kᵀ · scale + mask) v
// per (batch, head), without the [L, S] weights ever existing whole.
//
// Note [Fused attention]: the queries of one head are taken kBlock rows at
// a time. A block's scores against the keys it may see (with isCausal, key
// j is seen by query i only when j <= i, so the block stops at its last
// row's diagonal: the masked keys past it are never multiplied) go into a
// per-task scratch of kBlock x S, are masked, soft-maxed row by row and
// multiplied by v into the output. Only the output and each row's
// logsumexp are kept for backward (flash attention's choice): backward
// recomputes a block's probabilities from q, k and the logsumexp, which
// costs one more q kᵀ product but keeps memory at O(L) per head where
// saving the probabilities would hold O(L·S). The products run on the
// built-in GEMM (gemmStrided) on each pool thread; heads (and, forward,
// query blocks) are split over the pool.
//
// Rows whose every key is masked come out NaN, as the softmax of a row of
// -inf does in the composite (and in PyTorch's math path).
#include <cmath>
#include <limits>
#include <vector>

#include "kernels.h"
#include "nn_kernels.h"
#include "parallel.h"

namespace kd {

namespace {

constexpr int64_t kBlock = 64;

// A [B, H, rows, cols] view's element (b, h, 0, 0) and its row / column strides.
template <typename T>
struct Mat4 {
  T* data;
  int64_t sb, sh, rs, cs;
  Mat4(const TensorView& v)
      : data(v.ptr<T>()), sb(v.strides[0]), sh(v.strides[1]), rs(v.strides[2]), cs(v.strides[3]) {}
  T* at(int64_t b, int64_t h) const { return data + b * sb + h * sh; }
};

// The mask as the kernel reads it: element (b, h, i, j), bool (true takes
// part) or additive float, or none.
template <typename T>
struct MaskView {
  const void* data = nullptr;
  bool isBool = false;
  int64_t sb = 0, sh = 0, si = 0, sj = 0;
  explicit MaskView(const TensorView* m) {
    if (!m) return;
    data = m->data;
    isBool = m->dtype == DType::Bool;
    sb = m->strides[0];
    sh = m->strides[1];
    si = m->strides[2];
    sj = m->strides[3];
  }
};

// Turns row i's raw scores s[0, n) into scaled, masked logits in place;
// past `seen` (the causal limit) they are -inf.
template <typename T>
inline void maskRow(T* s, int64_t n, int64_t seen, double scale, const MaskView<T>& m, int64_t b, int64_t h,
                    int64_t i) {
  const T sc = static_cast<T>(scale);
  const T ninf = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < seen; ++j) s[j] *= sc;
  if (m.data) {
    const int64_t base = b * m.sb + h * m.sh + i * m.si;
    if (m.isBool) {
      const uint8_t* mp = static_cast<const uint8_t*>(m.data) + base;
      for (int64_t j = 0; j < seen; ++j)
        if (!mp[j * m.sj]) s[j] = ninf;
    } else {
      const T* mp = static_cast<const T*>(m.data) + base;
      for (int64_t j = 0; j < seen; ++j) s[j] += mp[j * m.sj];
    }
  }
  for (int64_t j = seen; j < n; ++j) s[j] = ninf;
}

// The keys query row i may see: all S, or with isCausal 0..i.
inline int64_t seenBy(int64_t i, int64_t S, bool causal) { return causal ? std::min(S, i + 1) : S; }

template <typename T>
void forwardTyped(const TensorView& qv, const TensorView& kv, const TensorView& vv, const TensorView* maskv,
                  const AttentionParams& p, const TensorView& outv, const TensorView& lsev) {
  const int64_t B = outv.shape[0], H = outv.shape[1], L = qv.shape[2], E = qv.shape[3], S = kv.shape[2],
                Ev = vv.shape[3];
  const Mat4<const T> q(qv), k(kv), v(vv);
  const MaskView<T> mask(maskv);
  T* out = outv.ptr<T>();
  T* lse = lsev.ptr<T>();
  const int64_t blocks = (L + kBlock - 1) / kBlock;
  parallelFor(0, B * H * blocks, 1, [&](int64_t t0, int64_t t1) {
    std::vector<T> scores(static_cast<size_t>(kBlock * std::max<int64_t>(S, 1)));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t bh = t / blocks, b = bh / H, h = bh % H;
      const int64_t i0 = (t % blocks) * kBlock, rows = std::min(kBlock, L - i0);
      const int64_t n = seenBy(i0 + rows - 1, S, p.causal);  // the block's widest row
      const T* qb = q.at(b, h) + i0 * q.rs;
      const T* kb = k.at(b, h);
      T* ob = out + (bh * L + i0) * Ev;
      T* lb = lse + bh * L + i0;
      if (n == 0) {
        // No keys: an empty softmax, a zero output.
        for (int64_t r = 0; r < rows; ++r) {
          lb[r] = -std::numeric_limits<T>::infinity();
          for (int64_t e = 0; e < Ev; ++e) ob[r * Ev + e] = T(0);
        }
        continue;
      }
      T* s = scores.data();
      // s = q_block kᵀ: kᵀ is k read with its strides swapped.
      gemmStrided(rows, n, E, qb, q.rs, q.cs, kb, k.cs, k.rs, s, n, false);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = i0 + r;
        T* row = s + r * n;
        const int64_t seen = seenBy(i, S, p.causal);
        maskRow(row, n, seen, p.scale, mask, b, h, i);
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j < seen; ++j) m = row[j] > m ? row[j] : m;
        double sum = 0;
        for (int64_t j = 0; j < n; ++j) {
          row[j] = std::exp(row[j] - m);
          sum += row[j];
        }
        const T inv = static_cast<T>(1.0 / sum);
        for (int64_t j = 0; j < n; ++j) row[j] *= inv;
        lb[r] = m + static_cast<T>(std::log(sum));
      }
      gemmStrided(rows, Ev, n, s, n, int64_t(1), v.at(b, h), v.rs, v.cs, ob, Ev, false);
    }
  });
}

template <typename T>
void backwardTyped(const TensorView& gv_, const TensorView& qv, const TensorView& kv, const TensorView& vv,
                   const TensorView* maskv, const AttentionParams& p, const TensorView& outv, const TensorView& lsev,
                   const TensorView* gq, const TensorView* gk, const TensorView* gvv) {
  const int64_t B = outv.shape[0], H = outv.shape[1], L = qv.shape[2], E = qv.shape[3], S = kv.shape[2],
                Ev = vv.shape[3];
  const Mat4<const T> g(gv_), q(qv), k(kv), v(vv);
  const MaskView<T> mask(maskv);
  const T* out = outv.ptr<const T>();
  const T* lse = lsev.ptr<const T>();
  T* dq = gq ? gq->ptr<T>() : nullptr;
  T* dk = gk ? gk->ptr<T>() : nullptr;
  T* dv = gvv ? gvv->ptr<T>() : nullptr;
  const T sc = static_cast<T>(p.scale);
  // A head's key and value gradients sum over all its query blocks, so a
  // task is a whole head.
  parallelFor(0, B * H, 1, [&](int64_t t0, int64_t t1) {
    const size_t cells = static_cast<size_t>(kBlock * std::max<int64_t>(S, 1));
    std::vector<T> probs(cells), dprobs(cells);
    for (int64_t bh = t0; bh < t1; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      const T* kb = k.at(b, h);
      const T* vb = v.at(b, h);
      T* dkb = dk ? dk + bh * S * E : nullptr;
      T* dvb = dv ? dv + bh * S * Ev : nullptr;
      if (dkb)
        for (int64_t x = 0; x < S * E; ++x) dkb[x] = T(0);
      if (dvb)
        for (int64_t x = 0; x < S * Ev; ++x) dvb[x] = T(0);
      for (int64_t i0 = 0; i0 < L; i0 += kBlock) {
        const int64_t rows = std::min(kBlock, L - i0);
        const int64_t n = seenBy(i0 + rows - 1, S, p.causal);
        const T* qb = q.at(b, h) + i0 * q.rs;
        const T* gb = g.at(b, h) + i0 * g.rs;
        T* dqb = dq ? dq + (bh * L + i0) * E : nullptr;
        if (n == 0) {
          if (dqb)
            for (int64_t x = 0; x < rows * E; ++x) dqb[x] = T(0);
          continue;
        }
        // P, recomputed: exp(logits - logsumexp).
        T* P = probs.data();
        gemmStrided(rows, n, E, qb, q.rs, q.cs, kb, k.cs, k.rs, P, n, false);
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t i = i0 + r;
          T* row = P + r * n;
          maskRow(row, n, seenBy(i, S, p.causal), p.scale, mask, b, h, i);
          const T l = lse[bh * L + i];
          for (int64_t j = 0; j < n; ++j) row[j] = std::exp(row[j] - l);
        }
        // dv[0, n) += Pᵀ g_block.
        if (dvb) gemmStrided(n, Ev, rows, P, int64_t(1), n, gb, g.rs, g.cs, dvb, Ev, true);
        if (!dqb && !dkb) continue;
        // dP = g_block vᵀ; dS = P * (dP - rowsum(g * out)) * scale.
        T* dS = dprobs.data();
        gemmStrided(rows, n, Ev, gb, g.rs, g.cs, vb, v.cs, v.rs, dS, n, false);
        for (int64_t r = 0; r < rows; ++r) {
          const T* gr = gb + r * g.rs;
          const T* orow = out + (bh * L + i0 + r) * Ev;
          double d = 0;
          for (int64_t e = 0; e < Ev; ++e) d += static_cast<double>(gr[e * g.cs]) * orow[e];
          const T dt = static_cast<T>(d);
          T* ds = dS + r * n;
          const T* pr = P + r * n;
          for (int64_t j = 0; j < n; ++j) ds[j] = pr[j] == T(0) ? T(0) : pr[j] * (ds[j] - dt) * sc;
        }
        // dq_block = dS k; dk[0, n) += dSᵀ q_block.
        if (dqb) gemmStrided(rows, E, n, dS, n, int64_t(1), kb, k.rs, k.cs, dqb, E, false);
        if (dkb) gemmStrided(n, E, rows, dS, int64_t(1), n, qb, q.rs, q.cs, dkb, E, true);
      }
    }
  });
}

}  // namespace

void attention(const TensorView& q, const TensorView& k, const TensorView& v, const TensorView* mask,
               const AttentionParams& p, const TensorView& out, const TensorView& lse) {
  if (q.dtype == DType::Float32) forwardTyped<float>(q, k, v, mask, p, out, lse);
  else forwardTyped<double>(q, k, v, mask, p, out, lse);
}

void attentionBackward(const TensorView& gy, const TensorView& q, const TensorView& k, const TensorView& v,
                       const TensorView* mask, const AttentionParams& p, const TensorView& out, const TensorView& lse,
                       const TensorView* gq, const TensorView* gk, const TensorView* gv) {
  if (q.dtype == DType::Float32) backwardTyped<float>(gy, q, k, v, mask, p, out, lse, gq, gk, gv);
  else backwardTyped<double>(gy, q, k, v, mask, p, out, lse, gq, gk, gv);
}

}  // namespace kd
