// Standalone test for native/cpu/elementwise.cc and native/cpu/parallel.cc.
//
//   g++ -std=c++17 -O2 -Wall -Wextra -pthread -Inative/cpu native/tests/test_elementwise.cc
//       native/cpu/elementwise.cc native/cpu/parallel.cc -o /tmp/test_elementwise && /tmp/test_elementwise
//
// Results are checked against straightforward loops in double over the
// same multi-index, so every stride pattern (contiguous, broadcast,
// transposed, negative) is compared with the obvious answer.
#include "kernels.h"
#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

using namespace kd;

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const DType kAllDtypes[] = {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::UInt8, DType::Bool};

bool isFloat(DType d) { return d == DType::Float32 || d == DType::Float64; }

// A tensor owning its storage, with a view that may be any window of it.
struct Tensor {
  std::vector<unsigned char> storage;
  TensorView v;

  Tensor(DType dt, std::vector<int64_t> shape, std::vector<int64_t> strides = {}, int64_t offset = 0,
         int64_t storageElems = -1) {
    v.dtype = dt;
    v.ndim = static_cast<int>(shape.size());
    if (strides.empty()) {
      strides.assign(shape.size(), 0);
      int64_t s = 1;
      for (int d = v.ndim - 1; d >= 0; --d) {
        strides[d] = s;
        s *= shape[d];
      }
    }
    int64_t hi = offset;
    for (int d = 0; d < v.ndim; ++d) {
      v.shape[d] = shape[d];
      v.strides[d] = strides[d];
      if (strides[d] > 0) hi += (shape[d] - 1) * strides[d];
    }
    if (storageElems < 0) storageElems = hi + 1;
    storage.assign(static_cast<size_t>(storageElems) * dtypeSize(dt), 0);
    v.data = storage.data() + offset * static_cast<int64_t>(dtypeSize(dt));
  }
  Tensor(const Tensor&) = delete;

  int64_t offsetOf(const std::vector<int64_t>& idx) const {
    int64_t o = 0;
    for (int d = 0; d < v.ndim; ++d) o += idx[d] * v.strides[d];
    return o;
  }
  double get(const std::vector<int64_t>& idx) const { return load(v, offsetOf(idx)); }
  void set(const std::vector<int64_t>& idx, double x) { store(v, offsetOf(idx), x); }

  static double load(const TensorView& t, int64_t o) {
    switch (t.dtype) {
      case DType::Float32: return static_cast<const float*>(t.data)[o];
      case DType::Float64: return static_cast<const double*>(t.data)[o];
      case DType::Int32: return static_cast<const int32_t*>(t.data)[o];
      case DType::Int64: return static_cast<double>(static_cast<const int64_t*>(t.data)[o]);
      case DType::UInt8:
      case DType::Bool: return static_cast<const uint8_t*>(t.data)[o];
    }
    return 0;
  }
  static void store(const TensorView& t, int64_t o, double x) {
    switch (t.dtype) {
      case DType::Float32: static_cast<float*>(t.data)[o] = static_cast<float>(x); break;
      case DType::Float64: static_cast<double*>(t.data)[o] = x; break;
      case DType::Int32: static_cast<int32_t*>(t.data)[o] = static_cast<int32_t>(x); break;
      case DType::Int64: static_cast<int64_t*>(t.data)[o] = static_cast<int64_t>(x); break;
      case DType::UInt8: static_cast<uint8_t*>(t.data)[o] = static_cast<uint8_t>(x); break;
      case DType::Bool: static_cast<uint8_t*>(t.data)[o] = x != 0; break;
    }
  }
};

void forEachIndex(const TensorView& v, const std::function<void(const std::vector<int64_t>&)>& fn) {
  if (v.numel() == 0) return;
  std::vector<int64_t> idx(v.ndim, 0);
  for (;;) {
    fn(idx);
    int d = v.ndim - 1;
    while (d >= 0 && ++idx[d] == v.shape[d]) idx[d--] = 0;
    if (d < 0) return;
  }
}

// Fills with values fitting the dtype: small signed ints, halves and some
// non-integers for floats.
void fillPattern(Tensor& t, int seed, bool positive = false) {
  std::mt19937 rng(seed);
  forEachIndex(t.v, [&](const std::vector<int64_t>& idx) {
    double x;
    switch (t.v.dtype) {
      case DType::Bool: x = rng() % 2; break;
      case DType::UInt8: x = rng() % 200; break;
      case DType::Int32:
      case DType::Int64: x = static_cast<int>(rng() % 41) - 20; break;
      default: x = (static_cast<int>(rng() % 4001) - 2000) / 256.0; break;
    }
    if (positive && isFloat(t.v.dtype)) x = std::fabs(x) + 0.125;
    t.set(idx, x);
  });
}

bool close(double got, double want, double rtol, double atol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= atol + rtol * std::fabs(want);
}

double tolFor(DType d) { return d == DType::Float32 ? 2e-6 : (d == DType::Float64 ? 1e-13 : 0); }

// out must equal ref(x[idx]) (or ref(a, b)) at every index.
void expectMap(const Tensor& out, const std::function<double(const std::vector<int64_t>&)>& ref, double rtol,
               double atol, const char* what) {
  forEachIndex(out.v, [&](const std::vector<int64_t>& idx) {
    const double got = out.get(idx), want = ref(idx);
    if (!close(got, want, rtol, atol)) {
      std::fprintf(stderr, "%s: mismatch at [", what);
      for (size_t i = 0; i < idx.size(); ++i) std::fprintf(stderr, "%s%lld", i ? "," : "", (long long)idx[i]);
      std::fprintf(stderr, "] (%s): got %.17g want %.17g\n", dtypeName(out.v.dtype), got, want);
      std::abort();
    }
  });
}

bool throwsKernelError(const std::function<void()>& fn, const char* expected = nullptr) {
  try {
    fn();
  } catch (const KernelError& e) {
    if (expected && std::string(e.what()).find(expected) == std::string::npos) {
      std::fprintf(stderr, "unexpected message: %s\n", e.what());
      return false;
    }
    return true;
  }
  return false;
}

