// nn::functional::interpolate and nn::Upsample: forward and backward against
// torch.nn.functional.interpolate (tests/golden/make_interpolate_golden.py), gradchecks of both
// modes on odd shapes, and the errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "golden_compare.hpp"
#include "graft/graft.hpp"
#include "test_util.hpp"

using namespace graft;
namespace F = graft::nn::functional;
using F::InterpolateMode;

namespace {

const io::SafetensorsFile& golden() {
    static const io::SafetensorsFile file =
        io::read_safetensors(std::filesystem::path(GRAFT_TEST_DATA_DIR) / "interpolate.safetensors");
    return file;
}

Tensor cosine_like(const Tensor& y) {
    std::vector<float> g(static_cast<std::size_t>(y.numel()));
    for (std::size_t i = 0; i < g.size(); ++i) g[i] = static_cast<float>(std::cos(0.29 * static_cast<double>(i)));
    return from_vector(g, y.shape());
}

F::InterpolateOptions by_size(nn::Size2 size, InterpolateMode mode, bool corners = false) {
    F::InterpolateOptions o;
    o.size = size, o.mode = mode, o.align_corners = corners;
    return o;
}
F::InterpolateOptions by_scale(F::Scale2 scale, InterpolateMode mode, bool corners = false) {
    F::InterpolateOptions o;
    o.scale_factor = scale, o.mode = mode, o.align_corners = corners;
    return o;
}

}  // namespace

TEST(Interpolate, MatchesPyTorchForwardAndBackward) {
    const auto N = InterpolateMode::Nearest, B = InterpolateMode::Bilinear;
    const std::vector<std::pair<std::string, F::InterpolateOptions>> cases = {
        {"nearest_up", by_size({8, 11}, N)},
        {"nearest_down", by_size({3, 4}, N)},
        {"nearest_x2", by_scale(2.0, N)},
        {"nearest_s1.5x0.7", by_scale({1.5, 0.7}, N)},
        {"bilinear_up", by_size({8, 11}, B)},
        {"bilinear_up_corners", by_size({8, 11}, B, true)},
        {"bilinear_down", by_size({3, 4}, B)},
        {"bilinear_s1.7", by_scale(1.7, B)},
        {"bilinear_1x1_corners", by_size({1, 1}, B, true)},
    };
    const Tensor x0 = golden().tensors.at("x");
    for (const auto& [name, options] : cases) {
        SCOPED_TRACE(name);
        Tensor x = x0.clone().requires_grad_();
        const Tensor y = F::interpolate(x, options);
        (y * cosine_like(y)).sum().backward();
        test::expect_close(name + ".out", y, golden().tensors.at(name + ".out"), {1e-6, 1e-5});
        test::expect_close(name + ".grad", x.grad(), golden().tensors.at(name + ".grad"), {1e-5, 1e-5});
    }
}

TEST(Interpolate, GradcheckBothModesOnOddShapes) {
    for (const auto& options : {by_size({5, 4}, InterpolateMode::Bilinear), by_size({2, 7}, InterpolateMode::Bilinear, true),
                                by_scale({1.5, 0.6}, InterpolateMode::Bilinear), by_size({5, 2}, InterpolateMode::Nearest)}) {
        const Tensor x = test::leaf64({2, 1, 3, 5});
        const auto result = graft::testing::gradcheck([&](const std::vector<Tensor>& in) { return F::interpolate(in[0], options); }, {x});
        EXPECT_TRUE(result.ok) << result.message;
    }
    // A non-contiguous input (a transposed view) gives the same values as its contiguous copy.
    const Tensor t = test::leaf64({1, 2, 5, 3}).transpose(2, 3);
    const auto o = by_size({4, 6}, InterpolateMode::Bilinear);
    EXPECT_EQ(F::interpolate(t, o).to_vector<double>(), F::interpolate(t.contiguous(), o).to_vector<double>());
}

TEST(Interpolate, RejectsBadArguments) {
    const Tensor x = zeros({1, 1, 4, 4});
    EXPECT_THROW(F::interpolate(zeros({4, 4}), by_size(2, InterpolateMode::Nearest)), ShapeError);
    EXPECT_THROW(F::interpolate(x, F::InterpolateOptions{}), ValueError);  // neither size nor factor
    F::InterpolateOptions both = by_size(2, InterpolateMode::Nearest);
    both.scale_factor = 2.0;
    EXPECT_THROW(F::interpolate(x, both), ValueError);
    EXPECT_THROW(F::interpolate(x, by_size(2, InterpolateMode::Nearest, true)), ValueError);
    EXPECT_THROW(F::interpolate(x, by_size({0, 3}, InterpolateMode::Bilinear)), ValueError);
    EXPECT_THROW(F::interpolate(x, by_scale(0.1, InterpolateMode::Bilinear)), ValueError);  // 0×0 output
    EXPECT_THROW(F::interpolate(x, by_scale(-2.0, InterpolateMode::Bilinear)), ValueError);
    EXPECT_THROW(F::interpolate(zeros({1, 1, 4, 4}, DType::Int64), by_size(2, InterpolateMode::Nearest)), DTypeError);
}

TEST(Upsample, ForwardsToInterpolateAndPrintsLikePyTorch) {
    nn::Upsample up(by_scale(2.0, InterpolateMode::Nearest));
    EXPECT_EQ(up.repr(), "Upsample(scale_factor=2.0, mode='nearest')");
    nn::Upsample to(by_size({7, 9}, InterpolateMode::Bilinear));
    EXPECT_EQ(to.repr(), "Upsample(size=(7, 9), mode='bilinear')");
    const Tensor x = golden().tensors.at("x");
    EXPECT_EQ(up.forward(x).to_vector<float>(), golden().tensors.at("nearest_x2.out").to_vector<float>());
    EXPECT_TRUE(up.parameters().empty());
    EXPECT_THROW(nn::Upsample(F::InterpolateOptions{}), ValueError);
}
