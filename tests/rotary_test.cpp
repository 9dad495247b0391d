// apply_rotary: forward against a plain loop ("rotate half" pairs i, i + D/2), an offset equal to
// slicing the full-length result, relative-position dot products, gradchecks and errors.
#include <cmath>
#include <vector>

#include "test_util.hpp"

using namespace graft;
namespace F = graft::nn::functional;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

/// The rotation of x [..., T, D] (read row-major) by (offset + t)·base^(−2i/D), in double.
std::vector<double> ref_rotary(const Tensor& x, std::int64_t offset, double base) {
    const std::int64_t T = x.size(-2), D = x.size(-1), half = D / 2;
    const std::vector<double> xv = values(x);
    std::vector<double> out(xv.size());
    for (std::size_t line = 0; line < xv.size() / static_cast<std::size_t>(D); ++line) {
        const double pos = static_cast<double>(offset + static_cast<std::int64_t>(line) % T);
        for (std::int64_t i = 0; i < half; ++i) {
            const double angle = pos * std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(D));
            const double a = xv[line * D + i], b = xv[line * D + i + half];
            out[line * D + i] = a * std::cos(angle) - b * std::sin(angle);
            out[line * D + i + half] = b * std::cos(angle) + a * std::sin(angle);
        }
    }
    return out;
}

void expect_values_near(const Tensor& got, const std::vector<double>& want, double tol, const char* what) {
    const std::vector<double> g = values(got);
    ASSERT_EQ(g.size(), want.size()) << what;
    for (std::size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], want[i], tol) << what << " at " << i;
}

}  // namespace

TEST(Rotary, ForwardMatchesLoop) {
    for (DType dt : {DType::Float32, DType::Float64}) {
        Generator g(1);
        const Tensor x = randn({2, 3, 5, 8}, dt, &g);
        const double tol = dt == DType::Float32 ? 2e-6 : 1e-12;
        expect_values_near(F::apply_rotary(x), ref_rotary(x, 0, 10000.0), tol, "offset 0");
        expect_values_near(F::apply_rotary(x, 17, 500.0), ref_rotary(x, 17, 500.0), tol, "offset 17, base 500");
        const Tensor strided = randn({2, 5, 3, 8}, dt, &g).transpose(1, 2);  // [B, H, T, D] from [B, T, H, D]
        expect_values_near(F::apply_rotary(strided, 3), ref_rotary(strided.contiguous(), 3, 10000.0), tol, "strided");
    }
    // Position 0 is the identity.
    const Tensor x = randn({1, 1, 1, 6});
    expect_values_near(F::apply_rotary(x), values(x), 0.0, "position 0");
}

TEST(Rotary, OffsetEqualsSlicingTheFullResult) {
    Generator g(2);
    const Tensor full = randn({2, 2, 12, 16}, DType::Float32, &g);
    const Tensor whole = F::apply_rotary(full);
    for (std::int64_t start : {1, 5, 11}) {
        const Tensor part = F::apply_rotary(full.slice(2, start, 12), start);
        expect_values_near(part, values(whole.slice(2, start, 12).contiguous()), 0.0, "suffix");
        const Tensor one = F::apply_rotary(full.slice(2, start, start + 1), start);
        expect_values_near(one, values(whole.slice(2, start, start + 1).contiguous()), 0.0, "one step");
    }
}

TEST(Rotary, DotProductsDependOnRelativePosition) {
    // ⟨rot(q, m), rot(k, n)⟩ depends on m − n only: the property attention relies on.
    Generator g(3);
    const Tensor q = randn({1, 1, 1, 8}, DType::Float64, &g), k = randn({1, 1, 1, 8}, DType::Float64, &g);
    const auto dot_at = [&](std::int64_t m, std::int64_t n) {
        return sum(mul(F::apply_rotary(q, m), F::apply_rotary(k, n))).item<double>();
    };
    EXPECT_NEAR(dot_at(3, 1), dot_at(10, 8), 1e-12);
    EXPECT_NEAR(dot_at(0, 5), dot_at(7, 12), 1e-12);
    EXPECT_GT(std::abs(dot_at(3, 1) - dot_at(1, 3)), 1e-6);
}

