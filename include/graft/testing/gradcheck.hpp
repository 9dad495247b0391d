// graft/testing/gradcheck.hpp — checks an op's backward against central finite differences.
//
//   auto x = randn({3, 7}, DType::Float64).requires_grad_();
//   auto r = testing::gradcheck([](const std::vector<Tensor>& in) { return tanh(in[0]); }, {x});
//   EXPECT_TRUE(r.ok) << r.message;
//
// The output is reduced to a scalar L = Σ f(x)·R with a fixed random R, so one backward
// checks the whole vector–Jacobian product. Every input that requires grad is perturbed
// element by element (±eps, in place, through its own strides: non-contiguous inputs work)
// and the numeric dL/dx is compared with the analytic one: |a − n| ≤ atol + rtol·|n|.
// Use float64 inputs.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "graft/tensor.hpp"

namespace graft::testing {

struct GradcheckOptions {
    double eps = 1e-6;
    double atol = 1e-5;
    double rtol = 1e-3;
    std::uint64_t seed = 1234;  // for the projection R
};

struct GradcheckResult {
    bool ok = true;
    /// Empty when ok; otherwise which input and element differ, and by how much.
    std::string message;
    /// Largest |analytic − numeric| seen over all checked elements.
    double max_abs_error = 0.0;
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace graft::testing
