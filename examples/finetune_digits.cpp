// finetune_digits — the flagship demo: what fine-tuning buys on the UCI handwritten digits, and
// where it does not, measured over seeds.
//
//   build/examples/finetune_digits                 # the short study: 10 labels per class, 5 seeds
//   build/examples/finetune_digits --full          # 1, 5, 10 and 50 labels per class; guards too
//   build/examples/finetune_digits --full --sweep  # choose every setting on a validation split first
//
// 1. Pretrain a small CNN on the digits 0–4 (about 800 images), save it as safetensors, and save
//    the diagonal Fisher of that task next to it (for EWC).
// 2. The new task: digits 5–9 from a few labelled images per class. Recipes, each on the same
//    images and seeds: the new head alone on cached features of the frozen backbone; gradual
//    unfreezing (head, then the upper conv block, then the lower) with discriminative learning
//    rates; full fine-tuning with a small learning rate; with --guards (in --full) those two under
//    a forgetting guard (L2-SP, EWC); and the same network trained from scratch.
// 3. Accuracy on held-out 5–9 images after each step budget, mean ± std over the seeds, with a
//    paired t-test of each fine-tuning recipe against scratch (same seeds, same images); the
//    source task's accuracy (digits 0–4, the fine-tuned backbone under the pretrained head)
//    before and after each recipe. OUT/results.csv holds every run; OUT/accuracy_vs_labels.svg
//    (labelled) and .png plot accuracy against labels per class at the largest step budget.
//
// The recipes' settings (learning rates, decay, unfreezing pace, the guards' strengths) are the
// ones --sweep picks on a validation split that no reported evaluation uses (docs/user-guide.md
// shows its tables). The data (examples/data/digits.csv.gz) is the UCI "Optical Recognition of
// Handwritten Digits" test set as shipped by scikit-learn, CC BY 4.0 (see examples/data/README.md).
// Exits non-zero if no fine-tuning recipe beats training from scratch at the smallest budgets.
#include <graft/graft.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "png_chart.hpp"
#include "seed_stats.hpp"
#include "svg_chart.hpp"

