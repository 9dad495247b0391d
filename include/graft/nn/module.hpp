// graft/nn/module.hpp — the Module base class: parameters, buffers, submodules, state dicts,
// train/eval, freezing and deep copies; nn::Child, the member that holds a custom module's child.
// Names follow torch.nn.Module.
//
//   struct Net : nn::Cloneable<Net> {
//       Net(int in, int out) : in_(in), out_(out) { reset(); }
//       void reset() override {            // builds everything; clone() calls it again
//           register_module("fc1", &Net::fc1, nn::Linear(in_, 64));
//           register_module("fc2", &Net::fc2, nn::Linear(64, out_));
//       }
//       Tensor forward(const Tensor& x) override { return fc2(relu(fc1(x))); }
//       int in_, out_;
//       nn::Child<nn::Linear> fc1, fc2;
//   };
//   Net net(784, 10);
//   net.named_parameters();   // "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"
//   net.fc2 = nn::Linear(64, 5);        // a new head: parameters(), state_dict() and forward all see it
//   net.freeze_except({"fc2.*"});       // glob over parameter names
//   auto report = net.load_state_dict(sd, {.strict = false});
//   // a pretrained 10-class dict into a 5-class twin: the head is freshly initialised
//   net.load_state_dict(sd, {.mismatch = nn::MismatchPolicy::Reinit, .strip_prefix = "module."});
//
// A parameter's name is its path through the modules, so names equal PyTorch's state_dict
// keys by construction when the child names match. An Error thrown inside a child's forward
// called through nn::Child or a container names that path too ("fc2 (Linear): linear: …").
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "graft/error.hpp"
#include "graft/random.hpp"
#include "graft/state_dict.hpp"
#include "graft/tensor.hpp"

namespace graft::nn {

class Module;
template <class T>
class Child;

namespace detail {
/// Where a parent keeps one child: the pointer, the name it is registered under, and whether it
/// was assigned after registration. A child registered by value lives in the parent's registry;
/// one registered with a member holder lives in that nn::Child member, which the registry reads.
class ChildSlot {
public:
    /// The held module, of any type (a LoRA wrapper in a Child<Linear>, say).
    const std::shared_ptr<Module>& module() const { return module_; }
    /// The name it is registered under; empty while unregistered.
    const std::string& name() const { return name_; }
    explicit operator bool() const { return static_cast<bool>(module_); }

protected:
    /// Puts `module` in a registered slot; Error when the slot is not registered, ValueError when null.
    void set(std::shared_ptr<Module> module);
    /// `module_`, or an Error naming the slot when it is empty.
    Module& held() const;

    std::shared_ptr<Module> module_;
    std::string name_;
    /// Set when the slot gets a module after registration: clone() then copies that module rather
    /// than the one the parent's reset() builds.
    bool reassigned_ = false;

    friend class graft::nn::Module;
};
}  // namespace detail

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
    /// reset running statistics, …), drawn from the default generator. The owning layer must be an
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

/// How Module::to converts. Use designated initializers: `model.to(DType::BFloat16, {.frozen_only = true})`.
struct ToOptions {
    /// Convert only frozen parameters (requires_grad false) and leave trainable ones as they are.
    /// Without it, converting a trainable parameter to bf16 is an error (bf16 parameters cannot train).
    bool frozen_only = false;
};

class Module {
public:
    Module() = default;
    virtual ~Module() = default;

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
    /// Registers this module's member holder (`nn::Child<T> fc;` in class D) under `name` and puts
    /// `module` in it. The registry reads the member itself, so a later assignment
    /// (`net.fc = nn::Linear(512, 5)`), replace("fc", …) and apply_lora all change the one child
    /// that forward(), parameters() and state_dict() see. ValueError when the member is already
    /// registered or the name is taken.
    template <class D, class T, class M>
        requires std::is_base_of_v<Module, D> && std::is_base_of_v<T, std::remove_cvref_t<M>>
    std::shared_ptr<std::remove_cvref_t<M>> register_module(const std::string& name, Child<T> D::*member,
                                                            M&& module) {
        auto p = std::make_shared<std::remove_cvref_t<M>>(std::forward<M>(module));
        add_member_child(name, member, p);
        return p;
    }
    template <class D, class T, class M>
        requires std::is_base_of_v<Module, D> && std::is_base_of_v<T, M>
    std::shared_ptr<M> register_module(const std::string& name, Child<T> D::*member, std::shared_ptr<M> module) {
        add_member_child(name, member, module);
        return module;
    }

