// The product by a frozen bf16 weight (bf16_weight.hpp): the bf16 GEMM under autocast, blocks of
// the weight widened to float32 for the float32 GEMM otherwise.
#include "ops/bf16_weight.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dispatch.hpp"
#include "graft/autocast.hpp"
#include "graft/autograd.hpp"
#include "kernels/gemm/bf16_gemm.hpp"

namespace graft::detail {

namespace {

/// Values of k per GEMM call on a bf16 weight (even: a block of a bf16 operand whose k is
/// contiguous stays in pairs); and, without autocast, columns of B widened at a time.
constexpr std::int64_t kKBlock = 1024;
constexpr std::int64_t kNBlock = 256;

}  // namespace

bool is_bf16_weight(const Tensor& x, const Tensor& w, const char* op) {
    if (w.dtype() != DType::BFloat16) return false;
    if (x.dtype() != DType::Float32)
        throw DTypeError(std::string(op) + ": a bfloat16 weight " + shape_str(w.shape()) +
                         " (a frozen weight stored in bf16) multiplies float32 inputs only, got a " +
                         dtype_name(x.dtype()) + " input " + shape_str(x.shape()));
    return true;
}

Tensor widen_bf16_weight(const Tensor& w) {
    NoGradGuard guard;
    return w.detach().to(DType::Float32).contiguous();
}

Tensor bf16_weight_matmul(const Tensor& x, const Tensor& w, bool transpose_w, const Tensor& bias) {
    const std::int64_t K = x.size(-1), N = transpose_w ? w.size(0) : w.size(1);
    Shape out_shape = x.shape();
    out_shape.back() = N;
    Tensor out = empty(out_shape, DType::Float32);
    const Tensor xc = x.detach().contiguous();
    std::int64_t M = 1;  // x's leading dims folded into rows
    for (std::int64_t d = 0; d + 1 < x.dim(); ++d) M *= x.size(d);
    const Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
    const float* pb = bc.defined() ? bc.data_ptr<float>() : nullptr;
    const float* px = xc.data_ptr<float>();
    float* po = out.data_ptr<float>();
    // B = op(w) [K, N]: element (k, n) is w[n, k] (transposed) or w[k, n], at bits + k·rs + n·cs.
    const std::int64_t rs = transpose_w ? w.stride(1) : w.stride(0), cs = transpose_w ? w.stride(0) : w.stride(1);
    const bfloat16* bits = storage_ptr<bfloat16>(w) + w.offset();
    // K runs in blocks (C accumulates, the bias joins on the last one), so that what the GEMM
    // converts per call (a block of x's rows and of B's columns) stays a few MB however large K
    // is: the input gradient of a vocabulary-sized head has K = vocabulary.
    auto for_each_k_block = [&](auto&& product) {
        std::int64_t k0 = 0;
        do {
            const std::int64_t kb = std::min(kKBlock, K - k0);
            product(k0, kb, k0 == 0 ? 0.f : 1.f, k0 + kb >= K);
            k0 += kb;
        } while (k0 < K);
    };
    if (Autocast::enabled()) {
        for_each_k_block([&](std::int64_t k0, std::int64_t kb, float beta, bool last) {
            kernels::bf16_gemm(M, N, kb, 1.f, kernels::Bf16Operand::of(px + k0, K, 1),
                               kernels::Bf16Operand::of(&bits[k0 * rs].bits, rs, cs), beta, po, N, 1,
                               {last ? pb : nullptr, kernels::Activation::None});
        });
        return out;
    }
    // Without autocast: blocks of B widened to float32 (kNBlock columns at a time, laid out as w
    // is: k-contiguous when w's k is), the float32 GEMM.
    const bool k_inner = rs == 1;
    for (std::int64_t n0 = 0; n0 < N; n0 += kNBlock) {
        const std::int64_t nb = std::min(kNBlock, N - n0);
        for_each_k_block([&](std::int64_t k0, std::int64_t kb, float beta, bool last) {
            std::vector<float> wide(static_cast<std::size_t>(kb * nb));
            const std::int64_t wrs = k_inner ? 1 : nb, wcs = k_inner ? kb : 1;  // wide's (k, n) strides
            for (std::int64_t a = 0; a < (k_inner ? nb : kb); ++a)
                for (std::int64_t b = 0; b < (k_inner ? kb : nb); ++b) {
                    const std::int64_t k = k_inner ? b : a, n = k_inner ? a : b;
                    wide[static_cast<std::size_t>(k * wrs + n * wcs)] =
                        bf16_to_float(bits[(k0 + k) * rs + (n0 + n) * cs]);
                }
            kernels::sgemm(M, nb, kb, 1.f, px + k0, K, 1, wide.data(), wrs, wcs, beta, po + n0, N, 1,
                           {last && pb ? pb + n0 : nullptr, kernels::Activation::None});
        });
    }
    return out;
}

}  // namespace graft::detail
