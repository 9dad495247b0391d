// BERT: the config.json reader, Hugging Face's parameter names, and the golden model directory
// written by tests/golden/make_bert_golden.py (sharded, float32): eval logits and one step's
// gradients (embeddings frozen) against PyTorch, with padding and token types; loading older
// checkpoints (LayerNorm gamma/beta), BF16 copies, a new head for another number of labels.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "golden_compare.hpp"
#include "test_util.hpp"

using namespace graft;
namespace fs = std::filesystem;

namespace {

// float32 in both, sums of at most 64 products in another order than PyTorch's through 5
// LayerNorms, 2 softmaxes per head and the tanh pooler: logits agree to ~1e-6 relative. Gradients
// to 1e-4 relative (plus an absolute floor for elements whose exact value is near 0).
constexpr test::Tolerance kLogitTol{1e-6, 1e-5};
constexpr test::Tolerance kGradTol{1e-6, 1e-4};

const fs::path kGoldenDir = GRAFT_TEST_DATA_DIR;
const fs::path kModelDir = kGoldenDir / "bert_tiny";

const io::SafetensorsFile& golden() {
    static const io::SafetensorsFile file = io::read_safetensors(kGoldenDir / "bert_tiny_golden.safetensors");
    return file;
}

const Tensor& g(const std::string& name) { return golden().tensors.at(name); }

}  // namespace

TEST(BertConfig, ReadsHuggingFaceConfig) {
    const auto c = models::BertConfig::from_file(kModelDir / "config.json");
    EXPECT_EQ(c.vocab_size, 100);
    EXPECT_EQ(c.hidden_size, 32);
    EXPECT_EQ(c.num_hidden_layers, 2);
    EXPECT_EQ(c.num_attention_heads, 4);
    EXPECT_EQ(c.head_dim(), 8);
    EXPECT_EQ(c.intermediate_size, 64);
    EXPECT_EQ(c.max_position_embeddings, 64);
    EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-12);
    EXPECT_DOUBLE_EQ(c.attention_probs_dropout_prob, 0.1);
    EXPECT_LT(c.classifier_dropout, 0);  // null: hidden_dropout_prob
    EXPECT_EQ(c.num_labels, 3);
    EXPECT_EQ(c.id2label, (std::vector<std::string>{"NEGATIVE", "NEUTRAL", "POSITIVE"}));
}

TEST(BertConfig, UnsupportedSettingsNameKeyAndFile) {
    test::ScratchDir dir("bertcfg");
    const fs::path path = dir.path("config.json");
    const std::string sizes = R"("vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
                                 "intermediate_size": 16)";
    const auto expect_error = [&](const std::string& extra, const std::string& needle, bool io_error) {
        std::ofstream(path) << "{" << sizes << extra << "}";
        if (io_error) {
            EXPECT_THROW_MSG(models::BertConfig::from_file(path), IOError, needle);
            EXPECT_THROW_MSG(models::BertConfig::from_file(path), IOError, path.string());
        } else {
            EXPECT_THROW_MSG(models::BertConfig::from_file(path), ValueError, needle);
            EXPECT_THROW_MSG(models::BertConfig::from_file(path), ValueError, path.string());
        }
    };
    expect_error(R"(, "hidden_act": "gelu_new")", "hidden_act \"gelu_new\" is not supported", false);
    expect_error(R"(, "hidden_act": "relu")", "hidden_act \"relu\"", false);
    expect_error(R"(, "position_embedding_type": "relative_key")", "position_embedding_type \"relative_key\"", false);
    expect_error(R"(, "problem_type": "multi_label_classification")", "problem_type \"multi_label_classification\"", false);
    expect_error(R"(, "is_decoder": true)", "is_decoder true is not supported", false);
    expect_error(R"(, "num_attention_heads": 3)", "hidden_size 8 is not a multiple of num_attention_heads 3", false);
    expect_error(R"(, "hidden_dropout_prob": 1.5)", "hidden_dropout_prob must lie in [0, 1)", false);
    expect_error(R"(, "id2label": {"0": "a", "2": "b"})", "id2label key \"2\" is not an id in 0…1", true);
    expect_error(R"(, "layer_norm_eps": "1e-12")", "\"layer_norm_eps\" must be a number, got \"1e-12\"", true);
    std::ofstream(path) << R"({"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2})";
    EXPECT_THROW_MSG(models::BertConfig::from_file(path), IOError, "BertConfig: '" + path.string() +
                                                                        "': required key \"intermediate_size\" is missing");
    std::ofstream(path) << "{" << sizes << R"(, "num_labels": 5})";
    EXPECT_EQ(models::BertConfig::from_file(path).num_labels, 5);
}

