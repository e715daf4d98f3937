// Exports of the nn kernels (native/cpu/nn.cc): convolution, pooling, batch
// norm and the fused nll / cross-entropy loss. The TS layer (lib/ops/nn.ts)
// checks user arguments and gives the user-facing errors; these wrappers
// re-check everything a kernel relies on for memory safety (dtypes,
// contiguity, consistent shapes), so a bad direct call throws instead of
// reading or writing out of bounds.
#include <string>

#include "../cpu/nn_kernels.h"
#include "binding.h"

namespace kdb {

namespace {

using Info = const Napi::CallbackInfo&;

std::string shapeStr(const TensorView& v) {
  std::string s = "[";
  for (int d = 0; d < v.ndim; ++d) s += (d ? ", " : "") + std::to_string(v.shape[d]);
  return s + "]";
}

// A tensor argument that may be null/undefined (an optional bias, or a
// gradient that is not wanted).
struct OptView {
  bool present = false;
  TensorView view;
  const TensorView* ptr() const { return present ? &view : nullptr; }
};

OptView readOptView(Info info, size_t i, const char* op) {
  OptView o;
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return o;
  o.view = readView(info, i, op);
  o.present = true;
  return o;
}

void fail(Napi::Env env, const char* op, const std::string& msg) {
  throw Napi::RangeError::New(env, std::string(op) + ": " + msg);
}

void checkFloat(Napi::Env env, const char* op, const TensorView& v, const char* what) {
  if (v.dtype != DType::Float32 && v.dtype != DType::Float64)
    throw Napi::TypeError::New(
        env, std::string(op) + ": " + what + " must be float32 or float64, got " + kd::dtypeName(v.dtype));
}

// Same dtype as `ref`, contiguous, and exactly `shape`.
void checkTensor(Napi::Env env, const char* op, const TensorView& v, const char* what, DType dtype,
                 std::initializer_list<int64_t> shape) {
  if (v.dtype != dtype)
    throw Napi::TypeError::New(env, std::string(op) + ": " + what + " has dtype " + kd::dtypeName(v.dtype) +
                                        ", expected " + kd::dtypeName(dtype));
  bool ok = v.ndim == static_cast<int>(shape.size());
  int d = 0;
  for (int64_t s : shape) {
    if (!ok) break;
    ok = v.shape[d++] == s;
  }
  if (!ok) fail(env, op, std::string(what) + " has an unexpected shape " + shapeStr(v));
  if (!v.isContiguous()) fail(env, op, std::string(what) + " must be contiguous");
}

void checkRank(Napi::Env env, const char* op, const TensorView& v, int ndim, const char* what) {
  if (v.ndim != ndim) fail(env, op, std::string(what) + " must be " + std::to_string(ndim) + "-D, got " + shapeStr(v));
  if (!v.isContiguous()) fail(env, op, std::string(what) + " must be contiguous");
}

std::vector<int64_t> readInts(Info info, size_t i, const char* op, size_t count) {
  if (i >= info.Length() || !info[i].IsArray())
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": params must be an array");
  Napi::Array a = info[i].As<Napi::Array>();
  if (a.Length() != count)
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": expected " + std::to_string(count) + " params");
  std::vector<int64_t> out(count);
  for (uint32_t k = 0; k < count; ++k) {
    Napi::Value v = a.Get(k);
    if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(op) + ": params must be numbers");
    out[k] = v.As<Napi::Number>().Int64Value();
  }
  return out;
}

// [strideH, strideW, padH, padW, dilationH, dilationW, groups]
kd::Conv2dParams readConvParams(Info info, size_t i, const char* op) {
  std::vector<int64_t> v = readInts(info, i, op, 7);
  kd::Conv2dParams p;
  p.strideH = v[0];
  p.strideW = v[1];
  p.padH = v[2];
  p.padW = v[3];
  p.dilationH = v[4];
  p.dilationW = v[5];
  p.groups = v[6];
  if (p.strideH < 1 || p.strideW < 1 || p.dilationH < 1 || p.dilationW < 1 || p.groups < 1 || p.padH < 0 || p.padW < 0)
    fail(info.Env(), op, "stride, dilation and groups must be positive and padding non-negative");
  return p;
}

// Checks x [N, C, H, W], w [OC, C/groups, KH, KW] and y [N, OC, OH, OW].
void checkConv(Napi::Env env, const char* op, const TensorView& x, const TensorView& w, const TensorView& y,
               const kd::Conv2dParams& p) {
  checkFloat(env, op, x, "input");
  checkRank(env, op, x, 4, "input");
  checkRank(env, op, w, 4, "weight");
  checkTensor(env, op, w, "weight", x.dtype, {w.shape[0], w.shape[1], w.shape[2], w.shape[3]});
  if (w.shape[1] * p.groups != x.shape[1] || w.shape[0] % p.groups != 0 || w.shape[2] < 1 || w.shape[3] < 1)
    fail(env, op,
         "weight " + shapeStr(w) + " does not fit input " + shapeStr(x) + " with groups=" + std::to_string(p.groups));
  checkRank(env, op, y, 4, "output");
  checkTensor(env, op, y, "output", x.dtype, {x.shape[0], w.shape[0], y.shape[2], y.shape[3]});
}

