// graft/data/transforms.hpp — per-sample transforms for TransformedDataset, and the statistics
// Normalize needs.
//
//   auto stats = data::compute_mean_std(*train);                      // per channel (or feature)
//   data::Compose augment{data::RandomCrop(32, /*padding=*/4), data::RandomHorizontalFlip(0.5),
//                         data::Normalize(stats.mean, stats.std)};
//   auto augmented = std::make_shared<data::TransformedDataset>(train, augment, /*seed=*/7);
//
// Every transform is a callable Example(Example, Generator&) (so it converts to data::Transform),
// changes the input only, leaves the target as it is, and never writes into its argument: a
// sample's tensors may view the dataset's storage. Image transforms take float32 [C, H, W].
#pragma once

#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "graft/data/dataset.hpp"
#include "graft/data/transformed_dataset.hpp"
#include "graft/random.hpp"

namespace graft::data {

/// (x − mean[k]) / std[k] for every element at index k along the input's dimension 0: per feature
/// for [F] inputs, per channel for [C, H, W]. One value each applies to every element.
class Normalize {
public:
    /// ValueError when the sizes differ, a list is empty, or a std is not positive.
    Normalize(std::vector<float> mean, std::vector<float> std);
    /// The ImageNet statistics torchvision's pretrained models expect on RGB inputs in [0, 1]:
    /// mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
    static Normalize imagenet() { return Normalize({0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}); }
    /// ShapeError when the input's dimension 0 matches neither the statistics' size nor 1 value;
    /// DTypeError unless the input is float32.
    Tensor operator()(const Tensor& input) const;
    Example operator()(Example sample, Generator&) const { return {(*this)(sample.input), std::move(sample.target)}; }

    const std::vector<float>& mean() const { return mean_; }
    const std::vector<float>& std() const { return std_; }

private:
    std::vector<float> mean_;
    std::vector<float> std_;
};

/// A random size×size (or height×width) window of the image after zero-padding each side by
/// `padding` pixels. The top edge is drawn first, then the left, uniformly over all windows.
class RandomCrop {
public:
    explicit RandomCrop(std::int64_t size, std::int64_t padding = 0) : RandomCrop(size, size, padding) {}
    /// ValueError for a non-positive size or a negative padding.
    RandomCrop(std::int64_t height, std::int64_t width, std::int64_t padding);
    /// ShapeError unless the input is [C, H, W] with the window fitting inside the padded image.
    Tensor operator()(const Tensor& image, Generator& gen) const;
    Example operator()(Example sample, Generator& gen) const {
        return {(*this)(sample.input, gen), std::move(sample.target)};
    }

private:
    std::int64_t height_, width_, padding_;
};

/// Mirrors the image left–right with probability p (one uniform draw per call).
class RandomHorizontalFlip {
public:
    /// ValueError unless 0 ≤ p ≤ 1.
    explicit RandomHorizontalFlip(double p = 0.5);
    /// ShapeError unless the input is [C, H, W]. Returns the input itself when not flipped.
    Tensor operator()(const Tensor& image, Generator& gen) const;
    Example operator()(Example sample, Generator& gen) const {
        return {(*this)(sample.input, gen), std::move(sample.target)};
    }

private:
    double p_;
};

/// Applies transforms in order, all drawing from the one generator.
class Compose {
public:
    Compose(std::initializer_list<Transform> transforms) : transforms_(transforms) {}
    explicit Compose(std::vector<Transform> transforms) : transforms_(std::move(transforms)) {}
    Example operator()(Example sample, Generator& gen) const {
        for (const Transform& t : transforms_) sample = t(std::move(sample), gen);
        return sample;
    }

private:
    std::vector<Transform> transforms_;
};

/// Per-index statistics along dimension 0 of the inputs, as Normalize takes them.
struct MeanStd {
    std::vector<float> mean;
    /// Population standard deviation (divides by the count, as image statistics usually do).
    std::vector<float> std;
};

/// Mean and standard deviation of every index along the inputs' dimension 0 (features of [F]
/// inputs, channels of [C, H, W]) over all other elements of all samples, accumulated in double.
/// Reads each sample twice with get(). ValueError for an empty dataset; ShapeError when samples'
/// dimension 0 differ.
MeanStd compute_mean_std(const Dataset& dataset);

}  // namespace graft::data