    // ---- traversal ------------------------------------------------------------------------
    /// Parameters under their dotted names: own first, then each child's, recursively.
    std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
    std::vector<Tensor> parameters(bool recurse = true) const;
    std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
    std::vector<Tensor> buffers(bool recurse = true) const;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
    std::vector<std::shared_ptr<Module>> children() const;
    std::size_t num_children() const { return children_.size(); }
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
    /// the key for an undefined tensor in the dict (or in the model). Every value whose conversion
    /// can fail is converted before the first write: one its destination cannot hold (a NaN or
    /// out-of-range float into an integer buffer such as num_batches_tracked) is a ValueError
    /// naming the key, and the model is left as it was. Conversions that cannot fail (bf16/f16
    /// into float32) are done tensor by tensor as each is written, so a dict of bf16 views of a
    /// file loads with no float32 copy of it. The dict may hold the model's own tensors: each value is read before any
    /// is overwritten (a dict that swaps two layers' weights swaps them).
    LoadReport load_state_dict(const StateDict& dict, const LoadOptions& options = {});

    // ---- dtype ---------------------------------------------------------------------------------
    /// Converts parameters in place, so every handle to one (a layer's `weight` member, a tied
    /// output head, a LoRA wrapper's base) sees the new dtype; buffers are left as they are.
    ///  - DType::BFloat16: the float32 weights that their layers read in place as bf16
    ///    (bf16_weight_names(): Linear, Conv1D, Conv2d, Embedding and LoRA base weights), half the
    ///    bytes; biases, norm weights and every other parameter stay float32. A bf16 parameter is
    ///    frozen for good: its ops compute no weight gradient, an optimizer refuses it, and
    ///    unfreezing it is a ValueError until it is converted back. With options.frozen_only only
    ///    frozen weights are converted; without it a trainable one is a ValueError naming it
    ///    (nothing is converted). The float32 buffers it frees go back to the system, not to the
    ///    memory cache (graft/memory.hpp; the cache's other buffers are released with them).
    ///  - DType::Float32: every bf16/f16 parameter back to float32 (exact values).
    /// ValueError for any other dtype. state_dict() gives the parameters in their dtype (a bf16
    /// weight saves as BF16); load_state_dict converts into it.
    Module& to(DType dtype, const ToOptions& options = {});
    /// Names of this module's own parameters that its forward reads as bf16 when converted by
    /// to(DType::BFloat16): "weight" for Linear, Conv1D, Conv2d, Embedding and LoraLinear; none here.
    virtual std::vector<std::string> bf16_weight_names() const { return {}; }

    // ---- structure ----------------------------------------------------------------------------
    /// Swaps the submodule at a dotted path ("classifier.2") for `module`; returns the new one.
    /// A child held by an nn::Child member is swapped in that member (forward() uses the new one);
    /// a plain std::shared_ptr member a custom module keeps to the old child is not updated.
    template <class M>
        requires std::is_base_of_v<Module, std::remove_cvref_t<M>>
    std::shared_ptr<std::remove_cvref_t<M>> replace(const std::string& path, M&& module) {
        auto p = std::make_shared<std::remove_cvref_t<M>>(std::forward<M>(module));
        replace_child(path, p);
        return p;
    }
    void replace_child(const std::string& path, std::shared_ptr<Module> module);

