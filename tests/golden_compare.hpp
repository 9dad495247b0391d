// Comparing graft's tensors with golden values from PyTorch: the per-element check and the line of
// max differences that the golden tests print.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "graft/state_dict.hpp"
#include "graft/tensor.hpp"

namespace graft::test {

/// An element passes when |got − expected| ≤ atol + rtol·|expected|.
struct Tolerance {
    double atol;
    double rtol;
};

/// Expects `got` to equal PyTorch's `expected` within `tol` per element, and prints the largest
/// absolute and relative differences.
inline void expect_close(const std::string& what, const Tensor& got, const Tensor& expected, Tolerance tol) {
    ASSERT_EQ(got.shape(), expected.shape()) << what;
    const std::vector<double> a = got.to_vector<double>(), b = expected.to_vector<double>();
    double max_abs = 0, max_rel = 0;
    std::size_t worst = 0, failures = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double d = std::abs(a[i] - b[i]);
        if (d > max_abs) {
            max_abs = d;
            worst = i;
        }
        if (b[i] != 0) max_rel = std::max(max_rel, d / std::abs(b[i]));
        if (!(d <= tol.atol + tol.rtol * std::abs(b[i]))) ++failures;
    }
    std::printf("    %-34s %6zu values  max abs diff %.3g  max rel diff %.3g\n", what.c_str(), a.size(), max_abs,
                max_rel);
    EXPECT_EQ(failures, 0u) << what << ": " << failures << " of " << a.size()
                            << " values beyond tolerance; worst at " << worst << ": graft " << a[worst]
                            << ", PyTorch " << b[worst];
}

/// Expects a model's state_dict() to hold exactly the tensors of a checkpoint, by name and shape,
/// but for the checkpoint's `ignored` entries (buffers such as position_ids that the model makes
/// itself).
inline void expect_same_names_and_shapes(const StateDict& model, const StateDict& checkpoint,
                                         const std::vector<std::string>& ignored) {
    std::size_t compared = 0;
    for (const auto& [name, t] : checkpoint) {
        if (std::find(ignored.begin(), ignored.end(), name) != ignored.end()) continue;
        ++compared;
        ASSERT_TRUE(model.contains(name)) << name;
        EXPECT_EQ(model.at(name).shape(), t.shape()) << name;
    }
    EXPECT_EQ(model.size(), compared);
}

}  // namespace graft::test
