#!/usr/bin/env python3
"""Golden files for tests/bert_test.cpp: a tiny random BERT for sequence classification written
with plain torch modules following the structure and parameter names of Hugging Face's
modeling_bert.py (BertEmbeddings, BertSelfAttention, BertSelfOutput, BertIntermediate, BertOutput,
BertPooler, BertForSequenceClassification), run by PyTorch (1.13, Debian's python3-torch; the
transformers package is not needed), plus scaled-dot-product attention with masks.

    /usr/bin/python3 tests/golden/make_bert_golden.py

Writes tests/golden/bert_tiny/, a model directory as transformers' save_pretrained writes it with a
small max_shard_size: config.json, model.safetensors.index.json and two shards
model-0000N-of-00002.safetensors (float32, HF's names, with the int64 buffer
bert.embeddings.position_ids that checkpoints of older transformers versions contain). And
tests/golden/bert_tiny_golden.safetensors holding:
    input_ids, token_type_ids      int64 [2, 7]; row 1 is padded (pad id 0) after 4 tokens
    attention_mask                 int64 [2, 7], 1 = token, 0 = padding
    labels                         int64 [2]
    logits                         [2, 3] in eval mode
    loss                           cross-entropy of logits against labels
    grad.<name>                    the gradient of loss for every parameter outside bert.embeddings
                                   (frozen: requires_grad False), eval mode (no dropout)
    attn.q, attn.k, attn.v         float64 [2, 3, 5, 4] ([2, 3, 6, 4] for k and v)
    attn.bool_mask                 int64 [2, 1, 5, 6]: 1 = attend; row (0, 0, 2) fully masked
    attn.additive_mask             float64 [1, 3, 1, 6]
    attn.out_bool, attn.out_add    softmax(q·kᵀ/√4 + mask)·v with each mask (the fully masked row: 0)
    attn.grad_q/k/v_bool           gradients of sum(out_bool · attn.dout) w.r.t. q, k, v
    attn.dout                      float64 [2, 3, 5, 4]

and the same for DistilBERT (modeling_distilbert.py's structure and names): tests/golden/distilbert_tiny/
(config.json, model.safetensors) and tests/golden/distilbert_tiny_golden.safetensors (input_ids,
attention_mask, labels, logits, loss, grad.<name> outside distilbert.embeddings).

And for BertForMaskedLM (cls.predictions.transform.{dense,LayerNorm}, cls.predictions.bias, the
decoder tied to the word embeddings): tests/golden/bert_tiny_mlm/ (config.json, model.safetensors
with no pooler, as HF's BertForMaskedLM has none, and the tied copies cls.predictions.decoder.weight
and .bias that transformers writes) and tests/golden/bert_tiny_mlm_golden.safetensors (input_ids,
attention_mask, labels with -100 where not masked, logits [2, 6, 100], loss, grad.<name> for every
parameter, the word embeddings' gathering both the input and the tied decoder's gradient).
"""
import json
import math
import os
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_golden import write_safetensors  # noqa: E402

CONFIG = {
    "architectures": ["BertForSequenceClassification"],
    "attention_probs_dropout_prob": 0.1,
    "classifier_dropout": None,
    "gradient_checkpointing": False,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 32,
    "id2label": {"0": "NEGATIVE", "1": "NEUTRAL", "2": "POSITIVE"},
    "initializer_range": 0.02,
    "intermediate_size": 64,
    "label2id": {"NEGATIVE": 0, "NEUTRAL": 1, "POSITIVE": 2},
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 64,
    "model_type": "bert",
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
    "problem_type": "single_label_classification",
    "torch_dtype": "float32",
    "transformers_version": "4.35.0",
    "type_vocab_size": 2,
    "use_cache": True,
    "vocab_size": 100,
}
SEED = 11


class BertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=c["pad_token_id"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, ids, token_type_ids):
        pos = torch.arange(ids.size(1)).unsqueeze(0)
        x = self.word_embeddings(ids) + self.token_type_embeddings(token_type_ids) + self.position_embeddings(pos)
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c["num_attention_heads"]
        self.head_dim = c["hidden_size"] // self.heads
        self.query = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.key = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.value = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def split(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, x, extended_mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + extended_mask
        probs = self.dropout(nn.functional.softmax(scores, dim=-1))
        y = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return y.view(y.size(0), y.size(1), -1)


class BertSelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, h, x):
        return self.LayerNorm(self.dropout(self.dense(h)) + x)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, x, extended_mask):
        return self.output(self.self(x, extended_mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])

    def forward(self, x):
        return nn.functional.gelu(self.dense(x))  # "gelu": the erf form


class BertOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["intermediate_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, h, x):
        return self.LayerNorm(self.dropout(self.dense(h)) + x)


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, x, extended_mask):
        a = self.attention(x, extended_mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c["num_hidden_layers"])])

    def forward(self, x, extended_mask):
        for layer in self.layer:
            x = layer(x, extended_mask)
        return x


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class BertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c)

    def forward(self, ids, attention_mask, token_type_ids):
        # HF's get_extended_attention_mask: (1 − mask)·finfo.min on the keys, broadcast over heads and queries
        extended = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        h = self.encoder(self.embeddings(ids, token_type_ids), extended)
        return h, self.pooler(h)


class BertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c)
        self.dropout = nn.Dropout(c["classifier_dropout"] or c["hidden_dropout_prob"])
        self.classifier = nn.Linear(c["hidden_size"], len(c["id2label"]))

    def forward(self, ids, attention_mask, token_type_ids):
        return self.classifier(self.dropout(self.bert(ids, attention_mask, token_type_ids)[1]))


def init_weights(model):
    """Normal weights large enough that the logits and gradients are not all near 0; random
    LayerNorm affine parameters so that their gradients are tested; the padding row of the word
    embeddings zero, as nn.Embedding(padding_idx) makes it."""
    for name, p in model.named_parameters():
        if "LayerNorm" in name:
            nn.init.normal_(p, mean=1.0 if name.endswith("weight") else 0.0, std=0.1)
        elif name.endswith("weight"):
            nn.init.normal_(p, std=0.2)
        else:
            nn.init.normal_(p, std=0.05)
    with torch.no_grad():
        model.bert.embeddings.word_embeddings.weight[CONFIG["pad_token_id"]].zero_()


def save_model_dir(model, directory):
    """save_pretrained's layout with two shards: the embeddings and layer 0 in the first, the rest in the second."""
    os.makedirs(directory, exist_ok=True)
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    state["bert.embeddings.position_ids"] = np.arange(CONFIG["max_position_embeddings"], dtype=np.int64)[None, :]
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    shards = [{}, {}]
    for k, v in state.items():
        shards[0 if k.startswith("bert.embeddings.") or ".layer.0." in k else 1][k] = v
    weight_map = {}
    for name, shard in zip(names, shards):
        write_safetensors(os.path.join(directory, name), shard, {"format": "pt"})
        weight_map.update({k: name for k in shard})
    total = sum(v.nbytes for v in state.values())
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2, sort_keys=True)


