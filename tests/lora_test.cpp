// LoRA: LoraLinear's forward and gradients, apply_lora on a model by module-path globs, what is
// frozen and what the optimizer sees, merge/unmerge, adapter files (PEFT names, round trip,
// validation), the errors a user can run into, and a PyTorch golden run of LoRA training.
#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace graft;
using test::ScratchDir;

namespace {

std::vector<float> floats(const Tensor& t) { return t.contiguous().to_vector<float>(); }

std::vector<std::string> names_of(const std::vector<std::pair<std::string, Tensor>>& named) {
    std::vector<std::string> out;
    for (const auto& [n, t] : named) out.push_back(n);
    return out;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
    const auto va = a.contiguous().to_vector<double>(), vb = b.contiguous().to_vector<double>();
    EXPECT_EQ(va.size(), vb.size());
    double m = 0;
    for (std::size_t i = 0; i < va.size() && i < vb.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
    return m;
}

double max_abs(const Tensor& a) {
    double m = 0;
    for (double v : a.contiguous().to_vector<double>()) m = std::max(m, std::abs(v));
    return m;
}

/// 12 → 16 → 16 → 5 with ReLUs: Linear children "0", "2", "4".
std::shared_ptr<nn::Sequential> mlp(std::uint64_t seed = 7) {
    manual_seed(seed);
    return std::make_shared<nn::Sequential>(nn::Linear(12, 16), nn::ReLU(), nn::Linear(16, 16), nn::ReLU(),
                                            nn::Linear(16, 5));
}

Tensor input(std::int64_t rows = 6, std::int64_t features = 12, std::uint64_t seed = 3) {
    Generator g(seed);
    return randn({rows, features}, DType::Float32, &g);
}

/// A float64 Linear (the built-in one is float32), so that gradcheck can run through LoraLinear.
struct Linear64 : nn::Linear {
    Linear64(std::int64_t in, std::int64_t out, std::uint64_t seed) : nn::Linear(in, out) {
        clear_registrations();
        Generator g(seed);
        weight = register_parameter("weight", randn({out, in}, DType::Float64, &g));
        bias = register_parameter("bias", randn({out}, DType::Float64, &g));
    }
};

/// A few AdamW steps of mean-squared error towards a fixed target, on the trainable parameters.
void train_steps(nn::Module& model, int steps, std::uint64_t seed = 11) {
    Generator g(seed);
    const Tensor x = randn({8, 12}, DType::Float32, &g);
    const Tensor y = randn({8, 5}, DType::Float32, &g);
    optim::AdamW opt(model.trainable_parameters(), {.lr = 1e-2});
    for (int i = 0; i < steps; ++i) {
        opt.zero_grad();
        nn::functional::mse_loss(model.forward(x), y).backward();
        opt.step();
    }
}

const nn::LoraConfig kConfig{.r = 4, .alpha = 8, .target_modules = {"0", "2"}};

}  // namespace

// ---- LoraLinear ---------------------------------------------------------------------------------

TEST(LoraLinear, StartsEqualToBaseAndFreezesIt) {
    manual_seed(1);
    auto base = std::make_shared<nn::Linear>(12, 7);
    const Tensor x = input();
    const Tensor before = base->forward(x);
    nn::LoraLinear lora(base, {.r = 3, .alpha = 6});
    EXPECT_EQ(names_of(lora.named_parameters()), (std::vector<std::string>{"weight", "bias", "lora_A", "lora_B"}));
    EXPECT_EQ(lora.lora_A.shape(), (Shape{3, 12}));
    EXPECT_EQ(lora.lora_B.shape(), (Shape{7, 3}));
    EXPECT_DOUBLE_EQ(lora.scale(), 2.0);
    EXPECT_EQ(max_abs(lora.lora_B), 0.0);
    EXPECT_GT(max_abs(lora.lora_A), 0.0);
    // kaiming_uniform(a = √5) on [r, in]: bound = 1/√in.
    EXPECT_LE(max_abs(lora.lora_A), 1.0 / std::sqrt(12.0));
    // The base's own tensors, shared and frozen.
    EXPECT_EQ(lora.weight.storage(), base->weight.storage());
    EXPECT_FALSE(base->weight.requires_grad());
    EXPECT_FALSE(base->bias.requires_grad());
    EXPECT_TRUE(lora.lora_A.requires_grad());
    EXPECT_EQ(floats(lora.forward(x)), floats(before));
    EXPECT_EQ(lora.repr(),
              "LoraLinear(in_features=12, out_features=7, r=3, alpha=6.0, dropout=0.0, merged=False, "
              "base=Linear(in_features=12, out_features=7, bias=True))");
}

TEST(LoraLinear, ForwardIsBasePlusScaledLowRankUpdate) {
    nn::LoraLinear lora(std::make_shared<Linear64>(5, 4, 2), {.r = 2, .alpha = 3});
    Generator g(5);
    {
        NoGradGuard guard;
        lora.lora_B.copy_(randn({4, 2}, DType::Float64, &g));
    }
    const Tensor x = randn({3, 5}, DType::Float64, &g);
    const Tensor expected =
        matmul(x, lora.weight.t()) + lora.bias + matmul(matmul(x, lora.lora_A.t()), lora.lora_B.t()) * 1.5;
    EXPECT_LT(max_abs_diff(lora.forward(x), expected), 1e-12);
}

TEST(LoraLinear, GradcheckFloat64WrtInputAndAdapters) {
    nn::LoraLinear lora(std::make_shared<Linear64>(5, 4, 2), {.r = 3, .alpha = 5});
    Generator g(9);
    {
        NoGradGuard guard;
        lora.lora_B.copy_(randn({4, 3}, DType::Float64, &g));  // non-zero so that A's gradient is too
    }
    const Tensor x = randn({2, 3, 5}, DType::Float64, &g).requires_grad_();
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return lora.forward(in[0]); }, x, lora.lora_A,
                     lora.lora_B);
    // The frozen base gets nothing.
    EXPECT_FALSE(lora.weight.grad().defined());
    EXPECT_FALSE(lora.bias.grad().defined());
}

