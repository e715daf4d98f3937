// Elementwise kernels: unary, binary, where, copy, fill, clamp.
//
// Every kernel is a per-element function handed to one strided driver
// (forEach). The driver merges dimensions that are contiguous with each
// other, then hands out blocks of rows (innermost dimension), so the
// per-element loops below only ever see a pointer and one stride per
// operand. Rows whose strides are all 1 or 0 get loops the compiler can
// vectorise; anything else takes a plain strided loop. Transposed inputs
// are walked in small tiles instead of whole rows, and big tensors are
// split across threads with parallelFor.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "cache.h"
#include "kernels.h"
#include "parallel.h"
#include "vec_math.h"

namespace kd {

namespace {

// KD_FLATTEN (vec_math.h) inlines every call in the function body, so the
// per-element function (a lambda wrapping, say, fastExp) lands inside the
// loop where the vectoriser can see it; GCC's size limits otherwise keep the
// larger ones as calls.

constexpr int kMaxOps = 4;  // where: out, cond, a, b
// Below this many elements a kernel runs on the calling thread: waking the
// pool costs more than it saves. Transcendental ops are ~10x the work per
// element, so they split sooner.
constexpr int64_t kGrain = 32768;
constexpr int64_t kGrainHeavy = 4096;

// ---- the strided driver -------------------------------------------------------

// A non-owning reference to a callable: lets the driver be compiled once
// instead of once per kernel, op and dtype.
template <typename Sig>
class FnRef;
template <typename R, typename... Args>
class FnRef<R(Args...)> {
 public:
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FnRef>>>
  FnRef(F&& f)  // NOLINT: implicit on purpose, it wraps lambdas at call sites
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, Args... a) -> R { return (*static_cast<std::remove_reference_t<F>*>(o))(a...); }) {}
  R operator()(Args... a) const { return call_(obj_, a...); }

 private:
  void* obj_;
  R (*call_)(void*, Args...);
};

// Processes `rows` rows of n elements. Row r of operand k starts at
// ptrs[k] + r * rowBytes[k]; strides[k] is the stride along a row in
// elements. Operand 0 is the output. Handing over whole blocks of rows
// keeps the indirect call off the per-row path when rows are short.
using RowFn = FnRef<void(char* const* ptrs, const int64_t* strides, int64_t n, const int64_t* rowBytes, int64_t rows)>;

struct Layout {
  int nops = 0;
  int ndim = 0;
  int64_t shape[kMaxDims];
  int64_t stride[kMaxOps][kMaxDims];   // elements
  int64_t bstride[kMaxOps][kMaxDims];  // bytes
  char* base[kMaxOps];
};

Layout makeLayout(const TensorView* const* views, int nops) {
  const TensorView& out = *views[0];
  Layout L;
  L.nops = nops;
  int dims[kMaxDims];
  int nd = 0;
  for (int d = 0; d < out.ndim; ++d)
    if (out.shape[d] != 1) dims[nd++] = d;
  // Walk in the output's memory order, so writes into a permuted output
  // (a copy into a transposed view, say) stay sequential.
  std::stable_sort(dims, dims + nd, [&](int x, int y) { return std::abs(out.strides[x]) > std::abs(out.strides[y]); });
  for (int i = 0; i < nd; ++i) {
    const int d = dims[i];
    if (L.ndim > 0) {
      const int last = L.ndim - 1;
      bool mergeable = true;
      for (int k = 0; k < nops; ++k)
        if (L.stride[k][last] != views[k]->strides[d] * out.shape[d]) mergeable = false;
      if (mergeable) {
        L.shape[last] *= out.shape[d];
        for (int k = 0; k < nops; ++k) L.stride[k][last] = views[k]->strides[d];
        continue;
      }
    }
    L.shape[L.ndim] = out.shape[d];
    for (int k = 0; k < nops; ++k) L.stride[k][L.ndim] = views[k]->strides[d];
    ++L.ndim;
  }
  // At least two dims (a leading size-1 one if need be), so the walkers can
  // always hand out blocks of rows.
  const int pad = L.ndim >= 2 ? 0 : 2 - L.ndim;
  for (int d = L.ndim - 1; d >= 0; --d) {
    L.shape[d + pad] = L.shape[d];
    for (int k = 0; k < nops; ++k) L.stride[k][d + pad] = L.stride[k][d];
  }
  for (int d = 0; d < pad; ++d) {
    L.shape[d] = 1;
    for (int k = 0; k < nops; ++k) L.stride[k][d] = 0;
  }
  L.ndim += pad;
  for (int k = 0; k < nops; ++k) {
    L.base[k] = static_cast<char*>(views[k]->data);
    const int64_t esize = static_cast<int64_t>(dtypeSize(views[k]->dtype));
    for (int d = 0; d < L.ndim; ++d) L.bstride[k][d] = L.stride[k][d] * esize;
  }
  return L;
}

