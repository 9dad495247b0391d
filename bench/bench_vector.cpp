// bench_vector — the float32 vector kernels (kernels/vector) against a streaming copy, in GB/s.
//
//   build/bench/bench_vector --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//   GRAFT_ISA=avx2 build/bench/bench_vector --benchmark_filter='/dram'   # another variant, one size
//
// Cases are named <kernel>/<size>: l2 is 64 Ki floats per array (256 KiB: every operand of a
// kernel fits the 1 MiB L2 together), dram 32 Mi floats per array (128 MiB, four times the
// 32 MiB L3). Row kernels (softmax, cross-entropy, layer_norm) take rows of 1024. Each case runs
// the active ISA's variant through its driver on one thread (set_num_threads(1)), so the figures
// are one core's. The counter GB (shown as a rate, GB/s) is the bytes a single pass must move — every array read once
// and every array written once — per second: 8 B/element for y = f(x), 12 for dx = f(s, dy),
// 4 for a reduction. The column reductions read x as [outer, rows, inner] and sum each column
// (in double) down its rows, x read in place: sum_columns_4096 is [n/4096, 4096] over dim 0,
// sum_columns_256 [n/65536, 256, 256] over the middle dim, var_columns the squared deviations of
// [n/4096, 4096] over dim 0 (var's second pass); 4 B/elem. The binary cases: binary_add is y = a + b (12 B/elem), binary_add_row_bias
// y[r, j] = x[r, j] + bias[j] on rows of 1024 (8: the bias stays in L1), binary_mul_scalar y = x·s (8). Baselines: copy_memcpy (glibc memcpy, which streams large copies with
// non-temporal stores) and copy_loop (a plain vectorised loop with ordinary stores, as the
// kernels do); compare as ratios from one run, the machine is shared. Rates are per CPU second
// (one thread, so this is the kernel's own time, not other processes' on a loaded machine).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "graft/runtime.hpp"
#include "kernels/vector/vector.hpp"

