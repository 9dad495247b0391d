// train::Trainer, metrics, gradual unfreezing, discriminative lrs and the feature cache.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "graft/graft.hpp"
#include "test_util.hpp"

using namespace graft;

namespace {

// Three Gaussian blobs in 4-d: learnable to high accuracy in a few epochs.
std::shared_ptr<data::TensorDataset> blobs(std::int64_t n, std::uint64_t seed) {
    Generator g(seed);
    Tensor x = randn({n, 4}, DType::Float32, &g);
    std::vector<std::int64_t> y(static_cast<std::size_t>(n));
    auto* px = x.data_ptr<float>();
    for (std::int64_t i = 0; i < n; ++i) {
        y[static_cast<std::size_t>(i)] = i % 3;
        px[i * 4 + (i % 3)] += 3.0f;
    }
    return std::make_shared<data::TensorDataset>(x, from_vector(y, {n}));
}

nn::Sequential mlp(bool dropout = false) {
    nn::Sequential m{nn::Linear(4, 16), nn::ReLU()};
    if (dropout) m.push_back(nn::Dropout(0.2));
    m.push_back(nn::Linear(16, 3));
    return m;
}

std::vector<float> flat_params(const nn::Module& m) {
    std::vector<float> out;
    for (const auto& t : m.parameters()) {
        auto v = t.contiguous().to_vector<float>();
        out.insert(out.end(), v.begin(), v.end());
    }
    return out;
}

struct Recorder : train::Callback {
    std::vector<std::vector<bool>> trainable;  // per epoch, per parameter
    std::vector<std::int64_t> epochs_begun;
    std::vector<std::vector<float>> params_at_end;
    void on_epoch_begin(train::Trainer& t, std::int64_t epoch) override {
        epochs_begun.push_back(epoch);
        std::vector<bool> flags;
        for (const auto& p : t.model().parameters()) flags.push_back(p.requires_grad());
        trainable.push_back(flags);
    }
    void on_epoch_end(train::Trainer& t, const train::EpochLogs&) override {
        params_at_end.push_back(flat_params(t.model()));
    }
};

/// Reports a scripted value at each evaluation pass, whatever the model does: epoch k's
/// "val_scripted" is values[k] (counted from the metric's first pass).
struct Scripted : train::Metric {
    explicit Scripted(std::vector<double> v) : values(std::move(v)) {}
    std::string name() const override { return "scripted"; }
    void reset() override {}
    void update(const Tensor&, const Tensor&) override {}
    double compute() const override { return values.at(passes++); }

    std::vector<double> values;
    mutable std::size_t passes = 0;
};

}  // namespace

TEST(Trainer, FitLearnsAndLogsEveryEpoch) {
    manual_seed(0);
    auto model = mlp();
    auto train_set = blobs(240, 1), val_set = blobs(90, 2);
    data::DataLoader train_loader(train_set, {.batch_size = 16, .shuffle = true, .seed = 3});
    data::DataLoader val_loader(val_set, {.batch_size = 32});
    optim::Adam opt(model.parameters(), {.lr = 1e-2});
    train::Trainer trainer(model, opt, {.epochs = 5, .monitor = "val_accuracy", .progress = train::Progress::Off});
    trainer.add_metric(std::make_shared<train::Accuracy>());
    trainer.add_metric(std::make_shared<train::TopKAccuracy>(2));
    const train::FitResult r = trainer.fit(train_loader, &val_loader);
    ASSERT_EQ(r.history.size(), 5u);
    EXPECT_EQ(r.epochs_run, 5);
    for (const char* key : {"train_loss", "val_loss", "val_accuracy", "val_top2_accuracy", "lr", "seconds", "samples_per_s"})
        EXPECT_TRUE(r.history.back().contains(key)) << key;
    EXPECT_LT(r.history.back().at("train_loss"), r.history.front().at("train_loss"));
    EXPECT_GT(r.history.back().at("val_accuracy"), 0.9);
    EXPECT_GE(r.history.back().at("val_top2_accuracy"), r.history.back().at("val_accuracy"));
    EXPECT_GE(r.best_epoch, 0);
    EXPECT_EQ(trainer.global_step(), 5 * 15);
    EXPECT_TRUE(model.is_training());
    EXPECT_THROW_MSG(r.history.back().at("val_nope"), IndexError, "val_accuracy");
}

