// nn::LoraLinear and the model-wide operations on it: apply_lora, lora_layers, merge/unmerge.
// The adapter files are in lora_adapter.cpp.
#include "graft/nn/lora.hpp"

#include "graft/nn/conv1d.hpp"

#include <cmath>
#include <functional>
#include <map>
#include <regex>

#include "graft/autograd.hpp"
#include "graft/nn/init.hpp"
#include "graft/ops.hpp"
#include "graft/random.hpp"
#include "nn/repr.hpp"

namespace graft::nn {

namespace {

/// Calls fn(path, module) for every descendant of `m` (not `m` itself), pre-order.
void for_each_descendant(const Module& m, const std::string& prefix,
                         const std::function<void(const std::string&, const std::shared_ptr<Module>&)>& fn) {
    for (const auto& [name, child] : m.named_children()) {
        const std::string path = prefix.empty() ? name : prefix + "." + name;
        fn(path, child);
        for_each_descendant(*child, path, fn);
    }
}

void check_options(const LoraConfig& c, const std::string& who) {
    if (c.r < 1) throw ValueError(who + ": rank r must be at least 1, got " + std::to_string(c.r));
    if (!(std::isfinite(c.alpha) && c.alpha > 0))
        throw ValueError(who + ": alpha must be finite and positive, got " + pyfmt::py_float(c.alpha));
    if (!(c.dropout >= 0.0 && c.dropout < 1.0))
        throw ValueError(who + ": dropout must be in [0, 1), got " + pyfmt::py_float(c.dropout));
}

/// "0 (Linear), 1 (ReLU), …": the module paths of a model for error messages (40 at most).
std::string describe_modules(const Module& model) {
    std::string out;
    std::size_t count = 0;
    for_each_descendant(model, "", [&](const std::string& path, const std::shared_ptr<Module>& m) {
        if (count++ < 40) out += (out.empty() ? "" : ", ") + path + " (" + m->type_name() + ")";
    });
    if (count > 40) out += ", … (" + std::to_string(count - 40) + " more)";
    return out.empty() ? "no submodules" : out;
}

}  // namespace

std::optional<LoraTarget> lora_target_of(const Module& layer) {
    if (const auto* linear = dynamic_cast<const Linear*>(&layer))
        return LoraTarget{linear->in_features, linear->out_features, /*transposed_weight=*/false};
    if (const auto* conv = dynamic_cast<const Conv1D*>(&layer))  // GPT-2's: weight [in, out], y = x·W + b
        return LoraTarget{conv->in_features, conv->out_features, /*transposed_weight=*/true};
    return std::nullopt;
}

// ---- LoraLinear ---------------------------------------------------------------------------------

LoraLinear::LoraLinear(Linear base, const LoraConfig& config)
    : LoraLinear(std::make_shared<Linear>(std::move(base)), config) {}

LoraLinear::LoraLinear(std::shared_ptr<Module> base, const LoraConfig& config)
    : base_(std::move(base)), r_(config.r), alpha_(config.alpha), dropout_(config.dropout) {
    if (!base_) throw ValueError("LoraLinear: the base layer is null");
    const std::optional<LoraTarget> target = lora_target_of(*base_);
    if (!target)
        throw ValueError("LoraLinear: cannot wrap a " + base_->type_name() +
                         " (LoRA wraps Linear layers, weight [out, in], and GPT-2 Conv1D layers, weight [in, out])");
    target_ = *target;
    check_options(config, "LoraLinear");
    const Tensor* w = base_->find_tensor("weight");
    const Shape w_shape = target_.transposed_weight ? Shape{target_.in_features, target_.out_features}
                                                    : Shape{target_.out_features, target_.in_features};
    if (w == nullptr || !w->defined() || w->shape() != w_shape)
        throw ValueError("LoraLinear: the " + base_->type_name() + " has no parameter 'weight' of shape " +
                         shape_str(w_shape));
    const Tensor* b = base_->find_tensor("bias");
    // The base's own tensors, frozen: registering them shares storage and the requires_grad flag.
    weight = register_parameter("weight", *w, /*requires_grad=*/false);
    if (b != nullptr && b->defined()) bias = register_parameter("bias", *b, /*requires_grad=*/false);
    // The adapters train, so a base held in bf16 (Module::to) gets float32 ones.
    const DType adapter_dtype = is_storage_only(weight.dtype()) ? DType::Float32 : weight.dtype();
    lora_A = register_parameter("lora_A", empty({r_, target_.in_features}, adapter_dtype));
    init::kaiming_uniform_(lora_A, std::sqrt(5.0));
    lora_B = register_parameter("lora_B", zeros({target_.out_features, r_}, adapter_dtype));
}

Tensor LoraLinear::forward(const Tensor& x) {
    // The base is not a registered child (its tensors are ours), so train()/eval() do not reach it;
    // the layers LoRA wraps behave the same in both modes.
    Tensor y = base_->forward(x);
    if (merged_) {
        if (is_training() && GradMode::is_enabled() && (lora_A.requires_grad() || lora_B.requires_grad()))
            throw Error("LoraLinear: forward in training mode on a merged layer (the adapters would get no "
                        "gradient); call unmerge_lora() to train, or eval()/NoGradGuard for inference");
        return y;
    }
    const Tensor h = dropout_ > 0.0 ? graft::dropout(x, dropout_, is_training()) : x;
    return add(y, linear(linear(h, lora_A), lora_B), scale());
}

Tensor LoraLinear::delta_weight() const {
    NoGradGuard guard;
    Tensor delta = mul(matmul(lora_B, lora_A), scale());  // [out, in]
    return target_.transposed_weight ? delta.t() : delta;
}

void LoraLinear::merge() {
    if (merged_) throw Error("LoraLinear.merge: the layer is already merged");
    NoGradGuard guard;
    // A bf16 base (Module::to) gets the sum rounded to bf16: unmerge() then restores it only to
    // within that rounding.
    if (is_storage_only(weight.dtype()))
        weight.copy_(add(weight.to(DType::Float32), delta_weight()));
    else
        weight.add_(delta_weight());
    merged_ = true;
}

void LoraLinear::unmerge() {
    if (!merged_) throw Error("LoraLinear.unmerge: the layer is not merged");
    NoGradGuard guard;
    if (is_storage_only(weight.dtype()))
        weight.copy_(sub(weight.to(DType::Float32), delta_weight()));
    else
        weight.sub_(delta_weight());
    merged_ = false;
}

std::string LoraLinear::extra_repr() const {
    return "in_features=" + std::to_string(target_.in_features) + ", out_features=" +
           std::to_string(target_.out_features) + ", r=" + std::to_string(r_) + ", alpha=" + pyfmt::py_float(alpha_) +
           ", dropout=" + pyfmt::py_float(dropout_) + ", merged=" + pyfmt::py_bool(merged_) +
           ", base=" + base_->repr();
}

std::shared_ptr<Module> LoraLinear::clone() const {
    // Building the copy draws lora_A; a copy must not advance the global random stream.
    const Generator::State rng = default_generator().state();
    auto copy = std::make_shared<LoraLinear>(base_->clone(), LoraConfig{r_, alpha_, dropout_, {}});
    default_generator().set_state(rng);
    copy->copy_state_from(*this);
    copy->merged_ = merged_;
    return copy;
}

std::shared_ptr<Module> LoraLinear::fresh_copy() const {
    return std::make_shared<LoraLinear>(base_->fresh_copy(), LoraConfig{r_, alpha_, dropout_, {}});
}

// ---- the model-wide operations -------------------------------------------------------------------

std::vector<std::pair<std::string, std::shared_ptr<LoraLinear>>> lora_layers(const Module& model) {
    std::vector<std::pair<std::string, std::shared_ptr<LoraLinear>>> out;
    for_each_descendant(model, "", [&](const std::string& path, const std::shared_ptr<Module>& m) {
        if (auto lora = std::dynamic_pointer_cast<LoraLinear>(m)) out.emplace_back(path, std::move(lora));
    });
    return out;
}

bool lora_module_matches(const std::string& entry, const std::string& path) {
    if (entry.find_first_of("*?") != std::string::npos) return glob_match(entry, path);
    return path == entry || (path.size() > entry.size() && path.ends_with(entry) &&
                             path[path.size() - entry.size() - 1] == '.');
}

std::vector<std::string> default_lora_targets(const std::string& model_type) {
    // PEFT's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING for these families.
    static const std::map<std::string, std::vector<std::string>> defaults = {
        {"bert", {"query", "value"}},     {"gemma", {"q_proj", "v_proj"}},   {"gpt2", {"c_attn"}},
        {"llama", {"q_proj", "v_proj"}},  {"mistral", {"q_proj", "v_proj"}}, {"mixtral", {"q_proj", "v_proj"}},
        {"qwen2", {"q_proj", "v_proj"}},  {"roberta", {"query", "value"}},
    };
    if (const auto it = defaults.find(model_type); it != defaults.end()) return it->second;
    std::string known;
    for (const auto& [name, targets] : defaults) known += (known.empty() ? "" : ", ") + name;
    throw ValueError("default_lora_targets: no default LoRA targets for model_type '" + model_type +
                     "' (known: " + known + "); set LoraConfig::target_modules");
}

std::vector<std::string> lora_target_paths(const Module& model, const LoraConfig& config) {
    check_options(config, "apply_lora");
    const auto& patterns = config.target_modules;
    const bool use_regex = !config.target_regex.empty();
    if (use_regex && !patterns.empty())
        throw ValueError("apply_lora: config.target_modules and config.target_regex are both set ('" +
                         config.target_regex + "'); use one (PEFT's target_modules is a list or one regex)");
    if (patterns.empty() && !use_regex)
        throw ValueError("apply_lora: config.target_modules is empty; name the layers to wrap (module names such as "
                         "\"q_proj\", globs over module paths, config.target_regex, or "
                         "nn::default_lora_targets(model_type)); modules: " + describe_modules(model));
    std::regex regex;
    if (use_regex) {
        try {
            regex = std::regex(config.target_regex, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            throw ValueError("apply_lora: config.target_regex '" + config.target_regex +
                             "' is not a valid regular expression (" + e.what() + ")");
        }
    }
    const auto selects = [&](std::size_t i, const std::string& path) {
        return use_regex ? std::regex_match(path, regex) : lora_module_matches(patterns[i], path);
    };
    const std::size_t n_patterns = use_regex ? 1 : patterns.size();
    std::vector<std::string> paths;
    std::vector<bool> pattern_used(n_patterns, false);
    std::string already;
    for_each_descendant(model, "", [&](const std::string& path, const std::shared_ptr<Module>& m) {
        bool selected = false;
        for (std::size_t i = 0; i < n_patterns; ++i) selected |= selects(i, path);
        if (!selected) return;
        if (dynamic_cast<const LoraLinear*>(m.get()) != nullptr) {
            already += (already.empty() ? "" : ", ") + path;
            return;
        }
        if (!lora_target_of(*m)) return;  // a broad pattern also selects containers and activations
        for (std::size_t i = 0; i < n_patterns; ++i)
            if (selects(i, path)) pattern_used[i] = true;
        paths.push_back(path);
    });
    if (!already.empty())
        throw ValueError("apply_lora: LoRA is already applied to " + already + "; nothing changed");
    std::string unused;
    for (std::size_t i = 0; i < n_patterns; ++i)
        if (!pattern_used[i])
            unused += (unused.empty() ? "'" : ", '") + (use_regex ? config.target_regex : patterns[i]) + "'";
    if (!unused.empty())
        throw ValueError("apply_lora: target " + std::string(use_regex ? "regex " : "pattern ") + unused +
                         " selects no layer LoRA can wrap (Linear, Conv1D); modules: " + describe_modules(model));
    return paths;
}

std::vector<std::string> lora_modules_to_save_paths(const Module& model, const LoraConfig& config) {
    std::vector<std::string> paths;
    std::vector<bool> used(config.modules_to_save.size(), false);
    for_each_descendant(model, "", [&](const std::string& path, const std::shared_ptr<Module>&) {
        bool selected = false;
        for (std::size_t i = 0; i < config.modules_to_save.size(); ++i)
            if (lora_module_matches(config.modules_to_save[i], path)) selected = used[i] = true;
        const bool inside_selected = !paths.empty() && path.starts_with(paths.back() + ".");
        if (selected && !inside_selected) paths.push_back(path);
    });
    std::string unused;
    for (std::size_t i = 0; i < used.size(); ++i)
        if (!used[i]) unused += (unused.empty() ? "'" : ", '") + config.modules_to_save[i] + "'";
    if (!unused.empty())
        throw ValueError("apply_lora: modules_to_save entry " + unused + " selects no module; modules: " +
                         describe_modules(model));
    if (!paths.empty()) {
        std::vector<std::string> targets;
        try {
            targets = lora_target_paths(model, config);
        } catch (const ValueError&) {
            return paths;  // the targets' own error is apply_lora's to report
        }
        for (const auto& target : targets)
            for (const auto& path : paths)
                if (target == path || target.starts_with(path + "."))
                    throw ValueError("apply_lora: module '" + path + "' is in modules_to_save and contains the LoRA "
                                     "target '" + target + "'; a module is either adapted or saved whole");
    }
    return paths;
}

std::vector<std::string> apply_lora(Module& model, const LoraConfig& config) {
    const std::vector<std::string> paths = lora_target_paths(model, config);
    const std::vector<std::string> saved = lora_modules_to_save_paths(model, config);
    std::string held;
    for (const auto& path : paths)
        // Owned by the parent's slot (its registry, or the nn::Child member the registry reads) and
        // by this handle only; any further owner (a parent's plain std::shared_ptr member) would
        // keep calling the unwrapped layer.
        if (model.submodule(path).use_count() > 2) held += (held.empty() ? "" : ", ") + path;
    if (!held.empty())
        throw ValueError("apply_lora: " + held +
                         " is also held outside the model's child slots (a parent's std::shared_ptr member, or a "
                         "handle kept by the caller); a forward through that pointer would bypass the adapter. "
                         "Declare the member as nn::Child<…> (registered with register_module(name, &Parent::member, "
                         "…)) or release the handle; nothing changed");
    for (const auto& path : paths) model.replace_child(path, std::make_shared<LoraLinear>(model.submodule(path), config));
    model.freeze();
    for (const auto& [path, layer] : lora_layers(model)) {
        layer->lora_A.requires_grad_(true);
        layer->lora_B.requires_grad_(true);
    }
    for (const auto& path : saved) model.submodule(path)->unfreeze();
    return paths;
}

namespace {

/// The model's LoRA layers, all of them merged (want_merged) or none; ValueError otherwise.
std::vector<std::pair<std::string, std::shared_ptr<LoraLinear>>> layers_to_switch(const Module& model,
                                                                                   bool want_merged,
                                                                                   const char* who) {
    auto layers = lora_layers(model);
    if (layers.empty()) throw ValueError(std::string(who) + ": the model has no LoRA layers (apply_lora first)");
    std::string wrong;
    for (const auto& [path, layer] : layers)
        if (layer->merged() != want_merged) wrong += (wrong.empty() ? "" : ", ") + path;
    if (!wrong.empty())
        throw ValueError(std::string(who) + (want_merged ? ": not merged: " : ": already merged: ") + wrong +
                         "; nothing changed");
    return layers;
}

}  // namespace

std::size_t merge_lora(Module& model) {
    auto layers = layers_to_switch(model, false, "merge_lora");
    for (auto& [path, layer] : layers) layer->merge();
    return layers.size();
}

std::size_t unmerge_lora(Module& model) {
    auto layers = layers_to_switch(model, true, "unmerge_lora");
    for (auto& [path, layer] : layers) layer->unmerge();
    return layers.size();
}

StateDict lora_state_dict(const Module& model) {
    StateDict out;
    for (const auto& [path, layer] : lora_layers(model)) {
        out.insert(path + ".lora_A", layer->lora_A.detach());
        out.insert(path + ".lora_B", layer->lora_B.detach());
    }
    return out;
}

}  // namespace graft::nn
