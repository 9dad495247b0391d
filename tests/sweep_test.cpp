// train::grid and train::sweep on a tiny synthetic task: the table, the best run, determinism,
// early stopping, failed runs and bad input.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "graft/graft.hpp"
#include "test_util.hpp"

using namespace graft;
using graft::test::ScratchDir;

namespace {

// Two Gaussian blobs in 3-d, 24 training and 24 validation points.
std::shared_ptr<data::TensorDataset> blobs(std::uint64_t seed) {
    Generator g(seed);
    Tensor x = randn({24, 3}, DType::Float32, &g);
    std::vector<std::int64_t> y(24);
    float* px = x.data_ptr<float>();
    for (std::int64_t i = 0; i < 24; ++i) {
        y[static_cast<std::size_t>(i)] = i % 2;
        px[i * 3] += i % 2 ? 1.5f : -1.5f;
    }
    return std::make_shared<data::TensorDataset>(x, from_vector(y, {24}));
}

struct Task {
    std::shared_ptr<data::TensorDataset> train = blobs(1), val = blobs(2);

    // A linear classifier trained with SGD at the recipe's lr (batches of 8: 3 steps per epoch).
    train::FitResult operator()(const train::Recipe& recipe, const train::TrainerOptions& options) const {
        if (recipe.param("lr") < 0) throw ValueError("Task: lr must be >= 0");
        nn::Linear net(3, 2);
        optim::SGD opt(net.parameters(), {.lr = recipe.param("lr")});
        data::DataLoader train_loader(train, {.batch_size = 8, .shuffle = true, .seed = 3});
        data::DataLoader val_loader(val, {.batch_size = 24});
        train::Trainer trainer(net, opt, options);
        trainer.add_metric(std::make_shared<train::Accuracy>());
        return trainer.fit(train_loader, &val_loader);
    }
};

}  // namespace

TEST(Sweep, GridNamesEveryCombination) {
    const auto recipes = train::grid({{"lr", {0.1, 0.01}}, {"depth", {0, 2}}}, "ft");
    ASSERT_EQ(recipes.size(), 4u);
    EXPECT_EQ(recipes[0].name, "ft depth=0,lr=0.1");
    EXPECT_EQ(recipes[1].name, "ft depth=0,lr=0.01");
    EXPECT_EQ(recipes[3].name, "ft depth=2,lr=0.01");
    EXPECT_EQ(recipes[3].param("depth"), 2.0);
    EXPECT_THROW_MSG(recipes[0].param("momentum"), IndexError, "no setting 'momentum' (it has: depth, lr)");
    EXPECT_THROW_MSG(train::grid({{"lr", {}}}), ValueError, "axis 'lr' has no value");
}

TEST(Sweep, PicksTheBestRunAndIsDeterministicForASeed) {
    const Task task;
    const std::vector<train::Recipe> recipes = {{"tiny lr", {{"lr", 1e-5}}}, {"good lr", {{"lr", 0.5}}}};
    const train::SweepOptions options{.monitor = "val_loss", .epochs = 6, .early_stopping_patience = 2, .seed = 11};
    const auto a = train::sweep(recipes, task, options);
    const auto b = train::sweep(recipes, task, options);
    ASSERT_EQ(a.runs.size(), 2u);
    EXPECT_FALSE(a.higher_is_better);
    EXPECT_EQ(a.best().recipe.name, "good lr");
    EXPECT_LT(a.runs[1].best_value, a.runs[0].best_value);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(a.runs[i].best_value, b.runs[i].best_value);
        EXPECT_EQ(a.runs[i].best_epoch, b.runs[i].best_epoch);
        ASSERT_EQ(a.runs[i].history.size(), b.runs[i].history.size());
        for (std::size_t e = 0; e < a.runs[i].history.size(); ++e)
            EXPECT_EQ(a.runs[i].history[e].at("val_loss"), b.runs[i].history[e].at("val_loss"));
        // 3 optimizer steps per epoch; the row's value is its history's best.
        EXPECT_EQ(a.runs[i].best_step, 3 * (a.runs[i].best_epoch + 1));
        EXPECT_EQ(a.runs[i].best_value, a.runs[i].history.at(static_cast<std::size_t>(a.runs[i].best_epoch)).at("val_loss"));
        EXPECT_EQ(a.runs[i].epochs_run, static_cast<std::int64_t>(a.runs[i].history.size()));
        if (a.runs[i].stopped_early) {
            EXPECT_EQ(a.runs[i].epochs_run, a.runs[i].best_epoch + 1 + 2);
        }
    }
    const std::string table = a.table();
    EXPECT_NE(table.find("* good lr"), std::string::npos) << table;
    EXPECT_NE(table.find("  tiny lr"), std::string::npos) << table;
    EXPECT_NE(table.find("best val_loss"), std::string::npos) << table;
}

TEST(Sweep, EarlyStoppingEndsARunThatStopsImproving) {
    // A monitored value that never improves after epoch 0: patience 2 ends the run after 3 epochs.
    const Task task;
    const auto r = train::sweep({{"lr0", {{"lr", 0.0}}}}, task,
                                {.monitor = "val_loss", .epochs = 10, .early_stopping_patience = 2});
    EXPECT_TRUE(r.best().stopped_early);
    EXPECT_EQ(r.best().epochs_run, 3);
    EXPECT_EQ(r.best().best_epoch, 0);
}

TEST(Sweep, FailedRunsAreKeptAndNeverChosen) {
    const Task task;
    const auto r = train::sweep({{"negative", {{"lr", -1.0}}}, {"ok", {{"lr", 0.1}}}}, task, {.epochs = 2});
    ASSERT_EQ(r.runs.size(), 2u);
    EXPECT_FALSE(r.runs[0].error.empty());
    EXPECT_TRUE(std::isnan(r.runs[0].best_value));
    EXPECT_EQ(r.best_index, 1u);
    EXPECT_NE(r.table().find("negative  failed: "), std::string::npos) << r.table();

    ScratchDir dir("sweep");
    r.write_csv(dir.path("runs.csv"));
    std::ifstream in(dir.path("runs.csv"));
    std::string header, row;
    std::getline(in, header);
    EXPECT_EQ(header.rfind("recipe,epoch,", 0), 0u) << header;
    EXPECT_NE(header.find("val_accuracy"), std::string::npos) << header;
    int rows = 0;
    while (std::getline(in, row)) {
        EXPECT_EQ(row.rfind("ok,", 0), 0u) << row;
        ++rows;
    }
    EXPECT_EQ(rows, 2);

    EXPECT_THROW_MSG(train::sweep({{"negative", {{"lr", -1.0}}}}, task), ValueError,
                     "no run produced 'val_accuracy'; the first failure: 'negative': Task: lr must be >= 0");
    EXPECT_THROW_MSG(train::sweep({{"a", {}}, {"a", {}}}, task), ValueError, "two recipes are named 'a'");
    EXPECT_THROW_MSG(train::sweep({}, task), ValueError, "no recipe");
}
