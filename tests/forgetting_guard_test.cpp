// train::L2SP, train::EWC (values and gradients against hand-computed ones, in the Trainer), and
// train::estimate_fisher / save_fisher / load_fisher.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "graft/graft.hpp"
#include "test_util.hpp"

using namespace graft;
using graft::test::ScratchDir;

namespace {

// "0.weight" [2,2], "0.bias" [2], "1.weight" [3,2], "1.bias" [3]; weights from a formula.
nn::Sequential two_layers() {
    nn::Sequential m{nn::Linear(2, 2), nn::Linear(2, 3)};
    NoGradGuard no_grad;
    int k = 0;
    for (auto& p : m.parameters()) {
        float* d = p.data_ptr<float>();
        for (std::int64_t i = 0; i < p.numel(); ++i, ++k) d[i] = 0.1f * static_cast<float>((k * 7) % 11) - 0.5f;
    }
    return m;
}

/// The model's state shifted by `delta` per element (a reference the model has moved away from).
StateDict shifted(const nn::Module& m, float delta) {
    StateDict out;
    NoGradGuard no_grad;
    for (const auto& [name, t] : m.state_dict()) out.insert(name, t.detach().clone() + delta);
    return out;
}

std::vector<float> grad_of(const nn::Module& m, const std::string& name) {
    for (const auto& [n, p] : m.named_parameters())
        if (n == name) return p.grad().defined() ? p.grad().contiguous().to_vector<float>() : std::vector<float>{};
    ADD_FAILURE() << "no parameter " << name;
    return {};
}

std::vector<float> values_of(const nn::Module& m, const std::string& name) {
    for (const auto& [n, p] : m.named_parameters())
        if (n == name) return p.contiguous().to_vector<float>();
    ADD_FAILURE() << "no parameter " << name;
    return {};
}

}  // namespace

TEST(L2SP, ValueAndGradientMatchTheFormulaPerGroup) {
    nn::Sequential m = two_layers();
    const StateDict w0 = shifted(m, 0.25f);  // w − w0 = −0.25 everywhere
    train::L2SP guard(m, w0, {.alpha = 2.0, .beta = 0.5, .new_parameters = {"1.*"}, .alpha_groups = {{"0.bias", 8.0}}});
    // alpha/2·Σ(w − w0)² over 0.weight (4 entries, alpha 2) and 0.bias (2 entries, alpha 8),
    // beta/2·Σw² over 1.* (w itself).
    double expected = 0.5 * 2.0 * 4 * 0.0625 + 0.5 * 8.0 * 2 * 0.0625;
    for (const char* name : {"1.weight", "1.bias"})
        for (float w : values_of(m, name)) expected += 0.5 * 0.5 * w * w;
    EXPECT_NEAR(guard.value(m), expected, 1e-6);
    EXPECT_NEAR(guard.apply(m), expected, 1e-6);
    for (float g : grad_of(m, "0.weight")) EXPECT_NEAR(g, 2.0 * -0.25, 1e-6);
    for (float g : grad_of(m, "0.bias")) EXPECT_NEAR(g, 8.0 * -0.25, 1e-6);
    const auto w1 = values_of(m, "1.weight"), g1 = grad_of(m, "1.weight");
    ASSERT_EQ(g1.size(), w1.size());
    for (std::size_t i = 0; i < w1.size(); ++i) EXPECT_NEAR(g1[i], 0.5 * w1[i], 1e-6);
    // A second apply adds to the existing gradient.
    guard.apply(m);
    for (float g : grad_of(m, "0.weight")) EXPECT_NEAR(g, 2 * 2.0 * -0.25, 1e-6);
}

TEST(L2SP, FrozenParametersGetNoGradientAndNoPenalty) {
    nn::Sequential m = two_layers();
    train::L2SP guard(m, shifted(m, 1.0f), {.alpha = 1.0, .beta = 0.0});
    m.freeze("0.*");
    // Only layer 1 (6 + 3 entries, each (w − w0)² = 1) counts.
    EXPECT_NEAR(guard.apply(m), 0.5 * 9, 1e-6);
    EXPECT_TRUE(grad_of(m, "0.weight").empty());
    EXPECT_TRUE(grad_of(m, "0.bias").empty());
    for (float g : grad_of(m, "1.bias")) EXPECT_NEAR(g, -1.0, 1e-6);
    EXPECT_NEAR(guard.value(m), 0.5 * 15, 1e-6);
}

