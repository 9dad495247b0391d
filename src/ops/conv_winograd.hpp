// Internal: Winograd F(2×2, 3×3) for float32 3×3 convolutions with stride 1, padding 1,
// dilation 1 and one group (see conv_winograd.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/gemm/gemm.hpp"

namespace graft::nn::functional {

/// Whether a float32 conv2d of N images [C, H, W] into O channels (or its input gradient) with
/// these options takes the Winograd path: a 3×3 kernel, stride 1, padding 1, dilation 1, one
/// group, at least 16 channels in and out (below that the GEMMs are too shallow to win; the
/// 3-channel first conv of a CNN stays on im2col), and at least C·O/128 tiles in the batch (the
/// weights' transform and packing, 16·C·O floats per call, must be spread over enough tiles:
/// 64 images of 4×4 at 256 channels in and out ran slower than im2col).
bool winograd_eligible(std::int64_t N, std::int64_t C, std::int64_t O, std::int64_t H, std::int64_t W,
                       std::int64_t kh, std::int64_t kw, std::int64_t sh, std::int64_t sw, std::int64_t ph,
                       std::int64_t pw, std::int64_t dh, std::int64_t dw, std::int64_t groups);

/// Whether the n floats at p are all finite. The Winograd transforms subtract inputs from one
/// another (inf − inf = NaN where a direct convolution's sum is inf), so the callers take the
/// im2col path for non-finite inputs or weights. A vectorisable scan over the exponent bits.
bool all_finite(const float* p, std::int64_t n);

/// y [n, O, H, W] = the 3×3, padding-1 cross-correlation of x [n, C, H, W] with weights W [O, C, 3, 3],
/// plus b [O] (may be null), for images of one fixed shape. The weights are transformed and packed
/// once, at construction; run() is const and may be called from several threads at once. Its
/// scratch (the transformed tiles of a chunk) is grow-only and kept per calling thread between
/// calls, as the GEMM's packing buffers are (std::bad_alloc if it cannot grow).
///
/// With `flip`, w is read as [C', O', 3, 3] = [O, C, 3, 3] transposed and the kernel turned by 180°:
/// W[o, c, i, j] = w[c, o, 2 − i, 2 − j]. That makes run() the input gradient of a stride-1,
/// padding-1 conv whose weights are w: dx = conv(dy, W) with dy in the place of x.
class Winograd3x3 {
public:
    using int64 = std::int64_t;
    Winograd3x3(int64 C, int64 O, int64 H, int64 W, const float* w, bool flip);

    /// Images per run() call for `N` images spread over `threads` threads: enough tiles for the
    /// GEMMs to be efficient, and at least one chunk per thread.
    int64 chunk_images(int64 N, int threads) const;
    /// y for `images` consecutive images of x (its first image at x, the output's at y).
    void run(int64 images, const float* x, const float* b, float* y) const;

private:
    int64 C_, O_, H_, W_, th_, tw_;
    std::vector<kernels::SgemmPackedA> u_;  // U[ξ] = (G g Gᵀ)[ξ] as an [O, C] matrix, ξ = 0..15
};

}  // namespace graft::nn::functional