TEST(Trainer, AutocastRunsTheStepsGemmsInBf16) {
    // The same run in float32 and under bf16 autocast: both learn, their weights differ by bf16
    // rounding (so the steps did run in bf16), and the thread's autocast is float32 again after.
    auto set = blobs(96, 6);
    manual_seed(7);
    auto a = mlp();
    auto b = a.clone();
    data::DataLoader loader(set, {.batch_size = 16});
    optim::SGD opt_a(a.parameters(), {.lr = 0.1}), opt_b(b->parameters(), {.lr = 0.1});
    const auto fa = train::Trainer(a, opt_a, {.epochs = 3, .progress = train::Progress::Off}).fit(loader, &loader);
    train::Trainer tb(*b, opt_b, {.epochs = 3, .progress = train::Progress::Off, .autocast = DType::BFloat16});
    const auto fb = tb.fit(loader, &loader);
    EXPECT_EQ(Autocast::dtype(), DType::Float32);
    const auto pa = flat_params(a), pb = flat_params(*b);
    ASSERT_EQ(pa.size(), pb.size());
    float largest = 0;
    for (std::size_t i = 0; i < pa.size(); ++i) largest = std::max(largest, std::abs(pa[i] - pb[i]));
    EXPECT_GT(largest, 0.f) << "autocast changed nothing";
    EXPECT_LT(largest, 0.05f);
    EXPECT_LT(fb.history.back().at("train_loss"), fb.history.front().at("train_loss"));
    EXPECT_NEAR(fb.history.back().at("val_loss"), fa.history.back().at("val_loss"), 0.05);
    EXPECT_THROW_MSG(train::Trainer(a, opt_a, {.autocast = DType::Float64}), ValueError, "autocast");
}