TEST(L2SP, BadReferenceIsAClearError) {
    nn::Sequential m = two_layers();
    StateDict missing = shifted(m, 0.0f);
    missing.erase("1.bias");
    EXPECT_THROW_MSG(train::L2SP(m, missing), ValueError, "'1.bias' is not in the reference");
    StateDict wrong_shape = shifted(m, 0.0f);
    wrong_shape.set("1.weight", zeros({5, 2}));
    EXPECT_THROW_MSG(train::L2SP(m, wrong_shape), ShapeError, "'1.weight' has shape [3, 2] but the reference holds [5, 2]");
    EXPECT_THROW_MSG(train::L2SP(m, shifted(m, 0.0f), {.alpha_groups = {{"head.*", 1.0}}}), ValueError,
                     "alpha group 'head.*' matches no pretrained parameter");
    EXPECT_THROW_MSG(train::L2SP(m, shifted(m, 0.0f), {.alpha = -1.0}), ValueError, "alpha must be finite and >= 0");
    // The model's member replaced by one of another shape after the guard was built.
    nn::Sequential changed = two_layers();
    train::L2SP guard(changed, shifted(changed, 0.0f));
    changed.replace("1", nn::Linear(2, 4));
    EXPECT_THROW_MSG(guard.apply(changed), ShapeError, "'1.bias' is now [4], the guard was built for [3]");
}

TEST(EWC, ValueAndGradientWeightEachEntryByItsFisher) {
    nn::Sequential m = two_layers();
    const StateDict w0 = shifted(m, -0.5f);  // w − w0 = 0.5
    StateDict fisher;
    for (const auto& [name, t] : m.state_dict()) {
        std::vector<float> f(static_cast<std::size_t>(t.numel()));
        for (std::size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(i + 1);
        fisher.insert(name, from_vector(f, t.shape()));
    }
    train::EWC guard(m, w0, fisher, {.lambda = 3.0, .new_parameters = {"1.*"}});
    // lambda/2·Σ F(w − w0)² over layer 0: F = 1..4 and 1..2, (w − w0)² = 0.25.
    EXPECT_NEAR(guard.apply(m), 0.5 * 3.0 * 0.25 * (10 + 3), 1e-6);
    const auto g = grad_of(m, "0.weight");
    for (std::size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], 3.0 * static_cast<double>(i + 1) * 0.5, 1e-6);
    EXPECT_TRUE(grad_of(m, "1.weight").empty());  // new: no penalty

    StateDict short_fisher = fisher;
    short_fisher.erase("0.bias");
    EXPECT_THROW_MSG(train::EWC(m, w0, short_fisher), ValueError, "'0.bias' is not in the Fisher");
    StateDict negative = fisher;
    negative.set("0.bias", from_vector(std::vector<float>{1.0f, -2.0f}, {2}));
    EXPECT_THROW_MSG(train::EWC(m, w0, negative), ValueError, "the Fisher of '0.bias' holds -2");
}

TEST(ForgettingGuard, TrainerAddsThePenaltyGradientBeforeTheStep) {
    // A data loss with zero gradient: one SGD step moves w by −lr·alpha·(w − w0) exactly.
    nn::Sequential m = two_layers();
    const StateDict w0 = shifted(m, 0.5f);
    const auto before = values_of(m, "0.weight");
    auto guard = std::make_shared<train::L2SP>(m, w0, train::L2SPOptions{.alpha = 0.4});
    optim::SGD opt(m.parameters(), {.lr = 0.5});
    auto ds = std::make_shared<data::TensorDataset>(zeros({4, 2}), zeros({4}, DType::Int64));
    data::DataLoader loader(ds, {.batch_size = 4});
    train::Trainer trainer(m, opt, {.epochs = 1, .progress = train::Progress::Off, .guard = guard},
                           [](const Tensor& out, const Tensor&) { return (out * 0.0).sum(); });
    const auto r = trainer.fit(loader);
    const auto after = values_of(m, "0.weight");
    for (std::size_t i = 0; i < before.size(); ++i) EXPECT_NEAR(after[i], before[i] - 0.5 * 0.4 * -0.5, 1e-6);
    EXPECT_NEAR(r.history.at(0).at("train_penalty"), 0.5 * 0.4 * 0.25 * 15, 1e-6);
    EXPECT_EQ(r.history.at(0).at("train_loss"), 0.0);
}