def attention_goldens(out):
    """Masked attention in float64: a boolean mask with one fully masked query row (graft gives 0
    there, PyTorch's softmax NaN: the reference output zeroes it) and an additive mask."""
    g = torch.Generator().manual_seed(SEED + 1)
    q = torch.randn(2, 3, 5, 4, dtype=torch.float64, generator=g).requires_grad_()
    k = torch.randn(2, 3, 6, 4, dtype=torch.float64, generator=g).requires_grad_()
    v = torch.randn(2, 3, 6, 4, dtype=torch.float64, generator=g).requires_grad_()
    bool_mask = torch.rand(2, 1, 5, 6, generator=g) > 0.4
    bool_mask[:, :, :, 0] = True
    bool_mask[0, 0, 2, :] = False
    additive = torch.randn(1, 3, 1, 6, dtype=torch.float64, generator=g)
    additive[0, 1, 0, 3] = -math.inf
    dout = torch.randn(2, 3, 5, 4, dtype=torch.float64, generator=g)

    def attend(mask_add):
        scores = torch.matmul(q, k.transpose(-1, -2)) / 2.0 + mask_add
        dead = torch.isinf(scores).all(dim=-1, keepdim=True)
        probs = torch.softmax(scores.masked_fill(dead, 0.0), dim=-1).masked_fill(dead, 0.0)
        return torch.matmul(probs, v)

    out_bool = attend(torch.zeros(bool_mask.shape, dtype=torch.float64).masked_fill(~bool_mask, -math.inf))
    grads = torch.autograd.grad((out_bool * dout).sum(), (q, k, v))
    out_add = attend(additive)
    out.update({"attn.q": q.detach().numpy(), "attn.k": k.detach().numpy(), "attn.v": v.detach().numpy(),
                "attn.bool_mask": bool_mask.to(torch.int64).numpy(), "attn.additive_mask": additive.numpy(),
                "attn.out_bool": out_bool.detach().numpy(), "attn.out_add": out_add.detach().numpy(),
                "attn.dout": dout.numpy(), "attn.grad_q_bool": grads[0].numpy(),
                "attn.grad_k_bool": grads[1].numpy(), "attn.grad_v_bool": grads[2].numpy()})


DISTIL_CONFIG = {
    "activation": "gelu",
    "architectures": ["DistilBertForSequenceClassification"],
    "attention_dropout": 0.1,
    "dim": 32,
    "dropout": 0.1,
    "hidden_dim": 64,
    "id2label": {"0": "NEGATIVE", "1": "POSITIVE"},
    "initializer_range": 0.02,
    "label2id": {"NEGATIVE": 0, "POSITIVE": 1},
    "max_position_embeddings": 64,
    "model_type": "distilbert",
    "n_heads": 4,
    "n_layers": 2,
    "pad_token_id": 0,
    "qa_dropout": 0.1,
    "seq_classif_dropout": 0.2,
    "sinusoidal_pos_embds": False,
    "tie_weights_": True,
    "transformers_version": "4.35.0",
    "vocab_size": 100,
}


class DistilEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["dim"], padding_idx=c["pad_token_id"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["dim"])
        self.LayerNorm = nn.LayerNorm(c["dim"], eps=1e-12)
        self.dropout = nn.Dropout(c["dropout"])

    def forward(self, ids):
        pos = torch.arange(ids.size(1)).unsqueeze(0)
        return self.dropout(self.LayerNorm(self.word_embeddings(ids) + self.position_embeddings(pos)))


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_heads, self.dim = c["n_heads"], c["dim"]
        self.q_lin, self.k_lin = nn.Linear(c["dim"], c["dim"]), nn.Linear(c["dim"], c["dim"])
        self.v_lin, self.out_lin = nn.Linear(c["dim"], c["dim"]), nn.Linear(c["dim"], c["dim"])
        self.dropout = nn.Dropout(c["attention_dropout"])

    def forward(self, x, mask):
        b, t, _ = x.shape
        d = self.dim // self.n_heads

        def shape(y):
            return y.view(b, -1, self.n_heads, d).transpose(1, 2)

        q = shape(self.q_lin(x)) / math.sqrt(d)
        k, v = shape(self.k_lin(x)), shape(self.v_lin(x))
        scores = torch.matmul(q, k.transpose(2, 3))
        hidden = (mask == 0).view(b, 1, 1, t).expand_as(scores)
        scores = scores.masked_fill(hidden, torch.finfo(scores.dtype).min)
        weights = self.dropout(nn.functional.softmax(scores, dim=-1))
        context = torch.matmul(weights, v).transpose(1, 2).contiguous().view(b, -1, self.dim)
        return self.out_lin(context)


