// The float32 binary arithmetic kernels (kernels/vector, add/sub/mul/div): every ISA variant this
// CPU runs against the scalar reference — same-shape arrays, an array and a scalar in both
// orders, row-vector bias rows — at lengths around the vector widths from unaligned pointers
// with a guard after the end, and on special values; then the ops (add, sub, mul, div on
// float32), whose results on the fast-path layouts and on other broadcasts must equal the C++
// float operation bit for bit.
#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "graft/graft.hpp"
#include "test_util.hpp"
#include "kernels/vector/vector.hpp"
#include "vector_test_util.hpp"

using namespace graft;
using namespace graft::test;
using kernels::BinaryOp;

namespace {

const std::vector<int64> SIZES = {0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 1000};
const BinaryOp BINARY_OPS[] = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div};
const float SPECIALS[] = {kInf, -kInf, kNaN, 0.f, -0.f, kDenormMin, -kDenormMin, 1e-40f, -3e-39f,
                          1.f, -2.5f, 3.4e38f, -3.4e38f, 1.17549435e-38f};

const char* op_name(BinaryOp op) {
    switch (op) {
        case BinaryOp::Add: return "add";
        case BinaryOp::Sub: return "sub";
        case BinaryOp::Mul: return "mul";
        case BinaryOp::Div: return "div";
    }
    return "?";
}

float apply(BinaryOp op, float a, float b) {
    switch (op) {
        case BinaryOp::Add: return a + b;
        case BinaryOp::Sub: return a - b;
        case BinaryOp::Mul: return a * b;
        case BinaryOp::Div: return a / b;
    }
    return 0;
}

/// Equal bits, or both NaN (a NaN's payload is not part of the contract).
void expect_same(float got, float want, const std::string& what) {
    if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got)) << what << ": got " << got << ", want NaN";
    } else {
        EXPECT_EQ(std::bit_cast<std::uint32_t>(got), std::bit_cast<std::uint32_t>(want))
            << what << ": got " << got << ", want " << want;
    }
}

/// n values in [−4, 4) with a few specials scattered in, so every variant meets them at every lane.
std::vector<float> with_specials(int64 n, std::uint64_t seed) {
    std::vector<float> v = uniform(n, seed, -4, 4);
    for (int64 i = static_cast<int64>(seed % 5); i < n; i += 11)
        v[static_cast<std::size_t>(i)] = SPECIALS[static_cast<std::size_t>(i + static_cast<int64>(seed)) % std::size(SPECIALS)];
    return v;
}

TEST(BinaryKernels, SameShapeVariantsMatchScalar) {
    std::vector<Isa> isas = vector_isas();
    isas.insert(isas.begin(), Isa::Scalar);  // the scalar reference against the C++ operation too
    for (Isa isa : isas)
        for (BinaryOp op : BINARY_OPS)
            for (int64 n : SIZES) {
                const std::string what = std::string(kernels::isa_name(isa)) + " " + op_name(op) + " n=" + std::to_string(n);
                Unaligned a(with_specials(n, 3 + n)), b(with_specials(n, 8 + n)), got(n);
                variant(isa).binary(op, n, a.data(), b.data(), got.data());
                for (int64 i = 0; i < n; ++i) expect_same(got[i], apply(op, a[i], b[i]), what + " at " + std::to_string(i));
                got.expect_guard(what);
                variant(isa).binary(op, n, a.data(), b.data(), a.data());  // in place
                for (int64 i = 0; i < n; ++i) expect_same(a[i], got[i], what + " in place at " + std::to_string(i));
            }
}