TEST(Trainer, GradientAccumulationEqualsTheLargerBatch) {
    auto set = blobs(64, 4);
    manual_seed(5);
    auto a = mlp();
    auto b = a.clone();
    data::DataLoader small(set, {.batch_size = 4}), large(set, {.batch_size = 8});
    optim::SGD opt_a(a.parameters(), {.lr = 0.1}), opt_b(b->parameters(), {.lr = 0.1});
    train::Trainer(a, opt_a, {.epochs = 2, .accumulate_steps = 2, .progress = train::Progress::Off}).fit(small);
    train::Trainer tb(*b, opt_b, {.epochs = 2, .progress = train::Progress::Off});
    tb.fit(large);
    const auto pa = flat_params(a), pb = flat_params(*b);
    ASSERT_EQ(pa.size(), pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_NEAR(pa[i], pb[i], 1e-5f) << i;
    EXPECT_EQ(tb.global_step(), 2 * 8);
}

TEST(Trainer, EarlyStoppingAndBestCheckpoint) {
    test::ScratchDir scratch("trainer");
    manual_seed(1);
    auto model = mlp();
    auto set = blobs(60, 6);
    data::DataLoader loader(set, {.batch_size = 20});
    // lr 0: nothing ever improves after the first epoch.
    optim::SGD opt(model.parameters(), {.lr = 0.0});
    const auto best = scratch.path("best.safetensors");
    train::Trainer trainer(model, opt, {.epochs = 50, .early_stopping_patience = 3, .min_delta = 1e-9,
                                        .best_checkpoint = best, .progress = train::Progress::Off});
    const auto r = trainer.fit(loader, &loader);
    EXPECT_TRUE(r.stopped_early);
    EXPECT_EQ(r.history.size(), 4u);  // epoch 0 sets the best, then 3 without improvement
    EXPECT_EQ(r.best_epoch, 0);
    ASSERT_TRUE(std::filesystem::exists(best));
    EXPECT_EQ(r.best_value, r.history.front().at("val_loss"));
}

TEST(Trainer, BestCheckpointHoldsTheBestEpochsWeights) {
    test::ScratchDir scratch("trainer");
    manual_seed(2);
    auto model = mlp();
    auto set = blobs(90, 7), val = blobs(60, 8);
    data::DataLoader loader(set, {.batch_size = 10, .shuffle = true, .seed = 1});
    data::DataLoader val_loader(val, {.batch_size = 30});
    optim::SGD opt(model.parameters(), {.lr = 0.05, .momentum = 0.9});
    const auto best = scratch.path("best.safetensors");
    train::Trainer trainer(model, opt, {.epochs = 6, .best_checkpoint = best, .progress = train::Progress::Off});
    auto rec = std::make_shared<Recorder>();
    trainer.add_callback(rec);
    const auto r = trainer.fit(loader, &val_loader);
    ASSERT_GE(r.best_epoch, 0);
    auto restored = mlp();
    optim::SGD opt2(restored.parameters(), {.lr = 0.05, .momentum = 0.9});
    io::load_checkpoint(best, {.model = &restored, .optimizer = &opt2});
    EXPECT_EQ(flat_params(restored), rec->params_at_end[static_cast<std::size_t>(r.best_epoch)]);
}

TEST(Trainer, RestoreBestWeightsLeavesTheBestEpochsWeightsInTheModel) {
    test::ScratchDir scratch("trainer");
    auto set = blobs(90, 7);
    struct Run {
        std::vector<float> final_params;
        std::vector<std::vector<float>> params_at_end;
    };
    // The monitored value is best at epoch 1 and worse afterwards, while the weights keep moving.
    auto fit = [&](bool restore, const std::string& tag) {
        manual_seed(3);
        auto model = mlp();
        data::DataLoader loader(set, {.batch_size = 10, .shuffle = true, .seed = 1});
        optim::SGD opt(model.parameters(), {.lr = 0.05, .momentum = 0.9});
        train::Trainer trainer(model, opt,
                               {.epochs = 4, .monitor = "val_scripted",
                                .best_checkpoint = scratch.path(tag + "-checkpoint.safetensors"),
                                .best_weights = scratch.path(tag + "-weights.safetensors"),
                                .restore_best_weights = restore, .progress = train::Progress::Off});
        trainer.add_metric(std::make_shared<Scripted>(std::vector<double>{0.5, 0.9, 0.3, 0.2}));
        auto rec = std::make_shared<Recorder>();
        trainer.add_callback(rec);
        const train::FitResult r = trainer.fit(loader, &loader);
        EXPECT_EQ(r.best_epoch, 1);
        return Run{flat_params(model), rec->params_at_end};
    };
    const Run restored = fit(true, "restored");
    ASSERT_EQ(restored.params_at_end.size(), 4u);
    EXPECT_NE(restored.params_at_end[1], restored.params_at_end[3]);
    EXPECT_EQ(restored.final_params, restored.params_at_end[1]);
    const Run last = fit(false, "last");
    EXPECT_EQ(last.final_params, last.params_at_end[3]);
    EXPECT_EQ(last.params_at_end, restored.params_at_end);

    // best_weights is a plain state dict; best_checkpoint is a checkpoint (keys under "model.").
    auto fresh = mlp();
    fresh.load_state_dict(io::load_safetensors(scratch.path("last-weights.safetensors")));
    EXPECT_EQ(flat_params(fresh), last.params_at_end[1]);
    EXPECT_THROW_MSG(fresh.load_state_dict(io::load_safetensors(scratch.path("last-checkpoint.safetensors"))),
                     ValueError, "unexpected");
    auto from_checkpoint = mlp();
    io::load_checkpoint(scratch.path("last-checkpoint.safetensors"), {.model = &from_checkpoint});
    EXPECT_EQ(flat_params(from_checkpoint), last.params_at_end[1]);
}

TEST(Trainer, RestoreBestWeightsAfterResumeReadsTheBestEpochFromItsFile) {
    test::ScratchDir scratch("trainer");
    auto set = blobs(60, 4);
    auto run = [&](std::int64_t epochs, std::vector<double> script, bool resume, const std::filesystem::path& best) {
        manual_seed(6);
        auto model = mlp();
        data::DataLoader loader(set, {.batch_size = 10, .shuffle = true, .seed = 2});
        optim::SGD opt(model.parameters(), {.lr = 0.05, .momentum = 0.9});
        train::Trainer trainer(model, opt,
                               {.epochs = epochs, .monitor = "val_scripted", .best_weights = best,
                                .restore_best_weights = true, .last_checkpoint = scratch.path("last.safetensors"),
                                .progress = train::Progress::Off});
        trainer.add_metric(std::make_shared<Scripted>(std::move(script)));
        auto rec = std::make_shared<Recorder>();
        trainer.add_callback(rec);
        if (resume) trainer.resume(scratch.path("last.safetensors"));
        trainer.fit(loader, &loader);
        return std::make_pair(flat_params(model), rec->params_at_end);
    };
    const auto first = run(2, {0.5, 0.9}, false, scratch.path("best.safetensors"));  // best: epoch 1
    const auto resumed = run(4, {0.3, 0.2}, true, scratch.path("best.safetensors"));  // epochs 2, 3: worse
    ASSERT_EQ(resumed.second.size(), 2u);
    EXPECT_NE(resumed.second.back(), first.second[1]);
    EXPECT_EQ(resumed.first, first.second[1]);
    // Without a file holding the best epoch's weights, the resumed fit refuses to start.
    EXPECT_THROW_MSG(run(4, {0.3, 0.2}, true, {}), ValueError,
                     "restore_best_weights: the best epoch so far (1) ran before resume()");
}

TEST(Trainer, ResumeContinuesBitIdentically) {
    test::ScratchDir scratch("trainer");
    auto set = blobs(96, 9), val = blobs(30, 10);
    auto run = [&](std::int64_t stop_after, const std::filesystem::path& ckpt, bool resume) {
        manual_seed(11);
        auto model = mlp(/*dropout=*/true);
        optim::AdamW opt(model.parameters(), {.lr = 1e-2, .weight_decay = 0.01});
        optim::StepLR sched(opt, 2, 0.5);
        data::DataLoader loader(set, {.batch_size = 12, .shuffle = true, .seed = 5});
        data::DataLoader val_loader(val, {.batch_size = 30});
        train::Trainer trainer(model, opt, {.epochs = stop_after, .last_checkpoint = ckpt, .progress = train::Progress::Off});
        trainer.set_scheduler(&sched);
        if (resume) {
            manual_seed(999);  // the checkpoint's RNG state must win over whatever the process had
            trainer.resume(ckpt);
            EXPECT_EQ(trainer.epoch(), 2);
        }
        trainer.fit(loader, &val_loader);
        return std::make_pair(flat_params(model), trainer.global_step());
    };
    const auto straight = run(4, scratch.path("straight.safetensors"), false);
    const auto ckpt = scratch.path("last.safetensors");
    run(2, ckpt, false);
    const auto resumed = run(4, ckpt, true);
    EXPECT_EQ(resumed.second, straight.second);
    EXPECT_EQ(resumed.first, straight.first);  // bit-identical
}

TEST(Trainer, CsvAndJsonlLogs) {
    test::ScratchDir scratch("trainer");
    manual_seed(3);
    auto model = mlp();
    auto set = blobs(30, 12);
    data::DataLoader loader(set, {.batch_size = 10});
    optim::SGD opt(model.parameters(), {.lr = 0.1});
    const auto csv = scratch.path("log.csv"), jsonl = scratch.path("log.jsonl");
    train::Trainer trainer(model, opt, {.epochs = 3, .log_csv = csv, .log_jsonl = jsonl, .progress = train::Progress::Off});
    trainer.add_metric(std::make_shared<train::Accuracy>());
    trainer.fit(loader, &loader);
    std::ifstream in(csv);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0].rfind("epoch,", 0), 0u);
    EXPECT_NE(lines[0].find("val_accuracy"), std::string::npos);
    EXPECT_EQ(lines[3].rfind("2,", 0), 0u);
    std::ifstream jin(jsonl);
    int n = 0;
    for (std::string l; std::getline(jin, l); ++n) EXPECT_EQ(l.rfind("{\"epoch\": " + std::to_string(n) + ", ", 0), 0u) << l;
    EXPECT_EQ(n, 3);
}

