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
        register_module("c1", &Cnn::c1, nn::Conv2d(3, 32, 3, {.padding = 1}));
        register_module("b1", &Cnn::b1, nn::BatchNorm2d(32));
        register_module("c2", &Cnn::c2, nn::Conv2d(32, 64, 3, {.padding = 1}));
        register_module("b2", &Cnn::b2, nn::BatchNorm2d(64));
        register_module("c3", &Cnn::c3, nn::Conv2d(64, 128, 3, {.padding = 1}));
        register_module("b3", &Cnn::b3, nn::BatchNorm2d(128));
        register_module("fc", &Cnn::fc, nn::Linear(128, 10));
    }
    Tensor forward(const Tensor& x) override {
        Tensor h = F::max_pool2d(relu(b1(c1(x))), 2);
        h = F::max_pool2d(relu(b2(c2(h))), 2);
        h = relu(b3(c3(h)));
        return fc(mean(h, {2, 3}));
    }
    std::string type_name() const override { return "Cnn"; }
    nn::Child<nn::Conv2d> c1, c2, c3;
    nn::Child<nn::BatchNorm2d> b1, b2, b3;
    nn::Child<nn::Linear> fc;
};

/// A pre-LN transformer block: causal multi-head attention and a GELU MLP (4×), as the PyTorch twin's.
struct Block : nn::Cloneable<Block> {
    Block(std::int64_t d, std::int64_t heads) : d(d), heads(heads) { reset(); }
    void reset() override {
        register_module("ln1", &Block::ln1, nn::LayerNorm({d}));
        register_module("qkv", &Block::qkv, nn::Linear(d, 3 * d));
        register_module("proj", &Block::proj, nn::Linear(d, d));
        register_module("ln2", &Block::ln2, nn::LayerNorm({d}));
        register_module("fc1", &Block::fc1, nn::Linear(d, 4 * d));
        register_module("fc2", &Block::fc2, nn::Linear(4 * d, d));
    }
    Tensor forward(const Tensor& x) override {
        const std::int64_t B = x.size(0), T = x.size(1), hd = d / heads;
        auto parts = split(qkv(ln1(x)), d, 2);
        for (auto& p : parts) p = p.view({B, T, heads, hd}).transpose(1, 2);
        Tensor a = F::scaled_dot_product_attention(parts[0], parts[1], parts[2], {.causal = true});
        Tensor h = x + proj(a.transpose(1, 2).reshape({B, T, d}));
        return h + fc2(gelu(fc1(ln2(h))));
    }
    std::string type_name() const override { return "Block"; }
    std::int64_t d, heads;
    nn::Child<nn::LayerNorm> ln1, ln2;
    nn::Child<nn::Linear> qkv, proj, fc1, fc2;
};

/// Char GPT: vocab 256, d 256, 4 blocks, 4 heads, T 128, untied head. With checkpoint_blocks each
/// block runs through autograd::checkpoint (recomputed in the backward).
struct Gpt : nn::Cloneable<Gpt> {
    static constexpr std::int64_t V = 256, D = 256, L = 4, H = 4, T = 128;
    Gpt() { reset(); }
    void reset() override {
        register_module("wte", &Gpt::wte, nn::Embedding(V, D));
        register_module("wpe", &Gpt::wpe, nn::Embedding(T, D));
        register_module("blocks", &Gpt::blocks, nn::ModuleList());
        for (std::int64_t i = 0; i < L; ++i) blocks->push_back(Block(D, H));
        register_module("lnf", &Gpt::lnf, nn::LayerNorm({D}));
        register_module("head", &Gpt::head, nn::Linear(D, V, /*bias=*/false));
    }
    Tensor forward(const Tensor& idx) override {
        Tensor x = wte(idx) + wpe(arange(0, idx.size(1), 1, DType::Int64));
        for (const auto& b : blocks->children())
            x = checkpoint_blocks ? autograd::checkpoint([b](const Tensor& h) { return b->forward(h); }, x) : b->forward(x);
        return head(lnf(x));
    }
    std::string type_name() const override { return "Gpt"; }
    nn::Child<nn::Embedding> wte, wpe;
    nn::Child<nn::ModuleList> blocks;
    nn::Child<nn::LayerNorm> lnf;
    nn::Child<nn::Linear> head;
    bool checkpoint_blocks = false;
};

/// Cross-entropy over every position of [B, T, V] logits and [B, T] targets.
inline Tensor lm_loss(const Tensor& logits, const Tensor& targets) {
    return F::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}));
}

}  // namespace bench
