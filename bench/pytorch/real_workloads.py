"""The PyTorch side of bench_workloads' real-architecture workloads (real_*): fine-tuning steps of
the networks people fine-tune, timed in PyTorch on the CPU in fp32, with each step's FLOP counted
from the model (common.FlopCounter).

  /usr/bin/python3 bench/pytorch/real_workloads.py [THREADS] [FILTER]   # needs python3-torchvision

A step is: forward, cross-entropy, zero_grad, backward, and an optimizer step over the trainable
parameters (SGD with momentum for the CNNs, AdamW for the transformers). A "last stage" step
freezes everything except the named tail, and the frozen BatchNorm layers run in eval mode, as a
fine-tune runs them. Weights are random: the time does not depend on their values. Prints
`name  median_ms  ms` and `flop  name  FLOP` per workload."""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from common import autocast, count_step_flop, median_ms, set_threads

set_threads(sys.argv)
wanted = sys.argv[2] if len(sys.argv) > 2 else ""
print(f"torch {torch.__version__} torchvision {torchvision.__version__} threads={torch.get_num_threads()}")


def prepare(model, trainable_prefixes, optimizer):
    """Trains only the parameters whose names start with one of the prefixes (all of them when None);
    BatchNorm layers left without a trainable parameter run in eval mode. Returns the optimizer."""
    model.train()
    for name, p in model.named_parameters():
        p.requires_grad_(trainable_prefixes is None or name.startswith(tuple(trainable_prefixes)))
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not any(p.requires_grad for p in m.parameters()):
            m.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=0.01, momentum=0.9)
    return torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)


