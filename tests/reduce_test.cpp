// max/min (whole tensor and along a dim), argmax/argmin, var and std: forward values against
// plain loops, ties and NaN, gradchecks (odd sizes, non-contiguous inputs, several dims and
// keepdim) and every error path.
#include <cmath>
#include <limits>
#include <vector>

#include "test_util.hpp"

using namespace graft;
using graft::test::leaf64;
using graft::test::leaf64_transposed;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

/// For every output position (row-major over the dims not in `reduced`), the input values
/// that reduce into it, in row-major order. Computed by index arithmetic on the input's
/// row-major element list, independent of the library's reduction planner.
std::vector<std::vector<double>> groups(const Tensor& x, const std::vector<bool>& reduced) {
    const Shape& s = x.shape();
    const std::vector<double> v = values(x);
    std::int64_t n_out = 1;
    for (std::size_t d = 0; d < s.size(); ++d)
        if (!reduced[d]) n_out *= s[d];
    std::vector<std::vector<double>> out(static_cast<std::size_t>(n_out));
    for (std::size_t flat = 0; flat < v.size(); ++flat) {
        std::int64_t rest = static_cast<std::int64_t>(flat), o = 0, scale = 1;
        for (std::size_t d = s.size(); d-- > 0;) {
            const std::int64_t i = rest % s[d];
            rest /= s[d];
            if (!reduced[d]) {
                o += i * scale;
                scale *= s[d];
            }
        }
        out[static_cast<std::size_t>(o)].push_back(v[flat]);
    }
    return out;
}

std::vector<bool> only(std::size_t ndim, std::int64_t dim) {
    std::vector<bool> r(ndim, false);
    r[static_cast<std::size_t>(dim)] = true;
    return r;
}

double ref_var(const std::vector<double>& g, std::int64_t correction) {
    double m = 0;
    for (double v : g) m += v;
    m /= static_cast<double>(g.size());
    double s = 0;
    for (double v : g) s += (v - m) * (v - m);
    return s / static_cast<double>(static_cast<std::int64_t>(g.size()) - correction);
}

using GradFn = std::function<Tensor(const std::vector<Tensor>&)>;

// ---- max / min of the whole tensor ------------------------------------------------------

TEST(Reduce, MaxMinAllMatchLoop) {
    for (DType dt : {DType::Float32, DType::Float64}) {
        Generator g(3);
        Tensor x = randn({7, 33}, dt, &g);
        const std::vector<double> v = values(x);
        double mx = -INFINITY, mn = INFINITY;
        for (double e : v) {
            mx = std::max(mx, e);
            mn = std::min(mn, e);
        }
        Tensor a = max(x), b = min(x);
        EXPECT_EQ(a.dim(), 0);
        EXPECT_EQ(a.dtype(), dt);
        EXPECT_EQ(a.item(), mx);
        EXPECT_EQ(b.item(), mn);
        EXPECT_EQ(max(x.t()).item(), mx);  // non-contiguous view
    }
    Tensor i = from_vector<std::int64_t>({4, -9, 17, 3}, {2, 2});
    EXPECT_EQ(max(i).item(), 17);
    EXPECT_EQ(min(i).item(), -9);
    EXPECT_EQ(max(i).dtype(), DType::Int64);
    EXPECT_EQ(max(scalar_tensor(2.5, DType::Float64)).item(), 2.5);
}

TEST(Reduce, MaxAllGradientSplitsEvenlyAmongTies) {
    Tensor x = from_vector<double>({1, 3, 3, 2, 3, -1}).requires_grad_();
    max(x).backward();
    EXPECT_EQ(values(x.grad()), (std::vector<double>{0, 1.0 / 3, 1.0 / 3, 0, 1.0 / 3, 0}));
    Tensor y = from_vector<double>({-2, 5, -2, 0}).requires_grad_();
    mul(min(y), 4.0).backward();
    EXPECT_EQ(values(y.grad()), (std::vector<double>{2, 0, 2, 0}));
}

TEST(Reduce, NaNPropagatesAndWinsIndices) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    Tensor x = from_vector<double>({1, nan, 7, nan, -3});
    EXPECT_TRUE(std::isnan(max(x).item()));
    EXPECT_TRUE(std::isnan(min(x).item()));
    EXPECT_EQ(argmax(x).item(), 1);
    EXPECT_EQ(argmin(x).item(), 1);
    auto [v, i] = max(x.reshape({1, 5}), 1);
    EXPECT_TRUE(std::isnan(v.item()));
    EXPECT_EQ(i.item(), 1);
    auto [v2, i2] = min(from_vector<float>({2, 0, static_cast<float>(nan)}), 0);
    EXPECT_TRUE(std::isnan(v2.item()));
    EXPECT_EQ(i2.item(), 2);
    // The gradient of a NaN max goes to the NaNs, split evenly.
    Tensor xg = x.detach().clone().requires_grad_();
    max(xg).backward();
    EXPECT_EQ(values(xg.grad()), (std::vector<double>{0, 0.5, 0, 0.5, 0}));
}

