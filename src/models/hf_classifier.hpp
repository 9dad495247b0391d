// Internal: what the Hugging Face sequence classifiers (BERT, DistilBERT) share: reading the
// labels of a config.json, and from_pretrained accepting a checkpoint whose only gaps are the
// classification head.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "graft/io/hf_config.hpp"
#include "graft/io/pretrained.hpp"
#include "graft/models/bert.hpp"
#include "graft/nn/module.hpp"

namespace graft::models::detail {

struct HfLabels {
    std::int64_t num_labels;
    std::vector<std::string> id2label;  ///< by id; empty when the config has no id2label
};

/// id2label's names by id (num_labels its size) when the config has one, else "num_labels" or
/// `fallback`. IOError naming the file for an id2label key that is not an id in 0…n−1;
/// ValueError naming the file for a problem_type other than "single_label_classification".
HfLabels read_hf_labels(const io::HfConfig& config, std::int64_t fallback);

/// ValueError "<who>: <source>: <key> <value> is not supported (<supported>)": a setting of the
/// config that the model cannot run.
ValueError unsupported_setting(const io::HfConfig& config, const std::string& key, const std::string& value,
                               const std::string& supported);

/// The last steps of a classifier config's reading: num_labels and id2label from the config
/// (read_hf_labels), then config.validate() with the file named in its error.
template <class Config>
void finish_classifier_config(Config& c, const io::HfConfig& j) {
    HfLabels labels = read_hf_labels(j, c.num_labels);
    c.num_labels = labels.num_labels;
    c.id2label = std::move(labels.id2label);
    try {
        c.validate();
    } catch (Error& e) {
        e.add_context(j.source());
        throw;
    }
}

/// Accepts a non-strict load's report when every missing or shape-mismatched key starts with one
/// of `head_prefixes` (a new or resized head, left freshly initialised) and nothing is
/// unexpected; otherwise a ValueError listing the report.
void check_only_head_differs(const nn::LoadReport& report, const std::vector<std::string>& head_prefixes);

/// A classifier built from dir/config.json (num_labels overridden by options, which clears
/// id2label when it changes the count) and loaded by its load_pretrained from dir's weights,
/// strict but for the head (check_only_head_differs); errors get "<who> '<dir>'" in front.
template <class Model, class Config>
Model classifier_from_pretrained(const std::filesystem::path& dir, const BertPretrainedOptions& options,
                                 const std::vector<std::string>& head_prefixes, const std::string& who) {
    try {
        Config config = Config::from_file(dir / "config.json");
        if (options.num_labels > 0) {
            if (options.num_labels != config.num_labels) config.id2label.clear();
            config.num_labels = options.num_labels;
        }
        Model model(config);
        const nn::LoadReport report = model.load_pretrained(io::load_pretrained_state_dict(dir),
                                                            {.strict = false, .mismatch = nn::MismatchPolicy::Skip});
        check_only_head_differs(report, head_prefixes);
        if (options.report != nullptr) *options.report = report;
        return model;
    } catch (Error& e) {
        std::string where = who + " '";
        where += dir.string();
        where += '\'';
        e.add_context(where);
        throw;
    }
}

}  // namespace graft::models::detail
