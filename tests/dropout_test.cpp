// dropout: mask statistics, scaling, seeding, eval identity, gradient and error paths.
#include <cmath>
#include <limits>
#include <vector>

#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;
using graft::test::leaf64_transposed;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

TEST(Dropout, MaskFractionNearPAndKeptValuesScaled) {
    const std::int64_t n = 100000;
    for (double p : {0.1, 0.3, 0.5, 0.9}) {
        Generator g(42);
        Tensor out = dropout(ones({n}), p, true, &g);
        const float scale = static_cast<float>(1.0 / (1.0 - p));
        std::int64_t dropped = 0;
        for (float v : out.to_vector<float>()) {
            if (v == 0.0f) {
                ++dropped;
            } else {
                EXPECT_EQ(v, scale);
            }
        }
        const double frac = static_cast<double>(dropped) / static_cast<double>(n);
        // The standard deviation of the fraction is at most 0.0016; allow about 6 of them.
        EXPECT_NEAR(frac, p, 0.01) << "p = " << p;
    }
}

TEST(Dropout, ScalingKeepsTheMeanAndMatchesTheInput) {
    Generator gx(1), gd(2);
    Tensor x = randn({200, 500}, DType::Float64, &gx);
    Tensor out = dropout(x, 0.25, true, &gd);
    ASSERT_EQ(out.shape(), x.shape());
    EXPECT_EQ(out.dtype(), DType::Float64);
    const std::vector<double> xv = values(x), ov = values(out);
    for (std::size_t i = 0; i < xv.size(); ++i)
        if (ov[i] != 0.0) {
            EXPECT_DOUBLE_EQ(ov[i], xv[i] / 0.75);
        }
    Tensor ones_out = dropout(ones({100000}, DType::Float64), 0.25, true, &gd);
    EXPECT_NEAR(ones_out.mean().item(), 1.0, 0.01);
}

TEST(Dropout, SameSeedSameMask) {
    Tensor x = ones({64, 33});
    Generator a(7), b(7), c(8);
    const std::vector<double> first = values(dropout(x, 0.5, true, &a));
    EXPECT_EQ(values(dropout(x, 0.5, true, &b)), first);
    EXPECT_NE(values(dropout(x, 0.5, true, &c)), first);
    // The stream advances: a second call on the same generator gives a new mask.
    EXPECT_NE(values(dropout(x, 0.5, true, &a)), first);
    // The global generator, reseeded, is reproducible too.
    manual_seed(99);
    const std::vector<double> global = values(dropout(x, 0.5, true));
    manual_seed(99);
    EXPECT_EQ(values(dropout(x, 0.5, true)), global);
}

TEST(Dropout, MaskDoesNotDependOnLayout) {
    Tensor base = arange(12 * 5, DType::Float32).reshape({5, 12});
    Tensor strided = base.t();  // [12, 5], non-contiguous
    Generator a(3), b(3);
    EXPECT_EQ(values(dropout(strided, 0.4, true, &a)), values(dropout(strided.contiguous(), 0.4, true, &b)));
}

TEST(Dropout, EvalAndZeroPAreIdentity) {
    Tensor x = leaf64({4, 5}, 1);
    Tensor eval = dropout(x, 0.5, false);
    EXPECT_EQ(eval.impl_ptr(), x.impl_ptr());
    Tensor p0 = dropout(x, 0.0, true);
    EXPECT_EQ(p0.impl_ptr(), x.impl_ptr());
    // No random numbers are drawn for the identity.
    Generator g(5), ref(5);
    dropout(x, 0.5, false, &g);
    EXPECT_EQ(g.next_u64(), ref.next_u64());
}

TEST(Dropout, POneGivesZerosAndZeroGradient) {
    Tensor x = leaf64({3, 4}, 2);
    Tensor out = dropout(x, 1.0, true);
    EXPECT_EQ(values(out), std::vector<double>(12, 0.0));
    out.sum().backward();
    EXPECT_EQ(values(x.grad()), std::vector<double>(12, 0.0));
}

