// graft/optim/lr_scheduler.hpp — learning-rate schedulers, torch.optim.lr_scheduler's formulas.
//
//   optim::AdamW opt(model.trainable_parameters(), {.lr = 1e-3});
//   optim::CosineLR sched(opt, /*warmup=*/100, /*total=*/2000);      // linear warmup, then cosine
//   optim::LinearWarmup warm(opt, /*warmup_steps=*/5, optim::StepLR(opt, 30, 0.1));
//   optim::ReduceLROnPlateau plateau(opt, {.factor = 0.5, .patience = 3});
//   for (…) { opt.step(); sched.step(); }          // plateau.step(val_loss) once per epoch
//
// A scheduler works on every param group of one optimizer (which must outlive it and keep its
// groups: build schedulers after the last add_param_group) and writes each group's lr. Building one performs its step 0, as torch does: the lr becomes the
// schedule's first value. The first scheduler attached records each group's initial_lr in the
// optimizer; later ones start from it (their base_lrs). StepLR, MultiStepLR, ExponentialLR and
// CosineAnnealingLR use torch's recursive ("chainable") forms, so they compose with changes
// made by others. To resume: build the optimizer and scheduler as before, then
// opt.load_state_dict(…) and sched.load_state_dict(…).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "graft/optim/optimizer.hpp"
#include "graft/state_dict.hpp"

namespace graft::optim {

class LRScheduler {
public:
    virtual ~LRScheduler() = default;
    LRScheduler(LRScheduler&&) = default;
    LRScheduler(const LRScheduler&) = delete;
    LRScheduler& operator=(const LRScheduler&) = delete;
    LRScheduler& operator=(LRScheduler&&) = delete;

    /// "StepLR", "CosineAnnealingLR", …
    const char* name() const { return name_; }

    /// Advances one step (an epoch or an iteration, as the user counts) and sets every group's lr.
    virtual void step();
    /// For schedulers driven by a metric (ReduceLROnPlateau, or a LinearWarmup around one);
    /// the others throw ValueError.
    virtual void step(double metric);

    /// The lr of each group after the latest step.
    const std::vector<double>& get_last_lr() const { return last_lr_; }
    /// Steps taken (0 right after construction).
    std::int64_t last_epoch() const { return last_epoch_; }
    /// The lrs the schedule starts from (each group's initial_lr).
    const std::vector<double>& base_lrs() const { return base_lrs_; }
    Optimizer& optimizer() const { return *opt_; }

    /// last_epoch, base_lrs.<g>, last_lr.<g> and the scheduler's own counters, as 0-d float64 tensors.
    virtual StateDict state_dict() const;
    /// Restores state_dict(), validated first so that on error nothing changes: ValueError naming
    /// a missing or unexpected key (a group-count mismatch) or a key and its bad value (last_epoch
    /// and counters must be integers in [0, 2^53], lrs finite and >= 0).
    void load_state_dict(const StateDict& dict);
    /// Throws what load_state_dict(dict) would throw, changing nothing.
    void check_state_dict(const StateDict& dict) const;

protected:
    /// Records initial_lr in groups that have none and takes base_lrs from it. The derived
    /// constructor then calls initial_step().
    LRScheduler(Optimizer& opt, const char* name);

    /// The lrs at last_epoch() (torch's get_lr), given the groups' current lrs.
    virtual std::vector<double> compute_lr() = 0;
    /// Step 0: last_epoch becomes 0 and the lrs compute_lr() gives are applied.
    void initial_step();
    /// Writes lrs into the groups and remembers them as get_last_lr().
    void apply(const std::vector<double>& lrs);
    /// The groups' current lrs.
    std::vector<double> current_lrs() const;
    std::size_t num_groups() const { return base_lrs_.size(); }
    /// ValueError when the optimizer gained param groups after this scheduler was built.
    void check_groups() const;

    /// The scheduler's own state keys beyond the common ones: check_extra validates their values
    /// (its errors start with `who`), load_extra then applies them and must not throw.
    virtual void save_extra(StateDict& dict) const;
    virtual void check_extra(const StateDict& dict, const std::string& who) const;
    virtual void load_extra(const StateDict& dict);

