// graft/nn/module.hpp — the Module base class: parameters, buffers, submodules, state dicts,
// train/eval, freezing and deep copies. Names follow torch.nn.Module.
//
//   struct Net : nn::Cloneable<Net> {
//       Net(int in, int out) : in_(in), out_(out) { reset(); }
//       void reset() override {            // builds everything; clone() calls it again
//           fc1 = register_module("fc1", nn::Linear(in_, 64));
//           fc2 = register_module("fc2", nn::Linear(64, out_));
//       }
//       Tensor forward(const Tensor& x) override { return fc2->forward(relu(fc1->forward(x))); }
//       int in_, out_;
//       std::shared_ptr<nn::Linear> fc1, fc2;
//   };
//   Net net(784, 10);
//   net.named_parameters();   // "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"
//   net.freeze("fc1.*");      // glob over parameter names
//   auto report = net.load_state_dict(sd, {.strict = false});
//   // a pretrained 10-class dict into a 5-class twin: the head is freshly initialised
//   net.load_state_dict(sd, {.mismatch = nn::MismatchPolicy::Reinit, .strip_prefix = "module."});
//
// A parameter's name is its path through the modules, so names equal PyTorch's state_dict
// keys by construction when the child names match.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "graft/random.hpp"
#include "graft/state_dict.hpp"
#include "graft/tensor.hpp"

namespace graft::nn {

/// What load_state_dict found besides the tensors it loaded.
struct LoadReport {
    struct Mismatch {
        std::string name;
        Shape expected;  // the model's
        Shape got;       // the dict's
    };
    std::vector<std::string> missing;     // in the model, not in the dict
    std::vector<std::string> unexpected;  // in the dict, not in the model
    std::vector<Mismatch> mismatched;     // in both, shapes differ (not loaded; fresh under Reinit)
    std::vector<std::string> loaded;

    bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
    /// One line per problem; "ok (N tensors loaded)" when there is none.
    std::string to_string() const;
};

/// What load_state_dict does with a tensor present in both the model and the dict under
/// different shapes.
enum class MismatchPolicy {
    /// A mismatch is a problem like a missing key: strict throws, non-strict reports it and
    /// leaves the model's tensor as it is.
    Error,
    /// Reported in LoadReport::mismatched, the model's tensor left as it is; never an error,
    /// even under strict (which still applies to missing and unexpected keys).
    Skip,
    /// Like Skip, but the model's tensor gets a fresh value: the one the owning layer's reset()
    /// gives it (Linear/Conv2d kaiming-uniform weight and uniform bias, BatchNorm ones/zeros and
    /// reset running statistics, …), drawn from the global generator. The owning layer must be an
    /// nn::Cloneable (every built-in layer is); otherwise load_state_dict throws before loading.
    Reinit,
};

/// How load_state_dict matches and loads. Use designated initializers in this order:
///   {.strict = true, .mismatch = MismatchPolicy::Skip, .rename = fn, .strip_prefix = "module.", .add_prefix = ""}
struct LoadOptions {
    /// Any missing, unexpected or (under MismatchPolicy::Error) mismatched key is an error
    /// (ValueError listing all of them), and then nothing is loaded.
    bool strict = true;
    MismatchPolicy mismatch = MismatchPolicy::Error;
    /// Renaming of the dict's keys before they are matched with the model's names, in this order:
    /// `rename` (nullopt drops the key: it is neither loaded nor reported), then `strip_prefix`
    /// (removed from keys that start with it; other keys are kept as they are), then `add_prefix`.
    /// Two keys renamed to the same name are a ValueError. The report uses the renamed names.
    std::function<std::optional<std::string>(const std::string&)> rename = {};
    std::string strip_prefix = {};
    std::string add_prefix = {};
};

/// The dict with options.rename, strip_prefix and add_prefix applied to its keys, as
/// load_state_dict applies them (a key renamed to nullopt is left out); ValueError when two keys
/// get the same name. For loaders that rework a dict after the user's renaming.
StateDict renamed_state_dict(const StateDict& dict, const LoadOptions& options);

struct FreezeOptions {
    /// Keep BatchNorm layers whose parameters are all frozen in eval mode (running statistics
    /// untouched, even after train()). Off: they keep following train()/eval().
    bool batchnorm_eval = false;
};

class Module {
public:
    Module() = default;
    virtual ~Module() = default;
    Module(const Module&) = default;
    Module(Module&&) = default;
    Module& operator=(const Module&) = default;
    Module& operator=(Module&&) = default;

