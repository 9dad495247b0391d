// models::Bert*: Hugging Face's BERT encoder and sequence classifier with their parameter names,
// the padding mask through the fused attention, and loading of HF's state dicts and directories.
#include "graft/models/bert.hpp"

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

namespace {

using detail::merge_heads;
using detail::split_heads;

/// HF's _init_weights for a Linear: N(0, initializer_range²) weight, zero bias.
nn::Linear bert_linear(const BertConfig& c, std::int64_t in, std::int64_t out) {
    nn::Linear layer(in, out);
    nn::init::normal_(layer.weight, 0.0, c.initializer_range);
    nn::init::zeros_(layer.bias);
    return layer;
}

nn::Embedding bert_embedding(const BertConfig& c, std::int64_t rows, std::optional<std::int64_t> padding_idx = std::nullopt) {
    nn::Embedding e(rows, c.hidden_size, padding_idx);
    nn::init::normal_(e.weight, 0.0, c.initializer_range);
    if (padding_idx) {
        NoGradGuard guard;
        e.weight.select(0, *padding_idx).zero_();
    }
    return e;
}

nn::LayerNorm bert_layer_norm(const BertConfig& c) { return nn::LayerNorm({c.hidden_size}, c.layer_norm_eps); }

}  // namespace

// ---- embeddings ----------------------------------------------------------------------------------

BertEmbeddings::BertEmbeddings(const BertConfig& c) : config(c) {
    config.validate();
    reset();
}

void BertEmbeddings::reset() {
    register_module("word_embeddings", &BertEmbeddings::word_embeddings,
                    bert_embedding(config, config.vocab_size, config.pad_token_id));
    register_module("position_embeddings", &BertEmbeddings::position_embeddings,
                    bert_embedding(config, config.max_position_embeddings));
    register_module("token_type_embeddings", &BertEmbeddings::token_type_embeddings,
                    bert_embedding(config, config.type_vocab_size));
    register_module("LayerNorm", &BertEmbeddings::LayerNorm, bert_layer_norm(config));
    register_module("dropout", &BertEmbeddings::dropout, nn::Dropout(config.hidden_dropout_prob));
}

// ids [B, T] → word(ids) + token_type(types) + position(0 … T−1) → LayerNorm → dropout → [B, T, hidden]
Tensor BertEmbeddings::forward(const Tensor& ids, const Tensor& token_type_ids) {
    if (ids.dim() != 2 || ids.size(1) == 0)
        throw ShapeError("BertEmbeddings: input ids must be [batch, positions] with at least one position, got shape " +
                         shape_str(ids.shape()));
    const std::int64_t steps = ids.size(1);
    if (steps > config.max_position_embeddings)
        throw ValueError("BertEmbeddings: " + std::to_string(steps) + " positions exceed max_position_embeddings = " +
                         std::to_string(config.max_position_embeddings));
    const Tensor types = token_type_ids.defined() ? token_type_ids : zeros(ids.shape(), DType::Int64);
    Tensor x = add(word_embeddings(ids), token_type_embeddings(types));
    x = add(x, position_embeddings(arange(0, steps, 1, DType::Int64)));
    return dropout(LayerNorm(x));
}

// ---- attention -----------------------------------------------------------------------------------

BertSelfAttention::BertSelfAttention(const BertConfig& c) : config(c) {
    config.validate();
    reset();
}

void BertSelfAttention::reset() {
    register_module("query", &BertSelfAttention::query, bert_linear(config, config.hidden_size, config.hidden_size));
    register_module("key", &BertSelfAttention::key, bert_linear(config, config.hidden_size, config.hidden_size));
    register_module("value", &BertSelfAttention::value, bert_linear(config, config.hidden_size, config.hidden_size));
}

// x [B, T, E] → q, k, v [B, H, T, D] → softmax(q·kᵀ/√D, padded keys masked)·v (probabilities dropped
// out while training) → [B, T, E]
Tensor BertSelfAttention::forward(const Tensor& x, const Tensor& key_mask) {
    const std::int64_t heads = config.num_attention_heads;
    const Tensor q = split_heads(query(x), heads), k = split_heads(key(x), heads), v = split_heads(value(x), heads);
    nn::functional::AttentionOptions options;
    options.mask = key_mask;
    options.dropout_p = is_training() ? config.attention_probs_dropout_prob : 0.0;
    const Tensor y = nn::functional::scaled_dot_product_attention(q, k, v, options);
    return merge_heads(y);
}

