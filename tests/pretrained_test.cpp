// io::load_pretrained: Hugging Face model directories, one model.safetensors or shards listed by
// model.safetensors.index.json; BF16/F16 converted exactly while copying; errors naming the
// directory, the shard and the tensor; a failed load changes nothing; no float32 copy of the file.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace graft;
namespace fs = std::filesystem;

namespace {

/// Two Linear layers and a LayerNorm: "0.weight" [4, 3], "0.bias" [4], "1.weight" [4], "1.bias" [4].
nn::Sequential small_model() { return nn::Sequential{nn::Linear(3, 4), nn::LayerNorm(4)}; }

/// A tensor of `dtype` (BFloat16 or Float16) holding the given raw 16-bit patterns.
Tensor half_tensor(const std::vector<std::uint16_t>& bits, const Shape& shape, DType dtype) {
    std::vector<std::uint16_t> copy = bits;
    return from_blob(copy.data(), shape, dtype).clone();
}

void write_text(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

/// An index whose weight_map maps each (name, shard) pair.
std::string index_json(const std::vector<std::pair<std::string, std::string>>& map) {
    std::string s = R"({"metadata": {"total_size": 0}, "weight_map": {)";
    for (std::size_t i = 0; i < map.size(); ++i)
        s += (i ? ", \"" : "\"") + map[i].first + "\": \"" + map[i].second + "\"";
    return s + "}}";
}

/// A sharded directory holding small_model()'s tensors: 0.* in shard 1, 1.* in shard 2.
void write_sharded(const fs::path& dir, const StateDict& sd) {
    io::save_safetensors(dir / "model-00001-of-00002.safetensors", {{"0.weight", sd.at("0.weight")}, {"0.bias", sd.at("0.bias")}});
    io::save_safetensors(dir / "model-00002-of-00002.safetensors", {{"1.weight", sd.at("1.weight")}, {"1.bias", sd.at("1.bias")}});
    write_text(dir / "model.safetensors.index.json",
               index_json({{"0.weight", "model-00001-of-00002.safetensors"}, {"0.bias", "model-00001-of-00002.safetensors"},
                           {"1.weight", "model-00002-of-00002.safetensors"}, {"1.bias", "model-00002-of-00002.safetensors"}}));
}

}  // namespace

TEST(LoadPretrained, SingleFileAndShardedDirectoriesLoadTheSameValues) {
    test::ScratchDir single("pretrained"), sharded("pretrained");
    nn::Sequential source = small_model();
    io::save_safetensors(single.path("model.safetensors"), source.state_dict());
    write_sharded(sharded.dir(), source.state_dict());
    for (const fs::path& dir : {single.dir(), sharded.dir()}) {
        nn::Sequential model = small_model();
        const nn::LoadReport report = io::load_pretrained(model, dir);
        EXPECT_TRUE(report.ok()) << report.to_string();
        EXPECT_EQ(report.loaded.size(), 4u);
        for (const auto& [name, t] : source.state_dict())
            EXPECT_EQ(model.state_dict().at(name).to_vector<float>(), t.to_vector<float>()) << name;
    }
}

TEST(LoadPretrained, Bf16AndF16ConvertExactlySubnormalsInfinitiesAndNaNIncluded) {
    test::ScratchDir dir("pretrained");
    // f16: smallest subnormal 2^-24, largest subnormal, 1, the largest finite 65504, −0, +inf, −inf, NaN,
    // then 1/3 rounded, −2; 12 values for 0.weight [4, 3].
    const std::vector<std::uint16_t> f16_bits{0x0001, 0x03ff, 0x3c00, 0x7bff, 0x8000, 0x7c00,
                                              0xfc00, 0x7e00, 0x3555, 0xc000, 0x0400, 0x5140};
    const std::vector<float> f16_expected{std::ldexp(1.0f, -24), 1023 * std::ldexp(1.0f, -24), 1.0f, 65504.0f, -0.0f,
                                          std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                                          std::numeric_limits<float>::quiet_NaN(), 0.333251953125f, -2.0f,
                                          std::ldexp(1.0f, -14), 42.0f};
    // bf16: 1, −2.5, the smallest bf16 subnormal 2^-133, 1 + 2^-7 (8 significant bits)
    const std::vector<std::uint16_t> bf16_bits{0x3f80, 0xc020, 0x0001, 0x3f81};
    const std::vector<float> bf16_expected{1.0f, -2.5f, std::ldexp(1.0f, -133), 1.0f + std::ldexp(1.0f, -7)};
    io::save_safetensors(dir.path("model-00001-of-00002.safetensors"),
                         {{"0.weight", half_tensor(f16_bits, {4, 3}, DType::Float16)},
                          {"0.bias", half_tensor(bf16_bits, {4}, DType::BFloat16)}});
    io::save_safetensors(dir.path("model-00002-of-00002.safetensors"),
                         {{"1.weight", ones({4})}, {"1.bias", half_tensor(bf16_bits, {4}, DType::BFloat16)}});
    write_text(dir.path("model.safetensors.index.json"),
               index_json({{"0.weight", "model-00001-of-00002.safetensors"}, {"0.bias", "model-00001-of-00002.safetensors"},
                           {"1.weight", "model-00002-of-00002.safetensors"}, {"1.bias", "model-00002-of-00002.safetensors"}}));
    nn::Sequential model = small_model();
    io::load_pretrained(model, dir.dir());
    const std::vector<float> w = model.state_dict().at("0.weight").to_vector<float>();
    ASSERT_EQ(w.size(), f16_expected.size());
    for (std::size_t i = 0; i < w.size(); ++i) {
        if (std::isnan(f16_expected[i])) {
            EXPECT_TRUE(std::isnan(w[i])) << i;
        } else {
            EXPECT_EQ(w[i], f16_expected[i]) << i;
            EXPECT_EQ(std::signbit(w[i]), std::signbit(f16_expected[i])) << i;
        }
    }
    EXPECT_EQ(model.state_dict().at("0.bias").to_vector<float>(), bf16_expected);
    EXPECT_EQ(model.state_dict().at("1.bias").to_vector<float>(), bf16_expected);
    EXPECT_EQ(model.state_dict().at("0.weight").dtype(), DType::Float32);
}

TEST(LoadPretrained, Bf16WeightsLoadWithoutAFloat32CopyOfTheFile) {
    // Two 256 KiB float32 weights saved as bf16: a loader that converted the file to float32 first
    // (or staged converted copies before writing) would allocate 256 KiB buffers, which the buffer
    // cache counts; copying each bf16 view straight into its parameter allocates none.
    test::ScratchDir dir("pretrained");
    nn::Sequential source{nn::Linear(256, 256, /*bias=*/false), nn::Linear(256, 256, /*bias=*/false)};
    StateDict bf16;
    for (const auto& [name, t] : source.state_dict()) bf16.insert(name, t.to(DType::BFloat16));
    io::save_safetensors(dir.path("model.safetensors"), bf16);
    nn::Sequential model{nn::Linear(256, 256, false), nn::Linear(256, 256, false)};
    const MemoryCacheStats before = memory_cache_stats();
    io::load_pretrained(model, dir.dir());
    const MemoryCacheStats after = memory_cache_stats();
    EXPECT_EQ(after.hits + after.misses, before.hits + before.misses);
    EXPECT_EQ(model.state_dict().at("1.weight").to_vector<float>(), bf16.at("1.weight").to(DType::Float32).to_vector<float>());
}

TEST(LoadPretrained, RenamingOptionsApplyToHubPrefixes) {
    test::ScratchDir dir("pretrained");
    nn::Sequential source = small_model();
    StateDict prefixed;
    for (const auto& [name, t] : source.state_dict()) prefixed.insert("encoder." + name, t);
    io::save_safetensors(dir.path("model.safetensors"), prefixed);
    nn::Sequential model = small_model();
    EXPECT_TRUE(io::load_pretrained(model, dir.dir(), {.strip_prefix = "encoder."}).ok());
    EXPECT_EQ(model.state_dict().at("0.weight").to_vector<float>(), source.state_dict().at("0.weight").to_vector<float>());
}

TEST(LoadPretrained, BrokenDirectoriesNameDirectoryShardAndTensor) {
    nn::Sequential source = small_model();
    const StateDict sd = source.state_dict();
    nn::Sequential model = small_model();
    {
        test::ScratchDir dir("pretrained");
        EXPECT_THROW_MSG(io::load_pretrained(model, dir.dir()), IOError,
                         "load_pretrained '" + dir.dir().string() + "': neither model.safetensors nor model.safetensors.index.json");
    }
    {
        test::ScratchDir dir("pretrained");
        write_sharded(dir.dir(), sd);
        fs::remove(dir.path("model-00002-of-00002.safetensors"));
        EXPECT_THROW_MSG(io::load_pretrained(model, dir.dir()), IOError,
                         "load_pretrained '" + dir.dir().string() +
                             "': shard 'model-00002-of-00002.safetensors' is missing (model.safetensors.index.json lists it "
                             "for '1.bias')");
    }
    {
        test::ScratchDir dir("pretrained");
        write_sharded(dir.dir(), sd);
        io::save_safetensors(dir.path("model-00002-of-00002.safetensors"), {{"1.weight", sd.at("1.weight")}});
        EXPECT_THROW_MSG(io::load_pretrained(model, dir.dir()), IOError,
                         "model.safetensors.index.json lists tensor '1.bias' in shard 'model-00002-of-00002.safetensors', "
                         "which does not hold it");
    }
    {
        test::ScratchDir dir("pretrained");
        write_sharded(dir.dir(), sd);
        io::save_safetensors(dir.path("model-00002-of-00002.safetensors"),
                             {{"1.weight", sd.at("1.weight")}, {"1.bias", sd.at("1.bias")}, {"0.bias", sd.at("0.bias")}});
        EXPECT_THROW_MSG(io::load_pretrained(model, dir.dir()), IOError,
                         "tensor '0.bias' is in both shard 'model-00001-of-00002.safetensors' and shard "
                         "'model-00002-of-00002.safetensors'");
    }
    {
        test::ScratchDir dir("pretrained");
        write_sharded(dir.dir(), sd);
        write_text(dir.path("model.safetensors.index.json"),
                   R"({"weight_map": {"0.weight": "model-00001-of-00002.safetensors", "0.weight": "model-00001-of-00002.safetensors"}})");
        EXPECT_THROW_MSG(io::load_pretrained(model, dir.dir()), IOError, "tensor '0.weight' is listed twice in \"weight_map\"");
        write_text(dir.path("model.safetensors.index.json"), R"({"weight_map": {"0.weight": "../elsewhere.safetensors"}})");
        EXPECT_THROW_MSG(io::load_pretrained(model, dir.dir()), IOError,
                         "tensor '0.weight' maps to \"../elsewhere.safetensors\", expected the name of a shard file");
        write_text(dir.path("model.safetensors.index.json"), R"({"metadata": {}})");
        EXPECT_THROW_MSG(io::load_pretrained(model, dir.dir()), IOError, "\"weight_map\" object");
        write_text(dir.path("model.safetensors.index.json"), R"({"weight_map": )");
        EXPECT_THROW_MSG(io::load_pretrained(model, dir.dir()), IOError, "not valid JSON");
    }
    {
        test::ScratchDir dir("pretrained");
        write_sharded(dir.dir(), sd);
        write_text(dir.path("model-00002-of-00002.safetensors"), "not a safetensors file");
        EXPECT_THROW_MSG(io::load_pretrained(model, dir.dir()), IOError,
                         "load_pretrained '" + dir.dir().string() + "': shard 'model-00002-of-00002.safetensors'");
    }
}

TEST(LoadPretrained, AFailedLoadChangesNoParameter) {
    // The first shard is fine; the second holds a bias of the wrong shape: strict loading fails
    // and the first shard's tensors must not have been written either.
    test::ScratchDir dir("pretrained");
    nn::Sequential source = small_model();
    StateDict sd = source.state_dict();
    sd.set("1.bias", zeros({5}));
    write_sharded(dir.dir(), sd);
    nn::Sequential model = small_model();
    const std::vector<float> before = model.state_dict().at("0.weight").to_vector<float>();
    EXPECT_THROW_MSG(io::load_pretrained(model, dir.dir()), ValueError,
                     "load_pretrained '" + dir.dir().string() + "': load_state_dict (strict)");
    EXPECT_EQ(model.state_dict().at("0.weight").to_vector<float>(), before);
}
