// Exports of the core kernels: elementwise, reductions, indexing, matmul,
// random and threads. Each wrapper checks its arguments, then calls one
// kernel; the kernels live in native/cpu.
#include "binding.h"

namespace kdb {

namespace {

using Info = const Napi::CallbackInfo&;

void checkSameShape(Napi::Env env, const char* op, const TensorView& a, const TensorView& b) {
  bool same = a.ndim == b.ndim;
  for (int d = 0; same && d < a.ndim; ++d) same = a.shape[d] == b.shape[d];
  if (!same) throw Napi::RangeError::New(env, std::string(op) + ": shapes of input and output differ");
}

Napi::Value Unary(Info info) {
  KD_GUARD(info.Env(), {
    auto op = static_cast<kd::UnaryOp>(readInt(info, 0, "unary", "op"));
    TensorView x = readView(info, 1, "unary"), out = readView(info, 2, "unary");
    checkSameShape(info.Env(), "unary", x, out);
    KD_RUN_ON(commonDevice(info.Env(), "unary", {&x, &out}), unary(op, x, out));
  });
  return info.Env().Undefined();
}

Napi::Value Binary(Info info) {
  KD_GUARD(info.Env(), {
    auto op = static_cast<kd::BinaryOp>(readInt(info, 0, "binary", "op"));
    TensorView a = readView(info, 1, "binary"), b = readView(info, 2, "binary"), out = readView(info, 3, "binary");
    checkSameShape(info.Env(), "binary", a, out);
    checkSameShape(info.Env(), "binary", b, out);
    KD_RUN_ON(commonDevice(info.Env(), "binary", {&a, &b, &out}), binary(op, a, b, out));
  });
  return info.Env().Undefined();
}

Napi::Value BinaryScalar(Info info) {
  KD_GUARD(info.Env(), {
    auto op = static_cast<kd::BinaryOp>(readInt(info, 0, "binaryScalar", "op"));
    TensorView a = readView(info, 1, "binaryScalar");
    double s = readNumber(info, 2, "binaryScalar", "scalar");
    bool scalarFirst = info[3].ToBoolean();
    TensorView out = readView(info, 4, "binaryScalar");
    checkSameShape(info.Env(), "binaryScalar", a, out);
    KD_RUN_ON(commonDevice(info.Env(), "binaryScalar", {&a, &out}), binaryScalar(op, a, s, scalarFirst, out));
  });
  return info.Env().Undefined();
}

Napi::Value Where(Info info) {
  KD_GUARD(info.Env(), {
    TensorView c = readView(info, 0, "where"), a = readView(info, 1, "where"), b = readView(info, 2, "where"),
               out = readView(info, 3, "where");
    checkSameShape(info.Env(), "where", c, out);
    checkSameShape(info.Env(), "where", a, out);
    checkSameShape(info.Env(), "where", b, out);
    KD_RUN_ON(commonDevice(info.Env(), "where", {&c, &a, &b, &out}), where(c, a, b, out));
  });
  return info.Env().Undefined();
}

Napi::Value Copy(Info info) {
  KD_GUARD(info.Env(), {
    TensorView src = readView(info, 0, "copy"), dst = readView(info, 1, "copy");
    checkSameShape(info.Env(), "copy", src, dst);
    // The one op that crosses devices: host <-> device and device <-> device.
    if (src.device != dst.device) kd::cuda::copyAcross(src, dst, kd::copy);
    else KD_RUN_ON(src.device, copy(src, dst));
  });
  return info.Env().Undefined();
}

Napi::Value Fill(Info info) {
  KD_GUARD(info.Env(), {
    TensorView dst = readView(info, 0, "fill");
    KD_RUN_ON(dst.device, fill(dst, readNumber(info, 1, "fill", "value")));
  });
  return info.Env().Undefined();
}

Napi::Value Clamp(Info info) {
  KD_GUARD(info.Env(), {
    TensorView x = readView(info, 0, "clamp");
    double lo = readNumber(info, 1, "clamp", "min"), hi = readNumber(info, 2, "clamp", "max");
    TensorView out = readView(info, 3, "clamp");
    checkSameShape(info.Env(), "clamp", x, out);
    KD_RUN_ON(commonDevice(info.Env(), "clamp", {&x, &out}), clamp(x, lo, hi, out));
  });
  return info.Env().Undefined();
}

Napi::Value Reduce(Info info) {
  KD_GUARD(info.Env(), {
    auto op = static_cast<kd::ReduceOp>(readInt(info, 0, "reduce", "op"));
    TensorView x = readView(info, 1, "reduce");
    std::vector<bool> mask = readDimMask(info, 2, x.ndim, "reduce");
    double correction = readNumber(info, 3, "reduce", "correction");
    TensorView out = readView(info, 4, "reduce");
    KD_RUN_ON(commonDevice(info.Env(), "reduce", {&x, &out}), reduce(op, x, mask, correction, out));
  });
  return info.Env().Undefined();
}

Napi::Value ArgReduce(Info info) {
  KD_GUARD(info.Env(), {
    bool isMax = info[0].ToBoolean();
    TensorView x = readView(info, 1, "argReduce");
    int dim = readInt(info, 2, "argReduce", "dim");
    if (dim < 0 || dim >= x.ndim) throw Napi::RangeError::New(info.Env(), "argReduce: dim out of range");
    TensorView values = readView(info, 3, "argReduce"), indices = readView(info, 4, "argReduce");
    KD_RUN_ON(commonDevice(info.Env(), "argReduce", {&x, &values, &indices}),
              argReduce(isMax, x, dim, values, indices));
  });
  return info.Env().Undefined();
}

Napi::Value Softmax(Info info) {
  KD_GUARD(info.Env(), {
    TensorView x = readView(info, 0, "softmax");
    int dim = readInt(info, 1, "softmax", "dim");
    if (dim < 0 || dim >= x.ndim) throw Napi::RangeError::New(info.Env(), "softmax: dim out of range");
    bool log = info[2].ToBoolean();
    TensorView out = readView(info, 3, "softmax");
    checkSameShape(info.Env(), "softmax", x, out);
    KD_RUN_ON(commonDevice(info.Env(), "softmax", {&x, &out}), softmax(x, dim, log, out));
  });
  return info.Env().Undefined();
}

Napi::Value SoftmaxBackward(Info info) {
  KD_GUARD(info.Env(), {
    TensorView y = readView(info, 0, "softmaxBackward"), gy = readView(info, 1, "softmaxBackward");
    int dim = readInt(info, 2, "softmaxBackward", "dim");
    if (dim < 0 || dim >= y.ndim) throw Napi::RangeError::New(info.Env(), "softmaxBackward: dim out of range");
    bool log = info[3].ToBoolean();
    TensorView out = readView(info, 4, "softmaxBackward");
    checkSameShape(info.Env(), "softmaxBackward", y, gy);
    checkSameShape(info.Env(), "softmaxBackward", y, out);
    KD_RUN_ON(commonDevice(info.Env(), "softmaxBackward", {&y, &gy, &out}), softmaxBackward(y, gy, dim, log, out));
  });
  return info.Env().Undefined();
}

// sort and the scans have no CUDA kernels: lib/ops runs them on a CPU copy.
void requireCpu(Napi::Env env, const char* op, std::initializer_list<const TensorView*> views) {
  if (commonDevice(env, op, views) >= 0)
    throw Napi::Error::New(env, std::string(op) + ": not on CUDA (copy to the CPU first)");
}

void checkDTypes(Napi::Env env, const char* op, const TensorView& x, const TensorView& out, const TensorView* indices) {
  if (out.dtype != x.dtype)
    throw Napi::TypeError::New(env, std::string(op) + ": output dtype differs from the input's");
  if (indices && indices->dtype != kd::DType::Int64)
    throw Napi::TypeError::New(env, std::string(op) + ": indices must be int64");
}

Napi::Value SortDim(Info info) {
  KD_GUARD(info.Env(), {
    TensorView x = readView(info, 0, "sort");
    int dim = readInt(info, 1, "sort", "dim");
    if (dim < 0 || dim >= x.ndim) throw Napi::RangeError::New(info.Env(), "sort: dim out of range");
    bool descending = info[2].ToBoolean();
    TensorView values = readView(info, 3, "sort"), indices = readView(info, 4, "sort");
    checkSameShape(info.Env(), "sort", x, values);
    checkSameShape(info.Env(), "sort", x, indices);
    checkDTypes(info.Env(), "sort", x, values, &indices);
    requireCpu(info.Env(), "sort", {&x, &values, &indices});
    kd::sortDim(x, dim, descending, values, indices);
  });
  return info.Env().Undefined();
}

Napi::Value ScanDim(Info info) {
  KD_GUARD(info.Env(), {
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "scan: op must be a string");
    std::string name = info[0].As<Napi::String>().Utf8Value();
    kd::ScanOp op;
    if (name == "cumsum") op = kd::ScanOp::Cumsum;
    else if (name == "cumprod") op = kd::ScanOp::Cumprod;
    else if (name == "cummax") op = kd::ScanOp::Cummax;
    else if (name == "cummin") op = kd::ScanOp::Cummin;
    else if (name == "logcumsumexp") op = kd::ScanOp::LogCumSumExp;
    else throw Napi::TypeError::New(info.Env(), "scan: unknown op " + name);
    TensorView x = readView(info, 1, "scan");
    int dim = readInt(info, 2, "scan", "dim");
    if (dim < 0 || dim >= x.ndim) throw Napi::RangeError::New(info.Env(), "scan: dim out of range");
    TensorView out = readView(info, 3, "scan");
    checkSameShape(info.Env(), "scan", x, out);
    TensorView indices;
    const bool withIndices = op == kd::ScanOp::Cummax || op == kd::ScanOp::Cummin;
    if (withIndices) {
      indices = readView(info, 4, "scan");
      checkSameShape(info.Env(), "scan", x, indices);
    }
    checkDTypes(info.Env(), "scan", x, out, withIndices ? &indices : nullptr);
    requireCpu(info.Env(), "scan", {&x, &out, withIndices ? &indices : nullptr});
    kd::scanDim(op, x, dim, out, indices);
  });
  return info.Env().Undefined();
}

// (x, dim, index, out) and (out, dim, index, src) share one argument shape.
using IndexKernel = void (*)(const TensorView&, int, const TensorView&, const TensorView&);
template <IndexKernel K, IndexKernel CudaK>
Napi::Value IndexOp(Info info) {
  KD_GUARD(info.Env(), {
    TensorView a = readView(info, 0, "index");
    int dim = readInt(info, 1, "index", "dim");
    if (dim < 0 || dim >= a.ndim) throw Napi::RangeError::New(info.Env(), "index: dim out of range");
    TensorView idx = readView(info, 2, "index");
    if (idx.dtype != DType::Int64) throw Napi::TypeError::New(info.Env(), "index: index tensor must be int64");
    TensorView b = readView(info, 3, "index");
    if (commonDevice(info.Env(), "index", {&a, &idx, &b}) >= 0) CudaK(a, dim, idx, b);
    else K(a, dim, idx, b);
  });
  return info.Env().Undefined();
}

Napi::Value IndexAdd(Info info) {
  KD_GUARD(info.Env(), {
    TensorView out = readView(info, 0, "indexAdd");
    int dim = readInt(info, 1, "indexAdd", "dim");
    if (dim < 0 || dim >= out.ndim) throw Napi::RangeError::New(info.Env(), "indexAdd: dim out of range");
    TensorView idx = readView(info, 2, "indexAdd");
    if (idx.dtype != DType::Int64) throw Napi::TypeError::New(info.Env(), "indexAdd: index tensor must be int64");
    TensorView src = readView(info, 3, "indexAdd");
    const double alpha = readNumber(info, 4, "indexAdd", "alpha");
    KD_RUN_ON(commonDevice(info.Env(), "indexAdd", {&out, &idx, &src}), indexAdd(out, dim, idx, src, alpha));
  });
  return info.Env().Undefined();
}

Napi::Value ScatterReduce(Info info) {
  KD_GUARD(info.Env(), {
    TensorView out = readView(info, 0, "scatterReduce");
    int dim = readInt(info, 1, "scatterReduce", "dim");
    if (dim < 0 || dim >= out.ndim) throw Napi::RangeError::New(info.Env(), "scatterReduce: dim out of range");
    TensorView idx = readView(info, 2, "scatterReduce");
    if (idx.dtype != DType::Int64) throw Napi::TypeError::New(info.Env(), "scatterReduce: index tensor must be int64");
    TensorView src = readView(info, 3, "scatterReduce");
    const int code = readInt(info, 4, "scatterReduce", "op");
    if (code < 0 || code > 3) throw Napi::RangeError::New(info.Env(), "scatterReduce: unknown reduction code");
    const auto op = static_cast<kd::ScatterReduceOp>(code);
    KD_RUN_ON(commonDevice(info.Env(), "scatterReduce", {&out, &idx, &src}), scatterReduce(out, dim, idx, src, op));
  });
  return info.Env().Undefined();
}

Napi::Value Matmul(Info info) {
  KD_GUARD(info.Env(), {
    TensorView a = readView(info, 0, "matmul"), b = readView(info, 1, "matmul"), out = readView(info, 2, "matmul");
    const int n = out.ndim;
    if ((n != 3 && n != 4) || a.ndim != n || b.ndim != n)
      throw Napi::RangeError::New(info.Env(), "matmul: native matmul takes 3-d (or, on the CPU, 4-d) views");
    bool ok =
        a.shape[n - 1] == b.shape[n - 2] && out.shape[n - 2] == a.shape[n - 2] && out.shape[n - 1] == b.shape[n - 1];
    for (int d = 0; d < n - 2; ++d) ok = ok && a.shape[d] == out.shape[d] && b.shape[d] == out.shape[d];
    if (!ok) throw Napi::RangeError::New(info.Env(), "matmul: inconsistent shapes");
    const int dev = commonDevice(info.Env(), "matmul", {&a, &b, &out});
    if (dev >= 0 && n == 4) throw Napi::RangeError::New(info.Env(), "matmul: 4-d views are CPU only");
    KD_RUN_ON(dev, matmul(a, b, out));
  });
  return info.Env().Undefined();
}

Napi::Value ManualSeed(Info info) {
  KD_GUARD(info.Env(), {
    // Negative seeds wrap as two's complement, as torch.manual_seed does.
    const double s = readNumber(info, 0, "manualSeed", "seed");
    if (!(s >= -9.2e18 && s <= 1.8e19)) throw Napi::RangeError::New(info.Env(), "manualSeed: seed out of range");
    kd::manualSeed(s < 0 ? static_cast<uint64_t>(static_cast<int64_t>(s)) : static_cast<uint64_t>(s));
  });
  return info.Env().Undefined();
}

// A sampler's optional last argument: the generator state, a BigUint64Array
// [seed, word] that the sampler advances (Note [Per-thread random state]
// in native/cpu/random.cc). Null when absent. CUDA outputs ignore it: the
// device has its own generator, as in PyTorch.
uint64_t* readRngState(Info info, size_t i, const char* op) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return nullptr;
  napi_typedarray_type type;
  size_t length = 0;
  void* ptr = nullptr;
  if (napi_get_typedarray_info(info.Env(), info[i], &type, &length, &ptr, nullptr, nullptr) != napi_ok ||
      type != napi_biguint64_array || length < 2)
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": generator state must be a BigUint64Array [seed, word]");
  return static_cast<uint64_t*>(ptr);
}

