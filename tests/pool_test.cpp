// max_pool2d, avg_pool2d, adaptive_avg_pool2d and their layers: hand-computed values, forward
// against direct loops on odd shapes and options, gradchecks, the saved argmax indices, reprs
// and errors.
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;
namespace F = graft::nn::functional;
using nn::Size2;

namespace {

struct PoolCase {
    const char* name;
    Shape x;
    Size2 kernel;
    std::optional<Size2> stride;
    Size2 padding, dilation;
    bool ceil_mode;
};

const std::vector<PoolCase>& pool_cases() {
    static const std::vector<PoolCase> all = {
        {"2x2", {2, 3, 6, 8}, 2, std::nullopt, 0, 1, false},
        {"2x2 odd sizes", {2, 3, 7, 9}, 2, std::nullopt, 0, 1, false},
        {"2x2 wide rows", {1, 2, 5, 37}, 2, std::nullopt, 0, 1, false},  // 4-window blocks and a tail
        {"3x3 stride 2 pad 1", {2, 2, 7, 9}, 3, Size2(2), 1, 1, false},
        {"ceil mode", {1, 3, 7, 5}, 2, std::nullopt, 0, 1, true},
        {"ceil mode pad", {1, 2, 6, 7}, 3, Size2(2), 1, 1, true},
        {"non-square", {2, 2, 9, 7}, Size2{3, 2}, Size2{2, 1}, Size2{1, 0}, 1, false},
        {"dilation 2", {1, 2, 9, 8}, 3, Size2(1), 1, 2, false},
        {"1x1", {2, 3, 4, 5}, 1, std::nullopt, 0, 1, false},
    };
    return all;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    return static_cast<std::int64_t>(std::floor(static_cast<double>(a) / static_cast<double>(b)));
}

/// PyTorch's output size, with the ceil-mode rule that the last window starts inside.
std::int64_t out_size(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d, bool ceil) {
    const std::int64_t span = in + 2 * p - d * (k - 1) - 1;
    std::int64_t o = (ceil ? -floor_div(-span, s) : floor_div(span, s)) + 1;
    if (ceil && (o - 1) * s >= in + p) --o;
    return o;
}

/// Direct loops over the (padded) windows: max, or sum / count with count over the padded
/// window (include_pad) or the input elements inside.
std::vector<double> ref_pool(const Tensor& x, const PoolCase& c, bool is_max, bool include_pad, Shape* shape) {
    const std::vector<double> v = x.to_vector<double>();
    const std::int64_t P = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
    const Size2 s = c.stride.value_or(c.kernel);
    const std::int64_t OH = out_size(H, c.kernel.h, s.h, c.padding.h, c.dilation.h, c.ceil_mode);
    const std::int64_t OW = out_size(W, c.kernel.w, s.w, c.padding.w, c.dilation.w, c.ceil_mode);
    *shape = {x.size(0), x.size(1), OH, OW};
    std::vector<double> out;
    for (std::int64_t p = 0; p < P; ++p)
        for (std::int64_t oh = 0; oh < OH; ++oh)
            for (std::int64_t ow = 0; ow < OW; ++ow) {
                double best = -INFINITY, total = 0;
                std::int64_t inside = 0, padded = 0;
                for (std::int64_t i = 0; i < c.kernel.h; ++i)
                    for (std::int64_t j = 0; j < c.kernel.w; ++j) {
                        const std::int64_t ih = oh * s.h - c.padding.h + i * c.dilation.h;
                        const std::int64_t iw = ow * s.w - c.padding.w + j * c.dilation.w;
                        if (ih < H + c.padding.h && iw < W + c.padding.w) ++padded;
                        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                        const double e = v[static_cast<std::size_t>((p * H + ih) * W + iw)];
                        best = std::max(best, e);
                        total += e;
                        ++inside;
                    }
                out.push_back(is_max ? best : total / static_cast<double>(include_pad ? padded : inside));
            }
    return out;
}

void expect_values(const Tensor& t, const std::vector<double>& want, double tol = 1e-12) {
    const std::vector<double> got = t.to_vector<double>();
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], want[k], tol) << "element " << k;
}

}  // namespace

