// Random image augmentation on float32 [C, H, W]: RandomCrop (with zero padding) and
// RandomHorizontalFlip. Both allocate their output; neither writes into its input.
#include <algorithm>
#include <cstring>
#include <string>

#include "data/checked_image.hpp"
#include "graft/data/transforms.hpp"

namespace graft::data {

using detail::checked_image;

RandomCrop::RandomCrop(std::int64_t height, std::int64_t width, std::int64_t padding)
    : height_(height), width_(width), padding_(padding) {
    if (height <= 0 || width <= 0 || padding < 0)
        throw ValueError("RandomCrop: size " + std::to_string(height) + "×" + std::to_string(width) +
                         " must be positive and padding " + std::to_string(padding) + " non-negative");
}

Tensor RandomCrop::operator()(const Tensor& image, Generator& gen) const {
    const Tensor src = checked_image(image, "RandomCrop");
    const std::int64_t C = src.size(0), H = src.size(1), W = src.size(2);
    const std::int64_t padded_h = H + 2 * padding_, padded_w = W + 2 * padding_;
    if (height_ > padded_h || width_ > padded_w)
        throw ShapeError("RandomCrop: a " + std::to_string(height_) + "×" + std::to_string(width_) +
                         " window does not fit in image " + shape_str(image.shape()) + " padded by " +
                         std::to_string(padding_) + " (" + std::to_string(padded_h) + "×" + std::to_string(padded_w) +
                         ")");
    // Window origin in unpadded coordinates (negative = inside the padding).
    const std::int64_t top = gen.randint(0, padded_h - height_ + 1) - padding_;
    const std::int64_t left = gen.randint(0, padded_w - width_ + 1) - padding_;
    Tensor out = zeros({C, height_, width_});
    const float* x = src.data_ptr<float>();
    float* y = out.data_ptr<float>();
    // Columns of the window that fall inside the image: [x_begin, x_end) in window coordinates.
    const std::int64_t x_begin = std::max<std::int64_t>(0, -left);
    const std::int64_t x_end = std::min<std::int64_t>(width_, W - left);
    for (std::int64_t c = 0; c < C; ++c)
        for (std::int64_t r = 0; r < height_; ++r) {
            const std::int64_t src_row = top + r;
            if (src_row < 0 || src_row >= H || x_begin >= x_end) continue;
            std::memcpy(y + (c * height_ + r) * width_ + x_begin, x + (c * H + src_row) * W + left + x_begin,
                        static_cast<std::size_t>(x_end - x_begin) * sizeof(float));
        }
    return out;
}

RandomHorizontalFlip::RandomHorizontalFlip(double p) : p_(p) {
    if (!(p >= 0.0 && p <= 1.0)) throw ValueError("RandomHorizontalFlip: p = " + std::to_string(p) + " is not in [0, 1]");
}

Tensor RandomHorizontalFlip::operator()(const Tensor& image, Generator& gen) const {
    const Tensor src = checked_image(image, "RandomHorizontalFlip");
    if (!(gen.uniform() < p_)) return image;
    const std::int64_t rows = src.size(0) * src.size(1), W = src.size(2);
    Tensor out = empty(src.shape());
    const float* x = src.data_ptr<float>();
    float* y = out.data_ptr<float>();
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t j = 0; j < W; ++j) y[r * W + j] = x[r * W + (W - 1 - j)];
    return out;
}

}  // namespace graft::data