// Runs elements [start, end) of the layout's row-major order: a partial
// first row, then blocks of whole rows along the next-to-last dim, then a
// partial last row.
void runRange(const Layout& L, int64_t start, int64_t end, RowFn row) {
  const int nd = L.ndim, in = nd - 1, out = nd - 2;
  int64_t idx[kMaxDims];
  int64_t rest = start;
  for (int d = nd - 1; d >= 0; --d) {
    idx[d] = rest % L.shape[d];
    rest /= L.shape[d];
  }
  int64_t innerStride[kMaxOps], rowBytes[kMaxOps];
  for (int k = 0; k < L.nops; ++k) {
    innerStride[k] = L.stride[k][in];
    rowBytes[k] = L.bstride[k][out];
  }
  for (int64_t pos = start; pos < end;) {
    char* p[kMaxOps];
    for (int k = 0; k < L.nops; ++k) {
      p[k] = L.base[k];
      for (int d = 0; d < nd; ++d) p[k] += idx[d] * L.bstride[k][d];
    }
    int64_t n = std::min(L.shape[in] - idx[in], end - pos), rows = 1;
    if (idx[in] == 0 && n == L.shape[in]) rows = std::min((end - pos) / n, L.shape[out] - idx[out]);
    row(p, innerStride, n, rowBytes, rows);
    pos += n * rows;
    if (pos == end) break;
    if (rows > 1 || idx[in] + n == L.shape[in]) {
      idx[in] = 0;
      idx[out] += rows;
    } else {
      idx[in] += n;
    }
    for (int d = out; d > 0 && idx[d] == L.shape[d]; --d) {
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
}

// 32 rows of 16 columns: a 4-byte transposed input then brings in 16 cache
// lines, each used for 16 elements, within L1 even when its stride is a
// multiple of 4 KiB (all those lines in one cache set). Measured best of
// the sizes tried for a 1024x1024 float transpose.
constexpr int64_t kTileRows = 32, kTileCols = 16;

// True when an input runs along the next-to-last dim in memory (a
// transpose): walking whole rows would then touch a new cache line per
// element and never come back to it.
bool wantsTiles(const Layout& L) {
  const int i = L.ndim - 2, j = L.ndim - 1;
  if (L.shape[i] < kTileRows || L.shape[j] < kTileCols) return false;
  for (int k = 1; k < L.nops; ++k) {
    const int64_t si = std::abs(L.stride[k][i]), sj = std::abs(L.stride[k][j]);
    if (sj > 1 && si < sj) return true;
  }
  return false;
}

// Walks the last two dims in kTileRows x kTileCols tiles, so each cache line
// of a transposed input serves a whole tile before it is evicted. A unit is
// kTileRows rows of the next-to-last dim, all columns.
void runTiles(const Layout& L, int64_t firstUnit, int64_t endUnit, RowFn row) {
  const int i = L.ndim - 2, j = L.ndim - 1;
  const int64_t M = L.shape[i], N = L.shape[j], blocks = (M + kTileRows - 1) / kTileRows;
  int64_t inner[kMaxOps], rowBytes[kMaxOps];
  for (int k = 0; k < L.nops; ++k) {
    inner[k] = L.stride[k][j];
    rowBytes[k] = L.bstride[k][i];
  }
  for (int64_t u = firstUnit; u < endUnit; ++u) {
    const int64_t i0 = (u % blocks) * kTileRows, rows = std::min(M - i0, kTileRows);
    char* base[kMaxOps];
    for (int k = 0; k < L.nops; ++k) base[k] = L.base[k] + i0 * L.bstride[k][i];
    int64_t outer = u / blocks;
    for (int d = i - 1; d >= 0; --d) {
      const int64_t id = outer % L.shape[d];
      outer /= L.shape[d];
      for (int k = 0; k < L.nops; ++k) base[k] += id * L.bstride[k][d];
    }
    for (int64_t j0 = 0; j0 < N; j0 += kTileCols) {
      char* p[kMaxOps];
      for (int k = 0; k < L.nops; ++k) p[k] = base[k] + j0 * L.bstride[k][j];
      row(p, inner, std::min(kTileCols, N - j0), rowBytes, rows);
    }
  }
}

// Calls row over every element of views[0]'s shape (all views share it).
void forEach(const TensorView* const* views, int nops, int64_t grain, RowFn row) {
  const int64_t numel = views[0]->numel();
  if (numel <= 0) return;
  const Layout L = makeLayout(views, nops);
  if (wantsTiles(L)) {
    const int64_t M = L.shape[L.ndim - 2], N = L.shape[L.ndim - 1];
    const int64_t blocks = (M + kTileRows - 1) / kTileRows, units = numel / (M * N) * blocks;
    parallelFor(0, units, std::max<int64_t>(1, grain / (kTileRows * N)),
                [&](int64_t b, int64_t e) { runTiles(L, b, e, row); });
    return;
  }
  if (numel <= grain) {
    runRange(L, 0, numel, row);
    return;
  }
  parallelFor(0, numel, grain, [&](int64_t b, int64_t e) { runRange(L, b, e, row); });
}

// Applies body(ptrs) to each row of a block handed to a RowFn.
template <int N, typename Body>
inline void eachRow(char* const* p, const int64_t* rowBytes, int64_t rows, const Body& body) {
  char* q[N];
  for (int k = 0; k < N; ++k) q[k] = p[k];
  for (int64_t r = 0; r < rows; ++r) {
    body(q);
    for (int k = 0; k < N; ++k) q[k] += rowBytes[k];
  }
}

// ---- overlap between inputs and output ------------------------------------------

// Byte range [lo, hi) a non-empty view can touch.
void byteExtent(const TensorView& v, uintptr_t& lo, uintptr_t& hi) {
  const int64_t es = static_cast<int64_t>(dtypeSize(v.dtype));
  int64_t a = 0, b = 0;
  for (int d = 0; d < v.ndim; ++d) {
    const int64_t span = (v.shape[d] - 1) * v.strides[d] * es;
    if (span > 0) b += span;
    else a += span;
  }
  const uintptr_t base = reinterpret_cast<uintptr_t>(v.data);
  lo = base + static_cast<uintptr_t>(a);  // a <= 0: wraps back, as intended
  hi = base + static_cast<uintptr_t>(b + es);
}

bool sameElements(const TensorView& a, const TensorView& b) {
  if (a.data != b.data || dtypeSize(a.dtype) != dtypeSize(b.dtype) || a.ndim != b.ndim) return false;
  for (int d = 0; d < a.ndim; ++d)
    if (a.shape[d] != 1 && a.strides[d] != b.strides[d]) return false;
  return true;
}

void copyImpl(const TensorView& src, const TensorView& dst);

// An input that shares memory with the output element for element (x.add_(y))
// is fine: each element is read before it is written. Any other overlap
// would read values already overwritten, so such an input is copied first
// into `buffer` and the returned view points there.
TensorView separateFromOutput(const TensorView& in, const TensorView& out, std::vector<char>& buffer) {
  if (in.numel() == 0 || out.numel() == 0 || sameElements(in, out)) return in;
  uintptr_t inLo, inHi, outLo, outHi;
  byteExtent(in, inLo, inHi);
  byteExtent(out, outLo, outHi);
  if (inHi <= outLo || outHi <= inLo) return in;
  // Broadcast dims stay broadcast: only the distinct elements are copied.
  TensorView src = in, tmp = in;
  int64_t size = 1;
  for (int d = in.ndim - 1; d >= 0; --d) {
    if (in.strides[d] == 0) {
      src.shape[d] = 1;
    } else {
      tmp.strides[d] = size;
      size *= in.shape[d];
    }
  }
  buffer.resize(static_cast<size_t>(size) * dtypeSize(in.dtype));
  tmp.data = buffer.data();
  TensorView compact = tmp;
  for (int d = 0; d < in.ndim; ++d) compact.shape[d] = src.shape[d];
  copyImpl(src, compact);
  return tmp;
}

// ---- per-row loops -------------------------------------------------------------------

// Operand accessors: a contiguous row, one value broadcast along the row,
// or any stride. Loops templated on them vectorise in the first two cases.
template <typename T>
struct Contig {
  const T* p;
  T operator[](int64_t i) const { return p[i]; }
};
template <typename T>
struct Bcast {
  T v;
  T operator[](int64_t) const { return v; }
};
template <typename T>
struct Strided {
  const T* p;
  int64_t s;
  T operator[](int64_t i) const { return p[i * s]; }
};

template <typename T, typename F>
void unitOrBcast(const char* p, int64_t stride, const F& f) {
  const T* t = reinterpret_cast<const T*>(p);
  if (stride == 0) f(Bcast<T>{*t});
  else f(Contig<T>{t});
}

inline bool unitOrZero(int64_t s) { return s == 0 || s == 1; }

template <typename O, typename A, typename F>
KD_FLATTEN void loop1(O* __restrict o, A a, int64_t n, const F& f) {
  for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
}
template <typename O, typename A, typename B, typename F>
KD_FLATTEN void loop2(O* __restrict o, A a, B b, int64_t n, const F& f) {
  for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
}
template <typename O, typename C, typename A, typename B, typename F>
KD_FLATTEN void loop3(O* __restrict o, C c, A a, B b, int64_t n, const F& f) {
  for (int64_t i = 0; i < n; ++i) o[i] = f(c[i], a[i], b[i]);
}

template <typename O>
void fillRow(O* o, int64_t stride, int64_t n, O v) {
  if (stride == 1) std::fill_n(o, n, v);
  else
    for (int64_t i = 0; i < n; ++i) o[i * stride] = v;
}

// out = f(a) over one row.
template <typename O, typename A, typename F>
KD_FLATTEN void map1(char* const* p, const int64_t* s, int64_t n, const F& f) {
  O* o = reinterpret_cast<O*>(p[0]);
  const A* a = reinterpret_cast<const A*>(p[1]);
  if (s[1] == 0) fillRow<O>(o, s[0], n, f(*a));
  else if (s[0] == 1 && s[1] == 1) loop1(o, Contig<A>{a}, n, f);
  else
    for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(a[i * s[1]]);
}

// out = f(a, b) over one row.
template <typename O, typename T, typename F>
KD_FLATTEN void map2(char* const* p, const int64_t* s, int64_t n, const F& f) {
  O* o = reinterpret_cast<O*>(p[0]);
  if (s[1] == 0 && s[2] == 0) {
    fillRow<O>(o, s[0], n, f(*reinterpret_cast<const T*>(p[1]), *reinterpret_cast<const T*>(p[2])));
  } else if (s[0] == 1 && unitOrZero(s[1]) && unitOrZero(s[2])) {
    unitOrBcast<T>(p[1], s[1], [&](auto a) { unitOrBcast<T>(p[2], s[2], [&](auto b) { loop2(o, a, b, n, f); }); });
  } else {
    const Strided<T> a{reinterpret_cast<const T*>(p[1]), s[1]}, b{reinterpret_cast<const T*>(p[2]), s[2]};
    for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(a[i], b[i]);
  }
}

// out = f(c, a, b) over one row; c is the uint8 condition of where.
template <typename T, typename F>
KD_FLATTEN void map3(char* const* p, const int64_t* s, int64_t n, const F& f) {
  T* o = reinterpret_cast<T*>(p[0]);
  if (s[0] == 1 && unitOrZero(s[1]) && unitOrZero(s[2]) && unitOrZero(s[3])) {
    unitOrBcast<uint8_t>(p[1], s[1], [&](auto c) {
      unitOrBcast<T>(p[2], s[2], [&](auto a) { unitOrBcast<T>(p[3], s[3], [&](auto b) { loop3(o, c, a, b, n, f); }); });
    });
  } else {
    const Strided<uint8_t> c{reinterpret_cast<const uint8_t*>(p[1]), s[1]};
    const Strided<T> a{reinterpret_cast<const T*>(p[2]), s[2]}, b{reinterpret_cast<const T*>(p[3]), s[3]};
    for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(c[i], a[i], b[i]);
  }
}

// Note [Streaming stores] (cache.cc): a large output that is cold in cache
// is computed in blocks into a buffer on the stack, which stays in L1, and
// copied out with non-temporal stores. Only for contiguous outputs of plain
// arithmetic types.
constexpr int64_t kStreamBlockBytes = 4096;

template <typename O>
bool streamsOutput(const TensorView& out) {
  if constexpr (!std::is_arithmetic_v<O>) return false;
  const size_t bytes = static_cast<size_t>(out.numel()) * dtypeSize(out.dtype);
  if (bytes < kStreamMinBytes || !out.isContiguous() || !outputIsCold(out.data, bytes)) return false;
  countStreamedOutput();
  return true;
}

// body(tmp, off, m) computes elements [off, off + m) of a contiguous row
// into tmp; each block is then streamed to the row at o.
template <typename O, typename Body>
void streamRow(char* o, int64_t n, const Body& body) {
  constexpr int64_t B = kStreamBlockBytes / static_cast<int64_t>(sizeof(O));
  alignas(64) O tmp[B];
  for (int64_t off = 0; off < n; off += B) {
    const int64_t m = std::min(B, n - off);
    body(tmp, off, m);
    streamCopy(o + off * static_cast<int64_t>(sizeof(O)), tmp, static_cast<size_t>(m) * sizeof(O));
  }
}

// One block of rows of out = f(a) (forEach's RowFn), streamed when asked
// and the output rows are contiguous.
template <typename O, typename A, typename F>
void rows1(char* const* p, const int64_t* s, int64_t n, const int64_t* rb, int64_t rows, bool stream, const F& f) {
  if constexpr (std::is_arithmetic_v<O>) {
    if (stream && s[0] == 1) {
      eachRow<2>(p, rb, rows, [&](char* const* q) {
        streamRow<O>(q[0], n, [&](O* tmp, int64_t off, int64_t m) {
          char* t[2] = {reinterpret_cast<char*>(tmp), q[1] + off * s[1] * static_cast<int64_t>(sizeof(A))};
          map1<O, A>(t, s, m, f);
        });
      });
      streamFence();
      return;
    }
  }
  eachRow<2>(p, rb, rows, [&](char* const* q) { map1<O, A>(q, s, n, f); });
}

template <typename O, typename A, typename F>
void run1(const TensorView* const* views, int64_t grain, const F& f) {
  const bool stream = streamsOutput<O>(*views[0]);
  forEach(views, 2, grain, [&](char* const* p, const int64_t* s, int64_t n, const int64_t* rb, int64_t rows) {
    rows1<O, A>(p, s, n, rb, rows, stream, f);
  });
}
// out = f(x) for compute-bound float ops (exp, tanh, sigmoid) and relu:
// blocks of contiguous rows run a copy of the loop compiled for the widest
// ISA the CPU has (Note [Wide SIMD loops]); other layouts take run1's loops.
// o may be a (x.exp_()): restrict is safe since each element is read
// before it is written, as in loop1.
template <typename T, typename F>
inline void contigRow(T* __restrict o, const T* a, int64_t n, const F& f) {
  for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
}
template <typename T, typename F>
void run1Wide(const TensorView* const* views, int64_t grain, const F& f) {
  const bool stream = streamsOutput<T>(*views[0]);
  forEach(views, 2, grain, [&](char* const* p, const int64_t* s, int64_t n, const int64_t* rb, int64_t rows) {
    if (s[0] == 1 && s[1] == 1) {
      vec::withWideSimd([&] {
        eachRow<2>(p, rb, rows, [&](char* const* q) {
          const T* a = reinterpret_cast<const T*>(q[1]);
          if (stream) streamRow<T>(q[0], n, [&](T* tmp, int64_t off, int64_t m) { contigRow(tmp, a + off, m, f); });
          else contigRow(reinterpret_cast<T*>(q[0]), a, n, f);
        });
      });
      if (stream) streamFence();
    } else {
      rows1<T, T>(p, s, n, rb, rows, stream, f);
    }
  });
}
// One block of rows of out = f(a, b) (forEach's RowFn), streamed when asked
// and the output rows are contiguous.
template <typename O, typename T, typename F>
void rows2(char* const* p, const int64_t* s, int64_t n, const int64_t* rb, int64_t rows, bool stream, const F& f) {
  if constexpr (std::is_arithmetic_v<O>) {
    if (stream && s[0] == 1) {
      constexpr int64_t in = static_cast<int64_t>(sizeof(T));
      eachRow<3>(p, rb, rows, [&](char* const* q) {
        streamRow<O>(q[0], n, [&](O* tmp, int64_t off, int64_t m) {
          char* t[3] = {reinterpret_cast<char*>(tmp), q[1] + off * s[1] * in, q[2] + off * s[2] * in};
          map2<O, T>(t, s, m, f);
        });
      });
      streamFence();
      return;
    }
  }
  eachRow<3>(p, rb, rows, [&](char* const* q) { map2<O, T>(q, s, n, f); });
}

template <typename O, typename T, typename F>
void run2(const TensorView* const* views, int64_t grain, const F& f) {
  const bool stream = streamsOutput<O>(*views[0]);
  forEach(views, 3, grain, [&](char* const* p, const int64_t* s, int64_t n, const int64_t* rb, int64_t rows) {
    rows2<O, T>(p, s, n, rb, rows, stream, f);
  });
}

// out = f(a, b) for float arithmetic whose rounding does not depend on the
// vector width (+, -, *, /): contiguous rows run the copy of the loop for the
// widest ISA the CPU has, as run1Wide; other layouts take run2's loops.
// o may be a or b (x.add_(y)): as in contigRow, each element is read before
// it is written.
template <typename T, typename F>
inline void contigRow2(T* __restrict o, const T* a, const T* b, int64_t n, const F& f) {
  for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
}
template <typename T, typename F>
void run2Wide(const TensorView* const* views, int64_t grain, const F& f) {
  const bool stream = streamsOutput<T>(*views[0]);
  forEach(views, 3, grain, [&](char* const* p, const int64_t* s, int64_t n, const int64_t* rb, int64_t rows) {
    if (s[0] != 1 || s[1] != 1 || s[2] != 1) return rows2<T, T>(p, s, n, rb, rows, stream, f);
    vec::withWideSimd([&] {
      eachRow<3>(p, rb, rows, [&](char* const* q) {
        const T* a = reinterpret_cast<const T*>(q[1]);
        const T* b = reinterpret_cast<const T*>(q[2]);
        if (stream)
          streamRow<T>(q[0], n, [&](T* tmp, int64_t off, int64_t m) { contigRow2(tmp, a + off, b + off, m, f); });
        else contigRow2(reinterpret_cast<T*>(q[0]), a, b, n, f);
      });
    });
    if (stream) streamFence();
  });
}

// ---- dtypes and conversions -------------------------------------------------------

template <typename T>
struct Tag {
  using type = T;
};

// Calls f(Tag<T>{}) with T the C++ type of d (bool is uint8_t).
template <typename F>
void dispatchAll(DType d, const F& f) {
  switch (d) {
    case DType::Float32: f(Tag<float>{}); return;
    case DType::Float64: f(Tag<double>{}); return;
    case DType::Int32: f(Tag<int32_t>{}); return;
    case DType::Int64: f(Tag<int64_t>{}); return;
    case DType::UInt8: f(Tag<uint8_t>{}); return;
    case DType::Bool: f(Tag<uint8_t>{}); return;
  }
  throw KernelError("unknown dtype code " + std::to_string(static_cast<int>(d)));
}

template <typename T>
constexpr bool kFloat = std::is_floating_point_v<T>;

// Numeric conversion as PyTorch does it on x86, minus the undefined
// behaviour: float to int goes through int64 (so -1.0 -> uint8 255), NaN
// becomes 0 and values beyond int64 saturate.
template <typename To, typename From>
To convert(From v) {
  if constexpr (kFloat<To> || !kFloat<From>) {
    return static_cast<To>(v);
  } else {
    if (v != v) return To(0);
    if (v >= From(9223372036854775807.0)) return static_cast<To>(std::numeric_limits<int64_t>::max());
    if (v <= From(-9223372036854775808.0)) return static_cast<To>(std::numeric_limits<int64_t>::min());
    return static_cast<To>(static_cast<int64_t>(v));
  }
}

template <typename T>
T scalarAs(double v, bool isBool) {
  return isBool ? T(v != 0) : convert<T>(v);
}

// Signed integer overflow is undefined in C++ but wraps in PyTorch: do
// integer arithmetic in the unsigned type.
template <typename T, bool = std::is_integral_v<T>>
struct UnsignedOf {
  using type = T;
};
template <typename T>
struct UnsignedOf<T, true> {
  using type = std::make_unsigned_t<T>;
};
template <typename T>
using Unsigned = typename UnsignedOf<T>::type;

template <typename T>
T wrapAdd(T a, T b) {
  return T(Unsigned<T>(a) + Unsigned<T>(b));
}
template <typename T>
T wrapSub(T a, T b) {
  return T(Unsigned<T>(a) - Unsigned<T>(b));
}
template <typename T>
T wrapMul(T a, T b) {
  return T(Unsigned<T>(a) * Unsigned<T>(b));
}
template <typename T>
T wrapNeg(T a) {
  return T(Unsigned<T>(0) - Unsigned<T>(a));
}

template <typename T>
bool isNeg(T v) {
  if constexpr (std::is_signed_v<T>) return v < 0;
  else return (void)v, false;
}

// Integer division never traps: x / 0 is 0 (PyTorch raises; the TS layer
// never sends int Div here) and INT_MIN / -1 wraps.
template <typename T>
T intDiv(T a, T b) {
  if (b == 0) return T(0);
  if constexpr (std::is_signed_v<T>)
    if (b == -1) return wrapNeg(a);
  return T(a / b);
}

template <typename T>
T intFloorDiv(T a, T b) {
  if (b == 0) return T(0);
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return wrapNeg(a);
    const T q = T(a / b);
    return (a % b != 0 && (a < 0) != (b < 0)) ? T(q - 1) : q;
  }
  return T(a / b);
}

// Python's modulo: the result takes the divisor's sign.
template <typename T>
T intRemainder(T a, T b) {
  if (b == 0) return T(0);
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return T(0);
    const T r = T(a % b);
    return (r != 0 && (r < 0) != (b < 0)) ? T(r + b) : r;
  }
  return T(a % b);
}

