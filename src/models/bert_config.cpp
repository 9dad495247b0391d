// models::BertConfig: reading Hugging Face's config.json for BERT and checking the sizes fit together.
#include <string>

#include "graft/io/hf_config.hpp"
#include "graft/models/bert.hpp"
#include "models/hf_classifier.hpp"

namespace graft::models {

BertConfig BertConfig::from_hf_config(const io::HfConfig& j) {
    const auto unsupported = [&](const std::string& key, const std::string& value, const std::string& supported) {
        return detail::unsupported_setting(j, key, value, supported);
    };
    BertConfig c;
    c.vocab_size = j.required_int("vocab_size");
    c.hidden_size = j.required_int("hidden_size");
    c.num_hidden_layers = j.required_int("num_hidden_layers");
    c.num_attention_heads = j.required_int("num_attention_heads");
    c.intermediate_size = j.required_int("intermediate_size");
    c.max_position_embeddings = j.int_or("max_position_embeddings", c.max_position_embeddings);
    c.type_vocab_size = j.int_or("type_vocab_size", c.type_vocab_size);
    c.pad_token_id = j.int_or("pad_token_id", c.pad_token_id);
    c.layer_norm_eps = j.double_or("layer_norm_eps", c.layer_norm_eps);
    c.hidden_dropout_prob = j.double_or("hidden_dropout_prob", c.hidden_dropout_prob);
    c.attention_probs_dropout_prob = j.double_or("attention_probs_dropout_prob", c.attention_probs_dropout_prob);
    c.classifier_dropout = j.double_or("classifier_dropout", c.classifier_dropout);
    c.initializer_range = j.double_or("initializer_range", c.initializer_range);

    const std::string act = j.string_or("hidden_act", "gelu");
    if (act != "gelu") throw unsupported("hidden_act", "\"" + act + "\"", "BERT here uses \"gelu\", the erf form");
    const std::string position = j.string_or("position_embedding_type", "absolute");
    if (position != "absolute")
        throw unsupported("position_embedding_type", "\"" + position + "\"", "only \"absolute\"");
    for (const char* key : {"is_decoder", "add_cross_attention"})
        if (j.bool_or(key, false)) throw unsupported(key, "true", "BERT here is an encoder");

    detail::finish_classifier_config(c, j);
    return c;
}

BertConfig BertConfig::from_file(const std::filesystem::path& config_json) {
    return from_hf_config(io::HfConfig::from_file(config_json, "BertConfig"));
}

void BertConfig::validate() const {
    for (const auto& [name, v] :
         {std::pair{"vocab_size", vocab_size}, std::pair{"hidden_size", hidden_size},
          std::pair{"num_hidden_layers", num_hidden_layers}, std::pair{"num_attention_heads", num_attention_heads},
          std::pair{"intermediate_size", intermediate_size}, std::pair{"max_position_embeddings", max_position_embeddings},
          std::pair{"type_vocab_size", type_vocab_size}, std::pair{"num_labels", num_labels}})
        if (v <= 0 || v > (std::int64_t{1} << 24))
            throw ValueError(std::string("BertConfig: ") + name + " must lie in [1, 2^24], got " + std::to_string(v));
    if (hidden_size % num_attention_heads != 0)
        throw ValueError("BertConfig: hidden_size " + std::to_string(hidden_size) + " is not a multiple of num_attention_heads " +
                         std::to_string(num_attention_heads));
    if (pad_token_id < 0 || pad_token_id >= vocab_size)
        throw ValueError("BertConfig: pad_token_id " + std::to_string(pad_token_id) + " is outside [0, vocab_size = " +
                         std::to_string(vocab_size) + ")");
    if (!(layer_norm_eps > 0)) throw ValueError("BertConfig: layer_norm_eps must be positive, got " + std::to_string(layer_norm_eps));
    for (const auto& [name, p] : {std::pair{"hidden_dropout_prob", hidden_dropout_prob},
                                  std::pair{"attention_probs_dropout_prob", attention_probs_dropout_prob}})
        if (!(p >= 0 && p < 1))
            throw ValueError(std::string("BertConfig: ") + name + " must lie in [0, 1), got " + std::to_string(p));
    if (!(classifier_dropout < 1))
        throw ValueError("BertConfig: classifier_dropout must lie in [0, 1) (negative: hidden_dropout_prob), got " +
                         std::to_string(classifier_dropout));
}

}  // namespace graft::models