    /// A deep copy of the current tree: new parameters and buffers with the same values, flags
    /// and modes; a child replaced since construction (a new head, a LoRA wrapper) is copied as it
    /// is. Supported by every built-in module and by user modules derived from nn::Cloneable.
    virtual std::shared_ptr<Module> clone() const;
    /// A new module with this one's configuration and freshly initialised parameters and buffers,
    /// as its constructor builds them (drawing from the default generator). Supported by the same
    /// modules as clone(); used by load_state_dict's MismatchPolicy::Reinit.
    virtual std::shared_ptr<Module> fresh_copy() const;

    // ---- freezing -----------------------------------------------------------------------------
    /// requires_grad = false on every parameter.
    Module& freeze(const FreezeOptions& options = {});
    /// requires_grad = true on every parameter (and un-pins BatchNorm). The unfreezing calls are a
    /// ValueError naming the parameters, with nothing changed, when one they would make trainable
    /// is stored in bf16 (to(DType::BFloat16)): convert it back with to(DType::Float32) first.
    Module& unfreeze();
    /// Freezes the parameters whose dotted names match a glob ("features.*", "*.bias");
    /// ValueError listing the parameter names when nothing matches.
    Module& freeze(const std::string& pattern, const FreezeOptions& options = {});
    Module& unfreeze(const std::string& pattern);
    /// Freezes every parameter except those matching one of the globs, which become trainable
    /// (`freeze_except({"layer4.*", "fc.*"})`); BatchNorm pins as freeze() and unfreeze() set them.
    /// ValueError, with nothing changed, when a pattern matches no parameter. An empty list
    /// freezes everything.
    Module& freeze_except(const std::vector<std::string>& patterns, const FreezeOptions& options = {});
    /// Parameters with requires_grad, in named_parameters() order.
    std::vector<Tensor> trainable_parameters() const;
    /// Parameters whose dotted names match a glob; ValueError when nothing matches.
    std::vector<Tensor> parameters_matching(const std::string& pattern) const;
    /// A printable table: name, shape, parameter count, trainable/frozen, and totals.
    std::string summary() const;
    /// Number of parameter elements (all, or only trainable ones).
    std::int64_t parameter_count(bool trainable_only = false) const;

protected:
    // Copies are shallow (children shared) and only whole derived objects are copied, which
    // Cloneable::clone does: a Module-only copy would lose the members its registry reads.
    Module(const Module&) = default;
    Module(Module&&) = default;
    Module& operator=(const Module&) = default;
    Module& operator=(Module&&) = default;

    /// Drops every registration and empties the nn::Child members (used by Cloneable before reset()).
    void clear_registrations();
    /// Copies values, requires_grad flags and modes from `other`, of the structure this module's
    /// reset() builds; a child of `other` that was replaced, or differs from the rebuilt one, is
    /// cloned into the slot instead. Error when such a child sits in a slot a plain
    /// std::shared_ptr member also holds (the member would keep the rebuilt child).
    void copy_state_from(const Module& other);

private:
    struct ChildEntry {
        detail::ChildSlot own;                               // a child registered by value or pointer
        std::function<detail::ChildSlot&(Module&)> member;  // or the nn::Child member holding it
    };
    detail::ChildSlot& slot(std::size_t i);
    const detail::ChildSlot& slot(std::size_t i) const;
    /// The i-th child; Error naming the slot when an nn::Child member was emptied.
    Module& child(std::size_t i) const;

    void add_child(const std::string& name, std::shared_ptr<Module> module);
    template <class D, class T>
    void add_member_child(const std::string& name, Child<T> D::*member, std::shared_ptr<Module> module) {
        if (dynamic_cast<D*>(this) == nullptr)
            throw ValueError(type_name() + ": register_module(\"" + name +
                             "\", member, …) names a member of another class");
        add_member_child(name, [member](Module& m) -> detail::ChildSlot& { return static_cast<D&>(m).*member; },
                         std::move(module));
    }
    void add_member_child(const std::string& name, std::function<detail::ChildSlot&(Module&)> member,
                          std::shared_ptr<Module> module);
    void check_new_name(const std::string& name, const char* what) const;
    void apply_pins(const FreezeOptions& options);
    /// Un-pins every pinned BatchNorm that has a trainable parameter.
    void release_pins();