// Runs a CPU sampler on a copy of the state and writes the advanced word
// back only when it succeeds.
template <typename F>
void withRngState(uint64_t* st, F run) {
  kd::RngState g{st[0], st[1]};
  run(&g);
  st[1] = g.word;
}

Napi::Value Uniform(Info info) {
  KD_GUARD(info.Env(), {
    TensorView out = readView(info, 0, "uniform");
    const double lo = readNumber(info, 1, "uniform", "low"), hi = readNumber(info, 2, "uniform", "high");
    uint64_t* st = readRngState(info, 3, "uniform");
    if (out.device >= 0 || st == nullptr) KD_RUN_ON(out.device, uniform(out, lo, hi));
    else withRngState(st, [&](kd::RngState* g) { kd::uniform(out, lo, hi, g); });
  });
  return info.Env().Undefined();
}

Napi::Value Normal(Info info) {
  KD_GUARD(info.Env(), {
    TensorView out = readView(info, 0, "normal");
    const double mean = readNumber(info, 1, "normal", "mean"), sd = readNumber(info, 2, "normal", "std");
    uint64_t* st = readRngState(info, 3, "normal");
    if (out.device >= 0 || st == nullptr) KD_RUN_ON(out.device, normal(out, mean, sd));
    else withRngState(st, [&](kd::RngState* g) { kd::normal(out, mean, sd, g); });
  });
  return info.Env().Undefined();
}