// Input layouts every kernel is run on, for a logical shape of [4, 6]:
// contiguous, transposed storage, negative strides, a broadcast row.
enum class Layout { Contig, Transposed, Negative, BroadcastRow, Scalar };
const Layout kLayouts[] = {Layout::Contig, Layout::Transposed, Layout::Negative, Layout::BroadcastRow, Layout::Scalar};

Tensor* makeInput(DType dt, Layout layout, int seed, bool positive = false) {
  Tensor* t = nullptr;
  switch (layout) {
    case Layout::Contig: t = new Tensor(dt, {4, 6}); break;
    case Layout::Transposed: t = new Tensor(dt, {4, 6}, {1, 4}); break;
    case Layout::Negative: t = new Tensor(dt, {4, 6}, {-6, -1}, 23, 24); break;
    case Layout::BroadcastRow: t = new Tensor(dt, {4, 6}, {0, 1}); break;
    case Layout::Scalar: t = new Tensor(dt, {4, 6}, {0, 0}); break;
  }
  fillPattern(*t, seed, positive);
  return t;
}

// ---- copy / fill ------------------------------------------------------------------

double convertRef(double x, DType to) {
  if (to == DType::Bool) return x != 0;
  if (isFloat(to)) return to == DType::Float32 ? static_cast<float>(x) : x;
  const int64_t i = static_cast<int64_t>(x);  // test values are in range
  switch (to) {
    case DType::Int32: return static_cast<int32_t>(i);
    case DType::UInt8: return static_cast<uint8_t>(i);
    default: return static_cast<double>(i);
  }
}

void testCopy() {
  for (DType from : kAllDtypes)
    for (DType to : kAllDtypes)
      for (Layout layout : kLayouts) {
        std::unique_ptr<Tensor> src(makeInput(from, layout, 1));
        Tensor dst(to, {4, 6});
        copy(src->v, dst.v);
        expectMap(
            dst, [&](const std::vector<int64_t>& i) { return convertRef(src->get(i), to); }, 0, 0, "copy");
        // ...and into a strided (transposed, negative) destination.
        Tensor dstT(to, {4, 6}, {-1, -4}, 23, 24);
        copy(src->v, dstT.v);
        expectMap(
            dstT, [&](const std::vector<int64_t>& i) { return convertRef(src->get(i), to); }, 0, 0, "copy strided");
      }
  // Conversions at the edges: NaN -> bool is true, -1.0 -> uint8 wraps, truncation toward zero.
  Tensor f(DType::Float64, {5});
  const double vals[] = {kNaN, -1.0, 2.7, -2.7, 0.0};
  for (int i = 0; i < 5; ++i) f.set({i}, vals[i]);
  Tensor b(DType::Bool, {5}), u(DType::UInt8, {5}), i32(DType::Int32, {5});
  copy(f.v, b.v);
  copy(f.v, u.v);
  copy(f.v, i32.v);
  CHECK(b.get({0}) == 1 && b.get({1}) == 1 && b.get({4}) == 0);
  CHECK(u.get({1}) == 255 && u.get({2}) == 2 && u.get({0}) == 0);
  CHECK(i32.get({2}) == 2 && i32.get({3}) == -2);
  // uint8 200 -> bool is 1, not 200.
  Tensor u8(DType::UInt8, {1}), bb(DType::Bool, {1});
  u8.set({0}, 200);
  copy(u8.v, bb.v);
  CHECK(static_cast<uint8_t*>(bb.v.data)[0] == 1);

  // Overlapping source and destination in one buffer: x[1:] = x[:-1].
  Tensor buf(DType::Int32, {10});
  for (int i = 0; i < 10; ++i) buf.set({i}, i);
  TensorView lo = buf.v, hi = buf.v;
  lo.shape[0] = hi.shape[0] = 9;
  hi.data = static_cast<int32_t*>(buf.v.data) + 1;
  copy(lo, hi);
  for (int i = 0; i < 10; ++i) CHECK(buf.get({i}) == (i == 0 ? 0 : i - 1));

  // A 0-d tensor, and an empty one (nothing touched, no crash).
  Tensor s0(DType::Float32, {}), d0(DType::Int64, {});
  s0.set({}, 3.5);
  copy(s0.v, d0.v);
  CHECK(d0.get({}) == 3);
  Tensor e0(DType::Float32, {0, 3}), e1(DType::Float32, {0, 3});
  copy(e0.v, e1.v);
}

void testFill() {
  for (DType dt : kAllDtypes) {
    // Every other element of a 3x4 block, rows reversed.
    Tensor t(dt, {3, 4}, {-8, 2}, 16, 24);
    fill(t.v, 3.0);
    expectMap(
        t, [&](const std::vector<int64_t>&) { return dt == DType::Bool ? 1.0 : 3.0; }, 0, 0, "fill");
    for (int64_t k = 0; k < 24; k += 2) CHECK(Tensor::load(t.v, k - 16) != 0);
    for (int64_t k = 1; k < 24; k += 2) CHECK(Tensor::load(t.v, k - 16) == 0);  // gaps untouched
  }
  Tensor f(DType::Float32, {7});
  fill(f.v, kNaN);
  CHECK(std::isnan(f.get({6})));
}

// ---- unary ---------------------------------------------------------------------------

double gelu(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }

// The kernel on one contiguous element of dtype dt.
double unaryAt(UnaryOp op, DType dt, double x) {
  Tensor in(dt, {1}), out(dt, {1});
  in.set({0}, x);
  unary(op, in.v, out.v);
  return out.get({0});
}

