// io::HfConfig: typed getters over a Hugging Face config.json, and errors that name the key, the
// expected type, the value and the file.
#include <filesystem>
#include <fstream>

#include "test_util.hpp"

using namespace graft;

namespace {

const io::HfConfig kConfig = io::HfConfig::from_text(
    R"({"hidden_size": 32, "layer_norm_eps": 1e-12, "dropout": 0, "hidden_act": "gelu", "tie": true,
        "nothing": null, "id2label": {"0": "NEG", "1": "POS"}, "rope_scaling": {"type": "linear", "factor": 2.0},
        "huge": 18446744073709551615, "float_size": 32.0})",
    "'cfg.json'", "TestConfig");

}  // namespace

TEST(HfConfig, GettersReadTypedValues) {
    EXPECT_EQ(kConfig.required_int("hidden_size"), 32);
    EXPECT_EQ(kConfig.int_or("absent", 7), 7);
    EXPECT_EQ(kConfig.int_or("nothing", 7), 7);  // null counts as absent
    EXPECT_DOUBLE_EQ(kConfig.required_double("layer_norm_eps"), 1e-12);
    EXPECT_DOUBLE_EQ(kConfig.required_double("hidden_size"), 32.0);  // an integer is a number
    EXPECT_DOUBLE_EQ(kConfig.double_or("dropout", 0.5), 0.0);
    EXPECT_TRUE(kConfig.bool_or("tie", false));
    EXPECT_EQ(kConfig.string_or("hidden_act", "relu"), "gelu");
    EXPECT_EQ(kConfig.string_or("absent", "relu"), "relu");
    EXPECT_TRUE(kConfig.has("hidden_size"));
    EXPECT_FALSE(kConfig.has("nothing"));
    const auto labels = kConfig.string_map_or_empty("id2label");
    ASSERT_EQ(labels.size(), 2u);
    EXPECT_EQ(labels.at("1"), "POS");
    EXPECT_TRUE(kConfig.string_map_or_empty("absent").empty());
    EXPECT_EQ(kConfig.json_text("rope_scaling"), R"({"factor":2.0,"type":"linear"})");
    EXPECT_EQ(kConfig.source(), "'cfg.json'");
}

TEST(HfConfig, ErrorsNameKeyTypeValueAndSource) {
    EXPECT_THROW_MSG(kConfig.required_int("absent"), IOError, "TestConfig: 'cfg.json': required key \"absent\" is missing");
    EXPECT_THROW_MSG(kConfig.required_int("hidden_act"), IOError,
                     "TestConfig: 'cfg.json': \"hidden_act\" must be an integer, got \"gelu\"");
    EXPECT_THROW_MSG(kConfig.required_int("float_size"), IOError, "\"float_size\" must be an integer, got 32.0");
    EXPECT_THROW_MSG(kConfig.int_or("huge", 0), IOError, "an integer that fits in 64 bits, got 18446744073709551615");
    EXPECT_THROW_MSG(kConfig.double_or("hidden_act", 0), IOError, "\"hidden_act\" must be a number, got \"gelu\"");
    EXPECT_THROW_MSG(kConfig.bool_or("hidden_size", false), IOError, "\"hidden_size\" must be true or false, got 32");
    EXPECT_THROW_MSG(kConfig.string_or("tie", ""), IOError, "\"tie\" must be a string, got true");
    EXPECT_THROW_MSG(kConfig.string_map_or_empty("hidden_size"), IOError, "\"hidden_size\" must be an object of strings");
    EXPECT_THROW_MSG(io::HfConfig::from_text("{\"a\": 1", "'x.json'"), IOError, "HfConfig: 'x.json': not valid JSON");
    EXPECT_THROW_MSG(io::HfConfig::from_text("[1]"), IOError, "expected a JSON object, got array");
}

TEST(HfConfig, FromFileNamesThePath) {
    test::ScratchDir dir("hfcfg");
    const auto path = dir.path("config.json");
    std::ofstream(path) << R"({"num_hidden_layers": "2"})";
    const auto config = io::HfConfig::from_file(path, "BertConfig");
    EXPECT_EQ(config.source(), "'" + path.string() + "'");
    EXPECT_THROW_MSG(config.required_int("num_hidden_layers"), IOError,
                     "BertConfig: '" + path.string() + "': \"num_hidden_layers\" must be an integer, got \"2\"");
    EXPECT_THROW_MSG(io::HfConfig::from_file(dir.path("absent.json")), IOError, "absent.json");
}
