// nn::conv_batch_norm: a Conv2d followed by a frozen eval-mode BatchNorm2d and an activation, the
// BatchNorm folded into the convolution. Against the two layers one after the other (the same
// bits) on every convolution path (image by image, batched, Winograd, 1×1, strided, depthwise
// tiles, planes and strides), every activation, float32 and float64, 1 and 2 threads; when it
// folds and when it does not; Sequential and ResNet folding their frozen prefix.
#include <memory>
#include <string>
#include <vector>

#include "graft/autograd.hpp"
#include "graft/models/resnet.hpp"
#include "graft/nn/activation.hpp"
#include "graft/nn/container.hpp"
#include "graft/nn/conv_batch_norm.hpp"
#include "graft/profiler.hpp"
#include "graft/runtime.hpp"
#include "same_bits.hpp"
#include "test_util.hpp"

using namespace graft;
using A = nn::functional::BatchNormActivation;

namespace {

struct FoldCase {
    const char* name;
    std::int64_t N, C, H, W, O, k, stride, padding, groups;
};

// One case per path of conv2d_forward (ops/conv.cpp) that applies the output stage.
const std::vector<FoldCase> kCases = {
    {"image_by_image_3x3", 2, 3, 20, 20, 8, 3, 1, 1, 1},
    {"winograd_3x3", 2, 16, 12, 12, 16, 3, 1, 1, 1},
    {"batched_small_map", 4, 32, 4, 4, 24, 3, 1, 1, 1},
    {"pointwise_1x1", 3, 8, 9, 9, 16, 1, 1, 0, 1},
    {"strided_3x3", 2, 8, 15, 15, 12, 3, 2, 1, 1},
    {"stem_7x7", 2, 3, 30, 30, 8, 7, 2, 3, 1},
    {"grouped_3x3", 2, 8, 10, 10, 8, 3, 1, 1, 4},
    {"depthwise_tiles", 2, 32, 7, 7, 32, 3, 1, 1, 32},
    {"depthwise_planes", 2, 4, 40, 40, 4, 3, 1, 1, 4},
    {"depthwise_strided", 2, 4, 40, 40, 4, 5, 2, 2, 4},
    {"depthwise_multiplier", 2, 4, 12, 12, 8, 3, 1, 1, 4},
};

const std::vector<A> kActivations = {A::None, A::ReLU, A::ReLU6, A::Hardswish, A::SiLU};

/// A frozen conv and an eval-mode BatchNorm with random affine and running statistics.
struct Pair {
    nn::Conv2d conv;
    nn::BatchNorm2d bn;
    Pair(const FoldCase& c, DType dt, bool bias, Generator& g)
        : conv(c.C, c.O, c.k, {.stride = c.stride, .padding = c.padding, .groups = c.groups, .bias = bias}),
          bn(c.O) {
        // Fresh tensors of dtype dt in the parameter and buffer slots (Module::to converts to
        // float32 or bfloat16 only).
        conv.weight = randn(conv.weight.shape(), dt, &g);
        if (bias) conv.bias = randn({c.O}, dt, &g);
        bn.weight = randn({c.O}, dt, &g);
        bn.bias = randn({c.O}, dt, &g);
        bn.running_mean = randn({c.O}, dt, &g);
        bn.running_var = rand({c.O}, dt, &g).add(0.25);
        conv.freeze();
        bn.freeze();
        bn.eval();
    }
};

/// The op names a Profile recorded while fn ran.
template <class F>
std::vector<std::string> ops_run(F&& fn) {
    profiler::Profile prof;
    fn();
    std::vector<std::string> names;
    for (const auto& s : prof.stats()) names.push_back(s.name);
    return names;
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
    for (const auto& n : names)
        if (n == name) return true;
    return false;
}

}  // namespace