// An independent reference for the ops listed here. An op not listed (a
// newly added float op) is checked against its own kernel on one contiguous
// element: this runner's job is that every layout, stride and thread split
// gives the same values; the values themselves are checked against
// PyTorch by the JS suite (test/fixtures, made by scripts/make_fixtures.py).
double unaryRef(UnaryOp op, double x, DType dt) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Exp: return std::exp(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Sqrt: return std::sqrt(x);
    case UnaryOp::Rsqrt: return 1 / std::sqrt(x);
    case UnaryOp::Abs: return std::fabs(x);
    case UnaryOp::Sin: return std::sin(x);
    case UnaryOp::Cos: return std::cos(x);
    case UnaryOp::Tan: return std::tan(x);
    case UnaryOp::Relu: return std::isnan(x) ? x : (x < 0 ? 0 : x);
    case UnaryOp::Sigmoid: return 1 / (1 + std::exp(-x));
    case UnaryOp::Tanh: return std::tanh(x);
    case UnaryOp::Reciprocal: return 1 / x;
    case UnaryOp::Sign: return (x > 0) - (x < 0);
    case UnaryOp::Floor: return std::floor(x);
    case UnaryOp::Ceil: return std::ceil(x);
    case UnaryOp::Round: return std::nearbyint(x);
    case UnaryOp::Log1p: return std::log1p(x);
    case UnaryOp::Expm1: return std::expm1(x);
    case UnaryOp::Erf: return std::erf(x);
    case UnaryOp::Gelu: return gelu(x);
    case UnaryOp::GeluGrad: {
      const double h = 1e-5;  // checked against a central difference
      return (gelu(x + h) - gelu(x - h)) / (2 * h);
    }
    case UnaryOp::LogicalNot: return x == 0;
    case UnaryOp::IsNan: return std::isnan(x);
    case UnaryOp::Square: return x * x;
    case UnaryOp::Trunc: return std::trunc(x);
    case UnaryOp::Log10: return std::log10(x);
    case UnaryOp::Erfc: return std::erfc(x);
    default: return unaryAt(op, dt, x);
  }
}

#define KD_OP_LIST_ENTRY(name) UnaryOp::name,
const UnaryOp kUnaryOps[] = {KD_UNARY_OPS(KD_OP_LIST_ENTRY)};
#undef KD_OP_LIST_ENTRY

bool floatOnly(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg:
    case UnaryOp::Abs:
    case UnaryOp::Relu:
    case UnaryOp::Sign:
    case UnaryOp::Floor:
    case UnaryOp::Ceil:
    case UnaryOp::Round:
    case UnaryOp::LogicalNot:
    case UnaryOp::IsNan:
    case UnaryOp::Square:
    case UnaryOp::Trunc: return false;
    default: return true;
  }
}

bool needsPositive(UnaryOp op) {
  return op == UnaryOp::Log || op == UnaryOp::Sqrt || op == UnaryOp::Rsqrt || op == UnaryOp::Log1p;
}

void testUnary() {
  for (UnaryOp op : kUnaryOps)
    for (DType dt : {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::UInt8})
      for (Layout layout : kLayouts) {
        std::unique_ptr<Tensor> x(makeInput(dt, layout, 7, needsPositive(op)));
        const bool boolOut = op == UnaryOp::LogicalNot || op == UnaryOp::IsNan;
        Tensor out(boolOut ? DType::Bool : dt, {4, 6});
        if (floatOnly(op) && !isFloat(dt)) {
          CHECK(throwsKernelError([&] { unary(op, x->v, out.v); }, "needs a floating dtype"));
          continue;
        }
        unary(op, x->v, out.v);
        const double tol = op == UnaryOp::GeluGrad ? 1e-5 : tolFor(dt);
        expectMap(
            out, [&](const std::vector<int64_t>& i) { return convertRef(unaryRef(op, x->get(i), dt), out.v.dtype); },
            tol, op == UnaryOp::GeluGrad ? 1e-6 : (isFloat(dt) ? 1e-12 : 0), "unary");
      }
  // Error message names the op the way JS spells it.
  {
    Tensor x(DType::Int32, {2}), out(DType::Int32, {2});
    CHECK(throwsKernelError([&] { unary(UnaryOp::Exp, x.v, out.v); }, "unary: exp needs a floating dtype"));
    CHECK(throwsKernelError([&] { unary(UnaryOp::GeluGrad, x.v, out.v); }, "unary: geluGrad needs a floating dtype"));
  }
  // NaN, signed zero and rounding edge cases.
  {
    const double in[] = {kNaN, 0.0, -0.0, 0.5, 1.5, 2.5, -0.5, -2.5};
    const int n = 8;
    for (DType dt : {DType::Float32, DType::Float64}) {
      Tensor x(dt, {n}), out(dt, {n}), isn(DType::Bool, {n}), lnot(DType::Bool, {n});
      for (int i = 0; i < n; ++i) x.set({i}, in[i]);
      unary(UnaryOp::Relu, x.v, out.v);
      CHECK(std::isnan(out.get({0})) && out.get({1}) == 0);
      unary(UnaryOp::Sign, x.v, out.v);
      CHECK(out.get({0}) == 0 && out.get({1}) == 0 && out.get({2}) == 0 && out.get({7}) == -1);
      unary(UnaryOp::Round, x.v, out.v);
      CHECK(out.get({3}) == 0 && out.get({4}) == 2 && out.get({5}) == 2 && out.get({6}) == 0 && out.get({7}) == -2);
      CHECK(std::signbit(out.get({6})));
      unary(UnaryOp::IsNan, x.v, isn.v);
      CHECK(isn.get({0}) == 1 && isn.get({1}) == 0);
      unary(UnaryOp::LogicalNot, x.v, lnot.v);
      CHECK(lnot.get({0}) == 0 && lnot.get({1}) == 1 && lnot.get({2}) == 1 && lnot.get({3}) == 0);
      unary(UnaryOp::Sigmoid, x.v, out.v);
      CHECK(std::isnan(out.get({0})));
    }
    // Sigmoid saturates without NaN at large |x|; exact gelu values.
    Tensor x(DType::Float32, {4}), out(DType::Float32, {4});
    x.set({0}, -200);
    x.set({1}, 200);
    x.set({2}, 1);
    x.set({3}, -3);
    unary(UnaryOp::Sigmoid, x.v, out.v);
    CHECK(out.get({0}) == 0 && out.get({1}) == 1);
    unary(UnaryOp::Gelu, x.v, out.v);
    CHECK(close(out.get({2}), 0.8413447460685429, 1e-6, 0));
    CHECK(close(out.get({3}), -0.0040496940947, 1e-6, 0));
  }
  // Integer edge cases: abs/neg of INT_MIN wrap, uint8 neg wraps, bool ops stay 0/1.
  {
    Tensor x(DType::Int32, {2}), out(DType::Int32, {2});
    x.set({0}, std::numeric_limits<int32_t>::min());
    x.set({1}, -5);
    unary(UnaryOp::Abs, x.v, out.v);
    CHECK(out.get({0}) == std::numeric_limits<int32_t>::min() && out.get({1}) == 5);
    Tensor u(DType::UInt8, {1}), uo(DType::UInt8, {1});
    u.set({0}, 3);
    unary(UnaryOp::Neg, u.v, uo.v);
    CHECK(uo.get({0}) == 253);
    Tensor b(DType::Bool, {2}), bo(DType::Bool, {2});
    b.set({0}, 1);
    unary(UnaryOp::Neg, b.v, bo.v);
    CHECK(static_cast<uint8_t*>(bo.v.data)[0] == 1 && static_cast<uint8_t*>(bo.v.data)[1] == 0);
  }
  // In place: out is x.
  {
    Tensor x(DType::Float32, {100});
    for (int i = 0; i < 100; ++i) x.set({i}, i);
    unary(UnaryOp::Square, x.v, x.v);
    for (int i = 0; i < 100; ++i) CHECK(x.get({i}) == double(i) * i);
  }
  // Wrong output dtype is refused.
  {
    Tensor x(DType::Float32, {2}), out(DType::Float64, {2});
    CHECK(throwsKernelError([&] { unary(UnaryOp::Neg, x.v, out.v); }));
  }
}

