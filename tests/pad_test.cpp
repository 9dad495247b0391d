// functional::pad (constant, reflect, replicate: values against loops, gradchecks on strided
// inputs, cropping, errors) and conv2d's padding "same"/"valid" (odd and even kernels, dilation,
// nn::Conv2d's option). PyTorch's values: tests/mobile_test.cpp (MobileOps.*).
#include <algorithm>
#include <vector>

#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;
using graft::test::leaf64_transposed;
namespace F = graft::nn::functional;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

/// The input index an output index o copies along a dimension of size n padded by `before`, as
/// PyTorch documents each mode (−1: the constant).
std::int64_t source(std::int64_t o, std::int64_t before, std::int64_t n, F::PadMode mode) {
    const std::int64_t s = o - before;
    switch (mode) {
        case F::PadMode::Constant: return s >= 0 && s < n ? s : -1;
        case F::PadMode::Replicate: return std::clamp<std::int64_t>(s, 0, n - 1);
        case F::PadMode::Reflect: {
            const std::int64_t r = s < 0 ? -s : s;
            return r >= n ? 2 * (n - 1) - r : r;
        }
    }
    return -1;
}

/// x [C, H, W] padded by (left, right, top, bottom), by loops.
std::vector<double> reference_pad2d(const Tensor& x, std::int64_t l, std::int64_t r, std::int64_t t, std::int64_t b,
                                    F::PadMode mode, double value) {
    const std::int64_t C = x.size(0), H = x.size(1), W = x.size(2);
    const std::vector<double> v = values(x.contiguous());
    std::vector<double> out;
    for (std::int64_t c = 0; c < C; ++c)
        for (std::int64_t i = 0; i < H + t + b; ++i)
            for (std::int64_t j = 0; j < W + l + r; ++j) {
                const std::int64_t si = source(i, t, H, mode), sj = source(j, l, W, mode);
                out.push_back(si < 0 || sj < 0 ? value : v[static_cast<std::size_t>((c * H + si) * W + sj)]);
            }
    return out;
}

TEST(Pad, ValuesMatchLoopsInEveryMode) {
    Tensor x = leaf64({2, 4, 5}, 1).detach();
    Tensor xs = leaf64({2, 5, 4}, 2).detach().transpose(1, 2);  // strided [2, 4, 5]
    for (const Tensor& in : {x, xs})
        for (F::PadMode mode : {F::PadMode::Constant, F::PadMode::Reflect, F::PadMode::Replicate}) {
            const std::vector<std::int64_t> sizes[] = {{1, 2, 3, 0}, {0, 4, 2, 3}, {3, 3, 1, 1}};
            for (const auto& p : sizes) {
                const Tensor y = F::pad(in, p, mode, 0.5);
                EXPECT_EQ(y.shape(), (Shape{2, 4 + p[2] + p[3], 5 + p[0] + p[1]}));
                EXPECT_EQ(values(y), reference_pad2d(in, p[0], p[1], p[2], p[3], mode, 0.5))
                    << "mode " << static_cast<int>(mode) << " pads " << p[0] << p[1] << p[2] << p[3];
            }
        }
    // Only the last dimension, and a 1-D reflect spelled out: [a b c] → [c b a b c b].
    EXPECT_EQ(values(F::pad(from_vector<double>({1, 2, 3}), {2, 1}, F::PadMode::Reflect)),
              (std::vector<double>{3, 2, 1, 2, 3, 2}));
    EXPECT_EQ(values(F::pad(from_vector<double>({1, 2, 3}), {2, 1}, F::PadMode::Replicate)),
              (std::vector<double>{1, 1, 1, 2, 3, 3}));
    EXPECT_EQ(values(F::pad(from_vector<std::int64_t>({1, 2}), {1, 1}, F::PadMode::Constant, 7)),
              (std::vector<double>{7, 1, 2, 7}));
}

TEST(Pad, NegativeConstantPaddingCrops) {
    Tensor x = arange(12, DType::Float64).reshape({3, 4});
    // W: columns 1 … 3; H: a zero row above, the last two rows cut: rows (zeros, row 0).
    EXPECT_EQ(values(F::pad(x, {-1, 0, 1, -2})), (std::vector<double>{0, 0, 0, 1, 2, 3}));
    EXPECT_EQ(F::pad(x, {-1, 0, 1, -2}).shape(), (Shape{2, 3}));
}

TEST(Pad, GradcheckEveryModeOnStridedInputs) {
    for (F::PadMode mode : {F::PadMode::Constant, F::PadMode::Reflect, F::PadMode::Replicate}) {
        auto two_dims = [mode](const std::vector<Tensor>& v) { return F::pad(v[0], {2, 1, 1, 3}, mode, 0.3); };
        auto last_dim = [mode](const std::vector<Tensor>& v) { return F::pad(v[0], {3, 2}, mode); };
        EXPECT_GRADCHECK(two_dims, leaf64_transposed({5, 4}, 3));
        EXPECT_GRADCHECK(last_dim, leaf64({2, 3, 5}, 4));
    }
    EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return F::pad(v[0], {-1, 2}); }, leaf64({3, 4}, 5));
}

