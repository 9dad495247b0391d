#!/usr/bin/env python3
"""Golden values for OpsGolden.* in tests/ops_lm_test.cpp: the tensor ops language models need,
computed by PyTorch (1.13) on random float32 inputs, with the gradient of Σ out·R for a random R.

    /usr/bin/python3 tests/golden/make_ops_golden.py      # writes tests/golden/ops.safetensors

Each case "<case>" stores its inputs as "<case>.<name>" (float32 values, int64 indices and
targets), "<case>.out" (and "<case>.indices" for sort/topk), "<case>.R" (the upstream gradient)
and "<case>.grad_<input>". The fixed cases are in main() and spelled out in the C++ test; then
random_cases() adds RANDOM_CASES cases per op ("r<op><i>": random shapes, dims and options, the
options stored as 0-d tensors next to the inputs), which the C++ test runs in a loop.
"""
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
from make_golden import write_safetensors  # noqa: E402

OUT = {}


def record(case, inputs, fn, extra=None):
    """inputs: name -> tensor (float ones get gradients); fn(**inputs) -> tensor or (values, indices);
    extra: name -> stored value that fn does not take (the options of a random case)."""
    leaves = {k: (v.clone().requires_grad_() if v.is_floating_point() else v) for k, v in inputs.items()}
    result = fn(**leaves)
    values, indices = result if isinstance(result, tuple) else (result, None)
    for k, v in inputs.items():
        OUT[f"{case}.{k}"] = v.detach().numpy().copy()
    OUT[f"{case}.out"] = values.detach().numpy().copy()
    if indices is not None:
        OUT[f"{case}.indices"] = indices.numpy().copy()
    if values.is_floating_point():
        r = torch.randn(values.shape, dtype=values.dtype)
        OUT[f"{case}.R"] = r.numpy()
        (values * r).sum().backward()
        for k, v in leaves.items():
            if v.is_floating_point() and v.grad is not None:  # weights and probabilities are constants
                OUT[f"{case}.grad_{k}"] = v.grad.numpy().copy()
    for k, v in (extra or {}).items():
        OUT[f"{case}.{k}"] = v.numpy() if isinstance(v, torch.Tensor) else v


def rand_index(shape, high):
    return torch.randint(0, high, shape, dtype=torch.int64)


RANDOM_CASES = 12


def random_cases():
    """RANDOM_CASES cases per op with random shapes (1 to 4 dims of 1 to 5), dims and options,
    stored as "r<op><i>.<name>" with the options as int64 / float64 0-d tensors."""
    g = torch.Generator().manual_seed(17)

    def ri(lo, hi):  # an int in [lo, hi]
        return int(torch.randint(lo, hi + 1, (1,), generator=g))

    def shape():
        return [ri(1, 5) for _ in range(ri(1, 4))]

    def opt(v):
        return torch.tensor(v, dtype=torch.float64 if isinstance(v, float) else torch.int64)

    for i in range(RANDOM_CASES):
        s = shape()
        d = ri(0, len(s) - 1)
        idx_shape = [ri(1, n) for n in s]
        idx_shape[d] = ri(1, 6)
        record(f"rgather{i}", {"x": torch.randn(s, generator=g),
                               "index": torch.randint(0, s[d], idx_shape, generator=g)},
               lambda x, index: torch.gather(x, d, index), {"dim": opt(d)})
        record(f"rscatter_add{i}", {"x": torch.randn(s, generator=g),
                                    "index": torch.randint(0, s[d], idx_shape, generator=g),
                                    "src": torch.randn(idx_shape, generator=g)},
               lambda x, index, src: x.scatter_add(d, index, src), {"dim": opt(d)})
        n = ri(1, 6)
        src_shape = list(s)
        src_shape[d] = n
        record(f"rindex_add{i}", {"x": torch.randn(s, generator=g), "index": torch.randint(0, s[d], (n,), generator=g),
                                  "src": torch.randn(src_shape, generator=g)},
               lambda x, index, src: x.index_add(d, index, src, alpha=0.75), {"dim": opt(d)})
        dims = sorted({ri(0, len(s) - 1) for _ in range(ri(1, len(s)))})
        keep = ri(0, 1)
        record(f"rlogsumexp{i}", {"x": 3 * torch.randn(s, generator=g)},
               lambda x: torch.logsumexp(x, dims, keepdim=bool(keep)), {"dims": torch.tensor(dims), "keepdim": opt(keep)})
        record(f"rcumsum{i}", {"x": torch.randn(s, generator=g)}, lambda x: torch.cumsum(x, d), {"dim": opt(d)})
        k, largest, desc = ri(0, s[d]), ri(0, 1), ri(0, 1)
        record(f"rtopk{i}", {"x": torch.randn(s, generator=g)}, lambda x: torch.topk(x, k, d, largest=bool(largest)),
               {"dim": opt(d), "k": opt(k), "largest": opt(largest)})
        record(f"rsort{i}", {"x": torch.randn(s, generator=g)}, lambda x: torch.sort(x, d, descending=bool(desc)),
               {"dim": opt(d), "descending": opt(desc)})
        # cross_entropy: logits [N, C] or [N, C, d1], class weights, smoothing, each reduction.
        lshape = [ri(1, 5), ri(2, 5)] + ([ri(1, 3)] if ri(0, 1) else [])
        target = torch.randint(0, lshape[1], [lshape[0]] + lshape[2:], generator=g)
        target.view(-1)[0] = -100  # one ignored position
        reduction = ri(0, 2)
        eps = [0.0, 0.1, 0.25][ri(0, 2)]
        red = ["none", "mean", "sum"][reduction]
        weight = torch.rand(lshape[1], generator=g) + 0.5
        options = {"reduction": opt(reduction), "eps": opt(eps)}
        record(f"rce_weight{i}", {"logits": 2 * torch.randn(lshape, generator=g), "target": target},
               lambda logits, target: F.cross_entropy(logits, target, weight=weight, reduction=red, label_smoothing=eps),
               {**options, "weight": weight})
        probs = torch.softmax(torch.randn(lshape, generator=g), 1)
        w = weight if ri(0, 1) else torch.ones(lshape[1])
        record(f"rce_prob{i}", {"logits": 2 * torch.randn(lshape, generator=g)},
               lambda logits: F.cross_entropy(logits, probs, weight=w, reduction=red, label_smoothing=eps),
               {**options, "weight": w, "probs": probs})


