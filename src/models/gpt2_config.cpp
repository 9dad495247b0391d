// models::GPT2Config: reading Hugging Face's config.json and checking the sizes fit together.
#include <cstdint>
#include <string>

#include "graft/io/hf_config.hpp"
#include "graft/models/gpt2.hpp"

namespace graft::models {

GPT2Config GPT2Config::from_hf_config(const io::HfConfig& j) {
    GPT2Config c;
    c.n_layer = j.required_int("n_layer");
    c.n_head = j.required_int("n_head");
    c.n_embd = j.required_int("n_embd");
    c.n_positions = j.required_int("n_positions");
    c.vocab_size = j.required_int("vocab_size");
    c.layer_norm_epsilon = j.required_double("layer_norm_epsilon");
    c.n_inner = j.int_or("n_inner", c.n_inner);
    c.resid_pdrop = j.double_or("resid_pdrop", c.resid_pdrop);
    c.embd_pdrop = j.double_or("embd_pdrop", c.embd_pdrop);
    c.attn_pdrop = j.double_or("attn_pdrop", c.attn_pdrop);
    c.initializer_range = j.double_or("initializer_range", c.initializer_range);
    c.scale_attn_weights = j.bool_or("scale_attn_weights", c.scale_attn_weights);
    if (j.has("activation_function")) {
        const std::string act = j.string_or("activation_function", "");
        if (act != "gelu_new" && act != "gelu_pytorch_tanh")
            throw ValueError("GPT2Config: " + j.source() + ": activation_function \"" + act +
                             "\" is not supported (GPT2LMHead uses \"gelu_new\", the tanh approximation)");
    }
    if (j.bool_or("scale_attn_by_inverse_layer_idx", false))
        throw ValueError("GPT2Config: " + j.source() + ": scale_attn_by_inverse_layer_idx = true is not supported");
    try {
        c.validate();
    } catch (Error& e) {
        e.add_context(j.source());
        throw;
    }
    return c;
}

GPT2Config GPT2Config::from_json_file(const std::filesystem::path& path) {
    return from_hf_config(io::HfConfig::from_file(path, "GPT2Config"));
}

GPT2Config GPT2Config::from_json_string(const std::string& text) { return from_hf_config(io::HfConfig::from_text(text, "<string>", "GPT2Config")); }

void GPT2Config::validate() const {
    const auto positive = [](const char* name, std::int64_t v) {
        if (v <= 0) throw ValueError(std::string("GPT2Config: ") + name + " must be positive, got " + std::to_string(v));
    };
    positive("n_layer", n_layer);
    positive("n_head", n_head);
    positive("n_embd", n_embd);
    positive("n_positions", n_positions);
    positive("vocab_size", vocab_size);
    if (n_inner < 0) throw ValueError("GPT2Config: n_inner must be ≥ 0 (0: 4·n_embd), got " + std::to_string(n_inner));
    // Every weight, and all of them together, must have a float32 byte count that fits in 64 bits:
    // a size such as n_positions = 2^62 is reported here, by name, rather than overflowing later.
    const auto bytes_of = [](std::int64_t rows, std::int64_t cols, std::int64_t& bytes) {
        std::int64_t count = 0;
        return !__builtin_mul_overflow(rows, cols, &count) && !__builtin_mul_overflow(count, std::int64_t{4}, &bytes);
    };
    const auto too_large = [](const std::string& sizes, const char* weight) {
        return ValueError("GPT2Config: " + sizes + " make " + weight +
                          " too large: the float32 byte count overflows 64 bits");
    };
    const std::string embd = "n_embd = " + std::to_string(n_embd);
    std::int64_t wte_bytes = 0, wpe_bytes = 0, attn_bytes = 0, mlp_bytes = 0;
    if (!bytes_of(vocab_size, n_embd, wte_bytes))
        throw too_large("vocab_size = " + std::to_string(vocab_size) + " and " + embd, "wte [vocab_size, n_embd]");
    if (!bytes_of(n_positions, n_embd, wpe_bytes))
        throw too_large("n_positions = " + std::to_string(n_positions) + " and " + embd, "wpe [n_positions, n_embd]");
    if (n_embd > INT64_MAX / 4 || !bytes_of(n_embd, 4 * n_embd, attn_bytes))
        throw too_large(embd, "the attention weights c_attn [n_embd, 3·n_embd] and c_proj [n_embd, n_embd]");
    std::int64_t width = n_inner;
    if (n_inner == 0 && __builtin_mul_overflow(n_embd, std::int64_t{4}, &width))
        throw too_large(embd, "the MLP width 4·n_embd");
    if (!bytes_of(n_embd, width, mlp_bytes) || __builtin_mul_overflow(mlp_bytes, std::int64_t{2}, &mlp_bytes))
        throw too_large(embd + " and an MLP width of " + std::to_string(width),
                        "the MLP weights c_fc [n_embd, width] and c_proj [width, n_embd]");
    std::int64_t block_bytes = 0, blocks_bytes = 0, total_bytes = 0;
    if (__builtin_add_overflow(attn_bytes, mlp_bytes, &block_bytes) ||
        __builtin_mul_overflow(block_bytes, n_layer, &blocks_bytes) ||
        __builtin_add_overflow(blocks_bytes, wte_bytes, &total_bytes) ||
        __builtin_add_overflow(total_bytes, wpe_bytes, &total_bytes))
        throw too_large("n_layer = " + std::to_string(n_layer) + ", " + embd + ", vocab_size = " +
                            std::to_string(vocab_size) + " and n_positions = " + std::to_string(n_positions),
                        "the model's weights together");
    if (n_embd % n_head != 0)
        throw ValueError("GPT2Config: n_embd " + std::to_string(n_embd) + " is not a multiple of n_head " +
                         std::to_string(n_head));
    if (!(layer_norm_epsilon > 0))
        throw ValueError("GPT2Config: layer_norm_epsilon must be positive, got " + std::to_string(layer_norm_epsilon));
    for (const auto& [name, p] : {std::pair{"resid_pdrop", resid_pdrop}, std::pair{"embd_pdrop", embd_pdrop},
                                  std::pair{"attn_pdrop", attn_pdrop}})
        if (!(p >= 0 && p < 1))
            throw ValueError(std::string("GPT2Config: ") + name + " must lie in [0, 1), got " + std::to_string(p));
}

}  // namespace graft::models
