// softmax and log_softmax: forward values against plain loops over every dim (contiguous and
// not), numerical stability, closed-form backward, gradchecks and error paths.
#include <cmath>
#include <limits>
#include <vector>

#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;
using graft::test::leaf64_transposed;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

/// Reference softmax (or log_softmax) of a 3-D tensor along dim, in double, by plain loops
/// over the row-major element list.
std::vector<double> ref_softmax(const Tensor& x, std::int64_t dim, bool log) {
    const Shape& s = x.shape();
    const std::vector<double> v = values(x);
    std::vector<double> out(v.size());
    auto at = [&](std::int64_t i, std::int64_t j, std::int64_t k) { return (i * s[1] + j) * s[2] + k; };
    for (std::int64_t i = 0; i < s[0]; ++i)
        for (std::int64_t j = 0; j < s[1]; ++j)
            for (std::int64_t k = 0; k < s[2]; ++k) {
                if ((dim == 0 && i != 0) || (dim == 1 && j != 0) || (dim == 2 && k != 0)) continue;
                std::vector<std::int64_t> lane;
                for (std::int64_t t = 0; t < s[static_cast<std::size_t>(dim)]; ++t)
                    lane.push_back(dim == 0 ? at(t, j, k) : dim == 1 ? at(i, t, k) : at(i, j, t));
                double m = -INFINITY;
                for (std::int64_t p : lane) m = std::max(m, v[static_cast<std::size_t>(p)]);
                double z = 0;
                for (std::int64_t p : lane) z += std::exp(v[static_cast<std::size_t>(p)] - m);
                for (std::int64_t p : lane) {
                    const double e = v[static_cast<std::size_t>(p)] - m;
                    out[static_cast<std::size_t>(p)] = log ? e - std::log(z) : std::exp(e) / z;
                }
            }
    return out;
}

TEST(Softmax, MatchesLoopOnEveryDim) {
    for (DType dt : {DType::Float32, DType::Float64}) {
        Generator g(1);
        Tensor base = mul(randn({3, 7, 5}, dt, &g), 4.0);
        const double tol = dt == DType::Float32 ? 2e-6 : 1e-13;
        for (const Tensor& x : {base, base.permute({2, 0, 1}), base.slice(1, 1, 7, 3)}) {
            for (std::int64_t dim = -3; dim < 3; ++dim) {
                const std::int64_t d = dim < 0 ? dim + 3 : dim;
                for (bool log : {false, true}) {
                    Tensor y = log ? log_softmax(x, dim) : softmax(x, dim);
                    ASSERT_EQ(y.shape(), x.shape());
                    EXPECT_EQ(y.dtype(), dt);
                    const std::vector<double> got = values(y), want = ref_softmax(x, d, log);
                    for (std::size_t k = 0; k < got.size(); ++k)
                        EXPECT_NEAR(got[k], want[k], tol * std::max(1.0, std::abs(want[k])))
                            << (log ? "log_softmax" : "softmax") << " dim " << dim << " element " << k;
                }
            }
        }
    }
}

TEST(Softmax, LargeTensorsMatchLoop) {
    // Big enough for the multi-threaded path, along a leading dim and the last one.
    Generator g(4);
    Tensor x = randn({8, 64, 80}, DType::Float32, &g);
    for (std::int64_t dim : {0, 2}) {
        const std::vector<double> got = values(softmax(x, dim)), want = ref_softmax(x, dim, false);
        const std::vector<double> lgot = values(log_softmax(x, dim)), lwant = ref_softmax(x, dim, true);
        double err = 0, lerr = 0;
        for (std::size_t k = 0; k < got.size(); ++k) {
            err = std::max(err, std::abs(got[k] - want[k]));
            lerr = std::max(lerr, std::abs(lgot[k] - lwant[k]) / std::max(1.0, std::abs(lwant[k])));
        }
        EXPECT_LT(err, 1e-6) << "dim " << dim;
        EXPECT_LT(lerr, 1e-6) << "dim " << dim;
    }
    // Backward on the same size: with dy = 1 everywhere, softmax's gradient is 0 and
    // log_softmax's is 1 − size·softmax.
    Tensor xd = x.to(DType::Float64).requires_grad_();
    softmax(xd, 2).backward(ones({8, 64, 80}, DType::Float64));
    for (double v : values(xd.grad())) ASSERT_NEAR(v, 0.0, 1e-15);
    Tensor xl = x.to(DType::Float64).requires_grad_();
    log_softmax(xl, 0).backward(ones({8, 64, 80}, DType::Float64));
    const std::vector<double> gl = values(xl.grad()), p0 = ref_softmax(xl.detach(), 0, false);
    for (std::size_t k = 0; k < gl.size(); ++k) ASSERT_NEAR(gl[k], 1.0 - 8.0 * p0[k], 1e-12);
}

TEST(Softmax, SumsToOneAlongDim) {
    Generator g(2);
    Tensor x = randn({33, 7}, DType::Float32, &g);
    const std::vector<double> cols = values(sum(softmax(x, 0), {0}));
    for (double c : cols) EXPECT_NEAR(c, 1.0, 1e-6);
    const std::vector<double> rows = values(sum(exp(log_softmax(x, 1)), {1}));
    for (double r : rows) EXPECT_NEAR(r, 1.0, 1e-6);
}

