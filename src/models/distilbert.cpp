// models::DistilBert*: Hugging Face's DistilBERT with its parameter names: config.json, the
// embeddings, the post-LayerNorm blocks with the padding mask through the fused attention, the
// sequence classifier, and loading of HF's state dicts and directories.
#include "graft/models/distilbert.hpp"

#include <string>

#include "graft/autograd.hpp"
#include "graft/functional/attention.hpp"
#include "graft/io/pretrained.hpp"
#include "graft/nn/init.hpp"
#include "graft/ops.hpp"
#include "models/attention_heads.hpp"
#include "models/hf_classifier.hpp"
#include "models/layer_stack.hpp"

namespace graft::models {

using detail::merge_heads;
using detail::split_heads;

namespace {

constexpr double kLayerNormEps = 1e-12;  // fixed in HF's modeling_distilbert.py

nn::Linear fresh_linear(const DistilBertConfig& c, std::int64_t in, std::int64_t out) {
    nn::Linear layer(in, out);
    nn::init::normal_(layer.weight, 0.0, c.initializer_range);
    nn::init::zeros_(layer.bias);
    return layer;
}

nn::LayerNorm layer_norm(const DistilBertConfig& c) { return nn::LayerNorm({c.dim}, kLayerNormEps); }

}  // namespace

// ---- config ----------------------------------------------------------------------------------------

DistilBertConfig DistilBertConfig::from_hf_config(const io::HfConfig& j) {
    const auto unsupported = [&](const std::string& key, const std::string& value, const std::string& supported) {
        return detail::unsupported_setting(j, key, value, supported);
    };
    DistilBertConfig c;
    c.vocab_size = j.required_int("vocab_size");
    c.n_layers = j.required_int("n_layers");
    c.n_heads = j.required_int("n_heads");
    c.dim = j.required_int("dim");
    c.hidden_dim = j.required_int("hidden_dim");
    c.max_position_embeddings = j.int_or("max_position_embeddings", c.max_position_embeddings);
    c.pad_token_id = j.int_or("pad_token_id", c.pad_token_id);
    c.dropout = j.double_or("dropout", c.dropout);
    c.attention_dropout = j.double_or("attention_dropout", c.attention_dropout);
    c.seq_classif_dropout = j.double_or("seq_classif_dropout", c.seq_classif_dropout);
    c.initializer_range = j.double_or("initializer_range", c.initializer_range);
    const std::string act = j.string_or("activation", "gelu");
    if (act != "gelu") throw unsupported("activation", "\"" + act + "\"", "DistilBERT here uses \"gelu\", the erf form");
    (void)j.bool_or("sinusoidal_pos_embds", false);  // type-checked; the weights are loaded either way
    detail::finish_classifier_config(c, j);
    return c;
}

DistilBertConfig DistilBertConfig::from_file(const std::filesystem::path& config_json) {
    return from_hf_config(io::HfConfig::from_file(config_json, "DistilBertConfig"));
}

void DistilBertConfig::validate() const {
    for (const auto& [name, v] :
         {std::pair{"vocab_size", vocab_size}, std::pair{"dim", dim}, std::pair{"n_layers", n_layers},
          std::pair{"n_heads", n_heads}, std::pair{"hidden_dim", hidden_dim},
          std::pair{"max_position_embeddings", max_position_embeddings}, std::pair{"num_labels", num_labels}})
        if (v <= 0 || v > (std::int64_t{1} << 24))
            throw ValueError(std::string("DistilBertConfig: ") + name + " must lie in [1, 2^24], got " + std::to_string(v));
    if (dim % n_heads != 0)
        throw ValueError("DistilBertConfig: dim " + std::to_string(dim) + " is not a multiple of n_heads " +
                         std::to_string(n_heads));
    if (pad_token_id < 0 || pad_token_id >= vocab_size)
        throw ValueError("DistilBertConfig: pad_token_id " + std::to_string(pad_token_id) +
                         " is outside [0, vocab_size = " + std::to_string(vocab_size) + ")");
    for (const auto& [name, p] : {std::pair{"dropout", dropout}, std::pair{"attention_dropout", attention_dropout},
                                  std::pair{"seq_classif_dropout", seq_classif_dropout}})
        if (!(p >= 0 && p < 1))
            throw ValueError(std::string("DistilBertConfig: ") + name + " must lie in [0, 1), got " + std::to_string(p));
}

// ---- modules ---------------------------------------------------------------------------------------

DistilBertEmbeddings::DistilBertEmbeddings(const DistilBertConfig& c) : config(c) {
    config.validate();
    reset();
}

void DistilBertEmbeddings::reset() {
    nn::Embedding words(config.vocab_size, config.dim, config.pad_token_id);
    nn::init::normal_(words.weight, 0.0, config.initializer_range);
    {
        NoGradGuard guard;
        words.weight.select(0, config.pad_token_id).zero_();
    }
    nn::Embedding positions(config.max_position_embeddings, config.dim);
    nn::init::normal_(positions.weight, 0.0, config.initializer_range);
    register_module("word_embeddings", &DistilBertEmbeddings::word_embeddings, std::move(words));
    register_module("position_embeddings", &DistilBertEmbeddings::position_embeddings, std::move(positions));
    register_module("LayerNorm", &DistilBertEmbeddings::LayerNorm, layer_norm(config));
    register_module("dropout", &DistilBertEmbeddings::dropout, nn::Dropout(config.dropout));
}

// ids [B, T] → word(ids) + position(0 … T−1) → LayerNorm → dropout → [B, T, dim]
Tensor DistilBertEmbeddings::forward(const Tensor& ids) {
    if (ids.dim() != 2 || ids.size(1) == 0)
        throw ShapeError("DistilBertEmbeddings: input ids must be [batch, positions] with at least one position, got shape " +
                         shape_str(ids.shape()));
    if (ids.size(1) > config.max_position_embeddings)
        throw ValueError("DistilBertEmbeddings: " + std::to_string(ids.size(1)) +
                         " positions exceed max_position_embeddings = " + std::to_string(config.max_position_embeddings));
    const Tensor x = add(word_embeddings(ids), position_embeddings(arange(0, ids.size(1), 1, DType::Int64)));
    return dropout(LayerNorm(x));
}

DistilBertAttention::DistilBertAttention(const DistilBertConfig& c) : config(c) {
    config.validate();
    reset();
}

void DistilBertAttention::reset() {
    register_module("q_lin", &DistilBertAttention::q_lin, fresh_linear(config, config.dim, config.dim));
    register_module("k_lin", &DistilBertAttention::k_lin, fresh_linear(config, config.dim, config.dim));
    register_module("v_lin", &DistilBertAttention::v_lin, fresh_linear(config, config.dim, config.dim));
    register_module("out_lin", &DistilBertAttention::out_lin, fresh_linear(config, config.dim, config.dim));
}

// x [B, T, dim] → q, k, v [B, H, T, D] → softmax(q·kᵀ/√D, padded keys masked)·v → out_lin → [B, T, dim]
Tensor DistilBertAttention::forward(const Tensor& x, const Tensor& key_mask) {
    const std::int64_t heads = config.n_heads;
    nn::functional::AttentionOptions options;
    options.mask = key_mask;
    options.dropout_p = is_training() ? config.attention_dropout : 0.0;
    const Tensor y = nn::functional::scaled_dot_product_attention(split_heads(q_lin(x), heads), split_heads(k_lin(x), heads),
                                                                  split_heads(v_lin(x), heads), options);
    return out_lin(merge_heads(y));
}

DistilBertFFN::DistilBertFFN(const DistilBertConfig& c) : config(c) {
    config.validate();
    reset();
}

void DistilBertFFN::reset() {
    register_module("lin1", &DistilBertFFN::lin1, fresh_linear(config, config.dim, config.hidden_dim));
    register_module("lin2", &DistilBertFFN::lin2, fresh_linear(config, config.hidden_dim, config.dim));
    register_module("dropout", &DistilBertFFN::dropout, nn::Dropout(config.dropout));
}

Tensor DistilBertFFN::forward(const Tensor& x) { return dropout(lin2(gelu(lin1(x)))); }

DistilBertBlock::DistilBertBlock(const DistilBertConfig& c) : config(c) {
    config.validate();
    reset();
}

void DistilBertBlock::reset() {
    register_module("attention", &DistilBertBlock::attention, DistilBertAttention(config));
    register_module("sa_layer_norm", &DistilBertBlock::sa_layer_norm, layer_norm(config));
    register_module("ffn", &DistilBertBlock::ffn, DistilBertFFN(config));
    register_module("output_layer_norm", &DistilBertBlock::output_layer_norm, layer_norm(config));
}

Tensor DistilBertBlock::forward(const Tensor& x, const Tensor& key_mask) {
    const Tensor sa = sa_layer_norm(add(attention(x, key_mask), x));
    return output_layer_norm(add(ffn(sa), sa));
}

DistilBertTransformer::DistilBertTransformer(const DistilBertConfig& c) : config(c) {
    config.validate();
    reset();
}

void DistilBertTransformer::reset() {
    register_module("layer", &DistilBertTransformer::layer, nn::ModuleList());
    for (std::int64_t i = 0; i < config.n_layers; ++i) layer->push_back(DistilBertBlock(config));
}

Tensor DistilBertTransformer::forward(const Tensor& x, const Tensor& key_mask) {
    return detail::run_layers<DistilBertBlock>(*layer, x, key_mask, gradient_checkpointing, "DistilBertTransformer", "DistilBertBlock");
}

DistilBertModel::DistilBertModel(const DistilBertConfig& c) : config(c) {
    config.validate();
    reset();
}

void DistilBertModel::reset() {
    register_module("embeddings", &DistilBertModel::embeddings, DistilBertEmbeddings(config));
    register_module("transformer", &DistilBertModel::transformer, DistilBertTransformer(config));
}

Tensor DistilBertModel::forward(const Tensor& ids, const Tensor& attention_mask) {
    if (attention_mask.defined() && attention_mask.shape() != ids.shape())
        throw ShapeError("DistilBertModel: attention_mask " + shape_str(attention_mask.shape()) +
                         " must have the shape of input_ids " + shape_str(ids.shape()));
    const Tensor key_mask = attention_mask.defined() ? ne(attention_mask, 0.0) : Tensor();
    return transformer(embeddings(ids), key_mask);
}

DistilBertForSequenceClassification::DistilBertForSequenceClassification(const DistilBertConfig& c) : config(c) {
    config.validate();
    reset();
}

void DistilBertForSequenceClassification::reset() {
    register_module("distilbert", &DistilBertForSequenceClassification::distilbert, DistilBertModel(config));
    register_module("pre_classifier", &DistilBertForSequenceClassification::pre_classifier,
                    fresh_linear(config, config.dim, config.dim));
    register_module("classifier", &DistilBertForSequenceClassification::classifier,
                    fresh_linear(config, config.dim, config.num_labels));
    register_module("dropout", &DistilBertForSequenceClassification::dropout, nn::Dropout(config.seq_classif_dropout));
}

// hidden[:, 0] [B, dim] → pre_classifier → ReLU → dropout → classifier → [B, num_labels]
Tensor DistilBertForSequenceClassification::forward(const Tensor& ids, const Tensor& attention_mask) {
    const Tensor first = distilbert(ids, attention_mask).select(1, 0);
    return classifier(dropout(relu(pre_classifier(first))));
}

nn::LoadReport DistilBertForSequenceClassification::load_pretrained(const StateDict& dict,
                                                                    const nn::LoadOptions& options) {
    const StateDict renamed = nn::renamed_state_dict(dict, options);
    bool has_prefix = false;
    for (const auto& [name, t] : renamed) has_prefix = has_prefix || name.starts_with("distilbert.");
    StateDict normalised;
    for (const auto& [name, t] : renamed) {
        if (name.starts_with("vocab_transform.") || name.starts_with("vocab_layer_norm.") ||
            name.starts_with("vocab_projector."))
            continue;  // DistilBertForMaskedLM's head
        if (name.ends_with("embeddings.position_ids")) continue;  // a buffer older files hold
        const bool head = name.starts_with("pre_classifier.") || name.starts_with("classifier.");
        normalised.insert(has_prefix || head ? name : "distilbert." + name, t);
    }
    nn::LoadOptions already_renamed = options;
    already_renamed.rename = {};
    already_renamed.strip_prefix.clear();
    already_renamed.add_prefix.clear();
    return load_state_dict(normalised, already_renamed);
}

DistilBertForSequenceClassification DistilBertForSequenceClassification::from_pretrained(
    const std::filesystem::path& dir, const BertPretrainedOptions& options) {
    return detail::classifier_from_pretrained<DistilBertForSequenceClassification, DistilBertConfig>(
        dir, options, {"pre_classifier.", "classifier."}, "DistilBertForSequenceClassification::from_pretrained");
}

}  // namespace graft::models
