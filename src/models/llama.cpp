// models::Llama{Attention, MLP, DecoderLayer, Model, ForCausalLM, ForSequenceClassification}: Hugging
// Face's Llama family (Qwen2 included) with its parameter names, grouped-query attention, rotary
// positions, a KV cache for generation and loading of HF model directories.
#include "graft/models/llama.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "graft/autograd.hpp"
#include "graft/functional.hpp"
#include "graft/functional/attention.hpp"
#include "graft/functional/rotary.hpp"
#include "graft/io/hf_config.hpp"
#include "graft/io/pretrained.hpp"
#include "graft/ops.hpp"
#include "models/layer_stack.hpp"

namespace graft::models {

namespace {

/// [B, T, H·D] → [B, H, T, D] (a view).
Tensor split_heads(const Tensor& x, std::int64_t heads, std::int64_t head_dim) {
    return x.view({x.size(0), x.size(1), heads, head_dim}).transpose(1, 2);
}

/// [B, H, T, D] → [B, T, H·D].
Tensor merge_heads(const Tensor& x) {
    return x.transpose(1, 2).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

/// Grouped-query causal attention: q [B, H, T, D], k and v [B, Hkv, Tk, D] with H = Hkv·rep, query
/// head h using key/value head h / rep (HF's repeat_kv) → [B, T, H·D]. Each group's rep query heads
/// attend to their kv head expanded to rep heads, a stride-0 view: the keys and values (the whole
/// cache, when generating) are never copied; only the outputs are joined. keep: bool [B, Tk] of the
/// keys a query may see, undefined for all. dropout_p: attention dropout (0 outside training).
Tensor grouped_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& keep, double dropout_p) {
    const std::int64_t kv_heads = k.size(1), rep = q.size(1) / kv_heads;
    const Shape group{k.size(0), rep, k.size(2), k.size(3)};
    std::vector<Tensor> outputs;
    for (std::int64_t g = 0; g < kv_heads; ++g) {
        const Tensor qg = q.narrow(1, g * rep, rep);
        const Tensor kg = k.narrow(1, g, 1).expand(group), vg = v.narrow(1, g, 1).expand(group);
        outputs.push_back(merge_heads(nn::functional::scaled_dot_product_attention(qg, kg, vg, {.causal = true, .mask = keep, .dropout_p = dropout_p})));
    }
    return outputs.size() == 1 ? outputs.front() : cat(outputs, -1);
}

/// Appends `step` [B, H, T, D] to `cached` along T (the step itself when nothing is cached yet).
Tensor appended(const Tensor& cached, const Tensor& step) {
    return cached.defined() ? cat({cached, step}, 2) : step;
}

std::shared_ptr<LlamaDecoderLayer> layer_at(nn::ModuleList& list, std::int64_t i) {
    auto layer = std::dynamic_pointer_cast<LlamaDecoderLayer>(list[i]);
    if (!layer) throw ValueError("LlamaModel: layers." + std::to_string(i) + " is not a LlamaDecoderLayer");
    return layer;
}

}  // namespace

// ---- attention --------------------------------------------------------------------------------

LlamaAttention::LlamaAttention(const LlamaConfig& c) : config(c) {
    config.validate();
    reset();
}

void LlamaAttention::reset() {
    const std::int64_t e = config.hidden_size, d = config.head_width();
    const bool qkv_bias = config.attention_bias || config.qkv_bias;
    register_module("q_proj", &LlamaAttention::q_proj, nn::Linear(e, config.num_attention_heads * d, qkv_bias));
    register_module("k_proj", &LlamaAttention::k_proj, nn::Linear(e, config.kv_heads() * d, qkv_bias));
    register_module("v_proj", &LlamaAttention::v_proj, nn::Linear(e, config.kv_heads() * d, qkv_bias));
    register_module("o_proj", &LlamaAttention::o_proj,
                    nn::Linear(config.num_attention_heads * d, e, config.attention_bias));
}

// x [B, T, E] → q [B, H, T, D], k, v [B, Hkv, T, D] → RoPE on q, k at positions past … past+T−1 →
// cache (k, v grow to [B, Hkv, past + T, D]) → causal (and padding-masked) attention, each kv head
// serving H/Hkv query heads → [B, T, H·D] → o_proj
Tensor LlamaAttention::forward(const Tensor& x, LayerKV* kv, const Tensor& padding_mask, const Tensor& position_ids) {
    const std::int64_t d = config.head_width();
    const std::int64_t past = kv != nullptr && kv->key.defined() ? kv->key.size(2) : 0;
    const auto rotary = [&](const Tensor& heads) {
        return position_ids.defined() ? nn::functional::apply_rotary(heads, position_ids, config.rope_theta)
                                      : nn::functional::apply_rotary(heads, past, config.rope_theta);
    };
    const Tensor q = rotary(split_heads(q_proj(x), config.num_attention_heads, d));
    Tensor k = rotary(split_heads(k_proj(x), config.kv_heads(), d));
    Tensor v = split_heads(v_proj(x), config.kv_heads(), d);
    if (kv != nullptr) {
        k = kv->key = appended(kv->key, k);
        v = kv->value = appended(kv->value, v);
    }
    return o_proj(grouped_attention(q, k, v, padding_mask, is_training() ? config.attention_dropout : 0.0));
}

// ---- MLP ----------------------------------------------------------------------------------------

LlamaMLP::LlamaMLP(const LlamaConfig& c) : config(c) {
    config.validate();
    reset();
}

void LlamaMLP::reset() {
    const std::int64_t e = config.hidden_size, i = config.intermediate_size;
    register_module("gate_proj", &LlamaMLP::gate_proj, nn::Linear(e, i, config.mlp_bias));
    register_module("up_proj", &LlamaMLP::up_proj, nn::Linear(e, i, config.mlp_bias));
    register_module("down_proj", &LlamaMLP::down_proj, nn::Linear(i, e, config.mlp_bias));
}

// x [B, T, E] → silu(gate_proj(x)) · up_proj(x) [B, T, I] → down_proj [B, T, E]
Tensor LlamaMLP::forward(const Tensor& x) { return down_proj(mul(silu(gate_proj(x)), up_proj(x))); }

// ---- decoder layer ------------------------------------------------------------------------------

LlamaDecoderLayer::LlamaDecoderLayer(const LlamaConfig& c) : config(c) {
    config.validate();
    reset();
}

void LlamaDecoderLayer::reset() {
    register_module("self_attn", &LlamaDecoderLayer::self_attn, LlamaAttention(config));
    register_module("mlp", &LlamaDecoderLayer::mlp, LlamaMLP(config));
    register_module("input_layernorm", &LlamaDecoderLayer::input_layernorm,
                    nn::RMSNorm(config.hidden_size, config.rms_norm_eps));
    register_module("post_attention_layernorm", &LlamaDecoderLayer::post_attention_layernorm,
                    nn::RMSNorm(config.hidden_size, config.rms_norm_eps));
}

Tensor LlamaDecoderLayer::forward(const Tensor& x, LayerKV* kv, const Tensor& padding_mask,
                                  const Tensor& position_ids) {
    const Tensor h = add(x, self_attn(input_layernorm(x), kv, padding_mask, position_ids));
    return add(h, mlp(post_attention_layernorm(h)));
}

// ---- the decoder stack ----------------------------------------------------------------------------

LlamaModel::LlamaModel(const LlamaConfig& c) : config(c) {
    config.validate();
    reset();
}

void LlamaModel::reset() {
    register_module("embed_tokens", &LlamaModel::embed_tokens,
                    nn::Embedding(config.vocab_size, config.hidden_size, config.pad_token_id));
    register_module("layers", &LlamaModel::layers, nn::ModuleList());
    for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) layers->push_back(LlamaDecoderLayer(config));
    register_module("norm", &LlamaModel::norm, nn::RMSNorm(config.hidden_size, config.rms_norm_eps));
}

