#!/usr/bin/env python3
"""Golden files for tests/golden_models_test.cpp: three small PyTorch models whose parameter names
equal their graft twins', run forward, backward and three AdamW steps by PyTorch (1.13, Debian's
python3-torch; no safetensors package: the files are written by the numpy code below).

    /usr/bin/python3 tests/golden/make_golden.py                 # writes tests/golden/<model>.safetensors
    /usr/bin/python3 tests/golden/make_golden.py --check-graft-export FILE

The models (seeded, float32):
    mlp     Sequential(Linear(6, 12), ReLU(), Linear(12, 4))                   input [5, 6]
    cnn     Sequential(Conv2d(2, 4, 3, padding=1), BatchNorm2d(4), ReLU(),
                       MaxPool2d(2), Flatten(), Linear(64, 3))                 input [4, 2, 8, 8]
    embed   emb = Embedding(11, 8), norm = LayerNorm(8), head = Linear(8, 3);
            head(norm(emb(tokens)).mean(dim=1))                                tokens int64 [4, 5]

Each <model>.safetensors holds:
    init.<name>     every state_dict() entry before training (BatchNorm buffers included)
    input, target   the batch (target: int64 class indices)
    output, loss    the model's output in train mode and the mean cross-entropy (0-d)
    grad.<name>     every parameter's gradient of that loss, all parameters trainable
    step_loss       [3]: the loss before each of three AdamW steps (lr 1e-2, weight decay 0.01) on
                    the same batch in train mode, starting again from init with the parameters
                    listed in the metadata "frozen" (a prefix) frozen and left out of the optimizer
    step3.<name>    every state_dict() entry after those three steps (BatchNorm running statistics
                    and num_batches_tracked included)

--check-graft-export FILE reads a file written by the C++ test GoldenExport.* (metadata "model"
names the twin; tensors: the model's state_dict, plus "input" and "output", the output graft
computed in eval mode), loads the state dict into the PyTorch twin strictly, runs it in eval mode
and compares the output. It prints the max differences and exits 1 when they are too large.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 3
LR = 1e-2
WEIGHT_DECAY = 0.01

# ---- safetensors with numpy ---------------------------------------------------------------------
DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("int64"): "I64",
          np.dtype("int32"): "I32"}
NUMPY_OF = {v: k for k, v in DTYPES.items()}


def write_safetensors(path, tensors, metadata=None, dtypes=None):
    """tensors: ordered name -> numpy array (little-endian, C order). dtypes: name -> the safetensors
    dtype to write in the header instead of the array's own (e.g. "BF16" for uint16 bit patterns)."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = dict(metadata)
    for name, array in tensors.items():
        array = np.asarray(array)  # not ascontiguousarray, which turns a 0-d array into 1-d
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes(order="C")
        dtype = (dtypes or {}).get(name) or DTYPES[array.dtype]
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def read_safetensors(path):
    """Returns (name -> numpy array, metadata)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {}) or {}
    data = raw[8 + n:]
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = NUMPY_OF[info["dtype"]].newbyteorder("<")
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(info["shape"]).copy()
    return tensors, metadata


# ---- the models -----------------------------------------------------------------------------------
class EmbedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(11, 8)
        self.norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, 3)

    def forward(self, tokens):
        return self.head(self.norm(self.emb(tokens)).mean(dim=1))


def make_mlp():
    return nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 4))


def make_cnn():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64, 3))


def mlp_batch():
    return torch.randn(5, 6), torch.randint(0, 4, (5,))


def cnn_batch():
    return torch.randn(4, 2, 8, 8), torch.randint(0, 3, (4,))


def embed_batch():
    return torch.randint(0, 11, (4, 5)), torch.randint(0, 3, (4,))


# name: (constructor, batch maker, seed, prefix of the parameters frozen while stepping)
MODELS = {
    "mlp": (make_mlp, mlp_batch, 1, "0."),
    "cnn": (make_cnn, cnn_batch, 2, "0."),
    "embed": (EmbedNet, embed_batch, 3, "emb."),
}


def adamw_steps(model, params, x, y):
    """STEPS AdamW steps (LR, WEIGHT_DECAY) on the cross-entropy of model(x) against y; the losses."""
    opt = torch.optim.AdamW(params, lr=LR, weight_decay=WEIGHT_DECAY)
    losses = []
    for _ in range(STEPS):
        loss = nn.functional.cross_entropy(model(x), y)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return np.array(losses, dtype=np.float32)


def report_match(path, what, got, expected):
    """Prints how far graft's output is from PyTorch's; 0 when allclose(rtol 1e-4, atol 1e-5), else 1."""
    diff = (got - expected).abs()
    rel = (diff / expected.abs().clamp_min(1e-12)).max().item()
    ok = torch.allclose(got, expected, rtol=1e-4, atol=1e-5)
    print(f"{path}: {what} {list(got.shape)} max abs diff {diff.max().item():.3g}, max rel diff {rel:.3g}: "
          f"{'ok' if ok else 'MISMATCH'}")
    return 0 if ok else 1


def numpy_state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def golden(name):
    make, batch, seed, frozen = MODELS[name]
    torch.manual_seed(seed)
    model = make()
    x, y = batch()
    init = model.state_dict()
    init = {k: v.clone() for k, v in init.items()}
    out = {f"init.{k}": v.numpy() for k, v in init.items()}
    out["input"] = x.numpy()
    out["target"] = y.numpy()

    model.train()
    output = model(x)
    loss = nn.functional.cross_entropy(output, y)
    loss.backward()
    out["output"] = output.detach().numpy()
    out["loss"] = loss.detach().numpy().reshape(())
    for k, p in model.named_parameters():
        out[f"grad.{k}"] = p.grad.numpy().copy()

    model = make()
    model.load_state_dict(init)
    model.train()
    for k, p in model.named_parameters():
        if k.startswith(frozen):
            p.requires_grad_(False)
    out["step_loss"] = adamw_steps(model, [p for p in model.parameters() if p.requires_grad], x, y)
    for k, v in numpy_state(model).items():
        out[f"step3.{k}"] = v
    path = os.path.join(HERE, f"{name}.safetensors")
    write_safetensors(path, out, {"model": name, "frozen": frozen, "steps": str(STEPS), "lr": repr(LR),
                                  "weight_decay": repr(WEIGHT_DECAY), "torch": torch.__version__})
    print(f"{path}: {len(out)} tensors, {os.path.getsize(path)} bytes")


def check_graft_export(path):
    tensors, metadata = read_safetensors(path)
    name = metadata.get("model")
    if name not in MODELS:
        sys.exit(f"{path}: metadata 'model' is {name!r}, expected one of {sorted(MODELS)}")
    model = MODELS[name][0]()
    x = torch.from_numpy(tensors.pop("input"))
    expected = torch.from_numpy(tensors.pop("output"))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
    model.eval()
    with torch.no_grad():
        got = model(x)
    return report_match(path, f"model {name}, {len(tensors)} state tensors loaded strictly; output", got, expected)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check-graft-export", metavar="FILE", nargs="+",
                        help="load graft-written files into the PyTorch twins and compare outputs")
    args = parser.parse_args()
    if args.check_graft_export:
        sys.exit(max(check_graft_export(p) for p in args.check_graft_export))
    torch.set_num_threads(1)
    for name in MODELS:
        golden(name)


if __name__ == "__main__":
    main()
