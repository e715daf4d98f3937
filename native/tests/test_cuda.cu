// Native runner for the CUDA kernels: each kernel of native/cuda runs on
// random inputs next to its CPU twin (native/cpu), and the results must
// agree (exactly for moves and integer math, to a float tolerance
// otherwise). Both GEMM paths are run: cuBLAS (when it loads) and the
// built-in kernel.
//
// Built by CMakeLists.txt with KINDLING_CUDA=ON and KINDLING_NATIVE_TESTS=ON
// (target kd_test_cuda). Where there is no GPU it prints
// "skipped: no CUDA device (<reason>)" and exits 0.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cuda_ops.h"
#include "gemm.cuh"
#include "kernels.h"
#include "nn_kernels.h"
#include "optim_kernels.h"

using namespace kd;

namespace {

int gFailures = 0;
int gChecks = 0;
std::mt19937_64 gRng(1234);

void fail(const std::string& what) {
  ++gFailures;
  std::printf("FAIL %s\n", what.c_str());
}

// A tensor with a host copy and a device copy of the same bytes; views of
// both share shape, strides and offset.
struct Pair {
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> host;
  void* dev = nullptr;

  Pair(DType dt, std::vector<int64_t> s) : dtype(dt), shape(std::move(s)) {
    host.resize(static_cast<size_t>(numel()) * dtypeSize(dtype));
    dev = cuda::allocate(0, host.size());
  }
  Pair(const Pair&) = delete;
  ~Pair() { cuda::deallocate(0, dev); }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t v : shape) n *= v;
    return n;
  }
  void upload() { cuda::copyToDevice(0, dev, host.data(), host.size()); }
  std::vector<uint8_t> download() const {
    std::vector<uint8_t> out(host.size());
    cuda::copyToHost(0, out.data(), dev, out.size());
    return out;
  }
  TensorView view(bool onDevice, std::vector<int64_t> vshape = {}, std::vector<int64_t> vstrides = {},
                  int64_t offset = 0) const {
    if (vshape.empty() && vstrides.empty()) {
      vshape = shape;
      vstrides.assign(shape.size(), 1);
      for (int d = static_cast<int>(shape.size()) - 2; d >= 0; --d) vstrides[d] = vstrides[d + 1] * shape[d + 1];
    }
    TensorView v;
    v.dtype = dtype;
    v.ndim = static_cast<int>(vshape.size());
    for (int d = 0; d < v.ndim; ++d) {
      v.shape[d] = vshape[d];
      v.strides[d] = vstrides[d];
    }
    v.device = onDevice ? 0 : -1;
    uint8_t* base = onDevice ? static_cast<uint8_t*>(dev) : const_cast<uint8_t*>(host.data());
    v.data = base + offset * static_cast<int64_t>(dtypeSize(dtype));
    return v;
  }
  TensorView h() const { return view(false); }
  TensorView d() const { return view(true); }
  double at(const std::vector<uint8_t>& bytes, int64_t i) const {
    const uint8_t* p = bytes.data() + i * dtypeSize(dtype);
    switch (dtype) {
      case DType::Float32: {
        float v;
        std::memcpy(&v, p, 4);
        return v;
      }
      case DType::Float64: {
        double v;
        std::memcpy(&v, p, 8);
        return v;
      }
      case DType::Int32: {
        int32_t v;
        std::memcpy(&v, p, 4);
        return v;
      }
      case DType::Int64: {
        int64_t v;
        std::memcpy(&v, p, 8);
        return static_cast<double>(v);
      }
      default: return *p;
    }
  }
  void set(int64_t i, double x) {
    uint8_t* p = host.data() + i * dtypeSize(dtype);
    switch (dtype) {
      case DType::Float32: {
        float v = static_cast<float>(x);
        std::memcpy(p, &v, 4);
        break;
      }
      case DType::Float64: std::memcpy(p, &x, 8); break;
      case DType::Int32: {
        int32_t v = static_cast<int32_t>(x);
        std::memcpy(p, &v, 4);
        break;
      }
      case DType::Int64: {
        int64_t v = static_cast<int64_t>(x);
        std::memcpy(p, &v, 8);
        break;
      }
      case DType::UInt8: *p = static_cast<uint8_t>(x); break;
      case DType::Bool: *p = x != 0; break;
    }
  }
  // Random values for the dtype (positive ones when asked, for log/sqrt).
  void randomize(bool positive = false) {
    std::normal_distribution<double> nd(0, 1);
    std::uniform_int_distribution<int> id(-10, 10);
    for (int64_t i = 0; i < numel(); ++i) {
      switch (dtype) {
        case DType::Float32:
        case DType::Float64: set(i, positive ? std::fabs(nd(gRng)) + 0.1 : nd(gRng)); break;
        case DType::Int32:
        case DType::Int64: set(i, positive ? std::abs(id(gRng)) + 1 : id(gRng)); break;
        case DType::UInt8: set(i, std::abs(id(gRng)) + (positive ? 1 : 0)); break;
        case DType::Bool: set(i, id(gRng) > 0); break;
      }
    }
    upload();
  }
};