TEST(LoraLinear, DropoutActsOnTheAdapterPathInTrainingOnly) {
    manual_seed(4);
    nn::LoraLinear lora(nn::Linear(12, 6), {.r = 4, .alpha = 4, .dropout = 0.5});
    const Tensor x = input();
    const Tensor base_out = lora.base()->forward(x);
    EXPECT_EQ(floats(lora.forward(x)), floats(base_out));  // B = 0: dropout cannot show
    {
        NoGradGuard guard;
        lora.lora_B.fill_(0.5);
    }
    lora.eval();
    const Tensor eval_out = lora.forward(x);
    const Tensor expected = base_out + matmul(matmul(x, lora.lora_A.t()), lora.lora_B.t());
    EXPECT_LT(max_abs_diff(eval_out, expected), 1e-5);
    lora.train();
    EXPECT_GT(max_abs_diff(lora.forward(x), eval_out), 1e-3);
}

TEST(LoraLinear, RejectsBadOptionsAndLayers) {
    EXPECT_THROW_MSG(nn::LoraLinear(nn::Linear(4, 4), {.r = 0}), ValueError, "rank r must be at least 1, got 0");
    EXPECT_THROW_MSG(nn::LoraLinear(nn::Linear(4, 4), {.alpha = -1}), ValueError, "alpha must be finite and positive");
    EXPECT_THROW_MSG(nn::LoraLinear(nn::Linear(4, 4), {.dropout = 1.0}), ValueError, "dropout must be in [0, 1)");
    EXPECT_THROW_MSG(nn::LoraLinear(std::make_shared<nn::ReLU>(), {}), ValueError, "cannot wrap a ReLU");
}

