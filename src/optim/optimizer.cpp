// Optimizer base: parameter bookkeeping, lazily created state, and the state dict round trip.
#include "graft/optim/optimizer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "graft/autograd.hpp"
#include "graft/profiler.hpp"
#include "optim/param_update.hpp"
#include "optim/state_util.hpp"

namespace graft::optim {

const Tensor* ParamState::find(const std::string& name) const {
    for (const auto& [key, t] : buffers)
        if (key == name) return &t;
    return nullptr;
}

Tensor* ParamState::find(const std::string& name) {
    for (auto& [key, t] : buffers)
        if (key == name) return &t;
    return nullptr;
}

void Optimizer::zero_grad() {
    GRAFT_PROFILE_SCOPE("zero_grad");
    for (Tensor& p : params_) p.set_grad(Tensor());
}

std::size_t Optimizer::group_end(std::size_t g) const {
    return g + 1 < group_begin_.size() ? group_begin_[g + 1] : params_.size();
}

void Optimizer::check_group(std::size_t group, const char* what) const {
    if (group >= num_param_groups())
        throw IndexError(std::string(name_) + "." + what + ": param group " + std::to_string(group) +
                         " out of range (this optimizer has " + std::to_string(num_param_groups()) + ")");
}

std::vector<Tensor> Optimizer::params(std::size_t group) const {
    check_group(group, "params");
    return {params_.begin() + static_cast<std::ptrdiff_t>(group_begin_[group]),
            params_.begin() + static_cast<std::ptrdiff_t>(group_end(group))};
}

std::optional<double> Optimizer::initial_lr(std::size_t group) const {
    check_group(group, "initial_lr");
    return initial_lr_[group];
}

void Optimizer::set_initial_lr(std::size_t group, double lr) {
    check_group(group, "set_initial_lr");
    initial_lr_[group] = lr;
}

const ParamState* Optimizer::state(const Tensor& param) const {
    auto it = param.defined() ? index_.find(param.impl_ptr().get()) : index_.end();
    if (it == index_.end())
        throw ValueError(std::string(name_) + ".state: the tensor" +
                         (param.defined() ? " of shape " + shape_str(param.shape()) : std::string(" (undefined)")) +
                         " is not one of this optimizer's parameters");
    return states_[it->second].get();
}

std::size_t Optimizer::num_states() const {
    return static_cast<std::size_t>(std::count_if(states_.begin(), states_.end(), [](const auto& s) { return s != nullptr; }));
}

ParamState& Optimizer::state_at(std::size_t i) {
    if (!states_[i]) states_[i] = std::make_unique<ParamState>();
    return *states_[i];
}

void Optimizer::add_params(std::vector<Tensor> params) {
    const std::size_t group = num_param_groups();
    std::unordered_map<const TensorImpl*, std::size_t> seen;
    for (std::size_t k = 0; k < params.size(); ++k) {
        const Tensor& p = params[k];
        const std::string where = std::string(name_) + ": parameter " + std::to_string(k) + " of group " +
                                  std::to_string(group);
        if (!p.defined()) throw ValueError(where + " is an undefined tensor");
        if (!is_floating(p.dtype()))
            throw DTypeError(where + " has dtype " + dtype_name(p.dtype()) +
                             "; only float32 and float64 parameters can be optimized" +
                             (is_storage_only(p.dtype())
                                  ? std::string(" (a frozen weight stored in bf16 by Module::to: convert it back with "
                                                "to(DType::Float32) and unfreeze it to train it)")
                                  : std::string()));
        if (!p.is_leaf())
            throw ValueError(where + " (shape " + shape_str(p.shape()) + ") is not a leaf: it was produced by " +
                             p.grad_fn()->name() + "; optimize leaf tensors");
        const TensorImpl* key = p.impl_ptr().get();
        if (auto it = index_.find(key); it != index_.end()) {
            std::size_t g = 0;
            while (g + 1 < group_begin_.size() && group_begin_[g + 1] <= it->second) ++g;
            throw ValueError(where + " (shape " + shape_str(p.shape()) + ") is already parameter " +
                             std::to_string(it->second - group_begin_[g]) + " of group " + std::to_string(g) +
                             "; a parameter may appear in only one place");
        }
        if (auto it = seen.find(key); it != seen.end())
            throw ValueError(where + " (shape " + shape_str(p.shape()) + ") repeats parameter " +
                             std::to_string(it->second) + " of the same group; a parameter may appear in only one place");
        seen.emplace(key, k);
    }
    group_begin_.push_back(params_.size());
    initial_lr_.emplace_back();
    for (Tensor& p : params) {
        index_.emplace(p.impl_ptr().get(), params_.size());
        params_.push_back(std::move(p));
        states_.emplace_back();
    }
}

// ---- state dict ----------------------------------------------------------------------------------

void Optimizer::update_each(
    const std::function<void(std::size_t, detail::ParamUpdate&, ParamState&, const Tensor&)>& update) {
    for_each_trainable([&](std::size_t g, std::size_t i, const Tensor& p, const Tensor& grad) {
        detail::ParamUpdate u(p, grad, name(), i);
        update(g, u, state_at(i), p);
    });
}

namespace {

/// Parses "<n>.<rest>" (what follows a "state." or "param_groups." prefix).
bool split_index(const std::string& s, std::size_t& index, std::string& rest) {
    const std::size_t dot = s.find('.');
    if (dot == std::string::npos || dot == 0) return false;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + dot, index);
    if (ec != std::errc() || ptr != s.data() + dot) return false;
    rest = s.substr(dot + 1);
    return !rest.empty();
}

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

struct PendingState {
    std::optional<std::int64_t> step;
    std::vector<std::pair<std::string, Tensor>> buffers;
};

struct PendingGroup {
    std::map<std::string, double> options;
    std::optional<double> initial_lr;
    const Tensor* params = nullptr;
};

}  // namespace