Napi::Value Conv2d(Info info) {
  const char* op = "conv2d";
  KD_GUARD_OP(info.Env(), op, {
    TensorView x = readView(info, 0, op), w = readView(info, 1, op);
    OptView b = readOptView(info, 2, op);
    kd::Conv2dParams p = readConvParams(info, 3, op);
    TensorView out = readView(info, 4, op);
    // Optional: the relu of the result, fused (nn.Sequential's Conv2d then
    // ReLU under noGrad); then [OH, OW], the convolution's own output size,
    // when out is its 2x2 max pool (Note [Conv-ReLU-pool fusion]); then the
    // pooled maxima's window codes, uint8 of out's shape (grad mode's
    // fusion, Note [Conv-ReLU-pool backward]).
    const bool relu = info.Length() > 5 && info[5].ToBoolean().Value();
    const bool pooled = info.Length() > 6 && !info[6].IsNull() && !info[6].IsUndefined();
    kd::ConvPool pool{};
    if (pooled) {
      const std::vector<int64_t> hw = readInts(info, 6, op, 2);
      if (hw[0] < 2 || hw[1] < 2) fail(info.Env(), op, "pool must be the [OH, OW] of the convolution, each at least 2");
      pool.OH = hw[0];
      pool.OW = hw[1];
    }
    OptView codes = readOptView(info, 7, op);
    checkConv(info.Env(), op, x, w, out, p);
    if (pooled && (out.shape[2] != pool.OH / 2 || out.shape[3] != pool.OW / 2))
      fail(info.Env(), op,
           "output " + shapeStr(out) + " is not the 2x2 pool of a " + std::to_string(pool.OH) + "x" +
               std::to_string(pool.OW) + " convolution");
    if (codes.present) {
      if (!pooled || !relu) fail(info.Env(), op, "window codes come only with the fused relu and pool");
      checkTensor(info.Env(), op, codes.view, "codes", DType::UInt8,
                  {out.shape[0], out.shape[1], out.shape[2], out.shape[3]});
      pool.codes = codes.view.ptr<uint8_t>();
    }
    if (b.present) checkTensor(info.Env(), op, b.view, "bias", x.dtype, {w.shape[0]});
    if (commonDevice(info.Env(), op, {&x, &w, b.ptr(), &out, codes.ptr()}) < 0) {
      kd::conv2d(x, w, b.ptr(), p, out, relu, pooled ? &pool : nullptr);
    } else {
      if (pooled) fail(info.Env(), op, "the fused pool runs on the CPU only");
      kd::cuda::conv2d(x, w, b.ptr(), p, out);
      if (relu) kd::cuda::unary(kd::UnaryOp::Relu, out, out);
    }
  });
  return info.Env().Undefined();
}

Napi::Value Conv2dBackward(Info info) {
  const char* op = "conv2dBackward";
  KD_GUARD_OP(info.Env(), op, {
    TensorView gy = readView(info, 0, op), x = readView(info, 1, op), w = readView(info, 2, op);
    kd::Conv2dParams p = readConvParams(info, 3, op);
    OptView gx = readOptView(info, 4, op), gw = readOptView(info, 5, op), gb = readOptView(info, 6, op);
    // Optional: [OH, OW] and the codes of the fused forward (Note [Conv-ReLU-
    // pool backward]); gy is then the pooled gradient.
    OptView codes = readOptView(info, 8, op);
    kd::ConvPool pool{};
    if (codes.present) {
      const std::vector<int64_t> hw = readInts(info, 7, op, 2);
      pool.OH = hw[0];
      pool.OW = hw[1];
      if (gy.ndim != 4 || pool.OH < 2 || pool.OW < 2 || gy.shape[2] != pool.OH / 2 || gy.shape[3] != pool.OW / 2)
        fail(info.Env(), op,
             "grad output " + shapeStr(gy) + " is not the 2x2 pool of a " + std::to_string(pool.OH) + "x" +
                 std::to_string(pool.OW) + " convolution");
      checkTensor(info.Env(), op, codes.view, "codes", DType::UInt8,
                  {gy.shape[0], gy.shape[1], gy.shape[2], gy.shape[3]});
      pool.codes = codes.view.ptr<uint8_t>();
    }
    checkConv(info.Env(), op, x, w, gy, p);
    if (gx.present)
      checkTensor(info.Env(), op, gx.view, "grad input", x.dtype, {x.shape[0], x.shape[1], x.shape[2], x.shape[3]});
    if (gw.present)
      checkTensor(info.Env(), op, gw.view, "grad weight", x.dtype, {w.shape[0], w.shape[1], w.shape[2], w.shape[3]});
    if (gb.present) checkTensor(info.Env(), op, gb.view, "grad bias", x.dtype, {w.shape[0]});
    const int dev = commonDevice(info.Env(), op, {&gy, &x, &w, gx.ptr(), gw.ptr(), gb.ptr(), codes.ptr()});
    if (dev < 0) {
      kd::conv2dBackward(gy, x, w, p, gx.ptr(), gw.ptr(), gb.ptr(), codes.present ? &pool : nullptr);
    } else {
      if (codes.present) fail(info.Env(), op, "a pooled gradient runs on the CPU only");
      kd::cuda::conv2dBackward(gy, x, w, p, gx.ptr(), gw.ptr(), gb.ptr());
    }
  });
  return info.Env().Undefined();
}