TEST(LoraLinear, CloneIsDeepAndKeepsAdapters) {
    manual_seed(2);
    nn::LoraLinear lora(nn::Linear(12, 6), {.r = 2, .alpha = 2});
    {
        NoGradGuard guard;
        lora.lora_B.fill_(0.25);
    }
    auto copy = nn::clone(lora);
    const Tensor x = input();
    EXPECT_EQ(floats(copy->forward(x)), floats(lora.forward(x)));
    EXPECT_NE(copy->weight.storage(), lora.weight.storage());
    EXPECT_NE(copy->lora_A.storage(), lora.lora_A.storage());
    EXPECT_FALSE(copy->weight.requires_grad());
    EXPECT_TRUE(copy->lora_B.requires_grad());
    // A fresh copy (MismatchPolicy::Reinit) starts over: new base values, zero B, base frozen.
    auto fresh = std::static_pointer_cast<nn::LoraLinear>(lora.fresh_copy());
    EXPECT_EQ(max_abs(fresh->lora_B), 0.0);
    EXPECT_GT(max_abs_diff(fresh->weight, lora.weight), 0.0);
    EXPECT_FALSE(fresh->weight.requires_grad());
    EXPECT_EQ(fresh->rank(), 2);
}

// ---- apply_lora ---------------------------------------------------------------------------------

TEST(LoraApply, WrapsSequentialByIndexGlobAndFreezesTheRest) {
    auto model = mlp();
    auto reference = nn::clone(*model);
    const auto wrapped = nn::apply_lora(*model, kConfig);
    EXPECT_EQ(wrapped, (std::vector<std::string>{"0", "2"}));
    EXPECT_EQ(model->submodule("0")->type_name(), "LoraLinear");
    EXPECT_EQ(model->submodule("2")->type_name(), "LoraLinear");
    EXPECT_EQ(model->submodule("4")->type_name(), "Linear");
    EXPECT_EQ(names_of(model->named_parameters()),
              (std::vector<std::string>{"0.weight", "0.bias", "0.lora_A", "0.lora_B", "2.weight", "2.bias", "2.lora_A",
                                        "2.lora_B", "4.weight", "4.bias"}));
    std::vector<std::string> trainable;
    for (const auto& [n, t] : model->named_parameters())
        if (t.requires_grad()) trainable.push_back(n);
    EXPECT_EQ(trainable, (std::vector<std::string>{"0.lora_A", "0.lora_B", "2.lora_A", "2.lora_B"}));
    EXPECT_EQ(model->parameter_count(true), 4 * 12 + 16 * 4 + 4 * 16 + 16 * 4);
    const Tensor x = input();
    EXPECT_EQ(floats(model->forward(x)), floats(reference->forward(x)));
    // The head can be trained too (PEFT's modules_to_save) by unfreezing it.
    model->unfreeze("4.*");
    EXPECT_EQ(model->trainable_parameters().size(), 6u);
}

TEST(LoraApply, GlobsOverNestedPathsSkipNonLinearModules) {
    manual_seed(3);
    nn::Sequential model{nn::Sequential{nn::Linear(12, 8), nn::GELU(), nn::Linear(8, 12)},
                         nn::Sequential{nn::Linear(12, 8), nn::GELU(), nn::Linear(8, 12)}, nn::Linear(12, 2)};
    EXPECT_EQ(nn::apply_lora(model, {.r = 2, .target_modules = {"*.0"}}), (std::vector<std::string>{"0.0", "1.0"}));
    // "*" selects containers and activations too; only the linear layers not yet wrapped are wrapped.
    nn::Sequential other{nn::Sequential{nn::Linear(4, 4), nn::ReLU()}, nn::Linear(4, 2)};
    EXPECT_EQ(nn::apply_lora(other, {.r = 2, .target_modules = {"*"}}), (std::vector<std::string>{"0.0", "1"}));
    EXPECT_EQ(nn::lora_layers(other).size(), 2u);
}

TEST(LoraApply, PretrainedStateDictStillLoads) {
    auto pretrained = mlp(21);
    auto model = mlp(22);
    nn::apply_lora(*model, kConfig);
    const StateDict sd = pretrained->state_dict();
    const nn::LoadReport report = model->load_state_dict(sd, {.strict = false});
    EXPECT_EQ(report.missing, (std::vector<std::string>{"0.lora_A", "0.lora_B", "2.lora_A", "2.lora_B"}));
    EXPECT_TRUE(report.unexpected.empty());
    EXPECT_TRUE(report.mismatched.empty());
    const Tensor x = input();
    EXPECT_EQ(floats(model->forward(x)), floats(pretrained->forward(x)));  // B is still zero
    EXPECT_EQ(nn::lora_state_dict(*model).keys(),
              (std::vector<std::string>{"0.lora_A", "0.lora_B", "2.lora_A", "2.lora_B"}));
}