TEST(Trainer, ErrorsNameTheProblem) {
    auto model = mlp();
    auto set = blobs(30, 13);
    data::DataLoader loader(set, {.batch_size = 10});
    optim::SGD opt(model.parameters(), {.lr = 0.1});
    EXPECT_THROW_MSG(train::Trainer(model, opt, {.accumulate_steps = 0}), ValueError, "accumulate_steps");
    train::Trainer no_val(model, opt, {.epochs = 1, .monitor = "val_accuracy", .early_stopping_patience = 2,
                                       .progress = train::Progress::Off});
    EXPECT_THROW_MSG(no_val.fit(loader), ValueError, "val_accuracy");
    optim::SGD huge(model.parameters(), {.lr = 1e30});
    train::Trainer diverging(model, huge, {.epochs = 3, .progress = train::Progress::Off});
    EXPECT_THROW_MSG(diverging.fit(loader), ValueError, "the loss is");
    auto frozen = mlp();
    frozen.freeze();
    optim::SGD opt_f(frozen.parameters(), {.lr = 0.1});
    EXPECT_THROW_MSG(train::Trainer(frozen, opt_f, {.epochs = 1, .progress = train::Progress::Off}).fit(loader),
                     AutogradError, "frozen");
}

TEST(Metrics, TopKAccuracyCountsTiesAndIgnoresIndex) {
    train::TopKAccuracy top2(2);
    Tensor out = from_vector(std::vector<float>{0.1f, 0.5f, 0.4f,   // target 2: 2nd → top-2 hit, top-1 miss
                                                0.9f, 0.05f, 0.05f,  // target 0: hit
                                                0.2f, 0.3f, 0.5f,    // target 0: 3rd → miss
                                                1.f, 1.f, 1.f},      // target -100: ignored
                             {4, 3});
    Tensor y = from_vector(std::vector<std::int64_t>{2, 0, 0, -100}, {4});
    top2.reset();
    top2.update(out, y);
    EXPECT_DOUBLE_EQ(top2.compute(), 2.0 / 3.0);
    train::Accuracy acc;
    acc.reset();
    acc.update(out, y);
    EXPECT_DOUBLE_EQ(acc.compute(), 1.0 / 3.0);
    EXPECT_EQ(top2.name(), "top2_accuracy");
    acc.reset();
    EXPECT_TRUE(std::isnan(acc.compute()));
    EXPECT_THROW_MSG(acc.update(out, from_vector(std::vector<std::int64_t>{0, 1, 3, 0}, {4})), IndexError, "row 2");
    EXPECT_THROW_MSG(acc.update(out, from_vector(std::vector<std::int64_t>{0, 1}, {2})), ShapeError, "[N]");
    EXPECT_THROW_MSG(train::TopKAccuracy(0), ValueError, "k");
}