// [kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW]
kd::Pool2dParams readPoolParams(Info info, size_t i, const char* op) {
  std::vector<int64_t> v = readInts(info, i, op, 8);
  kd::Pool2dParams p;
  p.kernelH = v[0];
  p.kernelW = v[1];
  p.strideH = v[2];
  p.strideW = v[3];
  p.padH = v[4];
  p.padW = v[5];
  p.dilationH = v[6];
  p.dilationW = v[7];
  if (p.kernelH < 1 || p.kernelW < 1 || p.strideH < 1 || p.strideW < 1 || p.dilationH < 1 || p.dilationW < 1 ||
      p.padH < 0 || p.padW < 0)
    fail(info.Env(), op, "kernel size, stride and dilation must be positive and padding non-negative");
  return p;
}

// in [P, H, W], out [P, OH, OW], same float dtype, contiguous.
void checkPlanes(Napi::Env env, const char* op, const TensorView& in, const TensorView& out) {
  checkFloat(env, op, in, "input");
  checkRank(env, op, in, 3, "input");
  checkRank(env, op, out, 3, "output");
  checkTensor(env, op, out, "output", in.dtype, {in.shape[0], out.shape[1], out.shape[2]});
}

// q [B, H, L, E], k [B, H, S, E], v [B, H, S, Ev], mask [B, H, L, S] or
// null, any strides; each dim of q, k, v and the mask is B/H/L/S/E or
// broadcast (stride 0 where 1 would be wrong is the caller's view).
void checkAttention(Napi::Env env, const char* op, const TensorView& q, const TensorView& k, const TensorView& v,
                    const TensorView* mask, const TensorView& out, const TensorView& lse) {
  checkFloat(env, op, q, "query");
  for (const TensorView* t : {&q, &k, &v, &out})
    if (t->ndim != 4) fail(env, op, "query, key, value and output must be 4-D, got " + shapeStr(*t));
  if (k.dtype != q.dtype || v.dtype != q.dtype) fail(env, op, "query, key and value must share a dtype");
  const int64_t B = out.shape[0], H = out.shape[1], L = q.shape[2], E = q.shape[3], S = k.shape[2], Ev = v.shape[3];
  for (const TensorView* t : {&q, &k, &v})
    if (t->shape[0] != B || t->shape[1] != H) fail(env, op, "batch dims differ: " + shapeStr(*t));
  if (k.shape[3] != E || v.shape[2] != S)
    fail(env, op, "key " + shapeStr(k) + " or value " + shapeStr(v) + " does not fit");
  checkTensor(env, op, out, "output", q.dtype, {B, H, L, Ev});
  checkTensor(env, op, lse, "logsumexp", q.dtype, {B, H, L});
  if (mask) {
    if (mask->dtype != DType::Bool && mask->dtype != q.dtype) fail(env, op, "mask must be bool or the query's dtype");
    if (mask->ndim != 4 || mask->shape[0] != B || mask->shape[1] != H || mask->shape[2] != L || mask->shape[3] != S)
      fail(env, op, "mask " + (mask->ndim == 4 ? shapeStr(*mask) : std::string("?")) + " is not [B, H, L, S]");
  }
}

kd::AttentionParams readAttentionParams(Info info, size_t i, const char* op) {
  kd::AttentionParams p;
  p.scale = readNumber(info, i, op, "scale");
  p.causal = info[i + 1].ToBoolean();
  return p;
}

Napi::Value Attention(Info info) {
  const char* op = "attention";
  KD_GUARD_OP(info.Env(), op, {
    TensorView q = readView(info, 0, op), k = readView(info, 1, op), v = readView(info, 2, op);
    OptView m = readOptView(info, 3, op);
    kd::AttentionParams p = readAttentionParams(info, 4, op);
    TensorView out = readView(info, 6, op), lse = readView(info, 7, op);
    checkAttention(info.Env(), op, q, k, v, m.ptr(), out, lse);
    KD_RUN_ON(commonDevice(info.Env(), op, {&q, &k, &v, m.ptr(), &out, &lse}),
              attention(q, k, v, m.ptr(), p, out, lse));
  });
  return info.Env().Undefined();
}

