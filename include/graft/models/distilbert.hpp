// graft/models/distilbert.hpp — DistilBERT, loading Hugging Face's DistilBertModel /
// DistilBertForSequenceClassification directories as they are.
//
//   auto model = models::DistilBertForSequenceClassification::from_pretrained("distilbert-sst2");
//   model.eval();
//   Tensor logits = model.forward(input_ids, attention_mask);   // int64 [B, T] each → [B, num_labels]
//
// Parameter names are Hugging Face's: distilbert.embeddings.{word_embeddings, position_embeddings,
// LayerNorm}, distilbert.transformer.layer.N.attention.{q_lin, k_lin, v_lin, out_lin},
// …sa_layer_norm, …ffn.{lin1, lin2}, …output_layer_norm, pre_classifier, classifier. No token
// types. Attention as BERT's (models/bert.hpp): the fused op with the padding mask and, while
// training, attention_dropout inside it. docs/models.md#distilbert.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "graft/io/hf_config.hpp"
#include "graft/models/bert.hpp"
#include "graft/nn/container.hpp"
#include "graft/nn/dropout.hpp"
#include "graft/nn/embedding.hpp"
#include "graft/nn/linear.hpp"
#include "graft/nn/module.hpp"
#include "graft/nn/normalization.hpp"

namespace graft::models {

/// DistilBERT's hyperparameters under config.json's names; defaults are DistilBertConfig()'s.
struct DistilBertConfig {
    std::int64_t vocab_size = 30522;
    std::int64_t max_position_embeddings = 512;
    std::int64_t n_layers = 6;
    std::int64_t n_heads = 12;
    std::int64_t dim = 768;
    std::int64_t hidden_dim = 3072;
    std::int64_t pad_token_id = 0;
    double dropout = 0.1;
    double attention_dropout = 0.1;
    double seq_classif_dropout = 0.2;
    double initializer_range = 0.02;
    std::int64_t num_labels = 2;
    std::vector<std::string> id2label;

    /// Reads a config.json: vocab_size, n_layers, n_heads, dim and hidden_dim are required
    /// (IOError naming the key and the file); labels as BertConfig. ValueError naming the key and
    /// the file for activation other than "gelu", problem_type other than
    /// "single_label_classification", and bad sizes. sinusoidal_pos_embds is accepted either way
    /// (it only changes how fresh position embeddings are initialised; they are N(0, 0.02²) here).
    static DistilBertConfig from_hf_config(const io::HfConfig& config);
    static DistilBertConfig from_file(const std::filesystem::path& config_json);
    void validate() const;
};

/// Word and position embeddings summed, LayerNorm (eps 1e-12), dropout.
class DistilBertEmbeddings : public nn::Cloneable<DistilBertEmbeddings> {
public:
    explicit DistilBertEmbeddings(const DistilBertConfig& config);
    void reset() override;
    /// ids [B, T] → [B, T, dim]; ValueError naming max_position_embeddings when T exceeds it.
    Tensor forward(const Tensor& ids) override;
    std::string type_name() const override { return "Embeddings"; }

    DistilBertConfig config;
    nn::Child<nn::Embedding> word_embeddings, position_embeddings;
    nn::Child<nn::LayerNorm> LayerNorm;
    nn::Child<nn::Dropout> dropout;
};

/// "q_lin", "k_lin", "v_lin", "out_lin" (Linear dim → dim).
class DistilBertAttention : public nn::Cloneable<DistilBertAttention> {
public:
    explicit DistilBertAttention(const DistilBertConfig& config);
    void reset() override;
    Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
    /// x [B, T, dim], key_mask bool [B, T] (undefined: all keys) → out_lin(attention) [B, T, dim].
    Tensor forward(const Tensor& x, const Tensor& key_mask);
    std::string type_name() const override { return "MultiHeadSelfAttention"; }

    DistilBertConfig config;
    nn::Child<nn::Linear> q_lin, k_lin, v_lin, out_lin;
};

/// "lin1" (dim → hidden_dim), GELU (erf), "lin2" (hidden_dim → dim), dropout.
class DistilBertFFN : public nn::Cloneable<DistilBertFFN> {
public:
    explicit DistilBertFFN(const DistilBertConfig& config);
    void reset() override;
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "FFN"; }