def workload(name, model, trainable_prefixes, optimizer, inputs, targets, loss_fn=F.cross_entropy):
    if wanted not in name:
        return
    opt = prepare(model, trainable_prefixes, optimizer)

    def forward(counter=None):
        model.flop_counter = counter
        return model(inputs)

    def step():
        with autocast():
            loss = loss_fn(forward(), targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    flop = count_step_flop(model, forward)
    print(f"{name}  {median_ms(step):.3f}  ms", flush=True)
    print(f"flop  {name}  {flop:.4g}", flush=True)


def attention(model, q, k, v, additive_mask=None, causal=False):
    """softmax(q·kᵀ/√D + mask)·v, reporting its FLOP to the model's counter when one is attached."""
    counter = getattr(model, "flop_counter", None)
    if counter is not None:
        counter.attention(q, k, v)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if additive_mask is not None:
        scores = scores + additive_mask
    if causal:
        t = q.shape[-2]
        scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
    return scores.softmax(-1) @ v


# --- torchvision CNNs: 112×112 images, a new 10-class head ---------------------------------------
images16, labels16 = torch.randn(16, 3, 112, 112), torch.randint(0, 10, (16,))
images8, labels8 = torch.randn(8, 3, 112, 112), torch.randint(0, 10, (8,))
cnns = [
    ("real_resnet18_full_step", torchvision.models.resnet18, None, images16, labels16),
    ("real_resnet18_last_stage_step", torchvision.models.resnet18, ["layer4.", "fc."], images16, labels16),
    ("real_resnet50_last_stage_step", torchvision.models.resnet50, ["layer4.", "fc."], images8, labels8),
    ("real_mobilenet_v2_last_blocks_step", torchvision.models.mobilenet_v2,
     ["features.16.", "features.17.", "features.18.", "classifier."], images16, labels16),
    ("real_efficientnet_b0_last_blocks_step", torchvision.models.efficientnet_b0,
     ["features.6.", "features.7.", "features.8.", "classifier."], images16, labels16),
]
for name, factory, tail, x, y in cnns:
    if wanted in name:
        workload(name, factory(num_classes=10), tail, "sgd", x, y)


# --- BertForSequenceClassification's layout: post-LN blocks, erf GELU, padding mask, tanh pooler --
class BertBlock(nn.Module):
    def __init__(self, owner, d, heads, ff):
        super().__init__()
        self.owner, self.heads = [owner], heads
        self.query, self.key, self.value, self.attn_out = (nn.Linear(d, d) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=1e-12), nn.LayerNorm(d, eps=1e-12)
        self.inter, self.out = nn.Linear(d, ff), nn.Linear(ff, d)

    def forward(self, x, additive_mask):
        b, t, d = x.shape
        q, k, v = (lin(x).view(b, t, self.heads, d // self.heads).transpose(1, 2)
                   for lin in (self.query, self.key, self.value))
        a = attention(self.owner[0], q, k, v, additive_mask)
        x = self.ln1(x + self.attn_out(a.transpose(1, 2).reshape(b, t, d)))
        return self.ln2(x + self.out(F.gelu(self.inter(x))))


class BertClassifier(nn.Module):
    """Vocabulary 30522, width 256, 4 layers of 4 heads, FFN 1024, 512 positions, 2 labels."""

    def __init__(self, vocab=30522, d=256, layers=4, heads=4, ff=1024, labels=2):
        super().__init__()
        self.word, self.pos, self.tok_type = nn.Embedding(vocab, d), nn.Embedding(512, d), nn.Embedding(2, d)
        self.ln = nn.LayerNorm(d, eps=1e-12)
        self.layer = nn.ModuleList(BertBlock(self, d, heads, ff) for _ in range(layers))
        self.pooler, self.classifier = nn.Linear(d, d), nn.Linear(d, labels)

    def forward(self, batch):
        ids, mask = batch
        x = self.ln(self.word(ids) + self.pos(torch.arange(ids.shape[1])) + self.tok_type(torch.zeros_like(ids)))
        additive = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for block in self.layer:
            x = block(x, additive)
        return self.classifier(torch.tanh(self.pooler(x[:, 0])))


if "real_bert_classifier".startswith(wanted) or "real_bert_classifier" in wanted:
    ids = torch.randint(0, 30522, (16, 128))
    mask = torch.ones(16, 128, dtype=torch.long)
    mask[8:, 96:] = 0                                   # the second half of the batch is padded
    classes = torch.randint(0, 2, (16,))
    workload("real_bert_classifier_full_step", BertClassifier(), None, "adamw", (ids, mask), classes)
    workload("real_bert_classifier_last2_step", BertClassifier(), ["layer.2.", "layer.3.", "pooler.", "classifier."],
             "adamw", (ids, mask), classes)


# --- a Llama-style decoder (GQA, RoPE rotate-half, RMSNorm, SwiGLU) with LoRA r 8 / alpha 16 on
#     q_proj and v_proj (PEFT's defaults), the base frozen --------------------------------------
class LoraLinear(nn.Module):
    def __init__(self, base, r=8, alpha=16):
        super().__init__()
        self.base, self.scaling = base, alpha / r
        self.lora_A = nn.Parameter(torch.randn(r, base.in_features) / math.sqrt(base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))

    def forward(self, x):
        return self.base(x) + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scaling


def rotate_half_rope(x, theta=10000.0):
    t, d = x.shape[-2], x.shape[-1]
    inv_freq = theta ** (-torch.arange(0, d, 2).float() / d)
    angles = torch.outer(torch.arange(t).float(), inv_freq).repeat(1, 2)
    first, second = x[..., : d // 2], x[..., d // 2:]
    return x * angles.cos() + torch.cat((-second, first), -1) * angles.sin()


class RmsNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(d)), eps

    def forward(self, x):
        return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)


class LlamaBlock(nn.Module):
    def __init__(self, owner, d, heads, kv_heads, ff):
        super().__init__()
        self.owner, self.heads, self.kv_heads = [owner], heads, kv_heads
        hd = d // heads
        self.q_proj, self.o_proj = nn.Linear(d, heads * hd, bias=False), nn.Linear(heads * hd, d, bias=False)
        self.k_proj, self.v_proj = nn.Linear(d, kv_heads * hd, bias=False), nn.Linear(d, kv_heads * hd, bias=False)
        self.gate_proj, self.up_proj = nn.Linear(d, ff, bias=False), nn.Linear(d, ff, bias=False)
        self.down_proj = nn.Linear(ff, d, bias=False)
        self.input_layernorm, self.post_attention_layernorm = RmsNorm(d), RmsNorm(d)

    def forward(self, x):
        b, t, d = x.shape
        hd, groups = d // self.heads, self.heads // self.kv_heads
        y = self.input_layernorm(x)
        q = rotate_half_rope(self.q_proj(y).view(b, t, self.heads, hd).transpose(1, 2))
        k = rotate_half_rope(self.k_proj(y).view(b, t, self.kv_heads, hd).transpose(1, 2))
        v = self.v_proj(y).view(b, t, self.kv_heads, hd).transpose(1, 2)
        k, v = k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1)
        a = attention(self.owner[0], q, k, v, causal=True)
        x = x + self.o_proj(a.transpose(1, 2).reshape(b, t, d))
        y = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(y)) * self.up_proj(y))


class LlamaLm(nn.Module):
    """Vocabulary 32000, width 512, 4 layers of 8 heads with 2 key/value heads, FFN 1376, untied head."""

    def __init__(self, vocab=32000, d=512, layers=4, heads=8, kv_heads=2, ff=1376):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(LlamaBlock(self, d, heads, kv_heads, ff) for _ in range(layers))
        self.norm, self.lm_head = RmsNorm(d), nn.Linear(d, vocab, bias=False)
        for block in self.layers:
            block.q_proj, block.v_proj = LoraLinear(block.q_proj), LoraLinear(block.v_proj)

    def forward(self, ids):
        x = self.embed_tokens(ids)
        for block in self.layers:
            x = block(x)
        return self.lm_head(self.norm(x))


if wanted in "real_llama_lora_step":
    tokens = torch.randint(0, 32000, (4, 129))
    llama = LlamaLm()
    lora = [name for name, _ in llama.named_parameters() if "lora_" in name]
    workload("real_llama_lora_step", llama, lora, "adamw", tokens[:, :-1], tokens[:, 1:],
             loss_fn=lambda logits, t: F.cross_entropy(logits.flatten(0, 1), t.flatten()))
