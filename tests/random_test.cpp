// The default generator is one per thread: manual_seed seeds the calling thread's, so threads
// that each seed and then build a model get the weights a single thread gets with that seed.
#include <latch>
#include <thread>
#include <vector>

#include "test_util.hpp"

using namespace graft;

namespace {

/// What a thread builds after manual_seed(seed): a Linear layer's weight and bias and a randn
/// (enough draws, about a millisecond, for two threads doing this to overlap).
std::vector<float> seeded_draws(std::uint64_t seed) {
    manual_seed(seed);
    nn::Linear layer(256, 256);
    std::vector<float> out = layer.weight.to_vector<float>();
    for (float v : layer.bias.to_vector<float>()) out.push_back(v);
    for (float v : randn({64 * 1024}).to_vector<float>()) out.push_back(v);
    return out;
}

TEST(DefaultGenerator, ThreadsThatEachSeedGetTheSingleThreadedValues) {
    const std::vector<float> want7 = seeded_draws(7), want8 = seeded_draws(8);
    ASSERT_NE(want7, want8);
    for (int rep = 0; rep < 10; ++rep) {
        std::vector<float> got7, got8;
        std::latch start(2);
        std::thread a([&] {
            start.arrive_and_wait();
            got7 = seeded_draws(7);
        });
        std::thread b([&] {
            start.arrive_and_wait();
            got8 = seeded_draws(8);
        });
        a.join();
        b.join();
        EXPECT_EQ(got7, want7) << "repetition " << rep;
        EXPECT_EQ(got8, want8) << "repetition " << rep;
    }
}

TEST(DefaultGenerator, ManualSeedLeavesOtherThreadsAlone) {
    // A new thread starts from the fixed default seed, whatever this thread seeded.
    std::vector<float> fresh_first, fresh_second;
    std::thread([&] { fresh_first = randn({8}).to_vector<float>(); }).join();
    manual_seed(123);
    const std::vector<float> here = randn({8}).to_vector<float>();
    std::thread([&] { fresh_second = randn({8}).to_vector<float>(); }).join();
    EXPECT_EQ(fresh_first, fresh_second);
    EXPECT_NE(fresh_first, here);
    Generator g(0x5eed);
    EXPECT_EQ(fresh_first, randn({8}, DType::Float32, &g).to_vector<float>());
    // And seeding in another thread leaves this thread's stream where it was.
    manual_seed(5);
    const float next = randn({1}).item<float>();
    manual_seed(5);
    std::thread([] { manual_seed(99); }).join();
    EXPECT_EQ(randn({1}).item<float>(), next);
}

}  // namespace