// C's modulo (fmod): the result takes the dividend's sign.
template <typename T>
T intFmod(T a, T b) {
  if (b == 0) return T(0);
  if constexpr (std::is_signed_v<T>)
    if (b == -1) return T(0);  // INT_MIN % -1 traps in C
  return T(a % b);
}

template <typename T>
T floatRemainder(T a, T b) {
  const T r = std::fmod(a, b);
  return (r != 0 && (r < 0) != (b < 0)) ? r + b : r;
}

// Python's float floor division: floor of the exact quotient, computed
// from fmod so that e.g. 0.3 // 0.1 is 2 (not floor(2.9999...) mistakes
// the other way).
template <typename T>
T floatFloorDivide(T a, T b) {
  if (b == 0) return a / b;
  const T mod = std::fmod(a, b);
  T div = (a - mod) / b;
  if (mod != 0 && (b < 0) != (mod < 0)) div -= 1;
  if (div == 0) return std::copysign(T(0), a / b);
  T fl = std::floor(div);
  if (div - fl > T(0.5)) fl += 1;
  return fl;
}

template <typename T>
T intPow(T base, T exp) {
  if (isNeg(exp)) {  // only 1 and -1 have integer reciprocals
    if (base == 1) return T(1);
    if constexpr (std::is_signed_v<T>)
      if (base == -1) return (exp & 1) ? T(-1) : T(1);
    return T(0);
  }
  Unsigned<T> result = 1, b = Unsigned<T>(base);
  for (uint64_t e = static_cast<uint64_t>(exp); e != 0; e >>= 1) {
    if (e & 1) result = Unsigned<T>(result * b);
    b = Unsigned<T>(b * b);
  }
  return T(result);
}

