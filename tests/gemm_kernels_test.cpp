// The float32 GEMM (sgemm, sgemm_batched) on every ISA variant this CPU runs, each forced in turn,
// against a float64 Eigen oracle: 1×1×1 and empty dims, sizes at the micro-tile, its multiples and
// ±1, across the cache-block edges (KC ± 1, MC ± 1, NC + 1), all four transpose combinations with
// padded and column-major C, alpha/beta (beta = 0 over NaN, alpha = 0 over NaN), the bias and
// activation epilogues (also on a tile of one full vector and a masked tail), batched problems with
// shared operands, a pre-packed A (SgemmPackedA, bit for bit against sgemm), 1 vs 2 threads (bit-identical by construction: the K blocking and each
// element's order of accumulation do not depend on the thread count), and the ISA / thread-count
// settings' errors.
#include <Eigen/Dense>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/environment.hpp"
#include "kernels/cpu/cpu_features.hpp"
#include "kernels/gemm/gemm.hpp"
#include "kernels/gemm/ukernel.hpp"
#include "graft/runtime.hpp"
#include "gemm_epilogue_reference.hpp"
#include "ops/frozen_weight_pack.hpp"
#include "test_util.hpp"

using namespace graft;
using kernels::Activation;
using kernels::GemmEpilogue;
using kernels::int64;

namespace {

using Matrix = Eigen::MatrixXd;
constexpr float NaN = std::numeric_limits<float>::quiet_NaN();

/// A rows×cols float matrix stored row- or column-major with a padded leading dimension
/// (padding filled with a sentinel, so a write outside the matrix is caught).
struct Strided {
    static constexpr float SENTINEL = 1234.5f;
    int64 rows, cols, rs, cs;
    std::vector<float> data;
    Strided(int64 m, int64 n, bool col_major, std::uint64_t seed, float scale = 1.f) : rows(m), cols(n) {
        const int64 pad = 3;
        rs = col_major ? 1 : n + pad;
        cs = col_major ? m + pad : 1;
        data.assign(static_cast<std::size_t>(std::max<int64>(1, (col_major ? n : m) * (col_major ? m + pad : n + pad))),
                    SENTINEL);
        Generator g(seed);
        for (int64 i = 0; i < m; ++i)
            for (int64 j = 0; j < n; ++j) at(i, j) = static_cast<float>((g.uniform() * 2 - 1) * scale);
    }
    float& at(int64 i, int64 j) { return data[static_cast<std::size_t>(i * rs + j * cs)]; }
    Matrix eigen() {
        Matrix m(rows, cols);
        for (int64 i = 0; i < rows; ++i)
            for (int64 j = 0; j < cols; ++j) m(i, j) = at(i, j);
        return m;
    }
    /// Whether every element outside the matrix still holds the sentinel.
    bool padding_intact() const {
        std::vector<bool> inside(data.size(), false);
        for (int64 i = 0; i < rows; ++i)
            for (int64 j = 0; j < cols; ++j) inside[static_cast<std::size_t>(i * rs + j * cs)] = true;
        for (std::size_t k = 0; k < data.size(); ++k)
            if (!inside[k] && data[k] != SENTINEL) return false;
        return true;
    }
};

/// One GEMM problem with its operands; run() calls sgemm and checks C against the oracle.
struct Case {
    int64 M, N, K;
    bool trans_a = false, trans_b = false, col_major_c = false;
    float alpha = 1.f, beta = 0.f;
    bool with_bias = false;
    Activation act = Activation::None;
    float a_scale = 1.f;
    bool nan_c = false;  // C starts as NaN (only meaningful with beta == 0)

    /// Max |sgemm − oracle| over C on `threads` threads; also fails if C's padding was written.
    double error(int threads, std::vector<float>* result = nullptr) const {
        Strided A(M, K, trans_a, 1, a_scale), B(K, N, trans_b, 2), C(M, N, col_major_c, 3);
        if (nan_c)
            for (int64 i = 0; i < M; ++i)
                for (int64 j = 0; j < N; ++j) C.at(i, j) = NaN;
        std::vector<float> bias(static_cast<std::size_t>(N));
        for (int64 j = 0; j < N; ++j) bias[static_cast<std::size_t>(j)] = 0.25f * static_cast<float>(j % 7) - 0.75f;
        Matrix want = alpha * (A.eigen() * B.eigen());
        if (beta != 0.f) want += beta * C.eigen();
        for (int64 i = 0; i < M; ++i)
            for (int64 j = 0; j < N; ++j)
                want(i, j) = test::reference_activation(want(i, j) + (with_bias ? bias[static_cast<std::size_t>(j)] : 0.0), act);
        set_num_threads(threads);
        kernels::sgemm(M, N, K, alpha, A.data.data(), A.rs, A.cs, B.data.data(), B.rs, B.cs, beta, C.data.data(), C.rs,
                       C.cs, GemmEpilogue{with_bias ? bias.data() : nullptr, act});
        EXPECT_TRUE(C.padding_intact()) << "sgemm wrote outside C";
        if (result) *result = C.data;
        if (M == 0 || N == 0) return 0;
        const double err = (C.eigen() - want).cwiseAbs().maxCoeff();
        return std::isnan(err) || C.eigen().hasNaN() ? std::numeric_limits<double>::infinity() : err;
    }

