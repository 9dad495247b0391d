// crop_image, CenterCrop and RandomResizedCrop: windows of a float32 [C, H, W] image, as
// torchvision's F.crop, F.center_crop and RandomResizedCrop.get_params choose them.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "data/checked_image.hpp"
#include "graft/data/image_transforms.hpp"

namespace graft::data {

Tensor crop_image(const Tensor& image, std::int64_t top, std::int64_t left, std::int64_t height, std::int64_t width) {
    const Tensor src = detail::checked_image(image, "crop_image");
    if (height <= 0 || width <= 0)
        throw ValueError("crop_image: window " + std::to_string(height) + "×" + std::to_string(width) +
                         " must be positive");
    const std::int64_t C = src.size(0), H = src.size(1), W = src.size(2);
    Tensor out = zeros({C, height, width});
    const float* x = src.data_ptr<float>();
    float* y = out.data_ptr<float>();
    // Columns of the window inside the image: [begin, end) in window coordinates.
    const std::int64_t begin = std::clamp<std::int64_t>(-left, 0, width);
    const std::int64_t end = std::clamp<std::int64_t>(W - left, begin, width);
    for (std::int64_t c = 0; c < C; ++c)
        for (std::int64_t r = 0; r < height; ++r) {
            const std::int64_t row = top + r;
            if (row < 0 || row >= H || begin >= end) continue;
            std::memcpy(y + (c * height + r) * width + begin, x + (c * H + row) * W + left + begin,
                        static_cast<std::size_t>(end - begin) * sizeof(float));
        }
    return out;
}

CenterCrop::CenterCrop(std::int64_t height, std::int64_t width) : height_(height), width_(width) {
    if (height <= 0 || width <= 0)
        throw ValueError("CenterCrop: size " + std::to_string(height) + "×" + std::to_string(width) +
                         " must be positive");
}

Tensor CenterCrop::operator()(const Tensor& image) const {
    if (image.dim() != 3)
        throw ShapeError("CenterCrop: expects an image [C, H, W], got " + shape_str(image.shape()));
    const std::int64_t H = image.size(1), W = image.size(2);
    // torchvision pads a smaller image first ((crop − size) // 2 before), then crops at
    // int(round((size − crop) / 2.0)); both come to this origin. nearbyint rounds half to even, as
    // Python's round does.
    const auto origin = [](std::int64_t size, std::int64_t crop) -> std::int64_t {
        if (crop > size) return -((crop - size) / 2);
        return static_cast<std::int64_t>(std::nearbyint(static_cast<double>(size - crop) / 2.0));
    };
    return crop_image(image, origin(H, height_), origin(W, width_), height_, width_);
}

RandomResizedCrop::RandomResizedCrop(std::int64_t height, std::int64_t width, Options options)
    : height_(height), width_(width), options_(options) {
    if (height <= 0 || width <= 0)
        throw ValueError("RandomResizedCrop: size " + std::to_string(height) + "×" + std::to_string(width) +
                         " must be positive");
    const auto [s0, s1] = options.scale;
    const auto [r0, r1] = options.ratio;
    if (!(s0 > 0 && s0 <= s1 && s1 <= 1) || !(r0 > 0 && r0 <= r1))
        throw ValueError("RandomResizedCrop: scale (" + std::to_string(s0) + ", " + std::to_string(s1) +
                         ") must satisfy 0 < min ≤ max ≤ 1 and ratio (" + std::to_string(r0) + ", " +
                         std::to_string(r1) + ") 0 < min ≤ max");
}

CropBox RandomResizedCrop::sample(std::int64_t H, std::int64_t W, Generator& gen) const {
    const double area = static_cast<double>(H) * static_cast<double>(W);
    const double log_r0 = std::log(options_.ratio.first), log_r1 = std::log(options_.ratio.second);
    const auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * gen.uniform(); };
    for (int attempt = 0; attempt < 10; ++attempt) {
        const double target_area = area * uniform(options_.scale.first, options_.scale.second);
        const double aspect = std::exp(uniform(log_r0, log_r1));
        const auto w = static_cast<std::int64_t>(std::nearbyint(std::sqrt(target_area * aspect)));
        const auto h = static_cast<std::int64_t>(std::nearbyint(std::sqrt(target_area / aspect)));
        if (0 < w && w <= W && 0 < h && h <= H) {
            const std::int64_t top = gen.randint(0, H - h + 1);
            const std::int64_t left = gen.randint(0, W - w + 1);
            return {top, left, h, w};
        }
    }
    // The fallback: the whole image, cut to the ratio range, centred.
    const double in_ratio = static_cast<double>(W) / static_cast<double>(H);
    std::int64_t w = W, h = H;
    if (in_ratio < options_.ratio.first)
        h = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::nearbyint(static_cast<double>(w) / options_.ratio.first)));
    else if (in_ratio > options_.ratio.second)
        w = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::nearbyint(static_cast<double>(h) * options_.ratio.second)));
    return {(H - h) / 2, (W - w) / 2, h, w};
}

Tensor RandomResizedCrop::operator()(const Tensor& image, Generator& gen) const {
    if (image.dim() != 3)
        throw ShapeError("RandomResizedCrop: expects an image [C, H, W], got " + shape_str(image.shape()));
    const CropBox box = sample(image.size(1), image.size(2), gen);
    return resize_image(crop_image(image, box.top, box.left, box.height, box.width), height_, width_);
}

}  // namespace graft::data
