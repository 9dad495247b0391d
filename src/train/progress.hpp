// The Trainer's progress display on stderr: a live bar (epoch, batches, loss, samples/s, ETA)
// redrawn in place on a terminal, or one plain line per epoch when stderr is a file or a pipe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "graft/train/trainer.hpp"

namespace graft::train::detail {

class ProgressDisplay {
public:
    explicit ProgressDisplay(Progress mode);
    void begin_epoch(std::int64_t epoch, std::int64_t epochs, std::int64_t batches);
    /// After batch `done` (1-based) with the running mean loss and samples seen this epoch.
    void update(std::int64_t done, double mean_loss, std::int64_t samples);
    /// Ends the epoch's line with its summary ("train_loss 0.31  val_accuracy 0.93  …").
    void end_epoch(const EpochLogs& logs);

private:
    void draw(std::int64_t done, double mean_loss, std::int64_t samples, bool force);

    bool live_ = false;
    bool enabled_ = false;
    std::int64_t epoch_ = 0, epochs_ = 0, batches_ = 0;
    std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace graft::train::detail
