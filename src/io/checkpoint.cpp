// io::save_checkpoint / load_checkpoint: a training run's state as one safetensors file.
#include "graft/io/checkpoint.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "graft/error.hpp"

namespace graft::io {

namespace {

constexpr const char* kPartNames[] = {"model", "optimizer", "scheduler", "rng"};
const std::string kReserved = "graft.checkpoint.";
const std::string kFormatKey = kReserved + "format";
const std::string kStepKey = kReserved + "step";
const std::string kPartsKey = kReserved + "parts";
const std::string kOptimizerKey = kReserved + "optimizer";
const std::string kSchedulerKey = kReserved + "scheduler";

void add_prefixed(StateDict& out, const std::string& prefix, const StateDict& part) {
    for (const auto& [name, t] : part) out.insert(prefix + name, t);
}

/// The generator's state: "state" int64 [4] (the uint64 words, bit for bit), "has_spare" int64 0/1
/// and "spare" float64, the cached second Box–Muller normal.
StateDict generator_state_dict(const Generator& gen) {
    const Generator::State st = gen.state();
    std::vector<std::int64_t> words;
    for (std::uint64_t w : st.s) words.push_back(std::bit_cast<std::int64_t>(w));
    StateDict sd;
    sd.insert("state", from_vector(words, {4}));
    sd.insert("has_spare", scalar_tensor(st.has_spare ? 1.0 : 0.0, DType::Int64));
    sd.insert("spare", scalar_tensor(st.spare, DType::Float64));
    return sd;
}

Generator::State generator_state_from(const StateDict& sd, const std::string& where) {
    auto need = [&](const std::string& name, DType dtype, const Shape& shape) -> const Tensor& {
        const Tensor* t = sd.find(name);
        if (t == nullptr) throw ValueError(where + ": tensor 'rng." + name + "' is missing");
        if (t->dtype() != dtype || t->shape() != shape)
            throw ValueError(where + ": tensor 'rng." + name + "' is " + dtype_name(t->dtype()) + " " +
                             shape_str(t->shape()) + ", expected " + dtype_name(dtype) + " " + shape_str(shape));
        return *t;
    };
    Generator::State st{};
    const std::vector<std::int64_t> words = need("state", DType::Int64, {4}).to_vector<std::int64_t>();
    for (std::size_t i = 0; i < 4; ++i) st.s[i] = std::bit_cast<std::uint64_t>(words[i]);
    if (st.s == std::array<std::uint64_t, 4>{})
        throw ValueError(where + ": tensor 'rng.state' is all zeros, a state the generator never reaches (it would "
                         "draw only zeros)");
    const std::int64_t has_spare = need("has_spare", DType::Int64, {}).to_vector<std::int64_t>()[0];
    if (has_spare != 0 && has_spare != 1)
        throw ValueError(where + ": tensor 'rng.has_spare' is " + std::to_string(has_spare) + ", expected 0 or 1");
    st.has_spare = has_spare == 1;
    st.spare = need("spare", DType::Float64, {}).to_vector<double>()[0];
    if (!std::isfinite(st.spare))
        throw ValueError(where + ": tensor 'rng.spare' is " + std::to_string(st.spare) +
                         ", expected a finite number (a cached normal sample)");
    if (sd.size() != 3)
        for (const auto& [name, t] : sd)
            if (name != "state" && name != "has_spare" && name != "spare")
                throw ValueError(where + ": unexpected tensor 'rng." + name + "'");
    return st;
}

/// Everything a strict load of `part` into `model` needs, checked without changing the model: the
/// same names, and for each the model's shape and dtype (a checkpoint restores a run exactly, so
/// no conversion is allowed).
void check_model_part(const nn::Module& model, const StateDict& part, const std::string& where) {
    const StateDict mine = model.state_dict();
    std::vector<std::string> problems;
    for (const auto& [name, target] : mine) {
        const Tensor* saved = part.find(name);
        if (saved == nullptr)
            problems.push_back("missing 'model." + name + "'");
        else if (saved->shape() != target.shape() || saved->dtype() != target.dtype())
            problems.push_back("'model." + name + "' is " + dtype_name(saved->dtype()) + " " +
                               shape_str(saved->shape()) + ", the model's is " + dtype_name(target.dtype()) + " " +
                               shape_str(target.shape()));
    }
    for (const auto& [name, t] : part)
        if (!mine.contains(name)) problems.push_back("unexpected 'model." + name + "'");
    if (problems.empty()) return;
    std::string message = where + ": model state does not fit the model (" + std::to_string(problems.size()) +
                          " problems); nothing loaded:";
    for (const std::string& p : problems) message += "\n  " + p;
    throw ValueError(message);
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const CheckpointRefs& refs, std::int64_t step,
                     const Metadata& extra) {
    const std::string where = "save_checkpoint: '" + path.string() + "'";
    if (!refs.model && !refs.optimizer && !refs.scheduler && !refs.generator)
        throw ValueError(where + ": nothing to save (model, optimizer, scheduler and generator are all null)");
    if (step < 0) throw ValueError(where + ": step must be non-negative, got " + std::to_string(step));
    Metadata metadata;
    for (const auto& [key, value] : extra) {
        if (key.starts_with(kReserved))
            throw ValueError(where + ": metadata key '" + key + "' is reserved (keys starting with '" + kReserved +
                             "' are graft's own)");
        metadata.emplace(key, value);
    }
    StateDict tensors;
    std::string parts;
    auto add_part = [&](const char* part, const StateDict& sd) {
        add_prefixed(tensors, std::string(part) + ".", sd);
        if (!parts.empty()) parts += ',';
        parts += part;
    };
    if (refs.model) add_part(kPartNames[0], refs.model->state_dict());
    if (refs.optimizer) {
        add_part(kPartNames[1], refs.optimizer->state_dict());
        metadata[kOptimizerKey] = refs.optimizer->name();
    }
    if (refs.scheduler) {
        add_part(kPartNames[2], refs.scheduler->state_dict());
        metadata[kSchedulerKey] = refs.scheduler->name();
    }
    if (refs.generator) add_part(kPartNames[3], generator_state_dict(*refs.generator));
    metadata[kFormatKey] = std::to_string(checkpoint_format_version);
    metadata[kStepKey] = std::to_string(step);
    metadata[kPartsKey] = parts;
    save_safetensors(path, tensors, metadata);
}

CheckpointInfo load_checkpoint(const std::filesystem::path& path, const CheckpointRefs& refs) {
    const std::string where = "load_checkpoint: '" + path.string() + "'";
    SafetensorsFile file = read_safetensors(path);
    const Metadata& md = file.metadata;

    // ---- the file's structure, before anything changes ---------------------------------------
    auto format = md.find(kFormatKey);
    if (format == md.end())
        throw ValueError(where + ": not a graft checkpoint (no '" + kFormatKey + "' in its metadata)");
    if (format->second != std::to_string(checkpoint_format_version))
        throw ValueError(where + ": checkpoint format " + format->second + ", this graft reads format " +
                         std::to_string(checkpoint_format_version));
    CheckpointInfo info;
    {
        auto it = md.find(kStepKey);
        const std::string text = it == md.end() ? "" : it->second;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), info.step);
        if (it == md.end() || ec != std::errc() || end != text.data() + text.size() || info.step < 0)
            throw ValueError(where + ": metadata '" + kStepKey + "' is " +
                             (it == md.end() ? std::string("missing") : "'" + text + "'") +
                             ", expected a non-negative integer");
    }
    std::vector<std::string> parts;
    if (auto it = md.find(kPartsKey); it != md.end()) {
        std::size_t start = 0;
        while (start <= it->second.size() && !it->second.empty()) {
            const std::size_t comma = it->second.find(',', start);
            parts.push_back(it->second.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }
    auto has_part = [&](const std::string& p) { return std::find(parts.begin(), parts.end(), p) != parts.end(); };

    std::array<StateDict, 4> part_dicts;
    for (const auto& [name, t] : file.tensors) {
        bool placed = false;
        for (std::size_t i = 0; i < 4 && !placed; ++i) {
            const std::string prefix = std::string(kPartNames[i]) + ".";
            if (name.starts_with(prefix) && has_part(kPartNames[i])) {
                part_dicts[i].insert(name.substr(prefix.size()), t);
                placed = true;
            }
        }
        if (!placed)
            throw ValueError(where + ": tensor '" + name + "' belongs to no part the file lists (parts: " +
                             (parts.empty() ? std::string("none") : md.at(kPartsKey)) + ")");
    }
    const bool wanted[4] = {refs.model != nullptr, refs.optimizer != nullptr, refs.scheduler != nullptr,
                            refs.generator != nullptr};
    for (std::size_t i = 0; i < 4; ++i)
        if (wanted[i] && !has_part(kPartNames[i]))
            throw ValueError(where + ": the checkpoint has no " + kPartNames[i] + " state (it holds: " +
                             (parts.empty() ? std::string("nothing") : md.at(kPartsKey)) + ")");
    auto check_type = [&](const std::string& key, const char* part, const char* expected) {
        auto it = md.find(key);
        const std::string got = it == md.end() ? "an unnamed type" : it->second;
        if (got != expected)
            throw ValueError(where + ": the checkpoint's " + part + " is " + got + ", the one to restore is " +
                             expected);
    };
    if (refs.optimizer) check_type(kOptimizerKey, "optimizer", refs.optimizer->name());
    if (refs.scheduler) check_type(kSchedulerKey, "scheduler", refs.scheduler->name());

    // ---- every part's state, before any part changes -----------------------------------------
    auto in_part = [&](const char* part, auto&& step) {
        try {
            step();
        } catch (Error& e) {
            e.add_context(where + ": " + part + " state");
            throw;
        }
    };
    if (refs.model) check_model_part(*refs.model, part_dicts[0], where);
    if (refs.optimizer) in_part("optimizer", [&] { refs.optimizer->check_state_dict(part_dicts[1]); });
    if (refs.scheduler) in_part("scheduler", [&] { refs.scheduler->check_state_dict(part_dicts[2]); });
    Generator::State rng{};
    if (refs.generator) rng = generator_state_from(part_dicts[3], where);

    // ---- restore: every part validated, so nothing below throws for the file's contents ------
    if (refs.model) in_part("model", [&] { refs.model->load_state_dict(part_dicts[0], {.strict = true}); });
    if (refs.optimizer) in_part("optimizer", [&] { refs.optimizer->load_state_dict(part_dicts[1]); });
    if (refs.scheduler) in_part("scheduler", [&] { refs.scheduler->load_state_dict(part_dicts[2]); });
    if (refs.generator) refs.generator->set_state(rng);

    for (const auto& [key, value] : md)
        if (!key.starts_with(kReserved)) info.metadata.emplace(key, value);
    return info;
}

}  // namespace graft::io
