// graft/train/trainer.hpp — the training loop: epochs over a DataLoader, gradient accumulation,
// clipping, scheduler stepping, evaluation with metrics, early stopping, best/last checkpoints,
// resuming, callbacks, a progress bar and per-epoch CSV/JSONL logs.
//
//   train::Trainer trainer(model, opt, {.epochs = 20, .monitor = "val_accuracy",
//                                       .early_stopping_patience = 5,
//                                       .best_weights = "best.safetensors",
//                                       .restore_best_weights = true,
//                                       .log_csv = "history.csv"});
//   trainer.set_scheduler(&sched, train::SchedulerStep::Epoch);
//   trainer.add_metric(std::make_shared<train::Accuracy>());
//   train::FitResult r = trainer.fit(train_loader, &val_loader);
//
// The loss defaults to cross-entropy (outputs [N, C], int64 targets [N]); pass any
// (output, target) → 0-d tensor function instead. Evaluation runs the model in eval mode under
// NoGradGuard and restores the previous mode afterwards. The loop sets the train loader's epoch
// (DataLoader::set_epoch) before each epoch, so a resumed run sees the same batches as one that
// never stopped; with the RNG, optimizer and scheduler in the checkpoint it continues bit-identically.
//
// Data parallelism: with TrainerOptions::distribution (graft/dist/trainer.hpp) each process
// trains its shard, logged values are averaged over processes, and only the main one writes.
//
// Two file formats: a checkpoint (best_checkpoint, last_checkpoint, save_checkpoint) is
// io::save_checkpoint's file, the model's tensors under "model." next to the optimizer's,
// scheduler's and RNG's, for resume() or io::load_checkpoint; best_weights is a plain state dict
// under the model's own names, for model.load_state_dict(io::load_safetensors(path)) (or PyTorch).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graft/data/dataloader.hpp"
#include "graft/nn/module.hpp"
#include "graft/optim/lr_scheduler.hpp"
#include "graft/optim/optimizer.hpp"
#include "graft/train/callback.hpp"
#include "graft/train/forgetting_guard.hpp"
#include "graft/train/metrics.hpp"

namespace graft::train {

namespace detail {
class ProgressDisplay;
}

/// How a Trainer takes part in a data-parallel job (one process per rank, each reading its shard).
/// Every logged value of an epoch (losses, metrics; not "lr" and "seconds") is replaced by its
/// mean over the processes, so early stopping and the best epoch agree everywhere (with equal
/// shards, as data::DistributedSampler makes them, the mean of the ranks' means is the global
/// mean); "samples_per_s" becomes the job's throughput (the mean times the process count). Only
/// the main process shows progress and writes logs and checkpoints; any process count resumes them.
struct TrainerDistribution {
    /// The mean of one value over the processes (a collective: every process calls it in the
    /// same order). Empty: one process.
    std::function<double(double)> mean;
    /// The number of processes.
    std::int64_t processes = 1;
    /// Whether this process shows progress and writes logs and checkpoints.
    bool is_main = true;
    /// Turns gradient synchronization off (false) for the micro-batches before the last of an
    /// accumulation (accumulate_steps > 1), and on again (true). Empty: nothing to turn.
    std::function<void(bool)> set_gradient_sync;
};

/// (model output, batch target) → a 0-d loss.
using LossFn = std::function<Tensor(const Tensor& output, const Tensor& target)>;

/// When the Trainer advances the scheduler.
enum class SchedulerStep {
    Epoch,        ///< step() after every epoch
    Batch,        ///< step() after every optimizer step
    EpochMetric,  ///< step(monitored value) after every epoch (ReduceLROnPlateau)
};

enum class Progress {
    Auto,   ///< a live bar when stderr is a terminal, one plain line per epoch otherwise
    Lines,  ///< one plain line per epoch
    Off,
};

struct TrainerOptions {
    std::int64_t epochs = 10;
    /// Batches whose gradients are summed before one optimizer step (each loss is divided by it).
    std::int64_t accumulate_steps = 1;
    /// Clip the global gradient L2 norm to this before each step (0: no clipping).
    double clip_grad_norm = 0.0;
    /// The logged value that early stopping, EpochMetric scheduling and the best checkpoint follow.
    std::string monitor = "val_loss";
    /// Whether a larger monitored value is better; unset: false for names containing "loss",
    /// otherwise the metric's higher_is_better().
    std::optional<bool> monitor_higher_is_better = std::nullopt;
    /// Stop after this many epochs without improvement of the monitored value (0: never).
    std::int64_t early_stopping_patience = 0;
    /// The least change that counts as an improvement.
    double min_delta = 0.0;
    /// A checkpoint (io::save_checkpoint's format, as save_checkpoint() writes: keys under
    /// "model.", "optimizer.", …) written atomically whenever the monitored value improves; for
    /// resume() or io::load_checkpoint(path, {.model = &model}), not for load_state_dict (use
    /// best_weights). Empty: none kept.
    std::filesystem::path best_checkpoint{};
    /// The model's state dict alone (a plain safetensors file under the model's own names, as
    /// io::save_safetensors(path, model.state_dict()) writes) written atomically whenever the
    /// monitored value improves; model.load_state_dict(io::load_safetensors(path)) loads it.
    /// Empty: none kept.
    std::filesystem::path best_weights{};
    /// At the end of fit() the model holds the weights of the epoch with the best monitored value
    /// (Keras' restore_best_weights), from a copy kept in memory at each improvement (one more
    /// copy of the model's state dict). After resume() an earlier best epoch's weights are read
    /// from best_weights or, failing that, best_checkpoint; when neither file exists fit() throws
    /// ValueError before training.
    bool restore_best_weights = false;
    /// A checkpoint (like best_checkpoint) written atomically after every epoch, for resume();
    /// empty: none kept.
    std::filesystem::path last_checkpoint{};
    /// One row / one JSON object per epoch with every EpochLogs value; empty: no log.
    std::filesystem::path log_csv{};
    std::filesystem::path log_jsonl{};
    Progress progress = Progress::Auto;
    /// Also compute the metrics on the training batches ("train_accuracy", …).
    bool train_metrics = false;
    /// Data parallelism across processes; graft::dist fills it (dist::trainer_distribution(ddp),
    /// graft/dist/trainer.hpp). The default is one process.
    TrainerDistribution distribution{};
    /// A penalty against forgetting the pretrained task (train::L2SP, train::EWC; see
    /// graft/train/forgetting_guard.hpp): its gradient is added to the trainable parameters'
    /// gradients before each optimizer step, its mean value per step logged as "train_penalty".
    /// Empty: none.
    std::shared_ptr<const ForgettingGuard> guard{};
    /// The dtype the GEMMs of training and evaluation steps compute in: DType::BFloat16 runs each
    /// step's forward and backward (and evaluate()) under AutocastGuard (graft/autocast.hpp,
    /// docs/mixed-precision.md); parameters, gradients and optimizer state stay float32.
    DType autocast = DType::Float32;
};

/// What fit() did.
struct FitResult {
    std::vector<EpochLogs> history;      ///< every epoch run by this fit() call
    std::int64_t epochs_run = 0;         ///< epochs completed in total (including resumed ones)
    std::int64_t best_epoch = -1;        ///< the epoch with the best monitored value (-1: none)
    std::int64_t best_step = -1;         ///< optimizer steps taken by the end of that epoch (-1: none)
    double best_value = 0.0;             ///< its value
    bool stopped_early = false;
    double seconds = 0.0;                ///< wall time of this fit() call
};

class Trainer {
public:
    Trainer(nn::Module& model, optim::Optimizer& optimizer, TrainerOptions options = {}, LossFn loss = {});

