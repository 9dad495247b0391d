// graft/io/pretrained.hpp — loading the weights of a Hugging Face model directory into a model.
//
//   models::BertForSequenceClassification model(models::BertConfig::from_file(dir / "config.json"));
//   nn::LoadReport report = io::load_pretrained(model, dir, {.strict = false});
//
// `dir` holds either model.safetensors or a sharded checkpoint: model.safetensors.index.json,
// whose "weight_map" maps each tensor name to the shard file holding it
// ("model-00001-of-00002.safetensors"), and those shards. Every file is memory-mapped and
// validated completely before any parameter is written; the tensors are then copied into the
// model one by one from the mappings (F32 used in place, BF16 and F16 converted exactly to the
// parameter's dtype as each is copied), so the load needs about one copy of the model in memory,
// not two. The model's own family-specific renaming (a GPT-2 dict without the "transformer."
// prefix, BERT's LayerNorm gamma/beta) is done by the family's from_pretrained, which calls this.
#pragma once

#include <filesystem>

#include "graft/nn/module.hpp"
#include "graft/state_dict.hpp"

namespace graft::io {

/// The tensors of `dir` (model.safetensors, or every shard the index lists) as read-only views
/// of the memory-mapped files, in file order: F32 as float32, BF16 and F16 as bfloat16/float16
/// views that load_state_dict converts exactly while copying each into a float32 parameter
/// (a tensor whose bytes are misaligned in its file is a converted copy). The files stay mapped
/// while any of these tensors lives. Every file is validated before this returns. IOError naming
/// `dir` when it holds neither model.safetensors nor model.safetensors.index.json, for an index
/// that is not valid JSON, has no "weight_map" object, maps a name to anything but a file name,
/// or lists a name twice; naming `dir`, the shard and the tensor for a shard that is missing or
/// malformed, a tensor the index lists that is absent from its shard, and a tensor in two shards.
StateDict load_pretrained_state_dict(const std::filesystem::path& dir);

/// Loads load_pretrained_state_dict(dir) into `model` through Module::load_state_dict with
/// `options` (rename, strip_prefix and add_prefix for a checkpoint saved under other names,
/// strictness, mismatch policy) and returns its report; the errors of both, with
/// "load_pretrained '<dir>'" in front of load_state_dict's (strict, shapes). Nothing in the
/// model changes unless the whole load succeeds.
nn::LoadReport load_pretrained(nn::Module& model, const std::filesystem::path& dir, const nn::LoadOptions& options = {});

}  // namespace graft::io