// ---- binary ----------------------------------------------------------------------------

#define KD_OP_LIST_ENTRY(name) BinaryOp::name,
const BinaryOp kBinaryOps[] = {KD_BINARY_OPS(KD_OP_LIST_ENTRY)};
#undef KD_OP_LIST_ENTRY

bool boolResult(BinaryOp op) {
  return op == BinaryOp::Eq || op == BinaryOp::Ne || op == BinaryOp::Gt || op == BinaryOp::Ge || op == BinaryOp::Lt ||
         op == BinaryOp::Le || op == BinaryOp::LogicalAnd || op == BinaryOp::LogicalOr || op == BinaryOp::LogicalXor;
}

bool isBitwise(BinaryOp op) {
  return op == BinaryOp::BitwiseAnd || op == BinaryOp::BitwiseOr || op == BinaryOp::BitwiseXor;
}

double pyMod(double a, double b) {
  double r = std::fmod(a, b);
  if (r != 0 && (r < 0) != (b < 0)) r += b;
  return r;
}

double binaryRef(BinaryOp op, double a, double b, DType dt) {
  const bool fl = isFloat(dt);
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return fl ? a / b : (b == 0 ? 0 : std::trunc(a / b));
    case BinaryOp::Pow:
      if (!fl && b < 0) return a == 1 ? 1 : (a == -1 ? (std::fmod(b, 2) != 0 ? -1 : 1) : 0);
      return std::pow(a, b);
    case BinaryOp::Maximum: return std::isnan(a) || std::isnan(b) ? kNaN : std::max(a, b);
    case BinaryOp::Minimum: return std::isnan(a) || std::isnan(b) ? kNaN : std::min(a, b);
    case BinaryOp::Atan2: return std::atan2(a, b);
    case BinaryOp::Remainder: return !fl && b == 0 ? 0 : pyMod(a, b);
    case BinaryOp::FloorDivide: return !fl && b == 0 ? 0 : std::floor(a / b);
    case BinaryOp::Eq: return a == b;
    case BinaryOp::Ne: return a != b;
    case BinaryOp::Gt: return a > b;
    case BinaryOp::Ge: return a >= b;
    case BinaryOp::Lt: return a < b;
    case BinaryOp::Le: return a <= b;
    case BinaryOp::LogicalAnd: return (a != 0) && (b != 0);
    case BinaryOp::LogicalOr: return (a != 0) || (b != 0);
    case BinaryOp::LogicalXor: return (a != 0) != (b != 0);
    case BinaryOp::ReluBackward: return a > 0 ? b : 0;
    case BinaryOp::Fmod: return !fl && b == 0 ? 0 : std::fmod(a, b);
    case BinaryOp::BitwiseAnd: return double(int64_t(a) & int64_t(b));
    case BinaryOp::BitwiseOr: return double(int64_t(a) | int64_t(b));
    case BinaryOp::BitwiseXor: return double(int64_t(a) ^ int64_t(b));
  }
  return 0;
}

// The reference in double, cast back the way the kernel's dtype wraps.
double wrapTo(double x, DType dt) {
  if (isFloat(dt) || dt == DType::Bool) return convertRef(x, dt);
  if (std::isnan(x) || std::isinf(x)) return 0;
  const int64_t i = static_cast<int64_t>(x);
  return convertRef(static_cast<double>(i), dt);
}