    /// Type name used in summaries and errors ("Linear").
    virtual std::string type_name() const { return "Module"; }
    /// The configuration, as PyTorch's extra_repr ("in_features=784, out_features=10, bias=True").
    virtual std::string extra_repr() const { return ""; }
    /// PyTorch's repr: "Linear(in_features=784, out_features=10, bias=True)"; a module with children
    /// lists each on its own indented line as "(name): repr".
    std::string repr() const;

    /// Single-tensor forward. Modules with another signature define their own overloads;
    /// the default throws an Error naming the module type.
    virtual Tensor forward(const Tensor& x);
    Tensor operator()(const Tensor& x) { return forward(x); }

    // ---- registration --------------------------------------------------------------------
    /// Registers a parameter (requires_grad is set unless `requires_grad` is false) and returns it.
    Tensor register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
    /// Registers a buffer (running statistics, …); persistent buffers appear in state_dict().
    Tensor register_buffer(const std::string& name, Tensor t, bool persistent = true);
    /// Registers a submodule given by value (moved into shared ownership) and returns it.
    template <class M>
        requires std::is_base_of_v<Module, std::remove_cvref_t<M>>
    std::shared_ptr<std::remove_cvref_t<M>> register_module(const std::string& name, M&& module) {
        auto p = std::make_shared<std::remove_cvref_t<M>>(std::forward<M>(module));
        add_child(name, p);
        return p;
    }
    /// Registers a submodule that is already shared.
    template <class M>
        requires std::is_base_of_v<Module, M>
    std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
        add_child(name, module);
        return module;
    }