TEST(Reduce, GradcheckMaxMinAll) {
    for (std::int64_t n : {1, 7, 33}) {
        Tensor x = leaf64({3, n}, 11);
        Tensor xt = leaf64_transposed({n, 3}, 12);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return max(v[0]); }, x);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return min(v[0]); }, xt);
    }
}

// ---- max / min along a dim ----------------------------------------------------------------

TEST(Reduce, MaxMinDimMatchLoopEveryDim) {
    Generator g(5);
    Tensor base = randn({4, 7, 5}, DType::Float64, &g);
    for (const Tensor& x : {base, base.permute({2, 0, 1}), base.slice(1, 1, 7, 2)}) {
        for (std::int64_t dim = -3; dim < 3; ++dim) {
            const std::int64_t d = dim < 0 ? dim + 3 : dim;
            const auto lanes = groups(x, only(3, d));
            for (bool keepdim : {false, true}) {
                for (bool is_max : {true, false}) {
                    auto [v, i] = is_max ? max(x, dim, keepdim) : min(x, dim, keepdim);
                    Shape want = x.shape();
                    if (keepdim)
                        want[static_cast<std::size_t>(d)] = 1;
                    else
                        want.erase(want.begin() + d);
                    ASSERT_EQ(v.shape(), want);
                    ASSERT_EQ(i.shape(), want);
                    EXPECT_EQ(i.dtype(), DType::Int64);
                    const std::vector<double> vv = values(v);
                    const std::vector<std::int64_t> iv = i.to_vector<std::int64_t>();
                    for (std::size_t o = 0; o < lanes.size(); ++o) {
                        std::size_t best = 0;
                        for (std::size_t k = 1; k < lanes[o].size(); ++k)
                            if (is_max ? lanes[o][k] > lanes[o][best] : lanes[o][k] < lanes[o][best]) best = k;
                        EXPECT_EQ(vv[o], lanes[o][best]) << "dim " << dim << " position " << o;
                        EXPECT_EQ(iv[o], static_cast<std::int64_t>(best)) << "dim " << dim << " position " << o;
                    }
                }
            }
        }
    }
}

TEST(Reduce, MaxDimFirstOccurrenceWinsTiesAndGetsTheGradient) {
    Tensor x = from_vector<double>({1, 4, 4, 0, 2, 2, 2, 5}, {2, 4}).requires_grad_();
    auto [v, i] = max(x, 1);
    EXPECT_EQ(values(v), (std::vector<double>{4, 5}));
    EXPECT_EQ(i.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 3}));
    auto [mv, mi] = min(x, 1, true);
    EXPECT_EQ(mv.shape(), (Shape{2, 1}));
    EXPECT_EQ(values(mv), (std::vector<double>{0, 2}));
    EXPECT_EQ(mi.to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 0}));
    EXPECT_FALSE(i.requires_grad());
    sum(mul(v, from_vector<double>({10, 20}))).backward();
    EXPECT_EQ(values(x.grad()), (std::vector<double>{0, 10, 0, 0, 0, 0, 0, 20}));
}

TEST(Reduce, GradcheckMaxMinDim) {
    for (std::int64_t n : {1, 7, 33}) {
        Tensor x3 = leaf64({3, n, 4}, 21);
        Tensor xt = leaf64_transposed({n, 5}, 22);
        for (std::int64_t dim : {0, 1, -1})
            for (bool keepdim : {false, true}) {
                EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return max(v[0], dim, keepdim).first; }, x3);
                EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return min(v[0], dim, keepdim).first; }, x3);
            }
        for (std::int64_t dim : {0, 1}) {
            EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return max(v[0], dim).first; }, xt);
            EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return min(v[0], dim, true).first; }, xt);
        }
    }
}

TEST(Reduce, ZeroDimAndEmptyOuter) {
    auto [v, i] = max(scalar_tensor(3.0, DType::Float64), 0);
    EXPECT_EQ(v.dim(), 0);
    EXPECT_EQ(v.item(), 3.0);
    EXPECT_EQ(i.item(), 0);
    // Reducing a non-empty dim of a tensor with no elements gives an empty result.
    auto [ev, ei] = max(zeros({0, 3}), 1);
    EXPECT_EQ(ev.shape(), (Shape{0}));
    EXPECT_EQ(ei.shape(), (Shape{0}));
}

