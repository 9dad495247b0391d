// graft::profiler: what a Profile records (ops, backward nodes, optimizer steps), self versus
// total time of nested events, reset, the one-Profile rule and the table.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include <graft/graft.hpp>

using namespace graft;

namespace {

std::map<std::string, profiler::OpStat> by_name(const profiler::Profile& p) {
    std::map<std::string, profiler::OpStat> m;
    for (const auto& s : p.stats()) m[s.name] = s;
    return m;
}

}  // namespace

TEST(Profiler, NothingIsRecordedWithoutAProfile) {
    { GRAFT_PROFILE_SCOPE("before"); }
    (void)relu(randn({4}));
    profiler::Profile prof;
    EXPECT_TRUE(prof.stats().empty());
    EXPECT_TRUE(profiler::recording());
}

TEST(Profiler, RecordsForwardOpsBackwardNodesAndTheOptimizer) {
    manual_seed(0);
    nn::Sequential model{nn::Linear(8, 16), nn::GELU(), nn::Linear(16, 3)};
    model.freeze("0.*");
    optim::AdamW opt(model.trainable_parameters(), {.lr = 1e-3});
    const Tensor x = randn({5, 8}), y = randint(0, 3, {5});

    profiler::Profile prof;
    for (int step = 0; step < 2; ++step) {
        opt.zero_grad();
        Tensor loss = nn::functional::cross_entropy(model.forward(x), y);
        loss.backward();
        opt.step();
    }
    const auto m = by_name(prof);
    ASSERT_TRUE(m.count("linear"));
    EXPECT_EQ(m.at("linear").calls, 4);
    EXPECT_EQ(m.at("gelu").calls, 2);
    EXPECT_EQ(m.at("cross_entropy").calls, 2);
    EXPECT_EQ(m.at("AdamW.step").calls, 2);
    EXPECT_EQ(m.at("zero_grad").calls, 2);
    // Layer 0 is frozen and x needs no gradient: its LinearBackward is never recorded, and
    // neither is gelu's (nothing before it needs a gradient).
    EXPECT_EQ(m.at("LinearBackward").calls, 2);
    EXPECT_EQ(m.count("GeluBackward"), 0u);
    EXPECT_EQ(m.at("CrossEntropyBackward").calls, 2);
    for (const auto& [name, s] : m) {
        EXPECT_GE(s.total_ms, 0.0) << name;
        EXPECT_GE(s.self_ms, -1e-9) << name;
        EXPECT_LE(s.self_ms, s.total_ms + 1e-9) << name;
    }
}

TEST(Profiler, BackwardNodesOfPointwiseOpsHaveBackwardNames) {
    const Tensor x = randn({6}).requires_grad_();
    profiler::Profile prof;
    sum(leaky_relu(gelu(x))).backward();
    const auto m = by_name(prof);
    EXPECT_EQ(m.count("GeluBackward"), 1u);
    EXPECT_EQ(m.count("LeakyReluBackward"), 1u);
    EXPECT_EQ(m.count("SumBackward"), 1u);
}

TEST(Profiler, SelfTimeIsTotalMinusNestedEvents) {
    profiler::Profile prof;
    {
        GRAFT_PROFILE_SCOPE("outer");
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        for (int i = 0; i < 3; ++i) {
            GRAFT_PROFILE_SCOPE("inner");
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    const auto m = by_name(prof);
    const auto& outer = m.at("outer");
    const auto& inner = m.at("inner");
    EXPECT_EQ(outer.calls, 1);
    EXPECT_EQ(inner.calls, 3);
    EXPECT_DOUBLE_EQ(inner.self_ms, inner.total_ms);  // nothing nested inside
    EXPECT_NEAR(outer.self_ms, outer.total_ms - inner.total_ms, 1e-9);
    EXPECT_GE(inner.total_ms, 3.0);  // sleep_for sleeps at least as long as asked
    EXPECT_GE(outer.self_ms, 2.0);
    EXPECT_NEAR(prof.self_total_ms(), outer.total_ms, 1e-9);
}

TEST(Profiler, EventsOnOtherThreadsAreRecordedWithTheirOwnNesting) {
    profiler::Profile prof;
    GRAFT_PROFILE_SCOPE("main");
    std::thread t([] {
        GRAFT_PROFILE_SCOPE("worker");
        (void)exp(randn({16}));
    });
    t.join();
    const auto m = by_name(prof);
    EXPECT_EQ(m.at("worker").calls, 1);
    EXPECT_EQ(m.at("exp").calls, 1);
    EXPECT_NEAR(m.at("worker").self_ms, m.at("worker").total_ms - m.at("exp").total_ms, 1e-9);
    EXPECT_EQ(m.count("main"), 0u);  // still open
}

TEST(Profiler, ResetForgetsAndKeepsRecording) {
    profiler::Profile prof;
    (void)relu(randn({4}));
    prof.reset();
    EXPECT_TRUE(prof.stats().empty());
    (void)tanh(randn({4}));
    const auto m = by_name(prof);
    EXPECT_EQ(m.size(), 1u);
    EXPECT_EQ(m.count("tanh"), 1u);
}

TEST(Profiler, OnlyOneProfileAtATime) {
    {
        profiler::Profile prof;
        EXPECT_THROW(profiler::Profile second, Error);
    }
    EXPECT_FALSE(profiler::recording());
    profiler::Profile again;  // the first one ended
    EXPECT_TRUE(profiler::recording());
}

TEST(Profiler, TableListsTheLargestAndSumsTheRest) {
    profiler::Profile prof;
    (void)relu(randn({4}));
    (void)exp(randn({4}));
    (void)tanh(randn({4}));
    const std::string t = prof.table(2, 2.0);
    EXPECT_NE(t.find("self ms"), std::string::npos);
    EXPECT_NE(t.find("(1 more)"), std::string::npos) << t;
    EXPECT_NE(t.find("sum of self times"), std::string::npos);
    EXPECT_NE(t.find("0.5"), std::string::npos) << t;  // one call each, per 2
    EXPECT_THROW((void)prof.table(5, 0.0), ValueError);
}
