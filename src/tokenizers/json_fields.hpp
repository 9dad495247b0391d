// Internal: reading the fields of a tokenizer.json with errors that name the JSON path.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "graft/tokenizers/tokenizer.hpp"

namespace graft::tokenizers::detail {

using nlohmann::json;

/// A place in the file, for messages: "tokenizer.json: model.vocab".
struct JsonPath {
    std::string source;
    std::string path;
    JsonPath operator/(const std::string& key) const { return {source, path.empty() ? key : path + "." + key}; }
    JsonPath operator[](std::size_t index) const { return {source, path + "[" + std::to_string(index) + "]"}; }
    [[noreturn]] void fail(const std::string& what) const {
        throw TokenizerError(source + ": " + (path.empty() ? std::string("top level") : path) + ": " + what);
    }
};

inline const char* json_type(const json& j) { return j.type_name(); }

/// j[key], which must exist and be an object.
inline const json& object_field(const json& j, const char* key, const JsonPath& at) {
    auto it = j.find(key);
    if (it == j.end()) at.fail(std::string("missing \"") + key + "\"");
    if (!it->is_object()) (at / key).fail(std::string("expected an object, found ") + json_type(*it));
    return *it;
}

inline std::string string_field(const json& j, const char* key, const JsonPath& at) {
    auto it = j.find(key);
    if (it == j.end()) at.fail(std::string("missing \"") + key + "\"");
    if (!it->is_string()) (at / key).fail(std::string("expected a string, found ") + json_type(*it));
    return it->get<std::string>();
}

/// j[key] as a string; `fallback` when absent or null.
inline std::string string_or(const json& j, const char* key, const std::string& fallback, const JsonPath& at) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_string()) (at / key).fail(std::string("expected a string, found ") + json_type(*it));
    return it->get<std::string>();
}

inline bool bool_or(const json& j, const char* key, bool fallback, const JsonPath& at) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) (at / key).fail(std::string("expected true or false, found ") + json_type(*it));
    return it->get<bool>();
}

inline std::int64_t int_or(const json& j, const char* key, std::int64_t fallback, const JsonPath& at) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_number_integer()) (at / key).fail(std::string("expected an integer, found ") + it->dump());
    return it->get<std::int64_t>();
}

/// The "type" of a component object.
inline std::string component_type(const json& j, const JsonPath& at) {
    if (!j.is_object()) at.fail(std::string("expected an object, found ") + json_type(j));
    return string_field(j, "type", at);
}

}  // namespace graft::tokenizers::detail
