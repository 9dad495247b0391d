// Whole models against PyTorch: the graft twins of the three models in tests/golden/make_golden.py
// load PyTorch's initial weights by the same names and must reproduce its outputs, loss, every
// gradient, and the parameters and BatchNorm buffers after three AdamW steps with part of the
// model frozen. GoldenExport writes graft's result for the reverse check in PyTorch
// (make_golden.py --check-graft-export, see docs/pytorch-interop.md).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "golden_compare.hpp"
#include "test_util.hpp"

using namespace graft;
namespace fs = std::filesystem;

namespace {

// float32 end to end, with sums of up to 72 products (the conv's fan-in) accumulated in another
// order than PyTorch's (blocked GEMM, vectorised reductions): a few ulps per operation, amplified
// by BatchNorm/LayerNorm and by Adam's division by √v. The largest differences measured are
// 6e-7 absolute (cnn output) and 1e-5 relative on values of order 1e-3; 1e-5 absolute plus 1e-4
// relative leaves more than ten times that, and a real defect (a wrong element, a missed term)
// is off by orders of magnitude more. Relative differences alone mean nothing for values whose
// exact value is 0: the conv bias feeding BatchNorm has a true gradient of exactly 0 (BatchNorm
// removes any per-channel shift), so both sides hold rounding noise of order 1e-8 there.
constexpr double kAbsTol = 1e-5;
constexpr double kRelTol = 1e-4;

/// The twin of make_golden.py's EmbedNet.
struct EmbedNet : nn::Cloneable<EmbedNet> {
    EmbedNet() { reset(); }
    void reset() override {
        register_module("emb", &EmbedNet::emb, nn::Embedding(11, 8));
        register_module("norm", &EmbedNet::norm, nn::LayerNorm(8));
        register_module("head", &EmbedNet::head, nn::Linear(8, 3));
    }
    Tensor forward(const Tensor& tokens) override { return head(mean(norm(emb(tokens)), {1})); }
    std::string type_name() const override { return "EmbedNet"; }
    nn::Child<nn::Embedding> emb;
    nn::Child<nn::LayerNorm> norm;
    nn::Child<nn::Linear> head;
};

std::shared_ptr<nn::Module> make_twin(const std::string& name) {
    if (name == "mlp") return std::make_shared<nn::Sequential>(nn::Linear(6, 12), nn::ReLU(), nn::Linear(12, 4));
    if (name == "cnn")
        return std::make_shared<nn::Sequential>(nn::Conv2d(2, 4, 3, {.padding = 1}), nn::BatchNorm2d(4), nn::ReLU(),
                                                nn::MaxPool2d(2), nn::Flatten(), nn::Linear(64, 3));
    if (name == "embed") return std::make_shared<EmbedNet>();
    throw ValueError("no twin named " + name);
}

io::SafetensorsFile read_golden(const std::string& name) {
    return io::read_safetensors(fs::path(GRAFT_TEST_DATA_DIR) / (name + ".safetensors"));
}

/// Keeps the keys under `prefix`, without it, and drops the rest.
nn::LoadOptions only(const std::string& prefix) {
    return {.strict = true, .rename = [prefix](const std::string& key) -> std::optional<std::string> {
                if (!key.starts_with(prefix)) return std::nullopt;
                return key.substr(prefix.size());
            }};
}

/// expect_close with the tolerances above.
void expect_close(const std::string& what, const Tensor& got, const Tensor& expected) {
    test::expect_close(what, got, expected, {kAbsTol, kRelTol});
}

/// The golden entries under `prefix`, without it.
std::vector<std::string> names_under(const StateDict& sd, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& [k, t] : sd)
        if (k.starts_with(prefix)) out.push_back(k.substr(prefix.size()));
    return out;
}

/// A twin holding PyTorch's initial weights.
std::shared_ptr<nn::Module> twin_at_init(const std::string& name, const StateDict& golden) {
    auto model = make_twin(name);
    const nn::LoadReport r = model->load_state_dict(golden, only("init."));
    EXPECT_EQ(r.loaded, names_under(golden, "init."));
    return model;
}