/// A validated state dict, sorted by parameter and group, ready to apply.
struct Optimizer::LoadPlan {
    std::map<std::size_t, PendingState> states;
    std::vector<PendingGroup> groups;
};

StateDict Optimizer::state_dict() const {
    NoGradGuard guard;
    StateDict sd;
    for (std::size_t i = 0; i < states_.size(); ++i) {
        if (!states_[i]) continue;
        const std::string prefix = "state." + std::to_string(i) + ".";
        sd.insert(prefix + "step", detail::scalar64(static_cast<double>(states_[i]->step)));
        for (const auto& [buffer, t] : states_[i]->buffers) sd.insert(prefix + buffer, t.clone());
    }
    // group_option_refs hands out pointers for reading and writing; here they are only read.
    auto& self = const_cast<Optimizer&>(*this);
    for (std::size_t g = 0; g < num_param_groups(); ++g) {
        const std::string prefix = "param_groups." + std::to_string(g) + ".";
        for (const OptionRef& ref : self.group_option_refs(g))
            sd.insert(prefix + ref.name, detail::scalar64(ref.number ? *ref.number : (*ref.flag ? 1.0 : 0.0)));
        if (initial_lr_[g]) sd.insert(prefix + "initial_lr", detail::scalar64(*initial_lr_[g]));
        std::vector<std::int64_t> indices;
        for (std::size_t i = group_begin_[g]; i < group_end(g); ++i) indices.push_back(static_cast<std::int64_t>(i));
        sd.insert(prefix + "params", from_vector(indices));
    }
    return sd;
}