TEST(LoraApply, Errors) {
    auto model = mlp();
    EXPECT_THROW_MSG(nn::apply_lora(*model, {.target_modules = {"*.c_attn"}}), ValueError,
                     "target pattern '*.c_attn' selects no layer LoRA can wrap (Linear, Conv1D); modules: 0 (Linear), "
                     "1 (ReLU), 2 (Linear), 3 (ReLU), 4 (Linear)");
    EXPECT_THROW_MSG(nn::apply_lora(*model, {.target_modules = {"0", "1"}}), ValueError, "pattern '1' selects no layer");
    EXPECT_THROW_MSG(nn::apply_lora(*model, {.target_modules = {}}), ValueError, "target_modules is empty");
    EXPECT_THROW_MSG(nn::apply_lora(*model, {.r = -2, .target_modules = {"0"}}), ValueError, "got -2");
    // None of the failures above changed anything.
    EXPECT_TRUE(nn::lora_layers(*model).empty());
    EXPECT_EQ(model->trainable_parameters().size(), 6u);
    nn::apply_lora(*model, kConfig);
    EXPECT_THROW_MSG(nn::apply_lora(*model, kConfig), ValueError, "LoRA is already applied to 0, 2");
}

namespace {
/// A custom module calling its child through a plain std::shared_ptr member (nn::Child is the
/// member type that apply_lora can wrap in place: nn_child_test.cpp).
struct Net : nn::Cloneable<Net> {
    Net() { reset(); }
    void reset() override { fc = register_module("fc", nn::Linear(4, 4)); }
    Tensor forward(const Tensor& x) override { return fc->forward(x); }
    std::shared_ptr<nn::Linear> fc;
};
}  // namespace

TEST(LoraApply, RefusesLayersHeldOutsideTheModel) {
    Net net;
    EXPECT_THROW_MSG(nn::apply_lora(net, {.target_modules = {"fc"}}), ValueError,
                     "fc is also held outside the model's child slots");
    EXPECT_EQ(net.submodule("fc")->type_name(), "Linear");
    EXPECT_TRUE(net.fc->weight.requires_grad());
}

// ---- training ------------------------------------------------------------------------------------

TEST(LoraTrain, OnlyAdaptersGetGradientsAndOptimizerState) {
    auto model = mlp();
    nn::apply_lora(*model, kConfig);
    // Even handed every parameter, the optimizer keeps state for the trainable ones only.
    optim::AdamW opt(model->parameters(), {.lr = 1e-2});
    const Tensor x = input(), y = randn({6, 5});
    nn::functional::mse_loss(model->forward(x), y).backward();
    opt.step();
    EXPECT_EQ(opt.num_states(), 4u);
    for (const auto& [name, t] : model->named_parameters()) {
        const bool adapter = name.find("lora_") != std::string::npos;
        EXPECT_EQ(t.grad().defined(), adapter) << name;
        EXPECT_EQ(opt.state(t) != nullptr, adapter) << name;
    }
    auto first = model->at<nn::LoraLinear>(0);
    EXPECT_FALSE(std::static_pointer_cast<nn::Linear>(first->base())->weight.grad().defined());
    EXPECT_GT(max_abs(first->lora_B.grad()), 0.0);
}

TEST(LoraTrain, AdamWChangesAdaptersAndLeavesBaseBitIdentical) {
    auto model = mlp();
    nn::apply_lora(*model, kConfig);
    const StateDict before = nn::clone(*model)->state_dict();
    train_steps(*model, 5);
    for (const auto& [name, t] : model->state_dict()) {
        const bool adapter = name.find("lora_") != std::string::npos;
        if (adapter)
            EXPECT_GT(max_abs_diff(t, before.at(name)), 1e-4) << name;
        else
            EXPECT_EQ(floats(t), floats(before.at(name))) << name;
    }
}

// ---- merge / unmerge -------------------------------------------------------------------------------