namespace {

using namespace graft;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

/// Each recipe's settings; the defaults are what --sweep chose (docs/user-guide.md).
struct Settings {
    double head_lr = 1e-3;
    double gradual_lr = 3e-3;
    double gradual_decay = 1.0;        // each lower block's lr this factor below the one above
    std::int64_t gradual_every = 10;   // steps between unfreezing one more block
    double full_lr = 3e-4;
    double scratch_lr = 1e-3;
    double l2sp_alpha = 1.0;           // on the pretrained parameters
    double l2sp_beta = 0.1;            // on the new head: alpha / 10
    double ewc_lambda = 1e7;
};

struct Args {
    fs::path data = GRAFT_EXAMPLES_DATA_DIR "/digits.csv.gz";
    fs::path out = "finetune_digits_out";
    std::vector<std::int64_t> shots = {10};
    std::vector<std::int64_t> steps = {10, 100};
    std::int64_t seeds = 5;
    std::int64_t pretrain_epochs = 12;
    std::int64_t fisher_batches = 10;
    bool full = false;
    bool guards = false;
    bool sweep = false;
    bool compare_cache = true;
    bool bf16 = false;  // the new-task training steps under bf16 autocast
    Settings settings{};
};

void usage(const char* argv0) {
    std::printf(
        "usage: %s [options]\n"
        "Pretrains a CNN on digits 0-4, then learns digits 5-9 from a few labelled images per class\n"
        "with several fine-tuning recipes and from scratch, over seeds, and compares them.\n\n"
        "  --data FILE            digits CSV (.csv or .csv.gz; 64 pixels 0..16 and a label per row)\n"
        "                         [default: %s]\n"
        "  --out DIR              where the weights, Fisher, results.csv and charts go [finetune_digits_out]\n"
        "  --shots N,N,...        labelled images per class (label budgets) [10]\n"
        "  --steps N,N,...        optimizer steps after which accuracy is measured [10,100]\n"
        "  --seeds N              repetitions with different examples and initialisations [5]\n"
        "  --full                 the whole study: --shots 1,5,10,50 --steps 10,30,100 --guards\n"
        "  --guards               also run gradual and full fine-tuning under L2-SP and EWC\n"
        "  --sweep                choose the recipes' settings by a validation sweep first\n"
        "  --pretrain-epochs N    epochs on digits 0-4 [12]\n"
        "  --fisher-batches N     batches of 32 source images for EWC's Fisher [10]\n"
        "  --no-cache-compare     skip timing the head training without the feature cache\n"
        "  --bf16                 train on the new task under bf16 autocast (TrainerOptions::autocast)\n"
        "  --help\n",
        argv0, GRAFT_EXAMPLES_DATA_DIR "/digits.csv.gz");
}

using examples::positive_list;

Args parse(int argc, char** argv) {
    Args a;
    bool shots_given = false, steps_given = false;
    examples::Cli cli(argc, argv);
    while (cli.next()) {
        if (cli.is_help()) {
            usage(argv[0]);
            std::exit(0);
        } else if (cli.is("--data")) a.data = cli.value();
        else if (cli.is("--out")) a.out = cli.value();
        else if (cli.is("--shots")) a.shots = positive_list(cli.value(), "--shots"), shots_given = true;
        else if (cli.is("--steps")) a.steps = positive_list(cli.value(), "--steps"), steps_given = true;
        else if (cli.is("--seeds")) a.seeds = cli.positive();
        else if (cli.is("--full")) a.full = true;
        else if (cli.is("--guards")) a.guards = true;
        else if (cli.is("--sweep")) a.sweep = true;
        else if (cli.is("--pretrain-epochs")) a.pretrain_epochs = cli.positive();
        else if (cli.is("--fisher-batches")) a.fisher_batches = cli.positive();
        else if (cli.is("--no-cache-compare")) a.compare_cache = false;
        else if (cli.is("--bf16")) a.bf16 = true;
        else cli.unknown();
    }
    if (a.full && !shots_given) a.shots = {1, 5, 10, 50};
    if (a.full && !steps_given) a.steps = {10, 30, 100};
    if (a.full) a.guards = true;
    if (a.seeds < 2) throw ValueError("--seeds: the paired t-test needs at least 2 seeds");
    return a;
}

/// A small CNN for 1×8×8 images: two conv blocks ("features.0", "features.1"; [N, 512] out) and
/// an MLP "head".
struct DigitNet : nn::Cloneable<DigitNet> {
    explicit DigitNet(std::int64_t classes = 5) : classes(classes) { reset(); }
    void reset() override {
        nn::Sequential blocks;
        blocks.push_back(nn::Sequential{nn::Conv2d(1, 16, 3, {.padding = 1}), nn::BatchNorm2d(16), nn::ReLU()});
        blocks.push_back(nn::Sequential{nn::Conv2d(16, 32, 3, {.padding = 1}), nn::BatchNorm2d(32), nn::ReLU(),
                                        nn::MaxPool2d(2), nn::Flatten()});
        register_module("features", &DigitNet::features, std::move(blocks));
        register_module("head", &DigitNet::head, make_head(classes));
    }
    static nn::Sequential make_head(std::int64_t classes) {
        return nn::Sequential{nn::Linear(32 * 4 * 4, 64), nn::ReLU(), nn::Linear(64, classes)};
    }
    Tensor forward(const Tensor& x) override { return head(features(x)); }
    std::string type_name() const override { return "DigitNet"; }
    std::int64_t classes;
    nn::Child<nn::Sequential> features;
    nn::Child<nn::Sequential> head;
};

struct Digits {
    Tensor images;                    // [N, 1, 8, 8] float32 in [0, 1]
    std::vector<std::int64_t> labels; // 0..9
};

Digits load_digits(const fs::path& path) {
    auto ds = data::load_csv(path, {.header = false});
    const std::int64_t n = static_cast<std::int64_t>(ds->size());
    std::vector<Tensor> rows;
    Digits d;
    for (std::int64_t i = 0; i < n; ++i) {
        const data::Example e = ds->get(static_cast<std::size_t>(i));
        if (e.input.numel() != 64) throw ValueError(path.string() + ": expected 64 pixels per row");
        rows.push_back(e.input);
        d.labels.push_back(e.target.item<std::int64_t>());
    }
    d.images = (stack(rows, 0) / 16.0).reshape({n, 1, 8, 8}).contiguous();
    return d;
}

/// The images at `idx`, labels shifted down by `label_offset`.
std::shared_ptr<data::TensorDataset> subset(const Digits& d, const std::vector<std::int64_t>& idx,
                                            std::int64_t label_offset) {
    std::vector<std::int64_t> y;
    for (auto i : idx) y.push_back(d.labels[static_cast<std::size_t>(i)] - label_offset);
    const auto n = static_cast<std::int64_t>(idx.size());
    return std::make_shared<data::TensorDataset>(index_select(d.images, 0, from_vector(idx, {n})), from_vector(y, {n}));
}

void shuffle(std::vector<std::int64_t>& v, Generator& g) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<std::size_t>(g.randint(0, static_cast<std::int64_t>(i)))]);
}

