// batch_norm and nn::BatchNorm1d/2d: normalisation against per-channel loops, running statistics
// after several steps against torch's update formula computed here, the cumulative average,
// eval with the running statistics, gradchecks in train and eval mode, float32 statistics on every
// ISA and thread count, freezing, the fused activations (gradchecks, against the two ops, the
// fusion in Sequential), and errors.
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_features.hpp"
#include "graft/runtime.hpp"
#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;
namespace F = graft::nn::functional;

namespace {

/// Per-channel mean and biased variance of x [N, C, *] by plain loops.
struct Stats {
    std::vector<double> mean, var;
    std::int64_t count = 0;
};

Stats channel_stats(const Tensor& x) {
    const std::vector<double> v = x.contiguous().to_vector<double>();
    const std::int64_t N = x.size(0), C = x.size(1), S = x.numel() / (N * C);
    Stats s;
    s.count = N * S;
    for (std::int64_t c = 0; c < C; ++c) {
        double sum = 0;
        for (std::int64_t n = 0; n < N; ++n)
            for (std::int64_t i = 0; i < S; ++i) sum += v[static_cast<std::size_t>((n * C + c) * S + i)];
        const double m = sum / static_cast<double>(s.count);
        double q = 0;
        for (std::int64_t n = 0; n < N; ++n)
            for (std::int64_t i = 0; i < S; ++i) {
                const double d = v[static_cast<std::size_t>((n * C + c) * S + i)] - m;
                q += d * d;
            }
        s.mean.push_back(m);
        s.var.push_back(q / static_cast<double>(s.count));
    }
    return s;
}

/// (x − mean)/√(var + eps)·w + b per channel, by plain loops.
std::vector<double> ref_normalize(const Tensor& x, const std::vector<double>& mean, const std::vector<double>& var,
                                  const std::vector<double>& w, const std::vector<double>& b, double eps) {
    const std::vector<double> v = x.contiguous().to_vector<double>();
    const std::int64_t N = x.size(0), C = x.size(1), S = x.numel() / (N * C);
    std::vector<double> out(v.size());
    for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t c = 0; c < C; ++c)
            for (std::int64_t i = 0; i < S; ++i) {
                const auto k = static_cast<std::size_t>((n * C + c) * S + i);
                const auto cc = static_cast<std::size_t>(c);
                out[k] = (v[k] - mean[cc]) / std::sqrt(var[cc] + eps) * w[cc] + b[cc];
            }
    return out;
}

void expect_values(const Tensor& t, const std::vector<double>& want, double tol) {
    const std::vector<double> got = t.to_vector<double>();
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t k = 0; k < got.size(); ++k)
        EXPECT_NEAR(got[k], want[k], tol * std::max(1.0, std::abs(want[k]))) << "element " << k;
}

}  // namespace

TEST(BatchNorm, TrainingForwardMatchesLoops) {
    for (DType dt : {DType::Float32, DType::Float64}) {
        const double tol = dt == DType::Float32 ? 2e-5 : 1e-12;
        for (const Shape& shape : {Shape{6, 3}, Shape{4, 3, 5}, Shape{3, 3, 4, 5}, Shape{2, 3, 1, 7, 2}}) {
            Generator g(1);
            Tensor x = add(mul(randn(shape, dt, &g), 3.0), 2.0);
            Tensor w = randn({3}, dt, &g), b = randn({3}, dt, &g);
            Tensor y = F::batch_norm(x, Tensor(), Tensor(), w, b, true, 0.1, 1e-5);
            const Stats s = channel_stats(x);
            ASSERT_EQ(y.shape(), shape);
            expect_values(y, ref_normalize(x, s.mean, s.var, w.to_vector<double>(), b.to_vector<double>(), 1e-5),
                          tol);
        }
    }
}

