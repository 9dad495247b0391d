// Internal: the PNG and JPEG codecs behind read_image and write_png (libpng, libjpeg-turbo). Every
// decoder returns 8-bit RGB pixels, row by row, channels interleaved (HWC), and reports a corrupt,
// truncated or oversized file as an IOError whose message starts with `where` (who and which file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace graft::data::detail {

/// 8-bit RGB pixels, pixel by pixel: rgb[(y·width + x)·3 + c].
struct RgbImage {
    std::int64_t height = 0;
    std::int64_t width = 0;
    std::vector<std::uint8_t> rgb;
};

/// Whether the bytes start with the PNG signature or with a JPEG start-of-image marker.
bool is_png(const std::string& bytes);
bool is_jpeg(const std::string& bytes);

RgbImage decode_png(const std::string& bytes, const std::string& where);
RgbImage decode_jpeg(const std::string& bytes, const std::string& where);

/// An 8-bit PNG file's bytes: `pixels` holds height·width·channels bytes pixel by pixel, with 1
/// (gray), 3 (RGB) or 4 (RGBA) channels.
std::vector<std::uint8_t> encode_png(const std::uint8_t* pixels, std::int64_t height, std::int64_t width,
                                     int channels, const std::string& where);

/// IOError naming `where` unless height·width is at most max_image_pixels (graft/data/image_file.hpp).
void check_image_size(std::int64_t height, std::int64_t width, const std::string& where);

}  // namespace graft::data::detail
