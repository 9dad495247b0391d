// The vector-kernel tests' shared pieces: the variants this CPU runs, special float values, and
// a never-aligned buffer with a guard after its n values.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_features.hpp"
#include "graft/runtime.hpp"
#include "test_util.hpp"
#include "kernels/vector/vector.hpp"

namespace graft::test {

using kernels::int64;
using kernels::Isa;

inline constexpr float kInf = std::numeric_limits<float>::infinity();
inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
inline constexpr float kDenormMin = std::numeric_limits<float>::denorm_min();
inline constexpr float SENTINEL = 777.25f;
inline constexpr int64 PAD = 16;  // elements past n that must stay untouched

inline const kernels::F32VectorVariant& variant(Isa isa) { return kernels::f32_vector_variant(isa); }

inline std::vector<Isa> vector_isas() {
    std::vector<Isa> out;
    for (Isa isa : kernels::supported_isas())
        if (isa != Isa::Scalar) out.push_back(isa);
    return out;
}

/// A buffer whose data() is 4 bytes past a 64-byte boundary (never vector-aligned), holding n
/// values then PAD sentinels.
struct Unaligned {
    explicit Unaligned(int64 n) : n(n), storage(static_cast<std::size_t>(n + PAD + 16), SENTINEL) {
        const auto addr = reinterpret_cast<std::uintptr_t>(storage.data());
        offset = ((64 - addr % 64) % 64) / sizeof(float) + 1;
    }
    Unaligned(const std::vector<float>& values) : Unaligned(static_cast<int64>(values.size())) {
        std::copy(values.begin(), values.end(), data());
    }
    float* data() { return storage.data() + offset; }
    float& operator[](int64 i) { return data()[i]; }
    void expect_guard(const std::string& what) {
        for (int64 i = n; i < n + PAD; ++i) ASSERT_EQ(data()[i], SENTINEL) << what << ": wrote past n at " << i;
    }
    int64 n;
    std::vector<float> storage;
    std::size_t offset = 0;
};

/// n values uniform in [lo, hi).
inline std::vector<float> uniform(int64 n, std::uint64_t seed, double lo, double hi) {
    Generator g(seed);
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = static_cast<float>(lo + (hi - lo) * g.uniform());
    return v;
}

}  // namespace graft::test