    Optimizer* opt_;
    const char* name_;
    std::vector<double> base_lrs_;
    std::vector<double> last_lr_;
    std::int64_t last_epoch_ = -1;
};

/// lr ← lr·gamma every step_size steps.
class StepLR final : public LRScheduler {
public:
    StepLR(Optimizer& opt, std::int64_t step_size, double gamma = 0.1);

private:
    std::vector<double> compute_lr() override;
    std::int64_t step_size_;
    double gamma_;
};

/// lr ← lr·gamma^k at each milestone (k: how often it is listed).
class MultiStepLR final : public LRScheduler {
public:
    MultiStepLR(Optimizer& opt, std::vector<std::int64_t> milestones, double gamma = 0.1);

private:
    std::vector<double> compute_lr() override;
    std::vector<std::int64_t> milestones_;
    double gamma_;
};

/// lr ← lr·gamma every step.
class ExponentialLR final : public LRScheduler {
public:
    ExponentialLR(Optimizer& opt, double gamma);

private:
    std::vector<double> compute_lr() override;
    double gamma_;
};

/// Cosine from base_lr down to eta_min over T_max steps (torch's recursive form: it rises
/// again after T_max, with period 2·T_max).
class CosineAnnealingLR final : public LRScheduler {
public:
    CosineAnnealingLR(Optimizer& opt, std::int64_t T_max, double eta_min = 0.0);

private:
    std::vector<double> compute_lr() override;
    std::int64_t t_max_;
    double eta_min_;
};

enum class Anneal { Cos, Linear };

struct OneCycleOptions {
    std::int64_t total_steps = 0;  ///< required: the number of steps in the cycle
    double pct_start = 0.3;        ///< fraction of the steps spent increasing the lr
    Anneal anneal_strategy = Anneal::Cos;
    bool cycle_momentum = true;    ///< momentum (Adam: betas[0]) goes max → base → max, inversely to the lr
    double base_momentum = 0.85;
    double max_momentum = 0.95;
    double div_factor = 25.0;        ///< initial_lr = max_lr / div_factor
    double final_div_factor = 1e4;   ///< min_lr = initial_lr / final_div_factor
    bool three_phase = false;        ///< up, back down to initial_lr, then down to min_lr
};

/// The 1cycle policy (torch's OneCycleLR): up from max_lr/div_factor to max_lr over pct_start of
/// total_steps, then down to the minimum. Stepping past total_steps is a ValueError.
class OneCycleLR final : public LRScheduler {
public:
    OneCycleLR(Optimizer& opt, double max_lr, const OneCycleOptions& options);
    /// One max_lr per param group.
    OneCycleLR(Optimizer& opt, std::vector<double> max_lrs, const OneCycleOptions& options);

private:
    std::vector<double> compute_lr() override;
    enum class Lr { Initial, Max, Min };
    enum class Momentum { Base, Max };
    struct Phase {
        double end_step;
        Lr start_lr, end_lr;
        Momentum start_momentum, end_momentum;
    };
    OneCycleOptions o_;
    std::vector<double> max_lrs_, initial_lrs_, min_lrs_;
    std::vector<Phase> phases_;
};

/// base·(start_factor + (1 − start_factor)·t / warmup_steps) for t < warmup_steps, then the wrapped
/// scheduler takes over (torch's SequentialLR of LinearLR and it): at t = warmup_steps the lrs it
/// had set when it was built are restored and each later step is its step. "base" is those lrs.
class LinearWarmup final : public LRScheduler {
public:
    LinearWarmup(Optimizer& opt, std::int64_t warmup_steps, std::unique_ptr<LRScheduler> after,
                 double start_factor = 0.0);
    /// `after` is moved in: LinearWarmup(opt, 100, StepLR(opt, 30, 0.1)).
    template <class S>
        requires std::is_base_of_v<LRScheduler, S> && (!std::is_lvalue_reference_v<S>)
    LinearWarmup(Optimizer& opt, std::int64_t warmup_steps, S&& after, double start_factor = 0.0)
        : LinearWarmup(opt, warmup_steps, std::make_unique<S>(std::move(after)), start_factor) {}

    void step() override;
    void step(double metric) override;
    /// The wrapped scheduler.
    LRScheduler& after() const { return *after_; }

private:
    std::vector<double> compute_lr() override;
    void save_extra(StateDict& dict) const override;
    void check_extra(const StateDict& dict, const std::string& who) const override;
    void load_extra(const StateDict& dict) override;
    /// The wrapped scheduler's entries of a state dict, without their "after." prefix.
    static StateDict after_part(const StateDict& dict);
    /// Advances the warmup; true when the wrapped scheduler must take this step.
    bool advance();

    std::int64_t warmup_steps_;
    double start_factor_;
    std::unique_ptr<LRScheduler> after_;
    std::vector<double> targets_;  // the wrapped scheduler's lrs at its step 0
};

/// Linear warmup from 0 over `warmup` steps, then a cosine from base_lr down to eta_min at step
/// `total`, staying there afterwards (the usual transformer fine-tuning schedule).
class CosineLR final : public LRScheduler {
public:
    CosineLR(Optimizer& opt, std::int64_t warmup, std::int64_t total, double eta_min = 0.0);

private:
    std::vector<double> compute_lr() override;
    std::int64_t warmup_, total_;
    double eta_min_;
};

enum class PlateauMode { Min, Max };
enum class ThresholdMode { Rel, Abs };

struct PlateauOptions {
    PlateauMode mode = PlateauMode::Min;  ///< Min: the metric should fall (a loss); Max: rise (an accuracy)
    double factor = 0.1;                  ///< new lr = lr·factor, in [0, 1)
    std::int64_t patience = 10;           ///< bad steps tolerated before reducing
    double threshold = 1e-4;              ///< what counts as an improvement
    ThresholdMode threshold_mode = ThresholdMode::Rel;
    std::int64_t cooldown = 0;            ///< steps to wait after a reduction
    std::vector<double> min_lr = {0.0};   ///< one value, or one per group
    double eps = 1e-8;                    ///< reductions smaller than this are skipped
};

/// Reduces the lr when a metric stops improving (torch's ReduceLROnPlateau); call step(metric).
class ReduceLROnPlateau final : public LRScheduler {
public:
    explicit ReduceLROnPlateau(Optimizer& opt, const PlateauOptions& options = {});

    void step() override;
    void step(double metric) override;
    /// The best metric so far (±infinity before the first step).
    double best() const { return best_; }
    std::int64_t num_bad_epochs() const { return num_bad_epochs_; }

private:
    std::vector<double> compute_lr() override;
    void save_extra(StateDict& dict) const override;
    void check_extra(const StateDict& dict, const std::string& who) const override;
    void load_extra(const StateDict& dict) override;
    bool is_better(double a) const;

    PlateauOptions o_;
    std::vector<double> min_lrs_;
    double best_;
    std::int64_t num_bad_epochs_ = 0;
    std::int64_t cooldown_counter_ = 0;
};

}  // namespace graft::optim
