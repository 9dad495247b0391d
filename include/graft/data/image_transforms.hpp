// graft/data/image_transforms.hpp — the resizing and cropping transforms of torchvision's image
// pipelines, on float32 [C, H, W] images (what read_image and ImageFolder give).
//
//   data::Compose train_tf{data::RandomResizedCrop(224), data::RandomHorizontalFlip(),
//                          data::Normalize::imagenet()};
//   data::Compose eval_tf{data::Resize(256), data::CenterCrop(224), data::Normalize::imagenet()};
//
// Resizing is torchvision's F.resize(x, size, BILINEAR, antialias=True) on float tensors (the
// separable triangle filter of PyTorch's antialiased interpolate, as in PIL): when shrinking, the
// filter widens by the scale so every input pixel contributes; when enlarging it is bilinear
// interpolation with half-pixel centres. Every transform allocates its output and never writes
// into its input.
#pragma once

#include <cstdint>
#include <utility>

#include "graft/data/dataset.hpp"
#include "graft/random.hpp"
#include "graft/tensor.hpp"

namespace graft::data {

/// `image` [C, H, W] resampled to [C, height, width] with the antialiased bilinear filter.
/// ShapeError unless the input is [C, H, W] with H, W ≥ 1; ValueError for a non-positive size;
/// DTypeError unless float32.
Tensor resize_image(const Tensor& image, std::int64_t height, std::int64_t width);

/// The window [top, top + height) × [left, left + width) of the image, zero where it lies outside
/// (as torchvision's crop pads). ShapeError unless [C, H, W]; ValueError for a non-positive size.
Tensor crop_image(const Tensor& image, std::int64_t top, std::int64_t left, std::int64_t height, std::int64_t width);

/// Resize(size): the smaller edge becomes `size`, the other keeps the aspect ratio (truncated,
/// as torchvision computes it). Resize(height, width): exactly that size.
class Resize {
public:
    /// ValueError for a non-positive size.
    explicit Resize(std::int64_t size);
    Resize(std::int64_t height, std::int64_t width);
    Tensor operator()(const Tensor& image) const;
    Example operator()(Example sample, Generator&) const { return {(*this)(sample.input), std::move(sample.target)}; }
    /// The output size (height, width) for an input of height H and width W.
    std::pair<std::int64_t, std::int64_t> output_size(std::int64_t H, std::int64_t W) const;

private:
    std::int64_t height_, width_;  // width_ == 0: smaller edge to height_
};

/// The central height×width window, its origin rounded half to even as torchvision's
/// round((H − height) / 2); zero padding where the window is larger than the image.
class CenterCrop {
public:
    explicit CenterCrop(std::int64_t size) : CenterCrop(size, size) {}
    /// ValueError for a non-positive size.
    CenterCrop(std::int64_t height, std::int64_t width);
    Tensor operator()(const Tensor& image) const;
    Example operator()(Example sample, Generator&) const { return {(*this)(sample.input), std::move(sample.target)}; }

private:
    std::int64_t height_, width_;
};

/// A window of the image, as RandomResizedCrop::sample draws it.
struct CropBox {
    std::int64_t top, left, height, width;
};

/// The ranges RandomResizedCrop draws from (torchvision's defaults).
struct RandomResizedCropOptions {
    /// The window's area as a fraction of the image's.
    std::pair<double, double> scale{0.08, 1.0};
    /// The window's width / height.
    std::pair<double, double> ratio{3.0 / 4.0, 4.0 / 3.0};
};

/// A random window covering a random fraction `scale` of the image's area with a random aspect
/// ratio (log-uniform in `ratio`), resized to size×size (or height×width): torchvision's
/// RandomResizedCrop, with the antialiased resize.
class RandomResizedCrop {
public:
    using Options = RandomResizedCropOptions;
    explicit RandomResizedCrop(std::int64_t size, Options options = {}) : RandomResizedCrop(size, size, options) {}
    /// ValueError for a non-positive size, or a scale or ratio range that is empty, not
    /// increasing, or (ratio) not positive.
    RandomResizedCrop(std::int64_t height, std::int64_t width, Options options = {});

    /// torchvision's get_params for an H×W image: up to 10 tries of area = H·W·U(scale), aspect
    /// = exp(U(log ratio)), w = round(√(area·aspect)), h = round(√(area/aspect)), kept when it
    /// fits, placed uniformly (top drawn first); otherwise the whole image cut to the nearest
    /// ratio in range, centred.
    CropBox sample(std::int64_t H, std::int64_t W, Generator& gen) const;
    /// ShapeError unless [C, H, W].
    Tensor operator()(const Tensor& image, Generator& gen) const;
    Example operator()(Example sample, Generator& gen) const {
        return {(*this)(sample.input, gen), std::move(sample.target)};
    }

private:
    std::int64_t height_, width_;
    Options options_;
};

}  // namespace graft::data