TEST(ConvBatchNorm, FoldedEqualsTheTwoLayersOnEveryPath) {
    const int saved = get_num_threads();
    for (int threads : {1, 2})
        for (DType dt : {DType::Float32, DType::Float64})
            for (const FoldCase& c : kCases)
                for (bool bias : {false, true}) {
                    set_num_threads(threads);
                    SCOPED_TRACE(std::string(c.name) + ", " + dtype_name(dt) + ", " + std::to_string(threads) +
                                 " threads" + (bias ? ", conv bias" : ""));
                    Generator g(7);
                    Pair p(c, dt, bias, g);
                    const Tensor x = randn({c.N, c.C, c.H, c.W}, dt, &g);
                    ASSERT_TRUE(nn::batch_norm_folds(p.conv, p.bn, x));
                    for (A act : kActivations) {
                        SCOPED_TRACE("activation " + std::to_string(static_cast<int>(act)));
                        const Tensor want = p.bn.forward_activation(p.conv.forward(x), act);
                        Tensor got;
                        const auto names = ops_run([&] { got = nn::conv_batch_norm(p.conv, p.bn, x, act); });
                        EXPECT_TRUE(contains(names, "conv2d_batch_norm"));
                        EXPECT_FALSE(contains(names, "batch_norm") || contains(names, "batch_norm_activation"));
                        EXPECT_FALSE(got.requires_grad());
                        if (dt == DType::Float32) {
                            test::expect_same_bits(got, want, c.name);
                        } else {
                            ASSERT_EQ(got.shape(), want.shape());
                            const auto gv = got.to_vector<double>(), wv = want.to_vector<double>();
                            for (std::size_t i = 0; i < gv.size(); ++i) ASSERT_EQ(gv[i], wv[i]) << "element " << i;
                        }
                    }
                }
    set_num_threads(saved);
}

TEST(ConvBatchNorm, UnbatchedInputFolds) {
    Generator g(3);
    Pair p(kCases[0], DType::Float32, true, g);
    const Tensor x = randn({3, 20, 20}, DType::Float32, &g);
    const Tensor got = nn::conv_batch_norm(p.conv, p.bn, x, A::ReLU);
    ASSERT_EQ(got.shape(), (Shape{8, 20, 20}));
    test::expect_same_bits(got, p.bn.forward_activation(p.conv.forward(x.unsqueeze(0)), A::ReLU).squeeze(0), "unbatched");
}

// Folding needs a constant affine and no gradient; otherwise the two layers run, gradients and
// running statistics as they would.
TEST(ConvBatchNorm, DoesNotFoldWhereAGradientOrTheBatchStatisticsAreNeeded) {
    const FoldCase& c = kCases[1];
    Generator g(5);
    Pair p(c, DType::Float32, false, g);
    Tensor x = randn({c.N, c.C, c.H, c.W}, DType::Float32, &g);
    EXPECT_TRUE(nn::batch_norm_folds(p.conv, p.bn, x));

    // An input that needs a gradient: the two layers, with a backward.
    Tensor xg = x.clone().requires_grad_();
    EXPECT_FALSE(nn::batch_norm_folds(p.conv, p.bn, xg));
    Tensor y = nn::conv_batch_norm(p.conv, p.bn, xg, A::ReLU);
    ASSERT_TRUE(y.requires_grad());
    y.sum().backward();
    ASSERT_TRUE(xg.grad().defined());
    test::expect_same_bits(y.detach(), nn::conv_batch_norm(p.conv, p.bn, x, A::ReLU), "input needing a gradient");

    // A trainable BatchNorm folds only with grad mode off.
    p.bn.weight.requires_grad_(true);
    EXPECT_FALSE(nn::batch_norm_folds(p.conv, p.bn, x));
    {
        NoGradGuard no_grad;
        EXPECT_TRUE(nn::batch_norm_folds(p.conv, p.bn, x));
    }
    p.bn.weight.requires_grad_(false);
    p.conv.weight.requires_grad_(true);
    EXPECT_FALSE(nn::batch_norm_folds(p.conv, p.bn, x));
    p.conv.weight.requires_grad_(false);

    // Training mode normalises with the batch's statistics and updates the running ones.
    p.bn.train();
    EXPECT_FALSE(nn::batch_norm_folds(p.conv, p.bn, x));
    const Tensor before = p.bn.running_mean.clone();
    (void)nn::conv_batch_norm(p.conv, p.bn, x, A::None);
    EXPECT_GT(abs(p.bn.running_mean - before).max().item<double>(), 0.0);
    p.bn.eval();

    // Mismatched features, an input with other channels, padding "same": the layers' own errors or paths.
    nn::BatchNorm2d other(c.O + 1);
    other.eval();
    EXPECT_FALSE(nn::batch_norm_folds(p.conv, other, x));
    EXPECT_FALSE(nn::batch_norm_folds(p.conv, p.bn, randn({2, c.C + 1, 8, 8})));
    EXPECT_THROW((void)nn::conv_batch_norm(p.conv, p.bn, randn({2, c.C + 1, 8, 8})), ShapeError);
    nn::Conv2d same(c.C, c.O, 4, {.padding = "same"});
    same.freeze();
    EXPECT_FALSE(nn::batch_norm_folds(same, p.bn, x));
}