TEST(GradualUnfreezing, OneMoreBlockEveryNEpochs) {
    manual_seed(4);
    nn::Sequential model{nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 8), nn::ReLU(), nn::Linear(8, 3)};
    model.freeze("0.*").freeze("2.*");
    auto set = blobs(30, 14);
    data::DataLoader loader(set, {.batch_size = 10});
    optim::SGD opt(model.parameters(), {.lr = 0.05});
    train::Trainer trainer(model, opt, {.epochs = 6, .progress = train::Progress::Off});
    trainer.add_callback(std::make_shared<train::GradualUnfreezing>(model, std::vector<std::string>{"2.*", "0.*"}, 2));
    auto rec = std::make_shared<Recorder>();
    trainer.add_callback(rec);  // runs after the unfreezing callback: sees the epoch's trainable set
    const auto before = model.parameters()[0].contiguous().to_vector<float>();
    trainer.fit(loader);
    // parameters: 0.weight 0.bias 2.weight 2.bias 4.weight 4.bias
    const std::vector<std::vector<bool>> expected = {
        {false, false, false, false, true, true}, {false, false, false, false, true, true},
        {false, false, true, true, true, true},   {false, false, true, true, true, true},
        {true, true, true, true, true, true},     {true, true, true, true, true, true}};
    EXPECT_EQ(rec->trainable, expected);
    // The first block was frozen for 4 epochs and then trained: its weights moved only after.
    EXPECT_EQ(rec->params_at_end[3].front(), before.front());
    EXPECT_NE(rec->params_at_end[5], rec->params_at_end[3]);
    EXPECT_THROW_MSG(train::GradualUnfreezing(model, {"nothing.*"}, 1), ValueError, "nothing");
    EXPECT_THROW_MSG(train::GradualUnfreezing(model, {"0.*"}, 0), ValueError, "every_epochs");
}

TEST(DiscriminativeLr, GroupsDecayWithDepth) {
    nn::Sequential model{nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 8), nn::ReLU(), nn::Linear(8, 3)};
    auto groups = train::discriminative_lr_groups<optim::AdamWOptions>(model, {"4.*", "2.*", "0.*"},
                                                                      {.lr = 1e-3, .weight_decay = 0.05}, 0.5);
    ASSERT_EQ(groups.size(), 3u);
    EXPECT_DOUBLE_EQ(groups[0].options.lr, 1e-3);
    EXPECT_DOUBLE_EQ(groups[1].options.lr, 5e-4);
    EXPECT_DOUBLE_EQ(groups[2].options.lr, 2.5e-4);
    EXPECT_DOUBLE_EQ(groups[2].options.weight_decay, 0.05);
    const auto p = model.parameters();
    EXPECT_TRUE(groups[2].params[0].shares_storage(p[0]));
    EXPECT_TRUE(groups[0].params[1].shares_storage(p[5]));
    optim::AdamW opt(groups);
    EXPECT_DOUBLE_EQ(opt.lr(1), 5e-4);
    // Unmatched parameters join group 0; a block that only re-matches taken parameters is an error.
    auto two = train::parameters_by_block(model, {"4.*", "0.*"});
    EXPECT_EQ(two[0].size(), 4u);
    EXPECT_THROW_MSG(train::parameters_by_block(model, {"*", "0.*"}), ValueError, "block 1");
    EXPECT_THROW_MSG(train::parameters_by_block(model, {"x.*"}), ValueError, "x.*");
}

