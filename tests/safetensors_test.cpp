// io::load_safetensors / save_safetensors: round trips of every dtype and of metadata, the
// memory-mapped zero-copy path and its lifetime, a file laid out the way PyTorch's safetensors
// writes it, every validation error on crafted bytes, and atomic saving under write failures.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace graft;
namespace fs = std::filesystem;

namespace {

std::string le64(std::uint64_t v) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    return out;
}

/// A safetensors image: the header length, `header` as is (no padding), then `data`.
std::string image(const std::string& header, const std::string& data = "") {
    return le64(header.size()) + header + data;
}

/// The little-endian bytes of `values`.
template <class T>
std::string bytes_of(const std::vector<T>& values) {
    std::string out(values.size() * sizeof(T), '\0');
    if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
    return out;
}

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << path;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> names_in(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

/// The raw bytes of a tensor's elements in row-major order.
std::string raw_bytes(const Tensor& t) {
    const Tensor c = t.contiguous();
    return std::string(static_cast<const char*>(c.raw_data()), static_cast<std::size_t>(c.numel()) * c.element_size());
}

/// The lines of /proc/self/maps that map `path`.
std::vector<std::string> mappings_of(const fs::path& path) {
    std::ifstream maps("/proc/self/maps");
    std::vector<std::string> lines;
    for (std::string line; std::getline(maps, line);)
        if (line.find(path.string()) != std::string::npos) lines.push_back(line);
    return lines;
}

/// Whether `p` lies inside one of the address ranges in `lines` (from /proc/self/maps).
bool inside_mapping(const void* p, const std::vector<std::string>& lines) {
    const auto address = reinterpret_cast<std::uintptr_t>(p);
    for (const std::string& line : lines) {
        const std::uintptr_t begin = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
        const std::uintptr_t end = std::stoull(line.substr(line.find('-') + 1), nullptr, 16);
        if (address >= begin && address < end) return true;
    }
    return false;
}

class Safetensors : public ::testing::Test {
protected:
    fs::path path(const std::string& name) const { return scratch_.path(name); }

    test::ScratchDir scratch_{"safetensors"};
    const fs::path dir_ = scratch_.dir();
};

TEST_F(Safetensors, RoundTripsEveryDtypeBitExactly) {
    const float nan_payload = [] {
        std::uint32_t bits = 0x7fc01234u;
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }();
    const std::vector<float> f32 = {1.5f, -0.0f, std::numeric_limits<float>::denorm_min(),
                                    std::numeric_limits<float>::infinity(), nan_payload, 3.0e38f};
    const std::vector<double> f64 = {1.0 / 3.0, -2.5e-300, std::numeric_limits<double>::max()};
    const std::vector<std::int64_t> i64 = {std::numeric_limits<std::int64_t>::min(), -1, 0, 1LL << 40};
    const std::vector<std::int32_t> i32 = {std::numeric_limits<std::int32_t>::max(), -7, 0};
    const std::vector<bool> b = {true, false, true, true, false};
    // bf16: 1.0, -2.0, the smallest subnormal, -inf, a NaN; f16: 1.0, -65504, a subnormal, +inf, 0.1.
    const std::vector<bfloat16> bf16 = {{0x3f80}, {0xc000}, {0x0001}, {0xff80}, {0x7fc1}};
    const std::vector<float16> f16 = {{0x3c00}, {0xfbff}, {0x0001}, {0x7c00}, {0x2e66}};

    StateDict sd;
    sd.insert("f32", from_vector(f32, {2, 3}));
    sd.insert("f64", from_vector(f64));
    sd.insert("i64", from_vector(i64, {2, 2}));
    sd.insert("i32", from_vector(i32));
    sd.insert("bool", from_vector(b));
    sd.insert("bf16", from_vector(bf16));
    sd.insert("f16", from_vector(f16));
    sd.insert("scalar", scalar_tensor(2.25));
    sd.insert("empty_f32", zeros({0, 3}));
    sd.insert("empty_i64", zeros({2, 0}, DType::Int64));
    io::save_safetensors(path("all.safetensors"), sd);
    const StateDict loaded = io::load_safetensors(path("all.safetensors"));

    EXPECT_EQ(loaded.keys(), sd.keys());  // header order is dict order
    for (const char* name : {"f32", "f64", "i64", "i32", "bool", "scalar", "empty_f32", "empty_i64"}) {
        SCOPED_TRACE(name);
        const Tensor& a = sd.at(name);
        const Tensor& l = loaded.at(name);
        EXPECT_EQ(l.dtype(), a.dtype());
        EXPECT_EQ(l.shape(), a.shape());
        EXPECT_EQ(raw_bytes(l), raw_bytes(a));
    }
    EXPECT_EQ(loaded.at("scalar").dim(), 0);
    EXPECT_EQ(loaded.at("empty_f32").numel(), 0);
    // bf16 and f16 arrive as float32 holding exactly the stored values.
    for (const char* name : {"bf16", "f16"}) {
        SCOPED_TRACE(name);
        const Tensor& l = loaded.at(name);
        ASSERT_EQ(l.dtype(), DType::Float32);
        ASSERT_EQ(l.numel(), 5);
        std::vector<float> want;
        for (int i = 0; i < 5; ++i)
            want.push_back(std::string(name) == "bf16" ? bf16_to_float(bf16[i]) : f16_to_float(f16[i]));
        EXPECT_EQ(raw_bytes(l), bytes_of(want));
    }
    const std::vector<float> bf = loaded.at("bf16").to_vector<float>();
    EXPECT_EQ(bf[0], 1.0f);
    EXPECT_EQ(bf[1], -2.0f);
    EXPECT_EQ(bf[2], std::ldexp(1.0f, -133));
    EXPECT_EQ(bf[3], -std::numeric_limits<float>::infinity());
    EXPECT_TRUE(std::isnan(bf[4]));
    const std::vector<float> h = loaded.at("f16").to_vector<float>();
    EXPECT_EQ(h[0], 1.0f);
    EXPECT_EQ(h[1], -65504.0f);
    EXPECT_EQ(h[2], std::ldexp(1.0f, -24));
    EXPECT_EQ(h[3], std::numeric_limits<float>::infinity());
    EXPECT_NEAR(h[4], 0.1f, 1e-4f);
}

TEST_F(Safetensors, RoundTripsMetadata) {
    StateDict sd;
    sd.insert("w", ones({2}));
    const io::Metadata metadata = {{"format", "pt"}, {"empty", ""}, {"epochs", "3"}, {"note", "é\"\\\n{}"}};
    io::save_safetensors(path("m.safetensors"), sd, metadata);
    const io::SafetensorsFile file = io::read_safetensors(path("m.safetensors"));
    EXPECT_EQ(file.metadata, metadata);
    EXPECT_EQ(file.tensors.keys(), std::vector<std::string>{"w"});

    io::save_safetensors(path("none.safetensors"), sd);
    EXPECT_EQ(read_file(path("none.safetensors")).find("__metadata__"), std::string::npos);
    EXPECT_TRUE(io::read_safetensors(path("none.safetensors")).metadata.empty());
}

TEST_F(Safetensors, RoundTripsAnEmptyDict) {
    io::save_safetensors(path("empty.safetensors"), StateDict{}, {{"k", "v"}});
    const io::SafetensorsFile file = io::read_safetensors(path("empty.safetensors"));
    EXPECT_TRUE(file.tensors.empty());
    EXPECT_EQ(file.metadata.at("k"), "v");
}

TEST_F(Safetensors, WritesTheStandardLayoutWithAlignedData) {
    StateDict sd;
    sd.insert("mask", from_vector(std::vector<bool>{true, false, true}));  // 3 bytes
    sd.insert("half", from_vector(std::vector<bfloat16>{{0x3f80}}));        // 2 bytes
    sd.insert("w", randn({3, 5}));
    sd.insert("ids", from_vector(std::vector<std::int64_t>{1, 2, 3}));
    io::save_safetensors(path("layout.safetensors"), sd);

    const std::string bytes = read_file(path("layout.safetensors"));
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
    EXPECT_EQ(n % 8, 0u);
    EXPECT_EQ(bytes[8], '{');
    const std::string header = bytes.substr(8, n);
    EXPECT_EQ(header.substr(header.find_last_not_of(' ')), "}");
    EXPECT_EQ(bytes.size(), 8 + n + 3 + 2 + 60 + 24);

    const io::SafetensorsHeader info = io::read_safetensors_header(path("layout.safetensors"));
    EXPECT_EQ(info.data_offset, 8 + n);
    ASSERT_EQ(info.tensors.size(), 4u);
    std::vector<std::string> names, dtypes;
    for (const auto& t : info.tensors) {
        names.push_back(t.name);
        dtypes.push_back(t.dtype);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"mask", "half", "w", "ids"}));
    EXPECT_EQ(dtypes, (std::vector<std::string>{"BOOL", "BF16", "F32", "I64"}));
    // Data: largest elements first, so each tensor is aligned for its type.
    EXPECT_EQ(info.tensors[3].data_begin, 0u);   // ids  [0, 24)
    EXPECT_EQ(info.tensors[2].data_begin, 24u);  // w    [24, 84)
    EXPECT_EQ(info.tensors[1].data_begin, 84u);  // half [84, 86)
    EXPECT_EQ(info.tensors[0].data_begin, 86u);  // mask [86, 89)
    EXPECT_EQ(info.tensors[0].data_end, 89u);
    EXPECT_EQ(info.tensors[2].shape, (Shape{3, 5}));

    // So the float32 tensor after the odd-sized ones still loads in place.
    const StateDict loaded = io::load_safetensors(path("layout.safetensors"));
    EXPECT_FALSE(loaded.at("w").storage()->writable());
    EXPECT_EQ(raw_bytes(loaded.at("w")), raw_bytes(sd.at("w")));
}

