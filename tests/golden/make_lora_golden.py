#!/usr/bin/env python3
"""Golden files for LoraGolden.* in tests/lora_test.cpp: LoRA on make_golden.py's mlp, computed by
PyTorch (1.13) with PEFT's formula written out in plain torch (the peft package is not needed).

    /usr/bin/python3 tests/golden/make_lora_golden.py

The model is Sequential(Linear(6, 12), ReLU(), Linear(12, 4)) with LoRA (r 2, alpha 4, no dropout)
on "0" and "2": y = base(x) + (alpha/r)·(x·Aᵀ)·Bᵀ, base weights frozen, B non-zero as after some
training so that every gradient is non-zero.

lora_adapter.safetensors is the adapter as PEFT saves it: base_model.model.<path>.lora_A.weight
[r, in] and ….lora_B.weight [out, r], with the config in the metadata as graft writes it.

lora.safetensors holds:
    init.<name>           the base model's state_dict() (the "pretrained" weights)
    input, target         the batch (target: int64 class indices)
    output, loss          the LoRA model's output in train mode and the mean cross-entropy (0-d)
    grad.<path>.lora_A    the adapters' gradients of that loss (…lora_B likewise)
    step_loss             [3]: the loss before each of three AdamW steps (lr 1e-2, weight decay 0.01)
                          on the adapters only, on the same batch
    step3.<path>.lora_A   the adapters after those steps (…lora_B likewise)
"""
import json
import math
import os
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
from make_golden import LR, STEPS, WEIGHT_DECAY, adamw_steps, make_mlp, mlp_batch, write_safetensors  # noqa: E402

R = 2
ALPHA = 4.0
TARGETS = ["0", "2"]


class LoraLinear(nn.Module):
    """PEFT's LoRA Linear: the frozen base plus scale·(x·Aᵀ)·Bᵀ."""

    def __init__(self, base):
        super().__init__()
        self.base = base
        base.requires_grad_(False)
        self.lora_A = nn.Parameter(torch.empty(R, base.in_features))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.lora_B = nn.Parameter(0.1 * torch.randn(base.out_features, R))
        self.scale = ALPHA / R

    def forward(self, x):
        return self.base(x) + (x @ self.lora_A.t() @ self.lora_B.t()) * self.scale


def adapters(model):
    return {f"{path}.{name}": getattr(model[int(path)], name) for path in TARGETS for name in ("lora_A", "lora_B")}


def main():
    torch.set_num_threads(1)
    torch.manual_seed(5)
    model = make_mlp()
    x, y = mlp_batch()
    out = {f"init.{k}": v.detach().numpy().copy() for k, v in model.state_dict().items()}
    out["input"] = x.numpy()
    out["target"] = y.numpy()
    for path in TARGETS:
        model[int(path)] = LoraLinear(model[int(path)])
    adapter_file = {}
    for key, p in adapters(model).items():
        path, name = key.split(".")
        adapter_file[f"base_model.model.{path}.{name}.weight"] = p.detach().numpy().copy()
    initial = {k: p.detach().clone() for k, p in adapters(model).items()}

    model.train()
    output = model(x)
    loss = nn.functional.cross_entropy(output, y)
    loss.backward()
    out["output"] = output.detach().numpy()
    out["loss"] = loss.detach().numpy().reshape(())
    for k, p in adapters(model).items():
        out[f"grad.{k}"] = p.grad.numpy().copy()

    with torch.no_grad():
        for k, p in adapters(model).items():
            p.copy_(initial[k])
            p.grad = None
    out["step_loss"] = adamw_steps(model, list(adapters(model).values()), x, y)
    for k, p in adapters(model).items():
        out[f"step3.{k}"] = p.detach().numpy().copy()

    meta = {"format": "pt", "peft_type": "LORA", "r": str(R), "lora_alpha": repr(ALPHA), "lora_dropout": "0.0",
            "target_modules": json.dumps(TARGETS, separators=(",", ":"))}
    write_safetensors(os.path.join(HERE, "lora_adapter.safetensors"), adapter_file, meta)
    write_safetensors(os.path.join(HERE, "lora.safetensors"), out,
                      {"steps": str(STEPS), "lr": repr(LR), "weight_decay": repr(WEIGHT_DECAY),
                       "torch": torch.__version__})
    for name in ("lora_adapter.safetensors", "lora.safetensors"):
        path = os.path.join(HERE, name)
        print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
