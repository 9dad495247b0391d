// The float32 column reductions (kernels/vector: sum and squared deviations down the columns of
// a strided block, in double): every ISA variant this CPU runs against the scalar reference —
// sums bit for bit, squared deviations within 1e-14 — at row counts and widths around the vector
// widths and the eight-row step, from unaligned pointers with a row stride wider than the block and
// a guard after the end; the drivers against float64 and on one and two threads; then the ops
// (sum, mean, var, std over dims that are not last) against the permuted-copy path and float64,
// forward and backward.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "graft/graft.hpp"
#include "graft/testing/gradcheck.hpp"
#include "test_util.hpp"
#include "kernels/vector/vector.hpp"
#include "vector_test_util.hpp"

using namespace graft;
using namespace graft::test;

namespace {

// The kernels step eight rows at a time from 512 columns on, one row at a time below.
const std::vector<int64> WIDTHS = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 64, 65, 100, 511, 512, 529};
const std::vector<int64> ROW_COUNTS = {0, 1, 2, 3, 7, 8, 9, 13, 16, 17};
constexpr double kAccSentinel = 12345.5;

/// n doubles at 8 bytes past a 64-byte boundary, starting at `start` + j/8, then PAD sentinels.
struct Accumulators {
    Accumulators(int64 n, double start) : n(n), storage(static_cast<std::size_t>(n + PAD + 8), kAccSentinel) {
        const auto addr = reinterpret_cast<std::uintptr_t>(storage.data());
        offset = ((64 - addr % 64) % 64) / sizeof(double) + 1;
        for (int64 j = 0; j < n; ++j)
            data()[j] = start + static_cast<double>(j) / 8;
    }
    double* data() { return storage.data() + offset; }
    std::vector<double> values() { return {data(), data() + n}; }
    void expect_guard(const std::string& what) {
        for (int64 j = n; j < n + PAD; ++j)
            ASSERT_EQ(data()[j], kAccSentinel) << what << ": wrote past n at " << j;
    }
    int64 n;
    std::vector<double> storage;
    std::size_t offset = 0;
};

/// Restores the active ISA and the thread count when the scope ends.
struct Restore {
    ~Restore() {
        kernels::set_active_isa(isa);
        set_num_threads(threads);
    }
    Isa isa = kernels::active_isa();
    int threads = get_num_threads();
};

}  // namespace

TEST(ColumnKernels, VariantsMatchScalar) {
    if (vector_isas().empty())
        GTEST_SKIP() << "this CPU runs only the scalar variant";
    for (Isa isa : vector_isas())
        for (int64 rows : ROW_COUNTS)
            for (int64 n : WIDTHS)
                for (bool eight_rows : {false, true}) {
                    const std::string what = std::string(kernels::isa_name(isa)) + " rows=" + std::to_string(rows) +
                                             " n=" + std::to_string(n) + (eight_rows ? " eight rows a step" : "");
                    const int64 stride = n + 3;
                    std::vector<float> xv = uniform(rows * stride, 5 + rows * 131 + n, -50, 50);
                    for (std::size_t i = 0; i < xv.size(); i += 3)
                        xv[i] += 1e4f;  // large and small terms mixed
                    Unaligned x(xv);
                    const std::vector<double> meanv = [&] {
                        std::vector<double> m(static_cast<std::size_t>(n));
                        for (int64 j = 0; j < n; ++j)
                            m[static_cast<std::size_t>(j)] = 3000.0 + 0.37 * static_cast<double>(j);
                        return m;
                    }();
                    Accumulators want(n, -2.5), got(n, -2.5), want_sq(n, 1.0), got_sq(n, 1.0);
                    variant(Isa::Scalar).sum_columns(rows, n, stride, x.data(), want.data(), false);
                    variant(isa).sum_columns(rows, n, stride, x.data(), got.data(), eight_rows);
                    EXPECT_EQ(got.values(), want.values()) << what << ": sums differ from the scalar reference's bits";
                    variant(Isa::Scalar).squared_deviation_columns(rows, n, stride, x.data(), meanv.data(), want_sq.data(),
                                                                   false);
                    variant(isa).squared_deviation_columns(rows, n, stride, x.data(), meanv.data(), got_sq.data(),
                                                           eight_rows);
                    for (int64 j = 0; j < n; ++j)
                        EXPECT_NEAR(got_sq.data()[j], want_sq.data()[j], 1e-14 * want_sq.data()[j])
                            << what << " column " << j;
                    got.expect_guard(what);
                    got_sq.expect_guard(what + " squared");
                }
}

