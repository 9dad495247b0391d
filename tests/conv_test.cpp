// conv2d and nn::Conv2d: forward and both weight and input gradients against direct loops on odd
// shapes (stride, padding, dilation, groups, depthwise, 1×1, non-square), gradchecks of every
// option, the thread-split weight gradient, freezing, the layer's init and repr, and errors; the
// shifted-plane im2col/col2im of stride-1 "same"-width convolutions at their edges (taps wholly in
// the padding, gaps of 0, 1 and 2 columns, OH ≠ H), the weights packed once per call (several
// K blocks, groups, one image) and the weight gradient's two orientations; the Winograd
// F(2×2, 3×3) path of float32 3×3 stride-1 padding-1 convs (forward and input gradient) against
// direct loops in double on every ISA and thread count, at partial tiles, 1–3 rows or columns and
// a batch that is not a whole number of chunks, against the im2col path, and its determinism.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ops/conv_winograd.hpp"
#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;
namespace F = graft::nn::functional;
using nn::Size2;

namespace {

struct ConvCase {
    const char* name;
    Shape x;  // [N, C, H, W]
    Shape w;  // [O, C/groups, kh, kw]
    bool bias;
    Size2 stride, padding, dilation;
    std::int64_t groups;
};

const std::vector<ConvCase>& cases() {
    static const std::vector<ConvCase> all = {
        {"3x3 pad 1", {2, 3, 7, 6}, {4, 3, 3, 3}, true, 1, 1, 1, 1},
        {"stride 2 pad 1", {2, 3, 9, 8}, {5, 3, 3, 3}, true, 2, 1, 1, 1},
        {"dilation 2", {1, 2, 9, 8}, {3, 2, 3, 3}, true, 1, 2, 2, 1},
        {"groups 2", {2, 4, 6, 7}, {6, 2, 3, 3}, true, 1, 1, 1, 2},
        {"depthwise", {2, 3, 7, 7}, {3, 1, 3, 3}, false, 1, 1, 1, 3},
        {"depthwise x2 stride 2", {2, 3, 8, 7}, {6, 1, 3, 3}, true, 2, 1, 1, 3},
        {"1x1", {2, 5, 4, 3}, {7, 5, 1, 1}, true, 1, 0, 1, 1},
        {"1x1 stride 2 pad 1", {2, 5, 5, 4}, {3, 5, 1, 1}, false, 2, 1, 1, 1},
        {"non-square", {2, 3, 8, 9}, {4, 3, 2, 5}, true, Size2{2, 1}, Size2{0, 2}, Size2{1, 2}, 1},
        {"kernel larger than input", {1, 2, 2, 3}, {2, 2, 3, 3}, true, 1, 1, 1, 1},
        {"all options", {3, 4, 9, 10}, {6, 2, 3, 2}, true, Size2{2, 3}, Size2{2, 1}, Size2{2, 1}, 2},
    };
    return all;
}

std::int64_t out_size(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d) {
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

/// Direct-loop reference: y[n, o, oh, ow] = b[o] + Σ_{c, i, j} x[n, g·Cg + c, ih, iw]·w[o, c, i, j].
/// With dy given, also accumulates dx and dw by the same loops.
struct RefConv {
    std::vector<double> y, dx, dw;
    Shape y_shape;
};

RefConv ref_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvCase& c,
                   const std::vector<double>* dy = nullptr) {
    const std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>();
    const std::vector<double> bv = b.defined() ? b.to_vector<double>() : std::vector<double>();
    const std::int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    const std::int64_t O = w.size(0), Cg = w.size(1), kh = w.size(2), kw = w.size(3), Og = O / c.groups;
    const std::int64_t OH = out_size(H, kh, c.stride.h, c.padding.h, c.dilation.h);
    const std::int64_t OW = out_size(W, kw, c.stride.w, c.padding.w, c.dilation.w);
    RefConv r;
    r.y_shape = {N, O, OH, OW};
    r.y.assign(static_cast<std::size_t>(N * O * OH * OW), 0.0);
    r.dx.assign(xv.size(), 0.0);
    r.dw.assign(wv.size(), 0.0);
    for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t o = 0; o < O; ++o)
            for (std::int64_t oh = 0; oh < OH; ++oh)
                for (std::int64_t ow = 0; ow < OW; ++ow) {
                    const auto yi = static_cast<std::size_t>(((n * O + o) * OH + oh) * OW + ow);
                    double s = bv.empty() ? 0.0 : bv[static_cast<std::size_t>(o)];
                    for (std::int64_t ci = 0; ci < Cg; ++ci)
                        for (std::int64_t i = 0; i < kh; ++i)
                            for (std::int64_t j = 0; j < kw; ++j) {
                                const std::int64_t ih = oh * c.stride.h - c.padding.h + i * c.dilation.h;
                                const std::int64_t iw = ow * c.stride.w - c.padding.w + j * c.dilation.w;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                const std::int64_t cin = (o / Og) * Cg + ci;
                                const auto xi = static_cast<std::size_t>(((n * C + cin) * H + ih) * W + iw);
                                const auto wi = static_cast<std::size_t>(((o * Cg + ci) * kh + i) * kw + j);
                                s += xv[xi] * wv[wi];
                                if (dy != nullptr) {
                                    r.dx[xi] += (*dy)[yi] * wv[wi];
                                    r.dw[wi] += (*dy)[yi] * xv[xi];
                                }
                            }
                    r.y[yi] = s;
                }
    return r;
}

Tensor run_case(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor& b) {
    return F::conv2d(x, w, b, c.stride, c.padding, c.dilation, c.groups);
}