// float32 statistics ([N, C]: the vector column kernels, [N, C, *]: the loops) match the float64
// loops on every ISA on inputs with a large mean, and the output and running statistics of [N, C]
// are the same bits on one and two threads (2.4 M elements: parallel).
TEST(BatchNorm, Float32StatisticsOnEveryIsaAndThreadCount) {
    const kernels::Isa saved_isa = kernels::active_isa();
    const int saved_threads = get_num_threads();
    for (kernels::Isa isa : kernels::supported_isas()) {
        kernels::set_active_isa(isa);
        for (const Shape& shape : {Shape{37, 19}, Shape{300, 1029}, Shape{9, 5, 6, 7}, Shape{3, 2, 600}}) {
            Generator g(8);
            const Tensor x = add(mul(randn(shape, DType::Float64, &g), 2.0), 1000.0).to(DType::Float32);
            Tensor rm = zeros({shape[1]}, DType::Float32), rv = ones({shape[1]}, DType::Float32);
            const Tensor y = F::batch_norm(x, rm, rv, Tensor(), Tensor(), true, 1.0, 1e-5);
            const Stats s = channel_stats(x);
            const std::vector<double> ones_c(static_cast<std::size_t>(shape[1]), 1.0), zeros_c(ones_c.size(), 0.0);
            // y = x·scale + shift in float: at x ≈ 1000 the shift's rounding (3e-5) is y's error.
            expect_values(y, ref_normalize(x, s.mean, s.var, ones_c, zeros_c, 1e-5), 1e-4);
            expect_values(rm, s.mean, 1e-7);
            std::vector<double> unbiased = s.var;
            for (double& v : unbiased) v *= static_cast<double>(s.count) / static_cast<double>(s.count - 1);
            expect_values(rv, unbiased, 1e-6);
        }
    }
    kernels::set_active_isa(saved_isa);
    Generator g(9);
    const Tensor x = randn({2400, 1000}, DType::Float32, &g);
    std::vector<float> outs[2], running[2];
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        Tensor rm = zeros({1000}, DType::Float32), rv = ones({1000}, DType::Float32);
        outs[threads - 1] = F::batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.1, 1e-5).to_vector<float>();
        running[threads - 1] = cat({rm, rv}, 0).to_vector<float>();
    }
    set_num_threads(saved_threads);
    EXPECT_EQ(outs[0], outs[1]);
    EXPECT_EQ(running[0], running[1]);
}

TEST(BatchNorm, RunningStatsFollowTorchsFormula) {
    const double momentum = 0.3;
    nn::BatchNorm2d bn(3, {.eps = 1e-3, .momentum = momentum});
    EXPECT_TRUE(bn.has_running_stats());
    std::vector<double> rm(3, 0.0), rv(3, 1.0);
    Generator g(2);
    for (int step = 0; step < 4; ++step) {
        Tensor x = add(mul(randn({4, 3, 3, 5}, DType::Float32, &g), 1.5 + step), 0.5 * step);
        Tensor y = bn.forward(x);
        const Stats s = channel_stats(x);
        for (std::size_t c = 0; c < 3; ++c) {
            const double unbiased = s.var[c] * static_cast<double>(s.count) / static_cast<double>(s.count - 1);
            rm[c] = (1 - momentum) * rm[c] + momentum * s.mean[c];
            rv[c] = (1 - momentum) * rv[c] + momentum * unbiased;
        }
        // Training normalises with the batch's biased variance.
        expect_values(y, ref_normalize(x, s.mean, s.var, {1, 1, 1}, {0, 0, 0}, 1e-3), 2e-5);
        EXPECT_EQ(bn.num_batches_tracked.item<std::int64_t>(), step + 1);
    }
    expect_values(bn.running_mean, rm, 1e-5);
    expect_values(bn.running_var, rv, 1e-5);
    EXPECT_EQ(bn.num_batches_tracked.dtype(), DType::Int64);
    EXPECT_EQ(bn.num_batches_tracked.dim(), 0);
}

TEST(BatchNorm, NoMomentumIsCumulativeAverage) {
    nn::BatchNorm1d bn(2, {.momentum = std::nullopt});
    Generator g(3);
    std::vector<double> mean_sum(2, 0.0), var_sum(2, 0.0);
    for (int step = 1; step <= 3; ++step) {
        Tensor x = add(randn({5, 2, 4}, DType::Float32, &g), static_cast<double>(step));
        const Stats s = channel_stats(x);
        bn.forward(x);
        for (std::size_t c = 0; c < 2; ++c) {
            mean_sum[c] += s.mean[c];
            var_sum[c] += s.var[c] * static_cast<double>(s.count) / static_cast<double>(s.count - 1);
        }
    }
    expect_values(bn.running_mean, {mean_sum[0] / 3, mean_sum[1] / 3}, 1e-6);
    expect_values(bn.running_var, {var_sum[0] / 3, var_sum[1] / 3}, 1e-6);
}

