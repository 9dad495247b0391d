// BatchPass: loading a batch's samples (in parallel inside the arena), collating them, and the
// bounded in-order ring of batches in flight.
#include "data/batch_pass.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include "graft/autograd.hpp"
#include "graft/data/dataloader.hpp"

namespace graft::data::detail {

BatchPass::BatchPass(std::shared_ptr<const Dataset> dataset, std::vector<std::size_t> order, std::size_t batch_size,
                     std::size_t prefetch, std::size_t threads, std::uint64_t epoch,
                     std::function<Example(const std::vector<Example>&)> collate_fn)
    : dataset_(std::move(dataset)),
      order_(std::move(order)),
      batch_size_(batch_size),
      threads_(threads),
      epoch_(epoch),
      collate_(std::move(collate_fn)) {
    if (threads_ <= 1 || num_batches() == 0) return;
    // Worker slots (no more than the process's TBB workers, so TBB does not warn about the
    // excess) plus one reserved for the consumer, which joins only while it waits: with no worker
    // at all the consumer assembles every batch itself.
    const auto workers_available = static_cast<std::size_t>(
        std::max<std::size_t>(tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism), 1) - 1);
    const std::size_t workers = std::min(threads_, workers_available);
    arena_ = std::make_unique<tbb::task_arena>(static_cast<int>(workers) + 1, 1);
    const std::size_t ring = std::min(prefetch, num_batches());
    slots_.reserve(ring);
    for (std::size_t i = 0; i < ring; ++i) slots_.push_back(std::make_unique<Slot>());
    try {
        for (std::size_t b = 0; b < ring; ++b) submit(b);
    } catch (...) {
        cancel_and_wait();  // no destructor runs for a half-built object: the tasks must not outlive it
        throw;
    }
}

BatchPass::~BatchPass() { cancel_and_wait(); }

void BatchPass::cancel_and_wait() noexcept {
    cancelled_.store(true, std::memory_order_relaxed);
    for (auto& slot : slots_) arena_->execute([&] { slot->group.wait(); });
}

void BatchPass::submit(std::size_t batch) {
    Slot& slot = *slots_[batch % slots_.size()];
    arena_->execute([&] {
        slot.group.run([this, &slot, batch] {
            if (cancelled_.load(std::memory_order_relaxed)) return;
            try {
                slot.batch = assemble(batch);
            } catch (...) {
                slot.error = std::current_exception();
            }
        });
    });
}

bool BatchPass::advance() {
    current_ = Example{};  // the consumer is done with it: do not hold it while waiting
    if (finished_) return false;
    if (next_batch_ == num_batches()) {
        finished_ = true;
        return false;
    }
    const std::size_t batch = next_batch_++;
    if (!arena_) {
        try {
            current_ = assemble(batch);
        } catch (...) {
            finished_ = true;
            throw;
        }
        return true;
    }
    Slot& slot = *slots_[batch % slots_.size()];
    arena_->execute([&] { slot.group.wait(); });
    current_ = std::exchange(slot.batch, Example{});
    if (std::exception_ptr error = std::exchange(slot.error, nullptr)) {
        finished_ = true;
        std::rethrow_exception(error);
    }
    if (batch + slots_.size() < num_batches()) submit(batch + slots_.size());
    return true;
}

Example BatchPass::assemble(std::size_t batch) const {
    NoGradGuard no_grad;  // a batch is data, never part of a graph (this thread's mode only)
    const std::size_t first = batch * batch_size_;
    const std::size_t count = std::min(batch_size_, order_.size() - first);
    std::vector<Example> samples(count);
    std::vector<std::exception_ptr> errors(count);
    const auto load = [&](std::size_t j) {
        if (cancelled_.load(std::memory_order_relaxed)) return;
        try {
            samples[j] = dataset_->get_in_epoch(order_[first + j], epoch_);
        } catch (...) {
            errors[j] = std::current_exception();
        }
    };
    if (threads_ > 1) {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, count), [&](const tbb::blocked_range<std::size_t>& r) {
            for (std::size_t j = r.begin(); j != r.end(); ++j) load(j);
        });
    } else {
        for (std::size_t j = 0; j < count; ++j) load(j);
    }
    if (cancelled_.load(std::memory_order_relaxed)) return {};
    const std::string where = "DataLoader: epoch " + std::to_string(epoch_) + ", batch " + std::to_string(batch);
    try {
        // The first failing sample in batch order, so the error is the same for any thread count.
        for (std::size_t j = 0; j < count; ++j) {
            if (!errors[j]) continue;
            try {
                std::rethrow_exception(errors[j]);
            } catch (Error& e) {
                e.add_context("sample " + std::to_string(order_[first + j]));
                throw;
            }
        }
        return collate_ ? collate_(samples) : collate(samples);
    } catch (Error& e) {
        e.add_context(where);
        throw;
    }
}

}  // namespace graft::data::detail