TEST(Dropout, BackwardIsMaskTimesScale) {
    Tensor x = leaf64({50, 40}, 3);
    Generator g(11);
    Tensor out = dropout(x, 0.2, true, &g);
    EXPECT_STREQ(out.grad_fn()->name(), "DropoutBackward");
    out.sum().backward();
    const std::vector<double> ov = values(out), gv = values(x.grad());
    std::int64_t kept = 0;
    for (std::size_t i = 0; i < ov.size(); ++i) {
        EXPECT_EQ(gv[i], ov[i] != 0.0 ? 1.0 / 0.8 : 0.0) << i;
        kept += ov[i] != 0.0;
    }
    EXPECT_GT(kept, 0);
    EXPECT_LT(kept, static_cast<std::int64_t>(ov.size()));
}

TEST(Dropout, SavesTheMaskNotTheInput) {
    Tensor x = leaf64({8, 8}, 4);
    Tensor h = mul(x, 2.0);
    Generator g(12);
    Tensor out = dropout(h, 0.5, true, &g);
    // Writing into h would be refused if dropout had saved it for its backward.
    h.add_(1.0);
    out.sum().backward();
    const std::vector<double> ov = values(out), gv = values(x.grad());
    for (std::size_t i = 0; i < ov.size(); ++i) EXPECT_EQ(gv[i], ov[i] != 0.0 ? 4.0 : 0.0);
}

TEST(Dropout, GradcheckWithFixedGenerator) {
    for (double p : {0.2, 0.5}) {
        auto fn = [p](const std::vector<Tensor>& v) {
            Generator g(2024);  // a fresh stream per call: the same mask at every evaluation
            return dropout(v[0], p, true, &g);
        };
        EXPECT_GRADCHECK(fn, leaf64({4, 33}, 5));
        EXPECT_GRADCHECK(fn, leaf64_transposed({7, 5}, 6));
    }
}

TEST(Dropout, Errors) {
    Tensor x = zeros({2, 3});
    EXPECT_THROW_MSG(dropout(x, 1.5, true), ValueError, "dropout: probability p must be in [0, 1], got 1.5");
    EXPECT_THROW_MSG(dropout(x, -0.1, true), ValueError, "dropout: probability p must be in [0, 1], got -0.1");
    EXPECT_THROW_MSG(dropout(x, -0.1, false), ValueError, "input shape [2, 3]");
    EXPECT_THROW_MSG(dropout(x, std::numeric_limits<double>::quiet_NaN(), true), ValueError,
                     "dropout: probability p must be in [0, 1], got nan");
    EXPECT_THROW_MSG(dropout(zeros({4}, DType::Int64), 0.5, true), DTypeError,
                     "dropout: expected a floating-point tensor (float32 or float64), got int64");
    EXPECT_THROW_MSG(dropout(zeros({4}, DType::Int32), 1.0, true), DTypeError, "dropout: expected a floating-point");
}

}  // namespace
// ---- stochastic depth ----------------------------------------------------------------------------

namespace {

// Row mode: each sample is kept whole (all its values scaled by 1/(1 − p)) or zeroed whole, and
// the fraction of dropped samples is near p.
TEST(StochasticDepth, RowModeDropsWholeSamplesAtRateP) {
    const std::int64_t n = 20000;
    for (double p : {0.2, 0.5}) {
        Generator g(7);
        Tensor out = stochastic_depth(ones({n, 2, 3}), p, StochasticDepthMode::Row, true, &g);
        ASSERT_EQ(out.shape(), (Shape{n, 2, 3}));
        const std::vector<float> v = out.to_vector<float>();
        const float scale = static_cast<float>(1.0 / (1.0 - p));
        std::int64_t dropped = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            const float first = v[static_cast<std::size_t>(i * 6)];
            for (std::int64_t j = 1; j < 6; ++j) ASSERT_EQ(v[static_cast<std::size_t>(i * 6 + j)], first) << "sample " << i;
            if (first == 0.0f) {
                ++dropped;
            } else {
                EXPECT_EQ(first, scale);
            }
        }
        // Standard deviation of the fraction ≤ 0.0036; allow about 5.
        EXPECT_NEAR(static_cast<double>(dropped) / static_cast<double>(n), p, 0.018) << "p = " << p;
    }
}

