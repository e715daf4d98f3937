// The op codes CPU and CUDA kernels share. Op lists are X-macros so the
// C++ enum, the names the binding exports to JS (lib/backend reads codes by
// name) and the kernels' switches agree. No Node headers, no kernels.
#pragma once
#include <cstdint>

namespace kd {

// ---- elementwise ----------------------------------------------------------------
// Float-only ops (exp, log, ...) get float inputs: the TS layer promotes ints.
// The op lists stay laid out by hand.
// clang-format off
#define KD_UNARY_OPS(X) \
  X(Neg) X(Exp) X(Log) X(Sqrt) X(Rsqrt) X(Abs) X(Sin) X(Cos) X(Tan) X(Relu) \
  X(Sigmoid) X(Tanh) X(Reciprocal) X(Sign) X(Floor) X(Ceil) X(Round)      \
  X(Log1p) X(Expm1) X(Erf) X(Gelu) X(GeluGrad) X(LogicalNot) X(IsNan) X(Square) X(Log2) \
  X(Trunc) X(Log10) X(Erfc) X(Erfinv)

// Comparisons and logical ops write Bool; the rest write the inputs' dtype.
// Bitwise ops take integer and bool dtypes only.
// ReluBackward(y, g) = y > 0 ? g : 0, relu's gradient in one pass.
#define KD_BINARY_OPS(X) \
  X(Add) X(Sub) X(Mul) X(Div) X(Pow) X(Maximum) X(Minimum) X(Atan2)     \
  X(Remainder) X(FloorDivide) X(Eq) X(Ne) X(Gt) X(Ge) X(Lt) X(Le)       \
  X(LogicalAnd) X(LogicalOr) X(LogicalXor) X(ReluBackward)             \
  X(Fmod) X(BitwiseAnd) X(BitwiseOr) X(BitwiseXor)
// clang-format on

#define KD_ENUM_ENTRY(name) name,
enum class UnaryOp : int32_t { KD_UNARY_OPS(KD_ENUM_ENTRY) };
enum class BinaryOp : int32_t { KD_BINARY_OPS(KD_ENUM_ENTRY) };

// ---- reductions -----------------------------------------------------------------
#define KD_REDUCE_OPS(X) X(Sum) X(Mean) X(Prod) X(Amax) X(Amin) X(Var) X(LogSumExp) X(Any) X(All) X(Norm2)
enum class ReduceOp : int32_t { KD_REDUCE_OPS(KD_ENUM_ENTRY) };

// ---- scatter_reduce -------------------------------------------------------------
// The binding takes the code as a number; lib/ops/indexing.ts holds the same table.
enum class ScatterReduceOp : int32_t { Sum = 0, Prod = 1, Amax = 2, Amin = 3 };

}  // namespace kd