TEST(Pad, Errors) {
    const Tensor x = zeros({2, 3});
    EXPECT_THROW_MSG(F::pad(x, {1}), ValueError, "pairs");
    EXPECT_THROW_MSG(F::pad(x, {1, 1, 1, 1, 1, 1}), ValueError, "3 dimensions padded, the input has 2");
    EXPECT_THROW_MSG(F::pad(x, {3, 0}, F::PadMode::Reflect), ValueError,
                     "pad: pads (3, 0) in mode 'reflect' for input of shape [2, 3]: reflect padding must be smaller");
    EXPECT_THROW_MSG(F::pad(x, {-1, 0}, F::PadMode::Replicate), ValueError, "negative sizes need mode 'constant'");
    EXPECT_THROW_MSG(F::pad(x, {-2, -2}), ValueError, "padded size -1 is negative");
    EXPECT_THROW_MSG(F::pad(zeros({2, 0}), {1, 1}, F::PadMode::Replicate), ValueError, "non-empty");
}

// ---- conv2d padding "same" -------------------------------------------------------------------------

TEST(ConvSame, OddKernelEqualsSymmetricPadding) {
    Tensor x = leaf64({2, 3, 6, 5}, 6).detach(), w = leaf64({4, 3, 3, 5}, 7).detach(), b = leaf64({4}, 8).detach();
    const Tensor y = F::conv2d(x, w, b, 1, "same");
    EXPECT_EQ(y.shape(), (Shape{2, 4, 6, 5}));
    EXPECT_EQ(values(y), values(F::conv2d(x, w, b, 1, nn::Size2(1, 2))));
    // dilation 2: total 2·(k − 1), still symmetric.
    EXPECT_EQ(values(F::conv2d(x, w, b, 1, "same", 2)), values(F::conv2d(x, w, b, 1, nn::Size2(2, 4), 2)));
    EXPECT_EQ(values(F::conv2d(x, w, b, 1, "valid")), values(F::conv2d(x, w, b)));
}

// An even kernel pads one more zero after (bottom, right) than before, as PyTorch does.
TEST(ConvSame, EvenKernelPutsTheExtraZeroBottomRight) {
    Tensor x = leaf64({1, 2, 5, 6}, 9).detach(), w = leaf64({3, 2, 4, 2}, 10).detach();
    const Tensor y = F::conv2d(x, w, Tensor(), 1, "same");
    ASSERT_EQ(y.shape(), (Shape{1, 3, 5, 6}));
    // kh 4: total 3 = 1 above + 2 below; kw 2: total 1 = 0 left + 1 right.
    const Tensor padded = from_vector(reference_pad2d(x.squeeze(0), 0, 1, 1, 2, F::PadMode::Constant, 0.0),
                                      {1, 2, 8, 7});
    EXPECT_EQ(values(y), values(F::conv2d(padded, w)));
    EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return F::conv2d(v[0], v[1], v[2], 1, "same", nn::Size2(1, 2)); },
                     leaf64({2, 2, 4, 5}, 11), leaf64({2, 2, 2, 3}, 12), leaf64({2}, 13));
}

TEST(ConvSame, Conv2dModuleOption) {
    manual_seed(1);
    nn::Conv2d conv(2, 3, 4, {.padding = "same"});
    EXPECT_TRUE(conv.padding_same);
    EXPECT_EQ(conv.repr(), "Conv2d(2, 3, kernel_size=(4, 4), stride=(1, 1), padding=same)");
    Tensor x = randn({1, 2, 7, 7});
    EXPECT_EQ(conv.forward(x).shape(), (Shape{1, 3, 7, 7}));
    EXPECT_EQ(values(conv.forward(x)), values(F::conv2d(x, conv.weight, conv.bias, 1, "same")));
    nn::Conv2d valid(2, 3, 3, {.padding = "valid"});
    EXPECT_EQ(valid.forward(x).shape(), (Shape{1, 3, 5, 5}));
    EXPECT_THROW_MSG(nn::Conv2d(2, 3, 3, {.stride = 2, .padding = "same"}), ValueError,
                     "padding=\"same\" needs stride 1");
    EXPECT_THROW_MSG(nn::Conv2d(2, 3, 3, {.padding = "full"}), ValueError, "got \"full\"");
    EXPECT_THROW_MSG(F::conv2d(x, conv.weight, conv.bias, 2, "same"), ValueError, "needs stride 1");
    EXPECT_THROW_MSG(F::conv2d(x, conv.weight, conv.bias, 1, "circular"), ValueError, "got \"circular\"");
}

}  // namespace
