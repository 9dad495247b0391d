// io::HfConfig: a config.json parsed once by nlohmann-json, read through typed getters whose errors
// name the key, the expected type, the value and the file.
#include "graft/io/hf_config.hpp"

#include <nlohmann/json.hpp>

#include "graft/error.hpp"
#include "io/printable.hpp"
#include "io/read_text.hpp"

namespace graft::io {

struct HfConfig::Json {
    nlohmann::json value;
};

namespace {

using nlohmann::json;

/// The value under `key`, nullptr when absent or null.
const json* lookup(const json& object, const std::string& key) {
    const auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
}

}  // namespace

HfConfig::HfConfig(std::shared_ptr<const Json> json, std::string source, std::string who)
    : json_(std::move(json)), source_(std::move(source)), who_(std::move(who)) {}

HfConfig HfConfig::from_file(const std::filesystem::path& path, const std::string& who) {
    // 'path', quoted in place: "'" + path.string() trips a false -Wrestrict warning of GCC 12
    std::string source = path.string();
    source.insert(0, 1, '\'').push_back('\'');
    return from_text(detail::read_text_file(path, who.c_str()), source, who);
}

HfConfig HfConfig::from_text(const std::string& text, const std::string& source, const std::string& who) {
    auto parsed = std::make_shared<Json>();
    try {
        parsed->value = json::parse(text);
    } catch (const json::parse_error& e) {
        throw IOError(who + ": " + source + ": not valid JSON (" + e.what() + ")");
    }
    if (!parsed->value.is_object())
        throw IOError(who + ": " + source + ": expected a JSON object, got " + std::string(parsed->value.type_name()));
    return HfConfig(std::move(parsed), source, who);
}

std::string HfConfig::where() const { return who_ + ": " + source_; }

bool HfConfig::has(const std::string& key) const { return lookup(json_->value, key) != nullptr; }

namespace {

[[noreturn]] void throw_missing(const std::string& source, const std::string& key) {
    throw IOError(source + ": required key \"" + key + "\" is missing");
}

[[noreturn]] void throw_type(const std::string& source, const std::string& key, const char* expected, const json& v) {
    throw IOError(source + ": \"" + key + "\" must be " + expected + ", got " + detail::printable(v.dump()));
}

std::int64_t as_int(const json& v, const std::string& source, const std::string& key) {
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
        throw_type(source, key, "an integer that fits in 64 bits", v);
    if (!v.is_number_integer()) throw_type(source, key, "an integer", v);
    return v.get<std::int64_t>();
}

double as_double(const json& v, const std::string& source, const std::string& key) {
    if (!v.is_number()) throw_type(source, key, "a number", v);
    return v.get<double>();
}

}  // namespace

std::int64_t HfConfig::required_int(const std::string& key) const {
    const json* v = lookup(json_->value, key);
    if (v == nullptr) throw_missing(where(), key);
    return as_int(*v, where(), key);
}

std::int64_t HfConfig::int_or(const std::string& key, std::int64_t fallback) const {
    const json* v = lookup(json_->value, key);
    return v == nullptr ? fallback : as_int(*v, where(), key);
}

double HfConfig::required_double(const std::string& key) const {
    const json* v = lookup(json_->value, key);
    if (v == nullptr) throw_missing(where(), key);
    return as_double(*v, where(), key);
}

double HfConfig::double_or(const std::string& key, double fallback) const {
    const json* v = lookup(json_->value, key);
    return v == nullptr ? fallback : as_double(*v, where(), key);
}

bool HfConfig::bool_or(const std::string& key, bool fallback) const {
    const json* v = lookup(json_->value, key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) throw_type(where(), key, "true or false", *v);
    return v->get<bool>();
}

std::string HfConfig::required_string(const std::string& key) const {
    const json* v = lookup(json_->value, key);
    if (v == nullptr) throw_missing(where(), key);
    if (!v->is_string()) throw_type(where(), key, "a string", *v);
    return v->get<std::string>();
}

std::string HfConfig::string_or(const std::string& key, const std::string& fallback) const {
    return has(key) ? required_string(key) : fallback;
}

std::map<std::string, std::string> HfConfig::string_map_or_empty(const std::string& key) const {
    std::map<std::string, std::string> out;
    const json* v = lookup(json_->value, key);
    if (v == nullptr) return out;
    if (!v->is_object()) throw_type(where(), key, "an object of strings", *v);
    for (const auto& [k, item] : v->items()) {
        if (!item.is_string()) throw_type(where(), key + "." + k, "a string", item);
        out.emplace(k, item.get<std::string>());
    }
    return out;
}

std::string HfConfig::json_text(const std::string& key) const {
    const json* v = lookup(json_->value, key);
    return v == nullptr ? "null" : detail::printable(v->dump());
}

}  // namespace graft::io
