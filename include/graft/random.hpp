// graft/random.hpp — seedable random numbers for factories, init and dropout.
//
//   graft::manual_seed(42);            // reseeds this thread's default generator
//   auto a = randn({3, 4});            // reproducible
//   Generator g(7); auto b = rand({5}, DType::Float32, &g);   // a private stream
//
// The stream is defined by graft itself (xoshiro256**, Box–Muller normals), so a seed
// gives the same numbers with every compiler and standard library.
//
// The default generator (used when no Generator is passed: factories, init, dropout) is one per
// thread. manual_seed seeds the calling thread's; every thread starts from the same fixed seed
// (0x5eed) until it calls manual_seed. So two threads that each seed and then build a model get
// exactly the weights a single thread would with the same seed, whatever they interleave; a
// thread that wants the stream another thread seeded must seed it itself or take a Generator.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>

namespace graft {

class Generator {
public:
    explicit Generator(std::uint64_t seed = 0) { seed_(seed); }

    void manual_seed(std::uint64_t seed) { seed_(seed); }
    /// Next raw 64-bit value.
    std::uint64_t next_u64();
    /// Uniform in [0, 1) with 53 random bits.
    double uniform();
    /// Standard normal.
    double normal();
    /// Uniform integer in [low, high) (high > low).
    std::int64_t randint(std::int64_t low, std::int64_t high);

    /// The full state, to checkpoint and restore a stream exactly.
    struct State {
        std::array<std::uint64_t, 4> s;
        bool has_spare;
        double spare;
    };
    State state() const { return {s_, has_spare_, spare_}; }
    void set_state(const State& st) {
        s_ = st.s;
        has_spare_ = st.has_spare;
        spare_ = st.spare;
    }

private:
    void seed_(std::uint64_t seed);
    std::array<std::uint64_t, 4> s_{};
    bool has_spare_ = false;
    double spare_ = 0.0;
};

/// The calling thread's generator, used when no Generator is passed (seed 0x5eed until
/// manual_seed). The reference stays valid while the thread lives.
Generator& default_generator();

/// Reseeds the calling thread's default generator; other threads' are untouched.
void manual_seed(std::uint64_t seed);

/// A seed for an independent stream keyed by `keys` (an epoch, a sample index, …): the same seed
/// and keys always give the same value, and keys that differ in any position give unrelated
/// streams. Lets parallel code draw reproducible numbers whatever thread runs which key.
std::uint64_t derive_seed(std::uint64_t seed, std::initializer_list<std::uint64_t> keys);

}  // namespace graft
