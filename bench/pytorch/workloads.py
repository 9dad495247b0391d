"""The PyTorch side of bench_workloads' reference workloads (docs/performance.md, "The reference
workloads"): the same models, batches, losses and AdamW steps as bench/workloads.hpp, timed in
PyTorch on the CPU in fp32 (BENCH_BF16=1: under bf16 autocast, common.py).

  /usr/bin/python3 bench/pytorch/workloads.py [THREADS] [FILTER]

Prints `name  median_ms  ms` per workload (and GFLOP/s for the GEMMs), then nothing else: the
format bench_workloads prints, so bench/compare.sh can put the two side by side."""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import BF16, autocast, median_ms, set_threads

threads = set_threads(sys.argv)
wanted = sys.argv[2] if len(sys.argv) > 2 else ""
print(f"torch {torch.__version__} threads={torch.get_num_threads()} autocast={'bf16' if BF16 else 'off'}")


def report(name, ms, extra=""):
    print(f"{name}  {ms:.3f}  ms{extra}", flush=True)


def adamw_step(model, x, y, loss_fn):
    """zero_grad, forward, loss, backward and an AdamW step (lr 1e-3) over the trainable parameters."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    return step


def token_loss(logits, targets):
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


for n in (256, 512, 1024, 2048):
    if wanted in f"gemm_{n}":
        a, b = torch.randn(n, n), torch.randn(n, n)
        ms = median_ms(lambda: torch.mm(a, b))
        report(f"gemm_{n}", ms, f"  {2 * n ** 3 / (ms * 1e6):.1f} GFLOP/s")

# MLP 784 → 1024 → 1024 → 10 with ReLU, batch 256; then the two hidden layers frozen.
mlp = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
x, y = torch.randn(256, 784), torch.randint(0, 10, (256,))
if wanted in "mlp_full_step":
    report("mlp_full_step", median_ms(adamw_step(mlp, x, y, F.cross_entropy)))
for layer in (mlp[0], mlp[2]):
    layer.requires_grad_(False)
if wanted in "mlp_head_only_step":
    report("mlp_head_only_step", median_ms(adamw_step(mlp, x, y, F.cross_entropy)))
if wanted in "mlp_inference":
    with torch.no_grad():
        report("mlp_inference", median_ms(lambda: mlp(x)))


class SmallCnn(nn.Module):
    """3×[3×3 conv (3→32→64→128), BatchNorm, ReLU], 2×2 max-pool after the first two, global mean,
    Linear 128→10."""

    def __init__(self):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32)
        self.c2, self.b2 = nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64)
        self.c3, self.b3 = nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.b1(self.c1(x))), 2)
        h = F.max_pool2d(F.relu(self.b2(self.c2(h))), 2)
        return self.fc(F.relu(self.b3(self.c3(h))).mean((2, 3)))


if wanted in "cnn_full_step":
    cnn = SmallCnn()
    x, y = torch.randn(64, 3, 32, 32), torch.randint(0, 10, (64,))
    report("cnn_full_step", median_ms(adamw_step(cnn, x, y, F.cross_entropy)))


class PreLnBlock(nn.Module):
    """LayerNorm → causal multi-head attention (fused qkv) → residual; LayerNorm → GELU MLP (4×) → residual."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.qkv, self.proj = nn.LayerNorm(d), nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ln2, self.fc1, self.fc2 = nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = (part.reshape(b, t, self.heads, d // self.heads).transpose(1, 2)
                   for part in self.qkv(self.ln1(x)).chunk(3, dim=2))
        scores = q @ k.transpose(2, 3) / (d // self.heads) ** 0.5
        future = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        attn = scores.masked_fill(future, float("-inf")).softmax(dim=-1) @ v
        x = x + self.proj(attn.transpose(1, 2).reshape(b, t, d))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class TinyGpt(nn.Module):
    """Vocabulary 256, width 256, 4 blocks of 4 heads, context 128, untied head without bias."""

    def __init__(self, vocab=256, d=256, layers=4, heads=4, context=128):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(context, d)
        self.blocks = nn.ModuleList(PreLnBlock(d, heads) for _ in range(layers))
        self.lnf, self.head = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        return self.head(self.lnf(x))


if wanted in "gpt_full_step" or wanted in "gpt_last_block_step":
    gpt = TinyGpt()
    idx, tgt = torch.randint(0, 256, (16, 128)), torch.randint(0, 256, (16, 128))
    if wanted in "gpt_full_step":
        report("gpt_full_step", median_ms(adamw_step(gpt, idx, tgt, token_loss)))
    for name, p in gpt.named_parameters():
        p.requires_grad_(name.startswith(("blocks.3.", "lnf.", "head.")))
    if wanted in "gpt_last_block_step":
        report("gpt_last_block_step", median_ms(adamw_step(gpt, idx, tgt, token_loss)))