void expect_near_all(const std::vector<double>& got, const std::vector<double>& want, double tol, const char* what,
                     const char* name) {
    ASSERT_EQ(got.size(), want.size()) << what << " " << name;
    for (std::size_t k = 0; k < got.size(); ++k)
        ASSERT_NEAR(got[k], want[k], tol * std::max(1.0, std::abs(want[k]))) << what << " " << name << " element " << k;
}

/// Runs case c in dtype dt on inputs drawn from Generator(seed) (x, w, the bias, then dy), its
/// backward for dy, and checks y, dx and dw against the direct loops (float32 to 1e-4). Without
/// input_grad, x needs no gradient: the backward computes dw alone (a trainable layer right after
/// a frozen one), and no dx is checked.
void expect_case_matches_direct_loops(const ConvCase& c, DType dt, std::uint64_t seed, bool input_grad = true) {
    const double tol = dt == DType::Float32 ? 1e-4 : 1e-12;
    Generator g(seed);
    Tensor x = randn(c.x, dt, &g).requires_grad_(input_grad), w = randn(c.w, dt, &g).requires_grad_();
    Tensor b = c.bias ? randn({c.w[0]}, dt, &g) : Tensor();
    Tensor y = run_case(c, x, w, b);
    Tensor dy = randn(y.shape(), dt, &g);
    y.backward(dy);
    const std::vector<double> dyv = dy.to_vector<double>();
    const RefConv ref = ref_conv2d(x.detach(), w.detach(), b, c, &dyv);
    ASSERT_EQ(y.shape(), ref.y_shape) << c.name;
    expect_near_all(y.to_vector<double>(), ref.y, tol, "forward", c.name);
    if (input_grad) expect_near_all(x.grad().to_vector<double>(), ref.dx, tol, "dx", c.name);
    EXPECT_FALSE(!input_grad && x.grad().defined()) << c.name;
    expect_near_all(w.grad().to_vector<double>(), ref.dw, tol, "dw", c.name);
}

/// expect_case_matches_direct_loops for every case, on 1 and 2 threads, in float32 and float64.
void expect_cases_match_direct_loops(const std::vector<ConvCase>& cases, std::uint64_t seed, bool input_grad = true) {
    const int saved_threads = get_num_threads();
    for (int threads : {1, 2})
        for (DType dt : {DType::Float32, DType::Float64}) {
            set_num_threads(threads);
            SCOPED_TRACE(std::to_string(threads) + " threads, " + dtype_name(dt));
            for (const ConvCase& c : cases) expect_case_matches_direct_loops(c, dt, seed, input_grad);
        }
    set_num_threads(saved_threads);
}

/// Depthwise geometries (groups = in channels) for every depthwise path: planes, tiles, strides.
const std::vector<ConvCase>& depthwise_cases() {
    static const std::vector<ConvCase> all = {
        {"3x3 pad 1", {3, 8, 6, 5}, {8, 1, 3, 3}, true, 1, 1, 1, 8},
        {"3x3 stride 2 (MobileNet's downsampling)", {2, 6, 9, 8}, {6, 1, 3, 3}, false, 2, 1, 1, 6},
        {"5x5 pad 2 (EfficientNet)", {2, 4, 7, 7}, {4, 1, 5, 5}, true, 1, 2, 1, 4},
        {"multiplier 3, dilation 2", {2, 3, 9, 10}, {9, 1, 3, 3}, true, 1, 2, 2, 3},
        {"non-square, stride 2x1, padding 0x2", {2, 4, 8, 5}, {8, 1, 2, 5}, false, Size2{2, 1}, Size2{0, 2}, 1, 4},
        {"1x1 maps", {4, 16, 1, 1}, {16, 1, 3, 3}, true, 1, 1, 1, 16},
        {"kernel larger than the map", {2, 5, 2, 3}, {5, 1, 3, 3}, true, 1, 1, 1, 5},
        {"wide planes", {1, 2, 3, 37}, {2, 1, 3, 3}, true, 1, 1, 1, 2},
        {"21 channels on 3x5 (a tile and 5 lanes)", {2, 21, 3, 5}, {21, 1, 3, 3}, true, 1, 1, 1, 21},
        {"17 channels 5x5 stride 2 on 7x7", {3, 17, 7, 7}, {17, 1, 5, 5}, false, 2, 2, 1, 17},
        {"stride 2 on 1x1 maps", {2, 18, 1, 1}, {18, 1, 3, 3}, true, 2, 1, 1, 18},
        {"3x3 stride 2 on a 33x30 map", {2, 5, 33, 30}, {5, 1, 3, 3}, true, 2, 1, 1, 5},
        {"3x3 stride 1 on a 17x17 map (past the tiles' bound)", {2, 3, 17, 17}, {3, 1, 3, 3}, true, 1, 1, 1, 3},
        {"960 channels on 4x4 (MobileNetV2's last blocks)", {2, 960, 4, 4}, {960, 1, 3, 3}, false, 1, 1, 1, 960},
    };
    return all;
}

}  // namespace

TEST(Conv2d, ForwardMatchesDirectLoops) {
    for (DType dt : {DType::Float32, DType::Float64}) {
        const double tol = dt == DType::Float32 ? 2e-5 : 1e-12;
        for (const ConvCase& c : cases()) {
            Generator g(3);
            Tensor x = randn(c.x, dt, &g), w = randn(c.w, dt, &g);
            Tensor b = c.bias ? randn({c.w[0]}, dt, &g) : Tensor();
            Tensor y = run_case(c, x, w, b);
            const RefConv ref = ref_conv2d(x, w, b, c);
            ASSERT_EQ(y.shape(), ref.y_shape) << c.name;
            EXPECT_EQ(y.dtype(), dt);
            expect_near_all(y.to_vector<double>(), ref.y, tol, "forward", c.name);
        }
    }
}

