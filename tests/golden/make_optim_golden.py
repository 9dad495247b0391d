#!/usr/bin/env python3
"""Writes tests/golden/optim_golden.txt: parameters after each optimizer step and learning rates
after each scheduler step, computed by PyTorch (1.13, Debian's python3-torch), for
tests/optim_test.cpp and tests/optim_sched_test.cpp. The C++ tests need only the text file.

    apt-get install -y python3-torch
    /usr/bin/python3 tests/golden/make_optim_golden.py

Nothing is random: two float64 parameters start from fixed values and see a fixed sequence of
gradients (parameter 1 has none at steps 1 and 4, so its state starts at step 2 and its step
count lags). Every optimizer configuration runs 5 steps; every scheduler 30.

File format, one record per line, numbers as Python's repr (they round-trip exactly):
    param <i> <ndim> <dims...> <values...>
    grad <step> <i> <values...> | grad <step> <i> none
    optimizer <case> <class>        then:  group <n> <param indices...> <option>=<value>...
                                           expect <step> <i> <values...>
                                           end
    scheduler <case> <kind> <optimizer class> <arg>=<value>...   (lists as a,b,c)
                                    then:  metric <step> <value>   (ReduceLROnPlateau)
                                           lr <step> <lr per group...>
                                           momentum <step> <momentum per group...>   (OneCycleLR)
                                           end
"""
import math
import os
import warnings

import torch

STEPS = 5
SCHED_STEPS = 30
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim_golden.txt")

warnings.filterwarnings("ignore")  # SequentialLR's step(0) deprecation notice
torch.set_default_dtype(torch.float64)


def fmt(x):
    return repr(float(x))


def initial_params():
    p0 = [0.5 * math.sin(0.37 * k + 0.1) + 0.1 * k / 12 for k in range(12)]
    p1 = [0.8 * math.cos(0.53 * k) - 0.2 for k in range(5)]
    return [torch.tensor(p0).reshape(3, 4), torch.tensor(p1)]


def gradient(step, i, shape):
    """The gradient of parameter i at step (1-based), or None; magnitudes shrink with the step."""
    if i == 1 and step in (1, 4):
        return None
    n = math.prod(shape)
    scale = 1.5 - 0.25 * step
    g = [scale * math.sin(1.1 * k + 0.7 * step + 0.3 * i) for k in range(n)]
    if i == 0 and step == 2:
        g[3] = 0.0
    return torch.tensor(g).reshape(shape)


OPTIMIZERS = [
    ("sgd_plain", "SGD", [dict(lr=0.1)]),
    ("sgd_momentum", "SGD", [dict(lr=0.1, momentum=0.9)]),
    ("sgd_nesterov", "SGD", [dict(lr=0.1, momentum=0.9, nesterov=True)]),
    ("sgd_dampening", "SGD", [dict(lr=0.1, momentum=0.9, dampening=0.3)]),
    ("sgd_weight_decay", "SGD", [dict(lr=0.1, momentum=0.5, weight_decay=0.01)]),
    ("sgd_maximize", "SGD", [dict(lr=0.05, momentum=0.9, weight_decay=0.1, maximize=True)]),
    ("sgd_groups", "SGD", [dict(lr=0.1, momentum=0.9), dict(lr=0.02, weight_decay=0.1)]),
    ("adam", "Adam", [dict(lr=0.01)]),
    ("adam_weight_decay", "Adam", [dict(lr=0.01, weight_decay=0.1)]),
    ("adam_amsgrad", "Adam", [dict(lr=0.01, betas=(0.8, 0.9), amsgrad=True)]),
    ("adam_all", "Adam", [dict(lr=0.02, betas=(0.85, 0.95), eps=1e-6, weight_decay=0.05, amsgrad=True, maximize=True)]),
    ("adamw", "AdamW", [dict(lr=0.01, weight_decay=0.1)]),
    ("adamw_default_decay", "AdamW", [dict(lr=0.01)]),
    ("adamw_amsgrad", "AdamW", [dict(lr=0.01, weight_decay=0.05, amsgrad=True, betas=(0.8, 0.9))]),
    ("adamw_groups", "AdamW", [dict(lr=0.02, weight_decay=0.1), dict(lr=0.005, weight_decay=0.0, betas=(0.85, 0.95))]),
    ("rmsprop", "RMSprop", [dict(lr=0.01)]),
    ("rmsprop_centered", "RMSprop", [dict(lr=0.01, centered=True)]),
    ("rmsprop_momentum", "RMSprop", [dict(lr=0.01, momentum=0.9)]),
    ("rmsprop_all", "RMSprop", [dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1, momentum=0.5, centered=True,
                                     maximize=True)]),
]

