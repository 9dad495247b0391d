// graft/models/bert.hpp — BERT, loading Hugging Face's BertModel / BertForSequenceClassification
// / BertForMaskedLM directories as they are.
//
//   auto model = models::BertForSequenceClassification::from_pretrained("bert-sst2");   // config.json + weights
//   model.eval();
//   Tensor logits = model.forward(input_ids, attention_mask, token_type_ids);   // int64 [B, T] each → [B, num_labels]
//   // a new task: a fresh 3-way head on a pretrained encoder, the encoder frozen
//   auto clf = models::BertForSequenceClassification::from_pretrained("bert-base-uncased", {.num_labels = 3});
//   clf.freeze("bert.*");
//   // masked-language-model pretraining (graft/data/mlm_masking.hpp masks the batches)
//   models::BertForMaskedLM mlm(config);
//   Tensor token_logits = mlm.forward(masked_ids, attention_mask);   // [B, T, vocab_size]
//
// Parameter names are Hugging Face's: bert.embeddings.{word,position,token_type}_embeddings,
// bert.embeddings.LayerNorm, bert.encoder.layer.N.attention.self.{query,key,value},
// …attention.output.{dense,LayerNorm}, …intermediate.dense, …output.{dense,LayerNorm},
// bert.pooler.dense, classifier; Linear weights [out, in]. Attention runs the fused
// scaled_dot_product_attention with the padding mask, and attention_probs_dropout_prob
// applied inside it while training. docs/models.md#bert has the details.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "graft/io/hf_config.hpp"
#include "graft/nn/container.hpp"
#include "graft/nn/dropout.hpp"
#include "graft/nn/embedding.hpp"
#include "graft/nn/linear.hpp"
#include "graft/nn/module.hpp"
#include "graft/nn/normalization.hpp"
#include "graft/state_dict.hpp"

namespace graft::models {

/// The hyperparameters of a BERT model under the names of Hugging Face's config.json; the
/// defaults are BertConfig()'s in transformers (bert-base-uncased).
struct BertConfig {
    std::int64_t vocab_size = 30522;
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    std::int64_t max_position_embeddings = 512;
    std::int64_t type_vocab_size = 2;
    std::int64_t pad_token_id = 0;
    double layer_norm_eps = 1e-12;
    double hidden_dropout_prob = 0.1;
    double attention_probs_dropout_prob = 0.1;
    /// The dropout before the classifier; negative: hidden_dropout_prob (config.json's null).
    double classifier_dropout = -1.0;
    double initializer_range = 0.02;
    /// Number of classes of BertForSequenceClassification's head.
    std::int64_t num_labels = 2;
    /// The class names by id (config.json's id2label), empty when it has none.
    std::vector<std::string> id2label;

    /// Reads a config.json: vocab_size, hidden_size, num_hidden_layers, num_attention_heads and
    /// intermediate_size are required (IOError naming the key and the file when missing or not
    /// an integer); the others keep their defaults when absent. num_labels is id2label's size
    /// when id2label is given (its keys must be 0…n−1), else "num_labels", else 2. ValueError
    /// naming the key and the file for what this model cannot run: hidden_act other than "gelu"
    /// (the erf form), position_embedding_type other than "absolute", problem_type other than
    /// "single_label_classification", is_decoder or add_cross_attention true, bad sizes.
    static BertConfig from_hf_config(const io::HfConfig& config);
    static BertConfig from_file(const std::filesystem::path& config_json);

    /// ValueError naming the field unless the sizes are positive, num_attention_heads divides
    /// hidden_size, the dropout probabilities lie in [0, 1) and layer_norm_eps > 0.
    void validate() const;
    std::int64_t head_dim() const { return hidden_size / num_attention_heads; }
};

/// Word, position and token-type embeddings summed, then LayerNorm and dropout.
class BertEmbeddings : public nn::Cloneable<BertEmbeddings> {
public:
    explicit BertEmbeddings(const BertConfig& config);
    void reset() override;
    /// ids [B, T] → [B, T, hidden] with token types 0.
    Tensor forward(const Tensor& ids) override { return forward(ids, Tensor()); }
    /// token_type_ids [B, T] (int64) or undefined (all 0). ValueError naming
    /// max_position_embeddings when T exceeds it.
    Tensor forward(const Tensor& ids, const Tensor& token_type_ids);
    std::string type_name() const override { return "BertEmbeddings"; }

