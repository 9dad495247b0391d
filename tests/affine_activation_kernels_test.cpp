// The float32 per-channel affine-with-activation kernels (kernels/vector: batch_norm's output and
// a folded BatchNorm's, and their gradient): the scalar reference against the C++ formula with
// one rounding for x·a + b, every ISA variant this CPU runs against the scalar reference — bit
// for bit for None, ReLU, ReLU6 and Hardswish (special values included: NaN kept, −0 as
// std::max keeps it), within 1e-6 for SiLU, whose σ is each variant's own — at row lengths
// around the vector widths, in place, with a guard after the last row.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "graft/graft.hpp"
#include "kernels/vector/vector.hpp"
#include "test_util.hpp"
#include "vector_test_util.hpp"

using namespace graft;
using namespace graft::test;
using kernels::AffineActivation;

namespace {

const AffineActivation ACTIVATIONS[] = {AffineActivation::None, AffineActivation::ReLU, AffineActivation::ReLU6,
                                        AffineActivation::Hardswish, AffineActivation::SiLU};
const float SPECIALS[] = {kInf, -kInf, kNaN, 0.f, -0.f, -3.f, 3.f, 6.f, -2.9999998f, 6.0000005f, 1e-40f, -1e-40f};

const char* act_name(AffineActivation a) {
    switch (a) {
        case AffineActivation::None: return "none";
        case AffineActivation::ReLU: return "relu";
        case AffineActivation::ReLU6: return "relu6";
        case AffineActivation::Hardswish: return "hardswish";
        case AffineActivation::SiLU: return "silu";
    }
    return "?";
}

/// act(z) and act'(z) in double from z, the PyTorch formulas (the oracle for the scalar reference).
double act_value(AffineActivation a, double z) {
    switch (a) {
        case AffineActivation::None: return z;
        case AffineActivation::ReLU: return std::isnan(z) ? z : z > 0 ? z : 0.0;
        case AffineActivation::ReLU6: return std::isnan(z) ? z : std::min(std::max(z, 0.0), 6.0);
        case AffineActivation::Hardswish: return z * std::min(std::max(z + 3, 0.0), 6.0) / 6;
        case AffineActivation::SiLU: return z / (1 + std::exp(-z));
    }
    return 0;
}
double act_derivative(AffineActivation a, double z) {
    switch (a) {
        case AffineActivation::None: return 1;
        case AffineActivation::ReLU: return z > 0;
        case AffineActivation::ReLU6: return z > 0 && z < 6;
        case AffineActivation::Hardswish: return z < -3 ? 0 : z <= 3 ? z / 3 + 0.5 : 1;
        case AffineActivation::SiLU: {
            const double s = 1 / (1 + std::exp(-z));
            return s * (1 + z * (1 - s));
        }
    }
    return 0;
}

/// Equal bits (NaN: any NaN); SiLU within 1e-6 absolute or relative.
void expect_match(AffineActivation a, float got, float want, const std::string& what) {
    if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got)) << what << ": got " << got << ", want NaN";
    } else if (a == AffineActivation::SiLU && std::isfinite(want)) {
        EXPECT_NEAR(got, want, 1e-6 * std::max(1.f, std::fabs(want))) << what;
    } else {
        EXPECT_EQ(std::bit_cast<std::uint32_t>(got), std::bit_cast<std::uint32_t>(want))
            << what << ": got " << got << ", want " << want;
    }
}

/// rows × n values in [−9, 9) (past hardswish's ±3 and ReLU6's 6) with specials scattered in.
std::vector<float> inputs(int64 rows, int64 n, std::uint64_t seed) {
    std::vector<float> v = uniform(rows * n, seed, -9, 9);
    for (std::size_t i = seed % 7; i < v.size(); i += 13) v[i] = SPECIALS[(i + seed) % std::size(SPECIALS)];
    return v;
}

// Three channels, seven rows from row 1 (row 0 and everything past row 7 untouched), an affine of
// 1 and 0 on channel 0 so the specials reach the activation unchanged.
constexpr int64 kChannels = 3, kLo = 1, kHi = 8, kRows = 9;
const double SCALE[kChannels] = {1.0, -1.7, 0.31};
const double SHIFT[kChannels] = {0.0, 0.45, -2.2};

const std::vector<int64> LENGTHS = {1, 7, 8, 9, 15, 16, 17, 33, 49, 100};

}  // namespace