    double tolerance() const { return 1e-5 + 1e-6 * static_cast<double>(K) * a_scale; }

    std::string describe() const {
        return "M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K) +
               (trans_a ? " Aᵀ" : "") + (trans_b ? " Bᵀ" : "") + (col_major_c ? " C col-major" : "") +
               " alpha=" + std::to_string(alpha) + " beta=" + std::to_string(beta) + (with_bias ? " bias" : "") +
               " act=" + std::to_string(static_cast<int>(act));
    }

    /// Checks 1 and 2 threads against the oracle, and against each other bit for bit.
    void check() const {
        std::vector<float> one, two;
        EXPECT_LE(error(1, &one), tolerance()) << describe() << " (1 thread)";
        EXPECT_LE(error(2, &two), tolerance()) << describe() << " (2 threads)";
        EXPECT_TRUE(one == two) << describe() << ": 1 and 2 threads differ";
    }
};

/// Runs each test on one ISA (forced), restoring the ISA and thread count afterwards.
class SgemmOnIsa : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        saved_isa_ = active_isa();
        saved_threads_ = get_num_threads();
        set_isa(GetParam());
        variant_ = &kernels::f32_gemm_variant(kernels::active_isa());
    }
    void TearDown() override {
        set_isa(saved_isa_);
        set_num_threads(saved_threads_);
    }
    const kernels::F32GemmVariant& variant() const { return *variant_; }

private:
    std::string saved_isa_;
    int saved_threads_ = 1;
    const kernels::F32GemmVariant* variant_ = nullptr;
};

TEST_P(SgemmOnIsa, RunsTheVariantOfTheForcedIsa) {
    EXPECT_EQ(active_isa(), GetParam());
    EXPECT_EQ(kernels::isa_name(variant().isa), GetParam());
}

TEST_P(SgemmOnIsa, OneByOneByOne) {
    Case{1, 1, 1}.check();
    Case{1, 1, 1, false, false, false, 2.f, 0.5f}.check();
}

TEST_P(SgemmOnIsa, ZeroSizeDimensions) {
    Case{0, 5, 3}.check();  // M = 0, N = 0: C untouched (the padding check covers it)
    Case{4, 0, 3}.check();
    Case{5, 6, 0, false, false, false, 1.f, 0.5f}.check();  // K = 0: C = beta·C
    Case{5, 6, 0, false, false, false, 1.f, 0.f, false, Activation::None, 1.f, true}.check();  // NaN C → 0
    Case{5, 6, 0, false, false, false, 1.f, 0.f, true, Activation::Relu}.check();  // K = 0: relu(bias)
    std::vector<float> c{1.f};
    kernels::sgemm_batched(0, 1, 1, 1, 1.f, nullptr, 1, 1, 0, nullptr, 1, 1, 0, 0.f, c.data(), 1, 1, 0);
    EXPECT_EQ(c[0], 1.f);
}

TEST_P(SgemmOnIsa, SizesAroundTheMicroTile) {
    const int64 mr = variant().mr, nr = variant().nr;
    for (int64 M : {mr - 1, mr, mr + 1, 2 * mr, 2 * mr + 1})
        for (int64 N : {nr / 2, nr - 1, nr, nr + 1, 2 * nr, 2 * nr + 1})
            for (int64 K : {int64{1}, int64{7}, int64{16}}) Case{M, N, K}.check();
}

TEST_P(SgemmOnIsa, EveryTransposeCombinationAndLayoutOfC) {
    const int64 mr = variant().mr, nr = variant().nr;
    for (int layout = 0; layout < 8; ++layout) {
        Case c{2 * mr + 3, 3 * nr - 5, 37};
        c.trans_a = layout & 1;
        c.trans_b = layout & 2;
        c.col_major_c = layout & 4;
        c.check();
        c.beta = 0.5f;
        c.check();
    }
}

