// scaled_dot_product_attention: the fused op against plain loops and against the unfused
// reference (forward and backward, block-edge sizes, thread counts, every ISA's row kernels),
// gradchecks in float64 (causal and not, Tq ≠ Tk, strided inputs) and the error paths.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/attention/attention.hpp"
#include "test_util.hpp"

using namespace graft;
namespace F = graft::nn::functional;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

double max_abs_diff(const Tensor& a, const Tensor& b) {
    const std::vector<double> x = values(a), y = values(b);
    EXPECT_EQ(x.size(), y.size());
    double err = 0;
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) err = std::max(err, std::abs(x[i] - y[i]));
    return err;
}

double max_abs(const Tensor& a) {
    double m = 0;
    for (double v : values(a)) m = std::max(m, std::abs(v));
    return m;
}

/// Attention by plain loops in double over contiguous copies: causal keeps j ≤ i + Tk − Tq.
std::vector<double> loop_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, double scale) {
    const std::int64_t B = q.size(0), H = q.size(1), Tq = q.size(2), Tk = k.size(2), D = q.size(3), Dv = v.size(3);
    const std::vector<double> qv = values(q), kv = values(k), vv = values(v);
    std::vector<double> out(static_cast<std::size_t>(B * H * Tq * Dv));
    for (std::int64_t bh = 0; bh < B * H; ++bh)
        for (std::int64_t i = 0; i < Tq; ++i) {
            std::vector<double> s(static_cast<std::size_t>(Tk), -INFINITY);
            double mx = -INFINITY;
            for (std::int64_t j = 0; j < Tk; ++j) {
                if (causal && j > i + Tk - Tq) continue;
                double dot = 0;
                for (std::int64_t d = 0; d < D; ++d)
                    dot += qv[static_cast<std::size_t>((bh * Tq + i) * D + d)] *
                           kv[static_cast<std::size_t>((bh * Tk + j) * D + d)];
                s[static_cast<std::size_t>(j)] = dot * scale;
                mx = std::max(mx, dot * scale);
            }
            double z = 0;
            for (double& x : s) z += (x = std::exp(x - mx));
            for (std::int64_t d = 0; d < Dv; ++d) {
                double acc = 0;
                for (std::int64_t j = 0; j < Tk; ++j)
                    acc += s[static_cast<std::size_t>(j)] * vv[static_cast<std::size_t>((bh * Tk + j) * Dv + d)];
                out[static_cast<std::size_t>((bh * Tq + i) * Dv + d)] = acc / z;
            }
        }
    return out;
}

struct Qkv {
    Tensor q, k, v;
};

Qkv random_qkv(std::int64_t B, std::int64_t H, std::int64_t Tq, std::int64_t Tk, std::int64_t D, DType dt,
               std::uint64_t seed) {
    Generator g(seed);
    return {randn({B, H, Tq, D}, dt, &g), randn({B, H, Tk, D}, dt, &g), randn({B, H, Tk, D}, dt, &g)};
}

/// Output and the three gradients of attention (fused or reference) for a fixed upstream gradient.
struct Grads {
    Tensor out, dq, dk, dv;
};

Grads run_attention(const Qkv& in, const Tensor& dout, bool causal, bool fused) {
    Tensor q = in.q.clone().requires_grad_(), k = in.k.clone().requires_grad_(), v = in.v.clone().requires_grad_();
    Tensor out = fused ? F::scaled_dot_product_attention(q, k, v, {.causal = causal})
                       : F::scaled_dot_product_attention_reference(q, k, v, {.causal = causal});
    out.backward(dout);
    return {out.detach(), q.grad(), k.grad(), v.grad()};
}

/// Restores the thread count and ISA a test changes.
class AttentionSettings : public ::testing::Test {
protected:
    void TearDown() override {
        set_num_threads(saved_threads_);
        set_isa(saved_isa_);
    }
    int saved_threads_ = get_num_threads();
    std::string saved_isa_ = active_isa();
};

using AttentionFused = AttentionSettings;

}  // namespace

TEST(Attention, ForwardMatchesLoopsCausalBottomRight) {
    for (bool causal : {false, true})
        for (auto [Tq, Tk] : {std::pair{5, 5}, std::pair{3, 7}, std::pair{1, 6}, std::pair{7, 7}}) {
            const Qkv in = random_qkv(2, 3, Tq, Tk, 5, DType::Float64, 11);
            const double scale = 1.0 / std::sqrt(5.0);
            const std::vector<double> want = loop_attention(in.q, in.k, in.v, causal, scale);
            const std::vector<double> got = values(F::scaled_dot_product_attention(in.q, in.k, in.v, {.causal = causal}));
            ASSERT_EQ(got.size(), want.size());
            for (std::size_t i = 0; i < got.size(); ++i)
                EXPECT_NEAR(got[i], want[i], 1e-12) << "causal " << causal << " Tq " << Tq << " Tk " << Tk << " at " << i;
        }
}

TEST(Attention, ExplicitScaleAndValueDim) {
    // v with its own last dim (Dv = 3 ≠ D = 4) and a scale other than 1/√D.
    Generator g(3);
    const Tensor q = randn({1, 2, 4, 4}, DType::Float64, &g), k = randn({1, 2, 6, 4}, DType::Float64, &g);
    const Tensor v = randn({1, 2, 6, 3}, DType::Float64, &g);
    const Tensor y = F::scaled_dot_product_attention(q, k, v, {.causal = true, .scale = 0.7});
    EXPECT_EQ(y.shape(), (Shape{1, 2, 4, 3}));
    const std::vector<double> want = loop_attention(q, k, v, true, 0.7), got = values(y);
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << i;
}

TEST(Attention, KvCacheStepSeesEveryKey) {
    // Tq = 1 with causal: the single query is the last position, so nothing is masked.
    const Qkv in = random_qkv(2, 2, 1, 9, 8, DType::Float32, 5);
    const Tensor causal = F::scaled_dot_product_attention(in.q, in.k, in.v, {.causal = true});
    const Tensor full = F::scaled_dot_product_attention(in.q, in.k, in.v);
    EXPECT_EQ(max_abs_diff(causal, full), 0.0);
}