namespace {

using graft::kernels::int64;
using graft::kernels::BinaryOp;
using graft::kernels::UnaryOp;
namespace k = graft::kernels;

constexpr int64 kL2 = int64{1} << 16;
constexpr int64 kDram = int64{1} << 25;
constexpr int64 kRow = 1024;

/// Arrays of n floats with values in [−4, 4) (and labels for the cross-entropy), touched once
/// before any timing so that page faults stay out of the figures.
struct Arrays {
    explicit Arrays(int64 n)
        : x(static_cast<std::size_t>(n)), s(x.size()), dy(x.size()), out(x.size()), target(static_cast<std::size_t>(n / kRow)),
          stats(static_cast<std::size_t>(3 * (n / kRow))), mean(static_cast<std::size_t>(n / kRow)), w(kRow, 1.1f),
          dw(kRow), db(kRow), columns(static_cast<std::size_t>(std::max<int64>(4096, n / 256))), column_mean(columns.size(), 0.1) {
        for (std::size_t i = 0; i < x.size(); ++i) {
            x[i] = static_cast<float>(static_cast<int64>(i * 2654435761u % 8192) - 4096) / 1024.f;
            s[i] = 0.5f + 0.25f * x[i] / 4.f;  // in (0, 1): a valid sigmoid/tanh output and log input
            dy[i] = x[i] * 0.5f;
            out[i] = 0.f;
        }
        for (std::size_t r = 0; r < target.size(); ++r) target[r] = static_cast<int64>(r * 7 % kRow);
    }
    std::vector<float> x, s, dy, out;
    std::vector<int64> target;
    std::vector<float> stats;
    std::vector<double> mean;
    std::vector<float> w, dw, db;
    std::vector<double> columns, column_mean;
};

Arrays& arrays(int64 n) {
    static Arrays l2(kL2);
    if (n == kL2) return l2;
    static Arrays dram(kDram);
    return dram;
}

using Body = std::function<void(Arrays&, int64 n)>;

void run(benchmark::State& state, int64 n, double bytes_per_element, const Body& body) {
    graft::set_num_threads(1);
    Arrays& a = arrays(n);
    body(a, n);  // warm
    for (auto _ : state) {
        body(a, n);
        benchmark::ClobberMemory();
    }
    state.counters["GB"] = benchmark::Counter(bytes_per_element * static_cast<double>(n) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void add(const std::string& name, double bytes_per_element, Body body) {
    for (auto [size, n] : {std::pair{"l2", kL2}, std::pair{"dram", kDram}})
        benchmark::RegisterBenchmark((name + "/" + size).c_str(),
                                     [=](benchmark::State& st) { run(st, n, bytes_per_element, body); })
            ->Unit(benchmark::kMicrosecond);
}

void copy_loop(int64 n, const float* __restrict x, float* __restrict y) {
    for (int64 i = 0; i < n; ++i) y[i] = x[i];
}

void register_all() {
    add("copy_memcpy", 8, [](Arrays& a, int64 n) { std::memcpy(a.out.data(), a.x.data(), static_cast<std::size_t>(n) * 4); });
    add("copy_loop", 8, [](Arrays& a, int64 n) { copy_loop(n, a.x.data(), a.out.data()); });
    const std::pair<const char*, UnaryOp> unary_ops[] = {
        {"relu", UnaryOp::Relu}, {"exp", UnaryOp::Exp},         {"log", UnaryOp::Log},
        {"tanh", UnaryOp::Tanh}, {"sigmoid", UnaryOp::Sigmoid}, {"gelu", UnaryOp::Gelu},
        {"gelu_tanh", UnaryOp::GeluTanh}};
    for (auto [name, op] : unary_ops) {
        const UnaryOp o = op;
        const bool positive = o == UnaryOp::Log;
        add(name, 8, [o, positive](Arrays& a, int64 n) { k::unary(o, n, positive ? a.s.data() : a.x.data(), a.out.data()); });
        add(std::string(name) + "_grad", 12, [o](Arrays& a, int64 n) {
            k::unary_grad(o, n, k::grad_reads_output(o) || o == UnaryOp::Log ? a.s.data() : a.x.data(), a.dy.data(),
                          a.out.data());
        });
    }
    add("binary_add", 12, [](Arrays& a, int64 n) { k::binary(BinaryOp::Add, n, a.x.data(), a.dy.data(), a.out.data()); });
    add("binary_add_row_bias", 8, [](Arrays& a, int64 n) {
        k::binary_rows(BinaryOp::Add, n / kRow, kRow, a.x.data(), kRow, a.w.data(), 0, a.out.data());
    });
    add("binary_mul_scalar", 8,
        [](Arrays& a, int64 n) { k::binary_scalar(BinaryOp::Mul, n, a.x.data(), 1.5f, false, a.out.data()); });
    add("sum", 4, [](Arrays& a, int64 n) {
        double s = 0;
        k::sum_rows(1, n, a.x.data(), &s);
        benchmark::DoNotOptimize(s);
    });
    add("sum_rows", 4, [](Arrays& a, int64 n) {
        std::vector<double>& out = a.mean;
        k::sum_rows(n / kRow, kRow, a.x.data(), out.data());
    });
    add("sum_columns_4096", 4, [](Arrays& a, int64 n) { k::sum_columns(1, n / 4096, 4096, a.x.data(), a.columns.data()); });
    add("sum_columns_256", 4,
        [](Arrays& a, int64 n) { k::sum_columns(n / (256 * 256), 256, 256, a.x.data(), a.columns.data()); });
    add("var_columns", 4, [](Arrays& a, int64 n) {
        k::squared_deviation_columns(1, n / 4096, 4096, a.x.data(), a.column_mean.data(), a.columns.data());
    });
    add("max_rows", 4, [](Arrays& a, int64 n) { k::max_rows(n / kRow, kRow, a.x.data(), a.stats.data()); });
    add("softmax", 8, [](Arrays& a, int64 n) { k::softmax_rows(n / kRow, kRow, a.x.data(), a.out.data(), false); });
    add("log_softmax", 8, [](Arrays& a, int64 n) { k::softmax_rows(n / kRow, kRow, a.x.data(), a.out.data(), true); });
    add("softmax_grad", 12,
        [](Arrays& a, int64 n) { k::softmax_grad_rows(n / kRow, kRow, a.s.data(), a.dy.data(), a.out.data(), false); });
    add("cross_entropy", 4, [](Arrays& a, int64 n) {
        const int64 rows = n / kRow;
        k::cross_entropy_rows(rows, kRow, a.x.data(), a.target.data(), -100, 0.f, a.stats.data(), a.stats.data() + rows,
                              a.stats.data() + 2 * rows);
    });
    add("cross_entropy_grad", 8, [](Arrays& a, int64 n) {
        const int64 rows = n / kRow;
        k::cross_entropy_grad_rows(rows, kRow, a.x.data(), a.stats.data() + rows, a.stats.data() + 2 * rows,
                                   a.target.data(), -100, 0.f, a.stats.data(), a.out.data());
    });
    add("layer_norm", 8, [](Arrays& a, int64 n) {
        const int64 rows = n / kRow;
        k::layer_norm_rows(rows, kRow, a.x.data(), a.w.data(), a.w.data(), 1e-5f, a.out.data(), a.mean.data(),
                           a.stats.data());
    });
    add("layer_norm_grad", 12, [](Arrays& a, int64 n) {
        const int64 rows = n / kRow;
        k::layer_norm_grad_rows(rows, kRow, a.x.data(), a.dy.data(), a.w.data(), a.mean.data(), a.stats.data(),
                                a.out.data(), a.dw.data(), a.db.data());
    });
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
