// graft/nn/lora.hpp — LoRA: low-rank adapters on chosen linear layers, and merging them.
//
//   auto wrapped = nn::apply_lora(model, {.r = 8, .alpha = 16, .target_modules = {"q_proj", "v_proj"}});
//   optim::AdamW opt(model.trainable_parameters(), {.lr = 1e-3});   // only the lora_A/lora_B tensors
//   … train …
//   io::save_lora_adapter("adapter_dir", model, config);            // graft/io/lora_adapter.hpp (PEFT's layout)
//   nn::merge_lora(model);                                          // W += (alpha/r)·B·A, for inference
//
// A wrapped layer computes y = base(x) + (alpha/r)·dropout(x)·Aᵀ·Bᵀ with lora_A [r, in]
// (kaiming-uniform, a = √5, as PEFT) and lora_B [out, r] (zeros), so a freshly wrapped model
// computes exactly what the base did. The base's weight and bias keep their names
// ("<path>.weight", "<path>.bias"), so a pretrained state dict loads before and after
// apply_lora; the adapters are "<path>.lora_A" and "<path>.lora_B". Guide: docs/lora.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "graft/nn/linear.hpp"
#include "graft/nn/module.hpp"
#include "graft/state_dict.hpp"

namespace graft::nn {

/// Rank, scaling and targets of a LoRA adaptation (PEFT's LoraConfig: r, lora_alpha, lora_dropout,
/// target_modules, modules_to_save, task_type, base_model_name_or_path).
struct LoraConfig {
    std::int64_t r = 8;
    double alpha = 16;
    /// Dropout on the adapter's input only (the base path is untouched); active in train().
    double dropout = 0.0;
    /// The layers to wrap, each entry matched against module paths by lora_module_matches: a plain
    /// name ("q_proj", "c_attn", "encoder.fc1") selects the path equal to it or ending in "." + it,
    /// as PEFT's list form does; an entry with '*' or '?' is a glob over the whole path
    /// ("*.attn.c_attn", "blocks.*.fc1"). Each entry must select at least one layer LoRA can wrap.
    /// nn::default_lora_targets(model_type) gives PEFT's defaults. Unused by LoraLinear itself.
    std::vector<std::string> target_modules = {};
    /// PEFT's single-string target_modules: a regular expression (ECMAScript syntax, which agrees
    /// with Python's re for the usual `.*`, `\.`, `(a|b)`, `[0-9]+`) that must match a whole module
    /// path. Use either this or target_modules, not both.
    std::string target_regex = {};
    /// Modules kept fully trainable next to the adapters and saved in the adapter file (PEFT's
    /// modules_to_save, e.g. a new "classifier" or "score" head), matched by the plain-name rule of
    /// target_modules; each must select a module.
    std::vector<std::string> modules_to_save = {};
    /// Recorded in adapter_config.json for PEFT ("CAUSAL_LM", "SEQ_CLS", …); empty: not known.
    std::string task_type = {};
    /// Recorded in adapter_config.json (the Hub id or folder of the base model); empty: not given.
    std::string base_model_name_or_path = {};
};

/// Whether a target_modules / modules_to_save entry selects the module path: an entry with '*'
/// or '?' is a glob over the whole path (nn::glob_match); any other is a name that selects the
/// path equal to it or ending in "." + it (PEFT's rule: "q_proj" selects "model.layers.0.self_attn.q_proj",
/// "attn.c_attn" selects "transformer.h.3.attn.c_attn", "proj" does not select "q_proj").
bool lora_module_matches(const std::string& entry, const std::string& path);

/// PEFT's default LoRA targets for a model family (Hugging Face's model_type): {"q_proj", "v_proj"}
/// for llama, mistral, mixtral, qwen2, gemma; {"query", "value"} for bert and roberta; {"c_attn"}
/// for gpt2. ValueError naming the known families for another model_type.
std::vector<std::string> default_lora_targets(const std::string& model_type);

/// What LoRA needs to know about a layer it wraps: y = x·Wᵀ + b with W [out, in] (nn::Linear), or
/// y = x·W + b with W [in, out] (transposed_weight; GPT-2's Conv1D). The layer's parameters must be
/// "weight" and optionally "bias", and its forward(x) must compute that map.
struct LoraTarget {
    std::int64_t in_features;
    std::int64_t out_features;
    bool transposed_weight;
};

/// How LoRA sees `layer`, or nullopt when it cannot wrap it: nn::Linear ({in, out, false}) and
/// nn::Conv1D ({in, out, transposed_weight = true}); another layer type plugs in here.
std::optional<LoraTarget> lora_target_of(const Module& layer);

/// A linear layer with a trainable low-rank update. Parameters, in order: "weight" and "bias" (the
/// base layer's own tensors, frozen here), "lora_A" [r, in], "lora_B" [out, r].
class LoraLinear : public Module {
public:
    /// Wraps `base` (shared, not copied: the base's tensors become this layer's "weight"/"bias"
    /// and are frozen). ValueError when lora_target_of(*base) is nullopt, r < 1, alpha is not
    /// finite and positive, or dropout is outside [0, 1). config.target_modules is ignored.
    LoraLinear(std::shared_ptr<Module> base, const LoraConfig& config);
    LoraLinear(Linear base, const LoraConfig& config);