TEST(Attention, GradcheckFloat64) {
    for (bool causal : {false, true})
        for (std::int64_t D : {1, 7, 16})
            for (auto [Tq, Tk] : {std::pair{4, 4}, std::pair{2, 5}, std::pair{3, 6}}) {
                Generator g(static_cast<std::uint64_t>(D * 100 + Tq * 10 + Tk));
                const Tensor q = randn({2, 2, Tq, D}, DType::Float64, &g).requires_grad_();
                const Tensor k = randn({2, 2, Tk, D}, DType::Float64, &g).requires_grad_();
                const Tensor v = randn({2, 2, Tk, D}, DType::Float64, &g).requires_grad_();
                SCOPED_TRACE("causal " + std::to_string(causal) + " D " + std::to_string(D) + " Tq " +
                             std::to_string(Tq) + " Tk " + std::to_string(Tk));
                EXPECT_GRADCHECK(
                    [causal](const std::vector<Tensor>& in) {
                        return F::scaled_dot_product_attention(in[0], in[1], in[2], {.causal = causal});
                    },
                    q, k, v);
            }
}

TEST(Attention, GradcheckStridedInputs) {
    // q, k and v laid out [B, T, H, D] and seen as [B, H, T, D] through a transpose, as a model
    // that splits heads out of one projection produces them.
    Generator g(21);
    const Tensor q = randn({2, 5, 3, 4}, DType::Float64, &g).transpose(1, 2).detach().requires_grad_();
    const Tensor k = randn({2, 6, 3, 4}, DType::Float64, &g).transpose(1, 2).detach().requires_grad_();
    const Tensor v = randn({2, 6, 3, 4}, DType::Float64, &g).transpose(1, 2).detach().requires_grad_();
    ASSERT_FALSE(q.is_contiguous());
    for (bool causal : {false, true})
        EXPECT_GRADCHECK(
            [causal](const std::vector<Tensor>& in) {
                return F::scaled_dot_product_attention(in[0], in[1], in[2], {.causal = causal, .scale = 0.3});
            },
            q, k, v);
}

TEST_F(AttentionFused, OutputMergesHeadsAsAView) {
    // The output is [B, Tq, H, Dv] memory seen as [B, H, Tq, Dv]: merging the heads back is a
    // view of it, and the backward reads that view's gradient (rows H·Dv apart) in place. A
    // gradcheck through the merged view, and float32 on every ISA against the reference.
    Generator g(23);
    const Tensor q = randn({2, 3, 5, 4}, DType::Float64, &g).requires_grad_();
    const Tensor k = randn({2, 3, 6, 4}, DType::Float64, &g).requires_grad_();
    const Tensor v = randn({2, 3, 6, 4}, DType::Float64, &g).requires_grad_();
    const Tensor y = F::scaled_dot_product_attention(q, k, v, {.causal = true});
    EXPECT_EQ(y.shape(), (Shape{2, 3, 5, 4}));
    EXPECT_TRUE(y.transpose(1, 2).is_contiguous());
    EXPECT_EQ(y.transpose(1, 2).reshape({2, 5, 12}).data_ptr<double>(), y.data_ptr<double>());
    const auto merged = [](const std::vector<Tensor>& in) {
        return F::scaled_dot_product_attention(in[0], in[1], in[2], {.causal = true}).transpose(1, 2).reshape({2, 5, 12});
    };
    EXPECT_GRADCHECK(merged, q, k, v);
    const Qkv in = random_qkv(2, 3, 70, 70, 16, DType::Float32, 24);
    const Tensor dmerged = randn({2, 70, 48}, DType::Float32, &g);
    const Tensor dout = dmerged.view({2, 70, 3, 16}).transpose(1, 2);  // the merged view's gradient, strided
    const Grads ref = run_attention(in, dout.contiguous(), true, false);
    for (const std::string& isa : available_isas()) {
        set_isa(isa);
        Tensor q1 = in.q.clone().requires_grad_(), k1 = in.k.clone().requires_grad_(), v1 = in.v.clone().requires_grad_();
        const Tensor out = F::scaled_dot_product_attention(q1, k1, v1, {.causal = true});
        out.transpose(1, 2).reshape({2, 70, 48}).backward(dmerged);
        EXPECT_LT(max_abs_diff(out, ref.out), 2e-6 * std::max(1.0, max_abs(ref.out))) << isa;
        EXPECT_LT(max_abs_diff(q1.grad(), ref.dq), 1e-5 * std::max(1.0, max_abs(ref.dq))) << isa;
        EXPECT_LT(max_abs_diff(k1.grad(), ref.dk), 1e-5 * std::max(1.0, max_abs(ref.dk))) << isa;
        EXPECT_LT(max_abs_diff(v1.grad(), ref.dv), 1e-5 * std::max(1.0, max_abs(ref.dv))) << isa;
    }
}

