// bench_bf16_gemm — the bf16 GEMM (kernels/gemm/bf16_gemm.hpp) next to graft's float32 sgemm, in
// one run, on the linear layers of the GPT and Llama workloads of bench_workloads, 1 and 2 threads.
//
//   build/bench/bench_bf16_gemm --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//   build/bench/bench_bf16_gemm --benchmark_filter='gpt_mlp_fc/'
//
// Cases are named <kernel>/<shape>/threads:<t>, every shape Y [M, N] = X [M, K] · Wᵀ with W [N, K]
// row-major (a Linear's forward). Kernels: f32 (sgemm), bf16 (the bf16 GEMM's default variant on
// float32 X and W: both rounded per call, as autocast does), bf16_w (W already held as bf16 bits,
// a frozen bf16 weight: read in place), via_f32 (the rounding path through the fp32 kernel, the
// fallback of CPUs without AVX512_BF16). GFLOP/s = 2·M·N·K per second of wall-clock time; compare
// kernels as ratios taken from one run (the machine is shared, its speed drifts between runs); on a
// loaded machine the CPU column of the one-thread cases is the steadier figure.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "graft/runtime.hpp"
#include "kernels/cpu/cpu_features.hpp"
#include "kernels/gemm/bf16_gemm.hpp"

namespace {

using graft::kernels::int64;
namespace kernels = graft::kernels;

struct Shape {
    const char* name;
    int64 M, N, K;
};

// GPT (bench::Gpt: batch 16 × 128 tokens, width 256, MLP 1024, vocabulary 256) and the Llama
// workload (4 × 128 tokens, width 512, 2 key/value heads of 64, SwiGLU 1376, vocabulary 32000).
const Shape SHAPES[] = {
    {"gpt_qkv", 2048, 768, 256},      {"gpt_proj", 2048, 256, 256},     {"gpt_mlp_fc", 2048, 1024, 256},
    {"gpt_mlp_proj", 2048, 256, 1024}, {"gpt_head", 2048, 256, 256},    {"llama_q", 512, 512, 512},
    {"llama_kv", 512, 128, 512},       {"llama_gate_up", 512, 1376, 512}, {"llama_down", 512, 512, 1376},
    {"llama_head", 512, 32000, 512},
};

enum class Kernel { F32, Bf16, Bf16Weights, ViaF32 };

void run(benchmark::State& state, const Shape& s, Kernel kernel, int threads) {
    graft::set_num_threads(threads);
    std::vector<float> x(static_cast<std::size_t>(s.M * s.K)), w(static_cast<std::size_t>(s.N * s.K));
    std::vector<float> y(static_cast<std::size_t>(s.M * s.N));
    std::uint32_t r = 12345;
    for (std::vector<float>* v : {&x, &w})
        for (float& e : *v) {
            r = r * 1664525u + 1013904223u;
            e = static_cast<float>(r >> 8) / static_cast<float>(1u << 23) - 1.f;
        }
    std::vector<std::uint16_t> w_bits(w.size());
    for (std::size_t i = 0; i < w.size(); ++i) w_bits[i] = kernels::round_to_bf16(w[i]);
    const kernels::Bf16GemmVariant& best = kernels::bf16_gemm_variant(kernels::active_isa());
    const kernels::Bf16GemmVariant* via_f32 = &best;
    for (const kernels::Bf16GemmVariant* v : kernels::bf16_gemm_variants())
        if (!v->native && v->isa == kernels::active_isa()) via_f32 = v;
    auto multiply = [&] {
        switch (kernel) {
            case Kernel::F32:
                kernels::sgemm(s.M, s.N, s.K, 1.f, x.data(), s.K, 1, w.data(), 1, s.K, 0.f, y.data(), s.N, 1);
                break;
            case Kernel::Bf16:
                kernels::bf16_gemm(best, s.M, s.N, s.K, 1.f, kernels::Bf16Operand::of(x.data(), s.K, 1),
                                   kernels::Bf16Operand::of(w.data(), 1, s.K), 0.f, y.data(), s.N, 1);
                break;
            case Kernel::Bf16Weights:
                kernels::bf16_gemm(best, s.M, s.N, s.K, 1.f, kernels::Bf16Operand::of(x.data(), s.K, 1),
                                   kernels::Bf16Operand::of(w_bits.data(), 1, s.K), 0.f, y.data(), s.N, 1);
                break;
            case Kernel::ViaF32:
                kernels::bf16_gemm(*via_f32, s.M, s.N, s.K, 1.f, kernels::Bf16Operand::of(x.data(), s.K, 1),
                                   kernels::Bf16Operand::of(w.data(), 1, s.K), 0.f, y.data(), s.N, 1);
                break;
        }
    };
    multiply();  // untimed: grows the packing and conversion buffers, so no iteration pays page faults
    for (auto _ : state) {
        multiply();
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * static_cast<double>(s.M) * static_cast<double>(s.N) *
                                                       static_cast<double>(s.K),
                                                   benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(kernel == Kernel::F32 ? "sgemm" : kernel == Kernel::ViaF32 ? via_f32->name : best.name);
}

void register_all() {
    const std::pair<const char*, Kernel> kernels_run[] = {
        {"f32", Kernel::F32}, {"bf16", Kernel::Bf16}, {"bf16_w", Kernel::Bf16Weights}, {"via_f32", Kernel::ViaF32}};
    for (int threads : {1, 2})
        for (const Shape& s : SHAPES)
            for (const auto& [name, kernel] : kernels_run)
                benchmark::RegisterBenchmark(
                    (std::string(name) + "/" + s.name + "/threads:" + std::to_string(threads)).c_str(),
                    [&s, kernel = kernel, threads](benchmark::State& st) { run(st, s, kernel, threads); })
                    ->UseRealTime()
                    ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    register_all();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
