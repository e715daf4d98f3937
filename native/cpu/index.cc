// Indexing kernels: index_select / index_add_ / index_copy_ along one dim,
// and gather / scatter / scatter_add_ / scatter_reduce_ with an index tensor.
//
// Each op sees its tensors as [outer, dim, inner]: outer and inner are the
// dims before and after `dim`, flattened (merged into one strided dim when
// memory allows, otherwise unravelled per element). Every index is checked
// before anything is written, so a bad index leaves the output as it was.
// In-place ops are split over (outer, inner) positions only, never over the
// indexed dim, so duplicate indices never make two threads write one element.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace kd {

namespace {

constexpr int64_t kGrainElems = 16384;
// Inner elements per task of an in-place op (each task runs every index).
constexpr int64_t kInnerChunk = 2048;

int64_t grainFor(int64_t workPerItem) { return std::max<int64_t>(1, kGrainElems / std::max<int64_t>(1, workPerItem)); }

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

std::string shapeStr(const int64_t* shape, int ndim) {
  std::string s = "[";
  for (int d = 0; d < ndim; ++d) s += (d ? ", " : "") + std::to_string(shape[d]);
  return s + "]";
}
std::string shapeStr(const TensorView& v) { return shapeStr(v.shape, v.ndim); }

// A row-major flat index over dims [from, to) of `shape`, mapped to an
// element offset with `strides` (which may belong to another tensor than
// the shape: gather walks the index's shape over the input's strides).
struct Axes {
  int n = 0;
  int64_t size[kMaxDims];
  int64_t stride[kMaxDims];
  int64_t count = 1;

  Axes(const int64_t* shape, const int64_t* strides, int from, int to) {
    for (int d = from; d < to; ++d) {
      count *= shape[d];
      if (shape[d] == 1) continue;
      if (n > 0 && stride[n - 1] == strides[d] * shape[d]) {
        size[n - 1] *= shape[d];
        stride[n - 1] = strides[d];
      } else {
        size[n] = shape[d];
        stride[n] = strides[d];
        ++n;
      }
    }
  }
  int64_t offset(int64_t flat) const {
    if (n == 0) return 0;
    if (n == 1) return flat * stride[0];
    int64_t off = 0;
    for (int d = n - 1; d >= 0; --d) {
      off += (flat % size[d]) * stride[d];
      flat /= size[d];
    }
    return off;
  }
  // Flat index i is element offset i.
  bool unit() const { return n == 0 || (n == 1 && stride[0] == 1); }
};

[[noreturn]] void outOfBounds(const char* op, int64_t v, int dim, int64_t size) {
  throw KernelError(std::string(op) + ": index " + std::to_string(v) + " is out of bounds for dim " +
                    std::to_string(dim) + " with size " + std::to_string(size));
}

inline int64_t wrapIndex(int64_t v, int64_t size) { return v < 0 ? v + size : v; }

void checkDim(const char* op, const TensorView& t, int dim) {
  if (dim < 0 || dim >= t.ndim)
    throw KernelError(std::string(op) + ": dim " + std::to_string(dim) + " is out of range for a " +
                      std::to_string(t.ndim) + "-d tensor");
}

void checkIndexDtype(const char* op, const TensorView& index) {
  if (index.dtype != DType::Int64)
    throw KernelError(std::string(op) + ": index must be int64, got " + dtypeName(index.dtype));
}

void checkSameDtype(const char* op, const TensorView& a, const TensorView& b) {
  if (a.dtype != b.dtype)
    throw KernelError(std::string(op) + ": dtypes differ (" + dtypeName(a.dtype) + " and " + dtypeName(b.dtype) + ")");
}

// Reads a 1-d (or 0-d) index, wrapping negatives; throws on the first bad one.
std::vector<int64_t> readIndex1d(const char* op, const TensorView& index, int dim, int64_t size) {
  checkIndexDtype(op, index);
  if (index.ndim > 1) throw KernelError(std::string(op) + ": index must be 1-d, got shape " + shapeStr(index));
  const int64_t n = index.numel();
  const int64_t st = index.ndim == 1 ? index.strides[0] : 0;
  const int64_t* p = index.ptr<int64_t>();
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    const int64_t v = p[j * st];
    if (v < -size || v >= size) outOfBounds(op, v, dim, size);
    idx[j] = wrapIndex(v, size);
  }
  return idx;
}

