// The engine: graphs, accumulation, NoGradGuard, freezing, retain_graph and every error.
#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;

namespace {

TEST(Autograd, DiamondGraphSumsBothPaths) {
    // y = x·x + 3x: the leaf is used three times; dy/dx = 2x + 3.
    Tensor x = from_vector<double>({1, -2, 0.5}).requires_grad_();
    Tensor a = mul(x, x);
    Tensor y = add(a, mul(x, 3.0));
    y.sum().backward();
    EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{5, -1, 4}));
}

TEST(Autograd, SharedIntermediateDiamond) {
    // h = exp(x); y = h·h + h  ⇒  dy/dx = (2h + 1)·h
    Tensor x = from_vector<double>({0.0, 1.0}).requires_grad_();
    Tensor h = exp(x);
    add(mul(h, h), h).sum().backward();
    std::vector<double> hv = h.to_vector<double>();
    std::vector<double> g = x.grad().to_vector<double>();
    for (int i = 0; i < 2; ++i) EXPECT_NEAR(g[i], (2 * hv[i] + 1) * hv[i], 1e-12);
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
    Tensor x = from_vector<double>({1, 2}).requires_grad_();
    mul(x, 2.0).sum().backward();
    mul(x, 5.0).sum().backward();
    EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{7, 7}));
    x.set_grad(Tensor());
    EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, GradsOfTwoLeavesDoNotAlias) {
    // AddBackward hands the same tensor to both inputs; their .grad must still be independent.
    Tensor a = from_vector<double>({1}).requires_grad_();
    Tensor b = from_vector<double>({2}).requires_grad_();
    add(a, b).sum().backward();
    a.grad().fill_(10);
    EXPECT_EQ(b.grad().item(), 1.0);
}

TEST(Autograd, Float32GradsOfTwoLeavesDoNotAliasWhenTheEngineReusesBuffers) {
    // The float32 gradient is a full contiguous tensor here, so the engine may hand it to a
    // leaf's .grad without a copy; both leaves must still get independent gradients.
    manual_seed(1);
    Tensor a = randn({1000}).requires_grad_();
    Tensor b = randn({1000}).requires_grad_();
    const Tensor w = randn({1000});
    sum(mul(add(a, b), w)).backward();
    EXPECT_TRUE(allclose(a.grad(), w));
    EXPECT_FALSE(a.grad().shares_storage(b.grad()));
    a.grad().fill_(10);
    EXPECT_TRUE(allclose(b.grad(), w));
}

TEST(Autograd, Float32AccumulationNeverWritesIntoTheCallersGradientOrSavedTensors) {
    // x feeds three branches, so its gradients are summed in the engine's buffer; the root's
    // gradient comes from the caller and must come back unchanged, as must a saved input.
    manual_seed(2);
    Tensor x = randn({257}).requires_grad_();
    Tensor w = randn({257});
    Tensor y = add(add(mul(x, w), mul(x, 3.0)), x.reshape({257}));
    const Tensor g = randn({257});
    const std::vector<float> g_before = g.to_vector<float>(), w_before = w.to_vector<float>();
    y.backward(g);
    EXPECT_EQ(g.to_vector<float>(), g_before);
    EXPECT_EQ(w.to_vector<float>(), w_before);
    const std::vector<float> gx = x.grad().to_vector<float>();
    for (std::size_t i = 0; i < gx.size(); ++i)
        EXPECT_NEAR(gx[i], g_before[i] * (w_before[i] + 3.0f + 1.0f), 1e-5f) << i;
    EXPECT_FALSE(x.grad().shares_storage(g));
}

TEST(Autograd, LeafGradOfAViewOfTheRootIsACopy) {
    Tensor x = randn({4, 3}).requires_grad_();
    const Tensor g = ones({12});
    x.reshape({12}).backward(g);
    x.grad().fill_(5);
    EXPECT_EQ(g.to_vector<float>(), std::vector<float>(12, 1.0f));
}

TEST(Autograd, NoGradGuardRecordsNothing) {
    Tensor x = leaf64({3});
    Tensor y;
    {
        NoGradGuard guard;
        EXPECT_FALSE(GradMode::is_enabled());
        y = mul(x, 2.0);
        {
            EnableGradGuard enable;
            EXPECT_TRUE(mul(x, 2.0).requires_grad());
        }
    }
    EXPECT_TRUE(GradMode::is_enabled());
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
    EXPECT_THROW_MSG(y.sum().backward(), AutogradError, "does not require grad");
}

