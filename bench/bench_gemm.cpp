// bench_gemm — float32 GEMM: graft's sgemm vs OpenBLAS's cblas_sgemm vs Eigen, on 1 and 2 threads,
// plus the machine's FMA peak.
//
//   build/bench/bench_gemm --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//   build/bench/bench_gemm --benchmark_filter='square_1024/'     # one shape, every library
//
// Cases are named <library>/<shape>/threads:<t>. Shapes: square_N (C = A·B, N³) and the MLP
// workload's training GEMMs (batch 256, Linear 784→1024): mlp_fwd_NT (Y = X·Wᵀ, W [1024,784]),
// mlp_fwd_NN (the same product with W stored [784,1024]), mlp_dX_NN (dX = dY·W), mlp_dX_NT
// (dX = dY·Wᵀ with W stored [784,1024]) and mlp_dW_TN (dW = dYᵀ·X). Counter GFLOP/s = 2·M·N·K per
// second of wall-clock time. attn_QKt_64x128x128x64: 64 attention-score products S = Q·Kᵀ
// ([128,64]·[64,128]), graft's batched entry against a loop of calls. peak_fma/threads:<t> runs independent FMA chains in zmm registers
// on every thread: the ceiling every GEMM figure is a fraction of. Compare libraries as ratios
// taken from one run: the machine is shared and its speed drifts between runs. After the usual
// output, a markdown table sums up the run (medians with --benchmark_repetitions).
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>

#include <Eigen/Core>
#include <cstdint>
#include <cstdio>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "kernels/gemm/gemm.hpp"
#include "graft/runtime.hpp"

namespace {

using int64 = std::int64_t;

struct Shape {
    const char* name;
    int64 M, N, K;
    bool trans_a, trans_b;  // op(A) = Aᵀ (A stored K×M) / op(B) = Bᵀ (B stored N×K), row-major storage
};

const Shape SHAPES[] = {
    {"square_256", 256, 256, 256, false, false},    {"square_512", 512, 512, 512, false, false},
    {"square_1024", 1024, 1024, 1024, false, false}, {"square_2048", 2048, 2048, 2048, false, false},
    {"mlp_fwd_NT", 256, 1024, 784, false, true},    {"mlp_fwd_NN", 256, 1024, 784, false, false},
    {"mlp_dX_NN", 256, 784, 1024, false, false},    {"mlp_dX_NT", 256, 784, 1024, false, true},
    {"mlp_dW_TN", 1024, 784, 256, true, false},
};

/// Row-major operands of one shape, filled with values in [−1, 1).
struct Operands {
    std::vector<float> a, b, c;
    int64 lda, ldb;
    explicit Operands(const Shape& s)
        : a(static_cast<std::size_t>(s.M * s.K)), b(static_cast<std::size_t>(s.K * s.N)),
          c(static_cast<std::size_t>(s.M * s.N)), lda(s.trans_a ? s.M : s.K), ldb(s.trans_b ? s.K : s.N) {
        std::uint32_t x = 12345;
        for (std::vector<float>* v : {&a, &b})
            for (float& e : *v) {
                x = x * 1664525u + 1013904223u;
                e = static_cast<float>(x >> 8) / static_cast<float>(1u << 23) - 1.f;
            }
    }
};

void set_flops(benchmark::State& state, const Shape& s) {
    state.counters["GFLOP/s"] =
        benchmark::Counter(2e-9 * static_cast<double>(s.M) * static_cast<double>(s.N) * static_cast<double>(s.K),
                           benchmark::Counter::kIsIterationInvariantRate);
}

void run_graft(benchmark::State& state, const Shape& s, int threads) {
    graft::set_num_threads(threads);
    Operands o(s);
    // Element (i, p) of op(A) lives at i·rs + p·cs: a transpose is the same storage, strides swapped.
    const int64 rsA = s.trans_a ? 1 : o.lda, csA = s.trans_a ? o.lda : 1;
    const int64 rsB = s.trans_b ? 1 : o.ldb, csB = s.trans_b ? o.ldb : 1;
    for (auto _ : state) {
        graft::kernels::sgemm(s.M, s.N, s.K, 1.f, o.a.data(), rsA, csA, o.b.data(), rsB, csB, 0.f, o.c.data(), s.N, 1);
        benchmark::DoNotOptimize(o.c.data());
        benchmark::ClobberMemory();
    }
    set_flops(state, s);
    state.SetLabel(graft::active_isa());
}

void run_openblas(benchmark::State& state, const Shape& s, int threads) {
    openblas_set_num_threads(threads);
    Operands o(s);
    for (auto _ : state) {
        cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans, s.trans_b ? CblasTrans : CblasNoTrans,
                    static_cast<int>(s.M), static_cast<int>(s.N), static_cast<int>(s.K), 1.f, o.a.data(),
                    static_cast<int>(o.lda), o.b.data(), static_cast<int>(o.ldb), 0.f, o.c.data(), static_cast<int>(s.N));
        benchmark::DoNotOptimize(o.c.data());
        benchmark::ClobberMemory();
    }
    set_flops(state, s);
}