Napi::Value AttentionBackward(Info info) {
  const char* op = "attentionBackward";
  KD_GUARD_OP(info.Env(), op, {
    TensorView gy = readView(info, 0, op), q = readView(info, 1, op), k = readView(info, 2, op),
               v = readView(info, 3, op);
    OptView m = readOptView(info, 4, op);
    kd::AttentionParams p = readAttentionParams(info, 5, op);
    TensorView out = readView(info, 7, op), lse = readView(info, 8, op);
    OptView gq = readOptView(info, 9, op), gk = readOptView(info, 10, op), gv = readOptView(info, 11, op);
    checkAttention(info.Env(), op, q, k, v, m.ptr(), out, lse);
    const int64_t B = out.shape[0], H = out.shape[1], L = q.shape[2], E = q.shape[3], S = k.shape[2], Ev = v.shape[3];
    if (gy.ndim != 4 || gy.shape[0] != B || gy.shape[1] != H || gy.shape[2] != L || gy.shape[3] != Ev ||
        gy.dtype != q.dtype)
      fail(info.Env(), op, "grad output does not match the output");
    if (gq.present) checkTensor(info.Env(), op, gq.view, "grad query", q.dtype, {B, H, L, E});
    if (gk.present) checkTensor(info.Env(), op, gk.view, "grad key", q.dtype, {B, H, S, E});
    if (gv.present) checkTensor(info.Env(), op, gv.view, "grad value", q.dtype, {B, H, S, Ev});
    KD_RUN_ON(commonDevice(info.Env(), op, {&gy, &q, &k, &v, m.ptr(), &out, &lse, gq.ptr(), gk.ptr(), gv.ptr()}),
              attentionBackward(gy, q, k, v, m.ptr(), p, out, lse, gq.ptr(), gk.ptr(), gv.ptr()));
  });
  return info.Env().Undefined();
}

Napi::Value MaxPool2d(Info info) {
  const char* op = "maxPool2d";
  KD_GUARD(info.Env(), {
    TensorView x = readView(info, 0, op);
    kd::Pool2dParams p = readPoolParams(info, 1, op);
    TensorView out = readView(info, 2, op);
    // Indices may be left out (null) on the CPU: a forward that records no
    // graph never reads them.
    OptView idx = readOptView(info, 3, op);
    checkPlanes(info.Env(), op, x, out);
    if (idx.present)
      checkTensor(info.Env(), op, idx.view, "indices", DType::Int64, {out.shape[0], out.shape[1], out.shape[2]});
    // Every window must hold at least one element of the image; otherwise
    // its first in-bounds position would lie outside the plane.
    if (out.shape[1] > 0 && out.shape[2] > 0 &&
        ((out.shape[1] - 1) * p.strideH - p.padH >= x.shape[1] ||
         (out.shape[2] - 1) * p.strideW - p.padW >= x.shape[2] || p.padH * 2 > (p.kernelH - 1) * p.dilationH + 1 ||
         p.padW * 2 > (p.kernelW - 1) * p.dilationW + 1))
      fail(info.Env(), op, "pooling windows fall outside the input");
    const int dev = commonDevice(info.Env(), op, {&x, &out, idx.ptr()});
    if (idx.present) KD_RUN_ON(dev, maxPool2d(x, p, out, idx.view));
    else if (dev < 0) kd::maxPool2dValues(x, p, out);
    else fail(info.Env(), op, "indices are required on a CUDA device");
  });
  return info.Env().Undefined();
}

Napi::Value MaxPool2dBackward(Info info) {
  const char* op = "maxPool2dBackward";
  KD_GUARD(info.Env(), {
    TensorView gy = readView(info, 0, op), idx = readView(info, 1, op), gx = readView(info, 2, op);
    checkPlanes(info.Env(), op, gx, gy);
    checkTensor(info.Env(), op, idx, "indices", DType::Int64, {gy.shape[0], gy.shape[1], gy.shape[2]});
    KD_RUN_ON(commonDevice(info.Env(), op, {&gy, &idx, &gx}), maxPool2dBackward(gy, idx, gx));
  });
  return info.Env().Undefined();
}

Napi::Value AvgPool2d(Info info) {
  const char* op = "avgPool2d";
  KD_GUARD(info.Env(), {
    TensorView x = readView(info, 0, op);
    kd::Pool2dParams p = readPoolParams(info, 1, op);
    bool countIncludePad = info[2].ToBoolean();
    int64_t divisor = static_cast<int64_t>(readNumber(info, 3, op, "divisorOverride"));
    TensorView out = readView(info, 4, op);
    checkPlanes(info.Env(), op, x, out);
    KD_RUN_ON(commonDevice(info.Env(), op, {&x, &out}), avgPool2d(x, p, countIncludePad, divisor, out));
  });
  return info.Env().Undefined();
}

