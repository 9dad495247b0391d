// graft/train/sweep.hpp — evaluate and adjust: train a list of recipes (or a grid of settings)
// with early stopping on a validation set and keep the best, with every run's table row and log.
//
//   auto recipes = train::grid({{"lr", {1e-3, 3e-3}}, {"unfreeze_depth", {0, 1, 2}}});  // 6 runs
//   train::SweepResult r = train::sweep(recipes, [&](const train::Recipe& recipe, const train::TrainerOptions& o) {
//       Net net = make_pretrained();                       // everything a run needs, built afresh
//       optim::Adam opt(net.parameters(), {.lr = recipe.param("lr")});
//       ... freeze below recipe.param("unfreeze_depth") ...
//       train::Trainer trainer(net, opt, o);                // o: epochs, monitor, early stopping
//       trainer.add_metric(std::make_shared<train::Accuracy>());
//       return trainer.fit(train_loader, &val_loader);
//   }, {.monitor = "val_accuracy", .epochs = 30, .early_stopping_patience = 4, .seed = 7});
//   std::cout << r.table();                                 // one row per run, the best marked
//   const train::Recipe& chosen = r.best().recipe;
//
// Every run starts from manual_seed(seed), so a sweep is deterministic for a seed and its runs
// differ only by their settings. A run whose training fails with a graft::Error (a learning rate
// that makes the loss non-finite) is kept in the table with its message and never chosen.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "graft/train/callback.hpp"
#include "graft/train/trainer.hpp"

namespace graft::train {

/// One configuration to try: a name and its numeric settings.
struct Recipe {
    std::string name;
    std::map<std::string, double> params{};

    /// The setting under `key`; IndexError naming the recipe and listing the keys it has.
    double param(const std::string& key) const;
};

/// Every combination of the axes' values (the last axis, in key order, varying fastest), each
/// named "key=value,key=value" after `prefix` (and a space). ValueError for no axis or an empty one.
std::vector<Recipe> grid(const std::map<std::string, std::vector<double>>& axes, const std::string& prefix = "");

struct SweepOptions {
    /// The logged value each run is judged by, early-stopped on, and restored to its best epoch.
    std::string monitor = "val_accuracy";
    /// Unset: false for names containing "loss", otherwise true.
    std::optional<bool> monitor_higher_is_better = std::nullopt;
    std::int64_t epochs = 20;
    /// Epochs without improvement before a run stops (0: never).
    std::int64_t early_stopping_patience = 3;
    /// manual_seed(seed) before each run.
    std::uint64_t seed = 0;
};

/// Builds and trains one recipe with the Trainer options the sweep prepared (epochs, monitor,
/// early stopping, restore_best_weights, no progress display; the runner may add to them) and
/// returns fit()'s result. It must build what it trains afresh: the runs share nothing.
using RecipeRunner = std::function<FitResult(const Recipe& recipe, const TrainerOptions& options)>;

/// One run's row and log.
struct SweepRun {
    Recipe recipe;
    double best_value = 0.0;        ///< the monitored value at its best epoch (NaN when it failed)
    std::int64_t best_epoch = -1;   ///< 0-based
    std::int64_t best_step = -1;    ///< optimizer steps by the end of the best epoch
    std::int64_t epochs_run = 0;
    bool stopped_early = false;
    double seconds = 0.0;           ///< wall time of the whole run (building included)
    std::vector<EpochLogs> history; ///< every epoch's logs
    std::string error{};            ///< a failed run's message (empty: it ran)
};

struct SweepResult {
    std::string monitor;
    bool higher_is_better = true;
    std::vector<SweepRun> runs;  ///< in the order of the recipes
    std::size_t best_index = 0;  ///< the best run (the first of equals)

    const SweepRun& best() const { return runs.at(best_index); }
    /// A text table: recipe, best monitored value, best epoch and step, epochs run, seconds; the
    /// best run marked with '*', failed runs with their message.
    std::string table() const;
    /// Every run's per-epoch logs as one CSV: recipe, epoch, then each logged key (empty where a
    /// run did not log it).
    void write_csv(const std::filesystem::path& path) const;
};

/// Runs every recipe and picks the best by the monitored value. ValueError for no recipe, two
/// recipes of one name, a negative epoch count or patience, or when no run produced the monitored
/// value (the first failure's message included).
SweepResult sweep(const std::vector<Recipe>& recipes, const RecipeRunner& run, const SweepOptions& options = {});

}  // namespace graft::train