TEST(MaxPool2d, HandComputedValuesAndIndices) {
    // 1 2 | 3 4
    // 8 7 | 6 5     windows 2x2 stride 2 → [8, 6] at plane indices [4, 6]
    Tensor x = from_vector<double>({1, 2, 3, 4, 8, 7, 6, 5}, {1, 1, 2, 4});
    auto [y, idx] = F::max_pool2d_with_indices(x, 2);
    EXPECT_EQ(y.shape(), (Shape{1, 1, 1, 2}));
    expect_values(y, {8, 6});
    EXPECT_EQ(idx.dtype(), DType::Int64);
    EXPECT_EQ(idx.to_vector<std::int64_t>(), (std::vector<std::int64_t>{4, 6}));
    // Ties: the first maximum wins, and it alone gets the gradient.
    Tensor t = from_vector<double>({5, 5, 5, 5}, {1, 1, 2, 2}).requires_grad_();
    auto [ty, tidx] = F::max_pool2d_with_indices(t, 2);
    EXPECT_EQ(tidx.to_vector<std::int64_t>(), (std::vector<std::int64_t>{0}));
    ty.sum().backward();
    expect_values(t.grad(), {1, 0, 0, 0});
    // A NaN in the window propagates.
    Tensor n = from_vector<double>({1, NAN, 3, 2}, {1, 1, 2, 2});
    EXPECT_TRUE(std::isnan(F::max_pool2d(n, 2).item()));
}

TEST(MaxPool2d, TwoByTwoWindowsFollowTheFirstMaximumOrLastNanRule) {
    // Ties, −inf and NaNs in 2×2 windows over odd sizes: the index is the first maximum in
    // row-major window order or the last NaN, and the backward routes each gradient there.
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    const std::vector<float> vals = {3, nan, -inf, 7, 7, 1, nan, nan, inf, -inf, 0, -0.0f};
    for (DType dt : {DType::Float32, DType::Float64}) {
        Generator gen(5);
        const Tensor pick = randint(0, static_cast<std::int64_t>(vals.size()), {2, 3, 9, 11}, DType::Int64, &gen);
        std::vector<double> xs;
        for (std::int64_t k : pick.to_vector<std::int64_t>()) xs.push_back(vals[static_cast<std::size_t>(k)]);
        const Tensor x = from_vector<double>(xs, {2, 3, 9, 11}).to(dt).requires_grad_();
        auto [y, idx] = F::max_pool2d_with_indices(x, 2);
        ASSERT_EQ(y.shape(), (Shape{2, 3, 4, 5}));
        const std::vector<double> yv = y.to_vector<double>();
        const std::vector<std::int64_t> iv = idx.to_vector<std::int64_t>();
        for (std::int64_t p = 0; p < 6; ++p)
            for (std::int64_t oh = 0; oh < 4; ++oh)
                for (std::int64_t ow = 0; ow < 5; ++ow) {
                    double best = -INFINITY;
                    std::int64_t at = (2 * oh) * 11 + 2 * ow;
                    for (std::int64_t i = 0; i < 2; ++i)
                        for (std::int64_t j = 0; j < 2; ++j) {
                            const std::int64_t pos = (2 * oh + i) * 11 + 2 * ow + j;
                            const double v = xs[static_cast<std::size_t>(p * 99 + pos)];
                            if (v > best || std::isnan(v)) best = v, at = pos;
                        }
                    const std::size_t k = static_cast<std::size_t>((p * 4 + oh) * 5 + ow);
                    EXPECT_EQ(iv[k], at) << "plane " << p << " window " << oh << "," << ow;
                    if (std::isnan(best))
                        EXPECT_TRUE(std::isnan(yv[k])) << k;
                    else
                        EXPECT_EQ(yv[k], best) << k;
                }
        // Each output's gradient lands on its index, nowhere else (the odd last row and column
        // get none).
        Generator g2(6);
        const Tensor w = randn({2, 3, 4, 5}, dt, &g2);
        sum(mul(y, w)).backward();
        const std::vector<double> gx = x.grad().to_vector<double>(), wv = w.to_vector<double>();
        std::vector<double> want(gx.size(), 0.0);
        for (std::size_t k = 0; k < iv.size(); ++k)
            want[(k / 20) * 99 + static_cast<std::size_t>(iv[k])] += wv[k];
        EXPECT_EQ(gx, want);
    }
}

