// graft/data/distributed_sampler.hpp — each process of a data-parallel job reads its own shard.
//
//   data::DataLoader loader(train_set, {.batch_size = 32, .shuffle = true, .seed = 1,
//                                       .sampler = data::DistributedSampler{.num_replicas = world, .rank = rank}});
//
// The DataLoader draws the epoch's global order exactly as without a sampler (the same for a seed
// and epoch whatever the number of ranks), then rank r keeps positions r, r + W, r + 2W, … of it
// (PyTorch's DistributedSampler). So step k's batches of all W ranks, taken together, are the
// global order's samples [k·W·b, (k+1)·W·b): the batch one process with batch size W·b reads at
// step k. Every rank gets the same number of samples: an order whose length N is not a multiple of
// W is padded with its own first samples up to W·ceil(N/W) (PyTorch's default), or, with
// drop_last, cut to W·floor(N/W).
#pragma once

#include <cstddef>
#include <vector>

namespace graft::data {

struct DistributedSampler {
    /// The number of processes W sharing the data (dist::world_size()).
    std::size_t num_replicas = 1;
    /// This process's shard, in [0, num_replicas) (dist::rank()).
    std::size_t rank = 0;
    /// Cut an uneven order to a multiple of num_replicas instead of padding it.
    bool drop_last = false;

    /// ValueError for num_replicas 0 or rank ≥ num_replicas.
    void validate() const;
    /// Samples per rank and epoch for a dataset of n samples.
    std::size_t shard_size(std::size_t n) const;
    /// This rank's part of a global order (padded or cut as described above).
    std::vector<std::size_t> shard(const std::vector<std::size_t>& order) const;
};

}  // namespace graft::data
