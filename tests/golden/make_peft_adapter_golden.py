#!/usr/bin/env python3
"""Golden adapter folder for LoraPeft.* in tests/lora_test.cpp: a LoRA adapter laid out exactly as
PEFT's save_pretrained writes one, computed with PEFT's formula in plain torch (PyTorch 1.13; the
peft package is not needed).

    /usr/bin/python3 tests/golden/make_peft_adapter_golden.py

The model: ModuleDict(layers = ModuleList of 2 × ModuleDict(q_proj, k_proj, v_proj: Linear(6, 8)),
score = Linear(8, 3)), with LoRA (r 2, lora_alpha 8, dropout 0.1) on target_modules
["q_proj", "v_proj"] (PEFT's list rule: a module whose name is, or ends in ".", an entry) and
"score" in modules_to_save, as for task_type SEQ_CLS.

peft_adapter/ is what PEFT writes:
    adapter_config.json        every key PEFT 0.13's LoraConfig writes, PEFT's defaults for the rest
    adapter_model.safetensors  base_model.model.<path>.lora_A.weight [r, in], ….lora_B.weight [out, r],
                               and the modules_to_save module's state dict under
                               base_model.model.score.<name> (PEFT saves "score.modules_to_save.default.<name>"
                               with the "modules_to_save." and ".default" parts removed); metadata {"format": "pt"}

peft_adapter_expected.safetensors:
    base.<name>                the base model's state_dict() (the "pretrained" weights)
    input                      [3, 6]
    out.<path>                 each projection's output on input in eval mode (LoRA layers: base + (alpha/r)·x·Aᵀ·Bᵀ)
    score_input, score_output  [3, 8] → [3, 3] through the saved score head
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
from make_golden import write_safetensors  # noqa: E402

R = 2
ALPHA = 8
DROPOUT = 0.1
TARGETS = ["q_proj", "v_proj"]
SAVED = ["score"]


def target_selected(path):
    """PEFT's rule for a list of target_modules."""
    return any(path == t or path.endswith("." + t) for t in TARGETS)


def main():
    torch.manual_seed(17)
    model = nn.ModuleDict({
        "layers": nn.ModuleList([nn.ModuleDict({n: nn.Linear(6, 8) for n in ("q_proj", "k_proj", "v_proj")})
                                 for _ in range(2)]),
        "score": nn.Linear(8, 3),
    })
    expected = {f"base.{k}": v.detach().numpy().copy() for k, v in model.state_dict().items()}
    x = torch.randn(3, 6)
    expected["input"] = x.numpy()

    adapter = {}
    for path, module in model.named_modules():
        if not (isinstance(module, nn.Linear) and target_selected(path)):
            continue
        a = torch.empty(R, module.in_features)
        nn.init.kaiming_uniform_(a, a=math.sqrt(5))
        b = 0.1 * torch.randn(module.out_features, R)  # as after training: non-zero
        adapter[f"base_model.model.{path}.lora_A.weight"] = a.numpy()
        adapter[f"base_model.model.{path}.lora_B.weight"] = b.numpy()
    for path, module in model.named_modules():
        if path in ("layers", "score") or not isinstance(module, nn.Linear):
            continue
        with torch.no_grad():
            y = module(x)
            if target_selected(path):
                a = torch.from_numpy(adapter[f"base_model.model.{path}.lora_A.weight"])
                b = torch.from_numpy(adapter[f"base_model.model.{path}.lora_B.weight"])
                y = y + (x @ a.t() @ b.t()) * (ALPHA / R)
        expected[f"out.{path}"] = y.numpy()

    # The trained copy of the modules_to_save head.
    score = nn.Linear(8, 3)
    for name, t in score.state_dict().items():
        adapter[f"base_model.model.score.{name}"] = t.numpy().copy()
    h = torch.randn(3, 8)
    expected["score_input"] = h.numpy()
    with torch.no_grad():
        expected["score_output"] = score(h).numpy()

    config = {  # PEFT 0.13's LoraConfig.to_dict(), as save_pretrained writes it (sorted, indent 2)
        "alpha_pattern": {},
        "auto_mapping": None,
        "base_model_name_or_path": "tiny-base",
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "layer_replication": None,
        "layers_pattern": None,
        "layers_to_transform": None,
        "loftq_config": {},
        "lora_alpha": ALPHA,
        "lora_dropout": DROPOUT,
        "megatron_config": None,
        "megatron_core": "megatron.core",
        "modules_to_save": SAVED,
        "peft_type": "LORA",
        "r": R,
        "rank_pattern": {},
        "revision": None,
        "target_modules": list(reversed(TARGETS)),  # PEFT stores a set: any order
        "task_type": "SEQ_CLS",
        "use_dora": False,
        "use_rslora": False,
    }
    folder = os.path.join(HERE, "peft_adapter")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    write_safetensors(os.path.join(folder, "adapter_model.safetensors"), adapter, {"format": "pt"})
    write_safetensors(os.path.join(HERE, "peft_adapter_expected.safetensors"), expected, {"torch": torch.__version__})
    for name in ("peft_adapter/adapter_config.json", "peft_adapter/adapter_model.safetensors",
                 "peft_adapter_expected.safetensors"):
        path = os.path.join(HERE, name)
        print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