template <typename T>
T maximum(T a, T b) {
  if constexpr (kFloat<T>) return (a > b || a != a) ? a : b;  // NaN in either wins
  else return a > b ? a : b;
}
template <typename T>
T minimum(T a, T b) {
  if constexpr (kFloat<T>) return (a < b || a != a) ? a : b;
  else return a < b ? a : b;
}

// ---- op names for errors ---------------------------------------------------------------

#define KD_OP_NAME(name) #name,
const char* const kUnaryNames[] = {KD_UNARY_OPS(KD_OP_NAME)};
const char* const kBinaryNames[] = {KD_BINARY_OPS(KD_OP_NAME)};
#undef KD_OP_NAME

// "GeluGrad" -> "geluGrad", the spelling of the JS method.
template <size_t N>
std::string opName(const char* const (&names)[N], int32_t code) {
  if (code < 0 || static_cast<size_t>(code) >= N) return "op " + std::to_string(code);
  std::string s = names[code];
  s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string unaryName(UnaryOp op) { return opName(kUnaryNames, static_cast<int32_t>(op)); }
std::string binaryName(BinaryOp op) { return opName(kBinaryNames, static_cast<int32_t>(op)); }

// ---- float math the compiler can vectorise ---------------------------------------------
// fastExp, fastTanh and the bit helpers live in vec_math.h (Note
// [Vectorisable float math]), shared with softmax.

using vec::absBits;
using vec::fastExp;
using vec::fastTanh;
using vec::select;
using vec::withSignOf;

using vec::sigmoid;  // vec_math.h, shared with the recurrent cells

// nearbyint in the default rounding mode (half to even): adding and
// removing 2^mantissa-bits rounds any smaller magnitude to an integer; larger
// ones already are integers. libm's versions are calls on baseline x86-64.
template <typename T>
T roundHalfEven(T x) {
  const T big = std::is_same_v<T, float> ? T(8388608.0) : T(4503599627370496.0);
  const T ax = absBits(x);
  return withSignOf(select(ax < big, (ax + big) - big, ax), x);
}
// floor and ceil keep x's sign (ceil(-0.7) is -0, which -1 + 1 is not).
template <typename T>
T floorBits(T x) {
  const T r = roundHalfEven(x);
  return withSignOf(absBits(select(r > x, r - T(1), r)), x);
}
template <typename T>
T ceilBits(T x) {
  const T r = roundHalfEven(x);
  return withSignOf(absBits(select(r < x, r + T(1), r)), x);
}

// sqrt over a contiguous row. GCC keeps errno semantics by default, so
// std::sqrt in a loop hides a call for negative inputs and the loop stays
// scalar; the SSE2 instructions give the same results, NaN for x < 0.
template <typename T, bool Reciprocal>
void sqrtContig(T* o, const T* a, int64_t n) {
  int64_t i = 0;
#if defined(__SSE2__)
  if constexpr (std::is_same_v<T, float>) {
    const __m128 one = _mm_set1_ps(1.0f);
    for (; i + 4 <= n; i += 4) {
      __m128 r = _mm_sqrt_ps(_mm_loadu_ps(a + i));
      if constexpr (Reciprocal) r = _mm_div_ps(one, r);
      _mm_storeu_ps(o + i, r);
    }
  } else {
    const __m128d one = _mm_set1_pd(1.0);
    for (; i + 2 <= n; i += 2) {
      __m128d r = _mm_sqrt_pd(_mm_loadu_pd(a + i));
      if constexpr (Reciprocal) r = _mm_div_pd(one, r);
      _mm_storeu_pd(o + i, r);
    }
  }
#endif
  for (; i < n; ++i) o[i] = Reciprocal ? T(1) / std::sqrt(a[i]) : std::sqrt(a[i]);
}

template <typename T, bool Reciprocal>
void runSqrt(const TensorView* const* views) {
  forEach(views, 2, kGrain, [&](char* const* p, const int64_t* s, int64_t n, const int64_t* rb, int64_t rows) {
    eachRow<2>(p, rb, rows, [&](char* const* q) {
      if (s[0] == 1 && s[1] == 1)
        sqrtContig<T, Reciprocal>(reinterpret_cast<T*>(q[0]), reinterpret_cast<const T*>(q[1]), n);
      else map1<T, T>(q, s, n, [](T x) { return Reciprocal ? T(1) / std::sqrt(x) : std::sqrt(x); });
    });
  });
}

// erfinv, which libm lacks: Winitzki's closed form (relative error about
// 2e-3) refined by Halley's method on erf, whose steps triple the correct
// digits, so three pass double precision. Past |y| = 0.5 the residual is
// taken with erfc: 1 - |y| is exact there, while erf(x) - y would cancel.
inline double erfinvOf(double y) {
  if (!(y > -1 && y < 1)) {
    const double inf = std::numeric_limits<double>::infinity();
    return y == 1 ? inf : y == -1 ? -inf : std::numeric_limits<double>::quiet_NaN();
  }
  if (y == 0) return y;  // keeps -0
  const double ay = std::fabs(y), a = 0.147, pi = 3.14159265358979323846;
  const double l = std::log1p(-ay) + std::log1p(ay);  // log(1 - y^2) without cancelling
  const double t = 2 / (pi * a) + l / 2;
  double x = std::sqrt(std::sqrt(t * t - l / a) - t);
  for (int i = 0; i < 3; ++i) {
    const double f = ay < 0.5 ? std::erf(x) - ay : (1 - ay) - std::erfc(x);
    const double u = f / (1.12837916709551257390 * std::exp(-x * x));  // f / erf'(x)
    x -= u / (1 + x * u);
  }
  return std::copysign(x, y);
}

// ---- unary --------------------------------------------------------------------------------

template <typename T>
void unaryFloat(UnaryOp op, const TensorView* const* v) {
  const int64_t g = kGrainHeavy;
  switch (op) {
    case UnaryOp::Exp:
      if constexpr (std::is_same_v<T, float>) return run1Wide<T>(v, g, [](T x) { return fastExp(x); });
      else return run1<T, T>(v, g, [](T x) { return std::exp(x); });
    case UnaryOp::Log: return run1<T, T>(v, g, [](T x) { return std::log(x); });
    case UnaryOp::Sqrt: return runSqrt<T, false>(v);
    case UnaryOp::Rsqrt: return runSqrt<T, true>(v);
    case UnaryOp::Sin: return run1<T, T>(v, g, [](T x) { return std::sin(x); });
    case UnaryOp::Cos: return run1<T, T>(v, g, [](T x) { return std::cos(x); });
    case UnaryOp::Tan: return run1<T, T>(v, g, [](T x) { return std::tan(x); });
    case UnaryOp::Sigmoid:
      if constexpr (std::is_same_v<T, float>) return run1Wide<T>(v, g, [](T x) { return sigmoid(x); });
      else return run1<T, T>(v, g, [](T x) { return sigmoid(x); });
    case UnaryOp::Tanh:
      if constexpr (std::is_same_v<T, float>) return run1Wide<T>(v, g, [](T x) { return fastTanh(x); });
      else return run1<T, T>(v, g, [](T x) { return std::tanh(x); });
    case UnaryOp::Reciprocal: return run1<T, T>(v, kGrain, [](T x) { return T(1) / x; });
    case UnaryOp::Log1p: return run1<T, T>(v, g, [](T x) { return std::log1p(x); });
    case UnaryOp::Log2: return run1<T, T>(v, g, [](T x) { return std::log2(x); });
    case UnaryOp::Expm1: return run1<T, T>(v, g, [](T x) { return std::expm1(x); });
    case UnaryOp::Erf: return run1<T, T>(v, g, [](T x) { return std::erf(x); });
    case UnaryOp::Erfc: return run1<T, T>(v, g, [](T x) { return std::erfc(x); });
    case UnaryOp::Erfinv: return run1<T, T>(v, g, [](T x) { return T(erfinvOf(double(x))); });
    case UnaryOp::Log10: return run1<T, T>(v, g, [](T x) { return std::log10(x); });
    // Phi(x) = (1 + erf(x/sqrt2))/2, written with erfc: 1 + erf cancels to
    // 0 for x below about -5.5, erfc keeps the tiny tail exact.
    case UnaryOp::Gelu:
      return run1<T, T>(v, g, [](T x) { return T(0.5) * x * std::erfc(x * T(-0.70710678118654752440)); });
    case UnaryOp::GeluGrad:
      // d/dx x*Phi(x) = Phi(x) + x*phi(x)
      return run1<T, T>(v, g, [](T x) {
        const T cdf = T(0.5) * std::erfc(x * T(-0.70710678118654752440));
        const T pdf = T(0.39894228040143267794) * std::exp(T(-0.5) * x * x);
        return cdf + x * pdf;
      });
    default: break;
  }
  throw KernelError("unary: unknown op code " + std::to_string(static_cast<int>(op)));
}

// Ops defined for every dtype. Returns false for the float-only ones.
template <typename O, typename T>
bool unaryAnyDtype(UnaryOp op, const TensorView* const* v) {
  const int64_t g = kGrain;
  switch (op) {
    case UnaryOp::Neg:
      if constexpr (kFloat<T>) run1<O, T>(v, g, [](T x) { return -x; });
      else run1<O, T>(v, g, [](T x) { return wrapNeg(x); });
      return true;
    case UnaryOp::Abs:
      if constexpr (kFloat<T>) run1<O, T>(v, g, [](T x) { return std::abs(x); });
      else run1<O, T>(v, g, [](T x) { return isNeg(x) ? wrapNeg(x) : x; });
      return true;
    case UnaryOp::Relu:  // written so that NaN stays NaN
      // float32 takes the widest SIMD: 16 floats a vector is ~15% faster
      // than SSE's 4 even with the data in L3.
      if constexpr (std::is_same_v<O, float> && std::is_same_v<T, float>)
        run1Wide<T>(v, g, [](T x) { return isNeg(x) ? T(0) : x; });
      else run1<O, T>(v, g, [](T x) { return isNeg(x) ? T(0) : x; });
      return true;
    case UnaryOp::Sign:  // NaN gives 0, as in PyTorch
      run1<O, T>(v, g, [](T x) { return T(int(T(0) < x) - int(isNeg(x))); });
      return true;
    case UnaryOp::Square:
      if constexpr (kFloat<T>) run1<O, T>(v, g, [](T x) { return x * x; });
      else run1<O, T>(v, g, [](T x) { return wrapMul(x, x); });
      return true;
    case UnaryOp::Floor:
      if constexpr (kFloat<T>) run1<O, T>(v, g, [](T x) { return floorBits(x); });
      else run1<O, T>(v, g, [](T x) { return x; });
      return true;
    case UnaryOp::Ceil:
      if constexpr (kFloat<T>) run1<O, T>(v, g, [](T x) { return ceilBits(x); });
      else run1<O, T>(v, g, [](T x) { return x; });
      return true;
    case UnaryOp::Round:  // half to even under the default rounding mode
      if constexpr (kFloat<T>) run1<O, T>(v, g, [](T x) { return roundHalfEven(x); });
      else run1<O, T>(v, g, [](T x) { return x; });
      return true;
    case UnaryOp::Trunc:
      if constexpr (kFloat<T>) run1<O, T>(v, g, [](T x) { return std::trunc(x); });
      else run1<O, T>(v, g, [](T x) { return x; });
      return true;
    default: return false;
  }
}

template <typename T>
void unaryTyped(UnaryOp op, bool isBool, const TensorView* const* v) {
  if (op == UnaryOp::LogicalNot) return run1<uint8_t, T>(v, kGrain, [](T x) { return uint8_t(x == T(0)); });
  if (op == UnaryOp::IsNan) {
    if constexpr (kFloat<T>) return run1<uint8_t, T>(v, kGrain, [](T x) { return uint8_t(x != x); });
    else return run1<uint8_t, T>(v, kGrain, [](T) { return uint8_t(0); });
  }
  if constexpr (std::is_same_v<T, uint8_t>) {
    // Bool results stay 0/1 (-true would otherwise be 255).
    if (isBool) {
      if (!unaryAnyDtype<uint8_t, T>(op, v)) throw KernelError("unary: " + unaryName(op) + " needs a floating dtype");
      const TensorView* self[2] = {v[0], v[0]};
      return run1<uint8_t, uint8_t>(self, kGrain, [](uint8_t x) { return uint8_t(x != 0); });
    }
  }
  if (unaryAnyDtype<T, T>(op, v)) return;
  if constexpr (kFloat<T>) unaryFloat<T>(op, v);
  else throw KernelError("unary: " + unaryName(op) + " needs a floating dtype");
}

bool isOneByte(DType d) { return d == DType::Bool || d == DType::UInt8; }

}  // namespace

