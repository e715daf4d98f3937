// Exports of the fused optimizer updates (native/cpu/optim.cc). Each takes
// the parameter, its gradient and its state buffers as tensor tuples (an
// optional buffer as null), then the hyperparameters as plain numbers and
// booleans, and updates the parameter and the buffers in place.
#include "../cpu/optim_kernels.h"
#include "binding.h"

namespace kdb {

namespace {

using Info = const Napi::CallbackInfo&;

bool readBool(Info info, size_t i, const char* op, const char* what) {
  if (i >= info.Length() || !info[i].IsBoolean())
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": " + what + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

// A buffer the options may leave out: null or undefined gives no view.
bool readOptionalView(Info info, size_t i, const char* op, TensorView& out) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return false;
  out = readView(info, i, op);
  return true;
}

Napi::Value SgdStep(Info info) {
  KD_GUARD(info.Env(), {
    const char* op = "sgdStep";
    TensorView param = readView(info, 0, op), grad = readView(info, 1, op), buf;
    const bool hasBuf = readOptionalView(info, 2, op, buf);
    kd::SgdParams o;
    o.lr = readNumber(info, 3, op, "lr");
    o.momentum = readNumber(info, 4, op, "momentum");
    o.dampening = readNumber(info, 5, op, "dampening");
    o.weightDecay = readNumber(info, 6, op, "weightDecay");
    o.nesterov = readBool(info, 7, op, "nesterov");
    o.maximize = readBool(info, 8, op, "maximize");
    o.initBuffer = readBool(info, 9, op, "initBuffer");
    KD_RUN_ON(commonDevice(info.Env(), op, {&param, &grad, hasBuf ? &buf : nullptr}),
              sgdStep(param, grad, hasBuf ? &buf : nullptr, o));
  });
  return info.Env().Undefined();
}

Napi::Value AdamStep(Info info) {
  KD_GUARD(info.Env(), {
    const char* op = "adamStep";
    TensorView param = readView(info, 0, op), grad = readView(info, 1, op);
    TensorView expAvg = readView(info, 2, op), expAvgSq = readView(info, 3, op), maxSq;
    const bool hasMax = readOptionalView(info, 4, op, maxSq);
    kd::AdamParams o;
    o.lr = readNumber(info, 5, op, "lr");
    o.beta1 = readNumber(info, 6, op, "beta1");
    o.beta2 = readNumber(info, 7, op, "beta2");
    o.eps = readNumber(info, 8, op, "eps");
    o.weightDecay = readNumber(info, 9, op, "weightDecay");
    o.step = readNumber(info, 10, op, "step");
    o.amsgrad = readBool(info, 11, op, "amsgrad");
    o.maximize = readBool(info, 12, op, "maximize");
    o.decoupled = readBool(info, 13, op, "decoupled");
    KD_RUN_ON(commonDevice(info.Env(), op, {&param, &grad, &expAvg, &expAvgSq, hasMax ? &maxSq : nullptr}),
              adamStep(param, grad, expAvg, expAvgSq, hasMax ? &maxSq : nullptr, o));
  });
  return info.Env().Undefined();
}

Napi::Value RmspropStep(Info info) {
  KD_GUARD(info.Env(), {
    const char* op = "rmspropStep";
    TensorView param = readView(info, 0, op), grad = readView(info, 1, op), squareAvg = readView(info, 2, op);
    TensorView gradAvg, buf;
    const bool centered = readOptionalView(info, 3, op, gradAvg);
    const bool hasBuf = readOptionalView(info, 4, op, buf);
    kd::RmspropParams o;
    o.lr = readNumber(info, 5, op, "lr");
    o.alpha = readNumber(info, 6, op, "alpha");
    o.eps = readNumber(info, 7, op, "eps");
    o.weightDecay = readNumber(info, 8, op, "weightDecay");
    o.momentum = readNumber(info, 9, op, "momentum");
    o.maximize = readBool(info, 10, op, "maximize");
    KD_RUN_ON(commonDevice(info.Env(), op,
                           {&param, &grad, &squareAvg, centered ? &gradAvg : nullptr, hasBuf ? &buf : nullptr}),
              rmspropStep(param, grad, squareAvg, centered ? &gradAvg : nullptr, hasBuf ? &buf : nullptr, o));
  });
  return info.Env().Undefined();
}

Napi::Value AdagradStep(Info info) {
  KD_GUARD(info.Env(), {
    const char* op = "adagradStep";
    TensorView param = readView(info, 0, op), grad = readView(info, 1, op), sum = readView(info, 2, op);
    kd::AdagradParams o;
    o.clr = readNumber(info, 3, op, "clr");
    o.weightDecay = readNumber(info, 4, op, "weightDecay");
    o.eps = readNumber(info, 5, op, "eps");
    o.maximize = readBool(info, 6, op, "maximize");
    KD_RUN_ON(commonDevice(info.Env(), op, {&param, &grad, &sum}), adagradStep(param, grad, sum, o));
  });
  return info.Env().Undefined();
}

}  // namespace

void initOptim(Napi::Env env, Napi::Object exports) {
  exports.Set("sgdStep", Napi::Function::New(env, SgdStep, "sgdStep"));
  exports.Set("adamStep", Napi::Function::New(env, AdamStep, "adamStep"));
  exports.Set("rmspropStep", Napi::Function::New(env, RmspropStep, "rmspropStep"));
  exports.Set("adagradStep", Napi::Function::New(env, AdagradStep, "adagradStep"));
}

}  // namespace kdb
