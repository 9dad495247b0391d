// graft/train/feature_cache.hpp — train a head on features computed once.
//
// When everything below the trainable layers is frozen and deterministic (eval mode: BatchNorm
// uses its running statistics, Dropout is off; and the data has no random augmentation), its
// output for a sample never changes. cache_features runs that frozen part once over a dataset
// and returns its outputs as a TensorDataset; the head then trains from the cache, and every
// epoch costs only the head's forward and backward.
//
//   auto backbone = model.submodule("features");            // frozen
//   auto head     = model.submodule("classifier");          // trainable
//   auto cached   = train::cache_features(*backbone, train_set);
//   data::DataLoader loader(cached, {.batch_size = 32, .shuffle = true, .seed = 1});
//   train::Trainer(*head, opt, {.epochs = 30}).fit(loader);
//
// The result equals training the whole model with the backbone frozen via
// freeze(…, {.batchnorm_eval = true}) on the same batches, up to float rounding.
#pragma once

#include <cstddef>
#include <memory>

#include "graft/data/dataset.hpp"
#include "graft/nn/module.hpp"

namespace graft::train {

/// Runs `frozen` in eval mode without gradients over every sample of `dataset`, in order and in
/// batches of `batch_size`, and returns (outputs, targets) as a dataset with the same indices.
/// ValueError when `frozen` has a trainable parameter (its features would go stale) or batch_size
/// is 0. The module's train/eval mode is restored afterwards.
std::shared_ptr<data::TensorDataset> cache_features(nn::Module& frozen, std::shared_ptr<const data::Dataset> dataset,
                                                    std::size_t batch_size = 256);

}  // namespace graft::train