TEST(Conv2d, BackwardMatchesDirectLoops) {
    for (DType dt : {DType::Float32, DType::Float64}) {
        const double tol = dt == DType::Float32 ? 1e-4 : 1e-12;
        for (const ConvCase& c : cases()) {
            Generator g(5);
            Tensor x = randn(c.x, dt, &g).requires_grad_(), w = randn(c.w, dt, &g).requires_grad_();
            Tensor b = c.bias ? randn({c.w[0]}, dt, &g).requires_grad_() : Tensor();
            Tensor y = run_case(c, x, w, b);
            Tensor dy = randn(y.shape(), dt, &g);
            y.backward(dy);
            const std::vector<double> dyv = dy.to_vector<double>();
            const RefConv ref = ref_conv2d(x.detach(), w.detach(), b.defined() ? b.detach() : Tensor(), c, &dyv);
            expect_near_all(x.grad().to_vector<double>(), ref.dx, tol, "dx", c.name);
            expect_near_all(w.grad().to_vector<double>(), ref.dw, tol, "dw", c.name);
            if (c.bias) {
                const Tensor db = sum(dy, {0, 2, 3});
                expect_near_all(b.grad().to_vector<double>(), db.to_vector<double>(), tol, "db", c.name);
            }
        }
    }
}

TEST(Conv2d, ShiftedPlanesAndPackedWeightsMatchDirectLoops) {
    // Stride 1 with OW = W: the shifted-plane im2col/col2im. The last case is not (OW ≠ W) but has
    // two K blocks of packed weights.
    const std::vector<ConvCase> shifted = {
        {"cnn-like", {3, 5, 8, 8}, {6, 5, 3, 3}, true, 1, 1, 1, 1},
        {"3 channels in, dW as col · dyᵀ", {3, 3, 9, 7}, {32, 3, 3, 3}, true, 1, 1, 1, 1},
        {"one column", {2, 3, 5, 1}, {4, 3, 3, 3}, true, 1, 1, 1, 1},
        {"5x5 pad 2", {1, 2, 4, 3}, {3, 2, 5, 5}, false, 1, 2, 1, 1},
        {"taps wholly in the padding", {2, 2, 5, 2}, {2, 2, 3, 3}, true, 1, 3, 3, 1},
        {"1x3", {2, 3, 4, 6}, {4, 3, 1, 3}, true, 1, Size2{0, 1}, 1, 1},
        {"OH < H", {2, 3, 6, 5}, {4, 3, 3, 3}, true, 1, Size2{0, 1}, 1, 1},
        {"groups 2, one image", {1, 4, 5, 6}, {6, 2, 3, 3}, true, 1, 1, 1, 2},
        {"two K blocks", {3, 64, 5, 4}, {20, 64, 3, 3}, true, 1, 1, 1, 1},
        {"two K blocks, valid", {3, 64, 5, 4}, {13, 64, 3, 3}, false, 1, 0, 1, 1},
    };
    expect_cases_match_direct_loops(shifted, 9);
}

TEST(Conv2d, GradcheckEveryOption) {
    for (const ConvCase& c : cases()) {
        Tensor x = leaf64(c.x, 11), w = leaf64(c.w, 12);
        if (c.bias) {
            Tensor b = leaf64({c.w[0]}, 13);
            EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return run_case(c, in[0], in[1], in[2]); }, x, w,
                             b);
        } else {
            EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return run_case(c, in[0], in[1], Tensor()); }, x,
                             w);
        }
    }
}

TEST(Conv2d, GradcheckNonContiguousAndUnbatched) {
    // x stored as [N, H, W, C] and permuted: strided input
    Tensor x = leaf64({2, 6, 5, 3}, 21).permute({0, 3, 1, 2}).detach().requires_grad_();
    ASSERT_FALSE(x.is_contiguous());
    Tensor w = leaf64({4, 3, 3, 2}, 22), b = leaf64({4}, 23);
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return F::conv2d(in[0], in[1], in[2], 2, 1); }, x, w, b);
    Tensor x3 = leaf64({3, 5, 6}, 24);
    Tensor y3 = F::conv2d(x3, w, b, 1, 1);
    EXPECT_EQ(y3.shape(), (Shape{4, 5, 7}));
    EXPECT_TRUE(allclose(y3, F::conv2d(x3.unsqueeze(0), w, b, 1, 1).squeeze(0)));
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return F::conv2d(in[0], in[1], in[2], 1, 1); }, x3, w, b);
}

TEST(Conv2d, BatchedAndPerImagePathsMatchDirectLoops) {
    // More than one image, one group, and up to 32 output pixels per image, or up to 256 with at
    // least 2^17 weights: the batch is multiplied at once, its columns side by side; otherwise
    // image by image.
    const std::vector<ConvCase> paths = {
        {"batched 3x3", {4, 6, 4, 4}, {8, 6, 3, 3}, true, 1, 1, 1, 1},
        {"batched stride 2", {5, 8, 7, 7}, {6, 8, 3, 3}, true, 2, 1, 1, 1},
        {"groups 2, small maps: per image", {5, 8, 7, 7}, {6, 4, 3, 3}, true, 2, 1, 1, 2},
        {"batched 1x1", {3, 16, 2, 2}, {24, 16, 1, 1}, false, 1, 0, 1, 1},
        {"batched 1x1 stride 2 (downsample)", {3, 8, 5, 5}, {16, 8, 1, 1}, false, 2, 0, 1, 1},
        {"batched, one pixel per image", {6, 12, 1, 1}, {5, 12, 1, 1}, true, 1, 0, 1, 1},
        {"64 pixels, few weights: per image", {3, 8, 8, 8}, {8, 8, 3, 3}, true, 1, 1, 1, 1},
        {"per image 3x3", {2, 3, 17, 16}, {4, 3, 3, 3}, true, 1, 1, 1, 1},
        {"per image stride 2, groups 2", {2, 4, 34, 33}, {6, 2, 3, 3}, false, 2, 1, 1, 2},
        {"per image 1x1", {2, 5, 17, 17}, {3, 5, 1, 1}, true, 1, 0, 1, 1},
        {"one image", {1, 6, 4, 4}, {8, 6, 3, 3}, true, 1, 1, 1, 1},
    };
    expect_cases_match_direct_loops(paths, 13);
}

