// train::plan_step: exact parameter, gradient and optimizer-state bytes on small models, saved
// activations as the graph holds them, checkpointing and LoRA plans, and the model left untouched.
#include <string>
#include <vector>

#include "graft/autograd/saved_memory.hpp"
#include "graft/models/gradient_checkpointing.hpp"
#include "graft/train/planner.hpp"
#include "test_util.hpp"

using namespace graft;

namespace {

/// A fixed throughput, so that the tests need no calibration and the times are reproducible.
train::Throughput fixed_throughput() { return {.gemm_gflops = 100, .attention_gflops = 50, .bandwidth_gbps = 10, .op_overhead_us = 2}; }

nn::Sequential mlp() { return nn::Sequential{nn::Linear(10, 20), nn::ReLU(), nn::Linear(20, 5)}; }

train::ExampleLoss mlp_loss(std::int64_t batch = 8) {
    Generator g(3);
    const Tensor x = randn({batch, 10}, DType::Float32, &g), y = randint(0, 5, {batch}, DType::Int64, &g);
    return [x, y](nn::Module& m) { return nn::functional::cross_entropy(m.forward(x), y); };
}

constexpr std::size_t kFirst = 10 * 20 + 20, kSecond = 20 * 5 + 5;  // parameter counts of the two layers

TEST(Planner, ParameterGradientAndAdamStateBytesAreExact) {
    auto net = mlp();
    const auto est = train::plan_step(net, mlp_loss(), {.optimizer = train::OptimizerKind::AdamW}, fixed_throughput());
    EXPECT_EQ(est.trainable_parameters, static_cast<std::int64_t>(kFirst + kSecond));
    EXPECT_EQ(est.frozen_parameters, 0);
    EXPECT_EQ(est.memory.parameters, (kFirst + kSecond) * 4);
    EXPECT_EQ(est.memory.gradients, (kFirst + kSecond) * 4);
    EXPECT_EQ(est.memory.optimizer_state, (kFirst + kSecond) * 8);
}

TEST(Planner, FreezingAndOptimizerKindChangeTheStateExactly) {
    auto net = mlp();
    const train::TrainingPlan head_only{.freeze = {"0.*"}, .optimizer = train::OptimizerKind::SGDMomentum};
    const auto est = train::plan_step(net, mlp_loss(), head_only, fixed_throughput());
    EXPECT_EQ(est.trainable_parameters, static_cast<std::int64_t>(kSecond));
    EXPECT_EQ(est.frozen_parameters, static_cast<std::int64_t>(kFirst));
    EXPECT_EQ(est.memory.parameters, (kFirst + kSecond) * 4);
    EXPECT_EQ(est.memory.gradients, kSecond * 4);
    EXPECT_EQ(est.memory.optimizer_state, kSecond * 4);
    const auto sgd = train::plan_step(net, mlp_loss(), {.freeze = {"0.*"}, .optimizer = train::OptimizerKind::SGD},
                                      fixed_throughput());
    EXPECT_EQ(sgd.memory.optimizer_state, 0u);
    const auto bf16 = train::plan_step(net, mlp_loss(), {.freeze = {"0.*"}, .bf16 = true}, fixed_throughput());
    EXPECT_EQ(bf16.memory.parameters, 10 * 20 * 2 + 20 * 4 + kSecond * 4)
        << "the frozen weight at 2 bytes; its bias and the trainable layer at 4";
}

TEST(Planner, Bf16FrozenWeightsCountTwoBytesExactly) {
    // An embedding, a linear and a LayerNorm frozen, the head trainable: with plan.bf16 the
    // embedding table and the linear weight count 2 bytes each, the bias, the norm and the head 4;
    // the same as the model once converted by to(BFloat16, {.frozen_only = true}) holds.
    nn::Sequential net{nn::Embedding(30, 12), nn::Linear(12, 16), nn::LayerNorm({16}), nn::Linear(16, 5)};
    net.freeze("0.*").freeze("1.*").freeze("2.*");
    Generator g(4);
    const Tensor ids = randint(0, 30, {3, 7}, DType::Int64, &g), y = randint(0, 5, {21}, DType::Int64, &g);
    const train::ExampleLoss loss = [ids, y](nn::Module& m) {
        return nn::functional::cross_entropy(m.forward(ids).reshape({-1, 5}), y);
    };
    const std::size_t expected = (30 * 12 + 16 * 12) * 2 + (16 + 16 + 16) * 4 + (16 * 5 + 5) * 4;
    const auto planned = train::plan_step(net, loss, {.bf16 = true}, fixed_throughput());
    EXPECT_EQ(planned.memory.parameters, expected);
    EXPECT_EQ(planned.frozen_parameters, 30 * 12 + 16 * 12 + 16 + 16 + 16);
    net.to(DType::BFloat16, {.frozen_only = true});
    std::size_t held = 0;
    for (const Tensor& p : net.parameters()) held += static_cast<std::size_t>(p.numel()) * p.element_size();
    EXPECT_EQ(held, expected);
    for (const bool bf16 : {false, true})
        EXPECT_EQ(train::plan_step(net, loss, {.bf16 = bf16}, fixed_throughput()).memory.parameters, expected);
}

TEST(Planner, SavedActivationsAreWhatTheGraphHolds) {
    // Head only: the graph keeps the ReLU output [8, 20] for the head's weight gradient, plus what
    // cross_entropy keeps; the frozen first layer keeps nothing.
    auto net = mlp();
    const auto loss_fn = mlp_loss();
    const auto est = train::plan_step(net, loss_fn, {.freeze = {"0.*"}}, fixed_throughput());
    {
        net.freeze("0.*");
        const std::size_t before = autograd::saved_tensor_bytes();
        const Tensor loss = loss_fn(net);
        std::size_t held = autograd::saved_tensor_bytes() - before;
        for (const auto& [name, p] : net.named_parameters())
            if (p.storage()->saved_refs() > 0) held -= p.storage()->nbytes();
        EXPECT_EQ(est.memory.saved_activations, held);
        EXPECT_GE(est.memory.saved_activations, std::size_t{8 * 20 * 4});
        net.unfreeze();
    }
    const auto doubled = train::plan_step(net, loss_fn, {.freeze = {"0.*"}, .batch_size = 16, .example_batch_size = 8},
                                          fixed_throughput());
    EXPECT_EQ(doubled.memory.saved_activations, 2 * est.memory.saved_activations);
}

TEST(Planner, WorkspaceIsTheLargestNodesActivationGradients) {
    // The ReLU's backward holds its incoming and outgoing gradients, [8, 20] each; the first
    // layer's weight gradient becomes its .grad (counted with the gradients), so it is not workspace.
    auto net = mlp();
    const auto est = train::plan_step(net, mlp_loss(8), {}, fixed_throughput());
    EXPECT_EQ(est.memory.workspace, std::size_t{2 * 8 * 20 * 4});
}

TEST(Planner, GemmWorkFollowsTheNeededGradients) {
    auto net = mlp();
    const std::int64_t batch = 8;
    const auto full = train::plan_step(net, mlp_loss(batch), {}, fixed_throughput());
    const auto head = train::plan_step(net, mlp_loss(batch), {.freeze = {"0.*"}}, fixed_throughput());
    const double f1 = 2.0 * batch * 10 * 20, f2 = 2.0 * batch * 20 * 5;
    // Full: both forwards, the first layer's weight gradient, the head's input and weight gradients.
    EXPECT_DOUBLE_EQ(full.work.linear_gflop * 1e9, f1 + f2 + f1 + 2 * f2);
    // Head only: both forwards and the head's weight gradient.
    EXPECT_DOUBLE_EQ(head.work.linear_gflop * 1e9, f1 + f2 + f2);
    EXPECT_EQ(full.work.gemm_gflop, 0.0);  // no matmul
    // Each shape timed: the head-only plan runs fewer products.
    EXPECT_GT(full.work.linear_ms, 0.0);
    EXPECT_LT(head.work.linear_ms, full.work.linear_ms);
    EXPECT_LT(head.step_ms, full.step_ms);
}

TEST(Planner, ThePlanStartsFromTheModelsOwnFlags) {
    auto net = mlp();
    net.freeze("0.*");
    const auto est = train::plan_step(net, mlp_loss(), {}, fixed_throughput());
    EXPECT_EQ(est.trainable_parameters, static_cast<std::int64_t>(kSecond));
    const auto more = train::plan_step(net, mlp_loss(), {.freeze = {"2.bias"}}, fixed_throughput());
    EXPECT_EQ(more.trainable_parameters, static_cast<std::int64_t>(kSecond - 5));
}

TEST(Planner, TheModelIsLeftAsItWas) {
    auto net = mlp();
    net.freeze("2.*");
    const auto before = net.named_parameters();
    const Generator::State rng = default_generator().state();
    (void)train::plan_step(net, mlp_loss(), {.freeze = {"0.*"}, .unfreeze = {"2.weight"}}, fixed_throughput());
    const auto after = net.named_parameters();
    for (std::size_t i = 0; i < before.size(); ++i) {
        EXPECT_EQ(after[i].second.requires_grad(), before[i].second.requires_grad()) << after[i].first;
        EXPECT_FALSE(after[i].second.grad().defined()) << after[i].first;
    }
    EXPECT_EQ(default_generator().state().s, rng.s);
}

TEST(Planner, BatchNormRunningStatisticsAreLeftAsTheyWere) {
    // A training-mode BatchNorm updates its running statistics on every forward; the planner's
    // traced steps must not leave theirs behind.
    nn::Sequential net{nn::Conv2d(3, 4, 3, {.padding = 1}), nn::BatchNorm2d(4), nn::ReLU(), nn::AdaptiveAvgPool2d(1),
                       nn::Flatten(), nn::Linear(4, 3)};
    Generator g(7);
    const Tensor x = randn({2, 3, 6, 6}, DType::Float32, &g) * 3.0 + 1.0, y = randint(0, 3, {2}, DType::Int64, &g);
    const train::ExampleLoss loss = [x, y](nn::Module& m) { return nn::functional::cross_entropy(m.forward(x), y); };
    std::vector<std::pair<std::string, Tensor>> before;
    for (const auto& [name, b] : net.named_buffers()) before.emplace_back(name, b.clone());
    ASSERT_FALSE(before.empty());
    (void)train::plan_step(net, loss, {}, fixed_throughput());
    const auto after = net.named_buffers();
    ASSERT_EQ(after.size(), before.size());
    for (std::size_t i = 0; i < after.size(); ++i) {
        EXPECT_EQ(after[i].first, before[i].first);
        EXPECT_TRUE(allclose(after[i].second, before[i].second, 0.0, 0.0)) << after[i].first;
    }
    // The same forward outside the planner does move them: the check above can fail.
    (void)net.forward(x);
    EXPECT_FALSE(allclose(net.named_buffers()[0].second, before[0].second, 0.0, 0.0)) << before[0].first;
}

models::GPT2Config tiny_gpt2() {
    models::GPT2Config c;
    c.vocab_size = 64;
    c.n_positions = 32;
    c.n_embd = 32;
    c.n_layer = 4;
    c.n_head = 4;
    return c;
}

TEST(Planner, CheckpointingKeepsLessAndCostsARecomputation) {
    models::GPT2LMHead model(tiny_gpt2());
    Generator g(2);
    const Tensor ids = randint(0, 64, {2, 32}, DType::Int64, &g);
    const train::ExampleLoss loss = [ids](nn::Module& m) { return models::causal_lm_loss(m.forward(ids), ids); };
    const auto plain = train::plan_step(model, loss, {}, fixed_throughput());
    const auto ckpt = train::plan_step(model, loss, {.gradient_checkpointing = true}, fixed_throughput());
    EXPECT_LT(3 * ckpt.memory.saved_activations, plain.memory.saved_activations);
    EXPECT_GT(ckpt.work.gemm_gflop, plain.work.gemm_gflop);
    EXPECT_LT(ckpt.work.gemm_gflop, 1.5 * plain.work.gemm_gflop);
    EXPECT_FALSE(models::gradient_checkpointing_enabled(model)) << "the switch is put back";
    EXPECT_THROW_MSG(train::plan_step(*std::make_shared<nn::Sequential>(mlp()), mlp_loss(),
                                      {.gradient_checkpointing = true}, fixed_throughput()),
                     ValueError, "no block stack");
}

TEST(Planner, LoraPlanTrainsOnlyTheAdaptersOfACopy) {
    models::GPT2LMHead model(tiny_gpt2());
    Generator g(2);
    const Tensor ids = randint(0, 64, {2, 16}, DType::Int64, &g);
    const train::ExampleLoss loss = [ids](nn::Module& m) { return models::causal_lm_loss(m.forward(ids), ids); };
    const auto est = train::plan_step(model, loss, {.lora = nn::LoraConfig{.r = 4, .target_modules = {"c_attn"}}},
                                      fixed_throughput());
    // c_attn maps 32 → 96: A [4, 32] and B [96, 4] per layer.
    EXPECT_EQ(est.trainable_parameters, 4 * (4 * 32 + 96 * 4));
    EXPECT_EQ(model.named_parameters().size(), models::GPT2LMHead(tiny_gpt2()).named_parameters().size())
        << "the model itself gets no adapters";
}

TEST(Planner, BadPlansAreValueErrors) {
    auto net = mlp();
    EXPECT_THROW_MSG(train::plan_step(net, mlp_loss(), {.freeze = {"*"}}, fixed_throughput()), ValueError,
                     "does not require grad");
    EXPECT_THROW_MSG(train::plan_step(net, mlp_loss(), {.freeze = {"nothing.*"}}, fixed_throughput()), ValueError,
                     "nothing.*");
    EXPECT_THROW_MSG(train::plan_step(net, mlp_loss(), {}, train::Throughput{}), ValueError, "measure");
}

TEST(Planner, TableHasARowPerPlan) {
    auto net = mlp();
    const auto a = train::plan_step(net, mlp_loss(), {.label = "full"}, fixed_throughput());
    const auto b = train::plan_step(net, mlp_loss(), {.label = "head", .freeze = {"0.*"}}, fixed_throughput());
    const std::string table = train::plan_table({a, b});
    EXPECT_NE(table.find("full"), std::string::npos);
    EXPECT_NE(table.find("head"), std::string::npos);
    EXPECT_NE(table.find("total MB"), std::string::npos);
}

}  // namespace