// The CPU result (host bytes) against the device result.
void compare(const std::string& what, const Pair& p, double rtol, double atol) {
  ++gChecks;
  const std::vector<uint8_t> got = p.download();
  for (int64_t i = 0; i < p.numel(); ++i) {
    const double want = p.at(p.host, i), have = p.at(got, i);
    if (std::isnan(want) && std::isnan(have)) continue;
    if (want == have) continue;
    if (std::isinf(want) || std::isinf(have) || !(std::fabs(want - have) <= atol + rtol * std::fabs(want))) {
      fail(what + ": element " + std::to_string(i) + " is " + std::to_string(have) + ", CPU gives " +
           std::to_string(want));
      return;
    }
  }
}

double tolFor(DType d) { return d == DType::Float32 ? 1e-5 : d == DType::Float64 ? 1e-12 : 0.0; }

bool throws(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception&) {
    return true;
  }
  return false;
}

const DType kAll[] = {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::UInt8, DType::Bool};

// ---- elementwise -------------------------------------------------------------------------------
void testElementwise() {
  const std::vector<int64_t> shape = {7, 33};
#define KD_UNARY_CODE(name) UnaryOp::name,
  const UnaryOp unaryOps[] = {KD_UNARY_OPS(KD_UNARY_CODE)};
#define KD_BINARY_CODE(name) BinaryOp::name,
  const BinaryOp binaryOps[] = {KD_BINARY_OPS(KD_BINARY_CODE)};
  for (DType dt : kAll) {
    const std::string dn = dtypeName(dt);
    const bool isFloat = dt == DType::Float32 || dt == DType::Float64;
    for (UnaryOp op : unaryOps) {
      const bool boolOut = op == UnaryOp::LogicalNot || op == UnaryOp::IsNan;
      Pair x(dt, shape), out(boolOut ? DType::Bool : dt, shape);
      x.randomize(op == UnaryOp::Log || op == UnaryOp::Sqrt || op == UnaryOp::Rsqrt || op == UnaryOp::Log1p);
      bool cpuThrew = false;
      try {
        kd::unary(op, x.h(), out.h());
      } catch (const std::exception&) {
        cpuThrew = true;
      }
      const bool gpuThrew = throws([&] { cuda::unary(op, x.d(), out.d()); });
      ++gChecks;
      if (cpuThrew != gpuThrew) fail("unary " + std::to_string(int(op)) + " " + dn + ": only one side threw");
      if (!cpuThrew && !gpuThrew)
        compare("unary " + std::to_string(int(op)) + " " + dn, out, isFloat ? 1e-5 : 0, isFloat ? 1e-6 : 0);
    }
    // Transposed input into a contiguous output.
    {
      Pair x(dt, {33, 7}), out(dt, shape);
      x.randomize();
      kd::unary(UnaryOp::Neg, x.view(false, shape, {1, 7}), out.h());
      cuda::unary(UnaryOp::Neg, x.view(true, shape, {1, 7}), out.d());
      compare("unary neg transposed " + dn, out, 0, 0);
    }
    for (BinaryOp op : binaryOps) {
      const bool boolOut = op >= BinaryOp::Eq && op <= BinaryOp::LogicalXor;
      Pair a(dt, shape), b(dt, {33}), out(boolOut ? DType::Bool : dt, shape);
      a.randomize();
      b.randomize(op == BinaryOp::Div || op == BinaryOp::Remainder || op == BinaryOp::FloorDivide);
      // b broadcast along dim 0 (stride 0).
      const TensorView bh = b.view(false, shape, {0, 1}), bd = b.view(true, shape, {0, 1});
      bool cpuThrew = false;
      try {
        kd::binary(op, a.h(), bh, out.h());
      } catch (const std::exception&) {
        cpuThrew = true;
      }
      const bool gpuThrew = throws([&] { cuda::binary(op, a.d(), bd, out.d()); });
      ++gChecks;
      const std::string name = "binary " + std::to_string(int(op)) + " " + dn;
      if (cpuThrew != gpuThrew) fail(name + ": only one side threw");
      if (!cpuThrew && !gpuThrew) compare(name, out, isFloat ? 1e-5 : 0, isFloat ? 1e-6 : 0);
      if (cpuThrew) continue;
      kd::binaryScalar(op, a.h(), 3.0, true, out.h());
      cuda::binaryScalar(op, a.d(), 3.0, true, out.d());
      compare("scalar " + name, out, isFloat ? 1e-5 : 0, isFloat ? 1e-6 : 0);
    }
    {
      Pair c(DType::Bool, shape), a(dt, shape), b(dt, shape), out(dt, shape);
      c.randomize();
      a.randomize();
      b.randomize();
      kd::where(c.h(), a.h(), b.h(), out.h());
      cuda::where(c.d(), a.d(), b.d(), out.d());
      compare("where " + dn, out, 0, 0);
      kd::clamp(a.h(), -0.5, 2.0, out.h());
      cuda::clamp(a.d(), -0.5, 2.0, out.d());
      compare("clamp " + dn, out, 0, 0);
      kd::fill(out.h(), 2.5);
      cuda::fill(out.d(), 2.5);
      compare("fill " + dn, out, 0, 0);
      // In place with a shifted overlap: out[1:] = out[:-1] + a.
      for (DType dst : kAll) {
        Pair o(dst, {33, 7});
        kd::copy(a.view(false, {33, 7}, {1, 33}), o.h());
        cuda::copy(a.view(true, {33, 7}, {1, 33}), o.d());
        compare("copy transposed " + dn + " -> " + dtypeName(dst), o, 0, 0);
      }
    }
  }
  // Overlapping in-place add: x[1:] += x[:-1].
  Pair x(DType::Float32, {100});
  x.randomize();
  kd::binary(BinaryOp::Add, x.view(false, {99}, {1}, 1), x.view(false, {99}, {1}, 0), x.view(false, {99}, {1}, 1));
  cuda::binary(BinaryOp::Add, x.view(true, {99}, {1}, 1), x.view(true, {99}, {1}, 0), x.view(true, {99}, {1}, 1));
  compare("overlapping add", x, 0, 0);
  // Host <-> device copies across strides and dtypes.
  Pair src(DType::Float64, {6, 5}), dst(DType::Int32, {5, 6});
  src.randomize();
  std::vector<uint8_t> hostOut(dst.host.size());
  TensorView hv = dst.h();
  hv.data = hostOut.data();
  cuda::copyAcross(src.view(true, {5, 6}, {1, 5}), hv, kd::copy);
  kd::copy(src.view(false, {5, 6}, {1, 5}), dst.h());
  ++gChecks;
  if (hostOut != dst.host) fail("copyAcross device -> host");
  cuda::copyAcross(src.view(false, {5, 6}, {1, 5}), dst.d(), kd::copy);
  compare("copyAcross host -> device", dst, 0, 0);
}

