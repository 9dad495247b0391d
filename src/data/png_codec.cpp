// PNG through libpng: decoding any colour type and bit depth to 8-bit RGB, encoding 8-bit gray,
// RGB and RGBA. libpng reports errors by calling a function that must not return; ours records the
// message and longjmps back to the setjmp in the one function that drives libpng, which creates no
// object with a destructor after its setjmp (so the jump skips none).
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "data/image_codecs.hpp"
#include "graft/data/image_file.hpp"
#include "graft/error.hpp"

namespace graft::data::detail {

namespace {

/// State shared with libpng's callbacks; destroys libpng's structures however decoding ends.
struct PngSession {
    png_structp png = nullptr;
    png_infop info = nullptr;
    bool writing = false;
    std::jmp_buf jump;
    char message[256] = "";
    // Reading: the file's bytes and the next one to hand over.
    const std::string* input = nullptr;
    std::size_t position = 0;
    // Writing: the encoded bytes so far.
    std::vector<std::uint8_t> output;
    std::vector<png_bytep> rows;

    ~PngSession() {
        if (writing)
            png_destroy_write_struct(&png, &info);
        else
            png_destroy_read_struct(&png, &info, nullptr);
    }
};

PngSession& session_of(png_structp png) { return *static_cast<PngSession*>(png_get_error_ptr(png)); }

[[noreturn]] void on_error(png_structp png, png_const_charp message) {
    PngSession& s = session_of(png);
    std::snprintf(s.message, sizeof s.message, "%s", message);
    std::longjmp(s.jump, 1);
}

void on_warning(png_structp, png_const_charp) {}

void read_bytes(png_structp png, png_bytep data, png_size_t length) {
    auto& s = *static_cast<PngSession*>(png_get_io_ptr(png));
    if (length > s.input->size() - s.position) png_error(png, "the file ends early (truncated)");
    std::memcpy(data, s.input->data() + s.position, length);
    s.position += length;
}

void write_bytes(png_structp png, png_bytep data, png_size_t length) {
    auto& s = *static_cast<PngSession*>(png_get_io_ptr(png));
    s.output.insert(s.output.end(), data, data + length);
}

void flush_nothing(png_structp) {}

/// Decodes into `pixels` (row by row, `channels` 8-bit samples per pixel after the expansions
/// below). False with s.message set when libpng fails; `limit_exceeded` when the header's size is
/// over max_image_pixels.
bool run_decoder(PngSession& s, std::vector<std::uint8_t>& pixels, png_uint_32& height, png_uint_32& width,
                 int& channels, bool& limit_exceeded) {
    if (setjmp(s.jump)) return false;
    png_set_read_fn(s.png, &s, read_bytes);
    png_read_info(s.png, s.info);
    width = png_get_image_width(s.png, s.info);
    height = png_get_image_height(s.png, s.info);
    if (static_cast<std::int64_t>(width) * static_cast<std::int64_t>(height) > max_image_pixels) {
        limit_exceeded = true;
        return false;
    }
    const int color_type = png_get_color_type(s.png, s.info);
    const int bit_depth = png_get_bit_depth(s.png, s.info);
    // Every layout becomes 8-bit gray, gray+alpha, RGB or RGBA; the caller then drops the alpha
    // and copies gray to three channels, as PIL's convert("RGB") does.
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(s.png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(s.png);
    if (bit_depth == 16) png_set_strip_16(s.png);
    png_set_interlace_handling(s.png);
    png_read_update_info(s.png, s.info);
    channels = png_get_channels(s.png, s.info);
    const std::size_t row_bytes = png_get_rowbytes(s.png, s.info);
    if (png_get_bit_depth(s.png, s.info) != 8 || row_bytes != static_cast<std::size_t>(width) * channels)
        png_error(s.png, "unsupported pixel layout after expansion");
    pixels.resize(row_bytes * height);
    s.rows.resize(height);
    for (png_uint_32 y = 0; y < height; ++y) s.rows[y] = pixels.data() + y * row_bytes;
    png_read_image(s.png, s.rows.data());
    return true;
}

bool run_encoder(PngSession& s, const std::uint8_t* pixels, png_uint_32 height, png_uint_32 width, int channels) {
    if (setjmp(s.jump)) return false;
    png_set_write_fn(s.png, &s, write_bytes, flush_nothing);
    const int color_type = channels == 1   ? PNG_COLOR_TYPE_GRAY
                           : channels == 3 ? PNG_COLOR_TYPE_RGB
                                           : PNG_COLOR_TYPE_RGB_ALPHA;
    png_set_IHDR(s.png, s.info, width, height, 8, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(s.png, s.info);
    const std::size_t row_bytes = static_cast<std::size_t>(width) * channels;
    for (png_uint_32 y = 0; y < height; ++y) png_write_row(s.png, pixels + y * row_bytes);
    png_write_end(s.png, s.info);
    return true;
}

}  // namespace

bool is_png(const std::string& bytes) {
    return bytes.size() >= 8 && png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) == 0;
}

RgbImage decode_png(const std::string& bytes, const std::string& where) {
    PngSession s;
    s.input = &bytes;
    s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
    if (s.png) s.info = png_create_info_struct(s.png);
    if (!s.png || !s.info) throw IOError(where + ": libpng could not start (out of memory)");
    std::vector<std::uint8_t> pixels;
    png_uint_32 height = 0, width = 0;
    int channels = 0;
    bool limit_exceeded = false;
    if (!run_decoder(s, pixels, height, width, channels, limit_exceeded)) {
        if (limit_exceeded) check_image_size(height, width, where);
        throw IOError(where + ": corrupt PNG file: " + s.message);
    }
    RgbImage image{height, width, {}};
    const std::size_t count = static_cast<std::size_t>(height) * width;
    if (channels == 3) {
        image.rgb = std::move(pixels);
        return image;
    }
    image.rgb.resize(count * 3);
    for (std::size_t p = 0; p < count; ++p) {
        const std::uint8_t* in = pixels.data() + p * static_cast<std::size_t>(channels);
        std::uint8_t* out = image.rgb.data() + p * 3;
        if (channels <= 2) {
            out[0] = out[1] = out[2] = in[0];  // gray, alpha dropped
        } else {
            out[0] = in[0], out[1] = in[1], out[2] = in[2];  // RGBA, alpha dropped
        }
    }
    return image;
}

std::vector<std::uint8_t> encode_png(const std::uint8_t* pixels, std::int64_t height, std::int64_t width,
                                     int channels, const std::string& where) {
    PngSession s;
    s.writing = true;
    s.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
    if (s.png) s.info = png_create_info_struct(s.png);
    if (!s.png || !s.info) throw IOError(where + ": libpng could not start (out of memory)");
    if (!run_encoder(s, pixels, static_cast<png_uint_32>(height), static_cast<png_uint_32>(width), channels))
        throw IOError(where + ": encoding the PNG failed: " + s.message);
    return std::move(s.output);
}

}  // namespace graft::data::detail