TEST(Conv2d, StrideTwoMatchesDirectLoops) {
    // Stride 2 along the width (the stem and every downsampling conv of a ResNet) copies and adds
    // its even columns with the stride known to the compiler: runs long enough for the vector
    // loop and its remainder, odd maps and paddings, batch 1 and 3, per image and batched; maps
    // of at most 64 output pixels through the table of input offsets (gather_table).
    const std::vector<ConvCase> strided = {
        {"stem-like 7x7 s2 p3, odd map", {3, 3, 21, 19}, {5, 3, 7, 7}, true, 2, 3, 1, 1},
        {"stem-like 7x7 s2 p3, batch 1", {1, 3, 23, 24}, {4, 3, 7, 7}, false, 2, 3, 1, 1},
        {"3x3 s2 p1, wide rows", {3, 5, 9, 37}, {6, 5, 3, 3}, true, 2, 1, 1, 1},
        {"3x3 s2 p1, small map batched", {3, 24, 7, 7}, {20, 24, 3, 3}, false, 2, 1, 1, 1},
        {"3x3 s2 p1, small map batch 1", {1, 24, 7, 9}, {20, 24, 3, 3}, true, 2, 1, 1, 1},
        {"1x1 s2, odd map", {3, 7, 11, 13}, {9, 7, 1, 1}, false, 2, 0, 1, 1},
        {"3x3 stride 1x2 dilation 2", {3, 4, 10, 33}, {5, 4, 3, 3}, true, Size2{1, 2}, 2, 2, 1},
        // Maps of at most 64 output pixels read through the offset table (taps in the padding too).
        {"3x3 s2 p2 dilation 2, 3x3 out", {3, 5, 5, 6}, {4, 5, 3, 3}, true, 2, 2, 2, 1},
        {"5x5 stride 3 pad 2", {1, 3, 8, 10}, {2, 3, 5, 5}, false, 3, 2, 1, 1},
        {"3x3 s2 p1 onto 8x8, grouped", {3, 6, 15, 16}, {4, 3, 3, 3}, true, 2, 1, 1, 2},
    };
    expect_cases_match_direct_loops(strided, 31);
}

TEST(Conv2d, BandedWeightGradientMatchesDirectLoops) {
    // Per-image column matrices above 512 KB (strided, im2col's general path) are built and
    // multiplied into dW in bands of output rows: several bands and a short last one, groups,
    // batch 1 and 3, and (float64) bands of half the rows.
    const std::vector<ConvCase> banded = {
        {"7x7 s2 p3, 3 bands", {1, 5, 71, 67}, {6, 5, 7, 7}, true, 2, 3, 1, 1},
        {"7x7 s2 p3, batch 3", {3, 4, 67, 45}, {7, 4, 7, 7}, false, 2, 3, 1, 1},
        {"7x7 s2 p3, groups 2", {2, 6, 60, 50}, {4, 3, 7, 7}, true, 2, 3, 1, 2},
    };
    expect_cases_match_direct_loops(banded, 37);
}

TEST(Conv2d, WeightGradientOrientationsMatchDirectLoops) {
    // The weight gradient is computed as dWᵀ only when Kg = C·kh·kw is under 32 and below Og;
    // otherwise in dW's own layout, whichever side is larger. Each case on both paths.
    const std::vector<ConvCase> cases = {
        {"Kg 27 < 32 < Og 40, per image", {2, 3, 9, 9}, {40, 3, 3, 3}, true, 1, 1, 1, 1},
        {"Kg 27 < 32 < Og 40, batched", {3, 3, 4, 4}, {40, 3, 3, 3}, false, 1, 1, 1, 1},
        {"Og 48 > Kg 36 >= 32, per image", {2, 4, 9, 9}, {48, 4, 3, 3}, true, 1, 1, 1, 1},
        {"Og 80 > Kg 40 >= 32, batched 1x1 stride 2", {3, 40, 7, 7}, {80, 40, 1, 1}, false, 2, 0, 1, 1},
        {"Og 8 < Kg 45, batched", {3, 5, 4, 4}, {8, 5, 3, 3}, true, 1, 1, 1, 1},
    };
    expect_cases_match_direct_loops(cases, 23);
}

TEST(Conv2d, BatchedPathInChunksMatchesDirectLoops) {
    // 10 images of 1024·9·25 floats of columns each (900 KB): chunks of 9 and 1 images under the
    // 8 MB bound; the weight gradient accumulates over the chunks.
    const ConvCase c{"batched in chunks of images", {10, 1024, 5, 5}, {4, 1024, 3, 3}, true, 1, 1, 1, 1};
    expect_case_matches_direct_loops(c, DType::Float32, 19);
}

TEST(Conv2d, DepthwiseMatchesDirectLoops) {
    // groups = in channels: the direct per-plane loops and the tiles, forward, dx and dw, with m
    // filters per channel.
    expect_cases_match_direct_loops(depthwise_cases(), 17);
}

// A trainable convolution whose input needs no gradient (the first trainable layer after a
// frozen prefix: MobileNetV2's features.1 starts with its depthwise conv) computes dw alone; the
// weights, which only dx reads, are then not saved.
TEST(Conv2d, WeightGradientAloneMatchesDirectLoopsOnEveryPath) {
    expect_cases_match_direct_loops(cases(), 18, /*input_grad=*/false);
    expect_cases_match_direct_loops(depthwise_cases(), 19, /*input_grad=*/false);
}

