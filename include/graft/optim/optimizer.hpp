// graft/optim/optimizer.hpp — the Optimizer base: parameter groups, lazily created per-parameter
// state, zero_grad, and state dicts for exact resumption. Names follow torch.optim.
//
//   optim::AdamW opt(model.trainable_parameters(), {.lr = 1e-3, .weight_decay = 0.01});
//   // discriminative learning rates, one group per depth, each with its own options:
//   optim::AdamW opt({{model.parameters_matching("0.*"), {.lr = 1e-4}},
//                     {model.parameters_matching("2.*"), {.lr = 1e-3}}});
//   opt.zero_grad(); loss.backward(); opt.step();
//   StateDict ckpt = opt.state_dict();          // later: opt.load_state_dict(ckpt)
//
// Only parameters that have a gradient and require grad are updated at a step. A frozen
// parameter is skipped and gets no state; its state (moments, step count) is created at the
// first step that sees a gradient for it, so unfreezing later just works.
//
// A group's options are complete: {.lr = 1e-4} means lr 1e-4 and every other option at its
// default. The state dict is a flat StateDict of tensors, ready for safetensors:
//   state.<i>.step, state.<i>.<buffer>   per parameter i that has state (i counts over the
//                                        groups in order, as torch does), buffers cloned
//   param_groups.<g>.<option>            0-d float64 (booleans as 0/1), e.g. lr, betas.0
//   param_groups.<g>.initial_lr          when a scheduler has set it
//   param_groups.<g>.params              int64 [n]: the indices i of the group's parameters
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "graft/state_dict.hpp"
#include "graft/tensor.hpp"

namespace graft::optim {

namespace detail {
class ParamUpdate;  // src/optim/param_update.hpp
}

/// Parameters sharing one set of options: `{params, {.lr = 1e-4}}`.
template <class Options>
struct ParamGroup {
    std::vector<Tensor> params;
    Options options;
};

/// One hyper-parameter as it appears in the state dict (booleans are stored as 0/1).
struct OptionRef {
    const char* name;
    double* number;  ///< set for numeric options
    bool* flag;      ///< set for boolean options
};

/// A parameter's optimizer state: how many updates it has had and its named buffers
/// (exp_avg, exp_avg_sq, momentum_buffer, …), each shaped like the parameter.
struct ParamState {
    std::int64_t step = 0;
    std::vector<std::pair<std::string, Tensor>> buffers;

    /// The buffer under `name`, or nullptr.
    const Tensor* find(const std::string& name) const;
    Tensor* find(const std::string& name);
};

class Optimizer {
public:
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    /// "SGD", "Adam", "AdamW", "RMSprop".
    const char* name() const { return name_; }

    /// One update of every parameter that requires grad and has a gradient.
    virtual void step() = 0;
    /// Sets every parameter's gradient to none (an undefined tensor).
    void zero_grad();

    std::size_t num_param_groups() const { return group_begin_.size(); }
    /// The parameters of group g, in order.
    std::vector<Tensor> params(std::size_t group) const;
    /// Every parameter, over the groups in order (index i of the state dict).
    const std::vector<Tensor>& parameters() const { return params_; }

    /// Learning rate of a group (what schedulers read and write).
    virtual double lr(std::size_t group) const = 0;
    virtual void set_lr(std::size_t group, double lr) = 0;
    /// The momentum a scheduler may cycle (SGD/RMSprop momentum, Adam's betas[0]).
    virtual double momentum(std::size_t group) const = 0;
    virtual void set_momentum(std::size_t group, double momentum) = 0;
    /// The lr a group started from, recorded by the first scheduler attached (torch's initial_lr).
    std::optional<double> initial_lr(std::size_t group) const;
    void set_initial_lr(std::size_t group, double lr);

    /// The state of `param` (nullptr until its first update); ValueError if it is not optimized here.
    const ParamState* state(const Tensor& param) const;
    /// How many parameters have state.
    std::size_t num_states() const;

    /// Options, initial lrs, group membership and every parameter's state (copies).
    StateDict state_dict() const;
    /// Restores what state_dict() saved, for an optimizer built with the same groups. Everything is
    /// validated first (group sizes, option names and values, buffer names and shapes, steps that
    /// are integers in [0, 2^53], finite options and initial_lr); on error nothing changes and the
    /// ValueError/ShapeError names the offending key and value.
    void load_state_dict(const StateDict& dict);
    /// Throws what load_state_dict(dict) would throw, changing nothing. Not const: the options are
    /// set tentatively while the optimizer's own rules check them, and restored before it returns.
    void check_state_dict(const StateDict& dict);

protected:
    explicit Optimizer(const char* name) : name_(name) {}

