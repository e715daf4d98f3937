#!/usr/bin/env python3
"""Write the PyTorch-oracle fixtures that test/optim/*.test.ts check Kindling against.

Run from anywhere:  /usr/bin/python3 scripts/make_optim_fixtures.py

test/fixtures/optim_updates.json: for each optimizer and option set, a tiny
model (a 3x4 weight and a 3-vector bias) trained 10 steps in PyTorch with the
single-tensor ("for-loop") optimizers. Each case records the initial
parameters and, per step, the gradients PyTorch computed and the parameters
after the step, so Kindling can replay the exact gradients and compare every
step. Options are recorded with Kindling's (camelCase) names.

  {"name", "optimizer": "SGD" | "Adam" | ..., "dtype",
   "groups": [{"params": [param indices], "options": {...}}],   # per group overrides
   "options": {...},                                           # the optimizer's defaults
   "init": [tensor, ...], "steps": [{"grads": [...], "params": [...]}]}

test/fixtures/optim_schedulers.json: the lr (and, for OneCycleLR, momentum or
beta1) of each param group after construction and after each of 30 steps.

Float data is written as the shortest decimal that round-trips its dtype.
"""

import json
import math
import os
import sys

try:
    import numpy as np
    import torch
except ImportError:
    if os.path.exists('/usr/bin/python3') and os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    sys.exit('make_optim_fixtures.py needs PyTorch (1.13 CPU) and numpy')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, 'test', 'fixtures')
STEPS = 10

CAMEL = {
    'weight_decay': 'weightDecay', 'lr_decay': 'lrDecay',
    'initial_accumulator_value': 'initialAccumulatorValue',
}


def enc_tensor(t):
    t = t.detach()
    dtype = {torch.float32: 'float32', torch.float64: 'float64'}[t.dtype]
    flat = t.contiguous().reshape(-1).tolist()
    if dtype == 'float32':
        # numpy prints the shortest decimal that reads back as the same float32
        data = [float(repr(np.float32(v))) for v in flat]
    else:
        data = [float(v) for v in flat]
    for v in data:
        assert math.isfinite(v)
    return {'shape': list(t.shape), 'dtype': dtype, 'data': data}


def camel_options(opts):
    out = {}
    for k, v in opts.items():
        out[CAMEL.get(k, k)] = list(v) if isinstance(v, tuple) else v
    return out


# ---------------------------------------------------------------------------
# optimizer trajectories

def make_problem(dtype, seed):
    g = torch.Generator().manual_seed(seed)
    w = (torch.randn(3, 4, generator=g, dtype=torch.float64) * 0.5).to(dtype)
    b = (torch.randn(3, generator=g, dtype=torch.float64) * 0.1).to(dtype)
    x = torch.randn(6, 4, generator=g, dtype=torch.float64).to(dtype)
    y = torch.randn(6, 3, generator=g, dtype=torch.float64).to(dtype)
    return w, b, x, y


OPTIMIZERS = {
    'SGD': torch.optim.SGD,
    'Adam': torch.optim.Adam,
    'AdamW': torch.optim.AdamW,
    'RMSprop': torch.optim.RMSprop,
    'Adagrad': torch.optim.Adagrad,
}


