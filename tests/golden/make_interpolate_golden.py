#!/usr/bin/env python3
"""Golden file for tests/interpolate_test.cpp: torch.nn.functional.interpolate, forward and
backward, on a fixed 4-D input. Run with Debian's python3-torch:

    /usr/bin/python3 tests/golden/make_interpolate_golden.py   # writes tests/golden/interpolate.safetensors

Input x [2, 3, 5, 7], float32: x[i] = sin(0.61·i) (i the flat index). For each case NAME the file
holds "NAME.out" = interpolate(x, ...) and "NAME.grad" = the gradient of sum(out · g) with respect
to x, where g has out's shape and g[i] = cos(0.29·i). The cases (mode, size or scale_factor,
align_corners) are in CASES below; the C++ test repeats the list.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

from make_golden import write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))

CASES = [
    ("nearest_up", dict(size=(8, 11), mode="nearest")),
    ("nearest_down", dict(size=(3, 4), mode="nearest")),
    ("nearest_x2", dict(scale_factor=2.0, mode="nearest")),
    ("nearest_s1.5x0.7", dict(scale_factor=(1.5, 0.7), mode="nearest")),
    ("bilinear_up", dict(size=(8, 11), mode="bilinear", align_corners=False)),
    ("bilinear_up_corners", dict(size=(8, 11), mode="bilinear", align_corners=True)),
    ("bilinear_down", dict(size=(3, 4), mode="bilinear", align_corners=False)),
    ("bilinear_s1.7", dict(scale_factor=1.7, mode="bilinear", align_corners=False)),
    ("bilinear_1x1_corners", dict(size=(1, 1), mode="bilinear", align_corners=True)),
]


def main():
    n = 2 * 3 * 5 * 7
    x0 = torch.from_numpy(np.sin(0.61 * np.arange(n)).astype(np.float32).reshape(2, 3, 5, 7))
    out = {"x": x0}
    for name, kw in CASES:
        x = x0.clone().requires_grad_()
        y = F.interpolate(x, **kw)
        g = torch.from_numpy(np.cos(0.29 * np.arange(y.numel())).astype(np.float32).reshape(y.shape))
        (y * g).sum().backward()
        out[name + ".out"] = y.detach()
        out[name + ".grad"] = x.grad
    write_safetensors(os.path.join(HERE, "interpolate.safetensors"), {k: v.numpy() for k, v in out.items()},
                      {"torch": torch.__version__})


if __name__ == "__main__":
    main()
