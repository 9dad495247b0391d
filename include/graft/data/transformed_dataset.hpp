// graft/data/transformed_dataset.hpp — per-sample transforms (augmentation) applied on the fly.
//
//   auto augmented = std::make_shared<data::TransformedDataset>(
//       train, data::Compose{data::RandomCrop(32, 4), data::RandomHorizontalFlip(0.5)}, /*seed=*/7);
//   data::DataLoader loader(augmented, {.batch_size = 128, .shuffle = true});
//
// Reproducible augmentation: the transform of sample i in epoch e gets a Generator seeded with
// derive_seed(seed, {e, i}), so its random draws depend only on (seed, e, i) — never on which
// thread runs it or in which order — and differ from one epoch to the next. The DataLoader passes
// its epoch through get_in_epoch; get(i) uses the epoch last given to set_epoch (0 by default).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "graft/data/dataset.hpp"
#include "graft/random.hpp"

namespace graft::data {

/// Maps one sample to a new one, drawing any randomness from the generator it is given. Must not
/// write into the input's tensors (they may view the dataset's storage) and must be thread-safe.
using Transform = std::function<Example(Example, Generator&)>;

class TransformedDataset final : public Dataset {
public:
    /// ValueError for a null base or an empty transform.
    TransformedDataset(std::shared_ptr<const Dataset> base, Transform transform, std::uint64_t seed);

    std::size_t size() const override { return base_->size(); }
    /// Sample `index` in the epoch set by set_epoch.
    Example get(std::size_t index) const override;
    /// transform(base->get_in_epoch(index, epoch), Generator(derive_seed(seed, {epoch, index}))).
    Example get_in_epoch(std::size_t index, std::uint64_t epoch) const override;

    /// The epoch get() uses (the DataLoader does not need this; it passes its own epoch).
    void set_epoch(std::uint64_t epoch) { epoch_.store(epoch, std::memory_order_relaxed); }
    std::uint64_t epoch() const { return epoch_.load(std::memory_order_relaxed); }
    std::uint64_t seed() const { return seed_; }
    const std::shared_ptr<const Dataset>& base() const { return base_; }

private:
    std::shared_ptr<const Dataset> base_;
    Transform transform_;
    std::uint64_t seed_;
    std::atomic<std::uint64_t> epoch_{0};
};

}  // namespace graft::data
