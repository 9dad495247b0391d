// graft/data/image_file.hpp — reading PNG and JPEG files, writing PNG files.
//
//   Tensor img = data::read_image("cat.jpg");        // float32 [3, H, W], RGB, values in [0, 1]
//   data::write_png("out.png", img);                  // written atomically
//
// read_image gives what torchvision users get from `ToTensor()(Image.open(p).convert("RGB"))`:
// three channels, channels first, each byte divided by 255. Every PNG colour type converts to RGB
// as PIL's convert("RGB") does: gray is copied to the three channels, palettes are looked up,
// alpha is dropped (not composited), 1/2/4-bit samples are widened to 8 bits and 16-bit samples
// keep their high byte. JPEGs are decoded by libjpeg-turbo with its defaults (the library PIL
// and torchvision use), so the pixels are PIL's exactly.
#pragma once

#include <cstdint>
#include <filesystem>

#include "graft/tensor.hpp"

namespace graft::data {

/// Images with more pixels than this are refused (PIL's decompression-bomb limit), so a hostile
/// header cannot make the reader allocate gigabytes.
inline constexpr std::int64_t max_image_pixels = 178'956'970;

/// Decodes a PNG or JPEG file (recognised by its first bytes, whatever its name) into float32
/// [3, H, W] in [0, 1]. IOError naming the file when it cannot be read, is neither PNG nor JPEG,
/// is corrupt or truncated, is a CMYK JPEG, or has more than max_image_pixels pixels.
Tensor read_image(const std::filesystem::path& path);

/// Writes a float32 [C, H, W] image (C = 1 gray, 3 RGB or 4 RGBA) as an 8-bit PNG: each value is
/// clamped to [0, 1], multiplied by 255 and rounded, so read_image gives back what write_png was
/// given to within 1/510. The file is written to a temporary file beside the target and renamed
/// over it when complete. ShapeError for another shape, DTypeError unless float32, ValueError for
/// a NaN, IOError naming the file when it cannot be written.
void write_png(const std::filesystem::path& path, const Tensor& image);

}  // namespace graft::data
