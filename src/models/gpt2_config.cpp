// models::GPT2Config: reading Hugging Face's config.json and checking the sizes fit together.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <type_traits>

#include "io/read_text.hpp"
#include "graft/models/gpt2.hpp"

namespace graft::models {

namespace {

using nlohmann::json;

/// The number under `key`; IOError naming the key and the source when it is missing (only if
/// `required`) or not a number. Absent and optional: `fallback`.
template <class T>
T number_field(const json& j, const char* key, const std::string& source, bool required, T fallback) {
    const auto it = j.find(key);
    if (it == j.end() || (!required && it->is_null())) {
        if (required) throw IOError("GPT2Config: " + source + ": required key \"" + key + "\" is missing");
        return fallback;
    }
    const bool ok = std::is_integral_v<T> ? it->is_number_integer() : it->is_number();
    if (!ok)
        throw IOError("GPT2Config: " + source + ": \"" + key + "\" must be " +
                      (std::is_integral_v<T> ? "an integer" : "a number") + ", got " + it->dump());
    return it->get<T>();
}

bool bool_field(const json& j, const char* key, const std::string& source, bool fallback) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) throw IOError("GPT2Config: " + source + ": \"" + key + "\" must be true or false, got " + it->dump());
    return it->get<bool>();
}

GPT2Config parse(const std::string& text, const std::string& source) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        throw IOError("GPT2Config: " + source + ": not valid JSON (" + e.what() + ")");
    }
    if (!j.is_object()) throw IOError("GPT2Config: " + source + ": expected a JSON object, got " + std::string(j.type_name()));
    GPT2Config c;
    c.n_layer = number_field<std::int64_t>(j, "n_layer", source, true, 0);
    c.n_head = number_field<std::int64_t>(j, "n_head", source, true, 0);
    c.n_embd = number_field<std::int64_t>(j, "n_embd", source, true, 0);
    c.n_positions = number_field<std::int64_t>(j, "n_positions", source, true, 0);
    c.vocab_size = number_field<std::int64_t>(j, "vocab_size", source, true, 0);
    c.layer_norm_epsilon = number_field<double>(j, "layer_norm_epsilon", source, true, 0.0);
    c.n_inner = number_field<std::int64_t>(j, "n_inner", source, false, c.n_inner);
    c.resid_pdrop = number_field<double>(j, "resid_pdrop", source, false, c.resid_pdrop);
    c.embd_pdrop = number_field<double>(j, "embd_pdrop", source, false, c.embd_pdrop);
    c.attn_pdrop = number_field<double>(j, "attn_pdrop", source, false, c.attn_pdrop);
    c.initializer_range = number_field<double>(j, "initializer_range", source, false, c.initializer_range);
    c.scale_attn_weights = bool_field(j, "scale_attn_weights", source, c.scale_attn_weights);

    if (const auto it = j.find("activation_function"); it != j.end() && !it->is_null()) {
        const std::string act = it->is_string() ? it->get<std::string>() : it->dump();
        if (act != "gelu_new" && act != "gelu_pytorch_tanh")
            throw ValueError("GPT2Config: " + source + ": activation_function \"" + act +
                             "\" is not supported (GPT2LMHead uses \"gelu_new\", the tanh approximation)");
    }
    if (bool_field(j, "scale_attn_by_inverse_layer_idx", source, false))
        throw ValueError("GPT2Config: " + source + ": scale_attn_by_inverse_layer_idx = true is not supported");
    try {
        c.validate();
    } catch (Error& e) {
        e.add_context(source);
        throw;
    }
    return c;
}

}  // namespace

GPT2Config GPT2Config::from_json_file(const std::filesystem::path& path) {
    // 'path', quoted in place: "'" + path.string() trips a false -Wrestrict warning of GCC 12
    std::string source = path.string();
    source.insert(0, 1, '\'').push_back('\'');
    return parse(io::detail::read_text_file(path, "GPT2Config"), source);
}

GPT2Config GPT2Config::from_json_string(const std::string& text) { return parse(text, "<string>"); }

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
