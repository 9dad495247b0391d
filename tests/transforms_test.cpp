// Per-sample transforms: Normalize numerics, RandomCrop against a per-element reference,
// RandomHorizontalFlip, Compose, compute_mean_std, and reproducible augmentation through
// TransformedDataset and the DataLoader.
#include <cmath>
#include <set>
#include <utility>
#include <vector>

#include "test_util.hpp"

using namespace graft;
using namespace graft::data;

namespace {

/// A float32 [C, H, W] image whose element (c, y, x) is 100c + 10y + x + 1 (never 0).
Tensor numbered_image(std::int64_t C, std::int64_t H, std::int64_t W) {
    std::vector<float> v;
    for (std::int64_t c = 0; c < C; ++c)
        for (std::int64_t y = 0; y < H; ++y)
            for (std::int64_t x = 0; x < W; ++x) v.push_back(static_cast<float>(100 * c + 10 * y + x + 1));
    return from_vector<float>(v, {C, H, W});
}

/// Reference crop: element by element with explicit bounds, the window's origin given in padded
/// coordinates.
std::vector<float> reference_crop(const Tensor& image, std::int64_t top, std::int64_t left, std::int64_t h,
                                  std::int64_t w, std::int64_t padding) {
    const std::int64_t C = image.size(0), H = image.size(1), W = image.size(2);
    const std::vector<float> src = image.to_vector<float>();
    std::vector<float> out;
    for (std::int64_t c = 0; c < C; ++c)
        for (std::int64_t y = 0; y < h; ++y)
            for (std::int64_t x = 0; x < w; ++x) {
                const std::int64_t sy = top + y - padding, sx = left + x - padding;
                const bool inside = sy >= 0 && sy < H && sx >= 0 && sx < W;
                out.push_back(inside ? src[static_cast<std::size_t>((c * H + sy) * W + sx)] : 0.0f);
            }
    return out;
}

}  // namespace

TEST(Transforms, NormalizePerChannelPerFeatureAndShared) {
    Tensor image = from_vector<float>({1, 2, 3, 4, 10, 20, 30, 40}, {2, 2, 2});
    Tensor per_channel = Normalize({2.0f, 20.0f}, {0.5f, 10.0f})(image);
    EXPECT_EQ(per_channel.shape(), image.shape());
    EXPECT_EQ(per_channel.to_vector<float>(), (std::vector<float>{-2, 0, 2, 4, -1, 0, 1, 2}));
    Tensor features = from_vector<float>({1, 4, 9});
    EXPECT_EQ(Normalize({1, 2, 3}, {1, 2, 3})(features).to_vector<float>(), (std::vector<float>{0, 1, 2}));
    EXPECT_EQ(Normalize({1}, {2})(features).to_vector<float>(), (std::vector<float>{0, 1.5f, 4}));
    // A strided input gives the same result as its contiguous copy; the input is left alone.
    Tensor strided = image.transpose(1, 2);
    EXPECT_EQ(Normalize({2.0f, 20.0f}, {0.5f, 10.0f})(strided).to_vector<float>(),
              Normalize({2.0f, 20.0f}, {0.5f, 10.0f})(strided.contiguous()).to_vector<float>());
    EXPECT_EQ(image.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 10, 20, 30, 40}));
}

TEST(Transforms, NormalizeRejectsBadStatisticsAndInputs) {
    EXPECT_THROW_MSG(Normalize({0, 0}, {1}), ValueError, "mean has 2 values and std 1");
    EXPECT_THROW_MSG(Normalize({0}, {0}), ValueError, "std[0] = 0.000000 must be positive");
    EXPECT_THROW_MSG(Normalize({}, {}), ValueError, "mean has 0 values");
    EXPECT_THROW_MSG(Normalize({0, 0}, {1, 1})(zeros({3, 4, 4})), ShapeError,
                     "input [3, 4, 4] has 3 entries along dimension 0, the statistics have 2");
    EXPECT_THROW(Normalize({0}, {1})(zeros({3}, DType::Int64)), DTypeError);
}

