// ops_bench — Google Benchmark cases for graft's ops and a whole training step.
//
//   build/bench/ops_bench                                  # every case
//   build/bench/ops_bench --benchmark_filter=Matmul        # one family
//
// Counters: bytes_per_second for memory-bound ops (bytes read + written), FLOP/s for
// compute-bound ones (2·M·N·K per matmul). Times are wall-clock (UseRealTime) because the
// kernels may run OpenMP threads. This is the harness later kernel work extends: add a case
// per kernel family and per shape that matters.
#include <benchmark/benchmark.h>

#include <graft/graft.hpp>

#include <cmath>
#include <cstdint>
#include <string>

namespace {

using namespace graft;
namespace F = graft::nn::functional;

// c = a + b on contiguous float32 vectors: reads 2·N floats, writes N.
void BM_Add(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    manual_seed(1);
    const Tensor a = randn({n});
    const Tensor b = randn({n});
    for (auto _ : state) {
        Tensor c = add(a, b);
        benchmark::DoNotOptimize(c.raw_data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * 3 * n * static_cast<std::int64_t>(sizeof(float)));
    state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Add)->Arg(1 << 20)->UseRealTime();

// C[n, n] = A[n, n] · B[n, n]: 2·n³ FLOPs.
void BM_Matmul(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    manual_seed(1);
    const Tensor a = randn({n, n});
    const Tensor b = randn({n, n});
    for (auto _ : state) {
        Tensor c = matmul(a, b);
        benchmark::DoNotOptimize(c.raw_data());
        benchmark::ClobberMemory();
    }
    state.counters["FLOP/s"] =
        benchmark::Counter(2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n),
                           benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Matmul)->Arg(256)->Arg(512)->UseRealTime()->Unit(benchmark::kMillisecond);

// One SGD step of a 784-256-10 MLP on a batch of 64: forward, cross-entropy, backward, update.
// The input needs no gradient, so the backward computes dW1, db1, dW2, db2 and dX of layer 2 only.
void BM_MlpTrainStep(benchmark::State& state) {
    const std::int64_t batch = state.range(0);
    constexpr std::int64_t in = 784, hidden = 256, classes = 10;
    manual_seed(1);
    const Tensor x = randn({batch, in});
    const Tensor y = randint(0, classes, {batch});
    Tensor w1 = (randn({hidden, in}) * std::sqrt(2.0 / in)).requires_grad_();
    Tensor b1 = zeros({hidden}).requires_grad_();
    Tensor w2 = (randn({classes, hidden}) * std::sqrt(2.0 / hidden)).requires_grad_();
    Tensor b2 = zeros({classes}).requires_grad_();
    for (auto _ : state) {
        const Tensor loss = F::cross_entropy(F::linear(F::relu(F::linear(x, w1, b1)), w2, b2), y);
        loss.backward();
        NoGradGuard no_grad;
        for (Tensor* p : {&w1, &b1, &w2, &b2}) {
            p->sub_(p->grad(), 0.01);
            p->set_grad(Tensor());
        }
        benchmark::DoNotOptimize(w1.raw_data());
    }
    const double b = static_cast<double>(batch);
    const double forward = 2.0 * b * (in * hidden + hidden * classes);
    const double backward = 2.0 * b * in * hidden + 2.0 * (2.0 * b * hidden * classes);
    state.counters["FLOP/s"] = benchmark::Counter(forward + backward, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MlpTrainStep)->Arg(64)->UseRealTime()->Unit(benchmark::kMillisecond);

// Causal self-attention on [1, 12, T, 64] (B·H = 12 heads): fused (range(1) = 1) or the unfused
// reference (0), forward only (range(2) = 0) or forward + backward into q, k and v (1), in float32
// (range(3) = 0) or under bf16 autocast (1). FLOPs counted as the two T×T×64 products forward
// (4·B·H·T²·D) and five more backward.
void BM_Attention(benchmark::State& state) {
    const std::int64_t T = state.range(0), BH = 12, D = 64;
    const bool fused = state.range(1) != 0, backward = state.range(2) != 0;
    const AutocastGuard autocast(state.range(3) != 0 ? DType::BFloat16 : DType::Float32);
    manual_seed(1);
    const Tensor q = randn({1, BH, T, D}).requires_grad_(backward);
    const Tensor k = randn({1, BH, T, D}).requires_grad_(backward);
    const Tensor v = randn({1, BH, T, D}).requires_grad_(backward);
    const Tensor dout = randn({1, BH, T, D});
    for (auto _ : state) {
        Tensor y = fused ? F::scaled_dot_product_attention(q, k, v, {.causal = true})
                         : F::scaled_dot_product_attention_reference(q, k, v, {.causal = true});
        if (backward) y.backward(dout);
        benchmark::DoNotOptimize(y.raw_data());
        benchmark::ClobberMemory();
    }
    const double pair = 2.0 * static_cast<double>(BH * T * T * D);
    state.counters["FLOP/s"] =
        benchmark::Counter((backward ? 7.0 : 2.0) * pair, benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(std::string(fused ? "fused" : "reference") + (backward ? " fwd+bwd" : " fwd") +
                   (state.range(3) != 0 ? " bf16" : ""));
}
BENCHMARK(BM_Attention)
    ->ArgsProduct({{128, 256}, {1, 0}, {0, 1}, {0, 1}})
    ->ArgNames({"T", "fused", "bwd", "bf16"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// A 3×3, padding-1 conv2d of the CNN workload on a batch of 64: range(0) = in channels, range(1) =
// out channels, range(2) = image side; range(3) = 0 forward only, 1 forward + backward (dW and db,
// and dX unless the input is the 3-channel image, as in the training step). FLOPs: 2·N·O·P·C·9
// per GEMM pass (one forward, one or two backward).
void BM_Conv2d(benchmark::State& state) {
    const std::int64_t C = state.range(0), O = state.range(1), S = state.range(2), N = 64;
    const bool backward = state.range(3) != 0, dx = backward && C > 3;
    manual_seed(1);
    const Tensor x = randn({N, C, S, S}).requires_grad_(dx);
    const Tensor w = (randn({O, C, 3, 3}) * 0.1).requires_grad_(backward);
    const Tensor b = zeros({O}).requires_grad_(backward);
    const Tensor dy = randn({N, O, S, S});
    for (auto _ : state) {
        Tensor y = F::conv2d(x, w, b, 1, 1);
        if (backward) y.backward(dy);
        benchmark::DoNotOptimize(y.raw_data());
        benchmark::ClobberMemory();
    }
    const double pass = 2.0 * static_cast<double>(N * O * S * S * C * 9);
    state.counters["FLOP/s"] = benchmark::Counter((1.0 + (backward ? 1.0 : 0.0) + (dx ? 1.0 : 0.0)) * pass,
                                                  benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Conv2d)
    ->ArgsProduct({{3}, {32}, {32}, {0, 1}})
    ->ArgsProduct({{32}, {64}, {16}, {0, 1}})
    ->ArgsProduct({{64}, {128}, {8}, {0, 1}})
    ->ArgNames({"C", "O", "S", "bwd"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The convolutions a fine-tune trains in real CNNs (the deep stages of torchvision's ResNet-18/50,
// ResNeXt-50, MobileNetV2 and EfficientNet-B0 on 112×112 and 224×224 images), forward + input
// gradient + weight gradient.
// range(0) indexes kRealConvs. FLOPs: 3 passes of 2·N·O·OH·OW·(C/groups)·k².
struct RealConv {
    const char* name;
    std::int64_t N, C, S, O, k, stride, groups;
};
constexpr RealConv kRealConvs[] = {
    {"r18.layer4.3x3.512.s4", 16, 512, 4, 512, 3, 1, 1},  {"r18.layer4.0.3x3.s2", 16, 256, 7, 512, 3, 2, 1},
    {"r18.layer4.down.1x1.s2", 16, 256, 7, 512, 1, 2, 1}, {"r18.layer3.3x3.256.s7", 16, 256, 7, 256, 3, 1, 1},
    {"r18.layer2.3x3.128.s14", 16, 128, 14, 128, 3, 1, 1}, {"r50.layer4.1x1.2048to512.s4", 8, 2048, 4, 512, 1, 1, 1},
    {"r50.layer4.1x1.512to2048.s4", 8, 512, 4, 2048, 1, 1, 1}, {"r50.layer4.3x3.512.s4", 8, 512, 4, 512, 3, 1, 1},
    {"rx50.layer4.3x3.g32.s4", 8, 1024, 4, 1024, 3, 1, 32},  {"mv2.dw3x3.960.s4", 16, 960, 4, 960, 3, 1, 960},
    {"mv2.1x1.160to960.s4", 16, 160, 4, 960, 1, 1, 1},       {"mv2.dw3x3.144.s28", 16, 144, 28, 144, 3, 1, 144},
    {"mv2.dw3x3.576.s14", 16, 576, 14, 576, 3, 1, 576},      {"mv2.dw3x3.960.s7", 16, 960, 7, 960, 3, 1, 960},
    {"mv2.dw3x3.96.s56.stride2", 16, 96, 56, 96, 3, 2, 96},  {"effb0.dw5x5.1152.s4", 16, 1152, 4, 1152, 5, 1, 1152},
    {"effb0.dw5x5.672.s7.stride2", 16, 672, 7, 672, 5, 2, 672},
};
/// Which passes a convolution case runs: the forward only, the forward and its input gradient,
/// the forward and its weight gradient, or all three.
enum class ConvPasses { Forward, InputGrad, WeightGrad, All };

/// Times conv2d on case c (square maps, "same" padding k/2, no bias) for `passes`; GFLOP/s counts
/// 2·N·O·OH·OW·(C/groups)·k² per pass run, bytes_per_second the bytes each pass run must move
/// at the least (forward: x read, y written; input gradient: dy read, dx written; weight
/// gradient: x and dy read; the weights and their gradient read or written once).
void run_conv_case(benchmark::State& state, const RealConv& c, ConvPasses passes) {
    const std::int64_t pad = c.k / 2, OS = (c.S + 2 * pad - c.k) / c.stride + 1;
    manual_seed(1);
    const bool dx = passes == ConvPasses::InputGrad || passes == ConvPasses::All;
    const bool dw = passes == ConvPasses::WeightGrad || passes == ConvPasses::All;
    const Tensor x = randn({c.N, c.C, c.S, c.S}).requires_grad_(dx);
    const Tensor w = (randn({c.O, c.C / c.groups, c.k, c.k}) * 0.05).requires_grad_(dw);
    const Tensor dy = randn({c.N, c.O, OS, OS});
    for (auto _ : state) {
        Tensor y = F::conv2d(x, w, Tensor(), c.stride, pad, 1, c.groups);
        if (dx || dw) y.backward(dy);
        benchmark::DoNotOptimize(y.raw_data());
        benchmark::ClobberMemory();
    }
    const double pass = 2.0 * static_cast<double>(c.N * c.O * OS * OS * (c.C / c.groups) * c.k * c.k);
    const double runs = 1.0 + (dx ? 1.0 : 0.0) + (dw ? 1.0 : 0.0);
    state.counters["GFLOP/s"] = benchmark::Counter(runs * pass * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    const std::int64_t maps = 4 * (x.numel() + dy.numel()), weights = 4 * w.numel();
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(runs) * (maps + weights));
    state.SetLabel(c.name);
}

void BM_ConvRealShapes(benchmark::State& state) { run_conv_case(state, kRealConvs[state.range(0)], ConvPasses::All); }
BENCHMARK(BM_ConvRealShapes)->DenseRange(0, std::size(kRealConvs) - 1)->UseRealTime()->Unit(benchmark::kMillisecond);

// Every distinct convolution of torchvision's ResNet-18 fine-tuned on a batch of 16 112×112
// images (real_resnet18_full_step), one pass at a time so that a slow pass shows by itself:
// range(0) indexes kResNet18Convs, range(1) = 0 forward only, 1 forward + input gradient,
// 2 forward + weight gradient. bench/pytorch/conv_layers.py times the same cases in PyTorch.
constexpr RealConv kResNet18Convs[] = {
    {"stem.7x7.s2", 16, 3, 112, 64, 7, 2, 1},         {"layer1.3x3.64.s28", 16, 64, 28, 64, 3, 1, 1},
    {"layer2.0.3x3.s2", 16, 64, 28, 128, 3, 2, 1},     {"layer2.down.1x1.s2", 16, 64, 28, 128, 1, 2, 1},
    {"layer2.3x3.128.s14", 16, 128, 14, 128, 3, 1, 1}, {"layer3.0.3x3.s2", 16, 128, 14, 256, 3, 2, 1},
    {"layer3.down.1x1.s2", 16, 128, 14, 256, 1, 2, 1}, {"layer3.3x3.256.s7", 16, 256, 7, 256, 3, 1, 1},
    {"layer4.0.3x3.s2", 16, 256, 7, 512, 3, 2, 1},     {"layer4.down.1x1.s2", 16, 256, 7, 512, 1, 2, 1},
    {"layer4.3x3.512.s4", 16, 512, 4, 512, 3, 1, 1},
};
void BM_ConvResNet18Passes(benchmark::State& state) {
    run_conv_case(state, kResNet18Convs[state.range(0)], static_cast<ConvPasses>(state.range(1)));
}
BENCHMARK(BM_ConvResNet18Passes)
    ->ArgsProduct({benchmark::CreateDenseRange(0, std::size(kResNet18Convs) - 1, 1), {0, 1, 2}})
    ->ArgNames({"conv", "pass"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Every distinct depthwise convolution of torchvision's MobileNetV2 on a batch of 16 112×112
// images (real_mobilenet_v2_last_blocks_step): features.1 … features.17's 3×3 depthwise layers,
// memory-bound, so read by bytes_per_second against BM_CopyReference at the same working set.
// range(1) = 0 forward only (the frozen blocks), 1 forward + input gradient, 2 forward + weight
// gradient (the trainable 960-channel blocks 16 and 17).
constexpr RealConv kMobileNetV2Depthwise[] = {
    {"f1.dw32.s56", 16, 32, 56, 32, 3, 1, 32},          {"f2.dw96.s56.stride2", 16, 96, 56, 96, 3, 2, 96},
    {"f3.dw144.s28", 16, 144, 28, 144, 3, 1, 144},     {"f4.dw144.s28.stride2", 16, 144, 28, 144, 3, 2, 144},
    {"f5-6.dw192.s14", 16, 192, 14, 192, 3, 1, 192},   {"f7.dw192.s14.stride2", 16, 192, 14, 192, 3, 2, 192},
    {"f8-11.dw384.s7", 16, 384, 7, 384, 3, 1, 384},    {"f12-13.dw576.s7", 16, 576, 7, 576, 3, 1, 576},
    {"f14.dw576.s7.stride2", 16, 576, 7, 576, 3, 2, 576}, {"f15-17.dw960.s4", 16, 960, 4, 960, 3, 1, 960},
};
void BM_DepthwiseMobileNetV2(benchmark::State& state) {
    run_conv_case(state, kMobileNetV2Depthwise[state.range(0)], static_cast<ConvPasses>(state.range(1)));
}
BENCHMARK(BM_DepthwiseMobileNetV2)
    ->ArgsProduct({benchmark::CreateDenseRange(0, std::size(kMobileNetV2Depthwise) - 1, 1), {0}})
    ->Args({std::size(kMobileNetV2Depthwise) - 1, 1})
    ->Args({std::size(kMobileNetV2Depthwise) - 1, 2})
    ->ArgNames({"conv", "pass"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// The memory-bandwidth reference for memory-bound ops: a copy of range(0) floats into a buffer
// allocated once (clone's parallel copy; 8 bytes per float: read and written). 1.6 Mi floats
// (6.4 MB, one MobileNetV2 depthwise input at 56×56) stays in the 32 MiB L3; 32 Mi floats
// (128 MiB) goes to DRAM.
void BM_CopyReference(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    manual_seed(1);
    const Tensor x = randn({n});
    Tensor y = empty({n});
    for (auto _ : state) {
        y.copy_(x);
        benchmark::DoNotOptimize(y.raw_data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * 8 * n);
}
BENCHMARK(BM_CopyReference)
    ->Arg(std::int64_t{1} << 18)
    ->Arg(16 * 32 * 56 * 56)
    ->Arg(std::int64_t{1} << 25)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// 2×2 max-pool of the CNN workload's first block: [64, 32, 32, 32] → [64, 32, 16, 16]; range(0) = 0
// forward only, 1 forward + backward. Bytes: the input read, the output and its int64 indices
// written (and, backward, the gradient read and dx written).
void BM_MaxPool2d(benchmark::State& state) {
    const bool backward = state.range(0) != 0;
    manual_seed(1);
    const Tensor x = randn({64, 32, 32, 32}).requires_grad_(backward);
    const Tensor dy = randn({64, 32, 16, 16});
    for (auto _ : state) {
        Tensor y = F::max_pool2d(x, 2);
        if (backward) y.backward(dy);
        benchmark::DoNotOptimize(y.raw_data());
        benchmark::ClobberMemory();
    }
    const std::int64_t in = x.numel(), out = dy.numel();
    const std::int64_t bytes = 4 * in + 12 * out + (backward ? 4 * out + 8 * out + 4 * in : 0);
    state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_MaxPool2d)->Arg(0)->Arg(1)->ArgName("bwd")->UseRealTime()->Unit(benchmark::kMillisecond);

// Training-mode batch_norm on the CNN workload's first activation, [64, 32, 32, 32]; range(0) = 0
// forward only, 1 forward + backward (dx, dweight, dbias). Bytes: x read and y written forward;
// dy and x read and dx written backward.
void BM_BatchNorm2d(benchmark::State& state) {
    const bool backward = state.range(0) != 0;
    manual_seed(1);
    const Tensor x = randn({64, 32, 32, 32}).requires_grad_(backward);
    const Tensor w = ones({32}).requires_grad_(backward), b = zeros({32}).requires_grad_(backward);
    const Tensor rm = zeros({32}), rv = ones({32});
    const Tensor dy = randn({64, 32, 32, 32});
    for (auto _ : state) {
        Tensor y = F::batch_norm(x, rm, rv, w, b, /*training=*/true);
        if (backward) y.backward(dy);
        benchmark::DoNotOptimize(y.raw_data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * x.numel() * 4 * (backward ? 5 : 2));
}
BENCHMARK(BM_BatchNorm2d)->Arg(0)->Arg(1)->ArgName("bwd")->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
