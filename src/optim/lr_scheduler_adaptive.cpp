// OneCycleLR (lr and momentum follow the 1cycle policy) and ReduceLROnPlateau (lr follows a
// metric), torch.optim.lr_scheduler's formulas.
#include <cmath>
#include <limits>
#include <numbers>

#include "graft/optim/lr_scheduler.hpp"
#include "optim/state_util.hpp"

namespace graft::optim {

using detail::number;

// ---- OneCycleLR ----------------------------------------------------------------------------------

OneCycleLR::OneCycleLR(Optimizer& opt, double max_lr, const OneCycleOptions& options)
    : OneCycleLR(opt, std::vector<double>(opt.num_param_groups(), max_lr), options) {}

OneCycleLR::OneCycleLR(Optimizer& opt, std::vector<double> max_lrs, const OneCycleOptions& options)
    : LRScheduler(opt, "OneCycleLR"), o_(options), max_lrs_(std::move(max_lrs)) {
    if (o_.total_steps <= 0)
        throw ValueError("OneCycleLR: total_steps must be > 0, got " + std::to_string(o_.total_steps));
    if (!(o_.pct_start >= 0 && o_.pct_start <= 1))
        throw ValueError("OneCycleLR: pct_start must be in [0, 1], got " + number(o_.pct_start));
    if (max_lrs_.size() != num_groups())
        throw ValueError("OneCycleLR: expected " + std::to_string(num_groups()) + " max_lr values (one per param group), got " +
                         std::to_string(max_lrs_.size()));
    if (!(o_.div_factor > 0) || !(o_.final_div_factor > 0))
        throw ValueError("OneCycleLR: div_factor and final_div_factor must be > 0, got " + number(o_.div_factor) +
                         " and " + number(o_.final_div_factor));
    const double total = static_cast<double>(o_.total_steps);
    const double up_end = o_.pct_start * total - 1;
    if (o_.three_phase)
        phases_ = {{up_end, Lr::Initial, Lr::Max, Momentum::Max, Momentum::Base},
                   {2 * o_.pct_start * total - 2, Lr::Max, Lr::Initial, Momentum::Base, Momentum::Max},
                   {total - 1, Lr::Initial, Lr::Min, Momentum::Max, Momentum::Max}};
    else
        phases_ = {{up_end, Lr::Initial, Lr::Max, Momentum::Max, Momentum::Base},
                   {total - 1, Lr::Max, Lr::Min, Momentum::Base, Momentum::Max}};
    double start = 0;
    for (const Phase& ph : phases_) {
        if (!(ph.end_step > start))
            throw ValueError("OneCycleLR: pct_start " + number(o_.pct_start) + " of total_steps " +
                             std::to_string(o_.total_steps) + " leaves a phase without steps");
        start = ph.end_step;
    }
    for (std::size_t g = 0; g < num_groups(); ++g) {
        initial_lrs_.push_back(max_lrs_[g] / o_.div_factor);
        min_lrs_.push_back(initial_lrs_[g] / o_.final_div_factor);
        opt.set_initial_lr(g, initial_lrs_[g]);
        base_lrs_[g] = initial_lrs_[g];
        if (o_.cycle_momentum) opt.set_momentum(g, o_.max_momentum);
    }
    initial_step();
}

std::vector<double> OneCycleLR::compute_lr() {
    if (last_epoch_ > o_.total_steps)
        throw ValueError("OneCycleLR: tried to step " + std::to_string(last_epoch_ + 1) +
                         " times; the cycle has total_steps = " + std::to_string(o_.total_steps));
    auto anneal = [&](double start, double end, double pct) {
        if (o_.anneal_strategy == Anneal::Linear) return (end - start) * pct + start;
        const double cos_out = std::cos(std::numbers::pi * pct) + 1;
        return end + (start - end) / 2.0 * cos_out;
    };
    const auto step = static_cast<double>(last_epoch_);
    std::vector<double> lrs;
    for (std::size_t g = 0; g < num_groups(); ++g) {
        const double lr_of[] = {initial_lrs_[g], max_lrs_[g], min_lrs_[g]};
        const double momentum_of[] = {o_.base_momentum, o_.max_momentum};
        double start_step = 0;
        for (std::size_t i = 0; i < phases_.size(); ++i) {
            const Phase& ph = phases_[i];
            if (step <= ph.end_step || i + 1 == phases_.size()) {
                const double pct = (step - start_step) / (ph.end_step - start_step);
                lrs.push_back(anneal(lr_of[static_cast<int>(ph.start_lr)], lr_of[static_cast<int>(ph.end_lr)], pct));
                if (o_.cycle_momentum)
                    opt_->set_momentum(g, anneal(momentum_of[static_cast<int>(ph.start_momentum)],
                                                 momentum_of[static_cast<int>(ph.end_momentum)], pct));
                break;
            }
            start_step = ph.end_step;
        }
    }
    return lrs;
}

// ---- ReduceLROnPlateau ------------------------------------------------------------------------------

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& opt, const PlateauOptions& options)
    : LRScheduler(opt, "ReduceLROnPlateau"), o_(options) {
    if (!(o_.factor >= 0 && o_.factor < 1))
        throw ValueError("ReduceLROnPlateau: factor must be in [0, 1), got " + number(o_.factor));
    if (o_.patience < 0 || o_.cooldown < 0)
        throw ValueError("ReduceLROnPlateau: patience and cooldown must be >= 0, got " + std::to_string(o_.patience) +
                         " and " + std::to_string(o_.cooldown));
    if (!(o_.threshold >= 0) || !(o_.eps >= 0))
        throw ValueError("ReduceLROnPlateau: threshold and eps must be >= 0, got " + number(o_.threshold) + " and " +
                         number(o_.eps));
    if (o_.min_lr.size() == 1)
        min_lrs_.assign(num_groups(), o_.min_lr[0]);
    else if (o_.min_lr.size() == num_groups())
        min_lrs_ = o_.min_lr;
    else
        throw ValueError("ReduceLROnPlateau: expected 1 or " + std::to_string(num_groups()) +
                         " min_lr values (one per param group), got " + std::to_string(o_.min_lr.size()));
    best_ = o_.mode == PlateauMode::Min ? std::numeric_limits<double>::infinity()
                                        : -std::numeric_limits<double>::infinity();
    last_epoch_ = 0;
}