TEST(ColumnKernels, SpecialValuesPropagatePerColumn) {
    for (Isa isa : kernels::supported_isas())
        for (bool eight_rows : {false, true}) {
            const std::string what = std::string(kernels::isa_name(isa)) + (eight_rows ? " eight rows a step" : "");
            const int64 rows = 11, n = 19;
            std::vector<float> xv(static_cast<std::size_t>(rows * n), 1.f);
            xv[2 * n + 3] = kNaN;
            xv[5 * n + 17] = kInf;   // a column in the tail
            xv[9 * n + 16] = -kInf;  // a row past the eight-row step
            xv[1 * n + 18] = 3.4e38f;
            xv[4 * n + 18] = 3.4e38f;  // 6.8e38 overflows float, not the double sum
            Accumulators acc(n, 0.0);
            for (int64 j = 0; j < n; ++j)
                acc.data()[j] = 0;
            variant(isa).sum_columns(rows, n, n, xv.data(), acc.data(), eight_rows);
            for (int64 j = 0; j < n; ++j) {
                if (j == 3)
                    EXPECT_TRUE(std::isnan(acc.data()[j])) << what;
                else if (j == 17)
                    EXPECT_EQ(acc.data()[j], INFINITY) << what;
                else if (j == 16)
                    EXPECT_EQ(acc.data()[j], -INFINITY) << what;
                else if (j == 18)
                    EXPECT_EQ(acc.data()[j], 2 * double(3.4e38f)) << what;  // the 1s are below its last digit
                else
                    EXPECT_EQ(acc.data()[j], 11.0) << what << " column " << j;
            }
        }
}

// The drivers on [outer, rows, n] against a float64 loop, and the same bits on one and two threads
// at sizes past the threshold where they go parallel (one slice: the columns are split; several:
// the slices are); [2048, 768] and [3000, 700] split into blocks below 512 columns at two threads,
// read eight rows a step (an array of at most 8 MiB) and one (a larger one).
TEST(ColumnKernels, DriversMatchFloat64AndGiveTheSameBitsOnOneAndTwoThreads) {
    const Restore restore;
    struct Case {
        int64 outer, rows, n;
    };
    for (Case c : {Case{1, 2100, 1030}, Case{3, 700, 1025}, Case{5, 3, 33}, Case{2, 0, 7}, Case{1, 4, 5000}, Case{1, 2048, 768},
                   Case{1, 3000, 700}}) {
        const std::string what = shape_str({c.outer, c.rows, c.n});
        const std::vector<float> x = uniform(c.outer * c.rows * c.n, 11, -4, 4);
        const auto results = static_cast<std::size_t>(c.outer * c.n);
        std::vector<double> want(results, 0.0), want_sq(results, 0.0), mean(results);
        for (int64 o = 0; o < c.outer; ++o)
            for (int64 r = 0; r < c.rows; ++r)
                for (int64 j = 0; j < c.n; ++j)
                    want[static_cast<std::size_t>(o * c.n + j)] +=
                        x[static_cast<std::size_t>((o * c.rows + r) * c.n + j)];
        for (std::size_t k = 0; k < results; ++k)
            mean[k] = want[k] / std::max<double>(1, static_cast<double>(c.rows));
        for (int64 o = 0; o < c.outer; ++o)
            for (int64 r = 0; r < c.rows; ++r)
                for (int64 j = 0; j < c.n; ++j) {
                    const std::size_t k = static_cast<std::size_t>(o * c.n + j);
                    const double d = x[static_cast<std::size_t>((o * c.rows + r) * c.n + j)] - mean[k];
                    want_sq[k] += d * d;
                }
        for (Isa isa : kernels::supported_isas()) {
            kernels::set_active_isa(isa);
            std::vector<std::vector<double>> sums, squares;
            for (int threads : {1, 2}) {
                set_num_threads(threads);
                std::vector<double> s(results, -1.0), q(results, -1.0);
                kernels::sum_columns(c.outer, c.rows, c.n, x.data(), s.data());
                kernels::squared_deviation_columns(c.outer, c.rows, c.n, x.data(), mean.data(), q.data());
                sums.push_back(s);
                squares.push_back(q);
            }
            const std::string at = what + " " + kernels::isa_name(isa);
            EXPECT_EQ(sums[0], sums[1]) << at;
            EXPECT_EQ(squares[0], squares[1]) << at;
            for (std::size_t k = 0; k < results; ++k) {
                EXPECT_NEAR(sums[0][k], want[k], 1e-9) << at << " result " << k;
                EXPECT_NEAR(squares[0][k], want_sq[k], 1e-12 * std::max(1.0, want_sq[k])) << at << " result " << k;
            }
        }
    }
}

