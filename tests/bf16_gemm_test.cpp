// The bf16 GEMM (kernels/gemm/bf16_gemm.hpp) on every variant this CPU runs (the AVX512_BF16 pair
// kernel and the via_f32 path of each ISA), against a float64 oracle: tightly against the exact
// product of the bf16-rounded operands (only fp32 summation error is allowed, so a misplaced pair
// or a wrong rounding shows), and within the bf16 bound of the float32 operands. Odd shapes (M, N,
// K not multiples of the tile, K odd), transposed and strided operands, more lines than one
// packing pass, bf16-bit sources (in place and converted), alpha/beta/bias/activation, 1 and 2
// threads; the fp32 → bf16 rounding (ties to even, NaN and ±Inf kept); sgemm routed to bf16 by
// the GEMM precision, also inside a parallel region's workers.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "graft/dtype.hpp"
#include "graft/random.hpp"
#include "graft/runtime.hpp"
#include "kernels/cpu/gemm_precision.hpp"
#include "kernels/cpu/parallel.hpp"
#include "kernels/gemm/bf16_gemm.hpp"
#include "gemm_epilogue_reference.hpp"
#include "test_util.hpp"

using namespace graft;
using kernels::Activation;
using kernels::Bf16GemmVariant;
using kernels::Bf16Operand;
using kernels::int64;

namespace {

float bf16_round(float f) { return std::bit_cast<float>(std::uint32_t{kernels::round_to_bf16(f)} << 16); }

/// A rows×cols matrix at any strides (row- or column-major, padded; with spread > 1 neither
/// stride is 1: the elements of a row or column are `spread` apart).
struct Mat {
    int64 rows, cols, rs, cs;
    std::vector<float> data;
    Mat(int64 m, int64 n, bool col_major, std::uint64_t seed, float scale, int64 spread = 1) : rows(m), cols(n) {
        rs = (col_major ? 1 : n + 2) * spread;
        cs = (col_major ? m + 2 : 1) * spread;
        const int64 size = (col_major ? n * (m + 2) : m * (n + 2)) * spread;
        data.assign(static_cast<std::size_t>(std::max<int64>(1, size)), 0.f);
        Generator g(seed);
        for (int64 i = 0; i < m; ++i)
            for (int64 j = 0; j < n; ++j) at(i, j) = static_cast<float>((g.uniform() * 2 - 1) * scale);
    }
    float& at(int64 i, int64 j) { return data[static_cast<std::size_t>(i * rs + j * cs)]; }
    float at(int64 i, int64 j) const { return data[static_cast<std::size_t>(i * rs + j * cs)]; }
    std::vector<std::uint16_t> bits() const {
        std::vector<std::uint16_t> out(data.size());
        for (std::size_t k = 0; k < data.size(); ++k) out[k] = kernels::round_to_bf16(data[k]);
        return out;
    }
};

struct Case {
    int64 M, N, K;
    bool trans_a = false, trans_b = false;
    float alpha = 1.f, beta = 0.f;
    bool bias = false;
    Activation act = Activation::None;
    bool bf16_a = false, bf16_b = false;  // operands given as bf16 bits
    float scale = 1.f;
    int64 spread = 1;  // Mat's spread of A and B

    std::string describe(const Bf16GemmVariant& v) const {
        return std::string(v.name) + " M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" +
               std::to_string(K) + (trans_a ? " Aᵀ" : "") + (trans_b ? " Bᵀ" : "") + (bf16_a ? " bf16 A" : "") +
               (bf16_b ? " bf16 B" : "") + " alpha=" + std::to_string(alpha) + " beta=" + std::to_string(beta) +
               (bias ? " bias" : "") + " act=" + std::to_string(static_cast<int>(act)) +
               (spread > 1 ? " spread=" + std::to_string(spread) : "");
    }