void run_eigen(benchmark::State& state, const Shape& s, int threads) {
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::setNbThreads(threads);
    Operands o(s);
    const Eigen::Map<const RowMajor> a(o.a.data(), s.trans_a ? s.K : s.M, s.trans_a ? s.M : s.K);
    const Eigen::Map<const RowMajor> b(o.b.data(), s.trans_b ? s.N : s.K, s.trans_b ? s.K : s.N);
    Eigen::Map<RowMajor> c(o.c.data(), s.M, s.N);
    for (auto _ : state) {
        if (s.trans_a)
            c.noalias() = a.transpose() * b;
        else if (s.trans_b)
            c.noalias() = a * b.transpose();
        else
            c.noalias() = a * b;
        benchmark::DoNotOptimize(o.c.data());
        benchmark::ClobberMemory();
    }
    set_flops(state, s);
}

// Attention scores for one GPT step (16 sequences × 4 heads): 64 independent S = Q·Kᵀ, Q and K
// [128, 64] row-major. graft: one sgemm_batched call; OpenBLAS and Eigen: a loop of 64 calls.
constexpr int64 ATTN_BATCH = 64, ATTN_T = 128, ATTN_D = 64;

void run_attention(benchmark::State& state, int library, int threads) {
    std::vector<float> q(static_cast<std::size_t>(ATTN_BATCH * ATTN_T * ATTN_D), 0.01f), k(q.size(), 0.02f);
    std::vector<float> s(static_cast<std::size_t>(ATTN_BATCH * ATTN_T * ATTN_T));
    graft::set_num_threads(threads);
    openblas_set_num_threads(threads);
    Eigen::setNbThreads(threads);
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    for (auto _ : state) {
        if (library == 0) {
            graft::kernels::sgemm_batched(ATTN_BATCH, ATTN_T, ATTN_T, ATTN_D, 1.f, q.data(), ATTN_D, 1, ATTN_T * ATTN_D,
                                          k.data(), 1, ATTN_D, ATTN_T * ATTN_D, 0.f, s.data(), ATTN_T, 1, ATTN_T * ATTN_T);
        } else {
            for (int64 b = 0; b < ATTN_BATCH; ++b) {
                const float* qb = q.data() + b * ATTN_T * ATTN_D;
                const float* kb = k.data() + b * ATTN_T * ATTN_D;
                float* sb = s.data() + b * ATTN_T * ATTN_T;
                if (library == 1) {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ATTN_T, ATTN_T, ATTN_D, 1.f, qb, ATTN_D, kb,
                                ATTN_D, 0.f, sb, ATTN_T);
                } else {
                    Eigen::Map<RowMajor>(sb, ATTN_T, ATTN_T).noalias() =
                        Eigen::Map<const RowMajor>(qb, ATTN_T, ATTN_D) *
                        Eigen::Map<const RowMajor>(kb, ATTN_T, ATTN_D).transpose();
                }
            }
        }
        benchmark::DoNotOptimize(s.data());
        benchmark::ClobberMemory();
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * ATTN_BATCH * ATTN_T * ATTN_T * ATTN_D,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

// 12 independent chains of zmm FMAs per thread (fully unrolled: kept in registers): 3× the 4-cycle latency of Zen 4's one 512-bit FMA
// per cycle, so the pipe never waits. 2 FLOP × 16 lanes per FMA.
__attribute__((target("avx512f"), noinline)) void fma_chains(int64 iterations, float* out) {
    __m512 acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
    const __m512 m = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-6f);
    for (int64 n = 0; n < iterations; ++n)
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], m, add);
    __m512 sum = acc[0];
    for (int i = 1; i < 12; ++i) sum = _mm512_add_ps(sum, acc[i]);
    _mm512_storeu_ps(out, sum);
}