void unary(UnaryOp op, const TensorView& x, const TensorView& out) {
  const bool boolOut = op == UnaryOp::LogicalNot || op == UnaryOp::IsNan;
  if (boolOut ? !isOneByte(out.dtype) : out.dtype != x.dtype)
    throw KernelError(std::string("unary: ") + unaryName(op) + ": output dtype " + dtypeName(out.dtype) +
                      " does not match input dtype " + dtypeName(x.dtype));
  std::vector<char> buffer;
  const TensorView in = separateFromOutput(x, out, buffer);
  const TensorView* views[2] = {&out, &in};
  dispatchAll(x.dtype, [&](auto tag) { unaryTyped<typename decltype(tag)::type>(op, x.dtype == DType::Bool, views); });
}

// ---- binary ---------------------------------------------------------------------------------

namespace {

bool writesBool(BinaryOp op) {
  switch (op) {
    case BinaryOp::Eq:
    case BinaryOp::Ne:
    case BinaryOp::Gt:
    case BinaryOp::Ge:
    case BinaryOp::Lt:
    case BinaryOp::Le:
    case BinaryOp::LogicalAnd:
    case BinaryOp::LogicalOr:
    case BinaryOp::LogicalXor: return true;
    default: return false;
  }
}

template <typename T>
void binaryTyped(BinaryOp op, bool isBool, const TensorView* const* v) {
  // Arithmetic on bool tensors keeps results 0/1 (true + true is true).
  auto arith = [&](int64_t grain, auto f) {
    if constexpr (std::is_same_v<T, uint8_t>) {
      if (isBool) return run2<uint8_t, T>(v, grain, [f](T a, T b) { return uint8_t(f(a, b) != 0); });
    }
    run2<T, T>(v, grain, f);
  };
  auto compare = [&](auto f) { run2<uint8_t, T>(v, kGrain, f); };
  const int64_t g = kGrain;
  // The four exact float32 operations take the widest SIMD (16 floats a
  // vector against SSE's 4).
  auto exact = [&](auto f) {
    if constexpr (std::is_same_v<T, float>) run2Wide<T>(v, g, f);
    else arith(g, f);
  };
  switch (op) {
    case BinaryOp::Add: return exact([](T a, T b) { return wrapAdd(a, b); });
    case BinaryOp::Sub: return exact([](T a, T b) { return wrapSub(a, b); });
    case BinaryOp::Mul: return exact([](T a, T b) { return wrapMul(a, b); });
    case BinaryOp::Div:
      if constexpr (kFloat<T>) return exact([](T a, T b) { return a / b; });
      else return arith(g, [](T a, T b) { return intDiv(a, b); });
    case BinaryOp::Pow:
      if constexpr (kFloat<T>) return arith(kGrainHeavy, [](T a, T b) { return std::pow(a, b); });
      else return arith(g, [](T a, T b) { return intPow(a, b); });
    case BinaryOp::Maximum: return arith(g, [](T a, T b) { return maximum(a, b); });
    case BinaryOp::Minimum: return arith(g, [](T a, T b) { return minimum(a, b); });
    case BinaryOp::Atan2:
      if constexpr (kFloat<T>) return arith(kGrainHeavy, [](T a, T b) { return std::atan2(a, b); });
      else throw KernelError("binary: atan2 needs a floating dtype");
    case BinaryOp::Remainder:
      if constexpr (kFloat<T>) return arith(kGrainHeavy, [](T a, T b) { return floatRemainder(a, b); });
      else return arith(g, [](T a, T b) { return intRemainder(a, b); });
    case BinaryOp::FloorDivide:
      if constexpr (kFloat<T>) return arith(kGrainHeavy, [](T a, T b) { return floatFloorDivide(a, b); });
      else return arith(g, [](T a, T b) { return intFloorDiv(a, b); });
    case BinaryOp::Eq: return compare([](T a, T b) { return uint8_t(a == b); });
    case BinaryOp::Ne: return compare([](T a, T b) { return uint8_t(a != b); });
    case BinaryOp::Gt: return compare([](T a, T b) { return uint8_t(a > b); });
    case BinaryOp::Ge: return compare([](T a, T b) { return uint8_t(a >= b); });
    case BinaryOp::Lt: return compare([](T a, T b) { return uint8_t(a < b); });
    case BinaryOp::Le: return compare([](T a, T b) { return uint8_t(a <= b); });
    case BinaryOp::LogicalAnd: return compare([](T a, T b) { return uint8_t((a != T(0)) & (b != T(0))); });
    case BinaryOp::LogicalOr: return compare([](T a, T b) { return uint8_t((a != T(0)) | (b != T(0))); });
    case BinaryOp::LogicalXor: return compare([](T a, T b) { return uint8_t((a != T(0)) ^ (b != T(0))); });
    case BinaryOp::ReluBackward: return arith(g, [](T y, T gy) { return y > T(0) ? gy : T(0); });
    case BinaryOp::Fmod:
      if constexpr (kFloat<T>) return arith(kGrainHeavy, [](T a, T b) { return std::fmod(a, b); });
      else return arith(g, [](T a, T b) { return intFmod(a, b); });
    case BinaryOp::BitwiseAnd:
    case BinaryOp::BitwiseOr:
    case BinaryOp::BitwiseXor:
      if constexpr (kFloat<T>) {
        throw KernelError("binary: " + binaryName(op) + " needs an integral or bool dtype");
      } else {
        // Bools are 0/1, so the integer operations keep them 0/1.
        if (op == BinaryOp::BitwiseAnd) return run2<T, T>(v, g, [](T a, T b) { return T(a & b); });
        if (op == BinaryOp::BitwiseOr) return run2<T, T>(v, g, [](T a, T b) { return T(a | b); });
        return run2<T, T>(v, g, [](T a, T b) { return T(a ^ b); });
      }
  }
  throw KernelError("binary: unknown op code " + std::to_string(static_cast<int>(op)));
}

void checkBinaryOut(const char* kernel, BinaryOp op, DType in, DType out) {
  if (writesBool(op) ? isOneByte(out) : out == in) return;
  throw KernelError(std::string(kernel) + ": " + binaryName(op) + ": output dtype " + dtypeName(out) +
                    " does not fit input dtype " + dtypeName(in));
}

void runBinary(BinaryOp op, DType dtype, const TensorView* const* views) {
  dispatchAll(dtype, [&](auto tag) { binaryTyped<typename decltype(tag)::type>(op, dtype == DType::Bool, views); });
}

// x ** c for the exponents PyTorch also special-cases: a multiply or a
// sqrt instead of a pow call per element.
template <typename T>
bool powByConstant(const TensorView* const* v, double c) {
  if (c == 2) run1<T, T>(v, kGrain, [](T x) { return x * x; });
  else if (c == 3) run1<T, T>(v, kGrain, [](T x) { return x * x * x; });
  else if (c == 0.5) runSqrt<T, false>(v);
  else if (c == -0.5) runSqrt<T, true>(v);
  else if (c == -1) run1<T, T>(v, kGrain, [](T x) { return T(1) / x; });
  else if (c == -2) run1<T, T>(v, kGrain, [](T x) { return T(1) / (x * x); });
  else return false;
  return true;
}

}  // namespace