TEST(StochasticDepth, BatchModeDropsAllOrNothingAndSeedsRepeat) {
    int dropped = 0;
    for (std::uint64_t seed = 0; seed < 400; ++seed) {
        Generator g(seed);
        const std::vector<double> v =
            values(stochastic_depth(ones({3, 4}, DType::Float64), 0.25, StochasticDepthMode::Batch, true, &g));
        const double first = v[0];
        for (double x : v) ASSERT_EQ(x, first);
        if (first == 0.0) {
            ++dropped;
        } else {
            EXPECT_DOUBLE_EQ(first, 1.0 / 0.75);
        }
    }
    EXPECT_NEAR(dropped / 400.0, 0.25, 0.07);
    Generator a(3), b(3);
    Tensor x = randn({16, 5});
    EXPECT_EQ(stochastic_depth(x, 0.5, StochasticDepthMode::Row, true, &a).to_vector<float>(),
              stochastic_depth(x, 0.5, StochasticDepthMode::Row, true, &b).to_vector<float>());
}

TEST(StochasticDepth, EvalAndZeroPAreTheIdentityAndModuleFollowsMode) {
    Tensor x = randn({4, 3, 2, 2});
    EXPECT_EQ(stochastic_depth(x, 0.7, StochasticDepthMode::Row, false).raw_data(), x.raw_data());
    EXPECT_EQ(stochastic_depth(x, 0.0, StochasticDepthMode::Row, true).raw_data(), x.raw_data());
    EXPECT_EQ(values(stochastic_depth(x, 1.0, StochasticDepthMode::Row, true)), std::vector<double>(48, 0.0));
    nn::StochasticDepth layer(0.9);
    layer.eval();
    EXPECT_EQ(values(layer.forward(x)), values(x));
    layer.train();
    manual_seed(5);
    int zero_rows = 0;
    const std::vector<double> y = values(layer.forward(x));
    for (int i = 0; i < 4; ++i) zero_rows += y[static_cast<std::size_t>(i * 12)] == 0.0 ? 1 : 0;
    EXPECT_GT(zero_rows, 0);
    EXPECT_EQ(layer.repr(), "StochasticDepth(p=0.9, mode=row)");
    EXPECT_EQ(nn::StochasticDepth(0.2, StochasticDepthMode::Batch).repr(), "StochasticDepth(p=0.2, mode=batch)");
}

TEST(StochasticDepth, GradcheckWithFixedGenerator) {
    auto fn = [](const std::vector<Tensor>& v) {
        Generator g(11);  // the same draw at every evaluation
        return stochastic_depth(v[0], 0.5, StochasticDepthMode::Row, true, &g);
    };
    EXPECT_GRADCHECK(fn, leaf64({6, 5}, 3));
    EXPECT_GRADCHECK(fn, leaf64_transposed({7, 3}, 4));
}

TEST(StochasticDepth, Errors) {
    EXPECT_THROW_MSG(stochastic_depth(zeros({2, 3}), 1.5, StochasticDepthMode::Row, true), ValueError,
                     "stochastic_depth: drop probability p must be in [0, 1], got 1.5");
    EXPECT_THROW_MSG(stochastic_depth(zeros({}), 0.5, StochasticDepthMode::Row, true), ShapeError, "0-d");
    EXPECT_THROW_MSG(nn::StochasticDepth(-0.5), ValueError, "StochasticDepth: drop probability p must be in [0, 1]");
}

}  // namespace
