// nn::LoadOptions: what load_state_dict does with shape mismatches (Error, Skip, Reinit) and how
// it renames the dict's keys (rename, then strip_prefix, then add_prefix) before matching them.
#include <optional>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace graft;
using graft::nn::MismatchPolicy;

namespace {

std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }

nn::Sequential mlp(std::int64_t classes) {
    return nn::Sequential{nn::Linear(6, 8), nn::ReLU(), nn::Linear(8, classes)};
}

/// A pretrained 10-class MLP's state dict (seeded, unlike the models it is loaded into).
StateDict pretrained_10_class() {
    manual_seed(100);
    return mlp(10).state_dict();
}

/// A module that owns a parameter but cannot build a fresh copy of itself (not an nn::Cloneable).
struct Scale : nn::Module {
    Scale() { w = register_parameter("w", ones({3})); }
    std::string type_name() const override { return "Scale"; }
    Tensor w;
};

}  // namespace

TEST(LoadMismatch, ErrorPolicyUnderStrictThrowsAndLoadsNothing) {
    const StateDict sd = pretrained_10_class();
    manual_seed(1);
    nn::Sequential model = mlp(5);
    const auto before = values(model.at<nn::Linear>(0)->weight);
    EXPECT_THROW_MSG(model.load_state_dict(sd), ValueError, "shape mismatch: 2.weight: model [5, 8], dict [10, 8]");
    EXPECT_EQ(values(model.at<nn::Linear>(0)->weight), before);
}

TEST(LoadMismatch, SkipLoadsTheBackboneAndKeepsTheNewHeadUnderStrict) {
    const StateDict sd = pretrained_10_class();
    manual_seed(1);
    nn::Sequential model = mlp(5);
    const auto head_w = values(model.at<nn::Linear>(2)->weight);
    const auto head_b = values(model.at<nn::Linear>(2)->bias);

    const nn::LoadReport r = model.load_state_dict(sd, {.strict = true, .mismatch = MismatchPolicy::Skip});
    EXPECT_EQ(r.loaded, (std::vector<std::string>{"0.weight", "0.bias"}));
    ASSERT_EQ(r.mismatched.size(), 2u);
    EXPECT_EQ(r.mismatched[0].name, "2.weight");
    EXPECT_EQ(r.mismatched[0].expected, (Shape{5, 8}));
    EXPECT_EQ(r.mismatched[0].got, (Shape{10, 8}));
    EXPECT_EQ(r.mismatched[1].name, "2.bias");
    EXPECT_TRUE(r.missing.empty());
    EXPECT_TRUE(r.unexpected.empty());
    EXPECT_EQ(values(model.at<nn::Linear>(0)->weight), values(sd.at("0.weight")));
    EXPECT_EQ(values(model.at<nn::Linear>(0)->bias), values(sd.at("0.bias")));
    EXPECT_EQ(values(model.at<nn::Linear>(2)->weight), head_w);
    EXPECT_EQ(values(model.at<nn::Linear>(2)->bias), head_b);
}

TEST(LoadMismatch, SkipUnderStrictStillRefusesMissingKeys) {
    StateDict sd = pretrained_10_class();
    sd.erase("0.bias");
    nn::Sequential model = mlp(5);
    const auto before = values(model.at<nn::Linear>(0)->weight);
    EXPECT_THROW_MSG(model.load_state_dict(sd, {.mismatch = MismatchPolicy::Skip}), ValueError, "missing: 0.bias");
    EXPECT_EQ(values(model.at<nn::Linear>(0)->weight), before);
}

TEST(LoadMismatch, ReinitGivesTheNewHeadAFreshDefaultInitialisation) {
    const StateDict sd = pretrained_10_class();
    manual_seed(1);
    nn::Sequential model = mlp(5);
    // What a freshly built Linear(8, 5) holds when drawn from the generator at seed 9.
    manual_seed(9);
    const nn::Linear expected(8, 5);
    for (auto& p : model.parameters()) {
        NoGradGuard guard;
        p.fill_(0.0);  // make sure nothing below passes by keeping the old values
    }
    const Tensor head_weight = model.at<nn::Linear>(2)->weight;

    manual_seed(9);
    const nn::LoadReport r = model.load_state_dict(sd, {.strict = true, .mismatch = MismatchPolicy::Reinit});
    ASSERT_EQ(r.mismatched.size(), 2u);
    EXPECT_EQ(r.loaded, (std::vector<std::string>{"0.weight", "0.bias"}));
    EXPECT_EQ(values(model.at<nn::Linear>(0)->weight), values(sd.at("0.weight")));
    EXPECT_EQ(values(model.at<nn::Linear>(2)->weight), values(expected.weight));
    EXPECT_EQ(values(model.at<nn::Linear>(2)->bias), values(expected.bias));
    // Re-initialised in place: the layer and an optimizer built earlier keep the same tensors.
    EXPECT_TRUE(model.at<nn::Linear>(2)->weight.shares_storage(head_weight));
    EXPECT_TRUE(model.at<nn::Linear>(2)->weight.requires_grad());

    // The fine-tuning that follows: the 5-class model trains.
    optim::AdamW opt(model.trainable_parameters(), {.lr = 5e-2});
    Generator g(3);
    const Tensor x = randn({16, 6}, DType::Float32, &g);
    const Tensor y = from_vector<std::int64_t>({0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0}, {16});
    const double first = nn::functional::cross_entropy(model.forward(x), y).item<double>();
    for (int step = 0; step < 40; ++step) {
        auto loss = nn::functional::cross_entropy(model.forward(x), y);
        opt.zero_grad();
        loss.backward();
        opt.step();
    }
    EXPECT_LT(nn::functional::cross_entropy(model.forward(x), y).item<double>(), 0.5 * first);
}