TEST(AffineActivationKernels, ScalarReferenceIsTheFormulaWithOneRounding) {
    for (AffineActivation a : ACTIVATIONS)
        for (int64 n : LENGTHS) {
            const std::vector<float> x = inputs(kRows, n, 3 + n), dy = inputs(kRows, n, 11 + n);
            std::vector<float> y(x.size(), SENTINEL), dz(x.size(), SENTINEL);
            const auto& ref = variant(Isa::Scalar);
            ref.affine_activation(a, kChannels, n, kLo, kHi, x.data(), y.data(), SCALE, SHIFT);
            ref.affine_activation_grad(a, kChannels, n, kLo, kHi, x.data(), SCALE, SHIFT, dy.data(), dz.data());
            for (int64 r = 0; r < kRows; ++r)
                for (int64 i = 0; i < n; ++i) {
                    const auto k = static_cast<std::size_t>(r * n + i);
                    const std::string what = std::string(act_name(a)) + " n=" + std::to_string(n) + " row " +
                                             std::to_string(r) + " x=" + std::to_string(x[k]);
                    if (r < kLo || r >= kHi) {
                        ASSERT_EQ(y[k], SENTINEL) << what;
                        ASSERT_EQ(dz[k], SENTINEL) << what;
                        continue;
                    }
                    const float z = std::fma(x[k], static_cast<float>(SCALE[r % kChannels]),
                                             static_cast<float>(SHIFT[r % kChannels]));
                    const double want = act_value(a, z), want_grad = dy[k] * act_derivative(a, z);
                    if (std::isnan(want)) {
                        EXPECT_TRUE(std::isnan(y[k])) << what;
                    } else if (std::isinf(want) || want == 0) {
                        EXPECT_EQ(y[k], static_cast<float>(want)) << what;
                    } else {
                        EXPECT_NEAR(y[k], want, 1e-6 * std::fabs(want)) << what;
                    }
                    if (std::isnan(want_grad)) {
                        EXPECT_TRUE(std::isnan(dz[k])) << what;
                    } else if (std::isinf(want_grad) || want_grad == 0 || !std::isfinite(z)) {
                        EXPECT_EQ(dz[k], static_cast<float>(want_grad)) << what;
                    } else {
                        // act' is a sum of terms of order 1 + |z| (SiLU's and Hardswish's cancel near
                        // their zeros): float rounds each to about 6e-8 of that.
                        EXPECT_NEAR(dz[k], want_grad, 1e-6 * std::fabs(dy[k]) * (1 + std::fabs(z)) + kDenormMin) << what;
                    }
                }
        }
    // The signed zeros (z = fma(−0, 1, −0) = −0): ReLU gives +0, ReLU6 keeps −0 (std::max(−0, 0)
    // is −0), on every variant.
    const float neg_zero = -0.f;
    const double one = 1.0, minus_zero = -0.0;
    for (Isa isa : kernels::supported_isas()) {
        float out = 1;
        variant(isa).affine_activation(AffineActivation::ReLU, 1, 1, 0, 1, &neg_zero, &out, &one, &minus_zero);
        EXPECT_TRUE(out == 0 && !std::signbit(out)) << kernels::isa_name(isa);
        variant(isa).affine_activation(AffineActivation::ReLU6, 1, 1, 0, 1, &neg_zero, &out, &one, &minus_zero);
        EXPECT_TRUE(out == 0 && std::signbit(out)) << kernels::isa_name(isa);
    }
}

TEST(AffineActivationKernels, VariantsMatchScalar) {
    for (Isa isa : vector_isas())
        for (AffineActivation a : ACTIVATIONS)
            for (int64 n : LENGTHS) {
                const std::string what = std::string(kernels::isa_name(isa)) + " " + act_name(a) + " n=" + std::to_string(n);
                const std::vector<float> xv = inputs(kRows, n, 5 + n), dyv = inputs(kRows, n, 17 + n);
                std::vector<float> want(xv.size(), SENTINEL), want_grad(xv.size(), SENTINEL);
                const auto& ref = variant(Isa::Scalar);
                ref.affine_activation(a, kChannels, n, kLo, kHi, xv.data(), want.data(), SCALE, SHIFT);
                ref.affine_activation_grad(a, kChannels, n, kLo, kHi, xv.data(), SCALE, SHIFT, dyv.data(), want_grad.data());
                Unaligned x(xv), dy(dyv), y(kRows * n), dz(kRows * n);
                std::fill(y.data(), y.data() + kRows * n, SENTINEL);
                std::fill(dz.data(), dz.data() + kRows * n, SENTINEL);
                variant(isa).affine_activation(a, kChannels, n, kLo, kHi, x.data(), y.data(), SCALE, SHIFT);
                variant(isa).affine_activation_grad(a, kChannels, n, kLo, kHi, x.data(), SCALE, SHIFT, dy.data(), dz.data());
                for (int64 i = 0; i < kRows * n; ++i) {
                    expect_match(a, y[i], want[static_cast<std::size_t>(i)], what + " forward at " + std::to_string(i));
                    expect_match(a, dz[i], want_grad[static_cast<std::size_t>(i)], what + " gradient at " + std::to_string(i));
                }
                y.expect_guard(what);
                dz.expect_guard(what);
                // In place: y over x, dz over dy.
                variant(isa).affine_activation(a, kChannels, n, kLo, kHi, x.data(), x.data(), SCALE, SHIFT);
                variant(isa).affine_activation_grad(a, kChannels, n, kLo, kHi, xv.data(), SCALE, SHIFT, dy.data(), dy.data());
                for (int64 i = kLo * n; i < kHi * n; ++i) {
                    expect_match(a, x[i], y[i], what + " in place at " + std::to_string(i));
                    expect_match(a, dy[i], dz[i], what + " gradient in place at " + std::to_string(i));
                }
            }
}