TEST_P(SgemmOnIsa, AcrossTheCacheBlockEdges) {
    const int64 kc = variant().kc, mc = variant().mc, nc = variant().nc;
    for (int64 K : {kc - 1, kc, kc + 1, 2 * kc + 1}) {
        Case c{19, 45, K, false, false, false, 1.f, 0.75f};
        c.check();
        c.trans_a = c.trans_b = true;
        c.check();
    }
    for (int64 M : {mc - 1, mc + 1, 2 * mc + 3}) Case{M, 40, 70, true}.check();
    Case{13, nc + 1, 5}.check();
    Case{2 * mc + 1, 2 * variant().nr + 3, kc + 5, false, true, true, -1.f, 0.25f, true, Activation::Relu}.check();
}

TEST_P(SgemmOnIsa, AlphaAndBeta) {
    for (float alpha : {1.f, -0.5f, 0.f})
        for (float beta : {0.f, 1.f, 0.25f}) Case{17, 35, 29, false, false, false, alpha, beta}.check();
    Case{17, 35, 29, false, true, false, 1.f, 0.f, false, Activation::None, 1.f, true}.check();  // NaN C, beta 0
}

TEST_P(SgemmOnIsa, AlphaZeroReadsNeitherAnorB) {
    std::vector<float> a(6, NaN), b(6, NaN), c{1.f, 2.f, 3.f, 4.f};
    kernels::sgemm(2, 2, 3, 0.f, a.data(), 3, 1, b.data(), 2, 1, 0.5f, c.data(), 2, 1);
    EXPECT_EQ(c, (std::vector<float>{0.5f, 1.f, 1.5f, 2.f}));
}

TEST_P(SgemmOnIsa, BiasAndActivationEpilogues) {
    const int64 kc = variant().kc;
    for (Activation act : {Activation::None, Activation::Relu, Activation::GeluTanh, Activation::GeluErf})
        for (int64 K : {int64{9}, kc + 3}) {  // kc + 3: the epilogue applies after the last K block only
            Case c{2 * variant().mr + 1, variant().nr + 5, K, false, true, false, 1.f, 0.5f, true, act};
            c.check();
            c.a_scale = 6.f;  // pre-activations far into both tails
            c.beta = 0.f;
            c.check();
        }
}

TEST_P(SgemmOnIsa, EpilogueOnAFullVectorAndAMaskedTailInOneTile) {
    // The last tile's columns span one full vector and a 3-lane tail: the epilogue stores the
    // first with plain vector stores and the second masked, for row- and column-major C.
    const int64 nr = variant().nr, N = nr + nr / 2 + 3;
    for (bool col_major_c : {false, true})
        for (Activation act : {Activation::Relu, Activation::GeluErf}) {
            Case c{variant().mr + 2, N, 21, false, false, col_major_c, 0.5f, 0.25f, true, act};
            c.check();
            c.beta = 0.f;
            c.check();
        }
}

TEST_P(SgemmOnIsa, ActivationsPropagateNaN) {
    for (Activation act : {Activation::Relu, Activation::GeluTanh, Activation::GeluErf}) {
        std::vector<float> a{NaN, 1.f}, b{1.f, 1.f}, c(2);
        kernels::sgemm(2, 1, 1, 1.f, a.data(), 1, 1, b.data(), 1, 1, 0.f, c.data(), 1, 1, {nullptr, act});
        EXPECT_TRUE(std::isnan(c[0])) << static_cast<int>(act);
        EXPECT_FALSE(std::isnan(c[1])) << static_cast<int>(act);
    }
}

/// sgemm_batched against one sgemm per problem (already checked against the oracle).
void check_batched(int64 batch, int64 M, int64 N, int64 K, bool share_b, int threads) {
    const int64 sa = M * K, sb = share_b ? 0 : K * N, sc = M * N;
    std::vector<float> a(static_cast<std::size_t>(batch * sa)), b(static_cast<std::size_t>(std::max<int64>(sb, 1) * batch + K * N));
    Generator g(7);
    for (float& v : a) v = static_cast<float>(g.uniform() - 0.5);
    for (float& v : b) v = static_cast<float>(g.uniform() - 0.5);
    std::vector<float> bias(static_cast<std::size_t>(N), 0.125f);
    std::vector<float> got(static_cast<std::size_t>(batch * sc), NaN), want(got.size(), NaN);
    set_num_threads(threads);
    // A transposed (column-major) per problem, B row-major: the light path reads both in place.
    kernels::sgemm_batched(batch, M, N, K, 1.f, a.data(), 1, M, sa, b.data(), N, 1, sb, 0.f, got.data(), N, 1, sc,
                           {bias.data(), Activation::GeluTanh});
    set_num_threads(1);
    for (int64 i = 0; i < batch; ++i)
        kernels::sgemm(M, N, K, 1.f, a.data() + i * sa, 1, M, b.data() + i * sb, N, 1, 0.f, want.data() + i * sc, N, 1,
                       {bias.data(), Activation::GeluTanh});
    EXPECT_TRUE(got == want) << "batch=" << batch << " M=" << M << " N=" << N << " K=" << K << " threads=" << threads;
}