def trajectory(name, opt_name, options, dtype=torch.float32, groups=None, seed=0):
    """Trains W, b on a fixed loss with PyTorch's for-loop optimizer; records grads and params per step."""
    w0, b0, x, y = make_problem(dtype, seed)
    w = w0.clone().requires_grad_()
    b = b0.clone().requires_grad_()
    params = [w, b]
    # The single-tensor implementations, whose roundings the native kernels follow.
    kwargs = dict(options, foreach=False)
    if groups is None:
        opt = OPTIMIZERS[opt_name]([w, b], **kwargs)
        group_specs = [{'params': [0, 1], 'options': {}}]
    else:
        opt = OPTIMIZERS[opt_name]([{'params': [params[i] for i in g['params']], **g['options']} for g in groups], **kwargs)
        group_specs = [{'params': g['params'], 'options': camel_options(g['options'])} for g in groups]
    steps = []
    for _ in range(STEPS):
        opt.zero_grad(set_to_none=True)
        loss = ((x @ w.t() + b).tanh() - y).pow(2).mean()
        loss.backward()
        grads = [enc_tensor(p.grad) for p in params]
        opt.step()
        steps.append({'grads': grads, 'params': [enc_tensor(p) for p in params]})
    dtype_name = 'float32' if dtype == torch.float32 else 'float64'
    return {
        'name': name,
        'optimizer': opt_name,
        'dtype': dtype_name,
        'options': camel_options(options),
        'groups': group_specs,
        'init': [enc_tensor(w0), enc_tensor(b0)],
        'data': {'x': enc_tensor(x), 'y': enc_tensor(y)},
        'steps': steps,
    }


def update_cases():
    c = []
    # SGD
    c.append(trajectory('sgd_plain', 'SGD', {'lr': 0.1}))
    c.append(trajectory('sgd_momentum', 'SGD', {'lr': 0.1, 'momentum': 0.9}))
    c.append(trajectory('sgd_nesterov', 'SGD', {'lr': 0.05, 'momentum': 0.9, 'nesterov': True}))
    c.append(trajectory('sgd_dampening_wd', 'SGD', {'lr': 0.1, 'momentum': 0.8, 'dampening': 0.3, 'weight_decay': 0.05}))
    c.append(trajectory('sgd_wd_maximize', 'SGD', {'lr': 0.1, 'weight_decay': 0.1, 'maximize': True}))
    c.append(trajectory('sgd_momentum_f64', 'SGD', {'lr': 0.1, 'momentum': 0.9, 'weight_decay': 0.01}, dtype=torch.float64))
    # Adam
    c.append(trajectory('adam_default', 'Adam', {'lr': 0.01}))
    c.append(trajectory('adam_wd', 'Adam', {'lr': 0.01, 'weight_decay': 0.1}))
    c.append(trajectory('adam_amsgrad', 'Adam', {'lr': 0.02, 'amsgrad': True}))
    c.append(trajectory('adam_betas_eps_maximize', 'Adam', {'lr': 0.01, 'betas': (0.8, 0.95), 'eps': 1e-6, 'maximize': True}))
    c.append(trajectory('adam_amsgrad_wd_f64', 'Adam', {'lr': 0.01, 'amsgrad': True, 'weight_decay': 0.01}, dtype=torch.float64))
    # AdamW
    c.append(trajectory('adamw_default', 'AdamW', {'lr': 0.01}))
    c.append(trajectory('adamw_wd_amsgrad', 'AdamW', {'lr': 0.01, 'weight_decay': 0.1, 'amsgrad': True}))
    c.append(trajectory('adamw_f64', 'AdamW', {'lr': 0.05, 'weight_decay': 0.05}, dtype=torch.float64))
    # RMSprop
    c.append(trajectory('rmsprop_default', 'RMSprop', {'lr': 0.01}))
    c.append(trajectory('rmsprop_momentum', 'RMSprop', {'lr': 0.01, 'momentum': 0.9}))
    c.append(trajectory('rmsprop_centered', 'RMSprop', {'lr': 0.01, 'centered': True}))
    c.append(trajectory('rmsprop_centered_momentum_wd', 'RMSprop',
                        {'lr': 0.005, 'centered': True, 'momentum': 0.5, 'weight_decay': 0.1}))
    c.append(trajectory('rmsprop_alpha_eps_maximize', 'RMSprop', {'lr': 0.01, 'alpha': 0.9, 'eps': 1e-6, 'maximize': True}))
    c.append(trajectory('rmsprop_centered_momentum_f64', 'RMSprop', {'lr': 0.01, 'centered': True, 'momentum': 0.9},
                        dtype=torch.float64))
    # Adagrad
    c.append(trajectory('adagrad_default', 'Adagrad', {'lr': 0.1}))
    c.append(trajectory('adagrad_lr_decay_wd', 'Adagrad', {'lr': 0.1, 'lr_decay': 0.05, 'weight_decay': 0.1}))
    c.append(trajectory('adagrad_init_acc_eps', 'Adagrad', {'lr': 0.1, 'initial_accumulator_value': 0.1, 'eps': 1e-6}))
    c.append(trajectory('adagrad_maximize_f64', 'Adagrad', {'lr': 0.05, 'maximize': True}, dtype=torch.float64))
    # Param groups: per-group lr and other overrides of the defaults.
    c.append(trajectory('sgd_groups', 'SGD', {'lr': 0.1, 'momentum': 0.9},
                        groups=[{'params': [0], 'options': {}},
                                {'params': [1], 'options': {'lr': 0.01, 'momentum': 0.5, 'weight_decay': 0.1}}]))
    c.append(trajectory('adam_groups', 'Adam', {'lr': 0.01},
                        groups=[{'params': [1], 'options': {'lr': 0.05, 'amsgrad': True}},
                                {'params': [0], 'options': {'betas': (0.5, 0.9)}}]))
    return c