// ---- reductions ----------------------------------------------------------------------------------
void testReduce() {
#define KD_REDUCE_CODE(name) ReduceOp::name,
  const ReduceOp ops[] = {KD_REDUCE_OPS(KD_REDUCE_CODE)};
  const std::vector<int64_t> shape = {5, 300, 6};
  const std::vector<std::vector<bool>> masks = {
      {false, true, false}, {true, false, true}, {true, true, true}, {false, false, true}, {false, false, false}};
  for (DType dt : {DType::Float32, DType::Float64, DType::Int64, DType::Int32, DType::Bool}) {
    const bool isFloat = dt == DType::Float32 || dt == DType::Float64;
    Pair x(dt, shape);
    x.randomize();
    for (ReduceOp op : ops) {
      for (const auto& mask : masks) {
        std::vector<int64_t> oshape = shape;
        for (int d = 0; d < 3; ++d)
          if (mask[d]) oshape[d] = 1;
        DType odt = dt;
        if (op == ReduceOp::Any || op == ReduceOp::All) odt = DType::Bool;
        else if (op == ReduceOp::Sum && !isFloat) odt = DType::Int64;
        Pair out(odt, oshape);
        bool cpuThrew = false;
        try {
          kd::reduce(op, x.h(), mask, 1.0, out.h());
        } catch (const std::exception&) {
          cpuThrew = true;
        }
        const bool gpuThrew = throws([&] { cuda::reduce(op, x.d(), mask, 1.0, out.d()); });
        const std::string name = "reduce " + std::to_string(int(op)) + " " + dtypeName(dt);
        ++gChecks;
        if (cpuThrew != gpuThrew) fail(name + ": only one side threw");
        else if (!cpuThrew) compare(name, out, isFloat ? 1e-5 : 0, isFloat ? 1e-5 : 0);
      }
    }
    for (int dim = 0; dim < 3; ++dim) {
      std::vector<int64_t> oshape = shape;
      oshape[dim] = 1;
      Pair v(dt, oshape), idx(DType::Int64, oshape);
      for (bool isMax : {true, false}) {
        kd::argReduce(isMax, x.h(), dim, v.h(), idx.h());
        cuda::argReduce(isMax, x.d(), dim, v.d(), idx.d());
        compare("argReduce values", v, 0, 0);
        compare("argReduce indices", idx, 0, 0);
      }
    }
  }
  for (DType dt : {DType::Float32, DType::Float64}) {
    Pair x(dt, {4, 70, 3}), gy(dt, {4, 70, 3}), y(dt, {4, 70, 3}), gx(dt, {4, 70, 3});
    x.randomize();
    gy.randomize();
    for (int dim = 0; dim < 3; ++dim) {
      for (bool log : {false, true}) {
        kd::softmax(x.h(), dim, log, y.h());
        cuda::softmax(x.d(), dim, log, y.d());
        compare("softmax", y, tolFor(dt) * 10, tolFor(dt));
        y.upload();  // both sides continue from the CPU's y
        kd::softmaxBackward(y.h(), gy.h(), dim, log, gx.h());
        cuda::softmaxBackward(y.d(), gy.d(), dim, log, gx.d());
        compare("softmaxBackward", gx, tolFor(dt) * 10, tolFor(dt) * 10);
      }
    }
  }
}

