// io::save_checkpoint / load_checkpoint: a run stopped halfway, checkpointed and resumed in fresh
// objects ends bit-identical to the run that went straight through; and every refusal.
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace graft;

namespace {

constexpr int kSteps = 8;

/// A training run: Linear+ReLU+Dropout (drawing from the global generator), AdamW, CosineLR.
struct TrainingRun {
    explicit TrainingRun(std::uint64_t seed) {
        manual_seed(seed);
        model = std::make_unique<nn::Sequential>(nn::Linear(8, 16), nn::ReLU(), nn::Dropout(0.3), nn::Linear(16, 3));
        opt = std::make_unique<optim::AdamW>(model->trainable_parameters(),
                                             optim::AdamWOptions{.lr = 1e-2, .weight_decay = 0.05});
        sched = std::make_unique<optim::CosineLR>(*opt, /*warmup=*/2, /*total=*/kSteps);
    }
    io::CheckpointRefs refs() { return {model.get(), opt.get(), sched.get(), &default_generator()}; }

    /// Steps [from, to): each step's batch depends only on the step number.
    void train(int from, int to) {
        for (int s = from; s < to; ++s) {
            Generator data(1000 + static_cast<std::uint64_t>(s));
            const Tensor x = randn({6, 8}, DType::Float32, &data);
            const Tensor y = randint(0, 3, {6}, DType::Int64, &data);
            auto loss = nn::functional::cross_entropy(model->forward(x), y);
            opt->zero_grad();
            loss.backward();
            opt->step();
            sched->step();
        }
    }
    std::vector<std::vector<float>> params() const {
        std::vector<std::vector<float>> out;
        for (const auto& p : model->parameters()) out.push_back(p.to_vector<float>());
        return out;
    }

    std::unique_ptr<nn::Sequential> model;
    std::unique_ptr<optim::AdamW> opt;
    std::unique_ptr<optim::CosineLR> sched;
};

void expect_bit_identical(const std::vector<std::vector<float>>& a, const std::vector<std::vector<float>>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(a[i].size(), b[i].size()) << "parameter " << i;
        for (std::size_t k = 0; k < a[i].size(); ++k) EXPECT_EQ(a[i][k], b[i][k]) << "parameter " << i << "[" << k << "]";
    }
}

}  // namespace

TEST(Checkpoint, ResumingHalfwayIsBitIdenticalToTrainingStraightThrough) {
    test::ScratchDir dir("checkpoint");
    TrainingRun straight(1);
    straight.train(0, kSteps);

    TrainingRun first_half(1);
    first_half.train(0, kSteps / 2);
    io::save_checkpoint(dir.path("ckpt.safetensors"), first_half.refs(), kSteps / 2, {{"note", "halfway"}});

    TrainingRun resumed(77);  // other initial weights and another global random stream
    manual_seed(12345);
    const io::CheckpointInfo info = io::load_checkpoint(dir.path("ckpt.safetensors"), resumed.refs());
    EXPECT_EQ(info.step, kSteps / 2);
    EXPECT_EQ(info.metadata, (io::Metadata{{"note", "halfway"}}));
    EXPECT_EQ(resumed.sched->last_epoch(), kSteps / 2);
    EXPECT_EQ(resumed.opt->lr(0), first_half.opt->lr(0));
    resumed.train(static_cast<int>(info.step), kSteps);
    expect_bit_identical(resumed.params(), straight.params());

    // The generator's part matters: resumed without it, dropout draws other masks.
    TrainingRun no_rng(77);
    io::load_checkpoint(dir.path("ckpt.safetensors"), {no_rng.model.get(), no_rng.opt.get(), no_rng.sched.get()});
    no_rng.train(kSteps / 2, kSteps);
    EXPECT_NE(no_rng.params(), straight.params());
}

TEST(Checkpoint, StoresTheGeneratorStateExactly) {
    test::ScratchDir dir("checkpoint");
    Generator g(3);
    g.normal();  // leaves a cached Box–Muller spare
    ASSERT_TRUE(g.state().has_spare);
    nn::Linear model(2, 2);
    io::save_checkpoint(dir.path("c.safetensors"), {.model = &model, .generator = &g}, 0);
    const StateDict sd = io::load_safetensors(dir.path("c.safetensors"));
    EXPECT_EQ(sd.keys(), (std::vector<std::string>{"model.weight", "model.bias", "rng.state", "rng.has_spare",
                                                   "rng.spare"}));
    Generator restored(99);
    io::load_checkpoint(dir.path("c.safetensors"), {.generator = &restored});
    EXPECT_EQ(restored.state().s, g.state().s);
    EXPECT_TRUE(restored.state().has_spare);
    EXPECT_EQ(restored.state().spare, g.state().spare);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(restored.normal(), g.normal());
}

