// graft/data/dataloader.hpp — batches from a dataset: shuffling, collation, parallel prefetch.
//
//   data::DataLoader loader(train_set, {.batch_size = 64, .shuffle = true, .seed = 1});
//   for (int epoch = 0; epoch < 10; ++epoch)
//       for (const auto& [xb, yb] : loader) { ... }   // xb: [64, …] float32, yb: [64] int64
//
// Epochs. Every pass (every begin()) runs epoch number epoch() and then advances epoch() by one,
// so consecutive loops see consecutive epochs 0, 1, 2, … whether or not a pass ran to the end.
// set_epoch(e) makes the next pass epoch e (e.g. when resuming from a checkpoint). With shuffle,
// the order of epoch e is a permutation drawn from derive_seed(seed, {e}): it differs between
// epochs and is the same for the same seed and epoch. With a DistributedSampler each process reads
// its shard of that order (graft/data/distributed_sampler.hpp). The epoch is also handed to
// Dataset::get_in_epoch, so per-sample augmentation (TransformedDataset) follows it.
//
// Threads. With num_threads == 1 each batch is assembled on the calling thread when the iterator
// advances; nothing else runs. With more, a oneTBB arena of up to num_threads worker threads (no
// more than oneTBB's process-wide limit, by default one fewer than the cores) assembles up to
// `prefetch` batches ahead of the consumer, the samples of each batch loaded in parallel; the
// consumer thread helps while it waits. Either way the batches, their order and their contents
// are identical: they depend only on (dataset, options, epoch).
//
// Errors. An exception thrown by Dataset::get (or by collation) is rethrown from the iterator
// when the consumer reaches the batch it belongs to; graft::Error messages gain the batch number.
// Leaving a loop early (break, exception) is safe: the pass is cancelled, its in-flight work
// finishes or is skipped, and nothing outlives the iterator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <vector>

#include "graft/data/dataset.hpp"
#include "graft/data/distributed_sampler.hpp"

namespace graft::data {

struct DataLoaderOptions {
    std::size_t batch_size = 32;
    /// Draw a new order every epoch (see above); else the dataset's order.
    bool shuffle = false;
    /// Leave out a last batch smaller than batch_size.
    bool drop_last = false;
    std::uint64_t seed = 0;
    /// Batches assembled ahead of the consumer (≥ 1); bounds the memory the pipeline holds.
    std::size_t prefetch = 2;
    /// Threads assembling batches; 0 = graft::get_num_threads().
    std::size_t num_threads = 0;
    /// Data parallelism: read only this rank's shard of each epoch's order
    /// (graft/data/distributed_sampler.hpp); drop_last then applies to the shard's last batch.
    std::optional<DistributedSampler> sampler = std::nullopt;
    /// Turns a batch's samples into the batch; empty: collate below. Text batches use
    /// text_collate (graft/data/text_dataset.hpp), which pads each batch to its longest sample.
    std::function<Example(const std::vector<Example>&)> collate = nullptr;
    /// The sample order of an epoch (a permutation of the dataset's indices) in place of
    /// `shuffle`'s; batches are its consecutive runs of batch_size. Length-bucketed batching
    /// (graft/data/length_buckets.hpp) is one. ValueError when what it returns is not a permutation.
    std::function<std::vector<std::size_t>(std::uint64_t epoch)> order = nullptr;
};

/// Stacks the samples' inputs, and their targets, along a new dimension 0: inputs [F] become
/// [B, F], 0-d int64 labels become [B]; each of `fields` likewise. Targets may be undefined in
/// every sample (the batch's target is then undefined) but not in some only. ValueError for no
/// samples, mixed targets or samples whose field names differ; ShapeError/DTypeError naming the
/// sample when shapes or dtypes differ.
Example collate(const std::vector<Example>& samples);

namespace detail {
class BatchPass;
}

class DataLoader {
public:
    /// Walks the batches of one pass. An input iterator: copies share the pass, and advancing one
    /// advances them all. The pass stops (and its workers are joined) when the last copy is gone.
    class Iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = Example;
        using difference_type = std::ptrdiff_t;
        using pointer = const Example*;
        using reference = const Example&;

        /// The end of any pass.
        Iterator() = default;

        /// The current batch (undefined behaviour at the end, like any iterator).
        const Example& operator*() const;
        const Example* operator->() const { return &**this; }
        /// Moves to the next batch; rethrows the error of a batch whose assembly failed.
        Iterator& operator++();
        void operator++(int) { ++*this; }
        /// Equal when both are at the end, or both share a pass at the same batch.
        friend bool operator==(const Iterator& a, const Iterator& b);

        /// Index of the current batch within the epoch.
        std::size_t batch_index() const;
        /// The epoch this pass runs.
        std::uint64_t epoch() const;

    private:
        friend class DataLoader;
        explicit Iterator(std::shared_ptr<detail::BatchPass> pass);
        bool at_end() const;
        std::shared_ptr<detail::BatchPass> pass_;
    };

    /// ValueError for a null dataset, batch_size 0 or prefetch 0.
    explicit DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});

    /// Batches per epoch: ceil(N / batch_size), or floor with drop_last (N: the shard's size with a sampler).
    std::size_t size() const;
    std::size_t dataset_size() const { return dataset_->size(); }
    const DataLoaderOptions& options() const { return options_; }
    const std::shared_ptr<const Dataset>& dataset() const { return dataset_; }

    /// Makes the next pass run epoch `epoch`.
    void set_epoch(std::uint64_t epoch) { next_epoch_ = epoch; }
    /// The epoch the next pass runs.
    std::uint64_t epoch() const { return next_epoch_; }

    /// Starts a pass over epoch(), then advances epoch() by one. Assembly starts here: the first
    /// batch's error, if any, is thrown by begin().
    Iterator begin();
    Iterator end() const { return Iterator(); }

    /// The dataset indices of each sample of epoch `epoch`, in the order the batches hold them
    /// (the samples drop_last leaves out excluded).
    std::vector<std::size_t> sample_order(std::uint64_t epoch) const;

private:
    std::shared_ptr<const Dataset> dataset_;
    DataLoaderOptions options_;
    std::uint64_t next_epoch_ = 0;
};

}  // namespace graft::data
