// LoRA adapter files: the lora_A/lora_B tensors of a model under PEFT's names, with the config in
// the safetensors metadata; saving, and loading with every name and shape checked first.
#include <charconv>
#include <map>

#include <nlohmann/json.hpp>

#include "graft/autograd.hpp"
#include "graft/io/safetensors.hpp"
#include "graft/io/lora_adapter.hpp"
#include "graft/nn/lora.hpp"
#include "nn/repr.hpp"

namespace graft::io {

using nn::LoraConfig;
using nn::LoraLinear;
using nn::LoraTarget;
using nn::Module;
namespace pyfmt = nn::pyfmt;

namespace {

const std::string kPrefix = "base_model.model.";
const std::string kSuffixA = ".lora_A.weight";
const std::string kSuffixB = ".lora_B.weight";

std::string file_key(const std::string& path, bool is_a) { return kPrefix + path + (is_a ? kSuffixA : kSuffixB); }

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The config recorded in a file's metadata, or nullopt when it records none (PEFT keeps its
/// config in adapter_config.json). ValueError naming the key for a value that does not parse.
std::optional<LoraConfig> config_from_metadata(const io::Metadata& meta, const std::string& file) {
    if (!meta.contains("r")) return std::nullopt;
    auto bad = [&](const std::string& key, const std::string& expected) {
        return ValueError("load_lora_adapter: " + file + ": metadata '" + key + "' is '" + meta.at(key) +
                          "', expected " + expected);
    };
    auto number = [&]<class T>(const std::string& key, T& out) {
        const std::string& text = meta.at(key);
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
        return ec == std::errc() && end == text.data() + text.size();
    };
    LoraConfig c;
    if (!number("r", c.r) || c.r < 1) throw bad("r", "a positive integer");
    if (meta.contains("lora_alpha") && !number("lora_alpha", c.alpha)) throw bad("lora_alpha", "a number");
    if (meta.contains("lora_dropout") && !number("lora_dropout", c.dropout)) throw bad("lora_dropout", "a number");
    if (meta.contains("target_modules")) {
        const auto json = nlohmann::json::parse(meta.at("target_modules"), nullptr, /*allow_exceptions=*/false);
        if (!json.is_array()) throw bad("target_modules", "a JSON list of strings");
        for (const auto& item : json) {
            if (!item.is_string()) throw bad("target_modules", "a JSON list of strings");
            c.target_modules.push_back(item.get<std::string>());
        }
    }
    return c;
}

/// The adapter shapes a layer has, or will have once apply_lora runs.
struct ExpectedLayer {
    Shape a_shape;
    Shape b_shape;
};

}  // namespace

void save_lora_adapter(const std::filesystem::path& path, const Module& model, const LoraConfig& config) {
    const auto layers = lora_layers(model);
    if (layers.empty()) throw ValueError("save_lora_adapter: the model has no LoRA layers (apply_lora first)");
    StateDict tensors;
    for (const auto& [lpath, layer] : layers) {
        if (layer->rank() != config.r || layer->alpha() != config.alpha || layer->dropout() != config.dropout)
            throw ValueError("save_lora_adapter: layer '" + lpath + "' has r=" + std::to_string(layer->rank()) +
                             ", alpha=" + pyfmt::py_float(layer->alpha()) + ", dropout=" +
                             pyfmt::py_float(layer->dropout()) + " but the config says r=" +
                             std::to_string(config.r) + ", alpha=" + pyfmt::py_float(config.alpha) +
                             ", dropout=" + pyfmt::py_float(config.dropout));
        tensors.insert(file_key(lpath, true), layer->lora_A.detach());
        tensors.insert(file_key(lpath, false), layer->lora_B.detach());
    }
    const io::Metadata meta{{"format", "pt"},
                            {"peft_type", "LORA"},
                            {"r", std::to_string(config.r)},
                            {"lora_alpha", pyfmt::py_float(config.alpha)},
                            {"lora_dropout", pyfmt::py_float(config.dropout)},
                            {"target_modules", nlohmann::json(config.target_modules).dump()}};
    io::save_safetensors(path, tensors, meta);
}

LoraConfig load_lora_adapter(const std::filesystem::path& path, Module& model) {
    const std::string file = "'" + path.string() + "'";
    const io::SafetensorsFile contents = io::read_safetensors(path);
    const std::optional<LoraConfig> file_config = config_from_metadata(contents.metadata, file);

    // What the model has, or will have once apply_lora runs with the file's config.
    std::map<std::string, ExpectedLayer> expected;
    const auto layers = lora_layers(model);
    const bool apply = layers.empty();
    if (apply) {
        if (!file_config || file_config->target_modules.empty() || !contents.metadata.contains("lora_alpha"))
            throw ValueError("load_lora_adapter: the model has no LoRA layers and " + file +
                             " records no config (r, lora_alpha, target_modules) in its metadata; apply_lora to the "
                             "model first");
        std::vector<std::string> targets;
        try {
            targets = lora_target_paths(model, *file_config);
        } catch (Error& e) {
            e.add_context("load_lora_adapter: " + file + " (the config in its metadata)");
            throw;
        }
        for (const auto& lpath : targets) {
            const LoraTarget t = *lora_target_of(*model.submodule(lpath));
            expected[lpath] = {{file_config->r, t.in_features}, {t.out_features, file_config->r}};
        }
    } else {
        for (const auto& [lpath, layer] : layers) {
            if (layer->merged())
                throw ValueError("load_lora_adapter: layer '" + lpath + "' is merged; unmerge_lora first");
            if (file_config && file_config->r != layer->rank())
                throw ValueError("load_lora_adapter: " + file + " has r=" + std::to_string(file_config->r) +
                                 " but the model's LoRA layer '" + lpath + "' has r=" + std::to_string(layer->rank()));
            if (file_config && contents.metadata.contains("lora_alpha") && file_config->alpha != layer->alpha())
                throw ValueError("load_lora_adapter: " + file + " has lora_alpha=" + pyfmt::py_float(file_config->alpha) +
                                 " but the model's LoRA layer '" + lpath + "' has alpha=" +
                                 pyfmt::py_float(layer->alpha()));
            expected[lpath] = {layer->lora_A.shape(), layer->lora_B.shape()};
        }
    }

    // Every tensor of the file must be an adapter of an expected layer, with the expected shape.
    std::vector<std::string> problems;
    std::map<std::string, std::pair<const Tensor*, const Tensor*>> found;  // layer path → (A, B)
    for (const auto& [key, t] : contents.tensors) {
        const bool is_a = ends_with(key, kSuffixA);
        if (key.compare(0, kPrefix.size(), kPrefix) != 0 || !(is_a || ends_with(key, kSuffixB))) {
            problems.push_back("unexpected tensor '" + key + "' (adapter tensors are named " + kPrefix + "<path>" +
                               kSuffixA + " and …" + kSuffixB + ")");
            continue;
        }
        const std::string lpath = key.substr(kPrefix.size(), key.size() - kPrefix.size() - kSuffixA.size());
        const auto it = expected.find(lpath);
        if (it == expected.end()) {
            problems.push_back("unexpected tensor '" + key + "': the model has no LoRA layer '" + lpath + "'");
            continue;
        }
        const Shape& want = is_a ? it->second.a_shape : it->second.b_shape;
        if (!is_floating(t.dtype()))
            problems.push_back("tensor '" + key + "' has dtype " + dtype_name(t.dtype()) + ", expected floating-point");
        else if (t.shape() != want)
            problems.push_back("tensor '" + key + "' has shape " + shape_str(t.shape()) + ", the model's is " +
                               shape_str(want));
        else
            (is_a ? found[lpath].first : found[lpath].second) = &t;
    }
    for (const auto& [lpath, shapes] : expected)
        for (bool is_a : {true, false})
            if (!contents.tensors.contains(file_key(lpath, is_a)))
                problems.push_back("missing tensor '" + file_key(lpath, is_a) + "'");
    if (!problems.empty()) {
        std::string msg = "load_lora_adapter: " + file + " does not fit the model; nothing loaded:";
        for (const auto& p : problems) msg += "\n  " + p;
        throw ValueError(msg);
    }

    if (apply) {
        try {
            apply_lora(model, *file_config);
        } catch (Error& e) {
            e.add_context("load_lora_adapter: " + file + " (the config in its metadata)");
            throw;
        }
    }
    NoGradGuard guard;
    for (const auto& [lpath, layer] : lora_layers(model)) {
        const auto& [a, b] = found.at(lpath);
        layer->lora_A.copy_(*a);
        layer->lora_B.copy_(*b);
    }
    if (file_config) return *file_config;
    LoraConfig c{layers.front().second->rank(), layers.front().second->alpha(), layers.front().second->dropout(), {}};
    for (const auto& [lpath, layer] : layers) c.target_modules.push_back(lpath);
    return c;
}

}  // namespace graft::io
