#!/usr/bin/env python3
"""Golden file for tests/mobile_test.cpp: torchvision's mobilenet_v2, mobilenet_v3_small and
efficientnet_b0 (num_classes 10) with every parameter and buffer set by make_resnet_golden.py's
formula of its name (fill(), imported: the formula lives there), plus the ops they need. Run with
Debian's torch and torchvision:

    /usr/bin/python3 tests/golden/make_mobile_golden.py      # writes tests/golden/mobile.safetensors

Input x [2, 3, SIZE, SIZE]: x[i] = sin(0.73 * i); labels [3, 7].
Dropout (classifier) and stochastic depth (EfficientNet's MBConv) are random in training mode, so
the train step runs with their p set to 0 on both sides (torch: module.p = 0; graft: the options
dropout = 0 and stochastic_depth_prob = 0); eval logits are taken with the default p (identity in eval).

For each model M the file holds:
    M.logits            eval-mode logits [2, 10]
    M.loss              0-d: mean cross-entropy in train mode with features.0 .. features.K frozen
                        (requires_grad False, their BatchNorms in eval; K = FROZEN[M])
    M.grad_cls.weight, M.grad_cls.bias    gradients of that loss for the last Linear of classifier
    M.grad_first.head   the first 256 values of the first trainable conv's weight gradient (FIRST[M])
    M.grad_first.sums   [2]: its sum and sum of absolute values (float64)
    M.first_bn.running_mean   running_mean of the BatchNorm after that conv, after the training forward
    M.probe             the first 64 values of FIRST[M]'s weight as filled (checks the formula)
and "input". Metadata "keys.M" (the state_dict() keys, one per line) for those three and
mobilenet_v3_large, and "params.M" (parameter count at 1000 classes) for every builder.
Every gradient recorded here agrees with the same computation in float64 closely relative to its
peak (checked below: 3e-5), so a float32 implementation can match it to 1e-4.

Ops ("ops." prefix): hardswish/hardsigmoid/relu6 of OPS_X and the gradients of their sums
(kinks included: PyTorch's one-sided choices); pad of a [2, 3, 4] ramp in reflect and replicate
mode with pads (2, 1, 1, 2) and the gradient of sum(out * ramp_out) for each; conv2d with
padding="same", a 4x2 kernel with dilation (1, 2), on a [1, 2, 5, 6] input (weights by the
formula under the names "ops.same.weight", "ops.same.bias").
"""
import os

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

from make_golden import write_safetensors
from make_resnet_golden import fill

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE = 64
LABELS = [3, 7]
MODELS = ["mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0"]
FROZEN = {"mobilenet_v2": 17, "mobilenet_v3_small": 11, "efficientnet_b0": 7}
FIRST = {"mobilenet_v2": "features.18.0", "mobilenet_v3_small": "features.12.0", "efficientnet_b0": "features.8.0"}
FIRST_BN = {"mobilenet_v2": "features.18.1", "mobilenet_v3_small": "features.12.1", "efficientnet_b0": "features.8.1"}
ALL = ["mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"] + ["efficientnet_b%d" % i for i in range(8)]
OPS_X = [-4.0, -3.0, -2.5, -1.0, 0.0, 0.5, 3.0, 4.5, 6.0, 7.0]


def filled_tensor(name, shape):
    holder = {name: torch.empty(shape)}

    class Holder(torch.nn.Module):
        def state_dict(self):
            return holder

    fill(Holder())
    return holder[name]


def no_randomness(model):
    for m in model.modules():
        if isinstance(m, (torch.nn.Dropout, torchvision.ops.StochasticDepth)):
            m.p = 0.0


def train_step(m, x, labels, dtype):
    model = getattr(torchvision.models, m)(num_classes=10)
    fill(model)
    model = model.to(dtype)
    no_randomness(model)
    model.train()
    for i in range(FROZEN[m] + 1):
        part = model.features[i]
        for p in part.parameters():
            p.requires_grad_(False)
        for mod in part.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.eval()
    loss = F.cross_entropy(model(x.to(dtype)), labels)
    loss.backward()
    return model, loss


