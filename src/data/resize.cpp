// resize_image and Resize: PyTorch's antialiased bilinear resampling (interpolate(...,
// antialias=True), the filter torchvision's F.resize uses on tensors), one axis at a time: the
// width first, then the height, each skipped when its size does not change.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "data/checked_image.hpp"
#include "graft/data/image_transforms.hpp"

namespace graft::data {

namespace {

/// For each output index, the first input index it reads and the normalised filter weights.
struct AxisWeights {
    std::vector<std::int64_t> first;
    std::vector<std::int64_t> count;
    std::vector<double> weights;  // count[i] values per output index, from offset[i]
    std::vector<std::int64_t> offset;
};

/// Output i is centred at scale·(i + ½) in input coordinates, scale = in / out; the triangle filter
/// spans ±support = ±max(scale, 1) input pixels and is stretched by the scale when shrinking.
/// Input pixels outside [0, in) are left out and the weights renormalised (PyTorch's
/// _compute_indices_weights_aa).
AxisWeights axis_weights(std::int64_t in, std::int64_t out) {
    const double scale = static_cast<double>(in) / static_cast<double>(out);
    const double support = scale >= 1.0 ? scale : 1.0;
    const double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
    AxisWeights a;
    for (std::int64_t i = 0; i < out; ++i) {
        const double center = scale * (static_cast<double>(i) + 0.5);
        const auto lo = std::max<std::int64_t>(static_cast<std::int64_t>(center - support + 0.5), 0);
        const auto hi = std::min<std::int64_t>(static_cast<std::int64_t>(center + support + 0.5), in);
        a.first.push_back(lo);
        a.count.push_back(hi - lo);
        a.offset.push_back(static_cast<std::int64_t>(a.weights.size()));
        double total = 0;
        for (std::int64_t j = lo; j < hi; ++j) {
            const double w = std::max(0.0, 1.0 - std::abs((static_cast<double>(j) - center + 0.5) * invscale));
            a.weights.push_back(w);
            total += w;
        }
        if (total != 0)
            for (std::int64_t k = 0; k < hi - lo; ++k) a.weights[static_cast<std::size_t>(a.offset.back() + k)] /= total;
    }
    return a;
}

/// Resamples the contiguous [outer, in, inner] array along its middle axis to `out` values.
Tensor resample_axis(const Tensor& x, std::int64_t outer, std::int64_t in, std::int64_t inner, std::int64_t out,
                     const Shape& out_shape) {
    const AxisWeights a = axis_weights(in, out);
    Tensor y = empty(out_shape);
    const float* src = x.data_ptr<float>();
    float* dst = y.data_ptr<float>();
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t i = 0; i < out; ++i) {
            const double* w = a.weights.data() + a.offset[static_cast<std::size_t>(i)];
            const std::int64_t first = a.first[static_cast<std::size_t>(i)], n = a.count[static_cast<std::size_t>(i)];
            for (std::int64_t k = 0; k < inner; ++k) {
                double sum = 0;
                for (std::int64_t j = 0; j < n; ++j) sum += w[j] * src[(o * in + first + j) * inner + k];
                dst[(o * out + i) * inner + k] = static_cast<float>(sum);
            }
        }
    return y;
}

}  // namespace

Tensor resize_image(const Tensor& image, std::int64_t height, std::int64_t width) {
    Tensor x = detail::checked_image(image, "resize_image");
    const std::int64_t C = x.size(0), H = x.size(1), W = x.size(2);
    if (height <= 0 || width <= 0)
        throw ValueError("resize_image: output size " + std::to_string(height) + "×" + std::to_string(width) +
                         " must be positive");
    if (H <= 0 || W <= 0) throw ShapeError("resize_image: cannot resize an empty image " + shape_str(image.shape()));
    if (width != W) x = resample_axis(x, C * H, W, 1, width, {C, H, width});
    if (height != H) x = resample_axis(x, C, H, width, height, {C, height, width});
    return x.data_ptr<float>() == image.data_ptr<float>() ? x.clone() : x;
}

Resize::Resize(std::int64_t size) : height_(size), width_(0) {
    if (size <= 0) throw ValueError("Resize: size " + std::to_string(size) + " must be positive");
}

Resize::Resize(std::int64_t height, std::int64_t width) : height_(height), width_(width) {
    if (height <= 0 || width <= 0)
        throw ValueError("Resize: size " + std::to_string(height) + "×" + std::to_string(width) + " must be positive");
}

std::pair<std::int64_t, std::int64_t> Resize::output_size(std::int64_t H, std::int64_t W) const {
    if (width_ != 0) return {height_, width_};
    // torchvision: the short edge becomes size, the long one int(size · long / short).
    const std::int64_t short_edge = std::min(H, W), long_edge = std::max(H, W);
    const auto other = static_cast<std::int64_t>(static_cast<double>(height_) * static_cast<double>(long_edge) /
                                                 static_cast<double>(short_edge));
    return H <= W ? std::pair{height_, other} : std::pair{other, height_};
}

Tensor Resize::operator()(const Tensor& image) const {
    if (image.dim() != 3)
        throw ShapeError("Resize: expects an image [C, H, W], got " + shape_str(image.shape()));
    const auto [h, w] = output_size(image.size(1), image.size(2));
    return resize_image(image, h, w);
}

}  // namespace graft::data