TEST_F(AttentionFused, GradientsOfHeadsSplitFromOneProjection) {
    // q, k and v split out of one [B, T, 3·H·D] projection, as GPT's blocks do: their gradients
    // are laid out [B, T, H, D] like them and flow back into the projection's gradient through
    // the split's views. A gradcheck of that path, and float32 on every ISA against the reference.
    Generator g(29);
    const auto split_heads = [](const Tensor& qkv, std::int64_t heads) {
        std::vector<Tensor> parts = split(qkv, qkv.size(2) / 3, 2);
        for (Tensor& p : parts)
            p = p.view({qkv.size(0), qkv.size(1), heads, p.size(2) / heads}).transpose(1, 2);
        return parts;
    };
    const auto attend = [&](const std::vector<Tensor>& in) {
        const std::vector<Tensor> p = split_heads(in[0], 3);
        return F::scaled_dot_product_attention(p[0], p[1], p[2], {.causal = true}).transpose(1, 2).reshape({2, 5, 12});
    };
    EXPECT_GRADCHECK(attend, randn({2, 5, 36}, DType::Float64, &g).requires_grad_());
    struct Case {
        std::int64_t B, H;
    };
    // [2, 4] runs a slice per task, each task's gradient rows staged in its scratch; [1, 2] on
    // four threads runs the two-pass backward, writing the strided gradients in place.
    for (const Case c : {Case{2, 4}, Case{1, 2}}) {
        const Tensor qkv = randn({c.B, 70, 3 * c.H * 16}, DType::Float32, &g);
        const Tensor dmerged = randn({c.B, 70, c.H * 16}, DType::Float32, &g);
        const auto run = [&](bool fused) {
            Tensor x = qkv.clone().requires_grad_();
            const std::vector<Tensor> p = split_heads(x, c.H);
            const Tensor out = fused ? F::scaled_dot_product_attention(p[0], p[1], p[2], {.causal = true})
                                     : F::scaled_dot_product_attention_reference(p[0], p[1], p[2], {.causal = true});
            out.transpose(1, 2).reshape({c.B, 70, c.H * 16}).backward(dmerged);
            return x.grad();
        };
        const Tensor ref = run(false);
        for (const std::string& isa : available_isas())
            for (int threads : {1, 2, 4}) {
                set_isa(isa);
                set_num_threads(threads);
                EXPECT_LT(max_abs_diff(run(true), ref), 1e-5 * std::max(1.0, max_abs(ref)))
                    << isa << " B=" << c.B << " H=" << c.H << " threads=" << threads;
            }
    }
}

TEST_F(AttentionFused, GradcheckAcrossBlockEdges) {
    // More queries than one query block and more keys than one key tile, on one thread (one
    // slice per task) and on two (one slice: the two-pass backward).
    const std::int64_t Tq = kernels::kAttnBlockQ + 2, Tk = kernels::kAttnBlockK + 2;
    Generator g(8);
    const Tensor q = randn({1, 1, Tq, 2}, DType::Float64, &g).requires_grad_();
    const Tensor k = randn({1, 1, Tk, 2}, DType::Float64, &g).requires_grad_();
    const Tensor v = randn({1, 1, Tk, 2}, DType::Float64, &g).requires_grad_();
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        EXPECT_GRADCHECK(
            [](const std::vector<Tensor>& in) {
                return F::scaled_dot_product_attention(in[0], in[1], in[2], {.causal = true});
            },
            q, k, v);
    }
}

TEST(Attention, ComputesOnlyNeededGradients) {
    const Qkv in = random_qkv(1, 2, 5, 7, 4, DType::Float64, 9);
    Generator g(10);
    const Tensor dout = randn({1, 2, 5, 4}, DType::Float64, &g);
    const Grads all = run_attention(in, dout, true, true);
    for (int which = 0; which < 3; ++which) {
        Tensor q = in.q.clone(), k = in.k.clone(), v = in.v.clone();
        Tensor& needed = which == 0 ? q : which == 1 ? k : v;
        needed.requires_grad_();
        Tensor out = F::scaled_dot_product_attention(q, k, v, {.causal = true});
        ASSERT_NE(out.grad_fn(), nullptr);
        EXPECT_STREQ(out.grad_fn()->name(), "ScaledDotProductAttentionBackward");
        out.backward(dout);
        EXPECT_EQ(q.grad().defined(), which == 0);
        EXPECT_EQ(k.grad().defined(), which == 1);
        EXPECT_EQ(v.grad().defined(), which == 2);
        const Tensor& want = which == 0 ? all.dq : which == 1 ? all.dk : all.dv;
        EXPECT_LT(max_abs_diff(needed.grad(), want), 1e-14) << "input " << which;
    }
}

TEST(Attention, NoGraphWithoutGrad) {
    const Qkv in = random_qkv(1, 1, 3, 3, 4, DType::Float32, 2);
    EXPECT_EQ(F::scaled_dot_product_attention(in.q, in.k, in.v).grad_fn(), nullptr);
}

TEST_F(AttentionFused, MatchesReferenceFloat32AtBlockEdges) {
    set_num_threads(2);
    const std::vector<std::pair<std::int64_t, std::int64_t>> sizes = {
        {1, 1}, {1, 130}, {63, 63}, {64, 64}, {65, 65}, {63, 130}, {64, 130}, {130, 130}, {65, 129}, {130, 64}, {65, 1}};
    for (bool causal : {false, true})
        for (auto [Tq, Tk] : sizes)
            for (std::int64_t D : {16, 64}) {
                if (causal && Tk < Tq) continue;  // rejected, see ErrorsNameTheShapes
                SCOPED_TRACE("causal " + std::to_string(causal) + " Tq " + std::to_string(Tq) + " Tk " +
                             std::to_string(Tk) + " D " + std::to_string(D));
                const Qkv in = random_qkv(2, 2, Tq, Tk, D, DType::Float32, static_cast<std::uint64_t>(Tq + Tk + D));
                Generator g(7);
                const Tensor dout = randn({2, 2, Tq, D}, DType::Float32, &g);
                const Grads fused = run_attention(in, dout, causal, true);
                const Grads ref = run_attention(in, dout, causal, false);
                EXPECT_LT(max_abs_diff(fused.out, ref.out), 2e-6 * std::max(1.0, max_abs(ref.out)));
                EXPECT_LT(max_abs_diff(fused.dq, ref.dq), 1e-5 * std::max(1.0, max_abs(ref.dq)));
                EXPECT_LT(max_abs_diff(fused.dk, ref.dk), 1e-5 * std::max(1.0, max_abs(ref.dk)));
                EXPECT_LT(max_abs_diff(fused.dv, ref.dv), 1e-5 * std::max(1.0, max_abs(ref.dv)));
            }
}

TEST_F(AttentionFused, OneAndTwoThreadsAgree) {
    const Qkv in = random_qkv(2, 3, 130, 130, 32, DType::Float32, 4);
    Generator g(6);
    const Tensor dout = randn({2, 3, 130, 32}, DType::Float32, &g);
    for (bool causal : {false, true}) {
        set_num_threads(1);
        const Grads one = run_attention(in, dout, causal, true);
        set_num_threads(2);
        const Grads two = run_attention(in, dout, causal, true);
        EXPECT_LT(max_abs_diff(one.out, two.out), 1e-5);
        EXPECT_LT(max_abs_diff(one.dq, two.dq), 1e-5);
        EXPECT_LT(max_abs_diff(one.dk, two.dk), 1e-5);
        EXPECT_LT(max_abs_diff(one.dv, two.dv), 1e-5);
    }
}