TEST(Conv2d, DepthwiseGradcheckAndThreadIndependence) {
    const ConvCase c{"depthwise", {2, 4, 5, 6}, {8, 1, 3, 3}, true, 2, 1, 1, 4};
    Tensor x = leaf64(c.x, 31), w = leaf64(c.w, 32), b = leaf64({8}, 33);
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return run_case(c, in[0], in[1], in[2]); }, x, w, b);
    // One filter per channel (the tile kernels), 18 channels (a full tile and 2 lanes), stride 1 and 2.
    for (std::int64_t stride : {1, 2}) {
        const ConvCase t{"depthwise tiles", {2, 18, 3, 5}, {18, 1, 3, 3}, true, stride, 1, 1, 18};
        Tensor xt = leaf64(t.x, 35), wt = leaf64(t.w, 36), bt = leaf64({18}, 37);
        EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return run_case(t, in[0], in[1], in[2]); }, xt, wt, bt);
    }
    // Enough planes (20×20 maps: the plane kernels) and tiles (7×7 maps, 200 channels: the tile
    // kernels) to be spread over threads; every thread count gives the same bits.
    Generator g(34);
    const Tensor x0 = randn({6, 32, 20, 20}, DType::Float32, &g), w0 = randn({32, 1, 3, 3}, DType::Float32, &g);
    const Tensor dy = randn({6, 32, 20, 20}, DType::Float32, &g);
    const Tensor x1 = randn({6, 200, 7, 7}, DType::Float32, &g), w1 = randn({200, 1, 3, 3}, DType::Float32, &g);
    const Tensor dy1 = randn({6, 200, 7, 7}, DType::Float32, &g);
    const int saved_threads = get_num_threads();
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        std::vector<float> all;
        for (const auto& [xs, ws, dys] : {std::tuple{x0, w0, dy}, std::tuple{x1, w1, dy1}}) {
            Tensor xi = xs.clone().requires_grad_(), wi = ws.clone().requires_grad_();
            Tensor y = F::conv2d(xi, wi, Tensor(), 1, 1, 1, ws.size(0));
            y.backward(dys);
            for (const Tensor& t : {y, xi.grad(), wi.grad()}) {
                const std::vector<float> v = t.to_vector<float>();
                all.insert(all.end(), v.begin(), v.end());
            }
        }
        results.push_back(std::move(all));
    }
    set_num_threads(saved_threads);
    EXPECT_EQ(results[0], results[1]);
    EXPECT_EQ(results[0], results[2]);
}

TEST(Conv2d, WeightGradientIndependentOfThreadCount) {
    // Odd image count, so threads get unequal shares and several partial sums are reduced; large
    // enough (N·O·OH·OW·C·kh·kw ≈ 2.2M multiply-adds) to be spread over the threads, and more
    // than kBatchedMaxPixels output pixels per image, so the images are spread over the threads.
    const ConvCase c{"threads", {7, 8, 17, 16}, {16, 8, 3, 3}, true, 1, 1, 1, 1};
    Generator g(8);
    Tensor x0 = randn(c.x, DType::Float64, &g), w0 = randn(c.w, DType::Float64, &g);
    Tensor dy = randn({7, 16, 17, 16}, DType::Float64, &g);
    const std::vector<double> dyv = dy.to_vector<double>();
    const RefConv ref = ref_conv2d(x0, w0, Tensor(), c, &dyv);
    const int saved_threads = get_num_threads();
    for (int threads : {1, 2, 3, 7}) {
        set_num_threads(threads);
        Tensor x = x0.detach().clone().requires_grad_(), w = w0.detach().clone().requires_grad_();
        F::conv2d(x, w, Tensor(), c.stride, c.padding).backward(dy);
        expect_near_all(w.grad().to_vector<double>(), ref.dw, 1e-12, "dw", "threads");
        expect_near_all(x.grad().to_vector<double>(), ref.dx, 1e-12, "dx", "threads");
    }
    set_num_threads(saved_threads);
}

TEST(Conv2d, ComputesOnlyTheNeededGradients) {
    Generator g(9);
    Tensor x = randn({2, 3, 5, 5}, DType::Float32, &g).requires_grad_();
    Tensor w = randn({4, 3, 3, 3}, DType::Float32, &g);  // frozen weight
    Tensor b = randn({4}, DType::Float32, &g).requires_grad_();
    F::conv2d(x, w, b, 1, 1).sum().backward();
    EXPECT_FALSE(w.grad().defined());
    EXPECT_TRUE(x.grad().defined());
    EXPECT_TRUE(b.grad().defined());

    // Input without grad: only the weight gradient, and it is still right.
    Tensor x2 = randn({2, 3, 5, 5}, DType::Float64, &g);
    Tensor w2 = randn({4, 3, 3, 3}, DType::Float64, &g).requires_grad_();
    Tensor y = F::conv2d(x2, w2, Tensor(), 1, 1);
    auto node = y.grad_fn();
    ASSERT_NE(node, nullptr);
    EXPECT_FALSE(node->needs_input_grad(0));
    EXPECT_TRUE(node->needs_input_grad(1));
    Tensor dy = ones(y.shape(), DType::Float64);
    y.backward(dy);
    const std::vector<double> dyv = dy.to_vector<double>();
    const ConvCase c{"w only", {2, 3, 5, 5}, {4, 3, 3, 3}, false, 1, 1, 1, 1};
    expect_near_all(w2.grad().to_vector<double>(), ref_conv2d(x2, w2.detach(), Tensor(), c, &dyv).dw, 1e-12, "dw",
                    c.name);

    // Nothing requires grad: no graph at all.
    EXPECT_EQ(F::conv2d(x2, w2.detach(), Tensor(), 1, 1).grad_fn(), nullptr);
}