TEST(LoraMerge, MergedOutputEqualsUnmergedAndUnmergeRestores) {
    auto model = mlp();
    nn::apply_lora(*model, kConfig);
    train_steps(*model, 5);
    model->eval();
    const Tensor x = input();
    const Tensor unmerged_out = model->forward(x);
    const StateDict before = nn::clone(*model)->state_dict();
    EXPECT_EQ(nn::merge_lora(*model), 2u);
    auto first = model->at<nn::LoraLinear>(0);
    EXPECT_TRUE(first->merged());
    EXPECT_GT(max_abs_diff(first->weight, before.at("0.weight")), 1e-4);  // the update is in the weight
    EXPECT_LT(max_abs_diff(model->forward(x), unmerged_out), 1e-5);
    {
        NoGradGuard guard;
        EXPECT_LT(max_abs_diff(model->forward(x), unmerged_out), 1e-5);
    }
    EXPECT_EQ(nn::unmerge_lora(*model), 2u);
    for (const char* name : {"0.weight", "2.weight"})
        EXPECT_LE(max_abs_diff(model->state_dict().at(name), before.at(name)), 1e-6 * max_abs(before.at(name)))
            << name;
    EXPECT_LT(max_abs_diff(model->forward(x), unmerged_out), 1e-5);
}

TEST(LoraMerge, TrainingWhileMergedAndDoubleMergeAreErrors) {
    auto model = mlp();
    nn::apply_lora(*model, kConfig);
    EXPECT_THROW_MSG(nn::unmerge_lora(*model), ValueError, "unmerge_lora: not merged: 0, 2; nothing changed");
    nn::merge_lora(*model);
    EXPECT_THROW_MSG(nn::merge_lora(*model), ValueError, "merge_lora: already merged: 0, 2");
    EXPECT_THROW_MSG(model->forward(input()), Error, "forward in training mode on a merged layer");
    EXPECT_THROW_MSG(model->at<nn::LoraLinear>(0)->merge(), Error, "already merged");
    nn::Sequential plain{nn::Linear(3, 3)};
    EXPECT_THROW_MSG(nn::merge_lora(plain), ValueError, "the model has no LoRA layers");
}

// ---- adapter files -----------------------------------------------------------------------------------

TEST(LoraAdapter, SaveLoadRoundTripReproducesOutputs) {
    ScratchDir dir("lora");
    const auto file = dir.path("adapter.safetensors");
    auto pretrained = mlp(31);
    auto model = nn::clone(*pretrained);
    nn::apply_lora(*model, kConfig);
    train_steps(*model, 4);
    io::save_lora_adapter(file, *model, kConfig);

    const io::SafetensorsFile contents = io::read_safetensors(file);
    EXPECT_EQ(contents.tensors.keys(),
              (std::vector<std::string>{"base_model.model.0.lora_A.weight", "base_model.model.0.lora_B.weight",
                                        "base_model.model.2.lora_A.weight", "base_model.model.2.lora_B.weight"}));
    EXPECT_EQ(contents.metadata.at("r"), "4");
    EXPECT_EQ(contents.metadata.at("lora_alpha"), "8.0");
    EXPECT_EQ(contents.metadata.at("lora_dropout"), "0.0");
    EXPECT_EQ(contents.metadata.at("target_modules"), "[\"0\",\"2\"]");
    EXPECT_EQ(contents.metadata.at("peft_type"), "LORA");

    const Tensor x = input();
    model->eval();
    const Tensor expected = model->forward(x);
    // Into a fresh copy of the pretrained model: LoRA is applied from the file's metadata.
    auto fresh = nn::clone(*pretrained);
    const nn::LoraConfig loaded = io::load_lora_adapter(file, *fresh);
    EXPECT_EQ(loaded.r, 4);
    EXPECT_EQ(loaded.alpha, 8.0);
    EXPECT_EQ(loaded.target_modules, kConfig.target_modules);
    fresh->eval();
    EXPECT_EQ(floats(fresh->forward(x)), floats(expected));
    EXPECT_EQ(fresh->trainable_parameters().size(), 4u);
    // Into a model that already has LoRA applied.
    auto applied = nn::clone(*pretrained);
    nn::apply_lora(*applied, kConfig);
    io::load_lora_adapter(file, *applied);
    applied->eval();
    EXPECT_EQ(floats(applied->forward(x)), floats(expected));
}