def models_section(tensors, metadata, x, labels):
    for m in MODELS:
        model = getattr(torchvision.models, m)(num_classes=10)
        fill(model)
        first = model.get_submodule(FIRST[m])
        tensors[m + ".probe"] = first.weight.detach().flatten()[:64].numpy().copy()
        model.eval()
        with torch.no_grad():
            tensors[m + ".logits"] = model(x).numpy()

        model, loss = train_step(m, x, labels, torch.float32)
        ref, ref_loss = train_step(m, x, labels, torch.float64)
        cls, ref_cls = model.classifier[-1], ref.classifier[-1]
        g = model.get_submodule(FIRST[m]).weight.grad
        rg = ref.get_submodule(FIRST[m]).weight.grad
        fresh = getattr(torchvision.models, m)(num_classes=10)
        fill(fresh)
        with torch.no_grad():
            ref_logits = fresh.double().eval()(x.double())
        for name, a, b in [("first", g, rg), ("cls.weight", cls.weight.grad, ref_cls.weight.grad),
                           ("logits", torch.from_numpy(tensors[m + ".logits"]), ref_logits)]:
            err = (a.double() - b).abs().max().item() / b.abs().max().item()
            print(m, name, "float32 vs float64, relative to the peak:", err)
            assert err < 3e-5, (m, name, err)
        tensors[m + ".loss"] = loss.detach().numpy()
        tensors[m + ".grad_cls.weight"] = cls.weight.grad.numpy()
        tensors[m + ".grad_cls.bias"] = cls.bias.grad.numpy()
        gd = g.double()
        tensors[m + ".grad_first.head"] = g.flatten()[:256].numpy().copy()
        tensors[m + ".grad_first.sums"] = np.array([gd.sum().item(), gd.abs().sum().item()], dtype=np.float64)
        tensors[m + ".first_bn.running_mean"] = model.get_submodule(FIRST_BN[m]).running_mean.numpy().copy()
        print(m, "loss", loss.item(), "logits", tensors[m + ".logits"].ravel()[:4])
    for m in MODELS + ["mobilenet_v3_large"]:
        metadata["keys." + m] = "\n".join(getattr(torchvision.models, m)(num_classes=10).state_dict().keys())
    for m in ALL:
        metadata["params." + m] = str(sum(p.numel() for p in getattr(torchvision.models, m)().parameters()))


def ops_section(tensors):
    x = torch.tensor(OPS_X, dtype=torch.float32)
    tensors["ops.x"] = x.numpy()
    for name, f in [("hardswish", F.hardswish), ("hardsigmoid", F.hardsigmoid), ("relu6", F.relu6)]:
        xr = x.clone().requires_grad_()
        y = f(xr)
        y.sum().backward()
        tensors["ops." + name] = y.detach().numpy()
        tensors["ops." + name + ".grad"] = xr.grad.numpy()
    ramp = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) * 0.5 - 3
    tensors["ops.pad.input"] = ramp.numpy()
    for mode in ["reflect", "replicate"]:
        xr = ramp.clone().requires_grad_()
        y = F.pad(xr, (2, 1, 1, 2), mode=mode)
        w = torch.arange(y.numel(), dtype=torch.float32).reshape(y.shape) * 0.1
        (y * w).sum().backward()
        tensors["ops.pad." + mode] = y.detach().numpy()
        tensors["ops.pad." + mode + ".grad"] = xr.grad.numpy()
    xs = torch.from_numpy(np.sin(0.37 * np.arange(60)).astype(np.float32).reshape(1, 2, 5, 6))
    w = filled_tensor("ops.same.weight", (3, 2, 4, 2))
    b = filled_tensor("ops.same.bias", (3,))
    tensors["ops.same.input"] = xs.numpy()
    tensors["ops.same.output"] = F.conv2d(xs, w, b, padding="same", dilation=(1, 2)).numpy()


def main():
    torch.set_num_threads(1)
    x = torch.from_numpy(np.sin(0.73 * np.arange(2 * 3 * SIZE * SIZE, dtype=np.float64)).astype(np.float32)
                         .reshape(2, 3, SIZE, SIZE))
    labels = torch.tensor(LABELS, dtype=torch.int64)
    tensors, metadata = {"input": x.numpy()}, {}
    ops_section(tensors)
    models_section(tensors, metadata, x, labels)
    path = os.path.join(HERE, "mobile.safetensors")
    write_safetensors(path, tensors, metadata)
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