TEST(BatchNorm, EvalUsesRunningStats) {
    nn::BatchNorm2d bn(2);
    {
        NoGradGuard guard;
        bn.running_mean.copy_(from_vector<float>({0.5f, -1.0f}));
        bn.running_var.copy_(from_vector<float>({4.0f, 0.25f}));
        bn.weight.copy_(from_vector<float>({2.0f, -1.0f}));
        bn.bias.copy_(from_vector<float>({0.1f, 0.2f}));
    }
    bn.eval();
    Generator g(4);
    Tensor x = randn({3, 2, 2, 3}, DType::Float32, &g);
    Tensor y = bn.forward(x);
    expect_values(y, ref_normalize(x, {0.5, -1.0}, {4.0, 0.25}, {2.0, -1.0}, {0.1, 0.2}, 1e-5), 1e-5);
    // Nothing moved.
    expect_values(bn.running_mean, {0.5, -1.0}, 0);
    expect_values(bn.running_var, {4.0, 0.25}, 0);
    EXPECT_EQ(bn.num_batches_tracked.item<std::int64_t>(), 0);
    // Back in training: batch statistics again, and the running ones move.
    bn.train();
    Tensor yt = bn.forward(x);
    EXPECT_FALSE(allclose(yt, y, 1e-3, 1e-3));
    EXPECT_EQ(bn.num_batches_tracked.item<std::int64_t>(), 1);
    EXPECT_NE(bn.running_mean.to_vector<double>()[0], 0.5);
}

TEST(BatchNorm, GradcheckTrainAndEval) {
    for (const Shape& shape : {Shape{5, 3}, Shape{3, 3, 4}, Shape{2, 3, 3, 2}}) {
        Tensor x = leaf64(shape, 1), w = leaf64({3}, 2), b = leaf64({3}, 3);
        // training, without running statistics (batch statistics only)
        EXPECT_GRADCHECK(
            [](const std::vector<Tensor>& in) {
                return F::batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true, 0.1, 1e-5);
            },
            x, w, b);
        // training with running statistics, which are updated as a side effect
        Tensor rm = zeros({3}, DType::Float64), rv = ones({3}, DType::Float64);
        EXPECT_GRADCHECK(
            [&](const std::vector<Tensor>& in) { return F::batch_norm(in[0], rm, rv, in[1], in[2], true, 0.1, 1e-5); },
            x, w, b);
        // eval: running statistics are constants
        Tensor erm = from_vector<double>({0.3, -0.2, 1.0}), erv = from_vector<double>({0.5, 2.0, 1.5});
        EXPECT_GRADCHECK(
            [&](const std::vector<Tensor>& in) {
                return F::batch_norm(in[0], erm, erv, in[1], in[2], false, 0.1, 1e-5);
            },
            x, w, b);
        // no affine parameters
        EXPECT_GRADCHECK(
            [](const std::vector<Tensor>& in) { return F::batch_norm(in[0], Tensor(), Tensor(), {}, {}, true); }, x);
    }
}

TEST(BatchNorm, Float32BackwardMatchesFloat64) {
    Generator g(5);
    Tensor x64 = randn({4, 3, 5, 3}, DType::Float64, &g), w64 = randn({3}, DType::Float64, &g);
    Tensor b64 = randn({3}, DType::Float64, &g), dy64 = randn({4, 3, 5, 3}, DType::Float64, &g);
    for (bool training : {true, false}) {
        std::vector<Tensor> grads[2];
        for (DType dt : {DType::Float64, DType::Float32}) {
            Tensor x = x64.to(dt).detach().requires_grad_(), w = w64.to(dt).detach().requires_grad_();
            Tensor b = b64.to(dt).detach().requires_grad_();
            Tensor rm = full({3}, 0.2, dt), rv = full({3}, 1.7, dt);
            F::batch_norm(x, rm, rv, w, b, training).backward(dy64.to(dt));
            grads[dt == DType::Float32] = {x.grad(), w.grad(), b.grad()};
        }
        for (std::size_t k = 0; k < 3; ++k)
            expect_values(grads[1][k], grads[0][k].to_vector<double>(), 2e-4);
    }
}