/// Accuracy and mean cross-entropy on a dataset, in eval mode.
struct Score {
    double accuracy = 0.0, loss = 0.0;
};

Score score_on(nn::Module& model, const std::shared_ptr<const data::Dataset>& set) {
    const bool was_training = model.is_training();
    model.eval();
    NoGradGuard no_grad;
    train::Accuracy acc;
    acc.reset();
    double loss_sum = 0.0;
    data::DataLoader loader(set, {.batch_size = 256});
    for (const data::Example& b : loader) {
        const Tensor out = model.forward(b.input);
        acc.update(out, b.target);
        loss_sum += nn::functional::cross_entropy(out, b.target).item<double>() * static_cast<double>(b.input.size(0));
    }
    model.train(was_training);
    return {acc.compute(), loss_sum / static_cast<double>(set->size())};
}

using examples::mean;
using examples::stddev;

// ---- the recipes ----------------------------------------------------------------------------

enum class Kind { Head, Gradual, Full, Scratch };
enum class Guard { None, L2SP, EWC };

struct Recipe {
    std::string name;
    Kind kind;
    Guard guard = Guard::None;
    std::string color;
};

/// The recipes compared, scratch last; the guarded ones with `guards`.
std::vector<Recipe> recipes(bool guards) {
    const std::vector<Recipe> all = {
        {"head (cached)", Kind::Head, Guard::None, "#1f77b4"},
        {"gradual", Kind::Gradual, Guard::None, "#2ca02c"},
        {"gradual+L2-SP", Kind::Gradual, Guard::L2SP, "#98df8a"},
        {"full", Kind::Full, Guard::None, "#9467bd"},
        {"full+L2-SP", Kind::Full, Guard::L2SP, "#c5b0d5"},
        {"full+EWC", Kind::Full, Guard::EWC, "#8c564b"},
        {"scratch", Kind::Scratch, Guard::None, "#d62728"},
    };
    std::vector<Recipe> out;
    for (const auto& r : all)
        if (guards || r.guard == Guard::None) out.push_back(r);
    return out;
}

/// What every target run shares: the pretrained weights, the source task's Fisher and validation images.
struct Context {
    StateDict pretrained;
    StateDict fisher;
    std::shared_ptr<const data::Dataset> source_val;
    Settings settings;
};

/// The 5–9 learning rate of a recipe's top group.
double recipe_lr(const Settings& s, Kind k) {
    switch (k) {
        case Kind::Head: return s.head_lr;
        case Kind::Gradual: return s.gradual_lr;
        case Kind::Full: return s.full_lr;
        case Kind::Scratch: return s.scratch_lr;
    }
    return 0.0;
}

/// One more block trainable every `every` optimizer steps (GradualUnfreezing's schedule, by steps
/// rather than epochs, so that the pace is the same at every label budget).
struct StepUnfreezing final : train::Callback {
    StepUnfreezing(nn::Module& model, std::int64_t every)
        : schedule(model, {"head.*", "features.1.*", "features.0.*"}, 1, 1), every(every) {}
    void on_fit_begin(train::Trainer&) override { schedule.apply(0); }
    void on_step_end(train::Trainer&, std::int64_t step, double) override { schedule.apply(step / every); }
    train::GradualUnfreezing schedule;
    std::int64_t every;
};

/// Accuracy on a loader after given optimizer steps; stops the fit after the last.
struct EvalAtSteps final : train::Callback {
    EvalAtSteps(std::vector<std::int64_t> steps, data::DataLoader& loader) : steps(std::move(steps)), loader(&loader) {}
    void on_step_end(train::Trainer& t, std::int64_t step, double) override {
        if (next < steps.size() && step == steps[next]) {
            accuracy.push_back(t.evaluate(*loader).at("accuracy"));
            if (++next == steps.size()) t.request_stop();
        }
    }
    std::vector<std::int64_t> steps;
    data::DataLoader* loader;
    std::vector<double> accuracy;
    std::size_t next = 0;
};

struct Outcome {
    std::vector<double> accuracy;  // at each step budget
    Score source;                  // digits 0-4, the fine-tuned backbone under the pretrained head
    double seconds = 0.0;
    train::FitResult fit;
};

