// TransformedDataset: a transform with a generator keyed by (seed, epoch, index).
#include "graft/data/transformed_dataset.hpp"

namespace graft::data {

TransformedDataset::TransformedDataset(std::shared_ptr<const Dataset> base, Transform transform, std::uint64_t seed)
    : base_(std::move(base)), transform_(std::move(transform)), seed_(seed) {
    if (!base_) throw ValueError("TransformedDataset: the base dataset is null");
    if (!transform_) throw ValueError("TransformedDataset: the transform is empty");
}

Example TransformedDataset::get(std::size_t index) const { return get_in_epoch(index, epoch()); }

Example TransformedDataset::get_in_epoch(std::size_t index, std::uint64_t epoch) const {
    check_index(index, base_->size(), "TransformedDataset::get");
    Generator gen(derive_seed(seed_, {epoch, static_cast<std::uint64_t>(index)}));
    return transform_(base_->get_in_epoch(index, epoch), gen);
}

}  // namespace graft::data
