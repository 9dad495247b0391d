// The Dataset base's epoch hook and TensorDataset, which serves rows of two tensors as views.
#include "graft/data/dataset.hpp"

#include <string>

namespace graft::data {

Example Dataset::get_in_epoch(std::size_t index, std::uint64_t /*epoch*/) const { return get(index); }

void check_index(std::size_t index, std::size_t size, const char* who) {
    if (index >= size)
        throw IndexError(std::string(who) + ": index " + std::to_string(index) +
                         " is out of range for a dataset of " + std::to_string(size) + " samples");
}

TensorDataset::TensorDataset(Tensor inputs, Tensor targets) {
    if (!inputs.defined()) throw ValueError("TensorDataset: inputs are undefined");
    if (inputs.dim() == 0) throw ShapeError("TensorDataset: inputs are 0-d; expected a leading sample dimension");
    if (targets.defined()) {
        if (targets.dim() == 0)
            throw ShapeError("TensorDataset: targets are 0-d; expected a leading sample dimension");
        if (targets.size(0) != inputs.size(0))
            throw ShapeError("TensorDataset: inputs " + shape_str(inputs.shape()) + " hold " +
                             std::to_string(inputs.size(0)) + " samples but targets " + shape_str(targets.shape()) +
                             " hold " + std::to_string(targets.size(0)));
        targets_ = targets.detach();
    }
    inputs_ = inputs.detach();
}

std::size_t TensorDataset::size() const { return static_cast<std::size_t>(inputs_.size(0)); }

Example TensorDataset::get(std::size_t index) const {
    check_index(index, size(), "TensorDataset::get");
    const auto row = static_cast<std::int64_t>(index);
    return {inputs_.select(0, row), targets_.defined() ? targets_.select(0, row) : Tensor()};
}

}  // namespace graft::data
