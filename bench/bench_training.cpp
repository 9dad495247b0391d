// Whole training steps of the reference workloads in ../shared/PERFORMANCE.md (same shapes,
// batch, loss and AdamW as anchors/torch_bench.py): forward + backward + AdamW step.
//
//   ./build/bench/bench_training --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// mlp_head_only_step freezes the first two Linear layers: it measures what freezing saves
// (no weight gradients for frozen layers, no input gradients below the lowest trainable one).
#include <benchmark/benchmark.h>

#include <graft/graft.hpp>

using namespace graft;
namespace F = graft::nn::functional;

namespace {

struct Mlp {
    nn::Sequential model{nn::Linear(784, 1024), nn::ReLU(), nn::Linear(1024, 1024), nn::ReLU(), nn::Linear(1024, 10)};
    Tensor x, y;
    Mlp() {
        manual_seed(0);
        x = randn({256, 784});
        y = randint(0, 10, {256});
    }
};

void train_steps(benchmark::State& state, nn::Module& model, const Tensor& x, const Tensor& y) {
    optim::AdamW opt(model.trainable_parameters(), {.lr = 1e-3});
    for (auto _ : state) {
        opt.zero_grad();
        Tensor loss = F::cross_entropy(model.forward(x), y);
        loss.backward();
        opt.step();
        benchmark::DoNotOptimize(loss.raw_data());
    }
}

void mlp_full_step(benchmark::State& state) {
    Mlp m;
    train_steps(state, m.model, m.x, m.y);
}
BENCHMARK(mlp_full_step)->Unit(benchmark::kMillisecond)->UseRealTime();

void mlp_head_only_step(benchmark::State& state) {
    Mlp m;
    m.model.freeze("0.*");
    m.model.freeze("2.*");
    train_steps(state, m.model, m.x, m.y);
}
BENCHMARK(mlp_head_only_step)->Unit(benchmark::kMillisecond)->UseRealTime();

void mlp_inference(benchmark::State& state) {
    Mlp m;
    NoGradGuard guard;
    for (auto _ : state) {
        Tensor out = m.model.forward(m.x);
        benchmark::DoNotOptimize(out.raw_data());
    }
}
BENCHMARK(mlp_inference)->Unit(benchmark::kMillisecond)->UseRealTime();

/// PERFORMANCE.md's CNN: 3×[Conv3×3 pad 1 + BatchNorm + ReLU], max-pool after the first two,
/// global mean, Linear 128→10.
struct Cnn : nn::Cloneable<Cnn> {
    Cnn() { reset(); }
    void reset() override {
        c1 = register_module("c1", nn::Conv2d(3, 32, 3, {.padding = 1}));
        b1 = register_module("b1", nn::BatchNorm2d(32));
        c2 = register_module("c2", nn::Conv2d(32, 64, 3, {.padding = 1}));
        b2 = register_module("b2", nn::BatchNorm2d(64));
        c3 = register_module("c3", nn::Conv2d(64, 128, 3, {.padding = 1}));
        b3 = register_module("b3", nn::BatchNorm2d(128));
        fc = register_module("fc", nn::Linear(128, 10));
    }
    Tensor forward(const Tensor& x) override {
        Tensor h = F::max_pool2d(relu(b1->forward(c1->forward(x))), 2);
        h = F::max_pool2d(relu(b2->forward(c2->forward(h))), 2);
        h = relu(b3->forward(c3->forward(h)));
        return fc->forward(mean(h, {2, 3}));
    }
    std::shared_ptr<nn::Conv2d> c1, c2, c3;
    std::shared_ptr<nn::BatchNorm2d> b1, b2, b3;
    std::shared_ptr<nn::Linear> fc;
};

void cnn_full_step(benchmark::State& state) {
    manual_seed(0);
    Cnn cnn;
    const Tensor x = randn({64, 3, 32, 32});
    const Tensor y = randint(0, 10, {64});
    train_steps(state, cnn, x, y);
}
BENCHMARK(cnn_full_step)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
