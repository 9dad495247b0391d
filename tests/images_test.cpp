// images_from_array: CHW and HWC layouts, byte scaling, labels, and size validation.
#include <vector>

#include "test_util.hpp"

using namespace graft;
using namespace graft::data;

TEST(DataImages, HwcBytesBecomeChwFloatsInZeroOne) {
    // Two 2×2 RGB images, pixel by pixel: image i, pixel p, channel c holds 100i + 10p + c.
    std::vector<std::uint8_t> pixels;
    for (int i = 0; i < 2; ++i)
        for (int p = 0; p < 4; ++p)
            for (int c = 0; c < 3; ++c) pixels.push_back(static_cast<std::uint8_t>(100 * i + 10 * p + c));
    auto ds = images_from_array(pixels, std::vector<std::int64_t>{4, 9}, {.channels = 3, .height = 2, .width = 2},
                                PixelLayout::HWC);
    ASSERT_EQ(ds->size(), 2u);
    EXPECT_EQ(ds->inputs().shape(), (Shape{2, 3, 2, 2}));
    const Example second = ds->get(1);
    std::vector<float> want;
    for (int c = 0; c < 3; ++c)
        for (int p = 0; p < 4; ++p) want.push_back(static_cast<float>(100 + 10 * p + c) / 255.0f);
    EXPECT_EQ(second.input.to_vector<float>(), want);
    EXPECT_EQ(second.target.item<std::int64_t>(), 9);
}

TEST(DataImages, ChwFloatsAreCopiedAsTheyAre) {
    std::vector<float> pixels = {0.5f, -1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
    auto ds = images_from_array(pixels, std::vector<std::int64_t>{1}, {.channels = 2, .height = 1, .width = 3});
    pixels[0] = 99.0f;  // the dataset holds its own copy
    EXPECT_EQ(ds->get(0).input.to_vector<float>(), (std::vector<float>{0.5f, -1.0f, 2.0f, 3.0f, 4.0f, 5.0f}));
    EXPECT_EQ(ds->get(0).input.shape(), (Shape{2, 1, 3}));
}

TEST(DataImages, RejectsSizesThatDoNotAddUp) {
    std::vector<std::uint8_t> pixels(10);
    EXPECT_THROW_MSG(images_from_array(pixels, std::vector<std::int64_t>{0, 1}, {.channels = 1, .height = 2, .width = 3}),
                     ValueError, "10 pixel values, expected 12 for 2 labels × 1×2×3");
    EXPECT_THROW_MSG(images_from_array(pixels, std::vector<std::int64_t>{0}, {.channels = 1, .height = 0, .width = 3}),
                     ValueError, "must be positive");
}