/// Trains one recipe on `train_set`. With `validate`, the Trainer validates on `eval_set` each
/// epoch (the sweep's early stopping, options from it); otherwise accuracy on `eval_set` is taken
/// after each of `eval_steps` optimizer steps.
Outcome train_target(const Context& cx, const Recipe& r, const Settings& s,
                     const std::shared_ptr<const data::Dataset>& train_set,
                     const std::shared_ptr<const data::Dataset>& eval_set, const std::vector<std::int64_t>& eval_steps,
                     std::uint64_t seed, train::TrainerOptions options, bool validate) {
    const auto t0 = Clock::now();
    manual_seed(seed);
    DigitNet net(5);
    if (r.kind != Kind::Scratch) {
        net.load_state_dict(cx.pretrained);
        net.head = DigitNet::make_head(5);
    }
    nn::Module* model = &net;
    std::shared_ptr<const data::Dataset> tr = train_set, ev = eval_set;
    if (r.kind == Kind::Head) {
        // The backbone never changes: train the head on its features, computed once.
        net.features->freeze({.batchnorm_eval = true});
        tr = train::cache_features(*net.features, train_set);
        ev = train::cache_features(*net.features, eval_set);
        model = &*net.head;
    }
    const double lr = recipe_lr(s, r.kind);
    std::vector<optim::ParamGroup<optim::AdamOptions>> groups;
    if (r.kind == Kind::Gradual)
        groups = train::discriminative_lr_groups<optim::AdamOptions>(net, {"head.*", "features.1.*", "features.0.*"},
                                                                     {.lr = lr}, s.gradual_decay);
    else
        groups.push_back({model->parameters(), {.lr = lr}});
    optim::Adam opt(groups);
    if (r.guard == Guard::L2SP)
        options.guard = std::make_shared<train::L2SP>(
            net, cx.pretrained,
            train::L2SPOptions{.alpha = s.l2sp_alpha, .beta = s.l2sp_beta, .new_parameters = {"head.*"}});
    else if (r.guard == Guard::EWC)
        options.guard = std::make_shared<train::EWC>(net, cx.pretrained, cx.fisher,
                                                     train::EWCOptions{.lambda = s.ewc_lambda, .new_parameters = {"head.*"}});
    options.progress = train::Progress::Off;

    data::DataLoader train_loader(tr, {.batch_size = 10, .shuffle = true, .seed = seed});
    data::DataLoader eval_loader(ev, {.batch_size = 256});
    const auto steps_per_epoch = static_cast<std::int64_t>(train_loader.size());
    if (!validate) options.epochs = (eval_steps.back() + steps_per_epoch - 1) / steps_per_epoch;
    train::Trainer trainer(*model, opt, options);
    trainer.add_metric(std::make_shared<train::Accuracy>());
    auto at_steps = std::make_shared<EvalAtSteps>(validate ? std::vector<std::int64_t>{} : eval_steps, eval_loader);
    if (!validate) trainer.add_callback(at_steps);
    if (r.kind == Kind::Gradual) trainer.add_callback(std::make_shared<StepUnfreezing>(net, s.gradual_every));

    Outcome out;
    out.fit = trainer.fit(train_loader, validate ? &eval_loader : nullptr);
    out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    out.accuracy = at_steps->accuracy;
    // How much of 0-4 the adapted backbone still knows: its features under the pretrained head.
    DigitNet source(5);
    source.load_state_dict(cx.pretrained);
    source.features->load_state_dict(net.features->state_dict());
    out.source = score_on(source, cx.source_val);
    return out;
}