TEST(Autograd, FrozenLeafGetsNoGradAndNoWork) {
    Tensor w_frozen = leaf64({3}, 1);
    w_frozen.requires_grad_(false);
    Tensor w = leaf64({3}, 2);
    Tensor x = leaf64({3}, 3).detach();
    Tensor y = mul(mul(x, w_frozen), w);
    // The node for x·w_frozen was never recorded: nothing upstream needs a gradient.
    auto node = y.grad_fn();
    ASSERT_NE(node, nullptr);
    EXPECT_FALSE(node->needs_input_grad(0));
    EXPECT_TRUE(node->needs_input_grad(1));
    y.sum().backward();
    EXPECT_FALSE(w_frozen.grad().defined());
    EXPECT_TRUE(w.grad().defined());
}

TEST(Autograd, BackwardWithSuppliedGradient) {
    Tensor x = from_vector<double>({1, 2, 3}).requires_grad_();
    Tensor y = mul(x, x);
    y.backward(from_vector<double>({1, 0, -1}));
    EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 0, -6}));
}

TEST(Autograd, NonScalarBackwardNeedsGradient) {
    Tensor y = mul(leaf64({2, 3}), 2.0);
    EXPECT_THROW_MSG(y.backward(), AutogradError, "one-element outputs");
    EXPECT_THROW_MSG(y.backward(zeros({3, 2}, DType::Float64)), ShapeError, "[3, 2]");
    EXPECT_THROW_MSG(y.backward(zeros({2, 3}, DType::Float32)), DTypeError, "float32");
}

TEST(Autograd, SecondBackwardThroughFreedGraphFails) {
    Tensor x = leaf64({3});
    Tensor loss = exp(x).sum();
    loss.backward();
    EXPECT_THROW_MSG(loss.backward(), AutogradError, "second time");
}

TEST(Autograd, RetainGraphAllowsASecondBackward) {
    Tensor x = from_vector<double>({0.0}).requires_grad_();
    Tensor loss = exp(x).sum();
    loss.backward(Tensor(), /*retain_graph=*/true);
    loss.backward();
    EXPECT_EQ(x.grad().item(), 2.0);
}

TEST(Autograd, BackwardFromNonGradTensorFails) {
    EXPECT_THROW_MSG(zeros({1}).backward(), AutogradError, "does not require grad");
}

TEST(Autograd, RequiresGradOnlyForFloatLeaves) {
    EXPECT_THROW_MSG(zeros({2}, DType::Int64).requires_grad_(), DTypeError, "floating-point");
    Tensor y = mul(leaf64({2}), 2.0);
    EXPECT_THROW_MSG(y.requires_grad_(false), AutogradError, "leaf");
}

TEST(Autograd, RetainGradKeepsIntermediateGradient) {
    Tensor x = from_vector<double>({1, 2}).requires_grad_();
    Tensor h = mul(x, 3.0);
    h.retain_grad();
    mul(h, h).sum().backward();
    EXPECT_EQ(h.grad().to_vector<double>(), (std::vector<double>{6, 12}));
    EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{18, 36}));
}

TEST(Autograd, GraphIsFreedAfterBackward) {
    Tensor x = leaf64({4});
    Tensor y = exp(x);
    const auto storage = y.storage();
    EXPECT_EQ(storage->saved_refs(), 1);  // exp saves its output
    y.sum().backward();
    EXPECT_EQ(storage->saved_refs(), 0);
}

TEST(Autograd, GraphFreedWhenOutputDropped) {
    Tensor x = leaf64({4});
    std::shared_ptr<Storage> storage;
    {
        Tensor y = exp(x);
        storage = y.storage();
        EXPECT_EQ(storage->saved_refs(), 1);
    }
    EXPECT_EQ(storage->saved_refs(), 0);
}

// ---- in-place rules ---------------------------------------------------------------

TEST(AutogradInPlace, LeafRequiringGradCannotBeModifiedWhileRecording) {
    Tensor w = leaf64({3});
    EXPECT_THROW_MSG(w.add_(1.0), AutogradError, "leaf tensor that requires grad");
    EXPECT_THROW_MSG(w.zero_(), AutogradError, "leaf");
    EXPECT_THROW_MSG(w.copy_(zeros({3}, DType::Float64)), AutogradError, "leaf");
    EXPECT_THROW_MSG(w.mul_(2.0), AutogradError, "leaf");
    NoGradGuard guard;  // as an optimizer step does
    w.fill_(1.0).mul_(3.0).add_(ones({3}, DType::Float64), 0.5).sub_(ones({3}, DType::Float64));
    EXPECT_EQ(w.to_vector<double>(), (std::vector<double>{2.5, 2.5, 2.5}));
}

