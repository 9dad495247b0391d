// The reference training workloads (docs/performance.md, "The reference workloads"), built with
// graft's public API: model shapes, batch, loss and AdamW fixed here, so that a PyTorch twin of the
// same workloads can be timed side by side (bench_workloads.cpp, compare.sh).
#pragma once

#include <graft/graft.hpp>

#include <cmath>
#include <memory>
#include <vector>

namespace bench {

using namespace graft;
namespace F = graft::nn::functional;

/// Linear 784→1024, ReLU, 1024→1024, ReLU, 1024→10 (children "0" … "4").
inline nn::Sequential make_mlp() {
    return nn::Sequential{nn::Linear(784, 1024), nn::ReLU(), nn::Linear(1024, 1024), nn::ReLU(), nn::Linear(1024, 10)};
}

/// 3×[Conv3×3 pad 1 (3→32→64→128) + BatchNorm + ReLU], max-pool after the first two, global mean,
/// Linear 128→10.
struct Cnn : nn::Cloneable<Cnn> {
    Cnn() { reset(); }
    void reset() override {
        c1 = register_module("c1", nn::Conv2d(3, 32, 3, {.padding = 1}));
        b1 = register_module("b1", nn::BatchNorm2d(32));
        c2 = register_module("c2", nn::Conv2d(32, 64, 3, {.padding = 1}));
        b2 = register_module("b2", nn::BatchNorm2d(64));
        c3 = register_module("c3", nn::Conv2d(64, 128, 3, {.padding = 1}));
        b3 = register_module("b3", nn::BatchNorm2d(128));
        fc = register_module("fc", nn::Linear(128, 10));
    }
    Tensor forward(const Tensor& x) override {
        Tensor h = F::max_pool2d(relu(b1->forward(c1->forward(x))), 2);
        h = F::max_pool2d(relu(b2->forward(c2->forward(h))), 2);
        h = relu(b3->forward(c3->forward(h)));
        return fc->forward(mean(h, {2, 3}));
    }
    std::string type_name() const override { return "Cnn"; }
    std::shared_ptr<nn::Conv2d> c1, c2, c3;
    std::shared_ptr<nn::BatchNorm2d> b1, b2, b3;
    std::shared_ptr<nn::Linear> fc;
};

/// A pre-LN transformer block: causal multi-head attention and a GELU MLP (4×), as the PyTorch twin's.
struct Block : nn::Cloneable<Block> {
    Block(std::int64_t d, std::int64_t heads) : d(d), heads(heads) { reset(); }
    void reset() override {
        ln1 = register_module("ln1", nn::LayerNorm({d}));
        qkv = register_module("qkv", nn::Linear(d, 3 * d));
        proj = register_module("proj", nn::Linear(d, d));
        ln2 = register_module("ln2", nn::LayerNorm({d}));
        fc1 = register_module("fc1", nn::Linear(d, 4 * d));
        fc2 = register_module("fc2", nn::Linear(4 * d, d));
    }
    Tensor forward(const Tensor& x) override {
        const std::int64_t B = x.size(0), T = x.size(1), hd = d / heads;
        auto parts = split(qkv->forward(ln1->forward(x)), d, 2);
        for (auto& p : parts) p = p.view({B, T, heads, hd}).transpose(1, 2);
        Tensor a = F::scaled_dot_product_attention(parts[0], parts[1], parts[2], {.causal = true});
        Tensor h = x + proj->forward(a.transpose(1, 2).reshape({B, T, d}));
        return h + fc2->forward(gelu(fc1->forward(ln2->forward(h))));
    }
    std::string type_name() const override { return "Block"; }
    std::int64_t d, heads;
    std::shared_ptr<nn::LayerNorm> ln1, ln2;
    std::shared_ptr<nn::Linear> qkv, proj, fc1, fc2;
};

/// Char GPT: vocab 256, d 256, 4 blocks, 4 heads, T 128, untied head.
struct Gpt : nn::Cloneable<Gpt> {
    static constexpr std::int64_t V = 256, D = 256, L = 4, H = 4, T = 128;
    Gpt() { reset(); }
    void reset() override {
        wte = register_module("wte", nn::Embedding(V, D));
        wpe = register_module("wpe", nn::Embedding(T, D));
        blocks = register_module("blocks", nn::ModuleList());
        for (std::int64_t i = 0; i < L; ++i) blocks->push_back(Block(D, H));
        lnf = register_module("lnf", nn::LayerNorm({D}));
        head = register_module("head", nn::Linear(D, V, /*bias=*/false));
    }
    Tensor forward(const Tensor& idx) override {
        Tensor x = wte->forward(idx) + wpe->forward(arange(0, idx.size(1), 1, DType::Int64));
        for (const auto& b : blocks->children()) x = b->forward(x);
        return head->forward(lnf->forward(x));
    }
    std::string type_name() const override { return "Gpt"; }
    std::shared_ptr<nn::Embedding> wte, wpe;
    std::shared_ptr<nn::ModuleList> blocks;
    std::shared_ptr<nn::LayerNorm> lnf;
    std::shared_ptr<nn::Linear> head;
};

/// Cross-entropy over every position of [B, T, V] logits and [B, T] targets.
inline Tensor lm_loss(const Tensor& logits, const Tensor& targets) {
    return F::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
}

}  // namespace bench