TEST(BinaryKernels, ScalarOperandVariantsMatchScalarBothOrders) {
    std::vector<Isa> isas = vector_isas();
    isas.insert(isas.begin(), Isa::Scalar);
    for (Isa isa : isas)
        for (BinaryOp op : BINARY_OPS)
            for (float s : {-1.75f, 3.f, 0.f, -0.f, kInf, kNaN, kDenormMin})
                for (bool scalar_first : {false, true})
                    for (int64 n : SIZES) {
                        const std::string what = std::string(kernels::isa_name(isa)) + " " + op_name(op) + " s=" +
                                                 std::to_string(s) + (scalar_first ? " s op a" : " a op s") +
                                                 " n=" + std::to_string(n);
                        Unaligned a(with_specials(n, 5 + n)), got(n);
                        variant(isa).binary_scalar(op, n, a.data(), s, scalar_first, got.data());
                        for (int64 i = 0; i < n; ++i)
                            expect_same(got[i], scalar_first ? apply(op, s, a[i]) : apply(op, a[i], s),
                                        what + " at " + std::to_string(i));
                        got.expect_guard(what);
                    }
}

TEST(BinaryKernels, SpecialValuesPropagateLikeScalarOps) {
    // Every pair of specials, the pairs laid out so each lands in full vectors and in tails.
    std::vector<float> av, bv;
    for (float x : SPECIALS)
        for (float y : SPECIALS) {
            av.push_back(x);
            bv.push_back(y);
        }
    const int64 n = static_cast<int64>(av.size());
    std::vector<Isa> isas = vector_isas();
    isas.insert(isas.begin(), Isa::Scalar);
    for (Isa isa : isas)
        for (BinaryOp op : BINARY_OPS) {
            Unaligned a(av), b(bv), got(n);
            variant(isa).binary(op, n, a.data(), b.data(), got.data());
            for (int64 i = 0; i < n; ++i)
                expect_same(got[i], apply(op, a[i], b[i]),
                            std::string(kernels::isa_name(isa)) + " " + std::to_string(a[i]) + " " + op_name(op) + " " +
                                std::to_string(b[i]));
            got.expect_guard(op_name(op));
        }
}

TEST(BinaryKernels, RowsDriverBroadcastsEitherOperandOnEveryVariant) {
    const Isa saved = kernels::active_isa();
    for (Isa isa : kernels::supported_isas()) {
        kernels::set_active_isa(isa);
        for (BinaryOp op : BINARY_OPS)
            for (int64 n : SIZES)
                for (bool bias_first : {false, true}) {
                    const int64 rows = 3;
                    const std::string what = std::string(kernels::isa_name(isa)) + " " + op_name(op) + " n=" +
                                             std::to_string(n) + (bias_first ? " bias op x" : " x op bias");
                    Unaligned x(with_specials(rows * n, 2 + n)), bias(with_specials(n, 9 + n)), got(rows * n);
                    if (bias_first)
                        kernels::binary_rows(op, rows, n, bias.data(), 0, x.data(), n, got.data());
                    else
                        kernels::binary_rows(op, rows, n, x.data(), n, bias.data(), 0, got.data());
                    for (int64 r = 0; r < rows; ++r)
                        for (int64 j = 0; j < n; ++j) {
                            const float xv = x[r * n + j], bv = bias[j];
                            expect_same(got[r * n + j], bias_first ? apply(op, bv, xv) : apply(op, xv, bv),
                                        what + " at " + std::to_string(r) + "," + std::to_string(j));
                        }
                    got.expect_guard(what);
                }
    }
    kernels::set_active_isa(saved);
}

TEST(BinaryKernels, DriversGiveTheSameBitsOnOneAndTwoThreads) {
    const int64 n = (int64{1} << 21) + 37;  // past the memory-bound kernels' parallel threshold
    const std::vector<float> av = uniform(n, 1, -4, 4), bv = uniform(n, 2, 0.5, 4);
    const int saved = get_num_threads();
    std::vector<float> one(static_cast<std::size_t>(n)), two(one.size()), one_s(one.size()), two_s(one.size());
    set_num_threads(1);
    kernels::binary(BinaryOp::Div, n, av.data(), bv.data(), one.data());
    kernels::binary_scalar(BinaryOp::Sub, n, av.data(), 0.3f, true, one_s.data());
    set_num_threads(2);
    kernels::binary(BinaryOp::Div, n, av.data(), bv.data(), two.data());
    kernels::binary_scalar(BinaryOp::Sub, n, av.data(), 0.3f, true, two_s.data());
    set_num_threads(saved);
    for (int64 i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        ASSERT_EQ(one[k], av[k] / bv[k]) << i;
        ASSERT_EQ(two[k], one[k]) << i;
        ASSERT_EQ(one_s[k], 0.3f - av[k]) << i;
        ASSERT_EQ(two_s[k], one_s[k]) << i;
    }
}

