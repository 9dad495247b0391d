// The process-wide thread count and the one OpenMP region every parallel loop of graft opens
// (policy in parallel.hpp).
#include "kernels/cpu/parallel.hpp"

#include <omp.h>

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "kernels/cpu/gemm_precision.hpp"

namespace graft::kernels {

namespace {

// 0 while unresolved; otherwise the thread count.
std::atomic<int> g_threads{0};
// The largest team since the last reset (max_team_size).
std::atomic<int> g_max_team{0};

}  // namespace

std::optional<int> parse_thread_count(const char* value) {
    if (value == nullptr || *value == '\0') return std::nullopt;
    const std::string_view s(value);
    int n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size() || n < 1) return std::nullopt;
    return n;
}

int num_threads() {
    int n = g_threads.load(std::memory_order_relaxed);
    if (n > 0) return n;
    n = parse_thread_count(std::getenv("GRAFT_NUM_THREADS")).value_or(omp_get_max_threads());
    g_threads.store(n, std::memory_order_relaxed);
    return n;
}

void set_num_threads(int n) { g_threads.store(n < 1 ? 1 : n, std::memory_order_relaxed); }

bool in_parallel() { return omp_in_parallel() != 0; }

int max_team_size() { return g_max_team.load(std::memory_order_relaxed); }

void reset_max_team_size() { g_max_team.store(0, std::memory_order_relaxed); }

namespace detail {

void note_team(int team) {
    int seen = g_max_team.load(std::memory_order_relaxed);
    while (seen < team && !g_max_team.compare_exchange_weak(seen, team, std::memory_order_relaxed)) {
    }
}

void run_region(int threads, RegionBody body) {
    std::exception_ptr error;
    std::atomic<bool> failed{false};
    // The team computes its GEMMs in the caller's precision (gemm_precision.hpp).
    const GemmPrecision precision = gemm_precision();
#pragma omp parallel num_threads(threads)
    {
        const int tid = omp_get_thread_num(), team = omp_get_num_threads();
        if (tid == 0) note_team(team);
        const GemmPrecision worker_precision = gemm_precision();
        set_gemm_precision(precision);
        try {
            body(tid, team);
        } catch (...) {
            // The first thread to fail keeps its exception; the others' are dropped.
            if (!failed.exchange(true, std::memory_order_acq_rel)) error = std::current_exception();
        }
        set_gemm_precision(worker_precision);
    }
    if (error) std::rethrow_exception(error);
}

}  // namespace detail

}  // namespace graft::kernels
