#!/usr/bin/env python3
"""Golden files for tests/gpt2_test.cpp: a tiny random GPT-2 written with plain torch modules whose
parameter names and layouts are exactly Hugging Face's GPT2LMHeadModel's (Conv1D weights [in, out],
lm_head tied to transformer.wte), run forward and backward by PyTorch (1.13, Debian's python3-torch;
the transformers package is not needed).

    /usr/bin/python3 tests/golden/make_gpt2_golden.py

Writes tests/golden/gpt2_tiny_config.json (a config.json as transformers writes it, with keys graft
ignores) and tests/golden/gpt2_tiny.safetensors holding:
    transformer.*                  every parameter under HF's name, plus the causal-mask buffers
                                   transformer.h.N.attn.bias [1, 1, P, P] and .attn.masked_bias []
                                   that older HF files contain
    lm_head.weight                 equal to transformer.wte.weight (HF files may hold the tied copy)
    input_ids                      int64 [2, 7]
    labels                         input_ids with one position set to -100 (ignored by the loss)
    logits                         [2, 7, vocab] in eval mode
    loss                           HF's shifted next-token cross-entropy of logits against labels
    grad.<name>                    the gradient of loss for every parameter (wte's includes the head's)
    greedy_ids                     [2, 7 + 5]: input_ids followed by 5 greedily generated tokens

    /usr/bin/python3 tests/golden/make_gpt2_golden.py --check-graft-export FILE

reads a file written by the C++ test GoldenExport.Gpt2WritesStateDictPyTorchLoads (graft's GPT2LMHead
state_dict after three training steps, plus "input_ids" and graft's eval-mode "logits"), loads the
state dict into the PyTorch twin (every key must load; the only key left missing is lm_head.weight,
which is tied to transformer.wte.weight), runs it in eval mode and compares the logits. It prints
the max differences and exits 1 when they are too large.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_golden import read_safetensors, report_match, write_safetensors  # noqa: E402

CONFIG = {
    "activation_function": "gelu_new",
    "architectures": ["GPT2LMHeadModel"],
    "attn_pdrop": 0.1,
    "bos_token_id": 49,
    "embd_pdrop": 0.1,
    "eos_token_id": 49,
    "initializer_range": 0.02,
    "layer_norm_epsilon": 1e-05,
    "model_type": "gpt2",
    "n_ctx": 32,
    "n_embd": 16,
    "n_head": 2,
    "n_inner": None,
    "n_layer": 2,
    "n_positions": 32,
    "reorder_and_upcast_attn": False,
    "resid_pdrop": 0.1,
    "scale_attn_by_inverse_layer_idx": False,
    "scale_attn_weights": True,
    "summary_activation": None,
    "summary_first_dropout": 0.1,
    "summary_proj_to_labels": True,
    "summary_type": "cls_index",
    "summary_use_proj": True,
    "torch_dtype": "float32",
    "transformers_version": "4.35.0",
    "use_cache": True,
    "vocab_size": 50,
}
SEED = 7
NEW_TOKENS = 5


class Conv1D(nn.Module):
    """HF's Conv1D: y = x·W + b with W [in, out]."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf).normal_(std=0.02))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        out = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return out.view(x.size()[:-1] + (self.nf,))


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        n = c["n_positions"]
        self.register_buffer("bias", torch.tril(torch.ones(n, n)).view(1, 1, n, n), persistent=False)
        self.register_buffer("masked_bias", torch.tensor(-1e4), persistent=False)
        self.n_head, self.n_embd = c["n_head"], c["n_embd"]
        self.c_attn = Conv1D(3 * self.n_embd, self.n_embd)
        self.c_proj = Conv1D(self.n_embd, self.n_embd)
        self.attn_dropout = nn.Dropout(c["attn_pdrop"])
        self.resid_dropout = nn.Dropout(c["resid_pdrop"])

    def split(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.n_head, -1).permute(0, 2, 1, 3)

    def forward(self, x):
        q, k, v = (self.split(t) for t in self.c_attn(x).split(self.n_embd, dim=2))
        w = torch.matmul(q, k.transpose(-1, -2)) / (v.size(-1) ** 0.5)
        t = q.size(-2)
        causal = self.bias[:, :, :t, :t].bool()
        w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
        w = self.attn_dropout(nn.functional.softmax(w, dim=-1))
        y = torch.matmul(w, v).permute(0, 2, 1, 3).contiguous()
        y = y.view(y.size(0), y.size(1), self.n_embd)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        inner = c["n_inner"] or 4 * c["n_embd"]
        self.c_fc = Conv1D(inner, c["n_embd"])
        self.c_proj = Conv1D(c["n_embd"], inner)
        self.dropout = nn.Dropout(c["resid_pdrop"])

    def forward(self, x):
        return self.dropout(self.c_proj(gelu_new(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])
        self.attn = Attention(c)
        self.ln_2 = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["n_positions"], c["n_embd"])
        self.drop = nn.Dropout(c["embd_pdrop"])
        self.h = nn.ModuleList([Block(c) for _ in range(c["n_layer"])])
        self.ln_f = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])

    def forward(self, ids):
        pos = torch.arange(ids.size(1)).unsqueeze(0)
        x = self.drop(self.wte(ids) + self.wpe(pos))
        for block in self.h:
            x = block(x)
        return self.ln_f(x)