// ---- the ops --------------------------------------------------------------------------------

/// The broadcast result of a op b computed one C++ float operation at a time.
std::vector<float> reference(BinaryOp op, const Tensor& a, const Tensor& b, const Shape& out_shape) {
    const Tensor ac = a.contiguous(), bc = b.contiguous();
    const std::vector<float> av = ac.to_vector<float>(), bv = bc.to_vector<float>();
    const auto dims = static_cast<int64>(out_shape.size());
    std::vector<float> out(static_cast<std::size_t>(shape_numel(out_shape)));
    for (int64 flat = 0; flat < static_cast<int64>(out.size()); ++flat) {
        int64 rest = flat, ia = 0, ib = 0, sa = 1, sb = 1;
        for (int64 d = dims - 1; d >= 0; --d) {
            const int64 idx = rest % out_shape[static_cast<std::size_t>(d)];
            rest /= out_shape[static_cast<std::size_t>(d)];
            const int64 da = d - (dims - a.dim()), db = d - (dims - b.dim());
            if (da >= 0) {
                const int64 size = a.shape()[static_cast<std::size_t>(da)];
                ia += (size == 1 ? 0 : idx) * sa;
                sa *= size;
            }
            if (db >= 0) {
                const int64 size = b.shape()[static_cast<std::size_t>(db)];
                ib += (size == 1 ? 0 : idx) * sb;
                sb *= size;
            }
        }
        out[static_cast<std::size_t>(flat)] = apply(op, av[static_cast<std::size_t>(ia)], bv[static_cast<std::size_t>(ib)]);
    }
    return out;
}

Tensor run_op(BinaryOp op, const Tensor& a, const Tensor& b) {
    switch (op) {
        case BinaryOp::Add: return add(a, b);
        case BinaryOp::Sub: return sub(a, b);
        case BinaryOp::Mul: return mul(a, b);
        case BinaryOp::Div: return div(a, b);
    }
    return {};
}

Tensor f32(const Shape& shape, std::uint64_t seed) {
    return from_vector(with_specials(shape_numel(shape), seed), shape);
}

void expect_op_matches(const Tensor& a, const Tensor& b, const Shape& want_shape, const std::string& layout) {
    for (BinaryOp op : BINARY_OPS) {
        const std::string what = std::string(op_name(op)) + " " + layout + " " + shape_str(a.shape()) + " op " +
                                 shape_str(b.shape());
        const Tensor out = run_op(op, a, b);
        ASSERT_EQ(out.shape(), want_shape) << what;
        ASSERT_EQ(out.dtype(), DType::Float32) << what;
        const std::vector<float> got = out.to_vector<float>(), want = reference(op, a, b, want_shape);
        for (std::size_t i = 0; i < want.size(); ++i) expect_same(got[i], want[i], what + " at " + std::to_string(i));
    }
}

