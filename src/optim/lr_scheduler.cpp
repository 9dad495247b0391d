// LRScheduler base and the epoch-driven schedules: StepLR, MultiStepLR, ExponentialLR,
// CosineAnnealingLR (torch's recursive forms), LinearWarmup and CosineLR.
#include "graft/optim/lr_scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "optim/state_util.hpp"

namespace graft::optim {

using detail::number;

// ---- base --------------------------------------------------------------------------------------

LRScheduler::LRScheduler(Optimizer& opt, const char* name) : opt_(&opt), name_(name) {
    for (std::size_t g = 0; g < opt.num_param_groups(); ++g) {
        if (!opt.initial_lr(g)) opt.set_initial_lr(g, opt.lr(g));
        base_lrs_.push_back(*opt.initial_lr(g));
    }
    last_lr_ = current_lrs();
}

void LRScheduler::initial_step() {
    last_epoch_ = 0;
    apply(compute_lr());
}

void LRScheduler::check_groups() const {
    if (opt_->num_param_groups() != base_lrs_.size())
        throw ValueError(std::string(name_) + ": the " + opt_->name() + " now has " +
                         std::to_string(opt_->num_param_groups()) + " param groups, but this scheduler was built for " +
                         std::to_string(base_lrs_.size()) + "; build schedulers after the last add_param_group");
}

void LRScheduler::step() {
    check_groups();
    ++last_epoch_;
    try {
        apply(compute_lr());
    } catch (...) {
        --last_epoch_;
        throw;
    }
}

void LRScheduler::step(double) {
    throw ValueError(std::string(name_) + ".step(metric): this scheduler takes no metric; call step()");
}

void LRScheduler::apply(const std::vector<double>& lrs) {
    for (std::size_t g = 0; g < lrs.size(); ++g) opt_->set_lr(g, lrs[g]);
    last_lr_ = lrs;
}

std::vector<double> LRScheduler::current_lrs() const {
    std::vector<double> lrs;
    for (std::size_t g = 0; g < opt_->num_param_groups(); ++g) lrs.push_back(opt_->lr(g));
    return lrs;
}

StateDict LRScheduler::state_dict() const {
    StateDict sd;
    sd.insert("last_epoch", detail::scalar64(static_cast<double>(last_epoch_)));
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) sd.insert("base_lrs." + std::to_string(g), detail::scalar64(base_lrs_[g]));
    for (std::size_t g = 0; g < last_lr_.size(); ++g) sd.insert("last_lr." + std::to_string(g), detail::scalar64(last_lr_[g]));
    save_extra(sd);
    return sd;
}

void LRScheduler::check_state_dict(const StateDict& dict) const {
    const std::string who = std::string(name_) + ".load_state_dict";
    const StateDict mine = state_dict();
    for (const auto& [key, t] : dict)
        if (!mine.contains(key))
            throw ValueError(who + ": unexpected key '" + key + "' (expected " + std::to_string(mine.size()) +
                             " keys for " + std::to_string(num_groups()) + " param groups: " +
                             detail::join_keys(mine) + ")");
    for (const auto& [key, t] : mine)
        if (!dict.contains(key))
            throw ValueError(who + ": missing key '" + key + "' (was it saved for an optimizer with " +
                             std::to_string(num_groups()) + " param groups?)");
    for (const auto& [key, t] : dict) detail::read_scalar(who, key, t);
    detail::read_count(who, "last_epoch", dict.at("last_epoch"));
    for (std::size_t g = 0; g < num_groups(); ++g)
        for (const char* prefix : {"base_lrs.", "last_lr."}) {
            const std::string key = prefix + std::to_string(g);
            detail::read_rate(who, key, dict.at(key));
        }
    check_extra(dict, who);
}

void LRScheduler::load_state_dict(const StateDict& dict) {
    check_state_dict(dict);
    last_epoch_ = static_cast<std::int64_t>(dict.at("last_epoch").item<double>());
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
        base_lrs_[g] = dict.at("base_lrs." + std::to_string(g)).item<double>();
        last_lr_[g] = dict.at("last_lr." + std::to_string(g)).item<double>();
    }
    load_extra(dict);
}

