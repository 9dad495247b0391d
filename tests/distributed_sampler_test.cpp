// DistributedSampler: each rank's shard of the DataLoader's global order, padded or cut, and the
// property data parallelism relies on: step k's batches of all ranks together are the batch one
// process with batch size W·b reads at step k, whatever W.
#include <algorithm>
#include <numeric>
#include <set>
#include <vector>

#include "test_util.hpp"

using namespace graft;
using namespace graft::data;

namespace {

std::shared_ptr<TensorDataset> labelled(std::int64_t n) {
    return std::make_shared<TensorDataset>(arange(static_cast<double>(n), DType::Float32).reshape({n, 1}),
                                           arange(static_cast<double>(n)));
}

/// The labels of each batch of one pass.
std::vector<std::vector<std::int64_t>> batches(DataLoader& loader) {
    std::vector<std::vector<std::int64_t>> out;
    for (const auto& [x, y] : loader) out.push_back(y.to_vector<std::int64_t>());
    return out;
}

TEST(DistributedSampler, RanksTogetherReadTheSingleProcessBatches) {
    const std::int64_t n = 48;
    const std::size_t b = 4;
    for (std::size_t world : {1u, 2u, 3u, 4u}) {
        DataLoader whole(labelled(n), {.batch_size = b * world, .shuffle = true, .seed = 7});
        whole.set_epoch(2);
        const auto global = batches(whole);
        std::vector<std::vector<std::vector<std::int64_t>>> per_rank;
        for (std::size_t r = 0; r < world; ++r) {
            DataLoader mine(labelled(n), {.batch_size = b, .shuffle = true, .seed = 7,
                                          .sampler = DistributedSampler{.num_replicas = world, .rank = r}});
            mine.set_epoch(2);
            EXPECT_EQ(mine.size(), global.size());
            per_rank.push_back(batches(mine));
        }
        for (std::size_t k = 0; k < global.size(); ++k) {
            std::vector<std::int64_t> together;
            for (std::size_t r = 0; r < world; ++r)
                together.insert(together.end(), per_rank[r][k].begin(), per_rank[r][k].end());
            auto want = global[k];
            std::sort(together.begin(), together.end());
            std::sort(want.begin(), want.end());
            EXPECT_EQ(together, want) << "world " << world << " step " << k;
        }
    }
}

TEST(DistributedSampler, ShardsReshuffleEveryEpochAndRepeatForASeed) {
    DataLoader a(labelled(30), {.batch_size = 30, .shuffle = true, .seed = 3,
                                .sampler = DistributedSampler{.num_replicas = 2, .rank = 1}});
    const auto e0 = batches(a), e1 = batches(a);
    EXPECT_NE(e0, e1);
    a.set_epoch(1);
    EXPECT_EQ(batches(a), e1);
}

TEST(DistributedSampler, UnevenOrderIsPaddedWithItsStartOrCut) {
    // 10 samples on 3 ranks, in order: padded to 12 with samples 0 and 1.
    std::vector<std::vector<std::int64_t>> padded, cut;
    for (std::size_t r = 0; r < 3; ++r) {
        DataLoader pad(labelled(10), {.batch_size = 8, .sampler = DistributedSampler{.num_replicas = 3, .rank = r}});
        padded.push_back(batches(pad).at(0));
        DataLoader drop(labelled(10), {.batch_size = 8,
                                       .sampler = DistributedSampler{.num_replicas = 3, .rank = r, .drop_last = true}});
        cut.push_back(batches(drop).at(0));
    }
    EXPECT_EQ(padded, (std::vector<std::vector<std::int64_t>>{{0, 3, 6, 9}, {1, 4, 7, 0}, {2, 5, 8, 1}}));
    EXPECT_EQ(cut, (std::vector<std::vector<std::int64_t>>{{0, 3, 6}, {1, 4, 7}, {2, 5, 8}}));
    // Fewer samples than ranks: the padding wraps around.
    DataLoader tiny(labelled(2), {.batch_size = 2, .sampler = DistributedSampler{.num_replicas = 5, .rank = 4}});
    EXPECT_EQ(batches(tiny), (std::vector<std::vector<std::int64_t>>{{0}}));
}

TEST(DistributedSampler, DropLastOfTheLoaderAppliesToTheShard) {
    DataLoader loader(labelled(20), {.batch_size = 4, .drop_last = true,
                                     .sampler = DistributedSampler{.num_replicas = 2, .rank = 0}});
    EXPECT_EQ(loader.size(), 2u);  // 10 samples in the shard, 2 full batches
    EXPECT_EQ(batches(loader).size(), 2u);
}

TEST(DistributedSampler, RejectsBadRankOrWorld) {
    EXPECT_THROW(DataLoader(labelled(4), {.sampler = DistributedSampler{.num_replicas = 2, .rank = 2}}), ValueError);
    EXPECT_THROW(DataLoader(labelled(4), {.sampler = DistributedSampler{.num_replicas = 0, .rank = 0}}), ValueError);
}

}  // namespace