void binary(BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& out) {
  if (a.dtype != b.dtype)
    throw KernelError("binary: " + binaryName(op) + ": operands differ in dtype (" + dtypeName(a.dtype) + ", " +
                      dtypeName(b.dtype) + ")");
  checkBinaryOut("binary", op, a.dtype, out.dtype);
  std::vector<char> bufA, bufB;
  const TensorView sa = separateFromOutput(a, out, bufA), sb = separateFromOutput(b, out, bufB);
  const TensorView* views[3] = {&out, &sa, &sb};
  runBinary(op, a.dtype, views);
}

void binaryScalar(BinaryOp op, const TensorView& a, double scalar, bool scalarFirst, const TensorView& out) {
  checkBinaryOut("binaryScalar", op, a.dtype, out.dtype);
  std::vector<char> buffer;
  const TensorView sa = separateFromOutput(a, out, buffer);
  if (op == BinaryOp::Pow && !scalarFirst) {
    const TensorView* views[2] = {&out, &sa};
    if (a.dtype == DType::Float32 && powByConstant<float>(views, scalar)) return;
    if (a.dtype == DType::Float64 && powByConstant<double>(views, scalar)) return;
  }
  // The scalar becomes a stride-0 operand, which the row loops treat as a
  // broadcast value.
  alignas(8) unsigned char storage[8];
  dispatchAll(a.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T value = scalarAs<T>(scalar, a.dtype == DType::Bool);
    std::memcpy(storage, &value, sizeof(T));
  });
  TensorView s = sa;
  s.data = storage;
  for (int d = 0; d < s.ndim; ++d) s.strides[d] = 0;
  const TensorView* views[3] = {&out, scalarFirst ? &s : &sa, scalarFirst ? &sa : &s};
  runBinary(op, a.dtype, views);
}