class FFN(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.lin1, self.lin2 = nn.Linear(c["dim"], c["hidden_dim"]), nn.Linear(c["hidden_dim"], c["dim"])
        self.dropout = nn.Dropout(c["dropout"])

    def forward(self, x):
        return self.dropout(self.lin2(nn.functional.gelu(self.lin1(x))))


class TransformerBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = MultiHeadSelfAttention(c)
        self.sa_layer_norm = nn.LayerNorm(c["dim"], eps=1e-12)
        self.ffn = FFN(c)
        self.output_layer_norm = nn.LayerNorm(c["dim"], eps=1e-12)

    def forward(self, x, mask):
        sa = self.sa_layer_norm(self.attention(x, mask) + x)
        return self.output_layer_norm(self.ffn(sa) + sa)


class Transformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([TransformerBlock(c) for _ in range(c["n_layers"])])

    def forward(self, x, mask):
        for block in self.layer:
            x = block(x, mask)
        return x


class DistilBertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = DistilEmbeddings(c)
        self.transformer = Transformer(c)

    def forward(self, ids, mask):
        return self.transformer(self.embeddings(ids), mask)


class DistilBertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.distilbert = DistilBertModel(c)
        self.pre_classifier = nn.Linear(c["dim"], c["dim"])
        self.classifier = nn.Linear(c["dim"], len(c["id2label"]))
        self.dropout = nn.Dropout(c["seq_classif_dropout"])

    def forward(self, ids, mask):
        pooled = nn.ReLU()(self.pre_classifier(self.distilbert(ids, mask)[:, 0]))
        return self.classifier(self.dropout(pooled))


def distilbert_goldens():
    """tests/golden/distilbert_tiny/ (config.json, model.safetensors with the position_ids buffer)
    and distilbert_tiny_golden.safetensors: a padded batch, eval logits, loss, and the gradients
    of every parameter outside distilbert.embeddings (frozen)."""
    torch.manual_seed(SEED + 2)
    c = DISTIL_CONFIG
    model = DistilBertForSequenceClassification(c)
    for name, p in model.named_parameters():
        if "LayerNorm" in name or "layer_norm" in name:
            nn.init.normal_(p, mean=1.0 if name.endswith("weight") else 0.0, std=0.1)
        elif name.endswith("weight"):
            nn.init.normal_(p, std=0.2)
        else:
            nn.init.normal_(p, std=0.05)
    with torch.no_grad():
        model.distilbert.embeddings.word_embeddings.weight[c["pad_token_id"]].zero_()
    directory = os.path.join(HERE, "distilbert_tiny")
    os.makedirs(directory, exist_ok=True)
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    state["distilbert.embeddings.position_ids"] = np.arange(c["max_position_embeddings"], dtype=np.int64)[None, :]
    write_safetensors(os.path.join(directory, "model.safetensors"), state, {"format": "pt"})
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)

    ids = torch.randint(1, c["vocab_size"], (2, 6))
    mask = torch.ones(2, 6, dtype=torch.int64)
    mask[0, 3:] = 0
    ids[0, 3:] = c["pad_token_id"]
    labels = torch.tensor([1, 0])
    model.eval()
    for name, p in model.named_parameters():
        p.requires_grad_(not name.startswith("distilbert.embeddings."))
    logits = model(ids, mask)
    loss = nn.functional.cross_entropy(logits, labels)
    loss.backward()
    out = {"input_ids": ids.numpy(), "attention_mask": mask.numpy(), "labels": labels.numpy(),
           "logits": logits.detach().numpy(), "loss": loss.detach().numpy().reshape(())}
    for name, p in model.named_parameters():
        if p.grad is not None:
            out[f"grad.{name}"] = p.grad.numpy().copy()
    write_safetensors(os.path.join(HERE, "distilbert_tiny_golden.safetensors"), out,
                      {"torch": torch.__version__, "seed": str(SEED + 2)})


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, x):
        return self.LayerNorm(nn.functional.gelu(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transform = BertPredictionHeadTransform(c)
        self.decoder = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        self.bias = nn.Parameter(torch.zeros(c["vocab_size"]))

    def forward(self, x):
        return self.decoder(self.transform(x)) + self.bias


class BertOnlyMLMHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.predictions = BertLMPredictionHead(c)


class BertForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c)
        del self.bert.pooler  # add_pooling_layer=False
        self.cls = BertOnlyMLMHead(c)
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight  # tied

    def forward(self, ids, attention_mask):
        extended = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        h = self.bert.encoder(self.bert.embeddings(ids, torch.zeros_like(ids)), extended)
        return self.cls.predictions(h)


def mlm_goldens():
    torch.manual_seed(SEED + 3)
    c = dict(CONFIG, architectures=["BertForMaskedLM"])
    for key in ("id2label", "label2id", "problem_type"):
        del c[key]
    model = BertForMaskedLM(c)
    init_weights(model)
    directory = os.path.join(HERE, "bert_tiny_mlm")
    os.makedirs(directory, exist_ok=True)
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    state["cls.predictions.decoder.bias"] = state["cls.predictions.bias"]
    write_safetensors(os.path.join(directory, "model.safetensors"), state, {"format": "pt"})
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)

    ids = torch.randint(5, c["vocab_size"], (2, 6))
    mask = torch.ones(2, 6, dtype=torch.int64)
    mask[1, 4:] = 0
    ids[1, 4:] = c["pad_token_id"]
    labels = torch.full((2, 6), -100, dtype=torch.int64)
    labels[0, 1], labels[0, 4], labels[1, 2] = ids[0, 1], ids[0, 4], ids[1, 2]
    ids[0, 1], ids[1, 2] = 4, 4  # the [MASK] id
    model.eval()
    logits = model(ids, mask)
    loss = nn.functional.cross_entropy(logits.reshape(-1, c["vocab_size"]), labels.reshape(-1))
    loss.backward()
    out = {"input_ids": ids.numpy(), "attention_mask": mask.numpy(), "labels": labels.numpy(),
           "logits": logits.detach().numpy(), "loss": loss.detach().numpy().reshape(())}
    for name, p in model.named_parameters():
        out[f"grad.{name}"] = p.grad.numpy().copy()
    write_safetensors(os.path.join(HERE, "bert_tiny_mlm_golden.safetensors"), out,
                      {"torch": torch.__version__, "seed": str(SEED + 3)})


