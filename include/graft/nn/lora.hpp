// graft/nn/lora.hpp — LoRA: low-rank adapters on chosen linear layers, and merging them.
//
//   auto wrapped = nn::apply_lora(model, {.r = 8, .alpha = 16, .target_modules = {"*.attn.c_attn", "0"}});
//   optim::AdamW opt(model.trainable_parameters(), {.lr = 1e-3});   // only the lora_A/lora_B tensors
//   … train …
//   io::save_lora_adapter("adapter.safetensors", model, config);    // graft/io/lora_adapter.hpp
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
/// target_modules).
struct LoraConfig {
    std::int64_t r = 8;
    double alpha = 16;
    /// Dropout on the adapter's input only (the base path is untouched); active in train().
    double dropout = 0.0;
    /// Globs over module paths ("*.attn.c_attn", "0", "blocks.*.fc1"); each must select at least
    /// one layer LoRA can wrap. Unused by LoraLinear itself.
    std::vector<std::string> target_modules = {};
};

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

/// Wraps every layer whose module path matches one of config.target_modules and that LoRA can wrap
/// (see lora_target_of) in a LoraLinear, in place, then freezes every parameter of the model except
/// the lora_A/lora_B tensors (unfreeze a new head afterwards to train it too: PEFT's
/// modules_to_save). Returns the wrapped paths in module order. ValueError, with the model
/// untouched, when a pattern selects no wrappable layer (listing the module paths and types), when
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
