// The Trainer's loop: epochs, accumulation, clipping, scheduling, evaluation, early stopping,
// checkpoints and logs.
#include "graft/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "graft/autocast.hpp"
#include "graft/autograd.hpp"
#include "graft/error.hpp"
#include "graft/io/checkpoint.hpp"
#include "graft/functional.hpp"
#include "graft/io/safetensors.hpp"
#include "graft/optim/clip_grad.hpp"
#include "graft/random.hpp"
#include "train/epoch_log.hpp"
#include "train/progress.hpp"

namespace graft::train {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string exact(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

std::string key_list(const EpochLogs& logs) {
    std::string s;
    for (const auto& [key, value] : logs.values) s += (s.empty() ? "" : ", ") + key;
    return s;
}

}  // namespace

double EpochLogs::at(const std::string& key) const {
    auto it = values.find(key);
    if (it == values.end())
        throw IndexError("EpochLogs: no value '" + key + "' (logged: " + key_list(*this) + ")");
    return it->second;
}

Trainer::Trainer(nn::Module& model, optim::Optimizer& optimizer, TrainerOptions options, LossFn loss)
    : model_(&model), optimizer_(&optimizer), options_(std::move(options)), loss_(std::move(loss)) {
    if (!loss_)
        loss_ = [](const Tensor& out, const Tensor& target) { return nn::functional::cross_entropy(out, target); };
    if (options_.epochs < 0) throw ValueError("Trainer: epochs must be >= 0, got " + std::to_string(options_.epochs));
    if (options_.autocast != DType::Float32 && options_.autocast != DType::BFloat16)
        throw ValueError(std::string("Trainer: autocast must be Float32 or BFloat16, got ") + dtype_name(options_.autocast));
    if (options_.accumulate_steps < 1)
        throw ValueError("Trainer: accumulate_steps must be >= 1, got " + std::to_string(options_.accumulate_steps));
    if (options_.clip_grad_norm < 0)
        throw ValueError("Trainer: clip_grad_norm must be >= 0 (0 disables), got " + exact(options_.clip_grad_norm));
    if (options_.early_stopping_patience < 0)
        throw ValueError("Trainer: early_stopping_patience must be >= 0, got " +
                         std::to_string(options_.early_stopping_patience));
}

Trainer& Trainer::set_scheduler(optim::LRScheduler* scheduler, SchedulerStep when) {
    scheduler_ = scheduler;
    scheduler_step_ = when;
    return *this;
}

Trainer& Trainer::add_metric(std::shared_ptr<Metric> metric) {
    if (!metric) throw ValueError("Trainer::add_metric: null metric");
    for (const auto& m : metrics_)
        if (m->name() == metric->name()) throw ValueError("Trainer::add_metric: a metric named '" + m->name() + "' is already added");
    metrics_.push_back(std::move(metric));
    return *this;
}

Trainer& Trainer::add_callback(std::shared_ptr<Callback> callback) {
    if (!callback) throw ValueError("Trainer::add_callback: null callback");
    callbacks_.push_back(std::move(callback));
    return *this;
}

bool Trainer::higher_is_better() const {
    if (options_.monitor_higher_is_better) return *options_.monitor_higher_is_better;
    if (options_.monitor.find("loss") != std::string::npos) return false;
    for (const auto& m : metrics_)
        if (options_.monitor == "val_" + m->name() || options_.monitor == "train_" + m->name())
            return m->higher_is_better();
    return true;
}

bool Trainer::improved(double value) const {
    if (std::isnan(value)) return false;
    if (!best_value_) return true;
    return higher_is_better() ? value > *best_value_ + options_.min_delta : value < *best_value_ - options_.min_delta;
}

void Trainer::train_epoch(data::DataLoader& loader, EpochLogs& logs, detail::ProgressDisplay& progress) {
    model_->train();
    optimizer_->zero_grad();
    for (const auto& m : metrics_) m->reset();
    const std::int64_t accum = options_.accumulate_steps;
    const double scale = 1.0 / static_cast<double>(accum);
    std::int64_t pending = 0, batches = 0, samples = 0, steps = 0;
    double loss_sum = 0.0, penalty_sum = 0.0;

    progress.begin_epoch(epoch_, options_.epochs, static_cast<std::int64_t>(loader.size()));

    auto take_step = [&] {
        if (options_.guard) penalty_sum += options_.guard->apply(*model_);
        ++steps;
        if (options_.clip_grad_norm > 0) clip_grad_norm(model_->trainable_parameters(), options_.clip_grad_norm);
        optimizer_->step();
        optimizer_->zero_grad();
        ++global_step_;
        if (scheduler_ && scheduler_step_ == SchedulerStep::Batch) scheduler_->step();
        pending = 0;
    };

    const auto& distribution = options_.distribution;
    const std::size_t loader_batches = loader.size();
    const AutocastGuard autocast(options_.autocast);
    for (const data::Example& batch : loader) {
        // Gradients stay local until the last micro-batch of an accumulation (or of the epoch).
        if (distribution.set_gradient_sync)
            distribution.set_gradient_sync(pending + 1 == accum ||
                                           static_cast<std::size_t>(batches) + 1 == loader_batches);
        const Tensor out = model_->forward(batch.input);
        const Tensor loss = loss_(out, batch.target);
        if (loss.numel() != 1)
            throw ShapeError("Trainer: the loss function must return one value, got shape " + shape_str(loss.shape()));
        const double value = loss.item<double>();
        if (!std::isfinite(value))
            throw ValueError("Trainer: the loss is " + exact(value) + " at epoch " + std::to_string(epoch_) +
                             ", batch " + std::to_string(batches) + " (lower the learning rate or clip gradients)");
        if (!loss.requires_grad())
            throw AutogradError("Trainer: the loss does not require grad: every parameter is frozen or the "
                                "model ran under NoGradGuard");
        (accum == 1 ? loss : loss * scale).backward();
        const std::int64_t n = batch.input.dim() > 0 ? batch.input.size(0) : 1;
        loss_sum += value * static_cast<double>(n);
        samples += n;
        ++batches;
        if (options_.train_metrics) {
            NoGradGuard no_grad;
            for (const auto& m : metrics_) m->update(out.detach(), batch.target);
        }
        if (++pending == accum) {
            take_step();
            for (const auto& cb : callbacks_) cb->on_step_end(*this, global_step_, value);
        }
        progress.update(batches, loss_sum / static_cast<double>(samples), samples);
    }
    if (pending > 0) {
        take_step();
        for (const auto& cb : callbacks_) cb->on_step_end(*this, global_step_, loss_sum / static_cast<double>(samples));
    }
    if (samples == 0) throw ValueError("Trainer: the training loader yielded no batch (empty dataset, or drop_last with fewer samples than batch_size)");
    logs.values["train_loss"] = loss_sum / static_cast<double>(samples);
    if (options_.guard) logs.values["train_penalty"] = penalty_sum / static_cast<double>(steps);
    if (options_.train_metrics)
        for (const auto& m : metrics_) logs.values["train_" + m->name()] = m->compute();
    logs.values["samples_per_s"] = static_cast<double>(samples);  // divided by the epoch's time in fit()
}

EpochLogs Trainer::evaluate(data::DataLoader& loader) {
    const bool was_training = model_->is_training();
    model_->eval();
    struct RestoreMode {
        nn::Module* m;
        bool training;
        ~RestoreMode() { m->train(training); }
    } restore{model_, was_training};
    NoGradGuard no_grad;
    const AutocastGuard autocast(options_.autocast);
    for (const auto& m : metrics_) m->reset();
    double loss_sum = 0.0;
    std::int64_t samples = 0;
    for (const data::Example& batch : loader) {
        const Tensor out = model_->forward(batch.input);
        const std::int64_t n = batch.input.dim() > 0 ? batch.input.size(0) : 1;
        loss_sum += loss_(out, batch.target).item<double>() * static_cast<double>(n);
        samples += n;
        for (const auto& m : metrics_) m->update(out, batch.target);
    }
    EpochLogs logs;
    logs.epoch = epoch_;
    logs.values["loss"] = samples ? loss_sum / static_cast<double>(samples) : std::nan("");
    for (const auto& m : metrics_) logs.values[m->name()] = m->compute();
    return logs;
}

FitResult Trainer::fit(data::DataLoader& train_loader, data::DataLoader* val_loader) {
    const auto fit_start = Clock::now();
    FitResult result;
    stop_requested_ = false;
    const bool fresh_logs = epoch_ == 0;
    std::optional<detail::EpochLogWriter> csv, jsonl;
    const bool is_main = options_.distribution.is_main;
    if (is_main && !options_.log_csv.empty()) csv.emplace(options_.log_csv, detail::EpochLogWriter::Format::Csv);
    if (is_main && !options_.log_jsonl.empty())
        jsonl.emplace(options_.log_jsonl, detail::EpochLogWriter::Format::Jsonl);
    const bool needs_monitor = options_.early_stopping_patience > 0 || !options_.best_checkpoint.empty() ||
                               !options_.best_weights.empty() || options_.restore_best_weights ||
                               (scheduler_ && scheduler_step_ == SchedulerStep::EpochMetric);
    if (options_.restore_best_weights && best_epoch_ >= 0 && best_state_.empty())
        throw ValueError("Trainer: restore_best_weights: the best epoch so far (" + std::to_string(best_epoch_) +
                         ") ran before resume(), and neither best_weights nor best_checkpoint names a file that holds "
                         "its weights");
    detail::ProgressDisplay progress(is_main ? options_.progress : Progress::Off);

    for (const auto& cb : callbacks_) cb->on_fit_begin(*this);
    while (epoch_ < options_.epochs && !stop_requested_) {
        const auto epoch_start = Clock::now();
        train_loader.set_epoch(static_cast<std::uint64_t>(epoch_));
        for (const auto& cb : callbacks_) cb->on_epoch_begin(*this, epoch_);
        EpochLogs logs;
        logs.epoch = epoch_;
        const double lr = optimizer_->lr(0);
        train_epoch(train_loader, logs, progress);
        if (val_loader) {
            const EpochLogs v = evaluate(*val_loader);
            for (const auto& [key, value] : v.values) logs.values["val_" + key] = value;
        }
        if (options_.distribution.mean) {
            for (auto& [key, value] : logs.values) value = options_.distribution.mean(value);
            logs.values["samples_per_s"] *= static_cast<double>(options_.distribution.processes);
        }
        logs.values["lr"] = lr;
        const double seconds = seconds_since(epoch_start);
        logs.values["seconds"] = seconds;
        logs.values["samples_per_s"] /= seconds;
        ++epoch_;

        if (logs.contains(options_.monitor)) {
            const double value = logs.at(options_.monitor);
            if (improved(value)) {
                best_value_ = value;
                best_epoch_ = logs.epoch;
                best_step_ = global_step_;
                epochs_without_improvement_ = 0;
                if (is_main && !options_.best_checkpoint.empty()) save_checkpoint(options_.best_checkpoint);
                if (is_main && !options_.best_weights.empty())
                    io::save_safetensors(options_.best_weights, model_->state_dict());
                if (options_.restore_best_weights) {
                    NoGradGuard no_grad;
                    best_state_ = StateDict();
                    for (const auto& [name, t] : model_->state_dict()) best_state_.insert(name, t.detach().clone());
                }
            } else {
                ++epochs_without_improvement_;
            }
            if (scheduler_ && scheduler_step_ == SchedulerStep::EpochMetric) scheduler_->step(value);
        } else if (needs_monitor) {
            throw ValueError("Trainer: the monitored value '" + options_.monitor + "' is not logged (logged: " +
                             key_list(logs) + "); set TrainerOptions::monitor" +
                             (val_loader ? "" : " or pass a validation loader"));
        }
        if (scheduler_ && scheduler_step_ == SchedulerStep::Epoch) scheduler_->step();

        progress.end_epoch(logs);
        if (csv) csv->write(logs, fresh_logs && result.history.empty());
        if (jsonl) jsonl->write(logs, fresh_logs && result.history.empty());
        if (options_.early_stopping_patience > 0 && epochs_without_improvement_ >= options_.early_stopping_patience) {
            result.stopped_early = true;
            stop_requested_ = true;
        }
        if (is_main && !options_.last_checkpoint.empty()) save_checkpoint(options_.last_checkpoint);
        result.history.push_back(logs);
        for (const auto& cb : callbacks_) cb->on_epoch_end(*this, logs);
    }
    if (options_.restore_best_weights && !best_state_.empty()) model_->load_state_dict(best_state_);
    for (const auto& cb : callbacks_) cb->on_fit_end(*this);
    result.epochs_run = epoch_;
    result.best_epoch = best_epoch_;
    result.best_step = best_step_;
    result.best_value = best_value_.value_or(std::nan(""));
    result.seconds = seconds_since(fit_start);
    return result;
}

void Trainer::save_checkpoint(const std::filesystem::path& path) const {
    io::Metadata meta{{"trainer.epoch", std::to_string(epoch_)},
                      {"trainer.best_epoch", std::to_string(best_epoch_)},
                      {"trainer.best_step", std::to_string(best_step_)},
                      {"trainer.epochs_without_improvement", std::to_string(epochs_without_improvement_)},
                      {"trainer.monitor", options_.monitor}};
    if (best_value_) meta["trainer.best_value"] = exact(*best_value_);
    io::save_checkpoint(path, {.model = model_, .optimizer = optimizer_, .scheduler = scheduler_,
                               .generator = &default_generator()},
                        global_step_, meta);
}

void Trainer::resume(const std::filesystem::path& path) {
    const io::CheckpointInfo info = io::load_checkpoint(
        path, {.model = model_, .optimizer = optimizer_, .scheduler = scheduler_, .generator = &default_generator()});
    auto get = [&](const std::string& key) -> const std::string& {
        auto it = info.metadata.find(key);
        if (it == info.metadata.end())
            throw IOError("Trainer::resume: " + path.string() + " has no '" + key +
                          "' metadata: it was not written by Trainer::save_checkpoint");
        return it->second;
    };
    try {
        epoch_ = std::stoll(get("trainer.epoch"));
        best_epoch_ = std::stoll(get("trainer.best_epoch"));
        epochs_without_improvement_ = std::stoll(get("trainer.epochs_without_improvement"));
        auto step_it = info.metadata.find("trainer.best_step");
        best_step_ = step_it == info.metadata.end() ? -1 : std::stoll(step_it->second);
        auto it = info.metadata.find("trainer.best_value");
        best_value_ = it == info.metadata.end() ? std::nullopt : std::optional<double>(std::stod(it->second));
    } catch (const std::logic_error&) {
        throw IOError("Trainer::resume: " + path.string() + " has malformed trainer metadata");
    }
    global_step_ = info.step;
    best_state_ = options_.restore_best_weights && best_epoch_ >= 0 ? best_state_from_files() : StateDict();
}

StateDict Trainer::best_state_from_files() const {
    if (!options_.best_weights.empty() && std::filesystem::is_regular_file(options_.best_weights))
        return io::load_safetensors(options_.best_weights);
    StateDict model_part;
    if (!options_.best_checkpoint.empty() && std::filesystem::is_regular_file(options_.best_checkpoint)) {
        const std::string prefix = "model.";
        for (const auto& [name, t] : io::load_safetensors(options_.best_checkpoint))
            if (name.starts_with(prefix)) model_part.insert(name.substr(prefix.size()), t);
    }
    return model_part;
}

}  // namespace graft::train
