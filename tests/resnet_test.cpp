// models::ResNet: torchvision's names and parameter counts, parity with torchvision (logits,
// loss, gradients; tests/golden/make_resnet_golden.py), reset_classifier, freeze_stages, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "golden_compare.hpp"
#include "graft/graft.hpp"
#include "name_hash_weights.hpp"
#include "test_util.hpp"

using namespace graft;

namespace {

const io::SafetensorsFile& golden() {
    static const io::SafetensorsFile file =
        io::read_safetensors(std::filesystem::path(GRAFT_TEST_DATA_DIR) / "resnet.safetensors");
    return file;
}

std::vector<std::string> golden_keys(const std::string& model) {
    std::vector<std::string> keys;
    std::istringstream lines(golden().metadata.at("keys." + model));
    for (std::string line; std::getline(lines, line);) keys.push_back(line);
    return keys;
}

Tensor golden_input() {
    std::vector<float> x(2 * 3 * 64 * 64);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.73 * static_cast<double>(i)));
    return from_vector(x, {2, 3, 64, 64});
}

/// Elementwise closeness with the tolerance scaled to the largest expected magnitude.
void expect_close_scaled(const std::string& what, const Tensor& got, const Tensor& expected, double tol) {
    const std::vector<double> e = expected.to_vector<double>();
    double peak = 0;
    for (double v : e) peak = std::max(peak, std::abs(v));
    test::expect_close(what, got, expected, {.atol = tol * peak, .rtol = tol});
}

std::vector<std::string> names_of(const StateDict& sd) { return sd.keys(); }

/// The module at `path` as a T (a test failure, through the thrown Error, otherwise).
template <class T>
T& at(const models::ResNet& model, const std::string& path) {
    auto m = std::dynamic_pointer_cast<T>(model.submodule(path));
    if (!m) throw Error("no " + path + " of the expected type");
    return *m;
}

void check_against_torchvision(const std::string& name, models::ResNet model) {
    const auto& g = golden().tensors;
    test::fill_by_name(model);
    const Tensor x = golden_input();
    test::expect_close("input", x, g.at("input"), {.atol = 0, .rtol = 1e-6});
    test::expect_close(name + " probe", at<nn::Conv2d>(model, "layer4.0.conv1").weight.flatten().slice(0, 0, 64),
                       g.at(name + ".probe"), {.atol = 1e-7, .rtol = 1e-6});

    model.eval();
    {
        NoGradGuard no_grad;
        expect_close_scaled(name + " eval logits", model.forward(x), g.at(name + ".logits"), 1e-5);
    }

    model.freeze_stages(3);
    model.train();
    const Tensor loss = nn::functional::cross_entropy(model.forward(x), from_vector<std::int64_t>({3, 7}));
    loss.backward();
    expect_close_scaled(name + " loss", loss, g.at(name + ".loss"), 1e-5);
    expect_close_scaled(name + " grad fc.weight", model.fc->weight.grad(), g.at(name + ".grad_fc.weight"), 1e-4);
    expect_close_scaled(name + " grad fc.bias", model.fc->bias.grad(), g.at(name + ".grad_fc.bias"), 1e-4);

    // Only where the golden file has it: see CONDITIONED_L4C1 in make_resnet_golden.py.
    if (g.contains(name + ".grad_l4c1.head")) {
        const Tensor gw = at<nn::Conv2d>(model, "layer4.0.conv1").weight.grad().flatten();
        expect_close_scaled(name + " grad layer4.0.conv1 head", gw.slice(0, 0, 256), g.at(name + ".grad_l4c1.head"), 1e-4);
        const std::vector<double> all = gw.to_vector<double>(), sums = g.at(name + ".grad_l4c1.sums").to_vector<double>();
        double sum = 0, abs_sum = 0;
        for (double v : all) sum += v, abs_sum += std::abs(v);
        EXPECT_NEAR(abs_sum, sums[1], 1e-4 * sums[1]) << name;
        EXPECT_NEAR(sum, sums[0], 1e-4 * sums[1]) << name;
    }
    expect_close_scaled(name + " layer4.0.bn1.running_mean",
                        at<nn::BatchNorm2d>(model, "layer4.0.bn1").running_mean,
                        g.at(name + ".l4bn1.running_mean"), 1e-5);
    // layer4 trains; the frozen stages got no gradient.
    EXPECT_TRUE(at<nn::Conv2d>(model, "layer4.0.conv1").weight.grad().defined());
    EXPECT_FALSE(model.conv1->weight.grad().defined());
    EXPECT_FALSE(at<nn::Conv2d>(model, "layer3.0.conv1").weight.grad().defined());
}

}  // namespace

