// Autocast (graft/autocast.hpp): the guard's nesting, restoring and per-thread scope; linear,
// matmul, conv2d and attention under it computing on bf16-rounded operands with fp32 accumulation,
// forward and backward (also when backward() runs after the guard ended); a small MLP and GPT-2
// tiny against their float32 runs within the bf16 tolerance; float64 and gradcheck untouched.
#include <cmath>
#include <thread>

#include "graft/graft.hpp"
#include "graft/testing/gradcheck.hpp"
#include "test_util.hpp"

using namespace graft;

namespace {

/// x rounded to bf16 (nearest even) and back: what autocast's GEMM multiplies.
Tensor bf16(const Tensor& x) { return x.detach().to(DType::BFloat16).to(DType::Float32); }

double max_abs(const Tensor& t) { return max(abs(t.to(DType::Float64))).item<double>(); }
double max_diff(const Tensor& a, const Tensor& b) { return max_abs(sub(a.to(DType::Float64), b.to(DType::Float64))); }

TEST(AutocastGuard, NestsAndRestores) {
    EXPECT_EQ(Autocast::dtype(), DType::Float32);
    {
        AutocastGuard outer(DType::BFloat16);
        EXPECT_EQ(Autocast::dtype(), DType::BFloat16);
        EXPECT_TRUE(Autocast::enabled());
        {
            AutocastGuard off(DType::Float32);
            EXPECT_FALSE(Autocast::enabled());
            AutocastGuard inner;  // BFloat16 by default
            EXPECT_EQ(Autocast::dtype(), DType::BFloat16);
        }
        EXPECT_EQ(Autocast::dtype(), DType::BFloat16);
        // Another thread has its own setting.
        DType seen = DType::BFloat16;
        std::thread([&] { seen = Autocast::dtype(); }).join();
        EXPECT_EQ(seen, DType::Float32);
    }
    EXPECT_EQ(Autocast::dtype(), DType::Float32);
    EXPECT_THROW_MSG(AutocastGuard(DType::Float16), ValueError,
                     "autocast: the GEMM compute dtype must be float32 or bfloat16, got float16");
    EXPECT_EQ(Autocast::dtype(), DType::Float32);
}

TEST(Autocast, LinearForwardAndBackwardMultiplyBf16Operands) {
    Generator g(5);
    const Tensor x = randn({7, 37}, DType::Float32, &g).requires_grad_();
    const Tensor w = randn({45, 37}, DType::Float32, &g).requires_grad_();
    const Tensor b = randn({45}, DType::Float32, &g).requires_grad_();
    const Tensor dy = randn({7, 45}, DType::Float32, &g);
    Tensor y;
    {
        AutocastGuard autocast(DType::BFloat16);
        y = linear(x, w, b);
    }
    sum(mul(y, dy)).backward();  // after the guard: the recorded node still computes in bf16
    // The same products on operands rounded by hand, in float32: only the summation order differs.
    const Tensor want_y = add(matmul(bf16(x), bf16(w).t()), b.detach());
    const Tensor want_dx = matmul(bf16(dy), bf16(w));
    const Tensor want_dw = matmul(bf16(dy).t(), bf16(x));
    // 37 or 7 products of magnitude ≲ 10 each, summed in float32: ≲ 1e-5 apart.
    EXPECT_LT(max_diff(y, want_y), 2e-5);
    EXPECT_LT(max_diff(x.grad(), want_dx), 2e-5);
    EXPECT_LT(max_diff(w.grad(), want_dw), 2e-5);
    EXPECT_LT(max_diff(b.grad(), sum(dy, {0})), 1e-5);  // the bias gradient is a float32 reduction
    // And it is not the float32 product: bf16 rounding moves y by ~1e-2.
    EXPECT_GT(max_diff(y, linear(x.detach(), w.detach(), b.detach())), 1e-4);
}

TEST(Autocast, NodesRecordedOutsideStayFloat32) {
    Generator g(6);
    const Tensor x = randn({5, 33}, DType::Float32, &g).requires_grad_();
    const Tensor w = randn({33, 9}, DType::Float32, &g);
    const Tensor y = matmul(x, w);
    {
        AutocastGuard autocast;
        sum(y).backward();
    }
    const Tensor want = matmul(ones({5, 9}), w.t());
    EXPECT_LT(max_diff(x.grad(), want), 1e-5);
    EXPECT_GT(max_diff(x.grad(), matmul(ones({5, 9}), bf16(w).t())), 1e-4);
}

TEST(Autocast, BatchedMatmulConvAndAttention) {
    Generator g(7);
    AutocastGuard autocast;
    const Tensor a = randn({3, 6, 19}, DType::Float32, &g), b = randn({3, 19, 11}, DType::Float32, &g);
    Tensor want;
    {
        AutocastGuard off(DType::Float32);
        want = matmul(bf16(a), bf16(b));
    }
    EXPECT_LT(max_diff(matmul(a, b), want), 2e-5);

    const Tensor x = randn({2, 3, 9, 9}, DType::Float32, &g), k = randn({5, 3, 3, 3}, DType::Float32, &g);
    {
        AutocastGuard off(DType::Float32);
        want = nn::functional::conv2d(bf16(x), bf16(k), Tensor(), 1, 1);
    }
    EXPECT_LT(max_diff(nn::functional::conv2d(x, k, Tensor(), 1, 1), want), 2e-5);

    // 16 channels in and out, 3×3, stride 1, padding 1: the shape float32 runs through Winograd.
    const Tensor xw = randn({1, 16, 12, 12}, DType::Float32, &g), kw = randn({16, 16, 3, 3}, DType::Float32, &g);
    {
        AutocastGuard off(DType::Float32);
        want = nn::functional::conv2d(bf16(xw), bf16(kw), Tensor(), 1, 1);
    }
    EXPECT_LT(max_diff(nn::functional::conv2d(xw, kw, Tensor(), 1, 1), want), 1e-4);

    const Tensor q = randn({1, 2, 5, 8}, DType::Float32, &g), kk = randn({1, 2, 5, 8}, DType::Float32, &g);
    const Tensor v = randn({1, 2, 5, 8}, DType::Float32, &g);
    const Tensor out = nn::functional::scaled_dot_product_attention(q, kk, v);
    Tensor fp32;
    {
        AutocastGuard off(DType::Float32);
        fp32 = nn::functional::scaled_dot_product_attention(q, kk, v);
    }
    EXPECT_GT(max_diff(out, fp32), 1e-5);  // the scores' and the output's GEMMs ran in bf16
    EXPECT_LT(max_diff(out, fp32), 0.05 * max_abs(fp32));
}

/// Float64 ignores autocast, so gradcheck passes inside the guard as outside.
TEST(Autocast, Float64AndGradcheckUntouched) {
    Generator g(8);
    const Tensor x = randn({4, 6}, DType::Float64, &g).requires_grad_();
    const Tensor w = randn({5, 6}, DType::Float64, &g).requires_grad_();
    auto fn = [](const std::vector<Tensor>& in) { return linear(in[0], in[1]); };
    {
        AutocastGuard autocast;
        const auto r = graft::testing::gradcheck(fn, {x, w});
        EXPECT_TRUE(r.ok) << r.message;
    }
    const auto r = graft::testing::gradcheck(fn, {x, w});
    EXPECT_TRUE(r.ok) << r.message;
}

/// Gradients of every parameter under autocast and in float32, for `loss_of` run on `params`.
template <class F>
void expect_bf16_close(const std::vector<std::pair<std::string, Tensor>>& params, F loss_of, double rel) {
    Tensor loss32 = loss_of();
    loss32.backward();
    std::vector<Tensor> grads32;
    for (const auto& [name, p] : params) {
        grads32.push_back(p.grad().clone());
        Tensor(p).set_grad(Tensor());
    }
    Tensor loss16;
    {
        AutocastGuard autocast;
        loss16 = loss_of();
        loss16.backward();
    }
    EXPECT_NE(loss16.item<double>(), loss32.item<double>());
    EXPECT_LT(std::abs(loss16.item<double>() - loss32.item<double>()), rel * std::abs(loss32.item<double>()));
    for (std::size_t i = 0; i < params.size(); ++i) {
        const Tensor& got = params[i].second.grad();
        EXPECT_LE(max_diff(got, grads32[i]), rel * max_abs(grads32[i]) + 1e-7) << params[i].first;
    }
}

// bf16 keeps 8 significant bits (a rounding is within 2⁻⁸ relative): a product of two rounded
// operands is within 2⁻⁷ of the exact one, and sums of such products (random signs) within about
// that relative to the largest terms. Through two layers and their backward the errors add, not
// multiply: 2⁻⁵ (3 %) of each tensor's largest value bounds them with margin; a GEMM computed
// wrongly is off by its whole magnitude.
constexpr double kBf16Rel = 1.0 / 32;

TEST(Autocast, SmallMlpGradientsWithinBf16Tolerance) {
    manual_seed(9);
    nn::Sequential mlp{nn::Linear(24, 64), nn::GELU(), nn::Linear(64, 10)};
    Generator g(10);
    const Tensor x = randn({16, 24}, DType::Float32, &g);
    const Tensor y = randint(0, 10, {16}, DType::Int64, &g);
    expect_bf16_close(mlp.named_parameters(), [&] { return nn::functional::cross_entropy(mlp.forward(x), y); },
                      kBf16Rel);
}

TEST(Autocast, Gpt2TinyGradientsWithinBf16Tolerance) {
    manual_seed(11);
    models::GPT2Config config;
    config.vocab_size = 50;
    config.n_positions = 32;
    config.n_embd = 32;
    config.n_layer = 2;
    config.n_head = 2;
    models::GPT2LMHead model(config);
    model.eval();  // no dropout: both runs see the same graph
    Generator g(12);
    const Tensor ids = randint(0, 50, {2, 12}, DType::Int64, &g);
    expect_bf16_close(model.named_parameters(), [&] { return models::causal_lm_loss(model.forward(ids), ids); },
                      kBf16Rel);
}

}  // namespace
