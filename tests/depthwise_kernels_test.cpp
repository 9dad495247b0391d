// The depthwise plane kernels (kernels/conv/depthwise.hpp): every float32 variant this CPU runs
// against a double-precision direct loop over the same padded plane, for 3×3, 5×5, dilated and
// non-square filters, planes from 1×1 to wider than the kernels' row block, and a guard after
// each output buffer that must stay untouched; the channel-interleaved tile kernels
// (kernels/conv/depthwise_tile.hpp) likewise on odd tiles (strides, padding, dilation, 1×1 and 3×5
// maps, fewer than 16 channels); then conv2d's depthwise paths under every ISA, which must agree
// with the reference to float rounding.
#include <cstdint>
#include <vector>

#include "kernels/conv/depthwise.hpp"
#include "kernels/conv/depthwise_tile.hpp"
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

namespace {

std::vector<const kernels::F32DepthwiseTileVariant*> tile_variants() {
    std::vector<const kernels::F32DepthwiseTileVariant*> out;
    for (Isa isa : kernels::supported_isas()) {
        const kernels::F32DepthwiseTileVariant& v = kernels::f32_depthwise_tile_variant(isa);
        if (out.empty() || out.back() != &v) out.push_back(&v);
    }
    return out;
}

/// A tile (H, W, kh, kw, stride, padding, dilation) and how many of its 16 lanes are channels.
struct TileCase {
    int64 H, W, kh, kw, sh, sw, ph, pw, dh, dw, lanes;
    kernels::DepthwiseTile tile() const {
        return {H, W, (H + 2 * ph - dh * (kh - 1) - 1) / sh + 1, (W + 2 * pw - dw * (kw - 1) - 1) / sw + 1,
                kh, kw, sh, sw, ph, pw, dh, dw};
    }
};
const std::vector<TileCase> TILE_CASES = {
    {1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 16}, {3, 5, 3, 3, 1, 1, 1, 1, 1, 1, 7},  {4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 16},
    {7, 7, 5, 5, 2, 2, 2, 2, 1, 1, 16}, {8, 7, 3, 3, 2, 2, 1, 1, 1, 1, 3},  {4, 4, 5, 5, 1, 1, 2, 2, 1, 1, 12},
    {9, 10, 3, 3, 1, 2, 2, 1, 2, 1, 1}, {5, 8, 2, 5, 2, 1, 0, 2, 1, 1, 16}, {14, 14, 3, 3, 1, 1, 1, 1, 1, 1, 9},
    {2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 16},
};

}  // namespace

