// add_relu: relu(a + b) in one op — values, gradients (gradcheck and against the two ops),
// broadcasting, the mixed-dtype fallback and add's errors.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "golden_compare.hpp"
#include "graft/functional/add_relu.hpp"
#include "graft/graft.hpp"
#include "graft/testing/gradcheck.hpp"
#include "test_util.hpp"

using namespace graft;
using nn::functional::add_relu;

namespace {

/// Values away from the kink at 0 (a finite difference across it is meaningless).
Tensor away_from_zero(const Shape& shape, DType dtype, double phase) {
    std::vector<double> v(static_cast<std::size_t>(shape_numel(shape)));
    for (std::size_t i = 0; i < v.size(); ++i) {
        const double s = std::sin(0.9 * static_cast<double>(i) + phase);
        v[i] = s + (s < 0 ? -0.25 : 0.25);
    }
    return from_vector(v, shape).to(dtype);
}

/// relu(a + b) and its gradients through add_relu and through the two ops, for the same seed.
void expect_same_as_two_ops(const Tensor& a0, const Tensor& b0) {
    const Tensor a1 = a0.clone().requires_grad_(), b1 = b0.clone().requires_grad_();
    const Tensor a2 = a0.clone().requires_grad_(), b2 = b0.clone().requires_grad_();
    const Tensor fused = add_relu(a1, b1), reference = relu(add(a2, b2));
    EXPECT_EQ(fused.shape(), reference.shape());
    test::expect_close("value", fused, reference, {.atol = 0, .rtol = 0});
    const Tensor seed = away_from_zero(fused.shape(), fused.dtype(), 0.3);
    sum(mul(fused, seed)).backward();
    sum(mul(reference, seed)).backward();
    test::expect_close("grad a", a1.grad(), a2.grad(), {.atol = 1e-6, .rtol = 1e-6});
    test::expect_close("grad b", b1.grad(), b2.grad(), {.atol = 1e-6, .rtol = 1e-6});
}

}  // namespace

TEST(AddRelu, ValuesAndGradientsEqualTheTwoOps) {
    expect_same_as_two_ops(away_from_zero({2, 3, 5, 7}, DType::Float32, 0.0),
                           away_from_zero({2, 3, 5, 7}, DType::Float32, 1.7));
    expect_same_as_two_ops(away_from_zero({3, 5}, DType::Float64, 0.0), away_from_zero({3, 5}, DType::Float64, 2.1));
}

TEST(AddRelu, BroadcastOperandGetsTheReducedGradient) {
    expect_same_as_two_ops(away_from_zero({2, 4, 3, 3}, DType::Float32, 0.0),
                           away_from_zero({4, 1, 1}, DType::Float32, 0.5));
}

TEST(AddRelu, NonContiguousOperands) {
    const Tensor a = away_from_zero({5, 6}, DType::Float32, 0.0).t();
    expect_same_as_two_ops(a, away_from_zero({6, 5}, DType::Float32, 0.9));
}

TEST(AddRelu, Gradcheck) {
    const Tensor a = away_from_zero({2, 3, 4}, DType::Float64, 0.0).requires_grad_();
    const Tensor b = away_from_zero({3, 1}, DType::Float64, 1.1).mul(0.1).requires_grad_();
    const auto r =
        graft::testing::gradcheck([](const std::vector<Tensor>& v) { return add_relu(v[0], v[1]); }, {a, b});
    EXPECT_TRUE(r.ok) << r.message;
}

TEST(AddRelu, RecordsOneNode) {
    const Tensor a = away_from_zero({4, 4}, DType::Float32, 0.0).requires_grad_();
    const Tensor y = add_relu(a, away_from_zero({4, 4}, DType::Float32, 1.0));
    ASSERT_TRUE(y.grad_fn());
    EXPECT_STREQ(y.grad_fn()->name(), "AddReluBackward");
}

TEST(AddRelu, MixedFloatsPromoteAsAdd) {
    const Tensor a = away_from_zero({3}, DType::Float32, 0.0).requires_grad_();
    const Tensor b = away_from_zero({3}, DType::Float64, 0.4);
    const Tensor y = add_relu(a, b);
    EXPECT_EQ(y.dtype(), DType::Float64);
    y.sum().backward();
    EXPECT_EQ(a.grad().dtype(), DType::Float32);
}

TEST(AddRelu, ShapeMismatchIsAddsShapeError) {
    EXPECT_THROW(add_relu(zeros({2, 3}), zeros({4, 3})), ShapeError);
}