# ---------------------------------------------------------------------------
# lr schedulers

S = torch.optim.lr_scheduler


def schedule(name, make_opt, make_sched, steps=30, metrics=None, record_momentum=None):
    opt = make_opt()
    sched = make_sched(opt)

    def momenta():
        if record_momentum == 'momentum':
            return [g['momentum'] for g in opt.param_groups]
        if record_momentum == 'beta1':
            return [g['betas'][0] for g in opt.param_groups]
        return None

    # ReduceLROnPlateau (1.13) has no get_last_lr; the groups' lr is the same thing.
    def last_lr():
        return [float(g['lr']) for g in opt.param_groups]

    lrs = [last_lr()]
    moms = [momenta()]
    for i in range(steps):
        opt.step()
        if metrics is not None:
            sched.step(metrics[i])
        else:
            sched.step()
        if not isinstance(sched, S.ReduceLROnPlateau):
            assert sched.get_last_lr() == last_lr()
        lrs.append(last_lr())
        moms.append(momenta())
    out = {'name': name, 'lrs': lrs}
    if record_momentum:
        out['momentum'] = moms
    if metrics is not None:
        out['metrics'] = metrics
    return out


def two_group_sgd(momentum=0.0):
    def make():
        a = torch.zeros(2, requires_grad=True)
        b = torch.zeros(3, requires_grad=True)
        return torch.optim.SGD([{'params': [a]}, {'params': [b], 'lr': 0.01}], lr=0.1, momentum=momentum)
    return make