# Options written for each group: everything the group holds except torch's implementation switches.
SKIP = {"params", "foreach", "capturable", "differentiable", "fused", "initial_lr"}


def option_items(group):
    for key in sorted(group):
        if key in SKIP:
            continue
        value = group[key]
        if key == "betas":
            yield "betas.0", fmt(value[0])
            yield "betas.1", fmt(value[1])
        elif isinstance(value, bool):
            yield key, "1" if value else "0"
        else:
            yield key, fmt(value)


def write_optimizers(out):
    for case, cls, group_options in OPTIMIZERS:
        params = [p.clone().requires_grad_() for p in initial_params()]
        if len(group_options) == 1:
            groups = [dict(params=params, **group_options[0])]
            members = [[0, 1]]
        else:
            groups = [dict(params=[params[0]], **group_options[0]), dict(params=[params[1]], **group_options[1])]
            members = [[0], [1]]
        opt = getattr(torch.optim, cls)(groups, foreach=False)
        out.append(f"optimizer {case} {cls}")
        for g, group in enumerate(opt.param_groups):
            items = " ".join(f"{k}={v}" for k, v in option_items(group))
            out.append(f"group {len(members[g])} {' '.join(map(str, members[g]))} {items}")
        for step in range(1, STEPS + 1):
            for i, p in enumerate(params):
                p.grad = gradient(step, i, tuple(p.shape))
            opt.step()
            for i, p in enumerate(params):
                out.append(f"expect {step} {i} " + " ".join(fmt(v) for v in p.detach().flatten().tolist()))
        out.append("end")


def cosine_lambda(warmup, total):
    def factor(e):
        if e < warmup:
            return e / warmup
        progress = min(1.0, (e - warmup) / (total - warmup))
        return 0.5 * (1 + math.cos(math.pi * progress))
    return factor


def plateau_metrics(kind):
    if kind == "min":  # a loss: falls, then wobbles on a plateau, then falls a little again
        return [1.0 / (1 + 0.3 * t) if t < 10 else 0.26 + 0.01 * math.sin(t) - (0.05 if t > 22 else 0.0)
                for t in range(1, SCHED_STEPS + 1)]
    return [min(0.9, 0.1 * t) + 0.02 * math.cos(t) for t in range(1, SCHED_STEPS + 1)]  # an accuracy


