// graft/models/gpt2.hpp — GPT-2, loading Hugging Face's GPT2LMHeadModel files as they are.
//
//   auto model = models::GPT2LMHead::from_pretrained("gpt2");   // config.json + model.safetensors (or shards)
//   model.eval();
//   auto logits = model.forward(ids);                          // ids int64 [B, T] → [B, T, vocab]
//   auto loss = models::causal_lm_loss(logits, ids);           // next-token cross-entropy, as HF
//   auto out = models::generate(model, prompt, {.max_new_tokens = 20, .temperature = 0.8, .top_k = 40, .seed = 1});
//
// Parameter names and layouts are Hugging Face's: transformer.wte, transformer.wpe,
// transformer.h.N.{ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj}, transformer.ln_f,
// Conv1D weights [in, out]. The output projection is tied to transformer.wte.weight (there is no
// lm_head.weight parameter). The format notes and the loading rules: docs/transformers.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "graft/io/hf_config.hpp"
#include "graft/models/causal_lm.hpp"
#include "graft/nn/container.hpp"
#include "graft/nn/conv1d.hpp"
#include "graft/nn/embedding.hpp"
#include "graft/nn/module.hpp"
#include "graft/nn/normalization.hpp"
#include "graft/state_dict.hpp"

namespace graft::models {

/// The hyperparameters of a GPT-2 model, under the names of Hugging Face's config.json.
/// The defaults are those of GPT2Config() in transformers (the 124M "gpt2").
struct GPT2Config {
    std::int64_t vocab_size = 50257;
    std::int64_t n_positions = 1024;
    std::int64_t n_embd = 768;
    std::int64_t n_layer = 12;
    std::int64_t n_head = 12;
    /// Width of the MLP's hidden layer; 0 means 4·n_embd (config.json's "n_inner": null).
    std::int64_t n_inner = 0;
    double layer_norm_epsilon = 1e-5;
    double resid_pdrop = 0.1;
    double embd_pdrop = 0.1;
    /// Dropout on the attention probabilities while training (inside the fused attention).
    double attn_pdrop = 0.1;
    /// Standard deviation of the normal initialisation of fresh weights.
    double initializer_range = 0.02;
    /// Whether attention scores are divided by √head_dim (HF's "scale_attn_weights").
    bool scale_attn_weights = true;

    /// Reads a Hugging Face config.json: n_layer, n_head, n_embd, n_positions, vocab_size and
    /// layer_norm_epsilon are required (IOError naming the key and the file when one is missing or
    /// not a number); the others keep their defaults when absent; unknown keys are ignored.
    /// A configuration this model cannot run (activation_function other than "gelu_new",
    /// scale_attn_by_inverse_layer_idx true, inconsistent sizes) is a ValueError.
    static GPT2Config from_json_file(const std::filesystem::path& path);
    /// The same from JSON text; errors name "<string>" as the source.
    static GPT2Config from_json_string(const std::string& json);
    /// The same from a parsed config (the rules above; errors name config.source()).
    static GPT2Config from_hf_config(const io::HfConfig& config);

    /// ValueError naming the field unless every size is positive, n_head divides n_embd, the
    /// dropout probabilities lie in [0, 1) and the weights' float32 byte counts (each and in
    /// total) fit in 64 bits.
    void validate() const;
    std::int64_t head_dim() const { return n_embd / n_head; }
    std::int64_t mlp_width() const { return n_inner > 0 ? n_inner : 4 * n_embd; }
};

/// Causal self-attention: children "c_attn" (Conv1D n_embd → 3·n_embd: q, k, v) and "c_proj"
/// (Conv1D n_embd → n_embd), held in nn::Child members, so a LoRA wrapper put in their place is
/// what forward() calls.
class GPT2Attention : public nn::Cloneable<GPT2Attention> {
public:
    explicit GPT2Attention(const GPT2Config& config);
    /// Builds c_attn ~ N(0, initializer_range²) and c_proj ~ N(0, initializer_range²/(2·n_layer)), zero biases.
    void reset() override;
    /// x [B, T, n_embd] → [B, T, n_embd], causal over T.
    Tensor forward(const Tensor& x) override { return forward(x, nullptr); }
    /// With `kv`, attends to its cached keys and values too and appends this step's to them.
    /// padding_mask: bool [B, cached + T], true for real tokens (undefined: none); keys at padding
    /// positions are masked out of every query.
    Tensor forward(const Tensor& x, LayerKV* kv, const Tensor& padding_mask = Tensor());
    std::string type_name() const override { return "GPT2Attention"; }

    GPT2Config config;
    nn::Child<nn::Conv1D> c_attn, c_proj;
};

/// The feed-forward part: children "c_fc" (Conv1D n_embd → mlp_width), GELU (tanh
/// approximation, HF's "gelu_new"), "c_proj" (Conv1D mlp_width → n_embd), dropout resid_pdrop.
class GPT2MLP : public nn::Cloneable<GPT2MLP> {
public:
    explicit GPT2MLP(const GPT2Config& config);
    void reset() override;
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "GPT2MLP"; }

    GPT2Config config;
    nn::Child<nn::Conv1D> c_fc, c_proj;
};

/// A pre-LayerNorm transformer block: x + attn(ln_1(x)), then h + mlp(ln_2(h)).
class GPT2Block : public nn::Cloneable<GPT2Block> {
public:
    explicit GPT2Block(const GPT2Config& config);
    void reset() override;
    Tensor forward(const Tensor& x) override { return forward(x, nullptr); }
    Tensor forward(const Tensor& x, LayerKV* kv, const Tensor& padding_mask = Tensor());
    std::string type_name() const override { return "GPT2Block"; }