Napi::Value Randint(Info info) {
  KD_GUARD(info.Env(), {
    TensorView out = readView(info, 0, "randint");
    const double lo = readNumber(info, 1, "randint", "low"), hi = readNumber(info, 2, "randint", "high");
    // The int64 casts below are undefined outside int64's range.
    if (!(lo >= -9.2e18 && lo <= 9.2e18 && hi >= -9.2e18 && hi <= 9.2e18))
      throw Napi::RangeError::New(info.Env(), "randint: low and high must be finite and within int64");
    const int64_t low = static_cast<int64_t>(lo), high = static_cast<int64_t>(hi);
    uint64_t* st = readRngState(info, 3, "randint");
    if (out.device >= 0 || st == nullptr) KD_RUN_ON(out.device, randint(out, low, high));
    else withRngState(st, [&](kd::RngState* g) { kd::randint(out, low, high, g); });
  });
  return info.Env().Undefined();
}

Napi::Value Randperm(Info info) {
  KD_GUARD(info.Env(), {
    TensorView out = readView(info, 0, "randperm");
    uint64_t* st = readRngState(info, 1, "randperm");
    if (out.device >= 0 || st == nullptr) KD_RUN_ON(out.device, randperm(out));
    else withRngState(st, [&](kd::RngState* g) { kd::randperm(out, g); });
  });
  return info.Env().Undefined();
}