// ---- the ops: sum, mean, var, std over dims that are not last ----------------------------------

namespace {

/// The same reduction through a permuted copy with the reduced dims last (the generic layout).
Tensor via_permuted_copy(const Tensor& x, const std::vector<std::int64_t>& dims,
                         const std::function<Tensor(const Tensor&, const std::vector<std::int64_t>&)>& f) {
    std::vector<std::int64_t> perm, last;
    for (std::int64_t d = 0; d < x.dim(); ++d)
        if (std::find(dims.begin(), dims.end(), d) == dims.end())
            perm.push_back(d);
    for (std::int64_t d = 0; d < x.dim(); ++d)
        if (std::find(dims.begin(), dims.end(), d) != dims.end()) {
            perm.push_back(d);
            last.push_back(static_cast<std::int64_t>(perm.size()) - 1);
        }
    return f(x.permute(perm).contiguous(), last);
}

void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
    ASSERT_EQ(got.shape(), want.shape()) << what;
    const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
    for (std::size_t i = 0; i < g.size(); ++i) {
        if (std::isnan(w[i]))  // var of one element: 0/0
            ASSERT_TRUE(std::isnan(g[i])) << what << " element " << i;
        else
            ASSERT_NEAR(g[i], w[i], tol * std::max(1.0, std::fabs(w[i]))) << what << " element " << i;
    }
}

struct DimCase {
    Shape shape;
    std::vector<std::int64_t> dims;
};

/// Columns ([N, D] over 0, a middle block), rows then columns (NCHW over 0, 2, 3), size-1 dims
/// in between, and the layouts that keep the copy (two separate blocks, reduced dims last).
const std::vector<DimCase> DIM_CASES = {
    {{37, 45}, {0}},
    {{4, 33, 17}, {1}},
    {{3, 5, 7, 11}, {1, 2}},
    {{6, 5, 4, 9}, {0, 2, 3}},
    {{5, 6, 1, 7}, {0, 2, 3}},
    {{2, 1, 9, 3}, {0, 2}},
    {{3, 4, 5, 6}, {0, 2}},
    {{7, 9, 2}, {0, 1}},
    {{8, 31}, {1}},
    {{1, 40}, {0}},
    {{40, 1}, {0}},
    {{2, 3, 4, 5, 6}, {1, 3}},
};

std::string case_name(const DimCase& c) {
    std::string s = shape_str(c.shape) + " over {";
    for (std::int64_t d : c.dims)
        s += std::to_string(d) + ",";
    return s + "}";
}

}  // namespace