def one_group_adam():
    a = torch.zeros(2, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    return torch.optim.Adam([{'params': [a]}, {'params': [b], 'lr': 0.02}], lr=0.01, foreach=False)


def scheduler_cases():
    c = []
    c.append(dict(schedule('step_lr', two_group_sgd(), lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
                  scheduler='StepLR', options={'stepSize': 7, 'gamma': 0.5}))
    c.append(dict(schedule('multi_step_lr', two_group_sgd(), lambda o: S.MultiStepLR(o, milestones=[3, 8, 8, 15], gamma=0.3)),
                  scheduler='MultiStepLR', options={'milestones': [3, 8, 8, 15], 'gamma': 0.3}))
    c.append(dict(schedule('exponential_lr', two_group_sgd(), lambda o: S.ExponentialLR(o, gamma=0.9)),
                  scheduler='ExponentialLR', options={'gamma': 0.9}))
    c.append(dict(schedule('cosine_annealing_lr', two_group_sgd(), lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
                  scheduler='CosineAnnealingLR', options={'TMax': 10, 'etaMin': 0.001}))
    c.append(dict(schedule('cosine_annealing_lr_t7', two_group_sgd(), lambda o: S.CosineAnnealingLR(o, T_max=7)),
                  scheduler='CosineAnnealingLR', options={'TMax': 7}))
    c.append(dict(schedule('one_cycle_lr_cos_sgd', two_group_sgd(momentum=0.9), lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=30),
                           record_momentum='momentum'),
                  scheduler='OneCycleLR', options={'maxLr': 1.0, 'totalSteps': 30}, optimizer='SGD', sgdMomentum=0.9))
    c.append(dict(schedule('one_cycle_lr_linear_three_phase_adam', one_group_adam,
                           lambda o: S.OneCycleLR(o, max_lr=[0.5, 0.2], epochs=3, steps_per_epoch=10, pct_start=0.25,
                                                  anneal_strategy='linear', three_phase=True, div_factor=10.0,
                                                  final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9),
                           record_momentum='beta1'),
                  scheduler='OneCycleLR',
                  options={'maxLr': [0.5, 0.2], 'epochs': 3, 'stepsPerEpoch': 10, 'pctStart': 0.25,
                           'annealStrategy': 'linear', 'threePhase': True, 'divFactor': 10.0,
                           'finalDivFactor': 100.0, 'baseMomentum': 0.8, 'maxMomentum': 0.9},
                  optimizer='Adam'))
    c.append(dict(schedule('one_cycle_lr_no_momentum', two_group_sgd(), lambda o: S.OneCycleLR(o, max_lr=0.3, total_steps=25,
                                                                                                pct_start=0.4, cycle_momentum=False),
                           steps=25),
                  scheduler='OneCycleLR', options={'maxLr': 0.3, 'totalSteps': 25, 'pctStart': 0.4, 'cycleMomentum': False}))
    # A metric that improves, stalls, improves a little (below the threshold), then recovers.
    metrics_min = [10, 9, 8, 8, 8, 8, 7.99, 7.98, 8, 8, 5, 5, 5, 5, 5, 5, 4.99, 4, 4, 4,
                   4, 4, 4, 4, 3, 3, 3, 3, 3, 3]
    c.append(dict(schedule('plateau_min_rel', two_group_sgd(),
                           lambda o: S.ReduceLROnPlateau(o, mode='min', factor=0.5, patience=2, threshold=0.01,
                                                         cooldown=1, min_lr=0.004),
                           metrics=metrics_min),
                  scheduler='ReduceLROnPlateau',
                  options={'mode': 'min', 'factor': 0.5, 'patience': 2, 'threshold': 0.01, 'cooldown': 1, 'minLr': 0.004}))
    metrics_max = [0.1, 0.2, 0.25, 0.25, 0.26, 0.3, 0.3, 0.3, 0.3, 0.31, 0.5, 0.5, 0.5, 0.5, 0.5,
                   0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]
    c.append(dict(schedule('plateau_max_abs', two_group_sgd(),
                           lambda o: S.ReduceLROnPlateau(o, mode='max', factor=0.1, patience=1, threshold=0.05,
                                                         threshold_mode='abs', min_lr=[0.0, 0.0005], eps=1e-5),
                           metrics=metrics_max),
                  scheduler='ReduceLROnPlateau',
                  options={'mode': 'max', 'factor': 0.1, 'patience': 1, 'threshold': 0.05, 'thresholdMode': 'abs',
                           'minLr': [0.0, 0.0005], 'eps': 1e-5}))
    return c


def main():
    torch.manual_seed(0)
    os.makedirs(OUT_DIR, exist_ok=True)
    version = torch.__version__
    updates = {'torch_version': version, 'steps': STEPS, 'cases': update_cases()}
    with open(os.path.join(OUT_DIR, 'optim_updates.json'), 'w') as f:
        json.dump(updates, f, separators=(',', ':'))
        f.write('\n')
    scheds = {'torch_version': version, 'cases': scheduler_cases()}
    with open(os.path.join(OUT_DIR, 'optim_schedulers.json'), 'w') as f:
        json.dump(scheds, f, separators=(",", ":"))
        f.write('\n')
    print(f"wrote {len(updates['cases'])} optimizer cases and {len(scheds['cases'])} scheduler cases to {OUT_DIR}")


if __name__ == '__main__':
    main()
