// models::LlamaConfig: reading Hugging Face's config.json for the Llama family (Qwen2 included) and
// checking that the sizes fit together.
#include <cstdint>
#include <string>
#include <utility>

#include "graft/io/hf_config.hpp"
#include "graft/models/llama.hpp"

namespace graft::models {

LlamaConfig LlamaConfig::from_hf_config(const io::HfConfig& hf) {
    const std::string& source = hf.source();
    const auto unsupported = [&](const std::string& key, const std::string& why) {
        return ValueError("LlamaConfig: " + source + ": " + key + " = " + hf.json_text(key) + " is not supported (" +
                          why + ")");
    };
    LlamaConfig c;
    c.model_type = hf.string_or("model_type", c.model_type);
    c.vocab_size = hf.required_int("vocab_size");
    c.hidden_size = hf.required_int("hidden_size");
    c.intermediate_size = hf.required_int("intermediate_size");
    c.num_hidden_layers = hf.required_int("num_hidden_layers");
    c.num_attention_heads = hf.required_int("num_attention_heads");
    c.num_key_value_heads = hf.int_or("num_key_value_heads", 0);
    c.head_dim = hf.int_or("head_dim", 0);
    c.max_position_embeddings = hf.int_or("max_position_embeddings", c.max_position_embeddings);
    c.rms_norm_eps = hf.double_or("rms_norm_eps", c.rms_norm_eps);
    c.rope_theta = hf.double_or("rope_theta", c.rope_theta);
    c.tie_word_embeddings = hf.bool_or("tie_word_embeddings", c.tie_word_embeddings);
    c.attention_bias = hf.bool_or("attention_bias", c.attention_bias);
    c.mlp_bias = hf.bool_or("mlp_bias", c.mlp_bias);
    c.attention_dropout = hf.double_or("attention_dropout", c.attention_dropout);
    c.qkv_bias = c.model_type == "qwen2";
    if (hf.has("pad_token_id")) c.pad_token_id = hf.required_int("pad_token_id");

    if (c.model_type != "llama" && c.model_type != "qwen2")
        throw unsupported("model_type", "this is the Llama family's code: \"llama\" and \"qwen2\"");
    if (const std::string act = hf.string_or("hidden_act", "silu"); act != "silu")
        throw unsupported("hidden_act", "the Llama MLP runs \"silu\" only");
    if (hf.has("rope_scaling"))
        throw unsupported("rope_scaling", "only plain RoPE with rope_theta, rope_scaling null, is implemented");
    if (hf.double_or("partial_rotary_factor", 1.0) != 1.0)
        throw unsupported("partial_rotary_factor", "RoPE rotates every channel of a head");
    if (hf.bool_or("use_sliding_window", false))
        throw unsupported("use_sliding_window", "attention covers every earlier position");
    try {
        c.validate();
    } catch (Error& e) {
        e.add_context(source);
        throw;
    }
    return c;
}

LlamaConfig LlamaConfig::from_json_file(const std::filesystem::path& path) {
    return from_hf_config(io::HfConfig::from_file(path, "LlamaConfig"));
}

void LlamaConfig::validate() const {
    const auto positive = [](const char* name, std::int64_t v) {
        if (v <= 0) throw ValueError(std::string("LlamaConfig: ") + name + " must be positive, got " + std::to_string(v));
    };
    positive("vocab_size", vocab_size);
    positive("hidden_size", hidden_size);
    positive("intermediate_size", intermediate_size);
    positive("num_hidden_layers", num_hidden_layers);
    positive("num_attention_heads", num_attention_heads);
    if (num_key_value_heads < 0)
        throw ValueError("LlamaConfig: num_key_value_heads must be ≥ 0 (0: num_attention_heads), got " +
                         std::to_string(num_key_value_heads));
    if (head_dim < 0)
        throw ValueError("LlamaConfig: head_dim must be ≥ 0 (0: hidden_size / num_attention_heads), got " +
                         std::to_string(head_dim));
    if (head_dim == 0 && hidden_size % num_attention_heads != 0)
        throw ValueError("LlamaConfig: hidden_size " + std::to_string(hidden_size) +
                         " is not a multiple of num_attention_heads " + std::to_string(num_attention_heads) +
                         " (and head_dim is not given)");
    if (num_attention_heads % kv_heads() != 0)
        throw ValueError("LlamaConfig: num_attention_heads " + std::to_string(num_attention_heads) +
                         " is not a multiple of num_key_value_heads " + std::to_string(kv_heads()));
    if (head_width() % 2 != 0)
        throw ValueError("LlamaConfig: the head width " + std::to_string(head_width()) + " must be even for RoPE");
    if (!(attention_dropout >= 0 && attention_dropout < 1))
        throw ValueError("LlamaConfig: attention_dropout must lie in [0, 1), got " + std::to_string(attention_dropout));
    if (!(rms_norm_eps >= 0))
        throw ValueError("LlamaConfig: rms_norm_eps must be ≥ 0, got " + std::to_string(rms_norm_eps));
    if (!(rope_theta > 0)) throw ValueError("LlamaConfig: rope_theta must be positive, got " + std::to_string(rope_theta));
    if (pad_token_id && (*pad_token_id < 0 || *pad_token_id >= vocab_size))
        throw ValueError("LlamaConfig: pad_token_id " + std::to_string(*pad_token_id) + " is outside the vocabulary [0, " +
                         std::to_string(vocab_size) + ")");
    // The float32 byte count of every weight, and of all of them together, must fit in 64 bits: a
    // size such as vocab_size = 2^62 is reported here, by name, rather than overflowing later.
    std::int64_t total = 0;
    // rows × cols floats, `copies` of them in each of `layers`
    const auto add = [&](std::int64_t rows, std::int64_t cols, std::int64_t copies, std::int64_t layers,
                         const std::string& what) {
        std::int64_t bytes = 0;
        if (__builtin_mul_overflow(rows, cols, &bytes) || __builtin_mul_overflow(bytes, 4 * copies, &bytes) ||
            __builtin_mul_overflow(bytes, layers, &bytes) || __builtin_add_overflow(total, bytes, &total))
            throw ValueError("LlamaConfig: vocab_size = " + std::to_string(vocab_size) + ", hidden_size = " +
                             std::to_string(hidden_size) + ", intermediate_size = " + std::to_string(intermediate_size) +
                             ", num_hidden_layers = " + std::to_string(num_hidden_layers) + " and " +
                             std::to_string(num_attention_heads) + " heads of " + std::to_string(head_width()) +
                             " make " + what + " too large: the float32 byte count overflows 64 bits");
    };
    std::int64_t q_width = 0, kv_width = 0;
    if (__builtin_mul_overflow(num_attention_heads, head_width(), &q_width) ||
        __builtin_mul_overflow(kv_heads(), head_width(), &kv_width))
        throw ValueError("LlamaConfig: " + std::to_string(num_attention_heads) + " heads of " +
                         std::to_string(head_width()) + " overflow 64 bits");
    add(vocab_size, hidden_size, tie_word_embeddings ? 1 : 2, 1, "embed_tokens / lm_head [vocab_size, hidden_size]");
    add(hidden_size, q_width, 2, num_hidden_layers, "q_proj and o_proj");
    add(hidden_size, kv_width, 2, num_hidden_layers, "k_proj and v_proj");
    add(hidden_size, intermediate_size, 3, num_hidden_layers, "gate_proj, up_proj and down_proj");
}

}  // namespace graft::models
