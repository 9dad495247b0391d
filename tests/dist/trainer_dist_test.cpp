// train::Trainer in a data-parallel job (graft/dist/trainer.hpp): logged values averaged over
// ranks, files written by rank 0 only, accumulation, and a checkpoint written by W ranks resumed
// by one process that then takes the same steps as the job.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "graft/dist/collectives.hpp"
#include "graft/dist/trainer.hpp"
#include "dist_test_util.hpp"
#include "graft/graft.hpp"

using namespace graft;
using namespace graft::dist_test;

namespace {

/// A directory every rank names alike: rank 0's process id, shared by an all-reduce.
std::filesystem::path shared_dir() {
    const double pid = dist::all_reduce(me() == 0 ? double(::getpid()) : 0.0, dist::ReduceOp::Sum);
    auto dir = std::filesystem::path(::testing::TempDir()) / ("graft-dist-trainer-" + std::to_string(long(pid)));
    std::filesystem::create_directories(dir);
    return dir;
}

/// Keeps a copy of the last checkpoint after epoch `epoch` (rank 0 writes it).
struct KeepCheckpoint : train::Callback {
    KeepCheckpoint(std::filesystem::path from, std::filesystem::path to, std::int64_t epoch)
        : from_(std::move(from)), to_(std::move(to)), epoch_(epoch) {}
    void on_epoch_end(train::Trainer&, const train::EpochLogs& logs) override {
        if (logs.epoch == epoch_ && dist::is_main_process())
            std::filesystem::copy_file(from_, to_, std::filesystem::copy_options::overwrite_existing);
    }
    std::filesystem::path from_, to_;
    std::int64_t epoch_;
};

TEST(DistTrainer, AveragesLogsWritesOnRankZeroAndResumesOnOneProcess) {
    const auto dir = shared_dir();
    const auto n = static_cast<std::int64_t>(24 * world());
    const std::size_t b = 4;

    auto model = mlp(30 + me());
    dist::DistributedDataParallel ddp(*model);
    optim::SGD opt(model->trainable_parameters(), {.lr = 0.05, .momentum = 0.9});
    train::Trainer trainer(*model, opt,
                           {.epochs = 3, .accumulate_steps = 2, .last_checkpoint = dir / "last.ckpt",
                            .log_csv = dir / ("log" + std::to_string(me()) + ".csv"), .progress = train::Progress::Off,
                            .distribution = dist::trainer_distribution(ddp)});
    trainer.add_callback(std::make_shared<KeepCheckpoint>(dir / "last.ckpt", dir / "epoch1.ckpt", 1));
    data::DataLoader loader(dataset(n), {.batch_size = b, .shuffle = true, .seed = 5,
                                         .sampler = data::DistributedSampler{.num_replicas = world(), .rank = me()}});
    const train::FitResult result = trainer.fit(loader);
    dist::barrier();

    // Every rank logged the same (averaged) values; only rank 0 wrote files.
    for (const auto& logs : result.history) {
        const double loss = logs.at("train_loss");
        EXPECT_EQ(dist::all_reduce(loss, dist::ReduceOp::Max), dist::all_reduce(loss, dist::ReduceOp::Min));
    }
    EXPECT_EQ(std::filesystem::exists(dir / ("log" + std::to_string(me()) + ".csv")), me() == 0);
    ASSERT_TRUE(std::filesystem::exists(dir / "epoch1.ckpt"));

    // One process resumes the job's checkpoint after epoch 1 and runs epoch 2 with batch W·b:
    // the same steps, so the same parameters.
    auto single = mlp(0);
    optim::SGD single_opt(single->trainable_parameters(), {.lr = 0.05, .momentum = 0.9});
    train::Trainer resumed(*single, single_opt, {.epochs = 3, .accumulate_steps = 2, .progress = train::Progress::Off});
    resumed.resume(dir / "epoch1.ckpt");
    EXPECT_EQ(resumed.epoch(), 2);
    data::DataLoader whole(dataset(n), {.batch_size = b * world(), .shuffle = true, .seed = 5});
    resumed.fit(whole);
    const auto got = model->named_parameters(), want = single->named_parameters();
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_LE(relative_error(got[i].second, want[i].second), 1e-6) << got[i].first;
    }
    dist::barrier();
    if (me() == 0) std::filesystem::remove_all(dir);
}

}  // namespace