/// The validation sweep: each recipe kind's grid, 10 labels per class, early stopping on the dev split.
Settings sweep_settings(const Context& cx, const std::shared_ptr<const data::Dataset>& train_set,
                        const std::shared_ptr<const data::Dataset>& dev_set, const fs::path& out, bool guards) {
    Settings s = cx.settings;
    const train::SweepOptions options{.monitor = "val_accuracy", .epochs = 20, .early_stopping_patience = 5, .seed = 999};
    std::ofstream tables(out / "sweep.txt");
    auto run_grid = [&](const Recipe& r, const std::map<std::string, std::vector<double>>& axes, auto&& apply) {
        const auto result = train::sweep(train::grid(axes, r.name), [&](const train::Recipe& rec, const train::TrainerOptions& o) {
            Settings trial = s;
            apply(trial, rec);
            return train_target(cx, r, trial, train_set, dev_set, {}, 999, o, true).fit;
        }, options);
        std::printf("%s\n", result.table().c_str());
        tables << result.table() << "\n";
        std::string file = r.name.substr(0, r.name.find(' '));
        std::replace(file.begin(), file.end(), '+', '_');
        result.write_csv(out / ("sweep_" + file + ".csv"));
        apply(s, result.best().recipe);
    };
    const auto all = recipes(true);
    run_grid(all[0], {{"lr", {1e-3, 3e-3, 1e-2}}}, [](Settings& t, const train::Recipe& rec) { t.head_lr = rec.param("lr"); });
    run_grid(all[1], {{"lr", {1e-3, 3e-3, 1e-2}}, {"decay", {0.3, 1.0}}, {"every", {10, 40}}},
             [](Settings& t, const train::Recipe& rec) {
                 t.gradual_lr = rec.param("lr");
                 t.gradual_decay = rec.param("decay");
                 t.gradual_every = static_cast<std::int64_t>(rec.param("every"));
             });
    run_grid(all[3], {{"lr", {1e-4, 3e-4, 1e-3, 3e-3}}}, [](Settings& t, const train::Recipe& rec) { t.full_lr = rec.param("lr"); });
    run_grid(all[6], {{"lr", {1e-3, 3e-3, 1e-2}}}, [](Settings& t, const train::Recipe& rec) { t.scratch_lr = rec.param("lr"); });
    if (guards) {
        // The guards' strengths on full fine-tuning (its lr chosen above), strongest first so that
        // a tie on the dev accuracy keeps the stronger guard.
        run_grid(all[4], {{"alpha", {10.0, 1.0, 0.1, 0.01}}}, [](Settings& t, const train::Recipe& rec) {
            t.l2sp_alpha = rec.param("alpha");
            t.l2sp_beta = rec.param("alpha") / 10;
        });
        run_grid(all[5], {{"lambda", {1e8, 1e7, 1e6, 1e5, 1e4}}},
                 [](Settings& t, const train::Recipe& rec) { t.ewc_lambda = rec.param("lambda"); });
    }
    std::printf("chosen: head lr %g; gradual lr %g, decay %g, every %lld steps; full lr %g; scratch lr %g; L2-SP alpha %g "
                "beta %g; EWC lambda %g\n", s.head_lr, s.gradual_lr, s.gradual_decay, static_cast<long long>(s.gradual_every),
                s.full_lr, s.scratch_lr, s.l2sp_alpha, s.l2sp_beta, s.ewc_lambda);
    return s;
}

// ---- the study --------------------------------------------------------------------------------