L = torch.optim.lr_scheduler
SCHEDULERS = [
    ("steplr", "StepLR", "SGD", dict(step_size=7, gamma=0.5), lambda o: L.StepLR(o, 7, 0.5)),
    ("multisteplr", "MultiStepLR", "SGD", dict(milestones=[5, 12, 12, 20], gamma=0.3),
     lambda o: L.MultiStepLR(o, [5, 12, 12, 20], 0.3)),
    ("exponentiallr", "ExponentialLR", "SGD", dict(gamma=0.9), lambda o: L.ExponentialLR(o, 0.9)),
    ("cosine", "CosineAnnealingLR", "SGD", dict(T_max=10, eta_min=0.001),
     lambda o: L.CosineAnnealingLR(o, 10, 0.001)),
    ("onecycle", "OneCycleLR", "SGD", dict(max_lr=[1.0, 0.5], total_steps=30),
     lambda o: L.OneCycleLR(o, [1.0, 0.5], total_steps=30)),
    ("onecycle_three_phase_linear", "OneCycleLR", "Adam",
     dict(max_lr=[0.3, 0.3], total_steps=30, pct_start=0.25, anneal_strategy="linear", three_phase=1,
          base_momentum=0.8, max_momentum=0.9, div_factor=10.0, final_div_factor=100.0),
     lambda o: L.OneCycleLR(o, 0.3, total_steps=30, pct_start=0.25, anneal_strategy="linear", three_phase=True,
                            base_momentum=0.8, max_momentum=0.9, div_factor=10.0, final_div_factor=100.0)),
    ("plateau_min_rel", "ReduceLROnPlateau", "SGD",
     dict(mode="min", factor=0.5, patience=2, threshold=0.01, threshold_mode="rel", cooldown=1, min_lr=[0.01, 0.02]),
     lambda o: L.ReduceLROnPlateau(o, "min", factor=0.5, patience=2, threshold=0.01, cooldown=1,
                                   min_lr=[0.01, 0.02])),
    ("plateau_max_abs", "ReduceLROnPlateau", "SGD",
     dict(mode="max", factor=0.3, patience=1, threshold=0.1, threshold_mode="abs", cooldown=0, min_lr=[0.0]),
     lambda o: L.ReduceLROnPlateau(o, "max", factor=0.3, patience=1, threshold=0.1, threshold_mode="abs")),
    ("warmup_steplr", "LinearWarmup+StepLR", "SGD", dict(warmup_steps=4, start_factor=0.25, step_size=5, gamma=0.5),
     lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.25, 1.0, total_iters=4), L.StepLR(o, 5, 0.5)], [4])),
    ("warmup_cosine", "LinearWarmup+CosineAnnealingLR", "SGD", dict(warmup_steps=5, start_factor=0.1, T_max=20,
                                                                     eta_min=0.0),
     lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, total_iters=5), L.CosineAnnealingLR(o, 20, 0.0)], [5])),
    ("cosinelr", "CosineLR", "SGD", dict(warmup=5, total=25),
     lambda o: L.LambdaLR(o, cosine_lambda(5, 25))),
]


def arg_text(value):
    if isinstance(value, (list, tuple)):
        return ",".join(arg_text(v) for v in value)
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int) else fmt(value)


def write_schedulers(out):
    for case, kind, opt_cls, args, make in SCHEDULERS:
        params = [torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)]
        if opt_cls == "SGD":
            opt = torch.optim.SGD([dict(params=[params[0]], lr=0.1), dict(params=[params[1]], lr=0.05)],
                                  momentum=0.9, foreach=False)
        else:
            opt = torch.optim.Adam([dict(params=[params[0]], lr=0.1), dict(params=[params[1]], lr=0.05)],
                                   foreach=False)
        sched = make(opt)
        out.append(f"scheduler {case} {kind} {opt_cls} " + " ".join(f"{k}={arg_text(v)}" for k, v in args.items()))
        metrics = plateau_metrics(args["mode"]) if kind == "ReduceLROnPlateau" else None

        def record(step):
            out.append(f"lr {step} " + " ".join(fmt(g["lr"]) for g in opt.param_groups))
            if kind == "OneCycleLR":
                moments = [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]
                out.append(f"momentum {step} " + " ".join(fmt(m) for m in moments))

        record(0)
        for step in range(1, SCHED_STEPS + 1):
            opt.step()
            if metrics is not None:
                out.append(f"metric {step} {fmt(metrics[step - 1])}")
                sched.step(metrics[step - 1])
            else:
                sched.step()
            record(step)
        out.append("end")


def main():
    out = [f"# made by tests/golden/make_optim_golden.py with torch {torch.__version__}; do not edit"]
    for i, p in enumerate(initial_params()):
        out.append(f"param {i} {p.dim()} {' '.join(map(str, p.shape))} " + " ".join(fmt(v) for v in p.flatten().tolist()))
    for step in range(1, STEPS + 1):
        for i, p in enumerate(initial_params()):
            g = gradient(step, i, tuple(p.shape))
            out.append(f"grad {step} {i} " + ("none" if g is None else " ".join(fmt(v) for v in g.flatten().tolist())))
    write_optimizers(out)
    write_schedulers(out)
    with open(OUT, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
