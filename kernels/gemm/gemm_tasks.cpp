// The GEMM's barrier-free task counters (spin, then futex sleep) and its worker-starvation
// back-off; what and why in gemm_tasks.hpp.
#include "kernels/gemm/gemm_tasks.hpp"

#include <emmintrin.h>

#include <algorithm>
#include <climits>
#include <thread>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace graft::kernels {

namespace {

#if defined(__linux__)
void futex_wait(std::atomic<int>& word, int value) {
    syscall(SYS_futex, reinterpret_cast<int*>(&word), FUTEX_WAIT_PRIVATE, value, nullptr, nullptr, 0);
}
void futex_wake_all(std::atomic<int>& word) {
    syscall(SYS_futex, reinterpret_cast<int*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}
#else
void futex_wait(std::atomic<int>&, int) { std::this_thread::yield(); }
void futex_wake_all(std::atomic<int>&) {}
#endif

}  // namespace

void advance(std::atomic<int>& counter, std::atomic<int>& sleepers) {
    counter.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers.load(std::memory_order_seq_cst) > 0) futex_wake_all(counter);
}

void wait_for(std::atomic<int>& counter, int target, std::atomic<int>& sleepers) {
    constexpr int SPINS = 2000;
    for (int spin = 0; spin < SPINS; ++spin) {
        if (counter.load(std::memory_order_acquire) >= target) return;
        _mm_pause();
    }
    sleepers.fetch_add(1, std::memory_order_seq_cst);
    for (int seen = counter.load(std::memory_order_seq_cst); seen < target;
         seen = counter.load(std::memory_order_seq_cst))
        futex_wait(counter, seen);
    sleepers.fetch_sub(1, std::memory_order_relaxed);
}

void WorkerStarvation::report(std::int64_t start, std::int64_t entered, std::int64_t worked, std::int64_t joined) {
    constexpr std::int64_t MIN_WAIT_NS = 1'000'000;
    const std::int64_t waited = (entered - start) + (joined - worked);
    report(waited > std::max(MIN_WAIT_NS, 2 * (worked - entered)));
}

void WorkerStarvation::report(bool starved) {
    if (!starved) {
        backoff_ns_.store(std::max(FIRST_BACKOFF_NS, backoff_ns_.load(std::memory_order_relaxed) / 2),
                          std::memory_order_relaxed);
        return;
    }
    const std::int64_t backoff = backoff_ns_.load(std::memory_order_relaxed);
    solo_until_ns_.store(now_ns() + backoff, std::memory_order_relaxed);
    backoff_ns_.store(std::min(2 * backoff, MAX_BACKOFF_NS), std::memory_order_relaxed);
}

}  // namespace graft::kernels