void testBinary() {
  for (BinaryOp op : kBinaryOps)
    for (DType dt : {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::UInt8})
      for (Layout la : kLayouts)
        for (Layout lb : {Layout::Contig, Layout::Transposed, Layout::BroadcastRow, Layout::Scalar}) {
          std::unique_ptr<Tensor> a(makeInput(dt, la, 11)), b(makeInput(dt, lb, 12));
          if (op == BinaryOp::Pow && isFloat(dt)) fillPattern(*a, 11, true);  // real results only
          if (op == BinaryOp::Pow && !isFloat(dt))                            // small exponents, no overflow
            forEachIndex(b->v, [&](const std::vector<int64_t>& i) { b->set(i, std::fmod(std::fabs(b->get(i)), 4)); });
          Tensor out(boolResult(op) ? DType::Bool : dt, {4, 6});
          if (op == BinaryOp::Atan2 && !isFloat(dt)) {
            CHECK(throwsKernelError([&] { binary(op, a->v, b->v, out.v); }, "atan2"));
            continue;
          }
          if (isBitwise(op) && isFloat(dt)) {
            CHECK(throwsKernelError([&] { binary(op, a->v, b->v, out.v); }, "needs an integral or bool dtype"));
            continue;
          }
          binary(op, a->v, b->v, out.v);
          expectMap(
              out,
              [&](const std::vector<int64_t>& i) {
                return wrapTo(binaryRef(op, a->get(i), b->get(i), dt), out.v.dtype);
              },
              op == BinaryOp::Pow ? 1e-5 : tolFor(dt), 0, "binary");
        }

  // Python-style remainder and floor division, ints and floats.
  {
    const double as[] = {-7, 7, -7, 7, 6, -6}, bs[] = {3, -3, -3, 3, 3, 0};
    for (DType dt : {DType::Int32, DType::Int64, DType::Float32, DType::Float64}) {
      Tensor a(dt, {6}), b(dt, {6}), r(dt, {6}), q(dt, {6});
      for (int i = 0; i < 6; ++i) {
        a.set({i}, as[i]);
        b.set({i}, bs[i]);
      }
      binary(BinaryOp::Remainder, a.v, b.v, r.v);
      binary(BinaryOp::FloorDivide, a.v, b.v, q.v);
      CHECK(r.get({0}) == 2 && r.get({1}) == -2 && r.get({2}) == -1 && r.get({3}) == 1 && r.get({4}) == 0);
      CHECK(q.get({0}) == -3 && q.get({1}) == -3 && q.get({2}) == 2 && q.get({3}) == 2 && q.get({4}) == 2);
      if (isFloat(dt)) CHECK(std::isnan(r.get({5})) && q.get({5}) == -INFINITY);
      else CHECK(r.get({5}) == 0 && q.get({5}) == 0);  // x / 0 on ints: no trap
    }
    // 0.3 // 0.1 is 2 in Python, though 0.3 / 0.1 is 2.9999999999999996.
    Tensor a(DType::Float64, {1}), q(DType::Float64, {1});
    a.set({0}, 0.3);
    binaryScalar(BinaryOp::FloorDivide, a.v, 0.1, false, q.v);
    CHECK(q.get({0}) == 2);
  }
  // C-style fmod takes the dividend's sign; bitwise ops keep bools 0/1.
  {
    const double as[] = {-7, 7, -7, 7, 6, -6}, bs[] = {3, -3, -3, 3, 3, -1};
    for (DType dt : {DType::Int32, DType::Int64, DType::Float32, DType::Float64}) {
      Tensor a(dt, {6}), b(dt, {6}), r(dt, {6});
      for (int i = 0; i < 6; ++i) {
        a.set({i}, as[i]);
        b.set({i}, bs[i]);
      }
      binary(BinaryOp::Fmod, a.v, b.v, r.v);
      CHECK(r.get({0}) == -1 && r.get({1}) == 1 && r.get({2}) == -1 && r.get({3}) == 1 && r.get({4}) == 0);
      CHECK(r.get({5}) == 0);
    }
    Tensor x(DType::Bool, {4}), y(DType::Bool, {4}), o(DType::Bool, {4});
    for (int i = 0; i < 4; ++i) {
      x.set({i}, i & 1);
      y.set({i}, (i >> 1) & 1);
    }
    binary(BinaryOp::BitwiseXor, x.v, y.v, o.v);
    CHECK(o.get({0}) == 0 && o.get({1}) == 1 && o.get({2}) == 1 && o.get({3}) == 0);
    binary(BinaryOp::BitwiseOr, x.v, y.v, o.v);
    CHECK(o.get({0}) == 0 && o.get({1}) == 1 && o.get({2}) == 1 && o.get({3}) == 1);
    Tensor i64(DType::Int64, {2}), r64(DType::Int64, {2});
    i64.set({0}, -12);
    i64.set({1}, 10);
    binaryScalar(BinaryOp::BitwiseAnd, i64.v, 6, false, r64.v);
    CHECK(r64.get({0}) == 4 && r64.get({1}) == 2);
  }
  // erfinv inverts erf across the range, the tails included.
  {
    const double ys[] = {-0.999999999, -0.9, -0.5, -1e-300, 0.0, 1e-8, 0.3, 0.75, 0.999, 1 - 1e-15};
    Tensor y(DType::Float64, {10}), x(DType::Float64, {10});
    for (int i = 0; i < 10; ++i) y.set({i}, ys[i]);
    unary(UnaryOp::Erfinv, y.v, x.v);
    for (int i = 0; i < 10; ++i) {
      const double back = ys[i] > 0.5 ? 1 - std::erfc(x.get({i})) : std::erf(x.get({i}));
      CHECK(close(back, ys[i], 1e-15, 1e-300));
    }
    Tensor e(DType::Float32, {4}), eo(DType::Float32, {4});
    e.set({0}, 1);
    e.set({1}, -1);
    e.set({2}, 2);
    e.set({3}, kNaN);
    unary(UnaryOp::Erfinv, e.v, eo.v);
    CHECK(eo.get({0}) == INFINITY && eo.get({1}) == -INFINITY && std::isnan(eo.get({2})) && std::isnan(eo.get({3})));
  }
  // Integer edge cases: /0, INT_MIN / -1, wrapping, integer pow.
  {
    Tensor a(DType::Int32, {4}), b(DType::Int32, {4}), out(DType::Int32, {4});
    const double av[] = {5, double(std::numeric_limits<int32_t>::min()), 2, -2};
    const double bv[] = {0, -1, 10, 3};
    for (int i = 0; i < 4; ++i) {
      a.set({i}, av[i]);
      b.set({i}, bv[i]);
    }
    binary(BinaryOp::Div, a.v, b.v, out.v);
    CHECK(out.get({0}) == 0 && out.get({1}) == std::numeric_limits<int32_t>::min());
    binary(BinaryOp::FloorDivide, a.v, b.v, out.v);
    CHECK(out.get({1}) == std::numeric_limits<int32_t>::min());
    binary(BinaryOp::Remainder, a.v, b.v, out.v);
    CHECK(out.get({1}) == 0);
    binary(BinaryOp::Pow, a.v, b.v, out.v);
    CHECK(out.get({0}) == 1 && out.get({2}) == 1024 && out.get({3}) == -8);
    binary(BinaryOp::Add, a.v, b.v, out.v);  // INT_MIN + -1 wraps
    CHECK(out.get({1}) == std::numeric_limits<int32_t>::max());
    Tensor e(DType::Int64, {3}), base(DType::Int64, {3}), p(DType::Int64, {3});
    base.set({0}, 2);
    base.set({1}, 1);
    base.set({2}, -1);
    for (int i = 0; i < 3; ++i) e.set({i}, -3);
    binary(BinaryOp::Pow, base.v, e.v, p.v);
    CHECK(p.get({0}) == 0 && p.get({1}) == 1 && p.get({2}) == -1);
  }
  // NaN: maximum/minimum propagate it from either side, comparisons are false.
  {
    Tensor a(DType::Float32, {3}), b(DType::Float32, {3}), out(DType::Float32, {3}), cmp(DType::Bool, {3});
    a.set({0}, kNaN);
    b.set({0}, 1);
    a.set({1}, 1);
    b.set({1}, kNaN);
    a.set({2}, 1);
    b.set({2}, 2);
    binary(BinaryOp::Maximum, a.v, b.v, out.v);
    CHECK(std::isnan(out.get({0})) && std::isnan(out.get({1})) && out.get({2}) == 2);
    binary(BinaryOp::Minimum, a.v, b.v, out.v);
    CHECK(std::isnan(out.get({0})) && std::isnan(out.get({1})) && out.get({2}) == 1);
    binary(BinaryOp::Ne, a.v, b.v, cmp.v);
    CHECK(cmp.get({0}) == 1 && cmp.get({1}) == 1 && cmp.get({2}) == 1);
    binary(BinaryOp::LogicalAnd, a.v, b.v, cmp.v);
    CHECK(cmp.get({0}) == 1);  // NaN is truthy
  }
  // Bool arithmetic stays 0/1.
  {
    Tensor a(DType::Bool, {2}), b(DType::Bool, {2}), out(DType::Bool, {2});
    a.set({0}, 1);
    b.set({0}, 1);
    binary(BinaryOp::Add, a.v, b.v, out.v);
    CHECK(static_cast<uint8_t*>(out.v.data)[0] == 1 && static_cast<uint8_t*>(out.v.data)[1] == 0);
  }
  // In place (out is a) and out partially overlapping an input.
  {
    Tensor a(DType::Float64, {50}), b(DType::Float64, {50});
    for (int i = 0; i < 50; ++i) {
      a.set({i}, i);
      b.set({i}, 100);
    }
    binary(BinaryOp::Add, a.v, b.v, a.v);
    for (int i = 0; i < 50; ++i) CHECK(a.get({i}) == i + 100);
    Tensor buf(DType::Int64, {11});
    for (int i = 0; i < 11; ++i) buf.set({i}, i);
    TensorView x = buf.v, y = buf.v;
    x.shape[0] = y.shape[0] = 10;
    y.data = static_cast<int64_t*>(buf.v.data) + 1;
    binary(BinaryOp::Mul, x, x, y);  // buf[1:] = buf[:-1] * buf[:-1]
    for (int i = 1; i < 11; ++i) CHECK(buf.get({i}) == double(i - 1) * (i - 1));
    // x.sub_(x[0]): the broadcast input is an element of the output.
    Tensor row(DType::Float32, {3, 4});
    for (int i = 0; i < 12; ++i) static_cast<float*>(row.v.data)[i] = static_cast<float>(i + 1);
    TensorView first = row.v;
    first.strides[0] = 0;  // row 0 expanded over all rows
    binary(BinaryOp::Sub, row.v, first, row.v);
    for (int i = 0; i < 12; ++i) CHECK(static_cast<float*>(row.v.data)[i] == static_cast<float>(i / 4 * 4));
  }
  // Mismatched dtypes are refused.
  {
    Tensor a(DType::Float32, {2}), b(DType::Float64, {2}), out(DType::Float32, {2});
    CHECK(throwsKernelError([&] { binary(BinaryOp::Add, a.v, b.v, out.v); }));
  }
}