// ids [B, T] → embed_tokens → layers (each continuing its cache entry) → norm → [B, T, E]
Tensor LlamaModel::forward(const Tensor& ids, KVCache* cache, const Tensor& padding_mask, const Tensor& position_ids) {
    if (ids.dim() != 2 || ids.size(1) == 0)
        throw ShapeError("LlamaModel: input ids must be [batch, positions] with at least one position, got shape " +
                         shape_str(ids.shape()));
    const std::int64_t past = cache != nullptr ? cache->length() : 0, batch = ids.size(0);
    if (cache != nullptr) {
        if (past > 0 && cache->layers.front().key.size(0) != batch)
            throw ShapeError("LlamaModel: input batch of " + std::to_string(batch) + " does not match the cache's " +
                             std::to_string(cache->layers.front().key.size(0)));
        cache->layers.resize(static_cast<std::size_t>(config.num_hidden_layers));
    }
    Tensor keep;  // bool [B, past + T], true for the keys attention may use
    if (padding_mask.defined()) {
        if (padding_mask.dim() != 2 || padding_mask.size(0) != batch || padding_mask.size(1) != past + ids.size(1))
            throw ShapeError("LlamaModel: padding mask must be [batch, cached + new positions] = [" +
                             std::to_string(batch) + ", " + std::to_string(past + ids.size(1)) + "], got " +
                             shape_str(padding_mask.shape()));
        keep = padding_mask.dtype() == DType::Bool ? padding_mask : ne(padding_mask, 0.0);
    }
    if (position_ids.defined() && (position_ids.dim() != 2 || position_ids.size(0) != batch ||
                                   position_ids.size(1) != ids.size(1)))
        throw ShapeError("LlamaModel: position ids must be [batch, new positions] = [" + std::to_string(batch) + ", " +
                         std::to_string(ids.size(1)) + "], got " + shape_str(position_ids.shape()));
    Tensor x = embed_tokens(ids);
    for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) {
        std::shared_ptr<LlamaDecoderLayer> layer = layer_at(*layers, i);
        LayerKV* kv = cache != nullptr ? &cache->layers[static_cast<std::size_t>(i)] : nullptr;
        x = detail::run_block("layers." + std::to_string(i), layer, gradient_checkpointing && cache == nullptr, x,
                              [layer, kv, keep, position_ids](const Tensor& in) {
                                  return layer->forward(in, kv, keep, position_ids);
                              });
    }
    return norm(x);
}

