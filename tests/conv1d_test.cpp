// nn::Conv1D, Hugging Face's transposed-weight linear layer: layout, initialisation, forward,
// gradients (against linear with the transposed weight) and errors.
#include <vector>

#include "test_util.hpp"

using namespace graft;

TEST(Conv1D, WeightIsInByOutAndForwardIsXTimesWPlusB) {
    manual_seed(3);
    nn::Conv1D layer(5, 7);
    EXPECT_EQ(layer.weight.shape(), (Shape{5, 7}));
    EXPECT_EQ(layer.bias.shape(), (Shape{7}));
    EXPECT_EQ(layer.bias.to_vector<float>(), std::vector<float>(7, 0.f));
    EXPECT_EQ(layer.repr(), "Conv1D(in_features=5, out_features=7)");
    {
        NoGradGuard guard;
        layer.bias.copy_(randn({7}));
    }
    const Tensor x = randn({2, 3, 5});
    const Tensor y = layer.forward(x);
    ASSERT_EQ(y.shape(), (Shape{2, 3, 7}));
    const std::vector<float> xs = x.to_vector<float>(), w = layer.weight.to_vector<float>(),
                             b = layer.bias.to_vector<float>(), ys = y.to_vector<float>();
    for (int r = 0; r < 6; ++r)
        for (int o = 0; o < 7; ++o) {
            double want = b[o];
            for (int i = 0; i < 5; ++i) want += static_cast<double>(xs[r * 5 + i]) * w[i * 7 + o];
            EXPECT_NEAR(ys[r * 7 + o], want, 1e-5) << r << "," << o;
        }
}

TEST(Conv1D, InitialisedWithStd002) {
    manual_seed(4);
    nn::Conv1D layer(64, 128);
    const double s = graft::std(layer.weight).item();
    EXPECT_NEAR(s, 0.02, 0.001);
    EXPECT_NEAR(mean(layer.weight).item(), 0.0, 0.001);
}

TEST(Conv1D, GradientsEqualThoseOfTheTransposedLinear) {
    manual_seed(5);
    nn::Conv1D layer(4, 6);
    Tensor x = randn({3, 2, 4});
    x.requires_grad_();
    const Tensor upstream = randn({3, 2, 6});
    sum(mul(layer.forward(x), upstream)).backward();

    Tensor w = layer.weight.detach().clone(), b = layer.bias.detach().clone();
    w.requires_grad_();
    b.requires_grad_();
    Tensor x2 = x.detach().clone();
    x2.requires_grad_();
    sum(mul(linear(x2, w.t(), b), upstream)).backward();
    EXPECT_TRUE(allclose(layer.weight.grad(), w.grad(), 1e-5, 1e-6));
    EXPECT_TRUE(allclose(layer.bias.grad(), b.grad(), 1e-5, 1e-6));
    EXPECT_TRUE(allclose(x.grad(), x2.grad(), 1e-5, 1e-6));
    EXPECT_EQ(layer.weight.grad().shape(), (Shape{4, 6}));
}

TEST(Conv1D, WrongInputWidthNamesTheLayer) {
    nn::Conv1D layer(4, 6);
    EXPECT_THROW_MSG(layer.forward(zeros({2, 5})), ShapeError, "Conv1D(in_features=4, out_features=6): input has 5 features");
    EXPECT_THROW_MSG(layer.forward(scalar_tensor(1.0)), ShapeError,
                     "Conv1D(in_features=4, out_features=6): input has no feature dimension (input shape [])");
    EXPECT_THROW_MSG(nn::Conv1D(-4, 6), ValueError, "Conv1D: in_features and out_features must be non-negative, got -4 and 6");
}
