// graft::dist under mpirun (2 or 3 ranks): collectives, the cross-rank model check, and
// DistributedDataParallel: equivalence with one process taking the whole batch, buckets, frozen
// parameters, no_sync accumulation.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "graft/data/dataloader.hpp"
#include "graft/dist/collectives.hpp"
#include "graft/dist/ddp.hpp"
#include "graft/dist/environment.hpp"
#include "dist_test_util.hpp"
#include "graft/graft.hpp"

using namespace graft;
using namespace graft::dist_test;

namespace {

/// Trains `model` (wrapped) for `steps` SGD steps on this rank's shard; returns nothing, the
/// parameters are the result.
void train_distributed(nn::Module& model, const data::DistributedSampler& sampler, std::int64_t n, std::size_t b,
                       int steps, std::size_t bucket_cap) {
    dist::DistributedDataParallel ddp(model, {.bucket_cap_bytes = bucket_cap});
    optim::SGD opt(model.trainable_parameters(), {.lr = 0.1, .momentum = 0.9});
    data::DataLoader loader(dataset(n), {.batch_size = b, .shuffle = true, .seed = 5, .sampler = sampler});
    int step = 0;
    while (step < steps)
        for (const auto& [x, y] : loader) {
            if (step++ == steps) break;
            opt.zero_grad();
            nn::functional::cross_entropy(ddp.forward(x), y).backward();
            opt.step();
        }
    EXPECT_GT(ddp.stats().buckets_reduced, 0);
}

/// The same steps in one process: step k's batch is every rank's batch k, concatenated (the
/// shards of a DistributedSampler, which for a divisible dataset is the loader's batch W·b).
void train_single(nn::Module& model, data::DistributedSampler sampler, std::int64_t n, std::size_t b, int steps) {
    optim::SGD opt(model.trainable_parameters(), {.lr = 0.1, .momentum = 0.9});
    std::vector<std::unique_ptr<data::DataLoader>> shards;
    for (std::size_t r = 0; r < world(); ++r) {
        sampler.rank = r;
        shards.push_back(std::make_unique<data::DataLoader>(
            dataset(n), data::DataLoaderOptions{.batch_size = b, .shuffle = true, .seed = 5, .sampler = sampler}));
    }
    int step = 0;
    while (step < steps) {
        std::vector<data::DataLoader::Iterator> its;
        for (auto& shard : shards) its.push_back(shard->begin());
        for (; its[0] != shards[0]->end() && step < steps; ++step) {
            std::vector<Tensor> xs, ys;
            for (auto& it : its) {
                xs.push_back(it->input);
                ys.push_back(it->target);
                ++it;
            }
            opt.zero_grad();
            nn::functional::cross_entropy(model.forward(cat(xs, 0)), cat(ys, 0)).backward();
            opt.step();
        }
    }
}

void expect_equivalent(const data::DistributedSampler& sampler, std::int64_t n, std::size_t b, std::size_t bucket_cap) {
    auto model = mlp(100 + me());
    auto reference = mlp(100);  // rank 0's initial weights: what DDP broadcasts
    train_distributed(*model, sampler, n, b, 10, bucket_cap);
    train_single(*reference, sampler, n, b, 10);
    const auto got = model->named_parameters();
    const auto want = reference->named_parameters();
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_LE(relative_error(got[i].second, want[i].second), 1e-6) << got[i].first << " on rank " << me();
}

TEST(Dist, RankAndWorldSize) {
    EXPECT_GE(dist::world_size(), 2);
    EXPECT_LT(dist::rank(), dist::world_size());
    EXPECT_EQ(dist::is_main_process(), dist::rank() == 0);
}

TEST(Dist, AllReduceAndBroadcast) {
    Tensor t = full({3}, static_cast<double>(me() + 1));
    dist::all_reduce(t, dist::ReduceOp::Sum);
    const double sum = world() * (world() + 1) / 2.0;
    EXPECT_EQ(t.to_vector<float>(), std::vector<float>(3, static_cast<float>(sum)));
    EXPECT_DOUBLE_EQ(dist::all_reduce(double(me()), dist::ReduceOp::Average), (world() - 1) / 2.0);
    EXPECT_DOUBLE_EQ(dist::all_reduce(double(me()), dist::ReduceOp::Max), double(world() - 1));
    Tensor ids = full({2}, static_cast<double>(me()), DType::Int64);
    dist::broadcast(ids, 1);
    EXPECT_EQ(ids.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 1}));
    Tensor labels = full({2}, 1.0, DType::Int64);
    EXPECT_THROW(dist::all_reduce(labels, dist::ReduceOp::Average), DTypeError);
}

TEST(Dist, BroadcastParametersGivesEveryRankRankZerosWeights) {
    auto model = mlp(7 + me());
    dist::broadcast_parameters(*model);
    const auto want = mlp(7)->named_parameters();
    const auto got = model->named_parameters();
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(got[i].second.to_vector<float>(), want[i].second.to_vector<float>()) << got[i].first;
}

