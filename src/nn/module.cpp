// nn::Module: registration, traversal, modes, state dicts, structure edits, freezing, summary;
// the slot an nn::Child member or the registry holds a child in.
#include "graft/nn/module.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "graft/autograd.hpp"
#include "graft/memory.hpp"

namespace graft::nn {

bool glob_match(const std::string& pattern, const std::string& name) {
    // Iterative wildcard matching with backtracking to the last '*'.
    std::size_t p = 0, n = 0, star = std::string::npos, mark = 0;
    while (n < name.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
            ++p;
            ++n;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = n;
        } else if (star != std::string::npos) {
            p = star + 1;
            n = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

std::string LoadReport::to_string() const {
    if (ok()) return "ok (" + std::to_string(loaded.size()) + " tensors loaded)";
    std::ostringstream os;
    for (const auto& m : missing) os << "missing: " << m << "\n";
    for (const auto& u : unexpected) os << "unexpected: " << u << "\n";
    for (const auto& m : mismatched)
        os << "shape mismatch: " << m.name << ": model " << shape_str(m.expected) << ", dict " << shape_str(m.got)
           << "\n";
    std::string s = os.str();
    s.pop_back();
    return s;
}

// ---- child slots -------------------------------------------------------------------------------

namespace detail {

void ChildSlot::set(std::shared_ptr<Module> module) {
    if (name_.empty())
        throw Error(std::string("nn::Child: a ") + (module ? module->type_name() : "null module") +
                    " assigned to a child that is not registered; register it in the parent first with "
                    "register_module(name, &Parent::member, module), so that parameters() and state_dict() "
                    "include it");
    if (!module) throw ValueError("nn::Child '" + name_ + "': the new module is null");
    module_ = std::move(module);
    reassigned_ = true;
}

Module& ChildSlot::held() const {
    if (!module_)
        throw Error("nn::Child" + (name_.empty() ? std::string(" (not registered)") : " '" + name_ + "'") +
                    " holds no module");
    return *module_;
}

}  // namespace detail

detail::ChildSlot& Module::slot(std::size_t i) {
    ChildEntry& e = children_[i];
    return e.member ? e.member(*this) : e.own;
}

const detail::ChildSlot& Module::slot(std::size_t i) const { return const_cast<Module*>(this)->slot(i); }

Module& Module::child(std::size_t i) const {
    const detail::ChildSlot& s = slot(i);
    if (!s.module_) throw Error(type_name() + ": child '" + s.name_ + "' holds no module");
    return *s.module_;
}

std::string Module::repr() const {
    // Each child's repr is indented by two spaces after its first line, as torch's _addindent does.
    auto indented = [](const std::string& text) {
        std::string out;
        for (char c : text) {
            out += c;
            if (c == '\n') out += "  ";
        }
        return out;
    };
    std::vector<std::string> lines;
    const std::string extra = extra_repr();
    std::size_t start = 0;
    while (!extra.empty() && start <= extra.size()) {
        const std::size_t nl = extra.find('\n', start);
        lines.push_back(extra.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    const bool one_line = children_.empty() && lines.size() <= 1;
    for (std::size_t i = 0; i < children_.size(); ++i)
        lines.push_back("(" + slot(i).name_ + "): " + indented(child(i).repr()));
    if (one_line) return type_name() + "(" + extra + ")";
    std::string s = type_name() + "(";
    for (const auto& l : lines) s += "\n  " + l;
    return s + "\n)";
}

Tensor Module::forward(const Tensor&) {
    throw Error(type_name() + ": this module has no single-tensor forward()");
}

void Module::check_new_name(const std::string& name, const char* what) const {
    if (name.empty() || name.find('.') != std::string::npos)
        throw ValueError(type_name() + ": invalid " + what + " name '" + name + "' (must be non-empty, without '.')");
    auto taken = [&](const auto& v) {
        return std::any_of(v.begin(), v.end(), [&](const auto& s) { return s.name == name; });
    };
    bool child_taken = false;
    for (std::size_t i = 0; i < children_.size(); ++i) child_taken |= slot(i).name_ == name;
    if (taken(parameters_) || taken(buffers_) || child_taken)
        throw ValueError(type_name() + ": " + what + " name '" + name + "' is already registered");
}

Tensor Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
    check_new_name(name, "parameter");
    if (!t.defined()) throw ValueError(type_name() + ": parameter '" + name + "' is undefined");
    // A frozen weight may be held in a storage dtype (Module::to(DType::BFloat16)).
    if (!is_floating(t.dtype()) && !(is_storage_only(t.dtype()) && !requires_grad))
        throw DTypeError(type_name() + ": parameter '" + name + "' must be floating-point" +
                         (is_storage_only(t.dtype()) ? " to require grad" : "") + ", got " + dtype_name(t.dtype()));
    if (!t.is_leaf()) t = t.detach();
    t.requires_grad_(requires_grad);
    parameters_.push_back({name, t, true});
    return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t, bool persistent) {
    check_new_name(name, "buffer");
    buffers_.push_back({name, t, persistent});
    return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
    check_new_name(name, "submodule");
    if (!module) throw ValueError(type_name() + ": submodule '" + name + "' is null");
    ChildEntry e;
    e.own.module_ = std::move(module);
    e.own.name_ = name;
    children_.push_back(std::move(e));
}

void Module::add_member_child(const std::string& name, std::function<detail::ChildSlot&(Module&)> member,
                              std::shared_ptr<Module> module) {
    check_new_name(name, "submodule");
    if (!module) throw ValueError(type_name() + ": submodule '" + name + "' is null");
    detail::ChildSlot& target = member(*this);
    for (std::size_t i = 0; i < children_.size(); ++i)
        if (&slot(i) == &target)
            throw ValueError(type_name() + ": the member registered as '" + name + "' is already registered as '" +
                             target.name_ + "'");
    target.module_ = std::move(module);
    target.name_ = name;
    target.reassigned_ = false;
    ChildEntry e;
    e.member = std::move(member);
    children_.push_back(std::move(e));
}

namespace {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// The walk behind named_parameters and named_buffers: `own` (a module's slots of that kind) in
/// registration order, then, with `recurse`, each child's list from `of_child`, named "<child>.<name>".
template <class Slots>
NamedTensors own_then_children(const Module& m, const Slots& own, bool recurse,
                               NamedTensors (Module::*of_child)(bool) const) {
    NamedTensors out;
    for (const auto& s : own) out.emplace_back(s.name, s.tensor);
    if (recurse)
        for (const auto& [cname, c] : m.named_children())
            for (auto& [n, t] : ((*c).*of_child)(true)) out.emplace_back(cname + "." + n, t);
    return out;
}

/// The tensors of a named list, in its order.
std::vector<Tensor> tensors_of(const NamedTensors& named) {
    std::vector<Tensor> out;
    for (const auto& [n, t] : named) out.push_back(t);
    return out;
}

}  // namespace

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
    return own_then_children(*this, parameters_, recurse, &Module::named_parameters);
}

std::vector<Tensor> Module::parameters(bool recurse) const { return tensors_of(named_parameters(recurse)); }

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
    return own_then_children(*this, buffers_, recurse, &Module::named_buffers);
}

std::vector<Tensor> Module::buffers(bool recurse) const { return tensors_of(named_buffers(recurse)); }

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const {
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
    for (std::size_t i = 0; i < children_.size(); ++i) {
        child(i);  // throws for an emptied member
        out.emplace_back(slot(i).name_, slot(i).module_);
    }
    return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
    std::vector<std::shared_ptr<Module>> out;
    for (auto& [name, c] : named_children()) out.push_back(std::move(c));
    return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
    std::vector<std::pair<std::string, Module*>> out{{"", this}};
    for (std::size_t i = 0; i < children_.size(); ++i) {
        const std::string& cname = slot(i).name_;
        for (auto& [n, m] : child(i).named_modules()) out.emplace_back(n.empty() ? cname : cname + "." + n, m);
    }
    return out;
}

std::shared_ptr<Module> Module::submodule(const std::string& path) const {
    const Module* cur = this;
    std::shared_ptr<Module> found;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = path.find('.', start);
        const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        std::size_t i = 0;
        while (i < cur->children_.size() && cur->slot(i).name_ != part) ++i;
        if (i == cur->children_.size()) {
            std::string names;
            for (std::size_t j = 0; j < cur->children_.size(); ++j)
                names += (names.empty() ? "" : ", ") + cur->slot(j).name_;
            throw IndexError("submodule: no child '" + part + "' in '" + path + "' (" + cur->type_name() +
                             " has: " + (names.empty() ? "no children" : names) + ")");
        }
        cur->child(i);  // throws for an emptied member
        found = cur->slot(i).module_;
        cur = found.get();
        if (dot == std::string::npos) return found;
        start = dot + 1;
    }
}

Tensor* Module::find_tensor(const std::string& name) {
    for (auto& s : parameters_)
        if (s.name == name) return &s.tensor;
    for (auto& s : buffers_)
        if (s.name == name) return &s.tensor;
    return nullptr;
}

void Module::replace_child(const std::string& path, std::shared_ptr<Module> module) {
    if (!module) throw ValueError("replace: new module for '" + path + "' is null");
    const std::size_t dot = path.rfind('.');
    Module* parent = this;
    std::shared_ptr<Module> keep;
    if (dot != std::string::npos) {
        keep = submodule(path.substr(0, dot));
        parent = keep.get();
    }
    const std::string last = dot == std::string::npos ? path : path.substr(dot + 1);
    for (std::size_t i = 0; i < parent->children_.size(); ++i) {
        detail::ChildSlot& s = parent->slot(i);
        if (s.name_ == last) {
            module->train(parent->training_);
            s.set(std::move(module));
            return;
        }
    }
    submodule(path);  // throws the descriptive IndexError
}

Module& Module::train(bool on) {
    training_ = on && !eval_pinned_;
    for (std::size_t i = 0; i < children_.size(); ++i) child(i).train(on);
    return *this;
}

void Module::set_eval_pinned(bool pinned) {
    eval_pinned_ = pinned;
    if (pinned) training_ = false;
}

StateDict Module::state_dict() const {
    StateDict sd;
    for (const auto& s : parameters_) sd.insert(s.name, s.tensor.detach());
    for (const auto& s : buffers_)
        if (s.persistent && s.tensor.defined()) sd.insert(s.name, s.tensor.detach());
    for (std::size_t i = 0; i < children_.size(); ++i)
        for (const auto& [n, t] : child(i).state_dict()) sd.insert(slot(i).name_ + "." + n, t);
    return sd;
}

StateDict renamed_state_dict(const StateDict& dict, const LoadOptions& options) {
    if (!options.rename && options.strip_prefix.empty() && options.add_prefix.empty()) return dict;
    StateDict out;
    std::unordered_map<std::string, std::string> origin;  // new name → the dict's key
    for (const auto& [key, t] : dict) {
        std::string name = key;
        if (options.rename) {
            std::optional<std::string> r = options.rename(key);
            if (!r) continue;
            name = std::move(*r);
        }
        const std::string& strip = options.strip_prefix;
        if (!strip.empty() && name.compare(0, strip.size(), strip) == 0) name.erase(0, strip.size());
        name = options.add_prefix + name;
        if (auto it = origin.find(name); it != origin.end())
            throw ValueError("load_state_dict: dict keys '" + it->second + "' and '" + key +
                             "' are both renamed to '" + name + "'");
        origin.emplace(name, key);
        out.insert(name, t);
    }
    return out;
}

namespace {

/// One tensor load_state_dict writes: the model's tensor and the value it gets.
struct PendingCopy {
    std::string name;
    Tensor dst;
    Tensor value;
};

bool same_view(const Tensor& a, const Tensor& b) {
    return a.shares_storage(b) && a.offset() == b.offset() && a.shape() == b.shape() && a.strides() == b.strides() &&
           a.dtype() == b.dtype();
}

/// Whether copying a `from` value into a `to` tensor can fail: only floating values into an
/// integer or bool tensor (NaN, out of range). Every other conversion (bf16/f16/float64 into
/// float32, integers into floats) always succeeds and is left to the write itself.
bool conversion_can_fail(DType from, DType to) {
    const bool from_float = is_floating(from) || is_storage_only(from);
    const bool to_float = is_floating(to) || is_storage_only(to);
    return from_float && !to_float;
}

/// Makes every value ready to be copied before anything is written, so that a failure names its
/// key and leaves the model untouched: a value whose conversion can fail is converted now
/// (ValueError for one its destination cannot hold, a NaN into an int64 buffer say), and a value
/// sharing storage with a tensor that another copy overwrites (two layers' weights swapped) is
/// snapshotted first. Conversions that cannot fail (a bf16 file's weights into float32
/// parameters) happen in the write, one tensor at a time, so that loading a model needs no
/// converted copy of the whole dict. Copies of a tensor onto itself (a model's own state_dict)
/// are dropped.
void stage_copies(std::vector<PendingCopy>& copies) {
    std::erase_if(copies, [](const PendingCopy& c) { return same_view(c.dst, c.value); });
    std::unordered_set<const Storage*> written;
    for (const auto& c : copies) written.insert(c.dst.storage().get());
    for (auto& c : copies) {
        try {
            if (conversion_can_fail(c.value.dtype(), c.dst.dtype()))
                c.value = c.value.to(c.dst.dtype());
            else if (written.contains(c.value.storage().get()))
                c.value = c.value.clone();
        } catch (Error& e) {
            e.add_context("load_state_dict: '" + c.name + "'");
            throw;
        }
    }
}

}  // namespace

LoadReport Module::load_state_dict(const StateDict& original, const LoadOptions& options) {
    const StateDict dict = renamed_state_dict(original, options);
    LoadReport report;
    std::vector<PendingCopy> copies;
    std::vector<std::pair<std::string, Tensor>> reinit;  // (name, model tensor) under Reinit
    StateDict mine = state_dict();
    for (const auto& [name, target] : mine) {
        const Tensor* src = dict.find(name);
        if (src != nullptr && !src->defined())
            throw ValueError("load_state_dict: the dict's '" + name + "' is an undefined tensor; nothing loaded");
        if (!target.defined())
            throw ValueError("load_state_dict: the model's '" + name + "' is an undefined tensor; nothing loaded");
        if (src == nullptr) {
            report.missing.push_back(name);
        } else if (src->shape() == target.shape()) {
            copies.push_back({name, target, *src});
            report.loaded.push_back(name);
        } else if (src->numel() == 1 && target.numel() == 1 && src->dim() + target.dim() == 1) {
            // A one-element tensor for a 0-d one or the reverse, as PyTorch accepts: exporters
            // (numpy among them) often write 0-d buffers such as num_batches_tracked as [1].
            copies.push_back({name, target, src->detach().reshape(target.shape())});
            report.loaded.push_back(name);
        } else {
            report.mismatched.push_back({name, target.shape(), src->shape()});
            if (options.mismatch == MismatchPolicy::Reinit) reinit.emplace_back(name, target);
        }
    }
    for (const auto& [name, t] : dict)
        if (!mine.contains(name)) report.unexpected.push_back(name);
    const bool mismatch_is_error = options.mismatch == MismatchPolicy::Error && !report.mismatched.empty();
    if (options.strict && (!report.missing.empty() || !report.unexpected.empty() || mismatch_is_error))
        throw ValueError("load_state_dict (strict): " + std::to_string(report.missing.size()) + " missing, " +
                         std::to_string(report.unexpected.size()) + " unexpected, " +
                         std::to_string(report.mismatched.size()) + " shape-mismatched keys; nothing loaded\n" +
                         report.to_string());
    // Fresh values come from a new copy of each owning layer, built before anything is changed
    // so that a layer without fresh_copy() leaves the model untouched.
    std::unordered_map<const Module*, std::shared_ptr<Module>> fresh;
    for (const auto& [name, target] : reinit) {
        const std::size_t dot = name.rfind('.');
        std::shared_ptr<Module> owner_ref = dot == std::string::npos ? nullptr : submodule(name.substr(0, dot));
        const Module* owner = owner_ref ? owner_ref.get() : this;
        auto [it, added] = fresh.try_emplace(owner);
        if (added) {
            try {
                it->second = owner->fresh_copy();
            } catch (const Error& e) {
                throw ValueError("load_state_dict: cannot re-initialise '" + name + "' (MismatchPolicy::Reinit): " +
                                 e.what() + "; nothing loaded");
            }
        }
        const Tensor* value = it->second->find_tensor(dot == std::string::npos ? name : name.substr(dot + 1));
        if (value == nullptr || !value->defined() || value->shape() != target.shape())
            throw ValueError("load_state_dict: cannot re-initialise '" + name + "': a fresh " + owner->type_name() +
                             " has no tensor of shape " + shape_str(target.shape()) + " under that name");
        copies.push_back({name, target, *value});
    }
    NoGradGuard guard;
    stage_copies(copies);
    for (auto& c : copies) Tensor(c.dst).copy_(c.value);
    return report;
}

std::shared_ptr<Module> Module::clone() const {
    throw Error("clone: " + type_name() +
                " does not support deep copies; derive it from nn::Cloneable<" + type_name() +
                "> and build its parameters and submodules in reset()");
}

std::shared_ptr<Module> Module::fresh_copy() const {
    throw Error("fresh_copy: " + type_name() +
                " cannot build a freshly initialised copy of itself; derive it from nn::Cloneable<" + type_name() +
                "> and build its parameters and submodules in reset()");
}

void Module::clear_registrations() {
    parameters_.clear();
    buffers_.clear();
    for (std::size_t i = 0; i < children_.size(); ++i) slot(i) = detail::ChildSlot{};
    children_.clear();
}

namespace {

/// Points t's implementation, which every handle to the parameter shares, at a converted copy of
/// its values; a gradient it held is dropped (a bf16 parameter has none; a converted one starts anew).
void convert_in_place(const Tensor& t, DType dtype) {
    Tensor converted;
    {
        NoGradGuard guard;
        converted = t.detach().to(dtype).contiguous();
    }
    TensorImpl& impl = *t.impl_ptr();
    impl.storage = converted.storage();
    impl.strides = converted.strides();
    impl.offset = converted.offset();
    impl.dtype = dtype;
    if (impl.autograd) impl.autograd->grad.reset();
}

/// "'a' (bfloat16 [2, 3]), 'b' (…)" for an error message.
std::string describe_named(const std::vector<std::pair<std::string, Tensor>>& named) {
    std::string out;
    for (const auto& [n, t] : named)
        out += (out.empty() ? "'" : ", '") + n + "' (" + dtype_name(t.dtype()) + " " + shape_str(t.shape()) + ")";
    return out;
}

}  // namespace

Module& Module::to(DType dtype, const ToOptions& options) {
    if (dtype != DType::Float32 && dtype != DType::BFloat16)
        throw ValueError(std::string("Module::to: converts parameters to float32 or bfloat16, got ") +
                         dtype_name(dtype));
    std::vector<std::pair<std::string, Tensor>> targets, trainable;
    std::unordered_set<const TensorImpl*> seen;  // a parameter registered twice (a LoRA base) once
    for (const auto& [path, m] : named_modules()) {
        const std::vector<std::string> readable = m->bf16_weight_names();
        for (const auto& [name, t] : m->named_parameters(false)) {
            const bool eligible = dtype == DType::BFloat16
                                      ? t.dtype() == DType::Float32 &&
                                            std::find(readable.begin(), readable.end(), name) != readable.end()
                                      : is_storage_only(t.dtype());
            if (!eligible || (options.frozen_only && t.requires_grad()) || !seen.insert(t.impl_ptr().get()).second)
                continue;
            targets.emplace_back(path.empty() ? name : path + "." + name, t);
            if (t.requires_grad()) trainable.push_back(targets.back());
        }
    }
    if (dtype == DType::BFloat16 && !trainable.empty())
        throw ValueError("Module::to(bfloat16): " + describe_named(trainable) +
                         " would be trainable in bf16, which cannot hold an optimizer's small updates; freeze "
                         "them first, or pass {.frozen_only = true} to convert only the frozen weights; nothing "
                         "converted");
    for (const auto& [name, t] : targets) convert_in_place(t, dtype);
    // The float32 buffers just let go of would wait in the memory cache, which keeps freed
    // buffers for reuse: hand them back, since saving that memory is what bf16 weights are for.
    if (dtype == DType::BFloat16 && !targets.empty()) release_cached_memory();
    return *this;
}

namespace {

/// ValueError naming the parameters among `named` that are held in a storage-only dtype (bf16
/// weights of Module::to), which `op` would make trainable.
void check_can_train(const std::vector<std::pair<std::string, Tensor>>& named, const std::string& op) {
    std::vector<std::pair<std::string, Tensor>> stored;
    for (const auto& [n, t] : named)
        if (is_storage_only(t.dtype())) stored.emplace_back(n, t);
    if (!stored.empty())
        throw ValueError(op + ": " + describe_named(stored) +
                         " cannot be trained in their storage dtype; convert them back with "
                         "to(DType::Float32) first; nothing changed");
}

/// The named parameters whose names match the glob.
std::vector<std::pair<std::string, Tensor>> named_matching(const Module& m, const std::string& pattern) {
    std::vector<std::pair<std::string, Tensor>> out;
    for (const auto& [n, t] : m.named_parameters())
        if (glob_match(pattern, n)) out.emplace_back(n, t);
    return out;
}

/// Whether copy_state_from can copy `original`'s values into `rebuilt`: same type and
/// configuration (extra_repr), the same own parameters (names, shapes, dtypes) and buffer names,
/// the same child names.
bool same_structure(const Module& rebuilt, const Module& original) {
    if (rebuilt.type_name() != original.type_name() || rebuilt.extra_repr() != original.extra_repr()) return false;
    const auto pa = rebuilt.named_parameters(false), pb = original.named_parameters(false);
    if (pa.size() != pb.size()) return false;
    for (std::size_t i = 0; i < pa.size(); ++i)
        if (pa[i].first != pb[i].first || pa[i].second.shape() != pb[i].second.shape() ||
            pa[i].second.dtype() != pb[i].second.dtype())
            return false;
    const auto ba = rebuilt.named_buffers(false), bb = original.named_buffers(false);
    if (ba.size() != bb.size()) return false;
    for (std::size_t i = 0; i < ba.size(); ++i)
        if (ba[i].first != bb[i].first) return false;
    const auto ca = rebuilt.named_children(), cb = original.named_children();
    if (ca.size() != cb.size()) return false;
    for (std::size_t i = 0; i < ca.size(); ++i)
        if (ca[i].first != cb[i].first) return false;
    return true;
}

}  // namespace

void Module::copy_state_from(const Module& other) {
    auto describe = [](const Module& m) {
        return m.type_name() + " with " + std::to_string(m.parameters_.size()) + " parameters, " +
               std::to_string(m.buffers_.size()) + " buffers, " + std::to_string(m.children_.size()) + " children";
    };
    if (parameters_.size() != other.parameters_.size() || buffers_.size() != other.buffers_.size() ||
        children_.size() != other.children_.size() || type_name() != other.type_name())
        throw Error("clone: rebuilt " + describe(*this) + " differs from the original " + describe(other) +
                    " (reset() builds another structure from this module's configuration; override clone())");
    auto same_layout = [](const Tensor& a, const Tensor& b) {
        return a.defined() && b.defined() && a.shape() == b.shape() && a.dtype() == b.dtype();
    };
    NoGradGuard guard;
    // Values are copied into the tensors reset() created, so that the handles a module keeps
    // in its members (Linear::weight) are the registered ones.
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
        Tensor& dst = parameters_[i].tensor;
        const Tensor& src = other.parameters_[i].tensor;
        // A weight the original holds in bf16 (Module::to) is held so in the copy too.
        if (dst.defined() && src.defined() && dst.shape() == src.shape() && is_storage_only(src.dtype()) &&
            dst.dtype() != src.dtype())
            convert_in_place(dst, src.dtype());
        if (parameters_[i].name != other.parameters_[i].name || !same_layout(dst, src))
            throw Error("clone: " + type_name() + " rebuilt parameter '" + parameters_[i].name + "' " +
                        shape_str(dst.shape()) + " " + dtype_name(dst.dtype()) + " where the original has '" +
                        other.parameters_[i].name + "' " + shape_str(src.shape()) + " " + dtype_name(src.dtype()) +
                        " (override clone() for this module)");
        dst.copy_(src);
        dst.requires_grad_(src.requires_grad());
    }
    for (std::size_t i = 0; i < buffers_.size(); ++i) {
        Tensor& dst = buffers_[i].tensor;
        const Tensor& src = other.buffers_[i].tensor;
        if (same_layout(dst, src))
            dst.copy_(src);
        else
            dst = src.defined() ? src.detach().clone() : Tensor();
        buffers_[i].persistent = other.buffers_[i].persistent;
    }
    training_ = other.training_;
    eval_pinned_ = other.eval_pinned_;
    for (std::size_t i = 0; i < children_.size(); ++i) {
        detail::ChildSlot& mine = slot(i);
        const detail::ChildSlot& theirs = other.slot(i);
        if (mine.name_ != theirs.name_)
            throw Error("clone: child '" + mine.name_ + "' rebuilt where the original has '" + theirs.name_ + "'");
        const Module& original = other.child(i);
        if (!theirs.reassigned_ && same_structure(child(i), original)) {
            child(i).copy_state_from(original);
            continue;
        }
        // The original's child is not what reset() builds (a new head, a LoRA wrapper): copy it whole.
        // A slot that a plain std::shared_ptr member also holds cannot take it: the member would
        // keep calling the rebuilt child.
        if (!children_[i].member && mine.module_.use_count() > 1)
            throw Error("clone: " + type_name() + "'s child '" + mine.name_ + "' is a " + original.type_name() +
                        " that differs from the " + child(i).type_name() +
                        " reset() builds (was it replaced?), and a std::shared_ptr member of " + type_name() +
                        " holds the rebuilt one; declare that member as nn::Child<…> and register it with "
                        "register_module(\"" + mine.name_ + "\", &" + type_name() + "::member, …)");
        mine.module_ = original.clone();
        mine.reassigned_ = true;
    }
}

