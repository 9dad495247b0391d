// read_image and write_png: the file, the format check and the conversion between 8-bit HWC pixels
// and float32 [C, H, W] in [0, 1]; the codecs are in png_codec.cpp and jpeg_codec.cpp.
#include "graft/data/image_file.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "data/image_codecs.hpp"
#include "io/printable.hpp"
#include "io/readable_file.hpp"
#include "io/temp_file.hpp"

namespace graft::data {

namespace detail {

void check_image_size(std::int64_t height, std::int64_t width, const std::string& where) {
    if (height * width > max_image_pixels)
        throw IOError(where + ": the image is " + std::to_string(width) + "×" + std::to_string(height) + " = " +
                      std::to_string(height * width) + " pixels, more than the limit of " +
                      std::to_string(max_image_pixels));
}

}  // namespace detail

Tensor read_image(const std::filesystem::path& path) {
    const io::detail::ReadableFile file(path, "read_image");
    // A file larger than any image under the pixel limit could be is refused while reading.
    const std::string bytes = file.read_all(std::size_t{1} << 31);
    detail::RgbImage image;
    if (detail::is_png(bytes))
        image = detail::decode_png(bytes, file.where());
    else if (detail::is_jpeg(bytes))
        image = detail::decode_jpeg(bytes, file.where());
    else
        throw IOError(file.where() + ": not a PNG or JPEG file (" +
                      (bytes.empty() ? std::string("the file is empty") : "unknown first bytes") + ")");
    const std::int64_t H = image.height, W = image.width;
    Tensor out = empty({3, H, W});
    float* y = out.data_ptr<float>();
    const std::uint8_t* x = image.rgb.data();
    for (std::int64_t c = 0; c < 3; ++c)
        for (std::int64_t p = 0; p < H * W; ++p) y[c * H * W + p] = static_cast<float>(x[p * 3 + c]) / 255.0f;
    return out;
}

void write_png(const std::filesystem::path& path, const Tensor& image) {
    const std::string where = "write_png: " + io::detail::quote(path.string());
    if (image.dim() != 3 || !(image.size(0) == 1 || image.size(0) == 3 || image.size(0) == 4))
        throw ShapeError(where + ": expects an image [C, H, W] with C = 1, 3 or 4, got " + shape_str(image.shape()));
    image.check_dtype(DType::Float32, "write_png");
    const std::int64_t C = image.size(0), H = image.size(1), W = image.size(2);
    if (H <= 0 || W <= 0 || H > 0x7fffffff || W > 0x7fffffff)
        throw ShapeError(where + ": cannot write an image of shape " + shape_str(image.shape()));
    if (path.filename().empty()) throw IOError(where + ": the path names a folder, not a file");
    const Tensor src = image.detach().contiguous();
    const float* x = src.data_ptr<float>();
    std::vector<std::uint8_t> pixels(static_cast<std::size_t>(C * H * W));
    for (std::int64_t c = 0; c < C; ++c)
        for (std::int64_t p = 0; p < H * W; ++p) {
            const float v = x[c * H * W + p];
            if (std::isnan(v))
                throw ValueError(where + ": the image holds NaN at channel " + std::to_string(c) + ", row " +
                                 std::to_string(p / W) + ", column " + std::to_string(p % W));
            pixels[static_cast<std::size_t>(p * C + c)] =
                static_cast<std::uint8_t>(std::lround(std::fmin(std::fmax(v, 0.0f), 1.0f) * 255.0f));
        }
    const std::vector<std::uint8_t> encoded = detail::encode_png(pixels.data(), H, W, static_cast<int>(C), where);
    io::detail::TempFile file(path, where);
    file.write(encoded.data(), encoded.size());
    file.commit();
}

}  // namespace graft::data