// ---- argmax / argmin ------------------------------------------------------------------------

TEST(Reduce, ArgmaxArgminFlattenedAndAlongDim) {
    Tensor x = from_vector<float>({3, 9, -1, 9, -5, 0}, {2, 3});
    EXPECT_EQ(argmax(x).item(), 1);
    EXPECT_EQ(argmin(x).item(), 4);
    EXPECT_EQ(argmax(x).dim(), 0);
    EXPECT_EQ(argmax(x, std::nullopt, true).shape(), (Shape{1, 1}));
    EXPECT_EQ(argmax(x, 0).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 0, 1}));
    EXPECT_EQ(argmin(x, 1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{2, 1}));
    EXPECT_EQ(argmin(x, -1, true).shape(), (Shape{2, 1}));
    // Transposed view: argmax over rows of x.t() is argmax over columns of x.
    EXPECT_EQ(argmax(x.t(), 1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 0, 1}));
    // Integer dtypes.
    Tensor xi = from_vector<std::int32_t>({5, 2, 8, 8}, {2, 2});
    EXPECT_EQ(argmax(xi).item(), 2);
    EXPECT_EQ(argmin(xi, 1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 0}));
    EXPECT_EQ(argmax(from_vector<std::int64_t>({-7, -3, -3})).item(), 1);
    EXPECT_EQ(argmax(x).dtype(), DType::Int64);
}

TEST(Reduce, ArgmaxMatchesLoopOnRandomData) {
    Generator g(8);
    Tensor x = randn({33, 7}, DType::Float32, &g);
    const auto cols = groups(x, {true, false});
    const std::vector<std::int64_t> got = argmax(x, 0).to_vector<std::int64_t>();
    for (std::size_t c = 0; c < cols.size(); ++c) {
        std::size_t best = 0;
        for (std::size_t k = 1; k < cols[c].size(); ++k)
            if (cols[c][k] > cols[c][best]) best = k;
        EXPECT_EQ(got[c], static_cast<std::int64_t>(best));
    }
}

// ---- var / std ------------------------------------------------------------------------------

TEST(Reduce, VarStdMatchLoop) {
    for (DType dt : {DType::Float32, DType::Float64}) {
        Generator g(9);
        Tensor base = add(mul(randn({5, 7, 3}, dt, &g), 3.0), 100.0);  // offset mean: tests the two-pass sum
        const double tol = dt == DType::Float32 ? 1e-5 : 1e-10;
        for (const Tensor& x : {base, base.permute({1, 2, 0})}) {
            const std::vector<std::vector<std::int64_t>> dim_sets{{}, {0}, {-1}, {0, 2}, {1, 0}};
            for (const auto& dims : dim_sets) {
                std::vector<bool> red(3, dims.empty());
                for (std::int64_t d : dims) red[static_cast<std::size_t>(d < 0 ? d + 3 : d)] = true;
                const auto gs = groups(x, red);
                for (std::int64_t correction : {0, 1, 2})
                    for (bool keepdim : {false, true}) {
                        Tensor v = var(x, dims, correction, keepdim);
                        Tensor s = graft::std(x, dims, correction, keepdim);
                        Shape want;
                        for (std::size_t d = 0; d < 3; ++d)
                            if (!red[d])
                                want.push_back(x.shape()[d]);
                            else if (keepdim)
                                want.push_back(1);
                        ASSERT_EQ(v.shape(), want);
                        ASSERT_EQ(s.shape(), want);
                        EXPECT_EQ(v.dtype(), dt);
                        const std::vector<double> vv = values(v), sv = values(s);
                        for (std::size_t o = 0; o < gs.size(); ++o) {
                            const double r = ref_var(gs[o], correction);
                            EXPECT_NEAR(vv[o], r, tol * r) << "correction " << correction;
                            EXPECT_NEAR(sv[o], std::sqrt(r), tol * std::sqrt(r)) << "correction " << correction;
                        }
                    }
            }
        }
    }
}

TEST(Reduce, VarHandValuesAndDegenerateCounts) {
    Tensor x = from_vector<double>({2, 4, 4, 4, 5, 5, 7, 9});
    EXPECT_DOUBLE_EQ(var(x, {}, 0).item(), 4.0);
    EXPECT_DOUBLE_EQ(graft::std(x, {}, 0).item(), 2.0);
    EXPECT_DOUBLE_EQ(var(x).item(), 32.0 / 7.0);
    // One element with the unbiased correction: 0/0 → NaN, as in PyTorch.
    EXPECT_TRUE(std::isnan(var(from_vector<double>({3.0})).item()));
    EXPECT_EQ(var(from_vector<double>({3.0}), {}, 0).item(), 0.0);
    // Correction larger than the count: a positive sum over 0 → inf.
    EXPECT_TRUE(std::isinf(var(from_vector<double>({1.0, 2.0}), {}, 5).item()));
}

