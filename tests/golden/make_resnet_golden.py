#!/usr/bin/env python3
"""Golden file for tests/resnet_test.cpp: torchvision's resnet18, resnet50 and resnext50_32x4d
(num_classes 10) with every parameter and buffer set by a formula of its name, so the C++ test
rebuilds the same model without a weight file. Run with Debian's torch and torchvision:

    apt-get install -y python3-torch python3-torchvision
    /usr/bin/python3 tests/golden/make_resnet_golden.py      # writes tests/golden/resnet.safetensors

The formula (tests/name_hash_weights.hpp computes the same in double precision, then rounds to
float32; make_mobile_golden.py imports fill() from here; a weight hash, not a smooth function of i,
so the sums inside the convs do not add up coherently
and the train-mode BatchNorm statistics stay well conditioned):
    h      = 0; for each byte b of the name: h = (h * 131 + b) % 1000003
    u[i]   = (i * 2654435761 + h) mod 2^32                       i: the flat (C-order) index
    v[i]   = offset + scale * (u[i] / 2^31 - 1)                  (uniform-looking in offset ± scale;
                                                                  integer steps, so C++ gets the same bits)
    conv weight   offset 0, scale sqrt(6 / fan_in)   (fan_in = in_channels/groups * kh * kw: kaiming's variance)
    Linear weight offset 0, scale sqrt(3 / in_features)
    bn weight     offset 1, scale 0.2;   any bias and running_mean offset 0, scale 0.1
    running_var   offset 1, scale 0.5 (so it stays in [0.5, 1.5])
    num_batches_tracked   h % 1000 (int64)
Input x [2, 3, 64, 64]: x[i] = sin(0.73 * i); labels [3, 7].

For each model M the file holds:
    M.logits            eval-mode logits [2, 10]
    M.loss              0-d: mean cross-entropy in train mode with conv1, bn1 and layer1..layer3 frozen
                        (requires_grad False, their BatchNorms in eval mode)
    M.grad_fc.weight, M.grad_fc.bias        gradients of that loss
    M.grad_l4c1.head    the first 256 values of layer4.0.conv1.weight's gradient (flattened)
    M.grad_l4c1.sums    [2]: its sum and its sum of absolute values (float64)
                        (these two for resnet18 only: see CONDITIONED_L4C1)
    M.l4bn1.running_mean    layer4.0.bn1.running_mean after that training forward
    M.probe             the first 64 values of layer4.0.conv1.weight as filled (checks the formula)
and "input" (the formula's x). Metadata "keys.M": the state_dict() keys, one per line.
"""
import math
import os

import numpy as np
import torch
import torchvision

from make_golden import write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = ["resnet18", "resnet50", "resnext50_32x4d"]
LABELS = [3, 7]
# Models whose layer4.0.conv1 gradient is well conditioned here. In the Bottleneck models layer4
# runs on 2x2 maps (8 values per channel in its train-mode BatchNorms), and PyTorch's own gradient
# there moves by 1e-2 to 1e-1 of its peak when the layer3 features move by 1e-6 (relative), so no
# float32 implementation can match it to 1e-4; their fc gradients are well conditioned.
CONDITIONED_L4C1 = ["resnet18"]


def name_hash(name):
    h = 0
    for b in name.encode():
        h = (h * 131 + b) % 1000003
    return h


def offset_scale(name, tensor):
    leaf = name.rsplit(".", 1)[-1]
    if tensor.dim() == 4:
        return 0.0, math.sqrt(6.0 / tensor[0].numel())
    if tensor.dim() == 2:  # a Linear weight (fc.weight here; classifier.N.weight in make_mobile_golden.py)
        return 0.0, math.sqrt(3.0 / tensor.shape[1])
    return {"weight": (1.0, 0.2), "bias": (0.0, 0.1), "running_mean": (0.0, 0.1), "running_var": (1.0, 0.5)}[leaf]


def fill(model):
    with torch.no_grad():
        for name, t in model.state_dict().items():
            h = name_hash(name)
            if name.endswith("num_batches_tracked"):
                t.fill_(h % 1000)
                continue
            offset, scale = offset_scale(name, t)
            i = np.arange(t.numel(), dtype=np.uint64)
            u = (i * np.uint64(2654435761) + np.uint64(h)) % np.uint64(1 << 32)
            v = offset + scale * (u.astype(np.float64) / 2147483648.0 - 1.0)
            t.copy_(torch.from_numpy(v.astype(np.float32).reshape(tuple(t.shape))))


def main():
    torch.set_num_threads(1)
    x = torch.from_numpy(np.sin(0.73 * np.arange(2 * 3 * 64 * 64, dtype=np.float64)).astype(np.float32)
                         .reshape(2, 3, 64, 64))
    labels = torch.tensor(LABELS, dtype=torch.int64)
    tensors, metadata = {"input": x.numpy()}, {}
    for m in MODELS:
        model = getattr(torchvision.models, m)(num_classes=10)
        fill(model)
        metadata["keys." + m] = "\n".join(model.state_dict().keys())
        tensors[m + ".probe"] = model.layer4[0].conv1.weight.detach().flatten()[:64].numpy().copy()

        model.eval()
        with torch.no_grad():
            tensors[m + ".logits"] = model(x).numpy()

        model.train()
        frozen = [model.conv1, model.bn1, model.layer1, model.layer2, model.layer3]
        for part in frozen:
            for p in part.parameters():
                p.requires_grad_(False)
            for mod in part.modules():
                if isinstance(mod, torch.nn.BatchNorm2d):
                    mod.eval()
        loss = torch.nn.functional.cross_entropy(model(x), labels)
        loss.backward()
        g = model.layer4[0].conv1.weight.grad.double()
        tensors[m + ".loss"] = loss.detach().numpy()
        tensors[m + ".grad_fc.weight"] = model.fc.weight.grad.numpy()
        tensors[m + ".grad_fc.bias"] = model.fc.bias.grad.numpy()
        if m in CONDITIONED_L4C1:
            tensors[m + ".grad_l4c1.head"] = g.flatten()[:256].float().numpy()
            tensors[m + ".grad_l4c1.sums"] = np.array([g.sum().item(), g.abs().sum().item()], dtype=np.float64)
        tensors[m + ".l4bn1.running_mean"] = model.layer4[0].bn1.running_mean.numpy().copy()
        print(m, "loss", loss.item(), "logits", tensors[m + ".logits"].ravel()[:4])
    path = os.path.join(HERE, "resnet.safetensors")
    write_safetensors(path, tensors, metadata)
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
