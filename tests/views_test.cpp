// Views share storage; reshape copies only when it must; every view op is differentiable.
#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;
using graft::test::leaf64_transposed;

namespace {

Tensor iota(const Shape& shape) { return arange(static_cast<double>(shape_numel(shape)), DType::Float64).reshape(shape); }

TEST(Views, ViewSharesStorageAndInfersMinusOne) {
    Tensor t = iota({2, 3, 4});
    Tensor v = t.view({6, -1});
    EXPECT_EQ(v.shape(), (Shape{6, 4}));
    EXPECT_TRUE(v.shares_storage(t));
    v.select(0, 0).fill_(-1);
    EXPECT_EQ(t.select(0, 0).select(0, 0).to_vector<double>(), (std::vector<double>(4, -1)));
    EXPECT_THROW_MSG(t.view({5, -1}), ShapeError, "invalid for input of shape [2, 3, 4]");
    EXPECT_THROW_MSG(t.view({-1, -1}), ShapeError, "only one dimension");
}

TEST(Views, ViewOfTransposeFailsButReshapeCopies) {
    Tensor t = iota({3, 4}).t();
    EXPECT_FALSE(t.is_contiguous());
    EXPECT_THROW_MSG(t.view({12}), ShapeError, "reshape");
    Tensor r = t.reshape({12});
    EXPECT_FALSE(r.shares_storage(t));
    EXPECT_EQ(r.to_vector<double>(), (std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
    // A reshape that only splits a dimension of a non-contiguous tensor is still a view.
    Tensor s = iota({4, 6}).slice(1, 0, 6, 2);  // [4, 3], strides [6, 2]
    Tensor u = s.reshape({2, 2, 3});
    EXPECT_TRUE(u.shares_storage(s));
    EXPECT_EQ(u.to_vector<double>(), s.contiguous().to_vector<double>());
}

TEST(Views, TransposePermuteStrides) {
    Tensor t = iota({2, 3, 4});
    Tensor p = t.permute({2, 0, 1});
    EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
    EXPECT_EQ(p.strides(), (Shape{1, 12, 4}));
    EXPECT_TRUE(p.shares_storage(t));
    EXPECT_EQ(t.transpose(0, -1).shape(), (Shape{4, 3, 2}));
    EXPECT_EQ(iota({5}).t().shape(), (Shape{5}));
    EXPECT_THROW_MSG(t.t(), ShapeError, "at most 2");
    EXPECT_THROW_MSG(t.permute({0, 0, 1}), ShapeError, "repeated");
    EXPECT_THROW_MSG(t.permute({0, 1}), ShapeError, "3-d");
    EXPECT_THROW_MSG(t.transpose(0, 3), IndexError, "out of range");
}

TEST(Views, SliceNarrowSelect) {
    Tensor t = iota({4, 5});
    EXPECT_EQ(t.slice(1, 1, 5, 2).to_vector<double>(), (std::vector<double>{1, 3, 6, 8, 11, 13, 16, 18}));
    EXPECT_EQ(t.slice(0, -2, 100).shape(), (Shape{2, 5}));  // bounds clamp like Python
    EXPECT_EQ(t.narrow(1, 2, 2).to_vector<double>(), (std::vector<double>{2, 3, 7, 8, 12, 13, 17, 18}));
    EXPECT_EQ(t.select(1, -1).to_vector<double>(), (std::vector<double>{4, 9, 14, 19}));
    EXPECT_THROW_MSG(t.narrow(0, 3, 2), IndexError, "out of bounds");
    EXPECT_THROW_MSG(t.select(0, 4), IndexError, "index 4 out of range");
    EXPECT_THROW_MSG(t.slice(0, 0, 2, 0), ValueError, "step");
}

TEST(Views, SqueezeUnsqueezeExpandFlatten) {
    Tensor t = iota({3, 1, 2});
    EXPECT_EQ(t.squeeze().shape(), (Shape{3, 2}));
    EXPECT_EQ(t.squeeze(1).shape(), (Shape{3, 2}));
    EXPECT_EQ(t.squeeze(0).shape(), (Shape{3, 1, 2}));
    EXPECT_EQ(t.unsqueeze(-1).shape(), (Shape{3, 1, 2, 1}));
    EXPECT_EQ(t.unsqueeze(0).shape(), (Shape{1, 3, 1, 2}));
    Tensor e = t.expand({2, 3, 4, 2});
    EXPECT_EQ(e.shape(), (Shape{2, 3, 4, 2}));
    EXPECT_EQ(e.strides()[0], 0);
    EXPECT_EQ(e.strides()[2], 0);
    EXPECT_TRUE(e.shares_storage(t));
    EXPECT_EQ(e.sum().item(), 4 * 2 * 15.0);
    EXPECT_THROW_MSG(t.expand({3, 2, 3}), ShapeError, "cannot expand");
    EXPECT_EQ(iota({2, 3, 4}).flatten().shape(), (Shape{24}));
    EXPECT_EQ(iota({2, 3, 4}).flatten(1).shape(), (Shape{2, 12}));
    EXPECT_EQ(iota({2, 3, 4, 5}).flatten(1, 2).shape(), (Shape{2, 12, 5}));
}

TEST(Views, ContiguousAndClone) {
    Tensor t = iota({3, 4});
    EXPECT_TRUE(t.contiguous().shares_storage(t));
    Tensor c = t.t().contiguous();
    EXPECT_TRUE(c.is_contiguous());
    EXPECT_FALSE(c.shares_storage(t));
    Tensor k = t.clone();
    k.fill_(0);
    EXPECT_EQ(t.sum().item(), 66.0);
}

TEST(Views, DetachSharesStorageWithoutHistory) {
    Tensor x = leaf64({3});
    Tensor y = mul(x, 2.0);
    Tensor d = y.detach();
    EXPECT_TRUE(d.shares_storage(y));
    EXPECT_FALSE(d.requires_grad());
    EXPECT_TRUE(d.is_leaf());
}

TEST(Views, GradcheckEveryViewOp) {
    for (std::int64_t n : {1, 7, 33}) {
        Tensor x = leaf64({3, n, 2}, n);
        Tensor xt = leaf64_transposed({n, 3}, n + 1);
        EXPECT_GRADCHECK([n](const std::vector<Tensor>& v) { return v[0].view({-1, 2}); }, x);
        EXPECT_GRADCHECK([n](const std::vector<Tensor>& v) { return v[0].reshape({n * 3}); }, xt);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return v[0].transpose(0, 2); }, x);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return v[0].permute({1, 2, 0}); }, x);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return v[0].t(); }, xt);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return v[0].slice(1, 0, 40, 2); }, x);
        EXPECT_GRADCHECK([n](const std::vector<Tensor>& v) { return v[0].narrow(0, n - 1, 1); }, xt);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return v[0].select(2, 1); }, x);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return v[0].unsqueeze(1).squeeze(); }, xt);
        EXPECT_GRADCHECK([n](const std::vector<Tensor>& v) { return v[0].unsqueeze(0).expand({4, n, 3}); }, xt);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return v[0].flatten(1); }, x);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return v[0].contiguous(); }, xt);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return v[0].clone(); }, x);
    }
}