BertResidualOutput::BertResidualOutput(const BertConfig& c, std::int64_t in, std::string type)
    : config(c), in_features(in), type_(std::move(type)) {
    config.validate();
    reset();
}

void BertResidualOutput::reset() {
    register_module("dense", &BertResidualOutput::dense, bert_linear(config, in_features, config.hidden_size));
    register_module("LayerNorm", &BertResidualOutput::LayerNorm, bert_layer_norm(config));
    register_module("dropout", &BertResidualOutput::dropout, nn::Dropout(config.hidden_dropout_prob));
}

Tensor BertResidualOutput::forward(const Tensor&) {
    throw ValueError(type_ + ": forward needs the residual too: forward(h, residual)");
}

// LayerNorm(dropout(dense(h)) + residual)
Tensor BertResidualOutput::forward(const Tensor& h, const Tensor& residual) {
    return LayerNorm(add(dropout(dense(h)), residual));
}

BertAttention::BertAttention(const BertConfig& c) : config(c) {
    config.validate();
    reset();
}

void BertAttention::reset() {
    register_module("self", &BertAttention::self, BertSelfAttention(config));
    register_module("output", &BertAttention::output, BertResidualOutput(config, config.hidden_size, "BertSelfOutput"));
}

Tensor BertAttention::forward(const Tensor& x, const Tensor& key_mask) { return output(self(x, key_mask), x); }

// ---- feed-forward and layer ----------------------------------------------------------------------

BertIntermediate::BertIntermediate(const BertConfig& c) : config(c) {
    config.validate();
    reset();
}

void BertIntermediate::reset() {
    register_module("dense", &BertIntermediate::dense, bert_linear(config, config.hidden_size, config.intermediate_size));
}

Tensor BertIntermediate::forward(const Tensor& x) { return gelu(dense(x)); }

BertLayer::BertLayer(const BertConfig& c) : config(c) {
    config.validate();
    reset();
}

void BertLayer::reset() {
    register_module("attention", &BertLayer::attention, BertAttention(config));
    register_module("intermediate", &BertLayer::intermediate, BertIntermediate(config));
    register_module("output", &BertLayer::output, BertResidualOutput(config, config.intermediate_size, "BertOutput"));
}

// a = attention(x); LayerNorm(dense(gelu(dense(a))) + a)
Tensor BertLayer::forward(const Tensor& x, const Tensor& key_mask) {
    const Tensor a = attention(x, key_mask);
    return output(intermediate(a), a);
}

BertEncoder::BertEncoder(const BertConfig& c) : config(c) {
    config.validate();
    reset();
}

void BertEncoder::reset() {
    register_module("layer", &BertEncoder::layer, nn::ModuleList());
    for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) layer->push_back(BertLayer(config));
}

Tensor BertEncoder::forward(const Tensor& x, const Tensor& key_mask) {
    return detail::run_layers<BertLayer>(*layer, x, key_mask, gradient_checkpointing, "BertEncoder", "BertLayer");
}

BertPooler::BertPooler(const BertConfig& c) : config(c) {
    config.validate();
    reset();
}

void BertPooler::reset() {
    register_module("dense", &BertPooler::dense, bert_linear(config, config.hidden_size, config.hidden_size));
}

// hidden [B, T, E] → tanh(dense(hidden[:, 0])) [B, E]
Tensor BertPooler::forward(const Tensor& hidden) { return tanh(dense(hidden.select(1, 0))); }

// ---- the model -----------------------------------------------------------------------------------

BertModel::BertModel(const BertConfig& c) : config(c) {
    config.validate();
    reset();
}

void BertModel::reset() {
    register_module("embeddings", &BertModel::embeddings, BertEmbeddings(config));
    register_module("encoder", &BertModel::encoder, BertEncoder(config));
    register_module("pooler", &BertModel::pooler, BertPooler(config));
}