// Checks every element of an n-d index against size.
void checkIndexValues(const char* op, const TensorView& index, int dim, int64_t size) {
  const Axes all(index.shape, index.strides, 0, index.ndim);
  const int64_t* p = index.ptr<int64_t>();
  for (int64_t f = 0; f < all.count; ++f) {
    const int64_t v = p[all.offset(f)];
    if (v < -size || v >= size) outOfBounds(op, v, dim, size);
  }
}

// Calls f(tag) with a tag whose type has the element size of d: the pure
// copies only move bytes.
template <typename F>
void bySize(DType d, F&& f) {
  switch (dtypeSize(d)) {
    case 1: f(uint8_t{}); break;
    case 2: f(uint16_t{}); break;
    case 4: f(uint32_t{}); break;
    default: f(uint64_t{}); break;
  }
}

// d += alpha * s in T; integers wrap (through uint64) instead of overflowing
// into UB; bool is a logical or.
template <typename T>
struct AddScaled {
  using elem_t = T;
  T alpha;
  void operator()(T& d, T s) const {
    if constexpr (std::is_floating_point<T>::value) {
      d += alpha * s;
    } else {
      d = static_cast<T>(static_cast<uint64_t>(d) + static_cast<uint64_t>(alpha) * static_cast<uint64_t>(s));
    }
  }
};
struct OrBool {
  using elem_t = uint8_t;
  uint8_t on;
  void operator()(uint8_t& d, uint8_t s) const { d = static_cast<uint8_t>((d | (s & on)) != 0); }
};
template <typename T>
struct Assign {
  void operator()(T& d, T s) const { d = s; }
};

// Calls f(fn) with the right AddScaled/OrBool for out's dtype.
template <typename F>
void withAdder(const char* op, DType d, double alpha, F&& f) {
  if (d == DType::Bool) {
    f(OrBool{static_cast<uint8_t>(alpha != 0 ? 1 : 0)});
    return;
  }
  if (d != DType::Float32 && d != DType::Float64) {
    if (!(alpha == std::floor(alpha)) || std::fabs(alpha) > 9.2e18)
      throw KernelError(std::string(op) + ": alpha must be an integer for " + dtypeName(d) + " tensors");
  }
  KD_DISPATCH_ALL(
      d, f(AddScaled<scalar_t>{static_cast<scalar_t>(
             static_cast<std::conditional_t<std::is_floating_point<scalar_t>::value, double, int64_t>>(alpha))}));
}

// out[o, j, i] = fn(out[o, idx[j], i], src[o, j, i]) for the in-place index ops.
template <typename T, typename Fn>
void indexAccumulate(const TensorView& out, int dim, const std::vector<int64_t>& idx, const TensorView& src, Fn fn) {
  const Axes so(src.shape, src.strides, 0, dim), si(src.shape, src.strides, dim + 1, src.ndim);
  const Axes oo(out.shape, out.strides, 0, dim), oi(out.shape, out.strides, dim + 1, out.ndim);
  const int64_t outer = so.count, inner = si.count, L = static_cast<int64_t>(idx.size());
  const int64_t ss = src.strides[dim], os = out.strides[dim];
  const int64_t chunks = ceilDiv(inner, kInnerChunk);
  const bool unit = si.unit() && oi.unit();
  const T* S = src.ptr<T>();
  T* O = out.ptr<T>();
  parallelFor(0, outer * chunks, grainFor(L * std::min(inner, kInnerChunk)), [&](int64_t b, int64_t e) {
    for (int64_t it = b; it < e; ++it) {
      const int64_t o = it / chunks;
      const int64_t i0 = (it % chunks) * kInnerChunk, i1 = std::min(inner, i0 + kInnerChunk);
      const T* sb = S + so.offset(o);
      T* ob = O + oo.offset(o);
      for (int64_t j = 0; j < L; ++j) {
        const T* sp = sb + j * ss;
        T* dp = ob + idx[j] * os;
        if (unit) {
          for (int64_t i = i0; i < i1; ++i) fn(dp[i], sp[i]);
        } else {
          for (int64_t i = i0; i < i1; ++i) fn(dp[oi.offset(i)], sp[si.offset(i)]);
        }
      }
    }
  });
}

