// graft/train/callback.hpp — hooks into the Trainer's loop, and the record of an epoch they see.
//
//   struct PrintLr : train::Callback {
//       void on_epoch_end(train::Trainer& t, const train::EpochLogs& logs) override {
//           std::cout << "lr " << logs.at("lr") << "\n";
//       }
//   };
//   trainer.add_callback(std::make_shared<PrintLr>());
//
// Callbacks run in the order they were added, on the thread that called fit(). A callback may
// change the model (freeze/unfreeze), the optimizer's learning rates, or call
// Trainer::request_stop().
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace graft::train {

class Trainer;

/// What one epoch produced (epoch is 0-based): "train_loss", "val_loss", "val_<metric>", "lr" (group 0),
/// "seconds", "samples_per_s", in key order.
struct EpochLogs {
    std::int64_t epoch = 0;
    std::map<std::string, double> values;

    /// The value under `key`; IndexError listing the keys there are.
    double at(const std::string& key) const;
    bool contains(const std::string& key) const { return values.count(key) != 0; }
};

class Callback {
public:
    virtual ~Callback() = default;
    /// Before fit() trains its first epoch (after a resume: the first epoch it will run).
    virtual void on_fit_begin(Trainer&) {}
    /// Before epoch `epoch` (0-based) trains its first batch.
    virtual void on_epoch_begin(Trainer&, std::int64_t /*epoch*/) {}
    /// After each optimizer step (with gradient accumulation, after every accumulate_steps batches).
    virtual void on_step_end(Trainer&, std::int64_t /*global_step*/, double /*loss*/) {}
    /// After the epoch's evaluation, logging and checkpointing.
    virtual void on_epoch_end(Trainer&, const EpochLogs&) {}
    /// When fit() returns normally.
    virtual void on_fit_end(Trainer&) {}
};

}  // namespace graft::train
