// Winograd F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016)
// for float32 3×3 convolutions with stride 1, padding 1: conv2d's forward and, with the weights
// transposed and turned by 180°, its input gradient. Each 2×2 output tile comes from a 4×4 input
// tile d (rows 2·ty − 1 … 2·ty + 2, columns likewise, zeros in the padding):
//
//   U = G g Gᵀ          per (o, c), once per call            g the 3×3 kernel, U 4×4
//   V = Bᵀ d B          per (c, tile)                        the input transform
//   M[ξ] = U[ξ] · V[ξ]  16 GEMMs [O, C] · [C, tiles], one per ξ = (k, l) of the 4×4 tile
//   Y = Aᵀ M A          per (o, tile)                        the output transform, 2×2, + bias
//
//   Bᵀ = | 1  0 −1  0 |   G = | 1    0    0  |   Aᵀ = | 1  1  1  0 |
//        | 0  1  1  0 |       | ½    ½    ½  |        | 0  1 −1 −1 |
//        | 0 −1  1  0 |       | ½   −½    ½  |
//        | 0  1  0 −1 |       | 0    0    1  |
//
// 16 multiply-adds per (o, c, tile) instead of 36 for the 4 outputs: the GEMM work falls by
// 2.25×, for the cost of the transforms (adds only, memory bound). A call processes a chunk of
// whole images at a time, enough tiles (about 128) for the GEMMs to run near peak while V and M
// stay in L2, in the calling thread's grow-only scratch; the tiles of an odd-sized image's last row or column are partial (zeros read
// past the edge, only the valid outputs written). The transforms are exact but for rounding; the
// error is a few ulp times small constants (G's halves are exact), as the tests check against a
// double reference.
#include "ops/conv_winograd.hpp"

#include "kernels/cpu/workspace.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

