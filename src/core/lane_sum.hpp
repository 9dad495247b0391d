// Internal: sums whose terms go to independent partial sums, so that the compiler can keep them
// in vector registers (one running sum makes every add wait for the previous one).
#pragma once

#include <cstdint>

namespace graft::detail {

/// Σ term(i) for i in [0, n): 16 interleaved partial sums of type Acc, added in double at the
/// end. The order depends on n only, never on threads.
template <class Acc, class F>
double lane_sum(std::int64_t n, F&& term) {
    constexpr std::int64_t kLanes = 16;
    Acc acc[kLanes] = {};
    std::int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (std::int64_t j = 0; j < kLanes; ++j) acc[j] += term(i + j);
    double s = 0;
    for (std::int64_t j = 0; j < kLanes; ++j) s += static_cast<double>(acc[j]);
    for (; i < n; ++i) s += static_cast<double>(term(i));
    return s;
}

/// Σ over rows r < rows of Σ_i term(r, i), i < n: each row summed in 16 interleaved Acc lanes as
/// lane_sum does, the lanes carried from row to row in double, so that short rows (a BatchNorm
/// channel on 4×4 maps: 16 values per row) pay one vector add per row instead of a horizontal
/// sum. The order depends on rows and n only, never on threads.
template <class Acc, class F>
double lane_sum_rows(std::int64_t rows, std::int64_t n, F&& term) {
    constexpr std::int64_t kLanes = 16;
    double total[kLanes] = {};
    double tail = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
        Acc acc[kLanes] = {};
        std::int64_t i = 0;
        for (; i + kLanes <= n; i += kLanes)
            for (std::int64_t j = 0; j < kLanes; ++j) acc[j] += term(r, i + j);
        for (std::int64_t j = 0; j < kLanes; ++j) total[j] += static_cast<double>(acc[j]);
        for (; i < n; ++i) tail += static_cast<double>(term(r, i));
    }
    double s = tail;
    for (std::int64_t j = 0; j < kLanes; ++j) s += total[j];
    return s;
}

}  // namespace graft::detail