    /// Runs the variant on `threads` threads and checks C; returns C.
    std::vector<float> check(const Bf16GemmVariant& v, int threads) const {
        const Mat A(M, K, trans_a, 11, scale, spread), B(K, N, trans_b, 12, scale, spread);
        Mat C(M, N, false, 13, 1.f);
        const std::vector<std::uint16_t> a_bits = A.bits(), b_bits = B.bits();
        std::vector<float> bias_v(static_cast<std::size_t>(N));
        for (int64 j = 0; j < N; ++j) bias_v[static_cast<std::size_t>(j)] = 0.125f * static_cast<float>(j % 5) - 0.25f;
        const Mat C0 = C;
        set_num_threads(threads);
        kernels::bf16_gemm(v, M, N, K, alpha,
                           bf16_a ? Bf16Operand::of(a_bits.data(), A.rs, A.cs) : Bf16Operand::of(A.data.data(), A.rs, A.cs),
                           bf16_b ? Bf16Operand::of(b_bits.data(), B.rs, B.cs) : Bf16Operand::of(B.data.data(), B.rs, B.cs),
                           beta, C.data.data(), C.rs, C.cs, {bias ? bias_v.data() : nullptr, act});
        for (int64 i = 0; i < M; ++i)
            for (int64 j = 0; j < N; ++j) {
                double rounded = 0, exact = 0, magnitude = 0;
                for (int64 p = 0; p < K; ++p) {
                    rounded += double(bf16_round(A.at(i, p))) * double(bf16_round(B.at(p, j)));
                    exact += double(A.at(i, p)) * double(B.at(p, j));
                    magnitude += std::abs(double(A.at(i, p)) * double(B.at(p, j)));
                }
                const double tail = (beta != 0.f ? beta * double(C0.at(i, j)) : 0.0) +
                                    (bias ? bias_v[static_cast<std::size_t>(j)] : 0.0);
                const double got = C.at(i, j);
                // fp32 summation of K products (a relative 2⁻²⁴ per addition) plus the epilogue's
                // own rounding and its activation approximations.
                const double sum_tol = 1e-5 + 4.0 * double(K) * 0x1p-24 * std::abs(alpha) * magnitude;
                EXPECT_NEAR(got, test::reference_activation(alpha * rounded + tail, act), sum_tol + 1e-5 * std::abs(got))
                    << describe(v) << " at " << i << "," << j;
                // Against the float32 operands: each product carries both inputs' rounding, 2⁻⁸
                // relative each (8 significant bits), so (1 + 2⁻⁸)² − 1 < 1.01·2⁻⁷ relative.
                const double bf16_tol = sum_tol + 1.01 * 0x1p-7 * std::abs(alpha) * magnitude;
                EXPECT_NEAR(got, test::reference_activation(alpha * exact + tail, act), bf16_tol + 1e-5 * std::abs(got))
                    << describe(v) << " (float32 operands) at " << i << "," << j;
                if (::testing::Test::HasFailure()) return C.data;
            }
        return C.data;
    }

    void check_all() const {
        for (const Bf16GemmVariant* v : kernels::bf16_gemm_variants()) {
            const std::vector<float> one = check(*v, 1), two = check(*v, 2);
            EXPECT_TRUE(one == two) << describe(*v) << ": 1 and 2 threads differ";
        }
    }

