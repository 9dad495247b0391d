"""Shared timing and FLOP counting for the PyTorch side of graft's benchmarks (bench/pytorch/).

Every workload script prints lines in the format bench_workloads prints, so that bench/compare.sh
can join them:  `name  median_ms  ms`  and, for the real-architecture workloads,
`flop  name  FLOP_per_step`.

With BENCH_BF16=1 in the environment (bench/compare.sh's BF16=1) the training steps run their
forward and loss under torch.autocast('cpu', dtype=torch.bfloat16), the peer of graft's
bench_workloads --bf16. With BENCH_CPU_TIME=1 the medians are of the process's CPU time."""
import contextlib
import os
import statistics
import time

import torch
import torch.nn as nn


BF16 = os.environ.get("BENCH_BF16", "") == "1"


def autocast():
    """torch.autocast('cpu', dtype=torch.bfloat16) when BENCH_BF16=1, else a context that does nothing."""
    return torch.autocast("cpu", dtype=torch.bfloat16) if BF16 else contextlib.nullcontext()


# BENCH_CPU_TIME=1: time the process's CPU time (all threads) instead of wall time — with one
# thread the steadier figure on a shared machine, as bench_workloads' `cpu X ms`.
CLOCK = time.process_time if os.environ.get("BENCH_CPU_TIME", "") == "1" else time.perf_counter


def median_ms(fn, warmup=3, reps=10):
    """Median time (wall, or CPU with BENCH_CPU_TIME=1) of `reps` calls of fn after `warmup` untimed
    ones, in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = CLOCK()
        fn()
        times.append(CLOCK() - start)
    return statistics.median(times) * 1e3


class FlopCounter:
    """Counts the multiply-add FLOP of one training step's convolutions, linear layers and attention
    products with forward hooks: 2·MACs for the forward, the same again for the input gradient when
    the layer's input requires one, and again for the weight gradient when its weight is trainable.
    Attention products are added by the model code through `attention(...)` (they are not modules)."""

    def __init__(self, model):
        self.total = 0.0
        self.handles = [m.register_forward_hook(self._hook) for m in model.modules()
                        if isinstance(m, (nn.Conv2d, nn.Linear))]

    def _hook(self, module, inputs, output):
        x = inputs[0]
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            macs = output.numel() * (module.in_channels // module.groups) * kh * kw
        else:
            macs = output.numel() * module.in_features
        passes = 1 + int(x.requires_grad) + int(module.weight.requires_grad)
        self.total += 2.0 * macs * passes

    def attention(self, q, k, v):
        """q·kᵀ and p·v of one attention call: 4·B·H·Tq·Tk·D forward, twice that backward when
        the inputs need gradients."""
        b, h, tq, d = q.shape
        tk = k.shape[-2]
        passes = 1 + 2 * int(q.requires_grad or k.requires_grad or v.requires_grad)
        self.total += 4.0 * b * h * tq * tk * d * passes

    def remove(self):
        for handle in self.handles:
            handle.remove()


def count_step_flop(model, forward):
    """FLOP of one training step of `model` as FlopCounter counts them; `forward(counter)` runs the
    forward pass (with the model's attention reporting to the counter, where it has attention)."""
    counter = FlopCounter(model)
    try:
        forward(counter)
    finally:
        counter.remove()
    return counter.total


def set_threads(argv):
    threads = int(argv[1]) if len(argv) > 1 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    return threads
