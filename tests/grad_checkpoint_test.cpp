// autograd::checkpoint and nn::checkpoint_sequential: outputs and every gradient equal the direct
// run bit for bit (dropout on), frozen parameters, inputs without grad, nesting, second backward,
// the kept input protected from in-place writes, gradcheck, and the saved memory a segment keeps.
#include <cstdint>
#include <string>
#include <vector>

#include "graft/autocast.hpp"
#include "graft/autograd/checkpoint.hpp"
#include "graft/autograd/saved_memory.hpp"
#include "graft/nn/checkpoint.hpp"
#include "same_bits.hpp"
#include "test_util.hpp"

using namespace graft;
using graft::test::expect_same_bits;
using graft::test::leaf64;

namespace {

/// Linear → GELU → Dropout → Linear → Dropout, in training mode, seeded.
nn::Sequential make_net(std::uint64_t seed = 3) {
    manual_seed(seed);
    nn::Sequential net{nn::Linear(8, 16), nn::GELU(), nn::Dropout(0.3), nn::Linear(16, 8), nn::Dropout(0.2)};
    net.train();
    return net;
}

Tensor input(bool requires_grad) {
    Generator g(11);
    Tensor x = randn({5, 8}, DType::Float32, &g);
    if (requires_grad) x.requires_grad_();
    return x;
}

Tensor loss_of(const Tensor& y) { return sum(mul(y, y)); }

struct StepResult {
    Tensor out;
    std::vector<Tensor> grads;  // the parameters' .grad, in named_parameters order
    Tensor input_grad;
    double next_draw = 0;       // the default generator's next number after the step
};

/// One forward/backward of `forward` on net with the default generator seeded to 77.
template <class Forward>
StepResult step(nn::Sequential& net, const Tensor& x, Forward&& forward) {
    manual_seed(77);
    StepResult r;
    r.out = forward(x);
    loss_of(r.out).backward();
    for (auto& [name, p] : net.named_parameters()) r.grads.push_back(p.grad());
    r.input_grad = x.grad();
    r.next_draw = default_generator().uniform();
    return r;
}

void expect_same_run(const StepResult& a, const StepResult& b, nn::Sequential& net) {
    expect_same_bits(a.out, b.out, "output");
    const auto named = net.named_parameters();
    for (std::size_t i = 0; i < named.size(); ++i) {
        if (!a.grads[i].defined()) {
            EXPECT_FALSE(b.grads[i].defined()) << named[i].first;
            continue;
        }
        expect_same_bits(a.grads[i], b.grads[i], named[i].first + ".grad");
    }
    EXPECT_EQ(a.input_grad.defined(), b.input_grad.defined());
    if (a.input_grad.defined()) expect_same_bits(a.input_grad, b.input_grad, "input grad");
    EXPECT_EQ(a.next_draw, b.next_draw) << "the replay must leave the default generator where the direct run does";
}

TEST(GradCheckpoint, EqualsTheDirectRunBitForBitWithDropout) {
    auto direct_net = make_net(), ckpt_net = make_net();
    const Tensor x1 = input(true), x2 = input(true);
    const StepResult direct = step(direct_net, x1, [&](const Tensor& x) { return direct_net.forward(x); });
    const StepResult ckpt = step(ckpt_net, x2, [&](const Tensor& x) {
        return autograd::checkpoint([&](const Tensor& h) { return ckpt_net.forward(h); }, x);
    });
    EXPECT_EQ(ckpt.out.grad_fn()->name(), std::string("CheckpointBackward"));
    expect_same_run(direct, ckpt, direct_net);
}

TEST(GradCheckpoint, RecomputesUnderTheAutocastOfItsForward) {
    // The forward runs under bf16 autocast, the backward after the scope has closed: the recompute
    // and its backward must run in bf16 as the direct run's nodes do, or the gradients differ.
    auto direct_net = make_net(), ckpt_net = make_net();
    const Tensor x1 = input(true), x2 = input(true);
    auto under_bf16 = [](auto&& f) {
        return [f](const Tensor& x) {
            const AutocastGuard autocast(DType::BFloat16);
            return f(x);
        };
    };
    const StepResult direct = step(direct_net, x1, under_bf16([&](const Tensor& x) { return direct_net.forward(x); }));
    const StepResult ckpt = step(ckpt_net, x2, under_bf16([&](const Tensor& x) {
        return autograd::checkpoint([&](const Tensor& h) { return ckpt_net.forward(h); }, x);
    }));
    expect_same_run(direct, ckpt, direct_net);
    auto fp32_net = make_net();
    const Tensor x3 = input(true);
    const StepResult fp32 = step(fp32_net, x3, [&](const Tensor& x) { return fp32_net.forward(x); });
    EXPECT_NE(fp32.grads[0].to_vector<float>(), ckpt.grads[0].to_vector<float>()) << "the bf16 run must differ from the fp32 one";
}

TEST(GradCheckpoint, ReplaysAGeneratorPassedIn) {
    auto run = [](bool checkpointed) {
        Generator g(5);
        Tensor w = ones({6, 6}).requires_grad_();
        auto fn = [&](const std::vector<Tensor>& in) { return dropout(matmul(in[0], w), 0.5, true, &g); };
        Tensor x = input(true).narrow(1, 0, 6).detach().requires_grad_();
        Tensor y = checkpointed ? autograd::checkpoint(fn, {x}, {.generators = {&g}}) : fn({x});
        loss_of(y).backward();
        return std::vector<Tensor>{y, w.grad(), x.grad(), full({1}, g.uniform())};
    };
    const auto direct = run(false), ckpt = run(true);
    expect_same_bits(direct[0], ckpt[0], "output");
    expect_same_bits(direct[1], ckpt[1], "w.grad");
    expect_same_bits(direct[2], ckpt[2], "x.grad");
    expect_same_bits(direct[3], ckpt[3], "the generator's next draw");
}

TEST(GradCheckpoint, SequentialSegmentsEqualTheDirectRun) {
    for (std::int64_t segments : {1, 2, 3, 5}) {
        auto direct_net = make_net(), ckpt_net = make_net();
        const Tensor x1 = input(true), x2 = input(true);
        const StepResult direct = step(direct_net, x1, [&](const Tensor& x) { return direct_net.forward(x); });
        const StepResult ckpt = step(ckpt_net, x2, [&](const Tensor& x) { return nn::checkpoint_sequential(ckpt_net, segments, x); });
        SCOPED_TRACE("segments " + std::to_string(segments));
        expect_same_run(direct, ckpt, direct_net);
    }
}

TEST(GradCheckpoint, FrozenParametersInsideGetNoGradient) {
    auto direct_net = make_net(), ckpt_net = make_net();
    direct_net.freeze("0.*");
    ckpt_net.freeze("0.*");
    const Tensor x1 = input(true), x2 = input(true);
    const StepResult direct = step(direct_net, x1, [&](const Tensor& x) { return direct_net.forward(x); });
    const StepResult ckpt = step(ckpt_net, x2, [&](const Tensor& x) { return nn::checkpoint_sequential(ckpt_net, 2, x); });
    EXPECT_FALSE(ckpt_net.named_parameters()[0].second.grad().defined());
    EXPECT_FALSE(ckpt_net.named_parameters()[1].second.grad().defined());
    EXPECT_TRUE(ckpt_net.named_parameters()[2].second.grad().defined());
    expect_same_run(direct, ckpt, direct_net);
}

TEST(GradCheckpoint, InputThatDoesNotRequireGradStillTrainsTheParametersInside) {
    auto direct_net = make_net(), ckpt_net = make_net();
    const Tensor x1 = input(false), x2 = input(false);
    const StepResult direct = step(direct_net, x1, [&](const Tensor& x) { return direct_net.forward(x); });
    const StepResult ckpt = step(ckpt_net, x2, [&](const Tensor& x) {
        return autograd::checkpoint([&](const Tensor& h) { return ckpt_net.forward(h); }, x);
    });
    EXPECT_FALSE(ckpt.input_grad.defined());
    expect_same_run(direct, ckpt, direct_net);
}

TEST(GradCheckpoint, AllFrozenSegmentWithoutGradInputRecordsNothing) {
    auto net = make_net();
    net.freeze();
    const Tensor y = autograd::checkpoint([&](const Tensor& h) { return net.forward(h); }, input(false));
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
}

TEST(GradCheckpoint, NestedCheckpointsEqualTheDirectRun) {
    auto direct_net = make_net(), ckpt_net = make_net();
    const Tensor x1 = input(true), x2 = input(true);
    const StepResult direct = step(direct_net, x1, [&](const Tensor& x) { return direct_net.forward(x); });
    const StepResult ckpt = step(ckpt_net, x2, [&](const Tensor& x) {
        return autograd::checkpoint(
            [&](const Tensor& h) {
                const Tensor inner = autograd::checkpoint(
                    [&](const Tensor& a) { return ckpt_net[2]->forward(ckpt_net[1]->forward(ckpt_net[0]->forward(a))); },
                    h);
                return ckpt_net[4]->forward(ckpt_net[3]->forward(inner));
            },
            x);
    });
    expect_same_run(direct, ckpt, direct_net);
}

TEST(GradCheckpoint, SecondBackwardIsAClearError) {
    auto net = make_net();
    const Tensor x = input(true);
    const Tensor loss = loss_of(autograd::checkpoint([&](const Tensor& h) { return net.forward(h); }, x));
    loss.backward();
    EXPECT_THROW_MSG(loss.backward(), AutogradError, "second time");
}

TEST(GradCheckpoint, RetainGraphAllowsASecondBackwardThatRecomputesAgain) {
    auto net = make_net();
    const Tensor x = input(true);
    const Tensor loss = loss_of(autograd::checkpoint([&](const Tensor& h) { return net.forward(h); }, x));
    loss.backward(Tensor(), /*retain_graph=*/true);
    const auto once = x.grad().to_vector<float>();
    loss.backward();
    const auto twice = x.grad().to_vector<float>();
    for (std::size_t i = 0; i < once.size(); ++i) EXPECT_EQ(twice[i], once[i] + once[i]) << i;
}

TEST(GradCheckpoint, TheKeptInputCannotBeModifiedInPlaceBeforeTheBackward) {
    Tensor w = ones({8, 8}).requires_grad_();
    Tensor x = input(false).add(0.0);
    const Tensor loss = loss_of(autograd::checkpoint([&](const Tensor& h) { return matmul(h, w); }, x));
    EXPECT_THROW_MSG(x.mul_(2.0), Error, "saved for a backward");
    loss.backward();
    EXPECT_TRUE(w.grad().defined());
}

TEST(GradCheckpoint, GradcheckThroughACheckpointedFunction) {
    const Tensor a = leaf64({3, 4}, 1), b = leaf64({4, 5}, 2), c = leaf64({3, 5}, 3);
    auto fn = [](const std::vector<Tensor>& in) {
        return autograd::checkpoint(
            [](const Tensor& p, const Tensor& q, const Tensor& r) { return mul(tanh(matmul(p, q)), r); }, in[0], in[1],
            in[2]);
    };
    EXPECT_GRADCHECK(fn, a, b, c);
}

TEST(GradCheckpoint, UnderNoGradItIsThePlainCall) {
    auto net = make_net();
    const NoGradGuard no_grad;
    const Tensor y = autograd::checkpoint([&](const Tensor& h) { return net.forward(h); }, input(true));
    EXPECT_FALSE(y.requires_grad());
}

TEST(GradCheckpoint, TheSegmentKeepsOnlyItsInputForTheBackward) {
    auto net = make_net();
    const Tensor x = input(true);
    const std::size_t before = autograd::saved_tensor_bytes();
    Tensor direct = net.forward(x);
    const std::size_t direct_bytes = autograd::saved_tensor_bytes() - before;
    direct = Tensor();
    EXPECT_EQ(autograd::saved_tensor_bytes(), before) << "a freed graph holds nothing";
    const Tensor ckpt = autograd::checkpoint([&](const Tensor& h) { return net.forward(h); }, x);
    const std::size_t ckpt_bytes = autograd::saved_tensor_bytes() - before;
    EXPECT_EQ(ckpt_bytes, static_cast<std::size_t>(x.numel()) * sizeof(float));
    EXPECT_GT(direct_bytes, 4 * ckpt_bytes);
}

TEST(GradCheckpoint, BadArgumentsAreValueErrors) {
    auto net = make_net();
    EXPECT_THROW_MSG(nn::checkpoint_sequential(net, 0, input(true)), ValueError, "0 segments");
    EXPECT_THROW_MSG(nn::checkpoint_sequential(net, 6, input(true)), ValueError, "Sequential of 5 children");
    EXPECT_THROW_MSG(autograd::checkpoint([](const std::vector<Tensor>& in) { return in[0]; }, {input(true)},
                                          {.generators = {nullptr}}),
                     ValueError, "generator 0");
}

}  // namespace