    /// The scheduler to advance (not owned; nullptr detaches).
    Trainer& set_scheduler(optim::LRScheduler* scheduler, SchedulerStep when = SchedulerStep::Epoch);
    Trainer& add_metric(std::shared_ptr<Metric> metric);
    Trainer& add_callback(std::shared_ptr<Callback> callback);

    /// Trains from the current epoch up to options.epochs (or an early stop).
    FitResult fit(data::DataLoader& train_loader, data::DataLoader* val_loader = nullptr);
    /// Mean loss ("loss") and every metric over a loader, in eval mode without gradients.
    EpochLogs evaluate(data::DataLoader& loader);

    /// Writes model, optimizer, scheduler, RNG, step and the loop's own state (epoch, best value,
    /// epochs without improvement) to one checkpoint file (io::save_checkpoint's format), atomically.
    void save_checkpoint(const std::filesystem::path& path) const;
    /// Restores what save_checkpoint() wrote; the next fit() continues with the following epoch.
    void resume(const std::filesystem::path& path);

    /// Ends fit() after the current epoch (callable from callbacks).
    void request_stop() { stop_requested_ = true; }
    /// Epochs completed so far.
    std::int64_t epoch() const { return epoch_; }
    /// Optimizer steps taken so far.
    std::int64_t global_step() const { return global_step_; }
    nn::Module& model() const { return *model_; }
    optim::Optimizer& optimizer() const { return *optimizer_; }
    const TrainerOptions& options() const { return options_; }

private:
    /// The model state of the best epoch from best_weights or best_checkpoint, when one exists.
    StateDict best_state_from_files() const;
    void train_epoch(data::DataLoader& loader, EpochLogs& logs, detail::ProgressDisplay& progress);
    bool higher_is_better() const;
    bool improved(double value) const;

    nn::Module* model_;
    optim::Optimizer* optimizer_;
    TrainerOptions options_;
    LossFn loss_;
    optim::LRScheduler* scheduler_ = nullptr;
    SchedulerStep scheduler_step_ = SchedulerStep::Epoch;
    std::vector<std::shared_ptr<Metric>> metrics_;
    std::vector<std::shared_ptr<Callback>> callbacks_;

    std::int64_t epoch_ = 0;
    std::int64_t global_step_ = 0;
    std::optional<double> best_value_;
    std::int64_t best_epoch_ = -1;
    std::int64_t best_step_ = -1;
    /// The best epoch's model state (copies), kept under restore_best_weights.
    StateDict best_state_;
    std::int64_t epochs_without_improvement_ = 0;
    bool stop_requested_ = false;
};

}  // namespace graft::train