TEST(BertNames, StateDictKeysAreHuggingFaces) {
    const models::BertForSequenceClassification model(models::BertConfig::from_file(kModelDir / "config.json"));
    const StateDict sd = model.state_dict();
    // Every tensor HF's files hold but the position_ids buffer, under the same names and shapes.
    test::expect_same_names_and_shapes(sd, io::load_pretrained_state_dict(kModelDir), {"bert.embeddings.position_ids"});
    EXPECT_TRUE(sd.contains("bert.encoder.layer.1.attention.self.query.weight"));
    EXPECT_TRUE(sd.contains("bert.encoder.layer.0.attention.output.LayerNorm.bias"));
    EXPECT_TRUE(sd.contains("bert.encoder.layer.1.intermediate.dense.weight"));
    EXPECT_TRUE(sd.contains("bert.pooler.dense.weight"));
    EXPECT_EQ(sd.at("classifier.weight").shape(), (Shape{3, 32}));
}

TEST(BertGolden, EvalLogitsMatchPyTorchWithPadding) {
    auto model = models::BertForSequenceClassification::from_pretrained(kModelDir);
    model.eval();
    NoGradGuard guard;
    const Tensor logits = model.forward(g("input_ids"), g("attention_mask"), g("token_type_ids"));
    test::expect_close("logits", logits, g("logits"), kLogitTol);
    // The padded positions matter only through the mask: other ids there change nothing.
    Tensor ids = g("input_ids").clone();
    ids.select(0, 1).narrow(0, 4, 3).fill_(57.0);
    test::expect_close("logits, other ids under padding", model.forward(ids, g("attention_mask"), g("token_type_ids")),
                       g("logits"), kLogitTol);
}

TEST(BertGolden, GradientsWithFrozenEmbeddingsMatchPyTorch) {
    auto model = models::BertForSequenceClassification::from_pretrained(kModelDir);
    model.eval();  // the golden step runs without dropout
    model.freeze("bert.embeddings.*");
    const Tensor logits = model.forward(g("input_ids"), g("attention_mask"), g("token_type_ids"));
    const Tensor loss = nn::functional::cross_entropy(logits, g("labels"));
    test::expect_close("loss", loss, g("loss"), kLogitTol);
    loss.backward();
    std::size_t compared = 0;
    for (const auto& [name, p] : model.named_parameters()) {
        if (name.starts_with("bert.embeddings.")) {
            EXPECT_FALSE(p.grad().defined()) << name;
            continue;
        }
        ASSERT_TRUE(p.grad().defined()) << name;
        test::expect_close("grad." + name, p.grad(), g("grad." + name), kGradTol);
        ++compared;
    }
    EXPECT_EQ(compared, 2u * 16u + 4u);  // 16 tensors per layer, pooler and classifier weights and biases
}