namespace graft::nn::functional {

using int64 = std::int64_t;

namespace {
/// Tiles a chunk of images aims for: fewer make the GEMMs' N too small, more spill V and M out
/// of the L2/L3 between the transforms and the GEMMs.
constexpr int64 kChunkTiles = 128;
/// Floats added between consecutive planes of U, V and M (see run_width).
constexpr int64 kPlanePad = 32;
}  // namespace

bool winograd_eligible(int64 N, int64 C, int64 O, int64 H, int64 W, int64 kh, int64 kw, int64 sh, int64 sw,
                       int64 ph, int64 pw, int64 dh, int64 dw, int64 groups) {
    return kh == 3 && kw == 3 && sh == 1 && sw == 1 && ph == 1 && pw == 1 && dh == 1 && dw == 1 && groups == 1 &&
           C >= 16 && O >= 16 && N * ((H + 1) / 2) * ((W + 1) / 2) * 128 >= C * O;
}

bool all_finite(const float* p, int64 n) {
    std::uint32_t bad = 0;
    for (int64 i = 0; i < n; ++i) {
        std::uint32_t bits;
        std::memcpy(&bits, p + i, sizeof bits);
        bad |= static_cast<std::uint32_t>((bits & 0x7f800000u) == 0x7f800000u);  // exponent all ones: ±inf, NaN
    }
    return bad == 0;
}

Winograd3x3::Winograd3x3(int64 C, int64 O, int64 H, int64 W, const float* w, bool flip)
    : C_(C), O_(O), H_(H), W_(W), th_((H + 1) / 2), tw_((W + 1) / 2) {
    // U [16][O][C], its planes kPlanePad floats apart (O·C floats apart, the 16 streams written
    // below would share L1 sets whenever O·C is a multiple of 1024).
    const int64 plane = O * C + kPlanePad;
    // Every element of the 16 planes is written below (the pads between them are never read).
    const auto u = std::make_unique_for_overwrite<float[]>(static_cast<std::size_t>(16 * plane));
    for (int64 o = 0; o < O; ++o)
        for (int64 c = 0; c < C; ++c) {
            float g[3][3];
            for (int i = 0; i < 3; ++i)
                for (int j = 0; j < 3; ++j)
                    g[i][j] = flip ? w[((c * O + o) * 3 + (2 - i)) * 3 + (2 - j)] : w[((o * C + c) * 3 + i) * 3 + j];
            float t[4][3];  // G g
            for (int j = 0; j < 3; ++j) {
                t[0][j] = g[0][j];
                t[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
                t[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
                t[3][j] = g[2][j];
            }
            for (int k = 0; k < 4; ++k) {  // (G g) Gᵀ
                const float r[4] = {t[k][0], 0.5f * (t[k][0] + t[k][1] + t[k][2]), 0.5f * (t[k][0] - t[k][1] + t[k][2]),
                                    t[k][2]};
                for (int l = 0; l < 4; ++l) u[static_cast<std::size_t>((k * 4 + l) * plane + o * C + c)] = r[l];
            }
        }
    u_.reserve(16);
    for (int64 xi = 0; xi < 16; ++xi) u_.emplace_back(O, C, u.get() + xi * plane, C, 1);
}

int64 Winograd3x3::chunk_images(int64 N, int threads) const {
    const int64 per_image = th_ * tw_;
    int64 nb = std::clamp<int64>((kChunkTiles + per_image - 1) / per_image, 1, std::max<int64>(N, 1));
    if (threads > 1 && (N + nb - 1) / nb < threads) nb = std::max<int64>(1, (N + threads - 1) / threads);
    return nb;
}

namespace {

/// The calling thread's Winograd scratch (V, M, row buffers): kept between calls, so that a
/// training step neither zeroes nor maps its megabytes again for every convolution. Its own
/// Workspace, not the GEMM's: the GEMMs run while V and M are in use.
thread_local kernels::Workspace tl_scratch;

/// Winograd3x3::run for images of width kW, or of any width W with kW = 0: a width known at
/// compile time makes the transforms' row loops (4 to 16 iterations in a small CNN) straight
/// vector code, without the loop overhead and epilogues that otherwise cost as much as the adds.
template <int kW>
void run_width(const std::vector<kernels::SgemmPackedA>& u, int64 C, int64 O, int64 H, int64 W_any, int64 images,
               const float* x, const float* b, float* y, float* scratch) {
    const int64 W = kW > 0 ? kW : W_any, th = (H + 1) / 2, tw = (W + 1) / 2;
    const int64 per_image = th * tw, T = images * per_image, Wp = 2 * tw + 2;
    // The 16 planes of V and of M lie kPlanePad floats further apart than their size: at a
    // multiple of 4 KiB, the transforms' 4 to 16 streams would fall in the same L1 sets.
    const int64 CT = C * T + kPlanePad, OT = O * T + kPlanePad;
    float* V = scratch;         // [16][C][T]
    float* M = V + 16 * CT;     // [16][O][T]
    float* rows = M + 16 * OT;  // row buffers, 16·Wp floats
    float* zeros = rows;        // W zeros: the rows above and below the image
    float* t = rows + Wp;       // 4 rows of Wp: Bᵀ d, column 0 and columns past W the padding
    std::fill(rows, rows + 5 * Wp, 0.f);

    // V = Bᵀ d B, one tile row of one channel at a time: Bᵀ down the 4 input rows across the
    // whole width (rows outside the image read as zeros), then B along each tile's 4 columns.
    for (int64 n = 0; n < images; ++n)
        for (int64 c = 0; c < C; ++c) {
            const float* plane = x + (n * C + c) * H * W;
            for (int64 ty = 0; ty < th; ++ty) {
                const float* d[4];
                for (int i = 0; i < 4; ++i) {
                    const int64 r = 2 * ty - 1 + i;
                    d[i] = r < 0 || r >= H ? zeros : plane + r * W;
                }
                {
                    const float *__restrict d0 = d[0], *__restrict d1 = d[1], *__restrict d2 = d[2],
                                *__restrict d3 = d[3];
                    float *__restrict t0 = t + 1, *__restrict t1 = t + Wp + 1, *__restrict t2 = t + 2 * Wp + 1,
                                      *__restrict t3 = t + 3 * Wp + 1;
                    for (int64 k = 0; k < W; ++k) {
                        t0[k] = d0[k] - d2[k];
                        t1[k] = d1[k] + d2[k];
                        t2[k] = d2[k] - d1[k];
                        t3[k] = d1[k] - d3[k];
                    }
                }
                const int64 col = c * T + n * per_image + ty * tw;
                for (int k = 0; k < 4; ++k) {
                    const float* __restrict tk = t + k * Wp;
                    float* __restrict v0 = V + (k * 4 + 0) * CT + col;
                    float* __restrict v1 = V + (k * 4 + 1) * CT + col;
                    float* __restrict v2 = V + (k * 4 + 2) * CT + col;
                    float* __restrict v3 = V + (k * 4 + 3) * CT + col;
                    for (int64 q = 0; q < tw; ++q) {
                        const float a = tk[2 * q], p = tk[2 * q + 1], s = tk[2 * q + 2], e = tk[2 * q + 3];
                        v0[q] = a - s;
                        v1[q] = p + s;
                        v2[q] = s - p;
                        v3[q] = p - e;
                    }
                }
            }
        }

    for (int64 xi = 0; xi < 16; ++xi)
        kernels::sgemm_packed(u[static_cast<std::size_t>(xi)], T, 1.f, V + xi * CT, T, 1, 0.f, M + xi * OT, T, 1);

    // Y = Aᵀ M A (+ bias), one tile row of one output channel at a time: Aᵀ down the 4 rows of
    // M for each of its 4 columns, then A along them, straight into the two output rows (a row
    // past the image's bottom goes to a scratch row; an odd width's last column is left out).
    float* r = rows + Wp;        // r[s·4 + l][q]: row s (0, 1) of Aᵀ M, column l, tile q
    float* spill = r + 8 * tw;   // the output row below an odd-height image: 2·tw floats
    const int64 full = W / 2;    // tiles with both output columns inside the image
    for (int64 n = 0; n < images; ++n)
        for (int64 o = 0; o < O; ++o) {
            float* plane = y + (n * O + o) * H * W;
            const float bias = b != nullptr ? b[o] : 0.f;
            for (int64 ty = 0; ty < th; ++ty) {
                const int64 col = o * T + n * per_image + ty * tw;
                for (int l = 0; l < 4; ++l) {
                    const float* __restrict m0 = M + (0 * 4 + l) * OT + col;
                    const float* __restrict m1 = M + (1 * 4 + l) * OT + col;
                    const float* __restrict m2 = M + (2 * 4 + l) * OT + col;
                    const float* __restrict m3 = M + (3 * 4 + l) * OT + col;
                    float* __restrict r0 = r + l * tw;
                    float* __restrict r1 = r + (4 + l) * tw;
                    for (int64 q = 0; q < tw; ++q) {
                        r0[q] = m0[q] + m1[q] + m2[q];
                        r1[q] = m1[q] - m2[q] - m3[q];
                    }
                }
                for (int s = 0; s < 2; ++s) {
                    const float *__restrict s0 = r + (s * 4 + 0) * tw, *__restrict s1 = r + (s * 4 + 1) * tw;
                    const float *__restrict s2 = r + (s * 4 + 2) * tw, *__restrict s3 = r + (s * 4 + 3) * tw;
                    const int64 oh = 2 * ty + s;
                    float* __restrict os = oh < H ? plane + oh * W : spill;
                    for (int64 q = 0; q < full; ++q) {
                        os[2 * q] = (s0[q] + s1[q] + s2[q]) + bias;
                        os[2 * q + 1] = (s1[q] - s2[q] - s3[q]) + bias;
                    }
                    if (full < tw) os[2 * full] = (s0[full] + s1[full] + s2[full]) + bias;
                }
            }
        }
}

}  // namespace

void Winograd3x3::run(int64 images, const float* x, const float* b, float* y) const {
    const int64 T = images * th_ * tw_;
    // V, M and the row buffers
    float* scratch = tl_scratch.reserve(16 * ((C_ + O_) * T + 2 * kPlanePad) + 16 * (2 * tw_ + 2));
    switch (W_) {
        case 4: return run_width<4>(u_, C_, O_, H_, W_, images, x, b, y, scratch);
        case 7: return run_width<7>(u_, C_, O_, H_, W_, images, x, b, y, scratch);
        case 8: return run_width<8>(u_, C_, O_, H_, W_, images, x, b, y, scratch);
        case 14: return run_width<14>(u_, C_, O_, H_, W_, images, x, b, y, scratch);
        case 16: return run_width<16>(u_, C_, O_, H_, W_, images, x, b, y, scratch);
        case 28: return run_width<28>(u_, C_, O_, H_, W_, images, x, b, y, scratch);
        case 32: return run_width<32>(u_, C_, O_, H_, W_, images, x, b, y, scratch);
        default: return run_width<0>(u_, C_, O_, H_, W_, images, x, b, y, scratch);
    }
}

}  // namespace graft::nn::functional