def main():
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    c = CONFIG
    model = BertForSequenceClassification(c)
    init_weights(model)
    save_model_dir(model, os.path.join(HERE, "bert_tiny"))

    ids = torch.randint(1, c["vocab_size"], (2, 7))
    attention_mask = torch.ones(2, 7, dtype=torch.int64)
    attention_mask[1, 4:] = 0
    ids[1, 4:] = c["pad_token_id"]
    token_type_ids = torch.zeros(2, 7, dtype=torch.int64)
    token_type_ids[0, 4:] = 1
    labels = torch.tensor([2, 0])

    model.eval()
    for name, p in model.named_parameters():
        p.requires_grad_(not name.startswith("bert.embeddings."))
    logits = model(ids, attention_mask, token_type_ids)
    loss = nn.functional.cross_entropy(logits, labels)
    loss.backward()

    out = {"input_ids": ids.numpy(), "token_type_ids": token_type_ids.numpy(),
           "attention_mask": attention_mask.numpy(), "labels": labels.numpy(),
           "logits": logits.detach().numpy(), "loss": loss.detach().numpy().reshape(())}
    for name, p in model.named_parameters():
        if p.grad is not None:
            out[f"grad.{name}"] = p.grad.numpy().copy()
    attention_goldens(out)
    write_safetensors(os.path.join(HERE, "bert_tiny_golden.safetensors"), out,
                      {"torch": torch.__version__, "seed": str(SEED)})
    distilbert_goldens()
    mlm_goldens()


if __name__ == "__main__":
    main()