// Checks src against out for index_add_/index_copy_ and reads the index.
std::vector<int64_t> prepareIndexInto(const char* op, const TensorView& out, int dim, const TensorView& index,
                                      const TensorView& src) {
  checkDim(op, out, dim);
  checkSameDtype(op, out, src);
  checkIndexDtype(op, index);
  if (index.ndim > 1) throw KernelError(std::string(op) + ": index must be 1-d, got shape " + shapeStr(index));
  bool ok = src.ndim == out.ndim;
  for (int d = 0; ok && d < out.ndim; ++d) ok = src.shape[d] == (d == dim ? index.numel() : out.shape[d]);
  if (!ok)
    throw KernelError(std::string(op) + ": source shape " + shapeStr(src) + " does not match output shape " +
                      shapeStr(out) + " with dim " + std::to_string(dim) + " of size " + std::to_string(index.numel()));
  return readIndex1d(op, index, dim, out.shape[dim]);
}

// Checks index against the data tensor `data` (gather's input, scatter's
// output) and the other tensor `other` (gather's out, scatter's src).
void checkGatherShapes(const char* op, const TensorView& data, int dim, const TensorView& index,
                       const TensorView& other, bool otherMatchesIndex) {
  checkDim(op, data, dim);
  checkIndexDtype(op, index);
  checkSameDtype(op, data, other);
  if (index.ndim != data.ndim || other.ndim != data.ndim)
    throw KernelError(std::string(op) + ": index " + shapeStr(index) + ", input " + shapeStr(data) + " and " +
                      (otherMatchesIndex ? "output " : "source ") + shapeStr(other) +
                      " must have the same number of dims");
  for (int d = 0; d < data.ndim; ++d) {
    if (d != dim && index.shape[d] > data.shape[d])
      throw KernelError(std::string(op) + ": index shape " + shapeStr(index) + " is larger than " +
                        (otherMatchesIndex ? "input" : "output") + " shape " + shapeStr(data) + " at dim " +
                        std::to_string(d));
    if (otherMatchesIndex ? other.shape[d] != index.shape[d] : index.shape[d] > other.shape[d])
      throw KernelError(
          std::string(op) + (otherMatchesIndex ? ": output shape " : ": source shape ") + shapeStr(other) +
          (otherMatchesIndex ? " differs from index shape " : " is smaller than index shape ") + shapeStr(index));
  }
}

// out[o, k, i] = fn(out[o, index[o, k, i], i], src[o, k, i]) over index's shape.
template <typename T, typename Fn>
void scatterInto(const TensorView& out, int dim, const TensorView& index, const TensorView& src, Fn fn) {
  const int nd = index.ndim;
  const Axes io(index.shape, index.strides, 0, dim), ii(index.shape, index.strides, dim + 1, nd);
  const Axes so(index.shape, src.strides, 0, dim), si(index.shape, src.strides, dim + 1, nd);
  const Axes oo(index.shape, out.strides, 0, dim), oi(index.shape, out.strides, dim + 1, nd);
  const int64_t outer = io.count, inner = ii.count, K = index.shape[dim], size = out.shape[dim];
  const int64_t is = index.strides[dim], ss = src.strides[dim], os = out.strides[dim];
  const int64_t chunks = ceilDiv(inner, kInnerChunk);
  const int64_t* I = index.ptr<int64_t>();
  const T* S = src.ptr<T>();
  T* O = out.ptr<T>();
  parallelFor(0, outer * chunks, grainFor(K * std::min(inner, kInnerChunk)), [&](int64_t b, int64_t e) {
    for (int64_t it = b; it < e; ++it) {
      const int64_t o = it / chunks;
      const int64_t i0 = (it % chunks) * kInnerChunk, i1 = std::min(inner, i0 + kInnerChunk);
      const int64_t* ib = I + io.offset(o);
      const T* sb = S + so.offset(o);
      T* ob = O + oo.offset(o);
      for (int64_t k = 0; k < K; ++k) {
        const int64_t* ik = ib + k * is;
        const T* sk = sb + k * ss;
        for (int64_t i = i0; i < i1; ++i) {
          const int64_t v = wrapIndex(ik[ii.offset(i)], size);
          fn(ob[v * os + oi.offset(i)], sk[si.offset(i)]);
        }
      }
    }
  });
}

}  // namespace

