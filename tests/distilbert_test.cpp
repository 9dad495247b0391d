// DistilBERT: the config.json reader, Hugging Face's parameter names, and the golden model
// directory written by tests/golden/make_bert_golden.py: eval logits with padding and one step's
// gradients (embeddings frozen) against PyTorch; a new head on a DistilBertModel checkpoint.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "golden_compare.hpp"
#include "graft/models/distilbert.hpp"
#include "test_util.hpp"

using namespace graft;
namespace fs = std::filesystem;

namespace {

// As tests/bert_test.cpp: float32 sums in another order than PyTorch's through LayerNorms and softmaxes.
constexpr test::Tolerance kLogitTol{1e-6, 1e-5};
constexpr test::Tolerance kGradTol{1e-6, 1e-4};

const fs::path kGoldenDir = GRAFT_TEST_DATA_DIR;
const fs::path kModelDir = kGoldenDir / "distilbert_tiny";

const Tensor& g(const std::string& name) {
    static const io::SafetensorsFile file = io::read_safetensors(kGoldenDir / "distilbert_tiny_golden.safetensors");
    return file.tensors.at(name);
}

}  // namespace

TEST(DistilBertConfig, ReadsHuggingFaceConfigAndNamesUnsupportedKeys) {
    const auto c = models::DistilBertConfig::from_file(kModelDir / "config.json");
    EXPECT_EQ(c.dim, 32);
    EXPECT_EQ(c.n_layers, 2);
    EXPECT_EQ(c.n_heads, 4);
    EXPECT_EQ(c.hidden_dim, 64);
    EXPECT_EQ(c.num_labels, 2);
    EXPECT_DOUBLE_EQ(c.seq_classif_dropout, 0.2);
    test::ScratchDir dir("distilcfg");
    const fs::path path = dir.path("config.json");
    std::ofstream(path) << R"({"vocab_size": 10, "dim": 8, "n_layers": 1, "n_heads": 2, "hidden_dim": 16, "activation": "relu"})";
    EXPECT_THROW_MSG(models::DistilBertConfig::from_file(path), ValueError, "activation \"relu\" is not supported");
    EXPECT_THROW_MSG(models::DistilBertConfig::from_file(path), ValueError, path.string());
    std::ofstream(path) << R"({"vocab_size": 10, "dim": 8, "n_layers": 1, "n_heads": 2})";
    EXPECT_THROW_MSG(models::DistilBertConfig::from_file(path), IOError,
                     "DistilBertConfig: '" + path.string() + "': required key \"hidden_dim\" is missing");
}

TEST(DistilBertNames, StateDictKeysAreHuggingFaces) {
    const models::DistilBertForSequenceClassification model(models::DistilBertConfig::from_file(kModelDir / "config.json"));
    const StateDict sd = model.state_dict();
    test::expect_same_names_and_shapes(sd, io::load_pretrained_state_dict(kModelDir),
                                       {"distilbert.embeddings.position_ids"});
    EXPECT_TRUE(sd.contains("distilbert.transformer.layer.1.attention.q_lin.weight"));
    EXPECT_TRUE(sd.contains("distilbert.transformer.layer.0.ffn.lin2.bias"));
    EXPECT_TRUE(sd.contains("distilbert.transformer.layer.0.sa_layer_norm.weight"));
}

TEST(DistilBertGolden, LogitsAndGradientsMatchPyTorch) {
    auto model = models::DistilBertForSequenceClassification::from_pretrained(kModelDir);
    model.eval();
    model.freeze("distilbert.embeddings.*");
    const Tensor logits = model.forward(g("input_ids"), g("attention_mask"));
    test::expect_close("logits", logits, g("logits"), kLogitTol);
    const Tensor loss = nn::functional::cross_entropy(logits, g("labels"));
    test::expect_close("loss", loss, g("loss"), kLogitTol);
    loss.backward();
    std::size_t compared = 0;
    for (const auto& [name, p] : model.named_parameters()) {
        if (name.starts_with("distilbert.embeddings.")) continue;
        ASSERT_TRUE(p.grad().defined()) << name;
        test::expect_close("grad." + name, p.grad(), g("grad." + name), kGradTol);
        ++compared;
    }
    EXPECT_EQ(compared, 2u * 16u + 4u);  // 16 tensors per layer; pre_classifier and classifier
}

TEST(DistilBertPretrained, AnEncoderCheckpointGetsAFreshHead) {
    test::ScratchDir dir("distilbert");
    fs::copy_file(kModelDir / "config.json", dir.path("config.json"));
    StateDict encoder;
    for (const auto& [name, t] : io::load_pretrained_state_dict(kModelDir))
        if (name.starts_with("distilbert.")) encoder.insert(name.substr(std::string("distilbert.").size()), t);
    encoder.insert("vocab_projector.bias", zeros({100}));
    io::save_safetensors(dir.path("model.safetensors"), encoder);
    nn::LoadReport report;
    auto model = models::DistilBertForSequenceClassification::from_pretrained(dir.dir(), {.num_labels = 4, .report = &report});
    EXPECT_EQ(model.classifier->weight.shape(), (Shape{4, 32}));
    EXPECT_EQ(report.missing, (std::vector<std::string>{"pre_classifier.weight", "pre_classifier.bias",
                                                        "classifier.weight", "classifier.bias"}));
    encoder.erase("transformer.layer.1.ffn.lin1.weight");
    io::save_safetensors(dir.path("model.safetensors"), encoder);
    EXPECT_THROW_MSG(models::DistilBertForSequenceClassification::from_pretrained(dir.dir()), ValueError,
                     "distilbert.transformer.layer.1.ffn.lin1.weight");
}