TEST_F(AttentionFused, FewerSlicesThanThreadsAgree) {
    // One B·H slice on two threads takes the two-pass backward (dK/dV by key tile, dQ by query
    // block); it must give what the one-slice-per-task path gives on one thread, and each
    // gradient alone (the other inputs frozen) must match too.
    const Qkv in = random_qkv(1, 1, 150, 260, 24, DType::Float32, 15);
    Generator g(16);
    const Tensor dout = randn({1, 1, 150, 24}, DType::Float32, &g);
    for (bool causal : {false, true}) {
        set_num_threads(1);
        const Grads one = run_attention(in, dout, causal, true);
        set_num_threads(2);
        const Grads two = run_attention(in, dout, causal, true);
        EXPECT_LT(max_abs_diff(one.dq, two.dq), 1e-5);
        EXPECT_LT(max_abs_diff(one.dk, two.dk), 1e-5);
        EXPECT_LT(max_abs_diff(one.dv, two.dv), 1e-5);
        const Grads ref = run_attention(in, dout, causal, false);
        EXPECT_LT(max_abs_diff(two.dq, ref.dq), 1e-5 * std::max(1.0, max_abs(ref.dq)));
        EXPECT_LT(max_abs_diff(two.dk, ref.dk), 1e-5 * std::max(1.0, max_abs(ref.dk)));
        EXPECT_LT(max_abs_diff(two.dv, ref.dv), 1e-5 * std::max(1.0, max_abs(ref.dv)));
        Tensor q = in.q.clone().requires_grad_(), k = in.k.clone(), v = in.v.clone();
        F::scaled_dot_product_attention(q, k, v, {.causal = causal}).backward(dout);
        EXPECT_LT(max_abs_diff(q.grad(), two.dq), 1e-6);
    }
}

TEST_F(AttentionFused, EveryIsaMatchesReference) {
    const Qkv in = random_qkv(1, 2, 70, 140, 24, DType::Float32, 12);
    Generator g(13);
    const Tensor dout = randn({1, 2, 70, 24}, DType::Float32, &g);
    const Grads ref = run_attention(in, dout, true, false);
    for (const std::string& isa : available_isas()) {
        set_isa(isa);
        const Grads fused = run_attention(in, dout, true, true);
        EXPECT_LT(max_abs_diff(fused.out, ref.out), 2e-6 * std::max(1.0, max_abs(ref.out))) << isa;
        EXPECT_LT(max_abs_diff(fused.dq, ref.dq), 1e-5 * std::max(1.0, max_abs(ref.dq))) << isa;
        EXPECT_LT(max_abs_diff(fused.dk, ref.dk), 1e-5 * std::max(1.0, max_abs(ref.dk))) << isa;
        EXPECT_LT(max_abs_diff(fused.dv, ref.dv), 1e-5 * std::max(1.0, max_abs(ref.dv))) << isa;
    }
}

TEST_F(AttentionFused, NanPropagatesOnEveryIsa) {
    // One NaN in key 38 of 40 (causal, Tq = 4, so queries 2 and 3 see it): their output rows are
    // NaN, as in PyTorch, while queries 0 and 1 stay finite. A masked −inf must not hide a NaN.
    Qkv in = random_qkv(1, 1, 4, 40, 16, DType::Float32, 14);
    in.k = in.k.clone();
    {
        NoGradGuard guard;
        in.k.select(2, 38).select(2, 5).fill_(std::numeric_limits<double>::quiet_NaN());
    }
    for (const std::string& isa : available_isas()) {
        set_isa(isa);
        const std::vector<double> y = values(F::scaled_dot_product_attention(in.q, in.k, in.v, {.causal = true}));
        for (std::size_t i = 0; i < y.size(); ++i)
            EXPECT_EQ(std::isnan(y[i]), i / 16 >= 2) << isa << " element " << i;
    }
}

TEST(AttentionKernels, RowKernelsMatchScalar) {
    // Every ISA's row kernels against the scalar ones at lane multiples ±1, with masked entries.
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();
    for (kernels::Isa isa : kernels::supported_isas()) {
        const kernels::F32AttentionVariant& variant = kernels::f32_attention_variant(isa);
        for (std::int64_t n : {1, 7, 8, 9, 15, 16, 17, 31, 33, 127, 128}) {
            constexpr std::int64_t m = 3, lds = 130;
            Generator g(static_cast<std::uint64_t>(n));
            std::vector<float> s = randn({m, lds}, DType::Float32, &g).to_vector<float>();
            for (std::int64_t r = 0; r < m; ++r)
                for (std::int64_t j = n / 2 + r + 1; j < n; ++j) s[static_cast<std::size_t>(r * lds + j)] = kNegInf;
            std::vector<float> s_ref = s;
            std::vector<float> mx = {kNegInf, 0.5f, 4.f}, l = {0.f, 2.f, 1.5f}, rescale(3);
            std::vector<float> mx_ref = mx, l_ref = l, rescale_ref(3);
            variant.softmax_rows(m, n, s.data(), lds, mx.data(), l.data(), rescale.data());
            kernels::attn_softmax_rows_scalar<float>(m, n, s_ref.data(), lds, mx_ref.data(), l_ref.data(),
                                                     rescale_ref.data());
            for (std::int64_t r = 0; r < m; ++r) {
                EXPECT_EQ(mx[static_cast<std::size_t>(r)], mx_ref[static_cast<std::size_t>(r)]);
                EXPECT_NEAR(l[static_cast<std::size_t>(r)], l_ref[static_cast<std::size_t>(r)],
                            1e-6f * l_ref[static_cast<std::size_t>(r)]);
                EXPECT_NEAR(rescale[static_cast<std::size_t>(r)], rescale_ref[static_cast<std::size_t>(r)], 1e-6f);
                for (std::int64_t j = 0; j < n; ++j) {
                    const std::size_t at = static_cast<std::size_t>(r * lds + j);
                    EXPECT_NEAR(s[at], s_ref[at], 3e-7f * std::max(1.f, s_ref[at]))
                        << kernels::isa_name(isa) << " n " << n << " row " << r << " col " << j;
                    if (s_ref[at] == 0.f) {
                        EXPECT_EQ(s[at], 0.f) << "masked entry must be exactly 0";
                    }
                }
                // The columns past n are not touched.
                EXPECT_EQ(s[static_cast<std::size_t>(r * lds + n)], s_ref[static_cast<std::size_t>(r * lds + n)]);
            }
            std::vector<float> e = s_ref, e_ref = s_ref;
            const std::vector<float> lse = {0.3f, -1.f, 2.f};
            for (std::int64_t r = 0; r < m; ++r)
                for (std::int64_t j = 0; j < n; ++j)
                    e[static_cast<std::size_t>(r * lds + j)] = e_ref[static_cast<std::size_t>(r * lds + j)] =
                        s_ref[static_cast<std::size_t>(r * lds + j)] > 0.f ? std::log(s_ref[static_cast<std::size_t>(r * lds + j)]) : kNegInf;
            variant.exp_rows(m, n, e.data(), lds, lse.data());
            kernels::attn_exp_rows_scalar<float>(m, n, e_ref.data(), lds, lse.data());
            for (std::int64_t r = 0; r < m; ++r)
                for (std::int64_t j = 0; j < n; ++j) {
                    const std::size_t at = static_cast<std::size_t>(r * lds + j);
                    EXPECT_NEAR(e[at], e_ref[at], 3e-7f * std::max(1.f, e_ref[at]))
                        << kernels::isa_name(isa) << " exp n " << n;
                }
        }
    }
}

