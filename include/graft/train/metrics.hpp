// graft/train/metrics.hpp — evaluation metrics the Trainer accumulates over a loader: a small
// interface users can implement, and the classification metrics most fine-tuning runs report.
//
//   trainer.add_metric(std::make_shared<train::Accuracy>());        // logged as "val_accuracy"
//   trainer.add_metric(std::make_shared<train::TopKAccuracy>(3));   // "val_top3_accuracy"
//
//   struct MeanAbsError : train::Metric { … };                      // a metric of your own
//
// A metric sees every batch's model output and target (update), then reports one number
// (compute). Updates run under NoGradGuard; outputs are never part of a graph there.
#pragma once

#include <cstdint>
#include <string>

#include "graft/tensor.hpp"

namespace graft::train {

class Metric {
public:
    virtual ~Metric() = default;
    /// The key the value is logged under (prefixed "val_" or "train_" by the Trainer).
    virtual std::string name() const = 0;
    /// Starts a new accumulation (called before every evaluation pass).
    virtual void reset() = 0;
    /// Adds one batch: the model's output and the batch's target.
    virtual void update(const Tensor& output, const Tensor& target) = 0;
    /// The value over everything since reset(); NaN when nothing was seen.
    virtual double compute() const = 0;
    /// Whether larger is better (drives early stopping and best checkpoints on this metric).
    virtual bool higher_is_better() const { return true; }
};

/// Fraction of rows whose k highest-scoring classes contain the target class. Output [N, C]
/// (logits or probabilities), target int64 [N]; targets equal to `ignore_index` are not counted.
/// A target outside [0, C) is an IndexError naming the row.
class TopKAccuracy : public Metric {
public:
    explicit TopKAccuracy(std::int64_t k = 1, std::int64_t ignore_index = -100);
    std::string name() const override;
    void reset() override;
    void update(const Tensor& output, const Tensor& target) override;
    double compute() const override;

private:
    std::int64_t k_;
    std::int64_t ignore_index_;
    std::int64_t correct_ = 0;
    std::int64_t total_ = 0;
};

/// Top-1 accuracy ("accuracy").
class Accuracy final : public TopKAccuracy {
public:
    explicit Accuracy(std::int64_t ignore_index = -100) : TopKAccuracy(1, ignore_index) {}
    std::string name() const override { return "accuracy"; }
};

}  // namespace graft::train