TEST(ColumnReductionsInOps, SumMeanVarStdMatchThePermutedCopyAndFloat64) {
    const Restore restore;
    for (Isa isa : kernels::supported_isas()) {
        kernels::set_active_isa(isa);
        for (const DimCase& c : DIM_CASES) {
            const std::string what = std::string(kernels::isa_name(isa)) + " " + case_name(c);
            Generator g(21);
            const Tensor x64 = add(mul(randn(c.shape, DType::Float64, &g), 3.0), 500.0);  // offset: two-pass var
            const Tensor x32 = x64.to(DType::Float32), x32_as64 = x32.to(DType::Float64);
            for (bool keepdim : {false, true}) {
                const std::string at = what + (keepdim ? " keepdim" : "");
                using Dims = std::vector<std::int64_t>;
                const auto s = [&](const Tensor& t, const Dims& d) { return sum(t, d, keepdim); };
                const auto m = [&](const Tensor& t, const Dims& d) { return mean(t, d, keepdim); };
                const auto v = [&](const Tensor& t, const Dims& d) { return var(t, d, 1, keepdim); };
                const auto sd = [&](const Tensor& t, const Dims& d) { return graft::std(t, d, 0, keepdim); };
                for (auto [name, f, tol] :
                     {std::tuple{"sum", std::function(s), 1e-6}, std::tuple{"mean", std::function(m), 1e-6},
                      std::tuple{"var", std::function(v), 2e-6}, std::tuple{"std", std::function(sd), 2e-6}}) {
                    const Tensor got = f(x32, c.dims);
                    EXPECT_EQ(got.dtype(), DType::Float32) << at;
                    expect_close(got, f(x32_as64, c.dims), tol, at + " " + name + " vs float64");
                    if (keepdim)
                        continue;  // the permuted copy's shape has the kept dims first
                    expect_close(got, via_permuted_copy(x32, c.dims, f), tol,
                                 at + " " + name + " vs the permuted copy");
                }
            }
        }
    }
}

TEST(ColumnReductionsInOps, GradientsMatchFloat64) {
    const Restore restore;
    for (Isa isa : kernels::supported_isas()) {
        kernels::set_active_isa(isa);
        for (const DimCase& c : DIM_CASES) {
            const std::string what = std::string(kernels::isa_name(isa)) + " " + case_name(c);
            Generator g(22);
            const Tensor base = randn(c.shape, DType::Float64, &g);
            for (int which = 0; which < 4; ++which) {
                Tensor x32 = base.to(DType::Float32).requires_grad_();
                Tensor x64 = x32.detach().to(DType::Float64).requires_grad_();
                auto f = [&](const Tensor& t) {
                    switch (which) {
                        case 0:
                            return sum(t, c.dims);
                        case 1:
                            return mean(t, c.dims, true);
                        case 2:
                            return var(t, c.dims);
                        default:
                            return graft::std(t, c.dims);
                    }
                };
                const Tensor y32 = f(x32), y64 = f(x64);
                Generator gw(23);
                const Tensor w = randn(y64.shape(), DType::Float64, &gw);
                sum(mul(y32, w.to(DType::Float32))).backward();
                sum(mul(y64, w)).backward();
                expect_close(x32.grad(), x64.grad(), 2e-5, what + " op " + std::to_string(which) + " gradient");
            }
        }
    }
    // The float64 gradients themselves, by finite differences, over the same layouts.
    for (const DimCase& c : {DIM_CASES[0], DIM_CASES[3]}) {
        Generator g(24);
        const Tensor x = randn(c.shape, DType::Float64, &g).requires_grad_();
        for (auto f : {+[](const Tensor&t, const std::vector<std::int64_t>&d) { return mean(t, d); },
                       +[](const Tensor&t, const std::vector<std::int64_t>&d) { return graft::std(t, d); }}) {
            const auto r =
                graft::testing::gradcheck([&](const std::vector<Tensor>& in) { return f(in[0], c.dims); }, {x});
            EXPECT_TRUE(r.ok) << case_name(c) << ": " << r.message;
        }
    }
}

TEST(ColumnReductionsInOps, SameBitsOnOneAndTwoThreads) {
    const Restore restore;
    Generator g(25);
    // 2.4 M and 2.2 M elements: past the size where the column and row drivers go parallel.
    const Tensor a = randn({4096, 600}, DType::Float32, &g), b = randn({8, 3, 300, 301}, DType::Float32, &g);
    std::vector<std::vector<float>> outs[2];
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        auto& o = outs[threads - 1];
        o.push_back(mean(a, {0}).to_vector<float>());
        o.push_back(var(a, {0}).to_vector<float>());
        o.push_back(sum(b, {0, 2, 3}).to_vector<float>());
        o.push_back(graft::std(b, {2}).to_vector<float>());
        o.push_back(var(b, {0, 2, 3}).to_vector<float>());
    }
    for (std::size_t k = 0; k < outs[0].size(); ++k)
        EXPECT_EQ(outs[0][k], outs[1][k]) << "result " << k;
}