Napi::Value Bernoulli(Info info) {
  KD_GUARD(info.Env(), {
    TensorView out = readView(info, 0, "bernoulli");
    const double p = readNumber(info, 1, "bernoulli", "p");
    uint64_t* st = readRngState(info, 2, "bernoulli");
    if (out.device >= 0 || st == nullptr) KD_RUN_ON(out.device, bernoulli(out, p));
    else withRngState(st, [&](kd::RngState* g) { kd::bernoulli(out, p, g); });
  });
  return info.Env().Undefined();
}

Napi::Value SetNumThreads(Info info) {
  KD_GUARD(info.Env(), { kd::setNumThreads(readInt(info, 0, "setNumThreads", "n")); });
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(Info info) { return Napi::Number::New(info.Env(), kd::getNumThreads()); }

Napi::Value SetUseBlas(Info info) {
  kd::setUseBlas(info[0].ToBoolean());
  return info.Env().Undefined();
}

Napi::Value StreamedOutputs(Info info) { return Napi::Number::New(info.Env(), kd::streamedOutputs()); }

Napi::Value Config(Info info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("blas", kd::gemmBackend());
  o.Set("usingBlas", kd::usingBlas());
  o.Set("blasCore", kd::blasCore());
  o.Set("simd", kd::simdLevel());
  o.Set("threads", kd::getNumThreads());
#ifdef KD_WITH_CUDA
  o.Set("cuda", true);
#else
  o.Set("cuda", false);
#endif
  return o;
}

template <typename E>
Napi::Object codeTable(Napi::Env env, std::initializer_list<const char*> names) {
  Napi::Object o = Napi::Object::New(env);
  int32_t i = 0;
  for (const char* n : names) o.Set(n, i++);
  return o;
}

}  // namespace