TEST(Attention, ErrorsNameTheShapes) {
    const Tensor q = randn({1, 2, 3, 4}), k = randn({1, 2, 5, 4}), v = randn({1, 2, 5, 4});
    EXPECT_THROW_MSG(F::scaled_dot_product_attention(randn({2, 3, 4}), k, v), ShapeError, "4-D");
    EXPECT_THROW_MSG(F::scaled_dot_product_attention(q, randn({1, 3, 5, 4}), v), ShapeError, "[1, 3, 5, 4]");
    EXPECT_THROW_MSG(F::scaled_dot_product_attention(q, randn({2, 2, 5, 4}), randn({2, 2, 5, 4})), ShapeError,
                     "batch and head");
    EXPECT_THROW_MSG(F::scaled_dot_product_attention(q, randn({1, 2, 5, 3}), v), ShapeError, "same last dim");
    EXPECT_THROW_MSG(F::scaled_dot_product_attention(q, k, randn({1, 2, 6, 4})), ShapeError,
                     "same sequence length");
    EXPECT_THROW_MSG(F::scaled_dot_product_attention(q, k, v.to(DType::Float64)), DTypeError,
                     "scaled_dot_product_attention");
    EXPECT_THROW_MSG(F::scaled_dot_product_attention(q.to(DType::Int64), k.to(DType::Int64), v.to(DType::Int64)),
                     DTypeError, "floating");
    EXPECT_THROW_MSG(F::scaled_dot_product_attention(randn({1, 2, 6, 4}), k, v, {.causal = true}), ValueError,
                     "Tq = 6 and Tk = 5");
    EXPECT_THROW_MSG(F::scaled_dot_product_attention_reference(randn({1, 2, 6, 4}), k, v, {.causal = true}),
                     ValueError, "Tq = 6 and Tk = 5");
    EXPECT_THROW_MSG(F::scaled_dot_product_attention(q, randn({1, 2, 0, 4}), randn({1, 2, 0, 4})), ValueError,
                     "no keys");
}

// ---- masks and dropout ------------------------------------------------------------------------------

namespace {

/// A random bool mask of `shape` (about 60 % true) with key 0 always visible.
Tensor random_bool_mask(const Shape& shape, std::uint64_t seed) {
    Generator g(seed);
    Tensor m = gt(rand(shape, DType::Float32, &g), 0.4);
    NoGradGuard guard;
    m.narrow(3, 0, 1).fill_(1.0);
    return m;
}

Grads run_masked(const Qkv& in, const Tensor& dout, const F::AttentionOptions& options, bool fused) {
    Tensor q = in.q.clone().requires_grad_(), k = in.k.clone().requires_grad_(), v = in.v.clone().requires_grad_();
    Tensor out = fused ? F::scaled_dot_product_attention(q, k, v, options)
                       : F::scaled_dot_product_attention_reference(q, k, v, options);
    out.backward(dout);
    return {out.detach(), q.grad(), k.grad(), v.grad()};
}

}  // namespace

TEST_F(AttentionFused, MasksMatchReferenceOnEveryIsaAcrossBlockEdges) {
    // Tq = 70, Tk = 140 cross the 32-row and 128-key tiles; one query row sees no key at all.
    const Qkv in = random_qkv(2, 3, 70, 140, 16, DType::Float32, 31);
    Generator g(32);
    const Tensor dout = randn({2, 3, 70, 16}, DType::Float32, &g);
    Tensor per_query = random_bool_mask({2, 1, 70, 140}, 33);
    {
        NoGradGuard guard;
        per_query.select(0, 1).select(1, 40).fill_(0.0);  // batch 1, query 40: every key hidden
    }
    Tensor padding = ones({2, 140}, DType::Bool);
    {
        NoGradGuard guard;
        padding.select(0, 0).narrow(0, 100, 40).fill_(0.0);
    }
    Tensor additive = randn({1, 3, 1, 140}, DType::Float32, &g);
    {
        NoGradGuard guard;
        additive.select(1, 2).select(1, 0).narrow(1, 7, 3).fill_(-std::numeric_limits<double>::infinity());
    }
    const std::vector<std::pair<std::string, F::AttentionOptions>> cases{
        {"bool [B, 1, Tq, Tk]", {.mask = per_query}},
        {"key padding [B, Tk]", {.mask = padding}},
        {"additive [1, H, 1, Tk]", {.mask = additive}},
        {"padding and causal", {.causal = true, .mask = padding.narrow(1, 0, 70).contiguous()}},
    };
    for (const auto& [name, options] : cases) {
        const Qkv use = name == "padding and causal" ? Qkv{in.q, in.k.narrow(2, 0, 70), in.v.narrow(2, 0, 70)} : in;
        const Grads ref = run_masked(use, dout, options, false);
        for (const std::string& isa : available_isas()) {
            set_isa(isa);
            const Grads fused = run_masked(use, dout, options, true);
            SCOPED_TRACE(name + " on " + isa);
            EXPECT_LT(max_abs_diff(fused.out, ref.out), 2e-6 * std::max(1.0, max_abs(ref.out)));
            EXPECT_LT(max_abs_diff(fused.dq, ref.dq), 1e-5 * std::max(1.0, max_abs(ref.dq)));
            EXPECT_LT(max_abs_diff(fused.dk, ref.dk), 1e-5 * std::max(1.0, max_abs(ref.dk)));
            EXPECT_LT(max_abs_diff(fused.dv, ref.dv), 1e-5 * std::max(1.0, max_abs(ref.dv)));
        }
    }
}