TEST(Planner, ConvolutionsAreTimedPerShapeAndFollowTheNeededGradients) {
    // A stem convolution and a head: each conv shape is run and timed on this machine.
    nn::Sequential net{nn::Conv2d(3, 8, 3, {.stride = 2, .padding = 1}), nn::ReLU(), nn::Conv2d(8, 8, 3, {.padding = 1}),
                       nn::AdaptiveAvgPool2d(1), nn::Flatten(), nn::Linear(8, 4)};
    Generator g(5);
    const Tensor x = randn({2, 3, 12, 12}, DType::Float32, &g), y = randint(0, 4, {2}, DType::Int64, &g);
    const train::ExampleLoss loss = [x, y](nn::Module& m) { return nn::functional::cross_entropy(m.forward(x), y); };
    const auto full = train::plan_step(net, loss, {}, fixed_throughput());
    const auto head = train::plan_step(net, loss, {.freeze = {"0.*", "2.*"}}, fixed_throughput());
    // FLOP: conv 1 is [2,8,6,6] from 3·3·3 per output, conv 2 [2,8,6,6] from 8·3·3.
    const double c1 = 2.0 * 2 * 8 * 6 * 6 * 27, c2 = 2.0 * 2 * 8 * 6 * 6 * 72;
    // Full: both forwards, conv 1's weight gradient (its input needs none), conv 2's two.
    EXPECT_DOUBLE_EQ(full.work.conv_gflop * 1e9, c1 + c2 + c1 + 2 * c2);
    // Frozen convolutions: their forwards only, and no conv FLOP in the GEMM count.
    EXPECT_DOUBLE_EQ(head.work.conv_gflop * 1e9, c1 + c2);
    EXPECT_DOUBLE_EQ(head.work.linear_gflop * 1e9, 2.0 * 2 * 8 * 4 * 2);  // the head's forward and weight gradient
    EXPECT_GT(head.work.conv_ms, 0.0);
    EXPECT_GT(full.work.conv_ms, head.work.conv_ms) << "the backward convolutions take time too";
    EXPECT_GE(full.step_ms, full.work.conv_ms);
}


