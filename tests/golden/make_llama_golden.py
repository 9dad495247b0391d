#!/usr/bin/env python3
"""Golden files for tests/llama_test.cpp: two tiny Llama-family models written with plain torch modules
following the structure of Hugging Face's modeling_llama.py and modeling_qwen2.py (RMSNorm, rotate-half
RoPE with float32 angles, grouped-query attention with k/v heads repeated, SwiGLU, tied or untied head),
under HF's parameter names, run by PyTorch (1.13, Debian's python3-torch; transformers is not needed).

    /usr/bin/python3 tests/golden/make_llama_golden.py

Writes two Hugging Face model directories and one file of expected values:
    llama_tiny/config.json, model.safetensors
        a LlamaForCausalLM with tied embeddings (no lm_head.weight in the file), float32
    qwen2_tiny/config.json, model.safetensors.index.json, model-0000{1,2}-of-00002.safetensors
        a Qwen2ForCausalLM (q/k/v biases, untied lm_head), sharded in two and stored as BF16; the
        PyTorch twin runs on the BF16 values widened to float32, as graft loads them
    llama_golden.safetensors, for each model M in {llama, qwen2}:
        M.input_ids     int64 [2, 7]
        M.logits        [2, 7, vocab] in eval mode
        M.loss          HF's shifted next-token cross-entropy of the logits against input_ids
        M.grad.<name>   the gradient of that loss for every parameter but model.embed_tokens.weight,
                        which is frozen (for the tied llama the head is frozen with it)
        M.prompt        int64 [2, 4]
        M.greedy_ids    [2, 4 + 8]: the prompt followed by 8 greedily generated tokens (each step's
                        top-two logits differ by more than 1e-3, so the choice is not a rounding tie)
        M.padded_prompt, M.padded_mask   int64 [3, 5]: prompts of 5, 2 and 4 tokens left-padded
                        with 0, and HF's attention_mask
        M.padded_greedy_ids  [3, 5 + 8]: HF's generate with that attention_mask (position_ids =
                        cumsum(mask) − 1), greedy, recomputing every step
    and for LlamaForSequenceClassification on llama_tiny's weights plus score.weight [3, 32]
    (pad_token_id 0, HF's pooling: the rightmost token that is not padding):
        cls.score.weight
        cls.right_ids, cls.right_mask, cls.right_logits   row 1 padded on the right
        cls.left_ids, cls.left_mask, cls.left_logits      row 1 padded on the left
"""
import json
import os
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
from make_golden import write_safetensors  # noqa: E402