TEST(Conv2d, LayerMatchesFunctionalAndFreezes) {
    manual_seed(4);
    nn::Conv2d conv(4, 6, {3, 2}, {.stride = 2, .padding = {1, 0}, .groups = 2});
    EXPECT_EQ(conv.weight.shape(), (Shape{6, 2, 3, 2}));
    EXPECT_EQ(conv.bias.shape(), (Shape{6}));
    const auto named = conv.named_parameters();
    ASSERT_EQ(named.size(), 2u);
    EXPECT_EQ(named[0].first, "weight");
    EXPECT_EQ(named[1].first, "bias");
    Tensor x = randn({3, 4, 7, 6});
    Tensor y = conv.forward(x);
    EXPECT_TRUE(allclose(y, F::conv2d(x, conv.weight, conv.bias, 2, Size2{1, 0}, 1, 2)));
    EXPECT_EQ(y.shape(), (Shape{3, 6, 4, 3}));

    conv.freeze();
    Tensor xg = randn({3, 4, 7, 6}).requires_grad_();
    conv.forward(xg).sum().backward();
    EXPECT_FALSE(conv.weight.grad().defined());
    EXPECT_FALSE(conv.bias.grad().defined());
    EXPECT_TRUE(xg.grad().defined());

    auto twin = nn::clone(conv);
    EXPECT_TRUE(allclose(twin->forward(x), y));
    EXPECT_FALSE(twin->weight.shares_storage(conv.weight));
}

TEST(Conv2d, DefaultInitIsPyTorchs) {
    manual_seed(1);
    nn::Conv2d conv(6, 32, 3, {.groups = 2});
    const double bound = 1.0 / std::sqrt(3.0 * 3.0 * 3.0);  // fan_in = 6/2·3·3
    for (const Tensor& t : {conv.weight, conv.bias}) {
        const Tensor a = abs(t.detach());
        EXPECT_LE(max(a).item(), bound);
        EXPECT_GT(max(a).item(), 0.8 * bound);  // spread over the range, not a narrower one
        EXPECT_NEAR(mean(t.detach()).item(), 0.0, 0.2 * bound);
    }
    // U(−b, b) has variance b²/3.
    EXPECT_NEAR(var(conv.weight.detach()).item(), bound * bound / 3.0, 0.15 * bound * bound / 3.0);
    nn::Conv2d nobias(3, 4, 1, {.bias = false});
    EXPECT_FALSE(nobias.bias.defined());
    EXPECT_EQ(nobias.named_parameters().size(), 1u);
}

TEST(Conv2d, Repr) {
    EXPECT_EQ(nn::Conv2d(3, 16, 3).repr(), "Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1))");
    EXPECT_EQ(nn::Conv2d(3, 16, 3, {.stride = 2, .padding = 1, .bias = false}).repr(),
              "Conv2d(3, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)");
    EXPECT_EQ(nn::Conv2d(4, 8, {1, 3}, {.padding = {0, 1}, .dilation = 2, .groups = 4}).repr(),
              "Conv2d(4, 8, kernel_size=(1, 3), stride=(1, 1), padding=(0, 1), dilation=(2, 2), groups=4)");
}

TEST(Conv2d, ErrorsNameTheOpAndShapes) {
    Tensor x = randn({2, 4, 8, 8});
    EXPECT_THROW_MSG(F::conv2d(x, randn({16, 3, 3, 3})), ShapeError,
                     "conv2d: input has 4 channels, weight expects 3 (input [2, 4, 8, 8], weight [16, 3, 3, 3])");
    EXPECT_THROW_MSG(F::conv2d(x, randn({6, 3, 3, 3}), Tensor(), 1, 0, 1, 2), ShapeError,
                     "conv2d: input has 4 channels, weight expects 6");
    EXPECT_THROW_MSG(F::conv2d(x, randn({5, 2, 3, 3}), Tensor(), 1, 0, 1, 2), ShapeError,
                     "not divisible by groups 2");
    EXPECT_THROW_MSG(F::conv2d(x, randn({16, 4, 3}), Tensor()), ShapeError, "conv2d: weight must be 4-D");
    EXPECT_THROW_MSG(F::conv2d(randn({4, 8}), randn({16, 4, 3, 3})), ShapeError,
                     "conv2d: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got [4, 8]");
    EXPECT_THROW_MSG(F::conv2d(x, randn({16, 4, 3, 3}), randn({15})), ShapeError,
                     "conv2d: bias has shape [15], expected [16]");
    EXPECT_THROW_MSG(F::conv2d(x, randn({16, 4, 5, 5}), Tensor(), 1, 0, 3), ShapeError,
                     "conv2d: kernel 5x5 with dilation 3x3 spans 13x13, larger than the padded input 8x8");
    EXPECT_THROW_MSG(F::conv2d(x, randn({16, 4, 3, 3}), Tensor(), 0), ValueError, "conv2d: stride must be positive");
    EXPECT_THROW_MSG(F::conv2d(x, randn({16, 4, 3, 3}), Tensor(), 1, -1), ValueError,
                     "conv2d: padding must be non-negative");
    EXPECT_THROW_MSG(F::conv2d(x, randn({16, 4, 3, 3}, DType::Float64)), DTypeError, "conv2d");
    EXPECT_THROW_MSG(F::conv2d(x.to(DType::Int64), randn({16, 4, 3, 3}).to(DType::Int64)), DTypeError, "conv2d");

    nn::Conv2d conv(3, 16, 3);
    EXPECT_THROW_MSG(conv.forward(x), ShapeError,
                     "Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1)): input has 4 channels, layer expects 3 "
                     "(input shape [2, 4, 8, 8])");
    EXPECT_THROW_MSG(conv.forward(randn({3, 8})), ShapeError, "expected a 3-D [C, H, W] or 4-D [N, C, H, W] input");
    EXPECT_THROW_MSG(nn::Conv2d(3, 16, 3, {.groups = 2}), ValueError, "divisible by groups 2");
    EXPECT_THROW_MSG(nn::Conv2d(3, 16, 0), ValueError, "kernel_size must be positive");
}

