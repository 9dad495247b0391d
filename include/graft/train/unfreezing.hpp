// graft/train/unfreezing.hpp — fine-tuning schedules over a model's depth: gradual unfreezing
// (one more block trainable every N epochs, top first) and discriminative learning rates
// (each block's lr a constant factor below the block above it).
//
//   // blocks listed from the top (nearest the head) down; the head itself stays trainable
//   std::vector<std::string> blocks = {"features.6.*", "features.3.*", "features.0.*"};
//   auto groups = train::discriminative_lr_groups<optim::AdamWOptions>(
//       model, {"classifier.*", "features.6.*", "features.3.*", "features.0.*"}, {.lr = 1e-3}, 0.3);
//   optim::AdamW opt(groups);                       // lrs 1e-3, 3e-4, 9e-5, 2.7e-5
//   trainer.add_callback(std::make_shared<train::GradualUnfreezing>(model, blocks, 2));
//
// The optimizer should hold every parameter, frozen or not: a frozen one gets no gradient and
// no state, and once unfrozen it is updated from its first gradient on.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "graft/nn/module.hpp"
#include "graft/optim/optimizer.hpp"
#include "graft/train/callback.hpp"

namespace graft::train {

/// At the start of epoch e, blocks [0, k) are trainable and blocks [k, n) frozen, with
/// k = min(n, initially_unfrozen + e / every_epochs): one more block every `every_epochs` epochs.
/// Blocks are parameter globs ordered from the top of the network down. The state is a function
/// of the epoch alone, so a resumed run unfreezes exactly as the original would have. Frozen
/// BatchNorm layers are kept in eval mode when `freeze_options.batchnorm_eval` is set.
class GradualUnfreezing final : public Callback {
public:
    GradualUnfreezing(nn::Module& model, std::vector<std::string> blocks, std::int64_t every_epochs,
                      std::int64_t initially_unfrozen = 0, nn::FreezeOptions freeze_options = {.batchnorm_eval = true});

    void on_epoch_begin(Trainer& trainer, std::int64_t epoch) override;
    /// How many blocks are trainable during `epoch`.
    std::size_t unfrozen_blocks(std::int64_t epoch) const;
    /// Applies the schedule for `epoch` to the model (what on_epoch_begin does).
    void apply(std::int64_t epoch);

private:
    nn::Module* model_;
    std::vector<std::string> blocks_;
    std::int64_t every_;
    std::int64_t initial_;
    nn::FreezeOptions freeze_options_;
};

/// The model's parameters split by block globs (ordered top down): group i holds the parameters
/// whose names match blocks[i] and no earlier block. Parameters matching no block join group 0.
/// ValueError naming a block that matches no (not yet taken) parameter.
std::vector<std::vector<Tensor>> parameters_by_block(const nn::Module& model, const std::vector<std::string>& blocks);

/// One optimizer parameter group per block (see parameters_by_block), all with `top`'s options
/// except the lr: group i gets top.lr · decay^i.
template <class Options>
std::vector<optim::ParamGroup<Options>> discriminative_lr_groups(const nn::Module& model,
                                                                 const std::vector<std::string>& blocks,
                                                                 const Options& top, double decay) {
    std::vector<optim::ParamGroup<Options>> groups;
    double lr = top.lr;
    for (auto& params : parameters_by_block(model, blocks)) {
        Options o = top;
        o.lr = lr;
        groups.push_back({std::move(params), o});
        lr *= decay;
    }
    return groups;
}

}  // namespace graft::train
