// images_from_array: pixel arrays (CHW or HWC, bytes or floats) → float32 [N, C, H, W] datasets.
#include "graft/data/images.hpp"

#include <string>
#include <vector>

namespace graft::data {

namespace {

template <class Pixel>
std::shared_ptr<TensorDataset> make_image_dataset(std::span<const Pixel> pixels, std::span<const std::int64_t> labels,
                                                  ImageShape shape, PixelLayout layout, float divisor) {
    const auto [C, H, W] = shape;
    if (C <= 0 || H <= 0 || W <= 0)
        throw ValueError("images_from_array: image shape (channels " + std::to_string(C) + ", height " +
                         std::to_string(H) + ", width " + std::to_string(W) + ") must be positive");
    const auto n = static_cast<std::int64_t>(labels.size());
    const std::int64_t per_image = C * H * W;
    if (static_cast<std::int64_t>(pixels.size()) != n * per_image)
        throw ValueError("images_from_array: " + std::to_string(pixels.size()) + " pixel values, expected " +
                         std::to_string(n * per_image) + " for " + std::to_string(n) + " labels × " +
                         std::to_string(C) + "×" + std::to_string(H) + "×" + std::to_string(W));
    Tensor inputs = empty({n, C, H, W});
    float* out = inputs.data_ptr<float>();
    for (std::int64_t i = 0; i < n; ++i) {
        const Pixel* src = pixels.data() + i * per_image;
        float* dst = out + i * per_image;
        if (layout == PixelLayout::CHW) {
            for (std::int64_t k = 0; k < per_image; ++k) dst[k] = static_cast<float>(src[k]) / divisor;
        } else {
            for (std::int64_t p = 0; p < H * W; ++p)
                for (std::int64_t c = 0; c < C; ++c) dst[c * H * W + p] = static_cast<float>(src[p * C + c]) / divisor;
        }
    }
    Tensor targets = from_vector<std::int64_t>(std::vector<std::int64_t>(labels.begin(), labels.end()), {n});
    return std::make_shared<TensorDataset>(inputs, targets);
}

}  // namespace

std::shared_ptr<TensorDataset> images_from_array(std::span<const float> pixels, std::span<const std::int64_t> labels,
                                                 ImageShape shape, PixelLayout layout) {
    return make_image_dataset(pixels, labels, shape, layout, 1.0f);
}

std::shared_ptr<TensorDataset> images_from_array(std::span<const std::uint8_t> pixels,
                                                 std::span<const std::int64_t> labels, ImageShape shape,
                                                 PixelLayout layout) {
    return make_image_dataset(pixels, labels, shape, layout, 255.0f);
}

}  // namespace graft::data