Module& Module::freeze(const FreezeOptions& options) {
    for (auto& t : parameters()) t.requires_grad_(false);
    apply_pins(options);
    return *this;
}

Module& Module::unfreeze() {
    check_can_train(named_parameters(), "unfreeze");
    for (auto& t : parameters()) t.requires_grad_(true);
    for (auto& [n, m] : named_modules())
        if (m->has_running_stats()) m->set_eval_pinned(false);
    return *this;
}

Module& Module::freeze(const std::string& pattern, const FreezeOptions& options) {
    for (auto& t : parameters_matching(pattern)) t.requires_grad_(false);
    apply_pins(options);
    return *this;
}

Module& Module::unfreeze(const std::string& pattern) {
    check_can_train(named_matching(*this, pattern), "unfreeze('" + pattern + "')");
    for (auto& t : parameters_matching(pattern)) t.requires_grad_(true);
    release_pins();
    return *this;
}

void Module::release_pins() {
    for (auto& [n, m] : named_modules())
        if (m->has_running_stats() && m->is_eval_pinned()) {
            bool any_trainable = false;
            for (auto& p : m->parameters()) any_trainable |= p.requires_grad();
            if (any_trainable) m->set_eval_pinned(false);
        }
}

Module& Module::freeze_except(const std::vector<std::string>& patterns, const FreezeOptions& options) {
    std::vector<std::vector<Tensor>> keep;
    for (const auto& p : patterns) {
        keep.push_back(parameters_matching(p));  // throws before any change
        check_can_train(named_matching(*this, p), "freeze_except");
    }
    freeze(options);
    for (const auto& tensors : keep)
        for (Tensor t : tensors) t.requires_grad_(true);
    release_pins();
    return *this;
}