BertModelOutput BertModel::forward(const Tensor& ids, const Tensor& attention_mask, const Tensor& token_type_ids) {
    for (const auto& [name, t] : {std::pair{"attention_mask", &attention_mask}, std::pair{"token_type_ids", &token_type_ids}})
        if (t->defined() && t->shape() != ids.shape())
            throw ShapeError(std::string("BertModel: ") + name + " " + shape_str(t->shape()) +
                             " must have the shape of input_ids " + shape_str(ids.shape()));
    // HF adds (1 − mask)·finfo.min to the scores of padded keys; a boolean key mask drops them exactly.
    const Tensor key_mask = attention_mask.defined() ? ne(attention_mask, 0.0) : Tensor();
    const Tensor hidden = encoder(embeddings(ids, token_type_ids), key_mask);
    return {hidden, pooler(hidden)};
}

// ---- sequence classification -----------------------------------------------------------------------

BertForSequenceClassification::BertForSequenceClassification(const BertConfig& c) : config(c) {
    config.validate();
    reset();
}

void BertForSequenceClassification::reset() {
    register_module("bert", &BertForSequenceClassification::bert, BertModel(config));
    register_module("dropout", &BertForSequenceClassification::dropout,
                    nn::Dropout(config.classifier_dropout >= 0 ? config.classifier_dropout : config.hidden_dropout_prob));
    register_module("classifier", &BertForSequenceClassification::classifier,
                    bert_linear(config, config.hidden_size, config.num_labels));
}

// pooled [B, E] → dropout → classifier → logits [B, num_labels]
Tensor BertForSequenceClassification::forward(const Tensor& ids, const Tensor& attention_mask,
                                              const Tensor& token_type_ids) {
    return classifier(dropout(bert(ids, attention_mask, token_type_ids).pooler_output));
}

// ---- masked language modelling ---------------------------------------------------------------------

BertPredictionHeadTransform::BertPredictionHeadTransform(const BertConfig& c) : config(c) {
    config.validate();
    reset();
}

void BertPredictionHeadTransform::reset() {
    register_module("dense", &BertPredictionHeadTransform::dense, bert_linear(config, config.hidden_size, config.hidden_size));
    register_module("LayerNorm", &BertPredictionHeadTransform::LayerNorm, bert_layer_norm(config));
}

// hidden → dense → GELU (erf) → LayerNorm
Tensor BertPredictionHeadTransform::forward(const Tensor& hidden) { return LayerNorm(gelu(dense(hidden))); }

BertLMPredictionHead::BertLMPredictionHead(const BertConfig& c) : config(c) {
    config.validate();
    reset();
}

void BertLMPredictionHead::reset() {
    register_module("transform", &BertLMPredictionHead::transform, BertPredictionHeadTransform(config));
    bias = register_parameter("bias", zeros({config.vocab_size}));
}

Tensor BertLMPredictionHead::forward(const Tensor&) {
    throw ValueError("BertLMPredictionHead::forward: needs the decoder weight (the word embeddings): "
                     "forward(hidden, decoder_weight)");
}

// transform(hidden) · decoder_weightᵀ + bias
Tensor BertLMPredictionHead::forward(const Tensor& hidden, const Tensor& decoder_weight) {
    return linear(transform(hidden), decoder_weight, bias);
}

BertOnlyMLMHead::BertOnlyMLMHead(const BertConfig& c) : config(c) {
    config.validate();
    reset();
}

void BertOnlyMLMHead::reset() {
    register_module("predictions", &BertOnlyMLMHead::predictions, BertLMPredictionHead(config));
}

BertForMaskedLM::BertForMaskedLM(const BertConfig& c) : config(c) {
    config.validate();
    reset();
}

void BertForMaskedLM::reset() {
    register_module("bert", &BertForMaskedLM::bert, BertModel(config));
    register_module("cls", &BertForMaskedLM::cls, BertOnlyMLMHead(config));
}

