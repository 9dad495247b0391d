// models::GPT2{Attention, MLP, Block, Model, LMHead}: Hugging Face's GPT-2 with its parameter
// names and layouts, a KV cache for generation, and loading of HF's state dicts.
#include "graft/models/gpt2.hpp"

#include <cmath>
#include <string>

#include "graft/autograd.hpp"
#include "graft/io/pretrained.hpp"
#include "graft/io/safetensors.hpp"
#include "graft/nn/conv1d.hpp"
#include "graft/functional.hpp"
#include "graft/functional/attention.hpp"
#include "graft/nn/init.hpp"
#include "graft/ops.hpp"
#include "models/attention_heads.hpp"
#include "models/layer_stack.hpp"

namespace graft::models {

namespace {

using detail::merge_heads;
using detail::split_heads;

/// Appends `step` [B, H, T, D] to `cached` along T (the step itself when nothing is cached yet).
Tensor appended(const Tensor& cached, const Tensor& step) {
    return cached.defined() ? cat({cached, step}, 2) : step;
}

}  // namespace

// ---- attention --------------------------------------------------------------------------------

GPT2Attention::GPT2Attention(const GPT2Config& c) : config(c) {
    config.validate();
    reset();
}

void GPT2Attention::reset() {
    register_module("c_attn", &GPT2Attention::c_attn, nn::Conv1D(config.n_embd, 3 * config.n_embd));
    register_module("c_proj", &GPT2Attention::c_proj, nn::Conv1D(config.n_embd, config.n_embd));
    nn::init::normal_(c_attn->weight, 0.0, config.initializer_range);
    nn::init::normal_(c_proj->weight, 0.0, config.initializer_range / std::sqrt(2.0 * config.n_layer));
}

// x [B, T, E] → c_attn → q, k, v [B, H, T, D]; with a cache k, v grow to [B, H, T_cached + T, D];
// causal attention (bottom-right aligned: the new positions see every cached one; padding keys masked;
// attn_pdrop dropout on the probabilities while training, inside the fused kernel) → [B, T, E] → c_proj
Tensor GPT2Attention::forward(const Tensor& x, LayerKV* kv, const Tensor& padding_mask) {
    const std::vector<Tensor> qkv = split(c_attn(x), config.n_embd, -1);
    const Tensor q = split_heads(qkv[0], config.n_head);
    Tensor k = split_heads(qkv[1], config.n_head), v = split_heads(qkv[2], config.n_head);
    if (kv != nullptr) {
        k = kv->key = appended(kv->key, k);
        v = kv->value = appended(kv->value, v);
    }
    nn::functional::AttentionOptions options{.causal = true, .mask = padding_mask,
                                             .dropout_p = is_training() ? config.attn_pdrop : 0.0};
    if (!config.scale_attn_weights) options.scale = 1.0;
    const Tensor y = merge_heads(nn::functional::scaled_dot_product_attention(q, k, v, options));
    return dropout(c_proj(y), config.resid_pdrop, is_training());
}

// ---- MLP ----------------------------------------------------------------------------------------

GPT2MLP::GPT2MLP(const GPT2Config& c) : config(c) {
    config.validate();
    reset();
}

void GPT2MLP::reset() {
    register_module("c_fc", &GPT2MLP::c_fc, nn::Conv1D(config.n_embd, config.mlp_width()));
    register_module("c_proj", &GPT2MLP::c_proj, nn::Conv1D(config.mlp_width(), config.n_embd));
    nn::init::normal_(c_fc->weight, 0.0, config.initializer_range);
    nn::init::normal_(c_proj->weight, 0.0, config.initializer_range / std::sqrt(2.0 * config.n_layer));
}

// x [B, T, E] → c_fc [B, T, 4E] → gelu (tanh) → c_proj [B, T, E] → dropout
Tensor GPT2MLP::forward(const Tensor& x) {
    const Tensor hidden = gelu(c_fc(x), GeluApprox::Tanh);
    return dropout(c_proj(hidden), config.resid_pdrop, is_training());
}

// ---- block --------------------------------------------------------------------------------------

GPT2Block::GPT2Block(const GPT2Config& c) : config(c) {
    config.validate();
    reset();
}

void GPT2Block::reset() {
    register_module("ln_1", &GPT2Block::ln_1, nn::LayerNorm({config.n_embd}, config.layer_norm_epsilon));
    register_module("attn", &GPT2Block::attn, GPT2Attention(config));
    register_module("ln_2", &GPT2Block::ln_2, nn::LayerNorm({config.n_embd}, config.layer_norm_epsilon));
    register_module("mlp", &GPT2Block::mlp, GPT2MLP(config));
}

Tensor GPT2Block::forward(const Tensor& x, LayerKV* kv, const Tensor& padding_mask) {
    const Tensor h = add(x, attn(ln_1(x), kv, padding_mask));
    return add(h, mlp(ln_2(h)));
}

// ---- the transformer -----------------------------------------------------------------------------

GPT2Model::GPT2Model(const GPT2Config& c) : config(c) {
    config.validate();
    reset();
}

void GPT2Model::reset() {
    register_module("wte", &GPT2Model::wte, nn::Embedding(config.vocab_size, config.n_embd));
    register_module("wpe", &GPT2Model::wpe, nn::Embedding(config.n_positions, config.n_embd));
    nn::init::normal_(wte->weight, 0.0, config.initializer_range);
    nn::init::normal_(wpe->weight, 0.0, config.initializer_range);
    register_module("h", &GPT2Model::h, nn::ModuleList());
    for (std::int64_t i = 0; i < config.n_layer; ++i) h->push_back(GPT2Block(config));
    register_module("ln_f", &GPT2Model::ln_f, nn::LayerNorm({config.n_embd}, config.layer_norm_epsilon));
}

// ids [B, T] → wte(ids) + wpe(past … past+T−1, or position_ids) → dropout → blocks (keys at
// padding positions masked) → ln_f → [B, T, E]
Tensor GPT2Model::forward(const Tensor& ids, KVCache* cache, const Tensor& padding_mask, const Tensor& position_ids) {
    if (ids.dim() != 2 || ids.size(1) == 0)
        throw ShapeError("GPT2Model: input ids must be [batch, positions] with at least one position, got shape " +
                         shape_str(ids.shape()));
    const std::int64_t past = cache != nullptr ? cache->length() : 0, steps = ids.size(1);
    if (past + steps > config.n_positions)
        throw ValueError("GPT2Model: " + std::to_string(past + steps) + " positions (" + std::to_string(past) +
                         " cached + " + std::to_string(steps) + " new) exceed n_positions = " +
                         std::to_string(config.n_positions));
    if (cache != nullptr) {
        if (past > 0 && cache->layers.front().key.size(0) != ids.size(0))
            throw ShapeError("GPT2Model: input batch of " + std::to_string(ids.size(0)) + " does not match the cache's " +
                             std::to_string(cache->layers.front().key.size(0)));
        cache->layers.resize(static_cast<std::size_t>(config.n_layer));
    }
    Tensor keep;  // bool [B, past + T], true for the keys attention may use
    if (padding_mask.defined()) {
        if (padding_mask.dim() != 2 || padding_mask.size(0) != ids.size(0) || padding_mask.size(1) != past + steps)
            throw ShapeError("GPT2Model: padding mask must be [batch, cached + new positions] = " +
                             shape_str({ids.size(0), past + steps}) + ", got " + shape_str(padding_mask.shape()));
        keep = padding_mask.dtype() == DType::Bool ? padding_mask : ne(padding_mask, 0.0);
    }
    if (position_ids.defined() && (position_ids.dim() != 2 || position_ids.size(0) != ids.size(0) ||
                                   position_ids.size(1) != steps))
        throw ShapeError("GPT2Model: position ids must be [batch, new positions] = " + shape_str({ids.size(0), steps}) +
                         ", got " + shape_str(position_ids.shape()));
    const Tensor positions = position_ids.defined() ? position_ids : arange(past, past + steps, 1, DType::Int64);
    Tensor x = add(wte(ids), wpe(positions));
    x = dropout(x, config.embd_pdrop, is_training());
    for (std::int64_t i = 0; i < config.n_layer; ++i) {
        auto block = std::dynamic_pointer_cast<GPT2Block>((*h)[i]);
        if (!block) throw ValueError("GPT2Model: h." + std::to_string(i) + " is not a GPT2Block");
        LayerKV* kv = cache != nullptr ? &cache->layers[static_cast<std::size_t>(i)] : nullptr;
        x = detail::run_block("h." + std::to_string(i), block, gradient_checkpointing && cache == nullptr, x,
                              [block, kv, keep](const Tensor& in) { return block->forward(in, kv, keep); });
    }
    return ln_f(x);
}

// ---- the language-model head -----------------------------------------------------------------------

GPT2LMHead::GPT2LMHead(const GPT2Config& c) : config(c) {
    config.validate();
    reset();
}

void GPT2LMHead::reset() { register_module("transformer", &GPT2LMHead::transformer, GPT2Model(config)); }

// hidden [B, T, E] · wteᵀ → logits [B, T, V] (the head shares wte's weight)
Tensor GPT2LMHead::forward(const Tensor& ids, KVCache* cache, const Tensor& padding_mask, const Tensor& position_ids) {
    return linear(transformer(ids, cache, padding_mask, position_ids), transformer->wte->weight);
}

nn::LoadReport GPT2LMHead::load_pretrained(const StateDict& dict, const nn::LoadOptions& options) {
    const std::string head = "lm_head.weight", wte_key = "transformer.wte.weight";
    const StateDict renamed = nn::renamed_state_dict(dict, options);
    bool has_prefix = false;
    for (const auto& [name, t] : renamed) has_prefix = has_prefix || name.starts_with("transformer.");
    StateDict normalised;
    for (const auto& [name, t] : renamed) {
        if (name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias")) continue;
        normalised.insert(has_prefix || name == head ? name : "transformer." + name, t);
    }
    if (const Tensor* lm = normalised.find(head)) {
        if (const Tensor* wte_t = normalised.find(wte_key)) {
            if (lm->shape() != wte_t->shape() || !allclose(lm->to(DType::Float32), wte_t->to(DType::Float32), 0.0, 0.0))
                throw ValueError("GPT2LMHead: lm_head.weight " + shape_str(lm->shape()) +
                                 " differs from transformer.wte.weight " + shape_str(wte_t->shape()) +
                                 "; this model ties the two and cannot hold an untied head");
            normalised.erase(head);
        }
    }
    nn::LoadOptions already_renamed = options;
    already_renamed.rename = {};
    already_renamed.strip_prefix.clear();
    already_renamed.add_prefix.clear();
    return load_state_dict(normalised, already_renamed);
}

namespace {

/// step(), with "GPT2LMHead::from_pretrained: <what> '<file>'" in front of its errors (a weights
/// file that does not fit the config otherwise reads as a bare list of keys).
template <class Step>
auto from_file(const std::filesystem::path& file, const char* what, Step&& step) {
    try {
        return step();
    } catch (Error& e) {
        std::string where = "GPT2LMHead::from_pretrained: " + std::string(what) + " '";
        where += file.string();
        where += '\'';
        e.add_context(where);
        throw;
    }
}

}  // namespace

GPT2LMHead GPT2LMHead::from_pretrained(const std::filesystem::path& config_json, const std::filesystem::path& weights) {
    GPT2LMHead model =
        from_file(config_json, "config", [&] { return GPT2LMHead(GPT2Config::from_json_file(config_json)); });
    from_file(weights, "weights", [&] { return model.load_pretrained(io::load_safetensors(weights)); });
    return model;
}

GPT2LMHead GPT2LMHead::from_pretrained(const std::filesystem::path& dir) {
    const std::filesystem::path config_json = dir / "config.json";
    GPT2LMHead model =
        from_file(config_json, "config", [&] { return GPT2LMHead(GPT2Config::from_json_file(config_json)); });
    from_file(dir, "weights", [&] { return model.load_pretrained(io::load_pretrained_state_dict(dir)); });
    return model;
}

// ---- generation ------------------------------------------------------------------------------------

Tensor generate(GPT2LMHead& model, const Tensor& prompt_ids, const GenerateOptions& options) {
    return generate_tokens(
        "generate", [&](const Tensor& ids, KVCache* cache) { return model.forward(ids, cache); }, prompt_ids, options,
        PositionLimit{model.config.n_positions, "n_positions"});
}

Tensor generate(GPT2LMHead& model, const Tensor& prompt_ids, const Tensor& attention_mask,
                const GenerateOptions& options) {
    return generate_padded_tokens(
        "generate",
        [&](const Tensor& ids, KVCache* cache, const Tensor& mask, const Tensor& positions) {
            return model.forward(ids, cache, mask, positions);
        },
        prompt_ids, attention_mask, options, PositionLimit{model.config.n_positions, "n_positions"});
}

}  // namespace graft::models