void testBinaryScalar() {
  for (BinaryOp op : kBinaryOps)
    for (DType dt : {DType::Float32, DType::Float64, DType::Int32, DType::Int64})
      for (Layout la : {Layout::Contig, Layout::Negative, Layout::Transposed})
        for (bool first : {false, true}) {
          if (op == BinaryOp::Atan2 && !isFloat(dt)) continue;
          if (isBitwise(op) && isFloat(dt)) continue;  // refused, checked in testBinary
          const double s = op == BinaryOp::Pow ? (first ? (isFloat(dt) ? 1.5 : 2) : 3) : -3;
          std::unique_ptr<Tensor> a(makeInput(dt, la, 21, op == BinaryOp::Pow));
          Tensor out(boolResult(op) ? DType::Bool : dt, {4, 6});
          binaryScalar(op, a->v, s, first, out.v);
          expectMap(
              out,
              [&](const std::vector<int64_t>& i) {
                const double x = a->get(i);
                return wrapTo(first ? binaryRef(op, s, x, dt) : binaryRef(op, x, s, dt), out.v.dtype);
              },
              op == BinaryOp::Pow ? 1e-5 : tolFor(dt), 0, "binaryScalar");
        }
  // The special-cased exponents agree with pow.
  for (double e : {2.0, 3.0, 0.5, -0.5, -1.0, -2.0, 1.7}) {
    Tensor a(DType::Float64, {5}), out(DType::Float64, {5});
    for (int i = 0; i < 5; ++i) a.set({i}, 0.25 + i);
    binaryScalar(BinaryOp::Pow, a.v, e, false, out.v);
    for (int i = 0; i < 5; ++i) CHECK(close(out.get({i}), std::pow(0.25 + i, e), 1e-15, 0));
  }
}

// ---- where, clamp ---------------------------------------------------------------------------

void testWhere() {
  for (DType dt : kAllDtypes)
    for (Layout lc : kLayouts)
      for (Layout la : {Layout::Contig, Layout::Negative, Layout::Scalar})
        for (Layout lb : {Layout::Contig, Layout::Transposed, Layout::Scalar}) {
          std::unique_ptr<Tensor> c(makeInput(DType::Bool, lc, 31)), a(makeInput(dt, la, 32)), b(makeInput(dt, lb, 33));
          Tensor out(dt, {4, 6});
          where(c->v, a->v, b->v, out.v);
          expectMap(
              out, [&](const std::vector<int64_t>& i) { return c->get(i) ? a->get(i) : b->get(i); }, 0, 0, "where");
        }
  Tensor c(DType::Float32, {2}), a(DType::Float32, {2}), out(DType::Float32, {2});
  CHECK(throwsKernelError([&] { where(c.v, a.v, a.v, out.v); }, "bool"));
}