TEST_F(Safetensors, WritesNonContiguousAndGradTensorsContiguously) {
    const Tensor base = arange(12, DType::Float32).reshape({3, 4});
    StateDict sd;
    sd.insert("t", base.t());
    sd.insert("slice", base.slice(1, 1, 4, 2));
    sd.insert("expanded", from_vector(std::vector<float>{1, 2}).unsqueeze(0).expand({3, 2}));
    sd.insert("param", ones({2, 2}).requires_grad_());
    io::save_safetensors(path("views.safetensors"), sd);
    const StateDict loaded = io::load_safetensors(path("views.safetensors"));
    for (const auto& [name, t] : sd) {
        SCOPED_TRACE(name);
        EXPECT_EQ(loaded.at(name).shape(), t.shape());
        EXPECT_EQ(loaded.at(name).to_vector<float>(), t.to_vector<float>());
        EXPECT_FALSE(loaded.at(name).requires_grad());
    }
}

TEST_F(Safetensors, Float32LoadsInPlaceAndReadOnly) {
    StateDict sd;
    sd.insert("weight", randn({4, 3}));
    sd.insert("bias", randn({4}));
    io::save_safetensors(path("model.safetensors"), sd);
    const StateDict loaded = io::load_safetensors(path("model.safetensors"));

    const std::vector<std::string> maps = mappings_of(path("model.safetensors"));
    ASSERT_FALSE(maps.empty()) << "the file should be memory-mapped";
    const Tensor& w = loaded.at("weight");
    EXPECT_TRUE(inside_mapping(w.raw_data(), maps));
    EXPECT_TRUE(inside_mapping(loaded.at("bias").raw_data(), maps));
    EXPECT_FALSE(w.storage()->writable());
    EXPECT_THROW_MSG(Tensor(w).fill_(0.0), ValueError, "read-only");
    EXPECT_THROW_MSG(Tensor(w).add_(1.0), ValueError, "read-only");
    EXPECT_EQ(raw_bytes(w), raw_bytes(sd.at("weight")));  // unchanged by the refused writes

    // What load_state_dict does: copy the values into the model's own, writable tensors.
    Tensor dst = zeros({4, 3});
    {
        NoGradGuard guard;
        dst.copy_(w);
    }
    EXPECT_EQ(raw_bytes(dst), raw_bytes(w));
    nn::Linear layer(3, 4);
    const nn::LoadReport report = layer.load_state_dict(loaded);
    EXPECT_TRUE(report.ok());
    EXPECT_EQ(raw_bytes(layer.weight), raw_bytes(sd.at("weight")));
    EXPECT_EQ(raw_bytes(layer.bias), raw_bytes(sd.at("bias")));
    EXPECT_FALSE(layer.weight.shares_storage(w));
    {
        NoGradGuard guard;
        layer.weight.fill_(1.0);  // the model's copy trains; the file's bytes stay
    }
    EXPECT_EQ(raw_bytes(w), raw_bytes(sd.at("weight")));
}

