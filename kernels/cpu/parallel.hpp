// Internal: graft's one threading policy. Every parallel region in src/ and kernels/ is opened
// here (parallel.cpp holds the only OpenMP constructs of the tree), so that one setting bounds
// them all:
//   - a region runs on at most num_threads() threads: set_num_threads, else GRAFT_NUM_THREADS,
//     else OpenMP's default (the cores available);
//   - a region opened inside another runs on the calling thread alone (no nested teams: the
//     outer region already has every thread busy);
//   - a loop goes parallel only when its work reaches kParallelGrain, and never on more threads
//     than it has items; the split is static (one contiguous chunk per thread, the same on every
//     call with the same team), so per-thread partial results are reproducible.
//
//   parallel_for(0, rows, rows * n, [&](int64 lo, int64 hi) { for (int64 r = lo; r < hi; ++r) row(r); });
//   parallel_chunks(threads, 0, n, 64, [&](int64 lo, int64 hi) { kernel(hi - lo, x + lo); });
//   parallel_region(threads, [&](int tid, int nthreads) { work(scratch + tid * size); });
//
// Nothing here allocates. A body that throws: the first exception is rethrown on the calling
// thread once every thread of the region has finished.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <memory>

namespace graft::kernels {

/// Work (elements read or written by a loop, summed over its items) below which the loop runs
/// on the calling thread. Opening and joining a parallel region costs a few microseconds on an
/// idle machine; 2^15 elements of a row-wise op (a normalisation, a loss, a pooling window pass)
/// take some tens of microseconds on one core, so a second thread pays from about there.
inline constexpr std::int64_t kParallelGrain = std::int64_t{1} << 15;

/// A GRAFT_NUM_THREADS value as a thread count (a positive integer), or nullopt.
std::optional<int> parse_thread_count(const char* value);

/// The thread count every region is bounded by: set_num_threads, else a valid
/// GRAFT_NUM_THREADS, else omp_get_max_threads() (resolved on first use). Never throws: the core
/// layer reports a bad GRAFT_NUM_THREADS (src/core/runtime.cpp).
int num_threads();

/// Sets the thread count every later region is bounded by (below 1 counts as 1;
/// graft::set_num_threads checks its argument).
void set_num_threads(int n);

/// Whether the calling thread runs inside a parallel region of more than one thread.
bool in_parallel();

/// Test hook: the largest team a region has run on since reset_max_team_size() (1 for a region
/// run on the calling thread alone; 0 when none ran). One relaxed atomic max per region.
int max_team_size();
void reset_max_team_size();

namespace detail {

/// A non-owning reference to a callable body(tid, nthreads): what crosses into parallel.cpp.
class RegionBody {
public:
    template <class F>
    explicit RegionBody(F& body)
        : object_(std::addressof(body)),
          call_([](void* object, int tid, int nthreads) { (*static_cast<F*>(object))(tid, nthreads); }) {}
    void operator()(int tid, int nthreads) const { call_(object_, tid, nthreads); }

private:
    void* object_;
    void (*call_)(void*, int, int);
};

/// Opens the region of parallel_region (1 < threads ≤ num_threads(), outside any other region).
void run_region(int threads, RegionBody body);

/// Records a region of `team` threads for max_team_size().
void note_team(int team);

}  // namespace detail

/// body(tid, nthreads) on each thread of a team of nthreads ≤ min(threads, num_threads()),
/// tid in [0, nthreads): for drivers with per-thread scratch or their own task counters. One
/// thread, or a call from inside another region, runs body(0, 1) on the calling thread.
template <class F>
void parallel_region(int threads, F&& body) {
    if (threads > 1) threads = std::min(threads, num_threads());
    if (threads <= 1 || in_parallel()) {
        detail::note_team(1);
        body(0, 1);
        return;
    }
    detail::run_region(threads, detail::RegionBody(body));
}

/// body(lo, hi) over [begin, end) in one contiguous chunk per thread of a team of up to
/// `threads`, every chunk boundary a multiple of `align` items from begin (the last chunk takes
/// the rest); threads ≤ 1 runs body(begin, end) on the calling thread.
template <class F>
void parallel_chunks(int threads, std::int64_t begin, std::int64_t end, std::int64_t align, F&& body) {
    const std::int64_t items = end - begin;
    if (items <= 0) return;
    if (threads <= 1) {
        detail::note_team(1);
        body(begin, end);
        return;
    }
    parallel_region(threads, [&](int tid, int nthreads) {
        std::int64_t chunk = (items + nthreads - 1) / nthreads;
        chunk = (chunk + align - 1) / align * align;
        const std::int64_t lo = std::min(items, tid * chunk), hi = std::min(items, lo + chunk);
        if (lo < hi) body(begin + lo, begin + hi);
    });
}

/// The threads a loop of `items` items and `work` elements in all runs on under the policy:
/// 1 below kParallelGrain or with fewer than two items, else min(num_threads(), items).
inline int threads_for(std::int64_t items, std::int64_t work) {
    if (items < 2 || work < kParallelGrain) return 1;
    return static_cast<int>(std::min<std::int64_t>(num_threads(), items));
}

/// body(lo, hi) over [begin, end) split statically over threads_for(end − begin, work) threads:
/// `work` is what the whole loop reads or writes, in elements.
template <class F>
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t work, F&& body) {
    parallel_chunks(threads_for(end - begin, work), begin, end, 1, body);
}

}  // namespace graft::kernels
