"""The PyTorch half of the round trip: the MLP both sides share, and the digits split both use.

    train  -> python3 digits_mlp.py pretrain OUT.safetensors       (digits 0-4, PyTorch)
    (C++)  -> build/examples/finetune_from_pytorch OUT.safetensors FINETUNED.safetensors
    check  -> python3 digits_mlp.py evaluate FINETUNED.safetensors  (digits 5-9, in PyTorch)

Run with Debian's interpreter (/usr/bin/python3 with python3-torch and python3-numpy). The
parameter names of nn.Sequential ("0.weight", "2.bias", ...) are those of graft's nn::Sequential,
so the state_dict moves between the two unchanged.
"""
import argparse
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_numpy import load_file, save_file  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "digits.csv.gz")
SHOTS = 10  # the C++ example fine-tunes on the first SHOTS images of each class 5-9 in file order


def mlp(classes):
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, classes))


def load_digits():
    table = np.loadtxt(DATA, delimiter=",", dtype=np.float32)
    return table[:, :64] / 16.0, table[:, 64].astype(np.int64)


def pretrain(out):
    torch.manual_seed(0)
    x, y = load_digits()
    keep = y < 5
    x, y = torch.from_numpy(x[keep]), torch.from_numpy(y[keep])
    model = mlp(5)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for epoch in range(30):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).float().mean().item()
    save_file({k: v.numpy() for k, v in model.state_dict().items()}, out,
              metadata={"task": "UCI digits 0-4", "framework": f"torch {torch.__version__}"})
    print(f"pretrained in PyTorch on digits 0-4: train accuracy {acc:.3f} -> {out}")


def evaluate(path):
    tensors, metadata = load_file(path)
    model = mlp(5)
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
    x, y = load_digits()
    val = []
    seen = {c: 0 for c in range(5, 10)}
    for i, label in enumerate(y):
        if label >= 5:
            seen[label] += 1
            if seen[label] > SHOTS:
                val.append(i)
    xv, yv = torch.from_numpy(x[val]), torch.from_numpy(y[val] - 5)
    with torch.no_grad():
        acc = (model(xv).argmax(1) == yv).float().mean().item()
    print(f"loaded {path} into PyTorch ({len(tensors)} tensors, metadata {metadata})")
    print(f"digits 5-9 held-out accuracy in PyTorch: {acc:.3f} on {len(val)} images")
    if "val_accuracy" in metadata:
        graft_acc = float(metadata["val_accuracy"])
        print(f"graft measured {graft_acc:.3f} on the same images")
        if abs(graft_acc - acc) > 1e-3:
            sys.exit("PyTorch and graft disagree on the fine-tuned model's accuracy")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("pretrain").add_argument("out")
    sub.add_parser("evaluate").add_argument("path")
    a = p.parse_args()
    pretrain(a.out) if a.cmd == "pretrain" else evaluate(a.path)


if __name__ == "__main__":
    main()