TEST(Checkpoint, RefusesAPartTheFileLacks) {
    test::ScratchDir dir("checkpoint");
    TrainingRun run(1);
    io::save_checkpoint(dir.path("model_only.safetensors"), {.model = run.model.get()}, 3);
    const auto before = run.params();
    EXPECT_THROW_MSG(io::load_checkpoint(dir.path("model_only.safetensors"), run.refs()), ValueError,
                     "the checkpoint has no optimizer state (it holds: model)");
    expect_bit_identical(run.params(), before);
    // Asking only for what it holds works.
    EXPECT_EQ(io::load_checkpoint(dir.path("model_only.safetensors"), {.model = run.model.get()}).step, 3);
}

TEST(Checkpoint, RefusesAnotherOptimizerType) {
    test::ScratchDir dir("checkpoint");
    TrainingRun run(1);
    run.train(0, 1);
    io::save_checkpoint(dir.path("c.safetensors"), run.refs(), 1);
    optim::SGD sgd(run.model->trainable_parameters(), {.lr = 0.1});
    EXPECT_THROW_MSG(io::load_checkpoint(dir.path("c.safetensors"), {.model = run.model.get(), .optimizer = &sgd}),
                     ValueError, "the checkpoint's optimizer is AdamW, the one to restore is SGD");
}

TEST(Checkpoint, LoadsTheModelStrictly) {
    test::ScratchDir dir("checkpoint");
    TrainingRun run(1);
    io::save_checkpoint(dir.path("c.safetensors"), {.model = run.model.get()}, 0);
    nn::Sequential other{nn::Linear(8, 16), nn::ReLU(), nn::Dropout(0.3), nn::Linear(16, 4)};
    EXPECT_THROW_MSG(io::load_checkpoint(dir.path("c.safetensors"), {.model = &other}), ValueError,
                     "model state does not fit the model");
}

namespace {

/// Everything a checkpoint restores, as exact values.
struct RunState {
    std::vector<std::vector<float>> params;
    std::map<std::string, std::vector<double>> optimizer, scheduler;
    Generator::State rng;

    static std::map<std::string, std::vector<double>> values(const StateDict& sd) {
        std::map<std::string, std::vector<double>> out;
        for (const auto& [key, t] : sd) out[key] = t.to(DType::Float64).to_vector<double>();
        return out;
    }
    static RunState of(const std::vector<std::vector<float>>& params, const optim::Optimizer& opt,
                       const optim::LRScheduler& sched) {
        return {params, values(opt.state_dict()), values(sched.state_dict()), default_generator().state()};
    }
    void expect_equal(const RunState& other) const {
        expect_bit_identical(params, other.params);
        EXPECT_EQ(optimizer, other.optimizer);
        EXPECT_EQ(scheduler, other.scheduler);
        EXPECT_EQ(rng.s, other.rng.s);
        EXPECT_EQ(rng.has_spare, other.rng.has_spare);
        EXPECT_EQ(rng.spare, other.rng.spare);
    }
};

/// A copy of the checkpoint at `from` with one tensor replaced, written to `to`.
void save_with(const std::filesystem::path& from, const std::filesystem::path& to, const std::string& key,
               const Tensor& value) {
    io::SafetensorsFile file = io::read_safetensors(from);
    ASSERT_TRUE(file.tensors.contains(key)) << key;
    file.tensors.set(key, value);
    io::save_safetensors(to, file.tensors, file.metadata);
}

}  // namespace