TEST(Fisher, MatchesTheDirectComputationOnALinearModel) {
    // Cross-entropy of z = Wx + b: ∂ℓ/∂W = (softmax(z) − onehot(y)) xᵀ, ∂ℓ/∂b = softmax(z) − onehot(y).
    nn::Linear lin(3, 2);
    {
        NoGradGuard no_grad;
        const float w[] = {0.3f, -0.2f, 0.5f, -0.4f, 0.1f, 0.2f}, b[] = {0.05f, -0.1f};
        std::copy(w, w + 6, lin.weight.data_ptr<float>());
        std::copy(b, b + 2, lin.bias.data_ptr<float>());
    }
    const std::vector<float> xs = {1, 0, 2, -1, 1, 0.5f, 0.3f, -2, 1, 2, 2, -1, 0.5f, 0.5f, 0.5f};
    const std::vector<std::int64_t> ys = {0, 1, 1, 0, 1};
    auto ds = std::make_shared<data::TensorDataset>(from_vector(xs, {5, 3}), from_vector(ys, {5}));
    data::DataLoader loader(ds, {.batch_size = 2});  // batches of 2, 2, 1
    lin.freeze("bias");                              // frozen parameters are estimated too, and stay frozen
    const StateDict f = train::estimate_fisher(lin, loader, 2);  // the first 4 examples

    const auto w = lin.weight.to_vector<float>(), b = lin.bias.to_vector<float>();
    std::vector<double> fw(6, 0.0), fb(2, 0.0);
    for (int n = 0; n < 4; ++n) {
        double z[2];
        for (int o = 0; o < 2; ++o) {
            z[o] = b[o];
            for (int i = 0; i < 3; ++i) z[o] += w[o * 3 + i] * xs[n * 3 + i];
        }
        const double mx = std::max(z[0], z[1]), e0 = std::exp(z[0] - mx), e1 = std::exp(z[1] - mx);
        const double d[2] = {e0 / (e0 + e1) - (ys[n] == 0), e1 / (e0 + e1) - (ys[n] == 1)};
        for (int o = 0; o < 2; ++o) {
            fb[o] += d[o] * d[o] / 4;
            for (int i = 0; i < 3; ++i) fw[o * 3 + i] += std::pow(d[o] * xs[n * 3 + i], 2) / 4;
        }
    }
    const auto gw = f.at("weight").to_vector<float>(), gb = f.at("bias").to_vector<float>();
    for (int k = 0; k < 6; ++k) EXPECT_NEAR(gw[k], fw[k], 1e-5) << k;
    for (int k = 0; k < 2; ++k) EXPECT_NEAR(gb[k], fb[k], 1e-5) << k;
    EXPECT_FALSE(lin.bias.requires_grad());
    EXPECT_TRUE(lin.weight.requires_grad());
    EXPECT_FALSE(lin.weight.grad().defined());
    EXPECT_TRUE(lin.is_training());
    EXPECT_THROW_MSG(train::estimate_fisher(lin, loader, 0), ValueError, "batches must be >= 1");
}

TEST(Fisher, SaveLoadRoundTripNextToTheWeights) {
    ScratchDir dir("fisher");
    const auto weights = dir.path("pretrained.safetensors");
    EXPECT_EQ(train::fisher_path(weights), dir.path("pretrained.fisher.safetensors"));
    nn::Sequential m = two_layers();
    auto ds = std::make_shared<data::TensorDataset>(from_vector(std::vector<float>{1, 2, -1, 0.5f}, {2, 2}),
                                                    from_vector(std::vector<std::int64_t>{2, 0}, {2}));
    data::DataLoader loader(ds, {.batch_size = 2});
    const StateDict f = train::estimate_fisher(m, loader, 1);
    train::save_fisher(train::fisher_path(weights), f);
    const StateDict back = train::load_fisher(train::fisher_path(weights));
    ASSERT_EQ(back.keys(), f.keys());
    for (const auto& name : f.keys()) EXPECT_EQ(back.at(name).to_vector<float>(), f.at(name).to_vector<float>()) << name;
    // The loaded Fisher drives EWC on the same model.
    train::EWC ewc(m, m.state_dict(), back);
    EXPECT_EQ(ewc.value(m), 0.0);
    // Plain weights are not a Fisher file; a missing file names itself.
    io::save_safetensors(weights, m.state_dict());
    EXPECT_THROW_MSG(train::load_fisher(weights), IOError, "is not a Fisher file");
    EXPECT_THROW(train::load_fisher(dir.path("missing.fisher.safetensors")), IOError);
}