    struct Slot {
        std::string name;
        Tensor tensor;
        bool persistent = true;
    };
    std::vector<Slot> parameters_;
    std::vector<Slot> buffers_;
    std::vector<ChildEntry> children_;
    bool training_ = true;
    bool eval_pinned_ = false;
};

/// Runs `fn` (a call into `child`'s forward) and, when it throws an Error, puts the child's name
/// and type in front of the message ("conv1 (Conv2d): …"; enclosing calls add their names, giving
/// "layer2.0.conv1 (Conv2d): …"). nn::Child and the containers call children this way; a custom
/// module that calls a child otherwise (a ModuleList entry with extra arguments) can too.
template <class F>
decltype(auto) with_module_path(const std::string& name, const Module& child, F&& fn) {
    try {
        return std::forward<F>(fn)();
    } catch (Error& e) {
        e.add_module_path(name, child.type_name());
        throw;
    }
}

/// A child member of a custom module, as `self.fc = nn.Linear(…)` is in PyTorch: registered once
/// in the parent's constructor or reset() with `register_module("fc", &Net::fc, nn::Linear(…))`,
/// then called as `fc(x)` and assigned like a pointer. The parent's registry reads this member,
/// so the member is the child: after `net.fc = nn::Linear(512, 10)` (or a std::make_shared<…>),
/// forward(), parameters(), state_dict(), an optimizer built afterwards, replace(), apply_lora and
/// clone() all see the new module. A LoRA wrapper (or a replace() with another type) can sit in
/// a Child<Linear>: `fc(x)` calls whatever the slot holds; `fc->` needs a T and throws otherwise.
/// Copies are shallow, like a std::shared_ptr's.
template <class T>
class Child : public detail::ChildSlot {
public:
    Child() = default;
    Child(const Child&) = default;
    /// Takes `other`'s module; an unregistered holder (a new parent being copied) takes its name too.
    Child& operator=(const Child& other) {
        if (this == &other) return *this;
        if (name_.empty()) {
            name_ = other.name_;
            module_ = other.module_;
            reassigned_ = other.reassigned_;
        } else {
            set(other.module_);
        }
        return *this;
    }
    /// Puts a new module in the registered slot; Error when the holder is not registered yet.
    template <class U>
        requires std::is_base_of_v<T, U>
    Child& operator=(std::shared_ptr<U> module) {
        set(std::move(module));
        return *this;
    }
    template <class U>
        requires std::is_base_of_v<T, std::remove_cvref_t<U>>
    Child& operator=(U&& module) {
        set(std::make_shared<std::remove_cvref_t<U>>(std::forward<U>(module)));
        return *this;
    }

    /// The held module as a T; Error when empty or when it holds another type (a LoRA wrapper).
    T* get() const {
        Module& m = held();
        if (auto* typed = dynamic_cast<T*>(&m)) return typed;
        throw Error("nn::Child '" + name_ + "' holds a " + m.type_name() +
                    ", not the type it was declared with; call it as " + name_ + "(x), or use module()");
    }
    T* operator->() const { return get(); }
    T& operator*() const { return *get(); }
    /// The held module as a shared T (same checks as get()).
    std::shared_ptr<T> shared() const {
        get();
        return std::static_pointer_cast<T>(module_);
    }

    /// Single-tensor forward of whatever the slot holds (virtual: a LoRA wrapper's included);
    /// an Error it throws names the child ("fc (Linear): …").
    Tensor operator()(const Tensor& x) const {
        Module& m = held();
        return with_module_path(name_, m, [&] { return m.forward(x); });
    }
    /// T's forward with other arguments (`attn(h, kv)`), with the same error path.
    template <class... A>
        requires(!(sizeof...(A) == 1 && (std::is_same_v<std::remove_cvref_t<A>, Tensor> && ...)))
    decltype(auto) operator()(A&&... args) const {
        T* m = get();
        return with_module_path(name_, *m, [&]() -> decltype(auto) { return m->forward(std::forward<A>(args)...); });
    }
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
