// JPEG through libjpeg-turbo, decoded to 8-bit RGB with the library's defaults (integer DCT, fancy
// upsampling), as PIL and torchvision decode. libjpeg's default error handler calls exit(); ours
// formats the message and longjmps back to the setjmp in the one function that drives libjpeg,
// which creates no object with a destructor after its setjmp (so the jump skips none).
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first

#include <jerror.h>
#include <jpeglib.h>

#include <csetjmp>

#include "data/image_codecs.hpp"
#include "graft/data/image_file.hpp"
#include "graft/error.hpp"

namespace graft::data::detail {

namespace {

/// State shared with libjpeg's callbacks; destroys the decompressor however decoding ends.
struct JpegSession {
    jpeg_decompress_struct cinfo{};
    jpeg_error_mgr errors{};
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX] = "";
    bool created = false;
    // libjpeg-turbo pads a file that ends inside the image data with gray and only warns; PIL
    // refuses such a file ("image file is truncated") and so does read_image.
    bool truncated = false;

    ~JpegSession() {
        if (created) jpeg_destroy_decompress(&cinfo);
    }
};

JpegSession& session_of(j_common_ptr cinfo) { return *reinterpret_cast<JpegSession*>(cinfo->client_data); }

[[noreturn]] void on_error(j_common_ptr cinfo) {
    JpegSession& s = session_of(cinfo);
    (*cinfo->err->format_message)(cinfo, s.message);
    std::longjmp(s.jump, 1);
}

/// Warnings (level −1) are ignored except the one for a file that ends early; trace messages too.
void on_message(j_common_ptr cinfo, int level) {
    if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) session_of(cinfo).truncated = true;
}

enum class Outcome { Decoded, Failed, CmykColour, TooLarge };

Outcome run_decoder(JpegSession& s, const std::string& bytes, std::vector<std::uint8_t>& rgb, JDIMENSION& height,
                    JDIMENSION& width) {
    if (setjmp(s.jump)) return Outcome::Failed;
    jpeg_create_decompress(&s.cinfo);
    s.created = true;
    jpeg_mem_src(&s.cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    if (jpeg_read_header(&s.cinfo, TRUE) != JPEG_HEADER_OK) ERREXIT(&s.cinfo, JERR_NO_IMAGE);
    height = s.cinfo.image_height;
    width = s.cinfo.image_width;
    if (s.cinfo.jpeg_color_space == JCS_CMYK || s.cinfo.jpeg_color_space == JCS_YCCK) return Outcome::CmykColour;
    if (static_cast<std::int64_t>(width) * static_cast<std::int64_t>(height) > max_image_pixels)
        return Outcome::TooLarge;
    s.cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&s.cinfo);
    if (s.cinfo.output_components != 3) ERREXIT(&s.cinfo, JERR_CONVERSION_NOTIMPL);
    const std::size_t row_bytes = static_cast<std::size_t>(width) * 3;
    rgb.resize(row_bytes * height);
    while (s.cinfo.output_scanline < height) {
        JSAMPROW row = rgb.data() + s.cinfo.output_scanline * row_bytes;
        jpeg_read_scanlines(&s.cinfo, &row, 1);
    }
    jpeg_finish_decompress(&s.cinfo);
    return Outcome::Decoded;
}

}  // namespace

bool is_jpeg(const std::string& bytes) {
    return bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
           static_cast<unsigned char>(bytes[1]) == 0xD8 && static_cast<unsigned char>(bytes[2]) == 0xFF;
}

RgbImage decode_jpeg(const std::string& bytes, const std::string& where) {
    JpegSession s;
    s.cinfo.err = jpeg_std_error(&s.errors);
    s.errors.error_exit = on_error;
    s.errors.emit_message = on_message;
    s.cinfo.client_data = &s;
    std::vector<std::uint8_t> rgb;
    JDIMENSION height = 0, width = 0;
    switch (run_decoder(s, bytes, rgb, height, width)) {
        case Outcome::Failed: throw IOError(where + ": corrupt JPEG file: " + s.message);
        case Outcome::CmykColour:
            throw IOError(where + ": CMYK JPEG files are not supported (convert the image to RGB first)");
        case Outcome::TooLarge: check_image_size(height, width, where); break;
        case Outcome::Decoded: break;
    }
    if (s.truncated) throw IOError(where + ": truncated JPEG file (the image data ends early)");
    return RgbImage{height, width, std::move(rgb)};
}

}  // namespace graft::data::detail