// ---- matmul ------------------------------------------------------------------------------------------
void testMatmul() {
  for (bool useCublas : {true, false}) {
    cuda::setUseCublasForTesting(useCublas);
    const std::string path = std::string(" (") + cuda::gemmBackend() + ")";
    for (DType dt : {DType::Float32, DType::Float64}) {
      const int64_t B = 3, M = 70, K = 45, N = 66;
      Pair a(dt, {B, M, K}), bt(dt, {B, N, K}), out(dt, {B, M, N});
      a.randomize();
      bt.randomize();
      // b as the transpose of bt's batches: column-major, as x @ w.T.
      const std::vector<int64_t> bs = {B, K, N}, bst = {N * K, 1, K};
      kd::matmul(a.h(), bt.view(false, bs, bst), out.h());
      cuda::matmul(a.d(), bt.view(true, bs, bst), out.d());
      compare("matmul transposed b" + path, out, tolFor(dt) * 10, tolFor(dt) * 10);
      // b shared by every batch (stride 0): the linear layer.
      const std::vector<int64_t> bsh = {B, K, N}, bshs = {0, 1, K};
      kd::matmul(a.h(), bt.view(false, bsh, bshs), out.h());
      cuda::matmul(a.d(), bt.view(true, bsh, bshs), out.d());
      compare("matmul broadcast b" + path, out, tolFor(dt) * 10, tolFor(dt) * 10);
      // A layout cuBLAS cannot read directly (both strides > 1).
      const std::vector<int64_t> as = {1, 20, 11}, ass = {0, 2 * K, 2};
      Pair out2(dt, {1, 20, N});
      kd::matmul(a.view(false, as, ass), bt.view(false, {1, 11, N}, {0, 1, K}), out2.h());
      cuda::matmul(a.view(true, as, ass), bt.view(true, {1, 11, N}, {0, 1, K}), out2.d());
      compare("matmul strided a" + path, out2, tolFor(dt) * 10, tolFor(dt) * 10);
    }
  }
  cuda::setUseCublasForTesting(true);
}

