// One threading policy (kernels/cpu/parallel.hpp): set_num_threads bounds every parallel region
// of the ops and kernels. Two observations: the parallel-for's team-size hook (every op's regions
// go through it, with at most the set count), and the OS threads of a fresh process (an op that
// opened an OpenMP region of its own would start some).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iterator>
#include <thread>
#include <utility>
#include <vector>

#include "kernels/cpu/parallel.hpp"
#include "test_util.hpp"

using namespace graft;
namespace F = graft::nn::functional;

namespace {

/// An op, forward and backward, on inputs built beforehand (so that building them is not part of
/// what is observed), each large enough to pass kParallelGrain and every op's own threshold.
struct OpCase {
    const char* name;
    std::function<void()> run;
};

/// A new leaf requiring grad over `data`'s storage (no graph, no gradient yet).
Tensor leaf(const Tensor& data) { return data.detach().requires_grad_(); }

/// Forward, then backward with the precomputed output gradient `dy` (so that the engine runs
/// nothing but the op's own backward).
std::function<void()> forward_backward(std::function<Tensor()> forward, Tensor dy) {
    return [forward = std::move(forward), dy]() { forward().backward(dy); };
}

/// The ops with parallel regions. with_serial adds calls that have none (nll_loss, a softmax of one
/// slab) or may not (a 2-D sgemm), for the checks that they start no thread either.
std::vector<OpCase> op_cases(bool with_serial) {
    Generator g(3);
    const Tensor x64 = randn({256, 512}, DType::Float64, &g);
    const Tensor x32 = randn({256, 512}, DType::Float32, &g);
    const Tensor scores32 = randn({8, 100, 64}, DType::Float32, &g);  // [N, C, d]: the generic loss loops
    const Tensor target = randint(0, 512, {256}, DType::Int64, &g);
    const Tensor target_nd = randint(0, 100, {8, 64}, DType::Int64, &g);
    const Tensor images = randn({4, 16, 32, 32}, DType::Float32, &g);
    const Tensor conv_w = randn({16, 16, 3, 3}, DType::Float32, &g);
    const Tensor qkv = randn({2, 4, 128, 32}, DType::Float32, &g);
    const Tensor rot = randn({8, 128, 64}, DType::Float64, &g);
    const Tensor mean = zeros({16}), var = ones({16});
    const Tensor a = randn({256, 256}, DType::Float32, &g), bat = randn({8, 64, 64}, DType::Float32, &g);
    const Tensor big = randn({1 << 20}, DType::Float32, &g);
    std::vector<OpCase> cases = {
        {"cross_entropy float64", [=] { F::cross_entropy(leaf(x64), target).backward(); }},
        {"cross_entropy float32 [N, C, d]", [=] { F::cross_entropy(leaf(scores32), target_nd).backward(); }},
        {"softmax float64", forward_backward([=] { return softmax(leaf(x64), -1); }, x64)},
        {"log_softmax float64", forward_backward([=] { return log_softmax(leaf(x64), -1); }, x64)},
        {"layer_norm float64",
         forward_backward([=] { return F::layer_norm(leaf(x64), {512}, leaf(ones({512}, DType::Float64)),
                                                      leaf(zeros({512}, DType::Float64))); },
                          x64)},
        {"batch_norm float32",
         forward_backward([=] { return F::batch_norm(leaf(images), mean, var, leaf(ones({16})), leaf(zeros({16})),
                                                      /*training=*/true); },
                          images)},
        {"apply_rotary float64", forward_backward([=] { return F::apply_rotary(leaf(rot)); }, rot)},
        {"conv2d float32", forward_backward([=] { return F::conv2d(leaf(images), leaf(conv_w), Tensor(), 1, 1); },
                                            images)},
        {"max_pool2d float32",
         forward_backward([=] { return F::max_pool2d(leaf(images), 2); }, randn({4, 16, 16, 16}))},
        {"batched matmul float32", forward_backward([=] { return matmul(leaf(bat), leaf(bat)); }, bat)},
        {"attention float32",
         forward_backward([=] { return F::scaled_dot_product_attention(leaf(qkv), leaf(qkv), leaf(qkv)); }, qkv)},
        {"clip_grad_norm", [=] {
             Tensor p = leaf(big);
             p.set_grad(big.clone());
             clip_grad_norm({p}, 1.0);
         }},
        {"relu float32", [=] { relu(big); }},
    };
    if (with_serial) {
        // sgemm may run a problem on one thread while OpenMP's workers are starved of CPU time
        // (gemm_tasks.hpp), so it is only checked for not exceeding the thread count.
        cases.push_back({"matmul float32", forward_backward([=] { return matmul(leaf(a), leaf(a)); }, a)});
        // One slab (outer = 1): a single item, nothing to split.
        cases.push_back({"softmax float64 dim 0", forward_backward([=] { return softmax(leaf(x64), 0); }, x64)});
        cases.push_back({"nll_loss float64", [=] { F::nll_loss(leaf(x64), target).backward(); }});
        cases.push_back({"nll_loss float32", [=] { F::nll_loss(leaf(x32), target).backward(); }});
    }
    return cases;
}

/// The largest team the op's regions ran on with the thread count set to n.
int team_used(const OpCase& op, int n) {
    set_num_threads(n);
    kernels::reset_max_team_size();
    op.run();
    return kernels::max_team_size();
}

/// Restores the thread count a test changes.
struct ThreadCountGuard {
    int saved = get_num_threads();
    ~ThreadCountGuard() { set_num_threads(saved); }
};

/// The threads of this process, from the OS.
int os_threads() {
    const std::filesystem::directory_iterator tasks("/proc/self/task");
    return static_cast<int>(std::distance(begin(tasks), end(tasks)));
}

/// In a fresh process (no OpenMP thread started yet): sets one thread, runs every op, and exits
/// with 1, naming the op on stderr, as soon as one of them leaves the process with more threads.
[[noreturn]] void run_ops_on_one_thread_and_exit() {
    set_num_threads(1);
    const std::vector<OpCase> cases = op_cases(/*with_serial=*/true);
    const int before = os_threads();
    for (const OpCase& op : cases) {
        op.run();
        if (const int after = os_threads(); after != before) {
            std::fprintf(stderr, "%s with set_num_threads(1): %d OS threads before, %d after\n", op.name, before,
                         after);
            std::_Exit(1);
        }
    }
    std::_Exit(0);
}

bool one_core() { return std::thread::hardware_concurrency() < 2; }

}  // namespace