LLAMA = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "hidden_act": "silu",
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "pad_token_id": 0,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 10000.0,
    "tie_word_embeddings": True,
    "torch_dtype": "float32",
    "transformers_version": "4.44.0",
    "use_cache": True,
    "vocab_size": 96,
}
QWEN2 = {
    "architectures": ["Qwen2ForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "hidden_act": "silu",
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 48,
    "max_position_embeddings": 64,
    "max_window_layers": 2,
    "model_type": "qwen2",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "sliding_window": 64,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.44.0",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 100,
}
NUM_LABELS = 3
NEW_TOKENS = 8


class RMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_cos_sin(positions, head_dim, theta):
    """cos, sin [..., T, head_dim] for positions [..., T], the angles in float32, as HF's rotary
    embedding computes them."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    freqs = positions.float()[..., None] * inv_freq
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


class Attention(nn.Module):
    def __init__(self, c, qkv_bias, o_bias):
        super().__init__()
        self.heads, self.kv_heads = c["num_attention_heads"], c["num_key_value_heads"]
        self.head_dim = c.get("head_dim", c["hidden_size"] // self.heads)
        self.theta = c["rope_theta"]
        e = c["hidden_size"]
        self.q_proj = nn.Linear(e, self.heads * self.head_dim, bias=qkv_bias)
        self.k_proj = nn.Linear(e, self.kv_heads * self.head_dim, bias=qkv_bias)
        self.v_proj = nn.Linear(e, self.kv_heads * self.head_dim, bias=qkv_bias)
        self.o_proj = nn.Linear(self.heads * self.head_dim, e, bias=o_bias)

    def forward(self, x, mask, position_ids=None):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        # HF's position_ids [B, T] (default 0 … T−1 in every row); cos, sin [B, 1, T, head_dim]
        positions = torch.arange(t)[None].expand(b, t) if position_ids is None else position_ids
        cos, sin = rope_cos_sin(positions, self.head_dim, self.theta)
        cos, sin = cos[:, None], sin[:, None]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.heads // self.kv_heads  # HF's repeat_kv: kv head j serves query heads j·rep … j·rep+rep−1
        k = k[:, :, None].expand(b, self.kv_heads, rep, t, self.head_dim).reshape(b, self.heads, t, self.head_dim)
        v = v[:, :, None].expand(b, self.kv_heads, rep, t, self.head_dim).reshape(b, self.heads, t, self.head_dim)
        w = torch.matmul(q, k.transpose(2, 3)) / self.head_dim ** 0.5 + mask
        w = nn.functional.softmax(w, dim=-1, dtype=torch.float32)
        y = torch.matmul(w, v).transpose(1, 2).reshape(b, t, -1)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        e, i, bias = c["hidden_size"], c["intermediate_size"], c.get("mlp_bias", False)
        self.gate_proj = nn.Linear(e, i, bias=bias)
        self.up_proj = nn.Linear(e, i, bias=bias)
        self.down_proj = nn.Linear(i, e, bias=bias)

    def forward(self, x):
        return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        qwen2 = c["model_type"] == "qwen2"
        bias = c.get("attention_bias", False)
        self.self_attn = Attention(c, qkv_bias=qwen2 or bias, o_bias=bias and not qwen2)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, mask, position_ids=None):
        h = x + self.self_attn(self.input_layernorm(x), mask, position_ids)
        return h + self.mlp(self.post_attention_layernorm(h))


def attention_mask(ids, padding_mask):
    """HF's eager 4-d mask [B, 1, T, T]: 0 where query i may see key j (j ≤ i and j not padding),
    the dtype's minimum elsewhere."""
    b, t = ids.shape
    allowed = torch.tril(torch.ones(t, t, dtype=torch.bool))[None, None].expand(b, 1, t, t)
    if padding_mask is not None:
        allowed = allowed & padding_mask.bool()[:, None, None, :]
    return torch.zeros(b, 1, t, t).masked_fill(~allowed, torch.finfo(torch.float32).min)


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"], c.get("pad_token_id"))
        self.layers = nn.ModuleList([DecoderLayer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, ids, padding_mask=None, position_ids=None):
        mask = attention_mask(ids, padding_mask)
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, mask, position_ids)
        return self.norm(x)


class ForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model = Model(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        if c["tie_word_embeddings"]:
            self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, ids, padding_mask=None, position_ids=None):
        return self.lm_head(self.model(ids, padding_mask, position_ids))


class ForSequenceClassification(nn.Module):
    def __init__(self, c, num_labels):
        super().__init__()
        self.model = Model(c)
        self.score = nn.Linear(c["hidden_size"], num_labels, bias=False)
        self.pad_token_id = c["pad_token_id"]

    def forward(self, ids, padding_mask):
        logits = self.score(self.model(ids, padding_mask))
        # HF: the rightmost token that is not pad_token_id, so left and right padding both work
        non_pad = (ids != self.pad_token_id).int()
        last = (torch.arange(ids.shape[-1]) * non_pad).argmax(-1)
        return logits[torch.arange(ids.shape[0]), last]


def init_weights(model, c, generator):
    """Random weights large enough that the logits spread (HF's N(0, 0.02) leaves them all near 0);
    norms around 1 and biases non-zero so that their gradients are tested."""
    pad = c.get("pad_token_id")
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layernorm.weight") or name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=generator))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
            elif "embed_tokens" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=generator))
                if pad is not None:
                    p[pad].zero_()  # nn.Embedding(padding_idx) starts the padding row at zero
            else:
                p.copy_(torch.randn(p.shape, generator=generator) / p.shape[1] ** 0.5)


def to_bf16(t):
    return t.to(torch.bfloat16).to(torch.float32)


def bf16_bits(t):
    """The BF16 values of t as uint16 (round to nearest even, as torch converts)."""
    return t.detach().to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)


def shifted_loss(logits, ids):
    return nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), ids[:, 1:].reshape(-1))


def greedy(model, prompt):
    seq = prompt
    with torch.no_grad():
        for _ in range(NEW_TOKENS):
            last = model(seq)[:, -1, :]
            top2 = last.topk(2, dim=-1).values
            gap = (top2[:, 0] - top2[:, 1]).min().item()
            if gap <= 1e-3:
                sys.exit(f"greedy step has a near tie (gap {gap}); pick another seed")
            seq = torch.cat([seq, last.argmax(dim=-1, keepdim=True)], dim=1)
    return seq


def padded_greedy(model, ids, mask):
    """HF's generate with an attention_mask, recomputing every step: the mask grows by a 1 per
    token, position_ids = cumsum(mask) − 1 with 1 at padding positions."""
    seq = ids
    with torch.no_grad():
        for _ in range(NEW_TOKENS):
            position_ids = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
            last = model(seq, mask, position_ids)[:, -1, :]
            top2 = last.topk(2, dim=-1).values
            gap = (top2[:, 0] - top2[:, 1]).min().item()
            if gap <= 1e-3:
                sys.exit(f"padded greedy step has a near tie (gap {gap}); pick another seed")
            seq = torch.cat([seq, last.argmax(dim=-1, keepdim=True)], dim=1)
            mask = torch.cat([mask, torch.ones(mask.shape[0], 1, dtype=mask.dtype)], dim=1)
    return seq