void indexSelect(const TensorView& x, int dim, const TensorView& index, const TensorView& out) {
  const char* op = "indexSelect";
  checkDim(op, x, dim);
  checkSameDtype(op, x, out);
  checkIndexDtype(op, index);
  if (index.ndim > 1) throw KernelError(std::string(op) + ": index must be 1-d, got shape " + shapeStr(index));
  const int64_t L = index.numel();
  bool ok = out.ndim == x.ndim;
  for (int d = 0; ok && d < x.ndim; ++d) ok = out.shape[d] == (d == dim ? L : x.shape[d]);
  if (!ok)
    throw KernelError(std::string(op) + ": output shape " + shapeStr(out) + " does not match input shape " +
                      shapeStr(x) + " with dim " + std::to_string(dim) + " of size " + std::to_string(L));
  const std::vector<int64_t> idx = readIndex1d(op, index, dim, x.shape[dim]);
  if (out.numel() == 0) return;

  const Axes xo(x.shape, x.strides, 0, dim), xi(x.shape, x.strides, dim + 1, x.ndim);
  const Axes oo(out.shape, out.strides, 0, dim), oi(out.shape, out.strides, dim + 1, out.ndim);
  const int64_t outer = oo.count, inner = oi.count;
  const int64_t xs = x.strides[dim], os = out.strides[dim];
  const bool unit = xi.unit() && oi.unit();
  bySize(x.dtype, [&](auto tag) {
    using U = decltype(tag);
    const U* X = x.ptr<U>();
    U* O = out.ptr<U>();
    // Tasks are (outer, j) rows; a row of a contiguous tensor is one memcpy
    // (the DataLoader case: rows of [N, 784]).
    parallelFor(0, outer * L, grainFor(inner), [&](int64_t b, int64_t e) {
      int64_t o = b / L, j = b % L;
      int64_t xb = xo.offset(o), ob = oo.offset(o);
      for (int64_t r = b; r < e; ++r) {
        const U* sp = X + xb + idx[j] * xs;
        U* dp = O + ob + j * os;
        if (inner == 1) *dp = *sp;
        else if (unit) std::memcpy(dp, sp, static_cast<size_t>(inner) * sizeof(U));
        else
          for (int64_t i = 0; i < inner; ++i) dp[oi.offset(i)] = sp[xi.offset(i)];
        if (++j == L && r + 1 < e) {
          j = 0;
          ++o;
          xb = xo.offset(o);
          ob = oo.offset(o);
        }
      }
    });
  });
}

void indexAdd(const TensorView& out, int dim, const TensorView& index, const TensorView& src, double alpha) {
  const char* op = "indexAdd";
  const std::vector<int64_t> idx = prepareIndexInto(op, out, dim, index, src);
  if (src.numel() == 0) return;
  withAdder(op, out.dtype, alpha,
            [&](auto fn) { indexAccumulate<typename decltype(fn)::elem_t>(out, dim, idx, src, fn); });
}

void indexCopy(const TensorView& out, int dim, const TensorView& index, const TensorView& src) {
  const char* op = "indexCopy";
  const std::vector<int64_t> idx = prepareIndexInto(op, out, dim, index, src);
  if (src.numel() == 0) return;
  bySize(out.dtype, [&](auto tag) {
    using U = decltype(tag);
    indexAccumulate<U>(out, dim, idx, src, Assign<U>{});
  });
}

