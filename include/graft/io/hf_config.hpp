// graft/io/hf_config.hpp — a Hugging Face config.json, read once, with typed getters.
//
//   auto cfg = io::HfConfig::from_file(dir / "config.json");
//   std::int64_t layers = cfg.required_int("num_hidden_layers");
//   double eps = cfg.double_or("layer_norm_eps", 1e-12);
//   std::string act = cfg.string_or("hidden_act", "gelu");
//
// Every model family's config (GPT2Config, BertConfig, …) reads its keys through this class, so
// they all report a missing or mistyped key the same way: an IOError naming the key, the type
// expected, the value found and the file ("GPT2Config: 'gpt2/config.json': \"n_embd\" must be
// an integer, got \"16\""). A key whose value is null counts as absent. Unknown keys are ignored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace graft::io {

class HfConfig {
public:
    /// Reads and parses a config.json (gzip-compressed too); IOError naming the path when it
    /// cannot be read, is not valid JSON or is not a JSON object. `who` starts every error
    /// message, this one's and the getters' (the family reading it: "BertConfig").
    static HfConfig from_file(const std::filesystem::path& path, const std::string& who = "HfConfig");
    /// Parses JSON text; `source` names it in errors ("'<path>'" for a file).
    static HfConfig from_text(const std::string& text, const std::string& source = "<string>",
                              const std::string& who = "HfConfig");

    /// Whether `key` is present with a non-null value.
    bool has(const std::string& key) const;

    /// The integer under `key`; IOError when it is missing or not an integer (1.0 is not one).
    std::int64_t required_int(const std::string& key) const;
    /// The integer under `key`, or `fallback` when the key is absent or null.
    std::int64_t int_or(const std::string& key, std::int64_t fallback) const;
    /// The number (integer or not) under `key`; IOError when missing or not a number.
    double required_double(const std::string& key) const;
    double double_or(const std::string& key, double fallback) const;
    /// true/false under `key`, or `fallback`; IOError for any other value.
    bool bool_or(const std::string& key, bool fallback) const;
    /// The string under `key`; IOError when missing or not a string.
    std::string required_string(const std::string& key) const;
    std::string string_or(const std::string& key, const std::string& fallback) const;
    /// An object of strings under `key` (id2label: {"0": "NEGATIVE", …}) as a sorted map; empty
    /// when absent; IOError when it is not an object or a value is not a string.
    std::map<std::string, std::string> string_map_or_empty(const std::string& key) const;
    /// The value under `key` as compact JSON text ("null" when absent), for error messages about
    /// settings a model cannot run ("rope_scaling": {...}).
    std::string json_text(const std::string& key) const;

    /// Where the config came from, as errors name it: "'<path>'" or the source given to from_text.
    const std::string& source() const { return source_; }
    /// What starts its error messages: "<who>: <source>: …".
    const std::string& who() const { return who_; }

    struct Json;  // the parsed document (internal)

private:
    HfConfig(std::shared_ptr<const Json> json, std::string source, std::string who);
    /// "<who>: <source>", the start of every error message.
    std::string where() const;
    std::shared_ptr<const Json> json_;
    std::string source_;
    std::string who_;
};

}  // namespace graft::io
