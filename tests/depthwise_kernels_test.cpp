// The depthwise plane kernels (kernels/conv/depthwise.hpp): every float32 variant this CPU runs
// against a double-precision direct loop over the same padded plane, for 3×3, 5×5, dilated and
// non-square filters, planes from 1×1 to wider than the kernels' row block, and a guard after
// each output buffer that must stay untouched; then conv2d's depthwise path under every ISA,
// which must agree with the reference to float rounding.
#include <cstdint>
#include <vector>

#include "kernels/conv/depthwise.hpp"
#include "kernels/cpu/cpu_features.hpp"
#include "test_util.hpp"

using namespace graft;
using kernels::DepthwisePlane;
using kernels::int64;
using kernels::Isa;
namespace F = graft::nn::functional;

namespace {

constexpr float SENTINEL = 777.25f;
constexpr int64 GUARD = 16;

std::vector<const kernels::F32DepthwiseVariant*> variants() {
    std::vector<const kernels::F32DepthwiseVariant*> out;
    for (Isa isa : kernels::supported_isas()) {
        const kernels::F32DepthwiseVariant& v = kernels::f32_depthwise_variant(isa);
        if (out.empty() || out.back() != &v) out.push_back(&v);
    }
    return out;
}

std::vector<float> random_values(int64 n, std::uint64_t seed) {
    Generator g(seed);
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = static_cast<float>(g.normal());
    return v;
}

/// Planes (OH, OW, kh, kw, dh, dw): Hp = OH + (kh − 1)·dh, Wp = OW + (kw − 1)·dw.
struct Case {
    int64 OH, OW, kh, kw, dh, dw;
    DepthwisePlane plane() const { return {OH + (kh - 1) * dh, OW + (kw - 1) * dw, OH, kh, kw, dh, dw}; }
};
const std::vector<Case> CASES = {
    {1, 1, 3, 3, 1, 1},   {4, 4, 3, 3, 1, 1},  {7, 7, 3, 3, 1, 1}, {14, 14, 5, 5, 1, 1}, {3, 17, 3, 3, 2, 2},
    {5, 2, 1, 3, 1, 1},   {2, 9, 3, 1, 1, 1},  {56, 56, 3, 3, 1, 1}, {9, 300, 3, 3, 1, 1},
};

}  // namespace

TEST(DepthwiseKernels, EveryVariantMatchesDirectLoops) {
    for (const auto* v : variants())
        for (const Case& c : CASES) {
            const DepthwisePlane p = c.plane();
            const int64 K = p.kh * p.kw, out = p.OH * p.Wp, in = p.Hp * p.Wp;
            const std::vector<float> xp = random_values(in, 1), f = random_values(K, 2);
            std::vector<float> dyw = random_values(out, 3);
            for (int64 oh = 0; oh < p.OH; ++oh)
                for (int64 ow = c.OW; ow < p.Wp; ++ow) dyw[static_cast<std::size_t>(oh * p.Wp + ow)] = 0.f;
            // Double-precision direct loops over the real outputs.
            std::vector<double> y(static_cast<std::size_t>(p.OH * c.OW), 0.5), dx(static_cast<std::size_t>(in), 0.0),
                df(static_cast<std::size_t>(K), 0.0);
            for (int64 oh = 0; oh < p.OH; ++oh)
                for (int64 ow = 0; ow < c.OW; ++ow)
                    for (int64 i = 0; i < p.kh; ++i)
                        for (int64 j = 0; j < p.kw; ++j) {
                            const auto xi = static_cast<std::size_t>((oh + i * p.dh) * p.Wp + ow + j * p.dw);
                            const auto ti = static_cast<std::size_t>(i * p.kw + j);
                            const double d = dyw[static_cast<std::size_t>(oh * p.Wp + ow)];
                            y[static_cast<std::size_t>(oh * c.OW + ow)] += double(f[ti]) * xp[xi];
                            dx[xi] += double(f[ti]) * d;
                            df[ti] += d * xp[xi];
                        }
            std::vector<float> yw(static_cast<std::size_t>(out + GUARD), SENTINEL);
            v->forward(p, xp.data(), f.data(), 0.5f, yw.data());
            for (int64 oh = 0; oh < p.OH; ++oh)
                for (int64 ow = 0; ow < c.OW; ++ow)
                    ASSERT_NEAR(yw[static_cast<std::size_t>(oh * p.Wp + ow)], y[static_cast<std::size_t>(oh * c.OW + ow)],
                                1e-4)
                        << v->name << " forward " << c.OH << "x" << c.OW << " at " << oh << "," << ow;
            for (int64 k = out; k < out + GUARD; ++k) ASSERT_EQ(yw[static_cast<std::size_t>(k)], SENTINEL) << v->name;
            std::vector<float> dxp(static_cast<std::size_t>(in + GUARD), 0.f);
            for (int64 k = in; k < in + GUARD; ++k) dxp[static_cast<std::size_t>(k)] = SENTINEL;
            v->input_grad(p, dyw.data(), f.data(), dxp.data());
            for (int64 k = 0; k < in; ++k)
                ASSERT_NEAR(dxp[static_cast<std::size_t>(k)], dx[static_cast<std::size_t>(k)], 1e-4)
                    << v->name << " input_grad " << c.OH << "x" << c.OW << " at " << k;
            for (int64 k = in; k < in + GUARD; ++k) ASSERT_EQ(dxp[static_cast<std::size_t>(k)], SENTINEL) << v->name;
            std::vector<float> got(static_cast<std::size_t>(K + GUARD), SENTINEL);
            v->weight_grad(p, xp.data(), dyw.data(), got.data());
            for (int64 t = 0; t < K; ++t)
                ASSERT_NEAR(got[static_cast<std::size_t>(t)], df[static_cast<std::size_t>(t)],
                            1e-4 * std::max(1.0, std::abs(df[static_cast<std::size_t>(t)])))
                    << v->name << " weight_grad " << c.OH << "x" << c.OW << " tap " << t;
            for (int64 k = K; k < K + GUARD; ++k) ASSERT_EQ(got[static_cast<std::size_t>(k)], SENTINEL) << v->name;
        }
}

TEST(DepthwiseKernels, Conv2dAgreesUnderEveryIsa) {
    Generator g(5);
    const Tensor x0 = randn({3, 6, 9, 8}, DType::Float32, &g), w0 = randn({12, 1, 3, 3}, DType::Float32, &g);
    const Tensor dy = randn({3, 12, 9, 8}, DType::Float32, &g);
    const Isa saved = kernels::active_isa();
    std::vector<std::vector<float>> results;
    for (Isa isa : kernels::supported_isas()) {
        ASSERT_TRUE(kernels::set_active_isa(isa));
        Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_();
        Tensor y = F::conv2d(x, w, Tensor(), 1, 1, 1, 6);
        y.backward(dy);
        std::vector<float> all = y.to_vector<float>();
        for (const Tensor& t : {x.grad(), w.grad()}) {
            const std::vector<float> part = t.to_vector<float>();
            all.insert(all.end(), part.begin(), part.end());
        }
        results.push_back(std::move(all));
    }
    kernels::set_active_isa(saved);
    for (std::size_t r = 1; r < results.size(); ++r)
        for (std::size_t k = 0; k < results[0].size(); ++k)
            ASSERT_NEAR(results[r][k], results[0][k], 1e-4 * std::max(1.f, std::abs(results[0][k]))) << "isa " << r;
}