def main():
    torch.manual_seed(2026)
    x = torch.randn(3, 4, 5)
    record("gather0", {"x": x, "index": rand_index((2, 3, 4), 3)}, lambda x, index: torch.gather(x, 0, index))
    record("gather1", {"x": x, "index": rand_index((3, 6, 5), 4)}, lambda x, index: torch.gather(x, 1, index))
    record("gather2", {"x": x, "index": rand_index((2, 4, 7), 5)}, lambda x, index: torch.gather(x, -1, index))

    # scatter: unique indices per row so that the result does not depend on the write order.
    index = torch.stack([torch.randperm(5)[:2] for _ in range(3)])
    record("scatter", {"x": torch.randn(3, 5), "index": index, "src": torch.randn(3, 2)},
           lambda x, index, src: x.scatter(1, index, src))
    record("scatter_add", {"x": torch.randn(4, 3), "index": rand_index((5, 3), 4), "src": torch.randn(5, 3)},
           lambda x, index, src: x.scatter_add(0, index, src))
    record("index_add", {"x": torch.randn(5, 3), "index": torch.tensor([4, 0, 4, 2]), "src": torch.randn(4, 3)},
           lambda x, index, src: x.index_add(0, index, src, alpha=0.5))

    y = torch.randn(3, 4, 5) * 4
    y[0, 1, :] = float("-inf")  # an all −inf slice along dim 2
    record("logsumexp1", {"x": torch.randn(3, 4, 5) * 4}, lambda x: torch.logsumexp(x, 1))
    record("logsumexp02", {"x": torch.randn(3, 4, 5) * 4}, lambda x: torch.logsumexp(x, (0, 2), keepdim=True))
    OUT["logsumexp_inf.x"] = y.numpy().copy()
    OUT["logsumexp_inf.out"] = torch.logsumexp(y, 2).numpy()

    record("cumsum1", {"x": torch.randn(3, 4, 5)}, lambda x: torch.cumsum(x, 1))
    record("cumsum_last", {"x": torch.randn(3, 4, 5)}, lambda x: torch.cumsum(x, -1))

    record("topk_largest", {"x": torch.randn(4, 7)}, lambda x: torch.topk(x, 3, dim=1))
    record("topk_smallest", {"x": torch.randn(5, 3)}, lambda x: torch.topk(x, 2, dim=0, largest=False))
    record("sort_asc", {"x": torch.randn(4, 7)}, lambda x: torch.sort(x, dim=1))
    record("sort_desc", {"x": torch.randn(5, 3)}, lambda x: torch.sort(x, dim=0, descending=True))
    ties = torch.randint(0, 3, (3, 8)).float()
    record("sort_stable", {"x": ties}, lambda x: torch.sort(x, dim=1, descending=True, stable=True))

    labels = torch.randint(0, 5, (2, 3))
    OUT["one_hot.indices"] = labels.numpy()
    OUT["one_hot.out"] = F.one_hot(labels, 6).numpy()

    # cross_entropy with class weights (ignore_index, label smoothing) and probability targets.
    target = torch.randint(0, 4, (6,))
    target[2] = -100
    weight = torch.rand(4) + 0.5
    for reduction in ("mean", "sum", "none"):
        for eps in (0.0, 0.1):
            tag = f"ce_weight_{reduction}_{int(eps * 10)}"
            record(tag, {"logits": torch.randn(6, 4), "weight": weight, "target": target},
                   lambda logits, weight, target: F.cross_entropy(logits, target, weight=weight.detach(),
                                                                  reduction=reduction, label_smoothing=eps))
    target_k = torch.randint(0, 4, (2, 3))
    record("ce_weight_kdim", {"logits": torch.randn(2, 4, 3), "weight": weight, "target": target_k},
           lambda logits, weight, target: F.cross_entropy(logits, target, weight=weight.detach(), label_smoothing=0.2))
    probs = torch.softmax(torch.randn(5, 4), 1)
    for reduction in ("mean", "sum", "none"):
        record(f"ce_prob_{reduction}", {"logits": torch.randn(5, 4), "probs": probs},
               lambda logits, probs: F.cross_entropy(logits, probs.detach(), reduction=reduction))
    record("ce_prob_weight_smooth", {"logits": torch.randn(5, 4), "probs": probs, "weight": weight},
           lambda logits, probs, weight: F.cross_entropy(logits, probs.detach(), weight=weight.detach(),
                                                          label_smoothing=0.3))
    record("ce_prob_kdim", {"logits": torch.randn(2, 4, 3), "probs": torch.softmax(torch.randn(2, 4, 3), 1)},
           lambda logits, probs: F.cross_entropy(logits, probs.detach(), label_smoothing=0.1))

    # float32 with float64: torch.result_type promotes to float64.
    record("promote", {"a": torch.randn(2, 3), "b": torch.randn(3).double()}, lambda a, b: a * b + a / (b.abs() + 1))

    random_cases()

    path = os.path.join(HERE, "ops.safetensors")
    write_safetensors(path, OUT, {"torch": torch.__version__})
    print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