TEST_F(Safetensors, MappingLivesAsLongAsItsTensors) {
    StateDict sd;
    sd.insert("w", randn({64, 64}));
    io::save_safetensors(path("live.safetensors"), sd);
    const std::string before = read_file(path("live.safetensors"));
    {
        StateDict loaded = io::load_safetensors(path("live.safetensors"));
        Tensor view = loaded.at("w").narrow(0, 10, 5);  // a view keeps the mapping too
        loaded = StateDict{};
        ASSERT_FALSE(mappings_of(path("live.safetensors")).empty());
        // Deleting the file does not disturb tensors viewing it.
        fs::remove(path("live.safetensors"));
        EXPECT_EQ(raw_bytes(view), raw_bytes(sd.at("w").narrow(0, 10, 5)));
    }
    // The last tensor gone, the mapping is released.
    EXPECT_TRUE(mappings_of(path("live.safetensors")).empty());

    // A file whose tensors were loaded and destroyed is unchanged and loads again.
    write_file(path("again.safetensors"), before);
    { const StateDict once = io::load_safetensors(path("again.safetensors")); }
    EXPECT_EQ(read_file(path("again.safetensors")), before);
    EXPECT_EQ(raw_bytes(io::load_safetensors(path("again.safetensors")).at("w")), raw_bytes(sd.at("w")));
}