    /// IndexError naming `what` unless group < num_param_groups().
    void check_group(std::size_t group, const char* what) const;
    /// Validates and appends a group's parameters (floating-point leaves, none seen before).
    void add_params(std::vector<Tensor> params);
    /// Group g's parameters occupy [group_begin(g), group_end(g)) in parameters().
    std::size_t group_begin(std::size_t g) const { return group_begin_[g]; }
    std::size_t group_end(std::size_t g) const;
    /// The state of parameter i, created empty on first use.
    ParamState& state_at(std::size_t i);

    /// The named hyper-parameters of group g (for the state dict).
    virtual std::vector<OptionRef> group_option_refs(std::size_t group) = 0;
    /// Throws ValueError when group g's options are invalid.
    virtual void check_group_options(std::size_t group) const = 0;
    /// The buffers a parameter of group g must have once it has state, given the group's options.
    virtual std::vector<std::string> required_buffers(std::size_t group) const = 0;
    /// Every buffer name this optimizer can create.
    virtual std::vector<std::string> known_buffers() const = 0;

    /// One step's loop: for every parameter that requires grad and has a gradient, checks it (a
    /// detail::ParamUpdate, made before any state is, so a refused parameter gets none) and calls
    /// update(group, u, state, param). The update commits u.
    void update_each(const std::function<void(std::size_t, detail::ParamUpdate&, ParamState&, const Tensor&)>& update);

    /// Calls fn(group, index, param, grad) for every parameter that requires grad and has a gradient.
    template <class F>
    void for_each_trainable(F&& fn) {
        for (std::size_t g = 0; g < group_begin_.size(); ++g)
            for (std::size_t i = group_begin_[g]; i < group_end(g); ++i) {
                const Tensor& p = params_[i];
                if (!p.requires_grad()) continue;
                const Tensor grad = p.grad();
                if (grad.defined()) fn(g, i, p, grad);
            }
    }

private:
    struct LoadPlan;
    /// load_state_dict's validation: the dict sorted into per-parameter states and per-group settings.
    LoadPlan plan_load(const StateDict& dict);

    const char* name_;
    std::vector<Tensor> params_;
    std::vector<std::size_t> group_begin_;
    std::vector<std::optional<double>> initial_lr_;
    std::vector<std::unique_ptr<ParamState>> states_;
    std::unordered_map<const TensorImpl*, std::size_t> index_;  // parameter → its index in params_
};

/// An Optimizer whose groups carry an `Options` struct with at least `double lr`. Next to each
/// Options struct live two functions this template finds by argument-dependent lookup:
///   void validate(const Options&, const char* optimizer_name);   // ValueError when invalid
///   std::vector<OptionRef> option_refs(Options&);               // its fields, by state-dict name
template <class Options>
class OptimizerWith : public Optimizer {
public:
    using Group = ParamGroup<Options>;

    /// Adds a group; ValueError for no parameters, a parameter already optimized, bad options.
    void add_param_group(std::vector<Tensor> params, const Options& options) {
        if (params.empty())
            throw ValueError(std::string(name()) + ": param group " + std::to_string(num_param_groups()) +
                             " has no parameters");
        validate(options, name());
        add_params(std::move(params));
        options_.push_back(options);
    }

    /// Group g's options; they may be changed between steps.
    Options& options(std::size_t group) {
        check_group(group, "options");
        return options_[group];
    }
    const Options& options(std::size_t group) const {
        check_group(group, "options");
        return options_[group];
    }

    double lr(std::size_t group) const override { return options(group).lr; }
    void set_lr(std::size_t group, double lr) override { options(group).lr = lr; }

protected:
    OptimizerWith(const char* name, std::vector<Tensor> params, const Options& options) : Optimizer(name) {
        if (params.empty())
            throw ValueError(std::string(name) + ": got no parameters to optimize (an empty list; are they all frozen?)");
        add_param_group(std::move(params), options);
    }
    OptimizerWith(const char* name, std::vector<Group> groups) : Optimizer(name) {
        if (groups.empty()) throw ValueError(std::string(name) + ": got no parameter groups");
        for (Group& g : groups) add_param_group(std::move(g.params), g.options);
    }

    std::vector<OptionRef> group_option_refs(std::size_t group) override { return option_refs(options(group)); }
    void check_group_options(std::size_t group) const override { validate(options(group), name()); }

    std::vector<Options> options_;
};

}  // namespace graft::optim