TEST(ResNet, StateDictKeysEqualTorchvision) {
    EXPECT_EQ(names_of(models::resnet18({.num_classes = 10}).state_dict()), golden_keys("resnet18"));
    EXPECT_EQ(names_of(models::resnet50({.num_classes = 10}).state_dict()), golden_keys("resnet50"));
    EXPECT_EQ(names_of(models::resnext50_32x4d({.num_classes = 10}).state_dict()), golden_keys("resnext50_32x4d"));
}

// torchvision's parameter counts at 1000 classes.
TEST(ResNet, ParameterCountsEqualTorchvision) {
    EXPECT_EQ(models::resnet18().parameter_count(), 11689512);
    EXPECT_EQ(models::resnet50().parameter_count(), 25557032);
    EXPECT_EQ(models::resnext50_32x4d().parameter_count(), 25028904);
}

TEST(ResNet, Resnet18MatchesTorchvision) {
    ASSERT_TRUE(golden().tensors.contains("resnet18.grad_l4c1.head"));
    check_against_torchvision("resnet18", models::resnet18({.num_classes = 10}));
}
TEST(ResNet, Resnet50MatchesTorchvision) { check_against_torchvision("resnet50", models::resnet50({.num_classes = 10})); }
TEST(ResNet, Resnext50MatchesTorchvision) {
    check_against_torchvision("resnext50_32x4d", models::resnext50_32x4d({.num_classes = 10}));
}

TEST(ResNet, InitialisationAsTorchvision) {
    manual_seed(0);
    auto model = models::resnet18({.zero_init_residual = true});
    // kaiming_normal_(fan_out, relu): std = sqrt(2 / (out_channels·kh·kw)) = sqrt(2 / (64·49)) for conv1.
    const std::vector<double> w = model.conv1->weight.to_vector<double>();
    double sq = 0;
    for (double v : w) sq += v * v;
    EXPECT_NEAR(std::sqrt(sq / static_cast<double>(w.size())), std::sqrt(2.0 / (64 * 49)), 0.1 * std::sqrt(2.0 / (64 * 49)));
    EXPECT_EQ(model.bn1->weight.sum().item<float>(), 64.0f);
    // zero_init_residual zeroes every BasicBlock's bn2.weight, and nothing else.
    for (const auto& [name, t] : model.state_dict()) {
        if (name.ends_with("bn2.weight")) {
            EXPECT_EQ(t.abs().sum().item<float>(), 0.0f) << name;
        } else if (name.ends_with("bn1.weight")) {
            EXPECT_EQ(t.sum().item<float>(), static_cast<float>(t.numel())) << name;
        }
    }
}

TEST(ResNet, ResetClassifierKeepsNames) {
    auto model = models::resnet18();
    const std::vector<std::string> before = names_of(model.state_dict());
    model.freeze();
    model.reset_classifier(5);
    EXPECT_EQ(names_of(model.state_dict()), before);
    EXPECT_EQ(model.fc->weight.shape(), (Shape{5, 512}));
    EXPECT_EQ(model.state_dict().at("fc.bias").shape(), (Shape{5}));
    EXPECT_TRUE(model.fc->weight.requires_grad());
    EXPECT_EQ(model.config.num_classes, 5);
    model.eval();
    EXPECT_EQ(model.forward(zeros({1, 3, 32, 32})).shape(), (Shape{1, 5}));
    EXPECT_THROW(model.reset_classifier(0), ValueError);
}

