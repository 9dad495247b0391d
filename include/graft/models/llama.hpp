// graft/models/llama.hpp — the Llama family (Llama 2/3, TinyLlama, SmolLM, Qwen2), loading Hugging
// Face's LlamaForCausalLM / Qwen2ForCausalLM directories as they are.
//
//   auto model = models::LlamaForCausalLM::from_pretrained("TinyLlama-1.1B");   // config.json + weights
//   model.eval();
//   auto logits = model.forward(ids);                          // ids int64 [B, T] → [B, T, vocab]
//   auto loss = models::causal_lm_loss(logits, ids);           // next-token cross-entropy, as HF
//   auto out = models::generate(model, prompt, {.max_new_tokens = 20, .temperature = 0.7, .top_p = 0.9, .seed = 1});
//
//   auto cls = models::LlamaForSequenceClassification::from_pretrained("dir", /*num_labels=*/2);
//   auto scores = cls.forward(ids, padding_mask);              // [B, num_labels] at each row's last real token
//
// Parameter names are Hugging Face's: model.embed_tokens, model.layers.N.self_attn.{q,k,v,o}_proj,
// model.layers.N.mlp.{gate,up,down}_proj, model.layers.N.{input,post_attention}_layernorm,
// model.norm, lm_head (absent when tie_word_embeddings: the head is model.embed_tokens.weight) or
// score. The format notes and the loading rules: docs/transformers.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "graft/models/causal_lm.hpp"
#include "graft/nn/container.hpp"
#include "graft/nn/embedding.hpp"
#include "graft/nn/linear.hpp"
#include "graft/nn/module.hpp"
#include "graft/nn/normalization.hpp"
#include "graft/state_dict.hpp"

namespace graft::io {
class HfConfig;
}

namespace graft::models {

/// The hyperparameters of a Llama-family model under the names of Hugging Face's config.json.
/// The defaults are those of LlamaConfig() in transformers (Llama-2-7B's sizes).
struct LlamaConfig {
    std::int64_t vocab_size = 32000;
    std::int64_t hidden_size = 4096;
    std::int64_t intermediate_size = 11008;
    std::int64_t num_hidden_layers = 32;
    std::int64_t num_attention_heads = 32;
    /// Grouped-query attention: each key/value head serves num_attention_heads / num_key_value_heads
    /// query heads (HF's repeat_kv); 0 means num_attention_heads.
    std::int64_t num_key_value_heads = 0;
    /// Width of one attention head; 0 means hidden_size / num_attention_heads.
    std::int64_t head_dim = 0;
    /// Unused by the forward pass (RoPE reaches any position), kept as the config states it.
    std::int64_t max_position_embeddings = 2048;
    double rms_norm_eps = 1e-6;
    double rope_theta = 10000.0;
    bool tie_word_embeddings = false;
    /// Biases on q, k, v and o_proj (Llama's "attention_bias").
    bool attention_bias = false;
    /// Biases on q, k and v only, o_proj without (Qwen2: model_type "qwen2").
    bool qkv_bias = false;
    /// Biases on gate, up and down_proj (Llama's "mlp_bias").
    bool mlp_bias = false;
    /// Dropout on the attention probabilities while training ("attention_dropout"), in [0, 1).
    double attention_dropout = 0.0;
    /// The padding token: embed_tokens' padding_idx, and what sequence classification skips.
    std::optional<std::int64_t> pad_token_id = std::nullopt;
    /// "llama" or "qwen2", as config.json names it.
    std::string model_type = "llama";

    /// Reads a config.json: vocab_size, hidden_size, intermediate_size, num_hidden_layers and
    /// num_attention_heads are required; the others keep their defaults when absent or null.
    /// model_type "qwen2" turns qkv_bias on. A configuration this code cannot run is an error naming
    /// the key and the file: model_type other than "llama" or "qwen2" (absent: "llama"), hidden_act
    /// other than "silu", a rope_scaling other than null, a partial_rotary_factor other than 1,
    /// Qwen2's use_sliding_window true, inconsistent sizes.
    static LlamaConfig from_hf_config(const io::HfConfig& config);
    static LlamaConfig from_json_file(const std::filesystem::path& path);

