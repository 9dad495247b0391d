// io::load_pretrained: a Hugging Face model directory (one model.safetensors, or shards listed by
// model.safetensors.index.json) mapped, checked as a whole, then loaded tensor by tensor.
#include "graft/io/pretrained.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <unordered_map>

#include "graft/error.hpp"
#include "io/printable.hpp"
#include "io/read_text.hpp"
#include "io/safetensors_format.hpp"

namespace graft::io {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* const kSingleFile = "model.safetensors";
const char* const kIndexFile = "model.safetensors.index.json";

std::string where(const fs::path& dir) { return "load_pretrained " + detail::quote(dir.string()); }

/// The index's weight_map: tensor name → shard file name, in the index's order. Repeated names
/// are found while parsing (a JSON object keeps only the last of them).
std::vector<std::pair<std::string, std::string>> read_weight_map(const fs::path& dir) {
    const fs::path index_path = dir / kIndexFile;
    const std::string source = where(dir) + ": " + detail::quote(index_path.filename().string());
    const std::string text = detail::read_text_file(index_path, "load_pretrained");
    std::string top_key;
    std::set<std::string> names;
    json index;
    try {
        index = json::parse(text, [&](int depth, json::parse_event_t event, json& parsed) {
            if (event == json::parse_event_t::key && depth == 1) top_key = parsed.get<std::string>();
            if (event == json::parse_event_t::key && depth == 2 && top_key == "weight_map" &&
                !names.insert(parsed.get<std::string>()).second)
                throw IOError(source + ": tensor " + detail::quote(parsed.get<std::string>()) +
                              " is listed twice in \"weight_map\"");
            return true;
        });
    } catch (const json::exception& e) {
        throw IOError(source + ": not valid JSON (" + e.what() + ")");
    }
    const auto map = index.is_object() ? index.find("weight_map") : index.end();
    if (map == index.end() || !map->is_object())
        throw IOError(source + ": expected a JSON object with a \"weight_map\" object of tensor name → shard file");
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [name, file] : map->items()) {
        const std::string shard = file.is_string() ? file.get<std::string>() : "";
        if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos)
            throw IOError(source + ": tensor " + detail::quote(name) + " maps to " + detail::printable(file.dump()) +
                          ", expected the name of a shard file in the directory");
        out.emplace_back(name, shard);
    }
    return out;
}

}  // namespace

StateDict load_pretrained_state_dict(const fs::path& dir) {
    std::vector<std::pair<std::string, std::string>> listed;  // (tensor, shard) from the index
    std::vector<fs::path> files;
    if (fs::exists(dir / kIndexFile)) {
        listed = read_weight_map(dir);
        std::set<std::string> seen;
        for (const auto& [name, shard] : listed)
            if (seen.insert(shard).second) files.push_back(dir / shard);
    } else if (fs::exists(dir / kSingleFile)) {
        files.push_back(dir / kSingleFile);
    } else {
        std::string found;
        if (fs::exists(dir / "pytorch_model.bin") || fs::exists(dir / "pytorch_model.bin.index.json"))
            found = " (it has pytorch_model.bin: convert it to safetensors, e.g. with safetensors.torch.save_file)";
        throw IOError(where(dir) + ": neither " + kSingleFile + " nor " + kIndexFile + " is there" + found);
    }

    // Every shard mapped and validated, every tensor a view of its mapping (a copy only when its
    // bytes are misaligned), before anything is loaded.
    StateDict dict;
    std::unordered_map<std::string, std::string> shard_of;  // tensor name → shard file name
    for (const fs::path& file : files) {
        const std::string shard = file.filename().string();
        if (!fs::exists(file))
            throw IOError(where(dir) + ": shard " + detail::quote(shard) + " is missing (" + kIndexFile +
                          " lists it for " + detail::quote(std::find_if(listed.begin(), listed.end(), [&](const auto& e) {
                              return e.second == shard;
                          })->first) + ")");
        detail::MappedSafetensors mapped;
        try {
            mapped = detail::map_safetensors(file);
        } catch (Error& e) {
            e.add_context(where(dir) + ": shard " + detail::quote(shard));
            throw;
        }
        for (const SafetensorsTensorInfo& info : mapped.header.tensors) {
            if (auto [it, added] = shard_of.emplace(info.name, shard); !added)
                throw IOError(where(dir) + ": tensor " + detail::quote(info.name) + " is in both shard " +
                              detail::quote(it->second) + " and shard " + detail::quote(shard));
            dict.insert(info.name, detail::materialize_tensor(info, mapped.header, mapped.bytes, mapped.owner,
                                                              detail::HalfTensors::KeepAsViews));
        }
    }
    for (const auto& [name, shard] : listed) {
        const auto it = shard_of.find(name);
        if (it == shard_of.end() || it->second != shard)
            throw IOError(where(dir) + ": " + kIndexFile + " lists tensor " + detail::quote(name) + " in shard " +
                          detail::quote(shard) + ", which does not hold it" +
                          (it == shard_of.end() ? std::string() : " (shard " + detail::quote(it->second) + " does)"));
    }
    return dict;
}

nn::LoadReport load_pretrained(nn::Module& model, const fs::path& dir, const nn::LoadOptions& options) {
    const StateDict dict = load_pretrained_state_dict(dir);
    try {
        return model.load_state_dict(dict, options);
    } catch (Error& e) {
        e.add_context(where(dir));
        throw;
    }
}

}  // namespace graft::io