void gather(const TensorView& x, int dim, const TensorView& index, const TensorView& out) {
  const char* op = "gather";
  checkGatherShapes(op, x, dim, index, out, true);
  if (index.numel() == 0) return;
  const int64_t size = x.shape[dim];
  checkIndexValues(op, index, dim, size);

  const int nd = index.ndim;
  const Axes io(index.shape, index.strides, 0, dim), ii(index.shape, index.strides, dim + 1, nd);
  const Axes xo(index.shape, x.strides, 0, dim), xi(index.shape, x.strides, dim + 1, nd);
  const Axes oo(index.shape, out.strides, 0, dim), oi(index.shape, out.strides, dim + 1, nd);
  const int64_t outer = io.count, inner = ii.count, K = index.shape[dim];
  const int64_t is = index.strides[dim], xs = x.strides[dim], os = out.strides[dim];
  const int64_t* I = index.ptr<int64_t>();
  bySize(x.dtype, [&](auto tag) {
    using U = decltype(tag);
    const U* X = x.ptr<U>();
    U* O = out.ptr<U>();
    parallelFor(0, outer * K, grainFor(inner), [&](int64_t b, int64_t e) {
      int64_t o = b / K, k = b % K;
      int64_t ib = io.offset(o), xb = xo.offset(o), ob = oo.offset(o);
      for (int64_t r = b; r < e; ++r) {
        const int64_t* ik = I + ib + k * is;
        U* dk = O + ob + k * os;
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t v = wrapIndex(ik[ii.offset(i)], size);
          dk[oi.offset(i)] = X[xb + v * xs + xi.offset(i)];
        }
        if (++k == K && r + 1 < e) {
          k = 0;
          ++o;
          ib = io.offset(o);
          xb = xo.offset(o);
          ob = oo.offset(o);
        }
      }
    });
  });
}

void scatterAdd(const TensorView& out, int dim, const TensorView& index, const TensorView& src) {
  const char* op = "scatterAdd";
  checkGatherShapes(op, out, dim, index, src, false);
  if (index.numel() == 0) return;
  checkIndexValues(op, index, dim, out.shape[dim]);
  withAdder(op, out.dtype, 1.0, [&](auto fn) { scatterInto<typename decltype(fn)::elem_t>(out, dim, index, src, fn); });
}

void scatter(const TensorView& out, int dim, const TensorView& index, const TensorView& src) {
  const char* op = "scatter";
  checkGatherShapes(op, out, dim, index, src, false);
  if (index.numel() == 0) return;
  checkIndexValues(op, index, dim, out.shape[dim]);
  bySize(out.dtype, [&](auto tag) {
    using U = decltype(tag);
    scatterInto<U>(out, dim, index, src, Assign<U>{});
  });
}

namespace {
// The reductions of scatter_reduce_ beyond the sum. amax/amin let a NaN on
// either side win, as PyTorch's do; integers multiply through uint64 so an
// overflow wraps instead of being UB.
template <typename T>
struct MulInto {
  using elem_t = T;
  void operator()(T& d, T s) const {
    if constexpr (std::is_floating_point<T>::value) d *= s;
    else d = static_cast<T>(static_cast<uint64_t>(d) * static_cast<uint64_t>(s));
  }
};
template <typename T>
struct MaxInto {
  void operator()(T& d, T s) const {
    if constexpr (std::is_floating_point<T>::value) {
      if (std::isnan(d)) return;
      if (std::isnan(s) || s > d) d = s;
    } else if (s > d) {
      d = s;
    }
  }
};
template <typename T>
struct MinInto {
  void operator()(T& d, T s) const {
    if constexpr (std::is_floating_point<T>::value) {
      if (std::isnan(d)) return;
      if (std::isnan(s) || s < d) d = s;
    } else if (s < d) {
      d = s;
    }
  }
};
}  // namespace

void scatterReduce(const TensorView& out, int dim, const TensorView& index, const TensorView& src, ScatterReduceOp op) {
  const char* name = "scatterReduce";
  checkGatherShapes(name, out, dim, index, src, false);
  if (index.numel() == 0) return;
  checkIndexValues(name, index, dim, out.shape[dim]);
  if (op == ScatterReduceOp::Sum) {
    withAdder(name, out.dtype, 1.0,
              [&](auto fn) { scatterInto<typename decltype(fn)::elem_t>(out, dim, index, src, fn); });
    return;
  }
  KD_DISPATCH_ALL(out.dtype, {
    switch (op) {
      case ScatterReduceOp::Prod: scatterInto<scalar_t>(out, dim, index, src, MulInto<scalar_t>{}); break;
      case ScatterReduceOp::Amax: scatterInto<scalar_t>(out, dim, index, src, MaxInto<scalar_t>{}); break;
      case ScatterReduceOp::Amin: scatterInto<scalar_t>(out, dim, index, src, MinInto<scalar_t>{}); break;
      default: throw KernelError(std::string(name) + ": unknown reduction " + std::to_string(static_cast<int>(op)));
    }
  });
}

}  // namespace kd