    /// ValueError naming the field unless every size is positive, num_key_value_heads divides
    /// num_attention_heads, the head width is even, rms_norm_eps ≥ 0, rope_theta > 0, attention_dropout
    /// lies in [0, 1), pad_token_id
    /// lies in the vocabulary and the weights' float32 byte counts fit in 64 bits.
    void validate() const;
    std::int64_t kv_heads() const { return num_key_value_heads > 0 ? num_key_value_heads : num_attention_heads; }
    std::int64_t head_width() const { return head_dim > 0 ? head_dim : hidden_size / num_attention_heads; }
};

/// Self-attention with grouped-query heads and rotary positions: children "q_proj"
/// (hidden → heads·head_dim), "k_proj", "v_proj" (hidden → kv_heads·head_dim) and "o_proj"
/// (heads·head_dim → hidden), nn::Linear in nn::Child members (LoRA wraps them in place).
class LlamaAttention : public nn::Cloneable<LlamaAttention> {
public:
    explicit LlamaAttention(const LlamaConfig& config);
    void reset() override;
    Tensor forward(const Tensor& x) override { return forward(x, nullptr, Tensor()); }
    /// x [B, T, hidden] → [B, T, hidden], causal. With `kv`, the positions continue after its
    /// cached ones (RoPE offset and attention) and this step's rotated keys and values (kv_heads
    /// of them) are appended. padding_mask: bool [B, Tk] (Tk = cached + T), true for real tokens;
    /// undefined for none. position_ids: int64 [B, T], each row's RoPE positions (undefined: cached
    /// … cached + T − 1 in every row).
    Tensor forward(const Tensor& x, LayerKV* kv, const Tensor& padding_mask, const Tensor& position_ids = Tensor());
    std::string type_name() const override { return "LlamaAttention"; }

    LlamaConfig config;
    nn::Child<nn::Linear> q_proj, k_proj, v_proj, o_proj;
};

/// SwiGLU feed-forward: down_proj(silu(gate_proj(x)) · up_proj(x)).
class LlamaMLP : public nn::Cloneable<LlamaMLP> {
public:
    explicit LlamaMLP(const LlamaConfig& config);
    void reset() override;
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "LlamaMLP"; }

    LlamaConfig config;
    nn::Child<nn::Linear> gate_proj, up_proj, down_proj;
};

/// A pre-RMSNorm block: h = x + self_attn(input_layernorm(x)); h + mlp(post_attention_layernorm(h)).
class LlamaDecoderLayer : public nn::Cloneable<LlamaDecoderLayer> {
public:
    explicit LlamaDecoderLayer(const LlamaConfig& config);
    void reset() override;
    Tensor forward(const Tensor& x) override { return forward(x, nullptr, Tensor()); }
    Tensor forward(const Tensor& x, LayerKV* kv, const Tensor& padding_mask, const Tensor& position_ids = Tensor());
    std::string type_name() const override { return "LlamaDecoderLayer"; }

    LlamaConfig config;
    nn::Child<LlamaAttention> self_attn;
    nn::Child<LlamaMLP> mlp;
    nn::Child<nn::RMSNorm> input_layernorm, post_attention_layernorm;
};

/// HF's LlamaModel: "embed_tokens" [vocab, hidden] (padding_idx = pad_token_id), decoder layers
/// "layers.0" … and the final RMSNorm "norm".
class LlamaModel : public nn::Cloneable<LlamaModel> {
public:
    explicit LlamaModel(const LlamaConfig& config);
    void reset() override;
    /// ids int64 [B, T] → hidden states [B, T, hidden] after norm.
    Tensor forward(const Tensor& ids) override { return forward(ids, nullptr, Tensor()); }
    /// With a cache, positions continue after its length() and every layer's keys and values are
    /// appended to it. padding_mask: [B, T] (or [B, cached + T] with a cache), int64/int32/bool,
    /// nonzero for real tokens (HF's attention_mask); keys at padding positions are masked out.
    /// Positions are cached … cached + T − 1 whatever the padding, as HF's forward numbers them
    /// without position_ids; position_ids int64 [B, T] gives each row its own (HF's position_ids;
    /// generate with an attention mask passes cumsum(mask) − 1, so a left-padded row's first real
    /// token is at 0). ShapeError unless ids is [B, T] with T ≥ 1, B equals the cache's batch and
    /// the mask and position ids fit.
    Tensor forward(const Tensor& ids, KVCache* cache, const Tensor& padding_mask,
                   const Tensor& position_ids = Tensor());
    std::string type_name() const override { return "LlamaModel"; }

    LlamaConfig config;
    nn::Child<nn::Embedding> embed_tokens;
    nn::Child<nn::ModuleList> layers;
    nn::Child<nn::RMSNorm> norm;
    /// Runs each block through autograd::checkpoint while grad mode is on and no KV cache is
    /// passed: the blocks keep only their inputs for the backward, which recomputes them
    /// (models::set_gradient_checkpointing).
    bool gradient_checkpointing = false;
};