TEST(DepthwiseKernels, EveryTileVariantMatchesDirectLoops) {
    constexpr int64 L = kernels::kDepthwiseLanes;
    for (const auto* v : tile_variants())
        for (const TileCase& c : TILE_CASES) {
            const kernels::DepthwiseTile t = c.tile();
            const int64 K = t.kh * t.kw, HW = t.H * t.W, P = t.OH * t.OW;
            // Planes as conv2d holds them: [lanes, HW] and [lanes, P]; filters [lanes, K].
            const std::vector<float> x = random_values(c.lanes * HW, 11), dy = random_values(c.lanes * P, 12),
                                     f = random_values(c.lanes * K, 13), b = random_values(L, 14);
            std::vector<double> y(static_cast<std::size_t>(c.lanes * P)), dx(static_cast<std::size_t>(c.lanes * HW)),
                df(static_cast<std::size_t>(c.lanes * K));
            for (int64 l = 0; l < c.lanes; ++l)
                for (int64 oh = 0; oh < t.OH; ++oh)
                    for (int64 ow = 0; ow < t.OW; ++ow) {
                        const auto yi = static_cast<std::size_t>(l * P + oh * t.OW + ow);
                        y[yi] = b[static_cast<std::size_t>(l)];
                        for (int64 i = 0; i < t.kh; ++i)
                            for (int64 j = 0; j < t.kw; ++j) {
                                const int64 ih = oh * t.sh - t.ph + i * t.dh, iw = ow * t.sw - t.pw + j * t.dw;
                                if (ih < 0 || ih >= t.H || iw < 0 || iw >= t.W) continue;
                                const auto xi = static_cast<std::size_t>(l * HW + ih * t.W + iw);
                                const auto fi = static_cast<std::size_t>(l * K + i * t.kw + j);
                                y[yi] += double(f[fi]) * x[xi];
                                dx[xi] += double(f[fi]) * dy[yi];
                                df[fi] += double(dy[yi]) * x[xi];
                            }
                    }
            // Pack, run, unpack as conv_depthwise.cpp does; guards after every buffer.
            const auto guarded = [](int64 n) {
                return std::vector<float>(static_cast<std::size_t>(n + GUARD), SENTINEL);
            };
            std::vector<float> xt = guarded(HW * L), dyt = guarded(P * L), ft = guarded(K * L);
            v->pack(x.data(), HW, HW, c.lanes, xt.data());
            v->pack(dy.data(), P, P, c.lanes, dyt.data());
            v->pack(f.data(), K, K, c.lanes, ft.data());
            for (int64 k = 0; k < HW; ++k)
                for (int64 l = c.lanes; l < L; ++l) ASSERT_EQ(xt[static_cast<std::size_t>(k * L + l)], 0.f) << v->name;
            for (int64 k = HW * L; k < HW * L + GUARD; ++k) ASSERT_EQ(xt[static_cast<std::size_t>(k)], SENTINEL);
            std::vector<float> yt = guarded(P * L), dxt = guarded(HW * L), dft = guarded(K * L);
            v->forward(t, xt.data(), ft.data(), b.data(), yt.data());
            v->input_grad(t, dyt.data(), ft.data(), dxt.data());
            v->weight_grad(t, xt.data(), dyt.data(), dft.data());
            for (const auto* buf : {&yt, &dxt, &dft})
                for (std::size_t k = buf->size() - GUARD; k < buf->size(); ++k)
                    ASSERT_EQ((*buf)[k], SENTINEL) << v->name;
            std::vector<float> got_y = guarded(c.lanes * P), got_dx = guarded(c.lanes * HW);
            std::vector<float> got_df = guarded(c.lanes * K);
            v->unpack(yt.data(), P, c.lanes, got_y.data(), P);
            v->unpack(dxt.data(), HW, c.lanes, got_dx.data(), HW);
            v->unpack(dft.data(), K, c.lanes, got_df.data(), K);
            const auto expect_near = [&](const std::vector<float>& got, const std::vector<double>& want,
                                         const char* what) {
                for (std::size_t k = 0; k < want.size(); ++k)
                    ASSERT_NEAR(got[k], want[k], 1e-4 * std::max(1.0, std::abs(want[k])))
                        << v->name << " " << what << " " << c.H << "x" << c.W << " k" << c.kh << "x" << c.kw << " s"
                        << c.sh << "x" << c.sw << " lanes " << c.lanes << " at " << k;
                for (std::size_t k = want.size(); k < got.size(); ++k) ASSERT_EQ(got[k], SENTINEL) << v->name << what;
            };
            expect_near(got_y, y, "forward");
            expect_near(got_dx, dx, "input_grad");
            expect_near(got_df, df, "weight_grad");
        }
}

TEST(DepthwiseKernels, Conv2dAgreesUnderEveryIsa) {
    Generator g(5);
    // Multiplier 2 (the plane kernels), and 21 channels with stride 1 and 2 (the tile kernels).
    const Tensor x0 = randn({3, 6, 9, 8}, DType::Float32, &g), w0 = randn({12, 1, 3, 3}, DType::Float32, &g);
    const Tensor dy = randn({3, 12, 9, 8}, DType::Float32, &g);
    const Tensor x1 = randn({2, 21, 7, 5}, DType::Float32, &g), w1 = randn({21, 1, 5, 5}, DType::Float32, &g);
    const Tensor dy1 = randn({2, 21, 7, 5}, DType::Float32, &g), dy2 = randn({2, 21, 4, 3}, DType::Float32, &g);
    const Isa saved = kernels::active_isa();
    std::vector<std::vector<float>> results;
    for (Isa isa : kernels::supported_isas()) {
        ASSERT_TRUE(kernels::set_active_isa(isa));
        std::vector<float> all;
        const auto run = [&](const Tensor& xs, const Tensor& ws, const Tensor& dys, std::int64_t stride,
                             std::int64_t groups) {
            Tensor x = xs.clone().requires_grad_(), w = ws.clone().requires_grad_();
            Tensor y = F::conv2d(x, w, Tensor(), stride, ws.size(2) / 2, 1, groups);
            y.backward(dys);
            for (const Tensor& t : {y, x.grad(), w.grad()}) {
                const std::vector<float> part = t.to_vector<float>();
                all.insert(all.end(), part.begin(), part.end());
            }
        };
        run(x0, w0, dy, 1, 6);
        run(x1, w1, dy1, 1, 21);
        run(x1, w1, dy2, 2, 21);
        results.push_back(std::move(all));
    }
    kernels::set_active_isa(saved);
    for (std::size_t r = 1; r < results.size(); ++r)
        for (std::size_t k = 0; k < results[0].size(); ++k)
            ASSERT_NEAR(results[r][k], results[0][k], 1e-4 * std::max(1.f, std::abs(results[0][k]))) << "isa " << r;
}