class GPT2LMHeadModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transformer = Transformer(c)
        self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied, as HF does

    def forward(self, ids):
        return self.lm_head(self.transformer(ids))


def init_weights(model, c):
    """HF's _init_weights: N(0, 0.02) embeddings and Conv1D weights, c_proj weights scaled by 1/√(2·n_layer).
    The LayerNorms get random affine parameters here (HF: ones and zeros) so that their gradients are tested."""
    std = c["initializer_range"]
    for name, p in model.named_parameters():
        if name.endswith("c_proj.weight"):
            nn.init.normal_(p, std=std / math.sqrt(2 * c["n_layer"]))
        elif "ln_" in name:
            nn.init.normal_(p, mean=1.0 if name.endswith("weight") else 0.0, std=0.1)
        elif name.endswith("weight"):
            nn.init.normal_(p, std=std * 10)  # larger than HF's 0.02 so that the logits are not all near 0
        else:
            nn.init.normal_(p, std=0.05)


def loss_of(logits, labels):
    shift_logits = logits[..., :-1, :].contiguous()
    shift_labels = labels[..., 1:].contiguous()
    return nn.functional.cross_entropy(shift_logits.view(-1, shift_logits.size(-1)), shift_labels.view(-1))


def check_graft_export(path):
    tensors, _ = read_safetensors(path)
    ids = torch.from_numpy(tensors.pop("input_ids"))
    expected = torch.from_numpy(tensors.pop("logits"))
    model = GPT2LMHeadModel(CONFIG)
    result = model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=False)
    if result.missing_keys != ["lm_head.weight"] or result.unexpected_keys:
        print(f"{path}: missing {result.missing_keys}, unexpected {result.unexpected_keys}")
        return 1
    if model.lm_head.weight.data_ptr() != model.transformer.wte.weight.data_ptr():
        print(f"{path}: loading untied lm_head from transformer.wte")
        return 1
    model.eval()
    with torch.no_grad():
        got = model(ids)
    return report_match(path, f"{len(tensors)} state tensors loaded; logits", got, expected)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check-graft-export", metavar="FILE",
                        help="load a graft-written GPT-2 into the PyTorch twin and compare the logits")
    args = parser.parse_args()
    if args.check_graft_export:
        sys.exit(check_graft_export(args.check_graft_export))
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    c = CONFIG
    model = GPT2LMHeadModel(c)
    init_weights(model, c)
    model.eval()
    ids = torch.randint(0, c["vocab_size"], (2, 7))
    labels = ids.clone()
    labels[1, 4] = -100

    logits = model(ids)
    loss = loss_of(logits, labels)
    loss.backward()

    out = {}
    for name, t in model.state_dict().items():  # lm_head.weight included, as in HF's state_dict()
        out[name] = t.detach().numpy().copy()
    for i, block in enumerate(model.transformer.h):
        out[f"transformer.h.{i}.attn.bias"] = block.attn.bias.numpy().copy()
        out[f"transformer.h.{i}.attn.masked_bias"] = block.attn.masked_bias.numpy().reshape(())
    out["input_ids"] = ids.numpy()
    out["labels"] = labels.numpy()
    out["logits"] = logits.detach().numpy()
    out["loss"] = loss.detach().numpy().reshape(())
    for name, p in model.named_parameters():
        out[f"grad.{name}"] = p.grad.numpy().copy()

    with torch.no_grad():
        seq = ids
        for _ in range(NEW_TOKENS):
            nxt = model(seq)[:, -1, :].argmax(dim=-1, keepdim=True)
            seq = torch.cat([seq, nxt], dim=1)
    out["greedy_ids"] = seq.numpy()

    path = os.path.join(HERE, "gpt2_tiny.safetensors")
    write_safetensors(path, out, {"torch": torch.__version__, "seed": str(SEED)})
    with open(os.path.join(HERE, "gpt2_tiny_config.json"), "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"{path}: {len(out)} tensors, {os.path.getsize(path)} bytes; loss {loss.item():.6f}")


if __name__ == "__main__":
    main()