TEST(Attention, FullyMaskedRowIsZeroWithZeroGradients) {
    const Qkv in = random_qkv(1, 2, 3, 5, 4, DType::Float64, 41);
    Tensor mask = ones({1, 1, 3, 5}, DType::Bool);
    {
        NoGradGuard guard;
        mask.select(2, 1).fill_(0.0);  // query 1 sees nothing
    }
    for (bool fused : {true, false}) {
        const Grads r = run_masked(in, ones({1, 2, 3, 4}, DType::Float64), {.mask = mask}, fused);
        const std::vector<double> out = values(r.out), dq = values(r.dq);
        for (std::int64_t h = 0; h < 2; ++h)
            for (std::int64_t d = 0; d < 4; ++d) {
                EXPECT_EQ(out[static_cast<std::size_t>((h * 3 + 1) * 4 + d)], 0.0) << fused;
                EXPECT_EQ(dq[static_cast<std::size_t>((h * 3 + 1) * 4 + d)], 0.0) << fused;
            }
        for (double x : values(r.dk)) EXPECT_TRUE(std::isfinite(x)) << fused;
    }
}

TEST(Attention, GradcheckWithMasks) {
    Generator g(51);
    const Tensor q = randn({2, 2, 3, 4}, DType::Float64, &g).requires_grad_();
    const Tensor k = randn({2, 2, 5, 4}, DType::Float64, &g).requires_grad_();
    const Tensor v = randn({2, 2, 5, 4}, DType::Float64, &g).requires_grad_();
    Tensor bool_mask = random_bool_mask({2, 2, 3, 5}, 52);
    {
        NoGradGuard guard;
        bool_mask.select(0, 0).select(0, 1).select(0, 2).fill_(0.0);  // one fully masked row
    }
    const Tensor padding = from_vector<bool>({true, true, true, false, false, true, true, true, true, true}, {2, 5});
    const Tensor additive = randn({2, 1, 1, 5}, DType::Float64, &g);
    for (const F::AttentionOptions& options :
         {F::AttentionOptions{.mask = bool_mask}, F::AttentionOptions{.mask = padding},
          F::AttentionOptions{.mask = additive}, F::AttentionOptions{.causal = true, .mask = padding.narrow(1, 0, 5)}}) {
        EXPECT_GRADCHECK([&options](const std::vector<Tensor>& in) {
            return F::scaled_dot_product_attention(in[0], in[1], in[2], options);
        }, q, k, v);
        EXPECT_GRADCHECK([&options](const std::vector<Tensor>& in) {
            return F::scaled_dot_product_attention_reference(in[0], in[1], in[2], options);
        }, q, k, v);
    }
}

TEST(Attention, MasksMatchPyTorchGolden) {
    // tests/golden/make_bert_golden.py: softmax(q·kᵀ/2 + mask)·v in float64 by PyTorch, the fully
    // masked row set to 0 there (PyTorch's softmax gives NaN).
    const io::SafetensorsFile file = io::read_safetensors(std::string(GRAFT_TEST_DATA_DIR) + "/bert_tiny_golden.safetensors");
    const auto& t = file.tensors;
    const Tensor bool_mask = ne(t.at("attn.bool_mask"), 0.0);
    const Qkv in{t.at("attn.q"), t.at("attn.k"), t.at("attn.v")};
    for (bool fused : {true, false}) {
        const Grads r = run_masked(in, t.at("attn.dout"), {.mask = bool_mask}, fused);
        EXPECT_LT(max_abs_diff(r.out, t.at("attn.out_bool")), 1e-12) << fused;
        EXPECT_LT(max_abs_diff(r.dq, t.at("attn.grad_q_bool")), 1e-12) << fused;
        EXPECT_LT(max_abs_diff(r.dk, t.at("attn.grad_k_bool")), 1e-12) << fused;
        EXPECT_LT(max_abs_diff(r.dv, t.at("attn.grad_v_bool")), 1e-12) << fused;
        const Tensor add_out = fused ? F::scaled_dot_product_attention(in.q, in.k, in.v, {.mask = t.at("attn.additive_mask")})
                                     : F::scaled_dot_product_attention_reference(in.q, in.k, in.v,
                                                                                 {.mask = t.at("attn.additive_mask")});
        EXPECT_LT(max_abs_diff(add_out, t.at("attn.out_add")), 1e-12) << fused;
    }
}