TEST_F(Safetensors, MisalignedDataIsCopied) {
    const std::vector<float> f = {1.0f, -2.0f, 3.5f};
    const std::vector<double> d = {0.25, -8.0};
    // A header of 8k + 5 bytes puts the data area at an odd file offset: nothing is aligned.
    std::string padded = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})";
    padded.append((5 + 8 - padded.size() % 8) % 8, ' ');
    ASSERT_EQ((8 + padded.size()) % 8, 5u);
    write_file(path("odd.safetensors"), image(padded, bytes_of(f)));
    const Tensor a = io::load_safetensors(path("odd.safetensors")).at("a");
    EXPECT_EQ(a.to_vector<float>(), f);
    EXPECT_TRUE(a.storage()->writable());  // a copy, not a view of the file

    // float32 and float64 after a 2-byte bf16 in an aligned data area.
    std::string header = R"({"h":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},)"
                         R"("f":{"dtype":"F32","shape":[3],"data_offsets":[2,14]},)"
                         R"("d":{"dtype":"F64","shape":[2],"data_offsets":[14,30]}})";
    header.append((8 - header.size() % 8) % 8, ' ');
    write_file(path("mixed.safetensors"), image(header, std::string("\x80\x3f", 2) + bytes_of(f) + bytes_of(d)));
    const StateDict mixed = io::load_safetensors(path("mixed.safetensors"));
    EXPECT_EQ(mixed.at("h").to_vector<float>(), std::vector<float>{1.0f});
    EXPECT_EQ(mixed.at("f").to_vector<float>(), f);
    EXPECT_EQ(mixed.at("d").to_vector<double>(), d);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(mixed.at("f").raw_data()) % alignof(float), 0u);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(mixed.at("d").raw_data()) % alignof(double), 0u);
    EXPECT_TRUE(mixed.at("f").storage()->writable());
    EXPECT_TRUE(mixed.at("d").storage()->writable());
}

TEST_F(Safetensors, ReadsU8AsInt32AndNormalisesBool) {
    std::string header = R"({"u":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                         R"("b":{"dtype":"BOOL","shape":[2,2],"data_offsets":[4,8]}})";
    write_file(path("u8.safetensors"), image(header, std::string("\x00\x07\x80\xff\x00\x01\x02\xff", 8)));
    const StateDict sd = io::load_safetensors(path("u8.safetensors"));
    EXPECT_EQ(sd.at("u").dtype(), DType::Int32);
    EXPECT_EQ(sd.at("u").to_vector<std::int32_t>(), (std::vector<std::int32_t>{0, 7, 128, 255}));
    EXPECT_EQ(sd.at("b").dtype(), DType::Bool);
    EXPECT_EQ(raw_bytes(sd.at("b")), std::string("\x00\x01\x01\x01", 4));
}

TEST_F(Safetensors, LoadsAFileLaidOutByPyTorchSafetensors) {
    // safetensors.torch.save_file({"weight": [[1, 2], [3, 4]], "bias": [0.5, -1] (float32),
    // "emb": [1, -2] (bfloat16)}, metadata={"format": "pt"}): data sorted by dtype then name,
    // the header listing tensors in data order after __metadata__, padded with spaces to 8.
    const std::string file =
        std::string("\xd0\x00\x00\x00\x00\x00\x00\x00", 8) +
        R"({"__metadata__":{"format":"pt"},"bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
        R"("weight":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]},)"
        R"("emb":{"dtype":"BF16","shape":[2],"data_offsets":[24,28]}} )" +
        std::string("\x00\x00\x00\x3f\x00\x00\x80\xbf", 8) +
        std::string("\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40", 16) +
        std::string("\x80\x3f\x00\xc0", 4);
    ASSERT_EQ(file.size(), 244u);
    write_file(path("torch.safetensors"), file);

    const io::SafetensorsFile loaded = io::read_safetensors(path("torch.safetensors"));
    EXPECT_EQ(loaded.metadata, (io::Metadata{{"format", "pt"}}));
    EXPECT_EQ(loaded.tensors.keys(), (std::vector<std::string>{"bias", "weight", "emb"}));
    EXPECT_EQ(loaded.tensors.at("bias").to_vector<float>(), (std::vector<float>{0.5f, -1.0f}));
    EXPECT_EQ(loaded.tensors.at("weight").shape(), (Shape{2, 2}));
    EXPECT_EQ(loaded.tensors.at("weight").to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
    EXPECT_EQ(loaded.tensors.at("emb").dtype(), DType::Float32);
    EXPECT_EQ(loaded.tensors.at("emb").to_vector<float>(), (std::vector<float>{1.0f, -2.0f}));

    // graft writes the same tensors so that the file reads back identically.
    io::save_safetensors(path("graft.safetensors"), loaded.tensors, loaded.metadata);
    const io::SafetensorsFile again = io::read_safetensors(path("graft.safetensors"));
    EXPECT_EQ(again.metadata, loaded.metadata);
    for (const auto& [name, t] : loaded.tensors) EXPECT_EQ(raw_bytes(again.tensors.at(name)), raw_bytes(t)) << name;
}

TEST_F(Safetensors, IgnoresUnknownEntryFieldsAndNullMetadata) {
    write_file(path("extra.safetensors"),
               image(R"({"__metadata__":null,"a":{"note":{"x":[1,{"y":[]}],"z":null},"dtype":"I32",)"
                     R"("shape":[1],"extra":"s","data_offsets":[0,4],"n":-1.5}})",
                     bytes_of(std::vector<std::int32_t>{42})));
    const io::SafetensorsFile file = io::read_safetensors(path("extra.safetensors"));
    EXPECT_TRUE(file.metadata.empty());
    EXPECT_EQ(file.tensors.at("a").to_vector<std::int32_t>(), std::vector<std::int32_t>{42});
}

struct BadFile {
    const char* what;
    std::string bytes;
    const char* message;
};

/// An entry for tensor `name` with the given fields (raw JSON).
std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
    return "\"" + name + "\":{\"dtype\":" + dtype + ",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
}