/// From the initial weights, the golden file's three AdamW steps with its "frozen" prefix frozen;
/// returns the loss before each step.
std::vector<float> train_three_steps(nn::Module& model, const io::SafetensorsFile& g) {
    model.train();
    model.freeze(g.metadata.at("frozen") + "*");
    optim::AdamW opt(model.trainable_parameters(), {.lr = 1e-2, .weight_decay = 0.01});
    std::vector<float> losses;
    for (int step = 0; step < 3; ++step) {
        auto loss = nn::functional::cross_entropy(model.forward(g.tensors.at("input")), g.tensors.at("target"));
        losses.push_back(loss.item<float>());
        opt.zero_grad();
        loss.backward();
        opt.step();
    }
    return losses;
}

void check_against_pytorch(const std::string& name) {
    const io::SafetensorsFile g = read_golden(name);
    const StateDict& sd = g.tensors;
    std::printf("  %s (PyTorch %s)\n", name.c_str(), g.metadata.at("torch").c_str());

    // Forward and backward, every parameter trainable, train mode.
    auto model = twin_at_init(name, sd);
    model->train();
    const Tensor output = model->forward(sd.at("input"));
    const Tensor loss = nn::functional::cross_entropy(output, sd.at("target"));
    loss.backward();
    expect_close("output", output, sd.at("output"));
    expect_close("loss", loss, sd.at("loss"));
    std::vector<std::string> grads;
    for (const auto& [n, p] : model->named_parameters()) {
        grads.push_back(n);
        ASSERT_TRUE(p.grad().defined()) << n;
        expect_close("grad." + n, p.grad(), sd.at("grad." + n));
    }
    EXPECT_EQ(grads, names_under(sd, "grad."));

    // Three AdamW steps from the initial weights with the first layer frozen.
    auto trained = twin_at_init(name, sd);
    const std::vector<float> losses = train_three_steps(*trained, g);
    expect_close("step_loss", from_vector(losses, {3}), sd.at("step_loss"));
    std::vector<std::string> states;
    for (const auto& [n, t] : trained->state_dict()) {
        states.push_back(n);
        expect_close("step3." + n, t, sd.at("step3." + n));
    }
    EXPECT_EQ(states, names_under(sd, "step3."));
    // The frozen layer did not move.
    for (const auto& [n, p] : trained->named_parameters()) {
        if (!n.starts_with(g.metadata.at("frozen"))) continue;
        EXPECT_EQ(p.to_vector<float>(), sd.at("init." + n).to_vector<float>()) << n;
    }
}

}  // namespace

TEST(GoldenModels, MlpMatchesPyTorch) { check_against_pytorch("mlp"); }

TEST(GoldenModels, CnnWithBatchNormMatchesPyTorch) {
    check_against_pytorch("cnn");
    // The BatchNorm buffers are compared above (step3.1.running_mean, …); make sure they are there.
    const StateDict sd = read_golden("cnn").tensors;
    for (const char* buffer : {"running_mean", "running_var", "num_batches_tracked"})
        EXPECT_TRUE(sd.contains(std::string("step3.1.") + buffer)) << buffer;
    EXPECT_EQ(sd.at("step3.1.num_batches_tracked").item<std::int64_t>(), 3);
}

TEST(GoldenModels, EmbeddingLayerNormMatchesPyTorch) { check_against_pytorch("embed"); }

/// Writes, for each twin trained three steps from PyTorch's weights, its state dict, the golden
/// input and graft's eval-mode output, to $GRAFT_EXPORT_DIR (or a temporary folder), as
/// <model>_graft.safetensors: make_golden.py --check-graft-export loads it into PyTorch.
TEST(GoldenExport, WritesStateDictsPyTorchLoads) {
    std::optional<test::ScratchDir> scratch;
    const fs::path dir = test::export_dir(scratch);
    for (const std::string name : {"mlp", "cnn", "embed"}) {
        const io::SafetensorsFile g = read_golden(name);
        auto model = twin_at_init(name, g.tensors);
        train_three_steps(*model, g);
        model->eval();
        Tensor output;
        {
            NoGradGuard guard;
            output = model->forward(g.tensors.at("input"));
        }
        StateDict out = model->state_dict();
        out.insert("input", g.tensors.at("input"));
        out.insert("output", output);
        const fs::path path = dir / (name + "_graft.safetensors");
        io::save_safetensors(path, out, {{"model", name}});
        std::printf("  wrote %s\n", path.c_str());

        // What PyTorch will read: the same names, shapes and values.
        const StateDict back = io::load_safetensors(path);
        EXPECT_EQ(back.keys(), out.keys());
        for (const auto& [n, t] : out) EXPECT_EQ(back.at(n).to_vector<double>(), t.to_vector<double>()) << n;
    }
}