TEST_P(SgemmOnIsa, BatchedMatchesOneCallPerProblem) {
    for (int threads : {1, 2}) {
        check_batched(6, 64, 64, 32, false, threads);    // attention-sized: one problem per thread
        check_batched(5, 33, 2 * variant().nr, 19, true, threads);  // shared B (batch stride 0)
        check_batched(3, 300, 280, 260, false, threads); // large: every thread on each problem
        check_batched(1, 10, 12, 14, false, threads);
    }
}

/// The operand sgemm_packed takes packed.
enum class PackedOperand { A, B };

/// sgemm_packed against sgemm on the matrix the operand was packed from (already checked against
/// the oracle): the same bits, on 1 and 2 threads, the packed operand row- or column-major
/// (`trans`), C padded.
void check_packed(PackedOperand which, int64 M, int64 N, int64 K, bool trans, float alpha, float beta,
                  bool with_bias) {
    const bool packs_a = which == PackedOperand::A;
    Strided A(M, K, packs_a && trans, 11), B(K, N, !packs_a && trans, 12);
    std::vector<float> bias(static_cast<std::size_t>(N));
    for (int64 j = 0; j < N; ++j) bias[static_cast<std::size_t>(j)] = 0.5f - 0.125f * static_cast<float>(j % 5);
    const GemmEpilogue epilogue{with_bias ? bias.data() : nullptr, Activation::Relu};
    std::optional<kernels::SgemmPackedA> packed_a;
    std::optional<kernels::SgemmPackedB> packed_b;
    if (packs_a) {
        packed_a.emplace(M, K, A.data.data(), A.rs, A.cs);
        EXPECT_EQ(packed_a->rows(), M);
        EXPECT_EQ(packed_a->depth(), K);
    } else {
        packed_b.emplace(K, N, B.data.data(), B.rs, B.cs);
        EXPECT_EQ(packed_b->depth(), K);
        EXPECT_EQ(packed_b->cols(), N);
    }
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        Strided want(M, N, false, 13), got(M, N, false, 13);
        kernels::sgemm(M, N, K, alpha, A.data.data(), A.rs, A.cs, B.data.data(), B.rs, B.cs, beta, want.data.data(),
                       want.rs, want.cs, epilogue);
        if (packs_a)
            kernels::sgemm_packed(*packed_a, N, alpha, B.data.data(), B.rs, B.cs, beta, got.data.data(), got.rs,
                                  got.cs, epilogue);
        else
            kernels::sgemm_packed(M, alpha, A.data.data(), A.rs, A.cs, *packed_b, beta, got.data.data(), got.rs,
                                  got.cs, epilogue);
        EXPECT_TRUE(got.data == want.data) << "M=" << M << " N=" << N << " K=" << K << (packs_a ? " A" : " B")
                                           << (trans ? " transposed" : "") << " alpha=" << alpha
                                           << " beta=" << beta << " threads=" << threads;
    }
}

TEST_P(SgemmOnIsa, PackedAMatchesSgemmBitForBit) {
    const int64 mr = variant().mr, nr = variant().nr, kc = variant().kc, mc = variant().mc;
    const auto check_a = [](auto... args) { check_packed(PackedOperand::A, args...); };
    for (bool trans_a : {false, true}) {
        check_a(1, 1, 1, trans_a, 1.f, 0.f, false);
        check_a(mr - 1, nr + 3, 27, trans_a, 1.f, 0.f, true);        // one partial panel, light path
        check_a(2 * mr + 8, 2 * nr, 288, trans_a, 1.f, 1.f, true);   // B read in place
        check_a(128, 64, 2 * kc + 1, trans_a, 1.f, 0.f, false);      // three K blocks
        check_a(mc + 5, 3 * nr - 1, kc - 1, trans_a, 0.5f, 1.f, true);  // two row chunks, ragged
        check_a(64, 1030, kc + 1, trans_a, 1.f, 0.f, false);        // many panels, two K blocks
        check_a(7, 9, 0, trans_a, 1.f, 1.f, true);                   // K = 0: C = beta·C + bias
        check_a(7, 9, 5, trans_a, 0.f, 1.f, false);                  // alpha = 0
    }
}