namespace {

/// Layers whose activations and gradients take several of the memory cache's size classes (all
/// from 128 KiB), so that what the cache keeps after a step exceeds what the step held at once.
nn::Sequential wide_mlp() {
    return nn::Sequential{nn::Linear(64, 600), nn::ReLU(), nn::Linear(600, 300), nn::ReLU(), nn::Linear(300, 7)};
}

train::ExampleLoss wide_mlp_loss() {
    Generator g(5);
    const Tensor x = randn({128, 64}, DType::Float32, &g), y = randint(0, 7, {128}, DType::Int64, &g);
    return [x, y](nn::Module& m) { return nn::functional::cross_entropy(m.forward(x), y); };
}

}  // namespace

TEST(Planner, StepBuffersAreWhatOneStepFromAnEmptyCacheTakes) {
    for (const int threads : {1, 2}) {
        const int was = graft::get_num_threads();
        graft::set_num_threads(threads);
        auto net = wide_mlp();
        const train::ExampleLoss loss = wide_mlp_loss();
        const auto est = train::plan_step(net, loss, {}, fixed_throughput());
        // The same step by hand: forward and backward from an empty cache.
        release_cached_memory();
        reset_peak_allocated_memory();
        loss(net).backward();
        const AllocatedMemory held = allocated_memory();
        const std::size_t cached = memory_cache_stats().cached_bytes;
        const std::size_t expected = std::max(held.peak_bytes - held.in_use_bytes, cached);
        EXPECT_EQ(est.memory.step_buffers, expected) << threads << " threads";
        EXPECT_GT(cached, held.peak_bytes - held.in_use_bytes) << "several size classes: the cache keeps more than was live";
        EXPECT_EQ(est.memory.total(), est.memory.parameters + est.memory.gradients + est.memory.optimizer_state + expected);
        // To a larger batch: the modelled parts' growth added, the measured excess over them once.
        const std::size_t modelled = est.memory.saved_activations + est.memory.workspace + est.memory.forward_transients;
        const auto twice = train::plan_step(net, loss, {.batch_size = 2, .example_batch_size = 1}, fixed_throughput());
        EXPECT_NEAR(static_cast<double>(twice.memory.step_buffers), static_cast<double>(expected + modelled), 2.0);
        graft::set_num_threads(was);
    }
}

TEST(Planner, StepBuffersLeaveTheGradientsAsTheyWere) {
    auto net = wide_mlp();
    std::vector<Tensor> params = net.parameters();
    const Tensor g = full(params[0].shape(), 0.5);
    params[0].set_grad(g);
    (void)train::plan_step(net, wide_mlp_loss(), {}, fixed_throughput());
    ASSERT_TRUE(params[0].grad().defined());
    EXPECT_EQ(params[0].grad().impl_ptr(), g.impl_ptr());
    for (std::size_t i = 1; i < params.size(); ++i) EXPECT_FALSE(params[i].grad().defined()) << "parameter " << i;
}

TEST(Planner, WithoutTheMeasuredStepBuffersTheTotalIsTheModelledParts) {
    train::MemoryEstimate m{.parameters = 1, .gradients = 2, .optimizer_state = 4, .saved_activations = 8, .workspace = 16,
                            .forward_transients = 32};
    EXPECT_EQ(m.total(), 63u);
    m.step_buffers = 100;
    EXPECT_EQ(m.total(), 107u);
}