TEST(AutogradInPlace, SavedTensorCannotBeModifiedWhileRecording) {
    Tensor x = leaf64({3});
    Tensor y = exp(x);  // saves y
    EXPECT_THROW_MSG(y.add_(1.0), AutogradError, "saved for a backward");
    Tensor z = x.detach().clone();
    Tensor p = mul(x, z);  // saves z for x's gradient
    EXPECT_THROW_MSG(z.mul_(2.0), AutogradError, "saved for a backward");
    (void)p;
}

TEST(AutogradInPlace, ModificationUnderNoGradIsCaughtAtBackward) {
    Tensor x = leaf64({3});
    Tensor y = exp(x);
    {
        NoGradGuard guard;
        y.add_(1.0);
    }
    EXPECT_THROW_MSG(y.sum().backward(), AutogradError, "modified by an in-place operation");
}

TEST(AutogradInPlace, InPlaceOnNonLeafRebasesHistory) {
    // y = 2x; y += x·x (in place); dy/dx = 2 + 2x
    Tensor x = from_vector<double>({1, 3}).requires_grad_();
    Tensor y = mul(x, 2.0);
    y.add_(mul(x, x));
    EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{3, 15}));
    y.mul_(2.0);
    y.sum().backward();
    EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{8, 16}));
}

TEST(AutogradInPlace, InPlaceOnViewWithHistoryIsRefused) {
    Tensor x = leaf64({4});
    Tensor y = mul(x, 1.0);
    Tensor v = y.slice(0, 0, 2);
    EXPECT_THROW_MSG(v.add_(1.0), AutogradError, "view");
}

TEST(AutogradInPlace, CopyIntoBufferRecordsGradient) {
    Tensor src = from_vector<double>({1, 2}).requires_grad_();
    Tensor buf = zeros({2, 2}, DType::Float64);
    buf.copy_(src);  // broadcast over rows
    mul(buf, 3.0).sum().backward();
    EXPECT_EQ(src.grad().to_vector<double>(), (std::vector<double>{6, 6}));
}

TEST(AutogradInPlace, InPlaceBumpsVersion) {
    Tensor t = zeros({2});
    const auto v0 = t.storage()->version();
    t.add_(1.0);
    t.zero_();
    EXPECT_EQ(t.storage()->version(), v0 + 2);
    EXPECT_THROW_MSG(t.add_(zeros({3})), ShapeError, "[3]");
}

// A user-defined op whose backward is deliberately wrong (missing the factor 2 of d(x²)/dx).
struct WrongSquareBackward final : Node {
    const char* name() const override { return "WrongSquareBackward"; }
    std::vector<Tensor> apply(const Tensor& g) override { return {mul(g, x.unpack(name()))}; }
    void release_saved() override { x.release(); }
    SavedTensor x;
};

Tensor wrong_square(const Tensor& x) {
    Tensor out;
    {
        NoGradGuard guard;
        out = mul(x, x);
    }
    if (auto node = autograd::make_node<WrongSquareBackward>({&x}, out)) node->x = SavedTensor(x);
    return out;
}

TEST(Autograd, GradcheckDetectsAWrongGradient) {
    Tensor x = leaf64({5});
    auto r = graft::testing::gradcheck([](const std::vector<Tensor>& v) { return wrong_square(v[0]); }, {x});
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.message.find("input 0 [5]"), std::string::npos) << r.message;
    EXPECT_GT(r.max_abs_error, 1e-3);
}

TEST(Autograd, CustomNodeEngineChecksGradientShape) {
    struct BadShapeBackward final : Node {
        const char* name() const override { return "BadShapeBackward"; }
        std::vector<Tensor> apply(const Tensor& g) override { return {g.sum()}; }
    };
    Tensor x = leaf64({3});
    Tensor out = mul(x.detach(), 1.0);
    autograd::make_node<BadShapeBackward>({&x}, out);
    EXPECT_THROW_MSG(out.sum().backward(), AutogradError, "BadShapeBackward: backward produced a gradient of shape []");
}

}  // namespace