// ---- nn ---------------------------------------------------------------------------------------------------
void testConv() {
  struct Case {
    int64_t N, C, H, W, OC, KH, KW;
    Conv2dParams p;
  };
  Conv2dParams s2;
  s2.strideH = 2;
  s2.strideW = 2;
  s2.padH = 1;
  s2.padW = 1;
  Conv2dParams grouped;
  grouped.groups = 2;
  grouped.dilationH = 2;
  grouped.dilationW = 2;
  grouped.padH = 2;
  grouped.padW = 1;
  const Case cases[] = {
      {2, 3, 9, 8, 4, 3, 3, Conv2dParams{}}, {3, 4, 10, 9, 6, 3, 2, s2}, {2, 4, 9, 9, 6, 3, 3, grouped}};
  for (DType dt : {DType::Float32, DType::Float64}) {
    for (const Case& c : cases) {
      const Conv2dParams& p = c.p;
      const int64_t OH = (c.H + 2 * p.padH - p.dilationH * (c.KH - 1) - 1) / p.strideH + 1;
      const int64_t OW = (c.W + 2 * p.padW - p.dilationW * (c.KW - 1) - 1) / p.strideW + 1;
      Pair x(dt, {c.N, c.C, c.H, c.W}), w(dt, {c.OC, c.C / p.groups, c.KH, c.KW}), b(dt, {c.OC}),
          y(dt, {c.N, c.OC, OH, OW}), gy(dt, {c.N, c.OC, OH, OW}), gx(dt, {c.N, c.C, c.H, c.W}),
          gw(dt, {c.OC, c.C / p.groups, c.KH, c.KW}), gb(dt, {c.OC});
      x.randomize();
      w.randomize();
      b.randomize();
      gy.randomize();
      const TensorView bh = b.h(), bd = b.d();
      kd::conv2d(x.h(), w.h(), &bh, p, y.h());
      cuda::conv2d(x.d(), w.d(), &bd, p, y.d());
      compare("conv2d", y, tolFor(dt) * 20, tolFor(dt) * 20);
      const TensorView gxh = gx.h(), gwh = gw.h(), gbh = gb.h(), gxd = gx.d(), gwd = gw.d(), gbd = gb.d();
      kd::conv2dBackward(gy.h(), x.h(), w.h(), p, &gxh, &gwh, &gbh);
      cuda::conv2dBackward(gy.d(), x.d(), w.d(), p, &gxd, &gwd, &gbd);
      compare("conv2d grad input", gx, tolFor(dt) * 20, tolFor(dt) * 20);
      compare("conv2d grad weight", gw, tolFor(dt) * 20, tolFor(dt) * 20);
      compare("conv2d grad bias", gb, tolFor(dt) * 20, tolFor(dt) * 20);
    }
  }
}