Optimizer::LoadPlan Optimizer::plan_load(const StateDict& dict) {
    const std::string who = std::string(name_) + ".load_state_dict";
    const std::vector<std::string> known = known_buffers();
    LoadPlan plan;
    auto& states = plan.states;
    auto& groups = plan.groups;
    groups.resize(num_param_groups());

    // 1. Sort every key into a parameter's state or a group's settings.
    for (const auto& [key, t] : dict) {
        std::size_t index = 0;
        std::string rest;
        if (key.rfind("state.", 0) == 0 && split_index(key.substr(6), index, rest)) {
            if (index >= params_.size())
                throw ValueError(who + ": '" + key + "' is for parameter " + std::to_string(index) + ", but this " +
                                 name_ + " has " + std::to_string(params_.size()) + " parameters");
            PendingState& st = states[index];
            if (rest == "step") {
                st.step = detail::read_count(who, key, t);
            } else if (std::find(known.begin(), known.end(), rest) != known.end()) {
                if (!t.defined() || !is_floating(t.dtype()))
                    throw DTypeError(who + ": '" + key + "' must be a float32 or float64 tensor");
                if (t.shape() != params_[index].shape())
                    throw ShapeError(who + ": '" + key + "' has shape " + shape_str(t.shape()) + ", but parameter " +
                                     std::to_string(index) + " has shape " + shape_str(params_[index].shape()));
                st.buffers.emplace_back(rest, t);
            } else {
                throw ValueError(who + ": unknown state entry '" + key + "' (" + name_ +
                                 " keeps step and: " + join(known) + ")");
            }
        } else if (key.rfind("param_groups.", 0) == 0 && split_index(key.substr(13), index, rest)) {
            if (index >= groups.size())
                throw ValueError(who + ": '" + key + "' is for param group " + std::to_string(index) + ", but this " +
                                 name_ + " has " + std::to_string(groups.size()) + " groups");
            PendingGroup& pg = groups[index];
            if (rest == "params") {
                pg.params = &t;
            } else if (rest == "initial_lr") {
                pg.initial_lr = detail::read_rate(who, key, t);
            } else {
                const double v = detail::read_scalar(who, key, t);
                if (!std::isfinite(v))
                    throw ValueError(who + ": '" + key + "' must be a finite number, got " + detail::number(v));
                pg.options[rest] = v;
            }
        } else {
            throw ValueError(who + ": unexpected key '" + key +
                             "' (an optimizer state dict has state.<i>.<name> and param_groups.<g>.<name> entries)");
        }
    }

    // 2. Groups: same membership, and exactly this optimizer's options.
    for (std::size_t g = 0; g < groups.size(); ++g) {
        const std::string prefix = "param_groups." + std::to_string(g) + ".";
        const Tensor* saved = groups[g].params;
        if (saved == nullptr) throw ValueError(who + ": missing '" + prefix + "params'");
        std::vector<std::int64_t> expected;
        for (std::size_t i = group_begin_[g]; i < group_end(g); ++i) expected.push_back(static_cast<std::int64_t>(i));
        if (!saved->defined() || saved->dtype() != DType::Int64 || saved->dim() != 1 ||
            saved->to_vector<std::int64_t>() != expected)
            throw ValueError(who + ": '" + prefix + "params' holds " +
                             (saved->defined() ? shape_str(saved->shape()) + " " + dtype_name(saved->dtype())
                                               : std::string("no")) +
                             " indices; group " + std::to_string(g) + " of this " + name_ + " has " +
                             std::to_string(expected.size()) + " parameters starting at index " +
                             std::to_string(group_begin_[g]) + " (the optimizer must be built with the same groups)");
        std::vector<std::string> names;
        for (const OptionRef& ref : group_option_refs(g)) {
            names.push_back(ref.name);
            if (!groups[g].options.count(ref.name)) throw ValueError(who + ": missing '" + prefix + ref.name + "'");
        }
        for (const auto& [option, value] : groups[g].options)
            if (std::find(names.begin(), names.end(), option) == names.end())
                throw ValueError(who + ": unknown option '" + prefix + option + "' (" + name_ + " has " + join(names) +
                                 ")");
    }

    // 3. Apply the options tentatively, so that validation sees them; always undone below.
    std::vector<std::vector<double>> previous(groups.size());
    auto restore = [&] {
        for (std::size_t g = 0; g < previous.size(); ++g) {
            std::size_t k = 0;
            for (const OptionRef& ref : group_option_refs(g)) {
                if (k >= previous[g].size()) break;
                const double v = previous[g][k++];
                if (ref.number) *ref.number = v; else *ref.flag = v != 0.0;
            }
        }
    };
    try {
        for (std::size_t g = 0; g < groups.size(); ++g) {
            for (const OptionRef& ref : group_option_refs(g)) {
                const double v = groups[g].options.at(ref.name);
                previous[g].push_back(ref.number ? *ref.number : (*ref.flag ? 1.0 : 0.0));
                if (ref.number) {
                    *ref.number = v;
                } else {
                    if (v != 0.0 && v != 1.0)
                        throw ValueError(who + ": 'param_groups." + std::to_string(g) + "." + ref.name +
                                         "' is a flag and must be 0 or 1, got " + detail::number(v));
                    *ref.flag = v != 0.0;
                }
            }
            try {
                check_group_options(g);
            } catch (Error& e) {
                e.add_context(who + ": 'param_groups." + std::to_string(g) + "'");
                throw;
            }
        }
        // 4. Each parameter's state: a step count and every buffer its group's options need.
        for (const auto& [i, st] : states) {
            const std::string prefix = "state." + std::to_string(i) + ".";
            if (!st.step) throw ValueError(who + ": '" + prefix + "step' is missing");
            std::size_t g = 0;
            while (g + 1 < group_begin_.size() && group_begin_[g + 1] <= i) ++g;
            for (const std::string& b : required_buffers(g)) {
                const bool present = std::any_of(st.buffers.begin(), st.buffers.end(),
                                                 [&](const auto& e) { return e.first == b; });
                if (!present)
                    throw ValueError(who + ": '" + prefix + b + "' is missing (parameter " + std::to_string(i) +
                                     " of group " + std::to_string(g) + " has state, and its options need " +
                                     join(required_buffers(g)) + ")");
            }
        }
    } catch (...) {
        restore();
        throw;
    }
    restore();
    return plan;
}

void Optimizer::check_state_dict(const StateDict& dict) { plan_load(dict); }

void Optimizer::load_state_dict(const StateDict& dict) {
    const LoadPlan plan = plan_load(dict);
    // Commit: the options, then the states as copies in the parameter's dtype, contiguous.
    NoGradGuard guard;
    for (std::size_t g = 0; g < plan.groups.size(); ++g) {
        for (const OptionRef& ref : group_option_refs(g)) {
            const double v = plan.groups[g].options.at(ref.name);
            if (ref.number) *ref.number = v; else *ref.flag = v != 0.0;
        }
        initial_lr_[g] = plan.groups[g].initial_lr;
    }
    for (std::size_t i = 0; i < states_.size(); ++i) {
        auto it = plan.states.find(i);
        if (it == plan.states.end()) {
            states_[i].reset();
            continue;
        }
        auto st = std::make_unique<ParamState>();
        st->step = *it->second.step;
        for (const auto& [buffer, t] : it->second.buffers)
            st->buffers.emplace_back(buffer, t.detach().to(params_[i].dtype()).clone());
        states_[i] = std::move(st);
    }
}

}  // namespace graft::optim