TEST(MaxPool2d, ForwardMatchesDirectLoops) {
    for (DType dt : {DType::Float32, DType::Float64}) {
        for (const PoolCase& c : pool_cases()) {
            Generator g(2);
            Tensor x = randn(c.x, dt, &g);
            Tensor y = F::max_pool2d(x, c.kernel, c.stride, c.padding, c.dilation, c.ceil_mode);
            Shape shape;
            const std::vector<double> want = ref_pool(x, c, true, true, &shape);
            ASSERT_EQ(y.shape(), shape) << c.name;
            EXPECT_EQ(y.dtype(), dt);
            expect_values(y, want, 0.0);
        }
    }
}

TEST(MaxPool2d, WithoutGradientSkipsIndicesButNotValues) {
    // ResNet's stem pool (3×3, stride 2, padding 1) on a frozen stem: no gradient to record, so no
    // indices are computed; the values, NaN included, are the indexed path's.
    Generator g(5);
    Tensor x = randn({2, 3, 9, 8}, DType::Float32, &g);
    x.data_ptr<float>()[10] = std::numeric_limits<float>::quiet_NaN();
    x.data_ptr<float>()[100] = -std::numeric_limits<float>::infinity();
    const auto [indexed, indices] = F::max_pool2d_with_indices(x, 3, 2, 1);
    ASSERT_TRUE(indices.defined());
    const Tensor plain = F::max_pool2d(x, 3, 2, 1);
    const std::vector<float> a = indexed.to_vector<float>(), b = plain.to_vector<float>();
    ASSERT_EQ(a.size(), b.size());
    int nans = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::isnan(a[i])) {
            EXPECT_TRUE(std::isnan(b[i])) << i;
            ++nans;
        } else {
            EXPECT_EQ(a[i], b[i]) << i;
        }
    }
    EXPECT_GT(nans, 0);
    // With a gradient to record, the same values and a backward through the indices.
    Tensor xg = x.clone().requires_grad_();
    const Tensor y = F::max_pool2d(xg, 3, 2, 1);
    ASSERT_TRUE(y.grad_fn());
    y.sum().backward();
    EXPECT_TRUE(xg.grad().defined());
}

TEST(MaxPool2d, Gradcheck) {
    for (const PoolCase& c : pool_cases()) {
        Tensor x = leaf64(c.x, 31);
        EXPECT_GRADCHECK(
            [&](const std::vector<Tensor>& in) {
                return F::max_pool2d(in[0], c.kernel, c.stride, c.padding, c.dilation, c.ceil_mode);
            },
            x);
    }
    // Overlapping windows send several gradients to one input element.
    Tensor x = leaf64({2, 2, 5, 6}, 32);
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return F::max_pool2d(in[0], 3, Size2(1)); }, x);
}

TEST(AvgPool2d, HandComputedCountIncludePad) {
    Tensor x = ones({1, 1, 3, 3}, DType::Float64);
    // 3x3 window, stride 1, padding 1: corners see 4 of 9, edges 6 of 9, the centre 9 of 9.
    expect_values(F::avg_pool2d(x, 3, Size2(1), 1), {4. / 9, 6. / 9, 4. / 9, 6. / 9, 1, 6. / 9, 4. / 9, 6. / 9, 4. / 9});
    expect_values(F::avg_pool2d(x, 3, Size2(1), 1, false, false), std::vector<double>(9, 1.0));
}

TEST(AvgPool2d, ForwardMatchesDirectLoops) {
    for (bool include_pad : {true, false}) {
        for (const PoolCase& c : pool_cases()) {
            if (c.dilation.h != 1) continue;  // avg_pool2d has no dilation
            Generator g(3);
            Tensor x = randn(c.x, DType::Float64, &g);
            Tensor y = F::avg_pool2d(x, c.kernel, c.stride, c.padding, c.ceil_mode, include_pad);
            Shape shape;
            const std::vector<double> want = ref_pool(x, c, false, include_pad, &shape);
            ASSERT_EQ(y.shape(), shape) << c.name;
            expect_values(y, want);
            Tensor y32 = F::avg_pool2d(x.to(DType::Float32), c.kernel, c.stride, c.padding, c.ceil_mode, include_pad);
            expect_values(y32, want, 1e-5);
        }
    }
}