void testPoolNormLoss() {
  for (DType dt : {DType::Float32, DType::Float64}) {
    const double tol = tolFor(dt) * 10;
    Pool2dParams p;
    p.kernelH = 3;
    p.kernelW = 2;
    p.strideH = 2;
    p.strideW = 2;
    p.padH = 1;
    p.padW = 1;
    const int64_t P = 6, H = 11, W = 9, OH = (H + 2 - 3) / 2 + 1, OW = (W + 2 - 2) / 2 + 1;
    Pair x(dt, {P, H, W}), y(dt, {P, OH, OW}), idx(DType::Int64, {P, OH, OW}), gy(dt, {P, OH, OW}), gx(dt, {P, H, W});
    x.randomize();
    gy.randomize();
    kd::maxPool2d(x.h(), p, y.h(), idx.h());
    cuda::maxPool2d(x.d(), p, y.d(), idx.d());
    compare("maxPool2d", y, 0, 0);
    compare("maxPool2d indices", idx, 0, 0);
    kd::maxPool2dBackward(gy.h(), idx.h(), gx.h());
    cuda::maxPool2dBackward(gy.d(), idx.d(), gx.d());
    compare("maxPool2dBackward", gx, tol, tol);
    for (bool includePad : {false, true}) {
      kd::avgPool2d(x.h(), p, includePad, 0, y.h());
      cuda::avgPool2d(x.d(), p, includePad, 0, y.d());
      compare("avgPool2d", y, tol, tol);
      kd::avgPool2dBackward(gy.h(), p, includePad, 0, gx.h());
      cuda::avgPool2dBackward(gy.d(), p, includePad, 0, gx.d());
      compare("avgPool2dBackward", gx, tol, tol);
    }
    Pair ay(dt, {P, 4, 3}), agy(dt, {P, 4, 3});
    agy.randomize();
    kd::adaptiveAvgPool2d(x.h(), ay.h());
    cuda::adaptiveAvgPool2d(x.d(), ay.d());
    compare("adaptiveAvgPool2d", ay, tol, tol);
    kd::adaptiveAvgPool2dBackward(agy.h(), gx.h());
    cuda::adaptiveAvgPool2dBackward(agy.d(), gx.d());
    compare("adaptiveAvgPool2dBackward", gx, tol, tol);

    // Batch norm: training (running stats updated), then eval, and backward.
    const int64_t N = 5, C = 4, S = 13;
    Pair bx(dt, {N, C, S}), bw(dt, {C}), bb(dt, {C}), rm(dt, {C}), rv(dt, {C}), out(dt, {N, C, S}), sm(dt, {C}),
        si(dt, {C}), bgy(dt, {N, C, S}), bgx(dt, {N, C, S}), bgw(dt, {C}), bgb(dt, {C});
    bx.randomize();
    bw.randomize();
    bb.randomize();
    rm.randomize();
    rv.randomize(true);
    bgy.randomize();
    for (bool training : {true, false}) {
      const TensorView wh = bw.h(), bh = bb.h(), rmh = rm.h(), rvh = rv.h();
      const TensorView wd = bw.d(), bd = bb.d(), rmd = rm.d(), rvd = rv.d();
      kd::batchNorm(bx.h(), &wh, &bh, &rmh, &rvh, training, 0.1, 1e-5, out.h(), sm.h(), si.h());
      cuda::batchNorm(bx.d(), &wd, &bd, &rmd, &rvd, training, 0.1, 1e-5, out.d(), sm.d(), si.d());
      compare("batchNorm", out, tol, tol);
      compare("batchNorm running mean", rm, tol, tol);
      compare("batchNorm running var", rv, tol, tol);
      compare("batchNorm saved invstd", si, tol, tol);
      const TensorView gxh = bgx.h(), gwh = bgw.h(), gbh = bgb.h(), gxd = bgx.d(), gwd = bgw.d(), gbd = bgb.d();
      kd::batchNormBackward(bgy.h(), bx.h(), &wh, sm.h(), si.h(), training, &gxh, &gwh, &gbh);
      cuda::batchNormBackward(bgy.d(), bx.d(), &wd, sm.d(), si.d(), training, &gxd, &gwd, &gbd);
      compare("batchNormBackward input", bgx, tol * 10, tol * 10);
      compare("batchNormBackward weight", bgw, tol * 10, tol * 10);
      compare("batchNormBackward bias", bgb, tol * 10, tol * 10);
    }

    // nll / cross entropy: weights, an ignored target, label smoothing.
    const int64_t LN = 6, LC = 5, LD = 3;
    Pair in(dt, {LN, LC, LD}), tg(DType::Int64, {LN, LD}), cw(dt, {LC}), lse(dt, {LN, LD}), tw(dt, {}),
        lgx(dt, {LN, LC, LD});
    in.randomize();
    cw.randomize(true);
    std::uniform_int_distribution<int> cls(0, LC - 1);
    for (int64_t i = 0; i < LN * LD; ++i) tg.set(i, i == 4 ? -100 : cls(gRng));
    tg.upload();
    for (bool logits : {true, false}) {
      for (int red = 0; red < 3; ++red) {
        NllParams np;
        np.logits = logits;
        np.reduction = static_cast<Reduction>(red);
        np.labelSmoothing = logits ? 0.1 : 0.0;
        np.op = logits ? "crossEntropy" : "nllLoss";
        Pair lout(dt, red == 0 ? std::vector<int64_t>{LN, LD} : std::vector<int64_t>{}),
            lgy(dt, red == 0 ? std::vector<int64_t>{LN, LD} : std::vector<int64_t>{});
        lgy.randomize();
        const TensorView cwh = cw.h(), cwd = cw.d(), lseh = lse.h(), lsed = lse.d();
        kd::nllLoss(in.h(), tg.h(), &cwh, np, lout.h(), logits ? &lseh : nullptr, tw.h());
        cuda::nllLoss(in.d(), tg.d(), &cwd, np, lout.d(), logits ? &lsed : nullptr, tw.d());
        compare("nllLoss", lout, tol, tol);
        compare("nllLoss total weight", tw, tol, tol);
        const double totalW = tw.at(tw.host, 0);
        kd::nllLossBackward(lgy.h(), in.h(), tg.h(), &cwh, np, logits ? &lseh : nullptr, totalW, lgx.h());
        cuda::nllLossBackward(lgy.d(), in.d(), tg.d(), &cwd, np, logits ? &lsed : nullptr, totalW, lgx.d());
        compare("nllLossBackward", lgx, tol, tol);
      }
    }
    // A target out of range throws on the device too.
    tg.set(0, LC);
    tg.upload();
    NllParams np;
    ++gChecks;
    const TensorView lsed = lse.d();
    Pair lout(dt, {});
    if (!throws([&] { cuda::nllLoss(in.d(), tg.d(), nullptr, np, lout.d(), &lsed, tw.d()); }))
      fail("nllLoss: a bad target did not throw");
  }
}