TEST(BatchNorm, OnlyNeededGradients) {
    nn::BatchNorm2d bn(3);
    bn.freeze();
    Tensor x = randn({2, 3, 4, 4}).requires_grad_();
    bn.forward(x).sum().backward();
    EXPECT_FALSE(bn.weight.grad().defined());
    EXPECT_FALSE(bn.bias.grad().defined());
    ASSERT_TRUE(x.grad().defined());
    // Σ y over a channel is constant in training (Σ x̂ = 0), so dx of the sum vanishes.
    EXPECT_LT(max(abs(x.grad())).item(), 1e-5);

    nn::BatchNorm2d bn2(3);
    Tensor x2 = randn({2, 3, 4, 4});
    bn2.forward(x2).sum().backward();
    EXPECT_TRUE(bn2.weight.grad().defined());
    expect_values(bn2.bias.grad(), {32, 32, 32}, 1e-6);  // db = Σ dy = N·H·W
}

TEST(BatchNorm, FrozenWithBatchnormEvalKeepsRunningStats) {
    manual_seed(6);
    nn::Sequential model{nn::Conv2d(3, 4, 3, {.padding = 1}), nn::BatchNorm2d(4), nn::ReLU()};
    auto bn = model.at<nn::BatchNorm2d>(1);
    Tensor x = randn({2, 3, 5, 5});
    model.train();
    model.forward(x);  // moves the running statistics once
    const std::vector<double> mean_before = bn->running_mean.to_vector<double>();
    const std::vector<double> var_before = bn->running_var.to_vector<double>();
    ASSERT_NE(mean_before[0], 0.0);

    model.freeze({.batchnorm_eval = true});
    model.train();
    EXPECT_FALSE(bn->is_training());
    Tensor y = model.forward(x);
    EXPECT_EQ(bn->running_mean.to_vector<double>(), mean_before);
    EXPECT_EQ(bn->running_var.to_vector<double>(), var_before);
    EXPECT_EQ(bn->num_batches_tracked.item<std::int64_t>(), 1);
    // Pinned in eval, the layer normalises with the running statistics.
    nn::BatchNorm2d reference(4);
    reference.load_state_dict(bn->state_dict());
    reference.eval();
    EXPECT_TRUE(allclose(y, relu(reference.forward(model.at<nn::Conv2d>(0)->forward(x))), 1e-5, 1e-6));

    // Frozen without the option, BatchNorm keeps following train(): statistics move.
    nn::BatchNorm2d free_bn(4);
    free_bn.freeze();
    free_bn.train();
    free_bn.forward(randn({2, 4, 3, 3}));
    EXPECT_EQ(free_bn.num_batches_tracked.item<std::int64_t>(), 1);
    EXPECT_NE(free_bn.running_mean.to_vector<double>()[0], 0.0);
}

TEST(BatchNorm, BuffersStateDictAndClone) {
    nn::BatchNorm2d bn(5);
    std::vector<std::string> keys;
    for (const auto& [name, t] : bn.state_dict()) keys.push_back(name);
    EXPECT_EQ(keys, (std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}));
    expect_values(bn.weight, std::vector<double>(5, 1.0), 0);
    expect_values(bn.bias, std::vector<double>(5, 0.0), 0);
    expect_values(bn.running_mean, std::vector<double>(5, 0.0), 0);
    expect_values(bn.running_var, std::vector<double>(5, 1.0), 0);
    bn.forward(randn({3, 5, 2, 2}));
    auto twin = nn::clone(bn);
    expect_values(twin->running_mean, bn.running_mean.to_vector<double>(), 0);
    EXPECT_EQ(twin->num_batches_tracked.item<std::int64_t>(), 1);
    EXPECT_FALSE(twin->running_mean.shares_storage(bn.running_mean));
    twin->reset_running_stats();
    expect_values(twin->running_mean, std::vector<double>(5, 0.0), 0);
    EXPECT_EQ(twin->num_batches_tracked.item<std::int64_t>(), 0);

    // Without tracking: no buffers, batch statistics in eval too.
    nn::BatchNorm1d untracked(3, {.affine = false, .track_running_stats = false});
    EXPECT_TRUE(untracked.state_dict().empty());
    EXPECT_TRUE(untracked.named_parameters().empty());
    untracked.eval();
    Tensor x = randn({6, 3});
    const Stats s = channel_stats(x);
    expect_values(untracked.forward(x), ref_normalize(x, s.mean, s.var, {1, 1, 1}, {0, 0, 0}, 1e-5), 2e-5);
}

