// bench_bf16_gemm — the bf16 GEMM (kernels/gemm/bf16_gemm.hpp) next to graft's float32 sgemm, in
// one run, on the linear layers of the GPT and Llama workloads of bench_workloads, 1 and 2 threads.
//
//   build/bench/bench_bf16_gemm --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//   build/bench/bench_bf16_gemm --benchmark_filter='gpt_mlp_fc/'
//
// Cases are named <kernel>/<shape><pass>/threads:<t>, every shape a Linear of W [N, K] row-major on
// X [M, K] and each of its three GEMMs (pass): the forward Y [M, N] = X·Wᵀ (no suffix), the input
// gradient dX [M, K] = dY·W (`_dx`) and the weight gradient dW [N, K] = dYᵀ·X (`_dw`). Kernels:
// f32 (sgemm), bf16 (the bf16 GEMM's default variant on float32 operands: rounded per call, as
// autocast does), bf16_w (W already held as bf16 bits, a frozen bf16 weight; the same as bf16 in
// `_dw`, which does not read W), via_f32 (the rounding path through the fp32 kernel, the fallback
// of CPUs without AVX512_BF16); and, when the bench is built with oneDNN (libdnnl-dev), the
// peers: onednn_bf16 (oneDNN's matmul primitive on bf16 operands with a float32 result, what
// PyTorch's CPU bf16 autocast runs; its operands are rounded to bf16 once, outside the timing, so
// compare it with bf16_w, or with bf16 knowing that bf16 also rounds per call) and onednn_f32 (the
// same primitive in float32). GFLOP/s = 2·M·N·K per second of wall-clock time; compare
// kernels as ratios taken from one run (the machine is shared, its speed drifts between runs); on a
// loaded machine the CPU column of the one-thread cases is the steadier figure.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "graft/runtime.hpp"
#include "kernels/cpu/cpu_features.hpp"
#include "kernels/gemm/bf16_gemm.hpp"

#ifdef GRAFT_BENCH_ONEDNN
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#endif

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

enum class Kernel { F32, Bf16, Bf16Weights, ViaF32, OneDnnBf16, OneDnnF32 };

/// One of a Linear's GEMMs: the forward, the input gradient, the weight gradient.
enum class Pass { Forward, InputGrad, WeightGrad };

/// A strided operand.
struct Operand {
    const float* f32;
    const std::uint16_t* bf16;
    int64 rs, cs;
    kernels::Bf16Operand as_bf16() const {
        return bf16 ? kernels::Bf16Operand::of(bf16, rs, cs) : kernels::Bf16Operand::of(f32, rs, cs);
    }
};

#ifdef GRAFT_BENCH_ONEDNN
/// oneDNN's matmul primitive, C [m, n] = A [m, k]·B [k, n] with A and B strided as given, bf16 or
/// float32 in, float32 out, created once outside the timing. It runs on oneDNN's OpenMP threads.
class OneDnnMatmul {
public:
    OneDnnMatmul(int64 m, int64 n, int64 k, bool bf16, const void* a, int64 a_rs, int64 a_cs, const void* b,
                 int64 b_rs, int64 b_cs, float* c) {
        using dt = dnnl::memory::data_type;
        const dt in = bf16 ? dt::bf16 : dt::f32;
        const dnnl::memory::desc ad({m, k}, in, {a_rs, a_cs}), bd({k, n}, in, {b_rs, b_cs});
        const dnnl::memory::desc cd({m, n}, dt::f32, {n, 1});
        prim_ = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(ad, bd, cd), engine_));
        a_ = dnnl::memory(ad, engine_, const_cast<void*>(a));
        b_ = dnnl::memory(bd, engine_, const_cast<void*>(b));
        c_ = dnnl::memory(cd, engine_, c);
    }
    void run() {
        prim_.execute(stream_, {{DNNL_ARG_SRC, a_}, {DNNL_ARG_WEIGHTS, b_}, {DNNL_ARG_DST, c_}});
        stream_.wait();
    }

private:
    dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
    dnnl::stream stream_{engine_};
    dnnl::matmul prim_;
    dnnl::memory a_, b_, c_;
};
#endif

/// The GEMM of pass `pass`: C [m, n] = A [m, k]·B [k, n].
struct Gemm {
    int64 m, n, k;
    Operand a, b;
};