    GPT2Config config;
    nn::Child<nn::LayerNorm> ln_1, ln_2;
    nn::Child<GPT2Attention> attn;
    nn::Child<GPT2MLP> mlp;
};

/// HF's GPT2Model: token and position embeddings "wte" [vocab, n_embd] and "wpe"
/// [n_positions, n_embd], blocks "h.0" … "h.{n_layer−1}", final LayerNorm "ln_f".
class GPT2Model : public nn::Cloneable<GPT2Model> {
public:
    explicit GPT2Model(const GPT2Config& config);
    void reset() override;
    /// ids int64 [B, T] → hidden states [B, T, n_embd] after ln_f.
    Tensor forward(const Tensor& ids) override { return forward(ids, nullptr); }
    /// With a cache, the positions continue after its length() and each layer's keys and values
    /// are appended to it. ValueError naming n_positions when cache length + T exceeds it;
    /// ShapeError unless ids is [B, T] with T ≥ 1 and B equal to the cache's batch.
    /// padding_mask: HF's attention_mask [B, cached + T] (int64/int32/bool, nonzero for real
    /// tokens; undefined: none), its padding keys masked out. position_ids: int64 [B, T], each
    /// row's wpe positions (undefined: cached … cached + T − 1); IndexError past n_positions.
    Tensor forward(const Tensor& ids, KVCache* cache, const Tensor& padding_mask = Tensor(),
                   const Tensor& position_ids = Tensor());
    std::string type_name() const override { return "GPT2Model"; }

    GPT2Config config;
    nn::Child<nn::Embedding> wte, wpe;
    nn::Child<nn::ModuleList> h;
    nn::Child<nn::LayerNorm> ln_f;
    /// Runs each block through autograd::checkpoint while grad mode is on and no KV cache is
    /// passed: the blocks keep only their inputs for the backward, which recomputes them
    /// (models::set_gradient_checkpointing).
    bool gradient_checkpointing = false;
};

/// HF's GPT2LMHeadModel: "transformer" (GPT2Model) and a bias-free output projection tied to
/// transformer.wte.weight. state_dict() keys equal those of HF's saved model.safetensors.
class GPT2LMHead : public nn::Cloneable<GPT2LMHead> {
public:
    explicit GPT2LMHead(const GPT2Config& config);
    void reset() override;
    /// ids int64 [B, T] → logits [B, T, vocab_size].
    Tensor forward(const Tensor& ids) override { return forward(ids, nullptr); }
    /// Logits of the new positions only, continuing the cached ones (see GPT2Model::forward).
    Tensor forward(const Tensor& ids, KVCache* cache, const Tensor& padding_mask = Tensor(),
                   const Tensor& position_ids = Tensor());
    std::string type_name() const override { return "GPT2LMHead"; }

    /// Loads a Hugging Face GPT-2 state dict as the files hold it: the keys are renamed as
    /// options say (rename, strip_prefix, add_prefix), then reworked as follows, then loaded by
    /// load_state_dict with options' strictness and mismatch policy:
    ///   - keys "…attn.bias" and "…attn.masked_bias" (HF's causal-mask buffers) are dropped;
    ///   - a dict without any "transformer." key (saved from GPT2Model, like the hub's "gpt2"
    ///     model.safetensors) gets "transformer." put before every key but "lm_head.weight";
    ///   - "lm_head.weight", when the dict also has transformer.wte.weight, must equal it (the
    ///     head is tied; ValueError otherwise, before anything is loaded) and is then dropped.
    nn::LoadReport load_pretrained(const StateDict& dict, const nn::LoadOptions& options = {});
    /// A model built from a config.json and loaded strictly from a safetensors file; an error
    /// names the file it comes from ("GPT2LMHead::from_pretrained: weights '<path>': …").
    static GPT2LMHead from_pretrained(const std::filesystem::path& config_json,
                                      const std::filesystem::path& weights);
    /// A model built from dir/config.json and loaded strictly by load_pretrained from the
    /// weights of a Hugging Face model directory: dir/model.safetensors or the shards of
    /// dir/model.safetensors.index.json, F32, BF16 or F16 (io::load_pretrained_state_dict).
    static GPT2LMHead from_pretrained(const std::filesystem::path& dir);

    GPT2Config config;
    nn::Child<GPT2Model> transformer;
};

/// prompt_ids int64 [B, T] (T ≥ 1) followed by max_new_tokens generated ids: [B, T + max_new_tokens]
/// (models::generate_tokens in causal_lm.hpp). The model's train/eval mode is left as it is (call
/// eval() first, or dropout makes the output random). ValueError naming n_positions when
/// T + max_new_tokens exceeds it.
Tensor generate(GPT2LMHead& model, const Tensor& prompt_ids, const GenerateOptions& options = {});
/// Batched generation from prompts of different lengths, left-padded to one length T:
/// attention_mask [B, T] nonzero at real tokens (HF's), the padding keys masked out and each row's
/// positions counted from its first real token (models::generate_padded_tokens), so every row
/// gets the tokens it would get alone.
Tensor generate(GPT2LMHead& model, const Tensor& prompt_ids, const Tensor& attention_mask,
                const GenerateOptions& options = {});

}  // namespace graft::models