namespace {

using Act = F::BatchNormActivation;

/// The unary op that batch_norm fuses as `a`.
Tensor apply_activation(Act a, const Tensor& x) {
    switch (a) {
        case Act::None: return x;
        case Act::ReLU: return relu(x);
        case Act::ReLU6: return relu6(x);
        case Act::Hardswish: return hardswish(x);
        case Act::SiLU: return silu(x);
    }
    return x;
}

constexpr Act kFusedActivations[] = {Act::ReLU, Act::ReLU6, Act::Hardswish, Act::SiLU};

}  // namespace

TEST(BatchNorm, FusedActivationGradcheck) {
    // A weight of 4 spreads the outputs over [−8, 8]: past ReLU6's bound of 6 and hardswish's ±3.
    Tensor x = leaf64({3, 2, 3, 2}, 11), b = leaf64({2}, 13);
    Tensor w = (leaf64({2}, 12) * 4.0).detach().requires_grad_();
    Tensor erm = from_vector<double>({0.3, -0.2}), erv = from_vector<double>({0.5, 2.0});
    for (Act a : kFusedActivations) {
        SCOPED_TRACE(static_cast<int>(a));
        EXPECT_GRADCHECK(
            [a](const std::vector<Tensor>& in) {
                return F::batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true, 0.1, 1e-5, a);
            },
            x, w, b);
        EXPECT_GRADCHECK(
            [&](const std::vector<Tensor>& in) {
                return F::batch_norm(in[0], erm, erv, in[1], in[2], false, 0.1, 1e-5, a);
            },
            x, w, b);
        // eval with only the input needing a gradient (a frozen BatchNorm inside a trained part)
        EXPECT_GRADCHECK(
            [&](const std::vector<Tensor>& in) {
                return F::batch_norm(in[0], erm, erv, w.detach(), b.detach(), false, 0.1, 1e-5, a);
            },
            x);
    }
}

TEST(BatchNorm, FusedActivationMatchesTheTwoOps) {
    // Rows of 42 values; 160 rows of 16 (4×4 maps: more rows than one σ block holds); rows of 300
    // (the backward's channel-by-channel activation gradient).
    for (const Shape& shape : {Shape{4, 5, 6, 7}, Shape{4, 40, 4, 4}, Shape{2, 3, 15, 20}}) {
        Generator g(21);
        const Tensor x0 = randn(shape, DType::Float32, &g) * 3.0, dy = randn(shape, DType::Float32, &g);
        const std::int64_t C = shape[1];
        const Tensor w0 = randn({C}, DType::Float32, &g) * 3.0, b0 = randn({C}, DType::Float32, &g);
        for (Act a : kFusedActivations) {
            for (bool training : {true, false}) {
                SCOPED_TRACE(shape_str(shape) + " " + std::to_string(static_cast<int>(a)) +
                             (training ? " training" : " eval"));
                std::vector<Tensor> outs, grads;
                for (bool fused : {false, true}) {
                    Tensor x = x0.detach().requires_grad_(), w = w0.detach().requires_grad_();
                    Tensor b = b0.detach().requires_grad_();
                    Tensor rm = full({C}, 0.2), rv = full({C}, 1.7);
                    Tensor y = fused ? F::batch_norm(x, rm, rv, w, b, training, 0.1, 1e-5, a)
                                     : apply_activation(a, F::batch_norm(x, rm, rv, w, b, training, 0.1, 1e-5));
                    y.backward(dy);
                    outs.push_back(y.detach());
                    grads.insert(grads.end(), {x.grad(), w.grad(), b.grad()});
                }
                // float32 SiLU's fused σ is the vector kernel's; the others compute the same bits.
                const double tol = a == Act::SiLU ? 1e-6 : 0.0;
                EXPECT_TRUE(allclose(outs[1], outs[0], tol, tol));
                for (std::size_t k = 0; k < 3; ++k)
                    EXPECT_TRUE(allclose(grads[3 + k], grads[k], 1e-5, 1e-4)) << "gradient " << k;
            }
        }
    }
}