TEST(Softmax, StableForLargeLogits) {
    Tensor x = from_vector<float>({1000, 1001, 1002, -1000, 0, 1000}, {2, 3});
    const std::vector<double> p = values(softmax(x, 1));
    const double z = 1 + std::exp(-1.0) + std::exp(-2.0);
    EXPECT_NEAR(p[2], 1 / z, 1e-6);
    EXPECT_NEAR(p[0], std::exp(-2.0) / z, 1e-6);
    EXPECT_NEAR(p[5], 1.0, 1e-6);
    EXPECT_EQ(p[3], 0.0);
    const std::vector<double> lp = values(log_softmax(x, 1));
    EXPECT_NEAR(lp[3], -2000.0, 1e-3);
    EXPECT_NEAR(lp[5], 0.0, 1e-6);
    for (double v : lp) EXPECT_TRUE(std::isfinite(v));
    // Masked positions (−inf) get probability 0 and the rest renormalise.
    Tensor m = from_vector<double>({0, -INFINITY, 0});
    EXPECT_EQ(values(softmax(m, 0)), (std::vector<double>{0.5, 0.0, 0.5}));
}

TEST(Softmax, NaNPropagatesToItsLane) {
    Tensor x = from_vector<double>({1, std::numeric_limits<double>::quiet_NaN(), 2, 1, 2, 3}, {2, 3});
    const std::vector<double> p = values(softmax(x, 1));
    for (int k = 0; k < 3; ++k) EXPECT_TRUE(std::isnan(p[static_cast<std::size_t>(k)]));
    for (int k = 3; k < 6; ++k) EXPECT_TRUE(std::isfinite(p[static_cast<std::size_t>(k)]));
}

TEST(Softmax, ZeroDimAndSizeOne) {
    EXPECT_EQ(softmax(scalar_tensor(3.0, DType::Float64), 0).item(), 1.0);
    EXPECT_EQ(log_softmax(scalar_tensor(3.0, DType::Float64), -1).item(), 0.0);
    EXPECT_EQ(values(softmax(from_vector<double>({5, -2}, {2, 1}), 1)), (std::vector<double>{1, 1}));
    EXPECT_EQ(softmax(zeros({0, 4}), 1).shape(), (Shape{0, 4}));
}

TEST(Softmax, BackwardMatchesClosedForm) {
    // softmax: dx = y·(dy − Σ dy·y);  log_softmax: dx = dy − exp(y)·Σ dy.
    Tensor x = from_vector<double>({0.5, -1, 2}).requires_grad_();
    Tensor dy = from_vector<double>({1, 2, -4});
    Tensor y = softmax(x, 0);
    y.backward(dy);
    const std::vector<double> yv = values(y), dv = values(dy), gx = values(x.grad());
    double s = 0;
    for (int k = 0; k < 3; ++k) s += dv[static_cast<std::size_t>(k)] * yv[static_cast<std::size_t>(k)];
    for (std::size_t k = 0; k < 3; ++k) EXPECT_NEAR(gx[k], yv[k] * (dv[k] - s), 1e-15);

    Tensor x2 = x.detach().clone().requires_grad_();
    Tensor ly = log_softmax(x2, 0);
    ly.backward(dy);
    const std::vector<double> g2 = values(x2.grad()), lyv = values(ly);
    const double dsum = dv[0] + dv[1] + dv[2];  // −1
    for (std::size_t k = 0; k < 3; ++k) EXPECT_NEAR(g2[k], dv[k] - std::exp(lyv[k]) * dsum, 1e-15);
    EXPECT_STREQ(y.grad_fn()->name(), "SoftmaxBackward");
    EXPECT_STREQ(ly.grad_fn()->name(), "LogSoftmaxBackward");
}

TEST(Softmax, GradcheckOddSizesAndDims) {
    for (std::int64_t n : {1, 7, 33}) {
        Tensor x = leaf64({3, n}, 10 + static_cast<std::uint64_t>(n));
        Tensor xt = leaf64_transposed({n, 4}, 20 + static_cast<std::uint64_t>(n));
        Tensor x3 = leaf64({2, n, 3}, 30 + static_cast<std::uint64_t>(n));
        for (std::int64_t dim : {0, 1, -1}) {
            EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return softmax(v[0], dim); }, x);
            EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return log_softmax(v[0], dim); }, x);
            EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return softmax(v[0], dim); }, xt);
            EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return log_softmax(v[0], dim); }, xt);
        }
        for (std::int64_t dim : {0, 1, 2}) {
            EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return softmax(v[0], dim); }, x3);
            EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return log_softmax(v[0], dim); }, x3);
        }
    }
    // A sliced (strided, offset) input.
    Tensor big = leaf64({5, 9}, 40);
    EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return softmax(v[0].slice(1, 1, 9, 2), 1); }, big);
    EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return log_softmax(v[0].slice(0, 0, 5, 2), 0); }, big);
}

TEST(Softmax, Errors) {
    EXPECT_THROW_MSG(softmax(zeros({2, 3}), 2), IndexError, "softmax: dimension 2 out of range for a 2-d tensor");
    EXPECT_THROW_MSG(log_softmax(zeros({2, 3}), -3), IndexError, "log_softmax: dimension -3 out of range");
    EXPECT_THROW_MSG(softmax(arange(4), 0), DTypeError,
                     "softmax: expected a floating-point tensor (float32 or float64), got int64");
    EXPECT_THROW_MSG(log_softmax(zeros({2}, DType::BFloat16), 0), DTypeError,
                     "log_softmax: expected a floating-point tensor");
}

}  // namespace
