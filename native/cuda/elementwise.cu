// Elementwise kernels on the device: unary, binary, where, clamp, copy,
// fill, and copies across devices. The same op codes and the same
// per-element semantics as native/cpu/elementwise.cc (integer wrap-around,
// Python's floor division and modulo, NaN-propagating maximum/minimum, 0/1
// bools); float results may differ from the CPU's in the last bits, since
// the device uses CUDA's libdevice math.
//
// One strided driver for everything: the host merges dims (Indexer), and
// each thread maps a linear index to operand offsets, or uses the index
// itself when every operand is contiguous.
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>

#include "common.cuh"

namespace kd {
namespace cuda {

namespace {

// ---- names for errors --------------------------------------------------------------------------
#define KD_OP_NAME(name) #name,
const char* const kUnaryNames[] = {KD_UNARY_OPS(KD_OP_NAME)};
const char* const kBinaryNames[] = {KD_BINARY_OPS(KD_OP_NAME)};
#undef KD_OP_NAME

template <size_t N>
std::string opName(const char* const (&names)[N], int32_t code) {
  if (code < 0 || static_cast<size_t>(code) >= N) return "op " + std::to_string(code);
  std::string s = names[code];
  s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}
std::string unaryName(UnaryOp op) { return opName(kUnaryNames, static_cast<int32_t>(op)); }
std::string binaryName(BinaryOp op) { return opName(kBinaryNames, static_cast<int32_t>(op)); }

constexpr int kNumUnary = sizeof(kUnaryNames) / sizeof(kUnaryNames[0]);
constexpr int kNumBinary = sizeof(kBinaryNames) / sizeof(kBinaryNames[0]);

bool isOneByte(DType d) { return d == DType::Bool || d == DType::UInt8; }

bool floatOnlyUnary(UnaryOp op) {
  switch (op) {
    case UnaryOp::Exp:
    case UnaryOp::Log:
    case UnaryOp::Sqrt:
    case UnaryOp::Rsqrt:
    case UnaryOp::Sin:
    case UnaryOp::Cos:
    case UnaryOp::Tan:
    case UnaryOp::Sigmoid:
    case UnaryOp::Tanh:
    case UnaryOp::Reciprocal:
    case UnaryOp::Log1p:
    case UnaryOp::Log2:
    case UnaryOp::Expm1:
    case UnaryOp::Erf:
    case UnaryOp::Erfc:
    case UnaryOp::Erfinv:
    case UnaryOp::Log10:
    case UnaryOp::Gelu:
    case UnaryOp::GeluGrad: return true;
    default: return false;
  }
}

bool isBitwise(BinaryOp op) {
  return op == BinaryOp::BitwiseAnd || op == BinaryOp::BitwiseOr || op == BinaryOp::BitwiseXor;
}

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

// ---- per-element math ------------------------------------------------------------------------------
template <typename T>
struct UnsignedOf {
  using type = T;
};
template <>
struct UnsignedOf<int32_t> {
  using type = uint32_t;
};
template <>
struct UnsignedOf<int64_t> {
  using type = uint64_t;
};
template <>
struct UnsignedOf<uint8_t> {
  using type = uint8_t;
};
template <typename T>
using Unsigned = typename UnsignedOf<T>::type;

template <typename T>
__device__ inline T wrapAdd(T a, T b) {
  return T(Unsigned<T>(a) + Unsigned<T>(b));
}
template <typename T>
__device__ inline T wrapSub(T a, T b) {
  return T(Unsigned<T>(a) - Unsigned<T>(b));
}
template <typename T>
__device__ inline T wrapMul(T a, T b) {
  return T(Unsigned<T>(a) * Unsigned<T>(b));
}
template <typename T>
__device__ inline T wrapNeg(T a) {
  return T(Unsigned<T>(0) - Unsigned<T>(a));
}

template <typename T>
__device__ inline bool isNeg(T v) {
  if constexpr (std::is_signed<T>::value) return v < T(0);
  else return false;
}

template <typename T>
__device__ inline T intDiv(T a, T b) {
  if (b == 0) return T(0);
  if constexpr (std::is_signed<T>::value)
    if (b == -1) return wrapNeg(a);
  return T(a / b);
}

template <typename T>
__device__ inline T intFloorDiv(T a, T b) {
  if (b == 0) return T(0);
  if constexpr (std::is_signed<T>::value) {
    if (b == -1) return wrapNeg(a);
    const T q = T(a / b);
    return (a % b != 0 && (a < 0) != (b < 0)) ? T(q - 1) : q;
  }
  return T(a / b);
}

template <typename T>
__device__ inline T intRemainder(T a, T b) {
  if (b == 0) return T(0);
  if constexpr (std::is_signed<T>::value) {
    if (b == -1) return T(0);
    const T r = T(a % b);
    return (r != 0 && (r < 0) != (b < 0)) ? T(r + b) : r;
  }
  return T(a % b);
}

// C's modulo (fmod): the result takes the dividend's sign.
template <typename T>
__device__ inline T intFmod(T a, T b) {
  if (b == 0) return T(0);
  if constexpr (std::is_signed<T>::value)
    if (b == -1) return T(0);
  return T(a % b);
}

template <typename T>
__device__ inline T floatRemainder(T a, T b) {
  const T r = fmod(a, b);
  return (r != 0 && (r < 0) != (b < 0)) ? r + b : r;
}

template <typename T>
__device__ inline T floatFloorDivide(T a, T b) {
  if (b == 0) return a / b;
  const T mod = fmod(a, b);
  T div = (a - mod) / b;
  if (mod != 0 && (b < 0) != (mod < 0)) div -= 1;
  if (div == 0) return copysign(T(0), a / b);
  T fl = floor(div);
  if (div - fl > T(0.5)) fl += 1;
  return fl;
}

template <typename T>
__device__ inline T intPow(T base, T exp) {
  if (isNeg(exp)) {
    if (base == 1) return T(1);
    if constexpr (std::is_signed<T>::value)
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
__device__ inline T maximumOf(T a, T b) {
  if constexpr (kIsFloat<T>) return (a > b || a != a) ? a : b;
  else return a > b ? a : b;
}
template <typename T>
__device__ inline T minimumOf(T a, T b) {
  if constexpr (kIsFloat<T>) return (a < b || a != a) ? a : b;
  else return a < b ? a : b;
}

template <typename T>
__device__ inline T sigmoidOf(T x) {
  const T e = exp(-fabs(x)), s = T(1) / (T(1) + e);
  return x < 0 ? e * s : s;
}

// The float-only ops; T is float or double.
template <typename T>
__device__ inline T unaryFloat(int op, T x) {
  switch (static_cast<UnaryOp>(op)) {
    case UnaryOp::Exp: return exp(x);
    case UnaryOp::Log: return log(x);
    case UnaryOp::Sqrt: return sqrt(x);
    case UnaryOp::Rsqrt: return T(1) / sqrt(x);
    case UnaryOp::Sin: return sin(x);
    case UnaryOp::Cos: return cos(x);
    case UnaryOp::Tan: return tan(x);
    case UnaryOp::Sigmoid: return sigmoidOf(x);
    case UnaryOp::Tanh: return tanh(x);
    case UnaryOp::Reciprocal: return T(1) / x;
    case UnaryOp::Log1p: return log1p(x);
    case UnaryOp::Log2: return log2(x);
    case UnaryOp::Expm1: return expm1(x);
    case UnaryOp::Erf: return erf(x);
    case UnaryOp::Erfc: return erfc(x);
    case UnaryOp::Erfinv: return erfinv(x);
    case UnaryOp::Log10: return log10(x);
    // Phi written with erfc, which keeps the far negative tail exact.
    case UnaryOp::Gelu: return T(0.5) * x * erfc(x * T(-0.70710678118654752440));
    case UnaryOp::GeluGrad: {
      const T cdf = T(0.5) * erfc(x * T(-0.70710678118654752440));
      const T pdf = T(0.39894228040143267794) * exp(T(-0.5) * x * x);
      return cdf + x * pdf;
    }
    default: return x;
  }
}

template <typename T>
__device__ inline T unaryApply(int op, T x) {
  switch (static_cast<UnaryOp>(op)) {
    case UnaryOp::Neg:
      if constexpr (kIsFloat<T>) return -x;
      else return wrapNeg(x);
    case UnaryOp::Abs:
      if constexpr (kIsFloat<T>) return fabs(x);
      else return isNeg(x) ? wrapNeg(x) : x;
    case UnaryOp::Relu: return isNeg(x) ? T(0) : x;  // NaN stays NaN
    case UnaryOp::Sign: return T(int(T(0) < x) - int(isNeg(x)));
    case UnaryOp::Square:
      if constexpr (kIsFloat<T>) return x * x;
      else return wrapMul(x, x);
    case UnaryOp::Floor:
      if constexpr (kIsFloat<T>) return floor(x);
      else return x;
    case UnaryOp::Ceil:
      if constexpr (kIsFloat<T>) return ceil(x);
      else return x;
    case UnaryOp::Round:  // half to even
      if constexpr (kIsFloat<T>) return rint(x);
      else return x;
    case UnaryOp::Trunc:
      if constexpr (kIsFloat<T>) return trunc(x);
      else return x;
    default:
      if constexpr (kIsFloat<T>) return unaryFloat(op, x);
      else return x;
  }
}

template <typename T>
__device__ inline T binaryArith(int op, T a, T b) {
  switch (static_cast<BinaryOp>(op)) {
    case BinaryOp::Add:
      if constexpr (kIsFloat<T>) return a + b;
      else return wrapAdd(a, b);
    case BinaryOp::Sub:
      if constexpr (kIsFloat<T>) return a - b;
      else return wrapSub(a, b);
    case BinaryOp::Mul:
      if constexpr (kIsFloat<T>) return a * b;
      else return wrapMul(a, b);
    case BinaryOp::Div:
      if constexpr (kIsFloat<T>) return a / b;
      else return intDiv(a, b);
    case BinaryOp::Pow:
      if constexpr (kIsFloat<T>) return pow(a, b);
      else return intPow(a, b);
    case BinaryOp::Maximum: return maximumOf(a, b);
    case BinaryOp::Minimum: return minimumOf(a, b);
    case BinaryOp::Atan2:
      if constexpr (kIsFloat<T>) return atan2(a, b);
      else return T(0);
    case BinaryOp::Remainder:
      if constexpr (kIsFloat<T>) return floatRemainder(a, b);
      else return intRemainder(a, b);
    case BinaryOp::FloorDivide:
      if constexpr (kIsFloat<T>) return floatFloorDivide(a, b);
      else return intFloorDiv(a, b);
    case BinaryOp::ReluBackward: return a > T(0) ? b : T(0);
    case BinaryOp::Fmod:
      if constexpr (kIsFloat<T>) return fmod(a, b);
      else return intFmod(a, b);
    case BinaryOp::BitwiseAnd:
      if constexpr (kIsFloat<T>) return T(0);
      else return T(a & b);
    case BinaryOp::BitwiseOr:
      if constexpr (kIsFloat<T>) return T(0);
      else return T(a | b);
    case BinaryOp::BitwiseXor:
      if constexpr (kIsFloat<T>) return T(0);
      else return T(a ^ b);
    default: return T(0);
  }
}

template <typename T>
__device__ inline uint8_t binaryCompare(int op, T a, T b) {
  switch (static_cast<BinaryOp>(op)) {
    case BinaryOp::Eq: return a == b;
    case BinaryOp::Ne: return a != b;
    case BinaryOp::Gt: return a > b;
    case BinaryOp::Ge: return a >= b;
    case BinaryOp::Lt: return a < b;
    case BinaryOp::Le: return a <= b;
    case BinaryOp::LogicalAnd: return (a != T(0)) & (b != T(0));
    case BinaryOp::LogicalOr: return (a != T(0)) | (b != T(0));
    case BinaryOp::LogicalXor: return (a != T(0)) ^ (b != T(0));
    default: return 0;
  }
}

// ---- kernels ---------------------------------------------------------------------------------------
// contig: every operand is contiguous in the merged shape, so offset == i.

template <typename T>
__global__ void unaryKernel(Indexer ix, int64_t n, bool contig, T* out, const T* x, int op, bool isBool) {
  KD_GRID_STRIDE(i, n) {
    int64_t o = i, a = i;
    if (!contig) {
      o = ix.offset(0, i);
      a = ix.offset(1, i);
    }
    T r = unaryApply<T>(op, x[a]);
    if (isBool) r = T(r != T(0));
    out[o] = r;
  }
}

// LogicalNot and IsNan write bool.
template <typename T>
__global__ void unaryBoolKernel(Indexer ix, int64_t n, bool contig, uint8_t* out, const T* x, bool isNan) {
  KD_GRID_STRIDE(i, n) {
    int64_t o = i, a = i;
    if (!contig) {
      o = ix.offset(0, i);
      a = ix.offset(1, i);
    }
    const T v = x[a];
    out[o] = isNan ? uint8_t(v != v) : uint8_t(v == T(0));
  }
}

// scalarMode: 0 both tensors, 1 a is the scalar sa, 2 b is the scalar sb.
template <typename T>
__global__ void binaryKernel(Indexer ix, int64_t n, bool contig, T* out, const T* a, const T* b, T sa, T sb,
                             int scalarMode, int op, bool isBool) {
  KD_GRID_STRIDE(i, n) {
    int64_t off[kMaxOperands] = {i, i, i, i};
    if (!contig) ix.offsets(i, off);
    const T x = scalarMode == 1 ? sa : a[off[1]];
    const T y = scalarMode == 2 ? sb : b[off[2]];
    T r = binaryArith<T>(op, x, y);
    if (isBool) r = T(r != T(0));
    out[off[0]] = r;
  }
}

template <typename T>
__global__ void compareKernel(Indexer ix, int64_t n, bool contig, uint8_t* out, const T* a, const T* b, T sa, T sb,
                              int scalarMode, int op) {
  KD_GRID_STRIDE(i, n) {
    int64_t off[kMaxOperands] = {i, i, i, i};
    if (!contig) ix.offsets(i, off);
    const T x = scalarMode == 1 ? sa : a[off[1]];
    const T y = scalarMode == 2 ? sb : b[off[2]];
    out[off[0]] = binaryCompare<T>(op, x, y);
  }
}

template <typename T>
__global__ void whereKernel(Indexer ix, int64_t n, bool contig, T* out, const uint8_t* c, const T* a, const T* b) {
  KD_GRID_STRIDE(i, n) {
    int64_t off[kMaxOperands] = {i, i, i, i};
    if (!contig) ix.offsets(i, off);
    out[off[0]] = c[off[1]] ? a[off[2]] : b[off[3]];
  }
}

template <typename T>
__global__ void clampKernel(Indexer ix, int64_t n, bool contig, T* out, const T* x, T lo, T hi) {
  KD_GRID_STRIDE(i, n) {
    int64_t o = i, a = i;
    if (!contig) {
      o = ix.offset(0, i);
      a = ix.offset(1, i);
    }
    // max first, then min: lo > hi gives hi; a NaN passes through.
    const T v = x[a];
    const T m = v < lo ? lo : v;
    out[o] = m > hi ? hi : m;
  }
}

template <typename D, typename S>
__global__ void copyKernel(Indexer ix, int64_t n, bool contig, D* dst, const S* src, bool toBool) {
  KD_GRID_STRIDE(i, n) {
    int64_t o = i, a = i;
    if (!contig) {
      o = ix.offset(0, i);
      a = ix.offset(1, i);
    }
    const S v = src[a];
    dst[o] = toBool ? D(v != S(0)) : convertValue<D>(v);
  }
}

template <typename T>
__global__ void fillKernel(Indexer ix, int64_t n, bool contig, T* dst, T v) {
  KD_GRID_STRIDE(i, n) { dst[contig ? i : ix.offset(0, i)] = v; }
}

// ---- overlap between inputs and output -----------------------------------------------------------
void byteExtent(const TensorView& v, uintptr_t& lo, uintptr_t& hi) {
  const int64_t es = static_cast<int64_t>(dtypeSize(v.dtype));
  int64_t a = 0, b = 0;
  for (int d = 0; d < v.ndim; ++d) {
    const int64_t span = (v.shape[d] - 1) * v.strides[d] * es;
    if (span > 0) b += span;
    else a += span;
  }
  const uintptr_t base = reinterpret_cast<uintptr_t>(v.data);
  lo = base + static_cast<uintptr_t>(a);
  hi = base + static_cast<uintptr_t>(b + es);
}

bool sameElements(const TensorView& a, const TensorView& b) {
  if (a.data != b.data || dtypeSize(a.dtype) != dtypeSize(b.dtype) || a.ndim != b.ndim) return false;
  for (int d = 0; d < a.ndim; ++d)
    if (a.shape[d] != 1 && a.strides[d] != b.strides[d]) return false;
  return true;
}

void copyImpl(const TensorView& src, const TensorView& dst);

// As on the CPU: an input that overlaps the output other than element for
// element is copied first (its distinct elements only), so no thread reads
// a value another has already overwritten.
TensorView separateFromOutput(const TensorView& in, const TensorView& out, DeviceBuffer& buffer) {
  if (in.numel() == 0 || out.numel() == 0 || sameElements(in, out)) return in;
  uintptr_t inLo, inHi, outLo, outHi;
  byteExtent(in, inLo, inHi);
  byteExtent(out, outLo, outHi);
  if (inHi <= outLo || outHi <= inLo) return in;
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
  buffer = DeviceBuffer(in.device, static_cast<size_t>(size) * dtypeSize(in.dtype));
  tmp.data = buffer.get();
  TensorView compact = tmp;
  for (int d = 0; d < in.ndim; ++d) compact.shape[d] = src.shape[d];
  copyImpl(src, compact);
  return tmp;
}

struct Launch {
  Indexer ix;
  int64_t n;
  bool contig;
};

Launch prepare(const TensorView* const* views, int nops) {
  Launch l;
  l.n = views[0]->numel();
  l.ix = makeIndexer(views, nops);
  l.contig = allContiguous(l.ix);
  return l;
}

void copyImpl(const TensorView& src, const TensorView& dst) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  setDevice("copy", dst.device);
  const TensorView* views[2] = {&dst, &src};
  const Launch l = prepare(views, 2);
  if (l.contig && src.dtype == dst.dtype) {
    KD_CUDA_CHECK("copy", cudaMemcpyAsync(dst.data, src.data, static_cast<size_t>(n) * dtypeSize(dst.dtype),
                                          cudaMemcpyDeviceToDevice, 0));
    return;
  }
  const bool toBool = dst.dtype == DType::Bool && src.dtype != DType::Bool;
  dispatchAll(src.dtype, [&](auto st) {
    using S = typename decltype(st)::type;
    dispatchAll(dst.dtype, [&](auto dt) {
      using D = typename decltype(dt)::type;
      copyKernel<D, S><<<blocksFor(n), kThreads>>>(l.ix, n, l.contig, static_cast<D*>(dst.data),
                                                   static_cast<const S*>(src.data), toBool);
    });
  });
  KD_CUDA_LAUNCHED("copy");
}

void checkBinaryOut(const char* kernel, BinaryOp op, DType in, DType out) {
  if (writesBool(op) ? isOneByte(out) : out == in) return;
  throw KernelError(std::string(kernel) + ": " + binaryName(op) + ": output dtype " + dtypeName(out) +
                    " does not fit input dtype " + dtypeName(in));
}

void checkBinaryOp(const char* kernel, BinaryOp op, DType dtype) {
  const int code = static_cast<int>(op);
  if (code < 0 || code >= kNumBinary)
    throw KernelError(std::string(kernel) + ": unknown op code " + std::to_string(code));
  const bool isFloat = dtype == DType::Float32 || dtype == DType::Float64;
  if (op == BinaryOp::Atan2 && !isFloat) throw KernelError(std::string(kernel) + ": atan2 needs a floating dtype");
  if (isBitwise(op) && isFloat)
    throw KernelError(std::string(kernel) + ": " + binaryName(op) + " needs an integral or bool dtype");
}

// a and b are tensors unless scalarMode says one is the scalar value.
void runBinary(const char* kernel, BinaryOp op, const TensorView& a, const TensorView& b, double scalar, int scalarMode,
               const TensorView& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  setDevice(kernel, out.device);
  const TensorView* views[3] = {&out, &a, &b};
  const Launch l = prepare(views, 3);
  const bool isBool = a.dtype == DType::Bool;
  dispatchAll(a.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T s = isBool ? T(scalar != 0) : convertValue<T>(scalar);
    const T* pa = static_cast<const T*>(a.data);
    const T* pb = static_cast<const T*>(b.data);
    if (writesBool(op)) {
      compareKernel<T><<<blocksFor(n), kThreads>>>(l.ix, n, l.contig, static_cast<uint8_t*>(out.data), pa, pb, s, s,
                                                   scalarMode, static_cast<int>(op));
    } else {
      binaryKernel<T><<<blocksFor(n), kThreads>>>(l.ix, n, l.contig, static_cast<T*>(out.data), pa, pb, s, s,
                                                  scalarMode, static_cast<int>(op), isBool);
    }
  });
  KD_CUDA_LAUNCHED(kernel);
}

template <typename T>
T lowerBound(double lo) {
  if constexpr (kIsFloat<T>) {
    return lo != lo ? -std::numeric_limits<T>::infinity() : static_cast<T>(lo);
  } else {
    if (lo != lo || lo <= double(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (lo >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(lo);
  }
}
template <typename T>
T upperBound(double hi) {
  if constexpr (kIsFloat<T>) {
    return hi != hi ? std::numeric_limits<T>::infinity() : static_cast<T>(hi);
  } else {
    if (hi != hi || hi >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    if (hi <= double(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    return static_cast<T>(hi);
  }
}

TensorView contiguousHost(const TensorView& shapeOf, DType dtype, std::vector<uint8_t>& storage) {
  TensorView v;
  v.dtype = dtype;
  v.device = -1;
  v.ndim = shapeOf.ndim;
  int64_t n = 1;
  for (int d = v.ndim - 1; d >= 0; --d) {
    v.shape[d] = shapeOf.shape[d];
    v.strides[d] = n;
    n *= shapeOf.shape[d];
  }
  storage.resize(static_cast<size_t>(n) * dtypeSize(dtype));
  v.data = storage.data();
  return v;
}

}  // namespace

void unary(UnaryOp op, const TensorView& x, const TensorView& out) {
  const int code = static_cast<int>(op);
  if (code < 0 || code >= kNumUnary) throw KernelError("unary: unknown op code " + std::to_string(code));
  const bool boolOut = op == UnaryOp::LogicalNot || op == UnaryOp::IsNan;
  if (boolOut ? !isOneByte(out.dtype) : out.dtype != x.dtype)
    throw KernelError(std::string("unary: ") + unaryName(op) + ": output dtype " + dtypeName(out.dtype) +
                      " does not match input dtype " + dtypeName(x.dtype));
  const bool isFloat = x.dtype == DType::Float32 || x.dtype == DType::Float64;
  if (floatOnlyUnary(op) && !isFloat) throw KernelError("unary: " + unaryName(op) + " needs a floating dtype");
  const int64_t n = out.numel();
  if (n == 0) return;
  setDevice("unary", out.device);
  DeviceBuffer buffer;
  const TensorView in = separateFromOutput(x, out, buffer);
  const TensorView* views[2] = {&out, &in};
  const Launch l = prepare(views, 2);
  dispatchAll(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = static_cast<const T*>(in.data);
    if (boolOut) {
      unaryBoolKernel<T>
          <<<blocksFor(n), kThreads>>>(l.ix, n, l.contig, static_cast<uint8_t*>(out.data), px, op == UnaryOp::IsNan);
    } else {
      unaryKernel<T>
          <<<blocksFor(n), kThreads>>>(l.ix, n, l.contig, static_cast<T*>(out.data), px, code, x.dtype == DType::Bool);
    }
  });
  KD_CUDA_LAUNCHED("unary");
}

void binary(BinaryOp op, const TensorView& a, const TensorView& b, const TensorView& out) {
  if (a.dtype != b.dtype)
    throw KernelError("binary: " + binaryName(op) + ": operands differ in dtype (" + dtypeName(a.dtype) + ", " +
                      dtypeName(b.dtype) + ")");
  checkBinaryOp("binary", op, a.dtype);
  checkBinaryOut("binary", op, a.dtype, out.dtype);
  if (out.numel() == 0) return;
  setDevice("binary", out.device);
  DeviceBuffer bufA, bufB;
  const TensorView sa = separateFromOutput(a, out, bufA), sb = separateFromOutput(b, out, bufB);
  runBinary("binary", op, sa, sb, 0.0, 0, out);
}

void binaryScalar(BinaryOp op, const TensorView& a, double scalar, bool scalarFirst, const TensorView& out) {
  checkBinaryOp("binaryScalar", op, a.dtype);
  checkBinaryOut("binaryScalar", op, a.dtype, out.dtype);
  if (out.numel() == 0) return;
  setDevice("binaryScalar", out.device);
  DeviceBuffer buffer;
  const TensorView sa = separateFromOutput(a, out, buffer);
  // The scalar's slot in the indexer repeats the tensor's strides; the
  // kernel never reads through it.
  runBinary("binaryScalar", op, sa, sa, scalar, scalarFirst ? 1 : 2, out);
}

void where(const TensorView& cond, const TensorView& a, const TensorView& b, const TensorView& out) {
  if (!isOneByte(cond.dtype))
    throw KernelError(std::string("where: condition must be bool, got ") + dtypeName(cond.dtype));
  if (a.dtype != out.dtype || b.dtype != out.dtype)
    throw KernelError(std::string("where: dtypes differ (") + dtypeName(a.dtype) + ", " + dtypeName(b.dtype) + " -> " +
                      dtypeName(out.dtype) + ")");
  const int64_t n = out.numel();
  if (n == 0) return;
  setDevice("where", out.device);
  DeviceBuffer bufC, bufA, bufB;
  const TensorView sc = separateFromOutput(cond, out, bufC), sa = separateFromOutput(a, out, bufA),
                   sb = separateFromOutput(b, out, bufB);
  const TensorView* views[4] = {&out, &sc, &sa, &sb};
  const Launch l = prepare(views, 4);
  dispatchAll(out.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    whereKernel<T><<<blocksFor(n), kThreads>>>(l.ix, n, l.contig, static_cast<T*>(out.data),
                                               static_cast<const uint8_t*>(sc.data), static_cast<const T*>(sa.data),
                                               static_cast<const T*>(sb.data));
  });
  KD_CUDA_LAUNCHED("where");
}

void clamp(const TensorView& x, double lo, double hi, const TensorView& out) {
  if (out.dtype != x.dtype)
    throw KernelError(std::string("clamp: output dtype ") + dtypeName(out.dtype) + " differs from input dtype " +
                      dtypeName(x.dtype));
  const int64_t n = out.numel();
  if (n == 0) return;
  setDevice("clamp", out.device);
  DeviceBuffer buffer;
  const TensorView in = separateFromOutput(x, out, buffer);
  const TensorView* views[2] = {&out, &in};
  const Launch l = prepare(views, 2);
  dispatchAll(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    clampKernel<T><<<blocksFor(n), kThreads>>>(l.ix, n, l.contig, static_cast<T*>(out.data),
                                               static_cast<const T*>(in.data), lowerBound<T>(lo), upperBound<T>(hi));
  });
  KD_CUDA_LAUNCHED("clamp");
}

void copy(const TensorView& src, const TensorView& dst) {
  if (sameElements(src, dst) && src.dtype == dst.dtype) return;
  if (dst.numel() == 0) return;
  setDevice("copy", dst.device);
  DeviceBuffer buffer;
  copyImpl(separateFromOutput(src, dst, buffer), dst);
}

void fill(const TensorView& dst, double value) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  setDevice("fill", dst.device);
  const TensorView* views[1] = {&dst};
  const Launch l = prepare(views, 1);
  const bool isBool = dst.dtype == DType::Bool;
  dispatchAll(dst.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T v = isBool ? T(value != 0) : convertValue<T>(value);
    // All-zero bytes (0, +0.0, false) in a contiguous block: a memset.
    T zero{};
    if (l.contig && std::memcmp(&v, &zero, sizeof(T)) == 0) {
      KD_CUDA_CHECK("fill", cudaMemsetAsync(dst.data, 0, static_cast<size_t>(n) * sizeof(T), 0));
      return;
    }
    fillKernel<T><<<blocksFor(n), kThreads>>>(l.ix, n, l.contig, static_cast<T*>(dst.data), v);
    KD_CUDA_LAUNCHED("fill");
  });
}

// Note [Copies across devices]
// Host memory is pageable (V8's ArrayBuffers), so a copy goes in two steps:
// the strided, dtype-converting part runs on whichever side holds the
// strided view (the caller's hostCopy, kd::copy, on the CPU; copyImpl on the
// device), and the transfer moves one contiguous block of dst's dtype. A
// contiguous same-dtype side skips its staging buffer.
void copyAcross(const TensorView& src, const TensorView& dst, HostCopy hostCopy) {
  const int64_t n = dst.numel();
  if (src.numel() != n) throw KernelError("copy: source and destination differ in size");
  if (n == 0) return;
  const size_t bytes = static_cast<size_t>(n) * dtypeSize(dst.dtype);
  if (src.device < 0) {
    // host -> device
    std::vector<uint8_t> hostBuf;
    const void* host = src.data;
    if (!(src.isContiguous() && src.dtype == dst.dtype)) {
      const TensorView h = contiguousHost(dst, dst.dtype, hostBuf);
      if (hostCopy == nullptr) throw KernelError("copy: a strided or converting host side needs a host copy");
      hostCopy(src, h);
      host = h.data;
    }
    if (dst.isContiguous()) {
      copyToDevice(dst.device, dst.data, host, bytes);
      return;
    }
    DeviceBuffer stage;
    const TensorView d = contiguousLike(dst, dst.dtype, stage);
    copyToDevice(dst.device, d.data, host, bytes);
    copyImpl(d, dst);
    return;
  }
  // From a device: first a contiguous block of dst's dtype on src's device.
  DeviceBuffer stage;
  const void* block = src.data;
  if (!(src.isContiguous() && src.dtype == dst.dtype)) {
    TensorView shapeOf = src;
    const TensorView s = contiguousLike(shapeOf, dst.dtype, stage);
    copyImpl(src, s);
    block = s.data;
  }
  if (dst.device < 0) {
    // device -> host
    if (dst.isContiguous()) {
      copyToHost(src.device, dst.data, block, bytes);
      return;
    }
    std::vector<uint8_t> hostBuf;
    const TensorView h = contiguousHost(dst, dst.dtype, hostBuf);
    if (hostCopy == nullptr) throw KernelError("copy: a strided host side needs a host copy");
    copyToHost(src.device, h.data, block, bytes);
    hostCopy(h, dst);
    return;
  }
  // device -> another device
  setDevice("copy", dst.device);
  if (dst.isContiguous()) {
    KD_CUDA_CHECK("copy", cudaMemcpyPeer(dst.data, dst.device, block, src.device, bytes));
    return;
  }
  DeviceBuffer landing;
  const TensorView d = contiguousLike(dst, dst.dtype, landing);
  KD_CUDA_CHECK("copy", cudaMemcpyPeer(d.data, dst.device, block, src.device, bytes));
  copyImpl(d, dst);
}

}  // namespace cuda
}  // namespace kd
