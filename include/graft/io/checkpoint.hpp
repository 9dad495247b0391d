// graft/io/checkpoint.hpp — training checkpoints: model, optimizer, scheduler and random
// generator state in one safetensors file, for resuming a run exactly.
//
//   io::save_checkpoint("run/ckpt.safetensors", {&model, &opt, &sched, &default_generator()}, step,
//                       {{"dataset", "flowers"}});
//   // later, in a fresh process: build model, opt and sched the same way, then
//   io::CheckpointInfo info = io::load_checkpoint("run/ckpt.safetensors", {&model, &opt, &sched, &default_generator()});
//   for (std::int64_t s = info.step; s < total; ++s) …      // continues bit for bit
//
// Tensors are stored under "model.", "optimizer.", "scheduler." and "rng." followed by each part's
// own state-dict names; the step, the format version, which parts are present and the optimizer's
// and scheduler's type names are metadata next to the user's. The layout: docs/checkpoints.md.
#pragma once

#include <cstdint>
#include <filesystem>

#include "graft/io/safetensors.hpp"
#include "graft/nn/module.hpp"
#include "graft/optim/lr_scheduler.hpp"
#include "graft/optim/optimizer.hpp"
#include "graft/random.hpp"

namespace graft::io {

/// The parts of a training run a checkpoint saves or restores; null ones are left out.
struct CheckpointRefs {
    nn::Module* model = nullptr;
    optim::Optimizer* optimizer = nullptr;
    optim::LRScheduler* scheduler = nullptr;
    Generator* generator = nullptr;
};

/// What load_checkpoint found besides the state it restored.
struct CheckpointInfo {
    std::int64_t step = 0;
    /// The metadata given to save_checkpoint as `extra` (without graft's own keys).
    Metadata metadata;
};

/// The version save_checkpoint writes and the only one load_checkpoint reads.
inline constexpr int checkpoint_format_version = 1;

/// Writes every non-null part of `refs`, `step` and `extra` to one safetensors file, atomically
/// (see save_safetensors). ValueError when every part is null, when step is negative, or when an
/// `extra` key starts with "graft.checkpoint." (graft's own keys); IOError when writing fails.
void save_checkpoint(const std::filesystem::path& path, const CheckpointRefs& refs, std::int64_t step,
                     const Metadata& extra = {});

/// Restores every non-null part of `refs` from a file save_checkpoint wrote: the model strictly
/// (every name, shape and dtype must match), the optimizer and scheduler through their
/// load_state_dict, the generator exactly. Parts in the file that `refs` does not ask for are
/// ignored. IOError when the file cannot be read; ValueError when it is not a checkpoint of this
/// format, lacks a part `refs` asks for, holds another optimizer or scheduler type, or a part's
/// state does not fit. All or nothing: the file's structure and every requested part's state are
/// validated before any part changes, so on error the model, optimizer, scheduler and generator
/// are all as they were.
CheckpointInfo load_checkpoint(const std::filesystem::path& path, const CheckpointRefs& refs);

}  // namespace graft::io