Napi::Value AvgPool2dBackward(Info info) {
  const char* op = "avgPool2dBackward";
  KD_GUARD(info.Env(), {
    TensorView gy = readView(info, 0, op);
    kd::Pool2dParams p = readPoolParams(info, 1, op);
    bool countIncludePad = info[2].ToBoolean();
    int64_t divisor = static_cast<int64_t>(readNumber(info, 3, op, "divisorOverride"));
    TensorView gx = readView(info, 4, op);
    checkPlanes(info.Env(), op, gx, gy);
    KD_RUN_ON(commonDevice(info.Env(), op, {&gy, &gx}), avgPool2dBackward(gy, p, countIncludePad, divisor, gx));
  });
  return info.Env().Undefined();
}

Napi::Value AdaptiveAvgPool2d(Info info) {
  const char* op = "adaptiveAvgPool2d";
  KD_GUARD(info.Env(), {
    TensorView x = readView(info, 0, op), out = readView(info, 1, op);
    checkPlanes(info.Env(), op, x, out);
    KD_RUN_ON(commonDevice(info.Env(), op, {&x, &out}), adaptiveAvgPool2d(x, out));
  });
  return info.Env().Undefined();
}

Napi::Value AdaptiveAvgPool2dBackward(Info info) {
  const char* op = "adaptiveAvgPool2dBackward";
  KD_GUARD(info.Env(), {
    TensorView gy = readView(info, 0, op), gx = readView(info, 1, op);
    checkPlanes(info.Env(), op, gx, gy);
    KD_RUN_ON(commonDevice(info.Env(), op, {&gy, &gx}), adaptiveAvgPool2dBackward(gy, gx));
  });
  return info.Env().Undefined();
}

Napi::Value BatchNorm(Info info) {
  const char* op = "batchNorm";
  KD_GUARD(info.Env(), {
    Napi::Env env = info.Env();
    TensorView x = readView(info, 0, op);
    OptView w = readOptView(info, 1, op), b = readOptView(info, 2, op);
    OptView rm = readOptView(info, 3, op), rv = readOptView(info, 4, op);
    bool training = info[5].ToBoolean();
    double momentum = readNumber(info, 6, op, "momentum"), eps = readNumber(info, 7, op, "eps");
    TensorView out = readView(info, 8, op), sm = readView(info, 9, op), si = readView(info, 10, op);
    checkFloat(env, op, x, "input");
    checkRank(env, op, x, 3, "input");
    const int64_t C = x.shape[1];
    for (const OptView* o : {&w, &b, &rm, &rv})
      if (o->present) checkTensor(env, op, o->view, "a per-channel tensor", x.dtype, {C});
    checkTensor(env, op, out, "output", x.dtype, {x.shape[0], C, x.shape[2]});
    checkTensor(env, op, sm, "saved mean", x.dtype, {C});
    checkTensor(env, op, si, "saved invstd", x.dtype, {C});
    KD_RUN_ON(commonDevice(env, op, {&x, w.ptr(), b.ptr(), rm.ptr(), rv.ptr(), &out, &sm, &si}),
              batchNorm(x, w.ptr(), b.ptr(), rm.ptr(), rv.ptr(), training, momentum, eps, out, sm, si));
  });
  return info.Env().Undefined();
}

Napi::Value BatchNormBackward(Info info) {
  const char* op = "batchNormBackward";
  KD_GUARD(info.Env(), {
    Napi::Env env = info.Env();
    TensorView gy = readView(info, 0, op), x = readView(info, 1, op);
    OptView w = readOptView(info, 2, op);
    TensorView sm = readView(info, 3, op), si = readView(info, 4, op);
    bool training = info[5].ToBoolean();
    OptView gx = readOptView(info, 6, op), gw = readOptView(info, 7, op), gb = readOptView(info, 8, op);
    checkFloat(env, op, x, "input");
    checkRank(env, op, x, 3, "input");
    const int64_t C = x.shape[1];
    checkTensor(env, op, gy, "grad output", x.dtype, {x.shape[0], C, x.shape[2]});
    if (w.present) checkTensor(env, op, w.view, "weight", x.dtype, {C});
    checkTensor(env, op, sm, "saved mean", x.dtype, {C});
    checkTensor(env, op, si, "saved invstd", x.dtype, {C});
    if (gx.present) checkTensor(env, op, gx.view, "grad input", x.dtype, {x.shape[0], C, x.shape[2]});
    if (gw.present) checkTensor(env, op, gw.view, "grad weight", x.dtype, {C});
    if (gb.present) checkTensor(env, op, gb.view, "grad bias", x.dtype, {C});
    KD_RUN_ON(commonDevice(env, op, {&gy, &x, w.ptr(), &sm, &si, gx.ptr(), gw.ptr(), gb.ptr()}),
              batchNormBackward(gy, x, w.ptr(), sm, si, training, gx.ptr(), gw.ptr(), gb.ptr()));
  });
  return info.Env().Undefined();
}