TEST(LoraAdapter, LoadsPeftNamedFileWithoutMetadata) {
    ScratchDir dir("lora");
    const auto file = dir.path("peft.safetensors");
    auto model = mlp();
    nn::apply_lora(*model, {.r = 2, .alpha = 4, .target_modules = {"4"}});
    StateDict sd;
    sd.insert("base_model.model.4.lora_A.weight", full({2, 16}, 0.5));
    sd.insert("base_model.model.4.lora_B.weight", full({5, 2}, -0.25));
    io::save_safetensors(file, sd, {{"format", "pt"}});
    const nn::LoraConfig c = io::load_lora_adapter(file, *model);
    EXPECT_EQ(c.r, 2);
    EXPECT_EQ(c.alpha, 4.0);
    EXPECT_EQ(c.target_modules, (std::vector<std::string>{"4"}));
    auto head = model->at<nn::LoraLinear>(4);
    EXPECT_EQ(floats(head->lora_A), std::vector<float>(32, 0.5f));
    EXPECT_EQ(floats(head->lora_B), std::vector<float>(10, -0.25f));
    // Without metadata a model without LoRA cannot be set up from the file.
    auto plain = mlp();
    EXPECT_THROW_MSG(io::load_lora_adapter(file, *plain), ValueError, "records no config");
    io::save_safetensors(file, sd, {{"r", "2"}, {"target_modules", "[\"4\"]"}});  // no lora_alpha
    EXPECT_THROW_MSG(io::load_lora_adapter(file, *plain), ValueError, "records no config (r, lora_alpha");
    EXPECT_TRUE(nn::lora_layers(*plain).empty());
}

TEST(LoraAdapter, LoadErrorsNameTheProblemAndLoadNothing) {
    ScratchDir dir("lora");
    const auto file = dir.path("adapter.safetensors");
    auto model = mlp();
    nn::apply_lora(*model, kConfig);
    io::save_lora_adapter(file, *model, kConfig);

    // Wrong r.
    auto other_r = mlp();
    nn::apply_lora(*other_r, {.r = 2, .alpha = 8, .target_modules = {"0", "2"}});
    EXPECT_THROW_MSG(io::load_lora_adapter(file, *other_r), ValueError,
                     "has r=4 but the model's LoRA layer '0' has r=2");
    // Wrong alpha.
    auto other_alpha = mlp();
    nn::apply_lora(*other_alpha, {.r = 4, .alpha = 16, .target_modules = {"0", "2"}});
    EXPECT_THROW_MSG(io::load_lora_adapter(file, *other_alpha), ValueError, "lora_alpha=8.0");
    // Other layers wrapped: "2" is unexpected, "4" missing.
    auto other_layers = mlp();
    nn::apply_lora(*other_layers, {.r = 4, .alpha = 8, .target_modules = {"0", "4"}});
    const Tensor a_before = other_layers->at<nn::LoraLinear>(0)->lora_A.clone();
    EXPECT_THROW_MSG(io::load_lora_adapter(file, *other_layers), ValueError,
                     "unexpected tensor 'base_model.model.2.lora_A.weight': the model has no LoRA layer '2'");
    EXPECT_THROW_MSG(io::load_lora_adapter(file, *other_layers), ValueError,
                     "missing tensor 'base_model.model.4.lora_B.weight'");
    EXPECT_EQ(floats(other_layers->at<nn::LoraLinear>(0)->lora_A), floats(a_before));  // nothing loaded
    // Same names, other layer sizes: a shape mismatch, found before LoRA is applied from the metadata.
    manual_seed(5);
    nn::Sequential wider{nn::Linear(10, 16), nn::ReLU(), nn::Linear(16, 16)};
    EXPECT_THROW_MSG(io::load_lora_adapter(file, wider), ValueError,
                     "tensor 'base_model.model.0.lora_A.weight' has shape [4, 12], the model's is [4, 10]");
    EXPECT_TRUE(nn::lora_layers(wider).empty());
    // A merged model must be unmerged first.
    nn::merge_lora(*model);
    EXPECT_THROW_MSG(io::load_lora_adapter(file, *model), ValueError, "is merged; unmerge_lora first");
    // Stray tensors and bad metadata.
    const auto stray = dir.path("stray.safetensors");
    io::save_safetensors(stray, {}, {{"r", "four"}});
    EXPECT_THROW_MSG(io::load_lora_adapter(stray, *other_r), ValueError, "metadata 'r' is 'four'");
    StateDict odd;
    odd.insert("0.weight", zeros({16, 12}));
    io::save_safetensors(stray, odd);
    EXPECT_THROW_MSG(io::load_lora_adapter(stray, *other_r), ValueError, "unexpected tensor '0.weight'");
    // A model without the file's targets (nothing for target "2" to select): the error names the file.
    manual_seed(5);
    nn::Sequential small{nn::Linear(12, 16)};
    EXPECT_THROW_MSG(io::load_lora_adapter(file, small), ValueError,
                     "load_lora_adapter: '" + file.string() + "' (its config): apply_lora: target "
                     "pattern '2' selects no layer");
    EXPECT_TRUE(nn::lora_layers(small).empty());
    // A folder is read as a PEFT adapter folder.
    EXPECT_THROW_MSG(io::load_lora_adapter(dir.dir(), small), IOError, (dir.dir() / "adapter_config.json").string());
}