#define KD_NAME_ENTRY(name) #name,

Napi::Value SetMetaScratch(Info info) {
  KD_GUARD(info.Env(), setMetaScratch(info));
  return info.Env().Undefined();
}

void initCore(Napi::Env env, Napi::Object exports) {
  exports.Set("setMetaScratch", Napi::Function::New(env, SetMetaScratch, "setMetaScratch"));
  exports.Set("unaryOps", codeTable<kd::UnaryOp>(env, {KD_UNARY_OPS(KD_NAME_ENTRY)}));
  exports.Set("binaryOps", codeTable<kd::BinaryOp>(env, {KD_BINARY_OPS(KD_NAME_ENTRY)}));
  exports.Set("reduceOps", codeTable<kd::ReduceOp>(env, {KD_REDUCE_OPS(KD_NAME_ENTRY)}));
  exports.Set("unary", Napi::Function::New(env, Unary, "unary"));
  exports.Set("binary", Napi::Function::New(env, Binary, "binary"));
  exports.Set("binaryScalar", Napi::Function::New(env, BinaryScalar, "binaryScalar"));
  exports.Set("where", Napi::Function::New(env, Where, "where"));
  exports.Set("copy", Napi::Function::New(env, Copy, "copy"));
  exports.Set("fill", Napi::Function::New(env, Fill, "fill"));
  exports.Set("clamp", Napi::Function::New(env, Clamp, "clamp"));
  exports.Set("reduce", Napi::Function::New(env, Reduce, "reduce"));
  exports.Set("argReduce", Napi::Function::New(env, ArgReduce, "argReduce"));
  exports.Set("softmax", Napi::Function::New(env, Softmax, "softmax"));
  exports.Set("softmaxBackward", Napi::Function::New(env, SoftmaxBackward, "softmaxBackward"));
  exports.Set("sortDim", Napi::Function::New(env, SortDim, "sortDim"));
  exports.Set("scanDim", Napi::Function::New(env, ScanDim, "scanDim"));
  exports.Set("indexSelect", Napi::Function::New(env, IndexOp<kd::indexSelect, kd::cuda::indexSelect>, "indexSelect"));
  exports.Set("indexCopy", Napi::Function::New(env, IndexOp<kd::indexCopy, kd::cuda::indexCopy>, "indexCopy"));
  exports.Set("gather", Napi::Function::New(env, IndexOp<kd::gather, kd::cuda::gather>, "gather"));
  exports.Set("scatterAdd", Napi::Function::New(env, IndexOp<kd::scatterAdd, kd::cuda::scatterAdd>, "scatterAdd"));
  exports.Set("scatter", Napi::Function::New(env, IndexOp<kd::scatter, kd::cuda::scatter>, "scatter"));
  exports.Set("indexAdd", Napi::Function::New(env, IndexAdd, "indexAdd"));
  exports.Set("scatterReduce", Napi::Function::New(env, ScatterReduce, "scatterReduce"));
  exports.Set("matmul", Napi::Function::New(env, Matmul, "matmul"));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed, "manualSeed"));
  exports.Set("uniform", Napi::Function::New(env, Uniform, "uniform"));
  exports.Set("normal", Napi::Function::New(env, Normal, "normal"));
  exports.Set("randint", Napi::Function::New(env, Randint, "randint"));
  exports.Set("randperm", Napi::Function::New(env, Randperm, "randperm"));
  exports.Set("bernoulli", Napi::Function::New(env, Bernoulli, "bernoulli"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads, "getNumThreads"));
  exports.Set("setUseBlas", Napi::Function::New(env, SetUseBlas, "setUseBlas"));
  exports.Set("config", Napi::Function::New(env, Config, "config"));
  exports.Set("streamedOutputs", Napi::Function::New(env, StreamedOutputs, "streamedOutputs"));
}

}  // namespace kdb