TEST_F(Safetensors, RejectsMalformedFilesWithPreciseErrors) {
    const std::string four(4, '\0'), eight(8, '\0'), twelve(12, '\0');
    const std::string w4 = entry("w", "\"F32\"", "[1]", "[0,4]");
    const std::vector<BadFile> cases = {
        {"empty file", "", "0 bytes, shorter than the 8-byte header length"},
        {"short file", std::string("\x02\0\0\0\0", 5), "5 bytes, shorter than the 8-byte header length"},
        {"header beyond the file", le64(100) + "{}", "header length 100 runs past the end of the file (10 bytes)"},
        {"huge header", le64(100'000'001) + "{}", "header length 100000001 exceeds the limit of 100000000 bytes"},
        {"header length 2^64-1", le64(~0ull) + "{}", "exceeds the limit"},
        {"empty header", image(""), "found an empty header"},
        {"not an object", image("[1,2]"), "header must be a JSON object starting with '{', found '['"},
        {"leading space", image(" {}"), "starting with '{'"},
        {"truncated JSON", image("{\"w\":"), "header is not valid JSON"},
        {"trailing garbage", image("{} x"), "header is not valid JSON"},
        {"NUL padding", image(std::string("{}\0\0", 4)), "header is not valid JSON: it holds a NUL byte at offset 2"},
        {"NUL then garbage", image(std::string("{}\0x", 4)), "header is not valid JSON: it holds a NUL byte at offset 2"},
        {"invalid UTF-8", image("{\"w\xff\":1}"), "UTF-8"},
        {"lone surrogate", image(R"({"\ud800":1})"), "header is not valid JSON"},
        {"entry not an object", image(R"({"w":[1]})"), "tensor 'w': entry must be an object, found an array"},
        {"entry is a string", image(R"({"w":"F32"})"), "tensor 'w': entry must be an object, found a string"},
        {"missing dtype", image(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", four), "tensor 'w': missing \"dtype\""},
        {"missing shape", image(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", four), "tensor 'w': missing \"shape\""},
        {"missing offsets", image(R"({"w":{"dtype":"F32","shape":[1]}})", four), "tensor 'w': missing \"data_offsets\""},
        {"dtype not a string", image("{" + entry("w", "4", "[1]", "[0,4]") + "}", four),
         "tensor 'w': \"dtype\" must be a string, found a number"},
        {"shape not an array", image("{" + entry("w", "\"F32\"", "1", "[0,4]") + "}", four),
         "tensor 'w': \"shape\" must be an array of non-negative integers, found a number"},
        {"nested shape", image("{" + entry("w", "\"F32\"", "[[1]]", "[0,4]") + "}", four),
         "tensor 'w': shape must hold non-negative integers, found an array"},
        {"shape of strings", image("{" + entry("w", "\"F32\"", "[\"1\"]", "[0,4]") + "}", four),
         "shape must hold non-negative integers, found a string"},
        {"offsets an object", image("{" + entry("w", "\"F32\"", "[1]", "{}") + "}", four),
         "tensor 'w': \"data_offsets\" must be an array of 2 non-negative integers, found an object"},
        {"duplicate name", image("{" + w4 + "," + w4 + "}", eight), "duplicate name 'w' in the header"},
        {"duplicate field", image(R"({"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}})", four),
         "tensor 'w': duplicate field 'dtype'"},
        {"duplicate metadata", image(R"({"__metadata__":{"k":"a","k":"b"}})"), "__metadata__: duplicate key 'k'"},
        {"duplicate __metadata__", image(R"({"__metadata__":{},"__metadata__":{}})"), "duplicate name '__metadata__'"},
        {"metadata not an object", image(R"({"__metadata__":"x"})"), "__metadata__ must be an object of strings, found a string"},
        {"metadata value a number", image(R"({"__metadata__":{"k":1}})"), "__metadata__: value of 'k' must be a string, found a number"},
        {"metadata value an object", image(R"({"__metadata__":{"k":{}}})"), "value of 'k' must be a string, found an object"},
        {"unknown dtype", image("{" + entry("w", "\"Q7\"", "[1]", "[0,4]") + "}", four),
         "tensor 'w': unsupported dtype 'Q7' (graft reads F32, F64, BF16, F16, I64, I32, U8, BOOL)"},
        {"unsupported dtype", image("{" + entry("w", "\"I8\"", "[4]", "[0,4]") + "}", four), "unsupported dtype 'I8'"},
        {"negative dimension", image("{" + entry("w", "\"F32\"", "[2,-1]", "[0,4]") + "}", four),
         "tensor 'w': shape has the negative number -1"},
        {"non-integer dimension", image("{" + entry("w", "\"F32\"", "[1.5]", "[0,4]") + "}", four),
         "tensor 'w': shape has the non-integer (or out-of-range) number 1.5"},
        {"integral float dimension", image("{" + entry("w", "\"F32\"", "[1.0]", "[0,4]") + "}", four), "number 1.0"},
        {"dimension past uint64", image("{" + entry("w", "\"F32\"", "[18446744073709551616]", "[0,4]") + "}", four),
         "out-of-range) number 18446744073709551616"},
        {"dimension past int64", image("{" + entry("w", "\"F32\"", "[9223372036854775808]", "[0,4]") + "}", four),
         "shape dimension 9223372036854775808 overflows int64"},
        {"element count overflow", image("{" + entry("w", "\"F32\"", "[4294967296,4294967296]", "[0,4]") + "}", four),
         "tensor 'w': shape [4294967296, 4294967296] has more elements than fit in int64"},
        {"byte count overflow", image("{" + entry("w", "\"F64\"", "[2305843009213693952]", "[0,4]") + "}", four),
         "shape [2305843009213693952] of F64 overflows the byte count"},
        {"one offset", image("{" + entry("w", "\"F32\"", "[1]", "[0]") + "}", four),
         "tensor 'w': data_offsets has 1 numbers, expected 2 [begin, end]"},
        {"three offsets", image("{" + entry("w", "\"F32\"", "[1]", "[0,4,4]") + "}", four), "data_offsets has more than 2 numbers"},
        {"negative offset", image("{" + entry("w", "\"F32\"", "[1]", "[-4,0]") + "}", four),
         "tensor 'w': data_offsets has the negative number -4"},
        {"float offset", image("{" + entry("w", "\"F32\"", "[1]", "[0,4.0]") + "}", four), "data_offsets has the non-integer"},
        {"offsets reversed", image("{" + entry("w", "\"F32\"", "[0]", "[4,0]") + "}", four),
         "tensor 'w': data_offsets [4, 0] begin after they end"},
        {"offsets past the data", image("{" + entry("w", "\"F32\"", "[2]", "[0,8]") + "}", four),
         "tensor 'w': data_offsets [0, 8] lie outside the data area (4 bytes)"},
        {"offsets past 2^64", image("{" + entry("w", "\"F32\"", "[1]", "[18446744073709551615,3]") + "}", four),
         "begin after they end"},
        {"wrong byte count", image("{" + entry("w", "\"F32\"", "[2]", "[0,4]") + "}", four),
         "tensor 'w': data_offsets [0, 4] span 4 bytes, but shape [2] of F32 needs 8"},
        {"overlap", image("{" + entry("a", "\"F32\"", "[2]", "[0,8]") + "," + entry("b", "\"F32\"", "[2]", "[4,12]") + "}", twelve),
         "tensor 'b': data_offsets [4, 12] overlap tensor 'a' [0, 8]"},
        {"same range twice", image("{" + entry("a", "\"F32\"", "[1]", "[0,4]") + "," + entry("b", "\"I32\"", "[1]", "[0,4]") + "}", eight),
         "data_offsets [0, 4] overlap tensor 'a' [0, 4]"},
        {"gap", image("{" + entry("a", "\"F32\"", "[1]", "[0,4]") + "," + entry("b", "\"F32\"", "[1]", "[8,12]") + "}", twelve),
         "tensor 'b': data_offsets [8, 12] leave a gap after tensor 'a' [0, 4]"},
        {"gap at the start", image("{" + entry("w", "\"F32\"", "[1]", "[4,8]") + "}", eight),
         "tensor 'w': data_offsets [4, 8] leave a gap at the start of the data area"},
        {"trailing bytes", image("{" + w4 + "}", eight), "the data area holds 8 bytes but the tensors cover 4 (4 trailing bytes"},
        {"data without tensors", image("{}", four), "holds 4 bytes but the tensors cover 0"},
        {"control characters escaped", image("{\"a\\u0001b\":1}"), "tensor 'a\\x01b': entry must be an object"},
    };
    for (const BadFile& c : cases) {
        SCOPED_TRACE(c.what);
        const fs::path p = path("bad.safetensors");
        write_file(p, c.bytes);
        EXPECT_THROW_MSG(io::load_safetensors(p), IOError, c.message);
        EXPECT_THROW_MSG(io::read_safetensors_header(p), IOError, c.message);
        EXPECT_THROW_MSG(io::load_safetensors(p), IOError, "safetensors file '" + p.string() + "': ");
    }
}