TEST(LoraAdapter, SaveChecksTheConfigAgainstTheModel) {
    ScratchDir dir("lora");
    auto model = mlp();
    EXPECT_THROW_MSG(io::save_lora_adapter(dir.path("a.safetensors"), *model, kConfig), ValueError,
                     "the model has no LoRA layers");
    nn::apply_lora(*model, kConfig);
    nn::LoraConfig other = kConfig;
    other.r = 8;
    EXPECT_THROW_MSG(io::save_lora_adapter(dir.path("a.safetensors"), *model, other), ValueError,
                     "layer '0' has r=4, alpha=8.0, dropout=0.0 but the config says r=8");
    EXPECT_FALSE(std::filesystem::exists(dir.path("a.safetensors")));
}

// ---- against PyTorch ------------------------------------------------------------------------------

namespace {
/// Within 1e-5 absolute plus 1e-4 of the largest expected magnitude (float32, other summation order).
void expect_near_pytorch(const std::string& what, const Tensor& got, const Tensor& expected) {
    ASSERT_EQ(got.shape(), expected.shape()) << what;
    EXPECT_LE(max_abs_diff(got, expected), 1e-5 + 1e-4 * max_abs(expected)) << what;
}
}  // namespace

// tests/golden/make_lora_golden.py: PEFT's formula in plain torch on make_golden.py's mlp, the
// adapters saved under PEFT's names. Loading the pretrained weights and then the adapter file
// (which applies LoRA from its metadata) must reproduce PyTorch's output, loss, adapter gradients
// and three AdamW steps, with the base weights untouched.
TEST(LoraGolden, MatchesPyTorchForwardGradientsAndAdamWSteps) {
    const std::filesystem::path dir(GRAFT_TEST_DATA_DIR);
    const StateDict golden = io::load_safetensors(dir / "lora.safetensors");
    nn::Sequential model{nn::Linear(6, 12), nn::ReLU(), nn::Linear(12, 4)};
    model.load_state_dict(golden, {.rename = [](const std::string& key) -> std::optional<std::string> {
                                       if (!key.starts_with("init.")) return std::nullopt;
                                       return key.substr(5);
                                   }});
    const nn::LoraConfig config = io::load_lora_adapter(dir / "lora_adapter.safetensors", model);
    EXPECT_EQ(config.r, 2);
    EXPECT_EQ(config.alpha, 4.0);
    const std::vector<std::string> adapters{"0.lora_A", "0.lora_B", "2.lora_A", "2.lora_B"};
    EXPECT_EQ(nn::lora_state_dict(model).keys(), adapters);

    const Tensor x = golden.at("input"), y = golden.at("target");
    const Tensor output = model.forward(x);
    const Tensor loss = nn::functional::cross_entropy(output, y);
    loss.backward();
    expect_near_pytorch("output", output, golden.at("output"));
    expect_near_pytorch("loss", loss, golden.at("loss"));
    const StateDict params = model.state_dict();
    for (const auto& name : adapters)
        expect_near_pytorch("grad." + name, model.parameters_matching(name).front().grad(), golden.at("grad." + name));

    io::load_lora_adapter(dir / "lora_adapter.safetensors", model);  // back to the initial adapters
    optim::AdamW opt(model.trainable_parameters(), {.lr = 1e-2, .weight_decay = 0.01});
    std::vector<float> losses;
    for (int step = 0; step < 3; ++step) {
        opt.zero_grad();
        const Tensor l = nn::functional::cross_entropy(model.forward(x), y);
        losses.push_back(l.item<float>());
        l.backward();
        opt.step();
    }
    expect_near_pytorch("step_loss", from_vector(losses), golden.at("step_loss"));
    for (const auto& name : adapters)
        expect_near_pytorch("step3." + name, params.at(name), golden.at("step3." + name));
    for (const char* name : {"0.weight", "0.bias", "2.weight", "2.bias"})
        EXPECT_EQ(floats(params.at(name)), floats(golden.at(std::string("init.") + name))) << name;
}

