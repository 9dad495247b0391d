// The helpers the Hugging Face sequence classifiers share: labels from config.json, and the
// "strict but for the head" rule of their from_pretrained.
#include "models/hf_classifier.hpp"

#include "graft/error.hpp"

namespace graft::models::detail {

HfLabels read_hf_labels(const io::HfConfig& config, std::int64_t fallback) {
    const std::string problem = config.string_or("problem_type", "single_label_classification");
    if (problem != "single_label_classification")
        throw unsupported_setting(config, "problem_type", "\"" + problem + "\"", "only \"single_label_classification\"");
    const auto labels = config.string_map_or_empty("id2label");
    if (labels.empty()) return {config.int_or("num_labels", fallback), {}};
    HfLabels out{static_cast<std::int64_t>(labels.size()), std::vector<std::string>(labels.size())};
    for (const auto& [id, name] : labels) {
        std::size_t end = 0;
        long long n = -1;
        try {
            n = std::stoll(id, &end);
        } catch (const std::exception&) {
            end = 0;
        }
        if (end != id.size() || n < 0 || n >= static_cast<long long>(labels.size()))
            throw IOError(config.who() + ": " + config.source() + ": id2label key \"" + id + "\" is not an id in 0…" +
                          std::to_string(labels.size() - 1));
        out.id2label[static_cast<std::size_t>(n)] = name;
    }
    return out;
}

ValueError unsupported_setting(const io::HfConfig& config, const std::string& key, const std::string& value,
                               const std::string& supported) {
    return ValueError(config.who() + ": " + config.source() + ": " + key + " " + value + " is not supported (" +
                      supported + ")");
}

void check_only_head_differs(const nn::LoadReport& report, const std::vector<std::string>& head_prefixes) {
    const auto is_head = [&](const std::string& name) {
        for (const auto& prefix : head_prefixes)
            if (name.starts_with(prefix)) return true;
        return false;
    };
    bool ok = report.unexpected.empty();
    for (const auto& name : report.missing) ok = ok && is_head(name);
    for (const auto& m : report.mismatched) ok = ok && is_head(m.name);
    if (!ok) {
        std::string heads;
        for (const auto& prefix : head_prefixes) heads += (heads.empty() ? "" : ", ") + prefix + "*";
        throw ValueError("the weights do not fit the config (only " + heads + " may be missing or differ):\n" +
                         report.to_string());
    }
}

}  // namespace graft::models::detail
