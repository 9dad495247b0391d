// Helpers shared by the graft::dist tests that run under mpirun.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "graft/dist/environment.hpp"
#include "graft/graft.hpp"

namespace graft::dist_test {

inline std::size_t world() { return static_cast<std::size_t>(dist::world_size()); }
inline std::size_t me() { return static_cast<std::size_t>(dist::rank()); }

/// Features [n, 5] and labels in [0, 3), the same on every rank.
inline std::shared_ptr<data::TensorDataset> dataset(std::int64_t n, std::uint64_t seed = 99) {
    Generator g(seed);
    Tensor x = randn({n, 5}, DType::Float32, &g);
    Tensor y = randint(0, 3, {n}, DType::Int64, &g);
    return std::make_shared<data::TensorDataset>(x, y);
}

/// A small MLP (parameters "0.weight" … "4.bias") initialised from `seed`: different on each rank
/// when seeded by rank, until DistributedDataParallel broadcasts rank 0's.
inline std::shared_ptr<nn::Sequential> mlp(std::uint64_t seed) {
    manual_seed(seed);
    return std::make_shared<nn::Sequential>(nn::Linear(5, 16), nn::Tanh(), nn::Linear(16, 8), nn::ReLU(),
                                            nn::Linear(8, 3));
}

/// max |a - b| / max |b| over a tensor's elements: a's summation-order error against b.
inline double relative_error(const Tensor& a, const Tensor& b) {
    const auto x = a.to_vector<float>(), y = b.to_vector<float>();
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        diff = std::max(diff, std::abs(double(x[i]) - double(y[i])));
        scale = std::max(scale, std::abs(double(y[i])));
    }
    return scale > 0 ? diff / scale : diff;
}

}  // namespace graft::dist_test