TEST(ResNet, FreezeStagesFreezesStemAndFirstStages) {
    auto model = models::resnet18({.num_classes = 10});
    model.freeze_stages(2);
    for (const auto& [name, t] : model.named_parameters()) {
        const bool frozen = name.starts_with("conv1.") || name.starts_with("bn1.") || name.starts_with("layer1.") ||
                            name.starts_with("layer2.");
        EXPECT_EQ(t.requires_grad(), !frozen) << name;
    }
    model.train();
    EXPECT_FALSE(model.bn1->is_training());
    EXPECT_FALSE(model.layer2->submodule("1.bn2")->is_training());
    EXPECT_FALSE(model.layer2->submodule("0.downsample.1")->is_training());
    EXPECT_TRUE(model.layer3->submodule("0.bn1")->is_training());
    EXPECT_TRUE(model.layer3->submodule("0.downsample.1")->is_training());

    auto stem_only = models::resnet18();
    stem_only.freeze_stages(0);
    EXPECT_EQ(stem_only.parameter_count() - stem_only.parameter_count(true), 64 * 3 * 49 + 2 * 64);
    EXPECT_THROW(stem_only.freeze_stages(5), ValueError);
    EXPECT_THROW(stem_only.freeze_stages(-1), ValueError);
}

TEST(ResNet, WrongInputNamesTheModulePath) {
    auto model = models::resnet18();
    try {
        model.forward(zeros({1, 4, 32, 32}));
        ADD_FAILURE() << "expected a ShapeError for 4 input channels";
    } catch (const ShapeError& e) {
        EXPECT_EQ(e.module_path(), "conv1");
        EXPECT_NE(std::string(e.what()).find("conv1 (Conv2d)"), std::string::npos) << e.what();
    }
    EXPECT_THROW_MSG(model.forward(zeros({3, 32, 32})), ShapeError, "ResNet: input must be [N, 3, H, W]");
}

TEST(ResNet, BlocksFuseBatchNormReluAndTheResidualJoin) {
    models::BasicBlock block(4, 4, 1, false);
    block.train();
    const Tensor x = randn({2, 4, 5, 5}).requires_grad_();
    const Tensor y = block.forward(x);
    ASSERT_TRUE(y.grad_fn());
    EXPECT_STREQ(y.grad_fn()->name(), "AddReluBackward");

    // The same block computed one module at a time: the same values and input gradient.
    const Tensor x2 = x.detach().clone().requires_grad_();
    const Tensor h = block.relu(block.bn1(block.conv1(x2)));
    const Tensor reference = block.relu(add(block.bn2(block.conv2(h)), x2));
    test::expect_close("block output", y, reference, {.atol = 1e-6, .rtol = 1e-5});
    y.sum().backward();
    reference.sum().backward();
    test::expect_close("input grad", x.grad(), x2.grad(), {.atol = 1e-5, .rtol = 1e-4});
}

TEST(ResNet, ReplacedActivationIsCalledNotFused) {
    models::Bottleneck block(8, 2, 1, false, 1, 64);
    block.replace("relu", nn::LeakyReLU(0.5));
    block.eval();
    const Tensor x = randn({1, 8, 3, 3}).requires_grad_();
    const Tensor y = block.forward(x);
    ASSERT_TRUE(y.grad_fn());
    EXPECT_STREQ(y.grad_fn()->name(), "LeakyReluBackward");
    EXPECT_LT(y.min().item<double>(), 0.0);  // leaky: negative outputs survive
}

TEST(ResNet, ConfigValidation) {
    EXPECT_THROW_MSG(models::ResNet({.block = models::ResNetBlock::Basic, .layers = {2, 2, 2, 2}, .groups = 32}),
                     ValueError, "groups = 32");
    EXPECT_THROW_MSG(models::ResNet({.layers = {3, 0, 6, 3}}), ValueError, "layers[1] = 0");
    EXPECT_THROW_MSG(models::resnet18({.num_classes = 0}), ValueError, "num_classes = 0");
}
