// LoRA adapters on disk: PEFT's adapter folders (adapter_config.json + adapter_model.safetensors)
// and graft's single file (config in the safetensors metadata); the lora_A/lora_B tensors and the
// modules_to_save under PEFT's names; saving, and loading with every name and shape checked first.
#include <charconv>
#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "graft/autograd.hpp"
#include "graft/io/safetensors.hpp"
#include "graft/io/lora_adapter.hpp"
#include "graft/nn/lora.hpp"
#include "io/atomic_write.hpp"
#include "io/read_text.hpp"
#include "nn/repr.hpp"

namespace graft::io {

using nn::LoraConfig;
using nn::LoraLinear;
using nn::LoraTarget;
using nn::Module;
namespace pyfmt = nn::pyfmt;
using json = nlohmann::json;

namespace {

const std::string kPrefix = "base_model.model.";
const std::string kSuffixA = ".lora_A.weight";
const std::string kSuffixB = ".lora_B.weight";
const char* const kConfigFile = "adapter_config.json";
const char* const kWeightsFile = "adapter_model.safetensors";

std::string file_key(const std::string& path, bool is_a) { return kPrefix + path + (is_a ? kSuffixA : kSuffixB); }

std::string quoted(const std::filesystem::path& p) {
    // Built in place: "'" + p.string() + "'" trips a false -Wrestrict warning of GCC 12.
    std::string s = p.string();
    s.insert(0, 1, '\'');
    return s += '\'';
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
    auto string_list = [&](const std::string& key, std::vector<std::string>& out) {
        const auto list = json::parse(meta.at(key), nullptr, /*allow_exceptions=*/false);
        if (!list.is_array()) throw bad(key, "a JSON list of strings");
        for (const auto& item : list) {
            if (!item.is_string()) throw bad(key, "a JSON list of strings");
            out.push_back(item.get<std::string>());
        }
    };
    LoraConfig c;
    if (!number("r", c.r) || c.r < 1) throw bad("r", "a positive integer");
    if (meta.contains("lora_alpha") && !number("lora_alpha", c.alpha)) throw bad("lora_alpha", "a number");
    if (meta.contains("lora_dropout") && !number("lora_dropout", c.dropout)) throw bad("lora_dropout", "a number");
    if (meta.contains("target_modules")) string_list("target_modules", c.target_modules);
    if (meta.contains("target_regex")) c.target_regex = meta.at("target_regex");
    if (meta.contains("modules_to_save")) string_list("modules_to_save", c.modules_to_save);
    return c;
}

/// adapter_config.json as PEFT reads it. Keys graft does not use (init_lora_weights, revision,
/// fan_in_fan_out: the layout follows the layer type) are ignored; settings that would change what
/// the adapter computes and that graft does not implement are ValueErrors naming the key.
LoraConfig config_from_json(const std::string& text, const std::string& file) {
    const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    const std::string who = "load_lora_adapter: " + file;
    if (!j.is_object()) throw ValueError(who + ": not a JSON object");
    auto bad = [&](const std::string& key, const std::string& expected) {
        return ValueError(who + ": '" + key + "' is " + (j.contains(key) ? j.at(key).dump() : "missing") +
                          ", expected " + expected);
    };
    auto present = [&](const char* key) { return j.contains(key) && !j.at(key).is_null(); };
    auto strings = [&](const char* key, std::vector<std::string>& out) {
        if (!present(key)) return;
        if (!j.at(key).is_array()) throw bad(key, "a list of strings or null");
        for (const auto& item : j.at(key)) {
            if (!item.is_string()) throw bad(key, "a list of strings or null");
            out.push_back(item.get<std::string>());
        }
    };
    if (!j.contains("peft_type") || j.at("peft_type") != "LORA") throw bad("peft_type", "\"LORA\"");
    LoraConfig c;
    if (!j.contains("r") || !j.at("r").is_number_integer() || j.at("r").get<std::int64_t>() < 1)
        throw bad("r", "a positive integer");
    c.r = j.at("r").get<std::int64_t>();
    if (!j.contains("lora_alpha") || !j.at("lora_alpha").is_number()) throw bad("lora_alpha", "a number");
    c.alpha = j.at("lora_alpha").get<double>();
    if (present("lora_dropout")) {
        if (!j.at("lora_dropout").is_number()) throw bad("lora_dropout", "a number");
        c.dropout = j.at("lora_dropout").get<double>();
    }
    if (present("target_modules") && j.at("target_modules").is_string())
        c.target_regex = j.at("target_modules").get<std::string>();
    else
        strings("target_modules", c.target_modules);
    strings("modules_to_save", c.modules_to_save);
    if (present("task_type")) {
        if (!j.at("task_type").is_string()) throw bad("task_type", "a string or null");
        c.task_type = j.at("task_type").get<std::string>();
    }
    if (present("base_model_name_or_path")) {
        if (!j.at("base_model_name_or_path").is_string()) throw bad("base_model_name_or_path", "a string or null");
        c.base_model_name_or_path = j.at("base_model_name_or_path").get<std::string>();
    }
    // Settings graft does not implement: refused rather than silently computing something else.
    if (present("bias") && j.at("bias") != "none") throw bad("bias", "\"none\" (graft's LoRA trains no biases)");
    for (const char* flag : {"use_dora", "use_rslora", "lora_bias"})
        if (present(flag) && j.at(flag) != false)
            throw bad(flag, "false (graft implements plain LoRA with scaling lora_alpha / r)");
    for (const char* pattern : {"rank_pattern", "alpha_pattern"})
        if (present(pattern) && !(j.at(pattern).is_object() && j.at(pattern).empty()))
            throw bad(pattern, "{} (graft gives every layer the same r and lora_alpha)");
    for (const char* key : {"layers_to_transform", "layer_replication", "exclude_modules", "target_parameters",
                            "trainable_token_indices"})
        if (present(key) && !((j.at(key).is_array() || j.at(key).is_object()) && j.at(key).empty()))
            throw bad(key, "null (not supported by graft)");
    return c;
}

/// adapter_config.json as PEFT writes it, with the keys a PEFT LoraConfig needs and PEFT's
/// defaults for the features graft does not use.
std::string config_to_json(const LoraConfig& c, bool fan_in_fan_out) {
    json j = json::object();
    j["peft_type"] = "LORA";
    j["r"] = c.r;
    if (c.alpha == std::floor(c.alpha) && std::abs(c.alpha) < 1e15)
        j["lora_alpha"] = static_cast<std::int64_t>(c.alpha);
    else
        j["lora_alpha"] = c.alpha;
    j["lora_dropout"] = c.dropout;
    if (c.target_regex.empty())
        j["target_modules"] = c.target_modules;
    else
        j["target_modules"] = c.target_regex;
    j["bias"] = "none";
    j["fan_in_fan_out"] = fan_in_fan_out;
    j["inference_mode"] = true;
    j["init_lora_weights"] = true;
    j["modules_to_save"] = c.modules_to_save.empty() ? json(nullptr) : json(c.modules_to_save);
    j["task_type"] = c.task_type.empty() ? json(nullptr) : json(c.task_type);
    j["base_model_name_or_path"] = c.base_model_name_or_path.empty() ? json(nullptr) : json(c.base_model_name_or_path);
    j["use_dora"] = false;
    j["use_rslora"] = false;
    j["rank_pattern"] = json::object();
    j["alpha_pattern"] = json::object();
    j["layers_to_transform"] = nullptr;
    j["layers_pattern"] = nullptr;
    j["revision"] = nullptr;
    return j.dump(2) + "\n";
}

/// The adapter shapes a layer has, or will have once apply_lora runs.
struct ExpectedLayer {
    Shape a_shape;
    Shape b_shape;
};

/// Checks `contents` against the model (and the config, when the file has one), applies LoRA with
/// that config when the model has none yet, then copies the adapters and the modules_to_save
/// tensors in. `alpha_known`: the config states lora_alpha (a metadata config may omit it).
void load_into(const io::SafetensorsFile& contents, const std::optional<LoraConfig>& file_config, bool alpha_known,
               const std::string& file, Module& model) {
    // What the model has, or will have once apply_lora runs with the file's config.
    std::map<std::string, ExpectedLayer> expected;
    const auto layers = lora_layers(model);
    const bool apply = layers.empty();
    if (apply) {
        if (!file_config || (file_config->target_modules.empty() && file_config->target_regex.empty()) ||
            !alpha_known)
            throw ValueError("load_lora_adapter: the model has no LoRA layers and " + file +
                             " records no config (r, lora_alpha, target_modules); apply_lora to the model first");
        std::vector<std::string> targets;
        try {
            targets = lora_target_paths(model, *file_config);
        } catch (Error& e) {
            e.add_context("load_lora_adapter: " + file + " (its config)");
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
            if (file_config && alpha_known && file_config->alpha != layer->alpha())
                throw ValueError("load_lora_adapter: " + file + " has lora_alpha=" + pyfmt::py_float(file_config->alpha) +
                                 " but the model's LoRA layer '" + lpath + "' has alpha=" +
                                 pyfmt::py_float(layer->alpha()));
            expected[lpath] = {layer->lora_A.shape(), layer->lora_B.shape()};
        }
    }
    // The modules_to_save tensors: "base_model.model.<path>.<name>" for each entry of the
    // module's state dict (PEFT drops its "modules_to_save.default." infix when saving).
    std::map<std::string, Shape> saved_expected;
    std::vector<std::string> saved_paths;
    if (file_config && !file_config->modules_to_save.empty()) {
        try {
            saved_paths = nn::lora_modules_to_save_paths(model, *file_config);
        } catch (Error& e) {
            e.add_context("load_lora_adapter: " + file + " (its modules_to_save)");
            throw;
        }
        for (const auto& spath : saved_paths)
            for (const auto& [name, t] : model.submodule(spath)->state_dict())
                saved_expected[kPrefix + spath + "." + name] = t.shape();
    }

    // Every tensor of the file must be an adapter of an expected layer, or a modules_to_save
    // tensor, with the expected shape.
    std::vector<std::string> problems;
    std::map<std::string, std::pair<const Tensor*, const Tensor*>> found;  // layer path → (A, B)
    for (const auto& [key, t] : contents.tensors) {
        if (const auto it = saved_expected.find(key); it != saved_expected.end()) {
            if (t.shape() != it->second)
                problems.push_back("tensor '" + key + "' has shape " + shape_str(t.shape()) + ", the model's is " +
                                   shape_str(it->second));
            continue;
        }
        const bool is_a = key.ends_with(kSuffixA);
        if (!key.starts_with(kPrefix) || !(is_a || key.ends_with(kSuffixB))) {
            problems.push_back("unexpected tensor '" + key + "' (adapter tensors are named " + kPrefix + "<path>" +
                               kSuffixA + " and …" + kSuffixB + ", modules_to_save tensors " + kPrefix +
                               "<path>.<name>)");
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
    for (const auto& [key, shape] : saved_expected)
        if (!contents.tensors.contains(key)) problems.push_back("missing tensor '" + key + "' (modules_to_save)");
    if (!problems.empty()) {
        std::string msg = "load_lora_adapter: " + file + " does not fit the model; nothing loaded:";
        for (const auto& p : problems) msg += "\n  " + p;
        throw ValueError(msg);
    }

    if (apply) {
        try {
            apply_lora(model, *file_config);
        } catch (Error& e) {
            e.add_context("load_lora_adapter: " + file + " (its config)");
            throw;
        }
    }
    NoGradGuard guard;
    for (const auto& [lpath, layer] : lora_layers(model)) {
        const auto& [a, b] = found.at(lpath);
        layer->lora_A.copy_(*a);
        layer->lora_B.copy_(*b);
    }
    for (const auto& spath : saved_paths) {
        StateDict part;
        for (const auto& [name, t] : model.submodule(spath)->state_dict())
            part.insert(name, contents.tensors.at(kPrefix + spath + "." + name));
        model.submodule(spath)->load_state_dict(part);
    }
}

/// The adapters and modules_to_save tensors of `model` under PEFT's names, after checking that the
/// layers were built with `config`.
StateDict adapter_tensors(const Module& model, const LoraConfig& config) {
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
    if (!config.modules_to_save.empty()) {
        std::vector<std::string> saved;
        try {
            saved = nn::lora_modules_to_save_paths(model, config);
        } catch (Error& e) {
            e.add_context("save_lora_adapter: config.modules_to_save");
            throw;
        }
        for (const auto& spath : saved)
            for (const auto& [name, t] : model.submodule(spath)->state_dict())
                tensors.insert(kPrefix + spath + "." + name, t.detach());
    }
    return tensors;
}

/// graft's single-file form: a path ending in ".safetensors"; any other path is an adapter folder.
bool is_single_file(const std::filesystem::path& path) { return path.extension() == ".safetensors"; }

}  // namespace

void save_lora_adapter(const std::filesystem::path& path, const Module& model, const LoraConfig& config) {
    const StateDict tensors = adapter_tensors(model, config);
    if (is_single_file(path)) {
        io::Metadata meta{{"format", "pt"},
                          {"peft_type", "LORA"},
                          {"r", std::to_string(config.r)},
                          {"lora_alpha", pyfmt::py_float(config.alpha)},
                          {"lora_dropout", pyfmt::py_float(config.dropout)},
                          {"target_modules", json(config.target_modules).dump()}};
        if (!config.target_regex.empty()) meta["target_regex"] = config.target_regex;
        if (!config.modules_to_save.empty()) meta["modules_to_save"] = json(config.modules_to_save).dump();
        io::save_safetensors(path, tensors, meta);
        return;
    }
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec || !std::filesystem::is_directory(path))
        throw IOError("save_lora_adapter: cannot create the adapter folder " + quoted(path) +
                      (ec ? " (" + ec.message() + ")" : std::string(" (a file of that name exists)")));
    bool fan_in_fan_out = false;  // PEFT sets it for GPT-2's Conv1D ([in, out] weights)
    for (const auto& [lpath, layer] : lora_layers(model)) fan_in_fan_out |= layer->target().transposed_weight;
    // The weights first, the config last: a folder whose config is new has new weights too.
    io::save_safetensors(path / kWeightsFile, tensors, {{"format", "pt"}});
    detail::write_file_atomically(path / kConfigFile, config_to_json(config, fan_in_fan_out),
                                  "save_lora_adapter: " + quoted(path / kConfigFile));
}

LoraConfig read_lora_adapter_config(const std::filesystem::path& path) {
    const std::filesystem::path file = std::filesystem::is_directory(path) ? path / kConfigFile : path;
    return config_from_json(detail::read_text_file(file, "load_lora_adapter"), quoted(file));
}

LoraConfig load_lora_adapter(const std::filesystem::path& path, Module& model) {
    if (std::filesystem::is_directory(path)) {
        const LoraConfig config = read_lora_adapter_config(path);
        const std::filesystem::path weights = path / kWeightsFile;
        if (!std::filesystem::exists(weights) && std::filesystem::exists(path / "adapter_model.bin"))
            throw IOError("load_lora_adapter: " + quoted(path) + " holds adapter_model.bin (a pickle), which graft "
                          "does not read; save the adapter with safe_serialization=True (PEFT's default) or "
                          "convert it to adapter_model.safetensors");
        load_into(io::read_safetensors(weights), config, /*alpha_known=*/true, quoted(path), model);
        return config;
    }
    const std::string file = quoted(path);
    const io::SafetensorsFile contents = io::read_safetensors(path);
    const std::optional<LoraConfig> file_config = config_from_metadata(contents.metadata, file);
    const auto layers = lora_layers(model);
    load_into(contents, file_config, contents.metadata.contains("lora_alpha"), file, model);
    if (file_config) return *file_config;
    LoraConfig c{layers.front().second->rank(), layers.front().second->alpha(), layers.front().second->dropout(), {}};
    for (const auto& [lpath, layer] : layers) c.target_modules.push_back(lpath);
    return c;
}

}  // namespace graft::io