// encoder states [B, T, E] → the prediction head with the word embeddings as decoder → [B, T, V]
Tensor BertForMaskedLM::forward(const Tensor& ids, const Tensor& attention_mask, const Tensor& token_type_ids) {
    const Tensor key_mask = attention_mask.defined() ? ne(attention_mask, 0.0) : Tensor();
    if (attention_mask.defined() && attention_mask.shape() != ids.shape())
        throw ShapeError("BertForMaskedLM: attention_mask " + shape_str(attention_mask.shape()) +
                         " must have the shape of input_ids " + shape_str(ids.shape()));
    if (token_type_ids.defined() && token_type_ids.shape() != ids.shape())
        throw ShapeError("BertForMaskedLM: token_type_ids " + shape_str(token_type_ids.shape()) +
                         " must have the shape of input_ids " + shape_str(ids.shape()));
    // The pooler is skipped: HF's BertForMaskedLM has none.
    const Tensor hidden = bert->encoder(bert->embeddings(ids, token_type_ids), key_mask);
    return cls->predictions->forward(hidden, bert->embeddings->word_embeddings->weight);
}

nn::LoadReport BertForMaskedLM::load_pretrained(const StateDict& dict, const nn::LoadOptions& options) {
    const StateDict renamed = normalized_bert_state_dict(nn::renamed_state_dict(dict, options));
    StateDict kept;
    bool has_pooler = false;
    for (const auto& [name, t] : renamed) {
        if (name == "cls.predictions.decoder.weight" || name == "cls.predictions.decoder.bias" ||
            name.starts_with("cls.seq_relationship."))
            continue;
        has_pooler = has_pooler || name.starts_with("bert.pooler.");
        kept.insert(name, t);
    }
    if (!has_pooler)
        for (const auto& [name, t] : bert->pooler->state_dict()) kept.insert("bert.pooler." + name, t);
    nn::LoadOptions already_renamed = options;
    already_renamed.rename = {};
    already_renamed.strip_prefix.clear();
    already_renamed.add_prefix.clear();
    return load_state_dict(kept, already_renamed);
}

BertForMaskedLM BertForMaskedLM::from_pretrained(const std::filesystem::path& dir) {
    try {
        BertForMaskedLM model(BertConfig::from_file(dir / "config.json"));
        model.load_pretrained(io::load_pretrained_state_dict(dir));
        return model;
    } catch (Error& e) {
        e.add_context("BertForMaskedLM::from_pretrained '" + dir.string() + "'");
        throw;
    }
}

StateDict normalized_bert_state_dict(const StateDict& dict) {
    StateDict out;
    for (const auto& [name, t] : dict) {
        if (name.ends_with("embeddings.position_ids") || name.ends_with("embeddings.token_type_ids")) continue;
        std::string key = name;
        if (key.ends_with("LayerNorm.gamma")) key.replace(key.size() - 5, 5, "weight");
        if (key.ends_with("LayerNorm.beta")) key.replace(key.size() - 4, 4, "bias");
        out.insert(key, t);
    }
    return out;
}

nn::LoadReport BertForSequenceClassification::load_pretrained(const StateDict& dict, const nn::LoadOptions& options) {
    const StateDict renamed = normalized_bert_state_dict(nn::renamed_state_dict(dict, options));
    bool has_prefix = false;
    for (const auto& [name, t] : renamed) has_prefix = has_prefix || name.starts_with("bert.");
    StateDict normalised;
    for (const auto& [name, t] : renamed) {
        if (name.starts_with("cls.")) continue;  // BertForPreTraining's heads
        normalised.insert(has_prefix || name.starts_with("classifier.") ? name : "bert." + name, t);
    }
    nn::LoadOptions already_renamed = options;
    already_renamed.rename = {};
    already_renamed.strip_prefix.clear();
    already_renamed.add_prefix.clear();
    return load_state_dict(normalised, already_renamed);
}

BertForSequenceClassification BertForSequenceClassification::from_pretrained(const std::filesystem::path& dir,
                                                                              const BertPretrainedOptions& options) {
    // Strict but for the head: a pretrained encoder has no classifier (or one of another size),
    // which then keeps its fresh initialisation, as transformers does.
    return detail::classifier_from_pretrained<BertForSequenceClassification, BertConfig>(
        dir, options, {"classifier."}, "BertForSequenceClassification::from_pretrained");
}

}  // namespace graft::models