TEST(BertPretrained, OldGammaBetaNamesBf16AndAPrefixlessEncoderLoad) {
    // An older checkpoint layout: LayerNorm.gamma/beta, saved from BertModel (no "bert." prefix),
    // in bfloat16, without a classifier: the encoder loads, the new 5-way head stays fresh.
    test::ScratchDir dir("bert");
    fs::copy_file(kModelDir / "config.json", dir.path("config.json"));
    StateDict old;
    for (const auto& [name, t] : io::load_pretrained_state_dict(kModelDir)) {
        if (name.starts_with("classifier.")) continue;
        std::string key = name.substr(std::string("bert.").size());
        if (key.ends_with("LayerNorm.weight")) key.replace(key.size() - 6, 6, "gamma");
        if (key.ends_with("LayerNorm.bias")) key.replace(key.size() - 4, 4, "beta");
        old.insert(key, t.dtype() == DType::Float32 ? t.to(DType::BFloat16) : t);
    }
    old.insert("cls.predictions.bias", zeros({100}));
    io::save_safetensors(dir.path("model.safetensors"), old);
    nn::LoadReport report;
    auto model = models::BertForSequenceClassification::from_pretrained(dir.dir(), {.num_labels = 5, .report = &report});
    EXPECT_EQ(model.classifier->weight.shape(), (Shape{5, 32}));
    EXPECT_EQ(report.missing, (std::vector<std::string>{"classifier.weight", "classifier.bias"}));
    EXPECT_TRUE(model.config.id2label.empty());
    const Tensor expected = io::load_pretrained_state_dict(kModelDir).at("bert.encoder.layer.1.output.LayerNorm.weight");
    EXPECT_EQ(model.bert->encoder->state_dict().at("layer.1.output.LayerNorm.weight").to_vector<float>(),
              expected.to(DType::BFloat16).to(DType::Float32).to_vector<float>());
}

TEST(BertPretrained, WeightsThatDoNotFitNameTheDirectoryAndKeys) {
    test::ScratchDir dir("bert");
    fs::copy_file(kModelDir / "config.json", dir.path("config.json"));
    StateDict partial = io::load_pretrained_state_dict(kModelDir);
    partial.erase("bert.encoder.layer.1.intermediate.dense.bias");
    io::save_safetensors(dir.path("model.safetensors"), partial);
    EXPECT_THROW_MSG(models::BertForSequenceClassification::from_pretrained(dir.dir()), ValueError,
                     "BertForSequenceClassification::from_pretrained '" + dir.dir().string() + "'");
    EXPECT_THROW_MSG(models::BertForSequenceClassification::from_pretrained(dir.dir()), ValueError,
                     "bert.encoder.layer.1.intermediate.dense.bias");
    EXPECT_THROW_MSG(models::BertForSequenceClassification::from_pretrained(dir.path("absent")), IOError, "absent");
}

TEST(BertModel, ShapesAndErrors) {
    models::BertConfig c = models::BertConfig::from_file(kModelDir / "config.json");
    models::BertModel model(c);
    model.eval();
    NoGradGuard guard;
    const Tensor ids = from_vector<std::int64_t>({5, 6, 7, 8, 9, 10}, {2, 3});
    const models::BertModelOutput out = model.forward(ids, Tensor(), Tensor());
    EXPECT_EQ(out.last_hidden_state.shape(), (Shape{2, 3, 32}));
    EXPECT_EQ(out.pooler_output.shape(), (Shape{2, 32}));
    EXPECT_THROW_MSG(model.forward(ids, ones({2, 4}, DType::Int64), Tensor()), ShapeError,
                     "attention_mask [2, 4] must have the shape of input_ids [2, 3]");
    EXPECT_THROW_MSG(model.forward(zeros({1, 65}, DType::Int64)), ValueError,
                     "65 positions exceed max_position_embeddings = 64");
}

TEST(BertModel, TrainingStepWithAttentionDropoutRuns) {
    // Training mode with attention_probs_dropout_prob > 0 drops probabilities inside the fused
    // attention: the loss is finite, every trainable parameter gets a gradient, and eval is
    // deterministic again.
    auto model = models::BertForSequenceClassification::from_pretrained(kModelDir);
    model.train();
    const Tensor loss = nn::functional::cross_entropy(
        model.forward(g("input_ids"), g("attention_mask"), g("token_type_ids")), g("labels"));
    EXPECT_TRUE(std::isfinite(loss.item()));
    loss.backward();
    for (const auto& [name, p] : model.named_parameters()) EXPECT_TRUE(p.grad().defined()) << name;
    model.eval();
    NoGradGuard guard;
    test::expect_close("logits after train()", model.forward(g("input_ids"), g("attention_mask"), g("token_type_ids")),
                       g("logits"), kLogitTol);
}