TEST(Rotary, Gradcheck) {
    const Tensor x = graft::test::leaf64({2, 2, 3, 6}, 4);
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return F::apply_rotary(in[0], 5); }, x);
    Generator g(5);
    const Tensor strided = randn({2, 3, 2, 4}, DType::Float64, &g).transpose(1, 2).detach().requires_grad_();
    EXPECT_GRADCHECK([](const std::vector<Tensor>& in) { return F::apply_rotary(in[0], 0, 100.0); }, strided);
}

TEST(Rotary, Errors) {
    EXPECT_THROW_MSG(F::apply_rotary(randn({1, 2, 3, 5})), ValueError, "even");
    EXPECT_THROW_MSG(F::apply_rotary(randn({1, 2, 3, 4}), -1), ValueError, "position_offset");
    EXPECT_THROW_MSG(F::apply_rotary(randn({1, 2, 3, 4}), 0, 0.0), ValueError, "base");
    EXPECT_THROW_MSG(F::apply_rotary(randn({4})), ShapeError, "[..., T, D]");
    EXPECT_THROW_MSG(F::apply_rotary(randn({2, 4}).to(DType::Int64)), DTypeError, "apply_rotary");
}

TEST(Rotary, PositionIdsRotateEachRowByItsOwnPositions) {
    // Row b of x [B, H, T, D] with position_ids[b] = offset_b … offset_b + T − 1 equals that row
    // rotated with the scalar offset; ids that are not consecutive rotate each step on its own.
    Generator g(6);
    const Tensor x = randn({3, 2, 4, 8}, DType::Float64, &g);
    const Tensor ids = from_vector<std::int64_t>({0, 1, 2, 3, 5, 6, 7, 8, 1, 1, 0, 9}, {3, 4});
    const Tensor y = F::apply_rotary(x, ids);
    for (std::int64_t b : {0, 1}) {
        const Tensor want = F::apply_rotary(x.narrow(0, b, 1), b == 0 ? 0 : 5);
        expect_values_near(y.narrow(0, b, 1).contiguous(), values(want), 0.0, b == 0 ? "row 0" : "row 1");
    }
    for (std::int64_t t = 0; t < 4; ++t) {
        const std::int64_t p = ids.select(0, 2).select(0, t).item<std::int64_t>();
        const Tensor want = F::apply_rotary(x.narrow(0, 2, 1).narrow(2, t, 1), p);
        expect_values_near(y.narrow(0, 2, 1).narrow(2, t, 1).contiguous(), values(want), 0.0, "row 2");
    }
}

TEST(Rotary, PositionIdsGradcheckAndErrors) {
    const Tensor x = graft::test::leaf64({2, 3, 3, 4}, 7);
    const Tensor ids = from_vector<std::int64_t>({4, 0, 2, 1, 1, 7}, {2, 3});
    EXPECT_GRADCHECK([&](const std::vector<Tensor>& in) { return F::apply_rotary(in[0], ids, 500.0); }, x);
    EXPECT_THROW_MSG(F::apply_rotary(randn({2, 1, 3, 4}), from_vector<std::int64_t>({0, 1, 2}, {1, 3})), ShapeError,
                     "position_ids must be integer [B, T] = [2, 3] for x [2, 1, 3, 4], got int64 [1, 3]");
    EXPECT_THROW_MSG(F::apply_rotary(randn({1, 1, 2, 4}), zeros({1, 2})), ShapeError, "got float32 [1, 2]");
    EXPECT_THROW_MSG(F::apply_rotary(randn({1, 1, 2, 4}), from_vector<std::int64_t>({0, -1}, {1, 2})), ValueError,
                     "position ids must be non-negative, got -1");
}
