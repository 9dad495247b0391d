// graft/dist/ddp.hpp — data parallelism: every rank trains a replica on its shard of each batch,
// and gradients are averaged across ranks during backward.
//
//   dist::Environment env(argc, argv);
//   auto model = build_model();  model.freeze("backbone.*");
//   dist::DistributedDataParallel ddp(model);          // rank 0's weights broadcast, hooks installed
//   optim::AdamW opt(model.trainable_parameters(), {.lr = 1e-3});
//   data::DataLoader loader(train_set, {.batch_size = 32, .shuffle = true, .seed = 1,
//       .sampler = data::DistributedSampler{.num_replicas = std::size_t(dist::world_size()),
//                                           .rank = std::size_t(dist::rank())}});
//   for (const auto& [x, y] : loader) {
//       opt.zero_grad();
//       cross_entropy(ddp.forward(x), y).backward();     // all-reduces overlap the backward
//       opt.step();                                       // grads are the mean over ranks
//   }
//
// N ranks with batch b then take the steps one process takes with batch N·b (a loss that is a
// mean over the batch), up to float32 summation order.
//
// How. The trainable parameters (requires_grad at wrap time; frozen ones are never sent) are
// grouped, in reverse registration order (about the order backward finishes them), into buckets
// of at most bucket_cap_bytes. A post-accumulate-grad hook on each parameter counts down its
// bucket; a bucket whose gradients are all in is copied into its flat buffer and handed to a
// non-blocking MPI_Iallreduce at once, while backward goes on with the layers below. Buckets
// start in the same order on every rank (a ready bucket waits for the ones before it), as MPI
// requires. At the end of that backward (autograd::queue_callback) the buckets not yet started
// (a parameter this backward did not reach: it contributes zeros) start, all are waited for, and
// each .grad becomes the sum divided by the number of ranks. Open MPI progresses a non-blocking
// collective only inside MPI calls, so each hook also polls the ones in flight.
//
// Accumulation. Inside no_sync() backward leaves gradients local (summed into .grad as usual);
// the first backward after it all-reduces the accumulated .grad.
//
// A backward that throws while synchronizing leaves the ranks out of step: the wrapper then
// refuses to synchronize again (DistError); in a job the exception normally aborts all ranks.
//
// Rules. Every rank wraps the same model (same trainable names and shapes; DistError at wrap
// time naming the first difference) and runs the same number of backwards outside no_sync.
// Changing which parameters are frozen needs a new wrapper. Parameters must be float32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graft/nn/module.hpp"
#include "graft/tensor.hpp"

namespace graft::dist {

struct DDPOptions {
    /// Largest bucket (bytes of float32 gradients); a larger parameter gets a bucket of its own.
    std::size_t bucket_cap_bytes = 25u << 20;
    /// Copy rank 0's parameters and buffers to every rank at wrap time.
    bool broadcast_parameters = true;
};

/// Where the time of the all-reduces went, summed since construction or reset_stats().
struct DDPStats {
    std::int64_t synchronized_backwards = 0;  ///< backwards whose gradients were averaged
    std::int64_t buckets_reduced = 0;
    double bytes_reduced = 0.0;
    /// Seconds from each bucket's start to its completion seen by a poll or the final wait.
    double allreduce_seconds = 0.0;
    /// Seconds backward spent blocked at its end waiting for buckets still in flight: the
    /// communication that did not overlap the backward.
    double exposed_wait_seconds = 0.0;
};

class DistributedDataParallel {
public:
    /// Wraps `module` (not owned; it must outlive the wrapper): checks the ranks' models agree,
    /// broadcasts rank 0's weights (options.broadcast_parameters) and installs the hooks.
    /// DistError without an Environment or when models differ; DTypeError for non-float32
    /// trainable parameters.
    explicit DistributedDataParallel(nn::Module& module, DDPOptions options = {});
    /// Removes the hooks.
    ~DistributedDataParallel();
    DistributedDataParallel(const DistributedDataParallel&) = delete;
    DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

    /// The wrapped module's forward.
    Tensor forward(const Tensor& input) { return module_->forward(input); }
    Tensor operator()(const Tensor& input) { return forward(input); }
    nn::Module& module() const { return *module_; }

    /// While alive, backward keeps gradients local (the micro-batches before the last one).
    class NoSyncGuard {
    public:
        explicit NoSyncGuard(DistributedDataParallel& ddp) : ddp_(&ddp), previous_(ddp.sync_enabled_) {
            ddp.sync_enabled_ = false;
        }
        ~NoSyncGuard() { ddp_->sync_enabled_ = previous_; }
        NoSyncGuard(const NoSyncGuard&) = delete;
        NoSyncGuard& operator=(const NoSyncGuard&) = delete;

    private:
        DistributedDataParallel* ddp_;
        bool previous_;
    };
    [[nodiscard]] NoSyncGuard no_sync() { return NoSyncGuard(*this); }
    /// Whether backward averages gradients now (false inside no_sync()).
    bool sync_enabled() const { return sync_enabled_; }
    /// Turns the averaging off or on without a guard (what the Trainer's accumulation uses).
    void set_sync_enabled(bool enabled) { sync_enabled_ = enabled; }

    /// Number of buckets and the parameter names in each, in the order they are reduced.
    std::vector<std::vector<std::string>> bucket_parameter_names() const;
    const DDPStats& stats() const { return stats_; }
    void reset_stats() { stats_ = {}; }

private:
    struct Bucket;
    void on_gradient_ready(std::size_t bucket);
    void start_ready_buckets();
    void start(Bucket& bucket);
    void poll();
    void finish_backward();

    nn::Module* module_;
    DDPOptions options_;
    std::vector<std::pair<std::string, Tensor>> params_;  // trainable, at wrap time
    std::vector<std::uint64_t> hook_ids_;
    std::vector<std::unique_ptr<Bucket>> buckets_;
    std::size_t next_to_start_ = 0;
    bool in_backward_ = false;
    bool broken_ = false;  // a synchronizing backward threw before its end
    bool sync_enabled_ = true;
    DDPStats stats_;
};

}  // namespace graft::dist