TEST(Transforms, RandomCropMatchesTheReferenceWindowForTheDrawnOrigin) {
    const Tensor image = numbered_image(2, 5, 6);
    for (std::int64_t padding : {0, 2}) {
        for (std::uint64_t seed = 0; seed < 40; ++seed) {
            Generator gen(seed), replay(seed);
            const Tensor out = RandomCrop(4, 3, padding)(image, gen);
            ASSERT_EQ(out.shape(), (Shape{2, 4, 3}));
            const std::int64_t top = replay.randint(0, 5 + 2 * padding - 4 + 1);
            const std::int64_t left = replay.randint(0, 6 + 2 * padding - 3 + 1);
            EXPECT_EQ(out.to_vector<float>(), reference_crop(image, top, left, 4, 3, padding))
                << "seed " << seed << ", padding " << padding;
            EXPECT_EQ(gen.next_u64(), replay.next_u64());  // exactly two draws
        }
    }
}

TEST(Transforms, RandomCropReachesEveryWindow) {
    // 3×3 image, padding 1, 3×3 window: 3 × 3 origins, each should come up in 300 draws.
    const Tensor image = numbered_image(1, 3, 3);
    std::set<std::vector<float>> windows;
    Generator gen(1);
    for (int i = 0; i < 300; ++i) windows.insert(RandomCrop(3, 1)(image, gen).to_vector<float>());
    EXPECT_EQ(windows.size(), 9u);
    // Without padding a full-size crop is the image itself.
    EXPECT_EQ(RandomCrop(3)(image, gen).to_vector<float>(), image.to_vector<float>());
}

TEST(Transforms, RandomCropRejectsWindowsThatDoNotFit) {
    Generator gen(0);
    EXPECT_THROW_MSG(RandomCrop(6, 1)(zeros({1, 3, 3}), gen), ShapeError,
                     "a 6×6 window does not fit in image [1, 3, 3] padded by 1 (5×5)");
    EXPECT_THROW_MSG(RandomCrop(2)(zeros({3, 3}), gen), ShapeError, "expects an image [C, H, W], got [3, 3]");
    EXPECT_THROW(RandomCrop(0), ValueError);
    EXPECT_THROW(RandomCrop(2, 2, -1), ValueError);
}

TEST(Transforms, RandomHorizontalFlipMirrorsWithProbabilityP) {
    const Tensor image = numbered_image(2, 2, 3);
    Generator gen(3);
    const Tensor flipped = RandomHorizontalFlip(1.0)(image, gen);
    EXPECT_EQ(flipped.to_vector<float>(), (std::vector<float>{3, 2, 1, 13, 12, 11, 103, 102, 101, 113, 112, 111}));
    const Tensor kept = RandomHorizontalFlip(0.0)(image, gen);
    EXPECT_TRUE(kept.shares_storage(image));
    int flips = 0;
    for (int i = 0; i < 4000; ++i)
        if (RandomHorizontalFlip(0.3)(image, gen).to_vector<float>()[0] == 3.0f) ++flips;
    EXPECT_NEAR(flips / 4000.0, 0.3, 0.03);  // sd ≈ 0.007
    EXPECT_THROW(RandomHorizontalFlip(1.5), ValueError);
    EXPECT_THROW(RandomHorizontalFlip(0.5)(zeros({4}), gen), ShapeError);
}

TEST(Transforms, ComposeAppliesInOrderWithOneGenerator) {
    const Example sample{numbered_image(1, 4, 4), scalar_tensor(7, DType::Int64)};
    Compose pipeline{RandomCrop(3, 1), RandomHorizontalFlip(0.5), Normalize({1}, {2})};
    Generator gen(5), replay(5);
    const Example out = pipeline(sample, gen);
    Tensor manual = RandomCrop(3, 1)(sample.input, replay);
    manual = RandomHorizontalFlip(0.5)(manual, replay);
    manual = Normalize({1}, {2})(manual);
    EXPECT_EQ(out.input.to_vector<float>(), manual.to_vector<float>());
    EXPECT_EQ(out.target.item<std::int64_t>(), 7);
    EXPECT_EQ(sample.input.to_vector<float>(), numbered_image(1, 4, 4).to_vector<float>());  // untouched
}

