// Float math the compiler can vectorise, and a way to run a loop compiled
// for the widest SIMD the CPU has. Shared by the elementwise kernels and
// softmax. No Node headers.
//
// Note [Vectorisable float math]: libm's expf and tanhf are opaque calls,
// so loops over them run one element at a time (PyTorch uses SIMD
// versions). These are straight-line code: every SIMD lane runs every path
// and the result is picked with a bit mask. A plain ?: on floats would not
// do, since GCC moves each side under a branch and then cannot vectorise
// trapping float math. Max errors, checked against double over every
// float32 input: exp 0.98 ulp, tanh 1.33, sigmoid 2.83. The polynomial
// coefficients are weighted least-squares fits made for this project
// (relative error 3e-9 for exp, 4e-9 for tanh, well under float's 6e-8).
//
// Note [Wide SIMD loops]: the addon is built for baseline x86-64 (SSE2, 4
// floats a vector) so that one binary runs everywhere. Loops that are
// compute-bound (exp, tanh, softmax) are worth 2-4x more on AVX2 or
// AVX-512, so withWideSimd compiles a loop body three times, each copy with
// its ISA's target attribute (flatten pulls the body and everything it calls
// into that copy), and picks one at run time from simdLevel(), which honours
// KINDLING_SIMD. FMA contraction is turned off in the wide copies, so every
// ISA rounds the same way and results do not depend on the machine. On
// arm64 the baseline is NEON (4 floats a vector; the wider SVE of some
// Neoverse cores is not used), so there is one copy, and the build turns
// contraction off for the whole addon (binding.gyp, CMakeLists.txt), since
// AArch64 has FMA in its baseline.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels.h"

#if defined(__GNUC__)
#define KD_FLATTEN __attribute__((flatten))
#else
#define KD_FLATTEN
#endif

#if (defined(__x86_64__) || defined(__amd64__)) && defined(__GNUC__) && !defined(__clang__)
#define KD_WIDE_SIMD 1
#define KD_WIDE_AVX512 __attribute__((target("avx512f,prefer-vector-width=512"), optimize("fp-contract=off"), flatten))
#define KD_WIDE_AVX2 __attribute__((target("avx2"), optimize("fp-contract=off"), flatten))
#else
#define KD_WIDE_SIMD 0
#endif

namespace kd {
namespace vec {

// ---- run-time choice of ISA (Note [Wide SIMD loops]) --------------------------

enum class Isa : int { Base = 0, Avx2 = 1, Avx512 = 2 };

inline Isa activeIsa() {
  static const Isa isa = [] {
    const char* s = simdLevel();
    if (std::strcmp(s, "avx512") == 0) return Isa::Avx512;
    if (std::strcmp(s, "avx2") == 0) return Isa::Avx2;
    return Isa::Base;
  }();
  return isa;
}

#if KD_WIDE_SIMD
template <typename F>
KD_WIDE_AVX512 void runAvx512(const F& body) {
  body();
}
template <typename F>
KD_WIDE_AVX2 void runAvx2(const F& body) {
  body();
}
#endif
template <typename F>
KD_FLATTEN void runBase(const F& body) {
  body();
}

// Calls body() from a copy compiled for the widest ISA available. The body
// should be a leaf loop: everything it calls is inlined into each copy.
template <typename F>
inline void withWideSimd(const F& body) {
#if KD_WIDE_SIMD
  switch (activeIsa()) {
    case Isa::Avx512: return runAvx512(body);
    case Isa::Avx2: return runAvx2(body);
    case Isa::Base: break;
  }
#endif
  runBase(body);
}

// ---- bit helpers -----------------------------------------------------------------

template <typename T>
using UIntOf = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;

template <typename T>
inline UIntOf<T> bitsOf(T x) {
  UIntOf<T> u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
template <typename T>
inline T fromBits(UIntOf<T> u) {
  T x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}
template <typename T>
constexpr UIntOf<T> kSignBit = UIntOf<T>(1) << (sizeof(T) * 8 - 1);

// c ? a : b without a branch.
template <typename T>
inline T select(bool c, T a, T b) {
  const UIntOf<T> m = UIntOf<T>(0) - UIntOf<T>(c);
  return fromBits<T>((bitsOf(a) & m) | (bitsOf(b) & ~m));
}
template <typename T>
inline T absBits(T x) {
  return fromBits<T>(bitsOf(x) & ~kSignBit<T>);
}
template <typename T>
inline T withSignOf(T magnitude, T x) {
  return fromBits<T>(bitsOf(magnitude) | (bitsOf(x) & kSignBit<T>));
}

// ---- exp, tanh (Note [Vectorisable float math]) ---------------------------------

inline float fastExp(float x) {
  // |x| > 104 (inf too) becomes 104: e^104 overflows to inf, e^-104 rounds
  // to 0. Clamping the bits keeps NaN, and gives the compiler no constant
  // to fold the formula against (folding would again cost vectorisation).
  const uint32_t b = bitsOf(x), mag = b & 0x7fffffffu, lim = 0x42d00000u;  // 104.0f
  const float xc = fromBits<float>(((mag > lim && mag <= 0x7f800000u) ? lim : mag) | (b & 0x80000000u));
  // x = n*ln2 + r, |r| <= ln2/2; n by the round-to-nearest of adding 1.5*2^23.
  const float shifter = 12582912.0f;
  const float t = xc * 1.44269504088896341f + shifter;
  const float n = t - shifter;
  const int32_t ni = static_cast<int32_t>(bitsOf(t) - bitsOf(shifter));
  const float r = (xc - n * 0.693359375f) + n * 2.12194440e-4f;  // ln2 split in two for exactness
  float p = 1.3814159936e-03f;
  p = p * r + 8.3689167922e-03f;
  p = p * r + 4.1668407839e-02f;
  p = p * r + 1.6666518972e-01f;
  p = p * r + 4.9999993335e-01f;
  p = p * (r * r) + r + 1.0f;
  // 2^n in two halves, so results below FLT_MIN come out as denormals.
  const int32_t n1 = ni / 2, n2 = ni - n1;
  return p * fromBits<float>(static_cast<uint32_t>(n1 + 127) << 23) *
         fromBits<float>(static_cast<uint32_t>(n2 + 127) << 23);
}

inline float fastTanh(float x) {
  // Near 0 an odd polynomial; elsewhere 1 - 2/(e^2|x| + 1), which is
  // accurate once tanh is away from 0.
  const float ax = absBits(x), z = x * x;
  float q = -5.7050393002e-03f;
  q = q * z + 2.0639139838e-02f;
  q = q * z - 5.3739733607e-02f;
  q = q * z + 1.3331442462e-01f;
  q = q * z - 3.3333281954e-01f;
  const float small = x + x * z * q;
  const float big = 1.0f - 2.0f / (fastExp(ax + ax) + 1.0f);
  return select(ax < 0.625f, small, withSignOf(big, x));
}

// e^x/(1 + e^x) for x < 0, so tiny results keep their precision.
template <typename T>
inline T sigmoid(T x) {
  if constexpr (std::is_same_v<T, float>) {
    const float e = fastExp(-absBits(x)), s = 1.0f / (1.0f + e);
    return select(x < 0.0f, e * s, s);
  } else {
    const T e = std::exp(-std::abs(x)), s = T(1) / (T(1) + e);
    return x < 0 ? e * s : s;
  }
}

// tanh: fastTanh for float, libm for double (which nothing vectorises).
template <typename T>
inline T tanhOf(T x) {
  if constexpr (std::is_same_v<T, float>) return fastTanh(x);
  else return std::tanh(x);
}

}  // namespace vec
}  // namespace kd