    DistilBertConfig config;
    nn::Child<nn::Linear> lin1, lin2;
    nn::Child<nn::Dropout> dropout;
};

/// sa = sa_layer_norm(attention(x) + x); output_layer_norm(ffn(sa) + sa).
class DistilBertBlock : public nn::Cloneable<DistilBertBlock> {
public:
    explicit DistilBertBlock(const DistilBertConfig& config);
    void reset() override;
    Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
    Tensor forward(const Tensor& x, const Tensor& key_mask);
    std::string type_name() const override { return "TransformerBlock"; }

    DistilBertConfig config;
    nn::Child<DistilBertAttention> attention;
    nn::Child<nn::LayerNorm> sa_layer_norm, output_layer_norm;
    nn::Child<DistilBertFFN> ffn;
};

/// "layer.0" … "layer.{n_layers−1}" (HF's Transformer).
class DistilBertTransformer : public nn::Cloneable<DistilBertTransformer> {
public:
    explicit DistilBertTransformer(const DistilBertConfig& config);
    void reset() override;
    Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
    Tensor forward(const Tensor& x, const Tensor& key_mask);
    std::string type_name() const override { return "Transformer"; }

    DistilBertConfig config;
    nn::Child<nn::ModuleList> layer;
    /// Runs each block through autograd::checkpoint while grad mode is on: the blocks keep only their
    /// inputs for the backward, which recomputes them (models::set_gradient_checkpointing).
    bool gradient_checkpointing = false;
};

/// HF's DistilBertModel: "embeddings" and "transformer".
class DistilBertModel : public nn::Cloneable<DistilBertModel> {
public:
    explicit DistilBertModel(const DistilBertConfig& config);
    void reset() override;
    Tensor forward(const Tensor& ids) override { return forward(ids, Tensor()); }
    /// ids [B, T] int64, attention_mask [B, T] (1: a token, 0: padding; undefined: all) →
    /// hidden states [B, T, dim]. ShapeError unless the mask has the ids' shape.
    Tensor forward(const Tensor& ids, const Tensor& attention_mask);
    std::string type_name() const override { return "DistilBertModel"; }

    DistilBertConfig config;
    nn::Child<DistilBertEmbeddings> embeddings;
    nn::Child<DistilBertTransformer> transformer;
};

/// HF's DistilBertForSequenceClassification: "distilbert", "pre_classifier" (dim → dim), ReLU,
/// dropout (seq_classif_dropout), "classifier" (dim → num_labels) on the first token.
class DistilBertForSequenceClassification : public nn::Cloneable<DistilBertForSequenceClassification> {
public:
    explicit DistilBertForSequenceClassification(const DistilBertConfig& config);
    void reset() override;
    Tensor forward(const Tensor& ids) override { return forward(ids, Tensor()); }
    /// Logits [B, num_labels].
    Tensor forward(const Tensor& ids, const Tensor& attention_mask);
    std::string type_name() const override { return "DistilBertForSequenceClassification"; }

    /// Loads a Hugging Face DistilBERT state dict: keys renamed as options say; a dict without
    /// "distilbert." keys (saved from DistilBertModel) gets the prefix; the masked-LM heads
    /// (vocab_transform, vocab_layer_norm, vocab_projector) and the embeddings.position_ids
    /// buffer are dropped; then load_state_dict.
    nn::LoadReport load_pretrained(const StateDict& dict, const nn::LoadOptions& options = {});
    /// As BertForSequenceClassification::from_pretrained: strict but for the head
    /// (pre_classifier.* and classifier.* may be missing or resized and then stay fresh).
    static DistilBertForSequenceClassification from_pretrained(const std::filesystem::path& dir,
                                                               const BertPretrainedOptions& options = {});

    DistilBertConfig config;
    nn::Child<DistilBertModel> distilbert;
    nn::Child<nn::Linear> pre_classifier, classifier;
    nn::Child<nn::Dropout> dropout;
};

}  // namespace graft::models
