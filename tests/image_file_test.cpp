// data::read_image and data::write_png: decoded pixels against PIL's for every PNG colour type and
// a few JPEG flavours (tests/golden/make_image_golden.py; exact equality, same libjpeg-turbo),
// corrupt and truncated files, and the PNG writer's round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "graft/graft.hpp"
#include "test_util.hpp"

using namespace graft;

namespace {

const std::filesystem::path kImages = std::filesystem::path(GRAFT_TEST_DATA_DIR) / "images";

const io::SafetensorsFile& golden() {
    static const io::SafetensorsFile file =
        io::read_safetensors(std::filesystem::path(GRAFT_TEST_DATA_DIR) / "images.safetensors");
    return file;
}

std::string file_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// The message of the graft::Error that `read_image(path)` throws, checked to be an IOError.
std::string read_error(const std::filesystem::path& path) {
    try {
        data::read_image(path);
    } catch (const IOError& e) {
        return e.what();
    }
    ADD_FAILURE() << "read_image(" << path << ") did not throw IOError";
    return "";
}

}  // namespace

TEST(ReadImage, MatchesPilExactlyForEveryColourType) {
    for (const auto& [name, expected_hwc] : golden().tensors) {
        SCOPED_TRACE(name);
        const Tensor image = data::read_image(kImages / name);
        ASSERT_EQ(image.dtype(), DType::Float32);
        ASSERT_EQ(image.shape(), (Shape{3, expected_hwc.size(0), expected_hwc.size(1)}));
        // Byte values back from [0, 1]: exact equality with PIL's bytes, no level of slack.
        const Tensor bytes = (image * 255.0).permute({1, 2, 0}).contiguous();
        const std::vector<float> got = bytes.to_vector<float>(), want = expected_hwc.to_vector<float>();
        std::size_t mismatches = 0;
        for (std::size_t i = 0; i < got.size(); ++i)
            if (std::lround(got[i]) != std::lround(want[i]) || std::abs(got[i] - want[i]) > 1e-3) ++mismatches;
        EXPECT_EQ(mismatches, 0u) << "of " << got.size() << " values";
    }
    EXPECT_GE(golden().tensors.size(), 12u);
}

TEST(ReadImage, CorruptOrTruncatedFilesAreIOErrorsNamingTheFile) {
    test::ScratchDir dir("read-image");
    const std::string png = file_bytes(kImages / "rgb.png"), jpeg = file_bytes(kImages / "rgb.jpg");
    const auto expect_error = [&](const std::string& name, const std::string& bytes, const std::string& what) {
        write_bytes(dir.path(name), bytes);
        const std::string message = read_error(dir.path(name));
        EXPECT_NE(message.find("read_image: '" + dir.path(name).string() + "'"), std::string::npos) << message;
        EXPECT_NE(message.find(what), std::string::npos) << message;
    };
    expect_error("half.png", png.substr(0, png.size() / 2), "corrupt PNG file");
    expect_error("header_only.png", png.substr(0, 40), "corrupt PNG file");
    std::string flipped = png;
    flipped[png.size() / 2] = static_cast<char>(flipped[png.size() / 2] ^ 0x55);  // CRC or zlib check fails
    expect_error("flipped.png", flipped, "corrupt PNG file");
    expect_error("tables_only.jpg", jpeg.substr(0, jpeg.size() / 2), "corrupt JPEG file");  // no scan yet
    expect_error("cut_in_scan.jpg", jpeg.substr(0, jpeg.size() - 120), "truncated JPEG file");
    expect_error("header_only.jpg", jpeg.substr(0, 20), "corrupt JPEG file");
    expect_error("empty.png", "", "the file is empty");
    expect_error("text.jpg", "hello, not an image", "not a PNG or JPEG file");
    EXPECT_NE(read_error(dir.path("missing.png")).find("cannot open"), std::string::npos);
    EXPECT_NE(read_error(dir.dir()).find("is a directory"), std::string::npos);
}

TEST(ReadImage, RefusesHeadersOverThePixelLimit) {
    // rgb.png with its IHDR width and height patched to 20000 × 20000 (and the chunk's CRC fixed
    // by hand below): the reader must refuse before allocating 1.6 GB.
    std::string png = file_bytes(kImages / "rgb.png");
    const auto put32 = [&](std::size_t at, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) png[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
    };
    put32(16, 20000);
    put32(20, 20000);
    std::uint32_t crc = 0xFFFFFFFFu;  // CRC-32 over "IHDR" and its 13 data bytes
    for (std::size_t i = 12; i < 12 + 4 + 13; ++i) {
        crc ^= static_cast<unsigned char>(png[i]);
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    put32(29, crc ^ 0xFFFFFFFFu);
    test::ScratchDir dir("read-image-limit");
    write_bytes(dir.path("huge.png"), png);
    const std::string message = read_error(dir.path("huge.png"));
    EXPECT_NE(message.find("20000×20000 = 400000000 pixels, more than the limit of 178956970"), std::string::npos)
        << message;
}

TEST(WritePng, RoundTripsGrayRgbAndRgbaToWithinHalfALevel) {
    test::ScratchDir dir("write-png");
    Generator gen(3);
    for (std::int64_t channels : {1, 3, 4}) {
        SCOPED_TRACE(channels);
        const Tensor image = rand({channels, 5, 7}, DType::Float32, &gen);
        const auto path = dir.path("img" + std::to_string(channels) + ".png");
        data::write_png(path, image);
        const Tensor back = data::read_image(path);
        // read_image gives RGB: gray is copied to the three channels, alpha is dropped.
        const Tensor expected = channels == 1 ? image.expand({3, 5, 7}) : image.slice(0, 0, 3);
        EXPECT_LE((back - expected).abs().max().item<float>(), 0.5f / 255.0f + 1e-6f);
    }
    // Values outside [0, 1] are clamped; leftovers of the temporary file never remain.
    data::write_png(dir.path("clamped.png"), from_vector<float>({-1.0f, 2.0f}, {1, 1, 2}));
    EXPECT_EQ(data::read_image(dir.path("clamped.png")).to_vector<float>(),
              (std::vector<float>{0, 1, 0, 1, 0, 1}));
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.dir())) ++files;
    EXPECT_EQ(files, 4u);
}

TEST(WritePng, RejectsWrongShapesNaNAndUnwritablePaths) {
    test::ScratchDir dir("write-png-errors");
    EXPECT_THROW(data::write_png(dir.path("a.png"), zeros({2, 4, 4})), ShapeError);
    EXPECT_THROW(data::write_png(dir.path("a.png"), zeros({4, 4})), ShapeError);
    EXPECT_THROW(data::write_png(dir.path("a.png"), zeros({3, 4, 4}, DType::Float64)), DTypeError);
    Tensor nan_image = zeros({1, 2, 3});
    nan_image.data_ptr<float>()[4] = std::nanf("");
    try {
        data::write_png(dir.path("nan.png"), nan_image);
        ADD_FAILURE() << "no error for NaN";
    } catch (const ValueError& e) {
        EXPECT_NE(std::string(e.what()).find("NaN at channel 0, row 1, column 1"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(dir.path("nan.png")));
    EXPECT_THROW(data::write_png(dir.path("no/such/folder/a.png"), zeros({3, 4, 4})), IOError);
}
