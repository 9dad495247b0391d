// The buffer cache behind tensor storage (graft/memory.hpp): reuse by size class, the limit,
// release, fresh contents from every factory, and allocation from several threads.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include <graft/graft.hpp>

using namespace graft;

namespace {

/// Restores the cache limit a test changes.
class MemoryCache : public ::testing::Test {
protected:
    void SetUp() override { saved_limit_ = memory_cache_stats().limit_bytes; }
    void TearDown() override { set_memory_cache_limit(saved_limit_); }
    std::size_t saved_limit_ = 0;
};

}  // namespace

TEST_F(MemoryCache, AFreedLargeBufferIsReusedBySameSizedTensors) {
    set_memory_cache_limit(std::size_t{64} << 20);
    release_cached_memory();
    const void* first = nullptr;
    {
        Tensor a = empty({512, 512});  // 1 MiB
        first = a.raw_data();
    }
    EXPECT_GE(memory_cache_stats().cached_bytes, std::size_t{1} << 20);
    const auto hits = memory_cache_stats().hits;
    Tensor b = empty({512, 512});
    EXPECT_EQ(b.raw_data(), first);
    EXPECT_EQ(memory_cache_stats().hits, hits + 1);
    // A slightly different size rounds to the same class (within 12.5 %) and reuses it too.
    const void* second = b.raw_data();
    b = Tensor();
    Tensor c = empty({510, 512});
    EXPECT_EQ(c.raw_data(), second);
}

TEST_F(MemoryCache, ReusedBuffersStillStartAsTheFactoriesSay) {
    set_memory_cache_limit(std::size_t{64} << 20);
    {
        Tensor junk = full({300, 300}, 7.0);
    }
    const Tensor z = zeros({300, 300});
    EXPECT_EQ(sum(z).item(), 0.0);
    const Tensor o = ones({300, 300});
    EXPECT_EQ(sum(o).item(), 90000.0);
}

TEST_F(MemoryCache, ALimitOfZeroCachesNothingAndReleaseEmptiesIt) {
    set_memory_cache_limit(std::size_t{64} << 20);
    { Tensor a = empty({1 << 20}); }
    EXPECT_GT(memory_cache_stats().cached_bytes, 0u);
    release_cached_memory();
    EXPECT_EQ(memory_cache_stats().cached_bytes, 0u);
    set_memory_cache_limit(0);
    { Tensor a = empty({1 << 20}); }
    EXPECT_EQ(memory_cache_stats().cached_bytes, 0u);
    EXPECT_EQ(memory_cache_stats().limit_bytes, 0u);
}

TEST_F(MemoryCache, TheLimitBoundsWhatIsKept) {
    set_memory_cache_limit(std::size_t{3} << 20);
    release_cached_memory();
    {
        std::vector<Tensor> many;
        for (int i = 0; i < 8; ++i) many.push_back(empty({1 << 18}));  // 1 MiB each
    }
    EXPECT_LE(memory_cache_stats().cached_bytes, std::size_t{3} << 20);
    EXPECT_GT(memory_cache_stats().cached_bytes, 0u);
    set_memory_cache_limit(std::size_t{1} << 20);  // lowering it frees the excess now
    EXPECT_LE(memory_cache_stats().cached_bytes, std::size_t{1} << 20);
}

TEST_F(MemoryCache, BuffersNobodyAsksForAgainAreFreedAtTheNextMiss) {
    set_memory_cache_limit(std::size_t{256} << 20);
    release_cached_memory();
    { Tensor a = empty({1 << 18}), b = empty({3 << 18}), c = empty({5 << 18}); }  // 1, 3, 5 MiB
    EXPECT_EQ(memory_cache_stats().cached_bytes, std::size_t{9} << 20);
    for (int i = 0; i < 4200; ++i) Tensor d = empty({1 << 16});  // 256 KiB, reused 4200 times
    EXPECT_EQ(memory_cache_stats().cached_bytes, (std::size_t{9} << 20) + (std::size_t{256} << 10));
    Tensor e = empty({7 << 18});  // a new size: the miss frees the three stale buffers
    EXPECT_EQ(memory_cache_stats().cached_bytes, std::size_t{256} << 10);
}

TEST_F(MemoryCache, SmallBuffersAreNotCached) {
    set_memory_cache_limit(std::size_t{64} << 20);
    release_cached_memory();
    { Tensor a = empty({1000}); }
    EXPECT_EQ(memory_cache_stats().cached_bytes, 0u);
}

TEST_F(MemoryCache, ThreadsAllocateAndFreeConcurrently) {
    set_memory_cache_limit(std::size_t{64} << 20);
    std::vector<std::thread> threads;
    std::vector<double> sums(4);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([t, &sums] {
            double s = 0;
            for (int i = 0; i < 50; ++i) {
                Tensor x = full({256 + 64 * (i % 3), 256}, static_cast<double>(t + 1));
                s += x.to_vector<float>()[static_cast<std::size_t>(i)];
            }
            sums[static_cast<std::size_t>(t)] = s;
        });
    for (auto& th : threads) th.join();
    for (int t = 0; t < 4; ++t) EXPECT_EQ(sums[static_cast<std::size_t>(t)], 50.0 * (t + 1));
}

TEST(AllocatedMemory, CountsWhatTensorsHoldAndItsPeak) {
    const std::size_t base = allocated_memory().in_use_bytes;
    reset_peak_allocated_memory();
    EXPECT_EQ(allocated_memory().peak_bytes, base);
    {
        Tensor big = empty({512, 512});  // 1 MiB: a cached size class
        Tensor small = empty({10});      // below the cache: straight from malloc, counted too
        EXPECT_GE(allocated_memory().in_use_bytes, base + (std::size_t{1} << 20) + 40);
        {
            Tensor more = empty({256, 512});
            EXPECT_GE(allocated_memory().peak_bytes, base + (std::size_t{3} << 19));
        }
    }
    // Everything given back (a cached buffer is not held); the peak stays until reset.
    EXPECT_EQ(allocated_memory().in_use_bytes, base);
    EXPECT_GE(allocated_memory().peak_bytes, base + (std::size_t{3} << 19));
    reset_peak_allocated_memory();
    EXPECT_EQ(allocated_memory().peak_bytes, base);
}
