// Post-accumulate-grad hooks and queued end-of-backward callbacks (what graft::dist's
// DistributedDataParallel starts and finishes its all-reduces from).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.hpp"

using namespace graft;

TEST(AutogradHooks, PostAccumulateHookSeesTheWholeGradientOnce) {
    auto w = ones({3}).requires_grad_();
    std::vector<float> seen;
    int calls = 0;
    autograd::add_post_accumulate_grad_hook(w, [&] {
        ++calls;
        seen.push_back(w.grad().to_vector<float>()[0]);
    });
    // w is used twice: the hook fires once, after both contributions are summed (2 + 3).
    auto loss = mul(w, 2.0).sum() + mul(w, 3.0).sum();
    loss.backward();
    EXPECT_EQ(calls, 1);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_FLOAT_EQ(seen[0], 5.0f);
    // A second backward accumulates into .grad first, then fires.
    mul(w, 1.0).sum().backward();
    EXPECT_EQ(calls, 2);
    EXPECT_FLOAT_EQ(seen[1], 6.0f);
}

TEST(AutogradHooks, RemovedHookNoLongerFires) {
    auto w = ones({2}).requires_grad_();
    int calls = 0;
    const auto id = autograd::add_post_accumulate_grad_hook(w, [&] { ++calls; });
    w.sum().backward();
    autograd::remove_post_accumulate_grad_hook(w, id);
    w.sum().backward();
    EXPECT_EQ(calls, 1);
}

TEST(AutogradHooks, HookOnNonLeafOrFrozenIsAValueError) {
    auto w = ones({2}).requires_grad_();
    auto y = mul(w, 2.0);
    EXPECT_THROW(autograd::add_post_accumulate_grad_hook(y, [] {}), ValueError);
    EXPECT_THROW(autograd::add_post_accumulate_grad_hook(ones({2}), [] {}), ValueError);
}

TEST(AutogradHooks, QueuedCallbackRunsAfterEveryNode) {
    auto a = ones({2}).requires_grad_();
    auto b = ones({2}).requires_grad_();
    std::vector<std::string> order;
    autograd::add_post_accumulate_grad_hook(a, [&] {
        order.push_back("a");
        autograd::queue_callback([&] {
            order.push_back("end");
            // By now every leaf has its gradient.
            EXPECT_TRUE(b.grad().defined());
        });
    });
    autograd::add_post_accumulate_grad_hook(b, [&] { order.push_back("b"); });
    mul(a, b).sum().backward();
    ASSERT_EQ(order.size(), 3u);
    EXPECT_EQ(order.back(), "end");
}

TEST(AutogradHooks, QueueCallbackOutsideBackwardIsAnError) {
    EXPECT_THROW(autograd::queue_callback([] {}), AutogradError);
}

TEST(AutogradHooks, ThrowingBackwardDropsQueuedCallbacks) {
    auto w = ones({2}).requires_grad_();
    int ran = 0;
    autograd::add_post_accumulate_grad_hook(w, [&] {
        autograd::queue_callback([&] { ++ran; });
        throw ValueError("hook failed");
    });
    EXPECT_THROW(w.sum().backward(), ValueError);
    EXPECT_EQ(ran, 0);
    // The next backward starts with an empty queue and no leftover scope.
    EXPECT_THROW(autograd::queue_callback([] {}), AutogradError);
}