void Module::apply_pins(const FreezeOptions& options) {
    if (!options.batchnorm_eval) return;
    for (auto& [n, m] : named_modules()) {
        if (!m->has_running_stats()) continue;
        bool all_frozen = true;
        for (auto& p : m->parameters()) all_frozen &= !p.requires_grad();
        if (all_frozen) m->set_eval_pinned(true);
    }
}

std::vector<Tensor> Module::trainable_parameters() const {
    std::vector<Tensor> out;
    for (auto& t : parameters())
        if (t.requires_grad()) out.push_back(t);
    return out;
}

std::vector<Tensor> Module::parameters_matching(const std::string& pattern) const {
    std::vector<Tensor> out;
    const auto named = named_parameters();
    for (const auto& [n, t] : named)
        if (glob_match(pattern, n)) out.push_back(t);
    if (out.empty()) {
        std::string names;
        for (std::size_t i = 0; i < named.size() && i < 12; ++i) names += (i ? ", " : "") + named[i].first;
        if (named.size() > 12) names += ", …";
        throw ValueError("pattern '" + pattern + "' matches no parameter of this " + type_name() +
                         " (parameters: " + (names.empty() ? "none" : names) + ")");
    }
    return out;
}

std::int64_t Module::parameter_count(bool trainable_only) const {
    std::int64_t n = 0;
    for (auto& t : parameters())
        if (!trainable_only || t.requires_grad()) n += t.numel();
    return n;
}

std::string Module::summary() const {
    const auto named = named_parameters();
    std::size_t width = 4;
    for (const auto& [n, t] : named) width = std::max(width, n.size());
    std::ostringstream os;
    os << std::left << std::setw(static_cast<int>(width) + 2) << "name" << std::setw(20) << "shape" << std::right
       << std::setw(12) << "params" << "  state\n";
    std::int64_t total = 0, trainable = 0;
    for (const auto& [n, t] : named) {
        os << std::left << std::setw(static_cast<int>(width) + 2) << n << std::setw(20) << shape_str(t.shape())
           << std::right << std::setw(12) << t.numel() << "  " << (t.requires_grad() ? "trainable" : "frozen")
           << "\n";
        total += t.numel();
        if (t.requires_grad()) trainable += t.numel();
    }
    os << "total " << total << " parameters: " << trainable << " trainable, " << (total - trainable) << " frozen\n";
    return os.str();
}

}  // namespace graft::nn