TEST_P(SgemmOnIsa, PackedAKeepsTheIsaItWasPackedFor) {
    const int64 M = 29, N = 70, K = 45;
    Strided A(M, K, false, 21), B(K, N, false, 22);
    set_num_threads(1);
    const kernels::SgemmPackedA packed(M, K, A.data.data(), A.rs, A.cs);
    Strided want(M, N, false, 23), got(M, N, false, 23);
    kernels::sgemm(M, N, K, 1.f, A.data.data(), A.rs, A.cs, B.data.data(), B.rs, B.cs, 0.f, want.data.data(), want.rs,
                   want.cs);
    set_isa("scalar");  // the multiply still runs the kernel the panels were packed for
    kernels::sgemm_packed(packed, N, 1.f, B.data.data(), B.rs, B.cs, 0.f, got.data.data(), got.rs, got.cs);
    EXPECT_TRUE(got.data == want.data);
}

TEST_P(SgemmOnIsa, PackedBMatchesSgemmBitForBit) {
    const int64 mr = variant().mr, nr = variant().nr, kc = variant().kc, mc = variant().mc, nc = variant().nc;
    const auto check_b = [](auto... args) { check_packed(PackedOperand::B, args...); };
    for (bool trans_b : {false, true}) {
        check_b(1, 1, 1, trans_b, 1.f, 0.f, false);
        check_b(mr - 1, nr + 3, 27, trans_b, 1.f, 0.f, true);         // one partial panel, light path
        check_b(256, 1024, 784, trans_b, 1.f, 0.f, true);             // a frozen MLP layer
        check_b(128, 64, 2 * kc + 1, trans_b, 1.f, 1.f, false);       // three K blocks
        check_b(mc + 5, 3 * nr - 1, kc - 1, trans_b, 0.5f, 1.f, true);  // two row chunks, ragged
        check_b(40, nc + 2 * nr + 5, 70, trans_b, 1.f, 0.f, true);    // two column blocks, the last ragged
        check_b(7, 9, 0, trans_b, 1.f, 1.f, true);                    // K = 0: C = beta·C + bias
        check_b(7, 9, 5, trans_b, 0.f, 1.f, false);                   // alpha = 0
    }
}

// linear() with a frozen float32 weight multiplies its cached packed panels
// (ops/frozen_weight_pack.hpp): the same bits as a trainable copy of the weight, which is packed
// per call, and a new pack after an in-place write, for a new weight and for a strided view.
TEST_P(SgemmOnIsa, FrozenLinearWeightIsRepackedWhenItChanges) {
    detail::clear_frozen_weight_packs();
    Generator g(41);
    const Tensor x = randn({3, 40, 300}, DType::Float32, &g), b = randn({260}, DType::Float32, &g);
    Tensor w = randn({260, 300}, DType::Float32, &g);  // 78 000 weights: enough to be cached
    const auto same_as_trainable = [&](const Tensor& weight, const char* what) {
        const Tensor want = linear(x, weight.clone().requires_grad_(), b).detach();
        for (int call = 0; call < 2; ++call)  // the first call packs, the second finds the pack
            EXPECT_EQ(linear(x, weight, b).to_vector<float>(), want.to_vector<float>()) << what << ", call " << call;
    };
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        same_as_trainable(w, "frozen");
    }
    {
        NoGradGuard no_grad;
        w.mul_(2.0);  // bumps the storage version
    }
    same_as_trainable(w, "after an in-place write");
    w = randn({260, 300}, DType::Float32, &g);  // the old storage is freed; its pack must not be found
    same_as_trainable(w, "a new weight");
    const Tensor wide = randn({300, 260}, DType::Float32, &g);
    same_as_trainable(wide.t(), "a transposed view");
    const Tensor tall = randn({300, 300}, DType::Float32, &g);
    same_as_trainable(tall.narrow(0, 20, 260), "rows of a larger matrix");
    detail::clear_frozen_weight_packs();
}

TEST_P(SgemmOnIsa, LargeProblemMatchesEigen) {
    Case{300, 333, 500, false, false, false, 1.f, 0.f}.check();
    Case{257, 1030, 260, true, false, false, 1.f, 1.f}.check();
}

