// DistributedSampler: a rank's strided shard of the global sample order, padded or cut to W·k.
#include "graft/data/distributed_sampler.hpp"

#include <string>

#include "graft/error.hpp"

namespace graft::data {

void DistributedSampler::validate() const {
    if (num_replicas == 0) throw ValueError("DistributedSampler: num_replicas must be at least 1, got 0");
    if (rank >= num_replicas)
        throw ValueError("DistributedSampler: rank " + std::to_string(rank) + " is outside [0, " +
                         std::to_string(num_replicas) + ")");
}

std::size_t DistributedSampler::shard_size(std::size_t n) const {
    return drop_last ? n / num_replicas : (n + num_replicas - 1) / num_replicas;
}

std::vector<std::size_t> DistributedSampler::shard(const std::vector<std::size_t>& order) const {
    validate();
    const std::size_t per_rank = shard_size(order.size());
    std::vector<std::size_t> mine;
    mine.reserve(per_rank);
    // Position p of the padded order is order[p mod N]: the padding repeats the order's start
    // (cyclically, should it be shorter than the padding).
    for (std::size_t k = 0; k < per_rank; ++k) mine.push_back(order[(k * num_replicas + rank) % order.size()]);
    return mine;
}

}  // namespace graft::data