    /// base(x) + scale·dropout(x)·Aᵀ·Bᵀ; merged: base(x) alone, and an Error when called to train
    /// (training mode, grad recording on, adapters trainable) since the adapters would get no gradient.
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "LoraLinear"; }
    std::vector<std::string> bf16_weight_names() const override { return {"weight"}; }
    /// "in_features=…, out_features=…, r=…, alpha=…, dropout=…, merged=…" and the base's repr.
    std::string extra_repr() const override;
    /// A deep copy, base included.
    std::shared_ptr<Module> clone() const override;
    /// A freshly initialised copy: the base's fresh_copy(), new lora_A, zero lora_B.
    std::shared_ptr<Module> fresh_copy() const override;

    /// Folds scale·B·A into the base weight; forward then runs the base alone. Error if merged.
    void merge();
    /// Subtracts what merge() added (equal up to float rounding). Error unless merged.
    void unmerge();
    bool merged() const { return merged_; }
    /// alpha / r.
    double scale() const { return alpha_ / static_cast<double>(r_); }
    /// The adapter's contribution scale·B·A in the base weight's layout ([out, in], or [in, out]
    /// when transposed_weight), without recording a graph.
    Tensor delta_weight() const;

    std::int64_t rank() const { return r_; }
    double alpha() const { return alpha_; }
    double dropout() const { return dropout_; }
    const LoraTarget& target() const { return target_; }
    const std::shared_ptr<Module>& base() const { return base_; }

    Tensor weight;  // the base's
    Tensor bias;    // the base's, undefined when it has none
    Tensor lora_A;  // [r, in_features]
    Tensor lora_B;  // [out_features, r]

private:
    std::shared_ptr<Module> base_;
    LoraTarget target_;
    std::int64_t r_;
    double alpha_;
    double dropout_;
    bool merged_ = false;
};

/// Every LoraLinear of the model under its module path, pre-order.
std::vector<std::pair<std::string, std::shared_ptr<LoraLinear>>> lora_layers(const Module& model);

/// The paths apply_lora(model, config) would wrap, checked as it checks them, changing nothing.
std::vector<std::string> lora_target_paths(const Module& model, const LoraConfig& config);

/// The module paths config.modules_to_save selects, outermost only (a selected module's
/// descendants are part of it), in module order. ValueError when an entry selects no module or a
/// selected module is (or contains) a LoRA target of `config`.
std::vector<std::string> lora_modules_to_save_paths(const Module& model, const LoraConfig& config);

/// Wraps every layer whose module path matches config.target_modules (or config.target_regex) and
/// that LoRA can wrap (see lora_target_of) in a LoraLinear, in place, then freezes every parameter
/// of the model except the lora_A/lora_B tensors and the parameters of config.modules_to_save.
/// Returns the wrapped paths in module order. ValueError, with the model untouched, when no
/// targets are given, when an entry or the regex selects no wrappable layer (listing the module
/// paths and types), when the regex does not parse, when a modules_to_save entry selects nothing, when
/// a selected layer is already a LoraLinear, or when it is also held outside the model's child
/// slots (a parent's plain std::shared_ptr member: its forward would keep calling the unwrapped
/// layer). A child held by an nn::Child member is wrapped in that member, so `fc(x)` in the
/// parent's forward runs the adapter.
std::vector<std::string> apply_lora(Module& model, const LoraConfig& config);

/// The adapter tensors only, under the model's names ("<path>.lora_A", "<path>.lora_B"), sharing storage.
StateDict lora_state_dict(const Module& model);


/// merge() on every LoraLinear of the model; returns how many. ValueError when there is none.
std::size_t merge_lora(Module& model);
/// unmerge() on every LoraLinear of the model; returns how many. ValueError when there is none.
std::size_t unmerge_lora(Module& model);

}  // namespace graft::nn