namespace {

const fs::path kMlmDir = kGoldenDir / "bert_tiny_mlm";
// The token logits go through the head's dense, GELU and a third LayerNorm and a 32-term dot
// product after the encoder: logits near 0 differ from PyTorch's by up to 2e-6 absolute.
constexpr test::Tolerance kMlmLogitTol{5e-6, 1e-5};

const Tensor& mlm_g(const std::string& name) {
    static const io::SafetensorsFile file = io::read_safetensors(kGoldenDir / "bert_tiny_mlm_golden.safetensors");
    return file.tensors.at(name);
}

}  // namespace

TEST(BertMaskedLM, HuggingFaceNamesAndTiedDecoder) {
    models::BertConfig c;
    c.vocab_size = 50;
    c.hidden_size = 16;
    c.num_hidden_layers = 1;
    c.num_attention_heads = 2;
    c.intermediate_size = 32;
    models::BertForMaskedLM model(c);
    const StateDict sd = model.state_dict();
    for (const char* key : {"cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
                            "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
                            "cls.predictions.bias", "bert.pooler.dense.weight", "bert.embeddings.word_embeddings.weight"})
        EXPECT_TRUE(sd.contains(key)) << key;
    for (const auto& [name, t] : sd) EXPECT_FALSE(name.starts_with("cls.predictions.decoder")) << name;
    // The decoder is the word embeddings: a change of one of them changes that token's logit at
    // every position (one element: a whole row's shift would be cancelled by the head's LayerNorm,
    // whose output sums to 0).
    const Tensor ids = from_vector(std::vector<std::int64_t>{1, 2, 3}, {1, 3});
    model.eval();
    const Tensor before = model.forward(ids);
    EXPECT_EQ(before.shape(), (Shape{1, 3, 50}));
    {
        NoGradGuard guard;
        model.bert->embeddings->word_embeddings->weight.select(0, 7).select(0, 0).add_(1.0);
    }
    const Tensor after = model.forward(ids);
    EXPECT_GT((after.select(2, 7) - before.select(2, 7)).abs().max().item<float>(), 1e-3f);
}

TEST(BertMaskedLM, LogitsAndGradientsMatchPyTorch) {
    // The golden directory is HF's layout: no pooler, the tied copies cls.predictions.decoder.*.
    auto model = models::BertForMaskedLM::from_pretrained(kMlmDir);
    model.eval();
    const Tensor logits = model.forward(mlm_g("input_ids"), mlm_g("attention_mask"));
    test::expect_close("logits", logits, mlm_g("logits"), kMlmLogitTol);
    const Tensor loss = nn::functional::cross_entropy(logits.reshape({-1, 100}), mlm_g("labels").reshape({-1}));
    test::expect_close("loss", loss, mlm_g("loss"), kMlmLogitTol);
    loss.backward();
    std::size_t compared = 0;
    for (const auto& [name, p] : model.named_parameters()) {
        if (name.starts_with("bert.pooler.")) continue;  // unused by masked-language modelling
        ASSERT_TRUE(p.grad().defined()) << name;
        test::expect_close("grad." + name, p.grad(), mlm_g("grad." + name), kGradTol);
        ++compared;
    }
    EXPECT_EQ(compared, 5u + 2u * 16u + 5u);  // embeddings, 16 tensors per layer, the head
}

TEST(BertMaskedLM, SavedModelLoadsStrictlyAsClassifierAndMaskedLM) {
    auto mlm = models::BertForMaskedLM::from_pretrained(kMlmDir);
    test::ScratchDir dir("bertmlm");
    fs::copy_file(kMlmDir / "config.json", dir.path("config.json"));
    io::save_safetensors(dir.path("model.safetensors"), mlm.state_dict());
    nn::LoadReport report;
    auto clf = models::BertForSequenceClassification::from_pretrained(dir.dir(), {.num_labels = 4, .report = &report});
    for (const auto& key : report.missing) EXPECT_TRUE(key.starts_with("classifier.")) << key;
    EXPECT_TRUE(report.unexpected.empty());
    test::expect_close("word embeddings", clf.bert->embeddings->word_embeddings->weight,
                       mlm.bert->embeddings->word_embeddings->weight, kLogitTol);
    auto again = models::BertForMaskedLM::from_pretrained(dir.dir());
    again.eval();
    test::expect_close("reloaded logits", again.forward(mlm_g("input_ids"), mlm_g("attention_mask")), mlm_g("logits"),
                       kMlmLogitTol);
}