// ---- the causal language model ----------------------------------------------------------------------

LlamaForCausalLM::LlamaForCausalLM(const LlamaConfig& c) : config(c) {
    config.validate();
    reset();
}

void LlamaForCausalLM::reset() {
    register_module("model", &LlamaForCausalLM::model, LlamaModel(config));
    if (!config.tie_word_embeddings)
        register_module("lm_head", &LlamaForCausalLM::lm_head, nn::Linear(config.hidden_size, config.vocab_size, false));
}

Tensor LlamaForCausalLM::head_weight() const {
    return config.tie_word_embeddings ? model->embed_tokens->weight : lm_head->weight;
}

// hidden [B, T, E] → lm_head (or · embed_tokensᵀ when tied) → logits [B, T, V]
Tensor LlamaForCausalLM::forward(const Tensor& ids, KVCache* cache, const Tensor& padding_mask,
                                 const Tensor& position_ids) {
    const Tensor hidden = model(ids, cache, padding_mask, position_ids);
    return config.tie_word_embeddings ? linear(hidden, model->embed_tokens->weight) : lm_head(hidden);
}

nn::LoadReport LlamaForCausalLM::load_pretrained(const StateDict& dict, const nn::LoadOptions& options) {
    StateDict renamed = nn::renamed_state_dict(dict, options);
    if (config.tie_word_embeddings) renamed.erase("lm_head.weight");
    nn::LoadOptions already_renamed = options;
    already_renamed.rename = {};
    already_renamed.strip_prefix.clear();
    already_renamed.add_prefix.clear();
    return load_state_dict(renamed, already_renamed);
}

