// collate: samples → one batch, stacking inputs, targets and named fields along a new dimension 0.
#include <string>

#include "graft/data/dataloader.hpp"
#include "graft/ops.hpp"

namespace graft::data {

namespace {

/// stack(tensors), with errors prefixed by "collate: <what>".
Tensor stack_field(const std::vector<Tensor>& tensors, const char* what) {
    try {
        return stack(tensors, 0);
    } catch (Error& e) {
        e.add_context(std::string("collate: ") + what);
        throw;
    }
}

}  // namespace

Example collate(const std::vector<Example>& samples) {
    if (samples.empty()) throw ValueError("collate: no samples to stack");
    const bool labelled = samples[0].target.defined();
    std::vector<Tensor> inputs, targets;
    inputs.reserve(samples.size());
    if (labelled) targets.reserve(samples.size());
    for (std::size_t i = 0; i < samples.size(); ++i) {
        if (!samples[i].input.defined())
            throw ValueError("collate: sample " + std::to_string(i) + " has an undefined input");
        if (samples[i].target.defined() != labelled)
            throw ValueError("collate: sample " + std::to_string(i) + (labelled ? " has no target" : " has a target") +
                             " but sample 0 " + (labelled ? "has one" : "has none"));
        inputs.push_back(samples[i].input);
        if (labelled) targets.push_back(samples[i].target);
    }
    Example batch;
    batch.input = stack_field(inputs, "inputs");
    if (labelled) batch.target = stack_field(targets, "targets");
    for (const auto& [name, first] : samples[0].fields) {
        std::vector<Tensor> column;
        column.reserve(samples.size());
        for (std::size_t i = 0; i < samples.size(); ++i) {
            const auto it = samples[i].fields.find(name);
            if (it == samples[i].fields.end() || samples[i].fields.size() != samples[0].fields.size())
                throw ValueError("collate: sample " + std::to_string(i) + "'s fields differ from sample 0's (field '" +
                                 name + "')");
            column.push_back(it->second);
        }
        batch.fields.emplace(name, stack_field(column, ("field '" + name + "'").c_str()));
    }
    if (samples[0].fields.empty())
        for (std::size_t i = 1; i < samples.size(); ++i)
            if (!samples[i].fields.empty())
                throw ValueError("collate: sample " + std::to_string(i) + " has fields but sample 0 has none");
    return batch;
}

}  // namespace graft::data