// Layer norm has no CUDA kernel: lib/ops/nn.ts runs CUDA tensors through
// the composite of ops instead.
void requireCpuViews(Napi::Env env, const char* op, std::initializer_list<const TensorView*> views) {
  if (commonDevice(env, op, views) >= 0) throw Napi::Error::New(env, std::string(op) + ": not on CUDA");
}

Napi::Value LayerNorm(Info info) {
  const char* op = "layerNorm";
  KD_GUARD(info.Env(), {
    Napi::Env env = info.Env();
    TensorView x = readView(info, 0, op);
    OptView w = readOptView(info, 1, op), b = readOptView(info, 2, op);
    double eps = readNumber(info, 3, op, "eps");
    TensorView out = readView(info, 4, op), sm = readView(info, 5, op), sr = readView(info, 6, op);
    checkFloat(env, op, x, "input");
    checkRank(env, op, x, 2, "input");
    const int64_t M = x.shape[0], N = x.shape[1];
    for (const OptView* o : {&w, &b})
      if (o->present) checkTensor(env, op, o->view, "weight and bias", x.dtype, {N});
    checkTensor(env, op, out, "output", x.dtype, {M, N});
    checkTensor(env, op, sm, "saved mean", x.dtype, {M});
    checkTensor(env, op, sr, "saved rstd", x.dtype, {M});
    requireCpuViews(env, op, {&x, w.ptr(), b.ptr(), &out, &sm, &sr});
    kd::layerNorm(x, w.ptr(), b.ptr(), eps, out, sm, sr);
  });
  return info.Env().Undefined();
}

Napi::Value LayerNormBackward(Info info) {
  const char* op = "layerNormBackward";
  KD_GUARD(info.Env(), {
    Napi::Env env = info.Env();
    TensorView gy = readView(info, 0, op), x = readView(info, 1, op);
    OptView w = readOptView(info, 2, op);
    TensorView sm = readView(info, 3, op), sr = readView(info, 4, op);
    OptView gx = readOptView(info, 5, op), gw = readOptView(info, 6, op), gb = readOptView(info, 7, op);
    checkFloat(env, op, x, "input");
    checkRank(env, op, x, 2, "input");
    const int64_t M = x.shape[0], N = x.shape[1];
    checkTensor(env, op, gy, "grad output", x.dtype, {M, N});
    if (w.present) checkTensor(env, op, w.view, "weight", x.dtype, {N});
    checkTensor(env, op, sm, "saved mean", x.dtype, {M});
    checkTensor(env, op, sr, "saved rstd", x.dtype, {M});
    if (gx.present) checkTensor(env, op, gx.view, "grad input", x.dtype, {M, N});
    if (gw.present) checkTensor(env, op, gw.view, "grad weight", x.dtype, {N});
    if (gb.present) checkTensor(env, op, gb.view, "grad bias", x.dtype, {N});
    requireCpuViews(env, op, {&gy, &x, w.ptr(), &sm, &sr, gx.ptr(), gw.ptr(), gb.ptr()});
    kd::layerNormBackward(gy, x, w.ptr(), sm, sr, gx.ptr(), gw.ptr(), gb.ptr());
  });
  return info.Env().Undefined();
}

// (ignoreIndex, labelSmoothing, reduction, logits) at info[i..i+3].
kd::NllParams readNllParams(Info info, size_t i, const char* op) {
  kd::NllParams p;
  p.op = op;
  p.ignoreIndex = static_cast<int64_t>(readNumber(info, i, op, "ignoreIndex"));
  p.labelSmoothing = readNumber(info, i + 1, op, "labelSmoothing");
  int r = readInt(info, i + 2, op, "reduction");
  if (r < 0 || r > 2) fail(info.Env(), op, "reduction code must be 0 (none), 1 (mean) or 2 (sum)");
  p.reduction = static_cast<kd::Reduction>(r);
  p.logits = info[i + 3].ToBoolean();
  if (!(p.labelSmoothing >= 0.0 && p.labelSmoothing <= 1.0)) fail(info.Env(), op, "labelSmoothing must be in [0, 1]");
  return p;
}

// The op name the kernel's messages use: crossEntropy for logits, nllLoss otherwise.
const char* nllName(Info info, size_t logitsArg) { return info[logitsArg].ToBoolean() ? "crossEntropy" : "nllLoss"; }

void checkNll(Napi::Env env, const char* op, const TensorView& input, const TensorView& target, const OptView& weight) {
  checkFloat(env, op, input, "input");
  checkRank(env, op, input, 3, "input");
  checkTensor(env, op, target, "target", DType::Int64, {input.shape[0], input.shape[2]});
  if (weight.present) checkTensor(env, op, weight.view, "weight", input.dtype, {input.shape[1]});
  if (input.shape[1] < 1 && input.shape[0] * input.shape[2] > 0) fail(env, op, "input has no classes");
}