TEST(ThreadingDeathTest, OneThreadStartsNoOsThread) {
    if (!std::filesystem::exists("/proc/self/task")) GTEST_SKIP() << "needs /proc/self/task";
    if (one_core()) GTEST_SKIP() << "one core: OpenMP's default team is one thread, so nothing could be observed";
    // "threadsafe" runs the statement in a newly started copy of this program, where no OpenMP
    // worker exists yet.
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_EXIT(run_ops_on_one_thread_and_exit(), ::testing::ExitedWithCode(0), "");
}

TEST(Threading, OneThreadBoundsEveryRegion) {
    const ThreadCountGuard guard;
    for (const OpCase& op : op_cases(/*with_serial=*/true)) EXPECT_LE(team_used(op, 1), 1) << op.name;
}

TEST(Threading, EveryParallelOpGoesThroughThePolicy) {
    if (one_core()) GTEST_SKIP() << "one core";
    const ThreadCountGuard guard;
    for (const OpCase& op : op_cases(/*with_serial=*/false)) EXPECT_EQ(team_used(op, 2), 2) << op.name;
}

TEST(Threading, ParallelForSplitsStaticallyAndBelowTheGrainStaysOnTheCaller) {
    const ThreadCountGuard guard;
    set_num_threads(3);
    // Below the grain: one call with the whole range, on the calling thread.
    std::vector<std::pair<std::int64_t, std::int64_t>> calls;
    const std::thread::id caller = std::this_thread::get_id();
    kernels::parallel_for(5, 105, kernels::kParallelGrain - 1, [&](std::int64_t lo, std::int64_t hi) {
        EXPECT_EQ(std::this_thread::get_id(), caller);
        calls.emplace_back(lo, hi);
    });
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0], std::make_pair(std::int64_t{5}, std::int64_t{105}));
    // At the grain: contiguous chunks that cover the range once, one per thread of the team.
    std::vector<int> seen(100, 0);
    kernels::reset_max_team_size();
    kernels::parallel_for(5, 105, kernels::kParallelGrain, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t i = lo; i < hi; ++i) ++seen[static_cast<std::size_t>(i - 5)];
    });
    for (int count : seen) EXPECT_EQ(count, 1);
    EXPECT_EQ(kernels::max_team_size(), 3);
    // Never more threads than items.
    kernels::reset_max_team_size();
    kernels::parallel_for(0, 2, kernels::kParallelGrain, [](std::int64_t, std::int64_t) {});
    EXPECT_EQ(kernels::max_team_size(), 2);
}

TEST(Threading, RegionInsideARegionRunsOnTheCallingThread) {
    const ThreadCountGuard guard;
    set_num_threads(2);
    std::atomic<int> inner_teams{0};
    kernels::parallel_region(2, [&](int, int) {
        kernels::parallel_region(2, [&](int tid, int nthreads) {
            EXPECT_EQ(tid, 0);
            EXPECT_EQ(nthreads, 1);
            inner_teams.fetch_add(1);
        });
    });
    EXPECT_GE(inner_teams.load(), 1);
}

TEST(Threading, ExceptionInABodyIsRethrownOnTheCaller) {
    const ThreadCountGuard guard;
    set_num_threads(2);
    EXPECT_THROW(kernels::parallel_region(2, [](int tid, int) {
                     if (tid == 0) throw ValueError("body failed");
                 }),
                 ValueError);
    EXPECT_THROW(kernels::parallel_for(0, 1 << 20, 1 << 20,
                                       [](std::int64_t lo, std::int64_t) {
                                           if (lo == 0) throw ValueError("chunk failed");
                                       }),
                 ValueError);
}