// ---- where, clamp ---------------------------------------------------------------------------

void where(const TensorView& cond, const TensorView& a, const TensorView& b, const TensorView& out) {
  if (!isOneByte(cond.dtype))
    throw KernelError(std::string("where: condition must be bool, got ") + dtypeName(cond.dtype));
  if (a.dtype != out.dtype || b.dtype != out.dtype)
    throw KernelError(std::string("where: dtypes differ (") + dtypeName(a.dtype) + ", " + dtypeName(b.dtype) + " -> " +
                      dtypeName(out.dtype) + ")");
  std::vector<char> bufC, bufA, bufB;
  const TensorView sc = separateFromOutput(cond, out, bufC), sa = separateFromOutput(a, out, bufA),
                   sb = separateFromOutput(b, out, bufB);
  const TensorView* views[4] = {&out, &sc, &sa, &sb};
  dispatchAll(out.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    forEach(views, 4, kGrain, [&](char* const* p, const int64_t* s, int64_t n, const int64_t* rb, int64_t rows) {
      eachRow<4>(p, rb, rows, [&](char* const* q) { map3<T>(q, s, n, [](uint8_t c, T x, T y) { return c ? x : y; }); });
    });
  });
}

namespace {

// Bounds outside T's range clamp nothing on that side.
template <typename T>
T lowerBound(double lo) {
  if constexpr (kFloat<T>) {
    return lo != lo ? -std::numeric_limits<T>::infinity() : static_cast<T>(lo);
  } else {
    if (lo != lo || lo <= double(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (lo >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(lo);
  }
}
template <typename T>
T upperBound(double hi) {
  if constexpr (kFloat<T>) {
    return hi != hi ? std::numeric_limits<T>::infinity() : static_cast<T>(hi);
  } else {
    if (hi != hi || hi >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    if (hi <= double(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    return static_cast<T>(hi);
  }
}

}  // namespace

void clamp(const TensorView& x, double lo, double hi, const TensorView& out) {
  if (out.dtype != x.dtype)
    throw KernelError(std::string("clamp: output dtype ") + dtypeName(out.dtype) + " differs from input dtype " +
                      dtypeName(x.dtype));
  std::vector<char> buffer;
  const TensorView in = separateFromOutput(x, out, buffer);
  const TensorView* views[2] = {&out, &in};
  dispatchAll(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T l = lowerBound<T>(lo), h = upperBound<T>(hi);
    // max first, then min: lo > hi gives hi everywhere, as in PyTorch. A NaN
    // x fails both comparisons and passes through.
    run1<T, T>(views, kGrain, [l, h](T v) {
      const T m = v < l ? l : v;
      return m > h ? h : m;
    });
  });
}

// ---- copy, fill -----------------------------------------------------------------------------

namespace {

void copyImpl(const TensorView& src, const TensorView& dst) {
  const TensorView* views[2] = {&dst, &src};
  const bool toBool = dst.dtype == DType::Bool && src.dtype != DType::Bool;
  dispatchAll(src.dtype, [&](auto srcTag) {
    using S = typename decltype(srcTag)::type;
    if (toBool) return run1<uint8_t, S>(views, kGrain, [](S v) { return uint8_t(v != S(0)); });
    dispatchAll(dst.dtype, [&](auto dstTag) {
      using D = typename decltype(dstTag)::type;
      run1<D, S>(views, kGrain, [](S v) { return convert<D>(v); });
    });
  });
}

}  // namespace

void copy(const TensorView& src, const TensorView& dst) {
  if (sameElements(src, dst) && src.dtype == dst.dtype) return;
  std::vector<char> buffer;
  copyImpl(separateFromOutput(src, dst, buffer), dst);
}

void fill(const TensorView& dst, double value) {
  const TensorView* views[1] = {&dst};
  dispatchAll(dst.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T v = scalarAs<T>(value, dst.dtype == DType::Bool);
    forEach(views, 1, kGrain, [&](char* const* p, const int64_t* s, int64_t n, const int64_t* rb, int64_t rows) {
      eachRow<1>(p, rb, rows, [&](char* const* q) { fillRow<T>(reinterpret_cast<T*>(q[0]), s[0], n, v); });
    });
  });
}

}  // namespace kd