TEST(BinaryOps, Float32FastPathLayoutsEqualCppOperations) {
    expect_op_matches(f32({5, 37}, 1), f32({5, 37}, 2), {5, 37}, "same shape");
    expect_op_matches(f32({1000}, 3), f32({1000}, 4), {1000}, "same shape");
    expect_op_matches(f32({4, 33}, 5), scalar_tensor(-1.25), {4, 33}, "scalar second");
    expect_op_matches(scalar_tensor(2.5), f32({4, 33}, 6), {4, 33}, "scalar first");
    expect_op_matches(f32({1, 1}, 7), f32({3, 17}, 8), {3, 17}, "one-element first");
    expect_op_matches(f32({17}, 9), f32({1, 1, 1}, 10), {1, 1, 17}, "one-element second, more dims");
    expect_op_matches(f32({6, 37}, 11), f32({37}, 12), {6, 37}, "row bias second");
    expect_op_matches(f32({37}, 13), f32({6, 37}, 14), {6, 37}, "row bias first");
    expect_op_matches(f32({2, 3, 19}, 15), f32({1, 3, 19}, 16), {2, 3, 19}, "trailing block bias");
    expect_op_matches(f32({4, 9}, 17), f32({1, 1, 9}, 18), {1, 4, 9}, "bias with more dims");
    for (float s : {0.5f, -3.f}) {  // the double overloads round the scalar to float first
        const Tensor a = f32({3, 21}, 19);
        const std::vector<float> av = a.to_vector<float>();
        const std::vector<float> m = mul(a, static_cast<double>(s)).to_vector<float>(),
                                 d = rdiv(a, static_cast<double>(s)).to_vector<float>();
        for (std::size_t i = 0; i < av.size(); ++i) {
            expect_same(m[i], av[i] * s, "mul(a, double) at " + std::to_string(i));
            expect_same(d[i], s / av[i], "rdiv(a, double) at " + std::to_string(i));
        }
    }
}

TEST(BinaryOps, Float32OtherLayoutsStillBroadcast) {
    expect_op_matches(f32({4, 1}, 21), f32({1, 5}, 22), {4, 5}, "outer broadcast");
    expect_op_matches(f32({3, 4, 5}, 23), f32({3, 1, 5}, 24), {3, 4, 5}, "middle broadcast");
    expect_op_matches(f32({6, 1}, 25), f32({6, 7}, 26), {6, 7}, "column bias");
    expect_op_matches(f32({7, 6}, 27).t(), f32({6, 7}, 28), {6, 7}, "transposed operand");
    expect_op_matches(f32({6, 7}, 29), f32({7, 12}, 30).narrow(1, 2, 6).t(), {6, 7}, "strided bias");
    expect_op_matches(f32({0, 5}, 31), f32({5}, 32), {0, 5}, "zero rows");
    // alpha ≠ 1 is computed in double (x + alpha·y rounded once), not by the float kernels.
    const Tensor a = f32({3, 8}, 33), b = f32({8}, 34);
    const std::vector<float> av = a.to_vector<float>(), bv = b.to_vector<float>(),
                             got = add(a, b, 0.1).to_vector<float>();
    for (std::size_t i = 0; i < got.size(); ++i)
        expect_same(got[i], static_cast<float>(av[i] + 0.1 * bv[i % 8]), "add alpha at " + std::to_string(i));
}

TEST(BinaryOps, Float32FastPathGradientsUnchanged) {
    Tensor x = from_vector(uniform(15, 35, 1, 3), {3, 5}), bias = from_vector(uniform(5, 36, 1, 3), {5});
    x.requires_grad_();
    bias.requires_grad_();
    sum(div(mul(add(x, bias), 2.0), bias)).backward();
    // d/dx Σ 2(x + b)/b = 2/b; d/db_j Σ_r 2(x + b)/b = Σ_r −2x_rj/b_j².
    const std::vector<float> gx = x.grad().to_vector<float>(), gb = bias.grad().to_vector<float>(),
                             xv = x.to_vector<float>(), bv = bias.to_vector<float>();
    for (std::size_t r = 0; r < 3; ++r)
        for (std::size_t j = 0; j < 5; ++j) EXPECT_NEAR(gx[r * 5 + j], 2.f / bv[j], 1e-6) << r << "," << j;
    for (std::size_t j = 0; j < 5; ++j) {
        double want = 0;
        for (std::size_t r = 0; r < 3; ++r) want += -2.0 * xv[r * 5 + j] / (double(bv[j]) * bv[j]);
        EXPECT_NEAR(gb[j], want, 1e-5 * std::max(1.0, std::abs(want))) << j;
    }
}

}  // namespace