    // ---- traversal ------------------------------------------------------------------------
    /// Parameters under their dotted names: own first, then each child's, recursively.
    std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
    std::vector<Tensor> parameters(bool recurse = true) const;
    std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
    std::vector<Tensor> buffers(bool recurse = true) const;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }
    std::vector<std::shared_ptr<Module>> children() const;
    /// This module ("") and every descendant, pre-order, under dotted paths.
    std::vector<std::pair<std::string, Module*>> named_modules();
    /// The descendant at a dotted path ("features.0"); IndexError naming the missing part.
    std::shared_ptr<Module> submodule(const std::string& path) const;
    /// The own parameter or buffer under `name`, or nullptr.
    Tensor* find_tensor(const std::string& name);

    // ---- modes ------------------------------------------------------------------------------
    /// Sets training mode recursively (modules pinned in eval by freeze stay in eval).
    Module& train(bool on = true);
    Module& eval() { return train(false); }
    bool is_training() const { return training_; }
    /// Pins this module in eval mode: train() no longer switches it (used for frozen BatchNorm).
    void set_eval_pinned(bool pinned);
    bool is_eval_pinned() const { return eval_pinned_; }
    /// True for layers with running statistics (BatchNorm).
    virtual bool has_running_stats() const { return false; }

    // ---- state ------------------------------------------------------------------------------
    /// Parameters and persistent buffers under PyTorch's dotted names, sharing storage with the model.
    StateDict state_dict() const;
    /// Copies matching tensors into the model (converting dtype, never changing shapes); the dict's
    /// keys are renamed first and shape mismatches handled as `options` says. A one-element
    /// tensor loads into a 0-d one and a 0-d one into a [1] one, as in PyTorch. ValueError naming
    /// the key for an undefined tensor in the dict (or in the model).
    LoadReport load_state_dict(const StateDict& dict, const LoadOptions& options = {});

    // ---- structure ----------------------------------------------------------------------------
    /// Swaps the submodule at a dotted path ("classifier.2") for `module`; returns the new one.
    /// A member pointer a custom module holds to the old child is not updated: assign the result.
    template <class M>
        requires std::is_base_of_v<Module, std::remove_cvref_t<M>>
    std::shared_ptr<std::remove_cvref_t<M>> replace(const std::string& path, M&& module) {
        auto p = std::make_shared<std::remove_cvref_t<M>>(std::forward<M>(module));
        replace_child(path, p);
        return p;
    }
    void replace_child(const std::string& path, std::shared_ptr<Module> module);

    /// A deep copy: new parameters and buffers with the same values, flags and modes.
    /// Supported by every built-in module and by user modules derived from nn::Cloneable.
    virtual std::shared_ptr<Module> clone() const;
    /// A new module with this one's configuration and freshly initialised parameters and buffers,
    /// as its constructor builds them (drawing from the global generator). Supported by the same
    /// modules as clone(); used by load_state_dict's MismatchPolicy::Reinit.
    virtual std::shared_ptr<Module> fresh_copy() const;

    // ---- freezing -----------------------------------------------------------------------------
    /// requires_grad = false on every parameter.
    Module& freeze(const FreezeOptions& options = {});
    /// requires_grad = true on every parameter (and un-pins BatchNorm).
    Module& unfreeze();
    /// Freezes the parameters whose dotted names match a glob ("features.*", "*.bias");
    /// ValueError listing the parameter names when nothing matches.
    Module& freeze(const std::string& pattern, const FreezeOptions& options = {});
    Module& unfreeze(const std::string& pattern);
    /// Parameters with requires_grad, in named_parameters() order.
    std::vector<Tensor> trainable_parameters() const;
    /// Parameters whose dotted names match a glob; ValueError when nothing matches.
    std::vector<Tensor> parameters_matching(const std::string& pattern) const;
    /// A printable table: name, shape, parameter count, trainable/frozen, and totals.
    std::string summary() const;
    /// Number of parameter elements (all, or only trainable ones).
    std::int64_t parameter_count(bool trainable_only = false) const;

protected:
    /// Drops every registration (used by Cloneable before reset()).
    void clear_registrations();
    /// Copies values, requires_grad flags and modes from a module of identical structure.
    void copy_state_from(const Module& other);

private:
    void add_child(const std::string& name, std::shared_ptr<Module> module);
    void check_new_name(const std::string& name, const char* what) const;
    void apply_pins(const FreezeOptions& options);

    struct Slot {
        std::string name;
        Tensor tensor;
        bool persistent = true;
    };
    std::vector<Slot> parameters_;
    std::vector<Slot> buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
    bool training_ = true;
    bool eval_pinned_ = false;

};

/// Base for modules that can be deep-copied: the derived class builds its parameters,
/// buffers and submodules in reset(), which clone() runs on a copy before copying the values.
template <class Derived>
class Cloneable : public Module {
public:
    /// (Re)creates and registers every parameter, buffer and submodule.
    virtual void reset() = 0;

    std::shared_ptr<Module> clone() const override {
        auto copy = std::make_shared<Derived>(static_cast<const Derived&>(*this));
        copy->clear_registrations();
        // reset() initialises what it builds; a copy must not advance the global random stream.
        const Generator::State rng = default_generator().state();
        copy->reset();
        default_generator().set_state(rng);
        copy->copy_state_from(*this);
        return copy;
    }

    std::shared_ptr<Module> fresh_copy() const override {
        auto copy = std::make_shared<Derived>(static_cast<const Derived&>(*this));
        copy->clear_registrations();
        copy->reset();
        return copy;
    }
};

/// Typed deep copy: `auto twin = nn::clone(model);`
template <class M>
std::shared_ptr<M> clone(const M& module) {
    return std::static_pointer_cast<M>(module.clone());
}

/// Shell-style glob over dotted names: '*' any run of characters (dots included), '?' one character.
bool glob_match(const std::string& pattern, const std::string& name);

}  // namespace graft::nn