TEST(Checkpoint, AFailedLoadChangesNothing) {
    test::ScratchDir dir("checkpoint");
    TrainingRun saved(1);
    saved.train(0, 3);
    const auto ckpt = dir.path("c.safetensors");
    io::save_checkpoint(ckpt, saved.refs(), 3);

    TrainingRun run(77);
    run.train(0, 2);
    manual_seed(5);
    const RunState before = RunState::of(run.params(), *run.opt, *run.sched);
    auto expect_refused = [&](const std::filesystem::path& path, const std::string& needle) {
        SCOPED_TRACE(needle);
        EXPECT_THROW_MSG(io::load_checkpoint(path, run.refs()), ValueError, needle);
        RunState::of(run.params(), *run.opt, *run.sched).expect_equal(before);
    };
    const double nan = std::numeric_limits<double>::quiet_NaN();
    auto variant = [&](const std::string& key, const Tensor& value) {
        const auto path = dir.path("bad-" + key + ".safetensors");
        save_with(ckpt, path, key, value);
        return path;
    };
    // Each bad part comes after the model in restore order, so before validating everything
    // first the model weights (and the earlier parts) had already been overwritten.
    expect_refused(variant("optimizer.state.0.step", scalar_tensor(-1.0, DType::Float64)),
                   "optimizer state: AdamW.load_state_dict: 'state.0.step' must be a non-negative integer");
    expect_refused(variant("optimizer.param_groups.0.lr", scalar_tensor(nan, DType::Float64)),
                   "'param_groups.0.lr' must be a finite number, got nan");
    expect_refused(variant("scheduler.last_epoch", scalar_tensor(nan, DType::Float64)),
                   "scheduler state: CosineLR.load_state_dict: 'last_epoch' must be a non-negative integer");
    expect_refused(variant("scheduler.base_lrs.0", scalar_tensor(-1.0, DType::Float64)),
                   "'base_lrs.0' must be a finite number >= 0, got -1");
    expect_refused(variant("rng.has_spare", scalar_tensor(2, DType::Int64)), "tensor 'rng.has_spare' is 2");
    expect_refused(variant("rng.state", zeros({4}, DType::Int64)), "tensor 'rng.state' is all zeros");
    expect_refused(variant("rng.spare", scalar_tensor(nan, DType::Float64)), "tensor 'rng.spare' is nan");
    expect_refused(variant("model.0.weight", zeros({16, 8}, DType::Float64)),
                   "'model.0.weight' is float64 [16, 8], the model's is float32 [16, 8]");

    // An optimizer (and scheduler) built with another number of param groups.
    manual_seed(77);
    auto model = std::make_unique<nn::Sequential>(nn::Linear(8, 16), nn::ReLU(), nn::Dropout(0.3), nn::Linear(16, 3));
    optim::AdamW two_groups({{model->parameters_matching("0.*"), {.lr = 1e-2}},
                             {model->parameters_matching("3.*"), {.lr = 1e-3}}});
    optim::CosineLR sched(two_groups, 2, kSteps);
    const auto params_of = [&] {
        std::vector<std::vector<float>> out;
        for (const auto& p : model->parameters()) out.push_back(p.to_vector<float>());
        return out;
    };
    const RunState two_before = RunState::of(params_of(), two_groups, sched);
    EXPECT_THROW_MSG(io::load_checkpoint(ckpt, {model.get(), &two_groups, &sched, &default_generator()}), ValueError,
                     "optimizer state: AdamW.load_state_dict");
    RunState::of(params_of(), two_groups, sched).expect_equal(two_before);

    // The same file loads into a matching run.
    io::load_checkpoint(ckpt, run.refs());
    expect_bit_identical(run.params(), saved.params());
}

TEST(Checkpoint, RefusesFilesThatAreNotCheckpoints) {
    test::ScratchDir dir("checkpoint");
    nn::Linear model(2, 2);
    io::save_safetensors(dir.path("weights.safetensors"), model.state_dict());
    EXPECT_THROW_MSG(io::load_checkpoint(dir.path("weights.safetensors"), {.model = &model}), ValueError,
                     "not a graft checkpoint");
    io::save_safetensors(dir.path("future.safetensors"), model.state_dict(),
                         {{"graft.checkpoint.format", "2"}, {"graft.checkpoint.step", "1"}});
    EXPECT_THROW_MSG(io::load_checkpoint(dir.path("future.safetensors"), {.model = &model}), ValueError,
                     "checkpoint format 2, this graft reads format 1");
    io::save_safetensors(dir.path("bad_step.safetensors"), model.state_dict(),
                         {{"graft.checkpoint.format", "1"}, {"graft.checkpoint.step", "12x"}});
    EXPECT_THROW_MSG(io::load_checkpoint(dir.path("bad_step.safetensors"), {.model = &model}), ValueError,
                     "metadata 'graft.checkpoint.step' is '12x', expected a non-negative integer");
    EXPECT_THROW_MSG(io::load_checkpoint(dir.path("absent.safetensors"), {.model = &model}), IOError,
                     "absent.safetensors");
    EXPECT_THROW_MSG(io::load_checkpoint(dir.dir(), {.model = &model}), IOError,
                     "'" + dir.dir().string() + "' is a directory");
}

TEST(Checkpoint, RefusesBadSaveArguments) {
    test::ScratchDir dir("checkpoint");
    nn::Linear model(2, 2);
    EXPECT_THROW_MSG(io::save_checkpoint(dir.path("c.safetensors"), {}, 0), ValueError, "nothing to save");
    EXPECT_THROW_MSG(io::save_checkpoint(dir.path("c.safetensors"), {.model = &model}, -1), ValueError,
                     "step must be non-negative, got -1");
    EXPECT_THROW_MSG(io::save_checkpoint(dir.path("c.safetensors"), {.model = &model}, 0,
                                         {{"graft.checkpoint.step", "5"}}),
                     ValueError, "metadata key 'graft.checkpoint.step' is reserved");
    EXPECT_FALSE(std::filesystem::exists(dir.path("c.safetensors")));
}