namespace {

/// max |got − want| / max |want|: the error relative to the values' scale (a sum's rounding
/// error scales with its terms, not with the sum, so an element near 0 is not held to its own size).
double scaled_error(const std::vector<double>& got, const std::vector<double>& want) {
    double err = 0, scale = 0;
    for (std::size_t k = 0; k < got.size(); ++k) {
        err = std::max(err, std::abs(got[k] - want[k]));
        scale = std::max(scale, std::abs(want[k]));
    }
    return err / std::max(scale, 1e-30);
}

/// 3×3, stride 1, padding 1 with ≥ 16 channels in and out: the shapes of the Winograd path.
const std::vector<ConvCase>& winograd_cases() {
    static const std::vector<ConvCase> all = {
        {"odd H and W, partial tiles", {3, 16, 7, 5}, {17, 16, 3, 3}, true, 1, 1, 1, 1},
        {"H = 1", {2, 17, 1, 6}, {16, 17, 3, 3}, false, 1, 1, 1, 1},
        {"H = 2, W = 3", {5, 16, 2, 3}, {19, 16, 3, 3}, true, 1, 1, 1, 1},
        {"W = 1, H = 3", {2, 20, 3, 1}, {16, 20, 3, 3}, false, 1, 1, 1, 1},
        {"batch not a whole number of chunks", {13, 16, 9, 9}, {24, 16, 3, 3}, true, 1, 1, 1, 1},
        {"O < C, several K blocks", {4, 70, 8, 10}, {33, 70, 3, 3}, true, 1, 1, 1, 1},
        {"CNN-like 16x16", {3, 32, 16, 16}, {48, 32, 3, 3}, false, 1, 1, 1, 1},
    };
    return all;
}

}  // namespace

TEST(Conv2dWinograd, ForwardAndInputGradientMatchDirectLoops) {
    const int saved_threads = get_num_threads();
    const std::string saved_isa = active_isa();
    double worst_y = 0, worst_dx = 0;
    for (const ConvCase& c : winograd_cases()) {
        ASSERT_TRUE(F::winograd_eligible(c.x[0], c.x[1], c.w[0], c.x[2], c.x[3], 3, 3, 1, 1, 1, 1, 1, 1, 1)) << c.name;
        Generator g(17);
        Tensor x = randn(c.x, DType::Float32, &g), w = randn(c.w, DType::Float32, &g);
        Tensor b = c.bias ? randn({c.w[0]}, DType::Float32, &g) : Tensor();
        Tensor dy = randn({c.x[0], c.w[0], c.x[2], c.x[3]}, DType::Float32, &g);
        const std::vector<double> dyv = dy.to_vector<double>();
        const RefConv ref = ref_conv2d(x, w, b, c, &dyv);
        for (const std::string& isa : available_isas())
            for (int threads : {1, 2}) {
                set_isa(isa);
                set_num_threads(threads);
                Tensor xg = x.detach().clone().requires_grad_(), wg = w.detach().clone().requires_grad_();
                Tensor y = run_case(c, xg, wg, b);
                ASSERT_EQ(y.shape(), ref.y_shape) << c.name;
                y.backward(dy);
                const double ey = scaled_error(y.to_vector<double>(), ref.y);
                const double edx = scaled_error(xg.grad().to_vector<double>(), ref.dx);
                worst_y = std::max(worst_y, ey);
                worst_dx = std::max(worst_dx, edx);
                EXPECT_LT(ey, 1e-5) << "forward " << c.name << " " << isa << " threads " << threads;
                EXPECT_LT(edx, 1e-5) << "dx " << c.name << " " << isa << " threads " << threads;
                EXPECT_LT(scaled_error(wg.grad().to_vector<double>(), ref.dw), 1e-5) << "dw " << c.name;
            }
    }
    set_isa(saved_isa);
    set_num_threads(saved_threads);
    RecordProperty("max_scaled_error_forward", std::to_string(worst_y));
    RecordProperty("max_scaled_error_dx", std::to_string(worst_dx));
    std::printf("Winograd max scaled error: forward %.3g, dx %.3g\n", worst_y, worst_dx);
}

TEST(Conv2dWinograd, InputGradientMatchesIm2colPath) {
    // The same values through the double path (im2col, not Winograd): the float32 Winograd dx and
    // y agree with it to float32 rounding; only dx is asked for (w needs no gradient).
    const ConvCase c{"dx only", {6, 24, 11, 6}, {20, 24, 3, 3}, true, 1, 1, 1, 1};
    Generator g(23);
    Tensor x = randn(c.x, DType::Float32, &g).requires_grad_(), w = randn(c.w, DType::Float32, &g);
    Tensor b = randn({c.w[0]}, DType::Float32, &g);
    Tensor dy = randn({6, 20, 11, 6}, DType::Float32, &g);
    Tensor y = run_case(c, x, w, b);
    y.backward(dy);
    Tensor x64 = x.detach().to(DType::Float64).requires_grad_();
    Tensor y64 = run_case(c, x64, w.to(DType::Float64), b.to(DType::Float64));
    y64.backward(dy.to(DType::Float64));
    EXPECT_LT(scaled_error(y.to_vector<double>(), y64.to_vector<double>()), 1e-5);
    EXPECT_LT(scaled_error(x.grad().to_vector<double>(), x64.grad().to_vector<double>()), 1e-5);
    EXPECT_FALSE(w.grad().defined());
}