void run_peak(benchmark::State& state, int threads) {
    constexpr int64 ITERATIONS = 1 << 20;
    for (auto _ : state) {
#pragma omp parallel num_threads(threads)
        {
            alignas(64) float out[16];
            fma_chains(ITERATIONS, out);
            benchmark::DoNotOptimize(out[0]);
        }
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * 16 * 12 * static_cast<double>(ITERATIONS) * threads,
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

/// The console output, then one markdown table: per case and thread count, each library's GFLOP/s
/// (the median when there are repetitions), graft/OpenBLAS, graft's fraction of the FMA peak
/// measured in the same run and, on one thread, graft/OpenBLAS by CPU time (the time actually
/// spent on a core, which other users of a shared machine do not inflate).
class SummaryReporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const Run& run : runs) {
            const bool single = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
            const auto flops = run.counters.find("GFLOP/s");
            if (run.error_occurred || flops == run.counters.end() || !(single || run.aggregate_name == "median"))
                continue;
            results_[run.run_name.function_name] = {flops->second.value, run.GetAdjustedCPUTime()};
        }
    }

    void Finalize() override {
        ConsoleReporter::Finalize();
        std::ostream& out = GetOutputStream();
        out << "\n| case | threads | graft GFLOP/s | OpenBLAS | Eigen | graft / OpenBLAS | graft / FMA peak"
            << " | graft / OpenBLAS (CPU time) |\n|---|---|---|---|---|---|---|---|\n";
        std::vector<std::string> cases{"attn_QKt_64x128x128x64"};
        for (const Shape& s : SHAPES) cases.emplace_back(s.name);
        for (int threads : {1, 2}) {
            const std::string suffix = "/threads:" + std::to_string(threads);
            const double peak = get("peak_fma" + suffix).gflops;
            for (const std::string& c : cases) {
                const Result graft = get("graft/" + c + suffix), openblas = get("openblas/" + c + suffix);
                if (graft.gflops == 0) continue;
                char cpu_ratio[32] = "";
                if (threads == 1 && graft.cpu_time > 0)
                    std::snprintf(cpu_ratio, sizeof cpu_ratio, "%.3f", openblas.cpu_time / graft.cpu_time);
                char line[256];
                std::snprintf(line, sizeof line, "| %s | %d | %.1f | %.1f | %.1f | %.3f | %.2f | %s |\n", c.c_str(),
                              threads, graft.gflops, openblas.gflops, get("eigen/" + c + suffix).gflops,
                              openblas.gflops > 0 ? graft.gflops / openblas.gflops : 0.0,
                              peak > 0 ? graft.gflops / peak : 0.0, cpu_ratio);
                out << line;
            }
            char line[128];
            std::snprintf(line, sizeof line, "| peak_fma | %d | %.1f | | | | 1.00 | |\n", threads, peak);
            if (peak > 0) out << line;
        }
    }

private:
    struct Result {
        double gflops = 0, cpu_time = 0;
    };
    Result get(const std::string& name) const {
        const auto it = results_.find(name);
        return it == results_.end() ? Result{} : it->second;
    }
    std::map<std::string, Result> results_;
};

void register_all() {
    for (int threads : {1, 2}) {
        const std::string suffix = "/threads:" + std::to_string(threads);
        if (__builtin_cpu_supports("avx512f"))
            benchmark::RegisterBenchmark(("peak_fma" + suffix).c_str(),
                                         [threads](benchmark::State& st) { run_peak(st, threads); })
                ->UseRealTime();
        const char* libraries[] = {"graft", "openblas", "eigen"};
        for (int library = 0; library < 3; ++library)
            benchmark::RegisterBenchmark((std::string(libraries[library]) + "/attn_QKt_64x128x128x64" + suffix).c_str(),
                                         [library, threads](benchmark::State& st) { run_attention(st, library, threads); })
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
        for (const Shape& s : SHAPES) {
            const std::string name = std::string(s.name) + suffix;
            benchmark::RegisterBenchmark(("graft/" + name).c_str(),
                                         [&s, threads](benchmark::State& st) { run_graft(st, s, threads); })
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
            benchmark::RegisterBenchmark(("openblas/" + name).c_str(),
                                         [&s, threads](benchmark::State& st) { run_openblas(st, s, threads); })
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
            benchmark::RegisterBenchmark(("eigen/" + name).c_str(),
                                         [&s, threads](benchmark::State& st) { run_eigen(st, s, threads); })
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    register_all();
    SummaryReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    return 0;
}