TEST(Attention, DropoutUsesTheGivenGeneratorOnce) {
    const Qkv in = random_qkv(1, 2, 4, 6, 8, DType::Float64, 61);
    const auto with_seed = [&](std::uint64_t seed) {
        Generator g(seed);
        return F::scaled_dot_product_attention(in.q, in.k, in.v, {.dropout_p = 0.5, .generator = &g});
    };
    EXPECT_EQ(max_abs_diff(with_seed(3), with_seed(3)), 0.0);
    EXPECT_GT(max_abs_diff(with_seed(3), F::scaled_dot_product_attention(in.q, in.k, in.v)), 1e-3);
    EXPECT_GT(max_abs_diff(with_seed(3), with_seed(4)), 1e-3);
    // One 64-bit draw per call (the mask's seed), in the fused op and in the reference alike.
    for (bool fused : {true, false}) {
        Generator used(3), expected(3);
        const F::AttentionOptions options{.dropout_p = 0.5, .generator = &used};
        (void)(fused ? F::scaled_dot_product_attention(in.q, in.k, in.v, options)
                     : F::scaled_dot_product_attention_reference(in.q, in.k, in.v, options));
        expected.next_u64();
        EXPECT_EQ(used.next_u64(), expected.next_u64()) << fused;
    }
}

TEST(Attention, DropoutDropsAFractionPAndScalesTheRest) {
    // q = 0 makes every probability 1/Tk, and v = the identity over keys makes out[i, j] the
    // dropped probability itself: 0 or 1/(Tk·(1 − p)).
    const std::int64_t B = 2, H = 2, T = 64;
    const double p = 0.3;
    const Tensor q = zeros({B, H, T, 8}, DType::Float64), k = randn({B, H, T, 8}, DType::Float64);
    const Tensor v = one_hot(arange(static_cast<double>(T)), T).to(DType::Float64).expand({B, H, T, T});
    Generator g(5);
    const std::vector<double> out = values(F::scaled_dot_product_attention(q, k, v, {.dropout_p = p, .generator = &g}));
    std::size_t dropped = 0;
    for (double x : out) {
        if (x == 0.0) ++dropped;
        else EXPECT_NEAR(x, 1.0 / (static_cast<double>(T) * (1 - p)), 1e-15);
    }
    // 16384 Bernoulli(0.3) draws: standard deviation 0.0036.
    EXPECT_NEAR(static_cast<double>(dropped) / static_cast<double>(out.size()), p, 0.015);
}

TEST_F(AttentionFused, DropoutMatchesReferenceWithMasksAndGqa) {
    // The fused op and the reference drop the same elements for the same generator state:
    // outputs and gradients agree on every ISA, per-slice and split backward (1 and 2 threads),
    // across the 32-row and 128-key tiles, with a padding mask, causal, and grouped-query heads
    // (2 key/value heads expanded, stride 0, to 4 query heads).
    const std::int64_t B = 2, H = 4, Tq = 70, Tk = 140, D = 8;
    Generator g(81);
    const Tensor q = randn({B, H, Tq, D}, DType::Float32, &g);
    const Tensor k = randn({B, 2, 1, Tk, D}, DType::Float32, &g).expand({B, 2, 2, Tk, D}).reshape({B, H, Tk, D});
    const Tensor kv = randn({B, 2, Tk, D}, DType::Float32, &g);
    const Tensor v = kv.unsqueeze(2).expand({B, 2, 2, Tk, D}).reshape({B, H, Tk, D});
    const Tensor dout = randn({B, H, Tq, D}, DType::Float32, &g);
    Tensor padding = ones({B, Tk}, DType::Bool);
    {
        NoGradGuard guard;
        padding.select(0, 1).narrow(0, 0, 30).fill_(0.0);  // batch 1 left-padded by 30
    }
    const auto run = [&](bool fused, const F::AttentionOptions& base, std::uint64_t seed) {
        Generator gen(seed);
        F::AttentionOptions options = base;
        options.generator = &gen;
        options.dropout_p = 0.25;
        return run_masked(Qkv{q, k, v}, dout, options, fused);
    };
    const std::vector<std::pair<std::string, F::AttentionOptions>> cases{
        {"none", {}},
        {"key padding", {.mask = padding}},
        {"padding and causal", {.causal = true, .mask = padding}},
    };
    for (const auto& [name, options] : cases) {
        const Grads ref = run(false, options, 7);
        for (const std::string& isa : available_isas())
            for (int threads : {1, 2}) {
                set_isa(isa);
                set_num_threads(threads);
                const Grads fused = run(true, options, 7);
                SCOPED_TRACE(name + " on " + isa + ", threads " + std::to_string(threads));
                EXPECT_LT(max_abs_diff(fused.out, ref.out), 2e-6 * std::max(1.0, max_abs(ref.out)));
                EXPECT_LT(max_abs_diff(fused.dq, ref.dq), 1e-5 * std::max(1.0, max_abs(ref.dq)));
                EXPECT_LT(max_abs_diff(fused.dk, ref.dk), 1e-5 * std::max(1.0, max_abs(ref.dk)));
                EXPECT_LT(max_abs_diff(fused.dv, ref.dv), 1e-5 * std::max(1.0, max_abs(ref.dv)));
            }
        // Another seed drops other elements.
        EXPECT_GT(max_abs_diff(run(true, options, 8).out, ref.out), 1e-3) << name;
    }
}

TEST(Attention, GradcheckWithDropout) {
    // A fresh generator per call fixes the mask, so the dropped attention is a smooth function.
    Generator g(91);
    const Tensor q = randn({2, 2, 3, 4}, DType::Float64, &g).requires_grad_();
    const Tensor k = randn({2, 2, 5, 4}, DType::Float64, &g).requires_grad_();
    const Tensor v = randn({2, 2, 5, 4}, DType::Float64, &g).requires_grad_();
    const Tensor padding = from_vector<bool>({true, true, true, false, false, false, true, true, true, true}, {2, 5});
    for (const F::AttentionOptions& options :
         {F::AttentionOptions{}, F::AttentionOptions{.mask = padding}, F::AttentionOptions{.causal = true, .mask = padding}}) {
        for (bool fused : {true, false})
            EXPECT_GRADCHECK(([&options, fused](const std::vector<Tensor>& in) {
                                 Generator fixed(9);
                                 F::AttentionOptions o = options;
                                 o.dropout_p = 0.3;
                                 o.generator = &fixed;
                                 return fused ? F::scaled_dot_product_attention(in[0], in[1], in[2], o)
                                              : F::scaled_dot_product_attention_reference(in[0], in[1], in[2], o);
                             }),
                             q, k, v);
    }
}