    BertConfig config;
    nn::Child<nn::Embedding> word_embeddings, position_embeddings, token_type_embeddings;
    nn::Child<nn::LayerNorm> LayerNorm;
    nn::Child<nn::Dropout> dropout;
};

/// Multi-head self-attention: "query", "key", "value" (Linear hidden → hidden).
class BertSelfAttention : public nn::Cloneable<BertSelfAttention> {
public:
    explicit BertSelfAttention(const BertConfig& config);
    void reset() override;
    Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
    /// x [B, T, hidden], key_mask bool [B, T] (true: a token to attend; undefined: all) → [B, T, hidden].
    Tensor forward(const Tensor& x, const Tensor& key_mask);
    std::string type_name() const override { return "BertSelfAttention"; }

    BertConfig config;
    nn::Child<nn::Linear> query, key, value;
};

/// dense, dropout, then LayerNorm of the sum with the residual: HF's BertSelfOutput and BertOutput.
class BertResidualOutput : public nn::Cloneable<BertResidualOutput> {
public:
    /// dense: Linear(in_features, hidden_size).
    BertResidualOutput(const BertConfig& config, std::int64_t in_features, std::string type);
    void reset() override;
    Tensor forward(const Tensor& h) override;
    /// LayerNorm(dropout(dense(h)) + residual).
    Tensor forward(const Tensor& h, const Tensor& residual);
    std::string type_name() const override { return type_; }

    BertConfig config;
    std::int64_t in_features;
    nn::Child<nn::Linear> dense;
    nn::Child<nn::LayerNorm> LayerNorm;
    nn::Child<nn::Dropout> dropout;

private:
    std::string type_;
};

/// "self" (BertSelfAttention) and "output" (dense + LayerNorm of the residual sum).
class BertAttention : public nn::Cloneable<BertAttention> {
public:
    explicit BertAttention(const BertConfig& config);
    void reset() override;
    Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
    Tensor forward(const Tensor& x, const Tensor& key_mask);
    std::string type_name() const override { return "BertAttention"; }

    BertConfig config;
    nn::Child<BertSelfAttention> self;
    nn::Child<BertResidualOutput> output;
};

/// "dense" (hidden → intermediate_size) and GELU (erf).
class BertIntermediate : public nn::Cloneable<BertIntermediate> {
public:
    explicit BertIntermediate(const BertConfig& config);
    void reset() override;
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "BertIntermediate"; }

    BertConfig config;
    nn::Child<nn::Linear> dense;
};

/// One encoder layer: attention, then intermediate and output (a post-LayerNorm block).
class BertLayer : public nn::Cloneable<BertLayer> {
public:
    explicit BertLayer(const BertConfig& config);
    void reset() override;
    Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
    Tensor forward(const Tensor& x, const Tensor& key_mask);
    std::string type_name() const override { return "BertLayer"; }

    BertConfig config;
    nn::Child<BertAttention> attention;
    nn::Child<BertIntermediate> intermediate;
    nn::Child<BertResidualOutput> output;
};

/// "layer.0" … "layer.{num_hidden_layers−1}".
class BertEncoder : public nn::Cloneable<BertEncoder> {
public:
    explicit BertEncoder(const BertConfig& config);
    void reset() override;
    Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
    Tensor forward(const Tensor& x, const Tensor& key_mask);
    std::string type_name() const override { return "BertEncoder"; }

    BertConfig config;
    nn::Child<nn::ModuleList> layer;
    /// Runs each block through autograd::checkpoint while grad mode is on: the blocks keep only their
    /// inputs for the backward, which recomputes them (models::set_gradient_checkpointing).
    bool gradient_checkpointing = false;
};