TEST_P(SgemmOnIsa, MatmulAndLinearUseIt) {
    Generator g(3);
    const Tensor x = randn({2, 37, 50}, DType::Float32, &g), w = randn({45, 50}, DType::Float32, &g);
    const Tensor b = randn({45}, DType::Float32, &g);
    const Tensor want = linear(x.to(DType::Float64), w.to(DType::Float64), b.to(DType::Float64));
    const Tensor got = linear(x, w, b);
    EXPECT_LT(max(abs(sub(got.to(DType::Float64), want))).item<double>(), 1e-4);
    const Tensor y = randn({2, 50, 45}, DType::Float32, &g);
    const Tensor mm = matmul(x, y), mm64 = matmul(x.to(DType::Float64), y.to(DType::Float64));
    EXPECT_LT(max(abs(sub(mm.to(DType::Float64), mm64))).item<double>(), 1e-4);
}

std::vector<std::string> isas_to_test() { return available_isas(); }

INSTANTIATE_TEST_SUITE_P(AllSupported, SgemmOnIsa, ::testing::ValuesIn(isas_to_test()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// ---- dispatch and thread settings ------------------------------------------------------------

TEST(IsaDispatch, SelectsTheBestSupportedByDefault) {
    kernels::CpuFeatures none, avx2, all;
    avx2.avx2_fma = true;
    all.avx2_fma = all.avx512 = true;
    EXPECT_EQ(kernels::select_isa(nullptr, none).isa, kernels::Isa::Scalar);
    EXPECT_EQ(kernels::select_isa("", avx2).isa, kernels::Isa::Avx2);
    EXPECT_EQ(kernels::select_isa(nullptr, all).isa, kernels::Isa::Avx512);
    EXPECT_EQ(kernels::select_isa("scalar", all).isa, kernels::Isa::Scalar);
    EXPECT_EQ(kernels::select_isa("avx2", all).isa, kernels::Isa::Avx2);
}

TEST(IsaDispatch, GraftIsaErrors) {
    kernels::CpuFeatures avx2_only;
    avx2_only.avx2_fma = true;
    // The kernels fall back to the best ISA and say why; the core layer turns that into the error.
    EXPECT_EQ(kernels::select_isa("avx512", avx2_only).outcome, kernels::IsaChoice::Unsupported);
    EXPECT_EQ(kernels::select_isa("avx512", avx2_only).isa, kernels::Isa::Avx2);
    EXPECT_EQ(kernels::select_isa("sse9", avx2_only).outcome, kernels::IsaChoice::Unknown);
    EXPECT_THROW_MSG(detail::isa_for_setting("avx512", avx2_only, "GRAFT_ISA"), Error,
                     "GRAFT_ISA: this CPU cannot run avx512");
    EXPECT_THROW_MSG(detail::isa_for_setting("avx2", kernels::CpuFeatures{}, "GRAFT_ISA"), Error,
                     "the best it supports is scalar");
    EXPECT_THROW_MSG(detail::isa_for_setting("sse9", avx2_only, "GRAFT_ISA"), ValueError,
                     "GRAFT_ISA: unknown instruction set 'sse9' (expected scalar, avx2 or avx512)");
    EXPECT_THROW_MSG(set_isa("AVX512"), ValueError, "set_isa: unknown instruction set 'AVX512'");
}

TEST(IsaDispatch, SetIsaRefusesWhatTheCpuLacks) {
    const std::vector<std::string> isas = available_isas();
    ASSERT_FALSE(isas.empty());
    EXPECT_EQ(isas.front(), "scalar");
    if (isas.size() == 3) GTEST_SKIP() << "this CPU runs every ISA";
    EXPECT_THROW_MSG(set_isa("avx512"), Error, "cannot run avx512");
}

TEST(IsaDispatch, DefaultIsTheBestAvailable) {
    const std::string saved = active_isa();
    EXPECT_EQ(kernels::isa_name(kernels::select_isa(std::getenv("GRAFT_ISA"), kernels::cpu_features()).isa), saved);
}

TEST(Threads, SetAndGet) {
    const int saved = get_num_threads();
    EXPECT_GE(saved, 1);
    set_num_threads(3);
    EXPECT_EQ(get_num_threads(), 3);
    EXPECT_THROW_MSG(set_num_threads(0), ValueError, "set_num_threads: expected n >= 1, got 0");
    set_num_threads(saved);
}

}  // namespace