TEST(Attention, MaskErrorsNameTheShapes) {
    const Qkv in = random_qkv(2, 3, 4, 5, 8, DType::Float32, 71);
    EXPECT_THROW_MSG(F::scaled_dot_product_attention(in.q, in.k, in.v, {.mask = ones({2, 4}, DType::Bool)}), ShapeError,
                     "a 2-D mask is a bool key padding mask [B, Tk] = [2, 5], got bool [2, 4]");
    EXPECT_THROW_MSG(F::scaled_dot_product_attention(in.q, in.k, in.v, {.mask = zeros({4, 5})}), ShapeError,
                     "got float32 [4, 5]");
    EXPECT_THROW_MSG(F::scaled_dot_product_attention(in.q, in.k, in.v, {.mask = zeros({2, 2, 4, 5})}), ShapeError,
                     "the mask [2, 2, 4, 5] does not broadcast to [B, H, Tq, Tk] = [2, 3, 4, 5]");
    EXPECT_THROW_MSG(F::scaled_dot_product_attention(in.q, in.k, in.v, {.mask = zeros({2, 1, 1, 5}, DType::Int64)}),
                     DTypeError, "the mask must be bool");
    EXPECT_THROW_MSG(F::scaled_dot_product_attention(in.q, in.k, in.v, {.mask = zeros({2, 1, 1, 5}).requires_grad_()}),
                     ValueError, "the mask gets no gradient");
    EXPECT_THROW_MSG(F::scaled_dot_product_attention(in.q, in.k, in.v, {.dropout_p = 1.0}), ValueError,
                     "dropout_p must lie in [0, 1), got 1");
}

TEST_F(AttentionFused, Bf16AutocastMatchesTheReferenceUnderAutocast) {
    // Under bf16 autocast the tile products run in bf16 (on a CPU with AVX512_BF16, from panels
    // packed once per slice, block or tile): outputs and gradients must match the unfused
    // reference under the same autocast (its matmuls round the same operands to bf16), across
    // the 32-row and 128-key tiles, odd head dims, causal or not, with masks and dropout, on
    // strided inputs, with slice tasks (2 slices or more per thread) and the two-pass backward
    // (one slice on two threads), and must differ from float32 (the products did run in bf16).
    struct Case {
        std::int64_t B, H, Tq, Tk, D, Dv;
        bool causal, mask, dropout, strided;
        int threads;
    };
    const std::vector<Case> cases{
        {2, 2, 1, 1, 16, 16, false, false, false, false, 2},   {2, 2, 63, 130, 64, 64, false, false, false, false, 2},
        {2, 2, 65, 129, 64, 32, true, false, false, false, 2},  {2, 3, 130, 130, 7, 9, true, false, false, false, 2},
        {1, 1, 150, 260, 24, 24, true, false, false, false, 2}, {1, 1, 150, 260, 24, 24, false, false, false, false, 1},
        {2, 4, 70, 140, 16, 16, true, true, false, true, 2},    {2, 4, 70, 140, 16, 16, false, true, true, false, 2},
        {1, 1, 70, 140, 33, 33, true, false, true, true, 2},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE("B " + std::to_string(c.B) + " H " + std::to_string(c.H) + " Tq " + std::to_string(c.Tq) +
                     " Tk " + std::to_string(c.Tk) + " D " + std::to_string(c.D) + " Dv " + std::to_string(c.Dv) +
                     " causal " + std::to_string(c.causal) + " mask " + std::to_string(c.mask) + " dropout " +
                     std::to_string(c.dropout) + " strided " + std::to_string(c.strided) + " threads " +
                     std::to_string(c.threads));
        set_num_threads(c.threads);
        Generator g(static_cast<std::uint64_t>(c.Tq * 7 + c.Tk + c.D));
        // Strided: the heads of [B, T, H, D] memory, as a model's split of its projections.
        const auto operand = [&](std::int64_t T, std::int64_t D) {
            return c.strided ? randn({c.B, T, c.H, D}, DType::Float32, &g).transpose(1, 2)
                             : randn({c.B, c.H, T, D}, DType::Float32, &g);
        };
        const Qkv in{operand(c.Tq, c.D), operand(c.Tk, c.D), operand(c.Tk, c.Dv)};
        const Tensor dout = randn({c.B, c.H, c.Tq, c.Dv}, DType::Float32, &g);
        F::AttentionOptions options{.causal = c.causal};
        if (c.mask) options.mask = random_bool_mask({c.B, 1, c.Tq, c.Tk}, 5);
        const auto run = [&](bool fused, DType precision) {
            Generator gen(11);
            F::AttentionOptions o = options;
            if (c.dropout) {
                o.generator = &gen;
                o.dropout_p = 0.2;
            }
            AutocastGuard autocast(precision);
            return run_masked(in, dout, o, fused);
        };
        const Grads bf16 = run(true, DType::BFloat16), ref = run(false, DType::BFloat16);
        const Grads fp32 = run(true, DType::Float32);
        const auto close = [](const Tensor& got, const Tensor& want, double rel) {
            EXPECT_LT(max_abs_diff(got, want), rel * std::max(1.0, max_abs(want)));
        };
        close(bf16.out, ref.out, 2e-2);
        close(bf16.dq, ref.dq, 3e-2);
        close(bf16.dk, ref.dk, 3e-2);
        close(bf16.dv, ref.dv, 3e-2);
        close(bf16.out, fp32.out, 5e-2);
        close(bf16.dq, fp32.dq, 1e-1);
        EXPECT_GT(max_abs_diff(bf16.out, fp32.out), 1e-5);
        // dV alone (no dP, so no dO rows packed for it) is the same as with the other gradients.
        Tensor v = in.v.clone().requires_grad_();
        {
            Generator gen(11);
            F::AttentionOptions o = options;
            if (c.dropout) {
                o.generator = &gen;
                o.dropout_p = 0.2;
            }
            AutocastGuard autocast(DType::BFloat16);
            F::scaled_dot_product_attention(in.q, in.k, v, o).backward(dout);
        }
        EXPECT_LT(max_abs_diff(v.grad(), bf16.dv), 1e-6 * std::max(1.0, max_abs(bf16.dv)));
    }
}