TEST(ConvBatchNorm, SequentialFoldsConvBatchNormActivation) {
    Generator g(11);
    for (const FoldCase& c : {kCases[0], kCases[7]}) {
        SCOPED_TRACE(c.name);
        Pair p(c, DType::Float32, false, g);
        auto conv = std::make_shared<nn::Conv2d>(p.conv);
        auto bn = std::make_shared<nn::BatchNorm2d>(p.bn);
        nn::Sequential seq(std::vector<std::shared_ptr<nn::Module>>{conv, bn, std::make_shared<nn::ReLU6>()});
        seq.eval();
        const Tensor x = randn({c.N, c.C, c.H, c.W}, DType::Float32, &g);
        const Tensor want = bn->forward_activation(conv->forward(x), A::ReLU6);
        Tensor got;
        const auto names = ops_run([&] { got = seq.forward(x); });
        EXPECT_TRUE(contains(names, "conv2d_batch_norm"));
        EXPECT_FALSE(contains(names, "batch_norm_activation"));
        test::expect_same_bits(got, want, c.name);
        // In training mode the BatchNorm uses the batch: not folded.
        seq.train();
        const auto trained = ops_run([&] { (void)seq.forward(x); });
        EXPECT_FALSE(contains(trained, "conv2d_batch_norm"));
    }
}

// A ResNet frozen up to its last stage folds every BatchNorm of the frozen part, and its logits and
// gradients equal the unfolded ones (an input that needs a gradient keeps every layer separate).
TEST(ConvBatchNorm, ResNetFoldsItsFrozenPrefix) {
    manual_seed(21);
    models::ResNet net = models::resnet18({.num_classes = 5});
    {
        NoGradGuard no_grad;
        for (auto& [name, buf] : net.named_buffers())
            if (name.ends_with("running_var")) buf.copy_(rand(buf.shape()).add(0.5));
            else if (name.ends_with("running_mean")) buf.copy_(randn(buf.shape()).mul(0.1));
    }
    net.freeze_stages(3);
    net.train();
    const Tensor x = randn({2, 3, 40, 40});
    Tensor folded;
    const auto names = ops_run([&] { folded = net.forward(x); });
    EXPECT_TRUE(contains(names, "conv2d_batch_norm"));
    folded.sum().backward();
    const Tensor fc_grad = net.fc->weight.grad().clone();
    Tensor(net.fc->weight.grad()).zero_();

    const Tensor unfolded = net.forward(x.clone().requires_grad_());
    unfolded.sum().backward();
    test::expect_same_bits(folded.detach(), unfolded.detach(), "logits");
    test::expect_same_bits(fc_grad, net.fc->weight.grad(), "fc weight gradient");
}