Napi::Value NllLoss(Info info) {
  KD_GUARD(info.Env(), {
    const char* op = nllName(info, 6);
    Napi::Env env = info.Env();
    TensorView input = readView(info, 0, op), target = readView(info, 1, op);
    OptView weight = readOptView(info, 2, op);
    kd::NllParams p = readNllParams(info, 3, op);
    TensorView out = readView(info, 7, op);
    OptView lse = readOptView(info, 8, op);
    TensorView tw = readView(info, 9, op);
    checkNll(env, op, input, target, weight);
    if (p.reduction == kd::Reduction::None)
      checkTensor(env, op, out, "output", input.dtype, {input.shape[0], input.shape[2]});
    else checkTensor(env, op, out, "output", input.dtype, {});
    if (lse.present) checkTensor(env, op, lse.view, "logsumexp", input.dtype, {input.shape[0], input.shape[2]});
    checkTensor(env, op, tw, "total weight", input.dtype, {});
    KD_RUN_ON(commonDevice(env, op, {&input, &target, weight.ptr(), &out, lse.ptr(), &tw}),
              nllLoss(input, target, weight.ptr(), p, out, lse.ptr(), tw));
  });
  return info.Env().Undefined();
}

Napi::Value NllLossBackward(Info info) {
  KD_GUARD(info.Env(), {
    const char* op = nllName(info, 7);
    Napi::Env env = info.Env();
    TensorView gy = readView(info, 0, op), input = readView(info, 1, op), target = readView(info, 2, op);
    OptView weight = readOptView(info, 3, op);
    kd::NllParams p = readNllParams(info, 4, op);
    OptView lse = readOptView(info, 8, op);
    double totalWeight = readNumber(info, 9, op, "totalWeight");
    TensorView gx = readView(info, 10, op);
    checkNll(env, op, input, target, weight);
    if (p.reduction == kd::Reduction::None)
      checkTensor(env, op, gy, "grad output", input.dtype, {input.shape[0], input.shape[2]});
    else checkTensor(env, op, gy, "grad output", input.dtype, {});
    if (lse.present) checkTensor(env, op, lse.view, "logsumexp", input.dtype, {input.shape[0], input.shape[2]});
    checkTensor(env, op, gx, "grad input", input.dtype, {input.shape[0], input.shape[1], input.shape[2]});
    KD_RUN_ON(commonDevice(env, op, {&gy, &input, &target, weight.ptr(), lse.ptr(), &gx}),
              nllLossBackward(gy, input, target, weight.ptr(), p, lse.ptr(), totalWeight, gx));
  });
  return info.Env().Undefined();
}

// ---- recurrent cells ----------------------------------------------------------------
// The state [B, H] fixes the shapes every other argument must have.
void checkCellState(Napi::Env env, const char* op, const TensorView& state, const char* what) {
  checkFloat(env, op, state, what);
  checkRank(env, op, state, 2, what);
}

Napi::Value LstmCell(Info info) {
  const char* op = "lstmCell";
  KD_GUARD(info.Env(), {
    Napi::Env env = info.Env();
    TensorView ig = readView(info, 0, op), hg = readView(info, 1, op), cx = readView(info, 2, op);
    TensorView hy = readView(info, 3, op), cy = readView(info, 4, op), ws = readView(info, 5, op);
    checkCellState(env, op, cx, "cx");
    const int64_t B = cx.shape[0], H = cx.shape[1];
    checkTensor(env, op, ig, "input gates", cx.dtype, {B, 4 * H});
    checkTensor(env, op, hg, "hidden gates", cx.dtype, {B, 4 * H});
    checkTensor(env, op, hy, "hy", cx.dtype, {B, H});
    checkTensor(env, op, cy, "cy", cx.dtype, {B, H});
    checkTensor(env, op, ws, "workspace", cx.dtype, {B, 4 * H});
    KD_RUN_ON(commonDevice(env, op, {&ig, &hg, &cx, &hy, &cy, &ws}), lstmCell(ig, hg, cx, hy, cy, ws));
  });
  return info.Env().Undefined();
}

Napi::Value LstmCellBackward(Info info) {
  const char* op = "lstmCellBackward";
  KD_GUARD(info.Env(), {
    Napi::Env env = info.Env();
    TensorView gh = readView(info, 0, op), gc = readView(info, 1, op), cx = readView(info, 2, op);
    TensorView cy = readView(info, 3, op), ws = readView(info, 4, op), gg = readView(info, 5, op);
    OptView gcx = readOptView(info, 6, op);
    checkCellState(env, op, cx, "cx");
    const int64_t B = cx.shape[0], H = cx.shape[1];
    checkTensor(env, op, gh, "grad hy", cx.dtype, {B, H});
    checkTensor(env, op, gc, "grad cy", cx.dtype, {B, H});
    checkTensor(env, op, cy, "cy", cx.dtype, {B, H});
    checkTensor(env, op, ws, "workspace", cx.dtype, {B, 4 * H});
    checkTensor(env, op, gg, "grad gates", cx.dtype, {B, 4 * H});
    if (gcx.present) checkTensor(env, op, gcx.view, "grad cx", cx.dtype, {B, H});
    KD_RUN_ON(commonDevice(env, op, {&gh, &gc, &cx, &cy, &ws, &gg, gcx.ptr()}),
              lstmCellBackward(gh, gc, cx, cy, ws, gg, gcx.ptr()));
  });
  return info.Env().Undefined();
}

