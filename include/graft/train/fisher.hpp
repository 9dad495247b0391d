// graft/train/fisher.hpp — the diagonal (empirical) Fisher information of a model on its source
// task, for train::EWC, and its file next to the pretrained weights.
//
//   StateDict f = train::estimate_fisher(model, source_loader, 20);   // 20 batches
//   train::save_fisher(train::fisher_path("pretrained.safetensors"), f); // pretrained.fisher.safetensors
//   StateDict back = train::load_fisher(train::fisher_path("pretrained.safetensors"));
#pragma once

#include <cstdint>
#include <filesystem>

#include "graft/data/dataloader.hpp"
#include "graft/nn/module.hpp"
#include "graft/state_dict.hpp"
#include "graft/train/trainer.hpp"

namespace graft::train {

/// F_i = mean over the examples of the first `batches` batches of (∂ℓ(x, y)/∂w_i)², ℓ the loss of
/// one example (the loss function on a batch of one; cross-entropy by default) at the true label:
/// the empirical Fisher, independent of the batch size. The model runs in eval mode (restored
/// afterwards); every floating-point parameter gets an entry under its name (frozen ones are made
/// trainable for the estimate and frozen again), float32, shaped like it. Every .grad() is left
/// cleared. ValueError when batches < 1 or the loader yields no example.
StateDict estimate_fisher(nn::Module& model, data::DataLoader& source, std::int64_t batches, const LossFn& loss = {});

/// Where the Fisher of the weights at `weights` goes: "x.safetensors" → "x.fisher.safetensors".
std::filesystem::path fisher_path(const std::filesystem::path& weights);

/// Writes a Fisher (parameter names → float32 tensors) as safetensors, marked as one.
void save_fisher(const std::filesystem::path& path, const StateDict& fisher);
/// Reads what save_fisher wrote; IOError when the file is missing, unreadable or not a Fisher.
StateDict load_fisher(const std::filesystem::path& path);

}  // namespace graft::train