TEST(FeatureCache, HeadTrainedFromCacheMatchesFrozenBackbone) {
    manual_seed(6);
    auto backbone = std::make_shared<nn::Sequential>(
        nn::Sequential{nn::Linear(4, 16), nn::BatchNorm1d(16), nn::ReLU()});
    auto head = std::make_shared<nn::Linear>(16, 3);
    auto set = blobs(64, 15);
    // Give BatchNorm non-trivial running statistics, then freeze the backbone (BN pinned in eval).
    {
        NoGradGuard ng;
        backbone->train();
        backbone->forward(set->get(0).input.unsqueeze(0).expand({8, 4}).contiguous() + randn({8, 4}));
    }
    backbone->freeze({.batchnorm_eval = true});

    nn::Sequential full(std::vector<std::shared_ptr<nn::Module>>{backbone, head->clone()});
    optim::SGD opt_full(full.parameters(), {.lr = 0.1, .momentum = 0.9});
    data::DataLoader loader(set, {.batch_size = 8, .shuffle = true, .seed = 2});
    train::Trainer(full, opt_full, {.epochs = 3, .progress = train::Progress::Off}).fit(loader);

    auto cached = train::cache_features(*backbone, set, 10);
    ASSERT_EQ(cached->size(), set->size());
    data::DataLoader cached_loader(cached, {.batch_size = 8, .shuffle = true, .seed = 2});
    optim::SGD opt_head(head->parameters(), {.lr = 0.1, .momentum = 0.9});
    train::Trainer(*head, opt_head, {.epochs = 3, .progress = train::Progress::Off}).fit(cached_loader);

    const auto a = flat_params(*full.submodule("1")), b = flat_params(*head);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5f) << i;
    EXPECT_TRUE(backbone->is_training());  // the mode cache_features found is restored
    EXPECT_FALSE(backbone->submodule("1")->is_training());  // frozen BatchNorm stays pinned in eval

    auto trainable = mlp();
    EXPECT_THROW_MSG(train::cache_features(trainable, set), ValueError, "0.weight");
    EXPECT_THROW_MSG(train::cache_features(*backbone, set, 0), ValueError, "batch_size");
}

namespace {

// A Trainer that is one non-main rank of a data-parallel job (TrainerOptions::distribution, which
// graft::dist fills): every logged value goes through the job's mean, nothing is written, and
// gradient synchronization is off for the micro-batches before the last of an accumulation.
TEST(Trainer, DistributionAveragesLogsAndLeavesFilesToTheMainProcess) {
    test::ScratchDir dir("trainer-distribution");
    manual_seed(0);
    nn::Sequential model = mlp();
    optim::SGD opt(model.trainable_parameters(), {.lr = 0.1});
    std::vector<std::string> averaged;
    std::vector<bool> sync;
    train::TrainerDistribution distribution{
        .mean = [&](double v) { averaged.push_back(std::to_string(v)); return v + 1000.0; },
        .processes = 3,
        .is_main = false,
        .set_gradient_sync = [&](bool on) { sync.push_back(on); }};
    train::Trainer trainer(model, opt, {.epochs = 1, .accumulate_steps = 2, .last_checkpoint = dir.path("last.ckpt"),
                                        .log_csv = dir.path("log.csv"), .progress = train::Progress::Off,
                                        .distribution = distribution});
    data::DataLoader loader(blobs(10, 1), {.batch_size = 2});  // 5 batches: 2 + 2 + 1 micro-batches
    const auto result = trainer.fit(loader);
    // train_loss and samples_per_s went through the mean; samples_per_s is then the job's (× 3).
    EXPECT_EQ(averaged.size(), 2u);
    EXPECT_GT(result.history[0].at("train_loss"), 1000.0);
    EXPECT_EQ(sync, (std::vector<bool>{false, true, false, true, true}));
    EXPECT_FALSE(std::filesystem::exists(dir.path("log.csv")));
    EXPECT_FALSE(std::filesystem::exists(dir.path("last.ckpt")));
}

}  // namespace