TEST(LoadMismatch, ReinitResetsBatchNormBuffersToTheirInitialValues) {
    nn::Sequential donor{nn::Linear(3, 4), nn::BatchNorm1d(4)};
    nn::Sequential model{nn::Linear(3, 2), nn::BatchNorm1d(2)};
    {
        NoGradGuard guard;
        model.at<nn::BatchNorm1d>(1)->running_mean.fill_(5.0);
        model.at<nn::BatchNorm1d>(1)->running_var.fill_(7.0);
        model.at<nn::BatchNorm1d>(1)->weight.fill_(3.0);
        model.at<nn::BatchNorm1d>(1)->num_batches_tracked.fill_(4.0);
    }
    const nn::LoadReport r = model.load_state_dict(donor.state_dict(), {.strict = false, .mismatch = MismatchPolicy::Reinit});
    // 0.bias [2] vs [4] and 0.weight; the BatchNorm's four per-channel tensors; num_batches_tracked matches.
    EXPECT_EQ(r.mismatched.size(), 6u);
    EXPECT_EQ(r.loaded, std::vector<std::string>{"1.num_batches_tracked"});
    const auto& bn = *model.at<nn::BatchNorm1d>(1);
    EXPECT_EQ(values(bn.running_mean), (std::vector<float>{0, 0}));
    EXPECT_EQ(values(bn.running_var), (std::vector<float>{1, 1}));
    EXPECT_EQ(values(bn.weight), (std::vector<float>{1, 1}));
    EXPECT_EQ(bn.num_batches_tracked.item<std::int64_t>(), 0);
}

TEST(LoadMismatch, ReinitThatCannotHappenLoadsNothing) {
    nn::Sequential model{nn::Linear(2, 2), Scale()};
    nn::Sequential donor{nn::Linear(2, 2), nn::Linear(1, 1)};
    StateDict sd = donor.state_dict();
    sd.erase("1.weight");
    sd.erase("1.bias");
    sd.insert("1.w", zeros({4}));
    const auto before = values(model.at<nn::Linear>(0)->weight);
    EXPECT_THROW_MSG(model.load_state_dict(sd, {.mismatch = MismatchPolicy::Reinit}), ValueError,
                     "cannot re-initialise '1.w'");
    EXPECT_EQ(values(model.at<nn::Linear>(0)->weight), before);
    EXPECT_EQ(values(model.at<Scale>(1)->w), (std::vector<float>{1, 1, 1}));
}

TEST(LoadMismatch, RefusedStrictLoadDrawsNoRandomNumbers) {
    StateDict sd = pretrained_10_class();
    sd.insert("stray", zeros({1}));
    nn::Sequential model = mlp(5);
    manual_seed(4);
    EXPECT_THROW(model.load_state_dict(sd, {.mismatch = MismatchPolicy::Reinit}), ValueError);
    const double next = default_generator().uniform();
    manual_seed(4);
    EXPECT_EQ(next, default_generator().uniform());
}

TEST(LoadRename, StripPrefixKeepsKeysWithoutIt) {
    manual_seed(2);
    nn::Sequential donor = mlp(3);
    StateDict sd;
    for (const auto& [n, t] : donor.state_dict()) sd.insert(n == "2.bias" ? n : "module." + n, t);
    nn::Sequential model = mlp(3);
    const nn::LoadReport r = model.load_state_dict(sd, {.strip_prefix = "module."});
    EXPECT_TRUE(r.ok()) << r.to_string();
    EXPECT_EQ(values(model.at<nn::Linear>(2)->weight), values(donor.at<nn::Linear>(2)->weight));
    EXPECT_EQ(values(model.at<nn::Linear>(2)->bias), values(donor.at<nn::Linear>(2)->bias));
}

TEST(LoadRename, AddPrefixLoadsABackboneIntoASubmodule) {
    manual_seed(2);
    nn::Sequential backbone = mlp(3);
    nn::Sequential model{mlp(3), nn::Linear(3, 2)};
    const nn::LoadReport r = model.load_state_dict(backbone.state_dict(), {.strict = false, .add_prefix = "0."});
    EXPECT_EQ(r.loaded, (std::vector<std::string>{"0.0.weight", "0.0.bias", "0.2.weight", "0.2.bias"}));
    EXPECT_EQ(r.missing, (std::vector<std::string>{"1.weight", "1.bias"}));
    EXPECT_TRUE(r.unexpected.empty());
    EXPECT_EQ(values(model.at<nn::Sequential>(0)->at<nn::Linear>(0)->weight),
              values(backbone.at<nn::Linear>(0)->weight));
}

