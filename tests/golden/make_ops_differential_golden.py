#!/usr/bin/env python3
"""Random differential test of the language-model ops against PyTorch (1.13): OpsDifferential.* in
tests/ops_differential_test.cpp.

    /usr/bin/python3 tests/golden/make_ops_differential_golden.py   # writes tests/golden/ops_differential.safetensors

Draws CASES random cases of gather, scatter, scatter_add, index_add, logsumexp, cumsum, sort, topk,
one_hot, cross_entropy (class targets with weights, ignore_index and label smoothing; probability
targets) and masked / grouped-query attention, in float32 and float64, with random shapes (empty
and size-1 dims included), dims (negative included), repeated indices, ties, masks and head ratios.
For each it records PyTorch's output and the gradient of sum(out * R) for every float input.

The file stays small because float inputs are not stored: element i of a case's input number t is
a function of (seed, t, i) (uniform(), below) that the C++ test computes the same way. Three flat
streams hold the rest, read in order by the test:
  spec    int64: per case the op, the dtype (0 float32, 1 float64), the seed, then the op's sizes
          and options (see each op's function below; a shape is its rank followed by its sizes);
  ints    int64: the integer inputs (indices, targets, bool masks as 0/1) and integer outputs
          (sort/topk indices, one_hot), in the order the op's function writes them;
  values  float64: the float outputs and then each input's gradient, flattened.
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
from make_golden import write_safetensors  # noqa: E402

M64 = (1 << 64) - 1
OPS = ["gather", "scatter", "scatter_add", "index_add", "logsumexp", "cumsum", "sort", "topk", "one_hot",
       "ce_class", "ce_prob", "attention"]
# Cases per op (1,970 in all).
COUNTS = {"gather": 160, "scatter": 150, "scatter_add": 160, "index_add": 160, "logsumexp": 160, "cumsum": 150,
          "sort": 160, "topk": 160, "one_hot": 100, "ce_class": 220, "ce_prob": 150, "attention": 240}
R_TENSOR = 9  # the input number of the upstream gradient R


def mix(z):
    """splitmix64: one step of the counter z."""
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def uniform(seed, t, i):
    """Element i of input t of the case with this seed: uniform in [0, 1) with 53 bits."""
    return (mix(mix(mix(seed) ^ t) ^ i) >> 11) * 2.0 ** -53


def formula(seed, t, shape, dtype, ties=False):
    """Input t: 4u − 2 in [−2, 2), or with ties one of −2, −1, 0, 1, 2 (⌊5u⌋ − 2), rounded to dtype."""
    n = math.prod(shape)
    vals = [math.floor(5 * uniform(seed, t, i)) - 2.0 if ties else 4 * uniform(seed, t, i) - 2 for i in range(n)]
    return torch.tensor(vals, dtype=torch.float64).reshape(shape).to(dtype)


class Writer:
    def __init__(self):
        self.spec, self.ints, self.values = [], [], []

    def shape(self, s):
        self.spec += [len(s)] + list(s)

    def int_tensor(self, t):
        self.ints += [int(v) for v in t.reshape(-1).tolist()]

    def float_tensor(self, t):
        self.values += [float(v) for v in t.detach().double().reshape(-1).tolist()]


def run(w, seed, fn, floats):
    """out = fn(*leaves) for the float inputs `floats` (requiring grad); records out (or out's
    values and indices) and the gradient of sum(out * R) of every input, in order (R: input
    R_TENSOR of the case with this seed)."""
    leaves = [f.clone().requires_grad_() for f in floats]
    result = fn(*leaves)
    values, indices = result if isinstance(result, tuple) else (result, None)
    w.float_tensor(values)
    if indices is not None:
        w.int_tensor(indices)
    r = formula(seed, R_TENSOR, list(values.shape), values.dtype)
    (values * r).sum().backward()
    for leaf in leaves:
        w.float_tensor(leaf.grad if leaf.grad is not None else torch.zeros_like(leaf))


class Draw:
    """The random choices of the cases (torch's generator, seeded once)."""

    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def int(self, lo, hi):  # in [lo, hi]
        return int(torch.randint(lo, hi + 1, (1,), generator=self.g))

    def size(self, lo=0):  # 0 with probability 1/8 (when lo = 0), else 1 … 4
        return 0 if lo == 0 and self.int(0, 7) == 0 else self.int(1, 4)

    def shape(self, rank_lo=1, rank_hi=3, lo=0):
        return [self.size(lo) for _ in range(self.int(rank_lo, rank_hi))]

    def dim(self, rank):  # a dim, negative half of the time
        d = self.int(0, rank - 1)
        return d - rank if self.int(0, 1) else d

    def index(self, shape, high):
        return torch.randint(0, max(high, 1), shape, generator=self.g, dtype=torch.int64)


def dtype_of(code):
    return torch.float64 if code else torch.float32


def case_gather(w, d, dt, seed):
    s = d.shape()
    dim = d.dim(len(s))
    ishape = [d.int(0, n) for n in s]
    ishape[dim] = d.int(0, 5) if s[dim] > 0 else 0
    w.shape(s)
    w.spec.append(dim)
    w.shape(ishape)
    index = d.index(ishape, s[dim])
    w.int_tensor(index)
    run(w, seed, lambda x: torch.gather(x, dim, index), [formula(seed, 0, s, dt)])


def scatter_like(w, d, dt, seed, unique):
    s = d.shape()
    dim = d.dim(len(s))
    ishape = [d.int(0, n) for n in s]
    if unique:  # distinct targets along dim: the result does not depend on the write order
        ishape[dim] = d.int(0, s[dim])
    else:
        ishape[dim] = d.int(0, 5) if s[dim] > 0 else 0
    sshape = list(ishape)  # a larger src breaks PyTorch 1.13's backward (its gradient gets index's shape)
    w.shape(s)
    w.spec.append(dim)
    w.shape(ishape)
    w.shape(sshape)
    if unique:
        moved = [n for i, n in enumerate(ishape) if i != dim % len(s)] + [ishape[dim]]
        count = math.prod(moved[:-1])
        rows = [torch.randperm(s[dim], generator=d.g)[:ishape[dim]] for _ in range(count)]
        index = (torch.stack(rows) if rows else torch.zeros(0, ishape[dim], dtype=torch.int64))
        index = index.reshape(moved).movedim(-1, dim % len(s)).contiguous()
    else:
        index = d.index(ishape, s[dim])
    w.int_tensor(index)
    x, src = formula(seed, 0, s, dt), formula(seed, 1, sshape, dt)
    if unique:
        run(w, seed, lambda a, b: a.scatter(dim, index, b), [x, src])
    else:
        run(w, seed, lambda a, b: a.scatter_add(dim, index, b), [x, src])


def case_index_add(w, d, dt, seed):
    s = d.shape()
    dim = d.dim(len(s))
    n = d.int(0, 5) if s[dim] > 0 else 0
    alpha = [100, 75, -50, 250][d.int(0, 3)]
    sshape = list(s)
    sshape[dim] = n
    w.shape(s)
    w.spec += [dim, n, alpha]
    index = d.index([n], s[dim])
    w.int_tensor(index)
    run(w, seed, lambda a, b: a.index_add(dim, index, b, alpha=alpha / 100), [formula(seed, 0, s, dt), formula(seed, 1, sshape, dt)])


def case_logsumexp(w, d, dt, seed):
    s = d.shape()
    dims = sorted({d.dim(len(s)) % len(s) for _ in range(d.int(1, len(s)))})
    dims = [x - len(s) if d.int(0, 1) else x for x in dims]
    keep = d.int(0, 1)
    w.shape(s)
    w.spec += [len(dims)] + dims + [keep]
    run(w, seed, lambda x: torch.logsumexp(x, dims, keepdim=bool(keep)), [3 * formula(seed, 0, s, dt)])


def case_cumsum(w, d, dt, seed):
    s = d.shape()
    dim = d.dim(len(s))
    w.shape(s)
    w.spec.append(dim)
    run(w, seed, lambda x: torch.cumsum(x, dim), [formula(seed, 0, s, dt)])


def case_sort(w, d, dt, seed):
    s = d.shape(lo=0)
    dim = d.dim(len(s))
    desc, ties = d.int(0, 1), d.int(0, 1)
    w.shape(s)
    w.spec += [dim, desc, ties]
    run(w, seed, lambda x: torch.sort(x, stable=True, dim=dim, descending=bool(desc)), [formula(seed, 0, s, dt, bool(ties))])


def case_topk(w, d, dt, seed):
    s = d.shape()
    dim = d.dim(len(s))
    k, largest, ties = d.int(0, s[dim]), d.int(0, 1), d.int(0, 1)
    w.shape(s)
    w.spec += [dim, k, largest, ties]

    def stable_topk(x):  # graft's topk keeps ties in index order: a stable sort's first k
        values, indices = torch.sort(x, stable=True, dim=dim, descending=bool(largest))
        return values.narrow(dim, 0, k), indices.narrow(dim, 0, k)

    run(w, seed, stable_topk, [formula(seed, 0, s, dt, bool(ties))])


def case_one_hot(w, d, dt, seed):
    s = d.shape(rank_lo=0)
    high = d.int(1, 5)
    index = d.index(s, high)
    inferred = index.numel() > 0 and d.int(0, 1)
    classes = -1 if inferred else high + d.int(0, 2)
    w.shape(s)
    w.spec.append(classes)
    w.int_tensor(index)
    w.int_tensor(F.one_hot(index, classes))


def ce_shape(d):
    """logits [C], [N, C] or [N, C, d1] (C ≥ 1; N and d1 may be 0)."""
    kind = d.int(0, 4)
    c = d.size(lo=1)
    if kind == 0:
        return [c]
    if kind <= 2:
        return [d.size(), c]
    return [d.size(), c, d.size()]


def ce_options(w, d):
    has_weight, reduction, smoothing = d.int(0, 1), d.int(0, 2), [0, 10, 30][d.int(0, 2)]
    w.spec += [has_weight, reduction, smoothing]
    return has_weight, ["none", "mean", "sum"][reduction], smoothing / 100


def case_ce_class(w, d, dt, seed):
    s = ce_shape(d)
    w.shape(s)
    has_weight, reduction, eps = ce_options(w, d)
    c = s[0] if len(s) == 1 else s[1]
    ignore = -100 if d.int(0, 2) else d.int(0, c - 1)
    w.spec.append(ignore)
    tshape = [] if len(s) == 1 else [s[0]] + s[2:]
    target = d.index(tshape, c)
    if target.numel() > 0 and d.int(0, 1):
        target.view(-1)[d.int(0, target.numel() - 1)] = ignore
    w.int_tensor(target)
    weight = formula(seed, 2, [c], dt) * 0.25 + 1.0 if has_weight else None
    run(w, seed, lambda x: F.cross_entropy(x, target, weight=weight, ignore_index=ignore, reduction=reduction,
                                     label_smoothing=eps), [formula(seed, 0, s, dt)])


def case_ce_prob(w, d, dt, seed):
    s = ce_shape(d)
    w.shape(s)
    has_weight, reduction, eps = ce_options(w, d)
    c = s[0] if len(s) == 1 else s[1]
    probs = torch.softmax(formula(seed, 3, s, dt), 0 if len(s) == 1 else 1)
    weight = formula(seed, 2, [c], dt) * 0.25 + 1.0 if has_weight else None
    run(w, seed, lambda x: F.cross_entropy(x, probs, weight=weight, reduction=reduction, label_smoothing=eps),
        [formula(seed, 0, s, dt)])


def case_attention(w, d, dt, seed):
    """q [B, H, Tq, D], k [B, Hkv, Tk, D], v [B, Hkv, Tk, Dv], query head h using kv head h / (H/Hkv);
    mask kind 0 none, 1 bool key padding [B, Tk], 2 bool [B|1, H|1, Tq|1, Tk|1], 3 additive float
    of such a shape; causal bottom-right aligned (key j visible to query i iff j ≤ i + Tk − Tq)."""
    B, hkv, rep = d.int(1, 3), d.int(1, 2), [1, 2, 3][d.int(0, 2)]
    H = hkv * rep
    Tq, Tk, D, Dv = d.int(1, 5), d.int(1, 6), d.int(1, 5), d.int(1, 4)
    causal = d.int(0, 1) if Tk >= Tq else 0
    kind = d.int(0, 3)
    full = [B, H, Tq, Tk]
    mshape = [B, Tk] if kind == 1 else [n if d.int(0, 2) else 1 for n in full] if kind >= 2 else []
    w.spec += [B, H, hkv, Tq, Tk, D, Dv, causal, kind]
    w.shape(mshape)
    scale = 1 / math.sqrt(D)
    visible = torch.ones(full, dtype=torch.bool)
    if causal:
        visible &= torch.arange(Tk)[None, :] <= torch.arange(Tq)[:, None] + (Tk - Tq)
    additive = torch.zeros(full, dtype=dt)
    if kind in (1, 2):
        m = torch.rand(mshape, generator=d.g) > 0.3
        w.int_tensor(m)
        visible &= (m[:, None, None, :] if kind == 1 else m).expand(full)
    elif kind == 3:
        additive = additive + formula(seed, 5, mshape, dt)

    def attention(q, k, v):
        k = k.repeat_interleave(rep, 1)  # HF's repeat_kv
        v = v.repeat_interleave(rep, 1)
        scores = (q @ k.transpose(-2, -1)) * scale + additive
        scores = scores.masked_fill(~visible, float("-inf"))
        hidden = ~visible.any(-1, keepdim=True)  # rows that see no key: zeros, as graft documents
        probs = torch.softmax(scores.masked_fill(hidden, 0.0), -1).masked_fill(hidden, 0.0)
        return probs @ v

    run(w, seed, attention, [formula(seed, 0, [B, H, Tq, D], dt), formula(seed, 1, [B, hkv, Tk, D], dt),
                       formula(seed, 2, [B, hkv, Tk, Dv], dt)])


CASES = {"gather": case_gather, "scatter": lambda w, d, dt, s: scatter_like(w, d, dt, s, True),
         "scatter_add": lambda w, d, dt, s: scatter_like(w, d, dt, s, False), "index_add": case_index_add,
         "logsumexp": case_logsumexp, "cumsum": case_cumsum, "sort": case_sort, "topk": case_topk,
         "one_hot": case_one_hot, "ce_class": case_ce_class, "ce_prob": case_ce_prob, "attention": case_attention}


def main():
    d = Draw(1800)
    w = Writer()
    order = [op for op in OPS for _ in range(COUNTS[op])]
    for n, op in enumerate(order):
        code = d.int(0, 1)
        seed = 1000 + n
        w.spec += [OPS.index(op), code, seed]
        CASES[op](w, d, dtype_of(code), seed)
    out = {"spec": torch.tensor(w.spec, dtype=torch.int64).numpy(),
           "ints": torch.tensor(w.ints, dtype=torch.int64).numpy(),
           "values": torch.tensor(w.values, dtype=torch.float64).numpy()}
    path = os.path.join(HERE, "ops_differential.safetensors")
    write_safetensors(path, out, {"torch": torch.__version__, "cases": str(len(order))})
    print(f"{path}: {len(order)} cases, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