void run(benchmark::State& state, const Shape& s, Pass pass, Kernel kernel, int threads) {
    graft::set_num_threads(threads);
    std::vector<float> x(static_cast<std::size_t>(s.M * s.K)), w(static_cast<std::size_t>(s.N * s.K));
    std::vector<float> dy(static_cast<std::size_t>(s.M * s.N));
    std::vector<float> y(static_cast<std::size_t>(std::max({s.M * s.N, s.M * s.K, s.N * s.K})));
    std::uint32_t r = 12345;
    for (std::vector<float>* v : {&x, &w, &dy})
        for (float& e : *v) {
            r = r * 1664525u + 1013904223u;
            e = static_cast<float>(r >> 8) / static_cast<float>(1u << 23) - 1.f;
        }
    std::vector<std::uint16_t> w_bits(w.size());
    for (std::size_t i = 0; i < w.size(); ++i) w_bits[i] = kernels::round_to_bf16(w[i]);
    const bool onednn = kernel == Kernel::OneDnnBf16 || kernel == Kernel::OneDnnF32;
    std::vector<std::uint16_t> x_bits, dy_bits;
    if (kernel == Kernel::OneDnnBf16) {
        for (const auto& [src, dst] : {std::pair{&x, &x_bits}, std::pair{&dy, &dy_bits}})
            for (float e : *src) dst->push_back(kernels::round_to_bf16(e));
    }
    const kernels::Bf16GemmVariant& best = kernels::bf16_gemm_variant(kernels::active_isa());
    const kernels::Bf16GemmVariant* via_f32 = &best;
    for (const kernels::Bf16GemmVariant* v : kernels::bf16_gemm_variants())
        if (!v->native && v->isa == kernels::active_isa()) via_f32 = v;
    // W as given to the kernel: float32, or bf16 bits for bf16_w.
    const Operand W{kernel == Kernel::Bf16Weights ? nullptr : w.data(),
                    kernel == Kernel::Bf16Weights ? w_bits.data() : nullptr, s.K, 1};
    const Operand X{x.data(), nullptr, s.K, 1}, dY{dy.data(), nullptr, s.N, 1};
    const Operand Wt{W.f32, W.bf16, 1, s.K}, dYt{dy.data(), nullptr, 1, s.N};  // Wᵀ, dYᵀ
    const Gemm g = pass == Pass::Forward     ? Gemm{s.M, s.N, s.K, X, Wt}
                   : pass == Pass::InputGrad ? Gemm{s.M, s.K, s.N, dY, W}
                                             : Gemm{s.N, s.K, s.M, dYt, X};
#ifdef GRAFT_BENCH_ONEDNN
    std::optional<OneDnnMatmul> peer;
    if (onednn) {
        omp_set_num_threads(threads);
        // The same operand as g's, as oneDNN reads it: its bf16 copy, or the float32 data.
        auto data = [&](const Operand& o) -> const void* {
            if (kernel == Kernel::OneDnnF32) return o.f32;
            if (o.f32 == x.data()) return x_bits.data();
            if (o.f32 == dy.data()) return dy_bits.data();
            return w_bits.data();
        };
        peer.emplace(g.m, g.n, g.k, kernel == Kernel::OneDnnBf16, data(g.a), g.a.rs, g.a.cs, data(g.b), g.b.rs,
                     g.b.cs, y.data());
    }
#else
    if (onednn) {
        state.SkipWithError("built without oneDNN (libdnnl-dev)");
        return;
    }
#endif
    auto multiply = [&] {
#ifdef GRAFT_BENCH_ONEDNN
        if (peer) return peer->run();
#endif
        if (kernel == Kernel::F32)
            kernels::sgemm(g.m, g.n, g.k, 1.f, g.a.f32, g.a.rs, g.a.cs, g.b.f32, g.b.rs, g.b.cs, 0.f, y.data(), g.n, 1);
        else
            kernels::bf16_gemm(kernel == Kernel::ViaF32 ? *via_f32 : best, g.m, g.n, g.k, 1.f, g.a.as_bf16(),
                               g.b.as_bf16(), 0.f, y.data(), g.n, 1);
    };
    multiply();  // untimed: grows the packing and conversion buffers, so no iteration pays page faults
#ifdef GRAFT_BENCH_ONEDNN
    if (peer) {
        // The peer's operand layout is checked once against sgemm: bf16 rounding stays well below 5 %
        // of the largest entry, a misread stride does not.
        std::vector<float> ref(static_cast<std::size_t>(g.m * g.n));
        kernels::sgemm(g.m, g.n, g.k, 1.f, g.a.f32, g.a.rs, g.a.cs, g.b.f32, g.b.rs, g.b.cs, 0.f, ref.data(), g.n, 1);
        float scale = 0.f, err = 0.f;
        for (std::size_t i = 0; i < ref.size(); ++i) {
            scale = std::max(scale, std::abs(ref[i]));
            err = std::max(err, std::abs(ref[i] - y[i]));
        }
        if (err > 0.05f * scale) {
            state.SkipWithError("oneDNN's result differs from sgemm's");
            return;
        }
    }
#endif
    for (auto _ : state) {
        multiply();
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * static_cast<double>(g.m) * static_cast<double>(g.n) *
                                                       static_cast<double>(g.k),
                                                   benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(kernel == Kernel::F32          ? "sgemm"
                   : kernel == Kernel::ViaF32     ? via_f32->name
                   : kernel == Kernel::OneDnnBf16 ? "oneDNN matmul bf16"
                   : kernel == Kernel::OneDnnF32  ? "oneDNN matmul f32"
                                                  : best.name);
}

void register_all() {
    const std::pair<const char*, Kernel> kernels_run[] = {
        {"f32", Kernel::F32}, {"bf16", Kernel::Bf16}, {"bf16_w", Kernel::Bf16Weights}, {"via_f32", Kernel::ViaF32},
#ifdef GRAFT_BENCH_ONEDNN
        {"onednn_bf16", Kernel::OneDnnBf16}, {"onednn_f32", Kernel::OneDnnF32},
#endif
    };
    const std::pair<const char*, Pass> passes[] = {
        {"", Pass::Forward}, {"_dx", Pass::InputGrad}, {"_dw", Pass::WeightGrad}};
    for (int threads : {1, 2})
        for (const Shape& s : SHAPES)
            for (const auto& [suffix, pass] : passes)
                for (const auto& [name, kernel] : kernels_run)
                    benchmark::RegisterBenchmark(
                        (std::string(name) + "/" + s.name + suffix + "/threads:" + std::to_string(threads)).c_str(),
                        [&s, pass = pass, kernel = kernel, threads](benchmark::State& st) {
                            run(st, s, pass, kernel, threads);
                        })
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
