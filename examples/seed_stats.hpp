// seed_stats.hpp — the summary statistics the examples' studies print for one value per seed:
// the mean and the sample standard deviation (n − 1 in the denominator; 0 for a single value).
#pragma once

#include <cmath>
#include <numeric>
#include <vector>

namespace examples {

inline double mean(const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

inline double stddev(const std::vector<double>& v) {
    const double m = mean(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : 0.0;
}

}  // namespace examples