int run(const Args& a) {
    fs::create_directories(a.out);
    const Digits digits = load_digits(a.data);
    std::vector<std::int64_t> source, target[5];
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(digits.labels.size()); ++i) {
        const auto y = digits.labels[static_cast<std::size_t>(i)];
        if (y < 5) source.push_back(i);
        else target[y - 5].push_back(i);
    }
    std::printf("digits: %zu images; source task 0-4: %zu, target task 5-9: %zu\n", digits.labels.size(),
                source.size(), digits.labels.size() - source.size());

    // ---- 1. pretrain on 0–4, and the Fisher of that task ------------------------------------
    const fs::path pretrained_path = a.out / "pretrained_digits_0-4.safetensors";
    Context cx;
    cx.settings = a.settings;
    Score source_before;
    {
        Generator g(1234);
        std::vector<std::int64_t> idx = source;
        shuffle(idx, g);
        const std::size_t n_val = idx.size() / 10;
        std::vector<std::int64_t> val(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(n_val));
        std::vector<std::int64_t> tr(idx.begin() + static_cast<std::ptrdiff_t>(n_val), idx.end());
        cx.source_val = subset(digits, val, 0);
        manual_seed(1234);
        DigitNet net(5);
        auto source_train = subset(digits, tr, 0);
        data::DataLoader train_loader(source_train, {.batch_size = 32, .shuffle = true, .seed = 1});
        data::DataLoader val_loader(cx.source_val, {.batch_size = 256});
        optim::Adam opt(net.parameters(), {.lr = 2e-3});
        train::Trainer trainer(net, opt, {.epochs = a.pretrain_epochs, .monitor = "val_accuracy",
                                          .log_csv = a.out / "pretrain_log.csv", .progress = train::Progress::Auto});
        trainer.add_metric(std::make_shared<train::Accuracy>());
        std::printf("\n[1/4] pretraining on digits 0-4 (%zu train, %zu val images)\n", tr.size(), val.size());
        const auto r = trainer.fit(train_loader, &val_loader);
        source_before = score_on(net, cx.source_val);
        io::save_safetensors(pretrained_path, net.state_dict(),
                             {{"task", "UCI digits 0-4"}, {"val_accuracy", std::to_string(source_before.accuracy)}, {"model", "DigitNet"}});
        data::DataLoader fisher_loader(source_train, {.batch_size = 32, .shuffle = true, .seed = 2});
        train::save_fisher(train::fisher_path(pretrained_path), train::estimate_fisher(net, fisher_loader, a.fisher_batches));
        std::printf("pretrained: val accuracy %.3f, loss %.4f in %.1f s -> %s (Fisher: %s)\n", source_before.accuracy,
                    source_before.loss, r.seconds,
                    pretrained_path.c_str(), train::fisher_path(pretrained_path).c_str());
    }
    cx.pretrained = io::load_safetensors(pretrained_path);
    cx.fisher = train::load_fisher(train::fisher_path(pretrained_path));

    // ---- the target splits: a dev split for the sweep, the rest for the seeds -----------------
    const std::int64_t dev_per_class = 20, max_shots = a.shots.back();
    std::vector<std::int64_t> dev, pool[5];
    {
        Generator g(4242);
        for (int c = 0; c < 5; ++c) {
            std::vector<std::int64_t> idx = target[c];
            shuffle(idx, g);
            if (static_cast<std::int64_t>(idx.size()) < dev_per_class + max_shots + 20)
                throw ValueError("--shots " + std::to_string(max_shots) + " leaves too few evaluation images of digit " +
                                 std::to_string(c + 5));
            dev.insert(dev.end(), idx.begin(), idx.begin() + dev_per_class);
            pool[c].assign(idx.begin() + dev_per_class, idx.end());
        }
    }
    // Seed s: pool shuffled by Generator(100 + s); its first `shots` images per class train,
    // everything after the first max_shots evaluates (the same images at every label budget).
    auto split = [&](std::uint64_t seed, std::int64_t shots) {
        Generator g(seed);
        std::vector<std::int64_t> tr, ev;
        for (const auto& cls : pool) {
            std::vector<std::int64_t> idx = cls;
            shuffle(idx, g);
            tr.insert(tr.end(), idx.begin(), idx.begin() + shots);
            ev.insert(ev.end(), idx.begin() + max_shots, idx.end());
        }
        return std::pair{subset(digits, tr, 5), subset(digits, ev, 5)};
    };

    std::printf("\n[2/4] recipe settings");
    if (a.sweep) {
        std::printf(": validation sweep, 10 labels per class, early stopping on %lld dev images per class\n",
                    static_cast<long long>(dev_per_class));
        auto [sweep_train, unused] = split(999, std::min<std::int64_t>(10, max_shots));
        cx.settings = sweep_settings(cx, sweep_train, subset(digits, dev, 5), a.out, a.guards);
    } else {
        const Settings& s = cx.settings;
        std::printf(" (chosen by --sweep): head lr %g; gradual lr %g, decay %g, one more block every %lld steps; full lr "
                    "%g; scratch lr %g; L2-SP alpha %g beta %g; EWC lambda %g\n",
                    s.head_lr, s.gradual_lr, s.gradual_decay, static_cast<long long>(s.gradual_every), s.full_lr,
                    s.scratch_lr, s.l2sp_alpha, s.l2sp_beta, s.ewc_lambda);
    }

    // ---- 3. every recipe at every label budget, over seeds ------------------------------------
    const auto all = recipes(a.guards);
    const std::size_t R = all.size(), S = a.steps.size();
    // acc[shots index][recipe][step index] = one value per seed
    std::vector<std::vector<std::vector<std::vector<double>>>> acc(a.shots.size(), std::vector<std::vector<std::vector<double>>>(R, std::vector<std::vector<double>>(S)));
    std::vector<std::vector<std::vector<double>>> source_acc(a.shots.size(), std::vector<std::vector<double>>(R));
    auto source_loss = source_acc;
    std::vector<std::vector<double>> seconds(a.shots.size(), std::vector<double>(R, 0.0));
    std::ofstream csv(a.out / "results.csv");
    csv << "recipe,shots,seed,steps,target_accuracy,source_accuracy,source_loss,seconds\n";
    std::printf("\n[3/4] digits 5-9: %zu recipes x %zu label budgets x %lld seeds, accuracy after %s steps\n", R,
                a.shots.size(), static_cast<long long>(a.seeds), [&] {
                    std::string s;
                    for (auto v : a.steps) s += (s.empty() ? "" : ", ") + std::to_string(v);
                    return s;
                }().c_str());
    for (std::size_t bi = 0; bi < a.shots.size(); ++bi) {
        for (std::int64_t seed = 0; seed < a.seeds; ++seed) {
            auto [train_set, eval_set] = split(static_cast<std::uint64_t>(100 + seed), a.shots[bi]);
            for (std::size_t ri = 0; ri < R; ++ri) {
                const Outcome o = train_target(cx, all[ri], cx.settings, train_set, eval_set, a.steps,
                                               static_cast<std::uint64_t>(seed),
                                               {.autocast = a.bf16 ? DType::BFloat16 : DType::Float32}, false);
                for (std::size_t si = 0; si < S; ++si) {
                    acc[bi][ri][si].push_back(o.accuracy.at(si));
                    csv << all[ri].name << "," << a.shots[bi] << "," << seed << "," << a.steps[si] << ","
                        << o.accuracy[si] << "," << o.source.accuracy << "," << o.source.loss << "," << o.seconds << "\n";
                }
                source_acc[bi][ri].push_back(o.source.accuracy);
                source_loss[bi][ri].push_back(o.source.loss);
                seconds[bi][ri] += o.seconds / static_cast<double>(a.seeds);
            }
        }
        std::printf("  %lld labels per class done\n", static_cast<long long>(a.shots[bi]));
        std::fflush(stdout);
    }
    csv.close();

    // Target accuracy table.
    std::printf("\ntarget accuracy (digits 5-9, held-out images), mean ± std over %lld seeds\n", static_cast<long long>(a.seeds));
    std::printf("%6s %6s |", "labels", "steps");
    for (const auto& r : all) std::printf(" %13s", r.name.c_str());
    std::printf("\n");
    for (std::size_t bi = 0; bi < a.shots.size(); ++bi)
        for (std::size_t si = 0; si < S; ++si) {
            std::printf("%6lld %6lld |", static_cast<long long>(a.shots[bi]), static_cast<long long>(a.steps[si]));
            for (std::size_t ri = 0; ri < R; ++ri)
                std::printf("  %5.1f ± %4.1f", 100 * mean(acc[bi][ri][si]), 100 * stddev(acc[bi][ri][si]));
            std::printf("\n");
        }

    // Paired t-tests against scratch.
    const std::size_t scratch = R - 1;
    std::printf("\nfine-tuned minus scratch, points (paired t-test over the seeds, two-sided p)\n");
    std::printf("%6s %6s |", "labels", "steps");
    for (std::size_t ri = 0; ri < scratch; ++ri) std::printf(" %17s", all[ri].name.c_str());
    std::printf("\n");
    bool beats_scratch_early = false;
    for (std::size_t bi = 0; bi < a.shots.size(); ++bi)
        for (std::size_t si = 0; si < S; ++si) {
            std::printf("%6lld %6lld |", static_cast<long long>(a.shots[bi]), static_cast<long long>(a.steps[si]));
            for (std::size_t ri = 0; ri < scratch; ++ri) {
                const auto t = train::paired_t_test(acc[bi][ri][si], acc[bi][scratch][si]);
                std::printf("  %+6.1f (p %5.3f)", 100 * t.mean_difference, t.p_value);
                if (bi == 0 && si == 0 && t.mean_difference > 0) beats_scratch_early = true;
            }
            std::printf("\n");
        }

    // Source task before and after.
    std::printf("\nsource task after %lld steps (digits 0-4, %zu held-out images; the adapted backbone under the "
                "pretrained head): accuracy %% / cross-entropy; before: %.1f / %.4f\n",
                static_cast<long long>(a.steps.back()), cx.source_val->size(), 100 * source_before.accuracy,
                source_before.loss);
    std::printf("%6s |", "labels");
    for (std::size_t ri = 0; ri < scratch; ++ri) std::printf(" %15s", all[ri].name.c_str());
    std::printf("\n");
    for (std::size_t bi = 0; bi < a.shots.size(); ++bi) {
        std::printf("%6lld |", static_cast<long long>(a.shots[bi]));
        for (std::size_t ri = 0; ri < scratch; ++ri)
            std::printf("  %5.1f / %6.4f", 100 * mean(source_acc[bi][ri]), mean(source_loss[bi][ri]));
        std::printf("\n");
    }
    std::printf("\nmean wall time per run, seconds (all step budgets)\n%6s |", "labels");
    for (const auto& r : all) std::printf(" %13s", r.name.c_str());
    std::printf("\n");
    for (std::size_t bi = 0; bi < a.shots.size(); ++bi) {
        std::printf("%6lld |", static_cast<long long>(a.shots[bi]));
        for (std::size_t ri = 0; ri < R; ++ri) std::printf(" %13.2f", seconds[bi][ri]);
        std::printf("\n");
    }

    // ---- what the feature cache saves ----------------------------------------------------------
    if (a.compare_cache) {
        manual_seed(0);
        DigitNet ft(5);
        ft.load_state_dict(cx.pretrained);
        ft.head = DigitNet::make_head(5);
        ft.features->freeze({.batchnorm_eval = true});
        auto [train_set, unused] = split(100, max_shots);
        auto no_cache = ft.clone();
        const std::int64_t epochs = 20;
        const auto t0 = Clock::now();
        {
            data::DataLoader loader(train_set, {.batch_size = 10, .shuffle = true, .seed = 0});
            optim::Adam opt(no_cache->trainable_parameters(), {.lr = cx.settings.head_lr});
            train::Trainer(*no_cache, opt, {.epochs = epochs, .progress = train::Progress::Off}).fit(loader);
        }
        const double t_full = std::chrono::duration<double>(Clock::now() - t0).count();
        const auto t1 = Clock::now();
        {
            auto feats = train::cache_features(*ft.features, train_set);
            data::DataLoader loader(feats, {.batch_size = 10, .shuffle = true, .seed = 0});
            optim::Adam opt(ft.head->parameters(), {.lr = cx.settings.head_lr});
            train::Trainer(*ft.head, opt, {.epochs = epochs, .progress = train::Progress::Off}).fit(loader);
        }
        const double t_cache = std::chrono::duration<double>(Clock::now() - t1).count();
        double max_diff = 0;
        const auto pa = no_cache->submodule("head")->parameters(), pb = ft.head->parameters();
        for (std::size_t i = 0; i < pa.size(); ++i) {
            const auto va = pa[i].to_vector<float>(), vb = pb[i].to_vector<float>();
            for (std::size_t j = 0; j < va.size(); ++j) max_diff = std::max(max_diff, double(std::fabs(va[j] - vb[j])));
        }
        std::printf("\nfeature cache: head training %.3f s from the cache vs %.3f s through the frozen backbone "
                    "(%.1fx faster); head weights agree to %.1e\n", t_cache, t_full, t_full / t_cache, max_diff);
    }

    // ---- 4. accuracy vs labels per class --------------------------------------------------------
    std::vector<examples::Series> svg;
    std::vector<examples::PngSeries> png;
    std::vector<double> x_grid;
    for (auto s : a.shots) x_grid.push_back(std::log10(static_cast<double>(s)));
    for (std::size_t ri = 0; ri < R; ++ri) {
        examples::Series s{all[ri].name, all[ri].color, {}};
        examples::PngSeries p{{}, {}};
        const unsigned rgb = static_cast<unsigned>(std::stoul(all[ri].color.substr(1), nullptr, 16));
        p.rgb = {static_cast<float>((rgb >> 16) & 255) / 255.f, static_cast<float>((rgb >> 8) & 255) / 255.f,
                 static_cast<float>(rgb & 255) / 255.f};
        for (std::size_t bi = 0; bi < a.shots.size(); ++bi) {
            const double y = mean(acc[bi][ri][S - 1]);
            s.points.emplace_back(x_grid[bi], y);
            p.points.emplace_back(x_grid[bi], y);
        }
        svg.push_back(std::move(s));
        png.push_back(std::move(p));
    }
    const std::string title = "Digits 5-9 after " + std::to_string(a.steps.back()) + " steps (mean of " +
                              std::to_string(a.seeds) + " seeds)";
    examples::write_svg_chart(a.out / "accuracy_vs_labels.svg", title, "log10 labelled images per class",
                              "accuracy", svg, 0.0, 1.0);
    const double x_lo = x_grid.front() - 0.1, x_hi = x_grid.back() + 0.1;
    examples::write_png_chart(a.out / "accuracy_vs_labels.png", png, x_lo, x_hi, x_grid, 0.0, 1.0, 0.1);
    std::printf("\n[4/4] %s, %s (x: labels per class, log scale; y: accuracy 0-1, gridlines every 0.1; colours:",
                (a.out / "accuracy_vs_labels.svg").c_str(), (a.out / "accuracy_vs_labels.png").c_str());
    for (const auto& r : all) std::printf(" %s %s", r.name.c_str(), r.color.c_str());
    std::printf("), %s\n", (a.out / "results.csv").c_str());

    if (!beats_scratch_early) {
        std::fprintf(stderr, "error: no fine-tuning recipe beat training from scratch at %lld labels per class after %lld steps\n",
                     static_cast<long long>(a.shots.front()), static_cast<long long>(a.steps.front()));
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return examples::guarded_main("finetune_digits", [&] { return run(parse(argc, argv)); });
}
