// graft/io/lora_adapter.hpp — LoRA adapter files: the adapters of a model (graft/nn/lora.hpp)
// saved and loaded under PEFT's names, with the config in the safetensors metadata.
//
//   nn::apply_lora(model, {.r = 8, .alpha = 16, .target_modules = {"*.c_attn"}});
//   io::save_lora_adapter("adapter.safetensors", model, config);    // adapters only
//   io::load_lora_adapter("adapter.safetensors", other_model);      // applies LoRA from the file if needed
#pragma once

#include <filesystem>

#include "graft/nn/lora.hpp"

namespace graft::io {

/// Writes the adapters to a safetensors file under PEFT's names
/// ("base_model.model.<path>.lora_A.weight", "….lora_B.weight") with the config in the metadata
/// (r, lora_alpha, lora_dropout, target_modules as a JSON list). ValueError when the model has no
/// LoRA layers or a layer's r/alpha differ from `config`; IOError when the file cannot be written.
void save_lora_adapter(const std::filesystem::path& path, const nn::Module& model, const nn::LoraConfig& config);

/// Loads an adapter file into `model` and returns the file's config (for a file without one, the
/// model's r, alpha and dropout with the wrapped paths as targets). A model without LoRA layers
/// gets apply_lora with the config from the file's metadata first; a model that has them must have
/// exactly the file's layers with the same shapes (and alpha, when the file records it), which is
/// how an adapter file from PEFT (config in adapter_config.json, not in the file) is loaded. Every
/// name and shape is checked before anything is copied: a ValueError lists every problem.
nn::LoraConfig load_lora_adapter(const std::filesystem::path& path, nn::Module& model);

}  // namespace graft::io
