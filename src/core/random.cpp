// xoshiro256** generator with splitmix64 seeding and Box–Muller normals.
#include "graft/random.hpp"

#include <cmath>

#include "graft/error.hpp"

namespace graft {

namespace {
std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

void Generator::seed_(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& v : s_) v = splitmix64(x);
    has_spare_ = false;
    spare_ = 0.0;
}

std::uint64_t Generator::next_u64() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

double Generator::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Generator::normal() {
    if (has_spare_) {
        has_spare_ = false;
        return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * M_PI * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
}

std::int64_t Generator::randint(std::int64_t low, std::int64_t high) {
    if (high <= low)
        throw ValueError("randint: empty range [" + std::to_string(low) + ", " + std::to_string(high) + ")");
    const std::uint64_t range = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
    // Rejection sampling removes modulo bias.
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    std::uint64_t v;
    do {
        v = next_u64();
    } while (v >= limit);
    return low + static_cast<std::int64_t>(v % range);
}

Generator& default_generator() {
    // One per thread: a shared one would interleave the draws of threads that each seed it.
    thread_local Generator gen(0x5eed);
    return gen;
}

void manual_seed(std::uint64_t seed) { default_generator().manual_seed(seed); }

std::uint64_t derive_seed(std::uint64_t seed, std::initializer_list<std::uint64_t> keys) {
    // Each key is hashed before it is mixed into the running hash, and the chain is ordered, so
    // (1, 2) and (2, 1) give different seeds and small consecutive keys land far apart.
    std::uint64_t state = seed;
    std::uint64_t hash = splitmix64(state);
    for (std::uint64_t key : keys) {
        std::uint64_t key_state = key;
        state = hash ^ splitmix64(key_state);
        hash = splitmix64(state);
    }
    return hash;
}

}  // namespace graft