void testClamp() {
  for (DType dt : {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::UInt8})
    for (Layout la : kLayouts) {
      std::unique_ptr<Tensor> x(makeInput(dt, la, 41));
      const double bounds[][2] = {{-3, 5}, {kNaN, 5}, {-3, kNaN}, {kNaN, kNaN}, {5, -3}, {-1e300, 1e300}};
      for (const auto& bd : bounds) {
        if (dt == DType::UInt8 && bd[1] < 0) continue;  // max below uint8's range: not meaningful
        Tensor out(dt, {4, 6});
        clamp(x->v, bd[0], bd[1], out.v);
        expectMap(
            out,
            [&](const std::vector<int64_t>& i) {
              double v = x->get(i);
              if (!std::isnan(bd[0]) && v < bd[0]) v = bd[0];
              if (!std::isnan(bd[1]) && v > bd[1]) v = bd[1];
              return v;
            },
            0, 0, "clamp");
      }
    }
  Tensor x(DType::Float32, {2}), out(DType::Float32, {2});
  x.set({0}, kNaN);
  x.set({1}, 10);
  clamp(x.v, 0, 1, out.v);
  CHECK(std::isnan(out.get({0})) && out.get({1}) == 1);
  // uint8 with a negative lower bound: no bound, not a wrapped 253.
  Tensor u(DType::UInt8, {1}), uo(DType::UInt8, {1});
  u.set({0}, 7);
  clamp(u.v, -3, 100, uo.v);
  CHECK(uo.get({0}) == 7);
}

// ---- threads ------------------------------------------------------------------------------

void testParallelFor() {
  setNumThreads(4);
  CHECK(getNumThreads() == 4);
  CHECK(throwsKernelError([] { setNumThreads(0); }));
  // Chunks cover the range exactly once.
  std::vector<std::atomic<int>> hits(100000);
  parallelFor(0, 100000, 1000, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) hits[i]++;
  });
  for (auto& h : hits) CHECK(h == 1);
  // Nested calls run inline instead of deadlocking.
  std::atomic<int64_t> total{0};
  parallelFor(0, 64, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) parallelFor(0, 1000, 10, [&](int64_t b2, int64_t e2) { total += e2 - b2; });
  });
  CHECK(total == 64000);
  // The first exception reaches the caller once every chunk has ended.
  std::atomic<int> running{0};
  bool caught = false;
  try {
    parallelFor(0, 1000, 10, [&](int64_t b, int64_t e) {
      running++;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      running--;
      if (b <= 500 && 500 < e) throw KernelError("boom");
    });
  } catch (const KernelError& e) {
    caught = std::string(e.what()) == "boom";
  }
  CHECK(caught && running == 0);
  // The pool still works after a failure, and from several threads at once.
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int rep = 0; rep < 50; ++rep) {
        std::atomic<int64_t> sum{0};
        parallelFor(0, 10000, 100, [&](int64_t b, int64_t e) { sum += e - b; });
        if (sum == 10000) ok++;
      }
    });
  for (auto& c : callers) c.join();
  CHECK(ok == 200);
}