void testOptim() {
  for (DType dt : {DType::Float32, DType::Float64}) {
    const int64_t n = 1000;
    Pair p(dt, {n}), g(dt, {n}), s1(dt, {n}), s2(dt, {n}), s3(dt, {n});
    for (int step = 1; step <= 3; ++step) {
      p.randomize();
      g.randomize();
      s1.randomize();
      s2.randomize(true);
      s3.randomize(true);
      const TensorView s1h = s1.h(), s1d = s1.d(), s3h = s3.h(), s3d = s3.d();
      SgdParams so;
      so.lr = 0.1;
      so.momentum = 0.9;
      so.dampening = 0.1;
      so.weightDecay = 0.01;
      so.nesterov = step == 2;
      kd::sgdStep(p.h(), g.h(), &s1h, so);
      cuda::sgdStep(p.d(), g.d(), &s1d, so);
      compare("sgd param", p, tolFor(dt), 0);
      compare("sgd buffer", s1, tolFor(dt), 0);
      AdamParams ao;
      ao.lr = 1e-3;
      ao.beta1 = 0.9;
      ao.beta2 = 0.999;
      ao.eps = 1e-8;
      ao.weightDecay = 0.01;
      ao.step = step;
      ao.amsgrad = step == 3;
      ao.decoupled = step == 2;
      kd::adamStep(p.h(), g.h(), s1.h(), s2.h(), &s3h, ao);
      cuda::adamStep(p.d(), g.d(), s1.d(), s2.d(), &s3d, ao);
      compare("adam param", p, tolFor(dt), 0);
      compare("adam exp_avg_sq", s2, tolFor(dt), 0);
      RmspropParams ro;
      ro.lr = 0.01;
      ro.alpha = 0.99;
      ro.eps = 1e-8;
      ro.momentum = step == 1 ? 0 : 0.5;
      kd::rmspropStep(p.h(), g.h(), s2.h(), step == 3 ? &s1h : nullptr, &s3h, ro);
      cuda::rmspropStep(p.d(), g.d(), s2.d(), step == 3 ? &s1d : nullptr, &s3d, ro);
      compare("rmsprop param", p, tolFor(dt), 0);
      AdagradParams gr;
      gr.clr = 0.01;
      gr.eps = 1e-10;
      gr.weightDecay = 0.1;
      kd::adagradStep(p.h(), g.h(), s2.h(), gr);
      cuda::adagradStep(p.d(), g.d(), s2.d(), gr);
      compare("adagrad param", p, tolFor(dt), 0);
    }
  }
}

void testIndexing() {
  for (DType dt : kAll) {
    const std::string dn = dtypeName(dt);
    Pair x(dt, {6, 7, 5}), idx(DType::Int64, {4}), sel(dt, {6, 4, 5});
    x.randomize();
    const int64_t iv[] = {3, -1, 0, 3};
    for (int i = 0; i < 4; ++i) idx.set(i, iv[i]);
    idx.upload();
    kd::indexSelect(x.h(), 1, idx.h(), sel.h());
    cuda::indexSelect(x.d(), 1, idx.d(), sel.d());
    compare("indexSelect " + dn, sel, 0, 0);
    Pair acc(dt, {6, 7, 5});
    acc.randomize();
    sel.randomize();
    kd::indexAdd(acc.h(), 1, idx.h(), sel.h(), dt == DType::Float32 || dt == DType::Float64 ? 0.5 : 2.0);
    cuda::indexAdd(acc.d(), 1, idx.d(), sel.d(), dt == DType::Float32 || dt == DType::Float64 ? 0.5 : 2.0);
    compare("indexAdd " + dn, acc, tolFor(dt), tolFor(dt));
    // index_copy_ with distinct indices (duplicates keep an arbitrary write).
    Pair uidx(DType::Int64, {3});
    for (int i = 0; i < 3; ++i) uidx.set(i, 2 * i);
    uidx.upload();
    Pair src3(dt, {6, 3, 5});
    src3.randomize();
    kd::indexCopy(acc.h(), 1, uidx.h(), src3.h());
    cuda::indexCopy(acc.d(), 1, uidx.d(), src3.d());
    compare("indexCopy " + dn, acc, 0, 0);
    // gather / scatter_add along dim 2; scatter with a permutation per row.
    Pair gi(DType::Int64, {6, 7, 3}), go(dt, {6, 7, 3});
    std::uniform_int_distribution<int> pick(-5, 4);
    for (int64_t i = 0; i < gi.numel(); ++i) gi.set(i, pick(gRng));
    gi.upload();
    kd::gather(x.h(), 2, gi.h(), go.h());
    cuda::gather(x.d(), 2, gi.d(), go.d());
    compare("gather " + dn, go, 0, 0);
    kd::scatterAdd(acc.h(), 2, gi.h(), go.h());
    cuda::scatterAdd(acc.d(), 2, gi.d(), go.d());
    compare("scatterAdd " + dn, acc, tolFor(dt), tolFor(dt));
    for (int64_t r = 0; r < 42; ++r)
      for (int k = 0; k < 3; ++k) gi.set(r * 3 + k, (r + k) % 5);
    gi.upload();
    kd::scatter(acc.h(), 2, gi.h(), go.h());
    cuda::scatter(acc.d(), 2, gi.d(), go.d());
    compare("scatter " + dn, acc, 0, 0);
    // An index out of range throws before anything is written.
    idx.set(1, 7);
    idx.upload();
    ++gChecks;
    if (!throws([&] { cuda::indexSelect(x.d(), 1, idx.d(), sel.d()); })) fail("indexSelect: bad index did not throw");
  }
}