TEST(Dist, MismatchedModelsAreRefusedNamingTheFirstDifference) {
    // Rank 1 (and 2) has a wider hidden layer: "0.weight" [16, 5] against [17, 5].
    manual_seed(1);
    nn::Sequential model(nn::Linear(5, me() == 0 ? 16 : 17), nn::ReLU(), nn::Linear(me() == 0 ? 16 : 17, 3));
    try {
        dist::DistributedDataParallel ddp(model);
        FAIL() << "no DistError";
    } catch (const dist::DistError& e) {
        EXPECT_NE(std::string(e.what()).find("trainable parameter 0: rank 0 has '0.weight' [16, 5], rank 1 has "
                                             "'0.weight' [17, 5]"),
                  std::string::npos)
            << e.what();
    }
}

TEST(DDP, MatchesOneProcessWithTheWholeBatch) {
    // 24·W samples, 4 per rank and step: 6 steps an epoch, 10 steps cross an epoch boundary.
    const auto n = static_cast<std::int64_t>(24 * world());
    expect_equivalent({.num_replicas = world(), .rank = me()}, n, 4, 25u << 20);
    // One parameter per bucket: ten all-reduces in flight during each backward.
    expect_equivalent({.num_replicas = world(), .rank = me()}, n, 4, 1);
}

TEST(DDP, MatchesOneProcessOnUnevenShards) {
    // 25 samples: padded to a multiple of W (the ranks' last batches are smaller), or cut.
    expect_equivalent({.num_replicas = world(), .rank = me()}, 25, 4, 256);
    expect_equivalent({.num_replicas = world(), .rank = me(), .drop_last = true}, 25, 4, 256);
}

TEST(DDP, BucketsFollowReverseOrderAndTheCap) {
    auto model = mlp(3);
    dist::DistributedDataParallel one_each(*model, {.bucket_cap_bytes = 1});
    const auto names = one_each.bucket_parameter_names();
    ASSERT_EQ(names.size(), 6u);
    EXPECT_EQ(names.front(), std::vector<std::string>{"4.bias"});
    EXPECT_EQ(names.back(), std::vector<std::string>{"0.weight"});
    dist::DistributedDataParallel together(*model);
    EXPECT_EQ(together.bucket_parameter_names().size(), 1u);
    // 4.bias (12 B) + 4.weight (96 B) fit in 108 bytes; 2.bias starts the next bucket.
    dist::DistributedDataParallel two(*model, {.bucket_cap_bytes = 108});
    EXPECT_EQ(two.bucket_parameter_names().front(), (std::vector<std::string>{"4.bias", "4.weight"}));
}

TEST(DDP, FrozenParametersAreNeverCommunicated) {
    auto model = mlp(4);
    model->freeze("0.*");
    dist::DistributedDataParallel ddp(*model);
    for (const auto& bucket : ddp.bucket_parameter_names())
        for (const auto& name : bucket) EXPECT_NE(name.substr(0, 2), "0.") << name;
    auto [x, y] = data::collate({dataset(4)->get(me()), dataset(4)->get(me())});
    nn::functional::cross_entropy(ddp.forward(x), y).backward();
    std::int64_t trainable = 0;
    for (const auto& p : model->trainable_parameters()) trainable += p.numel();
    EXPECT_EQ(ddp.stats().bytes_reduced, double(trainable * 4));
    EXPECT_FALSE(model->named_parameters()[0].second.grad().defined());  // "0.weight"
}

TEST(DDP, NoSyncAccumulatesLocallyThenAveragesTheSum) {
    auto model = mlp(6);
    dist::DistributedDataParallel ddp(*model, {.bucket_cap_bytes = 64});
    auto ds = dataset(2 * static_cast<std::int64_t>(world()));
    Tensor w = model->named_parameters().back().second;  // "4.bias"
    {
        auto guard = ddp.no_sync();
        auto [x, y] = data::collate({ds->get(me())});
        nn::functional::cross_entropy(ddp.forward(x), y).backward();
    }
    EXPECT_EQ(ddp.stats().synchronized_backwards, 0);
    Tensor local_first = w.grad().clone();
    auto [x, y] = data::collate({ds->get(world() + me())});
    nn::functional::cross_entropy(ddp.forward(x), y).backward();
    EXPECT_EQ(ddp.stats().synchronized_backwards, 1);
    // The expected mean of both micro-batches' sums, from each rank's local gradients.
    auto reference = mlp(6);
    dist::broadcast_parameters(*reference);
    for (std::size_t k : {me(), world() + me()}) {
        auto [xk, yk] = data::collate({ds->get(k)});
        nn::functional::cross_entropy(reference->forward(xk), yk).backward();
    }
    Tensor want = reference->named_parameters().back().second.grad().clone();
    dist::all_reduce(want, dist::ReduceOp::Average);
    EXPECT_LE(relative_error(w.grad(), want), 1e-6);
    EXPECT_GT(relative_error(local_first, want), 1e-3);  // the first backward stayed local
}

}  // namespace
