// One DataLoader pass: the batches of one epoch, assembled on the caller's thread or, with more
// than one thread, by a oneTBB arena that keeps a bounded ring of batches in flight.
//
// The ring has `prefetch` slots; batch b lives in slot b % prefetch. A slot's batch is submitted
// only after the consumer took the batch that used the slot before, so at most `prefetch` batches
// exist ahead of the one the consumer holds. Each slot has its own task_group: waiting for batch b
// waits for that batch only (inside the arena, so the waiting thread helps). The batch contents
// depend only on the sample order and the epoch, never on which thread assembled what.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <vector>

#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include "graft/data/dataset.hpp"

namespace graft::data::detail {

class BatchPass {
public:
    /// `order`: the dataset indices of the epoch's samples, batch after batch. threads ≥ 1,
    /// prefetch ≥ 1; `collate_fn` empty: data::collate. With threads > 1 the first batches are
    /// submitted here.
    BatchPass(std::shared_ptr<const Dataset> dataset, std::vector<std::size_t> order, std::size_t batch_size,
              std::size_t prefetch, std::size_t threads, std::uint64_t epoch,
              std::function<Example(const std::vector<Example>&)> collate_fn = nullptr);
    /// Cancels what has not started and waits for what has.
    ~BatchPass();
    BatchPass(const BatchPass&) = delete;
    BatchPass& operator=(const BatchPass&) = delete;

    /// Makes the next batch current; false (and finished) after the last. Rethrows the error of a
    /// batch that failed, after which the pass is finished.
    bool advance();
    const Example& current() const { return current_; }
    /// Index of the current batch.
    std::size_t batch_index() const { return next_batch_ - 1; }
    bool finished() const { return finished_; }
    std::uint64_t epoch() const { return epoch_; }

private:
    struct Slot {
        tbb::task_group group;
        Example batch;
        std::exception_ptr error;
    };

    std::size_t num_batches() const { return (order_.size() + batch_size_ - 1) / batch_size_; }
    /// Loads and collates batch `batch`; graft::Error messages gain the batch number.
    Example assemble(std::size_t batch) const;
    /// Starts assembling `batch` into its slot (threaded mode).
    void submit(std::size_t batch);
    /// Makes tasks not yet started return at once and waits for all of them.
    void cancel_and_wait() noexcept;

    std::shared_ptr<const Dataset> dataset_;
    std::vector<std::size_t> order_;
    std::size_t batch_size_;
    std::size_t threads_;
    std::uint64_t epoch_;
    std::function<Example(const std::vector<Example>&)> collate_;

    std::size_t next_batch_ = 0;
    bool finished_ = false;
    Example current_;

    std::atomic<bool> cancelled_{false};
    std::unique_ptr<tbb::task_arena> arena_;
    std::vector<std::unique_ptr<Slot>> slots_;
};

}  // namespace graft::data::detail