TEST(LoraConv1D, WrapsGpt2AttentionAndMergesTheTransposedUpdate) {
    manual_seed(21);
    models::GPT2Config cfg;
    cfg.vocab_size = 40;
    cfg.n_positions = 16;
    cfg.n_embd = 16;
    cfg.n_layer = 2;
    cfg.n_head = 2;
    cfg.resid_pdrop = cfg.embd_pdrop = cfg.attn_pdrop = 0.0;
    models::GPT2LMHead gpt(cfg);
    const Tensor ids = randint(0, 40, {2, 8});
    const Tensor base_logits = gpt.forward(ids).detach();
    const StateDict base = nn::clone(gpt)->state_dict();

    const nn::LoraConfig config{.r = 2, .alpha = 4, .target_modules = {"*.attn.c_attn", "*.mlp.c_fc"}};
    EXPECT_EQ(nn::apply_lora(gpt, config).size(), 4u);
    auto c_attn = std::dynamic_pointer_cast<nn::LoraLinear>(gpt.submodule("transformer.h.0.attn.c_attn"));
    ASSERT_TRUE(c_attn);
    EXPECT_EQ(c_attn->weight.shape(), (Shape{16, 48}));  // Conv1D layout kept: [in, out]
    EXPECT_EQ(c_attn->lora_A.shape(), (Shape{2, 16}));   // PEFT's shapes: A [r, in], B [out, r]
    EXPECT_EQ(c_attn->lora_B.shape(), (Shape{48, 2}));
    EXPECT_EQ(max_abs_diff(gpt.forward(ids), base_logits), 0.0);  // B = 0: starts equal to the base

    // Train the adapters: the logits move, the base weights stay bit-identical.
    optim::AdamW opt(gpt.trainable_parameters(), {.lr = 1e-2});
    for (int i = 0; i < 3; ++i) {
        opt.zero_grad();
        models::causal_lm_loss(gpt.forward(ids), ids).backward();
        opt.step();
    }
    EXPECT_EQ(gpt.trainable_parameters().size(), 8u);
    for (const auto& [name, t] : base)
        EXPECT_EQ(max_abs_diff(gpt.state_dict().at(name), t), 0.0) << name;
    gpt.eval();
    const Tensor adapted = gpt.forward(ids).detach();
    EXPECT_GT(max_abs_diff(adapted, base_logits), 1e-4);

    // Merging folds (alpha/r)·(B·A)ᵀ into the [in, out] weight: same logits without the adapter pass.
    EXPECT_EQ(nn::merge_lora(gpt), 4u);
    EXPECT_GT(max_abs_diff(c_attn->weight, base.at("transformer.h.0.attn.c_attn.weight")), 1e-5);
    EXPECT_LT(max_abs_diff(gpt.forward(ids), adapted), 1e-5);
    EXPECT_EQ(nn::unmerge_lora(gpt), 4u);
    EXPECT_LT(max_abs_diff(c_attn->weight, base.at("transformer.h.0.attn.c_attn.weight")), 1e-6);
}