void LRScheduler::check_extra(const StateDict&, const std::string&) const {}
void LRScheduler::save_extra(StateDict&) const {}
void LRScheduler::load_extra(const StateDict&) {}

// ---- StepLR, MultiStepLR, ExponentialLR ---------------------------------------------------------

StepLR::StepLR(Optimizer& opt, std::int64_t step_size, double gamma)
    : LRScheduler(opt, "StepLR"), step_size_(step_size), gamma_(gamma) {
    if (step_size < 1) throw ValueError("StepLR: step_size must be >= 1, got " + std::to_string(step_size));
    initial_step();
}

std::vector<double> StepLR::compute_lr() {
    std::vector<double> lrs = current_lrs();
    if (last_epoch_ == 0 || last_epoch_ % step_size_ != 0) return lrs;
    for (double& lr : lrs) lr *= gamma_;
    return lrs;
}

MultiStepLR::MultiStepLR(Optimizer& opt, std::vector<std::int64_t> milestones, double gamma)
    : LRScheduler(opt, "MultiStepLR"), milestones_(std::move(milestones)), gamma_(gamma) {
    std::sort(milestones_.begin(), milestones_.end());
    initial_step();
}

std::vector<double> MultiStepLR::compute_lr() {
    std::vector<double> lrs = current_lrs();
    const auto hits = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
    if (hits == 0) return lrs;
    for (double& lr : lrs) lr *= std::pow(gamma_, static_cast<double>(hits));
    return lrs;
}

ExponentialLR::ExponentialLR(Optimizer& opt, double gamma) : LRScheduler(opt, "ExponentialLR"), gamma_(gamma) {
    initial_step();
}

std::vector<double> ExponentialLR::compute_lr() {
    std::vector<double> lrs = current_lrs();
    if (last_epoch_ == 0) return lrs;
    for (double& lr : lrs) lr *= gamma_;
    return lrs;
}

// ---- CosineAnnealingLR -----------------------------------------------------------------------------

CosineAnnealingLR::CosineAnnealingLR(Optimizer& opt, std::int64_t T_max, double eta_min)
    : LRScheduler(opt, "CosineAnnealingLR"), t_max_(T_max), eta_min_(eta_min) {
    if (T_max < 1) throw ValueError("CosineAnnealingLR: T_max must be >= 1, got " + std::to_string(T_max));
    initial_step();
}

std::vector<double> CosineAnnealingLR::compute_lr() {
    constexpr double pi = std::numbers::pi;
    std::vector<double> lrs = current_lrs();
    const auto e = static_cast<double>(last_epoch_);
    const auto t = static_cast<double>(t_max_);
    if (last_epoch_ == 0) return lrs;
    if ((last_epoch_ - 1 - t_max_) % (2 * t_max_) == 0) {
        // Past a trough: the recursive ratio below would divide by zero, so step up explicitly.
        for (std::size_t g = 0; g < lrs.size(); ++g)
            lrs[g] = lrs[g] + (base_lrs_[g] - eta_min_) * (1 - std::cos(pi / t)) / 2;
        return lrs;
    }
    for (double& lr : lrs)
        lr = (1 + std::cos(pi * e / t)) / (1 + std::cos(pi * (e - 1) / t)) * (lr - eta_min_) + eta_min_;
    return lrs;
}

// ---- LinearWarmup ------------------------------------------------------------------------------------

LinearWarmup::LinearWarmup(Optimizer& opt, std::int64_t warmup_steps, std::unique_ptr<LRScheduler> after,
                           double start_factor)
    : LRScheduler(opt, "LinearWarmup"), warmup_steps_(warmup_steps), start_factor_(start_factor),
      after_(std::move(after)) {
    if (!after_) throw ValueError("LinearWarmup: no scheduler to hand over to");
    if (&after_->optimizer() != &opt)
        throw ValueError(std::string("LinearWarmup: the wrapped ") + after_->name() +
                         " schedules a different optimizer than the one given");
    if (warmup_steps < 0) throw ValueError("LinearWarmup: warmup_steps must be >= 0, got " + std::to_string(warmup_steps));
    if (!(start_factor >= 0 && start_factor <= 1))
        throw ValueError("LinearWarmup: start_factor must be in [0, 1], got " + number(start_factor));
    targets_ = current_lrs();
    initial_step();
}

