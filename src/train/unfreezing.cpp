// Gradual unfreezing and the per-block parameter split behind discriminative learning rates.
#include "graft/train/unfreezing.hpp"

#include <unordered_map>

#include "graft/error.hpp"

namespace graft::train {

GradualUnfreezing::GradualUnfreezing(nn::Module& model, std::vector<std::string> blocks, std::int64_t every_epochs,
                                     std::int64_t initially_unfrozen, nn::FreezeOptions freeze_options)
    : model_(&model), blocks_(std::move(blocks)), every_(every_epochs), initial_(initially_unfrozen),
      freeze_options_(freeze_options) {
    if (blocks_.empty()) throw ValueError("GradualUnfreezing: no blocks given");
    if (every_ < 1) throw ValueError("GradualUnfreezing: every_epochs must be >= 1, got " + std::to_string(every_));
    if (initial_ < 0)
        throw ValueError("GradualUnfreezing: initially_unfrozen must be >= 0, got " + std::to_string(initial_));
    for (const auto& b : blocks_) (void)model.parameters_matching(b);  // ValueError for a glob matching nothing
}

std::size_t GradualUnfreezing::unfrozen_blocks(std::int64_t epoch) const {
    const std::int64_t k = initial_ + (epoch < 0 ? 0 : epoch / every_);
    return static_cast<std::size_t>(std::min<std::int64_t>(k, static_cast<std::int64_t>(blocks_.size())));
}

void GradualUnfreezing::apply(std::int64_t epoch) {
    const std::size_t k = unfrozen_blocks(epoch);
    for (std::size_t i = k; i < blocks_.size(); ++i) model_->freeze(blocks_[i], freeze_options_);
    for (std::size_t i = 0; i < k; ++i) model_->unfreeze(blocks_[i]);
}

void GradualUnfreezing::on_epoch_begin(Trainer&, std::int64_t epoch) { apply(epoch); }

std::vector<std::vector<Tensor>> parameters_by_block(const nn::Module& model, const std::vector<std::string>& blocks) {
    if (blocks.empty()) throw ValueError("parameters_by_block: no blocks given");
    // Block membership by parameter identity (parameters_matching applies the module's glob rule
    // and throws for a glob matching nothing); the first block to claim a parameter keeps it.
    std::unordered_map<const Storage*, std::size_t> block_of;
    for (std::size_t i = blocks.size(); i-- > 0;)
        for (const Tensor& t : model.parameters_matching(blocks[i])) block_of[t.storage().get()] = i;
    std::vector<std::vector<Tensor>> groups(blocks.size());
    std::vector<bool> used(blocks.size(), false);
    for (const Tensor& t : model.parameters()) {
        auto it = block_of.find(t.storage().get());
        const std::size_t g = it == block_of.end() ? 0 : it->second;
        if (it != block_of.end()) used[g] = true;
        groups[g].push_back(t);
    }
    for (std::size_t i = 0; i < blocks.size(); ++i)
        if (!used[i])
            throw ValueError("parameters_by_block: block " + std::to_string(i) + " ('" + blocks[i] +
                             "') matches no parameter not already taken by an earlier block");
    return groups;
}

}  // namespace graft::train