TEST_F(Safetensors, RejectsPathsThatAreNotFiles) {
    EXPECT_THROW_MSG(io::load_safetensors(path("missing.safetensors")), IOError,
                     "read_safetensors: cannot open '" + path("missing.safetensors").string() +
                         "': No such file or directory");
    EXPECT_THROW_MSG(io::load_safetensors(dir_), IOError, "read_safetensors: '" + dir_.string() + "' is a directory");
    EXPECT_THROW_MSG(io::read_safetensors_header(dir_), IOError, "is a directory");
    ASSERT_EQ(::mkfifo(path("fifo").c_str(), 0600), 0);
    EXPECT_THROW_MSG(io::load_safetensors(path("fifo")), IOError, "fifo' is not a regular file");  // and does not hang
}

TEST_F(Safetensors, FuzzSeedCorpusLoadsOrFailsCleanly) {
    // The committed seeds of fuzz/fuzz_safetensors: valid_* must load, invalid_* must be refused.
    const fs::path corpus = fs::path(GRAFT_SOURCE_DIR) / "fuzz" / "corpus" / "safetensors";
    ASSERT_TRUE(fs::is_directory(corpus)) << corpus;
    int valid = 0, invalid = 0;
    for (const auto& e : fs::directory_iterator(corpus)) {
        const std::string name = e.path().filename().string();
        SCOPED_TRACE(name);
        EXPECT_LT(fs::file_size(e.path()), 4096u);
        if (name.rfind("valid_", 0) == 0) {
            EXPECT_NO_THROW(io::read_safetensors(e.path()));
            ++valid;
        } else {
            ASSERT_EQ(name.rfind("invalid_", 0), 0u);
            EXPECT_THROW(io::read_safetensors(e.path()), IOError);
            ++invalid;
        }
    }
    EXPECT_GT(valid, 5);
    EXPECT_GT(invalid, 15);
}