std::vector<double> ReduceLROnPlateau::compute_lr() { return current_lrs(); }

void ReduceLROnPlateau::step() {
    throw ValueError("ReduceLROnPlateau.step: it needs the monitored metric; call step(metric)");
}

bool ReduceLROnPlateau::is_better(double a) const {
    const bool rel = o_.threshold_mode == ThresholdMode::Rel;
    if (o_.mode == PlateauMode::Min) return rel ? a < best_ * (1. - o_.threshold) : a < best_ - o_.threshold;
    return rel ? a > best_ * (o_.threshold + 1.) : a > best_ + o_.threshold;
}

void ReduceLROnPlateau::step(double metric) {
    check_groups();
    ++last_epoch_;
    if (is_better(metric)) {
        best_ = metric;
        num_bad_epochs_ = 0;
    } else {
        ++num_bad_epochs_;
    }
    if (cooldown_counter_ > 0) {
        --cooldown_counter_;
        num_bad_epochs_ = 0;  // bad steps during the cooldown do not count
    }
    if (num_bad_epochs_ > o_.patience) {
        for (std::size_t g = 0; g < num_groups(); ++g) {
            const double old_lr = opt_->lr(g);
            const double new_lr = std::max(old_lr * o_.factor, min_lrs_[g]);
            if (old_lr - new_lr > o_.eps) opt_->set_lr(g, new_lr);
        }
        cooldown_counter_ = o_.cooldown;
        num_bad_epochs_ = 0;
    }
    last_lr_ = current_lrs();
}

void ReduceLROnPlateau::save_extra(StateDict& dict) const {
    dict.insert("best", detail::scalar64(best_));
    dict.insert("num_bad_epochs", detail::scalar64(static_cast<double>(num_bad_epochs_)));
    dict.insert("cooldown_counter", detail::scalar64(static_cast<double>(cooldown_counter_)));
}

void ReduceLROnPlateau::check_extra(const StateDict& dict, const std::string& who) const {
    const double best = detail::read_scalar(who, "best", dict.at("best"));
    if (std::isnan(best)) throw ValueError(who + ": 'best' must be a number or an infinity, got nan");
    detail::read_count(who, "num_bad_epochs", dict.at("num_bad_epochs"));
    detail::read_count(who, "cooldown_counter", dict.at("cooldown_counter"));
}

void ReduceLROnPlateau::load_extra(const StateDict& dict) {
    best_ = dict.at("best").item<double>();
    num_bad_epochs_ = static_cast<std::int64_t>(dict.at("num_bad_epochs").item<double>());
    cooldown_counter_ = static_cast<std::int64_t>(dict.at("cooldown_counter").item<double>());
}

}  // namespace graft::optim