def write_config(directory, c):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)
        f.write("\n")


def causal_lm_golden(key, c, seed, out):
    """Builds the twin, fills out[key.*] and returns (model, state dict to save)."""
    g = torch.Generator().manual_seed(seed)
    model = ForCausalLM(c)
    init_weights(model, c, g)
    if c["torch_dtype"] == "bfloat16":
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(to_bf16(p))
    model.eval()
    low = 3  # ids 0…2 are pad/bos/eos
    ids = torch.randint(low, c["vocab_size"], (2, 7), generator=g)
    prompt = torch.randint(low, c["vocab_size"], (2, 4), generator=g)
    model.model.embed_tokens.weight.requires_grad_(False)
    logits = model(ids)
    loss = shifted_loss(logits, ids)
    loss.backward()
    out[f"{key}.input_ids"] = ids.numpy()
    out[f"{key}.logits"] = logits.detach().numpy()
    out[f"{key}.loss"] = loss.detach().numpy().reshape(())
    for name, p in model.named_parameters():
        if p.requires_grad:
            out[f"{key}.grad.{name}"] = p.grad.numpy().copy()
    out[f"{key}.prompt"] = prompt.numpy()
    out[f"{key}.greedy_ids"] = greedy(model, prompt).numpy()
    # Left-padded prompts of 5, 2 and 4 tokens (pad id 0, masked out)
    lengths = [5, 2, 4]
    padded = torch.zeros(3, 5, dtype=torch.int64)
    padded_mask = torch.zeros(3, 5, dtype=torch.int64)
    for row, n in enumerate(lengths):
        padded[row, 5 - n:] = torch.randint(low, c["vocab_size"], (n,), generator=g)
        padded_mask[row, 5 - n:] = 1
    out[f"{key}.padded_prompt"] = padded.numpy()
    out[f"{key}.padded_mask"] = padded_mask.numpy()
    out[f"{key}.padded_greedy_ids"] = padded_greedy(model, padded, padded_mask).numpy()
    state = {k: v for k, v in model.state_dict().items() if not (c["tie_word_embeddings"] and k == "lm_head.weight")}
    print(f"{key}: loss {loss.item():.6f}, logits in [{logits.min().item():.3f}, {logits.max().item():.3f}]")
    return model, state


def classification_golden(llama, c, seed, out):
    g = torch.Generator().manual_seed(seed)
    cls = ForSequenceClassification(c, NUM_LABELS)
    cls.model.load_state_dict(llama.model.state_dict())
    with torch.no_grad():
        cls.score.weight.copy_(torch.randn(cls.score.weight.shape, generator=g) / c["hidden_size"] ** 0.5)
    cls.eval()
    out["cls.score.weight"] = cls.score.weight.detach().numpy().copy()
    tokens = torch.randint(3, c["vocab_size"], (2, 6), generator=g)
    pad = c["pad_token_id"]
    right = tokens.clone()
    right[1, 4:] = pad
    left = tokens.clone()
    left[1] = torch.cat([torch.full((2,), pad), tokens[1, :4]])
    for name, ids in (("right", right), ("left", left)):
        mask = (ids != pad).long()
        with torch.no_grad():
            out[f"cls.{name}_logits"] = cls(ids, mask).numpy()
        out[f"cls.{name}_ids"] = ids.numpy()
        out[f"cls.{name}_mask"] = mask.numpy()


def main():
    torch.set_num_threads(1)
    out = {}

    llama, llama_state = causal_lm_golden("llama", LLAMA, 11, out)
    directory = os.path.join(HERE, "llama_tiny")
    write_config(directory, LLAMA)
    write_safetensors(os.path.join(directory, "model.safetensors"),
                      {k: v.numpy() for k, v in llama_state.items()}, {"format": "pt"})
    classification_golden(llama, LLAMA, 12, out)

    _, qwen2_state = causal_lm_golden("qwen2", QWEN2, 13, out)
    directory = os.path.join(HERE, "qwen2_tiny")
    write_config(directory, QWEN2)
    names = list(qwen2_state)
    shards = [names[: len(names) // 2], names[len(names) // 2:]]
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        file = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        tensors = {k: bf16_bits(qwen2_state[k]) for k in shard}
        write_safetensors(os.path.join(directory, file), tensors, {"format": "pt"}, dtypes={k: "BF16" for k in shard})
        weight_map.update({k: file for k in shard})
        total += sum(2 * t.size for t in tensors.values())
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
        f.write("\n")

    path = os.path.join(HERE, "llama_golden.safetensors")
    write_safetensors(path, out, {"torch": torch.__version__})
    print(f"{path}: {len(out)} tensors, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