/// Lowers the process's file size limit (writes past it fail with EFBIG, as on a full disk) for
/// its lifetime; SIGXFSZ is ignored meanwhile so that the failed write returns an error.
class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t bytes) {
        ::getrlimit(RLIMIT_FSIZE, &saved_);
        old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
        rlimit lowered = saved_;
        lowered.rlim_cur = bytes;
        ::setrlimit(RLIMIT_FSIZE, &lowered);
    }
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &saved_);
        ::signal(SIGXFSZ, old_handler_);
    }

private:
    rlimit saved_{};
    sighandler_t old_handler_;
};

TEST_F(Safetensors, FailedSaveLeavesThePreviousFileAndNoTemporary) {
    StateDict old_dict;
    old_dict.insert("w", ones({2}));
    io::save_safetensors(path("model.safetensors"), old_dict, {{"version", "1"}});
    const std::string old_bytes = read_file(path("model.safetensors"));

    StateDict big;
    big.insert("a", randn({256, 256}));
    big.insert("b", randn({256, 256}));
    // Fail while writing the header, while writing the first tensor, and in the second tensor.
    for (rlim_t limit : {rlim_t{0}, rlim_t{64}, rlim_t{4096}, rlim_t{300'000}}) {
        SCOPED_TRACE(limit);
        {
            FileSizeLimit full(limit);
            EXPECT_THROW_MSG(io::save_safetensors(path("model.safetensors"), big), IOError,
                             "writing failed after " + std::to_string(limit) + " bytes: File too large");
        }
        EXPECT_EQ(read_file(path("model.safetensors")), old_bytes);
        EXPECT_EQ(names_in(dir_), std::vector<std::string>{"model.safetensors"});
    }

    // An undefined tensor midway: refused before anything is written.
    StateDict broken;
    broken.insert("a", ones({3}));
    broken.insert("hole", Tensor());
    broken.insert("c", ones({3}));
    EXPECT_THROW_MSG(io::save_safetensors(path("model.safetensors"), broken), ValueError, "tensor 'hole' is undefined");
    EXPECT_EQ(read_file(path("model.safetensors")), old_bytes);
    EXPECT_EQ(names_in(dir_), std::vector<std::string>{"model.safetensors"});

    // The rename itself fails (the target is a non-empty folder): the temporary goes too.
    fs::create_directory(path("folder"));
    write_file(path("folder") / "keep", "x");
    EXPECT_THROW_MSG(io::save_safetensors(path("folder"), old_dict), IOError, "cannot replace it with the temporary file");
    EXPECT_EQ(names_in(dir_), (std::vector<std::string>{"folder", "model.safetensors"}));

    // And a successful save replaces the file.
    io::save_safetensors(path("model.safetensors"), big);
    EXPECT_EQ(names_in(dir_), (std::vector<std::string>{"folder", "model.safetensors"}));
    EXPECT_EQ(raw_bytes(io::load_safetensors(path("model.safetensors")).at("b")), raw_bytes(big.at("b")));
}

/// A process that creates `path` and holds an exclusive flock on it, as a saving writer does. A
/// dying one is then killed with SIGKILL (as a save killed midway) and reaped before this returns;
/// a live one keeps the lock until release() (or the destructor) ends it.
class FakeWriter {
public:
    FakeWriter(const fs::path& path, bool dies) {
        int ready_pipe[2], release_pipe[2];
        if (::pipe(ready_pipe) != 0 || ::pipe(release_pipe) != 0) throw std::runtime_error("pipe failed");
        const std::string name = path.string();
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {  // the child: async-signal-safe calls only
            ::close(ready_pipe[0]);
            ::close(release_pipe[1]);  // so that the parent's close is seen as end of file
            const int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0666);
            if (fd < 0 || ::flock(fd, LOCK_EX) != 0) ::_exit(1);
            char c = 'x';
            if (::write(ready_pipe[1], &c, 1) != 1) ::_exit(1);
            if (dies) ::kill(::getpid(), SIGKILL);
            if (::read(release_pipe[0], &c, 1) < 0) ::_exit(1);
            ::_exit(0);
        }
        ::close(ready_pipe[1]);
        ::close(release_pipe[0]);
        release_ = release_pipe[1];
        char c = 0;
        const bool locked = ::read(ready_pipe[0], &c, 1) == 1;
        ::close(ready_pipe[0]);
        if (!locked) throw std::runtime_error("the fake writer could not create and lock " + name);
        if (dies) release();
    }
    ~FakeWriter() { release(); }
    FakeWriter(const FakeWriter&) = delete;
    FakeWriter& operator=(const FakeWriter&) = delete;

    pid_t pid() const { return pid_; }
    /// Ends the writer and waits for it: its lock is gone when this returns.
    void release() {
        if (release_ < 0) return;
        ::close(release_);
        release_ = -1;
        ::waitpid(pid_, nullptr, 0);
    }

private:
    pid_t pid_ = -1;
    int release_ = -1;
};

TEST_F(Safetensors, SaveRemovesTheTargetsTemporaryFilesOfDeadWritersOnly) {
    StateDict sd;
    sd.insert("w", ones({3}));
    const std::string prefix = ".model.safetensors.tmp-";
    // A writer killed while saving: its pid is gone and its lock with it.
    FakeWriter dead_writer(path(prefix + "0-0123456789abcdef"), /*dies=*/true);
    const std::string dead = prefix + std::to_string(dead_writer.pid()) + "-0123456789abcdef";
    fs::rename(path(prefix + "0-0123456789abcdef"), path(dead));
    // A writer still saving, in another process, and one of this process.
    FakeWriter live_writer(path(prefix + "1-fedcba9876543210"), /*dies=*/false);
    const std::string live = prefix + std::to_string(live_writer.pid()) + "-fedcba9876543210";
    fs::rename(path(prefix + "1-fedcba9876543210"), path(live));
    const std::string own = prefix + std::to_string(::getpid()) + "-00000000ffffffff";
    write_file(path(own), "partial");
    const int own_fd = ::open(path(own).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(own_fd, 0);
    ASSERT_EQ(::flock(own_fd, LOCK_EX), 0);
    // A file of the older naming (no pid) that nobody writes, and names that are not this target's
    // temporary files.
    const std::string legacy = prefix + "00000000deadbeef";
    write_file(path(legacy), "stale");
    const std::vector<std::string> others = {prefix + "notes", prefix + "12-0123", ".other.safetensors.tmp-5-0123456789abcdef",
                                             "model.safetensors.tmp-5-0123456789abcdef"};
    for (const std::string& name : others) write_file(path(name), "keep");

    io::save_safetensors(path("model.safetensors"), sd);
    std::vector<std::string> expected = others;
    expected.insert(expected.end(), {live, own, "model.safetensors"});
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(names_in(dir_), expected);
    EXPECT_EQ(read_file(path(live)), "");
    EXPECT_EQ(read_file(path(own)), "partial");

    // Once those writers are gone too, the next save removes their files.
    live_writer.release();
    ::close(own_fd);
    io::save_safetensors(path("model.safetensors"), sd);
    expected = others;
    expected.push_back("model.safetensors");
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(names_in(dir_), expected);
    EXPECT_EQ(raw_bytes(io::load_safetensors(path("model.safetensors")).at("w")), raw_bytes(ones({3})));
}

TEST_F(Safetensors, SaveReportsBadPathsAndNames) {
    StateDict sd;
    sd.insert("w", ones({1}));
    EXPECT_THROW_MSG(io::save_safetensors(path("no/such/dir/x.safetensors"), sd), IOError,
                     "cannot create a temporary file in");
    EXPECT_THROW_MSG(io::save_safetensors(dir_ / "", sd), IOError, "the path names a folder, not a file");

    StateDict reserved;
    reserved.insert("__metadata__", ones({1}));
    EXPECT_THROW_MSG(io::save_safetensors(path("r.safetensors"), reserved), ValueError, "cannot be named '__metadata__'");
    StateDict bad_name;
    bad_name.insert("w\xff", ones({1}));
    EXPECT_THROW_MSG(io::save_safetensors(path("n.safetensors"), bad_name), ValueError,
                     "tensor name 'w\\xff' is not valid UTF-8");
    EXPECT_THROW_MSG(io::save_safetensors(path("n.safetensors"), sd, {{"k", "\xc3"}}), ValueError,
                     "metadata value '\\xc3' is not valid UTF-8");
    EXPECT_TRUE(names_in(dir_).empty());
}

TEST_F(Safetensors, SavedFileGetsTheUmaskPermissions) {
    const mode_t old_mask = ::umask(027);
    StateDict sd;
    sd.insert("w", ones({1}));
    io::save_safetensors(path("perm.safetensors"), sd);
    ::umask(old_mask);
    struct stat st {};
    ASSERT_EQ(::stat(path("perm.safetensors").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
}

}  // namespace