// Large tensors: the threaded result equals the single-threaded one bit for bit.
void testThreadedMatchesSerial() {
  const int64_t R = 517, C = 1031;  // odd sizes so chunks end mid-row
  Tensor x(DType::Float32, {R, C}, {1, R}), bias(DType::Float32, {R, C}, {0, 1});
  fillPattern(x, 51);
  fillPattern(bias, 52);
  Tensor xt(DType::Float32, {C, R});  // x's storage read as the transpose
  xt.storage = x.storage;
  xt.v.data = xt.storage.data();
  auto run = [&](int threads, std::vector<float>& a, std::vector<float>& b, std::vector<float>& c,
                 std::vector<float>& d, std::vector<uint8_t>& e) {
    setNumThreads(threads);
    Tensor o1(DType::Float32, {R, C}), o2(DType::Float32, {R, C}), o3(DType::Float32, {R, C}),
        o4(DType::Float32, {R, C});
    Tensor o5(DType::Bool, {R, C});
    unary(UnaryOp::Exp, x.v, o1.v);
    binary(BinaryOp::Add, x.v, bias.v, o2.v);
    copy(x.v, o3.v);
    binaryScalar(BinaryOp::Pow, x.v, 1.3, true, o4.v);
    binary(BinaryOp::Gt, x.v, bias.v, o5.v);
    auto grab = [](const Tensor& t, auto& v) {
      using E = typename std::decay_t<decltype(v)>::value_type;
      v.assign(static_cast<const E*>(t.v.data), static_cast<const E*>(t.v.data) + t.v.numel());
    };
    grab(o1, a);
    grab(o2, b);
    grab(o3, c);
    grab(o4, d);
    grab(o5, e);
  };
  std::vector<float> a1, b1, c1, d1, a4, b4, c4, d4;
  std::vector<uint8_t> e1, e4;
  run(1, a1, b1, c1, d1, e1);
  run(4, a4, b4, c4, d4, e4);
  CHECK(a1 == a4 && b1 == b4 && c1 == c4 && d1 == d4 && e1 == e4);
  // And the threaded copy of a transposed view is right.
  for (int64_t i = 0; i < R; i += 37)
    for (int64_t j = 0; j < C; j += 13) CHECK(c4[i * C + j] == static_cast<float>(xt.get({j, i})));
  Tensor big(DType::Int64, {1 << 20});
  fill(big.v, -9);
  for (int64_t i = 0; i < (1 << 20); i += 4099) CHECK(big.get({i}) == -9);
  setNumThreads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

// Layouts big enough for the tiled walk (transposes) and for threads with
// chunks ending mid-row across three unmergeable dims, against the reference.
void testLargeLayouts() {
  setNumThreads(4);
  {
    // a: transposed storage, b: reversed rows and broadcast along dim 0, cond transposed.
    Tensor a(DType::Float64, {45, 37}, {1, 45}), b(DType::Float64, {45, 37}, {0, -1}, 36, 37);
    Tensor c(DType::Bool, {45, 37}, {1, 45});
    fillPattern(a, 61);
    fillPattern(b, 62);
    fillPattern(c, 63);
    Tensor out(DType::Float64, {45, 37}), w(DType::Float64, {45, 37});
    binary(BinaryOp::Sub, a.v, b.v, out.v);
    expectMap(
        out, [&](const std::vector<int64_t>& i) { return a.get(i) - b.get(i); }, 0, 0, "tiled binary");
    where(c.v, a.v, b.v, w.v);
    expectMap(
        w, [&](const std::vector<int64_t>& i) { return c.get(i) ? a.get(i) : b.get(i); }, 0, 0, "tiled where");
    // Copy into a transposed destination, from a contiguous source.
    Tensor dst(DType::Int32, {45, 37}, {1, 45});
    copy(out.v, dst.v);
    expectMap(
        dst, [&](const std::vector<int64_t>& i) { return convertRef(out.get(i), DType::Int32); }, 0, 0, "tiled copy");
  }
  {
    const int64_t A = 61, B = 67, C = 131;
    Tensor x(DType::Float32, {A, B, C}), y(DType::Float32, {A, B, C}, {C, 0, 1});  // y broadcast along dim 1
    fillPattern(x, 71);
    fillPattern(y, 72);
    Tensor out(DType::Float32, {A, B, C}), sq(DType::Float32, {A, B, C});
    binary(BinaryOp::Mul, x.v, y.v, out.v);
    expectMap(
        out, [&](const std::vector<int64_t>& i) { return float(x.get(i) * y.get(i)); }, 0, 0, "3-d threaded");
    // A permuted (2, 0, 1) view of x, unary through the strided path.
    Tensor p(DType::Float32, {C, A, B}, {1, B * C, C});
    p.storage = x.storage;
    p.v.data = p.storage.data();
    Tensor pout(DType::Float32, {C, A, B});
    unary(UnaryOp::Neg, p.v, pout.v);
    expectMap(
        pout, [&](const std::vector<int64_t>& i) { return -p.get(i); }, 0, 0, "permuted unary");
    (void)sq;
  }
  setNumThreads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

// The vectorisable float32 exp/tanh/sigmoid and the bit-twiddled rounding,
// over a dense sweep of inputs plus the special values, through unary().
double ulpDistance(float got, double want) {
  const float w = static_cast<float>(want);
  if (std::isnan(want)) return std::isnan(got) ? 0 : 1e30;
  if (std::isinf(w)) return got == w ? 0 : 1e30;
  int e;
  std::frexp(std::max(std::fabs(want), 1.1754943508222875e-38), &e);
  return std::fabs(got - want) / std::ldexp(1.0, e - 24);
}

void testFloatMath() {
  std::vector<float> xs;
  for (float x = -120; x < 120; x = std::nextafter(x + 2e-5f * std::fabs(x) + 1e-6f, INFINITY)) xs.push_back(x);
  const float specials[] = {0.0f,   -0.0f,     INFINITY, -INFINITY, NAN,        1e-30f,     -1e-30f,
                            1e-40f, 88.72283f, 88.7229f, -87.3366f, -103.9f,    -104.1f,    0.5f,
                            1.5f,   2.5f,      -0.5f,    -2.5f,     8388607.5f, 8388609.0f, -8388607.5f,
                            3e38f,  -3e38f,    0.625f,   -0.625f,   0.62499994f};
  xs.insert(xs.end(), std::begin(specials), std::end(specials));
  const int64_t n = static_cast<int64_t>(xs.size());
  Tensor x(DType::Float32, {n}), out(DType::Float32, {n});
  std::memcpy(x.v.data, xs.data(), xs.size() * sizeof(float));
  struct Case {
    UnaryOp op;
    double maxUlp;
    double (*ref)(double);
  };
  const Case cases[] = {
      {UnaryOp::Exp, 1.0, [](double v) { return std::exp(v); }},
      {UnaryOp::Tanh, 2.0, [](double v) { return std::tanh(v); }},
      {UnaryOp::Sigmoid, 3.0, [](double v) { return 1 / (1 + std::exp(-v)); }},
      {UnaryOp::Floor, 0, [](double v) -> double { return std::floor(static_cast<float>(v)); }},
      {UnaryOp::Ceil, 0, [](double v) -> double { return std::ceil(static_cast<float>(v)); }},
      {UnaryOp::Round, 0, [](double v) -> double { return std::nearbyint(static_cast<float>(v)); }},
      {UnaryOp::Sqrt, 0, [](double v) { return static_cast<double>(std::sqrt(static_cast<float>(v))); }},
  };
  for (const Case& c : cases) {
    unary(c.op, x.v, out.v);
    const float* got = static_cast<const float*>(out.v.data);
    for (int64_t i = 0; i < n; ++i) {
      const double want = c.ref(xs[i]);
      const double d = ulpDistance(got[i], want);
      // Results below FLT_MIN are judged in absolute terms (denormal ulps).
      if (d > c.maxUlp && !(std::fabs(want) < 1.2e-38 && std::fabs(got[i] - want) < 1e-44)) {
        std::fprintf(stderr, "float math op %d at x=%.9g: got %.9g want %.9g (%.2f ulp)\n", static_cast<int>(c.op),
                     xs[i], got[i], want, d);
        std::abort();
      }
      // Signed zeros come out as libm's.
      if (want == 0 && c.maxUlp == 0) CHECK(std::signbit(got[i]) == std::signbit(static_cast<float>(want)));
    }
  }
  // Rounding in double, around 2^52 and at halves.
  const double ds[] = {0.5,
                       1.5,
                       2.5,
                       -0.5,
                       -1.5,
                       -0.0,
                       4503599627370495.5,
                       4503599627370497.0,
                       -4503599627370495.5,
                       1e300,
                       -1e300,
                       0.49999999999999994,
                       -2.7,
                       2.7};
  Tensor dx(DType::Float64, {14}), dout(DType::Float64, {14});
  for (int i = 0; i < 14; ++i) dx.set({i}, ds[i]);
  for (UnaryOp op : {UnaryOp::Floor, UnaryOp::Ceil, UnaryOp::Round}) {
    unary(op, dx.v, dout.v);
    for (int i = 0; i < 14; ++i) {
      const double want = op == UnaryOp::Floor  ? std::floor(ds[i])
                          : op == UnaryOp::Ceil ? std::ceil(ds[i])
                                                : std::nearbyint(ds[i]);
      CHECK(dout.get({i}) == want && std::signbit(dout.get({i})) == std::signbit(want));
    }
  }
}

}  // namespace

int main() {
  testCopy();
  testFill();
  testUnary();
  testBinary();
  testBinaryScalar();
  testWhere();
  testClamp();
  testParallelFor();
  testThreadedMatchesSerial();
  testLargeLayouts();
  testFloatMath();
  std::printf("ok\n");
  return 0;
}
