// Internal: splitting a long run of elements into one chunk per OpenMP thread, for the drivers
// of the memory-bound kernels (kernels/vector, kernels/optim).
#pragma once

#include <algorithm>
#include <cstdint>

namespace graft::kernels {

/// run(begin, count) over [0, n) in one chunk per thread of `threads`, each chunk a multiple of
/// `align` elements but the last; one thread (or fewer) runs the whole range inline, without an
/// OpenMP region.
template <class F>
void run_in_chunks(int threads, std::int64_t n, std::int64_t align, F&& run) {
    if (threads <= 1) {
        run(std::int64_t{0}, n);
        return;
    }
    std::int64_t chunk = (n + threads - 1) / threads;
    chunk = (chunk + align - 1) / align * align;
    const std::int64_t chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (std::int64_t c = 0; c < chunks; ++c) {
        const std::int64_t begin = c * chunk;
        run(begin, std::min(chunk, n - begin));
    }
}

}  // namespace graft::kernels