TEST(BatchNorm, SequentialFusesTheFollowingActivation) {
    manual_seed(22);
    nn::Sequential model{nn::Conv2d(3, 4, 3, {.padding = 1, .bias = false}), nn::BatchNorm2d(4), nn::ReLU6()};
    auto twin = std::dynamic_pointer_cast<nn::Sequential>(model.clone());
    Tensor x = randn({2, 3, 5, 5}) * 4.0;
    Tensor y = model.forward(x);
    // One node for BatchNorm and ReLU6: the activation is fused, so no HardtanhBackward on top.
    ASSERT_TRUE(y.grad_fn());
    EXPECT_STREQ(y.grad_fn()->name(), "BatchNormBackward");
    y.sum().backward();
    // The same values and gradients as the layers of a copy called one by one.
    Tensor y2 = relu6((*twin)[1]->forward((*twin)[0]->forward(x)));
    EXPECT_TRUE(allclose(y2, y, 0.0, 0.0));
    y2.sum().backward();
    EXPECT_TRUE(allclose(twin->at<nn::Conv2d>(0)->weight.grad(), model.at<nn::Conv2d>(0)->weight.grad(), 1e-5, 1e-5));
    // A subclass of an activation is not fused: its forward may differ.
    struct Doubled : nn::ReLU {
        Tensor forward(const Tensor& t) override { return relu(t) * 2.0; }
    };
    nn::Sequential other{nn::BatchNorm2d(3), Doubled()};
    Tensor z = randn({2, 3, 4, 4});
    EXPECT_TRUE(allclose(other.forward(z), relu(other[0]->forward(z)) * 2.0, 1e-6, 1e-6));
}

TEST(BatchNorm, Repr) {
    EXPECT_EQ(nn::BatchNorm2d(64).repr(), "BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
    EXPECT_EQ(nn::BatchNorm1d(8, {.eps = 1e-3, .momentum = std::nullopt, .affine = false}).repr(),
              "BatchNorm1d(8, eps=0.001, momentum=None, affine=False, track_running_stats=True)");
}

TEST(BatchNorm, Errors) {
    nn::BatchNorm2d bn(4);
    EXPECT_THROW_MSG(bn.forward(randn({2, 4, 3})), ShapeError,
                     "BatchNorm2d(4): expected a 4-D [N, C, H, W] input, got shape [2, 4, 3]");
    EXPECT_THROW_MSG(bn.forward(randn({2, 3, 5, 5})), ShapeError,
                     "BatchNorm2d(4): input has 3 channels, layer expects 4 (input shape [2, 3, 5, 5])");
    EXPECT_THROW_MSG(nn::BatchNorm1d(4).forward(randn({2, 4, 3, 3})), ShapeError,
                     "BatchNorm1d(4): expected a 2-D [N, C] or 3-D [N, C, L] input");
    EXPECT_THROW_MSG(nn::BatchNorm1d(4).forward(randn({1, 4})), ValueError,
                     "batch_norm: expected more than 1 value per channel when training, got input [1, 4]");
    EXPECT_THROW_MSG(F::batch_norm(randn({3, 4}), Tensor(), Tensor()), ValueError,
                     "running_mean and running_var must be given in eval mode");
    EXPECT_THROW_MSG(F::batch_norm(randn({3, 4}), zeros({3}), ones({4}), {}, {}, true), ShapeError,
                     "batch_norm: running_mean has shape [3], expected [4] (input [3, 4])");
    EXPECT_THROW_MSG(F::batch_norm(randn({3, 4}), {}, {}, ones({4}, DType::Float64), {}, true), DTypeError,
                     "batch_norm");
    EXPECT_THROW_MSG(F::batch_norm(randn({3}), {}, {}, {}, {}, true), ShapeError,
                     "batch_norm: expected an input [N, C] or [N, C, *], got [3]");
    EXPECT_THROW_MSG(nn::BatchNorm2d(0), ValueError, "num_features must be positive");
}