Napi::Value GruCell(Info info) {
  const char* op = "gruCell";
  KD_GUARD(info.Env(), {
    Napi::Env env = info.Env();
    TensorView ig = readView(info, 0, op), hg = readView(info, 1, op), hx = readView(info, 2, op);
    TensorView hy = readView(info, 3, op), ws = readView(info, 4, op);
    checkCellState(env, op, hx, "hx");
    const int64_t B = hx.shape[0], H = hx.shape[1];
    checkTensor(env, op, ig, "input gates", hx.dtype, {B, 3 * H});
    checkTensor(env, op, hg, "hidden gates", hx.dtype, {B, 3 * H});
    checkTensor(env, op, hy, "hy", hx.dtype, {B, H});
    checkTensor(env, op, ws, "workspace", hx.dtype, {B, 4 * H});
    KD_RUN_ON(commonDevice(env, op, {&ig, &hg, &hx, &hy, &ws}), gruCell(ig, hg, hx, hy, ws));
  });
  return info.Env().Undefined();
}

Napi::Value GruCellBackward(Info info) {
  const char* op = "gruCellBackward";
  KD_GUARD(info.Env(), {
    Napi::Env env = info.Env();
    TensorView gh = readView(info, 0, op), hx = readView(info, 1, op), ws = readView(info, 2, op);
    TensorView gi = readView(info, 3, op), ghid = readView(info, 4, op);
    OptView ghx = readOptView(info, 5, op);
    checkCellState(env, op, hx, "hx");
    const int64_t B = hx.shape[0], H = hx.shape[1];
    checkTensor(env, op, gh, "grad hy", hx.dtype, {B, H});
    checkTensor(env, op, ws, "workspace", hx.dtype, {B, 4 * H});
    checkTensor(env, op, gi, "grad input gates", hx.dtype, {B, 3 * H});
    checkTensor(env, op, ghid, "grad hidden gates", hx.dtype, {B, 3 * H});
    if (ghx.present) checkTensor(env, op, ghx.view, "grad hx", hx.dtype, {B, H});
    KD_RUN_ON(commonDevice(env, op, {&gh, &hx, &ws, &gi, &ghid, ghx.ptr()}),
              gruCellBackward(gh, hx, ws, gi, ghid, ghx.ptr()));
  });
  return info.Env().Undefined();
}

}  // namespace

void initNN(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, Conv2d, "conv2d"));
  exports.Set("attention", Napi::Function::New(env, Attention, "attention"));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward, "attentionBackward"));
  exports.Set("conv2dBackward", Napi::Function::New(env, Conv2dBackward, "conv2dBackward"));
  exports.Set("maxPool2d", Napi::Function::New(env, MaxPool2d, "maxPool2d"));
  exports.Set("maxPool2dBackward", Napi::Function::New(env, MaxPool2dBackward, "maxPool2dBackward"));
  exports.Set("avgPool2d", Napi::Function::New(env, AvgPool2d, "avgPool2d"));
  exports.Set("avgPool2dBackward", Napi::Function::New(env, AvgPool2dBackward, "avgPool2dBackward"));
  exports.Set("adaptiveAvgPool2d", Napi::Function::New(env, AdaptiveAvgPool2d, "adaptiveAvgPool2d"));
  exports.Set("adaptiveAvgPool2dBackward",
              Napi::Function::New(env, AdaptiveAvgPool2dBackward, "adaptiveAvgPool2dBackward"));
  exports.Set("batchNorm", Napi::Function::New(env, BatchNorm, "batchNorm"));
  exports.Set("batchNormBackward", Napi::Function::New(env, BatchNormBackward, "batchNormBackward"));
  exports.Set("layerNorm", Napi::Function::New(env, LayerNorm, "layerNorm"));
  exports.Set("layerNormBackward", Napi::Function::New(env, LayerNormBackward, "layerNormBackward"));
  exports.Set("nllLoss", Napi::Function::New(env, NllLoss, "nllLoss"));
  exports.Set("nllLossBackward", Napi::Function::New(env, NllLossBackward, "nllLossBackward"));
  exports.Set("lstmCell", Napi::Function::New(env, LstmCell, "lstmCell"));
  exports.Set("lstmCellBackward", Napi::Function::New(env, LstmCellBackward, "lstmCellBackward"));
  exports.Set("gruCell", Napi::Function::New(env, GruCell, "gruCell"));
  exports.Set("gruCellBackward", Napi::Function::New(env, GruCellBackward, "gruCellBackward"));
}

}  // namespace kdb
