// Resize, CenterCrop, RandomResizedCrop and resize_image against torchvision's functional ops on
// float images (tests/golden/make_image_golden.py → image_transforms.safetensors), and
// RandomResizedCrop's window sampling.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "golden_compare.hpp"
#include "graft/graft.hpp"

using namespace graft;

namespace {

const io::SafetensorsFile& golden() {
    static const io::SafetensorsFile file =
        io::read_safetensors(std::filesystem::path(GRAFT_TEST_DATA_DIR) / "image_transforms.safetensors");
    return file;
}

const Tensor& g(const std::string& name) { return golden().tensors.at(name); }

constexpr test::Tolerance kTol{1e-4, 0};

}  // namespace

TEST(ImageTransforms, ResizeMatchesTorchvisionAntialiasedBilinear) {
    test::expect_close("resize.A.4x6", data::Resize(4, 6)(g("x.A")), g("resize.A.4x6"), kTol);
    test::expect_close("resize.A.11x15", data::Resize(11, 15)(g("x.A")), g("resize.A.11x15"), kTol);
    test::expect_close("resize.A.5x13", data::Resize(5, 13)(g("x.A")), g("resize.A.5x13"), kTol);
    test::expect_close("resize.A.short6", data::Resize(6)(g("x.A")), g("resize.A.short6"), kTol);
    test::expect_close("resize.B.short9", data::Resize(9)(g("x.B")), g("resize.B.short9"), kTol);
    test::expect_close("resize.B.2x2", data::resize_image(g("x.B"), 2, 2), g("resize.B.2x2"), kTol);
    // The same size is a copy, not a view.
    const Tensor same = data::Resize(7, 10)(g("x.A"));
    EXPECT_EQ(same.to_vector<float>(), g("x.A").to_vector<float>());
    EXPECT_NE(same.data_ptr<float>(), g("x.A").data_ptr<float>());
}

TEST(ImageTransforms, CenterCropMatchesTorchvisionIncludingPadding) {
    test::expect_close("center_crop.A.4", data::CenterCrop(4)(g("x.A")), g("center_crop.A.4"), {0, 0});
    test::expect_close("center_crop.A.5x3", data::CenterCrop(5, 3)(g("x.A")), g("center_crop.A.5x3"), {0, 0});
    test::expect_close("center_crop.B.6x5", data::CenterCrop(6, 5)(g("x.B")), g("center_crop.B.6x5"), {0, 0});
    test::expect_close("center_crop.A.12", data::CenterCrop(12)(g("x.A")), g("center_crop.A.12"), {0, 0});
}

TEST(ImageTransforms, ResizedCropMatchesTorchvision) {
    const Tensor crop = data::crop_image(g("x.A"), 1, 2, 5, 6);
    test::expect_close("resized_crop", data::resize_image(crop, 8, 8), g("resized_crop.A.1_2_5_6.to8x8"), kTol);
}

TEST(ImageTransforms, RandomResizedCropDrawsWindowsInsideTheRanges) {
    const data::RandomResizedCrop rrc(8);
    Generator gen(5);
    double min_fraction = 1, max_fraction = 0;
    for (int i = 0; i < 500; ++i) {
        const data::CropBox b = rrc.sample(40, 60, gen);
        ASSERT_GE(b.top, 0);
        ASSERT_GE(b.left, 0);
        ASSERT_LE(b.top + b.height, 40);
        ASSERT_LE(b.left + b.width, 60);
        const double fraction = static_cast<double>(b.height * b.width) / (40.0 * 60.0);
        min_fraction = std::min(min_fraction, fraction), max_fraction = std::max(max_fraction, fraction);
        // Rounding each side to whole pixels moves the ratio a little past the range's ends.
        const double ratio = static_cast<double>(b.width) / static_cast<double>(b.height);
        EXPECT_GE(ratio, 0.75 * 0.85);
        EXPECT_LE(ratio, 4.0 / 3.0 / 0.85);
    }
    EXPECT_LT(min_fraction, 0.15);
    EXPECT_GT(max_fraction, 0.8);
    // No window of scale ≥ 0.99 and ratio 2…3 fits a square image: the fallback is the centred
    // full-width window cut to ratio 2 (torchvision's get_params).
    const data::RandomResizedCrop wide(8, {.scale = {0.99, 1.0}, .ratio = {2.0, 3.0}});
    const data::CropBox f = wide.sample(30, 30, gen);
    EXPECT_EQ(f.width, 30);
    EXPECT_EQ(f.height, 15);
    EXPECT_EQ(f.top, 7);
    EXPECT_EQ(f.left, 0);
    // The transform: a size×size image, the same for the same generator state.
    Generator g1(9), g2(9);
    const Tensor a = rrc(g("x.A"), g1), b = rrc(g("x.A"), g2);
    EXPECT_EQ(a.shape(), (Shape{3, 8, 8}));
    EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
}

TEST(ImageTransforms, RejectBadSizesAndShapes) {
    EXPECT_THROW(data::Resize(0), ValueError);
    EXPECT_THROW(data::Resize(3, -1), ValueError);
    EXPECT_THROW(data::CenterCrop(0), ValueError);
    EXPECT_THROW(data::RandomResizedCrop(4, {.scale = {0.5, 0.2}}), ValueError);
    EXPECT_THROW(data::RandomResizedCrop(4, {.ratio = {0.0, 1.0}}), ValueError);
    EXPECT_THROW(data::Resize(4)(zeros({4, 4})), ShapeError);
    EXPECT_THROW(data::CenterCrop(2)(zeros({1, 4, 4}, DType::Float64)), DTypeError);
    EXPECT_THROW(data::resize_image(zeros({1, 0, 4}), 2, 2), ShapeError);
}

TEST(ImageTransforms, NormalizeImagenetHoldsTorchvisionsStatistics) {
    const data::Normalize n = data::Normalize::imagenet();
    EXPECT_EQ(n.mean(), (std::vector<float>{0.485f, 0.456f, 0.406f}));
    EXPECT_EQ(n.std(), (std::vector<float>{0.229f, 0.224f, 0.225f}));
}
