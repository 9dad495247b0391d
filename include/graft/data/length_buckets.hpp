// graft/data/length_buckets.hpp — batches of texts of similar length, for less padding.
//
//   data::DataLoader loader(train, {.batch_size = 32, .collate = data::text_collate(pad),
//                                   .order = data::length_buckets(train->lengths(), 32, {.seed = 7})});
//
// Each epoch: the indices are shuffled, cut into pools of pool_batches × batch_size, each pool
// sorted by length (stable) and cut into batches of batch_size; the full batches of all pools are
// shuffled, and the one short batch (when batch_size does not divide the size) comes last. Every
// example appears exactly once per epoch; the order depends only on (seed, epoch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace graft::data {

struct LengthBucketOptions {
    std::uint64_t seed = 0;
    /// Batches per pool sorted together: larger pools give batches of closer lengths, smaller
    /// ones more randomness (≥ 1).
    std::size_t pool_batches = 50;
};

/// The order of epoch `epoch` as described above. ValueError for batch_size or pool_batches 0.
std::vector<std::size_t> length_bucketed_order(const std::vector<std::size_t>& lengths, std::size_t batch_size,
                                               std::uint64_t epoch, const LengthBucketOptions& options = {});
/// length_bucketed_order as a DataLoaderOptions::order (its batch_size must be the loader's).
std::function<std::vector<std::size_t>(std::uint64_t)> length_buckets(std::vector<std::size_t> lengths,
                                                                      std::size_t batch_size,
                                                                      const LengthBucketOptions& options = {});

}  // namespace graft::data
