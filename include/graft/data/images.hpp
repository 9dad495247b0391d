// graft/data/images.hpp — image datasets from pixel arrays in memory.
//
//   std::vector<std::uint8_t> pixels = ...;   // N·32·32·3 bytes, pixel by pixel (HWC)
//   std::vector<std::int64_t> labels = ...;   // N class indices
//   auto train = data::images_from_array(pixels, labels, {.channels = 3, .height = 32, .width = 32},
//                                        data::PixelLayout::HWC);   // inputs [N, 3, 32, 32] in [0, 1]
//
// Whatever the layout of the array, the dataset's inputs are float32 [N, C, H, W] (channels first,
// as conv layers and the image transforms expect) and its targets int64 [N]. Bytes are scaled to
// [0, 1] (divided by 255); floats are copied as they are. The pixels are copied: the array need not
// outlive the dataset.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "graft/data/dataset.hpp"

namespace graft::data {

struct ImageShape {
    std::int64_t channels = 1;
    std::int64_t height = 0;
    std::int64_t width = 0;
};

/// How one image's values are ordered in the array: CHW (planes, channel by channel) or HWC
/// (pixel by pixel, channels interleaved). Images follow each other.
enum class PixelLayout { CHW, HWC };

/// N = labels.size() images. ValueError when a dimension is not positive or when pixels.size()
/// is not N·C·H·W (the message gives both).
std::shared_ptr<TensorDataset> images_from_array(std::span<const float> pixels, std::span<const std::int64_t> labels,
                                                 ImageShape shape, PixelLayout layout = PixelLayout::CHW);
std::shared_ptr<TensorDataset> images_from_array(std::span<const std::uint8_t> pixels,
                                                 std::span<const std::int64_t> labels, ImageShape shape,
                                                 PixelLayout layout = PixelLayout::CHW);

}  // namespace graft::data