TEST(Reduce, GradcheckVarStd) {
    for (std::int64_t n : {1, 7, 33}) {
        Tensor x = leaf64({3, n}, 31);
        Tensor xt = leaf64_transposed({n, 4}, 32);
        Tensor x3 = leaf64({2, n, 3}, 33);
        // A single element along dim 1 (n = 1) needs correction 0 for a finite var; its std
        // (√0) has no derivative, so std is only checked over reductions of several elements.
        const std::int64_t corr = n == 1 ? 0 : 1;
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return var(v[0]); }, x);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return graft::std(v[0]); }, x);
        EXPECT_GRADCHECK([=](const std::vector<Tensor>& v) { return var(v[0], {1}, corr, true); }, x);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return graft::std(v[0], {0}, 1, true); }, x);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return var(v[0], {0}, 0); }, xt);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return graft::std(v[0], {-1}, 2); }, xt);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return var(v[0], {0, 2}, 1, true); }, x3);
        EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return graft::std(v[0], {2, 0}); }, x3);
        if (n > 1) {
            EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return graft::std(v[0], {-1}); }, x);
            EXPECT_GRADCHECK([](const std::vector<Tensor>& v) { return graft::std(v[0], {0}, 2, true); }, xt);
        }
    }
}

TEST(Reduce, VarBackwardMatchesClosedForm) {
    Tensor x = from_vector<double>({1, 2, 6}).requires_grad_();
    var(x).backward();  // mean 3, N − 1 = 2: dx = 2(x − 3)/2
    EXPECT_EQ(values(x.grad()), (std::vector<double>{-2, -1, 3}));
    Tensor y = from_vector<double>({1, 3}).requires_grad_();
    graft::std(y, {}, 0).backward();  // std 1: dx = (y − 2)/(2·1)
    EXPECT_EQ(values(y.grad()), (std::vector<double>{-0.5, 0.5}));
}

TEST(Reduce, RecordsNodesOnlyWhenNeeded) {
    Tensor x = randn({4, 4});
    EXPECT_FALSE(max(x, 0).first.requires_grad());
    EXPECT_FALSE(var(x).requires_grad());
    Tensor w = randn({4, 4}).requires_grad_();
    {
        NoGradGuard guard;
        EXPECT_FALSE(max(w).requires_grad());
    }
    EXPECT_TRUE(graft::std(w, {0}).requires_grad());
    EXPECT_STREQ(max(w, 1).first.grad_fn()->name(), "MaxDimBackward");
    EXPECT_STREQ(min(w).grad_fn()->name(), "MinBackward");
}

// ---- errors ---------------------------------------------------------------------------------

TEST(Reduce, Errors) {
    EXPECT_THROW_MSG(max(zeros({0, 3})), ValueError, "max: cannot reduce an empty tensor of shape [0, 3]");
    EXPECT_THROW_MSG(argmin(zeros({0})), ValueError, "argmin: cannot reduce an empty tensor of shape [0]");
    EXPECT_THROW_MSG(max(zeros({2, 0}), 1), IndexError, "max: cannot reduce dimension 1 of size 0 (input [2, 0])");
    EXPECT_THROW_MSG(argmax(zeros({2, 0}), -1), IndexError, "argmax: cannot reduce dimension 1 of size 0");
    EXPECT_THROW_MSG(min(zeros({2, 3}), 2), IndexError, "min: dimension 2 out of range for a 2-d tensor");
    EXPECT_THROW_MSG(argmax(zeros({2, 3}), -3), IndexError, "argmax: dimension -3 out of range");
    EXPECT_THROW_MSG(var(zeros({2, 3}), {0, -2}), ValueError, "var: dimension 0 appears more than once");
    EXPECT_THROW_MSG(graft::std(zeros({2, 3}), {4}), IndexError, "std: dimension 4 out of range");
    EXPECT_THROW_MSG(var(arange(4)), DTypeError,
                     "var: expected a floating-point tensor (float32 or float64), got int64");
    EXPECT_THROW_MSG(max(zeros({2}, DType::Bool)), DTypeError, "max: expected a numeric tensor");
    EXPECT_THROW_MSG(argmax(zeros({2}, DType::BFloat16)), DTypeError, "argmax: expected a numeric tensor");
}

}  // namespace