/// `t` with the elements at the given flat indices set to the given values.
Tensor with_values(const Tensor& t, const std::vector<std::pair<std::int64_t, float>>& at) {
    std::vector<float> v = t.to_vector<float>();
    for (const auto& [i, value] : at) v[static_cast<std::size_t>(i)] = value;
    return from_vector(v, t.shape());
}

/// Compares got with want element by element: the same NaNs and infinities, the finite values
/// within 1e-5 of the largest finite |want|. Returns how many of want are infinite.
int expect_same_nonfinite(const Tensor& got_t, const Tensor& want_t, const std::string& what) {
    const std::vector<double> got = got_t.to_vector<double>(), want = want_t.to_vector<double>();
    EXPECT_EQ(got.size(), want.size()) << what;
    double scale = 1e-30;
    for (double v : want)
        if (std::isfinite(v)) scale = std::max(scale, std::abs(v));
    int infinite = 0, wrong = 0;
    for (std::size_t k = 0; k < std::min(got.size(), want.size()); ++k) {
        const bool same = std::isnan(want[k])   ? std::isnan(got[k])
                          : std::isinf(want[k]) ? got[k] == want[k]
                                                : std::abs(got[k] - want[k]) <= 1e-5 * scale;
        infinite += std::isinf(want[k]) ? 1 : 0;
        if (!same && wrong++ == 0)
            ADD_FAILURE() << what << ": element " << k << " is " << got[k] << ", im2col gives " << want[k];
    }
    EXPECT_EQ(wrong, 0) << what << ": elements that differ";
    return infinite;
}

TEST(Conv2dWinograd, NonFiniteValuesGiveWhatIm2colGives) {
    // Winograd's transforms subtract inputs (inf − inf = NaN where the direct sum is inf): such
    // calls take the im2col path. The float64 conv is im2col's reference (Winograd is float32 only).
    const ConvCase c{"non-finite", {3, 16, 8, 8}, {16, 16, 3, 3}, true, 1, 1, 1, 1};
    ASSERT_TRUE(F::winograd_eligible(3, 16, 16, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1));
    constexpr float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    const auto at = [](std::int64_t n, std::int64_t ch, std::int64_t i, std::int64_t j) {
        return ((n * 16 + ch) * 8 + i) * 8 + j;  // [N or O, 16, 8 or 3, 8 or 3]; weights use ((o·16 + c)·3 + i)·3 + j
    };
    Generator g(37);
    const Tensor x = randn(c.x, DType::Float32, &g), w = randn(c.w, DType::Float32, &g);
    const Tensor b = randn({16}, DType::Float32, &g), dy = randn({3, 16, 8, 8}, DType::Float32, &g);
    struct Run {
        const char* what;
        Tensor x, w, dy;
    };
    const std::vector<Run> runs = {
        {"input: +inf inside, -inf on the edge, NaN",
         with_values(x, {{at(0, 3, 3, 4), inf}, {at(1, 7, 7, 0), -inf}, {at(2, 9, 2, 5), nan}}), w, dy},
        {"weight: +inf at a centre tap", x, with_values(w, {{((2 * 16 + 5) * 3 + 1) * 3 + 1, inf}}), dy},
        {"output gradient: +inf, -inf", x, w, with_values(dy, {{at(0, 4, 5, 5), inf}, {at(2, 0, 0, 7), -inf}})},
    };
    const int saved_threads = get_num_threads();
    const std::string saved_isa = active_isa();
    for (const Run& r : runs) {
        Tensor x64 = r.x.to(DType::Float64).requires_grad_();
        Tensor y64 = run_case(c, x64, r.w.to(DType::Float64), b.to(DType::Float64));
        y64.backward(r.dy.to(DType::Float64));
        for (const std::string& isa : available_isas())
            for (int threads : {1, 2}) {
                set_isa(isa);
                set_num_threads(threads);
                const std::string what = std::string(r.what) + " (" + isa + ", " + std::to_string(threads) + " threads)";
                Tensor xg = r.x.clone().requires_grad_();
                Tensor y = run_case(c, xg, r.w, b);
                y.backward(r.dy);
                const int infinite_y = expect_same_nonfinite(y, y64, "forward, " + what);
                const int infinite_dx = expect_same_nonfinite(xg.grad(), x64.grad(), "dx, " + what);
                EXPECT_GT(infinite_y + infinite_dx, 0) << what;  // the case has infinities to keep
            }
    }
    set_isa(saved_isa);
    set_num_threads(saved_threads);
}

TEST(Conv2dWinograd, DeterministicForAThreadCount) {
    const ConvCase c{"deterministic", {9, 16, 10, 7}, {32, 16, 3, 3}, true, 1, 1, 1, 1};
    Generator g(29);
    Tensor x0 = randn(c.x, DType::Float32, &g), w = randn(c.w, DType::Float32, &g);
    Tensor b = randn({c.w[0]}, DType::Float32, &g), dy = randn({9, 32, 10, 7}, DType::Float32, &g);
    const int saved_threads = get_num_threads();
    for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        std::vector<float> first_y, first_dx;
        for (int rep = 0; rep < 2; ++rep) {
            Tensor x = x0.detach().clone().requires_grad_();
            Tensor y = run_case(c, x, w, b);
            y.backward(dy);
            if (rep == 0) {
                first_y = y.to_vector<float>();
                first_dx = x.grad().to_vector<float>();
            } else {
                EXPECT_EQ(y.to_vector<float>(), first_y) << threads;
                EXPECT_EQ(x.grad().to_vector<float>(), first_dx) << threads;
            }
        }
    }
    set_num_threads(saved_threads);
}