/// tanh(dense(first token's hidden state)).
class BertPooler : public nn::Cloneable<BertPooler> {
public:
    explicit BertPooler(const BertConfig& config);
    void reset() override;
    /// hidden [B, T, hidden] → [B, hidden].
    Tensor forward(const Tensor& hidden) override;
    std::string type_name() const override { return "BertPooler"; }

    BertConfig config;
    nn::Child<nn::Linear> dense;
};

/// What BertModel returns: every position's hidden state and the pooled first token.
struct BertModelOutput {
    Tensor last_hidden_state;  ///< [B, T, hidden]
    Tensor pooler_output;      ///< [B, hidden]
};

/// HF's BertModel: "embeddings", "encoder", "pooler".
class BertModel : public nn::Cloneable<BertModel> {
public:
    explicit BertModel(const BertConfig& config);
    void reset() override;
    /// ids [B, T] → last_hidden_state [B, T, hidden].
    Tensor forward(const Tensor& ids) override { return forward(ids, Tensor(), Tensor()).last_hidden_state; }
    /// ids [B, T] int64; attention_mask [B, T] (int64/int32 0/1 or bool; 1: a token, 0: padding
    /// the other positions do not attend to; undefined: all tokens); token_type_ids [B, T]
    /// (undefined: all 0). ShapeError naming the shapes unless all are [B, T].
    BertModelOutput forward(const Tensor& ids, const Tensor& attention_mask, const Tensor& token_type_ids);
    std::string type_name() const override { return "BertModel"; }

    BertConfig config;
    nn::Child<BertEmbeddings> embeddings;
    nn::Child<BertEncoder> encoder;
    nn::Child<BertPooler> pooler;
};

/// How BertForSequenceClassification::from_pretrained loads.
struct BertPretrainedOptions {
    /// A head for this many classes instead of config.json's (0: config.json's). A head whose
    /// shape differs from the checkpoint's is freshly initialised.
    std::int64_t num_labels = 0;
    /// Filled with the load's report when not null (classifier.* missing for a new head).
    nn::LoadReport* report = nullptr;
};

/// HF's BertForSequenceClassification: "bert" (BertModel), dropout, "classifier" (Linear
/// hidden → num_labels) on the pooled output. state_dict() keys equal HF's.
class BertForSequenceClassification : public nn::Cloneable<BertForSequenceClassification> {
public:
    explicit BertForSequenceClassification(const BertConfig& config);
    void reset() override;
    /// ids [B, T] → logits [B, num_labels].
    Tensor forward(const Tensor& ids) override { return forward(ids, Tensor(), Tensor()); }
    /// Logits [B, num_labels]; arguments as BertModel::forward.
    Tensor forward(const Tensor& ids, const Tensor& attention_mask, const Tensor& token_type_ids = Tensor());
    std::string type_name() const override { return "BertForSequenceClassification"; }

    /// Loads a Hugging Face BERT state dict: keys renamed as options say, then
    ///   - LayerNorm "gamma"/"beta" (older checkpoints) become "weight"/"bias";
    ///   - the position_ids / token_type_ids buffers older files hold are dropped;
    ///   - a dict without "bert." keys (saved from BertModel) gets "bert." in front;
    ///   - pretraining heads ("cls.*") are dropped;
    /// then load_state_dict with options.
    nn::LoadReport load_pretrained(const StateDict& dict, const nn::LoadOptions& options = {});
    /// A model built from dir/config.json and loaded from dir's weights (model.safetensors or
    /// shards; F32, BF16 or F16). Strict but for the head: a checkpoint without classifier.*
    /// (a pretrained encoder) or with a head of another size leaves a freshly initialised head.
    /// Errors name the directory.
    static BertForSequenceClassification from_pretrained(const std::filesystem::path& dir,
                                                         const BertPretrainedOptions& options = {});

    BertConfig config;
    nn::Child<BertModel> bert;
    nn::Child<nn::Dropout> dropout;
    nn::Child<nn::Linear> classifier;
};