/// HF's LlamaForCausalLM (and Qwen2ForCausalLM): "model" (LlamaModel) and "lm_head" (Linear
/// hidden → vocab, no bias), or, with tie_word_embeddings, no lm_head child: the logits are
/// computed with model.embed_tokens.weight, so state_dict() equals the file's keys.
class LlamaForCausalLM : public nn::Cloneable<LlamaForCausalLM> {
public:
    explicit LlamaForCausalLM(const LlamaConfig& config);
    void reset() override;
    /// ids int64 [B, T] → logits [B, T, vocab_size].
    Tensor forward(const Tensor& ids) override { return forward(ids, nullptr); }
    /// Logits of the new positions only, continuing the cached ones (see LlamaModel::forward).
    Tensor forward(const Tensor& ids, KVCache* cache, const Tensor& padding_mask = Tensor(),
                   const Tensor& position_ids = Tensor());
    std::string type_name() const override { return "LlamaForCausalLM"; }
    /// The output projection's weight [vocab, hidden]: lm_head's, or embed_tokens' when tied.
    Tensor head_weight() const;

    /// Loads a HF state dict: keys renamed as options say, then, when the head is tied, a
    /// "lm_head.weight" in the dict is dropped (HF ties it to embed_tokens after loading, too),
    /// then load_state_dict with options' strictness and mismatch policy.
    nn::LoadReport load_pretrained(const StateDict& dict, const nn::LoadOptions& options = {});
    /// A model built from dir/config.json and loaded strictly from dir's model.safetensors or the
    /// shards its model.safetensors.index.json lists (BF16/F16 converted to float32).
    static LlamaForCausalLM from_pretrained(const std::filesystem::path& dir);

    LlamaConfig config;
    nn::Child<LlamaModel> model;
    nn::Child<nn::Linear> lm_head;  // empty when tie_word_embeddings
};

/// HF's LlamaForSequenceClassification: "model" (LlamaModel) and "score" (Linear hidden →
/// num_labels, no bias), applied at each row's last token that is not pad_token_id.
class LlamaForSequenceClassification : public nn::Cloneable<LlamaForSequenceClassification> {
public:
    LlamaForSequenceClassification(const LlamaConfig& config, std::int64_t num_labels);
    void reset() override;
    /// ids int64 [B, T] → logits [B, num_labels], no padding mask.
    Tensor forward(const Tensor& ids) override { return forward(ids, Tensor()); }
    /// padding_mask [B, T] as LlamaModel's (undefined: none). The pooled position of row b is,
    /// as HF picks it, the rightmost t with ids[b, t] ≠ pad_token_id (so left and right padding
    /// both work; a row of padding only pools position 0); without pad_token_id the last position,
    /// and a ValueError for B > 1, as in HF.
    Tensor forward(const Tensor& ids, const Tensor& padding_mask);
    std::string type_name() const override { return "LlamaForSequenceClassification"; }

    /// A model from dir/config.json and dir's weights: model.* loaded strictly; score.weight
    /// loaded when the directory has it, else left freshly initialised (a new head to train);
    /// lm_head.weight ignored. num_labels 0: as many as config.json's id2label lists (ValueError
    /// when it lists none).
    static LlamaForSequenceClassification from_pretrained(const std::filesystem::path& dir,
                                                          std::int64_t num_labels = 0);

    LlamaConfig config;
    std::int64_t num_labels;
    nn::Child<LlamaModel> model;
    nn::Child<nn::Linear> score;
};

/// prompt_ids int64 [B, T] (T ≥ 1) followed by max_new_tokens generated ids: [B, T + max_new_tokens]
/// (models::generate_tokens in causal_lm.hpp), no limit on positions. The model's train/eval mode is
/// left as it is.
Tensor generate(LlamaForCausalLM& model, const Tensor& prompt_ids, const GenerateOptions& options = {});
/// Batched generation from prompts of different lengths, left-padded to one length T:
/// attention_mask [B, T] nonzero at real tokens (HF's), the padding positions masked out and each
/// row's positions counted from its first real token (models::generate_padded_tokens), so every
/// row gets the tokens it would get alone.
Tensor generate(LlamaForCausalLM& model, const Tensor& prompt_ids, const Tensor& attention_mask,
                const GenerateOptions& options = {});

}  // namespace graft::models