TEST(Transforms, AugmentationIsReproduciblePerEpochAndThreadCount) {
    std::vector<float> pixels;
    for (int i = 0; i < 12 * 3 * 8 * 8; ++i) pixels.push_back(static_cast<float>(i % 251));
    std::vector<std::int64_t> labels(12, 0);
    auto images = images_from_array(pixels, labels, {.channels = 3, .height = 8, .width = 8});
    auto augmented = std::make_shared<TransformedDataset>(
        images, Compose{RandomCrop(8, 2), RandomHorizontalFlip(0.5), Normalize({100}, {50})}, 17);
    const auto epoch_images = [&](std::size_t threads, std::uint64_t epoch) {
        DataLoader loader(augmented, {.batch_size = 5, .num_threads = threads});
        loader.set_epoch(epoch);
        std::vector<std::vector<float>> out;
        for (const Example& batch : loader) out.push_back(batch.input.to_vector<float>());
        return out;
    };
    const auto e0 = epoch_images(1, 0);
    EXPECT_EQ(epoch_images(4, 0), e0);
    EXPECT_EQ(epoch_images(2, 0), e0);
    EXPECT_NE(epoch_images(1, 1), e0);
    EXPECT_EQ(augmented->get_in_epoch(6, 0).input.to_vector<float>(),
              std::vector<float>(e0[1].begin() + 192, e0[1].begin() + 384));  // sample 6 = batch 1, row 1 (192 values a row)
}

TEST(Transforms, ComputeMeanStdPerChannelAndPerFeature) {
    // Channel 0 holds 1..8, channel 1 holds 10·(1..8), over two images of [2, 2, 2].
    Tensor inputs = from_vector<float>({1, 2, 3, 4, 10, 20, 30, 40, 5, 6, 7, 8, 50, 60, 70, 80}, {2, 2, 2, 2});
    TensorDataset images(inputs, Tensor());
    MeanStd s = compute_mean_std(images);
    ASSERT_EQ(s.mean.size(), 2u);
    const double sd = std::sqrt(5.25);  // population variance of 1..8
    EXPECT_FLOAT_EQ(s.mean[0], 4.5f);
    EXPECT_FLOAT_EQ(s.mean[1], 45.0f);
    EXPECT_FLOAT_EQ(s.std[0], static_cast<float>(sd));
    EXPECT_FLOAT_EQ(s.std[1], static_cast<float>(10 * sd));
    // Normalizing with them gives mean 0 and std 1 per channel.
    Tensor normalized = stack({Normalize(s.mean, s.std)(images.get(0).input), Normalize(s.mean, s.std)(images.get(1).input)});
    MeanStd after = compute_mean_std(TensorDataset(normalized, Tensor()));
    for (int c = 0; c < 2; ++c) {
        EXPECT_NEAR(after.mean[c], 0.0, 1e-6);
        EXPECT_NEAR(after.std[c], 1.0, 1e-6);
    }

    TensorDataset features(from_vector<float>({1, 100, 3, 300}, {2, 2}), Tensor());
    MeanStd f = compute_mean_std(features);
    EXPECT_EQ(f.mean, (std::vector<float>{2, 200}));
    EXPECT_EQ(f.std, (std::vector<float>{1, 100}));
}

TEST(Transforms, ComputeMeanStdStaysAccurateFarFromZero) {
    // Values 1e6 ± 1: one pass of Σx² in float would lose the variance entirely.
    std::vector<float> v;
    for (int i = 0; i < 1000; ++i) v.push_back(1e6f + (i % 2 == 0 ? 1.0f : -1.0f));
    MeanStd s = compute_mean_std(TensorDataset(from_vector<float>(v, {1000, 1}), Tensor()));
    EXPECT_FLOAT_EQ(s.mean[0], 1e6f);
    EXPECT_NEAR(s.std[0], 1.0, 1e-6);
}

TEST(Transforms, ComputeMeanStdErrors) {
    EXPECT_THROW_MSG(compute_mean_std(TensorDataset(zeros({0, 3}), Tensor())), ValueError, "dataset is empty");
    class Ragged final : public Dataset {
    public:
        std::size_t size() const override { return 2; }
        Example get(std::size_t i) const override { return {zeros({i == 0 ? 3 : 2, 4}), Tensor()}; }
    };
    EXPECT_THROW_MSG(compute_mean_std(Ragged()), ShapeError, "sample 1 has input [2, 4], sample 0 has [3, 4]");
}
