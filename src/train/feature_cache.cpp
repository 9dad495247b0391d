// cache_features: a frozen module's outputs over a dataset, computed once.
#include "graft/train/feature_cache.hpp"

#include <vector>

#include "graft/autograd.hpp"
#include "graft/data/dataloader.hpp"
#include "graft/error.hpp"
#include "graft/ops.hpp"

namespace graft::train {

std::shared_ptr<data::TensorDataset> cache_features(nn::Module& frozen, std::shared_ptr<const data::Dataset> dataset,
                                                    std::size_t batch_size) {
    if (!dataset) throw ValueError("cache_features: null dataset");
    if (batch_size == 0) throw ValueError("cache_features: batch_size must be at least 1");
    for (const auto& [name, p] : frozen.named_parameters())
        if (p.requires_grad())
            throw ValueError("cache_features: parameter '" + name +
                             "' is trainable; cached features would go stale as it changes (freeze the module first)");
    if (dataset->size() == 0) throw ValueError("cache_features: the dataset is empty");

    const bool was_training = frozen.is_training();
    frozen.eval();
    struct RestoreMode {
        nn::Module* m;
        bool training;
        ~RestoreMode() { m->train(training); }
    } restore{&frozen, was_training};
    NoGradGuard no_grad;

    data::DataLoader loader(dataset, {.batch_size = batch_size, .shuffle = false, .drop_last = false});
    std::vector<Tensor> features, targets;
    for (const data::Example& batch : loader) {
        features.push_back(frozen.forward(batch.input).contiguous());
        targets.push_back(batch.target);
    }
    return std::make_shared<data::TensorDataset>(cat(features, 0), cat(targets, 0));
}

}  // namespace graft::train