LlamaForCausalLM LlamaForCausalLM::from_pretrained(const std::filesystem::path& dir) {
    LlamaForCausalLM result(LlamaConfig::from_json_file(dir / "config.json"));
    try {
        result.load_pretrained(io::load_pretrained_state_dict(dir));
    } catch (Error& e) {
        e.add_context("LlamaForCausalLM::from_pretrained '" + dir.string() + "'");
        throw;
    }
    return result;
}

Tensor generate(LlamaForCausalLM& model, const Tensor& prompt_ids, const GenerateOptions& options) {
    return generate_tokens(
        "generate", [&](const Tensor& ids, KVCache* cache) { return model.forward(ids, cache); }, prompt_ids, options);
}

Tensor generate(LlamaForCausalLM& model, const Tensor& prompt_ids, const Tensor& attention_mask,
                const GenerateOptions& options) {
    return generate_padded_tokens(
        "generate",
        [&](const Tensor& ids, KVCache* cache, const Tensor& mask, const Tensor& positions) {
            return model.forward(ids, cache, mask, positions);
        },
        prompt_ids, attention_mask, options);
}

// ---- sequence classification ------------------------------------------------------------------------

LlamaForSequenceClassification::LlamaForSequenceClassification(const LlamaConfig& c, std::int64_t labels)
    : config(c), num_labels(labels) {
    config.validate();
    if (num_labels < 1)
        throw ValueError("LlamaForSequenceClassification: num_labels must be ≥ 1, got " + std::to_string(num_labels));
    reset();
}

void LlamaForSequenceClassification::reset() {
    register_module("model", &LlamaForSequenceClassification::model, LlamaModel(config));
    register_module("score", &LlamaForSequenceClassification::score, nn::Linear(config.hidden_size, num_labels, false));
}

// ids [B, T] → hidden [B, T, E] → row b at its last non-padding position [B, E] → score → [B, num_labels]
Tensor LlamaForSequenceClassification::forward(const Tensor& ids, const Tensor& padding_mask) {
    const Tensor hidden = model(ids, nullptr, padding_mask);
    const std::int64_t batch = ids.size(0), steps = ids.size(1);
    if (!config.pad_token_id && batch > 1)
        throw ValueError("LlamaForSequenceClassification: a batch of " + std::to_string(batch) +
                         " rows needs pad_token_id in the config to find each row's last token");
    const std::vector<std::int64_t> tokens = ids.contiguous().to_vector<std::int64_t>();
    std::vector<Tensor> pooled;
    for (std::int64_t b = 0; b < batch; ++b) {
        std::int64_t last = steps - 1;
        if (config.pad_token_id) {
            last = 0;  // HF: argmax of t·(ids ≠ pad), 0 when the row is all padding
            for (std::int64_t t = 0; t < steps; ++t)
                if (tokens[static_cast<std::size_t>(b * steps + t)] != *config.pad_token_id) last = t;
        }
        pooled.push_back(hidden.select(0, b).select(0, last));
    }
    return score(stack(pooled, 0));
}

LlamaForSequenceClassification LlamaForSequenceClassification::from_pretrained(const std::filesystem::path& dir,
                                                                               std::int64_t num_labels) {
    const io::HfConfig hf = io::HfConfig::from_file(dir / "config.json", "LlamaConfig");
    if (num_labels == 0) {
        num_labels = static_cast<std::int64_t>(hf.string_map_or_empty("id2label").size());
        if (num_labels == 0)
            throw ValueError("LlamaForSequenceClassification::from_pretrained: " + hf.source() +
                             " lists no id2label; pass num_labels");
    }
    LlamaForSequenceClassification result(LlamaConfig::from_hf_config(hf), num_labels);
    try {
        StateDict dict = io::load_pretrained_state_dict(dir);
        dict.erase("lm_head.weight");
        if (dict.find("score.weight") != nullptr)
            result.load_state_dict(dict);
        else
            result.model->load_state_dict(dict, {.strip_prefix = "model."});
    } catch (Error& e) {
        e.add_context("LlamaForSequenceClassification::from_pretrained '" + dir.string() + "'");
        throw;
    }
    return result;
}

}  // namespace graft::models