void testRandom() {
  const int64_t n = 100000;
  Pair u(DType::Float32, {n}), v(DType::Float32, {n}), r(DType::Int64, {n}), perm(DType::Int64, {1000});
  cuda::manualSeed(42);
  cuda::uniform(u.d(), -1.0, 3.0);
  cuda::manualSeed(42);
  cuda::uniform(v.d(), -1.0, 3.0);
  const std::vector<uint8_t> a = u.download(), b = v.download();
  ++gChecks;
  if (a != b) fail("uniform: the same seed gave different numbers");
  double sum = 0, lo = 1e9, hi = -1e9;
  for (int64_t i = 0; i < n; ++i) {
    const double x = u.at(a, i);
    sum += x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  ++gChecks;
  if (lo < -1.0 || hi >= 3.0 || std::fabs(sum / n - 1.0) > 0.02) fail("uniform: values out of range or biased");
  cuda::normal(u.d(), 2.0, 0.5);
  const std::vector<uint8_t> nb = u.download();
  double m = 0, m2 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double x = u.at(nb, i);
    m += x;
    m2 += x * x;
  }
  m /= n;
  const double sd = std::sqrt(m2 / n - m * m);
  ++gChecks;
  if (std::fabs(m - 2.0) > 0.01 || std::fabs(sd - 0.5) > 0.01) fail("normal: wrong mean or std");
  cuda::randint(r.d(), -3, 7);
  const std::vector<uint8_t> rb = r.download();
  std::set<int64_t> seen;
  for (int64_t i = 0; i < n; ++i) seen.insert(static_cast<int64_t>(r.at(rb, i)));
  ++gChecks;
  if (seen.size() != 10 || *seen.begin() != -3 || *seen.rbegin() != 6) fail("randint: values do not cover [-3, 7)");
  cuda::bernoulli(u.d(), 0.3);
  const std::vector<uint8_t> bb = u.download();
  double ones = 0;
  for (int64_t i = 0; i < n; ++i) ones += u.at(bb, i);
  ++gChecks;
  if (std::fabs(ones / n - 0.3) > 0.01) fail("bernoulli: wrong rate");
  cuda::randperm(perm.d());
  const std::vector<uint8_t> pb = perm.download();
  std::set<int64_t> ps;
  for (int64_t i = 0; i < 1000; ++i) ps.insert(static_cast<int64_t>(perm.at(pb, i)));
  ++gChecks;
  if (ps.size() != 1000 || *ps.begin() != 0 || *ps.rbegin() != 999) fail("randperm: not a permutation");
}

void testAllocator() {
  const int64_t before = cuda::memoryAllocated(0);
  void* p = cuda::allocate(0, 1000);
  ++gChecks;
  if (cuda::memoryAllocated(0) != before + 1024) fail("allocator: 1000 bytes should count as 1024");
  cuda::deallocate(0, p);
  void* q = cuda::allocate(0, 900);  // same bucket: the cached block comes back
  ++gChecks;
  if (q != p) fail("allocator: a freed block of the same bucket was not reused");
  cuda::deallocate(0, q);
  ++gChecks;
  if (cuda::memoryAllocated(0) != before) fail("allocator: allocated bytes not returned");
  cuda::emptyCache();
  ++gChecks;
  if (cuda::memoryReserved(0) != cuda::memoryAllocated(0)) fail("allocator: emptyCache kept free blocks");
}

}  // namespace

int main() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    std::printf("skipped: no CUDA device (%s)\n", err != cudaSuccess ? cudaGetErrorString(err) : "0 devices");
    return 0;
  }
  testElementwise();
  testReduce();
  testMatmul();
  testConv();
  testPoolNormLoss();
  testOptim();
  testIndexing();
  testRandom();
  testAllocator();
  std::printf("%d checks, %d failures\n", gChecks, gFailures);
  return gFailures == 0 ? 0 : 1;
}