/// HF's BertPredictionHeadTransform: "dense" (hidden → hidden), GELU (erf), "LayerNorm".
class BertPredictionHeadTransform : public nn::Cloneable<BertPredictionHeadTransform> {
public:
    explicit BertPredictionHeadTransform(const BertConfig& config);
    void reset() override;
    Tensor forward(const Tensor& hidden) override;
    std::string type_name() const override { return "BertPredictionHeadTransform"; }

    BertConfig config;
    nn::Child<nn::Linear> dense;
    nn::Child<nn::LayerNorm> LayerNorm;
};

/// HF's BertLMPredictionHead: "transform" and "bias" [vocab_size]; the decoder's weight is the
/// word embeddings' (tied, so no parameter of its own), passed to forward.
class BertLMPredictionHead : public nn::Cloneable<BertLMPredictionHead> {
public:
    explicit BertLMPredictionHead(const BertConfig& config);
    void reset() override;
    /// Without the decoder weight: an Error (use the two-argument form).
    Tensor forward(const Tensor& hidden) override;
    /// hidden [B, T, hidden], decoder_weight [vocab, hidden] → logits [B, T, vocab].
    Tensor forward(const Tensor& hidden, const Tensor& decoder_weight);
    std::string type_name() const override { return "BertLMPredictionHead"; }

    BertConfig config;
    nn::Child<BertPredictionHeadTransform> transform;
    Tensor bias;
};

/// HF's BertOnlyMLMHead: "predictions".
class BertOnlyMLMHead : public nn::Cloneable<BertOnlyMLMHead> {
public:
    explicit BertOnlyMLMHead(const BertConfig& config);
    void reset() override;
    Tensor forward(const Tensor& hidden) override { return predictions->forward(hidden); }
    std::string type_name() const override { return "BertOnlyMLMHead"; }

    BertConfig config;
    nn::Child<BertLMPredictionHead> predictions;
};

/// HF's BertForMaskedLM: "bert" (BertModel) and "cls" (BertOnlyMLMHead), the decoder tied to
/// bert.embeddings.word_embeddings.weight. state_dict() keys are HF's (cls.predictions.transform.
/// {dense,LayerNorm}, cls.predictions.bias) plus bert.pooler.dense, which HF's BertForMaskedLM
/// lacks but its BertForSequenceClassification needs: a saved MLM model loads strictly into both.
class BertForMaskedLM : public nn::Cloneable<BertForMaskedLM> {
public:
    explicit BertForMaskedLM(const BertConfig& config);
    void reset() override;
    /// ids [B, T] → logits [B, T, vocab_size].
    Tensor forward(const Tensor& ids) override { return forward(ids, Tensor(), Tensor()); }
    /// Logits [B, T, vocab_size]; arguments as BertModel::forward.
    Tensor forward(const Tensor& ids, const Tensor& attention_mask, const Tensor& token_type_ids = Tensor());
    std::string type_name() const override { return "BertForMaskedLM"; }

    /// Loads a Hugging Face BERT state dict: keys renamed as options say and normalised as
    /// normalized_bert_state_dict does; cls.predictions.decoder.{weight,bias} (HF's tied copies)
    /// and BertForPreTraining's cls.seq_relationship are dropped; a dict without bert.pooler
    /// (HF's BertForMaskedLM has none) leaves the pooler as initialised; then load_state_dict.
    nn::LoadReport load_pretrained(const StateDict& dict, const nn::LoadOptions& options = {});
    /// A model from dir/config.json and dir's weights, loaded strictly but for the pooler (see
    /// load_pretrained). Errors name the directory.
    static BertForMaskedLM from_pretrained(const std::filesystem::path& dir);

    BertConfig config;
    nn::Child<BertModel> bert;
    nn::Child<BertOnlyMLMHead> cls;
};

/// dict with BERT's older names and buffers normalised (gamma/beta → weight/bias; position_ids
/// and token_type_ids buffers dropped). Used by load_pretrained; exposed for BertModel users.
StateDict normalized_bert_state_dict(const StateDict& dict);

}  // namespace graft::models
