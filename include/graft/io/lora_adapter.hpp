// graft/io/lora_adapter.hpp — LoRA adapters on disk: PEFT's adapter folders
// (adapter_config.json + adapter_model.safetensors, loadable with PEFT's
// PeftModel.from_pretrained(base, "adapter_dir")) and graft's single-file form (config in the
// safetensors metadata). Guide: docs/lora.md.
//
//   nn::LoraConfig config{.r = 8, .alpha = 16, .target_modules = {"c_attn"}, .modules_to_save = {"score"}};
//   nn::apply_lora(model, config);
//   io::save_lora_adapter("adapter_dir", model, config);            // a PEFT adapter folder
//   io::load_lora_adapter("adapter_dir", other_model);              // applies LoRA from its config if needed
//   io::save_lora_adapter("adapter.safetensors", model, config);    // one file
#pragma once

#include <filesystem>

#include "graft/nn/lora.hpp"

namespace graft::io {

/// Writes the adapters under PEFT's names ("base_model.model.<path>.lora_A.weight", "….lora_B.weight")
/// and the modules_to_save tensors ("base_model.model.<path>.<name>" for each entry of the module's
/// state dict, as PEFT saves them). A path ending in ".safetensors" gets one file with the config in
/// its metadata (r, lora_alpha, lora_dropout, target_modules as a JSON list, target_regex and
/// modules_to_save when set). Any other path is an adapter folder as PEFT writes it, created if
/// needed: adapter_model.safetensors and adapter_config.json (peft_type "LORA", r, lora_alpha,
/// lora_dropout, target_modules (a list, or the string config.target_regex), bias "none",
/// fan_in_fan_out (true when a wrapped layer is GPT-2's Conv1D, as PEFT records it), inference_mode,
/// modules_to_save, task_type and base_model_name_or_path (null when empty), PEFT's defaults for
/// the rest), each file replaced atomically, the config last. ValueError when the model has no LoRA
/// layers, a layer's r/alpha/dropout differ from `config`, or a modules_to_save entry selects
/// nothing; IOError when a file cannot be written.
void save_lora_adapter(const std::filesystem::path& path, const nn::Module& model, const nn::LoraConfig& config);

/// The config of a PEFT adapter folder (its adapter_config.json) or of that JSON file itself. Keys
/// graft does not need (init_lora_weights, revision, fan_in_fan_out: the layout follows the layer
/// type) are ignored. ValueError naming the key and the file for peft_type other than "LORA", a
/// missing or malformed r / lora_alpha, bias other than "none", use_dora / use_rslora / lora_bias
/// true, a non-empty rank_pattern or alpha_pattern, or layers_to_transform, layer_replication,
/// exclude_modules, target_parameters or trainable_token_indices set; IOError when it cannot be read.
nn::LoraConfig read_lora_adapter_config(const std::filesystem::path& path);

/// Loads an adapter folder (PEFT's or graft's) or a single adapter file into `model` and returns its
/// config (for a single file without one, the model's r, alpha and dropout with the wrapped paths as
/// targets). A model without LoRA layers gets apply_lora with the adapter's config first (its
/// modules_to_save become trainable); a model that has them must have exactly the adapter's layers
/// with the same shapes (and alpha, when the adapter records it). Every name and shape, the
/// modules_to_save tensors included, is checked before anything is copied: a ValueError lists every
/// problem. A folder with only adapter_model.bin (a pickle) is an IOError saying so.
nn::LoraConfig load_lora_adapter(const std::filesystem::path& path, nn::Module& model);

}  // namespace graft::io
