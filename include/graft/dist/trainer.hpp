// graft/dist/trainer.hpp — a train::Trainer in a data-parallel job.
//
//   dist::Environment env(argc, argv);
//   dist::DistributedDataParallel ddp(model);
//   train::Trainer trainer(model, opt, {.epochs = 5, .last_checkpoint = "last.ckpt",
//                                       .distribution = dist::trainer_distribution(ddp)});
//   trainer.fit(loader);   // loader with a data::DistributedSampler; rank 0 logs and writes
//
// Logged values are averaged over ranks, only rank 0 shows progress and writes logs and
// checkpoints, and the micro-batches before the last of an accumulation (accumulate_steps)
// keep their gradients local. A checkpoint holds no rank count: resume() it on any number of
// ranks (the DataLoader's epoch is restored, and the sampler shards that epoch's order anew).
#pragma once

#include "graft/dist/ddp.hpp"
#include "graft/train/trainer.hpp"

namespace graft::dist {

/// TrainerOptions::distribution for a Trainer training the model `ddp` wraps (ddp must outlive
/// the Trainer's fit() calls). DistError without an Environment.
train::TrainerDistribution trainer_distribution(DistributedDataParallel& ddp);

}  // namespace graft::dist