TEST(AvgPool2d, Gradcheck) {
    for (bool include_pad : {true, false})
        for (const PoolCase& c : pool_cases()) {
            if (c.dilation.h != 1) continue;
            Tensor x = leaf64(c.x, 41);
            EXPECT_GRADCHECK(
                [&](const std::vector<Tensor>& in) {
                    return F::avg_pool2d(in[0], c.kernel, c.stride, c.padding, c.ceil_mode, include_pad);
                },
                x);
        }
}

TEST(PoolAdaptiveAvg2d, PyTorchWindows) {
    // H = 5 into 3 cells: rows [0, 2), [1, 4), [3, 5) (overlapping).
    Tensor x = arange(5.0, DType::Float64).reshape({1, 1, 1, 5});
    expect_values(F::adaptive_avg_pool2d(x, Size2{1, 3}), {0.5, 2.0, 3.5});
    // Output larger than the input repeats elements.
    Tensor small = from_vector<double>({1, 2}, {1, 1, 1, 2});
    expect_values(F::adaptive_avg_pool2d(small, Size2{1, 3}), {1, 1.5, 2});
    // Size 1 is the global mean per plane.
    Generator g(4);
    Tensor r = randn({2, 3, 5, 7}, DType::Float64, &g);
    Tensor gap = F::adaptive_avg_pool2d(r, 1);
    EXPECT_EQ(gap.shape(), (Shape{2, 3, 1, 1}));
    EXPECT_TRUE(allclose(gap, mean(r, {2, 3}, true), 1e-12, 1e-12));
    // float32 on a 13×17 plane (13 full runs of 16 lanes and a tail), against the double mean.
    Tensor f = randn({2, 5, 13, 17}, DType::Float32, &g);
    EXPECT_TRUE(allclose(F::adaptive_avg_pool2d(f, 1).to(DType::Float64), mean(f.to(DType::Float64), {2, 3}, true),
                         1e-6, 1e-7));
}

TEST(PoolAdaptiveAvg2d, ForwardMatchesDirectLoops) {
    Generator g(5);
    Tensor x = randn({2, 3, 7, 10}, DType::Float64, &g);
    const std::vector<double> v = x.to_vector<double>();
    // Widths 1 pool whole rows (one contiguous run per window, summed in vector lanes).
    for (Size2 out : {Size2{3, 4}, Size2{7, 10}, Size2{4, 3}, Size2{9, 11}, Size2{3, 1}, Size2{1, 1}}) {
        std::vector<double> want;
        for (std::int64_t p = 0; p < 6; ++p)
            for (std::int64_t i = 0; i < out.h; ++i)
                for (std::int64_t j = 0; j < out.w; ++j) {
                    const auto h0 = static_cast<std::int64_t>(std::floor(double(i) * 7 / double(out.h)));
                    const auto h1 = static_cast<std::int64_t>(std::ceil(double(i + 1) * 7 / double(out.h)));
                    const auto w0 = static_cast<std::int64_t>(std::floor(double(j) * 10 / double(out.w)));
                    const auto w1 = static_cast<std::int64_t>(std::ceil(double(j + 1) * 10 / double(out.w)));
                    double s = 0;
                    for (std::int64_t a = h0; a < h1; ++a)
                        for (std::int64_t b = w0; b < w1; ++b) s += v[static_cast<std::size_t>((p * 7 + a) * 10 + b)];
                    want.push_back(s / double((h1 - h0) * (w1 - w0)));
                }
        Tensor y = F::adaptive_avg_pool2d(x, out);
        ASSERT_EQ(y.shape(), (Shape{2, 3, out.h, out.w}));
        expect_values(y, want);
    }
}

TEST(PoolAdaptiveAvg2d, Gradcheck) {
    Tensor x = leaf64({2, 2, 7, 5}, 51);
    for (Size2 out : {Size2{3, 2}, Size2{1, 1}, Size2{8, 6}})
        EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return F::adaptive_avg_pool2d(in[0], out); }, x);
}