TEST(LoadRename, RenameRunsFirstThenStripThenAdd) {
    manual_seed(2);
    nn::Sequential donor = mlp(3);
    // A dict laid out like another framework's: "model.fc1.*", "model.fc2.*" and an optimizer key.
    StateDict sd;
    sd.insert("model.fc1.weight", donor.state_dict().at("0.weight"));
    sd.insert("model.fc1.bias", donor.state_dict().at("0.bias"));
    sd.insert("model.fc2.weight", donor.state_dict().at("2.weight"));
    sd.insert("model.fc2.bias", donor.state_dict().at("2.bias"));
    sd.insert("optimizer.step", zeros({}));
    std::vector<std::string> seen;
    auto rename = [&](const std::string& key) -> std::optional<std::string> {
        seen.push_back(key);
        if (key.starts_with("optimizer.")) return std::nullopt;
        std::string k = key;
        if (auto p = k.find("fc1"); p != std::string::npos) k.replace(p, 3, "0");
        if (auto p = k.find("fc2"); p != std::string::npos) k.replace(p, 3, "2");
        return k;
    };
    nn::Sequential model{mlp(3), nn::Identity()};
    const nn::LoadReport r = model.load_state_dict(
        sd, {.strict = true, .rename = rename, .strip_prefix = "model.", .add_prefix = "0."});
    // The function saw the dict's own keys; the report uses the final names; the dropped key is gone.
    EXPECT_EQ(seen, sd.keys());
    EXPECT_EQ(r.loaded, (std::vector<std::string>{"0.0.weight", "0.0.bias", "0.2.weight", "0.2.bias"}));
    EXPECT_TRUE(r.ok()) << r.to_string();
    EXPECT_EQ(values(model.at<nn::Sequential>(0)->at<nn::Linear>(2)->bias), values(donor.at<nn::Linear>(2)->bias));
}

TEST(LoadRename, TwoKeysRenamedToOneNameIsAnError) {
    nn::Sequential model = mlp(3);
    StateDict sd = model.state_dict();
    sd.insert("module.0.weight", zeros({8, 6}));
    EXPECT_THROW_MSG(model.load_state_dict(sd, {.strip_prefix = "module."}), ValueError,
                     "dict keys '0.weight' and 'module.0.weight' are both renamed to '0.weight'");
}

TEST(LoadShapes, AOneElementTensorLoadsIntoAZeroDimOneAndBack) {
    nn::BatchNorm2d bn(3);
    StateDict sd = bn.state_dict();
    ASSERT_EQ(sd.at("num_batches_tracked").shape(), Shape{});
    // As a numpy-based exporter writes it: [1] for a 0-d buffer.
    sd.set("num_batches_tracked", from_vector<std::int64_t>({7}, {1}));
    const nn::LoadReport report = bn.load_state_dict(sd);
    EXPECT_TRUE(report.ok()) << report.to_string();
    EXPECT_EQ(bn.state_dict().at("num_batches_tracked").shape(), Shape{});
    EXPECT_EQ(bn.state_dict().at("num_batches_tracked").item<std::int64_t>(), 7);

    // And a 0-d value for a [1] parameter.
    nn::Linear layer(4, 1);
    StateDict lin = layer.state_dict();
    ASSERT_EQ(lin.at("bias").shape(), Shape{1});
    lin.set("bias", scalar_tensor(2.5));
    EXPECT_TRUE(layer.load_state_dict(lin).ok());
    EXPECT_EQ(layer.bias.shape(), Shape{1});
    EXPECT_EQ(layer.bias.to_vector<float>(), std::vector<float>{2.5f});

    // Other one-element shapes are still mismatches.
    lin.set("bias", from_vector<float>({1.f}, {1, 1}));
    EXPECT_THROW_MSG(layer.load_state_dict(lin), ValueError, "shape-mismatched");
}

TEST(LoadErrors, AnUndefinedTensorIsNamed) {
    nn::Linear layer(2, 3);
    const std::vector<float> before = layer.weight.to_vector<float>();
    StateDict sd = layer.state_dict();
    sd.set("weight", from_vector<float>(std::vector<float>(6, 1.f), {3, 2}));
    sd.set("bias", Tensor());
    EXPECT_THROW_MSG(layer.load_state_dict(sd), ValueError,
                     "load_state_dict: the dict's 'bias' is an undefined tensor; nothing loaded");
    EXPECT_THROW_MSG(layer.load_state_dict(sd, {.strict = false}), ValueError, "the dict's 'bias' is an undefined tensor");
    EXPECT_EQ(layer.weight.to_vector<float>(), before);
    EXPECT_THROW_MSG(io::save_safetensors(::testing::TempDir() + "/undefined.safetensors", sd), ValueError,
                     "save_safetensors: tensor 'bias' is undefined");
}