std::vector<double> LinearWarmup::compute_lr() {
    std::vector<double> lrs = targets_;
    if (last_epoch_ >= warmup_steps_) return lrs;
    const double fraction = static_cast<double>(last_epoch_) / static_cast<double>(warmup_steps_);
    for (double& lr : lrs) lr = lr * (start_factor_ + (1 - start_factor_) * fraction);
    return lrs;
}

bool LinearWarmup::advance() {
    check_groups();
    if (last_epoch_ >= warmup_steps_) {
        ++last_epoch_;
        return true;
    }
    LRScheduler::step();
    return false;
}

void LinearWarmup::step() {
    if (!advance()) return;
    try {
        after_->step();
    } catch (...) {
        --last_epoch_;
        throw;
    }
    last_lr_ = after_->get_last_lr();
}

void LinearWarmup::step(double metric) {
    if (!advance()) return;
    try {
        after_->step(metric);
    } catch (...) {
        --last_epoch_;
        throw;
    }
    last_lr_ = after_->get_last_lr();
}

void LinearWarmup::save_extra(StateDict& dict) const {
    for (std::size_t g = 0; g < targets_.size(); ++g) dict.insert("targets." + std::to_string(g), detail::scalar64(targets_[g]));
    for (const auto& [key, t] : after_->state_dict()) dict.insert("after." + key, t);
}

StateDict LinearWarmup::after_part(const StateDict& dict) {
    StateDict inner;
    for (const auto& [key, t] : dict)
        if (key.rfind("after.", 0) == 0) inner.insert(key.substr(6), t);
    return inner;
}

void LinearWarmup::check_extra(const StateDict& dict, const std::string& who) const {
    for (std::size_t g = 0; g < targets_.size(); ++g) {
        const std::string key = "targets." + std::to_string(g);
        detail::read_rate(who, key, dict.at(key));
    }
    try {
        after_->check_state_dict(after_part(dict));
    } catch (Error& e) {
        e.add_context(who + ": 'after.*'");
        throw;
    }
}

void LinearWarmup::load_extra(const StateDict& dict) {
    after_->load_state_dict(after_part(dict));
    for (std::size_t g = 0; g < targets_.size(); ++g)
        targets_[g] = dict.at("targets." + std::to_string(g)).item<double>();
}

// ---- CosineLR -------------------------------------------------------------------------------------------

CosineLR::CosineLR(Optimizer& opt, std::int64_t warmup, std::int64_t total, double eta_min)
    : LRScheduler(opt, "CosineLR"), warmup_(warmup), total_(total), eta_min_(eta_min) {
    if (warmup < 0) throw ValueError("CosineLR: warmup must be >= 0, got " + std::to_string(warmup));
    if (total <= warmup)
        throw ValueError("CosineLR: total (" + std::to_string(total) + ") must exceed warmup (" +
                         std::to_string(warmup) + ")");
    initial_step();
}

std::vector<double> CosineLR::compute_lr() {
    std::vector<double> lrs = base_lrs_;
    const auto e = static_cast<double>(last_epoch_);
    if (last_epoch_ < warmup_) {
        for (double& lr : lrs) lr = lr * (e / static_cast<double>(warmup_));
        return lrs;
    }
    const double progress = std::min(1.0, (e - static_cast<double>(warmup_)) / static_cast<double>(total_ - warmup_));
    const double cosine = 0.5 * (1 + std::cos(std::numbers::pi * progress));
    for (double& lr : lrs) lr = eta_min_ + (lr - eta_min_) * cosine;
    return lrs;
}

}  // namespace graft::optim