TEST(BatchNormChannelKernels, SumsMatchFloat64OnEveryVariant) {
    // Rows of n values at a stride of n + 5 (a channel of [N, C, S]), the last row's n values ending the buffer.
    for (Isa isa : kernels::supported_isas())
        for (int64 n : LENGTHS)
            for (int64 rows : {1, 3, 8}) {
                const std::string what = std::string(kernels::isa_name(isa)) + " n=" + std::to_string(n) +
                                         " rows=" + std::to_string(rows);
                const int64 stride = n + 5, size = (rows - 1) * stride + n;
                const std::vector<float> dy = uniform(size, 7 + n, -2, 2), x = uniform(size, 9 + n, -3, 5);
                const float mean = 0.75f;
                double want_dy = 0, want_dyx = 0;
                for (int64 r = 0; r < rows; ++r)
                    for (int64 i = r * stride; i < r * stride + n; ++i) {
                        want_dy += dy[i];
                        want_dyx += static_cast<double>(dy[i]) * (static_cast<double>(x[i]) - mean);
                    }
                double sums[2] = {-1, -1};
                variant(isa).channel_grad_sums(rows, n, stride, dy.data(), x.data(), mean, sums);
                // Each term dy·(x − mean) is rounded to float once: 2^-24 of its size, over rows·n terms.
                const double tol = 1e-6 * static_cast<double>(rows * n) * 10;
                EXPECT_NEAR(sums[0], want_dy, 1e-9 * static_cast<double>(rows * n)) << what;
                EXPECT_NEAR(sums[1], want_dyx, tol) << what;
                variant(isa).channel_grad_sums(rows, n, stride, dy.data(), nullptr, mean, sums);
                EXPECT_NEAR(sums[0], want_dy, 1e-9 * static_cast<double>(rows * n)) << what << " without x";
                EXPECT_EQ(sums[1], 0.0) << what << " without x";
            }
}

TEST(BatchNormChannelKernels, InputGradientIsOneFmaChainOnEveryVariant) {
    for (Isa isa : kernels::supported_isas())
        for (int64 n : LENGTHS)
            for (bool with_x : {true, false}) {
                const std::string what = std::string(kernels::isa_name(isa)) + " n=" + std::to_string(n) +
                                         (with_x ? " training" : " eval");
                const int64 rows = 3, stride = n + 4, size = (rows - 1) * stride + n;
                const std::vector<float> dyv = inputs(1, size, 13 + n), xv = inputs(1, size, 19 + n);
                const float a = 1.3f, b = -0.27f, e = 0.011f;
                Unaligned dy(dyv), x(xv), dx(size);
                std::fill(dx.data(), dx.data() + size, SENTINEL);
                variant(isa).channel_grad(rows, n, stride, dy.data(), with_x ? x.data() : nullptr, a, b, e, dx.data());
                for (int64 i = 0; i < size; ++i) {
                    const std::string at = what + " at " + std::to_string(i);
                    if (i % stride >= n) {
                        ASSERT_EQ(dx[i], SENTINEL) << at << ": wrote between rows";
                        continue;
                    }
                    const float want = with_x ? std::fma(a, dyv[i], std::fma(b, xv[i], e)) : a * dyv[i];
                    expect_match(AffineActivation::None, dx[i], want, at);
                }
                dx.expect_guard(what);
            }
}