TEST(Pool2d, UnbatchedAndStridedInputs) {
    Tensor x = leaf64({3, 6, 5}, 61);
    EXPECT_EQ(F::max_pool2d(x, 2).shape(), (Shape{3, 3, 2}));
    EXPECT_TRUE(allclose(F::avg_pool2d(x, 2), F::avg_pool2d(x.unsqueeze(0), 2).squeeze(0)));
    EXPECT_EQ(F::adaptive_avg_pool2d(x, 2).shape(), (Shape{3, 2, 2}));
    Tensor xt = leaf64({2, 6, 5, 3}, 62).permute({0, 3, 1, 2}).detach().requires_grad_();
    ASSERT_FALSE(xt.is_contiguous());
    EXPECT_TRUE(allclose(F::max_pool2d(xt, 2), F::max_pool2d(xt.contiguous(), 2)));
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return F::max_pool2d(in[0], 3, Size2(2), 1); }, xt);
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return F::avg_pool2d(in[0], 3, Size2(2), 1); }, x);
}

TEST(Pool2d, Layers) {
    Generator g(7);
    Tensor x = randn({2, 3, 9, 8}, DType::Float32, &g);
    nn::MaxPool2d mp(3, {.stride = 2, .padding = 1});
    EXPECT_TRUE(allclose(mp.forward(x), F::max_pool2d(x, 3, Size2(2), 1)));
    nn::AvgPool2d ap(Size2{3, 2}, {.count_include_pad = false});
    EXPECT_TRUE(allclose(ap.forward(x), F::avg_pool2d(x, Size2{3, 2}, std::nullopt, 0, false, false)));
    nn::AdaptiveAvgPool2d gap(1);
    EXPECT_EQ(gap.forward(x).shape(), (Shape{2, 3, 1, 1}));
    EXPECT_TRUE(mp.named_parameters().empty());
    EXPECT_TRUE(allclose(nn::clone(mp)->forward(x), mp.forward(x)));

    EXPECT_EQ(nn::MaxPool2d(2).repr(), "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
    EXPECT_EQ(nn::MaxPool2d(3, {.stride = Size2{2, 1}, .padding = 1, .ceil_mode = true}).repr(),
              "MaxPool2d(kernel_size=3, stride=(2, 1), padding=1, dilation=1, ceil_mode=True)");
    EXPECT_EQ(nn::AvgPool2d(2).repr(), "AvgPool2d(kernel_size=2, stride=2, padding=0)");
    EXPECT_EQ(nn::AdaptiveAvgPool2d(1).repr(), "AdaptiveAvgPool2d(output_size=1)");
    EXPECT_EQ(nn::AdaptiveAvgPool2d({2, 3}).repr(), "AdaptiveAvgPool2d(output_size=(2, 3))");
}

TEST(Pool2d, Errors) {
    Tensor x = randn({2, 3, 4, 4});
    EXPECT_THROW_MSG(F::max_pool2d(x, 3, std::nullopt, 2), ValueError,
                     "max_pool2d: padding must be between 0 and half the kernel size, got padding 2x2");
    EXPECT_THROW_MSG(F::max_pool2d(randn({1, 1, 1, 1}), 2), ShapeError,
                     "max_pool2d: output size 0x0 is too small (input [1, 1, 1, 1], kernel_size 2x2)");
    EXPECT_THROW_MSG(F::avg_pool2d(x, 0), ValueError, "avg_pool2d: kernel_size must be positive");
    EXPECT_THROW_MSG(F::avg_pool2d(x, 2, Size2(0)), ValueError, "avg_pool2d: stride must be positive");
    EXPECT_THROW_MSG(F::max_pool2d(randn({4, 4}), 2), ShapeError,
                     "max_pool2d: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got [4, 4]");
    EXPECT_THROW_MSG(F::adaptive_avg_pool2d(x, 0), ValueError, "adaptive_avg_pool2d: output_size must be positive");
    EXPECT_THROW_MSG(F::adaptive_avg_pool2d(randn({2, 3, 0, 4}), 2), ShapeError,
                     "adaptive_avg_pool2d: expected non-empty channel and spatial dimensions, got input [2, 3, 0, 4]");
    EXPECT_THROW_MSG(F::max_pool2d(x.to(DType::Int64), 2), DTypeError, "max_pool2d");
    EXPECT_THROW_MSG(nn::MaxPool2d(2).forward(randn({4, 4})), ShapeError,
                     "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False): expected a 3-D");
    EXPECT_THROW_MSG(nn::AdaptiveAvgPool2d(1).forward(randn({2, 3, 4, 4, 1})), ShapeError,
                     "AdaptiveAvgPool2d(output_size=1): expected a 3-D");
}