TEST(Views, GradientOfOverlappingSlicesAccumulates) {
    Tensor x = leaf64({6});
    Tensor y = add(x.slice(0, 0, 4), x.slice(0, 2, 6));
    y.sum().backward();
    EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{1, 1, 2, 2, 1, 1}));
}

TEST(Views, ToIsDifferentiableBetweenFloatTypes) {
    Tensor x = randn({4}).requires_grad_();
    Tensor y = x.to(DType::Float64);
    EXPECT_TRUE(y.requires_grad());
    mul(y, 3.0).sum().backward();
    ASSERT_TRUE(x.grad().defined());
    EXPECT_EQ(x.grad().dtype(), DType::Float32);
    EXPECT_EQ(x.grad().to_vector<float>(), std::vector<float>(4, 3.0f));
}

}  // namespace

// Strided copies, adds and fills large enough to spread their rows over the threads
// (kParallelRowsMinElements): a slice of the last dim (split's parts and their gradients), a
// transpose made contiguous (attention's heads), a fill; equal to element loops at every thread
// count.
TEST(Views, LargeStridedCopiesAddsAndFillsMatchElementLoops) {
    const int saved = get_num_threads();
    Generator g(12);
    const Tensor src = randn({16, 128, 768}, DType::Float32, &g);
    const Tensor heads = randn({16, 128, 12, 64}, DType::Float32, &g);
    const std::vector<float> sv = src.to_vector<float>(), hv = heads.to_vector<float>();
    for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        SCOPED_TRACE(std::to_string(threads) + " threads");
        Tensor big = zeros({16, 128, 2304});
        big.slice(2, 768, 1536).copy_(src);
        big.slice(2, 768, 1536).add_(src);
        big.slice(2, 1536, 2304).fill_(3.0);
        const std::vector<float> bv = big.to_vector<float>();
        for (std::int64_t r = 0; r < 16 * 128; ++r)
            for (std::int64_t j = 0; j < 2304; ++j) {
                const float want = j < 768 ? 0.f : j < 1536 ? sv[r * 768 + j - 768] * 2.f : 3.f;
                ASSERT_EQ(bv[r * 2304 + j], want) << "row " << r << " column " << j;
            }
        const std::vector<float> tv = heads.transpose(1, 2).contiguous().to_vector<float>();
        for (std::int64_t n = 0; n < 16; ++n)
            for (std::int64_t h = 0; h < 12; ++h)
                for (std::int64_t t = 0; t < 128; ++t)
                    for (std::int64_t d = 0; d < 64; ++d)
                        ASSERT_EQ(tv[((n * 12 + h) * 128 + t) * 64 + d], hv[((n * 128 + t) * 12 + h) * 64 + d]);
    }
    set_num_threads(saved);
}
