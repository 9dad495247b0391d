// Internal: how the threads of one GEMM share its work without barriers, and when the GEMM
// should not be shared at all (kernels/gemm/gemm_driver.cpp runs both).
//
// BlockProgress holds the counters of one B block (jc, pc) of a threaded problem. Threads claim B
// panels to pack and then tasks to run with fetch_add, so nobody waits at a barrier for a thread
// the OS has descheduled: whoever runs takes the next piece of work. A thread waits (wait_for)
// only for work a running thread has claimed — panels being packed, the previous K block's same
// task, the tasks that still read the B buffer it is about to refill — and the waits are short
// on an idle machine, so a waiter spins first and sleeps on a futex only past some 50 µs
// (advance wakes it).
//
// WorkerStarvation decides when a problem runs on one thread although it is large: on a machine
// shared with other users' work, OpenMP's workers may get so little CPU time that the calling
// thread waits for them longer than it computes; then two threads run slower than one.
//
//   BlockProgress& b = progress[block];
//   for (int t = b.task_next.fetch_add(1); t < tasks; t = b.task_next.fetch_add(1)) {
//       run(t);
//       advance(b.tasks_done, b.sleepers);
//   }
//   wait_for(b.tasks_done, tasks, b.sleepers);     // every task of the block is done
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace graft::kernels {

/// Progress through one B block (jc, pc) when several threads work on it.
struct alignas(64) BlockProgress {
    std::atomic<int> pack_next{0}, packed{0}, task_next{0}, tasks_done{0};
    std::atomic<int> sleepers{0};               // threads asleep in wait_for on this block's counters
    std::atomic<int>* task_finished = nullptr;  // one flag per task: the next K block's same task waits on it
};

/// counter += 1 (release), waking the threads asleep on it (sleepers: that block's count of them).
void advance(std::atomic<int>& counter, std::atomic<int>& sleepers);

/// Returns once counter ≥ target (acquire: what preceded the increments is visible). It spins
/// for some 50 µs — a running peer finishes packing a panel within that — then sleeps in the
/// kernel: a descheduled peer needs the CPU time a spinning waiter would take (on a shared
/// machine the scheduler splits CPU time between users' process groups, and neither
/// sched_yield nor nice gives it back).
void wait_for(std::atomic<int>& counter, int target, std::atomic<int>& sleepers);

/// Falls back to one thread while OpenMP's workers get too little CPU time. On a machine shared
/// with other users' work a worker may be woken only after the calling thread has run most tasks,
/// and then descheduled for milliseconds before it reaches the parallel region's closing barrier,
/// which the caller must wait at (and the next region's start waits for it too): two threads
/// then run slower than one. A call in which the caller waited at the region's start and end
/// more than twice as long as it worked (and over 1 ms) reports it; the following calls run on
/// one thread for a backoff that starts at 10 ms and doubles with each such call up to 1 s, and
/// halves with each parallel call that goes well. On an idle machine the wait is at most the
/// tail of one task, far below that threshold.
class WorkerStarvation {
public:
    static std::int64_t now_ns() {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }

    /// Whether calls should run on one thread now.
    bool solo_now() const { return now_ns() < solo_until_ns_.load(std::memory_order_relaxed); }

    /// A parallel call: called at `start`, the caller entered the region at `entered` (OpenMP first
    /// waits for the previous region's workers), worked until `worked`, was released at `joined`.
    void report(std::int64_t start, std::int64_t entered, std::int64_t worked, std::int64_t joined);

private:
    static constexpr std::int64_t FIRST_BACKOFF_NS = 10'000'000, MAX_BACKOFF_NS = 1'000'000'000;

    void report(bool starved);

    std::atomic<std::int64_t> solo_until_ns_{0};
    std::atomic<std::int64_t> backoff_ns_{FIRST_BACKOFF_NS};
};

}  // namespace graft::kernels
