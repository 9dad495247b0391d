// The Trainer's data-parallel options (graft/dist/trainer.hpp).
#include "graft/dist/trainer.hpp"

#include "graft/dist/collectives.hpp"
#include "graft/dist/environment.hpp"

namespace graft::dist {

train::TrainerDistribution trainer_distribution(DistributedDataParallel& ddp) {
    return {.mean = [](double value) { return all_reduce(value, ReduceOp::Average); },
            .processes = world_size(),
            .is_main = rank() == 0,
            .set_gradient_sync = [&ddp](bool enabled) { ddp.set_sync_enabled(enabled); }};
}

}  // namespace graft::dist