    /// check_all with A and B each row- and column-major.
    void check_all_layouts() const {
        for (int layout = 0; layout < 4; ++layout) {
            Case c = *this;
            c.trans_a = layout & 1;
            c.trans_b = layout & 2;
            c.check_all();
        }
    }
};

class Bf16Gemm : public ::testing::Test {
protected:
    void SetUp() override { saved_threads_ = get_num_threads(); }
    void TearDown() override { set_num_threads(saved_threads_); }

private:
    int saved_threads_ = 1;
};

TEST(Bf16Rounding, TiesToEvenAndSpecialValuesKept) {
    auto bits = [](std::uint32_t u) { return kernels::round_to_bf16(std::bit_cast<float>(u)); };
    EXPECT_EQ(bits(0x3f800000u), 0x3f80u);                     // 1.0 exact
    EXPECT_EQ(bits(0x3f808000u), 0x3f80u);                     // a tie, kept half even: down
    EXPECT_EQ(bits(0x3f818000u), 0x3f82u);                     // a tie, kept half odd: up to even
    EXPECT_EQ(bits(0x3f808001u), 0x3f81u);                     // above the tie: up
    EXPECT_EQ(bits(0x3f807fffu), 0x3f80u);                     // below the tie: down
    EXPECT_EQ(bits(0xbf818000u), 0xbf82u);                     // negative tie to even
    EXPECT_EQ(bits(0x7f800000u), 0x7f80u);                     // +Inf
    EXPECT_EQ(bits(0xff800000u), 0xff80u);                     // −Inf
    EXPECT_EQ(bits(0x7f7fffffu), 0x7f80u);                     // the largest float rounds to +Inf
    EXPECT_EQ(bits(0x00000001u), 0x0000u);                     // the smallest subnormal to +0
    EXPECT_EQ(bits(0x80000000u), 0x8000u);                     // −0 kept
    const float nan = std::numeric_limits<float>::quiet_NaN();
    EXPECT_TRUE(std::isnan(bf16_round(nan)));
    EXPECT_TRUE(std::isnan(bf16_round(std::bit_cast<float>(0x7f800001u))));  // payload only in the dropped half
    EXPECT_TRUE(std::isnan(bf16_round(std::bit_cast<float>(0xffffffffu))));  // would carry out: stays NaN
    // The public storage conversion agrees on every pattern class.
    for (std::uint32_t u : {0x3f808000u, 0x3f818000u, 0x7f7fffffu, 0x7f800000u, 0x12345678u, 0xc0490fdbu})
        EXPECT_EQ(bits(u), float_to_bf16(std::bit_cast<float>(u)).bits) << std::hex << u;
}

TEST_F(Bf16Gemm, VariantsIncludeEveryIsaAndTheNativeKernelWhereSupported) {
    const auto variants = kernels::bf16_gemm_variants();
    ASSERT_GE(variants.size(), 1u);
    EXPECT_STREQ(variants.front()->name, "bf16_gemm__scalar_via_f32");
    bool native = false;
    for (const Bf16GemmVariant* v : variants) native |= v->native;
    EXPECT_EQ(native, kernels::cpu_features().avx512_bf16);
    if (kernels::cpu_features().avx512_bf16) {
        EXPECT_TRUE(kernels::bf16_gemm_variant(kernels::Isa::Avx512).native);
    }
}

TEST_F(Bf16Gemm, OddShapesAroundTheTiles) {
    for (int64 M : {1, 5, 13, 25})
        for (int64 N : {1, 7, 33, 65})
            for (int64 K : {1, 2, 3, 17, 64}) Case{M, N, K}.check_all();
}

TEST_F(Bf16Gemm, TransposesAndEpilogues) {
    Case c{29, 45, 37};
    c.check_all_layouts();
    c.beta = 0.5f;
    c.alpha = -1.5f;
    c.bias = true;
    c.act = Activation::GeluTanh;
    c.check_all_layouts();
    Case relu{14, 40, 9};
    relu.bias = true;
    relu.act = Activation::Relu;
    relu.check_all();
}

TEST_F(Bf16Gemm, ManyLinesAndStridedOperands) {
    // An A block of 256 rows (one thread: M = 256 is one row chunk), more lines than the native
    // packing converts per pass when they are contiguous (252 in 12-line panels); k contiguous or
    // strided.
    Case{256, 41, 37}.check_all_layouts();
    Case wide{7, 290, 36};  // B's lines contiguous across many panels
    wide.check_all();
    // Neither stride of A or B is 1: the packing's element-wise path.
    Case spread{17, 35, 23};
    spread.spread = 2;
    spread.check_all_layouts();
}

TEST_F(Bf16Gemm, Bf16SourcesInPlaceAndConverted) {
    for (int64 K : {36, 37}) {           // even K with k contiguous is read in place; odd K is converted
        Case c{19, 50, K};
        c.bf16_a = c.bf16_b = true;
        c.trans_b = true;                // B = Wᵀ of a row-major W [N, K]: k contiguous
        c.check_all();
        c.trans_b = false;               // k strided: converted
        c.trans_a = true;
        c.check_all();
    }
    Case mixed{8, 70, 21};
    mixed.bf16_b = true;
    mixed.check_all();
}

TEST_F(Bf16Gemm, DeepKAcrossBlocksAndLargeMagnitudes) {
    Case deep{37, 70, 1100};  // several K blocks of every variant
    deep.beta = 0.25f;
    deep.check_all();
    Case big{13, 33, 301};
    big.scale = 300.f;
    big.check_all();
}

TEST_F(Bf16Gemm, NoProductAndBetaZeroOverNan) {
    for (const Bf16GemmVariant* v : kernels::bf16_gemm_variants()) {
        std::vector<float> c(6, std::numeric_limits<float>::quiet_NaN());
        const float a[6] = {1, 2, 3, 4, 5, 6};
        kernels::bf16_gemm(*v, 2, 3, 1, 1.f, Bf16Operand::of(a, 1, 1), Bf16Operand::of(a, 3, 1), 0.f, c.data(), 3, 1);
        EXPECT_EQ(c, (std::vector<float>{1, 2, 3, 2, 4, 6})) << v->name;
        std::vector<float> d(4, 2.f);
        // K = 0 and alpha = 0 never read A or B (null here): C = beta·C.
        kernels::bf16_gemm(*v, 2, 2, 0, 1.f, Bf16Operand::of(static_cast<const float*>(nullptr), 0, 0),
                           Bf16Operand::of(static_cast<const float*>(nullptr), 0, 0), 0.5f, d.data(), 2, 1);
        kernels::bf16_gemm(*v, 2, 2, 5, 0.f, Bf16Operand::of(static_cast<const float*>(nullptr), 0, 0),
                           Bf16Operand::of(static_cast<const float*>(nullptr), 0, 0), 0.5f, d.data(), 2, 1);
        EXPECT_EQ(d, (std::vector<float>(4, 0.5f))) << v->name;
    }
}

/// Restores the calling thread's GEMM precision.
struct PrecisionScope {
    kernels::GemmPrecision saved = kernels::gemm_precision();
    explicit PrecisionScope(kernels::GemmPrecision p) { kernels::set_gemm_precision(p); }
    ~PrecisionScope() { kernels::set_gemm_precision(saved); }
};

TEST_F(Bf16Gemm, SgemmFollowsTheGemmPrecisionAlsoInWorkers) {
    const Mat A(20, 45, false, 1, 1.f), B(45, 30, false, 2, 1.f);
    std::vector<float> f32(600), bf16(600), routed(600), batched(600), in_worker(1200);
    bool ran[2] = {false, false};
    set_num_threads(2);
    kernels::sgemm(20, 30, 45, 1.f, A.data.data(), A.rs, A.cs, B.data.data(), B.rs, B.cs, 0.f, f32.data(), 30, 1);
    kernels::bf16_gemm(20, 30, 45, 1.f, Bf16Operand::of(A.data.data(), A.rs, A.cs),
                       Bf16Operand::of(B.data.data(), B.rs, B.cs), 0.f, bf16.data(), 30, 1);
    EXPECT_NE(f32, bf16);
    {
        PrecisionScope scope(kernels::GemmPrecision::BFloat16);
        kernels::sgemm(20, 30, 45, 1.f, A.data.data(), A.rs, A.cs, B.data.data(), B.rs, B.cs, 0.f, routed.data(), 30,
                       1);
        kernels::sgemm_batched(1, 20, 30, 45, 1.f, A.data.data(), A.rs, A.cs, 0, B.data.data(), B.rs, B.cs, 0, 0.f,
                               batched.data(), 30, 1, 0);
        kernels::parallel_region(2, [&](int tid, int) {
            ran[tid] = true;
            EXPECT_EQ(kernels::gemm_precision(), kernels::GemmPrecision::BFloat16);
            kernels::sgemm(20, 30, 45, 1.f, A.data.data(), A.rs, A.cs, B.data.data(), B.rs, B.cs, 0.f,
                           in_worker.data() + tid * 600, 30, 1);
        });
    }
    EXPECT_EQ(kernels::gemm_precision(), kernels::GemmPrecision::Float32);
    EXPECT_EQ(routed, bf16);
    EXPECT_EQ(batched, bf16);
    for (int tid = 0; tid < 2; ++tid) {
        if (ran[tid]) {
            EXPECT_EQ(std::vector<float>(in_worker.begin() + tid * 600, in_worker.begin() + (tid + 1) * 600), bf16);
        }
    }
    EXPECT_TRUE(ran[0]);
}

}  // namespace
