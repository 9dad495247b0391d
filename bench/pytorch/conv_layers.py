"""PyTorch's side of ops_bench's BM_ConvResNet18Passes: every distinct convolution of
torchvision's ResNet-18 on a batch of 16 112×112 images, forward only, forward + input gradient,
forward + weight gradient, median ms of REPS runs at 1 and 2 threads.

    /usr/bin/python3 bench/pytorch/conv_layers.py [REPS]
"""
import sys
import time

import torch
import torch.nn.functional as F

CONVS = [  # name, N, C, S, O, k, stride
    ("stem.7x7.s2", 16, 3, 112, 64, 7, 2), ("layer1.3x3.64.s28", 16, 64, 28, 64, 3, 1),
    ("layer2.0.3x3.s2", 16, 64, 28, 128, 3, 2), ("layer2.down.1x1.s2", 16, 64, 28, 128, 1, 2),
    ("layer2.3x3.128.s14", 16, 128, 14, 128, 3, 1), ("layer3.0.3x3.s2", 16, 128, 14, 256, 3, 2),
    ("layer3.down.1x1.s2", 16, 128, 14, 256, 1, 2), ("layer3.3x3.256.s7", 16, 256, 7, 256, 3, 1),
    ("layer4.0.3x3.s2", 16, 256, 7, 512, 3, 2), ("layer4.down.1x1.s2", 16, 256, 7, 512, 1, 2),
    ("layer4.3x3.512.s4", 16, 512, 4, 512, 3, 1),
]
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 20


def run(threads):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    for name, n, c, s, o, k, stride in CONVS:
        pad = k // 2
        os_ = (s + 2 * pad - k) // stride + 1
        row = []
        for mode in range(3):
            x = torch.randn(n, c, s, s, requires_grad=(mode == 1))
            w = (torch.randn(o, c, k, k) * 0.05).requires_grad_(mode == 2)
            dy = torch.randn(n, o, os_, os_)
            times = []
            for i in range(reps + 3):
                t = time.perf_counter()
                if mode == 0:
                    with torch.no_grad():
                        F.conv2d(x, w, None, stride, pad)
                else:
                    F.conv2d(x, w, None, stride, pad).backward(dy)
                if i >= 3:
                    times.append(time.perf_counter() - t)
            times.sort()
            row.append(times[len(times) // 2] * 1e3)
        print(f"threads={threads} {name:22s} fwd {row[0]:8.3f}  fwd+dX {row[1]:8.3f}  fwd+dW {row[2]:8.3f} ms", flush=True)


for t in (1, 2):
    run(t)
